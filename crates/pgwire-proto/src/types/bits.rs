//! `bit` and `bit varying`: [`BitString`], binary both ways.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use super::{oid, parse, put_display, text, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// A `bit(n)` or `varbit` value: a sequence of bits, the first in the most
/// significant bit of the first byte. `Display` and `FromStr` use the
/// server's text form, `10110`.
///
/// ```
/// use pgwire_proto::types::BitString;
///
/// let bits: BitString = "1011".parse().unwrap();
/// assert_eq!(bits.len(), 4);
/// assert_eq!(bits.as_bytes(), &[0b1011_0000]);
/// assert_eq!(bits.get(2), Some(true));
/// assert_eq!(bits.to_string(), "1011");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct BitString {
    /// `len.div_ceil(8)` bytes, the bits past `len` zero (so that `==`
    /// compares bits).
    bytes: Vec<u8>,
    len: usize,
}

impl BitString {
    /// The bits in order.
    pub fn from_bits(bits: impl IntoIterator<Item = bool>) -> BitString {
        let mut out = BitString::default();
        for bit in bits {
            out.push(bit);
        }
        out
    }

    /// The first `len` bits of `bytes`; `None` if `bytes` holds fewer.
    pub fn from_bytes(bytes: &[u8], len: usize) -> Option<BitString> {
        let mut bytes = bytes.get(..len.div_ceil(8))?.to_vec();
        if let Some(last) = bytes.last_mut() {
            let used = len % 8;
            if used != 0 {
                *last &= 0xFF << (8 - used);
            }
        }
        Some(BitString { bytes, len })
    }

    /// Appends a bit.
    pub fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 0x80 >> (self.len % 8);
            }
        }
        self.len += 1;
    }

    /// The number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<bool> {
        if i >= self.len {
            return None;
        }
        self.bytes.get(i / 8).map(|b| b & (0x80 >> (i % 8)) != 0)
    }

    /// The bits in order.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }

    /// The bytes, the bits past [`len`](Self::len) zero.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Display for BitString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for bit in self.iter() {
            f.write_str(if bit { "1" } else { "0" })?;
        }
        Ok(())
    }
}

/// A text that is not a bit string (only `0` and `1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseBitsError;

impl fmt::Display for ParseBitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a bit string has only the digits 0 and 1")
    }
}

impl std::error::Error for ParseBitsError {}

impl FromStr for BitString {
    type Err = ParseBitsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = BitString::default();
        for b in s.bytes() {
            match b {
                b'0' => out.push(false),
                b'1' => out.push(true),
                _ => return Err(ParseBitsError),
            }
        }
        Ok(out)
    }
}

impl ToSql for BitString {
    /// `varbit`, which takes any length; a `bit(n)` parameter is inferred
    /// from context.
    fn natural_type(&self) -> Oid {
        oid::VARBIT
    }

    fn static_type() -> Oid {
        oid::VARBIT
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        match ty {
            0 | oid::BIT | oid::VARBIT => {
                let len = i32::try_from(self.len)
                    .map_err(|_| TypeError::out_of_range::<Self>(oid::VARBIT))?;
                out.reserve(4 + self.bytes.len());
                out.put_i32(len);
                out.put_slice(&self.bytes);
                Ok(Encoded::Binary)
            }
            ty if text::takes_any_text(ty) => {
                put_display(out, self);
                Ok(Encoded::Text)
            }
            ty => Err(TypeError::wrong_type::<Self>(ty)),
        }
    }
}

/// From `bit` or `varbit`, in binary or text.
impl FromSql<'_> for BitString {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        if !matches!(ty, oid::BIT | oid::VARBIT) {
            return Err(TypeError::wrong_type::<Self>(ty));
        }
        match format {
            Format::Text => parse(ty, raw),
            Format::Binary => {
                let (len, bytes) = match raw.split_first_chunk::<4>() {
                    Some((len, bytes)) => (i32::from_be_bytes(*len), bytes),
                    None => return Err(TypeError::invalid(ty, "bit string without a length")),
                };
                let len = usize::try_from(len)
                    .map_err(|_| TypeError::invalid(ty, format!("bit length {len}")))?;
                if bytes.len() != len.div_ceil(8) {
                    return Err(TypeError::invalid(
                        ty,
                        format!("{} bytes for {len} bits", bytes.len()),
                    ));
                }
                BitString::from_bytes(bytes, len)
                    .ok_or_else(|| TypeError::invalid(ty, "bit string too short"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::{encode, round_trip};
    use super::*;

    #[test]
    fn bits() {
        let b: BitString = "101100001".parse().unwrap();
        assert_eq!(b.as_bytes(), &[0b1011_0000, 0b1000_0000]);
        assert_eq!(
            encode(&b, 0),
            Ok((Encoded::Binary, vec![0, 0, 0, 9, 0b1011_0000, 0b1000_0000]))
        );
        assert_eq!(round_trip(&b, oid::BIT), Ok(b.clone()));
        assert_eq!(
            encode(&b, oid::TEXT),
            Ok((Encoded::Text, b"101100001".to_vec()))
        );
        assert_eq!(
            BitString::from_bytes(&[0xff], 3).unwrap().to_string(),
            "111"
        );
        assert_eq!(BitString::from_bytes(&[0xff], 9), None);
        assert_eq!(
            round_trip(&BitString::default(), 0),
            Ok(BitString::default())
        );
        assert!("102".parse::<BitString>().is_err());
        for raw in [&[0, 0, 0, 9, 1][..], &[0, 0, 0], &[0xff, 0xff, 0xff, 0xff]] {
            assert!(matches!(
                BitString::from_sql(oid::VARBIT, Format::Binary, raw),
                Err(TypeError::Invalid { .. })
            ));
        }
        // Padding the server may send is not part of the value.
        assert_eq!(
            BitString::from_sql(oid::BIT, Format::Binary, &[0, 0, 0, 1, 0xff]),
            Ok("1".parse().unwrap())
        );
        assert_eq!(
            encode(&b, oid::INT4),
            Err(TypeError::wrong_type::<BitString>(oid::INT4))
        );
    }

    proptest! {
        #[test]
        fn any_bits_round_trip(bits in proptest::collection::vec(any::<bool>(), 0..40)) {
            let b = BitString::from_bits(bits.iter().copied());
            prop_assert_eq!(b.iter().collect::<Vec<_>>(), bits);
            prop_assert_eq!(round_trip(&b, 0), Ok(b.clone()));
            prop_assert_eq!(b.to_string().parse::<BitString>(), Ok(b));
        }
    }
}
