//! The SDXorg conformance suite (`test-models`) as a library.
//!
//! The suite lives beside the repository at `../shared/test-models`, with
//! `tests/` and `samples/` folders. A *case* is a folder holding one or more
//! model files and a reference output (`output.csv`, else `output.tab`).
//! Every model file is its own *row*, keyed by its path relative to the suite
//! root with `/` separators, e.g. `tests/abs/test_abs.xmile`.
//!
//! [`discover`] lists the rows, [`run_case`] loads, compiles and runs one and
//! compares it against its reference ([`compare`]), and [`run_all`] does that
//! for many rows on worker threads, turning panics into failures. The
//! integration test `tests/conformance.rs` and the `simlin-scoreboard` binary
//! are thin drivers around this module; the checked-in list of expected
//! failures is handled by [`expected`].
//!
//! Vensim `.mdl` rows run like the XMILE ones, through the native `.mdl`
//! reader ([`crate::load_file`] dispatches on the extension).

pub mod compare;
pub mod expected;
pub mod reference;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::compile::CompiledModel;
use crate::vm::RunOptions;
use compare::{compare, Comparison};
use reference::read_reference;

/// The model file format of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Xmile,
    Stmx,
    Itmx,
    Mdl,
}

impl Format {
    /// Format from a file extension, ignoring case.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "xmile" => Some(Format::Xmile),
            "stmx" => Some(Format::Stmx),
            "itmx" => Some(Format::Itmx),
            "mdl" => Some(Format::Mdl),
            _ => None,
        }
    }

    /// Whether the engine runs this format today (all of them: XMILE,
    /// Stella and Vensim files).
    pub fn is_supported(self) -> bool {
        true
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Xmile => "xmile",
            Format::Stmx => "stmx",
            Format::Itmx => "itmx",
            Format::Mdl => "mdl",
        }
    }
}

/// One row of the suite: a model file and its folder's reference output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// Path relative to the suite root, `/`-separated.
    pub key: String,
    pub model: PathBuf,
    /// `output.csv` if present, else `output.tab`, else `None`.
    pub reference: Option<PathBuf>,
    pub format: Format,
}

impl Case {
    /// The folder part of [`Case::key`].
    pub fn folder(&self) -> &str {
        self.key.rsplit_once('/').map_or("", |(dir, _)| dir)
    }
}

/// Where the suite is expected: `SIMLIN_TEST_MODELS` if set, else
/// `<repo>/../shared/test-models`.
pub fn default_root() -> PathBuf {
    match std::env::var_os("SIMLIN_TEST_MODELS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/test-models"),
    }
}

/// Every model file under `root` (all formats), sorted by key.
pub fn discover(root: &Path) -> std::io::Result<Vec<Case>> {
    let mut cases = Vec::new();
    walk(root, root, &mut cases)?;
    cases.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(cases)
}

fn walk(root: &Path, dir: &Path, cases: &mut Vec<Case>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    let csv = dir.join("output.csv");
    let tab = dir.join("output.tab");
    let reference = if csv.is_file() {
        Some(csv)
    } else if tab.is_file() {
        Some(tab)
    } else {
        None
    };
    for path in entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, cases)?;
            continue;
        }
        let Some(format) = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
        else {
            continue;
        };
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        cases.push(Case {
            key,
            model: path.clone(),
            reference: reference.clone(),
            format,
        });
    }
    Ok(())
}

/// What happened to one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Ran and matched the reference everywhere.
    Pass(Comparison),
    /// Ran, but values differ or variables/times are missing.
    Mismatch(Comparison),
    /// Could not be compared: no/unusable reference, load, compile or run
    /// error, or a panic.
    Error(String),
    /// Format not supported.
    NotRun(String),
}

/// A row and its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    pub case: Case,
    pub outcome: Outcome,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Pass(_))
    }

    /// One-line description: the worst variable, or the error.
    pub fn detail(&self) -> String {
        match &self.outcome {
            Outcome::Pass(c) => match &c.worst {
                Some(w) => format!("worst: {w}"),
                None => "no values compared".into(),
            },
            Outcome::Mismatch(c) => {
                let mut parts = Vec::new();
                let worst = c
                    .failing
                    .iter()
                    .max_by(|a, b| a.score().total_cmp(&b.score()));
                if let Some(w) = worst {
                    parts.push(format!("worst: {w}"));
                    if c.failing.len() > 1 {
                        parts.push(format!("{} failing variables", c.failing.len()));
                    }
                }
                if let Some(p) = c.problems.first() {
                    parts.push(p.clone());
                    if c.problems.len() > 1 {
                        parts.push(format!("{} more problems", c.problems.len() - 1));
                    }
                }
                parts.join("; ")
            }
            Outcome::Error(e) => format!("error: {e}"),
            Outcome::NotRun(why) => format!("not run ({why})"),
        }
    }
}

/// Load, compile and run one row and compare it against its reference.
pub fn run_case(case: &Case) -> CaseResult {
    let outcome = outcome_of(case);
    CaseResult {
        case: case.clone(),
        outcome,
    }
}

fn outcome_of(case: &Case) -> Outcome {
    if !case.format.is_supported() {
        return Outcome::NotRun(format!("{} files are not supported", case.format.name()));
    }
    let Some(ref_path) = &case.reference else {
        return Outcome::Error("no output.csv or output.tab in the folder".into());
    };
    let reference = match read_reference(ref_path) {
        Ok(r) => r,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let project = match crate::load_file(&case.model) {
        Ok(p) => p,
        Err(e) => return Outcome::Error(format!("load [{}]: {e}", e.code())),
    };
    let model = match CompiledModel::new(&project, None) {
        Ok(m) => m,
        Err(e) => return Outcome::Error(format!("compile [{}]: {e}", e.code())),
    };
    let results = match model.run(&RunOptions::default()) {
        Ok(r) => r,
        Err(e) => return Outcome::Error(format!("run [{}]: {e}", e.code())),
    };
    let cmp = compare(&results, model.sim_specs(), &reference);
    if cmp.passed() {
        Outcome::Pass(cmp)
    } else {
        Outcome::Mismatch(cmp)
    }
}

/// [`run_case`] with a panic turned into an [`Outcome::Error`].
pub fn run_case_catching(case: &Case) -> CaseResult {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(case))) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".into());
            CaseResult {
                case: case.clone(),
                outcome: Outcome::Error(format!("panic: {msg}")),
            }
        }
    }
}

/// Run every case on `threads` worker threads (at least one); results come
/// back in the order of `cases`.
pub fn run_all(cases: &[Case], threads: usize) -> Vec<CaseResult> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1).min(cases.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let result = run_case_catching(case);
                let mut guard = slots.lock().unwrap_or_else(|p| p.into_inner());
                guard[i] = Some(result);
            });
        }
    });
    let slots = slots.into_inner().unwrap_or_else(|p| p.into_inner());
    slots
        .into_iter()
        .zip(cases)
        .map(|(r, case)| {
            r.unwrap_or_else(|| CaseResult {
                case: case.clone(),
                outcome: Outcome::Error("worker thread died".into()),
            })
        })
        .collect()
}

/// A sensible worker count: the machine's parallelism.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_rows_with_reference() {
        let dir = std::env::temp_dir().join(format!("simlin-ts-{}", std::process::id()));
        let case = dir.join("tests/a");
        std::fs::create_dir_all(&case).unwrap();
        std::fs::write(case.join("m.xmile"), "<xmile/>").unwrap();
        std::fs::write(case.join("m.MDL"), "").unwrap();
        std::fs::write(case.join("output.tab"), "Time\tx\n0\t1\n").unwrap();
        std::fs::write(case.join("notes.txt"), "").unwrap();
        let cases = discover(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let keys: Vec<_> = cases.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, vec!["tests/a/m.MDL", "tests/a/m.xmile"]);
        assert_eq!(cases[0].format, Format::Mdl);
        assert_eq!(cases[1].folder(), "tests/a");
        assert!(cases[1].reference.as_ref().unwrap().ends_with("output.tab"));
        let results = run_all(&cases, 2);
        assert!(matches!(results[0].outcome, Outcome::Error(_)));
        assert!(!results[1].passed());
    }
}
