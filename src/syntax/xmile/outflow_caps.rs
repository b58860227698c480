//! isee's non-negative stocks: the caps on their outflows (each outflow
//! takes at most what is left of the stock over the step), written into
//! the flows' equations as the file is read.

use crate::error::{Error, Result};
use crate::ir::{Equations, VarKind, Variable};

/// isee's non-negative stocks: a stock that would fall below zero over a
/// step cuts back its outflows instead, in the order they are listed, so
/// each takes at most what is left of the stock plus this step's inflows:
/// outflow k becomes `MIN(its equation, MAX(0, stock / DT + inflows -
/// outflows before k))`, and that reduced value is what the flow reports
/// and what the stock it fills receives. (A stock clamped at zero while
/// its outflow keeps its value would create material downstream.) Files
/// from other tools keep the clamp of the SDXorg references. The cap is
/// written `nonnegative_outflow(flow, cap)`, which computes MIN but which
/// the loop analysis reads as the flow alone: the limiter is a mechanism
/// of the tool, not a causal link the modeler drew. Conveyors
/// compute their own outflow; outflows with per-element equations keep the
/// clamp.
pub(super) fn limit_outflows(vars: &mut [Variable], conveyors: &[&str]) -> Result<()> {
    use crate::syntax::ast::{bin, call, var, BinaryOp, Expr};
    let mut limited: std::collections::HashSet<String> = std::collections::HashSet::new();
    // (stock, its dimensions, inflows, outflows)
    type Limited = (String, Vec<String>, Vec<String>, Vec<String>);
    let stocks: Vec<Limited> = vars
        .iter()
        .filter(|v| !conveyors.contains(&v.ident.as_str()))
        .filter_map(|v| match &v.kind {
            VarKind::Stock {
                inflows,
                outflows,
                non_negative: true,
                ..
            } if !outflows.is_empty() => Some((
                v.ident.clone(),
                v.dims.clone(),
                inflows.clone(),
                outflows.clone(),
            )),
            _ => None,
        })
        .collect();
    let index: std::collections::HashMap<String, usize> = vars
        .iter()
        .enumerate()
        .map(|(i, v)| (v.ident.clone(), i))
        .collect();
    for (stock, dims, inflows, outflows) in stocks {
        // A cap is per stock element: an outflow whose elements share one
        // (arrayed over more dimensions than the stock) would each take all
        // of it.
        if let Some(wide) = outflows
            .iter()
            .find(|f| wider_dims(vars, &dims, f).is_some())
        {
            let name = vars
                .iter()
                .find(|v| v.ident == stock)
                .map_or(stock.clone(), |v| v.name.clone());
            return Err(Error::Unsupported {
                variable: name,
                construct: format!(
                    "a non-negative stock with an outflow arrayed over more dimensions \
                     than the stock (flow '{wide}')"
                ),
            });
        }
        for (k, out) in outflows.iter().enumerate() {
            // What the stock can give this step: its level over DT plus
            // inflows, less what earlier outflows took. A flow that itself
            // reads this outflow within the step (an inflow computed from
            // it, as a Flanders land-use model's "new owners" from
            // "retirement") is computed after it, so it cannot count: the
            // cap would make the two a circular equation.
            let counts = |f: &&String| !reads_within_step(vars, &index, f, out);
            let available = inflows
                .iter()
                .filter(counts)
                .fold(bin(BinaryOp::Div, var(&stock), var("dt")), |acc, f| {
                    bin(BinaryOp::Add, acc, flow_term(vars, &dims, f))
                });
            let available = outflows[..k]
                .iter()
                .filter(counts)
                .fold(available, |acc, f| bin(BinaryOp::Sub, acc, var(f)));
            let cap = call("max", vec![Expr::Num(0.0), available]);
            // A flow out of two stocks (not possible in isee's tools) is
            // limited by the first only.
            if !limited.insert(out.clone()) {
                continue;
            }
            let Some(f) = vars.iter_mut().find(|v| &v.ident == out) else {
                continue;
            };
            if let Equations::Single(eq) = &mut f.equations {
                eq.expr = call("nonnegative_outflow", vec![eq.expr.clone(), cap]);
                eq.text = format!("MIN({}, what {stock} can give)", eq.text);
            }
        }
    }
    Ok(())
}

/// A flow as a term of stock `dims`' balance: the flow itself, or, for a
/// flow arrayed over more dimensions than the stock (isee lets an arrayed
/// flow feed a stock that is not arrayed), the sum of its elements that
/// agree with the stock element (`SUM(f[d, *])`), as the stock integrates
/// it (`compile::flatten`).
pub(super) fn flow_term(vars: &[Variable], dims: &[String], f: &str) -> crate::syntax::ast::Expr {
    use crate::syntax::ast::{call, var, Expr, IndexExpr};
    let Some(fd) = wider_dims(vars, dims, f) else {
        return var(f);
    };
    let idx = fd
        .iter()
        .map(|d| match dims.contains(d) {
            true => IndexExpr::Expr(Expr::Var(d.clone(), Default::default())),
            false => IndexExpr::Wildcard(None),
        })
        .collect();
    call(
        "sum",
        vec![Expr::Subscript(f.to_string(), idx, Default::default())],
    )
}

/// Flow `f`'s dimensions when it is arrayed over all of `dims` and more.
fn wider_dims<'v>(vars: &'v [Variable], dims: &[String], f: &str) -> Option<&'v Vec<String>> {
    vars.iter()
        .find(|v| v.ident == f)
        .map(|v| &v.dims)
        .filter(|fd| fd.len() > dims.len() && dims.iter().all(|d| fd.contains(d)))
}

/// True when `from`'s equation reads `target` within a step: directly or
/// through auxiliaries and flows (with the caps added so far), not through
/// stocks, whose values are the previous step's.
fn reads_within_step(
    vars: &[Variable],
    index: &std::collections::HashMap<String, usize>,
    from: &str,
    target: &str,
) -> bool {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut todo = vec![from];
    while let Some(n) = todo.pop() {
        let Some(v) = index.get(n).map(|&i| &vars[i]) else {
            continue;
        };
        if matches!(v.kind, VarKind::Stock { .. }) || !seen.insert(&v.ident) {
            continue;
        }
        let mut found = false;
        for e in v.exprs() {
            e.walk_refs(&mut |r| {
                if r == target {
                    found = true;
                } else if let Some(&i) = index.get(r) {
                    todo.push(&vars[i].ident);
                }
            });
        }
        if found {
            return true;
        }
    }
    false
}
