//! Vensim's many-to-many allocation: FIND MARKET PRICE, SUPPLY AT PRICE
//! and DEMAND AT PRICE (Vensim Help, "Allocation Functions",
//! <https://www.vensim.com/documentation/fn_find_market_price.html>).
//!
//! Every demander and supplier has a quantity and a priority profile
//! (type, priority, width, extra), the curves of ALLOCATE AVAILABLE
//! ([`super::solve`]): at price `p` a demander wants `q * S(p)` and a
//! supplier offers `q * (1 - S(p))`, `S` being the profile's survival
//! function; type 0 is a fixed quantity whatever the price. The market
//! price is where the total offered equals the total wanted.
//!
//! Three details are read off Vensim's own runs of SDEverywhere's
//! `allocate_price` and `allocate_normal_width` models:
//!
//! * the normal curve's standard deviation is at least 0.05 (widths 0 to
//!   0.05 give the same curve);
//! * the price is searched between the lowest priority less, and the
//!   highest priority plus, each curve's reach: half the width for the
//!   rectangular and triangular curves, five standard deviations for the
//!   normal and ten widths for the exponential. When supply already covers
//!   demand at the low end the price is the low end (with no demand at all:
//!   the lowest priority minus five standard deviations); when demand still
//!   exceeds supply at the high end it is the high end;
//! * in between, the clearing price. Vensim stops its search short of exact
//!   clearing, but by less than its output's six digits show; here the
//!   search runs to the last bit (bisection).
//!
//! Types Vensim documents beyond these (constant elasticity) give NaN, as
//! in ALLOCATE AVAILABLE; so does a market of fixed quantities only, which
//! has no price that clears it.

use super::solve::survival;

/// The smallest standard deviation Vensim uses for a normal curve here.
const MIN_NORMAL_SD: f64 = 0.05;

/// Bisection halvings: enough to exhaust a double's precision over any
/// bracket of finite ends.
const MAX_HALVINGS: usize = 2100;

/// One demander's or supplier's curve.
#[derive(Clone, Copy)]
struct Curve {
    quantity: f64,
    kind: i64,
    priority: f64,
    width: f64,
}

impl Curve {
    /// `(quantity, type, priority, width, extra)`.
    fn from_fields(f: &[f64]) -> Option<Curve> {
        match *f {
            [quantity, kind, priority, width, _extra] => {
                let kind = if kind.is_finite() {
                    kind.round() as i64
                } else {
                    -1
                };
                let width = match kind {
                    3 => width.abs().max(MIN_NORMAL_SD),
                    _ => width,
                };
                Some(Curve {
                    quantity,
                    kind,
                    priority,
                    width,
                })
            }
            _ => None,
        }
    }

    /// The fraction of the quantity wanted at price `p` (a demand curve);
    /// 1 for a fixed quantity.
    fn wanted(&self, p: f64) -> f64 {
        match self.kind {
            0 => 1.0,
            k => survival(k as f64, self.priority, self.width, p),
        }
    }

    /// The fraction of the quantity offered at price `p` (a supply curve);
    /// 1 for a fixed quantity.
    fn offered(&self, p: f64) -> f64 {
        match self.kind {
            0 => 1.0,
            _ => 1.0 - self.wanted(p),
        }
    }

    /// Widths from its priority within which the price is searched; None
    /// for a fixed quantity, NaN for an unsupported type.
    fn reach(&self) -> Option<f64> {
        let widths = match self.kind {
            0 => return None,
            1 | 2 => 0.5,
            3 => 5.0,
            4 => 10.0,
            _ => f64::NAN,
        };
        Some(widths * self.width.abs())
    }
}

/// `(quantity, type, priority, width, extra, price)`: what a supplier
/// offers at `price`.
pub fn supply_at_price(args: &[f64]) -> f64 {
    at_price(args, Curve::offered)
}

/// `(quantity, type, priority, width, extra, price)`: what a demander
/// wants at `price`.
pub fn demand_at_price(args: &[f64]) -> f64 {
    at_price(args, Curve::wanted)
}

fn at_price(args: &[f64], fraction: fn(&Curve, f64) -> f64) -> f64 {
    match (args.get(..5).and_then(Curve::from_fields), args.get(5)) {
        (Some(c), Some(&price)) if args.len() == 6 => c.quantity * fraction(&c, price),
        _ => f64::NAN,
    }
}

/// `(demanders, then five values (quantity, type, priority, width, extra)
/// per demander, then five per supplier)`: the price at which the
/// suppliers offer what the demanders want.
pub fn find_market_price(args: &[f64]) -> f64 {
    let Some((&n, rest)) = args.split_first() else {
        return f64::NAN;
    };
    if rest.len() % 5 != 0 || !(0.0..=(rest.len() / 5) as f64).contains(&n) {
        return f64::NAN;
    }
    let curves: Vec<Curve> = rest
        .chunks_exact(5)
        .filter_map(Curve::from_fields)
        .collect();
    let (demand, supply) = curves.split_at(n as usize);
    let excess = |p: f64| {
        let offered: f64 = supply.iter().map(|c| c.quantity * c.offered(p)).sum();
        let wanted: f64 = demand.iter().map(|c| c.quantity * c.wanted(p)).sum();
        offered - wanted
    };
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in &curves {
        if let Some(reach) = c.reach() {
            lo = lo.min(c.priority - reach);
            hi = hi.max(c.priority + reach);
            if reach.is_nan() || c.priority.is_nan() {
                return f64::NAN;
            }
        }
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return f64::NAN;
    }
    let (at_lo, at_hi) = (excess(lo), excess(hi));
    if at_lo.is_nan() || at_hi.is_nan() {
        return f64::NAN;
    }
    if at_lo >= 0.0 {
        return lo;
    }
    if at_hi <= 0.0 {
        return hi;
    }
    for _ in 0..MAX_HALVINGS {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        let f = excess(mid);
        if f.is_nan() {
            return f64::NAN;
        }
        if f == 0.0 {
            return mid;
        }
        if f > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo + (hi - lo) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vensim's example market (fn_find_market_price), with rectangular
    /// curves of width 1: demanders 500 and 300 at priorities 1 and 2,
    /// suppliers 200, 300, 450 at 1, 2, 3. For p in [1.5, 2.5] demander 1
    /// wants nothing, demander 2 wants 300 (2.5 - p), supplier 1 offers its
    /// 200, supplier 2 offers 300 (p - 1.5) and supplier 3 nothing, so the
    /// market clears at 200 + 300 (p - 1.5) = 300 (2.5 - p): p = 5/3, where
    /// supplier 2 offers 50 and demander 2 takes 250.
    #[test]
    fn rectangular_market_clears_by_hand() {
        let rect = |q: f64, prio: f64| [q, 1.0, prio, 1.0, 0.0];
        let mut args = vec![2.0];
        for c in [rect(500.0, 1.0), rect(300.0, 2.0)] {
            args.extend(c);
        }
        for c in [rect(200.0, 1.0), rect(300.0, 2.0), rect(450.0, 3.0)] {
            args.extend(c);
        }
        let p = find_market_price(&args);
        assert!((p - 5.0 / 3.0).abs() < 1e-12, "{p}");
        let supplied = supply_at_price(&[300.0, 1.0, 2.0, 1.0, 0.0, p]);
        let demanded = demand_at_price(&[300.0, 1.0, 2.0, 1.0, 0.0, p]);
        assert!((supplied - 50.0).abs() < 1e-9, "{supplied}");
        assert!((demanded - 250.0).abs() < 1e-9, "{demanded}");
    }

    /// With no demand the price is the low end of the search: the lowest
    /// priority less the curve's reach (Vensim: 0.5 rectangular, -4 normal,
    /// -9 exponential, for width 1 at priority 1); with a fixed demand
    /// beyond all supply, the high end.
    #[test]
    fn uncleared_markets_give_the_ends_of_the_search() {
        for (kind, low, high) in [
            (1.0, 0.5, 3.5),
            (2.0, 0.5, 3.5),
            (3.0, -4.0, 8.0),
            (4.0, -9.0, 13.0),
        ] {
            let market = |want: f64| {
                let mut args = vec![1.0, want, 0.0, 1.0, 1.0, 0.0];
                args.extend([200.0, kind, 1.0, 1.0, 0.0, 300.0, kind, 3.0, 1.0, 0.0]);
                find_market_price(&args)
            };
            assert_eq!(market(0.0), low, "type {kind}");
            assert_eq!(market(1e6), high, "type {kind}");
        }
    }

    /// A normal curve narrower than 0.05 is the 0.05 curve.
    #[test]
    fn normal_width_is_at_least_five_hundredths() {
        for w in [0.0, 0.001, 0.03] {
            let narrow = supply_at_price(&[1.0, 3.0, 10.0, w, 0.0, 10.02]);
            let floor = supply_at_price(&[1.0, 3.0, 10.0, 0.05, 0.0, 10.02]);
            assert_eq!(narrow, floor);
        }
        let wider = supply_at_price(&[1.0, 3.0, 10.0, 0.1, 0.0, 10.02]);
        assert!(wider < supply_at_price(&[1.0, 3.0, 10.0, 0.05, 0.0, 10.02]));
    }

    /// Fixed quantities ignore the price; a market of fixed quantities only
    /// has no clearing price; an unknown type gives NaN.
    #[test]
    fn fixed_and_unsupported_types() {
        assert_eq!(supply_at_price(&[7.0, 0.0, 1.0, 1.0, 0.0, f64::NAN]), 7.0);
        assert_eq!(demand_at_price(&[7.0, 0.0, 1.0, 1.0, 0.0, 99.0]), 7.0);
        assert!(
            find_market_price(&[1.0, 5.0, 0.0, 1.0, 1.0, 0.0, 9.0, 0.0, 1.0, 1.0, 0.0]).is_nan()
        );
        assert!(supply_at_price(&[7.0, 5.0, 1.0, 1.0, 0.0, 1.0]).is_nan());
        assert!(
            find_market_price(&[1.0, 5.0, 5.0, 1.0, 1.0, 0.0, 9.0, 1.0, 1.0, 1.0, 0.0]).is_nan()
        );
        assert!(find_market_price(&[3.0, 5.0, 1.0, 1.0, 1.0, 0.0]).is_nan());
        assert!(supply_at_price(&[7.0, 1.0]).is_nan());
    }
}
