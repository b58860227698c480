//! The checked-in list of rows expected to fail
//! (`tests/conformance/expected_failures.txt`).
//!
//! One row per line: `path/relative/to/test-models.xmile  # reason`. Blank
//! lines and lines starting with `#` are comments. The list only shrinks:
//! [`check`] reports a listed row that now passes as an error, so whoever
//! fixed it removes the line. [`bless`] computes the list a run implies.

use std::collections::{BTreeMap, BTreeSet};

use super::{CaseResult, Suite};

/// Row key → reason, sorted.
pub type ExpectedFailures = BTreeMap<String, String>;

/// Parse the list; a duplicated row or a line without a path is an error.
pub fn parse(text: &str) -> Result<ExpectedFailures, String> {
    let mut map = ExpectedFailures::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, reason) = match line.split_once('#') {
            Some((k, r)) => (k.trim(), r.trim()),
            None => (line, ""),
        };
        if key.is_empty() {
            return Err(format!("line {}: no row path in '{line}'", i + 1));
        }
        if map.insert(key.to_string(), reason.to_string()).is_some() {
            return Err(format!("line {}: '{key}' is listed twice", i + 1));
        }
    }
    Ok(map)
}

/// Render the list in its file format, with a short header.
pub fn render(suite: Suite, list: &ExpectedFailures) -> String {
    let root = match suite {
        Suite::SdXorg => "test-models",
        Suite::RealModels => "real-models",
    };
    let mut out = format!(
        "# Conformance rows (paths relative to {root}) that are expected to fail.\n\
         # The list only shrinks: remove a row once it passes.\n\
         # Regenerate with: SIMLIN_BLESS=1 cargo test --test conformance\n",
    );
    for (key, reason) in list {
        let reason = reason.replace(['\n', '\r'], " ");
        if reason.is_empty() {
            out.push_str(&format!("{key}\n"));
        } else {
            out.push_str(&format!("{key}  # {reason}\n"));
        }
    }
    out
}

/// The list a run implies: failing rows keep their old reason, or get
/// `TODO: <detail>`; passing rows are dropped.
pub fn bless(old: &ExpectedFailures, results: &[CaseResult]) -> ExpectedFailures {
    results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| {
            let reason = match old.get(&r.case.key) {
                Some(reason) if !reason.is_empty() => reason.clone(),
                _ => format!("TODO: {}", truncate(&r.detail(), 200)),
            };
            (r.case.key.clone(), reason)
        })
        .collect()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Everything wrong with a run relative to the list.
#[derive(Debug, Default)]
pub struct Verdict<'a> {
    /// Rows that failed but are not listed.
    pub unexpected_failures: Vec<&'a CaseResult>,
    /// Listed rows that now pass.
    pub unexpected_passes: Vec<String>,
    /// Listed rows that are not in the suite (or not of a runnable format).
    pub unknown: Vec<String>,
}

impl Verdict<'_> {
    pub fn is_ok(&self) -> bool {
        self.unexpected_failures.is_empty()
            && self.unexpected_passes.is_empty()
            && self.unknown.is_empty()
    }
}

/// Compare a run against the list.
pub fn check<'a>(list: &ExpectedFailures, results: &'a [CaseResult]) -> Verdict<'a> {
    let mut verdict = Verdict::default();
    let mut seen = BTreeSet::new();
    for r in results {
        seen.insert(r.case.key.as_str());
        match (list.contains_key(&r.case.key), r.passed()) {
            (false, false) => verdict.unexpected_failures.push(r),
            (true, true) => verdict.unexpected_passes.push(r.case.key.clone()),
            _ => {}
        }
    }
    verdict.unknown = list
        .keys()
        .filter(|k| !seen.contains(k.as_str()))
        .cloned()
        .collect();
    verdict
}

#[cfg(test)]
mod tests {
    use super::super::{Case, Format, Outcome};
    use super::*;
    use crate::testsuite::compare::Comparison;

    fn result(key: &str, pass: bool) -> CaseResult {
        CaseResult {
            case: Case {
                key: key.into(),
                model: key.into(),
                reference: None,
                format: Format::Xmile,
                scoring: super::super::Scoring::SDXORG,
                data_files: Vec::new(),
            },
            outcome: if pass {
                Outcome::Pass(Comparison::default())
            } else {
                Outcome::Error("boom".into())
            },
        }
    }

    #[test]
    fn parse_render_roundtrip() {
        let text = "# header\n\ntests/a/a.xmile  # needs DELAY\ntests/b/b.stmx\n";
        let list = parse(text).unwrap();
        assert_eq!(list["tests/a/a.xmile"], "needs DELAY");
        assert_eq!(list["tests/b/b.stmx"], "");
        assert_eq!(parse(&render(Suite::SdXorg, &list)).unwrap(), list);
        assert!(parse("x/y.xmile\nx/y.xmile # again\n").is_err());
    }

    #[test]
    fn check_and_bless() {
        let list = parse("a/x.xmile # old\nb/y.xmile # fixed\ngone/z.xmile\n").unwrap();
        let results = vec![
            result("a/x.xmile", false),
            result("b/y.xmile", true),
            result("c/new.xmile", false),
            result("d/ok.xmile", true),
        ];
        let v = check(&list, &results);
        assert!(!v.is_ok());
        assert_eq!(v.unexpected_failures.len(), 1);
        assert_eq!(v.unexpected_passes, vec!["b/y.xmile"]);
        assert_eq!(v.unknown, vec!["gone/z.xmile"]);
        let blessed = bless(&list, &results);
        assert_eq!(blessed.len(), 2);
        assert_eq!(blessed["a/x.xmile"], "old");
        assert_eq!(blessed["c/new.xmile"], "TODO: error: boom");
    }
}
