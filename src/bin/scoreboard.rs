//! `simlin-scoreboard`: run the SDXorg conformance suite and print one line
//! per row, then per-format totals.
//!
//! ```text
//! simlin-scoreboard [--root PATH] [--filter SUBSTR] [--verbose]
//! ```
//!
//! Unlike `tests/conformance.rs` it has no expected-failures list: it is the
//! progress report, not the gate. Vensim `.mdl` rows run too and are
//! totalled separately from the XMILE/Stella ones.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use simlin::testsuite::{self, Format, Outcome};

struct Args {
    root: PathBuf,
    filter: Option<String>,
    verbose: bool,
}

const USAGE: &str = "usage: simlin-scoreboard [--root PATH] [--filter SUBSTR] [--verbose]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        root: testsuite::default_root(),
        filter: None,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--root" => args.root = it.next().ok_or("--root needs a path")?.into(),
            "--filter" => args.filter = Some(it.next().ok_or("--filter needs a substring")?),
            "--verbose" | "-v" => args.verbose = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let cases = match testsuite::discover(&args.root) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot read test-models at {}: {e}", args.root.display());
            return ExitCode::from(2);
        }
    };
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|c| args.filter.as_deref().is_none_or(|f| c.key.contains(f)))
        .collect();
    let (runnable, skipped): (Vec<_>, Vec<_>) =
        cases.into_iter().partition(|c| c.format.is_supported());

    let results = testsuite::run_all(&runnable, testsuite::default_threads());
    // format → (passed, total)
    let mut totals: BTreeMap<Format, (usize, usize)> = BTreeMap::new();
    for r in &results {
        let status = if r.passed() { "PASS" } else { "FAIL" };
        println!("{status}  {}  {}", r.case.key, r.detail());
        if args.verbose {
            if let Outcome::Mismatch(c) = &r.outcome {
                for m in &c.failing {
                    println!("        {m}");
                }
                for p in &c.problems {
                    println!("        {p}");
                }
            }
        }
        let t = totals.entry(r.case.format).or_default();
        t.0 += usize::from(r.passed());
        t.1 += 1;
    }
    for case in &skipped {
        println!("SKIP  {}  not run (format not supported)", case.key);
    }
    println!();
    for (format, (passed, total)) in &totals {
        println!("{:<6} {passed} passed of {total}", format.name());
    }
    let passed: usize = totals.values().map(|t| t.0).sum();
    let mdl = totals.get(&Format::Mdl).copied().unwrap_or_default();
    println!(
        "TOTAL xmile/stmx: {} passed of {}",
        passed - mdl.0,
        results.len() - mdl.1
    );
    println!("TOTAL mdl: {} passed of {}", mdl.0, mdl.1);
    println!("TOTAL: {passed} passed of {}", results.len());
    ExitCode::SUCCESS
}
