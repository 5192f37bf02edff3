//! Connection strings: `postgres://` URLs and libpq `key=value` strings.
//! No panic; a string that parses describes its target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgwire_conn::ConnectOptions;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(options) = ConnectOptions::parse(text) {
        let _ = options.describe_target();
        let _ = format!("{options:?}");
    }
});
