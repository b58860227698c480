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

    /// Whether every saved value is kept as it is (no reduction).
    pub(crate) fn keeps_series(&self) -> bool {
        self.reduce.is_none()
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

    /// Save point `ti`: `value(o)` is output `o` now; `out` is this run's slice.
    #[inline]
    pub(crate) fn save(&self, out: &mut [f64], ti: usize, value: impl Fn(usize) -> f64) {
        let n = self.n_out;
        match self.reduce {
            None => {
                let row = &mut out[ti * n..(ti + 1) * n];
                for (o, cell) in row.iter_mut().enumerate() {
                    *cell = value(o);
                }
            }
            Some(Reduce::Final) => {
                if ti + 1 == self.n_times {
                    for (o, cell) in out.iter_mut().enumerate() {
                        *cell = value(o);
                    }
                }
            }
            Some(Reduce::Max) => {
                for (o, cell) in out.iter_mut().enumerate() {
                    *cell = if ti == 0 {
                        value(o)
                    } else {
                        cell.max(value(o))
                    };
                }
            }
            Some(Reduce::Min) => {
                for (o, cell) in out.iter_mut().enumerate() {
                    *cell = if ti == 0 {
                        value(o)
                    } else {
                        cell.min(value(o))
                    };
                }
            }
            Some(Reduce::Mean) => {
                for (o, cell) in out.iter_mut().enumerate() {
                    *cell = if ti == 0 { value(o) } else { *cell + value(o) };
                }
                if ti + 1 == self.n_times {
                    let k = self.n_times as f64;
                    out.iter_mut().for_each(|c| *c /= k);
                }
            }
            Some(Reduce::At(_)) => {
                let (i0, i1, w) = self.at;
                if ti == i0 {
                    for (o, cell) in out.iter_mut().enumerate() {
                        *cell = value(o);
                    }
                } else if Some(ti) == i1 {
                    for (o, cell) in out.iter_mut().enumerate() {
                        *cell += (value(o) - *cell) * w;
                    }
                }
            }
        }
    }
}
