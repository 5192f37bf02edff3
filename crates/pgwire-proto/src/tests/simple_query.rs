use super::server::*;
use crate::{Event, Machine, SqlState, TransactionStatus};

fn names(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::RowDescription(_) => "RowDescription",
            Event::Row(_) => "Row",
            Event::CommandComplete(_) => "CommandComplete",
            Event::EmptyQuery => "EmptyQuery",
            Event::Error(_) => "Error",
            Event::Notice(_) => "Notice",
            Event::ReadyForQuery(_) => "ReadyForQuery",
            Event::ParameterStatus { .. } => "ParameterStatus",
            Event::Notification(_) => "Notification",
            _ => "other",
        })
        .collect()
}

fn two_statement_answer() -> Vec<u8> {
    concat(&[
        row_description(&["a", "b"]),
        data_row(&[Some("1"), None]),
        data_row(&[Some("2"), Some("two")]),
        command_complete("SELECT 2"),
        notice("just so you know"),
        command_complete("INSERT 0 5"),
        ready(b'I'),
    ])
}

#[test]
fn rows_and_tags_of_a_multi_statement_query() {
    let mut m = ready_machine();
    let id = m
        .simple_query("select a, b from t; insert into u select ...")
        .unwrap();
    assert_eq!(m.current_request(), Some(id));
    assert_eq!(&sent(&mut m)[..1], b"Q");
    assert!(!m.is_ready());
    let events = feed(&mut m, &two_statement_answer());
    assert_eq!(
        names(&events),
        [
            "RowDescription",
            "Row",
            "Row",
            "CommandComplete",
            "Notice",
            "CommandComplete",
            "ReadyForQuery"
        ]
    );
    let Event::Row(row) = &events[2] else {
        panic!()
    };
    assert_eq!(row.text(1).unwrap(), Some("two"));
    let Event::Row(row) = &events[1] else {
        panic!()
    };
    assert_eq!(row.text(1).unwrap(), None);
    assert!(row.text(2).is_err());
    let Event::CommandComplete(c) = &events[5] else {
        panic!()
    };
    assert_eq!(c.rows(), Some(5));
    assert!(m.is_ready());
    assert_eq!(m.current_request(), None);
}

#[test]
fn every_split_gives_the_same_events() {
    let bytes = two_statement_answer();
    let mut whole = ready_machine();
    whole.simple_query("q").unwrap();
    let expected = feed(&mut whole, &bytes);
    for split in 0..=bytes.len() {
        let mut m = ready_machine();
        m.simple_query("q").unwrap();
        let mut events = feed(&mut m, &bytes[..split]);
        events.extend(feed(&mut m, &bytes[split..]));
        assert_eq!(events, expected, "split at {split}");
    }
    // and byte by byte
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    let events: Vec<Event> = bytes.iter().flat_map(|b| feed(&mut m, &[*b])).collect();
    assert_eq!(events, expected);
}

#[test]
fn recoverable_error_then_next_query_works() {
    let mut m = ready_machine();
    m.simple_query("select * from missing").unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            error("ERROR", "42P01", "relation \"missing\" does not exist"),
            ready(b'I'),
        ]),
    );
    let Event::Error(e) = &events[0] else {
        panic!()
    };
    assert_eq!(e.sqlstate(), SqlState::UNDEFINED_TABLE);
    assert!(e.is_recoverable());
    assert!(m.is_ready());
    m.simple_query("select 1").unwrap();
    let events = feed(
        &mut m,
        &concat(&[
            row_description(&["?column?"]),
            data_row(&[Some("1")]),
            command_complete("SELECT 1"),
            ready(b'I'),
        ]),
    );
    assert_eq!(events.len(), 4);
}

#[test]
fn empty_query() {
    let mut m = ready_machine();
    m.simple_query("").unwrap();
    let events = feed(&mut m, &concat(&[msg(b'I', b""), ready(b'I')]));
    assert_eq!(names(&events), ["EmptyQuery", "ReadyForQuery"]);
}

#[test]
fn transaction_status_follows_ready_for_query() {
    let mut m = ready_machine();
    m.simple_query("begin").unwrap();
    feed(&mut m, &concat(&[command_complete("BEGIN"), ready(b'T')]));
    assert_eq!(m.transaction_status(), TransactionStatus::InTransaction);
    m.simple_query("select x").unwrap();
    feed(
        &mut m,
        &concat(&[error("ERROR", "42703", "no x"), ready(b'E')]),
    );
    assert_eq!(m.transaction_status(), TransactionStatus::Failed);
}

#[test]
fn requests_queue_in_order() {
    let mut m = ready_machine();
    let a = m.simple_query("select 1").unwrap();
    let b = m.simple_query("select 2").unwrap();
    assert!(b > a);
    assert_eq!(m.pending_requests(), 2);
    feed(
        &mut m,
        &concat(&[command_complete("SELECT 0"), ready(b'I')]),
    );
    assert_eq!(m.current_request(), Some(b));
}

#[test]
fn notifications_and_parameter_changes_between_queries() {
    let mut m = ready_machine();
    let mut note = 99i32.to_be_bytes().to_vec();
    note.extend_from_slice(b"chan\0payload\0");
    let events = feed(
        &mut m,
        &concat(&[msg(b'A', &note), param("application_name", "x")]),
    );
    assert_eq!(names(&events), ["Notification", "ParameterStatus"]);
    assert_eq!(m.parameters()["application_name"], "x");
    assert!(m.is_ready());
}

#[test]
fn fatal_error_mid_query_ends_the_session() {
    let mut m = ready_machine();
    m.simple_query("select pg_sleep(10)").unwrap();
    let events = feed(
        &mut m,
        &error(
            "FATAL",
            "57P01",
            "terminating connection due to administrator command",
        ),
    );
    let Event::Error(e) = &events[0] else {
        panic!()
    };
    assert!(!e.is_recoverable());
    assert!(m.failure().is_some());
    assert!(m.simple_query("select 1").is_err());
}

#[test]
fn copy_in_is_refused_with_copy_fail() {
    let mut m = ready_machine();
    m.simple_query("copy t from stdin").unwrap();
    sent(&mut m);
    assert!(feed(&mut m, &msg(b'G', &[0, 0, 0])).is_empty());
    assert_eq!(&sent(&mut m)[..1], b"f");
}

#[test]
fn terminate_queues_x_and_refuses_later_commands() {
    let mut m: Machine = ready_machine();
    m.terminate().unwrap();
    assert_eq!(sent(&mut m), b"X\0\0\0\x04");
    assert!(m.simple_query("select 1").is_err());
    assert!(m.terminate().is_err());
}

#[test]
fn events_stay_small() {
    // Every row travels as an Event inside a Result through several layers.
    assert!(
        std::mem::size_of::<Event>() <= 64,
        "{}",
        std::mem::size_of::<Event>()
    );
    assert!(
        std::mem::size_of::<Result<Option<Event>, crate::Error>>() <= 72,
        "{}",
        std::mem::size_of::<Result<Option<Event>, crate::Error>>()
    );
}

#[test]
fn next_row_is_a_fast_path_for_rows_only() {
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    m.receive(&concat(&[
        row_description(&["a"]),
        data_row(&[Some("1")]),
        data_row(&[Some("2")]),
        command_complete("SELECT 2"),
        ready(b'I'),
    ]));
    // No description yet: the general path must run first.
    assert_eq!(m.next_row(), Ok(None));
    assert!(matches!(m.next_event(), Ok(Some(Event::RowDescription(_)))));
    assert_eq!(m.next_row().unwrap().unwrap().text(0).unwrap(), Some("1"));
    assert_eq!(m.next_row().unwrap().unwrap().text(0).unwrap(), Some("2"));
    // CommandComplete is not a row.
    assert_eq!(m.next_row(), Ok(None));
    assert!(matches!(
        m.next_event(),
        Ok(Some(Event::CommandComplete(_)))
    ));
    assert!(matches!(m.next_event(), Ok(Some(Event::ReadyForQuery(_)))));
    assert!(m.is_ready());
    // A malformed row on the fast path fails the machine like any other.
    m.simple_query("q").unwrap();
    m.receive(&concat(&[
        row_description(&["a"]),
        data_row(&[Some("1"), Some("2")]),
    ]));
    assert!(matches!(m.next_event(), Ok(Some(Event::RowDescription(_)))));
    assert!(m.next_row().is_err());
    assert!(m.failure().is_some());
}

#[test]
fn every_read_size_gives_the_same_rows_on_the_fast_path() {
    let bytes = concat(&[
        two_statement_answer(),
        // A second request whose rows hold every kind of value.
        row_description(&["a", "b", "c"]),
        data_row(&[Some(""), None, Some("x")]),
        data_row(&[None, None, None]),
        data_row(&[Some(&"long ".repeat(50)), Some("ü"), Some("")]),
        command_complete("SELECT 3"),
        ready(b'I'),
    ]);
    let mut whole = ready_machine();
    whole.simple_query("q").unwrap();
    whole.simple_query("q").unwrap();
    let expected = feed(&mut whole, &bytes);
    assert_eq!(names(&expected).iter().filter(|n| **n == "Row").count(), 5);
    for read in 1..=bytes.len() {
        let mut m = ready_machine();
        m.simple_query("q").unwrap();
        m.simple_query("q").unwrap();
        // Every row is kept, so the buffer cannot be reused under them.
        let events = feed_reads(&mut m, &bytes, read);
        assert_eq!(events, expected, "reads of {read} bytes");
        assert!(m.is_ready());
    }
    // Every split point, with the rows of the first part dropped before the
    // second part arrives (so its bytes land where those rows were).
    for split in 0..=bytes.len() {
        let mut m = ready_machine();
        m.simple_query("q").unwrap();
        m.simple_query("q").unwrap();
        let first = feed_reads(&mut m, &bytes[..split], usize::MAX);
        let n = first.len();
        let strings: Vec<String> = first.iter().map(|e| format!("{e:?}")).collect();
        drop(first);
        let second = feed_reads(&mut m, &bytes[split..], usize::MAX);
        let all: Vec<String> = strings
            .into_iter()
            .chain(second.iter().map(|e| format!("{e:?}")))
            .collect();
        let want: Vec<String> = expected.iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(all, want, "split at {split} ({n} events before)");
    }
}

#[test]
fn streaming_keeps_the_receive_buffer_small() {
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    let mut events = feed(&mut m, &row_description(&["i", "t"]));
    assert_eq!(names(&events), ["RowDescription"]);
    let batch: Vec<u8> = (0..1000)
        .flat_map(|i| data_row(&[Some(&i.to_string()), Some("some text")]))
        .collect();
    let mut rows = 0;
    let mut kept = Vec::new();
    for round in 0..300 {
        // Reads of an awkward size, so rows straddle them.
        for event in feed_reads(&mut m, &batch, 7_919) {
            let Event::Row(row) = event else {
                panic!("{event:?}")
            };
            assert_eq!(row.text(1).unwrap(), Some("some text"));
            rows += 1;
            // Now and then a row outlives many reads.
            if rows % 50_000 == 0 {
                kept.push(row);
            }
        }
        assert!(
            m.receive_capacity() <= 256 * 1024,
            "round {round}: {}",
            m.receive_capacity()
        );
    }
    assert_eq!(rows, 300_000);
    assert_eq!(kept.len(), 6);
    for row in &kept {
        assert_eq!(row.text(1).unwrap(), Some("some text"));
        let value = row.raw_bytes(1).unwrap().unwrap();
        assert_eq!(&value[..], b"some text");
        assert_eq!(row.clone(), *row);
    }
    events = feed(
        &mut m,
        &concat(&[command_complete("SELECT 300000"), ready(b'I')]),
    );
    assert_eq!(names(&events), ["CommandComplete", "ReadyForQuery"]);
}

#[test]
fn a_large_row_arrives_whole_and_its_memory_is_released() {
    let mut m = ready_machine();
    m.simple_query("q").unwrap();
    let big = "x".repeat(5 << 20);
    let bytes = concat(&[
        row_description(&["a"]),
        data_row(&[Some(&big)]),
        data_row(&[Some("small")]),
        command_complete("SELECT 2"),
        ready(b'I'),
    ]);
    let events = feed_reads(&mut m, &bytes, 64 * 1024);
    assert_eq!(
        names(&events),
        [
            "RowDescription",
            "Row",
            "Row",
            "CommandComplete",
            "ReadyForQuery"
        ]
    );
    let Event::Row(row) = &events[1] else {
        panic!()
    };
    assert_eq!(row.text(0).unwrap(), Some(big.as_str()));
    drop(events);
    // The next read no longer keeps the grown buffer.
    let _ = m.receive_buffer();
    assert!(
        m.receive_capacity() <= 256 * 1024,
        "{}",
        m.receive_capacity()
    );
}
