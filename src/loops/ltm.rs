//! Loop dominance over time: a model compiled for loop scores, its runs,
//! and the periods in which a set of loops dominates.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::compile::flatten::FlatModel;
use crate::compile::CompiledModel;
use crate::error::{Error, Result};
use crate::ir::{Dialect, Project};
use crate::results::Results;
use crate::vm::RunOptions;

use super::instrument::{self, instrument, Partial};
use super::score::Scorer;
use super::{discovery, Circuit, Loop, LoopMode, Structure};

/// A model ready to run with its link and loop scores.
///
/// A single run is the plain model's run plus a pass over its saved values
/// ([`super::score`]); the stepwise `Sim` and sweeps, which score as they
/// go, run the instrumented model ([`super::instrument`]), compiled on
/// first use.
pub struct LtmModel {
    pub structure: Structure,
    /// Links with a score variable (indices into `structure.links`).
    pub scored: Vec<usize>,
    /// The model without scores, compiled from `structure.flat` (so its
    /// slots are the flat model's indices).
    plain: CompiledModel,
    scorer: Option<Scorer>,
    inst_flat: FlatModel,
    dialect: Dialect,
    /// [`LtmModel::score_outputs`]: link scores in `scored` order, then
    /// each loop's score and relative score.
    score_names: Vec<String>,
    instrumented: OnceLock<Result<Arc<CompiledModel>>>,
}

impl std::fmt::Debug for LtmModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LtmModel")
            .field("scored", &self.scored.len())
            .field("loops", &self.structure.loops.len())
            .field("pointwise", &self.scorer.is_some())
            .finish()
    }
}

/// One run's scores, at the run's saved times.
#[derive(Clone, Debug)]
pub struct LtmRun {
    pub results: Results,
    pub mode: LoopMode,
    /// The loops scored: the model's, or those discovered in this run.
    pub loops: Vec<Loop>,
    pub circuits: Vec<Circuit>,
    /// Per scored link: `(index into structure.links, score series)`.
    pub link_scores: Vec<(usize, Vec<f64>)>,
    pub loop_scores: Vec<Vec<f64>>,
    pub relative: Vec<Vec<f64>>,
}

/// A stretch of saved times in which the same loops dominate their partition.
#[derive(Clone, Debug, PartialEq)]
pub struct DominantPeriod {
    pub partition: usize,
    pub start: f64,
    pub end: f64,
    /// Loop ids, in loop order.
    pub loops: Vec<String>,
}

impl LtmModel {
    /// Analyze and compile the named model (`None` = the main model) with
    /// loop scores. Past [`super::MAX_LOOPS`] loops, every link inside a
    /// cycle partition is scored and the loops are discovered per run.
    pub fn new(project: &Project, model: Option<&str>) -> Result<LtmModel> {
        LtmModel::with_partial(project, model, Partial::default())
    }

    /// [`LtmModel::new`] with the partial changes of link scores computed
    /// in convention `partial`.
    pub fn with_partial(
        project: &Project,
        model: Option<&str>,
        partial: Partial,
    ) -> Result<LtmModel> {
        crate::with_deep_stack(|| {
            let m = project.model(model).ok_or_else(|| Error::UnknownModel {
                name: model.unwrap_or("(main)").to_string(),
            })?;
            let structure = Structure::of(crate::compile::flatten::flatten(project, m)?);
            let scored: Vec<usize> = match structure.mode {
                LoopMode::Exhaustive => {
                    let mut used: Vec<usize> = structure
                        .circuits
                        .iter()
                        .flat_map(|l| l.links.iter().copied())
                        .collect();
                    used.sort_unstable();
                    used.dedup();
                    used
                }
                LoopMode::Discovery => (0..structure.links.len())
                    .filter(|&k| {
                        let l = structure.links[k];
                        let p = structure.partition_of[l.from];
                        p != usize::MAX && p == structure.partition_of[l.to]
                    })
                    .collect(),
            };
            let inst_flat = instrument(
                &structure,
                &scored,
                &structure.circuits,
                &structure.loops,
                partial,
            )?;
            let plain = CompiledModel::from_flat(project, m, &structure.flat)?;
            let mut score_names: Vec<String> =
                scored.iter().map(|&k| instrument::link_name(k)).collect();
            for l in &structure.loops {
                score_names.push(instrument::loop_name(&l.id));
                score_names.push(instrument::relative_name(&l.id));
            }
            let mut ltm = LtmModel {
                structure,
                scored,
                plain,
                scorer: None,
                inst_flat,
                dialect: project.dialect,
                score_names,
                instrumented: OnceLock::new(),
            };
            ltm.scorer = Scorer::new(
                project,
                m,
                &ltm.inst_flat,
                ltm.structure.flat.vars.len(),
                &ltm.score_names,
            );
            if ltm.scorer.is_none() {
                // Surface the instrumented model's compile errors now.
                ltm.compiled()?;
            }
            Ok(ltm)
        })
    }

    /// The model compiled with its scores as variables (`$ltm.link.<k>`,
    /// `$ltm.loop.<id>`, `$ltm.rel.<id>`), for the stepwise `Sim` and
    /// sweeps; compiled on first use.
    pub fn compiled(&self) -> Result<Arc<CompiledModel>> {
        self.instrumented
            .get_or_init(|| {
                crate::with_deep_stack(|| {
                    CompiledModel::from_flat_specs(
                        self.dialect,
                        self.plain.specs.clone(),
                        &self.inst_flat,
                    )
                    .map(Arc::new)
                })
            })
            .clone()
    }

    /// The model without scores (same results as a plain compile).
    pub fn plain(&self) -> &CompiledModel {
        &self.plain
    }

    /// The score equations compiled to run on the plain model's values,
    /// if every one of them can (see [`LtmModel::scores_pointwise`]).
    pub(crate) fn scorer(&self) -> Option<&Scorer> {
        self.scorer.as_ref()
    }

    /// True when single runs score by a pass over their saved values
    /// rather than by running the instrumented model.
    pub fn scores_pointwise(&self) -> bool {
        self.scorer.is_some()
    }

    /// The score variables a run must save, by name.
    pub fn score_outputs(&self) -> &[String] {
        &self.score_names
    }

    /// Run with `opts` (its `outputs`, if any, name the model's own
    /// variables; the scores are always computed).
    pub fn run(&self, opts: &RunOptions) -> Result<LtmRun> {
        if let Some(sc) = &self.scorer {
            if let Some((results, watched)) =
                crate::sweep::single::run_watched(&self.plain, opts, &sc.watch)?
            {
                let cols = sc.evaluate(&results.times, &watched);
                let scores = self.score_names.iter().cloned().zip(cols).collect();
                return self.finish(results, scores);
            }
        }
        let mut opts = opts.clone();
        if let Some(outs) = &mut opts.outputs {
            outs.extend_from_slice(&self.score_names);
        }
        let all = self.compiled()?.run(&opts)?;
        self.split(all)
    }

    /// Separate a run of the instrumented model into the model's own
    /// results and the scores.
    pub fn split(&self, all: Results) -> Result<LtmRun> {
        let Results {
            names,
            times,
            columns,
            arrays,
        } = all;
        let mut keep_names = Vec::new();
        let mut keep_cols = Vec::new();
        let mut remap = vec![usize::MAX; names.len()];
        let mut by_name = HashMap::new();
        for (i, (name, col)) in names.into_iter().zip(columns).enumerate() {
            if name.starts_with(instrument::PREFIX) {
                by_name.insert(name, col);
            } else {
                remap[i] = keep_names.len();
                keep_names.push(name);
                keep_cols.push(col);
            }
        }
        let arrays = arrays
            .into_iter()
            .map(|mut a| {
                a.columns.iter_mut().for_each(|c| *c = remap[*c]);
                a
            })
            .collect();
        let results = Results {
            names: keep_names,
            times,
            columns: keep_cols,
            arrays,
        };
        self.finish(results, by_name)
    }

    /// An [`LtmRun`] from the model's results and the score series by name.
    fn finish(&self, results: Results, mut by_name: HashMap<String, Vec<f64>>) -> Result<LtmRun> {
        let mut take = |name: String| {
            let column = by_name.remove(&name);
            column.ok_or(Error::UnknownOutput { variable: name })
        };
        let link_scores = self
            .scored
            .iter()
            .map(|&k| Ok((k, take(instrument::link_name(k))?)))
            .collect::<Result<Vec<_>>>()?;
        let (circuits, loops, loop_scores, relative) = match self.structure.mode {
            LoopMode::Exhaustive => {
                let mut scores = Vec::new();
                let mut rel = Vec::new();
                for l in &self.structure.loops {
                    scores.push(take(instrument::loop_name(&l.id))?);
                    rel.push(take(instrument::relative_name(&l.id))?);
                }
                (
                    self.structure.circuits.clone(),
                    self.structure.loops.clone(),
                    scores,
                    rel,
                )
            }
            LoopMode::Discovery => {
                let (circuits, loops) = discovery::discover(&self.structure, &link_scores);
                let (scores, rel) =
                    discovery::loop_scores(&self.structure, &circuits, &loops, &link_scores);
                (circuits, loops, scores, rel)
            }
        };
        Ok(LtmRun {
            results,
            mode: self.structure.mode,
            loops,
            circuits,
            link_scores,
            loop_scores,
            relative,
        })
    }
}

impl LtmRun {
    /// Periods of dominance per cycle partition (see [`dominant_set`]).
    pub fn dominant_periods(&self) -> Vec<DominantPeriod> {
        dominant_periods(&self.loops, &self.relative, &self.results.times)
    }

    /// Scores of the links between variables modelers see, as `(from,
    /// to, series)` over flat variables: a path through helpers (a Vensim
    /// stock's net flow, a SMOOTH's stages) scores as the product of its
    /// links' scores, which is how scores compose along a path. One entry
    /// per distinct path of the scored circuits, in circuit order.
    pub fn shown_link_scores(&self, s: &Structure) -> Vec<(usize, usize, Vec<f64>)> {
        let col: std::collections::HashMap<usize, &Vec<f64>> =
            self.link_scores.iter().map(|(k, c)| (*k, c)).collect();
        let steps = self.results.times.len();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for c in &self.circuits {
            let n = c.nodes.len();
            let Some(first) = (0..n).find(|&i| s.shown(c.nodes[i])) else {
                continue;
            };
            let mut path: Vec<usize> = Vec::new();
            let mut from = c.nodes[first];
            for step in 0..n {
                let i = (first + step) % n;
                path.push(c.links[i]);
                let to = c.nodes[(i + 1) % n];
                if !s.shown(to) {
                    continue;
                }
                if seen.insert(path.clone()) {
                    let cols: Vec<&Vec<f64>> =
                        path.iter().filter_map(|k| col.get(k).copied()).collect();
                    let series = if cols.len() == path.len() {
                        let mut series = cols[0].clone();
                        for c in &cols[1..] {
                            series.iter_mut().zip(c.iter()).for_each(|(a, b)| *a *= b);
                        }
                        series
                    } else {
                        vec![0.0; steps]
                    };
                    out.push((from, to, series));
                }
                path.clear();
                from = to;
            }
        }
        out
    }
}

/// The loops that dominate one partition at one time: sort its loops by
/// the magnitude of their relative score, split them by the sign of that
/// score (reinforcing or balancing behaviour at this time), take from each
/// side the fewest loops whose magnitudes reach 50% of the partition, and
/// keep the side that reaches further (reinforcing on a tie). Empty while
/// every score is 0 (the initial time).
pub fn dominant_set(scores: &[(usize, f64)]) -> Vec<usize> {
    let mut sorted = Vec::with_capacity(scores.len());
    let mut set = Vec::new();
    dominant_set_into(scores, &mut sorted, &mut set);
    set
}

/// The common case of [`dominant_set`], without sorting: one loop of at
/// least 50% whose magnitude beats all the others together, so that no set
/// of the other sign can reach further. `None` leaves it to the general
/// rule.
fn alone_dominant(scores: impl Iterator<Item = (usize, f64)>) -> Option<usize> {
    let (mut best, mut max, mut total) = (usize::MAX, 0.0f64, 0.0f64);
    for (i, s) in scores {
        if s.is_finite() && s != 0.0 {
            let a = s.abs();
            total += a;
            if a > max || (a == max && i < best) {
                (best, max) = (i, a);
            }
        }
    }
    (max >= 0.5 && total - max < max).then_some(best)
}

/// Whether [`alone_dominant`] over `members` (ascending) is loop `c`,
/// computed without a data-dependent branch per loop: a sweep asks at
/// every step of every run. The same test bit for bit: the total sums the
/// finite nonzero magnitudes in member order (a left-out one adds 0), and
/// `c` is the largest, ties going to the smaller index.
#[inline]
fn still_alone(c: usize, members: &[usize], relative: &impl Fn(usize) -> f64) -> bool {
    let magnitude = |s: f64| if s.is_finite() { s.abs() } else { 0.0 };
    let max = magnitude(relative(c));
    let mut total = 0.0f64;
    let mut beaten = false;
    for &i in members {
        let a = magnitude(relative(i));
        total += a;
        beaten |= a > max || (a == max && i < c);
    }
    !beaten && max >= 0.5 && total - max < max
}

/// [`dominant_set`] into `set`, with a scratch buffer: both are kept by the
/// caller between times, so a run's thousands of saved times allocate
/// nothing.
fn dominant_set_into(
    scores: &[(usize, f64)],
    sorted: &mut Vec<(usize, f64)>,
    set: &mut Vec<usize>,
) {
    if let Some(best) = alone_dominant(scores.iter().copied()) {
        set.clear();
        set.push(best);
        return;
    }
    sorted.clear();
    sorted.extend(
        scores
            .iter()
            .copied()
            .filter(|(_, s)| s.is_finite() && *s != 0.0),
    );
    sorted.sort_unstable_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    // How many of the strongest loops of one sign reach 0.5, and their total.
    let reach = |positive: bool| {
        let (mut n, mut total) = (0, 0.0);
        for &(_, s) in sorted.iter().filter(|(_, s)| (*s > 0.0) == positive) {
            n += 1;
            total += s.abs();
            if total >= 0.5 {
                break;
            }
        }
        (n, total)
    };
    let (nr, rt) = reach(true);
    let (nb, bt) = reach(false);
    let (positive, n) = if rt >= bt && rt > 0.0 {
        (true, nr)
    } else {
        (false, nb)
    };
    set.clear();
    set.extend(
        sorted
            .iter()
            .filter(|(_, s)| (*s > 0.0) == positive)
            .take(n)
            .map(|&(i, _)| i),
    );
    set.sort_unstable();
}

/// Consecutive saved times with the same dominant set, per partition
/// (partition-major, then by time).
pub fn dominant_periods(
    loops: &[Loop],
    relative: &[Vec<f64>],
    times: &[f64],
) -> Vec<DominantPeriod> {
    let keys: Vec<(&str, usize)> = loops.iter().map(|l| (l.id.as_str(), l.partition)).collect();
    dominant_periods_by(&keys, times, |l, t| {
        relative[l].get(t).copied().unwrap_or(0.0)
    })
}

/// [`dominant_periods`] over loops given as `(id, partition)`, with
/// `relative(loop, t)` giving loop `loop`'s relative score at saved time
/// `t` (a sweep reads them in place from its run-major buffer; Python's
/// `LtmResults` from its score columns, only when periods are asked for).
pub fn dominant_periods_by<S: AsRef<str>>(
    loops: &[(S, usize)],
    times: &[f64],
    relative: impl Fn(usize, usize) -> f64,
) -> Vec<DominantPeriod> {
    let plan = DominancePlan::new(loops);
    let mut tracker = DominanceTracker::new(&plan);
    for t in 0..times.len() {
        tracker.observe(&plan, |l| relative(l, t));
    }
    tracker.finish(&plan, loops, times)
}

/// The partitions of loops given as `(id, partition)` and each one's
/// loops, shared by the [`DominanceTracker`]s of a sweep's runs.
pub struct DominancePlan {
    partitions: Vec<(usize, Vec<usize>)>,
}

impl DominancePlan {
    pub fn new<S>(loops: &[(S, usize)]) -> DominancePlan {
        let mut ids: Vec<usize> = loops.iter().map(|l| l.1).collect();
        ids.sort_unstable();
        ids.dedup();
        let partitions = ids
            .into_iter()
            .map(|p| (p, (0..loops.len()).filter(|&i| loops[i].1 == p).collect()))
            .collect();
        DominancePlan { partitions }
    }
}

/// [`dominant_periods_by`] one saved time after another: a sweep folds
/// each run's relative scores into one as the run goes
/// ([`crate::sweep::sweep_fold`]), storing no series.
pub struct DominanceTracker {
    /// Per partition of the plan, in its order.
    partitions: Vec<PartitionTracker>,
    /// Saved times observed so far.
    seen: usize,
}

/// One partition's state: the current period's dominant set and first
/// saved index, and the periods already closed (from, to, set).
struct PartitionTracker {
    /// The current set's loop when it is one loop (the common case,
    /// checked at each time without touching the set), else `usize::MAX`.
    alone: usize,
    current: Vec<usize>,
    from: usize,
    closed: Vec<(usize, usize, Vec<usize>)>,
    /// Kept between times, so that thousands of saved times allocate
    /// nothing: the scores at this time, a sort buffer, the new set.
    scores: Vec<(usize, f64)>,
    scratch: Vec<(usize, f64)>,
    set: Vec<usize>,
}

impl DominanceTracker {
    pub fn new(plan: &DominancePlan) -> DominanceTracker {
        let partitions = plan
            .partitions
            .iter()
            .map(|_| PartitionTracker {
                alone: usize::MAX,
                current: Vec::new(),
                from: 0,
                closed: Vec::new(),
                scores: Vec::new(),
                scratch: Vec::new(),
                set: Vec::new(),
            })
            .collect();
        DominanceTracker {
            partitions,
            seen: 0,
        }
    }

    /// The next saved time: `relative(loop)` is each loop's relative score.
    #[inline]
    pub fn observe(&mut self, plan: &DominancePlan, relative: impl Fn(usize) -> f64) {
        let t = self.seen;
        self.seen += 1;
        for (part, (_, members)) in self.partitions.iter_mut().zip(&plan.partitions) {
            // Most times one loop keeps dominating on its own: checked with
            // one pass over the scores, before gathering them for the
            // general rule (a sweep's every-step dominance spends most of
            // its scoring time here otherwise).
            if part.alone != usize::MAX && still_alone(part.alone, members, &relative) {
                continue;
            }
            part.change(t, members, &relative);
        }
    }

    /// The periods (partition-major, then by time) over `times`, the saved
    /// times observed; a period whose set is empty (every score 0) is left
    /// out.
    pub fn finish<S: AsRef<str>>(
        self,
        plan: &DominancePlan,
        loops: &[(S, usize)],
        times: &[f64],
    ) -> Vec<DominantPeriod> {
        let mut out = Vec::new();
        for (part, &(partition, _)) in self.partitions.into_iter().zip(&plan.partitions) {
            let last = (self.seen > 0).then(|| (part.from, self.seen - 1, part.current));
            for (from, to, set) in part.closed.into_iter().chain(last) {
                if set.is_empty() {
                    continue;
                }
                out.push(DominantPeriod {
                    partition,
                    start: times[from],
                    end: times[to],
                    loops: set
                        .iter()
                        .map(|&i| loops[i].0.as_ref().to_string())
                        .collect(),
                });
            }
        }
        out
    }
}

impl PartitionTracker {
    /// The general rule at saved index `t`: the set now, closing the
    /// current period if it differs.
    #[inline(never)]
    fn change(&mut self, t: usize, members: &[usize], relative: &impl Fn(usize) -> f64) {
        self.scores.clear();
        self.scores
            .extend(members.iter().map(|&i| (i, relative(i))));
        dominant_set_into(&self.scores, &mut self.scratch, &mut self.set);
        if t == 0 {
            std::mem::swap(&mut self.current, &mut self.set);
        } else if self.current != self.set {
            let ended = std::mem::replace(&mut self.current, std::mem::take(&mut self.set));
            self.closed.push((self.from, t - 1, ended));
            self.from = t;
        }
        self.alone = match self.current[..] {
            [only] => only,
            _ => usize::MAX,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::{alone_dominant, still_alone};

    #[test]
    fn the_branch_free_check_agrees_with_the_general_one() {
        // Scores with ties, zeros, NaN and infinities, from a fixed
        // pseudo-random stream: every loop as the candidate.
        let pool = [
            0.0,
            0.5,
            -0.5,
            0.25,
            -0.25,
            0.7,
            -0.3,
            1.0,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            0.4999999999999999,
            0.5000000000000001,
            0.1,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut agreed = 0;
        for case in 0..20_000 {
            let n = 1 + case % 5;
            let scores: Vec<f64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    pool[(x % pool.len() as u64) as usize]
                })
                .collect();
            let members: Vec<usize> = (0..n).collect();
            let general = alone_dominant(members.iter().map(|&i| (i, scores[i])));
            for c in 0..n {
                let fast = still_alone(c, &members, &|i| scores[i]);
                assert_eq!(fast, general == Some(c), "{scores:?}, loop {c}");
                agreed += usize::from(fast);
            }
        }
        // The stream reaches the interesting answer often.
        assert!(agreed > 1_000, "{agreed}");
    }
}
