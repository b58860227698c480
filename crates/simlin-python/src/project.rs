//! Loaded projects and their models (native parts of `simlin.Project` and
//! `simlin.Model`).
//!
//! A [`PyProject`] owns the imported IR behind an `Arc`; each [`PyModel`]
//! shares it and compiles lazily, once: the first `run`/`simulate`/`compile`
//! stores the outcome (the `Arc<CompiledModel>` or the compile error), and
//! every later call reuses it. Runs that feed time series to plain variables
//! use a variant compiled with those variables as inputs
//! ([`simlin::ir::inputs`]), cached per set of names the same way.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use simlin::ir::inputs::with_series_inputs;
use simlin::ir::{Equations, Model, Project};
use simlin::loops::{LtmModel, Partial, Structure};
use simlin::syntax::ident::canonicalize;
use simlin::{CompiledModel, Error, Method, Override, Sim};

use crate::detach::{detached, interruptible};
use crate::errors::BindError;
use crate::options::PyRunOptions;
use crate::results::PyResults;
use crate::sim::PySim;

/// An imported project.
#[pyclass(module = "simlin._simlin", name = "Project", frozen)]
pub struct PyProject {
    inner: Arc<Project>,
}

#[pymethods]
impl PyProject {
    /// Load a model file; the reader is chosen from the extension.
    /// `data_files` feed a Vensim model's data variables.
    #[staticmethod]
    #[pyo3(signature = (path, data_files = None))]
    fn from_file(
        py: Python<'_>,
        path: PathBuf,
        data_files: Option<Vec<String>>,
    ) -> Result<PyProject, BindError> {
        let opts = simlin::LoadOptions { data_files };
        let project = detached(py, || Ok(simlin::load_file_with(&path, &opts)?))?;
        Ok(PyProject {
            inner: Arc::new(project),
        })
    }

    /// Parse XMILE text; `base` (the model's folder) and `data_files` serve
    /// Vensim models exported by xmutil, as for `from_mdl`.
    #[staticmethod]
    #[pyo3(signature = (text, base = None, data_files = None))]
    fn from_xmile(
        py: Python<'_>,
        text: &str,
        base: Option<PathBuf>,
        data_files: Option<Vec<String>>,
    ) -> Result<PyProject, BindError> {
        let opts = simlin::LoadOptions { data_files };
        let project = detached(py, || {
            Ok(simlin::load_xmile_with(text, base.as_deref(), &opts)?)
        })?;
        Ok(PyProject {
            inner: Arc::new(project),
        })
    }

    /// Parse Vensim `.mdl` text; external data files are read relative to
    /// `base` (the model's folder), if given, and `data_files` feed its data
    /// variables.
    #[staticmethod]
    #[pyo3(signature = (text, base = None, data_files = None))]
    fn from_mdl(
        py: Python<'_>,
        text: &str,
        base: Option<PathBuf>,
        data_files: Option<Vec<String>>,
    ) -> Result<PyProject, BindError> {
        let opts = simlin::LoadOptions { data_files };
        let project = detached(py, || {
            Ok(simlin::load_mdl_with(text, base.as_deref(), &opts)?)
        })?;
        Ok(PyProject {
            inner: Arc::new(project),
        })
    }

    /// Project name (may be empty).
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// Non-fatal import problems.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }

    /// Every model, main model first as in the source.
    fn models(&self) -> Vec<PyModel> {
        (0..self.inner.models.len())
            .map(|i| PyModel::new(self.inner.clone(), i))
            .collect()
    }

    /// A model by (any spelling of) its name; `None` = the main model.
    #[pyo3(signature = (name = None))]
    fn model(&self, name: Option<&str>) -> Result<PyModel, BindError> {
        let index = match name {
            None => main_index(&self.inner),
            Some(n) => {
                let id = canonicalize(n);
                self.inner.models.iter().position(|m| m.ident == id)
            }
        };
        let index = index.ok_or_else(|| {
            BindError::Engine(Error::UnknownModel {
                name: name.unwrap_or("(main)").to_owned(),
            })
        })?;
        Ok(PyModel::new(self.inner.clone(), index))
    }
}

/// Index of the main model, as [`Project::main_model`] picks it.
fn main_index(project: &Project) -> Option<usize> {
    let main = project.main_model()?;
    project.models.iter().position(|m| std::ptr::eq(m, main))
}

/// A value accepted as an override: a number, graphical-function points,
/// or one number per element of an arrayed variable.
#[derive(FromPyObject)]
pub(crate) enum OverrideArg {
    Value(f64),
    Table(Vec<(f64, f64)>),
    Array(Vec<f64>),
}

/// One variable's description, as a tuple for the Python dataclass:
/// `(name, kind, equation, units, dimensions, doc)`.
type VariableTuple = (
    String,
    &'static str,
    String,
    Option<String>,
    Vec<String>,
    Option<String>,
);

/// One model of a project, compiled on first use.
#[pyclass(module = "simlin._simlin", name = "Model", frozen)]
pub struct PyModel {
    project: Arc<Project>,
    index: usize,
    compiled: Mutex<Option<Result<Arc<CompiledModel>, Error>>>,
    /// The model compiled with loop scores (`run(ltm=True)`), on first
    /// use, per convention of the partial changes.
    ltm: Variants<Arc<LtmModel>, Partial>,
    /// Variants with time-series inputs, by their sorted input names.
    fed: Variants<Arc<CompiledModel>>,
    fed_ltm: Variants<Arc<LtmModel>, (Vec<String>, Partial)>,
}

/// Compiled variants of a model by their time-series inputs (sorted names)
/// or another key.
type Variants<T, K = Vec<String>> = Mutex<HashMap<K, Result<T, Error>>>;

/// Most variants kept per model: each is a whole compiled model, and a user
/// feeding ever new sets of variables should not grow memory without bound.
const MAX_VARIANTS: usize = 8;

/// The variant for `inputs` from `cache`, made by `make` on first use.
fn variant<T: Clone, K: std::hash::Hash + Eq>(
    cache: &Variants<T, K>,
    inputs: K,
    make: impl FnOnce(&K) -> Result<T, Error>,
) -> Result<T, BindError> {
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(outcome) = map.get(&inputs) {
        return outcome.clone().map_err(BindError::from);
    }
    let outcome = make(&inputs);
    if map.len() >= MAX_VARIANTS {
        map.clear();
    }
    map.insert(inputs, outcome.clone());
    outcome.map_err(BindError::from)
}

/// What `structure` returns: links `(from, to, polarity)`, loops, mode.
type StructureRow = (Vec<(String, String, String)>, Vec<LoopRow>, String);

/// What `run_ltm` returns (see there).
type LtmRunRow = (
    PyResults,
    PyResults,
    Vec<LoopRow>,
    Vec<(String, String)>,
    String,
);

/// A period of dominance as Python receives it: `(partition, start, end,
/// loop ids)`.
type PeriodRow = (usize, f64, f64, Vec<String>);

/// The periods of dominance of a run with loop scores, from the `rel:<id>`
/// columns of its `scores` for `loops` given as `(id, partition)`. Computed
/// only when asked for: on small models they cost a third of the scoring.
#[pyfunction]
pub(crate) fn dominant_periods(
    scores: &PyResults,
    loops: Vec<(String, usize)>,
) -> Result<Vec<PeriodRow>, BindError> {
    let table = scores.table()?;
    let columns = loops
        .iter()
        .map(|(id, _)| {
            table.series(&format!("rel:{id}")).ok_or_else(|| {
                BindError::Engine(simlin::Error::UnknownOutput {
                    variable: id.clone(),
                })
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let periods = simlin::loops::ltm::dominant_periods_by(&loops, table.times(), |l, t| {
        columns[l].get(t).copied().unwrap_or(0.0)
    });
    Ok(periods
        .into_iter()
        .map(|p| (p.partition, p.start, p.end, p.loops))
        .collect())
}

/// Loops as Python receives them: `(id, polarity letter, variables, partition)`.
type LoopRow = (String, String, Vec<String>, usize);

fn loop_rows(loops: &[simlin::loops::Loop]) -> Vec<LoopRow> {
    loops
        .iter()
        .map(|l| {
            (
                l.id.clone(),
                l.polarity.letter().to_string(),
                l.variables.clone(),
                l.partition,
            )
        })
        .collect()
}

impl PyModel {
    fn new(project: Arc<Project>, index: usize) -> PyModel {
        PyModel {
            project,
            index,
            compiled: Mutex::new(None),
            ltm: Mutex::new(HashMap::new()),
            fed: Mutex::new(HashMap::new()),
            fed_ltm: Mutex::new(HashMap::new()),
        }
    }

    fn selector(&self) -> Result<Option<String>, BindError> {
        Ok(if main_index(&self.project) == Some(self.index) {
            None
        } else {
            Some(self.ir()?.ident.clone())
        })
    }

    /// The model compiled with loop scores, compiling on first use.
    pub(crate) fn ltm_model(
        &self,
        py: Python<'_>,
        partial: Partial,
    ) -> Result<Arc<LtmModel>, BindError> {
        let name = self.selector()?;
        let (project, cache) = (&self.project, &self.ltm);
        detached(py, move || {
            variant(cache, partial, |&partial| {
                LtmModel::with_partial(project, name.as_deref(), partial).map(Arc::new)
            })
        })
    }

    fn ir(&self) -> Result<&Model, BindError> {
        self.project
            .models
            .get(self.index)
            .ok_or_else(|| BindError::Internal("model index out of range".into()))
    }

    /// The compiled model, compiling (without the GIL) on first use.
    pub(crate) fn compiled(&self, py: Python<'_>) -> Result<Arc<CompiledModel>, BindError> {
        let name = self.selector()?;
        let project = &self.project;
        let cell = &self.compiled;
        detached(py, move || {
            // A panic during a previous compile never stored anything, so a
            // poisoned lock holds a consistent value.
            let mut slot = cell.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(outcome) = slot.as_ref() {
                return outcome.clone().map_err(BindError::from);
            }
            let outcome = CompiledModel::new(project, name.as_deref()).map(Arc::new);
            *slot = Some(outcome.clone());
            outcome.map_err(BindError::from)
        })
    }

    /// The compiled model for runs whose graphical-function overrides are
    /// `tables` (names): the model itself, or, when some of those points
    /// feed plain variables as time series, the variant with those
    /// variables as inputs.
    pub(crate) fn compiled_for<'a>(
        &self,
        py: Python<'_>,
        tables: impl IntoIterator<Item = &'a str>,
    ) -> Result<Arc<CompiledModel>, BindError> {
        let base = self.compiled(py)?;
        let inputs = base.series_inputs(tables);
        if inputs.is_empty() {
            return Ok(base);
        }
        let name = self.selector()?;
        let (project, cache) = (&self.project, &self.fed);
        detached(py, move || {
            variant(cache, inputs, |inputs| {
                let fed = with_series_inputs(project, name.as_deref(), inputs)?;
                CompiledModel::new(&fed, name.as_deref()).map(Arc::new)
            })
        })
    }

    /// [`PyModel::compiled_for`] for the model compiled with loop scores:
    /// a fed variable is driven by its data, so loops through it are cut.
    pub(crate) fn ltm_model_for<'a>(
        &self,
        py: Python<'_>,
        tables: impl IntoIterator<Item = &'a str>,
        partial: Partial,
    ) -> Result<Arc<LtmModel>, BindError> {
        let inputs = self.compiled(py)?.series_inputs(tables);
        if inputs.is_empty() {
            return self.ltm_model(py, partial);
        }
        let name = self.selector()?;
        let (project, cache) = (&self.project, &self.fed_ltm);
        detached(py, move || {
            variant(cache, (inputs, partial), |(inputs, partial)| {
                let fed = with_series_inputs(project, name.as_deref(), inputs)?;
                LtmModel::with_partial(&fed, name.as_deref(), *partial).map(Arc::new)
            })
        })
    }

    /// The compiled model if it was already compiled successfully.
    fn compiled_if_ready(&self) -> Option<Arc<CompiledModel>> {
        let slot = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            Some(Ok(m)) => Some(m.clone()),
            _ => None,
        }
    }
}

/// The names a run gives (x, y) points: graphical functions' tables or
/// time series (see [`PyModel::compiled_for`]).
fn table_names(opts: &simlin::RunOptions) -> impl Iterator<Item = &str> {
    opts.overrides
        .iter()
        .filter(|(_, o)| matches!(o, Override::Table(_)))
        .map(|(n, _)| n.as_str())
}

/// The engine's overrides from the Python arguments.
pub(crate) fn engine_overrides(overrides: Vec<(String, OverrideArg)>) -> Vec<(String, Override)> {
    overrides
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                OverrideArg::Value(v) => Override::Value(v),
                OverrideArg::Table(points) => Override::Table(points),
                OverrideArg::Array(values) => Override::Array(values),
            };
            (name, value)
        })
        .collect()
}

/// An integration method's name (`euler`, `rk2`, `rk4`), if given.
pub(crate) fn parse_method(method: Option<&str>) -> Result<Option<Method>, BindError> {
    method
        .map(|m| {
            Method::parse(m).ok_or_else(|| {
                BindError::Argument(format!(
                    "unknown integration method '{m}' (expected euler, rk2 or rk4)"
                ))
            })
        })
        .transpose()
}

#[pymethods]
impl PyModel {
    /// Model name as written in the source (empty for an unnamed main model).
    #[getter]
    fn name(&self) -> Result<String, BindError> {
        Ok(self.ir()?.name.clone())
    }

    /// Every variable, in source order.
    fn variables(&self) -> Result<Vec<VariableTuple>, BindError> {
        let model = self.ir()?;
        Ok(model
            .variables
            .iter()
            .map(|v| {
                let equation = match &v.equations {
                    Equations::None => String::new(),
                    Equations::Lookups(_) => "(lookup)".into(),
                    Equations::Single(eq) => eq.text.clone(),
                    Equations::PerElement(elems) => elems
                        .iter()
                        .map(|(key, eq, _)| format!("[{}] {}", key.join(", "), eq.text))
                        .collect::<Vec<_>>()
                        .join("\n"),
                };
                let dims = v
                    .dims
                    .iter()
                    .map(|d| {
                        self.project
                            .dimension(d)
                            .map(|dim| dim.name.clone())
                            .unwrap_or_else(|| d.clone())
                    })
                    .collect();
                (
                    v.name.clone(),
                    v.kind.name(),
                    equation,
                    v.units.clone(),
                    dims,
                    v.doc.clone(),
                )
            })
            .collect())
    }

    /// `(start, stop, dt, save_step, method, dynamic)`, as the compiled model
    /// uses them; `dynamic` names the settings the model computes during a
    /// run (Vensim control variables with non-constant equations).
    #[allow(clippy::type_complexity)]
    fn time_spec(
        &self,
    ) -> Result<(f64, f64, f64, f64, &'static str, Vec<&'static str>), BindError> {
        let specs = match self.compiled_if_ready() {
            Some(m) => m.sim_specs().clone(),
            None => {
                let mut specs = self
                    .ir()?
                    .sim_specs
                    .clone()
                    .unwrap_or_else(|| self.project.sim_specs.clone());
                if specs.save_step.is_none() {
                    specs.save_step = self.project.sim_specs.save_step;
                }
                specs
            }
        };
        Ok((
            specs.start,
            specs.stop,
            specs.dt,
            specs.save_step.unwrap_or(specs.dt),
            specs.method.as_str(),
            [
                ("stop", &specs.dynamic.stop),
                ("dt", &specs.dynamic.dt),
                ("save_step", &specs.dynamic.save_step),
            ]
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| k)
            .collect(),
        ))
    }

    /// Display names of the variables `name`'s equation references directly.
    fn dependencies(&self, name: &str) -> Result<Vec<String>, BindError> {
        let model = self.ir()?;
        let deps = simlin::analysis::direct_dependencies(model, &canonicalize(name))
            .ok_or_else(|| BindError::UnknownVariable(name.to_owned()))?;
        Ok(deps
            .into_iter()
            .map(|d| model.get(&d).map(|v| v.name.clone()).unwrap_or(d))
            .collect())
    }

    /// Whether the model draws random numbers (compiles it if needed).
    fn is_stochastic(&self, py: Python<'_>) -> Result<bool, BindError> {
        Ok(self.compiled(py)?.is_stochastic())
    }

    /// Shape of an arrayed variable; `None` for a scalar or an unknown name.
    fn shape(&self, py: Python<'_>, name: &str) -> Result<Option<Vec<usize>>, BindError> {
        Ok(self.compiled(py)?.array(name).map(|a| a.shape()))
    }

    /// Compile now (if not yet); raises the compile error if there is one.
    fn compile(&self, py: Python<'_>) -> Result<(), BindError> {
        self.compiled(py).map(|_| ())
    }

    /// `(import warnings, compile error message or None)`.
    fn check(&self, py: Python<'_>) -> Result<(Vec<String>, Option<String>), BindError> {
        let warnings = self.project.warnings.clone();
        match self.compiled(py) {
            Ok(_) => Ok((warnings, None)),
            Err(BindError::Engine(e)) => Ok((warnings, Some(e.to_string()))),
            Err(other) => Err(other),
        }
    }

    /// Run to the end and return the results.
    fn run(&self, py: Python<'_>, options: &PyRunOptions) -> Result<PyResults, BindError> {
        let opts = options.engine();
        let model = self.compiled_for(py, table_names(&opts))?;
        let cancel = opts.cancel.clone().unwrap_or_default();
        let quick = model.run_size(&opts) < crate::detach::QUICK_RUN;
        let results = interruptible(py, &cancel, quick, move || Ok(model.run(&opts)?))?;
        Ok(PyResults::from_results(results))
    }

    /// The causal structure: `(links, loops, mode)` with links as
    /// `(from, to, polarity)` between the model's own variables.
    fn structure(&self, py: Python<'_>) -> Result<StructureRow, BindError> {
        let name = self.selector()?;
        let project = &self.project;
        detached(py, move || {
            let s = Structure::new(project, name.as_deref())?;
            let links = s
                .visible_links()
                .into_iter()
                .map(|(from, to, p)| (from, to, p.symbol().to_string()))
                .collect();
            let loops = loop_rows(&s.loops);
            Ok((links, loops, s.mode.name().to_string()))
        })
    }

    /// Run with loop scores: `(results, scores, loops, links, mode)`
    /// (periods of dominance on request: [`dominant_periods`]).
    /// `scores` holds columns `link:<k>` (for `links[k]`, as `(from, to)`
    /// including compiler helpers), `loop:<id>` and `rel:<id>`.
    fn run_ltm(&self, py: Python<'_>, options: &PyRunOptions) -> Result<LtmRunRow, BindError> {
        let opts = options.engine();
        let model = self.ltm_model_for(py, table_names(&opts), options.partial())?;
        let cancel = opts.cancel.clone().unwrap_or_default();
        let quick = model.plain().run_size(&opts) < crate::detach::QUICK_RUN;
        let m = model.clone();
        let run = interruptible(py, &cancel, quick, move || Ok(m.run(&opts)?))?;
        let s = &model.structure;
        let mut names = Vec::new();
        let mut columns = Vec::new();
        let mut links = Vec::new();
        for (from, to, col) in run.shown_link_scores(s) {
            names.push(format!("link:{}", links.len()));
            links.push((s.name(from).to_string(), s.name(to).to_string()));
            columns.push(col);
        }
        for ((l, score), rel) in run.loops.iter().zip(run.loop_scores).zip(run.relative) {
            names.push(format!("loop:{}", l.id));
            columns.push(score);
            names.push(format!("rel:{}", l.id));
            columns.push(rel);
        }
        let scores = simlin::Results {
            names,
            times: run.results.times.clone(),
            columns,
            arrays: Vec::new(),
        };
        let loops = loop_rows(&run.loops);
        Ok((
            PyResults::from_results(run.results),
            PyResults::from_results(scores),
            loops,
            links,
            run.mode.name().to_string(),
        ))
    }

    /// The loops a sweep with loop scores reports: `(loops, score
    /// variable names of their relative scores)`. The loops do not depend
    /// on the convention; the sweep's is given so that the model compiled
    /// here is the one the sweep runs.
    #[pyo3(signature = (ltm_partial = "previous"))]
    fn ltm_loops(
        &self,
        py: Python<'_>,
        ltm_partial: &str,
    ) -> Result<(Vec<LoopRow>, Vec<String>), BindError> {
        let m = self.ltm_model(py, crate::options::parse_partial(ltm_partial)?)?;
        let names = m
            .structure
            .loops
            .iter()
            .map(|l| simlin::loops::instrument::relative_name(&l.id))
            .collect();
        Ok((loop_rows(&m.structure.loops), names))
    }

    /// Start a stepwise simulation (initial values computed); with `ltm`,
    /// of the model compiled with loop scores (`$ltm.loop.<id>`,
    /// `$ltm.rel.<id>` are then variables of the simulation).
    #[pyo3(signature = (options, ltm = false))]
    fn simulate(
        &self,
        py: Python<'_>,
        options: &PyRunOptions,
        ltm: bool,
    ) -> Result<PySim, BindError> {
        let opts = options.engine();
        let model = if ltm {
            self.ltm_model_for(py, table_names(&opts), options.partial())?
                .compiled()?
        } else {
            self.compiled_for(py, table_names(&opts))?
        };
        let mut sim = detached(py, move || Ok(Sim::new(model, &opts)?))?;
        let cancel = sim.cancel_flag();
        Ok(PySim::new(sim, cancel))
    }
}
