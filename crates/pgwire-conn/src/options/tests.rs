use super::*;

#[test]
fn new_keeps_the_single_host_behaviour() {
    let opts = ConnectOptions::new("db.example.com", "alice")
        .port(6543)
        .database("shop")
        .application_name("app")
        .options("-c search_path=x");
    assert_eq!(opts.host(), &Host::Tcp("db.example.com".into()));
    assert_eq!(opts.get_port(), 6543);
    assert_eq!(opts.user(), "alice");
    assert_eq!(opts.tcp_address(), Some(("db.example.com", 6543)));
    assert_eq!(opts.unix_socket_path(), None);
    assert_eq!(opts.describe_target(), "db.example.com:6543");
    assert_eq!(opts.get_database(), Some("shop"));
    assert_eq!(opts.get_password(), None);
    assert_eq!(opts.hosts().len(), 1);
    assert_eq!(opts.get_ssl_mode(), SslMode::Prefer);
    assert_eq!(opts.get_ssl_negotiation(), SslNegotiation::Postgres);
    assert_eq!(opts.get_channel_binding(), ChannelBindingMode::Prefer);
    assert_eq!(opts.get_target_session_attrs(), TargetSessionAttrs::Any);
    assert_eq!(opts.get_load_balance_hosts(), LoadBalanceHosts::Disable);
    assert_eq!(opts.startup_config().user(), "alice");
}

#[test]
fn port_and_add_host_refer_to_the_right_hosts() {
    let opts = ConnectOptions::new("a", "u")
        .add_host("/sock", 5433)
        .port(7000);
    assert_eq!(opts.get_port(), 7000);
    assert_eq!(opts.hosts()[1].port, 5433);
    assert_eq!(
        opts.hosts()[1].unix_socket_path(),
        Some(PathBuf::from("/sock/.s.PGSQL.5433"))
    );
    let spec = HostSpec {
        host: Host::Tcp("db".into()),
        port: 5432,
        hostaddr: Some("10.0.0.1".parse().unwrap()),
    };
    let opts = opts.add_host_spec(spec);
    assert_eq!(
        opts.hosts()[2].socket_addr(),
        Some("10.0.0.1:5432".parse().unwrap())
    );
    assert_eq!(opts.hosts()[2].tcp_address(), Some(("db", 5432)));
}

#[test]
fn builders_and_getters() {
    let opts = ConnectOptions::new("h", "u")
        .ssl_mode(SslMode::VerifyFull)
        .ssl_root_cert(SslRootCert::System)
        .ssl_cert("/c.crt")
        .ssl_key("/c.key")
        .ssl_negotiation(SslNegotiation::Direct)
        .channel_binding(ChannelBindingMode::Require)
        .require_auth(RequireAuth::parse("scram-sha-256").unwrap())
        .connect_timeout(Duration::from_secs(3))
        .target_session_attrs(TargetSessionAttrs::Primary)
        .load_balance_hosts(LoadBalanceHosts::Random)
        .passfile("/pgpass")
        .fallback_application_name("fallback");
    assert_eq!(opts.get_ssl_mode(), SslMode::VerifyFull);
    assert_eq!(opts.get_ssl_root_cert(), Some(&SslRootCert::System));
    assert_eq!(opts.get_ssl_cert(), Some(Path::new("/c.crt")));
    assert_eq!(opts.get_ssl_key(), Some(Path::new("/c.key")));
    assert_eq!(opts.get_ssl_negotiation(), SslNegotiation::Direct);
    assert_eq!(opts.get_channel_binding(), ChannelBindingMode::Require);
    assert!(opts
        .get_require_auth()
        .unwrap()
        .allows(AuthMethod::ScramSha256));
    assert_eq!(opts.get_connect_timeout(), Some(Duration::from_secs(3)));
    assert_eq!(opts.get_target_session_attrs(), TargetSessionAttrs::Primary);
    assert_eq!(opts.get_load_balance_hosts(), LoadBalanceHosts::Random);
    assert_eq!(opts.get_passfile(), Some(Path::new("/pgpass")));
    assert!(opts.get_tls_config().is_none());
    assert_eq!(
        opts.clone()
            .connect_timeout(Duration::ZERO)
            .get_connect_timeout(),
        None
    );
    // fallback_application_name is what is sent without application_name.
    let debug = format!("{:?}", opts.startup_config());
    assert!(debug.contains("fallback"), "{debug}");
    let debug = format!("{:?}", opts.application_name("main").startup_config());
    assert!(
        debug.contains("main") && !debug.contains("fallback"),
        "{debug}"
    );
}

#[test]
fn host_spec_describe() {
    assert_eq!(HostSpec::new("::1", 5432).describe(), "[::1]:5432");
    assert_eq!(
        HostSpec::new("127.0.0.1", 5433).describe(),
        "127.0.0.1:5433"
    );
    assert_eq!(
        HostSpec::new("/no/such/dir", 6000).describe(),
        "/no/such/dir/.s.PGSQL.6000"
    );
    assert_eq!(
        HostSpec::new("/no/such/dir/.s.PGSQL.7", 6000).describe(),
        "/no/such/dir/.s.PGSQL.7"
    );
    let dir = std::env::temp_dir();
    let spec = HostSpec::new(dir.to_str().unwrap(), 5432);
    assert_eq!(spec.unix_socket_path(), Some(dir.join(".s.PGSQL.5432")));
    assert_eq!(spec.tcp_address(), None);
    assert_eq!(spec.socket_addr(), None);
}

#[test]
fn debug_never_shows_the_password() {
    let opts = ConnectOptions::new("h", "u")
        .password("hunter2")
        .add_host("h2", 1)
        .require_auth(RequireAuth::parse("password").unwrap());
    let debug = format!("{opts:?} {:#?} {:?}", opts, opts.startup_config());
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("<redacted>"));
    let debug = format!("{:?}", opts.startup_config_for(&opts.hosts()[1]));
    assert!(!debug.contains("hunter2"), "{debug}");
    // The same holds for options parsed from a URL, a conninfo string and
    // the environment.
    for parsed in [
        env::test_parse("postgresql://u:hunter2@h/db", &[]),
        env::test_parse("password=hunter2", &[]),
        env::test_parse("", &[("PGPASSWORD", "hunter2")]),
    ] {
        let parsed = parsed.unwrap();
        assert_eq!(parsed.get_password(), Some("hunter2"));
        let debug = format!("{parsed:?} {parsed:#?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}

#[test]
fn require_auth_parsing() {
    let positive = RequireAuth::parse("password,md5").unwrap();
    assert!(positive.allows(AuthMethod::Password));
    assert!(positive.allows(AuthMethod::Md5));
    assert!(!positive.allows(AuthMethod::ScramSha256));
    assert!(!positive.allows(AuthMethod::None));
    assert_eq!(positive.to_string(), "password,md5");

    let negative = RequireAuth::parse("!password,!md5").unwrap();
    assert!(!negative.allows(AuthMethod::Password));
    assert!(!negative.allows(AuthMethod::Md5));
    assert!(negative.allows(AuthMethod::ScramSha256));
    assert!(negative.allows(AuthMethod::None));
    assert!(negative.allows(AuthMethod::Gss));
    assert_eq!(negative.to_string(), "!password,!md5");

    let with_none = RequireAuth::parse("none,scram-sha-256").unwrap();
    assert!(with_none.allows(AuthMethod::None));
    let not_none = RequireAuth::parse("!none").unwrap();
    assert!(!not_none.allows(AuthMethod::None));
    assert!(not_none.allows(AuthMethod::Sspi));

    for (input, message) in [
        (
            "password,!md5",
            "require_auth method \"!md5\" cannot be mixed with non-negated methods",
        ),
        (
            "!password,md5",
            "require_auth method \"md5\" cannot be mixed with negated methods",
        ),
        (
            "md5,md5",
            "require_auth method \"md5\" is listed more than once",
        ),
        ("kerberos", "invalid require_auth method \"kerberos\""),
        ("", "invalid require_auth method \"\""),
        ("md5,", "invalid require_auth method \"\""),
        ("!", "invalid require_auth method \"\""),
    ] {
        let err = RequireAuth::parse(input).unwrap_err().to_string();
        assert!(err.starts_with(message), "{input}: {err}");
    }
    assert_eq!(
        "gss,sspi".parse::<RequireAuth>().unwrap(),
        RequireAuth::parse("gss, sspi").unwrap()
    );
}

#[test]
fn keyword_enums_round_trip() {
    for mode in [
        SslMode::Disable,
        SslMode::Allow,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ] {
        assert_eq!(mode.to_string().parse::<SslMode>(), Ok(mode));
    }
    assert_eq!("direct".parse(), Ok(SslNegotiation::Direct));
    assert_eq!(
        "prefer-standby".parse(),
        Ok(TargetSessionAttrs::PreferStandby)
    );
    assert_eq!(AuthMethod::ScramSha256.as_str(), "scram-sha-256");
    assert_eq!(
        "Require".parse::<SslMode>().unwrap_err().to_string(),
        "invalid sslmode \"Require\" (expected disable, allow, prefer, require, verify-ca or verify-full)"
    );
}

#[test]
fn protocol_versions_default_to_3_0_as_in_libpq_18() {
    let opts = env::test_parse("host=db", &[]).unwrap();
    assert_eq!(opts.get_min_protocol_version(), ProtocolVersion::V3_0);
    assert_eq!(opts.get_max_protocol_version(), ProtocolVersion::V3_0);
    let config = opts.startup_config();
    assert_eq!(config.get_min_protocol_version(), ProtocolVersion::V3_0);
    assert_eq!(config.get_max_protocol_version(), ProtocolVersion::V3_0);
    // A minimum above 3.0 makes the unset maximum the latest.
    let opts = ConnectOptions::new("db", "u").min_protocol_version(ProtocolVersion::V3_2);
    assert_eq!(opts.get_max_protocol_version(), ProtocolVersion::LATEST);
    assert_eq!(
        opts.startup_config().get_max_protocol_version(),
        ProtocolVersion::V3_2
    );
}

#[test]
fn protocol_versions_parse_from_every_form() {
    for conninfo in [
        "host=db min_protocol_version=3.0 max_protocol_version=latest",
        "postgresql://db/?min_protocol_version=3.0&max_protocol_version=3.2",
    ] {
        let opts = env::test_parse(conninfo, &[]).unwrap();
        assert_eq!(opts.get_min_protocol_version(), ProtocolVersion::V3_0);
        assert_eq!(
            opts.get_max_protocol_version(),
            ProtocolVersion::V3_2,
            "{conninfo}"
        );
        assert_eq!(
            opts.startup_config().get_max_protocol_version(),
            ProtocolVersion::V3_2
        );
    }
    let opts = env::test_parse(
        "host=db",
        &[
            ("PGMINPROTOCOLVERSION", "3.2"),
            ("PGMAXPROTOCOLVERSION", "latest"),
        ],
    )
    .unwrap();
    assert_eq!(opts.get_min_protocol_version(), ProtocolVersion::V3_2);
    assert_eq!(opts.get_max_protocol_version(), ProtocolVersion::V3_2);
    // The string beats the environment.
    let opts = env::test_parse(
        "host=db max_protocol_version=3.0",
        &[("PGMAXPROTOCOLVERSION", "latest")],
    )
    .unwrap();
    assert_eq!(opts.get_max_protocol_version(), ProtocolVersion::V3_0);
}

#[test]
fn bad_protocol_versions_are_refused_at_parse_time() {
    let cases = [
        (
            "host=db max_protocol_version=3.1",
            &[][..],
            r#"invalid max_protocol_version "3.1" (expected 3.0, 3.2 or latest)"#,
        ),
        (
            "postgresql://db/?min_protocol_version=4",
            &[][..],
            r#"invalid min_protocol_version "4" in URL (expected 3.0, 3.2 or latest)"#,
        ),
        (
            "host=db",
            &[("PGMAXPROTOCOLVERSION", "newest")][..],
            r#"invalid max_protocol_version "newest" in PGMAXPROTOCOLVERSION (expected 3.0, 3.2 or latest)"#,
        ),
        (
            "host=db min_protocol_version=latest max_protocol_version=3.0",
            &[][..],
            r#""min_protocol_version" (3.2) is greater than "max_protocol_version" (3.0)"#,
        ),
        (
            "host=db max_protocol_version=3.0",
            &[("PGMINPROTOCOLVERSION", "3.2")][..],
            r#""min_protocol_version" (3.2) is greater than "max_protocol_version" (3.0)"#,
        ),
    ];
    for (conninfo, vars, message) in cases {
        let err = env::test_parse(conninfo, vars).unwrap_err();
        assert_eq!(err.to_string(), message, "{conninfo}");
    }
}

#[test]
fn min_above_max_from_the_builder_fails_the_startup() {
    let opts = ConnectOptions::new("db", "u")
        .min_protocol_version(ProtocolVersion::V3_2)
        .max_protocol_version(ProtocolVersion::V3_0);
    let mut machine = pgwire_proto::Machine::new();
    assert!(matches!(
        machine.start(&opts.startup_config()),
        Err(pgwire_proto::Error::ProtocolVersion(
            pgwire_proto::ProtocolVersionError::MinAboveMax { .. }
        ))
    ));
}
