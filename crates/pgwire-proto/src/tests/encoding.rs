//! Server text that is not UTF-8, and a session whose client_encoding is
//! changed away from UTF8 (see [`crate::encoding`]).

use std::sync::Arc;

use super::server::*;
use crate::machine::Bind;
use crate::{ColumnError, Error, Event, Format, Machine, Row, SqlState};

/// The bytes of `text` with `\u{e9}` written as LATIN1's single byte.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| if c == 'é' { 0xe9 } else { c as u8 })
        .collect()
}

fn latin1_fields(tag: u8, severity: &str, code: &str, message: &str) -> Vec<u8> {
    let mut body = format!("S{severity}\0V{severity}\0C{code}\0M").into_bytes();
    body.extend(latin1(message));
    body.extend_from_slice(b"\0Dd\xe9tail\0\0");
    msg(tag, &body)
}

fn rows(events: &[Event]) -> Vec<&Row> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Row(row) => Some(row),
            _ => None,
        })
        .collect()
}

fn refused<T>(index: usize) -> Result<T, ColumnError> {
    Err(ColumnError::ClientEncoding {
        index,
        encoding: "LATIN1".into(),
    })
}

/// A machine whose session switched to LATIN1 (`SET client_encoding`).
fn latin1_machine() -> Machine {
    let mut m = ready_machine();
    m.simple_query("set client_encoding to 'LATIN1'").unwrap();
    sent(&mut m);
    feed(
        &mut m,
        &concat(&[
            command_complete("SET"),
            param("client_encoding", "LATIN1"),
            ready(b'I'),
        ]),
    );
    assert!(m.is_ready());
    m
}

#[test]
fn notices_and_errors_that_are_not_utf8_keep_the_session() {
    let mut m = ready_machine();
    m.simple_query("do $$ ... $$").unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            latin1_fields(b'N', "NOTICE", "00000", "café"),
            latin1_fields(b'E', "ERROR", "22P02", "invalid input: \"café\""),
            ready(b'I'),
        ]),
    );
    let [Event::Notice(notice), Event::Error(error), Event::ReadyForQuery(_)] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(notice.severity(), "NOTICE");
    assert_eq!(notice.sqlstate(), SqlState::SUCCESSFUL_COMPLETION);
    assert_eq!(notice.message, "caf\u{fffd}");
    assert_eq!(notice.detail.as_deref(), Some("d\u{fffd}tail"));
    assert_eq!(error.sqlstate(), SqlState::from_code("22P02").unwrap());
    assert!(error.is_recoverable());
    assert_eq!(error.message, "invalid input: \"caf\u{fffd}\"");
    assert!(m.is_ready());
    // Between requests too, and with a column name that is not UTF-8.
    feed(&mut m, &latin1_fields(b'N', "WARNING", "01000", "é"));
    m.simple_query("select 1 as \"x\"").unwrap();
    let mut name = vec![0, 1];
    name.extend(latin1("caf\u{e9}\0"));
    name.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
    ]);
    let events = feed(
        &mut m,
        &concat(&[msg(b'T', &name), command_complete("SELECT 0"), ready(b'I')]),
    );
    let Event::RowDescription(d) = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(d.fields()[0].name, "caf\u{fffd}");
    assert!(m.is_ready());
}

#[test]
fn a_fatal_error_that_is_not_utf8_keeps_its_sqlstate() {
    let mut m = ready_machine();
    let events = feed(&mut m, &latin1_fields(b'E', "FATAL", "57P01", "arr\u{e9}t"));
    let [Event::Error(error)] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(error.sqlstate(), SqlState::ADMIN_SHUTDOWN);
    assert!(!error.is_recoverable());
    assert_eq!(error.message, "arr\u{fffd}t");
    match m.next_event() {
        Err(Error::SessionEnded(e)) => assert_eq!(e.sqlstate(), SqlState::ADMIN_SHUTDOWN),
        other => panic!("{other:?}"),
    }
}

#[test]
fn another_encoding_refuses_what_it_would_get_wrong() {
    let mut m = latin1_machine();
    let refusal = Err(Error::ClientEncoding("LATIN1".into()));
    assert_eq!(m.simple_query("select 'é'").map(drop), refusal);
    assert_eq!(m.prepare("s", "select 1 as \"é\"", &[]).map(drop), refusal);
    let one_param = Bind {
        param_count: 1,
        encode: |_, _: &mut bytes::BytesMut| Ok(None),
        result_formats: &[],
        max_rows: Some(0),
    };
    assert_eq!(
        m.query("select $1", &[25], "", one_param).map(drop),
        refusal
    );
    assert!(sent(&mut m).is_empty(), "nothing was queued");
    assert!(m.is_ready());
    // ASCII without parameters means the same in any encoding.
    m.simple_query("select chr(195) || chr(169)").unwrap();
    let answer = concat(&[
        row_description(&["x"]),
        msg(b'D', &[0, 1, 0, 0, 0, 2, 0xc3, 0xa9]),
        msg(b'D', &[0, 1, 0, 0, 0, 1, 0xe9]),
        command_complete("SELECT 2"),
        ready(b'I'),
    ]);
    for events in [feed(&mut m, &answer), {
        m.simple_query("select chr(195) || chr(169)").unwrap();
        m.receive(&answer);
        drain_rows_first(&mut m)
    }] {
        let rows = rows(&events);
        assert_eq!(rows.len(), 2);
        for row in rows {
            assert_eq!(row.description().client_encoding(), Some("LATIN1"));
            assert_eq!(row.try_get::<&str>(0), refused(0));
            assert_eq!(row.text(0), refused(0));
            assert!(matches!(
                row.get_value(0),
                Err(ColumnError::ClientEncoding { index: 0, .. })
            ));
            assert!(row.raw(0).is_some());
        }
    }
    // Server text that would read as other characters keeps only its
    // ASCII: LATIN1's "Ã©" (bytes c3 a9) is not "é".
    let notice = b"SNOTICE\0C00000\0Mx \xc3\xa9 \xe9\0\0".to_vec();
    let mut notify = vec![0, 0, 0, 7];
    notify.extend_from_slice(b"ch\xc3\xa9\0\xc3\xa9\0");
    let mut column = vec![0, 1];
    column.extend_from_slice(b"\xc3\xa9\0");
    column.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 255, 255, 255, 255, 255, 255, 0, 0,
    ]);
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'N', &notice),
            msg(b'A', &notify),
            param("application_name", "\u{e9}"),
        ]),
    );
    let [Event::Notice(n), Event::Notification(a), Event::ParameterStatus { value, .. }] =
        &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(n.message, "x \u{fffd} \u{fffd}");
    assert_eq!(n.sqlstate(), SqlState::SUCCESSFUL_COMPLETION);
    assert_eq!(
        (a.channel.as_str(), a.payload.as_str()),
        ("ch\u{fffd}", "\u{fffd}")
    );
    assert_eq!(value, "\u{fffd}");
    m.simple_query("select 1").unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'T', &column),
            command_complete("SELECT 0"),
            ready(b'I'),
        ]),
    );
    let Event::RowDescription(d) = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(d.fields()[0].name, "\u{fffd}");
    // Back in UTF8, everything goes again.
    m.simple_query("set client_encoding to 'UTF8'").unwrap();
    feed(
        &mut m,
        &concat(&[
            command_complete("SET"),
            param("client_encoding", "UTF8"),
            ready(b'I'),
        ]),
    );
    m.simple_query("select 'é'").unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            row_description(&["x"]),
            data_row(&[Some("é")]),
            command_complete("SELECT 1"),
            ready(b'I'),
        ]),
    );
    assert_eq!(rows(&events)[0].try_get::<&str>(0), Ok("é"));
    assert_eq!(rows(&events)[0].description().client_encoding(), None);
}

#[test]
fn preset_descriptions_are_marked_on_copies() {
    let mut m = ready_machine();
    m.prepare("s", "select x from t", &[]).unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b't', &[0, 0]),
            row_description(&["x"]),
            ready(b'I'),
        ]),
    );
    let Some(Event::RowDescription(cached)) = events.get(2) else {
        panic!("{events:?}");
    };
    let cached = Arc::clone(cached);
    let run = |m: &mut Machine| {
        let bind = Bind {
            param_count: 0,
            encode: |_, _: &mut bytes::BytesMut| Ok(None),
            result_formats: &[Format::Text],
            max_rows: Some(0),
        };
        m.bind_execute("s", "", bind, Some(Arc::clone(&cached)))
            .unwrap();
        feed(
            m,
            &concat(&[
                msg(b'2', b""),
                data_row(&[Some("a")]),
                command_complete("SELECT 1"),
                ready(b'I'),
            ]),
        )
    };
    // A report in the middle of an answer marks the rows after it (servers
    // before PostgreSQL 14 report at once).
    m.simple_query("select x, set_config(...) from t").unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            row_description(&["x"]),
            data_row(&[Some("a")]),
            param("client_encoding", "LATIN1"),
            data_row(&[Some("b")]),
            command_complete("SELECT 2"),
            ready(b'I'),
        ]),
    );
    let rows_seen = rows(&events);
    assert_eq!(rows_seen[0].try_get::<&str>(0), Ok("a"));
    assert_eq!(rows_seen[1].try_get::<&str>(0), refused(0));
    // The statement cache's description is marked only on a copy.
    let events = run(&mut m);
    assert_eq!(rows(&events)[0].try_get::<&str>(0), refused(0));
    assert_eq!(cached.client_encoding(), None);
    feed(&mut m, &param("client_encoding", "UTF8"));
    let events = run(&mut m);
    assert_eq!(rows(&events)[0].try_get::<&str>(0), Ok("a"));
}
