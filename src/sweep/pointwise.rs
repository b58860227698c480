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
    let mut cols: Vec<Vec<f64>> = outputs.iter().map(|_| vec![0.0; n]).collect();
    let mut out: Vec<&mut [f64]> = cols.iter_mut().map(Vec::as_mut_slice).collect();
    eval_block(m, grid, inputs, 0..n, outputs, &mut out);
    cols
}

/// [`eval_points`] spread over the process's sweep pool: the points are
/// cut into one contiguous block per thread, each evaluated on lanes of
/// its own. Every point is computed exactly as [`eval_points`] computes it
/// (points are independent), so the numbers are the same. For one run's
/// scores; a sweep already spreads its runs over the threads.
pub(crate) fn eval_points_parallel(
    m: &CompiledModel,
    grid: TimeGrid,
    inputs: &[(u32, Column<'_>)],
    n: usize,
    outputs: &[u32],
) -> Vec<Vec<f64>> {
    if m.vars.len().saturating_mul(n) < PARALLEL_WORK {
        return eval_points(m, grid, inputs, n, outputs);
    }
    let spread = crate::sweep::on_process_pool(|| {
        let mut cols: Vec<Vec<f64>> = outputs.iter().map(|_| vec![0.0; n]).collect();
        // Each block pays for lanes of its own (their set-up is a pass over
        // the whole model): a block is at least MIN_BLOCK passes.
        let blocks = rayon::current_num_threads()
            .min(n.div_ceil(W * MIN_BLOCK))
            .max(1);
        let per = n.div_ceil(blocks).next_multiple_of(W);
        let ranges: Vec<std::ops::Range<usize>> = (0..n)
            .step_by(per.max(W))
            .map(|a| a..(a + per).min(n))
            .collect();
        // Each output column cut at the block boundaries: block b writes
        // its own disjoint slices.
        let mut per_block: Vec<Vec<&mut [f64]>> = ranges
            .iter()
            .map(|_| Vec::with_capacity(outputs.len()))
            .collect();
        for col in cols.iter_mut() {
            let mut rest = col.as_mut_slice();
            for (r, slices) in ranges.iter().zip(per_block.iter_mut()) {
                let (head, tail) = rest.split_at_mut(r.len());
                slices.push(head);
                rest = tail;
            }
        }
        use rayon::prelude::*;
        ranges
            .into_par_iter()
            .zip(per_block.par_iter_mut())
            .for_each(|(r, out)| eval_block(m, grid, inputs, r, outputs, out));
        cols
    });
    // Without a pool (it could not be made), on this thread.
    spread.unwrap_or_else(|_| eval_points(m, grid, inputs, n, outputs))
}

/// Fewest passes of `W` points worth lanes of their own.
const MIN_BLOCK: usize = 8;

/// Below this many (variable x point) evaluations, waking the pool costs
/// about what splitting saves (SIR's scores: 40 variables x 3,201 points).
const PARALLEL_WORK: usize = 1 << 20;

/// Points `range` of [`eval_points`], written to `out[o][p - range.start]`.
fn eval_block(
    m: &CompiledModel,
    grid: TimeGrid,
    inputs: &[(u32, Column<'_>)],
    range: std::ops::Range<usize>,
    outputs: &[u32],
    out: &mut [&mut [f64]],
) {
    if range.is_empty() {
        return;
    }
    let mut lanes = Lanes::<W>::new(m, grid);
    lanes.load(m, &[]);
    lanes.initialize(m);
    for first in range.clone().step_by(W) {
        let width = W.min(range.end - first);
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
        let at = first - range.start;
        for (col, &s) in out.iter_mut().zip(outputs) {
            col[at..at + width].copy_from_slice(&lanes.lanes_of(s)[..width]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::RunOptions;

    #[test]
    fn spreading_points_over_threads_changes_no_number() {
        // x' = -k x with an aux of the stock; its "points" are arbitrary
        // stock values, lagged by one as loop scores read them.
        let project = crate::load_mdl(
            "x = INTEG(-k * x, 1) ~~|\nk = 0.3 ~~|\ny = x * x + SIN(x) ~~|\n\
             INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n",
        )
        .expect("loads");
        let m = CompiledModel::new(&project, None).expect("compiles");
        let grid = crate::vm::state::TimeGrid::resolve(&m, &RunOptions::default()).expect("grid");
        let x = m.slot("x").expect("x") as u32;
        let y = m.slot("y").expect("y") as u32;
        // Enough points to be spread (PARALLEL_WORK), not a multiple of
        // the lane width.
        let n = PARALLEL_WORK / m.vars.len() + 7;
        let data: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).cos() * 5.0).collect();
        for lag in [0, 1] {
            let inputs = [(x, Column { data: &data, lag })];
            let one = eval_points(&m, grid, &inputs, n, &[y, x]);
            let spread = eval_points_parallel(&m, grid, &inputs, n, &[y, x]);
            assert_eq!(one.len(), 2);
            assert_eq!(one[0].len(), n);
            let bits = |c: &[Vec<f64>]| -> Vec<Vec<u64>> {
                c.iter()
                    .map(|v| v.iter().map(|f| f.to_bits()).collect())
                    .collect()
            };
            assert_eq!(bits(&one), bits(&spread), "lag {lag}");
            let p = n / 2 + 3;
            let want = data[p - lag] * data[p - lag] + data[p - lag].sin();
            assert_eq!(one[0][p], want);
        }
    }
}
