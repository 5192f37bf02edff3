use std::sync::Arc;

use bytes::BufMut;

use super::server::*;
use crate::machine::Bind;
use crate::message::frontend::Target;
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

#[test]
fn query_goes_out_as_one_request_and_yields_rows() {
    let mut m = ready_machine();
    let bind = Bind {
        param_count: 2,
        encode: |i: usize, buf: &mut bytes::BytesMut| {
            if i == 0 {
                buf.put_i32(5);
                Ok(Some(Format::Binary))
            } else {
                Ok(None)
            }
        },
        result_formats: &[],
        max_rows: Some(0),
    };
    m.query("select $1::int, $2::text", &[23, 25], "", bind)
        .unwrap();
    assert_eq!(tags(&sent(&mut m)), b"PBDES");
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            row_description(&["int4", "text"]),
            data_row(&[Some("5"), None]),
            command_complete("SELECT 1"),
            ready(b'I'),
        ]),
    );
    assert_eq!(events[0], Event::ParseComplete);
    assert_eq!(events[1], Event::BindComplete);
    assert!(matches!(events[3], Event::Row(_)));
    assert!(matches!(events[5], Event::ReadyForQuery(_)));
    assert!(m.is_ready());
}

#[test]
fn prepare_describes_the_statement() {
    let mut m = ready_machine();
    m.prepare("s1", "select $1::int4", &[]).unwrap();
    assert_eq!(tags(&sent(&mut m)), b"PDS");
    let mut params = 1i16.to_be_bytes().to_vec();
    params.extend_from_slice(&23u32.to_be_bytes());
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b't', &params),
            row_description(&["int4"]),
            ready(b'I'),
        ]),
    );
    assert_eq!(events[1], Event::ParameterDescription(vec![23]));
    assert!(matches!(events[2], Event::RowDescription(_)));
}

#[test]
fn bind_execute_with_known_columns_skips_describe() {
    let mut m = ready_machine();
    // Learn the description from a prepare first.
    m.prepare("s1", "select 1", &[]).unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b't', &[0, 0]),
            row_description(&["x"]),
            ready(b'I'),
        ]),
    );
    let Event::RowDescription(desc) = &events[2] else {
        panic!()
    };
    sent(&mut m);
    m.bind_execute("s1", "", no_params(), Some(Arc::clone(desc)))
        .unwrap();
    assert_eq!(tags(&sent(&mut m)), b"BES");
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'2', b""),
            data_row(&[Some("1")]),
            command_complete("SELECT 1"),
            ready(b'I'),
        ]),
    );
    let Event::Row(row) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(row.text(0).unwrap(), Some("1"));
}

#[test]
fn portal_suspends_and_resumes() {
    let mut m = ready_machine();
    let bind = Bind {
        max_rows: Some(1),
        ..no_params()
    };
    m.query("select generate_series(1, 3)", &[], "", bind)
        .unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            row_description(&["g"]),
            data_row(&[Some("1")]),
            msg(b's', b""),
            ready(b'T'),
        ]),
    );
    assert_eq!(events[4], Event::PortalSuspended);
    let Event::RowDescription(desc) = &events[2] else {
        panic!()
    };
    m.execute_portal("", 2, Arc::clone(desc)).unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            data_row(&[Some("2")]),
            data_row(&[Some("3")]),
            command_complete("SELECT 2"),
            ready(b'T'),
        ]),
    );
    assert_eq!(events.len(), 4);
}

#[test]
fn copy_in_is_refused_with_copy_fail_and_a_fresh_sync() {
    let mut m = ready_machine();
    m.query("copy t from stdin", &[], "", no_params()).unwrap();
    sent(&mut m);
    let events = feed(
        &mut m,
        &concat(&[msg(b'1', &[]), msg(b'2', &[]), msg(b'G', &[0, 0, 0])]),
    );
    assert!(matches!(
        events[..],
        [Event::ParseComplete, Event::BindComplete]
    ));
    assert_eq!(tags(&sent(&mut m)), b"fS");
    let events = feed(
        &mut m,
        &concat(&[
            error("ERROR", "57014", "COPY from stdin failed"),
            ready(b'I'),
        ]),
    );
    assert!(matches!(events[0], Event::Error(_)));
    assert!(m.is_ready());
}

#[test]
fn error_skips_to_ready() {
    let mut m = ready_machine();
    m.query("select nope", &[], "", no_params()).unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            error("ERROR", "42703", "column \"nope\" does not exist"),
            ready(b'I'),
        ]),
    );
    assert!(matches!(events[0], Event::Error(_)));
    assert!(m.is_ready());
}

#[test]
fn close_statement() {
    let mut m = ready_machine();
    m.close(Target::Statement, "s1").unwrap();
    assert_eq!(tags(&sent(&mut m)), b"CS");
    let events = feed(&mut m, &concat(&[msg(b'3', b""), ready(b'I')]));
    assert_eq!(events[0], Event::CloseComplete);
}

#[test]
fn failed_encoding_queues_nothing() {
    let mut m = ready_machine();
    let bind = Bind {
        param_count: 1,
        encode: |_: usize, buf: &mut bytes::BytesMut| {
            buf.put_slice(b"half");
            Err(Error::InvalidInput("cannot encode".into()))
        },
        result_formats: &[],
        max_rows: Some(0),
    };
    assert!(m.query("select $1", &[], "", bind).is_err());
    assert!(m.output().is_empty());
    assert_eq!(m.pending_requests(), 0);
    assert!(m.is_ready());
}

#[test]
fn extended_messages_in_a_simple_query_are_unexpected() {
    let mut m = ready_machine();
    m.simple_query("select 1").unwrap();
    m.receive(&msg(b'1', b""));
    assert!(matches!(
        m.next_event(),
        Err(Error::Protocol(ProtocolError::Unexpected { .. }))
    ));
}

#[test]
fn pipelined_requests_keep_their_own_descriptions() {
    let mut m = ready_machine();
    m.query("select 1", &[], "", no_params()).unwrap();
    m.simple_query("select 2").unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            row_description(&["a"]),
            data_row(&[Some("1")]),
            command_complete("SELECT 1"),
            ready(b'I'),
            row_description(&["b"]),
            data_row(&[Some("2")]),
            command_complete("SELECT 1"),
            ready(b'I'),
        ]),
    );
    assert_eq!(events.len(), 10);
    assert!(m.is_ready());
}
