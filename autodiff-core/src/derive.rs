//! `#[derive(Parameters)]`: a struct whose fields are all parameters (floats, arrays, `Vec`s
//! or other such structs) is itself one, its leaves the fields' leaves in declaration order.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Index, Member};

pub fn derive_parameters(input: &DeriveInput) -> TokenStream {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => &data.fields,
        Data::Enum(data) => {
            return error(
                data.enum_token,
                "`#[derive(Parameters)]` applies to a struct of parameters, not an enum",
            )
        }
        Data::Union(data) => {
            return error(
                data.union_token,
                "`#[derive(Parameters)]` applies to a struct of parameters, not a union",
            )
        }
    };
    let Some(first) = fields.iter().next() else {
        return error(
            name,
            format!("`{name}` has no fields: `#[derive(Parameters)]` needs at least one array or float field"),
        );
    };
    // `_: T` parses (unnamed fields), but `self._` cannot be written.
    if let Some(ident) = fields
        .iter()
        .filter_map(|f| f.ident.as_ref())
        .find(|i| *i == "_")
    {
        return error(
            ident,
            "a field of a struct of parameters needs a name, not `_`",
        );
    }
    let members: Vec<Member> = fields
        .iter()
        .enumerate()
        .map(|(k, field)| match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(Index::from(k)),
        })
        .collect();
    let trait_path = quote!(::autodiff::Parameters);
    let first_ty = grouped(&first.ty);
    let zeros = fields.iter().zip(&members).map(|(field, member)| {
        quote_spanned!(field.ty.span()=> #member: #trait_path::zeros_like(&self.#member))
    });
    let visits = fields.iter().zip(&members).map(|(field, member)| {
        quote_spanned!(field.ty.span()=> #trait_path::for_each_leaf(&self.#member, f);)
    });
    let pairs = fields.iter().zip(&members).map(|(field, member)| {
        quote_spanned!(field.ty.span()=> #trait_path::for_each_leaf_mut_with(&mut self.#member, &other.#member, f);)
    });
    // Generic fields must be parameters of the first field's element type.
    let mut generics = input.generics.clone();
    if !generics.params.is_empty() {
        let where_clause = generics.make_where_clause();
        for field in fields {
            let ty = grouped(&field.ty);
            match syn::parse2(quote!(#ty: #trait_path<Elem = <#first_ty as #trait_path>::Elem>)) {
                Ok(predicate) => where_clause.predicates.push(predicate),
                Err(_) => return error(&field.ty, "this type cannot be a field of parameters"),
            }
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #trait_path for #name #ty_generics #where_clause {
            type Elem = <#first_ty as #trait_path>::Elem;
            fn zeros_like(&self) -> Self {
                // `Self { 0: .. }` builds tuple structs too.
                Self { #(#zeros),* }
            }
            fn for_each_leaf(&self, f: &mut dyn ::core::ops::FnMut(&[Self::Elem])) {
                #(#visits)*
            }
            fn for_each_leaf_mut_with(
                &mut self,
                other: &Self,
                f: &mut ::autodiff::LeafPair<'_, Self::Elem>,
            ) {
                #(#pairs)*
            }
        }
    }
}

/// `ty` where a type stands before `as` or `:`, its bounds parenthesized (`(dyn A + B)`).
fn grouped(ty: &syn::Type) -> TokenStream {
    match ty {
        syn::Type::TraitObject(_) | syn::Type::ImplTrait(_) => quote!((#ty)),
        _ => quote!(#ty),
    }
}

fn error(at: impl quote::ToTokens, message: impl std::fmt::Display) -> TokenStream {
    syn::Error::new_spanned(at, message).to_compile_error()
}
