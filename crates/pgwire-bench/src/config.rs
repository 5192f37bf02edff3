//! Where the server is: the `PGWIRE_TEST_*` variables `cargo xtask bench`
//! sets (the same ones `cargo xtask pg env` prints for a running cluster).

use std::path::PathBuf;

use pgwire_conn::{ConnectOptions, SslMode};

use crate::BResult;

/// How to reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Unix,
}

/// The cluster's coordinates and the roles the benchmarks use.
#[derive(Debug, Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub socket_dir: String,
    pub database: String,
    /// A `trust` role: the workload cases measure queries, not auth.
    pub user: String,
    /// The SCRAM-SHA-256 role, for the connection-setup case.
    pub scram_user: String,
    pub scram_password: String,
    /// The transaction-mode PgBouncer's port (`PGWIRE_TEST_PGBOUNCER_PORT`),
    /// when one runs; it takes the SCRAM role only.
    pub bouncer_port: Option<u16>,
    /// pgbench of the server's own installation, when xtask found it.
    pub pgbench: Option<PathBuf>,
}

fn var(name: &str) -> BResult<String> {
    std::env::var(name).map_err(|_| {
        format!(
            "{name} is not set: run the benchmarks with `cargo xtask bench`, or load a running \
             cluster's environment with `eval \"$(cargo xtask pg env)\"`"
        )
        .into()
    })
}

impl Server {
    pub fn from_env() -> BResult<Self> {
        let port = var("PGWIRE_TEST_PORT")?;
        Ok(Server {
            host: var("PGWIRE_TEST_HOST")?,
            port: port
                .parse()
                .map_err(|_| format!("PGWIRE_TEST_PORT={port:?} is not a port"))?,
            socket_dir: var("PGWIRE_TEST_SOCKET_DIR")?,
            database: var("PGWIRE_TEST_DATABASE")?,
            user: var("PGWIRE_TEST_TRUST_USER")?,
            scram_user: var("PGWIRE_TEST_SCRAM_USER")?,
            scram_password: var("PGWIRE_TEST_SCRAM_PASSWORD")?,
            bouncer_port: match std::env::var("PGWIRE_TEST_PGBOUNCER_PORT") {
                Ok(p) => Some(
                    p.parse()
                        .map_err(|_| format!("PGWIRE_TEST_PGBOUNCER_PORT={p:?} is not a port"))?,
                ),
                Err(_) => None,
            },
            pgbench: std::env::var_os("PGWIRE_BENCH_PGBENCH").map(PathBuf::from),
        })
    }

    fn address(&self, transport: Transport) -> &str {
        match transport {
            Transport::Tcp => &self.host,
            Transport::Unix => &self.socket_dir,
        }
    }

    /// pgwire options for the trust role.
    pub fn pgwire(&self, transport: Transport) -> ConnectOptions {
        ConnectOptions::new(self.address(transport), self.user.as_str())
            .port(self.port)
            .database(self.database.as_str())
            .ssl_mode(SslMode::Disable)
    }

    /// pgwire options for the SCRAM role, over TCP.
    pub fn pgwire_scram(&self) -> ConnectOptions {
        ConnectOptions::new(&self.host, self.scram_user.as_str())
            .port(self.port)
            .password(self.scram_password.as_str())
            .database(self.database.as_str())
            .ssl_mode(SslMode::Disable)
    }

    fn bouncer(&self) -> BResult<u16> {
        self.bouncer_port.ok_or_else(|| {
            "no PgBouncer: PGWIRE_TEST_PGBOUNCER_PORT is not set (cargo xtask bench starts one \
             unless PGWIRE_XTASK_NO_PGBOUNCER is set)"
                .into()
        })
    }

    /// pgwire options for the SCRAM role through the transaction-mode
    /// PgBouncer, in unnamed mode (`pgbouncer=true`).
    pub fn pgwire_bouncer(&self) -> BResult<ConnectOptions> {
        Ok(self.pgwire_scram().port(self.bouncer()?).pgbouncer(true))
    }

    /// tokio-postgres configuration for the SCRAM role through the
    /// transaction-mode PgBouncer.
    pub fn tokio_postgres_bouncer(&self) -> BResult<tokio_postgres::Config> {
        // Built afresh: `Config::port` adds a port, it does not replace one.
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.bouncer()?)
            .user(&self.scram_user)
            .password(&self.scram_password)
            .dbname(&self.database)
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        Ok(config)
    }

    /// tokio-postgres configuration for the trust role.
    pub fn tokio_postgres(&self, transport: Transport) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(self.address(transport))
            .port(self.port)
            .user(&self.user)
            .dbname(&self.database)
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        config
    }

    /// tokio-postgres configuration for the SCRAM role, over TCP.
    pub fn tokio_postgres_scram(&self) -> tokio_postgres::Config {
        let mut config = self.tokio_postgres(Transport::Tcp);
        config.user(&self.scram_user).password(&self.scram_password);
        config
    }
}
