//! The commands: `pg start|stop|status|env`, `test`, `demo`.

use std::ffi::OsString;
use std::process::Command;

use crate::bouncer::{self, Pool};
use crate::cluster::{self, StopMode};
use crate::env;
use crate::error::{bail, Result};
use crate::layout::Layout;
use crate::lock::ClusterLock;
use crate::output::{say, say_err};
use crate::pgbin::{self, PgBin};
use crate::pginstall;
use crate::privilege::RunAs;
use crate::process;
use crate::roles::ROLES;
use crate::signals::{self, CleanupGuard, INTERRUPTED_EXIT_CODE};
use crate::state::State;

/// Exit code of `pg status` when no cluster runs (as `pg_ctl status`).
const NOT_RUNNING_EXIT_CODE: i32 = 3;

/// The role the demo connects as.
const DEMO_ROLE: &str = "SCRAM";

/// Set (to anything but empty or `0`) to start clusters without a standby.
pub const NO_STANDBY_ENV: &str = "PGWIRE_XTASK_NO_STANDBY";

/// Whether to start a standby: not with `--no-standby` nor when the
/// environment says so (the way to skip it for `test` and `demo`, whose
/// arguments belong to cargo).
pub fn want_standby(no_standby_flag: bool) -> bool {
    !no_standby_flag && !env_skips_standby(std::env::var_os(NO_STANDBY_ENV).as_deref())
}

fn env_skips_standby(value: Option<&std::ffi::OsStr>) -> bool {
    env_flag(value)
}

/// Set (to anything but empty or `0`) to start clusters without PgBouncer
/// (for local use where it is not installed; the PgBouncer tests then fail).
pub const NO_PGBOUNCER_ENV: &str = "PGWIRE_XTASK_NO_PGBOUNCER";

/// Whether to start PgBouncer: not with `--no-pgbouncer` nor when
/// [`NO_PGBOUNCER_ENV`] says so.
pub fn want_pgbouncer(no_pgbouncer_flag: bool) -> bool {
    !no_pgbouncer_flag && !env_flag(std::env::var_os(NO_PGBOUNCER_ENV).as_deref())
}

fn env_flag(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// Which servers besides the primary a cluster gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// The streaming-replication standby.
    pub standby: bool,
    /// PgBouncer (transaction and session mode) in front of the primary.
    pub pgbouncer: bool,
    /// Server connections of the transaction-mode PgBouncer.
    pub transaction_pool_size: u32,
    /// Which server binaries run it.
    pub server: Server,
}

/// Which server binaries a cluster runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// [`PgBin::find`]: `PGWIRE_PG_BINDIR`, else the system's server.
    Default,
    /// The PostgreSQL 18 of `cargo xtask pg install 18` (`pg start --pg 18`).
    Installed,
}

impl Server {
    /// The binaries, or an error saying how to get them.
    fn bin(self, layout: &Layout) -> Result<PgBin> {
        match self {
            Self::Default => PgBin::find(),
            Self::Installed => pginstall::require(layout),
        }
    }
}

impl Parts {
    /// What `test` starts: everything the environment does not skip.
    pub fn from_env() -> Self {
        Self {
            standby: want_standby(false),
            pgbouncer: want_pgbouncer(false),
            transaction_pool_size: bouncer::TRANSACTION_POOL_SIZE,
            server: Server::Default,
        }
    }
}

/// `cargo xtask pg start`: a fresh cluster that keeps running after we exit.
pub fn pg_start(parts: Parts) -> Result<i32> {
    let (state, guard) = start_guarded(0, parts)?;
    // From here on the cluster is meant to outlive us (this also releases
    // the lock: a later start may replace the cluster).
    guard.disarm();
    let layout = Layout::discover()?;
    say!("pgwire test cluster running");
    say!("  pid         {}", state.pid);
    say!("  address     {}:{}", env::HOST, state.port);
    say!("  socket dir  {}", state.socket_dir.display());
    say!("  data dir    {}", state.data_dir().display());
    say!("  log         {}", layout.log().display());
    say!("  server bins {}", state.bindir.display());
    match &state.standby {
        Some(standby) => {
            say!("standby (hot, streaming from the primary)");
            say!("  pid         {}", standby.pid);
            say!("  address     {}:{}", env::HOST, standby.port);
            say!("  socket dir  {}", standby.socket_dir.display());
            say!("  data dir    {}", state.standby_data_dir().display());
            say!("  log         {}", layout.standby_log().display());
        }
        None => say!("no standby (--no-standby or {NO_STANDBY_ENV})"),
    }
    say_bouncers(&state, &layout);
    say!("environment: eval \"$(cargo xtask pg env)\"; stop with: cargo xtask pg stop");
    Ok(0)
}

/// The PgBouncer lines of `pg start`.
fn say_bouncers(state: &State, layout: &Layout) {
    if state.bouncers.is_empty() {
        say!("no pgbouncer (--no-pgbouncer or {NO_PGBOUNCER_ENV})");
    }
    for b in &state.bouncers {
        say!("pgbouncer, {} mode", b.pool.name());
        say!("  pid         {}", b.pid);
        say!("  address     {}:{}", env::HOST, b.port);
        say!("  socket dir  {}", b.socket_dir.display());
        say!(
            "  files       {}/{}.*",
            layout.pgbouncer().display(),
            b.pool.name()
        );
    }
}

/// `cargo xtask pg stop`.
pub fn pg_stop() -> Result<i32> {
    let layout = Layout::discover()?;
    let user = RunAs::detect().ok();
    let bin = PgBin::find().ok();
    let stopped = cluster::stop(&layout, user.as_ref(), bin.as_ref(), StopMode::Fast)?;
    if stopped.was_running() {
        say!("stopped the pgwire test cluster{}", stopped.pids());
    } else {
        say!("no pgwire test cluster was running");
    }
    Ok(0)
}

/// `cargo xtask pg status`: exit 0 if running (both servers, if it has a
/// standby), 3 if not.
pub fn pg_status() -> Result<i32> {
    let layout = Layout::discover()?;
    let Some(state) = State::load(&layout)? else {
        say!("pgwire test cluster is not running");
        return Ok(NOT_RUNNING_EXIT_CODE);
    };
    let primary_up = state.is_running();
    let standby_up = state.standby_is_running();
    if primary_up {
        say!("pgwire test cluster is running");
        say!("  pid         {}", state.pid);
        say!("  port        {}", state.port);
        say!("  socket dir  {}", state.socket_dir.display());
        say!("  cluster dir {}", state.cluster_dir.display());
    } else {
        say!(
            "pgwire test cluster is not running (pid {} from {} is gone)",
            state.pid,
            layout.state_file().display()
        );
    }
    match &state.standby {
        Some(standby) if standby_up == Some(true) => {
            say!("standby is running");
            say!("  pid         {}", standby.pid);
            say!("  port        {}", standby.port);
            say!("  socket dir  {}", standby.socket_dir.display());
        }
        Some(standby) => say!("standby is not running (pid {} is gone)", standby.pid),
        None => say!("no standby (started with --no-standby or {NO_STANDBY_ENV})"),
    }
    let bouncers_up = bouncers_running(&state);
    for b in &state.bouncers {
        let up = bouncer::is_running(&layout, b);
        let what = if up { "running" } else { "not running" };
        say!(
            "pgbouncer ({} mode) is {what}: pid {}, port {}",
            b.pool.name(),
            b.pid,
            b.port
        );
    }
    if primary_up && state.owner_pid != 0 {
        say!(
            "owned by cargo xtask (pid {}), which stops it when done",
            state.owner_pid
        );
    }
    if primary_up && standby_up != Some(false) && bouncers_up {
        Ok(0)
    } else {
        Ok(NOT_RUNNING_EXIT_CODE)
    }
}

/// `cargo xtask pg env`.
pub fn pg_env() -> Result<i32> {
    let state = running_state()?;
    {
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), "{}", env::render(&state));
    }
    Ok(0)
}

/// `cargo xtask test [args]`: `cargo test --workspace --no-fail-fast [args]`
/// against a fresh cluster of the system's server (or `PGWIRE_PG_BINDIR`'s),
/// then the integration tests alone against a fresh PostgreSQL 18 cluster
/// when `pg install 18` has installed one. Exits with the first failing
/// run's status.
pub fn test(extra: &[String]) -> Result<i32> {
    let layout = Layout::discover()?;
    let first = with_cluster(Parts::from_env(), |state, layout| {
        let mut cmd = cargo(layout);
        // --all-features: the optional type conversions (rust_decimal, uuid,
        // serde_json) are tested too.
        cmd.args(["test", "--workspace", "--all-features", "--no-fail-fast"])
            .args(extra);
        add_test_env(&mut cmd, state);
        let status = process::run(&mut cmd, "cargo test")?;
        Ok(process::exit_code(status))
    })?;
    if signals::interrupted() {
        return Ok(first);
    }
    let Some(pg18) = pginstall::installed(&layout) else {
        say!(
            "notice: PostgreSQL {} is not installed, so the integration tests ran on one \
             server version only; install it with `cargo xtask pg install {}`",
            pginstall::MAJOR,
            pginstall::MAJOR
        );
        return Ok(first);
    };
    let first_bin = PgBin::find()?;
    if pgbin::server_major(&first_bin) == Some(pginstall::MAJOR) {
        say!(
            "notice: the first run was on PostgreSQL {} already ({}), not running it again",
            pginstall::MAJOR,
            first_bin.dir.display()
        );
        return Ok(first);
    }
    say!(
        "::: the integration tests again, on PostgreSQL {} ({})",
        pginstall::MAJOR,
        pg18.dir.display()
    );
    let parts = Parts {
        server: Server::Installed,
        ..Parts::from_env()
    };
    let second = with_cluster(parts, |state, layout| {
        let mut cmd = cargo(layout);
        cmd.args(second_run_args(extra, &integration_targets(layout)?));
        add_test_env(&mut cmd, state);
        let status = process::run(&mut cmd, "cargo test (PostgreSQL 18)")?;
        Ok(process::exit_code(status))
    })?;
    Ok(if first != 0 { first } else { second })
}

/// The test target that runs once, on the system's server only: the pool
/// soak checks the pool's bookkeeping under cancels and kills for a minute,
/// and nothing it does depends on the server version (plain queries,
/// `pg_sleep`, `pg_terminate_backend`), so a second minute would buy nothing.
const ONCE_ONLY: &str = "pool_soak";

/// The integration test targets: `tests/tests/NAME.rs` and
/// `tests/tests/NAME/main.rs` (cargo's discovery), sorted.
fn integration_targets(layout: &Layout) -> Result<Vec<String>> {
    let dir = layout.workspace.join("tests").join("tests");
    let mut names = Vec::new();
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| crate::error::Error::msg(format!("reading {}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry?.path();
        let name = if path.is_dir() && path.join("main.rs").is_file() {
            path.file_name()
        } else if path.extension().is_some_and(|e| e == "rs") {
            path.file_stem()
        } else {
            None
        };
        if let Some(name) = name.and_then(|n| n.to_str()) {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// `cargo test` for the second server: the integration test targets only
/// (the unit tests never talk to a server), the soak left out, then the
/// caller's ARGS; ARGS that pick targets themselves (`--test`) pick them
/// alone. `--workspace --all-features` as in the first run, so that cargo
/// unifies the same features and reuses its build instead of compiling
/// the tests crate's dependencies again (4 minutes on 2 cores).
fn second_run_args(extra: &[String], targets: &[String]) -> Vec<String> {
    let (cargo_args, test_args) = match extra.iter().position(|a| a == "--") {
        Some(i) => (&extra[..i], &extra[i + 1..]),
        None => (extra, &[][..]),
    };
    let mut args: Vec<String> = ["test", "--workspace", "--all-features", "--no-fail-fast"]
        .map(String::from)
        .to_vec();
    let picks_targets = cargo_args
        .iter()
        .any(|a| a == "--test" || a.starts_with("--test="));
    if !picks_targets {
        for target in targets.iter().filter(|t| *t != ONCE_ONLY) {
            args.extend(["--test".to_string(), target.clone()]);
        }
    }
    args.extend(cargo_args.iter().cloned());
    if !test_args.is_empty() {
        args.push("--".into());
        args.extend(test_args.iter().cloned());
    }
    args
}

/// `cargo xtask demo`: the pgwire-tokio demo example against a fresh cluster.
pub fn demo() -> Result<i32> {
    // A cluster `cargo xtask pg start` left running here is used as it is,
    // and left running: the demo never stops or replaces it.
    let layout = Layout::discover()?;
    if let Some(state) = State::load(&layout)?.filter(State::is_running) {
        say!(
            "using the running pgwire test cluster (pid {}, port {})",
            state.pid,
            state.port
        );
        return run_demo(&state, &layout);
    }
    // Only what the demo needs: no standby, no PgBouncer.
    let parts = Parts {
        standby: false,
        pgbouncer: false,
        ..Parts::from_env()
    };
    with_cluster(parts, run_demo)
}

/// Runs the demo program against `state`'s cluster as the SCRAM role over
/// TLS (verify-full against the cluster's own CA).
fn run_demo(state: &State, layout: &Layout) -> Result<i32> {
    let mut cmd = cargo(layout);
    cmd.args(["run", "--quiet", "-p", "pgwire-tokio", "--example", "demo"]);
    add_test_env(&mut cmd, state);
    let Some(role) = ROLES.iter().find(|r| r.key == DEMO_ROLE) else {
        bail!("no {DEMO_ROLE} role in the role table");
    };
    let certs = crate::certs::CertPaths::in_dir(&state.cluster_dir.join("certs"));
    for (name, value) in env::libpq_vars(role, state.port, &certs) {
        cmd.env(name, value);
    }
    cmd.env("PGSSLMODE", "verify-full");
    let status = process::run(&mut cmd, "the demo")?;
    Ok(process::exit_code(status))
}

/// Start a cluster owned by this process, run `body`, and stop the cluster
/// however `body` ends (including Ctrl-C and panics).
pub(crate) fn with_cluster(
    parts: Parts,
    body: impl FnOnce(&State, &Layout) -> Result<i32>,
) -> Result<i32> {
    let (state, guard) = start_guarded(std::process::id(), parts)?;
    let layout = Layout::discover()?;
    let standby = match &state.standby {
        Some(s) => format!("; standby pid {}, port {}", s.pid, s.port),
        None => "; no standby".to_string(),
    };
    let bouncers: String = state
        .bouncers
        .iter()
        .map(|b| format!("; pgbouncer {} mode port {}", b.pool.name(), b.port))
        .collect();
    let standby = standby + &bouncers;
    say!(
        "pgwire test cluster running (pid {}, port {}, socket dir {}{standby})",
        state.pid,
        state.port,
        state.socket_dir.display()
    );
    let result = body(&state, &layout);
    drop(guard);
    if signals::interrupted() {
        return Ok(INTERRUPTED_EXIT_CODE);
    }
    result
}

/// Start a cluster with a guard that stops it, armed before anything is
/// created so that a failed or interrupted start leaves nothing running.
/// The guard also holds the workspace's cluster lock, so the lock lasts as
/// long as the cluster is ours and is released however we end.
fn start_guarded(owner_pid: u32, parts: Parts) -> Result<(State, CleanupGuard)> {
    signals::install()?;
    let layout = Layout::discover()?;
    let bin = parts.server.bin(&layout)?;
    // Fail before starting anything when PgBouncer is wanted but missing.
    let pgbouncer = if parts.pgbouncer {
        Some((bouncer::find()?, parts.transaction_pool_size))
    } else {
        None
    };
    let user = RunAs::detect()?;
    // Before arming: without the lock the cluster is not ours to stop.
    let lock = ClusterLock::acquire(&layout)?;
    let guard = {
        let (layout, bin, user) = (layout.clone(), bin.clone(), user.clone());
        CleanupGuard::arm(move || {
            match cluster::stop(&layout, Some(&user), Some(&bin), StopMode::Fast) {
                Ok(stopped) if stopped.was_running() => say!("stopped the pgwire test cluster"),
                Ok(_) => {}
                Err(e) => say_err!("warning: could not stop the pgwire test cluster: {e}"),
            }
            drop(lock);
        })
    };
    let state = cluster::start(
        &layout,
        &bin,
        &user,
        owner_pid,
        parts.standby,
        pgbouncer
            .as_ref()
            .map(|(path, size)| (path.as_path(), *size)),
    )?;
    if signals::interrupted() {
        bail!("interrupted");
    }
    Ok((state, guard))
}

fn running_state() -> Result<State> {
    let layout = Layout::discover()?;
    let state = match State::load(&layout)? {
        Some(state) if state.is_running() => state,
        _ => bail!("no pgwire test cluster is running; start one with `cargo xtask pg start`"),
    };
    // Exported standby variables must point at a live server.
    if state.standby_is_running() == Some(false) {
        bail!(
            "the standby of the pgwire test cluster is not running; restart the cluster \
             with `cargo xtask pg start`"
        );
    }
    if !bouncers_running(&state) {
        bail!(
            "a PgBouncer of the pgwire test cluster is not running; restart the cluster \
             with `cargo xtask pg start`"
        );
    }
    Ok(state)
}

/// Whether every recorded PgBouncer is alive (and ours).
fn bouncers_running(state: &State) -> bool {
    let Ok(layout) = Layout::discover() else {
        return false;
    };
    Pool::ALL.iter().all(|&pool| {
        state
            .bouncer(pool)
            .is_none_or(|b| bouncer::is_running(&layout, b))
    })
}

/// The cargo that runs us (`$CARGO`), in the workspace root.
fn cargo(layout: &Layout) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&layout.workspace);
    cmd
}

/// The test environment, without any ambient libpq settings.
fn add_test_env(cmd: &mut Command, state: &State) {
    env::remove_libpq_env(cmd);
    for (name, value) in env::test_env(state) {
        cmd.env(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_standby_env_values() {
        assert!(!env_skips_standby(None));
        assert!(!env_skips_standby(Some(OsStr::new(""))));
        assert!(!env_skips_standby(Some(OsStr::new("0"))));
        assert!(env_skips_standby(Some(OsStr::new("1"))));
        assert!(env_skips_standby(Some(OsStr::new("yes"))));
    }

    #[test]
    fn the_second_run_is_the_integration_tests_without_the_soak() {
        let targets: Vec<String> = ["pool", "pool_soak", "tls"].map(String::from).to_vec();
        let args = |extra: &[&str]| {
            let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
            second_run_args(&extra, &targets).join(" ")
        };
        let base = "test --workspace --all-features --no-fail-fast";
        assert_eq!(args(&[]), format!("{base} --test pool --test tls"));
        assert_eq!(
            args(&["--", "--nocapture"]),
            format!("{base} --test pool --test tls -- --nocapture")
        );
        assert_eq!(
            args(&["--test", "tls", "--", "--nocapture"]),
            format!("{base} --test tls -- --nocapture")
        );
    }

    #[test]
    fn the_integration_targets_are_found_as_cargo_finds_them() {
        let layout = Layout::discover().unwrap();
        let targets = integration_targets(&layout).unwrap();
        assert!(targets.contains(&"tls".to_string()), "{targets:?}");
        assert!(targets.contains(&ONCE_ONLY.to_string()), "{targets:?}");
        // pool_soak/ops.rs is a module of pool_soak.rs, not a target.
        assert!(!targets.contains(&"ops".to_string()), "{targets:?}");
    }

    #[test]
    fn the_flag_always_skips() {
        assert!(!want_standby(true));
    }
}
