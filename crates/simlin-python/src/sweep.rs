//! Parameter sweeps from Python (native part of `simlin.Model.sweep`).
//!
//! [`start_sweep`] takes the parameter columns already converted by the
//! Python package (numbers as native-endian float64 bytes, graphical
//! functions as lists of `(x, y)` points), starts the engine's
//! [`simlin::sweep::sweep`] on a background thread and returns a
//! [`PySweepJob`] at once. The job reports progress (`done`), can be waited
//! on with a timeout (the GIL is released meanwhile, so Ctrl-C reaches
//! Python), cancelled, and finally yields a [`PySweepFrame`]: the outputs
//! as one Arrow record batch exported through the Arrow C stream interface
//! (`__arrow_c_stream__`), with the engine's value buffer moved, not copied,
//! into the `value` column (or the reduced columns).
//!
//! Long format (no reduction): columns `run`, `time`, `variable`
//! (dictionary-encoded), `value`; rows ordered by run, then time, then
//! variable in output order. Wide format (a reduction): `run`, then one
//! float64 column per output. A run that failed with `on_error="null"` has
//! null values.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use polars_arrow::array::{
    Array, DictionaryArray, ListArray, PrimitiveArray, StructArray, Utf8Array,
};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::{ArrowDataType, Field};
use polars_arrow::ffi;
use polars_arrow::offset::OffsetsBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyList};
use rayon::prelude::*;
use simlin::loops::ltm::{DominancePlan, DominanceTracker, DominantPeriod};
use simlin::sweep::{
    int_key_seed, str_key_seed, sweep, Engine, OnError, Param, ParamValues, Progress, Reduce,
    SweepOptions, SweepResult,
};
use simlin::{Error, RunOptions};

use crate::detach::panic_message;
use crate::errors::BindError;
use crate::options::PyRunOptions;
use crate::project::PyModel;
use crate::view::ArrayView;
use crate::view::Block;

/// The `run` column's source: the row index, or the caller's run ids.
enum RunIds {
    Index,
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

/// Native-endian 8-byte values (from `numpy.ndarray.tobytes()`) decoded
/// with `from_ne_bytes`; `what` names the column for the error.
fn decode8<T>(
    what: &str,
    bytes: &[u8],
    from_ne_bytes: fn([u8; 8]) -> T,
) -> Result<Vec<T>, BindError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(BindError::Argument(format!(
            "{what}: {} bytes is not a whole number of 8-byte values",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            from_ne_bytes(a)
        })
        .collect())
}

/// One run's graphical-function points.
type Points = Vec<(f64, f64)>;

fn parse_reduce(reduce: Option<&str>, at: Option<f64>) -> Result<Option<Reduce>, BindError> {
    Ok(match (reduce, at) {
        (None, None) => None,
        (None, Some(t)) => Some(Reduce::At(t)),
        (Some("final"), None) => Some(Reduce::Final),
        (Some("max"), None) => Some(Reduce::Max),
        (Some("min"), None) => Some(Reduce::Min),
        (Some("mean"), None) => Some(Reduce::Mean),
        (Some(other), _) => {
            return Err(BindError::Argument(format!(
                "reduce must be 'final', 'max', 'min', 'mean' or a time, got '{other}'"
            )))
        }
    })
}

/// What the worker thread reports: finished yet, and the outcome until
/// `result()` takes it.
#[derive(Default)]
struct State {
    finished: bool,
    outcome: Option<Result<Outcome, BindError>>,
}

/// What a sweep runs: the model, or the model with loop scores.
enum Runs {
    Plain(Arc<simlin::CompiledModel>),
    Scored(Arc<simlin::loops::LtmModel>),
}

/// What a sweep produces: every run's series (or reductions), or, for a
/// sweep of loop dominance, each run's periods (`None` for a failed run).
enum Outcome {
    Series(SweepResult),
    Periods(Vec<Option<Vec<DominantPeriod>>>),
}

/// The state the worker thread fills, and the condition it signals.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn finish(&self, outcome: Result<Outcome, BindError>) {
        let mut state = self.lock();
        state.finished = true;
        state.outcome = Some(outcome);
        self.ready.notify_all();
    }

    /// Wait until the sweep finished or `timeout` passes; true if it did.
    fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut state = self.lock();
        let deadline = timeout.map(|t| Instant::now() + t);
        while !state.finished {
            state = match deadline {
                None => self.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    self.ready
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        true
    }
}

/// The seed a sweep or plugin run with run key `key` uses: `seed + key`
/// for an integer key, `seed` plus the key's FNV-1a hash for a string
/// (`simlin.run_seed` in Python).
#[pyfunction]
pub(crate) fn run_seed(seed: u64, key: &Bound<'_, PyAny>) -> Result<u64, BindError> {
    if let Ok(k) = key.extract::<i64>() {
        return Ok(int_key_seed(seed, k));
    }
    if let Ok(k) = key.extract::<String>() {
        return Ok(str_key_seed(seed, &k));
    }
    Err(BindError::Argument(format!(
        "a run key is an integer or a string, not {}",
        key.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    )))
}

/// Start a sweep on a background thread (see the module docs).
///
/// `numbers` are `(column, float64 bytes)`, `tables` are `(column, points
/// per run)`; `run_ids_int` (int64 bytes) or `run_ids_str` name the runs.
#[pyfunction]
#[pyo3(signature = (
    model, n_runs, numbers, tables, run_ids_int, run_ids_str, options, reduce, reduce_at,
    threads, on_error, engine, batch, ltm = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn start_sweep(
    py: Python<'_>,
    model: &Bound<'_, PyModel>,
    n_runs: usize,
    numbers: Vec<(String, Bound<'_, PyBytes>)>,
    tables: Vec<(String, Vec<Points>)>,
    run_ids_int: Option<Bound<'_, PyBytes>>,
    run_ids_str: Option<Vec<String>>,
    options: &PyRunOptions,
    reduce: Option<&str>,
    reduce_at: Option<f64>,
    threads: Option<usize>,
    on_error: &str,
    engine: &str,
    batch: usize,
    ltm: Option<&str>,
) -> Result<PySweepJob, BindError> {
    let dominance = match ltm {
        None | Some("relative") => false,
        Some("dominance") => true,
        Some(other) => {
            return Err(BindError::Argument(format!(
                "ltm must be 'relative' or 'dominance', got '{other}'"
            )))
        }
    };
    let reduce = parse_reduce(reduce, reduce_at)?;
    let RunOptions {
        overrides,
        method,
        start,
        stop,
        dt,
        save_step,
        outputs,
        seed,
        cancel: _,
    } = options.engine();
    if !overrides.is_empty() {
        return Err(BindError::Argument(
            "a sweep takes its values from the parameter table, not overrides".into(),
        ));
    }
    let on_error = match on_error {
        "raise" => OnError::Raise,
        "null" => OnError::Null,
        other => {
            return Err(BindError::Argument(format!(
                "on_error must be 'raise' or 'null', got '{other}'"
            )))
        }
    };
    let engine = match engine {
        "batched" => Engine::Batched,
        "scalar" => Engine::Scalar,
        other => {
            return Err(BindError::Argument(format!(
                "engine must be 'batched' or 'scalar', got '{other}'"
            )))
        }
    };
    let run_ids = match (run_ids_int, run_ids_str) {
        (None, None) => RunIds::Index,
        (Some(b), None) => RunIds::Ints(decode8("run ids", b.as_bytes(), i64::from_ne_bytes)?),
        (None, Some(s)) => RunIds::Strings(s),
        (Some(_), Some(_)) => {
            return Err(BindError::Argument(
                "give integer or string run ids, not both".into(),
            ))
        }
    };
    let n_ids = match &run_ids {
        RunIds::Index => n_runs,
        RunIds::Ints(v) => v.len(),
        RunIds::Strings(v) => v.len(),
    };
    if n_ids != n_runs {
        return Err(BindError::Argument(format!(
            "{n_ids} run ids for {n_runs} runs"
        )));
    }
    let run_seeds = match &run_ids {
        RunIds::Index => None,
        RunIds::Ints(v) => Some(v.iter().map(|&k| int_key_seed(seed, k)).collect()),
        RunIds::Strings(v) => Some(v.iter().map(|k| str_key_seed(seed, k)).collect()),
    };
    // Point columns on plain variables are time series: the sweep runs the
    // variant compiled with them as inputs (`PyModel::compiled_for`).
    let fed: Vec<String> = tables.iter().map(|(n, _)| n.clone()).collect();
    let mut params = Vec::with_capacity(numbers.len() + tables.len());
    for (name, bytes) in numbers {
        let values = decode8(&name, bytes.as_bytes(), f64::from_ne_bytes)?;
        params.push(Param {
            name,
            values: ParamValues::Numbers(values),
        });
    }
    for (name, points) in tables {
        params.push(Param {
            name,
            values: ParamValues::Tables(points),
        });
    }
    let opts = SweepOptions {
        outputs,
        reduce,
        method,
        start,
        stop,
        dt,
        save_step,
        seed,
        // A run's random stream follows its id when the frame has one (as
        // the plugin's `run` key does), else its row: seed + r.
        run_seeds,
        on_error,
        threads,
        engine,
        batch,
    };
    // With loop scores, the runs are scored from the plain model's values
    // (or of the model compiled with them, see `simlin::loops::sweep`); the
    // caller names the score variables as outputs.
    let runs = if ltm.is_some() {
        let m = model
            .get()
            .ltm_model_for(py, fed.iter().map(String::as_str), options.partial())?;
        if m.structure.mode != simlin::loops::LoopMode::Exhaustive {
            return Err(BindError::Argument(format!(
                "the model has more than {} loops: sweeps score loops only when every loop \
                 is enumerated (run a single run with ltm=True to discover the loops that matter)",
                simlin::loops::MAX_LOOPS
            )));
        }
        Runs::Scored(m)
    } else {
        Runs::Plain(
            model
                .get()
                .compiled_for(py, fed.iter().map(String::as_str))?,
        )
    };
    let progress = Arc::new(Progress::new());
    let shared = Arc::new(Shared::default());
    let (p, s) = (progress.clone(), shared.clone());
    let spawned = std::thread::Builder::new()
        .name("simlin-sweep".into())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                match &runs {
                    Runs::Scored(m) if dominance => {
                        // Each run's relative scores are folded into its
                        // periods as the run goes: no run's scores are held.
                        let loops: Vec<(&str, usize)> = m
                            .structure
                            .loops
                            .iter()
                            .map(|l| (l.id.as_str(), l.partition))
                            .collect();
                        let plan = DominancePlan::new(&loops);
                        let init = |_: usize| DominanceTracker::new(&plan);
                        let step =
                            |d: &mut DominanceTracker, rel: &[f64]| d.observe(&plan, |l| rel[l]);
                        m.sweep_fold(n_runs, &params, &opts, &p, &(init, step)).map(
                            |(times, states)| {
                                Outcome::Periods(
                                    states
                                        .into_iter()
                                        .map(|d| d.map(|d| d.finish(&plan, &loops, &times)))
                                        .collect(),
                                )
                            },
                        )
                    }
                    Runs::Scored(m) => m.sweep(n_runs, &params, &opts, &p).map(Outcome::Series),
                    Runs::Plain(c) => sweep(c, n_runs, &params, &opts, &p).map(Outcome::Series),
                }
            }));
            let outcome = match outcome {
                Ok(r) => r.map_err(BindError::Engine),
                Err(payload) => Err(BindError::Internal(panic_message(payload.as_ref()))),
            };
            s.finish(outcome);
        });
    if let Err(e) = spawned {
        return Err(BindError::Internal(format!(
            "cannot start the sweep thread: {e}"
        )));
    }
    Ok(PySweepJob {
        n_runs,
        progress,
        shared,
        cancelled: AtomicBool::new(false),
        run_ids: Mutex::new(Some(run_ids)),
    })
}

/// A sweep running on a background thread.
#[pyclass(module = "simlin._simlin", name = "SweepJob", frozen)]
pub struct PySweepJob {
    n_runs: usize,
    progress: Arc<Progress>,
    shared: Arc<Shared>,
    /// `cancel()` was called: `result()` raises `CANCELLED` even if the
    /// runs happened to finish first.
    cancelled: AtomicBool,
    /// Taken by the first `result()`.
    run_ids: Mutex<Option<RunIds>>,
}

impl Drop for PySweepJob {
    fn drop(&mut self) {
        // Nobody can collect the result any more: stop the workers early.
        self.progress.cancel();
    }
}

#[pymethods]
impl PySweepJob {
    /// Total number of runs.
    #[getter]
    fn n_runs(&self) -> usize {
        self.n_runs
    }

    /// Runs finished so far.
    fn done(&self) -> usize {
        self.progress.done()
    }

    /// True once the sweep finished (successfully or not).
    #[getter]
    fn finished(&self) -> bool {
        self.shared.lock().finished
    }

    /// Wait (without the GIL) up to `timeout` seconds (`None` = no limit);
    /// true if the sweep has finished.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> Result<bool, BindError> {
        let timeout = match timeout {
            None => None,
            Some(t) if t.is_finite() && t >= 0.0 => Some(Duration::from_secs_f64(t.min(1e9))),
            Some(t) => {
                return Err(BindError::Argument(format!(
                    "timeout must be a non-negative number of seconds, got {t}"
                )))
            }
        };
        let shared = &self.shared;
        Ok(py.detach(|| shared.wait(timeout)))
    }

    /// Ask the sweep to stop; `result()` then raises `CANCELLED`.
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.progress.cancel();
    }

    /// Wait for the end and return the outputs (once), or raise the
    /// sweep's error.
    fn result(&self, py: Python<'_>) -> Result<PySweepFrame, BindError> {
        let (outcome, run_ids) = self.take(py)?;
        let Outcome::Series(result) = outcome else {
            return Err(BindError::Argument(
                "a dominance sweep's result is taken with dominance()".into(),
            ));
        };
        let frame = py.detach(move || {
            catch_unwind(AssertUnwindSafe(|| build_frame(result, run_ids)))
                .unwrap_or_else(|p| Err(BindError::Internal(panic_message(p.as_ref()))))
        })?;
        Ok(frame)
    }

    /// Wait for the end of a sweep started with `ltm="dominance"` and
    /// return (once) each run's periods of dominance as a frame: `run`
    /// (the row index, or the sweep's id column), `partition`, `start`,
    /// `end` and `loops` (a list of loop ids per period).
    fn dominance(&self, py: Python<'_>) -> Result<PySweepFrame, BindError> {
        let (outcome, run_ids) = self.take(py)?;
        let Outcome::Periods(periods) = outcome else {
            return Err(BindError::Argument(
                "dominance() needs a sweep started with ltm='dominance'".into(),
            ));
        };
        py.detach(move || dominance_frame(&periods, &run_ids))
    }
}

impl PySweepJob {
    /// Wait for the end and take (once) the outcome and the run ids, or
    /// the sweep's error.
    fn take(&self, py: Python<'_>) -> Result<(Outcome, RunIds), BindError> {
        let shared = &self.shared;
        py.detach(|| shared.wait(None));
        let outcome = self.shared.lock().outcome.take();
        let run_ids = self
            .run_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (Some(outcome), Some(run_ids)) = (outcome, run_ids) else {
            return Err(BindError::Argument(
                "the sweep's result was already taken".into(),
            ));
        };
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(BindError::Engine(Error::Cancelled));
        }
        Ok((outcome?, run_ids))
    }
}

/// Each run's dominance periods as Arrow columns, built in one pass: a
/// list column made from Python lists of strings costs Polars about 4 us a
/// row (35 ms for SIR's 2,000-run sweep, more than the sweep itself).
fn dominance_frame(
    periods: &[Option<Vec<DominantPeriod>>],
    run_ids: &RunIds,
) -> Result<PySweepFrame, BindError> {
    let n: usize = periods.iter().flatten().map(Vec::len).sum();
    let mut int_ids: Vec<i64> = Vec::with_capacity(n);
    let mut str_ids: Vec<&str> = Vec::new();
    let mut partition: Vec<i64> = Vec::with_capacity(n);
    let (mut start, mut end) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut offsets: Vec<i64> = Vec::with_capacity(n + 1);
    offsets.push(0);
    let mut names: Vec<&str> = Vec::with_capacity(n);
    for (r, ps) in periods.iter().enumerate() {
        for p in ps.iter().flatten() {
            match run_ids {
                RunIds::Index => int_ids.push(r as i64),
                RunIds::Ints(ids) => int_ids.push(ids[r]),
                RunIds::Strings(ids) => str_ids.push(&ids[r]),
            }
            partition.push(p.partition as i64);
            start.push(p.start);
            end.push(p.end);
            names.extend(p.loops.iter().map(String::as_str));
            offsets.push(names.len() as i64);
        }
    }
    let run = match run_ids {
        RunIds::Strings(_) => Utf8Array::<i64>::from_slice(&str_ids).boxed(),
        _ => PrimitiveArray::from_vec(int_ids).boxed(),
    };
    let offsets = OffsetsBuffer::try_from(offsets)
        .map_err(|e| BindError::Internal(format!("dominance periods' offsets: {e}")))?;
    let loops = ListArray::<i64>::try_new(
        ListArray::<i64>::default_datatype(ArrowDataType::LargeUtf8),
        offsets,
        Utf8Array::<i64>::from_slice(&names).boxed(),
        None,
    )
    .map_err(|e| BindError::Internal(format!("dominance periods' loops: {e}")))?;
    Ok(PySweepFrame {
        columns: vec![
            ("run".into(), run, false),
            (
                "partition".into(),
                PrimitiveArray::from_vec(partition).boxed(),
                false,
            ),
            (
                "start".into(),
                PrimitiveArray::from_vec(start).boxed(),
                false,
            ),
            ("end".into(), PrimitiveArray::from_vec(end).boxed(), false),
            ("loops".into(), loops.boxed(), false),
        ],
        len: n,
        failures: Vec::new(),
        taken: false,
    })
}

/// Unique strings and each input's index into them.
fn dictionary(names: &[String]) -> (Vec<u32>, Vec<&str>) {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let mut unique = Vec::new();
    let keys = names
        .iter()
        .map(|n| {
            *seen.entry(n.as_str()).or_insert_with(|| {
                unique.push(n.as_str());
                (unique.len() - 1) as u32
            })
        })
        .collect();
    (keys, unique)
}

/// A dictionary-encoded string column: `keys` index into `values`.
fn dictionary_column(keys: Vec<u32>, values: &[&str]) -> Result<Box<dyn Array>, BindError> {
    let values = Utf8Array::<i64>::from_slice(values).boxed();
    DictionaryArray::<u32>::try_from_keys(PrimitiveArray::from_vec(keys), values, false)
        .map(|a| a.boxed())
        .map_err(|e| BindError::Internal(format!("building a dictionary column: {e}")))
}

/// How [`per_run_column`] fills one run's stretch of a column.
enum Stretch<'a, T> {
    /// Every value the same (the run's id).
    Each(T),
    /// A copy of one run's pattern (its times, or its outputs' keys).
    Like(&'a [T]),
}

/// A column of `n_runs` stretches of `len` values, stretch `r` filled as
/// `stretch(r)` says, in parallel and straight into the column's memory
/// (each value written once, while its stretch is in cache). Tasks take a
/// few thousand values at least.
fn per_run_column<'a, T: Copy + Send + Sync + 'a>(
    n_runs: usize,
    len: usize,
    stretch: impl Fn(usize) -> Stretch<'a, T> + Sync,
) -> Result<Vec<T>, BindError> {
    let n = n_runs * len;
    let mut v = simlin::buffers::reserved(n, &format!("a column of {n} rows"))?;
    if n > 0 {
        v.spare_capacity_mut()[..n]
            .par_chunks_mut(len)
            .with_min_len(4096_usize.div_ceil(len))
            .enumerate()
            .for_each(|(r, cells)| match stretch(r) {
                Stretch::Each(x) => {
                    simlin::buffers::init_fill(cells, x);
                }
                Stretch::Like(pattern) => {
                    simlin::buffers::init_copy(cells, pattern);
                }
            });
        // SAFETY: the stretches cover all `n` values and each was
        // initialised by `init_fill` or `init_copy` (which panics, before
        // this point, rather than leave a value unwritten).
        unsafe { v.set_len(n) };
    }
    Ok(v)
}

/// The `run` column for `n_runs` runs, each repeated `per_run` times.
fn run_column(
    run_ids: &RunIds,
    n_runs: usize,
    per_run: usize,
) -> Result<Box<dyn Array>, BindError> {
    Ok(match run_ids {
        RunIds::Index => PrimitiveArray::from_vec(per_run_column(n_runs, per_run, |r| {
            Stretch::Each(r as i64)
        })?)
        .boxed(),
        RunIds::Ints(ids) => {
            PrimitiveArray::from_vec(per_run_column(n_runs, per_run, |r| Stretch::Each(ids[r]))?)
                .boxed()
        }
        RunIds::Strings(ids) => {
            let (keys, unique) = dictionary(ids);
            let keys = per_run_column(n_runs, per_run, |r| Stretch::Each(keys[r]))?;
            dictionary_column(keys, &unique)?
        }
    })
}

/// Turn the engine's result into Arrow columns (moving the value buffer).
fn build_frame(result: SweepResult, run_ids: RunIds) -> Result<PySweepFrame, BindError> {
    let SweepResult {
        n_runs,
        outputs,
        times,
        reduce,
        values,
        failures,
    } = result;
    let n_out = outputs.len();
    let failed: Vec<(usize, String, f64)> = failures
        .iter()
        .enumerate()
        .filter_map(|(r, f)| f.as_ref().map(|f| (r, f.variable.clone(), f.time)))
        .collect();
    let mut columns: Vec<(String, Box<dyn Array>, bool)> = Vec::new();
    if reduce.is_some() {
        // Wide: values are output-major, one contiguous slice per output.
        if let Some(clash) = outputs.iter().find(|o| o.as_str() == "run") {
            return Err(BindError::Engine(Error::BadSweep {
                message: format!("output '{clash}' has the name of the run column"),
            }));
        }
        let mut names = std::collections::HashSet::new();
        if let Some(dup) = outputs.iter().find(|o| !names.insert(o.as_str())) {
            return Err(BindError::Engine(Error::BadSweep {
                message: format!("output '{dup}' is selected twice"),
            }));
        }
        if values.len() != n_runs * n_out {
            return Err(BindError::Internal(
                "sweep output has the wrong size".into(),
            ));
        }
        let validity =
            (!failed.is_empty()).then(|| failures.iter().map(|f| f.is_none()).collect::<Bitmap>());
        let all = PrimitiveArray::from_vec(values);
        columns.push(("run".into(), run_column(&run_ids, n_runs, 1)?, false));
        for (o, name) in outputs.iter().enumerate() {
            let col = all
                .clone()
                .sliced(o * n_runs, n_runs)
                .with_validity(validity.clone());
            columns.push((name.clone(), col.boxed(), true));
        }
        return Ok(PySweepFrame {
            columns,
            len: n_runs,
            failures: failed,
            taken: false,
        });
    }
    // Long: rows are (run, time, output), exactly the engine's value order.
    let n_t = times.len();
    let per_run = n_t * n_out;
    let n_rows = n_runs * per_run;
    if values.len() != n_rows {
        return Err(BindError::Internal(
            "sweep output has the wrong size".into(),
        ));
    }
    // The index columns repeat one run's pattern n_runs times: copied in
    // parallel, a run per chunk.
    let (out_keys, unique) = dictionary(&outputs);
    let time_pattern: Vec<f64> = times
        .iter()
        .flat_map(|&t| std::iter::repeat_n(t, n_out))
        .collect();
    let key_pattern: Vec<u32> = times
        .iter()
        .flat_map(|_| out_keys.iter().copied())
        .collect();
    let (time, variable_keys, run) = simlin::sweep::on_process_pool(|| {
        (
            per_run_column(n_runs, per_run, |_| Stretch::Like(&time_pattern)),
            per_run_column(n_runs, per_run, |_| Stretch::Like(&key_pattern)),
            run_column(&run_ids, n_runs, per_run),
        )
    })?;
    let (time, variable_keys, run) = (time?, variable_keys?, run?);
    let validity = (!failed.is_empty()).then(|| {
        failures
            .iter()
            .flat_map(|f| std::iter::repeat_n(f.is_none(), per_run))
            .collect::<Bitmap>()
    });
    let value = PrimitiveArray::from_vec(values).with_validity(validity);
    columns.push(("run".into(), run, false));
    columns.push(("time".into(), PrimitiveArray::from_vec(time).boxed(), false));
    columns.push((
        "variable".into(),
        dictionary_column(variable_keys, &unique)?,
        false,
    ));
    columns.push(("value".into(), value.boxed(), true));
    Ok(PySweepFrame {
        columns,
        len: n_rows,
        failures: failed,
        taken: false,
    })
}

/// A dictionary-encoded string column and its strings.
type StringDictionary<'a> = (&'a DictionaryArray<u32>, &'a Utf8Array<i64>);

/// A dictionary-encoded string column's keys and strings (the only
/// dictionaries a frame holds: `variable` and string run ids), or `None`
/// for any other column.
fn string_dictionary(array: &dyn Array) -> Result<Option<StringDictionary<'_>>, BindError> {
    let Some(dict) = array.as_any().downcast_ref::<DictionaryArray<u32>>() else {
        return Ok(None);
    };
    let values = dict
        .values()
        .as_any()
        .downcast_ref::<Utf8Array<i64>>()
        .ok_or_else(|| BindError::Internal("dictionary values are not strings".into()))?;
    Ok(Some((dict, values)))
}

/// A sweep's outputs as Arrow columns (see the module docs for the layout).
/// Not frozen: pandas takes its number columns out whole
/// ([`PySweepFrame::take_column`]).
#[pyclass(module = "simlin._simlin", name = "SweepFrame")]
pub struct PySweepFrame {
    /// Name, array, nullable.
    columns: Vec<(String, Box<dyn Array>, bool)>,
    len: usize,
    /// `(row, variable, time)` of each failed run (`on_error="null"`).
    failures: Vec<(usize, String, f64)>,
    /// Whether a column was taken out ([`PySweepFrame::take_column`]):
    /// the frame is then only good for taking or reading other columns.
    taken: bool,
}

impl PySweepFrame {
    /// An error if a column was taken out, for the uses that need them all.
    fn whole(&self) -> Result<(), BindError> {
        if self.taken {
            return Err(BindError::Argument(
                "a column of this sweep frame was taken out (by a pandas conversion); \
                 it cannot be converted again"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Column `index`'s array, or an argument error naming the range.
    fn array(&self, index: usize) -> Result<&dyn Array, BindError> {
        self.columns
            .get(index)
            .map(|(_, array, _)| array.as_ref())
            .ok_or_else(|| {
                BindError::Argument(format!(
                    "column index {index} out of range ({} columns)",
                    self.columns.len()
                ))
            })
    }
}

#[pymethods]
impl PySweepFrame {
    /// Column names, in order.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.columns.iter().map(|(n, _, _)| n.clone()).collect()
    }

    /// Number of rows.
    fn __len__(&self) -> usize {
        self.len
    }

    /// `(row, variable, time)` for every run that failed.
    fn failures(&self) -> Vec<(usize, String, f64)> {
        self.failures.clone()
    }

    /// Column `index` for NumPy (pandas without pyarrow): a view of its
    /// values, plus the categories when it is dictionary-encoded (the view
    /// is then of the uint32 keys). Nulls (failed runs) read as NaN: such a
    /// column is copied with NaN written over them; every other column is
    /// a view of the frame's own buffer.
    fn numpy_column(&self, index: usize) -> Result<(ArrayView, Option<Vec<String>>), BindError> {
        let array = self.array(index)?;
        if let Some((dict, values)) = string_dictionary(array)? {
            let categories = values.values_iter().map(str::to_owned).collect();
            return Ok((
                ArrayView::new(dict.keys().clone().boxed())?,
                Some(categories),
            ));
        }
        if let (Some(validity), Some(floats)) = (
            array.validity(),
            array.as_any().downcast_ref::<PrimitiveArray<f64>>(),
        ) {
            let nan: Vec<f64> = floats
                .values()
                .iter()
                .zip(validity.iter())
                .map(|(&v, ok)| if ok { v } else { f64::NAN })
                .collect();
            return Ok((ArrayView::new(PrimitiveArray::from_vec(nan).boxed())?, None));
        }
        Ok((ArrayView::new(array.to_boxed())?, None))
    }

    /// Column `index` taken out of the frame as a writable NumPy block,
    /// without copying, when it is a float64 or int64 column with no
    /// nulls whose buffer the frame alone holds (a long frame's `run`,
    /// `time` and `value`); `None` otherwise (read it with
    /// `numpy_column`). The frame keeps an empty column in its place, so
    /// this is for a frame's last use: pandas, which must be able to write
    /// to its frame and would otherwise copy every column into its own
    /// blocks.
    fn take_column(&mut self, index: usize) -> Result<Option<Block>, BindError> {
        if self.array(index)?.validity().is_some() {
            return Ok(None);
        }
        let array = &mut self.columns[index].1;
        fn take<T: polars_arrow::types::NativeType>(array: &mut Box<dyn Array>) -> Option<Vec<T>> {
            let p = array.as_any_mut().downcast_mut::<PrimitiveArray<T>>()?;
            let empty = PrimitiveArray::<T>::new_empty(p.dtype().clone());
            let (dtype, values, validity) = std::mem::replace(p, empty).into_inner();
            match values.into_mut() {
                polars_arrow::Either::Right(vec) => Some(vec),
                polars_arrow::Either::Left(shared) => {
                    // Shared (a reduced frame's columns slice one buffer):
                    // put it back untouched.
                    *p = PrimitiveArray::new(dtype, shared, validity);
                    None
                }
            }
        }
        let block = match array.dtype() {
            ArrowDataType::Float64 => take::<f64>(array).map(Block::new),
            ArrowDataType::Int64 => take::<i64>(array).map(Block::ints),
            _ => None,
        };
        // Only a column actually taken leaves the frame incomplete.
        self.taken |= block.is_some();
        Ok(block)
    }

    /// Column `index` as Python objects when NumPy has no type for it: a
    /// list of strings for a string column, of lists of strings for a list
    /// column (a dominance frame's string run ids and loops); `None` for
    /// any other column (read it with `numpy_column`).
    fn object_column<'py>(
        &self,
        py: Python<'py>,
        index: usize,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let array = self.array(index)?;
        let any = array.as_any();
        let list = if let Some(strings) = any.downcast_ref::<Utf8Array<i64>>() {
            PyList::new(py, strings.values_iter())?
        } else if let Some(lists) = any.downcast_ref::<ListArray<i64>>() {
            let strings = lists
                .values()
                .as_any()
                .downcast_ref::<Utf8Array<i64>>()
                .ok_or_else(|| BindError::Internal("a list column not of strings".into()))?;
            let rows = lists
                .offsets()
                .windows(2)
                .map(|w| PyList::new(py, (w[0]..w[1]).map(|i| strings.value(i as usize))))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, rows)?
        } else {
            return Ok(None);
        };
        Ok(Some(list))
    }

    /// The same frame with columns renamed (`columns`: old → new name) and
    /// the strings of dictionary-encoded columns replaced (`categories`:
    /// old → new). Buffers are shared, not copied.
    fn renamed(
        &self,
        columns: HashMap<String, String>,
        categories: HashMap<String, String>,
    ) -> Result<PySweepFrame, BindError> {
        self.whole()?;
        let mut out = Vec::with_capacity(self.columns.len());
        for (name, array, nullable) in &self.columns {
            let mut array = array.clone();
            if let Some((dict, values)) = string_dictionary(array.as_ref())? {
                let relabelled: Vec<&str> = values
                    .values_iter()
                    .map(|v| categories.get(v).map_or(v, String::as_str))
                    .collect();
                let strings = Utf8Array::<i64>::from_slice(&relabelled).boxed();
                array = DictionaryArray::<u32>::try_from_keys(dict.keys().clone(), strings, false)
                    .map(|a| a.boxed())
                    .map_err(|e| BindError::Internal(format!("relabelling a column: {e}")))?;
            }
            let name = columns.get(name).cloned().unwrap_or_else(|| name.clone());
            out.push((name, array, *nullable));
        }
        Ok(PySweepFrame {
            columns: out,
            len: self.len,
            failures: self.failures.clone(),
            taken: false,
        })
    }

    /// Arrow PyCapsule interface: a stream of one struct array (one record
    /// batch) over the shared buffers.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // The schema is fixed; a request for another one may be ignored.
        let _ = requested_schema;
        self.whole()?;
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut values = Vec::with_capacity(self.columns.len());
        for (name, array, nullable) in &self.columns {
            fields.push(Field::new(
                name.as_str().into(),
                array.dtype().clone(),
                *nullable,
            ));
            values.push(array.clone());
        }
        let array = StructArray::try_new(ArrowDataType::Struct(fields), self.len, values, None)
            .map_err(|e| BindError::Internal(format!("building the sweep's record batch: {e}")))?;
        let field = Field::new("".into(), array.dtype().clone(), false);
        let stream = ffi::export_iterator(Box::new(std::iter::once(Ok(array.boxed()))), field);
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }
}
