//! `#[differentiable(hessian)]` → `f_hessian(args…) -> (value, gradient, hessian)` by
//! forward-over-reverse: the reverse-mode program of `f_grad`, evaluated on dual numbers
//! x + εẋ (ε² = 0) whose tangents are the j-th basis vector, gives in its ε parts the
//! derivative of the gradient along that vector: the Hessian's column j. The runtime's
//! rules are generic over the float type, so the same rules serve; n sweeps for n inputs.
//!
//! The sweep itself ([`sweep`]: the program lifted to duals, the parameters and fields
//! seeded along the caller's tangents, the gradient split into values and tangents) is
//! `f_hvp`'s ([`crate::hvp`]); `f_hessian` and `f_hessian_diagonal` call `f_hvp` along each
//! basis vector, so that it is compiled once.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Ident, Type};

use crate::diag::Diagnostics;
use crate::emit::{
    generated_block, generated_fn, hygienic, result_value, tangent_param, tuple_if_many,
};
use crate::ir::{real_input_ident, InputKind, Op, Operand, Program, Stmt, Target, Var};
use crate::primal::{forward_stmt, forward_stmt_taped};
use crate::reverse::{adjoint_sweep, gradient, EarlySeed};
use crate::signature::{gradient_type, Output, Signature};

/// Reports what `f_hessian` does not support.
pub fn check(sig: &Signature, program: Option<&Program>, span: Span, diag: &mut Diagnostics) {
    let name = &sig.name;
    if sig.output != Output::Scalar {
        diag.error_at(
            span,
            format!(
                "`hessian` needs a scalar result; `{name}` returns `{}`",
                crate::text::pretty(&sig.ret)
            ),
        );
    }
    let Some(program) = program else {
        diag.error_at(span, "`hessian` cannot be combined with custom rules: write the function's body in supported syntax instead");
        return;
    };
    if let Some(node) = program
        .nodes
        .iter()
        .find(|node| matches!(node.op, Op::Project(_)))
    {
        diag.error_at(
            node.span,
            "`hessian` cannot read a `Vec` of layers (`p.layers[i]`) yet: give the layers fields of their own, or drop `hessian`",
        );
    }
    calls(program, false, diag);
}

/// Reports the calls `f_hessian` cannot differentiate through: of another function's
/// generated derivative (that would take third derivatives), with a struct of parameters or
/// a field of one as an argument, and any call in a closure. Other calls go through the
/// called function's second-order companion ([`crate::hessian_call`]).
fn calls(program: &Program, in_closure: bool, diag: &mut Diagnostics) {
    for node in &program.nodes {
        if let Op::Map(closure) = &node.op {
            calls(&closure.program, true, diag);
        }
        let Op::Call { path, arg_spans } = &node.op else {
            continue;
        };
        let (called, part) = crate::nested::display(path);
        if !part.is_empty() {
            let called = format!("{called}(…){part}");
            diag.error_at(
                node.span,
                format!("`hessian` cannot differentiate through `{called}`: that would take third derivatives; drop `hessian`"),
            );
        } else if in_closure {
            diag.error_at(
                node.span,
                format!("`hessian` cannot differentiate through a call of `{called}` in a closure yet: make the call outside the closure, or drop `hessian`"),
            );
        }
        let structs = node.args.iter().zip(arg_spans).filter(|(arg, _)| {
            matches!(arg, Operand::Var(Var::Input(k)) if !matches!(program.inputs[*k].kind, InputKind::Value))
        });
        for (_, span) in structs {
            diag.error_at(
                *span,
                format!("`hessian` cannot differentiate through a call of `{called}` taking a struct of parameters or a field of one yet: pass arrays or floats computed from it, or drop `hessian`"),
            );
        }
    }
}

/// The program with every constant it computes with lifted to a dual number with tangent
/// zero (a literal in the function's float type `float`), so that it meets the dual inputs;
/// but for the values it computes on real numbers all the same ([`real_values`], which may
/// read the inputs `passed` as they were passed; none in a closure's program, whose inputs
/// are elements).
fn lifted(program: &Program, float: &Type, passed: Option<&HashSet<usize>>) -> Program {
    let mut program = program.clone();
    if let Some(passed) = passed {
        program.reals = real_values(&program, passed);
    }
    for (i, node) in program.nodes.iter_mut().enumerate() {
        if program.reals.contains(&Var::Node(i)) {
            // A parameter read as it was passed (through the reference taken to it, the
            // value itself: a float a closure captures is a float), to a call as its
            // parameter takes it (lent, viewed, copied).
            let call = matches!(node.op, Op::Call { .. });
            for arg in &mut node.args {
                if let Operand::Var(Var::Input(k)) = *arg {
                    let ident = real_input_ident(k);
                    *arg = Operand::Const {
                        tokens: match call {
                            true => quote!((*#ident).autodiff_pass()),
                            false => quote!((*#ident)),
                        },
                        display: program.inputs[k].display.clone(),
                        literal: false,
                    };
                }
            }
            continue;
        }
        let (constant_args, float_constants) = match &mut node.op {
            Op::Prim(prim) => (prim.rule().constant_args, prim.float_constants()),
            // The closure's program on duals too, and a constant array it maps lifted.
            Op::Map(closure) => {
                closure.program = lifted(&closure.program, float, None);
                (&[][..], &[][..])
            }
            Op::Call { .. } | Op::Copy | Op::Project(_) => continue,
        };
        for (k, arg) in node.args.iter_mut().enumerate() {
            if constant_args.contains(&k) && !float_constants.contains(&k) {
                continue;
            }
            if let Operand::Const {
                tokens, literal, ..
            } = arg
            {
                *tokens = match literal {
                    true => quote!(::autodiff::__private::Dual::<#float>::constant(#tokens)),
                    false => quote!((#tokens).autodiff_lift()),
                };
                *literal = false;
            }
        }
    }
    lift_regions(&mut program.stmts, &program.reals, float);
    program.dual = true;
    program.float = Some(quote!(::autodiff::__private::Dual<#float>));
    for output in &mut program.outputs {
        if let Operand::Const {
            tokens, literal, ..
        } = output
        {
            *tokens = quote!(::autodiff::__private::Dual::<#float>::constant(#tokens));
            *literal = false;
        }
    }
    program
}

/// The values the Hessian's sweep computes on real numbers: those the result does not
/// depend on (a search's distances, only compared), made only of constants, of each other and
/// (for nodes) of the parameters `passed`, and read by no value on duals. They cost half as
/// much, and read no dual copy of a parameter. The parameters so read are in the set too,
/// bound as they were passed ([`real_input_ident`]).
fn real_values(program: &Program, passed: &HashSet<usize>) -> HashSet<Var> {
    let deps = crate::ir::dependencies(program);
    let live = crate::ir::live(program);
    let mut real: HashSet<Var> = passed.iter().map(|&k| Var::Input(k)).collect();
    real.extend(deps.keys().filter(|var| !live.contains(var)));
    loop {
        // Made from a value on duals, or read by one: on duals.
        let dual: Vec<Var> = deps
            .iter()
            .flat_map(|(var, args)| match real.contains(var) {
                true => {
                    let readable = |arg: &Var| {
                        real.contains(arg)
                            && (matches!(var, Var::Node(_)) || !matches!(arg, Var::Input(_)))
                    };
                    match args.iter().all(readable) {
                        true => Vec::new(),
                        false => vec![*var],
                    }
                }
                false => args
                    .iter()
                    .filter(|arg| !matches!(arg, Var::Input(_)) && real.contains(arg))
                    .copied()
                    .collect(),
            })
            .collect();
        if dual.is_empty() {
            break;
        }
        for var in dual {
            real.remove(&var);
        }
    }
    // A parameter only where it is read so.
    let read_by_nodes: HashSet<Var> = deps
        .iter()
        .filter(|(var, _)| matches!(var, Var::Node(_)) && real.contains(var))
        .flat_map(|(_, args)| args.iter().copied())
        .collect();
    real.retain(|var| {
        !matches!(var, Var::Input(_))
            || read_by_nodes.contains(var)
            || crate::ir::const_reads(&program.stmts, *var) > 0
    });
    real
}

/// A constant that a branch or a loop hands to a value of the trace, lifted too (a literal
/// handed to a value on real numbers typed as the real float).
fn lift_regions(stmts: &mut [Stmt], reals: &HashSet<Var>, float: &Type) {
    let lift = |target: &Target, operand: &mut Operand| {
        let Target::Local(k) = target else { return };
        let real = reals.contains(&Var::Local(*k));
        if let Operand::Const {
            tokens, literal, ..
        } = operand
        {
            let (lifted, number) = match (real, *literal) {
                (true, false) => return,
                (true, true) => (
                    quote!(::autodiff::__private::Dual::<#float>::constant(#tokens).autodiff_re()),
                    false,
                ),
                // Still a number to the adjoint sweep (a sum started from a number may fuse,
                // scaled), typed by the carried variable's declaration.
                (false, true) => (
                    quote!(::autodiff::__private::Dual::<#float>::constant(#tokens)),
                    true,
                ),
                (false, false) => (quote!((#tokens).autodiff_lift()), false),
            };
            (*tokens, *literal) = (lifted, number);
        }
    };
    for stmt in stmts {
        match stmt {
            Stmt::Branch(branch) => {
                for arm in &mut branch.arms {
                    lift_regions(&mut arm.stmts, reals, float);
                    for (target, value) in branch.results.iter().zip(&mut arm.yields) {
                        lift(target, value);
                    }
                }
            }
            Stmt::Loop(lp) => {
                lift_regions(&mut lp.body.stmts, reals, float);
                for ((target, init), next) in lp.carried.iter_mut().zip(&mut lp.body.yields) {
                    lift(target, init);
                    lift(target, next);
                }
            }
            Stmt::Const { .. } | Stmt::Verbatim(_) | Stmt::Node(_) => {}
        }
    }
}

/// The forward-over-reverse sweep of `f_hvp`, which `f_hessian` and `f_hessian_diagonal`
/// call along each basis vector: `f_grad`'s program on dual numbers, with the parameters
/// seeded along the caller's tangents `x_tangent`, ….
pub struct Sweep {
    /// Before the sweep: imports, fallbacks, the constants, the loops' tapes.
    pub setup: TokenStream,
    /// One sweep: seeds, forward, adjoint, and the gradient's two parts bound.
    pub body: TokenStream,
    /// After [`body`](Sweep::body): the function's value.
    pub value: TokenStream,
    /// After [`body`](Sweep::body): the gradient, in `f_grad`'s form.
    pub gradient: TokenStream,
    /// After [`body`](Sweep::body): the gradient's derivative along the direction, ∇²f·v,
    /// in the gradient's form.
    pub tangent: TokenStream,
}

/// The basis vector's index in `f_hessian`'s and `f_hessian_diagonal`'s loops of `f_hvp`
/// calls, and the number of them.
pub fn column_idents() -> (Ident, Ident) {
    (hygienic("__column"), hygienic("__n"))
}

/// Emits the sweep of `program` (checked by [`check`]).
pub fn sweep(sig: &Signature, program: &Program) -> Sweep {
    let float = &sig.ret;
    let parameter_inputs: Vec<usize> = (0..program.inputs.len())
        .filter(|&k| program.inputs[k].is_parameter())
        .collect();
    // The parameters that can be read as they were passed (a reference to each, taken before
    // its seeding shadows it): all but structs, whose fields are seeded one by one.
    let passed: HashSet<usize> = parameter_inputs
        .iter()
        .zip(sig.differentiated())
        .filter(|(_, param)| !param.structured)
        .map(|(&k, _)| k)
        .collect();
    let mut dual = lifted(program, float, Some(&passed));
    // The fields of structs of parameters that nodes read, each a dual of its own seeded in
    // every sweep (the struct itself holds no duals): read as `__hfJ` by the program.
    let read: HashSet<usize> = program
        .nodes
        .iter()
        .flat_map(|node| &node.args)
        .filter_map(|arg| match arg {
            Operand::Var(Var::Input(j)) => Some(*j),
            _ => None,
        })
        .collect();
    let mut fields = Vec::new();
    for (j, input) in dual.inputs.iter_mut().enumerate() {
        if let InputKind::Field { root, path } = &mut input.kind {
            if read.contains(&j) {
                let original = (input.ident.clone(), std::mem::take(path), *root);
                input.ident = format_ident!("__hf{}", j, span = Span::mixed_site());
                fields.push((j, original));
            }
        }
    }

    // Every parameter shadowed by its dual seeded along its tangent, and each field read by
    // its own dual, whose tangent is that field of its struct's tangent (zero where skipped).
    // (Kept as passed first, where values on real numbers may read it.)
    let mut seeds: Vec<TokenStream> = parameter_inputs
        .iter()
        .zip(sig.differentiated())
        .filter(|(_, param)| !param.structured)
        .map(|(&k, param)| {
            let (ident, tangent) = (&param.ident, tangent_param(&param.ident));
            let real = match dual.reals.contains(&Var::Input(k)) {
                true => {
                    let real = real_input_ident(k);
                    quote!(let #real = &#ident;)
                }
                false => TokenStream::new(),
            };
            quote!(#real let #ident = #ident.autodiff_seed(&#tangent);)
        })
        .collect();
    for (j, (ident, path, root)) in &fields {
        let tangent = tangent_param(&program.inputs[*root].ident);
        let slot = crate::emit::field_slot(&quote!(#tangent), path, false);
        let dual_ident = &dual.inputs[*j].ident;
        seeds.push(quote! {
            let #dual_ident = (#ident #path).autodiff_seed(
                &::autodiff::__private::leaves::tangent(#slot, &(#ident #path)),
            );
        });
    }
    let fallbacks = match fields.is_empty() {
        true => TokenStream::new(),
        false => crate::emit::field_fallbacks(program, true, true),
    };

    // The constants once, before the sweeps (they read no parameter it differentiates, and
    // may move the others); the nodes in each sweep.
    // With regions or constants that read values, a later constant may depend on what a
    // sweep computes: only the leading constants are hoisted then.
    let straight = !dual.has_regions()
        && dual
            .stmts
            .iter()
            .all(|stmt| !matches!(stmt, Stmt::Const { reads, .. } if !reads.is_empty()));
    let leading = dual
        .stmts
        .iter()
        .take_while(|stmt| match stmt {
            Stmt::Const { reads, .. } => reads.is_empty(),
            Stmt::Verbatim(_) => true,
            _ => false,
        })
        .count();
    let (constants, nodes): (Vec<&Stmt>, Vec<&Stmt>) = match straight {
        true => dual
            .stmts
            .iter()
            .partition(|stmt| !matches!(stmt, Stmt::Node(_))),
        false => (
            dual.stmts[..leading].iter().collect(),
            dual.stmts[leading..].iter().collect(),
        ),
    };
    let constants = constants.into_iter().map(|stmt| forward_stmt(&dual, stmt));
    let output = result_value(&dual);
    // A loop summed into the (scalar) result runs its adjoint in the forward sweep, as in
    // `f_grad`: nothing recorded across its iterations, none run twice.
    let (adjoint_code, adjoints, plan) = adjoint_sweep(
        &dual,
        quote!(::autodiff::__private::Tangent::one_like(&#output)),
        Some(EarlySeed::One),
        false,
        None,
    );
    // The loops' tapes, kept from one sweep to the next.
    let tapes = crate::region::tape_declarations(&dual.stmts, &plan);
    let forward = nodes
        .into_iter()
        .map(|stmt| forward_stmt_taped(&dual, stmt, &plan));
    // The gradient on duals: its values are the gradient, its tangents the column.
    let dual_gradient = hygienic("__dual_gradient");
    // With structs of parameters, each entry's values and tangents apart (a struct's from
    // its fields' duals); otherwise the gradient on duals, split.
    let (gradient_code, tangent, gradient_part) =
        match sig.differentiated().any(|param| param.structured) {
            false => {
                let gradient_code = gradient(sig, &dual, &adjoints);
                (
                    quote!(let #dual_gradient = #gradient_code;),
                    quote!(#dual_gradient.autodiff_eps()),
                    quote!(#dual_gradient.autodiff_re()),
                )
            }
            true => {
                let parts: Vec<(TokenStream, Ident, Ident)> = parameter_inputs
                    .iter()
                    .zip(sig.differentiated())
                    .map(|(&k, param)| entry_parts(program, &dual, &adjoints, k, param))
                    .collect();
                let code = parts.iter().map(|(code, ..)| code);
                let eps = parts.iter().map(|(_, _, eps)| quote!(#eps)).collect();
                let re = parts.iter().map(|(_, re, _)| quote!(#re)).collect();
                (quote!(#(#code)*), tuple_if_many(eps), tuple_if_many(re))
            }
        };

    Sweep {
        setup: quote! {
            #[allow(unused_imports)]
            use ::autodiff::__private::{Flat as _, Lift as _, Seed as _, Unlift as _};
            #fallbacks
            #(#constants)*
            #tapes
        },
        body: quote! {
            #(#seeds)*
            #(#forward)*
            #adjoint_code
            #gradient_code
        },
        value: quote!((#output).autodiff_re()),
        gradient: gradient_part,
        tangent,
    }
}

pub fn emit_hessian(sig: &Signature) -> TokenStream {
    let (column, n) = column_idents();
    let (hessian, hv) = (hygienic("__hessian"), hygienic("__hv"));
    let (body, value, gradient) = crate::hvp::columns(
        sig,
        quote!(let mut #hessian = ::autodiff::__private::matrix(#n, #n);),
        quote!(#hv.autodiff_write(#hessian.column_mut(#column));),
    );
    let doc = format!(
        "Value, gradient and Hessian of [`{name}`]: `({name}(args…), ∇{name}, H)` with \
         H[i, j] = ∂²{name}/∂xᵢ∂xⱼ over the flattened differentiated parameters, each array \
         row-major, in order; the gradient as [`{name}_grad`] returns it.\n\n\
         Generated by `#[differentiable(hessian)]`, forward-over-reverse: [`{name}_hvp`] \
         along each basis vector of the parameters, each call giving one column.",
        name = sig.name
    );
    let result = quote!((#value, #gradient, #hessian));
    generated_fn(&doc, hessian_signature(sig), generated_block(body, result))
}

/// Parameter k's gradient entry split into its values and its tangents: statements binding
/// `__reK` and `__epsK`, from its dual adjoint for a float or an array; for a struct, two
/// structs of its type with each field's part put in.
fn entry_parts(
    program: &Program,
    dual: &Program,
    adjoints: &HashMap<Var, Ident>,
    k: usize,
    param: &crate::signature::Param,
) -> (TokenStream, Ident, Ident) {
    let ident = &param.ident;
    let (re, eps) = (
        format_ident!("__re{}", k, span = Span::mixed_site()),
        format_ident!("__eps{}", k, span = Span::mixed_site()),
    );
    if !param.structured {
        let entry = match adjoints.get(&Var::Input(k)) {
            Some(adjoint) => quote!(#adjoint),
            None => crate::emit::param_zeros(param),
        };
        let code = quote! {
            let #re = #entry;
            let #eps = #re.autodiff_eps();
            let #re = #re.autodiff_re();
        };
        return (code, re, eps);
    }
    let writes = program.inputs.iter().enumerate().filter_map(|(j, input)| {
        let InputKind::Field { root, path } = &input.kind else {
            return None;
        };
        let adjoint = adjoints.get(&Var::Input(j)).filter(|_| *root == k)?;
        // Only the seeded fields (their path taken in `dual`) are values of the sweep.
        if !matches!(&dual.inputs[j].kind, InputKind::Field { path, .. } if path.is_empty()) {
            return None;
        }
        let (re_slot, eps_slot) = (
            crate::emit::field_slot(&quote!(#re), path, true),
            crate::emit::field_slot(&quote!(#eps), path, true),
        );
        Some(quote! {
            ::autodiff::__private::leaves::set(#re_slot, #adjoint.autodiff_re());
            ::autodiff::__private::leaves::set(#eps_slot, #adjoint.autodiff_eps());
        })
    });
    let code = quote! {
        let mut #re = ::autodiff::Parameters::zeros_like(#ident);
        let mut #eps = ::autodiff::Parameters::zeros_like(#ident);
        #(#writes)*
    };
    (code, re, eps)
}

/// `vis fn f_hessian(params) -> (ret, gradient type, Array2<ret>)`, also used by the stub
/// emitted on errors.
pub fn hessian_signature(sig: &Signature) -> TokenStream {
    let name = format_ident!("{}_hessian", sig.name);
    let params = sig.param_list();
    let ret = &sig.ret;
    let gradient = tuple_if_many(sig.differentiated().map(|p| gradient_type(&p.ty)).collect());
    let (head, where_clause) = sig.declare(&name);
    quote! {
        #head(#(#params),*)
            -> (#ret, #gradient, ::autodiff::ndarray::Array2<#ret>)
            #where_clause
    }
}
