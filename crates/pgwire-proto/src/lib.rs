//! # pgwire-proto
//!
//! The PostgreSQL frontend/backend protocol (version 3.0) as a pure state
//! machine: no sockets, no async, no runtime. Bytes go in, typed events come
//! out, and bytes to send pile up in an output buffer. Runtimes, proxies, test
//! harnesses and blocking code drive it the same way.
//!
//! The driver loop has one rule: **after any input, drain events until
//! `next_event` returns `None`, then write all output**.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use pgwire_proto::{Event, Machine, StartupConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut sock = TcpStream::connect("127.0.0.1:5432")?;
//! let mut m = Machine::new();
//! m.start(&StartupConfig::new("postgres").password("secret"))?;
//!
//! // Drive one exchange until ReadyForQuery, printing rows.
//! fn drive(m: &mut Machine, sock: &mut TcpStream) -> Result<(), Box<dyn std::error::Error>> {
//!     loop {
//!         sock.write_all(m.output())?;
//!         let n = m.output().len();
//!         m.consume_output(n);
//!         while let Some(event) = m.next_event()? {
//!             match event {
//!                 Event::Row(row) => println!("{row:?}"),
//!                 Event::Error(e) => eprintln!("server error: {e}"),
//!                 Event::ReadyForQuery(_) => return Ok(()),
//!                 _ => {}
//!             }
//!         }
//!         sock.write_all(m.output())?; // answers queued while decoding (auth)
//!         let n = m.output().len();
//!         m.consume_output(n);
//!         let read = sock.read(m.receive_buffer())?;
//!         if read == 0 { m.receive_eof() } else { m.commit_received(read) }
//!     }
//! }
//! drive(&mut m, &mut sock)?;
//! m.simple_query("select 1 as one")?;
//! drive(&mut m, &mut sock)?;
//! m.terminate()?;
//! sock.write_all(m.output())?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod encoding;
pub mod error;
pub mod machine;
pub mod message;
pub mod params;
pub mod row;
mod sqlstate;
pub mod startup;
pub mod types;
mod version;

#[cfg(test)]
mod tests;

pub use error::{AuthError, DatabaseError, Error, ErrorFields, Notice, ProtocolError, SqlState};
pub use machine::{BackendKey, Event, Machine, RequestId};
pub use message::backend::{CommandComplete, CopyResponse, Notification, TransactionStatus};
pub use row::{compact_rows, ColumnError, FieldDescription, Format, Row, RowDescription};
pub use startup::{AuthMechanism, AuthMethods, StartupConfig};
pub use types::{FromSql, Oid, ToSql};
pub use version::{ProtocolVersion, ProtocolVersionError, UnknownProtocolVersion};
