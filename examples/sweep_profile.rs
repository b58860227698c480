//! Profiling aid (e.g. under `perf record`): a 20,000-run single-thread sweep
//! of a model, each named constant varied,
//! keeping final values (`cargo run --release --example sweep_profile -- MODEL`).

use simlin::sweep::{sweep, Param, ParamValues, Progress, Reduce, SweepOptions};
use simlin::CompiledModel;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: sweep_profile MODEL [PARAM...]")?;
    let project = simlin::load_file(&path)?;
    let model = CompiledModel::new(&project, None)?;
    let n = 20_000;
    let params: Vec<Param> = std::env::args()
        .skip(2)
        .map(|name| Param {
            name,
            values: ParamValues::Numbers((0..n).map(|r| 1.0 + (r % 100) as f64 / 100.0).collect()),
        })
        .collect();
    let opts = SweepOptions {
        reduce: Some(Reduce::Final),
        threads: Some(1),
        ..SweepOptions::default()
    };
    let start = std::time::Instant::now();
    let res = sweep(&model, n, &params, &opts, &Progress::new())?;
    println!("{} runs in {:?}", res.n_runs, start.elapsed());
    Ok(())
}
