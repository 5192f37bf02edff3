//! Binary strings: `[u8]`, `Vec<u8>` and `&[u8]` to and from `bytea`.

use bytes::{BufMut, BytesMut};

use super::{oid, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// Encodes `bytes`, of Rust type `T`, for a parameter of type `ty`.
fn encode<T: ?Sized>(bytes: &[u8], ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
    match ty {
        // The binary format of bytea is the bytes themselves: no escaping.
        0 | oid::BYTEA => {
            out.put_slice(bytes);
            Ok(Encoded::Binary)
        }
        ty => Err(TypeError::wrong_type::<T>(ty)),
    }
}

/// Decodes bytea's text output: `\x` and hex digits (the default since
/// PostgreSQL 9.0), or the older escape format selected by
/// `bytea_output = escape`.
fn decode_text(ty: Oid, raw: &[u8]) -> Result<Vec<u8>, TypeError> {
    match raw.strip_prefix(b"\\x") {
        Some(hex) => decode_hex(ty, hex),
        // The escape format writes every backslash as `\\` or `\ooo`, so a
        // value in it never starts with `\x`.
        None => decode_escape(ty, raw),
    }
}

fn decode_hex(ty: Oid, hex: &[u8]) -> Result<Vec<u8>, TypeError> {
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or_else(|| TypeError::invalid(ty, format!("invalid hex digit {:?}", char::from(c))))
    };
    let mut out = Vec::with_capacity(hex.len() / 2);
    let mut digits = hex.iter().copied();
    while let Some(high) = digits.next() {
        let Some(low) = digits.next() else {
            return Err(TypeError::invalid(ty, "odd number of hex digits"));
        };
        out.push(nibble(high)? << 4 | nibble(low)?);
    }
    Ok(out)
}

fn decode_escape(ty: Oid, mut rest: &[u8]) -> Result<Vec<u8>, TypeError> {
    let mut out = Vec::with_capacity(rest.len());
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        match rest {
            [b'\\', tail @ ..] => {
                out.push(b'\\');
                rest = tail;
            }
            // Three octal digits; the first is at most 3 so the value fits a
            // byte.
            [a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7', tail @ ..] => {
                out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
                rest = tail;
            }
            _ => return Err(TypeError::invalid(ty, "invalid backslash escape")),
        }
    }
    Ok(out)
}

impl ToSql for [u8] {
    fn natural_type(&self) -> Oid {
        oid::BYTEA
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(self, ty, out)
    }
}

impl ToSql for Vec<u8> {
    fn natural_type(&self) -> Oid {
        oid::BYTEA
    }

    fn static_type() -> Oid {
        oid::BYTEA
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(self, ty, out)
    }
}

impl<'a> FromSql<'a> for &'a [u8] {
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        match (ty, format) {
            (oid::BYTEA, Format::Binary) => Ok(raw),
            // Text-format bytea is encoded; decoding needs a buffer of its
            // own, which a borrow from the row cannot provide.
            (oid::BYTEA, Format::Text) => Err(TypeError::invalid(
                ty,
                "a text-format bytea must be decoded into a Vec<u8>, not borrowed",
            )),
            _ => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

impl FromSql<'_> for Vec<u8> {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        match (ty, format) {
            (oid::BYTEA, Format::Binary) => Ok(raw.to_vec()),
            (oid::BYTEA, Format::Text) => decode_text(ty, raw),
            _ => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    const SAMPLES: [&[u8]; 4] = [b"", b"\x00\x01\xff", b"\\x41", b"hello"];

    #[test]
    fn round_trips() {
        assert_eq!(b"x"[..].natural_type(), oid::BYTEA);
        assert_eq!(Vec::<u8>::static_type(), oid::BYTEA);
        for bytes in SAMPLES {
            for ty in [0, oid::BYTEA] {
                assert_eq!(round_trip(&bytes.to_vec(), ty), Ok(bytes.to_vec()));
                assert_eq!(encode(&bytes, ty), Ok((Encoded::Binary, bytes.to_vec())));
            }
            assert_eq!(
                <&[u8]>::from_sql(oid::BYTEA, Format::Binary, bytes),
                Ok(bytes)
            );
        }
    }

    #[test]
    fn decodes_hex_text() {
        for (text, bytes) in [
            (&br"\x"[..], &b""[..]),
            (br"\x0001ff", b"\x00\x01\xff"),
            (br"\xDEADbeef", b"\xde\xad\xbe\xef"),
        ] {
            assert_eq!(
                Vec::<u8>::from_sql(oid::BYTEA, Format::Text, text),
                Ok(bytes.to_vec())
            );
        }
        for text in [&br"\x0"[..], br"\x0g", br"\x 00", b"\\x\xff\xff"] {
            assert!(
                matches!(
                    Vec::<u8>::from_sql(oid::BYTEA, Format::Text, text),
                    Err(TypeError::Invalid {
                        pg_type: oid::BYTEA,
                        ..
                    })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn decodes_escape_text() {
        for (text, bytes) in [
            (&b""[..], &b""[..]),
            (b"abc", b"abc"),
            (br"\\", b"\\"),
            (br"\000\001\377a\\b", b"\x00\x01\xffa\\b"),
        ] {
            assert_eq!(
                Vec::<u8>::from_sql(oid::BYTEA, Format::Text, text),
                Ok(bytes.to_vec())
            );
        }
        for text in [&br"\"[..], br"\400", br"\01", br"\a", br"a\08"] {
            assert!(
                matches!(
                    Vec::<u8>::from_sql(oid::BYTEA, Format::Text, text),
                    Err(TypeError::Invalid {
                        pg_type: oid::BYTEA,
                        ..
                    })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn borrowing_needs_the_binary_format() {
        assert!(matches!(
            <&[u8]>::from_sql(oid::BYTEA, Format::Text, br"\x00"),
            Err(TypeError::Invalid {
                pg_type: oid::BYTEA,
                ..
            })
        ));
    }

    #[test]
    fn other_types_are_wrong() {
        for ty in [oid::TEXT, oid::INT4, oid::UNKNOWN, oid::JSONB] {
            assert_eq!(
                Vec::<u8>::from_sql(ty, Format::Binary, b"x"),
                Err(TypeError::wrong_type::<Vec<u8>>(ty))
            );
            assert_eq!(
                <&[u8]>::from_sql(ty, Format::Binary, b"x"),
                Err(TypeError::wrong_type::<&[u8]>(ty))
            );
            assert_eq!(
                encode(&b"x".to_vec(), ty),
                Err(TypeError::wrong_type::<Vec<u8>>(ty))
            );
            assert_eq!(
                encode(&&b"x"[..], ty),
                Err(TypeError::wrong_type::<[u8]>(ty))
            );
        }
    }
}
