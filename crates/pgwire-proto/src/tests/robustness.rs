use proptest::prelude::*;

use super::server::*;
use crate::{Error, Machine, ProtocolError};

#[test]
fn unknown_message_type() {
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    assert_eq!(
        first_error(&mut m, &msg(b'!', b"")),
        Error::Protocol(ProtocolError::UnknownMessage(b'!'))
    );
    // The failure sticks.
    assert!(m.next_event().is_err());
}

#[test]
fn over_long_length_is_refused_before_buffering() {
    let mut m = ready_machine();
    m.set_max_message_len(1 << 20);
    m.simple_query("q").unwrap();
    let e = first_error(&mut m, &[b'D', 0x7f, 0xff, 0xff, 0xff]);
    assert!(matches!(
        e,
        Error::Protocol(ProtocolError::MessageTooLong { .. })
    ));
    assert!(m.receive_capacity() < 1 << 20);
}

#[test]
fn data_row_without_description() {
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    let e = first_error(&mut m, &data_row(&[Some("1")]));
    assert!(matches!(
        e,
        Error::Protocol(ProtocolError::Unexpected { .. })
    ));
}

#[test]
fn column_count_mismatch() {
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    let e = first_error(
        &mut m,
        &concat(&[row_description(&["a"]), data_row(&[Some("1"), Some("2")])]),
    );
    assert!(matches!(
        e,
        Error::Protocol(ProtocolError::Malformed { .. })
    ));
}

#[test]
fn ready_for_query_with_nothing_pending() {
    let mut m = ready_machine();
    let e = first_error(&mut m, &ready(b'I'));
    assert!(matches!(
        e,
        Error::Protocol(ProtocolError::Unexpected { .. })
    ));
}

#[test]
fn eof_mid_message_and_mid_request() {
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    m.receive(&row_description(&["a"])[..6]);
    assert_eq!(m.next_event(), Ok(None));
    m.receive_eof();
    assert_eq!(
        m.next_event(),
        Err(Error::Protocol(ProtocolError::UnexpectedEof))
    );
}

#[test]
fn large_row_arrives_whole() {
    let big = "x".repeat(300_000);
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    let events = feed(
        &mut m,
        &concat(&[row_description(&["a"]), data_row(&[Some(&big)])]),
    );
    let crate::Event::Row(row) = &events[1] else {
        panic!()
    };
    assert_eq!(row.text(0).unwrap().map(str::len), Some(300_000));
}

proptest! {
    #[test]
    fn garbage_after_startup_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
        let mut m = ready_machine();
        m.set_max_message_len(4096);
        let _ = m.simple_query("q");
        for chunk in chunks {
            m.receive(&chunk);
            while let Ok(Some(_)) = m.next_event() {}
        }
        m.receive_eof();
        while let Ok(Some(_)) = m.next_event() {}
    }

    #[test]
    fn garbage_during_startup_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut m = Machine::new();
        m.start(&crate::StartupConfig::new("u").password("p")).unwrap();
        m.receive(&bytes);
        while let Ok(Some(_)) = m.next_event() {}
    }

    #[test]
    fn well_formed_messages_with_random_bodies_never_panic(
        tags in proptest::collection::vec(prop::sample::select(b"RK23CGHdDIEvnNAtS1sZTW".to_vec()), 1..8),
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 8),
    ) {
        let mut m = ready_machine();
        let _ = m.simple_query("q");
        for (tag, body) in tags.iter().zip(bodies) {
            m.receive(&msg(*tag, &body));
        }
        while let Ok(Some(_)) = m.next_event() {}
    }
}
