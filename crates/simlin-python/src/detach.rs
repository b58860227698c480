//! Running engine code without the GIL and without letting a panic escape.
//!
//! [`detached`] is the only way the bindings call into the engine: it
//! releases the GIL (so other Python threads run while a model compiles or
//! simulates) and wraps the call in `catch_unwind`, so a bug in the engine
//! surfaces as a `SimlinError` with code `INTERNAL` instead of aborting the
//! interpreter. [`interruptible`] does the same for calls that may run long
//! (a run, `run_to`), on a worker thread, while the calling thread checks
//! for Ctrl-C and cancels the run when it comes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

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

/// Runs smaller than this many variable-steps (a few milliseconds) are
/// waited for on the calling thread: handing them to a worker costs a
/// thread and a wake-up, which on a busy machine is more than the run.
pub(crate) const QUICK_RUN: f64 = 2e5;

/// [`detached`] for a long engine call that `cancel` stops: `f` runs on a
/// worker thread while this thread, every 50 ms, gives Python the chance to
/// handle signals. On Ctrl-C the run is cancelled, and once it has stopped
/// the `KeyboardInterrupt` is raised, leaving the process usable. A `quick`
/// call (see [`QUICK_RUN`]) runs on this thread; Ctrl-C waits for its end.
pub(crate) fn interruptible<T, F>(
    py: Python<'_>,
    cancel: &simlin::Cancel,
    quick: bool,
    f: F,
) -> Result<T, BindError>
where
    T: Send,
    F: FnOnce() -> Result<T, BindError> + Send,
{
    if quick {
        return detached(py, f);
    }
    cancel.clear();
    std::thread::scope(|s| {
        let (tx, rx) = channel();
        // A Receiver is not Sync; the waiting closure borrows it through a lock.
        let rx = std::sync::Mutex::new(rx);
        s.spawn(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
        });
        let mut interrupted: Option<PyErr> = None;
        loop {
            let wait = || {
                rx.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .recv_timeout(Duration::from_millis(50))
            };
            match py.detach(wait) {
                Ok(done) => {
                    if let Some(err) = interrupted {
                        return Err(BindError::Python(err));
                    }
                    return match done {
                        Ok(result) => result,
                        Err(payload) => Err(BindError::Internal(panic_message(payload.as_ref()))),
                    };
                }
                Err(RecvTimeoutError::Timeout) => {
                    if interrupted.is_none() {
                        if let Err(err) = py.check_signals() {
                            cancel.cancel();
                            interrupted = Some(err);
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(BindError::Internal(
                        "the run's thread ended without a result".into(),
                    ))
                }
            }
        }
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
