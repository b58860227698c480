//! Loop analysis: causal links with polarity, feedback loops, and loop
//! dominance over time ("Loops That Matter", LTM).
//!
//! This stage reads the flat model the compiler builds (modules
//! instantiated, macros and stock-based builtins expanded into hidden
//! stocks, arrays scalarised), so a loop through a SMOOTH, a module or an
//! array element is an ordinary loop here.
//!
//! * [`links`]: the causal links and their static polarity.
//! * [`circuits`]: cycle partitions and Johnson's enumeration of loops.
//! * [`instrument`]: LTM as a model transformation. Each scored link and
//!   each loop becomes a hidden variable of the compiled model, computed
//!   by the same engine that runs the model, so a single run, the stepwise
//!   `Sim` and a batched sweep all produce loop scores, with any
//!   integration method.
//! * [`discovery`]: past [`MAX_LOOPS`] loops, the loops that matter are
//!   found from one run's link scores instead (strongest paths).
//!
//! The method (Schoenberg, Eberlein & Hayward, "Loops That Matter", SDR
//! 2020; flow-to-stock links as corrected in Schoenberg, Hayward & Eberlein,
//! SDR 2023): at each step, for a link `x -> z` with `z = f(x, y, ...)`,
//!
//! ```text
//! score(x -> z) = |Δx z / Δz| · sign(Δx z / Δx),   Δx z = f(x_t, y_{t-dt}, ...) - z_{t-dt}
//! score(flow -> stock) = ±|Δflow / Δ(net flow)|     (+ inflow, - outflow)
//! ```
//!
//! and 0 whenever `Δz` (or `Δx`) is 0. A loop's score is the product of
//! its links' scores; its relative score divides by the sum of the
//! absolute scores of the loops in its cycle partition. The differences
//! are between consecutive steps of the run (`t - dt` and `t`), so with
//! RK2/RK4 a score describes the whole step, not the method's inner stages.

pub mod circuits;
pub mod discovery;
pub mod instrument;
pub mod links;
pub mod ltm;
pub mod score;
mod shared;
pub mod sweep;

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::compile::flatten::{flatten, FlatKind, FlatModel};
use crate::error::{Error, Result};
use crate::ir::Project;

pub use instrument::Partial;
pub use links::{Link, Polarity};
pub use ltm::{DominantPeriod, LtmModel, LtmRun};

/// Exhaustive enumeration stops past this many loops (per model); the
/// loops that matter are then discovered from a run instead.
pub const MAX_LOOPS: usize = 2_000;

/// The sign of a feedback loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoopPolarity {
    /// Reinforcing: an even number of negative links.
    Reinforcing,
    /// Balancing: an odd number of negative links.
    Balancing,
    /// A link whose polarity the structure does not settle.
    Undetermined,
}

impl LoopPolarity {
    fn of(p: Polarity) -> LoopPolarity {
        match p {
            Polarity::Positive => LoopPolarity::Reinforcing,
            Polarity::Negative => LoopPolarity::Balancing,
            Polarity::Unknown => LoopPolarity::Undetermined,
        }
    }

    pub fn letter(self) -> &'static str {
        match self {
            LoopPolarity::Reinforcing => "R",
            LoopPolarity::Balancing => "B",
            LoopPolarity::Undetermined => "U",
        }
    }
}

/// How the loops were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopMode {
    /// Every elementary circuit was enumerated.
    Exhaustive,
    /// Too many circuits: the loops that matter were found from a run's
    /// link scores (strongest paths).
    Discovery,
}

impl LoopMode {
    pub fn name(self) -> &'static str {
        match self {
            LoopMode::Exhaustive => "exhaustive",
            LoopMode::Discovery => "discovery",
        }
    }
}

/// One elementary circuit of the flat (element-level) graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Circuit {
    pub polarity: LoopPolarity,
    /// Flat variables in causal order, starting at a stock.
    pub nodes: Vec<usize>,
    /// Indices into [`Structure::links`] of `nodes[i] -> nodes[i + 1]`
    /// (the last closes the loop).
    pub links: Vec<usize>,
    /// The cycle partition (strongly connected component) it lies in.
    pub partition: usize,
}

/// One feedback loop as modelers name it: the circuits that pass through
/// the same variables, whatever array elements they run through (a loop of
/// an arrayed model is one circuit per element in the engine, one loop here).
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    /// `R1`, `B2`, `U1`: numbered per polarity, shortest loops first.
    pub id: String,
    /// Its circuits' polarity (undetermined if they differ).
    pub polarity: LoopPolarity,
    /// Variable names in causal order, starting at a stock (array
    /// variables without subscripts, helpers of SMOOTH/DELAY left out).
    pub variables: Vec<String>,
    /// Indices into the circuit list it was made from.
    pub circuits: Vec<usize>,
    /// The partition of its first circuit.
    pub partition: usize,
}

/// The causal structure of a model: links, loops, partitions.
#[derive(Clone, Debug)]
pub struct Structure {
    pub flat: FlatModel,
    pub links: Vec<Link>,
    /// Element-level circuits (empty in discovery mode).
    pub circuits: Vec<Circuit>,
    /// Loops, each grouping circuits.
    pub loops: Vec<Loop>,
    pub mode: LoopMode,
    /// Number of cycle partitions.
    pub partitions: usize,
    /// Each flat variable's partition (`usize::MAX` outside every loop).
    pub partition_of: Vec<usize>,
    /// Per flat variable, the index of its array in `flat.arrays` (an
    /// element's), else `None`; looked up once here because naming loops
    /// asks for it per node of every circuit.
    array_of: Vec<Option<usize>>,
    /// Per flat variable, [`Structure::shown`].
    visible: Vec<bool>,
    /// (from, to) -> index of the first such link.
    link_at: FxHashMap<(usize, usize), usize>,
}

impl Structure {
    /// Analyze the named model of a project (`None` = the main model).
    pub fn new(project: &Project, model: Option<&str>) -> Result<Structure> {
        crate::with_deep_stack(|| {
            let m = project.model(model).ok_or_else(|| Error::UnknownModel {
                name: model.unwrap_or("(main)").to_string(),
            })?;
            let flat = flatten(project, m)?;
            Ok(Structure::of(flat))
        })
    }

    /// Links and (while enumerable) loops of a flat model.
    pub fn of(flat: FlatModel) -> Structure {
        let links = links::causal_links(&flat);
        let n = flat.vars.len();
        let mut adj = vec![Vec::new(); n];
        let mut link_at = FxHashMap::default();
        for (k, l) in links.iter().enumerate() {
            if let std::collections::hash_map::Entry::Vacant(e) = link_at.entry((l.from, l.to)) {
                e.insert(k);
                adj[l.from].push(l.to);
            }
        }
        let (partition_of, partitions) = circuits::components(&adj);
        let element_of: HashMap<&str, usize> = flat
            .arrays
            .iter()
            .enumerate()
            .flat_map(|(a, arr)| arr.elements.iter().map(move |e| (e.as_str(), a)))
            .collect();
        let array_of = flat
            .vars
            .iter()
            .map(|v| element_of.get(v.ident.as_str()).copied())
            .collect();
        let visible = flat
            .vars
            .iter()
            .map(|v| v.visible && !v.name.contains('$'))
            .collect();
        let mut s = Structure {
            array_of,
            visible,
            link_at,
            flat,
            links,
            circuits: Vec::new(),
            loops: Vec::new(),
            mode: LoopMode::Exhaustive,
            partitions,
            partition_of,
        };
        match circuits::circuits(&adj, MAX_LOOPS) {
            Some(found) => (s.circuits, s.loops) = s.make_loops(found),
            None => s.mode = LoopMode::Discovery,
        }
        s
    }

    /// The link `from -> to` (the first, if an equation reads it twice).
    pub fn link(&self, from: usize, to: usize) -> Option<usize> {
        self.link_at.get(&(from, to)).copied()
    }

    fn is_stock(&self, v: usize) -> bool {
        matches!(self.flat.vars[v].kind, FlatKind::Stock { .. })
    }

    /// Orient, sort and group raw circuits: each starts at its first
    /// visible stock (in model order), circuits are ordered by length then
    /// by their nodes, and grouped into loops by the variables they pass
    /// (array elements folded into their variable); loops are numbered per
    /// polarity in the order of their first circuit.
    pub(crate) fn make_loops(&self, raw: Vec<Vec<usize>>) -> (Vec<Circuit>, Vec<Loop>) {
        use std::collections::hash_map::Entry;
        let mut circuits: Vec<Circuit> = raw
            .into_iter()
            // A loop wholly inside a SMOOTH, DELAY or macro helper is part
            // of that function, not of the model's feedback structure.
            .filter(|nodes| nodes.iter().any(|&v| self.shown(v)))
            .filter_map(|mut nodes| {
                let start = nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, &v)| self.is_stock(v))
                    .min_by_key(|(_, &v)| (!self.shown(v), v))
                    .map_or(0, |(k, _)| k);
                nodes.rotate_left(start);
                let k = nodes.len();
                let links = (0..k)
                    .map(|i| self.link(nodes[i], nodes[(i + 1) % k]))
                    .collect::<Option<Vec<_>>>()?;
                let polarity = links
                    .iter()
                    .fold(Polarity::Positive, |p, &l| p.then(self.links[l].polarity));
                Some(Circuit {
                    polarity: LoopPolarity::of(polarity),
                    partition: self.partition_of[nodes[0]],
                    nodes,
                    links,
                })
            })
            .collect();
        circuits.sort_by(|a, b| {
            a.nodes
                .len()
                .cmp(&b.nodes.len())
                .then(a.nodes.cmp(&b.nodes))
        });
        let mut loops: Vec<Loop> = Vec::new();
        // Keyed by the variables passed (an element by its array, as
        // `variable_name` names it) without building their names.
        let n = self.flat.vars.len();
        let mut by_key: FxHashMap<(Vec<usize>, usize), usize> = FxHashMap::default();
        for (i, c) in circuits.iter().enumerate() {
            let passed: Vec<usize> = c
                .nodes
                .iter()
                .filter(|&&v| self.shown(v))
                .map(|&v| self.array_of[v].map_or(v, |a| n + a))
                .collect();
            // Helpers count, so a path through a SMOOTH stays apart from
            // the direct one between the same variables.
            let hidden = c.nodes.len() - passed.len();
            match by_key.entry((passed, hidden)) {
                Entry::Occupied(e) => {
                    let l = &mut loops[*e.get()];
                    l.circuits.push(i);
                    if l.polarity != c.polarity {
                        l.polarity = LoopPolarity::Undetermined;
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(loops.len());
                    let variables = c
                        .nodes
                        .iter()
                        .filter(|&&v| self.shown(v))
                        .map(|&v| self.variable_name(v).to_string())
                        .collect();
                    loops.push(Loop {
                        id: String::new(),
                        polarity: c.polarity,
                        variables,
                        circuits: vec![i],
                        partition: c.partition,
                    });
                }
            }
        }
        let mut counts = [0usize; 3];
        for l in &mut loops {
            let k = match l.polarity {
                LoopPolarity::Reinforcing => 0,
                LoopPolarity::Balancing => 1,
                LoopPolarity::Undetermined => 2,
            };
            counts[k] += 1;
            l.id = format!("{}{}", l.polarity.letter(), counts[k]);
        }
        (circuits, loops)
    }

    /// Whether a flat variable is one modelers see (not a compiler helper).
    pub fn shown(&self, v: usize) -> bool {
        self.visible[v]
    }

    /// The name of the variable a flat variable belongs to: an array
    /// element's array (`Population` for `Population[north]`), else its own.
    pub fn variable_name(&self, v: usize) -> &str {
        match self.array_of[v] {
            Some(a) => &self.flat.arrays[a].name,
            None => &self.flat.vars[v].name,
        }
    }

    /// The links between the variables modelers see, as `(from, to,
    /// polarity)` names: a path through compiler helpers (a SMOOTH's
    /// stock, a Vensim stock's net flow) is one link whose polarity is the
    /// product along the path, and array elements fold into their
    /// variable. Sorted by target, then source (model order); paths of
    /// different polarity between the same pair give `Unknown`.
    pub fn visible_links(&self) -> Vec<(String, String, Polarity)> {
        let mut into: Vec<Vec<usize>> = vec![Vec::new(); self.flat.vars.len()];
        for (k, l) in self.links.iter().enumerate() {
            into[l.to].push(k);
        }
        let mut out: Vec<(String, String, Polarity)> = Vec::new();
        let mut at: HashMap<(String, String), usize> = HashMap::new();
        for z in (0..self.flat.vars.len()).filter(|&z| self.shown(z)) {
            let mut found: Vec<(usize, Polarity)> = Vec::new();
            let mut todo: Vec<(usize, Polarity)> = into[z]
                .iter()
                .map(|&k| (self.links[k].from, self.links[k].polarity))
                .collect();
            let mut seen = std::collections::HashSet::new();
            while let Some((x, p)) = todo.pop() {
                if self.shown(x) {
                    found.push((x, p));
                } else if seen.insert((x, p)) {
                    for &k in &into[x] {
                        todo.push((self.links[k].from, self.links[k].polarity.then(p)));
                    }
                }
            }
            found.sort_by_key(|(f, _)| *f);
            for (x, p) in found {
                let key = (
                    self.variable_name(x).to_string(),
                    self.variable_name(z).to_string(),
                );
                match at.get(&key) {
                    Some(&i) if out[i].2 != p => out[i].2 = Polarity::Unknown,
                    Some(_) => {}
                    None => {
                        at.insert(key.clone(), out.len());
                        out.push((key.0, key.1, p));
                    }
                }
            }
        }
        out
    }

    /// Display name of a flat variable.
    pub fn name(&self, v: usize) -> &str {
        &self.flat.vars[v].name
    }
}

#[cfg(test)]
mod tests;
