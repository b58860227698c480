//! What the stateful ops (PREVIOUS, INIT, DELAY, DELAY FIXED, DELAY
//! MATERIAL, DELAY INFORMATION, SAMPLE IF TRUE, random draws) compute,
//! written once over one run's cells.
//!
//! The batched engine's stack and register interpreters both call these,
//! so a run gives bit-identical numbers whichever form of its code runs.

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
    /// Inside a Runge-Kutta stage (between committed steps).
    pub in_stage: bool,
}

/// One stateful op's cells in one run.
pub(crate) struct Cells<'a> {
    /// PREVIOUS value, INIT value, DELAY initial value, held sample.
    pub state: &'a mut f64,
    /// A second number (DELAY FIXED's and DELAY MATERIAL's initial lag in
    /// steps, isee DELAY's lag from the initial time).
    pub aux: &'a mut f64,
    /// Recorded DELAY input, one value per committed step (three for the
    /// variable pipelines: see [`record`]).
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
        StatefulKind::Held => {
            if clock.in_stage {
                *cells.state
            } else {
                arg(0)
            }
        }
        StatefulKind::Delay => {
            // isee DELAY: "a fixed lag time of delay duration ... If you
            // specify delay duration as a variable, the DELAY function uses
            // the initial value for its fixed lag time" (Stella help): the
            // lag is kept from here. Step code passes a lag only for a
            // lookback whose lag moves (isee HISTORY).
            if clock.initializing {
                *cells.state = arg(0);
                *cells.aux = arg(1);
                return arg(0);
            }
            let lag = args.first().copied().unwrap_or(*cells.aux);
            delayed(clock, *cells.state, cells.history, lag)
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
        StatefulKind::DelayMaterial | StatefulKind::DelayInformation => {
            if clock.initializing {
                *cells.state = arg(0);
                *cells.aux = lag_steps(arg(1), clock.dt) as f64;
                return arg(0);
            }
            let k = clock.step;
            if kind == StatefulKind::DelayInformation {
                return latest_arrived(cells.history, clock.dt, k).unwrap_or(*cells.state);
            }
            let (sum, any) = leaving(cells.history, clock.dt, k);
            if (k as f64) < *cells.aux {
                *cells.state + sum
            } else if any {
                sum
            } else {
                arg(0)
            }
        }
        StatefulKind::DepreciateStraightline => {
            let (x, dtime, fisc) = if clock.initializing {
                *cells.state = arg(0);
                (arg(1), arg(2), arg(3))
            } else {
                (arg(0), arg(1), arg(2))
            };
            depreciate(cells.history, *cells.state, clock, x, dtime, fisc)
        }
        StatefulKind::ConveyorLeak => {
            let (zone_args, x) = if clock.initializing {
                *cells.state = arg(0);
                *cells.aux = crate::compile::conveyor::slats(arg(1), clock.dt) as f64;
                (&args[2.min(args.len())..], None)
            } else {
                (args, Some(cells.history))
            };
            let at = |i: usize| zone_args.get(i).copied().unwrap_or(0.0);
            conveyor_leak(
                *cells.aux as u64,
                *cells.state,
                x,
                clock,
                [at(0), at(1), at(2)],
                at(3),
            )
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
            let p = kind.params();
            let seed = if args.len() > p {
                if kind.is_vensim() {
                    random::vensim_seed(seed, arg(p))
                } else if arg(p).is_nan() {
                    // isee: a seed of NAN means no seed of its own.
                    seed
                } else {
                    arg(p) as u64
                }
            } else {
                seed
            };
            let params = &args[..p.min(args.len())];
            if !kind.is_vensim() && args.len() == p + 3 {
                let bounds = [arg(p + 1), arg(p + 2)];
                return random::draw_within(kind, params, bounds, seed, id as u64, clock.step);
            }
            random::draw(kind, params, seed, id as u64, clock.step)
        }
    }
}

/// After a committed step: store `v` into the op's cells.
///
/// DELAY MATERIAL and DELAY INFORMATION record two values per step, the
/// input x_j and then its delay time d_j; the history keeps the triple
/// (x_j, d_j, largest d so far), so that finding what leaves at a step
/// looks back only as far as the longest delay seen.
#[inline]
pub(crate) fn record(kind: StatefulKind, v: f64, state: &mut f64, history: &mut Vec<f64>) {
    match kind {
        StatefulKind::Previous | StatefulKind::SampleIfTrue | StatefulKind::Held => *state = v,
        StatefulKind::Delay | StatefulKind::DelayFixed | StatefulKind::DepreciateStraightline => {
            history.push(v)
        }
        // Each input and the running sum of the inputs so far.
        StatefulKind::ConveyorLeak => {
            let sum = history.last().copied().unwrap_or(0.0) + v;
            history.push(v);
            history.push(sum);
        }
        StatefulKind::DelayMaterial | StatefulKind::DelayInformation => {
            if history.len() % 3 == 1 {
                let longest = match history.len() {
                    1 => v,
                    n => history[n - 2].max(v),
                };
                history.push(v);
                history.push(longest);
            } else {
                history.push(v);
            }
        }
        _ => {}
    }
}

/// An isee conveyor's leakage at step `clock.step` on a belt of `n` slats
/// (see [`crate::compile::conveyor`]). What entered `k` steps ago is the
/// recorded input of step `step - k` (`history` holds each input and the
/// running sum of the inputs, so a linear zone's total is one difference),
/// or `init` (the rate the initial contents entered at) for ages beyond the
/// run so far and while initializing (`history` None). `[start, end, f]`
/// is the leakage zone and fraction; `mode` 0 linear, 1 exponential, 2 the
/// exponential leakage's survival `(1 - f DT)^z`. A belt longer than
/// [`crate::compile::conveyor::MAX_SLATS`] gives NaN.
fn conveyor_leak(
    n: u64,
    init: f64,
    history: Option<&[f64]>,
    clock: &Clock,
    [start, end, f]: [f64; 3],
    mode: f64,
) -> f64 {
    if n > crate::compile::conveyor::MAX_SLATS {
        return f64::NAN;
    }
    let (k1, k2) = crate::compile::conveyor::zone(n, start, end);
    let z = (k2 - k1 + 1) as f64;
    // Ages up to `recorded` have a recorded input; older ones entered
    // before the start, at `init`.
    let h = history.unwrap_or(&[]);
    let recorded = ((h.len() / 2) as u64).min(clock.step);
    let input = |k: u64| {
        h.get(2 * (clock.step - k) as usize)
            .copied()
            .unwrap_or(init)
    };
    let prefix = |j: u64| h.get(2 * j as usize + 1).copied().unwrap_or(0.0);
    let keep = 1.0 - f * clock.dt;
    match mode.round() as i64 {
        0 => {
            // Recorded ages k1..=last: steps step - last ..= step - k1.
            let last = k2.min(recorded);
            let mut total = 0.0;
            if last >= k1 {
                let (lo, hi) = (clock.step - last, clock.step - k1);
                total += prefix(hi) - if lo == 0 { 0.0 } else { prefix(lo - 1) };
            }
            let before = k2 - last.max(k1 - 1);
            total += before as f64 * init;
            f * total / z
        }
        1 => {
            let last = k2.min(recorded);
            let mut weight = 1.0;
            let mut total = 0.0;
            for k in k1..=last {
                total += weight * input(k);
                weight *= keep;
            }
            // The older ages, all at `init`: a geometric series.
            let before = k2 - last.max(k1 - 1);
            if before > 0 {
                let series = if keep == 1.0 {
                    before as f64
                } else {
                    (1.0 - keep.powf(before as f64)) / (1.0 - keep)
                };
                total += weight * init * series;
            }
            // What each slat of the zone loses this step, as a rate.
            f * clock.dt * total
        }
        _ => keep.powf(z),
    }
}

/// A delay time in whole steps, as DELAY FIXED reads it: rounded, at least
/// one step (also for a delay time that is not a number); an infinite one
/// never ends.
fn lag_steps(delay: f64, dt: f64) -> u64 {
    let steps = (delay / dt).round();
    if steps.is_nan() || steps < 1.0 {
        1
    } else {
        // `as` saturates: a delay beyond u64 steps never ends either.
        steps as u64
    }
}

/// The recorded inputs (j, x_j, d_j) of a variable pipeline that may leave
/// at step `k`, newest first: the steps `j < k` back to the longest delay
/// recorded (no input leaves later than that). Per step this costs the
/// longest delay in steps, so a delay time that is once very long (or
/// infinite) makes every later step scan all the steps so far.
fn recent(history: &[f64], dt: f64, k: u64) -> impl Iterator<Item = (u64, f64, f64)> + '_ {
    let n = ((history.len() / 3) as u64).min(k);
    let back = match n {
        0 => 0,
        _ => lag_steps(history[(n as usize - 1) * 3 + 2], dt).min(n),
    };
    (n - back..n).rev().map(move |j| {
        let i = j as usize * 3;
        (j, history[i], history[i + 1])
    })
}

/// DELAY MATERIAL: the sum of the inputs that leave at step `k`, and
/// whether any does.
fn leaving(history: &[f64], dt: f64, k: u64) -> (f64, bool) {
    let mut sum = 0.0;
    let mut any = false;
    for (j, x, d) in recent(history, dt, k) {
        if j.saturating_add(lag_steps(d, dt)) == k {
            sum += x;
            any = true;
        }
    }
    (sum, any)
}

/// DELAY INFORMATION: the newest input that has left by step `k`.
fn latest_arrived(history: &[f64], dt: f64, k: u64) -> Option<f64> {
    recent(history, dt, k)
        .find(|&(j, _, d)| j.saturating_add(lag_steps(d, dt)) <= k)
        .map(|(_, x, _)| x)
}

/// Vensim DEPRECIATE STRAIGHTLINE at step `clock.step`, from the stream
/// recorded at the earlier steps (`history`) and its value `x` now.
///
/// The manual: depreciation "is computed by lumping all payments made
/// within the fiscal period specified by fisc together"; dtime "must be an
/// integer multiple of fisc" (else Vensim adjusts it: here to the nearest
/// whole number of periods, at least one); an investment is paid out
/// evenly over the dtime/fisc periods starting with its own, and "the
/// function actually includes ... the current value of str in its returned
/// value" (the current period is paid as if str kept its present value);
/// init initializes "as if the function had been called with a constant
/// value of init in place of the str argument over the previous dtime".
/// Fiscal periods start at the initial time. With fisc equal to TIME STEP
/// the value is the mean of str over the last dtime (SDEverywhere's
/// `depreciate` model's Vensim output).
fn depreciate(history: &[f64], init: f64, clock: &Clock, x: f64, dtime: f64, fisc: f64) -> f64 {
    if !(fisc > 0.0 && fisc.is_finite() && dtime.is_finite()) {
        return f64::NAN;
    }
    let periods = (dtime / fisc).round().max(1.0);
    let life = periods * fisc;
    let dt = clock.dt;
    let period_of = |j: u64| ((j as f64 * dt) / fisc + 1e-9).floor();
    let k = clock.step;
    let p = period_of(k);
    // Periods [first, p) are still being paid for; those before the start
    // stand for the initial stream.
    let first = p - periods + 1.0;
    let mut paid = 0.0;
    if first < 0.0 {
        paid += -first * init * fisc;
    }
    let start = if first > 0.0 {
        ((first * fisc) / dt - 1e-9).ceil().max(0.0) as usize
    } else {
        0
    };
    let recorded = history.len().min(k as usize);
    for (j, &s) in history.iter().enumerate().take(recorded).skip(start) {
        if period_of(j as u64) < p {
            paid += s * dt;
        }
    }
    (paid + x * fisc) / life
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
