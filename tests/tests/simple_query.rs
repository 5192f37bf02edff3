//! The simple query protocol end to end: round trips with row counts, errors
//! that leave the connection usable, multi-statement strings, empty queries,
//! transaction status, parameters, and a connection the server kills.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{Error, SqlState};
use pgwire_integration_tests::{assert_code, connect, runtime_tests, unique_name, Runtime};

async fn create_insert_update_delete_select<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("crud");
    assert_eq!(
        conn.execute(
            &format!("create temp table {t} (id int primary key, name text)"),
            ()
        )
        .await
        .unwrap(),
        0
    );
    assert_eq!(
        conn.execute(
            &format!("insert into {t} values (1, 'one'), (2, 'two'), (3, null)"),
            ()
        )
        .await
        .unwrap(),
        3
    );
    assert_eq!(
        conn.execute(&format!("update {t} set name = 'uno' where id = 1"), ())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(&format!("delete from {t} where id = 2"), ())
            .await
            .unwrap(),
        1
    );
    let rows = conn
        .fetch(&format!("select id, name from {t} order by id"), ())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].try_get::<i32>(0).unwrap(), 1);
    assert!(matches!(
        rows[0].text(0),
        Err(pgwire_conn::ColumnError::NotText { index: 0, .. })
    ));
    assert_eq!(rows[0].text(1).unwrap(), Some("uno"));
    assert_eq!(rows[1].text(1).unwrap(), None);
    assert_eq!(rows[0].description().fields()[1].name, "name");
    assert_eq!(
        conn.execute(&format!("select * from {t}"), ())
            .await
            .unwrap(),
        2
    );
    let none = conn
        .fetch_one(&format!("select * from {t} where id = 99"), ())
        .await
        .unwrap();
    assert!(none.is_none());
}

async fn sql_error_is_recoverable<R: Runtime>() {
    let conn = connect::<R>().await;
    let err = conn
        .fetch("select * from no_such_table_xyz", ())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(SqlState::UNDEFINED_TABLE));
    assert!(err.is_recoverable());
    let db = err.as_database().unwrap();
    assert!(db.message.contains("no_such_table_xyz"));
    assert_eq!(db.severity(), "ERROR");
    assert_eq!(db.position, Some(15));
    assert!(conn.ready());
    assert!(!conn.dead());
    let row = conn.fetch_one("select 41 + 1", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 42);
}

async fn syntax_error_has_position<R: Runtime>() {
    let conn = connect::<R>().await;
    let err = conn.execute("selec 1", ()).await.unwrap_err();
    assert_eq!(err.code(), Some(SqlState::SYNTAX_ERROR));
    assert_eq!(err.as_database().unwrap().position, Some(1));
}

async fn multi_statement_returns_each_result<R: Runtime>() {
    let conn = connect::<R>().await;
    let results = conn
        .simple_query("select 1 as a; select 'x' as b, 'y' as c union all select 'z', null; set application_name = 'multi'")
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].rows.len(), 1);
    assert_eq!(results[0].columns.as_ref().unwrap().fields()[0].name, "a");
    assert_eq!(results[1].rows.len(), 2);
    assert_eq!(results[1].rows[1].text(1).unwrap(), None);
    assert_eq!(results[1].row_count(), 2);
    assert!(results[2].columns.is_none());
    assert_eq!(results[2].command.as_ref().unwrap().tag(), "SET");
    // fetch concatenates every statement's rows
    let rows = conn
        .fetch("select 1; select 2; select 3", ())
        .await
        .unwrap();
    let values: Vec<_> = rows
        .iter()
        .map(|r| r.text(0).unwrap().unwrap().to_owned())
        .collect();
    assert_eq!(values, ["1", "2", "3"]);
    // set application_name is reported back
    assert_eq!(
        conn.connection_parameters()
            .get("application_name")
            .map(String::as_str),
        Some("multi")
    );
}

async fn error_in_the_middle_of_a_batch<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("batch");
    conn.execute(&format!("create temp table {t} (x int)"), ())
        .await
        .unwrap();
    // One implicit transaction: the failing statement undoes the insert.
    let err = conn
        .simple_query(&format!(
            "insert into {t} values (1); select 1/0; insert into {t} values (2)"
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.code().map(|c| c.code().to_owned()),
        Some("22012".into())
    );
    assert_eq!(
        conn.execute(&format!("select * from {t}"), ())
            .await
            .unwrap(),
        0
    );
}

async fn empty_query_is_handled<R: Runtime>() {
    let conn = connect::<R>().await;
    let results = conn.simple_query("").await.unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].command.is_none());
    assert_eq!(conn.execute("", ()).await.unwrap(), 0);
    assert!(conn.fetch("  ;  ", ()).await.unwrap().is_empty());
    assert!(conn.ready());
}

async fn transaction_status_flips<R: Runtime>() {
    let conn = connect::<R>().await;
    assert!(!conn.in_transaction());
    conn.execute("begin", ()).await.unwrap();
    assert!(conn.in_transaction());
    assert!(conn.execute("select nope", ()).await.is_err());
    assert_eq!(
        conn.transaction_status(),
        pgwire_conn::TransactionStatus::Failed
    );
    assert_code(
        conn.execute("select 1", ()).await,
        SqlState::IN_FAILED_SQL_TRANSACTION,
    );
    conn.execute("rollback", ()).await.unwrap();
    assert!(!conn.in_transaction());
}

async fn checkpoint_counts_zero<R: Runtime>() {
    let conn = connect::<R>().await;
    assert_eq!(conn.execute("checkpoint", ()).await.unwrap(), 0);
}

async fn nul_in_sql_is_refused_before_sending<R: Runtime>() {
    let conn = connect::<R>().await;
    assert!(matches!(
        conn.execute("select '\0'", ()).await,
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn notices_reach_the_handler<R: Runtime>() {
    use std::sync::{Arc, Mutex};
    let conn = connect::<R>().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    conn.set_notice_handler(move |n| sink.lock().unwrap().push(n.message.clone()));
    conn.execute("do $$ begin raise notice 'hello %', 42; end $$", ())
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().as_slice(), ["hello 42"]);
}

async fn notification_between_queries<R: Runtime>() {
    let conn = connect::<R>().await;
    let channel = unique_name("chan");
    conn.execute(&format!("listen {channel}"), ())
        .await
        .unwrap();
    conn.execute(&format!("notify {channel}, 'payload'"), ())
        .await
        .unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    let notes = conn.take_notifications();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].channel, channel);
    assert_eq!(notes[0].payload, "payload");
}

async fn killed_backend_makes_the_connection_dead<R: Runtime>() {
    let victim = connect::<R>().await;
    let pid = victim.backend_key().unwrap().process_id;
    let killer = connect::<R>().await;
    killer
        .execute(&format!("select pg_terminate_backend({pid})"), ())
        .await
        .unwrap();
    // The FATAL 57P01 may arrive before or instead of our query's answer.
    let err = loop {
        match victim.execute("select 1", ()).await {
            Ok(_) => R::sleep(std::time::Duration::from_millis(20)).await,
            Err(e) => break e,
        }
    };
    assert!(!err.is_recoverable(), "{err}");
    assert!(victim.dead());
    assert!(matches!(
        victim.execute("select 1", ()).await,
        Err(Error::Dead(_))
    ));
    assert!(killer.ready());
}

/// The plain query methods do not reserve the connection, which a `COPY
/// FROM STDIN` needs (the server reads what follows as COPY data): they
/// refuse it before anything is sent, in any statement of a text and when
/// preparing it, and name `copy_in`; `COPY TO STDOUT` data is read past;
/// the connection goes on either way. (COPY itself: tests/tests/copy.rs.)
async fn copy_is_refused_or_skipped_cleanly<R: Runtime>() {
    let conn = connect::<R>().await;
    let t = unique_name("copy");
    conn.execute(&format!("create temp table {t} (a int)"), ())
        .await
        .unwrap();
    for sql in [
        format!("copy {t} from stdin"),
        format!("select 1; COPY {t} (a) FROM STDIN"),
    ] {
        let err = conn.execute(&sql, ()).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(why) if why.contains("copy_in")),
            "{sql}: {err:?}"
        );
        assert!(conn.ready());
    }
    let err = conn
        .create_prepared_statement("copy_in", &format!("copy {t} from stdin"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    conn.execute(&format!("insert into {t} values (1), (2)"), ())
        .await
        .unwrap();
    for sql in [
        format!("copy {t} to stdout"),
        format!("select 1; copy {t} to stdout"),
    ] {
        assert_eq!(conn.execute(&sql, ()).await.unwrap(), 2, "{sql}");
    }
    let row = conn.fetch_one("select 5::int4", ()).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i32>(0).unwrap(), 5);
}

runtime_tests!(
    copy_is_refused_or_skipped_cleanly,
    create_insert_update_delete_select,
    sql_error_is_recoverable,
    syntax_error_has_position,
    multi_statement_returns_each_result,
    error_in_the_middle_of_a_batch,
    empty_query_is_handled,
    transaction_status_flips,
    checkpoint_counts_zero,
    nul_in_sql_is_refused_before_sending,
    notices_reach_the_handler,
    notification_between_queries,
    killed_backend_makes_the_connection_dead,
);
