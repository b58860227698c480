//! Tokens of a Vensim equation (the part of a record before the first `~`).
//!
//! Vensim names may contain spaces (`Teacup Temperature`, `IF THEN ELSE`),
//! so the lexer joins consecutive words into one `Name` with single spaces;
//! a name is only ever followed by an operator, never by another name, so
//! this is unambiguous. `:AND:`-style keywords, `\`-newline continuations
//! and `{...}` inline comments are handled here so the parser never sees
//! them. Every token keeps its byte range in the whole file, so errors can
//! report line and column.

/// One token kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Num(f64),
    /// An unquoted name, words joined by single spaces.
    Name(String),
    /// A `"quoted name"`, quotes removed.
    Quoted(String),
    /// A `'single quoted'` string (file names of external data functions).
    Str(String),
    /// `:AND:`, `:NA:`, `:EXCEPT:`... upper-cased, colons removed.
    Keyword(String),
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Semi,
    Eq,
    ColonEq,
    Colon,
    Lt,
    Le,
    Gt,
    Ge,
    Ne,
    Arrow,
    Equiv,
    Bang,
}

/// A token with its byte range in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Keywords written between colons.
const KEYWORDS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "NA",
    "EXCEPT",
    "INTERPOLATE",
    "RAW",
    "HOLD BACKWARD",
    "LOOK FORWARD",
    "IMPLIES",
    "THE CONDITION",
    "TEST INPUT",
    "IS",
];

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || (!c.is_ascii() && !c.is_whitespace())
}

fn name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$' || (!c.is_ascii() && !c.is_whitespace())
}

/// Lex `text`, whose first byte sits at file offset `base`. Errors carry the
/// file offset of the problem.
pub fn lex(text: &str, base: usize) -> Result<Vec<Token>, (usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = match text[i..].chars().next() {
            Some(c) => c,
            None => break,
        };
        let start = i;
        if let Some(n) = skip_space(text, i) {
            i = n;
            continue;
        }
        let single = |t: Tok| (t, c.len_utf8());
        let (tok, len) = match c {
            '+' => single(Tok::Plus),
            '*' => single(Tok::Star),
            '/' => single(Tok::Slash),
            '^' => single(Tok::Caret),
            '(' => single(Tok::LParen),
            ')' => single(Tok::RParen),
            '[' => single(Tok::LBracket),
            ']' => single(Tok::RBracket),
            ',' => single(Tok::Comma),
            ';' => single(Tok::Semi),
            '=' => single(Tok::Eq),
            '!' => single(Tok::Bang),
            '-' if b.get(i + 1) == Some(&b'>') => (Tok::Arrow, 2),
            '-' => single(Tok::Minus),
            '<' if text[i..].starts_with("<->") => (Tok::Equiv, 3),
            '<' if b.get(i + 1) == Some(&b'=') => (Tok::Le, 2),
            '<' if b.get(i + 1) == Some(&b'>') => (Tok::Ne, 2),
            '<' => single(Tok::Lt),
            '>' if b.get(i + 1) == Some(&b'=') => (Tok::Ge, 2),
            '>' => single(Tok::Gt),
            ':' => colon(text, i),
            '"' => {
                let (s, n) = quoted(text, i, '"').ok_or((base + i, "unclosed '\"'".into()))?;
                (Tok::Quoted(s), n)
            }
            '\'' => {
                let (s, n) = quoted(text, i, '\'').ok_or((base + i, "unclosed '''".into()))?;
                (Tok::Str(s), n)
            }
            c if c.is_ascii_digit()
                || (c == '.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                number(text, i).ok_or((base + i, "malformed number".into()))?
            }
            c if name_start(c) => name(text, i),
            c => return Err((base + i, format!("unexpected character '{c}'"))),
        };
        i += len;
        out.push(Token {
            tok,
            start: base + start,
            end: base + i,
        });
    }
    Ok(out)
}

/// Whitespace, a `\`-newline continuation or a `{...}` comment at `i`:
/// the offset after it.
fn skip_space(text: &str, i: usize) -> Option<usize> {
    let rest = &text[i..];
    let c = rest.chars().next()?;
    if c.is_whitespace() {
        return Some(i + c.len_utf8());
    }
    if c == '\\' {
        let after = rest[1..].trim_start_matches([' ', '\t', '\r']);
        if after.starts_with('\n') || after.is_empty() {
            return Some(text.len() - after.len() + usize::from(!after.is_empty()));
        }
    }
    if c == '{' {
        return Some(comment_end(text, i));
    }
    None
}

/// The offset after the `{...}` comment at `i`. Comments nest (a comment
/// may quote an equation that has comments of its own); an unclosed one
/// runs to the end of the equation.
fn comment_end(text: &str, i: usize) -> usize {
    let mut depth = 0usize;
    for (k, c) in text[i..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + k + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

fn colon(text: &str, i: usize) -> (Tok, usize) {
    let rest = &text[i + 1..];
    if rest.starts_with('=') {
        return (Tok::ColonEq, 2);
    }
    if let Some(end) = rest.find(':') {
        let word = rest[..end].trim().to_ascii_uppercase();
        let word = word.split_whitespace().collect::<Vec<_>>().join(" ");
        if KEYWORDS.contains(&word.as_str()) {
            return (Tok::Keyword(word), end + 2);
        }
    }
    (Tok::Colon, 1)
}

fn quoted(text: &str, i: usize, q: char) -> Option<(String, usize)> {
    let mut s = String::new();
    let mut chars = text[i + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        if c == '\\' {
            // Escapes stay as written: `canonicalize` reads `\n` and `\"`.
            s.push(c);
            if let Some((_, n)) = chars.next() {
                s.push(n);
            }
        } else if c == q {
            return Some((s, k + 2));
        } else {
            s.push(c);
        }
    }
    None
}

fn number(text: &str, i: usize) -> Option<(Tok, usize)> {
    let b = text.as_bytes();
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if j < b.len() && b[j] == b'.' {
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
        let mut k = j + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        if k < b.len() && b[k].is_ascii_digit() {
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let v: f64 = text[i..j].parse().ok()?;
    Some((Tok::Num(v), j - i))
}

/// A name of one or more words; the length stops at the last word. An
/// apostrophe inside a word belongs to the name (`time's up`, `DimC'`);
/// only at the start of a token does it open a string.
fn name(text: &str, i: usize) -> (Tok, usize) {
    let mut words: Vec<&str> = Vec::new();
    let mut j = i;
    loop {
        let w_start = j;
        for c in text[j..].chars() {
            if name_char(c) || (c == '\'' && j > w_start) {
                j += c.len_utf8();
            } else {
                break;
            }
        }
        words.push(&text[w_start..j]);
        // Look past spaces and continuations for another word.
        let mut k = j;
        while let Some(n) = skip_space(text, k).filter(|_| !text[k..].starts_with('{')) {
            k = n;
        }
        match text[k..].chars().next() {
            Some(c) if k > j && name_char(c) => j = k,
            _ => break,
        }
    }
    (Tok::Name(words.join(" ")), j - i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apostrophes_in_names_and_nested_comments() {
        assert_eq!(
            toks("time's up + DimC' * GET('f.csv', 'a') {c {nested} c} - x"),
            vec![
                Tok::Name("time's up".into()),
                Tok::Plus,
                Tok::Name("DimC'".into()),
                Tok::Star,
                Tok::Name("GET".into()),
                Tok::LParen,
                Tok::Str("f.csv".into()),
                Tok::Comma,
                Tok::Str("a".into()),
                Tok::RParen,
                Tok::Minus,
                Tok::Name("x".into()),
            ]
        );
    }

    fn toks(s: &str) -> Vec<Tok> {
        lex(s, 0).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn names_with_spaces_and_keywords() {
        assert_eq!(
            toks("IF THEN ELSE( a  b\\\n  c :AND: 1e+006, .5)"),
            vec![
                Tok::Name("IF THEN ELSE".into()),
                Tok::LParen,
                Tok::Name("a b c".into()),
                Tok::Keyword("AND".into()),
                Tok::Num(1e6),
                Tok::Comma,
                Tok::Num(0.5),
                Tok::RParen
            ]
        );
        assert_eq!(
            toks("A: a1 -> B <-> :="),
            vec![
                Tok::Name("A".into()),
                Tok::Colon,
                Tok::Name("a1".into()),
                Tok::Arrow,
                Tok::Name("B".into()),
                Tok::Equiv,
                Tok::ColonEq
            ]
        );
    }
}
