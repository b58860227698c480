//! CSV text of saved series: `time,<names>` then one row per saved time.
//!
//! The command line's output. Each value is the shortest text that reads back
//! to the same bits (ryu), with an exponent for very large or small
//! magnitudes; NaN and infinities are written `NaN`, `inf`, `-inf`, which
//! Python, pandas and Polars read back. Rows are formatted into a caller's
//! buffer a range at a time, so a writer can stream a long run in bounded
//! memory.

use std::ops::Range;

/// Append the header line: `time`, then each name, quoted (RFC 4180) if it
/// holds a comma, quote or line break.
pub fn header<S: AsRef<str>>(names: &[S], out: &mut Vec<u8>) {
    out.extend_from_slice(b"time");
    for name in names {
        let name = name.as_ref();
        out.push(b',');
        if name.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(name.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(name.as_bytes());
        }
    }
    out.push(b'\n');
}

/// Append rows `rows` (indices into `times`): the time, then each column's
/// value. Every column must be as long as `times`.
pub fn rows(times: &[f64], columns: &[&[f64]], rows: Range<usize>, out: &mut Vec<u8>) {
    let mut buf = ryu::Buffer::new();
    for k in rows {
        out.extend_from_slice(buf.format(times[k]).as_bytes());
        for column in columns {
            out.push(b',');
            out.extend_from_slice(buf.format(column[k]).as_bytes());
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(names: &[&str], times: &[f64], columns: &[&[f64]]) -> String {
        let mut out = Vec::new();
        header(names, &mut out);
        rows(times, columns, 0..times.len(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_read_back_to_the_same_bits() {
        let values = [
            0.1,
            1.0 / 3.0,
            -2.5e-300,
            1e300,
            f64::MIN_POSITIVE,
            123_456_789.123_456_79,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let times: Vec<f64> = (0..values.len()).map(|i| i as f64 * 0.25).collect();
        let csv = text(&["x"], &times, &[&values]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "time,x");
        for (k, line) in lines[1..].iter().enumerate() {
            let (t, v) = line.split_once(',').unwrap();
            assert_eq!(t.parse::<f64>().unwrap().to_bits(), times[k].to_bits());
            let got: f64 = v.parse().unwrap();
            if values[k].is_nan() {
                assert!(got.is_nan(), "{v}");
            } else {
                assert_eq!(got.to_bits(), values[k].to_bits(), "{v}");
            }
        }
        // Exponents rather than hundreds of digits.
        assert!(lines[3].len() < 40, "{}", lines[3]);
    }

    #[test]
    fn names_are_quoted_when_needed() {
        let csv = text(
            &["a,b", "say \"hi\"", "plain"],
            &[0.0],
            &[&[1.0], &[2.0], &[3.0]],
        );
        assert_eq!(
            csv,
            "time,\"a,b\",\"say \"\"hi\"\"\",plain\n0.0,1.0,2.0,3.0\n"
        );
    }

    #[test]
    fn a_range_of_rows() {
        let mut out = Vec::new();
        rows(&[0.0, 1.0, 2.0], &[&[5.0, 6.0, 7.0]], 1..3, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "1.0,6.0\n2.0,7.0\n");
    }
}
