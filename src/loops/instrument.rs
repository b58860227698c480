//! LTM as a model transformation: link and loop scores become variables.
//!
//! For every scored link the flat model gains hidden variables that the
//! engine computes at each step like any auxiliary:
//!
//! * `$ltm.prev.<v>` = `PREVIOUS(v, v)`: each variable a score needs at
//!   `t - dt`, once (0 change at the initial time, so every score is 0 there);
//! * `$ltm.partial.<k>`: the target's equation with every input but the
//!   link's source read at `t - dt` (its table and non-negative clamp too),
//!   or in Stella's convention only the source ([`Partial`]);
//! * `$ltm.lag.<z>.<node>`: a part of a big target's equation that many
//!   partials read lagged alike, computed once ([`super::shared`]);
//! * `$ltm.d.<v>` = `v - $ltm.prev.<v>`, and `$ltm.dxz.<k>`, the partial
//!   change, each computed once;
//! * `$ltm.link.<k>`: the link score;
//! * `$ltm.net.<stock>`: a stock's net flow, for its flow-to-stock links;
//! * `$ltm.circuit.<i>`, `$ltm.part.<p>` and `$ltm.crel.<i>`: circuit
//!   scores, the partition's sum of their magnitudes and relative scores;
//! * `$ltm.loop.<id>` and `$ltm.rel.<id>`: a loop's score and relative
//!   score (for a loop of several circuits, the largest in magnitude).
//!
//! Because they are ordinary variables, single runs, the stepwise `Sim` and
//! batched sweeps all compute them with every integration method, and a
//! sweep can keep only the relative loop scores (or reduce them) without
//! storing any link score.
//!
//! Stateful calls inside a target's equation (PREVIOUS, INIT, DELAY FIXED,
//! SAMPLE IF TRUE, random draws) are not re-evaluated with lagged inputs:
//! the partial equation reads their current value.

use std::collections::{HashMap, HashSet};

use crate::compile::expand::{bin, call, var};
use crate::compile::flatten::{FlatKind, FlatModel, FlatVar};
use crate::error::Result;
use crate::syntax::ast::{BinaryOp, Expr};

use super::shared::{self, Shape};
use super::{Circuit, Loop, Structure};

/// Names of the score variables of an instrumented model.
pub const PREFIX: &str = "$ltm.";

pub fn link_name(k: usize) -> String {
    format!("$ltm.link.{k}")
}

pub fn loop_name(id: &str) -> String {
    format!("$ltm.loop.{id}")
}

pub fn relative_name(id: &str) -> String {
    format!("$ltm.rel.{id}")
}

fn if_zero(test: Expr, then: Expr, otherwise: Expr) -> Expr {
    Expr::If(Box::new(test), Box::new(then), Box::new(otherwise))
}

/// Calls whose value depends on state: left as they are in a partial equation.
fn is_stateful(f: &str) -> bool {
    matches!(
        f,
        "previous"
            | "init"
            | "initial"
            | "delay_fixed"
            | "delay_material"
            | "delay_information"
            | "delay_conveyor"
            | "depreciate_straightline"
            | "conveyor_delay"
            | "conveyor_leak"
            | "sample_if_true"
            | "random_uniform"
            | "random_normal"
            | "random_poisson"
            | "random_exponential"
            | "random"
            | "normal"
            | "uniform"
            | "poisson"
            | "exprnd"
            | "lognormal"
            | "random_0_1"
            | "random_triangular"
            | "random_lookup"
            | "random_binomial"
            | "random_gamma"
            | "random_beta"
            | "random_weibull"
            | "random_lognormal"
            | "random_negative_binomial"
            | "random_pink_noise"
            | "beta"
            | "binomial"
            | "gamma"
            | "geometric"
            | "logistic"
            | "pareto"
            | "triangular"
            | "weibull"
            | "montecarlo"
    )
}

/// How a link's partial change `Δx z` holds the target's other inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Partial {
    /// At their previous values: `Δx z = f(x(t), y(t - dt)) - z(t - dt)`
    /// (the formula of the LTM papers, and pysimlin's).
    #[default]
    Previous,
    /// At their current values: `Δx z = z(t) - f(x(t - dt), y(t))`, as
    /// Stella Architect's loop analysis computes it (its exported scores
    /// are reproduced only so; the two agree where `f` is linear).
    Current,
}

/// The partial equation of link `x -> z`: `e` with every variable except
/// `x` read at `t - dt` ([`Partial::Previous`]), or with only `x` read
/// there ([`Partial::Current`]).
fn lagged(e: &Expr, x: &str, prev: &HashMap<String, String>, partial: Partial) -> Expr {
    let rec = |a: &Expr| lagged(a, x, prev, partial);
    let others_lag = partial == Partial::Previous;
    match e {
        Expr::Var(r, s) => match prev.get(r) {
            Some(p) if (r != x) == others_lag => Expr::Var(p.clone(), *s),
            // TIME is an input like any other: read at the previous step.
            None if r == "time" && others_lag => bin(BinaryOp::Sub, e.clone(), var("dt")),
            _ => e.clone(),
        },
        Expr::Num(_) | Expr::Subscript(..) => e.clone(),
        Expr::Unary(op, a) => Expr::Unary(*op, Box::new(rec(a))),
        Expr::Binary(op, a, b) => Expr::Binary(*op, Box::new(rec(a)), Box::new(rec(b))),
        Expr::If(c, a, b) => Expr::If(Box::new(rec(c)), Box::new(rec(a)), Box::new(rec(b))),
        Expr::Call(f, args, s) if is_stateful(f) => Expr::Call(f.clone(), args.clone(), *s),
        // LOOKUP's first argument names the table: not a value.
        Expr::Call(f, args, s) if f == "lookup" => Expr::Call(
            f.clone(),
            args.iter()
                .enumerate()
                .map(|(i, a)| if i == 0 { a.clone() } else { rec(a) })
                .collect(),
            *s,
        ),
        Expr::Call(f, args, s) => Expr::Call(f.clone(), args.iter().map(rec).collect(), *s),
    }
}

struct Builder<'a> {
    flat: &'a mut FlatModel,
    /// variable ident -> its `$ltm.prev.` ident
    prev: HashMap<String, String>,
}

impl Builder<'_> {
    fn add(&mut self, ident: String, expr: Expr, visible: bool) -> Result<()> {
        self.add_var(FlatVar {
            name: ident.clone(),
            ident: ident.to_lowercase(),
            kind: FlatKind::Aux,
            expr: Some(expr),
            gf: None,
            visible,
        })
    }

    fn add_var(&mut self, v: FlatVar) -> Result<()> {
        self.flat.push(v)
    }

    /// The ident of `PREVIOUS(v)`, made on first use.
    fn prev_of(&mut self, v: usize) -> Result<String> {
        let ident = self.flat.vars[v].ident.clone();
        if let Some(p) = self.prev.get(&ident) {
            return Ok(p.clone());
        }
        let p = format!("$ltm.prev.{v}");
        self.add(
            p.clone(),
            call("previous", vec![var(&ident), var(&ident)]),
            false,
        )?;
        self.prev.insert(ident, p.clone());
        Ok(p)
    }

    /// `v - PREVIOUS(v)`, as a variable of its own (`$ltm.d.<v>`) shared
    /// by every score that needs it.
    fn change(&mut self, v: usize) -> Result<Expr> {
        let d = format!("$ltm.d.{v}");
        if !self.flat.index.contains_key(&d) {
            let p = self.prev_of(v)?;
            let e = bin(
                BinaryOp::Sub,
                var(&self.flat.vars[v].ident.clone()),
                var(&p),
            );
            self.add(d.clone(), e, false)?;
        }
        Ok(var(&d))
    }
}

/// The partial equations of all scored links together may hold at most
/// this many expression nodes: a loop through a 100,000-term sum written
/// out by hand would otherwise copy that sum once per term (10^10 nodes).
pub const MAX_PARTIAL_NODES: usize = 20_000_000;

pub(crate) fn node_count(e: &Expr) -> usize {
    let mut n = 0;
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        n += 1;
        match e {
            Expr::Num(_) | Expr::Var(..) | Expr::Subscript(..) => {}
            Expr::Unary(_, a) => todo.push(a),
            Expr::Binary(_, a, b) => {
                todo.push(a);
                todo.push(b);
            }
            Expr::If(c, a, b) => {
                todo.push(c);
                todo.push(a);
                todo.push(b);
            }
            Expr::Call(_, args, _) => todo.extend(args.iter()),
        }
    }
    n
}

/// Add score variables for `links` (indices into `s.links`), `circuits`
/// and `loops` (grouping those circuits). Returns the flat model to compile.
pub fn instrument(
    s: &Structure,
    links: &[usize],
    circuits: &[Circuit],
    loops: &[Loop],
    partial: Partial,
) -> Result<FlatModel> {
    instrument_sharing(s, links, circuits, loops, partial, shared::MIN_NODES)
}

/// [`instrument`], sharing the parts of the partials of targets with at
/// least `min_nodes` nodes (`usize::MAX`: none, every partial a whole
/// copy, which tests compare the shared ones with).
pub(crate) fn instrument_sharing(
    s: &Structure,
    links: &[usize],
    circuits: &[Circuit],
    loops: &[Loop],
    partial: Partial,
    min_nodes: usize,
) -> Result<FlatModel> {
    // Targets read by several scored links with big equations share the
    // parts of their partials that do not read the link's source.
    let mut into: HashMap<usize, usize> = HashMap::new();
    for &k in links {
        *into.entry(s.links[k].to).or_default() += 1;
    }
    let mut shapes: HashMap<usize, Shape> = HashMap::new();
    let mut counted: HashMap<usize, usize> = HashMap::new();
    let mut size = 0usize;
    for &k in links {
        let (x, z) = (s.links[k].from, s.links[k].to);
        let Some(e) = &s.flat.vars[z].expr else {
            continue;
        };
        let nodes = *counted.entry(z).or_insert_with(|| node_count(e));
        size += if nodes >= min_nodes && into[&z] > 1 {
            shapes
                .entry(z)
                .or_insert_with(|| Shape::new(e))
                .partial_nodes(e, &s.flat.vars[x].ident)
        } else {
            nodes
        };
        if size > MAX_PARTIAL_NODES {
            return Err(crate::error::Error::Unsupported {
                variable: s.flat.vars[z].name.clone(),
                construct: format!(
                    "loop scores for a model whose scored equations would copy more than \
                     {MAX_PARTIAL_NODES} expression nodes (a very long equation inside a loop)"
                ),
            });
        }
    }
    let mut flat = s.flat.clone();
    let mut b = Builder {
        flat: &mut flat,
        prev: HashMap::new(),
    };
    let mut nets: HashMap<usize, String> = HashMap::new();
    // Targets whose inputs' previous values exist already.
    let mut lagged_inputs: HashSet<usize> = HashSet::new();
    for &k in links {
        let l = s.links[k];
        let (x, z) = (l.from, l.to);
        let target = s.flat.vars[z].clone();
        let score = match &target.kind {
            FlatKind::Stock {
                inflows, outflows, ..
            } => {
                let net = match nets.get(&z) {
                    Some(n) => n.clone(),
                    None => {
                        let sum = |flows: &[String]| {
                            flows
                                .iter()
                                .map(|f| var(f))
                                .reduce(|a, b| bin(BinaryOp::Add, a, b))
                                .unwrap_or(Expr::Num(0.0))
                        };
                        let e = bin(BinaryOp::Sub, sum(inflows), sum(outflows));
                        let n = format!("$ltm.net.{z}");
                        b.add(n.clone(), e, false)?;
                        nets.insert(z, n.clone());
                        n
                    }
                };
                let net_slot = b.flat.index[&net];
                let dnet = b.change(net_slot)?;
                let dflow = b.change(x)?;
                let sign = if outflows.contains(&s.flat.vars[x].ident)
                    && !inflows.contains(&s.flat.vars[x].ident)
                {
                    -1.0
                } else {
                    1.0
                };
                if_zero(
                    bin(BinaryOp::Eq, dnet.clone(), Expr::Num(0.0)),
                    Expr::Num(0.0),
                    bin(
                        BinaryOp::Mul,
                        call("abs", vec![bin(BinaryOp::Div, dflow, dnet)]),
                        Expr::Num(sign),
                    ),
                )
            }
            FlatKind::Flow { .. } | FlatKind::Aux => {
                let Some(e) = &target.expr else { continue };
                if lagged_inputs.insert(z) {
                    let mut refs = Vec::new();
                    super::links::current_refs(e, &s.flat, &mut refs);
                    for r in refs {
                        if s.flat.vars[r].expr.is_some()
                            || matches!(s.flat.vars[r].kind, FlatKind::Stock { .. })
                        {
                            b.prev_of(r)?;
                        }
                    }
                }
                let source = &s.flat.vars[x].ident;
                let expr = match shapes.get_mut(&z) {
                    Some(shape) => {
                        let mut helpers = Vec::new();
                        let prev = &b.prev;
                        let e = shape.lagged(
                            e,
                            source,
                            &|sub| lagged(sub, source, prev, partial),
                            &mut |node, sub| {
                                let name = format!("$ltm.lag.{z}.{node}");
                                helpers.push((name.clone(), sub));
                                name
                            },
                        );
                        for (name, sub) in helpers {
                            b.add(name, sub, false)?;
                        }
                        e
                    }
                    None => lagged(e, source, &b.prev, partial),
                };
                let partial_name = format!("$ltm.partial.{k}");
                b.add_var(FlatVar {
                    name: partial_name.clone(),
                    ident: partial_name.clone(),
                    kind: match target.kind {
                        FlatKind::Flow { non_negative: true } => {
                            FlatKind::Flow { non_negative: true }
                        }
                        _ => FlatKind::Aux,
                    },
                    expr: Some(expr),
                    gf: target.gf.clone(),
                    visible: false,
                })?;
                let pz = b.prev_of(z)?;
                let dz = b.change(z)?;
                let dx = b.change(x)?;
                let dxz_name = format!("$ltm.dxz.{k}");
                let dxz_expr = match partial {
                    Partial::Previous => bin(BinaryOp::Sub, var(&partial_name), var(&pz)),
                    Partial::Current => bin(
                        BinaryOp::Sub,
                        var(&s.flat.vars[z].ident.clone()),
                        var(&partial_name),
                    ),
                };
                b.add(dxz_name.clone(), dxz_expr, false)?;
                let dxz = var(&dxz_name);
                // 0 where dz or dx is 0, else |dxz / dz| * sign(dxz / dx).
                call("ltm_link_score", vec![dxz, dz, dx])
            }
        };
        b.add(link_name(k), score, true)?;
    }
    let mut partitions: Vec<Vec<String>> = vec![Vec::new(); s.partitions];
    for (i, c) in circuits.iter().enumerate() {
        let e = c
            .links
            .iter()
            .map(|&k| var(&link_name(k)))
            .reduce(|a, c| bin(BinaryOp::Mul, a, c))
            .unwrap_or(Expr::Num(0.0));
        let name = format!("$ltm.circuit.{i}");
        b.add(name.clone(), e, false)?;
        if let Some(p) = partitions.get_mut(c.partition) {
            p.push(name);
        }
    }
    for (p, members) in partitions.iter().enumerate() {
        if members.is_empty() {
            continue;
        }
        let e = members
            .iter()
            .map(|m| call("abs", vec![var(m)]))
            .reduce(|a, c| bin(BinaryOp::Add, a, c))
            .unwrap_or(Expr::Num(0.0));
        b.add(format!("$ltm.part.{p}"), e, false)?;
    }
    for (i, c) in circuits.iter().enumerate() {
        let part = format!("$ltm.part.{}", c.partition);
        let e = if_zero(
            bin(BinaryOp::Eq, var(&part), Expr::Num(0.0)),
            Expr::Num(0.0),
            bin(BinaryOp::Div, var(&format!("$ltm.circuit.{i}")), var(&part)),
        );
        b.add(format!("$ltm.crel.{i}"), e, false)?;
    }
    // A loop of several circuits (one per array element) reports, at
    // each time, the circuit with the largest magnitude, with its sign.
    for l in loops {
        for (kind, out) in [
            ("circuit", loop_name(&l.id)),
            ("crel", relative_name(&l.id)),
        ] {
            let mut acc = format!("$ltm.{kind}.{}", l.circuits[0]);
            for (j, &c) in l.circuits.iter().enumerate().skip(1) {
                let next = format!("$ltm.{kind}.{c}");
                let step = format!("{}.{j}", out.to_lowercase());
                let e = if_zero(
                    bin(
                        BinaryOp::Gt,
                        call("abs", vec![var(&next)]),
                        call("abs", vec![var(&acc)]),
                    ),
                    var(&next),
                    var(&acc),
                );
                b.add(step.clone(), e, false)?;
                acc = step;
            }
            b.add(out, var(&acc), true)?;
        }
    }
    Ok(flat)
}
