//! `simlin-scoreboard`: run the conformance suites and print one line per
//! row, then totals per group and per suite.
//!
//! ```text
//! simlin-scoreboard [--suite sdxorg|real-models|all] [--root PATH] [--filter SUBSTR] [--verbose]
//! ```
//!
//! Unlike `tests/conformance.rs` it has no expected-failures list: it is the
//! progress report, not the gate. SDXorg rows are totalled per format
//! (XMILE/Stella apart from Vensim `.mdl`), real-models rows per project
//! folder (`sdeverywhere`, `WRLD3-03`, `C-LEARN`); rows with no reference of
//! their own (run only) are counted apart from the scored ones.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use simlin::testsuite::{self, Format, Outcome, Scoring, Suite};

struct Args {
    suites: Vec<Suite>,
    root: Option<PathBuf>,
    filter: Option<String>,
    verbose: bool,
}

const USAGE: &str = "usage: simlin-scoreboard [--suite sdxorg|real-models|all] [--root PATH] \
                     [--filter SUBSTR] [--verbose]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        suites: Suite::ALL.to_vec(),
        root: None,
        filter: None,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--suite" => {
                let name = it.next().ok_or("--suite needs a name")?;
                args.suites = match name.as_str() {
                    "all" => Suite::ALL.to_vec(),
                    n => vec![Suite::ALL
                        .into_iter()
                        .find(|s| s.name() == n)
                        .ok_or_else(|| format!("unknown suite '{n}'\n{USAGE}"))?],
                };
            }
            "--root" => args.root = Some(it.next().ok_or("--root needs a path")?.into()),
            "--filter" => args.filter = Some(it.next().ok_or("--filter needs a substring")?),
            "--verbose" | "-v" => args.verbose = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    if args.root.is_some() && args.suites.len() != 1 {
        return Err(format!("--root needs one --suite\n{USAGE}"));
    }
    Ok(args)
}

/// Passed and total rows.
#[derive(Clone, Copy, Default)]
struct Tally {
    passed: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, passed: bool) {
        self.passed += usize::from(passed);
        self.total += 1;
    }
}

/// Run one suite, print its rows and totals; `None` if it cannot be read.
fn run_suite(suite: Suite, args: &Args) -> Option<Tally> {
    let root = args.root.clone().unwrap_or_else(|| suite.default_root());
    let cases = match suite.discover(&root) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "cannot read the {} suite at {}: {e}",
                suite.name(),
                root.display()
            );
            return None;
        }
    };
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|c| args.filter.as_deref().is_none_or(|f| c.key.contains(f)))
        .collect();
    println!("== {} ({})", suite.name(), root.display());
    let results = testsuite::run_all(&cases, testsuite::default_threads());
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    let mut run_only = Tally::default();
    let mut scored = Tally::default();
    let mut mdl = Tally::default();
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
        if r.case.scoring == Scoring::RunOnly {
            run_only.add(r.passed());
            continue;
        }
        groups
            .entry(suite.group(&r.case))
            .or_default()
            .add(r.passed());
        scored.add(r.passed());
        if r.case.format == Format::Mdl {
            mdl.add(r.passed());
        }
    }
    println!();
    for (group, t) in &groups {
        println!("{:<14} {} passed of {}", group, t.passed, t.total);
    }
    if suite == Suite::SdXorg {
        println!(
            "TOTAL xmile/stmx: {} passed of {}",
            scored.passed - mdl.passed,
            scored.total - mdl.total
        );
        println!("TOTAL mdl: {} passed of {}", mdl.passed, mdl.total);
    }
    if run_only.total > 0 {
        println!(
            "run only (no reference of their own): {} ran of {}",
            run_only.passed, run_only.total
        );
    }
    println!(
        "TOTAL {}: {} passed of {} scored\n",
        suite.name(),
        scored.passed,
        scored.total
    );
    Some(scored)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut summary = Vec::new();
    for &suite in &args.suites {
        match run_suite(suite, &args) {
            Some(t) => summary.push((suite, t)),
            None => return ExitCode::from(2),
        }
    }
    for (suite, t) in &summary {
        println!("{:<12} {} passed of {}", suite.name(), t.passed, t.total);
    }
    ExitCode::SUCCESS
}
