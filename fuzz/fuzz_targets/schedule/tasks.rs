//! The tasks sharing the connection: each runs one kind of request and
//! asserts that what came back is its own answer (values that only its
//! request names) or a typed error that is its own (a server error naming
//! one of its statements) or, once the server closed, the connection's.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use pgwire_conn::{Connection, Error, Pipeline, PipelineSync, Row};

use crate::wire::Stream;

pub type Task<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// What the tasks know of the server.
#[derive(Default)]
pub struct Ctx {
    /// The server closed the connection (or was told to).
    pub closed: Cell<bool>,
}

/// The value an error from the fake backend names (`... [v]`).
fn named(message: &str) -> Option<i64> {
    let open = message.rfind('[')?;
    message[open + 1..].strip_suffix(']')?.parse().ok()
}

/// Asserts that `err` is this task's: a server error naming one of
/// `values`, a batch error around one, or, once the server closed, the
/// connection's own end.
fn own_error(ctx: &Ctx, err: &Error, values: &[i64], what: &str) {
    match err {
        Error::Database(db) => {
            let value = named(&db.message);
            assert!(
                value.is_some_and(|v| values.contains(&v)),
                "{what}: a server error that is not ours ({values:?}): {err:?}"
            );
        }
        Error::Batch { source, .. } => own_error(ctx, source, values, what),
        Error::Dead(_) | Error::Io(_) | Error::Protocol(_) if ctx.closed.get() => {}
        other => panic!("{what}: unexpected error {other:?}"),
    }
}

/// True for errors that say the connection is gone.
fn gone(err: &Error) -> bool {
    match err {
        Error::Dead(_) | Error::Io(_) | Error::Protocol(_) => true,
        Error::Batch { source, .. } => gone(source),
        _ => false,
    }
}

fn int(row: &Row, what: &str) -> i64 {
    i64::from(
        row.try_get::<i32>(0)
            .unwrap_or_else(|e| panic!("{what}: column 0 is not an int4: {e:?}")),
    )
}

/// One row holding `expected`.
fn one_row(rows: &[Row], expected: i64, what: &str) {
    assert_eq!(rows.len(), 1, "{what}: row count");
    assert_eq!(int(&rows[0], what), expected, "{what}: not our answer");
}

/// What a task runs, from its two input bytes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `simple_query` of `select v` statements; `fail` divides one by zero.
    Simple {
        values: Vec<i64>,
        fail: Option<usize>,
    },
    /// `fetch("select $1::int4 + k")`, or its `/ 0` twin when `fail`.
    Fetch { value: i64, k: i64, fail: bool },
    /// `fetch("select v")`, no parameters.
    Literal { value: i64 },
    /// Prepare, run and close a named statement.
    Prepared { value: i64, k: i64 },
    /// A pipeline of `select $1::int4 + k`, one failing at `fail`.
    Pipeline {
        values: Vec<i64>,
        k: i64,
        fail: Option<usize>,
        once: bool,
        streamed: bool,
    },
    /// `execute_many("insert $1::int4")` over `values`.
    ExecuteMany { values: Vec<i64> },
    /// `query("select $1::int4 from series n")`, read row by row.
    Rows { value: i64, count: i64 },
}

impl Kind {
    /// Task `index`'s request number `rep` (values below 100 apart).
    pub fn decode(index: usize, rep: u8, kind: u8, arg: u8) -> Kind {
        let base = 1000 * (index as i64 + 1) + 100 * i64::from(rep);
        let n = usize::from(arg % 4) + 1;
        let values = (0..n as i64).map(|j| base + j).collect::<Vec<_>>();
        let k = i64::from((arg >> 2) % 3);
        let fail_at = (arg & 0x80 != 0).then_some(usize::from((arg >> 4) & 7) % n);
        match kind % 8 {
            0 => Kind::Simple {
                values,
                fail: fail_at,
            },
            1 => Kind::Fetch {
                value: base,
                k,
                fail: arg & 0x80 != 0,
            },
            2 => Kind::Literal { value: base },
            3 => Kind::Prepared { value: base, k },
            4 | 5 => Kind::Pipeline {
                values,
                k,
                fail: fail_at,
                once: kind % 8 == 5,
                streamed: kind & 0x10 != 0,
            },
            6 => Kind::ExecuteMany { values },
            _ => Kind::Rows {
                value: base,
                count: i64::from(arg % 5),
            },
        }
    }
}

/// A task running `kind`'s request, then up to 3 more of the same kind
/// with other values, each sent once the last is answered.
pub fn task<'a>(
    conn: &'a Connection<Stream>,
    ctx: &'a Ctx,
    index: usize,
    kind: u8,
    arg: u8,
) -> Task<'a> {
    Box::pin(async move {
        let again = (kind >> 5) % 4;
        for rep in 0..=again {
            let kind = Kind::decode(index, rep, kind, arg);
            // A request first sent after the server closed cannot be answered.
            let late = ctx.closed.get();
            let what = format!("task {index} request {rep} {kind:?}");
            let answered = run(conn, ctx, index, rep, &kind, &what).await;
            assert!(
                !(late && answered),
                "{what}: answered after the server closed"
            );
        }
    })
}

/// Runs `kind`; true if the server answered any of it with success.
async fn run(
    conn: &Connection<Stream>,
    ctx: &Ctx,
    index: usize,
    rep: u8,
    kind: &Kind,
    what: &str,
) -> bool {
    match kind {
        Kind::Simple { values, fail } => {
            let sql: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    if Some(j) == *fail {
                        format!("select {v} / 0")
                    } else {
                        format!("select {v}")
                    }
                })
                .collect();
            match conn.simple_query(&sql.join("; ")).await {
                Ok(results) => {
                    assert!(fail.is_none(), "{what}: a failing statement succeeded");
                    assert_eq!(results.len(), values.len(), "{what}: result count");
                    for (result, v) in results.iter().zip(values) {
                        one_row(&result.rows, *v, what);
                    }
                    true
                }
                Err(e) => {
                    own_error(ctx, &e, values, what);
                    false
                }
            }
        }
        Kind::Fetch { value, k, fail } => {
            let sql = if *fail {
                "select $1::int4 / 0".to_owned()
            } else if *k == 0 {
                "select $1::int4".to_owned()
            } else {
                format!("select $1::int4 + {k}")
            };
            let expected = if *fail { *value } else { value + k };
            match conn.fetch(&*sql, (*value as i32,)).await {
                Ok(rows) => {
                    assert!(!fail, "{what}: a failing statement succeeded");
                    one_row(&rows, expected, what);
                    true
                }
                Err(e) => {
                    own_error(ctx, &e, &[expected], what);
                    false
                }
            }
        }
        Kind::Literal { value } => match conn.fetch(&*format!("select {value}"), ()).await {
            Ok(rows) => {
                one_row(&rows, *value, what);
                true
            }
            Err(e) => {
                own_error(ctx, &e, &[*value], what);
                false
            }
        },
        Kind::Prepared { value, k } => {
            let sql = format!("select $1::int4 + {k}");
            let statement = match conn
                .create_prepared_statement(&format!("p{index}_{rep}"), &sql)
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    own_error(ctx, &e, &[], what);
                    return false;
                }
            };
            match conn.fetch(&statement, (*value as i32,)).await {
                Ok(rows) => one_row(&rows, value + k, what),
                Err(e) => own_error(ctx, &e, &[value + k], what),
            }
            if let Err(e) = conn.close_prepared_statement(&statement).await {
                own_error(ctx, &e, &[], what);
            }
            // The prepare itself was an answer.
            true
        }
        Kind::Pipeline {
            values,
            k,
            fail,
            once,
            streamed,
        } => {
            let plain = if *k == 0 {
                "select $1::int4".to_owned()
            } else {
                format!("select $1::int4 + {k}")
            };
            let mut pipeline = Pipeline::with_sync(if *once {
                PipelineSync::Once
            } else {
                PipelineSync::PerStatement
            });
            let expected: Vec<i64> = values
                .iter()
                .enumerate()
                .map(|(j, v)| if Some(j) == *fail { *v } else { v + k })
                .collect();
            for (j, v) in values.iter().enumerate() {
                let sql = if Some(j) == *fail {
                    "select $1::int4 / 0"
                } else {
                    plain.as_str()
                };
                pipeline.push(sql, (*v as i32,));
            }
            let results = if *streamed {
                match conn.pipeline(&pipeline).await {
                    Ok(mut stream) => {
                        let mut out = Vec::new();
                        while let Some(r) = stream.next_result().await {
                            out.push(r);
                        }
                        Ok(out)
                    }
                    Err(e) => Err(e),
                }
            } else {
                conn.run_pipeline(&pipeline).await
            };
            let results = match results {
                Ok(r) => r,
                Err(e) => {
                    if *once && !*streamed && !gone(&e) {
                        assert!(
                            matches!(e, Error::Batch { .. }),
                            "{what}: not a batch error: {e:?}"
                        );
                    }
                    own_error(ctx, &e, &expected, what);
                    return false;
                }
            };
            let mut answered = false;
            let mut failed: Option<usize> = None;
            let mut broken = false;
            if !ctx.closed.get() {
                assert_eq!(results.len(), values.len(), "{what}: result count");
            }
            for (j, result) in results.iter().enumerate() {
                match result {
                    Ok(r) => {
                        assert!(!broken, "{what}: an answer after the connection broke");
                        assert_ne!(Some(j), *fail, "{what}: a failing statement succeeded");
                        if *once {
                            assert!(failed.is_none(), "{what}: ran after the batch failed");
                        }
                        one_row(&r.rows, expected[j], what);
                        answered = true;
                    }
                    Err(Error::NotRun { failed: f }) => {
                        assert!(*once, "{what}: NotRun without PipelineSync::Once");
                        assert_eq!(Some(*f), failed, "{what}: NotRun names another member");
                    }
                    Err(e) if gone(e) => {
                        own_error(ctx, e, &[], what);
                        broken = true;
                    }
                    Err(e) => {
                        own_error(ctx, e, &[expected[j]], what);
                        if *once {
                            assert!(failed.is_none(), "{what}: two members failed");
                            failed = Some(j);
                        }
                    }
                }
            }
            if *once && !*streamed && !ctx.closed.get() {
                assert!(
                    failed.is_none(),
                    "{what}: run_pipeline returned Ok for a failed batch"
                );
            }
            answered
        }
        Kind::ExecuteMany { values } => {
            let rows: Vec<(i32,)> = values.iter().map(|v| (*v as i32,)).collect();
            match conn.execute_many("insert $1::int4", &rows).await {
                Ok(n) => {
                    assert_eq!(
                        n as i64,
                        values.iter().sum::<i64>(),
                        "{what}: not our count"
                    );
                    true
                }
                Err(e) => {
                    if !gone(&e) {
                        assert!(
                            matches!(e, Error::Batch { .. }),
                            "{what}: not a batch error: {e:?}"
                        );
                    }
                    own_error(ctx, &e, values, what);
                    false
                }
            }
        }
        Kind::Rows { value, count } => {
            let sql = format!("select $1::int4 from series {count}");
            let mut stream = match conn.query(&*sql, (*value as i32,)).await {
                Ok(s) => s,
                Err(e) => {
                    own_error(ctx, &e, &[*value], what);
                    return false;
                }
            };
            let mut seen = 0;
            let mut answered = false;
            while let Some(row) = stream.next().await {
                match row {
                    Ok(row) => {
                        assert_eq!(int(&row, what), value + seen, "{what}: not our row");
                        seen += 1;
                        answered = true;
                    }
                    Err(e) => {
                        own_error(ctx, &e, &[*value], what);
                        return answered;
                    }
                }
            }
            assert_eq!(seen, *count, "{what}: row count");
            // A statement with no rows is still answered (its tag).
            true
        }
    }
}
