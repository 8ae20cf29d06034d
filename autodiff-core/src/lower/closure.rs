//! `x.mapv(|v| body)` and `x.map(|&v| body)` on a differentiated array: the closure's body
//! lowered as a program of its own on scalars (its parameter the input 0, each differentiated
//! scalar it captures another input), with this function's constants in scope, so that every
//! primitive works inside and everything unsupported gets its usual error, inside the
//! closure. The node applies it to every element ([`crate::ir::Op::Map`]).

use std::collections::HashSet;

use proc_macro2::Span;
use quote::{format_ident, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Pat};

use super::env::same;
use super::{call_primitive_of, single_ident, strip_parens, Lowerer};
use crate::ir::{Closure, Input, InputKind, Op, Operand, Program, Var};
use crate::rules::{Primitive, Returns};
use crate::text::pretty;

impl Lowerer<'_> {
    /// `receiver.mapv(f)` / `receiver.map(f)` where `f` or the receiver reads a
    /// differentiated value.
    pub(super) fn map_closure(&mut self, call: &syn::ExprMethodCall, whole: &Expr) -> Operand {
        let name = call.method.to_string();
        let Some(arg) = call.args.first().filter(|_| call.args.len() == 1) else {
            self.diag.error(
                whole,
                format!("`x.{name}` takes one closure: `x.{name}(|v| ...)`"),
            );
            return Operand::Poison;
        };
        let synthesized: syn::ExprClosure;
        let closure = match strip_parens(arg) {
            Expr::Closure(closure) => closure,
            // `x.mapv(f64::tanh)`, `x.mapv(sigmoid)`: a primitive, applied to each element.
            Expr::Path(path) if call_primitive_of(arg).is_some() => {
                let v = format_ident!("__element", span = Span::mixed_site());
                synthesized = syn::parse_quote_spanned!(path.span()=> |#v| #path(#v));
                &synthesized
            }
            other if self.mentions_var(other) => return Operand::Poison,
            other => match self.local_closure(other) {
                // `let f = |v| …; x.mapv(f)`: the closure bound to `f`.
                Some(_) if !self.reads_as_made(other) => return Operand::Poison,
                Some(bound) => {
                    synthesized = bound;
                    &synthesized
                }
                None => {
                    let function = pretty(other);
                    self.diag.error(
                        other,
                        format!("`{function}` passed to `{name}` cannot be differentiated: #[differentiable] sees only a closure written in place; write `x.{name}(|v| {function}(v))` with `{function}` itself #[differentiable], or the body inline: `x.{name}(|v| ...)`"),
                    );
                    return Operand::Poison;
                }
            },
        };
        let array = self.expr(&call.receiver);
        // `x.map(|v| …)` (not `|&v|`) takes a reference to each element.
        let patterns: Vec<&Pat> = closure.inputs.iter().collect();
        self.elementwise(
            vec![array],
            closure,
            &patterns,
            name == "map",
            &name,
            call.method.span(),
        )
    }

    /// `Zip::from(&a).and(&b).map_collect(|&a, &b| …)`: the closure applied to the elements
    /// of arrays of one shape, zipped.
    pub(super) fn zip_map_collect(&mut self, call: &syn::ExprMethodCall, whole: &Expr) -> Operand {
        let Some(arrays) = zipped(&call.receiver) else {
            self.diag.error(
                whole,
                "`map_collect` is differentiated on `Zip::from(&a).and(&b)…` written in place: `Zip::from(&a).and(&b).map_collect(|&a, &b| ...)`",
            );
            return Operand::Poison;
        };
        let Some(closure) = self.closure_argument(call, "map_collect") else {
            return Operand::Poison;
        };
        let arrays = arrays.into_iter().map(|array| self.expr(array)).collect();
        let patterns: Vec<&Pat> = closure.inputs.iter().collect();
        self.elementwise(
            arrays,
            closure,
            &patterns,
            true,
            "map_collect",
            call.method.span(),
        )
    }

    /// `a.iter().map(|&v| …)` and `a.iter().zip(&b).map(|(&x, &y)| …)`: the elements mapped,
    /// as an array of `a`'s shape, which `.sum()` then reduces (`None` where `call` is not
    /// such a chain).
    pub(super) fn iterator_map(&mut self, call: &syn::ExprMethodCall) -> Option<Operand> {
        let arrays = iterated(&call.receiver)?;
        let Some(closure) = self.closure_argument(call, "map") else {
            return Some(Operand::Poison);
        };
        let pairs = match closure.inputs.len() {
            1 => pairs(&closure.inputs[0], arrays.len()),
            _ => None,
        };
        let patterns: Vec<&Pat> = match (arrays.len(), pairs) {
            (1, _) => closure.inputs.iter().collect(),
            (_, Some(patterns)) => patterns,
            _ => {
                self.diag.error(
                    &closure.inputs,
                    "the closure over zipped elements takes one pair: `|(a, b)| ...` or `|(&a, &b)| ...` (`|((a, b), c)| ...` for three)",
                );
                return Some(Operand::Poison);
            }
        };
        let arrays = arrays.into_iter().map(|array| self.expr(array)).collect();
        Some(self.elementwise(arrays, closure, &patterns, true, "map", call.method.span()))
    }

    /// `a.iter().fold(init, |acc, &v| acc + body)`: `init` plus the sum of `body` over the
    /// elements (`None` where `call` is not a fold over an array's elements).
    pub(super) fn iterator_fold(
        &mut self,
        call: &syn::ExprMethodCall,
        whole: &Expr,
    ) -> Option<Operand> {
        let Some(arrays) = iterated(&call.receiver) else {
            // `x.iter().copied().fold(…)`, ndarray's `x.fold(…)`: over what, unseen.
            let message = match call.args.iter().any(extremum) {
                true => FOLD_EXTREMUM,
                false => "`fold` is differentiated as a sum over an array's elements, `x.iter().fold(0.0, |acc, &v| acc + ...)`; write any other fold as a `for` loop over the indices",
            };
            self.diag.error(whole, message);
            return Some(Operand::Poison);
        };
        let (Some(init), Some(Expr::Closure(closure)), 2) = (
            call.args.first(),
            call.args.get(1).map(strip_parens),
            call.args.len(),
        ) else {
            let message = match call.args.iter().any(extremum) {
                true => FOLD_EXTREMUM,
                false => {
                    "`fold` takes a start and a closure: `a.iter().fold(0.0, |acc, &v| acc + ...)`"
                }
            };
            self.diag.error(whole, message);
            return Some(Operand::Poison);
        };
        let summed = match (
            closure.inputs.len(),
            closure.inputs.first().and_then(pattern_ident),
        ) {
            (2, Some(acc)) => fold_term(&closure.body, acc),
            _ => None,
        };
        let Some(term) = summed else {
            let message = match extremum(&closure.body) {
                true => FOLD_EXTREMUM,
                false => "`fold` is differentiated as a sum, `|acc, &v| acc + ...` (the rest of the body a function of the element); write any other fold as a `for` loop over the indices",
            };
            self.diag.error(&closure.body, message);
            return Some(Operand::Poison);
        };
        let mut per_element = closure.clone();
        per_element.inputs = closure.inputs.iter().skip(1).cloned().collect();
        *per_element.body = term;
        let patterns: Vec<&Pat> = match per_element.inputs.first() {
            Some(pattern) => pairs(pattern, arrays.len()).unwrap_or_default(),
            None => Vec::new(),
        };
        let start = match self.mentions_var(init) {
            true => self.expr(init),
            false => self.constant(init),
        };
        let arrays = arrays.into_iter().map(|array| self.expr(array)).collect();
        let sum = self.elementwise(
            arrays,
            &per_element,
            &patterns,
            true,
            "fold",
            call.method.span(),
        );
        if let Operand::Var(Var::Node(i)) = sum {
            if let Op::Map(closure) = &mut self.program.nodes[i].op {
                closure.summed = true;
            }
        }
        Some(self.apply(
            Op::Prim(Primitive::Add),
            vec![start, sum],
            call.method.span(),
        ))
    }

    /// `receiver.sum()` where the receiver maps a closure in place (`x.mapv(f).sum()`,
    /// `a.iter().map(f).sum::<f64>()`): the map's node adds up its elements itself, making
    /// no array of values (`None` for any other receiver).
    pub(super) fn summed_map(&mut self, receiver: &Expr) -> Option<Operand> {
        let Expr::MethodCall(map) = strip_parens(receiver) else {
            return None;
        };
        if !matches!(
            map.method.to_string().as_str(),
            "mapv" | "map" | "mapv_into" | "map_collect"
        ) {
            return None;
        }
        let before = self.program.nodes.len();
        let mapped = self.expr(receiver);
        if let Operand::Var(Var::Node(i)) = mapped {
            // A node made just now for this closure: nothing else reads its value.
            if let (true, Op::Map(closure)) = (i >= before, &mut self.program.nodes[i].op) {
                closure.summed = true;
                return Some(mapped);
            }
        }
        let span = map.method.span();
        Some(self.apply(Op::Prim(Primitive::Sum), vec![mapped], span))
    }

    /// The closure written in place as `call`'s only argument.
    fn closure_argument<'c>(
        &mut self,
        call: &'c syn::ExprMethodCall,
        method: &str,
    ) -> Option<&'c syn::ExprClosure> {
        match call.args.iter().map(strip_parens).collect::<Vec<_>>()[..] {
            [Expr::Closure(closure)] => Some(closure),
            _ => {
                self.diag.error(
                    &call.args,
                    format!("`{method}` is differentiated with one closure written in place: `{method}(|v| ...)`"),
                );
                None
            }
        }
    }

    /// The node applying `closure` to the elements of `arrays`, bound by `patterns` (one per
    /// array); `refs`: whether the elements are passed by reference (`map`, not `mapv`).
    fn elementwise(
        &mut self,
        arrays: Vec<Operand>,
        closure: &syn::ExprClosure,
        patterns: &[&Pat],
        refs: bool,
        name: &str,
        at: Span,
    ) -> Operand {
        let Some((params, float)) = self.closure_parameters(closure, patterns, arrays.len(), name)
        else {
            return Operand::Poison;
        };
        let by_reference: Vec<bool> = patterns
            .iter()
            .map(|pattern| {
                refs && match pattern {
                    Pat::Reference(_) => false,
                    Pat::Type(typed) => {
                        matches!(*typed.ty, syn::Type::Reference(_))
                            && !matches!(*typed.pat, Pat::Reference(_))
                    }
                    _ => true,
                }
            })
            .collect();
        let Some(captures) = self.captures(closure, &params) else {
            return Operand::Poison;
        };
        let mut inputs: Vec<Input> = params
            .iter()
            .zip(&by_reference)
            .map(|(param, &reference)| Input {
                ident: param.clone(),
                display: param.to_string(),
                kind: InputKind::Value,
                reference,
            })
            .collect();
        inputs.extend(captures.iter().enumerate().map(|(k, (name, _, _))| Input {
            ident: format_ident!("__w{}", k + 1, span = Span::mixed_site()),
            display: name.clone(),
            kind: InputKind::Value,
            reference: false,
        }));
        // The constants in scope, which the closure's code may read.
        let mut constants: Vec<syn::Ident> = Vec::new();
        for name in self.env.names() {
            if let Some(Operand::Const { tokens, .. }) = self.env.get(&name) {
                if let Ok(ident) = syn::parse2::<syn::Ident>(tokens.clone()) {
                    // A parameter's name inside is the parameter.
                    if !constants.contains(&ident) && !params.contains(&ident) {
                        constants.push(ident);
                    }
                }
            }
        }
        let program = self.lower_closure(closure, &params, inputs, &captures, &float);
        let Some(program) = program else {
            return Operand::Poison;
        };
        let display = format!("{name}({})", pretty(closure));
        let elements = arrays.len();
        let mut args = arrays;
        args.extend(captures.iter().map(|(_, var, _)| Operand::Var(*var)));
        let capture_spans = captures.iter().map(|(_, _, span)| *span).collect();
        let closure = Closure {
            program,
            elements,
            summed: false,
            display,
            capture_spans,
            by_reference,
            constants,
        };
        self.apply(Op::Map(Box::new(closure)), args, at)
    }

    /// The closure's parameters (`v` of `|v|`, `|&v|`, `|v: f64|`), one per array, and the
    /// element type.
    fn closure_parameters(
        &mut self,
        closure: &syn::ExprClosure,
        patterns: &[&Pat],
        count: usize,
        method: &str,
    ) -> Option<(Vec<syn::Ident>, syn::Type)> {
        if let Some(asyncness) = &closure.asyncness {
            self.diag
                .error(asyncness, "an `async` closure cannot be differentiated");
            return None;
        }
        if patterns.len() != count {
            let example = match count {
                1 => "|v| ...".to_string(),
                n => {
                    let names: Vec<String> = (0..n).map(|k| format!("&v{k}")).collect();
                    format!("|{}| ...", names.join(", "))
                }
            };
            self.diag.error(
                &closure.inputs,
                format!("the closure of `{method}` takes {count} element(s): `{example}`"),
            );
            return None;
        }
        let mut params = Vec::new();
        for pattern in patterns {
            let Some(param) = pattern_ident(pattern) else {
                self.diag.error(
                    pattern,
                    format!("bind the element to a name: `{method}(|v| ...)`"),
                );
                return None;
            };
            params.push(param.clone());
        }
        let Some(float) = self.float.clone() else {
            self.diag.error(
                closure,
                "the element type of this closure is unknown: the signature must name one float type, `f64` or `f32`",
            );
            return None;
        };
        Some((params, float))
    }

    /// The differentiated values the closure's body reads from outside (each scalar a
    /// capture, with where it is read); `None` after reporting one that cannot be captured.
    fn captures(
        &mut self,
        closure: &syn::ExprClosure,
        params: &[syn::Ident],
    ) -> Option<Vec<(String, Var, Span)>> {
        struct Reads(Vec<(String, Span)>);
        impl<'ast> Visit<'ast> for Reads {
            fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
                if let (None, Some(ident)) = (&path.qself, path.path.get_ident()) {
                    self.0.push((ident.to_string(), ident.span()));
                }
            }
        }
        let mut reads = Reads(Vec::new());
        reads.visit_expr(&closure.body);
        let mut seen = HashSet::new();
        let mut captures = Vec::new();
        let mut clean = true;
        for (name, span) in reads.0 {
            if params.iter().any(|param| *param == name) || !seen.insert(name.clone()) {
                continue;
            }
            match self.env.get(&name) {
                Some(Operand::Poison) => return None,
                Some(Operand::Var(var)) => {
                    let var = *var;
                    if let Var::Input(k) = var {
                        if !self.program.inputs[k].is_value() {
                            self.diag.error_at(span, format!("the closure reads the struct of parameters `{name}`: bind the field it needs before the closure (`let b = {name}.b;`) and read that"));
                            clean = false;
                            continue;
                        }
                    }
                    if self.is_array(var) == Some(true) {
                        self.diag.error_at(span, format!("the closure captures the differentiated array `{name}`: a closure of `mapv` or `map` may capture differentiated scalars only; write the operation on `{name}` outside the closure (`&x * &{name}`, `x.mapv(|v| ...) + &{name}`)"));
                        clean = false;
                        continue;
                    }
                    captures.push((name, var, span));
                }
                _ => {}
            }
        }
        clean.then_some(captures)
    }

    /// The closure's body lowered as a program on scalars of type `float`: the first inputs
    /// the elements (`params`), the others the captured values (`captures`, by name).
    fn lower_closure(
        &mut self,
        closure: &syn::ExprClosure,
        params: &[syn::Ident],
        inputs: Vec<Input>,
        captures: &[(String, Var, Span)],
        float: &syn::Type,
    ) -> Option<Program> {
        let sub = Program {
            // A closure's parameters and captures are the elements' scalars.
            float_inputs: (0..inputs.len()).collect(),
            inputs,
            nodes: Vec::new(),
            locals: Vec::new(),
            stmts: Vec::new(),
            outputs: Vec::new(),
            array_outputs: vec![false],
            copy_constants: HashSet::new(),
            float: Some(float.to_token_stream()),
            dual: false,
            reals: HashSet::new(),
        };
        let outer_env = self.env.clone();
        let outer_program = std::mem::replace(&mut self.program, sub);
        // The body runs once per element: constants from outside are read, never moved.
        let outer_consts = self.outer_consts.clone();
        self.outer_consts.extend(self.consts.keys().cloned());
        let loop_depth = std::mem::replace(&mut self.loop_depth, 0);
        let tuple_arity = self.tuple_arity.take();
        let result_type = std::mem::replace(&mut self.result_type, float.clone());
        let function_tail = std::mem::replace(&mut self.function_tail, false);

        self.env.push();
        for (k, param) in params.iter().enumerate() {
            self.env
                .declare(param.to_string(), Some(Operand::Var(Var::Input(k))));
        }
        for (k, (name, ..)) in captures.iter().enumerate() {
            let input = Var::Input(params.len() + k);
            self.env.declare(name.clone(), Some(Operand::Var(input)));
        }
        match strip_parens(&closure.body) {
            Expr::Block(block) if block.label.is_none() && block.attrs.is_empty() => {
                self.block(&block.block)
            }
            body => self.program.outputs = self.result(body),
        }
        self.env.pop();

        let inner_env = std::mem::replace(&mut self.env, outer_env);
        let mut sub = std::mem::replace(&mut self.program, outer_program);
        self.outer_consts = outer_consts;
        self.loop_depth = loop_depth;
        self.tuple_arity = tuple_arity;
        self.result_type = result_type;
        self.function_tail = function_tail;

        // A closure of `mapv` is called once per element: it cannot assign anything outside.
        let mut clean = true;
        for name in self.env.names() {
            if !same(self.env.get(&name), inner_env.get(&name)) && !name.starts_with('#') {
                self.diag.error(
                    &closure.body,
                    format!("the closure assigns `{name}`, a variable outside it, which #[differentiable] cannot follow; compute it from the result instead (`y.sum()`, a loop over the elements)"),
                );
                clean = false;
            }
        }
        match sub.outputs.as_slice() {
            [Operand::Var(_)] => {}
            [Operand::Const { .. }] => {
                self.diag.error(
                    &closure.body,
                    "the closure's result has no derivative in its element (a constant, an integer cast, a comparison): compute it outside this function, or write the constant array itself (`Array::from_elem(x.raw_dim(), c)`)",
                );
                return None;
            }
            _ => return None,
        }
        sub.copy_constants = self
            .consts
            .iter()
            .filter(|(_, info)| info.copy)
            .map(|(name, _)| name.clone())
            .collect();
        clean.then_some(sub)
    }

    /// Whether a value of the trace is known to be an array (`Some(true)`) or a scalar
    /// (`Some(false)`) from how it is computed; `None` where only the types know.
    fn is_array(&self, var: Var) -> Option<bool> {
        match var {
            Var::Input(k) => {
                let input = &self.program.inputs[k];
                match input.kind {
                    InputKind::Value => Some(self.array_params.contains(&input.ident.to_string())),
                    _ => None,
                }
            }
            Var::Local(_) => None,
            Var::Node(i) => {
                let node = &self.program.nodes[i];
                let first = || match node.args.first() {
                    Some(Operand::Var(var)) => self.is_array(*var),
                    _ => None,
                };
                match &node.op {
                    Op::Map(closure) => Some(!closure.summed),
                    Op::Copy => first(),
                    Op::Call { .. } | Op::Project(_) => None,
                    Op::Prim(prim) => match prim.returns() {
                        Returns::Scalar => Some(false),
                        Returns::Array => Some(true),
                        Returns::Depends => None,
                        Returns::Elementwise => {
                            let kinds: Vec<Option<bool>> = node
                                .args
                                .iter()
                                .map(|arg| match arg {
                                    Operand::Var(var) => self.is_array(*var),
                                    Operand::Const { literal: true, .. } => Some(false),
                                    _ => None,
                                })
                                .collect();
                            if kinds.contains(&Some(true)) {
                                Some(true)
                            } else if kinds.iter().all(|kind| *kind == Some(false)) {
                                Some(false)
                            } else {
                                None
                            }
                        }
                    },
                }
            }
        }
    }
}

/// The name a closure parameter binds: `v` of `v`, `&v`, `v: f64`, `&v: &f64`.
pub(super) fn pattern_ident(pattern: &Pat) -> Option<&syn::Ident> {
    match pattern {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => Some(&pat.ident),
        Pat::Type(typed) => pattern_ident(&typed.pat),
        Pat::Reference(reference) => pattern_ident(&reference.pat),
        _ => None,
    }
}

/// The arrays of `Zip::from(a).and(b)…`, in order (`None` for anything else).
fn zipped(expr: &Expr) -> Option<Vec<&Expr>> {
    match strip_parens(expr) {
        Expr::MethodCall(and) if and.method == "and" && and.args.len() == 1 => {
            let mut arrays = zipped(&and.receiver)?;
            arrays.push(&and.args[0]);
            Some(arrays)
        }
        Expr::Call(from) if from.args.len() == 1 => {
            let Expr::Path(path) = strip_parens(&from.func) else {
                return None;
            };
            let names: Vec<String> = path
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            names
                .ends_with(&["Zip".to_string(), "from".to_string()])
                .then(|| vec![&from.args[0]])
        }
        _ => None,
    }
}

/// The arrays of `a.iter()` and `a.iter().zip(b)` (`b`, `&b` or `b.iter()`), in order
/// (`None` for anything else).
pub(super) fn iterated(expr: &Expr) -> Option<Vec<&Expr>> {
    match strip_parens(expr) {
        Expr::MethodCall(iter) if iter.method == "iter" && iter.args.is_empty() => {
            Some(vec![&*iter.receiver])
        }
        // The elements by value: the same elements.
        Expr::MethodCall(by_value)
            if matches!(by_value.method.to_string().as_str(), "copied" | "cloned")
                && by_value.args.is_empty() =>
        {
            iterated(&by_value.receiver)
        }
        Expr::MethodCall(zip) if zip.method == "zip" && zip.args.len() == 1 => {
            let mut arrays = iterated(&zip.receiver)?;
            // `zip(&b)`, `zip(b.iter())`, `zip(b.iter().copied())`: b.
            match iterated(&zip.args[0]).as_deref() {
                Some([other]) => arrays.push(other),
                _ => arrays.push(strip_parens(&zip.args[0])),
            }
            Some(arrays)
        }
        _ => None,
    }
}

/// What a fold computing a maximum or minimum is told to write instead.
const FOLD_EXTREMUM: &str = "a largest or smallest element is `amax(&x)` or `amin(&x)` (autodiff's, with their derivative: the adjoint goes to the first extreme element); `fold` is differentiated only as a sum";

/// Whether a fold's function or closure body takes a maximum or minimum (`f64::max`,
/// `acc.max(v)`, `f64::min(acc, v)`).
fn extremum(expr: &Expr) -> bool {
    let named = |ident: &syn::Ident| ident == "max" || ident == "min";
    match strip_parens(expr) {
        Expr::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| named(&last.ident)),
        Expr::MethodCall(call) => named(&call.method),
        Expr::Call(call) => extremum(&call.func),
        Expr::Closure(closure) => extremum(&closure.body),
        _ => false,
    }
}

/// The element patterns of `n` zipped iterators: `v` for one, `(a, b)` for two, `((a, b), c)`
/// for three (`None` where `pattern` has another shape).
fn pairs(pattern: &Pat, n: usize) -> Option<Vec<&Pat>> {
    if n == 1 {
        return Some(vec![pattern]);
    }
    let Pat::Tuple(pair) = pattern else {
        return None;
    };
    let [left, right] = pair.elems.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let mut patterns = pairs(left, n - 1)?;
    patterns.push(right);
    Some(patterns)
}

/// The term a summing fold adds per element: the body `acc + …` (also `… + acc`, `acc + a - b`:
/// `acc` read once, reached through `+` and the left of `-` only) with `acc` read as zero;
/// `None` for any other body.
fn fold_term(body: &Expr, acc: &syn::Ident) -> Option<Expr> {
    fn additive(expr: &Expr, acc: &syn::Ident) -> bool {
        match strip_parens(expr) {
            Expr::Path(_) => single_ident(expr) == Some(acc),
            Expr::Binary(binary) => match binary.op {
                syn::BinOp::Add(_) => additive(&binary.left, acc) || additive(&binary.right, acc),
                syn::BinOp::Sub(_) => additive(&binary.left, acc),
                _ => false,
            },
            _ => false,
        }
    }
    struct Zeroed<'a> {
        acc: &'a syn::Ident,
        reads: usize,
    }
    impl syn::visit_mut::VisitMut for Zeroed<'_> {
        fn visit_expr_mut(&mut self, expr: &mut Expr) {
            if single_ident(expr) == Some(self.acc) {
                self.reads += 1;
                *expr = syn::parse_quote!(0.0);
                return;
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    if !additive(body, acc) {
        return None;
    }
    let mut term = body.clone();
    let mut zeroed = Zeroed { acc, reads: 0 };
    syn::visit_mut::VisitMut::visit_expr_mut(&mut zeroed, &mut term);
    (zeroed.reads == 1).then_some(term)
}
