//! The workloads, once for pgwire (generic over the runtime) and once for
//! tokio-postgres. Each side uses its client's fastest idiomatic form:
//! statements are prepared once per connection and then run with one
//! Bind/Execute/Sync round trip, and results are binary; every column of
//! every row is decoded into a Rust value, so decoding is part of the cost.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use pgwire_conn::{Connection, PreparedStatementInfo};
use time::OffsetDateTime;
use tokio_postgres::types::{ToSql, Type};

use crate::config::{Server, Transport};
use crate::rt::{Rt, TokioRt};
use crate::sys::{status_kib, CpuClock, ServerCpu};
use crate::{alloc, BResult};

/// The statement a timed load runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `SELECT $1::int4` with a changing parameter.
    RoundTrip,
    /// MagicStack: pg_type rows with two parameters.
    PgType,
    /// MagicStack: `SELECT generate_series(1, 1000)`.
    Series,
    /// MagicStack: 100 rows of a 1 KiB bytea.
    Bytea,
    /// MagicStack: 100 rows of an `int4[100]`.
    Arrays,
    /// MagicStack: a 1000-row multi-row INSERT with 2000 parameters into a
    /// per-connection temporary table.
    Insert,
    /// MagicStack: `SELECT 1+1`.
    OnePlusOne,
}

/// Rows of the multi-row insert.
const INSERT_ROWS: usize = 1000;

/// The multi-row insert into `table`.
pub fn insert_sql(table: &str) -> String {
    let values: Vec<String> = (0..INSERT_ROWS)
        .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
        .collect();
    format!("INSERT INTO {table} (a, b) VALUES {}", values.join(", "))
}

impl Workload {
    pub fn sql(self) -> String {
        match self {
            Workload::RoundTrip => "SELECT $1::int4".into(),
            Workload::PgType => "SELECT typname, typnamespace, typowner, typlen, typbyval, \
                 typcategory, typispreferred, typisdefined, typdelim, typrelid, typelem, typarray \
                 FROM pg_type WHERE typtypmod = $1 AND typisdefined = $2"
                .into(),
            Workload::Series => "SELECT generate_series(1, 1000)".into(),
            Workload::Bytea => {
                "SELECT decode(repeat('a', 1024), 'escape') FROM generate_series(1, 100)".into()
            }
            // The scalar subquery is an InitPlan: the server builds the
            // array once and sends it 100 times, so the client side dominates.
            Workload::Arrays => "SELECT (SELECT array_agg(g) FROM generate_series(1, 100) g) \
                 FROM generate_series(1, 100)"
                .into(),
            Workload::Insert => insert_sql("bench_insert"),
            Workload::OnePlusOne => "SELECT 1+1".into(),
        }
    }

    /// SQL to run once on each new connection before the statement.
    fn setup(self) -> Option<&'static str> {
        match self {
            Workload::Insert => Some("CREATE TEMPORARY TABLE bench_insert (a int4, b text)"),
            _ => None,
        }
    }
}

/// The values of the multi-row insert, built once and shared by all tasks.
#[derive(Debug)]
pub struct InsertData {
    ints: Vec<i32>,
    texts: Vec<String>,
}

impl InsertData {
    pub fn new() -> Self {
        let ints: Vec<i32> = (0..INSERT_ROWS as i32).collect();
        let texts = ints.iter().map(|i| format!("row number {i}")).collect();
        InsertData { ints, texts }
    }

    pub(crate) fn pgwire_params(&self) -> Vec<&(dyn pgwire_conn::ToSql + Sync)> {
        let mut params: Vec<&(dyn pgwire_conn::ToSql + Sync)> = Vec::with_capacity(2 * INSERT_ROWS);
        for (i, t) in self.ints.iter().zip(&self.texts) {
            params.push(i);
            params.push(t);
        }
        params
    }

    /// With their types, for `query_typed` (a prepared statement ignores them).
    pub(crate) fn tokio_postgres_params(&self) -> TpParams<'_> {
        let mut params: TpParams<'_> = Vec::with_capacity(2 * INSERT_ROWS);
        for (i, t) in self.ints.iter().zip(&self.texts) {
            params.push((i, Type::INT4));
            params.push((t, Type::TEXT));
        }
        params
    }
}

/// A timed load: `conns` connections, `tasks_per_conn` tasks on each, every
/// task running the workload back to back.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub workload: Workload,
    pub transport: Transport,
    pub conns: usize,
    pub tasks_per_conn: usize,
    /// pgwire: pass the SQL text (through the per-connection statement
    /// cache) instead of a `PreparedStatementInfo`.
    pub via_cache: bool,
}

/// How long a timed sample runs: operations that complete during
/// `warmup` are not counted, then those completing within `measure` are.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub warmup: Duration,
    pub measure: Duration,
}

impl Window {
    pub(crate) fn deadlines(self) -> (Instant, Instant) {
        let warm_until = Instant::now() + self.warmup;
        (warm_until, warm_until + self.measure)
    }

    fn rate(self, done: u64) -> f64 {
        done as f64 / self.measure.as_secs_f64()
    }
}

/// Operations a task finished: inside the measured window, and in all.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    window: u64,
    total: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.window += other.window;
        self.total += other.total;
    }
}

/// The operations of every task, once all have finished.
pub(crate) async fn join_counts<T>(tasks: Vec<T>) -> BResult<Counts>
where
    T: std::future::Future<Output = BResult<Counts>>,
{
    let mut done = Counts::default();
    for task in tasks {
        done += task.await?;
    }
    Ok(done)
}

/// Counts one finished operation; false once the window is over.
pub(crate) fn tick(counts: &mut Counts, warm_until: Instant, deadline: Instant) -> bool {
    counts.total += 1;
    let now = Instant::now();
    if now >= deadline {
        return false;
    }
    if now >= warm_until {
        counts.window += 1;
    }
    true
}

/// The outcome of a timed sample.
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    /// Operations per second in the measured window.
    pub rate: f64,
    /// Client CPU (all threads) per operation, over the whole run of the
    /// tasks, warm-up included: CPU cannot be split at the window's edges,
    /// and the per-operation cost is the same on both sides of them.
    pub cpu_ns_per_op: f64,
    /// Operations over the whole run, which the CPU figures divide.
    pub ops: u64,
    /// The server side over the same span, where it runs on this machine.
    pub server: Option<ServerCpu>,
}

impl Timed {
    pub(crate) fn new(window: Window, counts: Counts, cpu: &CpuClock) -> Self {
        Timed {
            rate: window.rate(counts.window),
            cpu_ns_per_op: CpuClock::since(cpu) as f64 / counts.total.max(1) as f64,
            ops: counts.total,
            server: cpu.server_since(),
        }
    }
}

fn check(what: &str, got: usize, want: usize) -> BResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want} rows, got {got}").into())
    }
}

// ---------------------------------------------------------------- pgwire --

async fn pgwire_prepare<S>(
    conn: &Connection<S>,
    workload: Workload,
) -> BResult<PreparedStatementInfo>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    if let Some(setup) = workload.setup() {
        conn.execute(setup, ()).await?;
    }
    Ok(conn
        .create_prepared_statement("bench", &workload.sql())
        .await?)
}

/// Runs `workload` once and decodes its rows; returns a checksum.
pub(crate) async fn pgwire_once<S>(
    conn: &Connection<S>,
    query: pgwire_conn::Query<'_>,
    workload: Workload,
    i: i32,
    insert: &[&(dyn pgwire_conn::ToSql + Sync)],
) -> BResult<u64>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let mut sum = 0u64;
    match workload {
        Workload::RoundTrip => {
            let rows = conn.fetch(query, (i,)).await?;
            check("round trip", rows.len(), 1)?;
            for row in &rows {
                let v: i32 = row.try_get(0)?;
                if v != i {
                    return Err(format!("round trip: sent {i}, got {v}").into());
                }
                sum += v as u64;
            }
        }
        Workload::PgType => {
            for row in &conn.fetch(query, (-1i32, true)).await? {
                let name: &str = row.try_get(0)?;
                let namespace: u32 = row.try_get(1)?;
                let owner: u32 = row.try_get(2)?;
                let len: i16 = row.try_get(3)?;
                let byval: bool = row.try_get(4)?;
                // "char" decodes to a one-byte string in pgwire (i8 in
                // tokio-postgres): each client's natural type.
                let category: &str = row.try_get(5)?;
                let preferred: bool = row.try_get(6)?;
                let defined: bool = row.try_get(7)?;
                let delim: &str = row.try_get(8)?;
                let relid: u32 = row.try_get(9)?;
                let elem: u32 = row.try_get(10)?;
                let array: u32 = row.try_get(11)?;
                sum += name.len() as u64
                    + u64::from(namespace ^ owner ^ relid ^ elem ^ array)
                    + len as u64
                    + u64::from(byval as u8 + preferred as u8 + defined as u8)
                    + (category.len() + delim.len()) as u64;
            }
        }
        Workload::Series => {
            let rows = conn.fetch(query, ()).await?;
            check("generate_series", rows.len(), 1000)?;
            for row in &rows {
                sum += row.try_get::<i32>(0)? as u64;
            }
        }
        Workload::Bytea => {
            let rows = conn.fetch(query, ()).await?;
            check("bytea", rows.len(), 100)?;
            for row in &rows {
                let bytes: &[u8] = row.try_get(0)?;
                sum += bytes.len() as u64 + u64::from(bytes.last().copied().unwrap_or(0));
            }
        }
        Workload::Arrays => {
            let rows = conn.fetch(query, ()).await?;
            check("arrays", rows.len(), 100)?;
            for row in &rows {
                let array: Vec<i32> = row.try_get(0)?;
                sum += array.iter().map(|&v| v as u64).sum::<u64>();
            }
        }
        Workload::Insert => {
            let n = conn.execute(query, insert).await?;
            check("insert", n as usize, INSERT_ROWS)?;
            sum = n;
        }
        Workload::OnePlusOne => {
            for row in &conn.fetch(query, ()).await? {
                sum += row.try_get::<i32>(0)? as u64;
            }
        }
    }
    Ok(sum)
}

async fn pgwire_task<S>(
    conn: Arc<Connection<S>>,
    stmt: Arc<PreparedStatementInfo>,
    data: Arc<InsertData>,
    load: Load,
    (warm_until, deadline): (Instant, Instant),
) -> BResult<Counts>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let sql = load.workload.sql();
    let insert = match load.workload {
        Workload::Insert => data.pgwire_params(),
        _ => Vec::new(),
    };
    let mut done = Counts::default();
    let mut i = 0i32;
    loop {
        i = i.wrapping_add(1);
        let query = if load.via_cache {
            pgwire_conn::Query::new(&sql)
        } else {
            pgwire_conn::Query::from(&*stmt)
        };
        black_box(pgwire_once(&conn, query, load.workload, i, &insert).await?);
        if !tick(&mut done, warm_until, deadline) {
            return Ok(done);
        }
    }
}

/// A timed load through pgwire on runtime `R`; returns operations/s.
pub async fn pgwire_timed<R: Rt>(
    rt: R,
    server: Arc<Server>,
    load: Load,
    window: Window,
) -> BResult<Timed> {
    let options = server.pgwire(load.transport);
    let mut conns = Vec::with_capacity(load.conns);
    for _ in 0..load.conns {
        let conn = Arc::new(R::open(&options).await?);
        let stmt = Arc::new(pgwire_prepare(&conn, load.workload).await?);
        conns.push((conn, stmt));
    }
    let data = Arc::new(InsertData::new());
    let cpu = CpuClock::now();
    let deadlines = window.deadlines();
    let mut tasks = Vec::new();
    for (conn, stmt) in &conns {
        for _ in 0..load.tasks_per_conn {
            tasks.push(rt.spawn(pgwire_task(
                Arc::clone(conn),
                Arc::clone(stmt),
                Arc::clone(&data),
                load,
                deadlines,
            )));
        }
    }
    let done = join_counts(tasks).await?;
    let timed = Timed::new(window, done, &cpu);
    for (conn, _) in conns {
        conn.close().await?;
    }
    Ok(timed)
}

/// Connection setup with SCRAM-SHA-256 through pgwire; returns connects/s.
pub async fn pgwire_connect<R: Rt>(server: Arc<Server>, window: Window) -> BResult<Timed> {
    let options = server.pgwire_scram();
    let cpu = CpuClock::now();
    let (warm_until, deadline) = window.deadlines();
    let mut done = Counts::default();
    loop {
        let conn = R::open(&options).await?;
        conn.close().await?;
        if !tick(&mut done, warm_until, deadline) {
            return Ok(Timed::new(window, done, &cpu));
        }
    }
}

/// How the bulk decode sends its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    /// Prepared statement: extended protocol, binary results (both clients).
    Prepared,
    /// SQL text with no parameters: pgwire prepares it through its
    /// statement cache on first use (binary results after that);
    /// tokio-postgres prepares a statement each time.
    SqlText,
}

/// The outcome of one bulk decode.
#[derive(Debug, Clone, Copy)]
pub struct Bulk {
    pub rows: u64,
    pub secs: f64,
    /// CPU of the whole client process over the streaming loop.
    pub cpu_ns: u64,
    /// Heap allocations during the streaming loop.
    pub allocs: u64,
    /// VmHWM before the query and after the stream ended, in KiB.
    pub hwm_before_kib: u64,
    pub hwm_after_kib: u64,
    /// The server side over the loop, where it runs on this machine.
    pub server: Option<ServerCpu>,
}

impl Bulk {
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.secs
    }
    pub fn cpu_ns_per_row(&self) -> f64 {
        self.cpu_ns as f64 / self.rows.max(1) as f64
    }
    pub fn allocs_per_row(&self) -> f64 {
        self.allocs as f64 / self.rows.max(1) as f64
    }
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "rows": self.rows,
            "secs": self.secs,
            "cpu_ns": self.cpu_ns,
            "allocs": self.allocs,
            "hwm_before_kib": self.hwm_before_kib,
            "hwm_after_kib": self.hwm_after_kib,
        })
    }
}

pub fn bulk_sql(rows: u64) -> String {
    format!("SELECT i, i::text, i::float8, now() FROM generate_series(1, {rows}) i")
}

/// Measures one streamed bulk decode: `body` runs the query and the loop;
/// the clocks and the allocation counter are read around it.
struct Meter {
    cpu: CpuClock,
    start: Instant,
    hwm_before_kib: u64,
}

impl Meter {
    fn start() -> Self {
        Meter {
            hwm_before_kib: status_kib("VmHWM").unwrap_or(0),
            cpu: CpuClock::now(),
            start: Instant::now(),
        }
    }

    fn finish(self, rows: u64, allocs: u64) -> Bulk {
        let secs = self.start.elapsed().as_secs_f64();
        Bulk {
            rows,
            secs,
            cpu_ns: CpuClock::since(&self.cpu),
            allocs,
            hwm_before_kib: self.hwm_before_kib,
            hwm_after_kib: status_kib("VmHWM").unwrap_or(0),
            server: self.cpu.server_since(),
        }
    }
}

fn pgwire_bulk_row(row: &pgwire_conn::Row) -> BResult<u64> {
    let i: i32 = row.try_get(0)?;
    let text: &str = row.try_get(1)?;
    let float: f64 = row.try_get(2)?;
    let now: OffsetDateTime = row.try_get(3)?;
    Ok(i as u64 + text.len() as u64 + float as u64 + now.nanosecond() as u64)
}

/// Streams `rows` rows through pgwire on runtime `R`, decoding each.
pub async fn pgwire_bulk<R: Rt>(server: Arc<Server>, rows: u64, mode: BulkMode) -> BResult<Bulk> {
    let conn = R::open(&server.pgwire(Transport::Tcp)).await?;
    let sql = bulk_sql(rows);
    let stmt = match mode {
        BulkMode::Prepared => Some(conn.create_prepared_statement("bulk", &sql).await?),
        BulkMode::SqlText => None,
    };
    let meter = Meter::start();
    let mut stream = match &stmt {
        Some(stmt) => conn.query(stmt, ()).await?,
        None => conn.query(sql.as_str(), ()).await?,
    };
    alloc::start();
    let (mut n, mut sum) = (0u64, 0u64);
    let result = async {
        while let Some(row) = stream.try_next().await? {
            sum = sum.wrapping_add(pgwire_bulk_row(&row)?);
            n += 1;
        }
        BResult::Ok(())
    }
    .await;
    let allocs = alloc::stop();
    result?;
    let bulk = meter.finish(n, allocs);
    black_box(sum);
    drop(stream);
    conn.close().await?;
    check("bulk decode", n as usize, rows as usize)?;
    Ok(bulk)
}

// -------------------------------------------------------- tokio-postgres --

/// Parameters with their types: `query_typed` needs the types, a prepared
/// statement ignores them.
pub(crate) type TpParams<'a> = Vec<(&'a (dyn ToSql + Sync), Type)>;

/// How tokio-postgres sends a workload's statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TpQuery<'a> {
    /// A statement prepared once per connection: Bind/Execute/Sync.
    Prepared(&'a tokio_postgres::Statement),
    /// `query_typed`: one unnamed Parse/Bind/Describe/Execute/Sync, as
    /// behind a transaction-mode pooler.
    Typed(&'a str),
}

impl TpQuery<'_> {
    async fn rows(
        self,
        client: &tokio_postgres::Client,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        match self {
            // What `Client::query` does, with the values out of the pairs.
            TpQuery::Prepared(stmt) => {
                let values = params.iter().map(|(v, _)| *v);
                client.query_raw(stmt, values).await?.try_collect().await
            }
            TpQuery::Typed(sql) => client.query_typed(sql, params).await,
        }
    }

    async fn execute(
        self,
        client: &tokio_postgres::Client,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> BResult<u64> {
        match self {
            TpQuery::Prepared(stmt) => Ok(client
                .execute_raw(stmt, params.iter().map(|(v, _)| *v))
                .await?),
            TpQuery::Typed(sql) => {
                let typed = params.iter().map(|(v, t)| (*v, t.clone()));
                let mut stream = std::pin::pin!(client.query_typed_raw(sql, typed).await?);
                while stream.try_next().await?.is_some() {}
                stream
                    .rows_affected()
                    .ok_or_else(|| "insert: no command tag".into())
            }
        }
    }
}

/// Connects and spawns the connection task, as tokio-postgres requires.
pub(crate) async fn tp_connect(
    config: &tokio_postgres::Config,
) -> BResult<(tokio_postgres::Client, tokio::task::JoinHandle<BResult<()>>)> {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    let task = tokio::spawn(async move { Ok(connection.await?) });
    Ok((client, task))
}

/// Drops the client (which sends Terminate) and waits for its connection
/// task to end: the same work as pgwire's `close()`.
pub(crate) async fn tp_close(
    client: tokio_postgres::Client,
    task: tokio::task::JoinHandle<BResult<()>>,
) -> BResult<()> {
    drop(client);
    task.await.map_err(|e| format!("connection task: {e}"))?
}

async fn tp_prepare(
    client: &tokio_postgres::Client,
    workload: Workload,
) -> BResult<tokio_postgres::Statement> {
    if let Some(setup) = workload.setup() {
        client.batch_execute(setup).await?;
    }
    Ok(client.prepare(&workload.sql()).await?)
}

pub(crate) async fn tp_once(
    client: &tokio_postgres::Client,
    stmt: TpQuery<'_>,
    workload: Workload,
    i: i32,
    insert: &[(&(dyn ToSql + Sync), Type)],
) -> BResult<u64> {
    let mut sum = 0u64;
    match workload {
        Workload::RoundTrip => {
            let rows = stmt.rows(client, &[(&i, Type::INT4)]).await?;
            check("round trip", rows.len(), 1)?;
            for row in &rows {
                let v: i32 = row.try_get(0)?;
                if v != i {
                    return Err(format!("round trip: sent {i}, got {v}").into());
                }
                sum += v as u64;
            }
        }
        Workload::PgType => {
            let params: [(&(dyn ToSql + Sync), Type); 2] =
                [(&-1i32, Type::INT4), (&true, Type::BOOL)];
            for row in &stmt.rows(client, &params).await? {
                let name: &str = row.try_get(0)?;
                let namespace: u32 = row.try_get(1)?;
                let owner: u32 = row.try_get(2)?;
                let len: i16 = row.try_get(3)?;
                let byval: bool = row.try_get(4)?;
                let category: i8 = row.try_get(5)?;
                let preferred: bool = row.try_get(6)?;
                let defined: bool = row.try_get(7)?;
                let delim: i8 = row.try_get(8)?;
                let relid: u32 = row.try_get(9)?;
                let elem: u32 = row.try_get(10)?;
                let array: u32 = row.try_get(11)?;
                sum += name.len() as u64
                    + u64::from(namespace ^ owner ^ relid ^ elem ^ array)
                    + len as u64
                    + u64::from(byval as u8 + preferred as u8 + defined as u8)
                    + (category as u64 + delim as u64);
            }
        }
        Workload::Series => {
            let rows = stmt.rows(client, &[]).await?;
            check("generate_series", rows.len(), 1000)?;
            for row in &rows {
                sum += row.try_get::<_, i32>(0)? as u64;
            }
        }
        Workload::Bytea => {
            let rows = stmt.rows(client, &[]).await?;
            check("bytea", rows.len(), 100)?;
            for row in &rows {
                let bytes: &[u8] = row.try_get(0)?;
                sum += bytes.len() as u64 + u64::from(bytes.last().copied().unwrap_or(0));
            }
        }
        Workload::Arrays => {
            let rows = stmt.rows(client, &[]).await?;
            check("arrays", rows.len(), 100)?;
            for row in &rows {
                let array: Vec<i32> = row.try_get(0)?;
                sum += array.iter().map(|&v| v as u64).sum::<u64>();
            }
        }
        Workload::Insert => {
            let n = stmt.execute(client, insert).await?;
            check("insert", n as usize, INSERT_ROWS)?;
            sum = n;
        }
        Workload::OnePlusOne => {
            for row in &stmt.rows(client, &[]).await? {
                sum += row.try_get::<_, i32>(0)? as u64;
            }
        }
    }
    Ok(sum)
}

async fn tp_task(
    client: Arc<tokio_postgres::Client>,
    stmt: tokio_postgres::Statement,
    data: Arc<InsertData>,
    workload: Workload,
    (warm_until, deadline): (Instant, Instant),
) -> BResult<Counts> {
    let insert: TpParams<'_> = match workload {
        Workload::Insert => data.tokio_postgres_params(),
        _ => Vec::new(),
    };
    let mut done = Counts::default();
    let mut i = 0i32;
    loop {
        i = i.wrapping_add(1);
        black_box(tp_once(&client, TpQuery::Prepared(&stmt), workload, i, &insert).await?);
        if !tick(&mut done, warm_until, deadline) {
            return Ok(done);
        }
    }
}

/// A timed load through tokio-postgres (its `Client` is shared by the
/// tasks of one connection and pipelines their queries).
pub async fn tp_timed(
    rt: TokioRt,
    server: Arc<Server>,
    load: Load,
    window: Window,
) -> BResult<Timed> {
    let config = server.tokio_postgres(load.transport);
    let mut conns = Vec::with_capacity(load.conns);
    for _ in 0..load.conns {
        let (client, task) = tp_connect(&config).await?;
        let stmt = tp_prepare(&client, load.workload).await?;
        conns.push((Arc::new(client), task, stmt));
    }
    let data = Arc::new(InsertData::new());
    let cpu = CpuClock::now();
    let deadlines = window.deadlines();
    let mut tasks = Vec::new();
    for (client, _, stmt) in &conns {
        for _ in 0..load.tasks_per_conn {
            tasks.push(rt.spawn(tp_task(
                Arc::clone(client),
                stmt.clone(),
                Arc::clone(&data),
                load.workload,
                deadlines,
            )));
        }
    }
    let done = join_counts(tasks).await?;
    let timed = Timed::new(window, done, &cpu);
    for (client, task, _) in conns {
        let client = Arc::try_unwrap(client).map_err(|_| "a task still holds the client")?;
        tp_close(client, task).await?;
    }
    Ok(timed)
}

/// Connection setup with SCRAM-SHA-256 through tokio-postgres.
pub async fn tp_connect_rate(server: Arc<Server>, window: Window) -> BResult<Timed> {
    let config = server.tokio_postgres_scram();
    let cpu = CpuClock::now();
    let (warm_until, deadline) = window.deadlines();
    let mut done = Counts::default();
    loop {
        let (client, task) = tp_connect(&config).await?;
        tp_close(client, task).await?;
        if !tick(&mut done, warm_until, deadline) {
            return Ok(Timed::new(window, done, &cpu));
        }
    }
}

fn tp_bulk_row(row: &tokio_postgres::Row) -> BResult<u64> {
    let i: i32 = row.try_get(0)?;
    let text: &str = row.try_get(1)?;
    let float: f64 = row.try_get(2)?;
    let now: OffsetDateTime = row.try_get(3)?;
    Ok(i as u64 + text.len() as u64 + float as u64 + now.nanosecond() as u64)
}

/// Streams `rows` rows through tokio-postgres, decoding each.
pub async fn tp_bulk(server: Arc<Server>, rows: u64, mode: BulkMode) -> BResult<Bulk> {
    let (client, task) = tp_connect(&server.tokio_postgres(Transport::Tcp)).await?;
    let sql = bulk_sql(rows);
    let stmt = match mode {
        BulkMode::Prepared => Some(client.prepare(&sql).await?),
        BulkMode::SqlText => None,
    };
    let no_params = std::iter::empty::<&i32>();
    let meter = Meter::start();
    let stream = match &stmt {
        Some(stmt) => client.query_raw(stmt, no_params).await?,
        None => client.query_raw(sql.as_str(), no_params).await?,
    };
    let mut stream = std::pin::pin!(stream);
    alloc::start();
    let (mut n, mut sum) = (0u64, 0u64);
    let result = async {
        while let Some(row) = stream.try_next().await? {
            sum = sum.wrapping_add(tp_bulk_row(&row)?);
            n += 1;
        }
        BResult::Ok(())
    }
    .await;
    let allocs = alloc::stop();
    result?;
    let bulk = meter.finish(n, allocs);
    black_box(sum);
    tp_close(client, task).await?;
    check("bulk decode", n as usize, rows as usize)?;
    Ok(bulk)
}
