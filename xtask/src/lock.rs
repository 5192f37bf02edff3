//! One cluster user at a time per workspace.
//!
//! Every start wipes the cluster directory, so a second `cargo xtask test`
//! (or a `pg start`) in the same checkout would pull the rug out from under
//! a running one. A lock file next to the cluster directory, created with
//! `O_EXCL` and holding the owner's pid, prevents that without libc or
//! `flock`. A lock whose pid is no longer a live xtask (crash, `kill -9`)
//! is stale and taken over.

use std::io::{ErrorKind, Write};
use std::path::PathBuf;

use crate::error::{bail, Context, Result};
use crate::layout::Layout;
use crate::process;

/// Held while a command creates or uses the cluster; removed on drop.
#[derive(Debug)]
pub struct ClusterLock {
    path: PathBuf,
}

impl ClusterLock {
    /// Take the lock, or fail if another live xtask holds it.
    pub fn acquire(layout: &Layout) -> Result<Self> {
        let path = layout.root.with_extension("lock");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let me = std::process::id();
        // Two rounds: the second after removing a stale lock.
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(format!("{me}\n").as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if pid != me && process::is_xtask(pid) => bail!(
                            "the test cluster is in use by another `cargo xtask` (pid {pid}); \
                             wait for it to finish (or stop it with `cargo xtask pg stop`)"
                        ),
                        _ => {
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        bail!("could not take the lock {}", path.display())
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
