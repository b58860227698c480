//! Identifier canonicalisation: the one definition of "the same name".
//!
//! XMILE (and Vensim) treat names case-insensitively and make spaces and
//! underscores interchangeable; quotes around a name (or around a part of a
//! dotted or subscripted one) are delimiters, while a quote inside a name
//! (Stella's `age up to "adult" (S)`, written `"age_up_to_\"adult\"_(S)"`
//! where it is referenced) is part of it. Canonical names
//! are lower-case with every run of whitespace/underscores folded to one
//! `_`, so every later stage compares names with plain `==`. Dots separate
//! module-qualified parts (`hares.births`) and are kept.

/// Canonical form of a (possibly quoted, possibly dotted) identifier.
pub fn canonicalize(name: &str) -> String {
    // Most names reaching here are canonical already (the IR's own names,
    // looked up again): copying them spares the character-by-character
    // rebuild, a twentieth of compiling C-LEARN.
    if is_canonical(name.as_bytes()) {
        return name.to_string();
    }
    rebuild(name)
}

/// [`canonicalize`] character by character.
fn rebuild(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_sep = false;
    let text = name.trim();
    let delim = quote_delimiters(text);
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if delim.contains(&i) => {}
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('n') => pending_sep = true,
                Some(other) => {
                    flush(&mut out, &mut pending_sep);
                    out.extend(other.to_lowercase());
                }
                None => {}
            },
            c if c.is_whitespace() || c == '_' => pending_sep = true,
            // Separators next to a dot vanish (`a _. b` is `a.b`), and next
            // to subscript punctuation (`x[ North, Small ]` is
            // `x[north,small]`), as they do in equations.
            c @ ('.' | ',' | '[' | ']') => {
                pending_sep = false;
                out.push(c);
            }
            c if c.is_ascii() => {
                flush(&mut out, &mut pending_sep);
                out.push(c.to_ascii_lowercase());
            }
            c => {
                flush(&mut out, &mut pending_sep);
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

/// The positions of the quotes in `text` that delimit a quoted name or
/// part of one: an opening quote where a part starts (the name's start, or
/// after `.`, `,`, `[` or `]`, whitespace aside), with the next unescaped
/// quote closing it where the part ends. Any other quote is part of the
/// name (`age up to "adult" (S)`, or `"adult" people`).
fn quote_delimiters(text: &str) -> Vec<usize> {
    let edge = |c: Option<char>| c.is_none_or(|c| matches!(c, '.' | ',' | '[' | ']'));
    let solid = |c: &char| !c.is_whitespace();
    let b = text.as_bytes();
    let mut delim = Vec::new();
    let mut i = 0;
    // Quotes and backslashes are ASCII, so byte positions find them.
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' if edge(text[..i].chars().rev().find(solid)) => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                if j < b.len() && edge(text[j + 1..].chars().find(solid)) {
                    delim.extend([i, j]);
                    i = j + 1;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    delim
}

/// True when [`canonicalize`] would return `name` unchanged: ASCII with no
/// capital, space, quote or backslash, and every `_` between two
/// characters that are neither `_` nor punctuation it would fold into.
fn is_canonical(name: &[u8]) -> bool {
    let joins =
        |b: Option<&u8>| matches!(b, Some(c) if !matches!(c, b'_' | b'.' | b',' | b'[' | b']'));
    name.iter().enumerate().all(|(i, &b)| match b {
        b'_' => joins(i.checked_sub(1).and_then(|j| name.get(j))) && joins(name.get(i + 1)),
        b'"' | b'\\' => false,
        _ => b.is_ascii() && !b.is_ascii_uppercase() && !b.is_ascii_whitespace(),
    })
}

fn flush(out: &mut String, pending: &mut bool) {
    if *pending && !out.is_empty() && !out.ends_with(['.', ',', '[', ']']) {
        out.push('_');
    }
    *pending = false;
}

#[cfg(test)]
mod tests {
    use super::{canonicalize, is_canonical, rebuild};

    /// The shortcut never changes an answer: every string of up to five
    /// characters over an alphabet of the characters that matter, that the
    /// shortcut keeps, is its own canonical form.
    #[test]
    fn the_shortcut_keeps_only_canonical_names() {
        let alphabet: Vec<char> = "aB1_ .,[]\"\\né$".chars().collect();
        let mut words = vec![String::new()];
        let mut kept = 0;
        for _ in 0..5 {
            let mut longer = Vec::new();
            for w in &words {
                for &c in &alphabet {
                    let mut x = w.clone();
                    x.push(c);
                    if is_canonical(x.as_bytes()) {
                        assert_eq!(rebuild(&x), x, "{x:?}");
                        kept += 1;
                    }
                    longer.push(x);
                }
            }
            words = longer;
        }
        assert!(kept > 10_000, "{kept}");
        assert!(is_canonical(b"births.rate[a1,b_2]"));
        assert!(!is_canonical(b"Births"));
        assert!(!is_canonical(b"a__b"));
        assert!(!is_canonical(b"a_.b"));
    }

    #[test]
    fn folds_case_spaces_underscores_and_quotes() {
        assert_eq!(canonicalize("\"Teacup Temperature\""), "teacup_temperature");
        assert_eq!(canonicalize("Room_Temperature"), "room_temperature");
        assert_eq!(canonicalize("  A  __ b "), "a_b");
        assert_eq!(
            canonicalize("size_of_one\\ntime_lynx_harvest"),
            "size_of_one_time_lynx_harvest"
        );
        assert_eq!(canonicalize("a\nb"), "a_b");
    }

    #[test]
    fn spaces_around_subscripts_do_not_matter() {
        assert_eq!(canonicalize("stock[South, Small]"), "stock[south,small]");
        assert_eq!(canonicalize("Stock [ south ,small ]"), "stock[south,small]");
        assert_eq!(canonicalize("a b[c d, e]"), "a_b[c_d,e]");
    }

    #[test]
    fn keeps_module_dots_and_unicode() {
        assert_eq!(canonicalize("Hares.Births"), "hares.births");
        assert_eq!(canonicalize("\"a b\".\"C d\""), "a_b.c_d");
        assert_eq!(canonicalize("Ünïcode Näme"), "ünïcode_näme");
    }

    /// A quote inside a name is part of it: the name as a Stella model
    /// defines it (an attribute, unescaped) and as it references it (quoted,
    /// the inner quotes escaped) are the same name. Quotes around a name or
    /// around its parts are not.
    #[test]
    fn inner_quotes_are_part_of_the_name() {
        let defined = canonicalize("age up to \"adult\" (S)");
        assert_eq!(defined, "age_up_to_\"adult\"_(s)");
        assert_eq!(canonicalize("\"age_up_to_\\\"adult\\\"_(S)\""), defined);
        assert_eq!(canonicalize(&defined), defined);
        assert_eq!(canonicalize("x[ \"North\" , \"a b\" ]"), "x[north,a_b]");
        assert_eq!(canonicalize(" \"m\" . \"v w\" "), "m.v_w");
        assert_eq!(canonicalize("age up to \"adult\""), "age_up_to_\"adult\"");
        assert_eq!(canonicalize("\"adult\" people"), "\"adult\"_people");
        assert_eq!(canonicalize("\"\\\"adult\\\" people\""), "\"adult\"_people");
    }
}
