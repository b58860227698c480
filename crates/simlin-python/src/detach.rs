//! Running engine code without the GIL and without letting a panic escape.
//!
//! [`detached`] is the only way the bindings call into the engine: it
//! releases the GIL (so other Python threads run while a model compiles or
//! simulates) and wraps the call in `catch_unwind`, so a bug in the engine
//! surfaces as a `SimlinError` with code `INTERNAL` instead of aborting the
//! interpreter.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;

use crate::errors::BindError;

/// Run `f` with the GIL released, turning a panic into
/// [`BindError::Internal`].
pub(crate) fn detached<T, F>(py: Python<'_>, f: F) -> Result<T, BindError>
where
    T: Send,
    F: FnOnce() -> Result<T, BindError> + Send,
{
    py.detach(|| match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(BindError::Internal(panic_message(payload.as_ref()))),
    })
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}
