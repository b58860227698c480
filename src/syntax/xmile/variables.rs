//! Reading `<variables>`: stocks, flows, auxes, modules, graphical functions
//! and arrayed equations.

use roxmltree::{Document, Node};

use crate::error::{Error, Result};
use crate::ir::{
    Equation, Equations, GfKind, GraphicalFunction, ModuleConnection, VarKind, Variable,
};
use crate::syntax::ident::canonicalize;
use crate::syntax::parse_equation;
use crate::syntax::xmile::child;

/// Global `<behavior>` defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct Defaults {
    pub stock_non_negative: bool,
    pub flow_non_negative: bool,
}

pub struct Reader<'a, 'i> {
    pub doc: &'a Document<'i>,
    pub warnings: Vec<String>,
    /// The project's dimensions (read before any model).
    pub dimensions: Vec<crate::ir::Dimension>,
}

/// `<non_negative/>` is on; `<non_negative>false</non_negative>` is off.
pub fn flag(n: Node<'_, '_>) -> bool {
    !n.text()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("false"))
}

/// A display name: XMILE escapes newlines in names as `\n`.
fn display_name(raw: &str) -> String {
    let s = raw.replace("\\n", " ").replace('\n', " ");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn elements<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

impl<'a, 'i> Reader<'a, 'i> {
    pub fn warn(&mut self, element: &str) {
        let msg = format!("ignored unknown element <{element}>");
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    fn line(&self, n: Node<'_, '_>) -> u32 {
        self.doc.text_pos_at(n.range().start).row
    }

    /// Parse an `<eqn>` element; `None` when it is empty.
    pub fn equation(&self, variable: &str, n: Node<'_, '_>) -> Result<Option<Equation>> {
        let text = n.text().unwrap_or("").trim().to_string();
        // Empty, or only a `{comment}` (Stella's placeholder for module
        // inputs that are not hooked up): no equation.
        if crate::syntax::lexer::lex(&text).is_ok_and(|t| t.is_empty()) {
            return Ok(None);
        }
        let expr = parse_equation(&text).map_err(|e| Error::EquationSyntax {
            variable: variable.to_string(),
            message: e.message,
            offset: e.offset,
            line: Some(self.line(n)),
        })?;
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
        Ok(Some(Variable {
            name,
            ident,
            kind,
            equations,
            units: text_of("units"),
            doc: text_of("doc"),
            dims,
            gf,
            line: Some(self.line(n)),
        }))
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

impl Reader<'_, '_> {
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
    r: &mut Reader<'_, '_>,
    n: Node<'_, '_>,
    defaults: Defaults,
) -> Result<Vec<Variable>> {
    let mut out: Vec<Variable> = Vec::new();
    for c in n.children().filter(Node::is_element) {
        if let Some(v) = r.variable(c, defaults)? {
            if out.iter().any(|o| o.ident == v.ident) {
                return Err(Error::DuplicateVariable {
                    model: String::new(),
                    variable: v.name,
                });
            }
            out.push(v);
        }
    }
    Ok(out)
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
