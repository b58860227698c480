//! The generated large arrayed model of `benches/arrays.rs` compiles and
//! runs, and its cross-region SUMs equal the sums of their elements at
//! every saved time (behaviour only; timing lives in the bench).

#[path = "../benches/arrayed_model.rs"]
mod arrayed_model;

use arrayed_model::{arrayed_xmile, region, STOCKS};
use simlin::{CompiledModel, RunOptions};

const REGIONS: usize = 1000;

fn column<'r>(results: &'r simlin::Results, name: &str) -> &'r [f64] {
    let i = results
        .index_of(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    &results.columns[i]
}

#[test]
fn large_arrayed_model_compiles_runs_and_sums() {
    let project = simlin::load_xmile(&arrayed_xmile(REGIONS, 20.0, 0.25)).expect("loads");
    let model = CompiledModel::new(&project, None).expect("compiles");
    let results = model.run(&RunOptions::default()).expect("runs");
    assert_eq!(results.times.len(), 81);

    // Every stock is an array of REGIONS elements, saved as one.
    for stock in STOCKS {
        let a = results
            .array(stock)
            .unwrap_or_else(|| panic!("{stock} is not saved as an array"));
        assert_eq!(a.shape(), vec![REGIONS]);
    }

    let total = column(&results, "total infected");
    let total_pop = column(&results, "total population");
    let infected: Vec<&[f64]> = (0..REGIONS)
        .map(|i| column(&results, &format!("infected[{}]", region(i))))
        .collect();
    let population: Vec<&[f64]> = (0..REGIONS)
        .map(|i| column(&results, &format!("population[{}]", region(i))))
        .collect();
    for t in 0..results.times.len() {
        let sum: f64 = infected.iter().map(|c| c[t]).sum();
        assert!(
            (total[t] - sum).abs() <= 1e-9 * sum.abs().max(1.0),
            "t={}: SUM {} != {}",
            results.times[t],
            total[t],
            sum
        );
        let pop: f64 = population.iter().map(|c| c[t]).sum();
        assert!((total_pop[t] - pop).abs() <= 1e-9 * pop);
    }

    // The epidemic actually moves: infections spread from the seeded
    // regions to an unseeded one (r2 starts at 0.1) through the global SUM.
    let r2 = column(&results, "infected[r2]");
    assert!(r2[r2.len() - 1] > r2[0], "no spread into r2: {r2:?}");
    // People are conserved per region: S + I + R stays at population 0.
    let pop0 = column(&results, "population 0[r2]");
    let last = population[1][results.times.len() - 1];
    assert!((last - pop0[0]).abs() < 1e-6, "{last} vs {}", pop0[0]);
    // The per-element equations were used: region r1 is seeded with 10.
    assert_eq!(column(&results, "infected[r1]")[0], 10.0);
    assert_eq!(column(&results, "initial infected[r3]")[0], 0.2);
}
