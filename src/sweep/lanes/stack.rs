//! The stack interpreter: the compiler's ops as emitted, on every lane.
//! It runs the initial phase (once per batch) and, in reference mode
//! ([`Lanes::set_reference`]), every step: the plain reading of the
//! program that the register form is tested against.

// Lane loops index by the lane number on purpose (see `super`).
#![allow(clippy::needless_range_loop)]

use crate::compile::builtins::{self, trunc_mod};
use crate::compile::program::{Op, Segment};
use crate::compile::CompiledModel;
use crate::vm::stateful::{self, Cells};
use crate::vm::table::{lookup, table_fn};

use super::{b, Lanes};

impl<const W: usize> Lanes<W> {
    /// Run `seg`'s ops on every lane (the initial phase, once per batch).
    pub(super) fn exec(&mut self, m: &CompiledModel, seg: Segment) {
        let code = &m.code[seg.start as usize..seg.end as usize];
        let mut sp = 0usize;
        let mut stack = std::mem::take(&mut self.stack);
        macro_rules! unop {
            (|$a:ident| $e:expr) => {{
                let top = &mut stack[sp - 1];
                for l in 0..W {
                    let $a = top[l];
                    top[l] = $e;
                }
            }};
        }
        macro_rules! binop {
            (|$a:ident, $b:ident| $e:expr) => {{
                sp -= 1;
                let rhs = stack[sp];
                let lhs = &mut stack[sp - 1];
                for l in 0..W {
                    let $a = lhs[l];
                    let $b = rhs[l];
                    lhs[l] = $e;
                }
            }};
        }
        for op in code {
            match *op {
                Op::Const(v) => {
                    stack[sp] = [v; W];
                    sp += 1;
                }
                Op::Load(i) => {
                    stack[sp] = self.slots[i as usize];
                    sp += 1;
                }
                Op::Store(i) => {
                    sp -= 1;
                    self.slots[i as usize] = stack[sp];
                }
                Op::Time => {
                    stack[sp] = [self.time; W];
                    sp += 1;
                }
                Op::Dt => {
                    stack[sp] = [self.grid.dt; W];
                    sp += 1;
                }
                Op::Start => {
                    stack[sp] = [self.grid.start; W];
                    sp += 1;
                }
                Op::Stop => {
                    stack[sp] = [self.grid.stop; W];
                    sp += 1;
                }
                Op::Neg => unop!(|a| -a),
                Op::Not => unop!(|a| b(a == 0.0)),
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
                    sp -= 2;
                    let t = stack[sp];
                    let e = stack[sp + 1];
                    let c = &mut stack[sp - 1];
                    for l in 0..W {
                        c[l] = if c[l] != 0.0 { t[l] } else { e[l] };
                    }
                }
                Op::Call(f, n) => {
                    let n = n as usize;
                    sp -= n;
                    let ctx = self.time_ctx();
                    let mut out = [0.0; W];
                    for (l, o) in out.iter_mut().enumerate() {
                        for j in 0..n {
                            self.args[j] = stack[sp + j][l];
                        }
                        *o = builtins::eval(f, &self.args[..n], ctx);
                    }
                    stack[sp] = out;
                    sp += 1;
                }
                Op::Lookup(t) => {
                    let top = &mut stack[sp - 1];
                    let t = t as usize * W;
                    for l in 0..W {
                        top[l] = lookup(&self.tables[t + l], top[l]);
                    }
                }
                Op::TableFn(t, f) => {
                    let x2 = if f.two_inputs() {
                        sp -= 1;
                        stack[sp]
                    } else {
                        [0.0; W]
                    };
                    let top = &mut stack[sp - 1];
                    let t = t as usize * W;
                    for l in 0..W {
                        top[l] = table_fn(&self.tables[t + l], f, top[l], x2[l]);
                    }
                }
                Op::Stateful(id, n) => {
                    let n = n as usize;
                    sp -= n;
                    // Stateful ops take at most six arguments.
                    let n = n.min(8);
                    let id = id as usize;
                    let kind = m.stateful[id];
                    let clock = self.clock();
                    let mut out = [0.0; W];
                    for (l, o) in out.iter_mut().enumerate() {
                        let mut args = [0.0; 8];
                        for (j, a) in args.iter_mut().enumerate().take(n) {
                            *a = stack[sp + j][l];
                        }
                        let i = id * W + l;
                        let cells = Cells {
                            state: &mut self.state[i],
                            aux: &mut self.aux[i],
                            history: &self.history[i],
                        };
                        *o = stateful::eval(kind, id, &args[..n], &clock, self.seeds[l], cells);
                    }
                    stack[sp] = out;
                    sp += 1;
                }
                Op::Record(id) => {
                    sp -= 1;
                    let v = stack[sp];
                    let id = id as usize;
                    let kind = m.stateful[id];
                    for (l, &v) in v.iter().enumerate() {
                        let i = id * W + l;
                        stateful::record(kind, v, &mut self.state[i], &mut self.history[i]);
                    }
                }
            }
        }
        self.stack = stack;
    }
}
