//! Identifier canonicalisation: the one definition of "the same name".
//!
//! XMILE (and Vensim) treat names case-insensitively and make spaces and
//! underscores interchangeable; quotes are only delimiters. Canonical names
//! are lower-case with every run of whitespace/underscores folded to one
//! `_`, so every later stage compares names with plain `==`. Dots separate
//! module-qualified parts (`hares.births`) and are kept.

/// Canonical form of a (possibly quoted, possibly dotted) identifier.
pub fn canonicalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_sep = false;
    let mut chars = name.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {}
            '\\' => match chars.next() {
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
            c => {
                flush(&mut out, &mut pending_sep);
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

fn flush(out: &mut String, pending: &mut bool) {
    if *pending && !out.is_empty() && !out.ends_with(['.', ',', '[', ']']) {
        out.push('_');
    }
    *pending = false;
}

#[cfg(test)]
mod tests {
    use super::canonicalize;

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
}
