//! Parameter sweeps: one compiled model, thousands of runs, in parallel.
//!
//! A sweep takes a table of parameter sets (one row per run, one column per
//! overridden constant, stock initial value or graphical function) and
//! returns either every run's saved series or per-run reductions. Nothing is
//! recompiled: each run differs only in its inputs, which are bound to slots
//! once per sweep ([`params`]).
//!
//! Runs are grouped into batches that advance in lockstep through
//! [`lanes::Lanes`] (several runs per decoded instruction), batches run in
//! parallel on rayon's pool, and each batch writes straight into its own
//! disjoint chunk of the output buffer ([`sink`]), so results are in run
//! order with no merging step. Run `r` (0-based row) uses the random seed
//! `seed + r`, so `CompiledModel::run` with that seed reproduces it exactly;
//! results are bit-identical for any thread count, batch width or engine.

mod each;
mod fold;
pub(crate) mod lanes;
mod params;
pub(crate) mod pointwise;
pub(crate) mod regs;
pub(crate) mod single;
pub(crate) mod sink;

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use std::sync::Mutex;

use crate::compile::{CompiledModel, SlotKind};
use crate::error::{Error, Result};
use crate::ir::{GraphicalFunction, Method};
use crate::vm::state::{output_slots, TimeGrid};
use crate::vm::RunOptions;

use lanes::{LaneInputs, Lanes};
pub use params::{Param, ParamValues};
use sink::Sink;

/// A per-run reduction computed in the engine instead of keeping series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reduce {
    /// The value at the final saved time.
    Final,
    /// The largest saved value (NaNs ignored).
    Max,
    /// The smallest saved value (NaNs ignored).
    Min,
    /// The arithmetic mean over the saved times.
    Mean,
    /// The value at a time, linearly interpolated between saved times.
    At(f64),
}

/// What happens when a run's numbers fail (a stock becomes NaN or infinite).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// The sweep fails with [`Error::RunFailed`] naming the first failed row.
    #[default]
    Raise,
    /// The run is reported in [`SweepResult::failures`]; callers show its
    /// values as nulls. No other run is affected.
    Null,
}

/// Which engine executes the runs. Both give bit-identical numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// Batches of runs in lockstep (the default).
    #[default]
    Batched,
    /// One run at a time (the one-lane case, as a single run executes):
    /// the baseline the benchmarks compare lockstep batches against.
    Scalar,
}

/// Options shared by every run of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepOptions {
    /// Output variables (any spelling; an arrayed name selects all its
    /// elements). `None` = stocks and flows only, which keeps memory bounded
    /// on models with many auxiliaries.
    pub outputs: Option<Vec<String>>,
    pub reduce: Option<Reduce>,
    pub method: Option<Method>,
    pub start: Option<f64>,
    pub stop: Option<f64>,
    pub dt: Option<f64>,
    pub save_step: Option<f64>,
    /// Base seed: row `r` runs with seed `seed + r`.
    pub seed: u64,
    /// Each row's own seed, in place of `seed + r`: a key that stays with
    /// the row however the rows are split into calls (the plugin's `run`
    /// column), so no two rows of one query share a random stream.
    pub run_seeds: Option<Vec<u64>>,
    pub on_error: OnError,
    /// Worker threads; `None` = the current rayon pool when called on one,
    /// else one thread per core.
    pub threads: Option<usize>,
    pub engine: Engine,
    /// Runs per lockstep batch: 1, 2, 4, 8, 16, 32 or 64; 0 (the default)
    /// picks by model size (see [`auto_batch`]).
    pub batch: usize,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            outputs: None,
            reduce: None,
            method: None,
            start: None,
            stop: None,
            dt: None,
            save_step: None,
            seed: 0,
            run_seeds: None,
            on_error: OnError::Raise,
            threads: None,
            engine: Engine::Batched,
            batch: 0,
        }
    }
}

/// The seed of the run whose key is the integer `key`: `seed + key`
/// (wrapping), so `CompiledModel::run` with that seed reproduces the run.
pub fn int_key_seed(seed: u64, key: i64) -> u64 {
    seed.wrapping_add(key as u64)
}

/// The seed of the run whose key is the string `key`: `seed` plus the
/// key's 64-bit FNV-1a hash, which is the same on every machine, process
/// and version (unlike std's randomly keyed hasher).
pub fn str_key_seed(seed: u64, key: &str) -> u64 {
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    seed.wrapping_add(h)
}

/// Completed-run counter and cancel flag, shared with the caller's thread
/// (progress bars, Ctrl-C).
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicUsize,
    cancel: AtomicBool,
}

impl Progress {
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Runs finished so far.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    /// Ask the sweep to stop; it returns [`Error::Cancelled`] soon after.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Why one run failed.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFailure {
    /// The stock that first became NaN or infinite.
    pub variable: String,
    pub time: f64,
}

/// A sweep's output.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResult {
    pub n_runs: usize,
    /// Output display names (array elements as `name[a,b]`).
    pub outputs: Vec<String>,
    /// The saved times (the series' time axis).
    pub times: Vec<f64>,
    /// The reduction applied, if any.
    pub reduce: Option<Reduce>,
    /// Without a reduction: run-major, `values[(run * times + t) * outputs + o]`
    /// (the long format's row order: run, time, variable). With one:
    /// output-major, `values[o * n_runs + run]` (one column per output).
    pub values: Vec<f64>,
    /// Per run: why it failed (only with [`OnError::Null`]).
    pub failures: Vec<Option<RunFailure>>,
}

/// What every sweep resolves before running: the time axis, outputs,
/// bound parameters and batch width.
struct Plan {
    grid: TimeGrid,
    times: Vec<f64>,
    outputs: Vec<u32>,
    bound: params::Bound,
    batch: usize,
}

/// The time axis every run of a sweep with `opts` shares.
pub(crate) fn sweep_grid(m: &CompiledModel, opts: &SweepOptions) -> Result<TimeGrid> {
    let run_opts = RunOptions {
        method: opts.method,
        start: opts.start,
        stop: opts.stop,
        dt: opts.dt,
        save_step: opts.save_step,
        ..RunOptions::default()
    };
    // Every run of a sweep shares one time axis, so a control variable
    // that the model computes during the run (Vensim's FINAL TIME = IF ...)
    // must be fixed by the caller.
    let moving = m.time_vars.unfixed_by(&run_opts);
    for (slot, what) in [
        (moving.stop, "stop"),
        (moving.dt, "dt"),
        (moving.save_step, "save_step"),
    ] {
        if let Some(s) = slot {
            return Err(Error::BadSweep {
                message: format!(
                    "{} changes during a run, but a sweep needs one time axis: pass {what}=...",
                    m.vars[s as usize].name
                ),
            });
        }
    }
    TimeGrid::resolve(m, &run_opts)
}

fn plan(m: &CompiledModel, n_runs: usize, params: &[Param], opts: &SweepOptions) -> Result<Plan> {
    let grid = sweep_grid(m, opts)?;
    let times = grid.save_times();
    let outputs = resolve_outputs(m, opts.outputs.as_deref())?;
    let bound = params::bind(m, n_runs, params)?;
    let batch = match opts.batch {
        0 => auto_batch(m),
        b @ (1 | 2 | 4 | 8 | 16 | 32 | 64) => b,
        b => {
            return Err(Error::BadSweep {
                message: format!("batch must be 0 (automatic), 1, 2, 4, 8, 16, 32 or 64, got {b}"),
            })
        }
    };
    if let Some(seeds) = &opts.run_seeds {
        if seeds.len() != n_runs {
            return Err(Error::BadSweep {
                message: format!("{} run seeds for {n_runs} runs", seeds.len()),
            });
        }
    }
    Ok(Plan {
        grid,
        times,
        outputs,
        bound,
        batch,
    })
}

/// Run `f` on the pool a sweep with `threads` uses: the process's pool of
/// that many threads, the current rayon pool (when already on one), or the
/// process's default sweep pool.
fn in_pool<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    match threads {
        Some(0) => Err(Error::BadSweep {
            message: "threads must be at least 1".into(),
        }),
        Some(n) => Ok(process_pool(Some(n))?.install(f)),
        None if rayon::current_thread_index().is_some() => Ok(f()),
        None => Ok(process_pool(None)?.install(f)),
    }
}

/// Run every row of `params` (`n_runs` rows) and collect the outputs.
pub fn sweep(
    m: &CompiledModel,
    n_runs: usize,
    params: &[Param],
    opts: &SweepOptions,
    progress: &Progress,
) -> Result<SweepResult> {
    let plan = plan(m, n_runs, params, opts)?;
    let sink = Sink::new(opts.reduce, &plan.times, plan.outputs.len())?;
    let job = Job::new(m, &plan, &sink, opts, progress);
    let per_run = sink.per_run();
    let cells = n_runs
        .checked_mul(per_run)
        .ok_or_else(|| Error::OutOfMemory {
            what: format!("{n_runs} runs x {per_run} values"),
            bytes: n_runs as u128 * per_run as u128 * 8,
        })?;
    let mut values = crate::buffers::reserved(
        cells,
        &format!("the sweep's {n_runs} runs x {per_run} values"),
    )?;
    let mut failures: Vec<Option<RunFailure>> = vec![None; n_runs];
    in_pool(opts.threads, || {
        job.run_fresh(
            &mut values.spare_capacity_mut()[..cells],
            &mut failures,
            opts.engine,
            plan.batch,
        )
    })?;
    // SAFETY: `run_fresh` initialised all `cells` values (each worker
    // fills its part before running into it, cancelled or not; a panic
    // would have left this function before here).
    unsafe { values.set_len(cells) };
    failed_sweep(&failures, opts, progress)?;
    if opts.reduce.is_some() {
        values = transpose(&values, n_runs, plan.outputs.len())?;
    }
    Ok(SweepResult {
        n_runs,
        outputs: plan
            .outputs
            .iter()
            .map(|&s| m.vars[s as usize].name.clone())
            .collect(),
        times: plan.times,
        reduce: opts.reduce,
        values,
        failures,
    })
}

/// Each chunk of [`sweep_watched`] keeps at most about this many bytes of
/// watched values.
const WATCHED_CHUNK_BYTES: usize = 64 << 20;

/// Run every row like [`sweep`] (no reduction: `opts.reduce` must be
/// `None`), handing each run's saved series to `each(run, times, series)`
/// as soon as its batch of runs finishes (`series[t * outputs + o]`, the
/// [`SweepResult`] order). A worker runs its batches one after another into
/// one buffer of its own, so a batch's series are read back from cache and
/// only a batch per worker is ever in memory. Returns the saved times and,
/// per run, `each`'s answer (`None` for a run that failed, with
/// [`OnError::Null`]).
pub fn sweep_each<R: Send>(
    m: &CompiledModel,
    n_runs: usize,
    params: &[Param],
    opts: &SweepOptions,
    progress: &Progress,
    each: impl Fn(usize, &[f64], &[f64]) -> R + Sync,
) -> Result<(Vec<f64>, Vec<Option<R>>)> {
    if opts.reduce.is_some() {
        return Err(Error::BadSweep {
            message: "a sweep handing out each run's series takes no reduction".into(),
        });
    }
    let plan = plan(m, n_runs, params, opts)?;
    let sink = Sink::new(None, &plan.times, plan.outputs.len())?;
    let job = Job::new(m, &plan, &sink, opts, progress);
    let times = &plan.times;
    let per_run = job.per_run();
    let mut failures: Vec<Option<RunFailure>> = vec![None; n_runs];
    let answers = in_pool(opts.threads, || {
        job.run_handing(
            &mut failures,
            opts.engine,
            plan.batch,
            &|first, out, failed| {
                (0..failed.len())
                    .map(|r| {
                        failed[r]
                            .is_none()
                            .then(|| each(first + r, times, &out[r * per_run..(r + 1) * per_run]))
                    })
                    .collect()
            },
        )
    })??;
    failed_sweep(&failures, opts, progress)?;
    Ok((plan.times, answers))
}

/// Run every row like [`sweep`] (no reduction: `opts.reduce` must be
/// `None`), folding each run's outputs at each saved time into a state of
/// its own as the run goes (see [`Fold`]), so no series is stored at all.
/// Returns the saved times and each run's final state (`None` for a run
/// that failed, with [`OnError::Null`]).
pub fn sweep_fold<S: Send>(
    m: &CompiledModel,
    n_runs: usize,
    params: &[Param],
    opts: &SweepOptions,
    progress: &Progress,
    fold: &impl Fold<S>,
) -> Result<(Vec<f64>, Vec<Option<S>>)> {
    if opts.reduce.is_some() {
        return Err(Error::BadSweep {
            message: "a sweep folding each run's series takes no reduction".into(),
        });
    }
    let plan = plan(m, n_runs, params, opts)?;
    let sink = Sink::new(None, &plan.times, plan.outputs.len())?;
    let job = Job::new(m, &plan, &sink, opts, progress);
    let mut failures: Vec<Option<RunFailure>> = vec![None; n_runs];
    let states = in_pool(opts.threads, || {
        job.run_folding(&mut failures, opts.engine, plan.batch, fold)
    })?;
    failed_sweep(&failures, opts, progress)?;
    let states = states
        .into_iter()
        .zip(&failures)
        .map(|(s, f)| s.filter(|_| f.is_none()))
        .collect();
    Ok((plan.times, states))
}

/// The error that ends a sweep whose runs have all been tried: it was
/// cancelled, or (with [`OnError::Raise`]) its first failed row.
fn failed_sweep(
    failures: &[Option<RunFailure>],
    opts: &SweepOptions,
    progress: &Progress,
) -> Result<()> {
    if progress.cancelled() {
        return Err(Error::Cancelled);
    }
    if opts.on_error == OnError::Raise {
        if let Some((row, f)) = failures
            .iter()
            .enumerate()
            .find_map(|(r, f)| f.as_ref().map(|f| (r, f)))
        {
            return Err(Error::RunFailed {
                row,
                variable: f.variable.clone(),
                time: f.time,
            });
        }
    }
    Ok(())
}

/// Run `job`'s rows chunk by chunk into one reused buffer of about
/// `chunk_bytes`, handing each chunk to `each_chunk(first row, values,
/// failures)` (values `job.per_run()` per run), on the sweep's pool. Fails
/// as [`sweep`] does: cancelled, or on the first failed row with
/// [`OnError::Raise`].
fn run_chunks(
    mut job: Job<'_>,
    n_runs: usize,
    opts: &SweepOptions,
    plan: &Plan,
    chunk_bytes: usize,
    mut each_chunk: impl FnMut(usize, &[f64], &[Option<RunFailure>]) + Send,
) -> Result<Vec<Option<RunFailure>>> {
    let batch = plan.batch;
    let per_run = job.per_run().max(1);
    let chunk = (chunk_bytes / (per_run * 8)).clamp(batch, 4096) / batch * batch;
    let mut buffer = crate::buffers::zeros(
        chunk.min(n_runs) * per_run,
        &format!("{} runs x {per_run} values", chunk.min(n_runs)),
    )?;
    let mut failures: Vec<Option<RunFailure>> = vec![None; n_runs];
    let progress = job.progress;
    in_pool(opts.threads, || {
        for first in (0..n_runs).step_by(chunk.max(1)) {
            if progress.cancelled() {
                return;
            }
            let n = chunk.min(n_runs - first);
            job.first_row = first;
            let out = &mut buffer[..n * per_run];
            let failed = &mut failures[first..first + n];
            job.run(out, failed, opts.engine, batch);
            each_chunk(first, out, failed);
        }
    })?;
    failed_sweep(&failures, opts, progress)?;
    Ok(failures)
}

/// What [`sweep_watched`] hands out per chunk of runs.
pub(crate) struct WatchedChunk<'a> {
    pub grid: TimeGrid,
    /// Every saved time of the sweep.
    pub times: &'a [f64],
    /// Saved times kept per run: all of them, or only the final one.
    pub points: usize,
    /// The sweep row of the chunk's first run.
    pub first: usize,
    /// Per run (`per_run` values each): the watched slots at the kept
    /// saved times, `[t * watch + j]`, then the same one step earlier
    /// (from `points * watch` on).
    pub values: &'a [f64],
    pub per_run: usize,
    pub failures: &'a [Option<RunFailure>],
}

impl WatchedChunk<'_> {
    /// The saved-time index of kept time `t`.
    pub fn saved_index(&self, t: usize) -> usize {
        t + self.times.len() - self.points
    }
}

/// Run every row (batched engine), keeping the `watch` slots at each saved
/// time (`final_only`: the last one only) and one step (dt) before it, as
/// loop scores read them, and hand them out chunk by chunk (about
/// [`WATCHED_CHUNK_BYTES`] each) to `each_chunk`. `opts.outputs` and
/// `opts.reduce` are ignored. Returns the saved times and each run's
/// failure (only with [`OnError::Null`]).
pub(crate) fn sweep_watched(
    m: &CompiledModel,
    n_runs: usize,
    params: &[Param],
    opts: &SweepOptions,
    progress: &Progress,
    (watch, final_only): (&[u32], bool),
    each_chunk: impl FnMut(WatchedChunk<'_>) + Send,
) -> Result<(Vec<f64>, Vec<Option<RunFailure>>)> {
    let opts = &SweepOptions {
        outputs: Some(Vec::new()),
        reduce: None,
        ..opts.clone()
    };
    let mut plan = plan(m, n_runs, params, opts)?;
    plan.outputs = watch.to_vec();
    let reduce = final_only.then_some(Reduce::Final);
    let sink = Sink::new(reduce, &plan.times, watch.len())?;
    let mut job = Job::new(m, &plan, &sink, opts, progress);
    job.previous = true;
    let per_run = job.per_run();
    let points = if final_only { 1 } else { plan.times.len() };
    let mut each_chunk = each_chunk;
    let failures = run_chunks(
        job,
        n_runs,
        opts,
        &plan,
        WATCHED_CHUNK_BYTES,
        |first, values, failures| {
            each_chunk(WatchedChunk {
                grid: plan.grid,
                times: &plan.times,
                points,
                first,
                values,
                per_run,
                failures,
            })
        },
    )?;
    Ok((plan.times, failures))
}

/// The lockstep width for a model: as many lanes as keep one batch's
/// registers within about 512 KiB (so they stay in a core's L2 cache),
/// between 8 and 32. Measured on SIR and a 300-variable model: 32 lanes
/// beat 16 by 5-20%, and 8 lanes keep big models' state cache-resident.
fn auto_batch(m: &CompiledModel) -> usize {
    let regs = m.vars.len() + m.max_stack + 64;
    let bytes_per_lane = regs * std::mem::size_of::<f64>();
    match 512 * 1024 / bytes_per_lane.max(1) {
        n if n >= 32 => 32,
        n if n >= 16 => 16,
        _ => 8,
    }
}

/// Output slots: the named variables, or every visible stock and flow.
fn resolve_outputs(m: &CompiledModel, names: Option<&[String]>) -> Result<Vec<u32>> {
    let Some(names) = names else {
        return Ok(m
            .outputs
            .iter()
            .copied()
            .filter(|&s| matches!(m.vars[s as usize].kind, SlotKind::Stock | SlotKind::Flow))
            .collect());
    };
    output_slots(m, names)
}

/// Run `f` on the process's sweep pool (see [`process_pool`]), for callers
/// that spread work of their own around a sweep (building its output
/// frame) without touching rayon's global pool, which a `fork` breaks.
pub fn on_process_pool<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R> {
    Ok(process_pool(None)?.install(f))
}

/// The pools sweeps run on: per process, one for each thread count asked
/// for (`None`: one thread per core), made on first use and kept (the four
/// sizes used last), so a sweep, or a plugin call on a small batch, does
/// not start threads of its own every time. Not rayon's global pool: a
/// `fork`ed child inherits that pool's state but none of its threads, so
/// the child's first sweep would wait forever. A child (a new process id)
/// makes pools of its own; the parent's, whose threads do not exist in the
/// child, are left alone.
fn process_pool(threads: Option<usize>) -> Result<Arc<rayon::ThreadPool>> {
    type Pools = Vec<(Option<usize>, Arc<rayon::ThreadPool>)>;
    static POOLS: Mutex<Option<(u32, Pools)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_some_and(|(owner, _)| *owner != pid) {
        // The inherited pools' threads are gone: dropping them would signal
        // them; forgetting them is all a child can do.
        if let Some(stale) = slot.take() {
            std::mem::forget(stale);
        }
    }
    let (_, pools) = slot.get_or_insert_with(|| (pid, Vec::new()));
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return Ok(pool.clone());
    }
    let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("simlin-sweep-{i}"));
    if let Some(n) = threads {
        builder = builder.num_threads(n);
    }
    let pool = Arc::new(builder.build().map_err(|e| Error::BadSweep {
        message: match threads {
            Some(n) => format!("cannot start {n} threads: {e}"),
            None => format!("cannot start the sweep's threads: {e}"),
        },
    })?);
    // A few sizes at most: a caller trying thread counts in turn does not
    // keep every pool's threads alive (a sweep still running keeps its own).
    if pools.len() == 4 {
        pools.remove(0);
    }
    pools.push((threads, pool.clone()));
    Ok(pool)
}

/// `rows × cols` row-major → column-major.
pub(crate) fn transpose(values: &[f64], rows: usize, cols: usize) -> Result<Vec<f64>> {
    let mut out = crate::buffers::zeros(values.len(), "the sweep's reduced values")?;
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    Ok(out)
}

/// A chunk of an initialised buffer, as it is.
fn as_is(cells: &mut [f64]) -> &mut [f64] {
    cells
}

/// A chunk of a buffer not yet initialised, set to zero.
fn zeroed(cells: &mut [MaybeUninit<f64>]) -> &mut [f64] {
    crate::buffers::init_fill(cells, 0.0)
}

/// `$body` with `$w` the lane width a job runs at: 1 on the scalar
/// engine, else the batch size when the engine is compiled for it, 16
/// otherwise.
macro_rules! at_width {
    ($engine:expr, $batch:expr, $w:ident => $body:expr) => {
        match ($engine, $batch) {
            (Engine::Scalar, _) | (Engine::Batched, 1) => {
                const $w: usize = 1;
                $body
            }
            (Engine::Batched, 2) => {
                const $w: usize = 2;
                $body
            }
            (Engine::Batched, 4) => {
                const $w: usize = 4;
                $body
            }
            (Engine::Batched, 8) => {
                const $w: usize = 8;
                $body
            }
            (Engine::Batched, 32) => {
                const $w: usize = 32;
                $body
            }
            (Engine::Batched, 64) => {
                const $w: usize = 64;
                $body
            }
            (Engine::Batched, _) => {
                const $w: usize = 16;
                $body
            }
        }
    };
}

/// Everything the workers share.
struct Job<'a> {
    m: &'a CompiledModel,
    /// The sweep row of the first run this job executes (runs are
    /// executed in chunks by [`sweep_watched`]).
    first_row: usize,
    grid: TimeGrid,
    outputs: &'a [u32],
    bound: &'a params::Bound,
    sink: &'a Sink,
    seed: u64,
    run_seeds: Option<&'a [u64]>,
    progress: &'a Progress,
    /// Also keep the outputs one step (dt) before each save the sink
    /// needs (at the initial time: the initial values), after the saved
    /// values in each run's slice, as loop scores read them (see
    /// [`sweep_watched`]). Batched engine only.
    previous: bool,
}

impl<'a> Job<'a> {
    /// The job of a whole sweep (`first_row` 0).
    fn new(
        m: &'a CompiledModel,
        plan: &'a Plan,
        sink: &'a Sink,
        opts: &'a SweepOptions,
        progress: &'a Progress,
    ) -> Job<'a> {
        Job {
            m,
            first_row: 0,
            grid: plan.grid,
            outputs: &plan.outputs,
            bound: &plan.bound,
            sink,
            seed: opts.seed,
            run_seeds: opts.run_seeds.as_deref(),
            progress,
            previous: false,
        }
    }

    /// Values per run in the output buffer.
    fn per_run(&self) -> usize {
        self.sink.per_run() * if self.previous { 2 } else { 1 }
    }

    fn seed_of(&self, row: usize) -> u64 {
        let row = self.first_row + row;
        match self.run_seeds {
            Some(seeds) => seeds.get(row).copied().unwrap_or(self.seed),
            None => self.seed.wrapping_add(row as u64),
        }
    }

    /// Record a non-finite stock as the run's failure (the first one wins).
    fn check_stocks(
        &self,
        failure: &mut Option<RunFailure>,
        time: f64,
        value: impl Fn(u32) -> f64,
    ) {
        if failure.is_some() {
            return;
        }
        if let Some(s) = self.m.stocks.iter().find(|s| !value(s.slot).is_finite()) {
            *failure = Some(RunFailure {
                variable: self.m.vars[s.slot as usize].name.clone(),
                time,
            });
        }
    }

    /// Execute this job's runs (`failures.len()` of them) into `values`.
    fn run(
        &self,
        values: &mut [f64],
        failures: &mut [Option<RunFailure>],
        engine: Engine,
        batch: usize,
    ) {
        at_width!(engine, batch, W => self.run_batched::<W, f64>(values, failures, as_is))
    }

    /// [`Job::run`] into a buffer not yet initialised: each worker sets its
    /// batch's part to zero just before running into it, so the buffer is
    /// paged in by all workers at once and is still in cache when the runs
    /// write it (zeroing it all first, on one thread, cost a tenth of a
    /// long-format sweep).
    fn run_fresh(
        &self,
        values: &mut [MaybeUninit<f64>],
        failures: &mut [Option<RunFailure>],
        engine: Engine,
        batch: usize,
    ) {
        at_width!(engine, batch, W => self.run_batched::<W, MaybeUninit<f64>>(values, failures, zeroed))
    }

    /// Run the batches of `W` runs in parallel, each into its chunk of
    /// `values` made ready by `prepare`.
    fn run_batched<const W: usize, C: Send>(
        &self,
        values: &mut [C],
        failures: &mut [Option<RunFailure>],
        prepare: fn(&mut [C]) -> &mut [f64],
    ) {
        let per_run = self.per_run();
        let m = self.m;
        values
            .par_chunks_mut((W * per_run).max(1))
            .zip(failures.par_chunks_mut(W))
            .enumerate()
            .for_each_init(
                || Lanes::<W>::new(m, self.grid).folding(),
                |lanes, (batch, (out, failed))| {
                    self.run_batch(lanes, batch * W, prepare(out), failed);
                },
            );
    }

    /// Execute the job's runs (`failures.len()` of them) batch by batch,
    /// each worker into one buffer of its own reused from batch to batch,
    /// so that a batch's values are still in cache when `each_batch(first
    /// run, values, failures)` reads them; its answers in run order (none
    /// for a batch skipped once the sweep is cancelled). Fails only if a
    /// worker cannot allocate its buffer.
    fn run_handing<R: Send>(
        &self,
        failures: &mut [Option<RunFailure>],
        engine: Engine,
        batch: usize,
        each_batch: &EachBatch<'_, R>,
    ) -> Result<Vec<R>> {
        at_width!(engine, batch, W => self.run_handing_w::<W, R>(failures, each_batch))
    }

    fn run_handing_w<const W: usize, R: Send>(
        &self,
        failures: &mut [Option<RunFailure>],
        each_batch: &EachBatch<'_, R>,
    ) -> Result<Vec<R>> {
        let per_run = self.per_run();
        let m = self.m;
        let no_memory: Mutex<Option<Error>> = Mutex::new(None);
        let answers: Vec<Vec<R>> = failures
            .par_chunks_mut(W)
            .enumerate()
            .map_init(
                || (Lanes::<W>::new(m, self.grid).folding(), Vec::new()),
                |(lanes, buffer), (batch, failed)| {
                    let need = failed.len() * per_run;
                    if buffer.len() < need {
                        match crate::buffers::zeros(need, &format!("{W} runs x {per_run} values")) {
                            Ok(b) => *buffer = b,
                            Err(e) => {
                                // The sweep fails with this error: stop the
                                // other workers rather than run in vain.
                                self.progress.cancel();
                                if let Ok(mut slot) = no_memory.lock() {
                                    slot.get_or_insert(e);
                                }
                                return Vec::new();
                            }
                        }
                    }
                    let out = &mut buffer[..need];
                    if !self.run_batch(lanes, batch * W, out, failed) {
                        return Vec::new();
                    }
                    each_batch(batch * W, out, failed)
                },
            )
            .collect();
        if let Some(e) = no_memory.into_inner().ok().flatten() {
            return Err(e);
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// Execute the job's runs `first..first + failed.len()` into `out`
    /// (`per_run()` values each) on `lanes`; false if the sweep was
    /// cancelled before it began.
    fn run_batch<const W: usize>(
        &self,
        lanes: &mut Lanes<W>,
        first: usize,
        out: &mut [f64],
        failed: &mut [Option<RunFailure>],
    ) -> bool {
        let per_run = self.per_run();
        let half = self.sink.per_run();
        self.run_batch_saving(lanes, first, failed, |lanes, ti, previous| {
            let offset = if previous { half } else { 0 };
            self.sink.save(out, per_run, offset, ti, |o| {
                *lanes.lanes_of(self.outputs[o])
            });
        })
    }

    /// Execute the job's runs `first..first + failed.len()` on `lanes`,
    /// calling `save(lanes, saved index, previous)` where the runs' outputs
    /// are kept (lane `l` holding run `first + l`): at each saved time the
    /// sink needs, and (with `previous`) one step before it. False if the sweep was cancelled
    /// before it began.
    fn run_batch_saving<const W: usize>(
        &self,
        lanes: &mut Lanes<W>,
        first: usize,
        failed: &mut [Option<RunFailure>],
        mut save: impl FnMut(&Lanes<W>, usize, bool),
    ) -> bool {
        if self.progress.cancelled() {
            return false;
        }
        let m = self.m;
        let n = failed.len();
        let rows: Vec<_> = (first..first + n)
            .map(|r| self.bound.row(self.first_row + r))
            .collect();
        let inputs: Vec<LaneInputs<'_>> = rows
            .iter()
            .enumerate()
            .map(|(l, (values, tables))| LaneInputs {
                values,
                tables,
                seed: self.seed_of(first + l),
            })
            .collect();
        lanes.load(m, &inputs);
        lanes.initialize(m);
        let mut ti = 0;
        loop {
            if !lanes.stocks_finite() {
                let time = lanes.time();
                for (l, f) in failed.iter_mut().enumerate() {
                    self.check_stocks(f, time, |s| lanes.value(s, l));
                }
            }
            if lanes.saves_now() && self.sink.needs(ti) {
                save(lanes, ti, false);
                if self.previous && ti == 0 {
                    save(lanes, ti, true);
                }
            }
            if lanes.saves_now() {
                ti += 1;
            }
            if lanes.is_done() {
                break;
            }
            if self.previous && lanes.next_saves() && self.sink.needs(ti) {
                // The values one step before save `ti`.
                save(lanes, ti, true);
            }
            lanes.step_once(m);
        }
        self.progress.done.fetch_add(n, Ordering::Relaxed);
        true
    }

    /// Execute the job's runs (`failures.len()` of them) batch by batch,
    /// folding each run's outputs at each saved time into a state of its
    /// own (`init(run)`, then `fold(state, value of output o)`) instead of
    /// storing them; the states in run order, `None` for a batch skipped
    /// once the sweep is cancelled.
    fn run_folding<S: Send, F: Fold<S>>(
        &self,
        failures: &mut [Option<RunFailure>],
        engine: Engine,
        batch: usize,
        fold: &F,
    ) -> Vec<Option<S>> {
        at_width!(engine, batch, W => self.run_folding_w::<W, S, F>(failures, fold))
    }

    fn run_folding_w<const W: usize, S: Send, F: Fold<S>>(
        &self,
        failures: &mut [Option<RunFailure>],
        fold: &F,
    ) -> Vec<Option<S>> {
        let m = self.m;
        let n_out = self.outputs.len();
        let states: Vec<Vec<Option<S>>> = failures
            .par_chunks_mut(W)
            .enumerate()
            .map_init(
                || (Lanes::<W>::new(m, self.grid).folding(), Vec::new()),
                |(lanes, row), (batch, failed)| {
                    let first = batch * W;
                    let n = failed.len();
                    let mut states: Vec<S> = (first..first + n).map(|r| fold.init(r)).collect();
                    // A lane's outputs at a saved time, side by side.
                    row.resize(n_out, 0.0);
                    let ran = self.run_batch_saving(lanes, first, failed, |lanes, _, _| {
                        for (l, state) in states.iter_mut().enumerate() {
                            for (cell, &slot) in row.iter_mut().zip(self.outputs) {
                                *cell = lanes.value(slot, l);
                            }
                            fold.step(state, row);
                        }
                    });
                    if !ran {
                        return failed.iter().map(|_| None).collect();
                    }
                    states.into_iter().map(Some).collect()
                },
            )
            .collect();
        states.into_iter().flatten().collect()
    }
}

/// How [`sweep_fold`] folds each run's outputs: `init(run)` makes a run's
/// state, `step(state, values)` takes one saved time, `values[o]` being
/// output `o` then. Implemented for a pair of closures `(init, step)`.
pub trait Fold<S>: Sync {
    fn init(&self, run: usize) -> S;
    fn step(&self, state: &mut S, values: &[f64]);
}

impl<S, I, F> Fold<S> for (I, F)
where
    I: Fn(usize) -> S + Sync,
    F: Fn(&mut S, &[f64]) + Sync,
{
    fn init(&self, run: usize) -> S {
        (self.0)(run)
    }

    fn step(&self, state: &mut S, values: &[f64]) {
        (self.1)(state, values)
    }
}

/// What [`Job::run_handing`] calls with each batch it finishes: `(first
/// run, values, failures)` to the batch's answers, one per run.
type EachBatch<'f, R> = dyn Fn(usize, &[f64], &[Option<RunFailure>]) -> Vec<R> + Sync + 'f;

/// Shared by [`params`]: one run's replacement tables.
pub(crate) type TableInputs = Vec<(u32, Arc<GraphicalFunction>)>;

#[cfg(test)]
mod tests;
