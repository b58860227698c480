//! Engine benchmarks: `compile` (load + `CompiledModel::new`) and `run` for
//! SDXorg samples, plus a hand-built teacup that needs no parser.
//!
//! After the criterion groups, prints ns per (variable × step) for each
//! model, the number that stays comparable across model sizes. Models that
//! are missing or fail to load are reported and skipped, never panicked on.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::Criterion;
use simlin::ir::{Equation, Equations, Model, Project, SimSpecs, VarKind, Variable};
use simlin::syntax::ast::{BinaryOp, Expr};
use simlin::{CompiledModel, RunOptions};

/// SDXorg samples: (label, candidate paths relative to test-models).
const SAMPLES: &[(&str, &[&str])] = &[
    ("teacup", &["samples/teacup/teacup.xmile"]),
    ("SIR", &["samples/SIR/SIR.xmile"]),
    (
        "lotka_volterra",
        &[
            "samples/Lotka_Volterra/Lotka_Volterra.xmile",
            "samples/Lotka_Volterra/Lotka_Volterra.stmx",
            // The suite has only the .mdl; an XMILE transcription of it.
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/benches/models/lotka_volterra.xmile"
            ),
        ],
    ),
    (
        "pendulum",
        &[
            "samples/pendulum/Single_Pendulum.xmile",
            "samples/pendulum/Single_Pendulum.stmx",
            concat!(env!("CARGO_MANIFEST_DIR"), "/benches/models/pendulum.xmile"),
        ],
    ),
];

fn var(name: &str, kind: VarKind, expr: Expr) -> Variable {
    Variable {
        name: name.into(),
        ident: name.into(),
        kind,
        equations: Equations::Single(Equation {
            text: String::new(),
            expr,
        }),
        units: None,
        doc: None,
        dims: vec![],
        gf: None,
        line: None,
    }
}

/// The teacup built directly as IR (works whatever the parser's state).
fn ir_teacup() -> Project {
    let v = |n: &str| Expr::Var(n.into(), Default::default());
    let bin = |op, a, b| Expr::Binary(op, Box::new(a), Box::new(b));
    Project {
        sim_specs: SimSpecs {
            start: 0.0,
            stop: 30.0,
            dt: 0.125,
            ..SimSpecs::default()
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

/// A benchmarkable model: where its project comes from.
enum Source {
    File(PathBuf),
    Ir(Project),
}

impl Source {
    fn load(&self) -> simlin::Result<Project> {
        match self {
            Source::File(p) => simlin::load_file(p),
            Source::Ir(p) => Ok(p.clone()),
        }
    }
}

fn models() -> Vec<(String, Source)> {
    let root = simlin::testsuite::default_root();
    let mut out = vec![("ir_teacup".to_string(), Source::Ir(ir_teacup()))];
    for (label, candidates) in SAMPLES {
        match candidates
            .iter()
            .map(|c| root.join(c))
            .find(|p| p.is_file())
        {
            Some(path) => out.push((label.to_string(), Source::File(path))),
            None => eprintln!(
                "note: {label}: no XMILE/Stella file under {} (only .mdl?), skipped",
                root.join(Path::new(candidates[0]).parent().unwrap_or(Path::new("")))
                    .display()
            ),
        }
    }
    out
}

/// Load and compile, printing (not panicking on) errors.
fn compiled(label: &str, source: &Source) -> Option<CompiledModel> {
    let result = source
        .load()
        .and_then(|project| CompiledModel::new(&project, None));
    match result {
        Ok(m) => Some(m),
        Err(e) => {
            eprintln!("note: {label}: cannot compile, skipped: {e}");
            None
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let models = models();
    let runnable: Vec<(&str, &Source, CompiledModel)> = models
        .iter()
        .filter_map(|(label, src)| compiled(label, src).map(|m| (label.as_str(), src, m)))
        .collect();
    let opts = RunOptions::default();

    {
        let mut group = c.benchmark_group("compile");
        for (label, src, _) in &runnable {
            group.bench_function(*label, |b| {
                b.iter(|| {
                    let project = src.load().ok();
                    black_box(project.and_then(|p| CompiledModel::new(&p, None).ok()))
                })
            });
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("run");
        for (label, _, model) in &runnable {
            group.bench_function(*label, |b| b.iter(|| black_box(model.run(&opts).ok())));
        }
        group.finish();
    }
    c.final_summary();

    println!("\nns per (variable x step):");
    for (label, _, model) in &runnable {
        let results = match model.run(&opts) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("note: {label}: run failed: {e}");
                continue;
            }
        };
        let cells = (results.names.len() * results.times.len()).max(1);
        let n = (200_000 / cells).clamp(10, 10_000);
        let start = Instant::now();
        for _ in 0..n {
            black_box(model.run(&opts).ok());
        }
        let ns = start.elapsed().as_nanos() as f64 / (n * cells) as f64;
        println!(
            "  {label:<16} {ns:>8.2} ns  ({} variables x {} steps, {n} runs)",
            results.names.len(),
            results.times.len()
        );
    }
}
