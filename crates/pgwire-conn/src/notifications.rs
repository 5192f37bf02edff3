//! LISTEN / NOTIFY on a connection: `listen`, `unlisten`, `notify`, and the
//! [`Notifications`] stream, which delivers notifications as they arrive,
//! also while the connection is otherwise idle.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::Stream;
use pgwire_proto::Notification;

use crate::connection::Connection;
use crate::error::Result;

/// `name` as a quoted SQL identifier: any text is a valid channel name,
/// and none can end the statement.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// `LISTEN` on `channel` (the exact name, quoted: `"Orders"` and
    /// `orders` are two channels, as for `pg_notify`). Notifications then
    /// arrive on [`notifications`](Self::notifications) (or
    /// [`take_notifications`](Self::take_notifications)).
    pub async fn listen(&self, channel: &str) -> Result<()> {
        self.simple_query(&format!("LISTEN {}", quote_identifier(channel)))
            .await
            .map(drop)
    }

    /// `UNLISTEN` `channel`.
    pub async fn unlisten(&self, channel: &str) -> Result<()> {
        self.simple_query(&format!("UNLISTEN {}", quote_identifier(channel)))
            .await
            .map(drop)
    }

    /// `UNLISTEN *`: stops listening on every channel.
    pub async fn unlisten_all(&self) -> Result<()> {
        self.simple_query("UNLISTEN *").await.map(drop)
    }

    /// Sends a notification on `channel` with `payload` (`pg_notify`, with
    /// both as parameters). Inside a transaction it is delivered at commit.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        self.execute("select pg_notify($1, $2)", (channel, payload))
            .await
            .map(drop)
    }

    /// The notifications this connection receives, as a stream that waits
    /// for them: while the connection is idle, polling the stream reads
    /// the socket (no background task); while other tasks run queries on
    /// it, their reads queue the notifications they meet and wake the
    /// stream. They come in the order the server sent them.
    ///
    /// At most 10,000 wait in the connection's queue for a reader; past
    /// that the oldest are dropped and the stream yields
    /// [`Error::NotificationsDropped`](crate::Error::NotificationsDropped)
    /// with their count before the next one, never losing them silently.
    /// A stream that is read keeps up: it reads the socket only when the
    /// queue is empty. The stream ends after the connection dies (its last
    /// item is the error) or is closed.
    ///
    /// ```no_run
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
    /// use futures_util::TryStreamExt;
    /// conn.listen("orders").await?;
    /// let mut notifications = conn.notifications();
    /// while let Some(n) = notifications.try_next().await? {
    ///     println!("{}: {}", n.channel, n.payload);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn notifications(&self) -> Notifications<'_, S> {
        Notifications {
            conn: self,
            ended: false,
        }
    }
}

/// The stream of [`Connection::notifications`].
pub struct Notifications<'c, S> {
    conn: &'c Connection<S>,
    ended: bool,
}

impl<S> std::fmt::Debug for Notifications<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<S> Stream for Notifications<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Notification>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        let session = &this.conn.session;
        let status = &session.shared.status;
        loop {
            if let Some(item) = status.pop_notification() {
                return Poll::Ready(Some(item));
            }
            // Registered, then looked at again: a notification queued (or
            // the session falling idle) from here on wakes us, and one
            // queued just before is seen now.
            status.register_listener(cx.waker());
            if let Some(item) = status.pop_notification() {
                return Poll::Ready(Some(item));
            }
            if status.closed() {
                this.ended = true;
                return Poll::Ready(None);
            }
            if !status.ready() && !status.dead() {
                // Answers are on their way to other tasks: they read them,
                // and the notifications among them.
                return Poll::Pending;
            }
            match session.poll_idle_read(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(true)) => {}
                Poll::Ready(Ok(false)) => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    this.ended = true;
                    // Notifications read before the end still come first.
                    if let Some(item) = status.pop_notification() {
                        this.ended = false;
                        return Poll::Ready(Some(item));
                    }
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quote_identifier;

    #[test]
    fn channel_names_are_quoted_whole() {
        assert_eq!(quote_identifier("orders"), "\"orders\"");
        assert_eq!(quote_identifier("Or\"ders; drop"), "\"Or\"\"ders; drop\"");
    }
}
