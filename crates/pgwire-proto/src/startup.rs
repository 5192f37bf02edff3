//! Startup and authentication: what the machine does between sending the
//! StartupMessage and receiving `AuthenticationOk`.

use std::fmt;

use bytes::BytesMut;

use crate::auth::md5::md5_password;
use crate::auth::scram::{ChannelBinding, ScramSha256, SCRAM_SHA_256, SCRAM_SHA_256_PLUS};
use crate::error::{AuthError, Error};
use crate::message::backend::Authentication;
use crate::message::frontend;
use crate::version::{ProtocolVersion, ProtocolVersionError};

/// What the machine sends in the StartupMessage and answers authentication with.
///
/// ```
/// let config = pgwire_proto::StartupConfig::new("alice")
///     .database("shop")
///     .password("s3cret")
///     .application_name("inventory");
/// assert_eq!(config.user(), "alice");
/// ```
#[derive(Clone, Default)]
pub struct StartupConfig {
    user: String,
    database: Option<String>,
    password: Option<Vec<u8>>,
    application_name: Option<String>,
    options: Option<String>,
    params: Vec<(String, String)>,
    tls: bool,
    tls_server_end_point: Option<Vec<u8>>,
    require_channel_binding: bool,
    allowed: Option<AuthMethods>,
    min_protocol: ProtocolVersion,
    max_protocol: ProtocolVersion,
}

/// A set of authentication methods, for [`StartupConfig::allowed_auth`]
/// (libpq's `require_auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthMethods(u8);

impl AuthMethods {
    /// `none`: the server lets the client in without asking (trust).
    pub const NONE: AuthMethods = AuthMethods(1);
    /// Cleartext `password`.
    pub const PASSWORD: AuthMethods = AuthMethods(2);
    /// `md5`.
    pub const MD5: AuthMethods = AuthMethods(4);
    /// `scram-sha-256` (with or without channel binding).
    pub const SCRAM_SHA_256: AuthMethods = AuthMethods(8);
    /// Every method this client implements.
    pub const ALL: AuthMethods = AuthMethods(15);

    /// The union of two sets.
    pub const fn union(self, other: AuthMethods) -> AuthMethods {
        AuthMethods(self.0 | other.0)
    }

    /// True when every method of `other` is in `self`.
    pub const fn contains(self, other: AuthMethods) -> bool {
        self.0 & other.0 == other.0
    }
}

impl StartupConfig {
    /// A configuration for the role `user`.
    pub fn new(user: impl Into<String>) -> Self {
        StartupConfig {
            user: user.into(),
            ..Default::default()
        }
    }

    /// The database to connect to (the server defaults to the user name).
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// The password, used only if the server asks for one.
    pub fn password(mut self, password: impl AsRef<[u8]>) -> Self {
        self.password = Some(password.as_ref().to_vec());
        self
    }

    /// `application_name`, shown in `pg_stat_activity`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Command-line options for the backend, such as `-c search_path=app`.
    pub fn options(mut self, options: impl Into<String>) -> Self {
        self.options = Some(options.into());
        self
    }

    /// Any other run-time parameter to set at startup (`TimeZone`, ...).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Declares that the stream is TLS-protected. With `server_end_point` (the
    /// RFC 5929 `tls-server-end-point` hash of the server certificate), SCRAM
    /// uses channel binding (`SCRAM-SHA-256-PLUS`) when the server offers it.
    /// Without it (a certificate whose signature algorithm names no hash,
    /// such as Ed25519), SCRAM goes without binding (GS2 header `n`), and
    /// [`require_channel_binding`](Self::require_channel_binding) fails.
    pub fn tls(mut self, server_end_point: Option<Vec<u8>>) -> Self {
        self.tls = true;
        self.tls_server_end_point = server_end_point;
        self
    }

    /// Refuses to authenticate unless SCRAM-SHA-256-PLUS with channel
    /// binding is used (libpq's `channel_binding=require`). Needs
    /// [`tls`](Self::tls) with the server certificate's hash.
    pub fn require_channel_binding(mut self, required: bool) -> Self {
        self.require_channel_binding = required;
        self
    }

    /// Only these authentication methods are acceptable (libpq's
    /// `require_auth`): the machine fails before answering any other.
    pub fn allowed_auth(mut self, methods: AuthMethods) -> Self {
        self.allowed = Some(methods);
        self
    }

    fn check_allowed(&self, method: AuthMethods, name: &'static str) -> Result<(), Error> {
        match self.allowed {
            Some(allowed) if !allowed.contains(method) => {
                Err(Error::Auth(AuthError::MethodNotAllowed(name)))
            }
            _ => Ok(()),
        }
    }

    fn refuse_without_binding(&self, why: &'static str) -> Result<(), Error> {
        if self.require_channel_binding {
            Err(Error::Auth(AuthError::ChannelBindingRequired(why)))
        } else {
            Ok(())
        }
    }

    /// The oldest protocol version to accept (libpq 18's
    /// `min_protocol_version`; default 3.0): a server that negotiates down
    /// below it fails the startup with
    /// [`ProtocolVersionError::BelowMinimum`].
    pub fn min_protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.min_protocol = version;
        self
    }

    /// The protocol version the StartupMessage asks for (libpq 18's
    /// `max_protocol_version`; default 3.0, which middleware that cannot
    /// negotiate understands). The server may lower it with
    /// `NegotiateProtocolVersion`, down to the minimum.
    ///
    /// ```
    /// use pgwire_proto::{Machine, ProtocolVersion, StartupConfig};
    /// let mut m = Machine::new();
    /// m.start(&StartupConfig::new("alice").max_protocol_version(ProtocolVersion::V3_2)).unwrap();
    /// assert_eq!(&m.output()[4..8], &[0, 3, 0, 2]); // asks for 3.2
    /// assert_eq!(m.protocol_version(), ProtocolVersion::V3_2);
    /// ```
    pub fn max_protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.max_protocol = version;
        self
    }

    /// The minimum protocol version accepted.
    pub fn get_min_protocol_version(&self) -> ProtocolVersion {
        self.min_protocol
    }

    /// The protocol version asked for.
    pub fn get_max_protocol_version(&self) -> ProtocolVersion {
        self.max_protocol
    }

    /// The role name.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub(crate) fn write_startup(&self, out: &mut BytesMut) -> Result<(), Error> {
        if self.min_protocol > self.max_protocol {
            return Err(Error::ProtocolVersion(ProtocolVersionError::MinAboveMax {
                min: self.min_protocol,
                max: self.max_protocol,
            }));
        }
        let mut params: Vec<(&str, &str)> = vec![
            ("user", &self.user),
            // Every string the machine decodes is UTF-8, so the session must be.
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, YMD"),
        ];
        if let Some(db) = &self.database {
            params.push(("database", db));
        }
        if let Some(app) = &self.application_name {
            params.push(("application_name", app));
        }
        if let Some(opts) = &self.options {
            params.push(("options", opts));
        }
        params.extend(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        frontend::startup(out, self.max_protocol, params)
    }
}

impl fmt::Debug for StartupConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartupConfig")
            .field("user", &self.user)
            .field("database", &self.database)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("params", &self.params)
            .field("tls", &self.tls)
            .field("require_channel_binding", &self.require_channel_binding)
            .field("allowed", &self.allowed)
            .field("min_protocol", &self.min_protocol)
            .field("max_protocol", &self.max_protocol)
            .finish()
    }
}

/// Where authentication stands.
#[derive(Debug)]
pub(crate) enum Auth {
    /// Waiting for the server's first authentication request.
    Waiting,
    /// A cleartext or MD5 password answered the server's request; only
    /// `AuthenticationOk` (or an error) may follow. The method was checked
    /// against `require_auth` before the password went out, so the Ok that
    /// follows is that method's outcome, not a login without one ("none").
    PasswordSent(AuthMechanism),
    /// A SCRAM exchange is under way.
    Scram(Box<ScramSha256>),
    /// SCRAM finished and the server proved it knows the password.
    ScramVerified {
        /// Whether channel binding (`-PLUS`) was used.
        bound: bool,
    },
}

/// What handling an authentication message produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AuthStep {
    /// An answer was queued; keep reading.
    Continue,
    /// `AuthenticationOk` arrived, after this method.
    Done(AuthMechanism),
}

/// How a session authenticated ([`Machine::authentication`](crate::Machine::authentication)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// The server asked for nothing (`trust`, `peer`, ...).
    None,
    /// A cleartext password.
    Password,
    /// An MD5-hashed password.
    Md5,
    /// SCRAM-SHA-256 (the server proved it knows the password).
    ScramSha256,
    /// SCRAM-SHA-256-PLUS: SCRAM bound to the TLS channel.
    ScramSha256Plus,
}

impl std::fmt::Display for AuthMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthMechanism::None => "none (trust)",
            AuthMechanism::Password => "cleartext password",
            AuthMechanism::Md5 => "MD5 password",
            AuthMechanism::ScramSha256 => "SCRAM-SHA-256",
            AuthMechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS (channel binding)",
        })
    }
}

impl Auth {
    pub(crate) fn handle(
        &mut self,
        config: &StartupConfig,
        request: Authentication,
        out: &mut BytesMut,
    ) -> Result<AuthStep, Error> {
        let password = |method| {
            config
                .password
                .as_deref()
                .ok_or(Error::Auth(AuthError::PasswordRequired { method }))
        };
        match (std::mem::replace(self, Auth::Waiting), request) {
            (Auth::Scram(_), Authentication::Ok) => Err(Error::Auth(AuthError::UnsupportedMethod(
                "AuthenticationOk before the SCRAM exchange proved the server's identity".into(),
            ))),
            (Auth::ScramVerified { bound }, Authentication::Ok) => {
                if !bound {
                    config.refuse_without_binding("the server authenticated without it")?;
                }
                Ok(AuthStep::Done(if bound {
                    AuthMechanism::ScramSha256Plus
                } else {
                    AuthMechanism::ScramSha256
                }))
            }
            (Auth::PasswordSent(method), Authentication::Ok) => Ok(AuthStep::Done(method)),
            (Auth::Waiting, Authentication::Ok) => {
                config.check_allowed(AuthMethods::NONE, "none")?;
                config.refuse_without_binding("the server authenticated without it")?;
                Ok(AuthStep::Done(AuthMechanism::None))
            }
            (Auth::Waiting, Authentication::CleartextPassword) => {
                config.check_allowed(AuthMethods::PASSWORD, "password")?;
                config.refuse_without_binding("the server asked for a cleartext password")?;
                frontend::password(out, password("cleartext")?)?;
                *self = Auth::PasswordSent(AuthMechanism::Password);
                Ok(AuthStep::Continue)
            }
            (Auth::Waiting, Authentication::Md5Password(salt)) => {
                config.check_allowed(AuthMethods::MD5, "md5")?;
                config.refuse_without_binding("the server asked for an MD5 password")?;
                let hashed = md5_password(config.user.as_bytes(), password("md5")?, salt);
                frontend::password(out, hashed.as_bytes())?;
                *self = Auth::PasswordSent(AuthMechanism::Md5);
                Ok(AuthStep::Continue)
            }
            (Auth::Waiting, Authentication::Sasl(mechanisms)) => {
                config.check_allowed(AuthMethods::SCRAM_SHA_256, "scram-sha-256")?;
                let offers = |m: &str| mechanisms.iter().any(|x| x == m);
                if config.require_channel_binding {
                    if !config.tls {
                        config.refuse_without_binding("the connection is not encrypted")?;
                    }
                    if config.tls_server_end_point.is_none() {
                        config.refuse_without_binding(
                            "the server certificate's signature algorithm names no hash for tls-server-end-point (Ed25519 and Ed448 have none), so the binding value cannot be computed",
                        )?;
                    }
                    if !offers(SCRAM_SHA_256_PLUS) {
                        config.refuse_without_binding(
                            "the server does not offer SCRAM-SHA-256-PLUS",
                        )?;
                    }
                }
                let binding = match (&config.tls_server_end_point, config.tls) {
                    (Some(hash), _) if offers(SCRAM_SHA_256_PLUS) => {
                        ChannelBinding::TlsServerEndPoint(hash.clone())
                    }
                    _ if !offers(SCRAM_SHA_256) => {
                        return Err(Error::Auth(AuthError::UnsupportedSaslMechanisms(
                            mechanisms,
                        )))
                    }
                    // Over TLS without the certificate's hash, a server
                    // that offers -PLUS would take "y" for a downgrade
                    // attack and refuse: say "n" (no binding) instead.
                    (None, true) if offers(SCRAM_SHA_256_PLUS) => ChannelBinding::Unsupported,
                    (_, true) => ChannelBinding::NotUsedByServer,
                    (_, false) => ChannelBinding::Unsupported,
                };
                let scram = ScramSha256::new(password("SCRAM-SHA-256")?, binding)
                    .map_err(AuthError::from)?;
                frontend::sasl_initial_response(
                    out,
                    scram.mechanism(),
                    scram.client_first_message(),
                )?;
                *self = Auth::Scram(Box::new(scram));
                Ok(AuthStep::Continue)
            }
            (Auth::Scram(mut scram), Authentication::SaslContinue(data)) => {
                let answer = scram.handle_server_first(&data).map_err(AuthError::from)?;
                frontend::sasl_response(out, &answer)?;
                *self = Auth::Scram(scram);
                Ok(AuthStep::Continue)
            }
            (Auth::Scram(mut scram), Authentication::SaslFinal(data)) => {
                scram.verify_server_final(&data).map_err(AuthError::from)?;
                *self = Auth::ScramVerified {
                    bound: scram.mechanism() == SCRAM_SHA_256_PLUS,
                };
                Ok(AuthStep::Continue)
            }
            (_, Authentication::Unsupported(code)) => {
                Err(Error::Auth(AuthError::UnsupportedMethod(method_name(code))))
            }
            (_, other) => Err(Error::Protocol(crate::error::ProtocolError::Unexpected {
                message: auth_name(&other),
                state: "authenticating",
            })),
        }
    }
}

fn method_name(code: i32) -> String {
    match code {
        2 => "Kerberos V5".into(),
        6 => "SCM credentials".into(),
        7 => "GSSAPI".into(),
        8 => "GSSAPI continuation".into(),
        9 => "SSPI".into(),
        other => format!("unknown method {other}"),
    }
}

fn auth_name(auth: &Authentication) -> &'static str {
    match auth {
        Authentication::Ok => "AuthenticationOk",
        Authentication::CleartextPassword => "AuthenticationCleartextPassword",
        Authentication::Md5Password(_) => "AuthenticationMD5Password",
        Authentication::Sasl(_) => "AuthenticationSASL",
        Authentication::SaslContinue(_) => "AuthenticationSASLContinue",
        Authentication::SaslFinal(_) => "AuthenticationSASLFinal",
        Authentication::Unsupported(_) => "Authentication",
    }
}
