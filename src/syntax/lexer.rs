//! Equation lexer: text → tokens with byte offsets.
//!
//! Separate from the parser so that number and name rules (exponents,
//! quoted names with any characters, dotted module names, `{comments}`)
//! live in one place. It never panics: anything it cannot read becomes a
//! [`ParseError`] with the offset of the offending character.

use crate::syntax::ident::canonicalize;
use crate::syntax::parser::ParseError;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Num(f64),
    /// A name, already canonical.
    Ident(String),
    /// A bare keyword (IF THEN ELSE AND OR NOT MOD), upper-case.
    Keyword(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Plus,
    Minus,
    Star,
    Slash,
    /// isee's `//`: division that gives 0 where the divisor is 0.
    SafeSlash,
    Caret,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    /// `@n` dimension position.
    At(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

const KEYWORDS: &[&str] = &["IF", "THEN", "ELSE", "AND", "OR", "NOT", "MOD"];

fn ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn err(message: impl Into<String>, offset: usize) -> ParseError {
    ParseError {
        message: message.into(),
        offset,
    }
}

/// Split equation text into tokens.
pub fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| bytes.get(i).map(|&(_, c)| c);
    let off = |i: usize| bytes.get(i).map(|&(o, _)| o).unwrap_or(text.len());
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = off(i);
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '{' {
            // A comment runs to the matching brace.
            let mut j = i + 1;
            while at(j).is_some_and(|c| c != '}') {
                j += 1;
            }
            if at(j).is_none() {
                return Err(err("unterminated '{' comment", start));
            }
            i = j + 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && at(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let mut j = i;
            while at(j).is_some_and(|d| d.is_ascii_digit()) {
                j += 1;
            }
            if at(j) == Some('.') {
                j += 1;
                while at(j).is_some_and(|d| d.is_ascii_digit()) {
                    j += 1;
                }
            }
            if matches!(at(j), Some('e' | 'E')) {
                let mut k = j + 1;
                if matches!(at(k), Some('+' | '-')) {
                    k += 1;
                }
                if at(k).is_some_and(|d| d.is_ascii_digit()) {
                    while at(k).is_some_and(|d| d.is_ascii_digit()) {
                        k += 1;
                    }
                    j = k;
                }
            }
            let s = &text[start..off(j)];
            let v: f64 = s
                .parse()
                .map_err(|_| err(format!("bad number '{s}'"), start))?;
            out.push(Token {
                tok: Tok::Num(v),
                start,
                end: off(j),
            });
            i = j;
            continue;
        }
        if ident_start(c) || c == '"' {
            // A name: unquoted or quoted parts joined by dots.
            let mut j = i;
            let mut raw = String::new();
            loop {
                match at(j) {
                    Some('"') => {
                        let q = off(j);
                        j += 1;
                        loop {
                            match at(j) {
                                None => return Err(err("unterminated quoted name", q)),
                                Some('\\') => {
                                    if let Some(n) = at(j + 1) {
                                        raw.push('\\');
                                        raw.push(n);
                                    }
                                    j += 2;
                                }
                                Some('"') => {
                                    j += 1;
                                    break;
                                }
                                Some('.') => {
                                    // A dot inside quotes is part of the name.
                                    raw.push('·');
                                    j += 1;
                                }
                                Some(ch) => {
                                    raw.push(ch);
                                    j += 1;
                                }
                            }
                        }
                    }
                    Some(ch) if ident_char(ch) => {
                        // Stella writes names with apostrophes unquoted
                        // (`initial_farms'_average_size`); `'` is no
                        // operator in XMILE, so inside a name it is part
                        // of it.
                        while let Some(ch) = at(j).filter(|&ch| ident_char(ch) || ch == '\'') {
                            raw.push(ch);
                            j += 1;
                        }
                    }
                    _ => break,
                }
                // Continue across a dot into the next part of a dotted name.
                if at(j) == Some('.') && at(j + 1).is_some_and(|n| ident_start(n) || n == '"') {
                    raw.push('.');
                    j += 1;
                } else {
                    break;
                }
            }
            let upper = raw.to_ascii_uppercase();
            let was_quoted = c == '"';
            let tok = match KEYWORDS.iter().find(|k| **k == upper) {
                Some(k) if !was_quoted => Tok::Keyword(k),
                _ => Tok::Ident(canonicalize(&raw).replace('·', ".")),
            };
            // Stella Architect's `Dim.*` in a subscript: every element of
            // Dim, read as the XMILE form `*:Dim`.
            if matches!(tok, Tok::Ident(_)) && at(j) == Some('.') && at(j + 1) == Some('*') {
                let end = off(j + 2);
                out.push(Token {
                    tok: Tok::Star,
                    start,
                    end,
                });
                out.push(Token {
                    tok: Tok::Colon,
                    start,
                    end,
                });
                out.push(Token { tok, start, end });
                i = j + 2;
                continue;
            }
            out.push(Token {
                tok,
                start,
                end: off(j),
            });
            i = j;
            continue;
        }
        // Vensim's operators and :NA:, as its XMILE export leaves them in
        // equations (`IF_THEN_ELSE(x = :NA:, 0, x)`, `a :AND: b`). A colon
        // otherwise only separates (`*:Dim`), never around a bare word.
        if c == ':' {
            let word: String = (i + 1..)
                .map_while(|k| at(k).filter(char::is_ascii_alphabetic))
                .collect();
            let close = i + 1 + word.chars().count();
            let tok = match word.to_ascii_uppercase().as_str() {
                "NA" => Some(Tok::Num(crate::ir::VENSIM_NA)),
                "AND" => Some(Tok::Keyword("AND")),
                "OR" => Some(Tok::Keyword("OR")),
                "NOT" => Some(Tok::Keyword("NOT")),
                _ => None,
            };
            if let Some(tok) = tok.filter(|_| at(close) == Some(':')) {
                out.push(Token {
                    tok,
                    start,
                    end: off(close + 1),
                });
                i = close + 1;
                continue;
            }
        }
        let two = (c, at(i + 1));
        let (tok, len) = match two {
            ('<', Some('=')) => (Tok::Le, 2),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('<', Some('>')) => (Tok::Neq, 2),
            ('!', Some('=')) => (Tok::Neq, 2),
            ('=', Some('=')) => (Tok::Eq, 2),
            ('&', Some('&')) => (Tok::Keyword("AND"), 2),
            ('|', Some('|')) => (Tok::Keyword("OR"), 2),
            ('/', Some('/')) => (Tok::SafeSlash, 2),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            (',', _) => (Tok::Comma, 1),
            (':', _) => (Tok::Colon, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('^', _) => (Tok::Caret, 1),
            ('=', _) => (Tok::Eq, 1),
            ('<', _) => (Tok::Lt, 1),
            ('>', _) => (Tok::Gt, 1),
            ('!', _) => (Tok::Keyword("NOT"), 1),
            ('@', _) => {
                let mut j = i + 1;
                while at(j).is_some_and(|d| d.is_ascii_digit()) {
                    j += 1;
                }
                let n: u32 = text[off(i + 1)..off(j)]
                    .parse()
                    .map_err(|_| err("'@' must be followed by a dimension position", start))?;
                out.push(Token {
                    tok: Tok::At(n),
                    start,
                    end: off(j),
                });
                i = j;
                continue;
            }
            _ => return Err(err(format!("unexpected character '{c}'"), start)),
        };
        out.push(Token {
            tok,
            start,
            end: off(i + len),
        });
        i += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_in_every_spelling() {
        assert_eq!(
            toks("1 1.5 .5 5. 1e3 1E-3 1.2e+006 007.5"),
            vec![
                Tok::Num(1.0),
                Tok::Num(1.5),
                Tok::Num(0.5),
                Tok::Num(5.0),
                Tok::Num(1000.0),
                Tok::Num(0.001),
                Tok::Num(1.2e6),
                Tok::Num(7.5)
            ]
        );
    }

    #[test]
    fn names_quoted_dotted_and_keywords() {
        assert_eq!(
            toks("\"Teacup Temperature\" a.b \"c d\".e if Mod"),
            vec![
                Tok::Ident("teacup_temperature".into()),
                Tok::Ident("a.b".into()),
                Tok::Ident("c_d.e".into()),
                Tok::Keyword("IF"),
                Tok::Keyword("MOD"),
            ]
        );
        assert_eq!(toks("\"x.y\""), vec![Tok::Ident("x.y".into())]);
        // Stella's unquoted names with apostrophes (the variable "initial
        // farms' average size").
        assert_eq!(
            toks("initial_farms'_average_size*2"),
            vec![
                Tok::Ident("initial_farms'_average_size".into()),
                Tok::Star,
                Tok::Num(2.0),
            ]
        );
    }

    #[test]
    fn comments_and_operators() {
        assert_eq!(
            toks("a {note} <> b <= c"),
            vec![
                Tok::Ident("a".into()),
                Tok::Neq,
                Tok::Ident("b".into()),
                Tok::Le,
                Tok::Ident("c".into())
            ]
        );
    }

    /// Vensim's XMILE export keeps its own `:NA:`, `:AND:`, `:OR:` and
    /// `:NOT:`; a colon between names still separates them.
    #[test]
    fn vensim_colon_operators_and_na() {
        assert_eq!(
            toks("x = :NA: :or: :NOT: a :AND: b"),
            vec![
                Tok::Ident("x".into()),
                Tok::Eq,
                Tok::Num(crate::ir::VENSIM_NA),
                Tok::Keyword("OR"),
                Tok::Keyword("NOT"),
                Tok::Ident("a".into()),
                Tok::Keyword("AND"),
                Tok::Ident("b".into()),
            ]
        );
        assert_eq!(
            toks("*:Dim a:na"),
            vec![
                Tok::Star,
                Tok::Colon,
                Tok::Ident("dim".into()),
                Tok::Ident("a".into()),
                Tok::Colon,
                Tok::Ident("na".into()),
            ]
        );
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(lex("a # b").unwrap_err().offset, 2);
        assert_eq!(
            lex("\"abc").unwrap_err().message,
            "unterminated quoted name"
        );
        assert!(lex("{ open").is_err());
    }
}
