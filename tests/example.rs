//! The shipped example model loads, runs, and gives the Euler solution.

#[test]
fn teacup_example_runs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/teacup.xmile");
    let project = simlin::load_file(path).expect("example loads");
    let model = simlin::CompiledModel::new(&project, None).expect("example compiles");
    let results = model
        .run(&simlin::RunOptions::default())
        .expect("example runs");
    assert_eq!(results.times.len(), 241);
    let temp = results.column("Teacup Temperature").expect("stock saved");
    // Euler with dt = 0.125 and tau = 10: T_n = 70 + 110 * (1 - 0.0125)^n.
    let exact = 70.0 + 110.0 * (1.0f64 - 0.0125).powi(240);
    assert!((temp[240] - exact).abs() < 1e-9, "{} vs {exact}", temp[240]);
    let flow = results.column("heat_loss_to_room").expect("flow saved");
    assert!((flow[0] - 11.0).abs() < 1e-12);
}
