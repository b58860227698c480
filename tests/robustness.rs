//! Bad input gets a typed error, never a panic: every XMILE file of the
//! conformance suite (and our example) is truncated and byte-mutated
//! deterministically, then loaded, compiled and run. Any panic fails.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use simlin::{CompiledModel, RunOptions};

fn model_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![root.join("examples/teacup.xmile")];
    let suite = root.join("../shared/test-models");
    let mut stack = vec![suite];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("xmile" | "stmx" | "itmx")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Load, compile and run a short stretch; errors are fine, panics are not.
fn exercise(text: &str) {
    let Ok(project) = simlin::load_xmile(text) else {
        return;
    };
    let Ok(model) = CompiledModel::new(&project, None) else {
        return;
    };
    let spec = model.sim_specs().clone();
    // A mutation may make dt tiny or the horizon huge: run at most 50 steps.
    let opts = RunOptions {
        stop: Some(spec.stop.min(spec.start + 50.0 * spec.dt)),
        ..RunOptions::default()
    };
    let _ = model.run(&opts);
}

/// A small deterministic generator (no dependency, reproducible failures).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn mutated_and_truncated_models_never_panic() {
    let files = model_files();
    assert!(!files.is_empty());
    let mut rng = Lcg(42);
    let mutations: &[&[u8]] = &[
        b"(", b")", b"-", b"0", b"\"", b"<", b">", b"^", b"[", b"]", b",", b"e9", b"1e-300", b"@",
    ];
    let mut cases = 0;
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for _ in 0..8 {
            let cut = (rng.next() as usize) % (bytes.len() + 1);
            variants.push(bytes[..cut].to_vec());
        }
        for _ in 0..16 {
            let mut b = bytes.clone();
            if b.is_empty() {
                break;
            }
            let at = (rng.next() as usize) % b.len();
            let m = mutations[(rng.next() as usize) % mutations.len()];
            b.splice(at..(at + 1).min(b.len()), m.iter().copied());
            variants.push(b);
        }
        for v in variants {
            let text = String::from_utf8_lossy(&v).into_owned();
            cases += 1;
            let outcome = catch_unwind(AssertUnwindSafe(|| exercise(&text)));
            assert!(
                outcome.is_ok(),
                "panic on a mutation of {}:\n{text}",
                path.display()
            );
        }
    }
    eprintln!("robustness: {cases} mutated models, no panic");
}
