//! The arithmetic of isee conveyor leakage, shared by the compile-time
//! builtin that spreads a conveyor's initial contents
//! ([`conveyor_spread`]) and the run-time op that computes a leakage flow
//! (`vm::stateful`, `StatefulKind::ConveyorLeak`).
//!
//! A conveyor of transit time `T` is a belt of `n = max(1, round(T / DT))`
//! slats; what enters during one step rides `n` steps and leaves at the
//! `n`-th (`syntax::xmile::variables::convey`). A leakage flow takes its
//! share in a zone of the belt, `leak_start..leak_end` as fractions of its
//! length from the entry (0..1 unless given), i.e. at the ages (steps
//! ridden) `k1..=k2` of [`zone`]. isee defines the two kinds of leakage
//! ("Steady-State Initialization of Conveyors", isee systems):
//!
//! * linear (the default): "the same amount is taken away every DT", so
//!   that a leakage fraction `f` of what entered has leaked by the exit:
//!   `f / z` of the entering amount at each of the zone's `z` ages. At
//!   steady state with inflow `i` that makes the leakage `f * i`, the
//!   outflow `(1 - f) i` and the belt `T i - (n - 1) f i DT / 2`, isee's
//!   formulas (the amount entering last has not leaked yet);
//! * exponential: "the amount that leaks each DT is proportional to the
//!   amount remaining", `f` being a fraction per time unit: `f DT` of what
//!   is left at each of the zone's ages, so `(1 - f DT)^z` of it leaves.
//!
//! A conveyor's initial contents are laid on the belt as isee's steady state
//! would have them, as if what entered before the start had entered at a
//! constant rate ([`conveyor_spread`]): with leakage, the slats nearer the
//! exit hold less.

/// The ages `k1..=k2` (1 = entered at the last step, `n` = leaving now) of
/// a leakage zone from `start` to `end` (fractions of the belt from the
/// entry) on a belt of `n` slats: the slats the zone overlaps, or the one
/// holding it when the zone is a point (`leak_start = 1`: at the exit).
pub fn zone(n: u64, start: f64, end: f64) -> (u64, u64) {
    let n = n.max(1);
    let clamp01 = |x: f64| if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
    let (a, b) = (clamp01(start), clamp01(end));
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    let nf = n as f64;
    // A tolerance so that 0.5 of 4 slats starts at the third, not the second.
    let eps = 1e-9;
    let k1 = (((a * nf + eps).floor() as u64) + 1).clamp(1, n);
    let k2 = ((b * nf - eps).ceil() as u64).clamp(1, n).max(k1);
    (k1, k2)
}

/// The longest belt leakage is computed for (slats): beyond it the leakage
/// and the initial spread are NaN rather than taking unbounded time (isee
/// keeps every slat too; a million is far past any model's needs).
pub const MAX_SLATS: u64 = 1_000_000;

/// Slats of a belt of transit time `len` at step `dt`.
pub fn slats(len: f64, dt: f64) -> u64 {
    let steps = (len / dt).round();
    if steps.is_finite() && steps >= 1.0 {
        steps as u64
    } else {
        1
    }
}

/// The fraction of an entering amount still on the belt after `j` steps
/// (ages `1..=j` passed) under leakages `(f, zone)`.
fn remaining(dt: f64, exponential: bool, leaks: &[(f64, (u64, u64))], j: u64) -> f64 {
    let mut left = 1.0;
    for &(f, (k1, k2)) in leaks {
        let passed = (j + 1).saturating_sub(k1).min(k2 - k1 + 1);
        if exponential {
            left *= (1.0 - f * dt).powf(passed as f64);
        } else {
            left -= f * passed as f64 / (k2 - k1 + 1) as f64;
        }
    }
    left
}

/// `(contents, transit time, DT, exponential, then (fraction, start, end)
/// per leakage flow)`: the rate at which the initial contents entered, as
/// if they had entered at a constant rate `r` before the start, so the
/// `n` slats hold `r DT` times what is left of an entering amount at their
/// ages, and together the contents. Without leakage `contents / (n DT)`.
pub fn conveyor_spread(args: &[f64]) -> f64 {
    let (Some(&[contents, len, dt, exponential]), Some(rest)) = (
        args.get(..4).and_then(|a| <&[f64; 4]>::try_from(a).ok()),
        args.get(4..),
    ) else {
        return f64::NAN;
    };
    if rest.len() % 3 != 0 {
        return f64::NAN;
    }
    let n = slats(len, dt);
    if n > MAX_SLATS {
        return f64::NAN;
    }
    let leaks: Vec<(f64, (u64, u64))> = rest
        .chunks_exact(3)
        .map(|c| (c[0], zone(n, c[1], c[2])))
        .collect();
    let exponential = exponential != 0.0;
    let held: f64 = (0..n).map(|j| remaining(dt, exponential, &leaks, j)).sum();
    contents / held / dt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_cover_the_slats_they_overlap() {
        assert_eq!(zone(4, 0.0, 1.0), (1, 4));
        assert_eq!(zone(4, 0.5, 1.0), (3, 4));
        assert_eq!(zone(4, 0.25, 0.5), (2, 2));
        // A point zone at the exit (isee's leak_start = 1): the last slat.
        assert_eq!(zone(4, 1.0, 1.0), (4, 4));
        assert_eq!(zone(1, 0.0, 1.0), (1, 1));
        assert_eq!(zone(4, f64::NAN, 1.0), (1, 4));
        assert_eq!(zone(4, 1.0, 0.0), (1, 4));
    }

    /// Without leakage the contents spread evenly; with linear leakage
    /// f = 0.2 on 4 slats the slats hold 1, 0.95, 0.9, 0.85 of what
    /// entered (3.7 in all), isee's steady state `n - (n - 1) f / 2`.
    #[test]
    fn initial_contents_follow_the_steady_state() {
        assert_eq!(conveyor_spread(&[8.0, 2.0, 0.5, 0.0]), 4.0);
        let r = conveyor_spread(&[37.0, 2.0, 0.5, 0.0, 0.2, 0.0, 1.0]);
        assert!((r - 20.0).abs() < 1e-12, "{r}");
        // Exponential, 10% per time unit at DT 0.5 on 2 slats: 1 and 0.95.
        let r = conveyor_spread(&[19.5, 1.0, 0.5, 1.0, 0.1, 0.0, 1.0]);
        assert!((r - 20.0).abs() < 1e-12, "{r}");
        assert!(conveyor_spread(&[1.0, 1.0, 1.0, 0.0, 0.1]).is_nan());
    }
}
