//! Loop scores of a single run are computed by a pass over the plain run's
//! values (`loops::score`); the stepwise `Sim` and sweeps run the
//! instrumented model instead. Both must give the same numbers, bit for bit,
//! on every model of both shared suites with loops, with each integration method.

use std::path::{Path, PathBuf};

use simlin::loops::LtmModel;
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
