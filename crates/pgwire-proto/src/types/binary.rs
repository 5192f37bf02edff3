//! Which result types are fetched in binary.
//!
//! The connection asks for binary results per column, only for types whose
//! binary format the decoders here understand; the rest arrive as text,
//! which every type has.

use super::{oid, Oid};

/// True when values of `ty` can be decoded from the binary format: the
/// built-in scalar types with a binary codec here, anonymous records, arrays
/// of them, and the built-in ranges over them.
pub fn has_binary_decoder(ty: Oid) -> bool {
    scalar(ty)
        || super::element_type(ty).is_some_and(scalar)
        || super::range_subtype(ty).is_some_and(scalar)
}

fn scalar(ty: Oid) -> bool {
    matches!(
        ty,
        oid::BOOL
            | oid::BYTEA
            | oid::CHAR
            | oid::NAME
            | oid::INT8
            | oid::INT2
            | oid::INT4
            | oid::TEXT
            | oid::OID
            | oid::JSON
            | oid::FLOAT4
            | oid::FLOAT8
            | oid::BPCHAR
            | oid::VARCHAR
            | oid::JSONB
            | oid::DATE
            | oid::TIME
            | oid::TIMESTAMP
            | oid::TIMESTAMPTZ
            | oid::INTERVAL
            | oid::TIMETZ
            | oid::NUMERIC
            | oid::UUID
            | oid::INET
            | oid::CIDR
            | oid::MACADDR
            | oid::MACADDR8
            | oid::PG_LSN
            | oid::BIT
            | oid::VARBIT
            | oid::POINT
            | oid::LSEG
            | oid::PATH
            | oid::BOX
            | oid::POLYGON
            | oid::LINE
            | oid::CIRCLE
            // Anonymous records: their binary form carries each field's type,
            // so fields decode typed (text would make every field text).
            | oid::RECORD
    )
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
