//! The query methods, written once for [`Connection`](crate::Connection)
//! and [`Transaction`](crate::Transaction): each type defines `via()`, the
//! way its requests travel (outside any transaction, or through its
//! reservation), and this macro adds the methods that send through it.
//!
//! The examples use `db`, which is `conn` itself for a connection and an
//! open transaction for a transaction.

macro_rules! query_methods {
    ($setup:literal) => {
        $crate::methods::query_methods!(
            "# async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {",
            $setup
        );
    };
    ($demo:literal, $setup:literal) => {
        #[doc = "Sends `query` and returns the raw events of its answer, up to its"]
        #[doc = "`ReadyForQuery`: `RowDescription`, `Row`, `CommandComplete`, and for"]
        #[doc = "the extended protocol `ParseComplete`, `BindComplete` and the rest."]
        #[doc = "Server errors are items ([`Event::Error`](crate::Event::Error)), not `Err`."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "use futures_util::TryStreamExt;"]
        #[doc = "let events: Vec<_> = db.lowlevel_query(\"select null\", ()).await?.try_collect().await?;"]
        #[doc = "assert_eq!(events.len(), 3); // RowDescription, Row, CommandComplete"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn lowlevel_query<'q>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<$crate::EventStream<'_, S>> {
            self.via().lowlevel_query(query.into(), &params).await
        }

        #[doc = "Sends `query` and returns its rows as a stream read from the socket"]
        #[doc = "as it is polled. [`RowStream::row_count`](crate::RowStream::row_count) drains the rest."]
        #[doc = ""]
        #[doc = "While the stream is not being polled it holds nothing: other tasks"]
        #[doc = "send their queries meanwhile, and those sent before it are answered."]
        #[doc = "Those sent after it are answered once it has been read (PostgreSQL"]
        #[doc = "answers in order); a later request from the same task reads the rest"]
        #[doc = "of it ahead into memory, up to the connection's read-ahead limit"]
        #[doc = "([`Connection::set_read_ahead_limit`](crate::Connection::set_read_ahead_limit))."]
        pub async fn query<'q>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<$crate::RowStream<'_, S>> {
            self.via().query(query.into(), &params).await
        }

        #[doc = "Runs `query` and returns all its rows (of every statement, for a"]
        #[doc = "multi-statement string). The rows hold about their own size in"]
        #[doc = "memory, however the server's bytes arrived."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "let rows = db.fetch(\"select $1::int4 * 2\", (21,)).await?;"]
        #[doc = "assert_eq!(rows[0].try_get::<i32>(0)?, 42);"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn fetch<'q>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<Vec<$crate::Row>> {
            self.via().fetch(query.into(), &params).await
        }

        #[doc = "Runs `query` and returns its first row, if any (the rest is read and"]
        #[doc = "dropped, so the whole statement runs)."]
        pub async fn fetch_one<'q>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<Option<$crate::Row>> {
            self.via().fetch_one(query.into(), &params).await
        }

        #[doc = "Runs `query` and returns exactly one row: [`Error::NoRows`](crate::Error::NoRows)"]
        #[doc = "when it returns none, [`Error::TooManyRows`](crate::Error::TooManyRows) when"]
        #[doc = "it returns more (the whole statement runs either way)."]
        #[doc = ""]
        #[doc = "The names, side by side: [`fetch_one`](Self::fetch_one) is pg-purepy's"]
        #[doc = "`fetch_one` (the first row, if any), which is sqlx's `fetch_optional` and"]
        #[doc = "tokio-postgres's `query_opt`; `fetch_exactly_one` is tokio-postgres's"]
        #[doc = "`query_one`, and sqlx's `fetch_one` but for also refusing a second row."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "let row = db.fetch_exactly_one(\"select 42 as answer\", ()).await?;"]
        #[doc = "assert_eq!(row.try_get::<i32>(\"answer\")?, 42);"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn fetch_exactly_one<'q>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<$crate::Row> {
            $crate::from_row::exactly_one(self.via().fetch(query.into(), &params).await?)
        }

        #[doc = "Runs `query` and returns its rows as `T`s ([`FromRow`](crate::FromRow):"]
        #[doc = "a `#[derive(FromRow)]` struct, a tuple). The first row that does not"]
        #[doc = "convert is the error."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "let pairs: Vec<(i32, String)> = db.fetch_as(\"select 1, 'one'\", ()).await?;"]
        #[doc = "assert_eq!(pairs, [(1, \"one\".to_owned())]);"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn fetch_as<'q, T: $crate::FromRow>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<Vec<T>> {
            let rows = self.via().fetch(query.into(), &params).await?;
            rows.iter().map(<T as $crate::FromRow>::from_row).collect()
        }

        #[doc = "Runs `query` and returns its first row, if any, as a `T` (see"]
        #[doc = "[`fetch_one`](Self::fetch_one) and [`FromRow`](crate::FromRow))."]
        pub async fn fetch_one_as<'q, T: $crate::FromRow>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<Option<T>> {
            match self.via().fetch_one(query.into(), &params).await? {
                Some(row) => <T as $crate::FromRow>::from_row(&row).map(Some),
                None => Ok(None),
            }
        }

        #[doc = "Runs `query` and returns its one row as a `T`; zero or several rows are"]
        #[doc = "errors, as for [`fetch_exactly_one`](Self::fetch_exactly_one)."]
        pub async fn fetch_exactly_one_as<'q, T: $crate::FromRow>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<T> {
            let row = $crate::from_row::exactly_one(self.via().fetch(query.into(), &params).await?)?;
            <T as $crate::FromRow>::from_row(&row)
        }

        #[doc = "Runs `query`, which returns one row, and returns its first column as a"]
        #[doc = "`T`: [`Error::NoRows`](crate::Error::NoRows) for no row,"]
        #[doc = "[`Error::TooManyRows`](crate::Error::TooManyRows) for several, and a NULL"]
        #[doc = "is [`Error::Column`](crate::Error::Column) (`UnexpectedNull`) unless `T` is an"]
        #[doc = "`Option`."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "let n: i64 = db.fetch_scalar(\"select count(*) from pg_class\", ()).await?;"]
        #[doc = "let none: Option<i32> = db.fetch_scalar(\"select null::int4\", ()).await?;"]
        #[doc = "assert_eq!((n > 0, none), (true, None));"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn fetch_scalar<'q, T: for<'a> $crate::FromSql<'a>>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<T> {
            $crate::from_row::scalar(self.via().fetch(query.into(), &params).await?)
        }

        #[doc = "Sends `query` and returns its rows as a stream of `T`s (see"]
        #[doc = "[`query`](Self::query) and [`FromRow`](crate::FromRow)); a row that does not"]
        #[doc = "convert is an `Err` item."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "use futures_util::TryStreamExt;"]
        #[doc = "let mut ids = db.query_as::<(i32,)>(\"select generate_series(1, 3)\", ()).await?;"]
        #[doc = "while let Some((id,)) = ids.try_next().await? {"]
        #[doc = "    println!(\"{id}\");"]
        #[doc = "}"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn query_as<'q, T: $crate::FromRow>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<$crate::TypedRowStream<$crate::RowStream<'_, S>, T>> {
            self.via()
                .query(query.into(), &params)
                .await
                .map($crate::TypedRowStream::new)
        }

        #[doc = "Runs `query` and returns the row count of its last statement (rows"]
        #[doc = "inserted, updated, deleted or selected; 0 for commands without one)."]
        pub async fn execute<'q>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            params: impl $crate::Params + Sync,
        ) -> $crate::Result<u64> {
            self.via().execute(query.into(), &params).await
        }

        #[doc = "Runs `query` once for each parameter row of `rows`, as one batch under"]
        #[doc = "one `Sync` (one implicit transaction, unless inside one already), and"]
        #[doc = "returns the rows affected in all. The rows are written in chunks of"]
        #[doc = "about 64 KiB while their answers are read, so memory stays flat for a"]
        #[doc = "million rows, and the session serves nobody else meanwhile."]
        #[doc = ""]
        #[doc = "All or nothing: if row `k` fails (on the server, or a value that cannot"]
        #[doc = "be encoded), the call is `Err(`[`Error::Batch`](crate::Error::Batch)"]
        #[doc = "`{ statement: Some(k), .. })` and no row stands; so it is if the commit at"]
        #[doc = "the end fails (`statement: None`). Inside a transaction, such an error"]
        #[doc = "fails the transaction, as a failing statement does."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "let rows: Vec<(i32, String)> = (0..100_000).map(|i| (i, format!(\"item {i}\"))).collect();"]
        #[doc = "let n = db.execute_many(\"insert into items (id, name) values ($1, $2)\", &rows).await?;"]
        #[doc = "assert_eq!(n, 100_000);"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn execute_many<'q, I>(
            &self,
            query: impl Into<$crate::Query<'q>>,
            rows: I,
        ) -> $crate::Result<u64>
        where
            I: IntoIterator,
            I::Item: $crate::Params + Sync,
        {
            self.via().execute_many(query.into(), rows).await
        }

        #[doc = "Sends every statement of `pipeline` at once and returns their results"]
        #[doc = "as they arrive, in order (see [`Pipeline`](crate::Pipeline) and"]
        #[doc = "[`PipelineResults`](crate::PipelineResults)). The statements are written in"]
        #[doc = "as few writes as the socket takes, while their answers are read."]
        pub async fn pipeline(
            &self,
            pipeline: &$crate::Pipeline<'_>,
        ) -> $crate::Result<$crate::PipelineResults<'_, S>> {
            self.via().pipeline(pipeline).await
        }

        #[doc = "Runs `pipeline` and returns every statement's result, in order. With"]
        #[doc = "[`PipelineSync::PerStatement`](crate::PipelineSync::PerStatement) each"]
        #[doc = "statement's `Err` is its own; with [`PipelineSync::Once`](crate::PipelineSync::Once)"]
        #[doc = "the call is `Err(`[`Error::Batch`](crate::Error::Batch)`)` unless the whole"]
        #[doc = "batch committed."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "let mut pipeline = pgwire_conn::Pipeline::new();"]
        #[doc = "pipeline.push(\"select $1::int4 + 1\", (1i32,)).push(\"select $1::text\", (\"two\",));"]
        #[doc = "let results = db.run_pipeline(&pipeline).await?;"]
        #[doc = "assert_eq!(results[0].as_ref().unwrap().rows[0].try_get::<i32>(0)?, 2);"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn run_pipeline(
            &self,
            pipeline: &$crate::Pipeline<'_>,
        ) -> $crate::Result<Vec<$crate::Result<$crate::StatementResult>>> {
            self.via().run_pipeline(pipeline).await
        }


        #[doc = "Runs `sql` (one or more statements separated by `;`) over the simple"]
        #[doc = "protocol and returns each statement's result, in order. The first"]
        #[doc = "error ends the batch and is returned once the server is ready again."]
        #[doc = ""]
        #[doc = "The simple protocol has no parameters: never build `sql` from"]
        #[doc = "untrusted input; use `fetch` with parameters instead."]
        pub async fn simple_query(
            &self,
            sql: &str,
        ) -> $crate::Result<Vec<$crate::StatementResult>> {
            self.via().simple_query(sql).await
        }

        #[doc = "Prepares `sql` on the server as statement `name`, learning its"]
        #[doc = "parameter types and columns. Use the returned info with `fetch`,"]
        #[doc = "`query`, `execute` and the rest, with positional parameters. A name"]
        #[doc = "already in use is a recoverable 42P05 error."]
        pub async fn create_prepared_statement(
            &self,
            name: &str,
            sql: &str,
        ) -> $crate::Result<$crate::PreparedStatementInfo> {
            self.via().create_prepared_statement(name, sql).await
        }

        #[doc = "Starts `sql`, a `COPY ... FROM STDIN`, and returns the writer that"]
        #[doc = "feeds it ([`CopyIn`](crate::CopyIn): `send`, `AsyncWrite`, `finish`, `abort`;"]
        #[doc = "for typed binary rows, [`BinaryCopyInWriter`](crate::BinaryCopyInWriter))."]
        #[doc = "Until it ends the COPY has the connection to itself: requests sent"]
        #[doc = "before it are answered first, other tasks' requests wait. Anything but"]
        #[doc = "one COPY FROM STDIN statement is [`Error::InvalidInput`](crate::Error::InvalidInput)"]
        #[doc = "before anything is sent; a COPY the server refuses to start is its error."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "db.execute(\"create temp table t (id int, name text)\", ()).await?;"]
        #[doc = "let mut copy = db.copy_in(\"copy t from stdin\").await?;"]
        #[doc = "copy.send(b\"1\\tone\\n2\\ttwo\\n\").await?;"]
        #[doc = "assert_eq!(copy.finish().await?, 2);"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn copy_in(&self, sql: &str) -> $crate::Result<$crate::CopyIn<'_, S>> {
            self.via().copy_in(sql).await
        }

        #[doc = "Starts `sql`, a `COPY ... TO STDOUT`, and returns its data as a"]
        #[doc = "stream of chunks read as it is polled ([`CopyOut`](crate::CopyOut); for"]
        #[doc = "typed binary rows, [`BinaryCopyOutStream`](crate::BinaryCopyOutStream))."]
        #[doc = "A COPY FROM STDIN is [`Error::InvalidInput`](crate::Error::InvalidInput)"]
        #[doc = "before anything is sent."]
        #[doc = ""]
        #[doc = "```no_run"]
        #[doc = $demo]
        #[doc = $setup]
        #[doc = "use futures_util::TryStreamExt;"]
        #[doc = "let out = db.copy_out(\"copy (select 1, 'x') to stdout (format csv)\").await?;"]
        #[doc = "let chunks: Vec<_> = out.try_collect().await?;"]
        #[doc = "assert_eq!(&chunks[0][..], b\"1,x\\n\");"]
        #[doc = "# Ok(()) }"]
        #[doc = "```"]
        pub async fn copy_out(&self, sql: &str) -> $crate::Result<$crate::CopyOut<'_, S>> {
            self.via().copy_out(sql).await
        }

        #[doc = "Closes a prepared statement on the server. Closing one that does not"]
        #[doc = "exist is not an error (as in PostgreSQL)."]
        pub async fn close_prepared_statement(
            &self,
            statement: &$crate::PreparedStatementInfo,
        ) -> $crate::Result<()> {
            self.via().close_prepared_statement(statement).await
        }
    };
}

pub(crate) use query_methods;
