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
//!     println!("{:?} {:?}", row.text(0)?, row.text(1)?);
//! }
//! conn.close().await?;
//! # Ok(()) }
//! ```

mod connection;
mod error;
mod open;
mod options;
mod params;
mod portal;
mod query;
mod socket;
mod statement;
mod status;
mod stream;
mod transaction;

#[cfg(test)]
mod tests;

pub use connection::Connection;
pub use error::{Error, Result};
pub use open::{open_socket_with, open_with, unix_unsupported};
pub use options::{ConnectOptions, Host, DEFAULT_PORT};
pub use params::{Named, Params};
pub use portal::Portal;
pub use query::StatementResult;
pub use socket::Socket;
pub use statement::{PreparedStatementInfo, Query};
pub use status::NoticeHandler;
pub use stream::{EventStream, RowStream};
pub use transaction::Transaction;

pub use pgwire_proto::params::ParamError;
pub use pgwire_proto::types::{FromSql, Oid, ToSql, TypeError};
pub use pgwire_proto::{
    AuthError, BackendKey, ColumnError, CommandComplete, DatabaseError, ErrorFields, Event,
    FieldDescription, Format, Notice, Notification, ProtocolError, Row, RowDescription, SqlState,
    TransactionStatus,
};
