use super::*;
use crate::vm::RunOptions;

/// The SDXorg SIR model (samples/SIR), dt 1/32.
const SIR: &str = r#"
Susceptible = INTEG(-Succumbing, Total Population) ~~|
Infectious = INTEG(Succumbing - Recovering, 5) ~~|
Recovered = INTEG(Recovering, 0) ~~|
Succumbing = Susceptible * Infectious / Total Population * Contact Infectivity ~~|
Recovering = Infectious / Duration ~~|
Total Population = 1000 ~~|
Duration = 5 ~~|
Contact Infectivity = 0.3 ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 100 ~~|
TIME STEP = 0.03125 ~~|
SAVEPER = TIME STEP ~~|
"#;

fn sir() -> crate::ir::Project {
    crate::load_mdl(SIR).expect("SIR loads")
}

fn polarity_of(s: &Structure, from: &str, to: &str) -> Polarity {
    s.visible_links()
        .into_iter()
        .find(|l| l.0 == from && l.1 == to)
        .unwrap_or_else(|| panic!("no link {from} -> {to}"))
        .2
}

#[test]
fn sir_links_have_polarities() {
    let s = Structure::new(&sir(), None).unwrap();
    let p = |a, b| polarity_of(&s, a, b);
    assert_eq!(p("Susceptible", "Succumbing"), Polarity::Positive);
    assert_eq!(p("Total Population", "Succumbing"), Polarity::Negative);
    assert_eq!(p("Duration", "Recovering"), Polarity::Negative);
    assert_eq!(p("Succumbing", "Infectious"), Polarity::Positive);
    assert_eq!(p("Succumbing", "Susceptible"), Polarity::Negative);
    assert_eq!(p("Recovering", "Infectious"), Polarity::Negative);
    // Ten links among the model variables, plus TIME STEP -> SAVEPER.
    assert_eq!(s.visible_links().len(), 11);
    assert_eq!(p("TIME STEP", "SAVEPER"), Polarity::Positive);
}

#[test]
fn sir_has_three_loops() {
    let s = Structure::new(&sir(), None).unwrap();
    assert_eq!(s.mode, LoopMode::Exhaustive);
    let got: Vec<(String, Vec<String>)> = s
        .loops
        .iter()
        .map(|l| (l.id.clone(), l.variables.clone()))
        .collect();
    let want = |id: &str, v: &[&str]| (id.to_string(), v.iter().map(|x| x.to_string()).collect());
    assert_eq!(
        got,
        vec![
            want("B1", &["Susceptible", "Succumbing"]),
            want("R1", &["Infectious", "Succumbing"]),
            want("B2", &["Infectious", "Recovering"]),
        ]
    );
    assert!(s.loops.iter().all(|l| l.partition == 0));
}

#[test]
fn sir_loop_scores_follow_the_definition() {
    let project = sir();
    let m = LtmModel::new(&project, None).unwrap();
    let run = m.run(&RunOptions::default()).unwrap();
    let plain = crate::CompiledModel::new(&project, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    // The model's own results are unchanged by the instrumentation.
    assert_eq!(run.results.names, plain.names);
    assert_eq!(run.results.columns, plain.columns);
    let col = |n: &str| plain.column(n).unwrap();
    let (succ, rec) = (col("Succumbing"), col("Recovering"));
    let (s, i) = (col("Susceptible"), col("Infectious"));
    let id = |x: &str| run.loops.iter().position(|l| l.id == x).unwrap();
    for t in [1usize, 2, 100, 1000, 3200] {
        let d = |c: &[f64]| c[t] - c[t - 1];
        let dnet_i = d(succ) - d(rec);
        // Succumbing's change caused by each input alone.
        let by_i = s[t - 1] * i[t] / 1000.0 * 0.3 - succ[t - 1];
        let by_s = s[t] * i[t - 1] / 1000.0 * 0.3 - succ[t - 1];
        let b2 = -(d(rec) / dnet_i).abs(); // Infectious -> Recovering scores 1
        let r1 = (by_i / d(succ)).abs() * (d(succ) / dnet_i).abs();
        let b1 = -(by_s / d(succ)).abs(); // Succumbing -> Susceptible: -|Δ/Δ| = -1
        let total = b1.abs() + r1.abs() + b2.abs();
        for (loop_id, want) in [("B1", b1), ("R1", r1), ("B2", b2)] {
            let got = run.loop_scores[id(loop_id)][t];
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1e-12),
                "{loop_id} at {t}: {got} vs {want}"
            );
            let rel = run.relative[id(loop_id)][t];
            assert!(
                (rel - want / total).abs() < 1e-9,
                "{loop_id} relative at {t}"
            );
        }
    }
    // Every score is 0 at the initial time (no change yet).
    assert!(run.loop_scores.iter().all(|c| c[0] == 0.0));
    // Early on the reinforcing loop dominates; at the end recovery does.
    let periods = run.dominant_periods();
    assert_eq!(periods.first().unwrap().loops, vec!["R1"]);
    assert_eq!(periods.last().unwrap().loops, vec!["B2"]);
    assert_eq!(periods.last().unwrap().end, 100.0);
}

#[test]
fn a_product_with_a_difference_has_no_static_sign() {
    // Roessler: dzdt = b + z * (x - c); x - c changes sign.
    let text = "x = INTEG(1 - z, 1) ~~|\nz = INTEG(dzdt, 1) ~~|\ndzdt = 0.2 + z * (x - 5.7) ~~|\n\
                INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 0.5 ~~|\nSAVEPER = 0.5 ~~|\n";
    let s = Structure::new(&crate::load_mdl(text).unwrap(), None).unwrap();
    assert_eq!(polarity_of(&s, "z", "dzdt"), Polarity::Unknown);
    assert_eq!(polarity_of(&s, "x", "dzdt"), Polarity::Positive);
}

#[test]
fn every_method_and_the_stepwise_sim_score_alike() {
    let project = sir();
    let m = LtmModel::new(&project, None).unwrap();
    for method in [crate::Method::Euler, crate::Method::Rk2, crate::Method::Rk4] {
        let opts = RunOptions {
            method: Some(method),
            ..Default::default()
        };
        let run = m.run(&opts).unwrap();
        let mut sim = crate::Sim::new(
            std::sync::Arc::new(
                crate::CompiledModel::from_flat(
                    &project,
                    project.model(None).unwrap(),
                    &crate::loops::instrument::instrument(
                        &m.structure,
                        &m.scored,
                        &m.structure.circuits,
                        &m.structure.loops,
                        crate::loops::Partial::Previous,
                    )
                    .unwrap(),
                )
                .unwrap(),
            ),
            &opts,
        )
        .unwrap();
        sim.run_to_end().unwrap();
        let stepwise = m.split(sim.into_results()).unwrap();
        assert_eq!(run.relative, stepwise.relative, "{method:?}");
        let rel: f64 = run.relative.iter().map(|c| c[1600].abs()).sum();
        assert!(
            (rel - 1.0).abs() < 1e-12,
            "relative scores of a partition sum to 1 in magnitude"
        );
    }
}

#[test]
fn arrays_smooths_and_modules_have_loops() {
    let text = r#"
Region : a, b ~~|
Stock[Region] = INTEG(Inflow[Region], 1) ~~|
Inflow[Region] = SMOOTH(Stock[Region] * 0.1, 2) - Stock[Region] * Other[Region] ~~|
Other[a] = 0.01 ~~|
Other[b] = Stock[a] / 1000 ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 10 ~~|
TIME STEP = 0.25 ~~|
SAVEPER = 1 ~~|
"#;
    let project = crate::load_mdl(text).unwrap();
    let s = Structure::new(&project, None).unwrap();
    let names: Vec<Vec<String>> = s.loops.iter().map(|l| l.variables.clone()).collect();
    // Per element: through the smooth (hidden stock), and the direct
    // outflow; the smooth's own adjustment loop is no model loop. b also
    // reads Stock[a] through Other[b], which is no loop (a does not read b).
    // The elements' circuits fold into one loop per path.
    assert_eq!(s.circuits.len(), 4);
    let both = vec!["Stock".to_string(), "Inflow".to_string()];
    assert_eq!(names, vec![both.clone(), both], "{names:?}");
    assert!(s.loops.iter().all(|l| l.circuits.len() == 2));
    let polarities: Vec<&str> = s.loops.iter().map(|l| l.polarity.letter()).collect();
    assert_eq!(polarities, vec!["B", "R"]);
    assert_eq!(polarity_of(&s, "Stock", "Inflow"), Polarity::Unknown);
    assert_eq!(polarity_of(&s, "Stock", "Other"), Polarity::Positive);
    let run = LtmModel::new(&project, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    assert_eq!(run.results.times.len(), 11);
    assert!(run
        .relative
        .iter()
        .all(|c| c.len() == 11 && c.iter().all(|v| v.is_finite())));
}

#[test]
fn a_hundred_thousand_term_sum_has_a_link_per_term() {
    // One walk per equation, not one per reference: this is 10^5 links, not
    // 10^10 steps.
    let n = 100_000;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("x{i} = {i} ~~|\n"));
    }
    let terms: Vec<String> = (0..n).map(|i| format!("x{i}")).collect();
    text.push_str(&format!("total = {} - 2 * x7 ~~|\n", terms.join(" + ")));
    text.push_str("s = INTEG(total - s, 0) ~~|\nINITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n");
    let s = Structure::new(&crate::load_mdl(&text).unwrap(), None).unwrap();
    let into_total: Vec<(String, String, Polarity)> = s
        .visible_links()
        .into_iter()
        .filter(|l| l.1 == "total")
        .collect();
    assert_eq!(into_total.len(), n);
    assert!(into_total
        .iter()
        .all(|l| l.2 == Polarity::Positive || l.0 == "x7"));
    // x7 is added once and subtracted twice: both signs, so unknown.
    assert_eq!(polarity_of(&s, "x7", "total"), Polarity::Unknown);
    assert_eq!(s.loops.len(), 1);
}

#[test]
fn loop_scores_through_a_huge_equation_are_refused_not_hung() {
    let n = 20_000;
    let terms: Vec<String> = (0..n).map(|i| format!("x{i}")).collect();
    let mut text = String::new();
    for i in 0..n {
        // Every term is in the loop: x_i reads the stock.
        text.push_str(&format!("x{i} = s * {i} ~~|\n"));
    }
    text.push_str(&format!("total = {} ~~|\n", terms.join(" + ")));
    text.push_str("s = INTEG(total - s, 0) ~~|\nINITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n");
    let project = crate::load_mdl(&text).unwrap();
    match LtmModel::new(&project, None) {
        Err(crate::Error::Unsupported { variable, .. }) => assert_eq!(variable, "total"),
        other => panic!("expected a typed refusal, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_partial_size_guard_counts_shared_parts_once_each() {
    // total = ((c1 + ... + cM) + x1) + ... + xn, left to right: each x's
    // partial shares the sum before it, a part of its own (M + k nodes),
    // so the partials hold about n M nodes. Past the limit, a typed
    // refusal before building them.
    let (m, n) = (10_000, 3_000);
    let mut text = String::new();
    for j in 0..m {
        text.push_str(&format!("c{j} = {j} ~~|\n"));
    }
    for i in 0..n {
        text.push_str(&format!("x{i} = s * {i} ~~|\n"));
    }
    let c: Vec<String> = (0..m).map(|j| format!("c{j}")).collect();
    let x: Vec<String> = (0..n).map(|i| format!("x{i}")).collect();
    text.push_str(&format!(
        "total = ({}) + {} ~~|\n",
        c.join(" + "),
        x.join(" + ")
    ));
    text.push_str("s = INTEG(total - s, 0) ~~|\nINITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n");
    let project = crate::load_mdl(&text).unwrap();
    match LtmModel::new(&project, None) {
        Err(crate::Error::Unsupported { variable, .. }) => assert_eq!(variable, "total"),
        other => panic!("expected a typed refusal, got {:?}", other.map(|_| ())),
    }
}

/// The dominant set by its definition: sort by magnitude, take the fewest
/// loops of each sign reaching 0.5, the sign that gets further wins.
fn dominant_by_definition(scores: &[(usize, f64)]) -> Vec<usize> {
    let mut s: Vec<(usize, f64)> = scores
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite() && *v != 0.0)
        .collect();
    s.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    let pick = |positive: bool| {
        let (mut chosen, mut total) = (Vec::new(), 0.0);
        for &(i, v) in s.iter().filter(|(_, v)| (*v > 0.0) == positive) {
            chosen.push(i);
            total += v.abs();
            if total >= 0.5 {
                break;
            }
        }
        (chosen, total)
    };
    let ((r, rt), (b, bt)) = (pick(true), pick(false));
    let mut set = if rt >= bt && rt > 0.0 { r } else { b };
    set.sort_unstable();
    set
}

#[test]
fn the_dominant_set_follows_its_definition() {
    // A small deterministic generator: scores normalized per partition
    // (as relative scores are) and arbitrary ones, ties and zeros included.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for case in 0..20_000 {
        let n = 1 + (next() % 6) as usize;
        let mut scores: Vec<(usize, f64)> = (0..n)
            .map(|i| {
                let v = match next() % 8 {
                    0 => 0.0,
                    1 => 0.25,
                    2 => -0.25,
                    _ => (next() % 2001) as f64 / 1000.0 - 1.0,
                };
                (i, v)
            })
            .collect();
        if case % 2 == 0 {
            let total: f64 = scores.iter().map(|(_, v)| v.abs()).sum();
            if total > 0.0 {
                scores.iter_mut().for_each(|(_, v)| *v /= total);
            }
        }
        assert_eq!(
            crate::loops::ltm::dominant_set(&scores),
            dominant_by_definition(&scores),
            "{scores:?}"
        );
    }
}

#[test]
fn periods_of_dominance_follow_the_set_at_each_time() {
    // Random series of relative scores for two partitions, with long runs
    // of one loop dominating alone (the shortcut) broken by mixed times;
    // the periods must be the runs of equal sets by the definition.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let loops: Vec<(String, usize)> = (0..5).map(|i| (format!("L{i}"), i % 2)).collect();
    for _ in 0..300 {
        let n_t = 1 + (next() % 60) as usize;
        let times: Vec<f64> = (0..n_t).map(|t| t as f64 * 0.5).collect();
        let mut rel = vec![vec![0.0; n_t]; loops.len()];
        for t in 0..n_t {
            let mode = next() % 4;
            for (l, col) in rel.iter_mut().enumerate() {
                col[t] = match mode {
                    0 if l < 2 => 0.9 * if l == 0 { 1.0 } else { -1.0 },
                    0 => 0.05,
                    _ => (next() % 2001) as f64 / 1000.0 - 1.0,
                };
            }
        }
        let got = crate::loops::ltm::dominant_periods_by(&loops, &times, |l, t| rel[l][t]);
        let mut want = Vec::new();
        for p in 0..2 {
            let sets: Vec<Vec<usize>> = (0..n_t)
                .map(|t| {
                    let scores: Vec<(usize, f64)> = (0..loops.len())
                        .filter(|&l| loops[l].1 == p)
                        .map(|l| (l, rel[l][t]))
                        .collect();
                    dominant_by_definition(&scores)
                })
                .collect();
            let mut from = 0;
            for t in 1..=n_t {
                if t == n_t || sets[t] != sets[from] {
                    if !sets[from].is_empty() {
                        let ids: Vec<String> =
                            sets[from].iter().map(|&l| loops[l].0.clone()).collect();
                        want.push((p, times[from], times[t - 1], ids));
                    }
                    from = t;
                }
            }
        }
        let got: Vec<_> = got
            .into_iter()
            .map(|d| (d.partition, d.start, d.end, d.loops))
            .collect();
        assert_eq!(got, want);
    }
}

/// The cap a Stella non-negative stock puts on its outflows is a mechanism
/// of the tool, not a link the modeler drew: the structure is the one the
/// equations show.
#[test]
fn a_non_negative_stocks_outflow_cap_adds_no_links() {
    let xml = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
        <header><vendor>isee systems, inc.</vendor></header>
        <sim_specs><start>0</start><stop>4</stop><dt>1</dt></sim_specs>
        <model><variables>
          <stock name="tank"><eqn>10</eqn><inflow>rain</inflow><outflow>use</outflow><non_negative/></stock>
          <flow name="rain"><eqn>1</eqn></flow>
          <flow name="use"><eqn>demand</eqn></flow>
          <aux name="demand"><eqn>3</eqn></aux>
        </variables></model></xmile>"#;
    let s = Structure::new(&crate::load_xmile(xml).expect("loads"), None).unwrap();
    let mut links: Vec<(String, String)> = s
        .visible_links()
        .into_iter()
        .map(|l| (l.0.to_string(), l.1.to_string()))
        .collect();
    links.sort();
    let want = [("demand", "use"), ("rain", "tank"), ("use", "tank")];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(links, want);
}

/// Stella Architect's own loop analysis of two of its models (isee's
/// public `sd-ai` evaluation data: "Percent of Model Behavior Explained by
/// Loop", `|relative score| * 100`): reproduced in Stella's convention for
/// the partial change ([`Partial::Current`]), not in ours, where the two
/// differ (a Bass diffusion model, Euler; a predator-prey model, RK4 with
/// two graphical functions, saved yearly and scored over the last DT).
#[test]
fn stellas_loop_scores_are_reproduced_in_its_convention() {
    let stmx = |specs: &str, vars: &str| {
        format!(
            r#"<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header><vendor>isee systems, inc.</vendor></header>{specs}<model><variables>{vars}</variables></model></xmile>"#
        )
    };
    // The same model as the Python test's.
    let bass = include_str!("../../tests/data/bass_stella.xmile").to_string();
    let predator_prey = stmx(
        r#"<sim_specs isee:save_interval="1" method="RK4" xmlns:isee="http://iseesystems.com/XMILE"><start>0</start><stop>100</stop><dt reciprocal="true">32</dt></sim_specs>"#,
        r#"<aux name="area"><eqn>1E3</eqn></aux>
        <flow name="hare births"><eqn>Hares*hare_birth_fraction</eqn><non_negative/></flow>
        <flow name="hare deaths"><eqn>Lynx*hares_killed_per_lynx</eqn><non_negative/></flow>
        <aux name="hare density"><eqn>Hares/area</eqn></aux>
        <aux name="hare birth fraction"><eqn>1.25</eqn></aux>
        <flow name="lynx births"><eqn>Lynx*lynx_birth_fraction</eqn><non_negative/></flow>
        <flow name="lynx deaths"><eqn>Lynx*lynx_death_fraction</eqn><non_negative/></flow>
        <aux name="lynx birth fraction"><eqn>.25</eqn></aux>
        <stock name="Hares"><eqn>5E4</eqn><inflow>hare_births</inflow><outflow>hare_deaths</outflow></stock>
        <stock name="Lynx"><eqn>1250 - 400</eqn><inflow>lynx_births</inflow><outflow>lynx_deaths</outflow></stock>
        <aux name="hares killed per lynx"><eqn>hare_density</eqn>
          <gf><xscale min="0" max="500"/><yscale min="0" max="1000"/><ypts>0,50,100,150,200,250,300,350,400,450,500</ypts></gf></aux>
        <aux name="lynx death fraction"><eqn>hare_density</eqn>
          <gf><xscale min="0" max="100"/><yscale min="0" max="1"/><ypts>0.94,0.66,0.4,0.35,0.3,0.25,0.2,0.15,0.1,0.07,0.05</ypts></gf></aux>"#,
    );
    // (time, our loop id, Stella's percent)
    type Expected<'a> = &'a [(f64, &'a str, f64)];
    let cases: [(&str, Expected); 2] = [
        (
            &bass,
            &[
                (0.0625, "R1", 99.99989062500927),
                (1.0, "R1", 99.99958054266993),
                (5.0, "R1", 99.87030287202612),
                (8.0, "R1", 91.19142435252456),
                (10.0, "R1", 35.124047631967095),
                (14.0, "R1", 0.10378723985740851),
                (14.0, "B1", 99.89621276014259),
            ],
        ),
        (
            &predator_prey,
            &[
                (1.0, "R1", 51.33260805479998),
                (5.0, "R1", 39.357218959624525),
                (10.0, "R1", 32.8283156272562),
                (25.0, "R1", 51.58148172955387),
                (1.0, "B2", 36.91910404110566),
                (5.0, "B2", 55.150696805098555),
                (10.0, "B2", 25.976667026897363),
                (25.0, "B2", 36.93117167962172),
            ],
        ),
    ];
    for (xml, expected) in cases {
        let project = crate::load_xmile(xml).expect("loads");
        let percent = |partial: Partial| {
            let m = LtmModel::with_partial(&project, None, partial).expect("compiles");
            let run = m.run(&RunOptions::default()).expect("runs");
            expected
                .iter()
                .map(|&(t, id, _)| {
                    let i = run
                        .results
                        .times
                        .iter()
                        .position(|&x| x == t)
                        .expect("saved");
                    let l = run.loops.iter().position(|l| l.id == id).expect("loop");
                    run.relative[l][i].abs() * 100.0
                })
                .collect::<Vec<f64>>()
        };
        let stella = percent(Partial::Current);
        for (&(t, id, want), got) in expected.iter().zip(&stella) {
            assert!(
                (got - want).abs() < 1e-9,
                "{id} at {t}: {got} vs Stella {want}"
            );
        }
        // In our default convention the nonlinear links score otherwise.
        let ours = percent(Partial::Previous);
        let apart = expected
            .iter()
            .zip(&ours)
            .any(|(&(_, _, want), got)| (got - want).abs() > 1e-6);
        assert!(apart, "{ours:?}");
    }
}

#[test]
fn partials_of_a_sum_over_an_array_share_its_parts() {
    // 64 regions and a prevalence summing all of them, as a regional SIR
    // has: every region's link into the prevalence copies only the path to
    // its own term of the flattened sum (the rest are shared helpers), and
    // its score is the partial change the definition gives.
    let n = 64;
    let text = format!(
        "Region: (r1-r{n}) ~~|\n\
         Pop[Region] = 1000 ~~|\n\
         S[Region] = INTEG(-Inf[Region], Pop[Region] - 1) ~~|\n\
         I[Region] = INTEG(Inf[Region] - Rec[Region], 1) ~~|\n\
         Prev = SUM(I[Region!]) / SUM(Pop[Region!]) ~~|\n\
         Inf[Region] = 0.3 * S[Region] * (0.5 * I[Region] / Pop[Region] + 0.5 * Prev) ~~|\n\
         Rec[Region] = I[Region] / 5 ~~|\n\
         INITIAL TIME = 0 ~~|\nFINAL TIME = 4 ~~|\nTIME STEP = 0.5 ~~|\nSAVEPER = 0.5 ~~|\n"
    );
    let project = crate::load_mdl(&text).expect("loads");
    let ltm = LtmModel::new(&project, None).expect("compiles with scores");
    let s = &ltm.structure;
    let prev = s.flat.index["prev"];
    let into: Vec<usize> = (0..s.links.len())
        .filter(|&k| s.links[k].to == prev && s.flat.vars[s.links[k].from].ident.starts_with("i["))
        .collect();
    assert_eq!(into.len(), n);
    let inst =
        super::instrument::instrument(s, &into, &[], &[], Partial::Previous).expect("instruments");
    let nodes: usize = inst
        .vars
        .iter()
        .filter(|v| v.ident.starts_with("$ltm.partial.") || v.ident.starts_with("$ltm.lag."))
        .filter_map(|v| v.expr.as_ref())
        .map(super::instrument::node_count)
        .sum();
    // Copied whole, the partials would hold n * (4n - 1) = 16,320 nodes.
    assert!(nodes < 3_000, "{nodes} nodes");

    // Shared or copied whole, the same scores to the bit, in both
    // conventions.
    for partial in [Partial::Previous, Partial::Current] {
        let run_with = |min_nodes: usize| {
            let flat =
                super::instrument::instrument_sharing(s, &into, &[], &[], partial, min_nodes)
                    .expect("instruments");
            let m = crate::CompiledModel::from_flat(&project, project.model(None).unwrap(), &flat)
                .expect("compiles");
            m.run(&crate::vm::RunOptions::default()).expect("runs")
        };
        let (shared, whole) = (run_with(16), run_with(usize::MAX));
        for &k in &into {
            let name = super::instrument::link_name(k);
            let bits = |r: &crate::Results| -> Vec<u64> {
                r.column(&name)
                    .expect("score")
                    .iter()
                    .map(|v| v.to_bits())
                    .collect()
            };
            assert_eq!(bits(&shared), bits(&whole), "{name} {partial:?}");
        }
    }

    let run = ltm.run(&crate::vm::RunOptions::default()).expect("runs");
    let col = |name: &str| run.results.column(name).expect(name).to_vec();
    let r5 = s.flat.index["i[r5]"];
    let k = into
        .iter()
        .copied()
        .find(|&k| s.links[k].from == r5)
        .expect("link");
    let score = &run
        .link_scores
        .iter()
        .find(|(j, _)| *j == k)
        .expect("scored")
        .1;
    let (i5, p) = (col("I[r5]"), col("Prev"));
    let total_i: Vec<f64> = (0..run.results.times.len())
        .map(|t| (1..=n).map(|r| col(&format!("I[r{r}]"))[t]).sum())
        .collect();
    for t in 1..run.results.times.len() {
        let partial = (total_i[t - 1] - i5[t - 1] + i5[t]) / (1000.0 * n as f64) - p[t - 1];
        let want = (partial / (p[t] - p[t - 1])).abs() * (partial / (i5[t] - i5[t - 1])).signum();
        assert!(
            (score[t] - want).abs() <= 1e-9 * want.abs(),
            "t {t}: {} vs {want}",
            score[t]
        );
    }
}

#[test]
fn a_link_score_is_the_partial_share_with_the_links_sign() {
    use crate::compile::builtins::ltm_link_score;
    // |dxz / dz| with the sign of dxz / dx; 0 where either change is 0.
    assert_eq!(ltm_link_score(2.0, 4.0, -1.0), -0.5);
    assert_eq!(ltm_link_score(-3.0, -1.5, -2.0), 2.0);
    assert_eq!(ltm_link_score(5.0, 0.0, 1.0), 0.0);
    assert_eq!(ltm_link_score(5.0, 1.0, 0.0), 0.0);
    assert!(ltm_link_score(1.0, f64::NAN, 1.0).is_nan());
}
