//! Equation parser: tokens → [`Expr`], by precedence climbing.
//!
//! Precedence, lowest first (XMILE 1.0 §3.3): `OR`; `AND`; `=` `<>`;
//! `<` `<=` `>` `>=`; `+` `-`; `*` `/` `MOD`; unary `-` `+` `NOT`; `^`
//! (right-associative: `2^3^2` = 512); then primaries
//! (numbers, names, calls, subscripts, parentheses, `IF … THEN … ELSE …`).
//! Unary minus binds looser than `^`, so `-2^2` is −4. Nesting is capped so
//! hostile input gets an error, never a stack overflow.

use crate::syntax::ast::{BinaryOp, Expr, IndexExpr, Span, UnaryOp};
use crate::syntax::lexer::{lex, Tok, Token};

/// Why an equation could not be parsed, and where (byte offset).
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub offset: usize,
}

/// Parenthesis/call/unary nesting allowed (real equations stay far below).
/// Operator chains (`a+b+c+…`, one tree level per operator) are read by a
/// loop and are not limited: the stages after parsing run on a thread with
/// a stack sized for them ([`crate::with_deep_stack`]).
const MAX_DEPTH: usize = 100;

/// Parse one equation.
pub fn parse_equation(text: &str) -> Result<Expr, ParseError> {
    let tokens = lex(text)?;
    if tokens.is_empty() {
        return Err(ParseError {
            message: "empty equation".into(),
            offset: 0,
        });
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        len: text.len(),
    };
    let e = p.expr()?;
    if let Some(t) = p.peek_token() {
        return Err(p.err_at(
            format!(
                "unexpected {} after the end of the expression",
                describe(&t.tok)
            ),
            t.start,
        ));
    }
    Ok(e)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("number {n}"),
        Tok::Ident(s) => format!("name '{s}'"),
        Tok::Keyword(k) => format!("'{k}'"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::Comma => "','".into(),
        Tok::Colon => "':'".into(),
        Tok::Plus => "'+'".into(),
        Tok::Minus => "'-'".into(),
        Tok::Star => "'*'".into(),
        Tok::Slash => "'/'".into(),
        Tok::SafeSlash => "'//'".into(),
        Tok::Caret => "'^'".into(),
        Tok::Eq => "'='".into(),
        Tok::Neq => "'<>'".into(),
        Tok::Lt => "'<'".into(),
        Tok::Le => "'<='".into(),
        Tok::Gt => "'>'".into(),
        Tok::Ge => "'>='".into(),
        Tok::At(n) => format!("'@{n}'"),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    len: usize,
}

/// Binary operators by precedence level (higher binds tighter).
fn binary(t: &Tok) -> Option<(BinaryOp, u8)> {
    Some(match t {
        Tok::Keyword("OR") => (BinaryOp::Or, 1),
        Tok::Keyword("AND") => (BinaryOp::And, 2),
        Tok::Eq => (BinaryOp::Eq, 3),
        Tok::Neq => (BinaryOp::Neq, 3),
        Tok::Lt => (BinaryOp::Lt, 4),
        Tok::Le => (BinaryOp::Le, 4),
        Tok::Gt => (BinaryOp::Gt, 4),
        Tok::Ge => (BinaryOp::Ge, 4),
        Tok::Plus => (BinaryOp::Add, 5),
        Tok::Minus => (BinaryOp::Sub, 5),
        Tok::Star => (BinaryOp::Mul, 6),
        // `//` parses as SAFEDIV (see `binary_expr`).
        Tok::Slash | Tok::SafeSlash => (BinaryOp::Div, 6),
        Tok::Keyword("MOD") => (BinaryOp::Mod, 6),
        _ => return None,
    })
}

impl Parser {
    fn peek_token(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek(&self) -> Option<&Tok> {
        self.peek_token().map(|t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.peek_token().map(|t| t.start).unwrap_or(self.len)
    }

    fn err_at(&self, message: impl Into<String>, offset: usize) -> ParseError {
        ParseError {
            message: message.into(),
            offset,
        }
    }

    fn unexpected(&self) -> ParseError {
        match self.peek_token() {
            None => self.err_at("unexpected end of equation", self.len),
            Some(t) => self.err_at(format!("unexpected {}", describe(&t.tok)), t.start),
        }
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_close(&mut self, close: Tok, open_at: usize) -> Result<(), ParseError> {
        if self.eat(&close) {
            return Ok(());
        }
        let what = if close == Tok::RParen {
            "')' to close '('"
        } else {
            "']' to close '['"
        };
        Err(self.err_at(
            format!("expected {what} opened at offset {open_at}"),
            self.offset(),
        ))
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at("expression nested too deeply", self.offset()));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let r = self.binary_expr(1);
        self.depth -= 1;
        r
    }

    /// Precedence climbing over the binary levels 1..=6 (all left-associative).
    fn binary_expr(&mut self, min: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = self.peek().and_then(binary) {
            if prec < min {
                break;
            }
            let safe = self.peek() == Some(&Tok::SafeSlash);
            self.pos += 1;
            let rhs = self.binary_expr(prec + 1)?;
            lhs = if safe {
                crate::syntax::ast::call("safediv", vec![lhs, rhs])
            } else {
                Expr::Binary(op, Box::new(lhs), Box::new(rhs))
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let op = match self.peek() {
            Some(Tok::Minus) => Some(UnaryOp::Neg),
            Some(Tok::Plus) => Some(UnaryOp::Plus),
            Some(Tok::Keyword("NOT")) => Some(UnaryOp::Not),
            _ => None,
        };
        match op {
            Some(op) => {
                self.pos += 1;
                self.enter()?;
                let e = self.unary();
                self.depth -= 1;
                Ok(Expr::Unary(op, Box::new(e?)))
            }
            None => self.power(),
        }
    }

    /// `a ^ b ^ c` is `a ^ (b ^ c)` (right-associative, as the SDXorg
    /// references compute `30^1.2^1.2`); an exponent may carry signs, which
    /// apply to the whole exponent: `30^-30^-2` is `30^(-(30^(-2)))`.
    fn power(&mut self) -> Result<Expr, ParseError> {
        let base = self.primary()?;
        if !self.eat(&Tok::Caret) {
            return Ok(base);
        }
        self.enter()?;
        let exponent = self.signed_power();
        self.depth -= 1;
        Ok(Expr::Binary(
            BinaryOp::Pow,
            Box::new(base),
            Box::new(exponent?),
        ))
    }

    fn signed_power(&mut self) -> Result<Expr, ParseError> {
        match self.peek() {
            Some(Tok::Minus | Tok::Plus) => {
                let neg = self.peek() == Some(&Tok::Minus);
                self.pos += 1;
                self.enter()?;
                let e = self.signed_power();
                self.depth -= 1;
                let e = e?;
                Ok(if neg {
                    Expr::Unary(UnaryOp::Neg, Box::new(e))
                } else {
                    e
                })
            }
            _ => self.power(),
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let Some(t) = self.bump() else {
            return Err(self.unexpected());
        };
        match t.tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::LParen => {
                let e = self.expr()?;
                self.expect_close(Tok::RParen, t.start)?;
                Ok(e)
            }
            // `MOD(a, b)`: the function form of the infix operator.
            Tok::Keyword("MOD") if self.peek() == Some(&Tok::LParen) => {
                let open = self.offset();
                self.pos += 1;
                let args = self.call_args(open)?;
                let end = self.tokens.get(self.pos - 1).map_or(self.len, |t| t.end);
                Ok(Expr::Call(
                    "mod".into(),
                    args,
                    Span {
                        start: t.start,
                        end,
                    },
                ))
            }
            Tok::Keyword("IF") => {
                let c = self.expr()?;
                if !self.eat(&Tok::Keyword("THEN")) {
                    return Err(self.err_at("expected THEN after the IF condition", self.offset()));
                }
                let a = self.expr()?;
                if !self.eat(&Tok::Keyword("ELSE")) {
                    return Err(self.err_at("expected ELSE after the THEN branch", self.offset()));
                }
                let b = self.expr()?;
                Ok(Expr::If(Box::new(c), Box::new(a), Box::new(b)))
            }
            Tok::Ident(mut name) => {
                // `VECTOR SELECT(...)`: words followed by `(` are one
                // function name. Two names side by side are never valid
                // XMILE; Vensim's XMILE export (xmutil) writes the Vensim
                // functions it does not translate this way.
                let mut k = self.pos;
                while let Some(Tok::Ident(_)) = self.tokens.get(k).map(|t| &t.tok) {
                    k += 1;
                }
                if k > self.pos && self.tokens.get(k).map(|t| &t.tok) == Some(&Tok::LParen) {
                    for t in &self.tokens[self.pos..k] {
                        if let Tok::Ident(w) = &t.tok {
                            name.push('_');
                            name.push_str(w);
                        }
                    }
                    self.pos = k;
                }
                if self.peek() == Some(&Tok::LParen) {
                    let open = self.offset();
                    self.pos += 1;
                    let args = self.call_args(open)?;
                    let span = Span {
                        start: t.start,
                        end: self
                            .tokens
                            .get(self.pos - 1)
                            .map(|t| t.end)
                            .unwrap_or(self.len),
                    };
                    return Ok(Expr::Call(name, args, span));
                }
                if self.peek() == Some(&Tok::LBracket) {
                    let open = self.offset();
                    self.pos += 1;
                    let idx = self.indices(open)?;
                    let span = Span {
                        start: t.start,
                        end: self
                            .tokens
                            .get(self.pos - 1)
                            .map(|t| t.end)
                            .unwrap_or(self.len),
                    };
                    return Ok(Expr::Subscript(name, idx, span));
                }
                Ok(Expr::Var(
                    name,
                    Span {
                        start: t.start,
                        end: t.end,
                    },
                ))
            }
            _ => {
                self.pos -= 1;
                Err(self.unexpected())
            }
        }
    }

    fn call_args(&mut self, open: usize) -> Result<Vec<Expr>, ParseError> {
        let mut args = Vec::new();
        if self.eat(&Tok::RParen) {
            return Ok(args);
        }
        loop {
            if matches!(self.peek(), Some(Tok::Comma | Tok::RParen)) {
                return Err(self.err_at("missing function argument", self.offset()));
            }
            args.push(self.expr()?);
            if self.eat(&Tok::Comma) {
                continue;
            }
            self.expect_close(Tok::RParen, open)?;
            return Ok(args);
        }
    }

    fn indices(&mut self, open: usize) -> Result<Vec<IndexExpr>, ParseError> {
        let mut idx = Vec::new();
        loop {
            let item = match self.peek() {
                Some(Tok::Star) => {
                    self.pos += 1;
                    if self.eat(&Tok::Colon) {
                        match self.bump().map(|t| t.tok) {
                            Some(Tok::Ident(d)) => IndexExpr::Wildcard(Some(d)),
                            _ => {
                                return Err(self
                                    .err_at("expected a dimension name after '*:'", self.offset()))
                            }
                        }
                    } else {
                        IndexExpr::Wildcard(None)
                    }
                }
                Some(Tok::At(n)) => {
                    let n = *n;
                    self.pos += 1;
                    IndexExpr::DimPosition(n)
                }
                _ => {
                    let a = self.expr()?;
                    if self.eat(&Tok::Colon) {
                        IndexExpr::Range(a, self.expr()?)
                    } else {
                        IndexExpr::Expr(a)
                    }
                }
            };
            idx.push(item);
            if self.eat(&Tok::Comma) {
                continue;
            }
            self.expect_close(Tok::RBracket, open)?;
            return Ok(idx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact Lisp-ish rendering, so expectations read at a glance.
    fn show(e: &Expr) -> String {
        match e {
            Expr::Num(n) => format!("{n}"),
            Expr::Var(n, _) => n.clone(),
            Expr::Subscript(n, idx, _) => {
                let items: Vec<String> = idx
                    .iter()
                    .map(|i| match i {
                        IndexExpr::Expr(e) => show(e),
                        IndexExpr::Wildcard(None) => "*".into(),
                        IndexExpr::Wildcard(Some(d)) => format!("*:{d}"),
                        IndexExpr::DimPosition(p) => format!("@{p}"),
                        IndexExpr::Range(a, b) => format!("{}:{}", show(a), show(b)),
                    })
                    .collect();
                format!("{n}[{}]", items.join(","))
            }
            Expr::Call(f, args, _) => {
                let a: Vec<String> = args.iter().map(show).collect();
                format!("{f}({})", a.join(","))
            }
            Expr::Unary(op, a) => format!("({op:?} {})", show(a)),
            Expr::Binary(op, a, b) => format!("({op} {} {})", show(a), show(b)),
            Expr::If(c, a, b) => format!("(if {} {} {})", show(c), show(a), show(b)),
        }
    }

    fn p(s: &str) -> String {
        show(&parse_equation(s).unwrap())
    }

    #[test]
    fn precedence_follows_the_spec() {
        assert_eq!(p("1 + 2 * 3"), "(+ 1 (* 2 3))");
        assert_eq!(p("1 - 2 - 3"), "(- (- 1 2) 3)");
        assert_eq!(p("2^3^2"), "(^ 2 (^ 3 2))");
        assert_eq!(p("30^ - 30^-c"), "(^ 30 (Neg (^ 30 (Neg c))))");
        assert_eq!(p("-2^2"), "(Neg (^ 2 2))");
        assert_eq!(p("x^-1"), "(^ x (Neg 1))");
        assert_eq!(
            p("a >= b AND c <= d OR NOT e"),
            "(OR (AND (>= a b) (<= c d)) (Not e))"
        );
        assert_eq!(p("a = b < c"), "(= a (< b c))");
        assert_eq!(p("7 MOD 3 * 2"), "(* (MOD 7 3) 2)");
        assert_eq!(p("1 <> 2"), "(<> 1 2)");
        assert_eq!(p("5e-2*3"), "(* 0.05 3)");
    }

    #[test]
    fn if_then_else_nests_and_extends_right() {
        assert_eq!(p("IF a > 5 THEN 1 ELSE 0"), "(if (> a 5) 1 0)");
        assert_eq!(
            p("if a then if b then 1 else 2 else 3 + 4"),
            "(if a (if b 1 2) (+ 3 4))"
        );
        assert_eq!(p("2 * IF a THEN 1 ELSE 0"), "(* 2 (if a 1 0))");
    }

    #[test]
    fn names_calls_and_subscripts() {
        assert_eq!(
            p("(\"Teacup Temperature\"-\"Room Temperature\")/\"Characteristic Time\""),
            "(/ (- teacup_temperature room_temperature) characteristic_time)"
        );
        assert_eq!(p("DELAY(Flow_2, 5, -20)"), "delay(flow_2,5,(Neg 20))");
        assert_eq!(p("PI()"), "pi()");
        assert_eq!(p("a.b + \"c d\".e"), "(+ a.b c_d.e)");
        assert_eq!(p("x[a, *, *:Dim, @2, 1:3]"), "x[a,*,*:dim,@2,1:3]");
        // Stella Architect's `Dim.*` is `*:Dim`; a dotted name stays a name.
        assert_eq!(p("demand[Location.*]"), "demand[*:location]");
        assert_eq!(p("m.x[Location.*, 2] + m.y"), "(+ m.x[*:location,2] m.y)");
        assert_eq!(p("NOT (a = b)"), "(Not (= a b))");
        assert_eq!(p("min(a, b) {a comment}"), "min(a,b)");
    }

    #[test]
    fn errors_are_clear_and_located() {
        let e = |s: &str| parse_equation(s).unwrap_err();
        assert_eq!(e("").message, "empty equation");
        assert_eq!(e("   ").message, "empty equation");
        assert_eq!(
            e("(1 + 2").message,
            "expected ')' to close '(' opened at offset 0"
        );
        assert_eq!(e("1 +").message, "unexpected end of equation");
        assert_eq!(e("* 2").message, "unexpected '*'");
        assert_eq!(e("f(a,,b)").message, "missing function argument");
        assert_eq!(e("1 2").offset, 2);
        assert_eq!(
            e("IF a THEN b").message,
            "expected ELSE after the THEN branch"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "(".repeat(100_000) + "1" + &")".repeat(100_000);
        assert_eq!(
            parse_equation(&deep).unwrap_err().message,
            "expression nested too deeply"
        );
        let negs = "-".repeat(100_000) + "1";
        assert!(parse_equation(&negs).is_err());
        let pows = "2".to_string() + &"^-2".repeat(100_000);
        assert_eq!(
            parse_equation(&pows).unwrap_err().message,
            "expression nested too deeply"
        );
        // A long chain of operators is a valid equation, read by a loop.
        let sums = "1".to_string() + &"+1".repeat(100_000);
        assert!(parse_equation(&sums).is_ok());
    }

    #[test]
    fn no_input_prefix_panics() {
        let samples = [
            "IF a > 5 THEN MIN(b, c[d, *]) ELSE -x^2 {c} + \"q r\".s",
            "DELAY(Flow_2, 5, -20) <> 1e+006 AND NOT b[@1, 1:2]",
            "f(a,(b),[c]) ** \"unterminated",
        ];
        for s in samples {
            for (i, _) in s.char_indices() {
                let _ = parse_equation(&s[..i]);
                let _ = parse_equation(&s[i..]);
            }
        }
    }
}
