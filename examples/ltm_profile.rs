//! Profiling aid (e.g. under `perf record`): repeated single runs of a model
//! with and without loop scores, printing the median time of each
//! (`cargo run --release --example ltm_profile -- MODEL [REPEAT]`).

use simlin::loops::ltm::LtmModel;
use simlin::{CompiledModel, RunOptions};
use std::time::Instant;

fn median(mut f: impl FnMut(), n: usize) -> f64 {
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[n / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: ltm_profile MODEL [REPEAT]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200);
    let project = simlin::load_file(&path)?;
    let plain = CompiledModel::new(&project, None)?;
    let ltm = LtmModel::new(&project, None)?;
    let opts = RunOptions::default();
    let a = median(|| drop(plain.run(&opts)), n);
    let b = median(|| drop(ltm.run(&opts)), n);
    println!(
        "plain {a:.3} ms, ltm {b:.3} ms, ratio {:.1}; {} loops, {} scored links, pointwise {}",
        b / a,
        ltm.structure.loops.len(),
        ltm.scored.len(),
        ltm.scores_pointwise()
    );
    Ok(())
}
