//! What `f_trace`'s generated code drives: a [`Trace`] filled as the function runs, through
//! its branches and loops. Not an API of its own.
//!
//! The forward sweep reports each execution of a node of the program (by the node's number
//! in the program, with its arguments as the program names them: a parameter, a node, a
//! variable of the function); the recorder gives each execution its own entry, numbered in
//! evaluation order, and resolves each argument to the execution it read: the latest one, as
//! structured code reads it. The adjoint sweep then reports each node's adjoint by the
//! node's number again: it visits the executions in exactly the reverse order of the forward
//! sweep (iterations last first), so the execution it means is the latest one before the
//! last it reported.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{Trace, TraceArg, TraceValue};

/// A value of the program, as the generated code names it.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKey {
    /// An input, by its number in the trace (v₍₁₋ₙ₎ … v₀).
    Input(isize),
    /// Node i of the program (from 0): its latest execution.
    Node(usize),
    /// Variable k of the function (a loop-carried variable, a branch's result): the node it
    /// holds now.
    Local(usize),
}

/// What a variable is assigned.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
pub enum TraceSource {
    /// A value of the program.
    Var(TraceKey),
    /// A constant, as the source writes it, and its value: an entry of its own.
    Const(&'static str, TraceValue),
}

/// A [`Trace`] being filled by the code `#[differentiable]` emits for `f_trace`.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct TraceRecorder {
    trace: Trace,
    /// For each entry of the trace, the program's node it is an execution of (its number,
    /// from 1); `None` for inputs and constants.
    origin: Vec<Option<isize>>,
    /// The latest execution of each node of the program.
    nodes: HashMap<usize, isize>,
    /// The entry each variable of the function holds.
    locals: HashMap<usize, isize>,
    /// The entry each name was last listed as holding (`s ← v₇`): a region that hands a
    /// variable on unchanged (a branch's arm not assigning it, a loop's iteration ending
    /// where a branch assigned it) lists nothing.
    listed: HashMap<&'static str, isize>,
    /// Whether the forward sweep is still running (the adjoint sweep may run a region's
    /// forward code again: that records nothing).
    forward: bool,
    /// The entry whose adjoint the adjoint sweep set last: those it sets next come before.
    cursor: usize,
}

impl TraceRecorder {
    /// An empty trace of the function `function`.
    pub fn new(function: &'static str) -> Self {
        TraceRecorder {
            trace: Trace::new(function),
            origin: Vec::new(),
            nodes: HashMap::new(),
            locals: HashMap::new(),
            listed: HashMap::new(),
            forward: true,
            cursor: 0,
        }
    }

    /// The entry a value of the program is now.
    fn resolve(&self, key: TraceKey) -> isize {
        let found = match key {
            TraceKey::Input(index) => Some(index),
            TraceKey::Node(i) => self.nodes.get(&i).copied(),
            TraceKey::Local(k) => self.locals.get(&k).copied(),
        };
        debug_assert!(found.is_some(), "f_trace: {key:?} read before it was set");
        found.unwrap_or_default()
    }

    /// The next input, with its label (all inputs come first).
    pub fn input(&mut self, label: &'static str, value: TraceValue) {
        self.trace.push_input(label, value);
        self.origin.push(None);
    }

    /// An execution of the program's node `node` (from 0), its operation a template over
    /// its arguments.
    pub fn node<const N: usize>(
        &mut self,
        node: usize,
        expr: &'static str,
        args: [(TraceKey, Option<f64>, &'static str); N],
        value: TraceValue,
    ) {
        if !self.forward {
            return;
        }
        let args = args
            .map(|(key, partial, notation)| TraceArg::new(self.resolve(key), partial, notation));
        let index = self.trace.push_node(expr, args, value);
        self.origin.push(Some(node as isize + 1));
        let _ = self.nodes.insert(node, index);
    }

    /// Variables assigned at once (`(a, b) = (b, a)` reads both before it writes either),
    /// each `(k, name, value)`; an unnamed one (a branch's value) is not listed, nor one
    /// whose name is listed as holding that entry already.
    pub fn assign<const N: usize>(&mut self, assignments: [(usize, &'static str, TraceSource); N]) {
        if !self.forward {
            return;
        }
        // Every value read first, as the entry it is now (an entry is its own key).
        let read = assignments.map(|(k, name, source)| match source {
            TraceSource::Var(key) => (
                k,
                name,
                TraceSource::Var(TraceKey::Input(self.resolve(key))),
            ),
            constant => (k, name, constant),
        });
        for (k, name, source) in read {
            let index = match source {
                TraceSource::Var(key) => self.resolve(key),
                TraceSource::Const(text, value) => {
                    self.origin.push(None);
                    self.trace
                        .push_node(text, std::iter::empty::<TraceArg>(), value)
                }
            };
            let _ = self.locals.insert(k, index);
            if !name.is_empty() && self.listed.insert(name, index) != Some(index) {
                self.trace.bind(Cow::Borrowed(name), index);
            }
        }
    }

    /// Opens a loop.
    pub fn enter_loop(&mut self, head: &'static str) {
        if self.forward {
            self.trace.enter_loop(head);
        }
    }

    /// Opens the loop's next iteration.
    pub fn enter_iteration(&mut self) {
        if self.forward {
            self.trace.enter_iteration();
        }
    }

    /// Opens the arm a branch took.
    pub fn enter_arm(&mut self, head: &'static str, arm: &'static str) {
        if self.forward {
            self.trace.enter_arm(head, arm);
        }
    }

    /// Closes the innermost region.
    pub fn exit(&mut self) {
        if self.forward {
            self.trace.exit();
        }
    }

    /// The result y.
    pub fn output(&mut self, key: TraceKey) {
        if self.forward {
            self.trace.set_output(self.resolve(key));
        }
    }

    /// A constant result y, as the source writes it, and its value: an entry of its own.
    pub fn constant_output(&mut self, text: &'static str, value: TraceValue) {
        if self.forward {
            self.origin.push(None);
            let index = self
                .trace
                .push_node(text, std::iter::empty::<TraceArg>(), value);
            self.trace.set_output(index);
        }
    }

    /// The forward sweep is over: what runs again in the adjoint sweep records nothing.
    pub fn end_forward(&mut self) {
        self.forward = false;
        self.cursor = self.trace.nodes.len();
    }

    /// The adjoint of node `node` of the program (numbered from 1), of the execution the
    /// adjoint sweep is at: the latest before the last one it set.
    pub fn set_adjoint(&mut self, node: isize, adjoint: TraceValue) {
        let found = self.origin[..self.cursor]
            .iter()
            .rposition(|origin| *origin == Some(node));
        if let Some(position) = found {
            self.trace.nodes[position].adjoint = Some(adjoint);
            self.cursor = position;
        }
    }

    /// The adjoint of input `index` (v₍₁₋ₙ₎ … v₀), at the end of the adjoint sweep.
    pub fn input_adjoint(&mut self, index: isize, adjoint: TraceValue) {
        self.trace.set_adjoint(index, adjoint);
    }

    /// The trace, the adjoints of constants' entries summed from their readers' where those
    /// are numbers.
    pub fn finish(mut self) -> Trace {
        for position in 0..self.trace.nodes.len() {
            let node = &self.trace.nodes[position];
            if self.origin[position].is_some() || node.is_input() || node.adjoint.is_some() {
                continue;
            }
            let index = node.index;
            let seed = if self.trace.output == Some(index) {
                1.0
            } else {
                0.0
            };
            let mut sum = Some(seed);
            for reader in &self.trace.nodes[position + 1..] {
                for arg in reader.args.iter().filter(|arg| arg.index == index) {
                    let g = reader.adjoint.as_ref().and_then(TraceValue::as_scalar);
                    sum = match (sum, g, arg.partial) {
                        (Some(sum), Some(g), Some(partial)) => Some(sum + g * partial),
                        _ => None,
                    };
                }
            }
            let scalar = self.trace.nodes[position].value.as_scalar().is_some();
            if let Some(sum) = sum.filter(|_| scalar) {
                self.trace.nodes[position].adjoint = Some(TraceValue::Scalar(sum));
            }
        }
        self.trace
    }
}

/// A constant's value for the trace (a literal takes the type `T` names).
#[doc(hidden)]
pub fn traced_constant<T: super::Traced>(value: T) -> TraceValue {
    value.trace_value()
}
