//! Cancelling a running query from another task, on every runtime and
//! transport (TLS included: the cancel request goes over TLS too).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use pgwire_conn::SqlState;
use pgwire_integration_tests::{connect, runtime_tests, wait_until_running, Runtime};

async fn cancel_a_running_query<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let token = conn.cancel_token().expect("opened through an adapter");
    let pid = token.key().process_id;
    let slow = R::spawn({
        let conn = Arc::clone(&conn);
        async move {
            conn.execute("select pg_sleep(30)", ())
                .await
                .map_err(|e| e.code())
        }
    });
    // Wait until the server runs it, watching from another connection.
    let watcher = connect::<R>().await;
    wait_until_running::<R, _>(&watcher, pid, "select pg_sleep(30)").await;
    R::cancel(&token).await.unwrap();
    assert_eq!(slow.await, Err(Some(SqlState::QUERY_CANCELED)));
    // 57014 is recoverable: the same connection goes on.
    assert!(conn.ready());
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

runtime_tests!(cancel_a_running_query);
