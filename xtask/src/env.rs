//! The environment that tells tests (and humans) how to reach the cluster.
//!
//! Variables (all derived from the role table in `roles.rs`):
//! - `PGWIRE_TEST_HOST` (127.0.0.1), `PGWIRE_TEST_PORT`,
//!   `PGWIRE_TEST_SOCKET_DIR`, `PGWIRE_TEST_DATABASE`,
//!   `PGWIRE_TEST_CA_CERT`, `PGWIRE_TEST_CLIENT_CERT`,
//!   `PGWIRE_TEST_CLIENT_KEY`, `PGWIRE_TEST_CLUSTER_DIR`,
//!   `PGWIRE_TEST_SUPERUSER`;
//! - with a standby (the default): `PGWIRE_TEST_STANDBY_PORT` and
//!   `PGWIRE_TEST_STANDBY_SOCKET_DIR` (same host, roles and passwords: they
//!   are replicated); unset when the cluster was started without one;
//! - with PgBouncer (the default for `test` and `pg start`): the
//!   transaction-mode one (pool of 2 server connections) at
//!   `PGWIRE_TEST_PGBOUNCER_PORT` and `PGWIRE_TEST_PGBOUNCER_SOCKET_DIR`, the
//!   session-mode one at `PGWIRE_TEST_PGBOUNCER_SESSION_PORT` and
//!   `PGWIRE_TEST_PGBOUNCER_SESSION_SOCKET_DIR`; same host and database, and
//!   only the SCRAM role (`PGWIRE_TEST_SCRAM_*`) may log in through them;
//!   unset when the cluster was started without PgBouncer;
//! - per role: `PGWIRE_TEST_<KEY>_USER` and `PGWIRE_TEST_<KEY>_PASSWORD`
//!   (empty when the role has no password).
//!
//! Ambient libpq variables (`PGHOST`, `PGSSLMODE`, ...) are removed from every
//! child we start, so the tests and our own `psql`/`pg_ctl` calls behave the
//! same on every machine.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::bouncer::Pool;
use crate::certs::CertPaths;
use crate::roles::{self, Method, Role, ROLES};
use crate::state::State;

/// The address the server listens on.
pub const HOST: &str = "127.0.0.1";

/// Prefix of all our variables.
const PREFIX: &str = "PGWIRE_TEST_";

/// The test environment for a running cluster, in a stable order.
pub fn test_env(state: &State) -> Vec<(String, String)> {
    let certs = CertPaths::in_dir(&state.cluster_dir.join("certs"));
    let var = |name: &str, value: &dyn AsRef<OsStr>| {
        (
            format!("{PREFIX}{name}"),
            value.as_ref().to_string_lossy().into_owned(),
        )
    };
    let mut vars = vec![
        var("HOST", &HOST),
        var("PORT", &state.port.to_string()),
        var("SOCKET_DIR", &state.socket_dir),
        var("DATABASE", &roles::DATABASE),
        var("CA_CERT", &certs.ca_cert),
        var("CLIENT_CERT", &certs.client_cert),
        var("CLIENT_KEY", &certs.client_key),
        var("CLUSTER_DIR", &state.cluster_dir),
        var("SUPERUSER", &roles::SUPERUSER),
    ];
    if let Some(standby) = &state.standby {
        vars.push(var("STANDBY_PORT", &standby.port.to_string()));
        vars.push(var("STANDBY_SOCKET_DIR", &standby.socket_dir));
    }
    for pool in Pool::ALL {
        if let Some(b) = state.bouncer(pool) {
            let name = match pool {
                Pool::Transaction => "PGBOUNCER",
                Pool::Session => "PGBOUNCER_SESSION",
            };
            vars.push(var(&format!("{name}_PORT"), &b.port.to_string()));
            vars.push(var(&format!("{name}_SOCKET_DIR"), &b.socket_dir));
        }
    }
    for role in ROLES {
        vars.push(var(&format!("{}_USER", role.key), &role.name));
        vars.push(var(
            &format!("{}_PASSWORD", role.key),
            &role.password.unwrap_or(""),
        ));
    }
    vars
}

/// Whether `name` is a libpq variable (or one of ours) that must not leak
/// in from the caller's environment.
fn is_ambient_pg_var(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    // PGWIRE_* other than PGWIRE_TEST_* may be the project's own settings.
    name.starts_with(PREFIX) || (name.starts_with("PG") && !name.starts_with("PGWIRE_"))
}

/// Remove ambient `PG*` and `PGWIRE_TEST_*` variables from `cmd`'s environment.
pub fn remove_libpq_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if is_ambient_pg_var(&name) {
            cmd.env_remove(name);
        }
    }
}

/// The text `cargo xtask pg env` prints: `export` lines for the test
/// environment, then per role a connection URL and libpq variables.
pub fn render(state: &State) -> String {
    let certs = CertPaths::in_dir(&state.cluster_dir.join("certs"));
    let mut out = format!(
        "# pgwire test cluster (pid {}); load with: eval \"$(cargo xtask pg env)\"\n",
        state.pid
    );
    for (name, value) in test_env(state) {
        out += &format!("export {name}={}\n", shell_quote(&value));
    }
    for role in ROLES {
        out += &format!(
            "#\n# {} ({}{}):\n#   {}\n#   {}\n",
            role.name,
            role.method.keyword(),
            if role.ssl_only { ", TLS only" } else { "" },
            url(role, state.port, &certs),
            libpq_vars(role, state.port, &certs)
                .iter()
                .map(|(k, v)| format!("{k}={}", shell_quote(v)))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    if let Some(standby) = &state.standby {
        out += &format!(
            "#\n# standby (read-only streaming replica, pid {}): {HOST}:{}, same roles;\n\
             # both servers, e.g. for target_session_attrs:\n#   {}\n",
            standby.pid,
            standby.port,
            multi_host_url(state.port, standby.port),
        );
    }
    for b in &state.bouncers {
        out += &format!(
            "#\n# pgbouncer, {} mode (pid {}): {HOST}:{}, socket dir {}, the SCRAM role only\n",
            b.pool.name(),
            b.pid,
            b.port,
            b.socket_dir.display()
        );
    }
    out
}

/// A multi-host URL (primary first) for the password role most tests use.
fn multi_host_url(primary: u16, standby: u16) -> String {
    let role = ROLES
        .iter()
        .find(|r| r.method == Method::ScramSha256 && !r.ssl_only);
    let userinfo = match role {
        Some(Role {
            name,
            password: Some(password),
            ..
        }) => format!(
            "{}:{}@",
            percent_encode(name, false),
            percent_encode(password, false)
        ),
        _ => String::new(),
    };
    format!(
        "postgres://{userinfo}{HOST}:{primary},{HOST}:{standby}/{}?target_session_attrs=read-write",
        percent_encode(roles::DATABASE, false)
    )
}

/// The libpq variables for connecting as `role` over TCP.
pub fn libpq_vars(role: &Role, port: u16, certs: &CertPaths) -> Vec<(&'static str, String)> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut vars = vec![
        ("PGHOST", HOST.to_string()),
        ("PGPORT", port.to_string()),
        ("PGUSER", role.name.to_string()),
        ("PGPASSWORD", role.password.unwrap_or("").to_string()),
        ("PGDATABASE", roles::DATABASE.to_string()),
        ("PGSSLROOTCERT", path(&certs.ca_cert)),
    ];
    if role.method == Method::Cert {
        vars.push(("PGSSLMODE", "verify-full".to_string()));
        vars.push(("PGSSLCERT", path(&certs.client_cert)));
        vars.push(("PGSSLKEY", path(&certs.client_key)));
    } else if role.ssl_only {
        vars.push(("PGSSLMODE", "require".to_string()));
    }
    vars
}

/// A `postgres://` URL for `role`, with TLS parameters where it needs them.
pub fn url(role: &Role, port: u16, certs: &CertPaths) -> String {
    let mut userinfo = percent_encode(role.name, false);
    if let Some(password) = role.password {
        userinfo += ":";
        userinfo += &percent_encode(password, false);
    }
    let mut url = format!(
        "postgres://{userinfo}@{HOST}:{port}/{}",
        percent_encode(roles::DATABASE, false)
    );
    let query = |params: &[(&str, &Path)]| {
        params
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(&v.to_string_lossy(), true)))
            .collect::<Vec<_>>()
            .join("&")
    };
    if role.method == Method::Cert {
        url += "?sslmode=verify-full&";
        url += &query(&[
            ("sslrootcert", &certs.ca_cert),
            ("sslcert", &certs.client_cert),
            ("sslkey", &certs.client_key),
        ]);
    } else if role.ssl_only {
        url += "?sslmode=require";
    }
    url
}

/// Percent-encode everything but RFC 3986 unreserved characters (and `/`
/// when `keep_slash`, which is fine in a query and keeps paths readable).
pub fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

/// Quote `s` for a POSIX shell; plain words are left alone.
pub fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Bouncer, Standby};

    fn state() -> State {
        State {
            pid: 99,
            port: 5555,
            socket_dir: "/w/target/pgwire-cluster/socket".into(),
            cluster_dir: "/w/target/pgwire-cluster".into(),
            bindir: "/usr/lib/postgresql/15/bin".into(),
            owner_pid: 0,
            standby: None,
            bouncers: Vec::new(),
        }
    }

    fn state_with_bouncers() -> State {
        State {
            bouncers: vec![
                Bouncer {
                    pool: Pool::Transaction,
                    pid: 101,
                    port: 6432,
                    socket_dir: "/w/target/pgwire-cluster/pgbouncer/transaction-socket".into(),
                },
                Bouncer {
                    pool: Pool::Session,
                    pid: 102,
                    port: 6433,
                    socket_dir: "/tmp/pgwire-6433".into(),
                },
            ],
            ..state()
        }
    }

    fn state_with_standby() -> State {
        State {
            standby: Some(Standby {
                pid: 100,
                port: 5556,
                socket_dir: "/w/target/pgwire-cluster/standby-socket".into(),
            }),
            ..state()
        }
    }

    fn get<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("scram-secret", false), "scram-secret");
        assert_eq!(
            percent_encode("p@ss:w/rd?#%é", false),
            "p%40ss%3Aw%2Frd%3F%23%25%C3%A9"
        );
        assert_eq!(percent_encode("a b+c~d", false), "a%20b%2Bc~d");
        assert_eq!(percent_encode("/x y/ca.crt", true), "/x%20y/ca.crt");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/usr/lib/x"), "/usr/lib/x");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn env_has_every_documented_variable() {
        let vars = test_env(&state());
        assert_eq!(get(&vars, "PGWIRE_TEST_HOST"), Some("127.0.0.1"));
        assert_eq!(get(&vars, "PGWIRE_TEST_PORT"), Some("5555"));
        assert_eq!(
            get(&vars, "PGWIRE_TEST_SOCKET_DIR"),
            Some("/w/target/pgwire-cluster/socket")
        );
        assert_eq!(get(&vars, "PGWIRE_TEST_DATABASE"), Some("pgwire_test"));
        assert_eq!(
            get(&vars, "PGWIRE_TEST_CA_CERT"),
            Some("/w/target/pgwire-cluster/certs/ca.crt")
        );
        assert_eq!(
            get(&vars, "PGWIRE_TEST_CLIENT_CERT"),
            Some("/w/target/pgwire-cluster/certs/client.crt")
        );
        assert_eq!(
            get(&vars, "PGWIRE_TEST_CLIENT_KEY"),
            Some("/w/target/pgwire-cluster/certs/client.key")
        );
        assert_eq!(
            get(&vars, "PGWIRE_TEST_CLUSTER_DIR"),
            Some("/w/target/pgwire-cluster")
        );
        assert_eq!(get(&vars, "PGWIRE_TEST_SUPERUSER"), Some("postgres"));
        let roles = [
            ("TRUST", "pgwire_trust", ""),
            ("PASSWORD", "pgwire_password", "cleartext-secret"),
            ("MD5", "pgwire_md5", "md5-secret"),
            ("SCRAM", "pgwire_scram", "scram-secret"),
            ("SSL", "pgwire_ssl", "ssl-secret"),
            ("CERT", "pgwire_cert", ""),
        ];
        for (key, user, password) in roles {
            assert_eq!(get(&vars, &format!("PGWIRE_TEST_{key}_USER")), Some(user));
            assert_eq!(
                get(&vars, &format!("PGWIRE_TEST_{key}_PASSWORD")),
                Some(password)
            );
        }
        assert_eq!(vars.len(), 9 + 2 * roles.len());
        // No standby, no standby variables (tests skip standby cases).
        assert!(vars.iter().all(|(k, _)| !k.contains("STANDBY")));
    }

    #[test]
    fn env_describes_the_standby() {
        let vars = test_env(&state_with_standby());
        assert_eq!(get(&vars, "PGWIRE_TEST_STANDBY_PORT"), Some("5556"));
        assert_eq!(
            get(&vars, "PGWIRE_TEST_STANDBY_SOCKET_DIR"),
            Some("/w/target/pgwire-cluster/standby-socket")
        );
        // The primary's variables are unchanged.
        assert_eq!(get(&vars, "PGWIRE_TEST_PORT"), Some("5555"));
        assert_eq!(vars.len(), test_env(&state()).len() + 2);
    }

    #[test]
    fn env_describes_pgbouncer() {
        let vars = test_env(&state_with_bouncers());
        assert_eq!(get(&vars, "PGWIRE_TEST_PGBOUNCER_PORT"), Some("6432"));
        assert_eq!(
            get(&vars, "PGWIRE_TEST_PGBOUNCER_SOCKET_DIR"),
            Some("/w/target/pgwire-cluster/pgbouncer/transaction-socket")
        );
        assert_eq!(
            get(&vars, "PGWIRE_TEST_PGBOUNCER_SESSION_PORT"),
            Some("6433")
        );
        assert_eq!(
            get(&vars, "PGWIRE_TEST_PGBOUNCER_SESSION_SOCKET_DIR"),
            Some("/tmp/pgwire-6433")
        );
        assert_eq!(get(&vars, "PGWIRE_TEST_PORT"), Some("5555"));
        assert_eq!(vars.len(), test_env(&state()).len() + 4);
        // Without PgBouncer, no PgBouncer variables.
        assert!(test_env(&state())
            .iter()
            .all(|(k, _)| !k.contains("PGBOUNCER")));
        let text = render(&state_with_bouncers());
        assert!(text.contains("\nexport PGWIRE_TEST_PGBOUNCER_SESSION_PORT=6433\n"));
        assert!(text.contains("# pgbouncer, transaction mode (pid 101): 127.0.0.1:6432"));
        assert!(text
            .lines()
            .all(|l| l.starts_with('#') || l.starts_with("export PGWIRE_TEST_")));
    }

    #[test]
    fn rendered_env_with_standby() {
        let text = render(&state_with_standby());
        assert!(text.contains("\nexport PGWIRE_TEST_STANDBY_PORT=5556\n"));
        assert!(text.contains(
            "\nexport PGWIRE_TEST_STANDBY_SOCKET_DIR=/w/target/pgwire-cluster/standby-socket\n"
        ));
        assert!(text.contains(
            "#   postgres://pgwire_scram:scram-secret@127.0.0.1:5555,127.0.0.1:5556/pgwire_test\
             ?target_session_attrs=read-write\n"
        ));
        assert!(text
            .lines()
            .all(|l| l.starts_with('#') || l.starts_with("export PGWIRE_TEST_")));
        assert!(!render(&state()).contains("STANDBY"));
    }

    #[test]
    fn rendered_env() {
        let text = render(&state());
        assert!(text.contains("\nexport PGWIRE_TEST_PORT=5555\n"));
        assert!(text.contains("\nexport PGWIRE_TEST_TRUST_PASSWORD=''\n"));
        assert!(text.contains("#   postgres://pgwire_md5:md5-secret@127.0.0.1:5555/pgwire_test\n"));
        assert!(text.contains("#   postgres://pgwire_trust@127.0.0.1:5555/pgwire_test\n"));
        assert!(text.contains(
            "postgres://pgwire_ssl:ssl-secret@127.0.0.1:5555/pgwire_test?sslmode=require"
        ));
        assert!(text.contains(
            "postgres://pgwire_cert@127.0.0.1:5555/pgwire_test?sslmode=verify-full&sslrootcert=/w/target/pgwire-cluster/certs/ca.crt&"
        ));
        assert!(text.contains(
            "#   PGHOST=127.0.0.1 PGPORT=5555 PGUSER=pgwire_scram PGPASSWORD=scram-secret \
             PGDATABASE=pgwire_test PGSSLROOTCERT=/w/target/pgwire-cluster/certs/ca.crt\n"
        ));
        // Every non-comment line is an export, so `eval` is safe.
        assert!(text
            .lines()
            .all(|l| l.starts_with('#') || l.starts_with("export PGWIRE_TEST_")));
    }

    #[test]
    fn ambient_variables_are_recognised() {
        for name in [
            "PGHOST",
            "PGSSLMODE",
            "PGPASSWORD",
            "PGDATA",
            "PGWIRE_TEST_PORT",
        ] {
            assert!(is_ambient_pg_var(OsStr::new(name)), "{name}");
        }
        for name in ["PATH", "HOME", "PGWIRE_LOG", "CARGO_PG"] {
            assert!(!is_ambient_pg_var(OsStr::new(name)), "{name}");
        }
    }
}
