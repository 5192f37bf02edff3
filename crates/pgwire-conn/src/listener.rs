//! A [`Listener`]: a connection of its own for LISTEN, which reconnects
//! after the connection is lost, LISTENs again, and says that
//! notifications may have been missed meanwhile.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::StreamExt;
use pgwire_proto::Notification;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::open::Connector;
use crate::options::ConnectOptions;
use crate::reconnect::{is_transient, next_pause};
use crate::timeout::RuntimeHooks;

/// What a [`Listener`] receives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenerEvent {
    /// A notification on one of the channels listened to.
    Notification(Notification),
    /// The connection was lost and opened again, with every channel
    /// listened to again: notifications sent meanwhile were missed (as
    /// sqlx's users asked to be told). Re-read whatever state the
    /// notifications stand for.
    Reconnected,
    /// `count` notifications were dropped because more than 10,000 were
    /// waiting unread (see [`Connection::notifications`]).
    Missed {
        /// How many.
        count: u64,
    },
}

/// A connection of its own for LISTEN/NOTIFY that survives losing it:
/// [`recv`](Self::recv) reconnects with backoff (50 ms doubling to 5 s),
/// issues every LISTEN again, and yields [`ListenerEvent::Reconnected`]
/// before the notifications that follow. Open one with the adapter's
/// `open_listener`, or from a pool ([`Pool::listener`](crate::Pool::listener)).
///
/// ```no_run
/// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static>(mut listener: pgwire_conn::Listener<S>) -> pgwire_conn::Result<()> {
/// use pgwire_conn::ListenerEvent;
/// listener.listen("orders").await?;
/// loop {
///     match listener.recv().await? {
///         ListenerEvent::Notification(n) => println!("order {}", n.payload),
///         ListenerEvent::Reconnected => println!("reconnected: re-read the orders"),
///         ListenerEvent::Missed { count } => println!("{count} notifications missed"),
///         _ => {}
///     }
/// }
/// # }
/// ```
pub struct Listener<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    connect: Arc<ConnectOptions>,
    connector: Connector<S>,
    hooks: Arc<dyn RuntimeHooks>,
    conn: Option<Connection<S>>,
    channels: BTreeSet<String>,
    backoff: Duration,
}

impl<S> std::fmt::Debug for Listener<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("channels", &self.channels)
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> Listener<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Opens the listener's connection with `connector` (its first error,
    /// a wrong password say, is this call's) and the runtime's `hooks`
    /// (the timer for the backoff): what the adapters' `open_listener`
    /// calls.
    pub async fn open(
        connect: ConnectOptions,
        connector: Connector<S>,
        hooks: Arc<dyn RuntimeHooks>,
    ) -> Result<Self> {
        let connect = Arc::new(connect);
        let conn = connector(Arc::clone(&connect)).await?;
        Ok(Listener {
            connect,
            connector,
            hooks,
            conn: Some(conn),
            channels: BTreeSet::new(),
            backoff: Duration::ZERO,
        })
    }

    /// Listens on `channel` (the exact name) from now on, and again after
    /// every reconnect.
    pub async fn listen(&mut self, channel: &str) -> Result<()> {
        self.channels.insert(channel.to_owned());
        if let Some(conn) = &self.conn {
            if let Err(e) = conn.listen(channel).await {
                if e.is_recoverable() {
                    self.channels.remove(channel);
                    return Err(e);
                }
                // The connection is gone: the next `recv` reconnects and
                // listens on it then.
                self.conn = None;
            }
        }
        Ok(())
    }

    /// Stops listening on `channel`.
    pub async fn unlisten(&mut self, channel: &str) -> Result<()> {
        self.channels.remove(channel);
        if let Some(conn) = &self.conn {
            if let Err(e) = conn.unlisten(channel).await {
                if e.is_recoverable() {
                    return Err(e);
                }
                self.conn = None;
            }
        }
        Ok(())
    }

    /// The channels listened to.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(String::as_str)
    }

    /// The connection, while there is one (for its backend key, or to
    /// send a `notify`).
    pub fn connection(&self) -> Option<&Connection<S>> {
        self.conn.as_ref()
    }

    /// The next notification, or news of a reconnect. Waits for as long as
    /// it takes (wrap it in a timeout to bound it; dropping it loses
    /// nothing). Reconnects by itself after the connection is lost; fails
    /// only where reconnecting cannot heal (a wrong password, a bad
    /// option), and then the next call tries again.
    pub async fn recv(&mut self) -> Result<ListenerEvent> {
        loop {
            let Some(conn) = &self.conn else {
                self.reconnect().await?;
                return Ok(ListenerEvent::Reconnected);
            };
            let next = conn.notifications().next().await;
            match next {
                Some(Ok(n)) => return Ok(ListenerEvent::Notification(n)),
                Some(Err(Error::NotificationsDropped { count })) => {
                    return Ok(ListenerEvent::Missed { count })
                }
                Some(Err(e)) if e.is_recoverable() => return Err(e),
                // Lost (or closed): reconnect.
                Some(Err(_)) | None => self.conn = None,
            }
        }
    }

    /// Opens a connection and listens on every channel, pausing between
    /// failed attempts; returns the error of an attempt that cannot heal.
    async fn reconnect(&mut self) -> Result<()> {
        loop {
            if !self.backoff.is_zero() {
                self.hooks.sleep(self.backoff).await;
            }
            self.backoff = next_pause(self.backoff);
            let conn = match (self.connector)(Arc::clone(&self.connect)).await {
                Ok(conn) => conn,
                Err(e) if is_transient(&e) => continue,
                Err(e) => return Err(e),
            };
            let mut listened = Ok(());
            for channel in &self.channels {
                listened = conn.listen(channel).await;
                if listened.is_err() {
                    break;
                }
            }
            match listened {
                Ok(()) => {
                    self.conn = Some(conn);
                    self.backoff = Duration::ZERO;
                    return Ok(());
                }
                Err(e) if !e.is_recoverable() => continue,
                Err(e) => return Err(e),
            }
        }
    }
}
