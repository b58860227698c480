//! Graphical function (lookup table) evaluation.

use crate::compile::program::TableFn;
use crate::ir::{GfKind, GraphicalFunction};

/// The table's value at `x`, by its kind: continuous (clamped at the ends),
/// extrapolate (linear beyond the ends) or discrete (steps).
pub fn lookup(gf: &GraphicalFunction, x: f64) -> f64 {
    lookup_by(gf, x, |xs, x| xs.partition_point(|&p| p <= x))
}

/// A `hint` that says the table's x points do not ascend (so hints are
/// not used for it, see [`hint_for`]).
pub const NO_HINT: u32 = u32::MAX;

/// The starting hint for a table: [`NO_HINT`] unless its x points ascend.
pub fn hint_for(gf: &GraphicalFunction) -> u32 {
    if gf.xs.windows(2).all(|w| w[0] <= w[1]) {
        1
    } else {
        NO_HINT
    }
}

/// [`lookup`], trying first the segment found at the same site last time
/// (`hint`, kept by the caller per site and run) and its neighbours.
/// Models read most tables at slowly moving inputs (TIME, a stock), so the
/// binary search, a chain of dependent loads, is rarely needed. On
/// ascending points the segment found is the one the search finds, so the
/// value is identical.
pub fn lookup_hinted(gf: &GraphicalFunction, x: f64, hint: &mut u32) -> f64 {
    if *hint == NO_HINT {
        return lookup(gf, x);
    }
    lookup_by(gf, x, |xs, x| upper_hinted(xs, x, hint))
}

/// The first index whose x is above `x` (an interior input of ascending
/// points: `xs[0] < x < xs[n - 1]`), trying the segment `hint` names and
/// its neighbours before a binary search, and leaving the answer in `hint`.
#[inline]
pub fn upper_hinted(xs: &[f64], x: f64, hint: &mut u32) -> usize {
    let h = *hint as usize;
    let within = |i: usize| i >= 1 && i < xs.len() && xs[i - 1] <= x && x < xs[i];
    let i = if within(h) {
        h
    } else if within(h + 1) {
        h + 1
    } else if within(h.wrapping_sub(1)) {
        h - 1
    } else {
        xs.partition_point(|&p| p <= x)
    };
    *hint = i as u32;
    i
}

/// [`lookup`] with the interior segment search given: `upper(xs, x)` is
/// the first index whose x is above `x`.
#[inline(always)]
fn lookup_by(gf: &GraphicalFunction, x: f64, upper: impl FnOnce(&[f64], f64) -> usize) -> f64 {
    let n = gf.xs.len().min(gf.ys.len());
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    let (xs, ys) = (&gf.xs[..n], &gf.ys[..n]);
    if gf.kind == GfKind::Raw {
        return raw(xs, ys, x);
    }
    if n == 1 {
        return ys[0];
    }
    match place(xs, ys, gf.kind == GfKind::Extrapolate, x, upper) {
        Err(v) => v,
        Ok(i) if gf.kind == GfKind::Discrete => ys[i],
        Ok(i) => slope_at(xs, ys, i, x),
    }
}

/// Where `x` falls on a table of at least two points: `Ok(i)` for the
/// segment from point `i` to point `i + 1` whose line gives its value, or
/// `Err(value)` where no line does (NaN for NaN; the end values beyond the
/// ends of a table that does not extrapolate). `upper(xs, x)` finds an
/// interior input's segment: the first index whose x is above `x`. One
/// definition for the lookups of one value and of many lanes at once
/// (`sweep::lanes`).
#[inline(always)]
pub(crate) fn place(
    xs: &[f64],
    ys: &[f64],
    extrapolate: bool,
    x: f64,
    upper: impl FnOnce(&[f64], f64) -> usize,
) -> Result<usize, f64> {
    let n = xs.len();
    if x.is_nan() {
        Err(f64::NAN)
    } else if x <= xs[0] {
        if extrapolate {
            Ok(0)
        } else {
            Err(ys[0])
        }
    } else if x >= xs[n - 1] {
        if extrapolate {
            Ok(n - 2)
        } else {
            Err(ys[n - 1])
        }
    } else {
        Ok(upper(xs, x) - 1)
    }
}

/// `:RAW:` data: the y of the point at `x` (to a billionth of the time's
/// magnitude, so `3 * 0.1` finds the point at 0.3), else Vensim's `:NA:`.
fn raw(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let tol = 1e-9 * x.abs().max(1.0);
    let i = xs.partition_point(|&p| p < x - tol);
    match xs.get(i) {
        Some(&p) if (p - x).abs() <= tol => ys[i],
        _ => crate::ir::VENSIM_NA,
    }
}

/// A Vensim lookup function over `gf` (see [`TableFn`]); `x2` is the second
/// input of the two-input ones (LOOKUP AREA's upper bound, LOOKUP SLOPE's
/// mode, the GET DATA bounds).
pub fn table_fn(gf: &GraphicalFunction, f: TableFn, x: f64, x2: f64) -> f64 {
    let (xs, ys) = (&gf.xs, &gf.ys);
    let n = xs.len().min(ys.len());
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    match f {
        TableFn::Extrapolate => {
            // Same maths as an extrapolating table, without copying the points.
            if n == 1 {
                return ys[0];
            }
            let (xs, ys) = (&xs[..n], &ys[..n]);
            match place(xs, ys, true, x, |xs, x| xs.partition_point(|&p| p <= x)) {
                Ok(i) => slope_at(xs, ys, i, x),
                Err(v) => v,
            }
        }
        TableFn::Forward => {
            // First point at or above x; clamped to the last.
            let i = xs[..n].partition_point(|&p| p < x);
            ys[i.min(n - 1)]
        }
        TableFn::Backward => {
            // Last point at or below x; clamped to the first.
            let i = xs[..n].partition_point(|&p| p <= x);
            ys[i.saturating_sub(1)]
        }
        TableFn::Invert => {
            let beyond = if gf.kind == GfKind::Extrapolate {
                Beyond::Extrapolate
            } else {
                Beyond::Ends
            };
            invert(&xs[..n], &ys[..n], x, beyond)
        }
        TableFn::InvertNa => invert(&xs[..n], &ys[..n], x, Beyond::Na),
        TableFn::DataBetween => {
            if x2.is_nan() {
                return f64::NAN;
            }
            // "... or :NA: if the time is before the first or after the
            // last data point" (Vensim's help); at an end point itself, its
            // value (what SDEverywhere's getdata reference shows).
            if x < xs[0] || x > xs[n - 1] {
                return crate::ir::VENSIM_NA;
            }
            let mode = x2.round();
            if mode == 0.0 {
                // Linear between the points.
                let i = xs[..n].partition_point(|&p| p <= x);
                if i == 0 {
                    ys[0]
                } else if i >= n {
                    ys[n - 1]
                } else {
                    let (x0, x1) = (xs[i - 1], xs[i]);
                    ys[i - 1] + (ys[i] - ys[i - 1]) * (x - x0) / (x1 - x0)
                }
            } else if mode > 0.0 {
                let i = xs[..n].partition_point(|&p| p < x);
                ys[i.min(n - 1)]
            } else {
                let i = xs[..n].partition_point(|&p| p < x);
                ys[i.saturating_sub(1)]
            }
        }
        TableFn::DataFirstTime => xs[0],
        TableFn::DataLastTime => xs[n - 1],
        TableFn::DataPoints => n as f64,
        TableFn::DataMax | TableFn::DataMin | TableFn::DataMean => {
            let inside: Vec<f64> = xs[..n]
                .iter()
                .zip(&ys[..n])
                .filter(|(&t, _)| t >= x && t <= x2)
                .map(|(_, &y)| y)
                .collect();
            if inside.is_empty() {
                return crate::ir::VENSIM_NA;
            }
            match f {
                TableFn::DataMax => inside.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                TableFn::DataMin => inside.iter().copied().fold(f64::INFINITY, f64::min),
                _ => inside.iter().sum::<f64>() / inside.len() as f64,
            }
        }
        TableFn::Slope => slope(&xs[..n], &ys[..n], x, x2),
        TableFn::Cdf => density_share(Points::Columns(&xs[..n], &ys[..n]), x),
        TableFn::Quantile => density_quantile(Points::Columns(&xs[..n], &ys[..n]), x),
        TableFn::IseeArea => {
            if x2.is_nan() {
                return f64::NAN;
            }
            // An omitted bound (passed infinite) is the table's end.
            let end = |b: f64| match b {
                f64::INFINITY => xs[n - 1],
                f64::NEG_INFINITY => xs[0],
                b => b,
            };
            let (a, b) = (end(x), end(x2));
            isee_area(gf, a.min(b), a.max(b))
        }
        TableFn::Area => {
            if x2.is_nan() {
                return f64::NAN;
            }
            let (lo, hi, sign) = if x <= x2 { (x, x2, 1.0) } else { (x2, x, -1.0) };
            sign * area(gf, lo, hi)
        }
    }
}

/// A table's points by index, read from its own columns or from pairs
/// interleaved in one slice (`x0, y0, x1, y1, ...`, as DELAY CONVEYOR's
/// profile reaches its op), so the density functions below serve both
/// without copying.
#[derive(Clone, Copy)]
pub(crate) enum Points<'a> {
    Columns(&'a [f64], &'a [f64]),
    Pairs(&'a [f64]),
}

impl Points<'_> {
    fn len(self) -> usize {
        match self {
            Points::Columns(xs, ys) => xs.len().min(ys.len()),
            Points::Pairs(p) => p.len() / 2,
        }
    }

    fn x(self, i: usize) -> f64 {
        match self {
            Points::Columns(xs, _) => xs[i],
            Points::Pairs(p) => p[2 * i],
        }
    }

    /// The density at point i: the table's value, negative ones as 0.
    fn density(self, i: usize) -> f64 {
        match self {
            Points::Columns(_, ys) => ys[i],
            Points::Pairs(p) => p[2 * i + 1],
        }
        .max(0.0)
    }

    /// The density at both ends of segment `i` (point i to i + 1) and the
    /// segment's area.
    fn segment(self, i: usize) -> (f64, f64, f64) {
        let (y0, y1) = (self.density(i), self.density(i + 1));
        let w = self.x(i + 1) - self.x(i);
        (y0, y1, if w > 0.0 { (y0 + y1) / 2.0 * w } else { 0.0 })
    }

    fn total(self) -> f64 {
        (0..self.len().saturating_sub(1))
            .map(|i| self.segment(i).2)
            .sum()
    }
}

/// The share of the density's area left of x: 0 before the first point, 1
/// after the last, NaN for a table with no area.
pub(crate) fn density_share(p: Points<'_>, x: f64) -> f64 {
    let total = p.total();
    if total.is_nan() || total <= 0.0 {
        return f64::NAN;
    }
    let mut below = 0.0;
    for i in 0..p.len().saturating_sub(1) {
        let (y0, y1, a) = p.segment(i);
        let (x0, x1) = (p.x(i), p.x(i + 1));
        if x >= x1 {
            below += a;
            continue;
        }
        if x > x0 {
            let t = x - x0;
            let s = (y1 - y0) / (x1 - x0);
            below += y0 * t + s * t * t / 2.0;
        }
        break;
    }
    (below / total).clamp(0.0, 1.0)
}

/// The x left of which lies share `q` of the density's area (the inverse
/// of [`density_share`]; q is clamped to [0, 1]).
fn density_quantile(p: Points<'_>, q: f64) -> f64 {
    let total = p.total();
    if total.is_nan() || total <= 0.0 {
        return f64::NAN;
    }
    let mut rest = q.clamp(0.0, 1.0) * total;
    let last = p.len() - 1;
    for i in 0..last {
        let (y0, y1, a) = p.segment(i);
        if a <= 0.0 {
            continue;
        }
        if rest > a {
            rest -= a;
            continue;
        }
        // Solve y0 t + s t^2 / 2 = rest for t in [0, w], in the form that
        // keeps its precision when s is near 0 or y0 is 0.
        let w = p.x(i + 1) - p.x(i);
        let s = (y1 - y0) / w;
        let root = (y0 * y0 + 2.0 * s * rest).max(0.0).sqrt();
        let t = if y0 + root > 0.0 {
            2.0 * rest / (y0 + root)
        } else {
            0.0
        };
        return p.x(i) + t.clamp(0.0, w);
    }
    p.x(last)
}

/// Vensim LOOKUP SLOPE(table, x, mode): the slope of the segment holding x;
/// at a point, the mean of the slopes before and after it (`:NA:` where two
/// points share that x); outside the table, by `mode`: 0 gives 0 (the flat
/// ends of an ordinary lookup), 1 the nearest end segment's slope (as LOOKUP
/// EXTRAPOLATE), -1 `:NA:`. At an end point, the slope outside the table is
/// the one the mode gives there, averaged with the end segment's.
fn slope(xs: &[f64], ys: &[f64], x: f64, mode: f64) -> f64 {
    let na = crate::ir::VENSIM_NA;
    let n = xs.len();
    let seg = |i: usize| (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]);
    if mode.is_nan() {
        return f64::NAN;
    }
    let mode = mode.round();
    // The slope left of the first point and right of the last.
    let outside = |end_segment: f64| match mode {
        m if m > 0.0 => end_segment,
        m if m < 0.0 => na,
        _ => 0.0,
    };
    if n == 1 {
        return if x == xs[0] { 0.0 } else { outside(0.0) };
    }
    let (first, last) = (seg(0), seg(n - 2));
    if x < xs[0] {
        return outside(first);
    }
    if x > xs[n - 1] {
        return outside(last);
    }
    // Points at exactly x: one is a corner, more are a jump.
    let lo = xs.partition_point(|&p| p < x);
    let hi = xs.partition_point(|&p| p <= x);
    match hi - lo {
        0 => seg(lo - 1),
        1 => {
            let before = if lo == 0 { outside(first) } else { seg(lo - 1) };
            let after = if lo == n - 1 { outside(last) } else { seg(lo) };
            if before == na || after == na {
                na
            } else {
                (before + after) / 2.0
            }
        }
        _ => na,
    }
}

/// What an inverse lookup gives for a y beyond the table's y range.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Beyond {
    /// The x of the end whose y is nearer (isee, not extrapolated).
    Ends,
    /// That end's segment carried on (isee, an Extrapolated graphical).
    Extrapolate,
    /// `:NA:` (Vensim LOOKUP INVERT).
    Na,
}

/// The x at which the piecewise-linear table reaches `y`: the first
/// segment (in x order) that spans y, interpolated; beyond the table's
/// y range as `beyond` says (a continuous table spans every y between its
/// least and greatest, so "no segment spans y" is "y is out of range").
fn invert(xs: &[f64], ys: &[f64], y: f64, beyond: Beyond) -> f64 {
    let n = xs.len();
    if n == 1 {
        return if beyond == Beyond::Na && y != ys[0] {
            crate::ir::VENSIM_NA
        } else {
            xs[0]
        };
    }
    let on_segment = |i: usize| {
        let (y0, y1) = (ys[i], ys[i + 1]);
        if y1 == y0 {
            return xs[i];
        }
        xs[i] + (xs[i + 1] - xs[i]) * (y - y0) / (y1 - y0)
    };
    for i in 0..n - 1 {
        let (y0, y1) = (ys[i], ys[i + 1]);
        if (y0 <= y && y <= y1) || (y1 <= y && y <= y0) {
            return on_segment(i);
        }
    }
    // Out of range: the end whose y is nearer; on an extrapolating table
    // the line of that end's segment carried on (isee LOOKUPINV: "If the
    // graphical is marked as Extrapolated it will use extrapolation to
    // compute a value, otherwise it will return the first or last point").
    let first = (y - ys[0]).abs() <= (y - ys[n - 1]).abs();
    match (first, beyond) {
        (_, Beyond::Na) => crate::ir::VENSIM_NA,
        (true, Beyond::Ends) => xs[0],
        (false, Beyond::Ends) => xs[n - 1],
        (true, Beyond::Extrapolate) => on_segment(0),
        (false, Beyond::Extrapolate) => on_segment(n - 2),
    }
}

/// The integral of the (clamped, interpolated) table from `lo` to `hi`.
fn area(gf: &GraphicalFunction, lo: f64, hi: f64) -> f64 {
    let (xs, ys) = (&gf.xs, &gf.ys);
    let n = xs.len().min(ys.len());
    // Breakpoints inside (lo, hi), plus the bounds; trapezoids are exact
    // for a piecewise-linear function (constant beyond the ends).
    let mut pts = vec![lo];
    pts.extend(xs[..n].iter().copied().filter(|&p| p > lo && p < hi));
    pts.push(hi);
    let f = |x: f64| clamped(&xs[..n], &ys[..n], x);
    pts.windows(2)
        .map(|w| (w[1] - w[0]) * (f(w[0]) + f(w[1])) / 2.0)
        .sum()
}

/// isee LOOKUPAREA from `lo` to `hi` (`lo <= hi`): "For continuous and stepwise graphicals
/// LOOKUPAREA will ignore (effectively treat as 0) values below the minimum
/// X value ... or above the maximum X value. For extrapolated graphicals the
/// area is computed using the extrapolated value" (isee help, Graphical
/// builtins). A discrete table holds each point's y up to the next point.
fn isee_area(gf: &GraphicalFunction, lo: f64, hi: f64) -> f64 {
    let (xs, ys) = (&gf.xs, &gf.ys);
    let n = xs.len().min(ys.len());
    let (first, last) = (xs[0], xs[n - 1]);
    // The part of [lo, hi] over the points.
    let (a, b) = (lo.max(first), hi.min(last));
    let inside = || if b > a { area(gf, a, b) } else { 0.0 };
    match gf.kind {
        GfKind::Discrete => {
            let (lo, hi) = (a, b);
            (0..n.saturating_sub(1))
                .map(|i| {
                    let (a, b) = (xs[i].max(lo), xs[i + 1].min(hi));
                    if b > a {
                        ys[i] * (b - a)
                    } else {
                        0.0
                    }
                })
                .sum()
        }
        GfKind::Extrapolate if n > 1 => {
            // Inside the points as the clamped area; each end beyond them
            // along its end segment's line.
            let beyond = |a: f64, b: f64, i: usize| {
                let f = |x: f64| slope_at(&xs[..n], &ys[..n], i, x);
                (b - a) * (f(a) + f(b)) / 2.0
            };
            let mut total = 0.0;
            if lo < first {
                total += beyond(lo, hi.min(first), 0);
            }
            if hi > last {
                total += beyond(lo.max(last), hi, n - 2);
            }
            total + inside()
        }
        _ => inside(),
    }
}

/// Linear interpolation clamped at the ends, whatever the table's kind.
fn clamped(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let n = xs.len();
    if n == 1 || x <= xs[0] {
        return ys[0];
    }
    if x >= xs[n - 1] {
        return ys[n - 1];
    }
    let i = xs.partition_point(|&p| p <= x);
    slope_at(xs, ys, i - 1, x)
}

#[inline(always)]
fn slope_at(xs: &[f64], ys: &[f64], i: usize, x: f64) -> f64 {
    line(xs[i], xs[i + 1], ys[i], ys[i + 1], x)
}

/// The value at `x` of the line through `(x0, y0)` and `(x1, y1)`; `y1` on
/// a vertical step (`x0 == x1`).
#[inline(always)]
pub(crate) fn line(x0: f64, x1: f64, y0: f64, y1: f64, x: f64) -> f64 {
    let dx = x1 - x0;
    if dx == 0.0 {
        y1
    } else {
        y0 + (y1 - y0) * (x - x0) / dx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gf(kind: GfKind) -> GraphicalFunction {
        GraphicalFunction {
            kind,
            xs: vec![0.0, 1.0, 2.0],
            ys: vec![0.0, 10.0, 30.0],
        }
    }

    /// The table as a density: points (0,0) (1,10) (2,30) have areas 5 and
    /// 20; a share and its quantile invert each other, ends included.
    #[test]
    fn density_share_and_quantile_invert_each_other() {
        let g = gf(GfKind::Continuous);
        let share = |x| table_fn(&g, TableFn::Cdf, x, 0.0);
        let quantile = |q| table_fn(&g, TableFn::Quantile, q, 0.0);
        assert_eq!(share(-1.0), 0.0);
        assert_eq!(share(1.0), 0.2);
        assert_eq!(share(5.0), 1.0);
        // Left of 0.5 on the first segment: 10 * 0.5^2 / 2 = 1.25 of 25.
        assert!((share(0.5) - 0.05).abs() < 1e-15);
        for x in [0.0, 0.25, 0.5, 1.0, 1.3, 1.75, 2.0] {
            assert!((quantile(share(x)) - x).abs() < 1e-12, "x {x}");
        }
        assert_eq!(quantile(-0.5), 0.0);
        assert_eq!(quantile(1.5), 2.0);
        // Negative values count as 0; a table without area has no draws.
        let neg = GraphicalFunction {
            kind: GfKind::Continuous,
            xs: vec![0.0, 1.0, 2.0],
            ys: vec![-5.0, 0.0, 2.0],
        };
        assert_eq!(table_fn(&neg, TableFn::Cdf, 1.0, 0.0), 0.0);
        assert!((table_fn(&neg, TableFn::Quantile, 0.25, 0.0) - 1.5).abs() < 1e-12);
        let flat = GraphicalFunction {
            kind: GfKind::Continuous,
            xs: vec![0.0, 1.0],
            ys: vec![0.0, 0.0],
        };
        assert!(table_fn(&flat, TableFn::Quantile, 0.5, 0.0).is_nan());
    }

    #[test]
    fn continuous_interpolates_and_clamps() {
        let g = gf(GfKind::Continuous);
        assert_eq!(lookup(&g, 0.5), 5.0);
        assert_eq!(lookup(&g, 1.5), 20.0);
        assert_eq!(lookup(&g, -1.0), 0.0);
        assert_eq!(lookup(&g, 9.0), 30.0);
    }

    #[test]
    fn extrapolate_extends_end_slopes() {
        let g = gf(GfKind::Extrapolate);
        assert_eq!(lookup(&g, -1.0), -10.0);
        assert_eq!(lookup(&g, 3.0), 50.0);
    }

    /// isee LOOKUPINV out of the table's y range: an extrapolated
    /// graphical carries its end segment on ("If the graphical is marked as
    /// Extrapolated it will use extrapolation to compute a value"), any
    /// other returns the first or last point; rising and falling tables.
    /// Vensim LOOKUP INVERT: `:NA:` beyond the y range, a table of one
    /// point included (its y alone is in range).
    #[test]
    fn vensim_invert_is_na_beyond_the_y_range() {
        let inv = |g: &GraphicalFunction, y| table_fn(g, TableFn::InvertNa, y, 0.0);
        let g = gf(GfKind::Continuous); // (0,0) (1,10) (2,30)
        assert_eq!(inv(&g, 20.0), 1.5);
        assert_eq!(inv(&g, 30.0), 2.0);
        assert_eq!(inv(&g, 31.0), crate::ir::VENSIM_NA);
        assert_eq!(inv(&g, -1.0), crate::ir::VENSIM_NA);
        let one = GraphicalFunction {
            kind: GfKind::Continuous,
            xs: vec![4.0],
            ys: vec![7.0],
        };
        assert_eq!(inv(&one, 7.0), 4.0);
        assert_eq!(inv(&one, 8.0), crate::ir::VENSIM_NA);
    }

    #[test]
    fn invert_extrapolates_only_an_extrapolating_table() {
        let inv = |g: &GraphicalFunction, y| table_fn(g, TableFn::Invert, y, 0.0);
        let up = gf(GfKind::Extrapolate); // (0,0) (1,10) (2,30)
        assert_eq!(inv(&up, -10.0), -1.0);
        assert_eq!(inv(&up, 50.0), 3.0);
        assert_eq!(inv(&up, 20.0), 1.5);
        let clamped = gf(GfKind::Continuous);
        assert_eq!(inv(&clamped, -10.0), 0.0);
        assert_eq!(inv(&clamped, 50.0), 2.0);
        let down = GraphicalFunction {
            kind: GfKind::Extrapolate,
            xs: vec![0.0, 1.0, 2.0, 3.0],
            ys: vec![30.0, 20.0, 10.0, 0.0],
        };
        assert_eq!(inv(&down, -10.0), 4.0);
        assert_eq!(inv(&down, 40.0), -1.0);
    }

    #[test]
    fn vensim_table_functions() {
        let g = gf(GfKind::Continuous);
        let f = |k, x| table_fn(&g, k, x, 0.0);
        assert_eq!(f(TableFn::Extrapolate, 3.0), 50.0);
        assert_eq!(f(TableFn::Extrapolate, 0.5), 5.0);
        assert_eq!(f(TableFn::Forward, 0.5), 10.0);
        assert_eq!(f(TableFn::Forward, 1.0), 10.0);
        assert_eq!(f(TableFn::Forward, 9.0), 30.0);
        assert_eq!(f(TableFn::Backward, 1.5), 10.0);
        assert_eq!(f(TableFn::Backward, -1.0), 0.0);
        assert_eq!(f(TableFn::Invert, 20.0), 1.5);
        assert_eq!(f(TableFn::Invert, 99.0), 2.0);
        // Trapezoids 0..1 (5) and 1..2 (20); beyond x=2 the table is flat at 30.
        assert_eq!(table_fn(&g, TableFn::Area, 0.0, 2.0), 25.0);
        // GET DATA BETWEEN TIMES: interpolate, forward (at or after),
        // backward (strictly before).
        assert_eq!(table_fn(&g, TableFn::DataBetween, 1.5, 0.0), 20.0);
        // Outside the data, :NA: in every mode; at an end point, its value.
        for mode in [0.0, 1.0, -1.0] {
            assert_eq!(
                table_fn(&g, TableFn::DataBetween, -1.0, mode),
                crate::ir::VENSIM_NA
            );
            assert_eq!(
                table_fn(&g, TableFn::DataBetween, 2.5, mode),
                crate::ir::VENSIM_NA
            );
        }
        assert_eq!(table_fn(&g, TableFn::DataBetween, 2.0, 0.0), 30.0);
        assert_eq!(table_fn(&g, TableFn::DataBetween, 2.0, 1.0), 30.0);
        assert_eq!(table_fn(&g, TableFn::DataBetween, 2.0, -1.0), 10.0);
        assert_eq!(table_fn(&g, TableFn::DataBetween, 1.0, 1.0), 10.0);
        assert_eq!(table_fn(&g, TableFn::DataBetween, 1.0, -1.0), 0.0);
        assert_eq!(table_fn(&g, TableFn::DataBetween, 1.5, -1.0), 10.0);
        assert_eq!(table_fn(&g, TableFn::Area, 2.0, 0.0), -25.0);
        assert_eq!(table_fn(&g, TableFn::Area, 2.0, 3.0), 30.0);
        assert_eq!(table_fn(&g, TableFn::Area, 0.5, 1.0), 3.75);
    }

    #[test]
    fn discrete_steps() {
        let g = gf(GfKind::Discrete);
        assert_eq!(lookup(&g, 0.99), 0.0);
        assert_eq!(lookup(&g, 1.0), 10.0);
        assert_eq!(lookup(&g, 5.0), 30.0);
    }

    #[test]
    fn hinted_lookups_equal_the_searched_ones() {
        // Points with a repeated x (a vertical step), inputs that walk up,
        // jump, walk down and land on points, for every kind; and a table
        // whose points do not ascend, which is never hinted.
        let xs = vec![0.0, 1.0, 2.0, 2.0, 3.5, 5.0, 8.0, 13.0];
        let ys = vec![1.0, -2.0, 4.0, 9.0, 0.5, 7.0, 3.0, 11.0];
        let mut inputs: Vec<f64> = (0..300).map(|i| -1.0 + i as f64 * 0.05).collect();
        inputs.extend([12.9, 0.2, 2.0, 5.0, 5.0, 3.5, 1e9, -1e9, f64::NAN, 7.99]);
        inputs.extend((0..300).map(|i| 14.0 - i as f64 * 0.049));
        for kind in [GfKind::Continuous, GfKind::Extrapolate, GfKind::Discrete] {
            let g = GraphicalFunction {
                kind,
                xs: xs.clone(),
                ys: ys.clone(),
            };
            let mut hint = hint_for(&g);
            assert_ne!(hint, NO_HINT);
            for &x in &inputs {
                let (want, got) = (lookup(&g, x), lookup_hinted(&g, x, &mut hint));
                assert_eq!(want.to_bits(), got.to_bits(), "{kind:?} at {x}");
            }
        }
        let unsorted = GraphicalFunction {
            kind: GfKind::Continuous,
            xs: vec![0.0, 3.0, 1.0, 4.0],
            ys: vec![0.0, 1.0, 2.0, 3.0],
        };
        let mut hint = hint_for(&unsorted);
        assert_eq!(hint, NO_HINT);
        for &x in &inputs {
            let want = lookup(&unsorted, x);
            assert_eq!(
                want.to_bits(),
                lookup_hinted(&unsorted, x, &mut hint).to_bits()
            );
        }
        assert_eq!(hint, NO_HINT);
    }
}
