//! Reverse mode: `f_grad(args…) -> (value, gradient)` and `f_vjp(args…, cotangent)`: the
//! primal sweep ([`crate::primal`]), then the adjoint sweep ([`crate::adjoint`]), and the
//! gradient gathered from the parameters' adjoints.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::adjoint::SelfCalls;
use crate::emit::{
    cotangent_param, field_slot, generated_block, generated_fn, hygienic, on_pool, param_zeros,
    result_value, tuple_if_many,
};
use crate::ir::{pullbacks, Input, InputKind, Op, Program, Var};
use crate::primal::forward_sweep;
use crate::signature::{gradient_type, Output, Param, Signature};
use crate::trace_doc;

/// Where the adjoint sweep starts: ȳ = 1 (`f_grad`), or a cotangent the caller passes
/// (`f_vjp`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    One,
    Cotangent,
}

pub use crate::adjoint::{adjoint_sweep, EarlySeed};

/// The gradient as `f_grad` returns it, from the adjoints at the end of the sweep: one entry
/// per differentiated parameter, a tuple of them when there are several.
pub fn gradient(sig: &Signature, program: &Program, adjoints: &HashMap<Var, Ident>) -> TokenStream {
    let parameters = program
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| input.is_parameter());
    let entries = parameters
        .zip(sig.differentiated())
        .map(|((k, _), param)| gradient_entry(program, adjoints, k, param));
    tuple_if_many(entries.collect())
}

/// `f_grad` and `f_vjp`: the value and the gradient with respect to every differentiated
/// parameter, the adjoint sweep seeded with the caller's cotangent in `f_vjp`, and `f_grad`
/// the call of `f_vjp` with a cotangent of 1 (the sweep is compiled once).
pub fn emit_reverse(sig: &Signature, program: &Program, seed_kind: Seed) -> TokenStream {
    let signature = reverse_signature(sig, seed_kind);
    let block = match seed_kind {
        Seed::One => {
            let call = sig.sibling_call("vjp", [quote!(::autodiff::__private::one())]);
            quote!({ #call })
        }
        Seed::Cotangent => on_pool(
            sig,
            program,
            reverse_params(sig, seed_kind),
            &[cotangent_param()],
            reverse_block(sig, program, seed_kind),
        ),
    };
    let doc = match seed_kind {
        Seed::One => trace_doc::grad_doc(sig, program, &pullbacks(program)),
        Seed::Cotangent => format!(
            "Value and vector-Jacobian product of [`{name}`]: `({name}(args…), cotangent · J)`, \
             where J is the Jacobian of the result with respect to the differentiated \
             parameters, laid out as [`{name}_jacobian`]'s rows: one adjoint sweep seeded with \
             `cotangent` (of the result's type; a tuple for a tuple), reverse mode. For a \
             scalar result with `cotangent = 1` this is the gradient.",
            name = sig.name
        ),
    };
    generated_fn(&doc, signature, block)
}

/// The body of `f_grad` or `f_vjp` as a block, `{ …; (value, gradient) }`, that reads the
/// parameters (and `cotangent`).
pub fn reverse_block(sig: &Signature, program: &Program, seed_kind: Seed) -> TokenStream {
    let value = result_value(program);
    let seed = match seed_kind {
        Seed::One => quote!(::autodiff::__private::Tangent::one_like(&#value)),
        Seed::Cotangent => {
            let cotangent = cotangent_param();
            quote!(#cotangent)
        }
    };
    let early = (sig.output == Output::Scalar).then(|| match seed_kind {
        Seed::One => EarlySeed::One,
        Seed::Cotangent => {
            let cotangent = cotangent_param();
            EarlySeed::Given(quote!(#cotangent))
        }
    });
    let self_calls = self_calls(sig, program, Vec::new());
    sweeps_block(sig, program, seed, early, self_calls, TokenStream::new())
}

/// `{ prelude; forward sweep; adjoint sweep; (value, gradient) }`: the body of `f_vjp` and of
/// its `vjp_into` companion.
fn sweeps_block(
    sig: &Signature,
    program: &Program,
    seed: TokenStream,
    early: Option<EarlySeed>,
    self_calls: Option<SelfCalls>,
    prelude: TokenStream,
) -> TokenStream {
    let value = result_value(program);
    let (adjoint_code, adjoints, plan) =
        adjoint_sweep(program, seed, early, true, self_calls.as_ref());
    let forward = forward_sweep(program, &plan);
    let gradient = gradient(sig, program, &adjoints);
    generated_block(
        quote!(#prelude #forward #adjoint_code),
        quote!((#value, #gradient)),
    )
}

/// For a function that calls itself with a scalar result and arrays or numbers as
/// parameters: how the sweep calls it ([`SelfCalls`]), adding to `given`.
fn self_calls(sig: &Signature, program: &Program, given: Vec<(Var, Ident)>) -> Option<SelfCalls> {
    let calls_itself = program.nodes.iter().any(|node| {
        matches!(&node.op, Op::Call { path, .. } if crate::call::calls_itself(path, &sig.name))
    });
    let plain = program.inputs.iter().all(Input::is_value);
    (calls_itself && plain && !sig.in_impl && sig.output == Output::Scalar).then(|| SelfCalls {
        name: sig.name.clone(),
        differentiated: sig.params.iter().map(|p| p.differentiated).collect(),
        given,
    })
}

/// The hidden companion of a function that calls itself (see [`SelfCalls`]):
/// `__differentiable_vjp_into_f(args…, cotangent, into) -> (value, gradient)`, `f_vjp`
/// whose gradient is added to `into` (of the gradient's type) in place. Calls of the
/// function in its own loops run it where they are made.
pub fn emit_vjp_into(sig: &Signature, program: &Program) -> Option<TokenStream> {
    let into = hygienic("__into");
    let given: Vec<(Var, Ident)> = program
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| input.is_parameter())
        .map(|(k, _)| {
            (
                Var::Input(k),
                format_ident!("__into_{}", k, span = Span::mixed_site()),
            )
        })
        .collect();
    let unpack = tuple_if_many(given.iter().map(|(_, name)| quote!(mut #name)).collect());
    let calls = self_calls(sig, program, given)?;
    let cotangent = cotangent_param();
    let early = Some(EarlySeed::Given(quote!(#cotangent)));
    let block = sweeps_block(
        sig,
        program,
        quote!(#cotangent),
        early,
        Some(calls),
        quote!(#[allow(unused_mut)] let #unpack = #into;),
    );
    let (params, ret) = reverse_params(sig, Seed::Cotangent);
    let gradient_type = tuple_if_many(sig.differentiated().map(|p| gradient_type(&p.ty)).collect());
    let name = format_ident!("__differentiable_vjp_into_{}", sig.name);
    let (head, where_clause) = sig.declare(&name);
    let allows = crate::emit::generated_allows();
    Some(quote! {
        #[doc(hidden)]
        #allows
        #head(#(#params,)* #into: #gradient_type) -> #ret #where_clause #block
    })
}

/// The gradient entry of parameter `k`: its adjoint; zeros if it has none; for a struct of
/// parameters (of type `ty`), a struct of zeros with the adjoints of the fields the body
/// read put in.
fn gradient_entry(
    program: &Program,
    adjoints: &HashMap<Var, Ident>,
    k: usize,
    param: &Param,
) -> TokenStream {
    if let InputKind::Struct = program.inputs[k].kind {
        let gradient = hygienic("__gradient");
        // Each field's adjoint put in its place, outer fields first: one inside another
        // (`p.enc.layers` of `p.enc`, both read) or inside the struct passed whole is added.
        let mut fields: Vec<(&Input, &TokenStream, &Ident)> = program
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(j, input)| match &input.kind {
                InputKind::Field { root, path } if *root == k => {
                    Some((input, path, adjoints.get(&Var::Input(j))?))
                }
                _ => None,
            })
            .collect();
        fields.sort_by_key(|(_, path, _)| TokenStream::clone(path).into_iter().count());
        let whole = adjoints.get(&Var::Input(k));
        let writes = fields
            .iter()
            .enumerate()
            .map(|(n, (input, path, adjoint))| {
                let slot = field_slot(&quote!(#gradient), path, true);
                let inside =
                    |outer: &Input| input.display.starts_with(&format!("{}.", outer.display));
                match whole.is_some() || fields[..n].iter().any(|(outer, ..)| inside(outer)) {
                    true => quote!(::autodiff::__private::leaves::add(#slot, &#adjoint);),
                    false => quote!(::autodiff::__private::leaves::set(#slot, #adjoint);),
                }
            });
        let writes: Vec<TokenStream> = writes.collect();
        // Passed whole to another function, the struct has an adjoint of its own.
        let start = match whole {
            Some(whole) => quote!(#whole),
            None => param_zeros(param),
        };
        let fallbacks = crate::emit::field_fallbacks(program, false, true);
        return quote!({
            #fallbacks
            let mut #gradient = #start;
            #(#writes)*
            #gradient
        });
    }
    match adjoints.get(&Var::Input(k)) {
        Some(adjoint) => quote!(#adjoint),
        None => param_zeros(param),
    }
}

/// `vis fn f_grad(params) -> (ret, gradient type)` or `vis fn f_vjp(params, cotangent: ret)
/// -> (ret, gradient type)`, also used by the stubs emitted on errors.
pub fn reverse_signature(sig: &Signature, seed: Seed) -> TokenStream {
    let name = match seed {
        Seed::One => format_ident!("{}_grad", sig.name),
        Seed::Cotangent => format_ident!("{}_vjp", sig.name),
    };
    let (params, ret) = reverse_params(sig, seed);
    let (head, where_clause) = sig.declare(&name);
    quote!(#head(#(#params),*) -> #ret #where_clause)
}

/// The parameters and the result type of `f_grad` or `f_vjp`.
fn reverse_params(sig: &Signature, seed: Seed) -> (Vec<TokenStream>, TokenStream) {
    let ret = &sig.ret;
    let cotangent = (seed == Seed::Cotangent).then(|| {
        let cotangent = cotangent_param();
        quote!(#cotangent: #ret)
    });
    let params = sig.param_list().chain(cotangent).collect();
    let gradient = tuple_if_many(sig.differentiated().map(|p| gradient_type(&p.ty)).collect());
    (params, quote!((#ret, #gradient)))
}
