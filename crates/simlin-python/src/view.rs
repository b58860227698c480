//! NumPy views of Arrow buffers, without copying and without NumPy's C API.
//!
//! An [`ArrayView`] holds one Arrow primitive array (the clone shares its
//! buffer) and describes the memory through NumPy's `__array_interface__`
//! (version 3), so `numpy.asarray(view)` is a read-only array over the same
//! bytes whose base keeps the buffer alive. This is the abi3-friendly route:
//! the buffer protocol is only in the limited API from Python 3.11, and the
//! module targets 3.10. Results columns and a sweep frame's columns (for
//! pandas without pyarrow) both go through it. A [`Block`] is the writable
//! counterpart: a buffer of its own, filled by the extension, for pandas'
//! frame block and gathered arrayed variables.

use polars_arrow::array::{Array, PrimitiveArray};
use polars_arrow::datatypes::ArrowDataType;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::BindError;

/// A read-only primitive Arrow buffer exposed through NumPy's array
/// interface; it holds the buffer, so the memory lives as long as any array
/// made from it.
#[pyclass(module = "simlin._simlin", name = "ArrayView", frozen)]
pub struct ArrayView {
    array: Box<dyn Array>,
}

impl ArrayView {
    /// A view of `array`, which must be float64, int64 or uint32 (the types
    /// results and sweep frames hold); its validity is not part of the view.
    pub(crate) fn new(array: Box<dyn Array>) -> Result<ArrayView, BindError> {
        match array.dtype() {
            ArrowDataType::Float64 | ArrowDataType::Int64 | ArrowDataType::UInt32 => {
                Ok(ArrayView { array })
            }
            other => Err(BindError::Internal(format!(
                "no NumPy view for Arrow type {other:?}"
            ))),
        }
    }

    /// Start address, element count and NumPy type string of the values.
    fn memory(&self) -> (usize, usize, &'static str) {
        fn raw<T: polars_arrow::types::NativeType>(a: &dyn Array) -> (usize, usize) {
            a.as_any()
                .downcast_ref::<PrimitiveArray<T>>()
                .map(|p| (p.values().as_ptr() as usize, p.len()))
                .unwrap_or((0, 0))
        }
        let little = cfg!(target_endian = "little");
        let a = self.array.as_ref();
        match a.dtype() {
            ArrowDataType::Int64 => {
                let (p, n) = raw::<i64>(a);
                (p, n, if little { "<i8" } else { ">i8" })
            }
            ArrowDataType::UInt32 => {
                let (p, n) = raw::<u32>(a);
                (p, n, if little { "<u4" } else { ">u4" })
            }
            _ => {
                let (p, n) = raw::<f64>(a);
                (p, n, if little { "<f8" } else { ">f8" })
            }
        }
    }
}

#[pymethods]
impl ArrayView {
    /// NumPy array interface (version 3), read-only.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (ptr, len, typestr) = self.memory();
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", (len,))?;
        d.set_item("typestr", typestr)?;
        d.set_item("data", (ptr, true))?;
        Ok(d)
    }

    fn __len__(&self) -> usize {
        self.array.len()
    }
}

/// A float64 (or int64) buffer of its own, lent to NumPy writable: the one
/// block pandas keeps a results frame's values in, or a long sweep frame's
/// column handed over whole. Pandas writes to its frames
/// (`df.iloc[0, 0] = 1`), so a read-only view of the results' Arrow buffers
/// would not do; and a block NumPy or Python allocates afresh is paged in
/// by the kernel at every call (tens of ms on the 7,005 columns of the
/// arrayed SIR), where the extension's allocator reuses the last one.
///
/// The memory is leaked out of its `Box` on creation and taken back only
/// in `Drop`; in between, Rust never reads or writes it, so NumPy is its
/// only user.
#[pyclass(module = "simlin._simlin", name = "Block", frozen)]
pub struct Block {
    values: Owned,
}

/// A block's memory, by element type.
enum Owned {
    F64(std::ptr::NonNull<[f64]>),
    I64(std::ptr::NonNull<[i64]>),
}

// SAFETY: the block is plain memory owned by this object alone (see the
// type's comment); Rust code never dereferences `values` before `Drop`,
// which runs once, so sharing or sending the handle between threads
// cannot race on it from Rust.
unsafe impl Send for Block {}
// SAFETY: as for `Send`.
unsafe impl Sync for Block {}

fn leak<T>(values: Vec<T>) -> std::ptr::NonNull<[T]> {
    std::ptr::NonNull::from(Box::leak(values.into_boxed_slice()))
}

impl Block {
    pub(crate) fn new(values: Vec<f64>) -> Block {
        Block {
            values: Owned::F64(leak(values)),
        }
    }

    pub(crate) fn ints(values: Vec<i64>) -> Block {
        Block {
            values: Owned::I64(leak(values)),
        }
    }

    /// Start address, element count and NumPy type string.
    fn memory(&self) -> (usize, usize, &'static str) {
        let little = cfg!(target_endian = "little");
        match self.values {
            Owned::F64(p) => (
                p.as_ptr() as *mut f64 as usize,
                p.len(),
                if little { "<f8" } else { ">f8" },
            ),
            Owned::I64(p) => (
                p.as_ptr() as *mut i64 as usize,
                p.len(),
                if little { "<i8" } else { ">i8" },
            ),
        }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: each pointer came from `Box::leak` in `leak` and is
        // turned back into its box only here, once.
        match self.values {
            Owned::F64(p) => drop(unsafe { Box::from_raw(p.as_ptr()) }),
            Owned::I64(p) => drop(unsafe { Box::from_raw(p.as_ptr()) }),
        }
    }
}

#[pymethods]
impl Block {
    /// NumPy array interface (version 3), writable.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (ptr, len, typestr) = self.memory();
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", (len,))?;
        d.set_item("typestr", typestr)?;
        d.set_item("data", (ptr, false))?;
        Ok(d)
    }

    fn __len__(&self) -> usize {
        self.memory().1
    }
}
