//! libpq's password file (`~/.pgpass`): lines of
//! `hostname:port:database:username:password`, the first match wins.

use std::path::Path;

use super::{Host, HostSpec};

/// The password of the first line of `path` that matches, if the file is
/// private enough to be trusted.
pub(super) fn lookup(path: &Path, host: &HostSpec, database: &str, user: &str) -> Option<String> {
    if !is_private_file(path) {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let hostname = match &host.host {
        Host::Tcp(name) => name.clone(),
        Host::Unix(dir) => dir.to_string_lossy().into_owned(),
    };
    let port = host.port.to_string();
    text.lines().find_map(|line| {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (fields, password) = split_line(line)?;
        let [host_field, port_field, db_field, user_field] = &fields;
        // libpq matches Unix sockets in its default directory against
        // `localhost`; any socket directory does here, since which one is
        // "default" varies between systems.
        let host_ok = host_field.matches(&hostname)
            || (matches!(host.host, Host::Unix(_)) && host_field.matches("localhost"));
        let ok = host_ok
            && port_field.matches(&port)
            && db_field.matches(database)
            && user_field.matches(user);
        // An empty password is no password, so that the server's request
        // for one fails clearly instead of sending "".
        (ok && !password.is_empty()).then_some(password)
    })
}

/// libpq ignores (with a warning) a password file that is not a plain file
/// or that its group or others may access at all.
fn is_private_file(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return false;
        }
    }
    true
}

/// One of the four matched fields.
#[derive(Debug, PartialEq, Eq)]
enum Field {
    /// `*` alone (an escaped `\*` is a literal star).
    Any,
    /// The unescaped text.
    Exact(String),
}

impl Field {
    fn matches(&self, value: &str) -> bool {
        match self {
            Field::Any => true,
            Field::Exact(text) => text == value,
        }
    }
}

/// Splits at unescaped `:`; `\` takes the next character literally. The
/// password ends at the next unescaped `:` too, as in libpq. Lines with
/// fewer than five fields match nothing.
fn split_line(line: &str) -> Option<([Field; 4], String)> {
    let mut fields: Vec<(String, bool)> = Vec::with_capacity(5);
    let mut current = String::new();
    let mut raw_star = true;
    let mut chars = line.chars();
    let mut raw_len = 0;
    while let Some(c) = chars.next() {
        match c {
            ':' => {
                fields.push((std::mem::take(&mut current), raw_star && raw_len == 1));
                raw_star = true;
                raw_len = 0;
                if fields.len() == 5 {
                    break;
                }
                continue;
            }
            '\\' => {
                raw_star = false;
                if let Some(escaped) = chars.next() {
                    current.push(escaped);
                }
            }
            c => {
                raw_star &= c == '*';
                current.push(c);
            }
        }
        raw_len += 1;
    }
    if fields.len() < 5 {
        fields.push((current, false));
    }
    let mut fields = fields.into_iter().map(
        |(text, star)| {
            if star {
                Field::Any
            } else {
                Field::Exact(text)
            }
        },
    );
    let matched = [
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    ];
    let password = match fields.next()? {
        Field::Any => "*".to_owned(),
        Field::Exact(text) => text,
    };
    Some((matched, password))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::env::{temp_dir, test_parse};
    use super::super::{ConnectOptions, HostSpec};
    use super::{lookup, split_line, Field};

    /// Writes `contents` to a fresh file with `mode` and returns its path.
    fn passfile(dir: &Path, name: &str, contents: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }

    fn find(path: &Path, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
        lookup(path, &HostSpec::new(host, port), db, user)
    }

    #[test]
    fn splits_fields_with_escapes() {
        let (fields, password) = split_line(r"h\:x:5432:*:u\\v:p\:w\\d:ignored").unwrap();
        assert_eq!(
            fields,
            [
                Field::Exact("h:x".into()),
                Field::Exact("5432".into()),
                Field::Any,
                Field::Exact(r"u\v".into())
            ]
        );
        assert_eq!(password, r"p:w\d");
        let (fields, _) = split_line(r"\*:**:*x:*:pw").unwrap();
        assert_eq!(fields[0], Field::Exact("*".into()));
        assert_eq!(fields[1], Field::Exact("**".into()));
        assert_eq!(fields[2], Field::Exact("*x".into()));
        assert_eq!(fields[3], Field::Any);
        assert_eq!(split_line("h:5432:db:user"), None);
        assert_eq!(split_line("").map(|_| ()), None);
        assert_eq!(split_line("a:b:c:d:").unwrap().1, "");
        assert_eq!(split_line("a:b:c:d:*").unwrap().1, "*");
    }

    #[test]
    fn matching_wildcards_escapes_and_first_match() {
        let dir = temp_dir("pgpass");
        let path = passfile(
            &dir,
            "pgpass",
            "# a comment\n\
             \n\
             db1:5432:shop:alice:first\r\n\
             db1:5432:shop:alice:second\n\
             db1:*:*:alice:any-port-db\n\
             *:*:*:bob:bobs\n\
             v6\\:host:5432:d:u:escaped\n\
             /run/pg:5432:*:carol:socket-dir\n\
             localhost:5432:*:dave:local\n\
             h:5432:db:empty:\n\
             short:5432:db\n",
            0o600,
        );
        assert_eq!(
            find(&path, "db1", 5432, "shop", "alice").as_deref(),
            Some("first")
        );
        assert_eq!(
            find(&path, "db1", 6000, "other", "alice").as_deref(),
            Some("any-port-db")
        );
        assert_eq!(find(&path, "db2", 5432, "shop", "alice"), None);
        assert_eq!(find(&path, "x", 1, "y", "bob").as_deref(), Some("bobs"));
        assert_eq!(
            find(&path, "v6:host", 5432, "d", "u").as_deref(),
            Some("escaped")
        );
        assert_eq!(
            find(&path, "/run/pg", 5432, "any", "carol").as_deref(),
            Some("socket-dir")
        );
        // A Unix socket also matches `localhost`; TCP matches it literally.
        assert_eq!(
            find(&path, "/run/pg", 5432, "x", "dave").as_deref(),
            Some("local")
        );
        assert_eq!(
            find(&path, "localhost", 5432, "x", "dave").as_deref(),
            Some("local")
        );
        assert_eq!(find(&path, "127.0.0.1", 5432, "x", "dave"), None);
        assert_eq!(find(&path, "/run/pg", 5432, "x", "nobody"), None);
        assert_eq!(find(&path, "h", 5432, "db", "empty"), None);
        assert_eq!(find(&path, "short", 5432, "db", "u"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn permissions_are_checked() {
        let dir = temp_dir("pgpass-perm");
        let private = passfile(&dir, "private", "*:*:*:*:pw\n", 0o600);
        assert_eq!(find(&private, "h", 5432, "d", "u").as_deref(), Some("pw"));
        if cfg!(unix) {
            for mode in [0o644, 0o640, 0o604, 0o610] {
                let open = passfile(&dir, &format!("open{mode:o}"), "*:*:*:*:pw\n", mode);
                assert_eq!(find(&open, "h", 5432, "d", "u"), None, "{mode:o}");
            }
        }
        // Not a plain file, or missing: ignored.
        assert_eq!(find(&dir, "h", 5432, "d", "u"), None);
        assert_eq!(find(&dir.join("missing"), "h", 5432, "d", "u"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn password_for_uses_the_options() {
        let dir = temp_dir("pgpass-opts");
        let path = passfile(
            &dir,
            "pgpass",
            "db:5432:shop:alice:shop-pw\n\
             db:5433:alice:alice:default-db-pw\n\
             other:5432:*:*:other-pw\n",
            0o600,
        );
        let opts = ConnectOptions::new("db", "alice")
            .database("shop")
            .passfile(&path)
            .add_host("other", 5432);
        assert_eq!(
            opts.password_for(&opts.hosts()[0]).as_deref(),
            Some("shop-pw")
        );
        assert_eq!(
            opts.password_for(&opts.hosts()[1]).as_deref(),
            Some("other-pw")
        );
        // Without a database the user name is matched, as the server does.
        let opts = ConnectOptions::new("db", "alice")
            .port(5433)
            .passfile(&path);
        assert_eq!(
            opts.password_for(&opts.hosts()[0]).as_deref(),
            Some("default-db-pw")
        );
        // The explicit password wins.
        let opts = opts.password("explicit");
        assert_eq!(
            opts.password_for(&opts.hosts()[0]).as_deref(),
            Some("explicit")
        );
        // From parsed options: the passfile option, and PGPASSWORD beats it.
        let conninfo = format!(
            "host=db user=alice dbname=shop passfile='{}'",
            path.display()
        );
        let opts = test_parse(&conninfo, &[]).unwrap();
        assert_eq!(
            opts.password_for(&opts.hosts()[0]).as_deref(),
            Some("shop-pw")
        );
        // startup_config_for carries the file's password, and hides it.
        let debug = format!("{:?}", opts.startup_config_for(&opts.hosts()[0]));
        assert!(
            debug.contains("<redacted>") && !debug.contains("shop-pw"),
            "{debug}"
        );
        let opts = test_parse(&conninfo, &[("PGPASSWORD", "env-pw")]).unwrap();
        assert_eq!(
            opts.password_for(&opts.hosts()[0]).as_deref(),
            Some("env-pw")
        );
        // PGPASSFILE names the file when the options do not.
        let env_path = path.display().to_string();
        let opts = test_parse(
            "host=db user=alice dbname=shop",
            &[("PGPASSFILE", &env_path)],
        )
        .unwrap();
        assert_eq!(
            opts.password_for(&opts.hosts()[0]).as_deref(),
            Some("shop-pw")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
