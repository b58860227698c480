//! Vensim ALLOCATE AVAILABLE and ALLOCATE BY PRIORITY: share a supply
//! among requesters by priority profiles.
//!
//! `ALLOCATE AVAILABLE(request[.., r], profile[.., r, ptype], available)`
//! ranges over the last dimension `r` of the request; the profile's last
//! subscript names the first element of a profile dimension whose elements
//! are (type, priority, width, extra). Scalarisation expands a call into the
//! internal builtin `allocate_available_element(k, available, then per
//! requester: request, type, priority, width, extra)` giving requester `k`'s
//! share, so every element reads all of the requests at once.
//!
//! Semantics, fitted to the SDXorg `allocate_available` reference (Vensim):
//! each requester gets `request * S(p)` where `S` is the survival function
//! of a distribution centred on its priority, and the common `p` is chosen
//! so the shares add up to the available supply (everyone gets the full
//! request when the supply covers the total, nothing when it is <= 0).
//! Types: 1 rectangular of full width `width`; 2 triangular of base
//! `width`; 3 normal with standard deviation `width`; 4 Laplace
//! (two-sided exponential) with scale `width`. Other types (fixed
//! quantity, constant elasticity) give NaN.

use crate::compile::arrays::{ArrayInfo, ElementCtx};
use crate::compile::program::MAX_CALL_ARGS;
use crate::error::{Error, Result};
use crate::syntax::ast::{Expr, IndexExpr, Span};
use crate::syntax::ident::canonicalize;

/// Requesters one call can take: 2 + 5 per requester within
/// [`MAX_CALL_ARGS`] arguments.
pub const MAX_REQUESTERS: usize = (MAX_CALL_ARGS - 2) / 5;

impl ArrayInfo<'_> {
    /// Expand `ALLOCATE AVAILABLE(request, profile, available)` for the
    /// element `ctx`.
    pub(crate) fn allocate_available(
        &self,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Expr> {
        let bad = |m: String| Error::BadSubscript {
            variable: variable.to_string(),
            message: format!("ALLOCATE AVAILABLE {m}"),
        };
        if args.len() != 3 {
            return Err(Error::WrongArgumentCount {
                variable: variable.to_string(),
                function: "ALLOCATE AVAILABLE".into(),
                expected: "3".into(),
                got: args.len(),
            });
        }
        let (Expr::Subscript(_, ridx, _), Expr::Subscript(pname, pidx, pspan)) =
            (&args[0], &args[1])
        else {
            return Err(bad("needs subscripted request and profile arguments".into()));
        };
        let (rd, requesters, k) = self.request_dim(ridx, ctx, variable, "ALLOCATE AVAILABLE")?;
        let profile_dim = self
            .var_dims
            .get(pname)
            .and_then(|d| d.last())
            .ok_or_else(|| bad(format!("profile '{pname}' is not an array")))?;
        let profile = self.elements(profile_dim, variable)?;
        if profile.len() < 3 {
            return Err(bad(format!(
                "needs a profile dimension of at least 3 elements (got {})",
                profile.len()
            )));
        }
        let mut call = vec![
            Expr::Num(k as f64),
            self.scalarize(&args[2], ctx, variable)?,
        ];
        for e in &requesters {
            let mut inner: ElementCtx = vec![(rd.clone(), e.clone())];
            inner.extend(ctx.iter().cloned());
            call.push(self.scalarize(&args[0], &inner, variable)?);
            for j in 0..4 {
                let Some(field) = profile.get(j) else {
                    call.push(Expr::Num(0.0));
                    continue;
                };
                let mut idx = pidx.clone();
                if let Some(last) = idx.last_mut() {
                    *last = IndexExpr::Expr(Expr::Var(field.clone(), *pspan));
                }
                let sub = Expr::Subscript(pname.clone(), idx, *pspan);
                call.push(self.scalarize(&sub, &inner, variable)?);
            }
        }
        Ok(Expr::Call(
            "allocate_available_element".into(),
            call,
            Span::default(),
        ))
    }

    /// The request's last subscript (the dimension shared out), its
    /// elements, and the position of the element being computed.
    fn request_dim(
        &self,
        ridx: &[IndexExpr],
        ctx: &ElementCtx,
        variable: &str,
        function: &str,
    ) -> Result<(String, Vec<String>, usize)> {
        let bad = |m: String| Error::BadSubscript {
            variable: variable.to_string(),
            message: format!("{function} {m}"),
        };
        let rd = match ridx.last() {
            Some(IndexExpr::Expr(Expr::Var(n, _))) => canonicalize(n),
            Some(IndexExpr::Wildcard(Some(d))) => d.clone(),
            _ => String::new(),
        };
        if self.project.dimension(&rd).is_none() {
            return Err(bad(
                "needs the request's last subscript to be a dimension".into()
            ));
        }
        let requesters = self.elements(&rd, variable)?;
        if requesters.len() > MAX_REQUESTERS {
            return Err(bad(format!(
                "takes at most {MAX_REQUESTERS} requesters (got {})",
                requesters.len()
            )));
        }
        let k = ctx
            .iter()
            .find(|(d, _)| *d == rd)
            .and_then(|(_, e)| requesters.iter().position(|x| x == e))
            .ok_or_else(|| bad(format!("must be computed per element of '{rd}'")))?;
        Ok((rd, requesters.to_vec(), k))
    }

    /// `ALLOCATE BY PRIORITY(request[.., r], priority[.., r], size, width,
    /// supply)`: ALLOCATE AVAILABLE with a rectangular profile of full
    /// width `width` for every requester (matches the SDXorg
    /// `allocate_by_priority` reference); `size` (the number of
    /// requesters) is implied by `r` and not read.
    pub(crate) fn allocate_by_priority(
        &self,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Expr> {
        const NAME: &str = "ALLOCATE BY PRIORITY";
        if args.len() != 5 {
            return Err(Error::WrongArgumentCount {
                variable: variable.to_string(),
                function: NAME.into(),
                expected: "5".into(),
                got: args.len(),
            });
        }
        let Expr::Subscript(_, ridx, _) = &args[0] else {
            return Err(Error::BadSubscript {
                variable: variable.to_string(),
                message: format!("{NAME} needs a subscripted request"),
            });
        };
        let (rd, requesters, k) = self.request_dim(ridx, ctx, variable, NAME)?;
        let mut call = vec![
            Expr::Num(k as f64),
            self.scalarize(&args[4], ctx, variable)?,
        ];
        for e in &requesters {
            let mut inner: ElementCtx = vec![(rd.clone(), e.clone())];
            inner.extend(ctx.iter().cloned());
            call.push(self.scalarize(&args[0], &inner, variable)?);
            call.push(Expr::Num(1.0));
            call.push(self.scalarize(&args[1], &inner, variable)?);
            call.push(self.scalarize(&args[3], &inner, variable)?);
            call.push(Expr::Num(0.0));
        }
        Ok(Expr::Call(
            "allocate_available_element".into(),
            call,
            Span::default(),
        ))
    }
}

/// Complementary error function (rational approximation, fractional error
/// below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The fraction of its request a requester gets at level `p`.
fn survival(kind: f64, priority: f64, width: f64, p: f64) -> f64 {
    let w = width.abs().max(1e-12);
    let x = p - priority;
    match kind.round() as i64 {
        1 => (0.5 - x / w).clamp(0.0, 1.0),
        2 => {
            let h = w / 2.0;
            if x <= -h {
                1.0
            } else if x >= h {
                0.0
            } else if x <= 0.0 {
                1.0 - (x + h) * (x + h) / (2.0 * h * h)
            } else {
                (h - x) * (h - x) / (2.0 * h * h)
            }
        }
        3 => 0.5 * erfc(x / (w * std::f64::consts::SQRT_2)),
        4 => {
            if x >= 0.0 {
                0.5 * (-x / w).exp()
            } else {
                1.0 - 0.5 * (x / w).exp()
            }
        }
        _ => f64::NAN,
    }
}

/// Requester `args[0]`'s share of supply `args[1]`; then five values per
/// requester (request, type, priority, width, extra). NaN on malformed
/// arguments or unsupported profile types.
pub fn allocate_available_element(args: &[f64]) -> f64 {
    let (Some(&k), Some(&available), Some(rest)) = (args.first(), args.get(1), args.get(2..))
    else {
        return f64::NAN;
    };
    if rest.len() % 5 != 0 || k < 0.0 || k as usize >= rest.len() / 5 {
        return f64::NAN;
    }
    // Iterated afresh each time: the VM never allocates.
    let req = || rest.chunks(5);
    let Some(mine) = req().nth(k as usize) else {
        return f64::NAN;
    };
    let total: f64 = req().map(|r| r[0].max(0.0)).sum();
    if available >= total {
        return mine[0].max(0.0);
    }
    if available <= 0.0 {
        return 0.0;
    }
    let supplied = |p: f64| -> f64 {
        req()
            .map(|r| r[0].max(0.0) * survival(r[1], r[2], r[3], p))
            .sum()
    };
    let span = req().map(|r| r[3].abs()).fold(1.0, f64::max) * 50.0;
    let mut lo = req().map(|r| r[2]).fold(f64::INFINITY, f64::min) - span;
    let mut hi = req().map(|r| r[2]).fold(f64::NEG_INFINITY, f64::max) + span;
    if supplied(lo).is_nan() {
        return f64::NAN;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if supplied(mid) > available {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let p = 0.5 * (lo + hi);
    mine[0].max(0.0) * survival(mine[1], mine[2], mine[3], p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Malformed calls give NaN rather than panicking.
    #[test]
    fn malformed_arguments_give_nan() {
        assert!(allocate_available_element(&[]).is_nan());
        assert!(allocate_available_element(&[3.0, 10.0, 5.0, 1.0, 1.0, 1.0, 0.0]).is_nan());
        assert!(allocate_available_element(&[0.0, 10.0, 5.0, 1.0]).is_nan());
        assert!(allocate_available_element(&[0.0, 1.0, 5.0, 9.0, 1.0, 1.0, 0.0]).is_nan());
    }

    #[test]
    fn supply_covering_demand_gives_every_request() {
        let a = [1.0, 100.0, 5.0, 1.0, 1.0, 1.0, 0.0, 7.0, 3.0, 2.0, 1.0, 0.0];
        assert_eq!(allocate_available_element(&a), 7.0);
        let none = [1.0, 0.0, 5.0, 1.0, 1.0, 1.0, 0.0, 7.0, 3.0, 2.0, 1.0, 0.0];
        assert_eq!(allocate_available_element(&none), 0.0);
    }
}
