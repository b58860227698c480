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

/// A 100,000-term sum (Vensim and XMILE) loads, compiles and runs, from a
/// thread with a small stack too; dropping the model does not recurse.
#[test]
fn hundred_thousand_term_sums_run_anywhere() {
    let terms = vec!["1"; 100_000].join("+");
    let mdl = format!(
        "{{UTF-8}}\nx = {terms} ~~|\nINITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
    );
    let xmile = format!(
        r#"<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs><model><variables><aux name="x"><eqn>{terms}</eqn></aux></variables></model></xmile>"#
    );
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for project in [simlin::load_mdl(&mdl), simlin::load_xmile(&xmile)] {
                let project = project.expect("loads");
                let model = simlin::CompiledModel::new(&project, None).expect("compiles");
                let r = model.run(&simlin::RunOptions::default()).expect("runs");
                assert_eq!(r.column("x").expect("x")[0], 100_000.0);
            }
        })
        .expect("thread");
    handle.join().expect("no crash");
}

/// Inputs that used to abort or run without end now fail with a typed error.
#[test]
fn hostile_sizes_and_time_specs_are_typed_errors() {
    let dim = r#"<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs><dimensions><dim name="d" size="1000000000"/></dimensions><model><variables><aux name="a"><eqn>1</eqn><dimensions><dim name="d"/></dimensions></aux></variables></model></xmile>"#;
    assert_eq!(simlin::load_xmile(dim).unwrap_err().code(), "NOT_XMILE");
    let cube = r#"<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs><dimensions><dim name="d" size="1000"/></dimensions><model><variables><aux name="a"><eqn>1</eqn><dimensions><dim name="d"/><dim name="d"/><dim name="d"/></dimensions></aux></variables></model></xmile>"#;
    let p = simlin::load_xmile(cube).expect("loads");
    assert_eq!(
        simlin::CompiledModel::new(&p, None).unwrap_err().code(),
        "BAD_SUBSCRIPT"
    );
    let mdl = |dt: &str, stop: &str| {
        format!("{{UTF-8}}\ns = INTEG(1, 0) ~~|\nFINAL TIME = {stop} ~~|\nINITIAL TIME = 0 ~~|\nSAVEPER = TIME STEP ~~|\nTIME STEP = {dt} ~~|\n")
    };
    for dt in ["0", "-1"] {
        let e = simlin::load_mdl(&mdl(dt, "10")).unwrap_err();
        assert_eq!(e.code(), "BAD_SIM_SPECS", "{e}");
        assert!(e.to_string().contains("TIME STEP"), "{e}");
    }
    // A stop time that moves with the run ends (here by the memory guard of
    // a run that saves without end; with few saves, by the step bound).
    let p = simlin::load_mdl(&mdl("1", "Time + 10")).expect("loads");
    let m = simlin::CompiledModel::new(&p, None).expect("compiles");
    let opts = simlin::RunOptions {
        save_step: Some(1e12),
        cancel: Some(simlin::Cancel::new()),
        ..Default::default()
    };
    let flag = opts.cancel.clone().expect("flag");
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        flag.cancel();
    });
    // Cancelled from another thread well before the step bound.
    assert_eq!(m.run(&opts).unwrap_err().code(), "CANCELLED");
    stopper.join().expect("stopper");
}
