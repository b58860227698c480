//! Time-series inputs: variables driven by data over time instead of by
//! their equations (what PySD users do with `params={"x": pd.Series(...)}`).
//!
//! An input becomes a graphical function of `TIME`: its equation is replaced
//! by `TIME` and its table, linear between the points and holding the end
//! values outside them (XMILE's continuous graphical function, which is also
//! how PySD interpolates a series), holds the data. A run then supplies the
//! points as it supplies any graphical function's ([`crate::vm::Override::Table`]),
//! so neither the compiler nor the interpreters know about inputs, every
//! integration method sees the series at each stage's own time, and one
//! compiled variant serves every run (or sweep row) that feeds the same
//! variables.

use crate::error::{Error, Result};
use crate::ir::{Equation, Equations, GfKind, GraphicalFunction, Project, VarKind};
use crate::syntax::ident::canonicalize;
use crate::syntax::parser::parse_equation;

/// `project` with the variables `names` (any spelling) of `model` (`None`:
/// the main model) made time-series inputs. Each must be an auxiliary or
/// flow of that model (an arrayed one becomes an input in every element,
/// each with a table of its own); anything else is a [`Error::BadOverride`]
/// naming it and saying why. Until a run gives it a series, an input holds
/// a placeholder table that runs refuse ([`unfed_input`]).
pub fn with_series_inputs(
    project: &Project,
    model: Option<&str>,
    names: &[String],
) -> Result<Project> {
    let target = project
        .model(model)
        .map(|m| m.ident.clone())
        .ok_or_else(|| Error::UnknownModel {
            name: model.unwrap_or("(main)").to_string(),
        })?;
    let mut out = project.clone();
    let Some(m) = out.models.iter_mut().find(|m| m.ident == target) else {
        return Err(Error::UnknownModel { name: target });
    };
    let time = parse_equation("TIME").map_err(|e| Error::BadOverride {
        variable: "TIME".into(),
        message: format!("cannot build a time-series input: {e:?}"),
    })?;
    for name in names {
        let id = canonicalize(name);
        let refuse = |message: &str| Error::BadOverride {
            variable: name.clone(),
            message: message.into(),
        };
        if id.contains('.') {
            return Err(refuse(
                "a time series can only feed a variable of the model itself, not one inside a module",
            ));
        }
        let var = m
            .variables
            .iter_mut()
            .find(|v| v.ident == id)
            .ok_or_else(|| refuse("no such variable in the model"))?;
        match var.kind {
            VarKind::Stock { .. } => {
                return Err(refuse(
                    "a stock's value comes from its flows: give it a number (its initial \
                     value), or feed one of its flows with the series",
                ))
            }
            VarKind::Module { .. } => return Err(refuse("a module cannot be fed a time series")),
            VarKind::Aux | VarKind::Flow { .. } => {}
        }
        let element_tables = match &var.equations {
            Equations::PerElement(items) => items.iter().any(|(_, _, gf)| gf.is_some()),
            _ => false,
        };
        if var.gf.is_some() || var.is_lookup() || element_tables {
            return Err(refuse(
                "a graphical function takes (x, y) points for its table, not a time series",
            ));
        }
        var.equations = Equations::Single(Equation {
            text: "TIME".into(),
            expr: time.clone(),
        });
        var.gf = Some(placeholder());
    }
    Ok(out)
}

/// The table an input holds until a run gives it its series: one point
/// no real table has (x = -f64::MAX, y = NaN, which points from a model or
/// a user are refused), so [`is_placeholder`] recognises it.
fn placeholder() -> GraphicalFunction {
    GraphicalFunction {
        kind: GfKind::Continuous,
        xs: vec![-f64::MAX],
        ys: vec![f64::NAN],
    }
}

/// Whether `gf` is an input's table still waiting for its series.
pub(crate) fn is_placeholder(gf: &GraphicalFunction) -> bool {
    gf.xs.len() == 1 && gf.xs[0] == -f64::MAX && gf.ys.first().is_some_and(|y| y.is_nan())
}

/// The first variable of `m` that is a time-series input whose table is
/// still the placeholder (`replaced(table)` false): a run must give every
/// input (every element of an arrayed one) its series.
pub(crate) fn unfed_input(
    m: &crate::CompiledModel,
    replaced: impl Fn(usize) -> bool,
) -> Result<()> {
    for var in m.variables() {
        let Some(t) = var.table.map(|t| t as usize) else {
            continue;
        };
        if m.tables.get(t).is_some_and(|gf| is_placeholder(gf)) && !replaced(t) {
            return Err(Error::BadOverride {
                variable: var.name.clone(),
                message: "a time-series input needs its series in every run (for an arrayed \
                          variable: one for every element)"
                    .into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::{Override, RunOptions};
    use crate::{load_mdl, CompiledModel, Method};

    /// `level` integrates `inflow = rate`; `rate` is a constant and
    /// `scaled` a computed aux, both fed below.
    const MODEL: &str = "level = INTEG(inflow, 0) ~~|
inflow = rate ~~|
rate = 1 ~~|
scaled = 2 * rate ~~|
shape([(0,0)-(1,1)], (0,0), (1,1)) ~~|
shaped = shape(Time / 10) ~~|
withgf = WITH LOOKUP(Time / 10, ([(0,0)-(1,1)], (0,0), (1,1))) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 10 ~~|
TIME STEP = 0.5 ~~|
SAVEPER = 0.5 ~~|
";

    fn points() -> Vec<(f64, f64)> {
        vec![(2.0, 1.0), (6.0, 3.0)]
    }

    fn run_fed(names: &[&str], method: Method) -> crate::Results {
        let project = load_mdl(MODEL).expect("model loads");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let fed = with_series_inputs(&project, None, &names).expect("inputs accepted");
        let m = CompiledModel::new(&fed, None).expect("compiles");
        let opts = RunOptions {
            overrides: names
                .iter()
                .map(|n| (n.clone(), Override::Table(points())))
                .collect(),
            method: Some(method),
            ..Default::default()
        };
        m.run(&opts).expect("runs")
    }

    fn expected(t: f64) -> f64 {
        // Linear between (2, 1) and (6, 3), the end values held outside.
        (1.0 + (t.clamp(2.0, 6.0) - 2.0) / 2.0).clamp(1.0, 3.0)
    }

    #[test]
    fn a_series_drives_a_constant_and_what_depends_on_it() {
        let r = run_fed(&["rate"], Method::Euler);
        let rate = r.column("rate").expect("rate saved");
        let level = r.column("level").expect("level saved");
        let scaled = r.column("scaled").expect("scaled saved");
        let mut want_level = 0.0;
        for (i, &t) in r.times.iter().enumerate() {
            assert_eq!(rate[i], expected(t), "rate at t={t}");
            assert_eq!(scaled[i], 2.0 * expected(t), "scaled at t={t}");
            assert_eq!(level[i], want_level, "level at t={t}");
            want_level += 0.5 * expected(t);
        }
    }

    #[test]
    fn a_computed_aux_and_rk4_stages_see_their_own_time() {
        let r = run_fed(&["scaled", "rate"], Method::Rk4);
        let scaled = r.column("scaled").expect("scaled saved");
        for (i, &t) in r.times.iter().enumerate() {
            assert_eq!(scaled[i], expected(t), "scaled follows its own series");
        }
        // RK4 integrates the piecewise-linear rate exactly (each piece is
        // linear in t and the kinks fall on step boundaries).
        let level = r.column("level").expect("level saved");
        let last = *level.last().expect("a value");
        let exact = 2.0 * 1.0 + (1.0 + 3.0) / 2.0 * 4.0 + 4.0 * 3.0;
        assert!((last - exact).abs() < 1e-12, "{last} vs {exact}");
    }

    #[test]
    fn refuses_what_cannot_be_fed_and_says_why() {
        let project = load_mdl(MODEL).expect("model loads");
        for (name, why) in [
            ("level", "stock"),
            ("shape", "graphical function"),
            ("withgf", "graphical function"),
            ("nope", "no such variable"),
            ("a.b", "inside a module"),
        ] {
            let err = with_series_inputs(&project, None, &[name.to_string()]).expect_err("refused");
            match err {
                Error::BadOverride { variable, message } => {
                    assert_eq!(variable, name);
                    assert!(message.contains(why), "{name}: {message}");
                }
                other => panic!("{name}: unexpected error {other:?}"),
            }
        }
    }

    #[test]
    fn series_inputs_names_only_variables_without_tables() {
        let m = CompiledModel::new(&load_mdl(MODEL).expect("loads"), None).expect("compiles");
        // `shaped` calls a lookup but is an ordinary aux: it can be fed.
        let names = m.series_inputs(["Rate", "withgf", "shaped", "rate", "nope"]);
        assert_eq!(names, vec!["rate".to_string(), "shaped".to_string()]);
    }

    #[test]
    fn a_run_without_the_series_is_refused() {
        let project = load_mdl(MODEL).expect("model loads");
        let fed = with_series_inputs(&project, None, &["rate".into()]).expect("accepted");
        let m = CompiledModel::new(&fed, None).expect("compiles");
        match m.run(&RunOptions::default()) {
            Err(Error::BadOverride { variable, message }) => {
                assert_eq!(variable, "rate");
                assert!(message.contains("needs its series"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    const ARRAYED: &str = "Region: north, south ~~|
growth[Region] = 1 ~~|
level[Region] = INTEG(growth[Region], 0) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 4 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
";

    #[test]
    fn an_arrayed_variable_is_fed_whole_or_element_by_element() {
        let project = load_mdl(ARRAYED).expect("model loads");
        let base = CompiledModel::new(&project, None).expect("compiles");
        // An element's points name the whole variable as the input.
        assert_eq!(
            base.series_inputs(["growth[south]"]),
            vec!["growth".to_string()]
        );
        assert_eq!(base.series_inputs(["Growth"]), vec!["growth".to_string()]);
        let fed = with_series_inputs(&project, None, &["growth".into()]).expect("accepted");
        let m = CompiledModel::new(&fed, None).expect("compiles");
        let run = |overrides: Vec<(&str, Vec<(f64, f64)>)>| {
            m.run(&RunOptions {
                overrides: overrides
                    .into_iter()
                    .map(|(n, p)| (n.to_string(), Override::Table(p)))
                    .collect(),
                ..Default::default()
            })
        };
        // One series for every element.
        let r = run(vec![("growth", vec![(0.0, 0.0), (4.0, 4.0)])]).expect("runs");
        for e in ["growth[north]", "growth[south]"] {
            assert_eq!(
                r.column(e).expect("saved"),
                &[0.0, 1.0, 2.0, 3.0, 4.0][..],
                "{e}"
            );
        }
        // One each.
        let r = run(vec![
            ("growth[north]", vec![(0.0, 1.0)]),
            ("growth[south]", vec![(0.0, 2.0), (4.0, 6.0)]),
        ])
        .expect("runs");
        assert_eq!(r.column("growth[north]").expect("saved")[3], 1.0);
        assert_eq!(r.column("growth[south]").expect("saved")[3], 5.0);
        assert_eq!(r.column("level[south]").expect("saved")[2], 2.0 + 3.0);
        // One series for the whole array is checked and built once: the
        // elements share the table.
        let targets: Vec<(usize, String)> = ["growth[north]", "growth[south]"]
            .iter()
            .map(|e| {
                let var = &m.variables()[m.slot(e).expect("element")];
                (var.table.expect("fed") as usize, var.name.clone())
            })
            .collect();
        let built =
            crate::vm::state::tables_from_points(&m, &targets, &[(0.0, 1.0)]).expect("built");
        assert!(std::sync::Arc::ptr_eq(&built[0].1, &built[1].1));
        assert_ne!(built[0].0, built[1].0);
        // An element left without its series is named.
        match run(vec![("growth[north]", vec![(0.0, 1.0)])]) {
            Err(Error::BadOverride { variable, .. }) => {
                assert!(variable.to_lowercase().contains("south"), "{variable}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
