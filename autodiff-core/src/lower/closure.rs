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
use super::{call_primitive_of, strip_parens, Lowerer};
use crate::ir::{Closure, Input, InputKind, Op, Operand, Program, Var};
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
            other => {
                let function = pretty(other);
                self.diag.error(
                    other,
                    format!("`{function}` passed to `{name}` cannot be differentiated: #[differentiable] sees only a closure written in place; write `x.{name}(|v| {function}(v))` with `{function}` itself #[differentiable], or the body inline: `x.{name}(|v| ...)`"),
                );
                return Operand::Poison;
            }
        };
        let array = self.expr(&call.receiver);
        let Some((param, float)) = self.closure_parameter(closure, &name) else {
            return Operand::Poison;
        };
        // `x.map(|v| …)` (not `|&v|`) takes a reference to each element.
        let by_reference = name == "map"
            && closure.inputs.first().is_some_and(|pattern| match pattern {
                Pat::Reference(_) => false,
                Pat::Type(typed) => {
                    matches!(*typed.ty, syn::Type::Reference(_))
                        && !matches!(*typed.pat, Pat::Reference(_))
                }
                _ => true,
            });
        let Some(captures) = self.captures(closure, &param) else {
            return Operand::Poison;
        };
        let mut inputs = vec![Input {
            ident: param.clone(),
            display: param.to_string(),
            kind: InputKind::Value,
            reference: by_reference,
        }];
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
                    // The parameter's name inside is the parameter.
                    if !constants.contains(&ident) && ident != param {
                        constants.push(ident);
                    }
                }
            }
        }
        let program = self.lower_closure(closure, &param, inputs, &captures, &float);
        let Some(program) = program else {
            return Operand::Poison;
        };
        let display = format!("{name}({})", pretty(closure));
        let mut args = vec![array];
        args.extend(captures.iter().map(|(_, var, _)| Operand::Var(*var)));
        let capture_spans = captures.iter().map(|(_, _, span)| *span).collect();
        let closure = Closure {
            program,
            display,
            capture_spans,
            by_reference,
            constants,
        };
        self.apply(Op::Map(Box::new(closure)), args, call.method.span())
    }

    /// The closure's parameter (`v` of `|v|`, `|&v|`, `|v: f64|`) and the element type.
    fn closure_parameter(
        &mut self,
        closure: &syn::ExprClosure,
        method: &str,
    ) -> Option<(syn::Ident, syn::Type)> {
        if let Some(asyncness) = &closure.asyncness {
            self.diag
                .error(asyncness, "an `async` closure cannot be differentiated");
            return None;
        }
        let [pattern] = closure.inputs.iter().collect::<Vec<_>>()[..] else {
            self.diag.error(
                &closure.inputs,
                format!("the closure of `{method}` takes one element: `|v| ...`"),
            );
            return None;
        };
        fn ident(pattern: &Pat) -> Option<&syn::Ident> {
            match pattern {
                Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => Some(&pat.ident),
                Pat::Type(typed) => ident(&typed.pat),
                Pat::Reference(reference) => ident(&reference.pat),
                _ => None,
            }
        }
        let Some(param) = ident(pattern) else {
            self.diag.error(
                pattern,
                format!("bind the element to a name: `x.{method}(|v| ...)`"),
            );
            return None;
        };
        let Some(float) = self.float.clone() else {
            self.diag.error(
                closure,
                "the element type of this closure is unknown: the signature must name one float type, `f64` or `f32`",
            );
            return None;
        };
        Some((param.clone(), float))
    }

    /// The differentiated values the closure's body reads from outside (each scalar a
    /// capture, with where it is read); `None` after reporting one that cannot be captured.
    fn captures(
        &mut self,
        closure: &syn::ExprClosure,
        param: &syn::Ident,
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
            if *param == name || !seen.insert(name.clone()) {
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

    /// The closure's body lowered as a program on scalars of type `float`: `inputs[0]` the
    /// element, the others the captured values (`captures`, by name).
    fn lower_closure(
        &mut self,
        closure: &syn::ExprClosure,
        param: &syn::Ident,
        inputs: Vec<Input>,
        captures: &[(String, Var, Span)],
        float: &syn::Type,
    ) -> Option<Program> {
        let sub = Program {
            inputs,
            nodes: Vec::new(),
            locals: Vec::new(),
            stmts: Vec::new(),
            outputs: Vec::new(),
            array_outputs: vec![false],
            copy_constants: HashSet::new(),
            float: Some(float.to_token_stream()),
            dual: false,
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
        self.env
            .declare(param.to_string(), Some(Operand::Var(Var::Input(0))));
        for (k, (name, ..)) in captures.iter().enumerate() {
            self.env
                .declare(name.clone(), Some(Operand::Var(Var::Input(k + 1))));
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
        use crate::rules::Primitive::*;
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
                    Op::Map(_) => Some(true),
                    Op::Copy => first(),
                    Op::Call { .. } => None,
                    Op::Prim(prim) => match prim {
                        Index | Sum | Mean | Mse | Bce | BceWithLogits | Logsumexp
                        | CrossEntropy => Some(false),
                        Row | Column | T | SumAxis | MeanAxis | Softmax | LogSoftmax | SetIndex
                        | Slice | SliceAxis | IndexAxis | Select | Diag | RemoveAxis
                        | IntoShape | Flatten | InsertAxis | ReversedAxes | PermutedAxes
                        | BroadcastTo | Concatenate | Stack => Some(true),
                        Dot => None,
                        // Elementwise: an array if an argument is one.
                        _ => {
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
