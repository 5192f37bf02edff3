//! A deliberately tiny error type.
//!
//! xtask is a command-line tool: every failure ends up as one line on stderr
//! (`error: ...`) and a non-zero exit code, so an error only needs to carry a
//! human-readable message. [`Context`] prefixes lower-level errors with what
//! we were trying to do, which is what makes that one line useful.

use std::fmt;

/// A failure, described for a human.
#[derive(Debug)]
pub struct Error {
    message: String,
}

/// The result type used throughout xtask.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with the given message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::msg(e.to_string())
    }
}

impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Self {
        Self::msg(format!("certificate generation: {e}"))
    }
}

/// Adds "what were we doing" to an error, e.g. `creating /x: Permission denied`.
pub trait Context<T> {
    /// Prefix the error with `what`.
    fn context(self, what: impl fmt::Display) -> Result<T>;
    /// Like [`Context::context`], but only builds the message on failure.
    fn with_context<S: fmt::Display>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::msg(format!("{what}: {e}")))
    }

    fn with_context<S: fmt::Display>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::msg(format!("{}: {e}", what())))
    }
}

/// Return early with an [`Error`] built like `format!`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::msg(format!($($arg)*)))
    };
}
pub(crate) use bail;
