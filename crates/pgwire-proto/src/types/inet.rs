//! Network addresses: [`Inet`] and [`IpAddr`] to and from `inet` and `cidr`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use super::{oid, put_display, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// `PGSQL_AF_INET`, the family byte of IPv4 values in the binary format.
const PGSQL_AF_INET: u8 = 2;
/// `PGSQL_AF_INET6` (`PGSQL_AF_INET + 1`): PostgreSQL's own number, not the
/// platform's `AF_INET6`.
const PGSQL_AF_INET6: u8 = 3;

/// An `inet` or `cidr` value: an IPv4 or IPv6 address and a netmask length.
///
/// For `inet` the address may have bits set past the prefix (a host in its
/// network, `192.168.0.1/24`); a `cidr` is a network and must not. The
/// fields are public, so the prefix is checked when the value is sent: more
/// than 32 (IPv4) or 128 (IPv6) bits is [`TypeError::OutOfRange`].
///
/// [`Display`](fmt::Display) writes PostgreSQL's `inet` output: the prefix
/// is left out when it covers the whole address. [`FromStr`] reads
/// `address[/prefix]`.
///
/// ```
/// use pgwire_proto::types::Inet;
///
/// let net: Inet = "192.168.0.1/24".parse().unwrap();
/// assert_eq!(net.prefix, 24);
/// assert_eq!(net.to_string(), "192.168.0.1/24");
/// assert_eq!("::1".parse::<Inet>().unwrap().prefix, 128);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Inet {
    /// The address.
    pub addr: IpAddr,
    /// The netmask length in bits.
    pub prefix: u8,
}

/// The number of bits in an address of `addr`'s family.
fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl Inet {
    /// `addr/prefix`, or `None` if `prefix` is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Inet> {
        (prefix <= max_prefix(addr)).then_some(Inet { addr, prefix })
    }

    /// A single host: `addr` with the full prefix (32 or 128).
    pub fn host(addr: IpAddr) -> Inet {
        Inet {
            addr,
            prefix: max_prefix(addr),
        }
    }

    /// True when no bit is set past the prefix, as a `cidr` requires.
    /// False for an invalid prefix.
    pub fn is_network(&self) -> bool {
        let (bits, len) = match self.addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32),
            IpAddr::V6(a) => (u128::from(a), 128),
        };
        let prefix = u32::from(self.prefix);
        if prefix > len {
            return false;
        }
        // Bits below the prefix, within the address's width.
        let host_bits = len - prefix;
        let mask = 1u128.checked_shl(host_bits).map_or(u128::MAX, |m| m - 1);
        bits & mask == 0
    }

    /// The address bytes (4 or 16).
    fn octets(&self) -> Vec<u8> {
        match self.addr {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        }
    }
}

impl From<IpAddr> for Inet {
    fn from(addr: IpAddr) -> Self {
        Inet::host(addr)
    }
}

impl fmt::Display for Inet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == max_prefix(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl FromStr for Inet {
    type Err = TypeError;

    /// `address[/prefix]`; a missing prefix is the full address. `cidr`'s
    /// abbreviated input (`10.1/16`) is not accepted; the server never
    /// prints it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(oid::INET, s)
    }
}

fn parse(ty: Oid, text: &str) -> Result<Inet, TypeError> {
    let invalid = |why: &str| TypeError::invalid(ty, format!("{text:?}: {why}"));
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| invalid("not an IP address"))?;
    let prefix = match prefix {
        None => max_prefix(addr),
        // Digits only: `u8`'s parser would also take a `+`.
        Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse().map_err(|_| invalid("bad prefix"))?
        }
        Some(_) => return Err(invalid("bad prefix")),
    };
    Inet::new(addr, prefix).ok_or_else(|| invalid("prefix longer than the address"))
}

/// Encodes `value`, of Rust type `T`, for a parameter of type `ty`.
fn encode<T>(value: &Inet, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
    let ty = if ty == 0 { oid::INET } else { ty };
    if value.prefix > max_prefix(value.addr) {
        return Err(TypeError::out_of_range::<T>(ty));
    }
    match ty {
        oid::INET | oid::CIDR => {
            let is_cidr = ty == oid::CIDR;
            if is_cidr && !value.is_network() {
                return Err(TypeError::invalid(
                    ty,
                    format!("{value} has bits set to the right of its netmask"),
                ));
            }
            let octets = value.octets();
            let family = match value.addr {
                IpAddr::V4(_) => PGSQL_AF_INET,
                IpAddr::V6(_) => PGSQL_AF_INET6,
            };
            out.reserve(4 + octets.len());
            out.put_u8(family);
            out.put_u8(value.prefix);
            out.put_u8(u8::from(is_cidr));
            // 4 or 16.
            out.put_u8(octets.len() as u8);
            out.put_slice(&octets);
            Ok(Encoded::Binary)
        }
        ty if text::takes_any_text(ty) => {
            put_display(out, value);
            Ok(Encoded::Text)
        }
        ty => Err(TypeError::wrong_type::<T>(ty)),
    }
}

fn decode<T>(ty: Oid, format: Format, raw: &[u8]) -> Result<Inet, TypeError> {
    let value = match (ty, format) {
        (oid::INET | oid::CIDR, Format::Binary) => {
            let bad = |why: &str| TypeError::invalid(ty, format!("binary value: {why}"));
            // The is_cidr byte is ignored, as the server's own input does:
            // the column type says which it is.
            let [family, bits, _is_cidr, nb, addr @ ..] = raw else {
                return Err(bad("truncated"));
            };
            let addr = match (*family, *nb) {
                (PGSQL_AF_INET, 4) => <[u8; 4]>::try_from(addr)
                    .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
                    .map_err(|_| bad("address length mismatch"))?,
                (PGSQL_AF_INET6, 16) => <[u8; 16]>::try_from(addr)
                    .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
                    .map_err(|_| bad("address length mismatch"))?,
                (PGSQL_AF_INET | PGSQL_AF_INET6, _) => return Err(bad("wrong address length")),
                _ => return Err(bad("unknown address family")),
            };
            Inet::new(addr, *bits).ok_or_else(|| bad("prefix longer than the address"))?
        }
        (oid::INET | oid::CIDR, Format::Text) => parse(ty, utf8(ty, raw)?)?,
        _ => return Err(TypeError::wrong_type::<T>(ty)),
    };
    if ty == oid::CIDR && !value.is_network() {
        return Err(TypeError::invalid(
            ty,
            format!("{value} has bits set to the right of its netmask"),
        ));
    }
    Ok(value)
}

impl ToSql for Inet {
    fn natural_type(&self) -> Oid {
        oid::INET
    }

    fn static_type() -> Oid {
        oid::INET
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(self, ty, out)
    }
}

impl FromSql<'_> for Inet {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode::<Self>(ty, format, raw)
    }
}

/// A single host address, sent with the full prefix.
impl ToSql for IpAddr {
    fn natural_type(&self) -> Oid {
        oid::INET
    }

    fn static_type() -> Oid {
        oid::INET
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(&Inet::host(*self), ty, out)
    }
}

/// Only values whose prefix covers the whole address (`10.0.0.1`,
/// `10.0.0.1/32`); a network is [`TypeError::OutOfRange`], as dropping its
/// prefix would change its meaning. Decode those into [`Inet`].
impl FromSql<'_> for IpAddr {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        let value = decode::<Self>(ty, format, raw)?;
        if value.prefix == max_prefix(value.addr) {
            Ok(value.addr)
        } else {
            Err(TypeError::out_of_range::<Self>(ty))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::{encode, round_trip};
    use super::*;

    fn inet(s: &str) -> Inet {
        s.parse().unwrap()
    }

    #[test]
    fn binary_layout() {
        assert_eq!(
            encode(&inet("192.168.0.1/24"), 0),
            Ok((Encoded::Binary, vec![2, 24, 0, 4, 192, 168, 0, 1]))
        );
        assert_eq!(
            encode(&inet("192.168.0.0/24"), oid::CIDR),
            Ok((Encoded::Binary, vec![2, 24, 1, 4, 192, 168, 0, 0]))
        );
        let mut v6 = vec![3, 64, 0, 16];
        v6.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(
            encode(&inet("2001:db8::1/64"), 0),
            Ok((Encoded::Binary, v6))
        );
        let host: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            encode(&host, 0),
            Ok((Encoded::Binary, vec![2, 32, 0, 4, 10, 0, 0, 1]))
        );
        assert_eq!(host.natural_type(), oid::INET);
        assert_eq!(Inet::static_type(), oid::INET);
    }

    #[test]
    fn round_trips() {
        for s in [
            "192.168.0.1/24",
            "192.168.0.1",
            "0.0.0.0/0",
            "255.255.255.255",
            "2001:db8::1/64",
            "::1",
            "::/0",
            "::ffff:1.2.3.4",
            "fe80::1:2:3:4/10",
        ] {
            let v = inet(s);
            assert_eq!(v.to_string(), s);
            assert_eq!(round_trip(&v, 0), Ok(v), "{s}");
            assert_eq!(round_trip(&v, oid::INET), Ok(v), "{s}");
            assert_eq!(Inet::from_sql(oid::INET, Format::Text, s.as_bytes()), Ok(v));
            let (encoded, text) = encode(&v, oid::TEXT).unwrap();
            assert_eq!((encoded, text), (Encoded::Text, s.as_bytes().to_vec()));
        }
        for s in [
            "192.168.0.0/24",
            "10.0.0.0/8",
            "10.0.0.1/32",
            "2001:db8::/32",
            "::/0",
        ] {
            let v = inet(s);
            assert!(v.is_network());
            assert_eq!(round_trip(&v, oid::CIDR), Ok(v), "{s}");
        }
        // The server always prints cidr's prefix.
        assert_eq!(
            Inet::from_sql(oid::CIDR, Format::Text, b"10.0.0.1/32"),
            Ok(inet("10.0.0.1"))
        );
        for s in ["10.0.0.1", "::1", "2001:db8::1"] {
            let addr: IpAddr = s.parse().unwrap();
            assert_eq!(round_trip(&addr, 0), Ok(addr));
            assert_eq!(round_trip(&addr, oid::CIDR), Ok(addr));
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(Inet::new("10.0.0.1".parse().unwrap(), 33), None);
        assert_eq!(Inet::new("::1".parse().unwrap(), 129), None);
        assert!(Inet::new("::1".parse().unwrap(), 128).is_some());
        let bad = Inet {
            addr: "10.0.0.1".parse().unwrap(),
            prefix: 33,
        };
        assert!(!bad.is_network());
        assert_eq!(
            encode(&bad, 0),
            Err(TypeError::out_of_range::<Inet>(oid::INET))
        );
        assert_eq!(
            encode(&bad, oid::TEXT),
            Err(TypeError::out_of_range::<Inet>(oid::TEXT))
        );
        // A host is not a network.
        assert!(matches!(
            encode(&inet("192.168.0.1/24"), oid::CIDR),
            Err(TypeError::Invalid { .. })
        ));
        assert!(matches!(
            Inet::from_sql(oid::CIDR, Format::Binary, &[2, 24, 1, 4, 192, 168, 0, 1]),
            Err(TypeError::Invalid { .. })
        ));
        // A network has no single address.
        assert_eq!(
            IpAddr::from_sql(oid::INET, Format::Text, b"10.0.0.1/8"),
            Err(TypeError::out_of_range::<IpAddr>(oid::INET))
        );
        assert_eq!(
            IpAddr::from_sql(oid::CIDR, Format::Binary, &[2, 8, 1, 4, 10, 0, 0, 0]),
            Err(TypeError::out_of_range::<IpAddr>(oid::CIDR))
        );
    }

    #[test]
    fn malformed() {
        for raw in [
            &[][..],
            &[2, 32, 0],
            &[2, 32, 0, 4, 1, 2, 3],
            &[2, 32, 0, 4, 1, 2, 3, 4, 5],
            &[2, 33, 0, 4, 1, 2, 3, 4],
            &[
                3, 129, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            ],
            &[3, 64, 0, 4, 1, 2, 3, 4],
            &[2, 32, 0, 16, 1, 2, 3, 4],
            &[10, 32, 0, 4, 1, 2, 3, 4],
        ] {
            assert!(
                matches!(
                    Inet::from_sql(oid::INET, Format::Binary, raw),
                    Err(TypeError::Invalid { .. })
                ),
                "{raw:?}"
            );
        }
        for text in [
            "",
            "10.0.0.1/",
            "10.0.0.1/33",
            "10.0.0.1/+8",
            "10.0.0.1/-1",
            "10.0.0.1/8/8",
            "::1/129",
            "10.0.0",
            "10.1/16",
            "fe80::1%eth0",
            " 10.0.0.1",
            "10.0.0.1/0008",
        ] {
            assert!(
                matches!(
                    Inet::from_sql(oid::INET, Format::Text, text.as_bytes()),
                    Err(TypeError::Invalid { .. })
                ),
                "{text:?}"
            );
        }
        assert_eq!(
            Inet::from_sql(oid::TEXT, Format::Text, b"10.0.0.1"),
            Err(TypeError::wrong_type::<Inet>(oid::TEXT))
        );
        assert_eq!(
            encode(&inet("10.0.0.1"), oid::BYTEA),
            Err(TypeError::wrong_type::<Inet>(oid::BYTEA))
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..24)) {
            for ty in [oid::INET, oid::CIDR] {
                for format in [Format::Text, Format::Binary] {
                    let _ = Inet::from_sql(ty, format, &raw);
                    let _ = IpAddr::from_sql(ty, format, &raw);
                }
            }
        }

        #[test]
        fn addresses_round_trip(v6 in any::<bool>(), bits in any::<u128>(), prefix in 0u8..=128) {
            let addr = if v6 {
                IpAddr::V6(Ipv6Addr::from(bits))
            } else {
                IpAddr::V4(Ipv4Addr::from(bits as u32))
            };
            let value = Inet { addr, prefix: prefix.min(max_prefix(addr)) };
            prop_assert_eq!(round_trip(&value, 0), Ok(value));
            prop_assert_eq!(value.to_string().parse::<Inet>(), Ok(value));
        }
    }
}
