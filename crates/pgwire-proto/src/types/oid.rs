//! OIDs of the built-in types this crate converts, as assigned in
//! PostgreSQL's `pg_type.dat`. Built-in OIDs are fixed across versions and
//! installations, so they can be compared directly; types created by
//! extensions (`citext`, `hstore`, ...) get an OID at creation time and are
//! not listed here.

use super::Oid;

/// `bool`.
pub const BOOL: Oid = 16;
/// `bytea`.
pub const BYTEA: Oid = 17;
/// `"char"`: a single byte, used in the system catalogs.
pub const CHAR: Oid = 18;
/// `name`: a 63-byte identifier, used in the system catalogs.
pub const NAME: Oid = 19;
/// `int8` (`bigint`).
pub const INT8: Oid = 20;
/// `int2` (`smallint`).
pub const INT2: Oid = 21;
/// `int4` (`integer`).
pub const INT4: Oid = 23;
/// `text`.
pub const TEXT: Oid = 25;
/// `oid`.
pub const OID: Oid = 26;
/// `json`.
pub const JSON: Oid = 114;
/// `float4` (`real`).
pub const FLOAT4: Oid = 700;
/// `float8` (`double precision`).
pub const FLOAT8: Oid = 701;
/// `unknown`: an untyped literal the server could not resolve.
pub const UNKNOWN: Oid = 705;
/// `bpchar` (`character(n)`).
pub const BPCHAR: Oid = 1042;
/// `varchar` (`character varying(n)`).
pub const VARCHAR: Oid = 1043;
/// `numeric`.
pub const NUMERIC: Oid = 1700;
/// `jsonb`.
pub const JSONB: Oid = 3802;

/// The name PostgreSQL gives the built-in type `oid`, for messages; `None` for
/// OIDs not listed in this module.
///
/// ```
/// use pgwire_proto::types::oid;
/// assert_eq!(oid::name(oid::INT4), Some("int4"));
/// assert_eq!(oid::name(123_456), None);
/// ```
pub fn name(oid: Oid) -> Option<&'static str> {
    Some(match oid {
        BOOL => "bool",
        BYTEA => "bytea",
        // Quoted as PostgreSQL prints it, so it is not mistaken for `char(n)`.
        CHAR => "\"char\"",
        NAME => "name",
        INT8 => "int8",
        INT2 => "int2",
        INT4 => "int4",
        TEXT => "text",
        OID => "oid",
        JSON => "json",
        FLOAT4 => "float4",
        FLOAT8 => "float8",
        UNKNOWN => "unknown",
        BPCHAR => "bpchar",
        VARCHAR => "varchar",
        NUMERIC => "numeric",
        JSONB => "jsonb",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(BOOL), Some("bool"));
        assert_eq!(name(INT8), Some("int8"));
        assert_eq!(name(CHAR), Some("\"char\""));
        assert_eq!(name(JSONB), Some("jsonb"));
        assert_eq!(name(0), None);
        assert_eq!(name(16_385), None);
    }
}
