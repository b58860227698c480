//! Feedback loops as the elementary circuits of the causal graph.
//!
//! [`components`] splits the graph into strongly connected components
//! (Tarjan, iterative so a long chain cannot overflow the stack); every
//! loop lies inside one, and loops of one component compete for the same
//! behaviour, which is why relative loop scores are normalised per
//! component ("cycle partition"). [`circuits`] enumerates each component's
//! elementary circuits with Johnson's algorithm (SIAM J. Comput. 4(1),
//! 1975), which costs O((V + E)(C + 1)) for C circuits: the count, not the
//! search, is what explodes, so enumeration stops at a limit and says so.

/// The strongly connected components of the subgraph on `nodes` (those
/// with `member[v] == tag`) that hold a cycle (more than one node, or a
/// self-loop), each sorted, ordered by their smallest node. Tarjan's
/// algorithm, iterative so a long chain cannot overflow the stack.
fn cyclic_sccs(
    adj: &[Vec<usize>],
    nodes: &[usize],
    member: &[usize],
    tag: usize,
) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = adj.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comps: Vec<Vec<usize>> = Vec::new();
    let mut next = 0usize;
    let inside = |w: usize| member[w] == tag;
    for &root in nodes {
        if index[root] != UNSEEN {
            continue;
        }
        // (node, next edge position)
        let mut work = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut pos)) = work.last_mut() {
            if let Some(&w) = adj[v].get(*pos) {
                *pos += 1;
                if !inside(w) {
                    continue;
                }
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 || adj[v].contains(&v) {
                    comp.sort_unstable();
                    comps.push(comp);
                }
            }
        }
    }
    comps.sort_by_key(|c| c[0]);
    comps
}

/// Strongly connected components of a graph given as adjacency lists.
/// Returns each node's component number (`usize::MAX` for a node in no
/// cycle) and the number of components with a cycle. Components are
/// numbered by their smallest node, so the numbering is deterministic.
pub fn components(adj: &[Vec<usize>]) -> (Vec<usize>, usize) {
    let n = adj.len();
    let all: Vec<usize> = (0..n).collect();
    let comps = cyclic_sccs(adj, &all, &vec![0; n], 0);
    let mut comp_of = vec![usize::MAX; n];
    for (k, c) in comps.iter().enumerate() {
        for &v in c {
            comp_of[v] = k;
        }
    }
    (comp_of, comps.len())
}

/// The elementary circuits of the graph, each as the list of its nodes
/// starting at its smallest node; `None` if there are more than `limit`.
///
/// Johnson's algorithm: take a cyclic component, list the circuits through
/// its smallest node `s` (blocking nodes that cannot currently reach `s`),
/// then remove `s` and split what is left into components again.
pub fn circuits(adj: &[Vec<usize>], limit: usize) -> Option<Vec<Vec<usize>>> {
    let n = adj.len();
    let mut found = Vec::new();
    // member[v] = the tag of the component v is being searched in.
    let mut member = vec![usize::MAX; n];
    let mut blocked = vec![false; n];
    let mut bset: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut tag = 0usize;
    let all: Vec<usize> = (0..n).collect();
    let zeros = vec![0usize; n];
    let mut todo: Vec<Vec<usize>> = cyclic_sccs(adj, &all, &zeros, 0);
    // In a strongly connected digraph the directed circuits span the cycle
    // space, of dimension E - V + 1, so a component has at least that many:
    // past the limit in total, enumerating (O(V) per circuit found, all but
    // quadratic on a large coupled model) cannot end under it.
    let mut at_least = 0usize;
    for comp in &todo {
        for &v in comp {
            member[v] = 0;
        }
        let edges: usize = comp
            .iter()
            .map(|&v| adj[v].iter().filter(|&&w| member[w] == 0).count())
            .sum();
        at_least += (edges + 1).saturating_sub(comp.len());
        for &v in comp {
            member[v] = usize::MAX;
        }
    }
    if at_least > limit {
        return None;
    }
    todo.reverse();
    while let Some(comp) = todo.pop() {
        tag += 1;
        for &v in &comp {
            member[v] = tag;
            blocked[v] = false;
            bset[v].clear();
        }
        let s = comp[0];
        let within = |w: usize, member: &[usize]| member[w] == tag;
        let mut path = vec![s];
        blocked[s] = true;
        // (node, next edge position, found a circuit below)
        let mut work: Vec<(usize, usize, bool)> = vec![(s, 0, false)];
        while let Some(top) = work.last_mut() {
            let (v, pos) = (top.0, top.1);
            if let Some(&w) = adj[v].get(pos) {
                top.1 += 1;
                if !within(w, &member) {
                    continue;
                }
                if w == s {
                    top.2 = true;
                    found.push(path.clone());
                    if found.len() > limit {
                        return None;
                    }
                } else if !blocked[w] {
                    blocked[w] = true;
                    path.push(w);
                    work.push((w, 0, false));
                }
                continue;
            }
            let closed = top.2;
            work.pop();
            if closed {
                unblock(v, &mut blocked, &mut bset);
            } else {
                for &w in &adj[v] {
                    // Johnson's B sets; a repeat is harmless (unblocking
                    // skips nodes already unblocked), a linear membership
                    // test would not be on a node with 10^5 predecessors.
                    if within(w, &member) && bset[w].last() != Some(&v) {
                        bset[w].push(v);
                    }
                }
            }
            path.pop();
            if let Some(parent) = work.last_mut() {
                parent.2 |= closed;
            }
        }
        // Drop s; the rest splits into smaller components.
        member[s] = usize::MAX;
        let rest: Vec<usize> = comp[1..].to_vec();
        let mut subs = cyclic_sccs(adj, &rest, &member, tag);
        subs.reverse();
        todo.extend(subs);
    }
    Some(found)
}

fn unblock(u: usize, blocked: &mut [bool], bset: &mut [Vec<usize>]) {
    let mut todo = vec![u];
    while let Some(v) = todo.pop() {
        if !blocked[v] {
            continue;
        }
        blocked[v] = false;
        todo.append(&mut bset[v]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
        let mut adj = vec![Vec::new(); n];
        for &(a, b) in edges {
            adj[a].push(b);
        }
        adj
    }

    #[test]
    fn complete_graph_has_every_circuit() {
        // K4 with both directions: 6 two-cycles, 8 three-cycles, 6 four-cycles.
        let mut edges = Vec::new();
        for a in 0..4 {
            for b in 0..4 {
                if a != b {
                    edges.push((a, b));
                }
            }
        }
        let c = circuits(&graph(4, &edges), 1000).unwrap();
        assert_eq!(c.len(), 20);
        let mut sorted: Vec<Vec<usize>> = c.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 20, "no circuit twice");
        assert!(c.iter().all(|p| p[0] == *p.iter().min().unwrap()));
        assert!(circuits(&graph(4, &edges), 19).is_none());
        // 12 edges on 4 nodes: at least 9 circuits, known without a search.
        assert!(circuits(&graph(4, &edges), 8).is_none());
    }

    #[test]
    fn components_skip_acyclic_nodes() {
        // 0 <-> 1, 1 -> 2, 2 -> 3 -> 2, 4 alone with a self-loop, 5 alone.
        let adj = graph(6, &[(0, 1), (1, 0), (1, 2), (2, 3), (3, 2), (4, 4)]);
        let (comp, n) = components(&adj);
        assert_eq!(n, 3);
        assert_eq!(comp[0], comp[1]);
        assert_ne!(comp[1], comp[2]);
        assert_eq!(comp[2], comp[3]);
        assert_eq!(comp[5], usize::MAX);
        let c = circuits(&adj, 10).unwrap();
        assert_eq!(c, vec![vec![0, 1], vec![2, 3], vec![4]]);
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let n = 200_000;
        let mut edges: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        edges.push((n - 1, 0));
        let c = circuits(&graph(n, &edges), 10).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), n);
    }
}
