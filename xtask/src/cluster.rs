//! The throwaway PostgreSQL cluster: create, start, stop.
//!
//! Every start is from scratch (initdb takes about a second with
//! `--no-sync`), so tests never see state left behind by an earlier run, and
//! a stale cluster (crashed xtask, `kill -9`, reboot) is simply stopped and
//! removed. The server is isolated from anything else on the machine: its
//! own data directory, a free TCP port on 127.0.0.1 only, and its own Unix
//! socket directory.

use std::fs::{self, OpenOptions, Permissions};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::certs::{self, CertPaths};
use crate::error::{bail, Context, Error, Result};
use crate::layout::Layout;
use crate::output::say;
use crate::pgbin::PgBin;
use crate::privilege::RunAs;
use crate::process;
use crate::roles;
use crate::signals;
use crate::state::{socket_path, State};

/// `sizeof(sun_path)` is 108 on Linux, including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Socket directories other servers commonly use; we avoid their ports so
/// a default libpq connection never reaches our server by accident.
const OTHER_SOCKET_DIRS: [&str; 3] = ["/tmp", "/var/run/postgresql", "/run/postgresql"];

/// The settings file we include from `postgresql.conf`.
const CONF_FILE: &str = "pgwire-xtask.conf";

/// How many ports to try if another process grabs ours before the server binds it.
const START_ATTEMPTS: u32 = 3;

/// How to stop the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnect clients and shut down cleanly (falls back to immediate).
    Fast,
    /// Abort at once; for stale clusters about to be deleted.
    Immediate,
}

/// What [`stop`] found.
#[derive(Debug)]
pub struct Stopped {
    /// Whether any server process was running.
    pub was_running: bool,
    /// The postmaster's pid, when known.
    pub pid: Option<u32>,
}

/// Create, configure and start a fresh cluster, then create the test roles
/// and database. `owner_pid` is the xtask process that will stop it (0: none).
pub fn start(layout: &Layout, bin: &PgBin, user: &RunAs, owner_pid: u32) -> Result<State> {
    clear_stale(layout, bin, user)?;
    prepare_directories(layout, user)?;
    let certs = certs::generate(&layout.certs(), user)?;
    initdb(layout, bin, user)?;
    configure(layout, user)?;

    let mut attempt = 1;
    let mut state = loop {
        if signals::interrupted() {
            bail!("interrupted");
        }
        let port = pick_port()?;
        let socket_dir = socket_dir_for(layout, port, user)?;
        write_server_settings(layout, user, port, &socket_dir, &certs)?;
        let state = State {
            pid: 0,
            port,
            socket_dir,
            cluster_dir: layout.root.clone(),
            bindir: bin.dir.clone(),
            owner_pid,
        };
        // Saved before starting, so a cleanup can find a /tmp socket dir.
        state.save(layout)?;
        let log_offset = fs::metadata(layout.log()).map(|m| m.len()).unwrap_or(0);
        match pg_ctl_start(layout, bin, user) {
            Ok(()) => break state,
            Err(e) => {
                let log = read_log_from(&layout.log(), log_offset);
                if attempt < START_ATTEMPTS && lost_port_race(&log) {
                    say!("note: port {port} was taken before the server could bind it; retrying");
                    remove_private_socket_dir(&state.socket_dir);
                    attempt += 1;
                    continue;
                }
                return Err(Error::msg(format!(
                    "{e}\n--- last lines of {} ---\n{}",
                    layout.log().display(),
                    tail(&log, 20)
                )));
            }
        }
    };

    state.pid = read_postmaster_pid(layout)?;
    state.save(layout)?;
    provision(layout, bin, user, &state)?;
    Ok(state)
}

/// Stop the server running in the layout's data directory (if any) and
/// remove the state file and any socket directory under `/tmp`. The data
/// directory and log are kept for inspection until the next start.
pub fn stop(
    layout: &Layout,
    user: Option<&RunAs>,
    bin: Option<&PgBin>,
    mode: StopMode,
) -> Result<Stopped> {
    let state = State::load(layout).unwrap_or(None);
    let data = layout.data();
    let pidfile_pid = fs::read_to_string(layout.postmaster_pid())
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok());
    let pid = pidfile_pid.or(state.as_ref().map(|s| s.pid).filter(|&p| p != 0));
    let was_running = !process::pids_in(&data).is_empty();

    // Prefer the pg_ctl that started the server.
    let recorded = state.as_ref().map(|s| PgBin::at(s.bindir.clone()));
    let bin = recorded
        .as_ref()
        .filter(|b| b.tool("pg_ctl").is_file())
        .or(bin);
    if let (true, Some(bin), Some(user)) = (was_running, bin, user) {
        if layout.postmaster_pid().exists() {
            let mut stopped = false;
            if mode == StopMode::Fast {
                stopped = pg_ctl_stop(layout, bin, user, "fast");
            }
            if !stopped {
                pg_ctl_stop(layout, bin, user, "immediate");
            }
        }
    }

    // Whatever is left (no pg_ctl, orphaned backends of a killed postmaster).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = process::pids_in(&data);
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "server processes {left:?} in {} did not exit after SIGKILL",
                data.display()
            );
        }
        process::signal(&left, "KILL")?;
        std::thread::sleep(Duration::from_millis(100));
    }

    // Nothing runs any more, so a remaining pid file is stale.
    let _ = fs::remove_file(layout.postmaster_pid());
    if let Some(state) = &state {
        remove_private_socket_dir(&state.socket_dir);
    }
    match fs::remove_file(layout.state_file()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", layout.state_file().display()))
        }
        _ => {}
    }
    Ok(Stopped { was_running, pid })
}

/// Stop and delete whatever an earlier run left behind.
/// (The cluster lock guarantees no live xtask is using it.)
fn clear_stale(layout: &Layout, bin: &PgBin, user: &RunAs) -> Result<()> {
    if !layout.root.exists() {
        return Ok(());
    }
    let stopped = stop(layout, Some(user), Some(bin), StopMode::Immediate)?;
    if stopped.was_running {
        say!(
            "note: stopped the previous test cluster{}",
            stopped
                .pid
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default()
        );
    }
    fs::remove_dir_all(&layout.root)
        .with_context(|| format!("removing the old cluster {}", layout.root.display()))
}

fn prepare_directories(layout: &Layout, user: &RunAs) -> Result<()> {
    make_dir(&layout.root, 0o755, None, true)?;
    let changed = user.ensure_reachable(&layout.root)?;
    if !changed.is_empty() {
        let dirs: Vec<String> = changed.iter().map(|d| d.display().to_string()).collect();
        say!(
            "note: added search permission (o+x) to {} so that {} can reach {}",
            dirs.join(", "),
            user.describe(),
            layout.root.display()
        );
    }
    // PostgreSQL insists that the data directory is 0700 and its own.
    make_dir(&layout.data(), 0o700, Some(user), false)?;
    make_dir(&layout.certs(), 0o755, None, false)?;
    // pg_ctl opens the log as the server user.
    let log = layout.log();
    fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    fs::set_permissions(&log, Permissions::from_mode(0o644))
        .with_context(|| format!("chmod {}", log.display()))?;
    user.chown(&log)
}

/// Create `dir` with exactly `mode` (the umask is not applied) and give it
/// to `owner` if given.
fn make_dir(dir: &Path, mode: u32, owner: Option<&RunAs>, parents: bool) -> Result<()> {
    let created = if parents {
        fs::create_dir_all(dir)
    } else {
        fs::create_dir(dir)
    };
    created.with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(dir, Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", dir.display()))?;
    match owner {
        Some(user) => user.chown(dir),
        None => Ok(()),
    }
}

fn initdb(layout: &Layout, bin: &PgBin, user: &RunAs) -> Result<()> {
    let mut cmd = user.command(bin.tool("initdb"));
    cmd.arg("-D")
        .arg(layout.data())
        .args(["-U", roles::SUPERUSER, "--auth=trust", "-E", "UTF8"])
        .args(["--locale=C", "--no-sync"])
        .current_dir(&layout.root);
    check(&mut cmd, "initdb")
}

/// Replace initdb's `pg_hba.conf` and hook our settings file into
/// `postgresql.conf` (an include, so retrying with another port can simply
/// rewrite it).
fn configure(layout: &Layout, user: &RunAs) -> Result<()> {
    let hba = layout.data().join("pg_hba.conf");
    fs::write(&hba, roles::pg_hba()).with_context(|| format!("writing {}", hba.display()))?;
    user.chown(&hba)?;
    let conf = layout.data().join("postgresql.conf");
    OpenOptions::new()
        .append(true)
        .open(&conf)
        .and_then(|mut f| {
            f.write_all(format!("\n# Added by cargo xtask\ninclude '{CONF_FILE}'\n").as_bytes())
        })
        .with_context(|| format!("writing {}", conf.display()))
}

/// The settings that make this a fast, isolated, TLS-enabled test server.
fn server_settings(port: u16, socket_dir: &Path, certs: &CertPaths) -> String {
    let path = |p: &Path| conf_string(&p.to_string_lossy());
    let settings = [
        ("listen_addresses", conf_string(crate::env::HOST)),
        ("port", port.to_string()),
        ("unix_socket_directories", path(socket_dir)),
        ("ssl", "on".into()),
        ("ssl_cert_file", path(&certs.server_cert)),
        ("ssl_key_file", path(&certs.server_key)),
        ("ssl_ca_file", path(&certs.ca_cert)),
        // Durability is pointless for a throwaway cluster; speed is not.
        ("fsync", "off".into()),
        ("synchronous_commit", "off".into()),
        ("full_page_writes", "off".into()),
        ("max_connections", "200".into()),
        ("shared_buffers", "128MB".into()),
        ("log_min_messages", "warning".into()),
    ];
    let mut text = String::from("# Written by cargo xtask on every start.\n");
    for (name, value) in settings {
        text += &format!("{name} = {value}\n");
    }
    text
}

/// A quoted string for postgresql.conf.
fn conf_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn write_server_settings(
    layout: &Layout,
    user: &RunAs,
    port: u16,
    socket_dir: &Path,
    certs: &CertPaths,
) -> Result<()> {
    let path = layout.data().join(CONF_FILE);
    fs::write(&path, server_settings(port, socket_dir, certs))
        .with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(&path, Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", path.display()))?;
    user.chown(&path)
}

/// A port that is free on 127.0.0.1 right now and has no socket file in
/// the usual socket directories. (Another process could take it before the
/// server binds it; [`start`] retries in that case.)
fn pick_port() -> Result<u16> {
    for _ in 0..50 {
        let listener =
            TcpListener::bind(("127.0.0.1", 0)).context("looking for a free TCP port")?;
        let port = listener
            .local_addr()
            .context("looking for a free TCP port")?
            .port();
        drop(listener);
        if OTHER_SOCKET_DIRS
            .iter()
            .all(|dir| !socket_path(Path::new(dir), port).exists())
        {
            return Ok(port);
        }
    }
    bail!("could not find a free TCP port on 127.0.0.1")
}

/// Where the socket goes: inside the cluster directory, unless the socket
/// path would be too long for `sun_path` (deep checkouts), then `/tmp`.
fn socket_dir_for(layout: &Layout, port: u16, user: &RunAs) -> Result<PathBuf> {
    let inside = layout.socket();
    let dir = if fits_in_sun_path(&inside, port) {
        inside
    } else {
        let short = private_socket_dir(port);
        say!(
            "note: {} is longer than the {MAX_SOCKET_PATH} bytes a Unix socket path may have; \
             using socket directory {} instead",
            socket_path(&inside, port).display(),
            short.display()
        );
        short
    };
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing old {}", dir.display()))?;
    }
    make_dir(&dir, 0o755, Some(user), false)?;
    Ok(dir)
}

fn fits_in_sun_path(dir: &Path, port: u16) -> bool {
    socket_path(dir, port).as_os_str().len() <= MAX_SOCKET_PATH
}

fn private_socket_dir(port: u16) -> PathBuf {
    PathBuf::from(format!("/tmp/pgwire-{port}"))
}

/// Remove a socket directory we made under /tmp (never anything else).
fn remove_private_socket_dir(dir: &Path) {
    let ours = dir
        .to_str()
        .and_then(|d| d.strip_prefix("/tmp/pgwire-"))
        .is_some_and(|port| port.parse::<u16>().is_ok());
    if ours {
        let _ = fs::remove_dir_all(dir);
    }
}

fn pg_ctl_start(layout: &Layout, bin: &PgBin, user: &RunAs) -> Result<()> {
    let mut cmd = user.command(bin.tool("pg_ctl"));
    cmd.arg("-D")
        .arg(layout.data())
        .arg("-l")
        .arg(layout.log())
        .args(["-w", "-t", "60", "start"])
        .current_dir(&layout.root);
    check(&mut cmd, "pg_ctl start")
        .map_err(|e| Error::msg(format!("PostgreSQL failed to start: {e}")))
}

/// `pg_ctl stop -m <mode>`; whether it worked. It runs in its own process
/// group so that a Ctrl-C on the terminal cannot interrupt the shutdown.
fn pg_ctl_stop(layout: &Layout, bin: &PgBin, user: &RunAs, mode: &str) -> bool {
    use std::os::unix::process::CommandExt;
    let mut cmd = user.command(bin.tool("pg_ctl"));
    cmd.arg("-D")
        .arg(layout.data())
        .args(["-m", mode, "-w", "-t", "30", "stop"])
        .current_dir("/")
        .process_group(0)
        .stdin(std::process::Stdio::null());
    cmd.output().is_ok_and(|out| out.status.success())
}

fn lost_port_race(log: &str) -> bool {
    log.contains("could not bind") || log.contains("Address already in use")
}

fn read_log_from(path: &Path, offset: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let tail = &all[all.len().saturating_sub(lines)..];
    if tail.is_empty() {
        "(empty)".to_string()
    } else {
        tail.join("\n")
    }
}

fn read_postmaster_pid(layout: &Layout) -> Result<u32> {
    let path = layout.postmaster_pid();
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| Error::msg(format!("no pid in {}", path.display())))
}

/// Create roles, database, grants and extensions, as the superuser over
/// the Unix socket (trusted).
fn provision(layout: &Layout, bin: &PgBin, user: &RunAs, state: &State) -> Result<()> {
    let psql = |database: &str| {
        let mut cmd = user.command(bin.psql());
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&state.socket_dir)
            .args([
                "-p",
                &state.port.to_string(),
                "-U",
                roles::SUPERUSER,
                "-d",
                database,
            ])
            .current_dir(&layout.root);
        cmd
    };
    let run_file = |database: &str, name: &str, sql: String| -> Result<()> {
        // Kept in the cluster directory, for reading when something fails.
        let file = layout.root.join(name);
        fs::write(&file, sql).with_context(|| format!("writing {}", file.display()))?;
        fs::set_permissions(&file, Permissions::from_mode(0o644))
            .with_context(|| format!("chmod {}", file.display()))?;
        check(
            psql(database).arg("-f").arg(&file),
            &format!("psql -f {name}"),
        )
    };
    run_file("postgres", "setup.sql", roles::setup_sql())?;
    run_file(roles::DATABASE, "setup-database.sql", roles::database_sql())?;
    for extension in roles::OPTIONAL_EXTENSIONS {
        let mut cmd = psql(roles::DATABASE);
        cmd.arg("-c")
            .arg(format!("CREATE EXTENSION IF NOT EXISTS {extension}"));
        let out = process::output(&mut cmd, "psql")?;
        if !out.status.success() {
            let why = process::combined_output(&out);
            say!(
                "note: extension {extension} not created ({}); tests needing it will fail",
                why.lines().next().unwrap_or("unknown error")
            );
        }
    }
    Ok(())
}

/// Run `cmd` quietly; on failure, the error includes its output.
fn check(cmd: &mut Command, what: &str) -> Result<()> {
    let out = process::output(cmd, what)?;
    if out.status.success() {
        return Ok(());
    }
    let text = process::combined_output(&out);
    let indented: Vec<String> = text.lines().map(|l| format!("  {l}")).collect();
    bail!("{what} failed ({})\n{}", out.status, indented.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_limit() {
        let port = 54321;
        // ".s.PGSQL.54321" is 14 bytes plus the slash.
        let fits = PathBuf::from(format!("/{}", "a".repeat(MAX_SOCKET_PATH - 16)));
        assert!(fits_in_sun_path(&fits, port));
        let too_long = PathBuf::from(format!("/{}", "a".repeat(MAX_SOCKET_PATH - 15)));
        assert!(!fits_in_sun_path(&too_long, port));
        assert!(fits_in_sun_path(&private_socket_dir(65535), 65535));
    }

    #[test]
    fn settings_quote_paths() {
        let certs = CertPaths::in_dir(Path::new("/w/it's/certs"));
        let text = server_settings(5555, Path::new("/w/sock"), &certs);
        assert!(text.contains("port = 5555\n"));
        assert!(text.contains("listen_addresses = '127.0.0.1'\n"));
        assert!(text.contains("unix_socket_directories = '/w/sock'\n"));
        assert!(text.contains("ssl_key_file = '/w/it''s/certs/server.key'\n"));
        assert!(text.contains("ssl_ca_file = '/w/it''s/certs/ca.crt'\n"));
        assert!(text.contains("ssl = on\n"));
    }

    #[test]
    fn only_our_tmp_socket_dirs_are_removable() {
        // Nothing outside /tmp/pgwire-<port> is ever deleted.
        let dir = std::env::temp_dir().join("pgwire-xtask-unit-test-not-a-port");
        let _ = fs::create_dir(&dir);
        remove_private_socket_dir(&dir);
        assert!(dir.exists());
        let _ = fs::remove_dir(&dir);
    }

    #[test]
    fn log_tail() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 2), "(empty)");
    }
}
