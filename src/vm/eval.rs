//! The interpreter loop: runs one segment of ops against a run's state.
//!
//! Kept apart from the integrators so the hot loop is small and readable.
//! The operand stack is a preallocated buffer sized by the compiler
//! (`max_stack`), so evaluating never allocates.

use crate::compile::builtins::{self, floor_mod, TimeCtx};
use crate::compile::program::{Op, Segment, StatefulKind, TableFn};
use crate::compile::CompiledModel;
use crate::vm::random;
use crate::vm::state::RunState;
use crate::vm::table::{lookup, table_fn};

#[inline]
fn b(x: bool) -> f64 {
    if x {
        1.0
    } else {
        0.0
    }
}

impl RunState {
    /// Run `seg`'s ops. Every segment ends by storing or recording its value.
    pub(crate) fn exec(&mut self, m: &CompiledModel, seg: Segment) {
        let code = &m.code[seg.start as usize..seg.end as usize];
        let mut sp = 0usize;
        // Moved out for the loop so stateful ops can borrow the rest of self.
        let mut stack = std::mem::take(&mut self.stack);
        macro_rules! pop {
            () => {{
                sp -= 1;
                stack[sp]
            }};
        }
        macro_rules! push {
            ($v:expr) => {{
                let v = $v;
                stack[sp] = v;
                sp += 1;
            }};
        }
        macro_rules! binop {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = pop!();
                let $a = pop!();
                push!($e);
            }};
        }
        for op in code {
            match *op {
                Op::Const(v) => push!(v),
                Op::Load(i) => push!(self.slots[i as usize]),
                Op::Store(i) => {
                    let v = pop!();
                    self.slots[i as usize] = v;
                }
                Op::Time => push!(self.time),
                Op::Dt => push!(self.dt),
                Op::Start => push!(self.start),
                Op::Stop => push!(self.stop),
                Op::Neg => {
                    let a = pop!();
                    push!(-a)
                }
                Op::Not => {
                    let a = pop!();
                    push!(b(a == 0.0))
                }
                Op::Add => binop!(|x, y| x + y),
                Op::Sub => binop!(|x, y| x - y),
                Op::Mul => binop!(|x, y| x * y),
                Op::Div => binop!(|x, y| x / y),
                Op::Pow => binop!(|x, y| x.powf(y)),
                Op::Mod => binop!(|x, y| floor_mod(x, y)),
                Op::Eq => binop!(|x, y| b(x == y)),
                Op::Neq => binop!(|x, y| b(x != y)),
                Op::Lt => binop!(|x, y| b(x < y)),
                Op::Le => binop!(|x, y| b(x <= y)),
                Op::Gt => binop!(|x, y| b(x > y)),
                Op::Ge => binop!(|x, y| b(x >= y)),
                Op::And => binop!(|x, y| b(x != 0.0 && y != 0.0)),
                Op::Or => binop!(|x, y| b(x != 0.0 || y != 0.0)),
                Op::Select => {
                    let e = pop!();
                    let t = pop!();
                    let c = pop!();
                    push!(if c != 0.0 { t } else { e })
                }
                Op::Call(f, n) => {
                    let n = n as usize;
                    sp -= n;
                    let ctx = TimeCtx {
                        time: self.time,
                        dt: self.dt,
                        start: self.start,
                        stop: self.stop,
                        step_time: self.start + self.step as f64 * self.dt,
                    };
                    let v = builtins::eval(f, &stack[sp..sp + n], ctx);
                    push!(v)
                }
                Op::Lookup(t) => {
                    let x = pop!();
                    push!(lookup(&self.tables[t as usize], x))
                }
                Op::TableFn(t, f) => {
                    let x2 = if f == TableFn::Area { pop!() } else { 0.0 };
                    let x = pop!();
                    push!(table_fn(&self.tables[t as usize], f, x, x2))
                }
                Op::Stateful(id, n) => {
                    let n = n as usize;
                    sp -= n;
                    // Stateful ops take at most six arguments.
                    let mut args = [0.0; 8];
                    let n = n.min(8);
                    args[..n].copy_from_slice(&stack[sp..sp + n]);
                    let v = self.stateful(m, id as usize, &args[..n]);
                    push!(v)
                }
                Op::Record(id) => {
                    let v = pop!();
                    let id = id as usize;
                    match m.stateful[id] {
                        StatefulKind::Previous => self.state[id] = v,
                        StatefulKind::Delay | StatefulKind::DelayFixed => self.history[id].push(v),
                        StatefulKind::SampleIfTrue => self.state[id] = v,
                        _ => {}
                    }
                }
            }
        }
        self.stack = stack;
    }

    fn stateful(&mut self, m: &CompiledModel, id: usize, args: &[f64]) -> f64 {
        let arg = |i: usize| args.get(i).copied().unwrap_or(0.0);
        match m.stateful[id] {
            StatefulKind::Previous | StatefulKind::Init => {
                if self.initializing {
                    self.state[id] = arg(0);
                    arg(0)
                } else {
                    self.state[id]
                }
            }
            StatefulKind::Delay => {
                if self.initializing {
                    self.state[id] = arg(0);
                    return arg(0);
                }
                self.delayed(id, arg(0))
            }
            StatefulKind::DelayFixed => {
                if self.initializing {
                    // Vensim DELAY FIXED: the delay is read once, at the
                    // initial time, and rounded to whole steps (at least one).
                    self.state[id] = arg(0);
                    let steps = (arg(1) / self.dt).round();
                    self.aux[id] = if steps.is_finite() {
                        steps.max(1.0)
                    } else {
                        1.0
                    };
                    return arg(0);
                }
                let lag = self.aux[id] as u64;
                match self.step.checked_sub(lag) {
                    Some(k) => self.history[id]
                        .get(k as usize)
                        .copied()
                        .unwrap_or(self.state[id]),
                    None => self.state[id],
                }
            }
            StatefulKind::SampleIfTrue => {
                if self.initializing {
                    let v = if arg(0) != 0.0 { arg(1) } else { arg(2) };
                    self.state[id] = v;
                    return v;
                }
                if arg(0) != 0.0 {
                    arg(1)
                } else {
                    self.state[id]
                }
            }
            StatefulKind::Random(kind) => {
                let seed = if args.len() > kind.params() {
                    if kind.is_vensim() {
                        random::vensim_seed(self.seed, arg(kind.params()))
                    } else {
                        arg(kind.params()) as u64
                    }
                } else {
                    self.seed
                };
                random::draw(
                    kind,
                    &args[..kind.params().min(args.len())],
                    seed,
                    id as u64,
                    self.step,
                )
            }
        }
    }

    /// The recorded input of DELAY op `id` at `time - delay`, linearly
    /// interpolated between saved steps; its initial value before the start.
    fn delayed(&self, id: usize, delay: f64) -> f64 {
        let hist = &self.history[id];
        let pos = (self.time - delay - self.start) / self.dt;
        if pos < -1e-9 || hist.is_empty() {
            return self.state[id];
        }
        let pos = pos.max(0.0);
        let i0 = (pos + 1e-9).floor() as usize;
        if i0 + 1 >= hist.len() {
            return hist[hist.len() - 1];
        }
        let frac = pos - i0 as f64;
        if frac < 1e-9 {
            hist[i0]
        } else {
            hist[i0] + (hist[i0 + 1] - hist[i0]) * frac
        }
    }
}
