//! # pgwire-conn
//!
//! An asynchronous PostgreSQL connection that runs on any executor: it is
//! generic over a [futures-io](futures_io) `AsyncRead + AsyncWrite` stream and
//! drives the sans-IO [`pgwire_proto::Machine`]. The runtime adapters
//! (`pgwire-tokio`, `pgwire-smol`, `pgwire-async-std`) open sockets and hand
//! them here; embedders with their own transport call
//! [`Connection::connect`] directly.
//!
//! ```no_run
//! # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(stream: S) -> pgwire_conn::Result<()> {
//! use pgwire_conn::{ConnectOptions, Connection};
//! let options = ConnectOptions::new("127.0.0.1", "postgres").password("secret");
//! let conn = Connection::connect(stream, &options).await?;
//! for row in conn.fetch("select 1 as one, 'two' as two", ()).await? {
//!     let (one, two): (i32, &str) = (row.try_get(0)?, row.try_get(1)?);
//!     println!("{one} {two}");
//! }
//! conn.close().await?;
//! # Ok(()) }
//! ```
//!
//! ## Sharing one connection
//!
//! Every method takes `&self`; share a connection between tasks with an
//! `Arc`. Requests are pipelined: each goes out whole while earlier answers
//! are still coming, and each task reads its own answers in turn, with no
//! background task. The rules (see [`Connection`] for more):
//!
//! - A stream holds the connection only while it is being polled; queries
//!   sent before it are answered whether or not it is read.
//! - A [`Transaction`] reserves the session: its own queries go ahead,
//!   everyone else's wait for it to end and then run outside it. Give
//!   transactions that must run in parallel connections of their own.
//! - Nothing ever waits for its own task: where that would happen (a task
//!   sends outside the transaction it holds, or waits for a later answer
//!   while an unread stream of its own exceeds the read-ahead limit) the call
//!   fails with [`Error::WouldDeadlock`].
//! - Any future may be dropped at any await point: the connection stays
//!   correct, a dropped transaction is rolled back at once, and a dropped
//!   query still running is cancelled on the server by the next request when
//!   that cannot hit anyone else's query.
//! - Time limits ([`Query::timeout`], [`Connection::set_default_timeout`])
//!   cancel on the server under the same rule and fail with
//!   [`Error::QueryTimeout`], which says what became of the statement.
//!
//! ## Behind a connection pooler
//!
//! Statements are prepared once per connection and cached, under names
//! unique to the connection. Behind a pooler in transaction mode
//! (PgBouncer's `pool_mode = transaction`) named statements cannot
//! survive, so the connection checks when it opens whether a pooler stands
//! in between (its cancel key is not the backend's) and then runs every
//! statement unnamed, each request whole within one Sync. Say it
//! explicitly with `pgbouncer=true` (or `statement_cache_capacity=0`);
//! keep named statements with `pgbouncer=false` (session pooling); see
//! [`ConnectOptions::pgbouncer_detect`].
//!
//! The internals follow the same layering: `session/` is the core (the
//! lock, the pump between machine and stream, the ledger of whose answers
//! come next, reservations, owed work, the cancel fence); the statement
//! cache, the query API, transactions and portals sit on top of it.

mod cancel;
mod connection;
mod copy;
mod error;
mod from_row;
mod listener;
mod methods;
mod negotiate;
mod notifications;
mod observe;
mod open;
mod options;
mod params;
mod pipeline;
mod pool;
mod pooler;
mod portal;
mod query;
mod reconnect;
mod reserved;
mod session;
mod socket;
mod statement;
mod statements;
mod status;
mod stream;
mod tcp;
mod timeout;
mod tls;
mod transaction;
mod type_registry;

#[cfg(test)]
mod channel_binding_tests;
#[cfg(test)]
mod direct_tls_tests;
#[cfg(test)]
mod tests;

pub use cancel::{cancel_with, CancelToken};
pub use connection::{Connection, MemoryUsage};
pub use copy::{BinaryCopyInWriter, BinaryCopyOutRow, BinaryCopyOutStream, CopyIn, CopyOut};
pub use error::{Error, Result};
#[doc(hidden)]
pub use from_row::__derive;
pub use from_row::{FromRow, TypedRowStream};
/// rustls, as used by this crate (for [`ConnectOptions::tls_config`]).
pub use futures_rustls::rustls;
pub use listener::{Listener, ListenerEvent};
pub use notifications::Notifications;
pub use open::{open_with, unix_unsupported, Connector, Opened};
pub use options::{
    AuthMethod, ChannelBindingMode, ConnectOptions, Host, HostSpec, LoadBalanceHosts, OptionsError,
    RequireAuth, SslMode, SslNegotiation, SslRootCert, TargetSessionAttrs, DEFAULT_PORT,
};
pub use params::{Named, Params};
/// `#[derive(FromRow)]`, `#[derive(ToSql)]`, `#[derive(FromSql)]`: see
/// [`FromRow`] and the [`pgwire_derive`] crate.
#[cfg(feature = "derive")]
pub use pgwire_derive::{FromRow, FromSql, ToSql};
pub use pipeline::{Pipeline, PipelineResults, PipelineSync, StatementRows};
pub use pool::{
    Pool, PoolOptions, PoolStats, PooledConnection, PooledRowStream, PooledTransaction,
};
pub use portal::Portal;
pub use query::StatementResult;
pub use socket::Socket;
pub use statement::{PreparedStatementInfo, Query};
pub use statements::{StatementCacheStats, DEFAULT_STATEMENT_CACHE_CAPACITY};
pub use status::NoticeHandler;
pub use stream::{EventStream, RowStream};
pub use tcp::TcpSettings;
pub use timeout::{BoxFuture, RuntimeHooks, TimeoutOutcome};
pub use tls::{MaybeTls, TlsError};
pub use transaction::Transaction;

pub use pgwire_proto::params::ParamError;
pub use pgwire_proto::types::{
    self, Array, FromSql, Inet, Infinite, Int2Vector, Interval, Json, MacAddr, MacAddr8, Numeric,
    Oid, OidVector, PgLsn, Range, RawJson, TimeTz, ToSql, TypeError, TypeKind, TypeRegistry, Value,
};
pub use pgwire_proto::{
    AuthError, AuthMechanism, BackendKey, ColumnError, CommandComplete, CopyResponse,
    DatabaseError, ErrorFields, Event, FieldDescription, Format, Notice, Notification,
    ProtocolError, ProtocolVersion, ProtocolVersionError, Row, RowDescription, SqlState,
    TransactionStatus, UnknownProtocolVersion,
};
