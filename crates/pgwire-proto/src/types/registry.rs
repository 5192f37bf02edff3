//! Type names and kinds: the built-in types by name, plus the extension and
//! user-defined types (enums, domains, composites, `hstore`, ...) a
//! connection resolves at run time.
//!
//! Built-in OIDs are fixed, so they are a static table. Every other type gets
//! its OID when it is created, differently in each database; a connection
//! looks the names it needs up once with [`RESOLVE_TYPES_SQL`] and records
//! each returned row with [`TypeRegistry::apply_resolve_row`]. The registry
//! then answers name and kind questions, and decodes values of those types
//! into [`Value`]s ([`TypeRegistry::decode`]).

use std::collections::HashMap;

use super::{oid, value, ColumnIndex, Oid, TypeError, Value};
use crate::row::{ColumnError, Format, Row};

/// One built-in type: its OID, `pg_type.typname`, and its array type (0 for
/// none).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Builtin {
    pub oid: Oid,
    pub name: &'static str,
    pub array: Oid,
    pub array_name: &'static str,
}

macro_rules! builtins {
    ($( $oid:literal $name:literal $array:literal ),* $(,)?) => {
        /// The built-in types of `pg_type.dat` that a client may meet, with
        /// their array types.
        const BUILTINS: &[Builtin] = &[$(
            Builtin { oid: $oid, name: $name, array: $array, array_name: concat!("_", $name) },
        )*];
    };
}

builtins! {
    16 "bool" 1000,
    17 "bytea" 1001,
    18 "char" 1002,
    19 "name" 1003,
    20 "int8" 1016,
    21 "int2" 1005,
    22 "int2vector" 1006,
    23 "int4" 1007,
    24 "regproc" 1008,
    25 "text" 1009,
    26 "oid" 1028,
    27 "tid" 1010,
    28 "xid" 1011,
    29 "cid" 1012,
    30 "oidvector" 1013,
    114 "json" 199,
    142 "xml" 143,
    194 "pg_node_tree" 0,
    5069 "xid8" 271,
    600 "point" 1017,
    601 "lseg" 1018,
    602 "path" 1019,
    603 "box" 1020,
    604 "polygon" 1027,
    628 "line" 629,
    700 "float4" 1021,
    701 "float8" 1022,
    705 "unknown" 0,
    718 "circle" 719,
    790 "money" 791,
    829 "macaddr" 1040,
    869 "inet" 1041,
    650 "cidr" 651,
    774 "macaddr8" 775,
    1033 "aclitem" 1034,
    1042 "bpchar" 1014,
    1043 "varchar" 1015,
    1082 "date" 1182,
    1083 "time" 1183,
    1114 "timestamp" 1115,
    1184 "timestamptz" 1185,
    1186 "interval" 1187,
    1266 "timetz" 1270,
    1560 "bit" 1561,
    1562 "varbit" 1563,
    1700 "numeric" 1231,
    1790 "refcursor" 2201,
    2202 "regprocedure" 2207,
    2203 "regoper" 2208,
    2204 "regoperator" 2209,
    2205 "regclass" 2210,
    4191 "regcollation" 4192,
    2206 "regtype" 2211,
    4096 "regrole" 4097,
    4089 "regnamespace" 4090,
    2950 "uuid" 2951,
    3220 "pg_lsn" 3221,
    3614 "tsvector" 3643,
    3642 "gtsvector" 3644,
    3615 "tsquery" 3645,
    3734 "regconfig" 3735,
    3769 "regdictionary" 3770,
    3802 "jsonb" 3807,
    4072 "jsonpath" 4073,
    2970 "txid_snapshot" 2949,
    5038 "pg_snapshot" 5039,
    3904 "int4range" 3905,
    3906 "numrange" 3907,
    3908 "tsrange" 3909,
    3910 "tstzrange" 3911,
    3912 "daterange" 3913,
    3926 "int8range" 3927,
    4451 "int4multirange" 6150,
    4532 "nummultirange" 6151,
    4533 "tsmultirange" 6152,
    4534 "tstzmultirange" 6153,
    4535 "datemultirange" 6155,
    4536 "int8multirange" 6157,
    2249 "record" 2287,
    2275 "cstring" 1263,
    2278 "void" 0,
}

/// SQL spellings of built-in types that differ from their `typname`.
const ALIASES: &[(&str, &str)] = &[
    ("boolean", "bool"),
    ("smallint", "int2"),
    ("integer", "int4"),
    ("int", "int4"),
    ("bigint", "int8"),
    ("real", "float4"),
    ("float", "float8"),
    ("double precision", "float8"),
    ("decimal", "numeric"),
    ("character varying", "varchar"),
    ("character", "bpchar"),
    ("bit varying", "varbit"),
    ("timestamp without time zone", "timestamp"),
    ("timestamp with time zone", "timestamptz"),
    ("time without time zone", "time"),
    ("time with time zone", "timetz"),
];

/// The built-in type with OID `oid`.
fn builtin(oid: Oid) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.oid == oid)
}

/// The built-in type whose array type is `array`.
fn builtin_by_array(array: Oid) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.array == array && array != 0)
}

/// The `pg_type.typname` of a built-in type or built-in array type.
pub(crate) fn builtin_name(oid: Oid) -> Option<&'static str> {
    builtin(oid)
        .map(|b| b.name)
        .or_else(|| builtin_by_array(oid).map(|b| b.array_name))
}

/// The element type of a built-in array type.
pub(crate) fn builtin_element(array: Oid) -> Option<Oid> {
    match array {
        // Not arrays by name, but arrays in their binary format.
        oid::INT2VECTOR => Some(oid::INT2),
        oid::OIDVECTOR => Some(oid::OID),
        _ => builtin_by_array(array).map(|b| b.oid),
    }
}

/// The array type of a built-in element type.
pub(crate) fn builtin_array(element: Oid) -> Option<Oid> {
    builtin(element).map(|b| b.array).filter(|&a| a != 0)
}

/// The OID of a built-in type by name: its `typname` (`int4`, `_int4`), a
/// SQL spelling (`integer`, `double precision`) or either with `[]` for the
/// array type. ASCII case is ignored, as SQL does for unquoted names.
fn builtin_oid(name: &str) -> Option<Oid> {
    let name = name.trim();
    if let Some(element) = name.strip_suffix("[]") {
        return builtin_oid(element).and_then(builtin_array);
    }
    let lower = name.to_ascii_lowercase();
    let lower = ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower.as_str(), |(_, name)| name);
    BUILTINS.iter().find_map(|b| {
        if b.name == lower {
            Some(b.oid)
        } else if b.array != 0 && b.array_name == lower {
            Some(b.array)
        } else {
            None
        }
    })
}

/// The kind of a built-in type, as far as decoding cares.
fn builtin_kind(oid: Oid) -> Option<TypeKind> {
    if let Some(element) = builtin_element(oid) {
        return Some(TypeKind::Array { element });
    }
    if let Some(subtype) = super::range::builtin_subtype(oid) {
        return Some(TypeKind::Range { subtype });
    }
    builtin(oid).map(|_| TypeKind::Base)
}

/// What a type is, for decoding its values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeKind {
    /// A scalar type with its own input/output functions (built-in types,
    /// extension types such as `citext`).
    Base,
    /// An enum: values are labels, text in both formats.
    Enum,
    /// A domain over `base`: values are those of the base type.
    Domain {
        /// `pg_type.typbasetype`.
        base: Oid,
    },
    /// The `hstore` extension's key/value map.
    Hstore,
    /// A composite (row) type.
    Composite {
        /// The attributes in order: name and type OID.
        fields: Vec<(String, Oid)>,
    },
    /// An array type.
    Array {
        /// The element type.
        element: Oid,
    },
    /// A range type.
    Range {
        /// The element type of the bounds.
        subtype: Oid,
    },
}

#[derive(Debug, Clone)]
struct Registered {
    name: String,
    kind: TypeKind,
    /// An enum's labels in sort order, when known (from
    /// [`RESOLVE_TYPES_SQL`]).
    labels: Vec<String>,
}

/// Names and kinds of types: the built-in ones, plus extension and
/// user-defined ones registered at run time.
///
/// ```
/// use pgwire_proto::types::{oid, TypeKind, TypeRegistry};
///
/// let mut types = TypeRegistry::new();
/// assert_eq!(types.find_oid_for_type("int4"), Some(oid::INT4));
/// assert_eq!(types.find_oid_for_type("integer[]"), Some(oid::INT4_ARRAY));
/// assert_eq!(types.find_oid_for_type("mood"), None);
///
/// types.register("mood", 16_390, TypeKind::Enum);
/// assert_eq!(types.find_oid_for_type("mood"), Some(16_390));
/// assert_eq!(types.kind(16_390), Some(TypeKind::Enum));
/// assert_eq!(types.name(16_390), Some("mood"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct TypeRegistry {
    by_oid: HashMap<Oid, Registered>,
    by_name: HashMap<String, Oid>,
}

impl TypeRegistry {
    /// A registry that knows the built-in types only.
    pub fn new() -> TypeRegistry {
        TypeRegistry::default()
    }

    /// Records the type `name` with OID `oid`, replacing what was known
    /// about either.
    pub fn register(&mut self, name: impl Into<String>, oid: Oid, kind: TypeKind) {
        let name = name.into();
        if let Some(old) = self.by_oid.get(&oid) {
            if old.name != name && self.by_name.get(&old.name) == Some(&oid) {
                self.by_name.remove(&old.name);
            }
        }
        self.by_name.insert(name.clone(), oid);
        self.by_oid.insert(
            oid,
            Registered {
                name,
                kind,
                labels: Vec::new(),
            },
        );
    }

    /// The labels of a registered enum type, in their sort order; `None`
    /// for other types and for enums registered without them (by
    /// [`register`](Self::register) rather than from [`RESOLVE_TYPES_SQL`]).
    ///
    /// ```
    /// use pgwire_proto::types::{TypeKind, TypeRegistry};
    ///
    /// let mut types = TypeRegistry::new();
    /// types.register_enum("mood", 16_390, ["sad", "ok", "happy"]);
    /// assert_eq!(types.kind(16_390), Some(TypeKind::Enum));
    /// assert_eq!(types.enum_labels(16_390), Some(&["sad".to_owned(), "ok".into(), "happy".into()][..]));
    /// ```
    pub fn enum_labels(&self, oid: Oid) -> Option<&[String]> {
        self.by_oid
            .get(&oid)
            .filter(|r| r.kind == TypeKind::Enum && !r.labels.is_empty())
            .map(|r| &r.labels[..])
    }

    /// Registers an enum type with its labels in sort order.
    pub fn register_enum<L: Into<String>>(
        &mut self,
        name: impl Into<String>,
        oid: Oid,
        labels: impl IntoIterator<Item = L>,
    ) {
        self.register(name, oid, TypeKind::Enum);
        if let Some(registered) = self.by_oid.get_mut(&oid) {
            registered.labels = labels.into_iter().map(Into::into).collect();
        }
    }

    /// Adds another name for an already known OID (a schema-qualified one,
    /// say).
    pub fn alias(&mut self, name: impl Into<String>, oid: Oid) {
        self.by_name.insert(name.into(), oid);
    }

    /// Forgets the run-time types (after a reconnect to another database,
    /// say); the built-in ones stay.
    pub fn clear(&mut self) {
        self.by_oid.clear();
        self.by_name.clear();
    }

    /// The OID of a type by name: registered names exactly as registered,
    /// then built-in names (see [`TypeRegistry`]).
    pub fn find_oid_for_type(&self, name: &str) -> Option<Oid> {
        if let Some(&oid) = self.by_name.get(name) {
            return Some(oid);
        }
        if let Some(element) = name.trim().strip_suffix("[]") {
            if let Some(&element) = self.by_name.get(element.trim()) {
                return self.array_of(element);
            }
        }
        builtin_oid(name)
    }

    /// The name of a type: the registered name, or the built-in `typname`.
    pub fn name(&self, oid: Oid) -> Option<&str> {
        match self.by_oid.get(&oid) {
            Some(registered) => Some(&registered.name),
            None => builtin_name(oid),
        }
    }

    /// The kind of a type, registered or built-in; `None` when unknown.
    pub fn kind(&self, oid: Oid) -> Option<TypeKind> {
        match self.by_oid.get(&oid) {
            Some(registered) => Some(registered.kind.clone()),
            None => builtin_kind(oid),
        }
    }

    /// True when nothing is registered (the built-in types only).
    pub fn is_empty(&self) -> bool {
        self.by_oid.is_empty()
    }

    /// The registered kind of `oid`, without cloning.
    pub(crate) fn registered_kind(&self, oid: Oid) -> Option<&TypeKind> {
        self.by_oid.get(&oid).map(|r| &r.kind)
    }

    /// True when `oid` is the `hstore` extension's type.
    pub fn is_hstore(&self, oid: Oid) -> bool {
        matches!(self.registered_kind(oid), Some(TypeKind::Hstore))
    }

    /// The array type whose elements are `element`, registered or built-in.
    pub fn array_of(&self, element: Oid) -> Option<Oid> {
        builtin_array(element).or_else(|| {
            self.by_oid.iter().find_map(|(&oid, r)| match r.kind {
                TypeKind::Array { element: e } if e == element => Some(oid),
                _ => None,
            })
        })
    }

    /// The names in `names` this registry cannot resolve yet: the ones to
    /// pass to [`RESOLVE_TYPES_SQL`] as `$1`.
    pub fn unresolved<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Vec<&'n str> {
        names
            .into_iter()
            .filter(|name| self.find_oid_for_type(name).is_none())
            .collect()
    }

    /// Decodes a value of type `ty` into a [`Value`], using what is
    /// registered: enums and domains decode as their labels and base types,
    /// composites field by field, arrays and ranges of registered types
    /// element by element, `hstore` as a map. Types still unknown decode as
    /// [`Value::Unknown`], as with `Value`'s own [`FromSql`](super::FromSql).
    pub fn decode(&self, ty: Oid, format: Format, raw: &[u8]) -> Result<Value, TypeError> {
        value::decode(Some(self), ty, format, raw, 0)
    }

    /// Like [`decode`](Self::decode), for a possibly NULL value.
    pub fn decode_nullable(
        &self,
        ty: Oid,
        format: Format,
        raw: Option<&[u8]>,
    ) -> Result<Value, TypeError> {
        match raw {
            Some(raw) => self.decode(ty, format, raw),
            None => Ok(Value::Null),
        }
    }

    /// Records one row of [`RESOLVE_TYPES_SQL`], returning the type it
    /// registered. The row is read by column name, in either format.
    pub fn apply_resolve_row(&mut self, row: &Row) -> Result<ResolvedType, ColumnError> {
        let resolved = ResolvedType::from_row(row)?;
        self.apply(&resolved);
        Ok(resolved)
    }

    /// Records a type described as [`RESOLVE_TYPES_SQL`] describes it: under
    /// its schema-qualified name, and under its `typname` alone if it is the
    /// one the search path finds by that name.
    pub fn apply(&mut self, resolved: &ResolvedType) {
        self.apply_kind(resolved);
        if let Some(registered) = self.by_oid.get_mut(&resolved.oid) {
            registered.labels = resolved.labels.clone();
        }
    }

    fn apply_kind(&mut self, resolved: &ResolvedType) {
        let qualified = format!("{}.{}", resolved.schema, resolved.name);
        if resolved.visible || resolved.schema.is_empty() {
            self.register(resolved.name.clone(), resolved.oid, resolved.kind());
            self.alias(qualified, resolved.oid);
        } else {
            // Named by its typname (for messages), found by the qualified
            // name only: the plain name belongs to another type.
            self.register(qualified, resolved.oid, resolved.kind());
            if let Some(registered) = self.by_oid.get_mut(&resolved.oid) {
                registered.name = resolved.name.clone();
            }
        }
    }
}

/// One row of [`RESOLVE_TYPES_SQL`]: a type as `pg_type` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolvedType {
    /// `pg_type.oid`.
    pub oid: Oid,
    /// The schema's name.
    pub schema: String,
    /// Whether the search path finds the type by its plain name.
    pub visible: bool,
    /// `pg_type.typname`.
    pub name: String,
    /// `pg_type.typtype`: `b` base, `c` composite, `d` domain, `e` enum,
    /// `p` pseudo, `r` range, `m` multirange.
    pub typtype: char,
    /// `pg_type.typcategory`: `A` for arrays.
    pub category: char,
    /// `pg_type.typelem`: the element type of an array, else 0 (or the
    /// element of a fixed-length type such as `point`).
    pub element: Oid,
    /// `pg_type.typbasetype`: the base type of a domain, else 0.
    pub base: Oid,
    /// `pg_range.rngsubtype`: the element type of a range, else 0.
    pub range_subtype: Oid,
    /// The attributes of a composite type, in order.
    pub fields: Vec<(String, Oid)>,
    /// An enum's labels in sort order (`enumlabels`); empty for other types,
    /// and when the row has no such column.
    pub labels: Vec<String>,
}

impl ResolvedType {
    /// Reads a row of [`RESOLVE_TYPES_SQL`].
    pub fn from_row(row: &Row) -> Result<ResolvedType, ColumnError> {
        fn one_char(row: &Row, column: &str) -> Result<char, ColumnError> {
            let text: String = row.try_get(column)?;
            Ok(text.chars().next().unwrap_or('\0'))
        }
        let names: Vec<String> = row.try_get("attnames")?;
        let types: Vec<Oid> = row.try_get("atttypes")?;
        if names.len() != types.len() {
            let index = "atttypes".resolve(row.description())?;
            return Err(ColumnError::Decode {
                index,
                column: "atttypes".to_owned(),
                source: TypeError::invalid(
                    oid::OID_ARRAY,
                    "attribute names and types differ in number",
                ),
            });
        }
        // Optional, so that rows of the query before it had labels still
        // read.
        let labels = match row.description().index_of("enumlabels") {
            Some(index) => row.try_get::<Vec<String>>(index)?,
            None => Vec::new(),
        };
        Ok(ResolvedType {
            labels,
            oid: row.try_get("oid")?,
            schema: row.try_get("nspname")?,
            visible: row.try_get("visible")?,
            name: row.try_get("typname")?,
            typtype: one_char(row, "typtype")?,
            category: one_char(row, "typcategory")?,
            element: row.try_get("typelem")?,
            base: row.try_get("typbasetype")?,
            range_subtype: row.try_get("rngsubtype")?,
            fields: names.into_iter().zip(types).collect(),
        })
    }

    /// The kind this row describes.
    pub fn kind(&self) -> TypeKind {
        match self.typtype {
            'e' => TypeKind::Enum,
            'd' => TypeKind::Domain { base: self.base },
            'r' => TypeKind::Range {
                subtype: self.range_subtype,
            },
            'c' => TypeKind::Composite {
                fields: self.fields.clone(),
            },
            'b' if self.category == 'A' && self.element != 0 => TypeKind::Array {
                element: self.element,
            },
            'b' if self.name == "hstore" => TypeKind::Hstore,
            _ => TypeKind::Base,
        }
    }
}

/// Resolves type names to OIDs and kinds: `$1` is a `text[]` of names, plain
/// (`mood`, visible in the search path) or schema-qualified (`public.mood`).
///
/// It returns one row per type found, plus the array type of each and the
/// element, base or subtype each refers to, so that registering them all
/// lets `mood[]` decode too; the user-defined types a composite's fields,
/// an array's elements or a domain's base are of are followed (nested
/// composites, their enums and domains), so that the composite decodes
/// field by field. Columns: `oid`, `nspname`, `visible`,
/// `typname`, `typtype`,
/// `typcategory`, `typelem`, `typbasetype`, `rngsubtype` and, for
/// composites, `attnames` (`text[]`) and `atttypes` (`oid[]`), and for enums
/// `enumlabels` (`text[]`, in sort order); feed each row
/// to [`TypeRegistry::apply_resolve_row`]. Names not found return no row.
pub const RESOLVE_TYPES_SQL: &str = "\
WITH RECURSIVE requested AS (
  SELECT t.oid, t.typarray, t.typelem, t.typbasetype, t.typrelid
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE (t.typname = ANY($1::text[]) AND pg_catalog.pg_type_is_visible(t.oid))
     OR n.nspname || '.' || t.typname = ANY($1::text[])
  UNION
  SELECT t.oid, t.typarray, t.typelem, t.typbasetype, t.typrelid
  FROM requested q
  JOIN pg_catalog.pg_type t
    ON t.oid IN (q.typelem, q.typbasetype)
    OR t.oid IN (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = q.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
  WHERE t.oid >= 16384
), wanted AS (
  SELECT oid FROM requested
  UNION SELECT typarray FROM requested
  UNION SELECT typelem FROM requested
  UNION SELECT typbasetype FROM requested
  UNION SELECT r.rngsubtype FROM pg_catalog.pg_range r JOIN requested q ON r.rngtypid = q.oid
)
SELECT t.oid, n.nspname, pg_catalog.pg_type_is_visible(t.oid) AS visible, t.typname,
       t.typtype, t.typcategory, t.typelem, t.typbasetype,
       COALESCE(r.rngsubtype, 0) AS rngsubtype,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum) AS attnames,
       ARRAY(SELECT a.atttypid FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum) AS atttypes,
       ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
             WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS enumlabels
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid
WHERE t.oid IN (SELECT oid FROM wanted) AND t.oid <> 0";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::value::testing::row;

    #[test]
    fn builtin_names() {
        let types = TypeRegistry::new();
        for (name, oid) in [
            ("bool", oid::BOOL),
            ("int4", oid::INT4),
            ("INT4", oid::INT4),
            ("integer", oid::INT4),
            ("bigint", oid::INT8),
            ("double precision", oid::FLOAT8),
            ("text", oid::TEXT),
            ("_int4", oid::INT4_ARRAY),
            ("int4[]", oid::INT4_ARRAY),
            ("integer[]", oid::INT4_ARRAY),
            ("_text", oid::TEXT_ARRAY),
            ("jsonb", oid::JSONB),
            ("_jsonb", 3807),
            ("date", 1082),
            ("timestamptz", 1184),
            ("timestamp with time zone", 1184),
            ("uuid", 2950),
            ("_uuid", 2951),
            ("int4range", oid::INT4RANGE),
            ("record", oid::RECORD),
            ("_record", 2287),
        ] {
            assert_eq!(types.find_oid_for_type(name), Some(oid), "{name}");
        }
        for name in ["", "int4[][]x", "mood", "unknown[]", "_unknown", "hstore"] {
            assert_eq!(types.find_oid_for_type(name), None, "{name}");
        }
        assert_eq!(types.name(oid::INT4), Some("int4"));
        assert_eq!(types.name(oid::INT4_ARRAY), Some("_int4"));
        assert_eq!(types.name(oid::CHAR), Some("char"));
        assert_eq!(types.name(16_400), None);
    }

    #[test]
    fn builtin_table_is_consistent() {
        for b in BUILTINS {
            assert!(b.oid < 16_384 && b.array < 16_384, "{}", b.name);
            assert_eq!(BUILTINS.iter().filter(|o| o.oid == b.oid).count(), 1);
            if b.array != 0 {
                assert_eq!(builtin_element(b.array), Some(b.oid), "{}", b.name);
                assert_eq!(builtin_array(b.oid), Some(b.array));
                assert!(builtin(b.array).is_none(), "{}", b.name);
                assert_eq!(
                    BUILTINS.iter().filter(|o| o.array == b.array).count(),
                    1,
                    "{}",
                    b.name
                );
            }
            assert_eq!(builtin_oid(b.name), Some(b.oid));
        }
    }

    #[test]
    fn builtin_kinds() {
        let types = TypeRegistry::new();
        assert_eq!(types.kind(oid::INT4), Some(TypeKind::Base));
        assert_eq!(
            types.kind(oid::TEXT_ARRAY),
            Some(TypeKind::Array { element: oid::TEXT })
        );
        assert_eq!(
            types.kind(oid::INT8RANGE),
            Some(TypeKind::Range { subtype: oid::INT8 })
        );
        assert_eq!(types.kind(16_400), None);
        assert!(!types.is_hstore(16_400));
        assert_eq!(types.array_of(oid::INT8), Some(oid::INT8_ARRAY));
    }

    #[test]
    fn registration() {
        let mut types = TypeRegistry::new();
        types.register("hstore", 16_500, TypeKind::Hstore);
        types.register("_hstore", 16_505, TypeKind::Array { element: 16_500 });
        types.register("mood", 16_600, TypeKind::Enum);
        types.register("email", 16_700, TypeKind::Domain { base: oid::TEXT });
        let fields = vec![("x".to_owned(), oid::INT4), ("y".to_owned(), oid::TEXT)];
        types.register(
            "pair",
            16_800,
            TypeKind::Composite {
                fields: fields.clone(),
            },
        );
        types.register("floatrange", 16_900, TypeKind::Range { subtype: 701 });
        types.alias("public.mood", 16_600);

        assert!(types.is_hstore(16_500));
        assert_eq!(types.find_oid_for_type("hstore"), Some(16_500));
        assert_eq!(types.find_oid_for_type("hstore[]"), Some(16_505));
        assert_eq!(types.find_oid_for_type("public.mood"), Some(16_600));
        assert_eq!(types.find_oid_for_type("Mood"), None);
        assert_eq!(types.name(16_800), Some("pair"));
        assert_eq!(types.kind(16_800), Some(TypeKind::Composite { fields }));
        assert_eq!(
            types.kind(16_700),
            Some(TypeKind::Domain { base: oid::TEXT })
        );
        assert_eq!(
            types.unresolved(["mood", "int4", "nope", "text[]"]),
            vec!["nope"]
        );

        // Renaming an OID drops the old name.
        types.register("feeling", 16_600, TypeKind::Enum);
        assert_eq!(types.find_oid_for_type("mood"), None);
        assert_eq!(types.find_oid_for_type("feeling"), Some(16_600));

        types.clear();
        assert_eq!(types.find_oid_for_type("feeling"), None);
        assert_eq!(types.find_oid_for_type("int8"), Some(oid::INT8));
    }

    #[test]
    fn resolve_rows() {
        let mut types = TypeRegistry::new();
        let enum_row = row(&[
            ("oid", oid::OID, Format::Text, Some(b"16390")),
            ("nspname", oid::NAME, Format::Text, Some(b"public")),
            ("visible", oid::BOOL, Format::Binary, Some(&[1])),
            ("typname", oid::NAME, Format::Text, Some(b"mood")),
            ("typtype", oid::CHAR, Format::Text, Some(b"e")),
            ("typcategory", oid::CHAR, Format::Text, Some(b"E")),
            ("typelem", oid::OID, Format::Text, Some(b"0")),
            ("typbasetype", oid::OID, Format::Text, Some(b"0")),
            ("rngsubtype", oid::OID, Format::Text, Some(b"0")),
            ("attnames", oid::TEXT_ARRAY, Format::Text, Some(b"{}")),
            ("atttypes", oid::OID_ARRAY, Format::Text, Some(b"{}")),
        ]);
        let resolved = types.apply_resolve_row(&enum_row).unwrap();
        assert_eq!(resolved.kind(), TypeKind::Enum);
        assert_eq!(types.find_oid_for_type("mood"), Some(16_390));
        assert_eq!(types.find_oid_for_type("public.mood"), Some(16_390));

        let composite_row = row(&[
            ("oid", oid::OID, Format::Text, Some(b"16400")),
            ("nspname", oid::NAME, Format::Text, Some(b"app")),
            ("visible", oid::BOOL, Format::Text, Some(b"t")),
            ("typname", oid::NAME, Format::Text, Some(b"pair")),
            ("typtype", oid::CHAR, Format::Text, Some(b"c")),
            ("typcategory", oid::CHAR, Format::Text, Some(b"C")),
            ("typelem", oid::OID, Format::Text, Some(b"0")),
            ("typbasetype", oid::OID, Format::Text, Some(b"0")),
            ("rngsubtype", oid::OID, Format::Text, Some(b"0")),
            (
                "attnames",
                oid::TEXT_ARRAY,
                Format::Text,
                Some(b"{x,\"y z\"}"),
            ),
            ("atttypes", oid::OID_ARRAY, Format::Text, Some(b"{23,25}")),
        ]);
        types.apply_resolve_row(&composite_row).unwrap();
        assert_eq!(
            types.kind(16_400),
            Some(TypeKind::Composite {
                fields: vec![("x".to_owned(), oid::INT4), ("y z".to_owned(), oid::TEXT)]
            })
        );
        assert_eq!(types.find_oid_for_type("app.pair"), Some(16_400));

        for (typtype, category, name, elem, base, sub, kind) in [
            ('d', 'S', "email", 0, 25, 0, TypeKind::Domain { base: 25 }),
            ('r', 'R', "fr", 0, 0, 701, TypeKind::Range { subtype: 701 }),
            (
                'b',
                'A',
                "_mood",
                16_390,
                0,
                0,
                TypeKind::Array { element: 16_390 },
            ),
            ('b', 'U', "hstore", 0, 0, 0, TypeKind::Hstore),
            ('b', 'S', "citext", 0, 0, 0, TypeKind::Base),
            ('m', 'R', "frm", 0, 0, 0, TypeKind::Base),
        ] {
            let resolved = ResolvedType {
                oid: 17_000,
                schema: String::new(),
                visible: true,
                name: name.to_owned(),
                typtype,
                category,
                element: elem,
                base,
                range_subtype: sub,
                fields: Vec::new(),
                labels: Vec::new(),
            };
            assert_eq!(resolved.kind(), kind, "{name}");
        }

        let bad = row(&[
            ("oid", oid::OID, Format::Text, Some(b"16400")),
            ("nspname", oid::NAME, Format::Text, Some(b"app")),
            ("visible", oid::BOOL, Format::Text, Some(b"t")),
            ("typname", oid::NAME, Format::Text, Some(b"pair")),
            ("typtype", oid::CHAR, Format::Text, Some(b"c")),
            ("typcategory", oid::CHAR, Format::Text, Some(b"C")),
            ("typelem", oid::OID, Format::Text, Some(b"0")),
            ("typbasetype", oid::OID, Format::Text, Some(b"0")),
            ("rngsubtype", oid::OID, Format::Text, Some(b"0")),
            ("attnames", oid::TEXT_ARRAY, Format::Text, Some(b"{x}")),
            ("atttypes", oid::OID_ARRAY, Format::Text, Some(b"{23,25}")),
        ]);
        assert!(matches!(
            types.apply_resolve_row(&bad),
            Err(ColumnError::Decode { index: 10, .. })
        ));
        let missing = row(&[("oid", oid::OID, Format::Text, Some(b"1"))]);
        assert!(matches!(
            types.apply_resolve_row(&missing),
            Err(ColumnError::UnknownColumn(_))
        ));
    }

    #[test]
    fn shadowed_names_stay_qualified() {
        let resolved = |oid: Oid, schema: &str, visible: bool| ResolvedType {
            oid,
            schema: schema.to_owned(),
            visible,
            name: "mood".to_owned(),
            typtype: 'e',
            category: 'E',
            element: 0,
            base: 0,
            range_subtype: 0,
            fields: Vec::new(),
            labels: Vec::new(),
        };
        for order in [[true, false], [false, true]] {
            let mut types = TypeRegistry::new();
            for visible in order {
                if visible {
                    types.apply(&resolved(16_513, "public", true));
                } else {
                    types.apply(&resolved(16_537, "app", false));
                }
            }
            assert_eq!(types.find_oid_for_type("mood"), Some(16_513));
            assert_eq!(types.find_oid_for_type("public.mood"), Some(16_513));
            assert_eq!(types.find_oid_for_type("app.mood"), Some(16_537));
            assert_eq!(types.name(16_537), Some("mood"));
            assert_eq!(types.kind(16_537), Some(TypeKind::Enum));
        }
    }

    #[test]
    fn registry_decodes_registered_types() {
        let mut types = TypeRegistry::new();
        types.register("mood", 16_600, TypeKind::Enum);
        types.register("_mood", 16_601, TypeKind::Array { element: 16_600 });
        types.register("email", 16_700, TypeKind::Domain { base: oid::INT4 });
        assert_eq!(
            types.decode(16_600, Format::Binary, b"happy"),
            Ok(Value::Text("happy".to_owned()))
        );
        assert_eq!(
            types.decode(16_700, Format::Binary, &[0, 0, 0, 7]),
            Ok(Value::Int4(7))
        );
        let Ok(Value::Array(array)) = types.decode(16_601, Format::Text, b"{sad,\"very happy\"}")
        else {
            panic!("not an array")
        };
        assert_eq!(
            array.elements,
            vec![
                Some(Value::Text("sad".to_owned())),
                Some(Value::Text("very happy".to_owned()))
            ]
        );
        assert_eq!(
            types.decode_nullable(16_600, Format::Text, None),
            Ok(Value::Null)
        );
        // Unknown types stay unknown.
        assert_eq!(
            types.decode(16_999, Format::Text, b"x"),
            Ok(Value::Unknown {
                oid: 16_999,
                format: Format::Text,
                bytes: b"x".to_vec()
            })
        );
    }
}
