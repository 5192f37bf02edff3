//! The short answers' path (`message/short.rs`): the same events and state
//! as the general decoder, and every message it does not accept left to
//! the general decoder's errors.

use super::server::*;
use crate::machine::Bind;
use crate::{CommandComplete, Error, Event, Format, Machine, ProtocolError, TransactionStatus};

fn extended_query(m: &mut Machine) {
    let bind = Bind {
        param_count: 0,
        encode: |_, _: &mut bytes::BytesMut| -> Result<Option<Format>, Error> { Ok(None) },
        result_formats: &[],
        max_rows: Some(0),
    };
    m.query("select 1", &[], "", bind).unwrap();
    sent(m);
}

fn malformed(e: &Error, what: &str) -> bool {
    matches!(e, Error::Protocol(ProtocolError::Malformed { message, .. }) if *message == what)
}

fn completed(events: &[Event]) -> Vec<&CommandComplete> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::CommandComplete(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn a_round_trip_gives_every_event_and_the_status() {
    for status in [b'I', b'T', b'E'] {
        let mut m = ready_machine();
        extended_query(&mut m);
        let events = feed(
            &mut m,
            &concat(&[
                msg(b'1', b""),
                msg(b'2', b""),
                row_description(&["n"]),
                data_row(&[Some("1")]),
                command_complete("SELECT 1"),
                ready(status),
            ]),
        );
        assert_eq!(events.len(), 6);
        assert_eq!(events[0], Event::ParseComplete);
        assert_eq!(events[1], Event::BindComplete);
        assert!(matches!(events[3], Event::Row(_)));
        assert_eq!(completed(&events)[0].tag(), "SELECT 1");
        assert_eq!(completed(&events)[0].rows(), Some(1));
        let want = match status {
            b'I' => TransactionStatus::Idle,
            b'T' => TransactionStatus::InTransaction,
            _ => TransactionStatus::Failed,
        };
        assert_eq!(events[5], Event::ReadyForQuery(want));
        assert_eq!(m.transaction_status(), want);
        assert!(m.current_request().is_none());
    }
}

#[test]
fn messages_cut_anywhere_wait_for_their_end() {
    let bytes = concat(&[
        msg(b'1', b""),
        msg(b'2', b""),
        msg(b'n', b""),
        command_complete("INSERT 0 1"),
        ready(b'I'),
    ]);
    for cut in 0..bytes.len() {
        let mut m = ready_machine();
        extended_query(&mut m);
        let mut events = feed(&mut m, &bytes[..cut]);
        events.extend(feed(&mut m, &bytes[cut..]));
        assert_eq!(events.len(), 5, "cut at {cut}: {events:?}");
        assert_eq!(events[2], Event::NoData);
        assert_eq!(completed(&events)[0].rows(), Some(1));
        assert!(m.is_ready());
    }
}

#[test]
fn a_long_tag_is_the_same_tag() {
    let mut m = ready_machine();
    extended_query(&mut m);
    let long = "INSERT 0 123456789012345678";
    let short = "INSERT 0 12";
    let mut events = feed(&mut m, &concat(&[msg(b'2', b""), command_complete(long)]));
    let mut other = ready_machine();
    extended_query(&mut other);
    events.extend(feed(
        &mut other,
        &concat(&[msg(b'2', b""), command_complete(short)]),
    ));
    let tags = completed(&events);
    assert_eq!(tags[0].tag(), long);
    assert_eq!(tags[0].rows(), Some(123_456_789_012_345_678));
    assert!(tags[0].tag_is(long));
    assert_eq!(tags[1].tag(), short);
    assert_ne!(tags[0], tags[1]);
    assert_eq!(tags[0].clone(), *tags[0]);
    assert_eq!(
        format!("{:?}", tags[1]),
        "CommandComplete { tag: \"INSERT 0 12\" }"
    );
}

#[test]
fn malformed_short_answers_are_the_general_errors() {
    let cases: [(&[u8], &str); 6] = [
        (&[b'Z', 0, 0, 0, 5, b'X'], "ReadyForQuery"),
        (&[b'Z', 0, 0, 0, 6, b'I', b'I'], "ReadyForQuery"),
        (&[b'2', 0, 0, 0, 5, 0], "BindComplete"),
        (b"C\0\0\0\x0cSELECT 1", "CommandComplete"),
        (b"C\0\0\0\x0eSELECT\x001\0\0", "CommandComplete"),
        (b"C\0\0\0\x07\xff\xfe\0", "CommandComplete"),
    ];
    for (bytes, what) in cases {
        let mut m = ready_machine();
        extended_query(&mut m);
        let e = first_error(&mut m, bytes);
        assert!(malformed(&e, what), "{bytes:?}: {e:?}");
        assert!(m.next_event().is_err(), "the failure sticks");
    }
}

#[test]
fn an_extended_answer_to_a_simple_query_is_unexpected() {
    for tag in [b'1', b'2', b'3', b'n'] {
        let mut m = ready_machine();
        m.simple_query("select 1").unwrap();
        sent(&mut m);
        let e = first_error(&mut m, &msg(tag, b""));
        assert!(
            matches!(e, Error::Protocol(ProtocolError::Unexpected { .. })),
            "{tag}: {e:?}"
        );
    }
}

#[test]
fn short_answers_with_nothing_asked_are_unexpected() {
    for bytes in [ready(b'I'), command_complete("SELECT 1"), msg(b'2', b"")] {
        let mut m = ready_machine();
        let e = first_error(&mut m, &bytes);
        assert!(
            matches!(e, Error::Protocol(ProtocolError::Unexpected { .. })),
            "{bytes:?}: {e:?}"
        );
    }
}
