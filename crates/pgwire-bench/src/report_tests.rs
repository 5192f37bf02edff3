//! The report's medians, ratios, targets and table.

use super::*;

#[test]
fn medians_and_ratios() {
    let mut m = Metric::new("x", "x", "q/s", true, false);
    m.samples.insert(Client::PgwireTokio, vec![3.0, 1.0, 2.0]);
    m.samples
        .insert(Client::TokioPostgres, vec![1.0, 4.0, 2.0, 3.0]);
    assert_eq!(m.median(Client::PgwireTokio), Some(2.0));
    assert_eq!(m.median(Client::TokioPostgres), Some(2.5));
    assert_eq!(
        m.ratio(Client::PgwireTokio, Client::TokioPostgres),
        Some(0.8)
    );
    assert_eq!(m.ratio(Client::PgwireTokio, Client::Pgbench), None);
}

#[test]
fn geomean_of_ratios() {
    let g = geomean([2.0, 0.5, 1.0]).unwrap();
    assert!((g - 1.0).abs() < 1e-12);
    assert_eq!(geomean([]), None);
}

#[test]
fn formatting() {
    assert_eq!(num(12345.6), "12346");
    assert_eq!(num(12.34), "12.3");
    assert_eq!(num(0.5), "0.50");
    assert_eq!(num(0.0), "0");
    assert_eq!(num(0.000_12), "1.2e-4");
    assert_eq!(count(1_000_000), "1M");
    assert_eq!(count(200_000), "200k");
    assert_eq!(count(1234), "1234");
}

fn metric(id: &str, pw: f64, tp: f64) -> Metric {
    let mut m = Metric::new(id, id, "q/s", !id.ends_with("_cpu"), false);
    m.samples.insert(Client::PgwireTokio, vec![pw]);
    m.samples.insert(Client::TokioPostgres, vec![tp]);
    m
}

fn report(metrics: Vec<Metric>) -> Report {
    let options = Options::parse(&["--quick".to_string()]).ok().flatten();
    let Some(options) = options else {
        panic!("--quick parses");
    };
    let mut r = Report::new(&options, "PostgreSQL 15", None);
    r.metrics = metrics;
    r
}

#[test]
fn the_pgbouncer_target_takes_the_worst_case() {
    let met = report(vec![
        metric("bouncer_rt", 110.0, 100.0),
        metric("bouncer_rt_cpu", 8.0, 10.0),
        metric("bouncer_bytea", 100.0, 100.0),
        metric("bouncer_bytea_cpu", 9.0, 10.0),
    ]);
    let t = met.bouncer_target();
    assert_eq!(t.met, Some(true), "{}", t.figure);
    assert!(
        t.figure.contains("1.00x q/s (bouncer_bytea)"),
        "{}",
        t.figure
    );
    assert!(
        t.figure.contains("0.90x CPU (bouncer_bytea_cpu)"),
        "{}",
        t.figure
    );

    let missed = report(vec![
        metric("bouncer_rt", 120.0, 100.0),
        metric("bouncer_rt_cpu", 8.0, 10.0),
        metric("bouncer_arrays", 90.0, 100.0),
        metric("bouncer_arrays_cpu", 12.0, 10.0),
        // Not a PgBouncer case: it does not count.
        metric("rt_tcp", 50.0, 100.0),
    ]);
    let t = missed.bouncer_target();
    assert_eq!(t.met, Some(false));
    assert!(
        t.figure.contains("0.90x q/s (bouncer_arrays)"),
        "{}",
        t.figure
    );
    assert!(
        t.figure.contains("1.20x CPU (bouncer_arrays_cpu)"),
        "{}",
        t.figure
    );

    // As fast, but with more CPU: missed too.
    let costly = report(vec![
        metric("bouncer_rt", 120.0, 100.0),
        metric("bouncer_rt_cpu", 11.0, 10.0),
    ]);
    assert_eq!(costly.bouncer_target().met, Some(false));

    assert_eq!(report(Vec::new()).bouncer_target().met, None);
}

fn pool_metric(id: &str, pw: f64, deadpool: f64, sqlx: f64) -> Metric {
    let mut m = Metric::new(id, id, "q/s", !id.ends_with("_cpu"), false);
    m.samples.insert(Client::PgwireTokio, vec![pw]);
    m.samples.insert(Client::Deadpool, vec![deadpool]);
    m.samples.insert(Client::Sqlx, vec![sqlx]);
    m
}

#[test]
fn the_pool_target_beats_the_best_peer() {
    // Faster than the faster peer, cheaper than the cheaper one.
    let met = report(vec![
        pool_metric("pool_fetch_10", 120.0, 110.0, 50.0),
        pool_metric("pool_fetch_10_cpu", 8.0, 9.0, 20.0),
        pool_metric("pool_checkout_100", 100.0, 100.0, 40.0),
        pool_metric("pool_checkout_100_cpu", 9.5, 10.0, 30.0),
    ]);
    let t = met.pool_target();
    assert_eq!(t.met, Some(true), "{}", t.figure);
    assert!(
        t.figure.contains("1.00x q/s (pool_checkout_100)"),
        "{}",
        t.figure
    );
    assert!(
        t.figure.contains("0.95x CPU (pool_checkout_100_cpu)"),
        "{}",
        t.figure
    );

    // Beating the slow peer is not enough.
    let slower = report(vec![
        pool_metric("pool_fetch_100", 90.0, 100.0, 50.0),
        pool_metric("pool_fetch_100_cpu", 8.0, 9.0, 20.0),
        // Not a pool case: it does not count.
        metric("rt_tcp", 50.0, 100.0),
    ]);
    let t = slower.pool_target();
    assert_eq!(t.met, Some(false));
    assert!(
        t.figure.contains("0.90x q/s (pool_fetch_100)"),
        "{}",
        t.figure
    );

    // As fast, but costlier than the cheaper peer.
    let costly = report(vec![
        pool_metric("pool_fetch_10", 200.0, 100.0, 150.0),
        pool_metric("pool_fetch_10_cpu", 10.0, 12.0, 9.0),
    ]);
    let t = costly.pool_target();
    assert_eq!(t.met, Some(false));
    assert!(
        t.figure.contains("1.11x CPU (pool_fetch_10_cpu)"),
        "{}",
        t.figure
    );

    assert_eq!(report(Vec::new()).pool_target().met, None);
}

#[test]
fn the_table_shows_only_clients_with_figures() {
    let r = report(vec![
        pool_metric("pool_fetch_10", 120.0, 110.0, 50.0),
        pool_metric("pool_fetch_10_cpu", 8.0, 9.0, 20.0),
    ]);
    let text = r.render();
    let header = text
        .lines()
        .find(|l| l.starts_with("case"))
        .unwrap_or_default();
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "case",
            "unit",
            "better",
            "pgwire-tokio",
            "deadpool-postgres",
            "pw/deadpool",
            "sqlx",
            "pw/sqlx",
            "spread"
        ]
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("pool_fetch_10 "))
        .unwrap_or_default();
    assert!(row.contains(" 1.09 ") && row.contains(" 2.40 "), "{row}");
}

#[test]
fn the_server_rows_count_in_no_target() {
    // The server's figures describe the case, not the client: a busier
    // server process is no slower client, and the server's CPU is no
    // client CPU.
    let mut pool = pool_metric("pool_fetch_10_server", 5.0, 10.0, 20.0);
    pool.higher_better = false;
    let mut busiest = pool_metric("pool_fetch_10_busiest", 0.1, 0.5, 0.5);
    busiest.higher_better = true;
    let mut r = report(vec![
        pool_metric("pool_fetch_10", 120.0, 110.0, 50.0),
        pool_metric("pool_fetch_10_cpu", 8.0, 9.0, 20.0),
        pool,
        busiest,
    ]);
    let t = r.pool_target();
    assert_eq!(t.met, Some(true), "{}", t.figure);
    assert!(t.figure.contains("(pool_fetch_10)"), "{}", t.figure);

    let mut smol = Metric::new("rt_tcp", "rt", "q/s", true, false);
    smol.samples.insert(Client::PgwireTokio, vec![100.0]);
    smol.samples.insert(Client::PgwireSmol, vec![100.0]);
    let mut smol_busiest = Metric::new("rt_tcp_busiest", "b", "cores", true, false);
    smol_busiest.samples.insert(Client::PgwireTokio, vec![0.5]);
    smol_busiest.samples.insert(Client::PgwireSmol, vec![0.1]);
    r.metrics = vec![smol, smol_busiest];
    r.finish();
    let runtime = r
        .targets
        .iter()
        .find(|t| t.goal.starts_with("pgwire on smol"))
        .expect("the smol target");
    assert_eq!(runtime.met, Some(true), "{}", runtime.figure);
}
