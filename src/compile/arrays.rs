//! Arrays: arrayed variables become one scalar slot per element.
//!
//! Scalarising at compile time keeps the VM free of array logic: every
//! element is an ordinary variable (`stock[a1,b2]`), so per-element
//! dependency order (a recurrence like `x[a2] = x[a1] * 2` is legal) and
//! per-element stateful builtins fall out of the scalar machinery. Array
//! reductions (SUM, MEAN, MIN, MAX, VMIN, VMAX, PROD, STDDEV, SIZE,
//! ELMCOUNT) expand into the
//! scalar expression over the slice's elements; an element range `x[a:b]`
//! (names or 1-based positions, `SUM(x[2:4])`) limits the elements one
//! dimension of the slice ranges over.

use rustc_hash::FxHashMap as HashMap;

use crate::error::{Error, Result};
use crate::ir::{Dialect, Project};
use crate::syntax::ast::{BinaryOp, Expr, IndexExpr, Span};
use crate::syntax::ident::canonicalize;

/// The element each dimension stands for while compiling one element of
/// an arrayed variable: (dimension ident, element canonical name).
pub type ElementCtx = Vec<(String, String)>;

/// Dimensions known to the compile, by canonical name, and the dims of
/// every arrayed variable by full canonical identifier.
pub struct ArrayInfo<'p> {
    pub project: &'p Project,
    pub var_dims: HashMap<String, Vec<String>>,
    /// Canonical element names of every dimension, computed once (large
    /// dimensions are consulted once per element of every variable).
    dims: HashMap<String, DimIndex>,
}

/// A dimension's canonical elements in order, and each one's position.
struct DimIndex {
    elements: Vec<String>,
    position: HashMap<String, usize>,
}

/// The flat identifier of one element.
pub fn element_ident(ident: &str, elems: &[String]) -> String {
    format!("{ident}[{}]", elems.join(","))
}

impl<'p> ArrayInfo<'p> {
    pub fn new(project: &'p Project) -> Self {
        let dims = project
            .dimensions
            .iter()
            .map(|d| {
                let elements: Vec<String> = d.elements.iter().map(|e| canonicalize(e)).collect();
                let mut position =
                    HashMap::with_capacity_and_hasher(elements.len(), Default::default());
                for (i, e) in elements.iter().enumerate() {
                    position.entry(e.clone()).or_insert(i);
                }
                (d.ident.clone(), DimIndex { elements, position })
            })
            .collect();
        ArrayInfo {
            project,
            var_dims: HashMap::default(),
            dims,
        }
    }

    /// Canonical element names of a dimension.
    pub fn elements(&self, dim: &str, variable: &str) -> Result<&[String]> {
        self.dims
            .get(dim)
            .map(|d| d.elements.as_slice())
            .ok_or_else(|| Error::BadSubscript {
                variable: variable.to_string(),
                message: format!("unknown dimension '{dim}'"),
            })
    }

    /// The 0-based position of element `elem` (canonical) in dimension
    /// `dim`, if it is one of its elements.
    pub fn position(&self, dim: &str, elem: &str) -> Option<usize> {
        self.dims.get(dim)?.position.get(elem).copied()
    }

    /// isee's `dimension.element` as a value: the element's 0-based
    /// position (Stella help: `size.medium` is 2 for small, medium,
    /// large), from the name scope resolution marked
    /// ([`crate::compile::flatten::DIMENSION_POSITION`]) where no module has
    /// the dimension's name.
    fn named_position(&self, name: &str) -> Option<usize> {
        let marked = name.strip_prefix(crate::compile::flatten::DIMENSION_POSITION)?;
        let (dim, elem) = marked.split_once('.')?;
        self.position(dim, &canonicalize(elem))
    }

    /// Display names of a dimension's elements.
    pub fn element_names(&self, dim: &str) -> Vec<String> {
        self.project
            .dimension(dim)
            .map(|d| d.elements.clone())
            .unwrap_or_default()
    }

    /// Every element tuple of `dims`, row-major (last dimension fastest),
    /// as (canonical names, display names).
    pub fn tuples(
        &self,
        dims: &[String],
        variable: &str,
    ) -> Result<Vec<(Vec<String>, Vec<String>)>> {
        let total = dims.iter().try_fold(1usize, |acc, d| {
            self.elements(d, variable)
                .map(|e| acc.saturating_mul(e.len().max(1)))
        })?;
        if total > crate::ir::MAX_ELEMENTS {
            return Err(Error::BadSubscript {
                variable: variable.to_string(),
                message: format!(
                    "{total} elements; at most {} are supported",
                    crate::ir::MAX_ELEMENTS
                ),
            });
        }
        let mut out = vec![(Vec::new(), Vec::new())];
        for d in dims {
            let canon = self.elements(d, variable)?;
            let names = self.element_names(d);
            let mut next = Vec::with_capacity(out.len() * canon.len());
            for (c, n) in &out {
                for (ce, ne) in canon.iter().zip(&names) {
                    let (mut c2, mut n2) = (c.clone(), n.clone());
                    c2.push(ce.clone());
                    n2.push(ne.clone());
                    next.push((c2, n2));
                }
            }
            out = next;
        }
        Ok(out)
    }

    /// Rewrite references to arrayed variables into element references for
    /// the element `ctx` (empty for a scalar variable), expanding reductions.
    pub fn scalarize(&self, e: &Expr, ctx: &ElementCtx, variable: &str) -> Result<Expr> {
        Ok(match e {
            Expr::Num(_) => e.clone(),
            Expr::Var(name, span) => match self.var_dims.get(name) {
                // A dimension name as a value: the position (1-based) of the
                // element being computed, as in XMILE and Vensim.
                None => match ctx.iter().find(|(d, _)| d == name) {
                    Some((d, elem)) => match self.position(d, elem) {
                        Some(i) => Expr::Num((i + 1) as f64),
                        None => e.clone(),
                    },
                    // A dimension the context fixes through a mapping
                    // (`s[A] = B` with `B: ... -> A`): that element's position.
                    None => match self
                        .mapped_element(name, ctx)
                        .and_then(|m| self.position(name, &m))
                        .or_else(|| self.named_position(name))
                    {
                        Some(i) => Expr::Num((i + 1) as f64),
                        None => {
                            match name.strip_prefix(crate::compile::flatten::DIMENSION_POSITION) {
                                Some(marked) => {
                                    return Err(Error::BadSubscript {
                                        variable: variable.to_string(),
                                        message: format!(
                                            "'{marked}' names no element of dimension '{}'",
                                            marked.split('.').next().unwrap_or(marked)
                                        ),
                                    })
                                }
                                None => e.clone(),
                            }
                        }
                    },
                },
                Some(dims) => {
                    let idx: Vec<IndexExpr> = dims
                        .iter()
                        .map(|d| IndexExpr::Expr(Expr::Var(d.clone(), *span)))
                        .collect();
                    let mut refs = self.slice(name, &idx, ctx, variable)?;
                    if refs.len() != 1 {
                        return Err(Error::BadSubscript {
                            variable: variable.to_string(),
                            message: format!("'{name}' is an array; use it inside an array function or subscript it"),
                        });
                    }
                    refs.remove(0)
                }
            },
            Expr::Subscript(name, idx, _) => {
                let mut refs = self.slice(name, idx, ctx, variable)?;
                if refs.len() != 1 {
                    return Err(Error::BadSubscript {
                        variable: variable.to_string(),
                        message: format!(
                            "'{name}[...]' selects {} elements where one value is needed",
                            refs.len()
                        ),
                    });
                }
                refs.remove(0)
            }
            Expr::Call(f, args, span) => {
                if let Some(r) = self.reduction(f, args, ctx, variable)? {
                    return Ok(r);
                }
                if let Some(r) = self.vector_fn(f, args, ctx, variable)? {
                    return Ok(r);
                }
                let args = args
                    .iter()
                    .map(|a| self.scalarize(a, ctx, variable))
                    .collect::<Result<Vec<_>>>()?;
                Expr::Call(f.clone(), args, *span)
            }
            Expr::Unary(op, a) => Expr::Unary(*op, Box::new(self.scalarize(a, ctx, variable)?)),
            Expr::Binary(op, a, b) => Expr::Binary(
                *op,
                Box::new(self.scalarize(a, ctx, variable)?),
                Box::new(self.scalarize(b, ctx, variable)?),
            ),
            Expr::If(c, a, b) => Expr::If(
                Box::new(self.scalarize(c, ctx, variable)?),
                Box::new(self.scalarize(a, ctx, variable)?),
                Box::new(self.scalarize(b, ctx, variable)?),
            ),
        })
    }

    /// The element references `name[idx]` selects under `ctx` (one for a
    /// full subscript, several for a slice with `*` or a free dimension).
    fn slice(
        &self,
        name: &str,
        idx: &[IndexExpr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Vec<Expr>> {
        let dims = self.var_dims.get(name).ok_or_else(|| Error::BadSubscript {
            variable: variable.to_string(),
            message: format!("'{name}' is not an array"),
        })?;
        if dims.len() != idx.len() {
            return Err(Error::BadSubscript {
                variable: variable.to_string(),
                message: format!(
                    "'{name}' has {} dimension(s) but {} subscript(s) were given",
                    dims.len(),
                    idx.len()
                ),
            });
        }
        let mut choices: Vec<Vec<String>> = Vec::with_capacity(dims.len());
        // Computed subscripts known only while running (`x[idx + 1]`): the
        // 1-based position expression, per subscript.
        let mut computed: Vec<Option<Expr>> = vec![None; dims.len()];
        for (p, (d, i)) in dims.iter().zip(idx).enumerate() {
            let elems = self.elements(d, variable)?;
            let position = match i {
                IndexExpr::Expr(Expr::Num(_)) => None,
                IndexExpr::Expr(Expr::Var(n, _)) if self.names_subscript(d, n, ctx) => None,
                // A variable or an expression: the position it computes.
                IndexExpr::Expr(e) => Some(self.scalarize(e, ctx, variable)?),
                _ => None,
            };
            match position {
                // Known while compiling (`x[D + 1]`): that element. (Outside
                // the dimension it is left to run time, where it reads the
                // dialect's out-of-range value, since such an index usually
                // sits in a branch that is not taken.)
                Some(e)
                    if constant(&e)
                        .is_some_and(|v| v.round() >= 1.0 && v.round() <= elems.len() as f64) =>
                {
                    let v = constant(&e).unwrap_or(f64::NAN);
                    let chosen = IndexExpr::Expr(Expr::Num(v));
                    choices.push(self.index_choice(d, elems, &chosen, ctx, variable)?);
                }
                Some(e) => {
                    computed[p] = Some(e);
                    choices.push(elems.to_vec());
                }
                None => choices.push(self.index_choice(d, elems, i, ctx, variable)?),
            }
        }
        let mut refs = vec![Vec::new()];
        for c in &choices {
            let mut next = Vec::new();
            for r in &refs {
                for e in c {
                    let mut r2: Vec<String> = r.clone();
                    r2.push(e.clone());
                    next.push(r2);
                }
            }
            refs = next;
        }
        let mut out: Vec<Expr> = refs
            .into_iter()
            .map(|r| Expr::Var(element_ident(name, &r), Span::default()))
            .collect();
        // Each computed subscript, last first, picks among the elements that
        // differ only there: ELEMENT AT(position - 1, ...).
        let mut stride = 1;
        for p in (0..dims.len()).rev() {
            let n = choices[p].len();
            if n == 0 {
                // Found by fuzzing: a computed subscript over an empty
                // dimension divided by zero below.
                return Err(Error::Unsupported {
                    variable: name.to_string(),
                    construct: "a subscript over a dimension with no elements".into(),
                });
            }
            if let Some(pos) = &computed[p] {
                let offset = Expr::Binary(
                    BinaryOp::Sub,
                    Box::new(pos.clone()),
                    Box::new(Expr::Num(1.0)),
                );
                // XMILE's computed subscript outside the dimension reads 0
                // (or NaN, as the file asks); Vensim's NaN.
                let pick =
                    if self.project.dialect == Dialect::Xmile && !self.project.invalid_index_nan {
                        "element_at_zero"
                    } else {
                        "element_at"
                    };
                let block = n * stride;
                let mut picked = Vec::with_capacity(out.len() / n);
                for b in 0..out.len() / block {
                    for s in 0..stride {
                        let mut args = vec![offset.clone()];
                        args.extend((0..n).map(|k| out[b * block + k * stride + s].clone()));
                        picked.push(Expr::Call(pick.into(), args, Span::default()));
                    }
                }
                out = picked;
            } else {
                stride *= n;
            }
        }
        Ok(out)
    }

    /// Whether the name `n` in a subscript of dimension `dim` names
    /// elements (an element, a dimension, `dim.element`, or a dimension the
    /// context fixes) rather than a variable whose value is the position.
    fn names_subscript(&self, dim: &str, n: &str, ctx: &ElementCtx) -> bool {
        let n = canonicalize(n);
        n == dim
            || ctx.iter().any(|(d, _)| *d == n)
            || self.position(dim, &n).is_some()
            || self.project.dimension(&n).is_some()
            || n.split_once('.')
                .is_some_and(|(d, e)| self.position(d, e).is_some())
    }

    /// Which elements of dimension `dim` one index selects.
    fn index_choice(
        &self,
        dim: &str,
        elems: &[String],
        i: &IndexExpr,
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Vec<String>> {
        let bad = |m: String| Error::BadSubscript {
            variable: variable.to_string(),
            message: m,
        };
        let has = |e: &str| self.position(dim, e).is_some();
        match i {
            // Inside a reduction the dimension a wildcard stands for is bound
            // (see `free_dims`); anywhere else it selects every element.
            IndexExpr::Wildcard(w) => {
                // `d!` binds first to a `d!` entry: a function ranging over
                // `d!` while the element being computed fixes a plain `d`.
                let d = w.as_deref().unwrap_or(dim);
                let bang = format!("{d}!");
                let bound = ctx.iter().find(|(x, _)| *x == bang);
                match bound.or_else(|| ctx.iter().find(|(x, _)| x == d)) {
                    Some((_, e)) if has(e) => Ok(vec![e.clone()]),
                    _ => Ok(elems.to_vec()),
                }
            }
            IndexExpr::DimPosition(p) => {
                let (_, e) = ctx
                    .get((*p as usize).saturating_sub(1))
                    .ok_or_else(|| bad(format!("@{p} has no matching dimension")))?;
                Ok(vec![e.clone()])
            }
            // `a:b` selects the elements from a to b; inside a reduction
            // the dimension is bound to one of them at a time.
            IndexExpr::Range(a, b) => {
                let range = self.range_elements(dim, elems, a, b, variable)?;
                let bang = format!("{dim}!");
                let bound = ctx.iter().find(|(x, _)| *x == bang);
                match bound.or_else(|| ctx.iter().find(|(x, _)| x == dim)) {
                    Some((_, e)) if range.contains(e) => Ok(vec![e.clone()]),
                    Some((_, e)) => Err(bad(format!("element '{e}' is outside the range"))),
                    None => Ok(range.to_vec()),
                }
            }
            IndexExpr::Expr(Expr::Var(n, _)) => {
                let n = canonicalize(n);
                // The same dimension (or one the context maps by name).
                if let Some((_, e)) = ctx.iter().find(|(d, _)| *d == n) {
                    if has(e) {
                        return Ok(vec![e.clone()]);
                    }
                    // A different dimension of the same size maps by position.
                    if self.elements(&n, variable)?.len() == elems.len() {
                        if let Some(p) = self.position(&n, e) {
                            return Ok(vec![elems[p].clone()]);
                        }
                    }
                    return Err(bad(format!(
                        "element '{e}' of '{n}' is not in dimension '{dim}'"
                    )));
                }
                if has(&n) {
                    return Ok(vec![n]);
                }
                // XMILE's `dimension.element` names an element explicitly.
                if let Some((d, e)) = n.split_once('.') {
                    if self.position(d, e).is_some() && has(e) {
                        return Ok(vec![e.to_string()]);
                    }
                }
                // A dimension the context fixes through a mapping (`A -> B`).
                if let Some(e) = self.mapped_element(&n, ctx) {
                    if has(&e) {
                        return Ok(vec![e]);
                    }
                }
                if n == dim || self.project.dimension(&n).is_some() {
                    // A dimension with no element fixed: the whole slice.
                    let sub = self.elements(&n, variable)?;
                    return Ok(sub.iter().filter(|e| has(e)).cloned().collect());
                }
                Err(bad(format!(
                    "'{n}' is neither an element of '{dim}' nor a dimension"
                )))
            }
            IndexExpr::Expr(Expr::Num(v)) => {
                let k = v.round() as usize;
                if *v >= 1.0 && k <= elems.len() {
                    Ok(vec![elems[k - 1].clone()])
                } else {
                    Err(bad(format!(
                        "index {v} is outside '{dim}' (1..={})",
                        elems.len()
                    )))
                }
            }
            IndexExpr::Expr(_) => Err(bad(
                "a computed subscript can only select one element of its dimension".into(),
            )),
        }
    }

    /// The elements an `a:b` range selects from dimension `dim`: bounds are
    /// element names or 1-based positions, in order.
    fn range_elements<'e>(
        &self,
        dim: &str,
        elems: &'e [String],
        a: &Expr,
        b: &Expr,
        variable: &str,
    ) -> Result<&'e [String]> {
        let bad = |m: String| Error::BadSubscript {
            variable: variable.to_string(),
            message: m,
        };
        let at = |e: &Expr| -> Result<usize> {
            match e {
                Expr::Var(n, _) => {
                    let n = canonicalize(n);
                    self.position(dim, &n).ok_or_else(|| {
                        bad(format!("range bound '{n}' is not an element of '{dim}'"))
                    })
                }
                Expr::Num(v) if v.fract() == 0.0 && *v >= 1.0 && *v <= elems.len() as f64 => {
                    Ok(*v as usize - 1)
                }
                Expr::Num(v) => Err(bad(format!(
                    "range bound {v} is not a position of '{dim}' (1..={})",
                    elems.len()
                ))),
                _ => Err(bad("range bounds must be element names or positions".into())),
            }
        };
        let (lo, hi) = (at(a)?, at(b)?);
        if lo > hi {
            return Err(bad(format!(
                "range {}:{} of '{dim}' runs backwards",
                elems[lo], elems[hi]
            )));
        }
        Ok(&elems[lo..=hi])
    }

    /// Ranges `a:b` in a reduction's argument, as (dimension, its elements
    /// in the range): the reduction visits only those elements.
    fn ranges_in(&self, e: &Expr, variable: &str) -> Result<Vec<(String, Vec<String>)>> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Num(_) | Expr::Var(..) => {}
                Expr::Subscript(n, idx, _) => {
                    for (k, i) in idx.iter().enumerate() {
                        match i {
                            IndexExpr::Range(a, b) => {
                                let Some(d) = self.var_dims.get(n).and_then(|ds| ds.get(k)) else {
                                    continue;
                                };
                                let elems = self.elements(d, variable)?;
                                let range = self.range_elements(d, elems, a, b, variable)?;
                                match out.iter_mut().find(|(x, _)| x == d) {
                                    // Two ranges over one dimension: their overlap.
                                    Some((_, have)) => have.retain(|x| range.contains(x)),
                                    None => out.push((d.clone(), range.to_vec())),
                                }
                            }
                            IndexExpr::Expr(x) => stack.push(x),
                            _ => {}
                        }
                    }
                }
                Expr::Call(_, args, _) => stack.extend(args.iter()),
                Expr::Unary(_, a) => stack.push(a),
                Expr::Binary(_, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                Expr::If(c, a, b) => {
                    stack.push(c);
                    stack.push(a);
                    stack.push(b);
                }
            }
        }
        Ok(out)
    }

    /// The element of dimension `dim` that the context fixes through a
    /// Vensim mapping declared on either side: `A: a1, a2 -> B` pairs A's
    /// and B's elements by position; `D: d1, d2 -> (A: SubA, a3)` stands
    /// `d1` for every element of `SubA` and `d2` for `a3`.
    fn mapped_element(&self, dim: &str, ctx: &ElementCtx) -> Option<String> {
        let target = self.project.dimension(dim)?;
        let elements = &self.dims.get(dim)?.elements;
        // `dim` maps onto a dimension the context fixes: the element of
        // `dim` whose mapped elements hold the context's element.
        for m in &target.maps_to {
            for (_, e) in ctx {
                let Some(pos) = self.position(&m.to, e) else {
                    continue;
                };
                let found = if m.elements.is_empty() {
                    elements.get(pos)
                } else {
                    m.elements
                        .iter()
                        .position(|list| list.contains(e))
                        .and_then(|i| elements.get(i))
                };
                if let Some(found) = found {
                    return Some(found.clone());
                }
            }
        }
        // Another dimension maps onto `dim`, e.g. a subrange of the
        // context's dimension: the element its mapping names.
        for source in &self.project.dimensions {
            if source.ident == target.ident {
                continue;
            }
            for m in source.maps_to.iter().filter(|m| m.to == dim) {
                for (_, e) in ctx {
                    let Some(pos) = self.position(&source.ident, e) else {
                        continue;
                    };
                    let found = if m.elements.is_empty() {
                        elements.get(pos)
                    } else {
                        // One element standing for several is no single element.
                        match m.elements.get(pos).map(Vec::as_slice) {
                            Some([one]) => Some(one),
                            _ => None,
                        }
                    };
                    if let Some(found) = found {
                        return Some(found.clone());
                    }
                }
            }
        }
        None
    }

    /// The dimensions a reduction's argument ranges over, in order of first
    /// appearance: every wildcard (`x[*]`, `x[*:d]`, Vensim `x[d!]`), every
    /// dimension name not fixed by the element being computed, and every
    /// dimension of an arrayed variable used without subscripts.
    pub(crate) fn free_dims(&self, e: &Expr, ctx: &ElementCtx) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |d: &str| {
            if !out.iter().any(|x| x == d) {
                out.push(d.to_string());
            }
        };
        let bound =
            |d: &str| ctx.iter().any(|(x, _)| x == d) || self.mapped_element(d, ctx).is_some();
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Num(_) => {}
                Expr::Var(n, _) => {
                    if let Some(dims) = self.var_dims.get(n) {
                        dims.iter().for_each(|d| add(d));
                    }
                }
                Expr::Subscript(n, idx, _) => {
                    let dims = self.var_dims.get(n);
                    for (k, i) in idx.iter().enumerate() {
                        match i {
                            IndexExpr::Wildcard(Some(d)) => add(d),
                            IndexExpr::Wildcard(None) | IndexExpr::Range(..) => {
                                if let Some(d) = dims.and_then(|ds| ds.get(k)) {
                                    add(d)
                                }
                            }
                            IndexExpr::Expr(Expr::Var(v, _)) => {
                                let v = canonicalize(v);
                                if self.project.dimension(&v).is_some() && !bound(&v) {
                                    add(&v)
                                }
                            }
                            IndexExpr::Expr(x) => stack.push(x),
                            _ => {}
                        }
                    }
                }
                Expr::Call(_, args, _) => stack.extend(args.iter().rev()),
                Expr::Unary(_, a) => stack.push(a),
                Expr::Binary(_, a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Expr::If(c, a, b) => {
                    stack.push(b);
                    stack.push(a);
                    stack.push(c);
                }
            }
        }
        out
    }

    /// Whether `e` ranges over a dimension the element being computed does
    /// not fix, outside any call: a whole array in a scalar equation, a
    /// wildcard slice (a SUM inside `e` is already one value).
    fn ranges_outside_calls(&self, e: &Expr, ctx: &ElementCtx) -> bool {
        let unbound =
            |d: &String| !ctx.iter().any(|(x, _)| x == d) && self.mapped_element(d, ctx).is_none();
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Var(..) | Expr::Subscript(..) => {
                    if self.free_dims(e, ctx).iter().any(unbound) {
                        return true;
                    }
                }
                Expr::Unary(..) | Expr::Binary(..) | Expr::If(..) => stack.extend(e.operands()),
                Expr::Num(_) | Expr::Call(..) => {}
            }
        }
        false
    }

    /// The scalar expressions of an array argument's elements: one per
    /// combination of the dimensions it ranges over (wildcards, `d!`, free
    /// dimension names, whole arrays), within any subranges it names.
    fn slice_items(&self, arg: &Expr, ctx: &ElementCtx, variable: &str) -> Result<Vec<Expr>> {
        // Evaluate the argument once per combination of the dimensions it
        // reduces over (wildcards, `d!`, free dimension names, whole arrays).
        let free = self.free_dims(arg, ctx);
        let ranges = self.ranges_in(arg, variable)?;
        let in_ranges = |canon: &[String]| {
            free.iter().zip(canon).all(|(d, e)| {
                ranges
                    .iter()
                    .find(|(x, _)| x == d)
                    .is_none_or(|(_, r)| r.contains(e))
            })
        };
        let mut items = Vec::new();
        for (canon, _) in self.tuples(&free, variable)? {
            if !in_ranges(&canon) {
                continue;
            }
            let mut inner: ElementCtx = free.iter().cloned().zip(canon).collect();
            inner.extend(ctx.iter().cloned());
            items.push(self.scalarize(arg, &inner, variable)?);
        }
        Ok(items)
    }

    /// SUM/MEAN/MIN/MAX/PROD/STDDEV/SIZE over an array argument.
    fn reduction(
        &self,
        f: &str,
        args: &[Expr],
        ctx: &ElementCtx,
        variable: &str,
    ) -> Result<Option<Expr>> {
        // ELMCOUNT(dim): the number of elements of a dimension.
        if matches!(f, "elmcount" | "size") && args.len() == 1 {
            if let Expr::Var(d, _) = &args[0] {
                if !self.var_dims.contains_key(d) {
                    if let Some(dim) = self.project.dimension(&canonicalize(d)) {
                        return Ok(Some(Expr::Num(dim.elements.len() as f64)));
                    }
                }
            }
        }
        // XMILE MIN, MAX and MEAN of several arguments, "any mix of arrays
        // and scalars" (XMILE 1.0, array builtins; isee's MAX(A, 0)): over
        // every element of every argument that ranges over a dimension the
        // element being computed does not fix (a whole array in a scalar
        // equation, a wildcard slice), and the others' values. In an
        // apply-to-all equation `MAX(A, 0)` over A's own dimension stays
        // element by element; MIN and MAX of scalars stay calls.
        if args.len() > 1 && matches!(f, "min" | "max" | "mean") {
            let ranging: Vec<bool> = args
                .iter()
                .map(|a| self.ranges_outside_calls(a, ctx))
                .collect();
            if f == "mean" || ranging.contains(&true) {
                let mut items = Vec::new();
                for (a, &ranges) in args.iter().zip(&ranging) {
                    if ranges {
                        items.extend(self.slice_items(a, ctx, variable)?);
                    } else {
                        items.push(self.scalarize(a, ctx, variable)?);
                    }
                }
                return Ok(Some(match f {
                    "mean" => {
                        let n = items.len() as f64;
                        Expr::Binary(
                            BinaryOp::Div,
                            Box::new(balanced(items, BinaryOp::Add, 0.0)),
                            Box::new(Expr::Num(n)),
                        )
                    }
                    _ => balanced_call(f, items),
                }));
            }
        }
        // isee RANK(array, rank[, tiebreaker]): the 1-based index of the
        // element at that rank, 1 the smallest (-1 the largest); equal
        // values are ordered by the tiebreaker array (the same way), then
        // by element order.
        if f == "rank" && (2..=3).contains(&args.len()) {
            let items = self.slice_items(&args[0], ctx, variable)?;
            let r = self.scalarize(&args[1], ctx, variable)?;
            let ties = match args.get(2) {
                Some(t) => Some(self.slice_items(t, ctx, variable)?),
                None => None,
            };
            if ties.as_ref().is_some_and(|t| t.len() != items.len()) {
                return Err(Error::BadSubscript {
                    variable: variable.to_string(),
                    message: "RANK's tiebreaker array must have as many elements as its array"
                        .into(),
                });
            }
            let passed = 2 + items.len() * if ties.is_some() { 2 } else { 1 };
            if passed > crate::compile::program::MAX_CALL_ARGS {
                return Err(Error::Unsupported {
                    variable: variable.to_string(),
                    construct: format!(
                        "RANK over {} elements{} (at most {} values are ranked)",
                        items.len(),
                        if ties.is_some() {
                            " with a tiebreaker"
                        } else {
                            ""
                        },
                        crate::compile::program::MAX_CALL_ARGS - 2
                    ),
                });
            }
            let at = |dir: f64, k: Expr| {
                let mut call = vec![k, Expr::Num(dir)];
                call.extend(items.iter().cloned());
                let f = match &ties {
                    Some(t) => {
                        call.extend(t.iter().cloned());
                        "rank_tiebreak_element"
                    }
                    None => "vector_sort_order_element",
                };
                Expr::Binary(
                    BinaryOp::Add,
                    Box::new(Expr::Call(f.into(), call, Default::default())),
                    Box::new(Expr::Num(1.0)),
                )
            };
            let minus = |a: Expr, b: Expr| Expr::Binary(BinaryOp::Sub, Box::new(a), Box::new(b));
            let rounded = Expr::Call("round".into(), vec![r], Default::default());
            return Ok(Some(Expr::If(
                Box::new(Expr::Binary(
                    BinaryOp::Gt,
                    Box::new(rounded.clone()),
                    Box::new(Expr::Num(0.0)),
                )),
                Box::new(at(1.0, minus(rounded.clone(), Expr::Num(1.0)))),
                Box::new(at(
                    0.0,
                    minus(
                        Expr::Unary(crate::syntax::ast::UnaryOp::Neg, Box::new(rounded)),
                        Expr::Num(1.0),
                    ),
                )),
            )));
        }
        let is_reduction = matches!(
            f,
            "sum" | "mean" | "prod" | "stddev" | "size" | "vmin" | "vmax"
        ) || (matches!(f, "min" | "max") && args.len() == 1);
        if !is_reduction || args.len() != 1 {
            return Ok(None);
        }
        let f = match f {
            "vmin" => "min",
            "vmax" => "max",
            other => other,
        };
        let items = self.slice_items(&args[0], ctx, variable)?;
        let n = items.len() as f64;
        let sum = |items: Vec<Expr>| balanced(items, BinaryOp::Add, 0.0);
        Ok(Some(match f {
            "sum" => sum(items),
            "size" => Expr::Num(n),
            "mean" => Expr::Binary(BinaryOp::Div, Box::new(sum(items)), Box::new(Expr::Num(n))),
            "prod" => balanced(items, BinaryOp::Mul, 1.0),
            "stddev" => {
                let mean = Expr::Binary(
                    BinaryOp::Div,
                    Box::new(sum(items.clone())),
                    Box::new(Expr::Num(n)),
                );
                let sq: Vec<Expr> = items
                    .into_iter()
                    .map(|x| {
                        let d = Expr::Binary(BinaryOp::Sub, Box::new(x), Box::new(mean.clone()));
                        Expr::Binary(BinaryOp::Mul, Box::new(d.clone()), Box::new(d))
                    })
                    .collect();
                Expr::Call(
                    "sqrt".into(),
                    vec![Expr::Binary(
                        BinaryOp::Div,
                        Box::new(sum(sq)),
                        Box::new(Expr::Num(n)),
                    )],
                    Span::default(),
                )
            }
            _ => balanced_call(f, items),
        }))
    }
}

/// The value of an arithmetic expression of numbers (a computed subscript
/// the compiler can settle), or `None` if it reads anything.
fn constant(e: &Expr) -> Option<f64> {
    use crate::syntax::ast::UnaryOp;
    Some(match e {
        Expr::Num(v) => *v,
        Expr::Unary(UnaryOp::Neg, a) => -constant(a)?,
        Expr::Unary(UnaryOp::Plus, a) => constant(a)?,
        Expr::Binary(op, a, b) => {
            let (a, b) = (constant(a)?, constant(b)?);
            match op {
                BinaryOp::Add => a + b,
                BinaryOp::Sub => a - b,
                BinaryOp::Mul => a * b,
                BinaryOp::Div => a / b,
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// Combine items with `op` as a balanced tree, so a reduction over many
/// elements nests only log2(n) deep (later stages recurse over trees).
pub(crate) fn balanced(mut items: Vec<Expr>, op: BinaryOp, empty: f64) -> Expr {
    match items.len() {
        0 => Expr::Num(empty),
        1 => items.remove(0),
        n => {
            let right = items.split_off(n / 2);
            Expr::Binary(
                op,
                Box::new(balanced(items, op, empty)),
                Box::new(balanced(right, op, empty)),
            )
        }
    }
}

/// `min`/`max` over many items: nested calls of at most 64 arguments.
pub(crate) fn balanced_call(f: &str, mut items: Vec<Expr>) -> Expr {
    while items.len() > 64 {
        items = items
            .chunks(64)
            .map(|c| Expr::Call(f.to_string(), c.to_vec(), Span::default()))
            .collect();
    }
    Expr::Call(f.to_string(), items, Span::default())
}
