//! Stable replay of the fuzz corpora: every input under `fuzz/corpus/<target>/`
//! and `fuzz/regressions/<target>/` (crashes the fuzzer once found) goes
//! through its target again, plus the hostile corpus through the pipeline.
//! A panic fails the test with the file's name.

use std::path::{Path, PathBuf};

#[path = "../fuzz/targets.rs"]
mod targets;

fn inputs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        if let Ok(entries) = std::fs::read_dir(d) {
            out.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    out.sort();
    out
}

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![
        root.join("fuzz/corpus").join(target),
        root.join("fuzz/regressions").join(target),
    ];
    if target == "pipeline" {
        dirs.push(root.join("tests/hostile"));
    }
    let files = inputs(&dirs);
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).expect("readable corpus file");
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: panicked on {failed:#?}");
    files.len()
}

#[test]
fn xmile_corpus() {
    assert!(
        replay("xmile", targets::xmile) > 0,
        "the corpus is checked in"
    );
}

#[test]
fn mdl_corpus() {
    assert!(replay("mdl", targets::mdl) > 0, "the corpus is checked in");
}

#[test]
fn equation_corpus() {
    assert!(
        replay("equation", targets::equation) > 0,
        "the corpus is checked in"
    );
}

#[test]
fn pipeline_corpus() {
    assert!(
        replay("pipeline", targets::pipeline) > 0,
        "the corpus is checked in"
    );
}
