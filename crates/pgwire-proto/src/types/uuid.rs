//! UUIDs: `[u8; 16]` and, with the `uuid` feature, `uuid::Uuid`, to and from
//! `uuid`.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::{fixed, oid, put_display, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// The canonical text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, as
/// PostgreSQL prints it.
struct Hyphenated<'a>(&'a [u8; 16]);

impl fmt::Display for Hyphenated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// Parses what PostgreSQL's `uuid` input takes: 32 hex digits in either
/// case, optionally in braces, with an optional hyphen after any group of
/// four digits. The server itself prints only the canonical form.
fn parse(ty: Oid, text: &str) -> Result<[u8; 16], TypeError> {
    let invalid = || TypeError::invalid(ty, format!("{text:?} is not a UUID"));
    let inner = match text.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}').ok_or_else(invalid)?,
        None => text,
    };
    let mut rest = inner.as_bytes();
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        let [high, low, tail @ ..] = rest else {
            return Err(invalid());
        };
        let nibble = |c: &u8| {
            char::from(*c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        *slot = nibble(high).ok_or_else(invalid)? << 4 | nibble(low).ok_or_else(invalid)?;
        rest = tail;
        if i % 2 == 1 && i < 15 {
            if let [b'-', tail @ ..] = rest {
                rest = tail;
            }
        }
    }
    if rest.is_empty() {
        Ok(out)
    } else {
        Err(invalid())
    }
}

/// Encodes `bytes`, of Rust type `T`, for a parameter of type `ty`.
fn encode<T>(bytes: &[u8; 16], ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
    match ty {
        0 | oid::UUID => {
            out.put_slice(bytes);
            Ok(Encoded::Binary)
        }
        ty if text::takes_any_text(ty) => {
            put_display(out, Hyphenated(bytes));
            Ok(Encoded::Text)
        }
        ty => Err(TypeError::wrong_type::<T>(ty)),
    }
}

fn decode<T>(ty: Oid, format: Format, raw: &[u8]) -> Result<[u8; 16], TypeError> {
    match (ty, format) {
        (oid::UUID, Format::Binary) => fixed(ty, raw),
        (oid::UUID, Format::Text) => parse(ty, utf8(ty, raw)?),
        _ => Err(TypeError::wrong_type::<T>(ty)),
    }
}

/// A UUID as its 16 bytes, in the order PostgreSQL (and RFC 9562) writes
/// them.
impl ToSql for [u8; 16] {
    fn natural_type(&self) -> Oid {
        oid::UUID
    }

    fn static_type() -> Oid {
        oid::UUID
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(self, ty, out)
    }
}

impl FromSql<'_> for [u8; 16] {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw)
    }
}

#[cfg(feature = "uuid")]
impl ToSql for ::uuid::Uuid {
    fn natural_type(&self) -> Oid {
        oid::UUID
    }

    fn static_type() -> Oid {
        oid::UUID
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(self.as_bytes(), ty, out)
    }
}

#[cfg(feature = "uuid")]
impl FromSql<'_> for ::uuid::Uuid {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw).map(::uuid::Uuid::from_bytes)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::{encode, round_trip};
    use super::*;

    const BYTES: [u8; 16] = [
        0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a,
        0x11,
    ];
    const TEXT: &str = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";

    #[test]
    fn binary_and_text() {
        assert_eq!(BYTES.natural_type(), oid::UUID);
        assert_eq!(<[u8; 16]>::static_type(), oid::UUID);
        for ty in [0, oid::UUID] {
            assert_eq!(encode(&BYTES, ty), Ok((Encoded::Binary, BYTES.to_vec())));
            assert_eq!(round_trip(&BYTES, ty), Ok(BYTES));
        }
        assert_eq!(
            encode(&BYTES, oid::TEXT),
            Ok((Encoded::Text, TEXT.as_bytes().to_vec()))
        );
        assert_eq!(
            <[u8; 16]>::from_sql(oid::UUID, Format::Text, TEXT.as_bytes()),
            Ok(BYTES)
        );
        assert_eq!(round_trip(&[0; 16], 0), Ok([0; 16]));
        assert_eq!(round_trip(&[0xff; 16], 0), Ok([0xff; 16]));
    }

    #[test]
    fn text_input_forms() {
        for text in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "{a0eebc999c0b4ef8bb6d6bb9bd380a11}",
        ] {
            assert_eq!(
                <[u8; 16]>::from_sql(oid::UUID, Format::Text, text.as_bytes()),
                Ok(BYTES),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed() {
        for text in [
            "",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
            "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
            "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1é",
        ] {
            assert!(
                matches!(
                    <[u8; 16]>::from_sql(oid::UUID, Format::Text, text.as_bytes()),
                    Err(TypeError::Invalid { .. })
                ),
                "{text:?}"
            );
        }
        assert!(matches!(
            <[u8; 16]>::from_sql(oid::UUID, Format::Binary, &[0; 15]),
            Err(TypeError::Invalid { .. })
        ));
        assert_eq!(
            <[u8; 16]>::from_sql(oid::BYTEA, Format::Binary, &[0; 16]),
            Err(TypeError::wrong_type::<[u8; 16]>(oid::BYTEA))
        );
        assert_eq!(
            encode(&BYTES, oid::BYTEA),
            Err(TypeError::wrong_type::<[u8; 16]>(oid::BYTEA))
        );
    }

    #[cfg(feature = "uuid")]
    #[test]
    fn uuid_crate() {
        let u = ::uuid::Uuid::from_bytes(BYTES);
        assert_eq!(u.natural_type(), oid::UUID);
        assert_eq!(round_trip(&u, 0), Ok(u));
        assert_eq!(encode(&u, 0), Ok((Encoded::Binary, BYTES.to_vec())));
        assert_eq!(
            ::uuid::Uuid::from_sql(oid::UUID, Format::Text, TEXT.as_bytes()),
            Ok(u)
        );
        assert_eq!(
            encode(&u, oid::VARCHAR),
            Ok((Encoded::Text, u.hyphenated().to_string().into_bytes()))
        );
    }

    proptest! {
        #[test]
        fn random_values(bytes in any::<[u8; 16]>(), raw in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(round_trip(&bytes, 0), Ok(bytes));
            let (_, text) = encode(&bytes, oid::TEXT).unwrap();
            prop_assert_eq!(<[u8; 16]>::from_sql(oid::UUID, Format::Text, &text), Ok(bytes));
            for format in [Format::Text, Format::Binary] {
                let _ = <[u8; 16]>::from_sql(oid::UUID, format, &raw);
            }
        }
    }
}
