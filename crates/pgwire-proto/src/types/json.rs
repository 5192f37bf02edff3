//! JSON: [`Json`] around a string, and with the `serde_json` feature
//! `serde_json::Value` and `Json<serde_json::Value>`, to and from `json` and
//! `jsonb`.
//!
//! Plain strings already decode `json` and `jsonb` (see the text module);
//! the wrapper adds sending them as JSON, whatever the parameter's JSON type.
//!
//! **Parameter type.** JSON values declare no type (their natural type is
//! 0): the server infers `json` or `jsonb` from the context and the value is
//! sent in the text format, which both read. Declaring either type would
//! put the other a cast away (the casts between them are not implicit, so a
//! function taking `json` would not match a `jsonb` argument), and declaring
//! `jsonb` would also normalize text that a `json` column keeps as sent.
//! When the server reports a `jsonb` parameter the binary format is used:
//! the text behind the version byte 1.
//!
//! `Json<T>` for any `T: serde::Serialize` would need a direct dependency on
//! `serde`, which this crate does not have; serialize to a
//! `serde_json::Value` or a `String` first.

use bytes::{BufMut, BytesMut};

use super::{oid, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// The version byte that starts a binary `jsonb` value.
const JSONB_VERSION: u8 = 1;

/// A JSON document, for a `json` or `jsonb` parameter or column.
///
/// `Json<&str>` and `Json<String>` carry the JSON text as it is (the server
/// validates it); with the `serde_json` feature, `Json<serde_json::Value>`
/// serializes and parses it.
///
/// ```
/// use pgwire_proto::types::{oid, Encoded, Json, ToSql};
///
/// let mut out = bytes::BytesMut::new();
/// let doc = Json(r#"{"a": 1}"#);
/// assert_eq!(doc.natural_type(), 0);
/// assert_eq!(doc.to_sql(oid::JSONB, &mut out), Ok(Encoded::Binary));
/// assert_eq!(&out[..], b"\x01{\"a\": 1}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Json<T>(pub T);

/// Encodes JSON `text`, for Rust type `T`, for a parameter of type `ty`.
fn encode<T>(json: &str, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
    // Neither format can carry a NUL: text parameters are C strings on the
    // server, and JSON escapes it anyway (`\u0000`).
    if json.as_bytes().contains(&0) {
        return Err(TypeError::Nul);
    }
    match ty {
        oid::JSONB => {
            out.reserve(1 + json.len());
            out.put_u8(JSONB_VERSION);
            out.put_slice(json.as_bytes());
            Ok(Encoded::Binary)
        }
        0 | oid::JSON => {
            out.put_slice(json.as_bytes());
            Ok(Encoded::Text)
        }
        ty if text::takes_any_text(ty) => {
            out.put_slice(json.as_bytes());
            Ok(Encoded::Text)
        }
        ty => Err(TypeError::wrong_type::<T>(ty)),
    }
}

/// The JSON text of a `json` or `jsonb` value, borrowed from `raw`.
fn decode<T>(ty: Oid, format: Format, raw: &[u8]) -> Result<&str, TypeError> {
    let json = match (ty, format) {
        (oid::JSON, _) | (oid::JSONB, Format::Text) => raw,
        (oid::JSONB, Format::Binary) => match raw.split_first() {
            Some((&JSONB_VERSION, json)) => json,
            Some((version, _)) => {
                return Err(TypeError::invalid(
                    ty,
                    format!("unsupported binary jsonb version {version}"),
                ))
            }
            None => return Err(TypeError::invalid(ty, "empty binary jsonb value")),
        },
        _ => return Err(TypeError::wrong_type::<T>(ty)),
    };
    utf8(ty, json)
}

impl ToSql for Json<&str> {
    fn natural_type(&self) -> Oid {
        0
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(self.0, ty, out)
    }
}

impl ToSql for Json<String> {
    fn natural_type(&self) -> Oid {
        0
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(&self.0, ty, out)
    }
}

impl<'a> FromSql<'a> for Json<&'a str> {
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw).map(Json)
    }
}

impl FromSql<'_> for Json<String> {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw).map(|s| Json(s.to_owned()))
    }
}

#[cfg(feature = "serde_json")]
mod value {
    //! `serde_json::Value`, bare or in [`Json`].

    use serde_json::Value;

    use super::*;

    fn encode_value<T>(value: &Value, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        // `Value`'s map keys are strings, so serializing cannot fail; the
        // error is mapped rather than assumed away.
        let json = serde_json::to_string(value)
            .map_err(|e| TypeError::invalid(ty, format!("cannot serialize: {e}")))?;
        encode::<T>(&json, ty, out)
    }

    fn decode_value<T>(ty: Oid, format: Format, raw: &[u8]) -> Result<Value, TypeError> {
        let json = decode::<T>(ty, format, raw)?;
        serde_json::from_str(json).map_err(|e| TypeError::invalid(ty, format!("bad JSON: {e}")))
    }

    impl ToSql for Value {
        fn natural_type(&self) -> Oid {
            0
        }

        fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
            encode_value::<Self>(self, ty, out)
        }
    }

    impl FromSql<'_> for Value {
        fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
            decode_value::<Self>(ty, format, raw)
        }
    }

    impl ToSql for Json<Value> {
        fn natural_type(&self) -> Oid {
            0
        }

        fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
            encode_value::<Self>(&self.0, ty, out)
        }
    }

    impl FromSql<'_> for Json<Value> {
        fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
            decode_value::<Self>(ty, format, raw).map(Json)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::encode as encode_param;
    use super::*;

    const DOC: &str = r#"{"a": [1, 2.5, null], "b": "é"}"#;

    #[test]
    fn sent_as_text_unless_jsonb() {
        for ty in [0, oid::JSON, oid::TEXT, oid::UNKNOWN] {
            assert_eq!(
                encode_param(&Json(DOC), ty),
                Ok((Encoded::Text, DOC.as_bytes().to_vec()))
            );
        }
        let mut jsonb = vec![1];
        jsonb.extend_from_slice(DOC.as_bytes());
        assert_eq!(
            encode_param(&Json(DOC.to_owned()), oid::JSONB),
            Ok((Encoded::Binary, jsonb))
        );
        assert_eq!(Json(DOC).natural_type(), 0);
        assert_eq!(Json::<String>::static_type(), 0);
        assert_eq!(
            encode_param(&Json(DOC), oid::INT4),
            Err(TypeError::wrong_type::<Json<&str>>(oid::INT4))
        );
        assert_eq!(
            encode_param(&Json("\"\0\""), oid::JSONB),
            Err(TypeError::Nul)
        );
    }

    #[test]
    fn decodes_json_and_jsonb() {
        let mut jsonb = vec![1];
        jsonb.extend_from_slice(DOC.as_bytes());
        for (ty, format, raw) in [
            (oid::JSON, Format::Text, DOC.as_bytes()),
            (oid::JSON, Format::Binary, DOC.as_bytes()),
            (oid::JSONB, Format::Text, DOC.as_bytes()),
            (oid::JSONB, Format::Binary, &jsonb[..]),
        ] {
            assert_eq!(Json::<&str>::from_sql(ty, format, raw), Ok(Json(DOC)));
            assert_eq!(
                Json::<String>::from_sql(ty, format, raw),
                Ok(Json(DOC.to_owned()))
            );
        }
        for raw in [&b""[..], b"\x02{}", b"\x01\xff"] {
            assert!(
                matches!(
                    Json::<&str>::from_sql(oid::JSONB, Format::Binary, raw),
                    Err(TypeError::Invalid { .. })
                ),
                "{raw:?}"
            );
        }
        assert_eq!(
            Json::<String>::from_sql(oid::TEXT, Format::Text, b"{}"),
            Err(TypeError::wrong_type::<Json<String>>(oid::TEXT))
        );
    }

    #[cfg(feature = "serde_json")]
    #[test]
    fn serde_json_values() {
        use serde_json::{json, Value};
        let v = json!({"a": [1, 2.5, null], "b": "é", "c": {"d": true}});
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(v.natural_type(), 0);
        assert_eq!(
            encode_param(&v, 0),
            Ok((Encoded::Text, text.clone().into_bytes()))
        );
        let (encoded, bytes) = encode_param(&Json(v.clone()), oid::JSONB).unwrap();
        assert_eq!(encoded, Encoded::Binary);
        assert_eq!(bytes.first(), Some(&1));
        assert_eq!(
            Value::from_sql(oid::JSONB, Format::Binary, &bytes),
            Ok(v.clone())
        );
        assert_eq!(
            Json::<Value>::from_sql(oid::JSON, Format::Text, text.as_bytes()),
            Ok(Json(v.clone()))
        );
        // NUL inside a string is escaped, so it can be sent.
        let nul = json!("a\u{0}b");
        assert_eq!(
            encode_param(&nul, 0),
            Ok((Encoded::Text, br#""a\u0000b""#.to_vec()))
        );
        assert!(matches!(
            Value::from_sql(oid::JSON, Format::Text, b"{"),
            Err(TypeError::Invalid { .. })
        ));
        assert_eq!(
            Value::from_sql(oid::INT4, Format::Text, b"1"),
            Err(TypeError::wrong_type::<Value>(oid::INT4))
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..40)) {
            for ty in [oid::JSON, oid::JSONB] {
                for format in [Format::Text, Format::Binary] {
                    let _ = Json::<&str>::from_sql(ty, format, &raw);
                    #[cfg(feature = "serde_json")]
                    let _ = serde_json::Value::from_sql(ty, format, &raw);
                }
            }
        }
    }
}
