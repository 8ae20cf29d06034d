//! `f_jacobian(args…) -> (value, jacobian)` for functions with array or tuple results: the
//! (outputs × inputs) matrix over the flattened result and differentiated parameters. The
//! forward sweep runs once; then either one tangent sweep per input (a column each, as JAX's
//! `jacfwd`) or one adjoint sweep per output (a row each, as `jacrev`), whichever is fewer.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::emit::tangent_param;
use crate::emit::{
    generated_block, generated_fn, hygienic, operand_tokens, param_zeros, result_value,
    tuple_if_many,
};
use crate::forward::{jvp_block, tangent_sweep};
use crate::ir::{Operand, Program, Stmt};
use crate::primal::forward_sweep;
use crate::region::residual_ident;
use crate::reverse::{adjoint_sweep, gradient};
use crate::signature::{Param, Signature};

pub fn emit_jacobian(sig: &Signature, program: &Program) -> TokenStream {
    let (jacobian, zeros, n, m) = (
        hygienic("__jacobian"),
        hygienic("__zeros"),
        hygienic("__n"),
        hygienic("__m"),
    );
    let (row, column) = (hygienic("__row"), hygienic("__column"));

    // The result's zero (of its type, for its length and basis) and each parameter's zero
    // and offset in the flattened parameters.
    let output_zeros = program.outputs.iter().map(|output| {
        let value = match output {
            Operand::Poison => quote!(::core::unreachable!()),
            _ => operand_tokens(program, output),
        };
        quote!(::autodiff::__private::Map::zeros((#value).autodiff_arg()))
    });
    let output_zeros = tuple_if_many(output_zeros.collect());
    let (layout, offsets, total) = flat_layout(sig);

    // Forward: column j is the result's tangent along the j-th basis vector.
    let seeds = offsets.iter().map(|(param, zero, offset)| {
        let tangent = tangent_param(&param.ident);
        quote!(let #tangent = #zero.autodiff_basis(#column, #offset);)
    });
    // Through branches and loops, each column runs the whole tangent sweep.
    let (tangent_code, tangent) = match program.interleaved() {
        false => tangent_sweep(program),
        true => {
            let block = jvp_block(program);
            let t = hygienic("__column_tangent");
            (vec![quote!(let (_, #t) = #block;)], quote!(#t))
        }
    };
    // Reverse: row i is the gradient of the result's i-th element.
    let (adjoint_code, adjoints, plan) = adjoint_sweep(
        program,
        quote!(#zeros.autodiff_basis(#row, 0)),
        None,
        false,
        None,
    );
    let forward = forward_sweep(program, &plan);
    let adjoint_code = match (program.has_regions(), has_loops(&program.stmts)) {
        (false, _) => adjoint_code,
        // A branch's record, which one sweep consumes, copied for each row's: the forward
        // sweep runs once.
        (true, false) => {
            let records = program.stmts.iter().filter_map(|stmt| match stmt {
                Stmt::Branch(branch) if plan.saved.contains_key(&branch.id) => {
                    Some(residual_ident(branch.id))
                }
                _ => None,
            });
            quote!(#(let #records = ::core::clone::Clone::clone(&#records);)* #adjoint_code)
        }
        // A loop's tape is taken apart by one sweep: each row runs the forward sweep again.
        (true, true) => quote!(#forward #adjoint_code),
    };
    let gradient = gradient(sig, program, &adjoints);

    let fallbacks = crate::emit::field_fallbacks(program, true, true);
    let body = quote! {
        #[allow(unused_imports)]
        use ::autodiff::__private::Flat as _;
        #fallbacks
        #forward
        #layout
        let #n: usize = #total;
        let #zeros = #output_zeros;
        let #m = #zeros.autodiff_len();
        let mut #jacobian = ::autodiff::__private::matrix(#m, #n);
        if #n <= #m {
            for #column in 0..#n {
                #(#seeds)*
                #(#tangent_code)*
                #tangent.autodiff_write(#jacobian.column_mut(#column));
            }
        } else {
            for #row in 0..#m {
                #adjoint_code
                #gradient.autodiff_write(#jacobian.row_mut(#row));
            }
        }
    };
    let value = result_value(program);
    let doc = format!(
        "Value and Jacobian of [`{name}`]: `({name}(args…), J)` with J[i, j] = ∂yᵢ/∂xⱼ over \
         the flattened result (rows) and differentiated parameters (columns), each array \
         row-major, in order. Generated at compile time by `#[differentiable]`: one forward \
         sweep, then one tangent sweep per column or one adjoint sweep per row, whichever \
         is fewer (JAX's `jacfwd` / `jacrev`).",
        name = sig.name
    );
    generated_fn(
        &doc,
        jacobian_signature(sig),
        generated_block(body, quote!((#value, #jacobian))),
    )
}

/// Whether `stmts` loop anywhere, in branches' arms too.
fn has_loops(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Loop(_) => true,
        Stmt::Branch(branch) => branch.arms.iter().any(|arm| has_loops(&arm.stmts)),
        _ => false,
    })
}

/// The differentiated parameters laid out as one flat vector: code binding each one's zero
/// (of its gradient entry's type, for its length and basis vectors) and its offset, the
/// parameters with those two names, and the total length.
pub fn flat_layout(sig: &Signature) -> (TokenStream, Vec<(&Param, Ident, Ident)>, TokenStream) {
    let mut code = Vec::new();
    let mut offsets = Vec::new();
    let mut total = quote!(0);
    for (k, param) in sig.differentiated().enumerate() {
        let zero = format_ident!("__z{}", k, span = Span::mixed_site());
        let offset = format_ident!("__o{}", k, span = Span::mixed_site());
        let value = param_zeros(param);
        code.push(quote!(
            let #zero = #value;
            let #offset: usize = #total;
        ));
        total = quote!(#offset + #zero.autodiff_len());
        offsets.push((param, zero, offset));
    }
    (quote!(#(#code)*), offsets, total)
}

/// `vis fn f_jacobian(params) -> (ret, Array2<elem>)`, also used by the stub emitted on
/// errors.
pub fn jacobian_signature(sig: &Signature) -> TokenStream {
    let name = format_ident!("{}_jacobian", sig.name);
    let params = sig.param_list();
    let ret = &sig.ret;
    let (head, where_clause) = sig.declare(&name);
    quote! {
        #head(#(#params),*)
            -> (#ret, ::autodiff::ndarray::Array2<<#ret as ::autodiff::Parameters>::Elem>)
            #where_clause
    }
}
