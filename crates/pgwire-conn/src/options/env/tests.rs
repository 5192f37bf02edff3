use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::*;
use super::{temp_dir, test_parse, Env};

fn hosts(opts: &ConnectOptions) -> Vec<String> {
    opts.hosts().iter().map(HostSpec::describe).collect()
}

fn err(conninfo: &str, vars: &[(&str, &str)]) -> String {
    test_parse(conninfo, vars).unwrap_err().to_string()
}

#[test]
fn defaults() {
    let opts = test_parse("", &[]).unwrap();
    assert_eq!(hosts(&opts), ["localhost:5432"]);
    assert_eq!(opts.user(), "tester");
    assert_eq!(opts.get_database(), Some("tester"));
    assert_eq!(opts.get_password(), None);
    assert_eq!(opts.get_ssl_mode(), SslMode::Prefer);
    assert_eq!(opts.get_ssl_negotiation(), SslNegotiation::Postgres);
    assert_eq!(opts.get_ssl_root_cert(), None);
    assert_eq!(opts.get_ssl_cert(), None);
    assert_eq!(opts.get_ssl_key(), None);
    assert_eq!(opts.get_channel_binding(), ChannelBindingMode::Prefer);
    assert_eq!(opts.get_require_auth(), None);
    assert_eq!(opts.get_connect_timeout(), None);
    assert_eq!(opts.get_target_session_attrs(), TargetSessionAttrs::Any);
    assert_eq!(opts.get_load_balance_hosts(), LoadBalanceHosts::Disable);
    assert_eq!(opts.get_passfile(), None);
    assert_eq!(opts.get_application_name(), None);
    assert_eq!(opts.get_options(), None);
}

#[test]
fn default_user_sources() {
    assert_eq!(
        test_parse("", &[("USER", ""), ("LOGNAME", "logname")])
            .unwrap()
            .user(),
        "logname"
    );
    let var = |_: &str| None;
    let mut env = Env {
        var: &var,
        os_user: &|| Some("fromos".into()),
        socket_dirs: &[],
        fallback_socket_dirs: &[],
    };
    assert_eq!(
        ConnectOptions::parse_with("", &env).unwrap().user(),
        "fromos"
    );
    env.os_user = &|| None;
    assert_eq!(
        ConnectOptions::parse_with("", &env)
            .unwrap_err()
            .to_string(),
        "could not determine the user name: set user, PGUSER, USER or LOGNAME"
    );
    assert_eq!(
        ConnectOptions::parse_with("user=given", &env)
            .unwrap()
            .user(),
        "given"
    );
}

#[test]
fn default_host_prefers_a_directory_with_the_socket() {
    let with_socket = temp_dir("sockdir");
    let without = temp_dir("emptydir");
    std::fs::write(with_socket.join(".s.PGSQL.6000"), b"").unwrap();
    let (a, b) = (without.to_str().unwrap(), with_socket.to_str().unwrap());
    let var = |name: &str| match name {
        "USER" => Some("u".to_owned()),
        "PGPORT" => Some("6000".to_owned()),
        _ => None,
    };
    let dirs = [a, b];
    let env = Env {
        var: &var,
        os_user: &|| None,
        socket_dirs: &dirs,
        fallback_socket_dirs: &[],
    };
    let opts = ConnectOptions::parse_with("", &env).unwrap();
    assert_eq!(opts.host(), &Host::Unix(with_socket.clone()));
    // Another port: no socket anywhere, so the first existing fallback
    // directory, else localhost.
    let opts = ConnectOptions::parse_with("port=6001", &env).unwrap();
    assert_eq!(opts.host(), &Host::Tcp("localhost".into()));
    let fallback = ["/no/such/dir", a];
    let env = Env {
        fallback_socket_dirs: &fallback,
        ..env
    };
    let opts = ConnectOptions::parse_with("port=6001", &env).unwrap();
    assert_eq!(opts.host(), &Host::Unix(without.clone()));
    std::fs::remove_dir_all(with_socket).unwrap();
    std::fs::remove_dir_all(without).unwrap();
}

#[test]
fn each_environment_variable() {
    let opts = test_parse(
        "",
        &[
            ("PGHOST", "envhost"),
            ("PGHOSTADDR", "192.0.2.1"),
            ("PGPORT", "6543"),
            ("PGUSER", "envuser"),
            ("PGPASSWORD", "envpw"),
            ("PGDATABASE", "envdb"),
            ("PGAPPNAME", "envapp"),
            ("PGOPTIONS", "-c geqo=off"),
            ("PGSSLMODE", "verify-ca"),
            ("PGSSLNEGOTIATION", "direct"),
            ("PGSSLROOTCERT", "/env/root.crt"),
            ("PGSSLCERT", "/env/client.crt"),
            ("PGSSLKEY", "/env/client.key"),
            ("PGCHANNELBINDING", "require"),
            ("PGCONNECT_TIMEOUT", "7"),
            ("PGTARGETSESSIONATTRS", "read-write"),
            ("PGLOADBALANCEHOSTS", "random"),
            ("PGREQUIREAUTH", "!password"),
            ("PGPASSFILE", "/env/pgpass"),
        ],
    )
    .unwrap();
    assert_eq!(
        opts.hosts(),
        [HostSpec {
            host: Host::Tcp("envhost".into()),
            port: 6543,
            hostaddr: Some("192.0.2.1".parse::<IpAddr>().unwrap()),
        }]
    );
    assert_eq!(opts.user(), "envuser");
    assert_eq!(opts.get_password(), Some("envpw"));
    assert_eq!(opts.get_database(), Some("envdb"));
    assert_eq!(opts.get_application_name(), Some("envapp"));
    assert_eq!(opts.get_options(), Some("-c geqo=off"));
    assert_eq!(opts.get_ssl_mode(), SslMode::VerifyCa);
    assert_eq!(opts.get_ssl_negotiation(), SslNegotiation::Direct);
    assert_eq!(
        opts.get_ssl_root_cert(),
        Some(&SslRootCert::File("/env/root.crt".into()))
    );
    assert_eq!(opts.get_ssl_cert(), Some(Path::new("/env/client.crt")));
    assert_eq!(opts.get_ssl_key(), Some(Path::new("/env/client.key")));
    assert_eq!(opts.get_channel_binding(), ChannelBindingMode::Require);
    assert_eq!(opts.get_connect_timeout(), Some(Duration::from_secs(7)));
    assert_eq!(
        opts.get_target_session_attrs(),
        TargetSessionAttrs::ReadWrite
    );
    assert_eq!(opts.get_load_balance_hosts(), LoadBalanceHosts::Random);
    let require = opts.get_require_auth().unwrap();
    assert!(!require.allows(AuthMethod::Password));
    assert!(require.allows(AuthMethod::Md5));
    assert_eq!(opts.get_passfile(), Some(Path::new("/env/pgpass")));
}

#[test]
fn environment_errors_name_the_variable() {
    assert_eq!(
        err("", &[("PGSSLMODE", "sometimes")]),
        "invalid sslmode \"sometimes\" in PGSSLMODE (expected disable, allow, prefer, require, verify-ca or verify-full)"
    );
    assert_eq!(
        err("", &[("PGPORT", "x")]),
        "invalid port \"x\" in PGPORT (expected a number from 1 to 65535)"
    );
    assert_eq!(
        err("", &[("PGCONNECT_TIMEOUT", "soon")]),
        "invalid connect_timeout \"soon\" in PGCONNECT_TIMEOUT (expected a whole number of seconds)"
    );
    assert_eq!(
        err("", &[("PGHOSTADDR", "db.example.com")]),
        "invalid hostaddr \"db.example.com\" in PGHOSTADDR (expected an IP address)"
    );
    assert!(err("", &[("PGREQUIREAUTH", "md5,!password")]).contains("in PGREQUIREAUTH"));
}

#[test]
fn precedence_conninfo_then_environment_then_default() {
    let env = [
        ("PGHOST", "envhost"),
        ("PGPORT", "6000"),
        ("PGUSER", "envuser"),
        ("PGDATABASE", "envdb"),
        ("PGSSLMODE", "require"),
        ("PGAPPNAME", "envapp"),
    ];
    let opts = test_parse("host=given sslmode=disable dbname=givendb", &env).unwrap();
    assert_eq!(hosts(&opts), ["given:6000"]);
    assert_eq!(opts.user(), "envuser");
    assert_eq!(opts.get_database(), Some("givendb"));
    assert_eq!(opts.get_ssl_mode(), SslMode::Disable);
    assert_eq!(opts.get_application_name(), Some("envapp"));
    // The same through a URL.
    let opts = test_parse("postgresql://urluser@urlhost:7000", &env).unwrap();
    assert_eq!(hosts(&opts), ["urlhost:7000"]);
    assert_eq!(opts.user(), "urluser");
    assert_eq!(opts.get_database(), Some("envdb"));
    // An explicit empty value means the default, not the environment.
    let opts = test_parse("host='' port='' application_name=''", &env).unwrap();
    assert_eq!(hosts(&opts), ["localhost:5432"]);
    assert_eq!(opts.get_application_name(), None);
    // Without either, the default; the database follows the user.
    let opts = test_parse("user=someone", &[]).unwrap();
    assert_eq!(opts.get_database(), Some("someone"));
    assert_eq!(opts.get_ssl_mode(), SslMode::Prefer);
}

#[test]
fn every_enum_value_in_conninfo() {
    for (word, mode) in [
        ("disable", SslMode::Disable),
        ("allow", SslMode::Allow),
        ("prefer", SslMode::Prefer),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ] {
        let opts = test_parse(&format!("sslmode={word}"), &[]).unwrap();
        assert_eq!(opts.get_ssl_mode(), mode);
    }
    for (word, value) in [
        ("postgres", SslNegotiation::Postgres),
        ("direct", SslNegotiation::Direct),
    ] {
        let opts = test_parse(&format!("sslmode=require sslnegotiation={word}"), &[]).unwrap();
        assert_eq!(opts.get_ssl_negotiation(), value);
    }
    for (word, value) in [
        ("disable", ChannelBindingMode::Disable),
        ("prefer", ChannelBindingMode::Prefer),
        ("require", ChannelBindingMode::Require),
    ] {
        let opts = test_parse(&format!("channel_binding={word}"), &[]).unwrap();
        assert_eq!(opts.get_channel_binding(), value);
    }
    for (word, value) in [
        ("any", TargetSessionAttrs::Any),
        ("read-write", TargetSessionAttrs::ReadWrite),
        ("read-only", TargetSessionAttrs::ReadOnly),
        ("primary", TargetSessionAttrs::Primary),
        ("standby", TargetSessionAttrs::Standby),
        ("prefer-standby", TargetSessionAttrs::PreferStandby),
    ] {
        let opts = test_parse(&format!("target_session_attrs={word}"), &[]).unwrap();
        assert_eq!(opts.get_target_session_attrs(), value);
    }
    for (word, value) in [
        ("disable", LoadBalanceHosts::Disable),
        ("random", LoadBalanceHosts::Random),
    ] {
        let opts = test_parse(&format!("load_balance_hosts={word}"), &[]).unwrap();
        assert_eq!(opts.get_load_balance_hosts(), value);
    }
    let opts = test_parse("sslrootcert=system", &[]).unwrap();
    assert_eq!(opts.get_ssl_root_cert(), Some(&SslRootCert::System));
    let opts = test_parse("sslrootcert=/ca.pem sslcert=/c sslkey=/k", &[]).unwrap();
    assert_eq!(
        opts.get_ssl_root_cert(),
        Some(&SslRootCert::File("/ca.pem".into()))
    );
    assert_eq!(opts.get_ssl_cert(), Some(Path::new("/c")));
    assert_eq!(opts.get_ssl_key(), Some(Path::new("/k")));
    let opts = test_parse("require_auth=scram-sha-256,none", &[]).unwrap();
    assert!(opts.get_require_auth().unwrap().allows(AuthMethod::None));
    let opts = test_parse("passfile=/pw fallback_application_name=fb", &[]).unwrap();
    assert_eq!(opts.get_passfile(), Some(Path::new("/pw")));
    assert_eq!(opts.get_fallback_application_name(), Some("fb"));
}

#[test]
fn every_invalid_enum_value() {
    for (input, message) in [
        (
            "sslmode=Require",
            "invalid sslmode \"Require\" (expected disable, allow, prefer, require, verify-ca or verify-full)",
        ),
        (
            "sslnegotiation=tls",
            "invalid sslnegotiation \"tls\" (expected postgres or direct)",
        ),
        (
            "channel_binding=always",
            "invalid channel_binding \"always\" (expected disable, prefer or require)",
        ),
        (
            "target_session_attrs=master",
            "invalid target_session_attrs \"master\" (expected any, read-write, read-only, primary, standby or prefer-standby)",
        ),
        (
            "load_balance_hosts=round-robin",
            "invalid load_balance_hosts \"round-robin\" (expected disable or random)",
        ),
        (
            "require_auth=ldap",
            "invalid require_auth method \"ldap\" (expected password, md5, scram-sha-256, gss, sspi or none, optionally each prefixed with \"!\")",
        ),
        (
            "connect_timeout=1.5",
            "invalid connect_timeout \"1.5\" (expected a whole number of seconds)",
        ),
        (
            "port=5432x",
            "invalid port \"5432x\" (expected a number from 1 to 65535)",
        ),
        (
            "hostaddr=999.1.1.1",
            "invalid hostaddr \"999.1.1.1\" (expected an IP address)",
        ),
        (
            "client_encoding=LATIN1",
            "client_encoding \"LATIN1\" is not supported: the session is always UTF8",
        ),
        (
            "keepalives=yes",
            "invalid keepalives \"yes\" (expected a whole number)",
        ),
        (
            "sslcompression=2",
            "invalid sslcompression \"2\" (expected 0 or 1)",
        ),
        (
            "gssencmode=always",
            "invalid gssencmode \"always\" (expected disable or prefer)",
        ),
        (
            "gssencmode=require",
            "gssencmode \"require\" is not supported: GSSAPI encryption is not implemented",
        ),
    ] {
        assert_eq!(err(input, &[]), message, "{input}");
    }
}

#[test]
fn accepted_and_ignored_keys() {
    test_parse(
        "sslcompression=0 gssencmode=prefer client_encoding=UTF8",
        &[],
    )
    .unwrap();
    test_parse("gssencmode=disable client_encoding=utf-8", &[]).unwrap();
}

#[test]
fn connect_timeout_values() {
    for (value, expected) in [
        ("0", None),
        ("-3", None),
        ("", None),
        ("1", Some(1)),
        (" 30 ", Some(30)),
    ] {
        let opts = test_parse(&format!("connect_timeout='{value}'"), &[]).unwrap();
        assert_eq!(
            opts.get_connect_timeout(),
            expected.map(Duration::from_secs),
            "{value}"
        );
    }
}

#[test]
fn ssl_consistency_rules() {
    // sslrootcert=system makes verify-full the default and refuses less.
    let opts = test_parse("sslrootcert=system", &[]).unwrap();
    assert_eq!(opts.get_ssl_mode(), SslMode::VerifyFull);
    assert_eq!(
        err("sslrootcert=system sslmode=require", &[]),
        "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")"
    );
    assert!(test_parse("sslrootcert=system sslmode=verify-full", &[]).is_ok());
    // Direct TLS needs a mode that never falls back to plaintext.
    for mode in ["disable", "allow", "prefer"] {
        assert_eq!(
            err(&format!("sslnegotiation=direct sslmode={mode}"), &[]),
            format!("weak sslmode \"{mode}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\" or \"verify-full\")")
        );
    }
    assert!(err("sslnegotiation=direct", &[]).contains("\"prefer\""));
    assert!(test_parse("sslnegotiation=direct sslmode=verify-ca", &[]).is_ok());
}

#[test]
fn default_certificate_files() {
    let home = temp_dir("home");
    let dir = home.join(".postgresql");
    std::fs::create_dir_all(&dir).unwrap();
    let home_str = home.to_str().unwrap();
    let opts = test_parse("sslmode=verify-full", &[("HOME", home_str)]).unwrap();
    assert_eq!(opts.get_ssl_root_cert(), None);
    assert_eq!(opts.get_ssl_cert(), None);
    for name in ["root.crt", "postgresql.crt", "postgresql.key"] {
        std::fs::write(dir.join(name), b"pem").unwrap();
    }
    if cfg!(unix) {
        let opts = test_parse("sslmode=verify-full", &[("HOME", home_str)]).unwrap();
        assert_eq!(
            opts.get_ssl_root_cert(),
            Some(&SslRootCert::File(dir.join("root.crt")))
        );
        assert_eq!(
            opts.get_ssl_cert(),
            Some(dir.join("postgresql.crt").as_path())
        );
        assert_eq!(
            opts.get_ssl_key(),
            Some(dir.join("postgresql.key").as_path())
        );
        // root.crt is the default for every mode that may use TLS (and
        // makes them check the chain), not for disable.
        for mode in ["allow", "prefer", "require", "verify-ca"] {
            let opts = test_parse(&format!("sslmode={mode}"), &[("HOME", home_str)]).unwrap();
            assert_eq!(
                opts.get_ssl_root_cert(),
                Some(&SslRootCert::File(dir.join("root.crt"))),
                "{mode}"
            );
        }
        let opts = test_parse("", &[("HOME", home_str)]).unwrap();
        assert!(opts.get_ssl_root_cert().is_some(), "prefer, the default");
        let opts = test_parse("sslmode=disable", &[("HOME", home_str)]).unwrap();
        assert_eq!(opts.get_ssl_root_cert(), None);
        // Given values win over the files.
        let opts = test_parse(
            "sslmode=verify-ca sslrootcert=/ca sslcert=/c",
            &[("HOME", home_str)],
        )
        .unwrap();
        assert_eq!(
            opts.get_ssl_root_cert(),
            Some(&SslRootCert::File("/ca".into()))
        );
        assert_eq!(opts.get_ssl_cert(), Some(Path::new("/c")));
        assert_eq!(
            opts.get_ssl_key(),
            Some(dir.join("postgresql.key").as_path())
        );
    }
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn several_hosts_and_addresses() {
    let opts = test_parse("host=a,b,c port=1,2,3", &[]).unwrap();
    assert_eq!(hosts(&opts), ["a:1", "b:2", "c:3"]);
    let opts = test_parse("host=a,b port=9", &[]).unwrap();
    assert_eq!(hosts(&opts), ["a:9", "b:9"]);
    let opts = test_parse("host=a,/sock port=9,", &[]).unwrap();
    assert_eq!(hosts(&opts), ["a:9", "/sock/.s.PGSQL.5432"]);
    // hostaddr alone names the hosts; with host it pairs up.
    let opts = test_parse("hostaddr=127.0.0.1,::1", &[]).unwrap();
    assert_eq!(hosts(&opts), ["127.0.0.1:5432", "[::1]:5432"]);
    let opts = test_parse("host=db1,db2 hostaddr=10.0.0.1,", &[]).unwrap();
    assert_eq!(
        opts.hosts()[0].socket_addr(),
        Some("10.0.0.1:5432".parse().unwrap())
    );
    assert_eq!(opts.hosts()[0].tcp_address(), Some(("db1", 5432)));
    assert_eq!(opts.hosts()[1].hostaddr, None);
    // A socket path with a hostaddr is a TCP connection to the address.
    let opts = test_parse("host=/sock hostaddr=10.0.0.2", &[]).unwrap();
    assert_eq!(opts.host(), &Host::Tcp("10.0.0.2".into()));
    assert_eq!(
        err("host=a,b hostaddr=10.0.0.1", &[]),
        "could not match 2 host names to 1 hostaddr values"
    );
    assert_eq!(
        err("host=a,b,c port=1,2", &[]),
        "could not match 2 port numbers to 3 hosts"
    );
    // PGPORT lists follow the same rule.
    let opts = test_parse("host=a,b", &[("PGPORT", "1,2")]).unwrap();
    assert_eq!(hosts(&opts), ["a:1", "b:2"]);
    let unix = test_parse("host=/run/pg", &[]).unwrap();
    assert_eq!(
        unix.unix_socket_path(),
        Some(PathBuf::from("/run/pg/.s.PGSQL.5432"))
    );
}

#[test]
fn passfile_location() {
    let var = |name: &str| match name {
        "HOME" => Some("/home/u".to_owned()),
        _ => None,
    };
    let env = Env {
        var: &var,
        os_user: &|| None,
        socket_dirs: &[],
        fallback_socket_dirs: &[],
    };
    if cfg!(unix) {
        assert_eq!(
            super::passfile(&env),
            Some(PathBuf::from("/home/u/.pgpass"))
        );
    }
    let var = |name: &str| (name == "PGPASSFILE").then(|| "/elsewhere".to_owned());
    let env = Env { var: &var, ..env };
    assert_eq!(super::passfile(&env), Some(PathBuf::from("/elsewhere")));
}
