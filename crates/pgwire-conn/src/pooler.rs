//! Finding a connection pooler when the connection opens.
//!
//! Behind a pooler in transaction mode (PgBouncer's `pool_mode =
//! transaction`) each request may run on another server session, so a
//! statement prepared by one request may be missing, or someone else's,
//! for the next. Waiting for the first `26000` to notice means that request
//! fails (inside a transaction it cannot be retried), so the connection
//! looks before its first statement. A pooler answers the startup with a
//! cancel key of its own (it must route the CancelRequest itself), whose
//! process ID is not the server backend's; directly connected, the two
//! are the same.

use futures_io::{AsyncRead, AsyncWrite};

use crate::connection::Connection;
use crate::error::{Error, Result};

/// Compares the startup's backend key with the server's
/// `pg_backend_pid()`; when they differ, turns the statement cache off
/// (logged once). A server that sent no key, or that cannot answer the
/// query with a pid, proves nothing and changes nothing.
pub(crate) async fn probe<S>(conn: &Connection<S>) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(key) = conn.backend_key() else {
        return Ok(());
    };
    // The simple protocol: nothing is prepared, and the request is whole
    // within one Sync whichever server session runs it.
    let results = match conn.simple_query("select pg_backend_pid()").await {
        Ok(results) => results,
        // A server that speaks the protocol without the function (some
        // PostgreSQL-compatible databases) proves nothing either way.
        Err(Error::Database(e)) if e.is_recoverable() => {
            log::debug!(target: "pgwire::statements", "no pooler check: {e}");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let Some(row) = results.first().and_then(|r| r.rows.first()) else {
        return Ok(());
    };
    let Ok(backend) = row.try_get::<i32>(0) else {
        return Ok(());
    };
    if backend != key.process_id {
        conn.pooler_found();
        log::info!(
            target: "pgwire::statements",
            "the cancel key's process ID ({}) is not the server backend's ({backend}): a connection \
             pooler is in between, so statements run unnamed (statement_cache_capacity=0); set \
             pgbouncer=false to keep named statements (PgBouncer in session mode) or \
             pgbouncer_detect=false to skip this check",
            key.process_id
        );
    }
    Ok(())
}
