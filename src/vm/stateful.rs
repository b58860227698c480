//! What the stateful ops (PREVIOUS, INIT, DELAY, DELAY FIXED, SAMPLE IF
//! TRUE, random draws) compute, written once over one run's cells.
//!
//! The scalar interpreter and the batched sweep engine both call these, each
//! with its own storage layout, so a run gives bit-identical numbers whichever
//! engine executes it.

use crate::compile::program::StatefulKind;
use crate::vm::random;

/// The run clock a stateful op sees (identical for every run of a batch).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub time: f64,
    pub dt: f64,
    pub start: f64,
    pub step: u64,
    pub initializing: bool,
}

/// One stateful op's cells in one run.
pub(crate) struct Cells<'a> {
    /// PREVIOUS value, INIT value, DELAY initial value, held sample.
    pub state: &'a mut f64,
    /// A second number (DELAY FIXED's lag in steps).
    pub aux: &'a mut f64,
    /// Recorded DELAY input, one value per committed step.
    pub history: &'a [f64],
}

/// Evaluate stateful op `id` of kind `kind` with this phase's arguments.
pub(crate) fn eval(
    kind: StatefulKind,
    id: usize,
    args: &[f64],
    clock: &Clock,
    seed: u64,
    cells: Cells<'_>,
) -> f64 {
    let arg = |i: usize| args.get(i).copied().unwrap_or(0.0);
    match kind {
        StatefulKind::Previous | StatefulKind::Init => {
            if clock.initializing {
                *cells.state = arg(0);
                arg(0)
            } else {
                *cells.state
            }
        }
        StatefulKind::Delay => {
            if clock.initializing {
                *cells.state = arg(0);
                return arg(0);
            }
            delayed(clock, *cells.state, cells.history, arg(0))
        }
        StatefulKind::DelayFixed => {
            if clock.initializing {
                // Vensim DELAY FIXED: the delay is read once, at the initial
                // time, and rounded to whole steps (at least one).
                *cells.state = arg(0);
                let steps = (arg(1) / clock.dt).round();
                *cells.aux = if steps.is_finite() {
                    steps.max(1.0)
                } else {
                    1.0
                };
                return arg(0);
            }
            let lag = *cells.aux as u64;
            match clock.step.checked_sub(lag) {
                Some(k) => cells
                    .history
                    .get(k as usize)
                    .copied()
                    .unwrap_or(*cells.state),
                None => *cells.state,
            }
        }
        StatefulKind::SampleIfTrue => {
            if clock.initializing {
                let v = if arg(0) != 0.0 { arg(1) } else { arg(2) };
                *cells.state = v;
                return v;
            }
            if arg(0) != 0.0 {
                arg(1)
            } else {
                *cells.state
            }
        }
        StatefulKind::Random(kind) => {
            let seed = if args.len() > kind.params() {
                if kind.is_vensim() {
                    random::vensim_seed(seed, arg(kind.params()))
                } else {
                    arg(kind.params()) as u64
                }
            } else {
                seed
            };
            random::draw(
                kind,
                &args[..kind.params().min(args.len())],
                seed,
                id as u64,
                clock.step,
            )
        }
    }
}

/// After a committed step: store `v` into the op's cells. Returns true when
/// `v` must be appended to the op's history.
#[inline]
pub(crate) fn record(kind: StatefulKind, v: f64, state: &mut f64) -> bool {
    match kind {
        StatefulKind::Previous | StatefulKind::SampleIfTrue => {
            *state = v;
            false
        }
        StatefulKind::Delay | StatefulKind::DelayFixed => true,
        _ => false,
    }
}

/// The recorded input of a DELAY at `time - delay`, linearly interpolated
/// between saved steps; its initial value before the start.
fn delayed(clock: &Clock, initial: f64, hist: &[f64], delay: f64) -> f64 {
    let pos = (clock.time - delay - clock.start) / clock.dt;
    if pos < -1e-9 || hist.is_empty() {
        return initial;
    }
    let pos = pos.max(0.0);
    let i0 = (pos + 1e-9).floor() as usize;
    if i0 + 1 >= hist.len() {
        return hist[hist.len() - 1];
    }
    let frac = pos - i0 as f64;
    if frac < 1e-9 {
        hist[i0]
    } else {
        hist[i0] + (hist[i0 + 1] - hist[i0]) * frac
    }
}
