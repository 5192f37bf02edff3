//! Portals resumed batch by batch inside a transaction: the protocol-level
//! cursor behind `max_rows`.

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::message::frontend::Target;
use pgwire_proto::{Event, Row, RowDescription};

use crate::error::{Error, Result};
use crate::params::Params;
use crate::query::{expect_success, Via};
use crate::session::owed::Owed;
use crate::statement::Query;
use crate::stream::{EventStream, RowStream};
use crate::transaction::Transaction;

/// A bound query whose rows are fetched in batches. It lives inside its
/// transaction (the server drops portals when the transaction ends), which
/// it borrows.
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
pub struct Portal<'t, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    via: Via<'t, S>,
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

impl<S> Transaction<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Binds `query` to a new portal in this transaction, without running
    /// it yet.
    pub async fn open_portal<'q>(
        &self,
        query: impl Into<Query<'q>>,
        params: impl Params + Sync,
    ) -> Result<Portal<'_, S>> {
        let via = self.via();
        let mut portal = Portal {
            via,
            name: format!("pgwire_portal_{}", via.session.shared.status.next_name()),
            description: None,
            exhausted: false,
            // Marked open first: if this future is dropped mid-send, the
            // portal may exist on the server and the drop closes it.
            closed: false,
        };
        let (answer, preset) = via
            .send_query(query.into(), &params, &portal.name, None, true, None)
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
        let name = &self.name;
        let events = self
            .via
            .request(|inner, _, _| {
                let queued = inner.machine.execute_portal(name, max_rows, description);
                Ok(queued.map(drop)?)
            })
            .await?;
        let mut rows = RowStream::from_events(events);
        let mut batch = Vec::new();
        while let Some(row) = rows.try_next().await? {
            batch.push(row);
        }
        if !rows.suspended() {
            self.exhausted = true;
        }
        pgwire_proto::compact_rows(&mut batch);
        Ok(batch)
    }

    /// Closes the portal, freeing its resources on the server.
    pub async fn close(mut self) -> Result<()> {
        // Marked closed once queued: dropped later, nothing is owed.
        let (via, name) = (self.via, self.name.clone());
        let closed = &mut self.closed;
        let mut events = via
            .request(|inner, _, _| {
                inner.machine.close(Target::Portal, &name)?;
                *closed = true;
                Ok(())
            })
            .await?;
        expect_success(&mut events).await
    }
}

impl<S> Drop for Portal<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn drop(&mut self) {
        if !self.closed {
            let session = self.via.session;
            session
                .shared
                .book
                .owe(Owed::ClosePortal(std::mem::take(&mut self.name)));
            drop(session.try_lock());
        }
    }
}
