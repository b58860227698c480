//! Stage 5, vm: runs a [`CompiledModel`] (being written).

use std::sync::Arc;

use crate::compile::CompiledModel;
use crate::error::{Error, Result};
use crate::ir::Method;
use crate::results::Results;

/// A per-run replacement for a constant, a stock's initial value, or a
/// graphical function's points. Never triggers recompilation.
#[derive(Clone, Debug, PartialEq)]
pub enum Override {
    Value(f64),
    /// New (x, y) points for a graphical function; x must be ascending.
    Table(Vec<(f64, f64)>),
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
}

/// A stepwise simulation: one run's state over a shared compiled model.
pub struct Sim {
    model: Arc<CompiledModel>,
}

impl Sim {
    pub fn new(model: Arc<CompiledModel>, _opts: &RunOptions) -> Result<Sim> {
        let _ = &model;
        Err(Error::Simulation { time: 0.0, message: "vm not written yet".into() })
    }
    pub fn model(&self) -> &Arc<CompiledModel> {
        &self.model
    }
    /// Current simulation time.
    pub fn time(&self) -> f64 {
        0.0
    }
    /// Advance until time >= `t` (clamped to the stop time).
    pub fn run_to(&mut self, _t: f64) -> Result<()> {
        Ok(())
    }
    pub fn run_to_end(&mut self) -> Result<()> {
        Ok(())
    }
    /// Back to the initial time, keeping this run's overrides.
    pub fn reset(&mut self) -> Result<()> {
        Ok(())
    }
    /// Current value of any variable.
    pub fn get_value(&self, name: &str) -> Result<f64> {
        Err(Error::UnknownOutput { variable: name.into() })
    }
    /// Set a constant or a stock's current value between steps.
    pub fn set_value(&mut self, name: &str, _v: f64) -> Result<()> {
        Err(Error::UnknownOutput { variable: name.into() })
    }
    /// The results saved so far.
    pub fn results(&self) -> Results {
        Results::default()
    }
}
