//! Composite values (rows): `record` and composite types, decoded into
//! [`Value::Record`](super::Value::Record).
//!
//! The binary format names each field's type, so fields decode into typed
//! [`Value`](super::Value)s. The text format does not: fields decode as
//! [`Value::Text`](super::Value::Text) (or `Null`), unless the composite
//! type is registered in a [`TypeRegistry`](super::TypeRegistry), which
//! knows the field types.

use super::array::{is_space, Reader};
use super::range::{read_field, write_quoted};
use super::{Oid, TypeError};

/// What the field decoder is given: the field's type and bytes (`None` for
/// NULL).
pub(super) type FieldDecoder<'f, E> = dyn FnMut(Oid, Option<&[u8]>) -> Result<E, TypeError> + 'f;

/// Decodes `record_send`'s format: a field count, then per field its type
/// OID and a length-prefixed value (length -1: NULL), each field by
/// `field`.
pub(super) fn decode_binary<E>(
    ty: Oid,
    raw: &[u8],
    field: &mut FieldDecoder<'_, E>,
) -> Result<Vec<E>, TypeError> {
    let mut r = Reader::new(ty, raw);
    let count = r.count(8, "field")?;
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let field_type = r.u32()?;
        let value = r.value()?;
        fields.push(field(field_type, value)?);
    }
    r.finish()?;
    Ok(fields)
}

/// Parses `record_in`'s syntax: `(a,"b c",)`: fields separated by commas,
/// quoted or not, `""` inside quotes and backslashes escaping; an empty
/// unquoted field is NULL (`None`), `""` the empty string. `()` parses as no
/// fields, though a one-field type writes its NULL so too.
pub(super) fn parse_text(ty: Oid, raw: &[u8]) -> Result<Vec<Option<Vec<u8>>>, TypeError> {
    let malformed = |pos: usize, what: &str| {
        TypeError::invalid(ty, format!("malformed record at byte {pos}: {what}"))
    };
    let mut pos = raw.iter().position(|&b| !is_space(b)).unwrap_or(raw.len());
    if raw.get(pos) != Some(&b'(') {
        return Err(malformed(pos, "expected \"(\""));
    }
    pos += 1;
    let mut fields = Vec::new();
    // `()` is a record without fields.
    if raw.get(pos) == Some(&b')') {
        pos += 1;
    } else {
        loop {
            fields.push(read_field(ty, raw, &mut pos, b",)")?);
            match raw.get(pos) {
                Some(b',') => pos += 1,
                Some(b')') => {
                    pos += 1;
                    break;
                }
                _ => return Err(malformed(pos, "expected \",\" or \")\"")),
            }
        }
    }
    if raw
        .get(pos..)
        .unwrap_or_default()
        .iter()
        .any(|&b| !is_space(b))
    {
        return Err(malformed(pos, "junk after \")\""));
    }
    Ok(fields)
}

/// Writes `record_out`'s format: NULL fields empty, others quoted where
/// `record_in` needs it.
pub(super) fn write_text<B: AsRef<[u8]>>(out: &mut Vec<u8>, fields: &[Option<B>]) {
    out.push(b'(');
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if let Some(field) = field {
            write_quoted(out, field.as_ref(), b"(),");
        }
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use bytes::BufMut;

    use super::super::{oid, registry::TypeRegistry, FromSql, TypeKind, Value};
    use super::*;
    use crate::row::Format;

    fn field(out: &mut Vec<u8>, ty: Oid, value: Option<&[u8]>) {
        out.put_u32(ty);
        match value {
            Some(v) => {
                out.put_i32(v.len() as i32);
                out.put_slice(v);
            }
            None => out.put_i32(-1),
        }
    }

    #[test]
    fn binary_with_nested_null_and_mixed_types() {
        let mut inner = Vec::new();
        inner.put_i32(2);
        field(&mut inner, oid::BOOL, Some(&[1]));
        field(&mut inner, oid::TEXT, None);

        let mut raw = Vec::new();
        raw.put_i32(5);
        field(&mut raw, oid::INT4, Some(&7i32.to_be_bytes()));
        field(&mut raw, oid::TEXT, Some("héllo".as_bytes()));
        field(&mut raw, oid::INT8, None);
        field(&mut raw, oid::RECORD, Some(&inner));
        field(&mut raw, 16_999, Some(b"\x00\x01"));

        assert_eq!(
            Value::from_sql(oid::RECORD, Format::Binary, &raw),
            Ok(Value::Record(vec![
                Value::Int4(7),
                Value::Text("héllo".to_owned()),
                Value::Null,
                Value::Record(vec![Value::Bool(true), Value::Null]),
                Value::Unknown {
                    oid: 16_999,
                    format: Format::Binary,
                    bytes: vec![0, 1]
                },
            ]))
        );
        let mut empty = Vec::new();
        empty.put_i32(0);
        assert_eq!(
            Value::from_sql(oid::RECORD, Format::Binary, &empty),
            Ok(Value::Record(Vec::new()))
        );
    }

    #[test]
    fn malformed_binary_is_invalid() {
        let mut raw = Vec::new();
        raw.put_i32(1);
        field(&mut raw, oid::INT4, Some(&[0, 0, 1]));
        let cases: [&[u8]; 6] = [
            b"",
            &[0, 0, 0],
            &[0xff, 0xff, 0xff, 0xff],
            // A forged count: refused before allocating for it.
            &[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 23, 0, 0, 0, 0],
            // A field longer than the value.
            &[0, 0, 0, 1, 0, 0, 0, 25, 0, 0, 0, 9, b'x'],
            &raw,
        ];
        for raw in cases {
            assert!(
                matches!(
                    Value::from_sql(oid::RECORD, Format::Binary, raw),
                    Err(TypeError::Invalid { .. })
                ),
                "{raw:?}"
            );
        }
        let mut trailing = Vec::new();
        trailing.put_i32(0);
        trailing.put_u8(0);
        assert!(Value::from_sql(oid::RECORD, Format::Binary, &trailing).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing() {
        let mut raw = Vec::new();
        raw.put_i32(0);
        for _ in 0..10_000 {
            let mut outer = Vec::new();
            outer.put_i32(1);
            field(&mut outer, oid::RECORD, Some(&raw));
            raw = outer;
        }
        assert!(matches!(
            Value::from_sql(oid::RECORD, Format::Binary, &raw),
            Err(TypeError::Invalid { .. })
        ));
    }

    #[test]
    fn text_form() {
        let text = |raw: &[u8]| Value::from_sql(oid::RECORD, Format::Text, raw);
        let t = |s: &str| Value::Text(s.to_owned());
        assert_eq!(
            text(br#"(1,"a b",)"#),
            Ok(Value::Record(vec![t("1"), t("a b"), Value::Null]))
        );
        assert_eq!(
            text(br#"("",x,"say ""hi""","back\\slash","(a,b)",\,)"#),
            Ok(Value::Record(vec![
                t(""),
                t("x"),
                t("say \"hi\""),
                t("back\\slash"),
                t("(a,b)"),
                t(","),
            ]))
        );
        assert_eq!(text(b"()"), Ok(Value::Record(Vec::new())));
        assert_eq!(
            text(b"(,)"),
            Ok(Value::Record(vec![Value::Null, Value::Null]))
        );
        assert_eq!(text(b" (x) "), Ok(Value::Record(vec![t("x")])));
        for bad in [&b""[..], b"x", b"(", b"(a", b"(\"a)", b"(a)b", b"(a\\"] {
            assert!(
                matches!(text(bad), Err(TypeError::Invalid { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn text_with_registered_field_types() {
        let mut types = TypeRegistry::new();
        types.register(
            "pair",
            16_800,
            TypeKind::Composite {
                fields: vec![
                    ("n".to_owned(), oid::INT4),
                    ("tags".to_owned(), oid::TEXT_ARRAY),
                    ("s".to_owned(), oid::TEXT),
                ],
            },
        );
        assert_eq!(
            types.decode(16_800, Format::Text, br#"(42,"{a,""b c""}",)"#),
            Ok(Value::Record(vec![
                Value::Int4(42),
                Value::Array(super::super::Array::from(vec![
                    Value::Text("a".to_owned()),
                    Value::Text("b c".to_owned())
                ])),
                Value::Null,
            ]))
        );
        // `()` is a one-field type's NULL.
        types.register(
            "one",
            16_801,
            TypeKind::Composite {
                fields: vec![("n".to_owned(), oid::INT4)],
            },
        );
        assert_eq!(
            types.decode(16_801, Format::Text, b"()"),
            Ok(Value::Record(vec![Value::Null]))
        );
        assert_eq!(
            Value::from_sql(oid::RECORD, Format::Text, b"()"),
            Ok(Value::Record(vec![]))
        );
        // Without the registry, the composite's OID is unknown.
        assert!(matches!(
            Value::from_sql(16_800, Format::Text, b"(1)"),
            Ok(Value::Unknown { oid: 16_800, .. })
        ));
    }

    #[test]
    fn writes_record_out_format() {
        let mut out = Vec::new();
        write_text(
            &mut out,
            &[
                Some(&b"1"[..]),
                None,
                Some(b""),
                Some(b"a b"),
                Some(b"q\"\\"),
                Some(b"(x)"),
            ],
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"(1,,"","a b","q""\\","(x)")"#
        );
        let parsed = parse_text(0, &out).unwrap();
        assert_eq!(
            parsed,
            vec![
                Some(b"1".to_vec()),
                None,
                Some(Vec::new()),
                Some(b"a b".to_vec()),
                Some(b"q\"\\".to_vec()),
                Some(b"(x)".to_vec()),
            ]
        );
    }
}
