//! Causal links between the flat variables, with a polarity read from the
//! equations.
//!
//! A link `x -> z` exists when `z`'s per-step equation reads `x` at the
//! current time, or when `x` is a flow of stock `z` (`+` inflow, `-`
//! outflow). References that only read the past (PREVIOUS's first
//! argument, INIT, DELAY FIXED's input) are lags, not instantaneous links,
//! and a stock's initial-value equation is not a link either: it acts once.
//!
//! The polarity is the sign of `dz/dx` as the expression's structure fixes
//! it, assuming (as modelers read diagrams) that the other factors of a
//! product or quotient are positive unless they are negative literals.
//! Anything the structure does not settle (a comparison, a condition that
//! reads `x`, a non-monotone function or table) is [`Polarity::Unknown`].

use crate::compile::flatten::{FlatKind, FlatModel};
use crate::ir::GraphicalFunction;
use crate::syntax::ast::{BinaryOp, Expr, UnaryOp};

/// The sign of a causal link (or of a feedback loop's product of links).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Polarity {
    Positive,
    Negative,
    Unknown,
}

impl Polarity {
    pub fn symbol(self) -> &'static str {
        match self {
            Polarity::Positive => "+",
            Polarity::Negative => "-",
            Polarity::Unknown => "?",
        }
    }

    /// The polarity of a chain of links: the product of the signs.
    pub fn then(self, other: Polarity) -> Polarity {
        match (self, other) {
            (Polarity::Unknown, _) | (_, Polarity::Unknown) => Polarity::Unknown,
            (a, b) if a == b => Polarity::Positive,
            _ => Polarity::Negative,
        }
    }
}

/// One causal link between flat variables (indices into `FlatModel::vars`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub from: usize,
    pub to: usize,
    pub polarity: Polarity,
}

/// How `z` changes when `x` rises: no dependence, a sign, or unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dep {
    None,
    Pos,
    Neg,
    Unknown,
}

impl Dep {
    fn flip(self) -> Dep {
        match self {
            Dep::Pos => Dep::Neg,
            Dep::Neg => Dep::Pos,
            d => d,
        }
    }

    /// Both terms move `z`: the same sign adds up, opposite signs are unknown.
    fn join(self, other: Dep) -> Dep {
        match (self, other) {
            (Dep::None, d) | (d, Dep::None) => d,
            (a, b) if a == b => a,
            _ => Dep::Unknown,
        }
    }

    /// Unknown if `x` is read at all (conditions, comparisons, ...).
    fn opaque(self) -> Dep {
        if self == Dep::None {
            Dep::None
        } else {
            Dep::Unknown
        }
    }

    fn times(self, sign: Sign) -> Dep {
        match sign {
            Sign::Pos => self,
            Sign::Neg => self.flip(),
            Sign::Zero => Dep::None,
            Sign::Unknown => self.opaque(),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Sign {
    Pos,
    Neg,
    Zero,
    Unknown,
}

impl Sign {
    fn flip(self) -> Sign {
        match self {
            Sign::Pos => Sign::Neg,
            Sign::Neg => Sign::Pos,
            s => s,
        }
    }

    fn times(self, other: Sign) -> Sign {
        match (self, other) {
            (Sign::Zero, _) | (_, Sign::Zero) => Sign::Zero,
            (Sign::Unknown, _) | (_, Sign::Unknown) => Sign::Unknown,
            (a, b) if a == b => Sign::Pos,
            _ => Sign::Neg,
        }
    }
}

/// The sign a factor is assumed to have: a literal's own; a variable, a
/// function value or a product/quotient/sum of positives positive (levels
/// and rates are, as modelers read a diagram); a difference, a condition or
/// anything else unknown (`z * (x - c)` can change sign, so its effect can).
fn assumed_sign(e: &Expr) -> Sign {
    match e {
        Expr::Num(v) if *v < 0.0 => Sign::Neg,
        Expr::Num(v) if *v == 0.0 => Sign::Zero,
        Expr::Num(_) | Expr::Var(..) | Expr::Subscript(..) | Expr::Call(..) => Sign::Pos,
        Expr::Unary(UnaryOp::Neg, a) => assumed_sign(a).flip(),
        Expr::Unary(UnaryOp::Plus, a) => assumed_sign(a),
        Expr::Binary(BinaryOp::Mul | BinaryOp::Div, a, b) => assumed_sign(a).times(assumed_sign(b)),
        Expr::Binary(BinaryOp::Add, a, b) => match (assumed_sign(a), assumed_sign(b)) {
            (x, y) if x == y => x,
            (Sign::Zero, y) => y,
            (x, Sign::Zero) => x,
            _ => Sign::Unknown,
        },
        Expr::Binary(BinaryOp::Pow, a, _) => match assumed_sign(a) {
            Sign::Pos => Sign::Pos,
            _ => Sign::Unknown,
        },
        _ => Sign::Unknown,
    }
}

/// Whether a graphical function rises, falls, or neither over its points.
pub fn table_slope(gf: &GraphicalFunction) -> Polarity {
    let (mut up, mut down) = (false, false);
    for w in gf.ys.windows(2) {
        up |= w[1] > w[0];
        down |= w[1] < w[0];
    }
    match (up, down) {
        (true, false) => Polarity::Positive,
        (false, true) => Polarity::Negative,
        _ => Polarity::Unknown,
    }
}

fn slope_dep(p: Polarity) -> Sign {
    match p {
        Polarity::Positive => Sign::Pos,
        Polarity::Negative => Sign::Neg,
        Polarity::Unknown => Sign::Unknown,
    }
}

/// How `z` moves with each variable its equation reads, found in one walk
/// down the expression: each node passes its children the sign with which
/// they reach the root, so a 100,000-term sum costs one pass, not one pass
/// per term.
struct Effects<'a> {
    flat: &'a FlatModel,
    /// (variable, effect), in first-read order.
    out: Vec<(usize, Dep)>,
    at: std::collections::HashMap<usize, usize>,
    /// Assumed signs of subexpressions, by address (each computed once).
    signs: std::collections::HashMap<usize, Sign>,
}

impl Effects<'_> {
    fn record(&mut self, v: usize, ctx: Sign) {
        let d = match ctx {
            Sign::Pos => Dep::Pos,
            Sign::Neg => Dep::Neg,
            Sign::Zero => Dep::None,
            Sign::Unknown => Dep::Unknown,
        };
        match self.at.get(&v) {
            Some(&k) => self.out[k].1 = self.out[k].1.join(d),
            None => {
                self.at.insert(v, self.out.len());
                self.out.push((v, d));
            }
        }
    }

    /// [`assumed_sign`], memoized so long products stay linear.
    fn sign(&mut self, e: &Expr) -> Sign {
        let key = e as *const Expr as usize;
        if let Some(&s) = self.signs.get(&key) {
            return s;
        }
        let s = match e {
            Expr::Unary(UnaryOp::Neg, a) => self.sign(a).flip(),
            Expr::Unary(UnaryOp::Plus, a) => self.sign(a),
            Expr::Binary(BinaryOp::Mul | BinaryOp::Div, a, b) => {
                let (x, y) = (self.sign(a), self.sign(b));
                x.times(y)
            }
            Expr::Binary(BinaryOp::Add, a, b) => match (self.sign(a), self.sign(b)) {
                (x, y) if x == y => x,
                (Sign::Zero, y) => y,
                (x, Sign::Zero) => x,
                _ => Sign::Unknown,
            },
            _ => assumed_sign(e),
        };
        self.signs.insert(key, s);
        s
    }

    fn slope_of(&self, table: &str) -> Sign {
        self.flat
            .index
            .get(table)
            .and_then(|&i| self.flat.vars[i].gf.as_ref())
            .map_or(Sign::Unknown, |gf| slope_dep(table_slope(gf)))
    }

    fn walk(&mut self, e: &Expr, ctx: Sign) {
        match e {
            Expr::Num(_) => {}
            Expr::Var(r, _) => {
                if let Some(&i) = self.flat.index.get(r.as_str()) {
                    self.record(i, ctx);
                }
            }
            // Scalarised away before this stage; read conservatively.
            Expr::Subscript(..) => {
                let mut refs = Vec::new();
                e.walk_refs(&mut |r| refs.push(r.to_string()));
                for r in refs {
                    if let Some(&i) = self.flat.index.get(r.as_str()) {
                        self.record(i, Sign::Unknown);
                    }
                }
            }
            Expr::Unary(UnaryOp::Neg, a) => self.walk(a, ctx.flip()),
            Expr::Unary(UnaryOp::Plus, a) => self.walk(a, ctx),
            Expr::Unary(UnaryOp::Not, a) => self.walk(a, Sign::Unknown),
            Expr::Binary(op, a, b) => match op {
                BinaryOp::Add => {
                    self.walk(a, ctx);
                    self.walk(b, ctx);
                }
                BinaryOp::Sub => {
                    self.walk(a, ctx);
                    self.walk(b, ctx.flip());
                }
                BinaryOp::Mul => {
                    let (sa, sb) = (self.sign(a), self.sign(b));
                    self.walk(a, ctx.times(sb));
                    self.walk(b, ctx.times(sa));
                }
                BinaryOp::Div => {
                    let (sa, sb) = (self.sign(a), self.sign(b));
                    self.walk(a, ctx.times(sb));
                    self.walk(b, ctx.flip().times(sa));
                }
                BinaryOp::Pow => {
                    let base = match b.as_ref() {
                        Expr::Num(v) if *v > 0.0 => ctx,
                        Expr::Num(v) if *v < 0.0 => ctx.flip(),
                        Expr::Num(_) => Sign::Zero,
                        _ => Sign::Unknown,
                    };
                    let exponent = match a.as_ref() {
                        Expr::Num(v) if *v > 1.0 => ctx,
                        Expr::Num(v) if *v > 0.0 && *v < 1.0 => ctx.flip(),
                        _ => Sign::Unknown,
                    };
                    self.walk(a, base);
                    self.walk(b, exponent);
                }
                _ => {
                    self.walk(a, Sign::Unknown);
                    self.walk(b, Sign::Unknown);
                }
            },
            Expr::If(c, a, b) => {
                self.walk(c, Sign::Unknown);
                self.walk(a, ctx);
                self.walk(b, ctx);
            }
            Expr::Call(f, args, _) => self.call(f, args, ctx),
        }
    }

    fn call(&mut self, f: &str, args: &[Expr], ctx: Sign) {
        // A graphical function called like a function: its slope.
        let table = self.flat.index.get(f).map(|&i| &self.flat.vars[i]);
        if table.is_some_and(|v| v.gf.is_some()) {
            let s = ctx.times(self.slope_of(f));
            args.iter().for_each(|a| self.walk(a, s));
            return;
        }
        let unknown =
            |me: &mut Self, args: &[Expr]| args.iter().for_each(|a| me.walk(a, Sign::Unknown));
        match f {
            "lookup" if args.len() == 2 => {
                let slope = match &args[0] {
                    Expr::Var(t, _) => self.slope_of(t),
                    other => {
                        self.walk(other, Sign::Unknown);
                        Sign::Unknown
                    }
                };
                self.walk(&args[1], ctx.times(slope));
            }
            // Lags: the current value of their input is not read.
            "previous" | "init" | "initial" => {}
            "delay_fixed" | "delay_material" | "delay_information" | "conveyor_delay"
            | "delay_conveyor" | "conveyor_leak" => unknown(self, args.get(1..).unwrap_or(&[])),
            // A non-negative stock's cap on an outflow: the flow's own links.
            "nonnegative_outflow" => {
                if let Some(a) = args.first() {
                    self.walk(a, ctx);
                }
            }
            "active_initial" => {
                if let Some(a) = args.first() {
                    self.walk(a, ctx);
                }
            }
            "if_then_else" if args.len() == 3 => {
                self.walk(&args[0], Sign::Unknown);
                self.walk(&args[1], ctx);
                self.walk(&args[2], ctx);
            }
            "sample_if_true" if args.len() == 3 => {
                self.walk(&args[0], Sign::Unknown);
                self.walk(&args[1], ctx);
                self.walk(&args[2], Sign::Unknown);
            }
            // Monotone increasing in every argument.
            "exp" | "ln" | "log10" | "sqrt" | "arctan" | "atan" | "tanh" | "sinh" | "int"
            | "integer" | "min" | "max" | "sum" => args.iter().for_each(|a| self.walk(a, ctx)),
            // Division guarded against zero.
            "xidz" | "zidz" | "safediv" if args.len() >= 2 => {
                let (sa, sb) = (self.sign(&args[0]), self.sign(&args[1]));
                self.walk(&args[0], ctx.times(sb));
                self.walk(&args[1], ctx.flip().times(sa));
                unknown(self, &args[2..]);
            }
            _ => unknown(self, args),
        }
    }
}

/// References a per-step equation reads at the current time (not through
/// a lag), in first-read order without repeats.
pub fn current_refs(e: &Expr, flat: &FlatModel, out: &mut Vec<usize>) {
    match e {
        Expr::Num(_) => {}
        Expr::Var(r, _) => {
            if let Some(&i) = flat.index.get(r.as_str()) {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        Expr::Subscript(..) => e.walk_refs(&mut |r| {
            if let Some(&i) = flat.index.get(r) {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }),
        Expr::Unary(_, a) => current_refs(a, flat, out),
        Expr::Binary(_, a, b) => {
            current_refs(a, flat, out);
            current_refs(b, flat, out);
        }
        Expr::If(c, a, b) => {
            current_refs(c, flat, out);
            current_refs(a, flat, out);
            current_refs(b, flat, out);
        }
        Expr::Call(f, args, _) => match f.as_str() {
            "previous" | "init" | "initial" => {}
            "delay_fixed" | "delay_material" | "delay_information" | "conveyor_delay"
            | "delay_conveyor" | "conveyor_leak" => {
                args.iter().skip(1).for_each(|a| current_refs(a, flat, out))
            }
            // ACTIVE INITIAL's second argument acts only while initializing;
            // a non-negative stock's outflow cap is not a drawn link.
            "active_initial" | "nonnegative_outflow" => {
                if let Some(a) = args.first() {
                    current_refs(a, flat, out)
                }
            }
            // A table called by name (`gf(x)`) is not a value read.
            _ => args.iter().for_each(|a| current_refs(a, flat, out)),
        },
    }
}

/// Every variable equation `e` reads at the current time, in first-read
/// order, with the polarity of its link into the variable whose own table
/// (if any) is `gf`.
pub fn polarities(
    flat: &FlatModel,
    e: &Expr,
    gf: Option<&GraphicalFunction>,
) -> Vec<(usize, Polarity)> {
    let mut fx = Effects {
        flat,
        out: Vec::new(),
        at: std::collections::HashMap::new(),
        signs: std::collections::HashMap::new(),
    };
    fx.walk(e, Sign::Pos);
    let slope = gf.map_or(Sign::Pos, |g| slope_dep(table_slope(g)));
    fx.out
        .into_iter()
        .map(|(v, d)| {
            let p = match d.times(slope) {
                Dep::Pos => Polarity::Positive,
                Dep::Neg => Polarity::Negative,
                // A reference the structure cannot sign (or cancels out).
                Dep::None | Dep::Unknown => Polarity::Unknown,
            };
            (v, p)
        })
        .collect()
}

/// Every causal link of the flat model, ordered by target then by the
/// order the target's equation reads its sources (flows of a stock:
/// inflows, then outflows).
pub fn causal_links(flat: &FlatModel) -> Vec<Link> {
    let mut links = Vec::new();
    for (z, v) in flat.vars.iter().enumerate() {
        match &v.kind {
            FlatKind::Stock {
                inflows, outflows, ..
            } => {
                for (flows, polarity) in [
                    (inflows, Polarity::Positive),
                    (outflows, Polarity::Negative),
                ] {
                    for f in flows {
                        if let Some(&from) = flat.index.get(f.as_str()) {
                            links.push(Link {
                                from,
                                to: z,
                                polarity,
                            });
                        }
                    }
                }
            }
            FlatKind::Flow { .. } | FlatKind::Aux => {
                let Some(e) = &v.expr else { continue };
                for (from, polarity) in polarities(flat, e, v.gf.as_ref()) {
                    // A table referenced only by name carries no value.
                    if flat.vars[from].expr.is_none() {
                        continue;
                    }
                    links.push(Link {
                        from,
                        to: z,
                        polarity,
                    });
                }
            }
        }
    }
    links
}
