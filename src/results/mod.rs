//! Stage 6, results: the saved time series of one run, stored columnar.
//!
//! One `Vec<f64>` per output variable, each aligned with `times`, so a column
//! hands over to Arrow/NumPy as one contiguous buffer with no per-series
//! reshaping. Columns are in the compiled model's output order, which is
//! deterministic (source order, module members after their module).

use crate::syntax::ident::canonicalize;

pub mod csv;
mod staged;

pub(crate) use staged::Staged;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// Display names of the output columns (module members as `module.var`,
    /// array elements as `name[a,b]`).
    pub names: Vec<String>,
    pub times: Vec<f64>,
    /// `columns[i][k]` is variable `names[i]` at `times[k]`.
    pub columns: Vec<Vec<f64>>,
    /// Arrayed variables whose every element is among the columns.
    pub arrays: Vec<ArrayColumns>,
}

/// An arrayed variable in the results: its shape and which columns hold
/// its elements, so callers can view it as an N-dimensional series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArrayColumns {
    pub name: String,
    /// Display name and element names of each dimension.
    pub dims: Vec<(String, Vec<String>)>,
    /// Column index of each element, row-major (last dimension fastest).
    pub columns: Vec<usize>,
}

impl ArrayColumns {
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().map(|(_, e)| e.len()).collect()
    }
}

impl Results {
    /// Index of a column by any spelling of its name (case, spaces vs
    /// underscores, quotes do not matter).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        // Names are unique up to spelling, so an exact match is the match;
        // it spares canonicalising every name of a large model.
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return Some(i);
        }
        let want = canonicalize(name);
        self.names.iter().position(|n| canonicalize(n) == want)
    }

    /// An arrayed variable by any spelling of its name.
    pub fn array(&self, name: &str) -> Option<&ArrayColumns> {
        let want = canonicalize(name);
        self.arrays.iter().find(|a| canonicalize(&a.name) == want)
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

    /// Write as CSV (header `time,<names>`; see [`csv`]), the CLI's default
    /// output, a block of rows at a time.
    pub fn write_csv(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        const BLOCK: usize = 4096;
        let columns: Vec<&[f64]> = self.columns.iter().map(Vec::as_slice).collect();
        let mut buf = Vec::new();
        csv::header(&self.names, &mut buf);
        for start in (0..self.len()).step_by(BLOCK) {
            csv::rows(
                &self.times,
                &columns,
                start..(start + BLOCK).min(self.len()),
                &mut buf,
            );
            out.write_all(&buf)?;
            buf.clear();
        }
        out.write_all(&buf)
    }
}
