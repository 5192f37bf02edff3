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
/// `cidr`: an IPv4 or IPv6 network.
pub const CIDR: Oid = 650;
/// `macaddr`: a MAC address (EUI-48).
pub const MACADDR: Oid = 829;
/// `macaddr8`: a MAC address in EUI-64 format.
pub const MACADDR8: Oid = 774;
/// `point`.
pub const POINT: Oid = 600;
/// `lseg`: a line segment.
pub const LSEG: Oid = 601;
/// `path`: an open or closed path.
pub const PATH: Oid = 602;
/// `box`: a rectangle.
pub const BOX: Oid = 603;
/// `polygon`.
pub const POLYGON: Oid = 604;
/// `line`: an infinite line.
pub const LINE: Oid = 628;
/// `circle`.
pub const CIRCLE: Oid = 718;
/// `bit(n)`: a fixed-length bit string.
pub const BIT: Oid = 1560;
/// `varbit` (`bit varying`): a bit string.
pub const VARBIT: Oid = 1562;
/// `pg_lsn`: a write-ahead log position.
pub const PG_LSN: Oid = 3220;
/// `inet`: an IPv4 or IPv6 host address, with an optional netmask.
pub const INET: Oid = 869;
/// `date`.
pub const DATE: Oid = 1082;
/// `time` (`time without time zone`).
pub const TIME: Oid = 1083;
/// `timestamp` (`timestamp without time zone`).
pub const TIMESTAMP: Oid = 1114;
/// `timestamptz` (`timestamp with time zone`).
pub const TIMESTAMPTZ: Oid = 1184;
/// `interval`.
pub const INTERVAL: Oid = 1186;
/// `timetz` (`time with time zone`).
pub const TIMETZ: Oid = 1266;
/// `uuid`.
pub const UUID: Oid = 2950;

/// `int2vector`: a zero-based `int2` array, in the system catalogs.
pub const INT2VECTOR: Oid = 22;
/// `oidvector`: a zero-based `oid` array, in the system catalogs.
pub const OIDVECTOR: Oid = 30;
/// `record`: an anonymous composite value (`SELECT ROW(1, 'a')`).
pub const RECORD: Oid = 2249;

/// `int4range`.
pub const INT4RANGE: Oid = 3904;
/// `numrange`.
pub const NUMRANGE: Oid = 3906;
/// `tsrange`.
pub const TSRANGE: Oid = 3908;
/// `tstzrange`.
pub const TSTZRANGE: Oid = 3910;
/// `daterange`.
pub const DATERANGE: Oid = 3912;
/// `int8range`.
pub const INT8RANGE: Oid = 3926;

/// `bool[]`.
pub const BOOL_ARRAY: Oid = 1000;
/// `bytea[]`.
pub const BYTEA_ARRAY: Oid = 1001;
/// `"char"[]`.
pub const CHAR_ARRAY: Oid = 1002;
/// `name[]`.
pub const NAME_ARRAY: Oid = 1003;
/// `int2[]`.
pub const INT2_ARRAY: Oid = 1005;
/// `int4[]`.
pub const INT4_ARRAY: Oid = 1007;
/// `text[]`.
pub const TEXT_ARRAY: Oid = 1009;
/// `bpchar[]`.
pub const BPCHAR_ARRAY: Oid = 1014;
/// `varchar[]`.
pub const VARCHAR_ARRAY: Oid = 1015;
/// `int8[]`.
pub const INT8_ARRAY: Oid = 1016;
/// `float4[]`.
pub const FLOAT4_ARRAY: Oid = 1021;
/// `float8[]`.
pub const FLOAT8_ARRAY: Oid = 1022;
/// `oid[]`.
pub const OID_ARRAY: Oid = 1028;
/// `json[]`.
pub const JSON_ARRAY: Oid = 199;
/// `jsonb[]`.
pub const JSONB_ARRAY: Oid = 3807;
/// `numeric[]`.
pub const NUMERIC_ARRAY: Oid = 1231;
/// `date[]`.
pub const DATE_ARRAY: Oid = 1182;
/// `time[]`.
pub const TIME_ARRAY: Oid = 1183;
/// `timestamp[]`.
pub const TIMESTAMP_ARRAY: Oid = 1115;
/// `timestamptz[]`.
pub const TIMESTAMPTZ_ARRAY: Oid = 1185;
/// `interval[]`.
pub const INTERVAL_ARRAY: Oid = 1187;
/// `timetz[]`.
pub const TIMETZ_ARRAY: Oid = 1270;
/// `uuid[]`.
pub const UUID_ARRAY: Oid = 2951;
/// `inet[]`.
pub const INET_ARRAY: Oid = 1041;
/// `cidr[]`.
pub const CIDR_ARRAY: Oid = 651;
/// `record[]`.
pub const RECORD_ARRAY: Oid = 2287;

/// The name PostgreSQL gives the built-in type `oid`, for messages (arrays
/// as `_int4`); `None` for types that are not built in.
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
        CIDR => "cidr",
        MACADDR => "macaddr",
        INET => "inet",
        DATE => "date",
        TIME => "time",
        TIMESTAMP => "timestamp",
        TIMESTAMPTZ => "timestamptz",
        INTERVAL => "interval",
        TIMETZ => "timetz",
        UUID => "uuid",
        // Arrays, ranges and the rest of the built-in types, by typname.
        _ => return super::registry::builtin_name(oid),
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
