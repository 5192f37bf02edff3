//! Types a connection registered (`register_types`, `find_oid_for_type`)
//! are first-class in results: a composite with a nested composite, an
//! enum field, a domain field, a NULL field and an array-of-composite
//! field decodes through `try_get::<Value>` (by index, by name, as an
//! `Option`, inside arrays) into records of typed fields, in text (simple
//! protocol) and in binary (extended protocol, which asks for binary once
//! the registry can decode it); derived `FromSql` structs read both
//! formats; and the `Value` written back as a parameter round-trips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{Array, Connection, Format, FromSql, Row, TypeKind, Value};
use pgwire_integration_tests::{
    connect, pgbouncer_options, runtime_tests, unique_name, PoolMode, Runtime, Via,
};

#[derive(Debug, Clone, Copy, PartialEq, FromSql)]
#[pgwire(rename_all = "snake_case")]
enum Mood {
    Sad,
    Ok,
    Happy,
}

#[derive(Debug, Clone, PartialEq, FromSql)]
struct Inner {
    label: Option<String>,
    m: Mood,
}

#[derive(Debug, Clone, Copy, PartialEq, FromSql)]
#[pgwire(transparent)]
struct PosInt(i32);

#[derive(Debug, Clone, PartialEq, FromSql)]
struct Outer {
    id: i32,
    nested: Inner,
    m: Mood,
    p: PosInt,
    note: Option<String>,
    inners: Vec<Inner>,
    /// Read as a `Value` inside a derived struct: typed by the registry.
    any: Value,
}

/// The names of the test's types, made unique per test.
struct Types {
    mood: String,
    posint: String,
    inner: String,
    outer: String,
}

async fn create_types<S>(conn: &Connection<S>) -> Types
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send,
{
    let types = Types {
        mood: unique_name("rmood"),
        posint: unique_name("rposint"),
        inner: unique_name("rinner"),
        outer: unique_name("router"),
    };
    let Types {
        mood,
        posint,
        inner,
        outer,
    } = &types;
    conn.simple_query(&format!(
        "create type {mood} as enum ('sad', 'ok', 'happy');
         create domain {posint} as int4 check (value > 0);
         create type {inner} as (label text, m {mood});
         create type {outer} as (id int4, nested {inner}, m {mood}, p {posint},
                                 note text, inners {inner}[], \"any\" {inner})"
    ))
    .await
    .unwrap();
    types
}

async fn drop_types<S>(conn: &Connection<S>, types: &Types)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send,
{
    let Types {
        mood,
        posint,
        inner,
        outer,
    } = types;
    conn.simple_query(&format!(
        "drop type {outer}; drop type {inner}; drop domain {posint}; drop type {mood}"
    ))
    .await
    .unwrap();
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The row of [`select`] as `Value`s: the `outer` column, the array of
/// `inner` column, the enum column.
fn expected() -> (Value, Vec<Value>, Value) {
    let one = Value::Record(vec![text("in \"one\", (odd)"), text("happy")]);
    let a = Value::Record(vec![text("a"), text("ok")]);
    let b = Value::Record(vec![Value::Null, text("sad")]);
    let outer = Value::Record(vec![
        Value::Int4(7),
        one.clone(),
        text("sad"),
        Value::Int4(5),
        Value::Null,
        Value::Array(Array::from(vec![a.clone(), b.clone()])),
        b.clone(),
    ]);
    (outer, vec![a, b], text("ok"))
}

fn expected_outer() -> Outer {
    Outer {
        id: 7,
        nested: Inner {
            label: Some("in \"one\", (odd)".to_owned()),
            m: Mood::Happy,
        },
        m: Mood::Sad,
        p: PosInt(5),
        note: None,
        inners: vec![
            Inner {
                label: Some("a".to_owned()),
                m: Mood::Ok,
            },
            Inner {
                label: None,
                m: Mood::Sad,
            },
        ],
        any: Value::Record(vec![Value::Null, text("sad")]),
    }
}

/// The query of the test's row; `filter` ends it (`where $1` to force the
/// extended protocol).
fn select(types: &Types, filter: &str) -> String {
    let Types { inner, outer, .. } = types;
    format!(
        "select row(7, row('in \"one\", (odd)', 'happy')::{inner}, 'sad', 5, null,
                    array[row('a', 'ok')::{inner}, row(null, 'sad')::{inner}],
                    row(null, 'sad')::{inner})::{outer} as o,
                array[row('a', 'ok')::{inner}, row(null, 'sad')::{inner}] as arr,
                'ok'::{mood} as m {filter}",
        mood = types.mood
    )
}

/// Checks every way of reading the row as `Value`s and derived structs.
fn check_row(row: &Row) {
    let (outer, array, mood) = expected();
    assert_eq!(row.try_get::<Value>(0).unwrap(), outer);
    assert_eq!(row.try_get::<Value>("o").unwrap(), outer);
    assert_eq!(row.try_get::<Option<Value>>("o").unwrap(), Some(outer));
    assert_eq!(row.get_value("o").unwrap(), expected().0);
    assert_eq!(
        row.try_get::<Value>("arr").unwrap(),
        Value::Array(Array::from(array.clone()))
    );
    assert_eq!(row.try_get::<Vec<Value>>("arr").unwrap(), array);
    assert_eq!(row.try_get::<Value>("m").unwrap(), mood);
    assert_eq!(row.values_dynamic().unwrap()[0], expected().0);
    assert_eq!(row.try_get::<Outer>("o").unwrap(), expected_outer());
    assert_eq!(
        row.try_get::<Vec<Inner>>("arr").unwrap(),
        expected_outer().inners
    );
    assert_eq!(row.try_get::<Mood>("m").unwrap(), Mood::Ok);
    // A top-level enum column arrives in binary only behind PgBouncer
    // (every column binary): there a string reads it through `Value`.
    if row.description().fields()[2].format == Format::Text {
        assert_eq!(row.try_get::<String>("m").unwrap(), "ok");
    }
}

fn formats(row: &Row) -> Vec<Format> {
    row.description()
        .fields()
        .iter()
        .map(|f| f.format)
        .collect()
}

async fn registered_composites_decode_as_values<R: Runtime>() {
    let conn = connect::<R>().await;
    let types = create_types(&conn).await;
    // Registering the outer composite registers what its fields need.
    let outer_oid = conn.find_oid_for_type(&types.outer).await.unwrap().unwrap();
    let registry = conn.type_registry();
    let inner_oid = registry.find_oid_for_type(&types.inner).unwrap();
    assert!(matches!(
        registry.kind(outer_oid),
        Some(TypeKind::Composite { .. })
    ));
    assert!(matches!(
        registry.kind(inner_oid),
        Some(TypeKind::Composite { .. })
    ));
    assert_eq!(
        registry.kind(registry.find_oid_for_type(&types.mood).unwrap()),
        Some(TypeKind::Enum)
    );

    // Text: the simple protocol.
    let results = conn.simple_query(&select(&types, "")).await.unwrap();
    let row = &results[0].rows[0];
    assert_eq!(formats(row), [Format::Text; 3]);
    check_row(row);

    // Binary: the extended protocol, uncached then cached.
    for _ in 0..2 {
        let row = conn
            .fetch_one(&select(&types, "where $1"), (true,))
            .await
            .unwrap()
            .unwrap();
        // The enum's formats are the same label: it stays text.
        assert_eq!(
            formats(&row),
            [Format::Binary, Format::Binary, Format::Text]
        );
        check_row(&row);
    }

    // A Value of a registered composite written back as a parameter.
    let (outer, ..) = expected();
    let back: Value = conn
        .fetch_scalar(&format!("select $1::{}", types.outer), (outer.clone(),))
        .await
        .unwrap();
    assert_eq!(back, outer);
    drop_types(&conn, &types).await;
}

async fn registered_types_on_a_prepared_statement<R: Runtime>() {
    let conn = connect::<R>().await;
    let types = create_types(&conn).await;
    conn.register_types(&[&types.outer]).await.unwrap();
    let name = unique_name("rstmt");
    let statement = conn
        .create_prepared_statement(&name, &select(&types, "where $1"))
        .await
        .unwrap();
    let row = conn.fetch_one(&statement, (true,)).await.unwrap().unwrap();
    assert_eq!(
        formats(&row),
        [Format::Binary, Format::Binary, Format::Text]
    );
    check_row(&row);
    conn.close_prepared_statement(&statement).await.unwrap();
    drop_types(&conn, &types).await;
}

async fn statements_cached_before_registering_turn_binary<R: Runtime>() {
    let conn = connect::<R>().await;
    let types = create_types(&conn).await;
    let sql = select(&types, "where $1");
    let row = conn.fetch_one(&sql, (true,)).await.unwrap().unwrap();
    assert_eq!(formats(&row), [Format::Text; 3]);
    assert!(matches!(
        row.try_get::<Value>("o"),
        Ok(Value::Unknown { .. })
    ));
    conn.register_types(&[&types.outer]).await.unwrap();
    // The same cached statement, asked for in binary from now on.
    let before = conn.statement_cache_stats();
    for _ in 0..2 {
        let row = conn.fetch_one(&sql, (true,)).await.unwrap().unwrap();
        assert_eq!(
            formats(&row),
            [Format::Binary, Format::Binary, Format::Text]
        );
        check_row(&row);
    }
    let after = conn.statement_cache_stats();
    assert_eq!(after.prepared, before.prepared);
    assert_eq!(after.hits, before.hits + 2);
    drop_types(&conn, &types).await;
}

/// Behind PgBouncer in transaction mode the statement cache is off and
/// every column is asked for in binary (the formats are chosen before the
/// columns are known): the registered types decode all the same, the enum
/// column too.
async fn registered_composites_behind_transaction_pooling<R: Runtime>() {
    let direct = connect::<R>().await;
    let types = create_types(&direct).await;
    let opts = pgbouncer_options(PoolMode::Transaction, Via::Tcp);
    let conn = R::open(&opts).await.unwrap();
    assert!(conn.pooler_detected());
    conn.register_types(&[&types.outer]).await.unwrap();
    for _ in 0..2 {
        let row = conn
            .fetch_one(&select(&types, "where $1"), (true,))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(formats(&row), [Format::Binary; 3]);
        check_row(&row);
    }
    drop(conn);
    drop_types(&direct, &types).await;
}

mod behind_pgbouncer {
    use pgwire_integration_tests::{run, AsyncStd, Smol, Tokio};

    use super::registered_composites_behind_transaction_pooling as test;

    #[test]
    fn tokio() {
        run::<Tokio, _>(test::<Tokio>())
    }

    #[test]
    fn smol() {
        run::<Smol, _>(test::<Smol>())
    }

    #[test]
    fn async_std() {
        run::<AsyncStd, _>(test::<AsyncStd>())
    }
}

runtime_tests!(
    registered_composites_decode_as_values,
    registered_types_on_a_prepared_statement,
    statements_cached_before_registering_turn_binary,
);
