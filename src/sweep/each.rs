//! Runs of one equation over an array's elements, executed operation by
//! operation across the elements instead of element by element.
//!
//! Scalarisation gives an arrayed variable one block of register code per
//! element, each the same operations on registers that move by a fixed
//! stride from one element to the next (`succumbing[r] = beta *
//! susceptible[r] * ...`). Run one after another, every element pays the
//! interpreter's dispatch for every operation. This pass finds such runs
//! (whole equations, or a few equations repeating together) and replaces
//! them by one [`ROp::Each`]: each operation is dispatched once and applied
//! to all elements in a tight loop, its temporaries spread over a register
//! per element.
//!
//! Every element still performs the same float operations on the same
//! values, so results are bit-identical; a run is only formed when that
//! order cannot matter: no element reads a register another element's
//! block writes, no two blocks write the same register, and temporaries
//! live only within a block. Operations with state or per-element tables
//! (stateful ops, records, lookups) are left as they are.

use rustc_hash::FxHashMap;

use super::fold::for_each_source;
use super::regs::{for_each_reg, ROp, Reg};

/// A run of `n` blocks: `ops` is the first block's code, each operand with
/// the stride its register moves by per element (temporaries already moved
/// to a register per element).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Each {
    pub n: u32,
    pub ops: Vec<(ROp, Box<[i64]>)>,
}

impl Each {
    /// Register `base` of element `k` with stride `s`.
    #[inline(always)]
    pub(crate) fn at(base: Reg, s: i64, k: usize) -> usize {
        (base as i64 + s * k as i64) as usize
    }

    /// How many scalar operations the run stands for.
    pub(crate) fn scalar_ops(&self) -> usize {
        self.ops.len() * self.n as usize
    }
}

/// Fewest blocks worth a run.
const MIN_BLOCKS: usize = 4;

/// Most equations repeating together in one run (elements of a few arrays
/// computed interleaved).
const MAX_PERIOD: usize = 8;

/// Which registers are the model's variables (below the temporaries) and
/// which are temporaries; the rest (constants, time) never move.
#[derive(Clone)]
struct Kinds {
    temps: std::ops::Range<usize>,
}

impl Kinds {
    fn temp(&self, r: Reg) -> bool {
        self.temps.contains(&(r as usize))
    }

    fn slot(&self, r: Reg) -> bool {
        (r as usize) < self.temps.start
    }
}

/// `code` with its runs replaced by [`ROp::Each`], and how many registers
/// from `first_free` the runs' temporaries use (the runs execute one at a
/// time, so they share them). `None` when there is no run.
pub(crate) fn vectorize(
    code: &[ROp],
    temps: std::ops::Range<usize>,
    first_free: usize,
) -> Option<(Vec<ROp>, usize)> {
    let kinds = Kinds { temps };
    let segments = segments(code, &kinds);
    if segments.len() < MIN_BLOCKS {
        return None;
    }
    let shapes: Vec<u64> = segments
        .iter()
        .enumerate()
        .map(|(j, s)| shape(&code[s.clone()], &kinds).unwrap_or(u64::MAX - j as u64))
        .collect();
    let mut out = Vec::with_capacity(code.len());
    let mut extra = 0usize;
    let mut j = 0;
    while j < segments.len() {
        // (period in equations, the run, registers its temporaries use)
        let mut best: Option<(usize, Each, usize)> = None;
        for q in 1..=MAX_PERIOD {
            if j + q * MIN_BLOCKS > segments.len() {
                break;
            }
            let mut n = 1;
            while j + (n + 1) * q <= segments.len()
                && (0..q).all(|t| shapes[j + n * q + t] == shapes[j + t])
            {
                n += 1;
            }
            if n < MIN_BLOCKS {
                continue;
            }
            let block =
                |k: usize| &code[segments[j + k * q].start..segments[j + k * q + q - 1].end];
            let Some((each, used)) = run_of(&block, n, &kinds, first_free) else {
                continue;
            };
            if best
                .as_ref()
                .is_none_or(|b| each.scalar_ops() > b.1.scalar_ops())
            {
                best = Some((q, each, used));
            }
        }
        match best {
            Some((q, each, used)) => {
                j += q * each.n as usize;
                extra = extra.max(used);
                out.push(ROp::Each(Box::new(each)));
            }
            None => {
                out.extend_from_slice(&code[segments[j].clone()]);
                j += 1;
            }
        }
    }
    (out.len() < code.len()).then_some((out, extra))
}

/// The run of the first `n` (or fewer) blocks given by `block(k)`, if
/// their registers move by fixed strides and running them operation by
/// operation cannot change what any of them reads; with the number of
/// registers from `first_free` its temporaries take.
fn run_of<'c>(
    block: &dyn Fn(usize) -> &'c [ROp],
    n: usize,
    kinds: &Kinds,
    first_free: usize,
) -> Option<(Each, usize)> {
    let regs = |ops: &[ROp]| -> Vec<Reg> {
        let mut out = Vec::new();
        for op in ops {
            let mut op = op.clone();
            for_each_reg(&mut op, |r| out.push(*r));
        }
        out
    };
    let same_ops = |a: &[ROp], b: &[ROp]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                std::mem::discriminant(x) == std::mem::discriminant(y)
                    && match (x, y) {
                        (ROp::Call(_, f, xa), ROp::Call(_, g, ya)) => {
                            f == g && xa.len() == ya.len()
                        }
                        _ => true,
                    }
            })
    };
    let (b0, b1) = (block(0), block(1));
    if !same_ops(b0, b1) {
        return None;
    }
    let (r0, r1) = (regs(b0), regs(b1));
    let strides: Vec<i64> = r0
        .iter()
        .zip(&r1)
        .map(|(&a, &b)| b as i64 - a as i64)
        .collect();
    // Only variables move from element to element.
    if r0
        .iter()
        .zip(&strides)
        .any(|(&r, &s)| s != 0 && !kinds.slot(r))
    {
        return None;
    }
    let mut blocks = n;
    for k in 2..n {
        let bk = block(k);
        let fits = same_ops(b0, bk)
            && regs(bk)
                .iter()
                .zip(r0.iter().zip(&strides))
                .all(|(&r, (&base, &s))| r as i64 == base as i64 + s * k as i64);
        if !fits {
            blocks = k;
            break;
        }
    }
    if blocks < MIN_BLOCKS {
        return None;
    }
    // Each element's writes and reads of variables, by element: another
    // element must not read or write what one writes.
    let mut written: FxHashMap<usize, usize> = FxHashMap::default();
    let mut at = 0;
    let mut per_op: Vec<(usize, bool)> = Vec::new(); // (operand index, is a write)
    for op in b0 {
        let writes = op.dest().is_some();
        let mut first = true;
        let mut op = op.clone();
        for_each_reg(&mut op, |_| {
            per_op.push((at, writes && first));
            first = false;
            at += 1;
        });
    }
    for k in 0..blocks {
        for &(i, write) in &per_op {
            if write && kinds.slot(r0[i]) {
                let addr = Each::at(r0[i], strides[i], k);
                if written.insert(addr, k).is_some_and(|other| other != k) {
                    return None;
                }
            }
        }
    }
    for k in 0..blocks {
        for &(i, write) in &per_op {
            if !write && kinds.slot(r0[i]) {
                let addr = Each::at(r0[i], strides[i], k);
                if written.get(&addr).is_some_and(|&other| other != k) {
                    return None;
                }
            }
        }
    }
    // Temporaries: one register per element, from `first_free`.
    let mut temp_base: FxHashMap<Reg, Reg> = FxHashMap::default();
    for &r in &r0 {
        if kinds.temp(r) && !temp_base.contains_key(&r) {
            let base = first_free + temp_base.len() * blocks;
            temp_base.insert(r, Reg::try_from(base).ok()?);
        }
    }
    let mut i = 0;
    let mut ops = Vec::with_capacity(b0.len());
    for op in b0 {
        let mut op = op.clone();
        let mut s = Vec::new();
        for_each_reg(&mut op, |r| {
            match temp_base.get(r) {
                Some(&base) => {
                    *r = base;
                    s.push(1);
                }
                None => s.push(strides[i]),
            }
            i += 1;
        });
        ops.push((op, s.into_boxed_slice()));
    }
    let used = temp_base.len() * blocks;
    Some((
        Each {
            n: u32::try_from(blocks).ok()?,
            ops,
        },
        used,
    ))
}

/// The code split where no temporary is live (between whole equations).
fn segments(code: &[ROp], kinds: &Kinds) -> Vec<std::ops::Range<usize>> {
    // Backwards: the temporaries read later without a write between.
    let mut live: Vec<Reg> = Vec::new();
    let mut cut = vec![false; code.len() + 1];
    cut[code.len()] = true;
    for (i, op) in code.iter().enumerate().rev() {
        if let Some(d) = op.dest().filter(|&d| kinds.temp(d)) {
            live.retain(|&t| t != d);
        }
        for_each_source(op, |s| {
            if kinds.temp(s) && !live.contains(&s) {
                live.push(s);
            }
        });
        cut[i] = live.is_empty();
    }
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &c) in cut.iter().enumerate().skip(1) {
        if c {
            out.push(start..i);
            start = i;
        }
    }
    out
}

/// A hash of a segment's operations with its variables' registers left
/// out (they move from element to element); `None` if it holds an
/// operation a run cannot take.
fn shape(ops: &[ROp], kinds: &Kinds) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    for op in ops {
        if matches!(
            op,
            ROp::Lookup(..)
                | ROp::TableFn(..)
                | ROp::Stateful(..)
                | ROp::Record(..)
                | ROp::Each(..)
        ) {
            return None;
        }
        std::mem::discriminant(op).hash(&mut h);
        if let ROp::Call(_, f, args) = op {
            (*f as u32).hash(&mut h);
            args.len().hash(&mut h);
        }
        let mut op = op.clone();
        for_each_reg(&mut op, |r| {
            // Variables may move; temporaries, constants and the time
            // registers must be the same registers.
            let r = if kinds.slot(*r) { Reg::MAX } else { *r };
            r.hash(&mut h);
        });
    }
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::{RunOptions, Sim};
    use crate::CompiledModel;
    use std::sync::Arc;

    /// Registers 0..100 are variables, 100..110 temporaries, 110.. constants.
    const TEMPS: std::ops::Range<usize> = 100..110;
    const C: Reg = 110;

    fn runs(code: &[ROp]) -> Vec<(u32, usize)> {
        match vectorize(code, TEMPS, 200) {
            Some((out, _)) => out
                .iter()
                .filter_map(|op| match op {
                    ROp::Each(e) => Some((e.n, e.ops.len())),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        }
    }

    /// `y[k] = (x[k] + c) * x[k]` for six elements: one run of six blocks
    /// of two operations, the temporary spread over six registers.
    #[test]
    fn equal_blocks_over_moving_registers_form_a_run() {
        let code: Vec<ROp> = (0..6)
            .flat_map(|k| [ROp::Add(100, k, C), ROp::Mul(10 + k, 100, k)])
            .collect();
        assert_eq!(runs(&code), vec![(6, 2)]);
        let (out, extra) = vectorize(&code, TEMPS, 200).expect("a run");
        assert_eq!(extra, 6);
        let ROp::Each(e) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(
            e.ops[0],
            (ROp::Add(200, 0, C), vec![1, 1, 0].into_boxed_slice())
        );
        assert_eq!(
            e.ops[1],
            (ROp::Mul(10, 200, 0), vec![1, 1, 1].into_boxed_slice())
        );
    }

    /// `x[k] = x[k - 1] * c`: each block reads what the one before wrote,
    /// so running them operation by operation would read stale values.
    #[test]
    fn a_recurrence_is_left_element_by_element() {
        let code: Vec<ROp> = (1..8).map(|k| ROp::Mul(k, k - 1, C)).collect();
        assert_eq!(runs(&code), vec![]);
        // Nor may blocks write one register, or read a later block's.
        let same: Vec<ROp> = (0..8).map(|k| ROp::Add(50, k, C)).collect();
        assert_eq!(runs(&same), vec![]);
        let ahead: Vec<ROp> = (0..8).map(|k| ROp::Mul(k, k + 1, C)).collect();
        assert_eq!(runs(&ahead), vec![]);
    }

    /// Different constants or builtins per element, or too few elements,
    /// form no run; stateful operations never do.
    #[test]
    fn blocks_that_differ_form_no_run() {
        let consts: Vec<ROp> = (0..8).map(|k| ROp::Add(10 + k, k, C + k)).collect();
        assert_eq!(runs(&consts), vec![]);
        let few: Vec<ROp> = (0..3).map(|k| ROp::Add(10 + k, k, C)).collect();
        assert_eq!(runs(&few), vec![]);
        let state: Vec<ROp> = (0..8)
            .map(|k| ROp::Stateful(10 + k, k, vec![k].into_boxed_slice()))
            .collect();
        assert_eq!(runs(&state), vec![]);
    }

    /// An arrayed model whose equations form runs (selects, builtins,
    /// constants folded or not) runs bit for bit as its reference program
    /// (the stack code, element by element) runs it, with every method.
    #[test]
    fn runs_give_the_reference_programs_numbers() {
        let mdl = "{UTF-8}
Region: (r1-r12) ~~|
base[Region] = Region * 1.5 ~~|
k = 0.3 ~~|
pop[Region] = INTEG(growth[Region] - loss[Region], base[Region]) ~~|
growth[Region] = IF THEN ELSE(pop[Region] > 5, ABS(pop[Region] - 9) * k, MAX(pop[Region], 1) * (1 - k)) ~~|
loss[Region] = pop[Region] ^ 0.5 / (1 + SIN(TIME)) + MODULO(pop[Region], 2) ~~|
total = SUM(pop[Region!]) ~~|
INITIAL TIME = 0 ~~| FINAL TIME = 5 ~~| TIME STEP = 0.25 ~~|
";
        let project = crate::load_mdl(mdl).expect("loads");
        let m = Arc::new(CompiledModel::new(&project, None).expect("compiles"));
        let each = m.reg_program().step_each.as_ref().expect("runs formed");
        assert!(each
            .iter()
            .any(|op| matches!(op, ROp::Each(e) if e.n == 12)));
        use crate::ir::Method::*;
        for method in [Euler, Rk2, Rk4] {
            let opts = RunOptions {
                method: Some(method),
                ..RunOptions::default()
            };
            let fast = m.run(&opts).expect("runs");
            let mut sim = Sim::new_reference(m.clone(), &opts).expect("sim");
            sim.run_to_end().expect("sim runs");
            let slow = sim.into_results();
            for (name, (a, b)) in fast
                .names
                .iter()
                .zip(fast.columns.iter().zip(&slow.columns))
            {
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(a), bits(b), "{name} ({method:?})");
            }
        }
    }
}
