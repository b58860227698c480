//! Flattening: one project model tree → one flat list of variables.
//!
//! Modules are instantiated recursively with dotted prefixes
//! (`hares.births`), module inputs take their `<connect>`ed outer
//! expression, every reference is resolved to a full canonical name, and
//! macro calls and stateful builtins (SMTH*, DELAY1/3/N, TREND, ...) are
//! expanded into hidden variables by [`crate::compile::expand`]. After this
//! stage nothing downstream knows about scopes.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::compile::arrays::{element_ident, ElementCtx};
use crate::compile::expand::Expander;
use crate::error::{Error, Result};
use crate::ir::{Equations, GraphicalFunction, Model, Project, VarKind, Variable};
use crate::syntax::ast::{Expr, IndexExpr};
use crate::syntax::ident::canonicalize;

/// Names that mean something without being a variable.
pub const SPECIAL_NAMES: &[&str] = &[
    "time",
    "dt",
    "starttime",
    "stoptime",
    "pi",
    "inf",
    "nan",
    "initial_time",
    "final_time",
    "time_step",
];

const MAX_MODULE_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum FlatKind {
    Stock {
        inflows: Vec<String>,
        outflows: Vec<String>,
        non_negative: bool,
        limits: Option<crate::ir::StockLimits>,
    },
    Flow {
        non_negative: bool,
    },
    Aux,
}

/// One variable of the flattened model.
#[derive(Clone, Debug, PartialEq)]
pub struct FlatVar {
    /// Display name (`hares.births`; hidden helpers get `$`-names).
    pub name: String,
    /// Full canonical identifier; references in `expr` use these.
    pub ident: String,
    pub kind: FlatKind,
    /// The equation (for a stock: its initial value). `None` only for a
    /// standalone graphical function.
    pub expr: Option<Expr>,
    pub gf: Option<GraphicalFunction>,
    /// False for variables the compiler made up.
    pub visible: bool,
}

/// The flattened model, in deterministic (source, depth-first) order.
#[derive(Clone, Debug, Default)]
pub struct FlatModel {
    pub vars: Vec<FlatVar>,
    /// ident → index (lookups only; never iterated).
    pub index: HashMap<String, usize>,
    /// Every visible arrayed variable, in source order.
    pub arrays: Vec<FlatArray>,
}

/// The shape of one arrayed variable and the flat variables of its
/// elements, so results and overrides can speak of the whole array.
#[derive(Clone, Debug, PartialEq)]
pub struct FlatArray {
    /// Display name, e.g. `Population`.
    pub name: String,
    /// Full canonical identifier of the array (not of an element).
    pub ident: String,
    /// Display name and element display names of each dimension.
    pub dims: Vec<(String, Vec<String>)>,
    /// Identifiers of the element variables, row-major (last dimension fastest).
    pub elements: Vec<String>,
}

impl FlatModel {
    pub fn push(&mut self, v: FlatVar) -> Result<()> {
        if self.index.contains_key(&v.ident) {
            return Err(Error::DuplicateVariable {
                model: String::new(),
                variable: v.name,
            });
        }
        self.index.insert(v.ident.clone(), self.vars.len());
        self.vars.push(v);
        Ok(())
    }
}

/// Prefix of a resolved `dimension.element` reference (see
/// [`Scope::resolve`]); `$` starts no variable's name.
pub const DIMENSION_POSITION: &str = "$position.";

/// A naming scope: a model or macro instance.
pub struct Scope<'a> {
    /// Canonical prefix, e.g. `hares.` (empty for the main model).
    pub prefix: String,
    /// Display prefix, e.g. `hares.`.
    pub name_prefix: String,
    /// Canonical names declared in this scope.
    pub locals: HashSet<&'a str>,
    /// The project's dimension names: inside an arrayed equation a
    /// dimension name stands for the current element's 1-based position
    /// (`x[Region] = 10 * Region`), resolved by the arrays pass.
    pub dims: HashSet<&'a str>,
}

/// The project's dimension names, for [`Scope::dims`].
pub fn dimension_names(project: &Project) -> HashSet<&str> {
    project
        .dimensions
        .iter()
        .map(|d| d.ident.as_str())
        .collect()
}

impl Scope<'_> {
    /// Resolve a reference written in this scope to a full canonical name.
    pub fn resolve(&self, r: &str, variable: &str) -> Result<String> {
        let head = r.split('.').next().unwrap_or(r);
        if self.locals.contains(r) || (r.contains('.') && self.locals.contains(head)) {
            return Ok(format!("{}{}", self.prefix, r));
        }
        if let Some(stripped) = r.strip_prefix('.') {
            // Stella's ".name": the enclosing scope, already resolved by the caller.
            return Ok(stripped.to_string());
        }
        if SPECIAL_NAMES.contains(&r) || self.dims.contains(r) {
            return Ok(r.to_string());
        }
        // isee's `dimension.element` (an element's position), when no
        // module of this scope has the dimension's name: marked so that no
        // variable's name can be taken for it, for the arrays pass to turn
        // into a number.
        if r.split_once('.')
            .is_some_and(|(d, _)| self.dims.contains(d))
        {
            return Ok(format!("{DIMENSION_POSITION}{r}"));
        }
        // Vensim macros read the run's time settings as `Time$`,
        // `TIME STEP$`, `INITIAL TIME$`, `FINAL TIME$` and `SAVEPER$`.
        if let Some(base) = r.strip_suffix('$') {
            if SPECIAL_NAMES.contains(&base) || base == "saveper" {
                return Ok(base.to_string());
            }
        }
        Err(Error::UnknownVariable {
            variable: variable.to_string(),
            reference: r.to_string(),
        })
    }

    /// Rewrite every variable reference of `e` to its full name.
    pub fn resolve_expr(&self, e: &Expr, variable: &str) -> Result<Expr> {
        Ok(match e {
            Expr::Num(n) => Expr::Num(*n),
            Expr::Var(n, s) => Expr::Var(self.resolve(n, variable)?, *s),
            Expr::Subscript(n, idx, s) => {
                let idx = idx
                    .iter()
                    .map(|i| {
                        Ok(match i {
                            // A variable of this scope (not a dimension) is a
                            // computed subscript: resolve it like any reference.
                            IndexExpr::Expr(Expr::Var(n, s))
                                if self.locals.contains(n.as_str())
                                    && !self.dims.contains(n.as_str()) =>
                            {
                                IndexExpr::Expr(Expr::Var(self.resolve(n, variable)?, *s))
                            }
                            // Element/dimension names are not variables: keep them.
                            IndexExpr::Expr(Expr::Var(n, s)) => {
                                IndexExpr::Expr(Expr::Var(n.clone(), *s))
                            }
                            IndexExpr::Expr(e) => IndexExpr::Expr(self.resolve_expr(e, variable)?),
                            other => other.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Expr::Subscript(self.resolve(n, variable)?, idx, *s)
            }
            // ELMCOUNT names a dimension, not a variable.
            Expr::Call(f, args, _) if f == "elmcount" => e.clone(),
            Expr::Call(f, args, s) => {
                // A call may name a graphical-function variable: `gf(x)`.
                let name = if self.locals.contains(f.as_str()) {
                    format!("{}{}", self.prefix, f)
                } else {
                    f.clone()
                };
                let args = args
                    .iter()
                    .map(|a| self.resolve_expr(a, variable))
                    .collect::<Result<Vec<_>>>()?;
                Expr::Call(name, args, *s)
            }
            Expr::Unary(op, a) => Expr::Unary(*op, Box::new(self.resolve_expr(a, variable)?)),
            Expr::Binary(op, a, b) => Expr::Binary(
                *op,
                Box::new(self.resolve_expr(a, variable)?),
                Box::new(self.resolve_expr(b, variable)?),
            ),
            Expr::If(c, a, b) => Expr::If(
                Box::new(self.resolve_expr(c, variable)?),
                Box::new(self.resolve_expr(a, variable)?),
                Box::new(self.resolve_expr(b, variable)?),
            ),
        })
    }
}

/// Flatten the given model of the project.
pub fn flatten(project: &Project, model: &Model) -> Result<FlatModel> {
    let mut out = FlatModel::default();
    let mut expander = Expander::new(project);
    let scope = Scope {
        prefix: String::new(),
        name_prefix: String::new(),
        locals: model.variables.iter().map(|v| v.ident.as_str()).collect(),
        dims: dimension_names(project),
    };
    instantiate(
        project,
        model,
        &scope,
        &HashMap::default(),
        &mut expander,
        &mut out,
        0,
    )?;
    Ok(out)
}

/// Instantiate the variables of `model` in `scope`. `inputs` maps a local
/// canonical name to the (already resolved) expression feeding it.
fn instantiate(
    project: &Project,
    model: &Model,
    scope: &Scope<'_>,
    inputs: &HashMap<String, Expr>,
    expander: &mut Expander<'_>,
    out: &mut FlatModel,
    depth: usize,
) -> Result<()> {
    if depth > MAX_MODULE_DEPTH {
        return Err(Error::BadModule {
            variable: scope.name_prefix.clone(),
            message: format!(
                "modules nested more than {MAX_MODULE_DEPTH} deep (recursive module?)"
            ),
        });
    }
    for var in &model.variables {
        if !var.dims.is_empty() {
            expander
                .arrays
                .var_dims
                .insert(format!("{}{}", scope.prefix, var.ident), var.dims.clone());
        }
    }
    for var in &model.variables {
        if let VarKind::Module {
            model: sub,
            connections,
        } = &var.kind
        {
            let sub_model = project.model(Some(sub)).ok_or_else(|| Error::BadModule {
                variable: var.name.clone(),
                message: format!("module instantiates unknown model '{sub}'"),
            })?;
            let mut sub_inputs = HashMap::default();
            for c in connections {
                let from = scope.resolve(&c.from, &var.name)?;
                sub_inputs.insert(c.to.clone(), Expr::Var(from, Default::default()));
            }
            let sub_scope = Scope {
                prefix: format!("{}{}.", scope.prefix, var.ident),
                name_prefix: format!("{}{}.", scope.name_prefix, var.name),
                locals: sub_model
                    .variables
                    .iter()
                    .map(|v| v.ident.as_str())
                    .collect(),
                dims: dimension_names(project),
            };
            instantiate(
                project,
                sub_model,
                &sub_scope,
                &sub_inputs,
                expander,
                out,
                depth + 1,
            )?;
            continue;
        }
        flatten_var(var, scope, inputs.get(&var.ident), expander, out, true)?;
    }
    Ok(())
}

/// Turn one (non-module) IR variable into flat variables (one per element
/// for an arrayed variable) and push them.
pub fn flatten_var(
    var: &Variable,
    scope: &Scope<'_>,
    input: Option<&Expr>,
    expander: &mut Expander<'_>,
    out: &mut FlatModel,
    visible: bool,
) -> Result<()> {
    let ident = format!("{}{}", scope.prefix, var.ident);
    let name = format!("{}{}", scope.name_prefix, var.name);
    // A Vensim lookup is a function models call, not a value over time:
    // it has no series of its own (XMILE gives a standalone graphical
    // function the value of its table at TIME, so there it stays).
    let visible = visible
        && !(var.is_lookup() && expander.arrays.project.dialect == crate::ir::Dialect::Vensim);
    let resolve_flows = |names: &Vec<String>| -> Result<Vec<String>> {
        names.iter().map(|n| scope.resolve(n, &var.name)).collect()
    };
    let (inflows, outflows) = match &var.kind {
        VarKind::Stock {
            inflows, outflows, ..
        } => (resolve_flows(inflows)?, resolve_flows(outflows)?),
        _ => (Vec::new(), Vec::new()),
    };
    // Flows that are arrayed feed the stock element of the same subscript.
    let arrayed: HashSet<String> = inflows
        .iter()
        .chain(&outflows)
        .filter(|f| expander.arrays.var_dims.contains_key(*f))
        .cloned()
        .collect();
    // A flow arrayed over more dimensions than its stock (isee: an arrayed
    // flow into a stock that is not arrayed) feeds each stock element the
    // sum of its elements that agree with it on the stock's dimensions.
    // Per such flow: (positions of the stock's dimensions in the flow's,
    // the flow's element tuples).
    let mut wider: HashMap<String, (Vec<usize>, Vec<Vec<String>>)> = HashMap::default();
    if matches!(var.kind, VarKind::Stock { .. }) {
        for f in &arrayed {
            let Some(fdims) = expander.arrays.var_dims.get(f) else {
                continue;
            };
            let at: Option<Vec<usize>> = var
                .dims
                .iter()
                .map(|d| fdims.iter().position(|x| x == d))
                .collect();
            if let (Some(at), true) = (at, fdims.len() > var.dims.len()) {
                let tuples = expander.arrays.tuples(fdims, &name)?;
                wider.insert(
                    f.clone(),
                    (at, tuples.into_iter().map(|(c, _)| c).collect()),
                );
            }
        }
    }
    let kind_for = |elems: Option<&[String]>| -> FlatKind {
        let own: &[String] = elems.unwrap_or(&[]);
        let el = |f: &String| -> Vec<String> {
            if let Some((at, tuples)) = wider.get(f) {
                return tuples
                    .iter()
                    .filter(|t| at.iter().zip(own).all(|(&i, e)| t.get(i) == Some(e)))
                    .map(|t| element_ident(f, t))
                    .collect();
            }
            vec![match elems {
                Some(e) if arrayed.contains(f) => element_ident(f, e),
                _ => f.clone(),
            }]
        };
        match &var.kind {
            // A connected module input just mirrors its source, whatever
            // kind the module declared it as (Stella uses stock
            // placeholders for stock inputs).
            _ if input.is_some() => FlatKind::Aux,
            VarKind::Stock {
                non_negative,
                limits,
                ..
            } => FlatKind::Stock {
                inflows: inflows.iter().flat_map(el).collect(),
                outflows: outflows.iter().flat_map(el).collect(),
                non_negative: *non_negative,
                limits: *limits,
            },
            VarKind::Flow { non_negative } => FlatKind::Flow {
                non_negative: *non_negative,
            },
            _ => FlatKind::Aux,
        }
    };
    if var.dims.is_empty() {
        if let Equations::PerElement(_) | Equations::Lookups(_) = var.equations {
            return Err(Error::BadSubscript {
                variable: name,
                message: "per-element equations on a variable with no dimensions".into(),
            });
        }
        let mut kind = kind_for(None);
        if input.is_none() {
            add_net_rate(
                var,
                scope,
                &Vec::new(),
                &ident,
                &name,
                &mut kind,
                expander,
                out,
            )?;
        }
        let expr = match (input, &var.equations) {
            (Some(e), _) => Some(e.clone()),
            (None, Equations::Single(eq)) => {
                let resolved = scope.resolve_expr(&eq.expr, &var.name)?;
                let scalar = expander.arrays.scalarize(&resolved, &Vec::new(), &name)?;
                Some(expander.expand(&scalar, &ident, &name, out)?)
            }
            (None, _) if var.gf.is_some() => None,
            (None, _) => return Err(Error::MissingEquation { variable: name }),
        };
        return out.push(FlatVar {
            name,
            ident,
            kind,
            expr,
            gf: var.gf.clone(),
            visible,
        });
    }
    let tuples = expander.arrays.tuples(&var.dims, &name)?;
    if visible {
        let dims = var
            .dims
            .iter()
            .map(|d| {
                let shown = expander
                    .arrays
                    .project
                    .dimension(d)
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| d.clone());
                (shown, expander.arrays.element_names(d))
            })
            .collect();
        out.arrays.push(FlatArray {
            name: name.clone(),
            ident: ident.clone(),
            dims,
            elements: tuples
                .iter()
                .map(|(canon, _)| element_ident(&ident, canon))
                .collect(),
        });
    }
    // Per-element equations (or tables) by canonical key (the first one
    // for a key wins).
    let mut per_element: HashMap<Vec<String>, usize> = HashMap::default();
    let keys: Vec<&Vec<String>> = match &var.equations {
        Equations::PerElement(list) => list.iter().map(|(k, _, _)| k).collect(),
        Equations::Lookups(list) => list.iter().map(|(k, _)| k).collect(),
        _ => Vec::new(),
    };
    for (i, key) in keys.into_iter().enumerate() {
        let key = key.iter().map(|k| canonicalize(k)).collect();
        per_element.entry(key).or_insert(i);
    }
    for (canon, display) in tuples {
        let el_ident = element_ident(&ident, &canon);
        let el_name = format!("{name}[{}]", display.join(","));
        let ctx: ElementCtx = var
            .dims
            .iter()
            .cloned()
            .zip(canon.iter().cloned())
            .collect();
        let (eq, gf) = match &var.equations {
            Equations::Single(eq) => (Some(eq), var.gf.clone()),
            Equations::PerElement(list) => {
                let found = per_element.get(&canon).and_then(|&i| list.get(i));
                match found {
                    Some((_, eq, gf)) => (Some(eq), gf.clone().or_else(|| var.gf.clone())),
                    None => (None, None),
                }
            }
            Equations::Lookups(list) => {
                let found = per_element.get(&canon).and_then(|&i| list.get(i));
                (None, found.map(|(_, gf)| gf.clone()))
            }
            Equations::None => (None, var.gf.clone()),
        };
        let expr = match (eq, input) {
            (_, Some(e)) => Some(e.clone()),
            (Some(eq), None) => {
                let resolved = scope.resolve_expr(&eq.expr, &var.name)?;
                let scalar = expander.arrays.scalarize(&resolved, &ctx, &el_name)?;
                Some(expander.expand(&scalar, &el_ident, &el_name, out)?)
            }
            (None, None) if gf.is_some() => None,
            // An arrayed lookup may define tables for some elements only.
            (None, None) if matches!(var.equations, Equations::Lookups(_)) => continue,
            (None, None) => return Err(Error::MissingEquation { variable: el_name }),
        };
        let mut kind = kind_for(Some(&canon));
        if input.is_none() {
            add_net_rate(
                var, scope, &ctx, &el_ident, &el_name, &mut kind, expander, out,
            )?;
        }
        out.push(FlatVar {
            name: el_name,
            ident: el_ident,
            kind,
            expr,
            gf,
            visible,
        })?;
    }
    Ok(())
}

/// A stock's net-rate expression (Vensim `INTEG(rate, init)`) becomes a
/// hidden flow into that stock element.
#[allow(clippy::too_many_arguments)]
fn add_net_rate(
    var: &Variable,
    scope: &Scope<'_>,
    ctx: &ElementCtx,
    ident: &str,
    name: &str,
    kind: &mut FlatKind,
    expander: &mut Expander<'_>,
    out: &mut FlatModel,
) -> Result<()> {
    let (
        VarKind::Stock {
            net_rate: Some(rate),
            ..
        },
        FlatKind::Stock { inflows, .. },
    ) = (&var.kind, kind)
    else {
        return Ok(());
    };
    let flow_ident = format!("{ident}$net");
    let flow_name = format!("{name}$net");
    let resolved = scope.resolve_expr(&rate.expr, &var.name)?;
    let scalar = expander.arrays.scalarize(&resolved, ctx, name)?;
    let expr = expander.expand(&scalar, &flow_ident, &flow_name, out)?;
    out.push(FlatVar {
        name: flow_name,
        ident: flow_ident.clone(),
        kind: FlatKind::Flow {
            non_negative: false,
        },
        expr: Some(expr),
        gf: None,
        visible: false,
    })?;
    inflows.push(flow_ident);
    Ok(())
}
