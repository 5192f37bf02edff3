//! The test roles: the single table from which the SQL that creates them,
//! the `pg_hba.conf` that authenticates them and the environment variables
//! that tell the tests about them are all generated. Add a role here and it
//! appears everywhere.

use std::fmt::Write as _;

/// The bootstrap superuser (`initdb -U`), trusted on the socket and loopback.
pub const SUPERUSER: &str = "postgres";

/// The database the tests use; owned by the trust role.
pub const DATABASE: &str = "pgwire_test";

/// Predefined roles granted to every test role, so tests can exercise
/// `CHECKPOINT`, `pg_cancel_backend`/`pg_terminate_backend` and `SHOW`.
/// (`pg_checkpoint` is new in PostgreSQL 15; roles missing from older
/// servers are skipped.)
pub const GRANTED_ROLES: &[&str] = &["pg_checkpoint", "pg_signal_backend", "pg_read_all_settings"];

/// Extensions created in the test database when the server has them.
pub const OPTIONAL_EXTENSIONS: &[&str] = &["hstore", "citext"];

/// Loopback networks the `host*` lines of `pg_hba.conf` cover.
const LOOPBACK: [&str; 2] = ["127.0.0.1/32", "::1/128"];

/// How a role's password is stored (`password_encryption` at `CREATE ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Scram,
    Md5,
}

impl Storage {
    fn setting(self) -> &'static str {
        match self {
            Self::Scram => "scram-sha-256",
            Self::Md5 => "md5",
        }
    }
}

/// A `pg_hba.conf` authentication method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Trust,
    Password,
    Md5,
    ScramSha256,
    Cert,
}

impl Method {
    /// The keyword in `pg_hba.conf`.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Trust => "trust",
            Self::Password => "password",
            Self::Md5 => "md5",
            Self::ScramSha256 => "scram-sha-256",
            Self::Cert => "cert",
        }
    }
}

/// One test role.
#[derive(Debug, Clone, Copy)]
pub struct Role {
    /// Upper-case key for environment variables: `PGWIRE_TEST_<KEY>_USER`.
    pub key: &'static str,
    /// The role name.
    pub name: &'static str,
    /// Its password, if it has one.
    pub password: Option<&'static str>,
    /// How the password is stored (ignored without a password).
    pub storage: Storage,
    /// How it authenticates.
    pub method: Method,
    /// Only over TLS: `hostssl` lines, a `hostnossl ... reject`, no `local`.
    pub ssl_only: bool,
}

/// The table.
pub const ROLES: &[Role] = &[
    Role {
        key: "TRUST",
        name: "pgwire_trust",
        password: None,
        storage: Storage::Scram,
        method: Method::Trust,
        ssl_only: false,
    },
    Role {
        key: "PASSWORD",
        name: "pgwire_password",
        password: Some("cleartext-secret"),
        storage: Storage::Scram,
        method: Method::Password,
        ssl_only: false,
    },
    Role {
        key: "MD5",
        name: "pgwire_md5",
        password: Some("md5-secret"),
        storage: Storage::Md5,
        method: Method::Md5,
        ssl_only: false,
    },
    Role {
        key: "SCRAM",
        name: "pgwire_scram",
        password: Some("scram-secret"),
        storage: Storage::Scram,
        method: Method::ScramSha256,
        ssl_only: false,
    },
    Role {
        key: "SSL",
        name: "pgwire_ssl",
        password: Some("ssl-secret"),
        storage: Storage::Scram,
        method: Method::ScramSha256,
        ssl_only: true,
    },
    Role {
        key: "CERT",
        name: "pgwire_cert",
        password: None,
        storage: Storage::Scram,
        method: Method::Cert,
        ssl_only: true,
    },
];

/// The role that authenticates with a client certificate (its CN).
pub fn cert_role() -> Option<&'static Role> {
    ROLES.iter().find(|r| r.method == Method::Cert)
}

/// The role the standby's `pg_basebackup` and WAL receiver connect as:
/// the superuser, so no extra role (and no password) is needed.
pub const REPLICATION_USER: &str = SUPERUSER;

/// The `pg_hba.conf` database keyword for replication connections (`all`
/// does not match them).
const REPLICATION_DATABASE: &str = "replication";

/// One line of `pg_hba.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HbaEntry {
    /// `local`, `host`, `hostssl` or `hostnossl`.
    pub kind: &'static str,
    /// `all` or `replication`.
    pub database: &'static str,
    pub user: &'static str,
    /// Empty for `local`.
    pub address: &'static str,
    /// A method keyword or `reject`.
    pub method: &'static str,
}

/// The entries of `pg_hba.conf`, in order. First match wins, and a
/// connection that matches no entry is rejected.
pub fn hba_entries() -> Vec<HbaEntry> {
    let mut entries = Vec::new();
    let mut add = |kind, database, user, address, method| {
        entries.push(HbaEntry {
            kind,
            database,
            user,
            address,
            method,
        });
    };
    let trust = Method::Trust.keyword();
    add("local", "all", SUPERUSER, "", trust);
    for address in LOOPBACK {
        add("host", "all", SUPERUSER, address, trust);
    }
    // The standby is cloned over the socket and streams over it; loopback
    // is allowed too so a standby configured by TCP works the same.
    add("local", REPLICATION_DATABASE, REPLICATION_USER, "", trust);
    for address in LOOPBACK {
        add(
            "host",
            REPLICATION_DATABASE,
            REPLICATION_USER,
            address,
            trust,
        );
    }
    for role in ROLES {
        let method = role.method.keyword();
        if role.ssl_only {
            for address in LOOPBACK {
                add("hostnossl", "all", role.name, address, "reject");
                add("hostssl", "all", role.name, address, method);
            }
        } else {
            add("local", "all", role.name, "", method);
            for address in LOOPBACK {
                add("host", "all", role.name, address, method);
            }
        }
    }
    entries
}

/// `pg_hba.conf`, replacing initdb's (the standby gets a copy).
pub fn pg_hba() -> String {
    let mut out = String::from(
        "# Generated by `cargo xtask` from xtask/src/roles.rs on every start; edits are lost.\n\
         # TYPE    DATABASE    USER                 ADDRESS          METHOD\n",
    );
    for e in hba_entries() {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:<9} {:<11} {:<20} {:<16} {}",
            e.kind, e.database, e.user, e.address, e.method
        );
    }
    out
}

/// SQL, run as the superuser in the `postgres` database, that creates the
/// roles, grants and the test database.
pub fn setup_sql() -> String {
    let mut sql = String::new();
    for role in ROLES {
        match role.password {
            Some(password) => {
                sql += &format!(
                    "SET password_encryption = {};\nCREATE ROLE {} LOGIN PASSWORD {};\n",
                    literal(role.storage.setting()),
                    ident(role.name),
                    literal(password)
                );
            }
            None => sql += &format!("CREATE ROLE {} LOGIN;\n", ident(role.name)),
        }
    }
    sql += "RESET password_encryption;\n";
    let array = |items: &mut dyn Iterator<Item = &str>| {
        let items: Vec<String> = items.map(literal).collect();
        format!("ARRAY[{}]::text[]", items.join(", "))
    };
    sql += &format!(
        "DO $grant$\n\
         DECLARE g text; r text;\n\
         BEGIN\n\
         \x20 FOREACH g IN ARRAY {} LOOP\n\
         \x20   IF EXISTS (SELECT FROM pg_roles WHERE rolname = g) THEN\n\
         \x20     FOREACH r IN ARRAY {} LOOP\n\
         \x20       EXECUTE format('GRANT %I TO %I', g, r);\n\
         \x20     END LOOP;\n\
         \x20   END IF;\n\
         \x20 END LOOP;\n\
         END\n\
         $grant$;\n",
        array(&mut GRANTED_ROLES.iter().copied()),
        array(&mut ROLES.iter().map(|r| r.name)),
    );
    let owner = ROLES
        .iter()
        .find(|r| r.method == Method::Trust)
        .map_or(SUPERUSER, |r| r.name);
    sql += &format!(
        "CREATE DATABASE {} OWNER {};\n",
        ident(DATABASE),
        ident(owner)
    );
    sql
}

/// SQL run in the test database: PostgreSQL 15 no longer lets everyone
/// create objects in `public`, and the tests do.
pub fn database_sql() -> String {
    "GRANT ALL ON SCHEMA public TO PUBLIC;\n".to_string()
}

/// A quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted SQL string literal (standard_conforming_strings is on).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rendered file, split into whitespace-separated fields.
    fn hba_fields() -> Vec<Vec<String>> {
        pg_hba()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect()
    }

    #[test]
    fn every_role_has_lines_with_its_method() {
        let entries = hba_fields();
        for role in ROLES {
            let lines: Vec<_> = entries.iter().filter(|e| e[2] == role.name).collect();
            assert!(!lines.is_empty(), "{} has no pg_hba line", role.name);
            assert!(lines
                .iter()
                .any(|e| e.last().map(String::as_str) == Some(role.method.keyword())));
        }
    }

    #[test]
    fn ssl_only_roles_are_rejected_without_tls() {
        let entries = hba_fields();
        for role in ROLES.iter().filter(|r| r.ssl_only) {
            let lines: Vec<_> = entries.iter().filter(|e| e[2] == role.name).collect();
            assert!(lines
                .iter()
                .all(|e| e[0] == "hostssl" || e[0] == "hostnossl"));
            // The reject comes first so it wins for non-TLS connections.
            for address in LOOPBACK {
                let kinds: Vec<&str> = lines
                    .iter()
                    .filter(|e| e[3] == address)
                    .map(|e| e[0].as_str())
                    .collect();
                assert_eq!(kinds, ["hostnossl", "hostssl"]);
            }
        }
        assert!(entries
            .iter()
            .any(|e| e[..3] == ["hostnossl", "all", "pgwire_ssl"] && e[4] == "reject"));
        assert!(entries
            .iter()
            .any(|e| e[..3] == ["hostssl", "all", "pgwire_cert"] && e[4] == "cert"));
    }

    #[test]
    fn other_roles_work_on_socket_and_both_loopbacks() {
        let entries = hba_fields();
        let md5: Vec<_> = entries.iter().filter(|e| e[2] == "pgwire_md5").collect();
        assert_eq!(md5.len(), 3);
        assert_eq!(md5[0], &["local", "all", "pgwire_md5", "md5"]);
        assert_eq!(
            md5[1],
            &["host", "all", "pgwire_md5", "127.0.0.1/32", "md5"]
        );
        assert_eq!(md5[2], &["host", "all", "pgwire_md5", "::1/128", "md5"]);
        let superuser: Vec<_> = entries
            .iter()
            .filter(|e| e[1] == "all" && e[2] == SUPERUSER)
            .collect();
        assert!(superuser
            .iter()
            .all(|e| e.last().map(String::as_str) == Some("trust")));
        assert_eq!(superuser.len(), 3);
    }

    #[test]
    fn replication_is_trusted_for_the_superuser_only() {
        let entries = hba_fields();
        let replication: Vec<_> = entries.iter().filter(|e| e[1] == "replication").collect();
        assert_eq!(
            replication,
            [
                &["local", "replication", "postgres", "trust"][..],
                &["host", "replication", "postgres", "127.0.0.1/32", "trust"][..],
                &["host", "replication", "postgres", "::1/128", "trust"][..],
            ]
        );
        // Every other line is for ordinary connections.
        assert!(entries
            .iter()
            .all(|e| e[1] == "all" || e[1] == "replication"));
        assert_eq!(REPLICATION_USER, SUPERUSER);
    }

    #[test]
    fn rendered_lines_match_the_entries() {
        let rendered = hba_fields();
        let entries = hba_entries();
        assert_eq!(rendered.len(), entries.len());
        for (fields, e) in rendered.iter().zip(&entries) {
            let expected: Vec<&str> = [e.kind, e.database, e.user, e.address, e.method]
                .into_iter()
                .filter(|f| !f.is_empty())
                .collect();
            assert_eq!(fields, &expected);
        }
    }

    #[test]
    fn md5_role_is_stored_as_md5() {
        let sql = setup_sql();
        let set_md5 = sql.find("SET password_encryption = 'md5'");
        let create = sql.find("CREATE ROLE \"pgwire_md5\" LOGIN PASSWORD 'md5-secret'");
        assert!(set_md5.is_some() && create.is_some() && set_md5 < create);
        assert!(sql.contains("CREATE ROLE \"pgwire_cert\" LOGIN;"));
        assert!(sql.contains("CREATE DATABASE \"pgwire_test\" OWNER \"pgwire_trust\";"));
    }

    #[test]
    fn quoting() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn keys_and_names_are_unique() {
        for (i, a) in ROLES.iter().enumerate() {
            for b in &ROLES[i + 1..] {
                assert_ne!(a.key, b.key);
                assert_ne!(a.name, b.name);
            }
        }
        assert_eq!(cert_role().map(|r| r.name), Some("pgwire_cert"));
    }
}
