//! Engine tests that build IR by hand, so they do not depend on a parser.

use crate::ir::{Equation, Equations, Method, Model, Project, SimSpecs, VarKind, Variable};
use crate::syntax::ast::{BinaryOp, Expr};
use crate::vm::{Override, RunOptions, Sim};
use crate::CompiledModel;
use std::sync::Arc;

fn v(name: &str) -> Expr {
    Expr::Var(name.into(), Default::default())
}
fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}
fn var(name: &str, kind: VarKind, e: Expr) -> Variable {
    Variable {
        name: name.into(),
        ident: name.into(),
        kind,
        equations: Equations::Single(Equation {
            text: String::new(),
            expr: e,
        }),
        units: None,
        doc: None,
        dims: vec![],
        gf: None,
        line: None,
    }
}

/// Teacup: temp' = -(temp - room) / tau.
fn teacup(method: Method, dt: f64) -> Project {
    Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 30.0,
            dt,
            save_step: None,
            method,
            time_units: None,
            dynamic: Default::default(),
        },
        models: vec![Model {
            variables: vec![
                var(
                    "heat_loss",
                    VarKind::Flow {
                        non_negative: false,
                    },
                    bin(
                        BinaryOp::Div,
                        bin(BinaryOp::Sub, v("temp"), v("room")),
                        v("tau"),
                    ),
                ),
                var("room", VarKind::Aux, Expr::Num(70.0)),
                var(
                    "temp",
                    VarKind::Stock {
                        inflows: vec![],
                        outflows: vec!["heat_loss".into()],
                        non_negative: false,
                        limits: None,
                        net_rate: None,
                    },
                    Expr::Num(180.0),
                ),
                var("tau", VarKind::Aux, Expr::Num(10.0)),
            ],
            ..Model::default()
        }],
        ..Project::default()
    }
}

fn final_error(method: Method, dt: f64) -> f64 {
    let m = CompiledModel::new(&teacup(method, dt), None).unwrap();
    let r = m.run(&RunOptions::default()).unwrap();
    let temp = r.column("temp").unwrap();
    let exact = 70.0 + 110.0 * (-3.0f64).exp();
    (temp[temp.len() - 1] - exact).abs()
}

#[test]
fn euler_teacup_matches_hand_computation() {
    let m = CompiledModel::new(&teacup(Method::Euler, 0.125), None).unwrap();
    let r = m.run(&RunOptions::default()).unwrap();
    assert_eq!(r.times.len(), 241);
    assert_eq!(r.column("heat_loss").unwrap()[0], 11.0);
    assert_eq!(r.column("temp").unwrap()[1], 180.0 - 0.125 * 11.0);
    assert_eq!(r.names, vec!["heat_loss", "room", "temp", "tau"]);
}

#[test]
fn euler_error_shrinks_like_dt_and_rk4_like_dt4() {
    let e1 = final_error(Method::Euler, 0.5);
    let e2 = final_error(Method::Euler, 0.25);
    let ratio = e1 / e2;
    assert!((1.8..2.2).contains(&ratio), "euler ratio {ratio}");
    let r1 = final_error(Method::Rk4, 1.0);
    let r2 = final_error(Method::Rk4, 0.5);
    let ratio = r1 / r2;
    assert!((14.0..18.0).contains(&ratio), "rk4 ratio {ratio}");
    let k1 = final_error(Method::Rk2, 0.5);
    let k2 = final_error(Method::Rk2, 0.25);
    let ratio = k1 / k2;
    assert!((3.5..4.5).contains(&ratio), "rk2 ratio {ratio}");
}

#[test]
fn overrides_change_constants_and_initial_values_without_recompiling() {
    let m = Arc::new(CompiledModel::new(&teacup(Method::Euler, 0.125), None).unwrap());
    let opts = RunOptions {
        overrides: vec![
            ("tau".into(), Override::Value(5.0)),
            ("temp".into(), Override::Value(100.0)),
        ],
        ..RunOptions::default()
    };
    let r = m.run(&opts).unwrap();
    assert_eq!(r.column("heat_loss").unwrap()[0], 6.0);
    // An equation-driven variable cannot be overridden.
    let bad = RunOptions {
        overrides: vec![("heat_loss".into(), Override::Value(1.0))],
        ..RunOptions::default()
    };
    assert!(matches!(m.run(&bad), Err(crate::Error::BadOverride { .. })));
    let unknown = RunOptions {
        overrides: vec![("nope".into(), Override::Value(1.0))],
        ..RunOptions::default()
    };
    assert!(matches!(
        m.run(&unknown),
        Err(crate::Error::BadOverride { .. })
    ));
}

#[test]
fn stepwise_sim_matches_one_shot_and_set_value_takes_effect() {
    let m = Arc::new(CompiledModel::new(&teacup(Method::Euler, 0.125), None).unwrap());
    let full = m.run(&RunOptions::default()).unwrap();
    let mut sim = Sim::new(m.clone(), &RunOptions::default()).unwrap();
    sim.run_to(10.0).unwrap();
    assert_eq!(sim.time(), 10.0);
    assert_eq!(
        sim.get_value("temp").unwrap(),
        full.column("temp").unwrap()[80]
    );
    sim.set_value("room", 0.0).unwrap();
    assert_eq!(
        sim.get_value("heat_loss").unwrap(),
        sim.get_value("temp").unwrap() / 10.0
    );
    sim.run_to_end().unwrap();
    assert!(sim.get_value("temp").unwrap() < full.column("temp").unwrap()[240]);
    sim.reset().unwrap();
    assert_eq!(sim.time(), 0.0);
    sim.run_to_end().unwrap();
    // The constant set before the reset stays set.
    assert_eq!(sim.results().column("heat_loss").unwrap()[0], 18.0);
}

#[test]
fn cycle_is_named() {
    let p = Project {
        models: vec![Model {
            variables: vec![
                var("a", VarKind::Aux, v("b")),
                var(
                    "b",
                    VarKind::Aux,
                    bin(BinaryOp::Add, v("a"), Expr::Num(1.0)),
                ),
            ],
            ..Model::default()
        }],
        ..Project::default()
    };
    let err = CompiledModel::new(&p, None).unwrap_err();
    assert_eq!(
        err,
        crate::Error::CircularDependency {
            cycle: vec!["a".into(), "b".into(), "a".into()]
        }
    );
}

#[test]
fn unknown_names_and_functions_are_typed_errors() {
    let p = |e: Expr| Project {
        models: vec![Model {
            variables: vec![var("a", VarKind::Aux, e)],
            ..Model::default()
        }],
        ..Project::default()
    };
    assert!(matches!(
        CompiledModel::new(&p(v("zz")), None),
        Err(crate::Error::UnknownVariable { .. })
    ));
    let call = Expr::Call(
        "frobnicate".into(),
        vec![Expr::Num(1.0)],
        Default::default(),
    );
    assert!(matches!(
        CompiledModel::new(&p(call), None),
        Err(crate::Error::UnknownFunction { .. })
    ));
    let call = Expr::Call("abs".into(), vec![], Default::default());
    assert!(matches!(
        CompiledModel::new(&p(call), None),
        Err(crate::Error::WrongArgumentCount { .. })
    ));
}

#[test]
fn compiled_model_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<CompiledModel>();
}

/// The `Region` dimension with the given elements.
fn region(elements: &[&str]) -> crate::ir::Dimension {
    crate::ir::Dimension {
        name: "Region".into(),
        ident: "region".into(),
        elements: elements.iter().map(|e| e.to_string()).collect(),
        indexed: false,
        maps_to: Vec::new(),
    }
}

fn arrayed(name: &str, kind: VarKind, eqs: Equations) -> Variable {
    Variable {
        dims: vec!["region".into()],
        equations: eqs,
        ..var(name, kind, Expr::Num(0.0))
    }
}

fn per_element(items: &[(&str, Expr)]) -> Equations {
    Equations::PerElement(
        items
            .iter()
            .map(|(k, e)| {
                (
                    vec![k.to_string()],
                    Equation {
                        text: String::new(),
                        expr: e.clone(),
                    },
                    None,
                )
            })
            .collect(),
    )
}

#[test]
fn arrays_scalarize_per_element_with_reductions_and_recurrences() {
    use crate::syntax::ast::IndexExpr;
    let single = |e: Expr| {
        Equations::Single(Equation {
            text: String::new(),
            expr: e,
        })
    };
    let sub = |n: &str, i: &str| {
        Expr::Subscript(n.into(), vec![IndexExpr::Expr(v(i))], Default::default())
    };
    let p = Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 2.0,
            dt: 1.0,
            ..SimSpecs::default()
        },
        dimensions: vec![region(&["North", "South", "East"])],
        models: vec![Model {
            variables: vec![
                arrayed(
                    "pop",
                    VarKind::Stock {
                        inflows: vec!["births".into()],
                        outflows: vec![],
                        non_negative: false,
                        limits: None,
                        net_rate: None,
                    },
                    per_element(&[
                        ("North", Expr::Num(10.0)),
                        ("South", Expr::Num(20.0)),
                        ("East", Expr::Num(30.0)),
                    ]),
                ),
                arrayed(
                    "births",
                    VarKind::Flow {
                        non_negative: false,
                    },
                    single(bin(BinaryOp::Mul, v("pop"), v("rate"))),
                ),
                var("rate", VarKind::Aux, Expr::Num(0.5)),
                var(
                    "total",
                    VarKind::Aux,
                    Expr::Call(
                        "sum".into(),
                        vec![Expr::Subscript(
                            "pop".into(),
                            vec![IndexExpr::Wildcard(None)],
                            Default::default(),
                        )],
                        Default::default(),
                    ),
                ),
                // A recurrence across elements of one variable is legal.
                arrayed(
                    "chain",
                    VarKind::Aux,
                    per_element(&[
                        ("North", Expr::Num(1.0)),
                        (
                            "South",
                            bin(BinaryOp::Mul, sub("chain", "north"), Expr::Num(2.0)),
                        ),
                        (
                            "East",
                            bin(BinaryOp::Mul, sub("chain", "south"), Expr::Num(2.0)),
                        ),
                    ]),
                ),
            ],
            ..Model::default()
        }],
        ..Project::default()
    };
    let m = CompiledModel::new(&p, None).unwrap();
    let r = m.run(&RunOptions::default()).unwrap();
    assert_eq!(r.column("pop[North]").unwrap(), &[10.0, 15.0, 22.5]);
    assert_eq!(r.column("pop[East]").unwrap(), &[30.0, 45.0, 67.5]);
    assert_eq!(r.column("total").unwrap(), &[60.0, 90.0, 135.0]);
    assert_eq!(r.column("chain[East]").unwrap()[0], 4.0);
    assert_eq!(r.names[0], "pop[North]");
}

#[test]
fn longest_accepted_equation_compiles_and_runs_on_a_small_stack() {
    // The parser's chain limit must leave every later (recursive) stage
    // enough stack, even on a 2 MiB worker thread in a debug build.
    let text = "1".to_string() + &"+1".repeat(250);
    let expr = crate::syntax::parse_equation(&text).unwrap();
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let p = Project {
                models: vec![Model {
                    variables: vec![var("a", VarKind::Aux, expr)],
                    ..Model::default()
                }],
                ..Project::default()
            };
            let r = CompiledModel::new(&p, None)
                .unwrap()
                .run(&RunOptions::default())
                .unwrap();
            r.column("a").unwrap()[0]
        })
        .unwrap();
    assert_eq!(h.join().unwrap(), 251.0);
}

fn eq_var(name: &str, kind: VarKind, text: &str) -> Variable {
    let expr = crate::syntax::parse_equation(text).unwrap();
    Variable {
        equations: Equations::Single(Equation {
            text: text.into(),
            expr,
        }),
        ..var(name, kind, Expr::Num(0.0))
    }
}

fn run_main(vars: Vec<Variable>, stop: f64, dt: f64) -> crate::Results {
    let p = Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop,
            dt,
            ..SimSpecs::default()
        },
        models: vec![Model {
            variables: vars,
            ..Model::default()
        }],
        ..Project::default()
    };
    CompiledModel::new(&p, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap()
}

#[test]
fn smth1_is_a_first_order_exponential_smooth() {
    let r = run_main(
        vec![
            eq_var("input", VarKind::Aux, "STEP(10, 1)"),
            eq_var("s", VarKind::Aux, "SMTH1(input, 2)"),
        ],
        4.0,
        0.5,
    );
    let s = r.column("s").unwrap();
    // s' = (input - s) / 2, Euler with dt 0.5: s_{n+1} = s_n + 0.25 (input_n - s_n).
    let mut expect = 0.0;
    for (k, t) in r.times.iter().enumerate() {
        assert!((s[k] - expect).abs() < 1e-12, "t={t}: {} vs {expect}", s[k]);
        let input = if *t >= 1.0 { 10.0 } else { 0.0 };
        expect += 0.25 * (input - expect);
    }
    // Hidden helper variables stay out of the results.
    assert_eq!(r.names, vec!["input", "s"]);
}

#[test]
fn delay3_conserves_material_and_delayn_matches_delay3() {
    let r = run_main(
        vec![
            eq_var("input", VarKind::Aux, "PULSE(12, 1)"),
            eq_var("d3", VarKind::Aux, "DELAY3(input, 6)"),
            eq_var("dn", VarKind::Aux, "DELAYN(input, 6, 3)"),
            eq_var(
                "acc",
                VarKind::Stock {
                    inflows: vec!["d3".into()],
                    outflows: vec![],
                    non_negative: false,
                    limits: None,
                    net_rate: None,
                },
                "0",
            ),
        ],
        200.0,
        0.25,
    );
    assert_eq!(r.column("d3").unwrap(), r.column("dn").unwrap());
    let acc = r.column("acc").unwrap();
    assert!(
        (acc[acc.len() - 1] - 12.0).abs() < 1e-6,
        "{}",
        acc[acc.len() - 1]
    );
}

#[test]
fn previous_init_and_pipeline_delay() {
    let r = run_main(
        vec![
            eq_var("t2", VarKind::Aux, "TIME * 2"),
            eq_var("prev", VarKind::Aux, "PREVIOUS(t2, -1)"),
            eq_var("first", VarKind::Aux, "INIT(t2 + 5)"),
            eq_var("late", VarKind::Aux, "DELAY(t2, 2, 99)"),
        ],
        4.0,
        1.0,
    );
    assert_eq!(r.column("prev").unwrap(), &[-1.0, 0.0, 2.0, 4.0, 6.0]);
    assert_eq!(r.column("first").unwrap(), &[5.0; 5]);
    assert_eq!(r.column("late").unwrap(), &[99.0, 99.0, 0.0, 2.0, 4.0]);
}

#[test]
fn random_draws_are_reproducible_per_seed() {
    let p = Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 10.0,
            dt: 1.0,
            ..SimSpecs::default()
        },
        models: vec![Model {
            variables: vec![eq_var("r", VarKind::Aux, "RANDOM(0, 1)")],
            ..Model::default()
        }],
        ..Project::default()
    };
    let m = CompiledModel::new(&p, None).unwrap();
    let run = |seed| {
        m.run(&RunOptions {
            seed,
            ..RunOptions::default()
        })
        .unwrap()
        .columns[0]
            .clone()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
    assert!(run(3).iter().all(|v| (0.0..1.0).contains(v)));
}

#[test]
fn modules_connect_inputs_and_expose_outputs() {
    let inner = Model {
        name: "growth".into(),
        ident: "growth".into(),
        variables: vec![
            eq_var("rate", VarKind::Aux, "0"),
            eq_var(
                "pop",
                VarKind::Stock {
                    inflows: vec!["births".into()],
                    outflows: vec![],
                    non_negative: false,
                    limits: None,
                    net_rate: None,
                },
                "100",
            ),
            eq_var(
                "births",
                VarKind::Flow {
                    non_negative: false,
                },
                "pop * rate",
            ),
        ],
        sim_specs: None,
    };
    let module = Variable {
        kind: VarKind::Module {
            model: "growth".into(),
            connections: vec![crate::ir::ModuleConnection {
                to: "rate".into(),
                from: "outer_rate".into(),
            }],
        },
        equations: Equations::None,
        ..var("town", VarKind::Aux, Expr::Num(0.0))
    };
    let p = Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 2.0,
            dt: 1.0,
            ..SimSpecs::default()
        },
        models: vec![
            Model {
                variables: vec![
                    module,
                    eq_var("outer_rate", VarKind::Aux, "0.1"),
                    eq_var("watch", VarKind::Aux, "town.pop * 2"),
                ],
                ..Model::default()
            },
            inner,
        ],
        ..Project::default()
    };
    let r = CompiledModel::new(&p, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    let pop = r.column("town.pop").unwrap();
    assert!((pop[2] - 121.0).abs() < 1e-9);
    assert!((r.column("watch").unwrap()[2] - 242.0).abs() < 1e-9);
}

#[test]
fn macros_expand_per_call_site_with_their_own_stocks() {
    let body_stock = eq_var(
        "total",
        VarKind::Stock {
            inflows: vec!["add".into()],
            outflows: vec![],
            non_negative: false,
            limits: None,
            net_rate: None,
        },
        "0",
    );
    let body_flow = eq_var(
        "add",
        VarKind::Flow {
            non_negative: false,
        },
        "x",
    );
    let p = Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 3.0,
            dt: 1.0,
            ..SimSpecs::default()
        },
        models: vec![Model {
            variables: vec![eq_var("a", VarKind::Aux, "accum(1) + accum(10)")],
            ..Model::default()
        }],
        macros: vec![crate::ir::Macro {
            name: "ACCUM".into(),
            ident: "accum".into(),
            params: vec!["x".into()],
            defaults: Vec::new(),
            eqn: Equation {
                text: "total".into(),
                expr: v("total"),
            },
            variables: vec![body_stock, body_flow],
        }],
        ..Project::default()
    };
    let r = CompiledModel::new(&p, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    assert_eq!(r.column("a").unwrap(), &[0.0, 11.0, 22.0, 33.0]);
    assert_eq!(r.names, vec!["a"]);
}

#[test]
fn net_rate_expressions_integrate_like_flows() {
    let rate = Equation {
        text: "2 * TIME".into(),
        expr: crate::syntax::parse_equation("2 * TIME").unwrap(),
    };
    let stock = eq_var(
        "s",
        VarKind::Stock {
            inflows: vec![],
            outflows: vec![],
            non_negative: false,
            limits: None,
            net_rate: Some(Box::new(rate)),
        },
        "1",
    );
    let r = run_main(vec![stock], 3.0, 1.0);
    assert_eq!(r.column("s").unwrap(), &[1.0, 1.0, 3.0, 7.0]);
    assert_eq!(r.names, vec!["s"]);
}

#[test]
fn vmax_vmin_prod_and_elmcount_reduce_over_a_dimension() {
    let p = Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 0.0,
            dt: 1.0,
            ..SimSpecs::default()
        },
        dimensions: vec![region(&["a", "b", "c"])],
        models: vec![Model {
            variables: vec![
                arrayed(
                    "x",
                    VarKind::Aux,
                    per_element(&[
                        ("a", Expr::Num(2.0)),
                        ("b", Expr::Num(-1.0)),
                        ("c", Expr::Num(4.0)),
                    ]),
                ),
                eq_var("hi", VarKind::Aux, "VMAX(x[*])"),
                eq_var("lo", VarKind::Aux, "VMIN(x[region])"),
                eq_var("product", VarKind::Aux, "PROD(x[*])"),
                eq_var("n", VarKind::Aux, "ELMCOUNT(region)"),
            ],
            ..Model::default()
        }],
        ..Project::default()
    };
    let r = CompiledModel::new(&p, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    let at0 = |n: &str| r.column(n).unwrap()[0];
    assert_eq!(
        (at0("hi"), at0("lo"), at0("product"), at0("n")),
        (4.0, -1.0, -8.0, 3.0)
    );
}

#[test]
fn reductions_over_expressions_bind_the_reduced_dimension() {
    use crate::ir::Dimension;
    let dim = |n: &str| Dimension {
        name: n.into(),
        ident: n.into(),
        elements: vec!["a".into(), "b".into()],
        indexed: false,
        maps_to: vec![],
    };
    let with_dims = |v: Variable, dims: &[&str]| Variable {
        dims: dims.iter().map(|d| d.to_string()).collect(),
        ..v
    };
    let list = |items: &[(&[&str], f64)]| {
        Equations::PerElement(
            items
                .iter()
                .map(|(k, x)| {
                    (
                        k.iter().map(|s| s.to_string()).collect(),
                        Equation {
                            text: String::new(),
                            expr: Expr::Num(*x),
                        },
                        None,
                    )
                })
                .collect(),
        )
    };
    let v = Variable {
        equations: list(&[(&["a"], 1.0), (&["b"], 10.0)]),
        ..var("v", VarKind::Aux, Expr::Num(0.0))
    };
    let m = Variable {
        equations: list(&[
            (&["a", "a"], 1.0),
            (&["a", "b"], 2.0),
            (&["b", "a"], 3.0),
            (&["b", "b"], 4.0),
        ]),
        ..var("m", VarKind::Aux, Expr::Num(0.0))
    };
    let p = Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 0.0,
            dt: 1.0,
            ..SimSpecs::default()
        },
        dimensions: vec![dim("s"), dim("s1")],
        models: vec![Model {
            variables: vec![
                with_dims(v, &["s"]),
                with_dims(m, &["s", "s1"]),
                // y[s1] = sum over s of v[s] * m[s, s1]  (Vensim: SUM(v[s!] * m[s!, s1]))
                with_dims(
                    eq_var("y", VarKind::Aux, "SUM(v[*:s] * m[*:s, s1])"),
                    &["s1"],
                ),
                // z[s1] = sum over s of v[s] * m[s1, s]  (the transpose)
                with_dims(
                    eq_var("z", VarKind::Aux, "SUM(v[*:s] * m[s1, *:s])"),
                    &["s1"],
                ),
            ],
            ..Model::default()
        }],
        ..Project::default()
    };
    let r = CompiledModel::new(&p, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    let at0 = |n: &str| r.column(n).unwrap()[0];
    assert_eq!((at0("y[a]"), at0("y[b]")), (1.0 + 30.0, 2.0 + 40.0));
    assert_eq!((at0("z[a]"), at0("z[b]")), (1.0 + 20.0, 3.0 + 40.0));
}

#[test]
fn whole_arrays_in_overrides_outputs_and_results() {
    let p = Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 1.0,
            dt: 1.0,
            ..SimSpecs::default()
        },
        dimensions: vec![region(&["North", "South", "East"])],
        models: vec![Model {
            variables: vec![
                arrayed(
                    "k",
                    VarKind::Aux,
                    per_element(&[
                        ("North", Expr::Num(1.0)),
                        ("South", Expr::Num(2.0)),
                        ("East", Expr::Num(3.0)),
                    ]),
                ),
                arrayed(
                    "pop",
                    VarKind::Stock {
                        inflows: vec![],
                        outflows: vec![],
                        non_negative: false,
                        limits: None,
                        net_rate: None,
                    },
                    Equations::Single(Equation {
                        text: "k".into(),
                        expr: v("k"),
                    }),
                ),
                eq_var("total", VarKind::Aux, "SUM(pop[*])"),
            ],
            ..Model::default()
        }],
        ..Project::default()
    };
    let m = CompiledModel::new(&p, None).unwrap();
    assert_eq!(m.array("POP").unwrap().shape(), vec![3]);
    let r = m.run(&RunOptions::default()).unwrap();
    let pop = r.array("pop").unwrap();
    assert_eq!(pop.dims[0].0, "Region");
    assert_eq!(pop.dims[0].1, vec!["North", "South", "East"]);
    assert_eq!(
        pop.columns
            .iter()
            .map(|&c| r.names[c].as_str())
            .collect::<Vec<_>>(),
        vec!["pop[North]", "pop[South]", "pop[East]"]
    );
    // A scalar sets every element; a list sets each; a wrong length is refused.
    let run = |o: Override| {
        m.run(&RunOptions {
            overrides: vec![("k".into(), o)],
            ..RunOptions::default()
        })
    };
    assert_eq!(
        run(Override::Value(5.0)).unwrap().column("total").unwrap()[0],
        15.0
    );
    assert_eq!(
        run(Override::Array(vec![1.0, 10.0, 100.0]))
            .unwrap()
            .column("pop[East]")
            .unwrap()[0],
        100.0
    );
    assert!(matches!(
        run(Override::Array(vec![1.0])),
        Err(crate::Error::BadOverride { .. })
    ));
    // Naming the array in `outputs` selects all its elements.
    let only = m
        .run(&RunOptions {
            outputs: Some(vec!["pop".into()]),
            ..RunOptions::default()
        })
        .unwrap();
    assert_eq!(only.names.len(), 3);
    assert_eq!(only.arrays.len(), 1);
}
