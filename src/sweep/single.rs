//! A whole single run on the batched engine: its one-lane case, with the
//! run's constants folded into the step program.
//!
//! `CompiledModel::run` goes through here whenever the time axis is fixed
//! before the run starts. Runs whose stop time or step the model itself
//! changes during the run go step by step through [`crate::vm::Sim`]
//! instead, on the same one-lane engine without folding (a computed DT or
//! FINAL TIME is not a constant), as does the stepwise `Sim` (which may
//! change values between steps).
//!
//! The run's overrides, outputs and result storage are exactly the stepwise
//! run's: a [`RunState`] is built as for that run (which validates every
//! override and reserves the results), and its fixed values and replaced
//! tables become the lane's inputs.

use super::lanes::LaneInputs;
use crate::compile::CompiledModel;
use crate::error::{Error, Result};
use crate::results::Results;
use crate::vm::state::{RunState, TimeGrid};
use crate::vm::RunOptions;

/// Run on one lane, or `None` when the run must go step by step (see `Sim`)
/// (a stop time, step or save interval computed during the run).
pub(crate) fn run(m: &CompiledModel, opts: &RunOptions) -> Result<Option<Results>> {
    Ok(run_watched(m, opts, &[])?.map(|(r, _)| r))
}

/// The values of some slots at every saved time and one step (dt) before
/// it, as loop scores need them (see [`crate::loops::score`]).
#[derive(Debug)]
pub(crate) struct Watched {
    /// `current[j][t]`: slot `watch[j]` at saved time `t`.
    pub current: Vec<Vec<f64>>,
    /// The same one step earlier (at the initial time: the initial value);
    /// empty when every step is saved (then it is the previous row of
    /// `current`).
    pub previous: Vec<Vec<f64>>,
    /// The run's time axis (DT, INITIAL and FINAL TIME for the scores).
    pub grid: TimeGrid,
}

/// [`run`], also keeping the `watch` slots' values at each saved time and
/// one step before it. Copying them costs a few loads per saved step; the
/// run itself is the plain model's, so its results are bit-identical.
pub(crate) fn run_watched(
    m: &CompiledModel,
    opts: &RunOptions,
    watch: &[u32],
) -> Result<Option<(Results, Watched)>> {
    if !m.time_vars.unfixed_by(opts).is_empty() {
        return Ok(None);
    }
    let state = RunState::new(m, opts)?;
    let grid = state.grid();
    let (values, tables) = state.inputs(m);
    let RunState {
        lanes,
        outputs,
        mut results,
        ..
    } = state;
    // The whole run's constants are known once initialised: fold them.
    let mut lanes = lanes.folding();
    lanes.load(
        m,
        &[LaneInputs {
            values: &values,
            tables: &tables,
            seed: opts.seed,
        }],
    );
    lanes.initialize(m);
    let every_step = grid.save_every == 1;
    let rows = results.times.capacity() + 1;
    let what = || {
        format!(
            "{rows} saved values of {} variables for loop scores",
            watch.len()
        )
    };
    let columns = |k: usize| -> Result<Vec<Vec<f64>>> {
        (0..k)
            .map(|_| crate::error::reserved(rows, &what()))
            .collect()
    };
    let mut watched = Watched {
        current: columns(watch.len())?,
        previous: columns(if every_step { 0 } else { watch.len() })?,
        grid,
    };
    let mut before: Vec<f64> = watch.iter().map(|&s| lanes.value(s, 0)).collect();
    let keep_before = !watch.is_empty() && !every_step;
    let mut saved = Staged::new(outputs.len());
    let mut current = Staged::new(watch.len());
    let mut previous = Staged::new(if keep_before { watch.len() } else { 0 });
    let mut n: u32 = 0;
    loop {
        if lanes.saves_now() {
            results.times.push(lanes.time());
            saved.push(
                outputs.iter().map(|&s| lanes.value(s, 0)),
                &mut results.columns,
            );
            current.push(
                watch.iter().map(|&s| lanes.value(s, 0)),
                &mut watched.current,
            );
            if keep_before {
                previous.push(before.iter().copied(), &mut watched.previous);
            }
        }
        if lanes.is_done() {
            break;
        }
        if keep_before && lanes.next_saves() {
            for (b, &s) in before.iter_mut().zip(watch) {
                *b = lanes.value(s, 0);
            }
        }
        lanes.step_once(m);
        n = n.wrapping_add(1);
        if n.is_multiple_of(64) && opts.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(Error::Cancelled);
        }
    }
    saved.flush(&mut results.columns);
    current.flush(&mut watched.current);
    previous.flush(&mut watched.previous);
    Ok(Some((results, watched)))
}

/// Saved rows staged row-major and written to their columns [`Staged::ROWS`]
/// at a time. Pushing one value per column per saved step stores to a
/// different cache line (and reads a different `Vec` header) for every
/// column, which on the 1,000-region arrayed SIR (7,005 columns) was half
/// of the run; staged, each column receives a whole cache line of values
/// at once, and each step's gather writes one row in order.
struct Staged {
    rows: Vec<f64>,
    width: usize,
    filled: usize,
}

impl Staged {
    /// Rows per flush: one 64-byte cache line of `f64` per column.
    const ROWS: usize = 8;

    fn new(width: usize) -> Staged {
        Staged {
            rows: vec![0.0; width * Self::ROWS],
            width,
            filled: 0,
        }
    }

    /// Stage one row (`width` values, in column order), flushing to
    /// `columns` when the stage is full.
    fn push(&mut self, row: impl Iterator<Item = f64>, columns: &mut [Vec<f64>]) {
        if self.width == 0 {
            return;
        }
        let at = self.filled * self.width;
        for (slot, v) in self.rows[at..at + self.width].iter_mut().zip(row) {
            *slot = v;
        }
        self.filled += 1;
        if self.filled == Self::ROWS {
            self.flush(columns);
        }
    }

    /// Append the staged rows to `columns` (column `c` takes value `c` of
    /// each row, in row order).
    ///
    /// Each column's tail is a cache line no other column shares, cold
    /// when a model has thousands of columns, and the hardware prefetcher
    /// cannot follow thousands of streams; so the line column `c + AHEAD`
    /// is about to write is fetched while column `c` is written. On the
    /// 1,000-region arrayed SIR this took a tenth off the run (40.2 to
    /// 36.0 ms, best of 30); 8 to 128 columns ahead were tried, 32 was best.
    fn flush(&mut self, columns: &mut [Vec<f64>]) {
        const AHEAD: usize = 32;
        let (k, w) = (self.filled, self.width);
        for c in 0..w.min(columns.len()) {
            #[cfg(target_arch = "x86_64")]
            if let Some(next) = columns.get(c + AHEAD) {
                let at = next.as_ptr().wrapping_add(next.len()) as *const i8;
                // SAFETY: SSE is baseline on x86_64, and a prefetch is only
                // a hint: it never faults, whatever the address.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at)
                };
            }
            columns[c].extend((0..k).map(|r| self.rows[r * w + c]));
        }
        self.filled = 0;
    }
}
