//! Lazy results: streams read as they are polled, row_count, portals resumed
//! batch by batch, and bounded memory over millions of rows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{StreamExt, TryStreamExt};
use pgwire_integration_tests::{connect, runtime_tests, Runtime};

async fn stream_rows_and_row_count<R: Runtime>() {
    let conn = connect::<R>().await;
    let mut rows = conn
        .query("select g, g::text from generate_series(1, 1000) g", ())
        .await
        .unwrap();
    let mut sum = 0i64;
    for _ in 0..10 {
        let row = rows.try_next().await.unwrap().unwrap();
        sum += i64::from(row.try_get::<i32>(0).unwrap());
    }
    assert_eq!(sum, 55);
    // row_count drains the rest and reports the statement's count
    assert_eq!(rows.row_count().await.unwrap(), 1000);
    assert!(conn.ready());
}

async fn dropped_stream_is_drained_by_the_next_query<R: Runtime>() {
    let conn = connect::<R>().await;
    {
        let mut rows = conn
            .query("select g from generate_series(1, 100000) g", ())
            .await
            .unwrap();
        rows.next().await.unwrap().unwrap();
        // dropped with most rows unread
    }
    assert!(!conn.ready());
    let row = conn
        .fetch_one("select $1::int4", (99,))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 99);
    assert!(conn.ready());
}

async fn error_after_rows_ends_the_stream<R: Runtime>() {
    let conn = connect::<R>().await;
    let mut rows = conn
        .query("select 10 / (5 - g) from generate_series(1, 10) g", ())
        .await
        .unwrap();
    let mut ok = 0;
    let err = loop {
        match rows.next().await {
            Some(Ok(_)) => ok += 1,
            Some(Err(e)) => break e,
            None => panic!("no error"),
        }
    };
    assert!(ok <= 4);
    assert_eq!(
        err.code().map(|c| c.code().to_owned()).as_deref(),
        Some("22012")
    );
    assert!(rows.next().await.is_none());
    drop(rows);
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn portal_batches_inside_a_transaction<R: Runtime>() {
    // A portal opens only through a transaction (the server would drop it
    // at once outside one): `Connection` has no `open_portal`.
    let conn = connect::<R>().await;
    let tx = conn.begin().await.unwrap();
    let mut portal = tx
        .open_portal("select g from generate_series(1, 25) g where g > $1", (0,))
        .await
        .unwrap();
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    loop {
        let batch = portal.fetch(10).await.unwrap();
        if batch.is_empty() {
            break;
        }
        sizes.push(batch.len());
        // other queries may run between batches
        assert_eq!(tx.execute("select 1", ()).await.unwrap(), 1);
        all.extend(batch.iter().map(|r| r.try_get::<i32>(0).unwrap()));
    }
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(all, (1..=25).collect::<Vec<_>>());
    assert!(portal.is_exhausted());
    portal.close().await.unwrap();
    // a dropped portal is closed by the connection later
    let mut dropped = tx.open_portal("select 1", ()).await.unwrap();
    assert_eq!(dropped.fetch(0).await.unwrap().len(), 1);
    drop(dropped);
    tx.commit().await.unwrap();
}

async fn streaming_a_million_rows_stays_bounded<R: Runtime>() {
    stream_bounded::<R>(1_000_000).await;
}

/// Streams `n` rows and asserts that the connection's receive buffer never
/// grows past a small bound: rows are read as they are consumed.
async fn stream_bounded<R: Runtime>(n: u64) {
    let conn = connect::<R>().await;
    let mut rows = conn
        .query(
            "select g, 'some text to make the row longer' from generate_series(1, $1) g",
            (n as i64,),
        )
        .await
        .unwrap();
    let mut count = 0u64;
    let mut max_buffer = 0;
    while let Some(row) = rows.try_next().await.unwrap() {
        count += 1;
        if count.is_multiple_of(1000) {
            assert_eq!(row.try_get::<i64>(0).unwrap() as u64, count);
            max_buffer = max_buffer.max(rows.buffer_capacity());
        }
    }
    assert_eq!(count, n);
    assert!(
        max_buffer <= 256 * 1024,
        "receive buffer grew to {max_buffer} bytes"
    );
}

/// Rows come in the order the server sent them, however many the receive
/// buffer holds at once (a stream takes them in batches), for eager and
/// lazy results, one statement or several.
async fn rows_come_in_order<R: Runtime>() {
    let conn = connect::<R>().await;
    let sql = "select g, repeat('x', g % 7) from generate_series(1, 50000) g";
    let in_order = |rows: &[pgwire_conn::Row]| {
        for (i, row) in rows.iter().enumerate() {
            let g: i32 = row.try_get(0).unwrap();
            assert_eq!(g as usize, i + 1, "row {i}");
            assert_eq!(row.try_get::<&str>(1).unwrap().len(), (g % 7) as usize);
        }
    };
    let fetched = conn.fetch(sql, ()).await.unwrap();
    assert_eq!(fetched.len(), 50_000);
    in_order(&fetched);
    let streamed: Vec<_> = conn
        .query(sql, ())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    in_order(&streamed);
    // The same rows read slowly: a batch at a time with pauses.
    let mut rows = conn.query(sql, ()).await.unwrap();
    let mut slow = Vec::new();
    while let Some(row) = rows.try_next().await.unwrap() {
        slow.push(row);
        if slow.len() % 5000 == 0 {
            R::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    in_order(&slow);
    let results = conn
        .simple_query(
            "select g from generate_series(1, 3000) g; select g from generate_series(1, 3000) g",
        )
        .await
        .unwrap();
    for result in &results {
        for (i, row) in result.rows.iter().enumerate() {
            assert_eq!(row.text(0).unwrap().unwrap(), (i + 1).to_string());
        }
    }
}

runtime_tests!(
    rows_come_in_order,
    stream_rows_and_row_count,
    dropped_stream_is_drained_by_the_next_query,
    error_after_rows_ends_the_stream,
    portal_batches_inside_a_transaction,
    streaming_a_million_rows_stays_bounded,
);

/// The full 10M-row run, once (the bound is the machine's, not the runtime's).
#[test]
fn streaming_ten_million_rows_stays_bounded() {
    pgwire_integration_tests::run::<pgwire_integration_tests::Tokio, _>(stream_bounded::<
        pgwire_integration_tests::Tokio,
    >(10_000_000));
}
