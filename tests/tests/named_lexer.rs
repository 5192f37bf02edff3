//! The named-parameter rewrite against the server: a `:` glued to the
//! token before it is SQL's own and reaches the server as written, so the
//! statement means what it says; the same `:name` standing apart is a
//! placeholder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{named, Error, Named, ParamError};
use pgwire_integration_tests::{connect, runtime_only_tests, Runtime};

async fn glued_colons_keep_their_meaning<R: Runtime>() {
    let conn = connect::<R>().await;
    // An array slice whose bound is a column: rewritten to `a[1$1]`, it
    // asked for a value for `n`.
    let row = conn
        .fetch_one(
            "select a[1:n] from (select array[10, 20, 30] as a, 2 as n) t",
            Named(&[]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<Vec<i32>>(0).unwrap(), [10, 20]);
    // `limit:n` is left alone, so a value for `n` is one the statement does
    // not use: a typed error before anything is sent. (Rewritten to
    // `limit$1`, a column alias, it was a statement without parameters
    // given one value.)
    match conn.fetch("select 1 limit:n", named! { n: 0i64 }).await {
        Err(e @ Error::Params(ParamError::UnusedValue(_))) => {
            assert!(e.is_recoverable());
            assert!(matches!(&e, Error::Params(ParamError::UnusedValue(n)) if n == "n"));
        }
        other => panic!("expected UnusedValue, got {other:?}"),
    }
    // Standing apart, it is a placeholder.
    let rows = conn
        .fetch("select 1 limit :n", named! { n: 0i64 })
        .await
        .unwrap();
    assert!(rows.is_empty());
    let rows = conn
        .fetch(
            "select x from generate_series(1, 5) x limit :n",
            named! { n: 2i64 },
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

runtime_only_tests!(glued_colons_keep_their_meaning);
