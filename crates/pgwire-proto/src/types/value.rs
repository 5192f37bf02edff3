//! [`Value`]: any column value, decoded by its type OID, for code that does
//! not know its columns' types in advance (generic table printers, dynamic
//! row data).

use std::collections::BTreeMap;
use std::fmt;

use ::time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
use bytes::{BufMut, BytesMut};

use super::array::{self, text_of, Array, FIRST_NORMAL_OBJECT_ID};
use super::binary::{scalar, Scalar};
use super::range::{self, Range};
use super::registry::{TypeKind, TypeRegistry};
use super::{
    composite, hstore, oid, text, utf8, ColumnIndex, Encoded, FromSql, Inet, Infinite, Interval,
    Numeric, Oid, TimeTz, ToSql, TypeError,
};
use crate::row::{ColumnError, Format, Row};

/// How deeply arrays, ranges, records and domains may nest in one value:
/// more is refused rather than risking the stack on forged input.
const MAX_DEPTH: usize = 32;

/// A value of any type, decoded by its type OID.
///
/// Decoding ([`FromSql`]) never fails for an unknown type: it becomes
/// [`Value::Unknown`] with its raw bytes. Known types whose bytes are
/// malformed are still errors. [`Display`](fmt::Display) writes the text
/// format, as psql shows values.
///
/// ```
/// use pgwire_proto::types::{oid, FromSql, Value};
/// use pgwire_proto::Format;
///
/// let v = Value::from_sql(oid::INT4_ARRAY, Format::Text, b"{1,NULL,3}").unwrap();
/// assert_eq!(v.to_string(), "{1,NULL,3}");
/// let v = Value::from_sql(oid::INT8, Format::Binary, &7i64.to_be_bytes()).unwrap();
/// assert_eq!(v, Value::Int8(7));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int2`.
    Int2(i16),
    /// `int4`.
    Int4(i32),
    /// `int8`.
    Int8(i64),
    /// `oid`.
    Oid(u32),
    /// `float4`.
    Float4(f32),
    /// `float8`.
    Float8(f64),
    /// `text`, `varchar`, `bpchar`, `name`, `"char"`, `unknown`, and enums
    /// (through a [`TypeRegistry`]).
    Text(String),
    /// `bytea`.
    Bytea(Vec<u8>),
    /// `json` or `jsonb`, as JSON text.
    Json(String),
    /// `numeric`.
    Numeric(Numeric),
    /// `date`.
    Date(Infinite<Date>),
    /// `time`.
    Time(Time),
    /// `timetz`.
    TimeTz(TimeTz),
    /// `timestamp`.
    Timestamp(Infinite<PrimitiveDateTime>),
    /// `timestamptz`.
    TimestampTz(Infinite<OffsetDateTime>),
    /// `interval`.
    Interval(Interval),
    /// `uuid`, as its 16 bytes.
    Uuid([u8; 16]),
    /// `inet` or `cidr`.
    Inet(Inet),
    /// An array of any element type.
    Array(Array<Value>),
    /// A `record` or composite value: its fields in order.
    Record(Vec<Value>),
    /// A range.
    Range(Box<Range<Value>>),
    /// An `hstore` map (through a [`TypeRegistry`]).
    Hstore(BTreeMap<String, Option<String>>),
    /// A value of a type not decoded here, as it was received.
    Unknown {
        /// The type's OID.
        oid: Oid,
        /// The format of `bytes`.
        format: Format,
        /// The value's bytes.
        bytes: Vec<u8>,
    },
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string of a [`Value::Text`] or [`Value::Json`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Json(s) => Some(s),
            _ => None,
        }
    }

    /// The value of any integer variant, widened.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int2(v) => Some(v.into()),
            Value::Int4(v) => Some(v.into()),
            Value::Int8(v) => Some(v),
            Value::Oid(v) => Some(v.into()),
            _ => None,
        }
    }

    /// The value of a float or integer variant (integers beyond 2^53 round).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float4(v) => Some(v.into()),
            Value::Float8(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The value of a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }
}

macro_rules! value_from {
    ($($rust:ty => $variant:ident),* $(,)?) => {$(
        impl From<$rust> for Value {
            fn from(v: $rust) -> Value {
                Value::$variant(v.into())
            }
        }
    )*};
}

value_from! {
    bool => Bool,
    i16 => Int2,
    i32 => Int4,
    i64 => Int8,
    u32 => Oid,
    f32 => Float4,
    f64 => Float8,
    String => Text,
    &str => Text,
    Vec<u8> => Bytea,
    &[u8] => Bytea,
    Numeric => Numeric,
    Date => Date,
    Infinite<Date> => Date,
    Time => Time,
    TimeTz => TimeTz,
    PrimitiveDateTime => Timestamp,
    Infinite<PrimitiveDateTime> => Timestamp,
    OffsetDateTime => TimestampTz,
    Infinite<OffsetDateTime> => TimestampTz,
    Interval => Interval,
    [u8; 16] => Uuid,
    Inet => Inet,
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<Option<T>>> for Value {
    fn from(v: Vec<Option<T>>) -> Value {
        Value::Array(Array::from_nullable(
            v.into_iter().map(|e| e.map(Into::into)).collect(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Decoding.

/// Decodes a value of type `ty`, using `registry` for non-built-in types
/// when given. `depth` counts the containers around the value.
pub(super) fn decode(
    registry: Option<&TypeRegistry>,
    ty: Oid,
    format: Format,
    raw: &[u8],
    depth: usize,
) -> Result<Value, TypeError> {
    if depth > MAX_DEPTH {
        return Err(TypeError::invalid(ty, "values nested too deeply"));
    }
    if let Some(kind) = registry.and_then(|r| r.registered_kind(ty)) {
        if let Some(value) = decode_registered(registry, kind, ty, format, raw, depth)? {
            return Ok(value);
        }
    }
    Ok(match scalar(ty) {
        Some(Scalar::Bool) => Value::Bool(bool::from_sql(ty, format, raw)?),
        Some(Scalar::Int2) => Value::Int2(i16::from_sql(ty, format, raw)?),
        Some(Scalar::Int4) => Value::Int4(i32::from_sql(ty, format, raw)?),
        Some(Scalar::Int8) => Value::Int8(i64::from_sql(ty, format, raw)?),
        Some(Scalar::Oid) => Value::Oid(u32::from_sql(ty, format, raw)?),
        Some(Scalar::Float4) => Value::Float4(f32::from_sql(ty, format, raw)?),
        Some(Scalar::Float8) => Value::Float8(f64::from_sql(ty, format, raw)?),
        Some(Scalar::Text | Scalar::Unknown) => Value::Text(String::from_sql(ty, format, raw)?),
        Some(Scalar::Json) => Value::Json(String::from_sql(ty, format, raw)?),
        Some(Scalar::Bytea) => Value::Bytea(Vec::<u8>::from_sql(ty, format, raw)?),
        Some(Scalar::Record) => decode_record(registry, ty, None, format, raw, depth)?,
        Some(Scalar::Numeric) => Value::Numeric(Numeric::from_sql(ty, format, raw)?),
        Some(Scalar::Date) => or_unknown(ty, format, raw, Value::Date)?,
        Some(Scalar::Time) => or_unknown(ty, format, raw, Value::Time)?,
        Some(Scalar::TimeTz) => or_unknown(ty, format, raw, Value::TimeTz)?,
        Some(Scalar::Timestamp) => or_unknown(ty, format, raw, Value::Timestamp)?,
        Some(Scalar::TimestampTz) => or_unknown(ty, format, raw, Value::TimestampTz)?,
        Some(Scalar::Interval) => or_unknown(ty, format, raw, Value::Interval)?,
        Some(Scalar::Uuid) => Value::Uuid(<[u8; 16]>::from_sql(ty, format, raw)?),
        Some(Scalar::Inet) => Value::Inet(Inet::from_sql(ty, format, raw)?),
        Some(Scalar::ShownAsText) if format == Format::Binary => {
            match super::lsn_mac::binary_as_text(ty, raw)
                .or_else(|| super::geo::binary_as_text(ty, raw))
            {
                Some(text) => Value::Unknown {
                    oid: ty,
                    format: Format::Text,
                    bytes: text?.into_bytes(),
                },
                None => Value::Unknown {
                    oid: ty,
                    format,
                    bytes: raw.to_vec(),
                },
            }
        }
        // In text, those are the server's text as it stands.
        Some(Scalar::ShownAsText) | None => {
            if let Some(elem) = array::element_type(ty) {
                decode_array(registry, ty, elem, format, raw, depth)?
            } else if let Some(subtype) = range::builtin_subtype(ty) {
                decode_range(registry, ty, subtype, format, raw, depth)?
            } else {
                Value::Unknown {
                    oid: ty,
                    format,
                    bytes: raw.to_vec(),
                }
            }
        }
    })
}

/// Decodes a value as `T` into a variant, keeping values valid in
/// PostgreSQL but beyond `T`'s range (dates past the year 9999, say) as
/// [`Value::Unknown`] rather than failing.
fn or_unknown<T: for<'a> FromSql<'a>>(
    ty: Oid,
    format: Format,
    raw: &[u8],
    variant: fn(T) -> Value,
) -> Result<Value, TypeError> {
    match T::from_sql(ty, format, raw) {
        Ok(value) => Ok(variant(value)),
        Err(TypeError::OutOfRange { .. }) => Ok(Value::Unknown {
            oid: ty,
            format,
            bytes: raw.to_vec(),
        }),
        Err(e) => Err(e),
    }
}

/// Decodes a value of a type registered as `kind`; `None` to fall back to
/// the built-in handling (a registered base type).
fn decode_registered(
    registry: Option<&TypeRegistry>,
    kind: &TypeKind,
    ty: Oid,
    format: Format,
    raw: &[u8],
    depth: usize,
) -> Result<Option<Value>, TypeError> {
    Ok(Some(match kind {
        TypeKind::Enum => Value::Text(utf8(ty, raw)?.to_owned()),
        TypeKind::Domain { base } => decode(registry, *base, format, raw, depth + 1)?,
        TypeKind::Hstore => Value::Hstore(hstore::decode(ty, format, raw)?.into_iter().fold(
            BTreeMap::new(),
            |mut map, (k, v)| {
                map.entry(k).or_insert(v);
                map
            },
        )),
        TypeKind::Composite { fields } => {
            decode_record(registry, ty, Some(fields), format, raw, depth)?
        }
        TypeKind::Array { element } => decode_array(registry, ty, *element, format, raw, depth)?,
        TypeKind::Range { subtype } => decode_range(registry, ty, *subtype, format, raw, depth)?,
        TypeKind::Base => return Ok(None),
    }))
}

fn decode_array(
    registry: Option<&TypeRegistry>,
    ty: Oid,
    elem: Oid,
    format: Format,
    raw: &[u8],
    depth: usize,
) -> Result<Value, TypeError> {
    let mut element = |elem: Oid, format: Format, value: Option<&[u8]>| match value {
        Some(value) => decode(registry, elem, format, value, depth + 1).map(Some),
        None => Ok(None),
    };
    let (dims, elements) =
        array::decode_as(ty, elem, format, raw, array::MAX_DIMENSIONS, &mut element)?;
    Ok(Value::Array(Array { dims, elements }))
}

fn decode_range(
    registry: Option<&TypeRegistry>,
    ty: Oid,
    subtype: Oid,
    format: Format,
    raw: &[u8],
    depth: usize,
) -> Result<Value, TypeError> {
    let mut element = |sub: Oid, format: Format, value: Option<&[u8]>| match value {
        Some(value) => decode(registry, sub, format, value, depth + 1),
        None => Ok(Value::Null),
    };
    let range = range::decode(ty, subtype, format, raw, &mut element)?;
    Ok(Value::Range(Box::new(range)))
}

/// Decodes a record; `fields` are the attribute types when known, for the
/// text format.
fn decode_record(
    registry: Option<&TypeRegistry>,
    ty: Oid,
    fields: Option<&[(String, Oid)]>,
    format: Format,
    raw: &[u8],
    depth: usize,
) -> Result<Value, TypeError> {
    match format {
        Format::Binary => {
            let mut field = |field_type: Oid, value: Option<&[u8]>| match value {
                Some(value) => decode(registry, field_type, Format::Binary, value, depth + 1),
                None => Ok(Value::Null),
            };
            composite::decode_binary(ty, raw, &mut field).map(Value::Record)
        }
        Format::Text => {
            let mut texts = composite::parse_text(ty, raw)?;
            // `()` is both a record without fields and one whose single
            // field is NULL; the type's fields tell which.
            if texts.is_empty() && fields.is_some_and(|f| f.len() == 1) {
                texts.push(None);
            }
            let mut values = Vec::with_capacity(texts.len());
            for (i, text) in texts.into_iter().enumerate() {
                let field_type = fields.and_then(|f| f.get(i)).map(|(_, t)| *t);
                values.push(match (text, field_type) {
                    (None, _) => Value::Null,
                    (Some(text), Some(field_type)) => {
                        decode(registry, field_type, Format::Text, &text, depth + 1)?
                    }
                    (Some(text), None) => Value::Text(utf8(ty, &text)?.to_owned()),
                });
            }
            Ok(Value::Record(values))
        }
    }
}

impl FromSql<'_> for Value {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode(None, ty, format, raw, 0)
    }

    fn from_sql_with(
        ty: Oid,
        format: Format,
        raw: &[u8],
        types: Option<&TypeRegistry>,
    ) -> Result<Self, TypeError> {
        decode(types, ty, format, raw, 0)
    }

    fn from_null(_ty: Oid) -> Result<Self, TypeError> {
        Ok(Value::Null)
    }
}

// ---------------------------------------------------------------------------
// Encoding.

impl ToSql for Value {
    fn natural_type(&self) -> Oid {
        match self {
            Value::Bool(_) => oid::BOOL,
            Value::Int2(_) => oid::INT2,
            Value::Int4(_) => oid::INT4,
            Value::Int8(_) => oid::INT8,
            Value::Oid(_) => oid::OID,
            Value::Float4(_) => oid::FLOAT4,
            Value::Float8(_) => oid::FLOAT8,
            Value::Bytea(_) => oid::BYTEA,
            Value::Numeric(v) => v.natural_type(),
            Value::Date(v) => v.natural_type(),
            Value::Time(v) => v.natural_type(),
            Value::TimeTz(v) => v.natural_type(),
            Value::Timestamp(v) => v.natural_type(),
            Value::TimestampTz(v) => v.natural_type(),
            Value::Interval(v) => v.natural_type(),
            Value::Uuid(v) => v.natural_type(),
            Value::Inet(v) => v.natural_type(),
            Value::Array(a) => a.natural_type(),
            Value::Range(r) => r.natural_type(),
            Value::Unknown { oid, .. } => *oid,
            // Text-like values let the server infer their type, as strings
            // do.
            Value::Null | Value::Text(_) | Value::Json(_) | Value::Record(_) | Value::Hstore(_) => {
                0
            }
        }
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        match self {
            Value::Null => Ok(Encoded::Null),
            Value::Bool(v) => v.to_sql(ty, out),
            Value::Int2(v) => v.to_sql(ty, out),
            Value::Int4(v) => v.to_sql(ty, out),
            Value::Int8(v) => v.to_sql(ty, out),
            Value::Oid(v) => v.to_sql(ty, out),
            Value::Float4(v) => v.to_sql(ty, out),
            Value::Float8(v) => v.to_sql(ty, out),
            Value::Text(s) | Value::Json(s) => s.to_sql(ty, out),
            Value::Numeric(v) => v.to_sql(ty, out),
            Value::Date(v) => v.to_sql(ty, out),
            Value::Time(v) => v.to_sql(ty, out),
            Value::TimeTz(v) => v.to_sql(ty, out),
            Value::Timestamp(v) => v.to_sql(ty, out),
            Value::TimestampTz(v) => v.to_sql(ty, out),
            Value::Interval(v) => v.to_sql(ty, out),
            Value::Uuid(v) => v.to_sql(ty, out),
            Value::Inet(v) => v.to_sql(ty, out),
            // Into text, a bytea value is its text form, as `bytea::text`.
            Value::Bytea(_) if text::takes_any_text(ty) => {
                out.put_slice(self.to_string().as_bytes());
                Ok(Encoded::Text)
            }
            Value::Bytea(b) => b.to_sql(ty, out),
            Value::Array(a) => a.to_sql(ty, out),
            Value::Range(r) => r.to_sql(ty, out),
            Value::Hstore(m) => m.to_sql(ty, out),
            Value::Record(fields) => {
                if !(ty == 0 || ty >= FIRST_NORMAL_OBJECT_ID || text::takes_any_text(ty)) {
                    return Err(TypeError::wrong_type::<Self>(ty));
                }
                let mut rendered = Vec::with_capacity(fields.len());
                for field in fields {
                    rendered.push(text_of(field, 0)?);
                }
                let mut text = Vec::new();
                composite::write_text(&mut text, &rendered);
                if text.contains(&0) {
                    return Err(TypeError::Nul);
                }
                out.put_slice(&text);
                Ok(Encoded::Text)
            }
            Value::Unknown { oid, format, bytes } => {
                let encoded = match format {
                    Format::Binary => Encoded::Binary,
                    Format::Text => Encoded::Text,
                };
                // The same type takes its bytes as they are; another one can
                // still parse text.
                if ty == 0 || ty == *oid || *format == Format::Text {
                    if *format == Format::Text && bytes.contains(&0) {
                        return Err(TypeError::Nul);
                    }
                    out.put_slice(bytes);
                    Ok(encoded)
                } else {
                    Err(TypeError::wrong_type::<Self>(ty))
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Display.

/// Writes a float as PostgreSQL's `float4out`/`float8out` do (shortest
/// exact digits): fixed notation for decimal exponents in
/// `-4..fixed_below`, scientific with a signed two-digit exponent beyond.
fn write_float<F>(f: &mut fmt::Formatter<'_>, value: F, fixed_below: i32) -> fmt::Result
where
    F: fmt::Display + fmt::LowerExp + Into<f64> + Copy,
{
    let wide: f64 = value.into();
    if wide.is_nan() {
        return f.write_str("NaN");
    }
    if wide.is_infinite() {
        return f.write_str(if wide > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if wide == 0.0 || (-4..fixed_below).contains(&exponent) {
        write!(f, "{value}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        write!(f, "{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str("\\x")?;
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// Writes a value in its text format, as its conversion writes it for a
/// `text` parameter (the server's own output format).
fn write_as_text(f: &mut fmt::Formatter<'_>, value: &dyn ToSql) -> fmt::Result {
    let mut out = BytesMut::new();
    match value.to_sql(oid::TEXT, &mut out) {
        Ok(Encoded::Text) => f.write_str(&String::from_utf8_lossy(&out)),
        // Not expected of any type here; Display must not fail.
        _ => write!(f, "{value:?}"),
    }
}

/// Writes an interval in the default `postgres` `IntervalStyle`, as psql
/// shows it: `1 year 2 mons -3 days +04:05:06.5` (`EncodeInterval`).
fn write_interval(f: &mut fmt::Formatter<'_>, v: &Interval) -> fmt::Result {
    if *v == Interval::INFINITY {
        return f.write_str("infinity");
    }
    if *v == Interval::NEG_INFINITY {
        return f.write_str("-infinity");
    }
    const USECS_PER_MINUTE: i64 = 60_000_000;
    const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
    let mut is_zero = true;
    // Each non-zero part sets whether the next positive one shows a `+`.
    let mut is_before = false;
    let parts = [
        (i64::from(v.months / 12), "year"),
        (i64::from(v.months % 12), "mon"),
        (i64::from(v.days), "day"),
    ];
    for (value, unit) in parts {
        if value == 0 {
            continue;
        }
        let space = if is_zero { "" } else { " " };
        let plus = if is_before && value > 0 { "+" } else { "" };
        let plural = if value != 1 { "s" } else { "" };
        write!(f, "{space}{plus}{value} {unit}{plural}")?;
        is_before = value < 0;
        is_zero = false;
    }
    let us = v.microseconds;
    if is_zero || us != 0 {
        let space = if is_zero { "" } else { " " };
        let sign = if us < 0 {
            "-"
        } else if is_before {
            "+"
        } else {
            ""
        };
        let abs = us.unsigned_abs();
        let (hours, minutes) = (
            abs / USECS_PER_HOUR as u64,
            abs / USECS_PER_MINUTE as u64 % 60,
        );
        let (secs, micros) = (abs / 1_000_000 % 60, abs % 1_000_000);
        write!(f, "{space}{sign}{hours:02}:{minutes:02}:{secs:02}")?;
        if micros != 0 {
            let digits = format!("{micros:06}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
    }
    Ok(())
}

/// The text of a value inside a container: `None` for NULL.
fn element_text(value: &Value) -> Option<Vec<u8>> {
    (!value.is_null()).then(|| value.to_string().into_bytes())
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(v) => f.write_str(if *v { "t" } else { "f" }),
            Value::Int2(v) => write!(f, "{v}"),
            Value::Int4(v) => write!(f, "{v}"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Oid(v) => write!(f, "{v}"),
            Value::Float4(v) => write_float(f, *v, 6),
            Value::Float8(v) => write_float(f, *v, 15),
            Value::Text(s) | Value::Json(s) => f.write_str(s),
            Value::Bytea(b) => write_hex(f, b),
            Value::Numeric(v) => write_as_text(f, v),
            Value::Date(v) => write_as_text(f, v),
            Value::Time(v) => write_as_text(f, v),
            Value::TimeTz(v) => write_as_text(f, v),
            Value::Timestamp(v) => write_as_text(f, v),
            Value::TimestampTz(v) => write_as_text(f, v),
            Value::Interval(v) => write_interval(f, v),
            Value::Uuid(v) => write_as_text(f, v),
            Value::Inet(v) => write_as_text(f, v),
            Value::Array(a) => {
                let elements: Vec<Option<Vec<u8>>> = a
                    .elements
                    .iter()
                    .map(|e| e.as_ref().and_then(element_text))
                    .collect();
                // Elements of a type with another delimiter (`box`) say so.
                let delim = a
                    .elements
                    .iter()
                    .find_map(|e| match e {
                        Some(Value::Unknown { oid, .. }) => Some(array::delimiter(*oid)),
                        _ => None,
                    })
                    .unwrap_or(b',');
                let mut out = Vec::new();
                array::write_text(&mut out, &a.dims, &elements, delim);
                f.write_str(&String::from_utf8_lossy(&out))
            }
            Value::Record(fields) => {
                let fields: Vec<Option<Vec<u8>>> = fields.iter().map(element_text).collect();
                let mut out = Vec::new();
                composite::write_text(&mut out, &fields);
                f.write_str(&String::from_utf8_lossy(&out))
            }
            Value::Range(r) => write!(f, "{r}"),
            Value::Hstore(map) => {
                let mut out = Vec::new();
                hstore::write_text(
                    &mut out,
                    map.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
                );
                f.write_str(&String::from_utf8_lossy(&out))
            }
            Value::Unknown { format, bytes, .. } => match format {
                Format::Text => f.write_str(&String::from_utf8_lossy(bytes)),
                Format::Binary => write_hex(f, bytes),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Rows.

impl Row {
    /// The value of a column, decoded by its type (see [`Value`]); SQL NULL
    /// is [`Value::Null`].
    pub fn get_value(&self, index: impl ColumnIndex) -> Result<Value, ColumnError> {
        self.try_get(index)
    }

    /// Every column's value, in order.
    pub fn values_dynamic(&self) -> Result<Vec<Value>, ColumnError> {
        (0..self.len()).map(|i| self.try_get(i)).collect()
    }

    /// Every column's name and value, in order (names may repeat).
    pub fn to_map(&self) -> Result<Vec<(String, Value)>, ColumnError> {
        self.description()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| Ok((field.name.clone(), self.try_get(i)?)))
            .collect()
    }

    /// Like [`get_value`](Self::get_value), decoding extension and
    /// user-defined types (enums, composites, `hstore`, ...) that `registry`
    /// knows.
    pub fn get_value_with(
        &self,
        index: impl ColumnIndex,
        registry: &TypeRegistry,
    ) -> Result<Value, ColumnError> {
        let index = index.resolve(self.description())?;
        let (Some(field), Some(raw)) = (self.description().fields().get(index), self.raw(index))
        else {
            return Err(ColumnError::OutOfRange {
                index,
                len: self.len(),
            });
        };
        self.check_encoding(index)?;
        registry
            .decode_nullable(field.type_oid, field.format, raw)
            .map_err(|source| ColumnError::Decode {
                index,
                column: field.name.clone(),
                source,
            })
    }

    /// Like [`values_dynamic`](Self::values_dynamic), with `registry`.
    pub fn values_with(&self, registry: &TypeRegistry) -> Result<Vec<Value>, ColumnError> {
        (0..self.len())
            .map(|i| self.get_value_with(i, registry))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Rows for tests.

    use std::sync::Arc;

    use bytes::{BufMut, BytesMut};

    use crate::message::backend::BackendMessage;
    use crate::row::{Format, Row};
    use crate::types::Oid;

    /// A row with one column per `(name, type, format, value)`, built from
    /// wire messages as the server would send them.
    pub fn row(columns: &[(&str, Oid, Format, Option<&[u8]>)]) -> Row {
        let mut desc = BytesMut::new();
        let mut data = BytesMut::new();
        desc.put_i16(columns.len() as i16);
        data.put_i16(columns.len() as i16);
        for (name, ty, format, value) in columns {
            desc.put_slice(name.as_bytes());
            desc.put_u8(0);
            desc.put_u32(0);
            desc.put_i16(0);
            desc.put_u32(*ty);
            desc.put_i16(-1);
            desc.put_i32(-1);
            desc.put_i16(match format {
                Format::Text => 0,
                Format::Binary => 1,
            });
            match value {
                None => data.put_i32(-1),
                Some(v) => {
                    data.put_i32(v.len() as i32);
                    data.put_slice(v);
                }
            }
        }
        let Ok(BackendMessage::RowDescription(desc)) = BackendMessage::decode(b'T', desc.freeze())
        else {
            panic!("bad RowDescription")
        };
        let Ok(BackendMessage::DataRow(data)) = BackendMessage::decode(b'D', data.freeze()) else {
            panic!("bad DataRow")
        };
        Row::new(Arc::new(desc), data).expect("column count mismatch")
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::encode;
    use super::super::{Bound, Dimension, Infinite};
    use super::testing::row;
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    fn decode_both(ty: Oid, text_form: &[u8], binary_form: &[u8]) -> (Value, Value) {
        let t = Value::from_sql(ty, Format::Text, text_form).unwrap();
        let b = Value::from_sql(ty, Format::Binary, binary_form).unwrap();
        (t, b)
    }

    #[test]
    fn decodes_scalar_builtins_in_both_formats() {
        for (ty, text_form, binary_form, expected) in [
            (oid::BOOL, &b"t"[..], &[1][..], Value::Bool(true)),
            (oid::BOOL, b"f", &[0], Value::Bool(false)),
            (oid::INT2, b"-2", &[0xff, 0xfe], Value::Int2(-2)),
            (oid::INT4, b"258", &[0, 0, 1, 2], Value::Int4(258)),
            (oid::INT8, b"1", &1i64.to_be_bytes(), Value::Int8(1)),
            (oid::OID, b"4294967295", &[0xff; 4], Value::Oid(u32::MAX)),
            (
                oid::FLOAT4,
                b"1.5",
                &1.5f32.to_be_bytes(),
                Value::Float4(1.5),
            ),
            (
                oid::FLOAT8,
                b"-0.25",
                &(-0.25f64).to_be_bytes(),
                Value::Float8(-0.25),
            ),
            (oid::TEXT, b"hi", b"hi", text("hi")),
            (oid::VARCHAR, b"v", b"v", text("v")),
            (oid::BPCHAR, b"b  ", b"b  ", text("b  ")),
            (oid::NAME, b"pg_class", b"pg_class", text("pg_class")),
            (oid::CHAR, b"r", b"r", text("r")),
            (oid::UNKNOWN, b"?", b"?", text("?")),
            (
                oid::JSON,
                br#"{"a":1}"#,
                br#"{"a":1}"#,
                Value::Json(r#"{"a":1}"#.to_owned()),
            ),
            (
                oid::JSONB,
                br#"{"a": 1}"#,
                b"\x01{\"a\": 1}",
                Value::Json(r#"{"a": 1}"#.to_owned()),
            ),
            (
                oid::BYTEA,
                br"\x00ff",
                &[0, 0xff],
                Value::Bytea(vec![0, 0xff]),
            ),
        ] {
            let (t, b) = decode_both(ty, text_form, binary_form);
            assert_eq!(t, expected, "text of {ty}");
            assert_eq!(b, expected, "binary of {ty}");
        }
        assert_eq!(Value::from_null(oid::INT4), Ok(Value::Null));
    }

    #[test]
    fn decodes_containers_in_both_formats() {
        let mut raw = BytesMut::new();
        raw.put_i32(1);
        raw.put_i32(1);
        raw.put_u32(oid::INT4);
        raw.put_i32(2);
        raw.put_i32(1);
        raw.put_i32(4);
        raw.put_i32(7);
        raw.put_i32(-1);
        let expected = Value::Array(Array::from_nullable(vec![Some(Value::Int4(7)), None]));
        assert_eq!(
            decode_both(oid::INT4_ARRAY, b"{7,NULL}", &raw),
            (expected.clone(), expected)
        );

        let (t, b) = decode_both(
            oid::TEXT_ARRAY,
            b"{}",
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25],
        );
        assert_eq!(
            (t.to_string(), b.to_string()),
            ("{}".to_owned(), "{}".to_owned())
        );

        let mut raw = vec![0x02];
        raw.extend_from_slice(&4i32.to_be_bytes());
        raw.extend_from_slice(&1i32.to_be_bytes());
        raw.extend_from_slice(&4i32.to_be_bytes());
        raw.extend_from_slice(&5i32.to_be_bytes());
        let expected = Value::Range(Box::new(Range::new(
            Bound::Included(Value::Int4(1)),
            Bound::Excluded(Value::Int4(5)),
        )));
        assert_eq!(
            decode_both(oid::INT4RANGE, b"[1,5)", &raw),
            (expected.clone(), expected)
        );
        assert_eq!(
            Value::from_sql(oid::INT8RANGE, Format::Text, b"empty"),
            Ok(Value::Range(Box::new(Range::Empty)))
        );

        let mut raw = BytesMut::new();
        raw.put_i32(2);
        raw.put_u32(oid::INT4);
        raw.put_i32(4);
        raw.put_i32(1);
        raw.put_u32(oid::TEXT);
        raw.put_i32(-1);
        let (t, b) = decode_both(oid::RECORD, b"(1,)", &raw);
        assert_eq!(t, Value::Record(vec![text("1"), Value::Null]));
        assert_eq!(b, Value::Record(vec![Value::Int4(1), Value::Null]));

        // int2vector, as in pg_index.
        assert_eq!(
            Value::from_sql(oid::INT2VECTOR, Format::Text, b"1 3").map(|v| v.to_string()),
            Ok("[0:1]={1,3}".to_owned())
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn decodes_numeric_date_time_uuid_inet_in_both_formats() {
        // Text and binary as PostgreSQL 15 sends them (TimeZone UTC); the
        // text shown is the server's, so Display must reproduce it.
        for (ty, shown, binary) in [
            (oid::NUMERIC, "123.4500", "0002000000000004007b1194"),
            (oid::NUMERIC, "NaN", "00000000c0000000"),
            (oid::DATE, "2024-02-29", "00002279"),
            (oid::DATE, "infinity", "7fffffff"),
            (oid::TIME, "13:45:06.5", "0000000b86d13da0"),
            (oid::TIMETZ, "13:45:06+02", "0000000b86c99c80ffffe3e0"),
            (
                oid::TIMESTAMP,
                "2024-02-29 13:45:06.123456",
                "0002b5843c57dec0",
            ),
            (
                oid::TIMESTAMPTZ,
                "2024-02-29 13:45:06+00",
                "0002b5843c55fc80",
            ),
            (oid::TIMESTAMPTZ, "-infinity", "8000000000000000"),
            (
                oid::INTERVAL,
                "1 year 2 mons 3 days 04:05:06.5",
                "000000036c9361a0000000030000000e",
            ),
            (
                oid::UUID,
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            ),
            (oid::INET, "192.168.0.1/24", "02180004c0a80001"),
            (oid::CIDR, "10.0.0.0/8", "020801040a000000"),
            (oid::INET, "::1", "0380001000000000000000000000000000000001"),
            (
                oid::DATE_ARRAY,
                "{2024-01-01,NULL}",
                "00000001000000010000043a0000000200000001000000040000223effffffff",
            ),
            (
                oid::DATERANGE,
                "[2024-01-01,2024-02-01)",
                "02000000040000223e000000040000225d",
            ),
            (
                oid::NUMRANGE,
                "[1.5,2.5]",
                "060000000c0002000000000001000113880000000c000200000000000100021388",
            ),
        ] {
            let (t, b) = decode_both(ty, shown.as_bytes(), &hex(binary));
            assert_eq!(t, b, "{shown}");
            assert_eq!(t.to_string(), shown);
            assert!(!matches!(t, Value::Unknown { .. }), "{t:?}");
            // Each goes back out as its natural binary encoding.
            let (encoded, raw) = encode(&b, 0).unwrap();
            assert_eq!(encoded, Encoded::Binary, "{shown}");
            assert_eq!(Value::from_sql(ty, Format::Binary, &raw), Ok(b));
        }
        let Ok(Value::Date(Infinite::Value(d))) =
            Value::from_sql(oid::DATE, Format::Text, b"2024-02-29")
        else {
            panic!("not a date")
        };
        assert_eq!((d.year(), d.day()), (2024, 29));
        assert_eq!(
            Value::from_sql(oid::UUID, Format::Binary, &[7; 16]),
            Ok(Value::Uuid([7; 16]))
        );
    }

    #[test]
    fn intervals_display_in_the_postgres_style() {
        let i = |months: i32, days: i32, microseconds: i64| {
            Value::Interval(Interval {
                months,
                days,
                microseconds,
            })
            .to_string()
        };
        // Outputs of PostgreSQL 15's interval_out.
        assert_eq!(i(0, 0, 0), "00:00:00");
        assert_eq!(i(1, 0, 0), "1 mon");
        assert_eq!(i(12, 1, 0), "1 year 1 day");
        assert_eq!(
            i(14, -3, 14_706_789_000),
            "1 year 2 mons -3 days +04:05:06.789"
        );
        assert_eq!(i(-14, 3, -1_000_000), "-1 years -2 mons +3 days -00:00:01");
        assert_eq!(i(0, 0, 360_000_000_000), "100:00:00");
        assert_eq!(i(0, 2, 500_000), "2 days 00:00:00.5");
        assert_eq!(i(0, -1, 1), "-1 days +00:00:00.000001");
        assert_eq!(Value::Interval(Interval::INFINITY).to_string(), "infinity");
    }

    #[test]
    fn values_beyond_the_rust_types_stay_unknown() {
        // PostgreSQL dates reach far past the `time` crate's year 9999.
        for (format, raw) in [
            (Format::Text, &b"10000-01-01"[..]),
            (Format::Binary, &hex("002c95d4")[..]),
        ] {
            assert_eq!(
                Value::from_sql(oid::DATE, format, raw),
                Ok(Value::Unknown {
                    oid: oid::DATE,
                    format,
                    bytes: raw.to_vec()
                })
            );
        }
        assert_eq!(
            Value::from_sql(oid::DATE, Format::Text, b"10000-01-01").map(|v| v.to_string()),
            Ok("10000-01-01".to_owned())
        );
        // Malformed values of these types are still errors.
        assert!(Value::from_sql(oid::DATE, Format::Binary, &[0]).is_err());
        assert!(Value::from_sql(oid::UUID, Format::Text, b"nope").is_err());
        assert!(Value::from_sql(oid::NUMERIC, Format::Text, b"1.2.3").is_err());
    }

    #[test]
    fn unknown_types_are_kept() {
        for (ty, format) in [
            (16_500, Format::Text),
            (16_500, Format::Binary),
            (600, Format::Text),
            (2205, Format::Binary),
        ] {
            assert_eq!(
                Value::from_sql(ty, format, b"\x00(1,2)"),
                Ok(Value::Unknown {
                    oid: ty,
                    format,
                    bytes: b"\x00(1,2)".to_vec()
                })
            );
        }
        // box[] uses `;` between elements.
        let Ok(Value::Array(boxes)) =
            Value::from_sql(1020, Format::Text, b"{(1,1),(0,0);(2,2),(1,1)}")
        else {
            panic!("box[] did not decode")
        };
        assert_eq!(boxes.len(), 2);
        assert_eq!(
            Value::Array(boxes.clone()).to_string(),
            "{(1,1),(0,0);(2,2),(1,1)}"
        );
        assert_eq!(
            boxes.elements[1],
            Some(Value::Unknown {
                oid: 603,
                format: Format::Text,
                bytes: b"(2,2),(1,1)".to_vec()
            })
        );
        // Known types with malformed bytes are still errors.
        assert!(Value::from_sql(oid::INT4, Format::Binary, &[0]).is_err());
        assert!(Value::from_sql(oid::INT4_ARRAY, Format::Text, b"{1").is_err());
    }

    #[test]
    fn display_like_psql() {
        let cases: Vec<(Value, &str)> = vec![
            (Value::Null, "NULL"),
            (Value::Bool(true), "t"),
            (Value::Bool(false), "f"),
            (Value::Int2(-3), "-3"),
            (Value::Int8(i64::MIN), "-9223372036854775808"),
            (Value::Oid(26), "26"),
            (Value::Float8(1.5), "1.5"),
            (Value::Float8(0.1), "0.1"),
            (Value::Float8(-0.0), "-0"),
            (Value::Float8(1e300), "1e+300"),
            (Value::Float8(1.5e-7), "1.5e-07"),
            (Value::Float8(0.0001), "0.0001"),
            (Value::Float8(123_456_789_012_345.0), "123456789012345"),
            (Value::Float8(1e15), "1e+15"),
            (Value::Float8(f64::NAN), "NaN"),
            (Value::Float8(f64::NEG_INFINITY), "-Infinity"),
            (Value::Float4(f32::INFINITY), "Infinity"),
            (Value::Float4(0.1), "0.1"),
            (Value::Float4(100_000.0), "100000"),
            (Value::Float4(1e6), "1e+06"),
            (text("héllo"), "héllo"),
            (Value::Json("[1]".to_owned()), "[1]"),
            (Value::Bytea(vec![0, 0xab]), "\\x00ab"),
            (Value::from(vec![Some(1i32), None]), "{1,NULL}"),
            (
                Value::from(vec![Some("a b"), Some("NULL"), Some(""), Some("x")]),
                r#"{"a b","NULL","",x}"#,
            ),
            (
                Value::Array(
                    Array::new(
                        vec![
                            Dimension {
                                len: 2,
                                lower_bound: 0,
                            },
                            Dimension::new(1),
                        ],
                        vec![Some(Value::Int4(1)), Some(Value::Null)],
                    )
                    .unwrap(),
                ),
                "[0:1][1:1]={{1},{NULL}}",
            ),
            (
                Value::Record(vec![Value::Int4(1), text("a b"), Value::Null, text("")]),
                r#"(1,"a b",,"")"#,
            ),
            (
                Value::Range(Box::new(Range::new(
                    Bound::Included(Value::Int8(1)),
                    Bound::Unbounded,
                ))),
                "[1,)",
            ),
            (
                Value::Hstore(
                    [
                        ("k".to_owned(), Some("v".to_owned())),
                        ("n".to_owned(), None),
                    ]
                    .into_iter()
                    .collect(),
                ),
                r#""k"=>"v", "n"=>NULL"#,
            ),
            (
                Value::Unknown {
                    oid: 600,
                    format: Format::Text,
                    bytes: b"(1,2)".to_vec(),
                },
                "(1,2)",
            ),
            (
                Value::Unknown {
                    oid: 600,
                    format: Format::Binary,
                    bytes: vec![1, 2],
                },
                "\\x0102",
            ),
        ];
        for (value, shown) in cases {
            assert_eq!(value.to_string(), shown, "{value:?}");
        }
        // Arrays of records quote the records.
        let v = Value::from_sql(2287, Format::Text, br#"{"(1,x)","(2,\"y z\")"}"#).unwrap();
        assert_eq!(v.to_string(), r#"{"(1,x)","(2,\"y z\")"}"#);
    }

    #[test]
    fn display_round_trips_through_text_decoding() {
        for (ty, text_form) in [
            (oid::INT4_ARRAY, &b"{{1,2},{3,NULL}}"[..]),
            (
                oid::TEXT_ARRAY,
                r#"{"a,b","c\"d","e\\f",NULL,"NULL",ü}"#.as_bytes(),
            ),
            (oid::FLOAT8_ARRAY, b"{1.5,NaN,-Infinity,1e+300}"),
            (oid::BOOL_ARRAY, b"[0:1]={t,f}"),
            (oid::INT8RANGE, b"[1,10)"),
            (oid::RECORD, br#"(1,"a b",,"")"#),
            (oid::BYTEA_ARRAY, br#"{"\\x00ff"}"#),
        ] {
            let v = Value::from_sql(ty, Format::Text, text_form).unwrap();
            assert_eq!(v.to_string().as_bytes(), text_form, "{v:?}");
        }
    }

    #[test]
    fn encodes_as_parameters() {
        for (value, ty, expected) in [
            (Value::Int4(5), 0, (Encoded::Binary, vec![0, 0, 0, 5])),
            (
                Value::Int4(5),
                oid::INT8,
                (Encoded::Binary, 5i64.to_be_bytes().to_vec()),
            ),
            (Value::Bool(true), 0, (Encoded::Binary, vec![1])),
            (text("x"), oid::TEXT, (Encoded::Text, b"x".to_vec())),
            (Value::Null, oid::INT4, (Encoded::Null, vec![])),
            (Value::Bytea(vec![1]), 0, (Encoded::Binary, vec![1])),
            (
                Value::Bytea(vec![1]),
                oid::TEXT,
                (Encoded::Text, b"\\x01".to_vec()),
            ),
            (
                Value::Record(vec![
                    Value::Int4(1),
                    text("a b"),
                    Value::Null,
                    Value::Bytea(vec![2]),
                ]),
                0,
                (Encoded::Text, br#"(1,"a b",,"\\x02")"#.to_vec()),
            ),
            (
                Value::Unknown {
                    oid: 600,
                    format: Format::Text,
                    bytes: b"(1,2)".to_vec(),
                },
                0,
                (Encoded::Text, b"(1,2)".to_vec()),
            ),
            (
                Value::Unknown {
                    oid: 16_500,
                    format: Format::Binary,
                    bytes: vec![9],
                },
                16_500,
                (Encoded::Binary, vec![9]),
            ),
        ] {
            assert_eq!(encode(&value, ty), Ok(expected), "{value:?} as {ty}");
        }
        assert_eq!(
            encode(
                &Value::Unknown {
                    oid: 16_500,
                    format: Format::Binary,
                    bytes: vec![9],
                },
                oid::INT4
            ),
            Err(TypeError::wrong_type::<Value>(oid::INT4))
        );
        assert_eq!(
            encode(&Value::Record(vec![]), oid::INT4),
            Err(TypeError::wrong_type::<Value>(oid::INT4))
        );

        // Natural types, and arrays of values.
        assert_eq!(Value::Int2(1).natural_type(), oid::INT2);
        assert_eq!(text("x").natural_type(), 0);
        let ints = Value::from(vec![Some(1i64), None, Some(3)]);
        assert_eq!(ints.natural_type(), oid::INT8_ARRAY);
        let (format, raw) = encode(&ints, 0).unwrap();
        assert_eq!(format, Encoded::Binary);
        assert_eq!(
            Value::from_sql(oid::INT8_ARRAY, Format::Binary, &raw),
            Ok(ints)
        );
        let mixed = Value::Array(Array::from(vec![Value::Int4(1), text("x")]));
        assert_eq!(mixed.natural_type(), oid::INT4_ARRAY);
        assert_eq!(
            encode(&mixed, oid::TEXT),
            Ok((Encoded::Text, b"{1,x}".to_vec()))
        );
        let range = Value::Range(Box::new(Range::new(
            Bound::Included(Value::Int4(1)),
            Bound::Unbounded,
        )));
        assert_eq!(range.natural_type(), oid::INT4RANGE);
        let (_, raw) = encode(&range, 0).unwrap();
        assert_eq!(
            Value::from_sql(oid::INT4RANGE, Format::Binary, &raw),
            Ok(range)
        );
    }

    #[test]
    fn accessors_and_conversions() {
        assert!(Value::Null.is_null());
        assert_eq!(Value::from("s").as_str(), Some("s"));
        assert_eq!(Value::from(3i16).as_i64(), Some(3));
        assert_eq!(Value::from(7u32).as_i64(), Some(7));
        assert_eq!(Value::from(2i32).as_f64(), Some(2.0));
        assert_eq!(Value::from(0.5f32).as_f64(), Some(0.5));
        assert_eq!(Value::from(true).as_bool(), Some(true));
        assert_eq!(Value::from(None::<i32>), Value::Null);
        assert_eq!(Value::from(&b"\x01"[..]), Value::Bytea(vec![1]));
        assert_eq!(Value::from(1.5f64).as_str(), None);
    }

    #[test]
    fn row_values() {
        let row = row(&[
            ("id", oid::INT4, Format::Binary, Some(&[0, 0, 0, 42])),
            ("name", oid::TEXT, Format::Text, Some(b"alice")),
            ("tags", oid::TEXT_ARRAY, Format::Text, Some(b"{a,\"b c\"}")),
            ("note", oid::TEXT, Format::Text, None),
            ("mood", 16_390, Format::Text, Some(b"happy")),
        ]);
        assert_eq!(row.get_value(0), Ok(Value::Int4(42)));
        assert_eq!(row.get_value("name"), Ok(text("alice")));
        assert_eq!(row.get_value("note"), Ok(Value::Null));
        assert_eq!(
            row.get_value(9),
            Err(ColumnError::OutOfRange { index: 9, len: 5 })
        );
        let values = row.values_dynamic().unwrap();
        let shown: Vec<String> = values.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["42", "alice", r#"{a,"b c"}"#, "NULL", "happy"]);
        let map = row.to_map().unwrap();
        assert_eq!(map[0], ("id".to_owned(), Value::Int4(42)));
        assert_eq!(map[4].0, "mood");
        assert!(matches!(map[4].1, Value::Unknown { oid: 16_390, .. }));

        let mut types = TypeRegistry::new();
        types.register("mood", 16_390, TypeKind::Enum);
        assert_eq!(row.get_value_with("mood", &types), Ok(text("happy")));
        assert_eq!(row.values_with(&types).unwrap()[4], text("happy"));
        assert_eq!(
            row.get_value_with("nope", &types),
            Err(ColumnError::UnknownColumn("nope".to_owned()))
        );

        let bad = super::testing::row(&[("n", oid::INT4, Format::Binary, Some(&[1]))]);
        assert!(matches!(
            bad.values_dynamic(),
            Err(ColumnError::Decode { index: 0, .. })
        ));
        assert!(matches!(
            bad.get_value_with(0, &types),
            Err(ColumnError::Decode { index: 0, .. })
        ));
    }

    #[test]
    fn registry_hstore_ranges_and_domains() {
        let mut types = TypeRegistry::new();
        types.register("hstore", 16_500, TypeKind::Hstore);
        types.register("_hstore", 16_505, TypeKind::Array { element: 16_500 });
        types.register(
            "floatrange",
            16_600,
            TypeKind::Range {
                subtype: oid::FLOAT8,
            },
        );
        types.register("posint", 16_700, TypeKind::Domain { base: oid::INT4 });
        types.register("_posint", 16_701, TypeKind::Array { element: 16_700 });
        types.register("citext", 16_800, TypeKind::Base);
        let h = types
            .decode(16_500, Format::Text, br#""a"=>"1", "b"=>NULL"#)
            .unwrap();
        assert_eq!(h.to_string(), r#""a"=>"1", "b"=>NULL"#);
        let hs = types
            .decode(16_505, Format::Text, br#"{"\"a\"=>\"1\""}"#)
            .unwrap();
        assert_eq!(hs.to_string(), r#"{"\"a\"=>\"1\""}"#);
        assert_eq!(
            types.decode(16_600, Format::Text, b"[1.5,2)"),
            Ok(Value::Range(Box::new(Range::new(
                Bound::Included(Value::Float8(1.5)),
                Bound::Excluded(Value::Float8(2.0))
            ))))
        );
        assert_eq!(
            types
                .decode(16_701, Format::Text, b"{1,2}")
                .map(|v| v.to_string()),
            Ok("{1,2}".to_owned())
        );
        assert_eq!(
            types.decode(16_701, Format::Text, b"{1,2}"),
            Ok(Value::from(vec![Some(1i32), Some(2)]))
        );
        assert!(matches!(
            types.decode(16_800, Format::Text, b"Mixed"),
            Ok(Value::Unknown { oid: 16_800, .. })
        ));
        assert!(types.decode(16_500, Format::Text, b"not hstore").is_err());
        // A domain over itself is cut off, not followed forever.
        types.register("loop", 16_900, TypeKind::Domain { base: 16_900 });
        assert!(matches!(
            types.decode(16_900, Format::Text, b"1"),
            Err(TypeError::Invalid { .. })
        ));
    }
}

#[cfg(test)]
mod proptests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::super::{Array, Dimension, FromSql, Range, TypeKind, TypeRegistry};
    use super::*;

    const OIDS: [Oid; 25] = [
        oid::NUMERIC,
        oid::DATE,
        oid::TIME,
        oid::TIMETZ,
        oid::TIMESTAMPTZ,
        oid::INTERVAL,
        oid::UUID,
        oid::INET,
        oid::DATE_ARRAY,
        oid::INT4_ARRAY,
        oid::TEXT_ARRAY,
        oid::BYTEA_ARRAY,
        oid::FLOAT8_ARRAY,
        1020, // box[]
        oid::INT2VECTOR,
        oid::RECORD,
        oid::RECORD_ARRAY,
        oid::INT4RANGE,
        oid::NUMRANGE,
        3905, // int4range[]
        oid::JSONB,
        oid::BYTEA,
        16_500,
        16_505,
        16_600,
    ];

    fn registry() -> TypeRegistry {
        let mut types = TypeRegistry::new();
        types.register("hstore", 16_500, TypeKind::Hstore);
        types.register("_hstore", 16_505, TypeKind::Array { element: 16_500 });
        types.register(
            "pair",
            16_600,
            TypeKind::Composite {
                fields: vec![("a".to_owned(), oid::INT4_ARRAY), ("b".to_owned(), 16_600)],
            },
        );
        types
    }

    /// Decodes `raw` every way this module can; only panics matter.
    fn decode_every_way(raw: &[u8]) {
        let types = registry();
        for ty in OIDS {
            for format in [Format::Text, Format::Binary] {
                let value = Value::from_sql(ty, format, raw);
                if let Ok(value) = &value {
                    let _ = value.to_string();
                    let _ = value.to_sql(0, &mut BytesMut::new());
                }
                let _ = types.decode(ty, format, raw);
                let _ = Array::<Value>::from_sql(ty, format, raw);
                let _ = Vec::<Option<String>>::from_sql(ty, format, raw);
                let _ = Array::<i32>::from_sql(ty, format, raw);
                let _ = Range::<i32>::from_sql(ty, format, raw);
                let _ = Range::<String>::from_sql(ty, format, raw);
                let _ = BTreeMap::<String, Option<String>>::from_sql(ty, format, raw);
            }
        }
    }

    /// Bytes that look like the text formats, to get past the first check.
    fn texty() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop::sample::select(b"{}[]():=,;\"\\ NUL1-ab>empty\x01".to_vec()),
            0..48,
        )
    }

    /// Bytes that look like a binary array, range or record header.
    fn binaryish() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop::sample::select(vec![0u8, 0, 0, 1, 2, 3, 0x17, 0x19, 0xff, 0x7f, 0x08, 0x10]),
            0..64,
        )
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..128)) {
            decode_every_way(&raw);
        }

        #[test]
        fn text_like_bytes_never_panic(raw in texty()) {
            decode_every_way(&raw);
        }

        #[test]
        fn binary_like_bytes_never_panic(raw in binaryish()) {
            decode_every_way(&raw);
        }

        #[test]
        fn string_arrays_round_trip(
            v in proptest::collection::vec(proptest::option::of("[^\u{0}]{0,8}"), 0..8)
        ) {
            for ty in [0, oid::TEXT_ARRAY] {
                let mut out = BytesMut::new();
                let encoded = v.to_sql(ty, &mut out).unwrap();
                let format = match encoded {
                    Encoded::Binary => Format::Binary,
                    _ => Format::Text,
                };
                prop_assert_eq!(
                    &Vec::<Option<String>>::from_sql(oid::TEXT_ARRAY, format, &out).unwrap(),
                    &v
                );
            }
            let value = Value::from(v.clone());
            let back = Value::from_sql(oid::TEXT_ARRAY, Format::Text, value.to_string().as_bytes());
            prop_assert_eq!(back.unwrap(), value);
        }

        #[test]
        fn int_arrays_of_any_shape_round_trip(
            dims in proptest::collection::vec((1i32..4, -3i32..3), 1..4),
            seed in proptest::collection::vec(proptest::option::of(any::<i32>()), 64),
        ) {
            let count: usize = dims.iter().map(|(len, _)| *len as usize).product();
            let dims: Vec<Dimension> = dims
                .into_iter()
                .map(|(len, lower_bound)| Dimension { len, lower_bound })
                .collect();
            let a = Array::new(dims, seed[..count].to_vec()).unwrap();
            let mut binary = BytesMut::new();
            prop_assert_eq!(a.to_sql(0, &mut binary), Ok(Encoded::Binary));
            prop_assert_eq!(&Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Binary, &binary).unwrap(), &a);
            let mut text = BytesMut::new();
            prop_assert_eq!(a.to_sql(oid::TEXT, &mut text), Ok(Encoded::Text));
            prop_assert_eq!(&Array::<i32>::from_sql(oid::INT4_ARRAY, Format::Text, &text).unwrap(), &a);
        }

        #[test]
        fn hstore_round_trips(
            m in proptest::collection::btree_map("[^\u{0}]{0,6}", proptest::option::of("[^\u{0}]{0,6}"), 0..6)
        ) {
            let mut out = BytesMut::new();
            m.to_sql(0, &mut out).unwrap();
            prop_assert_eq!(&BTreeMap::from_sql(16_500, Format::Text, &out).unwrap(), &m);
        }

        #[test]
        fn text_ranges_round_trip(lower in "[^\u{0}]{0,6}", upper in "[^\u{0}]{0,6}", inc in any::<(bool, bool)>()) {
            use super::super::Bound;
            let bound = |s: String, inc: bool| if inc { Bound::Included(s) } else { Bound::Excluded(s) };
            let r = Range::new(bound(lower, inc.0), bound(upper, inc.1));
            let mut out = BytesMut::new();
            r.to_sql(16_500, &mut out).unwrap();
            prop_assert_eq!(&Range::<String>::from_sql(16_500, Format::Text, &out).unwrap(), &r);
        }

        #[test]
        fn records_round_trip(fields in proptest::collection::vec(proptest::option::of("[^\u{0}]{0,6}"), 0..6)) {
            // `()` is also a record of no fields: ambiguous without the type.
            prop_assume!(fields != vec![None]);
            let value = Value::Record(
                fields.iter().map(|f| f.clone().map_or(Value::Null, Value::Text)).collect(),
            );
            let mut out = BytesMut::new();
            value.to_sql(0, &mut out).unwrap();
            prop_assert_eq!(Value::from_sql(oid::RECORD, Format::Text, &out).unwrap(), value);
        }
    }
}
