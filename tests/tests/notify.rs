//! LISTEN / NOTIFY: notifications reach an idle listener on their own,
//! keep their order at volume, report what a full queue dropped, and a
//! `Listener` survives losing its connection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use pgwire_conn::{Error, ListenerEvent};
use pgwire_integration_tests::{
    connect, options, runtime_tests, unique_name, within, Role, Runtime,
};

/// A notification sent while the listener sits idle in `next()` reaches it
/// at once: the stream reads the socket itself. The best of five tries
/// must be under 50 ms (one slow wake-up on a busy machine is not a
/// failure; five are).
async fn a_notification_reaches_an_idle_listener_at_once<R: Runtime>() {
    let listener = connect::<R>().await;
    let sender = connect::<R>().await;
    let channel = unique_name("idle_listener");
    listener.listen(&channel).await.unwrap();
    let mut best = Duration::MAX;
    for i in 0..5 {
        let mut notifications = listener.notifications();
        let payload = format!("hello {i}");
        let send = async {
            R::sleep(Duration::from_millis(30)).await;
            sender.notify(&channel, &payload).await.unwrap();
            Instant::now()
        };
        let (sent_at, received) = futures_util::future::join(send, async {
            let n = notifications.next().await.unwrap().unwrap();
            (Instant::now(), n)
        })
        .await;
        let (received_at, n) = received;
        assert_eq!(n.channel, channel);
        assert_eq!(n.payload, payload);
        best = best.min(received_at.saturating_duration_since(sent_at));
    }
    assert!(best < Duration::from_millis(50), "{best:?}");
    assert!(listener.take_notifications().is_empty());
}

/// A listener that other tasks use for queries meanwhile still gets every
/// notification, in order, and their answers stay theirs.
async fn notifications_arrive_while_the_connection_serves_queries<R: Runtime>() {
    let listener = std::sync::Arc::new(connect::<R>().await);
    let sender = connect::<R>().await;
    let channel = unique_name("busy_listener");
    listener.listen(&channel).await.unwrap();
    let querying = {
        let conn = std::sync::Arc::clone(&listener);
        R::spawn(async move {
            for i in 0..200i32 {
                let row = conn
                    .fetch_one("select $1::int4 + 1", (i,))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.try_get::<i32>(0).unwrap(), i + 1);
            }
        })
    };
    let sending = async {
        for i in 0..100 {
            sender.notify(&channel, &i.to_string()).await.unwrap();
        }
    };
    let receiving = async {
        let mut got = Vec::new();
        let mut notifications = listener.notifications();
        while got.len() < 100 {
            let n = notifications.try_next().await.unwrap().unwrap();
            got.push(n.payload.parse::<i32>().unwrap());
        }
        got
    };
    let ((), got) =
        futures_util::future::join(sending, within::<R, _>(30, "100 notifications", receiving))
            .await;
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    querying.await;
}

/// 100,000 notifications sent at once (one statement) all arrive, in
/// order, to a stream that reads them.
async fn a_hundred_thousand_notifications_arrive_in_order<R: Runtime>() {
    let listener = connect::<R>().await;
    let sender = connect::<R>().await;
    let channel = unique_name("flood");
    listener.listen(&channel).await.unwrap();
    sender
        .execute(
            "select count(pg_notify($1, g::text)) from generate_series(1, 100000) g",
            (channel.as_str(),),
        )
        .await
        .unwrap();
    let receiving = async {
        let mut notifications = listener.notifications();
        for expected in 1..=100_000 {
            let n = notifications.try_next().await.unwrap().unwrap();
            assert_eq!(n.payload.parse::<i32>().unwrap(), expected);
        }
    };
    within::<R, _>(60, "100,000 notifications", receiving).await;
}

/// Notifications nobody reads while queries run are kept up to the bound
/// (10,000); past it the oldest are dropped, and the stream says how many
/// before it goes on with the rest, in order.
async fn a_full_queue_reports_what_it_dropped<R: Runtime>() {
    let listener = connect::<R>().await;
    let sender = connect::<R>().await;
    let channel = unique_name("overflow");
    listener.listen(&channel).await.unwrap();
    sender
        .execute(
            "select count(pg_notify($1, g::text)) from generate_series(1, 12000) g",
            (channel.as_str(),),
        )
        .await
        .unwrap();
    // A query reads past all of them (they come before its answer), with
    // nobody taking them meanwhile.
    listener.execute("select pg_sleep(0.3)", ()).await.unwrap();
    listener.execute("select 1", ()).await.unwrap();
    let mut notifications = listener.notifications();
    match notifications.next().await.unwrap() {
        Err(Error::NotificationsDropped { count }) => assert_eq!(count, 2000),
        other => panic!("{other:?}"),
    }
    for expected in 2001..=12_000 {
        let n = notifications.try_next().await.unwrap().unwrap();
        assert_eq!(n.payload.parse::<i32>().unwrap(), expected);
    }
}

/// A `Listener` whose backend is terminated reconnects, says so, listens
/// again, and gets what is sent afterwards.
async fn a_listener_survives_losing_its_connection<R: Runtime>() {
    let connect_options = options(Role::Trust, R::transport());
    let mut listener = R::open_listener(&connect_options).await.unwrap();
    let sender = connect::<R>().await;
    let channel = unique_name("reconnect");
    listener.listen(&channel).await.unwrap();
    sender.notify(&channel, "before").await.unwrap();
    match within::<R, _>(10, "the first notification", listener.recv()).await {
        Ok(ListenerEvent::Notification(n)) => assert_eq!(n.payload, "before"),
        other => panic!("{other:?}"),
    }
    let pid = listener
        .connection()
        .unwrap()
        .backend_key()
        .unwrap()
        .process_id;
    sender
        .execute("select pg_terminate_backend($1)", (pid,))
        .await
        .unwrap();
    match within::<R, _>(10, "the reconnect", listener.recv()).await {
        Ok(ListenerEvent::Reconnected) => {}
        other => panic!("{other:?}"),
    }
    assert_ne!(
        listener
            .connection()
            .unwrap()
            .backend_key()
            .unwrap()
            .process_id,
        pid
    );
    sender.notify(&channel, "after").await.unwrap();
    match within::<R, _>(10, "the notification after", listener.recv()).await {
        Ok(ListenerEvent::Notification(n)) => assert_eq!(n.payload, "after"),
        other => panic!("{other:?}"),
    }
    assert_eq!(listener.channels().collect::<Vec<_>>(), [channel.as_str()]);
}

/// Channel names are quoted: any text is a channel, none is SQL.
async fn channel_names_are_exact_and_never_sql<R: Runtime>() {
    let listener = connect::<R>().await;
    let sender = connect::<R>().await;
    let channel = "Mixed Case; select 1 \"quoted\"";
    listener.listen(channel).await.unwrap();
    sender.notify(channel, "exact").await.unwrap();
    sender
        .notify("mixed case; select 1 \"quoted\"", "other")
        .await
        .unwrap();
    sender.notify(channel, "again").await.unwrap();
    let mut notifications = listener.notifications();
    for payload in ["exact", "again"] {
        let n = within::<R, _>(10, "a notification", notifications.try_next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((n.channel.as_str(), n.payload.as_str()), (channel, payload));
    }
    listener.unlisten(channel).await.unwrap();
    sender.notify(channel, "gone").await.unwrap();
    listener.execute("select 1", ()).await.unwrap();
    assert!(listener.take_notifications().is_empty());
}

/// A listener from the pool opens a connection of its own.
async fn a_pool_gives_a_listener_of_its_own<R: Runtime>() {
    let pool = R::open_pool(
        &options(Role::Trust, R::transport()),
        pgwire_conn::PoolOptions::new().max_size(1),
    )
    .await
    .unwrap();
    let mut listener = pool.listener().await.unwrap();
    let channel = unique_name("pool_listener");
    listener.listen(&channel).await.unwrap();
    pool.execute("select pg_notify($1, 'from the pool')", (channel.as_str(),))
        .await
        .unwrap();
    match within::<R, _>(10, "the notification", listener.recv()).await {
        Ok(ListenerEvent::Notification(n)) => assert_eq!(n.payload, "from the pool"),
        other => panic!("{other:?}"),
    }
    assert_eq!(pool.connections(), 1);
    pool.close().await;
}

runtime_tests!(
    a_notification_reaches_an_idle_listener_at_once,
    notifications_arrive_while_the_connection_serves_queries,
    a_hundred_thousand_notifications_arrive_in_order,
    a_full_queue_reports_what_it_dropped,
    a_listener_survives_losing_its_connection,
    channel_names_are_exact_and_never_sql,
    a_pool_gives_a_listener_of_its_own,
);
