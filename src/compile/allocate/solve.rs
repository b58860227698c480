//! The numeric side of ALLOCATE AVAILABLE: the priority curves and Vensim's
//! search for the priority at which the shares use up the supply.
//!
//! Each requester gets `request * S(p)`, `S` being the survival function
//! (1 - CDF) of a distribution centred on its priority, for one common
//! priority `p` (Vensim Help, "Allocation Functions": ALLOCATE AVAILABLE,
//! <https://www.vensim.com/documentation/fn_allocate_available.html>, and
//! "Specifying the Curves", <https://www.vensim.com/documentation/24335.html>).
//! Profile types: 1 rectangular of full width `width`; 2 triangular of base
//! `width`; 3 normal with standard deviation `width`; 4 Laplace (two-sided
//! exponential) with scale `width`; each type plus 10 gives whole units
//! (see [`shares`]). Other types (fixed quantity, constant elasticity)
//! give NaN.
//!
//! Two details reproduce Vensim's numbers rather than the ideal ones (both
//! read off the SDXorg `allocate_available` reference, Vensim DSS 9.2.4):
//!
//! * the normal curve is the three-term Hastings approximation
//!   (Abramowitz & Stegun 26.2.16, absolute error below 1e-5), complemented
//!   from the CDF: its upper tail runs up to 4% above the exact normal
//!   tail at 7 standard deviations and falls to exactly 0 past ~8.3;
//! * the search stops as soon as the shares are within `1e-6 * total
//!   request` of the supply, so they miss it by up to that much (the
//!   reference's shares never miss by more, and often by nearly that),
//!   almost always on the side where the chord of the total curve lies:
//!   short where the total is convex, over where it is concave. That is
//!   the signature of false position (regula falsi), whose fixed end makes
//!   it converge linearly from that side; and, as in the reference,
//!   piecewise-linear (rectangular) totals nearly always come out exact.
//!   Vensim's starting bracket is not documented (no simple choice
//!   reproduces its exact residuals); here false position starts from the
//!   tightest pair of curve breakpoints around the answer, so a
//!   rectangular total is solved in one step.
//!
//! isee's ALLOCATE shares the profiles but not these two details: Stella's
//! own run of SDEverywhere's `allocate` model (normal profiles) is matched
//! by the exact normal curve and a solve that uses up the supply (to 2e-7
//! at every exported time, where the Vensim details miss by 1%):
//! [`Curves::Exact`].

use crate::compile::memo;

/// Vensim stops searching once the shares are within this fraction of the
/// total request of the supply.
const TOLERANCE: f64 = 1e-6;

/// Bound on false-position steps; a few dozen are usual.
const MAX_STEPS: usize = 1000;

/// Standard deviations beyond which the normal curve is 1 (below) or 0
/// (above) in double precision.
const NORMAL_FLAT: f64 = 8.3;

/// Scales beyond which the Laplace curve is within `2^-54` of 1 (below) or
/// 0 (above): `0.5 * exp(-z) < 2^-54` for `z > 53 ln 2`.
const LAPLACE_FLAT: f64 = 36.74;

/// Upper tail `Q(z) = P(Z > z)` of the standard normal for `z >= 0`, by
/// Abramowitz & Stegun 26.2.16.
fn normal_upper_tail(z: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.332_67 * z);
    let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    density * t * (0.436_183_6 + t * (-0.120_167_6 + t * 0.937_298))
}

/// Whose curves and search: Vensim's ([`normal_survival`], stopping within
/// `TOLERANCE`) or exact (isee: the exact normal, solved until the
/// shares use up the supply).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Curves {
    Vensim,
    Exact,
}

/// The exact solve stops within this fraction of the total request (or
/// when the bracket cannot shrink further).
const EXACT_TOLERANCE: f64 = 1e-13;

/// Normal survival function at `z` standard deviations, computed as Vensim
/// does through the CDF (so far tails come in steps of 2^-53).
fn normal_survival(z: f64) -> f64 {
    if z >= 0.0 {
        let cdf = 1.0 - normal_upper_tail(z);
        1.0 - cdf
    } else {
        1.0 - normal_upper_tail(-z)
    }
}

/// Laplace survival function at `z` scales.
fn laplace_survival(z: f64) -> f64 {
    if z >= 0.0 {
        0.5 * (-z).exp()
    } else {
        1.0 - 0.5 * z.exp()
    }
}

/// Triangular survival function at `x` from the centre, half base `h`.
fn triangular_survival(x: f64, h: f64) -> f64 {
    if x <= -h {
        1.0
    } else if x >= h {
        0.0
    } else if x <= 0.0 {
        1.0 - (x + h) * (x + h) / (2.0 * h * h)
    } else {
        (h - x) * (h - x) / (2.0 * h * h)
    }
}

/// The fraction of its request a requester gets at priority `p`, on
/// Vensim's curves.
pub(super) fn survival(kind: f64, priority: f64, width: f64, p: f64) -> f64 {
    survival_on(Curves::Vensim, kind, priority, width, p)
}

fn survival_on(curves: Curves, kind: f64, priority: f64, width: f64, p: f64) -> f64 {
    let w = width.abs().max(1e-12);
    let x = p - priority;
    match kind.round() as i64 {
        1 => (0.5 - x / w).clamp(0.0, 1.0),
        2 => triangular_survival(x, w / 2.0),
        3 if curves == Curves::Exact => 0.5 * libm::erfc(x / w / std::f64::consts::SQRT_2),
        3 => normal_survival(x / w),
        4 => laplace_survival(x / w),
        _ => f64::NAN,
    }
}

/// Widths from its priority beyond which a requester's curve is flat.
fn flat_beyond(kind: f64) -> f64 {
    match kind.round() as i64 {
        1 | 2 => 0.5,
        3 => NORMAL_FLAT,
        4 => LAPLACE_FLAT,
        _ => f64::NAN,
    }
}

/// One requester: request, profile type, priority, width (extra unused).
#[derive(Clone, Copy)]
struct Requester {
    request: f64,
    kind: f64,
    priority: f64,
    width: f64,
    curves: Curves,
}

impl Requester {
    fn share(&self, p: f64) -> f64 {
        if self.request > 0.0 {
            self.request * survival_on(self.curves, self.kind, self.priority, self.width, p)
        } else {
            0.0
        }
    }
}

/// The requesters of a flattened argument list (five values each); a
/// trailing partial group is ignored (callers check the length).
fn requesters(rest: &[f64], curves: Curves) -> impl Iterator<Item = Requester> + '_ {
    rest.chunks_exact(5).filter_map(move |r| match *r {
        [request, kind, priority, width, _extra] => Some(Requester {
            request,
            kind,
            priority,
            width,
            curves,
        }),
        _ => None,
    })
}

/// Each requester's curve breakpoints: the priorities where it starts to
/// fall and where it is spent (flat to double precision beyond), and its
/// centre (the triangular, normal and Laplace inflection).
fn breakpoints(rest: &[f64]) -> impl Iterator<Item = f64> + '_ {
    requesters(rest, Curves::Vensim)
        .filter(|r| r.request > 0.0)
        .flat_map(|r| {
            let reach = flat_beyond(r.kind) * r.width.abs().max(1e-12);
            [r.priority - reach, r.priority, r.priority + reach]
        })
}

/// Where false position starts: the tightest pair of breakpoints around
/// the clearing priority, each with its excess supply, or a breakpoint
/// that already clears within tolerance.
enum Start {
    Cleared(f64),
    Bracket((f64, f64), (f64, f64)),
}

fn start(rest: &[f64], excess: impl Fn(f64) -> f64, tolerance: f64) -> Option<Start> {
    let mut lo: Option<(f64, f64)> = None;
    let mut hi: Option<(f64, f64)> = None;
    for x in breakpoints(rest) {
        let f = excess(x);
        if f.abs() < tolerance {
            return Some(Start::Cleared(x));
        }
        if f > 0.0 && lo.is_none_or(|(l, _)| x > l) {
            lo = Some((x, f));
        } else if f < 0.0 && hi.is_none_or(|(h, _)| x < h) {
            hi = Some((x, f));
        }
    }
    Some(Start::Bracket(lo?, hi?))
}

/// The common priority at which the shares use up `available` (strictly
/// between 0 and the `total` request), found as Vensim finds it: false
/// position, stopping within `TOLERANCE * total` (NaN for unsupported
/// profile types). On exact curves, the Illinois variant of false
/// position (which does not stall on one side) runs until the shares are
/// within `EXACT_TOLERANCE * total` of the supply.
fn clearing_priority(rest: &[f64], available: f64, total: f64, curves: Curves) -> f64 {
    let excess = |p: f64| requesters(rest, curves).map(|r| r.share(p)).sum::<f64>() - available;
    let exact = curves == Curves::Exact;
    let tolerance = if exact { EXACT_TOLERANCE } else { TOLERANCE } * total;
    let ((mut lo, mut f_lo), (mut hi, mut f_hi)) = match start(rest, excess, tolerance) {
        Some(Start::Cleared(p)) => return p,
        Some(Start::Bracket(lo, hi)) => (lo, hi),
        None => return f64::NAN,
    };
    let mut p = lo;
    // Which end the last step moved (Illinois halves the other's excess
    // when the same end moves twice).
    let mut last = 0i8;
    for _ in 0..MAX_STEPS {
        p = hi - f_hi * (hi - lo) / (f_hi - f_lo);
        let f = excess(p);
        // A NaN excess stops the search too (and propagates).
        if f.abs() < tolerance || f.is_nan() || (exact && !(lo < p && p < hi)) {
            break;
        }
        if f > 0.0 {
            (lo, f_lo) = (p, f);
            if exact && last == 1 {
                f_hi /= 2.0;
            }
            last = 1;
        } else {
            (hi, f_hi) = (p, f);
            if exact && last == -1 {
                f_lo /= 2.0;
            }
            last = -1;
        }
    }
    p
}

/// Requester `args[0]`'s share of supply `args[1]`; then five values per
/// requester (request, type, priority, width, extra). Everyone gets the full
/// (non-negative) request when the supply covers the total, nothing when
/// it is <= 0. NaN on malformed arguments or unsupported profile types.
pub fn allocate_available_element(args: &[f64]) -> f64 {
    share_of(args, memo::ALLOCATE, |key, out| {
        shares(key, out, Curves::Vensim)
    })
}

/// isee ALLOCATE's share: [`allocate_available_element`] on exact curves
/// (see [`Curves`]).
pub fn allocate_isee_element(args: &[f64]) -> f64 {
    share_of(args, memo::ALLOCATE_ISEE, |key, out| {
        shares(key, out, Curves::Exact)
    })
}

/// Requester `args[0]`'s share, with one search per supply and step
/// (`compute` under memo `tag`) shared by every requester's element.
fn share_of(args: &[f64], tag: u8, compute: fn(&[f64], &mut Vec<f64>)) -> f64 {
    let (Some(&k), Some(_), Some(rest)) = (args.first(), args.get(1), args.get(2..)) else {
        return f64::NAN;
    };
    if rest.len() % 5 != 0 || k < 0.0 || k as usize >= rest.len() / 5 {
        return f64::NAN;
    }
    memo::element(tag, &args[1..], k as usize, compute)
}

/// Vensim MARKETP's market priority: `(available, then five values per
/// requester)` → the common priority at which the shares use up what is
/// available, the one ALLOCATE BY PRIORITY serves at, so ALLOC P at it
/// gives the same shares. When the supply covers every request, the
/// highest priority at which every request is still met in full (the
/// lowest curve's start); with nothing to share, the lowest at which every
/// share is 0 (the highest curve's end). NaN on malformed arguments.
pub fn market_priority(args: &[f64]) -> f64 {
    let (Some(&available), Some(rest)) = (args.first(), args.get(1..)) else {
        return f64::NAN;
    };
    if rest.is_empty() || rest.len() % 5 != 0 {
        return f64::NAN;
    }
    let asking = || requesters(rest, Curves::Vensim).filter(|r| r.request > 0.0);
    let reach = |r: &Requester| flat_beyond(r.kind) * r.width.abs().max(1e-12);
    let total: f64 = asking().map(|r| r.request).sum();
    if available >= total {
        asking()
            .map(|r| r.priority - reach(&r))
            .fold(f64::INFINITY, f64::min)
    } else if available <= 0.0 {
        asking()
            .map(|r| r.priority + reach(&r))
            .fold(f64::NEG_INFINITY, f64::max)
    } else {
        clearing_priority(rest, available, total, Curves::Vensim)
    }
}

/// Vensim ALLOC P(request, priority, width, market priority): one
/// requester's share at that market priority, ALLOCATE BY PRIORITY's
/// rectangular curve of full width `width`.
pub fn alloc_p(args: &[f64]) -> f64 {
    match *args {
        [request, priority, width, p] => Requester {
            request,
            kind: 1.0,
            priority,
            width,
            curves: Curves::Vensim,
        }
        .share(p),
        _ => f64::NAN,
    }
}

/// `(available, then per requester: request, type, priority, width,
/// extra)` → every requester's share, in order.
///
/// A type of 10 more than a curve's ("ALLOCATE AVAILABLE can be used to
/// return integer allocations by adding 10 to the shape specified in pp",
/// Vensim help) asks for whole units: the shares on the curve, rounded
/// down, then the units left of the supply's whole part handed out one
/// each by largest remainder (ties in requester order), never above a
/// request. Vensim does not document its rounding; this one keeps the
/// total within the supply and the shares within one unit of the curve's.
fn shares(key: &[f64], out: &mut Vec<f64>, curves: Curves) {
    let (Some(&available), Some(rest)) = (key.first(), key.get(1..)) else {
        return;
    };
    if rest
        .chunks_exact(5)
        .any(|r| (10.0..15.0).contains(&r[1].round()))
    {
        let mut curve = key.to_vec();
        for r in curve[1..].chunks_exact_mut(5) {
            if r[1].round() >= 10.0 {
                r[1] -= 10.0;
            }
        }
        let first = out.len();
        shares(&curve, out, curves);
        whole_units(&mut out[first..], rest, available);
        return;
    }
    let requesters = |rest| requesters(rest, curves);
    let total: f64 = requesters(rest).map(|r| r.request.max(0.0)).sum();
    if available >= total {
        out.extend(requesters(rest).map(|r| r.request.max(0.0)));
    } else if available <= 0.0 {
        out.extend(requesters(rest).map(|_| 0.0));
    } else if requesters(rest).all(|r| r.kind.round() == 0.0) {
        // Priority type 0: what is available is shared in proportion to the
        // requests (SDEverywhere's `allocate_ptype` model, Vensim's output:
        // requests 200 and 50 of 100 get 80 and 20).
        out.extend(requesters(rest).map(|r| r.request.max(0.0) * available / total));
    } else {
        let p = clearing_priority(rest, available, total, curves);
        out.extend(requesters(rest).map(|r| r.share(p)));
    }
}

/// Round `shares` down to whole units, then give the units left of
/// `available`'s whole part one each to the largest remainders (ties in
/// order), where that stays within the request.
fn whole_units(shares: &mut [f64], rest: &[f64], available: f64) {
    if shares.iter().any(|s| !s.is_finite()) {
        return;
    }
    let requests: Vec<f64> = rest.chunks_exact(5).map(|r| r[0]).collect();
    let mut remainders: Vec<(f64, usize)> = Vec::with_capacity(shares.len());
    for (i, s) in shares.iter_mut().enumerate() {
        let whole = s.floor();
        remainders.push((*s - whole, i));
        *s = whole;
    }
    let given: f64 = shares.iter().sum();
    let mut left = (available.floor() - given).max(0.0);
    remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (remainder, i) in remainders {
        if left < 1.0 || remainder <= 0.0 {
            break;
        }
        if shares[i] + 1.0 <= requests.get(i).copied().unwrap_or(0.0) {
            shares[i] += 1.0;
            left -= 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integer profiles (type + 10): whole units, within each request and
    /// the supply, each within one unit of the curve's share; the help
    /// page's Boston, Dayton, Fresno example with rectangular profiles.
    #[test]
    fn integer_profiles_give_whole_units() {
        // available, then (request, type, priority, width, extra) each.
        let key = |ptype: f64, available: f64| {
            vec![
                available, 500.0, ptype, 5.0, 2.0, 0.0, 300.0, ptype, 7.0, 4.0, 0.0, 750.0, ptype,
                3.0, 4.0, 0.0,
            ]
        };
        for (ptype, available) in [0.5, 7.3, 333.3, 1000.0, 1200.5, 2000.0]
            .into_iter()
            .flat_map(|a| [(1.0, a), (2.0, a), (3.0, a), (0.0, a)])
        {
            let (mut real, mut whole) = (Vec::new(), Vec::new());
            shares(&key(ptype, available), &mut real, Curves::Vensim);
            shares(&key(ptype + 10.0, available), &mut whole, Curves::Vensim);
            let total: f64 = whole.iter().sum();
            assert!(total <= available, "{whole:?}");
            for ((w, r), req) in whole.iter().zip(&real).zip([500.0, 300.0, 750.0]) {
                assert_eq!(w.fract(), 0.0, "{whole:?}");
                assert!(
                    *w <= req && (w - r).abs() < 1.0 + 1e-9,
                    "{whole:?} vs {real:?}"
                );
            }
            if available < 1550.0 {
                assert_eq!(total, available.floor(), "{whole:?} at {available}");
            }
        }
    }

    /// Malformed calls give NaN rather than panicking.
    #[test]
    fn malformed_arguments_give_nan() {
        assert!(allocate_available_element(&[]).is_nan());
        assert!(allocate_available_element(&[3.0, 10.0, 5.0, 1.0, 1.0, 1.0, 0.0]).is_nan());
        assert!(allocate_available_element(&[0.0, 10.0, 5.0, 1.0]).is_nan());
        assert!(allocate_available_element(&[0.0, 1.0, 5.0, 9.0, 1.0, 1.0, 0.0]).is_nan());
    }

    /// Priority type 0 shares a short supply in proportion to the requests
    /// (Vensim's output for SDEverywhere's `allocate_ptype` model).
    #[test]
    fn type_zero_shares_in_proportion_to_the_requests() {
        let a = |k: f64| {
            [
                k, 100.0, 200.0, 0.0, 0.1, 0.5, 0.0, 50.0, 0.0, 0.9, 0.5, 0.0,
            ]
        };
        assert_eq!(allocate_available_element(&a(0.0)), 80.0);
        assert_eq!(allocate_available_element(&a(1.0)), 20.0);
    }

    #[test]
    fn supply_covering_demand_gives_every_request() {
        let a = [1.0, 100.0, 5.0, 1.0, 1.0, 1.0, 0.0, 7.0, 3.0, 2.0, 1.0, 0.0];
        assert_eq!(allocate_available_element(&a), 7.0);
        let none = [1.0, 0.0, 5.0, 1.0, 1.0, 1.0, 0.0, 7.0, 3.0, 2.0, 1.0, 0.0];
        assert_eq!(allocate_available_element(&none), 0.0);
    }

    /// The normal curve is A&S 26.2.16, not the exact normal: at z = 3 it
    /// gives 0.001354904 (by hand: t = 1/1.99801 = 0.500498, density
    /// 0.004431848, polynomial 0.305720) where the exact tail is 0.001349898.
    #[test]
    fn normal_curve_is_hastings_approximation() {
        assert!((normal_survival(3.0) - 0.001_354_904).abs() < 1e-9);
        assert!((normal_survival(-3.0) - (1.0 - 0.001_354_904)).abs() < 1e-9);
        assert!((normal_survival(0.0) - 0.5).abs() < 1e-5);
        // Far tail: a multiple of 2^-53 (through the CDF), then exactly 0.
        assert_eq!(normal_survival(8.1), 3.0 * f64::EPSILON / 2.0);
        assert_eq!(normal_survival(8.4), 0.0);
    }

    #[test]
    fn curves_by_hand() {
        assert!((laplace_survival(1.0) - 0.183_939_720).abs() < 1e-9);
        assert!((laplace_survival(-1.0) - 0.816_060_279).abs() < 1e-9);
        // Triangular of base 4 at 1 past the centre: (2-1)^2 / (2*2^2).
        assert!((survival(2.0, 5.0, 4.0, 6.0) - 0.125).abs() < 1e-15);
        // Rectangular of width 4 at 1 past the centre: 0.5 - 1/4.
        assert!((survival(1.0, 5.0, 4.0, 6.0) - 0.25).abs() < 1e-15);
    }

    /// Two rectangular requesters (10 each, priorities 1 and 1.5, width 4)
    /// sharing 10: the breakpoints 1 (excess +1.25) and 1.5 (-1.25) bracket
    /// the answer on one linear piece, so the first false-position step
    /// lands on the exact clearing priority 1.25, giving 10 * (0.5 - 0.25/4)
    /// = 4.375 and 10 * (0.5 + 0.25/4) = 5.625.
    #[test]
    fn rectangular_profiles_are_solved_exactly() {
        let a = |k: f64| {
            allocate_available_element(&[
                k, 10.0, 10.0, 1.0, 1.0, 4.0, 0.0, 10.0, 1.0, 1.5, 4.0, 0.0,
            ])
        };
        assert!((a(0.0) - 4.375).abs() < 1e-12);
        assert!((a(1.0) - 5.625).abs() < 1e-12);
    }

    /// One normal requester asking 1000 of a supply of 100: the ideal
    /// share is 100, Vensim's search stops within 1e-6 * 1000 of it, short
    /// of it because the tail is convex (the chord lies above the curve).
    #[test]
    fn search_stops_short_within_tolerance_on_convex_tail() {
        let share = allocate_available_element(&[0.0, 100.0, 1000.0, 3.0, 0.0, 1.0, 0.0]);
        assert!((100.0 - 1e-3..=100.0).contains(&share), "{share}");
        // ...and over it on the concave side (most of the request served).
        let share = allocate_available_element(&[0.0, 900.0, 1000.0, 3.0, 0.0, 1.0, 0.0]);
        assert!((900.0..900.0 + 1e-3).contains(&share), "{share}");
    }

    /// A zero request neither gets anything nor widens the search.
    #[test]
    fn zero_request_gets_nothing() {
        let a = [1.0, 5.0, 10.0, 1.0, 1.0, 4.0, 0.0, 0.0, 1.0, 9.0, 50.0, 0.0];
        assert_eq!(allocate_available_element(&a), 0.0);
        assert!(
            (allocate_available_element(&[0.0, 5.0, 10.0, 1.0, 1.0, 4.0, 0.0]) - 5.0).abs() < 1e-9
        );
    }

    /// MARKETP's priority, read back by ALLOC P, gives ALLOCATE BY
    /// PRIORITY's shares (two requesters of 10, priorities 1 and 1.5,
    /// width 4, sharing 10: 4.375 and 5.625 at priority 1.25); with enough
    /// supply everyone is served in full, with none nobody.
    #[test]
    fn marketp_and_alloc_p_reproduce_allocate_by_priority() {
        let market = |supply: f64| {
            market_priority(&[supply, 10.0, 1.0, 1.0, 4.0, 0.0, 10.0, 1.0, 1.5, 4.0, 0.0])
        };
        let p = market(10.0);
        assert!((p - 1.25).abs() < 1e-12, "{p}");
        assert!((alloc_p(&[10.0, 1.0, 4.0, p]) - 4.375).abs() < 1e-12);
        assert!((alloc_p(&[10.0, 1.5, 4.0, p]) - 5.625).abs() < 1e-12);
        let plenty = market(50.0);
        assert_eq!(plenty, -1.0);
        assert_eq!(alloc_p(&[10.0, 1.0, 4.0, plenty]), 10.0);
        let none = market(0.0);
        assert_eq!(none, 3.5);
        assert_eq!(alloc_p(&[10.0, 1.5, 4.0, none]), 0.0);
        assert!(market_priority(&[1.0, 2.0]).is_nan());
        assert!(alloc_p(&[1.0]).is_nan());
    }

    #[test]
    fn unsupported_profile_type_gives_nan() {
        assert!(allocate_available_element(&[0.0, 5.0, 10.0, 5.0, 1.0, 1.0, 2.0]).is_nan());
    }
}
