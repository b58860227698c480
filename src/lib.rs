//! simlin: a system dynamics simulation engine.
//!
//! The pipeline, one stage per module:
//! [`syntax`] (XML and equation text → AST, never panics) →
//! [`ir`] (format-neutral model) → [`analysis`] (dependency order, cycles) →
//! [`compile`] (IR → flat program over numbered slots, immutable and
//! `Send + Sync`) → [`vm`] (Euler/RK2/RK4 over that program, one small state
//! per run) → [`results`] (columnar output). [`sweep`] runs one compiled
//! model over many parameter sets in parallel, batches of runs in lockstep.
//!
//! ```no_run
//! let project = simlin::load_file("teacup.xmile").unwrap();
//! let model = simlin::CompiledModel::new(&project, None).unwrap();
//! let results = model.run(&simlin::RunOptions::default()).unwrap();
//! println!("{:?}", results.column("teacup temperature"));
//! ```

pub mod analysis;
pub mod buffers;
pub mod compile;
pub mod error;
pub mod ir;
pub mod loops;
pub mod results;
pub mod sweep;
pub mod syntax;
pub mod testsuite;
pub mod vm;

pub use compile::CompiledModel;
pub use error::{Error, ErrorStage, Result};
pub use ir::{Method, Project, SimSpecs};
pub use results::Results;
pub use vm::{Cancel, Override, RunOptions, Sim};

use std::path::Path;

/// Stack of the thread that reads and compiles a model. Every stage after
/// parsing walks expression trees recursively, and an operator chain is one
/// tree level per operator: a 100,000-term sum (machine-written models have
/// them) needs far more than the 2-8 MiB a caller's thread has (Python's
/// threads may have 256 KiB). Only the pages a model touches are committed.
pub const DEEP_STACK_BYTES: usize = 1 << 30;

/// Run `f` (reading or compiling a model) on a thread with
/// [`DEEP_STACK_BYTES`] of stack, whatever thread calls; if such a thread
/// cannot be started, on the caller's. A panic in `f` is re-raised here.
pub fn with_deep_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let mut job = Some(f);
    let ran = std::thread::scope(|s| {
        let slot = &mut job;
        std::thread::Builder::new()
            .name("simlin-compile".into())
            .stack_size(DEEP_STACK_BYTES)
            .spawn_scoped(s, move || slot.take().map(|f| f()))
            .ok()
            .map(|handle| handle.join())
    });
    match (ran, job) {
        (Some(Ok(Some(v))), _) => v,
        (Some(Err(panic)), _) => std::panic::resume_unwind(panic),
        // No thread could be started (a memory limit): run here.
        (_, Some(f)) => f(),
        (Some(Ok(None)), None) | (None, None) => {
            unreachable!("the job runs exactly once")
        }
    }
}

/// Drop `value` on a short-lived thread of its own, so the caller does not
/// wait for a large structure to be freed. If no thread can start, `spawn`
/// drops the closure, and `value` with it, here.
pub(crate) fn drop_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("simlin-free".into())
        .spawn(move || drop(value));
}

/// Load a model file, choosing the reader from the extension
/// (`.xmile`, `.stmx`, `.itmx`, `.xml`; `.mdl` for Vensim).
pub fn load_file(path: impl AsRef<Path>) -> Result<Project> {
    load_file_with(path, &LoadOptions::default())
}

/// What a model file is loaded with, beyond its own text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadOptions {
    /// Vensim data files (`.tab`, `.csv`, `.dat`, spreadsheets) feeding the
    /// data variables that have no equation, in place of the data source the
    /// model's settings name; relative paths are from the model's folder.
    /// Vensim models have such variables, in `.mdl` or exported to XMILE by
    /// xmutil; other models ignore the files.
    pub data_files: Option<Vec<String>>,
}

/// [`load_file`] with [`LoadOptions`].
pub fn load_file_with(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Project> {
    let path = path.as_ref();
    with_deep_stack(|| load_file_here(path, opts))
}

fn load_file_here(path: &Path, opts: &LoadOptions) -> Result<Project> {
    let ext = syntax::lower_extension(path);
    match ext.as_str() {
        "xmile" | "stmx" | "itmx" | "xml" => {
            let bytes = std::fs::read(path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let text = String::from_utf8(bytes).map_err(|e| Error::MalformedXml {
                message: format!("file is not UTF-8 text: {e}"),
                pos: error::Pos::default(),
            })?;
            syntax::xmile::parse_xmile_with(
                &text,
                Some(path.parent().unwrap_or(Path::new("."))),
                opts.data_files.as_deref(),
            )
        }
        "mdl" => {
            let bytes = std::fs::read(path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            // Older Vensim files are Windows-1252/Latin-1; decode those
            // byte for byte (binary files are caught by their NUL bytes).
            let text = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
            };
            syntax::mdl::parse_mdl_with(
                &text,
                Some(path.parent().unwrap_or(Path::new("."))),
                opts.data_files.as_deref(),
            )
        }
        _ => Err(Error::UnsupportedFormat { extension: ext }),
    }
}

/// Parse XMILE text into a project.
pub fn load_xmile(text: &str) -> Result<Project> {
    with_deep_stack(|| syntax::xmile::parse_xmile(text))
}

/// Parse XMILE text; `base` (the model's folder) and the run's data files
/// serve Vensim models exported by xmutil (external data, data variables).
pub fn load_xmile_with(text: &str, base: Option<&Path>, opts: &LoadOptions) -> Result<Project> {
    with_deep_stack(|| syntax::xmile::parse_xmile_with(text, base, opts.data_files.as_deref()))
}

/// Parse Vensim `.mdl` text into a project (dialect [`ir::Dialect::Vensim`]).
pub fn load_mdl(text: &str) -> Result<Project> {
    with_deep_stack(|| syntax::mdl::parse_mdl(text))
}

/// Parse Vensim `.mdl` text, reading external data files (`GET XLS DATA`,
/// `GET DIRECT CONSTANTS`, ...) relative to `base` (the model's folder).
/// With `None`, models using them fail with [`Error::DataFile`].
pub fn load_mdl_with_base(text: &str, base: Option<&Path>) -> Result<Project> {
    with_deep_stack(|| syntax::mdl::parse_mdl_with_base(text, base))
}

/// [`load_mdl_with_base`] with [`LoadOptions`] (data files for data
/// variables with no equation).
pub fn load_mdl_with(text: &str, base: Option<&Path>, opts: &LoadOptions) -> Result<Project> {
    with_deep_stack(|| syntax::mdl::parse_mdl_with(text, base, opts.data_files.as_deref()))
}
