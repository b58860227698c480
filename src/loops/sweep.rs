//! Sweeps with loop scores, computed from each run's values.
//!
//! As for single runs ([`super::score`]), the score equations hold no state:
//! a run's scores at a saved time are a function of its values then and one
//! step (dt) before. So a sweep runs the *plain* model in the batched
//! engine, keeping only the values the scores read
//! ([`crate::sweep::sweep_watched`]), and evaluates the score equations
//! over all of a chunk's (run, saved time) points at once, 16 per pass, in
//! parallel. With `reduce="final"` only the final time is scored. The
//! answers are bit-identical to sweeping the instrumented model (the only
//! way when a score equation cannot be evaluated pointwise, which stays
//! the fallback).

use rayon::prelude::*;

use super::ltm::LtmModel;
use super::score::Scorer;
use crate::error::Result;
use crate::sweep::sink::Sink;
use crate::sweep::{
    self, sweep_watched, Engine, Fold, Param, Progress, Reduce, SweepOptions, SweepResult,
    WatchedChunk,
};

/// Points per parallel task of the score pass (a multiple of its 16 lanes).
const POINTS_PER_TASK: usize = 512;

/// Scoring every saved time pointwise pays when saves are at least this
/// many steps apart. With every step saved, the instrumented model does the
/// same score work per step without storing and re-reading the plain run's
/// values, and is faster: on SIR's 2,000-run dominance sweep, 315 ms
/// against 1,039 ms; even at 3 steps per save; pointwise from 4 on (275
/// against 282 ms), and 46 against 212 ms at 32.
const MIN_STEPS_PER_SAVE: u64 = 4;

/// How a sweep's requested outputs are scored pointwise: the scorer and,
/// per output, its index among [`LtmModel::score_outputs`].
struct Pointwise<'a> {
    scorer: &'a Scorer,
    outputs: Vec<usize>,
}

impl LtmModel {
    /// The pointwise plan for `opts`, or `None` to sweep the instrumented
    /// model: a score equation that needs it, one run at a time, an output
    /// that is not a score variable (the instrumented model resolves or
    /// rejects it), or scores at saved times too close together to pay
    /// (see [`MIN_STEPS_PER_SAVE`]; `reduce="final"` scores one time only).
    fn pointwise_for(&self, opts: &SweepOptions) -> Option<Pointwise<'_>> {
        let scorer = self.scorer()?;
        if opts.engine == Engine::Scalar {
            return None;
        }
        if opts.reduce != Some(Reduce::Final) {
            let grid = sweep::sweep_grid(self.plain(), opts).ok()?;
            if grid.save_every < MIN_STEPS_PER_SAVE {
                return None;
            }
        }
        let names = self.score_outputs();
        let outputs = match &opts.outputs {
            Some(wanted) => wanted
                .iter()
                .map(|w| names.iter().position(|n| n == w))
                .collect::<Option<Vec<_>>>()?,
            None => (0..names.len()).collect(),
        };
        Some(Pointwise { scorer, outputs })
    }

    /// True when a sweep with `opts` scores from the plain runs' values
    /// rather than by running the instrumented model.
    pub fn sweeps_pointwise(&self, opts: &SweepOptions) -> bool {
        self.pointwise_for(opts).is_some()
    }

    /// Sweep with loop scores: as [`crate::sweep::sweep`] of the model
    /// compiled with them (`opts.outputs` naming score variables, see
    /// [`LtmModel::score_outputs`]), with the same result bit for bit.
    pub fn sweep(
        &self,
        n_runs: usize,
        params: &[Param],
        opts: &SweepOptions,
        progress: &Progress,
    ) -> Result<SweepResult> {
        let Some(pw) = self.pointwise_for(opts) else {
            return sweep::sweep(&*self.compiled()?, n_runs, params, opts, progress);
        };
        let n_out = pw.outputs.len();
        let final_only = opts.reduce == Some(Reduce::Final);
        let saved = sweep::sweep_grid(self.plain(), opts)?.save_times();
        let sink = Sink::new(opts.reduce, &saved, n_out)?;
        let per_run = sink.per_run();
        let mut values = crate::buffers::zeros(
            n_runs.saturating_mul(per_run),
            &format!("the sweep's {n_runs} runs x {per_run} values"),
        )?;
        let (times, failures) =
            sweep_watched(
                self.plain(),
                n_runs,
                params,
                opts,
                progress,
                (&pw.scorer.watch, final_only),
                |chunk| {
                    let n_t = chunk.points;
                    let n = chunk.failures.len();
                    let per_block = pw.runs_per_block(n_t);
                    let runs = &mut values[chunk.first * per_run..(chunk.first + n) * per_run];
                    runs.par_chunks_mut((per_run * per_block).max(1))
                        .enumerate()
                        .for_each(|(b, out)| {
                            let first = b * per_block;
                            let k = per_block.min(n - first);
                            let scores = pw.block(&chunk, first, k);
                            for (r, out) in out.chunks_mut(per_run.max(1)).enumerate() {
                                for t in 0..n_t {
                                    let p = r * n_t + t;
                                    sink.save(out, per_run, 0, chunk.saved_index(t), |o| {
                                        [scores[o][p]]
                                    });
                                }
                            }
                        });
                },
            )?;
        if opts.reduce.is_some() {
            values = sweep::transpose(&values, n_runs, n_out)?;
        }
        let names = self.score_outputs();
        Ok(SweepResult {
            n_runs,
            outputs: pw.outputs.iter().map(|&i| names[i].clone()).collect(),
            times,
            reduce: opts.reduce,
            values,
            failures,
        })
    }

    /// Sweep with loop scores handing each run's series to `each(run,
    /// times, series)` chunk by chunk: as [`crate::sweep::sweep_each`] of
    /// the model compiled with them, with the same series bit for bit.
    pub fn sweep_each<R: Send>(
        &self,
        n_runs: usize,
        params: &[Param],
        opts: &SweepOptions,
        progress: &Progress,
        each: impl Fn(usize, &[f64], &[f64]) -> R + Sync,
    ) -> Result<(Vec<f64>, Vec<Option<R>>)> {
        let Some(pw) = self.pointwise_for(opts) else {
            return sweep::sweep_each(&*self.compiled()?, n_runs, params, opts, progress, each);
        };
        if opts.reduce.is_some() {
            return Err(crate::error::Error::BadSweep {
                message: "a sweep handing out each run's series takes no reduction".into(),
            });
        }
        let n_out = pw.outputs.len();
        let mut answers: Vec<Option<R>> = Vec::with_capacity(n_runs);
        let (times, _) = sweep_watched(
            self.plain(),
            n_runs,
            params,
            opts,
            progress,
            (&pw.scorer.watch, false),
            |chunk| {
                let n_t = chunk.points;
                let n = chunk.failures.len();
                let per_block = pw.runs_per_block(n_t);
                let chunk_answers: Vec<Vec<Option<R>>> = (0..n.div_ceil(per_block))
                    .into_par_iter()
                    .map(|b| {
                        let first = b * per_block;
                        let k = per_block.min(n - first);
                        let scores = pw.block(&chunk, first, k);
                        let mut series = Vec::with_capacity(n_t * n_out);
                        (0..k)
                            .map(|r| {
                                chunk.failures[first + r].is_none().then(|| {
                                    series.clear();
                                    for t in 0..n_t {
                                        let p = r * n_t + t;
                                        series.extend(scores.iter().map(|c| c[p]));
                                    }
                                    each(chunk.first + first + r, chunk.times, &series)
                                })
                            })
                            .collect()
                    })
                    .collect();
                answers.extend(chunk_answers.into_iter().flatten());
            },
        )?;
        Ok((times, answers))
    }

    /// Sweep with loop scores folding each run's scores at each saved time
    /// into a state of its own (see [`crate::sweep::Fold`]): as
    /// [`crate::sweep::sweep_fold`] of the model compiled with them, which
    /// stores no series; scored pointwise, each run's series is folded as
    /// its chunk of runs is scored. The states are the same either way.
    pub fn sweep_fold<S: Send>(
        &self,
        n_runs: usize,
        params: &[Param],
        opts: &SweepOptions,
        progress: &Progress,
        fold: &impl Fold<S>,
    ) -> Result<(Vec<f64>, Vec<Option<S>>)> {
        let Some(pw) = self.pointwise_for(opts) else {
            return sweep::sweep_fold(&*self.compiled()?, n_runs, params, opts, progress, fold);
        };
        let n_out = pw.outputs.len();
        self.sweep_each(n_runs, params, opts, progress, |run, times, series| {
            let mut state = fold.init(run);
            for t in 0..times.len() {
                fold.step(&mut state, &series[t * n_out..(t + 1) * n_out]);
            }
            state
        })
    }
}

impl Pointwise<'_> {
    /// Runs scored per parallel task: about [`POINTS_PER_TASK`] points, so
    /// that a task's inputs and scores stay in cache.
    fn runs_per_block(&self, points: usize) -> usize {
        (POINTS_PER_TASK / points.max(1)).max(1)
    }

    /// The requested scores of runs `first..first + n` of a chunk at each
    /// of their kept times: `[o][r * points + t]` for the block's run `r`.
    fn block(&self, chunk: &WatchedChunk<'_>, first: usize, n: usize) -> Vec<Vec<f64>> {
        let n_w = self.scorer.watch.len();
        let n_t = chunk.points;
        let n_p = n * n_t;
        let half = n_t * n_w;
        // Column-major inputs: watched slot j at point p, now and one step
        // before; the time of each point.
        let mut current = vec![vec![0.0; n_p]; n_w];
        let mut previous = vec![vec![0.0; n_p]; n_w];
        let mut at = vec![0.0; n_p];
        for r in 0..n {
            let run = &chunk.values[(first + r) * chunk.per_run..(first + r + 1) * chunk.per_run];
            for t in 0..n_t {
                let p = r * n_t + t;
                at[p] = chunk.times[chunk.saved_index(t)];
                for j in 0..n_w {
                    current[j][p] = run[t * n_w + j];
                    previous[j][p] = run[half + t * n_w + j];
                }
            }
        }
        let cur: Vec<&[f64]> = current.iter().map(Vec::as_slice).collect();
        let prev: Vec<&[f64]> = previous.iter().map(Vec::as_slice).collect();
        self.scorer
            .evaluate_columns(chunk.grid, &at, &cur, Some(&prev), &self.outputs)
    }
}
