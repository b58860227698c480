//! Stage 6, results: the saved time series of one run, stored columnar.
//!
//! One `Vec<f64>` per output variable, each aligned with `times`, so a column
//! hands over to Arrow/NumPy as one contiguous buffer with no per-series
//! reshaping. Columns are in the compiled model's output order, which is
//! deterministic (source order, module members after their module).

use crate::syntax::ident::canonicalize;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// Display names of the output columns (module members as `module.var`,
    /// array elements as `name[a,b]`).
    pub names: Vec<String>,
    pub times: Vec<f64>,
    /// `columns[i][k]` is variable `names[i]` at `times[k]`.
    pub columns: Vec<Vec<f64>>,
}

impl Results {
    /// Index of a column by any spelling of its name (case, spaces vs
    /// underscores, quotes do not matter).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        let want = canonicalize(name);
        self.names.iter().position(|n| canonicalize(n) == want)
    }

    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.index_of(name).map(|i| self.columns[i].as_slice())
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Write as CSV (header `time,<names>`), the CLI's default output.
    pub fn write_csv(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        write!(out, "time")?;
        for n in &self.names {
            if n.contains([',', '"', '\n']) {
                write!(out, ",\"{}\"", n.replace('"', "\"\""))?;
            } else {
                write!(out, ",{n}")?;
            }
        }
        writeln!(out)?;
        for (k, t) in self.times.iter().enumerate() {
            write!(out, "{t}")?;
            for c in &self.columns {
                write!(out, ",{}", c[k])?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}
