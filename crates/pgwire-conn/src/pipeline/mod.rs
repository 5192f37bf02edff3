//! Explicit pipelines: many statements, each with its own parameters,
//! sent in as few writes as the socket takes, their results read in order
//! while later statements are still being written.
//!
//! A [`Pipeline`] is built first and run with
//! [`Connection::pipeline`](crate::Connection::pipeline) (results one by
//! one, as they arrive) or [`Connection::run_pipeline`](crate::Connection::run_pipeline)
//! (all of them). [`Connection::execute_many`](crate::Connection::execute_many)
//! runs one statement for many parameter rows.
//!
//! How the statements go out: each statement the connection's cache holds
//! is bound by name, with its columns known, so it costs the server one
//! Bind and one Execute. Statements the cache lacks are prepared first,
//! one round trip each and once per connection, when that can have no
//! effect of its own (outside a transaction); otherwise, and with the cache
//! off (`statement_cache_capacity=0`, behind PgBouncer in transaction
//! mode), they run on the unnamed statement and are described in the same
//! request.

mod execute_many;
mod results;
mod send;

pub use results::{PipelineResults, StatementRows};

use crate::params::Params;
use crate::statement::Query;

/// Where a pipeline's `Sync` messages go, which decides what one failing
/// statement does to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PipelineSync {
    /// A `Sync` after each statement (the default): each runs in its own
    /// implicit transaction, so a failing statement fails alone and the
    /// others run and commit (as tokio-postgres's implicit pipelining does).
    /// Each statement's result is final once read.
    #[default]
    PerStatement,
    /// One `Sync` for the whole pipeline (psycopg's and libpq's pipeline
    /// semantics): the statements run in one implicit transaction, and an
    /// error ends it. The server skips every statement after the failed
    /// one (each is [`Error::NotRun`](crate::Error::NotRun)) and rolls the
    /// transaction back, so the statements before it are undone too; so
    /// is everything when the commit at the end fails (a deferred
    /// constraint). Statements between their own `BEGIN` and `COMMIT`
    /// members commit at that `COMMIT`. Behind PgBouncer in transaction
    /// mode, the whole pipeline stays on one server session.
    Once,
}

/// True for SQL whose first word is `COMMIT` or `END`: a statement that,
/// in a failed transaction, rolls back and says so only by its tag.
pub(crate) fn is_commit(query: Query<'_>) -> bool {
    let crate::statement::Source::Sql(sql) = query.source else {
        return false;
    };
    // Checked for every statement of a pipeline: no allocation.
    let sql = sql.trim_start();
    let letters = sql.bytes().take_while(u8::is_ascii_alphabetic).count();
    // ASCII letters end on a char boundary.
    let word = &sql[..letters];
    word.eq_ignore_ascii_case("commit") || word.eq_ignore_ascii_case("end")
}

/// One statement of a pipeline.
pub(crate) struct Member<'a> {
    pub(crate) query: Query<'a>,
    pub(crate) params: Box<dyn Params + Send + Sync + 'a>,
}

/// A list of statements to send together, each with its own parameters.
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// use pgwire_conn::{Pipeline, PipelineSync};
///
/// let mut pipeline = Pipeline::new();
/// for i in 0..1000i32 {
///     pipeline.push("select $1::int4 * 2", (i,));
/// }
/// pipeline.push("insert into log(msg) values ($1)", ("done",));
/// let results = conn.run_pipeline(&pipeline).await?;
/// assert_eq!(results[10].as_ref().unwrap().rows[0].try_get::<i32>(0)?, 20);
///
/// // All or nothing: one implicit transaction, one Sync.
/// let mut batch = Pipeline::with_sync(PipelineSync::Once);
/// batch.push("update account set balance = balance - 10 where id = $1", (1i32,));
/// batch.push("update account set balance = balance + 10 where id = $1", (2i32,));
/// conn.run_pipeline(&batch).await?; // Err(Error::Batch { .. }) if either failed: neither stands
/// # Ok(()) }
/// ```
pub struct Pipeline<'a> {
    pub(crate) members: Vec<Member<'a>>,
    pub(crate) sync: PipelineSync,
    pub(crate) timeout: Option<std::time::Duration>,
}

impl Default for Pipeline<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("statements", &self.members.len())
            .field("sync", &self.sync)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<'a> Pipeline<'a> {
    /// An empty pipeline with a `Sync` after each statement
    /// ([`PipelineSync::PerStatement`]).
    pub fn new() -> Self {
        Self::with_sync(PipelineSync::PerStatement)
    }

    /// An empty pipeline with the given `Sync` policy.
    pub fn with_sync(sync: PipelineSync) -> Self {
        Pipeline {
            members: Vec::new(),
            sync,
            timeout: None,
        }
    }

    /// A time limit for running the whole pipeline (else the connection's
    /// default, [`Connection::set_default_timeout`](crate::Connection::set_default_timeout)).
    /// The statements' own [`Query::timeout`]s do not apply in a pipeline.
    pub fn timeout(&mut self, limit: std::time::Duration) -> &mut Self {
        self.timeout = Some(limit);
        self
    }

    /// Adds a statement (SQL text, a [`Query`] or a prepared statement)
    /// with its parameters, positional or [named](crate::named). Its
    /// result is the statement's index, in order of pushing.
    pub fn push(
        &mut self,
        query: impl Into<Query<'a>>,
        params: impl Params + Send + Sync + 'a,
    ) -> &mut Self {
        self.members.push(Member {
            query: query.into(),
            params: Box::new(params),
        });
        self
    }

    /// The number of statements.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when no statement was pushed.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The `Sync` policy.
    pub fn sync(&self) -> PipelineSync {
        self.sync
    }

    /// Removes every statement, keeping the policy and the allocation.
    pub fn clear(&mut self) {
        self.members.clear();
    }
}
