//! Vensim models as xmutil writes them to XMILE.
//!
//! xmutil is Ventana's converter (what Vensim's own XMILE export runs), and
//! its files say so in `<header><vendor>`/`<product>` (as do XMILE files
//! older Vensim versions wrote themselves). They hold Vensim
//! equations in XMILE clothing, with conventions of their own that this
//! module undoes, so such a file runs as the Vensim model it came from:
//!
//! - Builtins keep their Vensim meaning (the project's dialect is Vensim:
//!   `NPV`, `STEP`, `PULSE`...), and Vensim functions xmutil does not
//!   translate stay under their Vensim names (`VECTOR SELECT(...)`, read by
//!   the equation parser as one multi-word name).
//! - A call xmutil cannot write at all is replaced by `0` followed by the
//!   call in a comment, spaces turned into `_`:
//!   `0{GET_DATA_BETWEEN_TIMES_(_Values[A1]_,_Time_,_0_)}`. The call is read
//!   back in Vensim syntax; if that fails the `0` stays, with a warning.
//! - Vensim's `:NA:` is written as the number `-1e+38`.
//! - A data variable with no equation (its values come from the run's data
//!   files) becomes `TIME` through a placeholder table `(0,1),(1,1)`; with
//!   data files given, the data replace it.
//!
//! Every recovery is reported in the project's warnings.

use crate::ir::{GraphicalFunction, VENSIM_NA};
use crate::syntax::ast::Expr;
use crate::syntax::ident::canonicalize;
use roxmltree::Node;

/// Whether the document was written by Vensim's side: xmutil, or Vensim's
/// own XMILE export (`<vendor>Ventana Systems...`, `<product>Vensim`).
pub fn is_xmutil(root: Node<'_, '_>) -> bool {
    super::header_mentions(root, &["xmutil", "ventana", "vensim"])
}

/// The identifier standing for the `i`-th recovered call while the XMILE
/// parser reads the rest of the equation.
pub fn placeholder(i: usize) -> String {
    format!("xmutilcall{i}x")
}

/// An equation's text with each `0{CALL}` replaced by a placeholder
/// identifier, and the calls in Vensim syntax.
pub fn extract_calls(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("0{") {
        // `0` must start a token: `10{...}` is a number and a comment.
        let starts_token = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
        let Some(len) = starts_token
            .then(|| closing_brace(&rest[at + 1..]))
            .flatten()
        else {
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
            continue;
        };
        out.push_str(&rest[..at]);
        let inner = &rest[at + 2..at + 1 + len];
        out.push_str(&placeholder(calls.len()));
        calls.push(unmangle(inner));
        rest = &rest[at + 2 + len..];
    }
    out.push_str(rest);
    (out, calls)
}

/// Length of the `{...}` group at the start of `s` (which starts with
/// `{`), up to its matching `}` inclusive, minus one; `None` if unclosed.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (k, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
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

/// xmutil's comment text back to Vensim: `_` was a space everywhere but
/// inside `'...'` strings, which are kept as written (a file name may
/// really contain `_`).
fn unmangle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '_' if !quoted => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Put the recovered calls back in place of their placeholders; a call
/// that does not parse as Vensim stays `0` (xmutil's own value) and is
/// reported through `warn`.
pub fn restore_calls(e: &Expr, calls: &[String], warn: &mut dyn FnMut(String)) -> Expr {
    if calls.is_empty() {
        return e.clone();
    }
    let parsed: Vec<Expr> = calls
        .iter()
        .map(|c| match crate::syntax::mdl::parse_vensim_expr(c) {
            Ok(x) => x,
            Err(m) => {
                warn(format!(
                    "the Vensim call '{c}' that xmutil could not translate is kept as 0 ({m})"
                ));
                Expr::Num(0.0)
            }
        })
        .collect();
    e.rewrite(&|x| match x {
        Expr::Var(n, _) => (0..calls.len())
            .find(|&i| canonicalize(&placeholder(i)) == *n)
            .map(|i| parsed[i].clone()),
        _ => None,
    })
}

/// xmutil's spelling of `:NA:` (`-1e+38`) as Vensim's value.
pub fn restore_na(e: &Expr) -> Expr {
    const XMUTIL_NA: f64 = 1e38;
    e.rewrite(&|x| match x {
        Expr::Num(v) if *v == -XMUTIL_NA => Some(Expr::Num(VENSIM_NA)),
        Expr::Unary(crate::syntax::ast::UnaryOp::Neg, a)
            if matches!(**a, Expr::Num(v) if v == XMUTIL_NA) =>
        {
            Some(Expr::Num(VENSIM_NA))
        }
        _ => None,
    })
}

/// Whether `eqn`/`gf` are xmutil's stand-in for a data variable with no
/// equation: `TIME` through the table `(0,1),(1,1)`.
pub fn is_data_placeholder(eqn: Option<&str>, gf: Option<&GraphicalFunction>) -> bool {
    eqn.is_some_and(|t| t.trim().eq_ignore_ascii_case("time"))
        && gf.is_some_and(|g| g.xs == [0.0, 1.0] && g.ys == [1.0, 1.0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_in_comments_come_back_in_vensim_syntax() {
        let (text, calls) = extract_calls(
            "INIT(0{GET_DATA_BETWEEN_TIMES_(_Values[A1]_,_MIN(FINAL_TIME,_Time)_,_0_)}) + 10{c}",
        );
        assert_eq!(text, "INIT(xmutilcall0x) + 10{c}");
        assert_eq!(
            calls,
            vec!["GET DATA BETWEEN TIMES ( Values[A1] , MIN(FINAL TIME, Time) , 0 )"]
        );
        let (_, calls) = extract_calls("0{GET_DIRECT_DATA('e_data.csv',_',',_'A',_'B2')}");
        assert_eq!(calls, vec!["GET DIRECT DATA('e_data.csv', ',', 'A', 'B2')"]);
        let e = crate::syntax::parse_equation("INIT(xmutilcall0x) * 2").unwrap();
        let mut warnings = Vec::new();
        let r = restore_calls(&e, &["MAX(a b, 2)".into()], &mut |w| warnings.push(w));
        let s = format!("{r:?}");
        assert!(s.contains("\"max\"") && s.contains("\"a_b\""), "{s}");
        assert!(warnings.is_empty());
        restore_calls(&e, &["GET DIRECT DATA('x.csv')".into()], &mut |w| {
            warnings.push(w)
        });
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn na_and_data_placeholders() {
        let e = crate::syntax::parse_equation("IF a = -1e+38 THEN 0 ELSE 1").unwrap();
        let s = format!("{:?}", restore_na(&e));
        assert!(s.contains(&format!("{VENSIM_NA:?}")), "{s}");
        let g = GraphicalFunction {
            xs: vec![0.0, 1.0],
            ys: vec![1.0, 1.0],
            ..Default::default()
        };
        assert!(is_data_placeholder(Some("TIME"), Some(&g)));
        assert!(!is_data_placeholder(Some("x"), Some(&g)));
    }
}
