//! Control flow: `if`, `match`, `for`, `while`, `loop`, `break` and `continue` lowered to
//! the structured statements of the IR. A region is lowered in a scope of its own; the outer
//! names it assigns become its results (a branch's) or carried variables (a loop's).
//! `break` and `continue` set constant flags, and the statements after one that may set
//! them run only while the flags are clear, so every region has one exit and the adjoint
//! sweep can run each iteration backwards as written.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Expr, Ident, Pat, Stmt as SynStmt};

use super::env::same;
use super::{single_ident, strip_parens, ConstInfo, Lowerer};
use crate::ir::{Branch, BranchHead, Local, Loop, LoopHead, Operand, Region, Stmt, Target, Var};
use crate::text::pretty_expr;

/// The flag `continue` (and `break`) sets for the rest of the iteration; not a Rust name, so
/// no user's name can meet it.
const SKIP: &str = "#skip";
/// The flag `break` sets for the loop.
const BREAK: &str = "#break";
/// The flag `return` sets, and the value it returns.
pub(super) const RETURNED: &str = "#returned";
pub(super) const RETURN_VALUE: &str = "#return";

/// What an arm of a branch runs.
#[derive(Clone, Copy)]
pub(super) enum Arm<'a> {
    Block(&'a Block),
    Expr(&'a Expr),
    /// The statements after one that may `break`, `continue` or `return`.
    Rest(&'a [SynStmt]),
    /// What `return` set: the function's result once it returned.
    Returned,
    Empty,
}

/// The three loops, as written.
enum LoopSyntax<'a> {
    For(&'a syn::ExprForLoop),
    While(&'a syn::ExprWhile),
    Loop,
}

impl Lowerer<'_> {
    /// A block's statements in the current scope; its tail expression's value when `value`
    /// (otherwise a tail is one more statement).
    pub(super) fn stmts(&mut self, stmts: &[SynStmt], value: bool) -> Option<Operand> {
        for (index, stmt) in stmts.iter().enumerate() {
            let last = index + 1 == stmts.len();
            match stmt {
                SynStmt::Local(local) => self.local(local),
                SynStmt::Item(item) => self.item(item),
                SynStmt::Macro(mac) => {
                    let message = super::macro_message(&mac.mac.path);
                    self.diag.error(&mac.mac, message);
                }
                // The function's result, as its last expression or `return`ed at its end.
                SynStmt::Expr(Expr::Return(ret), _) if last && value && self.function_tail => {
                    return Some(match &ret.expr {
                        Some(result) => self.expr(result),
                        None => Operand::Poison,
                    })
                }
                SynStmt::Expr(expr, None) if last && value => return Some(self.expr(expr)),
                SynStmt::Expr(expr, _) => self.statement(expr),
            }
            let rest = &stmts[index + 1..];
            let (jumps, returns) = (stmt_exits(stmt), stmt_returns(stmt));
            if self.loop_depth > 0 && returns {
                // A `return` in an inner loop ends this iteration and loop too.
                self.propagate_return();
            }
            if rest.is_empty() || !(jumps && self.loop_depth > 0 || returns) {
                continue;
            }
            // The rest runs only if this statement did not `break`, `continue` or `return`.
            let flag = if self.loop_depth > 0 { SKIP } else { RETURNED };
            let Some(Operand::Const { tokens, .. }) = self.env.get(flag).cloned() else {
                return None;
            };
            let produces = value && matches!(rest.last(), Some(SynStmt::Expr(_, None)));
            if produces && self.loop_depth > 0 {
                self.diag.error(
                    stmt,
                    "a block that may `break` or `continue` cannot also produce a value; assign the value to a variable declared before the loop",
                );
                return Some(Operand::Poison);
            }
            let head = (
                BranchHead::If(quote!(!(#tokens))),
                "if not jumped".to_string(),
            );
            let otherwise = match value && self.loop_depth == 0 {
                true => Arm::Returned,
                false => Arm::Empty,
            };
            let arms = vec![
                (Vec::new(), Arm::Rest(rest), String::new()),
                (Vec::new(), otherwise, "else".to_string()),
            ];
            return self.branch(head, arms, value && self.loop_depth == 0, stmt.span());
        }
        None
    }

    /// `if c { a } else { b }` (with `else if` chains), as a statement or for its value.
    pub(super) fn if_expr(&mut self, expr: &syn::ExprIf, value: bool) -> Option<Operand> {
        if let Expr::Let(_) = strip_parens(&expr.cond) {
            self.diag.error(
                &expr.cond,
                "`if let` is not supported in a #[differentiable] function; test the value with a comparison, or `match` on a constant",
            );
            return Some(Operand::Poison);
        }
        let cond = self.condition(&expr.cond)?;
        let else_arm = match &expr.else_branch {
            Some((_, other)) => Arm::Expr(other),
            None if value => {
                self.diag.error(
                    expr,
                    "an `if` used as a value needs an `else` branch with a value of the same type",
                );
                return Some(Operand::Poison);
            }
            None => Arm::Empty,
        };
        let arms = vec![
            (Vec::new(), Arm::Block(&expr.then_branch), String::new()),
            (Vec::new(), else_arm, "else".to_string()),
        ];
        let display = format!("if {}", pretty_expr(&expr.cond));
        self.branch((BranchHead::If(cond), display), arms, value, expr.span())
    }

    /// `match scrutinee { pattern [if guard] => arm, … }` on a constant scrutinee.
    pub(super) fn match_expr(&mut self, expr: &syn::ExprMatch, value: bool) -> Option<Operand> {
        if self.mentions_var(&expr.expr) && !self.constant_valued(&expr.expr) {
            self.diag.error(
                &expr.expr,
                "`match` on a differentiated value is not supported; compare it instead (`if x > 0.0 { .. } else { .. }`), or match on a constant",
            );
            return Some(Operand::Poison);
        }
        let mut scrutinee = self.condition(&expr.expr)?;
        // `match &w` of a name, read as the name: the arms bind by reference, as written
        // (`Some(v) => … *v`).
        if let Expr::Reference(reference) = strip_parens(&expr.expr) {
            if reference.mutability.is_none() && single_ident(&reference.expr).is_some() {
                scrutinee = quote!((&#scrutinee));
            }
        }
        // An arm binding names may run again in the adjoint, binding them again from it.
        if expr
            .arms
            .iter()
            .any(|arm| !pattern_bindings(&arm.pat).is_empty())
        {
            self.pin(&scrutinee);
        }
        let mut patterns = Vec::new();
        let mut guards = Vec::new();
        let mut arms = Vec::new();
        for arm in &expr.arms {
            let bindings = pattern_bindings(&arm.pat);
            let guard = match &arm.guard {
                Some((_, guard)) => {
                    // The guard sees the pattern's bindings, as constants of their own names.
                    self.env.push();
                    for ident in &bindings {
                        self.env
                            .declare(ident.to_string(), Some(named_constant(ident)));
                    }
                    let guard = match self.mentions_var(guard) {
                        true => {
                            self.diag.error(
                                guard,
                                "a `match` guard cannot read a differentiated value; test it with an `if` inside the arm",
                            );
                            None
                        }
                        false if self.check_constant(guard) => Some(self.renamed(guard, false).0),
                        false => None,
                    };
                    self.env.pop();
                    guard.map(|guard| quote!(if #guard))
                }
                None => None,
            };
            let pat = immutable(&arm.pat);
            let display = pretty_expr(&quote!(#pat #guard));
            patterns.push(quote!(#pat));
            guards.push(guard);
            arms.push((bindings, Arm::Expr(&arm.body), display));
        }
        let head = BranchHead::Match {
            scrutinee,
            patterns,
            guards,
        };
        let display = format!("match {}", pretty_expr(&expr.expr));
        self.branch((head, display), arms, value, expr.span())
    }

    /// A condition or scrutinee: a constant, bound once, that may read values (`x > 0.0`).
    fn condition(&mut self, expr: &Expr) -> Option<TokenStream> {
        if self.mentions_var(expr) && !self.constant_valued(expr) {
            self.diag.error(
                expr,
                "a condition must be a `bool` (a comparison such as `x > 0.0`, `x.is_nan()`, `&&`, `||`, `!`); a differentiated value cannot be tested directly",
            );
            return None;
        }
        match self.expr(expr) {
            Operand::Const { tokens, .. } => Some(tokens),
            _ => None,
        }
    }

    /// Lowers each arm in a scope of its own, and merges what they assign: every outer name
    /// an arm changes becomes a result of the branch, and so does the arms' value (the last
    /// result) when `value`.
    pub(super) fn branch(
        &mut self,
        head: (BranchHead, String),
        arms: Vec<(Vec<Ident>, Arm, String)>,
        value: bool,
        span: Span,
    ) -> Option<Operand> {
        let (head, display) = head;
        let arm_displays = arms.iter().map(|(_, _, display)| display.clone()).collect();
        let snapshot = self.env.clone();
        let base = self.env.depth();
        let outer = std::mem::replace(
            &mut self.outer_consts,
            self.consts.keys().cloned().collect(),
        );
        // Each arm: its statements, its tail value, and the outer names' values at its end.
        let mut lowered = Vec::new();
        for (bindings, arm, _) in &arms {
            self.env = snapshot.clone();
            self.env.push();
            for ident in bindings {
                self.env
                    .declare(ident.to_string(), Some(named_constant(ident)));
            }
            let before = std::mem::take(&mut self.program.stmts);
            // Only the rest of the function's own statements ends with its result.
            let function_tail = self.function_tail;
            self.function_tail = function_tail && matches!(arm, Arm::Rest(_));
            let tail = match *arm {
                Arm::Block(block) => self.stmts(&block.stmts, value),
                Arm::Expr(expr) => self.arm_expr(expr, value),
                Arm::Rest(rest) => self.stmts(rest, value),
                Arm::Returned => self.env.get(RETURN_VALUE).cloned(),
                Arm::Empty => None,
            };
            self.function_tail = function_tail;
            let finals: Vec<Option<Operand>> = snapshot
                .names()
                .iter()
                .map(|name| self.env.binding(name, base).cloned().flatten())
                .collect();
            let stmts = std::mem::replace(&mut self.program.stmts, before);
            lowered.push((stmts, tail, finals));
        }
        self.env = snapshot;
        let names = self.env.names();

        // The outer names some arm assigned, with each arm's value; a name left unassigned
        // by an arm (`let y;` assigned in one branch only) stays unassigned.
        let mut results: Vec<(Option<String>, Vec<Operand>)> = Vec::new();
        for (k, name) in names.iter().enumerate() {
            let before = self.env.get(name).cloned();
            let changed = lowered
                .iter()
                .any(|(_, _, finals)| !same(finals[k].as_ref(), before.as_ref()));
            if !changed {
                continue;
            }
            let values: Option<Vec<Operand>> = lowered
                .iter()
                .map(|(_, _, finals)| finals[k].clone())
                .collect();
            match values {
                Some(values) => results.push((Some(name.clone()), values)),
                None => {
                    self.env.set(name, None);
                }
            }
        }
        if value {
            let values = lowered
                .iter()
                .map(|(_, tail, _)| tail.clone().unwrap_or(Operand::Poison))
                .collect();
            results.push((None, values));
        }

        self.regions += 1;
        let id = self.regions;
        let mut targets = Vec::new();
        let mut yields: Vec<Vec<Operand>> = vec![Vec::new(); lowered.len()];
        let mut value_operand = None;
        for (name, values) in results {
            let display = name.clone().unwrap_or_else(|| "if".into());
            let (target, operand) = self.result_target(&values, display);
            for (arm, value) in yields.iter_mut().zip(values) {
                arm.push(self.yielded(value));
            }
            targets.push(target);
            match name {
                Some(name) => self.env.assign(&name, operand),
                None => value_operand = Some(operand),
            }
        }
        let arms = lowered
            .into_iter()
            .zip(yields)
            .map(|((stmts, _, _), yields)| Region { stmts, yields })
            .collect();
        self.outer_consts = outer;
        self.program.stmts.push(Stmt::Branch(Branch {
            id,
            head,
            display,
            arm_displays,
            arms,
            results: targets,
            span,
        }));
        value_operand
    }

    /// An arm written as an expression: a block, an `else if`, or a single expression.
    fn arm_expr(&mut self, expr: &Expr, value: bool) -> Option<Operand> {
        match strip_parens(expr) {
            Expr::Block(block) if block.label.is_none() => self.stmts(&block.block.stmts, value),
            Expr::If(inner) => self.if_expr(inner, value),
            other if value => Some(self.expr(other)),
            other => {
                self.statement(other);
                None
            }
        }
    }

    /// Where a result of the given values goes: a local of the trace if any is a value, a
    /// constant binding otherwise. The operand the name is bound to afterwards.
    fn result_target(&mut self, values: &[Operand], display: String) -> (Target, Operand) {
        let differentiated = values
            .iter()
            .any(|value| matches!(value, Operand::Var(_) | Operand::Poison));
        if differentiated {
            self.program.locals.push(Local { display });
            let k = self.program.locals.len() - 1;
            return (Target::Local(k), Operand::Var(Var::Local(k)));
        }
        let literal = values
            .iter()
            .all(|value| matches!(value, Operand::Const { literal: true, .. }));
        let ident = self.fresh_constant();
        let copy = values.iter().all(|value| match value {
            Operand::Const {
                tokens, literal, ..
            } => *literal || self.consts.get(&tokens.to_string()).is_some_and(|c| c.copy),
            _ => false,
        });
        self.consts.insert(
            ident.to_string(),
            ConstInfo {
                copy,
                borrows: Vec::new(),
            },
        );
        let operand = Operand::Const {
            tokens: ident.to_token_stream(),
            display,
            literal,
        };
        (Target::Const(ident), operand)
    }

    /// A value as a region hands it out: constants moved (or copied where they must stay).
    fn yielded(&self, value: Operand) -> Operand {
        match value {
            Operand::Const {
                tokens,
                display,
                literal,
            } => Operand::Const {
                tokens: self.taken(&tokens),
                display,
                literal,
            },
            other => other,
        }
    }

    pub(super) fn for_loop(&mut self, lp: &syn::ExprForLoop) {
        if self.mentions_var(&lp.expr) && !self.constant_valued(&lp.expr) {
            if let Some(indexed) = self.indexed_loop(lp) {
                return self.for_loop(&indexed);
            }
        }
        let display = format!("for {} in {}", pretty_expr(&lp.pat), pretty_expr(&lp.expr));
        let label = lp.label.as_ref();
        self.lower_loop(LoopSyntax::For(lp), &lp.body, label, (display, lp.span()));
    }

    pub(super) fn while_loop(&mut self, lp: &syn::ExprWhile) {
        let display = format!("while {}", pretty_expr(&lp.cond));
        let label = lp.label.as_ref();
        self.lower_loop(LoopSyntax::While(lp), &lp.body, label, (display, lp.span()));
    }

    pub(super) fn plain_loop(&mut self, lp: &syn::ExprLoop) {
        let label = lp.label.as_ref();
        self.lower_loop(
            LoopSyntax::Loop,
            &lp.body,
            label,
            ("loop".into(), lp.span()),
        );
    }

    fn lower_loop(
        &mut self,
        syntax: LoopSyntax,
        body: &Block,
        label: Option<&syn::Label>,
        (display, span): (String, Span),
    ) {
        if let Some(label) = label {
            self.diag.error(
                label,
                "loop labels are not supported in a #[differentiable] function; set a flag and `break` each loop",
            );
        }
        // The iterated expression, evaluated once before the loop.
        let head_iter = match &syntax {
            LoopSyntax::For(lp) => {
                if self.mentions_var(&lp.expr) && !self.constant_valued(&lp.expr) {
                    self.diag.error(
                        &lp.expr,
                        "this `for` loop over a differentiated array is not supported; loop over its elements (`for &v in x.iter()`, `for layer in &p.layers`, `.rev()` for last first), rows (`x.rows()`), columns (`x.columns()`), any of these zipped with another or with a constant sequence, or indices (`for i in 1..x.len()`, reading `x[i]` or `p.layers[i]`)",
                    );
                    return;
                }
                // Computed with the loop, wherever a sweep runs it.
                let before = std::mem::take(&mut self.program.stmts);
                let iter = self.expr(&lp.expr);
                let stmts = std::mem::replace(&mut self.program.stmts, before);
                match iter {
                    Operand::Const { tokens, .. } => Some((stmts, tokens)),
                    _ => return,
                }
            }
            _ => None,
        };
        let outer = std::mem::replace(
            &mut self.outer_consts,
            self.consts.keys().cloned().collect(),
        );
        // A scope of the loop's own holds its `break` flag.
        self.env.push();
        let returns = body.stmts.iter().any(stmt_returns);
        let breaks = block_breaks(body) || returns;
        if breaks {
            self.env
                .declare(BREAK.into(), Some(flag_constant(quote!(false))));
        }
        let cond = match &syntax {
            LoopSyntax::While(lp) => Some(&*lp.cond),
            _ => None,
        };
        let (mut names, mutated) = assigned_names(body, cond);
        // A method or `&mut` changes only a `mut` constant: values are never mutated.
        names.extend(
            mutated
                .into_iter()
                .filter(|name| self.mutable.contains(name)),
        );
        if breaks {
            names.push(BREAK.into());
        }
        if returns {
            names.extend([RETURNED.to_string(), RETURN_VALUE.to_string()]);
        }
        names.retain(|name| self.env.get(name).is_some() || name == BREAK);
        names.sort();
        names.dedup();
        let tainted = self.tainted(body, &names);

        // Each carried name: a local of the trace, or a mutable constant binding.
        let mut carried = Vec::new();
        for name in &names {
            let init = self.env.get(name).cloned().unwrap_or(Operand::Poison);
            let (target, operand) = match (&init, tainted.contains(name)) {
                (Operand::Var(_) | Operand::Poison, _) | (_, true) => {
                    self.program.locals.push(Local {
                        display: name.clone(),
                    });
                    let k = self.program.locals.len() - 1;
                    (Target::Local(k), Operand::Var(Var::Local(k)))
                }
                (
                    Operand::Const {
                        tokens, literal, ..
                    },
                    false,
                ) => {
                    let ident = self.fresh_constant();
                    let info = self.consts.get(&tokens.to_string());
                    let info = ConstInfo {
                        copy: *literal || info.is_some_and(|info| info.copy),
                        borrows: info.map(|info| info.borrows.clone()).unwrap_or_default(),
                    };
                    self.consts.insert(ident.to_string(), info);
                    self.mutable_bindings.insert(ident.to_string());
                    let operand = Operand::Const {
                        tokens: ident.to_token_stream(),
                        display: name.clone(),
                        literal: *literal,
                    };
                    (Target::Const(ident), operand)
                }
            };
            let init = self.yielded(init);
            carried.push((name.clone(), target, init, operand));
        }
        let exit = carried.iter().find_map(|(name, target, ..)| match target {
            Target::Const(ident) if name == BREAK => Some(ident.clone()),
            _ => None,
        });

        // The body, in a scope where the carried names are bound to the carried variables.
        let base = self.env.depth();
        for (name, _, _, operand) in &carried {
            self.env.assign(name, operand.clone());
        }
        self.env.push();
        self.env
            .declare(SKIP.into(), Some(flag_constant(quote!(false))));
        self.loop_depth += 1;
        let before = std::mem::take(&mut self.program.stmts);
        let head = match syntax {
            LoopSyntax::For(lp) => {
                for ident in pattern_bindings(&lp.pat) {
                    self.env
                        .declare(ident.to_string(), Some(named_constant(&ident)));
                }
                let pat = immutable(&lp.pat);
                let (stmts, iter) = head_iter.unwrap_or_default();
                LoopHead::For {
                    stmts,
                    pattern: quote!(#pat),
                    iter,
                }
            }
            LoopSyntax::While(lp) => {
                let cond = self.condition(&lp.cond).unwrap_or_else(|| quote!(false));
                let stmts = std::mem::take(&mut self.program.stmts);
                LoopHead::While { stmts, cond }
            }
            LoopSyntax::Loop => LoopHead::Loop,
        };
        self.stmts(&body.stmts, false);
        let yields = carried
            .iter()
            .map(|(name, ..)| {
                let value = self.env.binding(name, base).cloned().flatten();
                self.yielded(value.unwrap_or(Operand::Poison))
            })
            .collect();
        let stmts = std::mem::replace(&mut self.program.stmts, before);
        self.loop_depth -= 1;
        self.env.pop();
        self.env.pop();
        for (name, _, _, operand) in &carried {
            if name != BREAK {
                self.env.assign(name, operand.clone());
            }
        }
        self.outer_consts = outer;
        self.regions += 1;
        let id = self.regions;
        self.program.stmts.push(Stmt::Loop(Loop {
            id,
            head,
            display,
            carried: carried
                .into_iter()
                .map(|(_, target, init, _)| (target, init))
                .collect(),
            body: Region { stmts, yields },
            exit,
            span,
        }));
    }

    /// A loop over a differentiated array's elements, rows or columns, as the same loop
    /// over indices: `for xi in x.rows() { … }` is `for i in 0..x.nrows() { let xi =
    /// x.row(i); … }`, so each read's adjoint is added back in place. Enumerated, or zipped
    /// with a constant sequence or with another differentiated array (both read at the
    /// index, as long as the shorter lasts).
    fn indexed_loop(&self, lp: &syn::ExprForLoop) -> Option<syn::ExprForLoop> {
        // One name per depth: an element bound in an outer loop (`for layer in &p.layers`)
        // is read again as `p.layers[index]` inside an inner one rewritten too.
        let index = format_ident!(
            "__autodiff_index{}",
            self.loop_depth,
            span = lp.for_token.span
        );
        let body = &lp.body;
        let pair = match &*lp.pat {
            Pat::Tuple(pair) => pair.elems.first().zip(pair.elems.get(1)),
            _ => None,
        };
        let (head, range, elements) = match (strip_parens(&lp.expr), pair) {
            // `xs.zip(ys)`: each side read at the index, or, constant, enumerated.
            (Expr::MethodCall(call), Some((first, second)))
                if call.method == "zip" && call.args.len() == 1 =>
            {
                let ys = &call.args[0];
                let left = self.element_read(&call.receiver, first, &index, false);
                let right = match self.mentions_var(ys) {
                    true => Some(self.element_read(ys, second, &index, false)?),
                    false => None,
                };
                // The constant side enumerated, as long as the array lasts.
                let with_constant = |read: ElementRead, constant: &Expr, pattern: &Pat| {
                    let ElementRead { element, count, .. } = read;
                    let range = quote!(::core::iter::IntoIterator::into_iter(#constant).take(#count).enumerate());
                    (quote!((#index, #pattern)), range, element)
                };
                match (left, right) {
                    (Some(left), Some(right)) => {
                        let (a, b) = (&left.count, &right.count);
                        let (x, y) = (&left.element, &right.element);
                        (quote!(#index), quote!(0..(#a).min(#b)), quote!(#x #y))
                    }
                    (Some(read), None) => with_constant(read, ys, second),
                    // A differentiated side not read at an index (`x.iter().rev()`): the
                    // loop as written is the error.
                    (None, _) if self.mentions_var(&call.receiver) => return None,
                    (None, Some(read)) => with_constant(read, &call.receiver, first),
                    (None, None) => return None,
                }
            }
            // `xs.enumerate()`: the counter bound from the index.
            (Expr::MethodCall(call), Some((counter, item)))
                if call.method == "enumerate" && call.args.is_empty() =>
            {
                let ElementRead { element, count, .. } =
                    self.element_read(&call.receiver, item, &index, false)?;
                (
                    quote!(#index),
                    quote!(0..#count),
                    quote!(let #counter = #index; #element),
                )
            }
            (source, _) => {
                let read = self.element_read(source, &lp.pat, &index, true)?;
                let count = &read.count;
                let range = match read.reversed {
                    true => quote!((0..#count).rev()),
                    false => quote!(0..#count),
                };
                (quote!(#index), range, read.element)
            }
        };
        let tokens = quote!(for #head in #range { #elements #body });
        syn::parse2(tokens).ok()
    }

    /// How an index reads an element, row or column of a differentiated array (or of a
    /// field of a struct of parameters) that `source` iterates (`x.iter()`, `&x`,
    /// `x.rows()`, `x.columns()`, `.into_iter()`; `.rev()` where `reversible`), bound by
    /// `pattern`; `None` for anything else.
    fn element_read(
        &self,
        source: &Expr,
        pattern: &Pat,
        index: &Ident,
        reversible: bool,
    ) -> Option<ElementRead> {
        // The differentiated array and how an index reads it; `.rev()`: last first.
        let mut source = strip_parens(source);
        let mut reversed = false;
        if let Expr::MethodCall(call) = source {
            if call.method == "rev" && call.args.is_empty() && reversible {
                reversed = true;
                source = strip_parens(&call.receiver);
            }
        }
        if let Expr::MethodCall(call) = source {
            if call.method == "into_iter" && call.args.is_empty() {
                source = strip_parens(&call.receiver);
            }
        }
        let (array, read, count): (&Expr, TokenStream, TokenStream) = match source {
            Expr::MethodCall(call) if call.args.is_empty() => {
                let array = &*call.receiver;
                match call.method.to_string().as_str() {
                    "rows" | "outer_iter" => (array, quote!(.row(#index)), quote!(.nrows())),
                    "columns" => (array, quote!(.column(#index)), quote!(.ncols())),
                    "iter" => (array, quote!([#index]), quote!(.len())),
                    _ => return None,
                }
            }
            Expr::Reference(reference) => (&*reference.expr, quote!([#index]), quote!(.len())),
            other => (other, quote!([#index]), quote!(.len())),
        };
        // A differentiated array, or a field of a struct of parameters (`p.layers`).
        let mut root = strip_parens(array);
        while let Expr::Field(field) = root {
            root = strip_parens(&field.base);
        }
        let field = !matches!(strip_parens(array), Expr::Path(_));
        let name = single_ident(root)?;
        if !matches!(self.env.get(&name.to_string()), Some(Operand::Var(_))) {
            return None;
        }
        // Elements come by reference: `&v` binds the value itself; a field's element bound
        // by name is borrowed in place (`for layer in &p.layers`, each layer a struct).
        let mut pattern = pattern.clone();
        let mut borrow = TokenStream::new();
        if read.to_string().starts_with('[') {
            match &pattern {
                Pat::Reference(reference) => pattern = (*reference.pat).clone(),
                _ if field => borrow = quote!(&),
                _ => {}
            }
        }
        let name = match field {
            true => quote!(#array),
            false => quote!(#name),
        };
        Some(ElementRead {
            element: quote!(let #pattern = #borrow #name #read;),
            count: quote!(#name #count),
            reversed,
        })
    }

    /// `break` and `continue`: the flags that skip the rest of the iteration (and end the
    /// loop).
    pub(super) fn jump(&mut self, expr: &Expr) {
        if let Expr::Return(ret) = expr {
            self.early_return(ret);
            return;
        }
        let (label, breaking) = match expr {
            Expr::Break(brk) => {
                if let Some(value) = &brk.expr {
                    self.diag.error(
                        value,
                        "`break` with a value is not supported; assign the value to a variable declared before the loop, then `break`",
                    );
                }
                (brk.label.as_ref(), true)
            }
            Expr::Continue(cont) => (cont.label.as_ref(), false),
            _ => return,
        };
        if let Some(label) = label {
            self.diag.error(
                label,
                "loop labels are not supported in a #[differentiable] function; set a flag and `break` each loop",
            );
            return;
        }
        if self.loop_depth == 0 {
            self.diag
                .error(expr, "`break` and `continue` belong inside a loop");
            return;
        }
        self.env.assign(SKIP, flag_constant(quote!(true)));
        if breaking {
            self.env.assign(BREAK, flag_constant(quote!(true)));
        }
    }

    /// `return value;` before the end: the value and the flag are set; in a loop, the
    /// iteration and the loop end too.
    fn early_return(&mut self, ret: &syn::ExprReturn) {
        if self.env.get(RETURNED).is_none() {
            self.diag.error(
                ret,
                "`return` before the end is supported where it returns a value of a function with one result: `return x;` (for a tuple result, assign the elements and break out instead)",
            );
            return;
        }
        let Some(result) = &ret.expr else {
            self.diag.error(
                ret,
                "`return` without a value; return the function's `f64` or `f32` result",
            );
            return;
        };
        let value = self.value_of(result, "return".into());
        self.env.assign(RETURN_VALUE, value);
        self.env.assign(RETURNED, flag_constant(quote!(true)));
        if self.loop_depth > 0 {
            self.env.assign(SKIP, flag_constant(quote!(true)));
            self.env.assign(BREAK, flag_constant(quote!(true)));
        }
    }

    /// After an inner loop that may have returned: this iteration and this loop end too.
    fn propagate_return(&mut self) {
        let Some(Operand::Const {
            tokens: returned, ..
        }) = self.env.get(RETURNED).cloned()
        else {
            return;
        };
        for flag in [SKIP, BREAK] {
            let Some(Operand::Const { tokens, .. }) = self.env.get(flag).cloned() else {
                continue;
            };
            let info = ConstInfo {
                copy: true,
                borrows: Vec::new(),
            };
            let operand = self.bind(quote!(#tokens || #returned), None, flag.into(), false, info);
            self.env.assign(flag, operand);
        }
    }

    /// The carried names that may hold differentiated values: those assigned from an
    /// expression that reads one, directly or through other names assigned in the body.
    fn tainted(&self, body: &Block, names: &[String]) -> HashSet<String> {
        let assignments = assignments(body);
        let mut tainted: HashSet<String> = self
            .env
            .names()
            .into_iter()
            .filter(|name| matches!(self.env.get(name), Some(Operand::Var(_) | Operand::Poison)))
            .collect();
        loop {
            let before = tainted.len();
            for (name, value) in &assignments {
                if !tainted.contains(name) && reads_any(value, &tainted) {
                    tainted.insert(name.clone());
                }
            }
            if tainted.len() == before {
                break;
            }
        }
        names
            .iter()
            .filter(|name| tainted.contains(*name))
            .cloned()
            .collect()
    }
}

/// A flag's value.
fn flag_constant(tokens: TokenStream) -> Operand {
    Operand::Const {
        display: tokens.to_string(),
        tokens,
        literal: false,
    }
}

/// A name bound by a pattern (`for i in ..`, a `match` arm), a constant under its own name.
fn named_constant(ident: &Ident) -> Operand {
    Operand::Const {
        tokens: ident.to_token_stream(),
        display: ident.to_string(),
        literal: false,
    }
}

/// The names a pattern binds.
fn pattern_bindings(pat: &Pat) -> Vec<Ident> {
    struct Bindings(Vec<Ident>);
    impl<'ast> Visit<'ast> for Bindings {
        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            // An uppercase name is a constant or a unit variant, not a binding.
            let name = pat.ident.to_string();
            if !name.starts_with(|c: char| c.is_uppercase()) {
                self.0.push(pat.ident.clone());
            }
            syn::visit::visit_pat_ident(self, pat);
        }
    }
    let mut bindings = Bindings(Vec::new());
    bindings.visit_pat(pat);
    bindings.0
}

/// Whether a statement may `break` or `continue` the loop it is in (not an inner one).
fn stmt_exits(stmt: &SynStmt) -> bool {
    let mut finder = Jumps::default();
    finder.visit_stmt(stmt);
    finder.found
}

/// Whether a statement may `return` (from anywhere inside it but closures and items).
pub(super) fn stmt_returns(stmt: &SynStmt) -> bool {
    #[derive(Default)]
    struct Returns(bool);
    impl<'ast> Visit<'ast> for Returns {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Return(_) => self.0 = true,
                Expr::Closure(_) => {}
                _ => syn::visit::visit_expr(self, expr),
            }
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut returns = Returns::default();
    returns.visit_stmt(stmt);
    returns.0
}

/// Whether a loop body contains a `break` of that loop.
fn block_breaks(body: &Block) -> bool {
    let mut finder = Jumps {
        breaks_only: true,
        ..Jumps::default()
    };
    finder.visit_block(body);
    finder.found
}

/// Finds `break` / `continue` outside inner loops and closures.
#[derive(Default)]
struct Jumps {
    breaks_only: bool,
    found: bool,
}

impl<'ast> Visit<'ast> for Jumps {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        match expr {
            Expr::Break(_) | Expr::Return(_) => self.found = true,
            Expr::Continue(_) => self.found |= !self.breaks_only,
            Expr::ForLoop(lp) => self.visit_expr(&lp.expr),
            Expr::While(_) | Expr::Loop(_) | Expr::Closure(_) => {}
            _ => syn::visit::visit_expr(self, expr),
        }
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The single names a loop body (and a `while` condition) assigns, and those it may mutate
/// in place through a method or `&mut`: the candidates for carried variables.
fn assigned_names(body: &Block, cond: Option<&Expr>) -> (Vec<String>, Vec<String>) {
    #[derive(Default)]
    struct Assigned(Vec<String>, Vec<String>);
    impl<'ast> Visit<'ast> for Assigned {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Assign(assign) => match strip_parens(&assign.left) {
                    Expr::Tuple(tuple) => self.0.extend(tuple.elems.iter().filter_map(root_name)),
                    left => self.0.extend(root_name(left)),
                },
                Expr::Binary(binary) if super::compound_operator(&binary.op).is_some() => {
                    self.0.extend(root_name(&binary.left));
                }
                Expr::MethodCall(call) => self.1.extend(root_name(&call.receiver)),
                Expr::Reference(reference) if reference.mutability.is_some() => {
                    self.1.extend(root_name(&reference.expr));
                }
                Expr::Closure(_) => return,
                _ => {}
            }
            syn::visit::visit_expr(self, expr);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut assigned = Assigned::default();
    assigned.visit_block(body);
    if let Some(cond) = cond {
        assigned.visit_expr(cond);
    }
    (assigned.0, assigned.1)
}

/// `x` of `x`, `x.f`, `x[i]`.
fn root_name(expr: &Expr) -> Option<String> {
    match strip_parens(expr) {
        Expr::Field(field) => root_name(&field.base),
        Expr::Index(index) => root_name(&index.expr),
        other => single_ident(other).map(ToString::to_string),
    }
}

/// Every `name = value`, `name op= value` and `let name = value` in a body.
fn assignments(body: &Block) -> Vec<(String, Expr)> {
    #[derive(Default)]
    struct Assignments(Vec<(String, Expr)>);
    impl<'ast> Visit<'ast> for Assignments {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Assign(assign) => {
                    // A tuple assignment: every name may take any element (conservatively).
                    let names = match strip_parens(&assign.left) {
                        Expr::Tuple(tuple) => tuple.elems.iter().filter_map(root_name).collect(),
                        left => root_name(left).into_iter().collect::<Vec<_>>(),
                    };
                    for name in names {
                        self.0.push((name, (*assign.right).clone()));
                    }
                }
                Expr::Binary(binary) if super::compound_operator(&binary.op).is_some() => {
                    if let Some(name) = root_name(&binary.left) {
                        self.0.push((name, (*binary.right).clone()));
                    }
                }
                Expr::Return(ret) => {
                    if let Some(value) = &ret.expr {
                        self.0.push((RETURN_VALUE.into(), (**value).clone()));
                    }
                }
                // A loop's pattern binds each item of what it iterates (`for &v in x.iter()`,
                // rewritten as element reads of `x` only when the loop is lowered).
                Expr::ForLoop(lp) => {
                    for ident in element_bindings(lp) {
                        self.0.push((ident.to_string(), (*lp.expr).clone()));
                    }
                }
                _ => {}
            }
            syn::visit::visit_expr(self, expr);
        }
        fn visit_local(&mut self, local: &'ast syn::Local) {
            if let Some(init) = &local.init {
                for ident in pattern_bindings(&local.pat) {
                    self.0.push((ident.to_string(), (*init.expr).clone()));
                }
            }
            syn::visit::visit_local(self, local);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut found = Assignments::default();
    found.visit_block(body);
    found.0
}

/// A pattern's bindings without `mut`: the generated code changes a name the user's code
/// changes under a binding of its own (`let mut __cN = n;`), so `mut n` would be unused
/// there (a warning in the user's crate).
fn immutable(pat: &Pat) -> Pat {
    struct Immutable;
    impl syn::visit_mut::VisitMut for Immutable {
        fn visit_pat_ident_mut(&mut self, ident: &mut syn::PatIdent) {
            ident.mutability = None;
            syn::visit_mut::visit_pat_ident_mut(self, ident);
        }
    }
    let mut pat = pat.clone();
    syn::visit_mut::VisitMut::visit_pat_mut(&mut Immutable, &mut pat);
    pat
}

/// The names a `for` loop's pattern binds to elements of what it iterates: none for a range
/// (`0..x.len()` counts), the item but not the counter for `.enumerate()`.
fn element_bindings(lp: &syn::ExprForLoop) -> Vec<Ident> {
    fn range(expr: &Expr) -> bool {
        match strip_parens(expr) {
            Expr::Range(_) => true,
            Expr::MethodCall(call)
                if matches!(call.method.to_string().as_str(), "rev" | "step_by") =>
            {
                range(&call.receiver)
            }
            _ => false,
        }
    }
    match (strip_parens(&lp.expr), &*lp.pat) {
        (expr, _) if range(expr) => Vec::new(),
        (Expr::MethodCall(call), Pat::Tuple(pair)) if call.method == "enumerate" => {
            pair.elems.get(1).map(pattern_bindings).unwrap_or_default()
        }
        _ => pattern_bindings(&lp.pat),
    }
}

/// Whether an expression names one of `names`.
fn reads_any(expr: &Expr, names: &HashSet<String>) -> bool {
    struct Reads<'a> {
        names: &'a HashSet<String>,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Reads<'_> {
        fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
            if let Some(ident) = path.path.get_ident() {
                self.found |= self.names.contains(&ident.to_string());
            }
        }
        /// A macro's arguments (`concatenate![Axis(0), a.view(), b.view()]`) are tokens, not
        /// parsed expressions: any identifier among them counts as read.
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            fn mentions(tokens: TokenStream, names: &HashSet<String>) -> bool {
                tokens.into_iter().any(|tree| match tree {
                    proc_macro2::TokenTree::Ident(ident) => names.contains(&ident.to_string()),
                    proc_macro2::TokenTree::Group(group) => mentions(group.stream(), names),
                    _ => false,
                })
            }
            self.found |= mentions(mac.tokens.clone(), self.names);
        }
    }
    let mut reads = Reads {
        names,
        found: false,
    };
    reads.visit_expr(expr);
    reads.found
}

/// A loop's element read at an index ([`Lowerer::element_read`]): the `let` binding it, the
/// number of elements, and whether the loop runs last first.
struct ElementRead {
    element: TokenStream,
    count: TokenStream,
    reversed: bool,
}
