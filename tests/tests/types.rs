//! Every supported type through a real table: written as a parameter, read
//! back in binary (extended protocol) and in text (simple protocol), with
//! edge values; and the typed errors for what cannot convert.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Bound;

use pgwire_conn::{
    Array, ColumnError, Error, Format, Inet, Infinite, Interval, Numeric, Range, RawJson, SqlState,
    TimeTz, TypeError, Value,
};
use pgwire_integration_tests::round_trip::{fetch_text, round_trip, round_trip_expecting};
use pgwire_integration_tests::{connect, runtime_only_tests, unique_name, Runtime};
use time::macros::{date, datetime, offset, time};

async fn scalars<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(&conn, "bool", &[true, false]).await;
    round_trip(&conn, "int2", &[i16::MIN, -1, 0, i16::MAX]).await;
    round_trip(&conn, "int4", &[i32::MIN, 0, i32::MAX]).await;
    round_trip(&conn, "int8", &[i64::MIN, 0, i64::MAX]).await;
    round_trip(&conn, "oid", &[0u32, u32::MAX]).await;
    round_trip(
        &conn,
        "float4",
        &[0.0f32, -1.5, f32::MAX, f32::MIN_POSITIVE, f32::INFINITY],
    )
    .await;
    round_trip(
        &conn,
        "float8",
        &[0.0f64, 1e300, -2.5e-300, f64::INFINITY, f64::NEG_INFINITY],
    )
    .await;
    round_trip(
        &conn,
        "text",
        &[
            String::new(),
            "hé ✓ 🐘 'quoted' \"double\", {braces}".into(),
        ],
    )
    .await;
    round_trip(&conn, "varchar(20)", &["short".to_owned()]).await;
    round_trip(&conn, "char(5)", &["ab   ".to_owned()]).await;
    round_trip(&conn, "name", &["a_name".to_owned()]).await;
    // An extension type: no fixed OID, so no binary codec is asked for.
    round_trip_expecting(&conn, "citext", &["MiXeD".to_owned()], Format::Text).await;
    round_trip(&conn, "bytea", &[Vec::new(), vec![0u8, 1, 127, 128, 255]]).await;
    round_trip(
        &conn,
        "uuid",
        &[
            [0u8; 16],
            [
                0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
                0x0a, 0x11,
            ],
        ],
    )
    .await;
    round_trip(&conn, "jsonb", &[r#"{"a": [1, "x", null]}"#.to_owned()]).await;
    round_trip(&conn, "json", &[r#"{"spaces" :  "kept"}"#.to_owned()]).await;
}

async fn special_floats<R: Runtime>() {
    let conn = connect::<R>().await;
    for sql in ["select 'NaN'::float8", "select $1::float8"] {
        let row = if sql.contains('$') {
            conn.fetch_one(sql, (f64::NAN,)).await.unwrap().unwrap()
        } else {
            conn.fetch_one(sql, ()).await.unwrap().unwrap()
        };
        assert!(row.try_get::<f64>(0).unwrap().is_nan());
    }
    let row = conn
        .fetch_one("select $1::float8", (-0.0f64,))
        .await
        .unwrap()
        .unwrap();
    let v = row.try_get::<f64>(0).unwrap();
    assert!(v == 0.0 && v.is_sign_negative());
}

async fn numerics<R: Runtime>() {
    let conn = connect::<R>().await;
    let big = format!("{}.{}", "9".repeat(1000), "1".repeat(100));
    let values: Vec<Numeric> = [
        "0",
        "-0.000001",
        "1.500",
        "12345678901234567890.123456789",
        "NaN",
        "Infinity",
        "-Infinity",
        &big,
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    round_trip(&conn, "numeric", &values).await;
    // the largest the server allows: 131072 digits before the point
    let largest: Numeric = "9".repeat(131_072).parse().unwrap();
    round_trip(&conn, "numeric", &[largest]).await;
    let row = conn
        .fetch_one("select 42::numeric", ())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        i64::try_from(row.try_get::<Numeric>(0).unwrap()).unwrap(),
        42
    );
}

async fn dates_and_times<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(
        &conn,
        "date",
        &[
            date!(0001 - 01 - 01),
            date!(9999 - 12 - 31),
            date!(2024 - 02 - 29),
            date!(2000 - 01 - 01),
            date!(1999 - 12 - 31),
            date!(-0043 - 03 - 15),
        ],
    )
    .await;
    round_trip(
        &conn,
        "date",
        &[
            Infinite::Infinity,
            Infinite::NegInfinity,
            Infinite::Value(date!(2024 - 02 - 29)),
        ],
    )
    .await;
    round_trip(
        &conn,
        "time",
        &[time!(0:00), time!(23:59:59.999999), time!(12:34:56.5)],
    )
    .await;
    round_trip(
        &conn,
        "timestamp",
        &[
            datetime!(2024-02-29 12:00:00.000001),
            datetime!(1970-01-01 0:00),
            datetime!(0001-01-01 0:00),
        ],
    )
    .await;
    round_trip(
        &conn,
        "timestamp",
        &[
            Infinite::Infinity,
            Infinite::NegInfinity,
            Infinite::Value(datetime!(2000-01-01 0:00)),
        ],
    )
    .await;
    round_trip(
        &conn,
        "timetz",
        &[
            TimeTz {
                time: time!(10:00),
                offset: offset!(+5:30),
            },
            TimeTz {
                time: time!(23:59:59.999999),
                offset: offset!(-3),
            },
        ],
    )
    .await;
    round_trip(
        &conn,
        "interval",
        &[
            Interval {
                months: 14,
                days: -3,
                microseconds: 4 * 3_600_000_000 + 5_000_000,
            },
            Interval {
                months: 0,
                days: 0,
                microseconds: -1,
            },
            Interval {
                months: 0,
                days: 0,
                microseconds: 0,
            },
        ],
    )
    .await;
}

async fn timestamptz_is_one_instant_in_any_zone<R: Runtime>() {
    let conn = connect::<R>().await;
    let instant = datetime!(2024-07-01 12:00:00.123456 UTC);
    let t = unique_name("tz");
    conn.execute(&format!("create temp table {t} (v timestamptz)"), ())
        .await
        .unwrap();
    conn.execute(&format!("insert into {t} values ($1)"), (instant,))
        .await
        .unwrap();
    for zone in ["UTC", "Europe/Helsinki"] {
        conn.execute(&format!("set timezone = '{zone}'"), ())
            .await
            .unwrap();
        let text = fetch_text(&conn, &format!("select v from {t}"))
            .await
            .remove(0);
        let binary = conn
            .fetch_one(&format!("select v from {t} where $1"), (true,))
            .await
            .unwrap()
            .unwrap();
        let a: time::OffsetDateTime = text.try_get(0).unwrap();
        let b: time::OffsetDateTime = binary.try_get(0).unwrap();
        assert_eq!(a, instant, "{zone} text");
        assert_eq!(b, instant, "{zone} binary");
        // Both in UTC, whichever zone the text was printed in.
        assert_eq!(a.offset(), offset!(UTC), "{zone} text");
        assert_eq!(b.offset(), offset!(UTC), "{zone} binary");
    }
    round_trip(
        &conn,
        "timestamptz",
        &[Infinite::Infinity, Infinite::Value(instant)],
    )
    .await;
}

async fn network_addresses<R: Runtime>() {
    let conn = connect::<R>().await;
    let v4: IpAddr = "192.168.0.1".parse().unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    round_trip(
        &conn,
        "inet",
        &[
            Inet::new(v4, 32).unwrap(),
            Inet::new(v4, 24).unwrap(),
            Inet::new(v6, 128).unwrap(),
            Inet::new(v6, 64).unwrap(),
        ],
    )
    .await;
    round_trip(
        &conn,
        "cidr",
        &[
            Inet::new("10.0.0.0".parse().unwrap(), 8).unwrap(),
            Inet::new("2001:db8::".parse().unwrap(), 32).unwrap(),
        ],
    )
    .await;
    round_trip(&conn, "inet", &[v4, v6]).await;
}

async fn arrays<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(&conn, "int4[]", &[vec![], vec![1, -2, i32::MAX]]).await;
    round_trip(
        &conn,
        "text[]",
        &[vec![
            Some("a,b".to_owned()),
            None,
            Some("NULL".into()),
            Some("quote\" back\\slash {brace} ✓".into()),
            Some(String::new()),
        ]],
    )
    .await;
    round_trip(&conn, "float8[]", &[vec![Some(1.5f64), None]]).await;
    round_trip(&conn, "date[]", &[vec![date!(2024 - 02 - 29)]]).await;
    let grid = Array::new(
        vec![
            pgwire_conn::types::Dimension::new(2),
            pgwire_conn::types::Dimension::new(3),
        ],
        (1..=6).map(Some).collect(),
    )
    .unwrap();
    round_trip(&conn, "int4[]", &[grid]).await;
    // lower bounds and NULLs survive
    let row = conn
        .fetch_one("select '[0:2]={1,NULL,3}'::int4[] where $1", (true,))
        .await
        .unwrap()
        .unwrap();
    let a: Array<i32> = row.try_get(0).unwrap();
    assert_eq!(a.dims[0].lower_bound, 0);
    assert_eq!(a.elements, [Some(1), None, Some(3)]);
    let text = fetch_text(&conn, "select '[0:2]={1,NULL,3}'::int4[]")
        .await
        .remove(0);
    assert_eq!(text.try_get::<Array<i32>>(0).unwrap(), a);
    // a 2-D array is not a Vec
    let row = conn
        .fetch_one("select '{{1,2},{3,4}}'::int4[]", ())
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<Vec<i32>>(0).is_err());
}

async fn ranges<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(
        &conn,
        "int4range",
        &[
            Range::new(Bound::Included(1), Bound::Excluded(5)),
            Range::Empty,
            Range::new(Bound::Unbounded, Bound::Excluded(3)),
        ],
    )
    .await;
    round_trip(
        &conn,
        "int8range",
        &[Range::new(Bound::Included(i64::MIN), Bound::Unbounded)],
    )
    .await;
    round_trip(
        &conn,
        "daterange",
        &[Range::new(
            Bound::Included(date!(2024 - 01 - 01)),
            Bound::Excluded(date!(2024 - 02 - 29)),
        )],
    )
    .await;
    round_trip(
        &conn,
        "tsrange",
        &[Range::new(
            Bound::Included(datetime!(2024-01-01 0:00)),
            Bound::Included(datetime!(2024-01-02 0:00)),
        )],
    )
    .await;
    round_trip(
        &conn,
        "tstzrange",
        &[Range::new(
            Bound::Excluded(datetime!(2024-01-01 0:00 UTC)),
            Bound::Unbounded,
        )],
    )
    .await;
    round_trip(
        &conn,
        "numrange",
        &[Range::new(
            Bound::Included("1.5".parse::<Numeric>().unwrap()),
            Bound::Excluded("2.25".parse().unwrap()),
        )],
    )
    .await;
}

async fn enums_hstore_records_and_values<R: Runtime>() {
    let conn = connect::<R>().await;
    let mood = unique_name("mood");
    conn.execute(
        &format!("create type {mood} as enum ('sad', 'ok', 'happy')"),
        (),
    )
    .await
    .unwrap();
    round_trip_expecting(
        &conn,
        &mood,
        &["happy".to_owned(), "sad".to_owned()],
        Format::Text,
    )
    .await;
    let oid = conn.find_oid_for_type(&mood).await.unwrap().unwrap();
    assert!(oid >= 16384);
    assert_eq!(conn.find_oid_for_type("int4").await.unwrap(), Some(23));
    assert_eq!(
        conn.find_oid_for_type("no_such_type_at_all").await.unwrap(),
        None
    );

    let map: HashMap<String, Option<String>> = [
        ("a".to_owned(), Some("1".to_owned())),
        ("quote\"d".into(), None),
    ]
    .into_iter()
    .collect();
    // An extension type too: text over the extended protocol as well.
    round_trip_expecting(&conn, "hstore", &[map, HashMap::new()], Format::Text).await;

    let row = conn
        .fetch_one(
            "select row(1, 'a b', null::text, 2.5::float8) where $1",
            (true,),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.get_value(0).unwrap(),
        Value::Record(vec![
            Value::Int4(1),
            Value::Text("a b".into()),
            Value::Null,
            Value::Float8(2.5)
        ])
    );
    // dynamic values of mixed columns, by name
    let row = conn
        .fetch_one(
            "select 1::int2 as a, 'x'::text as b, null::int4 as c, '{1,2}'::int4[] as d where $1",
            (true,),
        )
        .await
        .unwrap()
        .unwrap();
    let map = row.to_map().unwrap();
    assert_eq!(map[0], ("a".to_owned(), Value::Int2(1)));
    assert_eq!(map[2].1, Value::Null);
    assert_eq!(map[3].1.to_string(), "{1,2}");
    // unknown types stay readable as Value
    let row = conn
        .fetch_one("select point(1, 2)", ())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(row.get_value(0).unwrap(), Value::Unknown { .. }));
    // json through the Json wrapper
    let row = conn
        .fetch_one("select $1::jsonb -> 'k'", (RawJson(r#"{"k": [1]}"#),))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>(0).unwrap(), "[1]");
}

async fn conversion_errors_are_typed_and_harmless<R: Runtime>() {
    let conn = connect::<R>().await;
    let row = conn
        .fetch_one(
            "select 7::int4 as seven, null::int4 as nothing, 40000::int4 as big where $1",
            (true,),
        )
        .await
        .unwrap()
        .unwrap();
    let err = row.try_get::<String>("seven").unwrap_err();
    let text = pgwire_integration_tests::report(&err);
    assert!(
        text.contains("seven") && text.contains("int4") && text.contains("String"),
        "{text}"
    );
    assert!(matches!(
        err,
        ColumnError::Decode {
            source: TypeError::WrongType { .. },
            ..
        }
    ));
    let err = row.try_get::<i32>("nothing").unwrap_err();
    assert!(err.to_string().contains("nothing"), "{err}");
    assert!(matches!(
        err,
        ColumnError::Decode {
            source: TypeError::UnexpectedNull,
            ..
        }
    ));
    assert_eq!(row.try_get::<Option<i32>>("nothing").unwrap(), None);
    assert!(matches!(
        row.try_get::<i16>("big").unwrap_err(),
        ColumnError::Decode {
            source: TypeError::OutOfRange { .. },
            ..
        }
    ));
    match conn.execute("select $1::text", ("nul\0byte",)).await {
        Err(Error::Encode {
            index: 0,
            source: TypeError::Nul,
        }) => {}
        other => panic!("{other:?}"),
    }
    let stmt = conn
        .create_prepared_statement(&unique_name("p"), "select $1::int4")
        .await
        .unwrap();
    match conn.fetch(&stmt, (vec![1u8, 2],)).await {
        Err(e @ Error::Encode { index: 0, .. }) => {
            let text = pgwire_integration_tests::report(&e);
            assert!(text.contains("int4"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    let row = conn
        .fetch_one("select point(1, 2)", ())
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<String>(0).is_err());
    // the server's own conversion failures are database errors
    let err = conn
        .execute("select $1::int4", ("not a number",))
        .await
        .unwrap_err();
    assert_eq!(
        err.code().map(|c| c.code().to_owned()).as_deref(),
        Some("22P02")
    );
    // and the connection is fine after all of it
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    let _ = SqlState::SYNTAX_ERROR;
}

runtime_only_tests!(
    scalars,
    special_floats,
    numerics,
    dates_and_times,
    timestamptz_is_one_instant_in_any_zone,
    network_addresses,
    arrays,
    ranges,
    enums_hstore_records_and_values,
    conversion_errors_are_typed_and_harmless,
);
