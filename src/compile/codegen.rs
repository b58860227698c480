//! Code generation: one flat variable's expression → stack-machine ops.
//!
//! Each variable is compiled twice, once for the initial phase and once for
//! the per-step phase, because stateful builtins read different arguments in
//! each (PREVIOUS returns its initial value at the start, INIT captures its
//! argument only then). While emitting, the generator records which
//! variables each phase's code reads, which is exactly the dependency graph
//! [`crate::analysis::topo_order`] needs: references inside a lagged
//! argument (PREVIOUS's or DELAY's input) are not dependencies.

use rustc_hash::FxHashMap as HashMap;

use crate::compile::builtins;
use crate::compile::check_arity;
use crate::compile::flatten::{FlatKind, FlatVar};
use crate::compile::program::{Op, RandomKind, StatefulKind, TableFn};
use crate::error::{Error, Result};
use crate::ir::Dialect;
use crate::syntax::ast::{bin, call, var, BinaryOp, Expr, Span, UnaryOp};

/// Which phase's code is being generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Init,
    Step,
}

/// Shared tables the generator appends to while compiling all variables.
pub struct Tables<'a> {
    pub vars: &'a [FlatVar],
    pub index: &'a HashMap<String, usize>,
    /// Table number of each variable's graphical function, if it has one.
    pub table_of: &'a [Option<u32>],
    pub stateful: Vec<StatefulKind>,
    /// Call site (address of its argument list inside the flat expression,
    /// stable across both phases) → stateful op id, so the init code and
    /// the step code of one call share its state.
    pub sites: HashMap<usize, u32>,
    /// Record programs: (stateful op id, code computing the recorded value).
    pub records: Vec<(u32, Vec<Op>)>,
    /// The project's dialect: picks Vensim or XMILE meanings of shared names.
    pub dialect: Dialect,
}

/// The code and dependencies of one variable in one phase.
#[derive(Default)]
pub struct Emitted {
    pub code: Vec<Op>,
    pub deps: Vec<usize>,
    /// True if the value can change after the initial phase on its own
    /// (reads TIME, a stateful op or a random draw).
    pub time_varying: bool,
}

pub struct Gen<'t, 'a> {
    pub t: &'t mut Tables<'a>,
    pub phase: Phase,
    /// The variable being compiled (for SELF and error messages).
    pub var: usize,
    pub out: Emitted,
    /// Inside a lagged argument: references are not dependencies.
    lagged: bool,
    /// Inside SAMPLE IF TRUE's step-phase arguments: a reference to the
    /// variable itself reads its held value, not a dependency.
    holds_self: bool,
    /// Address of the call expression being compiled: the site of a
    /// stateful call with no arguments (whose empty argument list has no
    /// address of its own).
    call_site: usize,
}

impl<'t, 'a> Gen<'t, 'a> {
    pub fn new(t: &'t mut Tables<'a>, phase: Phase, var: usize) -> Self {
        Gen {
            t,
            phase,
            var,
            out: Emitted::default(),
            lagged: false,
            holds_self: false,
            call_site: 0,
        }
    }

    fn name(&self) -> String {
        self.t.vars[self.var].name.clone()
    }

    pub(crate) fn emit(&mut self, op: Op) {
        self.out.code.push(op);
    }

    fn dep(&mut self, i: usize) {
        let held_self = self.holds_self && i == self.var;
        if !(self.lagged || held_self) {
            self.out.deps.push(i);
        }
    }

    fn unknown_var(&self, r: &str) -> Error {
        Error::UnknownVariable {
            variable: self.name(),
            reference: r.to_string(),
        }
    }

    fn arity(&self, f: &str, got: usize, min: usize, max: usize) -> Result<()> {
        check_arity(&self.name(), &f.to_uppercase(), got, min, max)
    }

    /// Compile `e`, leaving its value on the stack.
    pub fn expr(&mut self, e: &Expr) -> Result<()> {
        match e {
            Expr::Num(n) => self.emit(Op::Const(*n)),
            Expr::Var(name, _) => self.var_ref(name)?,
            Expr::Subscript(name, _, _) => {
                return Err(Error::Unsupported {
                    variable: self.name(),
                    construct: format!(
                        "subscripted reference '{name}[...]' (arrays are not supported yet)"
                    ),
                })
            }
            Expr::Unary(op, a) => {
                self.expr(a)?;
                match op {
                    UnaryOp::Neg => self.emit(Op::Neg),
                    UnaryOp::Plus => {}
                    UnaryOp::Not => self.emit(Op::Not),
                }
            }
            Expr::Binary(op, a, b) => {
                self.expr(a)?;
                self.expr(b)?;
                self.emit(match op {
                    BinaryOp::Add => Op::Add,
                    BinaryOp::Sub => Op::Sub,
                    BinaryOp::Mul => Op::Mul,
                    BinaryOp::Div => Op::Div,
                    BinaryOp::Pow => Op::Pow,
                    BinaryOp::Mod => Op::Mod,
                    BinaryOp::Eq => Op::Eq,
                    BinaryOp::Neq => Op::Neq,
                    BinaryOp::Lt => Op::Lt,
                    BinaryOp::Le => Op::Le,
                    BinaryOp::Gt => Op::Gt,
                    BinaryOp::Ge => Op::Ge,
                    BinaryOp::And => Op::And,
                    BinaryOp::Or => Op::Or,
                });
            }
            Expr::If(c, a, b) => {
                self.expr(c)?;
                self.expr(a)?;
                self.expr(b)?;
                self.emit(Op::Select);
            }
            Expr::Call(f, args, _) => {
                self.call_site = e as *const Expr as usize;
                self.call(f, args)?
            }
        }
        Ok(())
    }

    fn var_ref(&mut self, name: &str) -> Result<()> {
        if let Some(&i) = self.t.index.get(name) {
            // A Vensim lookup has no value of its own: `tbl` where `tbl(x)`
            // was meant would read NaN silently (Vensim refuses it too).
            let v = &self.t.vars[i];
            if v.expr.is_none() && !v.visible && v.gf.is_some() && self.t.dialect == Dialect::Vensim
            {
                return Err(Error::Unsupported {
                    variable: self.name(),
                    construct: format!(
                        "'{}' is a lookup and has no value of its own: call it with an input, {}(x)",
                        v.name, v.name
                    ),
                });
            }
            self.dep(i);
            self.emit(Op::Load(i as u32));
            return Ok(());
        }
        match name {
            "time" => {
                self.out.time_varying = true;
                self.emit(Op::Time)
            }
            "dt" | "time_step" => self.emit(Op::Dt),
            "starttime" | "initial_time" => self.emit(Op::Start),
            "stoptime" | "final_time" => self.emit(Op::Stop),
            "pi" => self.emit(Op::Const(std::f64::consts::PI)),
            "inf" => self.emit(Op::Const(f64::INFINITY)),
            "nan" => self.emit(Op::Const(f64::NAN)),
            "self" => {
                self.out.time_varying = true;
                let i = self.var;
                self.emit(Op::Load(i as u32))
            }
            _ => return Err(self.unknown_var(name)),
        }
        Ok(())
    }

    /// Compile a record program for stateful op `id` storing `x`.
    fn record(&mut self, id: u32, x: &Expr) -> Result<()> {
        self.record_each(id, std::slice::from_ref(x))
    }

    /// Compile a record program for stateful op `id` recording each of
    /// `xs` in turn.
    fn record_each(&mut self, id: u32, xs: &[Expr]) -> Result<()> {
        self.record_program(id, |g| {
            for x in xs {
                g.expr(x)?;
                g.emit(Op::Record(id));
            }
            Ok(())
        })
    }

    /// Compile a record program for stateful op `id`: push `args`, apply
    /// `op` and record the result.
    fn record_all(&mut self, id: u32, args: &[Expr], op: Op) -> Result<()> {
        self.record_program(id, |g| {
            for x in args {
                g.expr(x)?;
            }
            g.emit(op);
            g.emit(Op::Record(id));
            Ok(())
        })
    }

    /// The record program `emit` writes for stateful op `id`, compiled
    /// with lagged references (what it reads is not a dependency).
    fn record_program(
        &mut self,
        id: u32,
        emit: impl FnOnce(&mut Gen<'_, '_>) -> Result<()>,
    ) -> Result<()> {
        let mut g = Gen::new(self.t, Phase::Step, self.var);
        g.lagged = true;
        emit(&mut g)?;
        let code = std::mem::take(&mut g.out.code);
        self.t.records.push((id, code));
        Ok(())
    }

    fn call(&mut self, f: &str, args: &[Expr]) -> Result<()> {
        // A graphical-function variable called like a function: `gf(x)`.
        // A variable without a table that is named like a builtin (a flow
        // "Pulse" = PULSE(100, 2), an aux "normal" = NORMAL(0, 1)) leaves
        // the call to the builtin; a call no builtin takes is then read as
        // a lookup of that variable (and refused: it has no table).
        if let Some(&i) = self.t.index.get(f) {
            if self.t.table_of[i].is_some() {
                return self.lookup_call(f, i, args);
            }
        }
        match f {
            "lookup" => {
                self.arity(f, args.len(), 2, 2)?;
                let Expr::Var(table, _) = &args[0] else {
                    return Err(Error::Unsupported {
                        variable: self.name(),
                        construct: "LOOKUP's first argument must name a graphical function".into(),
                    });
                };
                let i = *self
                    .t
                    .index
                    .get(table)
                    .ok_or_else(|| self.unknown_var(table))?;
                self.lookup_call(table, i, &args[1..])
            }
            "previous" => {
                self.arity(f, args.len(), 1, 2)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::Previous);
                match self.phase {
                    Phase::Init => {
                        self.expr(args.get(1).unwrap_or(&args[0]))?;
                        self.emit(Op::Stateful(id, 1));
                    }
                    Phase::Step => {
                        self.emit(Op::Stateful(id, 0));
                        self.record(id, &args[0])?;
                    }
                }
                Ok(())
            }
            "init" | "initial" => {
                self.arity(f, args.len(), 1, 1)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::Init);
                match self.phase {
                    Phase::Init => {
                        self.expr(&args[0])?;
                        self.emit(Op::Stateful(id, 1));
                    }
                    Phase::Step => self.emit(Op::Stateful(id, 0)),
                }
                Ok(())
            }
            "delay_fixed" | "conveyor_delay" | "delay_material" | "delay_information"
                if self.t.dialect == Dialect::Vensim || f != "delay_fixed" =>
            {
                // Vensim DELAY FIXED(input, delay time, initial value): an
                // exact pipeline; the delay time is read only at the initial
                // time and the initial value is returned until
                // TIME >= INITIAL TIME + delay time (Vensim manual, DELAY FIXED).
                // A conveyor's outflow is the same pipeline in any dialect
                // (see `syntax::xmile::variables::convey`).
                // DELAY MATERIAL(input, delay time, initial value, missing
                // value) and DELAY INFORMATION(input, delay time, initial
                // value) are "the same as DELAY FIXED except that delay time
                // can be a variable" (Vensim manual): each input leaves after
                // the delay time it entered with, so their record program
                // stores the delay time after the input.
                let (kind, n) = match f {
                    "delay_material" => (StatefulKind::DelayMaterial, 4),
                    "delay_information" => (StatefulKind::DelayInformation, 3),
                    _ => (StatefulKind::DelayFixed, 3),
                };
                self.arity(f, args.len(), n, n)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, kind);
                match self.phase {
                    Phase::Init => {
                        self.expr(&args[2])?;
                        self.expr(&args[1])?;
                        self.emit(Op::Stateful(id, 2));
                    }
                    Phase::Step => {
                        let missing = args.get(3);
                        if let Some(m) = missing {
                            self.expr(m)?;
                        }
                        self.emit(Op::Stateful(id, u8::from(missing.is_some())));
                        let recorded = if kind == StatefulKind::DelayFixed {
                            &args[..1]
                        } else {
                            &args[..2]
                        };
                        self.record_each(id, recorded)?;
                    }
                }
                Ok(())
            }
            "delay_conveyor" => {
                // Vensim DELAY CONVEYOR(input, ctime, leak, initprofile,
                // inittot, initctime): see `vm::stateful::conveyor`. The
                // profile's points travel as constants: the op reads no
                // table.
                self.arity(f, args.len(), 6, 6)?;
                self.out.time_varying = true;
                // A named lookup table, else a clear refusal.
                let Expr::Var(profile, _) = &args[3] else {
                    return Err(Error::Unsupported {
                        variable: self.name(),
                        construct: "DELAY CONVEYOR's fourth argument (the initial profile) must name a lookup table".into(),
                    });
                };
                self.table_arg(f, &args[3])?;
                let points: Vec<(f64, f64)> = self
                    .t
                    .index
                    .get(profile)
                    .and_then(|&i| self.t.vars[i].gf.as_ref())
                    .map(|g| g.xs.iter().copied().zip(g.ys.iter().copied()).collect())
                    .unwrap_or_default();
                if points.is_empty() || 4 + 2 * points.len() > usize::from(u8::MAX) {
                    return Err(Error::Unsupported {
                        variable: self.name(),
                        construct: format!(
                            "DELAY CONVEYOR: the initial profile '{profile}' has {} points (1 to {} are supported)",
                            points.len(),
                            (usize::from(u8::MAX) - 4) / 2
                        ),
                    });
                }
                let id = self.stateful_id(args, StatefulKind::DelayConveyor);
                for a in [&args[1], &args[2], &args[4], &args[5]] {
                    self.expr(a)?;
                }
                for &(x, y) in &points {
                    self.emit(Op::Const(x));
                    self.emit(Op::Const(y));
                }
                self.emit(Op::Stateful(id, (4 + 2 * points.len()) as u8));
                if self.phase == Phase::Step {
                    let advance = bin(BinaryOp::Div, var("dt"), args[1].clone());
                    let kept = bin(
                        BinaryOp::Sub,
                        Expr::Num(1.0),
                        bin(BinaryOp::Mul, args[2].clone(), var("dt")),
                    );
                    let log_kept = call("ln", vec![call("max", vec![kept, Expr::Num(1e-300)])]);
                    self.record_each(id, &[args[0].clone(), advance, log_kept])?;
                }
                Ok(())
            }
            "depreciate_straightline" => {
                // Vensim DEPRECIATE STRAIGHTLINE(str, dtime, fisc, init):
                // see `vm::stateful::depreciate`.
                self.arity(f, args.len(), 4, 4)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::DepreciateStraightline);
                // (init while initializing,) then str, dtime, fisc.
                let pushed: Vec<&Expr> = match self.phase {
                    Phase::Init => std::iter::once(&args[3]).chain(&args[..3]).collect(),
                    Phase::Step => args[..3].iter().collect(),
                };
                self.stateful_call(id, &pushed, &args[0])
            }
            "conveyor_leak" => {
                // An isee conveyor's leakage flow: see
                // `StatefulKind::ConveyorLeak`.
                self.arity(f, args.len(), 7, 7)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::ConveyorLeak);
                let pushed: Vec<&Expr> = match self.phase {
                    Phase::Init => std::iter::once(&args[2])
                        .chain(std::iter::once(&args[1]))
                        .chain(&args[3..])
                        .collect(),
                    Phase::Step => args[3..].iter().collect(),
                };
                self.stateful_call(id, &pushed, &args[0])
            }
            "sample_if_true" => {
                // Vensim SAMPLE IF TRUE(cond, input, initial): input while
                // cond is true, else the last sampled value (initially
                // `initial`).
                // The condition and the input may refer to the variable
                // itself (`x = SAMPLE IF TRUE(c, x + 1, 0)`, a running
                // minimum `m = SAMPLE IF TRUE(v < m, v, v)`): that is the
                // value held so far (the initial value while initializing),
                // not a cycle.
                self.arity(f, args.len(), 3, 3)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::SampleIfTrue);
                let own = self.t.vars[self.var].ident.clone();
                match self.phase {
                    Phase::Init => {
                        let held = |e: &Expr| {
                            e.rewrite(&|x| match x {
                                Expr::Var(n, _) if *n == own => Some(args[2].clone()),
                                _ => None,
                            })
                        };
                        self.expr(&held(&args[0]))?;
                        self.expr(&held(&args[1]))?;
                        self.expr(&args[2])?;
                        self.emit(Op::Stateful(id, 3));
                    }
                    Phase::Step => {
                        let site = self.call_site;
                        let outer = std::mem::replace(&mut self.holds_self, true);
                        self.expr(&args[0])?;
                        self.expr(&args[1])?;
                        self.emit(Op::Stateful(id, 2));
                        self.holds_self = outer;
                        // The step's value is what is held next. When the
                        // call is the whole equation that value is the
                        // variable's own: record it. Evaluating the
                        // arguments again at the end of the step would read
                        // a self-reference as the new value, not the one
                        // held (a running minimum `m = SAMPLE IF TRUE(v <
                        // m, v, v)` kept its first value).
                        let v = &self.t.vars[self.var];
                        let whole = v.expr.as_ref().map(|e| e as *const Expr as usize)
                            == Some(site)
                            && self.t.table_of[self.var].is_none()
                            && !matches!(v.kind, FlatKind::Flow { non_negative: true });
                        if whole {
                            let own = Op::Load(self.var as u32);
                            self.t.records.push((id, vec![own, Op::Record(id)]));
                        } else {
                            self.record_all(id, &args[..2], Op::Stateful(id, 2))?;
                        }
                    }
                }
                Ok(())
            }
            "active_initial" => {
                // Vensim ACTIVE INITIAL(active, initial): `initial` while
                // initializing, `active` afterwards; each phase depends only
                // on its own argument.
                self.arity(f, args.len(), 2, 2)?;
                self.out.time_varying = true;
                match self.phase {
                    Phase::Init => self.expr(&args[1]),
                    Phase::Step => self.expr(&args[0]),
                }
            }
            // A non-negative stock's cap on an outflow (isee) limits the
            // flow during the run; while initializing, the flow's own
            // equation is its value, as isee's tools compute a stock's
            // initial value from its flows (`Stock = OutFlow * 2` would
            // otherwise be circular through the cap).
            "nonnegative_outflow" if self.phase == Phase::Init => {
                self.arity(f, args.len(), 2, 2)?;
                self.expr(&args[0])
            }
            // Vensim GAME(x) is x outside gaming mode.
            "game" => {
                self.arity(f, args.len(), 1, 1)?;
                self.expr(&args[0])
            }
            "lookuparea" => {
                self.arity(f, args.len(), 1, 3)?;
                let table = self.table_arg(f, &args[0])?;
                match args.get(1) {
                    Some(to) => self.expr(to)?,
                    None => self.emit(Op::Const(f64::INFINITY)),
                }
                match args.get(2) {
                    Some(from) => self.expr(from)?,
                    None => self.emit(Op::Const(f64::NEG_INFINITY)),
                }
                self.emit(Op::TableFn(table, TableFn::IseeArea));
                Ok(())
            }
            "lookup_extrapolate" | "lookup_forward" | "lookup_backward" | "lookup_invert"
            | "lookup_area" | "lookup_slope" | "lookup_cdf" | "lookup_quantile" => {
                let (tf, n) = match f {
                    "lookup_cdf" => (TableFn::Cdf, 2),
                    "lookup_quantile" => (TableFn::Quantile, 2),
                    "lookup_extrapolate" => (TableFn::Extrapolate, 2),
                    "lookup_forward" => (TableFn::Forward, 2),
                    "lookup_backward" => (TableFn::Backward, 2),
                    "lookup_invert" if self.t.dialect == Dialect::Vensim => (TableFn::InvertNa, 2),
                    "lookup_invert" => (TableFn::Invert, 2),
                    "lookup_slope" => (TableFn::Slope, 3),
                    _ => (TableFn::Area, 3),
                };
                self.arity(f, args.len(), n, n)?;
                let table = self.table_arg(f, &args[0])?;
                for a in &args[1..] {
                    self.expr(a)?;
                }
                self.emit(Op::TableFn(table, tf));
                Ok(())
            }
            // Vensim GET DATA AT TIME(data, time): the data variable's value
            // at that time (its own interpolation between points).
            "get_data_at_time" => {
                self.arity(f, args.len(), 2, 2)?;
                let table = self.table_arg(f, &args[0])?;
                self.expr(&args[1])?;
                self.emit(Op::Lookup(table));
                Ok(())
            }
            // Vensim TIME SHIFT(data, shift) in a data equation: "If ... you
            // want the model to see the data in the future, you would shift
            // the data by a positive amount" (its help): the data's value
            // `shift` later, `TROUBLE coming := TIME SHIFT(TROUBLE, 2)`
            // taking TROUBLE's values two months before TROUBLE does.
            "time_shift" => {
                self.arity(f, args.len(), 2, 2)?;
                let table = self.table_arg(f, &args[0])?;
                self.out.time_varying = true;
                self.emit(Op::Time);
                self.expr(&args[1])?;
                self.emit(Op::Add);
                self.emit(Op::Lookup(table));
                Ok(())
            }
            // Vensim GET DATA FIRST TIME / LAST TIME / TOTAL POINTS(data) and
            // GET DATA MAX / MIN / MEAN(data, start time, end time).
            "get_data_first_time"
            | "get_data_last_time"
            | "get_data_total_points"
            | "get_data_max"
            | "get_data_min"
            | "get_data_mean" => {
                let tf = match f {
                    "get_data_first_time" => TableFn::DataFirstTime,
                    "get_data_last_time" => TableFn::DataLastTime,
                    "get_data_total_points" => TableFn::DataPoints,
                    "get_data_max" => TableFn::DataMax,
                    "get_data_min" => TableFn::DataMin,
                    _ => TableFn::DataMean,
                };
                let n = if tf.two_inputs() { 3 } else { 1 };
                self.arity(f, args.len(), n, n)?;
                let table = self.table_arg(f, &args[0])?;
                if n == 1 {
                    self.emit(Op::Const(0.0));
                }
                for a in &args[1..] {
                    self.expr(a)?;
                }
                self.emit(Op::TableFn(table, tf));
                Ok(())
            }
            // Vensim GET DATA BETWEEN TIMES(data, time, mode). Vensim reads
            // the time on the run's time grid: a time between two steps is
            // the earlier step (what its reference runs show).
            "get_data_between_times" => {
                self.arity(f, args.len(), 3, 3)?;
                let table = self.table_arg(f, &args[0])?;
                let var = |n: &str| Expr::Var(n.to_string(), Span::default());
                let bin = |op, a, b| Expr::Binary(op, Box::new(a), Box::new(b));
                let steps = bin(
                    BinaryOp::Add,
                    bin(
                        BinaryOp::Div,
                        bin(BinaryOp::Sub, args[1].clone(), var("initial_time")),
                        var("time_step"),
                    ),
                    Expr::Num(1e-9),
                );
                // initial + floor(steps) * step: the earlier grid point,
                // also before the run's start (where INTEGER, truncating,
                // would round -0.5 steps up to the start). Emitted as ops so
                // the time argument is evaluated once.
                self.expr(&var("initial_time"))?;
                self.expr(&steps)?;
                self.emit(Op::Call(crate::compile::builtins::Builtin::Int, 1));
                self.expr(&var("time_step"))?;
                self.emit(Op::Mul);
                self.emit(Op::Add);
                self.expr(&args[2])?;
                self.emit(Op::TableFn(table, TableFn::DataBetween));
                Ok(())
            }
            // Vensim RANDOM 0 1(): uniform on [0, 1], the run's own stream.
            "random_0_1" => {
                self.arity(f, args.len(), 0, 0)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::Random(RandomKind::VUniform));
                self.emit(Op::Const(0.0));
                self.emit(Op::Const(1.0));
                self.emit(Op::Stateful(id, 2));
                Ok(())
            }
            "random_uniform"
            | "random_normal"
            | "random_poisson"
            | "random_exponential"
            | "random_triangular"
            | "random_beta"
            | "random_binomial"
            | "random_gamma"
            | "random_negative_binomial"
            | "random_weibull" => {
                let kind = match f {
                    "random_uniform" => RandomKind::VUniform,
                    "random_normal" => RandomKind::VNormal,
                    "random_poisson" => RandomKind::VPoisson,
                    "random_exponential" => RandomKind::VExponential,
                    "random_beta" => RandomKind::VBeta,
                    "random_binomial" => RandomKind::VBinomial,
                    "random_gamma" => RandomKind::VGamma,
                    "random_negative_binomial" => RandomKind::VNegativeBinomial,
                    "random_weibull" => RandomKind::VWeibull,
                    _ => RandomKind::VTriangular,
                };
                let p = kind.params();
                self.arity(f, args.len(), p, p + 1)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::Random(kind));
                for a in args {
                    self.expr(a)?;
                }
                self.emit(Op::Stateful(id, args.len() as u8));
                Ok(())
            }
            // isee DELAY (and DELAY FIXED outside Vensim) keeps the lag it
            // had at the initial time; `history_lookback` is HISTORY's
            // lookback (see `expand::isee_shorthand`), whose lag moves.
            "delay" | "delay_fixed" | "history_lookback" => {
                self.arity(f, args.len(), 2, 3)?;
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::Delay);
                match self.phase {
                    Phase::Init => {
                        self.expr(args.get(2).unwrap_or(&args[0]))?;
                        self.expr(&args[1])?;
                        self.emit(Op::Stateful(id, 2));
                    }
                    Phase::Step => {
                        let moving = f == "history_lookback";
                        if moving {
                            self.expr(&args[1])?;
                        }
                        self.emit(Op::Stateful(id, u8::from(moving)));
                        self.record(id, &args[0])?;
                    }
                }
                Ok(())
            }
            "random" | "uniform" | "normal" | "lognormal" | "exprnd" | "poisson" | "beta"
            | "binomial" | "gamma" | "geometric" | "logistic" | "pareto" | "triangular"
            | "weibull" | "montecarlo" => {
                let kind = match f {
                    "random" | "uniform" => RandomKind::Uniform,
                    "normal" => RandomKind::Normal,
                    "lognormal" => RandomKind::LogNormal,
                    "exprnd" => RandomKind::Exponential,
                    "beta" => RandomKind::Beta,
                    "binomial" => RandomKind::Binomial,
                    "gamma" => RandomKind::Gamma,
                    "geometric" => RandomKind::Geometric,
                    "logistic" => RandomKind::Logistic,
                    "pareto" => RandomKind::Pareto,
                    "triangular" => RandomKind::Triangular,
                    "weibull" => RandomKind::Weibull,
                    "montecarlo" => RandomKind::Bernoulli,
                    _ => RandomKind::Poisson,
                };
                let p = kind.params();
                // GAMMA's scale is optional before its optional seed; after
                // the seed, a distribution (not MONTECARLO) may take the
                // bounds it is truncated to, min and max together.
                let least = if kind == RandomKind::Gamma { 1 } else { p };
                let most = if kind == RandomKind::Bernoulli {
                    p + 1
                } else {
                    p + 3
                };
                self.arity(f, args.len(), least, most)?;
                if args.len() == p + 2 {
                    return Err(Error::WrongArgumentCount {
                        variable: self.name(),
                        function: f.to_uppercase(),
                        expected: format!("{p}, {} or {} (seed, then min and max)", p + 1, p + 3),
                        got: args.len(),
                    });
                }
                self.out.time_varying = true;
                let id = self.stateful_id(args, StatefulKind::Random(kind));
                for (i, a) in args.iter().enumerate() {
                    self.expr(a)?;
                    if i == 0 && kind == RandomKind::Bernoulli {
                        // Percent per time unit, to a probability per step.
                        self.emit(Op::Const(100.0));
                        self.emit(Op::Div);
                        self.emit(Op::Dt);
                        self.emit(Op::Mul);
                    }
                }
                let mut n = args.len();
                if kind == RandomKind::Gamma && n == 1 {
                    self.emit(Op::Const(1.0));
                    n = 2;
                }
                self.emit(Op::Stateful(id, n as u8));
                Ok(())
            }
            _ => {
                let Some((b, min, max)) = builtins::lookup_in(f, self.t.dialect) else {
                    if let Some(&i) = self.t.index.get(f) {
                        return self.lookup_call(f, i, args);
                    }
                    if let Some(tool) = builtins::not_supported(f) {
                        return Err(Error::Unsupported {
                            variable: self.name(),
                            construct: format!(
                                "{tool} function {} (not supported yet)",
                                f.replace('_', " ").to_uppercase()
                            ),
                        });
                    }
                    return Err(Error::UnknownFunction {
                        variable: self.name(),
                        function: f.to_string(),
                    });
                };
                self.arity(f, args.len(), min, max)?;
                if b.reads_time() {
                    self.out.time_varying = true;
                }
                if matches!(b, builtins::Builtin::Step | builtins::Builtin::Pulse) {
                    // XMILE STEP and PULSE hold their step-start value
                    // through the Runge-Kutta stages (StatefulKind::Held).
                    let id = self.stateful_id(args, StatefulKind::Held);
                    self.builtin_call(b, args)?;
                    self.emit(Op::Stateful(id, 1));
                    if self.phase == Phase::Step {
                        self.record_program(id, |g| {
                            g.builtin_call(b, args)?;
                            g.emit(Op::Record(id));
                            Ok(())
                        })?;
                    }
                    return Ok(());
                }
                self.builtin_call(b, args)
            }
        }
    }

    /// Push `args` and call builtin `b` on them.
    fn builtin_call(&mut self, b: builtins::Builtin, args: &[Expr]) -> Result<()> {
        for a in args {
            self.expr(a)?;
        }
        // `arity` bounds the count by MAX_CALL_ARGS, which fits a u16.
        self.emit(Op::Call(b, args.len() as u16));
        Ok(())
    }

    /// A stateful op that pushes `pushed` (this phase's arguments) and,
    /// after each committed step, records `recorded`.
    fn stateful_call(&mut self, id: u32, pushed: &[&Expr], recorded: &Expr) -> Result<()> {
        for a in pushed {
            self.expr(a)?;
        }
        self.emit(Op::Stateful(id, pushed.len() as u8));
        if self.phase == Phase::Step {
            self.record(id, recorded)?;
        }
        Ok(())
    }

    /// The table number of a lookup function's first argument, which must
    /// name a variable with a graphical function.
    fn table_arg(&self, f: &str, arg: &Expr) -> Result<u32> {
        let Expr::Var(table, _) = arg else {
            return Err(Error::Unsupported {
                variable: self.name(),
                construct: format!(
                    "{}'s first argument must name a lookup table",
                    f.to_uppercase()
                ),
            });
        };
        let i = *self
            .t
            .index
            .get(table)
            .ok_or_else(|| self.unknown_var(table))?;
        self.t.table_of[i].ok_or_else(|| Error::Unsupported {
            variable: self.name(),
            construct: format!("{}: '{table}' is not a lookup table", f.to_uppercase()),
        })
    }

    fn lookup_call(&mut self, name: &str, i: usize, args: &[Expr]) -> Result<()> {
        let Some(table) = self.t.table_of[i] else {
            return Err(Error::UnknownFunction {
                variable: self.name(),
                function: name.to_string(),
            });
        };
        self.arity(name, args.len(), 1, 1)?;
        self.expr(&args[0])?;
        self.emit(Op::Lookup(table));
        Ok(())
    }

    /// The stateful op of this call site, allocated on first sight.
    fn stateful_id(&mut self, args: &[Expr], kind: StatefulKind) -> u32 {
        let site = if args.is_empty() {
            self.call_site
        } else {
            args.as_ptr() as usize
        };
        if let Some(&id) = self.t.sites.get(&site) {
            return id;
        }
        let id = self.t.stateful.len() as u32;
        self.t.stateful.push(kind);
        self.t.sites.insert(site, id);
        id
    }
}
