//! The format-neutral model IR: what a model *is*, independent of whether it
//! came from XMILE or (later) Vensim.
//!
//! Everything downstream (analysis, compile, the Python `Model.variables`)
//! reads this and only this. It keeps both the original equation text (for
//! display) and the parsed [`Expr`] (for compiling). Dimensions are part of
//! the IR from the start: a variable lists the dimension names it is arrayed
//! over, and its equation is either one expression for all elements or one
//! per element.
//!
//! Invariants: identifiers (`Variable::ident`, references inside `Expr`) are
//! canonical (see [`crate::syntax::ident::canonicalize`]); variables keep the
//! order of the source file, so every derived order is deterministic.

pub mod inputs;

use crate::syntax::ast::Expr;

/// Integration method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Euler,
    Rk2,
    Rk4,
}

impl Method {
    /// Parse a method name as XMILE and users spell it (`euler`, `rk4`,
    /// `RK2`, `runge-kutta 4`...). Unknown names give `None`.
    pub fn parse(s: &str) -> Option<Method> {
        let s: String = s
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        match s.as_str() {
            "euler" => Some(Method::Euler),
            "rk2" | "rungekutta2" | "heun" => Some(Method::Rk2),
            "rk4" | "rungekutta4" | "rungekutta" | "rk45" | "rkauto" => Some(Method::Rk4),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Euler => "euler",
            Method::Rk2 => "rk2",
            Method::Rk4 => "rk4",
        }
    }
}

/// Simulation time specification (`<sim_specs>`).
#[derive(Clone, Debug, PartialEq)]
pub struct SimSpecs {
    pub start: f64,
    pub stop: f64,
    /// The integration step, already resolved from `reciprocal` form.
    pub dt: f64,
    /// Output interval; `None` means every dt.
    pub save_step: Option<f64>,
    pub method: Method,
    pub time_units: Option<String>,
    /// Control variables whose values may change during a run.
    pub dynamic: DynamicSpecs,
}

/// Vensim lets FINAL TIME, TIME STEP and SAVEPER be any equation, even one
/// of Time or of the model's state (a run that stops itself, a step that
/// halves mid-run). Those that are not constant numbers are named here by
/// variable ident; the VM reads them from the run after every step, and the
/// matching fixed field of [`SimSpecs`] is only their fallback.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DynamicSpecs {
    pub stop: Option<String>,
    pub dt: Option<String>,
    pub save_step: Option<String>,
}

impl DynamicSpecs {
    pub fn is_empty(&self) -> bool {
        self.stop.is_none() && self.dt.is_none() && self.save_step.is_none()
    }
}

impl Default for SimSpecs {
    fn default() -> Self {
        SimSpecs {
            start: 0.0,
            stop: 10.0,
            dt: 1.0,
            save_step: None,
            method: Method::Euler,
            time_units: None,
            dynamic: DynamicSpecs::default(),
        }
    }
}

/// Most elements one dimension, or one arrayed variable, may have: far
/// above real models (C-LEARN's largest variable has a few hundred), and
/// low enough that a hostile file cannot make the engine allocate without
/// bound.
pub const MAX_ELEMENTS: usize = 1_000_000;

/// A named dimension (subscript range).
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    pub name: String,
    /// Canonical identifier of the dimension.
    pub ident: String,
    /// Element names as written in the model (indexed dimensions get `"1"`..`"n"`).
    pub elements: Vec<String>,
    /// True for XMILE `<dim size="n"/>` (numeric index) dimensions.
    pub indexed: bool,
    /// Dimensions this one maps to (Vensim `A: a1, a2 -> B`,
    /// `-> (B: b3, b2, b1)`), in the order written; empty for most.
    pub maps_to: Vec<DimMapping>,
}

/// One Vensim subscript mapping of a dimension onto another: where an
/// equation over the target dimension refers to the mapped one (or the
/// other way round), elements correspond through it.
#[derive(Clone, Debug, PartialEq)]
pub struct DimMapping {
    /// Canonical name of the target dimension.
    pub to: String,
    /// Per element of the mapped dimension, in order, the target elements
    /// (canonical) it stands for: `D: d1, d2 -> (A: SubA, a3)` maps `d1` to
    /// every element of `SubA`. Empty: elements pair by position.
    pub elements: Vec<Vec<String>>,
}

impl DimMapping {
    /// A mapping that pairs elements by position.
    pub fn positional(to: impl Into<String>) -> DimMapping {
        DimMapping {
            to: to.into(),
            elements: Vec::new(),
        }
    }
}

/// How a graphical function treats x outside/between its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GfKind {
    /// Linear interpolation, clamped to the end values outside the range.
    #[default]
    Continuous,
    /// Linear interpolation, linear extrapolation outside the range.
    Extrapolate,
    /// Step function: the y of the last point whose x is <= the input.
    Discrete,
    /// Vensim `:RAW:` data: a point's y at its own x only, Vensim's `:NA:`
    /// ([`VENSIM_NA`]) anywhere else ("Marks data as raw so :NA: is
    /// reported for missing values", <https://vensim.com/documentation/keywords.html>).
    Raw,
}

/// Vensim's `:NA:` value, -2^110 (-1.298074e33: what Vensim's own runs
/// record for it, e.g. C-LEARN's `Ref.vdf`).
pub const VENSIM_NA: f64 = -1_298_074_214_633_706_907_132_624_082_305_024.0;

/// A graphical function (lookup table), with x points always explicit.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GraphicalFunction {
    pub kind: GfKind,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
}

/// One equation with its source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    pub text: String,
    pub expr: Expr,
}

/// The equation(s) of a variable.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Equations {
    /// No equation given (allowed for module inputs, invalid elsewhere).
    #[default]
    None,
    /// One equation: scalar, or the same (apply-to-all) for every element.
    Single(Equation),
    /// Arrayed, one equation per element; each key lists one element name per
    /// dimension of the variable, in dimension order.
    PerElement(Vec<(Vec<String>, Equation, Option<GraphicalFunction>)>),
    /// An arrayed lookup (Vensim `table[a](...)` records): one table per
    /// element and no input, called as `table[a](x)`; keys as in
    /// [`Equations::PerElement`].
    Lookups(Vec<(Vec<String>, GraphicalFunction)>),
}

/// A `<connect>` binding of a module instance.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleConnection {
    /// Canonical name of the variable inside the module that receives the value.
    pub to: String,
    /// Canonical name (possibly dotted) of the outer variable it comes from.
    pub from: String,
}

/// Vensim SINTEG's restrictions on a level's value (an absent one is
/// `:NA:`): "SINTEG will never go below min or above max. SINTEG will
/// always return a multiple of quant. If the value SINTEG would return is
/// within thresh of spec, then SINTEG will return spec"
/// (<https://vensim.com/documentation/fn_sinteg.html>). They apply to the
/// value a step ends with (not to Runge-Kutta's intermediate stages, which
/// no variable returns) and to the initial value.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct StockLimits {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub quantum: Option<f64>,
    /// `(spec, thresh)`.
    pub snap: Option<(f64, f64)>,
}

impl StockLimits {
    /// `v` restricted: rounded to the nearest multiple of the quantum,
    /// snapped to spec, then kept within min and max (last, so that the
    /// bounds always hold). The documentation gives no order; this one
    /// keeps every stated property where they can all hold.
    pub fn apply(&self, v: f64) -> f64 {
        let mut v = v;
        if let Some(q) = self.quantum.filter(|q| *q > 0.0) {
            v = (v / q).round() * q;
        }
        if let Some((spec, thresh)) = self.snap {
            if (v - spec).abs() < thresh {
                v = spec;
            }
        }
        if let Some(lo) = self.min {
            v = v.max(lo);
        }
        if let Some(hi) = self.max {
            v = v.min(hi);
        }
        v
    }

    /// [`StockLimits::apply`] as an expression over `e` (the same
    /// operations in the same order, so the same value): the initial value
    /// is restricted where it is computed, before anything reads it.
    pub fn restrict_expr(&self, e: crate::syntax::ast::Expr) -> crate::syntax::ast::Expr {
        use crate::syntax::ast::{bin, call, BinaryOp, Expr};
        let mut e = e;
        if let Some(q) = self.quantum.filter(|q| *q > 0.0) {
            let steps = call("round", vec![bin(BinaryOp::Div, e, Expr::Num(q))]);
            e = bin(BinaryOp::Mul, steps, Expr::Num(q));
        }
        if let Some((spec, thresh)) = self.snap {
            let gap = call("abs", vec![bin(BinaryOp::Sub, e.clone(), Expr::Num(spec))]);
            let near = bin(BinaryOp::Lt, gap, Expr::Num(thresh));
            e = Expr::If(Box::new(near), Box::new(Expr::Num(spec)), Box::new(e));
        }
        if let Some(lo) = self.min {
            e = call("max", vec![e, Expr::Num(lo)]);
        }
        if let Some(hi) = self.max {
            e = call("min", vec![e, Expr::Num(hi)]);
        }
        e
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum VarKind {
    Stock {
        /// Canonical names of the inflows / outflows.
        inflows: Vec<String>,
        outflows: Vec<String>,
        non_negative: bool,
        /// Vensim SINTEG's restrictions, if the level has any.
        limits: Option<StockLimits>,
        /// A net rate given as an expression (Vensim `INTEG(rate, init)`),
        /// added to whatever the named flows contribute.
        net_rate: Option<Box<Equation>>,
    },
    Flow {
        non_negative: bool,
    },
    Aux,
    Module {
        /// Canonical name of the model this module instantiates.
        model: String,
        connections: Vec<ModuleConnection>,
    },
}

impl VarKind {
    pub fn name(&self) -> &'static str {
        match self {
            VarKind::Stock { .. } => "stock",
            VarKind::Flow { .. } => "flow",
            VarKind::Aux => "aux",
            VarKind::Module { .. } => "module",
        }
    }
}

impl Variable {
    /// The expressions of its equations: the one, or one per element
    /// (none for a variable without equations or with lookup tables only).
    pub fn exprs(&self) -> impl Iterator<Item = &crate::syntax::ast::Expr> {
        let (single, elements) = match &self.equations {
            Equations::Single(eq) => (Some(&eq.expr), &[][..]),
            Equations::PerElement(list) => (None, &list[..]),
            Equations::None | Equations::Lookups(_) => (None, &[][..]),
        };
        single
            .into_iter()
            .chain(elements.iter().map(|(_, eq, _)| &eq.expr))
    }

    /// Whether the variable is a lookup table with no input (a scalar
    /// graphical function without an equation, or [`Equations::Lookups`]):
    /// a function models call, not a value over time.
    pub fn is_lookup(&self) -> bool {
        match &self.equations {
            Equations::Lookups(_) => true,
            Equations::None => self.gf.is_some() && matches!(self.kind, VarKind::Aux),
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    /// Name as written in the model (quotes removed, underscores kept).
    pub name: String,
    /// Canonical identifier.
    pub ident: String,
    pub kind: VarKind,
    /// For a stock: its initial value. For others: the equation.
    pub equations: Equations,
    pub units: Option<String>,
    pub doc: Option<String>,
    /// Canonical names of the dimensions the variable is arrayed over.
    pub dims: Vec<String>,
    /// A graphical function applied to the equation's value (or, with no
    /// equation, to TIME is *not* assumed: XMILE requires an input).
    pub gf: Option<GraphicalFunction>,
    /// 1-based source line of the variable's element, where known.
    pub line: Option<u32>,
}

/// A model (the main one, or one instantiated by modules).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Model {
    pub name: String,
    pub ident: String,
    pub variables: Vec<Variable>,
    /// Model-level sim_specs override, if present.
    pub sim_specs: Option<SimSpecs>,
}

impl Model {
    /// Whether a model with this canonical name is the main one (failing
    /// that, the first model is).
    pub fn names_main(ident: &str) -> bool {
        ident.is_empty() || ident == "main"
    }

    pub fn get(&self, ident: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.ident == ident)
    }
}

/// An XMILE `<macro>`: a function defined by the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Macro {
    pub name: String,
    /// Canonical function name it is called by.
    pub ident: String,
    /// Canonical parameter names, in call order.
    pub params: Vec<String>,
    /// Default values of trailing parameters a call may leave out (isee's
    /// `<parm default="0">`), aligned with `params`; empty when none has
    /// one.
    pub defaults: Vec<Option<crate::syntax::ast::Expr>>,
    /// The macro body's result equation.
    pub eqn: Equation,
    /// Variables of the macro body (stocks, flows, auxes), may be empty.
    pub variables: Vec<Variable>,
}

/// The modelling language a project was written in. Where Vensim's
/// documented semantics differ from XMILE's for a builtin of the same name
/// (PULSE's arguments, INTEGER, SMOOTH's initial value, ...), the compiler
/// follows the project's dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    Xmile,
    Vensim,
}

/// A loaded project: sim specs, dimensions, models and macros.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Project {
    pub name: String,
    pub sim_specs: SimSpecs,
    pub dimensions: Vec<Dimension>,
    /// The first model is the main (unnamed) one.
    pub models: Vec<Model>,
    pub macros: Vec<Macro>,
    pub dialect: Dialect,
    /// Non-fatal problems found while importing (unknown XML elements,
    /// ignored options), for `simlin check`.
    pub warnings: Vec<String>,
    /// XMILE `<options><uses_arrays invalid_index_value="NaN">`: a computed
    /// subscript outside its dimension reads NaN. Otherwise XMILE's is 0
    /// (XMILE 1.0, "invalid_index_value ... default: 0"); Vensim's is NaN.
    pub invalid_index_nan: bool,
}

impl Project {
    /// The main model: the unnamed one, or the first.
    pub fn main_model(&self) -> Option<&Model> {
        self.models
            .iter()
            .find(|m| Model::names_main(&m.ident))
            .or_else(|| self.models.first())
    }

    /// Look up a model by (any spelling of) its name; `None` means the main model.
    pub fn model(&self, name: Option<&str>) -> Option<&Model> {
        match name {
            None => self.main_model(),
            Some(n) => {
                let id = crate::syntax::ident::canonicalize(n);
                self.models.iter().find(|m| m.ident == id)
            }
        }
    }

    pub fn dimension(&self, ident: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.ident == ident)
    }
}
