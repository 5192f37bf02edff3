//! `oidvector` and `int2vector`: [`OidVector`] and [`Int2Vector`], which
//! declare the vector types, and the vector encoding that `Vec<u32>` and
//! `Vec<i16>` use when the server says a parameter is one.
//!
//! The vectors are one-dimensional arrays without NULLs whose lower bound
//! is 0, and they have no cast from the array types (`oid[]::oidvector` is
//! error 42846). So a `Vec<u32>`, which declares `oid[]`, cannot be cast to
//! `oidvector` on the server; declaring `oidvector` for every `Vec<u32>`
//! instead would turn its `oid[]` uses into arrays starting at 0
//! (`[0:1]={1,2}`, which is not `{1,2}`). The wrappers declare the vector
//! type and leave `Vec` as it is.

use bytes::{BufMut, BytesMut};

use super::array::put_binary_value;
use super::{oid, text, Encoded, FromSql, Oid, ToSql, TypeError};
use crate::row::Format;

/// An `oidvector` value (as in `pg_proc.proargtypes`), for parameters
/// (`SELECT $1::oidvector`) and columns.
///
/// ```
/// use pgwire_proto::types::{oid, OidVector, ToSql};
///
/// assert_eq!(OidVector(vec![23, 25]).natural_type(), oid::OIDVECTOR);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct OidVector(pub Vec<u32>);

/// An `int2vector` value (as in `pg_index.indkey`), for parameters and
/// columns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Int2Vector(pub Vec<i16>);

/// The element type of vector type `ty`.
fn element(ty: Oid) -> Option<Oid> {
    match ty {
        oid::OIDVECTOR => Some(oid::OID),
        oid::INT2VECTOR => Some(oid::INT2),
        _ => None,
    }
}

/// Encodes `elements` for vector type `vector` in the binary array format
/// with lower bound 0, which the server's receive function requires.
/// `Ok(None)` when `vector` is not a vector type.
pub(super) fn encode_vector<T: ToSql>(
    vector: Oid,
    ndim: usize,
    elements: &[Option<&T>],
    out: &mut BytesMut,
) -> Result<Option<Encoded>, TypeError> {
    let Some(elem) = element(vector) else {
        return Ok(None);
    };
    if ndim > 1 {
        return Err(TypeError::invalid(
            vector,
            format!("a vector has one dimension, not {ndim}"),
        ));
    }
    if elements.is_empty() {
        // The server's binary receive makes an empty array of no dimension
        // and then refuses it as a vector; the text form is the empty
        // string.
        return Ok(Some(Encoded::Text));
    }
    let len = i32::try_from(elements.len())
        .map_err(|_| TypeError::invalid(vector, "too many vector elements"))?;
    let start = out.len();
    let result = (|| {
        out.put_i32(1);
        out.put_i32(0);
        out.put_u32(elem);
        out.put_i32(len);
        out.put_i32(0);
        for e in elements {
            let written = match e {
                None => Encoded::Null,
                Some(value) => put_binary_value(*value, elem, out)?,
            };
            match written {
                Encoded::Binary => {}
                Encoded::Null => {
                    return Err(TypeError::invalid(vector, "a vector cannot hold NULL"))
                }
                Encoded::Text => {
                    return Err(TypeError::invalid(vector, "element has no binary form"))
                }
            }
        }
        Ok(Encoded::Binary)
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result.map(Some)
}

/// Encodes a vector wrapper: binary for its own type, the vector's text
/// form (`1 2 3`) for text-like parameters.
fn encode_wrapper<T, E>(
    natural: Oid,
    elements: &[E],
    ty: Oid,
    out: &mut BytesMut,
) -> Result<Encoded, TypeError>
where
    E: ToSql + std::fmt::Display,
{
    let target = if ty == 0 { natural } else { ty };
    if target == natural {
        let refs: Vec<Option<&E>> = elements.iter().map(Some).collect();
        return encode_vector(natural, 1, &refs, out)?
            .ok_or_else(|| TypeError::wrong_type::<T>(target));
    }
    if text::takes_any_text(target) {
        for (i, e) in elements.iter().enumerate() {
            if i > 0 {
                out.put_u8(b' ');
            }
            super::put_display(out, e);
        }
        return Ok(Encoded::Text);
    }
    Err(TypeError::wrong_type::<T>(target))
}

/// Decodes a vector wrapper from its own type only.
fn decode_wrapper<'a, T, V>(
    natural: Oid,
    ty: Oid,
    format: Format,
    raw: &'a [u8],
) -> Result<V, TypeError>
where
    V: FromSql<'a>,
{
    if ty != natural {
        return Err(TypeError::wrong_type::<T>(ty));
    }
    V::from_sql(ty, format, raw)
}

impl ToSql for OidVector {
    fn natural_type(&self) -> Oid {
        oid::OIDVECTOR
    }

    fn static_type() -> Oid {
        oid::OIDVECTOR
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode_wrapper::<Self, _>(oid::OIDVECTOR, &self.0, ty, out)
    }
}

/// From `oidvector`, in binary or text.
impl FromSql<'_> for OidVector {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode_wrapper::<Self, Vec<u32>>(oid::OIDVECTOR, ty, format, raw).map(OidVector)
    }
}

impl ToSql for Int2Vector {
    fn natural_type(&self) -> Oid {
        oid::INT2VECTOR
    }

    fn static_type() -> Oid {
        oid::INT2VECTOR
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        encode_wrapper::<Self, _>(oid::INT2VECTOR, &self.0, ty, out)
    }
}

/// From `int2vector`, in binary or text.
impl FromSql<'_> for Int2Vector {
    fn from_sql(ty: Oid, format: Format, raw: &[u8]) -> Result<Self, TypeError> {
        decode_wrapper::<Self, Vec<i16>>(oid::INT2VECTOR, ty, format, raw).map(Int2Vector)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{encode, round_trip};
    use super::*;

    #[test]
    fn binary_with_lower_bound_zero() {
        let (encoded, bytes) = encode(&OidVector(vec![23, 25]), 0).unwrap();
        assert_eq!(encoded, Encoded::Binary);
        let mut expected = Vec::new();
        for n in [1u32, 0, 26, 2, 0, 4, 23, 4, 25] {
            expected.extend_from_slice(&n.to_be_bytes());
        }
        assert_eq!(bytes, expected);
        // A Vec takes the same form when the server says the parameter is a
        // vector.
        assert_eq!(
            encode(&vec![23u32, 25], oid::OIDVECTOR),
            Ok((Encoded::Binary, expected))
        );
        // Empty: text, the one form the server reads as an empty vector.
        assert_eq!(
            encode(&Int2Vector(vec![]), 0),
            Ok((Encoded::Text, Vec::new()))
        );
    }

    #[test]
    fn round_trips_and_errors() {
        for v in [vec![], vec![0, 1, u32::MAX]] {
            assert_eq!(round_trip(&OidVector(v.clone()), 0), Ok(OidVector(v)));
        }
        for v in [vec![], vec![i16::MIN, -1, 7]] {
            assert_eq!(round_trip(&Int2Vector(v.clone()), 0), Ok(Int2Vector(v)));
        }
        assert_eq!(
            encode(&Int2Vector(vec![1, -2]), oid::TEXT),
            Ok((Encoded::Text, b"1 -2".to_vec()))
        );
        assert_eq!(
            Int2Vector::from_sql(oid::INT2VECTOR, Format::Text, b"1 -2"),
            Ok(Int2Vector(vec![1, -2]))
        );
        assert_eq!(
            encode(&OidVector(vec![1]), oid::OID),
            Err(TypeError::wrong_type::<OidVector>(oid::OID))
        );
        assert_eq!(
            OidVector::from_sql(1028, Format::Text, b"{1}"),
            Err(TypeError::wrong_type::<OidVector>(1028))
        );
        assert!(matches!(
            encode(&vec![Some(1u32), None], oid::OIDVECTOR),
            Err(TypeError::Invalid { .. })
        ));
        // Values that do not fit the element type are refused, not wrapped.
        assert!(matches!(
            encode(&vec![70_000i32], oid::INT2VECTOR),
            Err(TypeError::OutOfRange { .. })
        ));
    }
}
