//! The hostile-input corpus (`tests/hostile/`): entity attacks, deep
//! nesting, self-referencing and huge dimensions, bad time specs, cycles
//! through modules and macros, invalid UTF-8, truncated files, out-of-range
//! numbers, plus generated large inputs. Each must load, compile and run, or
//! fail with a typed error, within a bounded time, and never panic.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use simlin::{CompiledModel, RunOptions};

/// What happened to one input: `Ok(())` ran, `Err(code)` a typed error.
fn outcome(path: &Path) -> Result<(), String> {
    let project = simlin::load_file(path).map_err(|e| e.code().to_string())?;
    let model = CompiledModel::new(&project, None).map_err(|e| e.code().to_string())?;
    model
        .run(&RunOptions::default())
        .map(|_| ())
        .map_err(|e| e.code().to_string())
}

/// [`outcome`] on a worker thread, failing the test on a panic or after
/// `limit` (a hang, not a timing assertion: every input here takes well
/// under a second).
fn bounded(path: PathBuf, limit: Duration) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let shown = path.display().to_string();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| outcome(&path));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => panic!("{shown}: panicked"),
        Err(_) => panic!("{shown}: no answer after {limit:?}"),
    }
}

#[test]
fn corpus_inputs_give_typed_errors_or_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let expected: &[(&str, Option<&str>)] = &[
        ("algebraic_cycle.mdl", Some("CIRCULAR_DEPENDENCY")),
        ("billion_laughs.xmile", Some("MALFORMED_XML")),
        ("deep_parens.xmile", Some("EQUATION_SYNTAX")),
        ("external_entity.xmile", Some("MALFORMED_XML")),
        ("huge_numeric_range.mdl", Some("MDL_SYNTAX")),
        ("invalid_utf8.mdl", None),
        ("invalid_utf8.xmile", Some("MALFORMED_XML")),
        ("macro_recursion.mdl", Some("BAD_MODULE")),
        ("module_cycle.xmile", Some("BAD_MODULE")),
        ("mutual_dimensions.mdl", Some("MDL_SYNTAX")),
        ("nan_stop.mdl", Some("BAD_SIM_SPECS")),
        ("negative_dt.xmile", Some("BAD_SIM_SPECS")),
        ("overflow_numbers.mdl", None),
        // `A: A` is a range with one element named like the range.
        ("self_dimension.mdl", None),
        ("stop_before_start.mdl", Some("BAD_TIME_SPEC")),
        ("truncated.mdl", Some("MDL_SYNTAX")),
        ("truncated.xmile", Some("MALFORMED_XML")),
        ("unknown_function.mdl", Some("UNKNOWN_FUNCTION")),
    ];
    let mut listed: Vec<&str> = expected.iter().map(|(f, _)| *f).collect();
    listed.sort_unstable();
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    assert_eq!(present, listed, "every corpus file has an expectation");
    let mut wrong = Vec::new();
    for (file, code) in expected {
        let got = bounded(dir.join(file), Duration::from_secs(60));
        let got_code = got.as_ref().err().map(String::as_str);
        if got_code != *code {
            wrong.push(format!("{file}: expected {code:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn large_generated_inputs_are_handled() {
    let dir = std::env::temp_dir().join(format!("simlin-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // 100,000 variables in one XMILE file and in one Vensim file: import
    // is linear (a quadratic duplicate check once took minutes here).
    let mut xmile = String::from(
        r#"<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs><model><variables>"#,
    );
    for i in 0..100_000 {
        xmile.push_str(&format!(r#"<aux name="v{i}"><eqn>{i}</eqn></aux>"#));
    }
    xmile.push_str("</variables></model></xmile>");
    let many = dir.join("many.xmile");
    std::fs::write(&many, &xmile).expect("write");
    assert_eq!(bounded(many, Duration::from_secs(120)), Ok(()));
    let mut mdl = String::from("{UTF-8}\n");
    for i in 0..100_000 {
        mdl.push_str(&format!("v{i} = {i} ~~|\n"));
    }
    mdl.push_str("INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n");
    let many = dir.join("many.mdl");
    std::fs::write(&many, &mdl).expect("write");
    assert_eq!(bounded(many, Duration::from_secs(120)), Ok(()));
    // 100 MB of padding in a Vensim comment: read, then an ordinary model.
    let mut mdl = String::from("{UTF-8}\nx = 1 ~ ~ ");
    mdl.push_str(&"padding ".repeat(100 * 1024 * 1024 / 8));
    mdl.push_str(
        " |\nINITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n",
    );
    let big = dir.join("big.mdl");
    std::fs::write(&big, &mdl).expect("write");
    drop(mdl);
    assert_eq!(bounded(big, Duration::from_secs(120)), Ok(()));
    // A data file that is a device, not a file.
    #[cfg(unix)]
    {
        let zero = dir.join("zero.csv");
        let _ = std::os::unix::fs::symlink("/dev/zero", &zero);
        let m = dir.join("m.mdl");
        std::fs::write(
            &m,
            "{UTF-8}\nx = GET DIRECT CONSTANTS('zero.csv', ',', 'A1') ~~|\nINITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n",
        )
        .expect("write");
        assert_eq!(
            bounded(m, Duration::from_secs(60)),
            Err("DATA_FILE".to_string())
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
