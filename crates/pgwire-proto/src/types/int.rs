//! Integers: `i16`, `i32`, `i64` and `u32` to and from `int2`, `int4`, `int8`
//! and `oid`.
//!
//! Every integer Rust type converts to and from every integer PostgreSQL
//! type, with a range check where the target is narrower, so that the Rust
//! and column types need not match exactly (`count(*)` is `int8`, but an
//! `i32` that holds the count is fine).

use bytes::{BufMut, BytesMut};

use super::{fixed, oid, parse, put_display, text, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// Decodes any integer type; `i64` holds every `int2`, `int4`, `int8` and
/// `oid` value. `T` is the Rust type asked for, named in errors.
fn decode_wide<T>(ty: Oid, format: Format, raw: &[u8]) -> Result<i64, TypeError> {
    Ok(match (ty, format) {
        (oid::INT2, Format::Binary) => i16::from_be_bytes(fixed(ty, raw)?).into(),
        (oid::INT4, Format::Binary) => i32::from_be_bytes(fixed(ty, raw)?).into(),
        (oid::INT8, Format::Binary) => i64::from_be_bytes(fixed(ty, raw)?),
        (oid::OID, Format::Binary) => u32::from_be_bytes(fixed(ty, raw)?).into(),
        (oid::INT2 | oid::INT4 | oid::INT8 | oid::OID, Format::Text) => parse(ty, raw)?,
        _ => return Err(TypeError::wrong_type::<T>(ty)),
    })
}

fn decode<T: TryFrom<i64>>(ty: Oid, format: Format, raw: &[u8]) -> Result<T, TypeError> {
    let wide = decode_wide::<T>(ty, format, raw)?;
    T::try_from(wide).map_err(|_| TypeError::out_of_range::<T>(ty))
}

/// Encodes `value`, of Rust type `T` and natural type `natural`, for a
/// parameter of type `ty`.
fn encode<T>(value: i64, natural: Oid, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
    let ty = if ty == 0 { natural } else { ty };
    let out_of_range = |_| TypeError::out_of_range::<T>(ty);
    match ty {
        oid::INT2 => out.put_i16(i16::try_from(value).map_err(out_of_range)?),
        oid::INT4 => out.put_i32(i32::try_from(value).map_err(out_of_range)?),
        oid::INT8 => out.put_i64(value),
        oid::OID => out.put_u32(u32::try_from(value).map_err(out_of_range)?),
        // Binary only where the float holds the integer exactly.
        oid::FLOAT4 if value.unsigned_abs() <= 1 << f32::MANTISSA_DIGITS => {
            out.put_f32(value as f32)
        }
        oid::FLOAT8 if value.unsigned_abs() <= 1 << f64::MANTISSA_DIGITS => {
            out.put_f64(value as f64)
        }
        // Decimal text is exact for numeric and text; for a float too wide to
        // hold it, the server rounds it exactly as it would a literal.
        oid::FLOAT4 | oid::FLOAT8 | oid::NUMERIC => {
            put_display(out, value);
            return Ok(Encoded::Text);
        }
        ty if text::takes_any_text(ty) => {
            put_display(out, value);
            return Ok(Encoded::Text);
        }
        ty => return Err(TypeError::wrong_type::<T>(ty)),
    }
    Ok(Encoded::Binary)
}

macro_rules! integer {
    ($rust:ty, $natural:expr) => {
        impl ToSql for $rust {
            fn natural_type(&self) -> Oid {
                $natural
            }

            fn static_type() -> Oid {
                $natural
            }

            fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
                encode::<$rust>(i64::from(*self), $natural, ty, out)
            }
        }

        impl FromSql<'_> for $rust {
            #[inline]
            fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
                // The type's own binary format, inlined at the call site;
                // conversions and errors out of line.
                match (format, raw.try_into()) {
                    (Format::Binary, Ok(bytes)) if ty == $natural => {
                        Ok(<$rust>::from_be_bytes(bytes))
                    }
                    _ => decode(ty, format, raw),
                }
            }
        }
    };
}

integer!(i16, oid::INT2);
integer!(i32, oid::INT4);
integer!(i64, oid::INT8);
// Unsigned 32-bit values in PostgreSQL are OIDs; `int8` also holds them all.
integer!(u32, oid::OID);

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    const INTS: [Oid; 4] = [oid::INT2, oid::INT4, oid::INT8, oid::OID];

    #[test]
    fn natural_types() {
        assert_eq!(1i16.natural_type(), oid::INT2);
        assert_eq!(1i32.natural_type(), oid::INT4);
        assert_eq!(1i64.natural_type(), oid::INT8);
        assert_eq!(1u32.natural_type(), oid::OID);
        assert_eq!(i16::static_type(), oid::INT2);
        assert_eq!(u32::static_type(), oid::OID);
    }

    #[test]
    fn natural_encoding_is_binary_of_the_same_width() {
        assert_eq!(encode(&-2i16, 0), Ok((Encoded::Binary, vec![0xff, 0xfe])));
        assert_eq!(encode(&258i32, 0), Ok((Encoded::Binary, vec![0, 0, 1, 2])));
        assert_eq!(
            encode(&1i64, 0),
            Ok((Encoded::Binary, 1i64.to_be_bytes().to_vec()))
        );
        assert_eq!(encode(&u32::MAX, 0), Ok((Encoded::Binary, vec![0xff; 4])));
    }

    #[test]
    fn round_trips_through_every_integer_type() {
        for ty in [0].into_iter().chain(INTS) {
            for v in [0i16, 1, 42] {
                assert_eq!(round_trip(&v, ty), Ok(v), "{v} via {ty}");
                assert_eq!(round_trip(&i32::from(v), ty), Ok(i32::from(v)));
                assert_eq!(round_trip(&i64::from(v), ty), Ok(i64::from(v)));
                let u = v as u32;
                assert_eq!(round_trip(&u, ty), Ok(u));
            }
        }
        for ty in [0, oid::INT2, oid::INT4, oid::INT8] {
            assert_eq!(round_trip(&i16::MIN, ty), Ok(i16::MIN));
            assert_eq!(round_trip(&i16::MAX, ty), Ok(i16::MAX));
        }
        for ty in [0, oid::INT4, oid::INT8] {
            assert_eq!(round_trip(&i32::MIN, ty), Ok(i32::MIN));
            assert_eq!(round_trip(&i32::MAX, ty), Ok(i32::MAX));
        }
        for ty in [0, oid::INT8] {
            assert_eq!(round_trip(&i64::MIN, ty), Ok(i64::MIN));
            assert_eq!(round_trip(&i64::MAX, ty), Ok(i64::MAX));
        }
        for ty in [0, oid::OID, oid::INT8] {
            assert_eq!(round_trip(&u32::MAX, ty), Ok(u32::MAX));
        }
    }

    #[test]
    fn narrowing_is_range_checked() {
        assert_eq!(
            encode(&32_768i32, oid::INT2),
            Err(TypeError::out_of_range::<i32>(oid::INT2))
        );
        assert_eq!(
            encode(&i64::MIN, oid::INT4),
            Err(TypeError::out_of_range::<i64>(oid::INT4))
        );
        assert_eq!(
            encode(&-1i16, oid::OID),
            Err(TypeError::out_of_range::<i16>(oid::OID))
        );
        assert_eq!(
            encode(&u32::MAX, oid::INT4),
            Err(TypeError::out_of_range::<u32>(oid::INT4))
        );
        assert_eq!(
            i16::from_sql(oid::INT4, Format::Binary, &32_768i32.to_be_bytes()),
            Err(TypeError::out_of_range::<i16>(oid::INT4))
        );
        assert_eq!(
            i32::from_sql(oid::INT8, Format::Text, b"-2147483649"),
            Err(TypeError::out_of_range::<i32>(oid::INT8))
        );
        assert_eq!(
            u32::from_sql(oid::INT4, Format::Text, b"-1"),
            Err(TypeError::out_of_range::<u32>(oid::INT4))
        );
        assert_eq!(
            i32::from_sql(oid::INT8, Format::Text, b"-2147483648"),
            Ok(i32::MIN)
        );
        assert_eq!(
            i32::from_sql(oid::OID, Format::Binary, &[0, 0, 0, 9]),
            Ok(9)
        );
    }

    #[test]
    fn decodes_server_text() {
        assert_eq!(
            i16::from_sql(oid::INT2, Format::Text, b"-32768"),
            Ok(i16::MIN)
        );
        assert_eq!(
            i32::from_sql(oid::INT4, Format::Text, b"2147483647"),
            Ok(i32::MAX)
        );
        assert_eq!(
            i64::from_sql(oid::INT8, Format::Text, b"9223372036854775807"),
            Ok(i64::MAX)
        );
        assert_eq!(
            i64::from_sql(oid::INT8, Format::Text, b"-9223372036854775808"),
            Ok(i64::MIN)
        );
        assert_eq!(
            i64::from_sql(oid::INT2, Format::Text, b"-32768"),
            Ok(-32768)
        );
        assert_eq!(
            u32::from_sql(oid::OID, Format::Text, b"4294967295"),
            Ok(u32::MAX)
        );
    }

    #[test]
    fn widening_from_binary() {
        assert_eq!(
            i64::from_sql(oid::INT2, Format::Binary, &[0xff, 0xff]),
            Ok(-1)
        );
        assert_eq!(
            i64::from_sql(oid::INT4, Format::Binary, &[0x80, 0, 0, 0]),
            Ok(i32::MIN.into())
        );
        assert_eq!(
            i32::from_sql(oid::INT2, Format::Binary, &[0x7f, 0xff]),
            Ok(32_767)
        );
        assert_eq!(
            i64::from_sql(oid::OID, Format::Binary, &[0xff; 4]),
            Ok(u32::MAX.into())
        );
    }

    #[test]
    fn malformed_values_are_invalid() {
        assert!(matches!(
            i32::from_sql(oid::INT4, Format::Binary, &[0, 0, 1]),
            Err(TypeError::Invalid {
                pg_type: oid::INT4,
                ..
            })
        ));
        assert!(matches!(
            i64::from_sql(oid::INT2, Format::Binary, &[]),
            Err(TypeError::Invalid {
                pg_type: oid::INT2,
                ..
            })
        ));
        for text in [
            &b""[..],
            b"1.5",
            b" 1",
            b"x",
            b"99999999999999999999",
            b"\xff",
        ] {
            assert!(
                matches!(
                    i64::from_sql(oid::INT8, Format::Text, text),
                    Err(TypeError::Invalid {
                        pg_type: oid::INT8,
                        ..
                    })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn other_types_are_wrong() {
        for ty in [
            oid::TEXT,
            oid::FLOAT8,
            oid::NUMERIC,
            oid::BOOL,
            oid::BYTEA,
            99_999,
        ] {
            assert_eq!(
                i32::from_sql(ty, Format::Text, b"1"),
                Err(TypeError::wrong_type::<i32>(ty))
            );
        }
        for ty in [oid::BOOL, oid::BYTEA, oid::JSONB, oid::NAME, 99_999] {
            assert_eq!(encode(&1i64, ty), Err(TypeError::wrong_type::<i64>(ty)));
        }
    }

    #[test]
    fn into_floats() {
        assert_eq!(
            encode(&-7i32, oid::FLOAT8),
            Ok((Encoded::Binary, (-7.0f64).to_be_bytes().to_vec()))
        );
        assert_eq!(
            encode(&i16::MIN, oid::FLOAT4),
            Ok((Encoded::Binary, (-32768.0f32).to_be_bytes().to_vec()))
        );
        assert_eq!(
            encode(&(1i64 << 53), oid::FLOAT8),
            Ok((
                Encoded::Binary,
                9_007_199_254_740_992f64.to_be_bytes().to_vec()
            ))
        );
        // Too wide to be exact: the server does the rounding.
        assert_eq!(
            encode(&i64::MAX, oid::FLOAT8),
            Ok((Encoded::Text, b"9223372036854775807".to_vec()))
        );
        assert_eq!(
            encode(&16_777_217i32, oid::FLOAT4),
            Ok((Encoded::Text, b"16777217".to_vec()))
        );
    }

    #[test]
    fn into_numeric_and_text_as_decimal() {
        for ty in [
            oid::NUMERIC,
            oid::TEXT,
            oid::VARCHAR,
            oid::BPCHAR,
            oid::UNKNOWN,
        ] {
            assert_eq!(
                encode(&i64::MIN, ty),
                Ok((Encoded::Text, b"-9223372036854775808".to_vec()))
            );
            assert_eq!(encode(&0i16, ty), Ok((Encoded::Text, b"0".to_vec())));
            assert_eq!(
                encode(&u32::MAX, ty),
                Ok((Encoded::Text, b"4294967295".to_vec()))
            );
        }
    }
}
