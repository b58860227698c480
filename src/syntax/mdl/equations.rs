//! Splitting a `.mdl` file into equation records.
//!
//! A Vensim model is a `{UTF-8}` header, then records
//! `equation ~ units ~ comment |`, with `:MACRO: ...` / `:END OF MACRO:`
//! lines between records, then the sketch section from `\\\---///` on,
//! which is ignored. This module only finds the pieces and remembers their
//! byte offsets (for line/column in errors); it does not interpret them.

/// One piece of the equation section.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Record(Record),
    /// `:MACRO: header` (the header text, its offset).
    MacroStart(String, usize),
    MacroEnd(usize),
}

/// An equation record.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The equation part, before the first `~`.
    pub eqn: String,
    /// File offset of the first byte of `eqn`.
    pub offset: usize,
    pub units: String,
    pub comment: String,
}

/// Maps byte offsets to 1-based line and column.
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    pub fn pos(&self, text: &str, offset: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let col = text
            .get(start..offset.min(text.len()))
            .map_or(1, |s| s.chars().count() + 1);
        (line as u32, col as u32)
    }
}

/// Where the equation section ends (the sketch marker, or the end).
pub fn equations_end(text: &str) -> usize {
    // Usually `\\\---///`, but some files have fewer backslashes.
    match text.find("\\---///") {
        Some(i) => text[..i].trim_end_matches('\\').len(),
        None => text.len(),
    }
}

/// Split the equation section `text[..end]` into items. An unterminated
/// last record is an error (offset, message): the file is truncated.
pub fn split(text: &str, end: usize) -> Result<Vec<Item>, (usize, String)> {
    let body = &text[..end];
    let mut items = Vec::new();
    let mut i = 0;
    if body.trim_start().starts_with("{UTF-8}") {
        i = body.find("{UTF-8}").map_or(0, |p| p + "{UTF-8}".len());
    }
    loop {
        let rest = &body[i..];
        let skipped = rest.len() - rest.trim_start().len();
        i += skipped;
        if i >= body.len() {
            break;
        }
        let rest = &body[i..];
        let upper: String = rest
            .chars()
            .take(20)
            .collect::<String>()
            .to_ascii_uppercase();
        if upper.starts_with(":MACRO:") {
            // The header ends with its line, unless that ends with a `\`
            // continuation (a long list of outputs).
            let mut line_end = rest.find('\n').unwrap_or(rest.len());
            while rest[..line_end].trim_end().ends_with('\\') && line_end < rest.len() {
                line_end += 1 + rest[line_end + 1..]
                    .find('\n')
                    .unwrap_or(rest.len() - line_end - 1);
            }
            let header = rest[":MACRO:".len()..line_end].trim().to_string();
            items.push(Item::MacroStart(header, i));
            i += line_end;
            continue;
        }
        if upper.starts_with(":END OF MACRO:") {
            items.push(Item::MacroEnd(i));
            i += ":END OF MACRO:".len();
            continue;
        }
        let (rec, len) = record(rest, i)?;
        items.push(Item::Record(rec));
        i += len;
    }
    Ok(items)
}

/// One record starting at the beginning of `rest` (file offset `base`):
/// the record and its length including the closing `|`.
fn record(rest: &str, base: usize) -> Result<(Record, usize), (usize, String)> {
    let mut in_quote = false;
    let mut escaped = false;
    // `{...}` comments in the equation (they nest) may hold `~` and `|`.
    let mut comment_depth = 0usize;
    let mut tildes = Vec::new();
    for (k, c) in rest.char_indices() {
        if tildes.is_empty() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' if in_quote => escaped = true,
                '"' if comment_depth == 0 => in_quote = !in_quote,
                '{' if !in_quote => comment_depth += 1,
                '}' if !in_quote && comment_depth > 0 => comment_depth -= 1,
                _ => {}
            }
            if in_quote || comment_depth > 0 || c == '}' {
                continue;
            }
        }
        match c {
            '~' if tildes.len() < 2 => tildes.push(k),
            '|' => {
                let eq_end = tildes.first().copied().unwrap_or(k);
                let units = match tildes.first() {
                    Some(&t) => &rest[t + 1..tildes.get(1).copied().unwrap_or(k)],
                    None => "",
                };
                let comment = match tildes.get(1) {
                    Some(&t) => &rest[t + 1..k],
                    None => "",
                };
                let rec = Record {
                    eqn: rest[..eq_end].to_string(),
                    offset: base,
                    units: units.trim().to_string(),
                    comment: clean_comment(comment),
                };
                return Ok((rec, k + 1));
            }
            _ => {}
        }
    }
    let what = if in_quote {
        "unclosed '\"' in this equation"
    } else {
        "equation record is not terminated by '|' (truncated file?)"
    };
    Err((base, what.into()))
}

fn clean_comment(s: &str) -> String {
    s.replace("\\\n", " ")
        .replace("\\\r\n", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
