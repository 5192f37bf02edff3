//! Which result types are fetched in binary.
//!
//! The connection asks for binary results per column, only for types whose
//! binary format every decoder here understands; the rest arrive as text,
//! which every type has.

use super::{oid, Oid};

/// True when values of `ty` can be decoded from the binary format.
pub fn has_binary_decoder(ty: Oid) -> bool {
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
    )
}
