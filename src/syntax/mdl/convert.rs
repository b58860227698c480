//! Classifying one equation record: its left-hand side (name, subscripts,
//! `:EXCEPT:`), and what it defines — a subscript range, an equivalence, a
//! stock (`INTEG`), a lookup table, a constant list or an ordinary
//! equation. The result is a [`Def`]; joining records of the same variable
//! and resolving dimensions happens in [`super::build`].

use super::equations::Record;
use super::external::{ExtCall, ExtKind, Interp, SubscriptCall};
use super::lexer::{lex, Tok, Token};
use super::parser::{describe, PErr, Parser};
use super::Ctx;
use crate::error::{Error, Result};
use crate::ir::{Equation, GraphicalFunction};
use crate::syntax::ast::{Expr, UnaryOp};
use crate::syntax::ident::canonicalize;

/// One item of a subscript range definition.
#[derive(Clone, Debug, PartialEq)]
pub enum DimItem {
    /// An element, or the name of another dimension to include.
    Name(String),
}

/// What a variable record's right-hand side is.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Expr(Equation, Option<GraphicalFunction>),
    Stock {
        rate: Equation,
        init: Equation,
        /// SINTEG's restrictions (already applied to `init`).
        limits: Option<crate::ir::StockLimits>,
    },
    Lookup(GraphicalFunction),
    /// A constant list (`1, 2; 3, 4`) or `TABBED ARRAY`, row-major.
    Consts(Vec<f64>, Vec<String>),
    /// A `GET XLS/DIRECT ...` call, resolved in [`super::build`].
    External(ExtCall),
    /// Resolved external data: one table of TIME per element, row-major.
    Data(Vec<GraphicalFunction>, String),
    /// Resolved external lookups: one table per element, row-major.
    Lookups(Vec<GraphicalFunction>),
    /// A data variable with no equation, read from the run's data files in
    /// [`super::build`] ([`super::datasource`]).
    FromDataFiles(Interp),
    /// `x :LOOK FORWARD: := y` (Vensim's own example of a data equation):
    /// `source`'s points from the data files under this variable's
    /// interpolation keyword; `body` (the equation as written) where the
    /// data files do not have `source`.
    DataOf {
        source: String,
        interp: Interp,
        body: Box<Body>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct VarRecord {
    pub name: String,
    pub ident: String,
    /// Subscripts of the left-hand side, as written.
    pub subs: Vec<String>,
    pub except: Vec<Vec<String>>,
    pub body: Body,
    pub units: Option<String>,
    pub doc: Option<String>,
    pub line: u32,
    pub offset: usize,
    /// Additional outputs of macro calls in the equation
    /// (`NAME(inputs : outputs)`), which define further variables.
    pub outputs: Vec<MacroOutput>,
}

/// Variable `name` (at `offset`) is output `index` (0-based, after the
/// macro's own value) of the call of macro `call` with `args`.
#[derive(Clone, Debug, PartialEq)]
pub struct MacroOutput {
    pub name: String,
    pub offset: usize,
    pub call: String,
    pub index: usize,
    pub args: Vec<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Def {
    Dim {
        name: String,
        items: Vec<DimItem>,
        /// `-> B` (no list) or `-> (B: b2, Sub, b1)`: target and items as
        /// written (subranges are expanded once every range is known).
        maps_to: Vec<(String, Vec<String>)>,
        offset: usize,
    },
    Equiv {
        name: String,
        other: String,
        offset: usize,
    },
    Var(Box<VarRecord>),
    /// A group marker or other record with nothing to define.
    Skip,
}

fn pe(ctx: &Ctx, var: &str, e: PErr) -> Error {
    if e.unsupported {
        Error::Unsupported {
            variable: var.to_string(),
            construct: e.message,
        }
    } else {
        ctx.syntax(e.offset, var, e.message)
    }
}

/// Classify one record.
pub fn classify(ctx: &Ctx, rec: &Record) -> Result<Def> {
    let trimmed = rec.eqn.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('*') {
        return Ok(Def::Skip);
    }
    let toks = lex(&rec.eqn, rec.offset).map_err(|(o, m)| ctx.syntax(o, "", m))?;
    let Some(first) = toks.first() else {
        return Ok(Def::Skip);
    };
    let name = match &first.tok {
        Tok::Name(n) | Tok::Quoted(n) => n.clone(),
        t => {
            return Err(ctx.syntax(
                first.start,
                "",
                format!("expected a variable name, found {}", describe(t)),
            ))
        }
    };
    let mut p = 1;
    let mut subs = Vec::new();
    if at(&toks, p, &Tok::LBracket) {
        let (s, np) = sub_list(ctx, &toks, p + 1, &name)?;
        subs = s;
        p = np;
    }
    let mut except = Vec::new();
    if matches!(toks.get(p).map(|t| &t.tok), Some(Tok::Keyword(k)) if k == "EXCEPT") {
        p += 1;
        loop {
            if !at(&toks, p, &Tok::LBracket) {
                return Err(unexpected(ctx, &toks, p, &name, &rec.eqn));
            }
            let (s, np) = sub_list(ctx, &toks, p + 1, &name)?;
            except.push(s);
            p = np;
            if !at(&toks, p, &Tok::Comma) {
                break;
            }
            p += 1;
        }
    }
    // Data-interpolation keywords (`:INTERPOLATE:` ...) only matter for
    // external data.
    let mut interp = Interp::default();
    // Whether a keyword was written (`:INTERPOLATE:` is also the default).
    let mut interp_given = false;
    while let Some(Tok::Keyword(k)) = toks.get(p).map(|t| &t.tok) {
        // Reality checks are not simulated.
        if k == "THE CONDITION" || k == "TEST INPUT" {
            ctx.warn(first.start, format!("reality check '{name}' ignored"));
            return Ok(Def::Skip);
        }
        // `name :IS: 'text'`: a string (Vensim's sample models keep a help
        // link so); text has no value in a simulation.
        if k == "IS" {
            ctx.warn(first.start, format!("string variable '{name}' ignored"));
            return Ok(Def::Skip);
        }
        match k.as_str() {
            "HOLD BACKWARD" => interp = Interp::HoldBackward,
            "RAW" => interp = Interp::Raw,
            "LOOK FORWARD" => interp = Interp::LookForward,
            "INTERPOLATE" => interp = Interp::Interpolate,
            _ => {}
        }
        interp_given |= matches!(
            k.as_str(),
            "HOLD BACKWARD" | "RAW" | "LOOK FORWARD" | "INTERPOLATE"
        );
        p += 1;
    }
    let (line, _) = ctx.pos(first.start);
    // Shown as Vensim shows it (`\"` inside a quoted name is a quote); the
    // identifier comes from the name as written, as references are read.
    let shown = match &first.tok {
        Tok::Quoted(n) => n.replace("\\\"", "\""),
        _ => name.clone(),
    };
    let mut vr = VarRecord {
        name: shown,
        ident: canonicalize(&name),
        subs,
        except,
        body: Body::Consts(Vec::new(), Vec::new()),
        units: units_of(&rec.units),
        doc: Some(rec.comment.clone()).filter(|c| !c.is_empty()),
        line,
        offset: first.start,
        outputs: Vec::new(),
    };
    let end = rec.offset + rec.eqn.trim_end().len();
    match toks.get(p).map(|t| &t.tok) {
        Some(Tok::Colon) => return dim_def(ctx, &toks[p + 1..], name, first.start),
        Some(Tok::Equiv) => {
            return match toks.get(p + 1).map(|t| &t.tok) {
                Some(Tok::Name(o) | Tok::Quoted(o)) if toks.len() == p + 2 => Ok(Def::Equiv {
                    name,
                    other: o.clone(),
                    offset: first.start,
                }),
                _ => Err(unexpected(ctx, &toks, p + 1, &vr.name, &rec.eqn)),
            }
        }
        Some(Tok::Eq | Tok::ColonEq) => {
            // `==` marks an unchangeable constant.
            if at(&toks, p + 1, &Tok::Eq) {
                p += 1;
            }
            (vr.body, vr.outputs) = rhs(ctx, &toks[p + 1..], &vr.name, end)?;
            // A data equation that copies another data variable under an
            // interpolation keyword of its own: `y` or `y[same subscripts]`.
            let copied = match &toks[p + 1..] {
                [t] => Some(t),
                [t, rest @ ..] if same_subscripts(rest, &vr.subs) => Some(t),
                _ => None,
            };
            if let (Some(Tok::ColonEq), Some(Tok::Name(y) | Tok::Quoted(y)), true) = (
                toks.get(p).map(|t| &t.tok),
                copied.map(|t| &t.tok),
                interp_given,
            ) {
                vr.body = Body::DataOf {
                    source: y.clone(),
                    interp,
                    body: Box::new(std::mem::replace(
                        &mut vr.body,
                        Body::Consts(vec![], vec![]),
                    )),
                };
            }
        }
        Some(Tok::LParen)
            if toks.len() > p + 2
                && at(&toks, toks.len() - 1, &Tok::RParen)
                && matches!(toks.get(p + 1).map(|t| &t.tok), Some(Tok::Name(n)) if canonicalize(n).starts_with("get_")) =>
        {
            // `table( GET XLS LOOKUPS(...) )`
            (vr.body, vr.outputs) = rhs(ctx, &toks[p + 1..toks.len() - 1], &vr.name, end)?;
        }
        Some(Tok::LParen) => {
            let mut parser = Parser::new(&toks[p + 1..], rec.offset, end);
            if !matches!(
                toks.get(p + 1).map(|t| &t.tok),
                Some(Tok::LBracket | Tok::LParen | Tok::Num(_) | Tok::Minus)
            ) {
                return Err(Error::Unsupported {
                    variable: name,
                    construct: "lookup defined by a function (external data is not supported)"
                        .into(),
                });
            }
            let gf = parser.table().map_err(|e| pe(ctx, &name, e))?;
            let close = p + 1 + parser_pos(&parser);
            if !at(&toks, close, &Tok::RParen) || close + 1 != toks.len() {
                return Err(unexpected(ctx, &toks, close, &name, &rec.eqn));
            }
            vr.body = Body::Lookup(gf);
        }
        None => vr.body = Body::FromDataFiles(interp),
        Some(_) => return Err(unexpected(ctx, &toks, p, &name, &rec.eqn)),
    }
    if let Body::External(call) = &mut vr.body {
        call.interp = interp;
    }
    Ok(Def::Var(Box::new(vr)))
}

/// Whether `toks` is `[s1, s2, ...]` naming exactly `subs` (as written on
/// the left-hand side, compared canonically).
fn same_subscripts(toks: &[Token], subs: &[String]) -> bool {
    let [Token {
        tok: Tok::LBracket, ..
    }, inner @ .., Token {
        tok: Tok::RBracket, ..
    }] = toks
    else {
        return false;
    };
    let names: Vec<&Token> = inner.iter().step_by(2).collect();
    names.len() == subs.len()
        && inner.iter().skip(1).step_by(2).all(|t| t.tok == Tok::Comma)
        && names.iter().zip(subs).all(|(t, s)| {
            matches!(&t.tok, Tok::Name(n) | Tok::Quoted(n) if canonicalize(n) == canonicalize(s))
        })
}

fn parser_pos(p: &Parser<'_>) -> usize {
    p.position()
}

fn at(toks: &[Token], p: usize, t: &Tok) -> bool {
    toks.get(p).map(|x| &x.tok) == Some(t)
}

fn unexpected(ctx: &Ctx, toks: &[Token], p: usize, var: &str, eqn: &str) -> Error {
    match toks.get(p) {
        Some(t) => ctx.syntax(t.start, var, format!("unexpected {}", describe(&t.tok))),
        None => ctx.syntax(
            toks.last().map_or(0, |t| t.end),
            var,
            format!("unexpected end of '{}'", eqn.trim()),
        ),
    }
}

/// `a, b, c]` starting at `p`: the names and the index after `]`.
fn sub_list(ctx: &Ctx, toks: &[Token], mut p: usize, var: &str) -> Result<(Vec<String>, usize)> {
    let mut out = Vec::new();
    loop {
        match toks.get(p).map(|t| &t.tok) {
            Some(Tok::Name(n) | Tok::Quoted(n)) => out.push(n.clone()),
            Some(Tok::Num(v)) => out.push(format!("{v}")),
            _ => return Err(unexpected(ctx, toks, p, var, "")),
        }
        p += 1;
        if at(toks, p, &Tok::Bang) {
            p += 1;
        }
        match toks.get(p).map(|t| &t.tok) {
            Some(Tok::Comma) => p += 1,
            Some(Tok::RBracket) => return Ok((out, p + 1)),
            _ => return Err(unexpected(ctx, toks, p, var, "")),
        }
    }
}

fn units_of(u: &str) -> Option<String> {
    let u = match u.find('[') {
        Some(i) => &u[..i],
        None => u,
    };
    Some(u.trim().to_string()).filter(|s| !s.is_empty())
}

fn text_of(ctx: &Ctx, toks: &[Token]) -> String {
    match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => ctx.text.get(a.start..b.end).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// Parse `toks` as one equation; macro outputs (`NAME(in : out)`) are
/// refused here and accepted only by [`rhs`], which defines them.
fn equation<'t>(
    ctx: &Ctx,
    toks: &'t [Token],
    var: &str,
    end: usize,
) -> Result<(Equation, Parser<'t>)> {
    let (eq, parser) = equation_with_outputs(ctx, toks, var, end)?;
    if !parser.outputs.is_empty() {
        return Err(Error::Unsupported {
            variable: var.to_string(),
            construct: "macro outputs (NAME(inputs : outputs)) inside INTEG".into(),
        });
    }
    Ok((eq, parser))
}

fn equation_with_outputs<'t>(
    ctx: &Ctx,
    toks: &'t [Token],
    var: &str,
    end: usize,
) -> Result<(Equation, Parser<'t>)> {
    let base = toks.first().map_or(end, |t| t.start);
    let mut parser = Parser::new(toks, base, end);
    let expr = parser.parse_all().map_err(|e| pe(ctx, var, e))?;
    let eq = Equation {
        text: text_of(ctx, toks),
        expr,
    };
    Ok((eq, parser))
}

/// `SINTEG(rate, initial, min, max, quant, spec, thresh)`: a level whose
/// value is restricted (see [`crate::ir::StockLimits`]); "the last five
/// arguments must be numbers or :NA:" (Vensim), `:NA:` meaning none.
fn sinteg(ctx: &Ctx, toks: &[Token], var: &str, end: usize) -> Result<Body> {
    let (rate, mut init, args) = level_args(
        ctx,
        toks,
        var,
        end,
        "SINTEG takes 7 arguments (rate, initial, min, max, quant, spec, thresh)",
        7,
    )?;
    let mut limit = Vec::with_capacity(5);
    for (a, what) in args[2..]
        .iter()
        .zip(["min", "max", "quant", "spec", "thresh"])
    {
        let (eq, _) = equation(ctx, a, var, end)?;
        let v = number(&eq.expr).ok_or_else(|| {
            ctx.syntax(
                a.first().map_or(end, |t| t.start),
                var,
                format!(
                    "SINTEG's {what} must be a number or :NA:, not '{}'",
                    eq.text
                ),
            )
        })?;
        limit.push((v != crate::ir::VENSIM_NA).then_some(v));
    }
    let limits = crate::ir::StockLimits {
        min: limit[0],
        max: limit[1],
        quantum: limit[2],
        snap: limit[3].zip(limit[4]),
    };
    init.expr = limits.restrict_expr(init.expr);
    Ok(Body::Stock {
        rate,
        init,
        limits: Some(limits),
    })
}

/// A level's call `NAME(rate, initial, ...)` (the whole right-hand side):
/// its rate and initial value parsed, and all its arguments' tokens; `n`
/// arguments or an error starting with `usage`.
fn level_args<'t>(
    ctx: &Ctx,
    toks: &'t [Token],
    var: &str,
    end: usize,
    usage: &str,
    n: usize,
) -> Result<(Equation, Equation, Vec<&'t [Token]>)> {
    let args = split_args(&toks[2..toks.len() - 1]);
    if args.len() != n {
        return Err(ctx.syntax(toks[0].start, var, format!("{usage}, got {}", args.len())));
    }
    let (rate, _) = equation(ctx, args[0], var, end)?;
    let (init, _) = equation(ctx, args[1], var, end)?;
    Ok((rate, init, args))
}

/// A number written as one (a sign allowed), or `:NA:`.
fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Num(v) => Some(*v),
        Expr::Unary(UnaryOp::Neg, x) => number(x).map(|v| -v),
        Expr::Unary(UnaryOp::Plus, x) => number(x),
        _ => None,
    }
}

/// The right-hand side after `=`.
/// The right-hand side's body and the macro outputs it defines.
fn rhs(ctx: &Ctx, toks: &[Token], var: &str, end: usize) -> Result<(Body, Vec<MacroOutput>)> {
    let body = |b: Result<Body>| b.map(|b| (b, Vec::new()));
    let head = match toks.first().map(|t| &t.tok) {
        Some(Tok::Name(n)) => canonicalize(n),
        None => return Err(ctx.syntax(end, var, "missing equation after '='")),
        _ => String::new(),
    };
    if head == "a_function_of" {
        return Err(Error::Unsupported {
            variable: var.to_string(),
            construct: "incomplete model: 'A FUNCTION OF' placeholder equation".into(),
        });
    }
    let whole_call = at(toks, 1, &Tok::LParen) && close_of(toks, 1) == Some(toks.len() - 1);
    if head == "integ" && whole_call {
        let (rate, init, _) = level_args(
            ctx,
            toks,
            var,
            end,
            "INTEG takes 2 arguments (rate, initial)",
            2,
        )?;
        return Ok((
            Body::Stock {
                rate,
                init,
                limits: None,
            },
            Vec::new(),
        ));
    }
    if head == "sinteg" && whole_call {
        return body(sinteg(ctx, toks, var, end));
    }
    if let Some(kind) = ext_kind(&head).filter(|_| whole_call) {
        return body(external(ctx, toks, var, kind));
    }
    // GET VDF DATA / CONSTANTS / LOOKUPS read a Vensim binary run file.
    if head.starts_with("get_vdf_") {
        let file = toks
            .iter()
            .find_map(|t| match &t.tok {
                Tok::Str(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        return Err(Error::DataFile {
            variable: var.to_string(),
            file: file.clone(),
            message: format!(
                "'{file}' is a Vensim binary run file ({}), which cannot be read; give the \
                 values in the model or as a data file",
                head.replace('_', " ").to_uppercase()
            ),
        });
    }
    if head == "tabbed_array" && whole_call {
        return body(consts(ctx, &toks[2..toks.len() - 1], var, true));
    }
    let top_level_list = {
        let mut depth = 0i32;
        toks.iter().any(|t| {
            match t.tok {
                Tok::LParen | Tok::LBracket => depth += 1,
                Tok::RParen | Tok::RBracket => depth -= 1,
                _ => {}
            }
            depth == 0 && matches!(t.tok, Tok::Comma | Tok::Semi)
        })
    };
    if top_level_list {
        return body(consts(ctx, toks, var, false));
    }
    let (eq, parser) = equation_with_outputs(ctx, toks, var, end)?;
    if parser.gf.is_some() && head != "with_lookup" {
        return Err(Error::Unsupported {
            variable: var.to_string(),
            construct: "WITH LOOKUP inside a larger expression".into(),
        });
    }
    let outputs = parser
        .outputs
        .into_iter()
        .flat_map(|(call, args, names)| {
            names
                .into_iter()
                .enumerate()
                .map(move |(index, (name, offset))| MacroOutput {
                    name,
                    offset,
                    call: call.clone(),
                    index,
                    args: args.clone(),
                })
        })
        .collect();
    Ok((Body::Expr(eq, parser.gf), outputs))
}

/// The kind of a `GET XLS/DIRECT ...` function name (canonical).
fn ext_kind(head: &str) -> Option<ExtKind> {
    let rest = head
        .strip_prefix("get_xls_")
        .or_else(|| head.strip_prefix("get_direct_"))?;
    match rest {
        "data" => Some(ExtKind::Data),
        "constants" => Some(ExtKind::Constants),
        "lookups" => Some(ExtKind::Lookups),
        _ => None,
    }
}

/// `GET ... (args)` as a whole right-hand side: its string arguments.
fn external(ctx: &Ctx, toks: &[Token], var: &str, kind: ExtKind) -> Result<Body> {
    ext_call(toks, kind, text_of(ctx, toks))
        .map(Body::External)
        .map_err(|(at, message)| ctx.syntax(at, var, message))
}

/// The call `toks` (`NAME ( 'a', 'b', ... )`) of an external data function
/// of `kind`; errors are (file offset, message).
fn ext_call(toks: &[Token], kind: ExtKind, text: String) -> Result<ExtCall, (usize, String)> {
    let args = split_args(toks.get(2..toks.len().saturating_sub(1)).unwrap_or(&[]));
    let want = if kind == ExtKind::Constants { 3 } else { 4 };
    let start = toks.first().map_or(0, |t| t.start);
    let mut strs = Vec::new();
    for a in &args {
        match a {
            [Token {
                tok: Tok::Str(s), ..
            }] => strs.push(s.clone()),
            _ => {
                let at = a.first().map_or(start, |t| t.start);
                return Err((at, "external data arguments must be quoted strings".into()));
            }
        }
    }
    if strs.len() != want {
        return Err((
            start,
            format!(
                "this external data function takes {want} arguments, got {}",
                strs.len()
            ),
        ));
    }
    let cell = strs.pop().unwrap_or_default();
    let axis = if want == 4 { strs.pop() } else { None };
    let tab = strs.pop().unwrap_or_default();
    let file = strs.pop().unwrap_or_default();
    Ok(ExtCall {
        kind,
        file,
        tab,
        axis,
        cell,
        interp: Interp::default(),
        text,
    })
}

/// `text` as one `GET XLS/DIRECT DATA|CONSTANTS|LOOKUPS(...)` call on its
/// own (as xmutil keeps the ones it cannot translate); `None` if it is
/// not one.
pub fn external_call(text: &str) -> Option<ExtCall> {
    let toks = lex(text, 0).ok()?;
    let kind = match toks.first().map(|t| &t.tok) {
        Some(Tok::Name(n)) => ext_kind(&canonicalize(n))?,
        _ => return None,
    };
    if !at(&toks, 1, &Tok::LParen) || close_of(&toks, 1)? + 1 != toks.len() {
        return None;
    }
    ext_call(&toks, kind, text.trim().to_string()).ok()
}

/// `GET ... SUBSCRIPT('file', 'tab', 'first', 'last', 'prefix')`.
fn subscript_call(ctx: &Ctx, toks: &[Token], range: &str) -> Result<SubscriptCall> {
    let inner = toks.get(2..toks.len().saturating_sub(1)).unwrap_or(&[]);
    let mut strs = Vec::new();
    for a in split_args(inner) {
        match a {
            [Token {
                tok: Tok::Str(s), ..
            }] => strs.push(s.clone()),
            _ => {
                let at = a.first().map_or(toks[0].start, |t| t.start);
                return Err(ctx.syntax(
                    at,
                    range,
                    "GET SUBSCRIPT arguments must be quoted strings",
                ));
            }
        }
    }
    match <[String; 5]>::try_from(strs) {
        Ok([file, tab, first, last, prefix]) => Ok(SubscriptCall {
            file,
            tab,
            first,
            last,
            prefix,
        }),
        Err(strs) => Err(ctx.syntax(
            toks[0].start,
            range,
            format!(
                "GET SUBSCRIPT takes 5 arguments (file, tab, first cell, last cell, prefix), got {}",
                strs.len()
            ),
        )),
    }
}

/// Index of the token closing the bracket opened at `open`.
fn close_of(toks: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.tok {
            Tok::LParen | Tok::LBracket => depth += 1,
            Tok::RParen | Tok::RBracket => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_args(toks: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (k, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::LParen | Tok::LBracket => depth += 1,
            Tok::RParen | Tok::RBracket => depth -= 1,
            Tok::Comma if depth == 0 => {
                out.push(&toks[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    out.push(&toks[start..]);
    out
}

/// Numbers separated by `,`/`;` (or only whitespace, for TABBED ARRAY).
fn consts(ctx: &Ctx, toks: &[Token], var: &str, tabbed: bool) -> Result<Body> {
    let mut vals = Vec::new();
    let mut texts = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        let start = toks[k].start;
        let neg = match toks[k].tok {
            Tok::Minus => {
                k += 1;
                true
            }
            Tok::Plus => {
                k += 1;
                false
            }
            _ => false,
        };
        let (v, t_end) = match toks.get(k) {
            Some(Token {
                tok: Tok::Num(v),
                end,
                ..
            }) => (*v, *end),
            Some(Token {
                tok: Tok::Keyword(kw),
                end,
                ..
            }) if kw == "NA" => (super::parser::NA, *end),
            Some(t) => {
                return Err(ctx.syntax(
                    t.start,
                    var,
                    format!(
                        "expected a number in constant list, found {}",
                        describe(&t.tok)
                    ),
                ))
            }
            None => return Err(ctx.syntax(start, var, "constant list ends with a sign")),
        };
        vals.push(if neg { -v } else { v });
        texts.push(ctx.text.get(start..t_end).unwrap_or("").to_string());
        k += 1;
        if !tabbed {
            match toks.get(k).map(|t| &t.tok) {
                Some(Tok::Comma | Tok::Semi) => k += 1,
                None => {}
                Some(t) => {
                    return Err(ctx.syntax(
                        toks[k].start,
                        var,
                        format!(
                            "expected ',' or ';' in constant list, found {}",
                            describe(t)
                        ),
                    ))
                }
            }
        }
    }
    Ok(Body::Consts(vals, texts))
}

/// `a1, a2, (a3-a5), Other -> Map` after `Dim:`.
fn dim_def(ctx: &Ctx, toks: &[Token], name: String, offset: usize) -> Result<Def> {
    let mut items = Vec::new();
    let mut maps_to = Vec::new();
    let mut k = 0;
    let bad = |k: usize| unexpected(ctx, toks, k, &name, "subscript range");
    if let Some(Tok::Name(n)) = toks.first().map(|t| &t.tok) {
        if canonicalize(n).starts_with("get_") {
            // `GET XLS/DIRECT SUBSCRIPT(...)`, optionally followed by a mapping.
            let f = canonicalize(n);
            if f != "get_direct_subscript" && f != "get_xls_subscript" {
                return Err(Error::Unsupported {
                    variable: name,
                    construct: format!("subscript range defined by {n}"),
                });
            }
            if !at(toks, 1, &Tok::LParen) {
                return Err(bad(1));
            }
            let close = close_of(toks, 1).ok_or_else(|| bad(toks.len()))?;
            let call = subscript_call(ctx, &toks[..=close], &name)?;
            let elems = ctx.data.subscript(&name, &call)?;
            items.extend(elems.into_iter().map(DimItem::Name));
            k = close + 1;
            if !matches!(toks.get(k).map(|t| &t.tok), Some(Tok::Arrow) | None) {
                return Err(bad(k));
            }
        }
    }
    while k < toks.len() {
        match &toks[k].tok {
            Tok::Name(n) | Tok::Quoted(n) => {
                items.push(DimItem::Name(n.clone()));
                k += 1;
            }
            Tok::Num(v) => {
                items.push(DimItem::Name(format!("{v}")));
                k += 1;
            }
            Tok::LParen => {
                let (a, b) = match (toks.get(k + 1), toks.get(k + 2), toks.get(k + 3)) {
                    (Some(a), Some(m), Some(b)) if m.tok == Tok::Minus => (a, b),
                    _ => return Err(bad(k + 1)),
                };
                if !at(toks, k + 4, &Tok::RParen) {
                    return Err(bad(k + 4));
                }
                let range = numeric_range(&a.tok, &b.tok)
                    .ok_or_else(|| ctx.syntax(a.start, &name, "bad numeric subscript range"))?;
                items.extend(range.into_iter().map(DimItem::Name));
                k += 5;
            }
            Tok::Arrow => {
                k += 1;
                while k < toks.len() {
                    match &toks[k].tok {
                        Tok::Name(n) | Tok::Quoted(n) => maps_to.push((n.clone(), Vec::new())),
                        Tok::LParen => {
                            let close = close_of(toks, k).ok_or_else(|| bad(k))?;
                            let target = match toks.get(k + 1).map(|t| &t.tok) {
                                Some(Tok::Name(n) | Tok::Quoted(n)) => n.clone(),
                                _ => return Err(bad(k + 1)),
                            };
                            let mut list = Vec::new();
                            if close > k + 2 {
                                if !at(toks, k + 2, &Tok::Colon) {
                                    return Err(bad(k + 2));
                                }
                                for (j, t) in toks.iter().enumerate().take(close).skip(k + 3) {
                                    match &t.tok {
                                        Tok::Name(n) | Tok::Quoted(n) => list.push(n.clone()),
                                        Tok::Num(v) => list.push(format!("{v}")),
                                        Tok::Comma => {}
                                        _ => return Err(bad(j)),
                                    }
                                }
                            }
                            maps_to.push((target, list));
                            k = close;
                        }
                        Tok::Comma => {}
                        _ => return Err(bad(k)),
                    }
                    k += 1;
                }
                break;
            }
            _ => return Err(bad(k)),
        }
        match toks.get(k).map(|t| &t.tok) {
            Some(Tok::Comma) => k += 1,
            Some(Tok::Arrow) | None => {}
            Some(_) => return Err(bad(k)),
        }
    }
    if items.is_empty() {
        return Err(ctx.syntax(offset, &name, "subscript range has no elements"));
    }
    Ok(Def::Dim {
        name,
        items,
        maps_to,
        offset,
    })
}

/// `(a1-a10)` → a1..a10; `(1-5)` → 1..5. Zero padding is kept.
fn numeric_range(a: &Tok, b: &Tok) -> Option<Vec<String>> {
    let (a, b) = match (a, b) {
        (Tok::Name(a), Tok::Name(b)) => (a.clone(), b.clone()),
        (Tok::Num(a), Tok::Num(b)) => (format!("{a}"), format!("{b}")),
        _ => return None,
    };
    let split = |s: &str| {
        let d = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        (s[..s.len() - d].to_string(), s[s.len() - d..].to_string())
    };
    let (pa, na) = split(&a);
    let (pb, nb) = split(&b);
    if pa != pb || na.is_empty() || nb.is_empty() {
        return None;
    }
    let (x, y): (u64, u64) = (na.parse().ok()?, nb.parse().ok()?);
    if y < x || y - x > 100_000 {
        return None;
    }
    let width = if na.starts_with('0') { na.len() } else { 0 };
    Some((x..=y).map(|n| format!("{pa}{n:0width$}")).collect())
}
