//! Folding an expression to a number at the initial time, at compile time.
//!
//! The order of Vensim's DELAY N and SMOOTH N (and XMILE's DELAYN/SMTHN) is
//! an expression read once, at initialization, but the expanded structure
//! needs it when compiling. Folding evaluates the expression as the initial
//! phase would: TIME is the initial time, pure builtins (STEP, PULSE, MIN,
//! ...) are computed, and references to other variables are folded through
//! their equations. Anything that cannot be known before running (a stock,
//! a table, a stateful function) stops the fold and is named in the error.

use crate::compile::builtins::{self, TimeCtx};
use crate::ir::Dialect;
use crate::syntax::ast::{BinaryOp, Expr, UnaryOp};

/// Deepest chain of variables a fold may follow (also stops cycles).
const MAX_FOLD_DEPTH: usize = 16;

/// What folding needs to know about the model.
pub struct FoldCtx<'a> {
    /// A referenced variable's equation, if it is a plain scalar auxiliary
    /// (not a stock, not a table); `None` otherwise.
    pub var_expr: &'a dyn Fn(&str) -> Option<Expr>,
    pub dialect: Dialect,
    /// Time context at the initial time.
    pub time: TimeCtx,
}

/// Evaluate `e` at the initial time. `Err` carries the name of the
/// reference or function that could not be folded (empty when the
/// construct itself is not foldable).
pub fn fold(e: &Expr, ctx: &FoldCtx<'_>, depth: usize) -> Result<f64, String> {
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    match e {
        Expr::Num(n) => Ok(*n),
        Expr::Var(name, _) => {
            if depth >= MAX_FOLD_DEPTH {
                return Err(name.clone());
            }
            if let Some(x) = (ctx.var_expr)(name) {
                return fold(&x, ctx, depth + 1).map_err(|r| {
                    if r.is_empty() {
                        name.clone()
                    } else {
                        r
                    }
                });
            }
            let t = ctx.time;
            Ok(match name.as_str() {
                "time" | "starttime" | "initial_time" => t.start,
                "dt" | "time_step" => t.dt,
                "stoptime" | "final_time" => t.stop,
                "pi" => std::f64::consts::PI,
                _ => return Err(name.clone()),
            })
        }
        Expr::Subscript(name, _, _) => Err(name.clone()),
        Expr::Unary(op, a) => {
            let a = fold(a, ctx, depth)?;
            Ok(match op {
                UnaryOp::Neg => -a,
                UnaryOp::Plus => a,
                UnaryOp::Not => b(a == 0.0),
            })
        }
        Expr::Binary(op, x, y) => {
            let (x, y) = (fold(x, ctx, depth)?, fold(y, ctx, depth)?);
            Ok(match op {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                BinaryOp::Mul => x * y,
                BinaryOp::Div => x / y,
                BinaryOp::Pow => x.powf(y),
                BinaryOp::Mod => builtins::trunc_mod(x, y),
                BinaryOp::Eq => b(x == y),
                BinaryOp::Neq => b(x != y),
                BinaryOp::Lt => b(x < y),
                BinaryOp::Le => b(x <= y),
                BinaryOp::Gt => b(x > y),
                BinaryOp::Ge => b(x >= y),
                BinaryOp::And => b(x != 0.0 && y != 0.0),
                BinaryOp::Or => b(x != 0.0 || y != 0.0),
            })
        }
        Expr::If(c, x, y) => {
            if fold(c, ctx, depth)? != 0.0 {
                fold(x, ctx, depth)
            } else {
                fold(y, ctx, depth)
            }
        }
        Expr::Call(f, args, _) => {
            // INITIAL/GAME of a foldable value is that value at the start.
            if matches!(f.as_str(), "init" | "initial" | "game") && args.len() == 1 {
                return fold(&args[0], ctx, depth);
            }
            let Some((bi, min, max)) = builtins::lookup_in(f, ctx.dialect) else {
                return Err(f.clone());
            };
            if args.len() < min || args.len() > max {
                return Err(f.clone());
            }
            let vals = args
                .iter()
                .map(|a| fold(a, ctx, depth))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(builtins::eval(bi, &vals, ctx.time))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_time_functions_at_the_initial_time() {
        let none = |_: &str| None;
        let ctx = FoldCtx {
            var_expr: &none,
            dialect: Dialect::Vensim,
            time: TimeCtx {
                time: 0.0,
                dt: 1.0,
                start: 0.0,
                stop: 10.0,
                step_time: 0.0,
            },
        };
        // The SDXorg `delays` model's order: 2 + STEP(1, 10) is 2 at init.
        let e = crate::syntax::parse_equation("2 + STEP(1, 10)").unwrap();
        assert_eq!(fold(&e, &ctx, 0), Ok(2.0));
        let e = crate::syntax::parse_equation("x + 1").unwrap();
        assert_eq!(fold(&e, &ctx, 0), Err("x".to_string()));
    }
}
