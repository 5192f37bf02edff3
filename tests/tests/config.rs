//! Configuration end to end: URLs and key=value strings, several hosts with
//! target_session_attrs against a real primary and standby, load balancing,
//! timeouts, and unreachable hosts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use pgwire_conn::{ConnectOptions, Error, LoadBalanceHosts, TargetSessionAttrs};
use pgwire_integration_tests::{database, port, runtime_only_tests, Role, Runtime};

fn standby_port() -> u16 {
    std::env::var("PGWIRE_TEST_STANDBY_PORT")
        .expect("PGWIRE_TEST_STANDBY_PORT: run with cargo xtask test")
        .parse()
        .unwrap()
}

fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn url(hosts: &str, extra: &str) -> ConnectOptions {
    let text = format!(
        "postgresql://{}:{}@{hosts}/{}?sslmode=disable{extra}",
        Role::Scram.user(),
        Role::Scram.password().unwrap(),
        database()
    );
    ConnectOptions::parse(&text).unwrap()
}

async fn in_recovery<R: Runtime>(opts: &ConnectOptions) -> bool {
    let conn = R::open(opts).await.unwrap();
    conn.fetch_one("select pg_is_in_recovery()", ())
        .await
        .unwrap()
        .unwrap()
        .try_get::<bool>(0)
        .unwrap()
}

async fn url_and_conninfo_connect<R: Runtime>() {
    let conn = R::open(&url(
        &format!("127.0.0.1:{}", port()),
        "&application_name=from%20url",
    ))
    .await
    .unwrap();
    assert_eq!(
        conn.connection_parameters()
            .get("application_name")
            .map(String::as_str),
        Some("from url")
    );
    let dir = std::env::var("PGWIRE_TEST_SOCKET_DIR").unwrap();
    let text = format!(
        "host='{dir}' port={} user={} dbname={} password='{}'",
        port(),
        Role::Md5.user(),
        database(),
        Role::Md5.password().unwrap()
    );
    let conn = R::open(&ConnectOptions::parse(&text).unwrap())
        .await
        .unwrap();
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
}

async fn first_reachable_host_wins<R: Runtime>() {
    let hosts = format!("127.0.0.1:{},127.0.0.1:{}", dead_port(), port());
    assert!(!in_recovery::<R>(&url(&hosts, "")).await);
}

async fn target_session_attrs_pick_the_right_server<R: Runtime>() {
    let (p, s) = (port(), standby_port());
    let both = format!("127.0.0.1:{s},127.0.0.1:{p}");
    let cases = [
        ("any", true),
        ("read-write", false),
        ("primary", false),
        ("read-only", true),
        ("standby", true),
        ("prefer-standby", true),
    ];
    for (attrs, standby) in cases {
        let opts = url(&both, &format!("&target_session_attrs={attrs}"));
        assert_eq!(in_recovery::<R>(&opts).await, standby, "{attrs}");
    }
    // the primary listed first: read-only still finds the standby
    let primary_first = format!("127.0.0.1:{p},127.0.0.1:{s}");
    let opts = url(&primary_first, "").target_session_attrs(TargetSessionAttrs::ReadOnly);
    assert!(in_recovery::<R>(&opts).await);
    // prefer-standby falls back to the primary when no standby is listed
    let opts = url(
        &format!("127.0.0.1:{p}"),
        "&target_session_attrs=prefer-standby",
    );
    assert!(!in_recovery::<R>(&opts).await);
    // standby wanted, none available: an error naming the attribute
    let opts = url(&format!("127.0.0.1:{p}"), "&target_session_attrs=standby");
    let err = R::open(&opts).await.unwrap_err();
    assert!(err.to_string().contains("standby"), "{err}");
}

async fn load_balancing_reaches_both_servers<R: Runtime>() {
    let both = format!("127.0.0.1:{},127.0.0.1:{}", port(), standby_port());
    let opts = url(&both, "").load_balance_hosts(LoadBalanceHosts::Random);
    let mut seen = [false, false];
    for _ in 0..40 {
        seen[usize::from(in_recovery::<R>(&opts).await)] = true;
        if seen == [true, true] {
            return;
        }
    }
    panic!("40 random picks never reached both servers: {seen:?}");
}

/// A server that accepts connections and never answers.
fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    port
}

async fn connect_timeout_bounds_a_silent_server<R: Runtime>() {
    let opts = ConnectOptions::new("127.0.0.1", "x")
        .port(silent_server())
        .connect_timeout(Duration::from_millis(300));
    let started = Instant::now();
    match R::open(&opts).await {
        Err(Error::Timeout { address, .. }) => assert!(address.contains("127.0.0.1"), "{address}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

async fn unresolvable_host_names_the_host<R: Runtime>() {
    let opts = ConnectOptions::new("no-such-host.invalid", "x");
    match R::open(&opts).await {
        Err(e @ Error::Connect { .. }) => {
            assert!(e.to_string().contains("no-such-host.invalid"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

async fn bad_url_names_the_part<R: Runtime>() {
    let err = ConnectOptions::parse("postgresql://u@localhost:99999/db").unwrap_err();
    assert!(err.to_string().contains("99999"), "{err}");
    let err = ConnectOptions::parse("host=x sslmode=sometimes").unwrap_err();
    assert!(err.to_string().contains("sometimes"), "{err}");
    let _ = R::transport();
}

runtime_only_tests!(
    url_and_conninfo_connect,
    first_reachable_host_wins,
    target_session_attrs_pick_the_right_server,
    load_balancing_reaches_both_servers,
    connect_timeout_bounds_a_silent_server,
    unresolvable_host_names_the_host,
    bad_url_names_the_part,
);
