//! The connection's type registry: built-in types are known statically;
//! extension and user types (enums, domains, composites, hstore, their
//! arrays) are looked up in `pg_type` once per connection, by name.

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use pgwire_proto::types::{TypeRegistry, RESOLVE_TYPES_SQL};
use pgwire_proto::Oid;

use crate::connection::Connection;
use crate::error::Result;

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// A snapshot of the types this connection knows, for decoding with
    /// [`Row::get_value_with`](pgwire_proto::Row::get_value_with).
    pub fn type_registry(&self) -> Arc<TypeRegistry> {
        self.session.shared.status.registry()
    }

    /// Looks up types by name (`mood`, `public.mood`, `hstore`, ...) in the
    /// server's catalog and registers them, with their array, element, base
    /// and range subtypes and the types a composite's fields are of, so
    /// that dynamic decoding knows their kind. Names already known are not
    /// looked up again; unknown names are skipped (see
    /// [`find_oid_for_type`](Self::find_oid_for_type)).
    ///
    /// From then on the rows of this connection decode them: `try_get::<Value>`
    /// reads a composite as a [`Value::Record`](pgwire_proto::types::Value::Record)
    /// of typed fields, an enum as its label, a domain as its base type; and
    /// a composite whose fields all decode in binary is fetched in binary
    /// (see [`TypeRegistry::binary_result`]).
    ///
    /// ```no_run
    /// # async fn demo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(conn: &pgwire_conn::Connection<S>) -> pgwire_conn::Result<()> {
    /// use pgwire_conn::Value;
    /// conn.register_types(&["mood", "hstore", "pair"]).await?;
    /// let row = conn.fetch_one("select 'happy'::mood, 'a=>1'::hstore, row(1, 'x')::pair", ()).await?.unwrap();
    /// let values = row.values_dynamic()?;
    /// let pair: Value = row.try_get(2)?;
    /// # Ok(()) }
    /// ```
    pub async fn register_types(&self, names: &[&str]) -> Result<()> {
        let known = self.type_registry();
        let missing: Vec<&str> = known.unresolved(names.iter().copied());
        if missing.is_empty() {
            return Ok(());
        }
        let rows = self.fetch(RESOLVE_TYPES_SQL, (missing,)).await?;
        let mut updated = (*known).clone();
        for row in &rows {
            updated.apply_resolve_row(row)?;
        }
        let updated = Arc::new(updated);
        // The machine first: whoever sees the new types in the status (to
        // choose result formats) then gets rows that carry them.
        self.session.lock().await.set_types(Arc::clone(&updated));
        self.session.shared.status.set_registry(updated);
        Ok(())
    }

    /// The OID of the type `name`: built-in types from a static table,
    /// others from the server's catalog (once per connection). `None` if
    /// the server has no such type.
    pub async fn find_oid_for_type(&self, name: &str) -> Result<Option<Oid>> {
        if let Some(oid) = self.type_registry().find_oid_for_type(name) {
            return Ok(Some(oid));
        }
        self.register_types(&[name]).await?;
        Ok(self.type_registry().find_oid_for_type(name))
    }
}
