//! The interpreter loop: runs one segment of ops against a run's state.
//!
//! Kept apart from the integrators so the hot loop is small and readable.
//! The operand stack is a preallocated buffer sized by the compiler
//! (`max_stack`), so evaluating never allocates.

use crate::compile::builtins::{self, trunc_mod, TimeCtx};
use crate::compile::program::{Op, Segment};
use crate::compile::CompiledModel;
use crate::vm::state::RunState;
use crate::vm::stateful::{self, Cells, Clock};
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
                Op::Mod => binop!(|x, y| trunc_mod(x, y)),
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
                        step_time: self.step_time(),
                    };
                    let v = builtins::eval(f, &stack[sp..sp + n], ctx);
                    push!(v)
                }
                Op::Lookup(t) => {
                    let x = pop!();
                    push!(lookup(&self.tables[t as usize], x))
                }
                Op::TableFn(t, f) => {
                    let x2 = if f.two_inputs() { pop!() } else { 0.0 };
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
                    stateful::record(
                        m.stateful[id],
                        v,
                        &mut self.state[id],
                        &mut self.history[id],
                    );
                }
            }
        }
        self.stack = stack;
    }

    fn stateful(&mut self, m: &CompiledModel, id: usize, args: &[f64]) -> f64 {
        let clock = Clock {
            time: self.time,
            dt: self.dt,
            start: self.start,
            step: self.step,
            initializing: self.initializing,
            in_stage: self.in_stage,
        };
        let cells = Cells {
            state: &mut self.state[id],
            aux: &mut self.aux[id],
            history: &self.history[id],
        };
        stateful::eval(m.stateful[id], id, args, &clock, self.seed, cells)
    }
}
