//! Small conversions tokio-postgres users expect: `"char"` as `i8`,
//! `std::time::SystemTime` as `timestamptz`, and fixed-size arrays `[T; N]`
//! as one-dimensional arrays.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::time::OffsetDateTime;
use bytes::{BufMut, BytesMut};

use super::time::{decode_timestamptz, encode_timestamptz, finite};
use super::{fixed, oid, utf8, Encoded, FromSql, Infinite, Oid, ToSql, TypeError};
use crate::row::Format;

/// `"char"`, the one-byte internal type (`pg_type.typtype`), as its byte.
impl ToSql for i8 {
    fn natural_type(&self) -> Oid {
        oid::CHAR
    }

    fn static_type() -> Oid {
        oid::CHAR
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        match ty {
            0 | oid::CHAR => {
                out.put_i8(*self);
                Ok(Encoded::Binary)
            }
            ty => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

/// From `"char"`: the byte in binary; in text, the server's `charout`
/// form (the character, `\ooo` for bytes of 128 and up, empty for 0).
impl FromSql<'_> for i8 {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        if ty != oid::CHAR {
            return Err(TypeError::wrong_type::<Self>(ty));
        }
        let byte = match (format, raw) {
            (Format::Binary, _) => fixed::<1>(ty, raw)?[0],
            (Format::Text, []) => 0,
            (Format::Text, [b]) if b.is_ascii() => *b,
            (Format::Text, [b'\\', digits @ ..]) if digits.len() == 3 => {
                let text = utf8(ty, digits)?;
                u8::from_str_radix(text, 8)
                    .map_err(|_| TypeError::invalid(ty, format!("bad \"char\" escape {text:?}")))?
            }
            (Format::Text, _) => {
                return Err(TypeError::invalid(
                    ty,
                    format!("{} bytes are no \"char\"", raw.len()),
                ))
            }
        };
        Ok(i8::from_ne_bytes([byte]))
    }
}

fn system_time_to_time<T>(t: SystemTime) -> Result<OffsetDateTime, TypeError> {
    let nanos = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).ok(),
        Err(before) => i128::try_from(before.duration().as_nanos())
            .ok()
            .map(|n| -n),
    };
    nanos
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .ok_or_else(|| TypeError::out_of_range::<T>(oid::TIMESTAMPTZ))
}

fn system_time_from_time<T>(t: OffsetDateTime, ty: Oid) -> Result<SystemTime, TypeError> {
    let nanos = t.unix_timestamp_nanos();
    let magnitude = Duration::new(
        u64::try_from(nanos.unsigned_abs() / 1_000_000_000).unwrap_or(u64::MAX),
        u32::try_from(nanos.unsigned_abs() % 1_000_000_000).unwrap_or(0),
    );
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
    .ok_or_else(|| TypeError::out_of_range::<T>(ty))
}

/// `SystemTime` as `timestamptz` (microseconds, rounded to the nearest, as
/// for `time`); `infinity` is `OutOfRange`.
impl ToSql for SystemTime {
    fn natural_type(&self) -> Oid {
        oid::TIMESTAMPTZ
    }

    fn static_type() -> Oid {
        oid::TIMESTAMPTZ
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        let t = system_time_to_time::<Self>(*self)?;
        encode_timestamptz::<Self>(Infinite::Value(t), ty, out)
    }
}

/// From `timestamptz`, in binary or text; `infinity` is `OutOfRange`.
impl FromSql<'_> for SystemTime {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        let t = finite::<Self, _>(ty, decode_timestamptz::<Self>(ty, format, raw)?)?;
        system_time_from_time::<Self>(t, ty)
    }
}

/// A fixed-size array as a one-dimensional array parameter, as a slice is.
impl<T: ToSql, const N: usize> ToSql for [T; N] {
    fn natural_type(&self) -> Oid {
        self.as_slice().natural_type()
    }

    fn static_type() -> Oid {
        Vec::<T>::static_type()
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        self.as_slice().to_sql(ty, out)
    }
}

/// From a one-dimensional array of exactly `N` elements.
impl<'a, T: for<'b> FromSql<'b>, const N: usize> FromSql<'a> for [T; N] {
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        let elements = Vec::<T>::from_sql(ty, format, raw)?;
        let len = elements.len();
        elements
            .try_into()
            .map_err(|_| TypeError::invalid(ty, format!("array has {len} elements, expected {N}")))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    #[test]
    fn char_as_i8() {
        for b in [i8::MIN, -1, 0, 1, b'r' as i8, i8::MAX] {
            assert_eq!(round_trip(&b, 0), Ok(b));
        }
        for (text, byte) in [
            (&b""[..], 0),
            (b"r", b'r' as i8),
            (b"\\377", -1),
            (b"\\200", i8::MIN),
        ] {
            assert_eq!(i8::from_sql(oid::CHAR, Format::Text, text), Ok(byte));
        }
        for bad in [&b"ab"[..], b"\\999", b"\xff"] {
            assert!(
                i8::from_sql(oid::CHAR, Format::Text, bad).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(
            encode(&1i8, oid::INT2),
            Err(TypeError::wrong_type::<i8>(oid::INT2))
        );
        assert_eq!(
            i8::from_sql(oid::INT2, Format::Binary, &[0, 1]),
            Err(TypeError::wrong_type::<i8>(oid::INT2))
        );
    }

    #[test]
    fn system_time() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000);
        let before = UNIX_EPOCH - Duration::new(86_400 * 365 * 100, 1_000);
        for v in [t, before, UNIX_EPOCH] {
            assert_eq!(round_trip(&v, 0), Ok(v));
        }
        // Rounded to the microsecond, as the server would.
        assert_eq!(
            round_trip(&(UNIX_EPOCH + Duration::from_nanos(1_500)), 0),
            Ok(UNIX_EPOCH + Duration::from_micros(2))
        );
        assert_eq!(
            SystemTime::from_sql(oid::TIMESTAMPTZ, Format::Text, b"infinity"),
            Err(TypeError::out_of_range::<SystemTime>(oid::TIMESTAMPTZ))
        );
        assert_eq!(
            SystemTime::from_sql(
                oid::TIMESTAMPTZ,
                Format::Text,
                b"1970-01-01 01:00:00.000001+01"
            ),
            Ok(UNIX_EPOCH + Duration::from_micros(1))
        );
    }

    #[test]
    fn fixed_size_arrays() {
        let a = [1i32, -2, 3];
        assert_eq!(a.natural_type(), oid::INT4_ARRAY);
        assert_eq!(<[i64; 2]>::static_type(), Vec::<i64>::static_type());
        assert_eq!(round_trip(&a, 0), Ok(a));
        assert_eq!(encode(&a, 0), encode(&a.to_vec(), 0));
        let (_, bytes) = encode(&a, 0).unwrap();
        assert!(matches!(
            <[i32; 2]>::from_sql(oid::INT4_ARRAY, Format::Binary, &bytes),
            Err(TypeError::Invalid { .. })
        ));
        assert_eq!(
            <[String; 0]>::from_sql(oid::TEXT_ARRAY, Format::Text, b"{}"),
            Ok([])
        );
    }
}
