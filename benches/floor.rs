//! The floor: the single-run benchmark models written by hand as plain Rust
//! loops, against the engine running the same model files, in one run.
//!
//! A hand-written loop is what a modeler could get by translating the
//! equations into a compiled language: no interpreter, no name lookups, the
//! values stored the way the engine stores them (every variable at every
//! saved time, in storage allocated once). The engine's ratio to it is the
//! cost of interpretation and generality.
//!
//! Models: the SDXorg `samples/SIR` (8 variables x 3,201 steps) and
//! `../shared/bench-models/sir_array_1000.mdl` (7,005 variables x 801
//! steps). Each floor is checked against the engine's results before timing
//! (every variable at every saved time, to 1e-12 relative), so the two
//! compute the same thing. Prints, after criterion's groups, a table of
//! milliseconds and ns per (variable x step) for the engine, the floor
//! storing every value, the floor storing nothing (the arithmetic alone),
//! and, for the arrayed model, the floor storing every value into memory
//! a previous run paged in (fresh memory is most of a stored run's cost).
//! Missing model files are reported and skipped.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::Criterion;
use simlin::testsuite::Suite;
use simlin::{CompiledModel, Results, RunOptions};

/// Saved values of a hand-written run: column `j` of row `k` is variable
/// `names[j]` at the `k`-th step (row-major, allocated once).
struct Floor {
    names: Vec<String>,
    rows: usize,
    values: Vec<f64>,
}

impl Floor {
    fn with_capacity(names: Vec<String>, rows: usize) -> Floor {
        Floor::with_storage(names, rows, None)
    }

    /// Storage for `rows` rows: `spare` (emptied, its memory kept) when
    /// given, else freshly allocated.
    fn with_storage(names: Vec<String>, rows: usize, spare: Option<Vec<f64>>) -> Floor {
        let mut values = spare.unwrap_or_default();
        values.clear();
        values.reserve(rows * names.len());
        Floor {
            names,
            rows,
            values,
        }
    }
}

/// `samples/SIR` by hand: Euler, dt 1/32, 0 to 100, every step saved.
fn sir_floor(store: bool) -> Floor {
    const DT: f64 = 0.03125;
    let steps = (100.0 / DT) as usize;
    let names = [
        "susceptible",
        "infectious",
        "recovered",
        "succumbing",
        "recovering",
        "total_population",
        "duration",
        "contact_infectivity",
    ];
    let mut out = Floor::with_capacity(
        names.iter().map(|n| n.to_string()).collect(),
        if store { steps + 1 } else { 0 },
    );
    let (total, duration, contact) = (1000.0, 5.0, 0.3);
    let (mut s, mut i, mut r) = (total, 5.0, 0.0);
    for step in 0..=steps {
        let succumbing = s * i / total * contact;
        let recovering = i / duration;
        if store {
            out.values
                .extend_from_slice(&[s, i, r, succumbing, recovering, total, duration, contact]);
        } else {
            black_box((succumbing, recovering));
        }
        if step < steps {
            s -= DT * succumbing;
            i += DT * (succumbing - recovering);
            r += DT * recovering;
        }
    }
    out
}

/// `sir_array_1000.mdl` by hand: 1,000 regions, Euler, dt 1/8, 0 to 100;
/// storing into `spare` when given (memory a previous run already paged
/// in), else into fresh storage as the engine does.
fn sir_array_floor(initial: &[f64], store: bool, spare: Option<Vec<f64>>) -> Floor {
    const DT: f64 = 0.125;
    let n = initial.len();
    let steps = (100.0 / DT) as usize;
    let (contact, duration, local) = (0.3, 5.0, 0.8);
    let population = vec![1000.0; n];
    let mut names = Vec::with_capacity(7 * n + 5);
    for var in [
        "Susceptible",
        "Infectious",
        "Recovered",
        "Succumbing",
        "Recovering",
        "Initial Infectious",
        "Total Population",
    ] {
        names.extend((1..=n).map(|k| format!("{var}[r{k}]")));
    }
    names.extend(
        [
            "Contact Infectivity",
            "Duration",
            "Local Mixing",
            "Global Prevalence",
            "Total Recovered",
        ]
        .map(String::from),
    );
    let mut out = Floor::with_storage(names, if store { steps + 1 } else { 0 }, spare);
    let mut s: Vec<f64> = population.iter().zip(initial).map(|(p, i)| p - i).collect();
    let mut i = initial.to_vec();
    let mut r = vec![0.0; n];
    let mut succumbing = vec![0.0; n];
    let mut recovering = vec![0.0; n];
    let total_population: f64 = population.iter().sum();
    for step in 0..=steps {
        let prevalence = i.iter().sum::<f64>() / total_population;
        for k in 0..n {
            succumbing[k] =
                contact * s[k] * (local * i[k] / population[k] + (1.0 - local) * prevalence);
            recovering[k] = i[k] / duration;
        }
        let total_recovered: f64 = r.iter().sum();
        if store {
            for block in [&s, &i, &r, &succumbing, &recovering] {
                out.values.extend_from_slice(block);
            }
            out.values.extend_from_slice(initial);
            out.values.extend_from_slice(&population);
            out.values
                .extend_from_slice(&[contact, duration, local, prevalence, total_recovered]);
        } else {
            black_box((prevalence, total_recovered, &succumbing));
        }
        if step < steps {
            for k in 0..n {
                s[k] -= DT * succumbing[k];
                i[k] += DT * (succumbing[k] - recovering[k]);
                r[k] += DT * recovering[k];
            }
        }
    }
    out
}

/// Every value of `floor` against the engine's results: same names, same
/// number of saved times, each value within 1e-12 relative.
fn check(label: &str, floor: &Floor, results: &Results) -> Result<(), String> {
    if results.len() != floor.rows {
        return Err(format!(
            "{label}: engine saved {} times, floor {}",
            results.len(),
            floor.rows
        ));
    }
    let width = floor.names.len();
    for (j, name) in floor.names.iter().enumerate() {
        let column = results
            .column(name)
            .ok_or_else(|| format!("{label}: engine has no column {name}"))?;
        for (k, &want) in column.iter().enumerate() {
            let got = floor.values[k * width + j];
            if (got - want).abs() > 1e-12 * want.abs().max(1.0) {
                return Err(format!(
                    "{label}: {name} at row {k}: floor {got}, engine {want}"
                ));
            }
        }
    }
    Ok(())
}

/// The 1,000 initial infectious values of the arrayed model, read from the
/// engine's results (its constant column), so the floor uses the file's.
fn initial_infectious(results: &Results, n: usize) -> Option<Vec<f64>> {
    (1..=n)
        .map(|k| {
            results
                .column(&format!("Initial Infectious[r{k}]"))
                .map(|c| c[0])
        })
        .collect()
}

fn median_ms(mut f: impl FnMut(), runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let opts = RunOptions::default();
    let mut table = Vec::new();

    let sir_path = simlin::testsuite::default_root().join("samples/SIR/SIR.xmile");
    let array_path: PathBuf = Suite::RealModels
        .default_root()
        .parent()
        .map(|shared| shared.join("bench-models/sir_array_1000.mdl"))
        .unwrap_or_default();

    let load = |path: &PathBuf| {
        simlin::load_file(path)
            .and_then(|p| CompiledModel::new(&p, None))
            .map_err(|e| eprintln!("note: {}: skipped: {e}", path.display()))
            .ok()
    };

    if let Some(model) = load(&sir_path) {
        let results = model.run(&opts).expect("SIR runs");
        match check("SIR", &sir_floor(true), &results) {
            Ok(()) => {
                let mut group = c.benchmark_group("floor_sir");
                group.bench_function("engine", |b| b.iter(|| black_box(model.run(&opts).ok())));
                group.bench_function("floor", |b| b.iter(|| black_box(sir_floor(true))));
                group.finish();
                table.push((
                    "SIR",
                    8 * 3201,
                    median_ms(|| drop(black_box(model.run(&opts))), 200),
                    median_ms(|| drop(black_box(sir_floor(true))), 200),
                    median_ms(|| drop(black_box(sir_floor(false))), 200),
                    None,
                ));
            }
            Err(e) => eprintln!("note: SIR floor disagrees, not timed: {e}"),
        }
    }

    if let Some(model) = load(&array_path) {
        let results = model.run(&opts).expect("the arrayed SIR runs");
        match initial_infectious(&results, 1000) {
            None => eprintln!("note: sir_array_1000: no Initial Infectious columns"),
            Some(initial) => match check(
                "SIR x1000",
                &sir_array_floor(&initial, true, None),
                &results,
            ) {
                Ok(()) => {
                    let mut group = c.benchmark_group("floor_sir_array_1000");
                    group.sample_size(20);
                    group.bench_function("engine", |b| b.iter(|| black_box(model.run(&opts).ok())));
                    group.bench_function("floor", |b| {
                        b.iter(|| black_box(sir_array_floor(&initial, true, None)))
                    });
                    group.finish();
                    let mut spare = Some(sir_array_floor(&initial, true, None).values);
                    let warm = median_ms(
                        || {
                            let f = black_box(sir_array_floor(&initial, true, spare.take()));
                            spare = Some(f.values);
                        },
                        15,
                    );
                    table.push((
                        "SIR x1000",
                        7005 * 801,
                        median_ms(|| drop(black_box(model.run(&opts))), 15),
                        median_ms(
                            || drop(black_box(sir_array_floor(&initial, true, None))),
                            15,
                        ),
                        median_ms(
                            || drop(black_box(sir_array_floor(&initial, false, None))),
                            15,
                        ),
                        Some(warm),
                    ));
                }
                Err(e) => eprintln!("note: SIR x1000 floor disagrees, not timed: {e}"),
            },
        }
    }
    c.final_summary();

    // "warm floor": the hand-written loop storing every value into memory
    // a previous run already paged in. The engine, like the floor, stores
    // into fresh memory here (the system allocator gives it back between
    // runs); from Python the extension's allocator keeps it.
    println!("\nsingle run, stored everything (medians, one process):");
    println!(
        "  {:<10} {:>10} {:>10} {:>8} {:>12} {:>12} {:>14} {:>14}",
        "model",
        "engine ms",
        "floor ms",
        "ratio",
        "engine ns/vs",
        "floor ns/vs",
        "compute-only ms",
        "warm floor ns/vs"
    );
    for (label, cells, engine, floor, compute, warm) in table {
        let ns = |ms: f64| ms * 1e6 / cells as f64;
        let warm = warm.map_or("-".to_string(), |w| format!("{:.2}", ns(w)));
        println!(
            "  {label:<10} {engine:>10.3} {floor:>10.3} {:>7.1}x {:>12.2} {:>12.2} {compute:>14.3} {warm:>14}",
            engine / floor,
            ns(engine),
            ns(floor),
        );
    }
}
