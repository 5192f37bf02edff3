//! Values through a real table: written as a parameter, read back in binary
//! (extended protocol) and in text (simple protocol), and compared.

use std::fmt::Debug;

use pgwire_conn::{Connection, Format, FromSql, Row, ToSql};

use crate::unique_name;

/// The rows of one statement over the simple protocol, so in text format.
pub async fn fetch_text<S>(conn: &Connection<S>, sql: &str) -> Vec<Row>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let mut results = conn.simple_query(sql).await.unwrap();
    assert_eq!(results.len(), 1, "{sql}");
    let rows = results.remove(0).rows;
    for row in &rows {
        for field in row.description().fields() {
            assert_eq!(field.format, Format::Text, "{sql}");
        }
    }
    rows
}

/// Inserts `values` into a fresh `pg_type` column, reads them back over both
/// protocols, and compares: every value, in each format, and the binary
/// read's column must really have come in binary.
pub async fn round_trip<S, T>(conn: &Connection<S>, pg_type: &str, values: &[T])
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    T: ToSql + Sync + for<'a> FromSql<'a> + PartialEq + Debug,
{
    round_trip_expecting(conn, pg_type, values, Format::Binary).await;
}

/// [`round_trip`] for a type whose extended-protocol results come in
/// `format`: `Format::Text` for types without a binary codec (extension
/// types such as `citext`, enums), so that the test says so.
pub async fn round_trip_expecting<S, T>(
    conn: &Connection<S>,
    pg_type: &str,
    values: &[T],
    format: Format,
) where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    T: ToSql + Sync + for<'a> FromSql<'a> + PartialEq + Debug,
{
    let t = unique_name("rt");
    conn.execute(&format!("create temp table {t} (id int, v {pg_type})"), ())
        .await
        .unwrap();
    for (i, v) in values.iter().enumerate() {
        conn.execute(&format!("insert into {t} values ($1, $2)"), (i as i32, v))
            .await
            .unwrap_or_else(|e| panic!("insert {v:?} as {pg_type}: {e}"));
    }
    let binary = conn
        .fetch(
            &format!("select v from {t} where id >= $1 order by id"),
            (0,),
        )
        .await
        .unwrap();
    let text = fetch_text(conn, &format!("select v from {t} order by id")).await;
    check_round_trip_expecting(pg_type, values, &binary, &text, format);
}

/// The comparison of [`round_trip`], on rows already read.
pub fn check_round_trip<T>(pg_type: &str, values: &[T], binary: &[Row], text: &[Row])
where
    T: for<'a> FromSql<'a> + PartialEq + Debug,
{
    check_round_trip_expecting(pg_type, values, binary, text, Format::Binary);
}

/// [`check_round_trip`] with the extended read's expected format.
pub fn check_round_trip_expecting<T>(
    pg_type: &str,
    values: &[T],
    binary: &[Row],
    text: &[Row],
    format: Format,
) where
    T: for<'a> FromSql<'a> + PartialEq + Debug,
{
    // Counted apart: a `zip` stops at the shorter side, so a missing row
    // would otherwise go unnoticed.
    assert_eq!(binary.len(), values.len(), "{pg_type}: binary rows");
    assert_eq!(text.len(), values.len(), "{pg_type}: text rows");
    for (i, v) in values.iter().enumerate() {
        let (b, s) = (&binary[i], &text[i]);
        assert_eq!(
            b.description().fields()[0].format,
            format,
            "{pg_type}: the extended protocol's row came in another format"
        );
        let from_binary: T = b
            .try_get(0)
            .unwrap_or_else(|e| panic!("{pg_type} binary {v:?}: {e}"));
        let from_text: T = s
            .try_get(0)
            .unwrap_or_else(|e| panic!("{pg_type} text {v:?}: {e}"));
        assert_eq!(&from_binary, v, "{pg_type} binary");
        assert_eq!(&from_text, v, "{pg_type} text");
    }
}
