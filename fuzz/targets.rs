//! The bodies of the fuzz targets, shared by the cargo-fuzz binaries in
//! `fuzz/fuzz_targets/` and the stable corpus replay in
//! `tests/fuzz_replay.rs`. Each takes arbitrary bytes and must return
//! (an `Ok` or a typed error) without panicking, aborting or hanging.

use simlin::{CompiledModel, RunOptions};

/// Inputs larger than this are skipped: size is exercised by the
/// generated large inputs of `tests/hostile.rs`, not by the fuzzer.
pub const MAX_INPUT: usize = 64 * 1024;

/// Runs are cut to this many steps so that one input stays fast.
pub const MAX_STEPS: f64 = 1000.0;

fn text(data: &[u8]) -> Option<&str> {
    if data.len() > MAX_INPUT {
        return None;
    }
    std::str::from_utf8(data).ok()
}

/// The XMILE reader on arbitrary text.
pub fn xmile(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = simlin::load_xmile(t);
    }
}

/// The Vensim reader on arbitrary text.
pub fn mdl(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = simlin::load_mdl(t);
    }
}

/// Both equation parsers (XMILE's and Vensim's) on one equation, on the
/// deep stack every reader runs on.
pub fn equation(data: &[u8]) {
    if let Some(t) = text(data) {
        simlin::with_deep_stack(|| {
            let _ = simlin::syntax::parser::parse_equation(t);
            let _ = simlin::syntax::mdl::parse_vensim_expr(t);
        });
    }
}

/// Read (XMILE when the text starts with `<`, Vensim otherwise), compile
/// and run, with the run cut to [`MAX_STEPS`] steps.
/// Arrays larger than this are skipped by the pipeline target (time, not
/// correctness: compile time is linear in the number of elements).
const MAX_FUZZ_ELEMENTS: usize = 20_000;

/// The element count of the project's largest arrayed variable.
fn largest_array(project: &simlin::Project) -> usize {
    let size = |d: &String| {
        project
            .dimensions
            .iter()
            .find(|x| &x.ident == d)
            .map_or(1, |x| x.elements.len().max(1))
    };
    project
        .models
        .iter()
        .flat_map(|m| m.variables.iter())
        .map(|v| {
            v.dims
                .iter()
                .map(size)
                .fold(1usize, |a, b| a.saturating_mul(b))
        })
        .max()
        .unwrap_or(1)
}

pub fn pipeline(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let project = if t.trim_start().starts_with('<') {
        simlin::load_xmile(t)
    } else {
        simlin::load_mdl(t)
    };
    let Ok(project) = project else { return };
    if largest_array(&project) > MAX_FUZZ_ELEMENTS {
        // Within the engine's limit (`simlin::ir::MAX_ELEMENTS`, a typed
        // error past it) but seconds per input: a 1,000,000-element array
        // compiles in about 10 s and 1 GB.
        return;
    }
    let specs = &project.sim_specs;
    if specs.dynamic.stop.is_some() || specs.dynamic.dt.is_some() {
        // A stop or step set by the model itself: bounded by the VM's own
        // step limit, but too slow for a fuzzer's iteration.
        return;
    }
    let Ok(model) = CompiledModel::new(&project, None) else {
        return;
    };
    let mut opts = RunOptions::default();
    if specs.dt > 0.0 && (specs.stop - specs.start) / specs.dt > MAX_STEPS {
        opts.stop = Some(specs.start + MAX_STEPS * specs.dt);
    }
    let _ = model.run(&opts);
    // Loop analysis on the same model: links, loops and one scored run.
    if model.variables().len() <= MAX_FUZZ_LTM_VARS {
        if let Ok(ltm) = simlin::loops::LtmModel::new(&project, None) {
            let _ = ltm.run(&opts).map(|r| r.dominant_periods());
        }
    }
}

/// Loop analysis is fuzzed on models of at most this many variables (its
/// cost grows with the number of loops, not the input size).
const MAX_FUZZ_LTM_VARS: usize = 2_000;
