//! Expansion of macro calls and stock-based builtins into hidden variables.
//!
//! SMTH1/3/N, DELAY1/3/N, TREND, FORCST and NPV are defined (by XMILE and
//! Vensim alike) as small stock-and-flow structures. Expanding them here into
//! ordinary stocks, flows and auxes means the integrator treats them exactly
//! like model stocks (Euler, RK2 and RK4 all apply) and the VM needs no
//! special cases. Macro calls are instantiated the same way: parameters
//! become hidden auxes bound to the call's arguments.

use crate::compile::arrays::ArrayInfo;
use crate::compile::builtins::TimeCtx;
use crate::compile::check_arity;
use crate::compile::flatten::{flatten_var, FlatKind, FlatModel, FlatVar, Scope};
use crate::compile::fold::{fold, FoldCtx};
use crate::error::{Error, Result};
use crate::ir::{Dialect, Equations, Project, VarKind};
use crate::syntax::ast::{BinaryOp, Expr};

const MAX_MACRO_DEPTH: usize = 32;
/// Highest order DELAYN/SMTHN accepts; beyond this a typo is more likely
/// than a model that needs it.
const MAX_ORDER: usize = 1000;

pub struct Expander<'p> {
    project: &'p Project,
    pub arrays: ArrayInfo<'p>,
    counter: usize,
    /// The macros being expanded, outermost first, and the variable whose
    /// equation called the outermost: a macro already on this stack is a
    /// cycle of macros calling each other, reported under that variable.
    calling: Vec<String>,
    caller: String,
}

pub(crate) use crate::syntax::ast::{bin, call, var};

/// isee builtins that are shorthand for an expression:
/// - HISTORY(x, t): x at an earlier time t, read from the recorded series
///   DELAY uses (x delayed by TIME - t); 0 for a time before the start or
///   after the current time, as isee documents;
/// - SINWAVE(amplitude, period) and COSWAVE: a wave of that amplitude and
///   period in TIME;
/// - PCT(x): x as a percentage; LOOKUPINV(table, y): LOOKUP INVERT;
/// - RAMP(slope) without its time: from the start time;
/// - ENDVAL(x[, initial]): x's final value in the session's previous run,
///   which on a session's first run is `initial`, else x's initial value
///   (isee help, "Data builtins"); every run here is a first run.
fn isee_shorthand(f: &str, args: &[Expr], owner: &str) -> Result<Option<Expr>> {
    let arity = |n: usize| check_arity(owner, &f.to_uppercase(), args.len(), n, n);
    Ok(Some(match f {
        "history" => {
            arity(2)?;
            let (x, t) = (&args[0], &args[1]);
            let past = call(
                "history_lookback",
                vec![
                    x.clone(),
                    bin(BinaryOp::Sub, var("time"), t.clone()),
                    Expr::Num(0.0),
                ],
            );
            // The current time (within half a step) is the current value,
            // not the one a step back a DELAY of less than a step gives.
            let ago = bin(BinaryOp::Sub, var("time"), t.clone());
            let half_step = bin(BinaryOp::Div, var("dt"), Expr::Num(2.0));
            let future = bin(
                BinaryOp::Gt,
                t.clone(),
                bin(
                    BinaryOp::Add,
                    var("time"),
                    bin(BinaryOp::Mul, var("dt"), Expr::Num(1e-6)),
                ),
            );
            Expr::If(
                Box::new(future),
                Box::new(Expr::Num(0.0)),
                Box::new(Expr::If(
                    Box::new(bin(BinaryOp::Lt, ago, half_step)),
                    Box::new(x.clone()),
                    Box::new(past),
                )),
            )
        }
        "sinwave" | "coswave" => {
            arity(2)?;
            let turn = bin(
                BinaryOp::Mul,
                Expr::Num(2.0 * std::f64::consts::PI),
                var("time"),
            );
            let angle = bin(BinaryOp::Div, turn, args[1].clone());
            let wave = call(if f == "sinwave" { "sin" } else { "cos" }, vec![angle]);
            bin(BinaryOp::Mul, args[0].clone(), wave)
        }
        "pct" => {
            arity(1)?;
            bin(BinaryOp::Mul, args[0].clone(), Expr::Num(100.0))
        }
        "lookupinv" => {
            arity(2)?;
            call("lookup_invert", args.to_vec())
        }
        // "If you do not set RAMP's time, it will begin at the outset of
        // the simulation" (isee help, Test input builtins).
        "ramp" if args.len() == 1 => call("ramp", vec![args[0].clone(), var("starttime")]),
        "endval" => {
            check_arity(owner, "ENDVAL", args.len(), 1, 2)?;
            call("init", vec![args.get(1).unwrap_or(&args[0]).clone()])
        }
        _ => return Ok(None),
    }))
}

/// Vensim builtins that are shorthand for an expression:
/// - RANDOM LOOKUP(table, min, max, shift, stretch[, seed]): a draw from
///   the table read as a probability density ("RANDOM number using LOOKUP
///   PDF"), stretched and shifted, then kept within [min, max] as every
///   Vensim RANDOM function is (Vensim manual, RANDOM functions). The
///   bounds are applied to the density itself, drawing uniformly between
///   their shares of its area, which gives what drawing again until a value
///   falls inside gives, in one draw.
fn vensim_shorthand(f: &str, args: &[Expr], owner: &str) -> Result<Option<Expr>> {
    Ok(Some(match f {
        "random_lookup" => {
            check_arity(owner, "RANDOM LOOKUP", args.len(), 5, 6)?;
            let (table, min, max, shift, stretch) =
                (&args[0], &args[1], &args[2], &args[3], &args[4]);
            let seed = args.get(5).cloned().unwrap_or(Expr::Num(0.0));
            let share = |bound: &Expr| {
                let x = bin(
                    BinaryOp::Div,
                    bin(BinaryOp::Sub, bound.clone(), shift.clone()),
                    stretch.clone(),
                );
                call("lookup_cdf", vec![table.clone(), x])
            };
            let (lo, hi) = (share(min), share(max));
            let u = call("random_uniform", vec![Expr::Num(0.0), Expr::Num(1.0), seed]);
            let q = bin(
                BinaryOp::Add,
                lo.clone(),
                bin(BinaryOp::Mul, u, bin(BinaryOp::Sub, hi, lo)),
            );
            let x = call("lookup_quantile", vec![table.clone(), q]);
            bin(
                BinaryOp::Add,
                shift.clone(),
                bin(BinaryOp::Mul, stretch.clone(), x),
            )
        }
        _ => return Ok(None),
    }))
}

/// Which stock-based structure a builtin name expands to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Structure {
    Smooth(Option<usize>),
    Delay(Option<usize>),
    Trend,
    Forecast,
    Npv,
    /// Vensim RANDOM PINK NOISE(mean, sd, correlation time, seed).
    PinkNoise,
    /// isee DERIVN(input, order): the order-th finite difference over DT.
    Derivn,
}

fn structure(name: &str) -> Option<(Structure, usize, usize)> {
    use Structure::*;
    Some(match name {
        "smth1" | "smooth" | "smoothi" => (Smooth(Some(1)), 2, 3),
        "smth3" | "smooth3" | "smooth3i" => (Smooth(Some(3)), 2, 3),
        "smthn" | "smooth_n" => (Smooth(None), 3, 4),
        "delay1" | "delay1i" => (Delay(Some(1)), 2, 3),
        "delay3" | "delay3i" => (Delay(Some(3)), 2, 3),
        "delayn" | "delay_n" => (Delay(None), 3, 4),
        "trend" => (Trend, 2, 3),
        "forcst" | "forecast" => (Forecast, 3, 4),
        "npv" | "npve" => (Npv, 2, 4),
        "random_pink_noise" => (PinkNoise, 3, 4),
        "derivn" => (Derivn, 2, 2),
        _ => return None,
    })
}

impl<'p> Expander<'p> {
    pub fn new(project: &'p Project) -> Self {
        Expander {
            project,
            arrays: ArrayInfo::new(project),
            counter: 0,
            calling: Vec::new(),
            caller: String::new(),
        }
    }

    /// Expand every macro call and stock-based builtin inside `e`, which
    /// belongs to variable `owner` (full canonical ident / display name).
    pub fn expand(
        &mut self,
        e: &Expr,
        owner: &str,
        owner_name: &str,
        out: &mut FlatModel,
    ) -> Result<Expr> {
        Ok(match e {
            Expr::Num(_) | Expr::Var(..) | Expr::Subscript(..) => e.clone(),
            Expr::Unary(op, a) => {
                Expr::Unary(*op, Box::new(self.expand(a, owner, owner_name, out)?))
            }
            Expr::Binary(op, a, b) => Expr::Binary(
                *op,
                Box::new(self.expand(a, owner, owner_name, out)?),
                Box::new(self.expand(b, owner, owner_name, out)?),
            ),
            Expr::If(c, a, b) => Expr::If(
                Box::new(self.expand(c, owner, owner_name, out)?),
                Box::new(self.expand(a, owner, owner_name, out)?),
                Box::new(self.expand(b, owner, owner_name, out)?),
            ),
            Expr::Call(f, args, span) => {
                let args = args
                    .iter()
                    .map(|a| self.expand(a, owner, owner_name, out))
                    .collect::<Result<Vec<_>>>()?;
                // A model's own macro shadows a builtin of the same name
                // (metasd's thyroid model defines DELAYN(input, delay,
                // init, order), whose arguments isee's DELAYN orders
                // otherwise).
                if self.project.macros.iter().any(|m| &m.ident == f) {
                    return self.instantiate_macro(f, args, owner, owner_name, out);
                }
                if let Some((s, min, max)) = structure(f) {
                    check_arity(owner_name, &f.to_uppercase(), args.len(), min, max)?;
                    return self.structure(s, f, args, owner, owner_name, out);
                }
                let shorthand = if self.project.dialect == Dialect::Vensim {
                    vensim_shorthand(f, &args, owner_name)?
                } else {
                    isee_shorthand(f, &args, owner_name)?
                };
                if let Some(e) = shorthand {
                    return Ok(e);
                }
                Expr::Call(f.clone(), args, *span)
            }
        })
    }

    fn fresh(&mut self, owner: &str, owner_name: &str, f: &str) -> (String, String) {
        let k = self.counter;
        self.counter += 1;
        (format!("{owner}${f}{k}."), format!("{owner_name}${f}{k}."))
    }

    fn hidden(
        out: &mut FlatModel,
        ident: String,
        name: String,
        kind: FlatKind,
        expr: Expr,
    ) -> Result<()> {
        out.push(FlatVar {
            name,
            ident,
            kind,
            expr: Some(expr),
            gf: None,
            visible: false,
        })
    }

    fn structure(
        &mut self,
        s: Structure,
        f: &str,
        args: Vec<Expr>,
        owner: &str,
        owner_name: &str,
        out: &mut FlatModel,
    ) -> Result<Expr> {
        let (p, np) = self.fresh(owner, owner_name, f);
        let mut args = args.into_iter();
        let input = args.next().unwrap_or(Expr::Num(0.0));
        let time = args.next().unwrap_or(Expr::Num(1.0));
        // Put input and time in hidden auxes so the structure references them once.
        let in_id = format!("{p}input");
        let t_id = format!("{p}time");
        let time_expr = time.clone();
        Self::hidden(
            out,
            in_id.clone(),
            format!("{np}input"),
            FlatKind::Aux,
            input,
        )?;
        Self::hidden(out, t_id.clone(), format!("{np}time"), FlatKind::Aux, time)?;
        let rest: Vec<Expr> = args.collect();
        let project = self.project;
        let var_expr = |name: &str| -> Option<Expr> {
            // A constant already flattened (its references are resolved)...
            if let Some(&i) = out.index.get(name) {
                let v = &out.vars[i];
                return match (&v.kind, &v.gf) {
                    (FlatKind::Aux, None) => v.expr.clone(),
                    _ => None,
                };
            }
            // ... or a top-level one not reached yet (its names are already full).
            let v = project.main_model()?.get(name)?;
            match (&v.kind, &v.equations, &v.gf) {
                (VarKind::Aux, Equations::Single(eq), None) if v.dims.is_empty() => {
                    Some(eq.expr.clone())
                }
                _ => None,
            }
        };
        let specs = project
            .main_model()
            .and_then(|m| m.sim_specs.as_ref())
            .unwrap_or(&project.sim_specs);
        let fold_ctx = FoldCtx {
            var_expr: &var_expr,
            dialect: project.dialect,
            time: TimeCtx {
                time: specs.start,
                dt: specs.dt,
                start: specs.start,
                stop: specs.stop,
                step_time: specs.start,
            },
        };
        let order = |e: Option<&Expr>| -> Result<usize> {
            let n = match e.map(|e| fold(e, &fold_ctx, 0)) {
                Some(Ok(n)) => n,
                Some(Err(r)) if !r.is_empty() => {
                    return Err(Error::Unsupported {
                        variable: owner_name.to_string(),
                        construct: format!(
                            "{}: the order must be known at the initial time, but '{r}' cannot be computed before the run",
                            f.to_uppercase()
                        ),
                    })
                }
                _ => {
                    return Err(Error::Unsupported {
                        variable: owner_name.to_string(),
                        construct: format!(
                            "{}: the order must be a constant number",
                            f.to_uppercase()
                        ),
                    })
                }
            };
            let n = n.round();
            if !(1.0..=MAX_ORDER as f64).contains(&n) {
                return Err(Error::Unsupported {
                    variable: owner_name.to_string(),
                    construct: format!(
                        "{}: order {n} is outside 1..={MAX_ORDER}",
                        f.to_uppercase()
                    ),
                });
            }
            Ok(n as usize)
        };
        // Vensim: SMOOTH N / DELAY N(input, time, initial value, order);
        // XMILE: SMTHN / DELAYN(input, time, order[, initial value]).
        let vensim_n = self.project.dialect == Dialect::Vensim
            && matches!(f, "smooth_n" | "delay_n")
            && rest.len() == 2;
        let (order_arg, init_arg) = if vensim_n {
            (rest.get(1), rest.first())
        } else {
            (rest.first(), rest.get(1))
        };
        // Vensim DELAY N and SMOOTH N (fn_delay_n.html, fn_smooth_n.html
        // in Vensim's help): "delay time must be bigger than
        // order * TIME STEP. If this is not the case Vensim will ... reduce
        // the order so that this is true" (checked with the initial delay
        // time; equality is allowed: a delay of exactly order * TIME STEP
        // is a pipeline of one step per stage). A delay time unknown before
        // the run keeps the order.
        let fit_order = |n: usize| match fold(&time_expr, &fold_ctx, 0) {
            Ok(d) if specs.dt > 0.0 && d.is_finite() => {
                let fit = (d / specs.dt * (1.0 + 1e-9)).floor();
                n.min(fit.max(1.0) as usize)
            }
            _ => n,
        };
        match s {
            Structure::Derivn => {
                // isee help, DERIVN: "a recursive finite difference
                // technique", dx/dt = (x(t) - x(t - dt)) / dt per order, and
                // "returns an initial value of 0": the order-n difference
                // is 0 for the first n DTs.
                let n = match order(Some(&var(&t_id))) {
                    Ok(n) => n,
                    // Order 0 is the input itself.
                    Err(_) if fold(&var(&t_id), &fold_ctx, 0).is_ok_and(|x| x.round() == 0.0) => {
                        return Ok(var(&in_id))
                    }
                    Err(e) => return Err(e),
                };
                let mut below = var(&in_id);
                for k in 1..=n {
                    let id = format!("{p}d{k}");
                    let early = bin(
                        BinaryOp::Lt,
                        bin(BinaryOp::Sub, var("time"), var("starttime")),
                        bin(BinaryOp::Mul, Expr::Num(k as f64 - 0.5), var("dt")),
                    );
                    let diff = bin(
                        BinaryOp::Div,
                        bin(
                            BinaryOp::Sub,
                            below.clone(),
                            call("previous", vec![below, Expr::Num(0.0)]),
                        ),
                        var("dt"),
                    );
                    let eq = Expr::If(Box::new(early), Box::new(Expr::Num(0.0)), Box::new(diff));
                    Self::hidden(out, id.clone(), format!("{np}d{k}"), FlatKind::Aux, eq)?;
                    below = var(&id);
                }
                Ok(below)
            }
            Structure::Smooth(n) => {
                let (n, init) = match n {
                    Some(n) => (n, rest.first().cloned()),
                    None => (order(order_arg)?, init_arg.cloned()),
                };
                let init = init.unwrap_or_else(|| var(&in_id));
                // Vensim SMOOTH N has DELAY N's rule (its help page): an
                // order too high for TIME STEP is lowered, and the smooth
                // then behaves like DELAY INFORMATION, where Euler on
                // stages shorter than a step would diverge.
                let n = if vensim_n { fit_order(n) } else { n };
                self.smooth_chain(&p, &np, n, var(&in_id), &t_id, init, out)
            }
            Structure::Delay(n) => {
                let (n, init) = match n {
                    Some(n) => (n, rest.first().cloned()),
                    None => (order(order_arg)?, init_arg.cloned()),
                };
                let init = init.unwrap_or_else(|| var(&in_id));
                // https://vensim.com/documentation/fn_delay_n.html
                let n = if vensim_n { fit_order(n) } else { n };
                self.delay_chain(&p, &np, n, &in_id, &t_id, init, vensim_n, out)
            }
            Structure::Trend | Structure::Forecast => {
                let (horizon, init) = if s == Structure::Forecast {
                    (rest.first().cloned(), rest.get(1).cloned())
                } else {
                    (None, rest.first().cloned())
                };
                let init = init.unwrap_or(Expr::Num(0.0));
                // average = SMTH1(input, time, input / (1 + init * time))
                let avg_init = bin(
                    BinaryOp::Div,
                    var(&in_id),
                    bin(
                        BinaryOp::Add,
                        Expr::Num(1.0),
                        bin(BinaryOp::Mul, init, var(&t_id)),
                    ),
                );
                let avg = self.smooth_chain(&p, &np, 1, var(&in_id), &t_id, avg_init, out)?;
                // trend = ZIDZ(input - average, time * ABS(average)); the
                // Vensim ZIDZ counts a divisor below 1e-6 as zero, so
                // elsewhere only an exact zero gives 0 (SAFEDIV). Vensim's
                // FORECAST divides by the average itself, without ABS
                // ("TRD = ZIDZ(input-AV, average time*AV)", its help page;
                // TREND's has ABS): a negative input's forecast moves with
                // its trend instead of against it.
                let scale = if s == Structure::Forecast && self.project.dialect == Dialect::Vensim {
                    avg.clone()
                } else {
                    call("abs", vec![avg.clone()])
                };
                let (num, den) = (
                    bin(BinaryOp::Sub, var(&in_id), avg),
                    bin(BinaryOp::Mul, var(&t_id), scale),
                );
                let trend = match self.project.dialect {
                    Dialect::Vensim => call("zidz", vec![num, den]),
                    _ => call("safediv", vec![num, den, Expr::Num(0.0)]),
                };
                Ok(match horizon {
                    None => trend,
                    Some(h) => bin(
                        BinaryOp::Mul,
                        var(&in_id),
                        bin(BinaryOp::Add, Expr::Num(1.0), bin(BinaryOp::Mul, trend, h)),
                    ),
                })
            }
            Structure::PinkNoise => {
                // Vensim RANDOM PINK NOISE(mean, sd, correlation time, seed):
                // white noise smoothed to first order over the correlation
                // time. The white noise is uniform, scaled (by
                // sqrt(24 * corr / DT)) so that the smoothed output has the
                // requested standard deviation; the smoothing stock starts at
                // the mean. Here `input` is the mean and `time` the sd.
                let corr = rest.first().cloned().unwrap_or(Expr::Num(1.0));
                let mut draw = vec![Expr::Num(0.0), Expr::Num(1.0)];
                draw.extend(rest.get(1).cloned());
                let white = bin(
                    BinaryOp::Add,
                    var(&in_id),
                    bin(
                        BinaryOp::Mul,
                        var(&t_id),
                        bin(
                            BinaryOp::Mul,
                            bin(
                                BinaryOp::Pow,
                                bin(
                                    BinaryOp::Div,
                                    bin(BinaryOp::Mul, Expr::Num(24.0), corr.clone()),
                                    var("dt"),
                                ),
                                Expr::Num(0.5),
                            ),
                            bin(BinaryOp::Sub, call("random_uniform", draw), Expr::Num(0.5)),
                        ),
                    ),
                );
                let corr_id = format!("{p}corr");
                Self::hidden(
                    out,
                    corr_id.clone(),
                    format!("{np}corr"),
                    FlatKind::Aux,
                    corr,
                )?;
                let avg = self.smooth_chain(&p, &np, 1, white, &corr_id, var(&in_id), out)?;
                Ok(avg)
            }
            Structure::Npv => {
                // time is the discount rate here.
                let init = rest.first().cloned().unwrap_or(Expr::Num(0.0));
                let factor = rest.get(1).cloned().unwrap_or(Expr::Num(1.0));
                let df = format!("{p}df");
                let df_out = format!("{p}df_out");
                let acc = format!("{p}acc");
                let acc_in = format!("{p}acc_in");
                let rate_dt = bin(BinaryOp::Mul, var(&t_id), var("dt"));
                // Vensim NPVE values the stream at the end of each period:
                // its discount factor starts at 1 / (1 + rate * TIME STEP).
                let df_init = if f == "npve" {
                    bin(
                        BinaryOp::Div,
                        Expr::Num(1.0),
                        bin(BinaryOp::Add, Expr::Num(1.0), rate_dt.clone()),
                    )
                } else {
                    Expr::Num(1.0)
                };
                Self::hidden(
                    out,
                    df.clone(),
                    format!("{np}df"),
                    FlatKind::Stock {
                        inflows: vec![],
                        outflows: vec![df_out.clone()],
                        non_negative: false,
                        limits: None,
                    },
                    df_init,
                )?;
                Self::hidden(
                    out,
                    df_out.clone(),
                    format!("{np}df_out"),
                    FlatKind::Flow {
                        non_negative: false,
                    },
                    bin(
                        BinaryOp::Div,
                        bin(BinaryOp::Mul, var(&df), var(&t_id)),
                        bin(BinaryOp::Add, Expr::Num(1.0), rate_dt),
                    ),
                )?;
                Self::hidden(
                    out,
                    acc_in.clone(),
                    format!("{np}acc_in"),
                    FlatKind::Flow {
                        non_negative: false,
                    },
                    bin(BinaryOp::Mul, var(&in_id), var(&df)),
                )?;
                Self::hidden(
                    out,
                    acc.clone(),
                    format!("{np}acc"),
                    FlatKind::Stock {
                        inflows: vec![acc_in],
                        outflows: vec![],
                        non_negative: false,
                        limits: None,
                    },
                    init,
                )?;
                if self.project.dialect == Dialect::Vensim {
                    // Vensim NPV = (NPV ACCUM + stream * TIME STEP * df) *
                    // factor (Vensim manual, NPV and NPVE).
                    let current = bin(
                        BinaryOp::Mul,
                        bin(BinaryOp::Mul, var(&in_id), var("dt")),
                        var(&df),
                    );
                    return Ok(bin(
                        BinaryOp::Mul,
                        bin(BinaryOp::Add, var(&acc), current),
                        factor,
                    ));
                }
                Ok(bin(BinaryOp::Mul, var(&acc), factor))
            }
        }
    }

    /// What every chain of n stages starts with: a hidden aux holding the
    /// initial value, and each stage's share of the total time.
    fn chain_start(
        p: &str,
        np: &str,
        n: usize,
        t_id: &str,
        init: Expr,
        out: &mut FlatModel,
    ) -> Result<(String, Expr)> {
        let init_id = format!("{p}init");
        Self::hidden(
            out,
            init_id.clone(),
            format!("{np}init"),
            FlatKind::Aux,
            init,
        )?;
        Ok((init_id, bin(BinaryOp::Div, var(t_id), Expr::Num(n as f64))))
    }

    /// n first-order smooths in series, each over time/n; returns the last stock.
    #[allow(clippy::too_many_arguments)]
    fn smooth_chain(
        &mut self,
        p: &str,
        np: &str,
        n: usize,
        input: Expr,
        t_id: &str,
        init: Expr,
        out: &mut FlatModel,
    ) -> Result<Expr> {
        let (init_id, stage_time) = Self::chain_start(p, np, n, t_id, init, out)?;
        let mut upstream = input;
        for i in 1..=n {
            let s = format!("{p}s{i}");
            let fl = format!("{p}f{i}");
            Self::hidden(
                out,
                fl.clone(),
                format!("{np}f{i}"),
                FlatKind::Flow {
                    non_negative: false,
                },
                bin(
                    BinaryOp::Div,
                    bin(BinaryOp::Sub, upstream, var(&s)),
                    stage_time.clone(),
                ),
            )?;
            Self::hidden(
                out,
                s.clone(),
                format!("{np}s{i}"),
                FlatKind::Stock {
                    inflows: vec![fl],
                    outflows: vec![],
                    non_negative: false,
                    limits: None,
                },
                var(&init_id),
            )?;
            upstream = var(&s);
        }
        Ok(upstream)
    }

    /// n first-order material delays in series, each over time/n; returns
    /// the last stage's outflow.
    ///
    /// With `lagged_output` (Vensim DELAY N) the output divides by the stage
    /// time of the previous step: "the output of the DELAY N function
    /// depends only on the values delay time had in previous Time Steps"
    /// (<https://vensim.com/documentation/fn_delay_n.html>). The inner
    /// stages use the current delay time; with a constant delay time both
    /// forms are the same. (The SDXorg delays reference confirms both: when
    /// the delay time steps up, the output first keeps the old divisor for
    /// one step. Vensim also holds DELAY N's output constant within a step
    /// under Runge-Kutta; here its stages integrate with the run's method
    /// like any stock, so only Euler runs are exact.)
    #[allow(clippy::too_many_arguments)]
    fn delay_chain(
        &mut self,
        p: &str,
        np: &str,
        n: usize,
        in_id: &str,
        t_id: &str,
        init: Expr,
        lagged_output: bool,
        out: &mut FlatModel,
    ) -> Result<Expr> {
        let (init_id, stage_time) = Self::chain_start(p, np, n, t_id, init, out)?;
        let last_divisor = if lagged_output {
            let lagged = format!("{p}lagged_time");
            Self::hidden(
                out,
                lagged.clone(),
                format!("{np}lagged_time"),
                FlatKind::Aux,
                call("previous", vec![stage_time.clone(), stage_time.clone()]),
            )?;
            var(&lagged)
        } else {
            stage_time.clone()
        };
        let mut inflow = in_id.to_string();
        for i in 1..=n {
            let s = format!("{p}s{i}");
            let r = format!("{p}r{i}");
            let divisor = if i == n {
                last_divisor.clone()
            } else {
                stage_time.clone()
            };
            Self::hidden(
                out,
                r.clone(),
                format!("{np}r{i}"),
                FlatKind::Flow {
                    non_negative: false,
                },
                bin(BinaryOp::Div, var(&s), divisor),
            )?;
            Self::hidden(
                out,
                s.clone(),
                format!("{np}s{i}"),
                FlatKind::Stock {
                    inflows: vec![inflow.clone()],
                    outflows: vec![r.clone()],
                    non_negative: false,
                    limits: None,
                },
                bin(BinaryOp::Mul, var(&init_id), stage_time.clone()),
            )?;
            inflow = r;
        }
        Ok(var(&inflow))
    }

    fn instantiate_macro(
        &mut self,
        f: &str,
        args: Vec<Expr>,
        owner: &str,
        owner_name: &str,
        out: &mut FlatModel,
    ) -> Result<Expr> {
        let project = self.project;
        let Some(m) = project.macros.iter().find(|m| m.ident == f) else {
            return Err(Error::UnknownFunction {
                variable: owner_name.into(),
                function: f.into(),
            });
        };
        let optional = m.defaults.iter().filter(|d| d.is_some()).count();
        check_arity(
            owner_name,
            &m.name,
            args.len(),
            m.params.len() - optional,
            m.params.len(),
        )?;
        let (p, np) = self.fresh(owner, owner_name, f);
        // Parameters a call leaves out take their defaults, which may name
        // the macro's earlier parameters (XMILE 1.0's own SMOOTH1 example:
        // `<parm default="input">initial</parm>`): those are this call's.
        let mut args = args;
        for d in m.defaults.iter().skip(args.len()).flatten() {
            let own = |n: &Expr| match n {
                Expr::Var(v, s) if m.params.contains(&crate::syntax::ident::canonicalize(v)) => {
                    Some(Expr::Var(
                        format!("{p}{}", crate::syntax::ident::canonicalize(v)),
                        *s,
                    ))
                }
                _ => None,
            };
            args.push(d.rewrite(&own));
        }
        if macro_calls_itself(m) {
            return Err(Error::BadModule {
                variable: owner_name.to_string(),
                message: format!(
                    "macro '{}' calls itself; macros cannot be recursive",
                    m.name
                ),
            });
        }
        if self.calling.is_empty() {
            self.caller = owner_name.to_string();
        }
        if let Some(k) = self.calling.iter().position(|c| *c == m.name) {
            let mut cycle = self.calling[k..].to_vec();
            cycle.push(m.name.clone());
            return Err(Error::BadModule {
                variable: self.caller.clone(),
                message: format!(
                    "macros {} call each other in a cycle; macros cannot be recursive",
                    cycle.join(" -> ")
                ),
            });
        }
        if self.calling.len() >= MAX_MACRO_DEPTH {
            return Err(Error::BadModule {
                variable: self.caller.clone(),
                message: format!(
                    "macro '{}' is nested more than {MAX_MACRO_DEPTH} deep",
                    m.name
                ),
            });
        }
        self.calling.push(m.name.clone());
        for (param, arg) in m.params.iter().zip(args) {
            Self::hidden(
                out,
                format!("{p}{param}"),
                format!("{np}{param}"),
                FlatKind::Aux,
                arg,
            )?;
        }
        let mut locals: rustc_hash::FxHashSet<&str> = m.params.iter().map(String::as_str).collect();
        locals.extend(m.variables.iter().map(|v| v.ident.as_str()));
        let scope = Scope {
            prefix: p.clone(),
            name_prefix: np.clone(),
            locals,
            dims: crate::compile::flatten::dimension_names(self.arrays.project),
        };
        for v in &m.variables {
            if !v.dims.is_empty() {
                self.arrays
                    .var_dims
                    .insert(format!("{p}{}", v.ident), v.dims.clone());
            }
        }
        for v in &m.variables {
            flatten_var(v, &scope, None, self, out, false)?;
        }
        let body = scope.resolve_expr(&m.eqn.expr, &m.name)?;
        let result = self.expand(&body, &format!("{p}result"), &format!("{np}result"), out)?;
        let rid = format!("{p}$result");
        Self::hidden(
            out,
            rid.clone(),
            format!("{np}$result"),
            FlatKind::Aux,
            result,
        )?;
        self.calling.pop();
        Ok(var(&rid))
    }
}

/// Whether any equation of macro `m` calls `m` itself (Vensim refuses
/// recursive macros; expanding one would never end).
fn macro_calls_itself(m: &crate::ir::Macro) -> bool {
    let found = std::cell::Cell::new(false);
    let visit = |e: &Expr| {
        e.rewrite(&|n| {
            if matches!(n, Expr::Call(g, ..) if *g == m.ident) {
                found.set(true);
            }
            None
        });
    };
    visit(&m.eqn.expr);
    m.variables.iter().flat_map(|v| v.exprs()).for_each(visit);
    found.get()
}
