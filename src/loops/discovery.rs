//! Finding the loops that matter from a run, when there are too many loops
//! to enumerate: the strongest-path search of Eberlein & Schoenberg
//! ("Finding the loops that matter", 2020).
//!
//! At a saved time, from each stock, a depth-first search follows links in
//! order of decreasing |link score|, carrying the product of the scores
//! along the path; it abandons a path whose magnitude is not larger than
//! the best with which the search has already reached that variable. Every
//! return to the starting stock is a loop. Taking the union over the saved
//! times gives the loops that carry the behaviour at some point of the run
//! (a heuristic: a weak loop may be missed, a strong one is not).
//! Relative scores then compare the discovered loops of a partition.

use rustc_hash::FxHashSet;

use rayon::prelude::*;

use crate::compile::flatten::FlatKind;

use super::{Circuit, Loop, Structure};

/// At most this many saved times are searched (evenly spaced, first and
/// last included): enough to see every change of dominance in practice.
const MAX_SEARCH_TIMES: usize = 200;

/// Per searched time and starting stock, at most this many loops.
const MAX_LOOPS_PER_SEARCH: usize = 64;

/// Per search, at most this many variables are entered; over the whole
/// discovery, at most `MAX_TOTAL_STEPS`. A model with thousands of coupled
/// stocks (a large arrayed model) would otherwise search for minutes; the
/// searches that ran still find the strongest loops from the stocks and
/// times they covered (the order spreads them over stocks and times).
const MAX_SEARCH_STEPS: usize = 20_000;
const MAX_TOTAL_STEPS: usize = 20_000_000;

/// The saved times (indices) a discovery over `steps` saved times
/// searches: all of them up to [`MAX_SEARCH_TIMES`], else that many evenly
/// spaced, first and last included.
fn search_times(steps: usize) -> Vec<usize> {
    if steps <= MAX_SEARCH_TIMES {
        return (0..steps).collect();
    }
    let mut t: Vec<usize> = (0..MAX_SEARCH_TIMES)
        .map(|i| i * (steps - 1) / (MAX_SEARCH_TIMES - 1))
        .collect();
    t.dedup();
    t
}

/// The loops found in one run's link scores: circuits, and the loops
/// grouping them, ordered and numbered as the exhaustive mode does.
pub fn discover(s: &Structure, link_scores: &[(usize, Vec<f64>)]) -> (Vec<Circuit>, Vec<Loop>) {
    discover_with(s, link_scores, SEARCH_CHUNK, MAX_TOTAL_STEPS)
}

/// [`discover`] with `chunk` searches per parallel batch and a total budget
/// of `max_total` steps (tests check that the loops found do not depend on
/// the chunk, budget cut included).
fn discover_with(
    s: &Structure,
    link_scores: &[(usize, Vec<f64>)],
    chunk: usize,
    max_total: usize,
) -> (Vec<Circuit>, Vec<Loop>) {
    let n = s.flat.vars.len();
    let steps = link_scores.first().map_or(0, |(_, c)| c.len());
    // Out-edges (target, column) of scored links.
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    // Only links inside a cycle partition: a search stays in its start's
    // partition, so no other link is ever followed.
    for (col, &(k, _)) in link_scores.iter().enumerate() {
        let (from, to) = (s.links[k].from, s.links[k].to);
        let p = s.partition_of[from];
        if p != usize::MAX && p == s.partition_of[to] {
            out[from].push((to, col));
        }
    }
    let stocks: Vec<usize> = (0..n)
        .filter(|&v| {
            matches!(s.flat.vars[v].kind, FlatKind::Stock { .. }) && s.partition_of[v] != usize::MAX
        })
        .collect();
    let times = search_times(steps);
    // Round r searches stock i at time (i + r) mod |times|: every stock
    // and every time early, however soon the total budget runs out.
    let k = times.len();
    let stocks = &stocks;
    let order: Vec<(usize, usize)> = (0..k)
        .flat_map(|r| (0..stocks.len()).map(move |i| ((i + r) % k, stocks[i])))
        .collect();
    // Per searched time and variable, its out-links by decreasing |score|,
    // sorted once (a search enters a variable many times).
    let sort_time = |&t: &usize| -> Vec<Vec<(usize, f64)>> {
        out.iter()
            .map(|edges| {
                let mut e: Vec<(usize, f64)> = edges
                    .iter()
                    .map(|&(w, col)| (w, link_scores[col].1[t].abs()))
                    .filter(|(_, sc)| sc.is_finite() && *sc > 0.0)
                    .collect();
                e.sort_by(|a, b| b.1.total_cmp(&a.1));
                e
            })
            .collect()
    };
    let by_time: Vec<Vec<Vec<(usize, f64)>>> = parallel(
        || times.par_iter().map(sort_time).collect(),
        || times.iter().map(sort_time).collect(),
    );
    // The searches are independent: a chunk of them runs in parallel, and
    // their results are merged in the order above, stopping where one
    // search after another would, so the loops found (budget included) do
    // not depend on the thread count.
    let mut found: FxHashSet<Vec<usize>> = FxHashSet::default();
    let mut total_steps = 0usize;
    let search_one =
        |scratch: &mut Scratch, &(t, start): &(usize, usize)| scratch.search(&by_time[t], start);
    'chunks: for chunk in order.chunks(chunk.max(1)) {
        if total_steps >= max_total {
            break;
        }
        let results: Vec<(Vec<Vec<usize>>, usize)> = parallel(
            || {
                chunk
                    .par_iter()
                    .map_init(|| Scratch::new(n), search_one)
                    .collect()
            },
            || {
                let mut scratch = Scratch::new(n);
                chunk.iter().map(|o| search_one(&mut scratch, o)).collect()
            },
        );
        for (loops, steps) in results {
            if total_steps >= max_total {
                break 'chunks;
            }
            found.extend(loops);
            total_steps += steps + 1;
        }
    }
    let mut circuits: Vec<Vec<usize>> = found.into_iter().collect();
    circuits.sort();
    s.make_loops(circuits)
}

/// Searches per parallel chunk: enough to keep the threads busy, few
/// enough that a search budget spent early wastes little.
const SEARCH_CHUNK: usize = 256;

/// `par` on the process's sweep pool, or `seq` if that pool cannot be made.
fn parallel<R: Send>(par: impl FnOnce() -> R + Send, seq: impl FnOnce() -> R) -> R {
    let mut par = Some(par);
    match crate::sweep::on_process_pool(|| par.take().map(|f| f())) {
        Ok(Some(r)) => r,
        _ => seq(),
    }
}

/// One search's working memory, reused from search to search on a thread.
struct Scratch {
    /// Best path magnitude with which the search reached each variable.
    best: Vec<f64>,
    on_path: Vec<bool>,
    /// Variables whose `best` this search set (reset before the next).
    touched: Vec<usize>,
}

impl Scratch {
    fn new(n: usize) -> Scratch {
        Scratch {
            best: vec![0.0; n],
            on_path: vec![false; n],
            touched: Vec::new(),
        }
    }

    /// The depth-first strongest-path search from `start` over one time's
    /// sorted out-links: the loops it closes (rotated to start at their
    /// smallest variable) and the variables it entered.
    fn search(&mut self, sorted: &[Vec<(usize, f64)>], start: usize) -> (Vec<Vec<usize>>, usize) {
        for v in self.touched.drain(..) {
            self.best[v] = 0.0;
        }
        let (best, on_path, touched) = (&mut self.best, &mut self.on_path, &mut self.touched);
        let mut loops = Vec::new();
        let mut budget = MAX_LOOPS_PER_SEARCH;
        let mut steps_here = 0usize;
        let mut path = vec![start];
        on_path[start] = true;
        // Explicit DFS: (node, path score, sorted out-edges, next position).
        let mut work = vec![(start, 1.0f64, sorted[start].as_slice(), 0usize)];
        while let Some(top) = work.last_mut() {
            if budget == 0 {
                break;
            }
            let (score, pos) = (top.1, top.3);
            if let Some(&(w, sc)) = top.2.get(pos) {
                top.3 += 1;
                let next = score * sc;
                if w == start {
                    let mut nodes = path.clone();
                    let min = nodes
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, &v)| v)
                        .map_or(0, |(i, _)| i);
                    nodes.rotate_left(min);
                    loops.push(nodes);
                    budget -= 1;
                } else if !on_path[w] && next > best[w] && steps_here < MAX_SEARCH_STEPS {
                    steps_here += 1;
                    best[w] = next;
                    touched.push(w);
                    on_path[w] = true;
                    path.push(w);
                    work.push((w, next, sorted[w].as_slice(), 0));
                }
                continue;
            }
            work.pop();
            if let Some(v) = path.pop() {
                on_path[v] = false;
            }
        }
        // A search cut short leaves its path marked.
        for &v in &path {
            on_path[v] = false;
        }
        (loops, steps_here)
    }
}

/// Loop scores and relative scores from stored link score series: each
/// circuit's score is the product of its links' scores, its relative score
/// divides by the partition's sum of magnitudes (over the given circuits),
/// and a loop of several circuits takes, at each time, the one of largest
/// magnitude (as the instrumented model computes them in exhaustive mode).
pub fn loop_scores(
    s: &Structure,
    circuits: &[Circuit],
    loops: &[Loop],
    link_scores: &[(usize, Vec<f64>)],
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let steps = link_scores.first().map_or(0, |(_, c)| c.len());
    let col_of: std::collections::HashMap<usize, usize> = link_scores
        .iter()
        .enumerate()
        .map(|(col, (k, _))| (*k, col))
        .collect();
    let scores: Vec<Vec<f64>> = circuits
        .iter()
        .map(|c| {
            let mut acc = vec![1.0f64; steps];
            for k in &c.links {
                match col_of.get(k) {
                    Some(&col) => {
                        for (a, b) in acc.iter_mut().zip(&link_scores[col].1) {
                            *a *= b;
                        }
                    }
                    None => acc.iter_mut().for_each(|a| *a *= 0.0),
                }
            }
            acc
        })
        .collect();
    let mut totals = vec![vec![0.0f64; steps]; s.partitions];
    for (c, sc) in circuits.iter().zip(&scores) {
        if let Some(tot) = totals.get_mut(c.partition) {
            for (a, b) in tot.iter_mut().zip(sc) {
                *a += b.abs();
            }
        }
    }
    let relative: Vec<Vec<f64>> = circuits
        .iter()
        .zip(&scores)
        .map(|(c, sc)| {
            sc.iter()
                .enumerate()
                .map(|(t, v)| {
                    let tot = totals.get(c.partition).map_or(0.0, |x| x[t]);
                    if tot == 0.0 {
                        0.0
                    } else {
                        v / tot
                    }
                })
                .collect()
        })
        .collect();
    let largest = |series: &[Vec<f64>], l: &Loop| -> Vec<f64> {
        (0..steps)
            .map(|t| {
                l.circuits
                    .iter()
                    .skip(1)
                    .fold(series[l.circuits[0]][t], |acc, &c| {
                        let v = series[c][t];
                        if v.abs() > acc.abs() {
                            v
                        } else {
                            acc
                        }
                    })
            })
            .collect()
    };
    (
        loops.iter().map(|l| largest(&scores, l)).collect(),
        loops.iter().map(|l| largest(&relative, l)).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loops::{LoopMode, LtmModel};
    use crate::vm::RunOptions;

    /// WRLD3-03 (discovery mode) from the shared suite, if it is there.
    fn world3() -> Option<LtmModel> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/real-models/WRLD3-03/wrld3-03.mdl");
        let project = crate::load_file(path).ok()?;
        LtmModel::new(&project, None).ok()
    }

    #[test]
    fn parallel_searches_find_what_one_search_after_another_finds() {
        let Some(m) = world3() else {
            eprintln!("WRLD3-03 not found; skipped");
            return;
        };
        assert_eq!(m.structure.mode, LoopMode::Discovery);
        let run = m.run(&RunOptions::default()).expect("runs");
        let scores = &run.link_scores;
        let ids = |(c, l): (Vec<Circuit>, Vec<Loop>)| {
            let nodes: Vec<Vec<usize>> = c.into_iter().map(|c| c.nodes).collect();
            let loops: Vec<String> = l.into_iter().map(|l| l.id).collect();
            (nodes, loops)
        };
        // Chunk 1 merges one search at a time: the sequential search.
        for budget in [MAX_TOTAL_STEPS, 50_000] {
            let one = ids(discover_with(&m.structure, scores, 1, budget));
            let many = ids(discover_with(&m.structure, scores, SEARCH_CHUNK, budget));
            assert!(!one.0.is_empty());
            assert_eq!(one, many, "budget {budget}");
        }
        // A smaller budget finds fewer loops: the cut is honoured.
        let cut = discover_with(&m.structure, scores, SEARCH_CHUNK, 50_000)
            .0
            .len();
        assert!(cut < run.circuits.len(), "{cut} vs {}", run.circuits.len());
    }
}
