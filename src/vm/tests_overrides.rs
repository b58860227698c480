//! One semantics for a changed value: `Sim::set_value` before the first
//! step (also right after `reset`), `set_value` then `reset`, and a run
//! override all start the run from the new value; later `set_value`
//! changes only what follows.

use std::sync::Arc;

use crate::syntax::mdl::parse_mdl;
use crate::vm::{Override, RunOptions, Sim};
use crate::CompiledModel;

/// SIR-like: the susceptible stock starts at the population constant.
const MODEL: &str = "{UTF-8}
population = 1000 ~~|
susceptible = INTEG(-infection, population - 10) ~~|
infected = INTEG(infection, 10) ~~|
infection = susceptible * infected / population * 0.5 ~~|
first susceptible = INITIAL(susceptible) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 4 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
";

fn model() -> Arc<CompiledModel> {
    Arc::new(CompiledModel::new(&parse_mdl(MODEL).expect("parses"), None).expect("compiles"))
}

fn series(sim: &mut Sim, name: &str) -> Vec<f64> {
    sim.run_to_end().expect("runs");
    sim.results().column(name).expect("column").to_vec()
}

#[test]
fn every_way_of_setting_a_constant_at_the_start_agrees() {
    let m = model();
    let by_override = m
        .run(&RunOptions {
            overrides: vec![("population".into(), Override::Value(5000.0))],
            ..Default::default()
        })
        .expect("runs");
    let want = by_override.column("susceptible").expect("column").to_vec();
    assert_eq!(want[0], 4990.0);
    assert_eq!(
        by_override.column("first susceptible").expect("c")[3],
        4990.0
    );

    // set_value before the first step.
    let mut sim = Sim::new(m.clone(), &RunOptions::default()).expect("sim");
    sim.set_value("population", 5000.0).expect("set");
    assert_eq!(series(&mut sim, "susceptible"), want);
    // reset, then set_value: the same.
    sim.reset().expect("reset");
    sim.set_value("population", 5000.0).expect("set");
    assert_eq!(series(&mut sim, "susceptible"), want);
    // set_value, then reset: the value is kept, like an override.
    let mut sim = Sim::new(m.clone(), &RunOptions::default()).expect("sim");
    sim.set_value("population", 5000.0).expect("set");
    sim.reset().expect("reset");
    assert_eq!(series(&mut sim, "susceptible"), want);
    assert_eq!(
        sim.results().column("first susceptible").expect("c")[2],
        4990.0
    );
}

#[test]
fn a_later_set_value_changes_only_what_follows() {
    let m = model();
    let mut sim = Sim::new(m, &RunOptions::default()).expect("sim");
    sim.run_to(2.0).expect("runs");
    sim.set_value("population", 5000.0).expect("set");
    sim.run_to_end().expect("runs");
    let r = sim.results();
    // The stock's start and INITIAL keep the value they started with.
    assert_eq!(r.column("susceptible").expect("c")[0], 990.0);
    assert_eq!(r.column("first susceptible").expect("c")[4], 990.0);
}
