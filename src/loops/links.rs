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

struct Ctx<'a> {
    flat: &'a FlatModel,
    x: &'a str,
}

impl Ctx<'_> {
    fn dep(&self, e: &Expr) -> Dep {
        match e {
            Expr::Num(_) => Dep::None,
            Expr::Var(r, _) => {
                if r == self.x {
                    Dep::Pos
                } else {
                    Dep::None
                }
            }
            // Scalarised away before this stage; read conservatively.
            Expr::Subscript(..) => {
                let mut hit = false;
                e.walk_refs(&mut |r| hit |= r == self.x);
                if hit {
                    Dep::Unknown
                } else {
                    Dep::None
                }
            }
            Expr::Unary(UnaryOp::Neg, a) => self.dep(a).flip(),
            Expr::Unary(UnaryOp::Plus, a) => self.dep(a),
            Expr::Unary(UnaryOp::Not, a) => self.dep(a).opaque(),
            Expr::Binary(op, a, b) => {
                let (da, db) = (self.dep(a), self.dep(b));
                match op {
                    BinaryOp::Add => da.join(db),
                    BinaryOp::Sub => da.join(db.flip()),
                    BinaryOp::Mul => da.times(assumed_sign(b)).join(db.times(assumed_sign(a))),
                    BinaryOp::Div => da
                        .times(assumed_sign(b))
                        .join(db.flip().times(assumed_sign(a))),
                    BinaryOp::Pow => match (db, b.as_ref()) {
                        (Dep::None, Expr::Num(v)) if *v > 0.0 => da,
                        (Dep::None, Expr::Num(v)) if *v < 0.0 => da.flip(),
                        (Dep::None, Expr::Num(_)) => Dep::None,
                        (_, _) if da == Dep::None => match a.as_ref() {
                            Expr::Num(base) if *base > 1.0 => db,
                            Expr::Num(base) if *base > 0.0 && *base < 1.0 => db.flip(),
                            _ => db.opaque(),
                        },
                        _ => da.join(db).opaque(),
                    },
                    _ => da.join(db).opaque(),
                }
            }
            Expr::If(c, a, b) => self.dep(c).opaque().join(self.dep(a).join(self.dep(b))),
            Expr::Call(f, args, _) => self.call(f, args),
        }
    }

    fn all(&self, args: &[Expr]) -> Dep {
        args.iter().fold(Dep::None, |d, a| d.join(self.dep(a)))
    }

    fn call(&self, f: &str, args: &[Expr]) -> Dep {
        // A graphical function called like a function: its slope.
        if let Some(&i) = self.flat.index.get(f) {
            let slope = self.flat.vars[i]
                .gf
                .as_ref()
                .map_or(Polarity::Unknown, table_slope);
            let d = self.all(args);
            return if slope == Polarity::Unknown {
                d.opaque()
            } else {
                d.times(slope_dep(slope))
            };
        }
        match f {
            "lookup" if args.len() == 2 => {
                let slope = match &args[0] {
                    Expr::Var(t, _) => self
                        .flat
                        .index
                        .get(t)
                        .and_then(|&i| self.flat.vars[i].gf.as_ref())
                        .map_or(Polarity::Unknown, table_slope),
                    _ => Polarity::Unknown,
                };
                let d = self.dep(&args[1]);
                if slope == Polarity::Unknown {
                    d.opaque()
                } else {
                    d.times(slope_dep(slope))
                }
            }
            // Lags: the current value of their input is not read.
            "previous" | "init" | "initial" | "delay_fixed" => Dep::None,
            "active_initial" => args.first().map_or(Dep::None, |a| self.dep(a)),
            "if_then_else" if args.len() == 3 => self
                .dep(&args[0])
                .opaque()
                .join(self.dep(&args[1]).join(self.dep(&args[2]))),
            "sample_if_true" if args.len() == 3 => {
                self.dep(&args[0]).opaque().join(self.dep(&args[1]))
            }
            // Monotone increasing in every argument.
            "exp" | "ln" | "log10" | "sqrt" | "arctan" | "atan" | "tanh" | "sinh" | "int"
            | "integer" | "min" | "max" | "sum" => self.all(args),
            // Division guarded against zero.
            "xidz" | "zidz" | "safediv" if args.len() >= 2 => {
                let (da, db) = (self.dep(&args[0]), self.dep(&args[1]));
                let extra = args.get(2).map_or(Dep::None, |a| self.dep(a).opaque());
                da.times(assumed_sign(&args[1]))
                    .join(db.flip().times(assumed_sign(&args[0])))
                    .join(extra)
            }
            _ => self.all(args).opaque(),
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
            "delay_fixed" => args.iter().skip(1).for_each(|a| current_refs(a, flat, out)),
            // ACTIVE INITIAL's second argument acts only while initializing.
            "active_initial" => {
                if let Some(a) = args.first() {
                    current_refs(a, flat, out)
                }
            }
            // A table called by name (`gf(x)`) is not a value read.
            _ => args.iter().for_each(|a| current_refs(a, flat, out)),
        },
    }
}

/// The polarity of the link from `x` (an identifier) into equation `e`
/// of a variable whose own table (if any) is `gf`.
pub fn polarity(flat: &FlatModel, e: &Expr, x: &str, gf: Option<&GraphicalFunction>) -> Polarity {
    let d = Ctx { flat, x }.dep(e);
    let d = match gf.map(table_slope) {
        None => d,
        Some(Polarity::Unknown) => d.opaque(),
        Some(s) => d.times(slope_dep(s)),
    };
    match d {
        Dep::Pos => Polarity::Positive,
        Dep::Neg => Polarity::Negative,
        // A reference the structure cannot sign (or cancels out).
        Dep::None | Dep::Unknown => Polarity::Unknown,
    }
}

/// Every causal link of the flat model, ordered by target then by the
/// order the target's equation reads its sources (flows of a stock:
/// inflows, then outflows).
pub fn causal_links(flat: &FlatModel) -> Vec<Link> {
    let mut links = Vec::new();
    let mut refs = Vec::new();
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
                refs.clear();
                current_refs(e, flat, &mut refs);
                for &from in &refs {
                    // A table referenced only by name carries no value.
                    if flat.vars[from].expr.is_none() {
                        continue;
                    }
                    let polarity = polarity(flat, e, &flat.vars[from].ident, v.gf.as_ref());
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
