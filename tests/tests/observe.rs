//! What statements tell the outside: a `tracing` span per statement and per
//! connect (the statement text, never its parameter values; rows; SQLSTATE),
//! and slow statements logged past a threshold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use pgwire_integration_tests::{connect, options, runtime_only_tests, unique_name, Role, Runtime};

/// Every `log` record of target `pgwire::slow`, and every span's fields.
#[derive(Default)]
struct Seen {
    slow: Vec<String>,
    spans: Vec<(String, BTreeMap<String, String>)>,
}

fn seen() -> &'static Mutex<Seen> {
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    SEEN.get_or_init(|| {
        static LOGGER: SlowLog = SlowLog;
        log::set_logger(&LOGGER).unwrap();
        log::set_max_level(log::LevelFilter::Warn);
        tracing::subscriber::set_global_default(Spans::default()).unwrap();
        Mutex::default()
    })
}

struct SlowLog;

impl log::Log for SlowLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target() == "pgwire::slow"
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            seen().lock().unwrap().slow.push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

/// A subscriber that keeps every span's name and fields.
#[derive(Default)]
struct Spans {
    next: std::sync::atomic::AtomicU64,
    /// Index into `Seen::spans` by span id.
    index: Mutex<BTreeMap<u64, usize>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl tracing::Subscriber for Spans {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut seen = seen().lock().unwrap();
        seen.spans
            .push((attrs.metadata().name().to_owned(), fields));
        self.index.lock().unwrap().insert(id, seen.spans.len() - 1);
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let Some(&i) = self.index.lock().unwrap().get(&id.into_u64()) else {
            return;
        };
        let mut seen = seen().lock().unwrap();
        values.record(&mut Fields(&mut seen.spans[i].1));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The spans named `name` whose statement contains `needle`.
fn spans_with(name: &str, needle: &str) -> Vec<BTreeMap<String, String>> {
    let seen = seen().lock().unwrap();
    seen.spans
        .iter()
        .filter(|(n, f)| n == name && f.get("db.statement").is_some_and(|s| s.contains(needle)))
        .map(|(_, f)| f.clone())
        .collect()
}

async fn a_span_per_statement_without_its_values<R: Runtime>() {
    seen();
    let conn = connect::<R>().await;
    let marker = unique_name("span");
    let sql = format!("select $1::text as {marker} from generate_series(1, 3)");
    let rows = conn.fetch(sql.as_str(), ("hunter2",)).await.unwrap();
    assert_eq!(rows.len(), 3);
    let spans = spans_with("pgwire.query", &marker);
    let span = spans.last().expect("a pgwire.query span");
    assert_eq!(span.get("rows").map(String::as_str), Some("3"));
    assert_eq!(span.get("db.operation").map(String::as_str), Some("fetch"));
    assert!(span.contains_key("elapsed_us"));
    assert!(
        !format!("{span:?}").contains("hunter2"),
        "a parameter value in {span:?}"
    );
    // An error's SQLSTATE.
    let bad = format!("select {marker}_missing");
    conn.execute(bad.as_str(), ()).await.unwrap_err();
    let spans = spans_with("pgwire.query", &format!("{marker}_missing"));
    assert_eq!(
        spans.last().unwrap().get("sqlstate").map(String::as_str),
        Some("42703")
    );
    // The connect had its own span.
    let seen = seen().lock().unwrap();
    assert!(seen.spans.iter().any(|(n, _)| n == "pgwire.connect"));
}

async fn slow_statements_are_logged_past_the_threshold<R: Runtime>() {
    seen();
    let marker = unique_name("slow");
    let opts = options(Role::Trust, R::transport()).log_slow_statements(Duration::from_millis(80));
    let conn = R::open(&opts).await.unwrap();
    let slow = format!("select pg_sleep(0.15), $1::text as {marker}");
    conn.execute(slow.as_str(), ("hunter2",)).await.unwrap();
    let quick = format!("select 1 as {marker}_quick");
    conn.execute(quick.as_str(), ()).await.unwrap();
    let logged: Vec<String> = seen()
        .lock()
        .unwrap()
        .slow
        .iter()
        .filter(|l| l.contains(&marker))
        .cloned()
        .collect();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].contains("execute") && logged[0].contains("1 rows"),
        "{logged:?}"
    );
    assert!(
        !logged[0].contains("hunter2"),
        "a parameter value in {logged:?}"
    );
    // Off again.
    conn.set_slow_statement_threshold(None);
    let again = format!("select pg_sleep(0.15) as {marker}_off");
    conn.execute(again.as_str(), ()).await.unwrap();
    assert!(!seen()
        .lock()
        .unwrap()
        .slow
        .iter()
        .any(|l| l.contains(&format!("{marker}_off"))));
}

runtime_only_tests!(
    a_span_per_statement_without_its_values,
    slow_statements_are_logged_past_the_threshold,
);
