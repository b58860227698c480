//! The single place where failures become Python exceptions.
//!
//! Engine errors ([`simlin::Error`]) carry a stage, a stable code, and
//! optionally a variable and a source line; they become instances of the
//! classes defined in `simlin.errors` (the stage picks the class, the code
//! picks the `ErrorCode` member). Failures that only the bindings know about
//! (a closed object, a bad argument, a caught panic) are expressed as
//! [`BindError`] variants and mapped here as well, so no other file builds a
//! Python exception by hand.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use simlin::{Error, ErrorStage};

/// Any failure inside the bindings, before it becomes a Python exception.
#[derive(Debug)]
pub(crate) enum BindError {
    /// An error reported by the engine.
    Engine(Error),
    /// The object (a `Sim` or `Results`) was closed; names the object kind.
    Closed(&'static str),
    /// A Python argument had the right type but an unusable value.
    Argument(String),
    /// A name that is not a variable of the model (for lookups that are not
    /// engine calls, such as `Model.dependencies`).
    UnknownVariable(String),
    /// The engine panicked; the message is the panic payload.
    Internal(String),
    /// A Python exception raised while waiting (Ctrl-C's KeyboardInterrupt).
    Python(PyErr),
}

impl From<Error> for BindError {
    fn from(e: Error) -> Self {
        BindError::Engine(e)
    }
}

impl From<BindError> for PyErr {
    fn from(e: BindError) -> PyErr {
        Python::attach(|py| e.into_pyerr(py))
    }
}

/// The Python class (in `simlin.errors`) for an engine stage.
fn class_for_stage(stage: ErrorStage) -> &'static str {
    match stage {
        ErrorStage::Import => "SimlinImportError",
        ErrorStage::Compile => "SimlinCompilationError",
        ErrorStage::Runtime => "SimlinRuntimeError",
    }
}

impl BindError {
    /// Build the Python exception for this failure.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            BindError::Engine(e) => {
                let line = e.line();
                let variable = e.variable().map(str::to_owned);
                let class = match e {
                    Error::OutOfMemory { .. } => "SimlinMemoryError",
                    _ => class_for_stage(e.stage()),
                };
                make(
                    py,
                    class,
                    e.code(),
                    &e.to_string(),
                    variable.as_deref(),
                    line,
                )
            }
            BindError::Closed(what) => make(
                py,
                "SimlinRuntimeError",
                "CLOSED",
                &format!("this {what} is closed"),
                None,
                None,
            ),
            BindError::Argument(message) => make(
                py,
                "SimlinArgumentError",
                "INVALID_ARGUMENT",
                &message,
                None,
                None,
            ),
            BindError::UnknownVariable(name) => make(
                py,
                "SimlinCompilationError",
                "UNKNOWN_VARIABLE",
                &format!("no variable named '{name}' in the model"),
                Some(&name),
                None,
            ),
            BindError::Python(err) => err,
            BindError::Internal(message) => make(
                py,
                "SimlinError",
                "INTERNAL",
                &format!("internal error in the simlin engine: {message}"),
                None,
                None,
            ),
        }
    }
}

/// Instantiate `simlin.errors.<class>(message, code=..., variable=..., line=...)`.
/// If the Python package itself cannot be imported, falls back to a plain
/// `RuntimeError` carrying the message.
fn make(
    py: Python<'_>,
    class: &str,
    code: &str,
    message: &str,
    variable: Option<&str>,
    line: Option<u32>,
) -> PyErr {
    let build = || -> PyResult<Bound<'_, PyAny>> {
        let module = py.import("simlin.errors")?;
        let cls = module.getattr(class)?;
        let code = module.getattr("ErrorCode")?.getattr(code)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", code)?;
        kwargs.set_item("variable", variable)?;
        kwargs.set_item("line", line)?;
        cls.call((message,), Some(&kwargs))
    };
    match build() {
        Ok(exc) => PyErr::from_value(exc),
        Err(import_err) => {
            let err = PyRuntimeError::new_err(message.to_owned());
            err.set_cause(py, Some(import_err));
            err
        }
    }
}
