//! COPY in and out, on both protocols, with scripted server bytes: what
//! the machine reports, what it sends, and what a misbehaving server gets.

use super::server::*;
use crate::machine::Bind;
use crate::message::backend::CopyResponse;
use crate::{Error, Event, Format, ProtocolError};

fn no_params(
) -> Bind<'static, impl FnMut(usize, &mut bytes::BytesMut) -> Result<Option<Format>, Error>> {
    Bind {
        param_count: 0,
        encode: |_, _: &mut bytes::BytesMut| Ok(None),
        result_formats: &[],
        max_rows: Some(0),
    }
}

fn copy_response(tag: u8, format: u8, columns: &[u16]) -> Vec<u8> {
    let mut body = vec![format];
    body.extend_from_slice(&(columns.len() as u16).to_be_bytes());
    for c in columns {
        body.extend_from_slice(&c.to_be_bytes());
    }
    msg(tag, &body)
}

fn copy_data(data: &[u8]) -> Vec<u8> {
    msg(b'd', data)
}

fn copy_done() -> Vec<u8> {
    msg(b'c', &[])
}

#[test]
fn copy_in_over_the_simple_protocol() {
    let mut m = ready_machine();
    let id = m.copy_query("copy t from stdin").unwrap();
    assert_eq!(tags(&sent(&mut m)), b"Q");
    // Nothing may be queued behind it: the server would read it as data.
    assert!(matches!(
        m.simple_query("select 1"),
        Err(Error::InvalidState { .. })
    ));
    assert!(m.copy_data(b"early").is_err(), "not before CopyInResponse");
    let events = feed(&mut m, &copy_response(b'G', 0, &[0, 0]));
    assert_eq!(
        events,
        [Event::CopyInResponse(CopyResponse {
            format: Format::Text,
            column_formats: vec![Format::Text, Format::Text],
        })]
    );
    assert!(m.is_copy_in());
    m.copy_data(b"1\ta\n").unwrap();
    m.copy_data(b"2\tb\n").unwrap();
    m.copy_done().unwrap();
    let out = sent(&mut m);
    assert_eq!(tags(&out), b"ddc", "no Sync on the simple protocol");
    assert_eq!(&out[5..9], b"1\ta\n");
    assert!(m.copy_data(b"late").is_err());
    assert!(m.copy_done().is_err());
    let events = feed(&mut m, &concat(&[command_complete("COPY 2"), ready(b'I')]));
    assert!(matches!(&events[0], Event::CommandComplete(c) if c.rows() == Some(2)));
    assert!(matches!(events[1], Event::ReadyForQuery(_)));
    assert!(m.is_ready());
    assert_eq!(m.current_request(), None);
    let _ = id;
    m.simple_query("select 1").unwrap();
}

#[test]
fn copy_in_over_the_extended_protocol_sends_its_own_sync() {
    let mut m = ready_machine();
    let id = m.query("copy t from stdin", &[], "", no_params()).unwrap();
    m.accept_copy_in(id).unwrap();
    assert_eq!(tags(&sent(&mut m)), b"PBDES");
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'1', &[]),
            msg(b'2', &[]),
            msg(b'n', &[]),
            copy_response(b'G', 1, &[1]),
        ]),
    );
    assert!(matches!(events.last(), Some(Event::CopyInResponse(r)) if r.format == Format::Binary));
    m.copy_data(b"PGCOPY").unwrap();
    m.copy_fail("changed my mind").unwrap();
    let out = sent(&mut m);
    // The server ignored the request's Sync in copy-in mode.
    assert_eq!(tags(&out), b"dfS");
    let events = feed(
        &mut m,
        &concat(&[
            error("ERROR", "57014", "COPY from stdin failed: changed my mind"),
            ready(b'I'),
        ]),
    );
    assert!(matches!(&events[0], Event::Error(e) if e.sqlstate().code() == "57014"));
    assert!(m.is_ready());
}

#[test]
fn an_error_mid_copy_in_ends_it_and_owes_the_sync_on_the_extended_protocol() {
    for extended in [false, true] {
        let mut m = ready_machine();
        let id = if extended {
            m.query("copy t from stdin", &[], "", no_params()).unwrap()
        } else {
            m.simple_query("copy t from stdin").unwrap()
        };
        m.accept_copy_in(id).unwrap();
        sent(&mut m);
        feed(&mut m, &copy_response(b'G', 0, &[0]));
        m.copy_data(b"1\n").unwrap();
        sent(&mut m);
        let events = feed(&mut m, &error("ERROR", "23505", "duplicate key"));
        assert!(matches!(&events[0], Event::Error(e) if e.sqlstate().code() == "23505"));
        assert!(!m.is_copy_in());
        // Later data is refused; the Sync the server waits for is queued.
        assert!(matches!(
            m.copy_data(b"2\n"),
            Err(Error::InvalidState { .. })
        ));
        assert!(m.copy_done().is_err());
        let expected: &[u8] = if extended { b"S" } else { b"" };
        assert_eq!(tags(&sent(&mut m)), expected, "extended: {extended}");
        let events = feed(&mut m, &ready(b'I'));
        assert!(matches!(events[0], Event::ReadyForQuery(_)));
        assert!(m.is_ready());
    }
}

#[test]
fn an_unmarked_copy_in_is_still_refused_with_copy_fail() {
    let mut m = ready_machine();
    m.query("copy t from stdin", &[], "", no_params()).unwrap();
    sent(&mut m);
    let events = feed(&mut m, &copy_response(b'G', 0, &[0]));
    assert!(events.is_empty());
    assert_eq!(tags(&sent(&mut m)), b"fS");
    let events = feed(
        &mut m,
        &concat(&[
            error("ERROR", "57014", "COPY from stdin failed"),
            ready(b'I'),
        ]),
    );
    assert_eq!(events.len(), 2);
    assert!(m.is_ready());
}

#[test]
fn copy_out_yields_zero_copy_chunks_and_its_end() {
    for extended in [false, true] {
        let mut m = ready_machine();
        if extended {
            m.query("copy t to stdout", &[], "", no_params()).unwrap();
        } else {
            m.simple_query("copy t to stdout").unwrap();
        }
        sent(&mut m);
        let mut script = Vec::new();
        if extended {
            script.extend([msg(b'1', &[]), msg(b'2', &[]), msg(b'n', &[])]);
        }
        script.extend([
            copy_response(b'H', 0, &[0, 0]),
            copy_data(b"1\ta\n"),
            notice("in between"),
            copy_data(b"2\tb\n"),
            copy_done(),
            command_complete("COPY 2"),
            ready(b'I'),
        ]);
        let events: Vec<Event> = feed(&mut m, &concat(&script))
            .into_iter()
            .filter(|e| {
                !matches!(
                    e,
                    Event::ParseComplete | Event::BindComplete | Event::NoData
                )
            })
            .collect();
        assert!(matches!(&events[0], Event::CopyOutResponse(r) if r.column_formats.len() == 2));
        assert!(matches!(&events[1], Event::CopyData(d) if &d[..] == b"1\ta\n"));
        assert!(matches!(events[2], Event::Notice(_)));
        assert!(matches!(&events[3], Event::CopyData(d) if &d[..] == b"2\tb\n"));
        assert_eq!(events[4], Event::CopyDone);
        assert!(matches!(&events[5], Event::CommandComplete(c) if c.rows() == Some(2)));
        assert!(m.is_ready());
    }
}

#[test]
fn copy_out_ended_by_an_error_goes_on_to_ready() {
    let mut m = ready_machine();
    m.simple_query("copy (select 1/0) to stdout").unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            copy_response(b'H', 0, &[0]),
            copy_data(b"1\n"),
            error("ERROR", "22012", "division by zero"),
            ready(b'I'),
        ]),
    );
    assert!(matches!(&events[2], Event::Error(e) if e.sqlstate().code() == "22012"));
    assert!(!m.is_copy_out());
    assert!(m.is_ready());
}

/// Every way of breaking the COPY protocol is a typed error that ends the
/// session, never a panic or a hang.
#[test]
fn a_server_breaking_the_copy_protocol_is_a_protocol_error() {
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("data without a copy", copy_data(b"x"), false),
        ("CopyDone without a copy", copy_done(), false),
        (
            "CommandComplete before our CopyDone",
            concat(&[copy_response(b'G', 0, &[0]), command_complete("COPY 0")]),
            true,
        ),
        (
            "ReadyForQuery mid copy-in",
            concat(&[copy_response(b'G', 0, &[0]), ready(b'I')]),
            true,
        ),
        (
            "rows mid copy-out",
            concat(&[copy_response(b'H', 0, &[0]), data_row(&[Some("1")])]),
            false,
        ),
        (
            "ReadyForQuery mid copy-out",
            concat(&[copy_response(b'H', 0, &[0]), ready(b'I')]),
            false,
        ),
        (
            "a second CopyOutResponse",
            concat(&[copy_response(b'H', 0, &[0]), copy_response(b'H', 0, &[0])]),
            false,
        ),
        ("an unknown format", copy_response(b'H', 7, &[0]), false),
        (
            "an unknown column format",
            copy_response(b'G', 0, &[2]),
            true,
        ),
        ("a short column list", msg(b'H', &[0, 0, 2, 0, 0]), false),
        (
            "a CopyDone with a body",
            concat(&[copy_response(b'H', 0, &[]), msg(b'c', b"x")]),
            false,
        ),
    ];
    for (what, script, copy_in) in cases {
        let mut m = ready_machine();
        if copy_in {
            m.copy_query("copy t from stdin").unwrap();
        } else {
            m.simple_query("copy t to stdout").unwrap();
        }
        m.receive(&script);
        let result = loop {
            match m.next_event() {
                Ok(Some(_)) => continue,
                other => break other,
            }
        };
        assert!(
            matches!(
                result,
                Err(Error::Protocol(
                    ProtocolError::Unexpected { .. } | ProtocolError::Malformed { .. }
                ))
            ),
            "{what}: {result:?}"
        );
        assert!(m.failure().is_some(), "{what}");
        assert!(m.copy_data(b"x").is_err(), "{what}");
        assert!(m.simple_query("select 1").is_err(), "{what}");
    }
}

#[test]
fn eof_mid_copy_is_an_error() {
    let mut m = ready_machine();
    m.copy_query("copy t from stdin").unwrap();
    feed(&mut m, &copy_response(b'G', 0, &[0]));
    m.receive_eof();
    assert!(matches!(
        m.next_event(),
        Err(Error::Protocol(ProtocolError::UnexpectedEof))
    ));
    assert!(!m.is_copy_in());
}

#[test]
fn long_data_is_split_into_messages_a_server_takes() {
    let mut m = ready_machine();
    m.copy_query("copy t from stdin").unwrap();
    sent(&mut m);
    feed(&mut m, &copy_response(b'G', 0, &[0]));
    let big = vec![b'x'; crate::message::frontend::MAX_COPY_DATA + 10];
    m.copy_data(&big).unwrap();
    m.copy_data(b"").unwrap();
    assert_eq!(tags(&sent(&mut m)), b"dd");
}

#[test]
fn a_simple_protocol_copy_in_may_be_failed_before_it_starts() {
    let mut m = ready_machine();
    m.simple_query("select 1").unwrap();
    m.copy_query("copy t from stdin").unwrap();
    sent(&mut m);
    assert!(m.copy_in_open());
    m.copy_fail("dropped").unwrap();
    assert!(!m.copy_in_open());
    assert_eq!(tags(&sent(&mut m)), b"f");
    // Requests may follow now: the server reads the CopyFail first.
    m.simple_query("select 2").unwrap();
    assert_eq!(tags(&sent(&mut m)), b"Q");
    let events = feed(
        &mut m,
        &concat(&[
            command_complete("SELECT 1"),
            ready(b'I'),
            copy_response(b'G', 0, &[0]),
            error("ERROR", "57014", "COPY from stdin failed: dropped"),
            ready(b'I'),
        ]),
    );
    assert!(events
        .iter()
        .all(|e| !matches!(e, Event::CopyInResponse(_))));
    assert!(matches!(&events[2], Event::Error(e) if e.sqlstate().code() == "57014"));
    assert_eq!(tags(&sent(&mut m)), b"", "nothing more is sent for it");

    // On the extended protocol, only once it runs.
    let mut m = ready_machine();
    let id = m.query("copy t from stdin", &[], "", no_params()).unwrap();
    m.accept_copy_in(id).unwrap();
    assert!(matches!(m.copy_fail("x"), Err(Error::InvalidState { .. })));
}

#[test]
fn the_copy_data_fast_path_takes_only_whole_copy_data() {
    let mut m = ready_machine();
    m.simple_query("copy t to stdout").unwrap();
    assert_eq!(m.next_copy_data(), None, "not in copy-out");
    feed(&mut m, &copy_response(b'H', 0, &[0]));
    let data = copy_data(b"1\n");
    m.receive(&data[..4]);
    assert_eq!(m.next_copy_data(), None, "incomplete");
    m.receive(&data[4..]);
    m.receive(&copy_done());
    assert_eq!(m.next_copy_data().as_deref(), Some(&b"1\n"[..]));
    assert_eq!(m.next_copy_data(), None, "CopyDone is no data");
    assert_eq!(m.next_event().unwrap(), Some(Event::CopyDone));
    // A CopyData announcing less than its own length is left to the
    // general decoder, which reports it.
    let mut m = ready_machine();
    m.simple_query("copy t to stdout").unwrap();
    feed(&mut m, &copy_response(b'H', 0, &[0]));
    m.receive(b"d\0\0\0\x02xx");
    assert_eq!(m.next_copy_data(), None);
    assert!(m.next_event().is_err());
}
