//! The Polars expression plugin `simulate` (`simlin.simulate` in Python).
//!
//! The `_simlin` shared library is both the Python module and a Polars
//! plugin: Polars loads the same file (by path; the dynamic loader hands back
//! the already loaded library, so its statics are shared with the Python
//! module) and calls the `_polars_plugin_simulate` / `_polars_plugin_field_simulate`
//! symbols defined here, through the ABI in [`crate::plugin_ffi`].
//!
//! Polars pickles the expression's keyword arguments, and a query may be
//! serialized and evaluated in another process (Polars' own serialization,
//! Dask, a saved query). So the expression carries the model itself: its
//! source text (and the folder and data files it reads), under a key derived
//! from that content ([`ModelKwargs`]). A process keeps compiled models in a
//! cache by key ([`REGISTRY`]): Python registers each `simlin.Model` it builds
//! an expression from ([`_register_model`]), and an expression whose model a
//! process has not seen compiles it from the text it carries, once. The key
//! names the content, never a per-process number, so the same query gives the
//! same answer anywhere, and a key only ever matches its own text.
//!
//! Random streams follow the run key: with a `run` input (second input, the
//! `run=` of `simlin.simulate`), row `r` uses seed `seed + key(r)` (integers
//! as they are, strings by their FNV-1a hash), whatever batch Polars hands it
//! in; without one, `seed + r` within the batch, which Python only allows for
//! models that draw no random numbers.
//!
//! Input: one Struct column, one field per parameter (numbers, or lists of
//! `(x, y)` points for graphical functions: `List(Struct{x, y})` or
//! `List(List(number))`). Row `r` of the batch Polars hands over is run `r`
//! of one [`simlin::sweep::sweep`] (seed `seed + r`), executed on the
//! engine's sweep pool (`POLARS_MAX_THREADS` threads when that is set, as
//! Polars sizes its own). Output: with a
//! reduction, a Struct of one f64 field per output; without, a
//! `List(Struct{time, <output>...})` per row.
//!
//! Every failure becomes the plugin's error message (Python:
//! `polars.exceptions.ComputeError`) with the engine's message; panics are
//! caught and reported the same way.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use polars_arrow::array::{
    Array, BooleanArray, DictionaryArray, ListArray, PrimitiveArray, StructArray, Utf8Array,
    Utf8ViewArray,
};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use polars_arrow::ffi::ArrowSchema;
use polars_arrow::offset::OffsetsBuffer;
use pyo3::prelude::*;
use serde::Deserialize;
use simlin::sweep::{self, OnError, Param, ParamValues, Progress, Reduce, SweepOptions};
use simlin::{CompiledModel, Method};

use crate::errors::BindError;
use crate::plugin_ffi::{
    dtype_name, expr_call, field_call, logical, CallerContext, Column, PluginError, PluginResult,
    SeriesExport,
};
use crate::project::PyModel;

// ---------------------------------------------------------------------------
// The model cache
// ---------------------------------------------------------------------------

/// Compiled models by content key, the registered ones (pinned while their
/// `simlin.Model` lives) and those compiled from an expression's text.
static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

/// How many models compiled from expressions (not registered) stay cached.
const REBUILT_CACHE: usize = 8;

#[derive(Default)]
struct Registry {
    pinned: HashMap<String, Arc<CompiledModel>>,
    /// Most recently used last.
    rebuilt: Vec<(String, Arc<CompiledModel>)>,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // Nothing panics while the lock is held, but a poisoned map is still a
    // consistent map.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Compile `model` (if not yet) and register it under its content `key`.
#[pyfunction]
pub(crate) fn _register_model(
    py: Python<'_>,
    model: &Bound<'_, PyModel>,
    key: String,
) -> Result<(), BindError> {
    let compiled = model.get().compiled(py)?;
    registry().pinned.insert(key, compiled);
    Ok(())
}

/// Forget a registered key; returns whether it was registered.
#[pyfunction]
pub(crate) fn _unregister_model(key: &str) -> bool {
    registry().pinned.remove(key).is_some()
}

/// Number of cached models, registered and rebuilt (for tests).
#[pyfunction]
pub(crate) fn _registered_models() -> usize {
    let r = registry();
    r.pinned.len() + r.rebuilt.len()
}

/// Add the registry functions to the native module.
pub(crate) fn add_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_register_model, m)?)?;
    m.add_function(wrap_pyfunction!(_unregister_model, m)?)?;
    m.add_function(wrap_pyfunction!(_registered_models, m)?)?;
    Ok(())
}

/// The model an expression names: a cached one, or compiled from the text
/// the expression carries (and cached).
fn lookup(model: &ModelKwargs) -> PluginResult<Arc<CompiledModel>> {
    {
        let mut r = registry();
        if let Some(m) = r.pinned.get(&model.key) {
            return Ok(m.clone());
        }
        if let Some(i) = r.rebuilt.iter().position(|(k, _)| *k == model.key) {
            let entry = r.rebuilt.remove(i);
            let m = entry.1.clone();
            r.rebuilt.push(entry);
            return Ok(m);
        }
    }
    let compiled = Arc::new(model.compile()?);
    let mut r = registry();
    r.rebuilt.push((model.key.clone(), compiled.clone()));
    if r.rebuilt.len() > REBUILT_CACHE {
        r.rebuilt.remove(0);
    }
    Ok(compiled)
}

/// The model, as the expression carries it.
#[derive(Debug, Deserialize)]
pub(crate) struct ModelKwargs {
    /// Digest of everything below (computed by Python).
    key: String,
    /// `"xmile"` or `"mdl"`.
    format: String,
    text: Option<String>,
    base: Option<String>,
    data_files: Option<Vec<String>>,
    /// The model's name for a project's non-main model; `None` for the main one.
    name: Option<String>,
}

impl ModelKwargs {
    fn compile(&self) -> PluginResult<CompiledModel> {
        let text = self.text.as_deref().ok_or_else(|| {
            err(
                "the simlin.Model this expression was built from is not available in this \
                 process and its source was not kept (build the expression from a model \
                 loaded from a file or text)",
            )
        })?;
        let opts = simlin::LoadOptions {
            data_files: self.data_files.clone(),
        };
        let base = self.base.as_deref().map(std::path::Path::new);
        let project = match self.format.as_str() {
            "mdl" => simlin::load_mdl_with(text, base, &opts),
            _ => simlin::load_xmile_with(text, base, &opts),
        }
        .map_err(err)?;
        CompiledModel::new(&project, self.name.as_deref()).map_err(err)
    }
}

/// Each row's seed from the `run` input: integer keys as they are, strings
/// (and categoricals, by their category) by their hash.
fn run_seeds(run: &Column, seed: u64) -> PluginResult<Vec<u64>> {
    if run.chunks.iter().any(|c| c.null_count() > 0) {
        return Err(err(
            "the run key column has nulls: every row needs its own key",
        ));
    }
    let mut seeds = Vec::with_capacity(run.len());
    for chunk in &run.chunks {
        let chunk = chunk.as_ref();
        if let Some(keys) = integers(chunk) {
            for k in keys {
                let k = i64::try_from(k).map_err(|_| {
                    err(format!("run key {k} does not fit a 64-bit signed integer"))
                })?;
                seeds.push(simlin::sweep::int_key_seed(seed, k));
            }
        } else if !for_each_str(chunk, &mut |k| {
            seeds.push(simlin::sweep::str_key_seed(seed, k.unwrap_or_default()))
        }) {
            return Err(err(format!(
                "the run key column has dtype {}; expected integers or strings",
                dtype_name(&run.dtype)
            )));
        }
    }
    Ok(seeds)
}

/// An integer array's values (nulls as 0), widened; `None` for other types.
fn integers(arr: &dyn Array) -> Option<Vec<i128>> {
    macro_rules! ints {
        ($($t:ty),*) => {$(
            if let Some(a) = arr.as_any().downcast_ref::<PrimitiveArray<$t>>() {
                return Some(a.values_iter().map(|&v| v as i128).collect());
            }
        )*};
    }
    ints!(i8, i16, i32, i64, u8, u16, u32, u64);
    None
}

/// Call `f` with each row of a string array (Polars' string views, plain
/// Arrow strings, or a categorical's dictionary); `false` for other types.
fn for_each_str(arr: &dyn Array, f: &mut dyn FnMut(Option<&str>)) -> bool {
    let any = arr.as_any();
    if let Some(a) = any.downcast_ref::<Utf8ViewArray>() {
        a.iter().for_each(f);
    } else if let Some(a) = any.downcast_ref::<Utf8Array<i64>>() {
        a.iter().for_each(f);
    } else if let Some(a) = any.downcast_ref::<Utf8Array<i32>>() {
        a.iter().for_each(f);
    } else {
        macro_rules! dict {
            ($($t:ty),*) => {$(
                if let Some(a) = any.downcast_ref::<DictionaryArray<$t>>() {
                    let mut values = Vec::with_capacity(a.values().len());
                    if !for_each_str(a.values().as_ref(), &mut |v| values.push(v.map(str::to_owned))) {
                        return false;
                    }
                    for k in a.keys_iter() {
                        f(k.and_then(|k| values.get(k)?.as_deref()));
                    }
                    return true;
                }
            )*};
        }
        dict!(u8, u16, u32, u64, i8, i16, i32, i64);
        return false;
    }
    true
}
// ---------------------------------------------------------------------------
// Keyword arguments
// ---------------------------------------------------------------------------

/// The expression's keyword arguments, as `simlin.plugin.simulate` pickles
/// them (`reduce` is split into a name and the time for `"at"`).
#[derive(Debug, Deserialize)]
pub(crate) struct SimulateKwargs {
    model: ModelKwargs,
    outputs: Option<Vec<String>>,
    reduce: Option<String>,
    reduce_at: Option<f64>,
    method: Option<String>,
    start: Option<f64>,
    stop: Option<f64>,
    dt: Option<f64>,
    save_step: Option<f64>,
    seed: u64,
    on_error: String,
}

fn err(message: impl std::fmt::Display) -> PluginError {
    PluginError(format!("simlin: {message}"))
}

impl SimulateKwargs {
    fn sweep_options(&self) -> PluginResult<SweepOptions> {
        let reduce = match (self.reduce.as_deref(), self.reduce_at) {
            (None, _) => None,
            (Some("final"), _) => Some(Reduce::Final),
            (Some("max"), _) => Some(Reduce::Max),
            (Some("min"), _) => Some(Reduce::Min),
            (Some("mean"), _) => Some(Reduce::Mean),
            (Some("at"), Some(t)) => Some(Reduce::At(t)),
            (Some(other), _) => {
                return Err(err(format!(
                    "unknown reduce '{other}' (expected final, max, min, mean or {{'at': time}})"
                )))
            }
        };
        let method = match self.method.as_deref() {
            None => None,
            Some(m) => Some(Method::parse(m).ok_or_else(|| {
                err(format!(
                    "unknown integration method '{m}' (expected euler, rk2 or rk4)"
                ))
            })?),
        };
        let on_error = match self.on_error.as_str() {
            "raise" => OnError::Raise,
            "null" => OnError::Null,
            other => {
                return Err(err(format!(
                    "unknown on_error '{other}' (expected 'raise' or 'null')"
                )))
            }
        };
        Ok(SweepOptions {
            outputs: self.outputs.clone(),
            reduce,
            method,
            start: self.start,
            stop: self.stop,
            dt: self.dt,
            save_step: self.save_step,
            seed: self.seed,
            on_error,
            threads: polars_max_threads(),
            ..SweepOptions::default()
        })
    }
}

/// Resolve the output display names (and validate the time settings) with
/// an empty sweep.
fn output_names(m: &CompiledModel, opts: &SweepOptions) -> PluginResult<Vec<String>> {
    let names = sweep::sweep(m, 0, &[], opts, &Progress::new())
        .map_err(err)?
        .outputs;
    if names.is_empty() {
        return Err(err("no outputs selected"));
    }
    let mut seen = std::collections::HashSet::new();
    for n in &names {
        if !seen.insert(n.as_str()) {
            return Err(err(format!("output '{n}' is selected twice")));
        }
        if opts.reduce.is_none() && n == "time" {
            return Err(err(
                "an output named 'time' clashes with the time field of the series",
            ));
        }
    }
    Ok(names)
}

fn output_dtype(names: &[String], reduced: bool) -> ArrowDataType {
    let fields = struct_dtype(&names.iter().map(String::as_str).collect::<Vec<_>>());
    if reduced {
        fields
    } else {
        let with_time = std::iter::once("time")
            .chain(names.iter().map(String::as_str))
            .collect::<Vec<_>>();
        ListArray::<i64>::default_datatype(struct_dtype(&with_time))
    }
}

// ---------------------------------------------------------------------------
// The expression
// ---------------------------------------------------------------------------

/// Output type: a Struct of outputs, or a List of Struct{time, outputs}.
fn simulate_output(
    input_fields: &[ArrowField],
    kwargs: SimulateKwargs,
) -> PluginResult<ArrowField> {
    let input = match input_fields {
        [f] | [f, _] => f,
        _ => return Err(err("simulate takes a struct input and an optional run key")),
    };
    let m = lookup(&kwargs.model)?;
    let opts = kwargs.sweep_options()?;
    let names = output_names(&m, &opts)?;
    Ok(ArrowField::new(
        input.name.clone(),
        output_dtype(&names, opts.reduce.is_some()),
        true,
    ))
}

/// The output field Polars asks for before running (see [`plugin_ffi`]).
///
/// # Safety
/// Called by Polars with the plugin ABI's arguments.
#[no_mangle]
pub unsafe extern "C" fn _polars_plugin_field_simulate(
    fields: *const ArrowSchema,
    len: usize,
    return_value: *mut ArrowSchema,
    kwargs_ptr: *const u8,
    kwargs_len: usize,
) {
    unsafe {
        field_call(
            fields,
            len,
            return_value,
            kwargs_ptr,
            kwargs_len,
            simulate_output,
        )
    }
}

/// The expression itself (see [`plugin_ffi`]).
///
/// # Safety
/// Called by Polars with the plugin ABI's arguments.
#[no_mangle]
pub unsafe extern "C" fn _polars_plugin_simulate(
    inputs: *const SeriesExport,
    len: usize,
    kwargs_ptr: *const u8,
    kwargs_len: usize,
    return_value: *mut SeriesExport,
    _context: *const CallerContext,
) {
    unsafe { expr_call(inputs, len, kwargs_ptr, kwargs_len, return_value, simulate) }
}

fn simulate(inputs: &[Column], kwargs: SimulateKwargs) -> PluginResult<Box<dyn Array>> {
    let (input, run) = match inputs {
        [s] => (s, None),
        [s, run] => (s, Some(run)),
        _ => return Err(err("simulate takes a struct input and an optional run key")),
    };
    let m = lookup(&kwargs.model)?;
    let mut opts = kwargs.sweep_options()?;
    // Outputs are checked with an empty sweep, before the seeds of the rows.
    let names = output_names(&m, &opts)?;
    if let Some(run) = run {
        opts.run_seeds = Some(run_seeds(run, opts.seed)?);
    }
    let n = input.len();
    let table = read_params(input, opts.on_error)?;
    // Rows that run and report: not null in the input, and (below) not failed.
    let mut ok = table.valid.clone();
    let params = table.params;
    // Points on a plain variable are a time series, which needs the model
    // compiled again with it as an input; expressions hold one compiled
    // model, so they refuse it by name rather than as "not a table".
    let fed = m.series_inputs(
        params
            .iter()
            .filter(|p| matches!(p.values, ParamValues::Tables(_)))
            .map(|p| p.name.as_str()),
    );
    if !fed.is_empty() {
        return Err(err(format!(
            "time-series inputs ({}) are not supported in plugin expressions; \
             use Model.sweep, whose point columns feed plain variables as series",
            fed.join(", ")
        )));
    }
    let result = if ok.iter().any(|&v| v) {
        Some(run_sweep(&m, n, &params, &opts)?)
    } else {
        None
    };
    if let Some(res) = &result {
        for (o, f) in ok.iter_mut().zip(&res.failures) {
            *o &= f.is_none();
        }
    }
    let values = result.as_ref().map(|r| r.values.as_slice()).unwrap_or(&[]);
    let times = result.as_ref().map(|r| r.times.as_slice()).unwrap_or(&[]);
    let array = if opts.reduce.is_some() {
        reduced_array(&names, n, values, &ok)?
    } else {
        series_array(&names, n, times, values, &ok)?
    };
    let expected = output_dtype(&names, opts.reduce.is_some());
    if array.dtype() != &expected {
        return Err(err(format!(
            "internal error: built {} instead of {}",
            dtype_name(array.dtype()),
            dtype_name(&expected)
        )));
    }
    Ok(array)
}

/// The sweep, on the engine's sweep pool (see [`polars_max_threads`]).
fn run_sweep(
    m: &CompiledModel,
    n: usize,
    params: &[Param],
    opts: &SweepOptions,
) -> PluginResult<sweep::SweepResult> {
    sweep::sweep(m, n, params, opts, &Progress::new()).map_err(err)
}

/// `POLARS_MAX_THREADS`, when set: the plugin's sweeps use as many threads
/// as Polars' own pool, which that variable sizes (unset: one per core, as
/// Polars does).
fn polars_max_threads() -> Option<usize> {
    std::env::var("POLARS_MAX_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
}

// ---------------------------------------------------------------------------
// Reading the parameter struct
// ---------------------------------------------------------------------------

/// One field's per-row values (`None` = null).
enum Cells {
    Numbers(Vec<Option<f64>>),
    Tables(Vec<Option<Vec<(f64, f64)>>>),
}

impl Cells {
    fn is_null(&self, r: usize) -> bool {
        match self {
            Cells::Numbers(v) => v.get(r).is_none_or(|c| c.is_none()),
            Cells::Tables(v) => v.get(r).is_none_or(|c| c.is_none()),
        }
    }
}

/// The parameters, ready for the sweep, and which rows are usable.
struct ParamTable {
    params: Vec<Param>,
    valid: Vec<bool>,
}

/// Read the struct column into sweep parameters. Null cells are an error
/// (naming the field and row) with `OnError::Raise`; with `OnError::Null`
/// their rows are marked invalid and filled from the first valid row, so the
/// run indices (and seeds) still match the input rows.
fn read_params(input: &Column, on_error: OnError) -> PluginResult<ParamTable> {
    let n = input.len();
    let not_struct = || {
        err(format!(
            "simulate expects a struct column (one field per parameter, e.g. \
             pl.struct('a', 'b')), got {}",
            dtype_name(&input.dtype)
        ))
    };
    let ArrowDataType::Struct(field_types) = logical(&input.dtype) else {
        return Err(not_struct());
    };
    let chunks = input
        .chunks
        .iter()
        .map(|c| {
            c.as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(not_struct)
        })
        .collect::<PluginResult<Vec<_>>>()?;
    let outer_null: Vec<bool> = chunks
        .iter()
        .flat_map(|c| (0..c.len()).map(|r| c.is_null(r)))
        .collect();
    let mut fields = Vec::new();
    for (i, field) in field_types.iter().enumerate() {
        let name = field.name.to_string();
        let parts = chunks
            .iter()
            .map(|c| c.values().get(i).map(|a| a.as_ref()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| err("internal error: a struct chunk lacks a field"))?;
        let cells = read_field(&name, &field.dtype, &parts, on_error)?;
        fields.push((name, cells));
    }
    let mut valid = vec![true; n];
    for (r, v) in valid.iter_mut().enumerate() {
        if outer_null.get(r).copied().unwrap_or(false) {
            if on_error == OnError::Raise {
                return Err(err(format!(
                    "row {r} of the parameter struct is null (pass on_error='null' \
                     for a null result instead)"
                )));
            }
            *v = false;
            continue;
        }
        if let Some((name, _)) = fields.iter().find(|(_, c)| c.is_null(r)) {
            if on_error == OnError::Raise {
                return Err(err(format!(
                    "parameter field '{name}' is null at row {r} (pass on_error='null' \
                     for a null result instead)"
                )));
            }
            *v = false;
        }
    }
    let first_valid = valid.iter().position(|&v| v);
    let params = fields
        .into_iter()
        .map(|(name, cells)| {
            let values = match cells {
                Cells::Numbers(col) => {
                    let fill = first_valid.and_then(|r| col[r]).unwrap_or(0.0);
                    ParamValues::Numbers(col.into_iter().map(|c| c.unwrap_or(fill)).collect())
                }
                Cells::Tables(col) => {
                    let fill = first_valid.and_then(|r| col[r].clone()).unwrap_or_default();
                    ParamValues::Tables(
                        col.into_iter()
                            .map(|c| c.unwrap_or_else(|| fill.clone()))
                            .collect(),
                    )
                }
            };
            Param { name, values }
        })
        .collect();
    Ok(ParamTable { params, valid })
}

fn bad_dtype(name: &str, dtype: &ArrowDataType) -> PluginError {
    err(format!(
        "parameter field '{name}' has type {}; expected a number, or a list of \
         (x, y) points (List(Struct{{x, y}}) or List(List(number)))",
        dtype_name(dtype)
    ))
}

/// A number, boolean or null array's values as f64 (nulls as `None`);
/// `None` for other types.
fn numbers(arr: &dyn Array) -> Option<Vec<Option<f64>>> {
    let any = arr.as_any();
    macro_rules! prim {
        ($($t:ty),*) => {$(
            if let Some(a) = any.downcast_ref::<PrimitiveArray<$t>>() {
                return Some(a.iter().map(|v| v.map(|&x| x as f64)).collect());
            }
        )*};
    }
    prim!(f64, f32, i8, i16, i32, i64, i128, u8, u16, u32, u64);
    if let Some(a) = any.downcast_ref::<BooleanArray>() {
        return Some(a.iter().map(|v| v.map(f64::from)).collect());
    }
    if arr.dtype() == &ArrowDataType::Null {
        return Some(vec![None; arr.len()]);
    }
    None
}

/// A list array's rows (`None` for null rows); `None` for other types.
fn list_rows(arr: &dyn Array) -> Option<Vec<Option<Box<dyn Array>>>> {
    let any = arr.as_any();
    if let Some(a) = any.downcast_ref::<ListArray<i64>>() {
        return Some(
            (0..a.len())
                .map(|r| (!a.is_null(r)).then(|| a.value(r)))
                .collect(),
        );
    }
    if let Some(a) = any.downcast_ref::<ListArray<i32>>() {
        return Some(
            (0..a.len())
                .map(|r| (!a.is_null(r)).then(|| a.value(r)))
                .collect(),
        );
    }
    None
}

/// One struct field's cells, over the chunks. With `OnError::Null`, NaN
/// numbers count as null.
fn read_field(
    name: &str,
    dtype: &ArrowDataType,
    parts: &[&dyn Array],
    on_error: OnError,
) -> PluginResult<Cells> {
    let nan_is_null = on_error == OnError::Null;
    let inner = match logical(dtype) {
        ArrowDataType::List(f) | ArrowDataType::LargeList(f) => Some(&f.dtype),
        _ => None,
    };
    let Some(inner) = inner else {
        let mut col = Vec::new();
        for part in parts {
            let values = numbers(*part).ok_or_else(|| bad_dtype(name, dtype))?;
            col.extend(
                values
                    .into_iter()
                    .map(|v| v.filter(|x| !(nan_is_null && x.is_nan()))),
            );
        }
        return Ok(Cells::Numbers(col));
    };
    let mut col = Vec::new();
    for part in parts {
        let rows = list_rows(*part).ok_or_else(|| bad_dtype(name, dtype))?;
        for row in rows {
            let r = col.len();
            col.push(match row {
                None => None,
                Some(points) => Some(read_points(name, r, dtype, inner, points.as_ref())?),
            });
        }
    }
    Ok(Cells::Tables(col))
}

/// One row's graphical-function points.
fn read_points(
    name: &str,
    row: usize,
    dtype: &ArrowDataType,
    inner: &ArrowDataType,
    points: &dyn Array,
) -> PluginResult<Vec<(f64, f64)>> {
    let bad_point = || {
        err(format!(
            "parameter field '{name}', row {row}: every point needs a numeric x and y \
             (no nulls)"
        ))
    };
    match logical(inner) {
        ArrowDataType::Struct(coords) => {
            let st = points
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(|| bad_dtype(name, dtype))?;
            let coord = |c: &str| -> PluginResult<Vec<Option<f64>>> {
                let i = coords.iter().position(|f| f.name == c).ok_or_else(|| {
                    err(format!(
                        "parameter field '{name}': graphical-function points need fields \
                         'x' and 'y'"
                    ))
                })?;
                let values = st.values().get(i).ok_or_else(bad_point)?;
                if values.dtype() == &ArrowDataType::Boolean {
                    return Err(bad_point());
                }
                numbers(values.as_ref()).ok_or_else(bad_point)
            };
            let (xs, ys) = (coord("x")?, coord("y")?);
            xs.into_iter()
                .zip(ys)
                .map(|p| match p {
                    (Some(x), Some(y)) => Ok((x, y)),
                    _ => Err(bad_point()),
                })
                .collect()
        }
        ArrowDataType::List(_) | ArrowDataType::LargeList(_) => {
            let rows = list_rows(points).ok_or_else(|| bad_dtype(name, dtype))?;
            rows.into_iter()
                .map(|p| {
                    let p = p.ok_or_else(bad_point)?;
                    if p.dtype() == &ArrowDataType::Boolean {
                        return Err(bad_dtype(name, dtype));
                    }
                    let xy = numbers(p.as_ref()).ok_or_else(|| bad_dtype(name, dtype))?;
                    match xy.as_slice() {
                        [Some(x), Some(y)] => Ok((*x, *y)),
                        _ => Err(bad_point()),
                    }
                })
                .collect()
        }
        _ => Err(bad_dtype(name, dtype)),
    }
}

// ---------------------------------------------------------------------------
// Building the output
// ---------------------------------------------------------------------------

fn f64_array(values: Vec<f64>, validity: Option<Bitmap>) -> PluginResult<Box<dyn Array>> {
    Ok(PrimitiveArray::<f64>::try_new(ArrowDataType::Float64, values.into(), validity)?.boxed())
}

fn struct_dtype(names: &[&str]) -> ArrowDataType {
    ArrowDataType::Struct(
        names
            .iter()
            .map(|n| ArrowField::new((*n).into(), ArrowDataType::Float64, true))
            .collect(),
    )
}

/// `ok` as a validity bitmap, or `None` when every row is valid.
fn validity(ok: &[bool]) -> Option<Bitmap> {
    if ok.iter().all(|&v| v) {
        None
    } else {
        Some(ok.iter().copied().collect())
    }
}

/// Struct{output...}: `values` is output-major (`values[o * n + r]`).
fn reduced_array(
    names: &[String],
    n: usize,
    values: &[f64],
    ok: &[bool],
) -> PluginResult<Box<dyn Array>> {
    let cols = names
        .iter()
        .enumerate()
        .map(|(o, _)| {
            let col = if values.is_empty() {
                vec![0.0; n]
            } else {
                values
                    .get(o * n..(o + 1) * n)
                    .ok_or_else(|| err("internal error: short sweep result"))?
                    .to_vec()
            };
            f64_array(col, validity(ok))
        })
        .collect::<PluginResult<Vec<_>>>()?;
    let dtype = struct_dtype(&names.iter().map(String::as_str).collect::<Vec<_>>());
    Ok(StructArray::try_new(dtype, n, cols, validity(ok))?.boxed())
}

/// List(Struct{time, output...}): `values` is run-major
/// (`values[(r * times + t) * outputs + o]`); rows that are not `ok` are null.
fn series_array(
    names: &[String],
    n: usize,
    times: &[f64],
    values: &[f64],
    ok: &[bool],
) -> PluginResult<Box<dyn Array>> {
    let (nt, no) = (times.len(), names.len());
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0i64);
    let mut time_col = Vec::new();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); no];
    for (r, &row_ok) in ok.iter().enumerate() {
        if row_ok {
            let run = values
                .get(r * nt * no..(r + 1) * nt * no)
                .ok_or_else(|| err("internal error: short sweep result"))?;
            time_col.extend_from_slice(times);
            for row in run.chunks_exact(no.max(1)) {
                for (col, &v) in cols.iter_mut().zip(row) {
                    col.push(v);
                }
            }
        }
        let last = offsets.last().copied().unwrap_or(0);
        offsets.push(last + if row_ok { nt as i64 } else { 0 });
    }
    let len = time_col.len();
    let mut children = vec![f64_array(time_col, None)?];
    for col in cols {
        children.push(f64_array(col, None)?);
    }
    let field_names: Vec<&str> = std::iter::once("time")
        .chain(names.iter().map(String::as_str))
        .collect();
    let inner = StructArray::try_new(struct_dtype(&field_names), len, children, None)?;
    let dtype = ListArray::<i64>::default_datatype(inner.dtype().clone());
    let offsets = OffsetsBuffer::<i64>::try_from(offsets)?;
    Ok(ListArray::<i64>::try_new(dtype, offsets, inner.boxed(), validity(ok))?.boxed())
}
