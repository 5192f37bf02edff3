//! Batches: executions under one Sync, answered as one request.

use std::sync::Arc;

use super::server::*;
use crate::machine::batch::IN_BATCH;
use crate::machine::Bind;
use crate::message::frontend::Target;
use crate::row::RowDescription;
use crate::{Error, Event, Format};

type Encode = fn(usize, &mut bytes::BytesMut) -> Result<Option<Format>, Error>;

fn run() -> Bind<'static, Encode> {
    Bind {
        param_count: 0,
        encode: |_, _| Ok(None),
        result_formats: &[],
        max_rows: Some(0),
    }
}

/// Columns as a statement's description reports them.
fn described(names: &[&str]) -> Arc<RowDescription> {
    let mut m = ready_machine();
    m.prepare("s", "select", &[]).unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b't', &[0, 0]),
            row_description(names),
            ready(b'I'),
        ]),
    );
    events
        .into_iter()
        .find_map(|e| match e {
            Event::RowDescription(d) => Some(d),
            _ => None,
        })
        .unwrap()
}

/// The member each event was reported for.
fn feed_members(m: &mut crate::Machine, bytes: &[u8]) -> Vec<(Event, Option<usize>)> {
    m.receive(bytes);
    let mut out = Vec::new();
    while let Some(event) = m.next_event().unwrap() {
        out.push((event, m.event_member()));
    }
    out
}

#[test]
fn members_share_one_sync_and_one_request() {
    let mut m = ready_machine();
    let id = m.begin_batch().unwrap();
    m.query("select 1", &[], "", run()).unwrap();
    m.query("select 2", &[], "", run()).unwrap();
    assert_eq!(m.batch_members(), 2);
    assert_eq!(m.end_batch().unwrap(), id);
    assert_eq!(tags(&sent(&mut m)), b"PBDEPBDES");
    assert_eq!(m.pending_requests(), 1);
    let events = feed_members(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            row_description(&["a"]),
            data_row(&[Some("1")]),
            command_complete("SELECT 1"),
            msg(b'1', b""),
            msg(b'2', b""),
            row_description(&["b"]),
            data_row(&[Some("2")]),
            command_complete("SELECT 1"),
            ready(b'I'),
        ]),
    );
    let members: Vec<_> = events.iter().map(|(_, m)| *m).collect();
    assert_eq!(
        members,
        [
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(1),
            Some(1),
            Some(1),
            Some(1),
            Some(1),
            None
        ]
    );
    assert!(matches!(events[10].0, Event::ReadyForQuery(_)));
    assert!(m.is_ready());
}

#[test]
fn an_error_skips_the_remaining_members() {
    let mut m = ready_machine();
    m.begin_batch().unwrap();
    for sql in ["select 1", "select nope", "select 3"] {
        m.query(sql, &[], "", run()).unwrap();
    }
    m.end_batch().unwrap();
    sent(&mut m);
    let events = feed_members(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            msg(b'n', b""),
            command_complete("SELECT 0"),
            error("ERROR", "42703", "column \"nope\" does not exist"),
            ready(b'I'),
        ]),
    );
    assert_eq!(events[4].1, Some(1), "the error is the second member's");
    assert!(matches!(events[4].0, Event::Error(_)));
    assert!(matches!(events[5], (Event::ReadyForQuery(_), None)));
    assert!(m.is_ready());
}

#[test]
fn an_error_after_the_last_member_belongs_to_none() {
    // A deferred constraint fails at the Sync's implicit commit.
    let mut m = ready_machine();
    m.begin_batch().unwrap();
    m.query("insert", &[], "", run()).unwrap();
    m.end_batch().unwrap();
    sent(&mut m);
    let events = feed_members(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            msg(b'n', b""),
            command_complete("INSERT 0 1"),
            error("ERROR", "23503", "violates foreign key constraint"),
            ready(b'I'),
        ]),
    );
    assert_eq!(events[3].1, Some(0));
    assert!(matches!(events[4], (Event::Error(_), None)));
    assert!(m.is_ready());
}

#[test]
fn preset_columns_apply_member_by_member() {
    let mut m = ready_machine();
    let first = described(&["a"]);
    let second = described(&["b", "c"]);
    m.begin_batch().unwrap();
    m.bind_execute("s1", "", run(), Some(Arc::clone(&first)))
        .unwrap();
    m.bind_execute("s2", "", run(), Some(Arc::clone(&second)))
        .unwrap();
    m.end_batch().unwrap();
    assert_eq!(tags(&sent(&mut m)), b"BEBES");
    let events = feed(
        &mut m,
        &concat(&[
            msg(b'2', b""),
            data_row(&[Some("1")]),
            command_complete("SELECT 1"),
            msg(b'2', b""),
            data_row(&[Some("2"), Some("3")]),
            command_complete("SELECT 1"),
            ready(b'I'),
        ]),
    );
    let widths: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Row(r) => Some(r.len()),
            _ => None,
        })
        .collect();
    assert_eq!(widths, [1, 2]);
}

#[test]
fn members_added_while_earlier_ones_answer() {
    let mut m = ready_machine();
    m.begin_batch().unwrap();
    m.query("insert 1", &[], "", run()).unwrap();
    sent(&mut m);
    let events = feed_members(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            msg(b'n', b""),
            command_complete("INSERT 0 1"),
        ]),
    );
    assert_eq!(events.len(), 4);
    assert_eq!(m.current_member(), None, "between members");
    m.query("insert 2", &[], "", run()).unwrap();
    assert_eq!(
        m.current_member(),
        Some(1),
        "the added member begins at once"
    );
    m.end_batch().unwrap();
    sent(&mut m);
    let events = feed_members(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            msg(b'n', b""),
            command_complete("INSERT 0 1"),
            ready(b'I'),
        ]),
    );
    assert_eq!(events[3].1, Some(1));
    assert!(m.is_ready());
}

#[test]
fn only_executions_join_a_batch() {
    let mut m = ready_machine();
    m.begin_batch().unwrap();
    let refused = |e: Error| matches!(e, Error::InvalidState { state, .. } if state == IN_BATCH);
    assert!(refused(m.simple_query("select 1").unwrap_err()));
    assert!(refused(m.prepare("s", "select 1", &[]).unwrap_err()));
    assert!(refused(m.close(Target::Statement, "s").unwrap_err()));
    assert!(refused(m.begin_batch().unwrap_err()));
    let bind_only = Bind {
        max_rows: None,
        ..run()
    };
    assert!(refused(
        m.query("select 1", &[], "p", bind_only).unwrap_err()
    ));
    let id = m.end_batch().unwrap();
    assert!(refused(m.accept_copy_in(id).unwrap_err()));
    assert!(m.end_batch().is_err(), "no batch is open");
    // The empty batch is a Sync alone.
    assert_eq!(tags(&sent(&mut m)), b"S");
    feed(&mut m, &ready(b'I'));
    assert!(m.is_ready());
}

#[test]
fn a_copy_in_member_is_refused_without_an_extra_sync() {
    let mut m = ready_machine();
    m.begin_batch().unwrap();
    m.query("copy t from stdin", &[], "", run()).unwrap();
    m.query("select 2", &[], "", run()).unwrap();
    m.end_batch().unwrap();
    sent(&mut m);
    feed(
        &mut m,
        &concat(&[
            msg(b'1', b""),
            msg(b'2', b""),
            msg(b'n', b""),
            msg(b'G', &[0, 0, 0]),
        ]),
    );
    // A CopyFail and no Sync: the second member and the batch's Sync follow.
    assert_eq!(tags(&sent(&mut m)), b"f");
    feed(
        &mut m,
        &concat(&[
            error("ERROR", "57014", "COPY from stdin failed"),
            ready(b'I'),
        ]),
    );
    assert!(m.is_ready());
}

#[test]
fn requests_queued_since_a_mark_can_be_taken_back() {
    let mut m = ready_machine();
    m.query("select 0", &[], "", run()).unwrap();
    let before = m.output().len();
    let mark = m.queue_mark();
    m.query("select 1", &[], "", run()).unwrap();
    m.begin_batch().unwrap();
    m.query("select 2", &[], "", run()).unwrap();
    m.unqueue_to(mark).unwrap();
    assert_eq!(m.output().len(), before);
    assert_eq!(m.pending_requests(), 1);
    assert!(!m.in_batch());
    assert_eq!(m.next_request_id().0, 1);
    // Once sent, nothing comes back.
    let mark = m.queue_mark();
    m.query("select 3", &[], "", run()).unwrap();
    sent(&mut m);
    assert!(m.unqueue_to(mark).is_err());
}
