//! When to open a connection again after an attempt failed: what the pool
//! and the listener share. Whether the failure may heal (the server is
//! down, starting, or full; a wrong password will not), and the pause
//! before the next attempt.

use std::time::Duration;

use crate::error::Error;

const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Whether opening may succeed if tried again soon: the server is down,
/// starting, or full. A wrong password or a bad option will not heal.
pub(crate) fn is_transient(error: &Error) -> bool {
    use crate::SqlState;
    match error {
        Error::Connect { .. } | Error::Timeout { .. } | Error::Io(_) => true,
        Error::BothAttempts { second, .. } => is_transient(second),
        Error::Database(e) => {
            let code = e.sqlstate();
            code == SqlState::CANNOT_CONNECT_NOW
                || code == SqlState::TOO_MANY_CONNECTIONS
                || code == SqlState::ADMIN_SHUTDOWN
                || code == SqlState::CRASH_SHUTDOWN
        }
        _ => false,
    }
}

/// The pause after one more failed attempt, given the last one (zero
/// after a success): 50 ms, doubling to 5 s.
pub(crate) fn next_pause(last: Duration) -> Duration {
    (last * 2).clamp(FIRST_PAUSE, LONGEST_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_from_50_ms_to_5_s() {
        let mut pause = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..9 {
            pause = next_pause(pause);
            seen.push(pause.as_millis());
        }
        assert_eq!(seen, [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    }
}
