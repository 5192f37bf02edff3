//! `pg_lsn` ([`PgLsn`]) and `macaddr` / `macaddr8` ([`MacAddr`],
//! [`MacAddr8`]): fixed-width values, binary both ways, with the server's
//! text forms.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use super::{fixed, oid, parse, put_display, text, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// A `pg_lsn`: a position in the write-ahead log. `Display` and `FromStr`
/// use the server's form, `16/B374D848` (two hexadecimal halves).
///
/// ```
/// use pgwire_proto::types::PgLsn;
///
/// let lsn: PgLsn = "16/B374D848".parse().unwrap();
/// assert_eq!(lsn, PgLsn(0x16_B374_D848));
/// assert_eq!(lsn.to_string(), "16/B374D848");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PgLsn(pub u64);

/// A `macaddr` (6 bytes); `Display` and `FromStr` use `08:00:2b:01:02:03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

/// A `macaddr8` (8 bytes); `Display` and `FromStr` use
/// `08:00:2b:01:02:03:04:05`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr8(pub [u8; 8]);

/// Why a `pg_lsn` or MAC address text did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(&'static str);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid {}", self.0)
    }
}

impl std::error::Error for ParseError {}

impl fmt::Display for PgLsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl FromStr for PgLsn {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let half = |h: &str| {
            if (1..=8).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()) {
                u32::from_str_radix(h, 16).ok()
            } else {
                None
            }
        };
        let (hi, lo) = s.split_once('/').ok_or(ParseError("pg_lsn"))?;
        match (half(hi), half(lo)) {
            (Some(hi), Some(lo)) => Ok(PgLsn(u64::from(hi) << 32 | u64::from(lo))),
            _ => Err(ParseError("pg_lsn")),
        }
    }
}

fn write_mac(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            f.write_str(":")?;
        }
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// `N` bytes as two hexadecimal digits each, separated by `:`.
fn parse_mac<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], ParseError> {
    let mut out = [0u8; N];
    let mut parts = s.split(':');
    for byte in &mut out {
        let part = parts.next().ok_or(ParseError(what))?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseError(what));
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| ParseError(what))?;
    }
    match parts.next() {
        None => Ok(out),
        Some(_) => Err(ParseError(what)),
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_mac(f, &self.0)
    }
}

impl FromStr for MacAddr {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_mac(s, "macaddr").map(MacAddr)
    }
}

impl fmt::Display for MacAddr8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_mac(f, &self.0)
    }
}

impl FromStr for MacAddr8 {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_mac(s, "macaddr8").map(MacAddr8)
    }
}

/// Encodes `bytes` for its own type `natural` in binary, or its `text` for
/// text-like parameters.
fn encode<T>(
    natural: Oid,
    bytes: &[u8],
    text: impl fmt::Display,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    match ty {
        0 => encode::<T>(natural, bytes, text, natural, out),
        ty if ty == natural => {
            out.put_slice(bytes);
            Ok(Encoded::Binary)
        }
        ty if text::takes_any_text(ty) => {
            put_display(out, text);
            Ok(Encoded::Text)
        }
        ty => Err(TypeError::wrong_type::<T>(ty)),
    }
}

macro_rules! fixed_width {
    ($rust:ident, $natural:expr, $len:literal, $to_bytes:expr, $from_bytes:expr, $doc:literal) => {
        impl ToSql for $rust {
            fn natural_type(&self) -> Oid {
                $natural
            }

            fn static_type() -> Oid {
                $natural
            }

            fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
                let bytes: [u8; $len] = ($to_bytes)(self);
                encode::<Self>($natural, &bytes, self, ty, out)
            }
        }

        #[doc = $doc]
        impl FromSql<'_> for $rust {
            fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
                if ty != $natural {
                    return Err(TypeError::wrong_type::<Self>(ty));
                }
                match format {
                    Format::Binary => Ok(($from_bytes)(fixed::<$len>(ty, raw)?)),
                    Format::Text => parse(ty, raw),
                }
            }
        }
    };
}

fixed_width!(
    PgLsn,
    oid::PG_LSN,
    8,
    |l: &PgLsn| l.0.to_be_bytes(),
    |b| PgLsn(u64::from_be_bytes(b)),
    "From `pg_lsn`, in binary or text."
);
fixed_width!(
    MacAddr,
    oid::MACADDR,
    6,
    |m: &MacAddr| m.0,
    MacAddr,
    "From `macaddr`, in binary or text."
);
fixed_width!(
    MacAddr8,
    oid::MACADDR8,
    8,
    |m: &MacAddr8| m.0,
    MacAddr8,
    "From `macaddr8`, in binary or text."
);

/// The server's text form of a binary value of one of these types, for
/// [`Value`](super::Value), which shows them as text; `None` for other
/// types.
pub(super) fn binary_as_text(ty: Oid, raw: &[u8]) -> Option<Result<String, TypeError>> {
    let text = match ty {
        oid::PG_LSN => PgLsn::from_sql(ty, Format::Binary, raw).map(|v| v.to_string()),
        oid::MACADDR => MacAddr::from_sql(ty, Format::Binary, raw).map(|v| v.to_string()),
        oid::MACADDR8 => MacAddr8::from_sql(ty, Format::Binary, raw).map(|v| v.to_string()),
        oid::BIT | oid::VARBIT => {
            super::BitString::from_sql(ty, Format::Binary, raw).map(|v| v.to_string())
        }
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode as encode_param, round_trip};
    use super::*;

    #[test]
    fn lsn() {
        for v in [PgLsn(0), PgLsn(0x16_B374_D848), PgLsn(u64::MAX)] {
            assert_eq!(round_trip(&v, 0), Ok(v));
            let (_, text) = encode_param(&v, oid::TEXT).unwrap();
            assert_eq!(PgLsn::from_sql(oid::PG_LSN, Format::Text, &text), Ok(v));
        }
        assert_eq!(PgLsn(u64::MAX).to_string(), "FFFFFFFF/FFFFFFFF");
        assert_eq!(PgLsn(1).to_string(), "0/1");
        for bad in ["", "1", "/1", "1/", "123456789/0", "g/0", "1/2/3", "+1/0"] {
            assert!(bad.parse::<PgLsn>().is_err(), "{bad:?}");
        }
        assert!(matches!(
            PgLsn::from_sql(oid::PG_LSN, Format::Binary, &[0; 7]),
            Err(TypeError::Invalid { .. })
        ));
        assert_eq!(
            encode_param(&PgLsn(1), oid::INT8),
            Err(TypeError::wrong_type::<PgLsn>(oid::INT8))
        );
    }

    #[test]
    fn mac() {
        let m = MacAddr([0x08, 0, 0x2b, 1, 2, 0xff]);
        assert_eq!(m.to_string(), "08:00:2b:01:02:ff");
        assert_eq!(round_trip(&m, 0), Ok(m));
        assert_eq!("08:00:2B:01:02:FF".parse(), Ok(m));
        let m8 = MacAddr8([0x08, 0, 0x2b, 1, 2, 3, 4, 0xff]);
        assert_eq!(round_trip(&m8, 0), Ok(m8));
        assert_eq!(m8.to_string().parse(), Ok(m8));
        for bad in [
            "",
            "08:00:2b:01:02",
            "08:00:2b:01:02:03:04",
            "8:00:2b:01:02:03",
            "zz:00:2b:01:02:03",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad:?}");
        }
        assert_eq!(
            MacAddr::from_sql(oid::MACADDR8, Format::Binary, &[0; 8]),
            Err(TypeError::wrong_type::<MacAddr>(oid::MACADDR8))
        );
        assert_eq!(
            binary_as_text(oid::MACADDR, &m.0).and_then(Result::ok),
            Some("08:00:2b:01:02:ff".to_owned())
        );
    }
}
