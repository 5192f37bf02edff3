//! The error of reading connection options.

use std::fmt;

/// Connection options could not be understood: a malformed URL or
/// `key=value` string, an unknown option, or a value out of range.
///
/// The message names the offending part and, for a value that came from the
/// environment, the variable:
///
/// ```
/// use pgwire_conn::ConnectOptions;
/// let err = ConnectOptions::parse("host=db sslmode=sometimes").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid sslmode "sometimes" (expected disable, allow, prefer, require, verify-ca or verify-full)"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsError {
    message: String,
}

impl OptionsError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        OptionsError {
            message: message.into(),
        }
    }

    /// `invalid <what> "<value>"<origin> (expected <expected>)`.
    pub(crate) fn invalid(what: &str, value: &str, origin: Origin, expected: Option<&str>) -> Self {
        let mut message = format!("invalid {what} \"{value}\"{origin}");
        if let Some(expected) = expected {
            message.push_str(" (expected ");
            message.push_str(expected);
            message.push(')');
        }
        OptionsError { message }
    }
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OptionsError {}

/// Where a value came from, so that an error can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A libpq `key=value` string (the common case, left implicit).
    Conninfo,
    /// A `postgresql://` URL.
    Url,
    /// An environment variable.
    Env(&'static str),
    /// A value parsed on its own (`FromStr`, `RequireAuth::parse`).
    Value,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Conninfo | Origin::Value => Ok(()),
            Origin::Url => f.write_str(" in URL"),
            Origin::Env(var) => write!(f, " in {var}"),
        }
    }
}
