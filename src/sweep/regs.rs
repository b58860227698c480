//! The per-step program rewritten from stack code to register code, once per
//! sweep, for the batched engine.
//!
//! In the stack machine every `Load` copies a slot onto the stack and every
//! `Store` copies it back; with `W` lanes each copy moves `W` numbers. Here
//! the operand stack is tracked symbolically while translating: a `Load`
//! becomes a reference to the slot's register, a constant a reference to a
//! pooled constant register, and each operation reads its operands where
//! they live and writes its result either to the temporary register of its
//! stack position or, when a `Store` follows at once, straight into the
//! variable's slot. The operations and their order per lane are unchanged,
//! so results stay bit-identical to the stack code run as compiled (the
//! reference `Sim`, `tests/one_engine.rs`).

use crate::compile::builtins::Builtin;
use crate::compile::program::{Op, Segment, TableFn};
use crate::compile::CompiledModel;

/// Register numbers: slots first (`0..vars`), then one temporary per stack
/// position, then pooled constants, then TIME, DT, STARTTIME, STOPTIME.
pub(crate) type Reg = u32;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ROp {
    Mov(Reg, Reg),
    Neg(Reg, Reg),
    Not(Reg, Reg),
    Add(Reg, Reg, Reg),
    Sub(Reg, Reg, Reg),
    Mul(Reg, Reg, Reg),
    Div(Reg, Reg, Reg),
    Pow(Reg, Reg, Reg),
    Mod(Reg, Reg, Reg),
    Eq(Reg, Reg, Reg),
    Neq(Reg, Reg, Reg),
    Lt(Reg, Reg, Reg),
    Le(Reg, Reg, Reg),
    Gt(Reg, Reg, Reg),
    Ge(Reg, Reg, Reg),
    And(Reg, Reg, Reg),
    Or(Reg, Reg, Reg),
    /// dst, cond, then, else.
    Select(Reg, Reg, Reg, Reg),
    /// dst, builtin, argument registers.
    Call(Reg, Builtin, Box<[Reg]>),
    /// dst, table, x.
    Lookup(Reg, u32, Reg),
    /// dst, table, function, x, x2 (x2 only for AREA).
    TableFn(Reg, u32, TableFn, Reg, Reg),
    /// dst, stateful op, argument registers.
    Stateful(Reg, u32, Box<[Reg]>),
    /// stateful op, value.
    Record(u32, Reg),
    /// One equation's blocks over an array's elements, run operation by
    /// operation across the elements (see [`super::each`]).
    Each(Box<super::each::Each>),
}

/// The step and record programs in register form, and the register layout.
pub(crate) struct RegProgram {
    pub step: Vec<ROp>,
    /// `step` with its runs over array elements as [`ROp::Each`], when it
    /// has any (what an unfolded run executes).
    pub step_each: Option<Vec<ROp>>,
    /// Registers the runs' temporaries take, from `n_regs`.
    pub each_regs: usize,
    pub record: Vec<ROp>,
    /// Values of the constant registers, from `const_base`.
    pub consts: Vec<f64>,
    /// The first temporary (one per stack position, up to `const_base`).
    pub temp_base: usize,
    pub const_base: usize,
    /// TIME's register; DT, STARTTIME, STOPTIME follow it.
    pub time_reg: usize,
    pub n_regs: usize,
    /// Every stock's flows in one list: stock `k`'s inflows are
    /// `flows[ends[k][0]..ends[k][1]]` and its outflows
    /// `flows[ends[k][1]..ends[k][2]]` (one array to walk instead of two
    /// vectors per stock).
    pub flows: Vec<u32>,
    pub ends: Vec<[u32; 3]>,
}

impl RegProgram {
    pub(crate) fn new(m: &CompiledModel) -> RegProgram {
        let n = m.vars.len();
        let temp_base = n;
        let const_base = n + m.max_stack;
        let mut consts = Vec::new();
        // TIME and friends are placed after the constants, whose count is
        // known only after translating: use placeholders and patch.
        const TIME_MARK: Reg = Reg::MAX - 3;
        let step = translate(m, m.step_range, temp_base, const_base, &mut consts);
        let record = translate(m, m.record_range, temp_base, const_base, &mut consts);
        let time_reg = const_base + consts.len();
        let patch = |r: &mut Reg| {
            if *r >= TIME_MARK {
                *r = (time_reg + (*r - TIME_MARK) as usize) as Reg;
            }
        };
        let mut step = step;
        let mut record = record;
        for op in step.iter_mut().chain(record.iter_mut()) {
            for_each_reg(op, patch);
        }
        let mut flows = Vec::new();
        let mut ends = Vec::with_capacity(m.stocks.len());
        for s in &m.stocks {
            let start = flows.len() as u32;
            flows.extend(&s.inflows);
            let mid = flows.len() as u32;
            flows.extend(&s.outflows);
            ends.push([start, mid, flows.len() as u32]);
        }
        let n_regs = time_reg + 4;
        let (step_each, each_regs) =
            match super::each::vectorize(&step, temp_base..const_base, n_regs) {
                Some((code, extra)) => (Some(code), extra),
                None => (None, 0),
            };
        RegProgram {
            step,
            step_each,
            each_regs,
            record,
            flows,
            ends,
            consts,
            temp_base,
            const_base,
            time_reg,
            n_regs,
        }
    }
}

/// Call `f` on every register `op` names, its destination first.
pub(crate) fn for_each_reg(op: &mut ROp, mut f: impl FnMut(&mut Reg)) {
    visit_regs(op, &mut f);
}

fn visit_regs(op: &mut ROp, f: &mut dyn FnMut(&mut Reg)) {
    use ROp::*;
    match op {
        Mov(d, a) | Neg(d, a) | Not(d, a) => {
            f(d);
            f(a);
        }
        Add(d, a, b)
        | Sub(d, a, b)
        | Mul(d, a, b)
        | Div(d, a, b)
        | Pow(d, a, b)
        | Mod(d, a, b)
        | Eq(d, a, b)
        | Neq(d, a, b)
        | Lt(d, a, b)
        | Le(d, a, b)
        | Gt(d, a, b)
        | Ge(d, a, b)
        | And(d, a, b)
        | Or(d, a, b) => {
            f(d);
            f(a);
            f(b);
        }
        Select(d, c, t, e) => {
            f(d);
            f(c);
            f(t);
            f(e);
        }
        Call(d, _, args) | Stateful(d, _, args) => {
            f(d);
            args.iter_mut().for_each(&mut *f);
        }
        Lookup(d, _, x) => {
            f(d);
            f(x);
        }
        TableFn(d, _, _, x, x2) => {
            f(d);
            f(x);
            f(x2);
        }
        Record(_, x) => f(x),
        Each(e) => {
            for (op, _) in e.ops.iter_mut() {
                visit_regs(op, f);
            }
        }
    }
}

fn translate(
    m: &CompiledModel,
    seg: Segment,
    temp_base: usize,
    const_base: usize,
    consts: &mut Vec<f64>,
) -> Vec<ROp> {
    const TIME_MARK: Reg = Reg::MAX - 3;
    let code = &m.code[seg.start as usize..seg.end as usize];
    let mut out: Vec<ROp> = Vec::with_capacity(code.len());
    // The symbolic operand stack: which register holds each position.
    let mut stack: Vec<Reg> = Vec::new();
    let temp = |pos: usize| (temp_base + pos) as Reg;
    let mut constant = |v: f64| -> Reg {
        // Pool by bit pattern so equal constants share a register.
        let i = match consts.iter().position(|c| c.to_bits() == v.to_bits()) {
            Some(i) => i,
            None => {
                consts.push(v);
                consts.len() - 1
            }
        };
        (const_base + i) as Reg
    };
    macro_rules! bin {
        ($variant:ident) => {{
            let b = stack.pop().unwrap_or(0);
            let a = stack.pop().unwrap_or(0);
            let d = temp(stack.len());
            out.push(ROp::$variant(d, a, b));
            stack.push(d);
        }};
    }
    macro_rules! un {
        ($variant:ident) => {{
            let a = stack.pop().unwrap_or(0);
            let d = temp(stack.len());
            out.push(ROp::$variant(d, a));
            stack.push(d);
        }};
    }
    for op in code {
        match *op {
            Op::Const(v) => {
                let r = constant(v);
                stack.push(r);
            }
            Op::Load(i) => stack.push(i),
            Op::Time => stack.push(TIME_MARK),
            Op::Dt => stack.push(TIME_MARK + 1),
            Op::Start => stack.push(TIME_MARK + 2),
            Op::Stop => stack.push(TIME_MARK + 3),
            Op::Store(i) => {
                let x = stack.pop().unwrap_or(0);
                // A pending reference to the slot being overwritten must
                // keep the old value: copy it to its temporary first.
                for (pos, entry) in stack.iter_mut().enumerate() {
                    if *entry == i {
                        out.push(ROp::Mov(temp(pos), i));
                        *entry = temp(pos);
                    }
                }
                let top = temp(stack.len());
                let fused = x == top
                    && match out.last_mut() {
                        Some(last) => retarget(last, top, i),
                        None => false,
                    };
                if !fused {
                    out.push(ROp::Mov(i, x));
                }
            }
            Op::Neg => un!(Neg),
            Op::Not => un!(Not),
            Op::Add => bin!(Add),
            Op::Sub => bin!(Sub),
            Op::Mul => bin!(Mul),
            Op::Div => bin!(Div),
            Op::Pow => bin!(Pow),
            Op::Mod => bin!(Mod),
            Op::Eq => bin!(Eq),
            Op::Neq => bin!(Neq),
            Op::Lt => bin!(Lt),
            Op::Le => bin!(Le),
            Op::Gt => bin!(Gt),
            Op::Ge => bin!(Ge),
            Op::And => bin!(And),
            Op::Or => bin!(Or),
            Op::Select => {
                let e = stack.pop().unwrap_or(0);
                let t = stack.pop().unwrap_or(0);
                let c = stack.pop().unwrap_or(0);
                let d = temp(stack.len());
                out.push(ROp::Select(d, c, t, e));
                stack.push(d);
            }
            Op::Call(f, n) => {
                let args = stack.split_off(stack.len().saturating_sub(n as usize));
                let d = temp(stack.len());
                out.push(ROp::Call(d, f, args.into_boxed_slice()));
                stack.push(d);
            }
            Op::Lookup(t) => {
                let x = stack.pop().unwrap_or(0);
                let d = temp(stack.len());
                out.push(ROp::Lookup(d, t, x));
                stack.push(d);
            }
            Op::TableFn(t, f) => {
                let x2 = if f.two_inputs() {
                    stack.pop().unwrap_or(0)
                } else {
                    constant(0.0)
                };
                let x = stack.pop().unwrap_or(0);
                let d = temp(stack.len());
                out.push(ROp::TableFn(d, t, f, x, x2));
                stack.push(d);
            }
            Op::Stateful(id, n) => {
                let args = stack.split_off(stack.len().saturating_sub(n as usize));
                let d = temp(stack.len());
                out.push(ROp::Stateful(d, id, args.into_boxed_slice()));
                stack.push(d);
            }
            Op::Record(id) => {
                let x = stack.pop().unwrap_or(0);
                out.push(ROp::Record(id, x));
            }
        }
    }
    out
}

/// Make `op` write `to` instead of `from`, if it writes `from`.
fn retarget(op: &mut ROp, from: Reg, to: Reg) -> bool {
    if op.dest() != Some(from) {
        return false;
    }
    // `for_each_reg` visits the destination first.
    let mut first = true;
    for_each_reg(op, |r| {
        if first {
            *r = to;
            first = false;
        }
    });
    true
}

impl ROp {
    /// The register this op writes, if any.
    pub(crate) fn dest(&self) -> Option<Reg> {
        use ROp::*;
        match self {
            Mov(d, _) | Neg(d, _) | Not(d, _) => Some(*d),
            Add(d, ..)
            | Sub(d, ..)
            | Mul(d, ..)
            | Div(d, ..)
            | Pow(d, ..)
            | Mod(d, ..)
            | Eq(d, ..)
            | Neq(d, ..)
            | Lt(d, ..)
            | Le(d, ..)
            | Gt(d, ..)
            | Ge(d, ..)
            | And(d, ..)
            | Or(d, ..)
            | Select(d, ..)
            | Call(d, ..)
            | Lookup(d, ..)
            | TableFn(d, ..)
            | Stateful(d, ..) => Some(*d),
            Record(..) | Each(..) => None,
        }
    }
}

/// A model's register program, made on first use and kept with the model:
/// single runs and sweeps of one `CompiledModel` share it.
#[derive(Default)]
pub(crate) struct RegCache(std::sync::OnceLock<RegProgram>);

impl std::fmt::Debug for RegCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "RegCache(built)"
        } else {
            "RegCache(empty)"
        })
    }
}

impl CompiledModel {
    /// The register form of this model's step and record code (built once).
    pub(crate) fn reg_program(&self) -> &RegProgram {
        self.regs.0.get_or_init(|| RegProgram::new(self))
    }
}
