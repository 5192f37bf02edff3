//! `cargo xtask bench [--pg 18] [--quick] [ARGS]`: the pgwire-bench binary
//! against a fresh cluster and its PgBouncers (no standby: nothing here
//! reads from it); with `--pg 18`, on the PostgreSQL 18 of
//! `cargo xtask pg install 18`, whose pgbench (libpq 18) is then the
//! reference.

use std::ffi::OsString;
use std::process::Command;

use crate::commands::{self, Parts, Server};
use crate::env;
use crate::error::{bail, Result};
use crate::layout::Layout;
use crate::pginstall;
use crate::process;

/// Server connections of the transaction-mode PgBouncer during the bench:
/// one per client connection of the PgBouncer cases (10), so they measure
/// what the pooler and the clients' unnamed statements cost, not clients
/// queueing for the tests' pool of 2.
pub const TRANSACTION_POOL_SIZE: u32 = 10;

/// The cluster the bench starts: the primary and (unless skipped, see
/// [`commands::NO_PGBOUNCER_ENV`]) PgBouncer with the bench's pool size.
pub fn parts(server: Server) -> Parts {
    Parts {
        standby: false,
        pgbouncer: commands::want_pgbouncer(false),
        transaction_pool_size: TRANSACTION_POOL_SIZE,
        server,
    }
}

/// Takes `--pg 18` out of the arguments (the rest go to pgwire-bench).
fn split_server(args: &[String]) -> Result<(Server, Vec<String>)> {
    let mut server = Server::Default;
    let mut rest = Vec::with_capacity(args.len());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg != "--pg" {
            rest.push(arg.clone());
            continue;
        }
        match args.next() {
            Some(v) if *v == pginstall::MAJOR.to_string() => server = Server::Installed,
            Some(v) => bail!(
                "--pg {v}: only {} can be installed (`cargo xtask pg install {}`)",
                pginstall::MAJOR,
                pginstall::MAJOR
            ),
            None => bail!("--pg needs a version: --pg {}", pginstall::MAJOR),
        }
    }
    Ok((server, rest))
}

/// Start a cluster, run `cargo run --release -p pgwire-bench -- ARGS` with
/// its coordinates in the `PGWIRE_TEST_*` variables, stop the cluster, and
/// exit with the benchmark's status. ARGS go to the benchmark as they are
/// (`--quick`, `--only`, ...; see `cargo xtask bench --help`).
pub fn bench(args: &[String]) -> Result<i32> {
    let (server, args) = split_server(args)?;
    let args = &args[..];
    let layout = Layout::discover()?;
    let cargo_run = || {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&layout.workspace)
            .args(["run", "--release", "-p", "pgwire-bench", "--"])
            .args(args);
        cmd
    };
    // The usage needs no server.
    if args.iter().any(|a| a == "-h" || a == "--help") {
        let status = process::run(&mut cargo_run(), "pgwire-bench")?;
        return Ok(process::exit_code(status));
    }
    let results = layout
        .workspace
        .join("target")
        .join("bench")
        .join("results.json");
    // Without PgBouncer the bench still runs; its PgBouncer cases say why
    // they were skipped.
    commands::with_cluster(parts(server), |state, _layout| {
        let mut cmd = cargo_run();
        if !args.iter().any(|a| a == "--out") {
            cmd.arg("--out").arg(&results);
        }
        env::remove_libpq_env(&mut cmd);
        for (name, value) in env::test_env(state) {
            cmd.env(name, value);
        }
        // pgbench of the server's own version, as the libpq reference.
        let pgbench = state.bindir.join("pgbench");
        if pgbench.is_file() {
            cmd.env("PGWIRE_BENCH_PGBENCH", pgbench);
        }
        let status = process::run(&mut cmd, "pgwire-bench")?;
        Ok(process::exit_code(status))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_has_a_pool_per_client_connection() {
        let parts = parts(Server::Default);
        assert!(!parts.standby);
        assert_eq!(parts.transaction_pool_size, 10);
        assert!(parts.transaction_pool_size > crate::bouncer::TRANSACTION_POOL_SIZE);
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn pg_18_is_taken_out_of_the_bench_arguments() {
        let (server, rest) = split_server(&strings(&["--only", "rt", "--pg", "18"])).unwrap();
        assert!(matches!(server, Server::Installed));
        assert_eq!(rest, strings(&["--only", "rt"]));
        let (server, rest) = split_server(&strings(&["--quick"])).unwrap();
        assert!(matches!(server, Server::Default));
        assert_eq!(rest, strings(&["--quick"]));
        assert!(split_server(&strings(&["--pg", "16"])).is_err());
        assert!(split_server(&strings(&["--pg"])).is_err());
    }
}
