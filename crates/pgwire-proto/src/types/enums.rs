//! User-defined enums (`CREATE TYPE mood AS ENUM (...)`).
//!
//! An enum value is its label, in both formats (`enum_send` writes the
//! label's bytes). Enum OIDs are assigned per database, past the built-in
//! range, so:
//!
//! - `String` and `&str` already read enums in the text format (the default
//!   for query results): [`text`](super::text) takes the text output of any
//!   non-built-in type. Their binary format is refused there, since a
//!   non-built-in type's binary format is not text in general; a
//!   [`TypeRegistry`](super::TypeRegistry) that has resolved the enum
//!   decodes it in both formats into [`Value::Text`](super::Value::Text).
//! - Strings are sent as text with no declared type, which the server parses
//!   as the enum.
//! - For a Rust enum, `#[derive(ToSql, FromSql)]` (the `derive` feature of
//!   `pgwire-conn` and the adapters) writes the conversions. By hand,
//!   implement [`PgEnum`] and delegate `FromSql`/`ToSql` to
//!   [`enum_from_sql`] and [`enum_to_sql`]:
//!
//! ```
//! use bytes::BytesMut;
//! use pgwire_proto::types::{enum_from_sql, enum_to_sql, Encoded, FromSql, Oid, PgEnum, ToSql, TypeError};
//! use pgwire_proto::Format;
//!
//! #[derive(Debug, Clone, Copy, PartialEq)]
//! enum Mood { Sad, Happy }
//!
//! impl PgEnum for Mood {
//!     fn from_label(label: &str) -> Option<Self> {
//!         match label {
//!             "sad" => Some(Mood::Sad),
//!             "happy" => Some(Mood::Happy),
//!             _ => None,
//!         }
//!     }
//!     fn label(&self) -> &str {
//!         match self {
//!             Mood::Sad => "sad",
//!             Mood::Happy => "happy",
//!         }
//!     }
//! }
//!
//! impl FromSql<'_> for Mood {
//!     fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
//!         enum_from_sql(ty, format, raw)
//!     }
//! }
//!
//! impl ToSql for Mood {
//!     fn natural_type(&self) -> Oid {
//!         0 // the enum's OID is per database: let the server infer it
//!     }
//!     fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
//!         enum_to_sql(self, ty, out)
//!     }
//! }
//!
//! assert_eq!(Mood::from_sql(16_390, Format::Binary, b"happy"), Ok(Mood::Happy));
//! assert!(Mood::from_sql(16_390, Format::Text, b"angry").is_err());
//! ```

use bytes::{BufMut, BytesMut};

use super::array::FIRST_NORMAL_OBJECT_ID;
use super::{oid, text, utf8, Encoded, Oid, TypeError};
use crate::row::Format;

/// A Rust enum that maps to a PostgreSQL enum by label.
pub trait PgEnum: Sized {
    /// The variant labelled `label`; `None` for an unknown label.
    fn from_label(label: &str) -> Option<Self>;

    /// The variant's label.
    fn label(&self) -> &str;
}

/// Decodes an enum value: a user-defined type's value (its label, in
/// either format), or a text-like value (`mood::text`).
pub fn enum_from_sql<T: PgEnum>(ty: Oid, _format: Format, raw: &[u8]) -> Result<T, TypeError> {
    let accepted = ty >= FIRST_NORMAL_OBJECT_ID
        || matches!(
            ty,
            oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN
        );
    if !accepted {
        return Err(TypeError::wrong_type::<T>(ty));
    }
    let label = utf8(ty, raw)?;
    T::from_label(label)
        .ok_or_else(|| TypeError::invalid(ty, format!("unknown enum label {label:?}")))
}

/// Encodes an enum value as its label, in the text format, for a parameter
/// of type `ty`: unknown (0), user-defined, or text-like.
pub fn enum_to_sql<T: PgEnum>(
    value: &T,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    if !(ty == 0 || ty >= FIRST_NORMAL_OBJECT_ID || text::takes_any_text(ty)) {
        return Err(TypeError::wrong_type::<T>(ty));
    }
    let label = value.label();
    if label.as_bytes().contains(&0) {
        return Err(TypeError::Nul);
    }
    out.put_slice(label.as_bytes());
    Ok(Encoded::Text)
}

#[cfg(test)]
mod tests {
    use super::super::testing::encode;
    use super::super::{FromSql, ToSql, TypeKind, TypeRegistry, Value};
    use super::*;

    const MOOD: Oid = 16_390;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Mood {
        Sad,
        Happy,
    }

    impl PgEnum for Mood {
        fn from_label(label: &str) -> Option<Self> {
            match label {
                "sad" => Some(Mood::Sad),
                "happy" => Some(Mood::Happy),
                _ => None,
            }
        }

        fn label(&self) -> &str {
            match self {
                Mood::Sad => "sad",
                Mood::Happy => "happy",
            }
        }
    }

    impl FromSql<'_> for Mood {
        fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
            enum_from_sql(ty, format, raw)
        }
    }

    impl ToSql for Mood {
        fn natural_type(&self) -> Oid {
            0
        }

        fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
            enum_to_sql(self, ty, out)
        }
    }

    #[test]
    fn strings_read_enum_text() {
        assert_eq!(<&str>::from_sql(MOOD, Format::Text, b"happy"), Ok("happy"));
        assert_eq!(
            String::from_sql(MOOD, Format::Text, "ünïcode label".as_bytes()),
            Ok("ünïcode label".to_owned())
        );
        assert_eq!(Option::<String>::from_null(MOOD), Ok(None::<String>));
        // Not in the binary format: a user type's binary form is not text in
        // general. The registry, which knows the type is an enum, reads it.
        assert_eq!(
            String::from_sql(MOOD, Format::Binary, b"happy"),
            Err(TypeError::wrong_type::<String>(MOOD))
        );
        let mut types = TypeRegistry::new();
        types.register("mood", MOOD, TypeKind::Enum);
        assert_eq!(
            types.decode(MOOD, Format::Binary, b"happy"),
            Ok(Value::Text("happy".to_owned()))
        );
        // Strings go out as untyped text, which the server reads as the enum.
        assert_eq!("sad".natural_type(), 0);
        assert_eq!(encode(&"sad", MOOD), Ok((Encoded::Text, b"sad".to_vec())));
    }

    #[test]
    fn enum_arrays() {
        // `_mood` in the text format: the element type is not known here,
        // elements are handed over as text.
        assert_eq!(
            Vec::<String>::from_sql(16_391, Format::Text, b"{sad,happy}"),
            Ok(vec!["sad".to_owned(), "happy".to_owned()])
        );
        assert_eq!(
            Vec::<Mood>::from_sql(16_391, Format::Text, b"{sad,happy}"),
            Ok(vec![Mood::Sad, Mood::Happy])
        );
        assert_eq!(
            encode(&vec![Mood::Happy, Mood::Sad], 16_391),
            Ok((Encoded::Text, b"{happy,sad}".to_vec()))
        );
    }

    #[test]
    fn pg_enum() {
        for format in [Format::Text, Format::Binary] {
            assert_eq!(Mood::from_sql(MOOD, format, b"sad"), Ok(Mood::Sad));
            assert_eq!(Mood::from_sql(oid::TEXT, format, b"happy"), Ok(Mood::Happy));
        }
        assert!(matches!(
            Mood::from_sql(MOOD, Format::Text, b"angry"),
            Err(TypeError::Invalid { pg_type: MOOD, .. })
        ));
        assert!(matches!(
            Mood::from_sql(MOOD, Format::Text, b"\xff"),
            Err(TypeError::Invalid { .. })
        ));
        assert_eq!(
            Mood::from_sql(oid::INT4, Format::Text, b"1"),
            Err(TypeError::wrong_type::<Mood>(oid::INT4))
        );
        for ty in [0, MOOD, oid::TEXT, oid::UNKNOWN] {
            assert_eq!(
                encode(&Mood::Happy, ty),
                Ok((Encoded::Text, b"happy".to_vec()))
            );
        }
        assert_eq!(
            encode(&Mood::Sad, oid::INT4),
            Err(TypeError::wrong_type::<Mood>(oid::INT4))
        );
    }
}
