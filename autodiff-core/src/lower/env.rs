//! The lowering environment: what each name in scope is bound to, one map per block, so
//! that a `let` inside a branch or a loop body shadows only until the block ends while an
//! assignment reaches the binding it names.

use std::collections::HashMap;

use crate::ir::Operand;

/// Scopes from outermost to innermost; a name bound to `None` is declared (`let y;`) but
/// not assigned yet.
#[derive(Clone, Default)]
pub struct Env {
    scopes: Vec<HashMap<String, Option<Operand>>>,
}

impl Env {
    pub fn new() -> Env {
        Env {
            scopes: vec![HashMap::new()],
        }
    }

    /// The value `name` holds now, if it is declared and assigned.
    pub fn get(&self, name: &str) -> Option<&Operand> {
        self.binding(name, self.scopes.len())
            .and_then(Option::as_ref)
    }

    /// Whether `name` is declared, assigned or not.
    pub fn contains_key(&self, name: &str) -> bool {
        self.binding(name, self.scopes.len()).is_some()
    }

    /// The binding of `name` among the outermost `depth` scopes.
    pub fn binding(&self, name: &str, depth: usize) -> Option<&Option<Operand>> {
        self.scopes[..depth.min(self.scopes.len())]
            .iter()
            .rev()
            .find_map(|scope| scope.get(name))
    }

    /// `let name = value;` in the innermost scope.
    pub fn declare(&mut self, name: String, value: Option<Operand>) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name, value);
        }
    }

    /// `name = value;`: the binding `name` refers to takes the value; the previous one is
    /// returned.
    pub fn set(&mut self, name: &str, value: Option<Operand>) -> Option<Option<Operand>> {
        let scope = self
            .scopes
            .iter_mut()
            .rev()
            .find(|scope| scope.contains_key(name))?;
        scope.insert(name.to_string(), value)
    }

    pub fn assign(&mut self, name: &str, value: Operand) {
        self.set(name, Some(value));
    }

    pub fn push(&mut self) {
        self.scopes.push(HashMap::new());
    }

    pub fn pop(&mut self) {
        self.scopes.pop();
    }

    /// The number of scopes: what [`Env::binding`] takes to look past inner ones.
    pub fn depth(&self) -> usize {
        self.scopes.len()
    }

    /// Every name visible now, sorted (for a deterministic order of results).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .scopes
            .iter()
            .flat_map(|scope| scope.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Whether two bindings hold the same value.
pub fn same(a: Option<&Operand>, b: Option<&Operand>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Operand::Var(a)), Some(Operand::Var(b))) => a == b,
        (Some(Operand::Const { tokens: a, .. }), Some(Operand::Const { tokens: b, .. })) => {
            a.to_string() == b.to_string()
        }
        (Some(Operand::Poison), Some(Operand::Poison)) => true,
        _ => false,
    }
}
