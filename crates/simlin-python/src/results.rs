//! Saved time series handed to Python without copying each series.
//!
//! A run's `Vec<f64>` columns are moved (not copied) into Arrow buffers and
//! shared through one `Arc<Table>`. NumPy sees a column through a
//! [`ArrayView`] exposing `__array_interface__` (the view keeps the buffer
//! alive, so an array outlives `Results.close()` safely); Arrow consumers
//! (pyarrow, polars, pandas) read the same buffers through the Arrow C
//! stream interface (`__arrow_c_stream__`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use polars_arrow::array::{Array, PrimitiveArray, StructArray};
use polars_arrow::datatypes::{ArrowDataType, Field};
use polars_arrow::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule};
use simlin::syntax::ident::canonicalize;

use crate::detach::detached;
use crate::errors::BindError;
use crate::view::{ArrayView, Block};

/// An arrayed variable's shape and its element columns (row-major).
type ShapeAndColumns = (Vec<usize>, Vec<usize>);

/// An arrayed variable as Python sees it: its display name, each dimension's
/// name and element names, and its element columns (row-major).
type ArrayLayout = (String, Vec<(String, Vec<String>)>, Vec<usize>);

/// The immutable, shared columns of one set of results.
pub(crate) struct Table {
    names: Vec<String>,
    /// Canonical name → column index, built at the first lookup by name:
    /// canonicalising every name was a twentieth of a WRLD3-03 run, paid
    /// even by callers that read columns by position or convert the whole
    /// table.
    lookup: OnceLock<HashMap<String, usize>>,
    times: PrimitiveArray<f64>,
    columns: Vec<PrimitiveArray<f64>>,
    /// Arrayed variables whose every element is a column.
    arrays: Vec<simlin::results::ArrayColumns>,
}

impl Table {
    fn new(results: simlin::Results) -> Table {
        let simlin::Results {
            names,
            times,
            columns,
            arrays,
        } = results;
        Table {
            names,
            lookup: OnceLock::new(),
            times: PrimitiveArray::from_vec(times),
            columns: columns.into_iter().map(PrimitiveArray::from_vec).collect(),
            arrays,
        }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        let lookup = self.lookup.get_or_init(|| {
            let mut lookup = HashMap::with_capacity(self.names.len());
            for (i, n) in self.names.iter().enumerate() {
                lookup.entry(canonicalize(n)).or_insert(i);
            }
            lookup
        });
        lookup.get(&canonicalize(name)).copied()
    }

    pub(crate) fn times(&self) -> &[f64] {
        self.times.values()
    }

    /// One variable's series by any spelling of its name.
    pub(crate) fn series(&self, name: &str) -> Option<&[f64]> {
        self.index_of(name)
            .map(|i| self.columns[i].values().as_slice())
    }

    /// One struct array: `time`, then one float64 field per variable.
    fn to_struct_array(&self) -> StructArray {
        let mut fields = Vec::with_capacity(self.columns.len() + 1);
        let mut values: Vec<Box<dyn Array>> = Vec::with_capacity(self.columns.len() + 1);
        fields.push(Field::new("time".into(), ArrowDataType::Float64, false));
        values.push(self.times.clone().boxed());
        for (name, col) in self.names.iter().zip(&self.columns) {
            fields.push(Field::new(
                name.as_str().into(),
                ArrowDataType::Float64,
                false,
            ));
            values.push(col.clone().boxed());
        }
        StructArray::new(
            ArrowDataType::Struct(fields),
            self.times.len(),
            values,
            None,
        )
    }
}

/// Results of a run (native part of `simlin.Results`).
#[pyclass(module = "simlin._simlin", name = "Results", frozen)]
pub struct PyResults {
    inner: RwLock<Option<Arc<Table>>>,
}

impl PyResults {
    pub(crate) fn from_results(results: simlin::Results) -> PyResults {
        PyResults {
            inner: RwLock::new(Some(Arc::new(Table::new(results)))),
        }
    }

    pub(crate) fn table(&self) -> Result<Arc<Table>, BindError> {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or(BindError::Closed("Results"))
    }
}

#[pymethods]
impl PyResults {
    /// Display names of the variables, in column order.
    #[getter]
    fn names(&self) -> Result<Vec<String>, BindError> {
        Ok(self.table()?.names.clone())
    }

    /// Number of saved time points.
    fn __len__(&self) -> Result<usize, BindError> {
        Ok(self.table()?.times.len())
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Drop this object's reference to the buffers (views keep their own).
    fn close(&self) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Column index of a variable by any spelling of its name, or None.
    fn index_of(&self, name: &str) -> Result<Option<usize>, BindError> {
        Ok(self.table()?.index_of(name))
    }

    /// A zero-copy view of the time axis.
    fn times_view(&self) -> Result<ArrayView, BindError> {
        ArrayView::new(self.table()?.times.clone().boxed())
    }

    /// A zero-copy view of one variable's series.
    fn column_view(&self, name: &str) -> Result<ArrayView, BindError> {
        let table = self.table()?;
        let column = table.index_of(name).ok_or_else(|| {
            BindError::Engine(simlin::Error::UnknownOutput {
                variable: name.to_owned(),
            })
        })?;
        ArrayView::new(table.columns[column].clone().boxed())
    }

    /// An arrayed variable's shape and element column indices (row-major),
    /// or `None` if `name` is not an arrayed variable of these results.
    fn array_columns(&self, name: &str) -> Result<Option<ShapeAndColumns>, BindError> {
        let table = self.table()?;
        let id = canonicalize(name);
        Ok(table
            .arrays
            .iter()
            .find(|a| canonicalize(&a.name) == id)
            .map(|a| (a.shape(), a.columns.clone())))
    }

    /// Every arrayed variable of these results: display name, dimensions
    /// (name and element names), element columns (row-major).
    fn array_layouts(&self) -> Result<Vec<ArrayLayout>, BindError> {
        let table = self.table()?;
        Ok(table
            .arrays
            .iter()
            .map(|a| (a.name.clone(), a.dims.clone(), a.columns.clone()))
            .collect())
    }

    /// Every column, one after another, copied into one new and writable
    /// block (column `i` is items `i * len` to `(i + 1) * len`): the single
    /// block pandas keeps a frame's values in, filled here in one pass
    /// instead of a Python call per column (7,005 calls were about half of
    /// `to_pandas()` on the arrayed SIR).
    fn column_block(&self, py: Python<'_>) -> Result<Block, BindError> {
        let table = self.table()?;
        detached(py, move || {
            let len = table.times.len();
            let mut values = Vec::with_capacity(table.columns.len() * len);
            for column in &table.columns {
                let column = column.values().as_slice();
                values.extend_from_slice(&column[..len.min(column.len())]);
                // A column shorter than the times (never made) keeps the
                // block's shape, padded with NaN.
                values.resize(values.len() + len.saturating_sub(column.len()), f64::NAN);
            }
            Ok(Block::new(values))
        })
    }

    /// Groups of columns, each copied time-major into one new block, one
    /// group after another (within a group of `k` columns, saved time `t`
    /// and column `j` is item `t * k + j`): arrayed variables as
    /// `(time, *shape)` arrays, gathered here rather than by a Python call
    /// per element, and in one buffer for all of them (`to_xarray()` holds
    /// them all at once; one allocation is reused where several fresh ones
    /// were paged in at every call).
    fn stacked(&self, py: Python<'_>, groups: Vec<Vec<usize>>) -> Result<Block, BindError> {
        let table = self.table()?;
        if let Some(&bad) = groups.iter().flatten().find(|&&i| i >= table.columns.len()) {
            return Err(BindError::Argument(format!(
                "column index {bad} out of range ({} columns)",
                table.columns.len()
            )));
        }
        detached(py, move || {
            let len = table.times.len();
            let total: usize = groups.iter().map(|g| g.len() * len).sum();
            let mut values = vec![f64::NAN; total];
            let mut at = 0;
            for group in &groups {
                let columns: Vec<&[f64]> = group
                    .iter()
                    .map(|&i| table.columns[i].values().as_slice())
                    .collect();
                let k = columns.len();
                let out = &mut values[at..at + k * len];
                // Eight saved times at a time: one cache line of each column
                // read, a block of rows written that stays in cache.
                for t0 in (0..len).step_by(8) {
                    let t1 = (t0 + 8).min(len);
                    for (j, column) in columns.iter().enumerate() {
                        for t in t0..t1.min(column.len()) {
                            out[t * k + j] = column[t];
                        }
                    }
                }
                at += k * len;
            }
            Ok(Block::new(values))
        })
    }

    /// A zero-copy view of the column at `index` (column order).
    fn column_at(&self, index: usize) -> Result<ArrayView, BindError> {
        let table = self.table()?;
        if index >= table.columns.len() {
            return Err(BindError::Argument(format!(
                "column index {index} out of range ({} columns)",
                table.columns.len()
            )));
        }
        ArrayView::new(table.columns[index].clone().boxed())
    }

    /// CSV text (`simlin::results::csv`): the header line if `header`, then
    /// the rows of saved times `start..stop` (clamped to the run), so the CLI
    /// streams a long run block by block.
    fn csv<'py>(
        &self,
        py: Python<'py>,
        header: bool,
        start: usize,
        stop: usize,
    ) -> Result<Bound<'py, PyBytes>, BindError> {
        let table = self.table()?;
        let stop = stop.min(table.times.len());
        let columns: Vec<&[f64]> = table
            .columns
            .iter()
            .map(|c| c.values().as_slice())
            .collect();
        let mut out = Vec::with_capacity(stop.saturating_sub(start) * (columns.len() + 1) * 20);
        if header {
            simlin::results::csv::header(&table.names, &mut out);
        }
        simlin::results::csv::rows(table.times(), &columns, start.min(stop)..stop, &mut out);
        Ok(PyBytes::new(py, &out))
    }

    /// Arrow PyCapsule interface: a stream of one struct array (`time`, then
    /// one float64 field per variable) over the shared buffers.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // The schema is fixed (float64 columns); a request for another one
        // may be ignored under the PyCapsule interface.
        let _ = requested_schema;
        let table = self.table()?;
        let array = table.to_struct_array();
        let field = Field::new("".into(), array.dtype().clone(), false);
        let stream = ffi::export_iterator(Box::new(std::iter::once(Ok(array.boxed()))), field);
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }
}
