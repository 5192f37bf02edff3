//! The three runtimes pgwire runs on, behind one small trait so that each
//! pgwire workload is written once.
//!
//! Every runtime gets the same shape: `nproc` worker threads, and the body
//! of a sample runs as a task on them (not on the thread that called
//! `block_on`), as server code does. tokio-postgres runs on the same tokio
//! runtime as pgwire-tokio.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_conn::{ConnectOptions, Connection, Pool, PoolOptions};

use crate::BResult;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A runtime pgwire can be opened on.
pub trait Rt: Clone + Send + Sync + 'static {
    /// The connection's stream type on this runtime.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// `pgwire_<runtime>::open_database_connection`.
    fn open(options: &ConnectOptions) -> BoxFut<'_, pgwire_conn::Result<Connection<Self::Stream>>>;

    /// `pgwire_<runtime>::open_pool`.
    fn open_pool(
        options: &ConnectOptions,
        pool: PoolOptions,
    ) -> BoxFut<'_, pgwire_conn::Result<Pool<Self::Stream>>>;

    /// Runs `fut` as a task and waits for it.
    fn block_on<T: Send + 'static>(
        &self,
        fut: impl Future<Output = BResult<T>> + Send + 'static,
    ) -> BResult<T>;

    /// Spawns `fut` as a task; the returned future is its result.
    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = BResult<T>> + Send + 'static,
    ) -> BoxFut<'static, BResult<T>>;
}

/// tokio: a multi-thread runtime with `nproc` workers.
#[derive(Debug, Clone)]
pub struct TokioRt(pub tokio::runtime::Handle);

impl TokioRt {
    pub fn build() -> BResult<tokio::runtime::Runtime> {
        Ok(tokio::runtime::Builder::new_multi_thread()
            .worker_threads(crate::sys::nproc())
            .enable_all()
            .build()?)
    }
}

fn joined<T>(r: Result<BResult<T>, tokio::task::JoinError>) -> BResult<T> {
    r.map_err(|e| format!("benchmark task failed: {e}"))?
}

impl Rt for TokioRt {
    type Stream = pgwire_tokio::TokioStream;

    fn open(options: &ConnectOptions) -> BoxFut<'_, pgwire_conn::Result<Connection<Self::Stream>>> {
        Box::pin(pgwire_tokio::open_database_connection(options))
    }

    fn open_pool(
        options: &ConnectOptions,
        pool: PoolOptions,
    ) -> BoxFut<'_, pgwire_conn::Result<Pool<Self::Stream>>> {
        Box::pin(pgwire_tokio::open_pool(options, pool))
    }

    fn block_on<T: Send + 'static>(
        &self,
        fut: impl Future<Output = BResult<T>> + Send + 'static,
    ) -> BResult<T> {
        joined(self.0.block_on(self.0.spawn(fut)))
    }

    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = BResult<T>> + Send + 'static,
    ) -> BoxFut<'static, BResult<T>> {
        let handle = self.0.spawn(fut);
        Box::pin(async move { joined(handle.await) })
    }
}

/// smol: an executor run by `nproc` threads. (`smol::spawn`'s global
/// executor has one thread unless `SMOL_THREADS` says otherwise, which
/// would handicap it against the other two.)
#[derive(Debug, Clone)]
pub struct SmolRt(Arc<smol::Executor<'static>>);

impl SmolRt {
    pub fn start() -> BResult<Self> {
        let executor = Arc::new(smol::Executor::new());
        for i in 0..crate::sys::nproc() {
            let executor = Arc::clone(&executor);
            // The threads run until the process exits, like a runtime's.
            std::thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn(move || smol::block_on(executor.run(smol::future::pending::<()>())))?;
        }
        Ok(SmolRt(executor))
    }
}

impl Rt for SmolRt {
    type Stream = pgwire_smol::SmolStream;

    fn open(options: &ConnectOptions) -> BoxFut<'_, pgwire_conn::Result<Connection<Self::Stream>>> {
        Box::pin(pgwire_smol::open_database_connection(options))
    }

    fn open_pool(
        options: &ConnectOptions,
        pool: PoolOptions,
    ) -> BoxFut<'_, pgwire_conn::Result<Pool<Self::Stream>>> {
        Box::pin(pgwire_smol::open_pool(options, pool))
    }

    fn block_on<T: Send + 'static>(
        &self,
        fut: impl Future<Output = BResult<T>> + Send + 'static,
    ) -> BResult<T> {
        smol::block_on(self.0.spawn(fut))
    }

    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = BResult<T>> + Send + 'static,
    ) -> BoxFut<'static, BResult<T>> {
        Box::pin(self.0.spawn(fut))
    }
}

/// async-std: its global executor (one thread per CPU by default).
#[derive(Debug, Clone, Copy)]
pub struct AsyncStdRt;

impl Rt for AsyncStdRt {
    type Stream = pgwire_async_std::AsyncStdStream;

    fn open(options: &ConnectOptions) -> BoxFut<'_, pgwire_conn::Result<Connection<Self::Stream>>> {
        Box::pin(pgwire_async_std::open_database_connection(options))
    }

    fn open_pool(
        options: &ConnectOptions,
        pool: PoolOptions,
    ) -> BoxFut<'_, pgwire_conn::Result<Pool<Self::Stream>>> {
        Box::pin(pgwire_async_std::open_pool(options, pool))
    }

    fn block_on<T: Send + 'static>(
        &self,
        fut: impl Future<Output = BResult<T>> + Send + 'static,
    ) -> BResult<T> {
        async_std::task::block_on(async_std::task::spawn(fut))
    }

    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = BResult<T>> + Send + 'static,
    ) -> BoxFut<'static, BResult<T>> {
        Box::pin(async_std::task::spawn(fut))
    }
}
