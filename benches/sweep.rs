//! Sweep benchmarks: lockstep batches of runs against the same runs one at
//! a time (one lane each, as a single run executes: "scalar" below), on the
//! SDXorg SIR sample and on a generated model of a few hundred variables.
//!
//! Criterion times 1,000-run sweeps on one thread per engine; the summary
//! that follows measures 10,000-run sweeps of every engine in this one
//! process and prints runs per second per core, ns per (variable × step),
//! and the batched/scalar ratio. Both engines give bit-identical numbers
//! (see the sweep tests), so the ratio is pure engine cost. Every sweep keeps
//! the final values of the stocks and flows (`Reduce::Final`).
//! `cargo bench --bench sweep -- none` skips criterion and prints the summary.

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use simlin::sweep::{sweep, Engine, Param, ParamValues, Progress, Reduce, SweepOptions};
use simlin::CompiledModel;

/// A generated model: `chains` coupled first-order chains of six variables
/// each (a stock, two flows, a graphical function, two auxiliaries), every
/// chain driven by the one before it.
fn chains_xmile(chains: usize) -> String {
    let mut vars = String::new();
    for i in 0..chains {
        let prev = if i == 0 { chains - 1 } else { i - 1 };
        vars.push_str(&format!(
            r#"<stock name="s{i}"><eqn>{init}</eqn><inflow>in{i}</inflow><outflow>out{i}</outflow></stock>
<flow name="in{i}"><eqn>gain{i} * effect{i} * (1 + 0.1 * s{prev} / 100)</eqn></flow>
<flow name="out{i}"><eqn>s{i} / tau{i}</eqn></flow>
<aux name="effect{i}"><eqn>s{i} / 100</eqn><gf><xscale min="0" max="2"/><ypts>1,0.9,0.6,0.3,0.1</ypts></gf></aux>
<aux name="gain{i}"><eqn>{gain}</eqn></aux>
<aux name="tau{i}"><eqn>{tau}</eqn></aux>
"#,
            init = 50 + i % 7,
            gain = 10 + i % 5,
            tau = 3 + i % 4,
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><name>chains</name><vendor>simlin benches</vendor></header>
<sim_specs><start>0</start><stop>100</stop><dt>0.25</dt><save_step>1</save_step></sim_specs>
<model><variables>
{vars}</variables></model>
</xmile>"#
    )
}

struct Case {
    label: &'static str,
    model: CompiledModel,
    params: Vec<(String, f64, f64)>,
}

impl Case {
    /// `n` rows: each parameter spread over [lo, hi).
    fn params(&self, n: usize) -> Vec<Param> {
        self.params
            .iter()
            .enumerate()
            .map(|(k, (name, lo, hi))| Param {
                name: name.clone(),
                values: ParamValues::Numbers(
                    (0..n)
                        .map(|r| lo + (hi - lo) * (((r * (k + 3)) % 997) as f64 / 997.0))
                        .collect(),
                ),
            })
            .collect()
    }

    fn steps(&self) -> f64 {
        let s = self.model.sim_specs();
        ((s.stop - s.start) / s.dt).round() + 1.0
    }
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let sir = simlin::testsuite::default_root().join("samples/SIR/SIR.xmile");
    match simlin::load_file(&sir).and_then(|p| CompiledModel::new(&p, None)) {
        Ok(model) => out.push(Case {
            label: "SIR",
            model,
            params: vec![
                ("contact_infectivity".into(), 0.1, 0.5),
                ("duration".into(), 2.0, 10.0),
            ],
        }),
        Err(e) => eprintln!(
            "note: SIR sample unavailable ({}), skipped: {e}",
            sir.display()
        ),
    }
    let chains = 50;
    match simlin::load_xmile(&chains_xmile(chains)).and_then(|p| CompiledModel::new(&p, None)) {
        Ok(model) => out.push(Case {
            label: "chains300",
            model,
            params: (0..chains)
                .step_by(5)
                .map(|i| (format!("gain{i}"), 5.0, 15.0))
                .collect(),
        }),
        Err(e) => eprintln!("note: generated model failed to compile: {e}"),
    }
    out
}

fn opts(engine: Engine, batch: usize, threads: Option<usize>) -> SweepOptions {
    SweepOptions {
        engine,
        batch,
        threads,
        // Final values of the stocks and flows, as a calibration or
        // sensitivity run keeps: the engine's cost, not the output's.
        reduce: Some(Reduce::Final),
        ..SweepOptions::default()
    }
}

const ENGINES: &[(&str, Engine, usize)] = &[
    ("scalar", Engine::Scalar, 1),
    ("batched4", Engine::Batched, 4),
    ("batched8", Engine::Batched, 8),
    ("batched16", Engine::Batched, 16),
    ("batched32", Engine::Batched, 32),
    ("batched64", Engine::Batched, 64),
    ("auto", Engine::Batched, 0),
];

fn main() {
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let cases = cases();
    for case in &cases {
        let n = 1_000;
        let params = case.params(n);
        let mut group = c.benchmark_group(format!("sweep_{}_1000runs_1thread", case.label));
        for &(name, engine, batch) in ENGINES {
            let o = opts(engine, batch, Some(1));
            group.bench_function(name, |b| {
                b.iter(|| black_box(sweep(&case.model, n, &params, &o, &Progress::new()).ok()))
            });
        }
        group.finish();
    }
    c.final_summary();

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("\nsweep summary: 10,000 runs each, {cores} cores on this machine");
    println!(
        "{:<10} {:<10} {:>7} {:>14} {:>16} {:>10}",
        "model", "engine", "threads", "runs/s/core", "ns/(var*step)", "vs scalar"
    );
    for case in &cases {
        let n = 10_000;
        let params = case.params(n);
        let vars = case.model.variables().len() as f64;
        for threads in [1, cores] {
            let mut scalar_rate = None;
            for &(name, engine, batch) in ENGINES {
                let o = opts(engine, batch, Some(threads));
                let start = Instant::now();
                let ok = sweep(&case.model, n, &params, &o, &Progress::new()).is_ok();
                let secs = start.elapsed().as_secs_f64();
                if !ok {
                    eprintln!("note: {} {name}: sweep failed", case.label);
                    continue;
                }
                let per_core = n as f64 / secs / threads as f64;
                let ns = secs * 1e9 * threads as f64 / (n as f64 * vars * case.steps());
                let base = *scalar_rate.get_or_insert(per_core);
                println!(
                    "{:<10} {:<10} {:>7} {:>14.0} {:>16.2} {:>9.2}x",
                    case.label,
                    name,
                    threads,
                    per_core,
                    ns,
                    per_core / base
                );
            }
        }
    }
}
