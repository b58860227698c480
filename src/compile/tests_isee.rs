//! Engine tests of isee's builtins and structures (statistical and
//! financial builtins, HISTORY, STEP and PULSE under Runge-Kutta,
//! conveyors and their leakage), several against Stella's own runs.

use crate::vm::RunOptions;
use crate::CompiledModel;

/// isee's statistical builtins beyond the XMILE standard set load and draw
/// within their support, the seed argument reproduces a stream, and the
/// counting functions compute.
#[test]
fn isee_distributions_and_counting_functions() {
    let xmile = |eqns: &[(&str, &str)]| {
        let vars: String = eqns
            .iter()
            .map(|(n, e)| format!("<aux name=\"{n}\"><eqn>{e}</eqn></aux>"))
            .collect();
        format!(
            "<xmile xmlns=\"http://docs.oasis-open.org/xmile/ns/XMILE/v1.0\"><header/>\
             <sim_specs><start>0</start><stop>100</stop><dt>0.5</dt></sim_specs>\
             <model><variables>{vars}</variables></model></xmile>"
        )
    };
    let eqns = [
        ("x_beta", "BETA(2, 3)"),
        ("x_binomial", "BINOMIAL(10, 0.5)"),
        ("x_gamma", "GAMMA(2)"),
        ("gamma_scaled", "GAMMA(2, 3, 9)"),
        ("x_geometric", "GEOMETRIC(0.3)"),
        ("x_logistic", "LOGISTIC(0, 1)"),
        ("x_pareto", "PARETO(3, 2)"),
        ("x_triangular", "TRIANGULAR(1, 2, 5)"),
        ("x_weibull", "WEIBULL(2, 1)"),
        ("x_uniform", "UNIFORM(3, 4)"),
        ("x_montecarlo", "MONTECARLO(50)"),
        (
            "counts",
            "FACTORIAL(4) + COMBINATIONS(5, 2) + PERMUTATIONS(5, 2) + GAMMALN(1)",
        ),
        ("x_sinwave", "SINWAVE(2, 8)"),
        ("x_coswave", "COSWAVE(2, 8)"),
        ("x_pct", "PCT(0.25)"),
        // Truncated to [min, max] after the seed (NAN: no seed of its own),
        // as a public Stella model draws recovery times.
        ("recovery", "WEIBULL(3, 15.7, NAN, 0, 30)"),
        ("narrow", "NORMAL(0, 1, 7, -0.5, 0.5)"),
    ];
    let project = crate::load_xmile(&xmile(&eqns)).expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&crate::vm::RunOptions::default()).expect("runs");
    let col = |n: &str| r.column(n).unwrap().to_vec();
    let all = |n: &str, f: &dyn Fn(f64) -> bool| assert!(col(n).into_iter().all(f), "{n}");
    all("x_beta", &|x| (0.0..=1.0).contains(&x));
    all("x_binomial", &|x| {
        x.fract() == 0.0 && (0.0..=10.0).contains(&x)
    });
    all("x_gamma", &|x| x > 0.0);
    all("x_geometric", &|x| x.fract() == 0.0 && x >= 1.0);
    all("x_logistic", &|x| x.is_finite());
    all("x_pareto", &|x| x >= 2.0);
    all("x_triangular", &|x| (1.0..=5.0).contains(&x));
    all("x_weibull", &|x| x >= 0.0);
    all("x_uniform", &|x| (3.0..=4.0).contains(&x));
    // 50% per time unit with DT 0.5: a 25% chance each step.
    all("x_montecarlo", &|x| x == 0.0 || x == 1.0);
    let hits: f64 = col("x_montecarlo").iter().sum();
    assert!((20.0..=80.0).contains(&hits), "{hits} of 201");
    // An explicit seed fixes the stream whatever the run's seed; without
    // one the run's seed decides.
    let other = m
        .run(&crate::vm::RunOptions {
            seed: 2,
            ..Default::default()
        })
        .expect("runs");
    let col2 = |n: &str| other.column(n).unwrap().to_vec();
    assert_eq!(col("gamma_scaled"), col2("gamma_scaled"));
    assert_ne!(col("x_gamma"), col2("x_gamma"));
    assert_ne!(col("x_gamma")[0], col("x_gamma")[1]);
    assert_eq!(col("counts")[0], 24.0 + 10.0 + 20.0 + 0.0);
    // TIME 2 is a quarter of the period 8 (dt 0.5: the fifth saved time).
    assert!((col("x_sinwave")[4] - 2.0).abs() < 1e-12);
    assert!(col("x_coswave")[4].abs() < 1e-12);
    assert_eq!(col("x_coswave")[0], 2.0);
    assert_eq!(col("x_pct")[0], 25.0);
    all("recovery", &|x| (0.0..=30.0).contains(&x));
    all("narrow", &|x| (-0.5..=0.5).contains(&x));
    // Inside the range, not piled at its ends: the truncated normal.
    let narrow = col("narrow");
    assert!(narrow.iter().all(|x| x.abs() < 0.5));
    let mean = narrow.iter().sum::<f64>() / narrow.len() as f64;
    assert!(mean.abs() < 0.1, "{mean}");
    // A NAN seed leaves the stream to the run's seed.
    assert_ne!(col("recovery"), col2("recovery"));
    let bad = xmile(&[("b", "NORMAL(0, 1, 7, -0.5)")]);
    let project = crate::load_xmile(&bad).expect("loads");
    let err = CompiledModel::new(&project, None)
        .map(|_| ())
        .expect_err("4 args");
    assert!(err.to_string().contains("min and max"), "{err}");
}

/// `name`'s value at saved time `t`.
fn value_at(r: &crate::Results, name: &str, t: f64) -> f64 {
    let i = r.times.iter().position(|&x| x == t).expect("saved time");
    r.column(name).expect("column")[i]
}

/// A model over `D` (4 elements) with A = [4, -1, 4, -3] and B = [2, 0, 1,
/// -7] beside `variables` (XMILE), and its run's results.
fn with_a_and_b(variables: &str) -> (crate::ir::Project, crate::results::Results) {
    let xmile = format!(
        r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs>
        <dimensions><dim name="D" size="4"/></dimensions>
        <model><variables>
          <aux name="A"><dimensions><dim name="D"/></dimensions>
            <element subscript="1"><eqn>4</eqn></element><element subscript="2"><eqn>-1</eqn></element>
            <element subscript="3"><eqn>4</eqn></element><element subscript="4"><eqn>-3</eqn></element></aux>
          <aux name="B"><dimensions><dim name="D"/></dimensions>
            <element subscript="1"><eqn>2</eqn></element><element subscript="2"><eqn>0</eqn></element>
            <element subscript="3"><eqn>1</eqn></element><element subscript="4"><eqn>-7</eqn></element></aux>
          {variables}
        </variables></model></xmile>"#
    );
    let project = crate::load_xmile(&xmile).expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&crate::vm::RunOptions::default()).expect("runs");
    (project, r)
}

/// isee RANK's third argument "breaks ties using [a] second array": equal
/// values are ordered by it, the same way as the rank (smallest first for
/// a positive rank, largest first for a negative one).
#[test]
fn rank_breaks_ties_with_its_third_argument() {
    let (_, r) = with_a_and_b(
        r#"<aux name="third"><eqn>RANK(A, 3, B)</eqn></aux>
           <aux name="fourth"><eqn>RANK(A, 4, B)</eqn></aux>
           <aux name="largest"><eqn>RANK(A, -1, B)</eqn></aux>
           <aux name="third plain"><eqn>RANK(A, 3)</eqn></aux>"#,
    );
    let v = |n: &str| r.column(n).expect(n)[0];
    // A's two 4s (elements 1 and 3) are ordered by B: 1 < 2.
    assert_eq!(v("third"), 3.0);
    assert_eq!(v("fourth"), 1.0);
    assert_eq!(v("largest"), 1.0);
    // Without a tiebreaker, ties keep element order.
    assert_eq!(v("third plain"), 1.0);
}

/// isee's `dimension.element` is that element's 1-based position (Stella
/// help: `size.medium` is 2), in scalar and arrayed equations; a module
/// of the same name keeps `module.variable`.
#[test]
fn dimension_dot_element_is_its_position() {
    let xmile = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs>
        <dimensions><dim name="size"><elem name="small"/><elem name="medium"/><elem name="very large"/></dim></dimensions>
        <model><variables>
          <aux name="pos medium"><eqn>size.medium</eqn></aux>
          <aux name="smaller"><dimensions><dim name="size"/></dimensions>
            <eqn>IF size &lt; size.very_large THEN 1 ELSE 0</eqn></aux>
        </variables></model></xmile>"#;
    let r = run_xmile(xmile);
    let v = |n: &str| r.column(n).expect(n)[0];
    assert_eq!(v("pos medium"), 2.0);
    assert_eq!(v("smaller[small]"), 1.0);
    assert_eq!(v("smaller[medium]"), 1.0);
    assert_eq!(v("smaller[very large]"), 0.0);

    // An element the dimension does not have is a typed error.
    let unknown = xmile.replace("size.medium", "size.huge");
    let Err(err) = CompiledModel::new(&crate::load_xmile(&unknown).expect("loads"), None) else {
        panic!("an unknown element should be refused");
    };
    assert!(err.to_string().contains("size.huge"), "{err}");

    // A module named like the dimension keeps `module.variable`.
    let module = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs>
        <dimensions><dim name="size"><elem name="small"/><elem name="medium"/></dim></dimensions>
        <model><variables>
          <module name="size"/>
          <aux name="x"><eqn>size.medium</eqn></aux>
        </variables></model>
        <model name="size"><variables>
          <aux name="medium" access="output"><eqn>7</eqn></aux>
        </variables></model></xmile>"#;
    assert_eq!(run_xmile(module).column("x").expect("x")[0], 7.0);
}

/// XMILE MIN, MAX and MEAN take "any mix of arrays and scalars": over
/// every element of every argument (isee's `MAX(A, 0)`), while inside an
/// apply-to-all equation an array of the same dimension is its element.
#[test]
fn min_max_mean_of_arrays_and_scalars() {
    let (project, r) = with_a_and_b(
        r#"<aux name="max a 0"><eqn>MAX(A, 0)</eqn></aux>
           <aux name="min a 0"><eqn>MIN(A, 0)</eqn></aux>
           <aux name="min a b"><eqn>MIN(A, B)</eqn></aux>
           <aux name="max slice"><eqn>MAX(A[*], 6)</eqn></aux>
           <aux name="mean a 0"><eqn>MEAN(A, 0)</eqn></aux>
           <aux name="each"><dimensions><dim name="D"/></dimensions><eqn>MAX(A, 0)</eqn></aux>
           <aux name="each vs sum"><dimensions><dim name="D"/></dimensions><eqn>MAX(A, SUM(B))</eqn></aux>
           <aux name="capped total"><eqn>MAX(0, SUM(A[*]) - 1)</eqn></aux>"#,
    );
    let v = |n: &str| r.column(n).expect(n)[0];
    assert_eq!(v("max a 0"), 4.0);
    assert_eq!(v("min a 0"), -3.0);
    assert_eq!(v("min a b"), -7.0);
    assert_eq!(v("max slice"), 6.0);
    assert_eq!(v("mean a 0"), 0.8);
    for (e, want) in [("1", 4.0), ("2", 0.0), ("3", 4.0), ("4", 0.0)] {
        assert_eq!(v(&format!("each[{e}]")), want);
    }
    // A reduction inside an argument is one value: element by element
    // against it, and a scalar MAX of a sum stays one sum.
    // (SUM(B) = -4: each element of A against it.)
    for (e, want) in [("1", 4.0), ("2", -1.0), ("3", 4.0), ("4", -3.0)] {
        assert_eq!(v(&format!("each vs sum[{e}]")), want);
    }
    assert_eq!(v("capped total"), 3.0);
    let flat = crate::compile::flatten::flatten(&project, project.model(None).expect("main"))
        .expect("flattens");
    let capped = flat.vars[flat.index["capped_total"]]
        .expr
        .as_ref()
        .expect("equation");
    // MAX(0, a1 + a2 + a3 + a4 - 1), not one copy of the sum per element.
    assert!(crate::loops::instrument::node_count(capped) < 16);
}

/// isee DELAY keeps the lag its duration had at the initial time: "If you
/// specify delay duration as a variable, the DELAY function uses the
/// initial value for its fixed lag time" (Stella help, Delay builtins).
#[test]
fn isee_delay_fixes_a_variable_duration_at_the_start() {
    let xmile = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs><start>0</start><stop>8</stop><dt>0.25</dt></sim_specs>
        <model><variables>
          <aux name="lag"><eqn>2 + TIME / 10</eqn></aux>
          <aux name="late"><eqn>DELAY(TIME, lag)</eqn></aux>
          <aux name="late from"><eqn>DELAY(TIME, lag, -1)</eqn></aux>
        </variables></model></xmile>"#;
    let r = run_xmile(xmile);
    let at = |n: &str, t: f64| value_at(&r, n, t);
    for t in [2.0, 3.0, 5.5, 8.0] {
        assert_eq!(at("late", t), t - 2.0, "t = {t}");
        assert_eq!(at("late from", t), t - 2.0, "t = {t}");
    }
    assert_eq!(at("late", 1.0), 0.0);
    assert_eq!(at("late from", 1.75), -1.0);
}

/// isee HISTORY reads a variable's value at an earlier time (0 outside the
/// run so far); RANK gives the
/// index of the element at a rank (1 the smallest, -1 the largest).
#[test]
fn isee_history_and_rank() {
    let xmile = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs><start>0</start><stop>6</stop><dt>0.5</dt></sim_specs>
        <dimensions><dim name="D"><elem name="a"/><elem name="b"/><elem name="c"/></dim></dimensions>
        <model><variables>
          <stock name="s"><eqn>5</eqn><inflow>grow</inflow></stock>
          <flow name="grow"><eqn>2</eqn></flow>
          <aux name="two ago"><eqn>HISTORY(s, TIME - 2)</eqn></aux>
          <aux name="at one"><eqn>HISTORY(s, 1)</eqn></aux>
          <aux name="now"><eqn>HISTORY(s, TIME)</eqn></aux>
          <aux name="pulses"><eqn>IF TIME MOD 2 = 1 THEN PULSE(3) ELSE 0</eqn></aux>
          <aux name="v"><dimensions><dim name="D"/></dimensions>
            <element subscript="a"><eqn>3</eqn></element>
            <element subscript="b"><eqn>1</eqn></element>
            <element subscript="c"><eqn>2 + TIME</eqn></element>
          </aux>
          <aux name="lowest"><eqn>RANK(v, 1)</eqn></aux>
          <aux name="second"><eqn>RANK(v, 2)</eqn></aux>
          <aux name="highest"><eqn>RANK(v, -1)</eqn></aux>
          <aux name="curve"><eqn>TIME</eqn><gf><xpts>0,1,2</xpts><ypts>0,10,30</ypts></gf></aux>
          <aux name="inverse"><eqn>LOOKUPINV(curve, 20)</eqn></aux>
        </variables></model></xmile>"#;
    let r = run_xmile(xmile);
    let at = |n: &str, t: f64| value_at(&r, n, t);
    // s = 5 + 2 t: two time units ago it was 5 + 2 (t - 2); a time before
    // the start or after the current time reads 0 (isee's HISTORY).
    assert_eq!(at("two ago", 1.0), 0.0);
    assert_eq!(at("two ago", 2.0), 5.0);
    assert_eq!(at("two ago", 3.5), 8.0);
    assert_eq!(at("two ago", 6.0), 13.0);
    assert_eq!(at("at one", 0.5), 0.0);
    assert_eq!(at("at one", 4.0), 7.0);
    // At the current time, the current value (isee; it was a step late).
    for t in [0.0, 0.5, 3.0, 6.0] {
        assert_eq!(at("now", t), 5.0 + 2.0 * t);
    }
    // PULSE(volume) alone pulses at every DT: volume / DT where gated on.
    assert_eq!(at("pulses", 1.0), 6.0);
    assert_eq!(at("pulses", 1.5), 0.0);
    assert_eq!(at("pulses", 3.0), 6.0);
    // v = (3, 1, 2 + t): smallest is b (2); second a until c passes 3.
    assert_eq!(at("lowest", 0.0), 2.0);
    assert_eq!(at("second", 0.0), 3.0);
    assert_eq!(at("highest", 0.0), 1.0);
    assert_eq!(at("second", 2.0), 1.0);
    assert_eq!(at("highest", 2.0), 3.0);
    assert_eq!(at("inverse", 0.0), 1.5);
}

/// isee LOOKUPAREA (area between bounds in either order, 0 beyond a
/// continuous or discrete table's points, the extrapolated line beyond an
/// extrapolating one), the financial builtins FV, PMT and PV, ROOTN, and
/// ENDVAL on a first run.
#[test]
fn isee_lookuparea_financial_rootn_endval() {
    let gf = |name: &str, kind: &str| {
        format!(
            r#"<aux name="{name}"><eqn>TIME</eqn><gf type="{kind}"><xpts>0,1,2</xpts><ypts>2,4,0</ypts></gf></aux>"#
        )
    };
    let xmile = format!(
        r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header><vendor>isee systems, inc.</vendor></header>
        <sim_specs><start>0</start><stop>4</stop><dt>1</dt></sim_specs>
        <model><variables>
          {cont}{disc}{extr}
          <aux name="whole"><eqn>LOOKUPAREA(cont)</eqn></aux>
          <aux name="upto"><eqn>LOOKUPAREA(cont, TIME)</eqn></aux>
          <aux name="swapped"><eqn>LOOKUPAREA(cont, 0.5, 1.5)</eqn></aux>
          <aux name="reversed"><eqn>LOOKUPAREA(cont, 1.5, 0.5)</eqn></aux>
          <aux name="beyond"><eqn>LOOKUPAREA(cont, 3, -1)</eqn></aux>
          <aux name="steps"><eqn>LOOKUPAREA(disc, TIME)</eqn></aux>
          <aux name="extrapolated"><eqn>LOOKUPAREA(extr, 3, -1)</eqn></aux>
          <aux name="before start"><eqn>LOOKUPAREA(extr, -1)</eqn></aux>
          <aux name="payment"><eqn>PMT(0.01, 36, 10000, 0)</eqn></aux>
          <aux name="future"><eqn>FV(0, 10, -100, -500)</eqn></aux>
          <aux name="present"><eqn>PV(0.01, 36, payment, 0)</eqn></aux>
          <aux name="cube root"><eqn>ROOTN(-8, 3)</eqn></aux>
          <stock name="s"><eqn>5</eqn><inflow>grow</inflow></stock>
          <flow name="grow"><eqn>2</eqn></flow>
          <aux name="last run"><eqn>ENDVAL(s)</eqn></aux>
          <aux name="last run given"><eqn>ENDVAL(s, 42)</eqn></aux>
        </variables></model></xmile>"#,
        cont = gf("cont", "continuous"),
        disc = gf("disc", "discrete"),
        extr = gf("extr", "extrapolate"),
    );
    let project = crate::load_xmile(&xmile).expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&crate::vm::RunOptions::default()).expect("runs");
    let at = |n: &str, t: f64| {
        let i = r.times.iter().position(|&x| x == t).expect("saved time");
        r.column(n).expect("column")[i]
    };
    // Points (0, 2), (1, 4), (2, 0): trapezoids of 3 and 2.
    assert_eq!(at("whole", 0.0), 5.0);
    assert_eq!(at("upto", 0.0), 0.0);
    assert_eq!(at("upto", 1.0), 3.0);
    assert_eq!(at("upto", 2.0), 5.0);
    // Beyond the last point a continuous table adds nothing.
    assert_eq!(at("upto", 4.0), 5.0);
    // 0.5..1.5: 0.5 * (3 + 4) / 2 + 0.5 * (4 + 2) / 2, either order.
    assert_eq!(at("swapped", 0.0), 3.25);
    assert_eq!(at("reversed", 0.0), 3.25);
    assert_eq!(at("beyond", 0.0), 5.0);
    // Discrete: 2 on [0, 1), 4 on [1, 2).
    assert_eq!(at("steps", 1.0), 2.0);
    assert_eq!(at("steps", 2.0), 6.0);
    assert_eq!(at("steps", 3.0), 6.0);
    // Extrapolated: the line y = 2x + 2 on [-1, 0] adds 1, the line
    // y = 8 - 4x on [2, 3] adds -2; from the first point back to -1 alone
    // (the lower bound omitted), 1.
    assert_eq!(at("extrapolated", 0.0), 4.0);
    assert_eq!(at("before start", 0.0), 1.0);
    // isee's example loan, and interest-free sums.
    assert!((at("payment", 0.0) - -332.143_098_1).abs() < 1e-6);
    assert_eq!(at("future", 0.0), 1500.0);
    assert!((at("present", 0.0) - 10_000.0).abs() < 1e-8);
    assert_eq!(at("cube root", 0.0), -2.0);
    // A first run: ENDVAL is the initial value, or the one given.
    assert_eq!(at("last run", 4.0), 5.0);
    assert_eq!(at("last run given", 4.0), 42.0);
}

/// DELAY3, SMTH3 and TREND of a step (5 to 10 after t = 3, delay 5, DT
/// 0.25 from 1 to 13) against Stella's own run of the same model, saved in
/// the file's `isee:data_manager` (Stella 1.x, 2019): every saved value of
/// its 21 variables agrees to 1e-14; a few are checked here.
#[test]
fn isee_delay3_smth3_trend_match_stellas_saved_run() {
    let xmile = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header><vendor>isee systems, inc.</vendor></header>
        <sim_specs method="Euler"><start>1</start><stop>13</stop><dt>0.25</dt></sim_specs>
        <model><variables>
          <aux name="Input"><eqn>IF (TIME &gt; 3) THEN 10 ELSE 5</eqn></aux>
          <aux name="Delay Time"><eqn>5</eqn></aux>
          <aux name="delayed"><eqn>DELAY3(Input, Delay_Time)</eqn></aux>
          <aux name="smoothed"><eqn>SMTH3(Input, Delay_Time)</eqn></aux>
          <aux name="trend"><eqn>TREND(Input, Delay_Time)</eqn></aux>
        </variables></model></xmile>"#;
    let r = run_xmile(xmile);
    let stella = [
        ("delayed", 3.0, 5.0),
        ("delayed", 4.0, 5.016875),
        ("delayed", 4.25, 5.05990625),
        ("delayed", 13.0, 9.72641788555305),
        ("smoothed", 4.0, 5.016875),
        ("smoothed", 13.0, 9.72641788555305),
        ("trend", 3.0, 0.0),
        ("trend", 3.25, 0.2),
        ("trend", 3.5, 0.180952380952381),
        ("trend", 13.0, 0.0145089515619729),
    ];
    for (name, t, want) in stella {
        let i = r.times.iter().position(|&x| x == t).expect("saved time");
        let got = r.column(name).expect("column")[i];
        assert!(
            (got - want).abs() <= 1e-13 * want.abs().max(1.0),
            "{name} at {t}: {got} vs {want}"
        );
    }
}

/// XMILE STEP and PULSE keep the step's value inside a Runge-Kutta step
/// (as Stella's RK2 runs show, and as Vensim's do): under RK2 with DT 1 a
/// stock fed by STEP(1, 0.5) is still 0 at t = 1 (both Heun stages see the
/// step not yet taken) and a PULSE of 10 at t = 2 moves the stock by
/// exactly 10 over the step, as under Euler.
#[test]
fn xmile_step_and_pulse_hold_within_a_runge_kutta_step() {
    let xml = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs method="RK2"><start>0</start><stop>4</stop><dt>1</dt></sim_specs>
        <model><variables>
          <stock name="s"><eqn>0</eqn><inflow>f</inflow></stock>
          <flow name="f"><eqn>STEP(1, 0.5)</eqn></flow>
          <stock name="p"><eqn>0</eqn><inflow>g</inflow></stock>
          <flow name="g"><eqn>PULSE(10, 2, 0)</eqn></flow>
        </variables></model></xmile>"#;
    let r = run_xmile(xml);
    assert_eq!(r.column("s").expect("s"), [0.0, 0.0, 1.0, 2.0, 3.0]);
    assert_eq!(r.column("p").expect("p"), [0.0, 0.0, 0.0, 10.0, 10.0]);
}

/// The height too: Stella computes a STEP or PULSE once per DT, so under
/// RK2 a STEP whose height is a stock keeps the step-start height in the
/// second stage (S' = STEP(S, 0) gives S * (1 + dt) per step, not the
/// S * (1 + dt + dt^2/2) of a height read at the stage's state). A Stella
/// model's RK2 run (the Kaibab deer model, STEP(population * fraction,
/// 1907)) is reproduced only so.
#[test]
fn xmile_step_and_pulse_keep_their_step_start_height_under_runge_kutta() {
    let xml = |method: &str| {
        format!(
            r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs method="{method}"><start>0</start><stop>1</stop><dt>0.5</dt></sim_specs>
        <model><variables>
          <stock name="s"><eqn>1</eqn><inflow>f</inflow></stock>
          <flow name="f"><eqn>STEP(s, 0)</eqn></flow>
          <stock name="p"><eqn>1</eqn><inflow>g</inflow></stock>
          <flow name="g"><eqn>PULSE(p, 0, 0.5)</eqn></flow>
        </variables></model></xmile>"#
        )
    };
    for method in ["RK2", "RK4", "Euler"] {
        let project = crate::load_xmile(&xml(method)).expect("loads");
        let r = CompiledModel::new(&project, None)
            .expect("compiles")
            .run(&RunOptions::default())
            .expect("runs");
        assert_eq!(r.column("s").expect("s"), [1.0, 1.5, 2.25], "{method}");
        // A pulse of volume p every step doubles p at each step.
        assert_eq!(r.column("p").expect("p"), [1.0, 2.0, 4.0], "{method}");
    }
}

/// One conveyor (isee): `len` transit, `dt`, initial contents and inflow.
fn conveyor_model(dt: &str, len: &str, initial: &str, inflow: &str, extra: &str) -> String {
    format!(
        r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs><start>0</start><stop>8</stop><dt>{dt}</dt></sim_specs>
        <model><variables>
          <stock name="belt"><eqn>{initial}</eqn><inflow>loading</inflow>
            <outflow>unloading</outflow><conveyor><len>{len}</len>{extra}</conveyor></stock>
          <flow name="loading"><eqn>{inflow}</eqn></flow>
          <flow name="unloading"><eqn>999</eqn></flow>
          <stock name="done"><eqn>0</eqn><inflow>unloading</inflow></stock>
        </variables></model></xmile>"#
    )
}

/// Load, compile and run an XMILE document.
fn run_xmile(xml: &str) -> crate::Results {
    let project = crate::load_xmile(xml).expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    m.run(&crate::vm::RunOptions::default()).expect("runs")
}

/// A conveyor delivers what enters one transit time later (a belt of
/// round(len / DT) slats); its initial contents, spread evenly over the
/// slats, leave during the first transit; the outflow's own equation is
/// not used.
#[test]
fn conveyors_deliver_after_their_transit_time() {
    let col = |r: &crate::Results, n: &str| r.column(n).expect("column").to_vec();
    // Empty belt, 4 slats of 0.5: nothing leaves before t = 2, then 10.
    let r = run_xmile(&conveyor_model("0.5", "2", "0", "10", ""));
    let out = col(&r, "unloading");
    assert_eq!(&out[..4], &[0.0; 4]);
    assert!(out[4..].iter().all(|&v| v == 10.0), "{out:?}");
    assert!(col(&r, "belt")[4..].iter().all(|&v| v == 20.0));
    // A full belt in balance: 1000 over 16 slats leave at 250 per time.
    let r = run_xmile(&conveyor_model("0.25", "4", "1000", "250", ""));
    assert!(col(&r, "unloading").iter().all(|&v| v == 250.0));
    assert!(col(&r, "belt").iter().all(|&v| v == 1000.0));
    // 1.25 / 0.5 = 2.5 slats round to 3: the first delivery is at t = 1.5.
    let r = run_xmile(&conveyor_model("0.5", "1.25", "0", "8", ""));
    assert_eq!(col(&r, "unloading")[..4], [0.0, 0.0, 0.0, 8.0]);
    // 30 on a 3-slat belt leave at 10 per time; then the inflow TIME comes
    // off 3 time units late; the belt holds what it should.
    let r = run_xmile(&conveyor_model("1", "3", "30", "TIME", ""));
    assert_eq!(
        col(&r, "unloading"),
        [10.0, 10.0, 10.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    );
    assert_eq!(col(&r, "belt")[..5], [30.0, 20.0, 11.0, 3.0, 6.0]);
    let done = col(&r, "done");
    assert_eq!(done[8], 30.0 + 10.0, "material is conserved: {done:?}");
}

/// Conveyor options that are not simulated are refused by name, not run as
/// a plain stock.
#[test]
fn unsupported_conveyor_options_are_refused() {
    let refused = |xml: &str| match crate::load_xmile(xml) {
        Err(crate::error::Error::Unsupported {
            variable,
            construct,
        }) => format!("{variable}: {construct}"),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let capacity = conveyor_model("1", "3", "0", "5", "<capacity>10</capacity>");
    assert!(refused(&capacity).contains("belt: a conveyor's <capacity>"));
    let no_end = leaky_conveyor("", "", "0")
        .replace("<outflow>unloading</outflow>", "")
        .replace(
            "<stock name=\"done\"><eqn>0</eqn><inflow>unloading</inflow></stock>",
            "",
        );
    assert!(refused(&no_end).contains("belt: a conveyor whose outflows are all leakages"));
    let whole_units = leaky_conveyor("", "<leak_integers/>", "0");
    assert!(refused(&whole_units).contains("lost: a conveyor leakage of whole units"));
    let discrete = conveyor_model("1", "3", "0", "5", "")
        .replace("<conveyor>", "<conveyor discrete=\"true\">");
    assert!(refused(&discrete).contains("belt: a discrete conveyor"));
    let queue = conveyor_model("1", "3", "0", "5", "").replace("<conveyor>", "<queue/><conveyor>");
    assert!(refused(&queue).contains("queue"));
}

/// A conveyor of transit 2 at DT 0.5 (4 slats) loaded at 10 a time unit,
/// with a leakage flow `lost` of fraction 0.2 (`conveyor` holds the
/// `<conveyor>` attributes, `tags` the leakage's extra tags, `initial` the
/// belt's initial contents).
fn leaky_conveyor(conveyor: &str, tags: &str, initial: &str) -> String {
    format!(
        r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs><start>0</start><stop>4</stop><dt>0.5</dt></sim_specs>
        <model><variables>
          <stock name="belt"><eqn>{initial}</eqn><inflow>loading</inflow>
            <outflow>unloading</outflow><outflow>lost</outflow>
            <conveyor {conveyor}><len>2</len></conveyor></stock>
          <flow name="loading"><eqn>10</eqn></flow>
          <flow name="unloading"><eqn>999</eqn></flow>
          <flow name="lost"><eqn>0.2</eqn><non_negative/><leak/>{tags}</flow>
          <stock name="done"><eqn>0</eqn><inflow>unloading</inflow></stock>
          <stock name="gone"><eqn>0</eqn><inflow>lost</inflow></stock>
        </variables></model></xmile>"#
    )
}

/// isee's linear conveyor leakage: 0.2 of what enters leaks on the way, the
/// same amount at each of the 4 steps it rides, so the leakage climbs by
/// 10 * 0.2 / 4 = 0.5 a step to 2 and the outflow is 0.8 * 10 = 8 once the
/// first load arrives. The belt settles at isee's steady state
/// `T i - (n - 1) f i DT / 2` = 20 - 1.5 = 18.5, and initialized there it
/// stays there.
/// Nothing is created or lost: belt + done + gone = 10 t.
#[test]
fn isee_conveyor_linear_leakage() {
    let r = run_xmile(&leaky_conveyor("", "", "0"));
    let col = |n: &str| r.column(n).expect("column").to_vec();
    let (lost, out, belt) = (col("lost"), col("unloading"), col("belt"));
    assert_eq!(lost[..6], [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]);
    assert_eq!(out[..6], [0.0, 0.0, 0.0, 0.0, 8.0, 8.0]);
    assert_eq!(belt[..6], [0.0, 5.0, 9.75, 14.25, 18.5, 18.5]);
    let (done, gone) = (col("done"), col("gone"));
    for (i, t) in r.times.iter().enumerate() {
        assert!(
            (belt[i] + done[i] + gone[i] - 10.0 * t).abs() < 1e-9,
            "t={t}"
        );
    }
    let r = run_xmile(&leaky_conveyor("", "", "18.5"));
    assert!(r
        .column("belt")
        .expect("belt")
        .iter()
        .all(|&v| (v - 18.5).abs() < 1e-12));
    assert!(r
        .column("unloading")
        .expect("out")
        .iter()
        .all(|&v| (v - 8.0).abs() < 1e-12));
    // A zone at the exit (leak_start = 1, Stella's way to split a flow):
    // the leak takes 0.2 of each load as it leaves.
    let split = leaky_conveyor("", "", "0").replace(
        "<flow name=\"lost\">",
        "<flow name=\"lost\" leak_start=\"1\">",
    );
    let r = run_xmile(&split);
    assert_eq!(
        r.column("lost").expect("lost")[..6],
        [0.0, 0.0, 0.0, 0.0, 2.0, 2.0]
    );
    assert_eq!(r.column("unloading").expect("out")[3..6], [0.0, 8.0, 8.0]);
}

/// A belt of more slats than leakage is computed for gives NaN flows at
/// once, not a run that never ends.
#[test]
fn isee_conveyor_leakage_on_an_endless_belt_is_nan() {
    let xml = leaky_conveyor("", "", "1").replace("<len>2</len>", "<len>1e12</len>");
    let r = run_xmile(&xml);
    assert!(r.column("lost").expect("lost").iter().all(|v| v.is_nan()));
}

/// Stella's own run of a leaky conveyor (transit 4, DT 1, 8 on the belt at
/// the start, 1 a month in, 30% leaking; a public Stella model with its
/// exported results): the initial contents lie on the belt as the steady
/// state would (8 / 3.55 a slat-load), so the outflow is 0.7 * 8 / 3.55
/// and the leakage 0.3 * 8 / 3.55 until the first new load arrives, then
/// 0.7 and 0.3, and the belt settles at 3.55.
#[test]
fn isee_conveyor_leakage_matches_stellas_run() {
    let xml = leaky_conveyor("", "", "8")
        .replace("<dt>0.5</dt>", "<dt>1</dt>")
        .replace("<stop>4</stop>", "<stop>8</stop>")
        .replace("<len>2</len>", "<len>4</len>")
        .replace("<eqn>10</eqn>", "<eqn>1</eqn>")
        .replace("<eqn>0.2</eqn>", "<eqn>0.3</eqn>");
    let r = run_xmile(&xml);
    let col = |n: &str| r.column(n).expect("column").to_vec();
    let stella = [
        (
            "lost",
            [
                0.676056338028,
                0.582042253521,
                0.488028169014,
                0.394014084507,
                0.3,
            ],
        ),
        (
            "unloading",
            [
                1.57746478873,
                1.57746478873,
                1.57746478873,
                1.57746478873,
                0.7,
            ],
        ),
        (
            "belt",
            [8.0, 6.74647887324, 5.58697183099, 4.52147887324, 3.55],
        ),
    ];
    for (name, want) in stella {
        for (t, w) in want.iter().enumerate() {
            let got = col(name)[t];
            assert!((got - w).abs() < 1e-10, "{name} at {t}: {got} vs {w}");
        }
    }
}

/// isee's exponential leakage: 0.2 per time unit of what is left, at each
/// step (0.1 of it at DT 0.5), so 0.9^4 = 0.6561 of a load leaves: the
/// outflow settles at 6.561 and the leakage at 10 - 6.561 = 3.439.
#[test]
fn isee_conveyor_exponential_leakage() {
    let r = run_xmile(&leaky_conveyor("exponential_leak=\"true\"", "", "0"));
    let col = |n: &str| r.column(n).expect("column").to_vec();
    let (lost, out) = (col("lost"), col("unloading"));
    // First step after loading: 0.2 * 0.5 * 10 of the newest slat.
    assert!((lost[1] - 1.0).abs() < 1e-12, "{lost:?}");
    assert!((out[4] - 6.561).abs() < 1e-12, "{out:?}");
    assert!((lost[4] - 3.439).abs() < 1e-12, "{lost:?}");
    let (belt, done, gone) = (col("belt"), col("done"), col("gone"));
    for (i, t) in r.times.iter().enumerate() {
        assert!(
            (belt[i] + done[i] + gone[i] - 10.0 * t).abs() < 1e-9,
            "t={t}"
        );
    }
}

/// An arrayed flow into a stock that is not arrayed (or arrayed over fewer
/// dimensions), as isee allows: the stock takes the sum of the flow's
/// elements that agree with it (the Imperial College COVID replication's
/// `Array deaths`, fed by deaths per ICU stage).
#[test]
fn arrayed_flow_into_a_narrower_stock_adds_up() {
    let xmile = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
        <sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
        <dimensions><dim name="S"><elem name="1"/><elem name="2"/><elem name="3"/></dim>
          <dim name="R"><elem name="a"/><elem name="b"/></dim></dimensions>
        <model><variables>
          <flow name="deaths"><dimensions><dim name="S"/></dimensions><eqn>S</eqn></flow>
          <stock name="total"><eqn>0</eqn><inflow>deaths</inflow></stock>
          <flow name="moves"><dimensions><dim name="R"/><dim name="S"/></dimensions><eqn>S * 10</eqn></flow>
          <stock name="by region"><dimensions><dim name="R"/></dimensions><eqn>0</eqn><outflow>moves</outflow></stock>
        </variables></model></xmile>"#;
    let r = run_xmile(xmile);
    assert_eq!(r.column("total").expect("total"), [0.0, 6.0, 12.0]);
    assert_eq!(r.column("by_region[b]").expect("b"), [0.0, -60.0, -120.0]);
    // In isee's tools, where stocks do not go below zero: the scalar stock's
    // cap on its outflow counts the whole arrayed inflow (6 a step, so 5 can
    // leave from an empty stock); an outflow wider than its stock would
    // share one cap among its elements and is refused.
    let isee = xmile
        .replace(
            "<header/>",
            "<header><vendor>isee systems, inc.</vendor></header>",
        )
        .replace(
            "<inflow>deaths</inflow></stock>",
            "<inflow>deaths</inflow><outflow>burial</outflow><non_negative/></stock>\
             <flow name=\"burial\"><eqn>5</eqn><non_negative/></flow>",
        );
    let wide = isee.replace(
        "<outflow>moves</outflow></stock>",
        "<outflow>moves</outflow><non_negative/></stock>",
    );
    let refused = crate::load_xmile(&wide)
        .map(|_| ())
        .expect_err("wide outflow");
    assert!(refused.to_string().contains("flow 'moves'"), "{refused}");
    let isee = isee.replace(
        "<outflow>moves</outflow></stock>",
        "<inflow>moves</inflow><non_negative/></stock>",
    );
    let r = run_xmile(&isee);
    assert_eq!(r.column("burial").expect("burial"), [5.0, 5.0, 5.0]);
    assert_eq!(r.column("total").expect("total"), [0.0, 1.0, 2.0]);
}

/// A Stella model's non-negative stock cuts back its outflows, in the order
/// they are listed, to what it holds plus this step's inflows; the reduced
/// flow is what the next stock receives. Files from other tools keep the
/// clamp (the SDXorg references').
#[test]
fn isee_non_negative_stocks_cut_back_their_outflows() {
    let model = |vendor: &str| {
        format!(
            r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
            <header><vendor>{vendor}</vendor></header>
            <sim_specs><start>0</start><stop>4</stop><dt>1</dt></sim_specs>
            <model><variables>
              <stock name="tank"><eqn>10</eqn><inflow>rain</inflow>
                <outflow>first</outflow><outflow>second</outflow><non_negative/></stock>
              <flow name="rain"><eqn>1</eqn></flow>
              <flow name="first"><eqn>3</eqn><non_negative/></flow>
              <flow name="second"><eqn>3</eqn><non_negative/></flow>
              <stock name="drained"><eqn>0</eqn><inflow>first</inflow><inflow>second</inflow></stock>
            </variables></model></xmile>"#
        )
    };
    let run = |vendor: &str| {
        let project = crate::load_xmile(&model(vendor)).expect("loads");
        let m = CompiledModel::new(&project, None).expect("compiles");
        m.run(&RunOptions::default()).expect("runs")
    };
    let r = run("isee systems, inc.");
    let col = |r: &crate::Results, n: &str| r.column(n).expect("column").to_vec();
    // 10 + 1 - 6 = 5; 5 + 1 - 6 = 0; then only the rain can leave, first
    // outflow first.
    assert_eq!(col(&r, "tank"), [10.0, 5.0, 0.0, 0.0, 0.0]);
    assert_eq!(col(&r, "first"), [3.0, 3.0, 1.0, 1.0, 1.0]);
    assert_eq!(col(&r, "second"), [3.0, 3.0, 0.0, 0.0, 0.0]);
    // Nothing is created: what drained is what the tank held and received.
    assert_eq!(col(&r, "drained"), [0.0, 6.0, 12.0, 13.0, 14.0]);
    // Another vendor: the tank is clamped and the flows keep their values.
    let r = run("sdCloud");
    assert_eq!(col(&r, "tank"), [10.0, 5.0, 0.0, 0.0, 0.0]);
    assert_eq!(col(&r, "first"), [3.0; 5]);
    assert_eq!(col(&r, "drained")[4], 24.0);
    // An outflow that is not a number (0/0 in Lmorisse's Borneo model) is
    // not replaced by the cap: the stock is not emptied in one step.
    // Nor does the flow's own non-negative floor turn it into 0.
    let nan = model("isee systems, inc.").replace(
        "<flow name=\"second\"><eqn>3</eqn>",
        "<flow name=\"second\"><eqn>IF TIME >= 2 THEN 0 / 0 ELSE 3</eqn>",
    );
    assert!(nan.contains("0 / 0 ELSE 3</eqn><non_negative/>"));
    let r = run_xmile(&nan);
    let (second, tank) = (col(&r, "second"), col(&r, "tank"));
    assert_eq!(second[..2], [3.0, 3.0]);
    assert!(second[2..].iter().all(|v| v.is_nan()), "{second:?}");
    // Nor is the stock then clamped to zero: it is not a number either.
    assert_eq!(tank[..3], [10.0, 5.0, 0.0]);
    assert!(tank[3..].iter().all(|v| v.is_nan()), "{tank:?}");
}

/// A non-negative stock whose initial value is computed from its own
/// outflow (`Inv = ship * 2`, a public Stella model's pattern): while
/// initializing the flow's own equation counts, not the cap the stock puts
/// on it, so there is no circular equation; during the run the cap holds.
#[test]
fn isee_non_negative_stock_initialized_from_its_outflow() {
    let xml = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
        <header><vendor>isee systems, inc.</vendor></header>
        <sim_specs><start>0</start><stop>3</stop><dt>1</dt></sim_specs>
        <model><variables>
          <stock name="Inv"><eqn>ship*2</eqn><outflow>ship</outflow><non_negative/></stock>
          <flow name="ship"><eqn>5</eqn><non_negative/></flow>
        </variables></model></xmile>"#;
    let r = run_xmile(xml);
    assert_eq!(r.column("inv").expect("inv"), [10.0, 5.0, 0.0, 0.0]);
    assert_eq!(r.column("ship").expect("ship"), [5.0, 5.0, 0.0, 0.0]);
}

/// Two non-negative stocks passing farms back and forth, where the flow
/// back is computed from the flow out (a Flanders land-use model: "new
/// owners" = "retirement" x share): the flow back is computed after the flow
/// out, so it does not count in what the first stock can give, and the caps
/// make no circular equation (they did, and the model was refused).
#[test]
fn isee_caps_leave_out_inflows_computed_from_the_outflow() {
    let xml = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
        <header><vendor>isee systems, inc.</vendor></header>
        <sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
        <model><variables>
          <stock name="farms"><eqn>10</eqn><inflow>back</inflow>
            <outflow>retire</outflow><non_negative/></stock>
          <stock name="standby"><eqn>0</eqn><inflow>retire</inflow>
            <outflow>back</outflow><non_negative/></stock>
          <flow name="retire"><eqn>farms * 0.2</eqn><non_negative/></flow>
          <flow name="back"><eqn>retire * 2</eqn><non_negative/></flow>
        </variables></model></xmile>"#;
    let project = crate::load_xmile(xml).expect("loads");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let r = m.run(&RunOptions::default()).expect("runs");
    let col = |n: &str| r.column(n).expect("column").to_vec();
    // retire = 2 (farms/DT = 10 allows it); back wants 4 but standby holds
    // 0 and receives 2. Then farms = 10 - 2 + 2 = 10, standby = 0 again.
    assert_eq!(col("retire"), [2.0, 2.0, 2.0]);
    assert_eq!(col("back"), [2.0, 2.0, 2.0]);
    assert_eq!(col("farms"), [10.0, 10.0, 10.0]);
    assert_eq!(col("standby"), [0.0, 0.0, 0.0]);
}

/// A variable named like a builtin does not hide the builtin: a flow
/// "Pulse" = pulse(100, 2) and "Ramp" = ramp(3, 5) call PULSE and RAMP
/// (se-lib's test model), while a graphical function is still called by
/// its name.
#[test]
fn a_variable_named_like_a_builtin_still_calls_the_builtin() {
    let xml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/builtin_named_flows.xmile"),
    )
    .expect("fixture");
    let r = run_xmile(&xml);
    let col = |n: &str| r.column(n).expect("column").to_vec();
    assert_eq!(col("Pulse")[2], 100.0);
    assert_eq!(col("Ramp")[6], 3.0);
    assert_eq!(
        col("Level"),
        [0.0, 0.0, 0.0, 100.0, 100.0, 100.0, 100.0, 103.0, 109.0, 118.0, 130.0]
    );
    assert_eq!(col("uses table"), [5.0; 11]);
}

/// The same for the builtins the compiler handles itself (random draws,
/// PREVIOUS, INIT): an aux "normal" = NORMAL(0, 1, 1) draws, as an aux
/// "x" with the same equation does; calling a variable that has no table
/// and is no builtin is still refused. isee RAMP without its time starts at
/// the start time ("If you do not set RAMP's time, it will begin at the
/// outset of the simulation").
#[test]
fn builtins_the_compiler_handles_are_called_from_variables_named_like_them() {
    let model = |vars: &str| {
        format!(
            r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header><vendor>isee systems, inc.</vendor></header>
            <sim_specs><start>2</start><stop>5</stop><dt>1</dt></sim_specs>
            <model><variables>{vars}</variables></model></xmile>"#
        )
    };
    let r = run_xmile(&model(
        r#"<aux name="normal"><eqn>NORMAL(0, 1, 1)</eqn></aux>
           <aux name="init"><eqn>INIT(TIME)</eqn></aux>
           <aux name="ramp"><eqn>RAMP(2)</eqn></aux>"#,
    ));
    let col = |n: &str| r.column(n).expect("column").to_vec();
    let draws = col("normal");
    assert!(
        draws.iter().all(|x| x.is_finite() && x.abs() < 10.0),
        "{draws:?}"
    );
    assert!(draws.windows(2).any(|w| w[0] != w[1]), "{draws:?}");
    assert_eq!(col("init"), [2.0; 4]);
    assert_eq!(col("ramp"), [0.0, 2.0, 4.0, 6.0]);
    let bad = crate::load_xmile(&model(
        r#"<aux name="k"><eqn>3</eqn></aux><aux name="y"><eqn>k(2)</eqn></aux>"#,
    ))
    .map_err(|e| e.to_string())
    .and_then(|p| {
        CompiledModel::new(&p, None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    assert!(bad.is_err(), "{bad:?}");
}

/// XMILE 1.0: a subscript outside its dimension reads `invalid_index_value`,
/// 0 unless the header's `<uses_arrays>` asks for NaN. The aging-chain idiom
/// `cohort[age - 1]` reads 0 at the first age instead of spreading NaN;
/// a NaN position stays NaN (it read the first element).
#[test]
fn an_index_outside_its_dimension_reads_zero_unless_nan_is_asked_for() {
    let model = |options: &str| {
        format!(
            r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
            <header>{options}</header>
            <sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
            <dimensions><dim name="age" size="3"/></dimensions>
            <model><variables>
              <aux name="a"><dimensions><dim name="age"/></dimensions><eqn>age*10</eqn></aux>
              <aux name="prev"><dimensions><dim name="age"/></dimensions><eqn>a[age-1]</eqn></aux>
              <aux name="k"><eqn>TIME+2</eqn></aux>
              <aux name="dyn"><eqn>a[k]</eqn></aux>
              <aux name="gone"><eqn>a[NAN]</eqn></aux>
            </variables></model></xmile>"#
        )
    };
    let col = |r: &crate::Results, n: &str| r.column(n).expect("column").to_vec();
    for options in [
        "",
        r#"<options><uses_arrays maximum_dimensions="1" invalid_index_value="0"/></options>"#,
    ] {
        let r = run_xmile(&model(options));
        assert_eq!(col(&r, "prev[1]"), [0.0; 3]);
        assert_eq!(col(&r, "prev[3]"), [20.0; 3]);
        assert_eq!(col(&r, "dyn"), [20.0, 30.0, 0.0]);
        assert!(col(&r, "gone").iter().all(|v| v.is_nan()));
    }
    let nan =
        r#"<options><uses_arrays maximum_dimensions="1" invalid_index_value="NaN"/></options>"#;
    let r = run_xmile(&model(nan));
    assert!(col(&r, "prev[1]").iter().all(|v| v.is_nan()));
    assert_eq!(col(&r, "dyn")[..2], [20.0, 30.0]);
    assert!(col(&r, "dyn")[2].is_nan());
}
