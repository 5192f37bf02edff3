//! The `#[pgwire(...)]` attributes: what each derive accepts, and the
//! names they produce.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Attribute, Error, LitStr, Result};

/// Attributes on the type itself.
#[derive(Default)]
pub struct Container {
    /// `crate = "path"`: where the traits are, when it cannot be found.
    pub krate: Option<syn::Path>,
    /// `rename_all = "..."`: how variant and field names become labels and
    /// column names.
    pub rename_all: Option<RenameRule>,
    /// `transparent`: a newtype that converts as its one field.
    pub transparent: bool,
}

/// Attributes on a field or a variant.
#[derive(Default)]
pub struct Member {
    /// `rename = "..."`: the column name or enum label.
    pub rename: Option<String>,
    /// `flatten`: a nested `FromRow` struct read from the same row.
    pub flatten: Option<Span>,
}

const CONTAINER_KEYS: &str = "`crate`, `rename_all`, `transparent`";
const MEMBER_KEYS: &str = "`rename`, `flatten`";

impl Container {
    /// Reads every `#[pgwire(...)]` on the type.
    pub fn parse(attrs: &[Attribute]) -> Result<Self> {
        let mut out = Container::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("pgwire")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("crate") {
                    let lit: LitStr = meta.value()?.parse()?;
                    out.krate = Some(lit.parse()?);
                } else if meta.path.is_ident("rename_all") {
                    let lit: LitStr = meta.value()?.parse()?;
                    out.rename_all = Some(RenameRule::parse(&lit)?);
                } else if meta.path.is_ident("transparent") {
                    out.transparent = true;
                } else {
                    return Err(meta.error(format!(
                        "unknown pgwire attribute `{}` on a type; expected one of {CONTAINER_KEYS}",
                        path_name(&meta.path)
                    )));
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// The path of the crate the generated code refers to.
    pub fn krate(&self) -> TokenStream {
        match &self.krate {
            Some(path) => quote!(#path),
            None => default_crate(),
        }
    }
}

impl Member {
    /// Reads every `#[pgwire(...)]` on a field or variant.
    pub fn parse(attrs: &[Attribute]) -> Result<Self> {
        let mut out = Member::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("pgwire")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let lit: LitStr = meta.value()?.parse()?;
                    out.rename = Some(lit.value());
                } else if meta.path.is_ident("flatten") {
                    out.flatten = Some(meta.path.span_of());
                } else {
                    return Err(meta.error(format!(
                        "unknown pgwire attribute `{}` on a field or variant; expected one of {MEMBER_KEYS}",
                        path_name(&meta.path)
                    )));
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}

trait SpanOf {
    fn span_of(&self) -> Span;
}

impl SpanOf for syn::Path {
    fn span_of(&self) -> Span {
        syn::spanned::Spanned::span(self)
    }
}

fn path_name(path: &syn::Path) -> String {
    quote!(#path).to_string().replace(' ', "")
}

/// The crate to refer to: the first of pgwire's crates that re-export the
/// traits which the package being compiled depends on by its own name, as
/// its manifest says; `pgwire_conn` if none is found (then
/// `#[pgwire(crate = "...")]` names it, for a renamed dependency).
fn default_crate() -> TokenStream {
    const CRATES: [&str; 4] = [
        "pgwire-conn",
        "pgwire-tokio",
        "pgwire-smol",
        "pgwire-async-std",
    ];
    let manifest = std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .and_then(|dir| std::fs::read_to_string(std::path::Path::new(&dir).join("Cargo.toml")).ok())
        .unwrap_or_default();
    let found = CRATES
        .iter()
        .find(|name| depends_on(&manifest, name))
        .unwrap_or(&"pgwire-conn");
    let ident = syn::Ident::new(&found.replace('-', "_"), Span::call_site());
    quote!(::#ident)
}

/// Whether `manifest` has a dependency key `name` (`name = ...`,
/// `name.workspace = true`, `[dependencies.name]`).
fn depends_on(manifest: &str, name: &str) -> bool {
    manifest.lines().any(|line| {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix(name) {
            let rest = rest.trim_start();
            return rest.starts_with('=') || rest.starts_with('.');
        }
        line.starts_with('[') && line.trim_end_matches(']').ends_with(&format!(".{name}"))
    })
}

/// A `rename_all` rule, serde's names.
#[derive(Clone, Copy)]
pub enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    fn parse(lit: &LitStr) -> Result<Self> {
        Ok(match lit.value().as_str() {
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "PascalCase" => RenameRule::Pascal,
            "camelCase" => RenameRule::Camel,
            "snake_case" => RenameRule::Snake,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "kebab-case" => RenameRule::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebab,
            other => {
                return Err(Error::new(
                    lit.span(),
                    format!(
                        "unknown rename_all rule {other:?}; expected one of \"lowercase\", \
                         \"UPPERCASE\", \"PascalCase\", \"camelCase\", \"snake_case\", \
                         \"SCREAMING_SNAKE_CASE\", \"kebab-case\", \"SCREAMING-KEBAB-CASE\""
                    ),
                ))
            }
        })
    }

    /// The words of `name`, a PascalCase variant or a snake_case field.
    fn words(name: &str) -> Vec<String> {
        let mut words: Vec<String> = Vec::new();
        for part in name.split('_').filter(|p| !p.is_empty()) {
            let mut word = String::new();
            for c in part.chars() {
                if c.is_uppercase() && !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.push(c);
            }
            if !word.is_empty() {
                words.push(word);
            }
        }
        words
    }

    /// `name` under this rule.
    pub fn apply(self, name: &str) -> String {
        let words = Self::words(name);
        let lower = || words.iter().map(|w| w.to_lowercase());
        let upper = || words.iter().map(|w| w.to_uppercase());
        let capital = |w: &String| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        };
        match self {
            // As serde: the name's case changes, its underscores stay.
            RenameRule::Lower => name.to_lowercase(),
            RenameRule::Upper => name.to_uppercase(),
            RenameRule::Pascal => words.iter().map(capital).collect(),
            RenameRule::Camel => words
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 0 { w.to_lowercase() } else { capital(w) })
                .collect(),
            RenameRule::Snake => lower().collect::<Vec<_>>().join("_"),
            RenameRule::ScreamingSnake => upper().collect::<Vec<_>>().join("_"),
            RenameRule::Kebab => lower().collect::<Vec<_>>().join("-"),
            RenameRule::ScreamingKebab => upper().collect::<Vec<_>>().join("-"),
        }
    }
}

/// The name of field or variant `ident` under its `rename` or the type's
/// `rename_all`.
pub fn name_of(ident: &syn::Ident, member: &Member, container: &Container) -> String {
    if let Some(name) = &member.rename {
        return name.clone();
    }
    let raw = ident.to_string();
    let raw = raw.strip_prefix("r#").unwrap_or(&raw);
    match container.rename_all {
        Some(rule) => rule.apply(raw),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_rules() {
        let cases = [
            (RenameRule::Lower, "VeryHappy", "veryhappy"),
            (RenameRule::Upper, "VeryHappy", "VERYHAPPY"),
            (RenameRule::Snake, "VeryHappy", "very_happy"),
            (RenameRule::ScreamingSnake, "VeryHappy", "VERY_HAPPY"),
            (RenameRule::Kebab, "VeryHappy", "very-happy"),
            (RenameRule::ScreamingKebab, "VeryHappy", "VERY-HAPPY"),
            (RenameRule::Camel, "VeryHappy", "veryHappy"),
            (RenameRule::Pascal, "VeryHappy", "VeryHappy"),
            (RenameRule::Pascal, "user_id", "UserId"),
            (RenameRule::Camel, "user_id", "userId"),
            (RenameRule::Kebab, "user_id", "user-id"),
            (RenameRule::Upper, "user_id", "USER_ID"),
            (RenameRule::ScreamingSnake, "user_id", "USER_ID"),
            (RenameRule::Snake, "user_id", "user_id"),
        ];
        for (rule, name, expected) in cases {
            assert_eq!(rule.apply(name), expected, "{name}");
        }
    }

    #[test]
    fn finds_dependencies() {
        let manifest = "[dependencies]\npgwire-tokio = { workspace = true }\n";
        assert!(depends_on(manifest, "pgwire-tokio"));
        assert!(!depends_on(manifest, "pgwire-conn"));
        assert!(depends_on("pgwire-smol.workspace = true", "pgwire-smol"));
        assert!(depends_on("[dependencies.pgwire-conn]", "pgwire-conn"));
        assert!(!depends_on("pgwire-connx = \"1\"", "pgwire-conn"));
    }
}
