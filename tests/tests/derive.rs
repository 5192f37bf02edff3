//! The derives against the server: a real enum type, a composite type and
//! a domain through `#[derive(ToSql, FromSql)]`, structs read with
//! `#[derive(FromRow)]` (rename, flatten, NULL columns, a missing column),
//! and the query helpers on a connection, a transaction and the pool.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::TryStreamExt;
use pgwire_conn::{ColumnError, Error, FromRow, FromSql, PoolOptions, SqlState, ToSql, TypeError};
use pgwire_integration_tests::{
    assert_code, connect, options, report, runtime_tests, unique_name, Role, Runtime,
};

#[derive(Debug, Clone, Copy, PartialEq, ToSql, FromSql)]
#[pgwire(rename_all = "snake_case")]
enum Mood {
    Sad,
    VeryHappy,
    #[pgwire(rename = "MEH")]
    Meh,
}

#[derive(Debug, Clone, PartialEq, ToSql, FromSql)]
struct Item {
    id: i32,
    name: Option<String>,
    mood: Mood,
    tags: Vec<String>,
}

#[derive(Debug, PartialEq, FromSql)]
struct Pair {
    n: i32,
    s: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, ToSql, FromSql)]
#[pgwire(transparent)]
struct PosInt(i32);

#[derive(Debug, PartialEq, FromRow)]
struct Address {
    city: String,
    #[pgwire(rename = "zip_code")]
    zip: Option<String>,
}

#[derive(Debug, PartialEq, FromRow)]
struct User {
    id: i64,
    #[pgwire(rename = "full_name")]
    name: String,
    email: Option<String>,
    #[pgwire(flatten)]
    address: Address,
}

#[derive(Debug, PartialEq, FromRow)]
#[pgwire(rename_all = "camelCase")]
struct Camel {
    user_id: i32,
    display_name: String,
}

const USERS: &str = "select * from (values \
     (1::int8, 'Ada'::text, 'ada@example.com'::text, 'London'::text, 'N1'::text), \
     (2, 'Bob', null, 'Paris', null)) \
     as u(id, full_name, email, city, zip_code) order by id";

fn ada() -> User {
    User {
        id: 1,
        name: "Ada".to_owned(),
        email: Some("ada@example.com".to_owned()),
        address: Address {
            city: "London".to_owned(),
            zip: Some("N1".to_owned()),
        },
    }
}

fn bob() -> User {
    User {
        id: 2,
        name: "Bob".to_owned(),
        email: None,
        address: Address {
            city: "Paris".to_owned(),
            zip: None,
        },
    }
}

async fn enum_type_round_trips<R: Runtime>() {
    let conn = connect::<R>().await;
    let tx = conn.begin().await.unwrap();
    let mood = unique_name("mood");
    tx.execute(
        &format!("create type {mood} as enum ('sad', 'very_happy', 'MEH', 'angry')"),
        (),
    )
    .await
    .unwrap();
    for value in [Mood::Sad, Mood::VeryHappy, Mood::Meh] {
        let back: Mood = tx
            .fetch_scalar(&format!("select $1::{mood}"), (value,))
            .await
            .unwrap();
        assert_eq!(back, value);
    }
    // A table column, the label as the server reads it, arrays, NULL.
    let t = unique_name("moods");
    tx.execute(&format!("create temp table {t} (m {mood})"), ())
        .await
        .unwrap();
    tx.execute(
        &format!("insert into {t} values ($1), ($2)"),
        (Mood::VeryHappy, None::<Mood>),
    )
    .await
    .unwrap();
    let labels: Vec<(Option<String>, Option<Mood>)> = tx
        .fetch_as(
            &format!("select m::text, m from {t} order by 2 nulls last"),
            (),
        )
        .await
        .unwrap();
    assert_eq!(
        labels,
        [
            (Some("very_happy".to_owned()), Some(Mood::VeryHappy)),
            (None, None)
        ]
    );
    let all: Vec<Mood> = tx
        .fetch_scalar(&format!("select array['MEH', 'sad']::{mood}[]"), ())
        .await
        .unwrap();
    assert_eq!(all, [Mood::Meh, Mood::Sad]);
    // A label the Rust enum lacks is an error, never another variant.
    let err = tx
        .fetch_scalar::<Mood>(&format!("select 'angry'::{mood}"), ())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Column(ColumnError::Decode {
                source: TypeError::Invalid { .. },
                ..
            })
        ),
        "{err:?}"
    );
    assert!(report(&err).contains("angry"), "{}", report(&err));
    tx.rollback().await.unwrap();
}

async fn composite_type_round_trips<R: Runtime>() {
    let conn = connect::<R>().await;
    let tx = conn.begin().await.unwrap();
    let mood = unique_name("cmood");
    let item = unique_name("item");
    tx.execute(
        &format!("create type {mood} as enum ('sad', 'very_happy', 'MEH')"),
        (),
    )
    .await
    .unwrap();
    tx.execute(
        &format!("create type {item} as (id int4, name text, mood {mood}, tags text[])"),
        (),
    )
    .await
    .unwrap();
    let values = [
        Item {
            id: 7,
            name: Some("a \"quoted\", (odd) name\\".to_owned()),
            mood: Mood::VeryHappy,
            tags: vec!["x".to_owned(), "y z".to_owned(), "".to_owned()],
        },
        Item {
            id: -1,
            name: None,
            mood: Mood::Meh,
            tags: vec![],
        },
    ];
    for value in &values {
        let back: Item = tx
            .fetch_scalar(&format!("select $1::{item}"), (value.clone(),))
            .await
            .unwrap();
        assert_eq!(&back, value);
    }
    // Into a table and out, and the server's view of the fields.
    let t = unique_name("items");
    tx.execute(&format!("create temp table {t} (i {item})"), ())
        .await
        .unwrap();
    tx.execute(
        &format!("insert into {t} values ($1)"),
        (values[0].clone(),),
    )
    .await
    .unwrap();
    let (id, tags): (i32, Vec<String>) = tx
        .fetch_exactly_one_as(&format!("select (i).id, (i).tags from {t}"), ())
        .await
        .unwrap();
    assert_eq!((id, tags), (7, values[0].tags.clone()));
    let back: Item = tx
        .fetch_scalar(&format!("select i from {t}"), ())
        .await
        .unwrap();
    assert_eq!(back, values[0]);
    // An anonymous record arrives in binary, each field typed.
    let pair: Pair = tx
        .fetch_scalar("select row(5, 'five'::text)", ())
        .await
        .unwrap();
    assert_eq!(
        pair,
        Pair {
            n: 5,
            s: Some("five".to_owned())
        }
    );
    // A record of another shape is an error naming what differs.
    let err = tx
        .fetch_scalar::<Pair>("select row(5, 'five'::text, true)", ())
        .await
        .unwrap_err();
    assert!(report(&err).contains("3 fields"), "{}", report(&err));
    tx.rollback().await.unwrap();
}

async fn domain_round_trips<R: Runtime>() {
    let conn = connect::<R>().await;
    let tx = conn.begin().await.unwrap();
    let posint = unique_name("posint");
    tx.execute(
        &format!("create domain {posint} as int4 check (value > 0)"),
        (),
    )
    .await
    .unwrap();
    let back: PosInt = tx
        .fetch_scalar(&format!("select $1::{posint}"), (PosInt(5),))
        .await
        .unwrap();
    assert_eq!(back, PosInt(5));
    let t = unique_name("domains");
    tx.execute(&format!("create temp table {t} (n {posint})"), ())
        .await
        .unwrap();
    tx.execute(
        &format!("insert into {t} values ($1), ($2)"),
        (PosInt(3), None::<PosInt>),
    )
    .await
    .unwrap();
    let all: Vec<(Option<PosInt>,)> = tx
        .fetch_as(&format!("select n from {t} order by n nulls last"), ())
        .await
        .unwrap();
    assert_eq!(all, [(Some(PosInt(3)),), (None,)]);
    // The domain's check is the server's: a typed error, nothing stored.
    let sp = tx.begin().await.unwrap();
    assert_code(
        sp.execute(&format!("insert into {t} values ($1)"), (PosInt(-1),))
            .await,
        SqlState::CHECK_VIOLATION,
    );
    drop(sp);
    let count: i64 = tx
        .fetch_scalar(&format!("select count(*) from {t}"), ())
        .await
        .unwrap();
    assert_eq!(count, 2);
    tx.rollback().await.unwrap();
}

async fn from_row_by_column_name<R: Runtime>() {
    let conn = connect::<R>().await;
    assert_eq!(
        conn.fetch_as::<User>(USERS, ()).await.unwrap(),
        [ada(), bob()]
    );
    assert_eq!(
        conn.fetch_one_as::<User>(USERS, ()).await.unwrap(),
        Some(ada())
    );
    assert_eq!(
        conn.fetch_one_as::<User>(&format!("{USERS} limit 0"), ())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        conn.fetch_exactly_one_as::<User>(&format!("{USERS} offset 1"), ())
            .await
            .unwrap(),
        bob()
    );
    // Columns in any order, extra columns ignored.
    let camel: Camel = conn
        .fetch_exactly_one_as(
            r#"select 'x' as extra, 'Cat' as "displayName", 9 as "userId""#,
            (),
        )
        .await
        .unwrap();
    assert_eq!(
        camel,
        Camel {
            user_id: 9,
            display_name: "Cat".to_owned()
        }
    );
    // The typed stream.
    let mut users = conn.query_as::<User>(USERS, ()).await.unwrap();
    assert_eq!(users.try_next().await.unwrap(), Some(ada()));
    assert_eq!(users.try_next().await.unwrap(), Some(bob()));
    assert_eq!(users.try_next().await.unwrap(), None);
    assert_eq!(users.into_inner().row_count().await.unwrap(), 2);
    // Tuples by position.
    let pairs: Vec<(i32, Option<String>)> = conn
        .fetch_as("select 1, 'one' union all select 2, null order by 1", ())
        .await
        .unwrap();
    assert_eq!(pairs, [(1, Some("one".to_owned())), (2, None)]);
}

async fn missing_or_wrong_columns_are_typed_errors<R: Runtime>() {
    let conn = connect::<R>().await;
    // No zip_code column: the error names the column and the field of the
    // flattened struct that wanted it.
    let err = conn
        .fetch_one_as::<User>(
            "select 1::int8 as id, 'Ada' as full_name, null::text as email, 'London' as city",
            (),
        )
        .await
        .unwrap_err();
    match &err {
        Error::FromRow {
            target,
            field,
            column,
            source,
        } => {
            assert_eq!(
                (*target, *field, column.as_str()),
                ("Address", "zip", "zip_code")
            );
            assert_eq!(**source, ColumnError::UnknownColumn("zip_code".to_owned()));
        }
        other => panic!("{other:?}"),
    }
    let text = report(&err);
    assert!(
        text.contains("Address.zip") && text.contains("\"zip_code\""),
        "{text}"
    );
    // A column that does not convert: the column, the field, the types.
    let err = conn
        .fetch_exactly_one_as::<Camel>(r#"select 'nine' as "userId", 'Cat' as "displayName""#, ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::FromRow { field: "user_id", column, .. } if column == "userId"),
        "{err:?}"
    );
    let text = report(&err);
    assert!(
        text.contains("Camel.user_id") && text.contains("i32"),
        "{text}"
    );
    // NULL into a field that is no Option.
    let err = conn
        .fetch_exactly_one_as::<Camel>(r#"select 1 as "userId", null::text as "displayName""#, ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::FromRow { source, .. } if matches!(**source, ColumnError::Decode { source: TypeError::UnexpectedNull, .. })),
        "{err:?}"
    );
    // In the stream, the bad row is an error item.
    let mut rows = conn
        .query_as::<(i32,)>("select x from (values ('1'), ('x')) v(x)", ())
        .await
        .unwrap();
    assert!(rows.try_next().await.is_err());
    drop(rows);
    // The connection is fine.
    assert!(err.is_recoverable());
    assert_eq!(conn.fetch_scalar::<i32>("select 1", ()).await.unwrap(), 1);
}

async fn exactly_one_and_scalar<R: Runtime>() {
    let conn = connect::<R>().await;
    let row = conn.fetch_exactly_one("select 42 as n", ()).await.unwrap();
    assert_eq!(row.try_get::<i32>("n").unwrap(), 42);
    let none = conn.fetch_exactly_one("select 1 where false", ()).await;
    assert!(matches!(none, Err(Error::NoRows)), "{none:?}");
    let many = conn
        .fetch_exactly_one("select generate_series(1, 3)", ())
        .await;
    assert!(
        matches!(many, Err(Error::TooManyRows { rows: 3 })),
        "{many:?}"
    );
    assert!(many.unwrap_err().to_string().contains("3 rows"));

    assert_eq!(
        conn.fetch_scalar::<i64>("select count(*) from pg_type where oid = $1", (23u32,))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        conn.fetch_scalar::<Option<i32>>("select null::int4", ())
            .await
            .unwrap(),
        None
    );
    let null = conn.fetch_scalar::<i32>("select null::int4", ()).await;
    assert!(
        matches!(
            null,
            Err(Error::Column(ColumnError::Decode {
                source: TypeError::UnexpectedNull,
                ..
            }))
        ),
        "{null:?}"
    );
    assert!(matches!(
        conn.fetch_scalar::<i32>("select 1 where false", ()).await,
        Err(Error::NoRows)
    ));
    assert!(matches!(
        conn.fetch_scalar::<i32>("select 1 union all select 2", ())
            .await,
        Err(Error::TooManyRows { rows: 2 })
    ));
    // In a transaction too.
    let n = conn
        .with_transaction(async |tx| tx.fetch_scalar::<i32>("select 7", ()).await)
        .await
        .unwrap();
    assert_eq!(n, 7);
}

async fn pool_helpers<R: Runtime>() {
    let pool = R::open_pool(
        &options(Role::Trust, R::transport()),
        PoolOptions::new().max_size(2),
    )
    .await
    .unwrap();
    assert_eq!(
        pool.fetch_as::<User>(USERS, ()).await.unwrap(),
        [ada(), bob()]
    );
    assert_eq!(
        pool.fetch_one_as::<User>(USERS, ()).await.unwrap(),
        Some(ada())
    );
    assert_eq!(
        pool.fetch_exactly_one_as::<User>(&format!("{USERS} limit 1"), ())
            .await
            .unwrap(),
        ada()
    );
    assert!(matches!(
        pool.fetch_exactly_one(USERS, ()).await,
        Err(Error::TooManyRows { rows: 2 })
    ));
    assert_eq!(
        pool.fetch_scalar::<String>("select 'x'", ()).await.unwrap(),
        "x"
    );
    let users: Vec<User> = pool
        .query_as::<User>(USERS, ())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users, [ada(), bob()]);
    pool.close().await;
}

runtime_tests!(
    enum_type_round_trips,
    composite_type_round_trips,
    domain_round_trips,
    from_row_by_column_name,
    missing_or_wrong_columns_are_typed_errors,
    exactly_one_and_scalar,
    pool_helpers,
);
