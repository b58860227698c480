//! Reading `<variables>`: stocks, flows, auxes, modules, graphical functions
//! and arrayed equations.

use roxmltree::Node;

use super::conveyor::{convey, conveyor_of, leak_of, Belt, Leak};
use super::outflow_caps::limit_outflows;
use crate::error::{Error, Result};
use crate::ir::{
    Equation, Equations, GfKind, GraphicalFunction, ModuleConnection, VarKind, Variable,
};
use crate::syntax::ident::canonicalize;
use crate::syntax::mdl::external::{DataFiles, ExtCall, ExtKind, Interp, Resolved};
use crate::syntax::parse_equation;
use crate::syntax::xmile::{child, xmutil};

/// Global `<behavior>` defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct Defaults {
    pub stock_non_negative: bool,
    pub flow_non_negative: bool,
}

pub struct Reader {
    /// Byte offset where each line of the document starts.
    pub line_starts: Vec<usize>,
    pub warnings: std::cell::RefCell<Vec<String>>,
    /// The project's dimensions (read before any model).
    pub dimensions: Vec<crate::ir::Dimension>,
    /// Written by xmutil: Vensim conventions to undo (see [`super::xmutil`]).
    pub xmutil: bool,
    /// Data files beside the model (xmutil keeps Vensim's external data
    /// calls) and the run's data files, for its data-variable placeholders.
    pub data: DataFiles,
    /// Whether the run's data files were given.
    pub run_data: bool,
    /// Written by isee's Stella or iThink: their conventions apply (a
    /// non-negative stock cuts back its outflows, see [`limit_outflows`]).
    pub isee: bool,
}

/// `<non_negative/>` is on; `<non_negative>false</non_negative>` is off.
pub fn flag(n: Node<'_, '_>) -> bool {
    !n.text()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("false"))
}

/// A display name: XMILE escapes newlines in names as `\n`.
pub(super) fn display_name(raw: &str) -> String {
    let s = raw.replace("\\n", " ").replace('\n', " ");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn elements<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

impl Reader {
    pub fn warn(&mut self, element: &str) {
        self.note(format!("ignored unknown element <{element}>"));
    }

    /// Record a non-fatal problem once.
    pub fn note(&self, msg: String) {
        let mut w = self.warnings.borrow_mut();
        if !w.contains(&msg) {
            w.push(msg);
        }
    }

    /// 1-based line of a node, from the line-start offsets computed once
    /// (roxmltree's own lookup scans from the start of the text each time,
    /// which made import time quadratic in the number of variables).
    pub(crate) fn line(&self, n: Node<'_, '_>) -> u32 {
        let at = n.range().start;
        self.line_starts.partition_point(|&s| s <= at) as u32
    }

    /// Parse an `<eqn>` element; `None` when it is empty.
    pub fn equation(&self, variable: &str, n: Node<'_, '_>) -> Result<Option<Equation>> {
        let text = n.text().unwrap_or("").trim().to_string();
        let (parsed, calls) = if self.xmutil {
            xmutil::extract_calls(&text)
        } else {
            (text.clone(), Vec::new())
        };
        // Empty, or only a `{comment}` (Stella's placeholder for module
        // inputs that are not hooked up): no equation.
        if crate::syntax::lexer::lex(&parsed).is_ok_and(|t| t.is_empty()) {
            return Ok(None);
        }
        let mut expr = parse_equation(&parsed).map_err(|e| Error::EquationSyntax {
            variable: variable.to_string(),
            message: e.message,
            offset: e.offset,
            line: Some(self.line(n)),
        })?;
        if self.xmutil {
            let line = self.line(n);
            expr = xmutil::restore_calls(&expr, &calls, &mut |w| {
                self.note(format!("line {line}, '{variable}': {w}"))
            });
            expr = xmutil::restore_na(&expr);
        }
        Ok(Some(Equation { text, expr }))
    }

    fn variable(&mut self, n: Node<'_, '_>, defaults: Defaults) -> Result<Option<Variable>> {
        let tag = n.tag_name().name();
        let raw_name = n.attribute("name").unwrap_or("");
        let name = display_name(raw_name);
        let ident = canonicalize(raw_name);
        let names = |el: &'static str| -> Vec<String> {
            elements(n, el)
                .map(|c| canonicalize(c.text().unwrap_or("")))
                .collect()
        };
        let non_negative = |default: bool| child(n, "non_negative").map(flag).unwrap_or(default);
        let kind = match tag {
            "stock" => VarKind::Stock {
                inflows: names("inflow"),
                outflows: names("outflow"),
                non_negative: non_negative(defaults.stock_non_negative),
                limits: None,
                net_rate: None,
            },
            "flow" => VarKind::Flow {
                non_negative: non_negative(defaults.flow_non_negative),
            },
            "aux" | "gf" => VarKind::Aux,
            "module" => {
                let model = canonicalize(n.attribute("model").unwrap_or(raw_name));
                let prefix = format!("{ident}.");
                let connections = n
                    .children()
                    .filter(|c| c.is_element() && c.tag_name().name() == "connect")
                    .map(|c| {
                        let to = canonicalize(c.attribute("to").unwrap_or(""));
                        let to = to.strip_prefix(&prefix).map(str::to_string).unwrap_or(to);
                        let from = canonicalize(c.attribute("from").unwrap_or(""));
                        let from = from.strip_prefix('.').map(str::to_string).unwrap_or(from);
                        ModuleConnection { to, from }
                    })
                    .collect();
                VarKind::Module { model, connections }
            }
            "group" | "button" | "stacked_container" => return Ok(None),
            // Children of a pre-1.0 <model> that are not variables.
            "display" | "interface" | "views" | "sim_specs" | "variables" | "behavior"
            | "default_format" => return Ok(None),
            other => {
                self.warn(other);
                return Ok(None);
            }
        };
        let dims: Vec<String> = child(n, "dimensions")
            .map(|d| {
                elements(d, "dim")
                    .filter_map(|e| e.attribute("name"))
                    .map(canonicalize)
                    .collect()
            })
            .unwrap_or_default();
        let gf = match (tag, child(n, "gf")) {
            ("gf", _) => Some(read_gf(&name, n)?),
            // `<gf name="rising"/>`: a named graphical function's, filled in
            // by `named_gfs` once every variable is read.
            (_, Some(g)) if gf_reference(g).is_some() => None,
            (_, Some(g)) => Some(read_gf(&name, g)?),
            _ => None,
        };
        let per_element: Vec<Node> = elements(n, "element").collect();
        let eqns: Vec<Node> = elements(n, "eqn").collect();
        let list = eqns
            .first()
            .and_then(|e| literal_list(e.text().unwrap_or("")));
        let equations = if eqns.len() > 1 && !dims.is_empty() {
            self.positional_equations(&name, &dims, &eqns)?
        } else if let (Some(values), false) = (list, dims.is_empty()) {
            self.positional_values(&name, &dims, values)?
        } else if !per_element.is_empty() {
            let mut list = Vec::new();
            for el in per_element {
                let key: Vec<String> = el
                    .attribute("subscript")
                    .unwrap_or("")
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect();
                let label = format!("{name}[{}]", key.join(","));
                let eq = match child(el, "eqn") {
                    Some(e) => self.equation(&label, e)?,
                    None => None,
                };
                let egf = child(el, "gf").map(|g| read_gf(&label, g)).transpose()?;
                // An element without its own equation uses the variable's.
                let eq = eq.or(match child(n, "eqn") {
                    Some(e) => self.equation(&name, e)?,
                    None => None,
                });
                let eq = match eq {
                    Some(eq) => eq,
                    None if egf.is_some() || gf.is_some() => Equation {
                        text: "TIME".into(),
                        expr: crate::syntax::ast::Expr::Var("time".into(), Default::default()),
                    },
                    None => return Err(Error::MissingEquation { variable: label }),
                };
                list.push((key, eq, egf));
            }
            Equations::PerElement(list)
        } else {
            match (tag, child(n, "eqn")) {
                ("gf", _) | (_, None) => Equations::None,
                (_, Some(e)) => match self.equation(&name, e)? {
                    Some(eq) => Equations::Single(eq),
                    None => Equations::None,
                },
            }
        };
        let text_of = |el: &str| {
            child(n, el)
                .and_then(|c| c.text())
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        };
        let mut v = Variable {
            name,
            ident,
            kind,
            equations,
            units: text_of("units"),
            doc: text_of("doc"),
            dims,
            gf,
            line: Some(self.line(n)),
        };
        // `<init_eqn>` on a non-stock: the value while initializing
        // (Vensim's ACTIVE INITIAL, as xmutil writes it).
        if let (Some(init), false) = (
            child(n, "init_eqn"),
            matches!(v.kind, VarKind::Stock { .. }),
        ) {
            if let Some(init) = self.equation(&v.name, init)? {
                v.equations = with_initial(v.equations, &init);
            }
        }
        if self.xmutil {
            self.fill_data_variable(&mut v, text_of("eqn").as_deref())?;
            self.resolve_external(&mut v)?;
        }
        Ok(Some(v))
    }
}

/// Every equation as `ACTIVE INITIAL(equation, init)`.
fn with_initial(eqs: Equations, init: &Equation) -> Equations {
    let wrap = |eq: Equation| Equation {
        text: format!("{} (initially {})", eq.text, init.text),
        expr: crate::syntax::ast::Expr::Call(
            "active_initial".into(),
            vec![eq.expr, init.expr.clone()],
            Default::default(),
        ),
    };
    match eqs {
        Equations::Single(eq) => Equations::Single(wrap(eq)),
        Equations::PerElement(list) => Equations::PerElement(
            list.into_iter()
                .map(|(k, eq, gf)| (k, wrap(eq), gf))
                .collect(),
        ),
        other => other,
    }
}

/// `1, 2, 3` (or `1; 2; 3`): an arrayed constant written as a list, one
/// number per element in row-major order.
fn literal_list(text: &str) -> Option<Vec<f64>> {
    if !text.contains([',', ';']) {
        return None;
    }
    text.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<f64>().ok())
        .collect()
}

impl Reader {
    /// xmutil's stand-ins for a data variable with no equation (the whole
    /// variable or single elements; `eqn` is the variable's own `<eqn>`):
    /// their series from the run's data files when there are any, else the
    /// stand-ins stay (with a warning).
    fn fill_data_variable(&self, v: &mut Variable, eqn: Option<&str>) -> Result<()> {
        let whole = xmutil::is_data_placeholder(eqn, v.gf.as_ref());
        let keys: Vec<Vec<String>> = match &v.equations {
            Equations::PerElement(list) if !whole => list
                .iter()
                .filter(|(_, eq, gf)| xmutil::is_data_placeholder(Some(&eq.text), gf.as_ref()))
                .map(|(k, _, _)| k.clone())
                .collect(),
            _ if whole => self.element_keys(&v.name, &v.dims)?,
            _ => Vec::new(),
        };
        if keys.is_empty() {
            return Ok(());
        }
        if !self.run_data {
            self.note(format!(
                "'{}' is a Vensim data variable (xmutil's placeholder): give the run's data \
                 files to read its values",
                v.name
            ));
            return Ok(());
        }
        let (gfs, missing) = self
            .data
            .data_variable(&v.name, &keys, Interp::Interpolate)?;
        for m in missing {
            self.note(format!("no data for '{m}' in the data files: it is :NA:"));
        }
        let time = || Equation {
            text: "(data from the run's data files)".into(),
            expr: crate::syntax::ast::Expr::Var("time".into(), Default::default()),
        };
        if v.dims.is_empty() {
            v.equations = Equations::Single(time());
            v.gf = gfs.into_iter().next();
            return Ok(());
        }
        let mut filled: Vec<(Vec<String>, GraphicalFunction)> = keys.into_iter().zip(gfs).collect();
        match &mut v.equations {
            Equations::PerElement(list) if !whole => {
                for (k, eq, gf) in list.iter_mut() {
                    if let Some(i) = filled.iter().position(|(fk, _)| fk == k) {
                        *eq = time();
                        *gf = Some(filled.swap_remove(i).1);
                    }
                }
            }
            _ => {
                v.gf = None;
                v.equations = Equations::PerElement(
                    filled
                        .into_iter()
                        .map(|(k, g)| (k, time(), Some(g)))
                        .collect(),
                );
            }
        }
        Ok(())
    }

    /// Vensim external data calls xmutil kept as `0{GET_...(...)}`
    /// (the whole equation of the variable or of elements): read the data
    /// as the `.mdl` reader does. Elements sharing one call take its
    /// values in order over the elements they cover; a call that cannot be
    /// read stays `0`, with a warning.
    fn resolve_external(&self, v: &mut Variable) -> Result<()> {
        let call_of = |text: &str| {
            let (rest, calls) = xmutil::extract_calls(text.trim());
            match calls.as_slice() {
                [c] if rest.trim() == xmutil::placeholder(0) => {
                    crate::syntax::mdl::external_call(c)
                }
                _ => None,
            }
        };
        // (element keys, call): one group per distinct call.
        let mut groups: Vec<(Vec<Vec<String>>, ExtCall)> = Vec::new();
        match &v.equations {
            Equations::Single(eq) => {
                if let Some(c) = call_of(&eq.text) {
                    groups.push((self.element_keys(&v.name, &v.dims)?, c));
                }
            }
            Equations::PerElement(list) => {
                for (k, eq, _) in list {
                    let Some(c) = call_of(&eq.text) else { continue };
                    match groups.iter_mut().find(|(_, g)| g.text == c.text) {
                        Some((keys, _)) => keys.push(k.clone()),
                        None => groups.push((vec![k.clone()], c)),
                    }
                }
            }
            _ => {}
        }
        let mut numbers: Vec<(Vec<String>, f64)> = Vec::new();
        let mut tables: Vec<(Vec<String>, GraphicalFunction, ExtKind)> = Vec::new();
        for (keys, call) in groups {
            // The ranges the call covers: each position's distinct names.
            let mut ranges: Vec<Vec<String>> = vec![Vec::new(); keys.first().map_or(0, Vec::len)];
            for k in &keys {
                for (r, e) in ranges.iter_mut().zip(k) {
                    if !r.contains(e) {
                        r.push(e.clone());
                    }
                }
            }
            let shape: Vec<usize> = ranges.iter().map(Vec::len).collect();
            let position = |k: &Vec<String>| {
                k.iter().zip(&ranges).fold(0, |acc, (e, r)| {
                    acc * r.len() + r.iter().position(|x| x == e).unwrap_or(0)
                })
            };
            match self.data.resolve(&v.name, &call, &shape) {
                Ok(Resolved::Numbers(vals)) => {
                    for k in keys {
                        let x = vals.get(position(&k)).copied().unwrap_or(0.0);
                        numbers.push((k, x));
                    }
                }
                Ok(Resolved::Tables(gfs)) => {
                    for k in keys {
                        if let Some(g) = gfs.get(position(&k)) {
                            tables.push((k, g.clone(), call.kind));
                        }
                    }
                }
                Err(e) => self.note(format!(
                    "'{}': the Vensim call '{}' xmutil kept could not be read ({e}); it is 0",
                    v.name, call.text
                )),
            }
        }
        if numbers.is_empty() && tables.is_empty() {
            return Ok(());
        }
        let num = |x: f64| Equation {
            text: x.to_string(),
            expr: crate::syntax::ast::Expr::Num(x),
        };
        let time = || Equation {
            text: "(external data)".into(),
            expr: crate::syntax::ast::Expr::Var("time".into(), Default::default()),
        };
        let lookups = tables.iter().all(|(_, _, k)| *k == ExtKind::Lookups) && numbers.is_empty();
        if v.dims.is_empty() {
            match (numbers.pop(), tables.pop()) {
                (Some((_, x)), _) => v.equations = Equations::Single(num(x)),
                (None, Some((_, g, ExtKind::Lookups))) => {
                    v.equations = Equations::None;
                    v.gf = Some(g);
                }
                (None, Some((_, g, _))) => {
                    v.equations = Equations::Single(time());
                    v.gf = Some(g);
                }
                (None, None) => {}
            }
            return Ok(());
        }
        if lookups {
            v.gf = None;
            v.equations = Equations::Lookups(tables.into_iter().map(|(k, g, _)| (k, g)).collect());
            return Ok(());
        }
        // Everything else keeps its own equation; resolved elements replace theirs.
        let mut list: Vec<(Vec<String>, Equation, Option<GraphicalFunction>)> = match &v.equations {
            Equations::PerElement(list) => list.clone(),
            _ => Vec::new(),
        };
        for (k, x) in numbers {
            match list.iter_mut().find(|(lk, _, _)| *lk == k) {
                Some(entry) => *entry = (k, num(x), None),
                None => list.push((k, num(x), None)),
            }
        }
        for (k, g, _) in tables {
            match list.iter_mut().find(|(lk, _, _)| *lk == k) {
                Some(entry) => *entry = (k, time(), Some(g)),
                None => list.push((k, time(), Some(g))),
            }
        }
        v.gf = None;
        v.equations = Equations::PerElement(list);
        Ok(())
    }

    /// Element keys of `dims`, row-major (last dimension fastest).
    fn element_keys(&self, name: &str, dims: &[String]) -> Result<Vec<Vec<String>>> {
        let mut keys: Vec<Vec<String>> = vec![Vec::new()];
        for d in dims {
            let dim = self
                .dimensions
                .iter()
                .find(|x| &x.ident == d)
                .ok_or_else(|| Error::BadSubscript {
                    variable: name.to_string(),
                    message: format!("unknown dimension '{d}'"),
                })?;
            keys = keys
                .iter()
                .flat_map(|k| {
                    dim.elements.iter().map(move |e| {
                        let mut k = k.clone();
                        k.push(e.clone());
                        k
                    })
                })
                .collect();
        }
        Ok(keys)
    }

    fn positional_values(
        &self,
        name: &str,
        dims: &[String],
        values: Vec<f64>,
    ) -> Result<Equations> {
        let keys = self.element_keys(name, dims)?;
        if keys.len() != values.len() {
            return Err(Error::BadSubscript {
                variable: name.to_string(),
                message: format!("{} values for {} elements", values.len(), keys.len()),
            });
        }
        let list = keys
            .into_iter()
            .zip(values)
            .map(|(k, v)| {
                let eq = Equation {
                    text: v.to_string(),
                    expr: crate::syntax::ast::Expr::Num(v),
                };
                (k, eq, None)
            })
            .collect();
        Ok(Equations::PerElement(list))
    }

    /// Several `<eqn>` children on an arrayed variable: one per element, in
    /// row-major element order (some converters write arrays this way).
    fn positional_equations(
        &self,
        name: &str,
        dims: &[String],
        eqns: &[Node<'_, '_>],
    ) -> Result<Equations> {
        let keys = self.element_keys(name, dims)?;
        if keys.len() != eqns.len() {
            return Err(Error::BadSubscript {
                variable: name.to_string(),
                message: format!("{} equations for {} elements", eqns.len(), keys.len()),
            });
        }
        let mut list = Vec::new();
        for (key, e) in keys.into_iter().zip(eqns) {
            let label = format!("{name}[{}]", key.join(","));
            let eq = self.equation(&label, *e)?;
            let eq = eq.ok_or(Error::MissingEquation { variable: label })?;
            list.push((key, eq, None));
        }
        Ok(Equations::PerElement(list))
    }
}

/// Read the variables of a `<variables>` element, in document order.
pub fn read_variables(
    r: &mut Reader,
    n: Node<'_, '_>,
    defaults: Defaults,
) -> Result<Vec<Variable>> {
    let mut out: Vec<Variable> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut conveyors: Vec<(String, Belt)> = Vec::new();
    let mut leaks: std::collections::HashMap<String, Leak> = std::collections::HashMap::new();
    let mut spreads: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut multipliers: Vec<(String, f64)> = Vec::new();
    for c in n.children().filter(Node::is_element) {
        let tag = c.tag_name().name();
        if tag == "flow" {
            let name = canonicalize(c.attribute("name").unwrap_or(""));
            if c.attributes().any(|a| a.name() == "spreadflow") {
                spreads.insert(name.clone());
            }
            if let Some(leak) = leak_of(r, c)? {
                leaks.insert(name.clone(), leak);
            }
            if let Some(m) = child(c, "multiplier") {
                let text = m.text().unwrap_or("").trim();
                let value: f64 = text.parse().map_err(|_| Error::EquationSyntax {
                    variable: display_name(c.attribute("name").unwrap_or("")),
                    message: format!("<multiplier> is not a number: '{text}'"),
                    offset: 0,
                    line: Some(r.line(m)),
                })?;
                multipliers.push((name, value));
            }
        }
        if tag == "stock" {
            if let Some(belt) = conveyor_of(r, c)? {
                conveyors.push((canonicalize(c.attribute("name").unwrap_or("")), belt));
            }
        }
        if let Some(v) = r.variable(c, defaults)? {
            // Vensim's own XMILE export writes the built-in clock as a
            // variable (`Time = INTEG(1, INITIAL TIME)`); TIME is built in.
            if r.xmutil && v.ident == "time" {
                continue;
            }
            if !seen.insert(v.ident.clone()) {
                return Err(Error::DuplicateVariable {
                    model: String::new(),
                    variable: v.name,
                });
            }
            out.push(v);
        }
    }
    if !out.iter().any(|v| v.ident == "self") {
        out.iter_mut().for_each(resolve_self);
    }
    module_outputs(&mut out);
    for (stock, belt) in &conveyors {
        convey(&mut out, stock, belt, &leaks, &spreads)?;
    }
    let belts: Vec<&str> = conveyors.iter().map(|(s, _)| s.as_str()).collect();
    if r.isee {
        limit_outflows(&mut out, &belts)?;
    }
    convert_units(&mut out, &multipliers, &belts, r.isee)?;
    named_gfs(r, n, &mut out)?;
    Ok(out)
}

/// The name a `<gf name="..."/>` refers to: a named graphical function
/// used by reference (no points of its own).
fn gf_reference<'a>(g: Node<'a, '_>) -> Option<&'a str> {
    let name = g.attribute("name")?;
    (child(g, "ypts").is_none() && child(g, "xpts").is_none()).then_some(name)
}

/// XMILE 1.0 §4.1.3, named graphical functions, stand-alone or embedded in
/// a flow or aux: a variable may use one by reference (`<gf
/// name="rising"/>`), and an embedded one may be called by its own name
/// like a function (`inner_gf(2.5)`) as a stand-alone one is.
fn named_gfs(r: &Reader, n: Node<'_, '_>, out: &mut Vec<Variable>) -> Result<()> {
    let mut embedded: Vec<(String, Node<'_, '_>)> = Vec::new();
    let mut references: Vec<(String, String)> = Vec::new();
    for c in n.children().filter(Node::is_element) {
        let Some(g) = child(c, "gf") else { continue };
        let var = canonicalize(c.attribute("name").unwrap_or(""));
        match (gf_reference(g), g.attribute("name")) {
            (Some(target), _) => references.push((var, canonicalize(target))),
            (None, Some(own)) => embedded.push((own.to_string(), g)),
            _ => {}
        }
    }
    for (k, (own, g)) in embedded.iter().enumerate() {
        let ident = canonicalize(own);
        if embedded[..k].iter().any(|(o, _)| canonicalize(o) == ident) {
            return Err(Error::BadGraphicalFunction {
                variable: display_name(own),
                message: "two graphical functions have this name".into(),
            });
        }
        if !out.iter().any(|v| v.ident == ident) {
            out.push(Variable {
                name: display_name(own),
                ident,
                kind: VarKind::Aux,
                equations: Equations::None,
                units: None,
                doc: None,
                dims: Vec::new(),
                gf: Some(read_gf(own, *g)?),
                line: Some(r.line(*g)),
            });
        }
    }
    for (var, target) in references {
        let gf = out
            .iter()
            .find(|v| v.ident == target && v.gf.is_some())
            .and_then(|v| v.gf.clone())
            .ok_or_else(|| Error::BadGraphicalFunction {
                variable: var.clone(),
                message: format!("no graphical function named '{target}'"),
            })?;
        if let Some(v) = out.iter_mut().find(|v| v.ident == var) {
            v.gf = Some(gf);
        }
    }
    Ok(())
}

/// XMILE 1.0 §4.3, a flow's `<multiplier>`: "if the unit conversion
/// multiplier is 3 and the flow's value is 4, 4 units of material will be
/// taken from the upstream stock and 3*4 = 12 units of material will be
/// given to the downstream stock". The flow keeps its value (what leaves
/// upstream); each stock it fills takes it through its net rate, times the
/// multiplier, instead of as a named inflow. Where that would not hold
/// (the stock is a conveyor, whose belt carries the flow as it is; an isee
/// non-negative stock, whose outflow caps count its inflows as named; a
/// flow arrayed unlike the stock, which a named inflow would sum) the file
/// is refused, naming the flow, rather than run with the wrong amount.
fn convert_units(
    vars: &mut [Variable],
    multipliers: &[(String, f64)],
    conveyors: &[&str],
    isee: bool,
) -> Result<()> {
    use crate::syntax::ast::{bin, var, BinaryOp, Expr};
    let dims_of: std::collections::HashMap<String, Vec<String>> = vars
        .iter()
        .map(|v| (v.ident.clone(), v.dims.clone()))
        .collect();
    for v in vars.iter_mut() {
        let VarKind::Stock {
            inflows,
            outflows,
            net_rate,
            non_negative,
            ..
        } = &mut v.kind
        else {
            continue;
        };
        for (flow, m) in multipliers {
            let Some(at) = inflows.iter().position(|f| f == flow) else {
                continue;
            };
            let why = if conveyors.contains(&v.ident.as_str()) {
                Some("it fills a conveyor")
            } else if isee && *non_negative && !outflows.is_empty() {
                Some("it fills a non-negative stock with outflows")
            } else if dims_of.get(flow) != Some(&v.dims) {
                Some("it is arrayed unlike the stock it fills")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Error::Unsupported {
                    variable: flow.clone(),
                    construct: format!("a flow <multiplier> where {why}"),
                });
            }
            inflows.remove(at);
            let part = bin(BinaryOp::Mul, var(flow), Expr::Num(*m));
            let (text, expr) = match net_rate.take() {
                Some(eq) => (
                    format!("{} + {flow} * {m}", eq.text),
                    bin(BinaryOp::Add, eq.expr, part),
                ),
                None => (format!("{flow} * {m}"), part),
            };
            *net_rate = Some(Box::new(Equation { text, expr }));
        }
    }
    Ok(())
}

/// isee's module outputs wired into the model holding the module: a
/// `<connect to=".x" from="module.y"/>` inside `<module name="module">`
/// makes this model's `x` (an `access="input"` placeholder without an
/// equation) take the module's output `y`. Read as `x = module.y`; without
/// this the placeholder had no equation (or, given one, the wire was
/// silently dropped).
fn module_outputs(vars: &mut [Variable]) {
    let mut wires: Vec<(String, String)> = Vec::new();
    for v in vars.iter_mut() {
        if let VarKind::Module { connections, .. } = &mut v.kind {
            let prefix = format!("{}.", v.ident);
            connections.retain(|c| match c.to.strip_prefix('.') {
                Some(to) if c.from.starts_with(&prefix) && !to.is_empty() => {
                    wires.push((to.to_string(), c.from.clone()));
                    false
                }
                _ => true,
            });
        }
    }
    for (to, from) in wires {
        if let Some(v) = vars
            .iter_mut()
            .find(|v| v.ident == to && !matches!(v.kind, VarKind::Module { .. }))
        {
            v.equations = Equations::Single(Equation {
                text: from.clone(),
                expr: crate::syntax::ast::Expr::Var(from, Default::default()),
            });
        }
    }
}

/// `SELF` in a variable's equation is the variable itself (Stella writes
/// `PREVIOUS(SELF, init)`; xmutil writes Vensim's SAMPLE IF TRUE that way),
/// the element being computed for an arrayed one.
fn resolve_self(v: &mut Variable) {
    use crate::syntax::ast::{Expr, IndexExpr};
    let ident = v.ident.clone();
    let own = |idx: Vec<IndexExpr>| {
        if idx.is_empty() {
            Expr::Var(ident.clone(), Default::default())
        } else {
            Expr::Subscript(ident.clone(), idx, Default::default())
        }
    };
    let var = |n: &str| IndexExpr::Expr(Expr::Var(n.to_string(), Default::default()));
    let is_self = |e: &Expr| matches!(e, Expr::Var(n, _) if n == "self");
    let replace = |e: &Expr, me: &Expr| {
        e.rewrite(&|x| match x {
            // `SIZE(SELF)`: the number of elements of the whole variable
            // (bptk_py's Stella test models expect 4 over four countries),
            // not of the element being computed.
            Expr::Call(f, args, span) if f == "size" && args.len() == 1 && is_self(&args[0]) => {
                Some(Expr::Call(
                    f.clone(),
                    vec![Expr::Var(ident.clone(), Default::default())],
                    *span,
                ))
            }
            Expr::Var(n, _) if n == "self" => Some(me.clone()),
            // `SELF[*, d]`: a slice of the variable itself.
            Expr::Subscript(n, idx, span) if n == "self" => {
                Some(Expr::Subscript(ident.clone(), idx.clone(), *span))
            }
            _ => None,
        })
    };
    match &mut v.equations {
        Equations::Single(eq) => {
            let me = own(v.dims.iter().map(|d| var(d)).collect());
            // (dims are read before the equations are rewritten)
            eq.expr = replace(&eq.expr, &me);
        }
        Equations::PerElement(list) => {
            for (key, eq, _) in list.iter_mut() {
                let me = own(key.iter().map(|k| var(&canonicalize(k))).collect());
                eq.expr = replace(&eq.expr, &me);
            }
        }
        Equations::None | Equations::Lookups(_) => {}
    }
}

fn points(variable: &str, n: Node<'_, '_>) -> Result<Vec<f64>> {
    let sep = n.attribute("sep").unwrap_or(",");
    let text = n.text().unwrap_or("");
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f64>().map_err(|_| Error::BadGraphicalFunction {
                variable: variable.to_string(),
                message: format!("'{s}' is not a number"),
            })
        })
        .collect()
}

/// Read a `<gf>`: y points with either explicit x points or an x scale.
pub fn read_gf(variable: &str, n: Node<'_, '_>) -> Result<GraphicalFunction> {
    let bad = |message: String| Error::BadGraphicalFunction {
        variable: variable.to_string(),
        message,
    };
    let kind = match n.attribute("type").map(|t| t.trim().to_ascii_lowercase()) {
        None => GfKind::Continuous,
        Some(t) => match t.as_str() {
            "continuous" => GfKind::Continuous,
            "extrapolate" => GfKind::Extrapolate,
            "discrete" => GfKind::Discrete,
            other => return Err(bad(format!("unknown type '{other}'"))),
        },
    };
    let ys = points(
        variable,
        child(n, "ypts").ok_or_else(|| bad("missing <ypts>".into()))?,
    )?;
    if ys.is_empty() {
        return Err(bad("no points".into()));
    }
    let xs = match (child(n, "xpts"), child(n, "xscale")) {
        (Some(x), _) => points(variable, x)?,
        (None, Some(s)) => {
            let attr = |a: &str| -> Result<f64> {
                s.attribute(a)
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| bad(format!("<xscale> needs a numeric '{a}'")))
            };
            let (min, max) = (attr("min")?, attr("max")?);
            let n = ys.len();
            if n == 1 {
                vec![min]
            } else {
                (0..n)
                    .map(|i| min + (max - min) * i as f64 / (n - 1) as f64)
                    .collect()
            }
        }
        (None, None) => return Err(bad("needs <xpts> or <xscale>".into())),
    };
    if xs.len() != ys.len() {
        return Err(bad(format!(
            "{} x points but {} y points",
            xs.len(),
            ys.len()
        )));
    }
    if let Some(i) = xs.windows(2).position(|w| w[1] < w[0]) {
        return Err(bad(format!(
            "x points must ascend (x={} after x={})",
            xs[i + 1],
            xs[i]
        )));
    }
    Ok(GraphicalFunction { kind, xs, ys })
}
