//! The machine past startup, with requests of every kind queued (simple,
//! extended with a bound parameter, a batch, a portal, a COPY FROM STDIN it
//! accepts), fed arbitrary backend bytes in arbitrary chunk sizes. Every
//! event is drained and every column of every row read; after an error the
//! machine stays failed with the same error, and it never holds more than
//! its message cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgwire_proto::machine::Bind;
use pgwire_proto::types::Value;
use pgwire_proto::{Event, Format, Machine, StartupConfig};

const MAX_MESSAGE: usize = 1 << 20;

fn ready() -> Machine {
    let mut m = Machine::new();
    m.set_max_message_len(MAX_MESSAGE);
    m.start(&StartupConfig::new("fuzz"))
        .unwrap_or_else(|_| unreachable!());
    m.consume_output(m.output().len());
    // AuthenticationOk, BackendKeyData, ReadyForQuery (idle).
    m.receive(b"R\0\0\0\x08\0\0\0\0K\0\0\0\x0c\0\0\0\x07\0\0\0\x2aZ\0\0\0\x05I");
    while let Ok(Some(_)) = m.next_event() {}
    m
}

fn bind(
    params: usize,
) -> Bind<
    'static,
    impl FnMut(usize, &mut bytes::BytesMut) -> Result<Option<Format>, pgwire_proto::Error>,
> {
    Bind {
        param_count: params,
        encode: |_, buf: &mut bytes::BytesMut| {
            buf.extend_from_slice(&7i32.to_be_bytes());
            Ok(Some(Format::Binary))
        },
        result_formats: &[],
        max_rows: Some(0),
    }
}

fn touch(event: &Event) {
    if let Event::Row(row) = event {
        for i in 0..row.len() {
            let _ = row.try_get::<Value>(i);
            let _ = row.try_get::<Option<&[u8]>>(i);
            let _ = row.try_get::<Option<&str>>(i);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&plan, rest)) = data.split_first() else {
        return;
    };
    let mut m = ready();
    // Which requests are waiting for answers: chosen by the first byte.
    let _ = m.simple_query("select 1; select 2");
    if plan & 1 != 0 {
        let _ = m.query("select $1::int4", &[23], "", bind(1));
    }
    if plan & 2 != 0 {
        let _ = m.begin_batch();
        let _ = m.query("select 1", &[], "", bind(0));
        let _ = m.query("select $1::int4", &[23], "", bind(1));
        let _ = m.end_batch();
    }
    if plan & 4 != 0 {
        let portal = Bind {
            max_rows: Some(3),
            ..bind(0)
        };
        let _ = m.query("select g from generate_series(1, 10) g", &[], "p", portal);
    }
    if plan & 8 != 0 {
        if let Ok(id) = m.copy_query("copy t from stdin") {
            let _ = id;
        }
    }
    m.consume_output(m.output().len());
    // The rest: chunk sizes and bytes, interleaved.
    let mut rest = rest;
    let mut failure: Option<String> = None;
    while let Some((&size, tail)) = rest.split_first() {
        let n = usize::from(size % 64 + 1).min(tail.len());
        let (chunk, tail) = tail.split_at(n);
        rest = tail;
        m.receive(chunk);
        if m.is_copy_in() {
            let _ = m.copy_data(b"1\n");
            let _ = m.copy_done();
        }
        loop {
            match m.next_event() {
                Ok(Some(event)) => touch(&event),
                Ok(None) => break,
                Err(e) => {
                    let text = e.to_string();
                    if let Some(first) = &failure {
                        assert_eq!(first, &text, "a failed machine changed its error");
                    }
                    failure = Some(text);
                    break;
                }
            }
        }
        m.consume_output(m.output().len());
        if failure.is_none() {
            // Whole messages are decoded as they come: what waits is one
            // partial message (at most the cap) and the last chunk.
            assert!(
                m.buffered_len() <= MAX_MESSAGE + 64,
                "buffered past the cap"
            );
        }
    }
    m.receive_eof();
    while let Ok(Some(event)) = m.next_event() {
        touch(&event);
    }
});
