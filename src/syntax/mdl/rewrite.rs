//! Expression rewrites the `.mdl` reader needs once ranges are known:
//! a per-element equation gets its left-hand-side ranges replaced by the
//! element (in subscripts, including a lookup's `table[i](x)`, and as
//! values, where a range stands for the element's position), and
//! `ELMCOUNT(range)` and element names used as values fold to numbers.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::build::find_dim;
use crate::ir::Dimension;
use crate::syntax::ast::{Expr, IndexExpr};
use crate::syntax::ident::canonicalize;

/// Replace subscripts naming a left-hand-side range with the element this
/// per-element equation is for, and a range used as a value with the
/// element's position (Vensim: `x[dim] = dim` is 1, 2, 3...).
pub fn substitute(
    e: &Expr,
    subs: &[String],
    elems: &[String],
    dims: &[Dimension],
    values: &ElementValues,
) -> Expr {
    let map: Vec<(String, String)> = subs
        .iter()
        .zip(elems)
        .filter(|(s, _)| find_dim(dims, s).is_some())
        .map(|(s, e)| (canonicalize(s), canonicalize(e)))
        .collect();
    if map.is_empty() {
        return e.clone();
    }
    let index = |x: &Expr| match x {
        Expr::Var(d, sp) => map
            .iter()
            .find(|(from, _)| from == d)
            .map(|(_, to)| Expr::Var(to.clone(), *sp)),
        _ => None,
    };
    let value = |x: &Expr| match x {
        Expr::Var(d, _) => map
            .iter()
            .find(|(from, _)| from == d)
            .map(|(_, to)| Expr::Num(values.get(to))),
        _ => None,
    };
    map_expr(e, &value, &index)
}

/// The numeric value of every element: its 1-based position in the largest
/// range holding it (the first such range on a tie). Built once per model:
/// looking an element up by scanning every range made a per-element
/// equation over a large range quadratic (found by fuzzing).
pub struct ElementValues(HashMap<String, (usize, f64)>);

impl ElementValues {
    pub fn new(dims: &[Dimension]) -> ElementValues {
        let mut m: HashMap<String, (usize, f64)> = HashMap::default();
        for d in dims {
            let len = d.elements.len();
            let mut seen: HashSet<String> = HashSet::default();
            for (p, e) in d.elements.iter().enumerate() {
                let key = canonicalize(e);
                // Within a range the first position of a name counts.
                if !seen.insert(key.clone()) {
                    continue;
                }
                match m.get(&key) {
                    Some(&(best, _)) if best >= len => {}
                    _ => {
                        m.insert(key, (len, (p + 1) as f64));
                    }
                }
            }
        }
        ElementValues(m)
    }

    /// 0 when `elem` (canonical) is no range's element.
    fn get(&self, elem: &str) -> f64 {
        self.0.get(elem).map_or(0.0, |&(_, v)| v)
    }
}

/// `ELMCOUNT(range)` and an element name used as a value (`dim = b2`,
/// not a variable's name) are constants: fold them.
pub fn fold_constants(
    e: &Expr,
    dims: &[Dimension],
    values: &ElementValues,
    idents: &HashSet<String>,
) -> Expr {
    let value = |x: &Expr| match x {
        Expr::Call(f, args, _) if f == "elmcount" => match args.as_slice() {
            [Expr::Var(d, _)] => find_dim(dims, d).map(|d| Expr::Num(d.elements.len() as f64)),
            _ => None,
        },
        Expr::Var(n, _) if !idents.contains(n) && find_dim(dims, n).is_none() => {
            let v = values.get(n);
            (v > 0.0).then_some(Expr::Num(v))
        }
        _ => None,
    };
    // In a subscript an element name selects that element (`q[M3]` with
    // `q` over a subrange): it stays a name.
    let index = |x: &Expr| match x {
        Expr::Var(..) => Some(x.clone()),
        _ => None,
    };
    map_expr(e, &value, &index)
}

/// Whether `e` uses one of `subs` (ranges) as a value.
pub fn uses_range_value(e: &Expr, subs: &[String], dims: &[Dimension]) -> bool {
    let found = std::cell::Cell::new(false);
    let is_range = |d: &str| {
        subs.iter()
            .any(|s| canonicalize(s) == d && find_dim(dims, s).is_some())
    };
    let value = |x: &Expr| {
        if matches!(x, Expr::Var(d, _) if is_range(d)) {
            found.set(true);
        }
        None
    };
    // Subscript indices name ranges, they do not use them as values.
    map_expr(e, &value, &|x| Some(x.clone()));
    found.get()
}

/// Rebuild `e`, replacing nodes where `value` (outside subscripts) or
/// `index` (a subscript index) returns a replacement.
fn map_expr(
    e: &Expr,
    value: &dyn Fn(&Expr) -> Option<Expr>,
    index: &dyn Fn(&Expr) -> Option<Expr>,
) -> Expr {
    if let Some(r) = value(e) {
        return r;
    }
    let b = |x: &Expr| Box::new(map_expr(x, value, index));
    match e {
        Expr::Subscript(n, idx, sp) => {
            let idx = idx
                .iter()
                .map(|i| match i {
                    IndexExpr::Expr(x) => match index(x) {
                        Some(r) => IndexExpr::Expr(r),
                        None => IndexExpr::Expr(map_expr(x, value, index)),
                    },
                    other => other.clone(),
                })
                .collect();
            Expr::Subscript(n.clone(), idx, *sp)
        }
        Expr::Call(f, args, sp) => Expr::Call(
            f.clone(),
            args.iter().map(|a| map_expr(a, value, index)).collect(),
            *sp,
        ),
        Expr::Unary(op, x) => Expr::Unary(*op, b(x)),
        Expr::Binary(op, x, y) => Expr::Binary(*op, b(x), b(y)),
        Expr::If(c, x, y) => Expr::If(b(c), b(x), b(y)),
        Expr::Num(_) | Expr::Var(..) => e.clone(),
    }
}
