//! Server text in another encoding than UTF8, and the offset of
//! `timestamptz` values: a session whose `client_encoding` was changed away
//! from UTF8 survives the server's messages in it and never yields a value
//! decoded (or sends one encoded) with the wrong charset; a `timestamptz`
//! comes back in UTC whichever path fetched it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::TryStreamExt;
use pgwire_conn::{ColumnError, Connection, Error, Infinite, SqlState, Value};
use pgwire_integration_tests::{connect, record_notices, runtime_tests, unique_name, Runtime};
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};

/// Asserts that `error` is the refusal of a session whose client_encoding
/// is LATIN1, and that the connection survives it.
#[track_caller]
fn assert_refused(error: &Error) {
    assert!(
        matches!(error, Error::ClientEncoding { encoding, .. } if encoding == "LATIN1"),
        "{error:?}"
    );
    assert!(error.is_recoverable(), "{error:?}");
}

/// The one value of the one row `sql` returns over the simple protocol.
async fn simple_text<S>(conn: &Connection<S>, sql: &str) -> String
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let results = conn.simple_query(sql).await.unwrap();
    let row = &results.last().unwrap().rows[0];
    row.text(0).unwrap().unwrap().to_owned()
}

/// A NOTICE and recoverable ERRORs whose text is not UTF-8 (LATIN1's é)
/// are read lossily, with their severity and SQLSTATE, and the session
/// lives on.
async fn latin1_notices_and_errors_keep_the_session<R: Runtime>() {
    let conn = connect::<R>().await;
    let notices = record_notices(&conn);
    conn.execute("set client_encoding = 'LATIN1'", ())
        .await
        .unwrap();
    conn.execute("do $$ begin raise notice 'caf%', chr(233); end $$", ())
        .await
        .unwrap();
    // LATIN1's "Ã©" is the UTF-8 of "é": it must not read as that (each
    // non-ASCII character of it becomes one U+FFFD).
    conn.execute(
        "do $$ begin raise notice 'caf%', chr(195) || chr(169); end $$",
        (),
    )
    .await
    .unwrap();
    assert_eq!(
        notices.lock().unwrap().as_slice(),
        [
            "00000 caf\u{fffd}".to_owned(),
            "00000 caf\u{fffd}".to_owned()
        ]
    );
    let err = conn
        .execute("select ('caf' || chr(233))::int", ())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(SqlState::from_code("22P02").unwrap()));
    assert!(err.is_recoverable());
    let db = err.as_database().unwrap();
    assert_eq!(db.severity(), "ERROR");
    assert!(db.message.contains("caf\u{fffd}"), "{}", db.message);
    // Over the simple protocol too, after a statement without rows (rows
    // would be refused: see `another_client_encoding_is_refused`).
    let err = conn
        .simple_query(
            "select 1 as x where false; \
             do $$ begin raise exception 'caf%', chr(233) using errcode = 'P0001'; end $$",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(SqlState::from_code("P0001").unwrap()));
    assert!(!conn.dead());
    // Put back, the session reads text right again.
    conn.simple_query("set client_encoding to 'UTF8'")
        .await
        .unwrap();
    assert_eq!(simple_text(&conn, "select chr(233)").await, "é");
    assert_eq!(
        conn.fetch_one("select chr(233)", ())
            .await
            .unwrap()
            .unwrap()
            .try_get::<&str>(0)
            .unwrap(),
        "é"
    );
    assert!(!conn.dead());
}

/// Once the server reports a client_encoding other than UTF8, no value is
/// read or sent with the wrong charset: rows are refused, requests that
/// would send text or parameters are refused before anything is sent, and
/// `SET client_encoding TO 'UTF8'` puts everything right.
async fn another_client_encoding_is_refused<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("enc");
    conn.execute(&format!("create temp table {t} (v text)"), ())
        .await
        .unwrap();
    // In LATIN1, the UTF-8 bytes of "é" are "Ã©": read as UTF-8 they would
    // be a wrong "é".
    conn.execute("set client_encoding to 'LATIN1'", ())
        .await
        .unwrap();
    let ae = "select chr(195) || chr(169)";
    assert_refused(&conn.fetch_one(ae, ()).await.unwrap_err());
    assert_refused(&conn.fetch(ae, ()).await.unwrap_err());
    assert_refused(&conn.simple_query(ae).await.unwrap_err());
    // A lazy stream's rows refuse to decode, and the stream ends refused.
    let mut rows = conn.query(ae, ()).await.unwrap();
    let mut refused = 0;
    loop {
        match rows.try_next().await {
            Ok(Some(row)) => {
                assert!(matches!(
                    row.try_get::<&str>(0),
                    Err(ColumnError::ClientEncoding { index: 0, .. })
                ));
                assert!(row.text(0).is_err());
                assert!(row.get_value(0).is_err());
                assert_eq!(row.raw(0), Some(Some(&[0xc3, 0xa9][..])));
                assert_eq!(row.description().client_encoding(), Some("LATIN1"));
                refused += 1;
            }
            Ok(None) => panic!("the stream ended as if its rows were right"),
            Err(e) => {
                assert_refused(&e);
                break;
            }
        }
    }
    assert_eq!(refused, 1);
    // A text parameter would be stored as "Ã©": refused before sending.
    let insert = format!("insert into {t} values ($1)");
    assert_refused(&conn.execute(&insert, ("é",)).await.unwrap_err());
    assert_refused(&conn.execute(&insert, (1,)).await.unwrap_err());
    assert_refused(
        &conn
            .execute(&format!("insert into {t} values ('é')"), ())
            .await
            .unwrap_err(),
    );
    // A prepared statement with parameters too.
    let prepared = conn
        .create_prepared_statement("enc_stmt", &insert)
        .await
        .unwrap();
    assert_refused(&conn.execute(&prepared, ("é",)).await.unwrap_err());
    // ASCII without parameters means the same in every encoding: it runs.
    assert_eq!(
        conn.execute(&format!("insert into {t} values ('e')"), ())
            .await
            .unwrap(),
        1
    );
    assert!(!conn.dead());
    conn.execute("set client_encoding to 'UTF8'", ())
        .await
        .unwrap();
    assert_eq!(
        conn.fetch_one(ae, ())
            .await
            .unwrap()
            .unwrap()
            .try_get::<&str>(0)
            .unwrap(),
        "Ã©"
    );
    assert_eq!(simple_text(&conn, ae).await, "Ã©");
    conn.execute(&prepared, ("é",)).await.unwrap();
    let stored: Vec<String> = conn
        .fetch(&format!("select v from {t} order by v"), ())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>(0).unwrap())
        .collect();
    assert_eq!(stored, ["e", "é"]);
}

/// Rows of the very request that changed client_encoding arrive before the
/// server reports the change: an eager call refuses them all the same.
async fn rows_before_the_report_are_refused<R: Runtime>() {
    let conn = connect::<R>().await;
    let err = conn
        .simple_query("set client_encoding to 'LATIN1'; select chr(195) || chr(169)")
        .await
        .unwrap_err();
    assert_refused(&err);
    conn.simple_query("set client_encoding to 'UTF8'")
        .await
        .unwrap();
    let err = conn
        .fetch_one(
            "select set_config('client_encoding', 'LATIN1', false), chr(195) || chr(169)",
            (),
        )
        .await
        .unwrap_err();
    assert_refused(&err);
    assert!(
        matches!(err, Error::ClientEncoding { sent: true, .. }),
        "{err:?}"
    );
    conn.simple_query("reset client_encoding").await.unwrap();
    // A lazy stream cannot take back the rows it yielded: it ends in the
    // refusal, not as if they were right.
    let mut rows = conn
        .query(
            "select set_config('client_encoding', 'LATIN1', false), chr(195) || chr(169)",
            (),
        )
        .await
        .unwrap();
    assert!(rows.try_next().await.unwrap().is_some());
    assert_refused(&rows.try_next().await.unwrap_err());
    conn.simple_query("reset client_encoding").await.unwrap();
    assert_eq!(simple_text(&conn, "select chr(233)").await, "é");
}

/// A `timestamptz` is in UTC whether it came in binary (extended protocol)
/// or in text (simple protocol, printed in the session's TimeZone), alone,
/// in an array, or as a dynamic value.
async fn timestamptz_is_utc_on_every_path<R: Runtime>() {
    let conn = connect::<R>().await;
    conn.execute("set timezone to 'Asia/Kolkata'", ())
        .await
        .unwrap();
    assert_eq!(conn.server_timezone().as_deref(), Some("Asia/Kolkata"));
    let instant = datetime!(2024-02-29 12:00:00.5 UTC);
    let sql = "select '2024-02-29 17:30:00.5+05:30'::timestamptz, \
               array['2024-02-29 12:00:00.5+00'::timestamptz]";
    let binary = conn.fetch_one(sql, ()).await.unwrap().unwrap();
    let mut results = conn.simple_query(sql).await.unwrap();
    let text = results.remove(0).rows.remove(0);
    assert_eq!(text.text(0).unwrap(), Some("2024-02-29 17:30:00.5+05:30"));
    for (path, row) in [("binary", &binary), ("text", &text)] {
        let t: OffsetDateTime = row.try_get(0).unwrap();
        assert_eq!((t, t.offset()), (instant, UtcOffset::UTC), "{path}");
        let t: Infinite<OffsetDateTime> = row.try_get(0).unwrap();
        assert_eq!(
            t.finite().map(|t| t.offset()),
            Some(UtcOffset::UTC),
            "{path}"
        );
        let a: Vec<OffsetDateTime> = row.try_get(1).unwrap();
        assert_eq!(
            a.iter().map(|t| t.offset()).collect::<Vec<_>>(),
            [UtcOffset::UTC],
            "{path}"
        );
        match row.get_value(0).unwrap() {
            Value::TimestampTz(Infinite::Value(t)) => {
                assert_eq!((t, t.offset()), (instant, UtcOffset::UTC), "{path}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}

runtime_tests!(
    latin1_notices_and_errors_keep_the_session,
    another_client_encoding_is_refused,
    rows_before_the_report_are_refused,
    timestamptz_is_utc_on_every_path,
);
