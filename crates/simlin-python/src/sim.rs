//! Stepwise simulation (native part of `simlin.Sim`).
//!
//! The engine's [`Sim`] sits behind a mutex that is only ever locked inside
//! [`detached`] (with the GIL released), so a thread waiting for the lock
//! never holds the GIL that the lock's owner needs. `close()` drops the
//! native state at once; later calls raise `SimlinRuntimeError(CLOSED)`.

use std::sync::Mutex;

use pyo3::prelude::*;
use simlin::Sim;

use crate::detach::{detached, interruptible};
use crate::errors::BindError;
use crate::project::{engine_overrides, OverrideArg};
use crate::results::PyResults;

/// A running simulation.
#[pyclass(module = "simlin._simlin", name = "Sim", frozen)]
pub struct PySim {
    inner: Mutex<Option<Sim>>,
    /// Stops a `run_to` in progress (Ctrl-C), without the lock.
    cancel: simlin::Cancel,
}

impl PySim {
    pub(crate) fn new(sim: Sim, cancel: simlin::Cancel) -> PySim {
        PySim {
            inner: Mutex::new(Some(sim)),
            cancel,
        }
    }

    /// [`PySim::with`] for advancing to time `t`, which may run long:
    /// Ctrl-C cancels it. A short advance (see [`crate::detach::QUICK_RUN`])
    /// runs on this thread, so stepping a little at a time does not pay for
    /// a worker thread per call.
    fn with_interruptible<T, F>(&self, py: Python<'_>, t: f64, f: F) -> Result<T, BindError>
    where
        T: Send,
        F: FnOnce(&mut Sim) -> Result<T, BindError> + Send,
    {
        let work = self.with(py, |s| Ok(s.work_to(t)))?;
        let quick = work < crate::detach::QUICK_RUN;
        let cell = &self.inner;
        interruptible(py, &self.cancel, quick, move || {
            let mut guard = cell.lock().map_err(|_| {
                BindError::Internal(
                    "this simulation is unusable after an earlier internal error".into(),
                )
            })?;
            let sim = guard.as_mut().ok_or(BindError::Closed("Sim"))?;
            f(sim)
        })
    }

    /// Run `f` on the open simulation, without the GIL.
    fn with<T, F>(&self, py: Python<'_>, f: F) -> Result<T, BindError>
    where
        T: Send,
        F: FnOnce(&mut Sim) -> Result<T, BindError> + Send,
    {
        let cell = &self.inner;
        detached(py, move || {
            let mut guard = cell.lock().map_err(|_| {
                BindError::Internal(
                    "this simulation is unusable after an earlier internal error".into(),
                )
            })?;
            let sim = guard.as_mut().ok_or(BindError::Closed("Sim"))?;
            f(sim)
        })
    }
}

#[pymethods]
impl PySim {
    /// Advance until the time reaches `t` (clamped to the stop time).
    fn run_to(&self, py: Python<'_>, t: f64) -> Result<(), BindError> {
        self.with_interruptible(py, t, |s| Ok(s.run_to(t)?))
    }

    /// Advance to the stop time.
    fn run_to_end(&self, py: Python<'_>) -> Result<(), BindError> {
        self.with_interruptible(py, f64::INFINITY, |s| Ok(s.run_to_end()?))
    }

    /// Back to the start time.
    fn reset(&self, py: Python<'_>) -> Result<(), BindError> {
        self.with(py, |s| Ok(s.reset()?))
    }

    /// Current value of a variable.
    fn get_value(&self, py: Python<'_>, name: &str) -> Result<f64, BindError> {
        self.with(py, |s| Ok(s.get_value(name)?))
    }

    /// Set a constant or a stock's current value.
    fn set_value(&self, py: Python<'_>, name: &str, value: f64) -> Result<(), BindError> {
        self.with(py, |s| Ok(s.set_value(name, value)?))
    }

    /// Current values of a whole arrayed variable: (shape, row-major values).
    fn get_array(&self, py: Python<'_>, name: &str) -> Result<(Vec<usize>, Vec<f64>), BindError> {
        self.with(py, |s| Ok(s.get_array(name)?))
    }

    /// The shape of an arrayed variable, `None` for anything else.
    fn shape(&self, py: Python<'_>, name: &str) -> Result<Option<Vec<usize>>, BindError> {
        self.with(py, |s| Ok(s.shape(name)))
    }

    /// Set several values at once, as run overrides (all or nothing).
    fn set_values(
        &self,
        py: Python<'_>,
        items: Vec<(String, OverrideArg)>,
    ) -> Result<(), BindError> {
        let items = engine_overrides(items);
        self.with(py, move |s| Ok(s.set_values(&items)?))
    }

    /// Current simulation time.
    #[getter]
    fn time(&self, py: Python<'_>) -> Result<f64, BindError> {
        self.with(py, |s| Ok(s.time()))
    }

    /// True once the stop time is reached.
    #[getter]
    fn is_done(&self, py: Python<'_>) -> Result<bool, BindError> {
        self.with(py, |s| Ok(s.is_done()))
    }

    /// The results saved so far (a snapshot).
    fn results(&self, py: Python<'_>) -> Result<PyResults, BindError> {
        let results = self.with(py, |s| Ok(s.results()))?;
        Ok(PyResults::from_results(results))
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        let cell = &self.inner;
        py.detach(|| match cell.lock() {
            Ok(g) => g.is_none(),
            Err(poisoned) => poisoned.into_inner().is_none(),
        })
    }

    /// Free the native state now.
    fn close(&self, py: Python<'_>) {
        let cell = &self.inner;
        let sim = py.detach(|| match cell.lock() {
            Ok(mut g) => g.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        });
        drop(sim);
    }
}
