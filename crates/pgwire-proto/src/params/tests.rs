use super::*;
use proptest::prelude::*;

fn rewrite(sql: &str) -> (String, Vec<String>) {
    let named = rewrite_named(sql).unwrap_or_else(|e| panic!("{sql:?}: {e}"));
    (named.sql, named.names)
}

fn unterminated(sql: &str) -> (&'static str, usize) {
    match rewrite_named(sql) {
        Err(ParamError::Unterminated { what, position }) => {
            assert_eq!(
                max_positional(sql),
                Err(ParamError::Unterminated { what, position })
            );
            (what, position)
        }
        other => panic!("{sql:?}: expected Unterminated, got {other:?}"),
    }
}

#[test]
fn simple_rewrite_reuses_numbers() {
    let (sql, names) = rewrite("select :a, :b, :a");
    assert_eq!(sql, "select $1, $2, $1");
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn names_with_digits_and_underscores() {
    let (sql, names) = rewrite("where id = :user_id and x = :_x2+:y");
    assert_eq!(sql, "where id = $1 and x = $2+$3");
    assert_eq!(names, ["user_id", "_x2", "y"]);
}

#[test]
fn skips_every_quoting_and_comment_context() {
    let input = "select ':x', E'\\':x', \"col:x\", $$ :x $$, $tag$ :x $$ still $tag$, -- :x\n\
                 /* /* :x */ :y */ 1::int, :x::text";
    let (sql, names) = rewrite(input);
    let expected = "select ':x', E'\\':x', \"col:x\", $$ :x $$, $tag$ :x $$ still $tag$, -- :x\n\
                    /* /* :x */ :y */ 1::int, $1::text";
    assert_eq!(sql, expected);
    assert_eq!(names, ["x"]);
}

#[test]
fn positional_text_inside_skipped_contexts_is_not_a_parameter() {
    let input = "select '$1', E'\\'$2', e'$3\\\\', \"c$4\", $$ $5 $$, $t$ $6 $t$, -- $7\n\
                 /* $8 /* $9 */ $10 */ U&'$11', U&\"$12\", B'1', X'1f', N'$13', :a";
    assert_eq!(max_positional(input), Ok(0));
    let (sql, names) = rewrite(input);
    assert!(sql.ends_with(", $1"), "{sql}");
    assert_eq!(names, ["a"]);
}

#[test]
fn backslash_is_not_an_escape_in_plain_strings() {
    // Standard-conforming: 'a\' is a complete string, so :x is live.
    let (sql, names) = rewrite(r"select 'a\', :x");
    assert_eq!(sql, r"select 'a\', $1");
    assert_eq!(names, ["x"]);
    // In E strings it is: the string runs on to the second quote.
    let (sql, names) = rewrite(r"select E'a\', :x', :y");
    assert_eq!(sql, r"select E'a\', :x', $1");
    assert_eq!(names, ["y"]);
    // An escaped backslash does not escape the quote after it.
    let (sql, _) = rewrite(r"select e'\\', :y");
    assert_eq!(sql, r"select e'\\', $1");
}

#[test]
fn doubled_quotes_stay_inside() {
    let (sql, names) = rewrite(r#"select 'it''s :x', "a "":y"" b", E'''' || :z"#);
    assert_eq!(sql, r#"select 'it''s :x', "a "":y"" b", E'''' || $1"#);
    assert_eq!(names, ["z"]);
}

#[test]
fn e_inside_an_identifier_does_not_start_an_escape_string() {
    // `nameE` is an identifier, so the string is plain and ends at the
    // second quote despite the backslash.
    let (sql, names) = rewrite(r"select nameE'\', :x");
    assert_eq!(sql, r"select nameE'\', $1");
    assert_eq!(names, ["x"]);
}

#[test]
fn assignment_and_slices_are_left_alone() {
    assert_eq!(rewrite("x:=1").0, "x:=1");
    assert_eq!(rewrite("x := :v").0, "x := $1");
    assert_eq!(
        rewrite("select a[1:2], a[:3], a[lo: hi]").0,
        "select a[1:2], a[:3], a[lo: hi]"
    );
    assert!(rewrite("select a[1:2]").1.is_empty());
}

#[test]
fn parameter_counts_are_capped_at_65535() {
    assert_eq!(check_count(65_535), Ok(()));
    assert_eq!(
        check_count(65_536),
        Err(ParamError::TooMany { count: 65_536 })
    );
    assert_eq!(
        check_positional("select $1", 65_536),
        Err(ParamError::TooMany { count: 65_536 })
    );
    let names = |n: usize| {
        (0..n)
            .map(|i| format!(":p{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    // Each name once and each twice: tens of thousands of names take a
    // moment, not a quadratic search.
    let sql = format!("select {}, {0}", names(65_535));
    let named = rewrite_named(&sql).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(named.names.len(), 65_535);
    assert_eq!(max_positional(&named.sql), Ok(65_535));
    assert!(named.sql.starts_with("select $1,$2,"));
    assert!(named.sql.ends_with(",$65534,$65535"));
    let given: Vec<String> = (0..65_535).rev().map(|i| format!("p{i}")).collect();
    let order = named.order(given.iter().map(String::as_str));
    assert_eq!(order, Ok((0..65_535).rev().collect::<Vec<_>>()));
    assert_eq!(
        rewrite_named(&names(65_536)),
        Err(ParamError::TooMany { count: 65_536 })
    );
    assert!(ParamError::TooMany { count: 65_536 }
        .to_string()
        .contains("65535"));
}

#[test]
fn casts_are_not_placeholders() {
    let (sql, names) = rewrite("select x::int, :v::numeric(10,2), y :: text");
    assert_eq!(sql, "select x::int, $1::numeric(10,2), y :: text");
    assert_eq!(names, ["v"]);
}

#[test]
fn dollar_inside_identifiers() {
    // `foo$bar$` is an identifier, not the start of a dollar quote, and
    // `x$1` is an identifier, not a parameter.
    assert_eq!(max_positional("select foo$bar$, x$1 from t"), Ok(0));
    let (sql, names) = rewrite("select foo$bar$ + :a, x$1");
    assert_eq!(sql, "select foo$bar$ + $1, x$1");
    assert_eq!(names, ["a"]);
    // A lone `$` or an unclosed tag is not a quote.
    assert_eq!(max_positional("select $ $abc , $2"), Ok(2));
}

#[test]
fn dollar_quote_tags_must_match_exactly() {
    let input = "select $a$ $b$ :x $$ $A$ $a$, :y";
    let (sql, names) = rewrite(input);
    assert_eq!(sql, "select $a$ $b$ :x $$ $A$ $a$, $1");
    assert_eq!(names, ["y"]);
    // Tags may contain digits after the first character.
    assert_eq!(max_positional("select $t1$ $5 $t1$ + $2"), Ok(2));
}

#[test]
fn unicode_around_placeholders() {
    let (sql, names) = rewrite("select 'é' || :name || '→', \"ünï\" = :ünï, :名前");
    assert_eq!(sql, "select 'é' || $1 || '→', \"ünï\" = $2, $3");
    assert_eq!(names, ["name", "ünï", "名前"]);
    // Every non-ASCII character is a letter to PostgreSQL, so the name
    // runs on: `$1→b` would be trailing junk after a parameter.
    let (sql, names) = rewrite(":a→b + :c");
    assert_eq!(sql, "$1 + $2");
    assert_eq!(names, ["a→b", "c"]);
    // Non-ASCII identifiers may contain `$`.
    assert_eq!(max_positional("select é$1"), Ok(0));
}

#[test]
fn line_comment_ends_at_carriage_return_too() {
    assert_eq!(rewrite("-- :a\r:b").0, "-- :a\r$1");
    assert_eq!(rewrite("select 1 -- :a").0, "select 1 -- :a");
}

#[test]
fn nested_block_comments() {
    assert_eq!(
        rewrite("/* a /* b */ :still */ :x").0,
        "/* a /* b */ :still */ $1"
    );
    // `/*/` opens a comment and does not close it.
    assert_eq!(unterminated("/*/ :x"), ("block comment", 0));
}

#[test]
fn mixing_styles_is_an_error() {
    assert_eq!(rewrite_named("select $1, :a"), Err(ParamError::MixedStyles));
    assert_eq!(rewrite_named("select :a, $1"), Err(ParamError::MixedStyles));
    // Positional alone is handed back unchanged.
    assert_eq!(
        rewrite_named("select $1"),
        Ok(NamedSql {
            sql: "select $1".into(),
            names: vec![]
        })
    );
}

#[test]
fn unterminated_regions_report_their_start() {
    assert_eq!(unterminated("select :a, 'abc"), ("string literal", 11));
    assert_eq!(unterminated("select E'abc\\'"), ("string literal", 7));
    assert_eq!(unterminated("select e'\\"), ("string literal", 7));
    assert_eq!(unterminated("select \"col"), ("quoted identifier", 7));
    assert_eq!(
        unterminated("select $tag$ body $ta$"),
        ("dollar-quoted string", 7)
    );
    assert_eq!(unterminated("select $$"), ("dollar-quoted string", 7));
    assert_eq!(unterminated("select /* /* */"), ("block comment", 7));
    assert_eq!(unterminated("'"), ("string literal", 0));
}

#[test]
fn rowless_statements_are_told_apart() {
    for rowless in [
        "create table t (a int)",
        "INSERT INTO t VALUES (1)",
        " /* x */ update t set a = 2 where a = 'returning'",
        "set search_path = x",
        "begin",
        "vacuum analyze t",
        "delete from t -- returning",
    ] {
        assert!(!may_return_rows(rowless), "{rowless:?}");
    }
    for rows in [
        "select 1",
        "with x as (delete from t returning a) select * from x",
        "insert into t values (1) RETURNING a",
        "values (1)",
        "show search_path",
        "explain select 1",
        "fetch 10 from c",
        "",
        "insert into t values ('unterminated",
    ] {
        assert!(may_return_rows(rows), "{rows:?}");
    }
}

#[test]
fn copy_from_stdin_is_found_in_any_statement() {
    for copy in [
        "copy t from stdin",
        "COPY t (a, b) FROM STDIN WITH (FORMAT csv)",
        "  /* c */ -- x\n copy t from stdin",
        "select 1; copy t from stdin;",
        "copy (select 1) to stdout; copy t from StdIn",
    ] {
        assert!(copies_from_stdin(copy), "{copy:?}");
    }
    for other in [
        "copy t to stdout",
        "copy t from '/tmp/stdin'",
        "select 'copy t from stdin'",
        "select stdin from copy",
        "select 1 -- copy t from stdin",
        "create table copy (stdin int)",
        "",
    ] {
        assert!(!copies_from_stdin(other), "{other:?}");
    }
}

#[test]
fn statements_are_counted_outside_quotes_and_comments() {
    for one in [
        "",
        "select 1",
        "select 1;",
        "select 1 ; \n\t ",
        "select ';', \";\" from t",
        "select $$ a; b $$, $x$;$x$",
        "select 1 -- a; b\n",
        "select 1 /* a; /* b; */ c; */",
        "select E'\\'; x'",
    ] {
        assert!(!has_several_statements(one), "{one:?}");
    }
    for several in [
        "select 1; select 2",
        "create table t (a int);insert into t values (1)",
        "select 1;;select 2",
        "select 1; -- trailing comment counts as more",
        "select 'unterminated",
    ] {
        assert!(has_several_statements(several), "{several:?}");
    }
}

#[test]
fn max_positional_ignores_quoted_text() {
    assert_eq!(max_positional("select $1, $3, '$7', $$ $9 $$"), Ok(3));
    assert_eq!(max_positional("select 1"), Ok(0));
    assert_eq!(max_positional(""), Ok(0));
    assert_eq!(max_positional("select $65535"), Ok(65535));
    assert_eq!(max_positional("select $1_2"), Ok(12));
    assert_eq!(max_positional("select :a, $2"), Ok(2));
}

#[test]
fn invalid_positional_numbers() {
    assert_eq!(
        max_positional("select $0"),
        Err(ParamError::InvalidPositional { position: 7 })
    );
    assert_eq!(
        max_positional("select 1, $65536"),
        Err(ParamError::InvalidPositional { position: 10 })
    );
    assert_eq!(
        max_positional("$99999999999999999999999999"),
        Err(ParamError::InvalidPositional { position: 0 })
    );
    assert_eq!(
        rewrite_named(":a, $00"),
        Err(ParamError::InvalidPositional { position: 4 })
    );
}

#[test]
fn check_positional_counts() {
    assert_eq!(check_positional("select $1, $2", 2), Ok(()));
    assert_eq!(check_positional("select 1", 0), Ok(()));
    assert_eq!(
        check_positional("select $1, $3", 2),
        Err(ParamError::PositionalCount {
            expected: 3,
            given: 2
        })
    );
    assert_eq!(
        check_positional("select '$1'", 1),
        Err(ParamError::PositionalCount {
            expected: 0,
            given: 1
        })
    );
}

#[test]
fn order_maps_names_to_given_indices() {
    let named = rewrite_named("select :b, :a, :b, :c").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(named.names, ["b", "a", "c"]);
    assert_eq!(named.order(["a", "b", "c"]), Ok(vec![1, 0, 2]));
    assert_eq!(named.order(["c", "a", "b"]), Ok(vec![2, 1, 0]));
    assert_eq!(
        named.order(["a", "b"]),
        Err(ParamError::MissingValue("c".into()))
    );
    assert_eq!(
        named.order(["a", "b", "c", "d"]),
        Err(ParamError::UnusedValue("d".into()))
    );
    assert_eq!(
        named.order(["a", "b", "a", "c"]),
        Err(ParamError::DuplicateName("a".into()))
    );
    let empty = rewrite_named("select 1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(empty.order([]), Ok(vec![]));
    assert_eq!(empty.order(["x"]), Err(ParamError::UnusedValue("x".into())));
}

#[test]
fn display_names_the_parameter() {
    assert_eq!(
        ParamError::MissingValue("user_id".into()).to_string(),
        "no value for parameter :user_id"
    );
    assert!(ParamError::UnusedValue("x".into())
        .to_string()
        .contains(":x"));
    assert!(ParamError::DuplicateName("x".into())
        .to_string()
        .contains(":x"));
    assert_eq!(
        ParamError::Unterminated {
            what: "block comment",
            position: 3
        }
        .to_string(),
        "unterminated block comment starting at byte 3"
    );
    let e: Box<dyn std::error::Error> = Box::new(ParamError::MixedStyles);
    assert!(e.to_string().contains("mixes"));
}

/// SQL-ish fragments that are each lexically complete, to build valid
/// statements from.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_$]{0,6}",
        ":[a-z_][a-z0-9_]{0,4}",
        "'[^']{0,6}'",
        "\"[^\"]{0,6}\"",
        "--[^\n\r]{0,6}\n",
        "/\\*[a-z :$']{0,6}\\*/",
        "\\$\\$[a-z :']{0,6}\\$\\$",
        Just("::int".to_owned()),
        Just(":=".to_owned()),
        Just("a[1:2]".to_owned()),
        Just("é".to_owned()),
        "[0-9]{1,3}",
    ]
}

proptest! {
    #[test]
    fn never_panics(sql in any::<String>()) {
        let _ = max_positional(&sql);
        let _ = check_positional(&sql, 3);
        if let Ok(named) = rewrite_named(&sql) {
            let _ = named.order(named.names.iter().map(String::as_str));
        }
    }

    #[test]
    fn never_panics_on_sql_like_text(sql in "[a-zA-Z0-9_$:'\"\\\\/*\\-\n\r é→\\[\\]=]{0,48}") {
        let _ = max_positional(&sql);
        let _ = check_positional(&sql, 1);
        let _ = rewrite_named(&sql);
    }

    #[test]
    fn text_without_colons_is_unchanged(sql in "[^:]{0,64}") {
        match rewrite_named(&sql) {
            Ok(named) => {
                prop_assert_eq!(named.sql, sql);
                prop_assert!(named.names.is_empty());
            }
            Err(e) => {
                let expected = matches!(
                    e,
                    ParamError::Unterminated { .. } | ParamError::InvalidPositional { .. }
                );
                prop_assert!(expected, "unexpected error {:?}", e);
            }
        }
    }

    #[test]
    fn rewritten_statements_use_one_number_per_name(
        parts in proptest::collection::vec(fragment(), 0..12)
    ) {
        let sql = parts.join(" ");
        let named = rewrite_named(&sql).map_err(|e| TestCaseError::fail(format!("{sql:?}: {e}")))?;
        prop_assert_eq!(max_positional(&named.sql), Ok(named.names.len()));
        let order = named.order(named.names.iter().rev().map(String::as_str));
        let n = named.names.len();
        prop_assert_eq!(order, Ok((0..n).rev().collect::<Vec<_>>()));
    }
}
