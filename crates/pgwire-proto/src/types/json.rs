//! JSON: [`Json`] for serde values (the `serde` feature), [`RawJson`] for
//! JSON text as it is, and with the `serde_json` feature `serde_json::Value`
//! bare, to and from `json` and `jsonb`.
//!
//! Plain strings already decode `json` and `jsonb` (see the text module);
//! [`RawJson`] adds sending them as JSON, whatever the parameter's JSON type.
//!
//! **Why two wrappers.** `Json<T>` serializes any `T: Serialize`, as
//! tokio-postgres's and sqlx's `Json` do, so `Json("a")` is the JSON string
//! `"a"`. Raw JSON text cannot share that wrapper: `&str` and `String` are
//! `Serialize` themselves, so an impl of `Json<&str>` as raw text would
//! overlap the generic one (Rust has no specialization), and keeping the
//! raw impl only while `serde` is off would make turning a feature on
//! anywhere in a build change what an unchanged `Json("{...}")` stores.
//! Raw text is therefore [`RawJson`], the same with or without features.
//!
//! **Parameter type.** JSON values declare no type (their natural type is
//! 0): the server infers `json` or `jsonb` from the context and the value is
//! sent in the text format, which both read. Declaring either type would
//! put the other a cast away (the casts between them are not implicit, so a
//! function taking `json` would not match a `jsonb` argument), and declaring
//! `jsonb` would also normalize text that a `json` column keeps as sent.
//! When the server reports a `jsonb` parameter the binary format is used:
//! the text behind the version byte 1.

use bytes::{BufMut, BytesMut};

use super::{oid, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// The version byte that starts a binary `jsonb` value.
const JSONB_VERSION: u8 = 1;

/// A value serialized as a JSON document (with serde), for a `json` or
/// `jsonb` parameter or column: any `T: Serialize` is sent, any
/// `T: Deserialize` read, with the `serde` feature (also turned on by
/// `serde_json`).
///
/// `Json(s)` with a string is the JSON *string* `s`, as in tokio-postgres and
/// sqlx; JSON text to send as it is goes in a [`RawJson`].
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use pgwire_proto::types::{oid, Encoded, Json, ToSql};
///
/// let mut out = bytes::BytesMut::new();
/// let doc = Json(vec![1, 2]);
/// assert_eq!(doc.natural_type(), 0);
/// assert_eq!(doc.to_sql(oid::JSONB, &mut out), Ok(Encoded::Binary));
/// assert_eq!(&out[..], b"\x01[1,2]");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Json<T>(pub T);

/// JSON text sent and read as it is, for a `json` or `jsonb` parameter or
/// column: `RawJson<&str>` and `RawJson<String>` (the server validates the
/// text; `jsonb` normalizes it).
///
/// ```
/// use pgwire_proto::types::{oid, Encoded, RawJson, ToSql};
///
/// let mut out = bytes::BytesMut::new();
/// let doc = RawJson(r#"{"a": 1}"#);
/// assert_eq!(doc.natural_type(), 0);
/// assert_eq!(doc.to_sql(oid::JSONB, &mut out), Ok(Encoded::Binary));
/// assert_eq!(&out[..], b"\x01{\"a\": 1}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct RawJson<T>(pub T);

/// How JSON goes for a parameter of type `ty`: `Some(true)` binary `jsonb`,
/// `Some(false)` text, `None` a type JSON cannot be sent to.
fn binary_for(ty: Oid) -> Option<bool> {
    match ty {
        oid::JSONB => Some(true),
        0 | oid::JSON => Some(false),
        ty if text::takes_any_text(ty) => Some(false),
        _ => None,
    }
}

/// Encodes JSON `text`, for Rust type `T`, for a parameter of type `ty`.
fn encode<T>(json: &str, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
    // Neither format can carry a NUL: text parameters are C strings on the
    // server, and JSON escapes it anyway (`\u0000`).
    if json.as_bytes().contains(&0) {
        return Err(TypeError::Nul);
    }
    match binary_for(ty) {
        Some(true) => {
            out.reserve(1 + json.len());
            out.put_u8(JSONB_VERSION);
            out.put_slice(json.as_bytes());
            Ok(Encoded::Binary)
        }
        Some(false) => {
            out.put_slice(json.as_bytes());
            Ok(Encoded::Text)
        }
        None => Err(TypeError::wrong_type::<T>(ty)),
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

impl ToSql for RawJson<&str> {
    fn natural_type(&self) -> Oid {
        0
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(self.0, ty, out)
    }
}

impl ToSql for RawJson<String> {
    fn natural_type(&self) -> Oid {
        0
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(&self.0, ty, out)
    }
}

impl<'a> FromSql<'a> for RawJson<&'a str> {
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw).map(RawJson)
    }
}

impl FromSql<'_> for RawJson<String> {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw).map(|s| RawJson(s.to_owned()))
    }
}

#[cfg(feature = "serde")]
mod serde_impls {
    //! [`Json`] for any serde type.

    use bytes::BufMut as _;
    use serde::{Deserialize, Serialize};

    use super::*;

    impl<T: Serialize + std::fmt::Debug> ToSql for Json<T> {
        fn natural_type(&self) -> Oid {
            0
        }

        fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
            let Some(binary) = binary_for(ty) else {
                return Err(TypeError::wrong_type::<Self>(ty));
            };
            // Serialized straight into the message; on failure (a map with
            // non-string keys, a `Serialize` impl that errs) what was
            // written is taken back, as `to_sql` promises.
            let start = out.len();
            if binary {
                out.put_u8(JSONB_VERSION);
            }
            match serde_json::to_writer(out.writer(), &self.0) {
                // serde_json escapes NUL in strings (`\u0000`), so the text
                // never holds one.
                Ok(()) => Ok(if binary {
                    Encoded::Binary
                } else {
                    Encoded::Text
                }),
                Err(e) => {
                    out.truncate(start);
                    Err(TypeError::invalid(ty, format!("cannot serialize: {e}")))
                }
            }
        }
    }

    // `Deserialize<'a>` rather than `DeserializeOwned`: every owned type
    // qualifies, and borrowed ones (`&'a str` without escapes) point into
    // the row.
    impl<'a, T: Deserialize<'a>> FromSql<'a> for Json<T> {
        fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
            let json = decode::<Self>(ty, format, raw)?;
            serde_json::from_str(json)
                .map(Json)
                .map_err(|e| TypeError::invalid(ty, format!("bad JSON: {e}")))
        }
    }
}

#[cfg(feature = "serde_json")]
mod value {
    //! `serde_json::Value` bare; `Json<Value>` is the generic serde impl.

    use serde_json::Value;

    use super::*;

    impl ToSql for Value {
        fn natural_type(&self) -> Oid {
            0
        }

        fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
            Json(self).to_sql(ty, out).map_err(|e| match e {
                TypeError::WrongType { pg_type, .. } => TypeError::wrong_type::<Self>(pg_type),
                e => e,
            })
        }
    }

    impl FromSql<'_> for Value {
        fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
            let json = decode::<Self>(ty, format, raw)?;
            serde_json::from_str(json).map_err(|e| TypeError::invalid(ty, format!("bad JSON: {e}")))
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
                encode_param(&RawJson(DOC), ty),
                Ok((Encoded::Text, DOC.as_bytes().to_vec()))
            );
        }
        let mut jsonb = vec![1];
        jsonb.extend_from_slice(DOC.as_bytes());
        assert_eq!(
            encode_param(&RawJson(DOC.to_owned()), oid::JSONB),
            Ok((Encoded::Binary, jsonb))
        );
        assert_eq!(RawJson(DOC).natural_type(), 0);
        assert_eq!(RawJson::<String>::static_type(), 0);
        assert_eq!(
            encode_param(&RawJson(DOC), oid::INT4),
            Err(TypeError::wrong_type::<RawJson<&str>>(oid::INT4))
        );
        assert_eq!(
            encode_param(&RawJson("\"\0\""), oid::JSONB),
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
            assert_eq!(RawJson::<&str>::from_sql(ty, format, raw), Ok(RawJson(DOC)));
            assert_eq!(
                RawJson::<String>::from_sql(ty, format, raw),
                Ok(RawJson(DOC.to_owned()))
            );
        }
        for raw in [&b""[..], b"\x02{}", b"\x01\xff"] {
            assert!(
                matches!(
                    RawJson::<&str>::from_sql(oid::JSONB, Format::Binary, raw),
                    Err(TypeError::Invalid { .. })
                ),
                "{raw:?}"
            );
        }
        assert_eq!(
            RawJson::<String>::from_sql(oid::TEXT, Format::Text, b"{}"),
            Err(TypeError::wrong_type::<RawJson<String>>(oid::TEXT))
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

    #[cfg(feature = "serde")]
    #[test]
    fn any_serde_type() {
        use std::collections::BTreeMap;

        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Profile {
            name: String,
            tags: Vec<String>,
            age: Option<u8>,
        }
        let p = Profile {
            name: "é\u{0}\"x".to_owned(),
            tags: vec!["a".to_owned()],
            age: None,
        };
        let text = br#"{"name":"\u00e9\u0000\"x","tags":["a"],"age":null}"#;
        let (encoded, bytes) = encode_param(&Json(&p), 0).unwrap();
        assert_eq!(encoded, Encoded::Text);
        assert!(!bytes.contains(&0), "{bytes:?}");
        assert_eq!(
            Json::<Profile>::from_sql(oid::JSON, Format::Text, &bytes),
            Ok(Json(p.clone()))
        );
        let p = Json::<Profile>::from_sql(oid::JSON, Format::Text, text)
            .unwrap()
            .0;
        for ty in [0, oid::JSON, oid::JSONB, oid::TEXT] {
            let (encoded, bytes) = encode_param(&Json(&p), ty).unwrap();
            let read_as = if ty == oid::JSONB {
                oid::JSONB
            } else {
                oid::JSON
            };
            let format = match encoded {
                Encoded::Binary => Format::Binary,
                _ => Format::Text,
            };
            assert_eq!(encoded == Encoded::Binary, ty == oid::JSONB);
            assert_eq!(
                Json::<Profile>::from_sql(read_as, format, &bytes).map(|j| j.0),
                Ok(p.clone()),
            );
        }
        // A string is a JSON string, not JSON text.
        assert_eq!(
            encode_param(&Json("{}"), 0),
            Ok((Encoded::Text, br#""{}""#.to_vec()))
        );
        assert_eq!(
            Json::<String>::from_sql(oid::JSON, Format::Text, br#""{}""#),
            Ok(Json("{}".to_owned()))
        );
        // Borrowed where nothing is escaped.
        assert_eq!(
            Json::<&str>::from_sql(oid::JSONB, Format::Binary, b"\x01\"ab\""),
            Ok(Json("ab"))
        );
        assert_eq!(
            encode_param(&Json(&p), oid::INT4),
            Err(TypeError::wrong_type::<Json<&Profile>>(oid::INT4))
        );
        // A failed serialization leaves the buffer as it was (checked by
        // `encode_param`): map keys must be strings in JSON.
        let bad: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        for ty in [0, oid::JSONB] {
            assert!(matches!(
                encode_param(&Json(&bad), ty),
                Err(TypeError::Invalid { .. })
            ));
        }
        // What does not fit the type is an error, not a default.
        for raw in [&br#"{"name": 1}"#[..], b"[]", b"{", b"null"] {
            assert!(
                matches!(
                    Json::<Profile>::from_sql(oid::JSON, Format::Text, raw),
                    Err(TypeError::Invalid { .. })
                ),
                "{raw:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..40)) {
            for ty in [oid::JSON, oid::JSONB] {
                for format in [Format::Text, Format::Binary] {
                    let _ = RawJson::<&str>::from_sql(ty, format, &raw);
                    #[cfg(feature = "serde")]
                    let _ = Json::<Vec<Option<i64>>>::from_sql(ty, format, &raw);
                    #[cfg(feature = "serde_json")]
                    let _ = serde_json::Value::from_sql(ty, format, &raw);
                }
            }
        }
    }
}
