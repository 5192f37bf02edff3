//! The COPY cases: MagicStack's query 5 (COPY 10,000 rows of 7 mixed
//! columns into a table) with each client's typed binary writer, and a
//! COPY TO STDOUT of 1M rows read chunk by chunk. Each sample runs the
//! COPY in a loop on one TCP connection; the table is emptied before each
//! sample, outside the measurement.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use futures_util::TryStreamExt;
use pgwire_conn::types::oid;
use pgwire_conn::BinaryCopyInWriter;

use crate::config::{Server, Transport};
use crate::rt::Rt;
use crate::sys::CpuClock;
use crate::work::{self, Bulk};
use crate::{alloc, BResult};

/// Which COPY a case runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyCase {
    /// MagicStack query 5, repeated [`IN_RUNS`] times per sample.
    In,
    /// `COPY ... TO STDOUT` of [`OUT_ROWS`] rows.
    Out,
}

/// Rows of one MagicStack COPY.
const IN_ROWS: u64 = 10_000;
/// COPYs per sample of the copy-in case.
const IN_RUNS: u64 = 10;
/// Rows of the copy-out case.
const OUT_ROWS: u64 = 1_000_000;

const TABLE: &str = "bench_copy_magic";

fn setup() -> String {
    format!(
        "DROP TABLE IF EXISTS {TABLE}; \
         CREATE UNLOGGED TABLE {TABLE} (a int, b int, c int, d text, e float8, f int, g text)"
    )
}

fn copy_in_sql() -> String {
    format!("COPY {TABLE} (a, b, c, d, e, f, g) FROM STDIN (FORMAT binary)")
}

fn copy_out_sql() -> String {
    format!("COPY (SELECT generate_series(1, {OUT_ROWS}), 'x') TO STDOUT")
}

pub(crate) struct Meter {
    cpu: CpuClock,
    start: Instant,
}

impl Meter {
    pub(crate) fn start() -> Self {
        alloc::start();
        Meter {
            cpu: CpuClock::now(),
            start: Instant::now(),
        }
    }

    pub(crate) fn finish(self, rows: u64) -> Bulk {
        let secs = self.start.elapsed().as_secs_f64();
        let cpu_ns = CpuClock::since(&self.cpu);
        Bulk {
            rows,
            secs,
            cpu_ns,
            allocs: alloc::stop(),
            hwm_before_kib: 0,
            hwm_after_kib: 0,
            server: self.cpu.server_since(),
        }
    }
}

pub(crate) fn check(what: &str, got: u64, want: u64) -> BResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want} rows, got {got}").into())
    }
}

/// One sample through pgwire on runtime `R`.
pub async fn pgwire_copy<R: Rt>(server: Arc<Server>, case: CopyCase) -> BResult<Bulk> {
    let conn = R::open(&server.pgwire(Transport::Tcp)).await?;
    let bulk = match case {
        CopyCase::In => {
            conn.simple_query(&setup()).await?;
            let types = [
                oid::INT4,
                oid::INT4,
                oid::INT4,
                oid::TEXT,
                oid::FLOAT8,
                oid::INT4,
                oid::TEXT,
            ];
            let meter = Meter::start();
            for _ in 0..IN_RUNS {
                let copy = conn.copy_in(&copy_in_sql()).await?;
                let mut writer = BinaryCopyInWriter::new(copy, &types)?;
                for _ in 0..IN_ROWS {
                    writer
                        .write(&[
                            &10i32,
                            &11i32,
                            &10i32,
                            &"TESTTESTTEST",
                            &10.333f64,
                            &12341234i32,
                            &"123412341234",
                        ])
                        .await?;
                }
                check("copy in", writer.finish().await?, IN_ROWS)?;
            }
            let bulk = meter.finish(IN_ROWS * IN_RUNS);
            conn.simple_query(&format!("DROP TABLE {TABLE}")).await?;
            bulk
        }
        CopyCase::Out => {
            let meter = Meter::start();
            let mut out = conn.copy_out(&copy_out_sql()).await?;
            let (mut n, mut bytes) = (0u64, 0usize);
            while let Some(chunk) = out.try_next().await? {
                n += 1;
                bytes += chunk.len();
            }
            let bulk = meter.finish(n);
            black_box(bytes);
            check("copy out", n, OUT_ROWS)?;
            bulk
        }
    };
    conn.close().await?;
    Ok(bulk)
}

/// One sample through tokio-postgres (its `BinaryCopyInWriter` and
/// `copy_out`).
pub async fn tp_copy(server: Arc<Server>, case: CopyCase) -> BResult<Bulk> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter as TpWriter;
    use tokio_postgres::types::Type;
    let (client, task) = work::tp_connect(&server.tokio_postgres(Transport::Tcp)).await?;
    let bulk = match case {
        CopyCase::In => {
            client.batch_execute(&setup()).await?;
            let types = [
                Type::INT4,
                Type::INT4,
                Type::INT4,
                Type::TEXT,
                Type::FLOAT8,
                Type::INT4,
                Type::TEXT,
            ];
            let meter = Meter::start();
            for _ in 0..IN_RUNS {
                let sink = client.copy_in(&copy_in_sql()).await?;
                let writer = TpWriter::new(sink, &types);
                let mut writer = std::pin::pin!(writer);
                for _ in 0..IN_ROWS {
                    writer
                        .as_mut()
                        .write(&[
                            &10i32,
                            &11i32,
                            &10i32,
                            &"TESTTESTTEST",
                            &10.333f64,
                            &12341234i32,
                            &"123412341234",
                        ])
                        .await?;
                }
                check("copy in", writer.finish().await?, IN_ROWS)?;
            }
            let bulk = meter.finish(IN_ROWS * IN_RUNS);
            client.batch_execute(&format!("DROP TABLE {TABLE}")).await?;
            bulk
        }
        CopyCase::Out => {
            let meter = Meter::start();
            let stream = client.copy_out(&copy_out_sql()).await?;
            let mut stream = std::pin::pin!(stream);
            let (mut n, mut bytes) = (0u64, 0usize);
            while let Some(chunk) = stream.try_next().await? {
                n += 1;
                bytes += chunk.len();
            }
            let bulk = meter.finish(n);
            black_box(bytes);
            check("copy out", n, OUT_ROWS)?;
            bulk
        }
    };
    work::tp_close(client, task).await?;
    Ok(bulk)
}
