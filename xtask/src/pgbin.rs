//! Finding the PostgreSQL server binaries.
//!
//! Debian keeps `initdb`, `postgres` and `pg_ctl` out of `PATH` (in
//! `/usr/lib/postgresql/<major>/bin`), so `PATH` alone is not enough. Order:
//! 0. `PGWIRE_PG_BINDIR`, when set: the user's explicit choice (another
//!    server version than the system's), and an error if it holds no server;
//! 1. `pg_config --bindir`, the authoritative answer when it is installed;
//! 2. a `PATH` entry that holds the server binaries (source builds, Homebrew);
//! 3. the newest `/usr/lib/postgresql/*/bin` (Debian/Ubuntu layout).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The binaries a cluster cannot be created or run without.
const SERVER_BINARIES: [&str; 3] = ["initdb", "postgres", "pg_ctl"];

const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The environment variable that names the server binaries' directory.
pub const BINDIR_VAR: &str = "PGWIRE_PG_BINDIR";

/// A directory holding the PostgreSQL server binaries.
#[derive(Debug, Clone)]
pub struct PgBin {
    /// The directory, e.g. `/usr/lib/postgresql/15/bin`.
    pub dir: PathBuf,
}

impl PgBin {
    /// Locate the server binaries (see the module docs for the order).
    pub fn find() -> Result<Self> {
        Self::find_with(std::env::var_os(BINDIR_VAR))
    }

    /// [`PgBin::find`] with the value of [`BINDIR_VAR`] given.
    fn find_with(bindir_override: Option<std::ffi::OsString>) -> Result<Self> {
        if let Some(dir) = bindir_override.filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            // A wrong override must not fall back silently to another
            // version: the run would test what the user did not ask for.
            return if has_server_binaries(&dir) {
                Ok(Self { dir })
            } else {
                Err(Error::msg(format!(
                    "{BINDIR_VAR}={} holds no PostgreSQL server binaries (initdb, postgres, pg_ctl)",
                    dir.display()
                )))
            };
        }
        let from_pg_config = pg_config_bindir().filter(|d| has_server_binaries(d));
        let from_path = || {
            std::env::var_os("PATH")
                .and_then(|path| std::env::split_paths(&path).find(|d| has_server_binaries(d)))
        };
        let from_debian = || {
            let entries = std::fs::read_dir(DEBIAN_ROOT).ok()?;
            let names = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| has_server_binaries(&Path::new(DEBIAN_ROOT).join(name).join("bin")));
            highest_version(names).map(|v| Path::new(DEBIAN_ROOT).join(v).join("bin"))
        };
        from_pg_config
            .or_else(from_path)
            .or_else(from_debian)
            .map(|dir| Self { dir })
            .ok_or_else(|| {
                Error::msg(
                    "no PostgreSQL server binaries (initdb, postgres) found; \
                     install the Debian package 'postgresql' (apt-get install postgresql)",
                )
            })
    }

    /// Use a directory recorded earlier (in the state file).
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Path of a server binary such as `initdb` or `pg_ctl`.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `psql`: next to the server binaries if there (Debian), else via `PATH`.
    pub fn psql(&self) -> PathBuf {
        let beside = self.tool("psql");
        if beside.is_file() {
            beside
        } else {
            PathBuf::from("psql")
        }
    }
}

/// The major version of the server in `bin` (`postgres --version`).
pub fn server_major(bin: &PgBin) -> Option<u32> {
    let out = Command::new(bin.tool("postgres"))
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    parse_major(&String::from_utf8_lossy(&out.stdout))
}

/// The major version in a `--version` line such as
/// `postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)` or
/// `psql (PostgreSQL) 18.6`: the first number after `(PostgreSQL) `.
pub fn parse_major(version: &str) -> Option<u32> {
    let (_, rest) = version.split_once("(PostgreSQL) ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    let dir = dir.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

fn has_server_binaries(dir: &Path) -> bool {
    SERVER_BINARIES.iter().all(|b| dir.join(b).is_file())
}

/// Parse a Debian version directory name ("9.6", "15") into numbers so that
/// versions compare numerically; `None` for anything else.
fn parse_version(name: &str) -> Option<Vec<u64>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// The numerically highest version among `names` (non-versions are ignored).
fn highest_version(names: impl IntoIterator<Item = String>) -> Option<String> {
    names
        .into_iter()
        .filter_map(|n| parse_version(&n).map(|v| (v, n)))
        .max()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(names: &[&str]) -> Option<String> {
        highest_version(names.iter().map(|s| s.to_string()))
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(pick(&["9.6", "15", "16"]).as_deref(), Some("16"));
        assert_eq!(pick(&["16", "9.6", "15"]).as_deref(), Some("16"));
        assert_eq!(pick(&["9.6", "10"]).as_deref(), Some("10"));
        assert_eq!(pick(&["9.5", "9.6"]).as_deref(), Some("9.6"));
    }

    #[test]
    fn an_override_without_a_server_is_an_error_not_a_fallback() {
        let err = PgBin::find_with(Some("/nonexistent/pgwire/bin".into())).unwrap_err();
        assert!(err.to_string().contains(BINDIR_VAR), "{err}");
    }

    #[test]
    fn an_override_with_a_server_is_used() {
        let dir = std::env::temp_dir().join(format!("pgwire-pgbin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for b in SERVER_BINARIES {
            std::fs::write(dir.join(b), "").unwrap();
        }
        let found = PgBin::find_with(Some(dir.clone().into_os_string())).unwrap();
        assert_eq!(found.dir, dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn majors_from_version_lines() {
        assert_eq!(
            parse_major("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(parse_major("psql (PostgreSQL) 18.6\n"), Some(18));
        assert_eq!(parse_major("postgres (PostgreSQL) 18beta1"), Some(18));
        assert_eq!(parse_major("pg_ctl 18"), None);
        assert_eq!(parse_major(""), None);
    }

    #[test]
    fn non_versions_are_ignored() {
        assert_eq!(pick(&["lib", "15", "15beta"]).as_deref(), Some("15"));
        assert_eq!(pick(&["share", ""]), None);
        assert_eq!(pick(&[]), None);
    }
}
