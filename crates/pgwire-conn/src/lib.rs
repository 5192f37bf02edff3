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

mod cancel;
mod connection;
mod error;
mod methods;
mod negotiate;
mod open;
mod options;
mod params;
mod portal;
mod query;
mod session;
mod socket;
mod statement;
mod statements;
mod status;
mod stream;
mod timeout;
mod tls;
mod transaction;
mod type_registry;

#[cfg(test)]
mod direct_tls_tests;
#[cfg(test)]
mod tests;

pub use cancel::{cancel_with, CancelToken};
pub use connection::{Connection, MemoryUsage};
pub use error::{Error, Result};
/// rustls, as used by this crate (for [`ConnectOptions::tls_config`]).
pub use futures_rustls::rustls;
pub use open::{open_with, unix_unsupported, Opened};
pub use options::{
    AuthMethod, ChannelBindingMode, ConnectOptions, Host, HostSpec, LoadBalanceHosts, OptionsError,
    RequireAuth, SslMode, SslNegotiation, SslRootCert, TargetSessionAttrs, DEFAULT_PORT,
};
pub use params::{Named, Params};
pub use portal::Portal;
pub use query::StatementResult;
pub use socket::Socket;
pub use statement::{PreparedStatementInfo, Query};
pub use statements::{StatementCacheStats, DEFAULT_STATEMENT_CACHE_CAPACITY};
pub use status::NoticeHandler;
pub use stream::{EventStream, RowStream};
pub use timeout::{BoxFuture, RuntimeHooks, TimeoutOutcome};
pub use tls::{MaybeTls, TlsError};
pub use transaction::Transaction;

pub use pgwire_proto::params::ParamError;
pub use pgwire_proto::types::{
    self, Array, FromSql, Inet, Infinite, Interval, Json, Numeric, Oid, Range, TimeTz, ToSql,
    TypeError, TypeKind, TypeRegistry, Value,
};
pub use pgwire_proto::{
    AuthError, BackendKey, ColumnError, CommandComplete, DatabaseError, ErrorFields, Event,
    FieldDescription, Format, Notice, Notification, ProtocolError, Row, RowDescription, SqlState,
    TransactionStatus,
};
