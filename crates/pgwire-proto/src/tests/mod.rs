//! Transcript tests of the machine: bytes the server sends, the events
//! expected, and the bytes the client must answer with.

mod server;
mod startup;
mod simple_query;
mod robustness;
