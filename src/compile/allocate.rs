//! Vensim ALLOCATE AVAILABLE and ALLOCATE BY PRIORITY (share a supply
//! among requesters by priority profiles), isee ALLOCATE, and Vensim's
//! market functions FIND MARKET PRICE, SUPPLY AT PRICE and DEMAND AT PRICE
//! (the same profiles as supply and demand curves, [`market`]).
//!
//! `ALLOCATE AVAILABLE(request[.., r], profile[.., r, ptype], available)`
//! ranges over the last dimension `r` of the request; the profile's last
//! subscript names the first element of a profile dimension whose elements
//! are (type, priority, width, extra). Scalarisation expands a call into the
//! internal builtin `allocate_available_element(k, available, then per
//! requester: request, type, priority, width, extra)` giving requester `k`'s
//! share, so every element reads all of the requests at once. The curves
//! and Vensim's search for the common priority are in [`solve`].

mod market;
mod solve;

pub use market::{demand_at_price, find_market_price, supply_at_price};
pub use solve::{alloc_p, allocate_available_element, allocate_isee_element, market_priority};

use crate::compile::arrays::{ArrayInfo, ElementCtx};
use crate::compile::check_arity;
use crate::compile::program::MAX_CALL_ARGS;
use crate::error::{Error, Result};
use crate::syntax::ast::{Expr, IndexExpr, Span};
use crate::syntax::ident::canonicalize;

/// `name[idx]` with its last subscript replaced by the element `e`.
fn at_last(name: &str, idx: &[IndexExpr], span: Span, e: &str) -> Expr {
    let mut idx = idx.to_vec();
    if let Some(last) = idx.last_mut() {
        *last = IndexExpr::Expr(Expr::Var(e.to_string(), span));
    }
    Expr::Subscript(name.to_string(), idx, span)
}

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
        let profile = self.profile_dim(pname, "ALLOCATE AVAILABLE", variable)?;
        let available = self.scalarize(&args[2], ctx, variable)?;
        self.allocation(
            "allocate_available_element",
            k,
            available,
            (&rd, &requesters),
            ctx,
            |_, inner, out| {
                out.push(self.scalarize(&args[0], inner, variable)?);
                self.profile_fields((pname, pidx, *pspan), &profile, None, inner, variable, out)
            },
        )
    }

    /// Push a profile's (type, priority, width, extra) for the element
    /// `ctx`: `profile[.., r, ptype]` with its last subscript replaced by
    /// each field of the profile dimension `fields` (0 for a field the
    /// dimension lacks) and, when `at` is given, its second last by that
    /// element.
    fn profile_fields(
        &self,
        (name, idx, span): (&str, &[IndexExpr], Span),
        fields: &[String],
        at: Option<&str>,
        ctx: &ElementCtx,
        variable: &str,
        out: &mut Vec<Expr>,
    ) -> Result<()> {
        for j in 0..4 {
            let Some(field) = fields.get(j) else {
                out.push(Expr::Num(0.0));
                continue;
            };
            let mut idx = idx.to_vec();
            let n = idx.len();
            if let (Some(e), Some(slot)) = (at, n.checked_sub(2).and_then(|i| idx.get_mut(i))) {
                *slot = IndexExpr::Expr(Expr::Var(e.to_string(), span));
            }
            let sub = at_last(name, &idx, span, field);
            out.push(self.scalarize(&sub, ctx, variable)?);
        }
        Ok(())
    }

    /// The elements of a profile argument's last dimension (type,
    /// priority, width, extra), at least three of them.
    fn profile_dim(&self, name: &str, function: &str, variable: &str) -> Result<Vec<String>> {
        let bad = |m: String| Error::BadSubscript {
            variable: variable.to_string(),
            message: format!("{function} {m}"),
        };
        let dim = self
            .var_dims
            .get(name)
            .and_then(|d| d.last())
            .ok_or_else(|| bad(format!("profile '{name}' is not an array")))?;
        let profile = self.elements(dim, variable)?;
        if profile.len() < 3 {
            return Err(bad(format!(
                "needs a profile dimension of at least 3 elements (got {})",
                profile.len()
            )));
        }
        Ok(profile.to_vec())
    }

    /// `SUPPLY AT PRICE(quantity, profile[.., ptype], price)` or `DEMAND
    /// AT PRICE(...)` (`supply` false) for the element `ctx`: one curve
    /// read at one price, element by element.
    pub(crate) fn at_price(
        &self,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
        supply: bool,
    ) -> Result<Expr> {
        let name = if supply {
            "SUPPLY AT PRICE"
        } else {
            "DEMAND AT PRICE"
        };
        check_arity(variable, name, args.len(), 3, 3)?;
        let Expr::Subscript(pname, pidx, pspan) = &args[1] else {
            return Err(Error::BadSubscript {
                variable: variable.to_string(),
                message: format!("{name} needs a subscripted profile argument"),
            });
        };
        let profile = self.profile_dim(pname, name, variable)?;
        let mut call = vec![self.scalarize(&args[0], ctx, variable)?];
        self.profile_fields(
            (pname, pidx, *pspan),
            &profile,
            None,
            ctx,
            variable,
            &mut call,
        )?;
        call.push(self.scalarize(&args[2], ctx, variable)?);
        let f = if supply {
            "supply_at_price_element"
        } else {
            "demand_at_price_element"
        };
        Ok(Expr::Call(f.into(), call, Span::default()))
    }

    /// `FIND MARKET PRICE(demand[.., d1], demand profile[.., d1, ptype],
    /// supply[.., s1], supply profile[.., s1, ptype])`: the quantities'
    /// last subscript is the first demander (supplier), standing for its
    /// whole dimension, as Vensim requires. Expands into
    /// `find_market_price_element(demanders, then per demander and per
    /// supplier: quantity, type, priority, width, extra)`.
    pub(crate) fn find_market_price(
        &self,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Expr> {
        const NAME: &str = "FIND MARKET PRICE";
        check_arity(variable, NAME, args.len(), 4, 4)?;
        let mut call = Vec::new();
        let mut demanders = 0;
        for (side, pair) in args.chunks_exact(2).enumerate() {
            let (Expr::Subscript(qname, qidx, qspan), Expr::Subscript(pname, pidx, pspan)) =
                (&pair[0], &pair[1])
            else {
                return Err(Error::BadSubscript {
                    variable: variable.to_string(),
                    message: format!("{NAME} needs subscripted quantity and profile arguments"),
                });
            };
            let agents = self.agents(qname, NAME, variable)?;
            let profile = self.profile_dim(pname, NAME, variable)?;
            if side == 0 {
                demanders = agents.len();
            }
            for e in &agents {
                let quantity = at_last(qname, qidx, *qspan, e);
                call.push(self.scalarize(&quantity, ctx, variable)?);
                let at = Some(e.as_str());
                self.profile_fields(
                    (pname, pidx, *pspan),
                    &profile,
                    at,
                    ctx,
                    variable,
                    &mut call,
                )?;
            }
        }
        call.insert(0, Expr::Num(demanders as f64));
        if call.len() > MAX_CALL_ARGS {
            return Err(Error::BadSubscript {
                variable: variable.to_string(),
                message: format!(
                    "{NAME} takes at most {MAX_REQUESTERS} demanders and suppliers together (got {})",
                    (call.len() - 1) / 5
                ),
            });
        }
        Ok(Expr::Call(
            "find_market_price_element".into(),
            call,
            Span::default(),
        ))
    }

    /// Vensim `MARKETP(request[.., r1], priority[.., r1], size, width,
    /// supply)`: the market priority ALLOC P reads, the one at which
    /// ALLOCATE BY PRIORITY's rectangular curves share out the supply. The
    /// first element `r1` stands for the whole dimension (as in FIND MARKET
    /// PRICE); `size` is implied by it and not read. Expands into
    /// `market_priority_element(supply, per requester: request, 1,
    /// priority, width, 0)`.
    pub(crate) fn marketp(&self, args: &[Expr], ctx: &ElementCtx, variable: &str) -> Result<Expr> {
        const NAME: &str = "MARKETP";
        check_arity(variable, NAME, args.len(), 5, 5)?;
        let (Expr::Subscript(qname, qidx, qspan), Expr::Subscript(pname, pidx, pspan)) =
            (&args[0], &args[1])
        else {
            return Err(Error::BadSubscript {
                variable: variable.to_string(),
                message: format!("{NAME} needs subscripted request and priority arguments"),
            });
        };
        let requesters = self.agents(qname, NAME, variable)?;
        let width = self.scalarize(&args[3], ctx, variable)?;
        let mut call = vec![self.scalarize(&args[4], ctx, variable)?];
        for e in &requesters {
            call.push(self.scalarize(&at_last(qname, qidx, *qspan, e), ctx, variable)?);
            call.push(Expr::Num(1.0));
            call.push(self.scalarize(&at_last(pname, pidx, *pspan, e), ctx, variable)?);
            call.push(width.clone());
            call.push(Expr::Num(0.0));
        }
        if call.len() > MAX_CALL_ARGS {
            return Err(Error::BadSubscript {
                variable: variable.to_string(),
                message: format!(
                    "{NAME} takes at most {MAX_REQUESTERS} requesters (got {})",
                    requesters.len()
                ),
            });
        }
        Ok(Expr::Call(
            "market_priority_element".into(),
            call,
            Span::default(),
        ))
    }

    /// The demanders (suppliers) of a FIND MARKET PRICE quantity: the
    /// elements of its variable's last dimension.
    fn agents(&self, quantity: &str, function: &str, variable: &str) -> Result<Vec<String>> {
        let dim = self
            .var_dims
            .get(quantity)
            .and_then(|d| d.last())
            .ok_or_else(|| Error::BadSubscript {
                variable: variable.to_string(),
                message: format!("{function} needs '{quantity}' to be an array"),
            })?;
        let agents = self.elements(dim, variable)?;
        Ok(agents.to_vec())
    }

    /// The call giving requester `k`'s share:
    /// `element_fn(k, available, then per requester its request, type,
    /// priority, width and extra)` (`allocate_available_element`, or
    /// `allocate_isee_element` for isee's exact curves), which `fields` pushes
    /// for each requester of dimension `rd` (given its element and the
    /// element context with it).
    fn allocation(
        &self,
        element_fn: &str,
        k: usize,
        available: Expr,
        (rd, requesters): (&str, &[String]),
        ctx: &ElementCtx,
        mut fields: impl FnMut(&str, &ElementCtx, &mut Vec<Expr>) -> Result<()>,
    ) -> Result<Expr> {
        let mut call = vec![Expr::Num(k as f64), available];
        for e in requesters {
            let mut inner: ElementCtx = vec![(rd.to_string(), e.clone())];
            inner.extend(ctx.iter().cloned());
            fields(e, &inner, &mut call)?;
        }
        Ok(Expr::Call(element_fn.into(), call, Span::default()))
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
    /// element. The type numbers are Vensim's; `extra` defaults to 1. The
    /// normal curve is exact and the supply used up (see `solve::Curves`).
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
        self.allocation(
            "allocate_isee_element",
            k,
            available,
            (&rd, &requesters),
            ctx,
            |e, inner, out| {
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
            },
        )
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
        self.allocation(
            "allocate_available_element",
            k,
            available,
            (&rd, &requesters),
            ctx,
            |_, inner, out| {
                out.push(self.scalarize(&args[0], inner, variable)?);
                out.push(Expr::Num(1.0));
                out.push(self.scalarize(&args[1], inner, variable)?);
                out.push(self.scalarize(&args[3], inner, variable)?);
                out.push(Expr::Num(0.0));
                Ok(())
            },
        )
    }
}
