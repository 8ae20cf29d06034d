//! `let (a, b) = if c { (x, y) } else { (u, v) };`, and the same with `match` or a block
//! ending in a tuple: lowered as the equivalent the control-flow lowering already follows,
//! fresh results declared first and assigned in every arm, then bound to the names.

use quote::format_ident;
use syn::spanned::Spanned;
use syn::{parse_quote_spanned, Block, Expr, Ident, Stmt as SynStmt};

use super::{strip_parens, Lowerer};

impl Lowerer<'_> {
    /// Lowers `let (names…) = init;` where `init` branches to tuples; false (nothing lowered)
    /// where it is not of that form.
    pub(super) fn branched_tuple_local(&mut self, names: &[(&Ident, bool)], init: &Expr) -> bool {
        self.fresh += 1;
        let results: Vec<Ident> = (0..names.len())
            .map(|k| format_ident!("__tuple{}_{}", self.fresh, k))
            .collect();
        let Some(assigning) = assign_tuple(init, &results) else {
            return false;
        };
        let span = init.span();
        let mut stmts: Vec<SynStmt> = results
            .iter()
            .map(|result| parse_quote_spanned!(span=> let #result;))
            .collect();
        stmts.push(SynStmt::Expr(assigning, None));
        stmts.extend(
            names
                .iter()
                .zip(&results)
                .map(|((name, mutable), result)| match mutable {
                    true => parse_quote_spanned!(span=> let mut #name = #result;),
                    false => parse_quote_spanned!(span=> let #name = #result;),
                }),
        );
        self.stmts(&stmts, false);
        true
    }
}

/// `expr`, a tuple-valued `if`, `match` or block, rewritten to assign its elements to
/// `targets` in every arm; `None` where some arm does not end in a tuple of that length.
fn assign_tuple(expr: &Expr, targets: &[Ident]) -> Option<Expr> {
    match strip_parens(expr) {
        Expr::Tuple(tuple) if tuple.elems.len() == targets.len() => {
            // Every element evaluated before any is assigned, as in the tuple.
            let temps: Vec<Ident> = (0..targets.len())
                .map(|k| format_ident!("__element{}", k))
                .collect();
            let elems = tuple.elems.iter();
            Some(parse_quote_spanned!(tuple.span()=> {
                #(let #temps = #elems;)*
                #(#targets = #temps;)*
            }))
        }
        Expr::Block(block) if block.label.is_none() => {
            let mut block = block.clone();
            block.block = assign_tail(&block.block, targets)?;
            Some(Expr::Block(block))
        }
        Expr::If(branch) => {
            let mut branch = branch.clone();
            branch.then_branch = assign_tail(&branch.then_branch, targets)?;
            // A tuple-valued `if` has an `else`.
            let (_, otherwise) = branch.else_branch.as_mut()?;
            **otherwise = assign_tuple(otherwise, targets)?;
            Some(Expr::If(branch))
        }
        Expr::Match(matched) => {
            let mut matched = matched.clone();
            for arm in &mut matched.arms {
                *arm.body = assign_tuple(&arm.body, targets)?;
                arm.comma.get_or_insert_with(Default::default);
            }
            Some(Expr::Match(matched))
        }
        _ => None,
    }
}

/// `block` with its tail expression assigning `targets`.
fn assign_tail(block: &Block, targets: &[Ident]) -> Option<Block> {
    let mut block = block.clone();
    match block.stmts.last_mut()? {
        SynStmt::Expr(tail, None) => *tail = assign_tuple(tail, targets)?,
        _ => return None,
    }
    Some(block)
}
