//! Portals resumed batch by batch inside a transaction: the protocol-level
//! cursor behind `max_rows`.

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::message::frontend::Target;
use pgwire_proto::{Event, Row, RowDescription};

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::statement::Query;
use crate::status::Owed;
use crate::stream::{EventStream, RowStream};
use crate::transaction::expect_success;

/// A bound query whose rows are fetched in batches. It lives inside the
/// current transaction (the server drops portals when it ends).
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
/// let tx = conn.begin().await?;
/// let mut portal = tx.open_portal("select * from generate_series(1, 10000)", ()).await?;
/// loop {
///     let batch = portal.fetch(1000).await?;
///     if batch.is_empty() { break; }
///     // ... process up to 1000 rows ...
/// }
/// portal.close().await?;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub struct Portal<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    conn: &'c Connection<S>,
    name: String,
    description: Option<Arc<RowDescription>>,
    exhausted: bool,
    closed: bool,
}

impl<S> std::fmt::Debug for Portal<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("name", &self.name)
            .field("exhausted", &self.exhausted)
            .finish()
    }
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Binds `query` to a new portal without running it yet. Only inside a
    /// transaction: outside one, the server would drop the portal at once.
    pub async fn open_portal<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Portal<'_, S>> {
        if !self.in_transaction() {
            return Err(Error::InvalidInput(
                "a portal lives only inside a transaction: call begin() first".into(),
            ));
        }
        let mut portal = Portal {
            conn: self,
            name: format!("pgwire_portal_{}", self.status().next_name()),
            description: None,
            exhausted: false,
            closed: true,
        };
        // Marked open first: if this future is dropped mid-send, the portal
        // may exist on the server and the drop closes it.
        portal.closed = false;
        let (answer, preset) = self
            .send_query(query.into(), &params, &portal.name, None, true)
            .await?;
        portal.description = preset;
        let mut events = EventStream::new(answer);
        let mut error = None;
        while let Some(event) = events.try_next().await? {
            match event {
                Event::RowDescription(d) => portal.description = Some(d),
                Event::NoData => portal.exhausted = true,
                Event::Error(e) => {
                    error.get_or_insert(Error::Database(e));
                }
                _ => {}
            }
        }
        match error {
            Some(e) => {
                portal.closed = true;
                Err(e)
            }
            None => Ok(portal),
        }
    }
}

impl<S> Portal<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The portal's columns (`None` for a statement without rows).
    pub fn description(&self) -> Option<&Arc<RowDescription>> {
        self.description.as_ref()
    }

    /// True once every row was fetched.
    pub fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// Fetches up to `max_rows` more rows (0: all the rest). An empty batch
    /// means the portal is exhausted.
    pub async fn fetch(&mut self, max_rows: u32) -> Result<Vec<Row>> {
        let Some(description) = self.description.clone().filter(|_| !self.exhausted) else {
            return Ok(Vec::new());
        };
        let mut inner = self.conn.lock().await?;
        let first = inner.machine.next_request_id();
        inner
            .machine
            .execute_portal(&self.name, max_rows, description)?;
        let mut rows = RowStream::new(self.conn.answer(inner, first).await?);
        let mut batch = Vec::new();
        while let Some(row) = rows.try_next().await? {
            batch.push(row);
        }
        if !rows.suspended() {
            self.exhausted = true;
        }
        Ok(batch)
    }

    /// Closes the portal, freeing its resources on the server.
    pub async fn close(mut self) -> Result<()> {
        let mut inner = self.conn.lock().await?;
        let first = inner.machine.next_request_id();
        inner.machine.close(Target::Portal, &self.name)?;
        self.closed = true;
        expect_success(EventStream::new(self.conn.answer(inner, first).await?)).await
    }
}

impl<S> Drop for Portal<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn drop(&mut self) {
        if !self.closed {
            self.conn
                .status()
                .owe(Owed::ClosePortal(std::mem::take(&mut self.name)));
        }
    }
}
