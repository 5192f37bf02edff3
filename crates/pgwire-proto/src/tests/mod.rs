//! Transcript tests of the machine: bytes the server sends, the events
//! expected, and the bytes the client must answer with.

mod batch;
mod copy;
mod encoding;
mod extended;
mod memory;
mod protocol_version;
mod registered;
mod robustness;
mod server;
mod short;
mod simple_query;
mod startup;
