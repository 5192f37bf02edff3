//! Protocol 3.2 against a scripted server: what the connection reports
//! after each way startup can go, including what PostgreSQL 15 cannot do
//! (a too-long key, a refusal by error).

use pgwire_proto::{ProtocolVersion, ProtocolVersionError, SqlState, StartupConfig};

use super::{block_on, msg, FakeStream};
use crate::{Connection, Error};

fn negotiate_3_0() -> Vec<u8> {
    msg(b'v', &[0, 3, 0, 0, 0, 0, 0, 0])
}

fn key(len: usize) -> Vec<u8> {
    let mut body = 42i32.to_be_bytes().to_vec();
    body.extend((0..len).map(|i| i as u8));
    msg(b'K', &body)
}

fn connect(
    config: &StartupConfig,
    answer: &[Vec<u8>],
) -> (Result<Connection<FakeStream>, Error>, Vec<u8>) {
    let stream = FakeStream::with_write_limit(super::WRITE_LIMIT);
    stream.send(&answer.concat());
    let conn = block_on(Connection::connect_with(stream.clone(), config));
    (conn, stream.written())
}

fn latest() -> StartupConfig {
    StartupConfig::new("u").max_protocol_version(ProtocolVersion::LATEST)
}

fn ok_with_key(len: usize) -> Vec<Vec<u8>> {
    vec![msg(b'R', &[0, 0, 0, 0]), key(len), msg(b'Z', b"I")]
}

#[test]
fn a_3_2_session_reports_3_2_and_keeps_the_long_key() {
    let (conn, written) = connect(&latest(), &ok_with_key(32));
    let conn = conn.unwrap();
    assert_eq!(written[4..8], [0, 3, 0, 2]);
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3_2);
    let key = conn.backend_key().unwrap();
    assert_eq!(key.process_id, 42);
    assert_eq!(key.secret_key(), (0..32).collect::<Vec<u8>>());
}

#[test]
fn the_default_asks_for_3_0() {
    let (conn, written) = connect(&StartupConfig::new("u"), &ok_with_key(4));
    assert_eq!(written[4..8], [0, 3, 0, 0]);
    assert_eq!(conn.unwrap().protocol_version(), ProtocolVersion::V3_0);
}

#[test]
fn a_server_negotiating_3_0_gives_a_3_0_session() {
    let mut answer = vec![negotiate_3_0()];
    answer.extend(ok_with_key(4));
    let (conn, _) = connect(&latest(), &answer);
    let conn = conn.unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3_0);
    assert_eq!(conn.backend_key().unwrap().secret_key().len(), 4);
}

#[test]
fn below_min_is_a_typed_error() {
    let config = latest().min_protocol_version(ProtocolVersion::V3_2);
    let mut answer = vec![negotiate_3_0()];
    answer.extend(ok_with_key(4));
    let (conn, _) = connect(&config, &answer);
    match conn {
        Err(Error::ProtocolVersion(ProtocolVersionError::BelowMinimum { server, min })) => {
            assert_eq!(
                (server, min),
                (ProtocolVersion::V3_0, ProtocolVersion::V3_2)
            );
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("connected below the minimum"),
    }
}

#[test]
fn a_32_byte_key_under_3_0_is_a_protocol_error() {
    let (conn, _) = connect(&StartupConfig::new("u"), &ok_with_key(32));
    assert!(matches!(
        conn,
        Err(Error::Protocol(
            pgwire_proto::ProtocolError::InvalidCancelKeyLength { len: 32, .. }
        ))
    ));
}

#[test]
fn an_error_refusing_3_2_is_a_typed_error_with_the_servers_code() {
    let refusal = msg(
        b'E',
        b"SFATAL\0VFATAL\0C08P01\0Munsupported startup parameter\0\0",
    );
    let (conn, _) = connect(&latest(), &[refusal]);
    let Err(err) = conn else {
        panic!("connected");
    };
    assert!(
        matches!(&err, Error::ProtocolVersion(ProtocolVersionError::Refused { requested, .. }) if *requested == ProtocolVersion::V3_2),
        "{err:?}"
    );
    assert_eq!(err.code(), Some(SqlState::PROTOCOL_VIOLATION));
    assert!(
        err.to_string().contains("max_protocol_version=3.0"),
        "{err}"
    );
}
