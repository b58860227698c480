//! One engine: `CompiledModel::run` goes through the batched engine's
//! one-lane case, the stepwise `Sim` through the scalar interpreter. On
//! every model of both conformance suites they must give the same results
//! bit for bit (names, times and every value; NaN equal to NaN), with
//! Euler, RK2 and RK4.

use std::sync::Arc;

use simlin::testsuite::Suite;
use simlin::{CompiledModel, Method, RunOptions, Sim};

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn single_runs_and_stepwise_sims_agree_bit_for_bit() {
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for suite in [Suite::SdXorg, Suite::RealModels] {
        let root = suite.default_root();
        let cases = suite
            .discover(&root)
            .unwrap_or_else(|e| panic!("{} suite at {}: {e}", suite.name(), root.display()));
        for case in cases {
            let Ok(project) = simlin::load_file_with(&case.model, &case.load_options()) else {
                continue;
            };
            let Ok(model) = CompiledModel::new(&project, None) else {
                continue;
            };
            let model = Arc::new(model);
            for method in [None, Some(Method::Rk2), Some(Method::Rk4)] {
                let opts = RunOptions {
                    method,
                    ..RunOptions::default()
                };
                let Ok(fast) = model.run(&opts) else { continue };
                let mut sim = Sim::new(model.clone(), &opts).expect("the run worked");
                sim.run_to_end().expect("the run worked");
                let slow = sim.into_results();
                compared += 1;
                let label = format!("{} ({method:?})", case.key);
                if fast.names != slow.names || fast.times.len() != slow.times.len() {
                    mismatches.push(format!("{label}: names or times differ"));
                    continue;
                }
                let times_ok = fast
                    .times
                    .iter()
                    .zip(&slow.times)
                    .all(|(a, b)| same_bits(*a, *b));
                let bad = fast
                    .columns
                    .iter()
                    .zip(&slow.columns)
                    .position(|(a, b)| !a.iter().zip(b).all(|(x, y)| same_bits(*x, *y)));
                if !times_ok || bad.is_some() {
                    let which = bad.map_or("time".to_string(), |c| fast.names[c].clone());
                    mismatches.push(format!("{label}: {which} differs"));
                }
            }
        }
    }
    assert!(compared > 500, "only {compared} runs compared");
    assert!(
        mismatches.is_empty(),
        "{} of {compared}: {mismatches:#?}",
        mismatches.len()
    );
}

/// The same with the options a caller changes: an override, other times,
/// a save interval of two steps and a subset of outputs.
#[test]
fn single_runs_with_options_agree_bit_for_bit() {
    let mut compared = 0;
    let mut mismatches = Vec::new();
    let root = Suite::SdXorg.default_root();
    let cases = Suite::SdXorg
        .discover(&root)
        .unwrap_or_else(|e| panic!("SDXorg suite at {}: {e}", root.display()));
    for case in cases {
        let Ok(project) = simlin::load_file_with(&case.model, &case.load_options()) else {
            continue;
        };
        let Ok(model) = CompiledModel::new(&project, None) else {
            continue;
        };
        let model = Arc::new(model);
        let specs = model.sim_specs().clone();
        let names: Vec<String> = model.output_names().iter().map(|s| s.to_string()).collect();
        // The first variable that takes an override (a constant or a stock).
        let Some(overrides) = names.iter().find_map(|n| {
            let o = vec![(n.clone(), simlin::Override::Value(0.75))];
            let opts = RunOptions {
                overrides: o.clone(),
                ..RunOptions::default()
            };
            model.run(&opts).ok().map(|_| o)
        }) else {
            continue;
        };
        let opts = RunOptions {
            overrides,
            stop: Some(specs.start + (specs.stop - specs.start) / 2.0),
            save_step: Some(specs.dt * 2.0),
            outputs: Some(names.iter().take(3).cloned().collect()),
            seed: 3,
            ..RunOptions::default()
        };
        let Ok(fast) = model.run(&opts) else { continue };
        let mut sim = Sim::new(model.clone(), &opts).expect("the run worked");
        sim.run_to_end().expect("the run worked");
        let slow = sim.into_results();
        compared += 1;
        let same = fast.names == slow.names
            && fast.times.len() == slow.times.len()
            && fast
                .times
                .iter()
                .zip(&slow.times)
                .all(|(a, b)| same_bits(*a, *b))
            && fast.columns.iter().zip(&slow.columns).all(|(a, b)| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_bits(*x, *y))
            });
        if !same {
            mismatches.push(case.key.clone());
        }
    }
    assert!(compared > 100, "only {compared} runs compared");
    assert!(
        mismatches.is_empty(),
        "{} of {compared}: {mismatches:#?}",
        mismatches.len()
    );
}
