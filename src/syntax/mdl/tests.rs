//! Unit tests of the `.mdl` reader on small inline models.

use super::parse_mdl;
use crate::error::Error;
use crate::ir::{Equations, VarKind};
use crate::syntax::ast::{BinaryOp, Expr, IndexExpr, UnaryOp};

const CONTROL: &str = "
********************************************************
\t.Control
********************************************************~
\t\tSimulation Control Parameters
\t|

FINAL TIME  = 30
\t~\tMinute
\t~\tThe final time for the simulation.
\t|

INITIAL TIME  = 0
\t~\tMinute
\t~\tThe initial time for the simulation.
\t|

SAVEPER  = 
        TIME STEP * 2
\t~\tMinute [0,?]
\t~\tThe frequency with which output is stored.
\t|

TIME STEP  = 0.125
\t~\tMinute [0,?]
\t~\tThe time step for the simulation.
\t|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*View 1
$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0
///---\\\\\\
:L<%^E!@
";

fn model(eqs: &str) -> String {
    format!("{{UTF-8}}\n{eqs}\n{CONTROL}")
}

fn expr_of(src: &str) -> Expr {
    let p = parse_mdl(&model(&format!("x = {src}\n\t~\t~\t|\n"))).unwrap();
    match &p.models[0].get("x").unwrap().equations {
        Equations::Single(eq) => eq.expr.clone(),
        other => panic!("{other:?}"),
    }
}

fn show(e: &Expr) -> String {
    match e {
        Expr::Num(v) => format!("{v}"),
        Expr::Var(n, _) => n.clone(),
        Expr::Subscript(n, idx, _) => format!("{n}[{}]", idx.len()),
        Expr::Call(f, a, _) => format!("{f}({})", a.iter().map(show).collect::<Vec<_>>().join(",")),
        Expr::Unary(UnaryOp::Neg, x) => format!("(-{})", show(x)),
        Expr::Unary(UnaryOp::Not, x) => format!("(not {})", show(x)),
        Expr::Unary(_, x) => show(x),
        Expr::Binary(op, a, b) => format!("({} {op} {})", show(a), show(b)),
        Expr::If(c, a, b) => format!("if({},{},{})", show(c), show(a), show(b)),
    }
}

#[test]
fn teacup_stock_and_control() {
    let src = model(
        "Teacup Temperature= INTEG (
\t-Heat Loss to Room,
\t\t180)
\t~\tDegrees Fahrenheit [32,212]
\t~\tThe model is only valid for the liquid phase of tea. \\
\t\tsecond line.
\t|

Heat Loss to Room=
\t(Teacup Temperature - Room Temperature) / Characteristic Time
\t~\tDegrees/Minute
\t~\t|
",
    );
    let p = parse_mdl(&src).unwrap();
    assert_eq!(p.sim_specs.stop, 30.0);
    assert_eq!(p.sim_specs.dt, 0.125);
    assert_eq!(p.sim_specs.save_step, Some(0.25));
    let m = &p.models[0];
    let t = m.get("teacup_temperature").unwrap();
    match &t.kind {
        VarKind::Stock {
            net_rate: Some(r),
            inflows,
            ..
        } => {
            assert!(inflows.is_empty());
            assert_eq!(r.text, "-Heat Loss to Room");
            assert_eq!(show(&r.expr), "(-heat_loss_to_room)");
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(t.units.as_deref(), Some("Degrees Fahrenheit"));
    assert_eq!(
        t.doc.as_deref(),
        Some("The model is only valid for the liquid phase of tea. second line.")
    );
    assert_eq!(t.line, Some(2));
    assert!(m.get("time_step").is_some() && m.get("saveper").is_some());
}

#[test]
fn precedence_and_names() {
    assert_eq!(
        show(&expr_of("1 + 2 * 3 ^ 2 ^ 2")),
        "(1 + (2 * (3 ^ (2 ^ 2))))"
    );
    assert_eq!(show(&expr_of("-2^2")), "(-(2 ^ 2))");
    assert_eq!(show(&expr_of(":NOT: 1 > 2")), "(not (1 > 2))");
    assert_eq!(
        show(&expr_of("a = b :AND: c <> d :OR: e")),
        "(((a = b) AND (c <> d)) OR e)"
    );
    assert_eq!(
        show(&expr_of(
            "IF THEN ELSE(Time >= 1, DELAY FIXED(a, 2, 0), 1e+006)"
        )),
        "if((time >= 1),delay_fixed(a,2,0),1000000)"
    );
    assert_eq!(
        show(&expr_of("\"my var\" * .5 + :NA:")),
        "((my_var * 0.5) + -1298074214633707000000000000000000)"
    );
    assert_eq!(
        show(&expr_of("Random   Uniform(0, 1, 2)")),
        "random_uniform(0,1,2)"
    );
    assert!(matches!(
        expr_of("2 ^ -1"),
        Expr::Binary(BinaryOp::Pow, _, _)
    ));
}

#[test]
fn lookups() {
    let p = parse_mdl(&model(
        "tbl(
\t[(0,0)-(2,10)],(0,0),(1,5),(2,10))
\t~\t~\t|
old( (0,1),(1,2))
\t~\t~\t|
tab([(0,0)-(1,1)], 0, 1, 2, 10, 20, 30)
\t~\t~\t|
y = WITH LOOKUP(Time, ([(0,0)-(1,1)], (0,0), (1,1)))
\t~\t~\t|
z = tbl(Time)
\t~\t~\t|
",
    ))
    .unwrap();
    let m = &p.models[0];
    let tbl = m.get("tbl").unwrap();
    assert_eq!(tbl.equations, Equations::None);
    assert_eq!(tbl.gf.as_ref().unwrap().ys, vec![0.0, 5.0, 10.0]);
    assert_eq!(
        m.get("old").unwrap().gf.as_ref().unwrap().xs,
        vec![0.0, 1.0]
    );
    let tab = m.get("tab").unwrap().gf.clone().unwrap();
    assert_eq!(
        (tab.xs, tab.ys),
        (vec![0.0, 1.0, 2.0], vec![10.0, 20.0, 30.0])
    );
    let y = m.get("y").unwrap();
    assert!(y.gf.is_some());
    assert!(matches!(&y.equations, Equations::Single(e) if show(&e.expr) == "time"));
    assert!(
        matches!(&m.get("z").unwrap().equations, Equations::Single(e) if show(&e.expr) == "tbl(time)")
    );
    let err = parse_mdl(&model("w = 1 + ( [(0,0)-(1,1)], (0,0))\n~~|\n")).unwrap_err();
    assert!(matches!(err, Error::Unsupported { ref variable, .. } if variable == "w"));
}

#[test]
fn subscripts() {
    let p = parse_mdl(&model(
        "Dim: (a1-a3) -> Other ~~|
Sub: a1, a2 ~~|
Other: b1, b2, b3 ~~|
Same <-> Other ~~|
x[Dim] = y[Dim] * 2 ~~|
c[Dim, Other] = 1, 2, 3; 4, 5, 6; 7, 8, 9; ~~|
p[Sub] = 1 ~~|
p[a3] = q[a3] ~~|
e[Dim] :EXCEPT: [a1] = 5 ~~|
e[a1] = 6 ~~|
s[Dim] = INTEG(r[Dim], 1) ~~|
",
    ))
    .unwrap();
    let dim = p.dimension("dim").unwrap();
    assert_eq!(dim.elements, vec!["a1", "a2", "a3"]);
    assert_eq!(
        dim.maps_to,
        vec![crate::ir::DimMapping::positional("other")]
    );
    assert_eq!(
        p.dimension("same").unwrap().elements,
        vec!["b1", "b2", "b3"]
    );
    let m = &p.models[0];
    let x = m.get("x").unwrap();
    assert_eq!(x.dims, vec!["dim"]);
    assert!(
        matches!(&x.equations, Equations::Single(e) if matches!(&e.expr,
        Expr::Binary(_, a, _) if matches!(&**a, Expr::Subscript(n, i, _) if n == "y"
            && matches!(&i[0], IndexExpr::Expr(Expr::Var(d, _)) if d == "dim"))))
    );
    let c = m.get("c").unwrap();
    assert_eq!(c.dims, vec!["dim", "other"]);
    match &c.equations {
        Equations::PerElement(list) => {
            assert_eq!(list.len(), 9);
            assert_eq!(list[1].0, vec!["a1", "b2"]);
            assert_eq!(list[1].1.expr, Expr::Num(2.0));
            assert_eq!(list[3].1.expr, Expr::Num(4.0));
        }
        e => panic!("{e:?}"),
    }
    let pv = m.get("p").unwrap();
    assert_eq!(pv.dims, vec!["dim"]);
    assert!(matches!(&pv.equations, Equations::PerElement(l) if l.len() == 3));
    match &m.get("e").unwrap().equations {
        Equations::PerElement(l) => {
            let keys: Vec<_> = l.iter().map(|(k, _, _)| k[0].as_str()).collect();
            assert_eq!(keys, vec!["a2", "a3", "a1"]);
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(m.get("s").unwrap().kind, VarKind::Stock { .. }));
}

#[test]
fn macros() {
    let p = parse_mdl(&model(
        ":MACRO: EXPRESSION MACRO(input, parameter)
EXPRESSION MACRO = input * intermediate
\t~\tinput
\t~\ttests basic macro
\t|

intermediate = parameter * 3
\t~\tmyunit
\t~\t|

:END OF MACRO:
out = EXPRESSION MACRO(1, 2) ~~|
",
    ))
    .unwrap();
    let mac = &p.macros[0];
    assert_eq!(mac.ident, "expression_macro");
    assert_eq!(mac.params, vec!["input", "parameter"]);
    assert_eq!(mac.variables.len(), 2);
    assert!(p.models[0].get("intermediate").is_none());
}

/// `:MACRO: NAME(inputs : outputs)`: a call `y = NAME(x : z)` also
/// defines `z`, the macro's output variable, per element like `y`. A long
/// header goes on over `\` continuations (CRLF here, as Vensim saves).
#[test]
fn macros_calling_each_other_in_a_cycle_are_refused_under_the_callers_name() {
    use crate::CompiledModel;
    let text = model(
        ":MACRO: F(a)
F = G(a) + 1 ~~|
:END OF MACRO:
:MACRO: G(a)
G = H(a) ~~|
:END OF MACRO:
:MACRO: H(a)
H = F(a) * 2 ~~|
:END OF MACRO:
x = 1 + F(Time) ~~|
",
    );
    let p = parse_mdl(&text).expect("parses");
    match CompiledModel::new(&p, None) {
        Err(Error::BadModule { variable, message }) => {
            assert_eq!(variable, "x");
            assert!(
                message.contains("macros F -> G -> H -> F call each other in a cycle"),
                "{message}"
            );
        }
        other => panic!("expected a BAD_MODULE error, got {:?}", other.err()),
    }
}

#[test]
fn macros_with_additional_outputs() {
    use crate::{CompiledModel, RunOptions};
    let text = model(
        ":MACRO: ACC(rate, k : total,\\\r\n\t\ttwice)
ACC = total * k ~~|
total = INTEG(rate, 0) ~~|
twice = 2 * total ~~|
:END OF MACRO:
D: d1, d2 ~~|
r[D] = 1, 3 ~~|
y[D] = ACC(r[D], 10 : z, w) ~~|
only = ACC(1, 1 : first) ~~|
",
    );
    let p = parse_mdl(&text).expect("parses");
    let m = CompiledModel::new(&p, None).expect("compiles");
    let r = m.run(&RunOptions::default()).expect("runs");
    let last = |name: &str| *r.column(name).expect(name).last().expect("a row");
    // CONTROL runs 0..30 with TIME STEP 1 (Euler): total = 30 * rate.
    assert_eq!(last("z[d1]"), 30.0);
    assert_eq!(last("z[d2]"), 90.0);
    assert_eq!(last("w[d2]"), 180.0);
    assert_eq!(last("y[d2]"), 900.0);
    assert_eq!(last("first"), 30.0);
    assert_eq!(last("only"), 30.0);

    // Naming more outputs than the macro has, or outputs of a builtin.
    let bad = |eq: &str| {
        parse_mdl(&model(&format!(
            ":MACRO: M(a : b)\nM = a ~~|\nb = 2 * a ~~|\n:END OF MACRO:\n{eq}"
        )))
        .expect_err("refused")
    };
    let err = bad("y = M(1 : p, q) ~~|");
    assert!(
        matches!(&err, Error::MdlSyntax { variable, message, .. }
            if variable == "q" && message.contains("1 additional output")),
        "{err}"
    );
    let err = bad("y = MAX(1 : p) ~~|");
    assert!(err.to_string().contains("not a macro"), "{err}");
    let err = bad("y = INTEG(M(1 : p), 0) ~~|");
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    // An output the macro never defines.
    let err = parse_mdl(&model(":MACRO: M(a : b)\nM = a ~~|\n:END OF MACRO:\n")).unwrap_err();
    assert!(err.to_string().contains("'b' is not defined"), "{err}");
}

/// DELAYP(input, delay time : pipeline) is DELAY3 with its pipeline, the
/// sum of the delay's three levels (Vensim documents its equations): the
/// pipeline grows by what enters minus what leaves, from input x delay
/// time. Arrayed calls give the pipeline the left-hand side's subscripts,
/// and a model's own macro named DELAYP is the one called.
#[test]
fn delayp_is_delay3_with_its_pipeline() {
    use crate::{CompiledModel, RunOptions};
    let text = model(
        "D: d1, d2 ~~|
size[D] = 10, 5 ~~|
input[D] = size[D] + STEP(size[D], 3) ~~|
out[D] = DELAYP(input[D], 4 : wip) ~~|
out3[D] = DELAY3(input[D], 4) ~~|
check[D] = INTEG(input[D] - out[D], input[D] * 4) ~~|
",
    );
    let p = parse_mdl(&text).expect("parses");
    let r = CompiledModel::new(&p, None)
        .expect("compiles")
        .run(&RunOptions::default())
        .expect("runs");
    let col = |name: &str| r.column(name).expect(name).to_vec();
    for d in ["d1", "d2"] {
        assert_eq!(col(&format!("out[{d}]")), col(&format!("out3[{d}]")));
        for (a, b) in col(&format!("wip[{d}]"))
            .iter()
            .zip(col(&format!("check[{d}]")))
        {
            assert!((a - b).abs() <= 1e-9 * b.abs(), "{d}: {a} vs {b}");
        }
    }
    assert_eq!(col("wip[d2]")[0], 20.0);
    assert!(col("wip[d1]")
        .last()
        .is_some_and(|&w| (w - 80.0).abs() < 0.1));

    let own = model(
        ":MACRO: DELAYP(a, b : p)
DELAYP = a * b ~~|
p = 7 ~~|
:END OF MACRO:
y = DELAYP(2, 3 : q) ~~|
",
    );
    let p = parse_mdl(&own).expect("parses");
    let r = CompiledModel::new(&p, None)
        .expect("compiles")
        .run(&RunOptions::default())
        .expect("runs");
    assert_eq!(r.column("y").expect("y")[0], 6.0);
    assert_eq!(r.column("q").expect("q")[0], 7.0);
}

/// SAMPLE IF TRUE whose condition reads the variable itself, the running
/// minimum and maximum of the SDXorg beer game (`m = SAMPLE IF TRUE(v < m,
/// v, v)`): the held value is the last one sampled, and the initial value
/// stands for the variable while initializing (not a circular equation).
#[test]
fn sample_if_true_reading_itself_in_its_condition() {
    use crate::{CompiledModel, RunOptions};
    let text = model(
        "D: d1, d2 ~~|
ph[D] = 0, 1.5 ~~|
v[D] = 10 * SIN(TIME + ph[D]) ~~|
low[D] = SAMPLE IF TRUE(v[D] < low[D], v[D], v[D]) ~~|
high[D] = SAMPLE IF TRUE(v[D] > high[D], v[D], v[D]) ~~|
",
    );
    let p = parse_mdl(&text).expect("parses");
    let r = CompiledModel::new(&p, None)
        .expect("compiles")
        .run(&RunOptions::default())
        .expect("runs");
    // Steps of 1/8, every second one saved.
    for (k, ph) in [0.0, 1.5].iter().enumerate() {
        let d = format!("d{}", k + 1);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let low = r.column(&format!("low[{d}]")).expect("low");
        let high = r.column(&format!("high[{d}]")).expect("high");
        for (step, t) in (0..=240).map(|s| (s, s as f64 * 0.125)) {
            let v = 10.0 * (t + ph).sin();
            lo = lo.min(v);
            hi = hi.max(v);
            if step % 2 == 0 {
                assert_eq!((low[step / 2], high[step / 2]), (lo, hi), "{d} at {t}");
            }
        }
    }
}

/// SINTEG(rate, initial, min, max, quant, spec, thresh): a level kept
/// within min and max, on multiples of quant, and snapped to spec within
/// thresh, after every step and from the initial value on (Vensim's
/// documented examples); all `:NA:` is INTEG. CONTROL steps by 1/8 and
/// saves every 1/4, to 30.
#[test]
fn sinteg_restricts_its_level() {
    use crate::{CompiledModel, Method, RunOptions};
    let text = model(
        "r = 0.3 ~~|
capped = SINTEG(r, 0.5, 0, 1, :NA:, :NA:, :NA:) ~~|
floored = SINTEG(-r, 0.5, 0, :NA:, :NA:, :NA:, :NA:) ~~|
counted = SINTEG(10, 0, :NA:, :NA:, 1, :NA:, :NA:) ~~|
snapped = SINTEG(-0.01, 0.03, :NA:, :NA:, :NA:, 0, 0.02) ~~|
plain = SINTEG(r, 1, :NA:, :NA:, :NA:, :NA:, :NA:) ~~|
integ = INTEG(r, 1) ~~|
from start = SINTEG(0, 5, 0, 1, :NA:, :NA:, :NA:) ~~|
",
    );
    let p = parse_mdl(&text).expect("parses");
    let m = CompiledModel::new(&p, None).expect("compiles");
    for method in [Method::Euler, Method::Rk4] {
        let r = m
            .run(&RunOptions {
                method: Some(method),
                ..RunOptions::default()
            })
            .expect("runs");
        let at = |name: &str, t: f64| {
            let k = r.times.iter().position(|&x| x == t).expect("a saved time");
            r.column(name).expect(name)[k]
        };
        // 0.5 + 0.3 t reaches 1 at t = 5/3 and stays there.
        assert!((at("capped", 1.0) - 0.8).abs() < 1e-12, "{method:?}");
        assert_eq!(at("capped", 2.0), 1.0);
        assert_eq!(at("capped", 30.0), 1.0);
        assert_eq!(at("floored", 30.0), 0.0);
        // +1.25 a step, rounded to the nearest whole number: one a step.
        assert_eq!(at("counted", 1.0), 8.0);
        assert_eq!(at("counted", 30.0), 240.0);
        assert_eq!(at("snapped", 0.0), 0.03);
        assert_eq!(at("snapped", 2.0), 0.0);
        assert_eq!(at("snapped", 30.0), 0.0);
        assert_eq!(r.column("plain"), r.column("integ"));
        assert_eq!(at("from start", 0.0), 1.0);
    }
    // An initial value given as an override is restricted too, by the
    // one-lane engine and the stepwise `Sim` alike.
    let m = std::sync::Arc::new(m);
    let opts = RunOptions {
        overrides: vec![
            ("capped".into(), crate::Override::Value(7.0)),
            ("counted".into(), crate::Override::Value(2.4)),
        ],
        ..RunOptions::default()
    };
    let fast = m.run(&opts).expect("runs");
    let mut sim = crate::Sim::new(m.clone(), &opts).expect("starts");
    sim.run_to_end().expect("runs");
    let slow = sim.into_results();
    for r in [&fast, &slow] {
        assert_eq!(r.column("capped").expect("capped")[0], 1.0);
        assert_eq!(r.column("counted").expect("counted")[0], 2.0);
        // One a step (see above), eight steps to time 1.
        assert_eq!(r.column("counted").expect("counted")[4], 10.0);
    }
    let err = parse_mdl(&model(
        "a = 1 ~~|\nx = SINTEG(1, 0, a, :NA:, :NA:, :NA:, :NA:) ~~|\n",
    ))
    .expect_err("refused");
    assert!(
        err.to_string().contains("SINTEG's min must be a number"),
        "{err}"
    );
}

/// A level with some elements given as numbers (metasd's FREE6:
/// `Desired Depletion Rent[OilGas] = INTEG(...)` beside `[Coal] = 0`):
/// those elements keep their number. An element given as another equation
/// is still refused, naming what it would need.
#[test]
fn a_level_with_elements_given_as_numbers() {
    use crate::{CompiledModel, RunOptions};
    let text = model(
        "D: a, b ~~|
x[a] = INTEG(1, 2) ~~|
x[b] = 5 ~~|
",
    );
    let p = parse_mdl(&text).expect("parses");
    let r = CompiledModel::new(&p, None)
        .expect("compiles")
        .run(&RunOptions::default())
        .expect("runs");
    let last = |n: &str| *r.column(n).expect(n).last().expect("a row");
    assert_eq!(last("x[a]"), 32.0);
    assert!(r.column("x[b]").expect("x[b]").iter().all(|&v| v == 5.0));
    let err = parse_mdl(&model(
        "D: a, b ~~|\ny = 1 ~~|\nx[a] = INTEG(1, 2) ~~|\nx[b] = y ~~|\n",
    ))
    .expect_err("refused");
    assert!(
        err.to_string().contains("neither INTEG nor a number"),
        "{err}"
    );
}

/// A model's macro named like a builtin of another dialect is the one
/// called: metasd's thyroid model defines DELAYN(Input, DelayTime, Init,
/// Order) over DELAY N, while isee's DELAYN takes the order third.
#[test]
fn a_models_macro_shadows_a_builtin_of_the_same_name() {
    use crate::{CompiledModel, RunOptions};
    let text = model(
        ":MACRO: DELAYN(Input, DelayTime, Init, Order)
DELAYN = DELAY N(Input, DelayTime, Init, Order) ~~|
:END OF MACRO:
s = INTEG(1, 0) ~~|
y = DELAYN(s, 3, s, 2) ~~|
z = DELAY N(s, 3, s, 2) ~~|
",
    );
    let p = parse_mdl(&text).expect("parses");
    let r = CompiledModel::new(&p, None)
        .expect("compiles")
        .run(&RunOptions::default())
        .expect("runs");
    assert_eq!(r.column("y"), r.column("z"));
    assert!(r.column("y").expect("y").iter().any(|&v| v > 0.0));
}

#[test]
fn errors_carry_line_and_variable() {
    let err = parse_mdl(&model("a = 1 ~~|\n\nbad var = (1 + ~~|\n")).unwrap_err();
    match err {
        Error::MdlSyntax { line, variable, .. } => {
            assert_eq!(line, 4);
            assert_eq!(variable, "bad var");
        }
        e => panic!("{e:?}"),
    }
    let err = parse_mdl(&model("f = A FUNCTION OF(x) ~~|")).unwrap_err();
    assert!(err.to_string().contains("incomplete model"), "{err}");
    for bad in [
        "<?xml version=\"1.0\"?><xmile/>",
        "ab\0cd",
        "{UTF-8}\nx = 1 ~ ~",
        "",
    ] {
        let e = parse_mdl(bad).unwrap_err();
        assert_eq!(e.stage(), crate::error::ErrorStage::Import, "{e}");
    }
}

#[test]
fn no_prefix_panics_and_nesting_is_bounded() {
    let src = model(
        "Dim: (a1-a3) ~~|\nx[Dim] = IF THEN ELSE(\"q\" > 1, 2, 3) * t(Time) ~~|\nt([(0,0)-(1,1)],(0,0),(1,1)) ~~|\n:MACRO: M(a)\nM = a ~~|\n:END OF MACRO:\n",
    );
    for (i, _) in src.char_indices() {
        let _ = parse_mdl(&src[..i]);
    }
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse_mdl(&model(&format!("x = {deep} ~~|"))).is_err());
    let deep = format!("{}1", "-".repeat(5000));
    assert!(parse_mdl(&model(&format!("x = {deep} ~~|"))).is_err());
    let deep = format!("{}1", ":NOT: ".repeat(5000));
    assert!(parse_mdl(&model(&format!("x = {deep} ~~|"))).is_err());
}

#[test]
fn element_names_and_ranges_as_values() {
    let p = parse_mdl(&model(
        "dim: a, b, c ~~|\nsub: b, c ~~|\nv[sub] = sub ~~|\nw[dim] = IF THEN ELSE(dim = b, 1, 0) ~~|\nn = ELMCOUNT(dim) ~~|\nu == 3 ~~|\n",
    ))
    .unwrap();
    let m = &p.models[0];
    match &m.get("v").unwrap().equations {
        Equations::PerElement(l) => {
            assert_eq!(l[0].1.expr, Expr::Num(2.0));
            assert_eq!(l[1].1.expr, Expr::Num(3.0));
        }
        e => panic!("{e:?}"),
    }
    match &m.get("w").unwrap().equations {
        Equations::PerElement(l) => assert_eq!(show(&l[1].1.expr), "if((2 = 2),1,0)"),
        e => panic!("{e:?}"),
    }
    assert!(
        matches!(&m.get("n").unwrap().equations, Equations::Single(e) if e.expr == Expr::Num(3.0))
    );
    assert!(
        matches!(&m.get("u").unwrap().equations, Equations::Single(e) if e.expr == Expr::Num(3.0))
    );
}

/// Reality checks and string variables (`help link :is: 'url'`, as in
/// Vensim's World3 scenarios sample) have no value in a run: skipped, with
/// a warning naming them.
#[test]
fn reality_checks_strings_and_short_sketch_marker_are_skipped() {
    let src = "{UTF-8}\nrc[s]:THE CONDITION: a :IMPLIES: b ~~|\nhelp link :is: 'https://example.org/a:b' ~ dmnl ~|\nx = 1 ~~|\nFINAL TIME = 5 ~~|\n\\\\---/// sketch\nnot | an ~ equation";
    let p = parse_mdl(src).unwrap();
    assert_eq!(p.models[0].variables.len(), 2);
    assert_eq!(p.sim_specs.stop, 5.0);
    assert_eq!(
        p.warnings,
        vec![
            "line 2: reality check 'rc' ignored",
            "line 3: string variable 'help link' ignored"
        ]
    );
}

/// Every prefix of every corpus model must load or fail cleanly
/// (`cargo test -- --ignored`; needs the test-models checkout).
#[test]
#[ignore]
fn corpus_prefixes_never_panic() {
    let root = crate::testsuite::default_root();
    let cases = crate::testsuite::discover(&root).unwrap_or_default();
    for c in cases
        .iter()
        .filter(|c| c.format == crate::testsuite::Format::Mdl)
    {
        let Ok(text) = std::fs::read_to_string(&c.model) else {
            continue;
        };
        let step = (text.len() / 300).max(1);
        for (i, _) in text.char_indices().step_by(step) {
            let _ = parse_mdl(&text[..i]);
        }
    }
}

/// A UTF-8 byte-order mark before `{UTF-8}` (as Windows editors save) is
/// skipped, not read as the start of the first variable's name.
#[test]
fn byte_order_mark_is_skipped() {
    let text = format!("\u{feff}{}", model("x = 2 ~~|\ny = x * 3 ~~|"));
    let p = parse_mdl(&text).unwrap();
    assert_eq!(p.models[0].get("x").map(|v| v.name.as_str()), Some("x"));
    assert!(p.models[0].get("y").is_some());
}

/// A quote escaped inside a quoted name is shown as a quote, and the name
/// still resolves where it is referenced as written.
#[test]
fn escaped_quotes_in_names_show_as_quotes() {
    let src = model(
        "\"Flow with \\\"Quotes\\\"\" = 10 ~~|\ns = INTEG(\"Flow with \\\"Quotes\\\"\", 0) ~~|",
    );
    let p = parse_mdl(&src).unwrap();
    let v = p.models[0].get("flow_with_\"quotes\"").unwrap();
    assert_eq!(v.name, "Flow with \"Quotes\"");
    let r = crate::CompiledModel::new(&p, None)
        .unwrap()
        .run(&crate::vm::RunOptions::default())
        .unwrap();
    // The stock fills through the flow: 10 per unit time, saved every 0.25.
    assert_eq!(r.column("s").unwrap()[1], 2.5);
}

#[test]
fn load_file_reads_latin1_and_refuses_binary() {
    let dir = std::env::temp_dir().join(format!("simlin-mdl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let latin = dir.join("latin.mdl");
    let mut bytes = b"{UTF-8}\ncaf".to_vec();
    bytes.extend([0xe9, b' ']);
    bytes.extend(b"= 1 ~~|\nFINAL TIME = 2 ~~|\n");
    std::fs::write(&latin, bytes).unwrap();
    let binary = dir.join("bin.mdl");
    std::fs::write(&binary, [0u8, 159, 146, 150, 0, 1]).unwrap();
    let xml = dir.join("x.mdl");
    std::fs::write(&xml, "<xmile></xmile>").unwrap();
    let p = crate::load_file(&latin);
    let b = crate::load_file(&binary);
    let x = crate::load_file(&xml);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(p.unwrap().models[0].get("café").is_some());
    for e in [b.unwrap_err(), x.unwrap_err()] {
        assert_eq!(e.code(), "MDL_SYNTAX");
        assert_eq!(e.stage(), crate::error::ErrorStage::Import);
    }
}

#[test]
fn subscripted_lookups_become_one_arrayed_lookup() {
    let p = parse_mdl(&model(
        "d: a, b ~~|\nt[a]( (2,3),(0,1)) ~~|\nt[b]( (0,5),(1,6)) ~~|\ny[d] = t[d](Time) ~~|\n\
         z = t[b](1) ~~|\ns = SUM(t[d!](2)) ~~|\n",
    ))
    .unwrap();
    let m = &p.models[0];
    let t = m.get("t").unwrap();
    assert_eq!(t.dims, vec!["d"]);
    assert!(t.is_lookup());
    match &t.equations {
        Equations::Lookups(l) => {
            assert_eq!(l[0].0, vec!["a"]);
            assert_eq!(l[0].1.xs, vec![0.0, 2.0]);
            assert_eq!(l[0].1.ys, vec![1.0, 3.0]);
        }
        e => panic!("{e:?}"),
    }
    // `t[d](x)` is LOOKUP(t[d], x): subscripts go through the array code.
    assert!(
        matches!(&m.get("y").unwrap().equations, Equations::Single(e) if show(&e.expr) == "lookup(t[1],time)")
    );
    assert!(
        matches!(&m.get("z").unwrap().equations, Equations::Single(e) if show(&e.expr) == "lookup(t[1],1)")
    );
    let r = crate::CompiledModel::new(&p, None)
        .unwrap()
        .run(&crate::RunOptions::default())
        .unwrap();
    let col = |n: &str| r.columns[r.names.iter().position(|x| x == n).unwrap()][0];
    assert_eq!(col("y[b]"), 5.0);
    assert_eq!(col("z"), 6.0);
    // SUM over a range slice of lookup calls: t[a](2) + t[b](2) = 3 + 6.
    assert_eq!(col("s"), 9.0);
    // A Vensim lookup is a function, not a series of its own.
    assert!(!r.names.iter().any(|n| n.starts_with("t[")));
}

/// Corpus models with bytes replaced by syntax characters must load or
/// fail cleanly (`cargo test -- --ignored`).
#[test]
#[ignore]
fn corpus_mutations_never_panic() {
    const CHARS: &[u8] = b"()[],;:=~|\"'!-+*/^<>\\{}\n 0.aZ";
    let root = crate::testsuite::default_root();
    let cases = crate::testsuite::discover(&root).unwrap_or_default();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for c in cases
        .iter()
        .filter(|c| c.format == crate::testsuite::Format::Mdl)
    {
        let Ok(text) = std::fs::read_to_string(&c.model) else {
            continue;
        };
        let end = super::equations::equations_end(&text).max(1);
        for _ in 0..200 {
            let mut bytes = text.as_bytes().to_vec();
            for _ in 0..3 {
                let at = (next() as usize) % end;
                bytes[at] = CHARS[(next() as usize) % CHARS.len()];
            }
            if let Ok(s) = String::from_utf8(bytes) {
                let _ = parse_mdl(&s);
            }
        }
    }
}

#[test]
fn huge_arrays_are_refused() {
    let src = model("a: (e1-e100000) ~~|\nb: (f1-f100000) ~~|\nx[a, b] = 1 ~~|\n");
    let err = parse_mdl(&src).unwrap_err();
    assert!(err.to_string().contains("elements"), "{err}");
}

#[test]
fn per_element_with_lookup_keeps_its_table() {
    let p = parse_mdl(&model(
        "d: a, b ~~|\nw[a] = WITH LOOKUP(Time, ((0,1),(1,2))) ~~|\nw[b] = WITH LOOKUP(Time, ((0,5),(1,6))) ~~|\n",
    ))
    .unwrap();
    match &p.models[0].get("w").unwrap().equations {
        Equations::PerElement(l) => {
            assert_eq!(l[0].2.as_ref().unwrap().ys, vec![1.0, 2.0]);
            assert_eq!(l[1].2.as_ref().unwrap().ys, vec![5.0, 6.0]);
        }
        e => panic!("{e:?}"),
    }
}

/// `x' = x` from 1 over one step of 1, with the settings block naming
/// integration type `code`.
fn growth(code: u32) -> String {
    format!(
        "x = INTEG(x, 1) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 1 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*View 1
///---\\\\\\
:L\u{7f}<%^E!@
1:Current.vdf
15:0,0,0,{code},0,0
19:100,0
"
    )
}

#[test]
fn integration_type_from_the_settings_block() {
    use crate::ir::Method;
    use crate::{CompiledModel, RunOptions};
    let final_x = |code: u32, method: Option<Method>| {
        let p = parse_mdl(&growth(code)).expect("parses");
        let m = CompiledModel::new(&p, None).expect("compiles");
        let r = m
            .run(&RunOptions {
                method,
                ..RunOptions::default()
            })
            .expect("runs");
        (p.sim_specs.method, r.column("x").expect("x")[1])
    };
    // Euler: 1 + 1; RK4: 1 + 1 + 1/2 + 1/6 + 1/24.
    assert_eq!(final_x(0, None), (Method::Euler, 2.0));
    assert_eq!(
        final_x(5, None),
        (Method::Rk4, 1.0 + 1.0 + 0.5 + 1.0 / 6.0 + 1.0 / 24.0)
    );
    assert_eq!(final_x(1, None).0, Method::Rk4);
    // RK2 (Heun or midpoint): 1 + 1 + 1/2.
    assert_eq!(final_x(4, None), (Method::Rk2, 2.5));
    // The caller's method still wins.
    assert_eq!(final_x(5, Some(Method::Euler)).1, 2.0);
    // No settings block at all: Euler.
    let p = parse_mdl(&model("x = INTEG(x, 1) ~~|")).expect("parses");
    assert_eq!(p.sim_specs.method, Method::Euler);
}

/// Constructs real Vensim models combine: quoted names with any
/// characters, mappings onto subranges, :EXCEPT:, macros with several
/// outputs, arrayed macro calls and `TIME STEP$`, SAMPLE IF TRUE reading its
/// own held value, DELAY N / SMOOTH N orders from other variables.
#[test]
fn real_model_constructs_run() {
    let text = r#"{UTF-8}
:MACRO: TWO OUT(a, b : lo, hi)
TWO OUT = a + b ~~|
lo = MIN(a, b) ~~|
hi = MAX(a, b) ~~|
:END OF MACRO:
:MACRO: STEPPER(x)
STEPPER = INTEG(x / TIME STEP$, 0) ~~|
:END OF MACRO:
DimA: A1, A2, A3 ~~|
SubA: A2, A3 ~~|
SubSub: A3 ~~|
DimD: D1, D2 -> (DimA: SubA, A1) ~~|
"a.b/c" = 1 ~~|
"say \"hi\"" = 2 ~~|
q = "a.b/c" + "say \"hi\"" ~~|
j[DimD] = 10, 20 ~~|
k[DimA] = j[DimD] ~~|
e[DimA] :EXCEPT: [SubSub] = 1 ~~|
e[SubSub] = 9 ~~|
tot = TWO OUT(k[A1], k[A2] : low, high) ~~|
arr[DimA] = TWO OUT(k[DimA], 1 : alow, ahigh) ~~|
st = STEPPER(1) ~~|
held = SAMPLE IF TRUE(Time >= 2, held + 1, 0) ~~|
n = 3 ~~|
d3 = DELAY N(Time, 2, 0, n) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 4 ~~|
TIME STEP = 0.5 ~~|
SAVEPER = 1 ~~|
"#;
    let p = parse_mdl(text).unwrap();
    let r = crate::CompiledModel::new(&p, None)
        .unwrap()
        .run(&crate::RunOptions::default())
        .unwrap();
    let col = |n: &str| r.column(n).unwrap_or_else(|| panic!("no {n}")).to_vec();
    assert_eq!(col("q"), vec![3.0; 5]);
    // D1 stands for every element of SubA, D2 for A1.
    assert_eq!(
        [col("k[A1]")[0], col("k[A2]")[0], col("k[A3]")[0]],
        [20.0, 10.0, 10.0]
    );
    assert_eq!([col("e[A1]")[0], col("e[A3]")[0]], [1.0, 9.0]);
    assert_eq!(
        [col("tot")[0], col("low")[0], col("high")[0]],
        [30.0, 10.0, 20.0]
    );
    assert_eq!([col("arr[A2]")[0], col("ahigh[A1]")[0]], [11.0, 20.0]);
    // TIME STEP$ is the run's step: 1 / 0.5 per unit of time.
    assert_eq!(col("st"), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    // Held value + 1 on every step from time 2 (steps of 0.5).
    assert_eq!(col("held"), vec![0.0, 0.0, 1.0, 3.0, 5.0]);
    assert!(col("d3")[4] > 1.0 && col("d3")[4] < 2.5);
}

/// GET VDF CONSTANTS (and DATA, LOOKUPS) read Vensim's binary run files:
/// refused naming the variable and the file, not as a stray string.
#[test]
fn get_vdf_functions_name_the_binary_file() {
    let src = model("AdjIFR = GET VDF CONSTANTS('InputConstants.vdf', 'AdjIFR', 1)\n\t~\t~\t|\n");
    match parse_mdl(&src) {
        Err(crate::error::Error::DataFile {
            variable,
            file,
            message,
        }) => {
            assert_eq!(variable, "AdjIFR");
            assert_eq!(file, "InputConstants.vdf");
            assert!(message.contains("GET VDF CONSTANTS"), "{message}");
        }
        other => panic!("expected a data-file error, got {:?}", other.map(|_| ())),
    }
}
