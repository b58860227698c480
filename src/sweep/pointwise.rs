//! A model's per-step equations evaluated at many independent points.
//!
//! Loop scores ([`crate::loops::score`]) are functions of each variable's
//! value at a saved time and one step before it, with no state of their own.
//! So after a run they are computed for all saved times at once: each time
//! is a lane of [`Lanes`], its inputs are stocks without flows (so every
//! equation reading them is per-step code, never folded into a constant),
//! and one pass of the per-step program computes the scores of `W` times.

use super::lanes::Lanes;
use crate::compile::CompiledModel;
use crate::vm::state::TimeGrid;

/// Lanes per pass: wide enough for the AVX2 lane loops to pay off.
const W: usize = 16;

/// Where one input's value at each point is: `data[p - lag]` for point
/// `p` (`lag` 0 or 1; point 0 never lags).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column<'a> {
    pub data: &'a [f64],
    pub lag: usize,
}

/// Evaluate `m` at `n` points, input slot `s` (a stock) taking its values
/// from its [`Column`]. Returns one column of `n` values per slot of
/// `outputs`. `grid` supplies DT, INITIAL TIME and FINAL TIME to equations
/// that read them.
pub(crate) fn eval_points(
    m: &CompiledModel,
    grid: TimeGrid,
    inputs: &[(u32, Column<'_>)],
    n: usize,
    outputs: &[u32],
) -> Vec<Vec<f64>> {
    let mut cols: Vec<Vec<f64>> = outputs.iter().map(|_| Vec::with_capacity(n)).collect();
    if n == 0 {
        return cols;
    }
    let prog = m.reg_program();
    let mut lanes = Lanes::<W>::new(m, grid, prog);
    lanes.load(m, &[]);
    lanes.initialize(m);
    for first in (0..n).step_by(W) {
        let width = W.min(n - first);
        for &(s, c) in inputs {
            // Lanes take `data[first - lag ..]`; before point 0 a lagged
            // input reads point 0 itself.
            let pad = c.lag.saturating_sub(first);
            let from = (first + pad) - c.lag;
            let row = lanes.lanes_of_mut(s);
            if let Some(full) = c.data.get(from..from + W).filter(|_| pad == 0) {
                // The common case as a fixed-size copy (no call to memcpy).
                row.copy_from_slice(full);
            } else {
                row[..pad].fill(c.data[0]);
                row[pad..width].copy_from_slice(&c.data[from..from + width - pad]);
            }
        }
        lanes.eval_step(m);
        for (col, &s) in cols.iter_mut().zip(outputs) {
            let row = lanes.lanes_of(s);
            if width == W {
                col.extend_from_slice(row);
            } else {
                col.extend_from_slice(&row[..width]);
            }
        }
    }
    cols
}
