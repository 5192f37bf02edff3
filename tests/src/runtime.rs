//! The three runtimes behind one trait, so test bodies are written once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_conn::{ConnectOptions, Connection, Result};

/// What a test needs from a runtime.
pub trait Runtime: 'static {
    /// The adapter's stream type.
    type Socket: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Runs a future to completion.
    fn block_on<F: Future>(f: F) -> F::Output;

    /// The adapter's `open_database_connection`.
    fn open(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<Connection<Self::Socket>>> + Send;

    /// Spawns a task; the returned future yields its output.
    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Sleeps.
    fn sleep(d: std::time::Duration) -> impl Future<Output = ()> + Send;

    /// The adapter's `cancel_query`.
    fn cancel(token: &pgwire_conn::CancelToken) -> impl Future<Output = Result<()>>;

    /// The transport tests connect over by default.
    fn transport() -> crate::Transport {
        crate::Transport::Tcp
    }

    /// The runtime's plain TCP stream, for tests over a stream of their own.
    type Tcp: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens a plain TCP stream (`TCP_NODELAY` set).
    fn tcp(host: &str, port: u16) -> impl Future<Output = std::io::Result<Self::Tcp>>;

    /// The adapter's runtime hooks (timer and cancel requests).
    fn hooks() -> std::sync::Arc<dyn pgwire_conn::RuntimeHooks>;

    /// The adapter's `open_pool`.
    fn open_pool(
        options: &ConnectOptions,
        pool: pgwire_conn::PoolOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Pool<Self::Socket>>>;

    /// The adapter's `open_listener`.
    fn open_listener(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Listener<Self::Socket>>>;
}

/// Runtime `R`, with tests connecting over transport `T`.
#[derive(Debug)]
pub struct Over<R, T>(std::marker::PhantomData<(R, T)>);

/// Marker types naming a transport at the type level.
pub trait TransportMarker: 'static {
    /// The transport.
    const TRANSPORT: crate::Transport;
}

/// TCP.
#[derive(Debug)]
pub struct Tcp;
/// Unix socket.
#[derive(Debug)]
pub struct Unix;
/// TLS over TCP (verify-full against the cluster's CA).
#[derive(Debug)]
pub struct Tls;

impl TransportMarker for Tcp {
    const TRANSPORT: crate::Transport = crate::Transport::Tcp;
}
impl TransportMarker for Unix {
    const TRANSPORT: crate::Transport = crate::Transport::Unix;
}
impl TransportMarker for Tls {
    const TRANSPORT: crate::Transport = crate::Transport::Tls;
}

impl<R: Runtime, T: TransportMarker> Runtime for Over<R, T> {
    type Socket = R::Socket;

    fn block_on<F: Future>(f: F) -> F::Output {
        R::block_on(f)
    }

    fn open(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<Connection<Self::Socket>>> + Send {
        R::open(options)
    }

    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        R::spawn(f)
    }

    fn sleep(d: std::time::Duration) -> impl Future<Output = ()> + Send {
        R::sleep(d)
    }

    fn cancel(token: &pgwire_conn::CancelToken) -> impl Future<Output = Result<()>> {
        R::cancel(token)
    }

    fn transport() -> crate::Transport {
        T::TRANSPORT
    }

    type Tcp = R::Tcp;

    fn tcp(host: &str, port: u16) -> impl Future<Output = std::io::Result<Self::Tcp>> {
        R::tcp(host, port)
    }

    fn hooks() -> std::sync::Arc<dyn pgwire_conn::RuntimeHooks> {
        R::hooks()
    }

    fn open_pool(
        options: &ConnectOptions,
        pool: pgwire_conn::PoolOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Pool<Self::Socket>>> {
        R::open_pool(options, pool)
    }

    fn open_listener(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Listener<Self::Socket>>> {
        R::open_listener(options)
    }
}

/// tokio (multi-threaded, two workers).
#[derive(Debug)]
pub struct Tokio;

impl Runtime for Tokio {
    type Socket = pgwire_tokio::TokioStream;

    fn block_on<F: Future>(f: F) -> F::Output {
        match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(f),
            Err(e) => panic!("tokio runtime: {e}"),
        }
    }

    fn open(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<Connection<Self::Socket>>> + Send {
        pgwire_tokio::open_database_connection(options)
    }

    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = tokio::spawn(f);
        async move {
            match handle.await {
                Ok(v) => v,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    fn sleep(d: std::time::Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }

    fn cancel(token: &pgwire_conn::CancelToken) -> impl Future<Output = Result<()>> {
        pgwire_tokio::cancel_query(token)
    }

    type Tcp = tokio_util::compat::Compat<tokio::net::TcpStream>;

    async fn tcp(host: &str, port: u16) -> std::io::Result<Self::Tcp> {
        use tokio_util::compat::TokioAsyncReadCompatExt;
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream.compat())
    }

    fn hooks() -> std::sync::Arc<dyn pgwire_conn::RuntimeHooks> {
        pgwire_tokio::hooks()
    }

    fn open_pool(
        options: &ConnectOptions,
        pool: pgwire_conn::PoolOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Pool<Self::Socket>>> {
        pgwire_tokio::open_pool(options, pool)
    }

    fn open_listener(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Listener<Self::Socket>>> {
        pgwire_tokio::open_listener(options)
    }
}

/// smol.
#[derive(Debug)]
pub struct Smol;

impl Runtime for Smol {
    type Socket = pgwire_smol::SmolStream;

    fn block_on<F: Future>(f: F) -> F::Output {
        smol::block_on(f)
    }

    fn open(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<Connection<Self::Socket>>> + Send {
        pgwire_smol::open_database_connection(options)
    }

    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        smol::spawn(f)
    }

    async fn sleep(d: std::time::Duration) {
        smol::Timer::after(d).await;
    }

    fn cancel(token: &pgwire_conn::CancelToken) -> impl Future<Output = Result<()>> {
        pgwire_smol::cancel_query(token)
    }

    type Tcp = smol::net::TcpStream;

    async fn tcp(host: &str, port: u16) -> std::io::Result<Self::Tcp> {
        let stream = smol::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn hooks() -> std::sync::Arc<dyn pgwire_conn::RuntimeHooks> {
        pgwire_smol::hooks()
    }

    fn open_pool(
        options: &ConnectOptions,
        pool: pgwire_conn::PoolOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Pool<Self::Socket>>> {
        pgwire_smol::open_pool(options, pool)
    }

    fn open_listener(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Listener<Self::Socket>>> {
        pgwire_smol::open_listener(options)
    }
}

/// async-std.
#[derive(Debug)]
pub struct AsyncStd;

impl Runtime for AsyncStd {
    type Socket = pgwire_async_std::AsyncStdStream;

    fn block_on<F: Future>(f: F) -> F::Output {
        async_std::task::block_on(f)
    }

    fn open(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<Connection<Self::Socket>>> + Send {
        pgwire_async_std::open_database_connection(options)
    }

    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        async_std::task::spawn(f)
    }

    fn sleep(d: std::time::Duration) -> impl Future<Output = ()> + Send {
        async_std::task::sleep(d)
    }

    fn cancel(token: &pgwire_conn::CancelToken) -> impl Future<Output = Result<()>> {
        pgwire_async_std::cancel_query(token)
    }

    type Tcp = async_std::net::TcpStream;

    async fn tcp(host: &str, port: u16) -> std::io::Result<Self::Tcp> {
        let stream = async_std::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn hooks() -> std::sync::Arc<dyn pgwire_conn::RuntimeHooks> {
        pgwire_async_std::hooks()
    }

    fn open_pool(
        options: &ConnectOptions,
        pool: pgwire_conn::PoolOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Pool<Self::Socket>>> {
        pgwire_async_std::open_pool(options, pool)
    }

    fn open_listener(
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<pgwire_conn::Listener<Self::Socket>>> {
        pgwire_async_std::open_listener(options)
    }
}
