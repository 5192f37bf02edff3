//! Running the server as an unprivileged user.
//!
//! `initdb`, `pg_ctl` and `postgres` refuse to run as root, but CI containers
//! and many dev boxes run everything as root. So when our effective uid is 0
//! we run the PostgreSQL programs as the `postgres` system user (via
//! `CommandExt::uid/gid`, no libc needed) and hand it the directories it
//! writes. Otherwise we simply run them as ourselves.
//!
//! Root also brings a subtle problem: a checkout under a private directory
//! (`mktemp -d` makes 0700 directories) is unreachable for `postgres`, so the
//! server cannot read its own data directory. [`RunAs::ensure_reachable`]
//! adds search-only permission (o+x) where it is missing.

use std::ffi::OsStr;
use std::fs::{self, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env;
use crate::error::{bail, Context, Result};

/// The system user PostgreSQL runs as when we are root.
pub const SERVER_USER: &str = "postgres";

/// A system account, as found in `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// Whom the PostgreSQL programs run as.
#[derive(Debug, Clone)]
pub enum RunAs {
    /// Not root: run as ourselves; file ownership needs no changes.
    CurrentUser,
    /// Root: run as this unprivileged account and chown what it must own.
    Account(Account),
}

impl RunAs {
    /// Decide based on our effective uid.
    pub fn detect() -> Result<Self> {
        if effective_uid()? != 0 {
            return Ok(Self::CurrentUser);
        }
        let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
        match lookup_account(&passwd, SERVER_USER) {
            Some(account) => Ok(Self::Account(account)),
            None => bail!(
                "running as root, and PostgreSQL refuses to run as root, but there is no \
                 '{SERVER_USER}' user to run it as; install the 'postgresql' package or \
                 `useradd --system {SERVER_USER}`, or run as a non-root user"
            ),
        }
    }

    /// A human-readable name for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::CurrentUser => "the current user".to_string(),
            Self::Account(a) => format!("user '{}'", a.name),
        }
    }

    /// A command that runs `program` as this user, with a clean libpq
    /// environment (ambient `PGPORT`, `PGDATA`, ... must not redirect our
    /// tools to some other server).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        env::remove_libpq_env(&mut cmd);
        if let Self::Account(a) = self {
            // std drops root's supplementary groups when uid is set.
            cmd.uid(a.uid).gid(a.gid);
            let home = if a.home.is_dir() {
                a.home.clone()
            } else {
                PathBuf::from("/tmp")
            };
            cmd.env("HOME", home)
                .env("USER", &a.name)
                .env("LOGNAME", &a.name);
        }
        cmd
    }

    /// Give `path` to this user (no-op when running as ourselves).
    pub fn chown(&self, path: &Path) -> Result<()> {
        if let Self::Account(a) = self {
            std::os::unix::fs::chown(path, Some(a.uid), Some(a.gid))
                .with_context(|| format!("chown {} to {}", path.display(), a.name))?;
        }
        Ok(())
    }

    /// Make sure this user can traverse every ancestor of `dir` (and `dir`
    /// itself), adding `o+x` (search only, not read) where missing. Returns
    /// the directories that were changed so the caller can say so.
    pub fn ensure_reachable(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let Self::Account(a) = self else {
            return Ok(Vec::new());
        };
        let mut changed = Vec::new();
        // Root first, so the list reads top-down.
        let ancestors: Vec<&Path> = dir.ancestors().collect();
        for ancestor in ancestors.into_iter().rev() {
            let meta = std::fs::metadata(ancestor)
                .with_context(|| format!("inspecting {}", ancestor.display()))?;
            if can_search(meta.mode(), meta.uid(), meta.gid(), a.uid, a.gid) {
                continue;
            }
            let mut perms = meta.permissions();
            perms.set_mode(meta.mode() | 0o001);
            std::fs::set_permissions(ancestor, perms)
                .with_context(|| format!("adding o+x to {}", ancestor.display()))?;
            changed.push(ancestor.to_path_buf());
        }
        Ok(changed)
    }
}

/// Our effective uid, from `/proc/self/status` (`Uid: real effective saved fs`).
fn effective_uid() -> Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status");
    if let Some(uid) = status.ok().as_deref().and_then(parse_euid) {
        return Ok(uid);
    }
    // /proc/<pid> is owned by the process's effective uid.
    let meta = std::fs::metadata("/proc/self").context("determining the effective uid")?;
    Ok(meta.uid())
}

fn parse_euid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Find `name` in the text of `/etc/passwd`.
fn lookup_account(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 7 || fields[0] != name {
            return None;
        }
        Some(Account {
            name: name.to_string(),
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
            home: PathBuf::from(fields[5]),
        })
    })
}

/// Whether a user may search (traverse) a directory with these attributes.
/// Supplementary groups are ignored, so this errs towards adding o+x.
fn can_search(mode: u32, owner: u32, group: u32, uid: u32, gid: u32) -> bool {
    if owner == uid {
        mode & 0o100 != 0
    } else if group == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Create `dir` with exactly `mode` (the umask is not applied) and give it
/// to `owner` if given.
pub(crate) fn make_dir(dir: &Path, mode: u32, owner: Option<&RunAs>, parents: bool) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euid_is_the_second_uid_field() {
        let status = "Name:\tx\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n";
        assert_eq!(parse_euid(status), Some(0));
        assert_eq!(parse_euid("Name:\tx\n"), None);
    }

    #[test]
    fn passwd_lookup() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(
            lookup_account(passwd, "postgres"),
            Some(Account {
                name: "postgres".into(),
                uid: 101,
                gid: 104,
                home: "/var/lib/postgresql".into(),
            })
        );
        assert_eq!(lookup_account(passwd, "post"), None);
        assert_eq!(
            lookup_account("postgres:x:notanumber:1:::/bin/sh\n", "postgres"),
            None
        );
    }

    #[test]
    fn search_permission_uses_the_matching_class() {
        // mktemp -d: 0700 root:root — postgres (101:104) cannot enter.
        assert!(!can_search(0o40700, 0, 0, 101, 104));
        assert!(can_search(0o40701, 0, 0, 101, 104));
        assert!(can_search(0o40755, 0, 0, 101, 104));
        // Owner bits apply to the owner even when "others" could enter.
        assert!(!can_search(0o40011, 101, 104, 101, 104));
        assert!(can_search(0o40710, 0, 104, 101, 104));
    }
}
