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
//!
//! The second suite, `../shared/real-models` ([`Suite::RealModels`]), holds
//! models from real projects: SDEverywhere's test models (each scored
//! against the Vensim DAT run of the same name beside it), World3-03 and
//! C-LEARN (scored against Vensim's VDF runs decoded to CSV). Its rules
//! ([`Scoring`]) differ from SDXorg's in two ways: reference columns for
//! variables the model does not define (Vensim's internal `#d1>DELAY1#`
//! levels) are not counted, and VDF references, single precision and from
//! another simulator, are compared at 1 %. Model files with no reference
//! of their own are [`Scoring::RunOnly`]: they must load, compile and run.

pub mod compare;
pub mod expected;
pub mod reference;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::compile::CompiledModel;
use crate::vm::RunOptions;
use compare::{compare_with, Comparison};
use reference::read_reference;
use std::collections::HashSet;

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

/// The two conformance suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Suite {
    /// SDXorg's `test-models`: one reference (`output.csv`/`.tab`) per folder.
    SdXorg,
    /// `real-models`: SDEverywhere's models with Vensim DAT runs, World3-03
    /// and C-LEARN with decoded VDF runs.
    RealModels,
}

impl Suite {
    pub const ALL: [Suite; 2] = [Suite::SdXorg, Suite::RealModels];

    pub fn name(self) -> &'static str {
        match self {
            Suite::SdXorg => "sdxorg",
            Suite::RealModels => "real-models",
        }
    }

    /// Where the suite is expected: `SIMLIN_TEST_MODELS` / `SIMLIN_REAL_MODELS`
    /// if set, else beside the repository in `../shared`.
    pub fn default_root(self) -> PathBuf {
        let (var, dir) = match self {
            Suite::SdXorg => ("SIMLIN_TEST_MODELS", "test-models"),
            Suite::RealModels => ("SIMLIN_REAL_MODELS", "real-models"),
        };
        match std::env::var_os(var) {
            Some(p) => PathBuf::from(p),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared")
                .join(dir),
        }
    }

    /// Every row of the suite under `root`, sorted by key.
    pub fn discover(self, root: &Path) -> std::io::Result<Vec<Case>> {
        let mut cases = Vec::new();
        walk(self, root, root, &mut cases)?;
        cases.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(cases)
    }

    /// The checked-in list of rows expected to fail, relative to the
    /// repository root.
    pub fn expected_failures_file(self) -> &'static str {
        match self {
            Suite::SdXorg => "tests/conformance/expected_failures.txt",
            Suite::RealModels => "tests/conformance/real_models_expected_failures.txt",
        }
    }

    /// The group a row is totalled under in the scoreboard: the format for
    /// SDXorg, the project folder (`sdeverywhere`, `C-LEARN`) otherwise.
    pub fn group(self, case: &Case) -> String {
        match self {
            Suite::SdXorg => case.format.name().to_string(),
            Suite::RealModels => case
                .key
                .split_once('/')
                .map_or(case.key.as_str(), |(top, _)| top)
                .to_string(),
        }
    }
}

/// How a row's values are compared with its reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scoring {
    /// `|sim - ref| <= max(abs, rel * max(|sim|, |ref|), peak * column peak)`
    /// at every reference time. `skip_undefined`: reference columns naming
    /// no variable of the model are not counted (real-models rule); when
    /// false they are failures (SDXorg rule).
    Compare {
        tolerance: compare::Tolerance,
        skip_undefined: bool,
    },
    /// No reference of its own: the row passes when it loads, compiles and
    /// runs.
    RunOnly,
}

impl Scoring {
    /// SDXorg's rule.
    pub const SDXORG: Scoring = Scoring::Compare {
        tolerance: compare::Tolerance::SDXORG,
        skip_undefined: false,
    };
    /// A Vensim DAT reference (double precision, Vensim's own run).
    pub const DAT: Scoring = Scoring::Compare {
        tolerance: compare::Tolerance::DAT,
        skip_undefined: true,
    };
    /// A decoded VDF reference (single precision, another simulator).
    pub const VDF: Scoring = Scoring::Compare {
        tolerance: compare::Tolerance::VDF,
        skip_undefined: true,
    };
}

/// One row of a suite: a model file and the reference it is scored against.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// Path relative to the suite root, `/`-separated.
    pub key: String,
    pub model: PathBuf,
    /// SDXorg: `output.csv` if present, else `output.tab`, else `None`;
    /// real-models: `<stem>.dat` beside the model, else the folder's
    /// `*.vdf.csv`, else `None` (run only).
    pub reference: Option<PathBuf>,
    pub format: Format,
    pub scoring: Scoring,
    /// Vensim data files the run reads its data variables from (the
    /// `externalDatfiles` of an SDEverywhere `<stem>_spec.json`, the
    /// equivalent of `vensim -d`), relative to the model's folder.
    pub data_files: Vec<String>,
}

impl Case {
    /// How the model file is loaded for this row.
    pub fn load_options(&self) -> crate::LoadOptions {
        crate::LoadOptions {
            data_files: (!self.data_files.is_empty()).then(|| self.data_files.clone()),
        }
    }
}

/// The data files an SDEverywhere spec (`<stem>_spec.json` beside the
/// model) names as the run's data source (`"externalDatfiles"`).
fn spec_data_files(model: &Path) -> Vec<String> {
    let Some(stem) = model.file_stem().and_then(|s| s.to_str()) else {
        return Vec::new();
    };
    let spec = model.with_file_name(format!("{stem}_spec.json"));
    let Ok(text) = std::fs::read_to_string(spec) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    json.get("externalDatfiles")
        .and_then(|v| v.as_array())
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Case {
    /// The folder part of [`Case::key`].
    pub fn folder(&self) -> &str {
        self.key.rsplit_once('/').map_or("", |(dir, _)| dir)
    }
}

/// Where the SDXorg suite is expected (see [`Suite::default_root`]).
pub fn default_root() -> PathBuf {
    Suite::SdXorg.default_root()
}

/// Every model file of the SDXorg suite under `root`, sorted by key.
pub fn discover(root: &Path) -> std::io::Result<Vec<Case>> {
    Suite::SdXorg.discover(root)
}

/// The reference and scoring of model file `path` in `suite`, given the
/// sorted entries of its folder.
fn reference_for(suite: Suite, path: &Path, entries: &[PathBuf]) -> (Option<PathBuf>, Scoring) {
    let file_named = |name: &str| {
        entries
            .iter()
            .find(|e| {
                e.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    && e.is_file()
            })
            .cloned()
    };
    match suite {
        Suite::SdXorg => {
            let reference = file_named("output.csv").or_else(|| file_named("output.tab"));
            (reference, Scoring::SDXORG)
        }
        Suite::RealModels => {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if let Some(dat) = file_named(&format!("{stem}.dat")) {
                return (Some(dat), Scoring::DAT);
            }
            let vdf = entries.iter().find(|e| {
                e.is_file()
                    && e.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.to_ascii_lowercase().ends_with(".vdf.csv"))
            });
            match vdf {
                Some(v) => (Some(v.clone()), Scoring::VDF),
                None => (None, Scoring::RunOnly),
            }
        }
    }
}

fn walk(suite: Suite, root: &Path, dir: &Path, cases: &mut Vec<Case>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for path in &entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(suite, root, path, cases)?;
            continue;
        }
        let Some(format) = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
        else {
            continue;
        };
        let rel = path.strip_prefix(root).unwrap_or(path);
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let (reference, scoring) = reference_for(suite, path, &entries);
        let data_files = match suite {
            Suite::RealModels => spec_data_files(path),
            Suite::SdXorg => Vec::new(),
        };
        cases.push(Case {
            key,
            model: path.clone(),
            reference,
            format,
            scoring,
            data_files,
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
                None if self.case.scoring == Scoring::RunOnly => {
                    "runs (no reference of its own)".into()
                }
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
    let (tolerance, skip_undefined) = match case.scoring {
        Scoring::Compare {
            tolerance,
            skip_undefined,
        } => (tolerance, skip_undefined),
        Scoring::RunOnly => return run_only(case),
    };
    let Some(ref_path) = &case.reference else {
        return Outcome::Error("no output.csv or output.tab in the folder".into());
    };
    let reference = match read_reference(ref_path) {
        Ok(r) => r,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let project = match crate::load_file_with(&case.model, &case.load_options()) {
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
    let defined = skip_undefined.then(|| defined_names(&project));
    let rules = compare::Rules {
        tolerance,
        defined: defined.as_ref(),
    };
    let cmp = compare_with(&results, model.sim_specs(), &reference, &rules);
    if cmp.passed() {
        Outcome::Pass(cmp)
    } else {
        Outcome::Mismatch(cmp)
    }
}

/// A row with no reference: load, compile and run, nothing to compare.
fn run_only(case: &Case) -> Outcome {
    let ran = crate::load_file_with(&case.model, &case.load_options())
        .map_err(|e| format!("load [{}]: {e}", e.code()))
        .and_then(|p| {
            CompiledModel::new(&p, None).map_err(|e| format!("compile [{}]: {e}", e.code()))
        })
        .and_then(|m| {
            m.run(&RunOptions::default())
                .map_err(|e| format!("run [{}]: {e}", e.code()))
        });
    match ran {
        Ok(_) => Outcome::Pass(Comparison::default()),
        Err(e) => Outcome::Error(e),
    }
}

/// Column keys ([`compare::column_key`]) of every variable of the main
/// model, without subscripts: what the model "defines" for the
/// real-models rule. Lookup tables are functions, not values over time: a
/// VDF stores their points, not a series, so a decoded VDF's column for
/// one is not a run's output and is not counted.
fn defined_names(project: &crate::ir::Project) -> HashSet<String> {
    project
        .main_model()
        .map(|m| {
            m.variables
                .iter()
                .filter(|v| !v.is_lookup())
                .map(|v| compare::column_key(&v.name))
                .collect()
        })
        .unwrap_or_default()
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
        let real = dir.join("real/proj");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(real.join("m.mdl"), "").unwrap();
        std::fs::write(real.join("m.dat"), "x\n0\t1\n").unwrap();
        std::fs::write(real.join("other.xmile"), "").unwrap();
        std::fs::write(real.join("Ref.vdf.csv"), "time,x\n0,1\n").unwrap();
        std::fs::write(real.join("none.mdl"), "").unwrap();
        let solo = dir.join("real/solo");
        std::fs::create_dir_all(&solo).unwrap();
        std::fs::write(solo.join("s.mdl"), "").unwrap();
        let real_cases = Suite::RealModels.discover(&dir.join("real")).unwrap();
        let cases = discover(&dir.join("tests")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let keys: Vec<_> = cases.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, vec!["a/m.MDL", "a/m.xmile"]);
        assert_eq!(cases[0].format, Format::Mdl);
        assert_eq!(cases[1].folder(), "a");
        assert_eq!(cases[0].scoring, Scoring::SDXORG);
        let real: Vec<_> = real_cases
            .iter()
            .map(|c| {
                let reference = c.reference.as_ref().and_then(|r| r.file_name());
                (
                    c.key.as_str(),
                    reference.map(|r| r.to_string_lossy()),
                    c.scoring,
                )
            })
            .collect();
        assert_eq!(
            real,
            vec![
                ("proj/m.mdl", Some("m.dat".into()), Scoring::DAT),
                ("proj/none.mdl", Some("Ref.vdf.csv".into()), Scoring::VDF),
                ("proj/other.xmile", Some("Ref.vdf.csv".into()), Scoring::VDF),
                ("solo/s.mdl", None, Scoring::RunOnly),
            ]
        );
        assert_eq!(Suite::RealModels.group(&real_cases[3]), "solo");
        assert!(cases[1].reference.as_ref().unwrap().ends_with("output.tab"));
        let results = run_all(&cases, 2);
        assert!(matches!(results[0].outcome, Outcome::Error(_)));
        assert!(!results[1].passed());
    }
}
