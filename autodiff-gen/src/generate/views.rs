//! Views and gathers of arrays (issue 14): `x.slice(s![..])`, `slice_axis`, `index_axis`,
//! `select`, `diag`, each to an array of the type asked for, from an array of the pool whose
//! shape allows it.

use super::*;

impl Generator<'_> {
    /// An array of type `ty` read out of a larger (or equal) array.
    pub(super) fn view(&mut self, ty: Ty, d: u32) -> Option<Expr> {
        let arrays: Vec<Ty> = self.pool.iter().copied().filter(|t| t.is_array()).collect();
        let mut choices: Vec<(Ty, View)> = Vec::new();
        // Two views in a row, through a type of their own: (source, [(view, its type)]).
        let mut chains: Vec<(Ty, Vec<(View, Ty)>)> = Vec::new();
        for &from in &arrays {
            self.chains(ty, from, &mut chains);
            match (ty, from) {
                (Ty::Vector(n), Ty::Vector(m)) if m >= n => {
                    let start = self.index_below(m - n + 1);
                    choices.push((from, View::Window(start, n)));
                    let k = self.rng.below(m - n + 1);
                    choices.push((from, View::SliceAxis(0, k, k + n)));
                    if m == n {
                        choices.push((from, View::Reverse));
                    }
                    let picks = (0..n).map(|_| self.rng.below(m)).collect();
                    choices.push((from, View::Select(0, picks)));
                }
                (Ty::Vector(n), Ty::Matrix(r, c)) => {
                    for (axis, line, other) in [(0, c, r), (1, r, c)] {
                        if line == n {
                            let at = self.index_below(other);
                            choices.push((from, View::IndexAxis(axis, at)));
                            let k = self.rng.below(other);
                            choices.push((from, View::Line(axis, k)));
                        }
                    }
                    if r.min(c) == n {
                        choices.push((from, View::Diag));
                    }
                    if r * c == n {
                        choices.push((from, View::Flatten));
                        let to_shape = self.rng.chance(0.5);
                        choices.push((
                            from,
                            View::Reshape {
                                shape: vec![n],
                                to_shape,
                            },
                        ));
                    }
                    if (r, c) == (1, n) || (r, c) == (n, 1) {
                        choices.push((from, View::RemoveAxis(if r == 1 { 0 } else { 1 })));
                    }
                }
                (Ty::Matrix(r, c), Ty::Vector(n)) => {
                    if n == c {
                        choices.push((from, View::Broadcast(r, c)));
                    }
                    if (r, c) == (1, n) || (r, c) == (n, 1) {
                        choices.push((from, View::InsertAxis(if r == 1 { 0 } else { 1 })));
                    }
                    if r * c == n {
                        let to_shape = self.rng.chance(0.5);
                        choices.push((
                            from,
                            View::Reshape {
                                shape: vec![r, c],
                                to_shape,
                            },
                        ));
                    }
                }
                (Ty::Matrix(r, c), Ty::Matrix(rr, cc)) if rr >= r && cc >= c => {
                    let (r0, c0) = (self.rng.below(rr - r + 1), self.rng.below(cc - c + 1));
                    choices.push((from, View::Block(r0, r, c0, c)));
                    if cc == c {
                        let k = self.rng.below(rr - r + 1);
                        choices.push((from, View::SliceAxis(0, k, k + r)));
                        let picks = (0..r).map(|_| self.rng.below(rr)).collect();
                        choices.push((from, View::Select(0, picks)));
                    }
                    if rr == r {
                        let picks = (0..c).map(|_| self.rng.below(cc)).collect();
                        choices.push((from, View::Select(1, picks)));
                    }
                }
                (Ty::Matrix(r, c), Ty::Matrix(rr, cc)) if (rr, cc) == (c, r) => {
                    choices.push((from, View::ReversedAxes));
                    choices.push((from, View::PermutedAxes));
                }
                _ => {}
            }
        }
        if self.rng.chance(0.25) {
            if let Some(joined) = self.join(ty, d, &arrays) {
                return Some(joined);
            }
        }
        if !chains.is_empty() && (choices.is_empty() || self.rng.chance(0.3)) {
            let (from, chain) = self.pick_or_none(&chains)?.clone();
            let mut a = self.expr(from, d);
            for (view, ty) in chain {
                a = node(ty, a.bound, Kind::View(view, Box::new(a)));
            }
            return Some(a);
        }
        let (from, view) = self.pick_or_none(&choices)?.clone();
        let a = self.expr(from, d);
        let bound = a.bound;
        Some(node(ty, bound, Kind::View(view, Box::new(a))))
    }

    /// Reshapings to `ty` from `from` through an array of another shape: flattened then cut,
    /// cut then reshaped, an axis inserted then removed or broadcast along, transposed.
    fn chains(&mut self, ty: Ty, from: Ty, chains: &mut Vec<(Ty, Vec<(View, Ty)>)>) {
        let to_shape = self.rng.chance(0.5);
        match (ty, from) {
            (Ty::Vector(n), Ty::Matrix(r, c)) if r * c > n => {
                let flat = match to_shape {
                    true => View::Reshape {
                        shape: vec![r * c],
                        to_shape,
                    },
                    false => View::Flatten,
                };
                let window = View::Window(IntExpr::Lit(0), n);
                chains.push((from, vec![(flat, Ty::Vector(r * c)), (window, ty)]));
            }
            (Ty::Matrix(r, c), Ty::Vector(m)) if m > r * c => {
                let window = View::Window(IntExpr::Lit(0), r * c);
                let reshape = View::Reshape {
                    shape: vec![r, c],
                    to_shape,
                };
                chains.push((from, vec![(window, Ty::Vector(r * c)), (reshape, ty)]));
            }
            (Ty::Vector(n), Ty::Vector(m)) if m == n => {
                let k = self.rng.below(2);
                let middle = if k == 0 {
                    Ty::Matrix(1, n)
                } else {
                    Ty::Matrix(n, 1)
                };
                let chain = vec![(View::InsertAxis(k), middle), (View::RemoveAxis(k), ty)];
                chains.push((from, chain));
            }
            (Ty::Matrix(r, c), Ty::Vector(m)) if m == r && c > 1 => {
                let column = (View::InsertAxis(1), Ty::Matrix(r, 1));
                chains.push((from, vec![column, (View::Broadcast(r, c), ty)]));
            }
            _ => {}
        }
    }

    /// Two arrays of the pool joined into `ty`: vectors stacked into a matrix of two rows or
    /// columns, or two parts (windows of vectors, arrays of the pool) concatenated.
    fn join(&mut self, ty: Ty, d: u32, arrays: &[Ty]) -> Option<Expr> {
        let macro_form = self.rng.chance(0.5);
        let (join, axis, left, right) = match ty {
            Ty::Matrix(r, c) if r == 2 && arrays.contains(&Ty::Vector(c)) => {
                let (a, b) = (self.expr(Ty::Vector(c), d), self.expr(Ty::Vector(c), d));
                (Join::Stack { macro_form }, 0, a, b)
            }
            Ty::Matrix(r, c) if c == 2 && arrays.contains(&Ty::Vector(r)) => {
                let (a, b) = (self.expr(Ty::Vector(r), d), self.expr(Ty::Vector(r), d));
                (Join::Stack { macro_form }, 1, a, b)
            }
            Ty::Matrix(r, c) => {
                // Two matrices of the pool with as many columns (rows), `r` (`c`) in all.
                let pairs: Vec<(usize, Ty, Ty)> = arrays
                    .iter()
                    .flat_map(|&a| arrays.iter().map(move |&b| (a, b)))
                    .filter_map(|(a, b)| match (a, b) {
                        (Ty::Matrix(r1, c1), Ty::Matrix(r2, c2))
                            if c1 == c && c2 == c && r1 + r2 == r =>
                        {
                            Some((0, a, b))
                        }
                        (Ty::Matrix(r1, c1), Ty::Matrix(r2, c2))
                            if r1 == r && r2 == r && c1 + c2 == c =>
                        {
                            Some((1, a, b))
                        }
                        _ => None,
                    })
                    .collect();
                let (axis, a, b) = *self.pick_or_none(&pairs)?;
                let (a, b) = (self.expr(a, d), self.expr(b, d));
                (Join::Concatenate { macro_form }, axis, a, b)
            }
            Ty::Vector(n) if n >= 2 => {
                // Windows of vectors of the pool: the first k elements of one, n − k of another.
                let k = 1 + self.rng.below(n - 1);
                let fits = |m: usize| m >= k.max(n - k);
                let sources: Vec<Ty> = arrays
                    .iter()
                    .copied()
                    .filter(|t| matches!(t, Ty::Vector(m) if fits(*m)))
                    .collect();
                let from = *self.pick_or_none(&sources)?;
                let a = self.expr(from, d);
                let b = self.expr(from, d);
                let a = node(
                    Ty::Vector(k),
                    a.bound,
                    Kind::View(View::Window(IntExpr::Lit(0), k), Box::new(a)),
                );
                let b = node(
                    Ty::Vector(n - k),
                    b.bound,
                    Kind::View(View::Window(IntExpr::Lit(0), n - k), Box::new(b)),
                );
                (Join::Concatenate { macro_form }, 0, a, b)
            }
            _ => return None,
        };
        let bound = left.bound.max(right.bound);
        Some(node(
            ty,
            bound,
            Kind::Join(join, axis, Box::new(left), Box::new(right)),
        ))
    }
}
