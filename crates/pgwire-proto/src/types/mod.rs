//! Conversions between Rust values and PostgreSQL values.
//!
//! [`ToSql`] encodes query parameters for the extended protocol's `Bind`
//! message; [`FromSql`] decodes column values, in the text format (simple
//! query protocol) or the binary format (extended protocol).
//!
//! Conversions are strict: a Rust type accepts only the PostgreSQL types that
//! represent its values without loss (integers of any width with a range
//! check, floats, text-like types, ...), and anything else is
//! [`TypeError::WrongType`] rather than a silent reinterpretation.
//!
//! Each type family lives in its own module, so adding one (dates, numeric,
//! arrays, ...) means adding a module and its OIDs in [`oid`].

use bytes::BytesMut;

use crate::row::{ColumnError, Format, RowDescription};

mod array;
mod binary;
mod bits;
mod boolean;
mod bytea;
// Named after the `chrono` crate it converts; `::chrono` in it.
#[cfg(feature = "chrono")]
mod chrono;
mod composite;
mod derived;
mod enums;
mod error;
mod float;
mod geo;
mod hstore;
mod inet;
mod int;
mod json;
mod lsn_mac;
mod misc;
mod numeric;
pub mod oid;
mod option;
mod range;
mod registered;
mod registry;
mod text;
pub(crate) use text::is_text;
mod value;
mod vector;
// Named after the `time` crate it converts; `self::time` in paths here.
mod time;
// Named after the type; the `uuid` crate is `::uuid` in it.
mod uuid;

pub use self::time::{Infinite, Interval, TimeTz};
pub(crate) use array::FIRST_NORMAL_OBJECT_ID;
pub use array::{array_type, element_type, Array, Dimension, MAX_DIMENSIONS};
pub use binary::has_binary_decoder;
pub use bits::{BitString, ParseBitsError};
pub use derived::{
    enum_from_label, label_to_sql, transparent_to_sql, CompositeFields, CompositeWriter,
};
pub use enums::{enum_from_sql, enum_to_sql, PgEnum};
pub use error::TypeError;
pub use geo::{Circle, Line, Lseg, Path, PgBox, Point, Polygon};
pub use inet::Inet;
pub use json::{Json, RawJson};
pub use lsn_mac::{MacAddr, MacAddr8, ParseError as AddrParseError, PgLsn};
pub use numeric::Numeric;
pub use range::{range_subtype, range_type, Bound, Range};
pub use registry::{ResolvedType, TypeKind, TypeRegistry, RESOLVE_TYPES_SQL};
pub use value::Value;
pub use vector::{Int2Vector, OidVector};

/// A PostgreSQL object identifier; here, the OID of a type (`pg_type.oid`).
pub type Oid = u32;

/// How [`ToSql::to_sql`] encoded a parameter: the caller sends the matching
/// format code in `Bind`, and a length of -1 for [`Encoded::Null`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    /// SQL NULL: nothing was written.
    Null,
    /// The text format was written.
    Text,
    /// The binary format was written.
    Binary,
}

/// A Rust value that can be sent as a query parameter.
///
/// The driver first declares a type for each parameter in `Parse`
/// ([`natural_type`](ToSql::natural_type)); the server answers with the types
/// it settled on, and each value is then encoded for that type
/// ([`to_sql`](ToSql::to_sql)). The encoding is chosen per server type: an
/// `i64` is sent as a binary `int2` to an `int2` parameter (if it fits), and
/// as decimal text to a `numeric` one.
///
/// ```
/// use bytes::BytesMut;
/// use pgwire_proto::types::{oid, Encoded, ToSql, TypeError};
///
/// let mut out = BytesMut::new();
/// assert_eq!(7i64.to_sql(oid::INT2, &mut out), Ok(Encoded::Binary));
/// assert_eq!(&out[..], &[0, 7]);
///
/// out.clear();
/// assert_eq!(7i64.to_sql(oid::NUMERIC, &mut out), Ok(Encoded::Text));
/// assert_eq!(&out[..], b"7");
///
/// assert!(matches!(
///     i64::MAX.to_sql(oid::INT4, &mut out),
///     Err(TypeError::OutOfRange { .. })
/// ));
/// ```
pub trait ToSql: std::fmt::Debug {
    /// The type to declare for this value in `Parse` when the statement's
    /// parameter types are not known yet.
    ///
    /// Text-like values return 0 ("let the server infer"): they are sent in
    /// the text format, which the server parses for whatever type the
    /// parameter turns out to have, so a `&str` compared with an `int4`
    /// column still works.
    fn natural_type(&self) -> Oid;

    /// The type to declare for a value of this Rust type when there is no
    /// value to ask, as for `None::<T>`: SQL NULL still needs a parameter
    /// type. The default, 0, lets the server infer it.
    ///
    /// It is an associated function rather than a method so that `None`
    /// can answer; `where Self: Sized` keeps `dyn ToSql` usable.
    fn static_type() -> Oid
    where
        Self: Sized,
    {
        0
    }

    /// Appends the value's encoding for a parameter of server type `ty` to
    /// `out`: the bytes only, without the length prefix, which the caller
    /// writes. `ty` 0 means the type is unknown; the value then uses its
    /// natural encoding.
    ///
    /// Returns the format written. On error nothing has been appended.
    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError>;
}

// References forward to the value. `static_type` keeps its default: the
// referent may be unsized (`str`, `[u8]`), so its own `static_type` cannot be
// called here, and inferring the type of a NULL is always acceptable.
impl<T: ToSql + ?Sized> ToSql for &T {
    fn natural_type(&self) -> Oid {
        (**self).natural_type()
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        (**self).to_sql(ty, out)
    }
}

/// A Rust value that can be decoded from a column value.
///
/// The lifetime lets borrowed types (`&'a str`, `&'a [u8]`) point into the
/// row without copying.
///
/// ```
/// use pgwire_proto::types::{oid, FromSql, TypeError};
/// use pgwire_proto::Format;
///
/// // Widening is allowed, in either format.
/// assert_eq!(i64::from_sql(oid::INT4, Format::Binary, &[0, 0, 1, 0]), Ok(256));
/// assert_eq!(i64::from_sql(oid::INT4, Format::Text, b"256"), Ok(256));
/// assert_eq!(<&str>::from_sql(oid::TEXT, Format::Text, b"hi"), Ok("hi"));
///
/// // NULL needs an Option.
/// assert_eq!(Option::<i32>::from_null(oid::INT4), Ok(None));
/// assert_eq!(i32::from_null(oid::INT4), Err(TypeError::UnexpectedNull));
///
/// // Other types are not converted behind the caller's back.
/// assert!(matches!(
///     String::from_sql(oid::INT4, Format::Text, b"1"),
///     Err(TypeError::WrongType { .. })
/// ));
/// ```
pub trait FromSql<'a>: Sized {
    /// Decodes a non-NULL value of server type `ty` sent in `format`.
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError>;

    /// The value for SQL NULL of server type `ty`. The default refuses NULL;
    /// `Option` accepts it.
    fn from_null(ty: Oid) -> Result<Self, TypeError> {
        let _ = ty;
        Err(TypeError::UnexpectedNull)
    }

    /// Like [`from_sql`](Self::from_sql), with the types the connection
    /// has registered when the value's columns involve any (see
    /// [`RowDescription::types`]): what [`Row::try_get`](crate::Row::try_get)
    /// calls. Types that read registered types ([`Value`], containers,
    /// derived composites) override it; the default ignores `types`, so
    /// that decoding built-in types costs nothing more.
    #[inline(always)]
    fn from_sql_with(
        ty: Oid,
        format: Format,
        raw: &'a [u8],
        types: Option<&TypeRegistry>,
    ) -> Result<Self, TypeError> {
        let _ = types;
        Self::from_sql(ty, format, raw)
    }
}

/// Selects a column of a [`Row`](crate::Row): by position (`usize`) or by
/// name (`&str`, `&String`; the first column of that name).
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait ColumnIndex: sealed::Sealed {
    /// The position of the column in `description`.
    fn resolve(&self, description: &RowDescription) -> Result<usize, ColumnError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for str {}
    impl Sealed for String {}
    impl<T: Sealed + ?Sized> Sealed for &T {}
}

impl ColumnIndex for usize {
    #[inline]
    fn resolve(&self, description: &RowDescription) -> Result<usize, ColumnError> {
        if *self < description.len() {
            Ok(*self)
        } else {
            Err(ColumnError::OutOfRange {
                index: *self,
                len: description.len(),
            })
        }
    }
}

impl ColumnIndex for str {
    fn resolve(&self, description: &RowDescription) -> Result<usize, ColumnError> {
        description
            .index_of(self)
            .ok_or_else(|| ColumnError::UnknownColumn(self.to_owned()))
    }
}

impl ColumnIndex for String {
    fn resolve(&self, description: &RowDescription) -> Result<usize, ColumnError> {
        self.as_str().resolve(description)
    }
}

impl<T: ColumnIndex + ?Sized> ColumnIndex for &T {
    fn resolve(&self, description: &RowDescription) -> Result<usize, ColumnError> {
        (**self).resolve(description)
    }
}

/// The value of a fixed-width binary type, or `Invalid` when the length is
/// wrong (a server bug or a misdeclared type, never a panic).
#[inline]
fn fixed<const N: usize>(ty: Oid, raw: &[u8]) -> Result<[u8; N], TypeError> {
    match raw.try_into() {
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(wrong_length(ty, raw.len(), N)),
    }
}

#[cold]
#[inline(never)]
fn wrong_length(ty: Oid, len: usize, expected: usize) -> TypeError {
    TypeError::invalid(
        ty,
        format!("binary value is {len} bytes, expected {expected}"),
    )
}

/// A text-format value as `&str`.
#[inline]
fn utf8(ty: Oid, raw: &[u8]) -> Result<&str, TypeError> {
    match std::str::from_utf8(raw) {
        Ok(text) => Ok(text),
        Err(e) => Err(not_utf8(ty, e)),
    }
}

#[cold]
#[inline(never)]
fn not_utf8(ty: Oid, e: std::str::Utf8Error) -> TypeError {
    TypeError::invalid(ty, format!("not valid UTF-8: {e}"))
}

/// Appends `value` formatted with `Display`.
fn put_display(out: &mut BytesMut, value: impl std::fmt::Display) {
    use std::fmt::Write;
    // BytesMut grows as needed and the Display impls used here cannot fail,
    // so there is no error to report.
    let _ = write!(out, "{value}");
}

/// Parses a text-format value, reporting what could not be parsed.
fn parse<T: std::str::FromStr>(ty: Oid, raw: &[u8]) -> Result<T, TypeError>
where
    T::Err: std::fmt::Display,
{
    let text = utf8(ty, raw)?;
    text.parse()
        .map_err(|e| TypeError::invalid(ty, format!("{text:?}: {e}")))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers shared by the conversion tests.

    use super::*;

    /// Encodes `value` for `ty`, checking that a failed encoding left the
    /// buffer untouched.
    pub fn encode(value: &dyn ToSql, ty: Oid) -> Result<(Encoded, Vec<u8>), TypeError> {
        let mut out = BytesMut::from(&b"prefix"[..]);
        match value.to_sql(ty, &mut out) {
            Ok(encoded) => {
                assert_eq!(&out[..6], b"prefix", "{value:?} overwrote the buffer");
                if encoded == Encoded::Null {
                    assert_eq!(out.len(), 6, "{value:?} wrote bytes for NULL");
                }
                Ok((encoded, out[6..].to_vec()))
            }
            Err(e) => {
                assert_eq!(&out[..], b"prefix", "{value:?} wrote bytes before failing");
                Err(e)
            }
        }
    }

    /// Encodes `value` for `ty` and decodes the result as a value of server
    /// type `ty` (its natural type when `ty` is 0) in the format written.
    pub fn round_trip<T>(value: &T, ty: Oid) -> Result<T, TypeError>
    where
        T: ToSql + for<'a> FromSql<'a>,
    {
        let declared = if ty == 0 { value.natural_type() } else { ty };
        let (encoded, bytes) = encode(value, ty)?;
        match encoded {
            Encoded::Null => T::from_null(declared),
            Encoded::Text => T::from_sql(declared, Format::Text, &bytes),
            Encoded::Binary => T::from_sql(declared, Format::Binary, &bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::value::testing::row;
    use super::*;
    use crate::Row;

    fn sample() -> Row {
        row(&[
            ("id", oid::INT4, Format::Binary, Some(&[0, 0, 0, 42])),
            ("name", oid::TEXT, Format::Text, Some(b"alice")),
            ("note", oid::TEXT, Format::Text, None),
            ("big", oid::INT8, Format::Text, Some(b"9223372036854775807")),
        ])
    }

    #[test]
    fn try_get_by_index_and_name() {
        let row = sample();
        assert_eq!(row.try_get::<i32>(0), Ok(42));
        assert_eq!(row.try_get::<i64>("id"), Ok(42));
        assert_eq!(row.try_get::<&str>(1), Ok("alice"));
        assert_eq!(row.try_get::<String>("name"), Ok("alice".to_owned()));
        assert_eq!(
            row.try_get::<String>(&"name".to_owned()),
            Ok("alice".to_owned())
        );
        assert_eq!(row.try_get::<Option<&str>>("note"), Ok(None));
        assert_eq!(row.try_get::<Option<&str>>(1), Ok(Some("alice")));
        assert_eq!(row.try_get::<i64>("big"), Ok(i64::MAX));
    }

    #[test]
    fn try_get_errors_name_the_column_and_types() {
        let row = sample();
        assert_eq!(
            row.try_get::<i32>(4),
            Err(ColumnError::OutOfRange { index: 4, len: 4 })
        );
        let err = row.try_get::<i32>("missing");
        assert_eq!(err, Err(ColumnError::UnknownColumn("missing".to_owned())));
        assert!(err.is_err_and(|e| e.to_string().contains("missing")));

        let err = row.try_get::<String>("id");
        assert_eq!(
            err,
            Err(ColumnError::Decode {
                index: 0,
                column: "id".to_owned(),
                source: TypeError::WrongType {
                    pg_type: oid::INT4,
                    rust_type: "alloc::string::String"
                },
            })
        );
        // The column is the error's own part, the types are its source's.
        let message = err
            .map_err(|e| {
                let source = std::error::Error::source(&e).map(ToString::to_string);
                format!("{e}: {}", source.unwrap_or_default())
            })
            .err()
            .unwrap_or_default();
        for part in ["0", "\"id\"", "int4", "alloc::string::String"] {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }

        assert_eq!(
            row.try_get::<String>("note"),
            Err(ColumnError::Decode {
                index: 2,
                column: "note".to_owned(),
                source: TypeError::UnexpectedNull,
            })
        );
        assert_eq!(
            row.try_get::<i16>("big"),
            Err(ColumnError::Decode {
                index: 3,
                column: "big".to_owned(),
                source: TypeError::out_of_range::<i16>(oid::INT8),
            })
        );
    }

    #[test]
    fn decode_error_is_the_source() {
        use std::error::Error as _;
        let err = sample().try_get::<bool>(0).err();
        let source = err
            .as_ref()
            .and_then(|e| e.source())
            .map(ToString::to_string);
        assert_eq!(
            source,
            Some(TypeError::wrong_type::<bool>(oid::INT4).to_string())
        );
    }

    #[test]
    fn borrowed_values_point_into_the_row() {
        let row = row(&[("b", oid::BYTEA, Format::Binary, Some(&[0, 1, 255]))]);
        let Ok(bytes) = row.try_get::<&[u8]>(0) else {
            panic!("bytea did not decode")
        };
        assert_eq!(bytes, &[0, 1, 255]);
        let Some(Some(raw)) = row.raw(0) else {
            panic!("no raw value")
        };
        assert_eq!(bytes.as_ptr(), raw.as_ptr());
    }

    #[test]
    fn references_forward() {
        let n = 5i32;
        let r = &&n;
        assert_eq!(r.natural_type(), oid::INT4);
        assert_eq!(
            testing::encode(&r, oid::INT8),
            Ok((Encoded::Binary, 5i64.to_be_bytes().to_vec()))
        );
        let dynamic: &dyn ToSql = &"x";
        assert_eq!(dynamic.natural_type(), 0);
        assert_eq!(<&i32>::static_type(), 0);
    }
}
