//! Text: `str`, `String` and `&str` to and from `text`, `varchar`, `bpchar`,
//! `name`, `"char"`, `unknown`, `json`, `jsonb` and user-defined types such
//! as `citext` or enums.
//!
//! The client encoding is assumed to be UTF-8 (the startup sequence asks for
//! it); values are validated anyway, so a mismatch is an error, not garbage.

use bytes::{BufMut, BytesMut};

use super::{oid, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// OIDs below this are assigned to built-in objects (`FirstNormalObjectId`
/// in PostgreSQL's `transam.h`); types created later by extensions or users
/// get one at or above it.
const FIRST_NORMAL_OBJECT_ID: Oid = 16_384;

/// The version byte that starts a binary `jsonb` value.
const JSONB_VERSION: u8 = 1;

/// Types whose text input accepts any string, so numbers and booleans may be
/// written into them as their text representation.
pub(super) fn takes_any_text(ty: Oid) -> bool {
    matches!(ty, oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::UNKNOWN)
}

/// Built-in types whose values, in both formats, are UTF-8 text.
pub(crate) fn is_text(ty: Oid) -> bool {
    matches!(
        ty,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR | oid::UNKNOWN | oid::JSON
    )
}

/// The text of a value, borrowed from `raw`. `T` is the Rust type asked for,
/// named in errors.
#[inline]
fn decode<T>(ty: Oid, format: Format, raw: &[u8]) -> Result<&str, TypeError> {
    let text = match (ty, format) {
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
        (oid::JSONB, Format::Text) => raw,
        (ty, _) if is_text(ty) => raw,
        // Extension types and enums have no fixed OID; in the text format
        // their output is text by definition. Their binary format can be
        // anything, so it is not guessed at.
        (ty, Format::Text) if ty >= FIRST_NORMAL_OBJECT_ID => raw,
        _ => return Err(TypeError::wrong_type::<T>(ty)),
    };
    utf8(ty, text)
}

impl ToSql for str {
    fn natural_type(&self) -> Oid {
        // The server parses text for any type, so there is nothing to gain by
        // declaring one and much to lose (`int_column = $1` would fail).
        0
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        // bytea's text input treats backslashes as escapes; its binary format
        // takes the string's bytes as they are.
        if ty == oid::BYTEA {
            out.put_slice(self.as_bytes());
            return Ok(Encoded::Binary);
        }
        if self.as_bytes().contains(&0) {
            return Err(TypeError::Nul);
        }
        out.put_slice(self.as_bytes());
        Ok(Encoded::Text)
    }
}

impl ToSql for String {
    fn natural_type(&self) -> Oid {
        self.as_str().natural_type()
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        self.as_str().to_sql(ty, out)
    }
}

impl<'a> FromSql<'a> for &'a str {
    #[inline]
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw)
    }
}

impl FromSql<'_> for String {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    const CITEXT: Oid = 16_500;

    #[test]
    fn sent_as_text_for_any_type() {
        assert_eq!("hello".natural_type(), 0);
        assert_eq!(String::new().natural_type(), 0);
        assert_eq!(String::static_type(), 0);
        for ty in [0, oid::TEXT, oid::INT4, oid::NUMERIC, oid::JSONB, CITEXT] {
            assert_eq!(encode(&"42", ty), Ok((Encoded::Text, b"42".to_vec())));
            assert_eq!(
                encode(&"42".to_owned(), ty),
                Ok((Encoded::Text, b"42".to_vec()))
            );
            assert_eq!(encode(&"", ty), Ok((Encoded::Text, Vec::new())));
        }
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(encode(&"a\0b", 0), Err(TypeError::Nul));
        assert_eq!(encode(&"\0".to_owned(), oid::TEXT), Err(TypeError::Nul));
    }

    #[test]
    fn into_bytea_as_binary_bytes() {
        assert_eq!(
            encode(&"\\x00\0é", oid::BYTEA),
            Ok((Encoded::Binary, "\\x00\0é".as_bytes().to_vec()))
        );
    }

    #[test]
    fn round_trips() {
        for s in ["", "hello", "héllo wörld ✓", "\\x00", "t"] {
            for ty in [
                0,
                oid::TEXT,
                oid::VARCHAR,
                oid::BPCHAR,
                oid::NAME,
                oid::UNKNOWN,
            ] {
                // ty 0 declares no type: decode as what the server infers.
                let ty = if ty == 0 { oid::TEXT } else { ty };
                assert_eq!(round_trip(&s.to_owned(), ty), Ok(s.to_owned()));
            }
            assert_eq!(round_trip(&s.to_owned(), oid::JSON), Ok(s.to_owned()));
            assert_eq!(round_trip(&s.to_owned(), CITEXT), Ok(s.to_owned()));
        }
    }

    #[test]
    fn decodes_text_like_types_in_both_formats() {
        for ty in [
            oid::TEXT,
            oid::VARCHAR,
            oid::BPCHAR,
            oid::NAME,
            oid::UNKNOWN,
            oid::JSON,
        ] {
            for format in [Format::Text, Format::Binary] {
                assert_eq!(<&str>::from_sql(ty, format, b"hello"), Ok("hello"));
                assert_eq!(String::from_sql(ty, format, b""), Ok(String::new()));
            }
        }
        assert_eq!(<&str>::from_sql(oid::CHAR, Format::Binary, b"r"), Ok("r"));
        assert_eq!(
            <&str>::from_sql(CITEXT, Format::Text, b"Hello"),
            Ok("Hello")
        );
    }

    #[test]
    fn jsonb() {
        assert_eq!(
            <&str>::from_sql(oid::JSONB, Format::Text, br#"{"a": 1}"#),
            Ok(r#"{"a": 1}"#)
        );
        assert_eq!(
            <&str>::from_sql(oid::JSONB, Format::Binary, b"\x01{\"a\": 1}"),
            Ok(r#"{"a": 1}"#)
        );
        assert!(matches!(
            String::from_sql(oid::JSONB, Format::Binary, b"\x02{}"),
            Err(TypeError::Invalid {
                pg_type: oid::JSONB,
                ..
            })
        ));
        assert!(matches!(
            String::from_sql(oid::JSONB, Format::Binary, b""),
            Err(TypeError::Invalid {
                pg_type: oid::JSONB,
                ..
            })
        ));
    }

    #[test]
    fn invalid_utf8() {
        assert!(matches!(
            String::from_sql(oid::TEXT, Format::Text, b"\xff"),
            Err(TypeError::Invalid {
                pg_type: oid::TEXT,
                ..
            })
        ));
        assert!(matches!(
            <&str>::from_sql(oid::CHAR, Format::Binary, b"\x80"),
            Err(TypeError::Invalid {
                pg_type: oid::CHAR,
                ..
            })
        ));
    }

    #[test]
    fn other_types_are_not_stringified() {
        let err = String::from_sql(oid::INT4, Format::Text, b"1");
        assert_eq!(
            err,
            Err(TypeError::WrongType {
                pg_type: oid::INT4,
                rust_type: "alloc::string::String"
            })
        );
        let message = err.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(message.contains("int4") && message.contains("alloc::string::String"));
        for ty in [oid::BOOL, oid::BYTEA, oid::FLOAT8, oid::NUMERIC, oid::OID] {
            assert_eq!(
                <&str>::from_sql(ty, Format::Text, b"1"),
                Err(TypeError::wrong_type::<&str>(ty))
            );
        }
        // The binary format of an extension type is not necessarily text.
        assert_eq!(
            String::from_sql(CITEXT, Format::Binary, b"x"),
            Err(TypeError::wrong_type::<String>(CITEXT))
        );
    }
}
