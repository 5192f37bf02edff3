//! `#[derive(ToSql)]` and `#[derive(FromSql)]`: enums, composite structs
//! and transparent newtypes.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Error, Fields, Ident, Member as FieldMember, Result, Type};

use crate::attrs::{name_of, Container, Member};

/// What the type converts as.
enum Shape<'a> {
    /// Variants and their labels.
    Enum(Vec<(&'a Ident, String)>),
    /// Fields in order.
    Composite(Vec<(&'a Ident, &'a Type)>),
    /// The one field.
    Transparent(FieldMember, &'a Type),
}

fn shape<'a>(input: &'a DeriveInput, container: &Container, derive: &str) -> Result<Shape<'a>> {
    match &input.data {
        Data::Enum(data) => {
            if container.transparent {
                return Err(Error::new_spanned(
                    &input.ident,
                    "#[pgwire(transparent)] is for a struct with one field, not an enum",
                ));
            }
            if data.variants.is_empty() {
                return Err(Error::new_spanned(
                    &input.ident,
                    format!("{derive} needs an enum with at least one variant (a label)"),
                ));
            }
            let mut variants: Vec<(&Ident, String)> = Vec::new();
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) {
                    return Err(Error::new_spanned(
                        variant,
                        format!(
                            "{derive} for an enum maps unit variants to PostgreSQL enum labels; \
                             variant `{}` has fields",
                            variant.ident
                        ),
                    ));
                }
                let member = Member::parse(&variant.attrs)?;
                if member.flatten.is_some() {
                    return Err(Error::new_spanned(
                        variant,
                        "flatten is for FromRow struct fields",
                    ));
                }
                let label = name_of(&variant.ident, &member, container);
                if let Some((other, _)) = variants.iter().find(|(_, l)| *l == label) {
                    return Err(Error::new_spanned(
                        variant,
                        format!(
                            "variants `{other}` and `{}` have the same label {label:?}",
                            variant.ident
                        ),
                    ));
                }
                variants.push((&variant.ident, label));
            }
            Ok(Shape::Enum(variants))
        }
        Data::Struct(data) => {
            if container.transparent {
                let mut fields = data.fields.iter();
                return match (fields.next(), fields.next()) {
                    (Some(field), None) => {
                        let member = match &field.ident {
                            Some(ident) => FieldMember::Named(ident.clone()),
                            None => FieldMember::Unnamed(0.into()),
                        };
                        Ok(Shape::Transparent(member, &field.ty))
                    }
                    _ => Err(Error::new_spanned(
                        &input.ident,
                        "#[pgwire(transparent)] needs a struct with exactly one field",
                    )),
                };
            }
            match &data.fields {
                Fields::Named(named) => {
                    let mut fields = Vec::new();
                    for field in &named.named {
                        let member = Member::parse(&field.attrs)?;
                        if member.flatten.is_some() {
                            return Err(Error::new_spanned(
                                field,
                                "flatten is for FromRow; a composite type's fields are its own",
                            ));
                        }
                        if let Some(ident) = &field.ident {
                            fields.push((ident, &field.ty));
                        }
                    }
                    Ok(Shape::Composite(fields))
                }
                Fields::Unnamed(_) => Err(Error::new_spanned(
                    &input.ident,
                    format!(
                        "{derive} for a tuple struct: add #[pgwire(transparent)] to a newtype \
                         (one field) to convert it as its field, or name the fields for a \
                         composite type"
                    ),
                )),
                Fields::Unit => Err(Error::new_spanned(
                    &input.ident,
                    format!("{derive} cannot be derived for a unit struct: it has no value"),
                )),
            }
        }
        Data::Union(_) => Err(Error::new_spanned(
            &input.ident,
            format!("{derive} cannot be derived for a union"),
        )),
    }
}

pub fn derive_to_sql(input: &DeriveInput) -> Result<TokenStream> {
    let container = Container::parse(&input.attrs)?;
    let shape = shape(input, &container, "ToSql")?;
    let krate = container.krate();
    let d = quote!(#krate::__derive);
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    let generic = !input.generics.params.is_empty();
    let body = match &shape {
        Shape::Enum(variants) => {
            let arms = variants
                .iter()
                .map(|(ident, label)| quote!(Self::#ident => #label));
            quote! {
                fn natural_type(&self) -> #d::Oid {
                    // An enum's OID differs per database: the server infers it.
                    0
                }

                fn to_sql(
                    &self,
                    ty: #d::Oid,
                    out: &mut #d::BytesMut,
                ) -> ::core::result::Result<#d::Encoded, #d::TypeError> {
                    let label = match self { #(#arms,)* };
                    #d::label_to_sql::<Self>(label, ty, out)
                }
            }
        }
        Shape::Composite(fields) => {
            if generic {
                predicates.extend(fields.iter().map(|(_, ty)| quote!(#ty: #d::ToSql)));
            }
            let writes = fields
                .iter()
                .map(|(ident, _)| quote!(writer.field(&self.#ident)?;));
            quote! {
                fn natural_type(&self) -> #d::Oid {
                    // A composite's OID differs per database: the server infers it.
                    0
                }

                fn to_sql(
                    &self,
                    ty: #d::Oid,
                    out: &mut #d::BytesMut,
                ) -> ::core::result::Result<#d::Encoded, #d::TypeError> {
                    let mut writer = #d::CompositeWriter::new::<Self>(ty)?;
                    #(#writes)*
                    writer.finish(out)
                }
            }
        }
        Shape::Transparent(member, ty) => {
            if generic {
                predicates.push(quote!(#ty: #d::ToSql));
            }
            quote! {
                fn natural_type(&self) -> #d::Oid {
                    #d::ToSql::natural_type(&self.#member)
                }

                fn static_type() -> #d::Oid
                where
                    Self: ::core::marker::Sized,
                {
                    <#ty as #d::ToSql>::static_type()
                }

                fn to_sql(
                    &self,
                    ty: #d::Oid,
                    out: &mut #d::BytesMut,
                ) -> ::core::result::Result<#d::Encoded, #d::TypeError> {
                    #d::transparent_to_sql(&self.#member, ty, out)
                }
            }
        }
    };
    Ok(quote! {
        impl #impl_generics #d::ToSql for #name #ty_generics where #(#predicates,)* {
            #body
        }
    })
}

pub fn derive_from_sql(input: &DeriveInput) -> Result<TokenStream> {
    let container = Container::parse(&input.attrs)?;
    let shape = shape(input, &container, "FromSql")?;
    let krate = container.krate();
    let d = quote!(#krate::__derive);
    let name = &input.ident;
    let mut generics = input.generics.clone();
    generics.params.insert(0, syn::parse_quote!('__pg));
    let (impl_generics, _, _) = generics.split_for_impl();
    let (_, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    let generic = !input.generics.params.is_empty();
    let body = match &shape {
        Shape::Enum(variants) => {
            let arms = variants
                .iter()
                .map(|(ident, label)| quote!(#label => ::core::option::Option::Some(Self::#ident)));
            quote! {
                fn from_sql(
                    ty: #d::Oid,
                    _format: #d::Format,
                    raw: &'__pg [u8],
                ) -> ::core::result::Result<Self, #d::TypeError> {
                    #d::enum_from_label::<Self>(ty, raw, |label| match label {
                        #(#arms,)*
                        _ => ::core::option::Option::None,
                    })
                }
            }
        }
        Shape::Composite(fields) => {
            if generic {
                predicates.extend(
                    fields
                        .iter()
                        .map(|(_, ty)| quote!(#ty: for<'__f> #d::FromSql<'__f>)),
                );
            }
            let count = fields.len();
            let reads = fields.iter().map(|(ident, ty)| {
                let field_name = ident.to_string();
                let field_name = field_name
                    .strip_prefix("r#")
                    .unwrap_or(&field_name)
                    .to_owned();
                quote! {
                    #ident: fields.field::<#ty>(#field_name, {
                        #[allow(unused_imports)]
                        use #d::{TextTypeOfToSql as _, TextTypeUnknown as _};
                        (&#d::TextType::<#ty>::new()).text_type()
                    })?
                }
            });
            quote! {
                fn from_sql(
                    ty: #d::Oid,
                    format: #d::Format,
                    raw: &'__pg [u8],
                ) -> ::core::result::Result<Self, #d::TypeError> {
                    <Self as #d::FromSql<'__pg>>::from_sql_with(
                        ty,
                        format,
                        raw,
                        ::core::option::Option::None,
                    )
                }

                fn from_sql_with(
                    ty: #d::Oid,
                    format: #d::Format,
                    raw: &'__pg [u8],
                    types: ::core::option::Option<&#d::TypeRegistry>,
                ) -> ::core::result::Result<Self, #d::TypeError> {
                    let mut fields =
                        #d::CompositeFields::new_with::<Self>(ty, format, raw, #count, types)?;
                    let value = Self { #(#reads,)* };
                    fields.finish()?;
                    ::core::result::Result::Ok(value)
                }
            }
        }
        Shape::Transparent(member, ty) => {
            predicates.push(quote!(#ty: #d::FromSql<'__pg>));
            let wrap = match member {
                FieldMember::Named(ident) => quote!(|inner| Self { #ident: inner }),
                FieldMember::Unnamed(_) => quote!(Self),
            };
            quote! {
                fn from_sql(
                    ty: #d::Oid,
                    format: #d::Format,
                    raw: &'__pg [u8],
                ) -> ::core::result::Result<Self, #d::TypeError> {
                    <#ty as #d::FromSql<'__pg>>::from_sql(ty, format, raw).map(#wrap)
                }

                fn from_sql_with(
                    ty: #d::Oid,
                    format: #d::Format,
                    raw: &'__pg [u8],
                    types: ::core::option::Option<&#d::TypeRegistry>,
                ) -> ::core::result::Result<Self, #d::TypeError> {
                    <#ty as #d::FromSql<'__pg>>::from_sql_with(ty, format, raw, types).map(#wrap)
                }

                fn from_null(ty: #d::Oid) -> ::core::result::Result<Self, #d::TypeError> {
                    <#ty as #d::FromSql<'__pg>>::from_null(ty).map(#wrap)
                }
            }
        }
    };
    Ok(quote! {
        impl #impl_generics #d::FromSql<'__pg> for #name #ty_generics where #(#predicates,)* {
            #body
        }
    })
}
