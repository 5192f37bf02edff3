//! The state file (`cluster.state`): what a later `cargo xtask pg status`,
//! `pg env` or `pg stop` needs to know about a cluster started by an earlier
//! process. Plain `key=value` lines, so it is easy to read by eye or `grep`.

use std::path::{Path, PathBuf};

use crate::error::{bail, Context, Result};
use crate::layout::Layout;
use crate::process;

/// A started (or starting) cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Postmaster pid; 0 while the server is still starting.
    pub pid: u32,
    /// TCP port on 127.0.0.1 (also the Unix socket's port number).
    pub port: u16,
    /// Directory holding `.s.PGSQL.<port>`.
    pub socket_dir: PathBuf,
    /// The cluster directory (`target/pgwire-cluster`).
    pub cluster_dir: PathBuf,
    /// The server binaries used, so `stop` uses the matching `pg_ctl`.
    pub bindir: PathBuf,
    /// The `cargo xtask test`/`demo` process that owns the cluster and will
    /// stop it, or 0 for a cluster left running by `cargo xtask pg start`.
    pub owner_pid: u32,
}

impl State {
    /// Serialise as `key=value` lines.
    pub fn render(&self) -> String {
        format!(
            "# Written by `cargo xtask`; describes the test cluster.\n\
             pid={}\nport={}\nsocket_dir={}\ncluster_dir={}\nbindir={}\nowner_pid={}\n",
            self.pid,
            self.port,
            self.socket_dir.display(),
            self.cluster_dir.display(),
            self.bindir.display(),
            self.owner_pid,
        )
    }

    /// Parse what [`State::render`] wrote.
    pub fn parse(text: &str) -> Result<Self> {
        let mut pid = None;
        let mut port = None;
        let mut socket_dir = None;
        let mut cluster_dir = None;
        let mut bindir = None;
        let mut owner_pid = 0;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                bail!("malformed line {line:?}");
            };
            let number = |v: &str| v.parse::<u32>().with_context(|| format!("bad {key}"));
            match key {
                "pid" => pid = Some(number(value)?),
                "port" => port = Some(value.parse::<u16>().context("bad port")?),
                "socket_dir" => socket_dir = Some(PathBuf::from(value)),
                "cluster_dir" => cluster_dir = Some(PathBuf::from(value)),
                "bindir" => bindir = Some(PathBuf::from(value)),
                "owner_pid" => owner_pid = number(value)?,
                _ => {} // Unknown keys: written by a newer xtask; ignore.
            }
        }
        match (pid, port, socket_dir, cluster_dir, bindir) {
            (Some(pid), Some(port), Some(socket_dir), Some(cluster_dir), Some(bindir)) => {
                Ok(Self {
                    pid,
                    port,
                    socket_dir,
                    cluster_dir,
                    bindir,
                    owner_pid,
                })
            }
            _ => bail!("missing keys"),
        }
    }

    /// Read the state file, if there is one.
    pub fn load(layout: &Layout) -> Result<Option<Self>> {
        let path = layout.state_file();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text)
                .map(Some)
                .with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Write the state file.
    pub fn save(&self, layout: &Layout) -> Result<()> {
        let path = layout.state_file();
        std::fs::write(&path, self.render()).with_context(|| format!("writing {}", path.display()))
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.cluster_dir.join("data")
    }

    /// Whether the recorded postmaster is alive (and really ours).
    pub fn is_running(&self) -> bool {
        self.pid != 0 && process::runs_in(self.pid, &self.data_dir())
    }
}

/// `<dir>/.s.PGSQL.<port>`, the name PostgreSQL gives its socket.
pub fn socket_path(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!(".s.PGSQL.{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let state = State {
            pid: 4242,
            port: 54321,
            socket_dir: "/tmp/pgwire-54321".into(),
            cluster_dir: "/w/target/pgwire-cluster".into(),
            bindir: "/usr/lib/postgresql/15/bin".into(),
            owner_pid: 7,
        };
        assert_eq!(State::parse(&state.render()).ok(), Some(state));
    }

    #[test]
    fn rejects_incomplete_or_garbled() {
        assert!(State::parse("pid=1\n").is_err());
        assert!(State::parse("pid=1\nport=notaport\n").is_err());
        assert!(State::parse("nonsense\n").is_err());
    }
}
