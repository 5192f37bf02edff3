//! `Option<T>`: SQL NULL as `None`.

use bytes::BytesMut;

use super::{Encoded, FromSql, Oid, ToSql, TypeError, TypeRegistry};
use crate::row::Format;

impl<T: ToSql> ToSql for Option<T> {
    fn natural_type(&self) -> Oid {
        match self {
            Some(value) => value.natural_type(),
            // NULL has no value to ask; the Rust type still knows its type.
            None => T::static_type(),
        }
    }

    fn static_type() -> Oid {
        T::static_type()
    }

    fn to_sql(&self, ty: Oid, out: &mut BytesMut) -> Result<Encoded, TypeError> {
        match self {
            Some(value) => value.to_sql(ty, out),
            None => Ok(Encoded::Null),
        }
    }
}

impl<'a, T: FromSql<'a>> FromSql<'a> for Option<T> {
    fn from_sql(ty: Oid, format: Format, raw: &'a [u8]) -> Result<Self, TypeError> {
        T::from_sql(ty, format, raw).map(Some)
    }

    #[inline(always)]
    fn from_sql_with(
        ty: Oid,
        format: Format,
        raw: &'a [u8],
        types: Option<&TypeRegistry>,
    ) -> Result<Self, TypeError> {
        T::from_sql_with(ty, format, raw, types).map(Some)
    }

    fn from_null(_ty: Oid) -> Result<Self, TypeError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::super::oid;
    use super::super::testing::{encode, round_trip};
    use super::*;

    #[test]
    fn none_is_null_of_the_static_type() {
        assert_eq!(None::<i64>.natural_type(), oid::INT8);
        assert_eq!(None::<Vec<u8>>.natural_type(), oid::BYTEA);
        assert_eq!(None::<String>.natural_type(), 0);
        assert_eq!(None::<Option<bool>>.natural_type(), oid::BOOL);
        assert_eq!(Some(1i16).natural_type(), oid::INT2);
        for ty in [0, oid::INT4, oid::TEXT] {
            assert_eq!(encode(&None::<i32>, ty), Ok((Encoded::Null, Vec::new())));
            assert_eq!(encode(&None::<&str>, ty), Ok((Encoded::Null, Vec::new())));
        }
    }

    #[test]
    fn round_trips() {
        assert_eq!(round_trip(&None::<i32>, 0), Ok(None));
        assert_eq!(round_trip(&Some(-5i32), 0), Ok(Some(-5)));
        assert_eq!(round_trip(&Some(-5i32), oid::INT8), Ok(Some(-5)));
        assert_eq!(
            round_trip(&Some("x".to_owned()), oid::TEXT),
            Ok(Some("x".to_owned()))
        );
        assert_eq!(round_trip(&None::<String>, oid::TEXT), Ok(None));
    }

    #[test]
    fn some_errors_pass_through() {
        assert_eq!(
            encode(&Some(70_000i32), oid::INT2),
            Err(TypeError::out_of_range::<i32>(oid::INT2))
        );
        assert_eq!(encode(&Some("\0"), 0), Err(TypeError::Nul));
        assert_eq!(
            Option::<i32>::from_sql(oid::TEXT, Format::Text, b"1"),
            Err(TypeError::wrong_type::<i32>(oid::TEXT))
        );
    }

    #[test]
    fn null() {
        assert_eq!(Option::<&str>::from_null(oid::TEXT), Ok(None));
        assert_eq!(Option::<Option<bool>>::from_null(oid::BOOL), Ok(None));
        assert_eq!(String::from_null(oid::TEXT), Err(TypeError::UnexpectedNull));
        assert_eq!(i64::from_null(oid::INT8), Err(TypeError::UnexpectedNull));
        assert_eq!(
            Vec::<u8>::from_null(oid::BYTEA),
            Err(TypeError::UnexpectedNull)
        );
    }
}
