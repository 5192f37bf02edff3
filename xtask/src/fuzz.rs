//! `cargo xtask fuzz [TARGET] [--time S]`: the cargo-fuzz targets in
//! `fuzz/` on the nightly toolchain, each for a bounded time (default 30 s)
//! with libFuzzer's memory and per-input time limits, from the seeds in
//! `fuzz/corpus/TARGET` (what a run finds new goes to
//! `target/fuzz-corpus/TARGET`, not into the repository). cargo-fuzz is
//! installed when missing; without a nightly toolchain the command says so
//! and, with `--if-nightly`, succeeds without fuzzing (for CI).

use std::path::Path;
use std::process::Command;

use crate::error::{bail, Result};
use crate::layout::Layout;
use crate::output::say;
use crate::process;

/// The targets, in the order they run.
pub const TARGETS: [&str; 7] = [
    "machine", "startup", "values", "sql", "conninfo", "pgpass", "schedule",
];

const USAGE: &str = "usage: cargo xtask fuzz [TARGET] [--time SECONDS] [--if-nightly]";

fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn has_cargo_fuzz() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn fuzz(args: &[String]) -> Result<i32> {
    let mut target = None;
    let mut seconds = 30u64;
    let mut if_nightly = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                let Some(value) = args.next().and_then(|v| v.parse().ok()) else {
                    bail!("--time needs a number of seconds; {USAGE}");
                };
                seconds = value;
            }
            "--if-nightly" => if_nightly = true,
            name if TARGETS.contains(&name) => target = Some(name.to_owned()),
            other => bail!(
                "unknown fuzz argument '{other}' (targets: {}); {USAGE}",
                TARGETS.join(", ")
            ),
        }
    }
    if !has_nightly() {
        let why = "no nightly toolchain (cargo-fuzz needs one): `rustup toolchain install nightly`";
        if if_nightly {
            say!("skipping fuzzing: {why}");
            return Ok(0);
        }
        bail!("{why}");
    }
    let layout = Layout::discover()?;
    if !has_cargo_fuzz() {
        say!("installing cargo-fuzz (cargo install cargo-fuzz --locked)");
        let mut install = Command::new("cargo");
        install.args(["+nightly", "install", "cargo-fuzz", "--locked"]);
        let status = process::run(&mut install, "cargo install cargo-fuzz")?;
        if !status.success() {
            bail!("cargo install cargo-fuzz failed ({status})");
        }
    }
    let targets: Vec<String> = match target {
        Some(t) => vec![t],
        None => TARGETS.iter().map(|t| (*t).to_owned()).collect(),
    };
    for target in &targets {
        let code = run_target(&layout.workspace, target, seconds)?;
        if code != 0 {
            say!("fuzz target {target} failed: a build error above, or a finding, whose input is in fuzz/artifacts/{target}/ (make it a unit test)");
            return Ok(code);
        }
    }
    say!(
        "fuzzed {} target(s) for {seconds} s each: nothing found",
        targets.len()
    );
    Ok(0)
}

fn run_target(workspace: &Path, target: &str, seconds: u64) -> Result<i32> {
    let fuzz_dir = workspace.join("fuzz");
    let seeds = fuzz_dir.join("corpus").join(target);
    let found = workspace.join("target").join("fuzz-corpus").join(target);
    std::fs::create_dir_all(&found)?;
    say!("fuzzing {target} for {seconds} s");
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&fuzz_dir)
        .args(["+nightly", "fuzz", "run", "--fuzz-dir", "."])
        .arg(target)
        .arg(&found)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(["-malloc_limit_mb=1024", "-rss_limit_mb=2048", "-timeout=10"])
        .arg("-print_final_stats=1");
    let status = process::run(&mut cmd, "cargo fuzz run")?;
    Ok(process::exit_code(status))
}
