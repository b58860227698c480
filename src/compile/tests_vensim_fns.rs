//! Vensim builtins checked by hand-computed values: time and lookup
//! functions, random draws, NPV, folding of DELAY N's order, and the
//! dialect split for names XMILE shares. Helpers live in
//! [`super::tests_vensim`].

use super::tests_vensim::{aux, check, integ, project, run, table, TAB};
use crate::error::Error;
use crate::ir::Dialect;
use crate::vm::RunOptions;
use crate::CompiledModel;

/// SDXorg `get_time_value` (INITIAL TIME -10, DT 1/4): GET TIME VALUE(0,
/// offset, 0) is TIME + offset. Also TIME BASE and QUANTUM.
#[test]
fn time_functions() {
    let r = run(
        vec![
            aux("gtv", "get_time_value(0, (1 - 20) / 3, 0)"),
            aux("gtv_start", "get_time_value(1, 2, 0)"),
            aux("tb", "time_base(100, 2)"),
            aux("q", "quantum(TIME, 2)"),
        ],
        -10.0,
        50.0,
        0.25,
    );
    check(
        &r,
        "gtv",
        TAB,
        &[(-10.0, -16.3333), (-9.75, -16.0833), (-9.0, -15.3333)],
    );
    check(&r, "gtv_start", 0.0, &[(-10.0, -8.0), (20.0, -8.0)]);
    check(&r, "tb", 0.0, &[(-10.0, 80.0), (1.0, 102.0)]);
    check(
        &r,
        "q",
        0.0,
        &[(-9.75, -8.0), (0.5, 0.0), (3.75, 2.0), (4.0, 4.0)],
    );
}

/// LOOKUP EXTRAPOLATE / FORWARD / BACKWARD / INVERT / AREA over a named
/// table, by hand: points (0,0) (1,10) (2,30).
#[test]
fn lookup_functions() {
    let r = run(
        vec![
            table("tbl", &[0.0, 1.0, 2.0], &[0.0, 10.0, 30.0]),
            aux("ex", "lookup_extrapolate(tbl, TIME)"),
            aux("fw", "lookup_forward(tbl, TIME)"),
            aux("bw", "lookup_backward(tbl, TIME)"),
            aux("inv", "lookup_invert(tbl, 10 * TIME)"),
            aux("area", "lookup_area(tbl, 0, TIME)"),
            aux("plain", "tbl(TIME)"),
        ],
        0.0,
        3.0,
        0.5,
    );
    check(&r, "ex", 0.0, &[(0.5, 5.0), (2.5, 40.0), (3.0, 50.0)]);
    check(&r, "plain", 0.0, &[(0.5, 5.0), (3.0, 30.0)]);
    check(
        &r,
        "fw",
        0.0,
        &[(0.5, 10.0), (1.0, 10.0), (1.5, 30.0), (3.0, 30.0)],
    );
    check(&r, "bw", 0.0, &[(0.5, 0.0), (1.5, 10.0), (3.0, 30.0)]);
    check(&r, "inv", 0.0, &[(0.5, 0.5), (2.0, 1.5), (3.0, 2.0)]);
    check(&r, "area", 0.0, &[(1.0, 5.0), (2.0, 25.0), (3.0, 55.0)]);
}

/// The help page's LOOKUP INVERT example, LOOK((0,0),(1,1),(3,2)): 0.5
/// gives 0.5, 1.5 gives 2, and a y outside the lookup's range :NA: ("If y
/// is outside the range of lookup ... the function will return :NA:").
#[test]
fn lookup_invert_outside_the_range_is_na() {
    let mdl = "{UTF-8}
LOOK((0,0),(1,1),(3,2)) ~~|
a = LOOKUP INVERT(LOOK, 0.5) ~~|
b = LOOKUP INVERT(LOOK, 1.5) ~~|
c = LOOKUP INVERT(LOOK, -1) ~~|
d = LOOKUP INVERT(LOOK, 3) ~~|
INITIAL TIME = 0 ~~| FINAL TIME = 1 ~~| TIME STEP = 1 ~~|
";
    let r = CompiledModel::new(&crate::load_mdl(mdl).unwrap(), None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    let at0 = |n: &str| r.column(n).unwrap()[0];
    assert_eq!(at0("a"), 0.5);
    assert_eq!(at0("b"), 2.0);
    assert_eq!(at0("c"), crate::ir::VENSIM_NA);
    assert_eq!(at0("d"), crate::ir::VENSIM_NA);
}

/// Vensim random draws: within bounds, a new number each step,
/// reproducible run to run, and different for different seed arguments.
#[test]
fn random_draws_are_seeded_and_bounded() {
    let vars = || {
        vec![
            aux("u", "random_uniform(2, 4, 1)"),
            aux("u2", "random_uniform(2, 4, 2)"),
            aux("n", "random_normal(-1, 1, 0, 5, 7)"),
            aux("e", "random_exponential(0, 100, 1, 2, 3)"),
            aux("p", "random_poisson(0, 100, 4, 0, 1, 3)"),
            aux("t", "random_triangular(0, 10, 1, 2, 6, 3)"),
        ]
    };
    let a = run(vars(), 0.0, 50.0, 1.0);
    let b = run(vars(), 0.0, 50.0, 1.0);
    for name in ["u", "u2", "n", "e", "p", "t"] {
        assert_eq!(a.column(name), b.column(name), "{name} not reproducible");
    }
    let col = |n| a.column(n).unwrap().to_vec();
    assert!(col("u").iter().all(|&x| (2.0..=4.0).contains(&x)));
    assert_ne!(col("u")[0], col("u")[1]);
    assert_ne!(col("u"), col("u2"));
    assert!(col("n").iter().all(|&x| (-1.0..=1.0).contains(&x)));
    assert!(col("e").iter().all(|&x| x >= 1.0));
    assert!(col("p").iter().all(|&x| x.fract() == 0.0 && x >= 0.0));
    assert!(col("t").iter().all(|&x| (1.0..=6.0).contains(&x)));
}

/// The order of DELAY N is folded through constants; a stock in it is an
/// error naming the variable and the offending reference.
#[test]
fn delay_n_order_must_be_known_at_init() {
    let ok = run(
        vec![
            aux("n", "k + 1"),
            aux("k", "2"),
            aux("d", "delay_n(TIME, 3, 0, n)"),
        ],
        0.0,
        3.0,
        1.0,
    );
    // Third order, delay 3: 0 at the start (initial value 0).
    check(&ok, "d", 0.0, &[(0.0, 0.0)]);
    let p = project(
        vec![integ("s", "1", "3"), aux("d", "delay_n(TIME, 3, 0, s)")],
        0.0,
        3.0,
        1.0,
    );
    let (variable, construct) = refused(CompiledModel::new(&p, None), "delay_n");
    assert_eq!(variable, "d");
    assert!(construct.contains("'s'"), "{construct}");
}

/// Names shared with XMILE keep their XMILE meaning in XMILE projects:
/// PULSE(volume, first) is volume/DT for one step there.
#[test]
fn xmile_pulse_is_unchanged() {
    let mut p = project(vec![aux("x", "pulse(1, 2)")], 0.0, 4.0, 0.5);
    let vensim = CompiledModel::new(&p, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    check(&vensim, "x", 0.0, &[(1.0, 1.0), (2.5, 1.0), (3.0, 0.0)]);
    p.dialect = Dialect::Xmile;
    let xmile = CompiledModel::new(&p, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    check(&xmile, "x", 0.0, &[(1.0, 0.0), (2.0, 2.0), (2.5, 0.0)]);
}

/// The other Vensim distributions (RANDOM BETA, BINOMIAL, GAMMA, NEGATIVE
/// BINOMIAL, WEIBULL) load, stay within their truncation, keep their
/// support, and are reproducible; GAMMA LN is ln GAMMA.
#[test]
fn more_vensim_distributions() {
    let vars = || {
        vec![
            aux("b", "random_beta(0.2, 1, 2, 3, 0, 1, 1)"),
            aux("bi", "random_binomial(0, 100, 0.3, 10, 0, 1, 2)"),
            aux("g", "random_gamma(0, 100, 3, 5, 2, 3)"),
            aux("nb", "random_negative_binomial(0, 1000, 0.4, 3, 0, 1, 4)"),
            aux("w", "random_weibull(0, 100, 2, 0, 1, 5)"),
            aux("lg", "gamma_ln(5)"),
        ]
    };
    let a = run(vars(), 0.0, 200.0, 1.0);
    let b = run(vars(), 0.0, 200.0, 1.0);
    for name in ["b", "bi", "g", "nb", "w"] {
        assert_eq!(a.column(name), b.column(name), "{name} not reproducible");
        let c = a.column(name).unwrap();
        assert!(c.iter().any(|&x| x != c[0]), "{name} draws once per step");
    }
    let col = |n| a.column(n).unwrap().to_vec();
    assert!(col("b").iter().all(|&x| (0.2..=1.0).contains(&x)));
    assert!(col("bi")
        .iter()
        .all(|&x| x.fract() == 0.0 && (0.0..=10.0).contains(&x)));
    assert!(col("g").iter().all(|&x| x >= 5.0));
    assert!(col("nb").iter().all(|&x| x.fract() == 0.0 && x >= 3.0));
    assert!(col("w").iter().all(|&x| x >= 0.0));
    assert!((col("lg")[0] - 24f64.ln()).abs() < 1e-13);
}

/// RANDOM 0 1 call sites draw independently; RANDOM PINK NOISE starts at
/// its mean and has about the requested standard deviation.
#[test]
fn random_0_1_and_pink_noise() {
    let r = run(
        vec![
            aux("a", "random_0_1()"),
            aux("b", "random_0_1()"),
            aux("pink", "random_pink_noise(10, 2, 4, 5)"),
        ],
        0.0,
        20000.0,
        1.0,
    );
    let (a, b) = (r.column("a").unwrap(), r.column("b").unwrap());
    assert_ne!(a, b);
    assert!(a.iter().all(|&x| (0.0..=1.0).contains(&x)));
    let p = r.column("pink").unwrap();
    assert_eq!(p[0], 10.0);
    let n = p.len() as f64;
    let mean = p.iter().sum::<f64>() / n;
    let sd = (p.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!((mean - 10.0).abs() < 0.2, "mean {mean}");
    assert!((sd - 2.0).abs() < 0.3, "sd {sd}");
}

/// Vensim NPV = (ACCUM + stream * TIME STEP * df) * factor, with df
/// discounted by rate / (1 + rate * TIME STEP) each step (Vensim manual,
/// NPV); NPVE's df starts at 1 / (1 + rate * TIME STEP). By hand with a
/// stream of 100, rate 0.1 and DT 1: df = 1, 1/1.1, 1/1.1^2...
#[test]
fn npv_includes_the_current_period() {
    let r = run(
        vec![
            aux("npv", "npv(100, 0.1, 0, 1)"),
            aux("npve", "npve(100, 0.1, 0, 1)"),
        ],
        0.0,
        3.0,
        1.0,
    );
    let d = 1.0 / 1.1;
    check(
        &r,
        "npv",
        1e-12,
        &[
            (0.0, 100.0),
            (1.0, 100.0 + 100.0 * d),
            (2.0, 100.0 * (1.0 + d + d * d)),
        ],
    );
    check(
        &r,
        "npve",
        1e-12,
        &[(0.0, 100.0 * d), (1.0, 100.0 * (d + d * d))],
    );
}

/// Vensim's test inputs change only at TIME STEP intervals whatever the
/// integration method (Vensim manual, STEP/PULSE): under RK4 a stock fed
/// by STEP(1, 1) with DT 1 is exactly 0 at t=1 and 1 at t=2.
#[test]
fn step_is_constant_within_a_runge_kutta_step() {
    let mut p = project(
        vec![integ("s", "step(1, 1) + pulse(3, 1)", "0")],
        0.0,
        5.0,
        1.0,
    );
    p.sim_specs.method = crate::ir::Method::Rk4;
    let r = CompiledModel::new(&p, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    check(
        &r,
        "s",
        1e-12,
        &[(1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (4.0, 4.0), (5.0, 5.0)],
    );
}

/// SDXorg `subscripted_round` at t=0, element by element as scalars:
/// QUANTUM(x, q) is q * INTEGER(x / q), or x when q <= 0; MODULO keeps the
/// dividend's sign.
#[test]
fn quantum_and_modulo_match_reference() {
    let cases = [
        ("quantum(-1, 3)", 0.0),
        ("quantum(10, 4)", 8.0),
        ("quantum(-10, -1)", -10.0),
        ("quantum(3, 0)", 3.0),
        ("quantum(4, 10)", 0.0),
        ("quantum(10, 3)", 9.0),
        ("quantum(-10, 3)", -9.0),
        ("modulo(-10, 1.5)", -1.0),
        ("modulo(-1, 3)", -1.0),
        ("modulo(10, 4)", 2.0),
        ("integer(-9.9)", -9.0),
    ];
    let vars = cases
        .iter()
        .enumerate()
        .map(|(i, (e, _))| aux(&format!("v{i}"), e))
        .collect();
    let r = run(vars, 0.0, 1.0, 1.0);
    for (i, (e, want)) in cases.iter().enumerate() {
        assert_eq!(r.column(&format!("v{i}")).unwrap()[0], *want, "{e}");
    }
}

/// Vensim's GET DATA statistics over a data variable's points (here a
/// lookup's): first and last time, count, max / min / mean over a time
/// range (`:NA:` with no point in it) and the value at a time.
#[test]
fn get_data_statistics() {
    let project = crate::load_mdl(
        "d((1,10),(2,30),(4,20)) ~~|\n\
         first = GET DATA FIRST TIME(d) ~~|\n\
         last = GET DATA LAST TIME(d) ~~|\n\
         points = GET DATA TOTAL POINTS(d) ~~|\n\
         biggest = GET DATA MAX(d, 1.5, 4) ~~|\n\
         smallest = GET DATA MIN(d, 0, 5) ~~|\n\
         average = GET DATA MEAN(d, 1, 2) ~~|\n\
         none = GET DATA MAX(d, 2.5, 3) ~~|\n\
         at three = GET DATA AT TIME(d, 3) ~~|\n\
         now = GET DATA AT TIME(d, Time) ~~|\n\
         before = GET DATA BETWEEN TIMES(d, 0.5, 0) ~~|\n\
         after = GET DATA BETWEEN TIMES(d, 5, 1) ~~|\n\
         early = GET DATA BETWEEN TIMES(d, -1, -1) ~~|\n\
         end = GET DATA BETWEEN TIMES(d, 4, 1) ~~|\n\
         INITIAL TIME = 0 ~~|\nFINAL TIME = 4 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n",
    )
    .expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&RunOptions::default()).expect("runs");
    let first = |n: &str| r.column(n).expect("column")[0];
    assert_eq!(first("first"), 1.0);
    assert_eq!(first("last"), 4.0);
    assert_eq!(first("points"), 3.0);
    assert_eq!(first("biggest"), 30.0);
    assert_eq!(first("smallest"), 10.0);
    assert_eq!(first("average"), 20.0);
    assert_eq!(first("none"), crate::ir::VENSIM_NA);
    assert_eq!(first("at_three"), 25.0);
    assert_eq!(
        r.column("now").expect("now"),
        [10.0, 10.0, 30.0, 25.0, 20.0]
    );
    // GET DATA BETWEEN TIMES: ":NA: if the time is before the first or
    // after the last data point" (Vensim's help); an end point is inside.
    assert_eq!(first("before"), crate::ir::VENSIM_NA);
    assert_eq!(first("after"), crate::ir::VENSIM_NA);
    assert_eq!(first("early"), crate::ir::VENSIM_NA);
    assert_eq!(first("end"), 20.0);
    // A time before INITIAL TIME is on the grid extended back (the earlier
    // point), not snapped up to the start (data from before the run).
    let project = crate::load_mdl(
        "d((0,0),(4,40)) ~~|
         back = GET DATA BETWEEN TIMES(d, Time - 2.5, 0) ~~|
         INITIAL TIME = 2 ~~|
FINAL TIME = 4 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
",
    )
    .expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&RunOptions::default()).expect("runs");
    // t=2: -0.5 is on -1, before the data (:NA:, not snapped up to 2);
    // t=3: 0.5 is on 0 (0, not 2's 20); t=4: 1.5 is on 1 (10, not 20).
    assert_eq!(
        r.column("back").expect("back"),
        [crate::ir::VENSIM_NA, 0.0, 10.0]
    );
}

/// A Vensim lookup read as a value (`tbl` where `tbl(x)` was meant) is
/// refused with the fix, instead of reading NaN.
#[test]
fn a_lookup_read_without_an_input_is_refused() {
    let project = crate::load_mdl(
        "tbl((0,0),(10,5)) ~~|\ny = tbl * 2 ~~|\nok = tbl(Time) ~~|\n\
         INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n",
    )
    .expect("loads");
    let (variable, construct) = refused(CompiledModel::new(&project, None), "tbl * 2");
    assert_eq!(variable, "y");
    assert!(construct.contains("'tbl' is a lookup"), "{construct}");
    assert!(construct.contains("tbl(x)"), "{construct}");
}

/// The variable and construct of an `UNSUPPORTED` refusal; anything else
/// (success or another error) fails the test, saying `what` was refused.
fn refused<T>(result: crate::error::Result<T>, what: &str) -> (String, String) {
    match result {
        Err(Error::Unsupported {
            variable,
            construct,
        }) => (variable, construct),
        Err(other) => panic!("{what}: expected UNSUPPORTED, got {other:?}"),
        Ok(_) => panic!("{what}: expected UNSUPPORTED, got a model"),
    }
}

/// Run `vars` with the one-lane batched engine and the reference `Sim`
/// (the stack code as compiled); both must agree bit for bit.
fn run_both_engines(vars: Vec<crate::ir::Variable>, stop: f64, dt: f64) -> crate::Results {
    run_both_engines_from(vars, 0.0, stop, dt)
}

/// [`run_both_engines`] from `start`.
fn run_both_engines_from(
    vars: Vec<crate::ir::Variable>,
    start: f64,
    stop: f64,
    dt: f64,
) -> crate::Results {
    run_project_both_engines(&project(vars, start, stop, dt))
}

/// Run `project` with the one-lane batched engine and the reference `Sim`;
/// both must agree bit for bit.
fn run_project_both_engines(project: &crate::Project) -> crate::Results {
    let model = std::sync::Arc::new(CompiledModel::new(project, None).expect("compiles"));
    let fast = model.run(&RunOptions::default()).expect("runs");
    let mut sim = crate::Sim::new_reference(model.clone(), &RunOptions::default()).unwrap();
    sim.run_to_end().unwrap();
    let slow = sim.into_results();
    for (name, (a, b)) in fast
        .names
        .iter()
        .zip(fast.columns.iter().zip(&slow.columns))
    {
        let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name}: the two engines differ: {a:?} vs {b:?}");
    }
    fast
}

/// Vensim DELAY MATERIAL ("the same as DELAY FIXED except that delay time
/// can be a variable": what enters leaves after the delay time it entered
/// with; inputs leaving together add up; a step at which nothing leaves
/// gives the missing value) and DELAY INFORMATION (the newest input that
/// has left: a shorter delay skips inputs, a longer one holds), by hand.
/// With TIME STEP 1 and input TIME + 1, the delay is 3 before time 4, 1 at
/// times 4 and 5, 4 afterwards: the inputs leave at
/// 0→3, 1→4, 2→5, 3→6, 4→5, 5→6, 6→10, 7→11, 8→12.
#[test]
fn delay_material_and_information_follow_the_delay_each_input_entered_with() {
    let d = "IF TIME < 4 THEN 3 ELSE IF TIME < 6 THEN 1 ELSE 4";
    let r = run_both_engines(
        vec![
            aux("x", "TIME + 1"),
            aux("d", d),
            aux("m", "delay_material(x, d, 100, -1)"),
            aux("i", "delay_information(x, d, 100)"),
            // The initial lag is read once; what arrives within it adds to
            // the initial value.
            aux(
                "early",
                "delay_material(x, IF TIME < 1 THEN 3 ELSE 1, 100, -1)",
            ),
            // A constant delay is DELAY FIXED.
            aux("m_fixed", "delay_material(x, 2, 100, -1)"),
            aux("fixed", "delay_fixed(x, 2, 100)"),
        ],
        12.0,
        1.0,
    );
    let m = [
        100.0, 100.0, 100.0, 1.0, 2.0, 8.0, 10.0, -1.0, -1.0, -1.0, 7.0, 8.0, 9.0,
    ];
    let i = [
        100.0, 100.0, 100.0, 1.0, 2.0, 5.0, 6.0, 6.0, 6.0, 6.0, 7.0, 8.0, 9.0,
    ];
    let at = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(k, &v)| (k as f64, v))
            .collect::<Vec<_>>()
    };
    check(&r, "m", 0.0, &at(&m));
    check(&r, "i", 0.0, &at(&i));
    // Input 0 leaves at step 3, inputs 1 and 2 at steps 2 and 3, then one
    // per step.
    check(
        &r,
        "early",
        0.0,
        &[
            (0.0, 100.0),
            (1.0, 100.0),
            (2.0, 102.0),
            (3.0, 4.0),
            (4.0, 4.0),
            (5.0, 5.0),
        ],
    );
    assert_eq!(r.column("m_fixed"), r.column("fixed"));
    // Everything that entered by time 8 has left by time 12 (the initial
    // value is not material that entered): the delay conserves it.
    let (x, m) = (r.column("x").unwrap(), r.column("m").unwrap());
    let left: f64 = m.iter().filter(|&&v| v > 0.0 && v < 100.0).sum();
    assert_eq!(left, x[..=8].iter().sum::<f64>());
}

/// DELAY MATERIAL's delay time when it is not a number or infinite, its
/// argument count, and a TIME STEP that changes under it.
#[test]
fn delay_material_edge_cases() {
    let r = run_both_engines(
        vec![
            aux("x", "TIME + 1"),
            // An infinite delay: the initial value throughout.
            aux("never", "delay_material(x, 1 / 0, 100, -1)"),
            // Infinite after the start: nothing more leaves.
            aux(
                "stops",
                "delay_material(x, IF TIME < 2 THEN 1 ELSE 1 / 0, 100, -1)",
            ),
            // Not a number: one step, as DELAY FIXED reads it.
            aux("nan_delay", "delay_material(x, 0 / 0, 100, -1)"),
            aux("short", "delay_material(x, 0.2, 100, -1)"),
        ],
        4.0,
        1.0,
    );
    check(
        &r,
        "never",
        0.0,
        &[(0.0, 100.0), (1.0, 100.0), (4.0, 100.0)],
    );
    check(
        &r,
        "stops",
        0.0,
        &[
            (0.0, 100.0),
            (1.0, 1.0),
            (2.0, 2.0),
            (3.0, -1.0),
            (4.0, -1.0),
        ],
    );
    check(
        &r,
        "nan_delay",
        0.0,
        &[(0.0, 100.0), (1.0, 1.0), (4.0, 4.0)],
    );
    check(&r, "short", 0.0, &[(0.0, 100.0), (1.0, 1.0), (4.0, 4.0)]);
    let p = project(vec![aux("y", "delay_material(TIME, 1, 0)")], 0.0, 1.0, 1.0);
    assert!(matches!(
        CompiledModel::new(&p, None),
        Err(Error::WrongArgumentCount { .. })
    ));
}

/// Vensim LOOKUP SLOPE(table, x, mode). The manual's examples fit the
/// points (0,0) (1,1) (2,1.5) (its listed LOOK((0,1),(1,1),(2,3)) does not
/// give them): 1 at 0.5, .75 at the point 1 (the mean of the slopes either
/// side), .5 at 1.5; outside the table 0 (mode 0), the nearest segment's
/// slope (mode 1) or :NA: (mode -1); :NA: where two points share an x.
#[test]
fn lookup_slope_matches_the_manual() {
    let na = crate::ir::VENSIM_NA;
    let r = run(
        vec![
            table("look", &[0.0, 1.0, 2.0], &[0.0, 1.0, 1.5]),
            table("jump", &[0.0, 1.0, 1.0, 2.0], &[0.0, 1.0, 2.0, 2.0]),
            aux("below_na", "lookup_slope(look, -1, -1)"),
            aux("below_zero", "lookup_slope(look, -1, 0)"),
            aux("below_extrapolated", "lookup_slope(look, -1, 1)"),
            aux("above_extrapolated", "lookup_slope(look, 5, 1)"),
            aux("at_point", "lookup_slope(look, 1, 0)"),
            aux("inside", "lookup_slope(look, 0.5, 0)"),
            aux("inside2", "lookup_slope(look, 1.5, 0)"),
            // At an end point, the slope outside comes from the mode.
            aux("first_point", "lookup_slope(look, 0, 0)"),
            aux("first_point_extrapolated", "lookup_slope(look, 0, 1)"),
            aux("at_jump", "lookup_slope(jump, 1, 0)"),
            aux("beside_jump", "lookup_slope(jump, 1.5, 0)"),
        ],
        0.0,
        1.0,
        1.0,
    );
    for (name, want) in [
        ("below_na", na),
        ("below_zero", 0.0),
        ("below_extrapolated", 1.0),
        ("above_extrapolated", 0.5),
        ("at_point", 0.75),
        ("inside", 1.0),
        ("inside2", 0.5),
        ("first_point", 0.5),
        ("first_point_extrapolated", 1.0),
        ("at_jump", na),
        ("beside_jump", 0.0),
    ] {
        check(&r, name, 0.0, &[(0.0, want)]);
    }
}

/// Vensim DEPRECIATE STRAIGHTLINE(str, dtime, fisc, init). Yearly steps:
/// 1e9 invested in 2022 and 2.5e9 in 2026, depreciated over 20 years,
/// pay out 5e7 a year from 2022 to 2041 and 1.25e8 from 2026 to 2045 (the
/// values of SDEverywhere's `depreciate` model as Vensim computed them).
/// Quarterly steps with yearly fiscal periods: a period's investments are
/// lumped, the current one counted at the current stream, and a stream
/// equal to init keeps the output constant at that value.
#[test]
fn depreciate_straightline_pays_out_each_period_over_the_life() {
    let r = run_both_engines_from(
        vec![
            aux(
                "new_capacity",
                "IF TIME = 2022 THEN 1000 ELSE IF TIME = 2026 THEN 2500 ELSE 0",
            ),
            aux("str", "1e6 * new_capacity"),
            aux("depreciated", "depreciate_straightline(str, 20, 1, 0)"),
        ],
        2020.0,
        2050.0,
        1.0,
    );
    let want = |t: f64| match t as i64 {
        2022..=2025 => 5e7,
        2026..=2041 => 1.75e8,
        2042..=2045 => 1.25e8,
        _ => 0.0,
    };
    let expect: Vec<(f64, f64)> = (2020..=2050).map(|y| (y as f64, want(y as f64))).collect();
    check(&r, "depreciated", 1e-12, &expect);

    let r = run_both_engines_from(
        vec![
            aux("steady", "depreciate_straightline(8, 2, 1, 8)"),
            aux("from_init", "depreciate_straightline(8, 2, 1, 4)"),
            // A dtime that is not a whole number of periods is rounded.
            aux("rounded", "depreciate_straightline(8, 2.2, 1, 4)"),
        ],
        0.0,
        3.0,
        0.25,
    );
    check(&r, "steady", 0.0, &[(0.0, 8.0), (1.5, 8.0), (3.0, 8.0)]);
    // Period 0: the initial stream's last period (4) and now (8), over 2.
    check(
        &r,
        "from_init",
        0.0,
        &[(0.0, 6.0), (0.75, 6.0), (1.0, 8.0), (3.0, 8.0)],
    );
    assert_eq!(r.column("rounded"), r.column("from_init"));
}

/// Vensim TIME SHIFT(data, shift): "If ... you want the model to see the
/// data in the future, you would shift the data by a positive amount" (its
/// help page; `TROUBLE coming := TIME SHIFT(TROUBLE, TROUBLE HORIZON)`
/// takes TROUBLE's values two months early). It was an unknown function.
#[test]
fn time_shift_sees_the_data_shift_later() {
    let project = crate::load_mdl(
        "d((0,1),(2,3),(4,5),(6,7)) ~~|\n\
         horizon = 2 ~~|\n\
         coming := TIME SHIFT(d, horizon) ~~|\n\
         late := TIME SHIFT(d, -1) ~~|\n\
         now = GET DATA AT TIME(d, Time) ~~|\n\
         INITIAL TIME = 0 ~~|\nFINAL TIME = 6 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n",
    )
    .expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&RunOptions::default()).expect("runs");
    let col = |n: &str| r.column(n).expect("column").to_vec();
    assert_eq!(col("now"), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    assert_eq!(col("coming"), [3.0, 4.0, 5.0, 6.0, 7.0, 7.0, 7.0]);
    assert_eq!(col("late"), [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

/// Vensim MESSAGE('text', display) "Returns 0 if display is less than or
/// equal to 0, 1 otherwise", and inside a Runge-Kutta step returns 0 (its
/// help page): a stock fed by it gains 1 per step under Euler and 1/6 under
/// RK4 (only the first of the four stages sees 1). REINITIAL(x) is x at the
/// initial time, as INITIAL: a run here is never reinitialized. Both were
/// unknown functions (MESSAGE's quoted text a syntax error).
#[test]
fn message_and_reinitial() {
    let text = "on = STEP(1, 2) ~~|\n\
                shown = MESSAGE('Project started', on) ~~|\n\
                never = MESSAGE('not shown', 0) ~~|\n\
                count = INTEG(shown, 0) ~~|\n\
                first time = REINITIAL(Time) ~~|\n\
                INITIAL TIME = 0 ~~|\nFINAL TIME = 4 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n";
    let project = crate::load_mdl(text).expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&RunOptions::default()).expect("runs");
    let col = |r: &crate::Results, n: &str| r.column(n).expect("column").to_vec();
    assert_eq!(col(&r, "shown"), [0.0, 0.0, 1.0, 1.0, 1.0]);
    assert_eq!(col(&r, "never"), [0.0; 5]);
    assert_eq!(col(&r, "count"), [0.0, 0.0, 0.0, 1.0, 2.0]);
    assert_eq!(col(&r, "first_time"), [0.0; 5]);
    let rk4 = RunOptions {
        method: Some(crate::Method::Rk4),
        ..RunOptions::default()
    };
    let r = m.run(&rk4).expect("runs");
    let count = col(&r, "count");
    assert!((count[4] - 2.0 / 6.0).abs() < 1e-12, "{count:?}");
}

/// Vensim RANDOM LOOKUP(table, min, max, shift, stretch, seed) draws from
/// the table read as a density, then stretches, shifts and keeps the value
/// within [min, max]. Density 2t on [0, 1], shift 10, stretch 2: the mean
/// is 10 + 2 * 2/3; kept within [10.5, 12] (t >= 0.25) the mean of t is
/// (2/3)(1 - 1/64) / (1 - 1/16) = 0.7, so 11.4. It was an unknown function.
#[test]
fn random_lookup_draws_from_the_table_as_a_density() {
    let text = "pdf((0,0),(1,2)) ~~|\n\
                free = RANDOM LOOKUP(pdf, -1e9, 1e9, 10, 2, 1) ~~|\n\
                kept = RANDOM LOOKUP(pdf, 10.5, 12, 10, 2, 2) ~~|\n\
                INITIAL TIME = 0 ~~|\nFINAL TIME = 40000 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n";
    let project = crate::load_mdl(text).expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&RunOptions::default()).expect("runs");
    let stats = |n: &str| {
        let c = r.column(n).expect("column");
        let mean = c.iter().sum::<f64>() / c.len() as f64;
        let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (mean, lo, hi)
    };
    let (mean, lo, hi) = stats("free");
    assert!((mean - (10.0 + 4.0 / 3.0)).abs() < 0.01, "free mean {mean}");
    assert!(lo >= 10.0 && hi <= 12.0, "free {lo}..{hi}");
    let (mean, lo, hi) = stats("kept");
    assert!((mean - 11.4).abs() < 0.01, "kept mean {mean}");
    assert!(lo >= 10.5 && hi <= 12.0, "kept {lo}..{hi}");
    // The same seed gives the same run; another run seed another one.
    let again = m.run(&RunOptions::default()).expect("runs");
    assert_eq!(again.column("kept"), r.column("kept"));
    let other = m
        .run(&RunOptions {
            seed: 7,
            ..RunOptions::default()
        })
        .expect("runs");
    assert_ne!(other.column("kept"), r.column("kept"));
}

/// [`run_project_both_engines`] on Vensim text.
fn run_mdl_both_engines(text: &str) -> crate::Results {
    run_project_both_engines(&crate::load_mdl(text).expect("loads"))
}

fn assert_close(r: &crate::Results, name: &str, want: &[f64]) {
    let got = r.column(name).expect("column");
    assert_eq!(got.len(), want.len(), "{name}: {got:?}");
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() < 1e-9,
            "{name} at step {t}: {g} vs {w}: {got:?}"
        );
    }
}

/// Vensim DELAY CONVEYOR(input, ctime, leak, initprofile, inittot,
/// initctime), by hand (TIME STEP 1). Whole steps: an input leaves ctime
/// later, and the initial contents 6 leave at 6 / initctime 3 = 2 a step
/// ("it is equal to inittot/initctime"). A conveyance time of 2.5 steps
/// splits an input between 2 and 3 steps later. Leakage "across the entire
/// conveyor, including newly added input" (10 per cent a step): 10 put on
/// a 2-step belt arrives as 8.1, and initial contents leak too. A profile
/// rising from 0 to 1 lets 100 out as 1, 3, 5, ..., 19. It was an unknown
/// function.
#[test]
fn delay_conveyor_by_hand() {
    let r = run_mdl_both_engines(
        "flat((0,1),(1,1)) ~~|\n\
         rising((0,0),(10,1)) ~~|\n\
         in = 10 * PULSE(2, 1) ~~|\n\
         whole = DELAY CONVEYOR(in, 3, 0, flat, 6, 3) ~~|\n\
         on belt = INTEG(in - whole, 6) ~~|\n\
         split = DELAY CONVEYOR(in, 2.5, 0, flat, 5, 2.5) ~~|\n\
         first = 10 * PULSE(0, 1) ~~|\n\
         leaky = DELAY CONVEYOR(first, 2, 0.1, flat, 0, 2) ~~|\n\
         leaky start = DELAY CONVEYOR(0, 2, 0.1, flat, 4, 2) ~~|\n\
         shaped = DELAY CONVEYOR(0, 10, 0, rising, 100, 10) ~~|\n\
         INITIAL TIME = 0 ~~|\nFINAL TIME = 11 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n",
    );
    let z = [0.0; 5];
    assert_close(
        &r,
        "whole",
        &[[2.0, 2.0, 2.0, 0.0, 0.0, 10.0].as_slice(), &[0.0; 6]].concat(),
    );
    assert_close(
        &r,
        "on_belt",
        &[&[6.0, 4.0, 2.0, 10.0, 10.0, 10.0][..], &[0.0; 6]].concat(),
    );
    assert_close(
        &r,
        "split",
        &[&[2.0, 2.0, 1.0, 0.0, 5.0, 5.0][..], &[0.0; 6]].concat(),
    );
    assert_close(&r, "leaky", &[&[0.0, 0.0, 8.1][..], &[0.0; 9]].concat());
    assert_close(&r, "leaky_start", &[&[2.0, 1.8][..], &[0.0; 10]].concat());
    let odd: Vec<f64> = (0..10).map(|i| 2.0 * i as f64 + 1.0).collect();
    assert_close(&r, "shaped", &[&odd[..], &z[..2]].concat());
}

/// DELAY CONVEYOR with a conveyance time that varies and leakage, against
/// the conveyor's own accounting in Vensim's manual (`convey total =
/// INTEG(input - convey out - total leakage, init stuff)`, `total leakage =
/// (convey total + TIME STEP * (input - convey out)) * leak rate`): the
/// contents never go negative, and once the input stops everything on the
/// belt leaves, so the accounting ends at 0.
#[test]
fn delay_conveyor_conserves_what_it_carries() {
    for leak in ["0", "0.05"] {
        let r = run_mdl_both_engines(&format!(
            "flat((0,1),(1,1)) ~~|\n\
             input = IF THEN ELSE(Time < 20, 5 + 3 * SIN(Time), 0) ~~|\n\
             ctime = 3 + 2 * SIN(Time / 3) ~~|\n\
             leak rate = {leak} ~~|\n\
             out = DELAY CONVEYOR(input, ctime, leak rate, flat, 12, 3) ~~|\n\
             total leakage = (convey total + TIME STEP * (input - out)) * leak rate ~~|\n\
             convey total = INTEG(input - out - total leakage, 12) ~~|\n\
             INITIAL TIME = 0 ~~|\nFINAL TIME = 40 ~~|\nTIME STEP = 0.25 ~~|\nSAVEPER = 0.25 ~~|\n"
        ));
        let total = r.column("convey_total").expect("column");
        let low = total.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(low > -1e-9, "leak {leak}: contents went to {low}");
        let last = total[total.len() - 1];
        assert!(last.abs() < 1e-9, "leak {leak}: {last} left on the belt");
        assert!(
            total[80] > 1.0,
            "leak {leak}: the belt carried {}",
            total[80]
        );
    }
}

/// DELAY CONVEYOR's initial profile must be a lookup: a number or a plain
/// variable is refused, naming the variable and the argument.
#[test]
fn delay_conveyor_needs_a_lookup_profile() {
    for profile in ["0", "k"] {
        let text = format!(
            "k = 1 ~~|\nout = DELAY CONVEYOR(1, 3, 0, {profile}, 0, 3) ~~|\n\
             INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
        );
        let project = crate::load_mdl(&text).expect("loads");
        let (variable, construct) = refused(CompiledModel::new(&project, None), profile);
        assert_eq!(variable, "out");
        assert!(
            construct.contains("lookup") && construct.contains("DELAY"),
            "{construct}"
        );
    }
}

/// A documented Vensim function this engine does not compute is named as
/// such (UNSUPPORTED), not reported as an unknown function; a misspelt
/// one still is unknown.
#[test]
fn documented_functions_without_an_implementation_say_so() {
    let run = |eq: &str| {
        let text = format!(
            "x = 1 ~~|\ny = {eq} ~~|\n\
             INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
        );
        CompiledModel::new(&crate::load_mdl(&text).expect("loads"), None).map(|_| ())
    };
    let (variable, construct) = refused(run("SHIFT IF TRUE(x, 1, 1, 1, 0)"), "SHIFT IF TRUE");
    assert_eq!(variable, "y");
    assert!(
        construct.contains("Vensim function SHIFT IF TRUE"),
        "{construct}"
    );
    assert!(matches!(
        run("DELAY BATCH(x, 1, 1, 0, 0, 0)"),
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        run("SHIFT IF TRU(x, 1)"),
        Err(Error::UnknownFunction { .. })
    ));
}
