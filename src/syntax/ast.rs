//! The expression tree that equation text parses into.
//!
//! The AST is format-neutral: XMILE today, Vensim `.mdl` later, both produce
//! these nodes. Identifiers are stored already canonicalised (see
//! [`crate::syntax::ident::canonicalize`]) so later stages compare names with
//! plain string equality. Function names are lower-case with spaces and
//! underscores folded to `_` (`IF THEN ELSE` → not a function, `SMTH1` →
//! `smth1`), so the compiler matches builtins case-insensitively for free.

use std::fmt;

/// A byte range in the equation text, for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `^` (right-associative is *not* assumed; XMILE/Stella evaluate left to right).
    Pow,
    /// The `MOD` infix operator.
    Mod,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// One index inside `name[...]`.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexExpr {
    /// An element name, a dimension name, or an arbitrary numeric expression.
    Expr(Expr),
    /// `*` (whole dimension), optionally `*:dim`.
    Wildcard(Option<String>),
    /// `@n`: XMILE dimension position (1-based).
    DimPosition(u32),
    /// `a:b` element range.
    Range(Expr, Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Num(f64),
    /// A reference to a variable (canonical identifier, may contain `.` for
    /// module-qualified names such as `hares.births`).
    Var(String, Span),
    /// `name[i, j]`.
    Subscript(String, Vec<IndexExpr>, Span),
    /// `fn(args)`: canonical lower-case function name.
    Call(String, Vec<Expr>, Span),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `IF c THEN a ELSE b`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
}

/// Expression builders shared by the passes that write equations (the
/// XMILE reader's conveyors and outflow caps, expansion in
/// `crate::compile::expand`, loop-score instrumentation in `crate::loops`).
pub(crate) fn var(ident: &str) -> Expr {
    Expr::Var(ident.to_string(), Span::default())
}
pub(crate) fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}
pub(crate) fn call(f: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(f.to_string(), args, Span::default())
}

impl Expr {
    /// The operands of an operator node (unary, binary, IF), in order;
    /// none for leaves and calls.
    pub fn operands(&self) -> impl Iterator<Item = &Expr> {
        let (a, b, c): (Option<&Expr>, Option<&Expr>, Option<&Expr>) = match self {
            Expr::Unary(_, a) => (Some(a), None, None),
            Expr::Binary(_, a, b) => (Some(a), Some(b), None),
            Expr::If(c, a, b) => (Some(c), Some(a), Some(b)),
            _ => (None, None, None),
        };
        a.into_iter().chain(b).chain(c)
    }

    /// Visit every variable reference (plain and subscripted) in the tree.
    pub fn walk_refs<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        match self {
            Expr::Num(_) => {}
            Expr::Var(n, _) => f(n),
            Expr::Subscript(n, idx, _) => {
                f(n);
                for i in idx {
                    match i {
                        IndexExpr::Expr(e) => e.walk_refs(f),
                        IndexExpr::Range(a, b) => {
                            a.walk_refs(f);
                            b.walk_refs(f);
                        }
                        IndexExpr::Wildcard(_) | IndexExpr::DimPosition(_) => {}
                    }
                }
            }
            Expr::Call(_, args, _) => args.iter().for_each(|a| a.walk_refs(f)),
            Expr::Unary(_, e) => e.walk_refs(f),
            Expr::Binary(_, a, b) => {
                a.walk_refs(f);
                b.walk_refs(f);
            }
            Expr::If(c, a, b) => {
                c.walk_refs(f);
                a.walk_refs(f);
                b.walk_refs(f);
            }
        }
    }
}

impl Expr {
    /// A copy of the tree in which every node for which `f` returns a
    /// replacement is replaced (the replacement is not visited again);
    /// subscripted names and subscript indices are left alone.
    pub fn rewrite(&self, f: &dyn Fn(&Expr) -> Option<Expr>) -> Expr {
        if let Some(r) = f(self) {
            return r;
        }
        let m = |e: &Expr| Box::new(e.rewrite(f));
        match self {
            Expr::Num(_) | Expr::Var(..) | Expr::Subscript(..) => self.clone(),
            Expr::Call(name, args, s) => Expr::Call(
                name.clone(),
                args.iter().map(|a| a.rewrite(f)).collect(),
                *s,
            ),
            Expr::Unary(op, a) => Expr::Unary(*op, m(a)),
            Expr::Binary(op, a, b) => Expr::Binary(*op, m(a), m(b)),
            Expr::If(c, a, b) => Expr::If(m(c), m(a), m(b)),
        }
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "^",
            BinaryOp::Mod => "MOD",
            BinaryOp::Eq => "=",
            BinaryOp::Neq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        };
        f.write_str(s)
    }
}

/// Dropping a tree walks it with a worklist, not recursion: a 100,000-term
/// chain (`a + b + ...`) is 100,000 levels deep, and a recursive drop of it
/// would overflow the stack of whichever thread lets go of the model.
impl Drop for Expr {
    fn drop(&mut self) {
        let mut stack: Vec<Expr> = Vec::new();
        take_children(self, &mut stack);
        while let Some(mut e) = stack.pop() {
            take_children(&mut e, &mut stack);
        }
    }
}

/// Move `e`'s children that have children of their own onto `stack`,
/// leaving placeholders behind; leaf children (numbers, names) stay and are
/// freed by the ordinary drop, which cannot recurse through them.
fn take_children(e: &mut Expr, stack: &mut Vec<Expr>) {
    let mut take = |b: &mut Box<Expr>| {
        if !matches!(**b, Expr::Num(_) | Expr::Var(..)) {
            stack.push(std::mem::replace(&mut **b, Expr::Num(0.0)));
        }
    };
    match e {
        Expr::Num(_) | Expr::Var(..) => {}
        Expr::Subscript(_, idx, _) => {
            for i in idx.iter_mut() {
                match i {
                    IndexExpr::Expr(x) => stack.push(std::mem::replace(x, Expr::Num(0.0))),
                    IndexExpr::Range(a, b) => {
                        stack.push(std::mem::replace(a, Expr::Num(0.0)));
                        stack.push(std::mem::replace(b, Expr::Num(0.0)));
                    }
                    IndexExpr::Wildcard(_) | IndexExpr::DimPosition(_) => {}
                }
            }
        }
        Expr::Call(_, args, _) => stack.append(args),
        Expr::Unary(_, a) => take(a),
        Expr::Binary(_, a, b) => {
            take(a);
            take(b);
        }
        Expr::If(c, a, b) => {
            take(c);
            take(a);
            take(b);
        }
    }
}
