//! Loop scores of a single run, computed after the run from its values.
//!
//! Every score variable [`super::instrument`] adds is a function of model
//! values at a saved time `t` and one step before it: nothing in the chain
//! (partial equations, link, circuit, loop and relative scores) carries
//! state. So a single run needs no instrumented model: the plain model runs
//! (its results bit-identical to a run without scores) while keeping the
//! values those equations read at each saved time and at `t - dt`
//! ([`crate::sweep::single::run_watched`]); the score equations are then
//! compiled as a model of their own whose inputs are those values, and
//! evaluated for all saved times at once, several times per pass
//! ([`crate::sweep::pointwise`]). The cost of scoring becomes a fraction of
//! the run's instead of several times it.
//!
//! Equations the pass cannot evaluate from saved values (a stateful or
//! random call, or one that reads the time implicitly such as STEP or
//! PULSE) keep the instrumented model: [`Scorer::new`] returns `None`.
//! ACTIVE INITIAL reads as its first argument: after the initial time that
//! is its value, and at the initial time every score is 0.

use std::collections::{HashMap, HashSet};

use crate::compile::builtins::lookup_in;
use crate::compile::flatten::{FlatKind, FlatModel, FlatVar};
use crate::compile::CompiledModel;
use crate::ir::{Dialect, Model, Project};
use crate::sweep::pointwise::{eval_points, eval_points_parallel, Column};
use crate::sweep::single::Watched;
use crate::syntax::ast::Expr;
use crate::vm::state::TimeGrid;

use super::instrument::PREFIX;

/// The score model's time input (the saved time of each point).
const TIME: &str = "$ltm.time";

/// [`eval_points`] or [`eval_points_parallel`].
type EvalPoints =
    fn(&CompiledModel, TimeGrid, &[(u32, Column<'_>)], usize, &[u32]) -> Vec<Vec<f64>>;

/// Where one input of the score model comes from.
#[derive(Clone, Copy, Debug)]
enum Source {
    Time,
    /// `watch[j]` at the saved time.
    Current(usize),
    /// `watch[j]` one step earlier.
    Previous(usize),
}

/// The score equations of an instrumented model, compiled to run on a
/// plain run's values.
pub struct Scorer {
    model: CompiledModel,
    /// The plain model's slots the run must keep.
    pub(crate) watch: Vec<u32>,
    /// The score model's input stocks and what feeds each.
    inputs: Vec<(u32, Source)>,
    /// The score model's slots of the requested outputs, in order.
    outputs: Vec<u32>,
}

/// Calls whose first argument names a graphical function.
fn is_lookup(f: &str) -> bool {
    matches!(
        f,
        "lookup"
            | "lookup_extrapolate"
            | "lookup_forward"
            | "lookup_backward"
            | "lookup_invert"
            | "lookup_area"
            | "lookup_slope"
            | "lookuparea"
    )
}

/// Names the engine resolves without a variable.
fn is_builtin_name(r: &str) -> bool {
    matches!(
        r,
        "dt" | "time_step"
            | "starttime"
            | "initial_time"
            | "stoptime"
            | "final_time"
            | "pi"
            | "inf"
            | "nan"
    )
}

struct Builder<'a> {
    inst: &'a FlatModel,
    /// Variables of the plain model (the first `n_orig` of `inst`).
    n_orig: usize,
    dialect: Dialect,
    out: FlatModel,
    watch: Vec<u32>,
    watch_of: HashMap<usize, usize>,
    inputs: Vec<(String, Source)>,
    /// Plain variables read as values / as graphical functions.
    values: HashSet<usize>,
    tables: HashSet<usize>,
}

impl Builder<'_> {
    fn watch(&mut self, v: usize) -> usize {
        let n = self.watch.len();
        *self.watch_of.entry(v).or_insert_with(|| {
            self.watch.push(v as u32);
            n
        })
    }

    fn input(&mut self, name: String, source: Source) -> Option<()> {
        if self.out.index.contains_key(&name) {
            return Some(());
        }
        self.out
            .push(FlatVar {
                name: name.clone(),
                ident: name.clone(),
                kind: FlatKind::Stock {
                    inflows: Vec::new(),
                    outflows: Vec::new(),
                    non_negative: false,
                    limits: None,
                },
                expr: Some(Expr::Num(0.0)),
                gf: None,
                visible: false,
            })
            .ok()?;
        self.inputs.push((name, source));
        Some(())
    }

    /// The plain variable `ident` names, if any.
    fn plain(&self, ident: &str) -> Option<usize> {
        self.inst
            .index
            .get(ident)
            .copied()
            .filter(|&i| i < self.n_orig)
    }

    /// `e` rewritten for the score model, registering its inputs; `None`
    /// when it reads something the pass cannot supply.
    fn expr(&mut self, e: &Expr) -> Option<Expr> {
        Some(match e {
            Expr::Num(_) => e.clone(),
            Expr::Var(r, s) => {
                if let Some(v) = self.plain(r) {
                    if self.tables.contains(&v) {
                        return None;
                    }
                    self.values.insert(v);
                    let j = self.watch(v);
                    self.input(r.clone(), Source::Current(j))?;
                    e.clone()
                } else if r == "time" {
                    self.input(TIME.to_string(), Source::Time)?;
                    Expr::Var(TIME.to_string(), *s)
                } else if (r.starts_with(PREFIX) && self.inst.index.contains_key(r))
                    || is_builtin_name(r)
                {
                    e.clone()
                } else {
                    return None;
                }
            }
            Expr::Subscript(..) => return None,
            Expr::Unary(op, a) => Expr::Unary(*op, Box::new(self.expr(a)?)),
            Expr::Binary(op, a, b) => {
                Expr::Binary(*op, Box::new(self.expr(a)?), Box::new(self.expr(b)?))
            }
            Expr::If(c, a, b) => Expr::If(
                Box::new(self.expr(c)?),
                Box::new(self.expr(a)?),
                Box::new(self.expr(b)?),
            ),
            // ACTIVE INITIAL is its first argument after the initial time,
            // and every score is 0 at the initial time.
            Expr::Call(f, args, _) if f == "active_initial" && args.len() == 2 => {
                self.expr(&args[0])?
            }
            Expr::Call(f, args, s) => {
                let table_call = self.plain(f).filter(|&v| self.inst.vars[v].gf.is_some());
                let (first, rest) = if let Some(v) = table_call {
                    self.table(v)?;
                    (None, &args[..])
                } else if is_lookup(f) {
                    let Some(Expr::Var(t, _)) = args.first() else {
                        return None;
                    };
                    let v = self.plain(t).filter(|&v| self.inst.vars[v].gf.is_some())?;
                    self.table(v)?;
                    (Some(args[0].clone()), &args[1..])
                } else {
                    match lookup_in(f, self.dialect) {
                        Some((b, _, _)) if !b.reads_time() => (None, &args[..]),
                        _ => return None,
                    }
                };
                let mut out: Vec<Expr> = first.into_iter().collect();
                for a in rest {
                    out.push(self.expr(a)?);
                }
                Expr::Call(f.clone(), out, *s)
            }
        })
    }

    /// Copy plain variable `v`'s graphical function (not its value).
    fn table(&mut self, v: usize) -> Option<()> {
        if self.values.contains(&v) {
            return None;
        }
        if self.tables.insert(v) {
            let src = &self.inst.vars[v];
            self.out
                .push(FlatVar {
                    name: src.name.clone(),
                    ident: src.ident.clone(),
                    kind: FlatKind::Aux,
                    expr: None,
                    gf: src.gf.clone(),
                    visible: false,
                })
                .ok()?;
        }
        Some(())
    }

    /// The input holding plain variable `v` one step earlier.
    fn previous(&mut self, v: usize) -> Option<String> {
        let name = format!("$ltm.prev.{v}");
        let j = self.watch(v);
        self.input(name.clone(), Source::Previous(j))?;
        Some(name)
    }
}

/// `e` with every variable read one step earlier.
fn lag_all(b: &mut Builder<'_>, e: &Expr) -> Option<Expr> {
    Some(match e {
        Expr::Var(r, s) => match b.plain(r) {
            Some(v) => Expr::Var(b.previous(v)?, *s),
            None => return None,
        },
        Expr::Num(_) => e.clone(),
        Expr::Unary(op, a) => Expr::Unary(*op, Box::new(lag_all(b, a)?)),
        Expr::Binary(op, x, y) => {
            Expr::Binary(*op, Box::new(lag_all(b, x)?), Box::new(lag_all(b, y)?))
        }
        _ => return None,
    })
}

impl Scorer {
    /// The score model of `inst` (the instrumented flat model, whose first
    /// `n_orig` variables are the plain model's), computing `outputs` (score
    /// variable names). `None` when some score equation needs the
    /// instrumented run (see the module doc).
    pub fn new(
        project: &Project,
        model: &Model,
        inst: &FlatModel,
        n_orig: usize,
        outputs: &[String],
    ) -> Option<Scorer> {
        let mut b = Builder {
            inst,
            n_orig,
            dialect: project.dialect,
            out: FlatModel::default(),
            watch: Vec::new(),
            watch_of: HashMap::new(),
            inputs: Vec::new(),
            values: HashSet::new(),
            tables: HashSet::new(),
        };
        for v in inst.vars.iter().skip(n_orig) {
            let e = v.expr.as_ref()?;
            let expr = match v.ident.strip_prefix("$ltm.prev.") {
                Some(of) => {
                    let of: usize = of.parse().ok()?;
                    if of < n_orig {
                        // An input of its own.
                        b.previous(of)?;
                        continue;
                    }
                    // PREVIOUS of a score variable (a stock's net flow):
                    // its equation over the previous values.
                    lag_all(&mut b, inst.vars[of].expr.as_ref()?)?
                }
                None => b.expr(e)?,
            };
            b.out
                .push(FlatVar {
                    name: v.name.clone(),
                    ident: v.ident.clone(),
                    kind: v.kind.clone(),
                    expr: Some(expr),
                    gf: v.gf.clone(),
                    visible: false,
                })
                .ok()?;
        }
        let outputs = outputs
            .iter()
            .map(|n| b.out.index.get(&n.to_lowercase()).map(|&s| s as u32))
            .collect::<Option<Vec<u32>>>()?;
        let model = CompiledModel::from_flat(project, model, &b.out).ok()?;
        let inputs = b
            .inputs
            .iter()
            .map(|(name, src)| Some((*b.out.index.get(name)? as u32, *src)))
            .collect::<Option<Vec<_>>>()?;
        Some(Scorer {
            model,
            watch: b.watch,
            inputs,
            outputs,
        })
    }

    /// The outputs' series over a run's saved `times`, from the values the
    /// run kept of [`Scorer::watch`].
    pub(crate) fn evaluate(&self, times: &[f64], w: &Watched) -> Vec<Vec<f64>> {
        let current: Vec<&[f64]> = w.current.iter().map(Vec::as_slice).collect();
        let previous: Vec<&[f64]> = w.previous.iter().map(Vec::as_slice).collect();
        let previous = (!w.previous.is_empty()).then_some(previous.as_slice());
        let all: Vec<usize> = (0..self.outputs.len()).collect();
        self.evaluate_with(
            w.grid,
            times,
            &current,
            previous,
            &all,
            eval_points_parallel,
        )
    }

    /// The scores at `times.len()` points: `current[j][p]` is `watch[j]`
    /// at point `p`, `previous[j][p]` its value one step earlier (`None`:
    /// point `p - 1` of `current`, every step being saved). Points need not
    /// be one run's: a sweep passes several runs' saved times at once.
    /// Returns the scores numbered `which` (indices into the score names).
    pub(crate) fn evaluate_columns(
        &self,
        grid: TimeGrid,
        times: &[f64],
        current: &[&[f64]],
        previous: Option<&[&[f64]]>,
        which: &[usize],
    ) -> Vec<Vec<f64>> {
        self.evaluate_with(grid, times, current, previous, which, eval_points)
    }

    /// [`Scorer::evaluate_columns`] through `eval` (one thread, or spread
    /// over the pool for one run's many points).
    fn evaluate_with(
        &self,
        grid: TimeGrid,
        times: &[f64],
        current: &[&[f64]],
        previous: Option<&[&[f64]]>,
        which: &[usize],
        eval: EvalPoints,
    ) -> Vec<Vec<f64>> {
        let inputs: Vec<(u32, Column<'_>)> = self
            .inputs
            .iter()
            .map(|&(slot, src)| {
                let c = match (src, previous) {
                    (Source::Time, _) => Column {
                        data: times,
                        lag: 0,
                    },
                    (Source::Current(k), _) => Column {
                        data: current[k],
                        lag: 0,
                    },
                    (Source::Previous(k), None) => Column {
                        data: current[k],
                        lag: 1,
                    },
                    (Source::Previous(k), Some(p)) => Column { data: p[k], lag: 0 },
                };
                (slot, c)
            })
            .collect();
        let outputs: Vec<u32> = which.iter().map(|&i| self.outputs[i]).collect();
        eval(&self.model, grid, &inputs, times.len(), &outputs)
    }
}
