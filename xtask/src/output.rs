//! Printing that cannot panic.
//!
//! `println!` panics when stdout is a closed pipe (`cargo xtask pg start |
//! head -1`), which would be a backtrace instead of a message and, worse, an
//! unplanned unwind. Our output is informational, so write errors are
//! ignored.

/// `println!` to stdout, ignoring write errors.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` to stderr, ignoring write errors.
macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub(crate) use {say, say_err};
