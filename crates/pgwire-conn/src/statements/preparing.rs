//! A statement being prepared for the cache: its answer may be read by the
//! task that asked for it or, if that task's future was dropped, by whoever
//! reads next. Either way the statement is cached once described, so no
//! prepared statement is ever left on the server unknown to the cache.

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::message::frontend::Target;
use pgwire_proto::types::TypeRegistry;
use pgwire_proto::{Format, Oid, RowDescription};

use crate::error::Result;
use crate::session::owed::Owed;
use crate::session::Inner;
use crate::statements::CachedStatement;

/// Whether results of type `oid` are fetched in binary: every built-in type
/// with a binary decoder in `pgwire_proto::types`, and the registered
/// composites that decode in binary (see [`TypeRegistry::binary_result`]).
fn binary_result(oid: Oid, types: Option<&TypeRegistry>) -> bool {
    match types {
        Some(types) => types.binary_result(oid),
        None => pgwire_proto::types::has_binary_decoder(oid),
    }
}

/// The result formats to ask for: binary where a codec exists, with the
/// session's registered types `types`. The rows of these columns carry the
/// same registry (the machine's, which `types` is taken from or follows),
/// so a type asked for in binary here is decoded with it.
pub(crate) fn result_formats(
    description: Option<&RowDescription>,
    types: Option<&TypeRegistry>,
) -> Vec<Format> {
    description.map_or_else(Vec::new, |d| {
        d.fields()
            .iter()
            .map(|f| {
                if binary_result(f.type_oid, types) {
                    Format::Binary
                } else {
                    Format::Text
                }
            })
            .collect()
    })
}

/// What the answer to a statement's Parse/Describe must catch to cache it.
#[derive(Debug)]
pub(crate) struct Preparing {
    /// The request (Parse/Describe/Sync) preparing it.
    pub(crate) request: u64,
    pub(crate) name: String,
    pub(crate) sql: String,
    pub(crate) declared: Vec<Oid>,
    pub(crate) param_types: Vec<Oid>,
    pub(crate) description: Option<Arc<RowDescription>>,
    pub(crate) failed: bool,
    /// The preparation's errors go to the caller (prepared alone), rather
    /// than being left to the run that follows it in the same write (which
    /// fails the same way).
    pub(crate) report_errors: bool,
}

impl Preparing {
    /// The cache entry, unless preparing failed.
    fn into_cached(self, types: Option<&TypeRegistry>) -> Option<(String, Arc<CachedStatement>)> {
        if self.failed {
            return None;
        }
        let result_formats = result_formats(self.description.as_deref(), types);
        let stmt = CachedStatement {
            name: self.name,
            declared: self.declared,
            param_types: self.param_types,
            description: self
                .description
                .map(|d| Arc::new(d.with_formats(&result_formats))),
            result_formats,
        };
        Some((self.sql, Arc::new(stmt)))
    }
}

impl<S> Inner<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Queues the Parse/Describe of `sql` as a new cached statement, after
    /// closing the statements evicted to make room; returns its name, or
    /// `None` when statements being prepared fill the cache (then run the
    /// query on the unnamed statement).
    pub(crate) fn queue_prepare(&mut self, sql: &str, declared: &[Oid]) -> Result<Option<String>> {
        let Some((name, evicted)) = self.cache.start_prepare() else {
            return Ok(None);
        };
        let queued = evicted
            .iter()
            .try_for_each(|e| self.machine.close(Target::Statement, e).map(drop))
            .and_then(|()| self.machine.prepare(&name, sql, declared).map(drop));
        if let Err(e) = queued {
            self.cache.prepare_failed();
            return Err(e.into());
        }
        Ok(Some(name))
    }

    /// Queues the Parse/Describe of `sql` as a request of its own, to
    /// cache the statement once it answers (its errors go to the caller);
    /// `None` when preparations in flight fill the cache.
    pub(crate) fn queue_prepare_alone(
        &mut self,
        sql: &str,
        declared: Vec<Oid>,
    ) -> Result<Option<Box<Preparing>>> {
        let Some(name) = self.queue_prepare(sql, &declared)? else {
            return Ok(None);
        };
        Ok(Some(Box::new(Preparing {
            request: self.machine.next_request_id().0.saturating_sub(1),
            name,
            sql: sql.to_owned(),
            declared,
            param_types: Vec::new(),
            description: None,
            failed: false,
            report_errors: true,
        })))
    }

    /// Sets the session's registered types: rows described from now on
    /// carry them, and the cached statements whose columns they let
    /// decode in binary are asked for in binary from their next run.
    pub(crate) fn set_types(&mut self, types: Arc<TypeRegistry>) {
        self.machine.set_type_registry(Some(Arc::clone(&types)));
        let types = self.machine.type_registry().cloned();
        self.cache.update(|stmt| {
            let description = stmt.description.as_ref()?;
            let formats = result_formats(Some(description), types.as_deref());
            // Described with the old types: attached to the copy now, so
            // that its runs share it rather than copying it each time.
            let attached = RowDescription::with_types(
                Arc::new(description.with_formats(&formats)),
                types.as_ref(),
            );
            let changed = formats != stmt.result_formats || attached.types().is_some();
            changed.then(|| CachedStatement {
                name: stmt.name.clone(),
                declared: stmt.declared.clone(),
                param_types: stmt.param_types.clone(),
                description: Some(attached),
                result_formats: formats,
            })
        });
    }

    /// Caches a statement whose Parse/Describe has answered; closes the
    /// twin another task cached meanwhile, or what a lowered capacity
    /// evicts.
    pub(crate) fn cache_prepared(&mut self, preparing: Preparing) {
        let foreign = preparing
            .description
            .as_ref()
            .is_some_and(|d| d.client_encoding().is_some());
        if foreign && !preparing.failed {
            // Described in another client encoding than UTF8: its columns
            // stay marked, and every run would refuse its rows (see
            // `pgwire_proto::encoding`). Closed, so that none is left on
            // the server unknown to the cache.
            self.shared.book.owe(Owed::CloseStatement(preparing.name));
            self.cache.prepare_failed();
            return;
        }
        match preparing.into_cached(self.machine.type_registry().map(|t| &**t)) {
            Some((sql, stmt)) => {
                for name in self.cache.insert(&sql, stmt) {
                    self.shared.book.owe(Owed::CloseStatement(name));
                }
            }
            None => self.cache.prepare_failed(),
        }
    }
}
