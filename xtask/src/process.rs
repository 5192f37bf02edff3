//! Child processes and looking at other processes through `/proc`.
//!
//! Children are registered with [`crate::signals`] while they run, so a
//! Ctrl-C handler can pass the interrupt on and wait for us to clean up.
//! Server processes are identified by their working directory: the
//! postmaster and every backend `chdir` into the data directory, so "cwd is
//! our data dir" finds exactly our server (even orphans of a `kill -9`ed
//! postmaster) and never anybody else's.

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};

use crate::error::{bail, Context, Result};
use crate::signals;

/// Run `cmd` with inherited stdio and wait for it.
pub fn run(cmd: &mut Command, what: &str) -> Result<ExitStatus> {
    let mut child = cmd.spawn().with_context(|| spawn_error(cmd, what))?;
    let _tracked = signals::track_child(child.id());
    let status = child
        .wait()
        .with_context(|| format!("waiting for {what}"))?;
    check_interrupted()?;
    Ok(status)
}

/// Run `cmd` with stdin closed and stdout/stderr captured.
pub fn output(cmd: &mut Command, what: &str) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().with_context(|| spawn_error(cmd, what))?;
    let _tracked = signals::track_child(child.id());
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {what}"))?;
    check_interrupted()?;
    Ok(out)
}

/// After a Ctrl-C, whatever a child produced is moot: unwind so the
/// cleanup guard stops the cluster.
fn check_interrupted() -> Result<()> {
    if signals::interrupted() {
        bail!("interrupted");
    }
    Ok(())
}

fn spawn_error(cmd: &Command, what: &str) -> String {
    format!(
        "cannot run {what} ({})",
        cmd.get_program().to_string_lossy()
    )
}

/// stdout and stderr of a finished command, for error messages.
pub fn combined_output(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text.trim_end().to_string()
}

/// The exit code to pass on for `status` (128 + signal if it was killed).
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Whether process `pid` exists (and is not a zombie) with its working
/// directory in `dir`.
pub fn runs_in(pid: u32, dir: &Path) -> bool {
    match std::fs::read_link(format!("/proc/{pid}/cwd")) {
        Ok(cwd) => same_dir(&cwd, dir),
        Err(_) => false,
    }
}

/// All processes whose working directory is `dir` (except ourselves).
pub fn pids_in(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && runs_in(pid, dir))
        .collect()
}

/// All processes (except ourselves) with `arg` as one of their arguments:
/// how a daemon started with the absolute path of its own settings file is
/// found again, also without its pid file.
pub fn pids_with_arg(arg: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    let arg = arg.as_os_str().as_encoded_bytes();
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| has_arg(&cmdline, arg))
        })
        .collect()
}

/// Whether a NUL-separated `/proc/<pid>/cmdline` has `arg` after argv[0].
fn has_arg(cmdline: &[u8], arg: &[u8]) -> bool {
    cmdline.split(|&b| b == 0).skip(1).any(|a| a == arg)
}

/// A deleted directory shows up as `"<path> (deleted)"` in `/proc/<pid>/cwd`.
fn same_dir(cwd: &Path, dir: &Path) -> bool {
    if cwd == dir {
        return true;
    }
    let mut deleted = dir.as_os_str().to_owned();
    deleted.push(" (deleted)");
    cwd.as_os_str() == deleted
}

/// `pid` and all its descendants (children first-found order), from the
/// parent pids in `/proc/<pid>/stat`. Used to pass an interrupt on to
/// `cargo test` *and* the test binaries it runs, which a signal to cargo
/// alone would leave running.
pub fn with_descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![pid];
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            Some((p, parent_from_stat(&stat)?))
        })
        .collect();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|&&(_, pp)| pp == parent)
                .map(|&(p, _)| p),
        );
        i += 1;
    }
    tree
}

/// The parent pid from `/proc/<pid>/stat`: "pid (comm) state ppid ...";
/// comm may contain spaces and parentheses, so parse after the last ')'.
fn parent_from_stat(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` is a live `xtask` process (the owner of a cluster).
pub fn is_xtask(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => cmdline
            .split(|&b| b == 0)
            .next()
            .is_some_and(|argv0| argv0.ends_with(b"xtask")),
        Err(_) => false,
    }
}

/// Send `signal` (e.g. "KILL", "INT") to `pids` with kill(1): std has no
/// kill(2) for arbitrary pids and we avoid a libc dependency for this.
pub fn signal(pids: &[u32], signal: &str) -> Result<()> {
    if pids.is_empty() {
        return Ok(());
    }
    let mut cmd = Command::new("kill");
    cmd.arg(format!("-{signal}"))
        .args(pids.iter().map(u32::to_string))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match cmd.status() {
        Ok(_) => Ok(()), // Some may already have exited: fine.
        Err(e) if e.kind() == ErrorKind::NotFound => {
            Err(e).context("cannot signal processes: kill(1) is not installed")
        }
        Err(e) => Err(e).context("running kill(1)"),
    }
}

/// Run `cmd` quietly; on failure, the error includes its output.
pub(crate) fn check(cmd: &mut Command, what: &str) -> Result<()> {
    let out = output(cmd, what)?;
    if out.status.success() {
        return Ok(());
    }
    let text = combined_output(&out);
    let indented: Vec<String> = text.lines().map(|l| format!("  {l}")).collect();
    bail!("{what} failed ({})\n{}", out.status, indented.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_cwd_still_matches() {
        let dir = Path::new("/w/target/pgwire-cluster/data");
        assert!(same_dir(dir, dir));
        assert!(same_dir(
            Path::new("/w/target/pgwire-cluster/data (deleted)"),
            dir
        ));
        assert!(!same_dir(Path::new("/w/target/pgwire-cluster"), dir));
        assert!(!same_dir(Path::new("/w/target/pgwire-cluster/data2"), dir));
    }

    #[test]
    fn parent_pid_parsing() {
        assert_eq!(parent_from_stat("42 (cargo) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parent_from_stat("42 (a) b) (c) R 9 1 1"), Some(9));
        assert_eq!(parent_from_stat("garbage"), None);
    }

    #[test]
    fn arguments_match_whole() {
        let cmdline = b"/usr/sbin/pgbouncer\0-d\0/w/pgbouncer/session.ini\0";
        assert!(has_arg(cmdline, b"/w/pgbouncer/session.ini"));
        assert!(has_arg(cmdline, b"-d"));
        assert!(!has_arg(cmdline, b"/w/pgbouncer/session"));
        assert!(!has_arg(cmdline, b"/usr/sbin/pgbouncer"));
        assert!(!has_arg(b"", b"x"));
    }

    #[test]
    fn descendants_include_the_process_itself() {
        let me = std::process::id();
        assert_eq!(with_descendants(me).first(), Some(&me));
    }

    #[test]
    fn we_run_in_our_cwd() {
        if let Ok(cwd) = std::env::current_dir() {
            assert!(runs_in(std::process::id(), &cwd));
        }
        // pid 0 never has a /proc entry.
        assert!(!runs_in(0, Path::new("/")));
    }
}
