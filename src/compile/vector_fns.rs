//! Vensim array functions that take whole slices (`x[d!]`) and give one
//! value per element being computed: VECTOR SELECT, INVERT MATRIX.
//!
//! Like the reductions in [`crate::compile::arrays`], they expand at
//! scalarisation time into plain scalar expressions over the elements of
//! their argument slices, so the VM needs no array logic and no new ops.

use crate::compile::arrays::{balanced, balanced_call, ArrayInfo, ElementCtx};
use crate::compile::check_arity;
use crate::compile::memo;
use crate::error::{Error, Result};
use crate::syntax::ast::{BinaryOp, Expr, IndexExpr, Span};
use crate::syntax::ident::canonicalize;

fn num(x: f64) -> Expr {
    Expr::Num(x)
}

fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}

fn iff(c: Expr, a: Expr, b: Expr) -> Expr {
    Expr::If(Box::new(c), Box::new(a), Box::new(b))
}

/// One selected pair of a VECTOR SELECT: the selection value and the
/// expression value at the same combination of the ranged dimensions.
struct Pair {
    sel: Expr,
    val: Expr,
}

impl Pair {
    fn selected(&self) -> Expr {
        bin(BinaryOp::Neq, self.sel.clone(), num(0.0))
    }

    /// `value` where selected, else `neutral`.
    fn masked(&self, value: Expr, neutral: f64) -> Expr {
        iff(self.selected(), value, num(neutral))
    }
}

impl ArrayInfo<'_> {
    /// The array functions of this module, when `f` names one.
    pub(crate) fn vector_fn(
        &self,
        f: &str,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Option<Expr>> {
        match f {
            "vector_select" => self.vector_select(args, ctx, variable).map(Some),
            "invert_matrix" => self.invert_matrix(args, ctx, variable).map(Some),
            "allocate_available" => self.allocate_available(args, ctx, variable).map(Some),
            "allocate_by_priority" => self.allocate_by_priority(args, ctx, variable).map(Some),
            "find_market_price" => self.find_market_price(args, ctx, variable).map(Some),
            "marketp" => self.marketp(args, ctx, variable).map(Some),
            "supply_at_price" => self.at_price(args, ctx, variable, true).map(Some),
            "demand_at_price" => self.at_price(args, ctx, variable, false).map(Some),
            "allocate" if self.project.dialect != crate::ir::Dialect::Vensim => {
                self.allocate_isee(args, ctx, variable).map(Some)
            }
            _ => self.vector_order_fn(f, args, ctx, variable),
        }
    }

    /// `VECTOR SELECT(selection[d!], expression[d!], missing, action,
    /// error action)`.
    ///
    /// The function ranges over every `d!` (and otherwise unbound)
    /// dimension of either argument, pairing them as a cartesian product
    /// when they differ; an element is selected where the selection value
    /// is nonzero. Actions, as the SDXorg `vector_select` reference
    /// computes them (Vensim 9.2): 0 sum, 1 product, 2 min, 3 max, 4 mean
    /// of `selection * expression`; 5 product of `expression ^ selection`;
    /// 6..=10 the same as 0..=4 on the unweighted expression. With nothing
    /// selected the value is `missing`. The error action only chooses
    /// whether Vensim warns, so it does not change the value. Other actions
    /// give NaN.
    fn vector_select(&self, args: &[Expr], ctx: &ElementCtx, variable: &str) -> Result<Expr> {
        check_arity(variable, "VECTOR SELECT", args.len(), 5, 5)?;
        let mut free = self.free_dims(&args[0], ctx);
        for d in self.free_dims(&args[1], ctx) {
            if !free.contains(&d) {
                free.push(d);
            }
        }
        let mut pairs = Vec::new();
        for (canon, _) in self.tuples(&free, variable)? {
            // A `d!` over a dimension the element being computed fixes is a
            // separate range: a plain `d` beside it keeps the outer element.
            let mut inner: ElementCtx = free
                .iter()
                .zip(canon)
                .map(|(d, e)| match ctx.iter().any(|(x, _)| x == d) {
                    true => (format!("{d}!"), e),
                    false => (d.clone(), e),
                })
                .collect();
            inner.extend(ctx.iter().cloned());
            pairs.push(Pair {
                sel: self.scalarize(&args[0], &inner, variable)?,
                val: self.scalarize(&args[1], &inner, variable)?,
            });
        }
        let missing = self.scalarize(&args[2], ctx, variable)?;
        let action = self.scalarize(&args[3], ctx, variable)?;
        let count = balanced(
            pairs.iter().map(|p| p.masked(num(1.0), 0.0)).collect(),
            BinaryOp::Add,
            0.0,
        );
        let weighted = |p: &Pair| bin(BinaryOp::Mul, p.sel.clone(), p.val.clone());
        let plain = |p: &Pair| p.val.clone();
        let outcome = |k: u32| -> Expr {
            let value: &dyn Fn(&Pair) -> Expr = if k >= 6 { &plain } else { &weighted };
            let over = |neutral: f64| -> Vec<Expr> {
                pairs.iter().map(|p| p.masked(value(p), neutral)).collect()
            };
            match k {
                0 | 6 => balanced(over(0.0), BinaryOp::Add, 0.0),
                1 | 7 => balanced(over(1.0), BinaryOp::Mul, 1.0),
                2 | 8 => balanced_call("min", over(f64::INFINITY)),
                3 | 9 => balanced_call("max", over(f64::NEG_INFINITY)),
                4 | 10 => bin(
                    BinaryOp::Div,
                    balanced(over(0.0), BinaryOp::Add, 0.0),
                    count.clone(),
                ),
                5 => balanced(
                    pairs
                        .iter()
                        .map(|p| p.masked(bin(BinaryOp::Pow, p.val.clone(), p.sel.clone()), 1.0))
                        .collect(),
                    BinaryOp::Mul,
                    1.0,
                ),
                _ => num(f64::NAN),
            }
        };
        let chosen = match action {
            Expr::Num(a) if a.round() >= 0.0 && a.round() <= 10.0 => outcome(a.round() as u32),
            Expr::Num(_) => num(f64::NAN),
            dynamic => {
                let rounded = Expr::Call("round".into(), vec![dynamic], Span::default());
                (0..=10).rev().fold(num(f64::NAN), |rest, k| {
                    iff(
                        bin(BinaryOp::Eq, rounded.clone(), num(k as f64)),
                        outcome(k),
                        rest,
                    )
                })
            }
        };
        Ok(iff(bin(BinaryOp::Eq, count, num(0.0)), missing, chosen))
    }

    /// `INVERT MATRIX(m[..., row dim, col dim], n)`: the last two
    /// subscripts of the argument are the matrix's dimensions, which the
    /// element being computed fixes. The expansion reads every entry of the
    /// matrix (other subscripts as the element fixes them) and calls the
    /// builtin that returns this element's entry of the inverse.
    fn invert_matrix(&self, args: &[Expr], ctx: &ElementCtx, variable: &str) -> Result<Expr> {
        let bad = |m: &str| Error::BadSubscript {
            variable: variable.to_string(),
            message: format!("INVERT MATRIX {m}"),
        };
        check_arity(variable, "INVERT MATRIX", args.len(), 2, 2)?;
        let Expr::Subscript(name, idx, _) = &args[0] else {
            return Err(bad("needs a subscripted matrix m[..., rows, columns]"));
        };
        let dim_of = |i: &IndexExpr| -> Option<String> {
            let d = match i {
                IndexExpr::Expr(Expr::Var(n, _)) => canonicalize(n),
                IndexExpr::Wildcard(Some(d)) => d.clone(),
                _ => return None,
            };
            self.project.dimension(&d).map(|_| d)
        };
        let k = idx.len();
        let (Some(mut rd), Some(mut cd)) = (
            idx.get(k.wrapping_sub(2)).and_then(dim_of),
            idx.get(k.wrapping_sub(1)).and_then(dim_of),
        ) else {
            return Err(bad("needs its last two subscripts to be dimensions"));
        };
        // Vensim inverts the argument variable's whole matrix whatever its
        // subscripts say: `m[d, d]` (written to name the size) reads `m`
        // over its own two dimensions.
        let mut idx = idx.clone();
        if rd == cd {
            if let Some([r, c]) = self
                .var_dims
                .get(name)
                .and_then(|d| d.get(d.len().wrapping_sub(2)..))
            {
                if let Some([ri, ci]) = idx.get_mut(k - 2..) {
                    *ri = IndexExpr::Expr(Expr::Var(r.clone(), Span::default()));
                    *ci = IndexExpr::Expr(Expr::Var(c.clone(), Span::default()));
                }
                (rd, cd) = (r.clone(), c.clone());
            }
        }
        let matrix = Expr::Subscript(name.clone(), idx, Span::default());
        let rows = self.elements(&rd, variable)?;
        let cols = self.elements(&cd, variable)?;
        if rd == cd || rows.len() != cols.len() || rows.len() > MAX_INVERT_SIZE {
            return Err(bad(&format!(
                "needs two distinct dimensions of the same size (at most \
                 {MAX_INVERT_SIZE}), got '{rd}' and '{cd}'"
            )));
        }
        let at = |d: &str, elems: &[String]| {
            let (_, e) = ctx.iter().find(|(x, _)| x == d)?;
            elems.iter().position(|x| x == e)
        };
        let (Some(r), Some(c)) = (at(&rd, rows), at(&cd, cols)) else {
            return Err(bad(&format!(
                "must be computed per element of '{rd}' and '{cd}'"
            )));
        };
        let mut call = vec![num(r as f64), num(c as f64)];
        for er in rows {
            for ec in cols {
                let mut inner: ElementCtx =
                    vec![(rd.clone(), er.clone()), (cd.clone(), ec.clone())];
                inner.extend(ctx.iter().cloned());
                call.push(self.scalarize(&matrix, &inner, variable)?);
            }
        }
        Ok(Expr::Call(
            "invert_matrix_element".into(),
            call,
            Span::default(),
        ))
    }
}

/// The largest matrix INVERT MATRIX takes: its 2,027 arguments per
/// element fit [`crate::compile::program::MAX_CALL_ARGS`].
pub const MAX_INVERT_SIZE: usize = 45;

/// Entry (`row`, `col`) of the inverse of the square matrix whose entries
/// follow row-major in `args` after `row` and `col` (0-based). The whole
/// inverse is computed once per matrix and step and shared by its entries
/// ([`memo`]). A singular matrix gives NaN.
pub fn invert_matrix_element(args: &[f64]) -> f64 {
    let entries = args.get(2..).unwrap_or(&[]);
    let n = (entries.len() as f64).sqrt().round() as usize;
    if n == 0 || n > MAX_INVERT_SIZE || n * n != entries.len() {
        return f64::NAN;
    }
    let (row, col) = (args[0], args[1]);
    if !(row >= 0.0 && col >= 0.0 && (row as usize) < n && (col as usize) < n) {
        return f64::NAN;
    }
    memo::element(
        memo::INVERT_MATRIX,
        entries,
        row as usize * n + col as usize,
        inverse,
    )
}

/// The inverse of the square matrix `entries` (row-major) into `out`,
/// row-major, by Gauss-Jordan elimination with partial pivoting on `[A | I]`;
/// all NaN when the matrix is singular.
fn inverse(entries: &[f64], out: &mut Vec<f64>) {
    let n = (entries.len() as f64).sqrt().round() as usize;
    let w = 2 * n;
    // The augmented matrix, then the inverse, reuse `out` as scratch.
    out.clear();
    for i in 0..n {
        out.extend_from_slice(&entries[i * n..(i + 1) * n]);
        out.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
    }
    for k in 0..n {
        let p = (k..n)
            .max_by(|&a, &b| out[a * w + k].abs().total_cmp(&out[b * w + k].abs()))
            .unwrap_or(k);
        let pk = out[p * w + k];
        if pk == 0.0 || !pk.is_finite() {
            out.clear();
            out.resize(n * n, f64::NAN);
            return;
        }
        if p != k {
            for j in 0..w {
                out.swap(k * w + j, p * w + j);
            }
        }
        for i in (0..n).filter(|&i| i != k) {
            let f = out[i * w + k] / out[k * w + k];
            for j in k..w {
                let y = out[k * w + j];
                out[i * w + j] -= f * y;
            }
        }
    }
    for i in 0..n {
        let d = out[i * w + i];
        for j in 0..n {
            out[i * n + j] = out[i * w + n + j] / d;
        }
    }
    out.truncate(n * n);
}
