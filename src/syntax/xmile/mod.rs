//! XMILE reader: XMILE 1.0 (and pre-1.0 isee) XML → [`crate::ir::Project`].
//!
//! Elements are matched by local name so the 1.0 namespace, the older isee
//! namespace and un-namespaced files all read the same. Vendor extensions
//! (`isee:*`), views and styles are skipped. The XML parser (roxmltree) does
//! not expand external entities and limits nesting, so hostile files cannot
//! read local files or exhaust the stack. Every equation is parsed here;
//! the first syntax error is returned with the variable and line.

mod conveyor;
mod import;
mod outflow_caps;
mod variables;
pub mod xmutil;

use roxmltree::{Document, Node, ParsingOptions};

use crate::error::{Error, Pos, Result};
use crate::ir::{
    DimMapping, Dimension, Equation, Equations, Macro, Method, Model, Project, SimSpecs,
    MAX_ELEMENTS,
};
use crate::syntax::ast::Expr;
use crate::syntax::ident::canonicalize;
use crate::syntax::mdl::external::DataFiles;
use variables::{read_variables, Defaults, Reader};

/// Parse XMILE text into a project.
pub fn parse_xmile(text: &str) -> Result<Project> {
    parse_xmile_with(text, None, None)
}

/// Parse XMILE text; `base` is the model's folder and `data_files` the
/// run's Vensim data files (relative to `base`), which feed the data
/// variables of a Vensim model exported by xmutil (see [`xmutil`]).
pub fn parse_xmile_with(
    text: &str,
    base: Option<&std::path::Path>,
    data_files: Option<&[String]>,
) -> Result<Project> {
    let opts = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let declared = declare_missing_prefixes(text);
    let doc = Document::parse_with_options(&declared, opts).map_err(|e| {
        let p = e.pos();
        Error::MalformedXml {
            message: e.to_string(),
            pos: Pos {
                line: p.row,
                col: p.col,
            },
        }
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "xmile" {
        return Err(Error::NotXmile {
            message: format!(
                "root element is <{}>, expected <xmile>",
                root.tag_name().name()
            ),
        });
    }
    let xmutil = xmutil::is_xmutil(root);
    let line_starts = std::iter::once(0)
        .chain(declared.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut r = Reader {
        line_starts,
        warnings: Default::default(),
        dimensions: Vec::new(),
        xmutil,
        data: DataFiles::new(base, Vec::new(), data_files.unwrap_or_default().to_vec()),
        run_data: data_files.is_some(),
        isee: is_isee(root),
    };
    let mut project = Project {
        name: child(root, "header")
            .and_then(|h| child(h, "name"))
            .and_then(|n| n.text())
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        ..Project::default()
    };
    // XMILE 1.0 §2.3: the file's <sim_specs>, or the root model's own when
    // the file has none (the root model picked as `Project::main_model`
    // picks it).
    let models: Vec<Node<'_, '_>> = root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "model")
        .collect();
    let root_model = models
        .iter()
        .find(|m| Model::names_main(&canonicalize(m.attribute("name").unwrap_or(""))))
        .or(models.first())
        .copied();
    let specs = child(root, "sim_specs")
        .or_else(|| root_model.and_then(|m| child(m, "sim_specs")))
        .ok_or_else(|| Error::BadSimSpecs {
            message: "missing <sim_specs>".into(),
        })?;
    project.sim_specs = read_sim_specs(specs)?;
    project.invalid_index_nan = child(root, "header")
        .and_then(|h| child(h, "options"))
        .and_then(|o| child(o, "uses_arrays"))
        .and_then(|u| u.attribute("invalid_index_value"))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("nan"));
    if let Some(dims) = child(root, "dimensions") {
        project.dimensions = read_dimensions(dims)?;
    }
    r.dimensions = project.dimensions.clone();
    let defaults = read_behavior(root, Defaults::default());
    for node in root.children().filter(Node::is_element) {
        match node.tag_name().name() {
            "model" => {
                let name = node.attribute("name").unwrap_or("").to_string();
                let ident = canonicalize(&name);
                let sim_specs = child(node, "sim_specs").map(read_sim_specs).transpose()?;
                // Pre-1.0 isee files put the variables straight under <model>.
                let vars = child(node, "variables").unwrap_or(node);
                // A model's own <behavior> overrides the file's (XMILE 1.0
                // §2.6: behaviors apply to the whole file, a model, or one
                // entity, the nearest winning).
                let defaults = read_behavior(node, defaults);
                let variables = read_variables(&mut r, vars, defaults)?;
                if project.models.iter().any(|m| m.ident == ident) {
                    return Err(Error::NotXmile {
                        message: format!("two models are named '{name}'"),
                    });
                }
                project.models.push(Model {
                    name,
                    ident,
                    variables,
                    sim_specs,
                });
            }
            "macro" => project.macros.push(read_macro(&mut r, node, defaults)?),
            "header" | "sim_specs" | "dimensions" | "behavior" | "prefs" | "style" | "data"
            | "model_units" => {}
            other => r.warn(other),
        }
    }
    if project.models.is_empty() {
        return Err(Error::NotXmile {
            message: "the document has no <model>".into(),
        });
    }
    // Keep the main (unnamed) model first.
    if let Some(i) = project.models.iter().position(|m| m.ident.is_empty()) {
        let main = project.models.remove(i);
        project.models.insert(0, main);
    }
    if xmutil {
        // Vensim equations: builtins keep their Vensim meaning.
        project.dialect = crate::ir::Dialect::Vensim;
    }
    project.warnings = r.warnings.into_inner();
    // isee data imports replace variables' values (exports are the tool's
    // own business).
    if let Some(data) = child(root, "data") {
        import::apply_imports(data, base, &mut project)?;
    }
    Ok(project)
}

/// Vendor prefixes that files use without declaring them (Stella writes
/// `isee:` attributes in documents that never bind the prefix).
const VENDOR_PREFIXES: &[(&str, &str)] = &[
    ("isee", "http://iseesystems.com/XMILE"),
    ("simlin", "https://simlin.com/XMILE/v1.0"),
];

/// Written by isee systems' Stella or iThink.
fn is_isee(root: Node<'_, '_>) -> bool {
    header_mentions(root, &["isee", "stella", "ithink"])
}

/// The header's vendor or product names one of `words` (lowercase).
pub(crate) fn header_mentions(root: Node<'_, '_>, words: &[&str]) -> bool {
    let Some(header) = child(root, "header") else {
        return false;
    };
    ["vendor", "product"].iter().any(|tag| {
        child(header, tag).and_then(|n| n.text()).is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            words.iter().any(|w| t.contains(w))
        })
    })
}

/// Bind any vendor prefix the document uses but does not declare, on the
/// root `<xmile` tag, so a strict namespace-aware parser accepts it. Lines
/// and columns of everything after the root tag's first line are unchanged.
fn declare_missing_prefixes(text: &str) -> std::borrow::Cow<'_, str> {
    let missing: Vec<&(&str, &str)> = VENDOR_PREFIXES
        .iter()
        .filter(|(p, _)| text.contains(&format!("{p}:")) && !text.contains(&format!("xmlns:{p}")))
        .collect();
    let Some(at) = text.find("<xmile").map(|i| i + "<xmile".len()) else {
        return std::borrow::Cow::Borrowed(text);
    };
    if missing.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let decls: String = missing
        .iter()
        .map(|(p, ns)| format!(" xmlns:{p}=\"{ns}\""))
        .collect();
    std::borrow::Cow::Owned(format!("{}{}{}", &text[..at], decls, &text[at..]))
}

/// The first child element with this local name.
pub(crate) fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn number(n: Node<'_, '_>, what: &str) -> Result<f64> {
    let t = n.text().unwrap_or("").trim();
    // Vensim's own XMILE export names the variable that holds the setting:
    // `<dt> TIME_STEP=0.125</dt>`.
    let value = match t.split_once('=') {
        Some((name, v)) if !name.trim().is_empty() => v.trim(),
        _ => t,
    };
    value.parse().map_err(|_| Error::BadSimSpecs {
        message: format!("<{what}> is not a number: '{t}'"),
    })
}

fn read_sim_specs(n: Node<'_, '_>) -> Result<SimSpecs> {
    let req = |name: &str| -> Result<f64> {
        let c = child(n, name).ok_or_else(|| Error::BadSimSpecs {
            message: format!("missing <{name}>"),
        })?;
        number(c, name)
    };
    let start = req("start")?;
    let stop = req("stop")?;
    // XMILE 1.0 §3.4: <dt> is optional, "default: 1".
    let mut dt = 1.0;
    if let Some(dt_node) = child(n, "dt") {
        let written = number(dt_node, "dt")?;
        let reciprocal = dt_node
            .attribute("reciprocal")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        dt = if reciprocal { 1.0 / written } else { written };
        if !(dt > 0.0 && dt.is_finite()) {
            // Name the number as the file writes it: `reciprocal="true"`
            // with 0 is a dt of 1/0, not the "inf" it computes to.
            let shown = if reciprocal {
                format!("1/{written} (reciprocal=\"true\")")
            } else {
                written.to_string()
            };
            return Err(Error::BadSimSpecs {
                message: format!("dt must be a positive number, got {shown}"),
            });
        }
    }
    if !(start.is_finite() && stop.is_finite()) || stop < start {
        return Err(Error::BadSimSpecs {
            message: format!("start ({start}) and stop ({stop}) must be finite with stop >= start"),
        });
    }
    let save_step = match child(n, "savestep").or_else(|| child(n, "save_step")) {
        Some(s) => Some(number(s, "savestep")?),
        None => n
            .attributes()
            .find(|a| a.name() == "save_step" || a.name() == "save_interval")
            .and_then(|a| a.value().trim().parse().ok()),
    };
    // XMILE 1.0 §3.4.1: a comma-separated list of methods names fallbacks
    // for tools without the first ("gear, rk4"): the first one we run.
    let method = match n.attribute("method") {
        None => Method::Euler,
        Some(m) => m
            .split(',')
            .find_map(Method::parse)
            .ok_or_else(|| Error::BadSimSpecs {
                message: format!("unknown integration method '{m}'"),
            })?,
    };
    Ok(SimSpecs {
        start,
        stop,
        dt,
        save_step,
        method,
        time_units: n.attribute("time_units").map(str::to_string),
        dynamic: Default::default(),
    })
}

fn read_dimensions(n: Node<'_, '_>) -> Result<Vec<Dimension>> {
    let mut out = Vec::new();
    for d in n
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "dim")
    {
        let name = d.attribute("name").unwrap_or("").to_string();
        let elems: Vec<String> = d
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "elem")
            .filter_map(|e| e.attribute("name"))
            .map(|s| s.trim().to_string())
            .collect();
        // Vensim's own XMILE export lists the model's sketch groups
        // (`.Control`) as empty dimensions: nothing is arrayed over them.
        if elems.is_empty() && d.attribute("size").is_none() && name.starts_with('.') {
            continue;
        }
        let (elements, indexed) = if elems.is_empty() {
            let size: usize = d
                .attribute("size")
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| Error::NotXmile {
                    message: format!("dimension '{name}' has neither elements nor a size"),
                })?;
            if size > MAX_ELEMENTS {
                return Err(Error::NotXmile {
                    message: format!(
                        "dimension '{name}' has {size} elements; at most {MAX_ELEMENTS} are supported"
                    ),
                });
            }
            ((1..=size).map(|i| i.to_string()).collect(), true)
        } else {
            (elems, false)
        };
        // isee's `<isee:maps_to>`: Vensim's positional subscript mapping.
        let maps_to = d
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "maps_to")
            .filter_map(|c| c.text())
            .map(|t| DimMapping::positional(canonicalize(t.trim())))
            .collect();
        out.push(Dimension {
            ident: canonicalize(&name),
            name,
            elements,
            indexed,
            maps_to,
        });
    }
    Ok(out)
}

/// `<behavior>` under `node` (the file or a model): non-negative defaults
/// for stocks and flows, over the `outer` ones (what it does not set stays).
fn read_behavior(node: Node<'_, '_>, outer: Defaults) -> Defaults {
    let mut d = outer;
    if let Some(b) = child(node, "behavior") {
        if let Some(nn) = child(b, "non_negative") {
            let on = variables::flag(nn);
            d.stock_non_negative = on;
            d.flow_non_negative = on;
        }
        if let Some(s) = child(b, "stock").and_then(|s| child(s, "non_negative")) {
            d.stock_non_negative = variables::flag(s);
        }
        if let Some(f) = child(b, "flow").and_then(|f| child(f, "non_negative")) {
            d.flow_non_negative = variables::flag(f);
        }
    }
    d
}

fn read_macro(r: &mut Reader, n: Node<'_, '_>, defaults: Defaults) -> Result<Macro> {
    let name = n.attribute("name").unwrap_or("").to_string();
    let parms: Vec<Node<'_, '_>> = n
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "parm")
        .collect();
    let params: Vec<String> = parms
        .iter()
        .map(|p| canonicalize(p.text().unwrap_or("")))
        .collect();
    let mut variables = match child(n, "variables") {
        Some(v) => read_variables(r, v, defaults)?,
        None => Vec::new(),
    };
    // Stella also declares each parameter inside the macro, as an input
    // placeholder whose equation stands for a value when a call leaves the
    // parameter out; the parameter is that variable.
    let mut placeholder: std::collections::HashMap<String, Option<Expr>> = Default::default();
    variables.retain(|v| {
        if params.contains(&v.ident) {
            let eq = match &v.equations {
                Equations::Single(eq) => Some(eq.expr.clone()),
                _ => None,
            };
            placeholder.insert(v.ident.clone(), eq);
            false
        } else {
            true
        }
    });
    let mut param_defaults = Vec::with_capacity(params.len());
    for (p, ident) in parms.iter().zip(&params) {
        let given =
            match p.attribute("default") {
                Some(text) => Some(crate::syntax::parse_equation(text).map_err(|e| {
                    Error::EquationSyntax {
                        variable: format!("{name}'s parameter {ident}"),
                        message: e.message,
                        offset: e.offset,
                        line: Some(r.line(*p)),
                    }
                })?),
                None => placeholder.remove(ident).flatten(),
            };
        param_defaults.push(given);
    }
    // Only trailing parameters can be left out of a call.
    let mut trailing = true;
    for d in param_defaults.iter_mut().rev() {
        trailing &= d.is_some();
        if !trailing {
            *d = None;
        }
    }
    if param_defaults.iter().all(Option::is_none) {
        param_defaults.clear();
    }
    let eqn_node = child(n, "eqn").ok_or_else(|| Error::MissingEquation {
        variable: name.clone(),
    })?;
    // The result may be written as a variable's display name (`early out`),
    // which is not an expression.
    let raw = eqn_node.text().unwrap_or("").trim();
    let named = canonicalize(raw);
    let eqn = if !raw.is_empty() && raw.contains(' ') && variables.iter().any(|v| v.ident == named)
    {
        Equation {
            text: raw.to_string(),
            expr: Expr::Var(named, Default::default()),
        }
    } else {
        r.equation(&name, eqn_node)?
            .ok_or_else(|| Error::MissingEquation {
                variable: name.clone(),
            })?
    };
    Ok(Macro {
        ident: canonicalize(&name),
        name,
        params,
        defaults: param_defaults,
        eqn,
        variables,
    })
}

#[cfg(test)]
mod tests;
