//! The Vensim expression grammar over [`Tok`]s → [`Expr`].
//!
//! Precedence, loosest first: `:OR:`, `:AND:`, `:NOT:`, comparisons
//! (`= <> < <= > >=`, left-assoc), `+ -`, `* /`, unary `- +`, `^`
//! (right-assoc; its right operand may carry a sign, so `2^-1` works, and
//! `-2^2` is `-(2^2)`). `:NOT:` binding looser than comparisons follows
//! Vensim: `:NOT: 1 > 2` is true. Calls get canonical names
//! (`DELAY FIXED` → `delay_fixed`) except `IF THEN ELSE`, which becomes
//! [`Expr::If`]. `WITH LOOKUP(x, table)` yields `x` and hands the table back
//! through [`Parser::gf`]. Nesting is bounded so hostile input cannot
//! overflow the stack.

use super::lexer::{Tok, Token};
use crate::ir::{GfKind, GraphicalFunction};
use crate::syntax::ast::{BinaryOp, Expr, IndexExpr, Span, UnaryOp};
use crate::syntax::ident::canonicalize;

const MAX_DEPTH: usize = 100;

/// Vensim's `:NA:` value.
pub const NA: f64 = crate::ir::VENSIM_NA;

/// A parse problem at a file offset; `unsupported` marks valid Vensim the
/// engine cannot represent (external data, inline lookups).
#[derive(Clone, Debug, PartialEq)]
pub struct PErr {
    pub offset: usize,
    pub message: String,
    pub unsupported: bool,
}

pub struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    depth: usize,
    /// File offset of the end of the input (for "unexpected end").
    end: usize,
    /// File offset the spans are relative to.
    base: usize,
    /// The table of a `WITH LOOKUP` call, if one was parsed.
    pub gf: Option<GraphicalFunction>,
    /// Macro calls naming additional outputs, `NAME(inputs : out1, out2)`:
    /// the call's canonical name, its inputs and the output variables as
    /// written, with their file offsets.
    pub outputs: Vec<OutputCall>,
}

/// A macro call naming outputs: (canonical name, inputs, outputs as
/// written with their file offsets).
pub type OutputCall = (String, Vec<Expr>, Vec<(String, usize)>);

impl<'a> Parser<'a> {
    pub fn new(toks: &'a [Token], base: usize, end: usize) -> Parser<'a> {
        Parser {
            toks,
            pos: 0,
            depth: 0,
            end,
            base,
            gf: None,
            outputs: Vec::new(),
        }
    }

    /// Parse the whole token slice as one expression.
    pub fn parse_all(&mut self) -> Result<Expr, PErr> {
        if self.toks.is_empty() {
            return Err(self.err("missing expression"));
        }
        let e = self.expr()?;
        if self.pos < self.toks.len() {
            return Err(self.unexpected());
        }
        Ok(e)
    }

    /// Index of the next unread token.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.start)
    }

    fn err(&self, m: impl Into<String>) -> PErr {
        PErr {
            offset: self.offset(),
            message: m.into(),
            unsupported: false,
        }
    }

    fn unsupported(&self, m: impl Into<String>) -> PErr {
        PErr {
            unsupported: true,
            ..self.err(m)
        }
    }

    fn unexpected(&self) -> PErr {
        match self.toks.get(self.pos) {
            Some(t) => self.err(format!("unexpected {}", describe(&t.tok))),
            None => self.err("unexpected end of equation"),
        }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> Result<(), PErr> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(match self.peek() {
                Some(got) => self.err(format!("expected {}, found {}", describe(t), describe(got))),
                None => self.err(format!("expected {}, found end of equation", describe(t))),
            })
        }
    }

    fn enter(&mut self) -> Result<(), PErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("expression nested more than {MAX_DEPTH} deep")));
        }
        Ok(())
    }

    pub fn expr(&mut self) -> Result<Expr, PErr> {
        self.enter()?;
        let e = self.or();
        self.depth -= 1;
        e
    }

    fn or(&mut self) -> Result<Expr, PErr> {
        let mut l = self.and()?;
        while self.eat(&Tok::Keyword("OR".into())) {
            let r = self.and()?;
            l = Expr::Binary(BinaryOp::Or, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, PErr> {
        let mut l = self.not()?;
        while self.eat(&Tok::Keyword("AND".into())) {
            let r = self.not()?;
            l = Expr::Binary(BinaryOp::And, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn not(&mut self) -> Result<Expr, PErr> {
        if self.eat(&Tok::Keyword("NOT".into())) {
            self.enter()?;
            let e = self.not();
            self.depth -= 1;
            return Ok(Expr::Unary(UnaryOp::Not, Box::new(e?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, PErr> {
        let mut l = self.additive()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Eq) => BinaryOp::Eq,
                Some(Tok::Ne) => BinaryOp::Neq,
                Some(Tok::Lt) => BinaryOp::Lt,
                Some(Tok::Le) => BinaryOp::Le,
                Some(Tok::Gt) => BinaryOp::Gt,
                Some(Tok::Ge) => BinaryOp::Ge,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.additive()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }

    fn additive(&mut self) -> Result<Expr, PErr> {
        let mut l = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Plus) => BinaryOp::Add,
                Some(Tok::Minus) => BinaryOp::Sub,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.multiplicative()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, PErr> {
        let mut l = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Star) => BinaryOp::Mul,
                Some(Tok::Slash) => BinaryOp::Div,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.unary()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }

    fn unary(&mut self) -> Result<Expr, PErr> {
        let op = match self.peek() {
            Some(Tok::Minus) => UnaryOp::Neg,
            Some(Tok::Plus) => UnaryOp::Plus,
            _ => return self.power(),
        };
        self.pos += 1;
        self.enter()?;
        let e = self.unary();
        self.depth -= 1;
        Ok(Expr::Unary(op, Box::new(e?)))
    }

    fn power(&mut self) -> Result<Expr, PErr> {
        let base = self.primary()?;
        if self.eat(&Tok::Caret) {
            self.enter()?;
            let exp = self.unary();
            self.depth -= 1;
            return Ok(Expr::Binary(BinaryOp::Pow, Box::new(base), Box::new(exp?)));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr, PErr> {
        let Some(t) = self.toks.get(self.pos).cloned() else {
            return Err(self.unexpected());
        };
        let span = Span {
            start: t.start.saturating_sub(self.base),
            end: t.end.saturating_sub(self.base),
        };
        match t.tok {
            Tok::Num(v) => {
                self.pos += 1;
                Ok(Expr::Num(v))
            }
            Tok::Keyword(k) if k == "NA" => {
                self.pos += 1;
                Ok(Expr::Num(NA))
            }
            Tok::LParen => {
                self.pos += 1;
                if matches!(self.peek(), Some(Tok::LBracket)) {
                    return Err(self.unsupported(
                        "inline lookup table (only WITH LOOKUP and lookup definitions are supported)",
                    ));
                }
                let e = self.expr()?;
                self.expect(&Tok::RParen)?;
                Ok(e)
            }
            Tok::Str(s) => Err(self.unsupported(format!(
                "string literal '{s}' (external data functions are not supported)"
            ))),
            Tok::Name(n) | Tok::Quoted(n) => {
                self.pos += 1;
                let id = canonicalize(&n);
                match self.peek() {
                    Some(Tok::LParen) => {
                        self.pos += 1;
                        self.call(id, span)
                    }
                    Some(Tok::LBracket) => {
                        self.pos += 1;
                        let idx = self.indices()?;
                        if self.eat(&Tok::LParen) {
                            // `table[a, b](x)`: a call of an arrayed lookup,
                            // `LOOKUP(table[a, b], x)`, so the subscripts go
                            // through the array machinery like any other
                            // (`SUM(table[r!](x))`).
                            let table = Expr::Subscript(id, idx, span);
                            return self.lookup_call(table, span);
                        }
                        Ok(Expr::Subscript(id, idx, span))
                    }
                    _ => Ok(Expr::Var(id, span)),
                }
            }
            _ => Err(self.unexpected()),
        }
    }

    /// The arguments of `table[...](x)` after its `(`, as `LOOKUP(table, x)`.
    fn lookup_call(&mut self, table: Expr, span: Span) -> Result<Expr, PErr> {
        let mut call = self.call("lookup".into(), span)?;
        if let Expr::Call(_, args, _) = &mut call {
            args.insert(0, table);
        }
        Ok(call)
    }

    fn call(&mut self, name: String, span: Span) -> Result<Expr, PErr> {
        self.enter()?;
        let r = self.call_inner(name, span);
        self.depth -= 1;
        r
    }

    fn call_inner(&mut self, name: String, span: Span) -> Result<Expr, PErr> {
        if name == "with_lookup" {
            let input = self.expr()?;
            self.expect(&Tok::Comma)?;
            self.expect(&Tok::LParen)?;
            let gf = self.table()?;
            self.expect(&Tok::RParen)?;
            self.expect(&Tok::RParen)?;
            if self.gf.is_some() {
                return Err(self.unsupported("more than one WITH LOOKUP in one equation"));
            }
            self.gf = Some(gf);
            return Ok(input);
        }
        // Vensim REINITIAL(x) is x at the initial time, taken again when
        // Vensim reinitializes a run (gaming, SyntheSim); a run here is
        // never reinitialized, so it is INITIAL.
        let name = if name == "reinitial" {
            "initial".to_string()
        } else {
            name
        };
        let mut args = Vec::new();
        if name == "message" {
            // MESSAGE('text', display): the text is for Vensim's message
            // box only and never reaches the value (see
            // `compile::builtins_vensim::message`).
            if let Some(Tok::Str(_)) = self.peek() {
                self.pos += 1;
                args.push(Expr::Num(0.0));
                self.expect(&Tok::Comma)?;
            }
        }
        let mut outputs = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.expr()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                if self.eat(&Tok::Colon) {
                    // Macro outputs: `: name, name )`.
                    loop {
                        let at = self.offset();
                        match self.toks.get(self.pos).map(|t| &t.tok) {
                            Some(Tok::Name(n) | Tok::Quoted(n)) => {
                                outputs.push((n.clone(), at));
                                self.pos += 1;
                            }
                            _ => return Err(self.unexpected()),
                        }
                        if self.eat(&Tok::RParen) {
                            break;
                        }
                        self.expect(&Tok::Comma)?;
                    }
                    break;
                }
                self.expect(&Tok::Comma)?;
            }
        }
        if !outputs.is_empty() {
            self.outputs.push((name.clone(), args.clone(), outputs));
        }
        if name == "if_then_else" {
            if args.len() != 3 {
                return Err(self.err(format!(
                    "IF THEN ELSE takes 3 arguments, got {}",
                    args.len()
                )));
            }
            let mut it = args.into_iter();
            return match (it.next(), it.next(), it.next()) {
                (Some(c), Some(a), Some(b)) => Ok(Expr::If(Box::new(c), Box::new(a), Box::new(b))),
                _ => Err(self.err("IF THEN ELSE takes 3 arguments")),
            };
        }
        Ok(Expr::Call(name, args, span))
    }

    fn indices(&mut self) -> Result<Vec<IndexExpr>, PErr> {
        let mut out = Vec::new();
        loop {
            let Some(t) = self.toks.get(self.pos).cloned() else {
                return Err(self.unexpected());
            };
            self.pos += 1;
            let idx = match t.tok {
                Tok::Name(n) | Tok::Quoted(n) => {
                    let id = canonicalize(&n);
                    if self.eat(&Tok::Bang) {
                        IndexExpr::Wildcard(Some(id))
                    } else {
                        IndexExpr::Expr(Expr::Var(id, Span::default()))
                    }
                }
                Tok::Num(v) => IndexExpr::Expr(Expr::Num(v)),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected());
                }
            };
            out.push(idx);
            if self.eat(&Tok::RBracket) {
                return Ok(out);
            }
            self.expect(&Tok::Comma)?;
        }
    }

    fn signed_num(&mut self) -> Result<f64, PErr> {
        let neg = if self.eat(&Tok::Minus) {
            true
        } else {
            self.eat(&Tok::Plus);
            false
        };
        match self.peek() {
            Some(Tok::Num(v)) => {
                let v = *v;
                self.pos += 1;
                Ok(if neg { -v } else { v })
            }
            _ => Err(self.err("expected a number in lookup table")),
        }
    }

    fn pair(&mut self) -> Result<(f64, f64), PErr> {
        self.expect(&Tok::LParen)?;
        let x = self.signed_num()?;
        self.expect(&Tok::Comma)?;
        let y = self.signed_num()?;
        self.expect(&Tok::RParen)?;
        Ok((x, y))
    }

    /// A lookup table body after its opening `(`, up to (not including)
    /// the closing `)`: `[(x0,y0)-(x1,y1)...], (x,y), ...` or the tabular
    /// `[...], x1, x2, ..., y1, y2, ...`, the range being optional.
    pub fn table(&mut self) -> Result<GraphicalFunction, PErr> {
        if self.eat(&Tok::LBracket) {
            self.pair()?;
            self.expect(&Tok::Minus)?;
            self.pair()?;
            // Optional reference lines inside the range brackets.
            while self.eat(&Tok::Comma) {
                self.pair()?;
            }
            self.expect(&Tok::RBracket)?;
            if matches!(self.peek(), Some(Tok::RParen)) {
                return Err(self.err("lookup table has no points"));
            }
            self.expect(&Tok::Comma)?;
        }
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        if matches!(self.peek(), Some(Tok::LParen)) {
            loop {
                let (x, y) = self.pair()?;
                xs.push(x);
                ys.push(y);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        } else {
            let mut all = vec![self.signed_num()?];
            while self.eat(&Tok::Comma) {
                all.push(self.signed_num()?);
            }
            if all.len() % 2 != 0 {
                return Err(self.err("tabular lookup has an odd number of values"));
            }
            ys = all.split_off(all.len() / 2);
            xs = all;
        }
        // Vensim reads points in x order, whatever order they are written in.
        if xs.windows(2).any(|w| w[1] < w[0]) {
            let mut pts: Vec<(f64, f64)> = xs.into_iter().zip(ys).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (xs, ys) = pts.into_iter().unzip();
        }
        Ok(GraphicalFunction {
            kind: GfKind::Continuous,
            xs,
            ys,
        })
    }
}

pub fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(v) => format!("number {v}"),
        Tok::Name(n) => format!("name '{n}'"),
        Tok::Quoted(n) => format!("name \"{n}\""),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Keyword(k) => format!("':{k}:'"),
        other => {
            let s = match other {
                Tok::Plus => "+",
                Tok::Minus => "-",
                Tok::Star => "*",
                Tok::Slash => "/",
                Tok::Caret => "^",
                Tok::LParen => "(",
                Tok::RParen => ")",
                Tok::LBracket => "[",
                Tok::RBracket => "]",
                Tok::Comma => ",",
                Tok::Semi => ";",
                Tok::Eq => "=",
                Tok::ColonEq => ":=",
                Tok::Colon => ":",
                Tok::Lt => "<",
                Tok::Le => "<=",
                Tok::Gt => ">",
                Tok::Ge => ">=",
                Tok::Ne => "<>",
                Tok::Arrow => "->",
                Tok::Equiv => "<->",
                _ => "!",
            };
            format!("'{s}'")
        }
    }
}
