//! Vensim ALLOCATE AVAILABLE and ALLOCATE BY PRIORITY: share a supply
//! among requesters by priority profiles.
//!
//! `ALLOCATE AVAILABLE(request[.., r], profile[.., r, ptype], available)`
//! ranges over the last dimension `r` of the request; the profile's last
//! subscript names the first element of a profile dimension whose elements
//! are (type, priority, width, extra). Scalarisation expands a call into the
//! internal builtin `allocate_available_element(k, available, then per
//! requester: request, type, priority, width, extra)` giving requester `k`'s
//! share, so every element reads all of the requests at once. The curves
//! and Vensim's search for the common priority are in [`solve`].

mod solve;

pub use solve::allocate_available_element;

use crate::compile::arrays::{ArrayInfo, ElementCtx};
use crate::compile::check_arity;
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
        check_arity(variable, "ALLOCATE AVAILABLE", args.len(), 3, 3)?;
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
        let available = self.scalarize(&args[2], ctx, variable)?;
        self.allocation(k, available, &rd, &requesters, ctx, |_, inner, out| {
            out.push(self.scalarize(&args[0], inner, variable)?);
            for j in 0..4 {
                let Some(field) = profile.get(j) else {
                    out.push(Expr::Num(0.0));
                    continue;
                };
                let mut idx = pidx.clone();
                if let Some(last) = idx.last_mut() {
                    *last = IndexExpr::Expr(Expr::Var(field.clone(), *pspan));
                }
                let sub = Expr::Subscript(pname.clone(), idx, *pspan);
                out.push(self.scalarize(&sub, inner, variable)?);
            }
            Ok(())
        })
    }

    /// The call giving requester `k`'s share:
    /// `allocate_available_element(k, available, then per requester its
    /// request, type, priority, width and extra)`, which `fields` pushes
    /// for each requester of `rd` (given its element and the element
    /// context with it).
    fn allocation(
        &self,
        k: usize,
        available: Expr,
        rd: &str,
        requesters: &[String],
        ctx: &ElementCtx,
        mut fields: impl FnMut(&str, &ElementCtx, &mut Vec<Expr>) -> Result<()>,
    ) -> Result<Expr> {
        let mut call = vec![Expr::Num(k as f64), available];
        for e in requesters {
            let mut inner: ElementCtx = vec![(rd.to_string(), e.clone())];
            inner.extend(ctx.iter().cloned());
            fields(e, &inner, &mut call)?;
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

    /// isee `ALLOCATE(available, r, requests, priorities, width, type
    /// [, extra])`: ALLOCATE AVAILABLE with the profile given as separate
    /// arguments over the requesters' dimension `r` (SDEverywhere's
    /// `allocate` model writes the same allocation both ways). Each
    /// argument is read per requester: a `*` over `r` (`priority[*, p]`)
    /// and a plain name or subscript `r` both mean that requester's
    /// element. The type numbers are Vensim's; `extra` defaults to 1.
    pub(crate) fn allocate_isee(
        &self,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Expr> {
        const NAME: &str = "ALLOCATE";
        check_arity(variable, NAME, args.len(), 6, 7)?;
        let rd = match &args[1] {
            Expr::Var(n, _) => canonicalize(n),
            _ => String::new(),
        };
        let dim = IndexExpr::Expr(Expr::Var(rd.clone(), Span::default()));
        let (rd, requesters, k) = self.request_dim(&[dim], ctx, variable, NAME)?;
        // `x[*, p]` over the requesters' dimension: that requester's element.
        let per_requester = |e: &Expr, elem: &str| -> Expr {
            match e {
                Expr::Subscript(n, idx, span) => {
                    let idx = idx
                        .iter()
                        .map(|i| match i {
                            IndexExpr::Wildcard(None) => {
                                IndexExpr::Expr(Expr::Var(elem.to_string(), *span))
                            }
                            IndexExpr::Wildcard(Some(d)) if *d == rd => {
                                IndexExpr::Expr(Expr::Var(elem.to_string(), *span))
                            }
                            other => other.clone(),
                        })
                        .collect();
                    Expr::Subscript(n.clone(), idx, *span)
                }
                other => other.clone(),
            }
        };
        let available = self.scalarize(&args[0], ctx, variable)?;
        self.allocation(k, available, &rd, &requesters, ctx, |e, inner, out| {
            let field = |a: &Expr| self.scalarize(&per_requester(a, e), inner, variable);
            // (request, type, priority, width, extra)
            out.push(field(&args[2])?);
            out.push(field(&args[5])?);
            out.push(field(&args[3])?);
            out.push(field(&args[4])?);
            out.push(match args.get(6) {
                Some(extra) => field(extra)?,
                None => Expr::Num(1.0),
            });
            Ok(())
        })
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
        check_arity(variable, NAME, args.len(), 5, 5)?;
        let Expr::Subscript(_, ridx, _) = &args[0] else {
            return Err(Error::BadSubscript {
                variable: variable.to_string(),
                message: format!("{NAME} needs a subscripted request"),
            });
        };
        let (rd, requesters, k) = self.request_dim(ridx, ctx, variable, NAME)?;
        let available = self.scalarize(&args[4], ctx, variable)?;
        self.allocation(k, available, &rd, &requesters, ctx, |_, inner, out| {
            out.push(self.scalarize(&args[0], inner, variable)?);
            out.push(Expr::Num(1.0));
            out.push(self.scalarize(&args[1], inner, variable)?);
            out.push(self.scalarize(&args[3], inner, variable)?);
            out.push(Expr::Num(0.0));
            Ok(())
        })
    }
}
