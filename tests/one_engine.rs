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
