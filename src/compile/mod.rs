//! Stage 4, compile: IR → an immutable program over numbered slots.
//!
//! [`flatten`] turns the model tree into one list of variables (modules
//! instantiated, macros and stock-based builtins expanded), [`codegen`]
//! compiles each equation to ops for both phases, and [`crate::analysis`]
//! orders them. The result, [`CompiledModel`], holds no per-run state at all:
//! it is `Send + Sync`, shared by every run through an `Arc`, and a run only
//! ever changes its own slots, overrides and tables.

pub mod allocate;
pub mod arrays;
pub mod builtins;
pub mod builtins_vensim;
pub mod codegen;
pub mod conveyor;
pub mod expand;
pub mod flatten;
pub mod fold;
pub mod memo;
pub mod program;
pub mod vector_fns;
pub mod vector_lookup;
pub mod vector_order;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::analysis::topo_order;
use crate::compile::codegen::{Gen, Phase, Tables};
use crate::compile::flatten::{flatten, FlatKind};
use crate::compile::program::{Op, Segment, StatefulKind};
use crate::error::{Error, Result};
use crate::ir::{GraphicalFunction, Project, SimSpecs};
use crate::results::Results;
use crate::syntax::ident::canonicalize;
use crate::vm::RunOptions;

/// What kind of variable a slot holds, as the run API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    Stock,
    Flow,
    Aux,
}

/// Per-variable facts the VM and the API need.
#[derive(Clone, Debug)]
pub struct VarInfo {
    pub name: String,
    pub ident: String,
    pub kind: SlotKind,
    /// Shown in results (false for compiler-made helpers).
    pub visible: bool,
    /// Computed once in the initial phase and never again (its equation
    /// reads only other constants).
    pub constant: bool,
    /// Its graphical function's table number, if any.
    pub table: Option<u32>,
}

/// A stock and the slots of its flows.
#[derive(Clone, Debug)]
pub struct StockInfo {
    pub slot: u32,
    pub inflows: Vec<u32>,
    pub outflows: Vec<u32>,
    /// XMILE `<non_negative/>`: the stock is clamped at zero after each
    /// step (its flows keep reporting their computed values). A value that
    /// is not a number stays so, rather than reading as an empty stock.
    pub non_negative: bool,
}

/// `function` in `variable` takes `min..=max` arguments: a
/// [`Error::WrongArgumentCount`] when `got` is outside, shared by the code
/// generator and every expansion of an array or macro call.
pub(crate) fn check_arity(
    variable: &str,
    function: &str,
    got: usize,
    min: usize,
    max: usize,
) -> Result<()> {
    if (min..=max).contains(&got) {
        return Ok(());
    }
    Err(Error::WrongArgumentCount {
        variable: variable.to_string(),
        function: function.to_string(),
        expected: if min == max {
            min.to_string()
        } else {
            format!("{min} to {max}")
        },
        got,
    })
}

/// An immutable, `Send + Sync` compiled model: compile once, run many.
#[derive(Debug)]
pub struct CompiledModel {
    pub(crate) specs: SimSpecs,
    pub(crate) vars: Vec<VarInfo>,
    /// Canonical name → slot (lookups only; never iterated).
    pub(crate) index: HashMap<String, u32>,
    pub(crate) code: Vec<Op>,
    /// Every variable, in initial-phase order (stocks compute their initial value).
    pub(crate) init_segments: Vec<Segment>,
    /// Non-constant, non-stock variables in per-step order. Their segments
    /// are laid out back to back, so a step runs as this one range over
    /// `code`, with no per-variable dispatch.
    pub(crate) step_range: Segment,
    /// After each committed step: store PREVIOUS/DELAY inputs (one range, likewise).
    pub(crate) record_range: Segment,
    pub(crate) stocks: Vec<StockInfo>,
    /// The stocks with Vensim SINTEG restrictions (slot, restrictions),
    /// applied after the stocks move, apart from the loop moving them and
    /// not in [`StockInfo`]: a larger `StockInfo` made that loop a tenth
    /// slower on the 1,000-region arrayed SIR (3,000 stocks).
    pub(crate) limited: Vec<(u32, crate::ir::StockLimits)>,
    pub(crate) tables: Vec<Arc<GraphicalFunction>>,
    pub(crate) stateful: Vec<StatefulKind>,
    pub(crate) max_stack: usize,
    /// Visible slots in output order.
    pub(crate) outputs: Vec<u32>,
    /// Arrayed variables: shape and element slots.
    pub(crate) arrays: Vec<ArrayInfo>,
    /// Slots of the control variables that may change during a run.
    pub(crate) time_vars: TimeVars,
    /// The register form the batched engine runs (single runs included).
    pub(crate) regs: crate::sweep::regs::RegCache,
}

/// The slots of the dynamic sim specs ([`crate::ir::DynamicSpecs`]): the
/// VM reads FINAL TIME, TIME STEP and SAVEPER from these after each step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct TimeVars {
    pub stop: Option<u32>,
    pub dt: Option<u32>,
    pub save_step: Option<u32>,
}

impl TimeVars {
    pub(crate) fn is_empty(&self) -> bool {
        self.stop.is_none() && self.dt.is_none() && self.save_step.is_none()
    }

    /// The control variables a run with `opts` still reads from the model:
    /// a time setting the caller passes wins over the model's equation.
    pub(crate) fn unfixed_by(&self, opts: &RunOptions) -> TimeVars {
        TimeVars {
            stop: self.stop.filter(|_| opts.stop.is_none()),
            dt: self.dt.filter(|_| opts.dt.is_none()),
            save_step: self.save_step.filter(|_| opts.save_step.is_none()),
        }
    }
}

/// An arrayed variable as a whole: its shape and the slots of its elements.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayInfo {
    pub name: String,
    pub ident: String,
    /// Display name and element names of each dimension.
    pub dims: Vec<(String, Vec<String>)>,
    /// Element slots, row-major (last dimension fastest).
    pub slots: Vec<u32>,
}

impl ArrayInfo {
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().map(|(_, e)| e.len()).collect()
    }
}

fn push_segment(code: &mut Vec<Op>, var: usize, ops: Vec<Op>) -> Segment {
    let start = code.len() as u32;
    code.extend(ops);
    Segment {
        var: var as u32,
        start,
        end: code.len() as u32,
    }
}

/// One segment covering consecutive segments (empty when there are none).
fn span(segments: &[Segment]) -> Segment {
    match (segments.first(), segments.last()) {
        (Some(a), Some(b)) => Segment {
            var: u32::MAX,
            start: a.start,
            end: b.end,
        },
        _ => Segment {
            var: u32::MAX,
            start: 0,
            end: 0,
        },
    }
}

/// The deepest the operand stack gets while running `code`.
fn stack_depth(code: &[Op]) -> usize {
    let (mut depth, mut max) = (0isize, 0isize);
    for op in code {
        depth += match op {
            Op::Const(_) | Op::Load(_) | Op::Time | Op::Dt | Op::Start | Op::Stop => 1,
            Op::Neg | Op::Not | Op::Lookup(_) => 0,
            Op::TableFn(_, f) => -(f.two_inputs() as isize),
            Op::Store(_) | Op::Record(_) => -1,
            Op::Select => -2,
            Op::Call(_, n) => 1 - *n as isize,
            Op::Stateful(_, n) => 1 - *n as isize,
            _ => -1,
        };
        max = max.max(depth);
    }
    max.max(0) as usize + 1
}

impl CompiledModel {
    /// The SINTEG restrictions of the stock in `slot`, if it has any: an
    /// initial value given as an override is restricted as the model's
    /// own initial value is.
    pub(crate) fn limits_of(&self, slot: usize) -> Option<&crate::ir::StockLimits> {
        self.limited
            .iter()
            .find(|(s, _)| *s as usize == slot)
            .map(|(_, l)| l)
    }

    /// Compile the named model of a project (`None` = the main model).
    pub fn new(project: &Project, model: Option<&str>) -> Result<CompiledModel> {
        crate::with_deep_stack(|| Self::compile(project, model))
    }

    fn compile(project: &Project, model: Option<&str>) -> Result<CompiledModel> {
        let m = project.model(model).ok_or_else(|| Error::UnknownModel {
            name: model.unwrap_or("(main)").to_string(),
        })?;
        let flat = flatten(project, m)?;
        let compiled = Self::from_flat(project, m, &flat);
        // Freeing the flat model (every expression tree, node by node) is a
        // tenth of compiling C-LEARN; nothing waits for it.
        crate::drop_in_background(flat);
        compiled
    }

    /// Compile an already flattened model of `project` (its model `m`
    /// gives the sim specs): the loop analysis adds variables to the flat
    /// model before compiling it.
    pub(crate) fn from_flat(
        project: &Project,
        m: &crate::ir::Model,
        flat: &crate::compile::flatten::FlatModel,
    ) -> Result<CompiledModel> {
        let mut specs = m
            .sim_specs
            .clone()
            .unwrap_or_else(|| project.sim_specs.clone());
        if specs.save_step.is_none() {
            specs.save_step = project.sim_specs.save_step;
        }
        Self::from_flat_specs(project.dialect, specs, flat)
    }

    /// [`CompiledModel::from_flat`] with the dialect and sim specs given
    /// (a model compiled later, without its project at hand).
    pub(crate) fn from_flat_specs(
        dialect: crate::ir::Dialect,
        specs: SimSpecs,
        flat: &crate::compile::flatten::FlatModel,
    ) -> Result<CompiledModel> {
        let vars = &flat.vars;
        let n = vars.len();
        let mut tables = Vec::new();
        let table_of: Vec<Option<u32>> = vars
            .iter()
            .map(|v| {
                v.gf.as_ref().map(|gf| {
                    tables.push(Arc::new(gf.clone()));
                    (tables.len() - 1) as u32
                })
            })
            .collect();
        let slot_of = |name: &str, owner: &str| -> Result<usize> {
            flat.index
                .get(name)
                .copied()
                .ok_or_else(|| Error::UnknownVariable {
                    variable: owner.to_string(),
                    reference: name.to_string(),
                })
        };
        let mut stocks = Vec::new();
        let mut limited = Vec::new();
        for (i, v) in vars.iter().enumerate() {
            if let FlatKind::Stock {
                inflows,
                outflows,
                non_negative,
                limits,
            } = &v.kind
            {
                let ins = inflows
                    .iter()
                    .map(|f| slot_of(f, &v.name))
                    .collect::<Result<Vec<_>>>()?;
                let outs = outflows
                    .iter()
                    .map(|f| slot_of(f, &v.name))
                    .collect::<Result<Vec<_>>>()?;
                stocks.push(StockInfo {
                    slot: i as u32,
                    inflows: ins.iter().map(|&s| s as u32).collect(),
                    outflows: outs.iter().map(|&s| s as u32).collect(),
                    non_negative: *non_negative,
                });
                if let Some(l) = limits {
                    limited.push((i as u32, *l));
                }
            }
        }

        let mut t = Tables {
            vars,
            index: &flat.index,
            table_of: &table_of,
            stateful: Vec::new(),
            sites: HashMap::default(),
            records: Vec::new(),
            dialect,
        };
        let mut init_code = Vec::with_capacity(n);
        let mut step_code = Vec::with_capacity(n);
        let mut init_deps = Vec::with_capacity(n);
        let mut step_deps = Vec::with_capacity(n);
        let mut varying = Vec::with_capacity(n);
        for (i, v) in vars.iter().enumerate() {
            let is_stock = matches!(v.kind, FlatKind::Stock { .. });
            for phase in [Phase::Init, Phase::Step] {
                let mut g = Gen::new(&mut t, phase, i);
                if is_stock && phase == Phase::Step {
                    step_code.push(Vec::new());
                    step_deps.push(Vec::new());
                    continue;
                }
                // A lookup that is only called (a Vensim lookup, not output)
                // has no value: a constant NaN, never recomputed.
                let called_only = v.expr.is_none() && !v.visible;
                match &v.expr {
                    Some(e) => g.expr(e)?,
                    None if called_only => g.emit(Op::Const(f64::NAN)),
                    // A standalone graphical function's own value: its table at TIME.
                    None => {
                        g.expr(&crate::syntax::ast::Expr::Var(
                            "time".into(),
                            Default::default(),
                        ))?;
                    }
                }
                let mut out = std::mem::take(&mut g.out);
                if !is_stock && !called_only {
                    if let Some(tbl) = table_of[i] {
                        out.code.push(Op::Lookup(tbl));
                    }
                }
                if let FlatKind::Flow { non_negative: true } = v.kind {
                    out.code.push(Op::Call(builtins::Builtin::FloorZero, 1));
                }
                out.code.push(Op::Store(i as u32));
                match phase {
                    Phase::Init => {
                        init_code.push(out.code);
                        init_deps.push(out.deps);
                    }
                    Phase::Step => {
                        varying.push(out.time_varying);
                        step_code.push(out.code);
                        step_deps.push(out.deps);
                    }
                }
            }
            if is_stock {
                varying.push(true);
            }
        }
        let names = |i: usize| vars[i].name.clone();
        let init_order = topo_order(&init_deps, &vec![true; n], &names)?;
        let mut constant = vec![false; n];
        for &i in &init_order {
            let is_stock = matches!(vars[i].kind, FlatKind::Stock { .. });
            constant[i] = !is_stock && !varying[i] && step_deps[i].iter().all(|&d| constant[d]);
        }
        let in_step: Vec<bool> = (0..n)
            .map(|i| !constant[i] && !matches!(vars[i].kind, FlatKind::Stock { .. }))
            .collect();
        let step_order = topo_order(&step_deps, &in_step, &names)?;

        let mut code = Vec::new();
        let mut init_code: Vec<Option<Vec<Op>>> = init_code.into_iter().map(Some).collect();
        let mut step_code: Vec<Option<Vec<Op>>> = step_code.into_iter().map(Some).collect();
        let init_segments = init_order
            .iter()
            .map(|&i| push_segment(&mut code, i, init_code[i].take().unwrap_or_default()))
            .collect();
        let step_segments: Vec<Segment> = step_order
            .iter()
            .map(|&i| push_segment(&mut code, i, step_code[i].take().unwrap_or_default()))
            .collect();
        let records = std::mem::take(&mut t.records);
        let record_segments: Vec<Segment> = records
            .into_iter()
            .map(|(id, ops)| push_segment(&mut code, id as usize, ops))
            .collect();
        let stateful = std::mem::take(&mut t.stateful);
        let max_stack = stack_depth(&code);

        let infos: Vec<VarInfo> = vars
            .iter()
            .enumerate()
            .map(|(i, v)| VarInfo {
                name: v.name.clone(),
                ident: v.ident.clone(),
                kind: match v.kind {
                    FlatKind::Stock { .. } => SlotKind::Stock,
                    FlatKind::Flow { .. } => SlotKind::Flow,
                    FlatKind::Aux => SlotKind::Aux,
                },
                visible: v.visible,
                constant: constant[i],
                table: table_of[i],
            })
            .collect();
        let outputs = (0..n)
            .filter(|&i| vars[i].visible)
            .map(|i| i as u32)
            .collect();
        let arrays = flat
            .arrays
            .iter()
            .map(|a| {
                let slots = a
                    .elements
                    .iter()
                    .map(|e| slot_of(e, &a.name).map(|s| s as u32))
                    .collect::<Result<Vec<_>>>()?;
                Ok(ArrayInfo {
                    name: a.name.clone(),
                    ident: a.ident.clone(),
                    dims: a.dims.clone(),
                    slots,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let index = flat
            .index
            .iter()
            .map(|(k, &v)| (k.clone(), v as u32))
            .collect();
        let slot_of = |ident: &Option<String>| {
            ident
                .as_deref()
                .and_then(|i| flat.index.get(i))
                .map(|&s| s as u32)
        };
        let time_vars = TimeVars {
            stop: slot_of(&specs.dynamic.stop),
            dt: slot_of(&specs.dynamic.dt),
            save_step: slot_of(&specs.dynamic.save_step),
        };
        Ok(CompiledModel {
            specs,
            vars: infos,
            index,
            code,
            init_segments,
            step_range: span(&step_segments),
            record_range: span(&record_segments),
            limited,
            stocks,
            tables,
            stateful,
            max_stack,
            outputs,
            arrays,
            time_vars,
            regs: Default::default(),
        })
    }

    pub fn sim_specs(&self) -> &SimSpecs {
        &self.specs
    }

    /// The rough size of a run with `opts`, in variable-steps (infinite
    /// when the model moves its own stop time or step): for callers that
    /// choose how to wait for a run, not a promise of its cost.
    pub fn run_size(&self, opts: &RunOptions) -> f64 {
        if !self.time_vars.unfixed_by(opts).is_empty() {
            return f64::INFINITY;
        }
        let start = opts.start.unwrap_or(self.specs.start);
        let stop = opts.stop.unwrap_or(self.specs.stop);
        let dt = opts.dt.unwrap_or(self.specs.dt);
        let steps = ((stop - start) / dt).abs();
        if steps.is_finite() {
            steps * self.vars.len() as f64
        } else {
            f64::INFINITY
        }
    }

    /// Display names of every visible variable, in output order.
    pub fn output_names(&self) -> Vec<&str> {
        self.outputs
            .iter()
            .map(|&i| self.vars[i as usize].name.as_str())
            .collect()
    }

    /// All variables (visible and hidden), indexed by slot.
    pub fn variables(&self) -> &[VarInfo] {
        &self.vars
    }

    /// Every arrayed variable's shape and element slots, in source order.
    pub fn arrays(&self) -> &[ArrayInfo] {
        &self.arrays
    }

    /// An arrayed variable by any spelling of its name.
    pub fn array(&self, name: &str) -> Option<&ArrayInfo> {
        let id = canonicalize(name);
        self.arrays.iter().find(|a| a.ident == id)
    }

    /// Slot of a variable by any spelling of its name.
    pub fn slot(&self, name: &str) -> Option<usize> {
        self.index.get(&canonicalize(name)).map(|&s| s as usize)
    }

    /// The variables that `(x, y)` points would feed as a time series
    /// rather than as a graphical function's table: the name (as the model
    /// writes it; sorted, once) of each visible variable of this model
    /// given points (on itself or, for an arrayed one, on any element) that
    /// has no table. Compile the model again with
    /// [`crate::ir::inputs::with_series_inputs`] for those names and the
    /// same points become the series. Names that are tables, arrays or
    /// unknown are left to the run, which accepts or refuses them as
    /// before.
    pub fn series_inputs<'a>(&self, tables: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        // An arrayed variable is fed whole (one element's points feed its
        // variable too): every element must be without a table.
        let plain_array = |a: &ArrayInfo| {
            a.slots
                .iter()
                .all(|&s| self.vars[s as usize].table.is_none())
                .then(|| a.name.clone())
        };
        let mut names: Vec<String> = tables
            .into_iter()
            .filter_map(|name| {
                if let Some(array) = self.array(name) {
                    return plain_array(array);
                }
                let slot = self.slot(name)?;
                let var = &self.vars[slot];
                if !var.visible || var.table.is_some() {
                    return None;
                }
                match self
                    .arrays
                    .iter()
                    .find(|a| a.slots.contains(&(slot as u32)))
                {
                    Some(array) => plain_array(array),
                    None => Some(var.name.clone()),
                }
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Number of ops in the compiled program (for benchmarks and tests).
    pub fn code_len(&self) -> usize {
        self.code.len()
    }

    /// Whether the model draws random numbers (its runs depend on the seed).
    pub fn is_stochastic(&self) -> bool {
        self.stateful
            .iter()
            .any(|k| matches!(k, StatefulKind::Random(_)))
    }

    /// Run to the end with the given options.
    pub fn run(self: &CompiledModel, opts: &RunOptions) -> Result<Results> {
        // The one-lane batched engine, unless the time axis moves mid-run.
        if let Some(results) = crate::sweep::single::run(self, opts)? {
            return Ok(results);
        }
        let mut sim = crate::vm::SimOf::with_model_ref(self, opts)?;
        sim.run_to_end()?;
        Ok(sim.into_results())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_arrays;
#[cfg(test)]
mod tests_isee;
#[cfg(test)]
mod tests_vector;
#[cfg(test)]
mod tests_vensim;
#[cfg(test)]
mod tests_vensim_fns;
