//! Building blocks for the conversions of Rust enums, structs and newtypes
//! that `pgwire-derive` writes (`#[derive(ToSql, FromSql)]`), usable by
//! hand-written impls too.
//!
//! - An enum is its label: [`enum_from_label`] and [`label_to_sql`].
//! - A struct is a composite value, its fields in the type's attribute
//!   order: [`CompositeFields`] reads one (binary `record_send` or text
//!   `record_out`), [`CompositeWriter`] writes one in the text format.
//! - A newtype is its one field: [`transparent_to_sql`] also sends it to a
//!   domain over the field's type.

use bytes::{BufMut, BytesMut};

use super::array::{text_of, FIRST_NORMAL_OBJECT_ID};
use super::{composite, oid, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError, TypeRegistry};
use crate::row::Format;

/// Decodes an enum value of type `ty` (user-defined, or text-like as for
/// `mood::text`) into the variant `from_label` gives for its label. `T` is
/// the Rust type, named in errors; an unknown label is
/// [`TypeError::Invalid`], never a default variant.
pub fn enum_from_label<T>(
    ty: Oid,
    raw: &[u8],
    from_label: impl FnOnce(&str) -> Option<T>,
) -> Result<T, TypeError> {
    let accepted = ty >= FIRST_NORMAL_OBJECT_ID
        || matches!(
            ty,
            oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN
        );
    if !accepted {
        return Err(TypeError::wrong_type::<T>(ty));
    }
    let label = utf8(ty, raw)?;
    from_label(label).ok_or_else(|| TypeError::invalid(ty, format!("unknown enum label {label:?}")))
}

/// Encodes the label of an enum value of Rust type `T` in the text format,
/// for a parameter of type `ty`: unknown (0), user-defined, or text-like.
pub fn label_to_sql<T: ?Sized>(
    label: &str,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    if !(ty == 0 || ty >= FIRST_NORMAL_OBJECT_ID || text::takes_any_text(ty)) {
        return Err(TypeError::wrong_type::<T>(ty));
    }
    if label.as_bytes().contains(&0) {
        return Err(TypeError::Nul);
    }
    out.put_slice(label.as_bytes());
    Ok(Encoded::Text)
}

/// Encodes `inner`, the one field of a newtype, for a parameter of type
/// `ty`. PostgreSQL infers a domain's base type for `$1::domain` and for
/// domain columns, so the field's own encoding serves; a parameter declared
/// as the domain itself (`PREPARE p(posint)`) names a user-defined type
/// the field refuses, and the field is then sent as text, which the server
/// parses with the type's input function: a value of another type is the
/// server's error, never a wrong value.
pub fn transparent_to_sql(
    inner: &dyn ToSql,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    match inner.to_sql(ty, out) {
        Err(TypeError::WrongType { .. }) if ty >= FIRST_NORMAL_OBJECT_ID => {
            match text_of(inner, 0)? {
                None => Ok(Encoded::Null),
                Some(text) => {
                    if text.contains(&0) {
                        return Err(TypeError::Nul);
                    }
                    out.put_slice(&text);
                    Ok(Encoded::Text)
                }
            }
        }
        other => other,
    }
}

/// Whether a composite of Rust type `T` may be read from or sent as type
/// `ty`: anonymous records, user-defined types (composites have no fixed
/// OID), and, for parameters, an unknown (0) or text-like type.
fn composite_type<T: ?Sized>(ty: Oid, parameter: bool) -> Result<(), TypeError> {
    let accepted = ty == oid::RECORD
        || ty >= FIRST_NORMAL_OBJECT_ID
        || ty == oid::UNKNOWN
        || (parameter && (ty == 0 || text::takes_any_text(ty)));
    if accepted {
        Ok(())
    } else {
        Err(TypeError::wrong_type::<T>(ty))
    }
}

/// The fields of a composite value, read in order into Rust values, for a
/// `FromSql` impl of a struct.
///
/// The binary format names each field's type, which the field's Rust type
/// then checks. The text format does not: each field is read with the type
/// its caller passes to [`field`](Self::field) (the Rust type's own, as
/// `ToSql::static_type` gives it), or, for 0, as a user-defined type's
/// text, which strings, enums, user-type arrays and nested composites read.
#[derive(Debug)]
pub struct CompositeFields<'a> {
    ty: Oid,
    fields: Fields<'a>,
    index: usize,
    /// The session's registered types, for fields of such types.
    types: Option<&'a TypeRegistry>,
}

#[derive(Debug)]
enum Fields<'a> {
    Binary(&'a [u8]),
    Text(std::vec::IntoIter<Option<Vec<u8>>>),
}

impl<'a> CompositeFields<'a> {
    /// Starts reading a value of type `ty` in `format` that must have
    /// exactly `count` fields. `T` is the Rust type, named in errors.
    pub fn new<T: ?Sized>(
        ty: Oid,
        format: Format,
        raw: &'a [u8],
        count: usize,
    ) -> Result<Self, TypeError> {
        Self::new_with::<T>(ty, format, raw, count, None)
    }

    /// Like [`new`](Self::new), with the session's registered types (what
    /// [`FromSql::from_sql_with`] is given): fields of a registered domain
    /// are read as its base type, of a registered enum as its label in
    /// either format, and, in the text format, a field read as a
    /// user-defined type's text (`text_type` 0) as the type the registry
    /// knows for it, so that a `Value` field decodes typed.
    pub fn new_with<T: ?Sized>(
        ty: Oid,
        format: Format,
        raw: &'a [u8],
        count: usize,
        types: Option<&'a TypeRegistry>,
    ) -> Result<Self, TypeError> {
        composite_type::<T>(ty, false)?;
        let wrong_count = |found: usize| {
            TypeError::invalid(
                ty,
                format!(
                    "the value has {found} fields, {} has {count}",
                    std::any::type_name::<T>()
                ),
            )
        };
        let fields = match format {
            Format::Binary => {
                let (found, rest) = match raw.split_first_chunk::<4>() {
                    Some((n, rest)) => (i32::from_be_bytes(*n), rest),
                    None => return Err(TypeError::invalid(ty, "record shorter than its count")),
                };
                if usize::try_from(found).ok() != Some(count) {
                    return Err(wrong_count(usize::try_from(found).unwrap_or(0)));
                }
                Fields::Binary(rest)
            }
            Format::Text => {
                let mut parsed = composite::parse_text(ty, raw)?;
                // `()` is also how a one-field type writes its NULL field.
                if count == 1 && parsed.is_empty() {
                    parsed.push(None);
                }
                if parsed.len() != count {
                    return Err(wrong_count(parsed.len()));
                }
                Fields::Text(parsed.into_iter())
            }
        };
        Ok(CompositeFields {
            ty,
            fields,
            index: 0,
            types,
        })
    }

    /// Reads the next field, named `name` in errors, as an `F`. In the text
    /// format it is read as a value of type `text_type` (0: a user-defined
    /// type's text).
    pub fn field<F: for<'b> FromSql<'b>>(
        &mut self,
        name: &str,
        text_type: Oid,
    ) -> Result<F, TypeError> {
        let ty = self.ty;
        let index = self.index;
        self.index += 1;
        let types = self.types;
        let in_field =
            |e: TypeError| TypeError::invalid(ty, format!("field {index} ({name}): {e}"));
        match &mut self.fields {
            Fields::Binary(rest) => {
                let (field_type, value) = binary_field(ty, rest)?;
                let field_type = types.map_or(field_type, |t| t.wire_type(field_type));
                match value {
                    None => F::from_null(field_type),
                    Some(raw) => F::from_sql_with(field_type, Format::Binary, raw, types),
                }
                .map_err(in_field)
            }
            Fields::Text(values) => {
                let registered =
                    types.and_then(|t| t.field_type(ty, index).map(|f| t.wire_type(f)));
                let field_type = match (text_type, registered) {
                    (0, Some(field_type)) => field_type,
                    (0, None) if ty >= FIRST_NORMAL_OBJECT_ID => ty,
                    (0, None) => oid::UNKNOWN,
                    (t, _) => t,
                };
                match values.next() {
                    Some(None) => F::from_null(field_type),
                    Some(Some(raw)) => F::from_sql_with(field_type, Format::Text, &raw, types),
                    None => return Err(TypeError::invalid(ty, "fewer fields than counted")),
                }
                .map_err(in_field)
            }
        }
    }

    /// Checks that nothing follows the last field.
    pub fn finish(self) -> Result<(), TypeError> {
        match self.fields {
            Fields::Binary(rest) if !rest.is_empty() => Err(TypeError::invalid(
                self.ty,
                format!("{} bytes after the last field", rest.len()),
            )),
            _ => Ok(()),
        }
    }
}

/// Splits one `record_send` field off `rest`: its type and its value (`None`
/// for NULL).
fn binary_field<'a>(ty: Oid, rest: &mut &'a [u8]) -> Result<(Oid, Option<&'a [u8]>), TypeError> {
    let truncated = || TypeError::invalid(ty, "record field truncated");
    let (header, body) = rest.split_first_chunk::<8>().ok_or_else(truncated)?;
    let field_type = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let len = i32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    if len < 0 {
        *rest = body;
        return Ok((field_type, None));
    }
    let len = usize::try_from(len).map_err(|_| truncated())?;
    if body.len() < len {
        return Err(truncated());
    }
    let (value, tail) = body.split_at(len);
    *rest = tail;
    Ok((field_type, Some(value)))
}

/// Writes a composite value in the text format (`record_in`'s syntax), each
/// field as its own text, for a `ToSql` impl of a struct.
#[derive(Debug, Default)]
pub struct CompositeWriter {
    fields: Vec<Option<Vec<u8>>>,
}

impl CompositeWriter {
    /// Starts a value of Rust type `T` for a parameter of type `ty`:
    /// unknown (0), a user-defined (composite) type, or text-like.
    pub fn new<T: ?Sized>(ty: Oid) -> Result<Self, TypeError> {
        composite_type::<T>(ty, true)?;
        Ok(CompositeWriter::default())
    }

    /// Appends the next field: its text form (a value that has none, as
    /// `bytea`, is an error).
    pub fn field(&mut self, value: &dyn ToSql) -> Result<(), TypeError> {
        self.fields.push(text_of(value, 0)?);
        Ok(())
    }

    /// Appends the value to `out`. On error nothing is appended.
    pub fn finish(self, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        let mut text = Vec::new();
        composite::write_text(&mut text, &self.fields);
        if text.contains(&0) {
            return Err(TypeError::Nul);
        }
        out.put_slice(&text);
        Ok(Encoded::Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIR: Oid = 16_800;

    fn pair(ty: Oid, format: Format, raw: &[u8]) -> Result<(i32, Option<String>), TypeError> {
        let mut fields = CompositeFields::new::<(i32, Option<String>)>(ty, format, raw, 2)?;
        let n = fields.field("n", oid::INT4)?;
        let s = fields.field("s", 0)?;
        fields.finish()?;
        Ok((n, s))
    }

    #[test]
    fn composite_text_and_binary() {
        assert_eq!(
            pair(PAIR, Format::Text, br#"(42,"a b")"#),
            Ok((42, Some("a b".to_owned())))
        );
        assert_eq!(pair(PAIR, Format::Text, b"(7,)"), Ok((7, None)));
        let mut raw = Vec::new();
        raw.put_i32(2);
        raw.put_u32(oid::INT4);
        raw.put_i32(4);
        raw.put_i32(-1);
        raw.put_u32(oid::TEXT);
        raw.put_i32(-1);
        assert_eq!(pair(oid::RECORD, Format::Binary, &raw), Ok((-1, None)));
        raw.push(0);
        assert!(pair(oid::RECORD, Format::Binary, &raw).is_err());
    }

    #[test]
    fn composite_errors_are_typed() {
        assert!(matches!(
            pair(PAIR, Format::Text, b"(1)"),
            Err(TypeError::Invalid { .. })
        ));
        assert!(matches!(
            pair(PAIR, Format::Text, b"(x,y)"),
            Err(TypeError::Invalid { reason, .. }) if reason.contains("field 0 (n)")
        ));
        assert!(matches!(
            pair(oid::INT4, Format::Text, b"(1,2)"),
            Err(TypeError::WrongType { .. })
        ));
        // A forged count or a truncated field is refused, not read past.
        for raw in [&[0u8, 0, 0][..], &[0, 0, 0, 2, 0, 0, 0, 23, 0, 0, 0, 9, 1]] {
            assert!(pair(oid::RECORD, Format::Binary, raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn composite_writer_and_labels() {
        let mut writer = CompositeWriter::new::<()>(PAIR).unwrap();
        writer.field(&42i32).unwrap();
        writer.field(&"a b").unwrap();
        writer.field(&None::<i32>).unwrap();
        let mut out = BytesMut::new();
        assert_eq!(writer.finish(&mut out), Ok(Encoded::Text));
        assert_eq!(&out[..], br#"(42,"a b",)"#);
        assert!(CompositeWriter::new::<()>(oid::INT4).is_err());

        assert_eq!(
            enum_from_label(PAIR, b"x", |l| (l == "x").then_some(1)),
            Ok(1)
        );
        assert!(enum_from_label(PAIR, b"y", |l| (l == "x").then_some(1)).is_err());
        assert!(enum_from_label(oid::INT4, b"x", |_| Some(1)).is_err());
        out.clear();
        assert_eq!(label_to_sql::<()>("x", PAIR, &mut out), Ok(Encoded::Text));
        assert!(label_to_sql::<()>("x", oid::INT4, &mut out).is_err());
    }

    #[test]
    fn transparent_to_a_domain_is_text() {
        let mut out = BytesMut::new();
        assert_eq!(
            transparent_to_sql(&5i32, oid::INT4, &mut out),
            Ok(Encoded::Binary)
        );
        out.clear();
        assert_eq!(transparent_to_sql(&5i32, PAIR, &mut out), Ok(Encoded::Text));
        assert_eq!(&out[..], b"5");
        out.clear();
        assert!(transparent_to_sql(&5i32, oid::BOOL, &mut out).is_err());
        assert!(out.is_empty());
    }
}
