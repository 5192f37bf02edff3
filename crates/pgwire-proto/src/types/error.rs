//! The error of a single value conversion.

use std::fmt;

use super::{oid, Oid};

/// A value could not be converted between its PostgreSQL and Rust types.
///
/// When reading a column, [`Row::try_get`](crate::Row::try_get) wraps this in
/// a [`ColumnError`](crate::ColumnError) naming the column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeError {
    /// The value is SQL NULL but the Rust type has no NULL; decode into an
    /// `Option` to accept it.
    UnexpectedNull,
    /// The Rust type does not convert to or from this PostgreSQL type.
    WrongType {
        /// The PostgreSQL type's OID.
        pg_type: Oid,
        /// The Rust type, as [`std::any::type_name`] spells it.
        rust_type: &'static str,
    },
    /// The types are compatible but this value does not fit the target type.
    OutOfRange {
        /// The PostgreSQL type's OID.
        pg_type: Oid,
        /// The Rust type, as [`std::any::type_name`] spells it.
        rust_type: &'static str,
    },
    /// A text value contains a NUL byte, which PostgreSQL text cannot hold.
    Nul,
    /// The bytes are not a valid value of the type (malformed data from the
    /// server, or an unparsable input).
    Invalid {
        /// The PostgreSQL type's OID.
        pg_type: Oid,
        /// What is wrong.
        reason: String,
    },
}

impl TypeError {
    /// [`TypeError::WrongType`] for the Rust type `T`.
    pub(crate) fn wrong_type<T: ?Sized>(pg_type: Oid) -> TypeError {
        TypeError::WrongType {
            pg_type,
            rust_type: std::any::type_name::<T>(),
        }
    }

    /// [`TypeError::OutOfRange`] for the Rust type `T`.
    pub(crate) fn out_of_range<T: ?Sized>(pg_type: Oid) -> TypeError {
        TypeError::OutOfRange {
            pg_type,
            rust_type: std::any::type_name::<T>(),
        }
    }

    pub(crate) fn invalid(pg_type: Oid, reason: impl Into<String>) -> TypeError {
        TypeError::Invalid {
            pg_type,
            reason: reason.into(),
        }
    }
}

/// Displays a type OID by name when it is a known built-in type.
#[derive(Debug, Clone, Copy)]
struct TypeName(Oid);

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match oid::name(self.0) {
            Some(name) => write!(f, "type {name}"),
            None => write!(f, "type OID {}", self.0),
        }
    }
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeError::UnexpectedNull => {
                f.write_str("unexpected NULL (use an Option to accept NULL)")
            }
            TypeError::WrongType { pg_type, rust_type } => write!(
                f,
                "cannot convert between PostgreSQL {} and Rust type {rust_type}",
                TypeName(*pg_type)
            ),
            TypeError::OutOfRange { pg_type, rust_type } => write!(
                f,
                "value out of range converting between PostgreSQL {} and Rust type {rust_type}",
                TypeName(*pg_type)
            ),
            TypeError::Nul => {
                f.write_str("text contains a NUL byte, which PostgreSQL cannot store")
            }
            TypeError::Invalid { pg_type, reason } => {
                write!(
                    f,
                    "invalid value of PostgreSQL {}: {reason}",
                    TypeName(*pg_type)
                )
            }
        }
    }
}

impl std::error::Error for TypeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_both_types() {
        let e = TypeError::wrong_type::<String>(oid::INT4);
        assert_eq!(
            e.to_string(),
            "cannot convert between PostgreSQL type int4 and Rust type alloc::string::String"
        );
        let e = TypeError::out_of_range::<i16>(oid::INT8);
        assert_eq!(
            e.to_string(),
            "value out of range converting between PostgreSQL type int8 and Rust type i16"
        );
    }

    #[test]
    fn display_falls_back_to_the_oid() {
        let e = TypeError::invalid(16_390, "bad");
        assert_eq!(
            e.to_string(),
            "invalid value of PostgreSQL type OID 16390: bad"
        );
        assert!(TypeError::UnexpectedNull.to_string().contains("NULL"));
        assert!(TypeError::Nul.to_string().contains("NUL"));
    }
}
