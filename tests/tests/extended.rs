//! The extended protocol through the public API: positional and named
//! parameters, lowlevel_query, errors on both protocol paths, errors caught
//! before anything is sent, and every ErrorResponse field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::TryStreamExt;
use pgwire_conn::{named, Error, Event, Format, ParamError, Query, SqlState};
use pgwire_integration_tests::{assert_code, connect, runtime_tests, unique_name, Runtime};

async fn positional_and_named_parameters<R: Runtime>() {
    let conn = connect::<R>().await;
    let row = conn
        .fetch_one(
            "select $1::int4 + $2::int4, $3::text, $4::bool, $5::float8",
            (40, 2, "hé", true, 0.5f64),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 42);
    assert_eq!(row.try_get::<&str>(1).unwrap(), "hé");
    assert!(row.try_get::<bool>(2).unwrap());
    assert_eq!(row.try_get::<f64>(3).unwrap(), 0.5);
    let row = conn
        .fetch_one(
            "select :x::int8 * 2 as twice, :name::text as name, :x::int8 as again",
            named! { x: 21i64, name: "bob" },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("twice").unwrap(), 42);
    assert_eq!(row.try_get::<String>("name").unwrap(), "bob");
    assert_eq!(row.try_get::<i64>("again").unwrap(), 21);
    // NULL through Option
    let row = conn
        .fetch_one("select $1::text is null", (None::<&str>,))
        .await
        .unwrap()
        .unwrap();
    assert!(row.try_get::<bool>(0).unwrap());
    // bytes
    let row = conn
        .fetch_one("select $1::bytea", (vec![0u8, 1, 255],))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<Vec<u8>>(0).unwrap(), [0, 1, 255]);
}

async fn string_parameter_is_never_spliced<R: Runtime>() {
    let conn = connect::<R>().await;
    let evil = "'; drop table pg_class; --";
    let row = conn
        .fetch_one("select $1::text", (evil,))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<&str>(0).unwrap(), evil);
    let row = conn
        .fetch_one("select :v::text, ':v', $$:v$$ -- :v\n", named! { v: evil })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<&str>(0).unwrap(), evil);
    assert_eq!(row.try_get::<&str>(1).unwrap(), ":v");
    assert_eq!(row.try_get::<&str>(2).unwrap(), ":v");
}

async fn parameter_errors_before_sending<R: Runtime>() {
    let conn = connect::<R>().await;
    let cases: Vec<(pgwire_conn::Result<u64>, &str)> = vec![
        (
            conn.execute("select :a, :b", named! { a: 1 }).await,
            "missing",
        ),
        (
            conn.execute("select :a", named! { a: 1, b: 2 }).await,
            "unused",
        ),
        (
            conn.execute("select :a, $1", named! { a: 1 }).await,
            "mixed",
        ),
        (conn.execute("select $1, $2", (1,)).await, "count"),
        (conn.execute("select $1", (1, 2)).await, "count"),
    ];
    for (result, what) in cases {
        match result {
            Err(e @ Error::Params(_)) => assert!(e.is_recoverable(), "{what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(matches!(
        conn.execute("select :a, :b", named! { a: 1 }).await,
        Err(Error::Params(ParamError::MissingValue(name))) if name == "b"
    ));
    // nothing was sent: the connection answers the next query right away
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    assert!(conn.ready());
}

async fn errors_on_both_protocol_paths<R: Runtime>() {
    let conn = connect::<R>().await;
    assert_code(
        conn.fetch("select * from missing_tbl", ()).await,
        SqlState::UNDEFINED_TABLE,
    );
    assert_eq!(
        conn.fetch_one("select 1", ())
            .await
            .unwrap()
            .unwrap()
            .try_get::<i32>(0)
            .unwrap(),
        1
    );
    assert_code(
        conn.fetch("select * from missing_tbl where 1 = $1", (1,))
            .await,
        SqlState::UNDEFINED_TABLE,
    );
    let row = conn
        .fetch_one("select $1::int4", (7,))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 7);
}

async fn lowlevel_query_shapes<R: Runtime>() {
    let conn = connect::<R>().await;
    let events: Vec<Event> = conn
        .lowlevel_query("select null", ())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    let Event::RowDescription(d) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(d.fields()[0].name, "?column?");
    let Event::Row(row) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(row.raw(0), Some(None));
    let Event::CommandComplete(c) = &events[2] else {
        panic!("{events:?}")
    };
    assert_eq!(c.rows(), Some(1));

    let events: Vec<Event> = conn
        .lowlevel_query("select 1; select 2", ())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 6, "{events:?}");

    // errors are items, and the stream ends at ReadyForQuery
    let events: Vec<Event> = conn
        .lowlevel_query("select * from nope_nope", ())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(matches!(&events[..], [Event::Error(e)] if e.sqlstate() == SqlState::UNDEFINED_TABLE));

    // extended: ParseComplete, BindComplete, RowDescription, Row, CommandComplete
    let events: Vec<Event> = conn
        .lowlevel_query("select $1::int4", (5,))
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(
        matches!(
            &events[..],
            [
                Event::ParseComplete,
                Event::BindComplete,
                Event::RowDescription(_),
                Event::Row(_),
                Event::CommandComplete(_)
            ]
        ),
        "{events:?}"
    );
}

async fn counts_with_parameters<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("counts");
    conn.execute(
        &format!("create temp table {t} (id int primary key, v text not null)"),
        (),
    )
    .await
    .unwrap();
    for i in 0..3 {
        assert_eq!(
            conn.execute(
                &format!("insert into {t} values ($1, $2)"),
                (i, format!("v{i}"))
            )
            .await
            .unwrap(),
            1
        );
    }
    assert_eq!(
        conn.execute(&format!("update {t} set v = $1 where id >= $2"), ("x", 1))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        conn.execute(&format!("delete from {t} where v = :v"), named! { v: "x" })
            .await
            .unwrap(),
        2
    );
    assert_eq!(conn.execute("checkpoint", ()).await.unwrap(), 0);
    let err = conn
        .execute(
            &format!("insert into {t} values ($1, $2)"),
            (9, None::<&str>),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(SqlState::NOT_NULL_VIOLATION));
    let db = err.as_database().unwrap();
    assert_eq!(db.column.as_deref(), Some("v"));
    assert_eq!(db.table.as_deref(), Some(t.as_str()));
}

async fn check_violation_fills_fields<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("ck");
    conn.execute(
        &format!("create temp table {t} (n int constraint {t}_positive check (n > 0))"),
        (),
    )
    .await
    .unwrap();
    let err = conn
        .execute(&format!("insert into {t} values ($1)"), (-1,))
        .await
        .unwrap_err();
    let db = err.as_database().unwrap();
    assert_eq!(db.sqlstate(), SqlState::CHECK_VIOLATION);
    assert!(db.detail.as_deref().unwrap_or("").contains("-1"), "{db:?}");
    assert!(
        db.schema.as_deref().unwrap_or("").starts_with("pg_temp"),
        "{db:?}"
    );
    assert_eq!(db.table.as_deref(), Some(t.as_str()));
    assert_eq!(
        db.constraint.as_deref(),
        Some(format!("{t}_positive").as_str())
    );
    assert!(db.file.is_some() && db.line.is_some() && db.routine.is_some());
    // the position points at the offending token: `+*` starts at character 10
    let err = conn.execute("select 1 +* 2", ()).await.unwrap_err();
    assert_eq!(err.as_database().unwrap().position, Some(10));
}

async fn max_rows_limits_the_portal<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("three");
    conn.execute(
        &format!("create temp table {t} as select generate_series(1, 3) as n"),
        (),
    )
    .await
    .unwrap();
    let rows = conn
        .fetch(
            Query::new(&format!("select n from {t} order by n")).max_rows(1),
            (),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get::<i32>(0).unwrap(), 1);
    let rows = conn
        .fetch(Query::new("select generate_series(1, 10)").max_rows(4), ())
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
}

async fn set_shows_in_connection_parameters<R: Runtime>() {
    let conn = connect::<R>().await;
    conn.execute("set application_name = 'changed-by-set'", ())
        .await
        .unwrap();
    assert_eq!(
        conn.connection_parameters()
            .get("application_name")
            .map(String::as_str),
        Some("changed-by-set")
    );
    conn.execute("set timezone = 'Europe/Helsinki'", ())
        .await
        .unwrap();
    assert_eq!(conn.server_timezone().as_deref(), Some("Europe/Helsinki"));
}

async fn type_mismatch_is_typed_and_recoverable<R: Runtime>() {
    let conn = connect::<R>().await;
    let row = conn.fetch_one("select 1::int4", ()).await.unwrap().unwrap();
    let err = row.try_get::<bool>(0).unwrap_err();
    assert!(
        pgwire_integration_tests::report(&err).contains("int4"),
        "{err}"
    );
    let stmt = conn
        .create_prepared_statement(&unique_name("ps"), "select $1::int2")
        .await
        .unwrap();
    match conn.fetch(&stmt, (100_000i32,)).await {
        Err(e @ Error::Encode { index: 0, .. }) => {
            assert!(pgwire_integration_tests::report(&e).contains("int2"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

/// One statement is prepared and answered in binary, parameters or not;
/// several statements in one text go over the simple protocol, in text; a
/// disabled statement cache sends a single statement unnamed, in binary
/// too, and several over the simple protocol.
async fn protocol_follows_the_statement_count<R: Runtime>() {
    let formats = |rows: &[pgwire_conn::Row]| -> Vec<Format> {
        rows[0]
            .description()
            .fields()
            .iter()
            .map(|f| f.format)
            .collect()
    };
    let conn = connect::<R>().await;
    let sql = "select 7::int4 as n, 'x;y'::text as s; ";
    for _ in 0..2 {
        let rows = conn.fetch(sql, ()).await.unwrap();
        assert_eq!(formats(&rows), [Format::Binary, Format::Binary]);
        assert_eq!(rows[0].try_get::<i32>(0).unwrap(), 7);
        assert_eq!(rows[0].try_get::<&str>(1).unwrap(), "x;y");
    }
    let t = unique_name("multi");
    let both = format!("create temp table {t} (a int); insert into {t} values (1), (2)");
    assert_eq!(conn.execute(&both, ()).await.unwrap(), 2);
    let rows = conn
        .fetch(&format!("select a from {t} order by a; select 3"), ())
        .await
        .unwrap();
    assert_eq!(rows.len(), 3, "rows of every statement");
    assert_eq!(formats(&rows), [Format::Text]);
    assert_eq!(rows[2].try_get::<i32>(0).unwrap(), 3);
    // Statements that refuse a transaction block run prepared as well.
    conn.execute(&format!("vacuum analyze {t}"), ())
        .await
        .unwrap();
    // An error in a single statement is the same error either way.
    assert_code(
        conn.fetch("select * from missing_tbl_protocol", ()).await,
        SqlState::UNDEFINED_TABLE,
    );
    conn.set_statement_cache_capacity(0);
    let rows = conn.fetch(sql, ()).await.unwrap();
    assert_eq!(formats(&rows), [Format::Binary, Format::Binary]);
    assert_eq!(rows[0].try_get::<i32>(0).unwrap(), 7);
    let rows = conn
        .fetch("select 7::int4; select 8::int4", ())
        .await
        .unwrap();
    assert_eq!(formats(&rows), [Format::Text]);
    assert_eq!(rows[1].try_get::<i32>(0).unwrap(), 8);
    conn.execute(&format!("vacuum analyze {t}"), ())
        .await
        .unwrap();
    let rows = conn.fetch("select $1::int4", (8,)).await.unwrap();
    assert_eq!(rows[0].try_get::<i32>(0).unwrap(), 8);
    assert!(conn.ready());
}

runtime_tests!(
    protocol_follows_the_statement_count,
    positional_and_named_parameters,
    string_parameter_is_never_spliced,
    parameter_errors_before_sending,
    errors_on_both_protocol_paths,
    lowlevel_query_shapes,
    counts_with_parameters,
    check_violation_fills_fields,
    max_rows_limits_the_portal,
    set_shows_in_connection_parameters,
    type_mismatch_is_typed_and_recoverable,
);
