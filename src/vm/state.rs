//! One run's options, saved results and time rules, over the one-lane
//! engine that computes it.
//!
//! A [`RunState`] owns everything a run changes (the one-lane
//! [`Lanes`] with its values and stateful-op state, its own copies of
//! overridden tables, saved results) and borrows the compiled model per
//! call, so any number of runs share one [`CompiledModel`]. The arithmetic
//! is the batched engine's, so a stepwise run gives the numbers of a whole
//! run or a sweep bit for bit. What is left here is what only a stepwise run
//! has: values set between steps, and sim specs the model computes while it
//! runs. Time advances in whole steps (`time = start + step * dt`, never
//! accumulated), so long runs do not drift.

use std::sync::Arc;

use crate::compile::{CompiledModel, SlotKind, TimeVars};
use crate::error::{Error, Result};
use crate::ir::{GraphicalFunction, Method};
use crate::results::{ArrayColumns, Results, Staged};
use crate::sweep::lanes::{LaneInputs, Lanes};
use crate::sweep::TableInputs;
use crate::vm::{Override, RunOptions};

pub(crate) struct RunState {
    /// The run's values and the engine that advances them.
    pub(crate) lanes: Lanes<1>,
    /// The run's graphical functions: the model's, unless replaced.
    pub(crate) tables: Vec<Arc<GraphicalFunction>>,
    /// Per slot: the run's fixed value (empty when the run overrides nothing).
    pub(crate) overrides: Vec<Option<f64>>,
    /// The time axis the run starts with (a computed TIME STEP or FINAL
    /// TIME may change the lanes' copy while it runs).
    grid: TimeGrid,
    pub(crate) seed: u64,
    pub(crate) initialized: bool,
    pub(crate) outputs: Vec<u32>,
    pub(crate) results: Results,
    /// Saved rows not yet in `results.columns` (see [`Staged`]).
    staged: Staged,
    /// Control variables read from the run (those the caller did not fix).
    dynamic: TimeVars,
    /// With dynamic specs: the next time to save at, and the fixed save
    /// interval used when SAVEPER itself is not dynamic.
    next_save: f64,
    save_step: f64,
    /// A dynamic spec that took an unusable value ends the run with this.
    pub(crate) fault: Option<Error>,
}

/// The most steps one run may take (a guard against a tiny dt).
const MAX_STEPS: f64 = 1e9;

/// Most a run whose stop time is computed while running may save (the row
/// count is unknown up front, so this guards the machine: on Linux a large
/// allocation "succeeds" and the process is killed later instead).
const MAX_GROWN_RESULTS_BYTES: u128 = 8 << 30;

fn bad_time(message: String) -> Error {
    Error::BadTimeSpec { message }
}

/// What one override sets: slots and their values, or new points for one
/// or more graphical functions (table index and variable name each: an
/// arrayed variable's points go to every element).
pub(crate) enum Targets<'o> {
    Values(Vec<(usize, f64)>),
    Tables {
        tables: Vec<(usize, String)>,
        points: &'o [(f64, f64)],
    },
}

/// Resolve an override by name: a scalar variable's slot, every element of
/// an arrayed variable (one value for all, or one value each, row-major),
/// or a graphical function. Does not check that the slots may be set.
pub(crate) fn override_targets<'o>(
    m: &CompiledModel,
    name: &str,
    value: &'o Override,
) -> Result<Targets<'o>> {
    let slot = m.slot(name).filter(|&s| m.vars[s].visible);
    if let (None, Some(array)) = (slot, m.array(name)) {
        let slots = array.slots.iter().map(|&s| s as usize);
        return match value {
            Override::Value(v) => Ok(Targets::Values(slots.map(|s| (s, *v)).collect())),
            Override::Array(values) if values.len() == array.slots.len() => {
                Ok(Targets::Values(slots.zip(values.iter().copied()).collect()))
            }
            Override::Array(values) => Err(Error::BadOverride {
                variable: array.name.clone(),
                message: format!(
                    "expected {} values (shape {:?}), got {}",
                    array.slots.len(),
                    array.shape(),
                    values.len()
                ),
            }),
            Override::Table(points) => {
                // Every element a graphical function (a time-series input
                // is one): the same points for each.
                let tables: Option<Vec<(usize, String)>> = array
                    .slots
                    .iter()
                    .map(|&s| {
                        let var = &m.vars[s as usize];
                        var.table.map(|t| (t as usize, var.name.clone()))
                    })
                    .collect();
                match tables {
                    Some(tables) => Ok(Targets::Tables { tables, points }),
                    None => Err(Error::BadOverride {
                        variable: array.name.clone(),
                        message: "override one element's graphical function, e.g. 'name[element]'"
                            .into(),
                    }),
                }
            }
        };
    }
    let slot = slot.ok_or_else(|| Error::BadOverride {
        variable: name.to_string(),
        message: "no such variable in the model".into(),
    })?;
    let var = &m.vars[slot];
    match value {
        Override::Value(v) => Ok(Targets::Values(vec![(slot, *v)])),
        Override::Array(_) => Err(Error::BadOverride {
            variable: var.name.clone(),
            message: "a list of values needs an arrayed variable".into(),
        }),
        Override::Table(points) => {
            let t = var.table.ok_or_else(|| Error::BadOverride {
                variable: var.name.clone(),
                message: "not a graphical function".into(),
            })?;
            Ok(Targets::Tables {
                tables: vec![(t as usize, var.name.clone())],
                points,
            })
        }
    }
}

/// Only constants and stocks can be given values (at the start of a run,
/// a stock's initial value; between steps, its current value).
pub(crate) fn check_settable(m: &CompiledModel, slot: usize) -> Result<()> {
    let var = &m.vars[slot];
    if var.constant || var.kind == SlotKind::Stock {
        Ok(())
    } else {
        Err(Error::BadOverride {
            variable: var.name.clone(),
            message: "only constants and stocks can be set (its equation depends on other variables or time)".into(),
        })
    }
}

impl RunState {
    pub(crate) fn new(m: &CompiledModel, opts: &RunOptions) -> Result<RunState> {
        let grid = TimeGrid::resolve(m, opts)?;
        let TimeGrid {
            start,
            dt,
            n_steps,
            save_every,
            ..
        } = grid;
        let n = m.vars.len();
        let mut tables = m.tables.clone();
        let mut overrides = Vec::new();
        let mut set_value = |slot: usize, v: f64| -> Result<()> {
            check_settable(m, slot)?;
            if overrides.is_empty() {
                overrides = vec![None; n];
            }
            overrides[slot] = Some(v);
            Ok(())
        };
        for (name, value) in &opts.overrides {
            match override_targets(m, name, value)? {
                Targets::Values(values) => {
                    for (slot, v) in values {
                        set_value(slot, v)?;
                    }
                }
                Targets::Tables {
                    tables: targets,
                    points,
                } => {
                    for (table, gf) in tables_from_points(m, &targets, points)? {
                        tables[table] = gf;
                    }
                }
            }
        }
        crate::ir::inputs::unfed_input(m, |t| !Arc::ptr_eq(&tables[t], &m.tables[t]))?;
        let outputs: Vec<u32> = match &opts.outputs {
            None => m.outputs.clone(),
            Some(names) => output_slots(m, names)?,
        };
        let column_of: std::collections::HashMap<u32, usize> =
            outputs.iter().enumerate().map(|(i, &s)| (s, i)).collect();
        let arrays = m
            .arrays
            .iter()
            .filter_map(|a| {
                let columns = a
                    .slots
                    .iter()
                    .map(|s| column_of.get(s).copied())
                    .collect::<Option<Vec<_>>>()?;
                Some(ArrayColumns {
                    name: a.name.clone(),
                    dims: a.dims.clone(),
                    columns,
                })
            })
            .collect();
        // Storage for every save, reserved up front when the grid is fixed:
        // a run that asks for more than the machine has fails here, typed.
        let rows = if m.time_vars.stop.is_none() && m.time_vars.save_step.is_none() {
            (n_steps / save_every.max(1) + 1) as usize
        } else {
            0
        };
        let what = || format!("{rows} saved rows of {} outputs", outputs.len());
        let mut columns = Vec::with_capacity(outputs.len());
        for _ in &outputs {
            columns.push(crate::buffers::reserved(rows, &what())?);
        }
        let results = Results {
            names: outputs
                .iter()
                .map(|&i| m.vars[i as usize].name.clone())
                .collect(),
            times: crate::buffers::reserved(rows, &what())?,
            columns,
            arrays,
        };
        let dynamic = m.time_vars.unfixed_by(opts);
        Ok(RunState {
            lanes: Lanes::new(m, grid),
            staged: Staged::new(outputs.len()),
            tables,
            overrides,
            grid,
            seed: opts.seed,
            initialized: false,
            outputs,
            results,
            dynamic,
            next_save: start,
            save_step: opts.save_step.or(m.specs.save_step).unwrap_or(dt),
            fault: None,
        })
    }

    /// Run on the reference form of the step code (see `Lanes::set_reference`).
    pub(crate) fn reference(&mut self) {
        self.lanes.set_reference();
    }

    /// The time grid this run was set up with.
    pub(crate) fn grid(&self) -> TimeGrid {
        self.grid
    }

    /// The run's fixed values and replaced tables, as the engine takes them.
    pub(crate) fn inputs(&self, m: &CompiledModel) -> (Vec<(u32, f64)>, TableInputs) {
        let values = self
            .overrides
            .iter()
            .enumerate()
            .filter_map(|(s, v)| v.map(|v| (s as u32, v)))
            .collect();
        let tables = self
            .tables
            .iter()
            .zip(&m.tables)
            .enumerate()
            .filter(|(_, (mine, model))| !Arc::ptr_eq(mine, model))
            .map(|(t, (mine, _))| (t as u32, mine.clone()))
            .collect();
        (values, tables)
    }

    pub(crate) fn time(&self) -> f64 {
        self.lanes.time()
    }

    pub(crate) fn dt(&self) -> f64 {
        self.lanes.dt()
    }

    /// Steps taken since the initial time.
    pub(crate) fn step(&self) -> u64 {
        self.lanes.step()
    }

    /// About how many variable-steps advancing to time `t` takes (to
    /// choose how to wait for it); unbounded when the model computes its
    /// own FINAL TIME or TIME STEP.
    pub(crate) fn work_to(&self, m: &CompiledModel, t: f64) -> f64 {
        if !self.dynamic.is_empty() {
            return f64::INFINITY;
        }
        // `min` takes the stop time for a NaN target (which `run_to` refuses).
        let steps = (t.min(self.lanes.stop()) - self.time()) / self.dt();
        steps.max(0.0) * m.vars.len() as f64
    }

    /// A variable's current value.
    pub(crate) fn value(&self, slot: usize) -> f64 {
        self.lanes.value(slot as u32, 0)
    }

    pub(crate) fn saves_now(&self) -> bool {
        if self.dynamic.is_empty() {
            self.lanes.saves_now()
        } else {
            self.is_done() || self.time() >= self.next_save - self.dt() * 1e-9
        }
    }

    /// Back to the start: clear everything but the run's options (the
    /// engine starts again at [`RunState::initialize`]).
    pub(crate) fn reset(&mut self) {
        self.next_save = self.grid.start;
        self.fault = None;
        self.initialized = false;
        self.results.times.clear();
        self.results.columns.iter_mut().for_each(Vec::clear);
        self.staged.clear();
    }

    /// Compute every variable at the start time and save it.
    pub(crate) fn initialize(&mut self, m: &CompiledModel) {
        let (values, tables) = self.inputs(m);
        self.lanes.set_grid(m, self.grid);
        self.lanes.load(
            m,
            &[LaneInputs {
                values: &values,
                tables: &tables,
                seed: self.seed,
            }],
        );
        // The initial phase seeds stocks and stateful ops; what is reported
        // at the start time is the ordinary equations evaluated then (Vensim
        // ACTIVE INITIAL shows its active value at t0, not the initial one).
        self.lanes.initialize(m);
        self.initialized = true;
        self.next_save = self.grid.start;
        self.read_dynamic(m);
        self.save();
    }

    /// Give a constant a new value between steps (it stays for a reset).
    pub(crate) fn set_constant(&mut self, m: &CompiledModel, slot: usize, v: f64) {
        if self.overrides.is_empty() {
            self.overrides = vec![None; m.vars.len()];
        }
        self.overrides[slot] = Some(v);
        self.lanes.fix(slot as u32, 0, v);
    }

    /// Set a stock's current value between steps.
    pub(crate) fn set_stock(&mut self, slot: usize, v: f64) {
        self.lanes.lanes_of_mut(slot as u32)[0] = v;
    }

    /// Replace a graphical function (from now on; it stays for a reset).
    pub(crate) fn set_table(&mut self, table: usize, gf: Arc<GraphicalFunction>) {
        self.tables[table] = gf.clone();
        self.lanes.set_table(table as u32, 0, gf);
    }

    /// Recompute the constants (after `set_value` on one of them) and the
    /// per-step variables at the current time.
    pub(crate) fn refresh(&mut self, m: &CompiledModel) {
        self.lanes.refresh(m);
    }

    /// With dynamic sim specs: take FINAL TIME, TIME STEP and SAVEPER as
    /// the model computed them at the current time. A value no run could
    /// use (not a number, a step that is not positive, too many steps left)
    /// ends the run with a `BadTimeSpec` fault naming the variable.
    fn read_dynamic(&mut self, m: &CompiledModel) {
        if self.dynamic.is_empty() {
            return;
        }
        let lanes = &self.lanes;
        let read =
            |slot: Option<u32>| slot.map(|s| (m.vars[s as usize].name.as_str(), lanes.value(s, 0)));
        let (stop_now, dt_now, save_now) = (
            read(self.dynamic.stop),
            read(self.dynamic.dt),
            read(self.dynamic.save_step),
        );
        let at = self.time();
        if let Some((name, stop)) = stop_now {
            if stop.is_nan() {
                return self.fail(format!("{name} is NaN at time {at}"));
            }
            self.lanes.set_stop(m, stop);
        }
        if let Some((name, dt)) = dt_now {
            if !(dt > 0.0 && dt.is_finite()) {
                return self.fail(format!(
                    "{name} must be a positive number, got {dt} at time {at}"
                ));
            }
            if dt != self.dt() {
                let indexed = m.stateful.iter().any(|k| k.indexed_by_step());
                if indexed && self.initialized {
                    return self.fail(format!(
                        "{name} changes from {} to {dt} at time {at}, which DELAY FIXED, DELAY MATERIAL, DELAY INFORMATION, DEPRECIATE STRAIGHTLINE and DELAY with a recorded input do not support",
                        self.dt()
                    ));
                }
                self.lanes.retime(m, dt);
            }
        }
        // A stop time that moves with the run (`FINAL TIME = Time + 10`)
        // must still end: the same bound on the steps taken so far.
        let (stop, dt) = (self.lanes.stop(), self.dt());
        if self.step() as f64 >= MAX_STEPS {
            return self.fail(format!(
                "the run reached {MAX_STEPS} steps at time {at} and the stop time ({stop}) keeps moving"
            ));
        }
        if (stop - at) / dt > MAX_STEPS {
            return self.fail(format!(
                "{} steps of {dt} from time {at} to {stop} is too many",
                (stop - at) / dt
            ));
        }
        if let Some((name, save)) = save_now {
            if !(save > 0.0 && save.is_finite()) {
                self.fail(format!(
                    "{name} must be a positive number, got {save} at time {at}"
                ));
            }
        }
    }

    fn fail(&mut self, message: String) {
        self.fault = Some(bad_time(message));
    }

    /// The save interval in force now (dynamic specs only).
    fn save_step_now(&self) -> f64 {
        match self.dynamic.save_step {
            Some(s) => self.lanes.value(s, 0),
            None => self.save_step,
        }
    }

    fn save(&mut self) {
        if !self.saves_now() {
            return;
        }
        if !self.dynamic.is_empty() {
            self.next_save = self.time() + self.save_step_now();
        }
        // Grow without aborting when the machine runs out (a stop time
        // computed while running has no row count up front).
        if self.results.times.len() == self.results.times.capacity() {
            let more = self.results.times.len().max(64);
            let bytes = (self.results.times.len() + more) as u128
                * (self.outputs.len() as u128 + 1)
                * std::mem::size_of::<f64>() as u128;
            let ok = bytes <= MAX_GROWN_RESULTS_BYTES
                && self.results.times.try_reserve(more).is_ok()
                && self
                    .results
                    .columns
                    .iter_mut()
                    .all(|c| c.try_reserve(more).is_ok());
            if !ok {
                self.fault = Some(Error::OutOfMemory {
                    what: format!(
                        "more than {} saved rows of {} outputs",
                        self.results.times.len(),
                        self.outputs.len()
                    ),
                    bytes: (self.results.times.len() as u128 + more as u128)
                        * (self.outputs.len() as u128 + 1)
                        * 8,
                });
                return;
            }
        }
        self.results.times.push(self.lanes.time());
        let lanes = &self.lanes;
        self.staged.push(
            self.outputs.iter().map(|&s| lanes.value(s, 0)),
            &mut self.results.columns,
        );
    }

    pub(crate) fn is_done(&self) -> bool {
        if self.dynamic.is_empty() {
            self.initialized && self.lanes.is_done()
        } else {
            // The same rule as the fixed grid's step count: one more step
            // only if it ends within the stop time (to a millionth of a step).
            let dt = self.dt();
            self.initialized
                && (self.fault.is_some() || self.time() + dt > self.lanes.stop() + dt * 1e-6)
        }
    }

    /// The results saved so far (staged rows included).
    pub(crate) fn results(&self) -> Results {
        let mut r = self.results.clone();
        self.staged.copy_into(&mut r.columns);
        r
    }

    /// The results, without copying.
    pub(crate) fn into_results(mut self) -> Results {
        self.staged.flush(&mut self.results.columns);
        self.results
    }

    /// Advance one dt with the run's method, then compute, record and save
    /// the new time's values.
    pub(crate) fn step_once(&mut self, m: &CompiledModel) {
        self.lanes.step_once(m);
        self.read_dynamic(m);
        self.save();
    }
}

/// The slots of the named outputs (any spelling); an arrayed variable's
/// name selects all its elements.
pub(crate) fn output_slots(m: &CompiledModel, names: &[String]) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for name in names {
        match m.slot(name).filter(|&s| m.vars[s].visible) {
            Some(s) => out.push(s as u32),
            None => match m.array(name) {
                Some(a) => out.extend(&a.slots),
                None => {
                    return Err(Error::UnknownOutput {
                        variable: name.clone(),
                    })
                }
            },
        }
    }
    Ok(out)
}

/// True when step `step` of `n_steps` is a save point.
#[inline]
pub(crate) fn saves(step: u64, save_every: u64, n_steps: u64) -> bool {
    step.is_multiple_of(save_every) || step == n_steps
}

/// A run's resolved time axis: the model's sim specs with the caller's
/// overrides, validated once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TimeGrid {
    pub start: f64,
    pub stop: f64,
    pub dt: f64,
    pub n_steps: u64,
    pub save_every: u64,
    pub method: Method,
}

impl TimeGrid {
    pub(crate) fn resolve(m: &CompiledModel, opts: &RunOptions) -> Result<TimeGrid> {
        let spec = &m.specs;
        let start = opts.start.unwrap_or(spec.start);
        let stop = opts.stop.unwrap_or(spec.stop);
        let dt = opts.dt.unwrap_or(spec.dt);
        let save_step = opts.save_step.or(spec.save_step).unwrap_or(dt);
        if !(start.is_finite() && stop.is_finite() && dt.is_finite() && save_step.is_finite()) {
            return Err(bad_time(
                "start, stop, dt and save_step must be finite numbers".into(),
            ));
        }
        if dt <= 0.0 {
            return Err(bad_time(format!("dt must be positive, got {dt}")));
        }
        if stop < start {
            return Err(bad_time(format!("stop ({stop}) is before start ({start})")));
        }
        if save_step <= 0.0 {
            return Err(bad_time(format!(
                "save_step must be positive, got {save_step}"
            )));
        }
        let n_steps = ((stop - start) / dt + 1e-6).floor();
        if n_steps > MAX_STEPS {
            return Err(bad_time(format!(
                "{n_steps} steps is too many (dt too small?)"
            )));
        }
        let save_every = ((save_step / dt).round() as u64).max(1);
        Ok(TimeGrid {
            start,
            stop,
            dt,
            n_steps: n_steps as u64,
            save_every,
            method: opts.method.unwrap_or(spec.method),
        })
    }

    /// The saved times, in order.
    pub(crate) fn save_times(&self) -> Vec<f64> {
        (0..=self.n_steps)
            .filter(|&k| saves(k, self.save_every, self.n_steps))
            .map(|k| self.start + k as f64 * self.dt)
            .collect()
    }
}

/// Validate and build a replacement table, keeping the original's kind.
/// New tables for `targets` (table index, variable name) from the same
/// `points`: checked and built once per kind of table and shared, so the
/// elements of an arrayed input get one table, not one copy each.
pub(crate) fn tables_from_points(
    m: &CompiledModel,
    targets: &[(usize, String)],
    points: &[(f64, f64)],
) -> Result<Vec<(usize, Arc<GraphicalFunction>)>> {
    let mut built: Vec<Arc<GraphicalFunction>> = Vec::new();
    targets
        .iter()
        .map(|(table, variable)| {
            let original = &m.tables[*table];
            let gf = match built.iter().find(|g| g.kind == original.kind) {
                Some(g) => g.clone(),
                None => {
                    let g = Arc::new(table_from_points(variable, points, original)?);
                    built.push(g.clone());
                    g
                }
            };
            Ok((*table, gf))
        })
        .collect()
}

pub(crate) fn table_from_points(
    name: &str,
    points: &[(f64, f64)],
    original: &GraphicalFunction,
) -> Result<GraphicalFunction> {
    if points.is_empty() {
        return Err(Error::BadOverride {
            variable: name.to_string(),
            message: "a graphical function needs at least one point".into(),
        });
    }
    if let Some(w) = points
        .windows(2)
        .position(|w| w[0].0.partial_cmp(&w[1].0) != Some(std::cmp::Ordering::Less))
    {
        return Err(Error::BadOverride {
            variable: name.to_string(),
            message: format!(
                "x values must be strictly ascending (point {} has x={} after x={})",
                w + 1,
                points[w + 1].0,
                points[w].0
            ),
        });
    }
    if points.iter().any(|(x, y)| !x.is_finite() || y.is_nan()) {
        return Err(Error::BadOverride {
            variable: name.to_string(),
            message: "graphical function points must be finite numbers".into(),
        });
    }
    Ok(GraphicalFunction {
        kind: original.kind,
        xs: points.iter().map(|p| p.0).collect(),
        ys: points.iter().map(|p| p.1).collect(),
    })
}
