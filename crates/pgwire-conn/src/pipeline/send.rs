//! Sending a pipeline: its statements queued under the connection's lock
//! in one go, then written in as few writes as the socket takes while the
//! answers are read (the reader of the answer also flushes what is left).

use std::task::Waker;

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::TransactionStatus;

use super::{Pipeline, PipelineResults, PipelineSync};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::query::Via;
use crate::session::{current_waker, Fence, Inner, Locked, Reading};
use crate::stream::EventStream;
use crate::timeout::Deadline;

impl<'c, S> Via<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// See [`Connection::pipeline`](crate::Connection::pipeline).
    pub(crate) async fn pipeline(&self, pipeline: &Pipeline<'_>) -> Result<PipelineResults<'c, S>> {
        let mut deadline = self.deadline(pipeline.timeout)?;
        let session = self.session;
        let total = pipeline.members.len();
        if total == 0 {
            return Ok(PipelineResults::empty(session, pipeline.sync, deadline));
        }
        let members = || {
            let members = pipeline.members.iter();
            members.map(|m| (m.query, &*m.params as &(dyn Params + Sync)))
        };
        let waker = current_waker().await;
        let (mut locked, fence) = self
            .lock_prepared(
                |inner| inner.member_misses(members()),
                &waker,
                &mut deadline,
            )
            .await?;
        let first = locked.machine.next_request_id().0;
        let mark = locked.machine.queue_mark();
        let once = pipeline.sync == PipelineSync::Once;
        let queued = (|| {
            if once {
                locked.machine.begin_batch()?;
            }
            for (index, member) in pipeline.members.iter().enumerate() {
                locked
                    .queue_member(member.query, &*member.params)
                    .map_err(|source| Error::Batch {
                        statement: Some(index),
                        source: Box::new(source),
                    })?;
            }
            if once {
                locked.machine.end_batch()?;
            }
            Ok::<_, Error>(())
        })();
        if let Err(e) = queued {
            // Nothing of the pipeline may go out: its first statements
            // would run while the caller hears only of the failure.
            locked.unrecord_hits_from(first);
            if let Err(stuck) = locked.machine.unqueue_to(mark) {
                return Err(locked.fail(Error::Dead(format!(
                    "a pipeline failed to queue ({e}) and could not be taken back: {stuck}"
                ))));
            }
            return Err(e);
        }
        let reading = Reading {
            preparing: None,
            deadline,
            fence,
            cancel_on_drop: self.reservation.is_none(),
            every_ready: !once,
        };
        let answer = session.answer(locked, first, &waker, reading).await?;
        let commits = (pipeline.members.iter().enumerate())
            .filter(|(_, m)| super::is_commit(m.query))
            .map(|(i, _)| i)
            .collect();
        Ok(PipelineResults::new(
            EventStream::new(answer),
            pipeline.sync,
            total,
            commits,
        ))
    }

    /// See [`Connection::run_pipeline`](crate::Connection::run_pipeline).
    pub(crate) async fn run_pipeline(
        &self,
        pipeline: &Pipeline<'_>,
    ) -> Result<Vec<Result<crate::StatementResult>>> {
        // Named by its first statement.
        let first = pipeline.members.first().map_or("", |m| m.query.text());
        let watch = crate::observe::Watch::start(&self.session.shared.status, "pipeline", first);
        let ran = match self.pipeline(pipeline).await {
            Ok(results) => results.collect().await,
            Err(e) => Err(e),
        };
        watch.finish(first, &ran, |results| results.len() as u64);
        ran
    }

    /// Takes the connection's lock to queue a pipeline, after preparing,
    /// one round trip each, the statements that `misses` finds the cache
    /// lacks (see [`Inner::member_misses`]), so that the pipeline binds them
    /// by name. In the usual case nothing is missing and the lock is taken
    /// once. Only outside a transaction: there a failed preparation has no
    /// effect, and the statement that cannot be prepared reports its error
    /// in the pipeline.
    pub(crate) async fn lock_prepared(
        &self,
        misses: impl FnOnce(&mut Inner<S>) -> Vec<(String, Vec<pgwire_proto::Oid>)>,
        waker: &Waker,
        deadline: &mut Option<Deadline>,
    ) -> Result<(Locked<'c, S>, Option<Fence>)> {
        let session = self.session;
        let (mut locked, fence) = session
            .lock_for(self.reservation, waker, deadline.as_mut())
            .await?;
        if self.reservation.is_some()
            || locked.machine.transaction_status() != TransactionStatus::Idle
        {
            return Ok((locked, fence));
        }
        let misses = misses(&mut locked);
        if misses.is_empty() {
            return Ok((locked, fence));
        }
        drop(locked);
        for (sql, declared) in misses {
            match self.prepare_cached(&sql, declared, deadline).await {
                Ok(()) => {}
                // Its own run in the pipeline fails the same way, in its place.
                Err(Error::Database(e)) if e.is_recoverable() => {}
                Err(e) => return Err(e),
            }
        }
        // A statement evicted meanwhile by another task is no error: the
        // pipeline parses it in place.
        session
            .lock_for(self.reservation, waker, deadline.as_mut())
            .await
    }
}
