//! Floats: `f32` and `f64` to and from `float4` and `float8`, and into
//! `numeric` and text.

use bytes::{BufMut, BytesMut};

use super::{fixed, oid, parse, put_display, text, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// Appends `value` as PostgreSQL spells it in text. Rust's `Display` gives the
/// shortest decimal that reads back as the same value, which both `float`
/// and `numeric` input accept; only the non-finite values are spelled
/// differently.
fn put_text<F: Into<f64> + std::fmt::Display + Copy>(value: F, out: &mut BytesMut) {
    let wide: f64 = value.into();
    if wide.is_nan() {
        out.put_slice(b"NaN");
    } else if wide == f64::INFINITY {
        out.put_slice(b"Infinity");
    } else if wide == f64::NEG_INFINITY {
        out.put_slice(b"-Infinity");
    } else {
        put_display(out, value);
    }
}

/// Encodes `value`, of natural type `natural`, for a parameter of type
/// `ty`. Generic rather than widened to f64 up front so that text keeps the
/// value's own shortest form (0.1f32, not 0.10000000149011612).
fn encode<F>(value: F, natural: Oid, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError>
where
    F: Into<f64> + std::fmt::Display + Copy,
{
    let wide: f64 = value.into();
    let ty = if ty == 0 { natural } else { ty };
    match ty {
        oid::FLOAT8 => out.put_f64(wide),
        oid::FLOAT4 => {
            let narrow = wide as f32;
            // NaN never equals itself but loses nothing that matters.
            if f64::from(narrow) != wide && !wide.is_nan() {
                return Err(TypeError::out_of_range::<F>(ty));
            }
            out.put_f32(narrow);
        }
        ty if ty == oid::NUMERIC || text::takes_any_text(ty) => {
            put_text(value, out);
            return Ok(Encoded::Text);
        }
        ty => return Err(TypeError::wrong_type::<F>(ty)),
    }
    Ok(Encoded::Binary)
}

impl ToSql for f32 {
    fn natural_type(&self) -> Oid {
        oid::FLOAT4
    }

    fn static_type() -> Oid {
        oid::FLOAT4
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode(*self, oid::FLOAT4, ty, out)
    }
}

impl ToSql for f64 {
    fn natural_type(&self) -> Oid {
        oid::FLOAT8
    }

    fn static_type() -> Oid {
        oid::FLOAT8
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode(*self, oid::FLOAT8, ty, out)
    }
}

impl FromSql<'_> for f32 {
    #[inline]
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        if let (oid::FLOAT4, Format::Binary, Ok(bytes)) = (ty, format, raw.try_into()) {
            return Ok(f32::from_be_bytes(bytes));
        }
        decode_f32(ty, format, raw)
    }
}

/// Everything but a binary `float4`: errors name `f32`.
fn decode_f32(ty: Oid, format: Format, raw: &[u8]) -> Result<f32, TypeError> {
    // Narrowing float8 would round silently, unlike every other conversion
    // here; read it as f64 instead.
    match (ty, format) {
        (oid::FLOAT4, Format::Binary) => Ok(f32::from_be_bytes(fixed(ty, raw)?)),
        // Rust's float parser takes PostgreSQL's "NaN", "Infinity" and
        // "-Infinity" as they are (its grammar is case-insensitive).
        (oid::FLOAT4, Format::Text) => parse(ty, raw),
        _ => Err(TypeError::wrong_type::<f32>(ty)),
    }
}

impl FromSql<'_> for f64 {
    #[inline]
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        if let (oid::FLOAT8, Format::Binary, Ok(bytes)) = (ty, format, raw.try_into()) {
            return Ok(f64::from_be_bytes(bytes));
        }
        decode_f64(ty, format, raw)
    }
}

/// Everything but a binary `float8`: errors name `f64`.
fn decode_f64(ty: Oid, format: Format, raw: &[u8]) -> Result<f64, TypeError> {
    match (ty, format) {
        (oid::FLOAT8, Format::Binary) => Ok(f64::from_be_bytes(fixed(ty, raw)?)),
        (oid::FLOAT4, Format::Binary) => Ok(f32::from_be_bytes(fixed(ty, raw)?).into()),
        // Parsed as f32 first so that "0.1" is the float4 0.1, widened, as
        // in the binary format.
        (oid::FLOAT4, Format::Text) => parse::<f32>(ty, raw).map(f64::from),
        (oid::FLOAT8, Format::Text) => parse(ty, raw),
        _ => Err(TypeError::wrong_type::<f64>(ty)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    /// Compares floats bit for bit, so NaN equals NaN and -0.0 differs from
    /// 0.0.
    fn same_f64(a: Result<f64, TypeError>, b: f64) -> bool {
        a.is_ok_and(|a| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
    }

    fn same_f32(a: Result<f32, TypeError>, b: f32) -> bool {
        a.is_ok_and(|a| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
    }

    const F64S: [f64; 10] = [
        0.0,
        -0.0,
        1.5,
        -0.1,
        1.5e300,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];

    #[test]
    fn natural_types() {
        assert_eq!(1f32.natural_type(), oid::FLOAT4);
        assert_eq!(1f64.natural_type(), oid::FLOAT8);
        assert_eq!(f64::static_type(), oid::FLOAT8);
    }

    #[test]
    fn round_trips() {
        for v in F64S {
            for ty in [0, oid::FLOAT8] {
                assert!(same_f64(round_trip(&v, ty), v), "{v} via {ty}");
            }
            let narrow = v as f32;
            for ty in [0, oid::FLOAT4] {
                assert!(
                    same_f32(round_trip(&narrow, ty), narrow),
                    "{narrow} via {ty}"
                );
            }
            // float4 holds the f32 exactly, so the f64 it came from fits too.
            let exact = f64::from(narrow);
            assert!(same_f64(round_trip(&exact, oid::FLOAT4), exact), "{exact}");
            // f32 into float8 widens.
            let Ok((Encoded::Binary, bytes)) = encode(&narrow, oid::FLOAT8) else {
                panic!("{narrow} did not encode");
            };
            assert!(same_f64(
                f64::from_sql(oid::FLOAT8, Format::Binary, &bytes),
                exact
            ));
        }
    }

    #[test]
    fn f64_into_float4_must_be_exact() {
        for v in [0.1, 1e300, f64::MIN_POSITIVE, 16_777_217.0] {
            assert_eq!(
                encode(&v, oid::FLOAT4),
                Err(TypeError::out_of_range::<f64>(oid::FLOAT4)),
                "{v}"
            );
        }
        assert_eq!(
            encode(&-0.0f64, oid::FLOAT4),
            Ok((Encoded::Binary, (-0.0f32).to_be_bytes().to_vec()))
        );
    }

    #[test]
    fn into_numeric_and_text_as_postgres_spells_them() {
        for ty in [oid::NUMERIC, oid::TEXT, oid::UNKNOWN] {
            for (v, text) in [
                (f64::NAN, "NaN"),
                (f64::INFINITY, "Infinity"),
                (f64::NEG_INFINITY, "-Infinity"),
                (1.5, "1.5"),
                (-0.1, "-0.1"),
                (-0.0, "-0"),
                (1e21, "1000000000000000000000"),
            ] {
                assert_eq!(
                    encode(&v, ty),
                    Ok((Encoded::Text, text.as_bytes().to_vec()))
                );
            }
            // The f32's own shortest form, not that of its widened value.
            assert_eq!(encode(&0.1f32, ty), Ok((Encoded::Text, b"0.1".to_vec())));
            assert_eq!(encode(&f32::NAN, ty), Ok((Encoded::Text, b"NaN".to_vec())));
        }
        // What is sent reads back as the same value.
        for v in F64S {
            let Ok((Encoded::Text, text)) = encode(&v, oid::NUMERIC) else {
                panic!("{v} did not encode");
            };
            assert!(
                same_f64(f64::from_sql(oid::FLOAT8, Format::Text, &text), v),
                "{v}"
            );
        }
    }

    #[test]
    fn decodes_server_text() {
        for (text, v) in [
            ("NaN", f64::NAN),
            ("Infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("1.5e+300", 1.5e300),
            ("-1.5e-300", -1.5e-300),
            ("-0", -0.0),
            ("0.1", 0.1),
            ("1.7976931348623157e+308", f64::MAX),
        ] {
            assert!(
                same_f64(f64::from_sql(oid::FLOAT8, Format::Text, text.as_bytes()), v),
                "{text}"
            );
        }
        for (text, v) in [
            ("NaN", f32::NAN),
            ("-Infinity", f32::NEG_INFINITY),
            ("3.4028235e+38", f32::MAX),
            ("0.1", 0.1),
        ] {
            assert!(
                same_f32(f32::from_sql(oid::FLOAT4, Format::Text, text.as_bytes()), v),
                "{text}"
            );
        }
        assert!(same_f64(
            f64::from_sql(oid::FLOAT4, Format::Text, b"0.1"),
            f64::from(0.1f32)
        ));
    }

    #[test]
    fn malformed_and_wrong_types() {
        assert!(matches!(
            f64::from_sql(oid::FLOAT8, Format::Binary, &[0; 4]),
            Err(TypeError::Invalid {
                pg_type: oid::FLOAT8,
                ..
            })
        ));
        assert!(matches!(
            f64::from_sql(oid::FLOAT8, Format::Text, b"1,5"),
            Err(TypeError::Invalid {
                pg_type: oid::FLOAT8,
                ..
            })
        ));
        assert_eq!(
            f32::from_sql(oid::FLOAT8, Format::Binary, &[0; 8]),
            Err(TypeError::wrong_type::<f32>(oid::FLOAT8))
        );
        for ty in [oid::INT4, oid::NUMERIC, oid::TEXT] {
            assert_eq!(
                f64::from_sql(ty, Format::Text, b"1"),
                Err(TypeError::wrong_type::<f64>(ty))
            );
        }
        for ty in [oid::INT2, oid::INT4, oid::INT8, oid::BOOL, oid::BYTEA] {
            assert_eq!(encode(&1.0f64, ty), Err(TypeError::wrong_type::<f64>(ty)));
            assert_eq!(encode(&1.0f32, ty), Err(TypeError::wrong_type::<f32>(ty)));
        }
    }
}
