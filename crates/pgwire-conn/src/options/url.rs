//! libpq's connection URLs:
//! `postgresql://[user[:password]@][host][:port][,host2[:port2]...][/dbname][?key=value&...]`.
//!
//! The URL is turned into the same `(key, value)` pairs as a `key=value`
//! string (hosts and ports as comma lists), so both forms share one set of
//! keys and one resolution.

use super::error::OptionsError;

/// The part after `postgresql://` or `postgres://`, if `s` is a URL.
pub(super) fn strip_scheme(s: &str) -> Option<&str> {
    s.strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
}

/// Parses what follows the scheme.
pub(super) fn parse(rest: &str) -> Result<Vec<(String, String)>, OptionsError> {
    let mut pairs = Vec::new();

    // The authority runs to the path or the query. Within it the user info
    // ends at the last '@': a raw '@' is invalid in user info anyway, and
    // this way an unencoded '@' in a password still works.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let hostlist = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                pairs.push(("user".into(), decode(user, "user name")?));
            }
            if let Some(password) = password {
                pairs.push(("password".into(), decode(password, "password")?));
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    parse_hosts(hostlist, &mut pairs)?;

    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if let Some(dbname) = path.strip_prefix('/') {
        if !dbname.is_empty() {
            pairs.push(("dbname".into(), decode(dbname, "database name")?));
        }
    }

    // Query parameters come last so that `?host=` and `?port=` replace what
    // the authority said, as in libpq.
    for param in query.unwrap_or("").split('&') {
        if param.is_empty() {
            continue;
        }
        let Some((key, value)) = param.split_once('=') else {
            return Err(OptionsError::new(format!(
                "missing \"=\" in URL query parameter \"{param}\""
            )));
        };
        let key = decode(key, "query parameter name")?;
        let value = decode(value, &format!("value of \"{key}\""))?;
        // JDBC's `ssl=true`, which libpq accepts too.
        if key == "ssl" && value == "true" {
            pairs.push(("sslmode".into(), "require".into()));
        } else {
            pairs.push((key, value));
        }
    }
    Ok(pairs)
}

/// `host[:port][,host[:port]...]`, with `[v6 address]` brackets.
fn parse_hosts(list: &str, pairs: &mut Vec<(String, String)>) -> Result<(), OptionsError> {
    if list.is_empty() {
        return Ok(());
    }
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    let mut rest = list;
    loop {
        let (host, after) = if let Some(v6) = rest.strip_prefix('[') {
            let Some(close) = v6.find(']') else {
                return Err(OptionsError::new(format!(
                    "missing \"]\" after IPv6 address \"[{v6}\" in URL"
                )));
            };
            if close == 0 {
                return Err(OptionsError::new("empty IPv6 address \"[]\" in URL"));
            }
            let after = &v6[close + 1..];
            if let Some(c) = after.chars().next().filter(|c| *c != ':' && *c != ',') {
                return Err(OptionsError::new(format!(
                    "unexpected \"{c}\" after IPv6 address \"[{}]\" in URL",
                    &v6[..close]
                )));
            }
            (&v6[..close], after)
        } else {
            let end = rest.find([':', ',']).unwrap_or(rest.len());
            rest.split_at(end)
        };
        hosts.push(decode(host, "host")?);
        let (port, after) = match after.strip_prefix(':') {
            Some(port_and_more) => {
                let end = port_and_more.find(',').unwrap_or(port_and_more.len());
                let (port, after) = port_and_more.split_at(end);
                (decode(port, "port")?, after)
            }
            None => (String::new(), after),
        };
        ports.push(port);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => break,
        }
    }
    // Only what was actually written is passed on, so that `postgresql://`
    // alone or `postgresql:///db` leaves PGHOST and PGPORT in charge.
    if hosts.iter().any(|h| !h.is_empty()) || hosts.len() > 1 {
        pairs.push(("host".into(), hosts.join(",")));
    }
    if ports.iter().any(|p| !p.is_empty()) {
        pairs.push(("port".into(), ports.join(",")));
    }
    Ok(())
}

/// Percent-decodes `s`, naming `part` of the URL in errors.
fn decode(s: &str, part: &str) -> Result<String, OptionsError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    // The password's bytes are never quoted back in an error.
    let shown = |token: &str| {
        if part == "password" {
            String::new()
        } else {
            format!(" \"{token}\"")
        }
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3).unwrap_or(&bytes[i + 1..]);
        let token = String::from_utf8_lossy(&bytes[i..i + 1 + hex.len()]);
        let value = match hex {
            [hi, lo] => hex_value(*hi).zip(hex_value(*lo)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match value {
            Some(0) => {
                return Err(OptionsError::new(format!(
                    "\"%00\" is not allowed in the URL's {part}"
                )))
            }
            Some(byte) => out.push(byte),
            None => {
                return Err(OptionsError::new(format!(
                    "invalid percent-encoding{} in the URL's {part}",
                    shown(&token)
                )))
            }
        }
        i += 3;
    }
    String::from_utf8(out).map_err(|_| {
        OptionsError::new(format!(
            "the URL's {part} is not UTF-8 after percent-decoding"
        ))
    })
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::path::PathBuf;

    use super::super::env::test_parse;
    use super::super::*;
    use super::decode;

    fn hosts(opts: &ConnectOptions) -> Vec<String> {
        opts.hosts().iter().map(HostSpec::describe).collect()
    }

    #[test]
    fn full_form() {
        let opts = test_parse(
            "postgresql://bob:secret@db.example.com:5433/shop?sslmode=verify-full&application_name=app&connect_timeout=5",
            &[],
        )
        .unwrap();
        assert_eq!(opts.user(), "bob");
        assert_eq!(opts.get_password(), Some("secret"));
        assert_eq!(opts.host(), &Host::Tcp("db.example.com".into()));
        assert_eq!(opts.get_port(), 5433);
        assert_eq!(opts.get_database(), Some("shop"));
        assert_eq!(opts.get_ssl_mode(), SslMode::VerifyFull);
        assert_eq!(opts.get_application_name(), Some("app"));
        assert_eq!(
            opts.get_connect_timeout(),
            Some(std::time::Duration::from_secs(5))
        );
        // The short scheme too.
        let opts = test_parse("postgres://bob@h", &[]).unwrap();
        assert_eq!(opts.user(), "bob");
        assert_eq!(hosts(&opts), ["h:5432"]);
    }

    #[test]
    fn minimal_forms() {
        let opts = test_parse("postgresql://", &[("USER", "me")]).unwrap();
        assert_eq!(opts.user(), "me");
        assert_eq!(opts.host(), &Host::Tcp("localhost".into()));
        let opts = test_parse("postgresql:///db", &[("PGHOST", "envhost")]).unwrap();
        assert_eq!(opts.host(), &Host::Tcp("envhost".into()));
        assert_eq!(opts.get_database(), Some("db"));
        let opts = test_parse("postgresql://h/", &[]).unwrap();
        assert_eq!(opts.get_database(), Some("tester"));
        let opts = test_parse("postgresql://h?", &[]).unwrap();
        assert_eq!(hosts(&opts), ["h:5432"]);
        let opts = test_parse("postgresql://:5439", &[]).unwrap();
        assert_eq!(opts.get_port(), 5439);
    }

    #[test]
    fn percent_decoding_in_each_part() {
        let opts = test_parse(
            "postgresql://b%C3%B6b:p%40ss%3Aw%2Fd@my%2Dhost:543%33/my%20db?application_name=a%26b%3Dc&options=-c%20x%3Dy",
            &[],
        )
        .unwrap();
        assert_eq!(opts.user(), "böb");
        assert_eq!(opts.get_password(), Some("p@ss:w/d"));
        assert_eq!(opts.host(), &Host::Tcp("my-host".into()));
        assert_eq!(opts.get_port(), 5433);
        assert_eq!(opts.get_database(), Some("my db"));
        assert_eq!(opts.get_application_name(), Some("a&b=c"));
        assert_eq!(opts.get_options(), Some("-c x=y"));
        // '+' is not a space in libpq URLs.
        assert_eq!(decode("a+b", "host").unwrap(), "a+b");
    }

    #[test]
    fn password_with_at_and_colon() {
        let opts = test_parse("postgresql://u:a%40b%3Ac@h/db", &[]).unwrap();
        assert_eq!(opts.get_password(), Some("a@b:c"));
        // An unencoded '@' in the password still works (the last '@' ends
        // the user info), and ':' after the first is part of the password.
        let opts = test_parse("postgresql://u:a@b:c@h/db", &[]).unwrap();
        assert_eq!(opts.get_password(), Some("a@b:c"));
        assert_eq!(hosts(&opts), ["h:5432"]);
        // An empty password is "no password", as in libpq.
        let opts = test_parse("postgresql://u:@h/db", &[]).unwrap();
        assert_eq!(opts.get_password(), None);
    }

    #[test]
    fn bad_percent_escapes() {
        for (url, message) in [
            (
                "postgresql://h/d%zzb",
                "invalid percent-encoding \"%zz\" in the URL's database name",
            ),
            (
                "postgresql://h/db%4",
                "invalid percent-encoding \"%4\" in the URL's database name",
            ),
            (
                "postgresql://h/db%",
                "invalid percent-encoding \"%\" in the URL's database name",
            ),
            (
                "postgresql://u%g0@h",
                "invalid percent-encoding \"%g0\" in the URL's user name",
            ),
            (
                "postgresql://u:pw%zz@h",
                "invalid percent-encoding in the URL's password",
            ),
            (
                "postgresql://h%2/db",
                "invalid percent-encoding \"%2\" in the URL's host",
            ),
            (
                "postgresql://h/db?application_name=%ZZ",
                "invalid percent-encoding \"%ZZ\" in the URL's value of \"application_name\"",
            ),
            (
                "postgresql://h/d%00b",
                "\"%00\" is not allowed in the URL's database name",
            ),
            (
                "postgresql://h/%C3",
                "the URL's database name is not UTF-8 after percent-decoding",
            ),
            // Non-ASCII right after '%': quoted without panicking, even when
            // the two bytes cut a character in half.
            (
                "postgresql://h/%é",
                "invalid percent-encoding \"%é\" in the URL's database name",
            ),
            (
                "postgresql://h/%€",
                "invalid percent-encoding \"%\u{FFFD}\" in the URL's database name",
            ),
        ] {
            let err = test_parse(url, &[]).unwrap_err().to_string();
            assert_eq!(err, message, "{url}");
        }
    }

    #[test]
    fn ipv6_literals() {
        let opts = test_parse("postgresql://[::1]:5433/db", &[]).unwrap();
        assert_eq!(opts.host(), &Host::Tcp("::1".into()));
        assert_eq!(opts.get_port(), 5433);
        assert_eq!(opts.describe_target(), "[::1]:5433");
        let opts = test_parse("postgresql://[2001:db8::7],[::1]:6000", &[]).unwrap();
        assert_eq!(hosts(&opts), ["[2001:db8::7]:5432", "[::1]:6000"]);
        let opts = test_parse("postgresql://[fe80::1%25eth0]/db", &[]).unwrap();
        assert_eq!(opts.host(), &Host::Tcp("fe80::1%eth0".into()));
        for (url, message) in [
            (
                "postgresql://[::1/db",
                "missing \"]\" after IPv6 address \"[::1\" in URL",
            ),
            ("postgresql://[]:5432", "empty IPv6 address \"[]\" in URL"),
            (
                "postgresql://[::1]x/db",
                "unexpected \"x\" after IPv6 address \"[::1]\" in URL",
            ),
        ] {
            assert_eq!(test_parse(url, &[]).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn unix_sockets() {
        let opts = test_parse("postgresql://%2Fvar%2Frun%2Fpostgresql/db", &[]).unwrap();
        assert_eq!(opts.host(), &Host::Unix("/var/run/postgresql".into()));
        assert_eq!(opts.get_database(), Some("db"));
        let opts = test_parse("postgresql:///db?host=/socket/dir&port=6000", &[]).unwrap();
        assert_eq!(opts.host(), &Host::Unix("/socket/dir".into()));
        assert_eq!(
            opts.unix_socket_path(),
            Some(PathBuf::from("/socket/dir/.s.PGSQL.6000"))
        );
        let opts = test_parse("postgresql://user@/db?host=%2Ftmp", &[]).unwrap();
        assert_eq!(opts.host(), &Host::Unix("/tmp".into()));
    }

    #[test]
    fn query_host_and_port_override_the_authority() {
        let opts = test_parse("postgresql://a:1,b:2/db?host=c,d", &[]).unwrap();
        assert_eq!(hosts(&opts), ["c:1", "d:2"]);
        let opts = test_parse("postgresql://a:1,b:2/db?port=7", &[]).unwrap();
        assert_eq!(hosts(&opts), ["a:7", "b:7"]);
        let opts = test_parse("postgresql://a/db?host=x&port=8,9&host=y,z", &[]).unwrap();
        assert_eq!(hosts(&opts), ["y:8", "z:9"]);
        let opts = test_parse("postgresql:///db?hostaddr=10.1.2.3", &[]).unwrap();
        assert_eq!(
            opts.hosts()[0].hostaddr,
            Some("10.1.2.3".parse::<IpAddr>().unwrap())
        );
    }

    #[test]
    fn several_hosts() {
        let opts = test_parse("postgresql://h1:5432,h2:5433,h3/db", &[]).unwrap();
        assert_eq!(hosts(&opts), ["h1:5432", "h2:5433", "h3:5432"]);
        let opts = test_parse("postgresql://h1,h2/db", &[("PGPORT", "6000")]).unwrap();
        assert_eq!(hosts(&opts), ["h1:6000", "h2:6000"]);
        // A port written in the URL, even for one host only, beats PGPORT
        // for every host (empty elements mean 5432), as in libpq.
        let opts = test_parse("postgresql://h1,h2:5433/db", &[("PGPORT", "6000")]).unwrap();
        assert_eq!(hosts(&opts), ["h1:5432", "h2:5433"]);
        // An empty element is the default host.
        let opts = test_parse("postgresql://h1,/db", &[]).unwrap();
        assert_eq!(hosts(&opts), ["h1:5432", "localhost:5432"]);
    }

    #[test]
    fn mismatched_port_list() {
        assert_eq!(
            test_parse("postgresql://h1,h2/db?port=1,2,3", &[])
                .unwrap_err()
                .to_string(),
            "could not match 3 port numbers to 2 hosts"
        );
        assert_eq!(
            test_parse("postgresql:///db?port=1,2", &[])
                .unwrap_err()
                .to_string(),
            "could not match 2 port numbers to 1 host"
        );
    }

    #[test]
    fn bad_port_is_named() {
        assert_eq!(
            test_parse("postgresql://h:54x2/db", &[])
                .unwrap_err()
                .to_string(),
            "invalid port \"54x2\" in URL (expected a number from 1 to 65535)"
        );
        for port in ["0", "65536", "-1", "99999999999999999999"] {
            let err = test_parse(&format!("postgresql://h:{port}/db"), &[])
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("invalid port \"{port}\" in URL")),
                "{err}"
            );
        }
        assert_eq!(
            test_parse("postgresql://h/db?port=x", &[])
                .unwrap_err()
                .to_string(),
            "invalid port \"x\" in URL (expected a number from 1 to 65535)"
        );
    }

    #[test]
    fn query_errors() {
        assert_eq!(
            test_parse("postgresql://h/db?sslmod=require", &[])
                .unwrap_err()
                .to_string(),
            "unknown connection option \"sslmod\" in URL"
        );
        assert_eq!(
            test_parse("postgresql://h/db?sslmode", &[])
                .unwrap_err()
                .to_string(),
            "missing \"=\" in URL query parameter \"sslmode\""
        );
        assert_eq!(
            test_parse("postgresql://h/db?sslmode=sometimes", &[])
                .unwrap_err()
                .to_string(),
            "invalid sslmode \"sometimes\" in URL (expected disable, allow, prefer, require, verify-ca or verify-full)"
        );
        assert_eq!(
            test_parse("postgresql://h/db?ssl=false", &[])
                .unwrap_err()
                .to_string(),
            "unknown connection option \"ssl\" in URL"
        );
    }

    #[test]
    fn query_details() {
        // `ssl=true` is sslmode=require; empty segments are skipped; '=' in
        // a value is kept.
        let opts = test_parse("postgresql://h/db?ssl=true&&options=-c%20a=b&", &[]).unwrap();
        assert_eq!(opts.get_ssl_mode(), SslMode::Require);
        assert_eq!(opts.get_options(), Some("-c a=b"));
        // Query keys are the conninfo keys, user and password included.
        let opts = test_parse("postgresql://h?user=q%20u&password=pw&dbname=d", &[]).unwrap();
        assert_eq!(opts.user(), "q u");
        assert_eq!(opts.get_password(), Some("pw"));
        assert_eq!(opts.get_database(), Some("d"));
    }
}
