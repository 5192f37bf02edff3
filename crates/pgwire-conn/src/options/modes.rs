//! The libpq keywords that take one of a fixed set of words (`sslmode`,
//! `target_session_attrs`, ...), the root certificates to trust, and
//! `require_auth`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::error::Origin;
use super::OptionsError;

/// Declares a libpq keyword enum: the variants, `as_str`, `FromStr` and
/// `Display`, all from one table so that the words cannot drift apart.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($option:literal, expected $expected:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The libpq keyword for this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word, )+
                }
            }

            pub(crate) fn parse_in(value: &str, origin: Origin) -> Result<Self, OptionsError> {
                match value {
                    $( $word => Ok($name::$variant), )+
                    _ => Err(OptionsError::invalid($option, value, origin, Some($expected))),
                }
            }
        }

        impl FromStr for $name {
            type Err = OptionsError;

            /// Parses the libpq keyword (case-sensitive, as libpq).
            fn from_str(s: &str) -> Result<Self, OptionsError> {
                Self::parse_in(s, Origin::Value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum! {
    /// libpq's `sslmode`: whether to use TLS and what to verify.
    ///
    /// ```
    /// use pgwire_conn::SslMode;
    /// assert_eq!("verify-full".parse::<SslMode>().unwrap(), SslMode::VerifyFull);
    /// assert_eq!(SslMode::default().to_string(), "prefer");
    /// ```
    #[derive(Default)]
    pub enum SslMode ("sslmode", expected "disable, allow, prefer, require, verify-ca or verify-full") {
        /// Never use TLS.
        Disable = "disable",
        /// Try without TLS first, then with TLS if the server insists.
        Allow = "allow",
        /// Use TLS if the server supports it, else go on without (the
        /// default); also without when the TLS attempt fails.
        #[default]
        Prefer = "prefer",
        /// Use TLS; verify the server's certificate chain only if root
        /// certificates are given (`sslrootcert`, `PGSSLROOTCERT` or
        /// `~/.postgresql/root.crt`), as libpq does. This holds for `allow`
        /// and `prefer` when they use TLS, too.
        Require = "require",
        /// Use TLS and verify that the certificate chains to a trusted CA.
        VerifyCa = "verify-ca",
        /// Use TLS, verify the chain and that the certificate names the host.
        VerifyFull = "verify-full",
    }
}

keyword_enum! {
    /// libpq's `sslnegotiation`: how TLS starts.
    #[derive(Default)]
    pub enum SslNegotiation ("sslnegotiation", expected "postgres or direct") {
        /// Send an SSLRequest and start TLS if the server agrees (the default).
        #[default]
        Postgres = "postgres",
        /// PostgreSQL 17's direct TLS: the handshake starts at once, with the
        /// ALPN protocol `postgresql`. Needs an `sslmode` of `require` or
        /// stronger.
        Direct = "direct",
    }
}

keyword_enum! {
    /// libpq's `channel_binding`: whether SCRAM binds to the TLS channel.
    #[derive(Default)]
    pub enum ChannelBindingMode ("channel_binding", expected "disable, prefer or require") {
        /// Never use channel binding.
        Disable = "disable",
        /// Use it when TLS is on and the server offers it (the default).
        /// The binding value is the server certificate's hash by the hash
        /// of its signature algorithm (for RSA-PSS, the one its parameters
        /// name); a certificate whose algorithm names none (Ed25519, Ed448)
        /// has no value, and SCRAM goes without binding.
        #[default]
        Prefer = "prefer",
        /// Fail unless authentication used channel binding (also with a
        /// certificate that gives no binding value, such as Ed25519).
        Require = "require",
    }
}

keyword_enum! {
    /// libpq's `target_session_attrs`: which of several hosts is acceptable.
    #[derive(Default)]
    pub enum TargetSessionAttrs (
        "target_session_attrs",
        expected "any, read-write, read-only, primary, standby or prefer-standby"
    ) {
        /// Any server (the default).
        #[default]
        Any = "any",
        /// A server that accepts writes (`transaction_read_only` is off).
        ReadWrite = "read-write",
        /// A server that refuses writes.
        ReadOnly = "read-only",
        /// A server that is not in recovery.
        Primary = "primary",
        /// A server in recovery (a standby).
        Standby = "standby",
        /// A standby if one answers, else any server.
        PreferStandby = "prefer-standby",
    }
}

keyword_enum! {
    /// libpq's `load_balance_hosts`: the order in which hosts are tried.
    #[derive(Default)]
    pub enum LoadBalanceHosts ("load_balance_hosts", expected "disable or random") {
        /// In the order given (the default).
        #[default]
        Disable = "disable",
        /// In a random order, to spread connections.
        Random = "random",
    }
}

keyword_enum! {
    /// An authentication method, as named by libpq's `require_auth`.
    pub enum AuthMethod (
        "require_auth method",
        expected "password, md5, scram-sha-256, gss, sspi or none, optionally each prefixed with \"!\""
    ) {
        /// No authentication: the server sent AuthenticationOk without
        /// asking for anything (trust).
        None = "none",
        /// A cleartext password.
        Password = "password",
        /// An MD5-hashed password.
        Md5 = "md5",
        /// SCRAM-SHA-256, with or without channel binding.
        ScramSha256 = "scram-sha-256",
        /// GSSAPI (Kerberos).
        Gss = "gss",
        /// SSPI (Windows).
        Sspi = "sspi",
    }
}

/// The server's root certificates to trust (libpq's `sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SslRootCert {
    /// A PEM file of CA certificates.
    File(PathBuf),
    /// The operating system's trust store (`sslrootcert=system`).
    System,
}

/// libpq 16's `require_auth`: the authentication methods the client accepts
/// from the server.
///
/// A comma-separated list of `password`, `md5`, `scram-sha-256`, `gss`,
/// `sspi` and `none`: only those are allowed. With a `!` on every element
/// (`!password,!md5`), all but those are allowed. Mixing the two forms, a
/// method listed twice, or an unknown method is an error.
///
/// ```
/// use pgwire_conn::{AuthMethod, RequireAuth};
/// let only_scram = RequireAuth::parse("scram-sha-256").unwrap();
/// assert!(only_scram.allows(AuthMethod::ScramSha256));
/// assert!(!only_scram.allows(AuthMethod::Password));
/// assert!(!only_scram.allows(AuthMethod::None)); // trust is refused too
///
/// let no_cleartext = RequireAuth::parse("!password").unwrap();
/// assert!(no_cleartext.allows(AuthMethod::Md5));
/// assert!(!no_cleartext.allows(AuthMethod::Password));
///
/// assert!(RequireAuth::parse("md5,!password").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequireAuth {
    /// True for the `!method` form: `methods` are the forbidden ones.
    negated: bool,
    methods: Vec<AuthMethod>,
}

impl RequireAuth {
    /// Parses a `require_auth` value.
    pub fn parse(s: &str) -> Result<Self, OptionsError> {
        Self::parse_in(s, Origin::Value)
    }

    pub(crate) fn parse_in(s: &str, origin: Origin) -> Result<Self, OptionsError> {
        let mut negated = None;
        let mut methods = Vec::new();
        for element in s.split(',') {
            let element = element.trim();
            let (neg, name) = match element.strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, element),
            };
            if *negated.get_or_insert(neg) != neg {
                return Err(OptionsError::new(format!(
                    "require_auth method \"{element}\"{origin} cannot be mixed with {} methods",
                    if neg { "non-negated" } else { "negated" }
                )));
            }
            let method = AuthMethod::parse_in(name, origin)?;
            if methods.contains(&method) {
                return Err(OptionsError::new(format!(
                    "require_auth method \"{name}\"{origin} is listed more than once"
                )));
            }
            methods.push(method);
        }
        Ok(RequireAuth {
            negated: negated.unwrap_or(false),
            methods,
        })
    }

    /// Whether authenticating with `method` is acceptable.
    pub fn allows(&self, method: AuthMethod) -> bool {
        self.methods.contains(&method) != self.negated
    }
}

impl FromStr for RequireAuth {
    type Err = OptionsError;

    fn from_str(s: &str) -> Result<Self, OptionsError> {
        Self::parse(s)
    }
}

impl fmt::Display for RequireAuth {
    /// The `require_auth` value, such as `!password,!md5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, method) in self.methods.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let bang = if self.negated { "!" } else { "" };
            write!(f, "{comma}{bang}{method}")?;
        }
        Ok(())
    }
}
