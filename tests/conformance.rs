//! Conformance: every XMILE/Stella/Vensim row of the SDXorg suite
//! (`../shared/test-models`) and of the real-models suite
//! (`../shared/real-models`: SDEverywhere, World3-03, C-LEARN) must match
//! its reference output, unless it is listed in the suite's expected
//! failures (`tests/conformance/expected_failures.txt`,
//! `tests/conformance/real_models_expected_failures.txt`).
//!
//! Fails when an unlisted row fails, a listed row passes (the list only
//! shrinks), a listed row does not exist, a model folder is neither run nor
//! listed, or the suite itself is missing. `SIMLIN_BLESS=1` rewrites the
//! lists from this run instead (keeping existing reasons).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use simlin::testsuite::{self, expected, CaseResult, Suite};

fn expected_path(suite: Suite) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(suite.expected_failures_file())
}

/// Folders under `root` holding at least one model file, found
/// independently of `testsuite::discover` for the membership check.
fn model_folders(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            model_folders(root, &path, out);
        } else if let Some((_, ext)) = name.rsplit_once('.') {
            if matches!(
                ext.to_ascii_lowercase().as_str(),
                "xmile" | "stmx" | "itmx" | "mdl"
            ) {
                let rel = dir.strip_prefix(root).unwrap_or(dir);
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
}

#[test]
fn conformance() {
    check_suite(Suite::SdXorg);
}

#[test]
fn real_models() {
    check_suite(Suite::RealModels);
}

fn check_suite(suite: Suite) {
    let root = suite.default_root();
    assert!(
        root.is_dir(),
        "the {} suite is missing: expected it at {} (see README: ../shared beside the \
         clone, or set SIMLIN_TEST_MODELS / SIMLIN_REAL_MODELS)",
        suite.name(),
        root.display()
    );
    let cases: Vec<_> = suite
        .discover(&root)
        .expect("cannot list the suite's models")
        .into_iter()
        .filter(|c| c.format.is_supported())
        .collect();
    assert!(!cases.is_empty(), "no models under {}", root.display());

    let results = testsuite::run_all(&cases, testsuite::default_threads());

    let list_path = expected_path(suite);
    let text = std::fs::read_to_string(&list_path).unwrap_or_default();
    let list = expected::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", list_path.display()));

    if std::env::var_os("SIMLIN_BLESS").is_some_and(|v| v == "1") {
        let blessed = expected::bless(&list, &results);
        std::fs::write(&list_path, expected::render(suite, &blessed)).expect("cannot write list");
        let msg = format!(
            "{}: blessed {} with {} expected failures of {} rows\n",
            suite.name(),
            list_path.display(),
            blessed.len(),
            results.len()
        );
        let _ = std::io::stderr().write_all(msg.as_bytes());
        return;
    }

    let mut errors = Vec::new();
    let verdict = expected::check(&list, &results);
    for r in &verdict.unexpected_failures {
        errors.push(format!(
            "FAILED (not in expected list): {}  {}",
            r.case.key,
            r.detail()
        ));
    }
    for key in &verdict.unexpected_passes {
        errors.push(format!(
            "PASSES now: {key} — remove it from {} (the list only shrinks)",
            list_path.display()
        ));
    }
    for key in &verdict.unknown {
        errors.push(format!(
            "LISTED but no such row: {key} — remove it from the list"
        ));
    }

    // Membership: every folder with a model file is run or listed.
    let mut folders = BTreeSet::new();
    model_folders(&root, &root, &mut folders);
    let covered: BTreeSet<&str> = results
        .iter()
        .map(|r| r.case.folder())
        .chain(
            list.keys()
                .map(|k| k.rsplit_once('/').map_or("", |(d, _)| d)),
        )
        .collect();
    for folder in &folders {
        if !covered.contains(folder.as_str()) {
            errors.push(format!(
                "folder {folder} has a model file but is neither run nor listed"
            ));
        }
    }

    let passed = results.iter().filter(|r| r.passed()).count();
    let expected_failures = results
        .iter()
        .filter(|r: &&CaseResult| !r.passed() && list.contains_key(&r.case.key))
        .count();
    // Written straight to stderr so the summary shows even when the test
    // harness captures `println!` output of passing tests.
    let summary = format!(
        "{}: {passed} passed, {expected_failures} expected failures of {} rows\n",
        suite.name(),
        results.len()
    );
    let _ = std::io::stderr().write_all(summary.as_bytes());
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        panic!(
            "{} {} conformance problem(s); if the changes are intended, run \
             `SIMLIN_BLESS=1 cargo test --test conformance` and review the diff",
            errors.len(),
            suite.name()
        );
    }
}
