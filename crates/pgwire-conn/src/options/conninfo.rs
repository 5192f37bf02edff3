//! libpq's `key=value` connection strings.
//!
//! `host=localhost port=5432 dbname='my db' password='it\'s'`: keys and
//! values separated by `=` (spaces around it allowed), pairs by whitespace.
//! A value may be single-quoted; inside or outside quotes, `\` takes the next
//! character literally. Keys are checked later, with the values from the
//! environment, so that one place knows every key.

use super::error::OptionsError;

/// Splits `s` into `(key, value)` pairs, in order (a later duplicate wins
/// when they are applied, as in libpq).
pub(super) fn parse(s: &str) -> Result<Vec<(String, String)>, OptionsError> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        skip_whitespace(&mut chars);
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        skip_whitespace(&mut chars);
        if chars.next() != Some('=') {
            return Err(OptionsError::new(format!(
                "missing \"=\" after \"{key}\" in connection string"
            )));
        }
        skip_whitespace(&mut chars);
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(OptionsError::new(format!(
                            "unterminated quoted value of \"{key}\" in connection string"
                        )))
                    }
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    // SQL-style doubling `'it''s'`: libpq rejects it (it
                    // ends the value and then misreads the rest), so
                    // accepting it changes no valid string's meaning.
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        value.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

fn skip_whitespace(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
        chars.next();
    }
}

#[cfg(test)]
mod tests {
    use super::super::env::test_parse;
    use super::super::*;
    use super::parse;

    fn pairs(s: &str) -> Vec<(String, String)> {
        parse(s).unwrap()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn splits_keys_and_values() {
        assert_eq!(pairs(""), vec![]);
        assert_eq!(pairs("   \t\n "), vec![]);
        assert_eq!(
            pairs("host=localhost port=5432  dbname=mydb"),
            vec![
                pair("host", "localhost"),
                pair("port", "5432"),
                pair("dbname", "mydb")
            ]
        );
        assert_eq!(
            pairs(" host = localhost\tport= 5432 user =bob "),
            vec![
                pair("host", "localhost"),
                pair("port", "5432"),
                pair("user", "bob")
            ]
        );
        assert_eq!(pairs("a= b="), vec![pair("a", "b=")]);
        assert_eq!(pairs("a= b"), vec![pair("a", "b")]);
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(
            pairs(r"password='it''s \\ secret'"),
            vec![pair("password", r"it's \ secret")]
        );
        assert_eq!(pairs(r"password='it\'s'"), vec![pair("password", "it's")]);
        assert_eq!(
            pairs(r"a='' b='x y' c=un\ quoted\\ d=don\'t"),
            vec![
                pair("a", ""),
                pair("b", "x y"),
                pair("c", r"un quoted\"),
                pair("d", "don't")
            ]
        );
        assert_eq!(pairs("a=x'y"), vec![pair("a", "x'y")]);
        assert_eq!(pairs("a=''''"), vec![pair("a", "'")]);
        assert_eq!(pairs("a='é ü'"), vec![pair("a", "é ü")]);
        // A trailing lone backslash is dropped rather than panicking.
        assert_eq!(pairs(r"a=x\"), vec![pair("a", "x")]);
    }

    #[test]
    fn malformed_strings() {
        assert_eq!(
            parse("host").unwrap_err().to_string(),
            "missing \"=\" after \"host\" in connection string"
        );
        assert_eq!(
            parse("host localhost").unwrap_err().to_string(),
            "missing \"=\" after \"host\" in connection string"
        );
        assert_eq!(
            parse("password='abc").unwrap_err().to_string(),
            "unterminated quoted value of \"password\" in connection string"
        );
        assert_eq!(
            parse(r"password='abc\'").unwrap_err().to_string(),
            "unterminated quoted value of \"password\" in connection string"
        );
    }

    #[test]
    fn full_conninfo() {
        let opts = test_parse(
            r"host=localhost port=5433 dbname=mydb user=bob password='it''s \\ secret' sslmode=require application_name='my app' options='-c geqo=off' connect_timeout=10",
            &[],
        )
        .unwrap();
        assert_eq!(opts.host(), &Host::Tcp("localhost".into()));
        assert_eq!(opts.get_port(), 5433);
        assert_eq!(opts.get_database(), Some("mydb"));
        assert_eq!(opts.user(), "bob");
        assert_eq!(opts.get_password(), Some(r"it's \ secret"));
        assert_eq!(opts.get_ssl_mode(), SslMode::Require);
        assert_eq!(opts.get_application_name(), Some("my app"));
        assert_eq!(opts.get_options(), Some("-c geqo=off"));
        assert_eq!(
            opts.get_connect_timeout(),
            Some(std::time::Duration::from_secs(10))
        );
    }

    #[test]
    fn unknown_and_unsupported_keys() {
        assert_eq!(
            test_parse("host=h sslmod=require", &[])
                .unwrap_err()
                .to_string(),
            "unknown connection option \"sslmod\""
        );
        assert_eq!(
            test_parse("service=foo", &[]).unwrap_err().to_string(),
            "connection option \"service\" is not supported"
        );
        assert_eq!(
            test_parse("=x", &[]).unwrap_err().to_string(),
            "unknown connection option \"\""
        );
    }

    #[test]
    fn later_duplicates_win() {
        let opts = test_parse("host=a host=b", &[]).unwrap();
        assert_eq!(opts.host(), &Host::Tcp("b".into()));
    }
}
