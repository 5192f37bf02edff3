//! The pipeline cases (issue 15): 10,000 `SELECT $1::int4` pipelined on
//! one connection (pgwire's `Pipeline` under one Sync, tokio-postgres's
//! 10,000 futures joined, pgbench's pipeline mode in batches of 100), and
//! MagicStack's query 6 (`executemany` of rows of 7 mixed columns) as
//! pgwire's `execute_many` against tokio-postgres's pipelined inserts in a
//! transaction, and against its multi-row INSERTs of 1,000 rows.

use std::sync::Arc;

use futures_util::future::try_join_all;
use pgwire_conn::{Pipeline, PipelineSync};

use crate::config::{Server, Transport};
use crate::copy::{check, Meter};
use crate::rt::Rt;
use crate::work::{self, Bulk};
use crate::BResult;

/// Which pipeline case a sample runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchCase {
    /// [`SELECTS`] `SELECT $1::int4`, [`SELECT_RUNS`] times per sample.
    Select,
    /// `execute_many` of `rows` rows, `runs` times per sample; with
    /// `multirow`, the peer sends multi-row INSERTs instead of pipelining.
    Many {
        rows: usize,
        runs: usize,
        multirow: bool,
    },
}

/// Statements per pipeline of the select case.
pub const SELECTS: usize = 10_000;
const SELECT_RUNS: usize = 5;
/// Rows per multi-row INSERT of the peer (7,000 parameters).
const MULTIROW: usize = 1_000;

const TABLE: &str = "bench_execute_many";

fn setup() -> String {
    format!(
        "DROP TABLE IF EXISTS {TABLE}; \
         CREATE UNLOGGED TABLE {TABLE} (a int, b int, c int, d text, e float8, f int, g text)"
    )
}

const INSERT: &str =
    "INSERT INTO bench_execute_many (a, b, c, d, e, f, g) VALUES ($1, $2, $3, $4, $5, $6, $7)";

type Row = (i32, i32, i32, &'static str, f64, i32, &'static str);

fn row(i: usize) -> Row {
    let i = i as i32;
    (i, 11, 10, "TESTTESTTEST", 10.333, 12341234, "123412341234")
}

/// The multi-row INSERT of `n` rows.
fn multirow_sql(n: usize) -> String {
    let mut sql = format!("INSERT INTO {TABLE} (a, b, c, d, e, f, g) VALUES ");
    for r in 0..n {
        if r > 0 {
            sql.push_str(", ");
        }
        let p = r * 7;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7
        ));
    }
    sql
}

/// One sample through pgwire on runtime `R`.
pub async fn pgwire_batch<R: Rt>(server: Arc<Server>, case: BatchCase) -> BResult<Bulk> {
    let conn = R::open(&server.pgwire(Transport::Tcp)).await?;
    let bulk = match case {
        BatchCase::Select => {
            let meter = Meter::start();
            for _ in 0..SELECT_RUNS {
                let mut pipeline = Pipeline::with_sync(PipelineSync::Once);
                for i in 0..SELECTS as i32 {
                    pipeline.push("SELECT $1::int4", (i,));
                }
                let results = conn.run_pipeline(&pipeline).await?;
                for (i, result) in results.into_iter().enumerate() {
                    let v: i32 = result?.rows[0].try_get(0)?;
                    if v != i as i32 {
                        return Err(format!("pipeline: sent {i}, got {v}").into());
                    }
                }
            }
            meter.finish((SELECTS * SELECT_RUNS) as u64)
        }
        BatchCase::Many { rows, runs, .. } => {
            conn.simple_query(&setup()).await?;
            let meter = Meter::start();
            for _ in 0..runs {
                let n = conn.execute_many(INSERT, (0..rows).map(row)).await?;
                check("execute_many", n, rows as u64)?;
            }
            let bulk = meter.finish((rows * runs) as u64);
            conn.simple_query(&format!("DROP TABLE {TABLE}")).await?;
            bulk
        }
    };
    conn.close().await?;
    Ok(bulk)
}

/// One sample through tokio-postgres.
pub async fn tp_batch(server: Arc<Server>, case: BatchCase) -> BResult<Bulk> {
    let (client, task) = work::tp_connect(&server.tokio_postgres(Transport::Tcp)).await?;
    let bulk = match case {
        BatchCase::Select => {
            let stmt = client.prepare("SELECT $1::int4").await?;
            let meter = Meter::start();
            for _ in 0..SELECT_RUNS {
                let queries = (0..SELECTS as i32).map(|i| {
                    let (client, stmt) = (&client, &stmt);
                    async move {
                        let row = client.query_one(stmt, &[&i]).await?;
                        let v: i32 = row.try_get(0)?;
                        if v != i {
                            return Err(format!("pipeline: sent {i}, got {v}").into());
                        }
                        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                    }
                });
                try_join_all(queries).await?;
            }
            meter.finish((SELECTS * SELECT_RUNS) as u64)
        }
        BatchCase::Many {
            rows,
            runs,
            multirow,
        } => {
            client.batch_execute(&setup()).await?;
            let stmt = client.prepare(INSERT).await?;
            let multi = client.prepare(&multirow_sql(MULTIROW)).await?;
            let meter = Meter::start();
            for _ in 0..runs {
                // In one transaction, as execute_many's one Sync is.
                client.batch_execute("BEGIN").await?;
                let values: Vec<Row> = (0..rows).map(row).collect();
                let n: u64 = if multirow {
                    let mut n = 0;
                    for chunk in values.chunks(MULTIROW) {
                        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = chunk
                            .iter()
                            .flat_map(|r| {
                                [
                                    &r.0 as &(dyn tokio_postgres::types::ToSql + Sync),
                                    &r.1,
                                    &r.2,
                                    &r.3,
                                    &r.4,
                                    &r.5,
                                    &r.6,
                                ]
                            })
                            .collect();
                        n += if chunk.len() == MULTIROW {
                            client.execute(&multi, &params).await?
                        } else {
                            client.execute(&multirow_sql(chunk.len()), &params).await?
                        };
                    }
                    n
                } else {
                    let inserts = values.iter().map(|r| {
                        let (client, stmt) = (&client, &stmt);
                        async move {
                            client
                                .execute(stmt, &[&r.0, &r.1, &r.2, &r.3, &r.4, &r.5, &r.6])
                                .await
                        }
                    });
                    try_join_all(inserts).await?.into_iter().sum()
                };
                client.batch_execute("COMMIT").await?;
                check("inserts", n, rows as u64)?;
            }
            let bulk = meter.finish((rows * runs) as u64);
            client.batch_execute(&format!("DROP TABLE {TABLE}")).await?;
            bulk
        }
    };
    work::tp_close(client, task).await?;
    Ok(bulk)
}

/// The pgbench script of the select case: 100 statements per pipeline.
pub fn pgbench_script() -> crate::pgbench::Script {
    crate::pgbench::Script {
        name: "pipeline.sql",
        text: pgbench_pipeline_text(),
        clients: 1,
        statements: 100,
    }
}

fn pgbench_pipeline_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let mut text = String::from("\\set x random(1, 1000000)\n\\startpipeline\n");
        for _ in 0..100 {
            text.push_str("SELECT :x::int4;\n");
        }
        text.push_str("\\endpipeline\n");
        text
    })
}
