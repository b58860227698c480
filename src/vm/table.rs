//! Graphical function (lookup table) evaluation.

use crate::ir::{GfKind, GraphicalFunction};

/// The table's value at `x`, by its kind: continuous (clamped at the ends),
/// extrapolate (linear beyond the ends) or discrete (steps).
pub fn lookup(gf: &GraphicalFunction, x: f64) -> f64 {
    let (xs, ys) = (&gf.xs, &gf.ys);
    let n = xs.len().min(ys.len());
    if n == 0 {
        return f64::NAN;
    }
    if x.is_nan() {
        return f64::NAN;
    }
    if n == 1 {
        return ys[0];
    }
    if x <= xs[0] {
        return match gf.kind {
            GfKind::Extrapolate => slope_at(xs, ys, 0, x),
            _ => ys[0],
        };
    }
    if x >= xs[n - 1] {
        return match gf.kind {
            GfKind::Extrapolate => slope_at(xs, ys, n - 2, x),
            _ => ys[n - 1],
        };
    }
    // First index whose x is > input: the segment is [i-1, i].
    let i = xs[..n].partition_point(|&p| p <= x);
    match gf.kind {
        GfKind::Discrete => ys[i - 1],
        _ => slope_at(xs, ys, i - 1, x),
    }
}

fn slope_at(xs: &[f64], ys: &[f64], i: usize, x: f64) -> f64 {
    let dx = xs[i + 1] - xs[i];
    if dx == 0.0 {
        return ys[i + 1];
    }
    ys[i] + (ys[i + 1] - ys[i]) * (x - xs[i]) / dx
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

    #[test]
    fn discrete_steps() {
        let g = gf(GfKind::Discrete);
        assert_eq!(lookup(&g, 0.99), 0.0);
        assert_eq!(lookup(&g, 1.0), 10.0);
        assert_eq!(lookup(&g, 5.0), 30.0);
    }
}
