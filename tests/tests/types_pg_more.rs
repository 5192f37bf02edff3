//! The types tokio-postgres users have (issue 16, point 8), through a real
//! table in both formats.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, UNIX_EPOCH};

use pgwire_conn::types::{BitString, Circle, Line, Lseg, Path, PgBox, Point, Polygon};
use pgwire_conn::{Int2Vector, MacAddr, MacAddr8, OidVector, PgLsn, Value};
use pgwire_integration_tests::round_trip::round_trip;
use pgwire_integration_tests::{connect, runtime_only_tests, Runtime};

async fn oidvector_and_int2vector<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(
        &conn,
        "oidvector",
        &[OidVector(vec![0, 23, u32::MAX]), OidVector(vec![])],
    )
    .await;
    round_trip(
        &conn,
        "int2vector",
        &[
            Int2Vector(vec![i16::MIN, -1, 0, i16::MAX]),
            Int2Vector(vec![]),
        ],
    )
    .await;
    // Declared as the vector type, so the cast is the identity.
    let row = conn
        .fetch_one(
            "select $1::oidvector, $2::int2vector, $1::oidvector::oid[] = '[0:1]={23,25}'",
            (OidVector(vec![23, 25]), Int2Vector(vec![1, 3])),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<OidVector>(0).unwrap(),
        OidVector(vec![23, 25])
    );
    assert_eq!(row.try_get::<Vec<u32>>(0).unwrap(), vec![23, 25]);
    assert_eq!(row.try_get::<Vec<i16>>(1).unwrap(), vec![1, 3]);
    assert!(row.try_get::<bool>(2).unwrap());
    // What the catalogs hold reads back as well.
    let row = conn
        .fetch_one(
            "select proargtypes from pg_proc where oid = 'int4pl'::regproc",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<OidVector>(0).unwrap(),
        OidVector(vec![23, 23])
    );
    // A Vec keeps declaring the array type: its oid[] uses stay 1-based.
    let row = conn
        .fetch_one("select array_lower($1::oid[], 1)", (vec![1u32, 2],))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 1);
}

async fn char_system_time_and_fixed_arrays<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(&conn, "\"char\"", &[b'r' as i8, -1, i8::MIN, 1, i8::MAX, 0]).await;
    let row = conn
        .fetch_one(
            "select typtype from pg_type where oid = 'int4'::regtype",
            (),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i8>(0).unwrap(), b'b' as i8);
    let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000);
    let before = UNIX_EPOCH - Duration::new(86_400 * 365 * 300, 999_000);
    round_trip(&conn, "timestamptz", &[t, before, UNIX_EPOCH]).await;
    let row = conn
        .fetch_one(
            "select $1::timestamptz = to_timestamp(1700000000.123456)",
            (t,),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<bool>(0).unwrap());
    round_trip(&conn, "int4[]", &[[1i32, -2, 3], [i32::MIN, 0, i32::MAX]]).await;
    round_trip(&conn, "text[]", &[["a".to_owned(), "b c".to_owned()]]).await;
    // A different length is an error naming both, not a truncation.
    let row = conn
        .fetch_one("select array[1, 2, 3]::int4[]", ())
        .await
        .unwrap()
        .unwrap();
    let err = row.try_get::<[i32; 2]>(0).unwrap_err();
    assert!(
        format!("{err:?}").contains("3 elements, expected 2"),
        "{err:?}"
    );
}

async fn lsn_and_mac_addresses<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(
        &conn,
        "pg_lsn",
        &[PgLsn(0), PgLsn(0x16_B374_D848), PgLsn(u64::MAX)],
    )
    .await;
    round_trip(
        &conn,
        "macaddr",
        &[
            MacAddr([8, 0, 0x2b, 1, 2, 3]),
            MacAddr([0xff; 6]),
            MacAddr([0; 6]),
        ],
    )
    .await;
    round_trip(
        &conn,
        "macaddr8",
        &[MacAddr8([8, 0, 0x2b, 1, 2, 3, 4, 5]), MacAddr8([0xff; 8])],
    )
    .await;
    round_trip(&conn, "macaddr[]", &[vec![MacAddr([1, 2, 3, 4, 5, 6])]]).await;
    let row = conn
        .fetch_one(
            "select $1::pg_lsn - '0/10'::pg_lsn, $2::macaddr8 = '08:00:2b:ff:fe:01:02:03', \
             pg_current_wal_lsn() >= $1, $1::pg_lsn, $2::macaddr",
            (PgLsn(0x20), MacAddr([8, 0, 0x2b, 1, 2, 3])),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<&str>(0).ok(), None, "numeric, not text");
    assert!(row.try_get::<bool>(1).unwrap());
    assert!(row.try_get::<bool>(2).unwrap());
    // Dynamic values still show the server's text, now read in binary.
    assert_eq!(row.get_value(3).unwrap().to_string(), "0/20");
    assert_eq!(row.get_value(4).unwrap().to_string(), "08:00:2b:01:02:03");
    assert!(matches!(row.get_value(4).unwrap(), Value::Unknown { .. }));
}

fn bits(s: &str) -> BitString {
    s.parse().unwrap()
}

async fn bit_strings<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(&conn, "bit(9)", &[bits("101100001"), bits("000000000")]).await;
    round_trip(
        &conn,
        "varbit",
        &[
            bits(""),
            bits("1"),
            bits("01010101"),
            bits(&"10".repeat(50)),
        ],
    )
    .await;
    round_trip(&conn, "varbit[]", &[vec![bits("1"), bits("0011")]]).await;
    let row = conn
        .fetch_one(
            "select $1::varbit || B'1', length($1), $1::bit(4), B'101'::bit(3)",
            (bits("10"),),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<BitString>(0).unwrap(), bits("101"));
    assert_eq!(row.try_get::<i32>(1).unwrap(), 2);
    assert_eq!(row.try_get::<BitString>(2).unwrap(), bits("1000"));
    assert_eq!(row.get_value(3).unwrap().to_string(), "101");
    // A length the column does not take is the server's typed error.
    let t = pgwire_integration_tests::unique_name("bits");
    conn.execute(&format!("create temp table {t} (b bit(3))"), ())
        .await
        .unwrap();
    let err = conn
        .execute(&format!("insert into {t} values ($1)"), (bits("1"),))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(pgwire_conn::SqlState::STRING_DATA_LENGTH_MISMATCH),
        "{err}"
    );
}

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

async fn geometric_types<R: Runtime>() {
    let conn = connect::<R>().await;
    round_trip(
        &conn,
        "point",
        &[pt(1.5, -2.0), pt(1e300, -1e-300), pt(f64::INFINITY, 0.0)],
    )
    .await;
    round_trip(
        &conn,
        "lseg",
        &[Lseg {
            start: pt(0.0, 0.0),
            end: pt(1.0, 0.25),
        }],
    )
    .await;
    round_trip(
        &conn,
        "box",
        &[PgBox {
            high: pt(2.0, 3.0),
            low: pt(-1.0, 0.5),
        }],
    )
    .await;
    round_trip(
        &conn,
        "line",
        &[Line {
            a: 1.0,
            b: -1.0,
            c: 0.5,
        }],
    )
    .await;
    round_trip(
        &conn,
        "path",
        &[
            Path {
                closed: true,
                points: vec![pt(0.0, 0.0), pt(1.0, 1.0), pt(2.0, 0.0)],
            },
            Path {
                closed: false,
                points: vec![pt(0.0, 0.0)],
            },
        ],
    )
    .await;
    round_trip(
        &conn,
        "polygon",
        &[Polygon(vec![pt(0.0, 0.0), pt(4.0, 0.0), pt(0.0, 3.0)])],
    )
    .await;
    round_trip(
        &conn,
        "circle",
        &[Circle {
            center: pt(1.0, -1.0),
            radius: 2.5,
        }],
    )
    .await;
    round_trip(&conn, "point[]", &[vec![pt(1.0, 2.0), pt(3.0, 4.0)]]).await;
    // The server computes with them; corners sent in any order come back
    // as it stores them.
    let row = conn
        .fetch_one(
            "select $1::point <-> point(4, 5), $2::box, npoints($3::polygon), $4::circle @> $1",
            (
                pt(1.0, 1.0),
                PgBox {
                    high: pt(0.0, 0.0),
                    low: pt(2.0, 2.0),
                },
                Polygon(vec![pt(0.0, 0.0), pt(4.0, 0.0), pt(0.0, 3.0)]),
                Circle {
                    center: pt(0.0, 0.0),
                    radius: 2.0,
                },
            ),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<f64>(0).unwrap(), 5.0);
    assert_eq!(
        row.try_get::<PgBox>(1).unwrap(),
        PgBox {
            high: pt(2.0, 2.0),
            low: pt(0.0, 0.0),
        }
    );
    assert_eq!(row.try_get::<i32>(2).unwrap(), 3);
    assert!(row.try_get::<bool>(3).unwrap());
    // Value still shows them as text.
    assert_eq!(row.get_value(1).unwrap().to_string(), "(2,2),(0,0)");
}

async fn enum_labels_in_type_metadata<R: Runtime>() {
    let conn = connect::<R>().await;
    let mood = pgwire_integration_tests::unique_name("mood");
    conn.execute(
        &format!("create type {mood} as enum ('sad', 'ok', 'happy')"),
        (),
    )
    .await
    .unwrap();
    // A label added before another sorts by its place, not its age.
    conn.execute(
        &format!("alter type {mood} add value 'meh' before 'ok'"),
        (),
    )
    .await
    .unwrap();
    conn.register_types(&[&mood]).await.unwrap();
    let oid = conn.find_oid_for_type(&mood).await.unwrap().unwrap();
    let types = conn.type_registry();
    assert_eq!(types.kind(oid), Some(pgwire_conn::TypeKind::Enum));
    assert_eq!(
        types.enum_labels(oid).unwrap(),
        ["sad", "meh", "ok", "happy"].map(str::to_owned)
    );
    // Its array type is no enum and has none.
    let array = types.array_of(oid).unwrap();
    assert_eq!(types.enum_labels(array), None);
    assert_eq!(types.enum_labels(pgwire_conn::types::oid::INT4), None);
}

runtime_only_tests!(
    oidvector_and_int2vector,
    char_system_time_and_fixed_arrays,
    lsn_and_mac_addresses,
    bit_strings,
    geometric_types,
    enum_labels_in_type_metadata,
);
