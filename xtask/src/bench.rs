//! `cargo xtask bench [--quick] [ARGS]`: the pgwire-bench binary against a
//! fresh cluster and its PgBouncers (no standby: nothing here reads from it).

use std::ffi::OsString;
use std::process::Command;

use crate::commands::{self, Parts};
use crate::env;
use crate::error::Result;
use crate::layout::Layout;
use crate::process;

/// Server connections of the transaction-mode PgBouncer during the bench:
/// one per client connection of the PgBouncer cases (10), so they measure
/// what the pooler and the clients' unnamed statements cost, not clients
/// queueing for the tests' pool of 2.
pub const TRANSACTION_POOL_SIZE: u32 = 10;

/// The cluster the bench starts: the primary and (unless skipped, see
/// [`commands::NO_PGBOUNCER_ENV`]) PgBouncer with the bench's pool size.
pub fn parts() -> Parts {
    Parts {
        standby: false,
        pgbouncer: commands::want_pgbouncer(false),
        transaction_pool_size: TRANSACTION_POOL_SIZE,
        server: commands::Server::Default,
    }
}

/// Start a cluster, run `cargo run --release -p pgwire-bench -- ARGS` with
/// its coordinates in the `PGWIRE_TEST_*` variables, stop the cluster, and
/// exit with the benchmark's status. ARGS go to the benchmark as they are
/// (`--quick`, `--only`, ...; see `cargo xtask bench --help`).
pub fn bench(args: &[String]) -> Result<i32> {
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
    commands::with_cluster(parts(), |state, _layout| {
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
        let parts = parts();
        assert!(!parts.standby);
        assert_eq!(parts.transaction_pool_size, 10);
        assert!(parts.transaction_pool_size > crate::bouncer::TRANSACTION_POOL_SIZE);
    }
}
