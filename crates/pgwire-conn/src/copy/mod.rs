//! COPY: [`CopyIn`] feeds a `COPY ... FROM STDIN`, [`CopyOut`] streams a
//! `COPY ... TO STDOUT`, and the binary variants ([`BinaryCopyInWriter`],
//! [`BinaryCopyOutStream`]) write and read typed rows in PostgreSQL's binary
//! COPY format.
//!
//! A COPY FROM STDIN takes the connection for itself: while it runs, the
//! server reads everything that arrives as COPY data, so nothing else may
//! be sent. Outside a transaction it reserves the session as a transaction
//! does (requests sent before it are answered first, everyone else's wait
//! until it ends); inside one it runs under the transaction's reservation.
//! A COPY TO STDOUT needs no reservation: the server reads nothing while it
//! sends the data, and later requests are answered after it in order.

mod binary;
mod copy_in;
mod copy_out;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::TryStreamExt;
use pgwire_proto::params::copies_from_stdin;
use pgwire_proto::Event;

pub use binary::{BinaryCopyInWriter, BinaryCopyOutRow, BinaryCopyOutStream};
pub use copy_in::CopyIn;
#[cfg(test)]
pub(crate) use copy_in::CHUNK;
pub use copy_out::CopyOut;

use crate::error::{Error, Result};
use crate::query::Via;
use crate::session::owed::Owed;
use crate::session::{current_waker, Reading};
use crate::stream::EventStream;

/// The reason sent in the CopyFail of a writer dropped unfinished.
const DROPPED: &str = "the COPY writer was dropped before finish()";

/// Refuses what `copy_in` cannot run: anything but one `COPY ... FROM
/// STDIN` statement. Checked before anything is sent.
fn check_copy_in_sql(sql: &str) -> Result<()> {
    if !copies_from_stdin(sql) {
        return Err(Error::InvalidInput(
            "copy_in takes a COPY ... FROM STDIN statement; nothing was sent".into(),
        ));
    }
    if pgwire_proto::params::has_several_statements(sql) {
        return Err(Error::InvalidInput(
            "copy_in takes one COPY ... FROM STDIN statement alone; nothing was sent".into(),
        ));
    }
    Ok(())
}

/// Refuses a COPY FROM STDIN given to `copy_out`: the server would wait
/// for data, and read the requests behind it as such.
fn check_copy_out_sql(sql: &str) -> Result<()> {
    if copies_from_stdin(sql) {
        return Err(Error::InvalidInput(
            "copy_out takes a COPY ... TO STDOUT statement, not a COPY FROM STDIN; use copy_in; \
             nothing was sent"
                .into(),
        ));
    }
    Ok(())
}

impl<'c, S> Via<'c, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// See [`Connection::copy_in`](crate::Connection::copy_in).
    pub(crate) async fn copy_in(&self, sql: &str) -> Result<CopyIn<'c, S>> {
        check_copy_in_sql(sql)?;
        let session = self.session;
        let waker = current_waker().await;
        let (mut locked, fence) = session.lock_for(self.reservation, &waker, None).await?;
        let first = locked.machine.next_request_id().0;
        locked.machine.copy_query(sql)?;
        // Outside a transaction the COPY reserves the session for itself.
        let reservation = self
            .reservation
            .is_none()
            .then(|| session.shared.book.reserve(&waker));
        // From here on, dropped means: CopyFail owed, reservation released.
        let mut starting =
            copy_in::Ending::new(session, reservation, Owed::CopyFail(DROPPED.into()));
        let reading = Reading {
            fence,
            ..Default::default()
        };
        let answer = session.answer(locked, first, &waker, reading).await?;
        let mut events = EventStream::new(answer);
        let mut error = None;
        let mut ran = false;
        loop {
            match events.try_next().await? {
                Some(Event::CopyInResponse(response)) => {
                    return Ok(CopyIn::new(starting, events, response, first));
                }
                Some(Event::Error(e)) => error = Some(e),
                Some(Event::CommandComplete(_) | Event::Row(_) | Event::EmptyQuery) => ran = true,
                Some(_) => {}
                None => break,
            }
        }
        starting.ended();
        match error {
            Some(e) => Err(Error::Database(e)),
            None => Err(Error::InvalidInput(format!(
                "copy_in: the server ran the statement without asking for COPY data{}",
                if ran { "" } else { " (it answered nothing)" }
            ))),
        }
    }

    /// See [`Connection::copy_out`](crate::Connection::copy_out).
    pub(crate) async fn copy_out(&self, sql: &str) -> Result<CopyOut<'c, S>> {
        check_copy_out_sql(sql)?;
        let session = self.session;
        let waker = current_waker().await;
        let (mut locked, fence) = session.lock_for(self.reservation, &waker, None).await?;
        let first = locked.machine.next_request_id().0;
        locked.machine.simple_query(sql)?;
        let reading = Reading {
            fence,
            // Like a query: dropped while it runs, it may be cancelled by
            // the next request (never inside a transaction).
            cancel_on_drop: self.reservation.is_none(),
            ..Default::default()
        };
        let answer = session.answer(locked, first, &waker, reading).await?;
        CopyOut::start(answer).await
    }
}
