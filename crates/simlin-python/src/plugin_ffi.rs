//! The Polars plugin ABI (version 0.1) on Arrow arrays.
//!
//! Polars calls an expression plugin through three C symbols it looks up in
//! the library: `_polars_plugin_get_version`, `_polars_plugin_field_<name>`
//! (the output field, from the input fields and the pickled keyword
//! arguments) and `_polars_plugin_<name>` (the values), plus
//! `_polars_plugin_get_last_error_message` after a call that returned
//! nothing. Series cross the boundary as Arrow C data: a schema and one
//! array per chunk ([`SeriesExport`]).
//!
//! This is what `pyo3-polars`' `#[polars_expr]` generates, written out so
//! the extension does not link Polars' Rust `Series` machinery: every dtype's
//! implementation of every `Series` method stays alive through its vtable,
//! which was 3 to 4 MB of the wheel's 12.5 MB `.so` for a plugin that only
//! reads numbers and strings and builds two kinds of array. The arrays are
//! read and built with `polars-arrow`, which the results export already uses,
//! and the keyword arguments are read with `serde-pickle`, as `pyo3-polars`
//! does. The layout and calling convention are those of `polars-ffi` 0.55
//! (`version_0`), which Polars has kept since 0.20; a Polars that changes
//! them asks for a different version and reports that it cannot call us.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CString};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};

use polars_arrow::array::Array;
use polars_arrow::datatypes::{ArrowDataType, Field};
use polars_arrow::ffi::{self, ArrowArray, ArrowSchema};

use crate::detach::panic_message;

/// A failure the plugin reports to Polars (which raises it as
/// `polars.exceptions.ComputeError`).
#[derive(Debug)]
pub(crate) struct PluginError(pub(crate) String);

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Arrow's errors (building or importing arrays).
impl<E: std::error::Error> From<E> for PluginError {
    fn from(e: E) -> Self {
        PluginError(format!("simlin: {e}"))
    }
}

pub(crate) type PluginResult<T> = Result<T, PluginError>;

/// One input series: its name and type, and its chunks.
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) dtype: ArrowDataType,
    pub(crate) chunks: Vec<Box<dyn Array>>,
}

impl Column {
    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).sum()
    }
}

/// A series as Polars passes it (`polars_ffi::version_0::SeriesExport`).
#[repr(C)]
pub struct SeriesExport {
    field: *mut ArrowSchema,
    /// One pointer per chunk, so the chunks can be moved out and the
    /// pointer array released on its own.
    arrays: *mut *mut ArrowArray,
    len: usize,
    release: Option<unsafe extern "C" fn(*mut SeriesExport)>,
    private_data: *mut c_void,
}

impl Drop for SeriesExport {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            // SAFETY: `release` is the exporter's callback for this export.
            unsafe { release(self) }
        }
    }
}

/// What an exported [`SeriesExport`] owns until Polars releases it.
struct PrivateData {
    _schema: Box<ArrowSchema>,
    arrays: Box<[*mut ArrowArray]>,
}

unsafe extern "C" fn release_series_export(e: *mut SeriesExport) {
    if e.is_null() {
        return;
    }
    // SAFETY: `e` is one of ours (made by `export`), and Polars calls this
    // once, after moving every array out (so only the boxes are freed).
    unsafe {
        let e = &mut *e;
        let private = Box::from_raw(e.private_data as *mut PrivateData);
        for &ptr in private.arrays.iter() {
            drop(Box::from_raw(ptr as *mut ManuallyDrop<ArrowArray>));
        }
        e.release = None;
    }
}

/// Export one array as a series named `name`.
fn export(name: &str, array: Box<dyn Array>) -> SeriesExport {
    let field = Field::new(name.into(), array.dtype().clone(), true);
    let schema = Box::new(ffi::export_field_to_c(&field));
    let mut arrays: Box<[*mut ArrowArray]> =
        Box::new([Box::into_raw(Box::new(ffi::export_array_to_c(array)))]);
    SeriesExport {
        field: schema.as_ref() as *const ArrowSchema as *mut ArrowSchema,
        arrays: arrays.as_mut_ptr(),
        len: arrays.len(),
        release: Some(release_series_export),
        private_data: Box::into_raw(Box::new(PrivateData {
            _schema: schema,
            arrays,
        })) as *mut c_void,
    }
}

/// Take ownership of Polars' input series (it leaves their release to us)
/// and import them. Every chunk of every input is owned before anything is
/// imported, so all are released, also when one fails to import.
///
/// # Safety
/// `e` points to `len` valid exports that nobody else releases.
unsafe fn import_inputs(e: *const SeriesExport, len: usize) -> PluginResult<Vec<Column>> {
    let exports: Vec<SeriesExport> = (0..len)
        .map(|i| unsafe { std::ptr::read(e.add(i)) })
        .collect();
    let chunks: Vec<Vec<ArrowArray>> = exports
        .iter()
        .map(|s| {
            (0..s.len)
                .map(|i| unsafe { std::ptr::read(*s.arrays.add(i)) })
                .collect()
        })
        .collect();
    exports
        .iter()
        .zip(chunks)
        .map(|(s, raw)| {
            let field = unsafe { ffi::import_field_from_c(&*s.field) }?;
            let chunks = raw
                .into_iter()
                .map(|a| unsafe { ffi::import_array_from_c(a, field.dtype.clone()) })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Column {
                name: field.name.to_string(),
                dtype: field.dtype,
                chunks,
            })
        })
        .collect()
}

thread_local! {
    /// The message Polars reads after a call that returned nothing.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|m| *m.borrow_mut() = message);
}

/// Run `f`, turning an error or a panic into the message Polars reads.
fn report<T>(f: impl FnOnce() -> PluginResult<T>) -> Option<T> {
    let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(PluginError(format!(
            "simlin: internal error in the simlin engine: {}",
            panic_message(payload.as_ref())
        )))
    });
    outcome.map_err(|e| set_last_error(&e.0)).ok()
}

/// # Safety
/// Called by Polars on the thread that made the failed call.
#[no_mangle]
pub unsafe extern "C" fn _polars_plugin_get_last_error_message() -> *const c_char {
    LAST_ERROR.with(|m| m.borrow().as_ptr())
}

/// Plugin ABI 0.1: expressions get a caller context, field functions get
/// the keyword arguments.
#[no_mangle]
pub extern "C" fn _polars_plugin_get_version() -> u32 {
    1
}

/// `polars_ffi::version_0::CallerContext` (bit 0: Polars runs the
/// expression in parallel itself). The sweep ignores it: it runs on its own
/// pool either way.
#[repr(C)]
pub struct CallerContext {
    _bitflags: u64,
}

/// The pickled keyword arguments.
///
/// # Safety
/// `ptr` points to `len` readable bytes.
unsafe fn kwargs<'a, T: serde::Deserialize<'a>>(ptr: *const u8, len: usize) -> PluginResult<T> {
    let bytes = if len == 0 {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(ptr, len) }
    };
    serde_pickle::from_slice(bytes, Default::default()).map_err(|e| {
        PluginError(format!(
            "simlin: could not read the expression's arguments: {e}"
        ))
    })
}

/// The body of `_polars_plugin_field_<name>`.
///
/// # Safety
/// The arguments are Polars' (see the module doc).
pub(crate) unsafe fn field_call<K: for<'a> serde::Deserialize<'a>>(
    fields: *const ArrowSchema,
    len: usize,
    return_value: *mut ArrowSchema,
    kwargs_ptr: *const u8,
    kwargs_len: usize,
    f: impl FnOnce(&[Field], K) -> PluginResult<Field>,
) {
    let out = report(|| {
        let inputs = (0..len)
            .map(|i| unsafe { ffi::import_field_from_c(&*fields.add(i)) })
            .collect::<Result<Vec<_>, _>>()?;
        f(&inputs, unsafe { kwargs(kwargs_ptr, kwargs_len) }?)
    });
    if let Some(field) = out {
        unsafe { *return_value = ffi::export_field_to_c(&field) };
    }
}

/// The body of `_polars_plugin_<name>`: the output is named after the
/// first input, as Polars expects of an elementwise expression.
///
/// # Safety
/// The arguments are Polars' (see the module doc).
pub(crate) unsafe fn expr_call<K: for<'a> serde::Deserialize<'a>>(
    inputs: *const SeriesExport,
    len: usize,
    kwargs_ptr: *const u8,
    kwargs_len: usize,
    return_value: *mut SeriesExport,
    f: impl FnOnce(&[Column], K) -> PluginResult<Box<dyn Array>>,
) {
    let out = report(|| {
        let columns = unsafe { import_inputs(inputs, len) }?;
        let array = f(&columns, unsafe { kwargs(kwargs_ptr, kwargs_len) }?)?;
        let name = columns.first().map(|c| c.name.clone()).unwrap_or_default();
        Ok(export(&name, array))
    });
    if let Some(series) = out {
        unsafe { std::ptr::write(return_value, series) };
    }
}

/// The storage type under an extension type's name.
pub(crate) fn logical(dtype: &ArrowDataType) -> &ArrowDataType {
    match dtype {
        ArrowDataType::Extension(ext) => logical(&ext.inner),
        other => other,
    }
}

/// A dtype as Polars names it, for messages.
pub(crate) fn dtype_name(dtype: &ArrowDataType) -> String {
    use ArrowDataType as D;
    match dtype {
        D::Null => "null".into(),
        D::Boolean => "bool".into(),
        D::Int8 => "i8".into(),
        D::Int16 => "i16".into(),
        D::Int32 => "i32".into(),
        D::Int64 => "i64".into(),
        D::Int128 => "i128".into(),
        D::UInt8 => "u8".into(),
        D::UInt16 => "u16".into(),
        D::UInt32 => "u32".into(),
        D::UInt64 => "u64".into(),
        D::UInt128 => "u128".into(),
        D::Float16 => "f16".into(),
        D::Float32 => "f32".into(),
        D::Float64 => "f64".into(),
        D::Utf8 | D::LargeUtf8 | D::Utf8View => "str".into(),
        D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => "binary".into(),
        D::Date32 | D::Date64 => "date".into(),
        D::Timestamp(..) => "datetime".into(),
        D::Duration(_) => "duration".into(),
        D::Time32(_) | D::Time64(_) => "time".into(),
        D::Decimal(..) | D::Decimal32(..) | D::Decimal64(..) | D::Decimal256(..) => {
            "decimal".into()
        }
        D::List(f) | D::LargeList(f) => format!("list[{}]", dtype_name(&f.dtype)),
        D::FixedSizeList(f, n) => format!("array[{}, {n}]", dtype_name(&f.dtype)),
        D::Struct(fields) => format!("struct[{}]", fields.len()),
        D::Dictionary(..) => "cat".into(),
        D::Extension(ext) => dtype_name(&ext.inner),
        other => format!("{other:?}"),
    }
}
