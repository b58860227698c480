//! The register interpreter: the per-step and record programs of
//! [`super::super::regs`] run on every lane, with array runs
//! ([`super::super::each`]) executed operation by operation over their
//! elements and lookups of a table all lanes share interpolated at once.

// Lane loops index by the lane number on purpose (see `super`).
#![allow(clippy::needless_range_loop)]

use crate::compile::builtins::{self, trunc_mod, Builtin, TimeCtx};
use crate::compile::program::StatefulKind;
use crate::compile::CompiledModel;
use crate::ir::{GfKind, GraphicalFunction};
use crate::sweep::each::Each;
use crate::sweep::regs::ROp;
use crate::vm::stateful::{self, Cells};
use crate::vm::table::{line, lookup_hinted, place, table_fn, upper_hinted};

use super::{b, Lanes, V};

/// One lookup of a table every lane shares (ascending points, continuous
/// or extrapolating, at least two): each lane's place on the table is found
/// as [`lookup_hinted`] finds it, then the interpolation, division
/// included, runs over all lanes at once instead of lane by lane. Both
/// steps are `vm::table`'s own (`place`, `line`), so the values are
/// identical.
#[inline(always)]
fn lookup_lanes<const W: usize>(g: &GraphicalFunction, x: &V<W>, hints: &mut [u32], o: &mut V<W>) {
    let n = g.xs.len().min(g.ys.len());
    let (xs, ys) = (&g.xs[..n], &g.ys[..n]);
    let extrapolate = g.kind == GfKind::Extrapolate;
    let (mut x0, mut x1, mut y0, mut y1) = ([0.0; W], [0.0; W], [0.0; W], [0.0; W]);
    // Lanes whose value is not on a line: NaN inputs, and inputs beyond
    // the ends of a clamping table.
    let mut held = [None; W];
    for l in 0..W {
        let hint = &mut hints[l];
        let i = match place(xs, ys, extrapolate, x[l], |xs, v| upper_hinted(xs, v, hint)) {
            Ok(i) => i,
            Err(v) => {
                held[l] = Some(v);
                0
            }
        };
        (x0[l], x1[l], y0[l], y1[l]) = (xs[i], xs[i + 1], ys[i], ys[i + 1]);
    }
    for l in 0..W {
        o[l] = line(x0[l], x1[l], y0[l], y1[l], x[l]);
    }
    for l in 0..W {
        if let Some(v) = held[l] {
            o[l] = v;
        }
    }
}

impl<const W: usize> Lanes<W> {
    /// Run register code on every lane (the per-step and record programs).
    /// On x86-64 CPUs with AVX2 the same code is compiled a second time with
    /// AVX2 enabled and chosen at run time: the lane loops then handle four
    /// numbers per instruction instead of two. Rust never contracts `a * b
    /// + c` into FMA, so both versions give bit-identical results.
    pub(super) fn run_regs(&mut self, m: &CompiledModel, code: &[ROp]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU reports AVX2.
            unsafe { self.run_regs_avx2(m, code) };
            return;
        }
        self.run_regs_body(m, code);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_regs_avx2(&mut self, m: &CompiledModel, code: &[ROp]) {
        self.run_regs_body(m, code);
    }

    #[inline(always)]
    fn run_regs_body(&mut self, m: &CompiledModel, code: &[ROp]) {
        self.slots[m.reg_program().time_reg] = [self.time; W];
        let clock = self.clock();
        let ctx = self.time_ctx();
        let r = &mut self.slots;
        macro_rules! un {
            ($d:expr, $a:expr, |$x:ident| $e:expr) => {{
                let a = r[*$a as usize];
                let mut o = [0.0; W];
                for l in 0..W {
                    let $x = a[l];
                    o[l] = $e;
                }
                r[*$d as usize] = o;
            }};
        }
        macro_rules! bin {
            ($d:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
                let a = r[*$a as usize];
                let b = r[*$b as usize];
                let mut o = [0.0; W];
                for l in 0..W {
                    let $x = a[l];
                    let $y = b[l];
                    o[l] = $e;
                }
                r[*$d as usize] = o;
            }};
        }
        for op in code {
            match op {
                ROp::Mov(d, a) => r[*d as usize] = r[*a as usize],
                ROp::Neg(d, a) => un!(d, a, |x| -x),
                ROp::Not(d, a) => un!(d, a, |x| b(x == 0.0)),
                ROp::Add(d, a, c) => bin!(d, a, c, |x, y| x + y),
                ROp::Sub(d, a, c) => bin!(d, a, c, |x, y| x - y),
                ROp::Mul(d, a, c) => bin!(d, a, c, |x, y| x * y),
                ROp::Div(d, a, c) => bin!(d, a, c, |x, y| x / y),
                ROp::Pow(d, a, c) => bin!(d, a, c, |x, y| x.powf(y)),
                ROp::Mod(d, a, c) => bin!(d, a, c, |x, y| trunc_mod(x, y)),
                ROp::Eq(d, a, c) => bin!(d, a, c, |x, y| b(x == y)),
                ROp::Neq(d, a, c) => bin!(d, a, c, |x, y| b(x != y)),
                ROp::Lt(d, a, c) => bin!(d, a, c, |x, y| b(x < y)),
                ROp::Le(d, a, c) => bin!(d, a, c, |x, y| b(x <= y)),
                ROp::Gt(d, a, c) => bin!(d, a, c, |x, y| b(x > y)),
                ROp::Ge(d, a, c) => bin!(d, a, c, |x, y| b(x >= y)),
                ROp::And(d, a, c) => bin!(d, a, c, |x, y| b(x != 0.0 && y != 0.0)),
                ROp::Or(d, a, c) => bin!(d, a, c, |x, y| b(x != 0.0 || y != 0.0)),
                ROp::Select(d, c, t, e) => {
                    let (c, t, e) = (r[*c as usize], r[*t as usize], r[*e as usize]);
                    let mut o = [0.0; W];
                    for l in 0..W {
                        o[l] = if c[l] != 0.0 { t[l] } else { e[l] };
                    }
                    r[*d as usize] = o;
                }
                // The cheapest builtins, lane-wise without a call (loop
                // scores use ABS and SIGN at every link).
                ROp::Call(d, Builtin::Abs, args) if args.len() == 1 => {
                    let x = r[args[0] as usize];
                    r[*d as usize] = x.map(f64::abs);
                }
                ROp::Call(d, Builtin::Sign, args) if args.len() == 1 => {
                    let x = r[args[0] as usize];
                    r[*d as usize] = x.map(builtins::sign);
                }
                ROp::Call(d, Builtin::LtmLinkScore, args) if args.len() == 3 => {
                    let (p, z, x) = (
                        r[args[0] as usize],
                        r[args[1] as usize],
                        r[args[2] as usize],
                    );
                    let mut o = [0.0; W];
                    for l in 0..W {
                        o[l] = builtins::ltm_link_score(p[l], z[l], x[l]);
                    }
                    r[*d as usize] = o;
                }
                ROp::Call(d, f, args) => {
                    let n = args.len();
                    let mut o = [0.0; W];
                    for (l, out) in o.iter_mut().enumerate() {
                        for (j, &a) in args.iter().enumerate() {
                            self.args[j] = r[a as usize][l];
                        }
                        *out = builtins::eval(*f, &self.args[..n], ctx);
                    }
                    r[*d as usize] = o;
                }
                ROp::Lookup(d, t, x) => {
                    let x = r[*x as usize];
                    let shared = self.shared[*t as usize];
                    let t = *t as usize * W;
                    let mut o = [0.0; W];
                    if shared {
                        lookup_lanes(&self.tables[t], &x, &mut self.hints[t..t + W], &mut o);
                    } else {
                        for l in 0..W {
                            o[l] = lookup_hinted(&self.tables[t + l], x[l], &mut self.hints[t + l]);
                        }
                    }
                    r[*d as usize] = o;
                }
                ROp::TableFn(d, t, f, x, x2) => {
                    let (x, x2) = (r[*x as usize], r[*x2 as usize]);
                    let t = *t as usize * W;
                    let mut o = [0.0; W];
                    for l in 0..W {
                        o[l] = table_fn(&self.tables[t + l], *f, x[l], x2[l]);
                    }
                    r[*d as usize] = o;
                }
                // PREVIOUS during the run reads its cell: W values in a
                // row, without the generic per-lane call (loop scores in
                // sweeps read one per variable they score).
                ROp::Stateful(d, id, _)
                    if !self.initializing && m.stateful[*id as usize] == StatefulKind::Previous =>
                {
                    let i = *id as usize * W;
                    let mut o = [0.0; W];
                    o.copy_from_slice(&self.state[i..i + W]);
                    r[*d as usize] = o;
                }
                ROp::Stateful(d, id, args) => {
                    let id = *id as usize;
                    let kind = m.stateful[id];
                    // Stateful ops take at most six arguments.
                    let n = args.len().min(8);
                    let mut o = [0.0; W];
                    for (l, out) in o.iter_mut().enumerate() {
                        let mut a = [0.0; 8];
                        for (j, &reg) in args.iter().take(n).enumerate() {
                            a[j] = r[reg as usize][l];
                        }
                        let i = id * W + l;
                        let cells = Cells {
                            state: &mut self.state[i],
                            aux: &mut self.aux[i],
                            history: &self.history[i],
                        };
                        *out = stateful::eval(kind, id, &a[..n], &clock, self.seeds[l], cells);
                    }
                    r[*d as usize] = o;
                }
                ROp::Record(id, x) if m.stateful[*id as usize] == StatefulKind::Previous => {
                    let i = *id as usize * W;
                    self.state[i..i + W].copy_from_slice(&r[*x as usize]);
                }
                ROp::Record(id, x) => {
                    let v = r[*x as usize];
                    let id = *id as usize;
                    let kind = m.stateful[id];
                    for (l, &v) in v.iter().enumerate() {
                        let i = id * W + l;
                        stateful::record(kind, v, &mut self.state[i], &mut self.history[i]);
                    }
                }
                ROp::Each(e) => each(r, e, &mut self.args, ctx),
            }
        }
    }
}

/// Run an [`Each`]: each operation over all its elements before the next
/// (see [`super::each`]), with the same per-lane arithmetic as the
/// element-by-element code. Kept out of line: inlined into the
/// interpreter's loop it slowed every other operation down.
#[inline(never)]
fn each<const W: usize>(r: &mut [V<W>], e: &Each, args: &mut [f64], ctx: TimeCtx) {
    let n = e.n as usize;
    macro_rules! un {
        ($d:expr, $a:expr, $s:expr, |$x:ident| $f:expr) => {{
            let (d, a) = (*$d, *$a);
            let (sd, sa) = ($s[0], $s[1]);
            for k in 0..n {
                let a = r[Each::at(a, sa, k)];
                let mut o = [0.0; W];
                for l in 0..W {
                    let $x = a[l];
                    o[l] = $f;
                }
                r[Each::at(d, sd, k)] = o;
            }
        }};
    }
    macro_rules! bin {
        ($d:expr, $a:expr, $b:expr, $s:expr, |$x:ident, $y:ident| $f:expr) => {{
            let (d, a, c) = (*$d, *$a, *$b);
            let (sd, sa, sc) = ($s[0], $s[1], $s[2]);
            for k in 0..n {
                let a = r[Each::at(a, sa, k)];
                let c = r[Each::at(c, sc, k)];
                let mut o = [0.0; W];
                for l in 0..W {
                    let $x = a[l];
                    let $y = c[l];
                    o[l] = $f;
                }
                r[Each::at(d, sd, k)] = o;
            }
        }};
    }
    for (op, s) in &e.ops {
        match op {
            ROp::Mov(d, a) => {
                for k in 0..n {
                    r[Each::at(*d, s[0], k)] = r[Each::at(*a, s[1], k)];
                }
            }
            ROp::Neg(d, a) => un!(d, a, s, |x| -x),
            ROp::Not(d, a) => un!(d, a, s, |x| b(x == 0.0)),
            ROp::Add(d, a, c) => bin!(d, a, c, s, |x, y| x + y),
            ROp::Sub(d, a, c) => bin!(d, a, c, s, |x, y| x - y),
            ROp::Mul(d, a, c) => bin!(d, a, c, s, |x, y| x * y),
            ROp::Div(d, a, c) => bin!(d, a, c, s, |x, y| x / y),
            ROp::Pow(d, a, c) => bin!(d, a, c, s, |x, y| x.powf(y)),
            ROp::Mod(d, a, c) => bin!(d, a, c, s, |x, y| trunc_mod(x, y)),
            ROp::Eq(d, a, c) => bin!(d, a, c, s, |x, y| b(x == y)),
            ROp::Neq(d, a, c) => bin!(d, a, c, s, |x, y| b(x != y)),
            ROp::Lt(d, a, c) => bin!(d, a, c, s, |x, y| b(x < y)),
            ROp::Le(d, a, c) => bin!(d, a, c, s, |x, y| b(x <= y)),
            ROp::Gt(d, a, c) => bin!(d, a, c, s, |x, y| b(x > y)),
            ROp::Ge(d, a, c) => bin!(d, a, c, s, |x, y| b(x >= y)),
            ROp::And(d, a, c) => bin!(d, a, c, s, |x, y| b(x != 0.0 && y != 0.0)),
            ROp::Or(d, a, c) => bin!(d, a, c, s, |x, y| b(x != 0.0 || y != 0.0)),
            ROp::Select(d, c, t, f) => {
                for k in 0..n {
                    let c = r[Each::at(*c, s[1], k)];
                    let t = r[Each::at(*t, s[2], k)];
                    let f = r[Each::at(*f, s[3], k)];
                    let mut o = [0.0; W];
                    for l in 0..W {
                        o[l] = if c[l] != 0.0 { t[l] } else { f[l] };
                    }
                    r[Each::at(*d, s[0], k)] = o;
                }
            }
            ROp::Call(d, Builtin::Abs, a) if a.len() == 1 => un!(d, &a[0], s, |x| x.abs()),
            ROp::Call(d, Builtin::Sign, a) if a.len() == 1 => {
                un!(d, &a[0], s, |x| builtins::sign(x))
            }
            ROp::Call(d, f, a) => {
                let m = a.len();
                for k in 0..n {
                    let mut o = [0.0; W];
                    for (l, out) in o.iter_mut().enumerate() {
                        for (j, &reg) in a.iter().enumerate() {
                            args[j] = r[Each::at(reg, s[j + 1], k)][l];
                        }
                        *out = builtins::eval(*f, &args[..m], ctx);
                    }
                    r[Each::at(*d, s[0], k)] = o;
                }
            }
            // Not formed into runs (see `each::shape`).
            ROp::Lookup(..)
            | ROp::TableFn(..)
            | ROp::Stateful(..)
            | ROp::Record(..)
            | ROp::Each(..) => {}
        }
    }
}
