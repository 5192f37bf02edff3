//! Arbitrary-precision decimals: [`Numeric`] to and from `numeric`, and,
//! with the `rust_decimal` feature, `rust_decimal::Decimal`.
//!
//! Integers and floats are sent to `numeric` parameters as decimal text by
//! their own modules; this one adds a lossless Rust type for `numeric`
//! values themselves.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use super::{oid, put_display, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// The base of the digits `numeric` stores: each holds four decimal digits.
const NBASE: u16 = 10_000;
/// Decimal digits per base-`NBASE` digit.
const DEC_DIGITS: i64 = 4;
/// The largest display scale (digits after the point) PostgreSQL keeps
/// (`NUMERIC_DSCALE_MAX`).
const DSCALE_MAX: u16 = 0x3FFF;

/// Sign words of the binary format.
const SIGN_POS: u16 = 0x0000;
const SIGN_NEG: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
/// PostgreSQL 14 added the infinities.
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;

/// A PostgreSQL `numeric`, kept exactly as the server keeps it: a sign,
/// base-10000 digits, the weight of the first digit, and the display scale
/// (the number of digits after the decimal point, trailing zeros included),
/// plus `NaN` and, since PostgreSQL 14, `Infinity` and `-Infinity`.
///
/// Values round-trip exactly, display scale included: `1.500` stays
/// `1.500`. Accordingly `==` compares representations, so `1.5` and `1.500`
/// differ (PostgreSQL's `=` would call them equal), and `NaN == NaN` (as in
/// PostgreSQL). There is no arithmetic; convert to a numeric library type
/// for that.
///
/// ```
/// use pgwire_proto::types::Numeric;
///
/// let n: Numeric = "-12.3400".parse().unwrap();
/// assert_eq!(n.to_string(), "-12.3400");
/// assert_eq!(n.scale(), Some(4));
/// assert_eq!(f64::try_from(&n), Ok(-12.34));
/// assert!(i64::try_from(&n).is_err()); // not an integer
///
/// assert_eq!(Numeric::from(i64::MIN).to_string(), "-9223372036854775808");
/// assert_eq!(Numeric::try_from(0.1f64).unwrap().to_string(), "0.1");
/// assert_eq!("1.5e3".parse::<Numeric>().unwrap().to_string(), "1500");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Numeric {
    repr: Repr,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    NaN,
    Infinity,
    NegInfinity,
    /// Canonical: no leading or trailing zero digits, so zero has no digits
    /// (and weight 0, positive), and no non-zero decimal digit lies beyond
    /// `dscale`.
    Finite {
        negative: bool,
        /// The power of `NBASE` of the first digit.
        weight: i16,
        dscale: u16,
        /// Each below `NBASE`.
        digits: Vec<u16>,
    },
}

/// A construction failure, turned into a [`TypeError`] naming the Rust type
/// being converted.
enum Bad {
    Invalid(String),
    OutOfRange,
}

impl Bad {
    fn into_error<T: ?Sized>(self, ty: Oid, text: &str) -> TypeError {
        match self {
            Bad::Invalid(why) => TypeError::invalid(ty, format!("{text:?}: {why}")),
            Bad::OutOfRange => TypeError::out_of_range::<T>(ty),
        }
    }
}

impl Numeric {
    /// `NaN`.
    pub const NAN: Numeric = Numeric { repr: Repr::NaN };
    /// `Infinity` (PostgreSQL 14 and later).
    pub const INFINITY: Numeric = Numeric {
        repr: Repr::Infinity,
    };
    /// `-Infinity` (PostgreSQL 14 and later).
    pub const NEG_INFINITY: Numeric = Numeric {
        repr: Repr::NegInfinity,
    };
    /// `0`, with no digits after the point.
    pub const ZERO: Numeric = Numeric {
        repr: Repr::Finite {
            negative: false,
            weight: 0,
            dscale: 0,
            digits: Vec::new(),
        },
    };

    /// True for `NaN`.
    pub fn is_nan(&self) -> bool {
        matches!(self.repr, Repr::NaN)
    }

    /// True for neither `NaN` nor an infinity.
    pub fn is_finite(&self) -> bool {
        matches!(self.repr, Repr::Finite { .. })
    }

    /// True for `Infinity` and `-Infinity`.
    pub fn is_infinite(&self) -> bool {
        matches!(self.repr, Repr::Infinity | Repr::NegInfinity)
    }

    /// True for values below zero, `-Infinity` included. Zero is never
    /// negative in PostgreSQL.
    pub fn is_negative(&self) -> bool {
        match self.repr {
            Repr::Finite { negative, .. } => negative,
            Repr::NegInfinity => true,
            Repr::NaN | Repr::Infinity => false,
        }
    }

    /// The display scale, the number of digits shown after the decimal
    /// point; `None` for `NaN` and the infinities.
    pub fn scale(&self) -> Option<u16> {
        match self.repr {
            Repr::Finite { dscale, .. } => Some(dscale),
            _ => None,
        }
    }

    /// Builds a finite value from decimal digits (ASCII `0`-`9`) of which
    /// the first `point` are before the decimal point (`point` may be
    /// negative or beyond the digits, meaning implied zeros), shown with
    /// `dscale` digits after the point.
    fn from_decimal(negative: bool, digits: &[u8], point: i64, dscale: i64) -> Result<Self, Bad> {
        let dscale = u16::try_from(dscale)
            .ok()
            .filter(|&d| d <= DSCALE_MAX)
            .ok_or(Bad::OutOfRange)?;
        let (Some(first), Some(last)) = (
            digits.iter().position(|&d| d != b'0'),
            digits.iter().rposition(|&d| d != b'0'),
        ) else {
            return Ok(Numeric {
                repr: Repr::Finite {
                    negative: false,
                    weight: 0,
                    dscale,
                    digits: Vec::new(),
                },
            });
        };
        // The power of ten of digit `i` is `point - 1 - i`.
        let exponent = |i: usize| i64::try_from(i).map(|i| point - 1 - i);
        let (Ok(e_first), Ok(e_last)) = (exponent(first), exponent(last)) else {
            return Err(Bad::OutOfRange);
        };
        if e_last < -i64::from(dscale) {
            return Err(Bad::Invalid(format!(
                "digits beyond the display scale {dscale}"
            )));
        }
        let weight = e_first.div_euclid(DEC_DIGITS);
        let last_group = e_last.div_euclid(DEC_DIGITS);
        let weight16 = i16::try_from(weight).map_err(|_| Bad::OutOfRange)?;
        // The binary format counts digits in 16 bits (see `from_binary`).
        let ndigits = usize::try_from(weight - last_group + 1)
            .ok()
            .filter(|&n| n <= usize::from(u16::MAX))
            .ok_or(Bad::OutOfRange)?;
        let mut groups = vec![0u16; ndigits];
        for (i, &d) in digits.iter().enumerate().take(last + 1).skip(first) {
            if !d.is_ascii_digit() {
                return Err(Bad::Invalid(format!("{:?} is not a digit", char::from(d))));
            }
            let e = exponent(i).map_err(|_| Bad::OutOfRange)?;
            let slot = usize::try_from(weight - e.div_euclid(DEC_DIGITS))
                .ok()
                .and_then(|index| groups.get_mut(index))
                .ok_or(Bad::OutOfRange)?;
            // At most 9999, well below u16::MAX.
            *slot += u16::from(d - b'0') * 10u16.pow(e.rem_euclid(DEC_DIGITS) as u32);
        }
        Ok(Numeric {
            repr: Repr::Finite {
                negative,
                weight: weight16,
                dscale,
                digits: groups,
            },
        })
    }

    /// The decimal digit of a finite value at power of ten `e`.
    fn digit_at(weight: i16, digits: &[u16], e: i64) -> u16 {
        let index = i64::from(weight) - e.div_euclid(DEC_DIGITS);
        let group = usize::try_from(index)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0);
        group / 10u16.pow(e.rem_euclid(DEC_DIGITS) as u32) % 10
    }

    /// The power of ten of the lowest non-zero digit; `None` for zero.
    fn lowest_exponent(weight: i16, digits: &[u16]) -> Option<i64> {
        let last = *digits.last()?;
        let index = i64::try_from(digits.len()).ok()? - 1;
        let zeros = (0..4).take_while(|&k| last % 10u16.pow(k) == 0).count() as i64 - 1;
        Some((i64::from(weight) - index) * DEC_DIGITS + zeros)
    }

    /// `|value| * 10^scale` as an integer, which must be exact (no non-zero
    /// digit below `10^-scale`); `None` if it overflows `i128`.
    fn scaled_magnitude(weight: i16, digits: &[u16], scale: i64) -> Option<i128> {
        if digits.is_empty() {
            return Some(0);
        }
        let top = i64::from(weight) * DEC_DIGITS + DEC_DIGITS - 1;
        let mut acc: i128 = 0;
        let mut e = top;
        while e >= -scale {
            acc = acc
                .checked_mul(10)?
                .checked_add(Self::digit_at(weight, digits, e).into())?;
            e -= 1;
        }
        Some(acc)
    }

    /// Decodes the binary format, checking everything a malformed or
    /// hostile message could get wrong.
    fn from_binary(ty: Oid, raw: &[u8]) -> Result<Self, TypeError> {
        let bad = |why: &str| TypeError::invalid(ty, format!("binary numeric: {why}"));
        let word = |i: usize| -> Result<u16, TypeError> {
            raw.get(i * 2..i * 2 + 2)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_be_bytes)
                .ok_or_else(|| bad("truncated"))
        };
        // PostgreSQL writes the digit count as int16 but reads it as uint16,
        // which the largest values (131072 digits before the point and
        // 16383 after: 36864 base-10000 digits) need.
        let ndigits = usize::from(word(0)?);
        let weight = i16::from_be_bytes(word(1)?.to_be_bytes());
        let sign = word(2)?;
        let dscale = word(3)?;
        if raw.len() != 8 + 2 * ndigits {
            return Err(bad("length does not match the digit count"));
        }
        let special = match sign {
            SIGN_NAN => Some(Repr::NaN),
            SIGN_PINF => Some(Repr::Infinity),
            SIGN_NINF => Some(Repr::NegInfinity),
            SIGN_POS | SIGN_NEG => None,
            _ => return Err(bad("unknown sign")),
        };
        if let Some(repr) = special {
            if ndigits != 0 {
                return Err(bad("special value with digits"));
            }
            return Ok(Numeric { repr });
        }
        if dscale > DSCALE_MAX {
            return Err(bad("display scale out of range"));
        }
        let mut digits = (0..ndigits)
            .map(|i| word(4 + i))
            .collect::<Result<Vec<u16>, _>>()?;
        if digits.iter().any(|&d| d >= NBASE) {
            return Err(bad("digit out of range"));
        }
        // Canonicalize: the server strips zeros, other senders might not.
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        let trailing = digits.iter().rev().take_while(|&&d| d == 0).count();
        if leading == digits.len() {
            return Ok(Numeric {
                repr: Repr::Finite {
                    negative: false,
                    weight: 0,
                    dscale,
                    digits: Vec::new(),
                },
            });
        }
        digits.truncate(digits.len() - trailing);
        digits.drain(..leading);
        let weight = i16::try_from(i64::from(weight) - leading as i64)
            .map_err(|_| bad("weight out of range"))?;
        match Self::lowest_exponent(weight, &digits) {
            Some(e) if e < -i64::from(dscale) => Err(bad("digits beyond the display scale")),
            _ => Ok(Numeric {
                repr: Repr::Finite {
                    negative: sign == SIGN_NEG,
                    weight,
                    dscale,
                    digits,
                },
            }),
        }
    }

    fn put_binary(&self, out: &mut BytesMut) {
        let (ndigits, weight, sign, dscale, digits): (usize, i16, u16, u16, &[u16]) =
            match &self.repr {
                Repr::NaN => (0, 0, SIGN_NAN, 0, &[]),
                Repr::Infinity => (0, 0, SIGN_PINF, 0, &[]),
                Repr::NegInfinity => (0, 0, SIGN_NINF, 0, &[]),
                Repr::Finite {
                    negative,
                    weight,
                    dscale,
                    digits,
                } => (
                    digits.len(),
                    *weight,
                    if *negative { SIGN_NEG } else { SIGN_POS },
                    *dscale,
                    digits,
                ),
            };
        out.reserve(8 + 2 * ndigits);
        // Construction keeps the count within 16 bits.
        out.put_u16(u16::try_from(ndigits).unwrap_or(u16::MAX));
        out.put_i16(weight);
        out.put_u16(sign);
        out.put_u16(dscale);
        for &d in digits {
            out.put_u16(d);
        }
    }
}

impl fmt::Display for Numeric {
    /// Writes the value as PostgreSQL prints it: plain decimal notation with
    /// exactly the display scale's digits after the point, or `NaN`,
    /// `Infinity`, `-Infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (negative, weight, dscale, digits) = match &self.repr {
            Repr::NaN => return f.write_str("NaN"),
            Repr::Infinity => return f.write_str("Infinity"),
            Repr::NegInfinity => return f.write_str("-Infinity"),
            Repr::Finite {
                negative,
                weight,
                dscale,
                digits,
            } => (*negative, *weight, *dscale, digits),
        };
        let mut s = String::with_capacity(
            2 + DEC_DIGITS as usize * (usize::try_from(weight).unwrap_or(0) + 1)
                + usize::from(dscale),
        );
        if negative {
            s.push('-');
        }
        if weight < 0 {
            s.push('0');
        } else {
            let top = i64::from(weight) * DEC_DIGITS + DEC_DIGITS - 1;
            let mut started = false;
            for e in (0..=top).rev() {
                let d = Numeric::digit_at(weight, digits, e);
                started |= d != 0 || e == 0;
                if started {
                    s.push(char::from(b'0' + d as u8));
                }
            }
        }
        if dscale > 0 {
            s.push('.');
            for e in 1..=i64::from(dscale) {
                let d = Numeric::digit_at(weight, digits, -e);
                s.push(char::from(b'0' + d as u8));
            }
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Numeric({self})")
    }
}

impl FromStr for Numeric {
    type Err = TypeError;

    /// Parses what PostgreSQL's `numeric` input takes: an optional sign,
    /// digits with an optional decimal point, an optional exponent (`1.5e3`),
    /// surrounding spaces, and `NaN`, `Infinity`, `inf` with any sign and
    /// case. The display scale is the number of digits after the point less
    /// the exponent, at least 0.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s.trim()).map_err(|e| e.into_error::<Numeric>(oid::NUMERIC, s))
    }
}

fn parse(s: &str) -> Result<Numeric, Bad> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "nan" => return Ok(Numeric::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Numeric::INFINITY),
        "-infinity" | "-inf" => return Ok(Numeric::NEG_INFINITY),
        _ => {}
    }
    let bytes = s.as_bytes();
    let (negative, rest) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, bytes),
    };
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int, rest) = rest.split_at(int_len);
    let (frac, rest) = match rest.split_first() {
        Some((b'.', tail)) => {
            let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            tail.split_at(n)
        }
        _ => (&[][..], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(Bad::Invalid("expected digits".into()));
    }
    let exponent: i64 = match rest.split_first() {
        None => 0,
        Some((b'e' | b'E', tail)) => {
            let (negative, digits) = match tail.split_first() {
                Some((b'-', d)) => (true, d),
                Some((b'+', d)) => (false, d),
                _ => (false, tail),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(Bad::Invalid("malformed exponent".into()));
            }
            // Anything past nine digits is beyond every limit anyway.
            if digits.len() > 9 {
                return Err(Bad::OutOfRange);
            }
            let value = digits
                .iter()
                .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
            if negative {
                -value
            } else {
                value
            }
        }
        Some(_) => return Err(Bad::Invalid("unexpected characters".into())),
    };
    let digits = [int, frac].concat();
    let point = i64::try_from(int.len()).map_err(|_| Bad::OutOfRange)? + exponent;
    let dscale = (i64::try_from(frac.len()).map_err(|_| Bad::OutOfRange)? - exponent).max(0);
    Numeric::from_decimal(negative, &digits, point, dscale)
}

impl From<i64> for Numeric {
    fn from(value: i64) -> Self {
        let digits = value.unsigned_abs().to_string();
        let len = digits.len() as i64;
        // Twenty digits at most: always representable.
        Numeric::from_decimal(value < 0, digits.as_bytes(), len, 0).unwrap_or(Numeric::NAN)
    }
}

impl From<i32> for Numeric {
    fn from(value: i32) -> Self {
        Numeric::from(i64::from(value))
    }
}

impl TryFrom<f64> for Numeric {
    type Error = TypeError;

    /// The exact decimal of the shortest representation that reads back as
    /// `value` (`0.1` is `0.1`, not `0.1000000000000000055511151231257827`),
    /// with that many digits after the point; `NaN` and the infinities map
    /// to the special values. Every `f64` converts; the `Result` mirrors the
    /// other direction.
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if value.is_nan() {
            return Ok(Numeric::NAN);
        }
        if value.is_infinite() {
            return Ok(if value > 0.0 {
                Numeric::INFINITY
            } else {
                Numeric::NEG_INFINITY
            });
        }
        // Rust's `Display` writes the shortest round-tripping digits in plain
        // notation, never with an exponent.
        value.to_string().parse()
    }
}

impl TryFrom<&Numeric> for i64 {
    type Error = TypeError;

    /// Exact conversion: `NaN` is `Invalid`; infinities, fractions and
    /// values beyond `i64` are `OutOfRange`. `2.000` converts.
    fn try_from(value: &Numeric) -> Result<Self, Self::Error> {
        let out_of_range = || TypeError::out_of_range::<i64>(oid::NUMERIC);
        let (negative, weight, digits) = match &value.repr {
            Repr::NaN => return Err(TypeError::invalid(oid::NUMERIC, "NaN is not an integer")),
            Repr::Infinity | Repr::NegInfinity => return Err(out_of_range()),
            Repr::Finite {
                negative,
                weight,
                digits,
                ..
            } => (*negative, *weight, digits),
        };
        if Numeric::lowest_exponent(weight, digits).is_some_and(|e| e < 0) || weight > 5 {
            return Err(out_of_range());
        }
        let magnitude = Numeric::scaled_magnitude(weight, digits, 0).ok_or_else(out_of_range)?;
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed).map_err(|_| out_of_range())
    }
}

impl TryFrom<Numeric> for i64 {
    type Error = TypeError;

    /// As for `&Numeric`.
    fn try_from(value: Numeric) -> Result<Self, Self::Error> {
        i64::try_from(&value)
    }
}

impl TryFrom<&Numeric> for i32 {
    type Error = TypeError;

    /// Exact conversion, as for `i64`.
    fn try_from(value: &Numeric) -> Result<Self, Self::Error> {
        let wide = i64::try_from(value).map_err(|e| match e {
            TypeError::OutOfRange { .. } => TypeError::out_of_range::<i32>(oid::NUMERIC),
            e => e,
        })?;
        i32::try_from(wide).map_err(|_| TypeError::out_of_range::<i32>(oid::NUMERIC))
    }
}

impl TryFrom<Numeric> for i32 {
    type Error = TypeError;

    /// As for `&Numeric`.
    fn try_from(value: Numeric) -> Result<Self, Self::Error> {
        i32::try_from(&value)
    }
}

impl TryFrom<&Numeric> for f64 {
    type Error = TypeError;

    /// The nearest `f64` (correctly rounded); `NaN` and the infinities map
    /// to their `f64` counterparts. A finite value beyond `f64::MAX` is
    /// `OutOfRange`, as PostgreSQL's own `numeric::float8` cast refuses it;
    /// values too small for `f64` become (signed) zero.
    fn try_from(value: &Numeric) -> Result<Self, Self::Error> {
        match value.repr {
            Repr::NaN => Ok(f64::NAN),
            Repr::Infinity => Ok(f64::INFINITY),
            Repr::NegInfinity => Ok(f64::NEG_INFINITY),
            Repr::Finite { .. } => {
                let wide: f64 = value
                    .to_string()
                    .parse()
                    .map_err(|_| TypeError::out_of_range::<f64>(oid::NUMERIC))?;
                if wide.is_finite() {
                    Ok(wide)
                } else {
                    Err(TypeError::out_of_range::<f64>(oid::NUMERIC))
                }
            }
        }
    }
}

impl TryFrom<Numeric> for f64 {
    type Error = TypeError;

    /// As for `&Numeric`.
    fn try_from(value: Numeric) -> Result<Self, Self::Error> {
        f64::try_from(&value)
    }
}

impl ToSql for Numeric {
    fn natural_type(&self) -> Oid {
        oid::NUMERIC
    }

    fn static_type() -> Oid {
        oid::NUMERIC
    }

    /// Binary for `numeric`; decimal text for text-like types and for
    /// floats, whose input the server rounds as it would a literal.
    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        match ty {
            0 | oid::NUMERIC => {
                self.put_binary(out);
                Ok(Encoded::Binary)
            }
            oid::FLOAT4 | oid::FLOAT8 => {
                put_display(out, self);
                Ok(Encoded::Text)
            }
            ty if text::takes_any_text(ty) => {
                put_display(out, self);
                Ok(Encoded::Text)
            }
            ty => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

impl FromSql<'_> for Numeric {
    /// From `numeric` in either format, and losslessly from the integer
    /// types.
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        match (ty, format) {
            (oid::NUMERIC, Format::Binary) => Numeric::from_binary(ty, raw),
            (oid::NUMERIC, Format::Text) => {
                let text = utf8(ty, raw)?;
                parse(text).map_err(|e| e.into_error::<Self>(ty, text))
            }
            (oid::INT2 | oid::INT4 | oid::INT8, _) => {
                i64::from_sql(ty, format, raw).map(Numeric::from)
            }
            _ => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

#[cfg(feature = "rust_decimal")]
mod decimal {
    //! `rust_decimal::Decimal`: 96-bit integers scaled by 10^0 to 10^28.

    use rust_decimal::Decimal;

    use super::*;

    impl From<Decimal> for Numeric {
        /// Exact, keeping the scale (`1.50` stays `1.50`).
        fn from(value: Decimal) -> Self {
            let digits = value.mantissa().unsigned_abs().to_string();
            let scale = i64::from(value.scale());
            let point = digits.len() as i64 - scale;
            // At most 29 digits and a scale of 28: always representable.
            Numeric::from_decimal(value.is_sign_negative(), digits.as_bytes(), point, scale)
                .unwrap_or(Numeric::NAN)
        }
    }

    impl TryFrom<&Numeric> for Decimal {
        type Error = TypeError;

        /// Exact conversion: `NaN` is `Invalid`; infinities, values beyond
        /// 96 bits and digits beyond 28 decimal places are `OutOfRange`.
        /// The scale is kept where `Decimal` can hold it; trailing zeros
        /// past what fits are dropped.
        fn try_from(value: &Numeric) -> Result<Self, Self::Error> {
            let out_of_range = || TypeError::out_of_range::<Decimal>(oid::NUMERIC);
            let (negative, weight, dscale, digits) = match &value.repr {
                Repr::NaN => {
                    return Err(TypeError::invalid(
                        oid::NUMERIC,
                        "NaN has no rust_decimal::Decimal value",
                    ))
                }
                Repr::Infinity | Repr::NegInfinity => return Err(out_of_range()),
                Repr::Finite {
                    negative,
                    weight,
                    dscale,
                    digits,
                } => (*negative, *weight, *dscale, digits),
            };
            let max_scale = i64::from(Decimal::MAX_SCALE);
            // The fewest decimal places that hold the value exactly.
            let needed = Numeric::lowest_exponent(weight, digits).map_or(0, |e| (-e).max(0));
            if needed > max_scale {
                return Err(out_of_range());
            }
            let mut scale = needed;
            let mut mantissa =
                Numeric::scaled_magnitude(weight, digits, scale).ok_or_else(out_of_range)?;
            // Trailing zeros up to the display scale, while they fit.
            let limit = i64::from(dscale).min(max_scale);
            while scale < limit {
                match mantissa.checked_mul(10) {
                    Some(m) if Decimal::try_from_i128_with_scale(m, 0).is_ok() => {
                        mantissa = m;
                        scale += 1;
                    }
                    _ => break,
                }
            }
            let signed = if negative { -mantissa } else { mantissa };
            let scale = u32::try_from(scale).map_err(|_| out_of_range())?;
            Decimal::try_from_i128_with_scale(signed, scale).map_err(|_| out_of_range())
        }
    }

    impl TryFrom<Numeric> for Decimal {
        type Error = TypeError;

        /// As for `&Numeric`.
        fn try_from(value: Numeric) -> Result<Self, Self::Error> {
            Decimal::try_from(&value)
        }
    }

    impl ToSql for Decimal {
        fn natural_type(&self) -> Oid {
            oid::NUMERIC
        }

        fn static_type() -> Oid {
            oid::NUMERIC
        }

        fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
            Numeric::from(*self).to_sql(ty, out).map_err(|e| match e {
                TypeError::WrongType { pg_type, .. } => TypeError::wrong_type::<Self>(pg_type),
                e => e,
            })
        }
    }

    impl FromSql<'_> for Decimal {
        fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
            let numeric = Numeric::from_sql(ty, format, raw).map_err(|e| match e {
                TypeError::WrongType { pg_type, .. } => TypeError::wrong_type::<Self>(pg_type),
                TypeError::OutOfRange { pg_type, .. } => TypeError::out_of_range::<Self>(pg_type),
                e => e,
            })?;
            Decimal::try_from(&numeric).map_err(|e| match e {
                TypeError::OutOfRange { .. } => TypeError::out_of_range::<Self>(ty),
                TypeError::Invalid { reason, .. } => TypeError::invalid(ty, reason),
                e => e,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::{encode, round_trip};
    use super::*;

    fn num(s: &str) -> Numeric {
        s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    /// The binary encoding, built by hand.
    fn wire(ndigits: i16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&ndigits.to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    const SAMPLES: [&str; 14] = [
        "0",
        "0.00",
        "-0.000001",
        "1.500",
        "-12.3400",
        "12345678901234567890.123456789",
        "10000",
        "9999.9999",
        "0.0001",
        "100000000",
        "-9223372036854775808",
        "NaN",
        "Infinity",
        "-Infinity",
    ];

    #[test]
    fn text_round_trips_exactly() {
        for s in SAMPLES {
            assert_eq!(num(s).to_string(), s);
            for ty in [0, oid::NUMERIC] {
                assert_eq!(round_trip(&num(s), ty), Ok(num(s)), "{s}");
            }
            assert_eq!(
                Numeric::from_sql(oid::NUMERIC, Format::Text, s.as_bytes()),
                Ok(num(s))
            );
            let (encoded, text) = encode(&num(s), oid::TEXT).unwrap();
            assert_eq!((encoded, text), (Encoded::Text, s.as_bytes().to_vec()));
        }
    }

    #[test]
    fn binary_layout() {
        assert_eq!(
            encode(&num("-12.3400"), 0),
            Ok((Encoded::Binary, wire(2, 0, SIGN_NEG, 4, &[12, 3400])))
        );
        assert_eq!(
            encode(&num("12345678901234567890.123456789"), 0),
            Ok((
                Encoded::Binary,
                wire(
                    8,
                    4,
                    SIGN_POS,
                    9,
                    &[1234, 5678, 9012, 3456, 7890, 1234, 5678, 9000]
                )
            ))
        );
        assert_eq!(
            encode(&num("-0.000001"), 0),
            Ok((Encoded::Binary, wire(1, -2, SIGN_NEG, 6, &[100])))
        );
        assert_eq!(
            encode(&num("0.00"), 0),
            Ok((Encoded::Binary, wire(0, 0, SIGN_POS, 2, &[])))
        );
        assert_eq!(
            encode(&num("100000000"), 0),
            Ok((Encoded::Binary, wire(1, 2, SIGN_POS, 0, &[1])))
        );
        assert_eq!(
            encode(&Numeric::NAN, 0),
            Ok((Encoded::Binary, wire(0, 0, SIGN_NAN, 0, &[])))
        );
        assert_eq!(
            encode(&Numeric::INFINITY, 0),
            Ok((Encoded::Binary, wire(0, 0, SIGN_PINF, 0, &[])))
        );
        assert_eq!(
            encode(&Numeric::NEG_INFINITY, 0),
            Ok((Encoded::Binary, wire(0, 0, SIGN_NINF, 0, &[])))
        );
    }

    #[test]
    fn parsing() {
        assert_eq!(num("  -0 "), Numeric::ZERO);
        assert_eq!(num("-0.00").to_string(), "0.00");
        assert_eq!(num("+.5").to_string(), "0.5");
        assert_eq!(num("5.").to_string(), "5");
        assert_eq!(num("007.10").to_string(), "7.10");
        assert_eq!(num("1.5e3").to_string(), "1500");
        assert_eq!(num("1.5E-3").to_string(), "0.0015");
        assert_eq!(num("1e-3").scale(), Some(3));
        assert_eq!(num("12.345e1").to_string(), "123.45");
        for s in ["nan", "NAN", "NaN"] {
            assert!(num(s).is_nan());
        }
        for s in ["inf", "+Infinity", "INFINITY"] {
            assert_eq!(num(s), Numeric::INFINITY);
        }
        assert_eq!(num("-inf"), Numeric::NEG_INFINITY);
        for s in [
            "", "-", ".", "1..2", "1e", "1e+", "abc", "1 2", "0x10", "1_000", "--1", "1.2.3",
        ] {
            assert!(
                matches!(s.parse::<Numeric>(), Err(TypeError::Invalid { .. })),
                "{s:?}"
            );
        }
        for s in ["1e1000000000", "1e-20000", "0.1e-16383"] {
            assert_eq!(
                s.parse::<Numeric>(),
                Err(TypeError::out_of_range::<Numeric>(oid::NUMERIC)),
                "{s:?}"
            );
        }
    }

    #[test]
    fn limits() {
        // PostgreSQL's limits: 131072 digits before the point, 16383 after.
        let big = format!("{}.{}", "9".repeat(131_072), "1".repeat(16_383));
        let n = num(&big);
        assert_eq!(n.to_string(), big);
        assert_eq!(round_trip(&n, 0), Ok(n.clone()));
        let too_big = format!("1{}", "0".repeat(131_072));
        assert_eq!(
            too_big.parse::<Numeric>(),
            Err(TypeError::out_of_range::<Numeric>(oid::NUMERIC))
        );
        let too_fine = format!("0.{}1", "0".repeat(16_383));
        assert_eq!(
            too_fine.parse::<Numeric>(),
            Err(TypeError::out_of_range::<Numeric>(oid::NUMERIC))
        );
        // A few thousand digits, through both formats.
        let digits: String = (0..5_000)
            .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
            .collect();
        for s in [
            format!("-1{digits}"),
            format!("0.{digits}"),
            format!("1{digits}.{digits}"),
        ] {
            let n = num(&s);
            assert_eq!(n.to_string(), s);
            assert_eq!(round_trip(&n, 0), Ok(n.clone()));
            assert_eq!(
                Numeric::from_sql(oid::NUMERIC, Format::Text, s.as_bytes()),
                Ok(n)
            );
        }
    }

    #[test]
    fn integer_conversions() {
        for v in [0, 1, -1, 9999, 10_000, -123_456_789, i64::MIN, i64::MAX] {
            let n = Numeric::from(v);
            assert_eq!(n.to_string(), v.to_string());
            assert_eq!(i64::try_from(&n), Ok(v));
            assert_eq!(round_trip(&n, 0), Ok(n.clone()));
        }
        assert_eq!(Numeric::from(i32::MIN).to_string(), "-2147483648");
        assert_eq!(i32::try_from(num("-2147483648")), Ok(i32::MIN));
        assert_eq!(i64::try_from(num("2.000")), Ok(2));
        assert_eq!(
            i32::try_from(num("2147483648")),
            Err(TypeError::out_of_range::<i32>(oid::NUMERIC))
        );
        for s in [
            "9223372036854775808",
            "-9223372036854775809",
            "1.5",
            "0.001",
            "1e30",
            "Infinity",
        ] {
            assert_eq!(
                i64::try_from(num(s)),
                Err(TypeError::out_of_range::<i64>(oid::NUMERIC)),
                "{s}"
            );
        }
        assert!(matches!(
            i64::try_from(Numeric::NAN),
            Err(TypeError::Invalid { .. })
        ));
    }

    #[test]
    fn float_conversions() {
        for (v, s) in [
            (0.1, "0.1"),
            (-0.0, "0"),
            (1.0, "1"),
            (1e300, &*format!("1{}", "0".repeat(300))),
            (5e-324, &*format!("0.{}5", "0".repeat(323))),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            let n = Numeric::try_from(v).unwrap();
            assert_eq!(n.to_string(), s);
            let back = f64::try_from(&n).unwrap();
            assert!(back.to_bits() == v.to_bits() || v == 0.0 || v.is_nan() && back.is_nan());
        }
        for v in [f64::MAX, f64::MIN, f64::MIN_POSITIVE, 1.0 / 3.0, -2.5e-10] {
            assert_eq!(f64::try_from(Numeric::try_from(v).unwrap()), Ok(v));
        }
        assert_eq!(f64::try_from(num("0.30000000000000001")), Ok(0.3));
        assert_eq!(
            f64::try_from(num(&format!("1{}", "0".repeat(400)))),
            Err(TypeError::out_of_range::<f64>(oid::NUMERIC))
        );
        assert_eq!(f64::try_from(num("1e-400")), Ok(0.0));
    }

    #[test]
    fn target_types() {
        assert_eq!(num("1.5").natural_type(), oid::NUMERIC);
        assert_eq!(Numeric::static_type(), oid::NUMERIC);
        for ty in [oid::FLOAT8, oid::VARCHAR, oid::UNKNOWN] {
            assert_eq!(
                encode(&num("-1.50"), ty),
                Ok((Encoded::Text, b"-1.50".to_vec()))
            );
        }
        for ty in [oid::INT4, oid::BOOL, oid::JSONB] {
            assert_eq!(
                encode(&num("1"), ty),
                Err(TypeError::wrong_type::<Numeric>(ty))
            );
        }
        // Integers widen losslessly.
        assert_eq!(
            Numeric::from_sql(oid::INT2, Format::Binary, &[0xff, 0xfe]),
            Ok(num("-2"))
        );
        assert_eq!(
            Numeric::from_sql(oid::INT8, Format::Text, b"42"),
            Ok(num("42"))
        );
        assert_eq!(
            Numeric::from_sql(oid::FLOAT8, Format::Text, b"1"),
            Err(TypeError::wrong_type::<Numeric>(oid::FLOAT8))
        );
    }

    #[test]
    fn binary_decoding_canonicalizes_and_validates() {
        // Leading and trailing zero digits, and negative zero.
        assert_eq!(
            Numeric::from_sql(
                oid::NUMERIC,
                Format::Binary,
                &wire(4, 1, SIGN_POS, 2, &[0, 12, 3400, 0])
            ),
            Ok(num("12.34"))
        );
        assert_eq!(
            Numeric::from_sql(oid::NUMERIC, Format::Binary, &wire(1, 0, SIGN_NEG, 1, &[0])),
            Ok(num("0.0"))
        );
        for raw in [
            vec![],
            vec![0; 7],
            wire(1, 0, SIGN_POS, 0, &[]),
            wire(-1, 0, SIGN_POS, 0, &[]),
            wire(1, 0, SIGN_POS, 0, &[10_000]),
            wire(0, 0, 0x8000, 0, &[]),
            wire(0, 0, SIGN_POS, 0x4000, &[]),
            wire(1, 0, SIGN_NAN, 0, &[1]),
            // 0.5 with a display scale of 0.
            wire(1, -1, SIGN_POS, 0, &[5000]),
            wire(1, i16::MIN, SIGN_POS, 0, &[1]),
            [wire(1, 0, SIGN_POS, 0, &[1]), vec![0]].concat(),
        ] {
            assert!(
                matches!(
                    Numeric::from_sql(oid::NUMERIC, Format::Binary, &raw),
                    Err(TypeError::Invalid { .. })
                ),
                "{raw:?}"
            );
        }
        assert!(matches!(
            Numeric::from_sql(
                oid::NUMERIC,
                Format::Binary,
                &wire(2, -32767, SIGN_POS, 0x3FFF, &[0, 1])
            ),
            Err(TypeError::Invalid { .. })
        ));
    }

    #[cfg(feature = "rust_decimal")]
    #[test]
    fn rust_decimal() {
        use rust_decimal::Decimal;
        for s in [
            "0",
            "1.500",
            "-12.3400",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "0.0000000000000000000000000001",
            "7.9228162514264337593543950335",
        ] {
            let d: Decimal = s.parse().unwrap();
            assert_eq!(Numeric::from(d).to_string(), s);
            assert_eq!(round_trip(&d, 0), Ok(d));
            assert_eq!(
                Decimal::from_sql(oid::NUMERIC, Format::Text, s.as_bytes()).map(|d| d.to_string()),
                Ok(s.to_owned())
            );
        }
        // Trailing zeros beyond what fits are dropped; digits are not.
        assert_eq!(
            Decimal::try_from(num("79228162514264337593543950335.000")).map(|d| d.to_string()),
            Ok("79228162514264337593543950335".to_owned())
        );
        assert_eq!(
            Decimal::try_from(num(&format!("1.{}", "0".repeat(40)))).map(|d| d.scale()),
            Ok(28)
        );
        for s in [
            "79228162514264337593543950336",
            "0.00000000000000000000000000001",
            "Infinity",
            "-Infinity",
        ] {
            assert_eq!(
                Decimal::from_sql(oid::NUMERIC, Format::Text, s.as_bytes()),
                Err(TypeError::out_of_range::<Decimal>(oid::NUMERIC)),
                "{s}"
            );
        }
        assert!(matches!(
            Decimal::from_sql(oid::NUMERIC, Format::Text, b"NaN"),
            Err(TypeError::Invalid { .. })
        ));
        assert_eq!(
            Decimal::from_sql(oid::TEXT, Format::Text, b"1"),
            Err(TypeError::wrong_type::<Decimal>(oid::TEXT))
        );
        assert_eq!(
            encode(&Decimal::ONE, oid::BOOL),
            Err(TypeError::wrong_type::<Decimal>(oid::BOOL))
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..40)) {
            for format in [Format::Text, Format::Binary] {
                let _ = Numeric::from_sql(oid::NUMERIC, format, &raw);
            }
        }

        #[test]
        fn random_wire_values_never_panic(
            ndigits in 0i16..6,
            weight in any::<i16>(),
            sign in prop::sample::select(vec![SIGN_POS, SIGN_NEG, SIGN_NAN, SIGN_PINF, 1]),
            dscale in 0u16..0x4001,
            digits in proptest::collection::vec(0u16..10_001, 0..6),
        ) {
            let raw = wire(ndigits, weight, sign, dscale, &digits);
            if let Ok(n) = Numeric::from_sql(oid::NUMERIC, Format::Binary, &raw) {
                // Whatever decodes re-encodes and reads back the same.
                prop_assert_eq!(round_trip(&n, 0), Ok(n.clone()));
                prop_assert_eq!(n.to_string().parse::<Numeric>(), Ok(n.clone()));
                let _ = (i64::try_from(&n), f64::try_from(&n));
            }
        }

        #[test]
        fn decimal_strings_round_trip(
            negative in any::<bool>(),
            int in "[0-9]{0,30}",
            frac in "[0-9]{0,30}",
        ) {
            prop_assume!(!int.is_empty() || !frac.is_empty());
            let text = format!("{}{int}.{frac}", if negative { "-" } else { "" });
            let n = num(&text);
            prop_assert_eq!(round_trip(&n, 0), Ok(n.clone()));
            prop_assert_eq!(n.to_string().parse::<Numeric>(), Ok(n.clone()));
            prop_assert_eq!(n.scale(), Some(frac.len() as u16));
        }

        #[test]
        fn floats_round_trip(v in any::<f64>()) {
            let n = Numeric::try_from(v).unwrap();
            let back = f64::try_from(&n).unwrap();
            prop_assert!(back == v || (v.is_nan() && back.is_nan()));
        }

        #[test]
        fn integers_round_trip(v in any::<i64>()) {
            prop_assert_eq!(i64::try_from(Numeric::from(v)), Ok(v));
        }
    }
}
