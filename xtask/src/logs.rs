//! Reading what a server wrote to its log.

use std::fs;
use std::path::Path;

/// Whether a server that failed to start lost its port to someone else.
pub(crate) fn lost_port_race(log: &str) -> bool {
    log.contains("could not bind") || log.contains("Address already in use")
}

pub(crate) fn read_log_from(path: &Path, offset: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let tail = &all[all.len().saturating_sub(lines)..];
    if tail.is_empty() {
        "(empty)".to_string()
    } else {
        tail.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 2), "(empty)");
    }
}
