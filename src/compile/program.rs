//! The instruction set: a small stack machine over numbered slots.
//!
//! Kept in its own module so its size is pinned by a test (every
//! instruction is 16 bytes), and so the VM and the code generator agree on
//! one definition. Every variable owns one slot; an equation compiles to a
//! [`Segment`] of ops that leaves the value on the stack and ends in a
//! [`Op::Store`].

use crate::compile::builtins::Builtin;

/// Arguments one builtin call may take. The array builtins that read a
/// whole vector per element (VECTOR SORT ORDER, ALLOCATE AVAILABLE, INVERT
/// MATRIX, ...) pass every element as an argument, so an arrayed call emits
/// about n^2 loads; this bound keeps that code to a few million ops.
pub const MAX_CALL_ARGS: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Const(f64),
    Load(u32),
    Store(u32),
    Time,
    Dt,
    Start,
    Stop,
    Neg,
    Not,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Mod,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    /// Pops `else`, `then`, `cond`; pushes `cond != 0 ? then : else`.
    Select,
    /// A pure builtin with `argc` arguments on the stack (at most
    /// [`MAX_CALL_ARGS`]).
    Call(Builtin, u16),
    /// Pops x, pushes the run's graphical function `n` at x.
    Lookup(u32),
    /// A Vensim lookup function over graphical function `n`: pops x (two
    /// bounds for [`TableFn::Area`]) and pushes the result.
    TableFn(u32, TableFn),
    /// A stateful builtin (PREVIOUS, INIT, DELAY, random draws): index into
    /// [`crate::compile::CompiledModel`]'s stateful table, and how many
    /// arguments this phase's code pushed (init and step code differ).
    Stateful(u32, u8),
    /// Pops a value and records it into stateful op `n`'s history (runs in
    /// the record program after each committed step).
    Record(u32),
}

/// The ops of one variable's equation: `code[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The flat variable (= slot) this segment computes.
    pub var: u32,
    pub start: u32,
    pub end: u32,
}

/// What a stateful op does; its arguments are on the stack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StatefulKind {
    /// `PREVIOUS(x, init)`: init code pushes (init), step code nothing; the
    /// record program stores x after each committed step.
    Previous,
    /// `INIT(x)`: init code pushes (x) and the op remembers it; step code
    /// pushes nothing.
    Init,
    /// `DELAY(x, d, init)`: init code pushes (init or x, d), step code
    /// nothing (isee's DELAY keeps the lag `d` had at the initial time), or
    /// (d) for HISTORY's lookback, whose lag moves; the record program
    /// appends x to the history after each committed step, and the step
    /// value is read back from that history at `time - d`.
    Delay,
    /// Random draws keyed by (seed, op, step): args per distribution.
    Random(RandomKind),
    /// XMILE `STEP` and `PULSE`: the call's value at the step's start,
    /// held through a Runge-Kutta step's stages (Stella computes them once
    /// per DT, height included). Init and step code push the value, which
    /// the op returns except inside a stage, where it returns the value the
    /// record program stored after the last committed step.
    Held,
    /// Vensim `DELAY FIXED(x, d, init)`: init code pushes (init, d), step
    /// code nothing; the record program appends x after each committed step
    /// and the value is the input exactly `max(1, round(d/dt))` steps ago
    /// (`init` before that), d being read once, at the initial time.
    DelayFixed,
    /// Vensim `DELAY MATERIAL(x, d, init, missing)`: DELAY FIXED whose
    /// delay time may vary. Init code pushes (init, d), step code
    /// (missing); the record program appends x and then d after each
    /// committed step. Input recorded at step j leaves at step
    /// `j + max(1, round(d_j/dt))`; what leaves together is added, the first
    /// `max(1, round(d_0/dt))` steps also carry `init`, and a later step at
    /// which nothing leaves gives `missing`.
    DelayMaterial,
    /// Vensim `DELAY INFORMATION(x, d, init)`: DELAY FIXED whose delay time
    /// may vary, recorded like [`StatefulKind::DelayMaterial`]; the value is
    /// the most recent input whose exit step has come (`init` before any
    /// has): a shortening delay skips inputs, a lengthening one holds.
    DelayInformation,
    /// Vensim `DEPRECIATE STRAIGHTLINE(str, dtime, fisc, init)`: init
    /// code pushes (init, str, dtime, fisc), step code (str, dtime, fisc);
    /// the record program appends str after each committed step. What
    /// was invested in a fiscal period (the sum of str * dt over its
    /// steps) is paid out evenly over the next dtime, starting in that
    /// period; see `vm::stateful::depreciate`.
    DepreciateStraightline,
    /// An isee conveyor's leakage flow, `conveyor_leak(x, len, init, start,
    /// end, f, mode)` (written by `syntax::xmile::variables::convey`): init
    /// code pushes (init, len, start, end, f, mode), step code (start, end,
    /// f, mode); the record program stores x after each committed step, and
    /// the history keeps each x followed by the running sum of the xs.
    /// Mode 0: linear leakage `f` over the zone `start..end` of a belt of
    /// `max(1, round(len / DT))` slats; 1: exponential leakage `f` per time
    /// unit; 2: the fraction of an entering amount the exponential leakage
    /// leaves to the outflow. See [`crate::compile::conveyor`].
    ConveyorLeak,
    /// Vensim `SAMPLE IF TRUE(cond, x, init)`: init code pushes (cond, x,
    /// init), step code (cond, x); the value is x when cond is true, else the
    /// value held since the last sample. The record program stores the value.
    SampleIfTrue,
    /// Vensim `DELAY CONVEYOR(x, ctime, leak, profile, total, init ctime)`:
    /// both phases push (ctime, leak, total, init ctime) and the profile's
    /// points (x0, y0, x1, y1, ...); the record program stores, per
    /// committed step, x, the share of the belt travelled in the step
    /// (`DT / ctime`) and the log of what the leakage keeps (`ln(1 - leak
    /// DT)`), which the history keeps as x and running sums. See
    /// `vm::stateful::conveyor`.
    DelayConveyor,
}

impl StatefulKind {
    /// Whether the op's history is indexed by step (one record per
    /// committed step), which only means a time while every step is equal.
    pub fn indexed_by_step(self) -> bool {
        matches!(
            self,
            StatefulKind::Delay
                | StatefulKind::DelayFixed
                | StatefulKind::DelayMaterial
                | StatefulKind::DelayInformation
                | StatefulKind::DepreciateStraightline
                | StatefulKind::ConveyorLeak
                | StatefulKind::DelayConveyor
        )
    }
}

/// The Vensim lookup functions that take a graphical-function name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFn {
    /// `LOOKUP EXTRAPOLATE(table, x)`: linear extrapolation beyond the ends.
    Extrapolate,
    /// `LOOKUP FORWARD(table, x)`: y of the first point with x_i >= x.
    Forward,
    /// `LOOKUP BACKWARD(table, x)`: y of the last point with x_i <= x.
    Backward,
    /// isee `LOOKUPINV(table, y)`: the x at which the (monotonic) table
    /// gives y; beyond its y range the first or last x, extrapolated on an
    /// extrapolating table.
    Invert,
    /// Vensim `LOOKUP INVERT(table, y)`: the same inside the y range, and
    /// `:NA:` outside it ("If y is outside the range of lookup ... the
    /// function will return :NA:", Vensim help).
    InvertNa,
    /// `LOOKUP AREA(table, x1, x2)`: the integral of the table from x1 to x2.
    Area,
    /// isee `LOOKUPAREA(table[, tox[, fromx]])`: the area under the table
    /// between the two bounds in either order (the table's ends when
    /// omitted, passed as -inf and +inf); beyond the points a continuous or
    /// discrete table counts as 0, an extrapolating one extrapolates.
    IseeArea,
    /// Vensim `LOOKUP SLOPE(table, x, mode)`: the table's slope at x (see
    /// `vm::table::slope` for the ends and the points).
    Slope,
    /// Vensim `GET DATA BETWEEN TIMES(data, time, mode)` (the time already
    /// rounded down to the run's time grid): mode 0 interpolates between
    /// the data's points, mode 1 (forward) takes the first point at or
    /// after the time, mode -1 (backward) the last point before it.
    DataBetween,
    /// Vensim `GET DATA FIRST TIME(data)`: the time of the first point.
    DataFirstTime,
    /// Vensim `GET DATA LAST TIME(data)`: the time of the last point.
    DataLastTime,
    /// Vensim `GET DATA TOTAL POINTS(data)`: the number of points.
    DataPoints,
    /// Vensim `GET DATA MAX(data, start, end)`: the largest value of the
    /// points from `start` to `end` (inclusive), `:NA:` when there are none.
    DataMax,
    /// Vensim `GET DATA MIN(data, start, end)`, as [`TableFn::DataMax`].
    DataMin,
    /// Vensim `GET DATA MEAN(data, start, end)`: the mean of those points.
    DataMean,
    /// The table read as a probability density (negative values as 0):
    /// the share of its area left of x. RANDOM LOOKUP's bounds.
    Cdf,
    /// The inverse of [`TableFn::Cdf`]: the x left of which lies share q
    /// of the area. RANDOM LOOKUP's draw.
    Quantile,
}

impl TableFn {
    /// Whether the op pops a second input (`x2`) below `x`.
    pub fn two_inputs(self) -> bool {
        matches!(
            self,
            TableFn::Area
                | TableFn::IseeArea
                | TableFn::Slope
                | TableFn::DataBetween
                | TableFn::DataMax
                | TableFn::DataMin
                | TableFn::DataMean
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RandomKind {
    /// RANDOM(min, max[, seed])
    Uniform,
    /// NORMAL(mean, sd[, seed])
    Normal,
    /// LOGNORMAL(mean, sd[, seed])
    LogNormal,
    /// EXPRND(mean[, seed])
    Exponential,
    /// POISSON(mean[, seed])
    Poisson,
    /// Vensim RANDOM UNIFORM(min, max, seed)
    VUniform,
    /// Vensim RANDOM NORMAL(min, max, mean, sd, seed)
    VNormal,
    /// Vensim RANDOM POISSON(min, max, mean, shift, stretch, seed)
    VPoisson,
    /// Vensim RANDOM EXPONENTIAL(min, max, shift, stretch, seed)
    VExponential,
    /// Vensim RANDOM TRIANGULAR(min, max, start, peak, end, seed)
    VTriangular,
    /// BETA(alpha, beta[, seed])
    Beta,
    /// BINOMIAL(trials, probability[, seed])
    Binomial,
    /// GAMMA(shape[, scale[, seed]]) (the scale is filled in as 1 when
    /// missing, so the seed is always the third argument)
    Gamma,
    /// GEOMETRIC(probability[, seed]): trials up to the first success
    Geometric,
    /// LOGISTIC(mean, scale[, seed])
    Logistic,
    /// PARETO(shape, scale[, seed])
    Pareto,
    /// TRIANGULAR(lower, mode, upper[, seed])
    Triangular,
    /// WEIBULL(shape, scale[, seed])
    Weibull,
    /// MONTECARLO(percent per time unit[, seed]): 1 with probability
    /// percent / 100 * DT (the argument arrives already scaled)
    Bernoulli,
    /// Vensim RANDOM BETA(min, max, alpha, beta, shift, stretch, seed)
    VBeta,
    /// Vensim RANDOM BINOMIAL(min, max, probability, trials, shift, stretch, seed)
    VBinomial,
    /// Vensim RANDOM GAMMA(min, max, order, shift, stretch, seed): mean 1
    VGamma,
    /// Vensim RANDOM NEGATIVE BINOMIAL(min, max, probability, successes,
    /// shift, stretch, seed): trials up to the given number of successes
    VNegativeBinomial,
    /// Vensim RANDOM WEIBULL(min, max, shape, shift, stretch, seed): mean 1
    VWeibull,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Op>(), 16);
    }
}
