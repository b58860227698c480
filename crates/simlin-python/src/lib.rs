//! Python bindings for simlin: the native module `simlin._simlin`.
//!
//! The Python package (`python/simlin`) wraps these classes with the public,
//! documented API; this module only exposes the native pieces:
//! [`project`] (projects, models, lazy compilation), [`sim`] (stepwise
//! runs), [`results`] (zero-copy series and the Arrow stream export),
//! [`sweep`] (parameter sweeps on a background thread, outputs as Arrow),
//! [`view`] (NumPy views of Arrow buffers),
//! [`options`] (the run settings every run, sim and sweep takes),
//! [`plugin`] (the Polars expression plugin and its model-handle registry),
//! [`plugin_ffi`] (Polars' plugin ABI on Arrow arrays). Every
//! engine call goes through [`detach::detached`] (GIL released, panics
//! caught) and every failure becomes a Python exception in [`errors`].

mod detach;
mod errors;
mod options;
mod plugin;
mod plugin_ffi;
mod project;
mod results;
mod sim;
mod sweep;
mod view;

use pyo3::prelude::*;

/// Panic inside the engine-call helper, for the tests that prove a panic
/// becomes `SimlinError(code=INTERNAL)` instead of aborting the interpreter.
#[pyfunction]
fn _debug_panic(py: Python<'_>) -> Result<(), errors::BindError> {
    detach::detached(py, || -> Result<(), errors::BindError> {
        panic!("deliberate panic requested by _debug_panic")
    })
}

/// The native module.
/// See the `mimalloc` feature in Cargo.toml.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long mimalloc keeps freed memory before giving it back to the
/// system: as built, it gave a large run's buffers back between two runs,
/// and the next run page-faulted them in again, zeroed by the kernel (the
/// 1,000-region arrayed SIR run took 41 ms instead of 32; a quarter of its
/// loop-score run was page clearing). A delay of one second keeps them
/// across runs made one after another and still returns them once idle.
#[cfg(feature = "mimalloc")]
fn keep_freed_memory_a_while() {
    // `mi_option_purge_delay` in `mi_option_t` (15 in mimalloc 2 and 3;
    // the -sys crate's plain API does not declare the option functions,
    // which are in the mimalloc library linked as the global allocator).
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    // SAFETY: sets an integer option of the linked allocator; mimalloc
    // reads options atomically and any value is valid.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
}

#[pymodule]
fn _simlin(m: &Bound<'_, PyModule>) -> PyResult<()> {
    #[cfg(feature = "mimalloc")]
    keep_freed_memory_a_while();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_debug_panic, m)?)?;
    plugin::add_functions(m)?;
    m.add_class::<project::PyProject>()?;
    m.add_class::<project::PyModel>()?;
    m.add_class::<options::PyRunOptions>()?;
    m.add_class::<sim::PySim>()?;
    m.add_class::<results::PyResults>()?;
    m.add_class::<view::ArrayView>()?;
    m.add_class::<view::Block>()?;
    m.add_function(wrap_pyfunction!(sweep::start_sweep, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::run_seed, m)?)?;
    m.add_function(wrap_pyfunction!(project::dominant_periods, m)?)?;
    m.add_class::<sweep::PySweepJob>()?;
    m.add_class::<sweep::PySweepFrame>()?;
    Ok(())
}
