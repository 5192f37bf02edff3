//! Builders for backend messages, as a test server would send them.

use crate::{Event, Machine, Row, StartupConfig};

pub fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

pub fn auth(code: i32, extra: &[u8]) -> Vec<u8> {
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(extra);
    msg(b'R', &body)
}

pub fn auth_ok() -> Vec<u8> {
    auth(0, &[])
}

pub fn param(name: &str, value: &str) -> Vec<u8> {
    msg(b'S', format!("{name}\0{value}\0").as_bytes())
}

pub fn key_data(pid: i32, key: i32) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    body.extend_from_slice(&key.to_be_bytes());
    msg(b'K', &body)
}

pub fn ready(status: u8) -> Vec<u8> {
    msg(b'Z', &[status])
}

pub fn row_description(names: &[&str]) -> Vec<u8> {
    let mut body = (names.len() as i16).to_be_bytes().to_vec();
    for name in names {
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend_from_slice(&0u32.to_be_bytes()); // table
        body.extend_from_slice(&0i16.to_be_bytes()); // column
        body.extend_from_slice(&25u32.to_be_bytes()); // text
        body.extend_from_slice(&(-1i16).to_be_bytes());
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&0i16.to_be_bytes());
    }
    msg(b'T', &body)
}

pub fn data_row(values: &[Option<&str>]) -> Vec<u8> {
    let mut body = (values.len() as i16).to_be_bytes().to_vec();
    for v in values {
        match v {
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(s) => {
                body.extend_from_slice(&(s.len() as i32).to_be_bytes());
                body.extend_from_slice(s.as_bytes());
            }
        }
    }
    msg(b'D', &body)
}

pub fn command_complete(tag: &str) -> Vec<u8> {
    msg(b'C', format!("{tag}\0").as_bytes())
}

pub fn error(severity: &str, code: &str, message: &str) -> Vec<u8> {
    msg(
        b'E',
        format!("S{severity}\0V{severity}\0C{code}\0M{message}\0\0").as_bytes(),
    )
}

pub fn notice(message: &str) -> Vec<u8> {
    msg(
        b'N',
        format!("SNOTICE\0VNOTICE\0C00000\0M{message}\0\0").as_bytes(),
    )
}

pub fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// Takes everything the client queued.
pub fn sent(m: &mut Machine) -> Vec<u8> {
    m.take_output().to_vec()
}

/// Feeds bytes and collects every event until the machine needs more.
pub fn feed(m: &mut Machine, bytes: &[u8]) -> Vec<Event> {
    m.receive(bytes);
    drain(m)
}

pub fn drain(m: &mut Machine) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        match m.next_event() {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return events,
            // After a FATAL error event, the session is over.
            Err(crate::Error::SessionEnded(_)) => return events,
            Err(e) => panic!("protocol error: {e}"),
        }
    }
}

/// Feeds bytes and returns the first error the machine reports for them.
pub fn first_error(m: &mut Machine, bytes: &[u8]) -> crate::Error {
    m.receive(bytes);
    loop {
        match m.next_event() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("no error"),
            Err(e) => return e,
        }
    }
}

/// A machine past startup (trust authentication), with its output taken.
pub fn ready_machine() -> Machine {
    let mut m = Machine::new();
    m.start(&StartupConfig::new("alice")).unwrap();
    sent(&mut m);
    feed(
        &mut m,
        &concat(&[
            auth_ok(),
            param("TimeZone", "UTC"),
            key_data(7, 42),
            ready(b'I'),
        ]),
    );
    assert!(m.is_ready());
    m
}

/// Collects events the way a streaming caller does: rows through the
/// `next_row` fast path, everything else through `next_event`.
pub fn drain_rows_first(m: &mut Machine) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        match m.next_row() {
            Ok(Some(row)) => events.push(Event::Row(row)),
            Ok(None) => match m.next_event() {
                Ok(Some(e)) => events.push(e),
                Ok(None) => return events,
                Err(e) => panic!("protocol error: {e}"),
            },
            Err(e) => panic!("protocol error: {e}"),
        }
    }
}

/// Feeds `bytes` in reads of at most `read` bytes straight into the
/// machine's receive buffer, draining after each.
pub fn feed_reads(m: &mut Machine, bytes: &[u8], read: usize) -> Vec<Event> {
    let mut events = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let room = m.receive_buffer();
        assert!(!room.is_empty());
        let n = room.len().min(read).min(rest.len());
        room[..n].copy_from_slice(&rest[..n]);
        m.commit_received(n);
        rest = &rest[n..];
        events.extend(drain_rows_first(m));
    }
    events
}

/// The tags of the frontend messages in `bytes`, in order.
pub fn tags(bytes: &[u8]) -> Vec<u8> {
    let mut tags = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        tags.push(rest[0]);
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        rest = &rest[1 + len..];
    }
    tags
}

/// The rows among `events`, in order.
pub fn rows_of(events: Vec<Event>) -> Vec<Row> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Row(row) => Some(row),
            _ => None,
        })
        .collect()
}
