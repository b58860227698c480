//! Vensim's DAT text format: the format Vensim exports runs to and reads
//! data from (`vensim -d`, GET DATA's `.dat` files, SDEverywhere's
//! reference runs).
//!
//! A file is a list of series. A series starts with a line holding the
//! variable's name as Vensim prints it (`Population`, `x[a1,b2]`,
//! `"M&Ms"`, `#d1>DELAY1#`), followed by one line per point: a time and a
//! value separated by a tab (or, without a tab, by spaces). A value Vensim
//! could not compute is written `:NA:` (or `NA`, `N/A`, `NaN`); it is kept as
//! a missing point. Lines may end in `\n`, `\r\n` or `\r`.
//!
//! It lives in `syntax` because both the `.mdl` reader (data files) and the
//! conformance runner (references) read it, and it must be one parser:
//! every malformed line is a [`DatError`] with its line number, never a
//! guess.

/// One variable's points, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct DatSeries {
    /// The name line, trimmed, exactly as written (quotes and subscripts kept).
    pub name: String,
    /// 1-based line of the name.
    pub line: usize,
    pub times: Vec<f64>,
    /// Half a unit in the last printed digit of each time (see [`half_ulp`]).
    pub time_precision: Vec<f64>,
    /// `None` where the file says `:NA:`.
    pub values: Vec<Option<f64>>,
}

/// A line the reader cannot use.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DatError {
    pub line: usize,
    pub message: String,
}

/// Vensim's spellings of "no value".
fn is_na(cell: &str) -> bool {
    matches!(
        cell.to_ascii_lowercase().as_str(),
        ":na:" | "na" | "n/a" | "nan" | "#n/a"
    )
}

/// Read every series of a DAT file.
pub fn parse_dat(text: &str) -> Result<Vec<DatSeries>, DatError> {
    let mut out: Vec<DatSeries> = Vec::new();
    for (i, raw) in text.split(['\n', '\r']).enumerate() {
        // `\r\n` yields an empty piece between the two; blank lines are skipped,
        // so numbering every piece would drift: count `\r\n` once.
        let line_no = line_number(text, i);
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = if line.contains('\t') {
            line.split('\t').map(str::trim).collect()
        } else {
            line.split_whitespace().collect()
        };
        let time = fields.first().and_then(|f| f.parse::<f64>().ok());
        match (time, fields.len()) {
            (Some(t), 2) => {
                let cell = fields[1];
                let value = if is_na(cell) {
                    None
                } else {
                    Some(cell.parse::<f64>().map_err(|_| DatError {
                        line: line_no,
                        message: format!("'{cell}' is not a number"),
                    })?)
                };
                let series = out.last_mut().ok_or_else(|| DatError {
                    line: line_no,
                    message: "a 'time value' line before any variable name".into(),
                })?;
                if !t.is_finite() {
                    return Err(DatError {
                        line: line_no,
                        message: format!("time '{}' is not a finite number", fields[0]),
                    });
                }
                series.times.push(t);
                series.time_precision.push(half_ulp(fields[0]));
                series.values.push(value);
            }
            (Some(_), _) => {
                return Err(DatError {
                    line: line_no,
                    message: format!(
                        "expected a variable name or 'time<TAB>value', found '{line}'"
                    ),
                })
            }
            (None, _) => out.push(DatSeries {
                name: line.to_string(),
                line: line_no,
                times: Vec::new(),
                time_precision: Vec::new(),
                values: Vec::new(),
            }),
        }
    }
    Ok(out)
}

/// 1-based line number of the `piece`-th piece of `text.split(['\n','\r'])`,
/// counting `\r\n` as one line end.
fn line_number(text: &str, piece: usize) -> usize {
    // Fast path for files without `\r`: pieces are lines.
    if !text.contains('\r') {
        return piece + 1;
    }
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut seen = 0;
    let mut i = 0;
    while i < bytes.len() && seen < piece {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                // Two pieces end here (the empty one between), one line.
                seen += 2;
                line += 1;
                i += 1;
            }
            b'\r' | b'\n' => {
                seen += 1;
                line += 1;
            }
            _ => {}
        }
        i += 1;
    }
    line
}

/// Half a unit in the last place of a printed decimal number
/// (`"10.0312"` → `5e-5`, `"3"` → `0.5`, `"1.5e+06"` → `5e4`): how far the
/// true value may be from the printed one.
pub fn half_ulp(cell: &str) -> f64 {
    let lower = cell.to_ascii_lowercase();
    let (mantissa, exp) = match lower.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (lower.as_str(), 0),
    };
    let decimals = mantissa
        .split_once('.')
        .map_or(0, |(_, frac)| frac.len() as i32);
    0.5 * 10f64.powi(exp - decimals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_with_tabs_spaces_quotes_and_subscripts() {
        let text =
            "Simple 1\n0\t1000\n1\t2000\n\"M&Ms\"\r\n0 5\r\n2 :NA:\r\nx[a1,b2]\n0\t-1.5e-3\n";
        let s = parse_dat(text).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].name, "Simple 1");
        assert_eq!(s[0].times, vec![0.0, 1.0]);
        assert_eq!(s[0].values, vec![Some(1000.0), Some(2000.0)]);
        assert_eq!(s[1].name, "\"M&Ms\"");
        assert_eq!(s[1].line, 4);
        assert_eq!(s[1].values, vec![Some(5.0), None]);
        assert_eq!(s[2].name, "x[a1,b2]");
        assert_eq!(s[2].line, 7);
        assert_eq!(s[2].values, vec![Some(-1.5e-3)]);
    }

    #[test]
    fn names_that_start_like_numbers_are_names() {
        let s = parse_dat("2x CO2 forcing\n0\t3.7\n#d1>DELAY1#\n0\t1\n").unwrap();
        assert_eq!(s[0].name, "2x CO2 forcing");
        assert_eq!(s[1].name, "#d1>DELAY1#");
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        let e = parse_dat("0\t1\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("before any variable name"), "{e}");
        let e = parse_dat("x\n0\t1\n1\tabc\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("'abc' is not a number"), "{e}");
        let e = parse_dat("x\r\n0\t1\r\n1\t2\t3\r\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_dat("x\n1e999\t2\n").unwrap_err();
        assert!(e.message.contains("not a finite number"), "{e}");
    }

    #[test]
    fn half_ulps() {
        assert!((half_ulp("10.0312") - 5e-5).abs() < 1e-15);
        assert_eq!(half_ulp("3"), 0.5);
        assert!((half_ulp("1.5e+06") - 5e4).abs() < 1e-9);
        assert!((half_ulp("2.5E-3") - 5e-5).abs() < 1e-15);
    }
}
