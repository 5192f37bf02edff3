//! Every error with something underneath: `{}` says its own part, the
//! `source()` chain says the rest, and no layer repeats another.

use std::io;

use pgwire_proto::auth::scram::ScramError;
use pgwire_proto::params::ParamError;
use pgwire_proto::types::{oid, TypeError};
use pgwire_proto::{AuthError, ColumnError, DatabaseError, ErrorFields, ProtocolError, SqlState};

use super::Error;
use crate::tls::TlsError;

/// The chain as anyhow's `{:#}` prints it.
fn report(error: &dyn std::error::Error) -> String {
    super::full_text(error)
}

/// Each error of the chain, outermost first.
fn layers(error: &dyn std::error::Error) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut next = error.source();
    while let Some(e) = next {
        out.push(e.to_string());
        next = e.source();
    }
    out
}

#[track_caller]
fn check(error: &dyn std::error::Error, display: &str, chain: &str) {
    assert_eq!(error.to_string(), display);
    assert_eq!(report(error), chain);
    let layers = layers(error);
    for (i, outer) in layers.iter().enumerate() {
        for inner in &layers[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{outer:?} repeats {inner:?}"
            );
        }
    }
}

fn unique_violation() -> DatabaseError {
    let mut fields = ErrorFields::default();
    fields.severity = "ERROR".into();
    fields.code = Some(SqlState::UNIQUE_VIOLATION);
    fields.message = "duplicate key value violates unique constraint \"t_pkey\"".into();
    fields.detail = Some("Key (id)=(1) already exists.".into());
    DatabaseError::new(fields)
}

#[test]
fn wrappers_are_transparent() {
    let db = "ERROR 23505: duplicate key value violates unique constraint \"t_pkey\" \
              (detail: Key (id)=(1) already exists.)";
    check(&Error::Database(unique_violation()), db, db);
    let scram = "SCRAM server signature mismatch: the server could not prove it knows the password";
    check(
        &Error::Auth(AuthError::Scram(ScramError::SignatureMismatch)),
        scram,
        scram,
    );
    check(
        &AuthError::Scram(ScramError::SignatureMismatch),
        scram,
        scram,
    );
    let eof = "the server closed the connection unexpectedly";
    check(&Error::Protocol(ProtocolError::UnexpectedEof), eof, eof);
    let io = io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed");
    check(&Error::Io(io), "pipe closed", "pipe closed");
    let missing = "no value for parameter :x";
    check(
        &Error::Params(ParamError::MissingValue("x".into())),
        missing,
        missing,
    );
    let Err(options) = crate::ConnectOptions::parse("sslmode=sometimes") else {
        panic!("accepted sslmode=sometimes");
    };
    let bad = "invalid sslmode \"sometimes\" (expected disable, allow, prefer, require, \
               verify-ca or verify-full)";
    check(&Error::Config(options), bad, bad);
    check(
        &Error::Tls(TlsError::Refused),
        "the server does not accept TLS connections",
        "the server does not accept TLS connections",
    );
}

#[test]
fn layers_with_facts_of_their_own_chain_to_the_cause() {
    let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    check(
        &Error::Connect {
            address: "127.0.0.1:1".into(),
            source: refused,
        },
        "could not connect to 127.0.0.1:1",
        "could not connect to 127.0.0.1:1: connection refused",
    );
    let handshake = io::Error::new(
        io::ErrorKind::InvalidData,
        "invalid peer certificate: UnknownIssuer",
    );
    check(
        &Error::Tls(TlsError::Handshake(handshake)),
        "TLS handshake failed",
        "TLS handshake failed: invalid peer certificate: UnknownIssuer",
    );
    let column = ColumnError::Decode {
        index: 2,
        column: "name".into(),
        source: TypeError::WrongType {
            pg_type: oid::INT4,
            rust_type: "alloc::string::String",
        },
    };
    let chain = "cannot decode column 2 (\"name\"): cannot convert between PostgreSQL type \
                 int4 and Rust type alloc::string::String";
    check(&column, "cannot decode column 2 (\"name\")", chain);
    check(
        &Error::Column(column),
        "cannot decode column 2 (\"name\")",
        chain,
    );
    let range = TypeError::OutOfRange {
        pg_type: oid::INT2,
        rust_type: "i32",
    };
    let chain = "cannot encode parameter $1: value out of range converting between PostgreSQL \
                 type int2 and Rust type i32";
    check(
        &Error::Encode {
            index: 0,
            source: range.clone(),
        },
        "cannot encode parameter $1",
        chain,
    );
    check(
        &pgwire_proto::Error::Encode {
            index: 0,
            source: range,
        },
        "cannot encode parameter $1",
        chain,
    );
}

#[test]
fn both_attempts_say_each_error_once() {
    let handshake = io::Error::new(
        io::ErrorKind::InvalidData,
        "invalid peer certificate: UnknownIssuer",
    );
    let both = Error::BothAttempts {
        tls_first: true,
        first: Box::new(Error::Tls(TlsError::Handshake(handshake))),
        second: Box::new(Error::Database(unique_violation())),
    };
    check(
        &both,
        "with TLS: TLS handshake failed: invalid peer certificate: UnknownIssuer; \
         then without TLS",
        "with TLS: TLS handshake failed: invalid peer certificate: UnknownIssuer; \
         then without TLS: ERROR 23505: duplicate key value violates unique constraint \
         \"t_pkey\" (detail: Key (id)=(1) already exists.)",
    );
}

#[test]
fn the_protocol_layer_says_its_part_once() {
    let mut fields = ErrorFields::default();
    fields.severity = "FATAL".into();
    fields.code = Some(SqlState::ADMIN_SHUTDOWN);
    fields.message = "terminating connection due to administrator command".into();
    let fatal = DatabaseError::new(fields);
    check(
        &pgwire_proto::Error::SessionEnded(fatal.clone()),
        "the server ended the session",
        "the server ended the session: FATAL 57P01: terminating connection due to administrator command",
    );
    // The connection API has no separate variant: a FATAL error is a
    // database error that says so.
    let text = "FATAL 57P01: terminating connection due to administrator command";
    check(
        &Error::from(pgwire_proto::Error::SessionEnded(fatal)),
        text,
        text,
    );
    let eof = "the server closed the connection unexpectedly";
    check(
        &pgwire_proto::Error::Protocol(ProtocolError::UnexpectedEof),
        eof,
        eof,
    );
    let scram = "SCRAM exchange method called out of order";
    check(
        &pgwire_proto::Error::Auth(AuthError::Scram(ScramError::WrongState)),
        scram,
        scram,
    );
}
