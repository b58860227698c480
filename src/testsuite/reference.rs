//! Reading a conformance case's reference output: `output.csv` / `output.tab`
//! (SDXorg), a Vensim DAT run (`<case>.dat`, SDEverywhere) or a decoded VDF
//! run (`Ref.vdf.csv`).
//!
//! The tables are "one header line, then one line per saved time", with the
//! time in the first column. Lines may end in `\n`, `\r\n` or a bare `\r`
//! (several files in the suite use old Mac line endings). Fields may be
//! double-quoted (`"Two Dims[A,D]"`), with `""` as an escaped quote.
//!
//! An empty cell means "not recorded at this time" — Vensim writes constants
//! only on the first row — and is kept as `None`, never compared. Any other
//! cell that is not a number (`???`, `#N/A`) makes the whole reference
//! unusable: the caller reports the case as failed. DAT runs are read by the
//! one DAT parser ([`crate::syntax::dat`]) and put on the union of their
//! series' times.

use std::path::Path;

use crate::syntax::dat::parse_dat;

/// A parsed reference file: `columns[i][k]` is `names[i]` at `times[k]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reference {
    pub names: Vec<String>,
    pub times: Vec<f64>,
    /// Half a unit in the last printed digit of each time (`10.0312` →
    /// `5e-5`): how far the true time may be from the printed one.
    pub time_precision: Vec<f64>,
    pub columns: Vec<Vec<Option<f64>>>,
}

/// Why a reference file could not be used.
#[derive(Clone, Debug, PartialEq)]
pub enum ReferenceError {
    Io(String),
    Empty,
    NoTimeColumn(String),
    /// A Vensim DAT file that does not parse.
    Dat(String),
    /// A cell that is neither empty nor a number.
    NonNumeric {
        line: usize,
        column: String,
        cell: String,
    },
}

impl std::fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReferenceError::Io(m) => write!(f, "cannot read reference: {m}"),
            ReferenceError::Empty => write!(f, "reference file is empty"),
            ReferenceError::Dat(m) => write!(f, "reference (Vensim DAT): {m}"),
            ReferenceError::NoTimeColumn(h) => {
                write!(f, "reference's first column is '{h}', not Time")
            }
            ReferenceError::NonNumeric { line, column, cell } => write!(
                f,
                "reference has non-numeric value '{cell}' for '{column}' on line {line}"
            ),
        }
    }
}

/// Read a reference file: Vensim's DAT format for `.dat`, else a table
/// whose delimiter is a tab for `.tab` and a comma otherwise.
pub fn read_reference(path: &Path) -> Result<Reference, ReferenceError> {
    let bytes = std::fs::read(path).map_err(|e| ReferenceError::Io(e.to_string()))?;
    // Vensim writes non-UTF-8 references as Latin-1.
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => std::borrow::Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    };
    let ext = crate::syntax::lower_extension(path);
    match ext.as_str() {
        "dat" => dat_reference(&text),
        "tab" => parse_reference(&text, '\t'),
        _ => parse_reference(&text, ','),
    }
}

/// A reference from a Vensim DAT run: one column per series, on the union
/// of every series' times (a constant is printed at the first time only;
/// its other cells stay empty, as in a `.tab` export).
pub fn dat_reference(text: &str) -> Result<Reference, ReferenceError> {
    let series = parse_dat(text).map_err(|e| ReferenceError::Dat(e.to_string()))?;
    if series.is_empty() {
        return Err(ReferenceError::Empty);
    }
    let mut times: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| {
            s.times
                .iter()
                .copied()
                .zip(s.time_precision.iter().copied())
        })
        .collect();
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    times.dedup_by(|b, a| a.0 == b.0);
    let mut reference = Reference {
        names: Vec::with_capacity(series.len()),
        times: times.iter().map(|t| t.0).collect(),
        time_precision: times.iter().map(|t| t.1).collect(),
        columns: Vec::with_capacity(series.len()),
    };
    for s in series {
        let mut column = vec![None; reference.times.len()];
        for (t, v) in s.times.iter().zip(&s.values) {
            let Ok(k) = reference.times.binary_search_by(|x| x.total_cmp(t)) else {
                continue;
            };
            // A value Vensim could not compute is `:NA:`, compared as NaN.
            column[k] = Some(v.unwrap_or(f64::NAN));
        }
        reference.names.push(s.name);
        reference.columns.push(column);
    }
    Ok(reference)
}

/// Parse reference text with the given field delimiter.
pub fn parse_reference(text: &str, delim: char) -> Result<Reference, ReferenceError> {
    let mut lines = text
        .split(['\n', '\r'])
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(ReferenceError::Empty)?;
    let header = split_fields(header, delim);
    let first = header.first().map(|h| h.trim()).unwrap_or("");
    if !first.eq_ignore_ascii_case("time") {
        return Err(ReferenceError::NoTimeColumn(first.to_string()));
    }
    let names: Vec<String> = header[1..].iter().map(|h| h.trim().to_string()).collect();
    let mut reference = Reference {
        columns: vec![Vec::new(); names.len()],
        names,
        times: Vec::new(),
        time_precision: Vec::new(),
    };
    // Line numbers are approximate for `\r\n` files (each counts twice), so
    // report them by counting only non-empty lines.
    for (row, (_, line)) in lines.enumerate() {
        let line_no = row + 2;
        let fields = split_fields(line, delim);
        let time_cell = fields.first().map(|f| f.trim()).unwrap_or("");
        let time = parse_cell(time_cell)
            .flatten()
            .ok_or_else(|| ReferenceError::NonNumeric {
                line: line_no,
                column: "Time".into(),
                cell: time_cell.to_string(),
            })?;
        reference.times.push(time);
        reference.time_precision.push(half_ulp(time_cell));
        for (i, col) in reference.columns.iter_mut().enumerate() {
            let cell = fields.get(i + 1).map(|f| f.trim()).unwrap_or("");
            let value = parse_cell(cell).ok_or_else(|| ReferenceError::NonNumeric {
                line: line_no,
                column: reference.names[i].clone(),
                cell: cell.to_string(),
            })?;
            col.push(value);
        }
    }
    Ok(reference)
}

/// `Some(None)` for an empty cell, `Some(Some(x))` for a number, `None` for
/// anything else.
fn parse_cell(cell: &str) -> Option<Option<f64>> {
    if cell.is_empty() {
        return Some(None);
    }
    cell.parse::<f64>().ok().map(Some)
}

pub use crate::syntax::dat::half_ulp;

/// Split one line into fields, honouring double quotes (`""` inside quotes
/// is a literal quote). Quotes are removed from the returned fields.
pub fn split_fields(line: &str, delim: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' {
            in_quotes = true;
        } else if c == delim {
            fields.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_cr_line_endings_and_quotes() {
        let r = parse_reference("Time,\"A[x,y]\",b\r0,1,2\r1,3,\r", ',').unwrap();
        assert_eq!(r.names, vec!["A[x,y]", "b"]);
        assert_eq!(r.times, vec![0.0, 1.0]);
        assert_eq!(r.time_precision, vec![0.5, 0.5]);
        assert_eq!(r.columns[0], vec![Some(1.0), Some(3.0)]);
        assert_eq!(r.columns[1], vec![Some(2.0), None]);
    }

    #[test]
    fn dat_reference_merges_series_on_one_time_axis() {
        let r = dat_reference("c\n0\t2\nx[a]\n0\t1\n0.5\t1.5\n1\t:NA:\n").unwrap();
        assert_eq!(r.names, vec!["c", "x[a]"]);
        assert_eq!(r.times, vec![0.0, 0.5, 1.0]);
        assert_eq!(r.columns[0], vec![Some(2.0), None, None]);
        assert_eq!(r.columns[1][..2], [Some(1.0), Some(1.5)]);
        assert!(r.columns[1][2].unwrap().is_nan());
        assert!(matches!(
            dat_reference("0\t1\n"),
            Err(ReferenceError::Dat(_))
        ));
        assert_eq!(dat_reference(""), Err(ReferenceError::Empty));
    }

    #[test]
    fn tab_and_short_rows() {
        let r = parse_reference("time\ta\tb\n0\t1\n", '\t').unwrap();
        assert_eq!(r.columns[1], vec![None]);
    }

    #[test]
    fn non_numeric_cell_is_an_error() {
        let e = parse_reference("Time,a\n0,???\n", ',').unwrap_err();
        assert!(e.to_string().contains("reference has non-numeric value"));
        let e = parse_reference("Time,a\n0,#N/A\n", ',').unwrap_err();
        assert!(matches!(e, ReferenceError::NonNumeric { .. }));
    }

    #[test]
    fn first_column_must_be_time() {
        assert!(matches!(
            parse_reference("x,a\n0,1\n", ','),
            Err(ReferenceError::NoTimeColumn(_))
        ));
        assert_eq!(parse_reference("\n\n", ','), Err(ReferenceError::Empty));
    }
}
