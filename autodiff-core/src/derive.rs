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
    // `#[parameters(skip)]`: a hyperparameter carried along, not a leaf.
    let mut skipped = Vec::new();
    for field in fields {
        match skip_attribute(field) {
            Ok(skip) => skipped.push(skip),
            Err(error) => return error.to_compile_error(),
        }
    }
    let Some(first) = fields
        .iter()
        .zip(&skipped)
        .find(|(_, skip)| !**skip)
        .map(|(f, _)| f)
    else {
        return error(
            name,
            format!("`{name}` has no fields to differentiate: `#[derive(Parameters)]` needs at least one array or float field not marked `#[parameters(skip)]`"),
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
    let private = quote!(::autodiff::__private);
    let first_ty = grouped(&first.ty);
    let zeros = fields.iter().zip(&members).zip(&skipped).map(|((field, member), skip)| match skip {
        // The gradient keeps the hyperparameter's value: it is a model of the same shape.
        true => quote_spanned!(field.ty.span()=> #member: ::core::clone::Clone::clone(&self.#member)),
        false => quote_spanned!(field.ty.span()=> #member: #trait_path::zeros_like(&self.#member)),
    });
    let leaves: Vec<(&syn::Field, &Member)> = fields
        .iter()
        .zip(&members)
        .zip(&skipped)
        .filter(|(_, skip)| !**skip)
        .map(|(pair, _)| pair)
        .collect();
    let visits = leaves.iter().map(|(field, member)| {
        quote_spanned!(field.ty.span()=> #trait_path::for_each_leaf(&self.#member, f);)
    });
    let pairs = leaves.iter().map(|(field, member)| {
        quote_spanned!(field.ty.span()=> #trait_path::for_each_leaf_mut_with(&mut self.#member, &other.#member, f);)
    });
    // Generic fields must be parameters of the first field's element type; skipped ones
    // are copied.
    let mut generics = input.generics.clone();
    if !generics.params.is_empty() {
        let where_clause = generics.make_where_clause();
        for (field, skip) in fields.iter().zip(&skipped) {
            let ty = grouped(&field.ty);
            let bound = match skip {
                true => quote!(#ty: ::core::clone::Clone),
                false => quote!(#ty: #trait_path<Elem = <#first_ty as #trait_path>::Elem>),
            };
            match syn::parse2(bound) {
                Ok(predicate) => where_clause.predicates.push(predicate),
                Err(_) => return error(&field.ty, "this type cannot be a field of parameters"),
            }
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    // Each field's accessors, through which the generated code reads a field's tangent and
    // writes its gradient: `None` for a skipped field, which has neither.
    let vis = &input.vis;
    let accessors = fields
        .iter()
        .zip(&members)
        .zip(&skipped)
        .map(|((field, member), skip)| {
            let (read, write) = field_accessors(member);
            let ty = grouped(&field.ty);
            let (some, some_mut) = match skip {
                true => (
                    quote!(::core::option::Option::None),
                    quote!(::core::option::Option::None),
                ),
                false => (
                    quote!(::core::option::Option::Some(&self.#member)),
                    quote!(::core::option::Option::Some(&mut self.#member)),
                ),
            };
            quote! {
                #[doc(hidden)]
                #[inline(always)]
                #vis fn #read(&self) -> ::core::option::Option<&#ty> {
                    #some
                }
                #[doc(hidden)]
                #[inline(always)]
                #vis fn #write(&mut self) -> ::core::option::Option<&mut #ty> {
                    #some_mut
                }
            }
        });
    // `Pass` borrows for a lifetime of its own.
    let mut lent = generics.clone();
    lent.params.insert(0, syn::parse_quote!('__autodiff_a));
    lent.make_where_clause()
        .predicates
        .push(syn::parse_quote!(Self: '__autodiff_a));
    let (lent_generics, _, lent_where) = lent.split_for_impl();
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
        #[automatically_derived]
        #[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_ref_mut, clippy::unused_self)]
        impl #impl_generics #name #ty_generics #where_clause {
            #(#accessors)*
        }
        // What the generated derivative code needs to pass the struct to another
        // differentiable function and to sum its contributions: leaf by leaf.
        #[automatically_derived]
        impl #impl_generics #private::Tangent for #name #ty_generics #where_clause {
            fn one_like(&self) -> Self {
                #private::leaves::one_like(self)
            }
            #[track_caller]
            fn accumulate(self, contribution: Self) -> Self {
                #private::leaves::accumulate(self, contribution)
            }
            fn negate(self) -> Self {
                #private::leaves::negate(self)
            }
            fn duplicate(&self) -> Self {
                #private::leaves::duplicate(self)
            }
        }
        #[automatically_derived]
        impl #impl_generics #private::Shaped for #name #ty_generics #where_clause {
            type Shape = #private::leaves::ZerosShape<Self>;
            fn autodiff_shape(&self) -> Self::Shape {
                #private::leaves::ZerosShape(#trait_path::zeros_like(self))
            }
        }
        #[automatically_derived]
        impl #impl_generics #private::Contribution for #name #ty_generics #where_clause {
            type Value = Self;
            fn into_value(self) -> Self {
                self
            }
        }
        #[automatically_derived]
        impl #lent_generics #private::Pass<'__autodiff_a, &'__autodiff_a #name #ty_generics> for #name #ty_generics #lent_where {
            fn autodiff_pass(&'__autodiff_a self) -> &'__autodiff_a Self {
                self
            }
        }
    }
}

/// The names of a field's accessors (`__autodiff_field_w`, `__autodiff_field_mut_w`), as the
/// macro's generated code calls them (`crate::emit::field_slot`).
pub fn field_accessors(member: &Member) -> (syn::Ident, syn::Ident) {
    let name = match member {
        Member::Named(ident) => ident.to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    };
    let name = name.trim_start_matches("r#");
    (
        quote::format_ident!("__autodiff_field_{}", name),
        quote::format_ident!("__autodiff_field_mut_{}", name),
    )
}

/// Whether the field is marked `#[parameters(skip)]`; an error for any other argument.
fn skip_attribute(field: &syn::Field) -> syn::Result<bool> {
    let mut skip = false;
    for attr in field
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("parameters"))
    {
        attr.parse_nested_meta(|meta| match meta.path.is_ident("skip") {
            true => {
                skip = true;
                Ok(())
            }
            false => Err(meta.error(
                "unknown argument: `#[parameters(skip)]` marks a field that is not differentiated (a hyperparameter)",
            )),
        })?;
    }
    Ok(skip)
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
