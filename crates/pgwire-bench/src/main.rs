//! `pgwire-bench`: pgwire against tokio-postgres and pgbench (libpq) on the
//! same server, in one run. Normally started by `cargo xtask bench
//! [--quick]`, which starts a throwaway cluster and passes its coordinates in
//! the `PGWIRE_TEST_*` variables.
//!
//! Every case runs each client in turn, for several rounds, alternating the
//! order each round so that drift on the (shared, noisy) machine hits all
//! clients alike; the table shows per-client medians and their ratios. Peak
//! memory, retained memory and instruction counts run in child processes of
//! this binary (`pgwire-bench child ...`), so that other cases do not
//! pollute them.

mod alloc;
mod batch;
mod bouncer;
mod cases;
mod child;
mod config;
mod copy;
mod memory;
mod pgbench;
mod pool;
mod report;
mod rt;
mod sqlx_pool;
mod sys;
mod work;

use std::path::PathBuf;
use std::process::ExitCode;

/// Counts heap allocations for the allocations-per-row figure.
#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// Errors end the run with a message; a benchmark has no one to recover.
pub type BResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "\
usage: pgwire-bench [--quick] [--rounds N] [--seconds S] [--rows N] [--only ID,...]
                    [--no-callgrind] [--no-big] [--out PATH]
       pgwire-bench child --client NAME [--case CASE] (--rows N | --bytes N)

  --quick         3 rounds of 0.3 s, 200k-row bulk decode, no callgrind, no 10M-row run,
                  one run per client of the retained-memory cases (mem)
  --rounds N      rounds per case (default 10)
  --seconds S     measured seconds per timed sample (default 0.5)
  --rows N        rows of the bulk decode (default 1000000)
  --only ID,...   run only the cases whose id starts with one of these
                  (rt, bulk, bulk_own, connect, shared, conns, magic, bouncer,
                  pool, peak, mem_param, mem_rows, callgrind, copy,
                  pipeline, many)
  --clients C,... run only these clients (pgwire-tokio, tokio-postgres, pgbench,
                  pgwire-smol, pgwire-async-std, deadpool-postgres, sqlx)
  --no-callgrind  skip the callgrind instruction counts
  --no-big        skip the 10M-row peak-memory run
  --out PATH      JSON results (default target/bench/results.json)

Needs the PGWIRE_TEST_* variables of a running cluster (cargo xtask bench sets them).
";

/// Command-line settings of a benchmark run.
#[derive(Debug, Clone)]
pub struct Options {
    pub quick: bool,
    pub rounds: usize,
    pub seconds: f64,
    pub rows: u64,
    pub big_rows: u64,
    pub callgrind_rows: u64,
    pub callgrind: bool,
    pub big: bool,
    pub only: Vec<String>,
    /// Client names to run (all when empty).
    pub clients: Vec<String>,
    pub out: PathBuf,
}

impl Options {
    fn parse(args: &[String]) -> BResult<Option<Self>> {
        let mut o = Options {
            quick: false,
            rounds: 10,
            seconds: 0.5,
            rows: 1_000_000,
            big_rows: 10_000_000,
            callgrind_rows: 100_000,
            callgrind: true,
            big: true,
            only: Vec::new(),
            clients: Vec::new(),
            out: PathBuf::from("target/bench/results.json"),
        };
        // --quick first, so explicit settings given with it win.
        if args.iter().any(|a| a == "--quick") {
            o.quick = true;
            o.rounds = 3;
            o.seconds = 0.3;
            o.rows = 200_000;
            o.callgrind = false;
            o.big = false;
        }
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "--quick" => {}
                "-h" | "--help" => return Ok(None),
                "--rounds" => o.rounds = number(&value(arg)?, arg)?,
                "--seconds" => o.seconds = number(&value(arg)?, arg)?,
                "--rows" => o.rows = number(&value(arg)?, arg)?,
                "--only" => {
                    o.only = value(arg)?.split(',').map(str::to_string).collect();
                }
                "--clients" => {
                    o.clients = value(arg)?.split(',').map(str::to_string).collect();
                }
                "--no-callgrind" => o.callgrind = false,
                "--no-big" => o.big = false,
                "--out" => o.out = PathBuf::from(value(arg)?),
                other => return Err(format!("unknown argument {other:?}\n\n{USAGE}").into()),
            }
        }
        if o.rounds == 0 || o.seconds <= 0.0 || o.rows == 0 {
            return Err("--rounds, --seconds and --rows must be positive".into());
        }
        for name in &o.clients {
            if crate::cases::Client::parse(name).is_none() {
                return Err(format!("--clients: unknown client {name:?}").into());
            }
        }
        Ok(Some(o))
    }

    /// Whether `client` was selected with `--clients`.
    pub fn runs(&self, client: crate::cases::Client) -> bool {
        self.clients.is_empty() || self.clients.iter().any(|c| c == client.name())
    }

    /// Whether the case `id` was selected with `--only`.
    pub fn selected(&self, id: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|prefix| id.starts_with(prefix.as_str()))
    }
}

fn number<T: std::str::FromStr>(s: &str, name: &str) -> BResult<T> {
    s.parse()
        .map_err(|_| format!("{name}: {s:?} is not a valid number").into())
}

fn main() -> ExitCode {
    // args_os: `std::env::args` would panic on a non-UTF-8 argument.
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let result = match args {
        Err(arg) => Err(format!("argument {arg:?} is not valid UTF-8").into()),
        Ok(args) if args.first().map(String::as_str) == Some("child") => child::main(&args[1..]),
        Ok(args) => match Options::parse(&args) {
            Ok(Some(options)) => cases::run(&options),
            Ok(None) => {
                print!("{USAGE}");
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pgwire-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}
