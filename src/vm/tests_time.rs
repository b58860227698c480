//! Dynamic sim specs: Vensim FINAL TIME, TIME STEP and SAVEPER given by
//! equations of Time or of the model's state, read from the run each step.

use crate::error::Error;
use crate::syntax::mdl::parse_mdl;
use crate::vm::{Override, RunOptions};
use crate::{CompiledModel, Results};

/// A `.mdl` text with these control equations and model equations.
fn mdl(control: [&str; 4], eqs: &str) -> String {
    let [initial, fin, step, save] = control;
    format!(
        "{{UTF-8}}\n{eqs}\nINITIAL TIME = {initial}\n~~|\nFINAL TIME = {fin}\n~~|\n\
         TIME STEP = {step}\n~~|\nSAVEPER = {save}\n~~|\n"
    )
}

fn compile(text: &str) -> CompiledModel {
    CompiledModel::new(&parse_mdl(text).unwrap(), None).unwrap()
}

fn run(m: &CompiledModel, opts: &RunOptions) -> Results {
    m.run(opts).unwrap()
}

fn column(r: &Results, name: &str) -> Vec<f64> {
    let i = r.names.iter().position(|n| n == name).unwrap();
    r.columns[i].clone()
}

#[test]
fn constant_control_equations_stay_a_fixed_grid() {
    let m = compile(&mdl(["0", "10", "0.5", "TIME STEP * 2"], "x = Time\n~~|"));
    assert!(m.time_vars.is_empty());
    let r = run(&m, &RunOptions::default());
    assert_eq!(r.times, (0..=10).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn final_time_of_model_state_stops_the_run() {
    // The SDXorg dynamic_final_time case: stop once the control value
    // passes 50, saving the time at which it did.
    let m = compile(&mdl(
        ["0", "IF THEN ELSE(c > 50, Time, 100)", "1", "TIME STEP"],
        "c = Time * 2 - 5\n~~|",
    ));
    assert!(m.time_vars.stop.is_some() && m.time_vars.dt.is_none());
    let r = run(&m, &RunOptions::default());
    assert_eq!(r.times, (0..=28).map(f64::from).collect::<Vec<_>>());
    let fin = column(&r, "FINAL TIME");
    assert_eq!(fin[27], 100.0);
    assert_eq!(fin[28], 28.0);
}

#[test]
fn time_step_and_saveper_change_during_the_run() {
    // A stock integrates 1 per unit time whatever the step, so it must
    // equal Time at every saved point, and the saved times follow the
    // step and save interval in force when each was taken.
    let m = compile(&mdl(
        [
            "0",
            "IF THEN ELSE(Time < 5, 10, 20)",
            "IF THEN ELSE(Time < 4, 1, 0.25)",
            "IF THEN ELSE(Time < 10, TIME STEP, 5)",
        ],
        "s = INTEG(1, 0)\n~~|",
    ));
    let r = run(&m, &RunOptions::default());
    let mut want: Vec<f64> = vec![0.0, 1.0, 2.0, 3.0];
    want.extend((16..40).map(|k| f64::from(k) * 0.25));
    want.extend([10.0, 15.0, 20.0]);
    assert_eq!(r.times, want);
    assert_eq!(column(&r, "s"), want);
    assert_eq!(column(&r, "TIME STEP").last(), Some(&0.25));
}

#[test]
fn rk4_takes_the_step_in_force() {
    let m = compile(&mdl(
        ["0", "4", "IF THEN ELSE(Time < 2, 1, 0.5)", "TIME STEP"],
        "s = INTEG(Time, 0)\n~~|",
    ));
    let r = run(
        &m,
        &RunOptions {
            method: Some(crate::Method::Rk4),
            ..Default::default()
        },
    );
    assert_eq!(r.times, vec![0.0, 1.0, 2.0, 2.5, 3.0, 3.5, 4.0]);
    // RK4 is exact on t^2/2.
    let s = column(&r, "s");
    for (t, v) in r.times.iter().zip(&s) {
        assert!((v - t * t / 2.0).abs() < 1e-12, "t={t}: {v}");
    }
}

#[test]
fn caller_time_settings_win_over_the_equations() {
    let m = compile(&mdl(
        ["0", "IF THEN ELSE(Time > 3, Time, 100)", "1", "TIME STEP"],
        "x = Time\n~~|",
    ));
    assert_eq!(run(&m, &RunOptions::default()).times.len(), 5);
    let fixed = run(
        &m,
        &RunOptions {
            stop: Some(8.0),
            ..Default::default()
        },
    );
    assert_eq!(fixed.times, (0..=8).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn unusable_time_step_is_a_time_spec_error_naming_it() {
    let m = compile(&mdl(
        ["0", "10", "IF THEN ELSE(Time < 3, 1, 0)", "1"],
        "x = Time\n~~|",
    ));
    match m.run(&RunOptions::default()) {
        Err(Error::BadTimeSpec { message }) => {
            assert!(message.contains("TIME STEP"), "{message}");
            assert!(message.contains("at time 3"), "{message}");
        }
        other => panic!("expected BadTimeSpec, got {other:?}"),
    }
    let m = compile(&mdl(
        ["0", "IF THEN ELSE(Time < 2, 10, 1e300)", "1e-3", "1"],
        "x = Time\n~~|",
    ));
    assert!(matches!(
        m.run(&RunOptions::default()),
        Err(Error::BadTimeSpec { .. })
    ));
}

#[test]
fn changing_step_under_a_step_indexed_delay_is_refused() {
    let m = compile(&mdl(
        ["0", "10", "IF THEN ELSE(Time < 3, 1, 0.5)", "1"],
        "y = DELAY FIXED(Time, 2, 0)\n~~|",
    ));
    match m.run(&RunOptions::default()) {
        Err(Error::BadTimeSpec { message }) => {
            assert!(message.contains("DELAY FIXED"), "{message}")
        }
        other => panic!("expected BadTimeSpec, got {other:?}"),
    }
}

#[test]
fn stepwise_sim_follows_the_dynamic_stop() {
    let m = std::sync::Arc::new(compile(&mdl(
        ["0", "IF THEN ELSE(s >= 3, Time, 50)", "1", "1"],
        "s = INTEG(r, 0)\n~~|\nr = 1\n~~|",
    )));
    let mut sim = crate::Sim::new(m, &RunOptions::default()).unwrap();
    sim.run_to(2.0).unwrap();
    assert!(!sim.is_done());
    // Faster growth reaches the threshold sooner.
    sim.set_values(&[("r".into(), Override::Value(2.0))])
        .unwrap();
    sim.run_to_end().unwrap();
    assert!(sim.is_done());
    assert_eq!(sim.time(), 3.0);
    assert_eq!(sim.get_value("s").unwrap(), 4.0);
}

#[test]
fn sweeps_need_the_caller_to_fix_a_dynamic_axis() {
    use crate::sweep::{sweep, Param, ParamValues, Progress, SweepOptions};
    let m = compile(&mdl(
        ["0", "IF THEN ELSE(Time > 3, Time, 100)", "1", "1"],
        "k = 1\n~~|\ns = INTEG(k, 0)\n~~|",
    ));
    let params = [Param {
        name: "k".into(),
        values: ParamValues::Numbers(vec![1.0, 2.0]),
    }];
    let err = sweep(&m, 2, &params, &SweepOptions::default(), &Progress::new());
    match err {
        Err(Error::BadSweep { message }) => {
            assert!(
                message.contains("FINAL TIME") && message.contains("stop="),
                "{message}"
            )
        }
        other => panic!("expected BadSweep, got {:?}", other.map(|_| ())),
    }
    let opts = SweepOptions {
        stop: Some(4.0),
        ..Default::default()
    };
    assert!(sweep(&m, 2, &params, &opts, &Progress::new()).is_ok());
}

/// `Sim::work_to` (how the Python binding chooses to wait on the calling
/// thread): steps left to the target, clamped to the stop time, times the
/// model's size; nothing once there; unbounded when the model computes its
/// own FINAL TIME, which may move.
#[test]
fn work_to_counts_the_steps_left() {
    let fixed = std::sync::Arc::new(compile(&mdl(
        ["0", "10", "0.5", "1"],
        "s = INTEG(1, 0)\n~~|",
    )));
    let n = fixed.variables().len() as f64;
    let mut sim = crate::Sim::new(fixed, &RunOptions::default()).unwrap();
    assert_eq!(sim.work_to(3.0), 6.0 * n);
    assert_eq!(sim.work_to(f64::INFINITY), 20.0 * n);
    sim.run_to(4.0).unwrap();
    assert_eq!(sim.work_to(3.0), 0.0);
    let moving = std::sync::Arc::new(compile(&mdl(
        ["0", "Time + 10", "1", "1"],
        "s = INTEG(1, 0)\n~~|",
    )));
    let sim = crate::Sim::new(moving, &RunOptions::default()).unwrap();
    assert_eq!(sim.work_to(2.0), f64::INFINITY);
}

/// A stepwise run's saved rows reach its results in blocks (see
/// `results::Staged`); `results()` at any time still shows every row saved
/// so far, equal to the whole run's first rows, and a reset starts them
/// again.
#[test]
fn stepwise_results_show_every_saved_row() {
    let m = std::sync::Arc::new(compile(&mdl(
        ["0", "20", "0.5", "1"],
        "s = INTEG(r, 1)\n~~|\nr = s * 0.1 + Time\n~~|",
    )));
    let whole = run(&m, &RunOptions::default());
    let mut sim = crate::Sim::new(m, &RunOptions::default()).unwrap();
    for t in [0.0, 3.0, 7.5, 8.0, 9.0, 16.0, 17.0, 20.0] {
        sim.run_to(t).unwrap();
        let r = sim.results();
        let n = r.times.len();
        assert_eq!(n, t.floor() as usize + 1, "rows at {t}");
        assert_eq!(r.times[..], whole.times[..n]);
        for (c, w) in r.columns.iter().zip(&whole.columns) {
            assert_eq!(c.len(), n);
            assert_eq!(c[..], w[..n]);
        }
    }
    sim.reset().unwrap();
    sim.run_to(2.0).unwrap();
    assert_eq!(sim.results().columns[0].len(), 3);
    sim.run_to_end().unwrap();
    let all = sim.into_results();
    assert_eq!(all, whole);
}
