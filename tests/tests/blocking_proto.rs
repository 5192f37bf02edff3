//! The sans-IO machine driven by plain blocking code over `std::net`, as an
//! embedder would, against the real server: startup, a pipelined pair of
//! requests, COPY FROM STDIN refused on both protocols without a hang, and
//! COPY in and out through the machine's COPY states.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use pgwire_integration_tests::{database, port, Role};
use pgwire_proto::machine::Bind;
use pgwire_proto::{Error, Event, Format, Machine, StartupConfig};

/// Drives `m` over `sock` until `requests` more ReadyForQuery have arrived,
/// returning every event.
fn drive(m: &mut Machine, sock: &mut TcpStream, requests: usize) -> Vec<Event> {
    let mut events = Vec::new();
    let mut ready = 0;
    loop {
        let out = m.take_output();
        sock.write_all(&out).unwrap();
        while let Some(event) = m.next_event().unwrap() {
            if matches!(event, Event::ReadyForQuery(_)) {
                ready += 1;
            }
            events.push(event);
            if ready == requests {
                let out = m.take_output();
                sock.write_all(&out).unwrap();
                return events;
            }
        }
        let out = m.take_output();
        sock.write_all(&out).unwrap();
        // A read timeout turns a protocol hang into a test failure.
        let n = sock
            .read(m.receive_buffer())
            .expect("the server went silent");
        if n == 0 {
            m.receive_eof();
        } else {
            m.commit_received(n);
        }
    }
}

fn connect() -> (Machine, TcpStream) {
    let mut sock = TcpStream::connect(("127.0.0.1", port())).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut m = Machine::new();
    m.start(&StartupConfig::new(Role::Trust.user()).database(database()))
        .unwrap();
    drive(&mut m, &mut sock, 1);
    assert!(m.is_ready());
    (m, sock)
}

fn no_params(
) -> Bind<'static, impl FnMut(usize, &mut bytes::BytesMut) -> Result<Option<Format>, Error>> {
    Bind {
        param_count: 0,
        encode: |_, _: &mut bytes::BytesMut| Ok(None),
        result_formats: &[],
        max_rows: Some(0),
    }
}

fn errors(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Error(e) => Some(e.sqlstate().code().to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn pipelined_requests_over_a_blocking_socket() {
    let (mut m, mut sock) = connect();
    m.query("select 1::int4", &[], "", no_params()).unwrap();
    m.simple_query("select 'two'").unwrap();
    let events = drive(&mut m, &mut sock, 2);
    let rows: Vec<&pgwire_proto::Row> = events
        .iter()
        .filter_map(|e| match e {
            Event::Row(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].text(0).unwrap(), Some("1"));
    assert_eq!(rows[1].text(0).unwrap(), Some("two"));
    assert!(m.is_ready());
}

#[test]
fn copy_from_stdin_is_refused_on_both_protocols() {
    let (mut m, mut sock) = connect();
    m.simple_query("create temp table copy_target (a int)")
        .unwrap();
    drive(&mut m, &mut sock, 1);
    // The extended protocol: the server ignores the request's Sync in
    // copy-in mode, so the machine must send another after CopyFail.
    m.query("copy copy_target from stdin", &[], "", no_params())
        .unwrap();
    let events = drive(&mut m, &mut sock, 1);
    assert_eq!(errors(&events), ["57014"]);
    m.simple_query("copy copy_target from stdin").unwrap();
    let events = drive(&mut m, &mut sock, 1);
    assert_eq!(errors(&events), ["57014"]);
    // And the session goes on.
    m.simple_query("select count(*) from copy_target").unwrap();
    let events = drive(&mut m, &mut sock, 1);
    assert!(errors(&events).is_empty());
    assert!(m.is_ready());
}

/// Drives `m` over `sock` until an event `stop` accepts arrives; returns
/// every event up to it.
fn drive_until(m: &mut Machine, sock: &mut TcpStream, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let out = m.take_output();
        sock.write_all(&out).unwrap();
        while let Some(event) = m.next_event().unwrap() {
            let done = stop(&event);
            events.push(event);
            if done {
                return events;
            }
        }
        let n = sock
            .read(m.receive_buffer())
            .expect("the server went silent");
        if n == 0 {
            m.receive_eof();
        } else {
            m.commit_received(n);
        }
    }
}

fn copy_in_started(event: &Event) -> bool {
    matches!(event, Event::CopyInResponse(_))
}

/// The machine's COPY states against the real server, on both protocols:
/// data and CopyDone, CopyFail, an error mid-copy (the extended protocol
/// needs the Sync the machine adds), and copy-out.
#[test]
fn copy_in_and_out_on_both_protocols() {
    let (mut m, mut sock) = connect();
    m.simple_query("create temp table copy_both (a int primary key)")
        .unwrap();
    drive(&mut m, &mut sock, 1);
    for extended in [false, true] {
        let base = if extended { 10 } else { 0 };
        let sql = "copy copy_both from stdin";
        let start = |m: &mut Machine| {
            let id = if extended {
                m.query(sql, &[], "", no_params()).unwrap()
            } else {
                m.simple_query(sql).unwrap()
            };
            m.accept_copy_in(id).unwrap();
        };
        // Data, then CopyDone.
        start(&mut m);
        drive_until(&mut m, &mut sock, copy_in_started);
        m.copy_data(format!("{}\n{}\n", base + 1, base + 2).as_bytes())
            .unwrap();
        m.copy_done().unwrap();
        let events = drive(&mut m, &mut sock, 1);
        assert!(
            errors(&events).is_empty(),
            "extended {extended}: {events:?}"
        );
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::CommandComplete(c) if c.rows() == Some(2))));
        // CopyFail: rolled back.
        start(&mut m);
        drive_until(&mut m, &mut sock, copy_in_started);
        m.copy_data(format!("{}\n", base + 3).as_bytes()).unwrap();
        m.copy_fail("not today").unwrap();
        assert_eq!(errors(&drive(&mut m, &mut sock, 1)), ["57014"]);
        // A duplicate key mid-copy: the server ends the COPY first (once
        // it inserts its buffered rows, within a few thousand).
        start(&mut m);
        drive_until(&mut m, &mut sock, copy_in_started);
        m.copy_data(format!("{}\n", base + 1).as_bytes()).unwrap();
        let more: String = (100..20_000)
            .map(|i| format!("{}\n", base * 10_000 + i))
            .collect();
        m.copy_data(more.as_bytes()).unwrap();
        let events = drive_until(&mut m, &mut sock, |e| matches!(e, Event::Error(_)));
        assert_eq!(errors(&events), ["23505"]);
        assert!(m.copy_data(b"99\n").is_err());
        drive(&mut m, &mut sock, 1);
        assert!(m.is_ready(), "extended {extended}");
    }
    m.query(
        "copy (select a from copy_both order by a) to stdout",
        &[],
        "",
        no_params(),
    )
    .unwrap();
    let data: Vec<u8> = drive(&mut m, &mut sock, 1)
        .into_iter()
        .filter_map(|e| match e {
            Event::CopyData(d) => Some(d.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(data, b"1\n2\n11\n12\n");
    assert!(m.is_ready());
}
