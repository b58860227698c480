//! Finding the loops that matter from a run, when there are too many loops
//! to enumerate: the strongest-path search of Eberlein & Schoenberg
//! ("Finding the loops that matter", 2020, Appendix I).
//!
//! At each saved time, the best score of every variable is reset; then from
//! each stock in model order a depth-first search follows links in order of
//! decreasing |link score|, carrying the product of the scores along the
//! path, and abandons a path whose magnitude is less than the best with
//! which any search *at that time* has already reached that variable (the
//! best scores carry over from one stock's search to the next, as in the
//! paper; a stock already reached more strongly is not searched itself).
//! Every return to the starting stock is a loop. Taking the union over the
//! saved times gives the loops that carry the behaviour at some point of
//! the run (a heuristic: a weak loop may be missed, and the paper finds
//! that a strong one missed has a found sibling differing in a few links).
//! Relative scores then compare the discovered loops of a partition.

use rustc_hash::FxHashSet;

use rayon::prelude::*;

use crate::compile::flatten::FlatKind;

use super::{Circuit, Loop, Structure};

/// At most this many saved times are searched (evenly spaced, first and
/// last included). The paper searches every computational interval; a
/// run saving more times than this is searched at a subset, as the paper
/// allows for speed.
const MAX_SEARCH_TIMES: usize = 2_000;

/// Per starting stock and time, at most this many loops.
const MAX_LOOPS_PER_SEARCH: usize = 64;

/// Per stock's search, at most this many variables are entered; over the whole
/// discovery, at most `MAX_TOTAL_STEPS`. A model with thousands of coupled
/// stocks (a large arrayed model) would otherwise search for minutes; the
/// searches that ran still find the strongest loops from the stocks and
/// times they covered (searched coarse to fine, see [`search_order`]).
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

/// [`search_times`] from coarse to fine (by the bit-reversed position of
/// each: first, middle, quarters, ...), so a search budget that runs out
/// still leaves the searched times spread over the whole run.
fn search_order(steps: usize) -> Vec<usize> {
    let times = search_times(steps);
    let bits = usize::BITS - times.len().saturating_sub(1).leading_zeros();
    if bits == 0 {
        return times;
    }
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| i.reverse_bits() >> (usize::BITS - bits));
    order.into_iter().map(|i| times[i]).collect()
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
    let out = OutLinks::new(&out);
    let stocks: Vec<usize> = (0..n)
        .filter(|&v| {
            matches!(s.flat.vars[v].kind, FlatKind::Stock { .. }) && s.partition_of[v] != usize::MAX
        })
        .collect();
    let times = search_order(steps);
    // Every searched time's scores, time-major, read in time order.
    let searched = search_times(steps);
    let rows = out.scores_at(link_scores, &searched);
    let width = out.columns.len();
    let row_of = |t: &usize| {
        let k = searched.binary_search(t).unwrap_or(0);
        &rows[k * width..(k + 1) * width]
    };
    // Paths are cut only at the model's own variables: a compiler helper
    // (a Vensim stock's net flow, a SMOOTH's stages) is not a variable of
    // the graph the paper searches, where the flows into a stock reach it
    // directly, so it must not keep only the strongest of the paths that
    // meet there (that would drop a stock's inflow loop whenever its
    // outflow loop is stronger). `s.visible` says which are the model's.
    let prunes = &s.visible;
    // One saved time's search: its out-links sorted by decreasing |score|,
    // then a search from every stock in model order, sharing the best
    // scores of that time (as the paper's Appendix I does: a stock already
    // reached more strongly from an earlier stock is not searched again).
    // `row`: the followed links' scores at the time searched.
    let search_time = |(scratch, g): &mut (Scratch, Sorted), row: &[f64]| {
        g.fill(&out, |i| row[i].abs());
        scratch.reset();
        let mut loops = Found::default();
        let mut steps = 0;
        for &start in &stocks {
            steps += scratch.search(g, start, &mut loops) + 1;
        }
        (loops, steps)
    };
    // The times are independent: a chunk of them runs in parallel, and
    // their results are merged in the order above, stopping where one
    // time after another would, so the loops found (budget included) do
    // not depend on the thread count.
    let mut found: FxHashSet<Vec<usize>> = FxHashSet::default();
    let mut total_steps = 0usize;
    let mut rest = &times[..];
    let mut size = chunk.max(1);
    'chunks: while !rest.is_empty() {
        if total_steps >= max_total {
            break;
        }
        let (chunk, later) = rest.split_at(size.min(rest.len()));
        rest = later;
        // Chunks double up to a cap: each parallel batch costs a wake-up
        // of the pool, and a budget spent early still wastes little.
        size = (size * 2).min(MAX_SEARCH_CHUNK);
        let results: Vec<(Found, usize)> = parallel(
            || {
                chunk
                    .par_iter()
                    .map_init(
                        || (Scratch::new(prunes), Sorted::default()),
                        |scratch, t| search_time(scratch, row_of(t)),
                    )
                    .collect()
            },
            || {
                let mut scratch = (Scratch::new(prunes), Sorted::default());
                chunk
                    .iter()
                    .map(|t| search_time(&mut scratch, row_of(t)))
                    .collect()
            },
        );
        for (loops, steps) in results {
            if total_steps >= max_total {
                break 'chunks;
            }
            // Most times find the loops earlier times found: only new ones
            // are copied out of the time's arena.
            for c in loops.iter() {
                if !found.contains(c) {
                    found.insert(c.to_vec());
                }
            }
            total_steps += steps;
        }
    }
    let mut circuits: Vec<Vec<usize>> = found.into_iter().collect();
    circuits.sort();
    s.make_loops(circuits)
}

/// Saved times in the first parallel chunk: enough to keep the threads
/// busy, few enough that a search budget spent early wastes little; later
/// chunks double, up to `MAX_SEARCH_CHUNK`.
const SEARCH_CHUNK: usize = 8;

const MAX_SEARCH_CHUNK: usize = 128;

/// Every variable's out-links `(target, i)` in one array
/// (`start[v]..start[v + 1]`), in the order they were listed; `i` numbers
/// the followed links, whose score series is `columns[i]`.
struct OutLinks {
    start: Vec<usize>,
    edges: Vec<(u32, u32)>,
    columns: Vec<usize>,
}

impl OutLinks {
    fn new(out: &[Vec<(usize, usize)>]) -> OutLinks {
        let mut start = Vec::with_capacity(out.len() + 1);
        let mut edges = Vec::new();
        let mut columns = Vec::new();
        start.push(0);
        for list in out {
            for &(w, col) in list {
                edges.push((w as u32, columns.len() as u32));
                columns.push(col);
            }
            start.push(edges.len());
        }
        OutLinks {
            start,
            edges,
            columns,
        }
    }

    /// The followed links' scores at each of `times`, one row per time.
    /// A time's search reads every followed link's score at that time;
    /// read from the per-link series, each is a cache line of its own
    /// (two thirds of WRLD3-03's sorting time), so they are copied
    /// time-major first (at most the size of the scores themselves).
    fn scores_at(&self, link_scores: &[(usize, Vec<f64>)], times: &[usize]) -> Vec<f64> {
        let width = self.columns.len();
        let mut rows = vec![0.0f64; times.len() * width];
        for (i, &col) in self.columns.iter().enumerate() {
            let series = &link_scores[col].1;
            for (k, &t) in times.iter().enumerate() {
                rows[k * width + i] = series[t];
            }
        }
        rows
    }
}

/// `par` on the process's sweep pool, or `seq` if that pool cannot be made.
fn parallel<R: Send>(par: impl FnOnce() -> R + Send, seq: impl FnOnce() -> R) -> R {
    let mut par = Some(par);
    match crate::sweep::on_process_pool(|| par.take().map(|f| f())) {
        Ok(Some(r)) => r,
        _ => seq(),
    }
}

/// One saved time's out-links, each variable's by decreasing |score|, in
/// one array (`start[v]..start[v + 1]`) of (target, |score|): a search
/// reads them in a tight loop, so they are packed rather than a vector per
/// variable. A thread refills one for each time it searches, keeping the
/// capacity.
#[derive(Default)]
struct Sorted {
    start: Vec<usize>,
    edges: Vec<(u32, f64)>,
}

impl Sorted {
    /// From each variable's out-links and the |score| of a column at this
    /// time; links scoring 0 or not finite are left out (no strongest path
    /// goes through them). Ties keep the links' listed order.
    fn fill(&mut self, out: &OutLinks, score_of: impl Fn(usize) -> f64) {
        let Sorted { start, edges } = self;
        start.clear();
        edges.clear();
        start.push(0);
        for w in out.start.windows(2) {
            let from = edges.len();
            edges.extend(
                out.edges[w[0]..w[1]]
                    .iter()
                    .map(|&(v, col)| (v, score_of(col as usize)))
                    .filter(|(_, sc)| sc.is_finite() && *sc > 0.0),
            );
            let mine = &mut edges[from..];
            if mine.len() > 1 {
                mine.sort_by(|a, b| b.1.total_cmp(&a.1));
            }
            start.push(edges.len());
        }
    }

    fn edges(&self, v: usize) -> (usize, usize) {
        (self.start[v], self.start[v + 1])
    }
}

/// The loops one saved time's searches closed, each rotated to start at
/// its smallest variable, packed in one array: most loops are found again
/// at most saved times, so a time allocates once, not once per loop.
#[derive(Default)]
struct Found {
    nodes: Vec<usize>,
    ends: Vec<usize>,
}

impl Found {
    fn push_rotated(&mut self, path: &[usize]) {
        let min = path
            .iter()
            .enumerate()
            .min_by_key(|(_, &v)| v)
            .map_or(0, |(i, _)| i);
        self.nodes.extend_from_slice(&path[min..]);
        self.nodes.extend_from_slice(&path[..min]);
        self.ends.push(self.nodes.len());
    }

    fn iter(&self) -> impl Iterator<Item = &[usize]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.nodes[a..b])
    }
}

/// What a search knows of one variable.
#[derive(Clone, Copy)]
struct Node {
    /// Best path magnitude with which a search of this time reached it.
    best: f64,
    on_path: bool,
    /// A path is cut here when it arrives weaker than `best` (the model's
    /// own variables, not a compiler helper: see [`discover_with`]).
    prunes: bool,
}

/// One search's working memory, reused from search to search on a thread.
struct Scratch {
    /// Per variable; read and written together, so one array.
    nodes: Vec<Node>,
    /// Variables whose `best` this time's searches set (reset before the
    /// next time).
    touched: Vec<usize>,
    /// The current path and the DFS stack below the current frame, kept
    /// for their capacity.
    path: Vec<usize>,
    work: Vec<Frame>,
}

/// A DFS frame: the path's score so far, the next out-link to follow and
/// the end of the variable's out-links.
#[derive(Clone, Copy)]
struct Frame {
    score: f64,
    next: usize,
    end: usize,
}

impl Scratch {
    fn new(prunes: &[bool]) -> Scratch {
        Scratch {
            nodes: prunes
                .iter()
                .map(|&prunes| Node {
                    best: 0.0,
                    on_path: false,
                    prunes,
                })
                .collect(),
            touched: Vec::new(),
            path: Vec::new(),
            work: Vec::new(),
        }
    }

    /// Forget the best scores of the previous time.
    fn reset(&mut self) {
        for v in self.touched.drain(..) {
            self.nodes[v].best = 0.0;
        }
    }

    /// The depth-first strongest-path search from `start` over one time's
    /// sorted out-links, with the best scores this time's earlier searches
    /// left: pushes the loops it closes to `loops` and returns the number
    /// of variables it entered.
    /// As in the paper, a variable is entered unless the path's score is
    /// less than its best, and a start already reached with a score above
    /// 1 is not searched (the same test on the start's own call).
    fn search(&mut self, g: &Sorted, start: usize, loops: &mut Found) -> usize {
        let Scratch {
            nodes,
            touched,
            path,
            work,
        } = self;
        if nodes[start].best > 1.0 {
            return 0;
        }
        nodes[start].best = 1.0;
        touched.push(start);
        let mut budget = MAX_LOOPS_PER_SEARCH;
        let mut steps_here = 0usize;
        path.clear();
        path.push(start);
        nodes[start].on_path = true;
        // Explicit DFS; the current frame is kept out of the stack.
        work.clear();
        let (next, end) = g.edges(start);
        let mut top = Frame {
            score: 1.0,
            next,
            end,
        };
        while budget > 0 {
            if top.next < top.end {
                let (w, sc) = g.edges[top.next];
                top.next += 1;
                let w = w as usize;
                let next = top.score * sc;
                if w == start {
                    loops.push_rotated(path);
                    budget -= 1;
                    continue;
                }
                let node = &mut nodes[w];
                if !node.on_path
                    && (next >= node.best || !node.prunes)
                    && steps_here < MAX_SEARCH_STEPS
                {
                    steps_here += 1;
                    node.best = node.best.max(next);
                    node.on_path = true;
                    touched.push(w);
                    path.push(w);
                    work.push(top);
                    let (first, end) = g.edges(w);
                    top = Frame {
                        score: next,
                        next: first,
                        end,
                    };
                }
                continue;
            }
            if let Some(v) = path.pop() {
                nodes[v].on_path = false;
            }
            match work.pop() {
                Some(frame) => top = frame,
                None => break,
            }
        }
        // A search cut short leaves its path marked.
        for &v in path.iter() {
            nodes[v].on_path = false;
        }
        steps_here
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
    let mut col_of = vec![usize::MAX; s.links.len()];
    for (col, (k, _)) in link_scores.iter().enumerate() {
        col_of[*k] = col;
    }
    let series_of = |k: usize| link_scores.get(col_of[k]).map(|(_, s)| s.as_slice());
    let mut scores = circuit_scores(circuits, series_of, steps);
    let mut totals = vec![vec![0.0f64; steps]; s.partitions];
    for (c, sc) in circuits.iter().zip(&scores) {
        if let Some(tot) = totals.get_mut(c.partition) {
            tot.iter_mut().zip(sc).for_each(|(a, b)| *a += b.abs());
        }
    }
    let zeros = vec![0.0f64; steps];
    let mut relative: Vec<Vec<f64>> = circuits
        .iter()
        .zip(&scores)
        .map(|(c, sc)| {
            let tot = totals.get(c.partition).unwrap_or(&zeros);
            sc.iter()
                .zip(tot)
                .map(|(v, &tot)| if tot == 0.0 { 0.0 } else { v / tot })
                .collect()
        })
        .collect();
    // A circuit belongs to one loop: its series moves into the loop's, and
    // any further circuits of the loop replace it where they are larger.
    let largest = |series: &mut [Vec<f64>], l: &Loop| -> Vec<f64> {
        let mut acc = std::mem::take(&mut series[l.circuits[0]]);
        for &c in &l.circuits[1..] {
            for (a, &v) in acc.iter_mut().zip(&series[c]) {
                if v.abs() > a.abs() {
                    *a = v;
                }
            }
        }
        acc
    };
    (
        loops.iter().map(|l| largest(&mut scores, l)).collect(),
        loops.iter().map(|l| largest(&mut relative, l)).collect(),
    )
}

/// Each circuit's score series: the product of its links' series (a link
/// without one counts as 0), multiplied in link order from 1.0.
///
/// Discovered circuits share long runs of links (WRLD3-03: 509 circuits of
/// 22,665 links in all, 8,194 once common prefixes are shared), so the
/// circuits are taken in the order of their link lists and the product of
/// a prefix is computed once, for every circuit that starts with it. Each
/// circuit still gets exactly its own multiplications in its own order, so
/// the same bits. Circuits with different first links are independent and
/// run in parallel.
fn circuit_scores<'a>(
    circuits: &[Circuit],
    series_of: impl Fn(usize) -> Option<&'a [f64]> + Sync,
    steps: usize,
) -> Vec<Vec<f64>> {
    let mut order: Vec<usize> = (0..circuits.len()).collect();
    order.sort_by(|&a, &b| circuits[a].links.cmp(&circuits[b].links));
    let groups: Vec<&[usize]> = order
        .chunk_by(|&a, &b| circuits[a].links.first() == circuits[b].links.first())
        .collect();
    let group_scores = |group: &&[usize]| -> Vec<(usize, Vec<f64>)> {
        // `products[d]`: the product of the first `d` links of the current
        // circuit; `spare` keeps the buffers of abandoned prefixes.
        let mut products: Vec<Vec<f64>> = vec![vec![1.0f64; steps]];
        let mut spare: Vec<Vec<f64>> = Vec::new();
        let mut previous: &[usize] = &[];
        let mut out = Vec::with_capacity(group.len());
        for &i in group.iter() {
            let links = &circuits[i].links;
            let common = previous
                .iter()
                .zip(links)
                .take_while(|(a, b)| a == b)
                .count();
            while products.len() > common + 1 {
                spare.extend(products.pop());
            }
            for &k in &links[common..] {
                let mut next = spare.pop().unwrap_or_default();
                next.clear();
                let last = products.last().map_or(&[][..], |p| p.as_slice());
                match series_of(k) {
                    Some(series) => next.extend(last.iter().zip(series).map(|(a, b)| a * b)),
                    None => next.extend(last.iter().map(|a| a * 0.0)),
                }
                products.push(next);
            }
            out.push((i, products.last().cloned().unwrap_or_default()));
            previous = links;
        }
        out
    };
    let parts: Vec<Vec<(usize, Vec<f64>)>> = parallel(
        || groups.par_iter().map(group_scores).collect(),
        || groups.iter().map(group_scores).collect(),
    );
    let mut scores = vec![Vec::new(); circuits.len()];
    for (i, series) in parts.into_iter().flatten() {
        scores[i] = series;
    }
    scores
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

    /// Shared prefixes give each circuit exactly the product it gets alone:
    /// circuits that share a first run of links, one that is a prefix of
    /// another, a repeated one, and links without a series (0), against
    /// the product taken link by link, bit for bit.
    #[test]
    fn circuit_scores_equal_each_circuits_own_product() {
        let steps = 7;
        let series: Vec<Vec<f64>> = (0..6)
            .map(|k| {
                (0..steps)
                    .map(|t| (k as f64 * 0.37 + 0.11) * (1.0 + t as f64).sqrt() - 0.9)
                    .collect()
            })
            .collect();
        let series_of = |k: usize| series.get(k).map(Vec::as_slice);
        let circuit = |links: &[usize]| Circuit {
            polarity: crate::loops::LoopPolarity::Undetermined,
            nodes: links.to_vec(),
            links: links.to_vec(),
            partition: 0,
        };
        let circuits: Vec<Circuit> = [
            &[2, 4, 1][..],
            &[0, 1, 2, 3],
            &[0, 1, 2],
            &[0, 1, 5],
            &[0, 1, 2, 3],
            &[4, 9, 0],
            &[0, 3],
        ]
        .iter()
        .map(|l| circuit(l))
        .collect();
        let got = circuit_scores(&circuits, series_of, steps);
        for (c, got) in circuits.iter().zip(&got) {
            let mut want = vec![1.0f64; steps];
            for &k in &c.links {
                match series_of(k) {
                    Some(s) => want.iter_mut().zip(s).for_each(|(a, b)| *a *= b),
                    None => want.iter_mut().for_each(|a| *a *= 0.0),
                }
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(got), bits(&want), "{:?}", c.links);
        }
        // A link without a series zeroes the circuit.
        assert!(got[5].iter().all(|&x| x == 0.0));
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

    /// The paper's completeness check: on the SDXorg models small enough to
    /// enumerate, discovery (run on the link scores of the same run) must
    /// find the loops that matter, those whose relative score among all
    /// loops reaches 1% at some time. The paper's own heuristic misses a
    /// few siblings of found loops; a helper cutting paths (a Vensim
    /// stock's net flow keeping only the stronger of a stock's inflow and
    /// outflow loops) missed a sixth of them.
    #[test]
    fn discovery_finds_the_loops_that_matter_where_they_can_be_enumerated() {
        let suite = crate::testsuite::Suite::SdXorg;
        let Ok(cases) = suite.discover(&suite.default_root()) else {
            eprintln!("SDXorg suite not found; skipped");
            return;
        };
        let (mut matter, mut found) = (0usize, 0usize);
        let mut report = Vec::new();
        for case in &cases {
            let Ok(project) = crate::load_file_with(&case.model, &case.load_options()) else {
                continue;
            };
            let Ok(m) = LtmModel::new(&project, None) else {
                continue;
            };
            let all = &m.structure.circuits;
            if m.structure.mode != LoopMode::Exhaustive || all.len() < 3 {
                continue;
            }
            let Ok(run) = m.run(&RunOptions::default()) else {
                continue;
            };
            let key = |nodes: &[usize]| {
                let mut k = nodes.to_vec();
                k.sort_unstable();
                k
            };
            let discovered: FxHashSet<Vec<usize>> = discover(&m.structure, &run.link_scores)
                .0
                .iter()
                .map(|c| key(&c.nodes))
                .collect();
            // One loop per circuit, so each circuit's relative score is
            // its own.
            let single: Vec<Loop> = all
                .iter()
                .enumerate()
                .map(|(i, c)| Loop {
                    id: String::new(),
                    polarity: c.polarity,
                    variables: Vec::new(),
                    circuits: vec![i],
                    partition: c.partition,
                })
                .collect();
            let (_, relative) = loop_scores(&m.structure, all, &single, &run.link_scores);
            let (mut here, mut here_found) = (0, 0);
            for (c, rel) in all.iter().zip(&relative) {
                if rel.iter().any(|r| r.abs() >= 0.01) {
                    here += 1;
                    here_found += usize::from(discovered.contains(&key(&c.nodes)));
                }
            }
            report.push(format!("{}: {here_found} of {here}", case.key));
            matter += here;
            found += here_found;
        }
        assert!(matter > 100, "{report:?}");
        // 154 of 161 when written (the misses: Workforce 1 of 6,
        // subscript_switching 6 of 23).
        assert!(
            found * 100 >= matter * 95,
            "{found} of {matter}: {report:?}"
        );
        let copy = report.iter().find(|r| r.contains("subscript_copy.mdl"));
        assert_eq!(
            copy.map(|r| r.ends_with(": 9 of 9")),
            Some(true),
            "{report:?}"
        );
    }
}
