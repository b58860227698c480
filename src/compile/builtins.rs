//! The pure (stateless) builtin functions: their names, arities and maths.
//!
//! Stateful builtins (SMTH*, DELAY*, TREND, ... expanded into stocks by
//! [`crate::compile::expand`]; PREVIOUS, INIT, DELAY, DELAY FIXED, SAMPLE
//! IF TRUE and the random draws run as
//! [`crate::compile::program::Op::Stateful`]) are not here. Names are
//! the canonical lower-case forms the parser produces. Vensim-only maths
//! lives in [`crate::compile::builtins_vensim`].

use crate::compile::program::MAX_CALL_ARGS;
use crate::ir::Dialect;

/// A stateless builtin function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Abs,
    /// `(partial change, change of the target, change of the source)`: an
    /// LTM link score (see [`ltm_link_score`]).
    LtmLinkScore,
    Arccos,
    Arcsin,
    Arctan,
    Cos,
    Sin,
    Tan,
    Sinh,
    Cosh,
    Tanh,
    Exp,
    Ln,
    Log10,
    /// `LOG(x, base)`
    Log,
    Sqrt,
    /// XMILE INT. The SDXorg reference outputs (Stella) truncate toward
    /// zero: INT(-9.9) = -9.
    Int,
    /// Truncation toward zero (Vensim INTEGER).
    Integer,
    Round,
    Mod,
    Power,
    Min,
    Max,
    /// isee `NORMALCDF(left, right[, mean, sd])`: the probability that a
    /// normal value (mean 0, sd 1 unless given) lies between left and right.
    NormalCdf,
    /// isee `INVNORM(p[, mean, sd])`: the value below which a normal value
    /// lies with probability p.
    InvNorm,
    /// A non-negative stock's cap on an outflow (isee): `flow` when it is
    /// not above `cap`, else `cap`. A flow that is not a number stays so
    /// (MIN would take the cap and empty the stock in one step).
    CapOutflow,
    /// A non-negative flow's floor: 0 below 0, else the flow; a flow that
    /// is not a number stays so (MAX(flow, 0) would turn a 0/0 into 0 and
    /// hide it).
    FloorZero,
    SafeDiv,
    /// `XIDZ(a, b, x)`
    Xidz,
    /// `ZIDZ(a, b)`
    Zidz,
    Pulse,
    Ramp,
    Step,
    Sign,
    /// `PI()` written as a call.
    Pi,
    /// `IF_THEN_ELSE(c, a, b)` in function form.
    IfThenElse,
    /// Vensim `PULSE(start, width)` (see [`crate::compile::builtins_vensim`]).
    VPulse,
    /// Vensim `STEP(height, step time)`: compares TIME + DT/2.
    VStep,
    /// Vensim `PULSE TRAIN(start, width, interval, end)`.
    PulseTrain,
    /// Vensim `QUANTUM(x, q)`.
    Quantum,
    /// Vensim `TIME BASE(t, dt)` = t + dt * TIME.
    TimeBase,
    /// Vensim `GET TIME VALUE(relative to, offset, measure)`.
    GetTimeValue,
    /// Vensim `MESSAGE('text', display)`, the text already dropped.
    Message,
    /// One entry of a matrix inverse: `(row, col, entries...)`, as
    /// INVERT MATRIX expands (see [`crate::compile::vector_fns`]).
    InvertMatrixElement,
    /// One requester's share: `(k, available, 5 values per requester)`,
    /// as ALLOCATE AVAILABLE expands (see [`crate::compile::allocate`]).
    AllocateAvailableElement,
    /// isee ALLOCATE's share, same arguments (exact normal curve, solved
    /// until the supply is used up).
    AllocateIseeElement,
    /// `(demanders, 5 values per demander, 5 per supplier)`: FIND MARKET
    /// PRICE (see [`crate::compile::allocate`]).
    FindMarketPriceElement,
    /// `(supply, 5 values per requester)`: MARKETP's market priority.
    MarketPriorityElement,
    /// Vensim `ALLOC P(request, priority, width, market priority)`.
    AllocP,
    /// `(quantity, type, priority, width, extra, price)`: SUPPLY AT PRICE.
    SupplyAtPriceElement,
    /// `(quantity, type, priority, width, extra, price)`: DEMAND AT PRICE.
    DemandAtPriceElement,
    /// `(k, direction, values...)`: VECTOR RANK's value for element k
    /// (see [`crate::compile::vector_order`]).
    VectorRankElement,
    /// `(k, direction, values...)`: VECTOR SORT ORDER at sorted position k.
    VectorSortOrderElement,
    /// `(k, direction, values..., tiebreakers...)`: isee RANK with its
    /// tiebreaker array, at sorted position k.
    RankTiebreakElement,
    /// `(offset, values...)`: VECTOR REORDER.
    ElementAt,
    /// XMILE's computed subscript: [`Builtin::ElementAt`], 0 outside the dimension.
    ElementAtZero,
    /// Vensim VECTOR ELM MAP: [`Builtin::ElementAt`], `:NA:` outside the variable
    /// ("an error message will be issued and :NA: will be returned").
    ElementAtNa,
    /// `(x, xmin, xmax, mode, y...)`: VECTOR LOOKUP (see
    /// [`crate::compile::vector_lookup`]).
    VectorLookupElement,
    /// ln(GAMMA(x)): Vensim GAMMA LN, isee GAMMALN.
    GammaLn,
    /// isee FV(rate, nper, pmt, pv): the future value of a loan or
    /// investment, isee's (and Excel's) sign convention (see [`annuity`]).
    Fv,
    /// isee PMT(rate, nper, pv, fv): the payment per period.
    Pmt,
    /// isee PV(rate, nper, pmt, fv): the present value.
    Pv,
    /// isee ROOTN(x, n): the n-th root; of a negative x only for odd n.
    RootN,
    /// `(contents, transit, DT, exponential, (f, start, end) per leakage)`:
    /// the rate an isee conveyor's initial contents entered at
    /// ([`crate::compile::conveyor::conveyor_spread`]).
    ConveyorSpread,
    /// isee FACTORIAL(n), n rounded.
    Factorial,
    /// isee COMBINATIONS(n, r): n! / (r! (n - r)!).
    Combinations,
    /// isee PERMUTATIONS(n, r): n! / (n - r)!.
    Permutations,
}

impl Builtin {
    /// True for builtins whose value depends on the simulation time.
    pub fn reads_time(self) -> bool {
        use Builtin::*;
        matches!(
            self,
            Pulse | Ramp | Step | VStep | VPulse | PulseTrain | TimeBase | GetTimeValue | Message
        )
    }
}

/// Functions Vensim or isee documents that this engine does not compute
/// (most have no reference run to check them against), with the tool that
/// defines them, so a model that calls one is told so rather than that the
/// function is unknown.
pub fn not_supported(name: &str) -> Option<&'static str> {
    Some(match name {
        "delay_batch"
        | "delay_profile"
        | "shift_if_true"
        | "queue_fifo"
        | "queue_fifo_attrib"
        | "queue_age_average"
        | "queue_age_in_range"
        | "queue_age_oldest"
        | "queue_attrib_average"
        | "queue_attrib_quantity"
        | "find_zero"
        | "simultaneous"
        | "depreciate_by_schedule"
        | "cumulate"
        | "cumulatef"
        | "net_present_value"
        | "get_vdf_data"
        | "get_vdf_constants"
        | "get_vdf_lookups" => "the Vensim",
        "irr" | "interpolate" | "ctmean" | "ctstddev" | "ctmax" | "ctmin" | "throughput"
        | "cycletime" => "the isee",
        _ => return None,
    })
}

/// Look up a builtin by canonical name in a dialect: Vensim names whose
/// meaning differs from XMILE's (PULSE, STEP, RAMP's arity) or that only
/// Vensim has take precedence when the project is Vensim.
pub fn lookup_in(name: &str, dialect: Dialect) -> Option<(Builtin, usize, usize)> {
    if dialect == Dialect::Vensim {
        if let Some(b) = crate::compile::builtins_vensim::lookup(name) {
            return Some(b);
        }
    }
    lookup(name)
}

/// Look up a builtin by canonical name: `(builtin, min args, max args)`.
pub fn lookup(name: &str) -> Option<(Builtin, usize, usize)> {
    use Builtin::*;
    Some(match name {
        // Internal: what array functions (INVERT MATRIX, ALLOCATE AVAILABLE,
        // VECTOR ...) and computed subscripts expand into, in any dialect.
        "invert_matrix_element" => (InvertMatrixElement, 3, MAX_CALL_ARGS),
        "allocate_available_element" => (AllocateAvailableElement, 7, MAX_CALL_ARGS),
        "allocate_isee_element" => (AllocateIseeElement, 7, MAX_CALL_ARGS),
        "find_market_price_element" => (FindMarketPriceElement, 11, MAX_CALL_ARGS),
        "market_priority_element" => (MarketPriorityElement, 6, MAX_CALL_ARGS),
        "supply_at_price_element" => (SupplyAtPriceElement, 6, 6),
        "demand_at_price_element" => (DemandAtPriceElement, 6, 6),
        "vector_rank_element" => (VectorRankElement, 3, MAX_CALL_ARGS),
        "vector_sort_order_element" => (VectorSortOrderElement, 3, MAX_CALL_ARGS),
        "rank_tiebreak_element" => (RankTiebreakElement, 4, MAX_CALL_ARGS),
        "element_at" => (ElementAt, 2, MAX_CALL_ARGS),
        "element_at_zero" => (ElementAtZero, 2, MAX_CALL_ARGS),
        "element_at_na" => (ElementAtNa, 2, MAX_CALL_ARGS),
        "vector_lookup_element" => (VectorLookupElement, 5, MAX_CALL_ARGS),
        "abs" => (Abs, 1, 1),
        "ltm_link_score" => (LtmLinkScore, 3, 3),
        "arccos" | "acos" => (Arccos, 1, 1),
        "arcsin" | "asin" => (Arcsin, 1, 1),
        "arctan" | "atan" => (Arctan, 1, 1),
        "cos" => (Cos, 1, 1),
        "sin" => (Sin, 1, 1),
        "tan" => (Tan, 1, 1),
        "sinh" => (Sinh, 1, 1),
        "cosh" => (Cosh, 1, 1),
        "tanh" => (Tanh, 1, 1),
        "exp" => (Exp, 1, 1),
        "ln" => (Ln, 1, 1),
        "log10" => (Log10, 1, 1),
        "log" => (Log, 2, 2),
        "sqrt" => (Sqrt, 1, 1),
        // A non-negative stock's cap on its outflow (isee), see
        // `syntax::xmile::variables::limit_outflows`.
        "nonnegative_outflow" => (CapOutflow, 2, 2),
        "normalcdf" => (NormalCdf, 2, 4),
        "invnorm" => (InvNorm, 1, 3),
        "gamma_ln" | "gammaln" => (GammaLn, 1, 1),
        "factorial" => (Factorial, 1, 1),
        "alloc_p" => (AllocP, 4, 4),
        "fv" => (Fv, 3, 4),
        "pmt" => (Pmt, 3, 4),
        "pv" => (Pv, 3, 4),
        "rootn" => (RootN, 2, 2),
        "conveyor_spread" => (ConveyorSpread, 4, MAX_CALL_ARGS),
        "combinations" => (Combinations, 2, 2),
        "permutations" => (Permutations, 2, 2),
        "int" => (Int, 1, 1),
        "integer" => (Integer, 1, 1),
        "round" => (Round, 1, 1),
        "mod" | "modulo" => (Mod, 2, 2),
        "power" => (Power, 2, 2),
        "min" => (Min, 1, MAX_CALL_ARGS),
        "max" => (Max, 1, MAX_CALL_ARGS),
        "safediv" => (SafeDiv, 2, 3),
        "xidz" => (Xidz, 3, 3),
        "zidz" => (Zidz, 2, 2),
        "pulse" => (Pulse, 1, 3),
        "ramp" => (Ramp, 2, 3),
        "step" => (Step, 2, 2),
        "sign" => (Sign, 1, 1),
        "pi" => (Pi, 0, 0),
        "if_then_else" => (IfThenElse, 3, 3),
        _ => return None,
    })
}

/// SIGN: 1, -1, or 0 for zero and NaN.
#[inline]
pub fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The time context pure builtins may read.
#[derive(Clone, Copy, Debug)]
pub struct TimeCtx {
    pub time: f64,
    pub dt: f64,
    pub start: f64,
    pub stop: f64,
    /// The time of the current whole step: equal to `time` except inside a
    /// Runge-Kutta stage, where Vensim's test inputs keep their step value.
    pub step_time: f64,
}

/// XMILE MOD as Stella computes it (the SDXorg `rounding` case): the
/// remainder takes the sign of the dividend, `-10 MOD 3 = -1`. Vensim's
/// MODULO agrees: its reference output for the same case has
/// `MODULO(-10, 3) = -1` and `MODULO(-9.9, 3) = -0.9`. (The XMILE 1.0 text
/// asks for Knuth's floored modulus, 2 there; the tools' own runs win.)
pub fn trunc_mod(a: f64, b: f64) -> f64 {
    a % b
}

/// An LTM link score from the link's partial change `dxz` of its target,
/// the target's change `dz` and its source's change `dx`: 0 where either
/// change is 0, else |dxz / dz| with the sign of dxz / dx. One builtin
/// instead of the nine operations of its IF (the score models of
/// [`crate::loops::instrument`] hold one per scored link); the same
/// arithmetic, so the same bits.
///
/// Computed whole and then selected, as the IF it replaces was: without a
/// branch, the batched engine's lanes vectorize its divisions.
#[inline]
pub fn ltm_link_score(dxz: f64, dz: f64, dx: f64) -> f64 {
    let v = (dxz / dz).abs() * sign(dxz / dx);
    if dz == 0.0 || dx == 0.0 {
        0.0
    } else {
        v
    }
}

/// Evaluate a builtin. `args.len()` is within the arity from [`lookup`].
pub fn eval(b: Builtin, args: &[f64], ctx: TimeCtx) -> f64 {
    use Builtin::*;
    let a = |i: usize| args.get(i).copied().unwrap_or(0.0);
    match b {
        Abs => a(0).abs(),
        LtmLinkScore => ltm_link_score(a(0), a(1), a(2)),
        Arccos => a(0).acos(),
        Arcsin => a(0).asin(),
        Arctan => a(0).atan(),
        Cos => a(0).cos(),
        Sin => a(0).sin(),
        Tan => a(0).tan(),
        Sinh => a(0).sinh(),
        Cosh => a(0).cosh(),
        Tanh => a(0).tanh(),
        Exp => a(0).exp(),
        Ln => a(0).ln(),
        Log10 => a(0).log10(),
        Log => a(0).ln() / a(1).ln(),
        Sqrt => a(0).sqrt(),
        GammaLn => crate::vm::random::ln_gamma(a(0)),
        Factorial => falling(a(0), a(0)),
        Combinations => {
            let (n, r) = (a(0).round(), a(1).round());
            let v = falling(n, r) / falling(r, r);
            if v.is_finite() || !(0.0..=n).contains(&r) {
                v
            } else {
                // Beyond 170!: through ln GAMMA (about 13 digits).
                use crate::vm::random::ln_gamma;
                (ln_gamma(n + 1.0) - ln_gamma(r + 1.0) - ln_gamma(n - r + 1.0)).exp()
            }
        }
        Permutations => falling(a(0), a(1)),
        // XMILE INT: the largest integer <= x (isee: INT(-7.5) = -8).
        Int => a(0).floor(),
        Integer => a(0).trunc(),
        Round => a(0).round(),
        Mod => trunc_mod(a(0), a(1)),
        Power => a(0).powf(a(1)),
        Min => args.iter().copied().fold(f64::INFINITY, f64::min),
        NormalCdf => {
            let (mean, sd) = (
                args.get(2).copied().unwrap_or(0.0),
                args.get(3).copied().unwrap_or(1.0),
            );
            normal_cdf((a(1) - mean) / sd) - normal_cdf((a(0) - mean) / sd)
        }
        InvNorm => {
            let (mean, sd) = (
                args.get(1).copied().unwrap_or(0.0),
                args.get(2).copied().unwrap_or(1.0),
            );
            mean + sd * normal_quantile(a(0))
        }
        CapOutflow => {
            if a(0) > a(1) {
                a(1)
            } else {
                a(0)
            }
        }
        Max => args.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ConveyorSpread => crate::compile::conveyor::conveyor_spread(args),
        Fv | Pmt | Pv => annuity(b, a(0), a(1), a(2), args.get(3).copied().unwrap_or(0.0)),
        RootN => {
            let (x, n) = (a(0), a(1));
            if x >= 0.0 {
                x.powf(1.0 / n)
            } else if n.fract() == 0.0 && n.rem_euclid(2.0) == 1.0 {
                -(-x).powf(1.0 / n)
            } else {
                f64::NAN
            }
        }
        FloorZero => {
            if a(0) < 0.0 {
                0.0
            } else {
                a(0)
            }
        }
        SafeDiv => {
            if a(1) == 0.0 {
                a(2)
            } else {
                a(0) / a(1)
            }
        }
        Xidz => {
            if a(1).abs() < VENSIM_ZERO_DIVISOR {
                a(2)
            } else {
                a(0) / a(1)
            }
        }
        Zidz => {
            if a(1).abs() < VENSIM_ZERO_DIVISOR {
                0.0
            } else {
                a(0) / a(1)
            }
        }
        // isee PULSE(volume[, first, interval]): with the volume alone, a
        // pulse at every DT from the start (so `IF cond THEN PULSE(v)`
        // pulses whenever cond holds); with no interval, one pulse.
        Pulse => match args.len() {
            1 => pulse(a(0), ctx.start, ctx.dt, ctx),
            2 => pulse(a(0), a(1), 0.0, ctx),
            _ => pulse(a(0), a(1), a(2), ctx),
        },
        Ramp => {
            let (slope, start) = (a(0), a(1));
            let t = if args.len() > 2 {
                ctx.time.min(a(2))
            } else {
                ctx.time
            };
            // Vensim's help: "IF THEN ELSE(Time > start time, ..., 0)": 0
            // at the start time itself, which matters only for an end time
            // before the start (the ramp is otherwise 0 there anyway).
            if ctx.time <= start {
                0.0
            } else {
                slope * (t - start)
            }
        }
        // Like Vensim's, XMILE's STEP and PULSE are events of the step:
        // inside a Runge-Kutta step they keep the step's value (Stella's
        // RK2 runs are reproduced only so), rather than switching between
        // the stages.
        Step => {
            if ctx.step_time >= a(1) {
                a(0)
            } else {
                0.0
            }
        }
        Sign => sign(a(0)),
        Pi => std::f64::consts::PI,
        IfThenElse => {
            if a(0) != 0.0 {
                a(1)
            } else {
                a(2)
            }
        }
        InvertMatrixElement => crate::compile::vector_fns::invert_matrix_element(args),
        AllocateAvailableElement => crate::compile::allocate::allocate_available_element(args),
        AllocateIseeElement => crate::compile::allocate::allocate_isee_element(args),
        FindMarketPriceElement => crate::compile::allocate::find_market_price(args),
        MarketPriorityElement => crate::compile::allocate::market_priority(args),
        AllocP => crate::compile::allocate::alloc_p(args),
        SupplyAtPriceElement => crate::compile::allocate::supply_at_price(args),
        DemandAtPriceElement => crate::compile::allocate::demand_at_price(args),
        VectorRankElement => crate::compile::vector_order::vector_rank_element(args),
        VectorSortOrderElement => crate::compile::vector_order::vector_sort_order_element(args),
        RankTiebreakElement => crate::compile::vector_order::rank_tiebreak_element(args),
        ElementAt => crate::compile::vector_order::element_at(args, f64::NAN),
        ElementAtZero => crate::compile::vector_order::element_at(args, 0.0),
        ElementAtNa => crate::compile::vector_order::element_at(args, crate::ir::VENSIM_NA),
        VectorLookupElement => crate::compile::vector_lookup::vector_lookup_element(args),
        VPulse | VStep | PulseTrain | Quantum | TimeBase | GetTimeValue | Message => {
            crate::compile::builtins_vensim::eval(b, args, ctx)
        }
    }
}

/// Vensim's XIDZ and ZIDZ treat a divisor as zero when it is "actually
/// smaller than 1E-6" in magnitude (Vensim Help, ZIDZ and XIDZ), not only
/// at exactly 0: ZIDZ(1, 1e-9) is 0, not 1e9. isee's SAFEDIV divides by
/// anything but 0.
pub const VENSIM_ZERO_DIVISOR: f64 = 1e-6;

/// isee's financial builtins solve one unknown of the annuity equation
/// `pv (1 + r)^n + pmt ((1 + r)^n - 1) / r + fv = 0` (`pv + pmt n + fv = 0`
/// when r = 0), payments at the end of each period, cash received positive
/// and paid out negative (isee help, "Financial builtins": a 10,000 loan
/// at 1% a month over 36 months pays PMT = -332.14). `b` names the unknown;
/// `x` and `y` are its two other arguments in isee's order: FV(rate,
/// nper, pmt, pv), PMT(rate, nper, pv, fv), PV(rate, nper, pmt, fv).
fn annuity(b: Builtin, r: f64, n: f64, x: f64, y: f64) -> f64 {
    // (1 + r)^n - 1 without the cancellation of a tiny rate.
    let g1 = (n * r.ln_1p()).exp_m1();
    let g = g1 + 1.0;
    // What one payment per period grows to by the end: (g - 1) / r.
    let growth = if r == 0.0 { n } else { g1 / r };
    match b {
        Builtin::Fv => -(y * g + x * growth),
        Builtin::Pmt => -(x * g + y) / growth,
        _ => -(y + x * growth) / g,
    }
}

/// n (n - 1) ... (n - k + 1) for n and k rounded, 0 <= k <= n (k = n: n!),
/// multiplied out so small cases are exact; NaN outside that range.
fn falling(n: f64, k: f64) -> f64 {
    let (n, k) = (n.round(), k.round());
    if !(0.0..=n).contains(&k) {
        return f64::NAN;
    }
    // Past 170! the product is infinite anyway; stop multiplying there.
    let steps = k.min(171.0) as u64;
    (0..steps).map(|i| n - i as f64).product()
}

/// XMILE PULSE: a pulse of *volume* `magnitude` (height magnitude/DT) at
/// `first` and every `interval` after (no repeat when interval <= 0).
fn pulse(magnitude: f64, first: f64, interval: f64, ctx: TimeCtx) -> f64 {
    let eps = ctx.dt * 1e-6;
    let time = ctx.step_time;
    if time + eps < first {
        return 0.0;
    }
    let since = time - first;
    let hit = if interval > 0.0 {
        let k = (since / interval + 1e-9).floor();
        (since - k * interval) < ctx.dt - eps
    } else {
        since < ctx.dt - eps
    };
    if hit {
        magnitude / ctx.dt
    } else {
        0.0
    }
}

/// The standard normal CDF, through erfc (exact to a few ulps, tails too).
fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// The standard normal quantile: Acklam's rational approximation (relative
/// error 1.15e-9), refined by one Halley step on [`normal_cdf`] to full
/// double precision. 0 and 1 give the infinities, anything else outside
/// [0, 1] NaN.
fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // Halley's step: e = CDF(x) - p, u = e / density(x).
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: TimeCtx = TimeCtx {
        time: 0.0,
        dt: 0.25,
        start: 0.0,
        stop: 10.0,
        step_time: 0.0,
    };

    #[test]
    fn modulo_takes_sign_of_dividend() {
        assert_eq!(eval(Builtin::Mod, &[-10.0, 3.0], CTX), -1.0);
        assert_eq!(eval(Builtin::Mod, &[7.0, 3.0], CTX), 1.0);
    }

    #[test]
    fn xmile_int_floors_and_vensim_integer_truncates() {
        assert_eq!(eval(Builtin::Int, &[-9.9], CTX), -10.0);
        assert_eq!(eval(Builtin::Int, &[9.9], CTX), 9.0);
        assert_eq!(eval(Builtin::Integer, &[-1.5], CTX), -1.0);
    }

    #[test]
    fn pulse_has_volume_magnitude() {
        let at = |t| TimeCtx {
            time: t,
            dt: 0.25,
            step_time: t,
            ..CTX
        };
        assert_eq!(eval(Builtin::Pulse, &[1.0, 2.0], at(1.75)), 0.0);
        assert_eq!(eval(Builtin::Pulse, &[1.0, 2.0], at(2.0)), 4.0);
        assert_eq!(eval(Builtin::Pulse, &[1.0, 2.0], at(2.25)), 0.0);
        assert_eq!(eval(Builtin::Pulse, &[1.0, 2.0, 3.0], at(5.0)), 4.0);
        assert_eq!(eval(Builtin::Pulse, &[1.0, 2.0, 3.0], at(5.25)), 0.0);
    }

    #[test]
    fn ramp_stops_at_end() {
        let at = |t| TimeCtx {
            time: t,
            dt: 1.0,
            step_time: t,
            ..CTX
        };
        assert_eq!(eval(Builtin::Ramp, &[2.0, 5.0], at(4.0)), 0.0);
        assert_eq!(eval(Builtin::Ramp, &[2.0, 5.0], at(7.0)), 4.0);
        assert_eq!(eval(Builtin::Ramp, &[2.0, 5.0, 6.0], at(9.0)), 2.0);
        // An end before the start: 0 up to the start, then slope * (end - start).
        assert_eq!(eval(Builtin::Ramp, &[1.0, 10.0, 5.0], at(10.0)), 0.0);
        assert_eq!(eval(Builtin::Ramp, &[1.0, 10.0, 5.0], at(11.0)), -5.0);
    }

    #[test]
    fn safe_divisions() {
        assert_eq!(eval(Builtin::SafeDiv, &[1.0, 0.0], CTX), 0.0);
        assert_eq!(eval(Builtin::SafeDiv, &[1.0, 0.0, 7.0], CTX), 7.0);
        assert_eq!(eval(Builtin::Xidz, &[1.0, 0.0, 3.0], CTX), 3.0);
        assert_eq!(eval(Builtin::Zidz, &[4.0, 2.0], CTX), 2.0);
        // Vensim: a divisor smaller than 1e-6 in magnitude counts as zero.
        assert_eq!(eval(Builtin::Zidz, &[1.0, 9.9e-7], CTX), 0.0);
        assert_eq!(eval(Builtin::Zidz, &[1.0, -9.9e-7], CTX), 0.0);
        assert_eq!(eval(Builtin::Xidz, &[1.0, 1e-9, 5.0], CTX), 5.0);
        assert_eq!(eval(Builtin::Zidz, &[1.0, 1e-6], CTX), 1e6);
        assert!((eval(Builtin::SafeDiv, &[1.0, 1e-9, 5.0], CTX) - 1e9).abs() < 1e-3);
    }

    #[test]
    fn min_max_take_any_number_of_args() {
        assert_eq!(eval(Builtin::Min, &[3.0, 1.0, 2.0], CTX), 1.0);
        assert_eq!(eval(Builtin::CapOutflow, &[3.0, 1.0], CTX), 1.0);
        assert_eq!(eval(Builtin::CapOutflow, &[0.5, 1.0], CTX), 0.5);
        assert!(eval(Builtin::CapOutflow, &[f64::NAN, 1.0], CTX).is_nan());
        // isee's example: 10,000 borrowed at 1% a month over 36 months.
        let pmt = eval(Builtin::Pmt, &[0.01, 36.0, 10_000.0, 0.0], CTX);
        assert!((pmt - -332.143_098_1).abs() < 1e-6, "{pmt}");
        // The same loan read back: paying pmt for 36 months repays it, and
        // its present value is what was borrowed.
        let fv = eval(Builtin::Fv, &[0.01, 36.0, pmt, 10_000.0], CTX);
        assert!(fv.abs() < 1e-8, "{fv}");
        let pv = eval(Builtin::Pv, &[0.01, 36.0, pmt, 0.0], CTX);
        assert!((pv - 10_000.0).abs() < 1e-8, "{pv}");
        // No interest: plain sums; the last argument defaults to 0.
        assert_eq!(eval(Builtin::Fv, &[0.0, 10.0, -100.0, -500.0], CTX), 1500.0);
        assert_eq!(eval(Builtin::Pmt, &[0.0, 10.0, 1000.0], CTX), -100.0);
        // A rate too small for (1 + r)^n - 1 to be computed directly.
        let tiny = eval(Builtin::Pmt, &[1e-17, 10.0, 1000.0], CTX);
        assert!((tiny - -100.0).abs() < 1e-9, "{tiny}");
        assert!((eval(Builtin::RootN, &[27.0, 3.0], CTX) - 3.0).abs() < 1e-15);
        assert_eq!(eval(Builtin::RootN, &[-32.0, 5.0], CTX), -2.0);
        assert!(eval(Builtin::RootN, &[-4.0, 2.0], CTX).is_nan());
        assert_eq!(eval(Builtin::FloorZero, &[-2.0], CTX), 0.0);
        assert_eq!(eval(Builtin::FloorZero, &[2.0], CTX), 2.0);
        assert!(eval(Builtin::FloorZero, &[f64::NAN], CTX).is_nan());
        // isee NORMALCDF(left, right[, mean, sd]) and INVNORM(p[, mean, sd]),
        // against tabulated normal values.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b.abs().max(1.0);
        assert!(close(eval(Builtin::NormalCdf, &[-99.0, 0.0], CTX), 0.5));
        assert!(close(
            eval(Builtin::NormalCdf, &[-1.0, 1.0], CTX),
            0.682_689_492_137_085_9
        ));
        assert!(close(
            eval(Builtin::NormalCdf, &[-99.0, 110.0, 100.0, 10.0], CTX),
            0.841_344_746_068_542_9
        ));
        assert!(close(
            eval(Builtin::InvNorm, &[0.975], CTX),
            1.959_963_984_540_054
        ));
        assert!(close(
            eval(Builtin::InvNorm, &[0.01], CTX),
            -2.326_347_874_040_841
        ));
        assert!(close(
            eval(Builtin::InvNorm, &[1e-10], CTX),
            -6.361_340_902_404_056
        ));
        assert!(close(
            eval(Builtin::InvNorm, &[0.5, 100.0, 15.0], CTX),
            100.0
        ));
        assert_eq!(eval(Builtin::InvNorm, &[0.0], CTX), f64::NEG_INFINITY);
        assert!(eval(Builtin::InvNorm, &[1.5], CTX).is_nan());
        assert_eq!(eval(Builtin::Max, &[3.0], CTX), 3.0);
    }

    #[test]
    fn counting_functions() {
        use Builtin::*;
        let call = |b: Builtin, args: &[f64]| eval(b, args, CTX);
        assert_eq!(call(Factorial, &[5.0]), 120.0);
        assert_eq!(call(Factorial, &[0.0]), 1.0);
        assert_eq!(call(Combinations, &[5.0, 3.0]), 10.0);
        assert_eq!(call(Combinations, &[52.0, 5.0]), 2_598_960.0);
        assert_eq!(call(Permutations, &[5.0, 3.0]), 60.0);
        assert!(call(Combinations, &[3.0, 5.0]).is_nan());
        assert!(call(Factorial, &[-1.0]).is_nan());
        // Past 170!: through ln GAMMA; C(200, 100) = 9.0548514656103e58,
        // C(1000, 500) = 2.7028824094543656e299 (both products overflow).
        let c = call(Combinations, &[200.0, 100.0]);
        assert!((c / 9.054_851_465_610_3e58 - 1.0).abs() < 1e-10, "{c}");
        let c = call(Combinations, &[1000.0, 500.0]);
        assert!((c / 2.702_882_409_454_365_6e299 - 1.0).abs() < 1e-9, "{c}");
        assert_eq!(call(GammaLn, &[5.0]), crate::vm::random::ln_gamma(5.0));
    }
}
