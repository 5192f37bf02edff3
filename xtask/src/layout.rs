//! Where things live: the workspace root and the files of the test cluster.
//!
//! Everything belongs under `<workspace>/target/pgwire-cluster/` so that
//! `cargo clean` removes it and nothing outside the checkout is touched
//! (except, when a path is too long for a Unix socket, a socket directory
//! under `/tmp`; see `cluster.rs`).

use std::path::{Path, PathBuf};

use crate::error::{bail, Context, Result};

/// Paths of the cluster directory and its contents.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The workspace root (the directory of the top-level `Cargo.toml`).
    pub workspace: PathBuf,
    /// `<workspace>/target/pgwire-cluster`.
    pub root: PathBuf,
}

impl Layout {
    /// Find the workspace from `CARGO_MANIFEST_DIR` (the xtask crate's
    /// directory; `cargo run` sets it at run time, and it is also baked in at
    /// compile time as a fallback for running the binary directly).
    pub fn discover() -> Result<Self> {
        let runtime = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let compiled = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        for manifest_dir in runtime.into_iter().chain([compiled]) {
            let Some(parent) = manifest_dir.parent() else {
                continue;
            };
            if is_workspace_root(parent) {
                // Canonical paths matter: the socket-path length check and the
                // ancestor permission fix-up must see the real directories.
                let workspace = parent
                    .canonicalize()
                    .with_context(|| format!("resolving {}", parent.display()))?;
                let target = workspace.join("target");
                let target = target.canonicalize().unwrap_or(target);
                return Ok(Self {
                    root: target.join("pgwire-cluster"),
                    workspace,
                });
            }
        }
        bail!("cannot find the workspace root (run this through `cargo xtask ...` inside the pgwire checkout)")
    }

    /// `data/`: the PostgreSQL data directory (PGDATA).
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// `socket/`: the default Unix socket directory.
    pub fn socket(&self) -> PathBuf {
        self.root.join("socket")
    }

    /// `certs/`: CA, server and client certificates.
    pub fn certs(&self) -> PathBuf {
        self.root.join("certs")
    }

    /// `server.log`: the postmaster's stdout/stderr.
    pub fn log(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// `cluster.state`: port, socket dir and pid for later `cargo xtask` runs.
    pub fn state_file(&self) -> PathBuf {
        self.root.join("cluster.state")
    }

    /// `standby-data/`: the streaming-replication standby's data directory.
    pub fn standby_data(&self) -> PathBuf {
        self.root.join("standby-data")
    }

    /// `standby-socket/`: the standby's default Unix socket directory.
    pub fn standby_socket(&self) -> PathBuf {
        self.root.join("standby-socket")
    }

    /// `standby.log`: the standby postmaster's stdout/stderr.
    pub fn standby_log(&self) -> PathBuf {
        self.root.join("standby.log")
    }

    /// `pgbouncer/`: PgBouncer's configuration, auth file, logs, pid files
    /// and socket directories (see `bouncer.rs`).
    pub fn pgbouncer(&self) -> PathBuf {
        self.root.join("pgbouncer")
    }
}

fn is_workspace_root(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .map(|manifest| manifest.lines().any(|l| l.trim() == "[workspace]"))
        .unwrap_or(false)
}
