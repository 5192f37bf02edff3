//! The built-in scalar types decoded here, in one table: which result
//! types are fetched in binary, and how a [`Value`](super::Value) holds
//! each.
//!
//! The connection asks for binary results per column, only for types whose
//! binary format the decoders here understand; the rest arrive as text,
//! which every type has.

use super::{oid, Oid};

/// A built-in scalar type, by the [`Value`](super::Value) it decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    /// `text`, `varchar`, `bpchar`, `name`, `char`.
    Text,
    /// `unknown`, an untyped literal: text too, but always fetched as text.
    Unknown,
    /// `json`, `jsonb`.
    Json,
    Bytea,
    /// An anonymous record: its binary form carries each field's type, so
    /// fields decode typed (text would make every field text).
    Record,
    Numeric,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    /// `inet`, `cidr`.
    Inet,
    /// `pg_lsn`, `macaddr`, `macaddr8`, `bit`, `varbit` and the geometric
    /// types: fetched in binary since they have codecs, and still shown as
    /// the server's text, as before they had.
    ShownAsText,
}

/// The built-in scalar type `ty` is, if it is one decoded here.
pub(super) fn scalar(ty: Oid) -> Option<Scalar> {
    Some(match ty {
        oid::BOOL => Scalar::Bool,
        oid::INT2 => Scalar::Int2,
        oid::INT4 => Scalar::Int4,
        oid::INT8 => Scalar::Int8,
        oid::OID => Scalar::Oid,
        oid::FLOAT4 => Scalar::Float4,
        oid::FLOAT8 => Scalar::Float8,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR => Scalar::Text,
        oid::UNKNOWN => Scalar::Unknown,
        oid::JSON | oid::JSONB => Scalar::Json,
        oid::BYTEA => Scalar::Bytea,
        oid::RECORD => Scalar::Record,
        oid::NUMERIC => Scalar::Numeric,
        oid::DATE => Scalar::Date,
        oid::TIME => Scalar::Time,
        oid::TIMETZ => Scalar::TimeTz,
        oid::TIMESTAMP => Scalar::Timestamp,
        oid::TIMESTAMPTZ => Scalar::TimestampTz,
        oid::INTERVAL => Scalar::Interval,
        oid::UUID => Scalar::Uuid,
        oid::INET | oid::CIDR => Scalar::Inet,
        oid::PG_LSN
        | oid::MACADDR
        | oid::MACADDR8
        | oid::BIT
        | oid::VARBIT
        | oid::POINT
        | oid::LSEG
        | oid::PATH
        | oid::BOX
        | oid::POLYGON
        | oid::LINE
        | oid::CIRCLE => Scalar::ShownAsText,
        _ => return None,
    })
}

/// True when values of `ty` can be decoded from the binary format: the
/// built-in scalar types with a binary codec here, anonymous records, arrays
/// of them, and the built-in ranges over them.
pub fn has_binary_decoder(ty: Oid) -> bool {
    binary_scalar(ty)
        || super::element_type(ty).is_some_and(binary_scalar)
        || super::range_subtype(ty).is_some_and(binary_scalar)
}

fn binary_scalar(ty: Oid) -> bool {
    scalar(ty).is_some_and(|scalar| scalar != Scalar::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_ranges_of_binary_types_are_binary() {
        assert!(has_binary_decoder(oid::INT4));
        assert!(has_binary_decoder(1007)); // int4[]
        assert!(has_binary_decoder(1185)); // timestamptz[]
        assert!(has_binary_decoder(3904)); // int4range
        assert!(has_binary_decoder(600)); // point
        assert!(has_binary_decoder(1017)); // point[]
        assert!(!has_binary_decoder(2970)); // txid_snapshot: text
        assert!(!has_binary_decoder(16_384)); // a user type: text
    }
}
