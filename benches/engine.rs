//! Engine benchmarks: `load` (reading the file), `compile` (load +
//! `CompiledModel::new`) and `run` for the SDXorg samples teacup and SIR,
//! XMILE transcriptions (in `benches/models/`) of the Lotka–Volterra and
//! pendulum samples, and the real models World3-03 and C-LEARN v77 (about
//! 3,500 variables) from `../shared/real-models`.
//!
//! After the criterion groups, prints ns per (variable × step) for each
//! model, the number that stays comparable across model sizes. Models that
//! are missing or fail to load are reported and skipped, never panicked on.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::Criterion;
use simlin::testsuite::Suite;
use simlin::{CompiledModel, RunOptions};

/// Real models: (label, path relative to real-models).
const REAL: &[(&str, &str)] = &[
    ("wrld3_03", "WRLD3-03/wrld3-03.mdl"),
    ("c_learn", "C-LEARN/C-LEARN v77 for Vensim.mdl"),
];

/// SDXorg samples: (label, candidate paths relative to test-models).
const SAMPLES: &[(&str, &[&str])] = &[
    (
        "teacup",
        &[
            "samples/teacup/teacup.xmile",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/teacup.xmile"),
        ],
    ),
    ("SIR", &["samples/SIR/SIR.xmile"]),
    // The largest .mdl in the suite that compiles (about 47 KB of Vensim).
    ("query_file_mdl", &["samples/Query_file/Query_file.mdl"]),
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

/// The biggest `.mdl` file under `root`, by size.
fn largest_mdl(root: &Path) -> Option<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "mdl") {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                if best.as_ref().is_none_or(|(b, _)| size > *b) {
                    best = Some((size, path));
                }
            }
        }
    }
    best.map(|(_, p)| p)
}

fn models() -> Vec<(String, PathBuf)> {
    let root = simlin::testsuite::default_root();
    let mut out = Vec::new();
    for (label, candidates) in SAMPLES {
        match candidates
            .iter()
            .map(|c| root.join(c))
            .find(|p| p.is_file())
        {
            Some(path) => out.push((label.to_string(), path)),
            None => eprintln!(
                "note: {label}: no XMILE/Stella file under {} (only .mdl?), skipped",
                root.join(Path::new(candidates[0]).parent().unwrap_or(Path::new("")))
                    .display()
            ),
        }
    }
    let real = Suite::RealModels.default_root();
    for (label, rel) in REAL {
        let path = real.join(rel);
        if path.is_file() {
            out.push((label.to_string(), path));
        } else {
            eprintln!("note: {label}: {} is missing, skipped", path.display());
        }
    }
    out
}

/// Load and compile, printing (not panicking on) errors.
fn compiled(label: &str, source: &Path) -> Option<CompiledModel> {
    let result = simlin::load_file(source).and_then(|project| CompiledModel::new(&project, None));
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
    let runnable: Vec<(&str, &PathBuf, CompiledModel)> = models
        .iter()
        .filter_map(|(label, src)| compiled(label, src).map(|m| (label.as_str(), src, m)))
        .collect();
    let opts = RunOptions::default();

    {
        let mut group = c.benchmark_group("load");
        for (label, src, _) in &runnable {
            group.bench_function(*label, |b| {
                b.iter(|| black_box(simlin::load_file(src).ok()))
            });
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("compile");
        for (label, src, _) in &runnable {
            group.bench_function(*label, |b| {
                b.iter(|| {
                    let project = simlin::load_file(src).ok();
                    black_box(project.and_then(|p| CompiledModel::new(&p, None).ok()))
                })
            });
        }
        group.finish();
    }
    // Parsing alone, for the largest .mdl file in the suite (whether or
    // not the engine can compile it yet).
    if let Some(largest) = largest_mdl(&simlin::testsuite::default_root()) {
        let mut group = c.benchmark_group("parse");
        group.bench_function("largest_mdl", |b| {
            b.iter(|| black_box(simlin::load_file(&largest).ok()))
        });
        group.finish();
        println!("parse/largest_mdl is {}", largest.display());
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
        // Integration steps, not saved rows: with save_step > dt the engine
        // evaluates every step but saves only some.
        let spec = model.sim_specs();
        let steps = ((spec.stop - spec.start) / spec.dt).round() as usize + 1;
        let cells = (results.names.len() * steps).max(1);
        let n = (200_000 / cells).clamp(10, 10_000);
        let start = Instant::now();
        for _ in 0..n {
            black_box(model.run(&opts).ok());
        }
        let ns = start.elapsed().as_nanos() as f64 / (n * cells) as f64;
        println!(
            "  {label:<16} {ns:>8.2} ns  ({} variables x {steps} steps, {} saved, {n} runs)",
            results.names.len(),
            results.times.len()
        );
    }
}
