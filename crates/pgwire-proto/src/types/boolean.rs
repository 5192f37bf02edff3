//! Booleans: `bool` to and from `bool`.
//!
//! (The module is not called `bool`: that would shadow the primitive type's
//! name in the parent module.)

use bytes::{BufMut, BytesMut};

use super::{oid, text, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

impl ToSql for bool {
    fn natural_type(&self) -> Oid {
        oid::BOOL
    }

    fn static_type() -> Oid {
        oid::BOOL
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        match ty {
            0 | oid::BOOL => {
                out.put_u8(u8::from(*self));
                Ok(Encoded::Binary)
            }
            // The spelling of the server's own text output (`boolout`), so
            // the text reads back as a bool.
            ty if text::takes_any_text(ty) => {
                out.put_slice(if *self { b"t" } else { b"f" });
                Ok(Encoded::Text)
            }
            ty => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

impl FromSql<'_> for bool {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        if ty != oid::BOOL {
            return Err(TypeError::wrong_type::<Self>(ty));
        }
        match (format, raw) {
            // The server sends 0 or 1; its own input reads any non-zero byte
            // as true, and so does this.
            (Format::Binary, [byte]) => Ok(*byte != 0),
            (Format::Text, b"t") => Ok(true),
            (Format::Text, b"f") => Ok(false),
            (Format::Binary, _) => Err(TypeError::invalid(
                ty,
                format!("binary value is {} bytes, expected 1", raw.len()),
            )),
            (Format::Text, _) => Err(TypeError::invalid(
                ty,
                format!(
                    "expected \"t\" or \"f\", got {:?}",
                    String::from_utf8_lossy(raw)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(true.natural_type(), oid::BOOL);
        assert_eq!(bool::static_type(), oid::BOOL);
        for v in [true, false] {
            for ty in [0, oid::BOOL] {
                assert_eq!(round_trip(&v, ty), Ok(v));
            }
        }
        assert_eq!(encode(&true, 0), Ok((Encoded::Binary, vec![1])));
        assert_eq!(encode(&false, oid::BOOL), Ok((Encoded::Binary, vec![0])));
    }

    #[test]
    fn decodes_server_text() {
        assert_eq!(bool::from_sql(oid::BOOL, Format::Text, b"t"), Ok(true));
        assert_eq!(bool::from_sql(oid::BOOL, Format::Text, b"f"), Ok(false));
        assert_eq!(bool::from_sql(oid::BOOL, Format::Binary, &[2]), Ok(true));
    }

    #[test]
    fn into_text_types() {
        for ty in [oid::TEXT, oid::VARCHAR, oid::UNKNOWN] {
            assert_eq!(encode(&true, ty), Ok((Encoded::Text, b"t".to_vec())));
            assert_eq!(encode(&false, ty), Ok((Encoded::Text, b"f".to_vec())));
        }
    }

    #[test]
    fn malformed_and_wrong_types() {
        for (format, raw) in [
            (Format::Binary, &b""[..]),
            (Format::Binary, b"\x01\x00"),
            (Format::Text, b"true"),
            (Format::Text, b""),
        ] {
            assert!(
                matches!(
                    bool::from_sql(oid::BOOL, format, raw),
                    Err(TypeError::Invalid {
                        pg_type: oid::BOOL,
                        ..
                    })
                ),
                "{raw:?}"
            );
        }
        for ty in [oid::INT4, oid::TEXT, oid::BYTEA] {
            assert_eq!(
                bool::from_sql(ty, Format::Text, b"t"),
                Err(TypeError::wrong_type::<bool>(ty))
            );
        }
        for ty in [oid::INT4, oid::NUMERIC, oid::BYTEA] {
            assert_eq!(encode(&true, ty), Err(TypeError::wrong_type::<bool>(ty)));
        }
    }
}
