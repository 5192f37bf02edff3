//! The throwaway PostgreSQL cluster: create, start, stop.
//!
//! Every start is from scratch (initdb takes about a second with
//! `--no-sync`), so tests never see state left behind by an earlier run, and
//! a stale cluster (crashed xtask, `kill -9`, reboot) is simply stopped and
//! removed. The server is isolated from anything else on the machine: its
//! own data directory, a free TCP port on 127.0.0.1 only, and its own Unix
//! socket directory.
//!
//! Unless skipped, a second server follows it: a hot standby cloned with
//! `pg_basebackup` that streams from the primary, so the client's
//! multi-host `target_session_attrs` handling meets a real read-only server.
//! It gets the same isolation (own data directory, port, socket directory
//! and log) and is always stopped before the primary.
//!
//! Unless skipped, PgBouncer runs in front of the primary (`bouncer.rs`),
//! started after the servers and stopped before them.

use std::fs::{self, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bouncer;
use crate::certs::{self, CertPaths};
use crate::error::{bail, Context, Error, Result};
use crate::layout::Layout;
use crate::logs::{lost_port_race, read_log_from, tail};
use crate::output::say;
use crate::pgbin::PgBin;
use crate::ports::{pick_port, remove_private_socket_dir};
use crate::privilege::{self, RunAs};
use crate::process;
use crate::roles;
use crate::signals;
use crate::state::{Standby, State};

/// The settings file we include from `postgresql.conf`.
const CONF_FILE: &str = "pgwire-xtask.conf";

/// How many ports to try if another process grabs ours before the server binds it.
const START_ATTEMPTS: u32 = 3;

/// The physical replication slot the standby streams through, so the
/// primary keeps the WAL a lagging standby still needs.
const STANDBY_SLOT: &str = "pgwire_standby";

/// How long the standby may take from `pg_ctl start` to streaming.
const STANDBY_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Asks a standby whether it is one and whether its WAL receiver streams.
const STANDBY_CHECK_SQL: &str = "SELECT pg_is_in_recovery(), \
     EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')";

/// One of the cluster's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Primary,
    Standby,
}

impl Node {
    /// For messages.
    fn name(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Standby => "standby",
        }
    }

    fn data(self, layout: &Layout) -> PathBuf {
        match self {
            Self::Primary => layout.data(),
            Self::Standby => layout.standby_data(),
        }
    }

    /// The socket directory used unless the path is too long.
    fn socket(self, layout: &Layout) -> PathBuf {
        match self {
            Self::Primary => layout.socket(),
            Self::Standby => layout.standby_socket(),
        }
    }

    fn log(self, layout: &Layout) -> PathBuf {
        match self {
            Self::Primary => layout.log(),
            Self::Standby => layout.standby_log(),
        }
    }

    /// `postmaster.pid`: written by the server while it runs.
    fn pid_file(self, layout: &Layout) -> PathBuf {
        self.data(layout).join("postmaster.pid")
    }
}

/// How to stop the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnect clients and shut down cleanly (falls back to immediate).
    Fast,
    /// Abort at once; for stale clusters about to be deleted.
    Immediate,
}

/// What [`stop`] found, per server.
#[derive(Debug)]
pub struct Stopped {
    pub primary: NodeStopped,
    pub standby: NodeStopped,
    /// The PgBouncer pids that were running.
    pub pgbouncer: Vec<u32>,
}

/// What [`stop`] found for one server.
#[derive(Debug)]
pub struct NodeStopped {
    /// Whether any of its processes was running.
    pub was_running: bool,
    /// Its postmaster's pid, when known.
    pub pid: Option<u32>,
}

impl Stopped {
    /// Whether any server process of the cluster was running.
    pub fn was_running(&self) -> bool {
        self.primary.was_running || self.standby.was_running || !self.pgbouncer.is_empty()
    }

    /// " (pid 1, standby pid 2)" for messages: the pids of what was running.
    pub fn pids(&self) -> String {
        let mut pids = Vec::new();
        if let (true, Some(pid)) = (self.primary.was_running, self.primary.pid) {
            pids.push(format!("pid {pid}"));
        }
        if let (true, Some(pid)) = (self.standby.was_running, self.standby.pid) {
            pids.push(format!("standby pid {pid}"));
        }
        for pid in &self.pgbouncer {
            pids.push(format!("pgbouncer pid {pid}"));
        }
        if pids.is_empty() {
            String::new()
        } else {
            format!(" ({})", pids.join(", "))
        }
    }
}

/// Create, configure and start a fresh cluster, then create the test roles
/// and database, then (if `with_standby`) clone and start the standby,
/// then (given the `pgbouncer` binary and the transaction-mode pool size)
/// PgBouncer in front of the primary. `owner_pid` is the xtask process
/// that will stop it (0: none).
pub fn start(
    layout: &Layout,
    bin: &PgBin,
    user: &RunAs,
    owner_pid: u32,
    with_standby: bool,
    pgbouncer: Option<(&Path, u32)>,
) -> Result<State> {
    clear_stale(layout, bin, user)?;
    if with_standby {
        // Fail before spending a second on the primary.
        let basebackup = bin.tool("pg_basebackup");
        if !basebackup.is_file() {
            bail!(
                "{} not found (needed for the standby); install the PostgreSQL client \
                 tools, or skip the standby with `--no-standby` / PGWIRE_XTASK_NO_STANDBY=1",
                basebackup.display()
            );
        }
    }
    prepare_directories(layout, user)?;
    let certs = certs::generate(&layout.certs(), user)?;
    initdb(layout, bin, user)?;
    configure(layout, user)?;

    let mut state = State {
        pid: 0,
        port: 0,
        socket_dir: PathBuf::new(),
        cluster_dir: layout.root.clone(),
        bindir: bin.dir.clone(),
        owner_pid,
        standby: None,
        bouncers: Vec::new(),
    };
    launch(
        layout,
        bin,
        user,
        Node::Primary,
        &certs,
        &mut |port, dir| {
            state.port = port;
            state.socket_dir = dir.to_path_buf();
            state.save(layout)
        },
    )?;
    state.pid = read_postmaster_pid(layout, Node::Primary)?;
    state.save(layout)?;
    provision(layout, bin, user, &state)?;
    if with_standby {
        start_standby(layout, bin, user, &certs, &mut state)?;
    }
    if let Some((binary, transaction_pool_size)) = pgbouncer {
        bouncer::start(layout, bin, user, binary, transaction_pool_size, &mut state)?;
    }
    Ok(state)
}

/// Start `node`: pick a port and socket directory, write its settings and
/// run `pg_ctl start`, with another port if someone else took ours first.
/// `record` gets the port and socket directory before the server starts, to
/// save them in the state file (a cleanup must find a /tmp socket dir).
fn launch(
    layout: &Layout,
    bin: &PgBin,
    user: &RunAs,
    node: Node,
    certs: &CertPaths,
    record: &mut dyn FnMut(u16, &Path) -> Result<()>,
) -> Result<()> {
    let mut attempt = 1;
    loop {
        if signals::interrupted() {
            bail!("interrupted");
        }
        let port = pick_port()?;
        let socket_dir = crate::ports::socket_dir(node.socket(layout), port, user)?;
        write_server_settings(layout, node, user, port, &socket_dir, certs)?;
        record(port, &socket_dir)?;
        let log = node.log(layout);
        let log_offset = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        match pg_ctl_start(layout, node, bin, user) {
            Ok(()) => return Ok(()),
            Err(e) => {
                let text = read_log_from(&log, log_offset);
                if attempt < START_ATTEMPTS && lost_port_race(&text) {
                    say!("note: port {port} was taken before the server could bind it; retrying");
                    remove_private_socket_dir(&socket_dir);
                    attempt += 1;
                    continue;
                }
                return Err(Error::msg(format!(
                    "{e}\n--- last lines of {} ---\n{}",
                    log.display(),
                    tail(&text, 20)
                )));
            }
        }
    }
}

/// Clone the running primary into `standby-data/`, start the clone as a
/// hot standby and wait until it streams. Recorded in `state`.
fn start_standby(
    layout: &Layout,
    bin: &PgBin,
    user: &RunAs,
    certs: &CertPaths,
    state: &mut State,
) -> Result<()> {
    // pg_basebackup (as the server user) cannot create directories in the
    // root-owned cluster directory, but fills an empty one it owns.
    privilege::make_dir(&layout.standby_data(), 0o700, Some(user), false)?;
    create_log(&layout.standby_log(), user)?;
    base_backup(layout, bin, user, state)?;
    launch(layout, bin, user, Node::Standby, certs, &mut |port, dir| {
        state.standby = Some(Standby {
            pid: 0,
            port,
            socket_dir: dir.to_path_buf(),
        });
        state.save(layout)
    })?;
    let pid = read_postmaster_pid(layout, Node::Standby)?;
    let Some(standby) = state.standby.as_mut() else {
        bail!("the standby was started but not recorded");
    };
    standby.pid = pid;
    let standby = standby.clone();
    state.save(layout)?;
    wait_for_standby(layout, bin, user, &standby)
}

/// `pg_basebackup -R`: a copy of the primary (settings files included, ours
/// is rewritten by [`launch`]) plus `standby.signal` and a `primary_conninfo`
/// pointing at the primary's Unix socket.
fn base_backup(layout: &Layout, bin: &PgBin, user: &RunAs, primary: &State) -> Result<()> {
    let mut cmd = user.command(bin.tool("pg_basebackup"));
    cmd.arg("-D")
        .arg(layout.standby_data())
        .args(["-R", "-X", "stream", "-c", "fast"])
        .args(["-C", "-S", STANDBY_SLOT])
        // A throwaway copy needs no fsync (saves most of the time).
        .arg("--no-sync")
        .arg("-h")
        .arg(&primary.socket_dir)
        .args([
            "-p",
            &primary.port.to_string(),
            "-U",
            roles::REPLICATION_USER,
        ])
        .current_dir(&layout.root);
    process::check(&mut cmd, "pg_basebackup")
        .map_err(|e| Error::msg(format!("cloning the primary for the standby: {e}")))
}

/// What a standby answered to [`STANDBY_CHECK_SQL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StandbyCheck {
    /// In recovery and streaming.
    Ready,
    /// In recovery, WAL receiver not (yet) streaming.
    NotStreaming,
    /// Not in recovery: it is not a standby at all.
    NotInRecovery,
    /// No (parsable) answer.
    Unknown,
}

/// Parse `psql -A -t` output of [`STANDBY_CHECK_SQL`] (`t|t`).
fn parse_standby_check(output: &str) -> StandbyCheck {
    match output.trim().split_once('|') {
        Some(("t", "t")) => StandbyCheck::Ready,
        Some(("t", _)) => StandbyCheck::NotStreaming,
        Some(("f", _)) => StandbyCheck::NotInRecovery,
        _ => StandbyCheck::Unknown,
    }
}

/// Wait until the standby accepts connections (`pg_isready`), is in
/// recovery and its WAL receiver streams, so tests can rely on both
/// servers (and see the primary's changes) from the start.
fn wait_for_standby(layout: &Layout, bin: &PgBin, user: &RunAs, standby: &Standby) -> Result<()> {
    let port = standby.port.to_string();
    let connect = |cmd: &mut Command| {
        cmd.arg("-h")
            .arg(&standby.socket_dir)
            .args(["-p", &port, "-U", roles::SUPERUSER, "-d", "postgres"])
            .current_dir(&layout.root);
    };
    let deadline = Instant::now() + STANDBY_READY_TIMEOUT;
    let mut last = StandbyCheck::Unknown;
    loop {
        let mut ready = user.command(bin.tool("pg_isready"));
        ready.arg("-q");
        connect(&mut ready);
        if process::output(&mut ready, "pg_isready")?.status.success() {
            let mut query = user.command(bin.psql());
            query.args(["-X", "-A", "-t", "-c", STANDBY_CHECK_SQL]);
            connect(&mut query);
            let out = process::output(&mut query, "psql")?;
            last = parse_standby_check(&String::from_utf8_lossy(&out.stdout));
            match last {
                StandbyCheck::Ready => return Ok(()),
                StandbyCheck::NotInRecovery => bail!(
                    "the standby runs but is not in recovery (pg_is_in_recovery() = f); see {}",
                    layout.standby_log().display()
                ),
                StandbyCheck::NotStreaming | StandbyCheck::Unknown => {}
            }
        }
        if Instant::now() > deadline {
            let what = match last {
                StandbyCheck::NotStreaming => "is not streaming from the primary",
                _ => "does not accept connections",
            };
            let log = read_log_from(&layout.standby_log(), 0);
            bail!(
                "the standby {what} after {} s\n--- last lines of {} ---\n{}",
                STANDBY_READY_TIMEOUT.as_secs(),
                layout.standby_log().display(),
                tail(&log, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stop the cluster's servers (standby first) and remove the state file
/// and any socket directory under `/tmp`. The data directories and logs are
/// kept for inspection until the next start. Works from the layout alone,
/// so it also cleans up after a run that never wrote (or lost) its state.
pub fn stop(
    layout: &Layout,
    user: Option<&RunAs>,
    bin: Option<&PgBin>,
    mode: StopMode,
) -> Result<Stopped> {
    let state = State::load(layout).unwrap_or(None);
    // PgBouncer first: its server connections then close as clients do.
    // Its failure is reported after the servers are stopped all the same.
    let pgbouncer = bouncer::stop(layout, state.as_ref());
    // Prefer the pg_ctl that started the servers.
    let recorded = state.as_ref().map(|s| PgBin::at(s.bindir.clone()));
    let bin = recorded
        .as_ref()
        .filter(|b| b.tool("pg_ctl").is_file())
        .or(bin);
    // The standby first: a primary going down first waits for its WAL
    // sender to hand the standby the final WAL, and the standby would then
    // keep trying to reconnect.
    let standby_pid = state
        .as_ref()
        .and_then(|s| s.standby.as_ref())
        .map(|s| s.pid);
    let standby = stop_node(layout, Node::Standby, standby_pid, user, bin, mode)?;
    let primary_pid = state.as_ref().map(|s| s.pid);
    let primary = stop_node(layout, Node::Primary, primary_pid, user, bin, mode)?;

    if let Some(state) = &state {
        remove_private_socket_dir(&state.socket_dir);
        if let Some(standby) = &state.standby {
            remove_private_socket_dir(&standby.socket_dir);
        }
    }
    match fs::remove_file(layout.state_file()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", layout.state_file().display()))
        }
        _ => {}
    }
    Ok(Stopped {
        primary,
        standby,
        pgbouncer: pgbouncer?,
    })
}

/// Stop one server: `pg_ctl stop` if it looks alive, then SIGKILL whatever
/// still runs in its data directory.
fn stop_node(
    layout: &Layout,
    node: Node,
    recorded_pid: Option<u32>,
    user: Option<&RunAs>,
    bin: Option<&PgBin>,
    mode: StopMode,
) -> Result<NodeStopped> {
    let data = node.data(layout);
    let pid_file = node.pid_file(layout);
    let pidfile_pid = fs::read_to_string(&pid_file)
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok());
    let pid = pidfile_pid.or(recorded_pid.filter(|&p| p != 0));
    let was_running = !process::pids_in(&data).is_empty();

    if let (true, Some(bin), Some(user)) = (was_running, bin, user) {
        if pid_file.exists() {
            let mut stopped = false;
            if mode == StopMode::Fast {
                stopped = pg_ctl_stop(&data, bin, user, "fast");
            }
            if !stopped {
                pg_ctl_stop(&data, bin, user, "immediate");
            }
        }
    }

    // Whatever is left (no pg_ctl, orphaned backends of a killed postmaster).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = process::pids_in(&data);
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{} server processes {left:?} in {} did not exit after SIGKILL",
                node.name(),
                data.display()
            );
        }
        process::signal(&left, "KILL")?;
        std::thread::sleep(Duration::from_millis(100));
    }

    // Nothing runs any more, so a remaining pid file is stale.
    let _ = fs::remove_file(&pid_file);
    Ok(NodeStopped { was_running, pid })
}

/// Stop and delete whatever an earlier run left behind.
/// (The cluster lock guarantees no live xtask is using it.)
fn clear_stale(layout: &Layout, bin: &PgBin, user: &RunAs) -> Result<()> {
    if !layout.root.exists() {
        return Ok(());
    }
    let stopped = stop(layout, Some(user), Some(bin), StopMode::Immediate)?;
    if stopped.was_running() {
        say!("note: stopped the previous test cluster{}", stopped.pids());
    }
    fs::remove_dir_all(&layout.root)
        .with_context(|| format!("removing the old cluster {}", layout.root.display()))
}

fn prepare_directories(layout: &Layout, user: &RunAs) -> Result<()> {
    privilege::make_dir(&layout.root, 0o755, None, true)?;
    let changed = user.ensure_reachable(&layout.root)?;
    if !changed.is_empty() {
        let dirs: Vec<String> = changed.iter().map(|d| d.display().to_string()).collect();
        say!(
            "note: added search permission (o+x) to {} so that {} can reach {}",
            dirs.join(", "),
            user.describe(),
            layout.root.display()
        );
    }
    // PostgreSQL insists that the data directory is 0700 and its own.
    privilege::make_dir(&layout.data(), 0o700, Some(user), false)?;
    privilege::make_dir(&layout.certs(), 0o755, None, false)?;
    create_log(&layout.log(), user)
}

/// An empty server log: pg_ctl opens it as the server user.
fn create_log(log: &Path, user: &RunAs) -> Result<()> {
    fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    fs::set_permissions(log, Permissions::from_mode(0o644))
        .with_context(|| format!("chmod {}", log.display()))?;
    user.chown(log)
}

fn initdb(layout: &Layout, bin: &PgBin, user: &RunAs) -> Result<()> {
    let mut cmd = user.command(bin.tool("initdb"));
    cmd.arg("-D")
        .arg(layout.data())
        .args(["-U", roles::SUPERUSER, "--auth=trust", "-E", "UTF8"])
        .args(["--locale=C", "--no-sync"])
        .current_dir(&layout.root);
    process::check(&mut cmd, "initdb")
}

/// Replace initdb's `pg_hba.conf` and hook our settings file into
/// `postgresql.conf` (an include, so retrying with another port can simply
/// rewrite it).
fn configure(layout: &Layout, user: &RunAs) -> Result<()> {
    let hba = layout.data().join("pg_hba.conf");
    fs::write(&hba, roles::pg_hba()).with_context(|| format!("writing {}", hba.display()))?;
    user.chown(&hba)?;
    let conf = layout.data().join("postgresql.conf");
    OpenOptions::new()
        .append(true)
        .open(&conf)
        .and_then(|mut f| {
            f.write_all(format!("\n# Added by cargo xtask\ninclude '{CONF_FILE}'\n").as_bytes())
        })
        .with_context(|| format!("writing {}", conf.display()))
}

/// The settings that make this a fast, isolated, TLS-enabled test server.
/// Both servers use the same certificates (the standby's clients verify
/// the same names).
fn server_settings(node: Node, port: u16, socket_dir: &Path, certs: &CertPaths) -> String {
    let path = |p: &Path| conf_string(&p.to_string_lossy());
    let settings = [
        ("listen_addresses", conf_string(crate::env::HOST)),
        ("port", port.to_string()),
        ("unix_socket_directories", path(socket_dir)),
        ("ssl", "on".into()),
        ("ssl_cert_file", path(&certs.server_cert)),
        ("ssl_key_file", path(&certs.server_key)),
        ("ssl_ca_file", path(&certs.ca_cert)),
        // Durability is pointless for a throwaway cluster; speed is not.
        ("fsync", "off".into()),
        ("synchronous_commit", "off".into()),
        ("full_page_writes", "off".into()),
        ("max_connections", "200".into()),
        ("shared_buffers", "128MB".into()),
        ("log_min_messages", "warning".into()),
        // The defaults since PostgreSQL 10, but the standby depends on them.
        ("wal_level", "replica".into()),
        ("max_wal_senders", "10".into()),
    ];
    let standby = [
        ("hot_standby", "on".into()),
        // Keeps the primary's VACUUM from cancelling tests' standby queries.
        ("hot_standby_feedback", "on".into()),
    ];
    let extra: &[(&str, String)] = match node {
        Node::Primary => &[],
        Node::Standby => &standby,
    };
    let mut text = format!(
        "# Written by cargo xtask on every start ({}).\n",
        node.name()
    );
    for (name, value) in settings.iter().chain(extra) {
        text += &format!("{name} = {value}\n");
    }
    text
}

/// A quoted string for postgresql.conf.
fn conf_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn write_server_settings(
    layout: &Layout,
    node: Node,
    user: &RunAs,
    port: u16,
    socket_dir: &Path,
    certs: &CertPaths,
) -> Result<()> {
    let path = node.data(layout).join(CONF_FILE);
    fs::write(&path, server_settings(node, port, socket_dir, certs))
        .with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(&path, Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", path.display()))?;
    user.chown(&path)
}

/// `pg_ctl start -w`: for a standby it returns once hot standby accepts
/// connections.
fn pg_ctl_start(layout: &Layout, node: Node, bin: &PgBin, user: &RunAs) -> Result<()> {
    let mut cmd = user.command(bin.tool("pg_ctl"));
    cmd.arg("-D")
        .arg(node.data(layout))
        .arg("-l")
        .arg(node.log(layout))
        .args(["-w", "-t", "60", "start"])
        .current_dir(&layout.root);
    process::check(&mut cmd, "pg_ctl start").map_err(|e| {
        Error::msg(format!(
            "the PostgreSQL {} failed to start: {e}",
            node.name()
        ))
    })
}

/// `pg_ctl stop -m <mode>`; whether it worked. It runs in its own process
/// group so that a Ctrl-C on the terminal cannot interrupt the shutdown.
fn pg_ctl_stop(data: &Path, bin: &PgBin, user: &RunAs, mode: &str) -> bool {
    use std::os::unix::process::CommandExt;
    let mut cmd = user.command(bin.tool("pg_ctl"));
    cmd.arg("-D")
        .arg(data)
        .args(["-m", mode, "-w", "-t", "30", "stop"])
        .current_dir("/")
        .process_group(0)
        .stdin(std::process::Stdio::null());
    cmd.output().is_ok_and(|out| out.status.success())
}

fn read_postmaster_pid(layout: &Layout, node: Node) -> Result<u32> {
    let path = node.pid_file(layout);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| Error::msg(format!("no pid in {}", path.display())))
}

/// Create roles, database, grants and extensions, as the superuser over
/// the Unix socket (trusted).
fn provision(layout: &Layout, bin: &PgBin, user: &RunAs, state: &State) -> Result<()> {
    let psql = |database: &str| {
        let mut cmd = user.command(bin.psql());
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&state.socket_dir)
            .args([
                "-p",
                &state.port.to_string(),
                "-U",
                roles::SUPERUSER,
                "-d",
                database,
            ])
            .current_dir(&layout.root);
        cmd
    };
    let run_file = |database: &str, name: &str, sql: String| -> Result<()> {
        // Kept in the cluster directory, for reading when something fails.
        let file = layout.root.join(name);
        fs::write(&file, sql).with_context(|| format!("writing {}", file.display()))?;
        fs::set_permissions(&file, Permissions::from_mode(0o644))
            .with_context(|| format!("chmod {}", file.display()))?;
        process::check(
            psql(database).arg("-f").arg(&file),
            &format!("psql -f {name}"),
        )
    };
    run_file("postgres", "setup.sql", roles::setup_sql())?;
    run_file(roles::DATABASE, "setup-database.sql", roles::database_sql())?;
    for extension in roles::OPTIONAL_EXTENSIONS {
        let mut cmd = psql(roles::DATABASE);
        cmd.arg("-c")
            .arg(format!("CREATE EXTENSION IF NOT EXISTS {extension}"));
        let out = process::output(&mut cmd, "psql")?;
        if !out.status.success() {
            let why = process::combined_output(&out);
            say!(
                "note: extension {extension} not created ({}); tests needing it will fail",
                why.lines().next().unwrap_or("unknown error")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_quote_paths() {
        let certs = CertPaths::in_dir(Path::new("/w/it's/certs"));
        let text = server_settings(Node::Primary, 5555, Path::new("/w/sock"), &certs);
        assert!(text.contains("port = 5555\n"));
        assert!(text.contains("listen_addresses = '127.0.0.1'\n"));
        assert!(text.contains("unix_socket_directories = '/w/sock'\n"));
        assert!(text.contains("ssl_key_file = '/w/it''s/certs/server.key'\n"));
        assert!(text.contains("ssl_ca_file = '/w/it''s/certs/ca.crt'\n"));
        assert!(text.contains("ssl = on\n"));
        assert!(text.contains("wal_level = replica\n"));
        assert!(!text.contains("hot_standby"));
    }

    #[test]
    fn standby_settings() {
        let certs = CertPaths::in_dir(Path::new("/w/certs"));
        let sock = Path::new("/w/standby-socket");
        let text = server_settings(Node::Standby, 5556, sock, &certs);
        assert!(text.contains("port = 5556\n"));
        assert!(text.contains("unix_socket_directories = '/w/standby-socket'\n"));
        assert!(text.contains("hot_standby = on\n"));
        // Same TLS files and the same speed-over-durability settings.
        assert!(text.contains("ssl_key_file = '/w/certs/server.key'\n"));
        assert!(text.contains("fsync = off\n"));
        assert!(text.contains("full_page_writes = off\n"));
    }

    #[test]
    fn standby_check_answers() {
        assert_eq!(parse_standby_check("t|t\n"), StandbyCheck::Ready);
        assert_eq!(parse_standby_check("t|f\n"), StandbyCheck::NotStreaming);
        assert_eq!(parse_standby_check("f|f\n"), StandbyCheck::NotInRecovery);
        assert_eq!(parse_standby_check(""), StandbyCheck::Unknown);
    }

    #[test]
    fn node_paths() {
        let layout = Layout {
            workspace: "/w".into(),
            root: "/w/target/pgwire-cluster".into(),
        };
        assert_eq!(
            Node::Standby.pid_file(&layout),
            Path::new("/w/target/pgwire-cluster/standby-data/postmaster.pid")
        );
        assert_eq!(
            Node::Primary.pid_file(&layout),
            Path::new("/w/target/pgwire-cluster/data/postmaster.pid")
        );
        assert_eq!(Node::Standby.log(&layout), layout.root.join("standby.log"));
        assert_eq!(
            Node::Standby.socket(&layout),
            layout.root.join("standby-socket")
        );
    }
}
