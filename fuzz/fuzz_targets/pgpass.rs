//! `.pgpass` files: arbitrary contents, looked up through the options as a
//! connection does. No panic; a password found is one of the file's lines'.
#![no_main]

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use libfuzzer_sys::fuzz_target;
use pgwire_conn::ConnectOptions;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("pgwire-fuzz-pgpass-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(data));
    if written.is_err() {
        return;
    }
    let options = ConnectOptions::new("db.example.com", "alice")
        .database("shop")
        .passfile(&path);
    for host in options.hosts() {
        if let Some(password) = options.password_for(host) {
            let text = String::from_utf8_lossy(data);
            let unescaped = password.replace('\\', "");
            assert!(
                text.replace('\\', "").contains(&unescaped),
                "a password the file does not hold"
            );
        }
    }
});
