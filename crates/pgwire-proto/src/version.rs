//! Protocol versions: what the StartupMessage asks for, what the server's
//! `NegotiateProtocolVersion` may lower it to, and the errors of that
//! negotiation.

use std::fmt;
use std::str::FromStr;

use crate::error::DatabaseError;

/// A version of the frontend/backend protocol (libpq 18's
/// `min_protocol_version` / `max_protocol_version` values).
///
/// 3.0 is what every server since PostgreSQL 7.4 speaks; 3.2 (PostgreSQL 18)
/// brings cancel keys of up to 256 bytes. There never was a 3.1: PostgreSQL
/// skipped it because PgBouncer releases wrongly claimed to support it.
///
/// ```
/// use pgwire_proto::ProtocolVersion;
/// assert_eq!("3.2".parse::<ProtocolVersion>().unwrap(), ProtocolVersion::V3_2);
/// assert_eq!("latest".parse::<ProtocolVersion>().unwrap(), ProtocolVersion::LATEST);
/// assert!("3.1".parse::<ProtocolVersion>().is_err());
/// assert_eq!(ProtocolVersion::V3_2.to_string(), "3.2");
/// assert!(ProtocolVersion::V3_0 < ProtocolVersion::V3_2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// Protocol 3.0 (the default, as in libpq 18: middleware such as older
    /// PgBouncer releases cannot negotiate anything newer).
    #[default]
    V3_0,
    /// Protocol 3.2 (PostgreSQL 18): variable-length cancel keys.
    V3_2,
}

impl ProtocolVersion {
    /// The newest version this library speaks (libpq's `latest`).
    pub const LATEST: ProtocolVersion = ProtocolVersion::V3_2;

    /// The major version (always 3).
    pub fn major(self) -> u16 {
        3
    }

    /// The minor version.
    pub fn minor(self) -> u16 {
        match self {
            ProtocolVersion::V3_0 => 0,
            ProtocolVersion::V3_2 => 2,
        }
    }

    /// The version as the StartupMessage carries it: major in the high 16
    /// bits, minor in the low 16.
    pub fn code(self) -> i32 {
        (i32::from(self.major()) << 16) | i32::from(self.minor())
    }

    /// The version a StartupMessage or NegotiateProtocolVersion code names,
    /// if this library knows it.
    pub fn from_code(code: i32) -> Option<ProtocolVersion> {
        [ProtocolVersion::V3_0, ProtocolVersion::V3_2]
            .into_iter()
            .find(|v| v.code() == code)
    }

    /// Parses `3.0`, `3.2` or `latest`, as libpq 18 spells them.
    pub fn parse(value: &str) -> Result<ProtocolVersion, UnknownProtocolVersion> {
        match value {
            "3.0" => Ok(ProtocolVersion::V3_0),
            "3.2" => Ok(ProtocolVersion::V3_2),
            "latest" => Ok(ProtocolVersion::LATEST),
            _ => Err(UnknownProtocolVersion(value.to_owned())),
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major(), self.minor())
    }
}

impl FromStr for ProtocolVersion {
    type Err = UnknownProtocolVersion;

    /// Same as [`ProtocolVersion::parse`].
    fn from_str(s: &str) -> Result<Self, UnknownProtocolVersion> {
        ProtocolVersion::parse(s)
    }
}

/// A protocol version name other than `3.0`, `3.2` or `latest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProtocolVersion(pub String);

impl fmt::Display for UnknownProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown protocol version \"{}\" (expected 3.0, 3.2 or latest)",
            self.0
        )
    }
}

impl std::error::Error for UnknownProtocolVersion {}

/// The protocol version could not be agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolVersionError {
    /// The server offered only `server` (in `NegotiateProtocolVersion`),
    /// below the `min_protocol_version` the client insisted on.
    BelowMinimum {
        /// The newest version the server supports.
        server: ProtocolVersion,
        /// The client's `min_protocol_version`.
        min: ProtocolVersion,
    },
    /// Asked for `requested` (above 3.0), the server answered with an
    /// error instead of `NegotiateProtocolVersion`: software that cannot
    /// negotiate (an older pooler, or a server older than the 2017 minor
    /// releases). As libpq 18 does, nothing is retried: connect with
    /// `max_protocol_version=3.0`.
    Refused {
        /// The version the StartupMessage asked for.
        requested: ProtocolVersion,
        /// The server's error.
        error: DatabaseError,
    },
    /// The connection options name a `min_protocol_version` above the
    /// `max_protocol_version`. Nothing was sent.
    MinAboveMax {
        /// `min_protocol_version`.
        min: ProtocolVersion,
        /// `max_protocol_version`.
        max: ProtocolVersion,
    },
}

impl fmt::Display for ProtocolVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolVersionError::BelowMinimum { server, min } => write!(
                f,
                "server only supports protocol version {server}, but \"min_protocol_version\" was set to {min}"
            ),
            ProtocolVersionError::Refused { requested, .. } => write!(
                f,
                "the server refused protocol version {requested} instead of negotiating it \
                 (a pooler or server that cannot negotiate; use max_protocol_version=3.0)"
            ),
            ProtocolVersionError::MinAboveMax { min, max } => write!(
                f,
                "\"min_protocol_version\" ({min}) is greater than \"max_protocol_version\" ({max})"
            ),
        }
    }
}

impl std::error::Error for ProtocolVersionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProtocolVersionError::Refused { error, .. } => Some(error),
            _ => None,
        }
    }
}
