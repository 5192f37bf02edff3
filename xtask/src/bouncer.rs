//! PgBouncer in front of the primary, so the tests meet a real connection
//! pooler: one process in transaction mode with a pool of 2 server
//! connections (what breaks clients that assume a session of their own),
//! and one in session mode. Two processes rather than one with a
//! per-database `pool_mode`: each listens on its own port, exactly as a
//! deployment of either kind would, and neither's settings can leak into
//! the other's.
//!
//! Everything lives in `<cluster>/pgbouncer/`: `<pool>.ini`, `<pool>.log`,
//! `<pool>.pid`, `<pool>-socket/` and the shared `userlist.txt`. Clients
//! authenticate with SCRAM against the scram role's secret, copied from
//! `pg_authid`; PgBouncer then logs into the server with the keys the
//! client's SCRAM exchange gave it (it never knows the password). As root,
//! PgBouncer runs as the server's unprivileged user, like the servers.
//!
//! A PgBouncer is found by its command line (the absolute path of its
//! `.ini`), so stopping finds it even when the pid file or the state file
//! is gone (a crashed or `kill -9`ed xtask).

use std::fs::{self, Permissions};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{bail, Context, Error, Result};
use crate::layout::Layout;
use crate::output::say;
use crate::pgbin::PgBin;
use crate::privilege::{self, RunAs};
use crate::process;
use crate::roles::{self, Method, Role, ROLES};
use crate::state::{Bouncer, State};

/// The Debian package that has the `pgbouncer` binary.
pub const PACKAGE: &str = "pgbouncer";

/// Server connections per (database, user) pair in transaction mode: few
/// enough that a test's many clients share them all the time.
pub const TRANSACTION_POOL_SIZE: u32 = 2;

/// Server connections per pair in session mode, where each client holds
/// one for its whole session: enough for two tests' clients at once (the
/// test harness runs two at a time on this machine).
const SESSION_POOL_SIZE: u32 = 40;

/// Clients per PgBouncer.
const MAX_CLIENT_CONN: u32 = 200;

/// How many ports to try if another process grabs ours before PgBouncer binds it.
const START_ATTEMPTS: u32 = 3;

/// How long a PgBouncer may take from launch to answering a query.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// Where to look for the binary when it is not on `PATH` (Debian puts it
/// in `/usr/sbin`, which a non-root `PATH` often lacks).
const SEARCH_DIRS: [&str; 4] = ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"];

/// A PgBouncer pool mode; one process each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// A server connection per transaction (per statement outside one).
    Transaction,
    /// A server connection per client session.
    Session,
}

impl Pool {
    /// Every pool mode, in start order.
    pub const ALL: [Pool; 2] = [Pool::Transaction, Pool::Session];

    /// The `pool_mode` keyword, which also names the files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Transaction => "transaction",
            Self::Session => "session",
        }
    }

    /// Server connections of this pool; `transaction` is the size the
    /// caller chose for transaction mode (the tests' 2, the bench's more).
    fn pool_size(self, transaction: u32) -> u32 {
        match self {
            Self::Transaction => transaction,
            Self::Session => SESSION_POOL_SIZE,
        }
    }

    /// `<pool>.ini`; its absolute path on the command line identifies the process.
    fn ini(self, layout: &Layout) -> PathBuf {
        layout.pgbouncer().join(format!("{}.ini", self.name()))
    }

    fn log(self, layout: &Layout) -> PathBuf {
        layout.pgbouncer().join(format!("{}.log", self.name()))
    }

    fn pid_file(self, layout: &Layout) -> PathBuf {
        layout.pgbouncer().join(format!("{}.pid", self.name()))
    }

    /// The socket directory used unless the path is too long.
    fn socket(self, layout: &Layout) -> PathBuf {
        layout.pgbouncer().join(format!("{}-socket", self.name()))
    }
}

/// The role clients authenticate as through PgBouncer: SCRAM, no TLS.
pub fn role() -> Result<&'static Role> {
    ROLES
        .iter()
        .find(|r| r.method == Method::ScramSha256 && !r.ssl_only && r.password.is_some())
        .ok_or_else(|| Error::msg("no plain SCRAM role with a password in the role table"))
}

/// The `pgbouncer` binary, or an error naming the package to install.
pub fn find() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(SEARCH_DIRS.iter().map(PathBuf::from));
    find_in(dirs)
}

fn find_in(dirs: impl IntoIterator<Item = PathBuf>) -> Result<PathBuf> {
    for dir in dirs {
        let candidate = dir.join("pgbouncer");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "pgbouncer not found on PATH nor in {} (the PgBouncer tests need it); install the \
         Debian package '{PACKAGE}' (`apt-get install {PACKAGE}`), or start the cluster \
         without it: `cargo xtask pg start --no-pgbouncer` or {}=1 (then the tests in \
         tests/tests/pgbouncer.rs fail)",
        SEARCH_DIRS.join(", "),
        crate::commands::NO_PGBOUNCER_ENV
    )
}

/// Start one PgBouncer per pool mode in front of the running primary
/// described by `state`, recording each in `state` (and its file) before
/// it starts, so a cleanup finds its socket directory. The transaction-mode
/// pool gets `transaction_pool_size` server connections.
pub fn start(
    layout: &Layout,
    bin: &PgBin,
    user: &RunAs,
    binary: &Path,
    transaction_pool_size: u32,
    state: &mut State,
) -> Result<()> {
    let dir = layout.pgbouncer();
    privilege::make_dir(&dir, 0o755, Some(user), false)?;
    write_userlist(layout, bin, user, state)?;
    for pool in Pool::ALL {
        let size = pool.pool_size(transaction_pool_size);
        launch(layout, bin, user, binary, pool, size, state)?;
    }
    Ok(())
}

/// `userlist.txt`: the scram role and its SCRAM secret, read from
/// `pg_authid` as the superuser.
fn write_userlist(layout: &Layout, bin: &PgBin, user: &RunAs, state: &State) -> Result<()> {
    let role = role()?;
    let mut cmd = user.command(bin.psql());
    cmd.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(&state.socket_dir)
        .args(["-p", &state.port.to_string(), "-U", roles::SUPERUSER])
        .args(["-d", "postgres", "-c"])
        .arg(format!(
            "SELECT rolpassword FROM pg_authid WHERE rolname = '{}'",
            role.name.replace('\'', "''")
        ))
        .current_dir(&layout.root);
    let out = process::output(&mut cmd, "psql")?;
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !secret.starts_with("SCRAM-SHA-256$") {
        bail!(
            "reading the SCRAM secret of {} for PgBouncer failed: {}",
            role.name,
            process::combined_output(&out)
        );
    }
    let path = layout.pgbouncer().join("userlist.txt");
    fs::write(&path, userlist_line(role.name, &secret))
        .with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(&path, Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", path.display()))?;
    user.chown(&path)
}

/// One `"user" "secret"` line of an auth file (`"` doubled inside).
fn userlist_line(user: &str, secret: &str) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    format!("{} {}\n", q(user), q(secret))
}

/// Start the PgBouncer of `pool` on a free port, with another port if
/// someone else took ours first, and wait until it answers a query as the
/// scram role.
fn launch(
    layout: &Layout,
    bin: &PgBin,
    user: &RunAs,
    binary: &Path,
    pool: Pool,
    pool_size: u32,
    state: &mut State,
) -> Result<()> {
    let mut attempt = 1;
    loop {
        if crate::signals::interrupted() {
            bail!("interrupted");
        }
        let port = crate::ports::pick_port()?;
        let socket_dir = crate::ports::socket_dir(pool.socket(layout), port, user)?;
        let ini = pool.ini(layout);
        let text = settings(layout, pool, pool_size, port, &socket_dir, state);
        fs::write(&ini, text).with_context(|| format!("writing {}", ini.display()))?;
        state.bouncers.retain(|b| b.pool != pool);
        state.bouncers.push(Bouncer {
            pool,
            pid: 0,
            port,
            socket_dir: socket_dir.clone(),
        });
        state.save(layout)?;
        let log = pool.log(layout);
        let log_offset = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        match run_and_wait(layout, bin, user, binary, pool, port) {
            Ok(pid) => {
                if let Some(b) = state.bouncers.iter_mut().find(|b| b.pool == pool) {
                    b.pid = pid;
                }
                return state.save(layout);
            }
            Err(e) => {
                let text = crate::logs::read_log_from(&log, log_offset);
                // Whatever half-started must not hold the port or linger.
                stop_pool(layout, pool)?;
                if attempt < START_ATTEMPTS && crate::logs::lost_port_race(&text) {
                    say!("note: port {port} was taken before PgBouncer could bind it; retrying");
                    crate::ports::remove_private_socket_dir(&socket_dir);
                    attempt += 1;
                    continue;
                }
                return Err(Error::msg(format!(
                    "PgBouncer ({} mode) failed to start: {e}\n--- last lines of {} ---\n{}",
                    pool.name(),
                    log.display(),
                    crate::logs::tail(&text, 20)
                )));
            }
        }
    }
}

/// `pgbouncer -d <ini>` (it forks and the parent exits once the settings
/// are read), then wait for the daemon: its pid file, its TCP port and a
/// query through it. Returns the daemon's pid.
fn run_and_wait(
    layout: &Layout,
    bin: &PgBin,
    user: &RunAs,
    binary: &Path,
    pool: Pool,
    port: u16,
) -> Result<u32> {
    let ini = pool.ini(layout);
    let mut cmd = user.command(binary);
    cmd.arg("-d").arg(&ini).current_dir(layout.pgbouncer());
    process::check(&mut cmd, "pgbouncer -d")?;
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut gone_since = None;
    let pid = loop {
        // PgBouncer forks twice to daemonize; none of its processes seen
        // for a while means it ended (one look could miss a fork).
        let running = process::pids_with_arg(&ini);
        if running.is_empty() {
            let since = *gone_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(1) {
                bail!("it exited");
            }
        } else {
            gone_since = None;
        }
        let pid = read_pid(&pool.pid_file(layout)).filter(|p| running.contains(p));
        if let Some(pid) = pid {
            if TcpStream::connect((crate::env::HOST, port)).is_ok() {
                break pid;
            }
        }
        if Instant::now() > deadline {
            bail!(
                "it did not listen on port {port} within {} s",
                READY_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let role = role()?;
    let port_arg = port.to_string();
    loop {
        // The whole path a test takes: SCRAM to PgBouncer, PgBouncer's
        // SCRAM to the server, a query.
        let mut query = user.command(bin.psql());
        query
            .args(["-X", "-A", "-t", "-h", crate::env::HOST, "-p", &port_arg])
            .args(["-U", role.name, "-d", roles::DATABASE, "-c", "SELECT 1"])
            .env("PGPASSWORD", role.password.unwrap_or(""))
            .env("PGSSLMODE", "disable")
            .current_dir(&layout.root);
        let out = process::output(&mut query, "psql")?;
        if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "1" {
            return Ok(pid);
        }
        if Instant::now() > deadline {
            bail!(
                "a query as {} through it failed: {}",
                role.name,
                process::combined_output(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The settings file of `pool`'s PgBouncer, in front of the primary's
/// Unix socket, with `pool_size` server connections.
fn settings(
    layout: &Layout,
    pool: Pool,
    pool_size: u32,
    port: u16,
    socket_dir: &Path,
    state: &State,
) -> String {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let dir = layout.pgbouncer();
    let mut text = format!(
        "; Written by cargo xtask on every start ({} mode).\n\
         [databases]\n\
         {db} = host={host} port={server_port} dbname={db}\n\
         \n[pgbouncer]\n",
        pool.name(),
        db = roles::DATABASE,
        host = path(&state.socket_dir),
        server_port = state.port,
    );
    let settings = [
        ("listen_addr", crate::env::HOST.to_string()),
        ("listen_port", port.to_string()),
        ("unix_socket_dir", path(socket_dir)),
        ("pool_mode", pool.name().to_string()),
        ("default_pool_size", pool_size.to_string()),
        // Hard limits, so "a pool of 2" means 2 server connections in all.
        ("max_db_connections", pool_size.to_string()),
        ("reserve_pool_size", "0".to_string()),
        ("max_client_conn", MAX_CLIENT_CONN.to_string()),
        ("auth_type", "scram-sha-256".to_string()),
        ("auth_file", path(&dir.join("userlist.txt"))),
        // pgwire's startup packet holds only what PgBouncer tracks itself
        // (user, database, client_encoding, DateStyle, application_name);
        // JDBC-style clients (and psql's tools) may add this one.
        (
            "ignore_startup_parameters",
            "extra_float_digits".to_string(),
        ),
        ("logfile", path(&pool.log(layout))),
        ("pidfile", path(&pool.pid_file(layout))),
        ("log_connections", "0".to_string()),
        ("log_disconnections", "0".to_string()),
        // Tests wait at most a few seconds for a server connection; a
        // client left waiting longer is a failure to see, not to hide.
        ("query_wait_timeout", "60".to_string()),
    ];
    for (name, value) in settings {
        text += &format!("{name} = {value}\n");
    }
    text
}

/// Whether the recorded PgBouncer is alive (and really ours).
pub fn is_running(layout: &Layout, bouncer: &Bouncer) -> bool {
    bouncer.pid != 0 && process::pids_with_arg(&bouncer.pool.ini(layout)).contains(&bouncer.pid)
}

/// Stop every PgBouncer of the cluster (found by command line, so also
/// ones the state file does not know) and remove their `/tmp` socket
/// directories. Returns the pids that were running.
pub fn stop(layout: &Layout, state: Option<&State>) -> Result<Vec<u32>> {
    let mut stopped = Vec::new();
    for pool in Pool::ALL {
        stopped.extend(stop_pool(layout, pool)?);
    }
    for b in state.map(|s| s.bouncers.as_slice()).unwrap_or_default() {
        crate::ports::remove_private_socket_dir(&b.socket_dir);
    }
    Ok(stopped)
}

/// SIGTERM (PgBouncer's immediate shutdown), then SIGKILL what is left.
fn stop_pool(layout: &Layout, pool: Pool) -> Result<Vec<u32>> {
    let ini = pool.ini(layout);
    let pids = process::pids_with_arg(&ini);
    process::signal(&pids, "TERM")?;
    let term_deadline = Instant::now() + Duration::from_secs(5);
    let kill_deadline = term_deadline + Duration::from_secs(5);
    loop {
        let left = process::pids_with_arg(&ini);
        if left.is_empty() {
            break;
        }
        let now = Instant::now();
        if now > kill_deadline {
            bail!(
                "PgBouncer processes {left:?} ({}) did not exit after SIGKILL",
                ini.display()
            );
        }
        if now > term_deadline {
            process::signal(&left, "KILL")?;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = fs::remove_file(pool.pid_file(layout));
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            workspace: "/w".into(),
            root: "/w/target/pgwire-cluster".into(),
        }
    }

    fn state() -> State {
        State {
            pid: 1,
            port: 5555,
            socket_dir: "/w/target/pgwire-cluster/socket".into(),
            cluster_dir: "/w/target/pgwire-cluster".into(),
            bindir: "/usr/lib/postgresql/15/bin".into(),
            owner_pid: 0,
            standby: None,
            bouncers: Vec::new(),
        }
    }

    #[test]
    fn transaction_settings() {
        let sock = Path::new("/w/target/pgwire-cluster/pgbouncer/transaction-socket");
        let text = settings(
            &layout(),
            Pool::Transaction,
            TRANSACTION_POOL_SIZE,
            6432,
            sock,
            &state(),
        );
        assert!(text.contains(
            "\npgwire_test = host=/w/target/pgwire-cluster/socket port=5555 dbname=pgwire_test\n"
        ));
        assert!(text.contains("\nlisten_addr = 127.0.0.1\n"));
        assert!(text.contains("\nlisten_port = 6432\n"));
        assert!(text.contains(&format!("\nunix_socket_dir = {}\n", sock.display())));
        assert!(text.contains("\npool_mode = transaction\n"));
        assert!(text.contains("\ndefault_pool_size = 2\n"));
        assert!(text.contains("\nmax_db_connections = 2\n"));
        assert!(text.contains("\nmax_client_conn = 200\n"));
        assert!(text.contains("\nauth_type = scram-sha-256\n"));
        assert!(text.contains("\nauth_file = /w/target/pgwire-cluster/pgbouncer/userlist.txt\n"));
        assert!(text.contains("\npidfile = /w/target/pgwire-cluster/pgbouncer/transaction.pid\n"));
        assert!(text.contains("\nlogfile = /w/target/pgwire-cluster/pgbouncer/transaction.log\n"));
        assert!(text.contains("\nignore_startup_parameters = extra_float_digits\n"));
    }

    #[test]
    fn a_bigger_transaction_pool() {
        let sock = Path::new("/tmp/pgwire-6432");
        assert_eq!(Pool::Transaction.pool_size(10), 10);
        assert_eq!(Pool::Session.pool_size(10), SESSION_POOL_SIZE);
        let text = settings(&layout(), Pool::Transaction, 10, 6432, sock, &state());
        assert!(text.contains("\ndefault_pool_size = 10\n"));
        assert!(text.contains("\nmax_db_connections = 10\n"));
    }

    #[test]
    fn session_settings() {
        let sock = Path::new("/tmp/pgwire-6433");
        let text = settings(
            &layout(),
            Pool::Session,
            SESSION_POOL_SIZE,
            6433,
            sock,
            &state(),
        );
        assert!(text.contains("\npool_mode = session\n"));
        assert!(text.contains("\nlisten_port = 6433\n"));
        assert!(text.contains("\nunix_socket_dir = /tmp/pgwire-6433\n"));
        assert!(text.contains("\npidfile = /w/target/pgwire-cluster/pgbouncer/session.pid\n"));
        assert!(!text.contains("default_pool_size = 2\n"));
    }

    #[test]
    fn pool_paths_differ() {
        let l = layout();
        assert_ne!(Pool::Transaction.ini(&l), Pool::Session.ini(&l));
        assert_eq!(
            Pool::Session.ini(&l),
            Path::new("/w/target/pgwire-cluster/pgbouncer/session.ini")
        );
        assert_eq!(
            Pool::Transaction.socket(&l),
            Path::new("/w/target/pgwire-cluster/pgbouncer/transaction-socket")
        );
    }

    #[test]
    fn userlist_quoting() {
        assert_eq!(
            userlist_line("pgwire_scram", "SCRAM-SHA-256$4096:c2FsdA==$a:b"),
            "\"pgwire_scram\" \"SCRAM-SHA-256$4096:c2FsdA==$a:b\"\n"
        );
        assert_eq!(userlist_line("a\"b", "x"), "\"a\"\"b\" \"x\"\n");
    }

    #[test]
    fn a_missing_binary_names_the_package() {
        let nowhere = std::env::temp_dir().join("pgwire-xtask-no-such-dir");
        let message = find_in([nowhere]).map_err(|e| e.to_string()).err();
        let message = message.unwrap_or_default();
        assert!(message.contains("Debian package 'pgbouncer'"), "{message}");
        assert!(message.contains("apt-get install pgbouncer"), "{message}");
        assert!(message.contains("--no-pgbouncer"), "{message}");
    }

    #[test]
    fn the_role_is_the_scram_role() {
        assert_eq!(role().map(|r| r.name).ok(), Some("pgwire_scram"));
    }
}
