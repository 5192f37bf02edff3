//! pgbench as the libpq reference: the same statement with `-M prepared`
//! (Parse once, then Bind/Execute/Sync per transaction, like the Rust
//! clients), no vacuum (`-n`), for a whole number of seconds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::config::{Server, Transport};
use crate::BResult;

/// A pgbench run of a custom script.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    /// File name under the output directory.
    pub name: &'static str,
    pub text: &'static str,
    pub clients: usize,
    /// Statements per transaction of the script (pgbench counts those).
    pub statements: usize,
}

pub const ROUND_TRIP: Script = Script {
    name: "round_trip.sql",
    text: "\\set x random(1, 1000000)\nSELECT :x::int4;\n",
    clients: 1,
    statements: 1,
};

pub const ONE_PLUS_ONE: Script = Script {
    name: "one_plus_one.sql",
    text: "SELECT 1+1;\n",
    clients: 10,
    statements: 1,
};

/// pgbench of the server's installation (from xtask), else on `PATH`, else
/// in `pg_config --bindir`.
pub fn find(server: &Server) -> Option<PathBuf> {
    if let Some(path) = server.pgbench.as_ref().filter(|p| p.is_file()) {
        return Some(path.clone());
    }
    if let Some(path) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("pgbench"))
            .find(|p| p.is_file())
    }) {
        return Some(path);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("pgbench");
    path.is_file().then_some(path)
}

/// Runs `script` for `duration` (rounded to whole seconds, at least 1) and
/// returns the statements per second (pgbench's transactions per second
/// times the script's statements).
pub fn run(
    pgbench: &Path,
    server: &Server,
    transport: Transport,
    script: Script,
    duration: Duration,
    dir: &Path,
) -> BResult<f64> {
    let file = dir.join(script.name);
    std::fs::write(&file, script.text).map_err(|e| format!("writing {}: {e}", file.display()))?;
    let secs = duration.as_secs_f64().round().max(1.0) as u64;
    let host = match transport {
        Transport::Tcp => &server.host,
        Transport::Unix => &server.socket_dir,
    };
    let threads = script.clients.min(crate::sys::nproc());
    let out = Command::new(pgbench)
        .args(["-n", "-M", "prepared", "-T", &secs.to_string()])
        .args([
            "-c",
            &script.clients.to_string(),
            "-j",
            &threads.to_string(),
        ])
        .arg("-f")
        .arg(&file)
        .args([
            "-h",
            host,
            "-p",
            &server.port.to_string(),
            "-U",
            &server.user,
        ])
        .arg(&server.database)
        .output()
        .map_err(|e| format!("running {}: {e}", pgbench.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "pgbench failed ({}): {}{}",
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    parse_tps(&stdout)
        .map(|tps| tps * script.statements as f64)
        .ok_or_else(|| format!("no `tps = ` line in pgbench output:\n{stdout}").into())
}

/// The figure from `tps = 12345.678901 (without initial connection time)`.
fn parse_tps(stdout: &str) -> Option<f64> {
    stdout.lines().find_map(|line| {
        line.trim()
            .strip_prefix("tps = ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tps() {
        let out = "number of failed transactions: 0 (0.000%)\n\
                   latency average = 0.046 ms\n\
                   initial connection time = 2.409 ms\n\
                   tps = 21651.873562 (without initial connection time)\n";
        assert_eq!(parse_tps(out), Some(21651.873562));
        assert_eq!(parse_tps("nothing"), None);
    }
}
