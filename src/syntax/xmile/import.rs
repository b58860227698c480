//! isee data imports: `<data><import resource="r../Parms.csv"/></data>`.
//!
//! isee's tools read such a file at each run and put its values in place of
//! the named variables' own ("Creating Import and Export Files", isee help):
//! the file holds variable names as column headings (or row headings) with
//! the values beneath (beside) each, a constant's one value, an array's
//! elements in order, or a graphical function's y values from the smallest
//! x; a first column headed `Time` (or left blank) makes the values a
//! series over time. A stock's value is its initial value.
//!
//! The resource is relative to the model file (`r../x.csv` is `x.csv` beside
//! it). A file that is not there leaves the model's own values, as isee's
//! tools do with a link they cannot read, and says so in the warnings; a
//! file that is there but cannot be read, or a name given the wrong number
//! of values, is an error naming the file.

use std::path::{Path, PathBuf};

use roxmltree::Node;

use crate::error::{Error, Result};
use crate::ir::{Equation, Equations, GfKind, GraphicalFunction, Project, Variable};
use crate::syntax::ast::Expr;
use crate::syntax::ident::canonicalize;
use crate::syntax::mdl::external::{read_book, Grid};

/// Where a resource lies: isee writes paths relative to the model file
/// itself, so `../` starts from the model's folder.
fn resolve(resource: &str, base: &Path) -> PathBuf {
    let rel = resource.strip_prefix('r').unwrap_or(resource);
    let rel = rel.strip_prefix("../").unwrap_or(rel);
    base.join(rel)
}

/// One variable's imported values, and the times they hold at (a series).
struct Column {
    values: Vec<f64>,
    times: Option<Vec<f64>>,
}

/// The named columns (or rows) of a grid: each heading with the numbers
/// that follow it. A first heading that is blank or `Time` over numbers is
/// the time axis of the others.
fn columns(grid: &Grid, by_row: bool) -> Vec<(String, Column)> {
    let (lines, along) = if by_row {
        (grid.rows, grid.cols)
    } else {
        (grid.cols, grid.rows)
    };
    let cell = |line: u32, k: u32| {
        if by_row {
            grid.get(line, k)
        } else {
            grid.get(k, line)
        }
    };
    let head = |line: u32| {
        if by_row {
            grid.label(line, 0)
        } else {
            grid.label(0, line)
        }
    };
    let numbers = |line: u32| -> Vec<f64> { (1..along).map_while(|k| cell(line, k)).collect() };
    let time_axis = match head(0) {
        None => Some(numbers(0)).filter(|t| !t.is_empty()),
        Some(h) if h.eq_ignore_ascii_case("time") => Some(numbers(0)),
        Some(_) => None,
    };
    let first = u32::from(time_axis.is_some());
    (first..lines)
        .filter_map(|line| {
            let name = head(line)?;
            let values = numbers(line);
            Some((
                canonicalize(&name),
                Column {
                    values,
                    times: time_axis.clone(),
                },
            ))
        })
        .collect()
}

fn constant(v: f64) -> Equation {
    Equation {
        text: format!("{v}"),
        expr: Expr::Num(v),
    }
}

/// Put `col`'s values in place of `var`'s own; `elements` lists the
/// element names of an arrayed variable in order.
fn apply(var: &mut Variable, col: &Column, elements: &[Vec<String>], file: &str) -> Result<()> {
    let bad = |message: String| Error::DataFile {
        variable: var.name.clone(),
        file: file.to_string(),
        message,
    };
    if let Some(times) = col.times.as_ref().filter(|t| t.len() > 1) {
        // A series: the variable follows it over time, linearly between
        // the points.
        let n = times.len().min(col.values.len());
        if n == 0 || !var.dims.is_empty() {
            return Err(bad(format!(
                "a series over time needs a variable that is not arrayed ({n} values)"
            )));
        }
        var.gf = Some(GraphicalFunction {
            kind: GfKind::Continuous,
            xs: times[..n].to_vec(),
            ys: col.values[..n].to_vec(),
        });
        var.equations = Equations::Single(Equation {
            text: "TIME".into(),
            expr: Expr::Var("time".into(), Default::default()),
        });
        return Ok(());
    }
    let values = &col.values;
    if let Some(gf) = var.gf.as_mut().filter(|_| var.dims.is_empty()) {
        if values.len() != gf.ys.len() {
            return Err(bad(format!(
                "{} values for a graphical function of {} points",
                values.len(),
                gf.ys.len()
            )));
        }
        gf.ys = values.clone();
        return Ok(());
    }
    if var.dims.is_empty() {
        return match values.as_slice() {
            [v] => {
                var.equations = Equations::Single(constant(*v));
                Ok(())
            }
            _ => Err(bad(format!("{} values for a single value", values.len()))),
        };
    }
    if values.len() != elements.len() {
        return Err(bad(format!(
            "{} values for {} elements",
            values.len(),
            elements.len()
        )));
    }
    var.equations = Equations::PerElement(
        elements
            .iter()
            .zip(values)
            .map(|(key, v)| (key.clone(), constant(*v), None))
            .collect(),
    );
    Ok(())
}

/// The element names of `dims`, every combination in order (the last
/// dimension fastest).
fn elements_of(project: &Project, dims: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for d in dims {
        let elems = project
            .dimension(d)
            .map(|x| x.elements.clone())
            .unwrap_or_default();
        out = out
            .into_iter()
            .flat_map(|prefix| {
                elems.iter().map(move |e| {
                    let mut k = prefix.clone();
                    k.push(e.clone());
                    k
                })
            })
            .collect();
    }
    out
}

/// Apply every `<import>` of `<data>` to the main model.
pub(super) fn apply_imports(
    data: Node<'_, '_>,
    base: Option<&Path>,
    project: &mut Project,
) -> Result<()> {
    for import in data
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "import")
    {
        let resource = import.attribute("resource").unwrap_or("");
        let shown = resource.strip_prefix('r').unwrap_or(resource).to_string();
        let path = base.map(|b| resolve(resource, b));
        let Some(path) = path.filter(|p| p.is_file()) else {
            project.warnings.push(format!(
                "data import '{shown}' not found beside the model: its variables keep \
                 their own values"
            ));
            continue;
        };
        let book = read_book(&path).map_err(|message| Error::DataFile {
            variable: "<data> import".into(),
            file: shown.clone(),
            message,
        })?;
        let Some((_, grid)) = book.sheets.first() else {
            continue;
        };
        let Some(model) = project.models.first() else {
            continue;
        };
        let known = |cols: &[(String, Column)]| {
            cols.iter()
                .filter(|(n, _)| model.variables.iter().any(|v| &v.ident == n))
                .count()
        };
        let (by_col, by_row) = (columns(grid, false), columns(grid, true));
        let cols = if known(&by_row) > known(&by_col) {
            by_row
        } else {
            by_col
        };
        let mut found = 0;
        for (name, col) in &cols {
            let Some(i) = project.models[0]
                .variables
                .iter()
                .position(|v| &v.ident == name)
            else {
                continue;
            };
            let elements = elements_of(project, &project.models[0].variables[i].dims);
            apply(&mut project.models[0].variables[i], col, &elements, &shown)?;
            found += 1;
        }
        if found < cols.len() {
            project.warnings.push(format!(
                "data import '{shown}': {} of its {} names are not variables of the model",
                cols.len() - found,
                cols.len()
            ));
        }
    }
    Ok(())
}
