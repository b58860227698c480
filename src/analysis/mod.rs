//! Stage 3, analysis: dependency graphs, evaluation order, cycle detection.
//!
//! The compiler asks for two orders over the flat variables: the initial
//! one (everything, stocks by their initial-value equation) and the per-step
//! one (non-stocks only; stocks are state). Both come from [`topo_order`],
//! which is deterministic (ties broken by variable order, which follows the
//! source) and names the variables of a cycle instead of just refusing.

use crate::error::{Error, Result};
use crate::ir::{Model, VarKind};

/// Order `n` nodes so each comes after its dependencies. `deps[i]` lists
/// the nodes `i` needs; `include[i]` false drops a node from the order (its
/// edges are then ignored too). A cycle is reported with `names`.
pub fn topo_order(
    deps: &[Vec<usize>],
    include: &[bool],
    names: &dyn Fn(usize) -> String,
) -> Result<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let n = deps.len();
    let mut mark = vec![Mark::New; n];
    let mut order = Vec::with_capacity(n);
    // Iterative DFS: (node, next dependency index); deep models must not
    // overflow the native stack.
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if !include[root] || mark[root] != Mark::New {
            continue;
        }
        stack.push((root, 0));
        mark[root] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&d) = deps[node].get(*next) {
                *next += 1;
                if !include[d] {
                    continue;
                }
                match mark[d] {
                    Mark::Done => {}
                    Mark::New => {
                        mark[d] = Mark::Active;
                        stack.push((d, 0));
                    }
                    Mark::Active => {
                        let start = stack.iter().position(|&(v, _)| v == d).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[start..].iter().map(|&(v, _)| names(v)).collect();
                        cycle.push(names(d));
                        return Err(Error::CircularDependency { cycle });
                    }
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// Canonical names of the variables `ident`'s equation(s) reference
/// directly (for a stock: its initial value and its flows), sorted and
/// de-duplicated. `None` if the model has no such variable.
pub fn direct_dependencies(model: &Model, ident: &str) -> Option<Vec<String>> {
    let v = model.get(ident)?;
    let mut out: Vec<String> = Vec::new();
    for e in v.exprs() {
        e.walk_refs(&mut |r| out.push(r.to_string()));
    }
    if let VarKind::Stock {
        inflows, outflows, ..
    } = &v.kind
    {
        out.extend(inflows.iter().cloned());
        out.extend(outflows.iter().cloned());
    }
    if let VarKind::Module { connections, .. } = &v.kind {
        out.extend(connections.iter().map(|c| c.from.clone()));
    }
    out.sort();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(i: usize) -> String {
        format!("v{i}")
    }

    #[test]
    fn orders_dependencies_first_and_deterministically() {
        let deps = vec![vec![2], vec![], vec![1]];
        let order = topo_order(&deps, &[true; 3], &name).unwrap();
        assert_eq!(order, vec![1, 2, 0]);
    }

    #[test]
    fn names_the_cycle() {
        let deps = vec![vec![1], vec![2], vec![0], vec![]];
        let err = topo_order(&deps, &[true; 4], &name).unwrap_err();
        assert_eq!(
            err,
            Error::CircularDependency {
                cycle: vec!["v0".into(), "v1".into(), "v2".into(), "v0".into()]
            }
        );
    }

    #[test]
    fn excluded_nodes_break_cycles() {
        // v1 is a stock: the step order does not include it.
        let deps = vec![vec![1], vec![0]];
        let order = topo_order(&deps, &[true, false], &name).unwrap();
        assert_eq!(order, vec![0]);
    }

    #[test]
    fn deep_chains_do_not_overflow() {
        let n = 200_000;
        let deps: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![] })
            .collect();
        let order = topo_order(&deps, &vec![true; n], &name).unwrap();
        assert_eq!(order.len(), n);
        assert_eq!(order[0], n - 1);
    }
}
