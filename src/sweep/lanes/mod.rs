//! The batched engine: `W` runs of one compiled model advanced in lockstep.
//!
//! Every value is a `[f64; W]` (structure of arrays): one op is decoded once
//! and applied to all `W` runs, so the interpreter's dispatch cost is shared
//! and the arithmetic loops vectorise. Runs of a sweep share their time axis
//! and method, so they step together; what differs per run (overridden
//! constants and initial values, graphical functions, the random seed, and
//! the state of stateful ops) is kept per lane.
//!
//! It is the project's one interpreter: a single run and the stepwise
//! [`crate::vm::Sim`] are its one-lane case. Each lane performs exactly the
//! float operations of a run by itself, in the same order (the stateful ops
//! share one implementation, [`crate::vm::stateful`]), so a run's numbers
//! are bit-identical whatever batch size or thread executes it.

//!
//! `mod.rs` holds a batch's state, loading, initialisation and the
//! integrators; `registers.rs` the interpreter of the per-step register
//! program (with array runs and shared-table lookups); `stack.rs` the
//! interpreter of the compiler's stack code (the initial phase, and every
//! step in reference mode).

// Lane loops index several arrays by the lane number on purpose: the
// compiler turns `for l in 0..W` over fixed-size arrays into vector code.
#![allow(clippy::needless_range_loop)]

mod registers;
mod stack;

use crate::compile::program::MAX_CALL_ARGS;
use std::sync::Arc;

use crate::compile::builtins::TimeCtx;
use crate::compile::CompiledModel;
use crate::ir::{GfKind, GraphicalFunction, Method};
use crate::vm::state::{saves, TimeGrid};
use crate::vm::stateful::Clock;
use crate::vm::table::{hint_for, NO_HINT};

use super::regs::{ROp, RegProgram};

type V<const W: usize> = [f64; W];
/// One slot's per-lane fixed values and which lanes have one.
type Fixed<const W: usize> = Box<(V<W>, [bool; W])>;

#[inline(always)]
fn b(x: bool) -> f64 {
    if x {
        1.0
    } else {
        0.0
    }
}

/// The per-run inputs of one lane.
pub(crate) struct LaneInputs<'a> {
    /// (slot, value) pairs fixed for this run.
    pub values: &'a [(u32, f64)],
    /// (table number, replacement) pairs for this run.
    pub tables: &'a [(u32, Arc<GraphicalFunction>)],
    pub seed: u64,
}

/// `W` runs' state. Reused across batches (see [`Lanes::load`]).
pub(crate) struct Lanes<const W: usize> {
    /// Every lane's stocks were finite after the last step or initialisation.
    finite: bool,
    /// The CPU has AVX2 (see [`Lanes::run_regs`]).
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
    /// The register file: the model's slots first, then temporaries,
    /// constants and the time registers (see [`RegProgram`]), then the
    /// constants of `folded`.
    slots: Vec<V<W>>,
    /// The registers of the shared program (before `folded`'s constants).
    base_regs: usize,
    /// Fold each batch's constants into its step program (see
    /// [`Lanes::folding`]).
    folding: bool,
    /// Run each step's stack code as compiled (see [`Lanes::set_reference`]).
    reference: bool,
    /// This batch's step program with its constants folded in, when that
    /// changed anything (else the shared `prog.step` runs).
    folded: Option<Vec<ROp>>,
    stack: Vec<V<W>>,
    /// Per stateful op and lane (`id * W + lane`).
    state: Vec<f64>,
    aux: Vec<f64>,
    history: Vec<Vec<f64>>,
    /// Per graphical function and lane (`table * W + lane`).
    tables: Vec<Arc<GraphicalFunction>>,
    /// Per table and lane: the segment its last lookup found (see
    /// [`lookup_hinted`]), reset for each batch.
    hints: Vec<u32>,
    /// Per table of the model: its starting hint.
    model_hints: Vec<u32>,
    /// Per table: every lane of this batch reads the same ascending,
    /// interpolating table (see [`lookup_lanes`]).
    shared: Vec<bool>,
    /// Per slot: which lanes take a fixed value, and the values.
    fixed: Vec<Option<Fixed<W>>>,
    /// Slots with an entry in `fixed` (to clear them cheaply).
    fixed_slots: Vec<u32>,
    seeds: [u64; W],
    /// Scratch for one lane's builtin arguments.
    args: Vec<f64>,
    grid: TimeGrid,
    time: f64,
    step: u64,
    /// The time and step at which the step size last changed (a stepwise
    /// run whose model computes TIME STEP, see [`Lanes::retime`]): `time =
    /// seg_time + (step - seg_step) * dt`, exact within each stretch of
    /// equal steps. On a fixed grid, the start and 0.
    seg_time: f64,
    seg_step: u64,
    initializing: bool,
    /// Inside a Runge-Kutta stage: see `stateful::Clock::in_stage`.
    in_stage: bool,
    base: Vec<V<W>>,
    acc: Vec<V<W>>,
    k: Vec<V<W>>,
}

impl<const W: usize> Lanes<W> {
    pub(crate) fn new(m: &CompiledModel, grid: TimeGrid) -> Lanes<W> {
        let prog = m.reg_program();
        let nstate = m.stateful.len();
        let nstocks = m.stocks.len();
        // The runs' temporaries (see `each`) follow the shared registers.
        let mut slots = vec![[0.0; W]; (prog.n_regs + prog.each_regs).max(m.vars.len())];
        let base_regs = slots.len();
        for (i, &c) in prog.consts.iter().enumerate() {
            slots[prog.const_base + i] = [c; W];
        }
        let t = prog.time_reg;
        slots[t + 1] = [grid.dt; W];
        slots[t + 2] = [grid.start; W];
        slots[t + 3] = [grid.stop; W];
        Lanes {
            finite: true,
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
            slots,
            base_regs,
            folding: false,
            reference: false,
            folded: None,
            stack: vec![[0.0; W]; m.max_stack],
            state: vec![0.0; nstate * W],
            aux: vec![0.0; nstate * W],
            history: vec![Vec::new(); nstate * W],
            tables: m
                .tables
                .iter()
                .flat_map(|t| std::iter::repeat_n(t.clone(), W))
                .collect(),
            // Set with the tables by `load`; unhinted until then.
            hints: vec![NO_HINT; m.tables.len() * W],
            model_hints: m.tables.iter().map(|t| hint_for(t)).collect(),
            shared: vec![false; m.tables.len()],
            fixed: vec![None; m.vars.len()],
            fixed_slots: Vec::new(),
            seeds: [0; W],
            args: vec![0.0; MAX_CALL_ARGS],
            grid,
            time: grid.start,
            step: 0,
            seg_time: grid.start,
            seg_step: 0,
            initializing: false,
            in_stage: false,
            base: vec![[0.0; W]; nstocks],
            acc: vec![[0.0; W]; nstocks],
            k: vec![[0.0; W]; nstocks],
        }
    }

    /// Fold each batch's constants into its step program once they are
    /// computed (see [`super::fold`]): for runs, whose constants stay as
    /// initialised. Not for evaluating a model at given points
    /// ([`super::pointwise`]), which writes slots between evaluations.
    pub(crate) fn folding(mut self) -> Self {
        self.folding = true;
        self
    }

    /// Run each step's code as the compiler emitted it, on the stack
    /// interpreter ([`Lanes::exec`]), instead of its register form with
    /// array runs (and folding, which this turns off): the plain reading of
    /// the program that tests hold the rewritten one to, bit for bit.
    pub(crate) fn set_reference(&mut self) {
        self.reference = true;
        self.folding = false;
    }

    /// After the initial values: the registers every lane holds the same
    /// value in for the whole run (the model's constants, DT, INITIAL and
    /// FINAL TIME, the pooled constants), and the step program rewritten
    /// with them.
    fn fold(&mut self, m: &CompiledModel) {
        self.slots.truncate(self.base_regs);
        self.folded = None;
        let prog = m.reg_program();
        let uniform = |v: &V<W>| v.iter().all(|x| x.to_bits() == v[0].to_bits());
        let mut known: Vec<Option<f64>> = vec![None; prog.n_regs];
        for (i, var) in m.vars.iter().enumerate() {
            if var.constant && uniform(&self.slots[i]) {
                known[i] = Some(self.slots[i][0]);
            }
        }
        for (i, &c) in prog.consts.iter().enumerate() {
            known[prog.const_base + i] = Some(c);
        }
        for r in prog.time_reg + 1..prog.time_reg + 4 {
            known[r] = Some(self.slots[r][0]);
        }
        if let Some(f) = super::fold::fold(prog, &known, self.base_regs) {
            self.slots.extend(f.consts.iter().map(|&c| [c; W]));
            // Runs over array elements in the folded program, their
            // temporaries after the folded constants.
            let first_free = self.slots.len();
            let temps = prog.temp_base..prog.const_base;
            // Folding keeps the runs' shape; a model with none has none.
            let each = match prog.step_each {
                Some(_) => super::each::vectorize(&f.step, temps, first_free),
                None => None,
            };
            self.folded = Some(match each {
                Some((code, extra)) => {
                    self.slots.resize(first_free + extra, [0.0; W]);
                    code
                }
                None => f.step,
            });
        }
    }

    /// How many operations each step runs (the folded program's, if any).
    #[cfg(test)]
    pub(crate) fn step_ops(&self, m: &CompiledModel) -> usize {
        let count = |code: &[ROp]| {
            code.iter()
                .map(|op| match op {
                    ROp::Each(e) => e.scalar_ops(),
                    _ => 1,
                })
                .sum()
        };
        self.folded
            .as_deref()
            .map_or(m.reg_program().step.len(), count)
    }

    /// Run the step program: this batch's folded one, else the shared one;
    /// with `REF` (reference mode) the stack code as compiled. The mode is
    /// a compile-time parameter so the normal step code carries no test
    /// for it: a branch to the stack interpreter in there cost a WRLD3-03
    /// sweep about 5%.
    fn run_step<const REF: bool>(&mut self, m: &CompiledModel) {
        if REF {
            return self.exec(m, m.step_range);
        }
        match self.folded.take() {
            Some(code) => {
                self.run_regs(m, &code);
                self.folded = Some(code);
            }
            None => {
                let prog = m.reg_program();
                self.run_regs(m, prog.step_each.as_deref().unwrap_or(&prog.step));
            }
        }
    }

    /// Prepare for a new batch: clear the previous runs' state and install
    /// each lane's inputs (lanes past `inputs.len()` run the model as is and
    /// are ignored by the caller).
    pub(crate) fn load(&mut self, m: &CompiledModel, inputs: &[LaneInputs<'_>]) {
        self.folded = None;
        // The model's slots only: constants and time registers stay.
        self.slots[..m.vars.len()]
            .iter_mut()
            .for_each(|v| *v = [0.0; W]);
        self.state.iter_mut().for_each(|v| *v = 0.0);
        self.aux.iter_mut().for_each(|v| *v = 0.0);
        self.history.iter_mut().for_each(Vec::clear);
        for &s in &self.fixed_slots {
            self.fixed[s as usize] = None;
        }
        self.fixed_slots.clear();
        for (t, original) in m.tables.iter().enumerate() {
            for l in 0..W {
                self.tables[t * W + l] = original.clone();
                self.hints[t * W + l] = self.model_hints[t];
            }
        }
        self.seeds = [0; W];
        for (l, lane) in inputs.iter().enumerate().take(W) {
            self.seeds[l] = lane.seed;
            for &(slot, v) in lane.values {
                self.fix(slot, l, v);
            }
            for (t, gf) in lane.tables {
                self.set_table(*t, l, gf.clone());
            }
        }
        for (t, shared) in self.shared.iter_mut().enumerate() {
            let lanes = &self.tables[t * W..(t + 1) * W];
            let g = &lanes[0];
            *shared = W > 1
                && lanes.iter().all(|x| Arc::ptr_eq(x, g))
                && self.hints[t * W] != NO_HINT
                && matches!(g.kind, GfKind::Continuous | GfKind::Extrapolate)
                && g.xs.len().min(g.ys.len()) >= 2;
        }
    }

    /// Give `slot` a fixed value on lane `l`: set at initialisation, and
    /// again by [`Lanes::refresh`] (a constant changed between steps).
    pub(crate) fn fix(&mut self, slot: u32, l: usize, v: f64) {
        let entry = &mut self.fixed[slot as usize];
        if entry.is_none() {
            self.fixed_slots.push(slot);
        }
        let e = entry.get_or_insert_with(|| Box::new(([0.0; W], [false; W])));
        e.0[l] = v;
        e.1[l] = true;
    }

    /// Replace graphical function `t` on lane `l` (from the next lookup on).
    pub(crate) fn set_table(&mut self, t: u32, l: usize, gf: Arc<GraphicalFunction>) {
        let i = t as usize * W + l;
        self.hints[i] = hint_for(&gf);
        self.tables[i] = gf;
        if W > 1 {
            // `load` decides which tables the lanes share; one lane's own
            // table is no longer shared.
            self.shared[t as usize] = false;
        }
    }

    pub(crate) fn value(&self, slot: u32, lane: usize) -> f64 {
        self.slots[slot as usize][lane]
    }

    /// The step size in force (changed only by [`Lanes::retime`]).
    pub(crate) fn dt(&self) -> f64 {
        self.grid.dt
    }

    pub(crate) fn step(&self) -> u64 {
        self.step
    }

    pub(crate) fn stop(&self) -> f64 {
        self.grid.stop
    }

    /// Take this time axis from the next [`Lanes::initialize`] on.
    pub(crate) fn set_grid(&mut self, m: &CompiledModel, grid: TimeGrid) {
        self.grid = grid;
        let t = m.reg_program().time_reg;
        self.slots[t + 1] = [grid.dt; W];
        self.slots[t + 2] = [grid.start; W];
        self.slots[t + 3] = [grid.stop; W];
    }

    /// Go on from the current time in steps of `dt` (a model's TIME STEP
    /// computed during a stepwise run; never with folding, which takes DT
    /// as a constant).
    pub(crate) fn retime(&mut self, m: &CompiledModel, dt: f64) {
        self.seg_time = self.time;
        self.seg_step = self.step;
        self.grid.dt = dt;
        self.slots[m.reg_program().time_reg + 1] = [dt; W];
    }

    /// Move the stop time (a model's FINAL TIME computed during a stepwise
    /// run). What ends the run is the caller's rule, not `n_steps`.
    pub(crate) fn set_stop(&mut self, m: &CompiledModel, stop: f64) {
        self.grid.stop = stop;
        self.slots[m.reg_program().time_reg + 3] = [stop; W];
    }

    /// After a constant was given a new value between steps ([`Lanes::fix`])
    /// or a stock set: the constants again (fixed ones take their value,
    /// the others are recomputed from them), then every per-step variable
    /// at the current time. Not with folding, which took the old constants.
    pub(crate) fn refresh(&mut self, m: &CompiledModel) {
        self.run_init(m, true);
        if self.reference {
            self.run_step::<true>(m);
        } else {
            self.run_step::<false>(m);
        }
    }

    /// True when every lane's stocks are finite (the common case, known
    /// without looking at lanes one by one).
    pub(crate) fn stocks_finite(&self) -> bool {
        self.finite
    }

    pub(crate) fn time(&self) -> f64 {
        self.time
    }

    pub(crate) fn is_done(&self) -> bool {
        self.step >= self.grid.n_steps
    }

    pub(crate) fn saves_now(&self) -> bool {
        saves(self.step, self.grid.save_every, self.grid.n_steps)
    }

    /// True when the next step will end on a save point.
    pub(crate) fn next_saves(&self) -> bool {
        self.step < self.grid.n_steps
            && saves(self.step + 1, self.grid.save_every, self.grid.n_steps)
    }

    /// Every lane's value of one slot, to read or fill a row at once (the
    /// inputs and outputs of a model evaluated pointwise, see
    /// [`super::pointwise`]).
    pub(crate) fn lanes_of(&self, slot: u32) -> &[f64; W] {
        &self.slots[slot as usize]
    }

    pub(crate) fn lanes_of_mut(&mut self, slot: u32) -> &mut [f64; W] {
        &mut self.slots[slot as usize]
    }

    /// Evaluate every per-step variable once at the current stock values,
    /// without advancing time.
    pub(crate) fn eval_step(&mut self, m: &CompiledModel) {
        self.run_step::<false>(m);
    }

    /// Compute every variable at the start time: the initial phase on the
    /// stack code (once per run), then the per-step and record code.
    pub(crate) fn initialize(&mut self, m: &CompiledModel) {
        self.time = self.grid.start;
        self.step = 0;
        self.seg_time = self.grid.start;
        self.seg_step = 0;
        self.initializing = true;
        self.run_init(m, false);
        self.initializing = false;
        if self.folding {
            self.fold(m);
        }
        if self.reference {
            self.run_step::<true>(m);
            self.record::<true>(m);
        } else {
            self.run_step::<false>(m);
            self.record::<false>(m);
        }
        self.finite = self.check_finite(m);
    }

    /// The initial-value segments (of the constants only, if
    /// `only_constants`), each lane's fixed values taking the place of the
    /// equation.
    fn run_init(&mut self, m: &CompiledModel, only_constants: bool) {
        for &seg in &m.init_segments {
            let var = seg.var as usize;
            if only_constants && !m.vars[var].constant {
                continue;
            }
            match self.fixed[var].as_deref().copied() {
                Some((vals, mask)) => {
                    if mask.iter().any(|&f| !f) {
                        self.exec(m, seg);
                    }
                    let slot = &mut self.slots[var];
                    let limits = m.limits_of(var);
                    for l in 0..W {
                        if mask[l] {
                            slot[l] = limits.map_or(vals[l], |r| r.apply(vals[l]));
                        }
                    }
                }
                None => self.exec(m, seg),
            }
        }
    }

    /// Run the record code (what stateful ops keep of this step).
    #[inline(always)]
    fn record<const REF: bool>(&mut self, m: &CompiledModel) {
        if REF {
            return self.exec(m, m.record_range);
        }
        self.run_regs(m, &m.reg_program().record);
    }

    #[inline(always)]
    fn derivatives(prog: &RegProgram, slots: &[V<W>], out: &mut [V<W>]) {
        // A function that must inline: left a call per stock, it was a
        // third of a small model's sweep.
        #[inline(always)]
        fn sum<const W: usize>(slots: &[V<W>], flows: &[u32]) -> V<W> {
            let mut total = [0.0; W];
            for &f in flows {
                let v = &slots[f as usize];
                for l in 0..W {
                    total[l] += v[l];
                }
            }
            total
        }
        for (d, &[a, b, c]) in out.iter_mut().zip(&prog.ends) {
            let ins = sum(slots, &prog.flows[a as usize..b as usize]);
            let outs = sum(slots, &prog.flows[b as usize..c as usize]);
            for l in 0..W {
                d[l] = ins[l] - outs[l];
            }
        }
    }

    #[inline(always)]
    fn stage<const REF: bool>(&mut self, m: &CompiledModel, time: f64, h: f64) {
        for ((s, b), k) in m.stocks.iter().zip(&self.base).zip(&self.k) {
            let slot = &mut self.slots[s.slot as usize];
            for l in 0..W {
                slot[l] = b[l] + h * k[l];
            }
        }
        self.time = time;
        self.in_stage = true;
        self.run_step::<REF>(m);
        self.in_stage = false;
        Self::derivatives(m.reg_program(), &self.slots, &mut self.k);
    }

    /// Advance one dt with the run's method and compute the new time's
    /// values (a stepwise run's `RunState::step_once` then saves them).
    pub(crate) fn step_once(&mut self, m: &CompiledModel) {
        if self.reference {
            return self.step_once_body::<true>(m);
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU reports AVX2.
            unsafe { self.step_once_avx2(m) };
            return;
        }
        self.step_once_body::<false>(m);
    }

    /// [`Lanes::step_once`] with the lane loops compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn step_once_avx2(&mut self, m: &CompiledModel) {
        self.step_once_body::<false>(m);
    }

    #[inline(always)]
    fn step_once_body<const REF: bool>(&mut self, m: &CompiledModel) {
        let dt = self.grid.dt;
        let t0 = self.time;
        Self::derivatives(m.reg_program(), &self.slots, &mut self.k);
        if self.grid.method == Method::Euler {
            // Euler needs no copies: each stock moves by dt times its net
            // flow, exactly as the general path computes it.
            Self::advance(&m.stocks, &mut self.slots, None, &self.k, dt);
        } else {
            for (b, s) in self.base.iter_mut().zip(&m.stocks) {
                *b = self.slots[s.slot as usize];
            }
            self.acc.copy_from_slice(&self.k);
            let combine = |acc: &mut [V<W>], k: &[V<W>], f: fn(f64, f64) -> f64| {
                for (a, k) in acc.iter_mut().zip(k) {
                    for l in 0..W {
                        a[l] = f(a[l], k[l]);
                    }
                }
            };
            match self.grid.method {
                Method::Euler => {}
                Method::Rk2 => {
                    self.stage::<REF>(m, t0 + dt, dt);
                    combine(&mut self.acc, &self.k, |a, k| (a + k) / 2.0);
                }
                Method::Rk4 => {
                    self.stage::<REF>(m, t0 + dt / 2.0, dt / 2.0);
                    combine(&mut self.acc, &self.k, |a, k| a + 2.0 * k);
                    self.stage::<REF>(m, t0 + dt / 2.0, dt / 2.0);
                    combine(&mut self.acc, &self.k, |a, k| a + 2.0 * k);
                    self.stage::<REF>(m, t0 + dt, dt);
                    combine(&mut self.acc, &self.k, |a, k| (a + k) / 6.0);
                }
            }
            Self::advance(&m.stocks, &mut self.slots, Some(&self.base), &self.acc, dt);
        }
        Self::restrict(m, &mut self.slots);
        self.finish_step::<REF>(m);
    }

    /// Move each stock to `base + dt * rate` (its value before the step,
    /// or `base` when given: the Runge-Kutta stages moved it meanwhile),
    /// floored at 0 for a non-negative stock.
    #[inline(always)]
    fn advance(
        stocks: &[crate::compile::StockInfo],
        slots: &mut [V<W>],
        base: Option<&[V<W>]>,
        rate: &[V<W>],
        dt: f64,
    ) {
        for (i, (s, r)) in stocks.iter().zip(rate).enumerate() {
            let slot = &mut slots[s.slot as usize];
            let b = base.map_or(*slot, |b| b[i]);
            for l in 0..W {
                let v = b[l] + dt * r[l];
                slot[l] = if s.non_negative && v < 0.0 { 0.0 } else { v };
            }
        }
    }

    /// Vensim SINTEG's restrictions on the stocks that have them, once the
    /// step has moved every stock.
    #[inline(always)]
    fn restrict(m: &CompiledModel, slots: &mut [V<W>]) {
        for (slot, limits) in &m.limited {
            for v in slots[*slot as usize].iter_mut() {
                *v = limits.apply(*v);
            }
        }
    }

    /// After the stocks moved: advance the clock, compute the new time's
    /// values, record, and note whether every stock is still finite.
    #[inline(always)]
    fn finish_step<const REF: bool>(&mut self, m: &CompiledModel) {
        self.step += 1;
        self.time = self.seg_time + (self.step - self.seg_step) as f64 * self.grid.dt;
        self.run_step::<REF>(m);
        self.record::<REF>(m);
        self.finite = self.check_finite(m);
    }

    #[inline(always)]
    fn check_finite(&self, m: &CompiledModel) -> bool {
        let mut ok = true;
        for s in &m.stocks {
            let v = &self.slots[s.slot as usize];
            for l in 0..W {
                ok &= v[l].is_finite();
            }
        }
        ok
    }

    fn clock(&self) -> Clock {
        Clock {
            time: self.time,
            dt: self.grid.dt,
            start: self.grid.start,
            step: self.step,
            initializing: self.initializing,
            in_stage: self.in_stage,
        }
    }

    /// What the time-reading builtins (PULSE, STEP, ...) see this step.
    fn time_ctx(&self) -> TimeCtx {
        TimeCtx {
            time: self.time,
            dt: self.grid.dt,
            start: self.grid.start,
            stop: self.grid.stop,
            step_time: self.seg_time + (self.step - self.seg_step) as f64 * self.grid.dt,
        }
    }
}
