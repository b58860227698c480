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
use crate::results::{Results, Staged};
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
            .map(|_| crate::buffers::reserved(rows, &what()))
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
