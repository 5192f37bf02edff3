//! Protocol version negotiation: the server's `NegotiateProtocolVersion`,
//! the length of the cancel key it allows, and an error in answer to a
//! version the server cannot negotiate.

use super::{Machine, Phase};
use crate::error::{DatabaseError, Error, ProtocolError};
use crate::startup::Auth;
use crate::version::{ProtocolVersion, ProtocolVersionError};
use crate::BackendKey;

/// 3.1 was never released (see [`ProtocolVersion`]).
const PROTOCOL_3_1: i32 = (3 << 16) | 1;
const PROTOCOL_3_0: i32 = 3 << 16;

impl Machine {
    /// Applies `NegotiateProtocolVersion`, refusing what libpq 18's
    /// `pqGetNegotiateProtocolVersion3` refuses, in its order.
    pub(super) fn negotiate(&mut self, newest: i32, unrecognized: &[String]) -> Result<(), Error> {
        let invalid = |why| Err(Error::Protocol(ProtocolError::InvalidNegotiation(why)));
        if self.negotiated_minor.is_some() {
            return invalid("the server negotiated twice");
        }
        let requested = self.protocol;
        if newest > requested.code() {
            return invalid("server requested downgrade to a higher-numbered version");
        }
        if newest < PROTOCOL_3_0 {
            return invalid("server requested downgrade to pre-3.0 protocol version");
        }
        if newest == PROTOCOL_3_1 {
            return invalid("server requested downgrade to non-existent 3.1 protocol version");
        }
        if newest == requested.code() && unrecognized.is_empty() {
            return invalid("server negotiated but asks for no changes");
        }
        // Between 3.0 and what was asked for (at most the latest), and not
        // 3.1: a version this library knows.
        let Some(version) = ProtocolVersion::from_code(newest) else {
            return invalid("server requested downgrade to an unknown protocol version");
        };
        let min = self
            .config
            .as_ref()
            .map_or(ProtocolVersion::V3_0, |c| c.get_min_protocol_version());
        if version < min {
            return Err(Error::ProtocolVersion(ProtocolVersionError::BelowMinimum {
                server: version,
                min,
            }));
        }
        self.protocol = version;
        self.negotiated_minor = Some(i32::from(version.minor()));
        // No `_pq_.` option is ever sent, so the server cannot have failed
        // to recognize one.
        if let Some(name) = unrecognized.first() {
            return invalid(if name.starts_with("_pq_.") {
                "server reported an unsupported parameter that was not requested"
            } else {
                "server reported unsupported parameter name without a \"_pq_.\" prefix"
            });
        }
        Ok(())
    }

    /// The session's cancel key, if its length suits the negotiated
    /// version (libpq 18's `getBackendKeyData` checks).
    pub(super) fn backend_key_data(
        &self,
        process_id: i32,
        secret_key: &[u8],
    ) -> Result<BackendKey, Error> {
        let len = secret_key.len();
        let allowed = match self.protocol {
            ProtocolVersion::V3_0 => len == 4,
            _ => true,
        };
        match BackendKey::new(process_id, secret_key) {
            Some(key) if allowed => Ok(key),
            _ => Err(Error::Protocol(ProtocolError::InvalidCancelKeyLength {
                len,
                version: self.protocol,
            })),
        }
    }

    /// An error answering a StartupMessage that asked for more than 3.0,
    /// before any authentication request or negotiation: the mark of
    /// software that cannot negotiate and refuses the version itself
    /// (PgBouncer 1.18: `08P01 bad packet header: '...00030002'`; servers
    /// before the 2017 minor releases: `0A000 unsupported frontend
    /// protocol`). Typed, so that the caller can tell it apart; not
    /// retried, as libpq 18 does not.
    pub(super) fn refused_version(&self, error: &DatabaseError) -> Option<Error> {
        let waiting = matches!(self.phase, Phase::Authenticating(Auth::Waiting));
        if !waiting || self.protocol == ProtocolVersion::V3_0 || self.negotiated_minor.is_some() {
            return None;
        }
        let message = error.fields().message.to_ascii_lowercase();
        let about_protocol = error.fields().sqlstate() == crate::SqlState::PROTOCOL_VIOLATION
            || error.fields().sqlstate() == crate::SqlState::FEATURE_NOT_SUPPORTED
            || message.contains("protocol")
            || message.contains("packet");
        about_protocol.then(|| {
            Error::ProtocolVersion(ProtocolVersionError::Refused {
                requested: self.protocol,
                error: error.clone(),
            })
        })
    }
}
