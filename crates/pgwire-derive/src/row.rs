//! `#[derive(FromRow)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Error, Fields, Result};

use crate::attrs::{name_of, Container, Member};

pub fn derive(input: &DeriveInput) -> Result<TokenStream> {
    let container = Container::parse(&input.attrs)?;
    if container.transparent {
        return Err(Error::new_spanned(
            &input.ident,
            "#[pgwire(transparent)] is for ToSql/FromSql newtypes; FromRow reads named fields",
        ));
    }
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => &fields.named,
            Fields::Unnamed(_) => {
                return Err(Error::new_spanned(
                    &input.ident,
                    "FromRow needs a struct with named fields (columns are found by name); \
                     for a row read by position, use a tuple: (i32, String) implements FromRow",
                ))
            }
            Fields::Unit => return Err(Error::new_spanned(
                &input.ident,
                "FromRow needs a struct with named fields; a unit struct has no columns to read",
            )),
        },
        Data::Enum(_) | Data::Union(_) => {
            return Err(Error::new_spanned(
                &input.ident,
                "FromRow can be derived for structs with named fields only",
            ))
        }
    };
    let krate = container.krate();
    let name = &input.ident;
    let target = name.to_string();
    let mut inits = Vec::new();
    let mut bounds = Vec::new();
    for field in fields {
        let member = Member::parse(&field.attrs)?;
        let Some(ident) = &field.ident else {
            return Err(Error::new_spanned(field, "a named field has a name"));
        };
        let ty = &field.ty;
        if member.flatten.is_some() {
            if member.rename.is_some() {
                return Err(Error::new_spanned(
                    ident,
                    "a flattened field reads columns of its own struct: it has no column to rename",
                ));
            }
            bounds.push(quote!(#ty: #krate::FromRow));
            inits.push(quote!(#ident: <#ty as #krate::FromRow>::from_row(row)?));
        } else {
            let column = name_of(ident, &member, &container);
            let field_name = ident.to_string();
            let field_name = field_name.strip_prefix("r#").unwrap_or(&field_name);
            bounds.push(quote!(#ty: for<'__pg> #krate::FromSql<'__pg>));
            inits.push(quote!(
                #ident: #krate::__derive::column::<#ty>(row, #column, #target, #field_name)?
            ));
        }
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    // Only generic field types need the bounds; concrete ones are checked
    // where they are used, with the compiler's own message.
    if !input.generics.params.is_empty() {
        predicates.extend(bounds);
    }
    Ok(quote! {
        impl #impl_generics #krate::FromRow for #name #ty_generics where #(#predicates,)* {
            fn from_row(row: &#krate::Row) -> #krate::Result<Self> {
                ::core::result::Result::Ok(Self { #(#inits,)* })
            }
        }
    })
}
