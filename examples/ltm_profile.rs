//! Profiling aid (e.g. under `perf record`): repeated single runs of a model
//! with and without loop scores, printing the 10th percentile time of each
//! (`cargo run --release --example ltm_profile -- MODEL [REPEAT [SAVE_STEP]]`); then
//! 2,000-run single-thread sweeps of the relative loop scores: plain
//! `reduce=final`, scored from the plain runs' values (final and every
//! saved time) and by the instrumented model.

use simlin::loops::ltm::LtmModel;
use simlin::sweep::{sweep, sweep_each, Progress, Reduce, SweepOptions};
use simlin::{CompiledModel, RunOptions};
use std::time::Instant;

fn time(f: &mut impl FnMut()) -> f64 {
    let s = Instant::now();
    f();
    s.elapsed().as_secs_f64() * 1e3
}

fn p10(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 10]
}

fn low(mut f: impl FnMut(), n: usize) -> f64 {
    p10((0..n).map(|_| time(&mut f)).collect())
}

/// The 10th percentiles of `f` and `g` timed alternately, so that both see
/// the same load on a shared machine.
fn low_pair(mut f: impl FnMut(), mut g: impl FnMut(), n: usize) -> (f64, f64) {
    let (a, b): (Vec<f64>, Vec<f64>) = (0..n).map(|_| (time(&mut f), time(&mut g))).unzip();
    (p10(a), p10(b))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: ltm_profile MODEL [REPEAT [SAVE_STEP]]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200);
    let save_step: Option<f64> = args.next().map(|s| s.parse()).transpose()?;
    let project = simlin::load_file(&path)?;
    let plain = CompiledModel::new(&project, None)?;
    let ltm = LtmModel::new(&project, None)?;
    let opts = RunOptions::default();
    let (a, b) = low_pair(|| drop(plain.run(&opts)), || drop(ltm.run(&opts)), n);
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
    if ltm.structure.mode != simlin::loops::LoopMode::Exhaustive {
        return Ok(()); // sweeps score enumerated loops only
    }
    let rel: Vec<String> = ltm
        .score_outputs()
        .iter()
        .filter(|s| s.contains(".rel."))
        .cloned()
        .collect();
    let runs = 2000;
    let opts = |reduce| SweepOptions {
        outputs: Some(rel.clone()),
        reduce,
        threads: Some(1),
        save_step,
        ..SweepOptions::default()
    };
    let p = Progress::new();
    let inst = ltm.compiled()?;
    let plain_opts = SweepOptions {
        reduce: Some(Reduce::Final),
        threads: Some(1),
        save_step,
        ..SweepOptions::default()
    };
    let each = |_: usize, _: &[f64], s: &[f64]| s.len();
    let base = low(|| drop(sweep(&plain, runs, &[], &plain_opts, &p)), 5);
    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let cases: [Case; 4] = [
        (
            "scored, final",
            Box::new(|| drop(ltm.sweep(runs, &[], &opts(Some(Reduce::Final)), &p))),
        ),
        (
            "instrumented, final",
            Box::new(|| drop(sweep(&inst, runs, &[], &opts(Some(Reduce::Final)), &p))),
        ),
        (
            "scored, each",
            Box::new(|| drop(ltm.sweep_each(runs, &[], &opts(None), &p, each))),
        ),
        (
            "instrumented, each",
            Box::new(|| drop(sweep_each(&inst, runs, &[], &opts(None), &p, each))),
        ),
    ];
    println!("sweep of {runs} runs, reduce=final: {base:.1} ms");
    for (what, f) in cases {
        let t = low(f, 5);
        println!("  {what}: {t:.1} ms, {:.1}x", t / base);
    }
    Ok(())
}
