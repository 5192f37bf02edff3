//! Result rows without copies: a [`Row`] is a slice of the receive buffer plus
//! a shared pointer to its [`RowDescription`].

mod compact;

use std::sync::Arc;

use bytes::Bytes;

pub use self::compact::compact_rows;
#[cfg(test)]
pub(crate) use self::compact::retained_total;
use crate::message::backend::DataRowBody;
use crate::types::{oid, ColumnIndex, FromSql, TypeError, TypeRegistry};

/// Whether values of type `ty` may need a [`TypeRegistry`] to decode: types
/// created at run time, and anonymous records and their arrays (their
/// binary fields name their types, which may be such).
#[inline]
fn may_be_registered(ty: u32) -> bool {
    ty >= crate::types::FIRST_NORMAL_OBJECT_ID || ty == oid::RECORD || ty == oid::RECORD_ARRAY
}

/// The wire format of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Text representation.
    Text,
    /// Binary representation.
    Binary,
}

/// One column of a [`RowDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldDescription {
    /// The column name (`?column?` for anonymous expressions).
    pub name: String,
    /// OID of the source table, or 0.
    pub table_oid: u32,
    /// Attribute number in the source table, or 0.
    pub column_id: i16,
    /// OID of the column's type.
    pub type_oid: u32,
    /// `pg_type.typlen`: negative for variable width.
    pub type_size: i16,
    /// `pg_attribute.atttypmod`.
    pub type_modifier: i32,
    /// The format the values arrive in.
    pub format: Format,
}

/// The columns of a result set.
#[derive(Debug, Clone)]
pub struct RowDescription {
    fields: Vec<FieldDescription>,
    /// The session's client_encoding when rows of this description arrived
    /// (or it was described) in another encoding than UTF8.
    pub(crate) client_encoding: Option<Arc<str>>,
    /// The session's registered types, when a column may hold one (see
    /// [`types`](Self::types)).
    pub(crate) types: Option<Arc<TypeRegistry>>,
}

/// Descriptions are equal when their columns and encoding are: the types
/// attached are a decoding aid, a snapshot of the same session's.
impl PartialEq for RowDescription {
    fn eq(&self, other: &RowDescription) -> bool {
        self.fields == other.fields && self.client_encoding == other.client_encoding
    }
}

impl Eq for RowDescription {}

impl RowDescription {
    pub(crate) fn new(fields: Vec<FieldDescription>) -> Self {
        RowDescription {
            fields,
            client_encoding: None,
            types: None,
        }
    }

    /// The types the session had registered (enums, domains, composites,
    /// ... see [`TypeRegistry`]) when these rows arrived, attached when a
    /// column is of a non-built-in type or an anonymous record (whose
    /// fields may be): [`Row::try_get`] hands them to
    /// [`FromSql::from_sql_with`], so that `Value` and derived composites
    /// decode registered types. `None` for columns of built-in types only,
    /// or when nothing is registered.
    pub fn types(&self) -> Option<&Arc<TypeRegistry>> {
        self.types.as_ref()
    }

    /// `description` with `types` attached when a column may need them
    /// (see [`types`](Self::types)); a copy when the description is shared
    /// (with a statement cache, say) and lacks this very registry. The
    /// machine attaches its registry to every description it gives rows;
    /// a client caching descriptions attaches it once, to share them.
    #[inline]
    pub fn with_types(
        mut description: Arc<RowDescription>,
        types: Option<&Arc<TypeRegistry>>,
    ) -> Arc<RowDescription> {
        let Some(types) = types else {
            return description;
        };
        if description
            .types
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, types))
            || !description
                .fields
                .iter()
                .any(|f| may_be_registered(f.type_oid))
        {
            return description;
        }
        Arc::make_mut(&mut description).types = Some(Arc::clone(types));
        description
    }

    /// The session's `client_encoding` when it was not UTF8 as these
    /// columns were described or their rows arrived: then the values of
    /// such rows are text in that encoding, which pgwire does not read, so
    /// decoding them fails with [`ColumnError::ClientEncoding`] (the raw
    /// bytes stay readable), and the column names were decoded lossily.
    /// `None` in a UTF8 session. See [`encoding`](crate::encoding).
    pub fn client_encoding(&self) -> Option<&str> {
        self.client_encoding.as_deref()
    }

    /// The columns, to correct their names (see
    /// [`encoding`](crate::encoding)).
    pub(crate) fn fields_mut(&mut self) -> &mut [FieldDescription] {
        &mut self.fields
    }

    /// The columns, in order.
    pub fn fields(&self) -> &[FieldDescription] {
        &self.fields
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The same columns, arriving in `formats` (one per column, or one for
    /// all): what a statement described before `Bind` returns once bound
    /// with those result formats.
    pub fn with_formats(&self, formats: &[Format]) -> RowDescription {
        let mut fields = self.fields.clone();
        for (i, field) in fields.iter_mut().enumerate() {
            field.format = match formats {
                [] => Format::Text,
                [one] => *one,
                many => many.get(i).copied().unwrap_or(Format::Text),
            };
        }
        RowDescription {
            fields,
            client_encoding: self.client_encoding.clone(),
            types: self.types.clone(),
        }
    }

    /// The index of the first column named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// One result row.
///
/// Cloning is cheap (two reference counts). Values are `None` for SQL NULL.
///
/// A row is a view of the receive buffer chunk it arrived in (up to
/// 128 KiB, or one message's size when larger, shared with the rows read
/// with it), so a row kept alive keeps that chunk
/// ([`retained_bytes`](Self::retained_bytes)): decode what you store for
/// long into owned values, or let [`compact_rows`] (or
/// [`detach`](Self::detach)) copy the rows out of their chunks.
///
/// ```
/// # use pgwire_proto::Row;
/// fn print(row: &Row) {
///     for (field, value) in row.description().fields().iter().zip(row.values()) {
///         println!("{} = {:?}", field.name, value.map(String::from_utf8_lossy));
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Row {
    description: Arc<RowDescription>,
    /// The receive buffer chunk the row arrived in, shared with the machine
    /// and other rows. A plain `Arc` rather than a `Bytes` slice: cloning and
    /// dropping it is an inlined atomic, not a call through a vtable.
    chunk: Arc<[u8]>,
    /// `chunk[start..end]` are the column values, validated when decoded:
    /// each is an `i32` length (-1 for NULL) followed by that many bytes,
    /// exactly `description.len()` of them.
    start: usize,
    end: usize,
}

impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.description == other.description && self.bytes() == other.bytes()
    }
}

impl Eq for Row {}

impl Row {
    /// Builds a row; `None` if the body's column count differs from the
    /// description's.
    /// The values are copied: rows the machine decodes take
    /// [`from_validated`](Self::from_validated) instead.
    pub(crate) fn new(description: Arc<RowDescription>, body: DataRowBody) -> Option<Row> {
        (usize::from(body.columns) == description.len()).then(|| Row {
            description,
            chunk: Arc::from(&body.values[..]),
            start: 0,
            end: body.values.len(),
        })
    }

    /// A row whose values, `chunk[start..end]`, were checked by
    /// [`check_values`](crate::message::backend::check_values) against
    /// `description.len()` columns.
    #[inline]
    pub(crate) fn from_validated(
        description: Arc<RowDescription>,
        chunk: Arc<[u8]>,
        start: usize,
        end: usize,
    ) -> Row {
        Row {
            description,
            chunk,
            start,
            end,
        }
    }

    /// The values, as validated.
    #[inline]
    fn bytes(&self) -> &[u8] {
        self.chunk.get(self.start..self.end).unwrap_or_default()
    }

    /// The columns.
    pub fn description(&self) -> &Arc<RowDescription> {
        &self.description
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.description.len()
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.description.is_empty()
    }

    /// The raw values in order: `None` for NULL.
    pub fn values(&self) -> Values<'_> {
        Values {
            rest: self.bytes(),
            left: self.len(),
        }
    }

    /// The raw value of column `index`: `None` if out of range, `Some(None)`
    /// for NULL.
    #[inline]
    pub fn raw(&self, index: usize) -> Option<Option<&[u8]>> {
        if index >= self.len() {
            return None;
        }
        value_at(self.bytes(), index)
    }

    /// The raw value of the first column named `name`.
    pub fn raw_by_name(&self, name: &str) -> Option<Option<&[u8]>> {
        self.raw(self.description.index_of(name)?)
    }

    /// The value of column `index` as a shared slice of the receive buffer
    /// (no copy): `None` if out of range, `Some(None)` for NULL.
    pub fn raw_bytes(&self, index: usize) -> Option<Option<Bytes>> {
        let value = self.raw(index)?;
        Some(value.map(|v| {
            // `v` is a subslice of `self.bytes()`, so of the chunk.
            let start = (v.as_ptr() as usize).wrapping_sub(self.chunk.as_ptr() as usize);
            Bytes::from_owner(ChunkSlice {
                chunk: Arc::clone(&self.chunk),
                start,
                end: start.saturating_add(v.len()),
            })
        }))
    }

    /// The value of column `index` as the server's text: `Ok(None)` for
    /// NULL. Works for columns that arrived in text format (every column of
    /// the simple protocol, types without a binary codec) and for text
    /// types in either format; any other binary column is
    /// [`ColumnError::NotText`]: decode it with [`try_get`](Self::try_get)
    /// or [`get_value`](Self::get_value) instead.
    pub fn text(&self, index: usize) -> Result<Option<&str>, ColumnError> {
        if let Some(field) = self.description.fields().get(index) {
            self.check_encoding(index)?;
            if field.format == Format::Binary && !crate::types::is_text(field.type_oid) {
                return Err(ColumnError::NotText {
                    index,
                    type_oid: field.type_oid,
                });
            }
        }
        match self.raw(index) {
            None => Err(ColumnError::OutOfRange {
                index,
                len: self.len(),
            }),
            Some(None) => Ok(None),
            Some(Some(b)) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|_| ColumnError::NotUtf8 { index }),
        }
    }

    /// Decodes a column, selected by position or by name, as `T`. SQL NULL
    /// decodes only into an `Option`.
    ///
    /// Errors name the column (index and name) and, for values that do not
    /// convert, the PostgreSQL type and the Rust type.
    ///
    /// ```
    /// # use pgwire_proto::{ColumnError, Row};
    /// fn user(row: &Row) -> Result<(i64, &str, Option<String>), ColumnError> {
    ///     Ok((row.try_get(0)?, row.try_get("name")?, row.try_get("email")?))
    /// }
    /// ```
    #[inline]
    pub fn try_get<'a, T: FromSql<'a>>(
        &'a self,
        index: impl ColumnIndex,
    ) -> Result<T, ColumnError> {
        let index = index.resolve(&self.description)?;
        // `resolve` checked the index, and `values` holds as many columns as
        // the description: the lookups below fail only if that broke.
        let (Some(field), Some(value)) = (
            self.description.fields().get(index),
            value_at(self.bytes(), index),
        ) else {
            return Err(self.out_of_range(index));
        };
        self.check_encoding(index)?;
        match value {
            None => T::from_null(field.type_oid),
            // Without registered types (every row of built-in columns) this
            // is `from_sql`, for all but the types that override it.
            Some(raw) => T::from_sql_with(
                field.type_oid,
                field.format,
                raw,
                self.description.types.as_deref(),
            ),
        }
        .map_err(|source| decode_error(index, field, source))
    }

    /// Refuses to decode column `index` of a row that arrived in another
    /// client encoding than UTF8.
    #[inline]
    pub(crate) fn check_encoding(&self, index: usize) -> Result<(), ColumnError> {
        match &self.description.client_encoding {
            None => Ok(()),
            Some(encoding) => Err(foreign_encoding(index, encoding)),
        }
    }

    #[cold]
    fn out_of_range(&self, index: usize) -> ColumnError {
        ColumnError::OutOfRange {
            index,
            len: self.len(),
        }
    }
}

/// A range of a chunk, as the owner of a [`Bytes`].
struct ChunkSlice {
    chunk: Arc<[u8]>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for ChunkSlice {
    fn as_ref(&self) -> &[u8] {
        self.chunk.get(self.start..self.end).unwrap_or_default()
    }
}

/// The error of a value that did not convert, naming its column. Out of line:
/// the successful path of `try_get` should not carry it.
#[cold]
#[inline(never)]
fn decode_error(index: usize, field: &FieldDescription, source: TypeError) -> ColumnError {
    ColumnError::Decode {
        index,
        column: field.name.clone(),
        source,
    }
}

#[cold]
#[inline(never)]
fn foreign_encoding(index: usize, encoding: &str) -> ColumnError {
    ColumnError::ClientEncoding {
        index,
        encoding: encoding.to_owned(),
    }
}

/// Value `index` of a row's validated values: `None` only if the values do
/// not hold that many columns, `Some(None)` for NULL.
#[inline]
fn value_at(values: &[u8], index: usize) -> Option<Option<&[u8]>> {
    let mut rest = values;
    for _ in 0..index {
        let (&len, tail) = rest.split_first_chunk::<4>()?;
        // NULL (-1) has no bytes; the decoder allowed no other negative.
        rest = match usize::try_from(i32::from_be_bytes(len)) {
            Ok(len) => tail.get(len..)?,
            Err(_) => tail,
        };
    }
    let (&len, tail) = rest.split_first_chunk::<4>()?;
    match usize::try_from(i32::from_be_bytes(len)) {
        Ok(len) => Some(Some(tail.get(..len)?)),
        Err(_) => Some(None),
    }
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (field, value) in self.description.fields().iter().zip(self.values()) {
            map.entry(&field.name, &value.map(String::from_utf8_lossy));
        }
        map.finish()
    }
}

/// Iterator over a row's raw values.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for Values<'a> {
    type Item = Option<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The layout was validated at decode time; `get` keeps this panic-free
        // regardless.
        let len = i32::from_be_bytes(self.rest.get(..4)?.try_into().ok()?);
        self.rest = self.rest.get(4..)?;
        if len < 0 {
            return Some(None);
        }
        let (value, rest) = self.rest.split_at_checked(len as usize)?;
        self.rest = rest;
        Some(Some(value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// A column could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnError {
    /// No column at this index.
    OutOfRange {
        /// The index asked for.
        index: usize,
        /// The number of columns.
        len: usize,
    },
    /// The value is not valid UTF-8 text.
    NotUtf8 {
        /// The column index.
        index: usize,
    },
    /// No column has this name.
    UnknownColumn(String),
    /// [`Row::text`] of a column that arrived in binary and is not text.
    NotText {
        /// The column index.
        index: usize,
        /// The column's type.
        type_oid: u32,
    },
    /// The row arrived while the session's `client_encoding` was
    /// `encoding`, not UTF8 (or its columns were described then): its text
    /// would be read wrong, so no value of it is decoded. See
    /// [`RowDescription::client_encoding`].
    ClientEncoding {
        /// The column index.
        index: usize,
        /// The session's client_encoding then.
        encoding: String,
    },
    /// The value could not be converted to the Rust type asked for.
    Decode {
        /// The column index.
        index: usize,
        /// The column name.
        column: String,
        /// Why the value did not convert.
        source: TypeError,
    },
}

impl std::fmt::Display for ColumnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnError::OutOfRange { index, len } => {
                write!(
                    f,
                    "column index {index} out of range for a row of {len} columns"
                )
            }
            ColumnError::NotUtf8 { index } => write!(f, "column {index} is not valid UTF-8"),
            ColumnError::UnknownColumn(name) => write!(f, "no column named {name:?}"),
            ColumnError::NotText { index, type_oid } => {
                write!(f, "column {index} (")?;
                match crate::types::oid::name(*type_oid) {
                    Some(name) => write!(f, "{name}")?,
                    None => write!(f, "type OID {type_oid}")?,
                }
                write!(
                    f,
                    ") arrived in binary, not text: decode it with try_get or get_value"
                )
            }
            ColumnError::ClientEncoding { index, encoding } => write!(
                f,
                "column {index} is not decoded: its row arrived (or its columns were described) \
                 while the session's client_encoding was {encoding}, not UTF8, and pgwire reads \
                 only UTF-8; set client_encoding back to UTF8 and run the query again (prepare \
                 a statement described meanwhile again)"
            ),
            // The reason is the source, which a report prints next.
            ColumnError::Decode { index, column, .. } => {
                write!(f, "cannot decode column {index} ({column:?})")
            }
        }
    }
}

impl std::error::Error for ColumnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ColumnError::Decode { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::backend::decode_data_row;

    fn row(values: &[Option<&[u8]>]) -> Row {
        let fields = (0..values.len())
            .map(|i| FieldDescription {
                name: format!("c{i}"),
                table_oid: 0,
                column_id: 0,
                type_oid: crate::types::oid::TEXT,
                type_size: -1,
                type_modifier: -1,
                format: Format::Text,
            })
            .collect();
        let mut body = (values.len() as i16).to_be_bytes().to_vec();
        for v in values {
            match v {
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    body.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    body.extend_from_slice(v);
                }
            }
        }
        let body = decode_data_row(Bytes::from(body)).unwrap();
        Row::new(Arc::new(RowDescription::new(fields)), body).unwrap()
    }

    #[test]
    fn raw_finds_every_column() {
        let values: [Option<&[u8]>; 6] = [
            Some(b"a"),
            None,
            Some(b""),
            Some(b"xyz"),
            None,
            Some(&[0xff; 300]),
        ];
        let r = row(&values);
        for (i, v) in values.iter().enumerate() {
            assert_eq!(r.raw(i), Some(*v), "column {i}");
            assert_eq!(r.raw_bytes(i).unwrap().as_deref(), *v, "column {i}");
        }
        assert_eq!(r.values().collect::<Vec<_>>(), values);
        assert_eq!(r.raw(values.len()), None);
        assert_eq!(r.raw(usize::MAX), None);
        assert_eq!(r.try_get::<Option<&str>>(3), Ok(Some("xyz")));
        assert_eq!(r.try_get::<Option<&str>>(4), Ok(None));
        assert_eq!(
            r.try_get::<&str>(6),
            Err(ColumnError::OutOfRange { index: 6, len: 6 })
        );
        assert!(matches!(
            r.try_get::<&str>(5),
            Err(ColumnError::Decode { index: 5, .. })
        ));
        assert_eq!(row(&[]).raw(0), None);
    }
}
