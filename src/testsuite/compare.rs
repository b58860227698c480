//! Comparing a run's [`Results`] against a [`Reference`].
//!
//! Every reference column except time is checked at every reference time.
//! Names are matched through [`column_key`], which folds case, quotes, and
//! runs of spaces/underscores (via [`canonicalize`]) separately for each
//! module path segment (`hares.births`) and each subscript (`stock[A, B]`),
//! so the sim's `stock[a,b]` matches the reference's `"Stock[A, B]"`.
//!
//! A value passes when `|sim - ref| <= max(abs, rel * max(|sim|, |ref|),
//! peak * column peak)` ([`Tolerance`]; SDXorg: `abs = 1e-5`, `rel = 1e-4`,
//! no peak term); two NaNs are equal. Reference times match the saved sim time within
//! `1e-9 * max(1, |t|)`, widened to the rounding of the printed time (several
//! references print `10.0312` for `10.03125`). Vensim's control variables (`INITIAL TIME`,
//! `FINAL TIME`, `TIME STEP`, `SAVEPER`), when the model has no variable of
//! that name, are compared against the run's sim specs rather than skipped.

use std::collections::HashMap;

use super::reference::Reference;
use crate::ir::SimSpecs;
use crate::results::Results;
use crate::syntax::ident::canonicalize;

pub const ABS_TOL: f64 = 1e-5;
pub const REL_TOL: f64 = 1e-4;

/// How far a value may be from its reference:
/// `max(abs, rel * max(|sim|, |ref|), peak * p)` where `p` is the
/// column's largest finite `|ref|`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub abs: f64,
    pub rel: f64,
    pub peak: f64,
}

impl Tolerance {
    /// SDXorg's rule.
    pub const SDXORG: Tolerance = Tolerance {
        abs: ABS_TOL,
        rel: REL_TOL,
        peak: 0.0,
    };
    /// Real-models rule for Vensim DAT references.
    pub const DAT: Tolerance = Tolerance {
        abs: ABS_TOL,
        rel: REL_TOL,
        peak: 1e-6,
    };
    /// Real-models rule for VDF references: single precision, from another
    /// simulator.
    pub const VDF: Tolerance = Tolerance {
        abs: 0.0,
        rel: 1e-2,
        peak: 1e-4,
    };

    /// Allowed `|a - b|` in a column whose largest finite `|ref|` is `peak`.
    pub fn allowed(&self, a: f64, b: f64, peak: f64) -> f64 {
        self.abs
            .max(self.rel * a.abs().max(b.abs()))
            .max(self.peak * peak)
    }
}

/// What a comparison counts and how strictly.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    pub tolerance: Tolerance,
    /// When set, reference columns whose variable (the [`column_key`]
    /// without subscripts) is not in this set are skipped, not failures.
    pub defined: Option<&'a std::collections::HashSet<String>>,
}

/// One compared point.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// The variable as the reference spells it.
    pub variable: String,
    pub time: f64,
    pub sim: f64,
    pub reference: f64,
    /// The allowed `|sim - reference|` here.
    pub allowed: f64,
}

impl Mismatch {
    /// Error relative to the allowed tolerance: `<= 1` passes.
    pub fn score(&self) -> f64 {
        if self.sim.is_nan() && self.reference.is_nan() {
            return 0.0;
        }
        if self.sim == self.reference {
            return 0.0;
        }
        let diff = (self.sim - self.reference).abs();
        if diff.is_nan() {
            return f64::INFINITY;
        }
        diff / self.allowed
    }

    pub fn passes(&self) -> bool {
        self.score() <= 1.0
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} @ t={} sim={} ref={}",
            self.variable, self.time, self.sim, self.reference
        )
    }
}

/// Outcome of comparing one run against one reference.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Number of (variable, time) values compared.
    pub compared: usize,
    /// Structural failures: missing variables, unsaved times.
    pub problems: Vec<String>,
    /// For each failing column (reference order), its worst point.
    pub failing: Vec<Mismatch>,
    /// The worst point overall, within tolerance or not.
    pub worst: Option<Mismatch>,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.failing.is_empty()
    }
}

/// Name key used on both sides of the comparison.
pub fn column_key(name: &str) -> String {
    let name = name.trim();
    let (base, subs) = match name.find('[') {
        Some(i) if name.ends_with(']') && i + 1 < name.len() => {
            (&name[..i], Some(&name[i + 1..name.len() - 1]))
        }
        _ => (name, None),
    };
    let mut key = base.split('.').map(fold).collect::<Vec<_>>().join(".");
    if let Some(subs) = subs {
        key.push('[');
        key.push_str(&subs.split(',').map(fold).collect::<Vec<_>>().join(","));
        key.push(']');
    }
    key
}

/// Canonicalize one name segment, then make sure quotes are gone and runs of
/// whitespace/underscores are one `_` whatever `canonicalize` does today.
fn fold(part: &str) -> String {
    let c = canonicalize(part.trim());
    let mut out = String::with_capacity(c.len());
    let mut pending_sep = false;
    for ch in c.chars() {
        if ch == '"' {
            continue;
        }
        if ch == '_' || ch.is_whitespace() {
            pending_sep = true;
            continue;
        }
        if pending_sep && !out.is_empty() {
            out.push('_');
        }
        pending_sep = false;
        // A decoded VDF writes a dot inside a name as U+2024 (one dot
        // leader), keeping `.` for module paths.
        let ch = if ch == '\u{2024}' { '.' } else { ch };
        out.extend(ch.to_lowercase());
    }
    out
}

/// Value of a Vensim control variable from the sim specs, if `key` names one.
fn control_value(key: &str, specs: &SimSpecs) -> Option<f64> {
    match key {
        "initial_time" => Some(specs.start),
        "final_time" => Some(specs.stop),
        "time_step" => Some(specs.dt),
        "saveper" => Some(specs.save_step.unwrap_or(specs.dt)),
        _ => None,
    }
}

/// Index of the saved time nearest to the reference time `t`, if it is
/// within `1e-9 * max(1, |t|)`, or — when the reference printed its times
/// rounded (`10.0312` for `10.03125`) — within that rounding, capped at
/// `1e-5 * max(1, |t|)`.
fn find_time(times: &[f64], t: f64, precision: f64) -> Option<usize> {
    let scale = t.abs().max(1.0);
    let eps = (1e-9 * scale).max((1.01 * precision).min(1e-5 * scale));
    let i = times.partition_point(|&s| s < t);
    let mut best: Option<usize> = None;
    for j in [i.checked_sub(1), Some(i)].into_iter().flatten() {
        let Some(&s) = times.get(j) else { continue };
        let d = (s - t).abs();
        if d <= eps && best.is_none_or(|b| d < (times[b] - t).abs()) {
            best = Some(j);
        }
    }
    best
}

/// Compare `results` (from a run with `specs`) against `reference` by the
/// SDXorg rule.
pub fn compare(results: &Results, specs: &SimSpecs, reference: &Reference) -> Comparison {
    let rules = Rules {
        tolerance: Tolerance::SDXORG,
        defined: None,
    };
    compare_with(results, specs, reference, &rules)
}

/// The variable part of a [`column_key`] (`stock[a,b]` → `stock`).
fn base_key(key: &str) -> &str {
    key.split_once('[').map_or(key, |(b, _)| b)
}

/// Compare `results` against `reference` by `rules`.
pub fn compare_with(
    results: &Results,
    specs: &SimSpecs,
    reference: &Reference,
    rules: &Rules<'_>,
) -> Comparison {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, n) in results.names.iter().enumerate() {
        by_key.entry(column_key(n)).or_insert(i);
    }
    let mut cmp = Comparison::default();

    // Map each reference row to a sim row once.
    let rows: Vec<Option<usize>> = reference
        .times
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let precision = reference.time_precision.get(k).copied().unwrap_or(0.0);
            find_time(&results.times, t, precision)
        })
        .collect();
    let unsaved: Vec<f64> = reference
        .times
        .iter()
        .zip(&rows)
        .filter(|(_, r)| r.is_none())
        .map(|(&t, _)| t)
        .collect();
    if let Some(first) = unsaved.first() {
        cmp.problems.push(format!(
            "simulation did not save {} reference time(s), first t={first}",
            unsaved.len()
        ));
    }

    for (name, col) in reference.names.iter().zip(&reference.columns) {
        let key = column_key(name);
        if rules
            .defined
            .is_some_and(|d| !d.contains(base_key(&key)) && control_value(&key, specs).is_none())
        {
            continue;
        }
        let peak = col
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let sim_col = by_key.get(&key).map(|&i| results.columns[i].as_slice());
        let constant = if sim_col.is_none() {
            control_value(&key, specs)
        } else {
            None
        };
        if sim_col.is_none() && constant.is_none() {
            cmp.problems.push(format!("missing variable {name}"));
            continue;
        }
        let mut col_worst: Option<Mismatch> = None;
        for (k, value) in col.iter().enumerate() {
            let (Some(ref_value), Some(row)) = (*value, rows[k]) else {
                continue;
            };
            let sim = match (sim_col, constant) {
                (Some(c), _) => c.get(row).copied().unwrap_or(f64::NAN),
                (None, Some(v)) => v,
                (None, None) => continue,
            };
            cmp.compared += 1;
            let m = Mismatch {
                variable: name.clone(),
                time: reference.times[k],
                sim,
                reference: ref_value,
                allowed: rules.tolerance.allowed(sim, ref_value, peak),
            };
            let score = m.score();
            if col_worst.as_ref().is_none_or(|w| score > w.score()) {
                col_worst = Some(m);
            }
        }
        if let Some(w) = col_worst {
            if !w.passes() {
                cmp.failing.push(w.clone());
            }
            if cmp.worst.as_ref().is_none_or(|c| w.score() > c.score()) {
                cmp.worst = Some(w);
            }
        }
    }
    cmp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        Results {
            names: vec!["hares.births".into(), "stock[a,b]".into(), "x".into()],
            times: vec![0.0, 0.5, 1.0],
            columns: vec![vec![1.0, 2.0, 3.0], vec![5.0; 3], vec![0.0; 3]],
            ..Results::default()
        }
    }

    fn reference(names: &[&str], times: &[f64], cols: Vec<Vec<Option<f64>>>) -> Reference {
        Reference {
            names: names.iter().map(|s| s.to_string()).collect(),
            times: times.to_vec(),
            time_precision: vec![0.0; times.len()],
            columns: cols,
        }
    }

    #[test]
    fn keys_fold_case_spaces_quotes_and_subscripts() {
        assert_eq!(column_key("\"Stock\"[A, B]"), column_key("stock[a,b]"));
        assert_eq!(column_key("Hares.Birth  Fraction"), "hares.birth_fraction");
        assert_eq!(column_key("a__b c"), "a_b_c");
        assert_eq!(column_key("goal_1\u{2024}5"), column_key("Goal 1.5"));
    }

    #[test]
    fn passes_within_tolerance() {
        let r = reference(
            &["Hares.Births", "Stock[A, B]", "INITIAL TIME"],
            &[0.0, 1.0],
            vec![
                vec![Some(1.0), Some(3.0001)],
                vec![Some(5.0), None],
                vec![Some(0.0), None],
            ],
        );
        let c = compare(&results(), &SimSpecs::default(), &r);
        assert!(c.passed(), "{c:?}");
        assert_eq!(c.compared, 4);
        assert_eq!(c.worst.unwrap().variable, "Hares.Births");
    }

    #[test]
    fn reports_mismatch_missing_and_unsaved() {
        let r = reference(
            &["x", "nope"],
            &[0.0, 0.25],
            vec![vec![Some(0.0), Some(1.0)], vec![Some(0.0), Some(0.0)]],
        );
        let c = compare(&results(), &SimSpecs::default(), &r);
        assert!(!c.passed());
        assert!(c.problems.iter().any(|p| p == "missing variable nope"));
        assert!(c.problems.iter().any(|p| p.contains("did not save 1")));
        let r = reference(&["x"], &[1.0], vec![vec![Some(1e-4)]]);
        let c = compare(&results(), &SimSpecs::default(), &r);
        assert_eq!(c.failing.len(), 1);
        assert_eq!(c.failing[0].time, 1.0);
    }

    #[test]
    fn real_models_rules_skip_undefined_and_scale_with_the_peak() {
        let r = reference(
            &["x", "#d1>DELAY1#", "Stock[A,B]"],
            &[0.0, 1.0],
            vec![
                vec![Some(5e-4), Some(1000.0)],
                vec![Some(1.0), Some(1.0)],
                vec![Some(5.0), Some(5.0)],
            ],
        );
        let mut res = results();
        res.columns[2] = vec![0.0, 0.0, 1000.0];
        let defined: std::collections::HashSet<String> =
            ["x", "stock"].iter().map(|s| s.to_string()).collect();
        let strict = compare(&res, &SimSpecs::default(), &r);
        assert!(strict.problems.iter().any(|p| p.contains("#d1>DELAY1#")));
        // 5e-4 off at t=0: within 1e-6 * peak (1e-3), beyond abs 1e-5 alone.
        let dat = Rules {
            tolerance: Tolerance::DAT,
            defined: Some(&defined),
        };
        let c = compare_with(&res, &SimSpecs::default(), &r, &dat);
        assert!(c.passed(), "{c:?}");
        assert_eq!(c.compared, 4);
        res.columns[2][2] = 1011.0;
        let c = compare_with(&res, &SimSpecs::default(), &r, &dat);
        assert_eq!(c.failing.len(), 1);
        let vdf = Rules {
            tolerance: Tolerance::VDF,
            defined: Some(&defined),
        };
        res.columns[2][2] = 1009.0;
        assert!(compare_with(&res, &SimSpecs::default(), &r, &vdf).passed());
        res.columns[2][2] = 1011.0;
        assert!(!compare_with(&res, &SimSpecs::default(), &r, &vdf).passed());
        // A defined variable the run lacks is still a failure.
        let only_stock: std::collections::HashSet<String> =
            ["stock", "nope"].iter().map(|s| s.to_string()).collect();
        let r2 = reference(&["nope"], &[0.0], vec![vec![Some(1.0)]]);
        let rules = Rules {
            tolerance: Tolerance::DAT,
            defined: Some(&only_stock),
        };
        let c = compare_with(&res, &SimSpecs::default(), &r2, &rules);
        assert!(c.problems.iter().any(|p| p == "missing variable nope"));
    }

    #[test]
    fn rounded_reference_times_match_nearest() {
        let times = [10.0, 10.03125, 10.0625];
        assert_eq!(find_time(&times, 10.0312, 5e-5), Some(1));
        assert_eq!(find_time(&times, 10.0312, 0.0), None);
        assert_eq!(find_time(&times, 10.0, 0.5), Some(0));
        assert_eq!(find_time(&times, 10.05, 0.5), None);
    }

    #[test]
    fn nan_equals_nan_only() {
        let m = |sim: f64, reference: f64| Mismatch {
            variable: String::new(),
            time: 0.0,
            sim,
            reference,
            allowed: Tolerance::SDXORG.allowed(sim, reference, 0.0),
        };
        assert!(m(f64::NAN, f64::NAN).passes());
        assert!(!m(1.0, f64::NAN).passes());
        assert!(m(1e6, 1e6 + 50.0).passes());
        assert!(!m(1e6, 1e6 + 200.0).passes());
    }
}
