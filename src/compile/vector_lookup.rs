//! Vensim `VECTOR LOOKUP(vec[..., first], x, xmin, xmax, mode)`: a lookup
//! table whose y values are the elements of `vec` along its last subscript,
//! at evenly spaced x from `xmin` to `xmax` (n elements, n - 1 intervals).
//!
//! `mode` (rounded) picks the lookup function, as the Vensim reference
//! manual's VECTOR LOOKUP page lists them: 0 interpolate (clamped at the
//! ends), 1 LOOKUP AREA from `xmin` to `x`, 2 LOOKUP BACKWARD, 3 LOOKUP
//! EXTRAPOLATE, 4 LOOKUP FORWARD, 5 LOOKUP INVERT (`:NA:` beyond the y
//! range, as LOOKUP INVERT), 6 LOOKUP SLOPE (on a point, the mean of the
//! slopes either side), and 7, 8, 9 the area, inverse and slope with linear
//! extrapolation beyond the ends.
//! The area is signed: below `xmin` it is negative for positive y values,
//! so `f(x2) - f(x1)` is the area between any two points. Other modes, and
//! `xmax <= xmin` with more than one element, give NaN.
//!
//! Like the other vector functions it expands at scalarisation time, into
//! the internal pure builtin `vector_lookup_element(x, xmin, xmax, mode,
//! y...)`, so `vec` may change during the run and the VM stays array-free.

use crate::compile::arrays::{ArrayInfo, ElementCtx};
use crate::compile::check_arity;
use crate::error::{Error, Result};
use crate::syntax::ast::{Expr, IndexExpr, Span};
use crate::syntax::ident::canonicalize;

impl ArrayInfo<'_> {
    /// Expand `VECTOR LOOKUP(vec[..., first], x, xmin, xmax, mode)`.
    pub(crate) fn vector_lookup(
        &self,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Expr> {
        const NAME: &str = "VECTOR LOOKUP";
        check_arity(variable, NAME, args.len(), 5, 5)?;
        let bad = |m: String| Error::BadSubscript {
            variable: variable.to_string(),
            message: format!("{NAME} {m}"),
        };
        let Expr::Subscript(vname, idx, span) = &args[0] else {
            return Err(bad("needs a subscripted vector, e.g. vec[s1]".into()));
        };
        let (rd, elems, values) = self.along_last(vname, idx, *span, ctx, variable, NAME)?;
        // Vensim reads the vector from the element given, so it must be the
        // first (a dimension name or `*` also stands for the whole vector).
        let first_ok = match idx.last() {
            Some(IndexExpr::Expr(Expr::Num(v))) => *v == 1.0,
            Some(IndexExpr::Expr(Expr::Var(n, _))) => {
                let n = canonicalize(n);
                elems.first() == Some(&n) || self.project.dimension(&n).is_some()
            }
            Some(IndexExpr::Wildcard(_)) => true,
            _ => false,
        };
        if !first_ok {
            return Err(bad(format!(
                "must be given the first element of '{rd}' ({}) as its vector's last subscript",
                elems.first().map(String::as_str).unwrap_or("")
            )));
        }
        let mut call = Vec::with_capacity(4 + values.len());
        for a in &args[1..] {
            call.push(self.scalarize(a, ctx, variable)?);
        }
        call.extend(values);
        Ok(Expr::Call(
            "vector_lookup_element".into(),
            call,
            Span::default(),
        ))
    }
}

/// Evenly spaced points: x_i = xmin + i * h, y_i = ys[i] (n >= 2, h > 0).
struct Grid<'a> {
    xmin: f64,
    h: f64,
    ys: &'a [f64],
}

impl Grid<'_> {
    fn last(&self) -> usize {
        self.ys.len() - 1
    }

    fn x_at(&self, i: usize) -> f64 {
        self.xmin + self.h * i as f64
    }

    fn xmax(&self) -> f64 {
        self.x_at(self.last())
    }

    /// x in units of intervals from xmin, snapped onto a grid point when
    /// within round-off of it (0.3 / 0.1 is 2.9999999999999996).
    fn k(&self, x: f64) -> f64 {
        let k = (x - self.xmin) / self.h;
        let r = k.round();
        if (k - r).abs() <= 1e-9 * r.abs().max(1.0) {
            r
        } else {
            k
        }
    }

    /// The interval [i, i + 1] holding x, clamped to the table.
    fn segment(&self, x: f64) -> usize {
        let k = self.k(x);
        if k <= 0.0 {
            0
        } else {
            (k.floor() as usize).min(self.last() - 1)
        }
    }

    /// The line through segment i, at x.
    fn line(&self, i: usize, x: f64) -> f64 {
        let (y0, y1) = (self.ys[i], self.ys[i + 1]);
        y0 + (y1 - y0) * (x - self.x_at(i)) / self.h
    }

    fn value(&self, x: f64, extrapolate: bool) -> f64 {
        if !extrapolate && x <= self.xmin {
            self.ys[0]
        } else if !extrapolate && x >= self.xmax() {
            self.ys[self.last()]
        } else {
            self.line(self.segment(x), x)
        }
    }

    fn backward(&self, x: f64) -> f64 {
        let k = self.k(x);
        let i = if k <= 0.0 { 0 } else { k.floor() as usize };
        self.ys[i.min(self.last())]
    }

    fn forward(&self, x: f64) -> f64 {
        let k = self.k(x);
        let i = if k <= 0.0 { 0 } else { k.ceil() as usize };
        self.ys[i.min(self.last())]
    }

    /// As LOOKUP SLOPE: the slope of the segment holding x; on a point
    /// "the average of the slope before and after x"; beyond the ends 0,
    /// or the end segment's slope when extrapolating (which an end point
    /// averages with its segment's).
    fn slope(&self, x: f64, extrapolate: bool) -> f64 {
        let last = self.last();
        let seg = |i: usize| (self.ys[i + 1] - self.ys[i]) / self.h;
        let (left, right) = if extrapolate {
            (seg(0), seg(last - 1))
        } else {
            (0.0, 0.0)
        };
        let k = self.k(x);
        if k < 0.0 {
            return left;
        }
        if k > last as f64 {
            return right;
        }
        if k == k.round() {
            let i = k as usize;
            let before = if i == 0 { left } else { seg(i - 1) };
            let after = if i == last { right } else { seg(i) };
            return (before + after) / 2.0;
        }
        seg(self.segment(x))
    }

    /// The signed integral of the table from xmin to x.
    fn area(&self, x: f64, extrapolate: bool) -> f64 {
        let f = |x: f64| self.value(x, extrapolate);
        if x <= self.xmin {
            return -(self.xmin - x) * (self.ys[0] + f(x)) / 2.0;
        }
        let k = self.k(x);
        let whole = (k.floor() as usize).min(self.last());
        let mut sum: f64 = (0..whole)
            .map(|i| self.h * (self.ys[i] + self.ys[i + 1]) / 2.0)
            .sum();
        // The rest, from the last grid point passed to x: exact trapezoids,
        // since the table is linear there (or constant beyond the end).
        let from = self.x_at(whole);
        sum += (x - from) * (self.ys[whole] + f(x)) / 2.0;
        sum
    }

    /// The x at which the table reaches y: the first segment spanning y;
    /// beyond the table's range `:NA:` as LOOKUP INVERT gives, or, when
    /// extrapolating, the end whose y is nearer extended along its end
    /// segment.
    fn invert(&self, y: f64, extrapolate: bool) -> f64 {
        let ys = self.ys;
        for i in 0..self.last() {
            let (y0, y1) = (ys[i], ys[i + 1]);
            if (y0 <= y && y <= y1) || (y1 <= y && y <= y0) {
                if y1 == y0 {
                    return self.x_at(i);
                }
                return self.x_at(i) + self.h * (y - y0) / (y1 - y0);
            }
        }
        let n = self.last();
        let (end, seg) = if (y - ys[0]).abs() <= (y - ys[n]).abs() {
            (0, 0)
        } else {
            (n, n - 1)
        };
        if !extrapolate {
            return crate::ir::VENSIM_NA;
        }
        let dy = ys[seg + 1] - ys[seg];
        if dy == 0.0 {
            return self.x_at(end);
        }
        self.x_at(end) + self.h * (y - ys[end]) / dy
    }
}

/// `(x, xmin, xmax, mode, y...)`: VECTOR LOOKUP's value (see the module
/// documentation).
pub fn vector_lookup_element(args: &[f64]) -> f64 {
    let (Some(&x), Some(&xmin), Some(&xmax), Some(&mode), Some(ys)) = (
        args.first(),
        args.get(1),
        args.get(2),
        args.get(3),
        args.get(4..),
    ) else {
        return f64::NAN;
    };
    let mode = mode.round();
    if ys.is_empty() || x.is_nan() || !(0.0..=9.0).contains(&mode) {
        return f64::NAN;
    }
    if ys.len() == 1 {
        // A single point: a constant function.
        return match mode as u8 {
            1 | 7 => ys[0] * (x - xmin),
            5 | 8 => xmin,
            6 | 9 => 0.0,
            _ => ys[0],
        };
    }
    let h = (xmax - xmin) / (ys.len() - 1) as f64;
    if !(h > 0.0 && h.is_finite()) {
        return f64::NAN;
    }
    let g = Grid { xmin, h, ys };
    match mode as u8 {
        0 => g.value(x, false),
        1 => g.area(x, false),
        2 => g.backward(x),
        3 => g.value(x, true),
        4 => g.forward(x),
        5 => g.invert(x, false),
        6 => g.slope(x, false),
        7 => g.area(x, true),
        8 => g.invert(x, true),
        _ => g.slope(x, true),
    }
}

#[cfg(test)]
mod tests {
    use super::vector_lookup_element;

    /// ys [0, 2, 3] at x = 0, 1, 2 (the Vensim manual's lookup example).
    fn vl(x: f64, mode: f64) -> f64 {
        vector_lookup_element(&[x, 0.0, 2.0, mode, 0.0, 2.0, 3.0])
    }

    #[test]
    fn every_mode_on_a_three_point_table() {
        // 0: interpolate, clamped.
        assert_eq!(
            [vl(-1.0, 0.0), vl(0.5, 0.0), vl(1.7, 0.0), vl(5.0, 0.0)],
            [0.0, 1.0, 2.7, 3.0]
        );
        // 1: area from xmin (clamped ends: 3 per unit beyond x = 2).
        assert_eq!(
            [vl(1.0, 1.0), vl(2.0, 1.0), vl(3.0, 1.0), vl(-1.0, 1.0)],
            [1.0, 3.5, 6.5, 0.0]
        );
        // 2 backward, 4 forward.
        assert_eq!(
            [vl(0.5, 2.0), vl(1.0, 2.0), vl(9.0, 2.0), vl(-3.0, 2.0)],
            [0.0, 2.0, 3.0, 0.0]
        );
        assert_eq!(
            [vl(0.5, 4.0), vl(1.0, 4.0), vl(9.0, 4.0), vl(-3.0, 4.0)],
            [2.0, 2.0, 3.0, 0.0]
        );
        // 3: extrapolate along the end segments.
        assert_eq!([vl(-1.0, 3.0), vl(3.0, 3.0)], [-2.0, 4.0]);
        // 5: invert; out of the y range :NA:, as LOOKUP INVERT.
        let na = crate::ir::VENSIM_NA;
        assert_eq!(
            [vl(1.0, 5.0), vl(2.5, 5.0), vl(10.0, 5.0), vl(-4.0, 5.0)],
            [0.5, 1.5, na, na]
        );
        // 6: slope, 0 beyond the ends; on a point the mean of the slopes
        // either side (an end point: with the 0 outside).
        assert_eq!([vl(0.5, 6.0), vl(1.5, 6.0), vl(3.0, 6.0)], [2.0, 1.0, 0.0]);
        assert_eq!([vl(1.0, 6.0), vl(0.0, 6.0), vl(2.0, 6.0)], [1.5, 1.0, 0.5]);
        assert_eq!([vl(1.0, 9.0), vl(0.0, 9.0), vl(2.0, 9.0)], [1.5, 2.0, 1.0]);
        // 7: area with extrapolation: below xmin negative.
        // (The extrapolated values below xmin are negative here, so the signed
        // area from xmin back to -1 is positive.)
        assert_eq!([vl(3.0, 7.0), vl(-1.0, 7.0)], [7.0, 1.0]);
        // 8: invert with extrapolation; 9: slope with extrapolation.
        assert_eq!([vl(4.0, 8.0), vl(-2.0, 8.0)], [3.0, -1.0]);
        assert_eq!([vl(3.0, 9.0), vl(-1.0, 9.0)], [1.0, 2.0]);
    }

    #[test]
    fn area_differences_give_the_area_between_points() {
        // Integral of the table from 0.5 to 1.5: trapezoids (1 + 2) / 2 *
        // 0.5 and (2 + 2.5) / 2 * 0.5.
        assert!((vl(1.5, 1.0) - vl(0.5, 1.0) - 1.875).abs() < 1e-12);
    }

    #[test]
    fn grid_points_survive_round_off() {
        // x = 0.3 on a 0.1 grid is point 3, not the middle of segment 2.
        let ys = [0.0, 1.0, 2.0, 10.0, 20.0];
        let at = |x: f64, mode: f64| {
            let mut a = vec![x, 0.0, 0.4, mode];
            a.extend(ys);
            vector_lookup_element(&a)
        };
        assert_eq!(at(0.3, 2.0), 10.0);
        assert_eq!(at(0.3, 4.0), 10.0);
    }

    #[test]
    fn bad_input_gives_nan() {
        assert!(vl(1.0, 10.0).is_nan());
        assert!(vl(1.0, -1.0).is_nan());
        assert!(vl(f64::NAN, 0.0).is_nan());
        assert!(vector_lookup_element(&[1.0, 2.0, 2.0, 0.0, 1.0, 2.0]).is_nan());
        assert!(vector_lookup_element(&[1.0, 0.0, 1.0, 0.0]).is_nan());
        assert_eq!(vector_lookup_element(&[5.0, 0.0, 1.0, 0.0, 7.0]), 7.0);
    }
}
