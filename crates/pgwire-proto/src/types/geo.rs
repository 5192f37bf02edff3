//! The geometric types, binary both ways: [`Point`] (`point`), [`Lseg`]
//! (`lseg`), [`PgBox`] (`box`), [`Line`] (`line`), [`Path`] (`path`),
//! [`Polygon`] (`polygon`) and [`Circle`] (`circle`). Coordinates are
//! `float8`; `Display` writes the server's text forms.

use std::fmt;

use bytes::{Buf, BufMut, BytesMut};

use super::{oid, text, utf8, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// A `point`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// The x coordinate.
    pub x: f64,
    /// The y coordinate.
    pub y: f64,
}

/// An `lseg`: a line segment from `start` to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Lseg {
    /// One end.
    pub start: Point,
    /// The other end.
    pub end: Point,
}

/// A `box`: a rectangle by two opposite corners. The server stores the
/// upper right corner as `high` and the lower left as `low`, whichever
/// corners were sent, so a value comes back with its corners in that order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PgBox {
    /// The upper right corner.
    pub high: Point,
    /// The lower left corner.
    pub low: Point,
}

/// A `line`: `a·x + b·y + c = 0` (`a` and `b` not both zero).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Line {
    /// The x coefficient.
    pub a: f64,
    /// The y coefficient.
    pub b: f64,
    /// The constant.
    pub c: f64,
}

/// A `path`: points joined in order, `closed` when the last joins the
/// first. At least one point for the server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Path {
    /// Whether the path is closed.
    pub closed: bool,
    /// The points.
    pub points: Vec<Point>,
}

/// A `polygon`: its vertices in order (at least one for the server).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Polygon(pub Vec<Point>);

/// A `circle`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Circle {
    /// The center.
    pub center: Point,
    /// The radius (not negative for the server).
    pub radius: f64,
}

/// A coordinate as the server writes and reads it: `NaN`, `Infinity`,
/// `-Infinity`, or the shortest decimal that reads back exactly.
struct Float(f64);

impl fmt::Display for Float {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("Infinity"),
            v if v == f64::NEG_INFINITY => f.write_str("-Infinity"),
            v => write!(f, "{v}"),
        }
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", Float(self.x), Float(self.y))
    }
}

fn write_points(f: &mut fmt::Formatter<'_>, points: &[Point]) -> fmt::Result {
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{p}")?;
    }
    Ok(())
}

impl fmt::Display for Lseg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{},{}]", self.start, self.end)
    }
}

impl fmt::Display for PgBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.high, self.low)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{{},{},{}}}",
            Float(self.a),
            Float(self.b),
            Float(self.c)
        )
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (open, close) = if self.closed { ("(", ")") } else { ("[", "]") };
        f.write_str(open)?;
        write_points(f, &self.points)?;
        f.write_str(close)
    }
}

impl fmt::Display for Polygon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        write_points(f, &self.0)?;
        f.write_str(")")
    }
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{},{}>", self.center, Float(self.radius))
    }
}

/// Reads big-endian `float8`s and counts off a binary value.
struct Reader<'a> {
    ty: Oid,
    raw: &'a [u8],
}

impl Reader<'_> {
    fn need(&self, n: usize) -> Result<(), TypeError> {
        if self.raw.remaining() < n {
            return Err(TypeError::invalid(self.ty, "binary value too short"));
        }
        Ok(())
    }

    fn f64(&mut self) -> Result<f64, TypeError> {
        self.need(8)?;
        Ok(self.raw.get_f64())
    }

    fn point(&mut self) -> Result<Point, TypeError> {
        Ok(Point {
            x: self.f64()?,
            y: self.f64()?,
        })
    }

    /// A count of points, then the points.
    fn points(&mut self) -> Result<Vec<Point>, TypeError> {
        self.need(4)?;
        let n = self.raw.get_i32();
        let n = usize::try_from(n)
            .ok()
            .filter(|n| n.checked_mul(16) == Some(self.raw.len()))
            .ok_or_else(|| TypeError::invalid(self.ty, format!("{n} points")))?;
        (0..n).map(|_| self.point()).collect()
    }

    fn done<T>(self, value: T) -> Result<T, TypeError> {
        if self.raw.is_empty() {
            Ok(value)
        } else {
            Err(TypeError::invalid(self.ty, "binary value too long"))
        }
    }
}

fn put_point(out: &mut BytesMut, p: Point) {
    out.put_f64(p.x);
    out.put_f64(p.y);
}

fn put_points(out: &mut BytesMut, points: &[Point]) -> Result<(), TypeError> {
    let n = i32::try_from(points.len()).map_err(|_| TypeError::invalid(0, "too many points"))?;
    out.put_i32(n);
    for p in points {
        put_point(out, *p);
    }
    Ok(())
}

/// The numbers of a text value, with its first bracket.
fn numbers(ty: Oid, raw: &[u8]) -> Result<(Option<u8>, Vec<f64>), TypeError> {
    let text = utf8(ty, raw)?;
    let first = text.trim_start().bytes().next();
    let numbers = text
        .split(|c: char| "()[]{}<>,".contains(c) || c.is_ascii_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f64>()
                .map_err(|_| TypeError::invalid(ty, format!("{s:?} in {text:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((first, numbers))
}

fn exactly<const N: usize>(ty: Oid, numbers: Vec<f64>) -> Result<[f64; N], TypeError> {
    let len = numbers.len();
    numbers
        .try_into()
        .map_err(|_| TypeError::invalid(ty, format!("{len} numbers, expected {N}")))
}

fn pairs(ty: Oid, numbers: &[f64]) -> Result<Vec<Point>, TypeError> {
    if !numbers.len().is_multiple_of(2) {
        return Err(TypeError::invalid(ty, "odd number of coordinates"));
    }
    Ok(numbers
        .chunks_exact(2)
        .map(|c| Point { x: c[0], y: c[1] })
        .collect())
}

/// `ToSql` and `FromSql` for a geometric type: `$put` writes the binary
/// form, `$read` reads it from a `Reader`, `$parse` builds the value from
/// a text value's first bracket and numbers.
macro_rules! geometric {
    ($rust:ty, $natural:expr, $put:expr, $read:expr, $parse:expr) => {
        impl ToSql for $rust {
            fn natural_type(&self) -> Oid {
                $natural
            }

            fn static_type() -> Oid {
                $natural
            }

            fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
                match ty {
                    ty if ty == 0 || ty == $natural => {
                        let start = out.len();
                        let put: fn(&$rust, &mut BytesMut) -> Result<(), TypeError> = $put;
                        match put(self, out) {
                            Ok(()) => Ok(Encoded::Binary),
                            Err(e) => {
                                out.truncate(start);
                                Err(e)
                            }
                        }
                    }
                    ty if text::takes_any_text(ty) => {
                        super::put_display(out, self);
                        Ok(Encoded::Text)
                    }
                    ty => Err(TypeError::wrong_type::<Self>(ty)),
                }
            }
        }

        impl FromSql<'_> for $rust {
            fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
                if ty != $natural {
                    return Err(TypeError::wrong_type::<Self>(ty));
                }
                match format {
                    Format::Binary => {
                        let mut r = Reader { ty, raw };
                        let read: fn(&mut Reader<'_>) -> Result<$rust, TypeError> = $read;
                        let value = read(&mut r)?;
                        r.done(value)
                    }
                    Format::Text => {
                        let (first, numbers) = numbers(ty, raw)?;
                        let parse: fn(Oid, Option<u8>, Vec<f64>) -> Result<$rust, TypeError> =
                            $parse;
                        parse(ty, first, numbers)
                    }
                }
            }
        }
    };
}

geometric!(
    Point,
    oid::POINT,
    |p, out| {
        put_point(out, *p);
        Ok(())
    },
    |r| r.point(),
    |ty, _, n| exactly::<2>(ty, n).map(|[x, y]| Point { x, y })
);
geometric!(
    Lseg,
    oid::LSEG,
    |l, out| {
        put_point(out, l.start);
        put_point(out, l.end);
        Ok(())
    },
    |r| Ok(Lseg {
        start: r.point()?,
        end: r.point()?
    }),
    |ty, _, n| exactly::<4>(ty, n).map(|[a, b, c, d]| Lseg {
        start: Point { x: a, y: b },
        end: Point { x: c, y: d }
    })
);
geometric!(
    PgBox,
    oid::BOX,
    |b, out| {
        put_point(out, b.high);
        put_point(out, b.low);
        Ok(())
    },
    |r| Ok(PgBox {
        high: r.point()?,
        low: r.point()?
    }),
    |ty, _, n| exactly::<4>(ty, n).map(|[a, b, c, d]| PgBox {
        high: Point { x: a, y: b },
        low: Point { x: c, y: d }
    })
);
geometric!(
    Line,
    oid::LINE,
    |l, out| {
        out.put_f64(l.a);
        out.put_f64(l.b);
        out.put_f64(l.c);
        Ok(())
    },
    |r| Ok(Line {
        a: r.f64()?,
        b: r.f64()?,
        c: r.f64()?
    }),
    |ty, _, n| exactly::<3>(ty, n).map(|[a, b, c]| Line { a, b, c })
);
geometric!(
    Path,
    oid::PATH,
    |p, out| {
        out.put_u8(u8::from(p.closed));
        put_points(out, &p.points)
    },
    |r| {
        r.need(1)?;
        let closed = r.raw.get_u8() != 0;
        Ok(Path {
            closed,
            points: r.points()?,
        })
    },
    |ty, first, n| Ok(Path {
        // `[...]` is open; `(...)` and bare points are closed, as the
        // server reads them.
        closed: first != Some(b'['),
        points: pairs(ty, &n)?
    })
);
geometric!(
    Polygon,
    oid::POLYGON,
    |p, out| put_points(out, &p.0),
    |r| r.points().map(Polygon),
    |ty, _, n| pairs(ty, &n).map(Polygon)
);
geometric!(
    Circle,
    oid::CIRCLE,
    |c, out| {
        put_point(out, c.center);
        out.put_f64(c.radius);
        Ok(())
    },
    |r| Ok(Circle {
        center: r.point()?,
        radius: r.f64()?
    }),
    |ty, _, n| exactly::<3>(ty, n).map(|[x, y, radius]| Circle {
        center: Point { x, y },
        radius
    })
);

/// The text of a binary geometric value, for [`Value`](super::Value);
/// `None` for other types.
pub(super) fn binary_as_text(ty: Oid, raw: &[u8]) -> Option<Result<String, TypeError>> {
    fn text<T: for<'a> FromSql<'a> + fmt::Display>(
        ty: Oid,
        raw: &[u8],
    ) -> Result<String, TypeError> {
        T::from_sql(ty, Format::Binary, raw).map(|v| v.to_string())
    }
    Some(match ty {
        oid::POINT => text::<Point>(ty, raw),
        oid::LSEG => text::<Lseg>(ty, raw),
        oid::BOX => text::<PgBox>(ty, raw),
        oid::LINE => text::<Line>(ty, raw),
        oid::PATH => text::<Path>(ty, raw),
        oid::POLYGON => text::<Polygon>(ty, raw),
        oid::CIRCLE => text::<Circle>(ty, raw),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::{encode, round_trip};
    use super::*;

    fn p(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    fn both<T>(value: T, ty: Oid)
    where
        T: ToSql + for<'a> FromSql<'a> + PartialEq + fmt::Debug + fmt::Display,
    {
        assert_eq!(round_trip(&value, 0).as_ref(), Ok(&value), "binary");
        let (encoded, text) = encode(&value, oid::TEXT).unwrap();
        assert_eq!(encoded, Encoded::Text);
        assert_eq!(
            T::from_sql(ty, Format::Text, &text).as_ref(),
            Ok(&value),
            "text"
        );
    }

    #[test]
    fn round_trips() {
        both(p(1.5, -2.0), oid::POINT);
        both(p(f64::INFINITY, 1e300), oid::POINT);
        both(
            Lseg {
                start: p(0.0, 0.0),
                end: p(1.0, 1.0),
            },
            oid::LSEG,
        );
        both(
            PgBox {
                high: p(2.0, 2.0),
                low: p(0.0, -1.0),
            },
            oid::BOX,
        );
        both(
            Line {
                a: 1.0,
                b: -1.0,
                c: 0.5,
            },
            oid::LINE,
        );
        for closed in [true, false] {
            both(
                Path {
                    closed,
                    points: vec![p(0.0, 0.0), p(1.0, 2.0)],
                },
                oid::PATH,
            );
        }
        both(
            Polygon(vec![p(0.0, 0.0), p(1.0, 0.0), p(0.0, 1.0)]),
            oid::POLYGON,
        );
        both(
            Circle {
                center: p(1.0, 2.0),
                radius: 3.0,
            },
            oid::CIRCLE,
        );
    }

    #[test]
    fn server_text_forms() {
        assert_eq!(
            Path::from_sql(oid::PATH, Format::Text, b"[(1,2),(3,4)]"),
            Ok(Path {
                closed: false,
                points: vec![p(1.0, 2.0), p(3.0, 4.0)]
            })
        );
        assert_eq!(
            Circle::from_sql(oid::CIRCLE, Format::Text, b"<(1,2),3>"),
            Ok(Circle {
                center: p(1.0, 2.0),
                radius: 3.0
            })
        );
        assert_eq!(
            Point::from_sql(oid::POINT, Format::Text, b"(1e+300,-Infinity)"),
            Ok(p(1e300, f64::NEG_INFINITY))
        );
        assert_eq!(p(1.0, 2.5).to_string(), "(1,2.5)");
        for bad in [&b"(1)"[..], b"(1,2,3)", b"(a,b)", b""] {
            assert!(
                Point::from_sql(oid::POINT, Format::Text, bad).is_err(),
                "{bad:?}"
            );
        }
        assert!(Polygon::from_sql(oid::POLYGON, Format::Text, b"((1,2),(3))").is_err());
        assert_eq!(
            encode(&p(0.0, 0.0), oid::BOX),
            Err(TypeError::wrong_type::<Point>(oid::BOX))
        );
    }

    #[test]
    fn bad_binary() {
        assert!(Point::from_sql(oid::POINT, Format::Binary, &[0; 15]).is_err());
        assert!(Point::from_sql(oid::POINT, Format::Binary, &[0; 17]).is_err());
        let mut huge = vec![0, 0x7f, 0xff, 0xff, 0xff];
        huge.extend_from_slice(&[0; 16]);
        assert!(Path::from_sql(oid::PATH, Format::Binary, &huge).is_err());
        assert!(Polygon::from_sql(oid::POLYGON, Format::Binary, &[0xff; 4]).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            for format in [Format::Text, Format::Binary] {
                let _ = Path::from_sql(oid::PATH, format, &raw);
                let _ = Polygon::from_sql(oid::POLYGON, format, &raw);
                let _ = Circle::from_sql(oid::CIRCLE, format, &raw);
                let _ = PgBox::from_sql(oid::BOX, format, &raw);
            }
        }
    }
}
