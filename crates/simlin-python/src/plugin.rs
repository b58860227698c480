//! The Polars expression plugin `simulate` (`simlin.simulate` in Python).
//!
//! The `_simlin` shared library is both the Python module and a Polars
//! plugin: Polars loads the same file (by path; the dynamic loader hands back
//! the already loaded library, so its statics are shared with the Python
//! module) and calls the `_polars_plugin_simulate` / `_polars_plugin_field_simulate`
//! symbols that `#[polars_expr]` generates.
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
//! plugin's Polars thread pool (sized by `POLARS_MAX_THREADS`). Output: with a
//! reduction, a Struct of one f64 field per output; without, a
//! `List(Struct{time, <output>...})` per row.
//!
//! Every failure becomes a `PolarsError` (Python: `polars.exceptions.ComputeError`)
//! with the engine's message; panics are caught and reported the same way.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock, Mutex};

use ::polars_arrow::array::{Array, ListArray, PrimitiveArray, StructArray};
use ::polars_arrow::bitmap::Bitmap;
use ::polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use ::polars_arrow::offset::OffsetsBuffer;
use polars::prelude::*;
use pyo3::prelude::*;
use pyo3_polars::derive::polars_expr;
use serde::Deserialize;
use simlin::sweep::{self, OnError, Param, ParamValues, Progress, Reduce, SweepOptions};
use simlin::{CompiledModel, Method};

use crate::detach::panic_message;
use crate::errors::BindError;
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
fn lookup(model: &ModelKwargs) -> PolarsResult<Arc<CompiledModel>> {
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
    fn compile(&self) -> PolarsResult<CompiledModel> {
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

/// Each row's seed from the `run` input.
fn run_seeds(run: &Series, seed: u64) -> PolarsResult<Vec<u64>> {
    if run.null_count() > 0 {
        return Err(err(
            "the run key column has nulls: every row needs its own key",
        ));
    }
    if run.dtype().is_integer() {
        let keys = run.cast(&DataType::Int64)?;
        let keys = keys.i64()?;
        return Ok(keys
            .into_no_null_iter()
            .map(|k| simlin::sweep::int_key_seed(seed, k))
            .collect());
    }
    if !run.dtype().is_float() {
        // Strings, and anything that reads as strings (categoricals).
        if let Ok(keys) = run.cast(&DataType::String) {
            let keys = keys.str()?;
            return Ok(keys
                .iter()
                .map(|k| simlin::sweep::str_key_seed(seed, k.unwrap_or_default()))
                .collect());
        }
    }
    Err(err(format!(
        "the run key column has dtype {}; expected integers or strings",
        run.dtype()
    )))
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

fn err(message: impl std::fmt::Display) -> PolarsError {
    PolarsError::ComputeError(format!("simlin: {message}").into())
}

impl SimulateKwargs {
    fn sweep_options(&self) -> PolarsResult<SweepOptions> {
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
            // The caller installs the pool (see `run_sweep`).
            threads: None,
            ..SweepOptions::default()
        })
    }
}

/// Resolve the output display names (and validate the time settings) with
/// an empty sweep.
fn output_names(m: &CompiledModel, opts: &SweepOptions) -> PolarsResult<Vec<String>> {
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

fn output_dtype(names: &[String], reduced: bool) -> DataType {
    let fields = names
        .iter()
        .map(|n| Field::new(n.as_str().into(), DataType::Float64));
    if reduced {
        DataType::Struct(fields.collect())
    } else {
        let time = Field::new("time".into(), DataType::Float64);
        DataType::List(Box::new(DataType::Struct(
            std::iter::once(time).chain(fields).collect(),
        )))
    }
}

// ---------------------------------------------------------------------------
// The expression
// ---------------------------------------------------------------------------

/// Output type: a Struct of outputs, or a List of Struct{time, outputs}.
fn simulate_output(input_fields: &[Field], kwargs: SimulateKwargs) -> PolarsResult<Field> {
    guarded(|| {
        let input = match input_fields {
            [f] | [f, _] => f,
            _ => return Err(err("simulate takes a struct input and an optional run key")),
        };
        let m = lookup(&kwargs.model)?;
        let opts = kwargs.sweep_options()?;
        let names = output_names(&m, &opts)?;
        Ok(Field::new(
            input.name().clone(),
            output_dtype(&names, opts.reduce.is_some()),
        ))
    })
}

#[polars_expr(output_type_func_with_kwargs=simulate_output)]
fn simulate(inputs: &[Series], kwargs: SimulateKwargs) -> PolarsResult<Series> {
    guarded(|| simulate_impl(inputs, &kwargs))
}

/// Run `f`, turning a panic into an error (the generated FFI wrapper would
/// only report "PANIC").
fn guarded<T>(f: impl FnOnce() -> PolarsResult<T>) -> PolarsResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(err(format!(
            "internal error in the simlin engine: {}",
            panic_message(payload.as_ref())
        ))),
    }
}

fn simulate_impl(inputs: &[Series], kwargs: &SimulateKwargs) -> PolarsResult<Series> {
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
    let out = Series::from_arrow(input.name().clone(), array)?;
    let expected = output_dtype(&names, opts.reduce.is_some());
    if out.dtype() != &expected {
        return Err(err(format!(
            "internal error: built {} instead of {expected}",
            out.dtype()
        )));
    }
    Ok(out)
}

/// The sweep, on the plugin's Polars thread pool.
fn run_sweep(
    m: &CompiledModel,
    n: usize,
    params: &[Param],
    opts: &SweepOptions,
) -> PolarsResult<sweep::SweepResult> {
    let progress = Progress::new();
    pyo3_polars::export::polars_core::runtime::THREAD_POOL
        .install(|| sweep::sweep(m, n, params, opts, &progress))
        .map_err(err)
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
fn read_params(input: &Series, on_error: OnError) -> PolarsResult<ParamTable> {
    let n = input.len();
    let ca = input.struct_().map_err(|_| {
        err(format!(
            "simulate expects a struct column (one field per parameter, e.g. \
             pl.struct('a', 'b')), got {}",
            input.dtype()
        ))
    })?;
    let outer_null: Vec<bool> = ca.is_null().iter().map(|v| v == Some(true)).collect();
    let mut fields = Vec::new();
    for s in ca.fields_as_series() {
        let name = s.name().to_string();
        let cells = read_field(&name, &s, on_error)?;
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

fn bad_dtype(name: &str, dtype: &DataType) -> PolarsError {
    err(format!(
        "parameter field '{name}' has type {dtype}; expected a number, or a list of \
         (x, y) points (List(Struct{{x, y}}) or List(List(number)))"
    ))
}

/// One struct field's cells. With `OnError::Null`, NaN numbers count as null.
fn read_field(name: &str, s: &Series, on_error: OnError) -> PolarsResult<Cells> {
    let dtype = s.dtype();
    if dtype.is_primitive_numeric() || dtype.is_bool() || dtype.is_null() {
        let f = s.cast(&DataType::Float64)?;
        let nan_is_null = on_error == OnError::Null;
        let col = f
            .f64()?
            .iter()
            .map(|v| v.filter(|x| !(nan_is_null && x.is_nan())))
            .collect();
        return Ok(Cells::Numbers(col));
    }
    let DataType::List(inner) = dtype else {
        return Err(bad_dtype(name, dtype));
    };
    let list = s.list()?;
    let mut col = Vec::with_capacity(s.len());
    for (r, row) in list.series_iter().enumerate() {
        col.push(match row {
            None => None,
            Some(points) => Some(read_points(name, r, inner, &points)?),
        });
    }
    Ok(Cells::Tables(col))
}

/// One row's graphical-function points.
fn read_points(
    name: &str,
    row: usize,
    inner: &DataType,
    points: &Series,
) -> PolarsResult<Vec<(f64, f64)>> {
    let bad_point = || {
        err(format!(
            "parameter field '{name}', row {row}: every point needs a numeric x and y \
             (no nulls)"
        ))
    };
    match inner {
        DataType::Struct(_) => {
            let st = points.struct_()?;
            let coord = |c: &str| -> PolarsResult<Vec<Option<f64>>> {
                let f = st.field_by_name(c).map_err(|_| {
                    err(format!(
                        "parameter field '{name}': graphical-function points need fields \
                         'x' and 'y'"
                    ))
                })?;
                if !(f.dtype().is_primitive_numeric() || f.dtype().is_null()) {
                    return Err(bad_point());
                }
                Ok(f.cast(&DataType::Float64)?.f64()?.iter().collect())
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
        DataType::List(coord) if coord.is_primitive_numeric() => points
            .list()?
            .series_iter()
            .map(|p| {
                let p = p.ok_or_else(bad_point)?.cast(&DataType::Float64)?;
                let xy: Vec<Option<f64>> = p.f64()?.iter().collect();
                match xy.as_slice() {
                    [Some(x), Some(y)] => Ok((*x, *y)),
                    _ => Err(bad_point()),
                }
            })
            .collect(),
        _ => Err(bad_dtype(name, &DataType::List(Box::new(inner.clone())))),
    }
}

// ---------------------------------------------------------------------------
// Building the output
// ---------------------------------------------------------------------------

fn f64_array(values: Vec<f64>, validity: Option<Bitmap>) -> PolarsResult<Box<dyn Array>> {
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
) -> PolarsResult<Box<dyn Array>> {
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
        .collect::<PolarsResult<Vec<_>>>()?;
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
) -> PolarsResult<Box<dyn Array>> {
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
