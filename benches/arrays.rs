//! Arrayed-model benchmarks on a generated SIRS model (see
//! `arrayed_model.rs`): 4 stocks, 4 flows and 4 auxes per region, coupled
//! across regions by `SUM(infected[*])`, for 100 and 1,000 regions.
//!
//! Criterion groups `arrays_parse` (XMILE text → IR), `arrays_compile`
//! (parse + `CompiledModel::new`) and `arrays_run`; then prints the same
//! phases timed directly and ns per (element × step), where an element is
//! one scalar variable after arrays are flattened.

#[path = "arrayed_model.rs"]
mod arrayed_model;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use simlin::{CompiledModel, RunOptions};

const SIZES: [usize; 2] = [100, 1000];
const STOP: f64 = 100.0;
const DT: f64 = 0.25;

fn compile(text: &str) -> Option<CompiledModel> {
    match simlin::load_xmile(text).and_then(|p| CompiledModel::new(&p, None)) {
        Ok(m) => Some(m),
        Err(e) => {
            eprintln!("note: generated model does not compile: {e}");
            None
        }
    }
}

/// Mean wall time of `f` over enough repetitions to fill about `budget`.
fn mean_time(budget: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(1));
    let n = (budget.as_nanos() / once.as_nanos()).clamp(1, 1000) as u32;
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let opts = RunOptions::default();
    let models: Vec<(usize, String, CompiledModel)> = SIZES
        .iter()
        .filter_map(|&n| {
            let text = arrayed_model::arrayed_xmile(n, STOP, DT);
            compile(&text).map(|m| (n, text, m))
        })
        .collect();

    for (group, phase) in [
        ("arrays_parse", 0),
        ("arrays_compile", 1),
        ("arrays_run", 2),
    ] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10);
        for (n, text, model) in &models {
            g.bench_function(format!("regions_{n}"), |b| match phase {
                0 => b.iter(|| black_box(simlin::load_xmile(text).ok())),
                1 => b.iter(|| black_box(compile(text))),
                _ => b.iter(|| black_box(model.run(&opts).ok())),
            });
        }
        g.finish();
    }
    c.final_summary();

    println!("\narrayed SIRS model, {STOP} time units at dt {DT} (Euler):");
    for (n, text, model) in &models {
        let elements = model.variables().len();
        let spec = model.sim_specs();
        let steps = ((spec.stop - spec.start) / spec.dt).round() as usize + 1;
        let budget = Duration::from_secs(2);
        let parse = mean_time(budget, || {
            black_box(simlin::load_xmile(text).ok());
        });
        let build = mean_time(budget, || {
            black_box(compile(text));
        });
        let run = mean_time(budget, || {
            black_box(model.run(&opts).ok());
        });
        let per = run.as_nanos() as f64 / (elements * steps) as f64;
        println!(
            "  {n:>5} regions: {elements} elements, {} ops; parse {parse:?}, \
             parse+compile {build:?}, run {run:?} ({steps} steps) = {per:.2} ns per (element x step)",
            model.code_len()
        );
    }
}
