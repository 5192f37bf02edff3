//! `hstore`, the extension's string-to-string map: `HashMap<String,
//! Option<String>>` and `BTreeMap<String, Option<String>>`, `None` for NULL
//! values.
//!
//! `hstore` is an extension type, so its OID differs between databases and
//! is not known here. Decoding accepts any type past the built-in range
//! (and `unknown` text, as array elements of an unknown type arrive) and
//! reads the hstore format, failing cleanly if the value is something else;
//! [`TypeRegistry`](super::TypeRegistry) knows which OID really is hstore
//! once resolved. Encoding always writes the text format, which the server
//! parses for whatever type the parameter has.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use bytes::{BufMut, BytesMut};

use super::array::{is_space, Reader, FIRST_NORMAL_OBJECT_ID};
use super::{oid, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// The pairs of an hstore value, in the order sent.
pub(super) type Pairs = Vec<(String, Option<String>)>;

/// Decodes an hstore value of type `ty` (not checked: the caller knows).
pub(super) fn decode(ty: Oid, format: Format, raw: &[u8]) -> Result<Pairs, TypeError> {
    match format {
        Format::Binary => decode_binary(ty, raw),
        Format::Text => decode_text(ty, raw),
    }
}

/// `hstore_send`: a pair count, then per pair a length-prefixed key and a
/// length-prefixed value (length -1: NULL).
fn decode_binary(ty: Oid, raw: &[u8]) -> Result<Pairs, TypeError> {
    let mut r = Reader::new(ty, raw);
    let count = r.count(8, "pair")?;
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        let Some(key) = r.value()? else {
            return Err(TypeError::invalid(ty, "hstore key is NULL"));
        };
        let value = r.value()?;
        pairs.push((
            utf8(ty, key)?.to_owned(),
            value.map(|v| utf8(ty, v).map(str::to_owned)).transpose()?,
        ));
    }
    r.finish()?;
    Ok(pairs)
}

/// `hstore_in`'s syntax: `"key"=>"value"` pairs separated by commas, keys
/// and values quoted or not, backslash escapes, unquoted `NULL` values.
fn decode_text(ty: Oid, raw: &[u8]) -> Result<Pairs, TypeError> {
    let malformed = |pos: usize, what: &str| {
        TypeError::invalid(ty, format!("malformed hstore at byte {pos}: {what}"))
    };
    let skip_space = |pos: &mut usize| {
        while raw.get(*pos).copied().is_some_and(is_space) {
            *pos += 1;
        }
    };
    // A quoted or unquoted token; unquoted ones end at whitespace or one of
    // `stop`. Returns the bytes and whether they were quoted.
    let token = |pos: &mut usize, stop: &[u8]| -> Result<(Vec<u8>, bool), TypeError> {
        let mut out = Vec::new();
        let quoted = raw.get(*pos) == Some(&b'"');
        if quoted {
            *pos += 1;
        }
        loop {
            let Some(&b) = raw.get(*pos) else {
                if quoted {
                    return Err(malformed(*pos, "unterminated quoted string"));
                }
                break;
            };
            if !quoted && (is_space(b) || stop.contains(&b)) {
                break;
            }
            *pos += 1;
            match b {
                b'"' if quoted => return Ok((out, true)),
                b'\\' => {
                    let Some(&escaped) = raw.get(*pos) else {
                        return Err(malformed(*pos, "unterminated escape"));
                    };
                    out.push(escaped);
                    *pos += 1;
                }
                b'"' => return Err(malformed(*pos, "unexpected quote")),
                b => out.push(b),
            }
        }
        if out.is_empty() {
            return Err(malformed(*pos, "expected a key or value"));
        }
        Ok((out, false))
    };
    let string = |bytes: Vec<u8>| {
        String::from_utf8(bytes)
            .map_err(|e| TypeError::invalid(ty, format!("not valid UTF-8: {e}")))
    };

    let mut pairs = Vec::new();
    let mut pos = 0;
    loop {
        skip_space(&mut pos);
        if pos >= raw.len() {
            break;
        }
        let (key, _) = token(&mut pos, b"=,")?;
        skip_space(&mut pos);
        if raw.get(pos..pos + 2) != Some(b"=>") {
            return Err(malformed(pos, "expected \"=>\""));
        }
        pos += 2;
        skip_space(&mut pos);
        let (value, quoted) = token(&mut pos, b",")?;
        let value = if !quoted && value.eq_ignore_ascii_case(b"NULL") {
            None
        } else {
            Some(string(value)?)
        };
        pairs.push((string(key)?, value));
        skip_space(&mut pos);
        match raw.get(pos) {
            None => break,
            Some(b',') => pos += 1,
            Some(_) => return Err(malformed(pos, "expected \",\"")),
        }
    }
    Ok(pairs)
}

/// Writes `hstore_out`'s format: every key and value quoted, NULL values
/// bare.
pub(super) fn write_text<'p>(
    out: &mut Vec<u8>,
    pairs: impl IntoIterator<Item = (&'p str, Option<&'p str>)>,
) {
    let quoted = |out: &mut Vec<u8>, s: &str| {
        out.push(b'"');
        for &b in s.as_bytes() {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    };
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        quoted(out, key);
        out.extend_from_slice(b"=>");
        match value {
            Some(value) => quoted(out, value),
            None => out.extend_from_slice(b"NULL"),
        }
    }
}

/// True for the types an hstore map decodes from.
fn accepts(ty: Oid, format: Format) -> bool {
    ty >= FIRST_NORMAL_OBJECT_ID || (ty == oid::UNKNOWN && format == Format::Text)
}

fn encode<'p, M: ?Sized>(
    pairs: impl IntoIterator<Item = (&'p str, Option<&'p str>)>,
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    if !(ty == 0 || ty >= FIRST_NORMAL_OBJECT_ID || text::takes_any_text(ty)) {
        return Err(TypeError::wrong_type::<M>(ty));
    }
    let mut text = Vec::new();
    write_text(&mut text, pairs);
    if text.contains(&0) {
        return Err(TypeError::Nul);
    }
    out.put_slice(&text);
    Ok(Encoded::Text)
}

impl<S: BuildHasher + Default> FromSql<'_> for HashMap<String, Option<String>, S> {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        if !accepts(ty, format) {
            return Err(TypeError::wrong_type::<Self>(ty));
        }
        let mut map = HashMap::with_hasher(S::default());
        for (key, value) in decode(ty, format, raw)? {
            // hstore keeps the first of duplicate keys.
            map.entry(key).or_insert(value);
        }
        Ok(map)
    }
}

impl FromSql<'_> for BTreeMap<String, Option<String>> {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        if !accepts(ty, format) {
            return Err(TypeError::wrong_type::<Self>(ty));
        }
        let mut map = BTreeMap::new();
        for (key, value) in decode(ty, format, raw)? {
            map.entry(key).or_insert(value);
        }
        Ok(map)
    }
}

impl<S: BuildHasher> ToSql for HashMap<String, Option<String>, S> {
    fn natural_type(&self) -> Oid {
        // The OID is per database: let the server infer it.
        0
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(
            self.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
            ty,
            out,
        )
    }
}

impl ToSql for BTreeMap<String, Option<String>> {
    fn natural_type(&self) -> Oid {
        0
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode::<Self>(
            self.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
            ty,
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    const HSTORE: Oid = 16_500;

    fn map(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    fn binary(pairs: &[(&[u8], Option<&[u8]>)]) -> Vec<u8> {
        let mut out = BytesMut::new();
        out.put_i32(pairs.len() as i32);
        for (k, v) in pairs {
            out.put_i32(k.len() as i32);
            out.put_slice(k);
            match v {
                Some(v) => {
                    out.put_i32(v.len() as i32);
                    out.put_slice(v);
                }
                None => out.put_i32(-1),
            }
        }
        out.to_vec()
    }

    #[test]
    fn text_format() {
        let decode =
            |raw: &[u8]| BTreeMap::<String, Option<String>>::from_sql(HSTORE, Format::Text, raw);
        assert_eq!(
            decode(br#""a"=>"1", "b"=>NULL"#),
            Ok(map(&[("a", Some("1")), ("b", None)]))
        );
        assert_eq!(decode(b""), Ok(map(&[])));
        assert_eq!(decode(b"  "), Ok(map(&[])));
        assert_eq!(
            decode(br#""q\"k"=>"back\\slash", "NULL"=>"NULL",x => y,z=>null, ""=>"""#),
            Ok(map(&[
                ("q\"k", Some("back\\slash")),
                ("NULL", Some("NULL")),
                ("x", Some("y")),
                ("z", None),
                ("", Some("")),
            ]))
        );
        assert_eq!(
            decode("\"ü\"=>\"✓ yes\"".as_bytes()),
            Ok(map(&[("ü", Some("✓ yes"))]))
        );
        // The first of duplicate keys wins, as in hstore.
        assert_eq!(decode(b"a=>1,a=>2"), Ok(map(&[("a", Some("1"))])));
        // A trailing comma is accepted, as by hstore_in.
        assert_eq!(decode(b"a=>1, "), Ok(map(&[("a", Some("1"))])));
        for bad in [
            &b"a"[..],
            b"a=>",
            b"a=",
            b"=>1",
            b"\"a=>1",
            b"a=>1 b=>2",
            b"a=>\"1",
            b"a=>1\\",
            b"a=>\"\xff\"",
        ] {
            assert!(
                matches!(
                    decode(bad),
                    Err(TypeError::Invalid {
                        pg_type: HSTORE,
                        ..
                    })
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn binary_format() {
        let raw = binary(&[
            (b"a", Some(b"1")),
            (b"b", None),
            ("ü".as_bytes(), Some(b"")),
        ]);
        let expected = map(&[("a", Some("1")), ("b", None), ("ü", Some(""))]);
        assert_eq!(
            BTreeMap::from_sql(HSTORE, Format::Binary, &raw),
            Ok(expected.clone())
        );
        let hashed: HashMap<String, Option<String>> =
            HashMap::from_sql(HSTORE, Format::Binary, &raw).unwrap();
        assert_eq!(hashed.into_iter().collect::<BTreeMap<_, _>>(), expected);
        assert_eq!(
            BTreeMap::<String, Option<String>>::from_sql(HSTORE, Format::Binary, &binary(&[])),
            Ok(map(&[]))
        );
        let mut trailing = binary(&[]);
        trailing.push(0);
        for raw in [
            &b""[..],
            &[0, 0, 0],
            &[0xff, 0xff, 0xff, 0xff],
            // A forged count.
            &[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0],
            // A NULL key.
            &[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
            &[0, 0, 0, 1, 0, 0, 0, 5, b'a', 0, 0, 0, 0],
            &binary(&[(b"\xff", None)]),
            &trailing,
        ] {
            assert!(
                matches!(
                    BTreeMap::<String, Option<String>>::from_sql(HSTORE, Format::Binary, raw),
                    Err(TypeError::Invalid { .. })
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn round_trips_as_text() {
        let m = map(&[
            ("a", Some("1")),
            ("b", None),
            ("with \"quotes\"", Some("and \\ backslash")),
            ("NULL", Some("NULL")),
            ("", Some("")),
            ("ü", Some("=> , ✓")),
        ]);
        assert_eq!(m.natural_type(), 0);
        let (format, text) = encode(&m, 0).unwrap();
        assert_eq!(format, Encoded::Text);
        assert_eq!(round_trip(&m, HSTORE), Ok(m.clone()));
        assert_eq!(
            BTreeMap::<String, Option<String>>::from_sql(HSTORE, Format::Text, &text),
            Ok(m.clone())
        );
        let hashed: HashMap<String, Option<String>> = m.clone().into_iter().collect();
        assert_eq!(round_trip(&hashed, HSTORE), Ok(hashed.clone()));
        let mut out = Vec::new();
        write_text(&mut out, [("a", Some("1")), ("b", None)]);
        assert_eq!(out, br#""a"=>"1", "b"=>NULL"#);
    }

    #[test]
    fn types() {
        for ty in [oid::TEXT, oid::INT4, oid::BYTEA, oid::JSONB] {
            assert_eq!(
                BTreeMap::<String, Option<String>>::from_sql(ty, Format::Text, b"a=>1"),
                Err(TypeError::wrong_type::<BTreeMap<String, Option<String>>>(
                    ty
                ))
            );
        }
        // As elements of an array of an unknown type, which arrive as
        // `unknown`.
        assert_eq!(
            Vec::<BTreeMap<String, Option<String>>>::from_sql(
                16_501,
                Format::Text,
                br#"{"\"a\"=>\"1\"",NULL}"#
            )
            .map_err(|e| e.to_string()),
            Err(TypeError::UnexpectedNull.to_string())
        );
        assert_eq!(
            Vec::<Option<BTreeMap<String, Option<String>>>>::from_sql(
                16_501,
                Format::Text,
                br#"{"\"a\"=>\"1\"",NULL}"#
            ),
            Ok(vec![Some(map(&[("a", Some("1"))])), None])
        );
        assert_eq!(
            encode(&map(&[]), oid::INT4),
            Err(TypeError::wrong_type::<BTreeMap<String, Option<String>>>(
                oid::INT4
            ))
        );
        assert_eq!(encode(&map(&[("a\0", None)]), 0), Err(TypeError::Nul));
        assert_eq!(
            encode(&map(&[]), oid::TEXT),
            Ok((Encoded::Text, Vec::new()))
        );
    }
}
