//! Profiling aid (e.g. under `perf record`): repeated single runs of a model
//! with and without loop scores, printing the 10th percentile time of each
//! (`cargo run --release --example ltm_profile -- MODEL [REPEAT]`).

use simlin::loops::ltm::LtmModel;
use simlin::{CompiledModel, RunOptions};
use std::time::Instant;

fn low(mut f: impl FnMut(), n: usize) -> f64 {
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[n / 10]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: ltm_profile MODEL [REPEAT]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200);
    let project = simlin::load_file(&path)?;
    let plain = CompiledModel::new(&project, None)?;
    let ltm = LtmModel::new(&project, None)?;
    let opts = RunOptions::default();
    let a = low(|| drop(plain.run(&opts)), n);
    let b = low(|| drop(ltm.run(&opts)), n);
    let run = ltm.run(&opts)?;
    let c = low(|| drop(run.dominant_periods()), n);
    let d = low(|| drop(run.shown_link_scores(&ltm.structure)), n);
    println!("dominant periods {c:.3} ms, shown link scores {d:.3} ms");
    println!(
        "plain {a:.3} ms, ltm {b:.3} ms, ratio {:.1}; {} loops, {} scored links, pointwise {}",
        b / a,
        ltm.structure.loops.len(),
        ltm.scored.len(),
        ltm.scores_pointwise()
    );
    Ok(())
}
