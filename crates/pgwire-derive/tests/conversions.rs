//! The derived conversions, without a server: enums, composites and
//! newtypes encoded and decoded as the server would send and read them.

use bytes::{BufMut, BytesMut};
use pgwire_conn::types::oid;
use pgwire_conn::types::Encoded;
use pgwire_conn::{Format, FromSql, Oid, ToSql, TypeError};

const MOOD: Oid = 16_390;
const ITEM: Oid = 16_400;

#[derive(Debug, Clone, Copy, PartialEq, ToSql, FromSql)]
#[pgwire(rename_all = "snake_case")]
enum Mood {
    Sad,
    VeryHappy,
    #[pgwire(rename = "MEH")]
    Meh,
}

#[derive(Debug, PartialEq, ToSql, FromSql)]
#[pgwire(rename_all = "kebab-case")]
enum Kebab {
    OneTwo,
}

#[derive(Debug, PartialEq, ToSql, FromSql)]
enum AsIs {
    Upper,
}

// The crate named explicitly, as for a renamed dependency.
#[derive(Debug, PartialEq, ToSql, FromSql)]
#[pgwire(crate = "::pgwire_conn", rename_all = "SCREAMING-KEBAB-CASE")]
enum Named {
    LoudOne,
}

#[derive(Debug, PartialEq, ToSql, FromSql)]
struct Item {
    id: i32,
    name: Option<String>,
    mood: Mood,
    tags: Vec<String>,
}

#[derive(Debug, PartialEq, ToSql, FromSql)]
struct Outer {
    item: Item,
    r#type: String,
}

#[derive(Debug, PartialEq, FromSql)]
struct Pair {
    n: i32,
    s: Option<String>,
}

#[derive(Debug, PartialEq, ToSql, FromSql)]
#[pgwire(transparent)]
struct UserId(i64);

#[derive(Debug, PartialEq, ToSql, FromSql)]
#[pgwire(transparent)]
struct Email {
    address: String,
}

fn encode(value: &dyn ToSql, ty: Oid) -> Result<(Encoded, Vec<u8>), TypeError> {
    let mut out = BytesMut::new();
    let encoded = value.to_sql(ty, &mut out)?;
    Ok((encoded, out.to_vec()))
}

#[test]
fn enums_are_their_labels() {
    for (value, label) in [
        (Mood::Sad, "sad"),
        (Mood::VeryHappy, "very_happy"),
        (Mood::Meh, "MEH"),
    ] {
        assert_eq!(
            encode(&value, MOOD),
            Ok((Encoded::Text, label.as_bytes().to_vec()))
        );
        assert_eq!(
            encode(&value, 0),
            Ok((Encoded::Text, label.as_bytes().to_vec()))
        );
        for format in [Format::Text, Format::Binary] {
            assert_eq!(Mood::from_sql(MOOD, format, label.as_bytes()), Ok(value));
        }
    }
    assert_eq!(Mood::Sad.natural_type(), 0);
    assert_eq!(
        encode(&Kebab::OneTwo, MOOD),
        Ok((Encoded::Text, b"one-two".to_vec()))
    );
    assert_eq!(
        AsIs::from_sql(MOOD, Format::Text, b"Upper"),
        Ok(AsIs::Upper)
    );
    assert_eq!(
        Named::from_sql(MOOD, Format::Text, b"LOUD-ONE"),
        Ok(Named::LoudOne)
    );
    assert_eq!(
        encode(&Named::LoudOne, 0),
        Ok((Encoded::Text, b"LOUD-ONE".to_vec()))
    );
    // An unknown label, or a type that is no enum, is an error, never a
    // default variant.
    assert!(matches!(
        Mood::from_sql(MOOD, Format::Text, b"VeryHappy"),
        Err(TypeError::Invalid { .. })
    ));
    assert!(matches!(
        Mood::from_sql(oid::INT4, Format::Text, b"sad"),
        Err(TypeError::WrongType { .. })
    ));
    assert!(matches!(
        encode(&Mood::Sad, oid::INT4),
        Err(TypeError::WrongType { .. })
    ));
    assert_eq!(Option::<Mood>::from_null(MOOD), Ok(None));
    assert_eq!(Mood::from_null(MOOD), Err(TypeError::UnexpectedNull));
    // Arrays of them come with the element impls.
    assert_eq!(
        Vec::<Mood>::from_sql(16_391, Format::Text, b"{sad,very_happy}"),
        Ok(vec![Mood::Sad, Mood::VeryHappy])
    );
}

#[test]
fn composites_in_text() {
    let item = Item {
        id: 7,
        name: Some("a \"b\"".to_owned()),
        mood: Mood::VeryHappy,
        tags: vec!["x".to_owned(), "y z".to_owned()],
    };
    let (encoded, text) = encode(&item, ITEM).unwrap();
    assert_eq!(encoded, Encoded::Text);
    assert_eq!(
        String::from_utf8_lossy(&text),
        r#"(7,"a ""b""",very_happy,"{x,""y z""}")"#
    );
    assert_eq!(Item::from_sql(ITEM, Format::Text, &text), Ok(item));
    assert_eq!(
        Item::from_sql(ITEM, Format::Text, b"(1,,sad,{})"),
        Ok(Item {
            id: 1,
            name: None,
            mood: Mood::Sad,
            tags: vec![]
        })
    );
    // Nested, and a raw identifier.
    let outer = Outer {
        item: Item {
            id: 2,
            name: None,
            mood: Mood::Meh,
            tags: vec!["t".to_owned()],
        },
        r#type: "kind".to_owned(),
    };
    let (_, text) = encode(&outer, 16_401).unwrap();
    assert_eq!(Outer::from_sql(16_401, Format::Text, &text), Ok(outer));
}

#[test]
fn composite_errors_name_the_field() {
    let err = Item::from_sql(ITEM, Format::Text, b"(x,,sad,{})");
    assert!(
        matches!(&err, Err(TypeError::Invalid { reason, .. }) if reason.contains("field 0 (id)")),
        "{err:?}"
    );
    assert!(matches!(
        Item::from_sql(ITEM, Format::Text, b"(1,,sad)"),
        Err(TypeError::Invalid { .. })
    ));
    assert!(matches!(
        Item::from_sql(ITEM, Format::Text, b"(1,,angry,{})"),
        Err(TypeError::Invalid { .. })
    ));
    assert!(matches!(
        Item::from_sql(oid::TEXT, Format::Text, b"(1,,sad,{})"),
        Err(TypeError::WrongType { .. })
    ));
    // NULL into a field that is no Option.
    let err = Item::from_sql(ITEM, Format::Text, b"(,,sad,{})");
    assert!(
        matches!(&err, Err(TypeError::Invalid { reason, .. }) if reason.contains("NULL")),
        "{err:?}"
    );
}

#[test]
fn composites_in_binary() {
    // `select row(5, null::text, 'sad'::mood, array['q'])`: an anonymous
    // record in binary names each field's type.
    let mut raw = Vec::new();
    raw.put_i32(4);
    raw.put_u32(oid::INT4);
    raw.put_i32(4);
    raw.put_i32(5);
    raw.put_u32(oid::TEXT);
    raw.put_i32(-1);
    raw.put_u32(MOOD);
    raw.put_i32(3);
    raw.put_slice(b"sad");
    raw.put_u32(oid::TEXT_ARRAY);
    raw.put_i32(-1);
    // The array is NULL, which `Vec<String>` cannot hold.
    let err = Item::from_sql(oid::RECORD, Format::Binary, &raw);
    assert!(
        matches!(&err, Err(TypeError::Invalid { reason, .. }) if reason.contains("field 3 (tags)")),
        "{err:?}"
    );
    let mut raw = Vec::new();
    raw.put_i32(2);
    raw.put_u32(oid::INT2);
    raw.put_i32(2);
    raw.put_i16(-3);
    raw.put_u32(oid::TEXT);
    raw.put_i32(2);
    raw.put_slice(b"hi");
    assert_eq!(
        Pair::from_sql(oid::RECORD, Format::Binary, &raw),
        Ok(Pair {
            n: -3,
            s: Some("hi".to_owned())
        })
    );
}

#[test]
fn transparent_newtypes() {
    assert_eq!(UserId(5).natural_type(), oid::INT8);
    assert_eq!(UserId::static_type(), oid::INT8);
    assert_eq!(
        encode(&UserId(5), oid::INT8),
        Ok((Encoded::Binary, 5i64.to_be_bytes().to_vec()))
    );
    // A domain over bigint: the server names the domain, the value goes
    // as text for its input function.
    assert_eq!(
        encode(&UserId(5), 16_500),
        Ok((Encoded::Text, b"5".to_vec()))
    );
    assert_eq!(
        UserId::from_sql(oid::INT8, Format::Binary, &9i64.to_be_bytes()),
        Ok(UserId(9))
    );
    assert_eq!(UserId::from_null(oid::INT8), Err(TypeError::UnexpectedNull));
    assert_eq!(Option::<UserId>::from_null(oid::INT8), Ok(None));
    assert_eq!(
        Email::from_sql(oid::TEXT, Format::Text, b"a@b"),
        Ok(Email {
            address: "a@b".to_owned()
        })
    );
    assert!(matches!(
        encode(&UserId(1), oid::BOOL),
        Err(TypeError::WrongType { .. })
    ));
}
