//! Rows of a machine given a type registry: descriptions with columns of
//! registered (or possibly registered) types carry it, so that
//! `try_get::<Value>` decodes them; rows of built-in columns carry nothing.

use std::sync::Arc;

use super::server::*;
use crate::types::{oid, TypeKind, TypeRegistry, Value};
use crate::{Format, Machine, Row};

const MOOD: u32 = 16_600;
const POSINT: u32 = 16_610;
const PAIR: u32 = 16_800;

fn registry() -> Arc<TypeRegistry> {
    let mut types = TypeRegistry::new();
    types.register_enum("mood", MOOD, ["sad", "happy"]);
    types.register("posint", POSINT, TypeKind::Domain { base: oid::INT4 });
    let fields = vec![
        ("n".to_owned(), oid::INT4),
        ("m".to_owned(), MOOD),
        ("p".to_owned(), POSINT),
    ];
    types.register("pair", PAIR, TypeKind::Composite { fields });
    Arc::new(types)
}

/// A RowDescription of `(name, type)` columns in text.
fn typed_description(columns: &[(&str, u32)]) -> Vec<u8> {
    let mut body = (columns.len() as i16).to_be_bytes().to_vec();
    for (name, ty) in columns {
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend_from_slice(&0u32.to_be_bytes());
        body.extend_from_slice(&0i16.to_be_bytes());
        body.extend_from_slice(&ty.to_be_bytes());
        body.extend_from_slice(&(-1i16).to_be_bytes());
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&0i16.to_be_bytes());
    }
    msg(b'T', &body)
}

/// The rows of a simple query answered with a composite result and then a
/// built-in one.
fn rows(m: &mut Machine) -> Vec<Row> {
    m.simple_query("select ...; select 1").unwrap();
    sent(m);
    rows_of(feed(
        m,
        &concat(&[
            typed_description(&[("a", oid::INT4), ("p", PAIR)]),
            data_row(&[Some("1"), Some("(2,happy,3)")]),
            command_complete("SELECT 1"),
            typed_description(&[("a", oid::INT4)]),
            data_row(&[Some("1")]),
            command_complete("SELECT 1"),
            ready(b'I'),
        ]),
    ))
}

#[test]
fn rows_with_registered_columns_carry_the_registry() {
    let mut m = ready_machine();
    let types = registry();
    m.set_type_registry(Some(Arc::clone(&types)));
    let rows = rows(&mut m);
    let attached = rows[0].description().types().unwrap();
    assert!(Arc::ptr_eq(attached, &types));
    let pair = Value::Record(vec![
        Value::Int4(2),
        Value::Text("happy".into()),
        Value::Int4(3),
    ]);
    assert_eq!(rows[0].try_get::<Value>("p").unwrap(), pair);
    assert_eq!(rows[0].try_get::<Option<Value>>(1).unwrap(), Some(pair));
    assert_eq!(rows[0].try_get::<Value>(0).unwrap(), Value::Int4(1));
    // Built-in columns only: nothing attached, nothing to pay.
    assert!(rows[1].description().types().is_none());
    assert_eq!(rows[1].try_get::<i32>(0).unwrap(), 1);
}

#[test]
fn without_a_registry_composites_stay_unknown() {
    for types in [None, Some(Arc::new(TypeRegistry::new()))] {
        let mut m = ready_machine();
        m.set_type_registry(types);
        assert!(m.type_registry().is_none());
        let rows = rows(&mut m);
        assert!(rows[0].description().types().is_none());
        assert_eq!(
            rows[0].try_get::<Value>("p").unwrap(),
            Value::Unknown {
                oid: PAIR,
                format: Format::Text,
                bytes: b"(2,happy,3)".to_vec()
            }
        );
    }
}

/// `record_send` of `fields` (type, value).
fn binary_record(fields: &[(u32, Option<&[u8]>)]) -> Vec<u8> {
    let mut out = (fields.len() as i32).to_be_bytes().to_vec();
    for (ty, value) in fields {
        out.extend_from_slice(&ty.to_be_bytes());
        match value {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    out
}

#[test]
fn binary_fields_of_registered_types_decode() {
    use crate::types::{CompositeFields, FromSql};
    let types = registry();
    let raw = binary_record(&[
        (oid::INT4, Some(&2i32.to_be_bytes())),
        (MOOD, Some(b"happy")),
        (POSINT, Some(&3i32.to_be_bytes())),
    ]);
    assert_eq!(
        Value::from_sql_with(PAIR, Format::Binary, &raw, Some(&types)),
        Ok(Value::Record(vec![
            Value::Int4(2),
            Value::Text("happy".into()),
            Value::Int4(3)
        ]))
    );
    // As a derived struct reads it: the domain field as its base type, the
    // enum field as its label, both typed.
    let read = |types: Option<&TypeRegistry>| {
        let mut fields = CompositeFields::new_with::<()>(PAIR, Format::Binary, &raw, 3, types)?;
        let n: i32 = fields.field("n", oid::INT4)?;
        let m: String = fields.field("m", 0)?;
        let p: i32 = fields.field("p", oid::INT4)?;
        fields.finish()?;
        Ok::<_, crate::types::TypeError>((n, m, p))
    };
    assert_eq!(read(Some(&types)), Ok((2, "happy".to_owned(), 3)));
    assert!(read(None).is_err());
    // An array of the composite, elements decoded with the registry.
    let mut array = 1i32.to_be_bytes().to_vec();
    array.extend_from_slice(&0i32.to_be_bytes());
    array.extend_from_slice(&PAIR.to_be_bytes());
    array.extend_from_slice(&1i32.to_be_bytes());
    array.extend_from_slice(&1i32.to_be_bytes());
    array.extend_from_slice(&(raw.len() as i32).to_be_bytes());
    array.extend_from_slice(&raw);
    let values = Vec::<Value>::from_sql_with(16_801, Format::Binary, &array, Some(&types));
    assert!(matches!(&values.unwrap()[..], [Value::Record(fields)] if fields.len() == 3));
    let strings = Vec::<String>::from_sql_with(
        16_601,
        Format::Binary,
        &{
            let mut a = 1i32.to_be_bytes().to_vec();
            a.extend_from_slice(&0i32.to_be_bytes());
            a.extend_from_slice(&MOOD.to_be_bytes());
            a.extend_from_slice(&1i32.to_be_bytes());
            a.extend_from_slice(&1i32.to_be_bytes());
            a.extend_from_slice(&3i32.to_be_bytes());
            a.extend_from_slice(b"sad");
            a
        },
        Some(&types),
    );
    assert_eq!(strings, Ok(vec!["sad".to_owned()]));
}
