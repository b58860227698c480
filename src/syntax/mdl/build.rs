//! Joining classified records into IR: dimensions (with subranges built
//! from other ranges, numeric ranges and equivalences), variables (records
//! of one name merged; subscripted definitions become apply-to-all or
//! per-element equations) and the control variables' sim specs.

use rustc_hash::FxHashMap as HashMap;

use super::convert::{Body, Def, DimItem, VarRecord};
use super::external::{ExtKind, Resolved};
use super::rewrite::{fold_constants, substitute, uses_range_value, ElementValues};
use super::Ctx;
use crate::error::{Error, Result};
use crate::ir::{
    DimMapping, Dimension, DynamicSpecs, Equation, Equations, GraphicalFunction, SimSpecs, VarKind,
    Variable,
};
use crate::syntax::ast::{BinaryOp, Expr, IndexExpr, Span, UnaryOp};
use crate::syntax::ident::canonicalize;

use crate::ir::MAX_ELEMENTS;

/// Resolve subscript range definitions and equivalences into dimensions.
pub fn dimensions(ctx: &Ctx, defs: &[Def]) -> Result<Vec<Dimension>> {
    // A set: items are checked against it one by one, and a range may
    // list thousands of them.
    let names: rustc_hash::FxHashSet<String> = defs
        .iter()
        .filter_map(|d| match d {
            Def::Dim { name, .. } | Def::Equiv { name, .. } => Some(canonicalize(name)),
            _ => None,
        })
        .collect();
    let mut done: HashMap<String, Vec<String>> = HashMap::default();
    let mut pending: Vec<&Def> = defs
        .iter()
        .filter(|d| matches!(d, Def::Dim { .. } | Def::Equiv { .. }))
        .collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|d| {
            let (ident, elems) = match d {
                Def::Dim { name, items, .. } => {
                    let me = canonicalize(name);
                    let mut out: Vec<String> = Vec::new();
                    for DimItem::Name(n) in items {
                        let c = canonicalize(n);
                        if c != me && names.contains(&c) {
                            match done.get(&c) {
                                Some(e) => out.extend(e.iter().cloned()),
                                None => return true,
                            }
                        } else {
                            out.push(n.clone());
                        }
                    }
                    (me, out)
                }
                Def::Equiv { name, other, .. } => match done.get(&canonicalize(other)) {
                    Some(e) => (canonicalize(name), e.clone()),
                    None => return true,
                },
                _ => return false,
            };
            let mut seen = rustc_hash::FxHashSet::default();
            let elems = elems
                .into_iter()
                .filter(|e| seen.insert(canonicalize(e)))
                .collect();
            done.entry(ident).or_insert(elems);
            false
        });
        if pending.len() == before {
            let (name, offset) = match pending[0] {
                Def::Dim { name, offset, .. } | Def::Equiv { name, offset, .. } => {
                    (name.as_str(), *offset)
                }
                _ => ("", 0),
            };
            return Err(ctx.syntax(
                offset,
                name,
                "subscript range refers to an undefined range or to itself",
            ));
        }
    }
    let mut out: Vec<Dimension> = Vec::new();
    let mut made: rustc_hash::FxHashSet<String> = rustc_hash::FxHashSet::default();
    for d in defs {
        let (name, maps_to, offset) = match d {
            Def::Dim {
                name,
                maps_to,
                offset,
                ..
            } => (name, maps_to.as_slice(), *offset),
            Def::Equiv { name, offset, .. } => (name, &[][..], *offset),
            _ => continue,
        };
        let ident = canonicalize(name);
        if !made.insert(ident.clone()) {
            continue;
        }
        let elements = done.get(&ident).cloned().unwrap_or_default();
        let maps_to = maps_to
            .iter()
            .map(|(to, items)| mapping(ctx, &done, name, offset, elements.len(), to, items))
            .collect::<Result<Vec<_>>>()?;
        out.push(Dimension {
            name: name.clone(),
            elements,
            ident,
            indexed: false,
            maps_to,
        });
    }
    Ok(out)
}

/// One mapping of range `name` (with `count` elements) onto `to`: a list
/// names, per element, a target element or a subrange of the target
/// (expanded to its elements).
fn mapping(
    ctx: &Ctx,
    done: &HashMap<String, Vec<String>>,
    name: &str,
    offset: usize,
    count: usize,
    to: &str,
    items: &[String],
) -> Result<DimMapping> {
    let to = canonicalize(to);
    if items.is_empty() {
        return Ok(DimMapping::positional(to));
    }
    if items.len() != count {
        return Err(ctx.syntax(
            offset,
            name,
            format!(
                "the mapping to '{to}' lists {} item(s) for {count} element(s)",
                items.len()
            ),
        ));
    }
    let elements = items
        .iter()
        .map(|i| {
            let c = canonicalize(i);
            match done.get(&c) {
                Some(sub) => sub.iter().map(|e| canonicalize(e)).collect(),
                None => vec![c],
            }
        })
        .collect();
    Ok(DimMapping { to, elements })
}

/// Merge records into variables, in order of first appearance.
pub fn variables(ctx: &Ctx, dims: &[Dimension], recs: Vec<VarRecord>) -> Result<Vec<Variable>> {
    let mut groups: Vec<Vec<VarRecord>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::default();
    for r in recs {
        match index.get(&r.ident) {
            Some(&i) => groups[i].push(r),
            None => {
                index.insert(r.ident.clone(), groups.len());
                groups.push(vec![r]);
            }
        }
    }
    let idents: rustc_hash::FxHashSet<String> = groups
        .iter()
        .filter_map(|g| g.first())
        .map(|r| r.ident.clone())
        .collect();
    // Data variables with no equation: the only sources a data equation
    // with a keyword of its own copies from the data files (a `.vdf`
    // export holds every variable, computed ones too).
    let data_vars: rustc_hash::FxHashSet<String> = groups
        .iter()
        .filter(|g| g.iter().all(|r| matches!(r.body, Body::FromDataFiles(_))))
        .filter_map(|g| g.first())
        .map(|r| r.ident.clone())
        .collect();
    let values = ElementValues::new(dims);
    let mut out = Vec::new();
    for g in groups {
        out.extend(variable(ctx, dims, &values, (&idents, &data_vars), g)?);
    }
    Ok(out)
}

pub fn find_dim<'d>(dims: &'d [Dimension], name: &str) -> Option<&'d Dimension> {
    let c = canonicalize(name);
    dims.iter().find(|d| d.ident == c)
}

fn base(r: &VarRecord) -> Variable {
    Variable {
        name: r.name.clone(),
        ident: r.ident.clone(),
        kind: VarKind::Aux,
        equations: Equations::None,
        units: r.units.clone(),
        doc: r.doc.clone(),
        dims: Vec::new(),
        gf: None,
        line: Some(r.line),
    }
}

fn stock_kind(rate: Equation, limits: Option<crate::ir::StockLimits>) -> VarKind {
    VarKind::Stock {
        inflows: Vec::new(),
        outflows: Vec::new(),
        non_negative: false,
        limits,
        net_rate: Some(Box::new(rate)),
    }
}

/// `TIME`, the input of an external data variable's table.
fn time_eq(text: &str) -> Equation {
    Equation {
        text: text.to_string(),
        expr: Expr::Var("time".into(), Span::default()),
    }
}

/// A data variable's body from its tables of TIME (one per element,
/// row-major): a scalar is an equation of TIME with its table.
fn data_body(gfs: Vec<GraphicalFunction>, scalar: bool, text: String) -> Body {
    match <[_; 1]>::try_from(gfs) {
        Ok([gf]) if scalar => Body::Expr(time_eq(&text), Some(gf)),
        Ok([gf]) => Body::Data(vec![gf], text),
        Err(gfs) => Body::Data(gfs, text),
    }
}

fn num_eq(v: f64, text: &str) -> Equation {
    Equation {
        text: text.to_string(),
        expr: Expr::Num(v),
    }
}

fn variable(
    ctx: &Ctx,
    dims: &[Dimension],
    values: &ElementValues,
    (idents, data_vars): (
        &rustc_hash::FxHashSet<String>,
        &rustc_hash::FxHashSet<String>,
    ),
    mut g: Vec<VarRecord>,
) -> Result<Vec<Variable>> {
    for r in &mut g {
        let fold = |eq: &mut Equation| eq.expr = fold_constants(&eq.expr, dims, values, idents);
        match &mut r.body {
            Body::Expr(eq, _) => fold(eq),
            Body::Stock { rate, init, .. } => {
                fold(rate);
                fold(init);
            }
            _ => {}
        }
    }
    // Elements each record covers, per position.
    let unknown = |r: &VarRecord, s: &str| {
        ctx.syntax(
            r.offset,
            &r.name,
            format!("'{s}' is neither a subscript range nor an element of one"),
        )
    };
    let expand = |r: &VarRecord, s: &str| -> Result<Vec<String>> {
        if let Some(d) = find_dim(dims, s) {
            return Ok(d.elements.clone());
        }
        let c = canonicalize(s);
        if dims
            .iter()
            .any(|d| d.elements.iter().any(|e| canonicalize(e) == c))
        {
            Ok(vec![s.to_string()])
        } else {
            Err(unknown(r, s))
        }
    };
    for r in &mut g {
        // Data read from files: one table per element of the subscripts.
        if !matches!(
            r.body,
            Body::DataOf { .. } | Body::FromDataFiles(_) | Body::External(_)
        ) {
            continue;
        }
        let lists: Vec<Vec<String>> = r.subs.iter().map(|s| expand(r, s)).collect::<Result<_>>()?;
        if let Body::DataOf {
            source,
            interp,
            body,
        } = &r.body
        {
            let found = data_vars
                .contains(&canonicalize(source))
                .then(|| ctx.data.data_variable(source, &product(&lists), *interp));
            r.body = match found {
                Some(Ok((gfs, missing))) if missing.is_empty() => {
                    data_body(gfs, r.subs.is_empty(), format!("(data of {source})"))
                }
                // Not a data variable from the data files (an equation's
                // variable, or no files): the equation as written, without
                // the keyword.
                _ => {
                    ctx.warn(
                        r.offset,
                        format!(
                            "'{}': '{source}' is not a data variable read from the \
                             data files, so its interpolation keyword is not applied",
                            r.name
                        ),
                    );
                    (**body).clone()
                }
            };
        }
        if let Body::FromDataFiles(interp) = r.body {
            let (gfs, missing) = ctx.data.data_variable(&r.name, &product(&lists), interp)?;
            for m in missing {
                ctx.warn(
                    r.offset,
                    format!("no data for '{m}' in the data files: it is :NA:"),
                );
            }
            let text = "(data from the run's data files)".to_string();
            r.body = data_body(gfs, r.subs.is_empty(), text);
        }
        if let Body::External(call) = &r.body {
            let shape: Vec<usize> = lists.iter().map(Vec::len).collect();
            let text = call.text.clone();
            r.body = match (ctx.data.resolve(&r.name, call, &shape)?, call.kind) {
                (Resolved::Numbers(vals), _) => {
                    let texts = vec![text; vals.len()];
                    Body::Consts(vals, texts)
                }
                (Resolved::Tables(gfs), ExtKind::Lookups) => match <[_; 1]>::try_from(gfs) {
                    Ok([gf]) if r.subs.is_empty() => Body::Lookup(gf),
                    Ok([gf]) => Body::Lookups(vec![gf]),
                    Err(gfs) => Body::Lookups(gfs),
                },
                (Resolved::Tables(gfs), _) => data_body(gfs, r.subs.is_empty(), text),
            };
        }
    }
    let Some(first) = g.first() else {
        return Ok(Vec::new());
    };
    let mut v = base(first);
    let n = first.subs.len();
    if let Some(r) = g.iter().find(|r| r.subs.len() != n) {
        return Err(ctx.syntax(
            r.offset,
            &r.name,
            format!(
                "'{}' is defined with {} and {} subscripts",
                r.name,
                n,
                r.subs.len()
            ),
        ));
    }
    if n == 0 {
        if g.len() > 1 {
            return Err(Error::DuplicateVariable {
                model: "main".into(),
                variable: first.name.clone(),
            });
        }
        match first.body.clone() {
            Body::Expr(eq, gf) => {
                v.equations = Equations::Single(eq);
                v.gf = gf;
            }
            Body::Stock { rate, init, limits } => {
                v.kind = stock_kind(rate, limits);
                v.equations = Equations::Single(init);
            }
            Body::Lookup(gf) => v.gf = Some(gf),
            Body::Data(..)
            | Body::Lookups(_)
            | Body::External(_)
            | Body::FromDataFiles(_)
            | Body::DataOf { .. } => {
                return Err(ctx.syntax(
                    first.offset,
                    &first.name,
                    "unresolved external data for a scalar variable",
                ))
            }
            Body::Consts(vals, texts) => match (vals.as_slice(), texts.first()) {
                ([x], Some(t)) => v.equations = Equations::Single(num_eq(*x, t)),
                _ => {
                    return Err(ctx.syntax(
                        first.offset,
                        &first.name,
                        "a list of constants needs a subscripted variable",
                    ))
                }
            },
        }
        return Ok(vec![v]);
    }
    let mut var_dims = Vec::new();
    for p in 0..n {
        let same = g
            .iter()
            .all(|r| canonicalize(&r.subs[p]) == canonicalize(&first.subs[p]));
        if same {
            if let Some(d) = find_dim(dims, &first.subs[p]) {
                var_dims.push(d.ident.clone());
                continue;
            }
        }
        let mut covered = Vec::new();
        for r in &g {
            covered.extend(expand(r, &r.subs[p])?.iter().map(|e| canonicalize(e)));
        }
        // A set per candidate: a list here made a 58,000-element range
        // cost 58,000^2 comparisons per variable (found by fuzzing).
        let best = dims
            .iter()
            .filter(|d| {
                let el: rustc_hash::FxHashSet<String> =
                    d.elements.iter().map(|e| canonicalize(e)).collect();
                covered.iter().all(|c| el.contains(c))
            })
            .min_by_key(|d| d.elements.len());
        match best {
            Some(d) => var_dims.push(d.ident.clone()),
            None => return Err(unknown(first, &first.subs[p])),
        }
    }
    let size = var_dims.iter().try_fold(1usize, |acc, d| {
        acc.checked_mul(find_dim(dims, d).map_or(1, |d| d.elements.len().max(1)))
    });
    if size.is_none_or(|n| n > MAX_ELEMENTS) {
        return Err(ctx.syntax(
            first.offset,
            &first.name,
            format!("more than {MAX_ELEMENTS} elements"),
        ));
    }
    v.dims = var_dims;
    if g.iter()
        .all(|r| matches!(r.body, Body::Lookup(_) | Body::Lookups(_)))
    {
        return element_lookups(v, &g, &expand);
    }
    let all_dims = first.subs.iter().all(|s| find_dim(dims, s).is_some());
    let range_value = match &first.body {
        Body::Expr(eq, _) => uses_range_value(&eq.expr, &first.subs, dims),
        Body::Stock { rate, init, .. } => {
            uses_range_value(&rate.expr, &first.subs, dims)
                || uses_range_value(&init.expr, &first.subs, dims)
        }
        _ => false,
    };
    if g.len() == 1 && first.except.is_empty() && all_dims && !range_value {
        match first.body.clone() {
            Body::Expr(eq, gf) => {
                v.equations = Equations::Single(eq);
                v.gf = gf;
                return Ok(vec![v]);
            }
            Body::Stock { rate, init, limits } => {
                v.kind = stock_kind(rate, limits);
                v.equations = Equations::Single(init);
                return Ok(vec![v]);
            }
            Body::Lookup(gf) => {
                v.gf = Some(gf);
                return Ok(vec![v]);
            }
            Body::Consts(..)
            | Body::Data(..)
            | Body::Lookups(_)
            | Body::External(_)
            | Body::FromDataFiles(_)
            | Body::DataOf { .. } => {}
        }
    }
    per_element(ctx, dims, values, g, v, &expand)
}

type Expand<'a> = dyn Fn(&VarRecord, &str) -> Result<Vec<String>> + 'a;

/// An arrayed lookup: one table per element of its records (one table for
/// every element a record's ranges cover, or one per element as listed).
fn element_lookups(mut v: Variable, g: &[VarRecord], expand: &Expand<'_>) -> Result<Vec<Variable>> {
    let mut tables: Vec<(Vec<String>, GraphicalFunction)> = Vec::new();
    // Elements already given a table (canonical keys): a set, since a
    // lookup over a 58,000-element range made a linear scan quadratic.
    let mut seen_keys: rustc_hash::FxHashSet<Vec<String>> = rustc_hash::FxHashSet::default();
    for r in g {
        let gfs: &[GraphicalFunction] = match &r.body {
            Body::Lookup(gf) => std::slice::from_ref(gf),
            Body::Lookups(gfs) => gfs,
            _ => continue,
        };
        let lists: Vec<Vec<String>> = r.subs.iter().map(|s| expand(r, s)).collect::<Result<_>>()?;
        for (i, t) in product(&lists).into_iter().enumerate() {
            let Some(gf) = gfs.get(i).or_else(|| gfs.first()) else {
                continue;
            };
            let key: Vec<String> = t.iter().map(|e| canonicalize(e)).collect();
            if seen_keys.insert(key) {
                tables.push((t, gf.clone()));
            }
        }
    }
    v.equations = Equations::Lookups(tables);
    Ok(vec![v])
}

fn per_element(
    ctx: &Ctx,
    dims: &[Dimension],
    values: &ElementValues,
    g: Vec<VarRecord>,
    mut v: Variable,
    expand: &Expand<'_>,
) -> Result<Vec<Variable>> {
    let is_stock = g.iter().any(|r| matches!(r.body, Body::Stock { .. }));
    let first_offset = g.first().map_or(0, |r| r.offset);
    let mut entries = Vec::new();
    let mut rates = Vec::new();
    for r in &g {
        let lists: Vec<Vec<String>> = r.subs.iter().map(|s| expand(r, s)).collect::<Result<_>>()?;
        let except: Vec<Vec<rustc_hash::FxHashSet<String>>> = r
            .except
            .iter()
            .map(|ex| {
                ex.iter()
                    .map(|s| expand(r, s).map(|l| l.iter().map(|e| canonicalize(e)).collect()))
                    .collect::<Result<_>>()
            })
            .collect::<Result<_>>()?;
        let tuples = product(&lists);
        let given = match &r.body {
            Body::Consts(vals, _) => Some(vals.len()),
            Body::Data(gfs, _) => Some(gfs.len()),
            _ => None,
        };
        if let Some(given) = given.filter(|&n| n != tuples.len()) {
            return Err(ctx.syntax(
                r.offset,
                &r.name,
                format!("{given} constants given for {} elements", tuples.len()),
            ));
        }
        for (i, t) in tuples.iter().enumerate() {
            let excluded = except.iter().any(|ex| {
                ex.len() == t.len()
                    && ex
                        .iter()
                        .zip(t)
                        .all(|(set, e)| set.contains(&canonicalize(e)))
            });
            if excluded {
                continue;
            }
            let subst = |eq: &Equation| Equation {
                text: eq.text.clone(),
                expr: substitute(&eq.expr, &r.subs, t, dims, values),
            };
            let eq = match &r.body {
                Body::Expr(eq, _) => subst(eq),
                Body::Stock { rate, init, .. } => {
                    rates.push((t.clone(), subst(rate), None));
                    subst(init)
                }
                Body::Consts(vals, texts) => num_eq(
                    vals.get(i).copied().unwrap_or(0.0),
                    texts.get(i).map_or("", String::as_str),
                ),
                Body::Data(_, text) => time_eq(text),
                Body::Lookup(_) | Body::Lookups(_) => {
                    return Err(ctx.syntax(
                        r.offset,
                        &r.name,
                        "some elements are lookup tables and others are not",
                    ))
                }
                Body::External(_) | Body::FromDataFiles(_) | Body::DataOf { .. } => {
                    return Err(ctx.syntax(r.offset, &r.name, "unresolved external data"))
                }
            };
            if is_stock && !matches!(r.body, Body::Stock { .. }) {
                // A level with some elements given as numbers (FREE6's
                // `Desired Depletion Rent[Coal] = 0` beside INTEGs): those
                // elements are levels that start there and never move, the
                // same value whichever way it is read.
                if !matches!(eq.expr, Expr::Num(_)) {
                    return Err(ctx.syntax(
                        r.offset,
                        &r.name,
                        "some elements are stocks (INTEG) and others are neither INTEG nor a number",
                    ));
                }
                rates.push((t.clone(), num_eq(0.0, "0"), None));
            }
            // A per-element WITH LOOKUP keeps its own table.
            let gf = match &r.body {
                Body::Expr(_, gf) => gf.clone(),
                Body::Data(gfs, _) => gfs.get(i).cloned(),
                _ => None,
            };
            entries.push((t.clone(), eq, gf));
        }
    }
    // Elements no record defines (a variable over part of a range) are 0.
    if !is_stock {
        let lists: Vec<Vec<String>> = v
            .dims
            .iter()
            .map(|d| find_dim(dims, d).map_or_else(Vec::new, |d| d.elements.clone()))
            .collect();
        // Canonical keys of the defined elements, as a set: a scan per
        // element would be quadratic in the size of the range.
        let defined: rustc_hash::FxHashSet<Vec<String>> = entries
            .iter()
            .map(|(k, _, _)| k.iter().map(|e| canonicalize(e)).collect())
            .collect();
        for t in product(&lists) {
            let key: Vec<String> = t.iter().map(|e| canonicalize(e)).collect();
            if !defined.contains(&key) {
                ctx.warn(
                    first_offset,
                    format!("{}[{}] has no equation, using 0", v.name, t.join(",")),
                );
                entries.push((t, num_eq(0.0, "0"), None));
            }
        }
    }
    v.equations = Equations::PerElement(entries);
    if !is_stock {
        return Ok(vec![v]);
    }
    // The per-element rates live in a helper variable the stock integrates.
    let mut rate_var = v.clone();
    rate_var.name = format!("{}$rate", v.name);
    rate_var.ident = format!("{}$rate", v.ident);
    rate_var.kind = VarKind::Aux;
    rate_var.equations = Equations::PerElement(rates);
    let idx = v
        .dims
        .iter()
        .map(|d| IndexExpr::Expr(Expr::Var(d.clone(), Span::default())))
        .collect();
    // SINTEG's restrictions are numbers; elements defined apart take the
    // first element's (Vensim gives no per-element restrictions).
    let limits = g.iter().find_map(|r| match &r.body {
        Body::Stock { limits, .. } => *limits,
        _ => None,
    });
    v.kind = stock_kind(
        Equation {
            text: rate_var.name.clone(),
            expr: Expr::Subscript(rate_var.ident.clone(), idx, Span::default()),
        },
        limits,
    );
    Ok(vec![v, rate_var])
}

/// Cartesian product, last position varying fastest.
fn product(lists: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    for l in lists {
        out = out
            .into_iter()
            .flat_map(|t: Vec<String>| {
                l.iter().map(move |e| {
                    let mut t = t.clone();
                    t.push(e.clone());
                    t
                })
            })
            .collect();
    }
    out
}

/// Sim specs from the control variables (INITIAL TIME, FINAL TIME,
/// TIME STEP, SAVEPER), evaluating constant expressions among them. FINAL
/// TIME, TIME STEP or SAVEPER given by any other equation (of Time, of the
/// model's state) is left to the run as a dynamic spec; INITIAL TIME must be
/// known before anything is computed, so a non-constant one falls back to 0.
pub fn sim_specs(vars: &[Variable]) -> Result<SimSpecs> {
    let mut env: HashMap<String, f64> = HashMap::default();
    // Four passes settle chains such as SAVEPER = TIME STEP.
    for _ in 0..4 {
        for v in vars {
            if let Equations::Single(eq) = &v.equations {
                if let Some(x) = eval(&eq.expr, &env) {
                    env.entry(v.ident.clone()).or_insert(x);
                }
            }
        }
    }
    let d = SimSpecs::default();
    let dynamic = |ident: &str| {
        let defined = vars
            .iter()
            .any(|v| v.ident == ident && matches!(v.equations, Equations::Single(_)));
        (defined && !env.contains_key(ident)).then(|| ident.to_string())
    };
    // A constant TIME STEP or SAVEPER that no run can use is an error, not
    // a default (Vensim refuses to simulate it too); computed ones are
    // checked while running.
    let positive = |ident: &str, name: &str| -> Result<Option<f64>> {
        match env.get(ident) {
            Some(&x) if !(x > 0.0 && x.is_finite()) => Err(Error::BadSimSpecs {
                message: format!("{name} is {x}; it must be a positive number"),
            }),
            other => Ok(other.copied()),
        }
    };
    let dt = positive("time_step", "TIME STEP")?.unwrap_or(d.dt);
    let save_step = positive("saveper", "SAVEPER")?.unwrap_or(dt);
    let (start, stop) = (
        env.get("initial_time").copied().unwrap_or(0.0),
        env.get("final_time").copied().unwrap_or(d.stop),
    );
    if !(start.is_finite() && stop.is_finite()) {
        return Err(Error::BadSimSpecs {
            message: format!("INITIAL TIME ({start}) and FINAL TIME ({stop}) must be finite"),
        });
    }
    let time_units = vars
        .iter()
        .find(|v| v.ident == "time_step" || v.ident == "final_time")
        .and_then(|v| v.units.clone());
    Ok(SimSpecs {
        start,
        stop,
        dt,
        save_step: Some(save_step),
        method: d.method,
        time_units,
        dynamic: DynamicSpecs {
            stop: dynamic("final_time"),
            dt: dynamic("time_step"),
            save_step: dynamic("saveper"),
        },
    })
}

fn eval(e: &Expr, env: &HashMap<String, f64>) -> Option<f64> {
    Some(match e {
        Expr::Num(v) => *v,
        Expr::Var(n, _) => *env.get(n)?,
        Expr::Unary(UnaryOp::Neg, x) => -eval(x, env)?,
        Expr::Unary(UnaryOp::Plus, x) => eval(x, env)?,
        Expr::Binary(op, a, b) => {
            let (a, b) = (eval(a, env)?, eval(b, env)?);
            match op {
                BinaryOp::Add => a + b,
                BinaryOp::Sub => a - b,
                BinaryOp::Mul => a * b,
                BinaryOp::Div => a / b,
                BinaryOp::Pow => a.powf(b),
                _ => return None,
            }
        }
        _ => return None,
    })
}
