//! What the registered types mean for the result formats a connection asks
//! for, and for the types containers hand their elements: a registered
//! composite whose fields all decode in binary is fetched in binary, and a
//! domain's values are its base type's, in either format.

use super::registry::{TypeKind, TypeRegistry};
use super::{has_binary_decoder, oid, Oid};

/// How deep a chain of registered types (domains of composites of arrays
/// ...) is followed: the catalog allows no cycles, but a registry filled by
/// hand might hold one.
const MAX_DEPTH: usize = 32;

impl TypeRegistry {
    /// Whether a connection asks for results of type `ty` in binary: the
    /// built-in types with a binary decoder
    /// ([`has_binary_decoder`](super::has_binary_decoder)), and registered
    /// composites (with arrays, domains and ranges of them) whose fields
    /// all decode in binary, built-in or registered (enums, domains, nested
    /// composites). Enum columns stay text: their two formats are the same
    /// label, and text is what readers of strings take from any type.
    ///
    /// ```
    /// use pgwire_proto::types::{oid, TypeKind, TypeRegistry};
    ///
    /// let mut types = TypeRegistry::new();
    /// types.register("mood", 16_600, TypeKind::Enum);
    /// let fields = vec![("n".to_owned(), oid::INT4), ("m".to_owned(), 16_600)];
    /// types.register("pair", 16_800, TypeKind::Composite { fields });
    /// assert!(types.binary_result(oid::INT4));
    /// assert!(types.binary_result(16_800));
    /// assert!(!types.binary_result(16_600));
    /// assert!(!types.binary_result(16_999));
    /// ```
    pub fn binary_result(&self, ty: Oid) -> bool {
        has_binary_decoder(ty) || self.binary(ty, 0) == Some(true)
    }

    /// `None` when values of `ty` may not decode in binary; else whether a
    /// registered composite is involved.
    fn binary(&self, ty: Oid, depth: usize) -> Option<bool> {
        if has_binary_decoder(ty) {
            return Some(false);
        }
        if depth > MAX_DEPTH {
            return None;
        }
        match self.registered_kind(ty)? {
            TypeKind::Enum => Some(false),
            TypeKind::Domain { base } => self.binary(*base, depth + 1),
            TypeKind::Array { element } => self.binary(*element, depth + 1),
            TypeKind::Range { subtype } => self.binary(*subtype, depth + 1),
            TypeKind::Composite { fields } => {
                for (_, field) in fields {
                    self.binary(*field, depth + 1)?;
                }
                Some(true)
            }
            // hstore's readers take its text; a base type's binary format
            // is its own.
            TypeKind::Hstore | TypeKind::Base => None,
        }
    }

    /// The type whose decoders read values of `ty` in the binary format: a
    /// registered domain's base type (through domains of domains), `text`
    /// for a registered enum (its binary format is its label's text), else
    /// `ty`. The binary formats of records and arrays name a field's or
    /// element's declared type, which typed readers (`i32`, `String`) do
    /// not know.
    pub(crate) fn wire_type(&self, mut ty: Oid) -> Oid {
        for _ in 0..MAX_DEPTH {
            match self.registered_kind(ty) {
                Some(TypeKind::Domain { base }) => ty = *base,
                Some(TypeKind::Enum) => return oid::TEXT,
                _ => break,
            }
        }
        ty
    }

    /// The type of field `index` of the registered composite `ty`.
    pub(crate) fn field_type(&self, ty: Oid, index: usize) -> Option<Oid> {
        match self.registered_kind(ty) {
            Some(TypeKind::Composite { fields }) => fields.get(index).map(|(_, t)| *t),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_results() {
        let mut types = TypeRegistry::new();
        types.register("mood", 16_600, TypeKind::Enum);
        types.register("posint", 16_610, TypeKind::Domain { base: oid::INT4 });
        types.register("hstore", 16_620, TypeKind::Hstore);
        types.register("citext", 16_630, TypeKind::Base);
        let inner = vec![("m".to_owned(), 16_600), ("p".to_owned(), 16_610)];
        types.register("inner", 16_700, TypeKind::Composite { fields: inner });
        types.register("_inner", 16_701, TypeKind::Array { element: 16_700 });
        let outer = vec![("i".to_owned(), 16_700), ("a".to_owned(), 16_701)];
        types.register("outer", 16_800, TypeKind::Composite { fields: outer });
        types.register("wrapped", 16_810, TypeKind::Domain { base: 16_800 });
        let text_only = vec![("h".to_owned(), 16_620)];
        types.register("texty", 16_900, TypeKind::Composite { fields: text_only });
        let base = vec![("c".to_owned(), 16_630)];
        types.register("based", 16_910, TypeKind::Composite { fields: base });
        types.register("unknown_field", 16_920, {
            TypeKind::Composite {
                fields: vec![("u".to_owned(), 17_000)],
            }
        });
        types.register("loop", 16_930, TypeKind::Domain { base: 16_931 });
        types.register("loop2", 16_931, TypeKind::Domain { base: 16_930 });

        for ty in [oid::INT4, oid::RECORD, 16_700, 16_701, 16_800, 16_810] {
            assert!(types.binary_result(ty), "{ty}");
        }
        for ty in [
            16_600, 16_610, 16_620, 16_630, 16_900, 16_910, 16_920, 16_930,
        ] {
            assert!(!types.binary_result(ty), "{ty}");
        }
        assert_eq!(types.wire_type(16_610), oid::INT4);
        assert_eq!(types.wire_type(16_600), oid::TEXT);
        assert_eq!(types.wire_type(16_810), 16_800);
        assert_eq!(types.wire_type(oid::TEXT), oid::TEXT);
        // A cycle ends somewhere rather than looping.
        let end = types.wire_type(16_930);
        assert!(end == 16_930 || end == 16_931);
        assert_eq!(types.field_type(16_800, 1), Some(16_701));
        assert_eq!(types.field_type(16_800, 2), None);
        assert_eq!(types.field_type(16_600, 0), None);
    }
}
