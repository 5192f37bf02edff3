//! # pgwire-derive
//!
//! Derive macros for pgwire, re-exported by `pgwire-conn` and each runtime
//! adapter under their `derive` feature (use them from there):
//!
//! - `#[derive(FromRow)]` for a struct with named fields: each field is the
//!   column of its name (`#[pgwire(rename = "...")]`, or a `rename_all`
//!   rule on the struct), `Option<T>` for a column that may be NULL, and
//!   `#[pgwire(flatten)]` for a nested `FromRow` struct read from the same
//!   row. A missing column or one that does not decode is an
//!   `Error::FromRow` naming the column and the field.
//! - `#[derive(ToSql, FromSql)]` for
//!   - an enum of unit variants: a PostgreSQL enum, each variant its label
//!     (the variant's name, or `rename` / `rename_all`);
//!   - a struct with named fields: a composite type, its fields in the
//!     type's attribute order (the server sends a named composite type in
//!     the text format, which does not name the fields' types: each field
//!     is read as the type its Rust type declares, `ToSql::static_type`,
//!     and one that declares none as a user-defined type's text, which
//!     strings, enums, their arrays and nested composites take; other such
//!     fields are a typed error);
//!   - a newtype with `#[pgwire(transparent)]`: converts as its one field
//!     (a domain over the field's type, or just a stronger Rust type).
//!
//! ```ignore
//! #[derive(Debug, ToSql, FromSql)]
//! #[pgwire(rename_all = "snake_case")]
//! enum Mood { Sad, VeryHappy }
//! ```
//!
//! The generated code names the crate it uses: the first of
//! `pgwire-conn`, `pgwire-tokio`, `pgwire-smol`, `pgwire-async-std` that
//! the package's `Cargo.toml` depends on; `#[pgwire(crate = "path")]`
//! names it for a renamed dependency.

mod attrs;
mod row;
mod sql;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Reads a struct from a row by column name. See the crate docs.
#[proc_macro_derive(FromRow, attributes(pgwire))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    row::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Sends an enum, a composite struct or a transparent newtype as a query
/// parameter. See the crate docs.
#[proc_macro_derive(ToSql, attributes(pgwire))]
pub fn derive_to_sql(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    sql::derive_to_sql(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Reads an enum, a composite struct or a transparent newtype from a
/// column value. See the crate docs.
#[proc_macro_derive(FromSql, attributes(pgwire))]
pub fn derive_from_sql(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    sql::derive_from_sql(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
