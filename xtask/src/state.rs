//! The state file (`cluster.state`): what a later `cargo xtask pg status`,
//! `pg env` or `pg stop` needs to know about a cluster started by an earlier
//! process. Plain `key=value` lines, so it is easy to read by eye or `grep`.

use std::path::{Path, PathBuf};

use crate::bouncer::Pool;
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
    /// The read-only streaming-replication standby, unless skipped.
    pub standby: Option<Standby>,
    /// The PgBouncer processes in front of the primary (one per pool
    /// mode), unless skipped; in start order.
    pub bouncers: Vec<Bouncer>,
}

/// One PgBouncer process of a cluster (files in `<cluster>/pgbouncer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bouncer {
    /// Its pool mode, which also names its files.
    pub pool: Pool,
    /// Its pid; 0 while it is still starting.
    pub pid: u32,
    /// Its TCP port on 127.0.0.1 (and Unix socket port number).
    pub port: u16,
    /// Directory holding its `.s.PGSQL.<port>`.
    pub socket_dir: PathBuf,
}

/// The standby server of a cluster (data in `<cluster>/standby-data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standby {
    /// Its postmaster's pid; 0 while it is still starting.
    pub pid: u32,
    /// Its TCP port on 127.0.0.1 (and Unix socket port number).
    pub port: u16,
    /// Directory holding its `.s.PGSQL.<port>`.
    pub socket_dir: PathBuf,
}

impl State {
    /// Serialise as `key=value` lines.
    pub fn render(&self) -> String {
        let mut text = format!(
            "# Written by `cargo xtask`; describes the test cluster.\n\
             pid={}\nport={}\nsocket_dir={}\ncluster_dir={}\nbindir={}\nowner_pid={}\n",
            self.pid,
            self.port,
            self.socket_dir.display(),
            self.cluster_dir.display(),
            self.bindir.display(),
            self.owner_pid,
        );
        if let Some(standby) = &self.standby {
            text += &format!(
                "standby_pid={}\nstandby_port={}\nstandby_socket_dir={}\n",
                standby.pid,
                standby.port,
                standby.socket_dir.display()
            );
        }
        for b in &self.bouncers {
            let pool = b.pool.name();
            text += &format!(
                "pgbouncer_{pool}_pid={}\npgbouncer_{pool}_port={}\npgbouncer_{pool}_socket_dir={}\n",
                b.pid,
                b.port,
                b.socket_dir.display()
            );
        }
        text
    }

    /// The PgBouncer of `pool`, if the cluster has one.
    pub fn bouncer(&self, pool: Pool) -> Option<&Bouncer> {
        self.bouncers.iter().find(|b| b.pool == pool)
    }

    /// Parse what [`State::render`] wrote.
    pub fn parse(text: &str) -> Result<Self> {
        let mut pid = None;
        let mut port = None;
        let mut socket_dir = None;
        let mut cluster_dir = None;
        let mut bindir = None;
        let mut owner_pid = 0;
        let mut standby_pid = None;
        let mut standby_port = None;
        let mut standby_socket_dir = None;
        let mut bouncers: Vec<PartialBouncer> = Vec::new();
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
                "standby_pid" => standby_pid = Some(number(value)?),
                "standby_port" => {
                    standby_port = Some(value.parse::<u16>().context("bad standby_port")?);
                }
                "standby_socket_dir" => standby_socket_dir = Some(PathBuf::from(value)),
                _ => {
                    let Some((pool, field)) = bouncer_key(key) else {
                        continue; // Unknown keys: written by a newer xtask; ignore.
                    };
                    let i = match bouncers.iter().position(|b| b.0 == pool) {
                        Some(i) => i,
                        None => {
                            bouncers.push((pool, None, None, None));
                            bouncers.len() - 1
                        }
                    };
                    match field {
                        "pid" => bouncers[i].1 = Some(number(value)?),
                        "port" => {
                            bouncers[i].2 =
                                Some(value.parse::<u16>().context("bad pgbouncer port")?);
                        }
                        _ => bouncers[i].3 = Some(PathBuf::from(value)),
                    }
                }
            }
        }
        let bouncers = bouncers
            .into_iter()
            .map(|b| match b {
                (pool, Some(pid), Some(port), Some(socket_dir)) => Ok(Bouncer {
                    pool,
                    pid,
                    port,
                    socket_dir,
                }),
                (pool, ..) => bail!("incomplete pgbouncer_{} keys", pool.name()),
            })
            .collect::<Result<Vec<_>>>()?;
        let standby = match (standby_pid, standby_port, standby_socket_dir) {
            (None, None, None) => None,
            (Some(pid), Some(port), Some(socket_dir)) => Some(Standby {
                pid,
                port,
                socket_dir,
            }),
            _ => bail!("incomplete standby keys"),
        };
        match (pid, port, socket_dir, cluster_dir, bindir) {
            (Some(pid), Some(port), Some(socket_dir), Some(cluster_dir), Some(bindir)) => {
                Ok(Self {
                    pid,
                    port,
                    socket_dir,
                    cluster_dir,
                    bindir,
                    owner_pid,
                    standby,
                    bouncers,
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

    /// The standby's data directory (whether or not there is a standby).
    pub fn standby_data_dir(&self) -> PathBuf {
        self.cluster_dir.join("standby-data")
    }

    /// Whether the recorded (primary) postmaster is alive (and really ours).
    pub fn is_running(&self) -> bool {
        self.pid != 0 && process::runs_in(self.pid, &self.data_dir())
    }

    /// Whether the recorded standby postmaster is alive; `None` without a standby.
    pub fn standby_is_running(&self) -> Option<bool> {
        let standby = self.standby.as_ref()?;
        Some(standby.pid != 0 && process::runs_in(standby.pid, &self.standby_data_dir()))
    }
}

/// A PgBouncer's keys as read so far: pool, pid, port, socket dir.
type PartialBouncer = (Pool, Option<u32>, Option<u16>, Option<PathBuf>);

/// `pgbouncer_<pool>_<field>` → (pool, field) for the three fields.
fn bouncer_key(key: &str) -> Option<(Pool, &str)> {
    let rest = key.strip_prefix("pgbouncer_")?;
    Pool::ALL.into_iter().find_map(|pool| {
        let field = rest.strip_prefix(pool.name())?.strip_prefix('_')?;
        matches!(field, "pid" | "port" | "socket_dir").then_some((pool, field))
    })
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
            standby: None,
            bouncers: Vec::new(),
        };
        assert_eq!(State::parse(&state.render()).ok(), Some(state.clone()));
        let with_standby = State {
            standby: Some(Standby {
                pid: 4243,
                port: 54322,
                socket_dir: "/tmp/pgwire-54322".into(),
            }),
            ..state
        };
        let text = with_standby.render();
        assert!(text.contains("\nstandby_port=54322\n"));
        assert_eq!(State::parse(&text).ok(), Some(with_standby.clone()));
        let with_bouncers = State {
            bouncers: vec![
                Bouncer {
                    pool: Pool::Transaction,
                    pid: 4244,
                    port: 54323,
                    socket_dir: "/w/target/pgwire-cluster/pgbouncer/transaction-socket".into(),
                },
                Bouncer {
                    pool: Pool::Session,
                    pid: 0,
                    port: 54324,
                    socket_dir: "/tmp/pgwire-54324".into(),
                },
            ],
            ..with_standby
        };
        let text = with_bouncers.render();
        assert!(text.contains("\npgbouncer_session_port=54324\n"));
        assert!(text.contains("\npgbouncer_transaction_pid=4244\n"));
        assert_eq!(State::parse(&text).ok(), Some(with_bouncers));
    }

    #[test]
    fn rejects_incomplete_or_garbled() {
        assert!(State::parse("pid=1\n").is_err());
        assert!(State::parse("pid=1\nport=notaport\n").is_err());
        assert!(State::parse("nonsense\n").is_err());
        let complete = "pid=1\nport=2\nsocket_dir=/s\ncluster_dir=/c\nbindir=/b\n";
        assert!(State::parse(complete).is_ok());
        assert!(State::parse(&format!("{complete}standby_port=3\n")).is_err());
        assert!(State::parse(&format!("{complete}pgbouncer_session_port=3\n")).is_err());
        assert!(State::parse(&format!("{complete}pgbouncer_session_port=x\n")).is_err());
        // A pool mode this xtask does not know: a newer xtask's key.
        assert!(State::parse(&format!("{complete}pgbouncer_statement_port=3\n")).is_ok());
    }
}
