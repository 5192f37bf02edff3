//! The last `RowDescription` received, kept with its bytes: a statement run
//! again and again unnamed (behind a transaction-mode pooler, every
//! statement) is described by the server on every run, always with the
//! same bytes. Those are recognized by comparing them, and the columns
//! already decoded are shared instead of decoded and allocated again (a
//! vector, a name per column, and the `Arc`).

use std::sync::Arc;

use crate::row::RowDescription;

/// Longer descriptions (hundreds of columns) are not kept: comparing is
/// cheap, but the copy of their bytes would stay in memory.
const MAX_BODY: usize = 8 * 1024;

/// The last description and the body of the message it was decoded from.
#[derive(Debug, Default)]
pub(super) struct LastDescription {
    body: Vec<u8>,
    description: Option<Arc<RowDescription>>,
}

impl LastDescription {
    /// The description decoded from exactly these bytes before, if it was
    /// the last one.
    #[inline]
    pub(super) fn get(&self, body: &[u8]) -> Option<Arc<RowDescription>> {
        self.description
            .as_ref()
            .filter(|_| self.body == body)
            .map(Arc::clone)
    }

    /// Remembers `description`, decoded from `body`.
    pub(super) fn remember(&mut self, body: &[u8], description: &Arc<RowDescription>) {
        self.body.clear();
        if body.len() > MAX_BODY {
            self.description = None;
            // Not kept either: a buffer grown for a large one is let go.
            self.body = Vec::new();
            return;
        }
        self.body.extend_from_slice(body);
        self.description = Some(Arc::clone(description));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_bytes_find_it() {
        let mut last = LastDescription::default();
        assert!(last.get(b"").is_none());
        let description = Arc::new(RowDescription::new(Vec::new()));
        last.remember(b"\0\x01a\0", &description);
        assert!(Arc::ptr_eq(&last.get(b"\0\x01a\0").unwrap(), &description));
        assert!(last.get(b"\0\x01b\0").is_none());
        last.remember(&vec![0; MAX_BODY + 1], &description);
        assert!(last.get(&vec![0; MAX_BODY + 1]).is_none());
        assert!(last.get(b"\0\x01a\0").is_none());
    }
}
