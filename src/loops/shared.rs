//! Partial equations of a big target that share their common parts.
//!
//! A link `x -> z`'s partial equation is `z`'s equation with every input
//! but `x` read one step earlier ([`super::instrument`]). When `z` reads
//! many scored inputs, as an aggregate over an array does (`SUM(I[r!])`
//! flattens to a balanced tree of a thousand additions), copying the
//! equation once per input costs time and memory quadratic in its size:
//! a 1,000-region SIR's loop-score model held about four million
//! expression nodes and took three seconds and a gigabyte to build.
//!
//! But a subtree of `z`'s equation that does not read `x` has the same
//! lagged value in every partial that does not read it either. So such a
//! subtree becomes a helper variable (`$ltm.lag.<z>.<node>`), computed
//! once per step, and each partial keeps only the path from the root to
//! `x`'s leaves, with the helpers beside it: about 2 log2(n) nodes per
//! input for a balanced sum instead of 2n. The helper holds exactly the
//! value the inline subtree would compute, so every score is unchanged to
//! the bit.

use std::collections::{HashMap, HashSet};

use crate::syntax::ast::Expr;

/// Share subtrees of a target's equation when it has at least this many
/// nodes (smaller equations are cheap to copy, and helpers are variables).
pub(crate) const MIN_NODES: usize = 16;

/// The shape of one target's equation, in preorder (operands in the order
/// [`Expr::operands`] gives).
pub(crate) struct Shape {
    /// Nodes in each node's subtree, itself included.
    size: Vec<usize>,
    /// Whether a node's subtree may become a helper: more than one node,
    /// made only of variables, numbers and operators (no call, whose
    /// arguments may name tables or hold state).
    plain: Vec<bool>,
    /// The preorder positions of each variable's leaves, ascending.
    leaves: HashMap<String, Vec<usize>>,
    /// Helpers made so far, by node.
    helpers: HashMap<usize, String>,
    /// Helpers [`Shape::partial_nodes`] has counted the bodies of.
    counted: HashSet<usize>,
}

impl Shape {
    pub(crate) fn new(e: &Expr) -> Shape {
        let mut s = Shape {
            size: Vec::new(),
            plain: Vec::new(),
            leaves: HashMap::new(),
            helpers: HashMap::new(),
            counted: HashSet::new(),
        };
        s.visit(e);
        s
    }

    /// Number `e`'s nodes from `self.size.len()` on; returns whether `e`
    /// is made only of variables, numbers and operators.
    fn visit(&mut self, e: &Expr) -> bool {
        let at = self.size.len();
        self.size.push(1);
        self.plain.push(false);
        let plain = match e {
            Expr::Var(r, _) => {
                self.leaves.entry(r.clone()).or_default().push(at);
                true
            }
            Expr::Num(_) => true,
            Expr::Subscript(..) => false,
            Expr::Call(_, args, _) => {
                args.iter().for_each(|a| {
                    self.visit(a);
                });
                false
            }
            _ => {
                // Every child is numbered, whatever the others are.
                let mut plain = true;
                for c in e.operands() {
                    plain &= self.visit(c);
                }
                plain
            }
        };
        self.size[at] = self.size.len() - at;
        self.plain[at] = plain;
        plain
    }

    /// Whether the subtree at `node` reads `x`.
    fn reads(&self, node: usize, x: &str) -> bool {
        let Some(at) = self.leaves.get(x) else {
            return false;
        };
        let first = at.partition_point(|&p| p < node);
        at.get(first).is_some_and(|&p| p < node + self.size[node])
    }

    /// Whether the subtree at `node` becomes a helper in `x`'s partial.
    fn shared(&self, node: usize, x: &str) -> bool {
        self.plain[node] && self.size[node] > 1 && !self.reads(node, x)
    }

    /// Nodes the partial equation for input `x` adds: what
    /// [`Shape::lagged`] will build, counted without building it (a
    /// helper's reference counts one, its body once, when first needed).
    pub(crate) fn partial_nodes(&mut self, e: &Expr, x: &str) -> usize {
        self.count(e, 0, x)
    }

    fn count(&mut self, e: &Expr, node: usize, x: &str) -> usize {
        if self.shared(node, x) {
            let body = if self.counted.insert(node) {
                self.size[node]
            } else {
                0
            };
            return 1 + body;
        }
        match e {
            Expr::Call(..) => self.size[node],
            _ => {
                let mut n = 1;
                let mut at = node + 1;
                for c in e.operands() {
                    n += self.count(c, at, x);
                    at += self.size[at];
                }
                n
            }
        }
    }

    /// `e` (the target's equation, whose shape this is) as the partial
    /// for input `x`: `lag(sub)` of the subtrees that read `x` or hold a
    /// call, and a helper variable for each other subtree, made by
    /// `helper(node, lagged subtree)` the first time any partial needs it.
    pub(crate) fn lagged(
        &mut self,
        e: &Expr,
        x: &str,
        lag: &dyn Fn(&Expr) -> Expr,
        helper: &mut dyn FnMut(usize, Expr) -> String,
    ) -> Expr {
        self.lagged_at(e, 0, x, lag, helper)
    }

    fn lagged_at(
        &mut self,
        e: &Expr,
        node: usize,
        x: &str,
        lag: &dyn Fn(&Expr) -> Expr,
        helper: &mut dyn FnMut(usize, Expr) -> String,
    ) -> Expr {
        if self.shared(node, x) {
            let name = match self.helpers.get(&node) {
                Some(n) => n.clone(),
                None => {
                    let n = helper(node, lag(e));
                    self.helpers.insert(node, n.clone());
                    n
                }
            };
            return crate::compile::expand::var(&name);
        }
        let mut at = node + 1;
        let mut rec = |c: &Expr, s: &mut Shape| -> Box<Expr> {
            let out = s.lagged_at(c, at, x, lag, helper);
            at += s.size[at];
            Box::new(out)
        };
        match e {
            Expr::Unary(op, a) => Expr::Unary(*op, rec(a, self)),
            Expr::Binary(op, a, b) => {
                let a = rec(a, self);
                Expr::Binary(*op, a, rec(b, self))
            }
            Expr::If(c, a, b) => {
                let c = rec(c, self);
                let a = rec(a, self);
                Expr::If(c, a, rec(b, self))
            }
            // Leaves, and calls (whose arguments the lag handles itself).
            _ => lag(e),
        }
    }
}
