//! Where a run's saved values go: its slice of the sweep's output buffer,
//! either as the full series or folded into one number per output.

use crate::error::{Error, Result};
use crate::sweep::Reduce;

/// How one run's saved values are written; shared read-only by all workers.
pub(crate) struct Sink {
    reduce: Option<Reduce>,
    n_times: usize,
    n_out: usize,
    /// For [`Reduce::At`]: the saved index at or before the time, the next
    /// one when the time falls between two saves, and the weight of the next.
    at: (usize, Option<usize>, f64),
}

impl Sink {
    pub(crate) fn new(reduce: Option<Reduce>, times: &[f64], n_out: usize) -> Result<Sink> {
        let mut at = (0, None, 0.0);
        if let Some(Reduce::At(t)) = reduce {
            let (first, last) = match (times.first(), times.last()) {
                (Some(&a), Some(&b)) => (a, b),
                _ => (0.0, 0.0),
            };
            let tol = 1e-9 * (last - first).abs().max(1.0);
            if !t.is_finite() || t < first - tol || t > last + tol {
                return Err(Error::BadSweep {
                    message: format!("reduce at time {t}: outside the saved times {first}..{last}"),
                });
            }
            let i0 = times
                .iter()
                .rposition(|&x| x <= t + tol)
                .unwrap_or_default();
            at = if (times[i0] - t).abs() <= tol || i0 + 1 >= times.len() {
                (i0, None, 0.0)
            } else {
                (
                    i0,
                    Some(i0 + 1),
                    (t - times[i0]) / (times[i0 + 1] - times[i0]),
                )
            };
        }
        Ok(Sink {
            reduce,
            n_times: times.len(),
            n_out,
            at,
        })
    }

    /// Output values per run.
    pub(crate) fn per_run(&self) -> usize {
        match self.reduce {
            None => self.n_times * self.n_out,
            Some(_) => self.n_out,
        }
    }

    /// Whether save point `ti` changes anything (a final value needs only
    /// the last one), so callers can skip reading the outputs.
    #[inline]
    pub(crate) fn needs(&self, ti: usize) -> bool {
        match self.reduce {
            Some(Reduce::Final) => ti + 1 == self.n_times,
            Some(Reduce::At(_)) => ti == self.at.0 || Some(ti) == self.at.1,
            _ => true,
        }
    }

    /// Save point `ti` for a batch of runs side by side: run `l`'s values
    /// are `out[l * stride..]`, this save's part of them starting at
    /// `offset` (a run can keep a second set, see `Job::previous`), and
    /// `value(o)[l]` is output `o` of run `l` now. Each output's values are
    /// taken for all runs at once: a call and a dispatch on the reduction
    /// per run and saved time cost more than the model's own step in a
    /// long sweep. A single run is the batch of one (`W = 1`).
    #[inline]
    pub(crate) fn save<const W: usize>(
        &self,
        out: &mut [f64],
        stride: usize,
        offset: usize,
        ti: usize,
        value: impl Fn(usize) -> [f64; W],
    ) {
        let n = self.n_out;
        match self.reduce {
            None => {
                for o in 0..n {
                    each(out, stride, offset + ti * n + o, value(o), |c, v| *c = v);
                }
            }
            Some(Reduce::Final) => {
                if ti + 1 == self.n_times {
                    for o in 0..n {
                        each(out, stride, offset + o, value(o), |c, v| *c = v);
                    }
                }
            }
            Some(Reduce::Max) => {
                for o in 0..n {
                    each(out, stride, offset + o, value(o), |c, v| {
                        *c = if ti == 0 { v } else { c.max(v) }
                    });
                }
            }
            Some(Reduce::Min) => {
                for o in 0..n {
                    each(out, stride, offset + o, value(o), |c, v| {
                        *c = if ti == 0 { v } else { c.min(v) }
                    });
                }
            }
            Some(Reduce::Mean) => {
                for o in 0..n {
                    each(out, stride, offset + o, value(o), |c, v| {
                        *c = if ti == 0 { v } else { *c + v }
                    });
                }
                if ti + 1 == self.n_times {
                    let k = self.n_times as f64;
                    for run in out.chunks_exact_mut(stride.max(1)) {
                        run[offset..offset + n].iter_mut().for_each(|c| *c /= k);
                    }
                }
            }
            Some(Reduce::At(_)) => {
                let (i0, i1, w) = self.at;
                if ti == i0 {
                    for o in 0..n {
                        each(out, stride, offset + o, value(o), |c, v| *c = v);
                    }
                } else if Some(ti) == i1 {
                    for o in 0..n {
                        each(out, stride, offset + o, value(o), |c, v| *c += (v - *c) * w);
                    }
                }
            }
        }
    }
}

/// `f(cell, values[l])` on the cell `at` of each run `l` of a batch (run
/// `l`'s values at `out[l * stride..]`).
#[inline(always)]
fn each<const W: usize>(
    out: &mut [f64],
    stride: usize,
    at: usize,
    values: [f64; W],
    f: impl Fn(&mut f64, f64),
) {
    for (run, v) in out.chunks_exact_mut(stride.max(1)).zip(values) {
        f(&mut run[at], v);
    }
}
