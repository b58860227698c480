//! Vensim-only pure builtins, and the Vensim meanings of shared names.
//!
//! Used when the project's dialect is [`crate::ir::Dialect::Vensim`]: these
//! names shadow the XMILE ones in [`crate::compile::builtins::lookup_in`].
//! Each function's semantics follow the Vensim reference manual's page for
//! it; where that differs from XMILE the comment says how.

use crate::compile::builtins::{Builtin, TimeCtx};

/// Vensim builtins by canonical name: `(builtin, min args, max args)`.
pub fn lookup(name: &str) -> Option<(Builtin, usize, usize)> {
    use Builtin::*;
    Some(match name {
        // Vensim: PULSE(start, width), not XMILE's PULSE(magnitude, first, interval).
        "pulse" => (VPulse, 2, 2),
        "pulse_train" => (PulseTrain, 4, 4),
        "step" => (VStep, 2, 2),
        "quantum" => (Quantum, 2, 2),
        "time_base" => (TimeBase, 2, 2),
        "get_time_value" => (GetTimeValue, 3, 3),
        "message" => (Message, 2, 2),
        // Vensim: INTEGER truncates toward zero (reference: INTEGER(-9.9) = -9).
        "integer" | "int" => (Integer, 1, 1),
        // Vensim: RAMP(slope, start, end) always has its end time.
        "ramp" => (Ramp, 3, 3),
        _ => return None,
    })
}

/// Vensim compares "time plus" = TIME + TIME STEP / 2 against the pulse
/// bounds, so times that are sums of DT steps never fall on an edge. The
/// test inputs change only at TIME STEP intervals whatever the integration
/// method, so the step's own time is used inside Runge-Kutta stages.
fn time_plus(ctx: TimeCtx) -> f64 {
    ctx.step_time + ctx.dt / 2.0
}

/// Vensim PULSE(start, width): 1.0 while start < TIME + DT/2 < start +
/// width, else 0; a width of 0 is taken as one TIME STEP (Vensim manual,
/// PULSE: "Same as IF THEN ELSE(time plus > start :AND: time plus < (start
/// + width)), 1, 0)").
pub fn pulse(start: f64, width: f64, ctx: TimeCtx) -> f64 {
    let width = if width == 0.0 { ctx.dt } else { width };
    let tp = time_plus(ctx);
    if tp > start && tp < start + width {
        1.0
    } else {
        0.0
    }
}

/// Vensim PULSE TRAIN(start, width, between, end): 1.0 for `width` at
/// start, start + between, ... until end (inclusive on TIME); a width up to one
/// TIME STEP lasts one step, and a `between` shorter than the width gives
/// 1.0 all the way from start to end (Vensim manual, PULSE TRAIN).
pub fn pulse_train(start: f64, width: f64, between: f64, end: f64, ctx: TimeCtx) -> f64 {
    let tp = time_plus(ctx);
    // The end is inclusive on TIME itself (SDXorg Query_file: a train
    // ending at 59 is still on at t=59).
    if tp <= start || ctx.time > end + ctx.dt * 1e-9 {
        return 0.0;
    }
    let width = width.max(ctx.dt);
    let since = tp - start;
    let phase = if between > 0.0 {
        since - (since / between).floor() * between
    } else {
        since
    };
    if phase < width {
        1.0
    } else {
        0.0
    }
}

/// Vensim STEP(height, step time): height once TIME + DT/2 > step time,
/// else 0 (Vensim manual, STEP: "IF THEN ELSE(Time plus > step time,
/// height, 0)").
pub fn step(height: f64, at: f64, ctx: TimeCtx) -> f64 {
    if time_plus(ctx) > at {
        height
    } else {
        0.0
    }
}

/// Vensim QUANTUM(x, q): q * INTEGER(x / q), or x itself when q <= 0.
pub fn quantum(x: f64, q: f64) -> f64 {
    if q <= 0.0 {
        x
    } else {
        q * (x / q).trunc()
    }
}

/// Vensim GET TIME VALUE(relative to, offset, measure) for simulation time
/// (measure 0): relative to 0 is the current TIME, 1 the INITIAL TIME, 2 the
/// FINAL TIME, plus `offset`. Calendar measures and the real-world clock are
/// not reproducible and give NaN.
pub fn get_time_value(relative_to: f64, offset: f64, measure: f64, ctx: TimeCtx) -> f64 {
    if measure != 0.0 {
        return f64::NAN;
    }
    let base = match relative_to as i64 {
        0 => ctx.time,
        1 => ctx.start,
        2 => ctx.stop,
        _ => return f64::NAN,
    };
    base + offset
}

/// Vensim MESSAGE('text', display): "Returns 0 if display is less than or
/// equal to 0, 1 otherwise", and inside a Runge-Kutta step "it will not put
/// up a message or return a non-zero value" (Vensim manual, MESSAGE). The
/// message box itself has no place in a batch run.
pub fn message(display: f64, ctx: TimeCtx) -> f64 {
    if display > 0.0 && ctx.time == ctx.step_time {
        1.0
    } else {
        0.0
    }
}

/// Evaluate a Vensim-only builtin.
pub fn eval(b: Builtin, args: &[f64], ctx: TimeCtx) -> f64 {
    let a = |i: usize| args.get(i).copied().unwrap_or(0.0);
    match b {
        Builtin::VPulse => pulse(a(0), a(1), ctx),
        Builtin::VStep => step(a(0), a(1), ctx),
        Builtin::PulseTrain => pulse_train(a(0), a(1), a(2), a(3), ctx),
        Builtin::Quantum => quantum(a(0), a(1)),
        Builtin::TimeBase => a(0) + a(1) * ctx.time,
        Builtin::GetTimeValue => get_time_value(a(0), a(1), a(2), ctx),
        Builtin::Message => message(a(1), ctx),
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: f64, dt: f64) -> TimeCtx {
        TimeCtx {
            time,
            dt,
            start: 0.0,
            stop: 25.0,
            step_time: time,
        }
    }

    /// SDXorg `input_functions` (Vensim output, DT 0.0625): PULSE(3, 2) is 0
    /// at 2.9375, 1 at 3 and 4.9375, 0 at 5.
    #[test]
    fn pulse_is_one_from_start_for_width() {
        let p = |t| pulse(3.0, 2.0, at(t, 0.0625));
        assert_eq!([p(2.9375), p(3.0), p(4.9375), p(5.0)], [0.0, 1.0, 1.0, 0.0]);
        assert_eq!(pulse(3.0, 0.0, at(3.0, 0.5)), 1.0);
        assert_eq!(pulse(3.0, 0.0, at(3.5, 0.5)), 0.0);
        // A width that is not a whole number of steps: time plus decides.
        assert_eq!(pulse(0.0, 0.3, at(0.0, 0.25)), 1.0);
        assert_eq!(pulse(0.0, 0.3, at(0.25, 0.25)), 0.0);
    }

    /// SDXorg `input_functions`: PULSE TRAIN(7, 1, 2, 12) is 0 at 6.9375,
    /// 1 at 7 and 7.9375, 0 at 8, 1 at 9 and 11, 0 at 12.
    #[test]
    fn pulse_train_repeats_until_end() {
        let p = |t| pulse_train(7.0, 1.0, 2.0, 12.0, at(t, 0.0625));
        let got: Vec<f64> = [6.9375, 7.0, 7.9375, 8.0, 9.0, 11.0, 12.0, 13.0]
            .iter()
            .map(|&t| p(t))
            .collect();
        assert_eq!(got, [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn step_uses_time_plus() {
        assert_eq!(step(5.0, 1.0, at(1.0, 0.25)), 5.0);
        assert_eq!(step(5.0, 1.0, at(0.75, 0.25)), 0.0);
        // Between steps: on from the first step whose midpoint passes it.
        assert_eq!(step(5.0, 0.3, at(0.25, 0.25)), 5.0);
        assert_eq!(step(5.0, 0.4, at(0.25, 0.25)), 0.0);
    }

    #[test]
    fn quantum_truncates_to_multiples() {
        assert_eq!(quantum(7.5, 2.0), 6.0);
        assert_eq!(quantum(-7.5, 2.0), -6.0);
        assert_eq!(quantum(7.5, 0.0), 7.5);
    }

    /// SDXorg `get_time_value` (INITIAL TIME -10): GET TIME VALUE(0,
    /// (1-20)/3, 0) at TIME -10 is -16.3333.
    #[test]
    fn get_time_value_offsets_simulation_time() {
        let ctx = TimeCtx {
            time: -10.0,
            dt: 0.25,
            start: -10.0,
            stop: 50.0,
            step_time: -10.0,
        };
        let v = get_time_value(0.0, -19.0 / 3.0, 0.0, ctx);
        assert!((v - -16.3333).abs() < 1e-4, "{v}");
        assert_eq!(get_time_value(1.0, 5.0, 0.0, ctx), -5.0);
        assert_eq!(get_time_value(2.0, 0.0, 0.0, ctx), 50.0);
        assert!(get_time_value(0.0, 0.0, 3.0, ctx).is_nan());
    }
}
