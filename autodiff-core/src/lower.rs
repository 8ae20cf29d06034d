//! syn's AST → the SSA [`Program`]. Every expression that depends on a differentiated
//! parameter becomes nodes of primitives; everything else is a constant the user's own code
//! computes, kept as written (with its local names renamed to their SSA constants). Every
//! unsupported construct is reported at its span, and lowering goes on, so one compile lists
//! every problem.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{BinOp, Block, Expr, Ident, Item, Local, Pat, Stmt as SynStmt, Type, UnOp};

mod closure;
mod control;
mod env;
mod join;
mod nested;
mod slice;
mod tuple;

use env::Env;

use crate::diag::Diagnostics;
use crate::ir::{Input, InputKind, Node, Op, Operand, Program, Stmt, Var};
use crate::rules::{Primitive, Syntax};
use crate::signature::{Output, Signature};
use crate::text::pretty;

pub fn lower(sig: &Signature, block: &Block, diag: &mut Diagnostics) -> Program {
    let mut lowerer = Lowerer {
        diag,
        env: Env::new(),
        program: Program {
            inputs: Vec::new(),
            nodes: Vec::new(),
            locals: Vec::new(),
            stmts: Vec::new(),
            outputs: Vec::new(),
            array_outputs: sig.array_outputs(),
            copy_constants: HashSet::new(),
            float_inputs: HashSet::new(),
            float: signature_float(sig).map(|ty| ty.to_token_stream()),
            dual: false,
            reals: HashSet::new(),
        },
        regions: 0,
        loop_depth: 0,
        outer_consts: HashSet::new(),
        local_closures: HashMap::new(),
        fresh: 0,
        consts: HashMap::new(),
        pinned: HashSet::new(),
        mutable: HashSet::new(),
        mutable_bindings: HashSet::new(),
        views: sig
            .params
            .iter()
            .filter(|param| crate::signature::is_view(&param.ty))
            .map(|param| param.ident.to_string())
            .collect(),
        array_params: sig
            .params
            .iter()
            .filter(|param| {
                param.differentiated && !param.structured && !crate::signature::is_float(&param.ty)
            })
            .map(|param| param.ident.to_string())
            .collect(),
        tuple_arity: match sig.output {
            Output::Tuple(arity) => Some(arity),
            _ => None,
        },
        float: signature_float(sig),
        result_type: sig.ret.clone(),
        function_tail: false,
    };
    lowerer.reserved_names(sig, block);
    for param in &sig.params {
        let operand = if param.differentiated {
            lowerer.program.inputs.push(Input {
                ident: param.ident.clone(),
                display: param.ident.to_string(),
                kind: match param.structured {
                    true => InputKind::Struct,
                    false => InputKind::Value,
                },
                reference: matches!(param.ty, syn::Type::Reference(_)),
            });
            if crate::signature::is_float(&param.ty) {
                let k = lowerer.program.inputs.len() - 1;
                lowerer.program.float_inputs.insert(k);
            }
            Operand::Var(Var::Input(lowerer.program.inputs.len() - 1))
        } else {
            lowerer.consts.insert(
                param.ident.to_string(),
                ConstInfo {
                    copy: is_copy_type(&param.ty),
                    borrows: Vec::new(),
                },
            );
            if param.mutable {
                lowerer.mutable.insert(param.ident.to_string());
            }
            Operand::Const {
                tokens: param.ident.to_token_stream(),
                display: param.ident.to_string(),
                literal: false,
            }
        };
        lowerer.env.declare(param.ident.to_string(), Some(operand));
    }
    lowerer.block(block);
    lowerer.program.copy_constants = lowerer
        .consts
        .iter()
        .filter(|(_, info)| info.copy)
        .map(|(name, _)| name.clone())
        .collect();
    lowerer.program
}

struct Lowerer<'a> {
    diag: &'a mut Diagnostics,
    /// What each local name in scope is bound to now.
    env: Env,
    /// Branches and loops lowered so far, which numbers them.
    regions: usize,
    /// How many loops enclose the code being lowered: `break` and `continue` need one.
    loop_depth: usize,
    /// The constant bindings that exist outside the innermost branch or loop: code inside
    /// one runs again in the adjoint sweep, so it copies them rather than moving them.
    outer_consts: HashSet<String>,
    program: Program,
    fresh: usize,
    /// Each constant binding of the generated code (`__cN`, or a constant parameter's name):
    /// whether it is known to be `Copy`, and which others it may borrow.
    consts: HashMap<String, ConstInfo>,
    /// The constant bindings the derivative sweeps read after the forward sweep (a node's
    /// arguments, and whatever those borrow): code after their first reader must not move
    /// them, so a later move of one (`let a = f(c);`, `c -= ..;`) moves a copy instead.
    pinned: HashSet<String>,
    /// The user's names declared `mut` (`let mut v = …;`) and bound to constants: code that
    /// may mutate one in place (`v.push(..)`, `f(&mut v)`) gets a mutable binding of its own.
    mutable: HashSet<String>,
    /// The constant bindings declared `let mut` by the generated code, which code may
    /// mutate in place as long as no derivative sweep reads them.
    mutable_bindings: HashSet<String>,
    /// The parameters that are views (`ArrayView1<f64>`).
    views: HashSet<String>,
    /// The differentiated parameters that are arrays, which a closure cannot capture.
    array_params: HashSet<String>,
    /// The number of elements of the function's result, when it is a tuple.
    tuple_arity: Option<usize>,
    /// The one float type the signature names (`f64` or `f32`), if it names just one: the
    /// type a literal takes when it is assigned to a differentiated variable.
    float: Option<Type>,
    /// The function's result type.
    result_type: Type,
    /// Whether the statements being lowered are the rest of the function's body, whose
    /// last expression (or final `return`) is its result.
    function_tail: bool,
    /// Closures bound with `let` (`let cdf = |x: f64| …;`), by the constant binding each
    /// name is bound to: a call of one on differentiated values is its body, inlined. Beside
    /// each, the names its body reads and what each was bound to where the closure was
    /// made: an inlined call must read the same.
    local_closures: HashMap<String, (syn::ExprClosure, Vec<(String, String)>)>,
}

impl Lowerer<'_> {
    fn block(&mut self, block: &Block) {
        let last = block.stmts.len().saturating_sub(1);
        let early = block.stmts.iter().enumerate().any(|(k, stmt)| {
            control::stmt_returns(stmt)
                && !(k == last && matches!(stmt, SynStmt::Expr(Expr::Return(_), _)))
        });
        if early && self.tuple_arity.is_none() {
            // `return` before the end: a flag, and the value it returns (until then, a
            // placeholder of the result's type).
            let result = &self.result_type;
            self.env.declare(
                control::RETURNED.into(),
                Some(Operand::Const {
                    tokens: quote!(false),
                    display: "false".into(),
                    literal: false,
                }),
            );
            self.env.declare(
                control::RETURN_VALUE.into(),
                Some(Operand::Const {
                    tokens: quote!(<#result as ::core::default::Default>::default()),
                    display: "return".into(),
                    literal: false,
                }),
            );
            self.function_tail = true;
            let output = self.stmts(&block.stmts, true);
            self.function_tail = false;
            self.program.outputs = vec![output.unwrap_or(Operand::Poison)];
            return;
        }
        let mut output = None;
        let (last, body) = match block.stmts.split_last() {
            Some((last, body)) => (Some(last), body),
            None => (None, &block.stmts[..]),
        };
        self.stmts(body, false);
        match last {
            Some(SynStmt::Expr(Expr::Return(ret), _)) => match &ret.expr {
                Some(expr) => output = Some(self.result(expr)),
                None => self.diag.error(
                    ret,
                    "`return` without a value; return the function's `f64` or `f32` result",
                ),
            },
            Some(SynStmt::Expr(expr, None)) => output = Some(self.result(expr)),
            Some(stmt) => {
                self.stmts(std::slice::from_ref(stmt), false);
            }
            None => {}
        }
        self.program.outputs = output.unwrap_or_else(|| {
            self.diag.error_at(
                block.brace_token.span.close(),
                "the body must end with the function's result, as an expression without a semicolon",
            );
            vec![Operand::Poison]
        });
    }

    /// The function's result: one value, or the elements of a tuple `(a, b)`.
    fn result(&mut self, expr: &Expr) -> Vec<Operand> {
        match (strip_parens(expr), self.tuple_arity) {
            (Expr::Tuple(tuple), Some(arity)) if tuple.elems.len() == arity => {
                tuple.elems.iter().map(|elem| self.expr(elem)).collect()
            }
            _ => vec![self.expr(expr)],
        }
    }

    /// `let (a, mut b) = (x, y);`: each name bound to its element, all evaluated first.
    fn tuple_local(&mut self, local: &Local) -> bool {
        let (Pat::Tuple(pattern), Some(init)) = (&local.pat, &local.init) else {
            return false;
        };
        let names: Option<Vec<(&Ident, bool)>> = pattern
            .elems
            .iter()
            .map(|pat| match pat {
                Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                    Some((&pat.ident, pat.mutability.is_some()))
                }
                _ => None,
            })
            .collect();
        let Expr::Tuple(values) = strip_parens(&init.expr) else {
            return match names {
                Some(names) if init.diverge.is_none() && self.mentions_var(&init.expr) => {
                    self.branched_tuple_local(&names, &init.expr)
                        || self.constant_tuple_local(pattern, &init.expr)
                }
                _ => self.constant_tuple_local(pattern, &init.expr),
            };
        };
        let Some(names) = names.filter(|names| names.len() == values.elems.len()) else {
            return false;
        };
        if init.diverge.is_some() {
            return false;
        }
        let operands: Vec<Operand> = names
            .iter()
            .zip(&values.elems)
            .map(|((ident, _), value)| self.value_of(value, ident.to_string()))
            .collect();
        for ((ident, mutable), operand) in names.into_iter().zip(operands) {
            match (mutable, &operand) {
                (true, Operand::Const { .. }) => self.mutable.insert(ident.to_string()),
                _ => self.mutable.remove(&ident.to_string()),
            };
            self.env.declare(ident.to_string(), Some(operand));
        }
        true
    }

    /// `let (n, d) = x.dim();`: a constant tuple, each name bound to its element.
    fn constant_tuple_local(&mut self, pattern: &syn::PatTuple, init: &Expr) -> bool {
        let names: Option<Vec<&Ident>> = pattern
            .elems
            .iter()
            .map(|pat| match pat {
                Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => Some(&pat.ident),
                _ => None,
            })
            .collect();
        let Some(names) = names else { return false };
        if self.mentions_var(init) && !self.constant_valued(init) {
            return false;
        }
        let whole = self.value_of(init, pretty(init));
        let Operand::Const { tokens, .. } = whole else {
            return true;
        };
        for (k, ident) in names.into_iter().enumerate() {
            let field = syn::Index::from(k);
            let info = ConstInfo {
                copy: false,
                borrows: vec![tokens.to_string()],
            };
            let element = self.bind(quote!(#tokens.#field), None, ident.to_string(), false, info);
            self.mutable.remove(&ident.to_string());
            self.env.declare(ident.to_string(), Some(element));
        }
        true
    }

    /// The value of an expression bound to `name`: a node, or a constant binding.
    fn value_of(&mut self, expr: &Expr, name: String) -> Operand {
        match self.mentions_var(expr) || is_control_flow(expr) {
            true => self.expr(expr),
            false => self.bind_constant(expr, None, name),
        }
    }

    /// `(a, b) = (x, y);`: every element evaluated, then every name assigned.
    fn tuple_assign(&mut self, left: &syn::ExprTuple, right: &Expr) {
        let Expr::Tuple(values) = strip_parens(right) else {
            self.diag.error(
                right,
                "a tuple assignment needs a tuple of values on its right: `(a, b) = (b, a);`",
            );
            return;
        };
        if values.elems.len() != left.elems.len() {
            self.diag
                .error(right, "the tuples on both sides must have the same length");
            return;
        }
        let names: Vec<Option<String>> = left.elems.iter().map(|elem| self.target(elem)).collect();
        let operands: Vec<Operand> = names
            .iter()
            .zip(&values.elems)
            .map(|(name, value)| self.value_of(value, name.clone().unwrap_or_default()))
            .collect();
        for (name, operand) in names.into_iter().zip(operands) {
            if let Some(name) = name {
                self.env.assign(&name, operand);
            }
        }
    }

    fn local(&mut self, local: &Local) {
        if self.nested_local(local) || self.tuple_local(local) {
            return;
        }
        let mutable = match &local.pat {
            Pat::Ident(pat) => pat.mutability.is_some(),
            Pat::Type(typed) => matches!(&*typed.pat, Pat::Ident(pat) if pat.mutability.is_some()),
            _ => false,
        };
        let (ident, ty) = match &local.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                (Some(&pat.ident), None)
            }
            Pat::Type(typed) => match &*typed.pat {
                Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                    (Some(&pat.ident), Some(&*typed.ty))
                }
                _ => (None, None),
            },
            Pat::Wild(_) => {
                // `let _ = expr;` evaluates nothing the result depends on.
                if let Some(init) = &local.init {
                    if !self.mentions_var(&init.expr) {
                        self.check_constant(&init.expr);
                    } else {
                        self.expr(&init.expr);
                    }
                }
                return;
            }
            _ => (None, None),
        };
        if ident.is_none() {
            self.diag.error(
                &local.pat,
                "only `let name = ...;` and tuple bindings (`let (a, b) = (x, y);`, or from an `if` or `match` whose every arm ends in such a tuple) are supported; bind each value to its own name",
            );
        }
        let value = match &local.init {
            None => None,
            // A pattern already reported: lowering its value would only repeat the problem.
            Some(_) if ident.is_none() => None,
            Some(init) => {
                if let Some((_, diverge)) = &init.diverge {
                    self.diag.error(
                        diverge,
                        "`let ... else` is not supported in a #[differentiable] function",
                    );
                }
                Some(match ident {
                    Some(ident)
                        if !self.mentions_var(&init.expr) && !is_control_flow(&init.expr) =>
                    {
                        let value = self.bind_constant(&init.expr, ty, ident.to_string());
                        if let (Expr::Closure(closure), Operand::Const { tokens, .. }) =
                            (strip_parens(&init.expr), &value)
                        {
                            let reads = self.bindings_read(closure);
                            self.local_closures
                                .insert(tokens.to_string(), (closure.clone(), reads));
                        }
                        value
                    }
                    _ => match strip_parens(&init.expr) {
                        Expr::Closure(closure) => {
                            self.capturing_closure(closure);
                            Operand::Poison
                        }
                        _ => self.expr(&init.expr),
                    },
                })
            }
        };
        if let Some(ident) = ident {
            match (mutable, &value) {
                (true, Some(Operand::Const { .. })) => self.mutable.insert(ident.to_string()),
                _ => self.mutable.remove(&ident.to_string()),
            };
            // `let y;` shadows any earlier `y` until it is assigned.
            self.env.declare(ident.to_string(), value);
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            // Each generated function declares them again, in its own block.
            Item::Use(_) | Item::Const(_) | Item::Fn(_) => {
                self.program.stmts.push(Stmt::Verbatim(item.to_token_stream()));
            }
            _ => self.diag.error(
                item,
                "only `use`, `const` and `fn` items are supported inside a #[differentiable] function; move this item outside it",
            ),
        }
    }

    /// An expression statement: an assignment, or a constant computation kept as written.
    fn statement(&mut self, expr: &Expr) {
        match expr {
            Expr::If(expr_if) => {
                self.if_expr(expr_if, false);
            }
            Expr::Match(expr_match) => {
                self.match_expr(expr_match, false);
            }
            Expr::ForLoop(lp) => self.for_loop(lp),
            Expr::While(lp) => self.while_loop(lp),
            Expr::Loop(lp) => self.plain_loop(lp),
            Expr::Break(_) | Expr::Continue(_) | Expr::Return(_) => self.jump(expr),
            Expr::Block(block) if block.label.is_none() && block.attrs.is_empty() => {
                self.env.push();
                self.stmts(&block.block.stmts, false);
                self.env.pop();
            }
            Expr::Paren(paren) => self.statement(&paren.expr),
            Expr::Assign(assign) if matches!(strip_parens(&assign.left), Expr::Index(_)) => {
                if let Expr::Index(left) = strip_parens(&assign.left) {
                    self.element_write(left, &assign.right, expr);
                }
            }
            Expr::Binary(binary)
                if compound_operator(&binary.op).is_some()
                    && matches!(strip_parens(&binary.left), Expr::Index(_)) =>
            {
                // `q[i] += v` is `q[i] = q[i] + (v)`.
                let (Expr::Index(left), Some(op)) =
                    (strip_parens(&binary.left), compound_operator(&binary.op))
                else {
                    return;
                };
                // As Rust runs `q[I] op= v` on floats: `v` first, then `I`, once. Bound to
                // names of their own where the order or a second run could matter (an index
                // that calls anything, `q[w.pop().unwrap()] += …`, or whose names `v` may
                // change, `q[k] += x[bump(&mut k)]`).
                let mut left = left.clone();
                let mut right = (*binary.right).clone();
                let plain = plain_index(&left.index);
                if !plain || mutates_any(&right, &idents_of(&left.index)) {
                    let rhs = format_ident!("__autodiff_rhs", span = right.span());
                    let bind: syn::Stmt =
                        syn::parse_quote_spanned!(right.span()=> let #rhs = #right;);
                    self.stmts(std::slice::from_ref(&bind), false);
                    right = syn::parse_quote!(#rhs);
                }
                if !plain {
                    let at = format_ident!("__autodiff_at", span = left.index.span());
                    let index = &left.index;
                    let bind: syn::Stmt =
                        syn::parse_quote_spanned!(index.span()=> let #at = #index;);
                    self.stmts(std::slice::from_ref(&bind), false);
                    *left.index = syn::parse_quote!(#at);
                }
                let value: Expr = syn::parse_quote_spanned!(binary.op.span()=> #left #op (#right));
                self.element_write(&left, &value, expr);
            }
            Expr::Assign(assign) if matches!(strip_parens(&assign.left), Expr::Tuple(_)) => {
                if let Expr::Tuple(left) = strip_parens(&assign.left) {
                    self.tuple_assign(left, &assign.right);
                }
            }
            Expr::Assign(assign) => {
                if let Some(name) = self.target(&assign.left) {
                    // `a = 0.1;` where `a` held a differentiated float: the literal has `a`'s
                    // float type, which its own binding must state (`__c1.exp()` on an
                    // untyped float does not compile).
                    let literal = self.is_literal(&assign.right);
                    let current = self.env.get(&name).cloned();
                    let value = match (self.mentions_var(&assign.right), &current) {
                        (true, _) => self.expr(&assign.right),
                        (false, Some(Operand::Var(_))) if literal => {
                            let ty = self.float.clone();
                            self.bind_constant(&assign.right, ty.as_ref(), name.clone())
                        }
                        // Where `a` held a constant, the literal takes its type through
                        // `like(&a, 0.75)`, whatever that type is.
                        (
                            false,
                            Some(Operand::Const {
                                tokens,
                                literal: untyped,
                                ..
                            }),
                        ) if literal => {
                            let (previous, untyped) = (tokens.clone(), *untyped);
                            self.bind_like(&previous, &assign.right, untyped, name.clone())
                        }
                        (false, _) => self.bind_constant(&assign.right, None, name.clone()),
                    };
                    self.env.assign(&name, value);
                }
            }
            Expr::Binary(binary) if compound_operator(&binary.op).is_some() => {
                let Some(name) = self.target(&binary.left) else {
                    return;
                };
                let current = self.env.get(&name).cloned().unwrap_or(Operand::Poison);
                let value = match (&current, self.mentions_var(&binary.right)) {
                    (Operand::Const { tokens, .. }, false) => {
                        if self.check_constant(&binary.right) {
                            let literal =
                                self.is_literal(&binary.left) && self.is_literal(&binary.right);
                            self.compound_constant(tokens, binary, name.clone(), literal)
                        } else {
                            Operand::Poison
                        }
                    }
                    _ => match Primitive::binary(&binary.op) {
                        Some(prim) => {
                            let right = self.expr(&binary.right);
                            // As in Rust, the right side runs first: it may have rebound the
                            // variable (a method of a `mut` constant gets a binding of its own).
                            let current = self.env.get(&name).cloned().unwrap_or(Operand::Poison);
                            self.apply(Op::Prim(prim), vec![current, right], binary.op.span())
                        }
                        None => {
                            self.operator_error(&binary.op);
                            Operand::Poison
                        }
                    },
                };
                self.env.assign(&name, value);
            }
            _ if !self.mentions_var(expr) => {
                if self.check_constant(expr) {
                    self.unshare_mutated(expr, None);
                    let (renamed, _) = self.renamed(expr, true);
                    self.program.stmts.push(Stmt::Verbatim(quote!(#renamed;)));
                }
            }
            _ => {
                if let Some(method) = in_place_method(expr) {
                    self.diag.error(
                        expr,
                        format!("`{method}` changes a differentiated array in place, which #[differentiable] cannot follow; write its elements (`y[[i, j]] = …;`, `y[i] += …;` in a loop), or compute a new array and assign it (`y = &y + &(h * &k);`, `let rows = concatenate![Axis(0), a.view(), b.view()];`)"),
                    );
                } else if self.check_constant(expr) {
                    self.diag.error(
                        expr,
                        "the value of this expression is discarded; bind it with `let` or make it the function's result",
                    );
                }
            }
        }
    }

    /// The local variable an assignment writes.
    fn target(&mut self, left: &Expr) -> Option<String> {
        match single_ident(left) {
            Some(ident) if self.env.contains_key(&ident.to_string()) => Some(ident.to_string()),
            Some(ident) => {
                self.diag.error(
                    left,
                    format!("`{ident}` is not a local variable of this function; only local variables can be assigned"),
                );
                None
            }
            None if matches!(strip_parens(left), Expr::Index(_)) => {
                self.diag.error(
                    left,
                    "writing an element of an array (`q[i] = ...`) is not supported in a #[differentiable] function yet; compute the elements as values and combine them with array operations",
                );
                None
            }
            None => {
                self.diag.error(
                    left,
                    "only assignments to local variables (`x = ...`, `x += ...`) are supported",
                );
                None
            }
        }
    }

    fn expr(&mut self, expr: &Expr) -> Operand {
        match expr {
            Expr::If(expr_if) => return self.if_expr(expr_if, true).unwrap_or(Operand::Poison),
            Expr::Match(expr_match) => {
                return self.match_expr(expr_match, true).unwrap_or(Operand::Poison)
            }
            Expr::Block(block) if block.label.is_none() && block.attrs.is_empty() => {
                self.env.push();
                let value = self.stmts(&block.block.stmts, true);
                self.env.pop();
                return value.unwrap_or(Operand::Poison);
            }
            _ => {}
        }
        if !self.mentions_var(expr) {
            // `&c` as an operand reads `c` itself (the rules take values and references
            // alike): no binding that borrows another.
            if let Expr::Reference(reference) = strip_parens(expr) {
                if reference.mutability.is_none() && single_ident(&reference.expr).is_some() {
                    return self.constant(&reference.expr);
                }
            }
            // `&erfc(d).view()`: a view of a temporary, which a binding would outlive; the
            // rules read the array itself the same.
            if let Some(array) = viewed_temporary(expr) {
                return self.constant(array);
            }
            return self.constant(expr);
        }
        if self.constant_valued(expr) {
            // A view of a temporary reading shapes of values (`(n / d).to_owned().view()`,
            // `n = x.ncols()`): the array itself, as above.
            return self.read_constant(viewed_temporary(expr).unwrap_or(expr));
        }
        match expr {
            Expr::Paren(paren) => self.expr(&paren.expr),
            Expr::Group(group) => self.expr(&group.expr),
            Expr::Path(_) => {
                let ident = single_ident(expr)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let operand = self.env.get(&ident).cloned().unwrap_or(Operand::Poison);
                if let Operand::Var(Var::Input(k)) = operand {
                    if !self.program.inputs[k].is_value() {
                        self.diag.error(
                            expr,
                            format!("`{ident}` is a struct of parameters, not a value: read its fields in expressions (`{ident}.w`)"),
                        );
                        return Operand::Poison;
                    }
                }
                operand
            }
            Expr::Field(field) => match self.nested_field(field) {
                Some(operand) => operand,
                None => self.field(field, expr),
            },
            Expr::Index(index) => self.index(index, expr),
            Expr::Binary(binary) => {
                match (compound_operator(&binary.op), Primitive::binary(&binary.op)) {
                    (None, Some(prim)) => {
                        let left = self.expr(&binary.left);
                        let right = self.expr(&binary.right);
                        self.apply(Op::Prim(prim), vec![left, right], binary.op.span())
                    }
                    (Some(_), _) => self.unsupported(expr),
                    (None, None) => {
                        self.operator_error(&binary.op);
                        Operand::Poison
                    }
                }
            }
            Expr::Unary(unary) => match unary.op {
                // `*v` of an element bound by reference reads the value.
                UnOp::Deref(_) => self.expr(&unary.expr),
                UnOp::Neg(_) => {
                    let arg = self.expr(&unary.expr);
                    self.apply(Op::Prim(Primitive::Neg), vec![arg], expr_span(expr))
                }
                _ => {
                    let op = unary.op.to_token_stream();
                    self.diag.error(
                        unary.op,
                        format!("operator `{op}` cannot be applied to a differentiated value; the supported operators are `+ - * /` and unary `-`"),
                    );
                    Operand::Poison
                }
            },
            // A shared borrow reads the same value; of an element of a struct's field
            // (`&p.layers[i]`, a layer of a `Vec`), that element in place.
            Expr::Reference(reference) if reference.mutability.is_none() => {
                match strip_parens(&reference.expr) {
                    Expr::Index(_) => match self.projection(&reference.expr) {
                        Some(operand) => operand,
                        None => self.expr(&reference.expr),
                    },
                    _ => self.expr(&reference.expr),
                }
            }
            Expr::MethodCall(call) => self.method_call(call, expr),
            Expr::Macro(mac) if join::join_macro(&mac.mac).is_some() => {
                let prim = join::join_macro(&mac.mac).expect("a join");
                match join::macro_args(&mac.mac).as_deref() {
                    Some([axis, arrays @ ..]) => {
                        self.join(prim, axis, arrays, expr, expr_span(expr))
                    }
                    _ => self.unsupported(expr),
                }
            }
            Expr::Call(call) => match call_primitive_of(&call.func) {
                Some(prim @ (Primitive::Concatenate | Primitive::Stack)) => {
                    self.diag.error(expr, join_error(prim));
                    Operand::Poison
                }
                Some(prim) => self.call_primitive(prim, call.args.iter(), expr, expr_span(expr)),
                // A local bound to something already reported, such as a closure.
                None if self.mentions_var(&call.func) => Operand::Poison,
                None => self.call_function(call, expr),
            },
            Expr::Cast(cast) => {
                let ty = pretty(&cast.ty);
                self.diag.error(
                    expr,
                    format!("cannot cast a differentiated value to `{ty}`: mixing float types is not supported; keep the computation in the parameters' float type (a cast to an integer type is a constant, with derivative zero)"),
                );
                Operand::Poison
            }
            _ => self.unsupported(expr),
        }
    }

    /// A primitive of constants only (`acc += x.len() as f64` on a constant `acc`): nothing
    /// differentiated flows in, so it is a constant, computed by the rule's `forward`.
    fn constant_primitive(&mut self, prim: Primitive, args: &[Operand], span: Span) -> Operand {
        let rule = prim.rule();
        let mut borrows = Vec::new();
        let values = args.iter().enumerate().map(|(k, arg)| {
            let Operand::Const {
                tokens, literal, ..
            } = arg
            else {
                unreachable!("only constants reach here")
            };
            self.pin(tokens);
            // A view borrows its argument.
            if prim.returns_view() {
                borrows.push(tokens.to_string());
            }
            match *literal || rule.constant_args.contains(&k) {
                true => tokens.clone(),
                false => quote!((#tokens).autodiff_arg()),
            }
        });
        let values: Vec<TokenStream> = values.collect();
        let module = Ident::new(rule.module, span);
        let expr = quote::quote_spanned!(span=> ::autodiff::__private::prim::#module::forward(#(#values),*));
        // The rule's notation with the constants' own displays: `c + n`.
        let display = args
            .iter()
            .enumerate()
            .fold(rule.notation.to_string(), |text, (k, arg)| {
                let Operand::Const { display, .. } = arg else {
                    return text;
                };
                text.replace(&format!("{{{k}}}"), display)
            });
        let info = ConstInfo {
            copy: false,
            borrows,
        };
        self.bind(expr, None, display, false, info)
    }

    /// `p.layer.w` on a struct parameter `p`: the input for that field, made on first read.
    fn field(&mut self, field: &syn::ExprField, whole: &Expr) -> Operand {
        let bound =
            single_ident(field_root(field)).and_then(|ident| self.env.get(&ident.to_string()));
        let (root, path, _) = match bound {
            // Already reported.
            Some(Operand::Poison) => return Operand::Poison,
            _ => match self.field_path(field) {
                Some(target) => target,
                None => {
                    return match self.projection(whole) {
                        Some(operand) => operand,
                        None => self.unsupported(whole),
                    }
                }
            },
        };
        Operand::Var(Var::Input(self.field_input_at(root, path)))
    }

    /// `p.layers[i].w`, `&p.layers[i]`, `layer.w` of `let layer = &p.layers[i];`: a part of
    /// a struct parameter at a constant index, as an [`Op::Project`] of the field before the
    /// first index (`p.layers`); `None` if `expr` is no such chain.
    fn projection(&mut self, expr: &Expr) -> Option<Operand> {
        enum Segment<'e> {
            Field(&'e syn::Member),
            Index(&'e Expr),
        }
        let mut segments = Vec::new();
        let mut base = strip_parens(expr);
        loop {
            match base {
                Expr::Field(field) => {
                    segments.push(Segment::Field(&field.member));
                    base = strip_parens(&field.base);
                }
                Expr::Index(index) => {
                    segments.push(Segment::Index(&index.index));
                    base = strip_parens(&index.expr);
                }
                _ => break,
            }
        }
        segments.reverse();
        let bound = self.env.get(&single_ident(base)?.to_string()).cloned()?;
        let (mut args, mut steps, mut rest) = match bound {
            Operand::Var(Var::Node(j)) => match &self.program.nodes[j].op {
                Op::Project(steps) => (
                    self.program.nodes[j].args.clone(),
                    steps.clone(),
                    &segments[..],
                ),
                _ => return None,
            },
            Operand::Var(Var::Input(k)) => {
                let (root, prefix) = match &self.program.inputs[k].kind {
                    InputKind::Struct => (k, TokenStream::new()),
                    InputKind::Field { root, path } => (*root, path.clone()),
                    InputKind::Value => return None,
                };
                // The fields before the first index: an input of their own.
                let fields = segments
                    .iter()
                    .take_while(|segment| matches!(segment, Segment::Field(_)))
                    .count();
                let members = segments[..fields]
                    .iter()
                    .filter_map(|segment| match segment {
                        Segment::Field(member) => Some(*member),
                        Segment::Index(_) => None,
                    });
                let path = quote!(#prefix #(.#members)*);
                let input = match fields {
                    0 => k,
                    _ => self.field_input_at(root, path),
                };
                (
                    vec![Operand::Var(Var::Input(input))],
                    Vec::new(),
                    &segments[fields..],
                )
            }
            _ => return None,
        };
        if !rest
            .iter()
            .any(|segment| matches!(segment, Segment::Index(_)))
            && steps
                .iter()
                .all(|step| matches!(step, crate::ir::Step::Field(_)))
        {
            return None;
        }
        while let Some((segment, more)) = rest.split_first() {
            rest = more;
            match segment {
                Segment::Field(member) => steps.push(crate::ir::Step::Field((*member).clone())),
                Segment::Index(index) => {
                    if self.mentions_var(index) && !self.constant_valued(index) {
                        self.diag
                            .error(index, "an index must not depend on a differentiated value");
                        return Some(Operand::Poison);
                    }
                    let at = self.expr(index);
                    steps.push(crate::ir::Step::Index(args.len()));
                    args.push(at);
                }
            }
        }
        Some(self.apply(Op::Project(steps), args, expr_span(expr)))
    }

    /// The input of the field at `path` of struct parameter `root`, made on first read.
    fn field_input_at(&mut self, root: usize, path: TokenStream) -> usize {
        let ident = self.program.inputs[root].ident.clone();
        let display = pretty(&quote!(#ident #path));
        if let Some(k) = self
            .program
            .inputs
            .iter()
            .position(|input| input.display == display)
        {
            return k;
        }
        self.program.inputs.push(Input {
            ident,
            display,
            kind: InputKind::Field { root, path },
            reference: false,
        });
        self.program.inputs.len() - 1
    }

    /// The struct parameter `p.layer.w` reads, the path within it and its display, when
    /// the base is a struct parameter or a local bound to a sub-struct (`let layer = &p.layer;`).
    fn field_path(&self, field: &syn::ExprField) -> Option<(usize, TokenStream, String)> {
        let mut members = vec![&field.member];
        let mut base = strip_parens(&field.base);
        while let Expr::Field(inner) = base {
            members.push(&inner.member);
            base = strip_parens(&inner.base);
        }
        let bound = self.env.get(&single_ident(base)?.to_string());
        let Some(Operand::Var(Var::Input(k))) = bound else {
            return None;
        };
        let (root, prefix) = match &self.program.inputs[*k].kind {
            InputKind::Struct => (*k, TokenStream::new()),
            InputKind::Field { root, path } => (*root, path.clone()),
            InputKind::Value => return None,
        };
        members.reverse();
        let ident = &self.program.inputs[root].ident;
        let path = quote!(#prefix #(.#members)*);
        let display = pretty(&quote!(#ident #path));
        Some((root, path, display))
    }

    /// The input of the field `p.layer.w` if it has been read before.
    fn field_input(&self, field: &syn::ExprField) -> Option<usize> {
        let (_, _, display) = self.field_path(field)?;
        self.program
            .inputs
            .iter()
            .position(|input| input.display == display)
    }

    /// Makes the input of each field of a struct parameter that `expr` reads.
    fn read_fields(&mut self, expr: &Expr) {
        struct Fields<'a>(&'a Lowerer<'a>, Vec<syn::ExprField>);
        impl<'ast> Visit<'ast> for Fields<'_> {
            fn visit_expr_field(&mut self, field: &'ast syn::ExprField) {
                match self.0.field_path(field) {
                    Some(_) => self.1.push(field.clone()),
                    None => syn::visit::visit_expr_field(self, field),
                }
            }
            // Inside `s![..]`, `concatenate![..]`, `stack![..]`.
            fn visit_expr_macro(&mut self, mac: &'ast syn::ExprMacro) {
                for expr in macro_operands(&mac.mac) {
                    self.visit_expr(&expr);
                }
            }
        }
        let mut fields = Fields(self, Vec::new());
        fields.visit_expr(expr);
        for field in fields.1 {
            self.field(&field, &Expr::Field(field.clone()));
        }
    }

    fn method_call(&mut self, call: &syn::ExprMethodCall, whole: &Expr) -> Operand {
        let name = call.method.to_string();
        if call.args.is_empty() && VALUE_METHODS.contains(&name.as_str()) {
            let value = self.expr(&call.receiver);
            // An owned copy of a view is a value of its own, and so is a copy of a parameter
            // passed by reference (the user's code reads the two with different types); of
            // anything else, the same (a view's `clone` is a view).
            let copies_reference = matches!(name.as_str(), "clone" | "to_owned")
                && matches!(value, Operand::Var(Var::Input(k)) if self.program.inputs[k].reference);
            if (matches!(name.as_str(), "to_owned" | "into_owned") && self.is_view(&value))
                || copies_reference
            {
                return self.apply(Op::Copy, vec![value], expr_span(whole));
            }
            return value;
        }
        // ndarray's `mean`, `mean_axis` and `broadcast` return an `Option`, its
        // `into_shape_with_order` and `to_shape` a `Result`, read with `unwrap` or `expect`.
        let unwraps = (name == "unwrap" && call.args.is_empty())
            || (name == "expect" && call.args.len() == 1);
        if let Expr::MethodCall(inner) = strip_parens(&call.receiver) {
            let inner_name = inner.method.to_string();
            if let Some(prim) = fallible(&inner_name) {
                if !unwraps {
                    self.diag.error(&call.method, fallible_error(&inner_name));
                    return Operand::Poison;
                }
                let args = std::iter::once(&*inner.receiver).chain(&inner.args);
                return self.call_primitive(prim, args, whole, inner.method.span());
            }
        }
        if name == "sum" && call.args.is_empty() {
            if let Some(summed) = self.summed_map(&call.receiver) {
                return summed;
            }
            // `x.iter().sum::<f64>()` (also through `.copied()`, `.cloned()`): `x.sum()`.
            if let Some([array]) = closure::iterated(&call.receiver).as_deref() {
                let summed = syn::ExprMethodCall {
                    receiver: Box::new((*array).clone()),
                    turbofish: None,
                    args: Default::default(),
                    ..call.clone()
                };
                return self.method_call(&summed, whole);
            }
        }
        if name == "map" {
            if let Some(mapped) = self.iterator_map(call) {
                return mapped;
            }
        }
        if name == "fold" {
            if let Some(folded) = self.iterator_fold(call, whole) {
                return folded;
            }
        }
        if name == "map_collect" {
            return self.zip_map_collect(call, whole);
        }
        // `concatenate(Axis(k), &[a.view(), b.view()]).unwrap()`
        if let Expr::Call(inner) = strip_parens(&call.receiver) {
            let join = match strip_parens(&inner.func) {
                Expr::Path(path) => path
                    .path
                    .segments
                    .last()
                    .and_then(|last| join::join_named(&last.ident.to_string())),
                _ => None,
            };
            if let (Some(prim), false) = (join, unwraps) {
                self.diag.error(&call.method, join_error(prim));
                return Operand::Poison;
            }
            if let Some(prim) = join {
                let arrays = inner.args.iter().nth(1).and_then(join::slice_elems);
                if let (Some(axis), Some(arrays), 2) =
                    (inner.args.first(), arrays, inner.args.len())
                {
                    return self.join(prim, axis, &arrays, whole, expr_span(whole));
                }
                let name = prim.rule().module;
                self.diag.error(
                    inner,
                    format!("`{name}` of differentiated arrays takes the arrays written in place: `{name}(Axis(k), &[a.view(), b.view()])`"),
                );
                return Operand::Poison;
            }
        }
        if matches!(name.as_str(), "mapv" | "map" | "mapv_into") {
            return self.map_closure(call, whole);
        }
        if fallible(&name).is_some() {
            self.diag.error(&call.method, fallible_error(&name));
            return Operand::Poison;
        }
        // ndarray's by-value forms of the views, the same values (the views are owned in
        // the generated code).
        let prim = match name.as_str() {
            "slice_move" => Some(Primitive::Slice),
            "index_axis_move" => Some(Primitive::IndexAxis),
            _ => Primitive::method(&name),
        };
        match prim {
            Some(prim) => {
                let args = std::iter::once(&*call.receiver).chain(&call.args);
                self.call_primitive(prim, args, whole, call.method.span())
            }
            None => {
                self.diag.error(
                    &call.method,
                    format!(
                        "unknown method `{name}` on a differentiated value; #[differentiable] knows the methods {}",
                        Primitive::names(Syntax::Method)
                    ),
                );
                Operand::Poison
            }
        }
    }

    /// The primitive `prim` applied to `args`, written as `whole`; its node is spanned `at`:
    /// the method's name for a method call (`dot` in `a.dot(b).sum()`, as rustc locates a
    /// method call, so that each call of a chain has its own line and column), the whole
    /// call otherwise. The generated code calls the primitive's rules at that span, which is
    /// where their panics point.
    fn call_primitive<'e>(
        &mut self,
        prim: Primitive,
        args: impl Iterator<Item = &'e Expr>,
        whole: &Expr,
        at: Span,
    ) -> Operand {
        let rule = prim.rule();
        let args: Vec<&Expr> = args.collect();
        if args.len() != rule.arity {
            let takes = match rule.syntax {
                Syntax::Method => {
                    format!("`x.{}` takes {} argument(s)", rule.module, rule.arity - 1)
                }
                _ => format!("`{}` takes {} argument(s)", rule.module, rule.arity),
            };
            self.diag
                .error(whole, format!("{takes}; this call has the wrong number"));
            return Operand::Poison;
        }
        for &k in rule.constant_args {
            // Shapes and integer casts of values are constants (`s![..x.len() - 1]`).
            if self.mentions_var(args[k]) && !self.constant_valued(args[k]) {
                self.diag.error(
                    args[k],
                    format!(
                        "this argument of `{}` must not depend on a differentiated parameter; compute it from constants, shapes (`x.len()`) or integer casts",
                        rule.module
                    ),
                );
                return Operand::Poison;
            }
        }
        let operands = args
            .into_iter()
            .enumerate()
            .map(|(k, arg)| match (prim, k) {
                // `&indices` as written: the rule borrows it (a `Vec` is not `Copy`).
                (Primitive::Select, 2) if !self.mentions_var(arg) => self.constant(arg),
                // A constant field as the receiver (`model.w.dot(&x)`, `model: &Model` not
                // differentiated): borrowed, as the method call borrows it, not moved out.
                (Primitive::Dot, 0)
                    if matches!(strip_parens(arg), Expr::Field(_)) && !self.mentions_var(arg) =>
                {
                    let borrowed: Expr = syn::parse_quote_spanned!(arg.span()=> &#arg);
                    self.expr(&borrowed)
                }
                _ => self.expr(arg),
            })
            .collect();
        self.apply(Op::Prim(prim), operands, at)
    }

    /// `g(a, &b, 2.0)`: a call of another differentiable function, by path. Arguments that
    /// depend on the parameters are values of the trace; the others are passed as written.
    fn call_function(&mut self, call: &syn::ExprCall, whole: &Expr) -> Operand {
        // A local called as a function: a closure bound with `let`, inlined.
        if let Some(ident) = single_ident(&call.func) {
            if let Some(closure) = self.local_closure(&call.func) {
                if let Some(value) = self.inline_closure(&closure, call) {
                    return value;
                }
            }
            if let Some(Operand::Const { .. }) = self.env.get(&ident.to_string()) {
                self.diag.error(
                    &call.func,
                    format!("`{ident}` is a local closure that #[differentiable] cannot inline here: a closure called on differentiated values is inlined when it is bound with `let` (`let {ident} = |x: f64| ...;`), each parameter a plain name, and its body has no `return`; otherwise write its computation inline, or make `{ident}` a function of its own with #[differentiable]"),
                );
                return Operand::Poison;
            }
        }
        let path = match strip_parens(&call.func) {
            Expr::Path(path) if path.qself.is_none() => path.path.clone(),
            other => {
                self.diag.error(
                    other,
                    "only functions named by a path can be called on differentiated values (`g(x)`, `module::g(x)`)",
                );
                return Operand::Poison;
            }
        };
        let args = call
            .args
            .iter()
            .map(|arg| match self.mentions_var(arg) {
                // A struct of parameters passed whole (`loss(p, x)`, `loss(&p, x)`).
                true => self.whole_struct(arg).unwrap_or_else(|| self.expr(arg)),
                false => self.constant(arg),
            })
            .collect::<Vec<_>>();
        if args.iter().any(|arg| matches!(arg, Operand::Poison)) {
            return Operand::Poison;
        }
        if array_constructor(&path) {
            let name = pretty(&path);
            self.diag.error(
                &call.func,
                format!("`{name}` is given a differentiated value, and autodiff has no derivative rule for ndarray's constructors: build the array from constants and combine it with the value (`Array1::ones(n) * w`, or `Array1::zeros(n)` and then element writes `a[i] = w`)"),
            );
            return Operand::Poison;
        }
        if let Some(root) = foreign_root(&path) {
            let name = pretty(&path);
            self.diag.error(
                &call.func,
                format!("`{name}` is a function of `{root}`, not a `#[differentiable]` one, and autodiff has no derivative rule for it: write it with autodiff's primitives (the README lists them), or wrap it in a function of yours with custom rules, `#[differentiable(vjp = …, jvp = …)]`"),
            );
            return Operand::Poison;
        }
        let arg_spans = call.args.iter().map(expr_span).collect();
        self.apply(Op::Call { path, arg_spans }, args, expr_span(whole))
    }

    /// The closure a local name is bound to now (`let f = |x: f64| …;`), if it is one.
    fn local_closure(&self, expr: &Expr) -> Option<syn::ExprClosure> {
        let ident = single_ident(expr)?;
        match self.env.get(&ident.to_string()) {
            Some(Operand::Const { tokens, .. }) => {
                let (closure, _) = self.local_closures.get(&tokens.to_string())?;
                Some(closure.clone())
            }
            _ => None,
        }
    }

    /// Whether the closure bound to the name `func` would read, inlined here, what its names
    /// were bound to where it was made; if not, reports the first name bound again since.
    pub(super) fn reads_as_made(&mut self, func: &Expr) -> bool {
        let key = match single_ident(func).and_then(|ident| self.env.get(&ident.to_string())) {
            Some(Operand::Const { tokens, .. }) => tokens.to_string(),
            _ => return true,
        };
        let rebound = self.local_closures.get(&key).and_then(|(_, reads)| {
            reads
                .iter()
                .find(|(name, was)| self.env.get(name).map(binding_key).as_ref() != Some(was))
        });
        let Some((name, _)) = rebound else {
            return true;
        };
        self.diag.error(
            func,
            format!("this closure reads `{name}`, bound again since the closure was made: #[differentiable] inlines the closure's body where it is used on differentiated values, which would read the new `{name}`; make the closure after that binding, or give the new value another name"),
        );
        false
    }

    /// The names a closure's body reads from around it (macro operands too; not its own
    /// parameters or `let`s), each with what it is bound to now.
    fn bindings_read(&self, closure: &syn::ExprClosure) -> Vec<(String, String)> {
        struct Names(Vec<String>);
        impl<'ast> Visit<'ast> for Names {
            fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
                if let Some(ident) = path.path.get_ident() {
                    self.0.push(ident.to_string());
                }
            }
            fn visit_expr_macro(&mut self, mac: &'ast syn::ExprMacro) {
                for expr in macro_operands(&mac.mac) {
                    self.visit_expr(&expr);
                }
            }
        }
        let own = closure_params(closure);
        let mut names = Names(Vec::new());
        names.visit_expr(&closure.body);
        names.0.sort();
        names.0.dedup();
        let bound = names.0.into_iter().filter(|name| !own.contains(name));
        bound
            .filter_map(|name| {
                let key = binding_key(self.env.get(&name)?);
                Some((name, key))
            })
            .collect()
    }

    /// Names that generated code binds among the user's (rewritten loops' indices,
    /// `q[I] op= v`'s parts) begin with `__autodiff_`: the user's may not.
    fn reserved_names(&mut self, sig: &Signature, block: &Block) {
        struct Reserved(Vec<Ident>);
        impl<'ast> Visit<'ast> for Reserved {
            fn visit_ident(&mut self, ident: &'ast Ident) {
                if ident.to_string().starts_with("__autodiff_") {
                    self.0.push(ident.clone());
                }
            }
        }
        let mut found = Reserved(Vec::new());
        for param in &sig.params {
            found.visit_ident(&param.ident);
        }
        found.visit_block(block);
        for ident in found.0 {
            self.diag.error(
                &ident,
                format!("`{ident}`: names beginning with `__autodiff_` are reserved for the code #[differentiable] generates; rename it"),
            );
        }
    }

    /// A closure bound with `let` reading differentiated values: the error names them and
    /// says how to pass them instead.
    fn capturing_closure(&mut self, closure: &syn::ExprClosure) {
        let values: Vec<String> = self
            .bindings_read(closure)
            .into_iter()
            .filter(|(name, _)| matches!(self.env.get(name), Some(Operand::Var(_))))
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        let values = match values.as_slice() {
            [] => "differentiated values".to_string(),
            names => names.join(", "),
        };
        self.diag.error(
            closure,
            format!("a closure bound with `let` may read only constants, and this one reads {values}: pass them as parameters (`let f = |t: f64, y: f64, k: f64| …;` called `f(t, y, k)`, inlined where it is called), or write a #[differentiable] function outside"),
        );
    }

    /// The struct parameter `arg` names (`p`, `&p`), passed whole to another function.
    fn whole_struct(&self, arg: &Expr) -> Option<Operand> {
        let mut arg = strip_parens(arg);
        while let Expr::Reference(reference) = arg {
            if reference.mutability.is_some() {
                return None;
            }
            arg = strip_parens(&reference.expr);
        }
        let operand = self.env.get(&single_ident(arg)?.to_string())?;
        match operand {
            Operand::Var(Var::Input(k)) if !self.program.inputs[*k].is_value() => {
                Some(operand.clone())
            }
            _ => None,
        }
    }

    /// `f(a, b)` of a closure `let f = |x, y| body;`: `body` with `x`, `y` bound to the
    /// arguments, in a scope of its own (`None` where the closure cannot be inlined: its
    /// parameters are not plain names, one for each argument, or its body returns).
    fn inline_closure(
        &mut self,
        closure: &syn::ExprClosure,
        call: &syn::ExprCall,
    ) -> Option<Operand> {
        struct Returns(bool);
        impl<'ast> Visit<'ast> for Returns {
            fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
                self.0 = true;
            }
            fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        }
        if !self.reads_as_made(&call.func) {
            return Some(Operand::Poison);
        }
        let mut returns = Returns(false);
        returns.visit_expr(&closure.body);
        let params: Option<Vec<&Ident>> =
            closure.inputs.iter().map(closure::pattern_ident).collect();
        let params = params.filter(|p| p.len() == call.args.len() && !returns.0)?;
        let args: Vec<Operand> = call
            .args
            .iter()
            .zip(&closure.inputs)
            .map(|(arg, input)| match (self.mentions_var(arg), input) {
                (true, _) => self.expr(arg),
                // A constant for a float parameter, typed as it (a literal `2.0` read as
                // `t.sin()` would have no type).
                (false, Pat::Type(typed)) if is_float_type(&typed.ty) => {
                    let ty = &typed.ty;
                    self.constant(&syn::parse_quote!((#arg as #ty)))
                }
                (false, _) => self.constant(arg),
            })
            .collect();
        self.env.push();
        for (param, arg) in params.into_iter().zip(args) {
            self.env.declare(param.to_string(), Some(arg));
        }
        let value = self.expr(&closure.body);
        self.env.pop();
        Some(value)
    }

    /// Whether a value of the trace is a view: of a primitive returning one (`m.t()`), or a
    /// parameter of a view type (`ArrayView1<f64>`).
    fn is_view(&self, value: &Operand) -> bool {
        match value {
            Operand::Var(Var::Node(i)) => {
                matches!(self.program.nodes[*i].op, Op::Prim(prim) if prim.returns_view())
            }
            Operand::Var(Var::Input(k)) => {
                let input = &self.program.inputs[*k];
                matches!(input.kind, InputKind::Value)
                    && self.views.contains(&input.ident.to_string())
            }
            _ => false,
        }
    }

    /// Appends the node `op(args)`.
    fn apply(&mut self, op: Op, args: Vec<Operand>, span: Span) -> Operand {
        if args.iter().any(|arg| matches!(arg, Operand::Poison)) {
            return Operand::Poison;
        }
        if let Op::Prim(prim) = op {
            if args.iter().all(|arg| matches!(arg, Operand::Const { .. })) {
                return self.constant_primitive(prim, &args, span);
            }
        }
        for arg in &args {
            if let Operand::Const { tokens, .. } = arg {
                self.pin(tokens);
            }
        }
        self.program.nodes.push(Node { op, args, span });
        let index = self.program.nodes.len() - 1;
        self.program.stmts.push(Stmt::Node(index));
        Operand::Var(Var::Node(index))
    }

    /// A constant operand: literals and paths stay inline, anything larger is computed once.
    pub(super) fn constant(&mut self, expr: &Expr) -> Operand {
        if !self.check_constant(expr) {
            return Operand::Poison;
        }
        self.unshare_mutated(expr, None);
        // Read where it is computed, as the derivative sweeps read it: not moved.
        let (renamed, borrows) = self.renamed(expr, false);
        let literal = self.is_literal(expr);
        // An `s![..]` is computed once, as a binding (it is `Copy`).
        let slice = slice::is_slice_expr(strip_parens(expr));
        match strip_parens(&renamed) {
            atom @ (Expr::Lit(_) | Expr::Path(_) | Expr::Verbatim(_)) if !slice => Operand::Const {
                tokens: atom.to_token_stream(),
                display: pretty(expr),
                literal,
            },
            inner => {
                let info = ConstInfo {
                    copy: literal || slice || copy_expr(inner),
                    borrows,
                };
                self.bind(inner.to_token_stream(), None, pretty(expr), literal, info)
            }
        }
    }

    /// Whether a constant is made only of numeric literals, so has no float type of its own
    /// until it meets another operand (a typed `let` gives it one).
    fn is_literal(&self, expr: &Expr) -> bool {
        match strip_parens(expr) {
            Expr::Lit(lit) => matches!(lit.lit, syn::Lit::Float(_) | syn::Lit::Int(_)),
            Expr::Unary(unary) => matches!(unary.op, UnOp::Neg(_)) && self.is_literal(&unary.expr),
            // `[1.0, 2.0]`, `[0.5; 3]` and their elements `c[0]`.
            Expr::Array(array) => array.elems.iter().all(|elem| self.is_literal(elem)),
            Expr::Repeat(repeat) => self.is_literal(&repeat.expr),
            Expr::Index(index) => self.is_literal(&index.expr),
            Expr::Binary(binary) => {
                matches!(
                    binary.op,
                    BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) | BinOp::Rem(_)
                ) && self.is_literal(&binary.left)
                    && self.is_literal(&binary.right)
            }
            _ => match single_ident(expr).and_then(|ident| self.env.get(&ident.to_string())) {
                Some(Operand::Const { literal, .. }) => *literal,
                _ => false,
            },
        }
    }

    /// A constant bound to a fresh name: `let __cN[: ty] = expr;` in the forward sweep.
    fn bind_constant(&mut self, expr: &Expr, ty: Option<&Type>, display: String) -> Operand {
        if !self.check_constant(expr) {
            return Operand::Poison;
        }
        // `let a = c;` names the same value: no statement, so nothing is moved.
        if let (None, Some(ident)) = (ty, single_ident(expr)) {
            if let Some(Operand::Const {
                tokens, literal, ..
            }) = self.env.get(&ident.to_string())
            {
                return Operand::Const {
                    tokens: tokens.clone(),
                    display,
                    literal: *literal,
                };
            }
        }
        self.unshare_mutated(expr, None);
        let (renamed, borrows) = self.renamed(expr, true);
        let literal = ty.is_none() && self.is_literal(expr);
        let inner = strip_parens(&renamed);
        let info = ConstInfo {
            copy: literal || ty.map_or_else(|| copy_expr(inner), is_copy_type),
            borrows,
        };
        self.bind(inner.to_token_stream(), ty, display, literal, info)
    }

    /// A literal assigned to a constant variable, `let __cN = like(&previous, literal);`:
    /// of the previous value's type, which Rust inferred in the original from the variable.
    fn bind_like(
        &mut self,
        previous: &TokenStream,
        expr: &Expr,
        untyped: bool,
        display: String,
    ) -> Operand {
        if !self.check_constant(expr) {
            return Operand::Poison;
        }
        let (renamed, _) = self.renamed(expr, true);
        let info = ConstInfo {
            copy: true,
            borrows: Vec::new(),
        };
        let typed = quote!(::autodiff::__private::like(&#previous, #renamed));
        self.bind(typed, None, display, untyped, info)
    }

    /// `c op= rhs;` on a constant, kept as written on a fresh mutable binding that takes over
    /// `c`'s value: `let mut __cN = c; __cN op= rhs;`, where `rhs` reads `c` as `__cN` (as
    /// `m -= &m.sin()` reads `m` before it changes).
    fn compound_constant(
        &mut self,
        current: &TokenStream,
        binary: &syn::ExprBinary,
        name: String,
        literal: bool,
    ) -> Operand {
        // `name` itself gets its mutable binding below.
        self.unshare_mutated(&binary.right, Some(&name));
        let ident = self.fresh_constant();
        let previous = self.consts.get(&current.to_string());
        let mut info = ConstInfo {
            copy: literal || previous.is_some_and(|info| info.copy),
            borrows: previous
                .map(|info| info.borrows.clone())
                .unwrap_or_default(),
        };
        let value = self.taken(current);
        let operand = Operand::Const {
            tokens: ident.to_token_stream(),
            display: name.clone(),
            literal,
        };
        let before = self.env.set(&name, Some(operand.clone())).flatten();
        let (right, borrows) = self.renamed(&binary.right, true);
        self.env.set(&name, before);
        let key = ident.to_string();
        self.mutable_bindings.insert(key.clone());
        info.borrows
            .extend(borrows.into_iter().filter(|borrowed| *borrowed != key));
        self.consts.insert(key, info);
        let op = &binary.op;
        self.program.stmts.push(Stmt::Verbatim(
            quote!(let mut #ident = #value; #ident #op #right;),
        ));
        operand
    }

    /// Gives each `mut` constant that `expr` may mutate in place (the receiver of a method,
    /// `&mut c`) a mutable binding of its own, `let mut __cN = c;`, and binds the name to it:
    /// the constant bindings are immutable, and a derivative sweep may still read the old
    /// value (then the new binding is a copy).
    fn unshare_mutated(&mut self, expr: &Expr, except: Option<&str>) {
        struct Mutated(Vec<String>);
        fn root(expr: &Expr) -> Option<&Ident> {
            match expr {
                Expr::Paren(paren) => root(&paren.expr),
                Expr::Group(group) => root(&group.expr),
                Expr::Field(field) => root(&field.base),
                Expr::Index(index) => root(&index.expr),
                _ => single_ident(expr),
            }
        }
        impl<'ast> Visit<'ast> for Mutated {
            fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
                // Shape queries, comparisons and the primitives' methods (`a.tanh()`) take
                // `&self`.
                let name = call.method.to_string();
                if !QUERY_METHODS.contains(&name.as_str()) && Primitive::method(&name).is_none() {
                    self.0.extend(root(&call.receiver).map(ToString::to_string));
                }
                syn::visit::visit_expr_method_call(self, call);
            }
            fn visit_expr_reference(&mut self, reference: &'ast syn::ExprReference) {
                if reference.mutability.is_some() {
                    self.0
                        .extend(root(&reference.expr).map(ToString::to_string));
                }
                syn::visit::visit_expr_reference(self, reference);
            }
        }
        let mut mutated = Mutated(Vec::new());
        mutated.visit_expr(expr);
        mutated.0.sort();
        mutated.0.dedup();
        for name in mutated.0 {
            if !self.mutable.contains(&name) || except == Some(name.as_str()) {
                continue;
            }
            self.mutable_binding(&name);
        }
    }

    /// Gives the constant `name` is bound to a mutable binding of its own (unless it has
    /// one that no derivative sweep reads): `let mut __cN = c;`.
    fn mutable_binding(&mut self, name: &str) {
        {
            let Some(Operand::Const {
                tokens,
                display,
                literal,
            }) = self.env.get(name).cloned()
            else {
                return;
            };
            let key = tokens.to_string();
            if self.mutable_bindings.contains(&key) && !self.pinned.contains(&key) {
                return;
            }
            let ident = self.fresh_constant();
            self.mutable_bindings.insert(ident.to_string());
            let value = self.taken(&tokens);
            let info = match self.consts.get(&tokens.to_string()) {
                Some(info) => ConstInfo {
                    copy: info.copy,
                    borrows: info.borrows.clone(),
                },
                None => ConstInfo {
                    copy: false,
                    borrows: Vec::new(),
                },
            };
            self.consts.insert(ident.to_string(), info);
            // `unused_mut`: the method may turn out to take `&self` (`v.iter()`); which one
            // it is, only the type checker knows.
            self.program.stmts.push(Stmt::Verbatim(quote!(
                #[allow(unused_mut)]
                let mut #ident = #value;
            )));
            let operand = Operand::Const {
                tokens: ident.to_token_stream(),
                display,
                literal,
            };
            self.env.assign(name, operand);
        }
    }

    /// A fresh name for a constant binding, `__cN`: hygienic, so it cannot clash with the
    /// user's names in the generated code; also distinct from the constant parameters' names
    /// in `consts`, which knows both by name.
    fn fresh_constant(&mut self) -> Ident {
        loop {
            self.fresh += 1;
            let ident = format_ident!("__c{}", self.fresh, span = Span::mixed_site());
            if !self.consts.contains_key(&ident.to_string()) {
                return ident;
            }
        }
    }

    /// A constant binding as code that moves it: itself, or a copy if a derivative sweep
    /// still reads it and it is not `Copy`.
    fn taken(&self, tokens: &TokenStream) -> TokenStream {
        let key = tokens.to_string();
        let copy = self.consts.get(&key).is_some_and(|info| info.copy);
        let outer = self.outer_consts.contains(&key) && !self.mutable_bindings.contains(&key);
        match (self.pinned.contains(&key) || outer) && !copy {
            true => quote!(::core::clone::Clone::clone(&#tokens)),
            false => tokens.clone(),
        }
    }

    /// Records that the derivative sweeps read `tokens` (a node's constant argument): every
    /// constant binding it names, and those they borrow, are pinned.
    pub(super) fn pin(&mut self, tokens: &TokenStream) {
        let mut stack: Vec<String> = Vec::new();
        fn idents(tokens: TokenStream, out: &mut Vec<String>) {
            for tree in tokens {
                match tree {
                    proc_macro2::TokenTree::Ident(ident) => out.push(ident.to_string()),
                    proc_macro2::TokenTree::Group(group) => idents(group.stream(), out),
                    _ => {}
                }
            }
        }
        idents(tokens.clone(), &mut stack);
        while let Some(key) = stack.pop() {
            let Some(info) = self.consts.get(&key) else {
                continue;
            };
            if self.pinned.insert(key) {
                stack.extend(info.borrows.iter().cloned());
            }
        }
    }

    /// A fresh constant bound to `expr`. One borrowing a temporary (`&c.view()`) lives no
    /// longer than its binding's scope: it is listed as borrowing itself, so that no record
    /// of a region saves it apart from its statement.
    fn push_const(
        &mut self,
        expr: TokenStream,
        ty: Option<TokenStream>,
        reads: Vec<(Ident, Var)>,
        info: ConstInfo,
    ) -> Ident {
        let ident = self.fresh_constant();
        let mut borrows = info.borrows.clone();
        if borrows_temporary(&expr) {
            borrows.push(ident.to_string());
        }
        self.consts.insert(ident.to_string(), info);
        self.program.stmts.push(Stmt::Const {
            ident: ident.clone(),
            ty,
            expr,
            reads,
            borrows,
        });
        ident
    }

    /// Binds an already checked and renamed constant expression.
    fn bind(
        &mut self,
        expr: TokenStream,
        ty: Option<&Type>,
        display: String,
        literal: bool,
        info: ConstInfo,
    ) -> Operand {
        let ident = self.push_const(expr, ty.map(ToTokens::to_token_stream), Vec::new(), info);
        Operand::Const {
            tokens: ident.to_token_stream(),
            display,
            literal,
        }
    }

    /// Whether `expr` reads a variable that depends on a differentiated parameter (or an
    /// expression already reported as an error).
    fn mentions_var(&self, expr: &Expr) -> bool {
        struct Finder<'a> {
            env: &'a Env,
            found: bool,
            shadowed: Vec<String>,
        }
        impl<'ast> Visit<'ast> for Finder<'_> {
            fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
                if let Some(ident) = path.path.get_ident() {
                    let name = ident.to_string();
                    if path.qself.is_none() && !self.shadowed.contains(&name) {
                        let bound = self.env.get(&name);
                        self.found |= matches!(bound, Some(Operand::Var(_) | Operand::Poison));
                    }
                }
            }
            // Only the parameters hide a name in the whole body: a `let` inside may come
            // after a read of the outer value (`|t| { let u = t * w; let w = u * u; w }`).
            fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
                let depth = self.shadowed.len();
                self.shadowed.extend(closure_inputs(closure));
                self.visit_expr(&closure.body);
                self.shadowed.truncate(depth);
            }
            // The bounds and indices of an `s![..]`, the arrays of a `concatenate![..]`.
            fn visit_expr_macro(&mut self, mac: &'ast syn::ExprMacro) {
                for expr in macro_operands(&mac.mac) {
                    self.visit_expr(&expr);
                }
            }
        }
        let mut finder = Finder {
            env: &self.env,
            found: false,
            shadowed: Vec::new(),
        };
        finder.visit_expr(expr);
        finder.found
    }

    /// `expr` with every local constant replaced by the SSA constant it is bound to now, and
    /// the constant bindings it reads in place (borrowed, or read through a method): those a
    /// value computed from it may borrow. `moving`: whether `expr`'s own value is moved (a
    /// `let` initializer) rather than read in place (a node's argument). Where a pinned
    /// constant that is not `Copy` would be moved, a copy of it is.
    fn renamed(&self, expr: &Expr, moving: bool) -> (Expr, Vec<String>) {
        let (renamed, borrowed, _) = self.renamed_reading(expr, moving);
        (renamed, borrowed)
    }

    /// [`Lowerer::renamed`], where every read of a variable becomes a placeholder bound to
    /// its value, listed third.
    fn renamed_reading(&self, expr: &Expr, moving: bool) -> (Expr, Vec<String>, Vec<(Ident, Var)>) {
        struct Renamer<'a> {
            lowerer: &'a Lowerer<'a>,
            moving: bool,
            borrowed: Vec<String>,
            reads: Vec<(Ident, Var)>,
            /// The parameters of the closures around the expression being visited.
            shadowed: Vec<String>,
        }
        impl Renamer<'_> {
            fn visit(&mut self, expr: &mut Expr, moving: bool) {
                let outer = std::mem::replace(&mut self.moving, moving);
                self.visit_expr_mut(expr);
                self.moving = outer;
            }

            /// The placeholder of a read of `var`: one per variable.
            fn read(&mut self, var: Var) -> Expr {
                let placeholder = match self.reads.iter().find(|(_, read)| *read == var) {
                    Some((placeholder, _)) => placeholder.clone(),
                    None => {
                        let placeholder =
                            format_ident!("__p{}", self.reads.len(), span = Span::mixed_site());
                        self.reads.push((placeholder.clone(), var));
                        placeholder
                    }
                };
                // The placeholder is a reference to the value (see `primal::forward_stmt`).
                Expr::Verbatim(quote!((*#placeholder)))
            }
        }
        impl VisitMut for Renamer<'_> {
            // `S { k }` reads the local `k`: written out as `S { k: k }` so that `k` can be
            // renamed like any other read (the field keeps its name).
            fn visit_field_value_mut(&mut self, field: &mut syn::FieldValue) {
                if field.colon_token.is_none() {
                    field.colon_token = Some(Default::default());
                }
                self.visit(&mut field.expr, true);
            }

            fn visit_expr_mut(&mut self, expr: &mut Expr) {
                // A field of a struct parameter, `p.s`: the field's input.
                if let Expr::Field(field) = expr {
                    if let Some(k) = self.lowerer.field_input(field) {
                        *expr = self.read(Var::Input(k));
                        return;
                    }
                }
                if let Expr::Closure(closure) = expr {
                    let depth = self.shadowed.len();
                    self.shadowed.extend(closure_params(closure));
                    // Read in place: the closure borrows what it captures.
                    self.visit(&mut closure.body, false);
                    self.shadowed.truncate(depth);
                    return;
                }
                if let Some(ident) =
                    single_ident(expr).filter(|i| !self.shadowed.contains(&i.to_string()))
                {
                    if let Some(Operand::Var(var)) = self.lowerer.env.get(&ident.to_string()) {
                        *expr = self.read(*var);
                        return;
                    }
                    if let Some(Operand::Const { tokens, .. }) =
                        self.lowerer.env.get(&ident.to_string())
                    {
                        *expr = Expr::Verbatim(match self.moving {
                            true => self.lowerer.taken(tokens),
                            false => {
                                self.borrowed.push(tokens.to_string());
                                tokens.clone()
                            }
                        });
                        return;
                    }
                }
                let moving = self.moving;
                match expr {
                    // `s![i..i + 2]`: each bound renamed, in ndarray's own `s!`.
                    Expr::Macro(mac) if slice::is_slice_macro(&mac.mac) => {
                        if let Some(mut elems) = slice::elems(&mac.mac) {
                            for part in slice::exprs_mut(&mut elems) {
                                self.visit(part, true);
                            }
                            *expr = Expr::Verbatim(slice::rebuild(&elems));
                        }
                    }
                    // `concatenate![Axis(0), a, b]` of constants: each array read in place.
                    Expr::Macro(mac) if join::join_macro(&mac.mac).is_some() => {
                        if let Some(mut args) = join::macro_args(&mac.mac) {
                            for arg in &mut args {
                                self.visit(arg, false);
                            }
                            let name = &mac.mac.path.segments.last().expect("named").ident;
                            *expr = Expr::Verbatim(quote!(::autodiff::ndarray::#name![#(#args),*]));
                        }
                    }
                    Expr::Paren(paren) => self.visit(&mut paren.expr, moving),
                    Expr::Group(group) => self.visit(&mut group.expr, moving),
                    Expr::Reference(reference) => self.visit(&mut reference.expr, false),
                    Expr::Field(field) => self.visit(&mut field.base, false),
                    Expr::Cast(cast) => {
                        // `p.n as f64`: constant for an integer field only (see `hyperparameter`).
                        let field = matches!(strip_parens(&cast.expr), Expr::Field(field) if self.lowerer.field_input(field).is_some());
                        let at = cast.expr.span();
                        self.visit(&mut cast.expr, false);
                        if field && is_float_type(&cast.ty) {
                            let read = &cast.expr;
                            *cast.expr = syn::parse_quote_spanned!(at=> ::autodiff::__private::hyperparameter(#read));
                        }
                    }
                    Expr::Unary(unary) if matches!(unary.op, UnOp::Deref(_)) => {
                        self.visit(&mut unary.expr, false);
                    }
                    Expr::Index(index) => {
                        self.visit(&mut index.expr, false);
                        self.visit(&mut index.index, true);
                    }
                    Expr::Binary(binary) if is_comparison(&binary.op) => {
                        self.visit(&mut binary.left, false);
                        self.visit(&mut binary.right, false);
                    }
                    Expr::MethodCall(call) => {
                        let by_value = takes_self(&call.method.to_string());
                        self.visit(&mut call.receiver, by_value);
                        for arg in &mut call.args {
                            self.visit(arg, true);
                        }
                    }
                    _ => {
                        self.moving = true;
                        syn::visit_mut::visit_expr_mut(self, expr);
                        self.moving = moving;
                    }
                }
            }
        }
        let mut renamed = expr.clone();
        let mut renamer = Renamer {
            lowerer: self,
            moving,
            borrowed: Vec::new(),
            reads: Vec::new(),
            shadowed: Vec::new(),
        };
        renamer.visit_expr_mut(&mut renamed);
        (renamed, renamer.borrowed, renamer.reads)
    }

    /// Whether an expression that may read values has derivative zero: a `bool`
    /// (comparisons, `&&`, `||`, `!`, `x.is_nan()`), a shape (`x.len()`, `x.nrows()`), an
    /// integer cast, or arithmetic on those.
    fn constant_valued(&self, expr: &Expr) -> bool {
        if !self.mentions_var(expr) {
            return true;
        }
        match strip_parens(expr) {
            Expr::Binary(binary) => {
                is_comparison(&binary.op)
                    || matches!(binary.op, BinOp::And(_) | BinOp::Or(_))
                    || (compound_operator(&binary.op).is_none()
                        && self.constant_valued(&binary.left)
                        && self.constant_valued(&binary.right))
            }
            Expr::Unary(unary) => {
                matches!(unary.op, UnOp::Not(_)) || self.constant_valued(&unary.expr)
            }
            Expr::MethodCall(call) => {
                QUERY_METHODS.contains(&call.method.to_string().as_str())
                    || (self.constant_valued(&call.receiver)
                        && call.args.iter().all(|arg| self.constant_valued(arg)))
            }
            // A field cast (`p.n_heads as f64`: only an integer field needs a cast) or a range
            // over fields (`0..p.n_heads`) reads a hyperparameter (`#[parameters(skip)]`): a
            // constant.
            Expr::Cast(cast) => {
                is_integer_type(&cast.ty)
                    || self.constant_valued(&cast.expr)
                    || matches!(strip_parens(&cast.expr), Expr::Field(field) if self.field_path(field).is_some())
            }
            Expr::Index(index) => self.constant_valued(&index.expr),
            Expr::Range(range) => [&range.start, &range.end]
                .into_iter()
                .flatten()
                .all(|bound| self.constant_valued(bound) || self.reads_only_fields(bound)),
            Expr::Tuple(tuple) => tuple.elems.iter().all(|elem| self.constant_valued(elem)),
            // `s![..x.len() - 1]`
            Expr::Macro(mac) if slice::is_slice_macro(&mac.mac) => slice::elems(&mac.mac)
                .is_some_and(|mut elems| {
                    slice::exprs_mut(&mut elems).all(|part| self.constant_valued(part))
                }),
            // A function of constants only (a primitive's too): nothing differentiated
            // flows in.
            Expr::Call(call) => {
                is_query_call(call)
                    || (!self.mentions_var(&call.func)
                        && !call.args.is_empty()
                        && call.args.iter().all(|arg| self.constant_valued(arg)))
            }
            Expr::Field(field) => {
                !matches!(field.member, syn::Member::Named(_)) && self.constant_valued(&field.base)
            }
            _ => false,
        }
    }

    /// Whether the differentiated values `expr` reads are all fields of struct parameters read
    /// whole (`p.n_heads`, `p.l1.n`), none computed.
    fn reads_only_fields(&self, expr: &Expr) -> bool {
        struct Reads<'a> {
            lowerer: &'a Lowerer<'a>,
            other: bool,
        }
        impl<'ast> Visit<'ast> for Reads<'_> {
            fn visit_expr_field(&mut self, field: &'ast syn::ExprField) {
                if self.lowerer.field_path(field).is_none() {
                    syn::visit::visit_expr_field(self, field);
                }
            }
            fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
                if let Some(ident) = path.path.get_ident() {
                    let bound = self.lowerer.env.get(&ident.to_string());
                    self.other |= matches!(bound, Some(Operand::Var(_) | Operand::Poison));
                }
            }
        }
        let mut reads = Reads {
            lowerer: self,
            other: false,
        };
        reads.visit_expr(expr);
        !reads.other
    }

    /// A constant computed from values' primal parts (`x > 0.0`, `x.len() as f64`): bound
    /// once, with a placeholder for each value it reads.
    fn read_constant(&mut self, expr: &Expr) -> Operand {
        if !self.check_constant(expr) {
            return Operand::Poison;
        }
        self.read_fields(expr);
        let (renamed, borrows, reads) = self.renamed_reading(expr, false);
        if reads
            .iter()
            .any(|(_, var)| matches!(var, Var::Input(k) if !self.program.inputs[*k].is_value()))
        {
            self.diag.error(
                expr,
                "a struct of parameters is not a value: read its fields (`p.w.len()`)",
            );
            return Operand::Poison;
        }
        let info = ConstInfo {
            copy: copy_expr(&renamed) || is_query(&renamed) || slice::is_slice_expr(expr),
            borrows,
        };
        let ident = self.push_const(renamed.to_token_stream(), None, reads, info);
        Operand::Const {
            tokens: ident.to_token_stream(),
            display: pretty(expr),
            literal: false,
        }
    }

    /// `q[i] = value;`: the array takes a new value, with that element replaced; a constant
    /// array written a constant stays a constant, written in place.
    fn element_write(&mut self, left: &syn::ExprIndex, value: &Expr, whole: &Expr) {
        let Some(ident) = single_ident(&left.expr) else {
            self.diag.error(
                left,
                "only elements of local arrays can be written, indexing the array itself: `q[i] = ...` or `q[[i, j]] = ...` (not through a view or a method call)",
            );
            return;
        };
        let name = ident.to_string();
        let Some(current) = self.env.get(&name).cloned() else {
            self.diag.error(
                ident,
                format!("`{name}` is not a local variable of this function; only local arrays can be written"),
            );
            return;
        };
        if self.mentions_var(&left.index) && !self.constant_valued(&left.index) {
            self.diag.error(
                &left.index,
                "an index must not depend on a differentiated value",
            );
            return;
        }
        if matches!(current, Operand::Const { .. }) && !self.mentions_var(value) {
            // All constant: the user's statement, on a mutable binding of the array.
            self.mutable_binding(&name);
            if self.check_constant(&left.index) && self.check_constant(value) {
                let (renamed, _) = self.renamed(whole, true);
                self.program.stmts.push(Stmt::Verbatim(quote!(#renamed;)));
            }
            return;
        }
        let index = self.expr(&left.index);
        let value = self.expr(value);
        // As in Rust, the right side runs first: it may have rebound the array (a method of
        // a `mut` constant gets a binding of its own).
        let current = self.env.get(&name).cloned().unwrap_or(current);
        let written = self.apply(
            Op::Prim(Primitive::SetIndex),
            vec![current, index, value],
            expr_span(whole),
        );
        self.env.assign(&name, written);
    }

    /// `x[i]`, `x[[i, j]]` of a differentiated array, at a constant index.
    fn index(&mut self, index: &syn::ExprIndex, whole: &Expr) -> Operand {
        if self.mentions_var(&index.index) && !self.constant_valued(&index.index) {
            self.diag.error(
                &index.index,
                "an index must not depend on a differentiated value",
            );
            return Operand::Poison;
        }
        let array = self.expr(&index.expr);
        let at = self.expr(&index.index);
        self.apply(
            Op::Prim(Primitive::Index),
            vec![array, at],
            expr_span(whole),
        )
    }

    /// Reports the constructs that cannot appear even in a constant; true if there are none.
    fn check_constant(&mut self, expr: &Expr) -> bool {
        struct Checker<'a> {
            diag: &'a mut Diagnostics,
            clean: bool,
        }
        impl<'ast> Visit<'ast> for Checker<'_> {
            fn visit_expr(&mut self, expr: &'ast Expr) {
                match forbidden(expr) {
                    // Evaluated as written, never differentiated: `x.map(|&v| v * c).sum() > 0.0`.
                    Some(_) if matches!(expr, Expr::Closure(_)) => {}
                    Some(message) => {
                        self.diag.error(expr, message);
                        self.clean = false;
                    }
                    None => syn::visit::visit_expr(self, expr),
                }
            }
        }
        let mut checker = Checker {
            diag: self.diag,
            clean: true,
        };
        checker.visit_expr(expr);
        checker.clean
    }

    fn unsupported(&mut self, expr: &Expr) -> Operand {
        let message = forbidden(expr).unwrap_or_else(|| unsupported_with_var(expr));
        self.diag.error(expr, message);
        Operand::Poison
    }

    fn operator_error(&mut self, op: &BinOp) {
        let op = op.to_token_stream();
        self.diag.error(
            op.clone(),
            format!("operator `{op}` cannot be applied to a differentiated value; the supported operators are `+ - * /` (also as `+= -= *= /=`) and unary `-`"),
        );
    }
}

/// What the lowerer knows of a constant binding of the generated code.
struct ConstInfo {
    /// Known to be `Copy` (a number, a reference): moving it leaves it readable.
    copy: bool,
    /// The constant bindings it may borrow (`&c`, `c.view()`).
    borrows: Vec<String>,
}

/// Whether a type is known to be `Copy`: a primitive number, `bool`, `char`, a shared
/// reference, `Axis`.
fn is_copy_type(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => reference.mutability.is_none(),
        Type::Group(group) => is_copy_type(&group.elem),
        Type::Paren(paren) => is_copy_type(&paren.elem),
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().is_some_and(|last| {
            last.arguments.is_empty()
                && [
                    "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
                    "u64", "u128", "usize", "bool", "char", "Axis",
                ]
                .contains(&last.ident.to_string().as_str())
        }),
        _ => false,
    }
}

/// Whether a constant expression's value is known to be `Copy`: a literal, a cast, a
/// shared borrow.
fn copy_expr(expr: &Expr) -> bool {
    match strip_parens(expr) {
        Expr::Lit(_) | Expr::Cast(_) => true,
        Expr::Macro(mac) => slice::is_slice_macro(&mac.mac),
        Expr::Reference(reference) => reference.mutability.is_none(),
        _ => false,
    }
}

fn is_comparison(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_)
    )
}

/// Methods known to take their receiver by value (ndarray's and std's conversions), where a
/// pinned constant receiver is copied rather than moved. Other methods read their receiver
/// in place (`c.len()`, `c.view()`).
fn takes_self(method: &str) -> bool {
    method.starts_with("into_")
        || method.starts_with("unwrap")
        || [
            "expect",
            "reversed_axes",
            "permuted_axes",
            "insert_axis",
            "remove_axis",
            "mapv_into",
            "slice_move",
            "collapse_axis",
        ]
        .contains(&method)
}

/// Methods whose result depends only on the shape or the class of a value, not on its
/// value's derivative: constants even on differentiated values.
const QUERY_METHODS: &[&str] = &[
    "len",
    "len_of",
    "nrows",
    "ncols",
    "dim",
    "raw_dim",
    "shape",
    "ndim",
    "is_empty",
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_sign_positive",
    "is_sign_negative",
    "partial_cmp",
    "total_cmp",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
];

/// Whether an expression is a call of a [`QUERY_METHODS`] method or a comparison: a `Copy`
/// value.
fn is_query(expr: &Expr) -> bool {
    match strip_parens(expr) {
        Expr::MethodCall(call) => QUERY_METHODS.contains(&call.method.to_string().as_str()),
        Expr::Call(call) => is_query_call(call),
        Expr::Binary(binary) => {
            is_comparison(&binary.op) || matches!(binary.op, BinOp::And(_) | BinOp::Or(_))
        }
        Expr::Unary(unary) => matches!(unary.op, UnOp::Not(_)),
        Expr::Cast(_) => true,
        _ => false,
    }
}

/// The runtime's functions with an integer result (`argmax(&x)`, `autodiff::argmin(&x)`):
/// constants, even of differentiated values.
const QUERY_FUNCTIONS: &[&str] = &["argmax", "argmin"];

/// Whether an expression calls one of the [`QUERY_FUNCTIONS`] by a path.
fn is_query_call(call: &syn::ExprCall) -> bool {
    match strip_parens(&call.func) {
        Expr::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|last| QUERY_FUNCTIONS.contains(&last.ident.to_string().as_str())),
        _ => false,
    }
}

/// Whether a type is a primitive integer (or `bool`): a cast to it has derivative zero.
fn is_integer_type(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.path.get_ident().is_some_and(|ident| {
        [
            "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
            "bool",
        ]
        .contains(&ident.to_string().as_str())
    })
}

fn is_float_type(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.path
        .get_ident()
        .is_some_and(|ident| ident == "f32" || ident == "f64")
}

/// Whether an expression is a branch or a block, lowered as regions even where it reads no
/// differentiated value.
fn is_control_flow(expr: &Expr) -> bool {
    matches!(
        strip_parens(expr),
        Expr::If(_) | Expr::Match(_) | Expr::Block(_)
    )
}

/// Methods that return their receiver's value unchanged (as an owned array or a view).
const VALUE_METHODS: &[&str] = &["clone", "to_owned", "view", "into_owned"];

/// The primitive of a method returning an `Option` or a `Result`, which the body reads with
/// `.unwrap()` or `.expect(..)` (`to_shape` is `into_shape_with_order` made owned).
fn fallible(method: &str) -> Option<Primitive> {
    match method {
        "to_shape" => Some(Primitive::IntoShape),
        _ => Primitive::method(method).filter(|prim| {
            matches!(
                prim,
                Primitive::Mean
                    | Primitive::MeanAxis
                    | Primitive::IntoShape
                    | Primitive::BroadcastTo
            )
        }),
    }
}

/// What to write for a [`fallible`] method read without `unwrap`.
fn fallible_error(method: &str) -> String {
    let (args, returns, none) = match method {
        "mean" => ("", "an `Option`", "`None` for an empty array"),
        "mean_axis" => ("Axis(k)", "an `Option`", "`None` for an empty array"),
        "broadcast" => (
            "shape",
            "an `Option`",
            "`None` where the shapes do not broadcast",
        ),
        _ => (
            "shape",
            "a `Result`",
            "an error where the numbers of elements differ",
        ),
    };
    format!("ndarray's `{method}` returns {returns} ({none}); write `.{method}({args}).unwrap()` or `.expect(..)`")
}

/// The expressions inside the macros a body may use: an `s![..]`'s bounds, indices and
/// steps, a `concatenate![..]`'s or `stack![..]`'s axis and arrays (none for others).
fn macro_operands(mac: &syn::Macro) -> Vec<Expr> {
    if join::join_macro(mac).is_some() {
        return join::macro_args(mac).unwrap_or_default();
    }
    if !slice::is_slice_macro(mac) {
        return Vec::new();
    }
    let mut elems = slice::elems(mac).unwrap_or_default();
    slice::exprs_mut(&mut elems)
        .map(|expr| expr.clone())
        .collect()
}

/// The array of `f(d).view()` or `&f(d).view()`: a view of a temporary (not of a place).
fn viewed_temporary(expr: &Expr) -> Option<&Expr> {
    match strip_parens(expr) {
        Expr::Reference(reference) if reference.mutability.is_none() => {
            viewed_temporary(&reference.expr)
        }
        Expr::MethodCall(call) if call.method == "view" && call.args.is_empty() => {
            match strip_parens(&call.receiver) {
                Expr::Path(_) | Expr::Field(_) | Expr::Index(_) => None,
                receiver => Some(viewed_temporary(receiver).unwrap_or(receiver)),
            }
        }
        _ => None,
    }
}

/// What to write for ndarray's `concatenate` or `stack` function read without `unwrap`.
fn join_error(prim: Primitive) -> String {
    let name = prim.rule().module;
    format!("ndarray's `{name}` returns a `Result`; write `{name}(Axis(k), &[a.view(), b.view()]).unwrap()` or `{name}![Axis(k), a.view(), b.view()]`")
}

/// The primitive called by `func(..)`: a runtime function (`sigmoid`, `autodiff::relu`) or a
/// float method in path form (`f64::sin`).
fn call_primitive_of(func: &Expr) -> Option<Primitive> {
    let Expr::Path(path) = strip_parens(func) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    // A path into another module of the user's (`self::softplus`, `layers::outer`) names
    // the user's function, which may differ from the runtime's of that name.
    const RUNTIME_ROOTS: [&str; 4] = ["autodiff", "autodiff_runtime", "libm", "ndarray"];
    match segments.as_slice() {
        [float, method] if float == "f64" || float == "f32" => Primitive::method(method),
        [function] => Primitive::function(function),
        [root, .., function] if RUNTIME_ROOTS.contains(&root.as_str()) => {
            Primitive::function(function)
        }
        _ => None,
    }
}

/// The crate of a called path that cannot hold `#[differentiable]` functions (`libm::erf`,
/// `std::f64::consts::PI.max`, `f64::erf`): the standard library and the float crates. A
/// call there would otherwise fail as "cannot find function `__differentiable_vjp_…`".
fn foreign_root(path: &syn::Path) -> Option<String> {
    const ROOTS: [&str; 7] = ["std", "core", "alloc", "libm", "num_traits", "f32", "f64"];
    let root = path.segments.first()?.ident.to_string();
    (path.segments.len() > 1 && ROOTS.contains(&root.as_str())).then_some(root)
}

/// Whether a called path is an associated function of one of ndarray's array types
/// (`Array1::from_elem`, `Array2::from_diag`, `ArrayD::from_shape_vec`), not of the user's.
fn array_constructor(path: &syn::Path) -> bool {
    let mut names = path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .skip_while(|name| name == "autodiff" || name == "ndarray");
    let ty = names.next();
    let array_type = |ty: &str| {
        ty.strip_prefix("Array").is_some_and(|rest| {
            matches!(rest, "" | "D" | "Base")
                || (rest.len() == 1 && rest.chars().all(|c| c.is_ascii_digit()))
        })
    };
    path.segments.len() > 1 && ty.is_some_and(|ty| array_type(&ty))
}

/// The identifiers an expression names.
fn idents_of(expr: &Expr) -> HashSet<String> {
    struct Names(HashSet<String>);
    impl<'ast> Visit<'ast> for Names {
        fn visit_ident(&mut self, ident: &'ast Ident) {
            self.0.insert(ident.to_string());
        }
    }
    let mut names = Names(HashSet::new());
    names.visit_expr(expr);
    names.0
}

/// Whether `expr` may change one of `names`: borrows it `&mut`, calls a method on it (which
/// may take `&mut self`), or assigns it.
fn mutates_any(expr: &Expr, names: &HashSet<String>) -> bool {
    struct Mutates<'n> {
        names: &'n HashSet<String>,
        found: bool,
    }
    impl Mutates<'_> {
        fn named(&self, expr: &Expr) -> bool {
            single_ident(strip_parens(expr))
                .is_some_and(|ident| self.names.contains(&ident.to_string()))
        }
    }
    impl<'ast> Visit<'ast> for Mutates<'_> {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            self.found |= match expr {
                Expr::Reference(reference) => {
                    reference.mutability.is_some() && self.named(&reference.expr)
                }
                Expr::MethodCall(call) => self.named(&call.receiver),
                Expr::Assign(assign) => self.named(&assign.left),
                Expr::Binary(binary) => {
                    compound_operator(&binary.op).is_some() && self.named(&binary.left)
                }
                _ => false,
            };
            syn::visit::visit_expr(self, expr);
        }
    }
    let mut mutates = Mutates {
        names,
        found: false,
    };
    mutates.visit_expr(expr);
    mutates.found
}

/// Whether an index is names, literals and arithmetic on them (`r`, `[i, j]`, `(r + 1) % d`):
/// computing it twice changes nothing.
fn plain_index(expr: &Expr) -> bool {
    match strip_parens(expr) {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Array(array) => array.elems.iter().all(plain_index),
        Expr::Tuple(tuple) => tuple.elems.iter().all(plain_index),
        Expr::Binary(binary) => plain_index(&binary.left) && plain_index(&binary.right),
        Expr::Unary(unary) => plain_index(&unary.expr),
        _ => false,
    }
}

/// The non-compound operator of `+=`, `-=`, … (`None` for other operators).
fn compound_operator(op: &BinOp) -> Option<TokenStream> {
    Some(match op {
        BinOp::AddAssign(_) => quote!(+),
        BinOp::SubAssign(_) => quote!(-),
        BinOp::MulAssign(_) => quote!(*),
        BinOp::DivAssign(_) => quote!(/),
        BinOp::RemAssign(_) => quote!(%),
        BinOp::BitXorAssign(_) => quote!(^),
        BinOp::BitAndAssign(_) => quote!(&),
        BinOp::BitOrAssign(_) => quote!(|),
        BinOp::ShlAssign(_) => quote!(<<),
        BinOp::ShrAssign(_) => quote!(>>),
        _ => return None,
    })
}

fn expr_span(expr: &Expr) -> Span {
    expr.span()
}

pub(super) fn single_ident(expr: &Expr) -> Option<&Ident> {
    match strip_parens(expr) {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    }
}

/// Whether `expr` borrows a temporary (`&x.view()`, `&softplus(c)`) rather than a place.
fn borrows_temporary(expr: &TokenStream) -> bool {
    fn place(expr: &Expr) -> bool {
        match strip_parens(expr) {
            Expr::Path(_) => true,
            Expr::Field(field) => place(&field.base),
            Expr::Index(index) => place(&index.expr),
            Expr::Unary(unary) => matches!(unary.op, UnOp::Deref(_)),
            _ => false,
        }
    }
    // Only what may be a borrow is parsed: `&…`, `(&…)`.
    let borrow = match expr.clone().into_iter().next() {
        Some(proc_macro2::TokenTree::Punct(punct)) => punct.as_char() == '&',
        Some(proc_macro2::TokenTree::Group(group)) => {
            group.delimiter() == proc_macro2::Delimiter::Parenthesis
        }
        _ => false,
    };
    borrow
        && syn::parse2::<Expr>(expr.clone())
            .is_ok_and(|expr| matches!(strip_parens(&expr), Expr::Reference(reference) if !place(&reference.expr)))
}

/// The base a chain of field reads starts from: `p` in `p.layer.w`.
fn field_root(field: &syn::ExprField) -> &Expr {
    let mut base = strip_parens(&field.base);
    while let Expr::Field(inner) = base {
        base = strip_parens(&inner.base);
    }
    base
}

/// What a name is bound to, comparable: a value of the trace or a constant's tokens.
fn binding_key(operand: &Operand) -> String {
    match operand {
        Operand::Var(var) => format!("{var:?}"),
        Operand::Const { tokens, .. } => tokens.to_string(),
        Operand::Poison => String::new(),
    }
}

/// The names a closure's parameters bind (`|&v|`, `|(a, b)|`, `|x: f64|`).
fn closure_inputs(closure: &syn::ExprClosure) -> Vec<String> {
    bound_names(closure, false)
}

/// The names a closure binds: its parameters and every name its body binds (`let t = …;`),
/// which read inside it are not the function's.
fn closure_params(closure: &syn::ExprClosure) -> Vec<String> {
    bound_names(closure, true)
}

fn bound_names(closure: &syn::ExprClosure, body: bool) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'ast> Visit<'ast> for Names {
        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            self.0.push(pat.ident.to_string());
            syn::visit::visit_pat_ident(self, pat);
        }
    }
    let mut names = Names(Vec::new());
    for input in &closure.inputs {
        names.visit_pat(input);
    }
    if body {
        names.visit_expr(&closure.body);
    }
    names.0
}

fn strip_parens(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(paren) => strip_parens(&paren.expr),
        Expr::Group(group) => strip_parens(&group.expr),
        _ => expr,
    }
}

fn macro_message(path: &syn::Path) -> String {
    let name = pretty(path);
    let instead = match path.segments.last().map(|last| last.ident.to_string()).as_deref() {
        // Arrays built of values: from arrays the body can see.
        Some("array" | "vec") => "build the array from differentiated values with `Array1::zeros(n)` and element writes (`a[0] = x * 2.0; a[1] = y;`), or join arrays with `concatenate!`/`stack!`; a constant array can be built outside the function and passed in",
        _ => "call it outside the function (e.g. print in the caller)",
    };
    format!(
        "macro `{name}!` cannot be used in a #[differentiable] function: the macro cannot see inside macro invocations; {instead}"
    )
}

/// Constructs that are rejected wherever they appear, with what to do instead.
fn forbidden(expr: &Expr) -> Option<String> {
    let message = match expr {
        Expr::If(_) | Expr::Match(_) => "a branch inside a larger expression is not supported; bind its value first: `let v = if c { a } else { b };`",
        Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => "a loop inside an expression is not supported; write it as a statement that assigns variables declared before it",
        Expr::Closure(_) => "closures are differentiated only written in place as the argument of `mapv` or `map` on an array (`x.mapv(|v| ...)`); write the computation inline, or as a function outside",
        Expr::Unsafe(_) => "`unsafe` blocks are not allowed in a #[differentiable] function; its derivative is built from safe arithmetic only",
        // ndarray's `s![..]`, read element by element (see `slice`).
        Expr::Macro(mac) if slice::is_slice_macro(&mac.mac) => return None,
        // ndarray's `concatenate![..]`, `stack![..]` (see `join`).
        Expr::Macro(mac) if join::join_macro(&mac.mac).is_some() => return None,
        Expr::Macro(mac) => return Some(macro_message(&mac.mac.path)),
        Expr::Block(_) => "a block inside a larger expression is not supported; bind its value first: `let v = { ... };`",
        Expr::Return(_) => "`return` inside an expression is not supported; write it as a statement: `if done { return x; }`",
        Expr::Try(_) => "the `?` operator is not supported: a #[differentiable] function returns a float, not a `Result`",
        Expr::Assign(_) => "assignments are supported only as statements: `x = ...;` or `x += ...;`",
        Expr::Binary(binary) if compound_operator(&binary.op).is_some() => "assignments are supported only as statements: `x = ...;` or `x += ...;`",
        Expr::Let(_) => "`let` expressions are not supported; use `let` statements",
        Expr::Break(_) | Expr::Continue(_) => "`break` and `continue` are supported as statements of a loop body (`if done { break; }`), not inside other expressions",
        Expr::Async(_) | Expr::Await(_) => "`async` code cannot be differentiated",
        Expr::TryBlock(_) | Expr::Yield(_) | Expr::Const(_) => "this kind of block is not supported in a #[differentiable] function",
        _ => return None,
    };
    Some(message.to_string())
}

/// Why an expression allowed for constants cannot take a differentiated value.
fn unsupported_with_var(expr: &Expr) -> String {
    match expr {
        Expr::Tuple(_) | Expr::Array(_) | Expr::Repeat(_) => "tuples and arrays of differentiated values are supported only as the function's result, `(a, b)`, of a declared tuple type".into(),
        Expr::Reference(_) => "`&mut` borrows of differentiated values are not supported: a #[differentiable] function is pure; use `&` or the value itself".into(),
        Expr::Field(_) => "field access is supported only on a struct of parameters (`p.w` for `p: &Model` with `#[derive(Parameters)]`), not on computed values".into(),
        Expr::Index(_) => "indexing is supported on differentiated arrays (`x[i]`, `x[[i, j]]`), not on other values".into(),
        _ => format!(
            "`{}` cannot be differentiated; supported are `let` bindings, `+ - * /`, unary `-`, the methods {} and the functions {}",
            pretty(expr),
            Primitive::names(Syntax::Method),
            Primitive::names(Syntax::Function)
        ),
    }
}

/// `f64` or `f32` when the signature's types name exactly one of them.
fn signature_float(sig: &Signature) -> Option<Type> {
    let named: Vec<String> = sig
        .params
        .iter()
        .map(|param| param.ty.to_token_stream().to_string())
        .chain([sig.ret.to_token_stream().to_string()])
        .collect();
    let names = |float: &str| {
        named.iter().any(|ty| {
            ty.split(|c: char| !c.is_alphanumeric())
                .any(|word| word == float)
        })
    };
    match (names("f64"), names("f32")) {
        (true, false) => Some(syn::parse_quote!(f64)),
        (false, true) => Some(syn::parse_quote!(f32)),
        _ => None,
    }
}

/// The name of an ndarray method that changes its receiver (or a view of it) in place, when
/// `expr` calls one as a statement: `y.row_mut(0).assign(&x)`, `y.scaled_add(a, &k)`.
fn in_place_method(expr: &Expr) -> Option<String> {
    const IN_PLACE: &[&str] = &[
        "assign",
        "assign_to",
        "fill",
        "scaled_add",
        "zip_mut_with",
        "mapv_inplace",
        "map_inplace",
        "swap",
        "invert_axis",
    ];
    let Expr::MethodCall(call) = strip_parens(expr) else {
        return None;
    };
    let method = call.method.to_string();
    IN_PLACE.contains(&method.as_str()).then_some(method)
}
