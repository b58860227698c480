//! Equation parser (placeholder; being written).

use crate::syntax::ast::Expr;

#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub offset: usize,
}

pub fn parse_equation(text: &str) -> Result<Expr, ParseError> {
    text.trim()
        .parse::<f64>()
        .map(Expr::Num)
        .map_err(|_| ParseError {
            message: "parser not written yet".into(),
            offset: 0,
        })
}
