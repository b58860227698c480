//! Binding a sweep's parameter columns to the compiled model, once.
//!
//! Each column is resolved to slots (a constant, a stock's initial value, or
//! every element of an arrayed one) or to a graphical function, and every
//! value is validated before any run starts, so a bad cell is reported with
//! its column and row instead of surfacing mid-sweep.

use std::sync::Arc;

use crate::compile::CompiledModel;
use crate::error::{Error, Result};
use crate::ir::GraphicalFunction;
use crate::sweep::TableInputs;
use crate::vm::state::{check_settable, tables_from_points};

/// One column of per-run values.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValues {
    /// A number per run (a constant or a stock's initial value; on an
    /// arrayed variable, every element).
    Numbers(Vec<f64>),
    /// A graphical function's (x, y) points per run.
    Tables(Vec<Vec<(f64, f64)>>),
}

/// A parameter column: a model variable's name and its per-run values.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub values: ParamValues,
}

/// The columns resolved against a model.
pub(crate) struct Bound {
    numbers: Vec<(Vec<u32>, Vec<f64>)>,
    tables: Vec<(u32, Vec<Arc<GraphicalFunction>>)>,
}

impl Bound {
    /// Row `r`'s fixed slot values and replacement tables.
    pub(crate) fn row(&self, r: usize) -> (Vec<(u32, f64)>, TableInputs) {
        let mut values = Vec::new();
        for (slots, col) in &self.numbers {
            values.extend(slots.iter().map(|&s| (s, col[r])));
        }
        let tables = self
            .tables
            .iter()
            .map(|(t, col)| (*t, col[r].clone()))
            .collect();
        (values, tables)
    }
}

fn bad(column: &str, row: Option<usize>, message: impl Into<String>) -> Error {
    Error::BadParameter {
        column: column.to_string(),
        row,
        message: message.into(),
    }
}

pub(crate) fn bind(m: &CompiledModel, n_runs: usize, params: &[Param]) -> Result<Bound> {
    let mut numbers = Vec::new();
    let mut tables = Vec::new();
    let mut taken = std::collections::HashMap::new();
    for p in params {
        let len = match &p.values {
            ParamValues::Numbers(v) => v.len(),
            ParamValues::Tables(v) => v.len(),
        };
        if len != n_runs {
            return Err(bad(
                &p.name,
                None,
                format!("has {len} values for {n_runs} runs"),
            ));
        }
        let slot = m.slot(&p.name).filter(|&s| m.vars[s].visible);
        let slots: Vec<u32> = match (slot, m.array(&p.name)) {
            (Some(s), _) => vec![s as u32],
            (None, Some(a)) => a.slots.clone(),
            (None, None) => return Err(bad(&p.name, None, "no such variable in the model")),
        };
        for &s in &slots {
            if let Some(other) = taken.insert(s, p.name.clone()) {
                return Err(bad(
                    &p.name,
                    None,
                    format!(
                        "sets '{}' again (already set by column '{other}')",
                        m.vars[s as usize].name
                    ),
                ));
            }
        }
        match &p.values {
            ParamValues::Numbers(col) => {
                for &s in &slots {
                    check_settable(m, s as usize).map_err(|e| match e {
                        Error::BadOverride { message, .. } => bad(&p.name, None, message),
                        e => e,
                    })?;
                }
                if let Some(r) = col.iter().position(|v| v.is_nan()) {
                    return Err(bad(&p.name, Some(r), "is null or NaN"));
                }
                numbers.push((slots, col.clone()));
            }
            ParamValues::Tables(col) => {
                // One graphical function, or every element of an arrayed one
                // (a time-series input): each gets the row's points.
                if slots.len() > 1 && slots.iter().any(|&s| m.vars[s as usize].table.is_none()) {
                    return Err(bad(
                        &p.name,
                        None,
                        "give one element's graphical function, e.g. 'name[element]'",
                    ));
                }
                let targets = slots
                    .iter()
                    .map(|&s| {
                        let var = &m.vars[s as usize];
                        var.table
                            .map(|t| (t as usize, var.name.clone()))
                            .ok_or_else(|| bad(&p.name, None, "not a graphical function"))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let mut built: Vec<Vec<Arc<GraphicalFunction>>> =
                    vec![Vec::with_capacity(col.len()); targets.len()];
                for (r, points) in col.iter().enumerate() {
                    let row = tables_from_points(m, &targets, points).map_err(|e| match e {
                        Error::BadOverride { message, .. } => bad(&p.name, Some(r), message),
                        e => e,
                    })?;
                    for (column, (_, gf)) in built.iter_mut().zip(row) {
                        column.push(gf);
                    }
                }
                tables.extend(targets.iter().map(|(t, _)| *t as u32).zip(built));
            }
        }
    }
    crate::ir::inputs::unfed_input(m, |t| tables.iter().any(|(bound, _)| *bound as usize == t))?;
    Ok(Bound { numbers, tables })
}
