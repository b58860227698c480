//! Loop scores of a single run are computed by a pass over the plain run's
//! values (`loops::score`), and so are sweeps' (`loops::sweep`); the
//! stepwise `Sim` runs the instrumented model instead. Both ways must give
//! the same numbers, bit for bit, on every model of both shared suites with
//! loops, with each integration method.

use std::path::{Path, PathBuf};

use simlin::loops::{LoopMode, LtmModel};
use simlin::sweep::{
    sweep, sweep_each, OnError, Param, ParamValues, Progress, Reduce, SweepOptions, SweepResult,
};
use simlin::{Method, RunOptions};

fn model_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            model_files(&p, out);
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("mdl" | "xmile" | "stmx")
        ) {
            out.push(p);
        }
    }
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

#[test]
fn pointwise_scores_equal_the_instrumented_run() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let mut files = Vec::new();
    for suite in ["test-models", "real-models"] {
        let root = shared.join(suite);
        assert!(root.is_dir(), "the suite belongs at {}", root.display());
        model_files(&root, &mut files);
    }
    files.sort();
    let (mut compared, mut instrumented_only) = (0, 0);
    let mut differ = Vec::new();
    for f in &files {
        let Ok(project) = simlin::load_file(f) else {
            continue;
        };
        let Ok(m) = LtmModel::new(&project, None) else {
            continue;
        };
        if m.structure.loops.is_empty() {
            continue;
        }
        if !m.scores_pointwise() {
            instrumented_only += 1;
            continue;
        }
        let inst = m.compiled().expect("the instrumented model compiles");
        for method in [Method::Euler, Method::Rk4] {
            let opts = RunOptions {
                method: Some(method),
                ..RunOptions::default()
            };
            let (Ok(a), Ok(all)) = (m.run(&opts), inst.run(&opts)) else {
                continue;
            };
            let b = m.split(all).expect("the instrumented run has every score");
            let ok = a.results == b.results
                && a.relative.iter().zip(&b.relative).all(|(x, y)| same(x, y))
                && a.loop_scores
                    .iter()
                    .zip(&b.loop_scores)
                    .all(|(x, y)| same(x, y))
                && a.link_scores
                    .iter()
                    .zip(&b.link_scores)
                    .all(|(x, y)| x.0 == y.0 && same(&x.1, &y.1));
            if !ok {
                differ.push(format!("{} ({method:?})", f.display()));
            }
        }
        compared += 1;
    }
    eprintln!(
        "{compared} models compared, {instrumented_only} scored only by the instrumented run"
    );
    assert!(compared >= 40, "only {compared} models with loops compared");
    assert!(differ.is_empty(), "scores differ: {differ:#?}");
}

/// A sweep varying one of the model's constants (if it has one) by up to
/// ±10% over `n` runs.
fn varied(m: &LtmModel, n: usize) -> Vec<Param> {
    let plain = m.plain();
    let Ok(base) = plain.run(&RunOptions::default()) else {
        return Vec::new();
    };
    let found = plain.variables().iter().find_map(|v| {
        if !(v.constant && v.visible) {
            return None;
        }
        let i = base.names.iter().position(|n| *n == v.name)?;
        let x = *base.columns[i].first()?;
        (x.is_finite() && x != 0.0).then(|| (v.name.clone(), x))
    });
    let Some((name, x)) = found else {
        return Vec::new();
    };
    vec![Param {
        name,
        values: ParamValues::Numbers(
            (0..n)
                .map(|r| x * (0.9 + 0.2 * r as f64 / n as f64))
                .collect(),
        ),
    }]
}

fn same_sweep(a: &SweepResult, b: &SweepResult) -> bool {
    a.outputs == b.outputs
        && a.times == b.times
        && a.failures == b.failures
        && a.reduce == b.reduce
        && same(&a.values, &b.values)
}

#[test]
fn pointwise_sweeps_equal_the_instrumented_sweep() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let mut files = Vec::new();
    for suite in ["test-models", "real-models"] {
        model_files(&shared.join(suite), &mut files);
    }
    files.sort();
    let n = 21;
    let mut compared = 0;
    let mut differ = Vec::new();
    for f in &files {
        let Ok(project) = simlin::load_file(f) else {
            continue;
        };
        let Ok(m) = LtmModel::new(&project, None) else {
            continue;
        };
        if m.structure.loops.is_empty()
            || m.structure.mode != LoopMode::Exhaustive
            || !m.scores_pointwise()
        {
            continue;
        }
        let inst = m.compiled().expect("the instrumented model compiles");
        let params = varied(&m, n);
        let progress = Progress::new();
        // Every saved time is scored pointwise only when saves are some
        // steps apart; a final value always is.
        let sparse = Some(4.0 * m.plain().sim_specs().dt);
        let cases = [
            (Method::Euler, Some(Reduce::Final), None),
            (Method::Rk4, Some(Reduce::Final), None),
            (Method::Euler, None, sparse),
            (Method::Euler, Some(Reduce::Mean), sparse),
            (Method::Rk4, None, sparse),
        ];
        let mut ran = false;
        for (method, reduce, save_step) in cases {
            let opts = SweepOptions {
                outputs: Some(m.score_outputs().to_vec()),
                reduce,
                method: Some(method),
                save_step,
                on_error: OnError::Null,
                ..SweepOptions::default()
            };
            if !m.sweeps_pointwise(&opts) {
                differ.push(format!("{}: not pointwise ({reduce:?})", f.display()));
            }
            let a = m.sweep(n, &params, &opts, &progress);
            let b = sweep(&inst, n, &params, &opts, &progress);
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    ran = true;
                    if !same_sweep(&a, &b) {
                        differ.push(format!("{} ({method:?}, {reduce:?})", f.display()));
                    }
                }
                (Err(_), Err(_)) => {}
                (a, b) => differ.push(format!(
                    "{} ({method:?}, {reduce:?}): {:?} vs {:?}",
                    f.display(),
                    a.err(),
                    b.err()
                )),
            }
        }
        // Series handed out run by run: the relative scores only.
        let rel: Vec<String> = m
            .score_outputs()
            .iter()
            .filter(|s| s.contains(".rel."))
            .cloned()
            .collect();
        let opts = SweepOptions {
            outputs: Some(rel),
            save_step: sparse,
            on_error: OnError::Null,
            ..SweepOptions::default()
        };
        let each = |r: usize, t: &[f64], s: &[f64]| (r, t.len(), s.to_vec());
        match (
            m.sweep_each(n, &params, &opts, &progress, each),
            sweep_each(&inst, n, &params, &opts, &progress, each),
        ) {
            (Ok(a), Ok(b)) => {
                let ok = a.0 == b.0
                    && a.1.len() == b.1.len()
                    && a.1.iter().zip(&b.1).all(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) => x.0 == y.0 && x.1 == y.1 && same(&x.2, &y.2),
                        (None, None) => true,
                        _ => false,
                    });
                if !ok {
                    differ.push(format!("{} (each)", f.display()));
                }
            }
            (Err(_), Err(_)) => {}
            _ => differ.push(format!("{} (each): one failed", f.display())),
        }
        if ran {
            compared += 1;
        }
    }
    eprintln!("{compared} models swept both ways");
    assert!(differ.is_empty(), "sweeps differ: {differ:#?}");
    assert!(compared >= 40, "only {compared} models compared");
}
