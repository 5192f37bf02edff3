//! Cancelling a running query from another task, on every runtime and
//! transport (TLS included: the cancel request goes over TLS too).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use pgwire_conn::SqlState;
use pgwire_integration_tests::{connect, runtime_tests, spawn_running_sleep, Runtime};

async fn cancel_a_running_query<R: Runtime>() {
    let conn = Arc::new(connect::<R>().await);
    let token = conn.cancel_token().expect("opened through an adapter");
    let slow = spawn_running_sleep::<R, _>(&conn).await;
    R::cancel(&token).await.unwrap();
    assert_eq!(slow.await, Err(Some(SqlState::QUERY_CANCELED)));
    // 57014 is recoverable: the same connection goes on.
    assert!(conn.ready());
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

runtime_tests!(cancel_a_running_query);
