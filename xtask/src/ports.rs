//! Free ports and Unix socket directories for the servers xtask starts.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::error::{bail, Context, Result};
use crate::output::say;
use crate::privilege::{self, RunAs};
use crate::state::socket_path;

/// `sizeof(sun_path)` is 108 on Linux, including the terminating NUL.
pub(crate) const MAX_SOCKET_PATH: usize = 107;

/// Socket directories other servers commonly use; we avoid their ports so
/// a default libpq connection never reaches our server by accident.
const OTHER_SOCKET_DIRS: [&str; 3] = ["/tmp", "/var/run/postgresql", "/run/postgresql"];

/// A port that is free on 127.0.0.1 right now and has no socket file in
/// the usual socket directories. (Another process could take it before the
/// server binds it; the caller retries in that case.)
pub(crate) fn pick_port() -> Result<u16> {
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

/// A fresh socket directory for a server on `port`: `inside` (in the
/// cluster directory), unless the socket path would be too long for
/// `sun_path` (deep checkouts), then `/tmp/pgwire-<port>`.
pub(crate) fn socket_dir(inside: PathBuf, port: u16, user: &RunAs) -> Result<PathBuf> {
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
    privilege::make_dir(&dir, 0o755, Some(user), false)?;
    Ok(dir)
}

pub(crate) fn fits_in_sun_path(dir: &Path, port: u16) -> bool {
    socket_path(dir, port).as_os_str().len() <= MAX_SOCKET_PATH
}

pub(crate) fn private_socket_dir(port: u16) -> PathBuf {
    PathBuf::from(format!("/tmp/pgwire-{port}"))
}

/// Remove a socket directory we made under /tmp (never anything else).
pub(crate) fn remove_private_socket_dir(dir: &Path) {
    let ours = dir
        .to_str()
        .and_then(|d| d.strip_prefix("/tmp/pgwire-"))
        .is_some_and(|port| port.parse::<u16>().is_ok());
    if ours {
        let _ = fs::remove_dir_all(dir);
    }
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
    fn only_our_tmp_socket_dirs_are_removable() {
        // Nothing outside /tmp/pgwire-<port> is ever deleted.
        let dir = std::env::temp_dir().join("pgwire-xtask-unit-test-not-a-port");
        let _ = fs::create_dir(&dir);
        remove_private_socket_dir(&dir);
        assert!(dir.exists());
        let _ = fs::remove_dir(&dir);
    }
}
