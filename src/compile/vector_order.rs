//! Vensim vector functions along an argument's last subscript: VECTOR
//! RANK, VECTOR SORT ORDER, VECTOR REORDER and VECTOR ELM MAP.
//!
//! Each expands at scalarisation time into an internal pure builtin that
//! takes the element's position and every element of the vector, so the
//! VM sorts nothing and never allocates (ranks are counted, O(n) per
//! element). VECTOR ELM MAP's offset counts row-major through all of the
//! variable's elements (see `elm_map_whole`). Semantics follow the SDXorg
//! `vector_order` reference (Vensim 9): positions are 0-based offsets; VECTOR SORT ORDER(v, 1) gives, per
//! sorted position, the offset of the element there (ascending; 0 for
//! descending), VECTOR RANK(v, 1) the 1-based rank of each element
//! (ascending; 0 for descending), VECTOR REORDER(v, order) the element at
//! each offset of `order`; ties keep their original order.

use crate::compile::arrays::{ArrayInfo, ElementCtx};
use crate::compile::check_arity;
use crate::compile::memo;
use crate::compile::program::MAX_CALL_ARGS;
use crate::error::{Error, Result};
use crate::syntax::ast::{Expr, IndexExpr, Span};
use crate::syntax::ident::canonicalize;

/// Elements one call can take (the other arguments are fixed ones).
pub const MAX_VECTOR: usize = MAX_CALL_ARGS - 8;

impl ArrayInfo<'_> {
    /// The vector functions of this module, when `f` names one.
    pub(crate) fn vector_order_fn(
        &self,
        f: &str,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Option<Expr>> {
        let (internal, name, n) = match f {
            "vector_rank" => ("vector_rank_element", "VECTOR RANK", 2),
            "vector_sort_order" => ("vector_sort_order_element", "VECTOR SORT ORDER", 2),
            "vector_reorder" => ("element_at", "VECTOR REORDER", 2),
            "vector_elm_map" => ("element_at_na", "VECTOR ELM MAP", 2),
            "vector_lookup" => return self.vector_lookup(args, ctx, variable).map(Some),
            _ => return Ok(None),
        };
        check_arity(variable, name, args.len(), n, n)?;
        let bad = |m: &str| Error::BadSubscript {
            variable: variable.to_string(),
            message: format!("{name} {m}"),
        };
        let Expr::Subscript(vname, idx, span) = &args[0] else {
            return Err(bad("needs a subscripted vector"));
        };
        if f == "vector_elm_map" {
            if let Some((base, mut call)) = self.elm_map_whole(vname, idx, *span, ctx, variable)? {
                let offset = self.scalarize(&args[1], ctx, variable)?;
                call.insert(
                    0,
                    Expr::Binary(
                        crate::syntax::ast::BinaryOp::Add,
                        Box::new(Expr::Num(base as f64)),
                        Box::new(offset),
                    ),
                );
                return Ok(Some(Expr::Call(
                    "element_at_na".into(),
                    call,
                    Span::default(),
                )));
            }
        }
        let (rd, elems, values) = self.along_last(vname, idx, *span, ctx, variable, name)?;
        let first = if f == "vector_elm_map" {
            let base = self
                .start_position(idx.last(), elems, ctx, variable)
                .ok_or_else(|| {
                    bad("needs its last subscript to be an element or a fixed dimension")
                })?;
            let offset = self.scalarize(&args[1], ctx, variable)?;
            vec![Expr::Binary(
                crate::syntax::ast::BinaryOp::Add,
                Box::new(Expr::Num(base as f64)),
                Box::new(offset),
            )]
        } else if f == "vector_reorder" {
            vec![self.scalarize(&args[1], ctx, variable)?]
        } else {
            let k = self
                .output_position(&rd, ctx, variable)
                .ok_or_else(|| bad("must be computed per element of an arrayed variable"))?;
            vec![
                Expr::Num(k as f64),
                self.scalarize(&args[1], ctx, variable)?,
            ]
        };
        let mut call = first;
        call.extend(values);
        Ok(Some(Expr::Call(internal.into(), call, Span::default())))
    }

    /// The vector `vname[idx]` runs along its variable's last dimension:
    /// that dimension, its elements, and the value of each element (other
    /// subscripts as `idx` and the element being computed fix them).
    /// `function` names the caller in errors.
    pub(crate) fn along_last<'s>(
        &'s self,
        vname: &str,
        idx: &[IndexExpr],
        span: Span,
        ctx: &ElementCtx,
        variable: &str,
        function: &str,
    ) -> Result<(String, &'s [String], Vec<Expr>)> {
        let bad = |m: &str| Error::BadSubscript {
            variable: variable.to_string(),
            message: format!("{function} {m}"),
        };
        let rd = self
            .var_dims
            .get(vname)
            .and_then(|d| d.last())
            .ok_or_else(|| bad("needs an arrayed vector"))?
            .clone();
        let elems = self.elements(&rd, variable)?;
        if elems.is_empty() || elems.len() > MAX_VECTOR {
            return Err(bad(&format!(
                "takes 1 to {MAX_VECTOR} elements, '{rd}' has {}",
                elems.len()
            )));
        }
        let inner: ElementCtx = ctx.iter().filter(|(d, _)| *d != rd).cloned().collect();
        let mut values = Vec::with_capacity(elems.len());
        for e in elems {
            let mut sub = idx.to_vec();
            if let Some(last) = sub.last_mut() {
                *last = IndexExpr::Expr(Expr::Var(e.clone(), span));
            }
            values.push(self.scalarize(
                &Expr::Subscript(vname.to_string(), sub, span),
                &inner,
                variable,
            )?);
        }
        Ok((rd, elems, values))
    }

    /// The 0-based position of the element being computed along the
    /// vector's dimension `rd`: the element the context fixes for `rd`,
    /// else that of the variable's last dimension (e.g. a sorted dimension
    /// mapped to `rd`).
    fn output_position(&self, rd: &str, ctx: &ElementCtx, variable: &str) -> Option<usize> {
        let (d, e) = ctx.iter().find(|(d, _)| d == rd).or_else(|| ctx.last())?;
        self.elements(d, variable).ok()?.iter().position(|x| x == e)
    }

    /// VECTOR ELM MAP over the whole variable: "for variables that have
    /// more than one subscript the VECTOR ELM MAP function can be used to
    /// move between all subscripts" (Vensim help: the offset counts
    /// through the elements row-major, last subscript fastest, from the
    /// one given). The base element's flat position and every element's
    /// value, or `None` when a subscript is not an element or a fixed
    /// dimension, or the variable has more than [`MAX_VECTOR`] elements
    /// (then the offset moves along the last subscript only).
    fn elm_map_whole(
        &self,
        vname: &str,
        idx: &[IndexExpr],
        span: Span,
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Option<(usize, Vec<Expr>)>> {
        let Some(dims) = self.var_dims.get(vname) else {
            return Ok(None);
        };
        if dims.len() != idx.len() {
            return Ok(None);
        }
        let mut elems: Vec<&[String]> = Vec::with_capacity(dims.len());
        for d in dims {
            elems.push(self.elements(d, variable)?);
        }
        let total = elems.iter().try_fold(1usize, |n, e| n.checked_mul(e.len()));
        if !total.is_some_and(|n| n > 0 && n <= MAX_VECTOR) {
            return Ok(None);
        }
        let mut base = 0;
        for (i, e) in idx.iter().zip(&elems) {
            let Some(p) = self.start_position(Some(i), e, ctx, variable) else {
                return Ok(None);
            };
            base = base * e.len() + p;
        }
        let mut values = Vec::with_capacity(total.unwrap_or(0));
        let mut at = vec![0usize; elems.len()];
        loop {
            let sub = at
                .iter()
                .zip(&elems)
                .map(|(&k, e)| IndexExpr::Expr(Expr::Var(e[k].clone(), span)))
                .collect();
            values.push(self.scalarize(
                &Expr::Subscript(vname.to_string(), sub, span),
                ctx,
                variable,
            )?);
            // The next element, last subscript fastest.
            let mut j = elems.len();
            loop {
                if j == 0 {
                    return Ok(Some((base, values)));
                }
                j -= 1;
                at[j] += 1;
                if at[j] < elems[j].len() {
                    break;
                }
                at[j] = 0;
            }
        }
    }

    /// The 0-based position VECTOR ELM MAP starts from: an element of the
    /// vector's dimension, or a dimension the element being computed fixes
    /// (by position).
    fn start_position(
        &self,
        last: Option<&IndexExpr>,
        elems: &[String],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Option<usize> {
        let n = match last {
            // An element the reader already turned into its 1-based position.
            Some(IndexExpr::Expr(Expr::Num(v))) if *v >= 1.0 && (*v as usize) <= elems.len() => {
                return Some(*v as usize - 1)
            }
            Some(IndexExpr::Expr(Expr::Var(n, _))) => n,
            _ => return None,
        };
        let n = canonicalize(n);
        if let Some(p) = elems.iter().position(|x| *x == n) {
            return Some(p);
        }
        let (_, e) = ctx.iter().find(|(d, _)| *d == n)?;
        self.elements(&n, variable)
            .ok()?
            .iter()
            .position(|x| x == e)
    }
}

/// Whether element `j` sorts before element `i`: by the first of `keys`
/// where they differ (ascending when `ascending`), else by position. A NaN
/// compares neither before nor equal, so it sorts before nothing.
fn sorts_before(keys: &[&[f64]], j: usize, i: usize, ascending: bool) -> bool {
    for key in keys {
        let (x, y) = (key[j], key[i]);
        if if ascending { x < y } else { x > y } {
            return true;
        }
        if x != y {
            return false;
        }
    }
    j < i
}

/// 0-based rank of element `i` by `keys` (see [`sorts_before`]): how many
/// elements sort before it.
fn rank_by(keys: &[&[f64]], i: usize, ascending: bool) -> usize {
    let n = keys.first().map_or(0, |k| k.len());
    (0..n)
        .filter(|&j| sorts_before(keys, j, i, ascending))
        .count()
}

/// For each sorted position by `keys`, the offset of the element there
/// (NaN where no element has that rank, as with NaN values): the first
/// element whose [`rank_by`] is the position.
fn order_by(keys: &[&[f64]], ascending: bool, out: &mut Vec<f64>) {
    let n = keys.first().map_or(0, |k| k.len());
    out.clear();
    out.resize(n, f64::NAN);
    for i in (0..n).rev() {
        if let Some(o) = out.get_mut(rank_by(keys, i, ascending)) {
            *o = i as f64;
        }
    }
}

/// `(k, direction, values...)`: the 1-based rank of element k. As Vensim
/// documents VECTOR RANK and VECTOR SORT ORDER, a direction greater than 0
/// ranks ascending and any other (0 or negative) descending.
pub fn vector_rank_element(args: &[f64]) -> f64 {
    let (Some(&k), Some(&dir), Some(values)) = (args.first(), args.get(1), args.get(2..)) else {
        return f64::NAN;
    };
    if k < 0.0 || k as usize >= values.len() {
        return f64::NAN;
    }
    (rank_by(&[values], k as usize, dir > 0.0) + 1) as f64
}

/// `(k, direction, values...)`: the 0-based offset of the element at
/// sorted position k.
pub fn vector_sort_order_element(args: &[f64]) -> f64 {
    let (Some(&k), Some(_), Some(values)) = (args.first(), args.get(1), args.get(2..)) else {
        return f64::NAN;
    };
    if !(k >= 0.0 && (k as usize) < values.len()) {
        return f64::NAN;
    }
    // The whole order once per vector and step, shared by every element.
    memo::element(memo::SORT_ORDER, &args[1..], k as usize, sort_order)
}

/// `(direction, values...)` → for each sorted position, the offset of the
/// element there ([`order_by`] the values).
fn sort_order(key: &[f64], out: &mut Vec<f64>) {
    let (Some(&dir), Some(values)) = (key.first(), key.get(1..)) else {
        return;
    };
    order_by(&[values], dir > 0.0, out);
}

/// `(k, direction, values..., tiebreakers...)`: the 0-based offset of the
/// element at sorted position k, ordered by value, equal values by their
/// tiebreaker (in the same direction), then by position: isee RANK's
/// optional third argument, which "breaks ties using [a] second array"
/// (XMILE 1.0).
pub fn rank_tiebreak_element(args: &[f64]) -> f64 {
    let Some(&k) = args.first() else {
        return f64::NAN;
    };
    let pairs = args.len().saturating_sub(2);
    if args.len() < 2 || !pairs.is_multiple_of(2) || !(k >= 0.0 && (k as usize) < pairs / 2) {
        return f64::NAN;
    }
    memo::element(memo::RANK_TIEBREAK, &args[1..], k as usize, tiebreak_order)
}

/// `(direction, values..., tiebreakers...)` → for each sorted position,
/// the offset of the element there ([`order_by`] value, then tiebreaker).
fn tiebreak_order(key: &[f64], out: &mut Vec<f64>) {
    let Some((&dir, rest)) = key.split_first() else {
        return;
    };
    let (a, b) = rest.split_at(rest.len() / 2);
    order_by(&[a, b], dir > 0.0, out);
}

/// `(offset, values...)`: the element at a 0-based offset (rounded),
/// `outside` past either end; NaN for a NaN offset (which a cast to an
/// index would read as 0, the first element).
pub fn element_at(args: &[f64], outside: f64) -> f64 {
    let (Some(&at), Some(values)) = (args.first(), args.get(1..)) else {
        return f64::NAN;
    };
    let at = at.round();
    if at.is_nan() {
        return f64::NAN;
    }
    if at < 0.0 || at >= values.len() as f64 {
        return outside;
    }
    values[at as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_gives_nan() {
        assert!(element_at(&[5.0, 1.0, 2.0], f64::NAN).is_nan());
        assert!(element_at(&[-1.0, 1.0], f64::NAN).is_nan());
        assert!(element_at(&[], f64::NAN).is_nan());
        // XMILE's default for an index outside the dimension is 0; a NaN
        // offset stays NaN (it read the first element).
        assert_eq!(element_at(&[5.0, 1.0, 2.0], 0.0), 0.0);
        assert_eq!(element_at(&[-1.0, 1.0], 0.0), 0.0);
        assert_eq!(element_at(&[1.0, 1.0, 2.0], 0.0), 2.0);
        assert!(element_at(&[f64::NAN, 1.0, 2.0], 0.0).is_nan());
        assert!(element_at(&[f64::NAN, 1.0, 2.0], f64::NAN).is_nan());
        assert!(vector_rank_element(&[3.0, 1.0, 1.0, 2.0]).is_nan());
        assert!(vector_sort_order_element(&[7.0, 1.0, 1.0, 2.0]).is_nan());
    }

    /// Values [5, 5, 1] ascending: ranks [2, 3, 1], sort order [2, 0, 1].
    #[test]
    fn ties_keep_their_order() {
        let rank = |k: f64| vector_rank_element(&[k, 1.0, 5.0, 5.0, 1.0]);
        assert_eq!([rank(0.0), rank(1.0), rank(2.0)], [2.0, 3.0, 1.0]);
        let order = |k: f64| vector_sort_order_element(&[k, 1.0, 5.0, 5.0, 1.0]);
        assert_eq!([order(0.0), order(1.0), order(2.0)], [2.0, 0.0, 1.0]);
        let desc = |k: f64| vector_sort_order_element(&[k, 0.0, 5.0, 5.0, 1.0]);
        assert_eq!([desc(0.0), desc(1.0), desc(2.0)], [0.0, 1.0, 2.0]);
    }
}
