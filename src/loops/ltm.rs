//! Loop dominance over time: an instrumented model, its runs, and the
//! periods in which a set of loops dominates.

use crate::compile::CompiledModel;
use crate::error::{Error, Result};
use crate::ir::Project;
use crate::results::Results;
use crate::vm::RunOptions;

use super::instrument::{self, instrument};
use super::{discovery, Circuit, Loop, LoopMode, Structure};

/// A model compiled with its link and loop scores as variables.
#[derive(Debug)]
pub struct LtmModel {
    pub compiled: std::sync::Arc<CompiledModel>,
    pub structure: Structure,
    /// Links with a score variable (indices into `structure.links`).
    pub scored: Vec<usize>,
}

/// One run's scores, at the run's saved times.
#[derive(Clone, Debug)]
pub struct LtmRun {
    /// The model's own variables (no score columns).
    pub results: Results,
    pub mode: LoopMode,
    /// The loops scored: the model's, or those discovered in this run.
    pub loops: Vec<Loop>,
    /// Their circuits (`Loop::circuits` indexes this list).
    pub circuits: Vec<Circuit>,
    /// `(link index, score series)` for every scored link.
    pub link_scores: Vec<(usize, Vec<f64>)>,
    /// Per loop (same order as `loops`): score and relative score series.
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
            let flat = instrument(&structure, &scored, &structure.circuits, &structure.loops)?;
            let compiled = std::sync::Arc::new(CompiledModel::from_flat(project, m, &flat)?);
            Ok(LtmModel {
                compiled,
                structure,
                scored,
            })
        })
    }

    /// The score variables a run must save, by name.
    pub fn score_outputs(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .scored
            .iter()
            .map(|&k| instrument::link_name(k))
            .collect();
        for l in &self.structure.loops {
            out.push(instrument::loop_name(&l.id));
            out.push(instrument::relative_name(&l.id));
        }
        out
    }

    /// Run with `opts` (its `outputs`, if any, name the model's own
    /// variables; the scores are always saved).
    pub fn run(&self, opts: &RunOptions) -> Result<LtmRun> {
        let mut opts = opts.clone();
        if let Some(outs) = &mut opts.outputs {
            outs.extend(self.score_outputs());
        }
        let all = self.compiled.run(&opts)?;
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
        let mut by_name = std::collections::HashMap::new();
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
        let mut take = |name: String| {
            let column = by_name.remove(&name);
            column.ok_or(Error::UnknownOutput { variable: name })
        };
        let link_scores = self
            .scored
            .iter()
            .map(|&k| Ok((k, take(instrument::link_name(k))?)))
            .collect::<Result<Vec<_>>>()?;
        let results = Results {
            names: keep_names,
            times,
            columns: keep_cols,
            arrays,
        };
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
    dominant_set_into(scores, &mut sorted)
}

/// [`dominant_set`] with a scratch buffer the caller keeps between times.
fn dominant_set_into(scores: &[(usize, f64)], sorted: &mut Vec<(usize, f64)>) -> Vec<usize> {
    sorted.clear();
    sorted.extend(
        scores
            .iter()
            .copied()
            .filter(|(_, s)| s.is_finite() && *s != 0.0),
    );
    sorted.sort_unstable_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    let pick = |positive: bool| {
        let mut chosen = Vec::new();
        let mut total = 0.0;
        for &(i, s) in sorted.iter().filter(|(_, s)| (*s > 0.0) == positive) {
            chosen.push(i);
            total += s.abs();
            if total >= 0.5 {
                break;
            }
        }
        (chosen, total)
    };
    let (r, rt) = pick(true);
    let (b, bt) = pick(false);
    let mut set = if rt >= bt && rt > 0.0 { r } else { b };
    set.sort_unstable();
    set
}

/// Consecutive saved times with the same dominant set, per partition
/// (partition-major, then by time).
pub fn dominant_periods(
    loops: &[Loop],
    relative: &[Vec<f64>],
    times: &[f64],
) -> Vec<DominantPeriod> {
    let mut partitions: Vec<usize> = loops.iter().map(|l| l.partition).collect();
    partitions.sort_unstable();
    partitions.dedup();
    let mut out = Vec::new();
    for p in partitions {
        let members: Vec<usize> = (0..loops.len())
            .filter(|&i| loops[i].partition == p)
            .collect();
        let mut current: Option<(Vec<usize>, usize)> = None;
        let close = |set: &[usize], from: usize, to: usize, out: &mut Vec<DominantPeriod>| {
            if !set.is_empty() {
                out.push(DominantPeriod {
                    partition: p,
                    start: times[from],
                    end: times[to],
                    loops: set.iter().map(|&i| loops[i].id.clone()).collect(),
                });
            }
        };
        let mut scores: Vec<(usize, f64)> = Vec::with_capacity(members.len());
        let mut scratch = Vec::with_capacity(members.len());
        for t in 0..times.len() {
            scores.clear();
            scores.extend(
                members
                    .iter()
                    .map(|&i| (i, relative[i].get(t).copied().unwrap_or(0.0))),
            );
            let set = dominant_set_into(&scores, &mut scratch);
            match &current {
                Some((cur, _)) if *cur == set => {}
                Some((cur, from)) => {
                    close(cur, *from, t - 1, &mut out);
                    current = Some((set, t));
                }
                None => current = Some((set, t)),
            }
        }
        if let Some((cur, from)) = current {
            close(&cur, from, times.len() - 1, &mut out);
        }
    }
    out
}
