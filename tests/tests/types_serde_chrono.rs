//! `Json<T>` for serde types and the chrono conversions, through a real
//! table in both formats (the adapters' `serde` and `chrono` features); and
//! the checks `round_trip` itself makes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use pgwire_conn::{ColumnError, Infinite, Json, RawJson, TypeError};
use pgwire_integration_tests::round_trip::{check_round_trip, fetch_text, round_trip};
use pgwire_integration_tests::{connect, report, runtime_only_tests, Runtime};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    tags: Vec<String>,
    age: Option<u8>,
    nested: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Point {
    Flat { x: i64, y: i64 },
    Named(String),
}

fn profiles() -> Vec<Json<Profile>> {
    vec![
        Json(Profile {
            name: "Zoë \"quoted\" \\ back\u{1F418}".to_owned(),
            tags: vec!["a".to_owned(), String::new()],
            age: Some(42),
            nested: vec![
                Point::Flat { x: -1, y: i64::MAX },
                Point::Named("n".to_owned()),
            ],
        }),
        Json(Profile {
            name: String::new(),
            tags: vec![],
            age: None,
            nested: vec![],
        }),
    ]
}

async fn json_of_any_serde_type<R: Runtime>() {
    let conn = connect::<R>().await;
    for ty in ["jsonb", "json"] {
        round_trip(&conn, ty, &profiles()).await;
        round_trip(&conn, ty, &[Json(vec![Some(1.5f64), None]), Json(vec![])]).await;
        round_trip(&conn, ty, &[Json("a string".to_owned())]).await;
        round_trip(&conn, ty, &[Json(serde_json::json!({"k": [1, null]}))]).await;
    }
    // The server sees the document itself, not a string of it.
    let row = conn
        .fetch_one(
            "select $1::jsonb ->> 'name', jsonb_typeof($2::jsonb), $3::json ->> 'age'",
            (&profiles()[0], Json("{}"), &profiles()[0]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<&str>(0).unwrap(),
        "Zoë \"quoted\" \\ back\u{1F418}"
    );
    assert_eq!(row.try_get::<&str>(1).unwrap(), "string");
    assert_eq!(row.try_get::<&str>(2).unwrap(), "42");
    // Raw JSON text keeps its meaning.
    let row = conn
        .fetch_one(
            "select jsonb_typeof($1::jsonb), $2::json::text",
            (RawJson("{}"), RawJson(r#"{"a" :  1}"#.to_owned())),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<&str>(0).unwrap(), "object");
    assert_eq!(row.try_get::<&str>(1).unwrap(), r#"{"a" :  1}"#);
    // A document that does not fit the type is a typed error naming it.
    let row = conn
        .fetch_one("select '{\"name\": 1}'::jsonb", ())
        .await
        .unwrap()
        .unwrap();
    let err = row.try_get::<Json<Profile>>(0).unwrap_err();
    assert!(
        matches!(
            err,
            ColumnError::Decode {
                source: TypeError::Invalid { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn stamp(d: NaiveDate, h: u32, mi: u32, s: u32, us: u32) -> NaiveDateTime {
    d.and_hms_micro_opt(h, mi, s, us).unwrap()
}

async fn chrono_in_both_formats<R: Runtime>() {
    let conn = connect::<R>().await;
    let dates = [
        ymd(2024, 2, 29),
        ymd(1970, 1, 1),
        ymd(-4713, 11, 24),
        ymd(9999, 12, 31),
    ];
    round_trip(&conn, "date", &dates).await;
    round_trip(
        &conn,
        "date",
        &[
            Infinite::Infinity,
            Infinite::NegInfinity,
            Infinite::Value(dates[0]),
        ],
    )
    .await;
    round_trip(
        &conn,
        "time",
        &[
            NaiveTime::MIN,
            NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
            NaiveTime::from_hms_micro_opt(12, 0, 0, 1).unwrap(),
        ],
    )
    .await;
    let stamps = [
        stamp(dates[0], 12, 0, 0, 1),
        stamp(ymd(1, 1, 1), 0, 0, 0, 0),
        stamp(ymd(1999, 12, 31), 23, 59, 59, 999_999),
    ];
    round_trip(&conn, "timestamp", &stamps).await;
    round_trip(
        &conn,
        "timestamp",
        &[
            Infinite::Infinity,
            Infinite::NegInfinity,
            Infinite::Value(stamps[0]),
        ],
    )
    .await;
    let utc: Vec<DateTime<Utc>> = stamps.iter().map(|s| Utc.from_utc_datetime(s)).collect();
    round_trip(&conn, "timestamptz", &utc).await;
    round_trip(
        &conn,
        "timestamptz",
        &[
            Infinite::NegInfinity,
            Infinite::Value(utc[0]),
            Infinite::Infinity,
        ],
    )
    .await;
    let fixed: Vec<DateTime<FixedOffset>> = utc
        .iter()
        .map(|u| u.with_timezone(&FixedOffset::east_opt(-(9 * 3600 + 30 * 60)).unwrap()))
        .collect();
    round_trip(&conn, "timestamptz", &fixed).await;
    round_trip(
        &conn,
        "timestamptz",
        &[Infinite::Infinity, Infinite::Value(fixed[1])],
    )
    .await;
    let local: Vec<DateTime<Local>> = utc.iter().map(|u| u.with_timezone(&Local)).collect();
    round_trip(&conn, "timestamptz", &local).await;
    round_trip(
        &conn,
        "timestamptz",
        &[Infinite::NegInfinity, Infinite::Value(local[2])],
    )
    .await;
    // Arrays take chrono elements too.
    round_trip(&conn, "date[]", &[dates.to_vec(), vec![]]).await;
}

async fn chrono_timestamptz_is_one_instant_in_any_zone<R: Runtime>() {
    let conn = connect::<R>().await;
    let sent = FixedOffset::east_opt(5 * 3600 + 45 * 60)
        .unwrap()
        .from_local_datetime(&stamp(ymd(2024, 6, 30), 23, 30, 0, 250_000))
        .unwrap();
    for zone in [
        "UTC",
        "America/St_Johns",
        "Asia/Kathmandu",
        "Pacific/Kiritimati",
    ] {
        conn.execute(&format!("set timezone = '{zone}'"), ())
            .await
            .unwrap();
        let binary = conn
            .fetch_one("select $1::timestamptz", (sent,))
            .await
            .unwrap()
            .unwrap();
        let text = fetch_text(
            &conn,
            &format!("select '{}'::timestamptz", sent.to_rfc3339()),
        )
        .await
        .remove(0);
        for (row, how) in [(&binary, "binary"), (&text, "text")] {
            let back: DateTime<FixedOffset> = row.try_get(0).unwrap();
            assert_eq!(back, sent, "{zone} {how}");
            assert_eq!(back.offset().local_minus_utc(), 0, "{zone} {how}");
            let utc: DateTime<Utc> = row.try_get(0).unwrap();
            assert_eq!(utc, sent, "{zone} {how}");
        }
    }
    // Infinity only into `Infinite`, never a stand-in value.
    let row = conn
        .fetch_one("select 'infinity'::timestamptz, '-infinity'::date", ())
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<DateTime<Utc>>(0).is_err());
    assert_eq!(
        row.try_get::<Infinite<DateTime<Local>>>(0).unwrap(),
        Infinite::Infinity
    );
    assert!(row.try_get::<NaiveDate>(1).is_err());
    assert_eq!(
        row.try_get::<Infinite<NaiveDate>>(1).unwrap(),
        Infinite::NegInfinity
    );
    // Past what the conversion holds: an error, in either direction.
    let err = conn
        .fetch_one("select $1::date", (ymd(10000, 1, 1),))
        .await
        .unwrap_err();
    assert!(report(&err).contains("out of range"), "{}", report(&err));
    let row = conn
        .fetch_one("select '12000-01-01'::date", ())
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<NaiveDate>(0).is_err());
    assert_eq!(
        conn.fetch_one("select 1", ())
            .await
            .unwrap()
            .unwrap()
            .try_get::<i32>(0)
            .unwrap(),
        1
    );
}

/// `round_trip`'s own checks: they must catch a short text read and a
/// "binary" read that came in text.
async fn round_trip_checks_counts_and_formats<R: Runtime>() {
    let conn = connect::<R>().await;
    let values = [1i32, 2, 3];
    let sql = "select v from (values (1), (2), (3)) t (v)";
    let binary = conn
        .fetch(&format!("{sql} where $1 order by v"), (true,))
        .await
        .unwrap();
    let text = fetch_text(&conn, &format!("{sql} order by v")).await;
    check_round_trip("int4", &values, &binary, &text);
    let panics = |binary: &[pgwire_conn::Row], text: &[pgwire_conn::Row]| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_round_trip("int4", &values, binary, text)
        }))
        .is_err()
    };
    assert!(panics(&binary, &text[..2]), "a short text read passed");
    assert!(panics(&binary[..2], &text), "a short binary read passed");
    // Text rows where binary ones are expected.
    assert!(panics(&text, &text), "text rows passed as binary");
}

runtime_only_tests!(
    json_of_any_serde_type,
    chrono_in_both_formats,
    chrono_timestamptz_is_one_instant_in_any_zone,
    round_trip_checks_counts_and_formats,
);
