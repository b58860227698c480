//! Stage 5, vm: runs a [`CompiledModel`] with Euler, RK2 or RK4.
//!
//! [`Sim`] is the stepwise API (run to a time, read and set values, reset);
//! [`CompiledModel::run`] is the one-shot path. Both run on the batched
//! engine's one-lane case ([`crate::sweep::lanes`]); a [`state::RunState`]
//! is all a stepwise run owns: the compiled model is only borrowed, so
//! thousands of runs can share it.

pub mod random;
pub(crate) mod state;
pub(crate) mod stateful;
pub mod table;
#[cfg(test)]
mod tests_overrides;
#[cfg(test)]
mod tests_time;

use std::sync::Arc;

use crate::compile::{CompiledModel, SlotKind};
use crate::error::{Error, Result};
use crate::ir::Method;
use crate::results::Results;
use state::RunState;

/// A per-run replacement for a constant, a stock's initial value, or a
/// graphical function's points. Never triggers recompilation.
#[derive(Clone, Debug, PartialEq)]
pub enum Override {
    Value(f64),
    /// New (x, y) points for a graphical function; x must be ascending.
    Table(Vec<(f64, f64)>),
    /// One value per element of an arrayed constant or stock, row-major
    /// (last dimension fastest). A plain `Value` on an array sets every element.
    Array(Vec<f64>),
}

/// Everything a single run may change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOptions {
    /// `(variable name in any spelling, value)`.
    pub overrides: Vec<(String, Override)>,
    pub method: Option<Method>,
    pub start: Option<f64>,
    pub stop: Option<f64>,
    pub dt: Option<f64>,
    pub save_step: Option<f64>,
    /// Output variables (any spelling); `None` = every visible variable.
    pub outputs: Option<Vec<String>>,
    /// Seed for the stochastic builtins; the same seed gives the same run.
    pub seed: u64,
    /// Set from another thread to stop the run: it ends with
    /// [`Error::Cancelled`] within a few steps (Ctrl-C in Python).
    pub cancel: Option<Cancel>,
}

/// A flag another thread raises to stop a run or a stepwise simulation.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Ask the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Lower the flag again (before the next call that uses it).
    pub fn clear(&self) {
        self.0.store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Options compare by their values; a cancel flag by identity.
impl PartialEq for Cancel {
    fn eq(&self, other: &Cancel) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Either an owned handle on the compiled model (for [`Sim`]) or a borrow
/// (for one-shot runs that need no `Arc`).
enum ModelRef<'a> {
    Shared(Arc<CompiledModel>),
    Borrowed(&'a CompiledModel),
}

impl ModelRef<'_> {
    fn get(&self) -> &CompiledModel {
        match self {
            ModelRef::Shared(m) => m,
            ModelRef::Borrowed(m) => m,
        }
    }
}

/// A stepwise simulation: one run's state over a shared compiled model.
pub struct SimOf<'a> {
    model: ModelRef<'a>,
    state: RunState,
    cancel: Option<Cancel>,
}

/// The stepwise simulation most callers hold: owns an `Arc` of the model.
pub type Sim = SimOf<'static>;

impl SimOf<'static> {
    /// Start a run: computes the initial values at once.
    pub fn new(model: Arc<CompiledModel>, opts: &RunOptions) -> Result<Sim> {
        let state = RunState::new(&model, opts)?;
        Ok(SimOf::start(ModelRef::Shared(model), state, opts))
    }

    /// A stepwise run that executes each step's code as the compiler
    /// emitted it (stack form, no array runs, no folded constants): the
    /// reference the engine's rewrites are tested against
    /// (`tests/one_engine.rs`). Slower; same numbers bit for bit.
    #[doc(hidden)]
    pub fn new_reference(model: Arc<CompiledModel>, opts: &RunOptions) -> Result<Sim> {
        let mut state = RunState::new(&model, opts)?;
        state.reference();
        Ok(SimOf::start(ModelRef::Shared(model), state, opts))
    }
}

impl<'a> SimOf<'a> {
    pub(crate) fn with_model_ref(model: &'a CompiledModel, opts: &RunOptions) -> Result<SimOf<'a>> {
        let state = RunState::new(model, opts)?;
        Ok(SimOf::start(ModelRef::Borrowed(model), state, opts))
    }

    /// A run over `model` from `state`, initialised.
    fn start(model: ModelRef<'a>, state: RunState, opts: &RunOptions) -> SimOf<'a> {
        let mut sim = SimOf {
            model,
            state,
            cancel: opts.cancel.clone(),
        };
        sim.init();
        sim
    }

    fn init(&mut self) {
        let m = self.model.get();
        self.state.initialize(m);
    }

    /// The fault that ended the run early (a dynamic time spec with an
    /// unusable value), if any.
    fn check_finite(&self) -> Result<()> {
        match &self.state.fault {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Current simulation time.
    pub fn time(&self) -> f64 {
        self.state.time()
    }

    /// True once the stop time is reached.
    pub fn is_done(&self) -> bool {
        self.state.is_done()
    }

    /// Advance until time >= `t` (clamped to the stop time).
    pub fn run_to(&mut self, t: f64) -> Result<()> {
        if t.is_nan() {
            return Err(Error::BadTimeSpec {
                message: "run_to needs a number, got NaN".into(),
            });
        }
        let m = self.model.get();
        let eps = self.state.dt() * 1e-9;
        let mut n: u32 = 0;
        while !self.state.is_done() && self.state.time() + eps < t {
            self.state.step_once(m);
            n = n.wrapping_add(1);
            if n.is_multiple_of(64) && self.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
                return Err(Error::Cancelled);
            }
        }
        self.check_finite()
    }

    /// About how many variable-steps [`SimOf::run_to`] `t` would compute
    /// (infinite when the model computes its own FINAL TIME or TIME STEP):
    /// callers wait for short calls on their own thread.
    pub fn work_to(&self, t: f64) -> f64 {
        self.state.work_to(self.model.get(), t)
    }

    /// The flag that stops [`SimOf::run_to`] from another thread (made on
    /// first use; a run's own [`RunOptions::cancel`] if it had one).
    pub fn cancel_flag(&mut self) -> Cancel {
        self.cancel.get_or_insert_with(Cancel::new).clone()
    }

    pub fn run_to_end(&mut self) -> Result<()> {
        self.run_to(f64::INFINITY)
    }

    /// Back to the initial time, keeping this run's overrides and any
    /// values set with [`SimOf::set_value`] on constants.
    pub fn reset(&mut self) -> Result<()> {
        self.state.reset();
        self.init();
        Ok(())
    }

    fn slot(&self, name: &str) -> Result<usize> {
        let m = self.model.get();
        m.slot(name)
            .filter(|&s| m.vars[s].visible)
            .ok_or_else(|| Error::UnknownOutput {
                variable: name.to_string(),
            })
    }

    /// Current value of any variable.
    pub fn get_value(&self, name: &str) -> Result<f64> {
        Ok(self.state.value(self.slot(name)?))
    }

    /// Current values of a whole arrayed variable: its shape and the
    /// element values, row-major (last dimension fastest).
    pub fn get_array(&self, name: &str) -> Result<(Vec<usize>, Vec<f64>)> {
        let m = self.model.get();
        let array = m.array(name).ok_or_else(|| Error::UnknownOutput {
            variable: name.to_string(),
        })?;
        let values = array
            .slots
            .iter()
            .map(|&s| self.state.value(s as usize))
            .collect();
        Ok((array.shape(), values))
    }

    /// The shape of an arrayed variable (`None` for a scalar or unknown name).
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.model.get().array(name).map(|a| a.shape())
    }

    /// Set a constant, or a stock's current value, between steps. At the
    /// initial time (before any step, also right after [`SimOf::reset`]) it
    /// acts as a run override: the run initializes again from it. Later,
    /// values computed from it are refreshed at the current time. An arrayed
    /// variable's name sets every element.
    pub fn set_value(&mut self, name: &str, v: f64) -> Result<()> {
        self.set_values(&[(name.to_string(), Override::Value(v))])
    }

    /// Set several constants, stocks or graphical functions at once, each as
    /// a run override would ([`Override::Value`], [`Override::Array`] for a
    /// whole arrayed variable, [`Override::Table`] for new points). Either
    /// every value is set or, on an error, none.
    pub fn set_values(&mut self, items: &[(String, Override)]) -> Result<()> {
        let m = self.model.get();
        let mut set = Vec::new();
        let mut tables = Vec::new();
        for (name, value) in items {
            match state::override_targets(m, name, value)? {
                state::Targets::Values(values) => {
                    for &(slot, _) in &values {
                        state::check_settable(m, slot)?;
                    }
                    set.extend(values);
                }
                state::Targets::Tables {
                    tables: targets,
                    points,
                } => tables.extend(state::tables_from_points(m, &targets, points)?),
            }
        }
        // A graphical function's new points, like a constant: from the
        // start at the initial time, from now on later.
        for (table, gf) in tables {
            self.state.set_table(table, gf);
        }
        // At the initial time a value is what an override of the run would
        // be: everything initialized from it (stocks' initial values, INIT,
        // initial-only equations) starts again from it. Later it changes
        // only what follows: a stock's current value, a constant from now on.
        let at_start = self.state.step() == 0;
        for (slot, v) in set {
            if m.vars[slot].kind == SlotKind::Stock && !at_start {
                self.state.set_stock(slot, v);
            } else {
                self.state.set_constant(m, slot, v);
            }
        }
        if at_start {
            self.state.reset();
            self.init();
        } else {
            self.state.refresh(m);
        }
        self.check_finite()
    }

    /// The results saved so far.
    pub fn results(&self) -> Results {
        self.state.results()
    }

    /// The results, without copying.
    pub fn into_results(self) -> Results {
        self.state.into_results()
    }
}
