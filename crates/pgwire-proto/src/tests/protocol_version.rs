//! Protocol 3.2: the version the StartupMessage asks for, the server's
//! `NegotiateProtocolVersion`, cancel keys of any allowed length, and the
//! CancelRequest that quotes them whole.

use bytes::BytesMut;

use super::server::*;
use crate::message::frontend;
use crate::{
    BackendKey, Error, Event, Machine, ProtocolError, ProtocolVersion, ProtocolVersionError,
    StartupConfig,
};

const V3_0: i32 = 3 << 16;
const V3_2: i32 = (3 << 16) | 2;

fn negotiate(newest: i32, options: &[&str]) -> Vec<u8> {
    let mut body = newest.to_be_bytes().to_vec();
    body.extend_from_slice(&(options.len() as i32).to_be_bytes());
    for option in options {
        body.extend_from_slice(option.as_bytes());
        body.push(0);
    }
    msg(b'v', &body)
}

fn long_key_data(pid: i32, key: &[u8]) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    body.extend_from_slice(key);
    msg(b'K', &body)
}

/// A started machine with `config`, its StartupMessage taken and returned.
fn started(config: &StartupConfig) -> (Machine, Vec<u8>) {
    let mut m = Machine::new();
    m.start(config).unwrap();
    let startup = sent(&mut m);
    (m, startup)
}

fn latest() -> StartupConfig {
    StartupConfig::new("alice").max_protocol_version(ProtocolVersion::LATEST)
}

/// Every event until the machine needs more bytes or fails.
fn run(m: &mut Machine, bytes: &[u8]) -> Result<Vec<Event>, Error> {
    m.receive(bytes);
    let mut events = Vec::new();
    while let Some(event) = m.next_event()? {
        events.push(event);
    }
    Ok(events)
}

#[test]
fn startup_asks_for_3_0_by_default_and_for_max_when_set() {
    let (m, startup) = started(&StartupConfig::new("alice"));
    assert_eq!(startup[4..8], V3_0.to_be_bytes());
    assert_eq!(m.protocol_version(), ProtocolVersion::V3_0);
    let (m, startup) = started(&latest());
    assert_eq!(startup[4..8], V3_2.to_be_bytes());
    assert_eq!(m.protocol_version(), ProtocolVersion::V3_2);
}

#[test]
fn min_above_max_is_refused_before_anything_is_sent() {
    let mut m = Machine::new();
    let config = StartupConfig::new("alice").min_protocol_version(ProtocolVersion::V3_2);
    assert_eq!(
        m.start(&config),
        Err(Error::ProtocolVersion(ProtocolVersionError::MinAboveMax {
            min: ProtocolVersion::V3_2,
            max: ProtocolVersion::V3_0,
        }))
    );
    assert!(m.output().is_empty());
}

#[test]
fn a_3_2_server_keeps_3_2_and_its_32_byte_key() {
    let (mut m, _) = started(&latest());
    let secret: Vec<u8> = (0..32).collect();
    let events = run(
        &mut m,
        &concat(&[auth_ok(), long_key_data(77, &secret), ready(b'I')]),
    )
    .unwrap();
    let key = BackendKey::new(77, &secret).unwrap();
    assert_eq!(events[1], Event::BackendKeyData(key.clone()));
    assert_eq!(m.backend_key(), Some(key));
    assert_eq!(m.protocol_version(), ProtocolVersion::V3_2);
    assert_eq!(m.negotiated_minor_version(), None);
    assert!(m.is_ready());
}

#[test]
fn a_3_0_server_negotiates_down_and_a_4_byte_key_follows() {
    let (mut m, _) = started(&latest());
    let events = run(
        &mut m,
        &concat(&[negotiate(V3_0, &[]), auth_ok(), key_data(5, 6), ready(b'I')]),
    )
    .unwrap();
    assert_eq!(events[0], Event::Authenticated);
    assert_eq!(m.protocol_version(), ProtocolVersion::V3_0);
    assert_eq!(m.negotiated_minor_version(), Some(0));
    assert_eq!(m.backend_key().unwrap().secret_key(), 6i32.to_be_bytes());
    assert!(m.is_ready());
}

#[test]
fn a_downgrade_below_min_is_a_typed_error() {
    let config = latest().min_protocol_version(ProtocolVersion::V3_2);
    let (mut m, _) = started(&config);
    let err = run(&mut m, &negotiate(V3_0, &[])).unwrap_err();
    assert_eq!(
        err,
        Error::ProtocolVersion(ProtocolVersionError::BelowMinimum {
            server: ProtocolVersion::V3_0,
            min: ProtocolVersion::V3_2,
        })
    );
    assert_eq!(
        err.to_string(),
        "server only supports protocol version 3.0, but \"min_protocol_version\" was set to 3.2"
    );
    assert!(m.failure().is_some());
}

#[test]
fn invalid_negotiations_are_refused_as_libpq_refuses_them() {
    let cases: &[(StartupConfig, Vec<u8>, &str)] = &[
        (
            StartupConfig::new("alice"),
            negotiate(V3_2, &[]),
            "server requested downgrade to a higher-numbered version",
        ),
        (
            latest(),
            negotiate((2 << 16) | 9, &[]),
            "server requested downgrade to pre-3.0 protocol version",
        ),
        (
            latest(),
            negotiate(0, &[]),
            "server requested downgrade to pre-3.0 protocol version",
        ),
        (
            latest(),
            negotiate((3 << 16) | 1, &[]),
            "server requested downgrade to non-existent 3.1 protocol version",
        ),
        (
            latest(),
            negotiate(V3_2, &[]),
            "server negotiated but asks for no changes",
        ),
        (
            StartupConfig::new("alice"),
            negotiate(V3_0, &[]),
            "server negotiated but asks for no changes",
        ),
        (
            latest(),
            negotiate(V3_0, &["_pq_.something"]),
            "server reported an unsupported parameter that was not requested",
        ),
        (
            latest(),
            negotiate(V3_0, &["something"]),
            "server reported unsupported parameter name without a \"_pq_.\" prefix",
        ),
        (
            latest(),
            concat(&[negotiate(V3_0, &[]), negotiate(V3_0, &[])]),
            "the server negotiated twice",
        ),
    ];
    for (config, answer, why) in cases {
        let (mut m, _) = started(config);
        assert_eq!(
            run(&mut m, answer),
            Err(Error::Protocol(ProtocolError::InvalidNegotiation(why))),
            "{why}"
        );
    }
}

#[test]
fn malformed_negotiations_are_protocol_errors() {
    let short = msg(b'v', &V3_0.to_be_bytes());
    let negative = msg(b'v', &[V3_0.to_be_bytes(), (-1i32).to_be_bytes()].concat());
    let missing_name = msg(b'v', &[V3_0.to_be_bytes(), 2i32.to_be_bytes()].concat());
    let trailing = msg(
        b'v',
        &[V3_0.to_be_bytes(), 0i32.to_be_bytes(), [1, 2, 3, 4]].concat(),
    );
    for answer in [short, negative, missing_name, trailing] {
        let (mut m, _) = started(&latest());
        match run(&mut m, &answer) {
            Err(Error::Protocol(ProtocolError::Malformed { message, .. })) => {
                assert_eq!(message, "NegotiateProtocolVersion")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn cancel_key_lengths_are_checked_against_the_version() {
    // (version asked for, negotiated down to 3.0, key length, allowed)
    let cases = [
        (ProtocolVersion::V3_0, false, 4, true),
        (ProtocolVersion::V3_0, false, 32, false),
        (ProtocolVersion::V3_0, false, 3, false),
        (ProtocolVersion::V3_2, true, 32, false),
        (ProtocolVersion::V3_2, false, 4, true),
        (ProtocolVersion::V3_2, false, 256, true),
        (ProtocolVersion::V3_2, false, 257, false),
        (ProtocolVersion::V3_2, false, 3, false),
        (ProtocolVersion::V3_2, false, 0, false),
    ];
    for (asked, down, len, allowed) in cases {
        let (mut m, _) = started(&StartupConfig::new("alice").max_protocol_version(asked));
        let mut answer = Vec::new();
        if down {
            answer.extend(negotiate(V3_0, &[]));
        }
        answer.extend(auth_ok());
        answer.extend(long_key_data(1, &vec![9; len]));
        answer.extend(ready(b'I'));
        let result = run(&mut m, &answer);
        if allowed {
            assert!(result.is_ok(), "{asked} {len}: {result:?}");
            assert_eq!(m.backend_key().unwrap().secret_key().len(), len);
        } else {
            let version = if down { ProtocolVersion::V3_0 } else { asked };
            assert_eq!(
                result,
                Err(Error::Protocol(ProtocolError::InvalidCancelKeyLength {
                    len,
                    version
                })),
                "{asked} {len}"
            );
        }
    }
}

#[test]
fn cancel_request_carries_the_whole_32_byte_key() {
    let secret: Vec<u8> = (100..132).collect();
    let key = BackendKey::new(0x0102_0304, &secret).unwrap();
    let mut buf = BytesMut::new();
    frontend::cancel_request(&mut buf, &key);
    let mut expected = 44i32.to_be_bytes().to_vec();
    expected.extend_from_slice(&80_877_102i32.to_be_bytes());
    expected.extend_from_slice(&[1, 2, 3, 4]);
    expected.extend_from_slice(&secret);
    assert_eq!(&buf[..], &expected[..]);

    let short = BackendKey::new(9, 0x0a0b_0c0di32.to_be_bytes()).unwrap();
    let mut buf = BytesMut::new();
    frontend::cancel_request(&mut buf, &short);
    assert_eq!(
        &buf[..],
        &[0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 9, 0x0a, 0x0b, 0x0c, 0x0d]
    );
}

#[test]
fn an_error_refusing_3_2_is_a_typed_error() {
    let (mut m, _) = started(&latest());
    let err = run(
        &mut m,
        &error("FATAL", "08P01", "unsupported startup parameter: foo"),
    )
    .unwrap_err();
    match &err {
        Error::ProtocolVersion(ProtocolVersionError::Refused { requested, error }) => {
            assert_eq!(*requested, ProtocolVersion::V3_2);
            assert_eq!(error.fields().message, "unsupported startup parameter: foo");
        }
        other => panic!("{other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some());

    // Not about the protocol: the server's error as it is.
    let (mut m, _) = started(&latest());
    let events = feed(
        &mut m,
        &error("FATAL", "3D000", "database \"x\" does not exist"),
    );
    assert!(matches!(&events[0], Event::Error(e) if e.fields().message.contains("does not exist")));
    // Under 3.0 nothing was asked that could be refused.
    let (mut m, _) = started(&StartupConfig::new("alice"));
    let events = feed(&mut m, &error("FATAL", "08P01", "bad packet header"));
    assert!(matches!(&events[0], Event::Error(_)));
}
