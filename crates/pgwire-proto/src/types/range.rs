//! Ranges: [`Range<T>`] to and from `int4range`, `int8range`, `numrange`,
//! `daterange`, `tsrange`, `tstzrange` (and user-defined range types in the
//! text format), in both formats.
//!
//! The bounds are converted by `T`'s own conversions with the range's
//! subtype OID, so `Range<i64>` reads an `int8range`, and a range of the
//! date/time or numeric types works with whichever Rust types convert those.
//! The server canonicalizes discrete ranges: `[1,5]` comes back as `[1,6)`.

pub use std::ops::Bound;

use bytes::{BufMut, BytesMut};

use super::array::FIRST_NORMAL_OBJECT_ID;
use super::array::{is_space, put_binary_value, text_of, ElementDecoder, Reader};
use super::{oid, text, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// The range is empty; no other flag or bound follows.
const EMPTY: u8 = 0x01;
/// The lower bound is inclusive.
const LB_INC: u8 = 0x02;
/// The upper bound is inclusive.
const UB_INC: u8 = 0x04;
/// There is no lower bound.
const LB_INF: u8 = 0x08;
/// There is no upper bound.
const UB_INF: u8 = 0x10;

/// The built-in range types and their subtypes (`pg_range`).
const RANGES: [(Oid, Oid); 6] = [
    (oid::INT4RANGE, oid::INT4),
    (oid::INT8RANGE, oid::INT8),
    (oid::NUMRANGE, oid::NUMERIC),
    // date, timestamp, timestamptz.
    (oid::DATERANGE, 1082),
    (oid::TSRANGE, 1114),
    (oid::TSTZRANGE, 1184),
];

/// The subtype of a built-in range type.
pub(crate) fn builtin_subtype(range: Oid) -> Option<Oid> {
    RANGES.iter().find(|(r, _)| *r == range).map(|(_, s)| *s)
}

/// The subtype (element type of the bounds) of the built-in range type
/// `range`.
///
/// ```
/// use pgwire_proto::types::{oid, range_subtype, range_type};
/// assert_eq!(range_subtype(oid::INT8RANGE), Some(oid::INT8));
/// assert_eq!(range_type(oid::INT4), Some(oid::INT4RANGE));
/// assert_eq!(range_type(oid::TEXT), None);
/// ```
pub fn range_subtype(range: Oid) -> Option<Oid> {
    builtin_subtype(range)
}

/// The built-in range type over `subtype`.
pub fn range_type(subtype: Oid) -> Option<Oid> {
    RANGES.iter().find(|(_, s)| *s == subtype).map(|(r, _)| *r)
}

/// A PostgreSQL range: empty, or between two bounds, each inclusive,
/// exclusive or absent (unbounded).
///
/// ```
/// use pgwire_proto::types::{oid, Bound, FromSql, Range};
/// use pgwire_proto::Format;
///
/// let r = Range::<i32>::from_sql(oid::INT4RANGE, Format::Text, b"[1,5)").unwrap();
/// assert_eq!(r, Range::new(Bound::Included(1), Bound::Excluded(5)));
/// assert!(r.contains(&4) && !r.contains(&5));
/// assert_eq!(r.to_string(), "[1,5)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Range<T> {
    /// The empty range.
    Empty,
    /// A range with bounds.
    Nonempty {
        /// The lower bound.
        lower: Bound<T>,
        /// The upper bound.
        upper: Bound<T>,
    },
}

impl<T> Range<T> {
    /// The range between `lower` and `upper`.
    pub fn new(lower: Bound<T>, upper: Bound<T>) -> Self {
        Range::Nonempty { lower, upper }
    }

    /// True for [`Range::Empty`].
    pub fn is_empty(&self) -> bool {
        matches!(self, Range::Empty)
    }

    /// The lower bound; `None` for the empty range.
    pub fn lower(&self) -> Option<&Bound<T>> {
        match self {
            Range::Empty => None,
            Range::Nonempty { lower, .. } => Some(lower),
        }
    }

    /// The upper bound; `None` for the empty range.
    pub fn upper(&self) -> Option<&Bound<T>> {
        match self {
            Range::Empty => None,
            Range::Nonempty { upper, .. } => Some(upper),
        }
    }

    /// True when `value` lies in the range.
    pub fn contains(&self, value: &T) -> bool
    where
        T: PartialOrd,
    {
        match self {
            Range::Empty => false,
            Range::Nonempty { lower, upper } => {
                let above = match lower {
                    Bound::Included(l) => value >= l,
                    Bound::Excluded(l) => value > l,
                    Bound::Unbounded => true,
                };
                let below = match upper {
                    Bound::Included(u) => value <= u,
                    Bound::Excluded(u) => value < u,
                    Bound::Unbounded => true,
                };
                above && below
            }
        }
    }

    /// Converts the bounds.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Range<U> {
        match self {
            Range::Empty => Range::Empty,
            Range::Nonempty { lower, upper } => Range::Nonempty {
                lower: lower.map(&mut f),
                upper: upper.map(&mut f),
            },
        }
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Range<T> {
    /// The text format, as `range_out` writes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let render = |bound: &Bound<T>| match bound {
            Bound::Included(v) | Bound::Excluded(v) => Some(v.to_string().into_bytes()),
            Bound::Unbounded => None,
        };
        let mut out = Vec::new();
        match self {
            Range::Empty => write_text(&mut out, None),
            Range::Nonempty { lower, upper } => write_text(
                &mut out,
                Some((
                    (render(lower), matches!(lower, Bound::Included(_))),
                    (render(upper), matches!(upper, Bound::Included(_))),
                )),
            ),
        }
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// A bound's text (`None`: unbounded) and whether it is inclusive.
type TextBound = (Option<Vec<u8>>, bool);

/// Writes `range_out`'s format: `empty` for `None`.
pub(super) fn write_text(out: &mut Vec<u8>, bounds: Option<(TextBound, TextBound)>) {
    let Some(((lower, lower_inc), (upper, upper_inc))) = bounds else {
        out.extend_from_slice(b"empty");
        return;
    };
    out.push(if lower_inc && lower.is_some() {
        b'['
    } else {
        b'('
    });
    if let Some(lower) = &lower {
        write_quoted(out, lower, b"()[],");
    }
    out.push(b',');
    if let Some(upper) = &upper {
        write_quoted(out, upper, b"()[],");
    }
    out.push(if upper_inc && upper.is_some() {
        b']'
    } else {
        b')'
    });
}

/// Writes `value` as ranges and records do: in double quotes when it is
/// empty or holds a quote, a backslash, whitespace or one of `special`, and
/// then with quotes and backslashes doubled.
pub(super) fn write_quoted(out: &mut Vec<u8>, value: &[u8], special: &[u8]) {
    let quote = value.is_empty()
        || value
            .iter()
            .any(|&b| b == b'"' || b == b'\\' || is_space(b) || special.contains(&b));
    if !quote {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    for &b in value {
        if b == b'"' || b == b'\\' {
            out.push(b);
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Reads one range or record field in `range_in`/`record_in` syntax, up to
/// (not including) an unquoted byte of `terminators`: double quotes group,
/// `""` inside them is a quote, a backslash escapes any byte. `None` when the
/// field is empty (no quotes either): an unbounded bound, a NULL field.
pub(super) fn read_field(
    ty: Oid,
    raw: &[u8],
    pos: &mut usize,
    terminators: &[u8],
) -> Result<Option<Vec<u8>>, TypeError> {
    let truncated = || TypeError::invalid(ty, "unexpected end of input");
    if raw.get(*pos).is_some_and(|b| terminators.contains(b)) {
        return Ok(None);
    }
    let mut out = Vec::new();
    let mut quoted = false;
    loop {
        let Some(&b) = raw.get(*pos) else {
            return Err(truncated());
        };
        if !quoted && terminators.contains(&b) {
            return Ok(Some(out));
        }
        *pos += 1;
        match b {
            b'\\' => {
                let Some(&escaped) = raw.get(*pos) else {
                    return Err(truncated());
                };
                out.push(escaped);
                *pos += 1;
            }
            b'"' if !quoted => quoted = true,
            b'"' if raw.get(*pos) == Some(&b'"') => {
                out.push(b'"');
                *pos += 1;
            }
            b'"' => quoted = false,
            b => out.push(b),
        }
    }
}

/// Decodes a range of type `ty` whose bounds are of type `subtype`, bounds
/// by `element` (never given NULL).
pub(super) fn decode<E>(
    ty: Oid,
    subtype: Oid,
    format: Format,
    raw: &[u8],
    element: &mut ElementDecoder<'_, E>,
) -> Result<Range<E>, TypeError> {
    match format {
        Format::Binary => decode_binary(ty, subtype, raw, element),
        Format::Text => decode_text(ty, subtype, raw, element),
    }
}

fn decode_binary<E>(
    ty: Oid,
    subtype: Oid,
    raw: &[u8],
    element: &mut ElementDecoder<'_, E>,
) -> Result<Range<E>, TypeError> {
    let mut r = Reader::new(ty, raw);
    let flags = r.u8()?;
    if flags & EMPTY != 0 {
        r.finish()?;
        return Ok(Range::Empty);
    }
    let mut bound = |r: &mut Reader<'_>, infinite: u8, inclusive: u8| {
        if flags & infinite != 0 {
            return Ok(Bound::Unbounded);
        }
        let Some(value) = r.value()? else {
            return Err(TypeError::invalid(ty, "range bound is NULL"));
        };
        let value = element(subtype, Format::Binary, Some(value))?;
        Ok(if flags & inclusive != 0 {
            Bound::Included(value)
        } else {
            Bound::Excluded(value)
        })
    };
    let lower = bound(&mut r, LB_INF, LB_INC)?;
    let upper = bound(&mut r, UB_INF, UB_INC)?;
    r.finish()?;
    Ok(Range::Nonempty { lower, upper })
}

fn decode_text<E>(
    ty: Oid,
    subtype: Oid,
    raw: &[u8],
    element: &mut ElementDecoder<'_, E>,
) -> Result<Range<E>, TypeError> {
    let malformed = |what: &str| TypeError::invalid(ty, format!("malformed range: {what}"));
    let start = raw.iter().position(|&b| !is_space(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |e| e + 1);
    let body = raw.get(start..end).unwrap_or_default();
    if body.eq_ignore_ascii_case(b"empty") {
        return Ok(Range::Empty);
    }
    let lower_inc = match body.first() {
        Some(b'[') => true,
        Some(b'(') => false,
        _ => return Err(malformed("expected \"[\" or \"(\"")),
    };
    let mut pos = 1;
    let lower = read_field(ty, body, &mut pos, b",)]")?;
    if body.get(pos) != Some(&b',') {
        return Err(malformed("expected \",\""));
    }
    pos += 1;
    let upper = read_field(ty, body, &mut pos, b",)]")?;
    let upper_inc = match body.get(pos) {
        Some(b']') => true,
        Some(b')') => false,
        _ => return Err(malformed("expected \"]\" or \")\"")),
    };
    if pos + 1 != body.len() {
        return Err(malformed("junk after the upper bound"));
    }
    let mut bound = |text: Option<Vec<u8>>, inclusive: bool| -> Result<Bound<E>, TypeError> {
        Ok(match text {
            None => Bound::Unbounded,
            Some(text) => {
                let value = element(subtype, Format::Text, Some(&text))?;
                if inclusive {
                    Bound::Included(value)
                } else {
                    Bound::Excluded(value)
                }
            }
        })
    };
    let lower = bound(lower, lower_inc)?;
    let upper = bound(upper, upper_inc)?;
    Ok(Range::Nonempty { lower, upper })
}

/// The range type to declare for bounds of Rust type `T`.
fn natural<T: ToSql>(range: &Range<T>) -> Oid {
    let static_type = T::static_type();
    let subtype = if static_type != 0 {
        static_type
    } else {
        match range {
            Range::Nonempty {
                lower: Bound::Included(v) | Bound::Excluded(v),
                ..
            }
            | Range::Nonempty {
                upper: Bound::Included(v) | Bound::Excluded(v),
                ..
            } => v.natural_type(),
            _ => 0,
        }
    };
    range_type(subtype).unwrap_or(0)
}

impl<T: ToSql> ToSql for Range<T> {
    fn natural_type(&self) -> Oid {
        natural(self)
    }

    fn static_type() -> Oid {
        range_type(T::static_type()).unwrap_or(0)
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        let target = if ty == 0 { self.natural_type() } else { ty };
        if let Some(subtype) = builtin_subtype(target) {
            let start = out.len();
            match encode_binary(self, subtype, out) {
                Ok(true) => return Ok(Encoded::Binary),
                Ok(false) => out.truncate(start),
                Err(e) => {
                    out.truncate(start);
                    return Err(e);
                }
            }
            return encode_text(self, subtype, out);
        }
        if target == 0 || target >= FIRST_NORMAL_OBJECT_ID || text::takes_any_text(target) {
            return encode_text(self, 0, out);
        }
        Err(TypeError::wrong_type::<Self>(target))
    }
}

/// Writes the binary format; `Ok(false)` when a bound encoded itself as
/// text.
fn encode_binary<T: ToSql>(
    range: &Range<T>,
    subtype: Oid,
    out: &mut BytesMut,
) -> Result<bool, TypeError> {
    let (lower, upper) = match range {
        Range::Empty => {
            out.put_u8(EMPTY);
            return Ok(true);
        }
        Range::Nonempty { lower, upper } => (lower, upper),
    };
    let mut flags = 0;
    for (bound, inf, inc) in [(lower, LB_INF, LB_INC), (upper, UB_INF, UB_INC)] {
        match bound {
            Bound::Included(_) => flags |= inc,
            Bound::Excluded(_) => {}
            Bound::Unbounded => flags |= inf,
        }
    }
    out.put_u8(flags);
    for bound in [lower, upper] {
        if let Bound::Included(v) | Bound::Excluded(v) = bound {
            match put_binary_value(v, subtype, out)? {
                Encoded::Binary => {}
                Encoded::Text => return Ok(false),
                Encoded::Null => return Err(TypeError::invalid(subtype, "range bound is NULL")),
            }
        }
    }
    Ok(true)
}

fn encode_text<T: ToSql>(
    range: &Range<T>,
    subtype: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError> {
    let mut text = Vec::new();
    match range {
        Range::Empty => write_text(&mut text, None),
        Range::Nonempty { lower, upper } => {
            let render = |bound: &Bound<T>| -> Result<TextBound, TypeError> {
                match bound {
                    Bound::Included(v) | Bound::Excluded(v) => match text_of(v, subtype)? {
                        Some(t) => Ok((Some(t), matches!(bound, Bound::Included(_)))),
                        None => Err(TypeError::invalid(subtype, "range bound is NULL")),
                    },
                    Bound::Unbounded => Ok((None, false)),
                }
            };
            let bounds = (render(lower)?, render(upper)?);
            write_text(&mut text, Some(bounds));
        }
    }
    if text.contains(&0) {
        return Err(TypeError::Nul);
    }
    out.put_slice(&text);
    Ok(Encoded::Text)
}

impl<'a, T: for<'b> FromSql<'b>> FromSql<'a> for Range<T> {
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        let subtype = match (builtin_subtype(ty), format) {
            (Some(subtype), _) => subtype,
            // A user-defined range: the subtype is not known here, but in
            // the text format text-like bounds still read as `unknown`.
            (None, Format::Text) if ty >= FIRST_NORMAL_OBJECT_ID => oid::UNKNOWN,
            _ => return Err(TypeError::wrong_type::<Self>(ty)),
        };
        let mut element = |sub: Oid, format: Format, value: Option<&[u8]>| match value {
            Some(value) => T::from_sql(sub, format, value),
            None => T::from_null(sub),
        };
        decode(ty, subtype, format, raw, &mut element)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    fn binary(flags: u8, bounds: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![flags];
        for b in bounds {
            out.extend_from_slice(&(b.len() as i32).to_be_bytes());
            out.extend_from_slice(b);
        }
        out
    }

    fn all_bounds() -> Vec<Range<i32>> {
        let mut ranges = vec![Range::Empty];
        let bounds = |v: i32| [Bound::Included(v), Bound::Excluded(v), Bound::Unbounded];
        for lower in bounds(-3) {
            for upper in bounds(7) {
                ranges.push(Range::new(lower, upper));
            }
        }
        ranges
    }

    #[test]
    fn types() {
        assert_eq!(
            Range::new(Bound::Included(1i32), Bound::Unbounded).natural_type(),
            oid::INT4RANGE
        );
        assert_eq!(Range::<i64>::static_type(), oid::INT8RANGE);
        assert_eq!(Range::<String>::static_type(), 0);
        assert_eq!(Range::<i64>::Empty.natural_type(), oid::INT8RANGE);
        assert_eq!(range_subtype(oid::NUMRANGE), Some(oid::NUMERIC));
        assert_eq!(range_subtype(oid::DATERANGE), Some(oid::DATE));
        assert_eq!(range_subtype(oid::TSRANGE), Some(oid::TIMESTAMP));
        assert_eq!(range_subtype(oid::TSTZRANGE), Some(oid::TIMESTAMPTZ));
        assert_eq!(range_type(oid::INT8), Some(oid::INT8RANGE));
        assert_eq!(range_subtype(oid::INT4), None);
    }

    #[test]
    fn every_bound_combination_round_trips() {
        for r in all_bounds() {
            // Binary, natural and explicit; widened into int8range.
            assert_eq!(round_trip(&r, 0), Ok(r.clone()), "{r:?}");
            assert_eq!(round_trip(&r, oid::INT4RANGE), Ok(r.clone()));
            assert_eq!(round_trip(&r, oid::INT8RANGE), Ok(r.clone()));
            // Text, through Display and the text encoder.
            let (format, text) = encode(&r, oid::TEXT).unwrap();
            assert_eq!(format, Encoded::Text);
            assert_eq!(text, r.to_string().into_bytes());
            assert_eq!(
                Range::<i32>::from_sql(oid::INT4RANGE, Format::Text, &text),
                Ok(r.clone())
            );
        }
    }

    #[test]
    fn binary_format() {
        let r = Range::new(Bound::Included(1i32), Bound::Excluded(5));
        assert_eq!(
            encode(&r, 0),
            Ok((
                Encoded::Binary,
                binary(LB_INC, &[&[0, 0, 0, 1], &[0, 0, 0, 5]])
            ))
        );
        assert_eq!(
            encode(&Range::<i32>::Empty, 0),
            Ok((Encoded::Binary, vec![EMPTY]))
        );
        let r = Range::new(Bound::Unbounded, Bound::Included(3i64));
        assert_eq!(
            encode(&r, 0),
            Ok((
                Encoded::Binary,
                binary(LB_INF | UB_INC, &[&3i64.to_be_bytes()])
            ))
        );
        assert_eq!(
            Range::<i64>::from_sql(
                oid::INT8RANGE,
                Format::Binary,
                &binary(LB_INF | UB_INC, &[&3i64.to_be_bytes()])
            ),
            Ok(r)
        );
        // Flags PostgreSQL ignores are ignored.
        assert_eq!(
            Range::<i32>::from_sql(
                oid::INT4RANGE,
                Format::Binary,
                &binary(LB_INF | UB_INF | 0x80, &[])
            ),
            Ok(Range::new(Bound::Unbounded, Bound::Unbounded))
        );
    }

    #[test]
    fn text_format() {
        let decode = |raw: &[u8]| Range::<i32>::from_sql(oid::INT4RANGE, Format::Text, raw);
        assert_eq!(decode(b"empty"), Ok(Range::Empty));
        assert_eq!(decode(b" EMPTY "), Ok(Range::Empty));
        assert_eq!(
            decode(b"[1,5)"),
            Ok(Range::new(Bound::Included(1), Bound::Excluded(5)))
        );
        assert_eq!(
            decode(b"(,3]"),
            Ok(Range::new(Bound::Unbounded, Bound::Included(3)))
        );
        assert_eq!(
            decode(b"[,)"),
            Ok(Range::new(Bound::Unbounded, Bound::Unbounded))
        );
        assert_eq!(
            decode(b" (\"1\",\"2\") "),
            Ok(Range::new(Bound::Excluded(1), Bound::Excluded(2)))
        );
        assert_eq!(
            decode(b"[1\\0,2]"),
            Ok(Range::new(Bound::Included(10), Bound::Included(2)))
        );
        for bad in [
            &b""[..],
            b"[1,5",
            b"1,5",
            b"[1,5)x",
            b"[1;5)",
            b"[\"1,5)",
            b"[1,2,3]",
            b"[a,1]",
            b"[1,\\",
        ] {
            assert!(
                matches!(decode(bad), Err(TypeError::Invalid { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Quoted text bounds, through a user-defined range of text.
        let text = |raw: &[u8]| Range::<String>::from_sql(16_500, Format::Text, raw);
        let s = |v: &str| v.to_owned();
        assert_eq!(
            text(br#"["a b","c""d\\e")"#),
            Ok(Range::new(
                Bound::Included(s("a b")),
                Bound::Excluded(s("c\"d\\e"))
            ))
        );
        assert_eq!(
            text(br#"("",x]"#),
            Ok(Range::new(Bound::Excluded(s("")), Bound::Included(s("x"))))
        );
        assert_eq!(
            text(br#"[a"b,c"d,e]"#),
            Ok(Range::new(
                Bound::Included(s("ab,cd")),
                Bound::Included(s("e"))
            ))
        );
        for r in [
            Range::new(Bound::Included(s("a,b")), Bound::Excluded(s(""))),
            Range::new(Bound::Included(s("(x]")), Bound::Unbounded),
            Range::new(Bound::Excluded(s("q\"\\ ü")), Bound::Included(s("z"))),
        ] {
            let (format, raw) = encode(&r, 16_500).unwrap();
            assert_eq!(format, Encoded::Text);
            assert_eq!(text(&raw), Ok(r));
        }
        // A user-defined range's binary format is not readable without its
        // subtype.
        assert_eq!(
            Range::<String>::from_sql(16_500, Format::Binary, &[EMPTY]),
            Err(TypeError::wrong_type::<Range<String>>(16_500))
        );
    }

    #[test]
    fn malformed_binary() {
        for raw in [
            &b""[..],
            &[EMPTY, 0],
            &[0],
            &[0, 0, 0, 0, 4, 0, 0, 0, 1],
            &binary(LB_INC, &[&[0, 0, 0, 1]]),
            &[LB_INF, 0xff, 0xff, 0xff, 0xff],
            &binary(LB_INF | UB_INF, &[&[0, 0, 0, 1]]),
            &binary(0, &[&[0, 0, 1], &[0, 0, 0, 1]]),
        ] {
            assert!(
                matches!(
                    Range::<i32>::from_sql(oid::INT4RANGE, Format::Binary, raw),
                    Err(TypeError::Invalid { .. })
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn encoding_choices() {
        // i64 bounds into numrange: as text.
        let r = Range::new(Bound::Included(1i64), Bound::Excluded(10));
        assert_eq!(
            encode(&r, oid::NUMRANGE),
            Ok((Encoded::Text, b"[1,10)".to_vec()))
        );
        assert_eq!(
            encode(&r, oid::INT4),
            Err(TypeError::wrong_type::<Range<i64>>(oid::INT4))
        );
        assert_eq!(
            encode(
                &Range::new(Bound::Included(i64::MAX), Bound::Unbounded),
                oid::INT4RANGE
            ),
            Err(TypeError::out_of_range::<i64>(oid::INT4))
        );
        let s = Range::new(Bound::Included("a\0".to_owned()), Bound::Unbounded);
        assert_eq!(encode(&s, 0), Err(TypeError::Nul));
        assert_eq!(
            encode(&Range::<String>::Empty, 0),
            Ok((Encoded::Text, b"empty".to_vec()))
        );
        assert_eq!(
            Range::<i32>::from_sql(oid::INT4, Format::Text, b"[1,2)"),
            Err(TypeError::wrong_type::<Range<i32>>(oid::INT4))
        );
    }

    #[test]
    fn helpers() {
        let r = Range::new(Bound::Excluded(1), Bound::Included(5));
        assert!(!r.contains(&1) && r.contains(&2) && r.contains(&5) && !r.contains(&6));
        assert!(!Range::<i32>::Empty.contains(&1));
        assert!(Range::new(Bound::Unbounded, Bound::Unbounded).contains(&i32::MIN));
        assert_eq!(r.lower(), Some(&Bound::Excluded(1)));
        assert_eq!(r.upper(), Some(&Bound::Included(5)));
        assert!(Range::<i32>::Empty.is_empty() && Range::<i32>::Empty.lower().is_none());
        assert_eq!(
            r.clone().map(i64::from),
            Range::new(Bound::Excluded(1i64), Bound::Included(5))
        );
        assert_eq!(r.to_string(), "(1,5]");
        assert_eq!(
            Range::new(Bound::Unbounded, Bound::Excluded(0)).to_string(),
            "(,0)"
        );
        assert_eq!(Range::<i32>::Empty.to_string(), "empty");
    }
}
