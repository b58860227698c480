//! A run's step program with the run's constants folded in.
//!
//! Models choose between formulations with constants: `IF THEN ELSE(switch
//! = 1, a, b)`, and Vensim's `VECTOR SELECT(..., VSSUM, ...)` names its
//! action by a constant (`VSSUM == 0`), so its expansion computes all eleven
//! actions and picks one with a chain of selects. The step program is
//! shared by every run of the model, where such a constant may be
//! overridden, so it evaluates every branch at every step: on C-LEARN about
//! half of the per-step work is branches no run of the default scenario
//! takes.
//!
//! Once a run's constants are computed (after its overrides, at the initial
//! time) they cannot change until the run ends, so this pass rewrites the
//! step program for that run:
//!
//! 1. **fold**: an operation whose operands are all known (constants, DT,
//!    INITIAL and FINAL TIME, or results folded before it) becomes a copy of
//!    its value; a select whose condition is known becomes a copy of the
//!    chosen branch;
//! 2. **drop dead code**: backwards over the result, an operation that only
//!    feeds temporaries nobody reads any more is removed (stateful
//!    operations are always kept: they update their state).
//!
//! Every kept operation is the same float operation on the same operands,
//! and a folded one was computed here by the same operation, so a run's
//! numbers are bit-identical with and without the pass (the tests compare
//! bits).

use std::collections::HashMap;

use crate::compile::builtins::{self, trunc_mod, Builtin, TimeCtx};

use super::regs::{ROp, Reg, RegProgram};

/// The folded step program of one run (or batch of lanes) and the values of
/// the registers it adds, numbered from the `first_new` given to [`fold`].
pub(crate) struct Folded {
    pub step: Vec<ROp>,
    pub consts: Vec<f64>,
}

fn b(x: bool) -> f64 {
    if x {
        1.0
    } else {
        0.0
    }
}

/// The value `op` computes when its operands are `known`, for operations
/// that read nothing else (no time, table, state or lane).
fn value_of(op: &ROp, known: &[Option<f64>]) -> Option<f64> {
    let k = |r: &Reg| known.get(*r as usize).copied().flatten();
    let bin = |a: &Reg, c: &Reg, f: fn(f64, f64) -> f64| Some(f(k(a)?, k(c)?));
    match op {
        ROp::Mov(_, a) => k(a),
        ROp::Neg(_, a) => Some(-k(a)?),
        ROp::Not(_, a) => Some(b(k(a)? == 0.0)),
        ROp::Add(_, a, c) => bin(a, c, |x, y| x + y),
        ROp::Sub(_, a, c) => bin(a, c, |x, y| x - y),
        ROp::Mul(_, a, c) => bin(a, c, |x, y| x * y),
        ROp::Div(_, a, c) => bin(a, c, |x, y| x / y),
        ROp::Pow(_, a, c) => bin(a, c, f64::powf),
        ROp::Mod(_, a, c) => bin(a, c, trunc_mod),
        ROp::Eq(_, a, c) => bin(a, c, |x, y| b(x == y)),
        ROp::Neq(_, a, c) => bin(a, c, |x, y| b(x != y)),
        ROp::Lt(_, a, c) => bin(a, c, |x, y| b(x < y)),
        ROp::Le(_, a, c) => bin(a, c, |x, y| b(x <= y)),
        ROp::Gt(_, a, c) => bin(a, c, |x, y| b(x > y)),
        ROp::Ge(_, a, c) => bin(a, c, |x, y| b(x >= y)),
        ROp::And(_, a, c) => bin(a, c, |x, y| b(x != 0.0 && y != 0.0)),
        ROp::Or(_, a, c) => bin(a, c, |x, y| b(x != 0.0 || y != 0.0)),
        ROp::Select(_, c, t, e) => {
            if k(c)? != 0.0 {
                k(t)
            } else {
                k(e)
            }
        }
        ROp::Call(_, f, args)
            if !f.reads_time() && args.len() <= crate::compile::program::MAX_CALL_ARGS =>
        {
            let mut vals = [0.0; crate::compile::program::MAX_CALL_ARGS];
            for (v, a) in vals.iter_mut().zip(args.iter()) {
                *v = k(a)?;
            }
            // The time context is unused by builtins that do not read time.
            let ctx = TimeCtx {
                time: f64::NAN,
                dt: f64::NAN,
                start: f64::NAN,
                stop: f64::NAN,
                step_time: f64::NAN,
            };
            Some(builtins::eval(*f, &vals[..args.len()], ctx))
        }
        _ => None,
    }
}

/// The branch a select (or `IF_THEN_ELSE` call) with a known condition
/// takes: `(destination, chosen register)`.
fn chosen_branch(op: &ROp, known: &[Option<f64>]) -> Option<(Reg, Reg)> {
    let k = |r: Reg| known.get(r as usize).copied().flatten();
    let (d, c, t, e) = match op {
        ROp::Select(d, c, t, e) => (*d, *c, *t, *e),
        ROp::Call(d, Builtin::IfThenElse, args) if args.len() == 3 => {
            (*d, args[0], args[1], args[2])
        }
        _ => return None,
    };
    Some((d, if k(c)? != 0.0 { t } else { e }))
}

/// Call `f` on every register `op` reads.
pub(super) fn for_each_source(op: &ROp, mut f: impl FnMut(Reg)) {
    use ROp::*;
    match op {
        Mov(_, a) | Neg(_, a) | Not(_, a) | Lookup(_, _, a) | Record(_, a) => f(*a),
        Add(_, a, c)
        | Sub(_, a, c)
        | Mul(_, a, c)
        | Div(_, a, c)
        | Pow(_, a, c)
        | Mod(_, a, c)
        | Eq(_, a, c)
        | Neq(_, a, c)
        | Lt(_, a, c)
        | Le(_, a, c)
        | Gt(_, a, c)
        | Ge(_, a, c)
        | And(_, a, c)
        | Or(_, a, c)
        | TableFn(_, _, _, a, c) => {
            f(*a);
            f(*c);
        }
        Select(_, c, t, e) => {
            f(*c);
            f(*t);
            f(*e);
        }
        Call(_, _, args) | Stateful(_, _, args) => args.iter().copied().for_each(f),
        // Folding runs before runs are formed; a run's temporaries are its
        // own registers, so it reads no temporary of the program.
        Each(_) => {}
    }
}

/// Rewrite `prog.step` for a run whose registers hold `known` values for the
/// whole run (indexed by register; `None` = varies). New constant
/// registers are numbered from `first_new`. `None` when nothing folds, so
/// the run keeps the shared program.
pub(crate) fn fold(prog: &RegProgram, known: &[Option<f64>], first_new: usize) -> Option<Folded> {
    let mut known = known.to_vec();
    known.resize(known.len().max(prog.n_regs), None);
    let mut pool: HashMap<u64, Reg> = prog
        .consts
        .iter()
        .enumerate()
        .map(|(i, c)| (c.to_bits(), (prog.const_base + i) as Reg))
        .collect();
    let mut consts = Vec::new();
    let mut changed = false;
    let mut out = Vec::with_capacity(prog.step.len());
    for op in &prog.step {
        let d = op.dest();
        if !matches!(op, ROp::Mov(..) | ROp::Stateful(..) | ROp::Record(..)) {
            if let (Some(d), Some(v)) = (d, value_of(op, &known)) {
                let r = *pool.entry(v.to_bits()).or_insert_with(|| {
                    consts.push(v);
                    (first_new + consts.len() - 1) as Reg
                });
                out.push(ROp::Mov(d, r));
                known[d as usize] = Some(v);
                changed = true;
                continue;
            }
            if let Some((d, from)) = chosen_branch(op, &known) {
                out.push(ROp::Mov(d, from));
                known[d as usize] = known[from as usize];
                changed = true;
                continue;
            }
        }
        if let Some(d) = d {
            known[d as usize] = match op {
                ROp::Mov(_, a) => known[*a as usize],
                _ => None,
            };
        }
        out.push(op.clone());
    }
    if !changed {
        return None;
    }
    Some(Folded {
        step: drop_dead(out, prog.temp_base, prog.const_base),
        consts,
    })
}

/// Remove operations whose result is a temporary (`temps`) that nothing
/// reads afterwards. Temporaries are stack positions, always written before
/// they are read within one program, so none is live when it ends; every
/// other register (variables, constants, time) is kept.
fn drop_dead(code: Vec<ROp>, temp_base: usize, const_base: usize) -> Vec<ROp> {
    let temp = |r: Reg| (temp_base..const_base).contains(&(r as usize));
    let mut live = vec![false; const_base - temp_base];
    let mut keep = vec![true; code.len()];
    for (i, op) in code.iter().enumerate().rev() {
        let effects = matches!(op, ROp::Stateful(..) | ROp::Record(..));
        if let Some(d) = op.dest().filter(|&d| temp(d)) {
            let slot = &mut live[d as usize - temp_base];
            if !*slot && !effects {
                keep[i] = false;
                continue;
            }
            *slot = false;
        }
        for_each_source(op, |s| {
            if temp(s) {
                live[s as usize - temp_base] = true;
            }
        });
    }
    code.into_iter()
        .zip(keep)
        .filter_map(|(op, k)| k.then_some(op))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::lanes::{LaneInputs, Lanes};
    use super::super::{sweep, Param, ParamValues, Progress, SweepOptions};
    use crate::vm::{Override, RunOptions, Sim};
    use crate::CompiledModel;
    use std::sync::Arc;

    /// Switch constants in front of every foldable operation, a Vensim
    /// VECTOR SELECT whose action is an unchangeable constant, and
    /// builtins that must not fold (time) or cannot (stateful, lookups).
    const SWITCHED: &str = "\
        Region: (r1-r3) ~~|\n\
        VSSUM == 0 ~~|\n\
        VSMAX == 3 ~~|\n\
        switch = 1 ~~|\n\
        mode = 0 ~~|\n\
        rate = 0.1 ~~|\n\
        chosen[Region] = 1, 0, 1 ~~|\n\
        x = INTEG(growth, 1) ~~|\n\
        growth = IF THEN ELSE(switch = 1, x * rate, x ^ 0.5 - MIN(rate, 2)) ~~|\n\
        y[Region] = x * (1 + Region - switch) ~~|\n\
        total = VECTOR SELECT(chosen[Region!], y[Region!], 0, VSSUM, 0) ~~|\n\
        biggest = VECTOR SELECT(chosen[Region!], y[Region!], 0, VSMAX * switch, 0) ~~|\n\
        mix = ROUND(rate * 10) + MAX(switch, mode) + ZIDZ(switch, mode) \
            + XIDZ(1, mode, 7) + (switch <> mode) + IF THEN ELSE(mode, TIME, -TIME) \
            + EXP(rate) + LN(2) + MODULO(7, 3) - (-switch) + (rate ^ switch) / 4 \
            + (switch >= mode) * (mode <= switch) * (rate < 1) * (rate > 0) \
            + (switch = 1 :AND: mode = 0) + (switch = 0 :OR: mode = 1) \
            + (:NOT: switch) + x ~~|\n\
        stepped = STEP(switch * 5, 2 * switch) + RAMP(rate, 1, 3) + x ~~|\n\
        smoothed = SMOOTH(x * switch, 2) ~~|\n\
        shaped = shape(x * switch) ~~|\n\
        shape((0,0),(10,1),(100,2)) ~~|\n\
        INITIAL TIME = 0 ~~|\nFINAL TIME = 8 ~~|\nTIME STEP = 0.25 ~~|\nSAVEPER = 0.5 ~~|\n";

    fn model() -> Arc<CompiledModel> {
        let project = crate::load_mdl(SWITCHED).expect("loads");
        Arc::new(CompiledModel::new(&project, None).expect("compiles"))
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn with(switch: f64, mode: f64, method: crate::ir::Method) -> RunOptions {
        RunOptions {
            overrides: vec![
                ("switch".into(), Override::Value(switch)),
                ("mode".into(), Override::Value(mode)),
            ],
            method: Some(method),
            ..RunOptions::default()
        }
    }

    #[test]
    fn folded_runs_equal_the_reference_program_bit_for_bit() {
        let m = model();
        use crate::ir::Method::*;
        for (switch, mode) in [(1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (2.0, f64::NAN)] {
            for method in [Euler, Rk2, Rk4] {
                let opts = with(switch, mode, method);
                let fast = m.run(&opts).expect("runs");
                let mut sim = Sim::new_reference(m.clone(), &opts).expect("sim");
                sim.run_to_end().expect("sim runs");
                let slow = sim.into_results();
                assert_eq!(fast.names, slow.names);
                for (name, (a, b)) in fast
                    .names
                    .iter()
                    .zip(fast.columns.iter().zip(&slow.columns))
                {
                    assert_eq!(bits(a), bits(b), "{name}, switch {switch}, mode {mode}");
                }
            }
        }
    }

    #[test]
    fn a_run_runs_fewer_operations_once_its_switches_are_known() {
        let m = model();
        let prog = m.reg_program();
        let grid = crate::vm::state::TimeGrid::resolve(&m, &RunOptions::default()).expect("grid");
        let ops = |fold: bool, values: &[(u32, f64)]| {
            let lanes = Lanes::<1>::new(&m, grid);
            let mut lanes = if fold { lanes.folding() } else { lanes };
            lanes.load(
                &m,
                &[LaneInputs {
                    values,
                    tables: &[],
                    seed: 0,
                }],
            );
            lanes.initialize(&m);
            lanes.step_ops(&m)
        };
        let switch = m.slot("switch").expect("switch") as u32;
        let shared = ops(false, &[]);
        assert_eq!(shared, prog.step.len());
        let folded = ops(true, &[]);
        // The eleven actions of each VECTOR SELECT, the untaken branch of
        // `growth` and every operation of constants in `mix` go.
        assert!(folded * 2 < shared, "{folded} of {shared} operations kept");
        // Another value of the switch folds too (to another program).
        assert!(ops(true, &[(switch, 0.0)]) < shared);
    }

    #[test]
    fn lanes_that_disagree_on_a_switch_keep_both_branches() {
        // A sweep over the switch: batches mix its values, so it cannot be
        // folded there; every row must still equal its single run.
        let m = model();
        let n = 11;
        let p = vec![Param {
            name: "switch".into(),
            values: ParamValues::Numbers((0..n).map(|r| (r % 3) as f64).collect()),
        }];
        let outputs: Vec<String> = ["x", "growth", "total", "biggest", "mix"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let opts = SweepOptions {
            outputs: Some(outputs.clone()),
            ..SweepOptions::default()
        };
        let res = sweep(&m, n, &p, &opts, &Progress::new()).expect("sweep runs");
        let nt = res.times.len();
        for r in 0..n {
            let single = m
                .run(&RunOptions {
                    overrides: vec![("switch".into(), Override::Value((r % 3) as f64))],
                    outputs: Some(outputs.clone()),
                    ..RunOptions::default()
                })
                .expect("single run");
            for (o, name) in outputs.iter().enumerate() {
                let swept: Vec<f64> = (0..nt)
                    .map(|t| res.values[(r * nt + t) * outputs.len() + o])
                    .collect();
                let col = single.column(name).expect("column");
                assert_eq!(bits(&swept), bits(col), "row {r}, {name}");
            }
        }
    }
}
