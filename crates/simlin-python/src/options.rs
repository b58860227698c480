//! Run settings as one Python object (`simlin._simlin.RunOptions`).
//!
//! `Model.run`, `run(ltm=True)`, `simulate` and sweeps all take the same
//! settings (overrides, method, time overrides, outputs, seed). Python builds
//! and validates them once into this object, and every native entry point
//! takes it whole, instead of each repeating eight positional arguments. It
//! holds the engine's own [`RunOptions`], so the settings reach the engine
//! as one value too; each run gets a fresh cancel flag.

use pyo3::prelude::*;
use simlin::loops::Partial;
use simlin::RunOptions;

use crate::errors::BindError;
use crate::project::{engine_overrides, parse_method, OverrideArg};

/// Settings of a run (native part of the keyword arguments of `Model.run`).
#[pyclass(module = "simlin._simlin", name = "RunOptions", frozen)]
pub(crate) struct PyRunOptions {
    opts: RunOptions,
    /// How loop scores' partial changes hold the other inputs (runs with
    /// loop scores only).
    partial: Partial,
}

/// The loop-score convention named `ltm_partial` in Python.
pub(crate) fn parse_partial(ltm_partial: &str) -> Result<Partial, BindError> {
    match ltm_partial {
        "previous" => Ok(Partial::Previous),
        "current" => Ok(Partial::Current),
        other => Err(BindError::Argument(format!(
            "ltm_partial must be 'previous' or 'current', got '{other}'"
        ))),
    }
}

impl PyRunOptions {
    /// The engine's options, with a cancel flag of their own.
    pub(crate) fn engine(&self) -> RunOptions {
        RunOptions {
            cancel: Some(simlin::Cancel::new()),
            ..self.opts.clone()
        }
    }

    /// The loop-score convention (`ltm_partial`).
    pub(crate) fn partial(&self) -> Partial {
        self.partial
    }
}

#[pymethods]
impl PyRunOptions {
    /// Checked settings; `method` is `"euler"`, `"rk2"`, `"rk4"` or `None`.
    #[new]
    #[pyo3(signature = (
        *, overrides = Vec::new(), method = None, start = None, stop = None, dt = None,
        save_step = None, outputs = None, seed = 0, ltm_partial = "previous"
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        overrides: Vec<(String, OverrideArg)>,
        method: Option<&str>,
        start: Option<f64>,
        stop: Option<f64>,
        dt: Option<f64>,
        save_step: Option<f64>,
        outputs: Option<Vec<String>>,
        seed: u64,
        ltm_partial: &str,
    ) -> Result<PyRunOptions, BindError> {
        Ok(PyRunOptions {
            partial: parse_partial(ltm_partial)?,
            opts: RunOptions {
                overrides: engine_overrides(overrides),
                method: parse_method(method)?,
                start,
                stop,
                dt,
                save_step,
                outputs,
                seed,
                cancel: None,
            },
        })
    }

    /// The random seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.opts.seed
    }

    /// The loop-score convention: `"previous"` or `"current"`.
    #[getter]
    fn ltm_partial(&self) -> &'static str {
        match self.partial {
            Partial::Previous => "previous",
            Partial::Current => "current",
        }
    }

    /// The output variables, `None` for the default.
    #[getter]
    fn outputs(&self) -> Option<Vec<String>> {
        self.opts.outputs.clone()
    }

    fn __repr__(&self) -> String {
        let o = &self.opts;
        format!(
            "RunOptions(overrides={}, method={:?}, start={:?}, stop={:?}, dt={:?}, \
             save_step={:?}, outputs={:?}, seed={})",
            o.overrides.len(),
            o.method,
            o.start,
            o.stop,
            o.dt,
            o.save_step,
            o.outputs,
            o.seed
        )
    }
}
