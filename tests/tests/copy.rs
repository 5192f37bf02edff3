//! COPY in and out against the real server: text, CSV and binary, typed
//! binary rows, backpressure, bad input, dropped writers and streams, COPY
//! on a shared connection, inside a transaction and through the pool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::{AsyncWriteExt, TryStreamExt};
use pgwire_conn::types::oid;
use pgwire_conn::{
    BinaryCopyInWriter, BinaryCopyOutStream, Connection, Error, PoolOptions, SqlState,
};
use pgwire_integration_tests::{
    after_polls, backend_pid, connect, options, runtime_tests, unique_name, within, Role, Runtime,
};

async fn count<S>(conn: &Connection<S>, table: &str) -> i64
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    conn.fetch_one(&format!("select count(*) from {table}"), ())
        .await
        .unwrap()
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn copied_out<S>(conn: &Connection<S>, sql: &str) -> Vec<u8>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let mut out = conn.copy_out(sql).await.unwrap();
    let mut data = Vec::new();
    while let Some(chunk) = out.try_next().await.unwrap() {
        data.extend_from_slice(&chunk);
    }
    data
}

async fn answers_after<S>(conn: &Connection<S>)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let row = conn.fetch_one("select 41 + 1", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 42);
    assert!(conn.ready());
    assert!(!conn.dead());
}

async fn text_csv_and_binary_go_in_and_out<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("copy_fmt");
    conn.execute(&format!("create temp table {t} (id int4, name text)"), ())
        .await
        .unwrap();
    // Text, rows split anywhere between sends.
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    assert_eq!(copy.format(), pgwire_conn::Format::Text);
    assert_eq!(copy.column_formats().len(), 2);
    copy.send(b"1\tone\n2\t").await.unwrap();
    copy.send(b"two\n3\t\\N\n").await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 3);
    // CSV, as an AsyncWrite.
    let mut copy = conn
        .copy_in(&format!("copy {t} from stdin (format csv)"))
        .await
        .unwrap();
    copy.write_all(b"4,\"fo,ur\"\n5,five\n").await.unwrap();
    copy.flush().await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 2);
    assert_eq!(
        copied_out(
            &conn,
            &format!("copy (select * from {t} order by id) to stdout")
        )
        .await,
        b"1\tone\n2\ttwo\n3\t\\N\n4\tfo,ur\n5\tfive\n"
    );
    assert_eq!(
        copied_out(
            &conn,
            &format!("copy (select * from {t} where id > 3 order by id) to stdout (format csv)")
        )
        .await,
        b"4,\"fo,ur\"\n5,five\n"
    );
    // Binary out, and the same bytes back in.
    let binary = copied_out(
        &conn,
        &format!("copy (select * from {t} order by id) to stdout (format binary)"),
    )
    .await;
    assert!(binary.starts_with(b"PGCOPY\n\xff\r\n\0"));
    let mut copy = conn
        .copy_in(&format!("copy {t} from stdin (format binary)"))
        .await
        .unwrap();
    assert_eq!(copy.format(), pgwire_conn::Format::Binary);
    copy.send(&binary).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 5);
    assert_eq!(count(&conn, &t).await, 10);
    answers_after(&conn).await;
}

async fn typed_binary_rows_both_ways<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("copy_typed");
    conn.execute(
        &format!(
            "create temp table {t} (a int4, b int8, c text, d bool, e float8, f bytea, g date)"
        ),
        (),
    )
    .await
    .unwrap();
    let types = [
        oid::INT4,
        oid::INT8,
        oid::TEXT,
        oid::BOOL,
        oid::FLOAT8,
        oid::BYTEA,
        oid::DATE,
    ];
    let copy = conn
        .copy_in(&format!("copy {t} from stdin (format binary)"))
        .await
        .unwrap();
    let mut writer = BinaryCopyInWriter::new(copy, &types).unwrap();
    let day = time::Date::from_calendar_date(2024, time::Month::February, 29).unwrap();
    for i in 0..10_000i32 {
        let name = format!("row {i}");
        let bytes = vec![i as u8; 3];
        let c: Option<&str> = (i % 10 != 0).then_some(name.as_str());
        writer
            .write(&[
                &i,
                &(i64::from(i) * 1_000_000_007),
                &c,
                &(i % 2 == 0),
                &(f64::from(i) / 4.0),
                &bytes,
                &day,
            ])
            .await
            .unwrap();
    }
    // A value of the wrong type is refused before anything of its row is sent.
    let err = writer
        .write(&[&"x", &1i64, &"c", &true, &1.0f64, &vec![0u8], &day])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Encode { index: 0, .. }), "{err:?}");
    assert_eq!(writer.finish().await.unwrap(), 10_000);
    let row = conn
        .fetch_one(
            &format!(
                "select sum(a)::int8, count(c), sum(b)::text, bool_and(g = '2024-02-29') from {t}"
            ),
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>(0).unwrap(), 49_995_000);
    assert_eq!(row.try_get::<i64>(1).unwrap(), 9_000);
    assert!(row.try_get::<bool>(3).unwrap());

    let out = conn
        .copy_out(&format!(
            "copy (select a, c, f from {t} order by a) to stdout (format binary)"
        ))
        .await
        .unwrap();
    let mut rows = BinaryCopyOutStream::new(out, &[oid::INT4, oid::TEXT, oid::BYTEA]).unwrap();
    let mut n = 0i32;
    while let Some(row) = rows.try_next().await.unwrap() {
        assert_eq!(row.len(), 3);
        assert_eq!(row.try_get::<i32>(0).unwrap(), n);
        let c: Option<&str> = row.try_get(1).unwrap();
        assert_eq!(c.is_none(), n % 10 == 0);
        assert_eq!(row.try_get::<&[u8]>(2).unwrap(), &[n as u8; 3][..]);
        assert!(row.try_get::<i32>(1).is_err(), "a text value is no int4");
        assert!(row.try_get::<i32>(3).is_err(), "no fourth column");
        n += 1;
    }
    assert_eq!(n, 10_000);
    assert_eq!(rows.rows(), Some(10_000));
    answers_after(&conn).await;
}

/// 30 MiB through the writer: sent in bounded messages as the socket takes
/// them, while the server reads.
async fn large_copies_stream_both_ways<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("copy_big");
    conn.execute(&format!("create temp table {t} (id int4, pad text)"), ())
        .await
        .unwrap();
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    let pad = "p".repeat(290);
    let mut chunk = String::new();
    for i in 0..100_000 {
        chunk.push_str(&format!("{i}\t{pad}\n"));
        if chunk.len() > 200_000 {
            copy.write_all(chunk.as_bytes()).await.unwrap();
            chunk.clear();
        }
    }
    copy.write_all(chunk.as_bytes()).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 100_000);
    let mut out = conn
        .copy_out("copy (select generate_series(1, 1000000), 'x') to stdout")
        .await
        .unwrap();
    let (mut chunks, mut bytes) = (0u64, 0usize);
    while let Some(chunk) = out.try_next().await.unwrap() {
        chunks += 1;
        bytes += chunk.len();
    }
    assert_eq!(chunks, 1_000_000, "one chunk per row");
    assert_eq!(out.rows(), Some(1_000_000));
    assert!(bytes > 8_000_000);
    answers_after(&conn).await;
}

async fn abort_and_drop_commit_nothing<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("copy_abort");
    conn.execute(&format!("create temp table {t} (id int4)"), ())
        .await
        .unwrap();
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    copy.send(b"1\n2\n").await.unwrap();
    copy.abort("changed my mind").await.unwrap();
    assert_eq!(count(&conn, &t).await, 0);
    // Dropped after data went out: the owed CopyFail rolls it back.
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    let many = "7\n".repeat(100_000);
    copy.send(many.as_bytes()).await.unwrap();
    drop(copy);
    assert_eq!(count(&conn, &t).await, 0);
    // Dropped while it starts (at every await point in turn).
    for polls in 0..6 {
        let started = after_polls(conn.copy_in(&format!("copy {t} from stdin")), polls).await;
        drop(started);
        assert_eq!(count(&conn, &t).await, 0, "dropped after {polls} polls");
    }
    // Dropped mid-finish: committed or not, never half, and the connection goes on.
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    copy.send(many.as_bytes()).await.unwrap();
    drop(after_polls(copy.finish(), 1).await);
    let n = count(&conn, &t).await;
    assert!(n == 0 || n == 100_000, "{n}");
    answers_after(&conn).await;
}

async fn bad_data_is_a_typed_error_and_the_connection_goes_on<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("copy_bad");
    conn.execute(
        &format!("create temp table {t} (id int4 primary key, n int4)"),
        (),
    )
    .await
    .unwrap();
    // A malformed row (text format).
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    copy.send(b"1\t1\n2\tnot a number\n3\t3\n").await.unwrap();
    let err = copy.finish().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(SqlState::INVALID_TEXT_REPRESENTATION),
        "{err:?}"
    );
    assert_eq!(count(&conn, &t).await, 0);
    // Too many columns in CSV.
    let mut copy = conn
        .copy_in(&format!("copy {t} from stdin (format csv)"))
        .await
        .unwrap();
    copy.send(b"1,2,3\n").await.unwrap();
    assert_eq!(
        copy.finish().await.unwrap_err().code(),
        Some(SqlState::BAD_COPY_FILE_FORMAT)
    );
    // A type mismatch in binary: an int8 where the column is int4.
    let copy = conn
        .copy_in(&format!("copy {t} from stdin (format binary)"))
        .await
        .unwrap();
    let mut writer = BinaryCopyInWriter::new(copy, &[oid::INT8, oid::INT8]).unwrap();
    writer.write(&[&1i64, &2i64]).await.unwrap();
    let err = writer.finish().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(SqlState::INVALID_BINARY_REPRESENTATION),
        "{err:?}"
    );
    // A constraint violation early in a long COPY: a later send or the
    // finish reports it, and nothing is committed.
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    copy.send(b"1\t1\n1\t1\n").await.unwrap();
    let mut failed = None;
    for i in 2..400_000 {
        if let Err(e) = copy.send(format!("{i}\t{i}\n").as_bytes()).await {
            failed = Some(e);
            break;
        }
    }
    let err = match failed {
        Some(e) => {
            // The writer stays failed.
            assert!(copy.send(b"x").await.is_err());
            e
        }
        None => copy.finish().await.unwrap_err(),
    };
    assert_eq!(err.code(), Some(SqlState::UNIQUE_VIOLATION), "{err:?}");
    // A writer the server failed no longer holds the connection, even
    // while it is kept.
    assert_eq!(count(&conn, &t).await, 0);
    answers_after(&conn).await;
}

async fn wrong_statements_are_refused<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("copy_wrong");
    conn.execute(&format!("create temp table {t} (id int4)"), ())
        .await
        .unwrap();
    for sql in [
        "select 1".to_owned(),
        format!("copy {t} to stdout"),
        format!("select 1; copy {t} from stdin"),
    ] {
        let err = conn.copy_in(&sql).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{sql}: {err:?}");
        answers_after(&conn).await;
    }
    let err = conn
        .copy_out(&format!("copy {t} from stdin"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // Not a COPY at all: it runs, and the answer says so.
    let err = conn.copy_out("select 1").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // A COPY the server refuses to start is its error.
    let err = conn
        .copy_in("copy no_such_table from stdin")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(SqlState::UNDEFINED_TABLE));
    let err = conn
        .copy_out("copy no_such_table to stdout")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(SqlState::UNDEFINED_TABLE));
    // An error mid copy-out ends the stream.
    let mut out = conn
        .copy_out("copy (select 1 / (3 - g) from generate_series(1, 5) g) to stdout")
        .await
        .unwrap();
    let mut items = Vec::new();
    while let Some(item) = out.try_next().await.transpose() {
        match item {
            Ok(chunk) => items.push(chunk),
            Err(e) => {
                assert_eq!(e.code(), Some(SqlState::DIVISION_BY_ZERO));
                break;
            }
        }
    }
    assert!(items.len() <= 2);
    answers_after(&conn).await;
}

async fn a_dropped_copy_out_leaves_the_connection_usable<R: Runtime>() {
    let conn = connect::<R>().await;
    let mut out = conn
        .copy_out("copy (select generate_series(1, 1000000), 'x') to stdout")
        .await
        .unwrap();
    for _ in 0..3 {
        out.try_next().await.unwrap().unwrap();
    }
    drop(out);
    within::<R, _>(
        30,
        "the query after a dropped copy-out",
        answers_after(&conn),
    )
    .await;
}

/// While a COPY runs, another task's query waits for it and then runs
/// outside it; a query sent before it is answered first.
async fn a_copy_has_the_shared_connection_to_itself<R: Runtime>() {
    let conn = std::sync::Arc::new(connect::<R>().await);
    let t = unique_name("copy_shared");
    conn.execute(&format!("create table {t} (id int4)"), ())
        .await
        .unwrap();
    let before = conn.query("select pg_sleep(0.2), 1", ()).await.unwrap();
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    let before: Vec<_> = before.try_collect().await.unwrap();
    assert_eq!(before.len(), 1);
    let other = R::spawn({
        let conn = std::sync::Arc::clone(&conn);
        let t = t.clone();
        async move {
            let row = conn
                .fetch_one(&format!("select count(*) from {t}"), ())
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>(0).unwrap()
        }
    });
    R::sleep(Duration::from_millis(100)).await;
    copy.send(b"1\n2\n3\n").await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 3);
    assert_eq!(other.await, 3, "the other query ran after the COPY");
    conn.execute(&format!("drop table {t}"), ()).await.unwrap();
    answers_after(&conn).await;
}

async fn copy_inside_a_transaction<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("copy_tx");
    conn.execute(&format!("create temp table {t} (id int4)"), ())
        .await
        .unwrap();
    let tx = conn.begin().await.unwrap();
    let mut copy = tx.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    copy.send(b"1\n").await.unwrap();
    // The transaction's own queries wait for the COPY: refused, nothing sent.
    let err = tx.execute("select 1", ()).await.unwrap_err();
    assert!(matches!(err, Error::WouldDeadlock(_)), "{err:?}");
    copy.send(b"2\n").await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 2);
    tx.rollback().await.unwrap();
    assert_eq!(count(&conn, &t).await, 0);
    conn.with_transaction(async |tx| {
        let mut copy = tx.copy_in(&format!("copy {t} from stdin")).await?;
        copy.send(b"5\n").await?;
        copy.finish().await
    })
    .await
    .unwrap();
    assert_eq!(count(&conn, &t).await, 1);
    answers_after(&conn).await;
}

async fn copy_through_the_pool<R: Runtime>() {
    let t = unique_name("copy_pool");
    let pool = R::open_pool(
        &options(Role::Trust, R::transport()),
        PoolOptions::new().max_size(1),
    )
    .await
    .unwrap();
    pool.execute(&format!("create table {t} (id int4)"), ())
        .await
        .unwrap();
    {
        let conn = pool.checkout().await.unwrap();
        let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
        copy.send(b"1\n2\n").await.unwrap();
        assert_eq!(copy.finish().await.unwrap(), 2);
    }
    // Dropped mid-way with its connection: back in the pool clean, and
    // nothing of it committed.
    {
        let conn = pool.checkout().await.unwrap();
        let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
        copy.send("3\n".repeat(50_000).as_bytes()).await.unwrap();
        drop(copy);
        drop(conn);
    }
    {
        let conn = pool.checkout().await.unwrap();
        let out = conn
            .copy_out("copy (select generate_series(1, 1000000)) to stdout")
            .await
            .unwrap();
        drop(out);
        drop(conn);
    }
    let row = pool
        .fetch_one(&format!("select count(*) from {t}"), ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>(0).unwrap(), 2);
    // In a pooled transaction.
    let tx = pool.checkout_in_transaction().await.unwrap();
    let mut copy = tx.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    copy.send(b"9\n").await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 1);
    tx.commit().await.unwrap();
    pool.execute(&format!("drop table {t}"), ()).await.unwrap();
    pool.close().await;
}

/// The server ends the session mid-COPY: a typed error, and the connection
/// is dead (no hang).
async fn a_server_ending_the_copy_is_an_error<R: Runtime>() {
    let conn = connect::<R>().await;
    let killer = connect::<R>().await;
    let t = unique_name("copy_killed");
    conn.execute(&format!("create temp table {t} (id int4)"), ())
        .await
        .unwrap();
    let pid = backend_pid(&conn).await;
    let mut copy = conn.copy_in(&format!("copy {t} from stdin")).await.unwrap();
    copy.send(b"1\n").await.unwrap();
    killer
        .execute("select pg_terminate_backend($1)", (pid,))
        .await
        .unwrap();
    R::sleep(Duration::from_millis(200)).await;
    let ended = within::<R, _>(30, "a COPY whose session ended", async {
        for _ in 0..1000 {
            copy.send(&[b'2'; 70_000]).await?;
        }
        copy.finish().await.map(drop)
    })
    .await;
    assert!(ended.is_err());
    assert!(conn.dead());
}

/// Every chunk comes in order and whole, across the reads and the batches
/// the stream takes straight from the receive buffer, and an error after
/// thousands of rows comes after exactly those rows.
async fn copy_out_keeps_every_chunk_in_order_up_to_an_error<R: Runtime>() {
    let conn = connect::<R>().await;
    let mut out = conn
        .copy_out("copy (select g, repeat('x', g % 7) from generate_series(1, 200000) g) to stdout")
        .await
        .unwrap();
    let mut next = 1u32;
    while let Some(chunk) = out.try_next().await.unwrap() {
        let want = format!("{next}\t{}\n", "x".repeat((next % 7) as usize));
        assert_eq!(chunk, want.as_bytes(), "row {next}");
        next += 1;
    }
    assert_eq!(next, 200_001);
    assert_eq!(out.rows(), Some(200_000));

    let mut out = conn
        .copy_out("copy (select 10000 / (5000 - g) from generate_series(1, 10000) g) to stdout")
        .await
        .unwrap();
    let mut rows = Vec::new();
    let err = loop {
        match out.try_next().await {
            Ok(Some(chunk)) => rows.push(chunk),
            Ok(None) => panic!("the copy ended without its error after {} rows", rows.len()),
            Err(e) => break e,
        }
    };
    assert_eq!(err.code(), Some(SqlState::DIVISION_BY_ZERO), "{err:?}");
    assert_eq!(rows.len(), 4999);
    for (i, chunk) in rows.iter().enumerate() {
        let g = i as i32 + 1;
        assert_eq!(
            chunk,
            format!("{}\n", 10000 / (5000 - g)).as_bytes(),
            "row {g}"
        );
    }
    assert_eq!(
        out.try_next().await.unwrap(),
        None,
        "nothing after the error"
    );
    answers_after(&conn).await;
}

runtime_tests!(
    text_csv_and_binary_go_in_and_out,
    typed_binary_rows_both_ways,
    large_copies_stream_both_ways,
    abort_and_drop_commit_nothing,
    bad_data_is_a_typed_error_and_the_connection_goes_on,
    wrong_statements_are_refused,
    a_dropped_copy_out_leaves_the_connection_usable,
    a_copy_has_the_shared_connection_to_itself,
    copy_inside_a_transaction,
    copy_through_the_pool,
    a_server_ending_the_copy_is_an_error,
    copy_out_keeps_every_chunk_in_order_up_to_an_error,
);
