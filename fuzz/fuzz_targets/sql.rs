//! The SQL lexer: the named-parameter rewrite, COPY FROM STDIN detection
//! and the row-returning guess on arbitrary text. The rewrite keeps text
//! without `:` unchanged, names only what the text holds, and rewriting
//! its output again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgwire_proto::params::{copies_from_stdin, may_return_rows, rewrite_named};

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let _ = copies_from_stdin(sql);
    let _ = may_return_rows(sql);
    let Ok(named) = rewrite_named(sql) else {
        return;
    };
    if !sql.contains(':') {
        assert_eq!(named.sql, sql, "text without placeholders changed");
        assert!(named.names.is_empty());
    }
    for name in &named.names {
        assert!(
            sql.contains(&format!(":{name}")),
            "a name the text does not hold: {name}"
        );
    }
    match rewrite_named(&named.sql) {
        Ok(again) => {
            assert_eq!(again.sql, named.sql, "the rewrite is not stable");
            assert!(again.names.is_empty());
        }
        Err(e) => panic!("the rewritten text does not lex: {e}"),
    }
});
