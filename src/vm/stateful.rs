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
        StatefulKind::DelayConveyor => {
            if clock.initializing {
                // The conveyance time at the start lays out the initial
                // contents.
                *cells.state = arg(0);
                return conveyor(&[], clock, arg(0), args);
            }
            conveyor(cells.history, clock, *cells.state, args)
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
        // Per step: x_j, then the belt travelled up to the step's end
        // (P_{j+1} = P_j + share) and the log of what the leakage kept so far.
        StatefulKind::DelayConveyor => {
            let n = history.len();
            let before = |back: usize| if n >= back { history[n - back] } else { 0.0 };
            match n % 3 {
                0 => history.push(v),
                1 => history.push(before(3) + belt_share(v)),
                _ => history.push(before(3) + v),
            }
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

/// The share of a conveyor's belt that passes in one step, `DT / ctime`
/// (`raw`): a conveyance time under one TIME STEP, or negative, moves the
/// whole belt in a step (a step is the shortest delay); an infinite one
/// stops it.
fn belt_share(raw: f64) -> f64 {
    if raw.is_nan() {
        f64::NAN
    } else if raw.is_sign_negative() || raw > 1.0 {
        1.0
    } else {
        raw
    }
}

/// Vensim DELAY CONVEYOR(input, ctime, leak, initprofile, inittot,
/// initctime) at step `clock.step`; `args` are (ctime, leak, inittot,
/// initctime, profile points...), `ctime0` the conveyance time at the start.
///
/// The manual: it "returns the value of input delayed by conveyence time
/// ctime"; "you can speed up or slow down a conveyor by changing ctime";
/// "when leak is nonzero than the amount of material is decreased
/// proportionally across the entire conveyor, including newly added input"
/// (its accounting: leakage = (contents + TIME STEP * (input - output)) *
/// leak); the initial contents inittot come out following the lookup
/// initprofile, whose domain and range are scaled to initctime and inittot,
/// and the first output is inittot / initctime for a flat profile.
///
/// Here the belt runs from 0 (entry) to 1 (exit) and moves `DT / ctime` in
/// each step. Step j's input, `x_j DT`, enters spread evenly over the part of
/// the belt that passes in that step, `[P_j, P_j+1]` in the belt's own
/// coordinate (P_j the belt travelled before step j); the output at step k
/// is what passes the exit during the step, the part of `[P_k - 1, P_k+1 -
/// 1)`, divided by DT, after the leakage of the steps it rode. With a
/// conveyance time of n TIME STEPs every input leaves exactly n steps later,
/// as DELAY FIXED's would; a fractional one splits an input between two
/// steps in proportion (the delay's mean is still ctime). The initial
/// contents lie ahead of the entry, `[-1, -1 + initctime / ctime0]`,
/// spread as the profile says.
fn conveyor(history: &[f64], clock: &Clock, ctime0: f64, args: &[f64]) -> f64 {
    let arg = |i: usize| args.get(i).copied().unwrap_or(0.0);
    let (ctime, total, init_ctime) = (arg(0), arg(2), arg(3));
    let points = args.get(4..).unwrap_or(&[]);
    let dt = clock.dt;
    let steps = (history.len() / 3).min(clock.step as usize);
    let at = |i: usize| history[i];
    // Belt travelled before step j (P_j) and leakage log kept (S_j).
    let travelled = |j: usize| if j == 0 { 0.0 } else { at(3 * j - 2) };
    let kept_log = |j: usize| if j == 0 { 0.0 } else { at(3 * j - 1) };
    let (p, s) = (travelled(steps), kept_log(steps));
    let (a, b) = (p - 1.0, p + belt_share(dt / ctime) - 1.0);
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    let mut out = 0.0;
    // The inputs whose stretch of belt reaches past `a`, up to `b`.
    let (mut lo_j, mut hi_j) = (0, steps);
    while lo_j < hi_j {
        let mid = (lo_j + hi_j) / 2;
        if travelled(mid + 1) < a {
            lo_j = mid + 1;
        } else {
            hi_j = mid;
        }
    }
    for j in lo_j..steps {
        let (lo, hi) = (travelled(j), travelled(j + 1));
        if lo >= b {
            break;
        }
        let share = if hi > lo {
            let f = (hi.min(b) - lo.max(a)) / (hi - lo);
            // Sums of belt shares are not exact: a stretch that ends (or
            // starts) within rounding of the window's edge is wholly out
            // (or in).
            if f < 1e-9 {
                0.0
            } else if f > 1.0 - 1e-9 {
                1.0
            } else {
                f
            }
        } else if lo >= a {
            1.0
        } else {
            0.0
        };
        if share > 0.0 {
            out += at(3 * j) * share * (s - kept_log(j)).exp();
        }
    }
    // The share of the initial contents ahead of belt position `x`.
    let w0 = belt_share(dt / ctime0);
    let ahead = |x: f64| -> f64 {
        if x <= -1.0 {
            0.0
        } else if init_ctime <= 0.0 || init_ctime.is_nan() {
            1.0
        } else {
            profile_share(points, (x + 1.0) * dt / (w0 * init_ctime))
        }
    };
    if total != 0.0 {
        // Once the window has passed them, nothing of them is left to leave.
        let passed = ahead(a);
        if passed < 1.0 {
            out += total * (ahead(b) - passed) * s.exp() / dt;
        }
    }
    out
}

/// The share of a profile's area left of `u`, its domain scaled to [0, 1]
/// (`points` interleaved x0, y0, x1, y1, ...). A profile of one point, or
/// of points at one x, is flat.
fn profile_share(points: &[f64], u: f64) -> f64 {
    if u <= 0.0 {
        return 0.0;
    }
    if u >= 1.0 {
        return 1.0;
    }
    let n = points.len() / 2;
    if n < 2 || points[2 * (n - 1)] <= points[0] {
        return u;
    }
    let (first, last) = (points[0], points[2 * (n - 1)]);
    let profile = crate::vm::table::Points::Pairs(&points[..2 * n]);
    crate::vm::table::density_share(profile, first + u * (last - first))
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
