//! One engine, and its rewrites held to the plain program.
//!
//! `CompiledModel::run` goes through the batched engine's one-lane case
//! with its step code in register form, array runs formed and the run's
//! constants folded in; the stepwise `Sim` through the same engine step by
//! step, unfolded; the reference `Sim` (`Sim::new_reference`) executes each
//! step's stack code as the compiler emitted it. On every model of both
//! conformance suites all three must give the same results bit for bit
//! (names, times and every value; NaN equal to NaN), with Euler, RK2 and
//! RK4.

use std::sync::Arc;

use simlin::testsuite::Suite;
use simlin::{CompiledModel, Method, Results, RunOptions, Sim};

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// Every model of `suites` that loads and compiles, with its row key.
fn compiled_models(suites: &[Suite]) -> Vec<(String, Arc<CompiledModel>)> {
    let mut out = Vec::new();
    for &suite in suites {
        let root = suite.default_root();
        let cases = suite
            .discover(&root)
            .unwrap_or_else(|e| panic!("{} suite at {}: {e}", suite.name(), root.display()));
        for case in cases {
            let Ok(project) = simlin::load_file_with(&case.model, &case.load_options()) else {
                continue;
            };
            if let Ok(model) = CompiledModel::new(&project, None) {
                out.push((case.key.clone(), Arc::new(model)));
            }
        }
    }
    out
}

/// Where two runs' results differ (`None` when they agree bit for bit).
fn difference(a: &Results, b: &Results) -> Option<String> {
    if a.names != b.names {
        return Some("names differ".into());
    }
    if !same_bits(&a.times, &b.times) {
        return Some("times differ".into());
    }
    a.columns
        .iter()
        .zip(&b.columns)
        .position(|(x, y)| !same_bits(x, y))
        .map(|c| format!("{} differs", a.names[c]))
}

/// Run `opts` three ways: the whole run, the stepwise `Sim` and the
/// reference `Sim`; `None` if the run itself fails, else where the first
/// two differ from the reference (`Some(None)` when all agree bit for bit).
fn compare(model: &Arc<CompiledModel>, opts: &RunOptions) -> Option<Option<String>> {
    let fast: Results = model.run(opts).ok()?;
    let stepwise = |mut sim: Sim| {
        sim.run_to_end().expect("the run worked");
        sim.into_results()
    };
    let reference = stepwise(Sim::new_reference(model.clone(), opts).expect("the run worked"));
    let sim = stepwise(Sim::new(model.clone(), opts).expect("the run worked"));
    Some(
        difference(&fast, &reference)
            .map(|d| format!("run: {d}"))
            .or_else(|| difference(&sim, &reference).map(|d| format!("Sim: {d}"))),
    )
}

fn check(runs: impl Iterator<Item = (String, Option<Option<String>>)>, at_least: usize) {
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for (label, outcome) in runs {
        let Some(difference) = outcome else { continue };
        compared += 1;
        if let Some(d) = difference {
            mismatches.push(format!("{label}: {d}"));
        }
    }
    assert!(compared > at_least, "only {compared} runs compared");
    assert!(
        mismatches.is_empty(),
        "{} of {compared}: {mismatches:#?}",
        mismatches.len()
    );
}

#[test]
fn single_runs_and_stepwise_sims_agree_bit_for_bit() {
    let models = compiled_models(&[Suite::SdXorg, Suite::RealModels]);
    let runs = models.iter().flat_map(|(key, model)| {
        [None, Some(Method::Rk2), Some(Method::Rk4)]
            .into_iter()
            .map(move |method| {
                let opts = RunOptions {
                    method,
                    ..RunOptions::default()
                };
                (format!("{key} ({method:?})"), compare(model, &opts))
            })
    });
    check(runs, 500);
}

/// The same with the options a caller changes: an override, other times,
/// a save interval of two steps and a subset of outputs.
#[test]
fn single_runs_with_options_agree_bit_for_bit() {
    let models = compiled_models(&[Suite::SdXorg]);
    let runs = models.iter().filter_map(|(key, model)| {
        let specs = model.sim_specs().clone();
        let names: Vec<String> = model.output_names().iter().map(|s| s.to_string()).collect();
        // The first variable that takes an override (a constant or a stock).
        let overrides = names.iter().find_map(|n| {
            let o = vec![(n.clone(), simlin::Override::Value(0.75))];
            let opts = RunOptions {
                overrides: o.clone(),
                ..RunOptions::default()
            };
            model.run(&opts).ok().map(|_| o)
        })?;
        let opts = RunOptions {
            overrides,
            stop: Some(specs.start + (specs.stop - specs.start) / 2.0),
            save_step: Some(specs.dt * 2.0),
            outputs: Some(names.iter().take(3).cloned().collect()),
            seed: 3,
            ..RunOptions::default()
        };
        Some((key.clone(), compare(model, &opts)))
    });
    check(runs, 100);
}
