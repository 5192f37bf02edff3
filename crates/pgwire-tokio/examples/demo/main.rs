//! The `cargo xtask demo` program: what pgwire does, in the order a service
//! meets it. A pool (the place to start), one connection shared by many
//! tasks, a transaction, a large result streamed, a statement cancelled
//! past its time limit, an SQL error that leaves the connection usable,
//! pipelines and execute_many, COPY in and out, LISTEN/NOTIFY.
//!
//! It is configured the way libpq is: from the PG* environment variables
//! (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ...).

mod data;
mod pooled;
mod shared;
mod table;

use std::time::Instant;

use pgwire_tokio::{open_database_connection, ConnectOptions};

/// Milliseconds since `started`, for the lines that say how long things took.
pub fn ms(started: Instant) -> u128 {
    started.elapsed().as_millis()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = ConnectOptions::from_env()?.application_name("pgwire-demo");
    let conn = open_database_connection(&options).await?;
    let params = conn.connection_parameters();
    println!(
        "connected to {} as {}: PostgreSQL {}, {}, authenticated by {}",
        options.describe_target(),
        options.user(),
        params.get("server_version").map_or("?", String::as_str),
        if conn.is_encrypted() {
            format!("TLS (sslmode {})", options.get_ssl_mode())
        } else {
            "no TLS".to_owned()
        },
        conn.authentication()
            .map_or("?".to_owned(), |a| a.to_string()),
    );
    pooled::run(&options).await?;
    let conn = std::sync::Arc::new(conn);
    shared::run(&conn).await?;
    data::run(&conn, &options).await?;
    conn.close().await?;
    println!("\ndone: every answer checked, the connection and the pool closed cleanly");
    Ok(())
}
