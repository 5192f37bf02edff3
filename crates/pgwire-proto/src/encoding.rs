//! The session's client encoding.
//!
//! pgwire reads and writes text as UTF-8 only: the startup sequence asks for
//! `client_encoding` UTF8, and nothing converts text from or to another
//! charset. A session can still change it (`SET client_encoding`, `SET
//! NAMES`, `set_config`), and the server then sends its text in that
//! encoding and reads ours as if it were in it: `chr(195) || chr(169)`
//! ("Ã©") would read as "é", and a parameter "é" would be stored as "Ã©".
//! So that this never gives a wrong value, the [`Machine`](crate::Machine)
//! follows the `client_encoding` the server reports (`ParameterStatus`),
//! and while it is not UTF8:
//!
//! - a request is queued only if its bytes mean the same in every encoding
//!   PostgreSQL offers clients (each of them reads ASCII as ASCII): SQL text
//!   and names in ASCII, and no parameters. Anything else fails with
//!   [`Error::ClientEncoding`] before a byte is queued. What it lets through
//!   includes `SET client_encoding TO 'UTF8'` (or `RESET ALL`, `ROLLBACK`),
//!   which puts the session right.
//! - the description of every row that arrives is marked with the
//!   encoding ([`RowDescription::client_encoding`]), and the values of a
//!   marked row refuse to decode ([`ColumnError::ClientEncoding`]); their
//!   raw bytes stay readable. A mark is never taken off a description, so
//!   a statement described meanwhile keeps refusing its rows.
//! - server text that is not values (error and notice fields, column
//!   names, parameter values, notifications) keeps only its ASCII, every
//!   other character becoming U+FFFD: read as UTF-8, LATIN1's "Ã©" would
//!   pass for "é", so no non-ASCII character of it can be trusted. The
//!   text is lossy, never misread, and never ends the session; severity
//!   and SQLSTATE are ASCII and always kept. (In a UTF8 session such text
//!   is decoded as UTF-8, invalid bytes becoming U+FFFD.)
//!
//! Since PostgreSQL 14 the server reports a change only just before the
//! `ReadyForQuery` of the request that made it, after that request's rows:
//! `pgwire-conn` refuses such an answer as a whole. A change the server
//! never reports (`SET LOCAL` inside a transaction, a `set_config` that a
//! failed statement rolls back) is beyond what any client can see.
//!
//! [`ColumnError::ClientEncoding`]: crate::ColumnError::ClientEncoding

use std::sync::Arc;

use crate::error::{Error, ErrorFields};
use crate::message::backend::BackendMessage;
use crate::row::RowDescription;

/// True if `name` is one of PostgreSQL's names for UTF-8 (the server
/// reports `UTF8`).
pub fn is_utf8(name: &str) -> bool {
    ["UTF8", "UTF-8", "UNICODE"]
        .iter()
        .any(|utf8| utf8.eq_ignore_ascii_case(name))
}

/// What refusing anything in a session whose client_encoding is `encoding`
/// means, and how to get out of it.
pub fn refusal(encoding: &str) -> String {
    format!(
        "the session's client_encoding is {encoding}, not UTF8, and pgwire reads and writes \
         only UTF-8 (values would be wrong): until SET client_encoding TO 'UTF8' puts it back, \
         rows are refused and only ASCII requests without parameters are sent"
    )
}

/// The `client_encoding` the server last reported, when it is not UTF8.
#[derive(Debug, Default)]
pub(crate) struct ClientEncoding {
    foreign: Option<Arc<str>>,
}

impl ClientEncoding {
    /// True while the session's encoding is UTF8 (nothing to sanitize or
    /// mark).
    #[inline]
    pub(crate) fn is_utf8(&self) -> bool {
        self.foreign.is_none()
    }

    /// Records a reported `client_encoding`; true if rows arriving from now
    /// on are to be marked differently.
    pub(crate) fn report(&mut self, value: &str) -> bool {
        let foreign = (!is_utf8(value)).then(|| Arc::<str>::from(value));
        let changed = foreign != self.foreign;
        self.foreign = foreign;
        changed
    }

    /// Refuses a request that sends `texts` and `params` parameters, unless
    /// its bytes mean the same whatever the session's encoding.
    pub(crate) fn check(&self, texts: &[&str], params: usize) -> Result<(), Error> {
        match &self.foreign {
            Some(encoding) if params > 0 || !texts.iter().all(|t| t.is_ascii()) => {
                Err(Error::ClientEncoding(encoding.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// The description to give rows arriving now: marked with the
    /// session's encoding when it is not UTF8 (a copy, so that a
    /// description shared with the statement cache stays unmarked).
    /// Without one, `description` is returned as it is, marked or not.
    #[inline]
    pub(crate) fn mark(&self, mut description: Arc<RowDescription>) -> Arc<RowDescription> {
        match &self.foreign {
            Some(encoding) if description.client_encoding.as_ref() != Some(encoding) => {
                Arc::make_mut(&mut description).client_encoding = Some(Arc::clone(encoding));
                description
            }
            _ => description,
        }
    }
}

impl ClientEncoding {
    /// Replaces every non-ASCII character of the server text in `message`
    /// by U+FFFD while the session's encoding is not UTF8: that text was
    /// decoded as UTF-8 but is in another charset, so only its ASCII means
    /// what it reads as.
    #[inline]
    pub(crate) fn sanitize(&self, message: &mut BackendMessage) {
        if self.foreign.is_none() {
            return;
        }
        match message {
            BackendMessage::ErrorResponse(fields) | BackendMessage::NoticeResponse(fields) => {
                sanitize_fields(fields)
            }
            BackendMessage::NotificationResponse(n) => {
                ascii_only(&mut n.channel);
                ascii_only(&mut n.payload);
            }
            BackendMessage::ParameterStatus { name, value } => {
                ascii_only(name);
                ascii_only(value);
            }
            BackendMessage::RowDescription(description) => {
                for field in description.fields_mut() {
                    ascii_only(&mut field.name);
                }
            }
            _ => {}
        }
    }
}

#[cold]
fn sanitize_fields(f: &mut ErrorFields) {
    ascii_only(&mut f.severity);
    ascii_only(&mut f.message);
    for text in [
        &mut f.severity_nonlocalized,
        &mut f.detail,
        &mut f.hint,
        &mut f.internal_query,
        &mut f.where_,
        &mut f.schema,
        &mut f.table,
        &mut f.column,
        &mut f.data_type,
        &mut f.constraint,
        &mut f.file,
        &mut f.routine,
    ]
    .into_iter()
    .flatten()
    {
        ascii_only(text);
    }
}

/// `text` with each non-ASCII character replaced by U+FFFD.
fn ascii_only(text: &mut String) {
    if !text.is_ascii() {
        *text = text
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_has_three_names() {
        for name in ["UTF8", "utf8", "UTF-8", "Unicode"] {
            assert!(is_utf8(name), "{name}");
        }
        for name in ["LATIN1", "SQL_ASCII", "UTF16", ""] {
            assert!(!is_utf8(name), "{name}");
        }
    }

    #[test]
    fn only_ascii_without_parameters_passes_another_encoding() {
        let mut encoding = ClientEncoding::default();
        assert!(!encoding.report("UTF8"));
        assert_eq!(encoding.check(&["select 'é'"], 3), Ok(()));
        assert!(encoding.report("LATIN1"));
        assert!(!encoding.report("LATIN1"));
        assert_eq!(
            encoding.check(&["SET client_encoding TO 'UTF8'"], 0),
            Ok(())
        );
        let refused = Err(Error::ClientEncoding("LATIN1".into()));
        assert_eq!(encoding.check(&["select 'é'"], 0), refused);
        assert_eq!(encoding.check(&["select 1", "portal_é"], 0), refused);
        assert_eq!(encoding.check(&["select $1"], 1), refused);
        assert!(encoding.report("UTF8"));
        assert_eq!(encoding.check(&["select $1 || 'é'"], 1), Ok(()));
    }

    #[test]
    fn marks_are_copies_and_stay() {
        let mut encoding = ClientEncoding::default();
        let cached = Arc::new(RowDescription::new(Vec::new()));
        assert!(Arc::ptr_eq(&encoding.mark(Arc::clone(&cached)), &cached));
        encoding.report("LATIN1");
        let marked = encoding.mark(Arc::clone(&cached));
        assert_eq!(marked.client_encoding(), Some("LATIN1"));
        assert_eq!(cached.client_encoding(), None);
        assert!(Arc::ptr_eq(&encoding.mark(Arc::clone(&marked)), &marked));
        encoding.report("SJIS");
        assert_eq!(
            encoding.mark(Arc::clone(&marked)).client_encoding(),
            Some("SJIS")
        );
        encoding.report("UTF8");
        assert_eq!(encoding.mark(marked).client_encoding(), Some("LATIN1"));
    }
}
