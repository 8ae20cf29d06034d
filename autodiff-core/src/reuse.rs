//! Buffer reuse in reverse mode's forward sweep: an elementwise node (`a + b`, `a - b`,
//! `-a`, `tanh a`, …) or a reshape (`into_shape_with_order`, `to_shape`, which then copies
//! nothing) writes its result into an operand's array where nothing reads that
//! operand's value afterwards: no other forward code (the node is its only reader, and it
//! is no output), and no pullback but through its shape, which the forward sweep keeps
//! before the move (`__shapeN`). Only nodes at the function's top level move; regions keep
//! allocating. An add or sub moved into such a function is computed with it in one pass
//! over the buffer (`Moves::chain_head`).

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::emit::var_tokens;
use crate::ir::{Op, Operand, Program, Stmt, Uses, Var};
use crate::region::shape_of;
use crate::rules::Primitive;

/// Which argument each node takes by move, and the nodes whose values are moved.
#[derive(Clone, Default)]
pub struct Moves {
    consumers: HashMap<usize, usize>,
    moved: HashSet<usize>,
    /// Chains computed in one pass, by the later node: a function whose pullback reads its
    /// result only (`tanh`) of an add or sub moved into it, the first node's `forward_into`
    /// folded into the second's (`(x.dot(&w) + &b).tanh()`).
    chains: HashMap<usize, usize>,
}

impl Moves {
    /// The add or sub whose result node i takes in the same pass, if any.
    pub fn chain_head(&self, i: usize) -> Option<usize> {
        self.chains.get(&i).copied()
    }

    /// The chained add or sub of node i whose two operands' adjoints node i's pullback
    /// computes too, in the same pass: one whose operands are both variables (with a
    /// constant, the two pullbacks run apart).
    pub fn pulled_head(&self, program: &Program, i: usize) -> Option<usize> {
        let head = self.chain_head(i)?;
        let both = matches!(
            program.nodes[head].args[..],
            [Operand::Var(_), Operand::Var(_)]
        );
        both.then_some(head)
    }

    /// Whether node j's forward code is folded into the node that takes its result.
    pub fn chained(&self, j: usize) -> bool {
        self.chains.values().any(|&head| head == j)
    }

    /// The argument node i writes its result into, if any.
    pub fn arg(&self, i: usize) -> Option<usize> {
        self.consumers.get(&i).copied()
    }

    /// Whether node j's value is moved into a later node's result.
    pub fn moved(&self, j: usize) -> bool {
        self.moved.contains(&j)
    }

    /// `var`'s shape for a pullback: read from the value, or from the shape kept before
    /// the value was moved (a shape is its own shape).
    pub fn shape(&self, program: &Program, var: Var) -> TokenStream {
        match var {
            Var::Node(j) if self.moved(j) => {
                let kept = shape_ident(j);
                shape_of(&quote!(#kept))
            }
            _ => shape_of(&var_tokens(program, var)),
        }
    }
}

/// `__shapeN`: node N−1's shape, kept before its value is moved.
pub fn shape_ident(j: usize) -> Ident {
    format_ident!("__shape{}", j + 1, span = Span::mixed_site())
}

/// Whether the rule's pullback reads only its result, not its argument (which the rule's
/// `vjp0_from_y` does not take).
pub fn reads_result_only(prim: Primitive) -> bool {
    use Primitive::*;
    matches!(
        prim,
        Exp | Exp2 | ExpM1 | Tan | Tanh | Sqrt | Cbrt | Recip | Sigmoid
    )
}

/// Whether node j's result is owned (a scalar or an array) and its own pullback reads no
/// more of it than its shape (add's, sub's, neg's and mul's; dot's reads nothing).
fn movable_value(program: &Program, j: usize) -> bool {
    use Primitive::*;
    matches!(program.nodes[j].op, Op::Prim(Add | Sub | Neg | Mul | Dot))
}

/// The moves of reverse mode's forward sweep; none in the Hessian's dual program.
pub fn moves(program: &Program) -> Moves {
    let mut moves = Moves::default();
    if program.dual {
        return moves;
    }
    let uses = Uses::of(program, &program.stmts);
    let readers = |var: Var| crate::ir::reads(program, &uses, var);
    for (position, stmt) in program.stmts.iter().enumerate() {
        let Stmt::Node(i) = stmt else { continue };
        let node = &program.nodes[*i];
        // Arguments whose pullbacks here read only their shapes (add, sub, neg), or none
        // whose pullback reads the argument (the rules of `reads_result_only`; a product
        // with a number, or a quotient by one, whose pullback reads only the number).
        let literal =
            |k: usize| matches!(node.args.get(k), Some(Operand::Const { literal: true, .. }));
        let positions: &[usize] = match node.op {
            Op::Prim(Primitive::Add | Primitive::Sub) => &[0, 1],
            Op::Prim(Primitive::Neg | Primitive::IntoShape) => &[0],
            Op::Prim(prim) if reads_result_only(prim) => &[0],
            Op::Prim(Primitive::Mul | Primitive::Div) if literal(1) => &[0],
            Op::Prim(Primitive::Mul) if literal(0) => &[1],
            _ => &[],
        };
        let found = positions.iter().copied().find(|&k| match node.args.get(k) {
            Some(Operand::Var(Var::Node(j))) => {
                movable_value(program, *j)
                    // A product that took an operand's array reads its result in its pullback.
                    && !(moves.consumers.contains_key(j)
                        && matches!(program.nodes[*j].op, Op::Prim(Primitive::Mul)))
                    && !program.known_scalar(Var::Node(*j))
                    && readers(Var::Node(*j)) == 1
            }
            _ => false,
        });
        if let (Some(k), Some(Operand::Var(Var::Node(j)))) = (found, found.map(|k| &node.args[k])) {
            moves.consumers.insert(*i, k);
            moves.moved.insert(*j);
            // Only a sum computed just before: with nothing between the two, running the sum
            // at the function and its operands' pullbacks at the function's changes no order
            // (of additions into an adjoint, or of panics).
            let chains = matches!(node.op, Op::Prim(prim) if reads_result_only(prim))
                && matches!(
                    program.nodes[*j].op,
                    Op::Prim(Primitive::Add | Primitive::Sub)
                )
                && moves.consumers.contains_key(j)
                && position > 0
                && matches!(program.stmts[position - 1], Stmt::Node(h) if h == *j);
            if chains {
                moves.chains.insert(*i, *j);
            }
        }
    }
    moves
}
