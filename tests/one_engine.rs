//! One engine: `CompiledModel::run` goes through the batched engine's
//! one-lane case, the stepwise `Sim` through the scalar interpreter. On
//! every model of both conformance suites they must give the same results
//! bit for bit (names, times and every value; NaN equal to NaN), with
//! Euler, RK2 and RK4.

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

/// Run `opts` both ways; `None` if the run itself fails, else where the
/// two results differ (`Some(None)` when they agree bit for bit).
fn compare(model: &Arc<CompiledModel>, opts: &RunOptions) -> Option<Option<String>> {
    let fast: Results = model.run(opts).ok()?;
    let mut sim = Sim::new(model.clone(), opts).expect("the run worked");
    sim.run_to_end().expect("the run worked");
    let slow = sim.into_results();
    if fast.names != slow.names {
        return Some(Some("names differ".into()));
    }
    if !same_bits(&fast.times, &slow.times) {
        return Some(Some("times differ".into()));
    }
    Some(
        fast.columns
            .iter()
            .zip(&slow.columns)
            .position(|(a, b)| !same_bits(a, b))
            .map(|c| format!("{} differs", fast.names[c])),
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
