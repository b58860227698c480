//! Sweeps must give exactly what one `CompiledModel::run` per row gives,
//! whatever the engine, batch width or thread count.

use super::*;
use crate::ir::Method;
use crate::vm::Override;
use crate::{load_xmile, CompiledModel};

/// A model that exercises every per-lane path of the batched engine: a
/// graphical function, DELAY (history), SMTH1 (hidden stocks), PREVIOUS,
/// INIT, random draws (seeded per run), a non-negative stock, IF THEN ELSE,
/// and a builtin call.
const RICH: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>rich</name><vendor>simlin tests</vendor></header>
  <sim_specs><start>0</start><stop>20</stop><dt>0.25</dt><save_step>1</save_step></sim_specs>
  <model>
    <variables>
      <stock name="level"><eqn>initial_level</eqn><inflow>filling</inflow><outflow>draining</outflow><non_negative/></stock>
      <flow name="filling"><eqn>rate * effect + noise</eqn></flow>
      <flow name="draining"><eqn>IF level &gt; threshold THEN level / tau ELSE DELAY(filling, 2, 0)</eqn></flow>
      <aux name="initial level"><eqn>10</eqn></aux>
      <aux name="rate"><eqn>3</eqn></aux>
      <aux name="tau"><eqn>4</eqn></aux>
      <aux name="threshold"><eqn>5</eqn></aux>
      <aux name="noise"><eqn>NORMAL(0, 0.5)</eqn></aux>
      <aux name="effect"><eqn>level</eqn>
        <gf><xscale min="0" max="40"/><ypts>1,0.8,0.5,0.2,0</ypts></gf>
      </aux>
      <aux name="smoothed"><eqn>SMTH1(level, tau)</eqn></aux>
      <aux name="last level"><eqn>PREVIOUS(level, initial_level)</eqn></aux>
      <aux name="start level"><eqn>INIT(level)</eqn></aux>
      <aux name="wave"><eqn>ABS(SIN(TIME)) * MAX(level - start_level, 0)</eqn></aux>
    </variables>
  </model>
</xmile>"#;

fn rich() -> CompiledModel {
    let project = load_xmile(RICH).expect("rich model parses");
    CompiledModel::new(&project, None).expect("rich model compiles")
}

fn params(n: usize) -> Vec<Param> {
    let f = |k: usize, a: f64, b: f64| (0..n).map(|r| a + b * ((r * k) % 7) as f64).collect();
    vec![
        Param {
            name: "rate".into(),
            values: ParamValues::Numbers(f(3, 1.0, 0.5)),
        },
        Param {
            name: "Tau".into(),
            values: ParamValues::Numbers(f(5, 2.0, 0.25)),
        },
        Param {
            name: "level".into(),
            values: ParamValues::Numbers(f(2, 0.0, 3.0)),
        },
        Param {
            name: "effect".into(),
            values: ParamValues::Tables(
                (0..n)
                    .map(|r| vec![(0.0, 1.0), (10.0 + (r % 20) as f64, 0.5), (40.0, 0.1)])
                    .collect(),
            ),
        },
    ]
}

/// Row `r` as single-run options, as the sweep documents it.
fn row_options(params: &[Param], r: usize, seed: u64, outputs: &[String]) -> RunOptions {
    RunOptions {
        overrides: params
            .iter()
            .map(|p| {
                let v = match &p.values {
                    ParamValues::Numbers(v) => Override::Value(v[r]),
                    ParamValues::Tables(t) => Override::Table(t[r].clone()),
                };
                (p.name.clone(), v)
            })
            .collect(),
        outputs: Some(outputs.to_vec()),
        seed: seed + r as u64,
        ..RunOptions::default()
    }
}

fn all_outputs() -> Vec<String> {
    [
        "level",
        "filling",
        "draining",
        "noise",
        "effect",
        "smoothed",
        "last level",
        "start level",
        "wave",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn every_row_matches_a_single_run_bit_for_bit() {
    let m = rich();
    let n = 37; // not a multiple of any batch width
    let p = params(n);
    let outputs = all_outputs();
    let opts = SweepOptions {
        outputs: Some(outputs.clone()),
        seed: 11,
        ..SweepOptions::default()
    };
    let res = sweep(&m, n, &p, &opts, &Progress::new()).expect("sweep runs");
    assert_eq!(res.outputs, outputs);
    let nt = res.times.len();
    assert_eq!(nt, 21);
    assert_eq!(res.values.len(), n * nt * outputs.len());
    for r in 0..n {
        let single = m
            .run(&row_options(&p, r, 11, &outputs))
            .expect("single run");
        assert_eq!(single.times, res.times);
        for (o, name) in outputs.iter().enumerate() {
            let col = single.column(name).expect("column");
            let swept: Vec<f64> = (0..nt)
                .map(|t| res.values[(r * nt + t) * outputs.len() + o])
                .collect();
            assert_eq!(bits(&swept), bits(col), "row {r}, {name}");
        }
    }
    // The rows really differ (the parameters and the seed reach the runs).
    let final_level = |r: usize| res.values[(r * nt + nt - 1) * outputs.len()];
    assert_ne!(final_level(0), final_level(1));
}

#[test]
fn engines_batch_widths_and_threads_agree_exactly() {
    let m = rich();
    let n = 29;
    let p = params(n);
    let base = SweepOptions {
        outputs: Some(all_outputs()),
        seed: 3,
        ..SweepOptions::default()
    };
    let reference = sweep(&m, n, &p, &base, &Progress::new()).expect("sweep");
    let variants = [
        (Engine::Scalar, 8, Some(1)),
        (Engine::Scalar, 8, Some(3)),
        (Engine::Batched, 1, Some(2)),
        (Engine::Batched, 2, None),
        (Engine::Batched, 4, Some(1)),
        (Engine::Batched, 8, None),
        (Engine::Batched, 16, Some(4)),
        (Engine::Batched, 32, Some(1)),
        (Engine::Batched, 64, Some(2)),
    ];
    for (engine, batch, threads) in variants {
        let opts = SweepOptions {
            engine,
            batch,
            threads,
            ..base.clone()
        };
        let res = sweep(&m, n, &p, &opts, &Progress::new()).expect("sweep");
        assert_eq!(
            bits(&res.values),
            bits(&reference.values),
            "{engine:?} batch {batch} threads {threads:?}"
        );
    }
}

/// 29 runs of the rich model with every output saved, for comparing the
/// streamed sweeps with: the model, its parameters, options and result.
fn whole_rich_sweep() -> (CompiledModel, Vec<Param>, SweepOptions, SweepResult) {
    let m = rich();
    let p = params(29);
    let opts = SweepOptions {
        outputs: Some(all_outputs()),
        seed: 3,
        batch: 4,
        on_error: OnError::Null,
        ..SweepOptions::default()
    };
    let whole = sweep(&m, 29, &p, &opts, &Progress::new()).expect("sweep");
    (m, p, opts, whole)
}

#[test]
fn runs_folded_as_they_go_see_the_whole_sweeps_values() {
    let (m, p, opts, whole) = whole_rich_sweep();
    let n = whole.n_runs;
    let n_out = whole.outputs.len();
    let per_run = whole.times.len() * n_out;
    // The fold keeps every value it is shown, in order, with its run.
    let init = |run: usize| (run, Vec::new());
    let step = |s: &mut (usize, Vec<f64>), values: &[f64]| {
        assert_eq!(values.len(), n_out);
        s.1.extend_from_slice(values);
    };
    for (batch, threads) in [(1, 1), (4, 2), (16, 2)] {
        let opts = SweepOptions {
            batch,
            threads: Some(threads),
            ..opts.clone()
        };
        let (times, states) =
            sweep_fold(&m, n, &p, &opts, &Progress::new(), &(init, step)).expect("sweep_fold");
        assert_eq!(times, whole.times);
        assert_eq!(states.len(), n);
        for (r, s) in states.into_iter().enumerate() {
            let (run, seen) = s.expect("no run fails");
            assert_eq!(run, r);
            assert_eq!(
                bits(&seen),
                bits(&whole.values[r * per_run..(r + 1) * per_run]),
                "run {r}, batches of {batch} on {threads} threads"
            );
        }
    }
    let reduced = SweepOptions {
        reduce: Some(Reduce::Final),
        ..opts
    };
    assert!(sweep_fold(&m, n, &p, &reduced, &Progress::new(), &(init, step)).is_err());
}

#[test]
fn runs_handed_out_batch_by_batch_equal_the_whole_sweep() {
    let (m, p, opts, whole) = whole_rich_sweep();
    let n = whole.n_runs;
    let per_run = whole.times.len() * whole.outputs.len();
    // Batches of 1, 4 and 16 runs (29 leaves a short last batch), on one
    // worker (its buffer reused from batch to batch) and on two.
    for (batch, threads) in [(1, 1), (4, 1), (4, 2), (16, 2)] {
        let opts = SweepOptions {
            batch,
            threads: Some(threads),
            ..opts.clone()
        };
        let (times, answers) = sweep_each(&m, n, &p, &opts, &Progress::new(), |r, _, series| {
            (r, bits(series))
        })
        .expect("sweep_each");
        assert_eq!(times, whole.times);
        assert_eq!(answers.len(), n);
        for (r, a) in answers.into_iter().enumerate() {
            let (run, got) = a.expect("no run fails");
            assert_eq!(run, r);
            assert_eq!(
                got,
                bits(&whole.values[r * per_run..(r + 1) * per_run]),
                "run {r}, batches of {batch} on {threads} threads"
            );
        }
    }
    let reduced = SweepOptions {
        reduce: Some(Reduce::Final),
        ..opts
    };
    assert!(sweep_each(&m, n, &p, &reduced, &Progress::new(), |_, _, _| ()).is_err());
}

#[test]
fn rk4_and_rk2_sweeps_match_single_runs() {
    let m = rich();
    let n = 9;
    let p = params(n);
    for method in [Method::Rk2, Method::Rk4] {
        let opts = SweepOptions {
            outputs: Some(vec!["level".into(), "smoothed".into()]),
            method: Some(method),
            ..SweepOptions::default()
        };
        let res = sweep(&m, n, &p, &opts, &Progress::new()).expect("sweep");
        let nt = res.times.len();
        for r in 0..n {
            let mut o = row_options(&p, r, 0, &opts.outputs.clone().unwrap_or_default());
            o.method = Some(method);
            let single = m.run(&o).expect("run");
            let swept: Vec<f64> = (0..nt).map(|t| res.values[(r * nt + t) * 2]).collect();
            assert_eq!(bits(&swept), bits(single.column("level").expect("level")));
        }
    }
}

#[test]
fn reductions_match_the_full_series() {
    let m = rich();
    let n = 10;
    let p = params(n);
    let outputs = vec!["level".to_string(), "filling".to_string()];
    let full = sweep(
        &m,
        n,
        &p,
        &SweepOptions {
            outputs: Some(outputs.clone()),
            ..SweepOptions::default()
        },
        &Progress::new(),
    )
    .expect("full");
    let nt = full.times.len();
    let series = |r: usize, o: usize| -> Vec<f64> {
        (0..nt)
            .map(|t| full.values[(r * nt + t) * outputs.len() + o])
            .collect()
    };
    // times are 0, 1, ..., 20: 7.5 lies between the saves at 7 and 8.
    type Expect = fn(&[f64]) -> f64;
    let cases: [(Reduce, Expect); 5] = [
        (Reduce::Final, |s| s[s.len() - 1]),
        (Reduce::Max, |s| s.iter().copied().fold(f64::MIN, f64::max)),
        (Reduce::Min, |s| s.iter().copied().fold(f64::MAX, f64::min)),
        (Reduce::Mean, |s| {
            let mut sum = s[0];
            for v in &s[1..] {
                sum += v;
            }
            sum / s.len() as f64
        }),
        (Reduce::At(7.5), |s| s[7] + (s[8] - s[7]) * 0.5),
    ];
    for (reduce, expect) in cases {
        let res = sweep(
            &m,
            n,
            &p,
            &SweepOptions {
                outputs: Some(outputs.clone()),
                reduce: Some(reduce),
                ..SweepOptions::default()
            },
            &Progress::new(),
        )
        .expect("reduced");
        assert_eq!(res.values.len(), n * outputs.len());
        for r in 0..n {
            for o in 0..outputs.len() {
                let got = res.values[o * n + r];
                assert_eq!(got, expect(&series(r, o)), "{reduce:?} row {r} output {o}");
            }
        }
    }
    // A time that is saved exactly gives that save's value.
    let at = sweep(
        &m,
        n,
        &p,
        &SweepOptions {
            outputs: Some(outputs.clone()),
            reduce: Some(Reduce::At(3.0)),
            ..SweepOptions::default()
        },
        &Progress::new(),
    )
    .expect("at");
    assert_eq!(at.values[0], series(0, 0)[3]);
}

#[test]
fn default_outputs_are_stocks_and_flows() {
    let m = rich();
    let res = sweep(&m, 2, &[], &SweepOptions::default(), &Progress::new()).expect("sweep");
    assert_eq!(res.outputs, vec!["level", "filling", "draining"]);
    // No parameters: both rows are the model as is, with seeds 0 and 1.
    let nt = res.times.len();
    let single = m
        .run(&RunOptions {
            seed: 1,
            ..RunOptions::default()
        })
        .expect("run");
    let level: Vec<f64> = (0..nt).map(|t| res.values[(nt + t) * 3]).collect();
    assert_eq!(bits(&level), bits(single.column("level").expect("level")));
}

fn err(m: &CompiledModel, n: usize, p: Vec<Param>, opts: SweepOptions) -> Error {
    sweep(m, n, &p, &opts, &Progress::new()).expect_err("must fail")
}

#[test]
fn bad_parameters_name_their_column_and_row() {
    let m = rich();
    let num = |name: &str, v: Vec<f64>| Param {
        name: name.into(),
        values: ParamValues::Numbers(v),
    };
    let e = err(&m, 2, vec![num("nope", vec![1.0, 2.0])], Default::default());
    assert!(matches!(&e, Error::BadParameter { column, row: None, .. } if column == "nope"));
    let e = err(
        &m,
        3,
        vec![num("rate", vec![1.0, f64::NAN, 2.0])],
        Default::default(),
    );
    assert!(
        matches!(&e, Error::BadParameter { row: Some(1), .. }),
        "{e}"
    );
    assert!(e.to_string().contains("row 1"), "{e}");
    let e = err(&m, 3, vec![num("rate", vec![1.0])], Default::default());
    assert!(e.to_string().contains("1 values for 3 runs"), "{e}");
    // A computed variable cannot take a value.
    let e = err(&m, 1, vec![num("smoothed", vec![1.0])], Default::default());
    assert!(matches!(&e, Error::BadParameter { column, .. } if column == "smoothed"));
    // The same variable twice.
    let e = err(
        &m,
        1,
        vec![num("rate", vec![1.0]), num("RATE", vec![2.0])],
        Default::default(),
    );
    assert!(e.to_string().contains("again"), "{e}");
    // Unsorted graphical function points, in row 2.
    let tables = vec![
        vec![(0.0, 1.0), (1.0, 2.0)],
        vec![(0.0, 1.0), (1.0, 2.0)],
        vec![(1.0, 1.0), (0.5, 2.0)],
    ];
    let e = err(
        &m,
        3,
        vec![Param {
            name: "effect".into(),
            values: ParamValues::Tables(tables),
        }],
        Default::default(),
    );
    assert!(
        matches!(&e, Error::BadParameter { column, row: Some(2), .. } if column == "effect"),
        "{e}"
    );
    let e = err(
        &m,
        1,
        vec![Param {
            name: "rate".into(),
            values: ParamValues::Tables(vec![vec![(0.0, 1.0)]]),
        }],
        Default::default(),
    );
    assert!(e.to_string().contains("not a graphical function"), "{e}");
    // Options.
    let bad_at = SweepOptions {
        reduce: Some(Reduce::At(99.0)),
        ..SweepOptions::default()
    };
    assert!(matches!(err(&m, 1, vec![], bad_at), Error::BadSweep { .. }));
    let bad_batch = SweepOptions {
        batch: 3,
        ..SweepOptions::default()
    };
    assert!(matches!(
        err(&m, 1, vec![], bad_batch),
        Error::BadSweep { .. }
    ));
    let unknown_output = SweepOptions {
        outputs: Some(vec!["missing".into()]),
        ..SweepOptions::default()
    };
    assert!(matches!(
        err(&m, 1, vec![], unknown_output),
        Error::UnknownOutput { .. }
    ));
}

const FRAGILE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>fragile</name><vendor>simlin tests</vendor></header>
  <sim_specs><start>0</start><stop>10</stop><dt>1</dt></sim_specs>
  <model>
    <variables>
      <stock name="s"><eqn>1</eqn><inflow>f</inflow></stock>
      <flow name="f"><eqn>IF TIME &gt;= 4 THEN 1 / divisor ELSE 0</eqn></flow>
      <aux name="divisor"><eqn>1</eqn></aux>
    </variables>
  </model>
</xmile>"#;

/// The fragile model and five runs, the third and fifth dividing by zero.
fn fragile() -> (CompiledModel, Vec<Param>) {
    let project = load_xmile(FRAGILE).expect("parses");
    let m = CompiledModel::new(&project, None).expect("compiles");
    let p = vec![Param {
        name: "divisor".into(),
        values: ParamValues::Numbers(vec![1.0, 2.0, 0.0, 4.0, 0.0]),
    }];
    (m, p)
}

#[test]
fn a_failing_run_is_reported_or_nulled_without_touching_the_others() {
    let (m, p) = fragile();
    let e = err(&m, 5, p.clone(), SweepOptions::default());
    match &e {
        Error::RunFailed {
            row,
            variable,
            time,
        } => {
            assert_eq!((*row, variable.as_str(), *time), (2, "s", 5.0));
        }
        other => panic!("expected RunFailed, got {other}"),
    }
    for engine in [Engine::Batched, Engine::Scalar] {
        let opts = SweepOptions {
            on_error: OnError::Null,
            reduce: Some(Reduce::Final),
            engine,
            ..SweepOptions::default()
        };
        let res = sweep(&m, 5, &p, &opts, &Progress::new()).expect("sweep");
        let failed: Vec<bool> = res.failures.iter().map(Option::is_some).collect();
        assert_eq!(failed, vec![false, false, true, false, true]);
        // s = 1 + 6 / divisor: the flows at t = 4..=9 reach the stock by t = 10.
        let s_final = &res.values[..5];
        assert_eq!(s_final[0], 1.0 + 6.0);
        assert_eq!(s_final[1], 1.0 + 3.0);
        assert_eq!(s_final[3], 1.0 + 1.5);
    }
}

#[test]
fn folded_and_handed_out_sweeps_skip_failed_runs_or_raise() {
    let (m, p) = fragile();
    let init = |_: usize| 0usize;
    let step = |k: &mut usize, _: &[f64]| *k += 1;
    let nulled = SweepOptions {
        on_error: OnError::Null,
        ..SweepOptions::default()
    };
    let (times, states) =
        sweep_fold(&m, 5, &p, &nulled, &Progress::new(), &(init, step)).expect("sweep_fold");
    let saved = Some(times.len());
    assert_eq!(states, vec![saved, saved, None, saved, None]);
    let (_, answers) =
        sweep_each(&m, 5, &p, &nulled, &Progress::new(), |r, _, _| r).expect("sweep_each");
    assert_eq!(answers, vec![Some(0), Some(1), None, Some(3), None]);
    let raised = sweep_fold(
        &m,
        5,
        &p,
        &SweepOptions::default(),
        &Progress::new(),
        &(init, step),
    );
    assert!(matches!(raised, Err(Error::RunFailed { row: 2, .. })));
    let cancelled = Progress::new();
    cancelled.cancel();
    let e = sweep_fold(&m, 5, &p, &nulled, &cancelled, &(init, step));
    assert!(matches!(e, Err(Error::Cancelled)));
}

#[test]
fn cancelling_stops_the_sweep() {
    let m = rich();
    let progress = Progress::new();
    progress.cancel();
    let e = sweep(&m, 100, &params(100), &SweepOptions::default(), &progress);
    assert!(matches!(e, Err(Error::Cancelled)));
    let progress = Progress::new();
    sweep(&m, 50, &params(50), &SweepOptions::default(), &progress).expect("sweep");
    assert_eq!(progress.done(), 50);
}

#[test]
fn zero_runs_give_an_empty_result() {
    let m = rich();
    let res = sweep(
        &m,
        0,
        &params(0),
        &SweepOptions::default(),
        &Progress::new(),
    )
    .expect("sweep");
    assert_eq!(res.n_runs, 0);
    assert!(res.values.is_empty());
}

/// With run seeds, a row's random stream is its own wherever it sits:
/// splitting the rows into two sweeps gives the same numbers as one.
#[test]
fn run_seeds_follow_the_row_not_its_position() {
    let m = rich();
    assert!(m.is_stochastic());
    let n = 20;
    let p = params(n);
    let outputs = all_outputs();
    let seeds: Vec<u64> = (0..n as u64).map(|r| 1000 + 7 * r).collect();
    let opts = |run_seeds: Vec<u64>| SweepOptions {
        outputs: Some(outputs.clone()),
        run_seeds: Some(run_seeds),
        ..SweepOptions::default()
    };
    let whole = sweep(&m, n, &p, &opts(seeds.clone()), &Progress::new()).expect("sweep");
    let slice = |lo: usize, hi: usize| -> Vec<Param> {
        p.iter()
            .map(|q| Param {
                name: q.name.clone(),
                values: match &q.values {
                    ParamValues::Numbers(v) => ParamValues::Numbers(v[lo..hi].to_vec()),
                    ParamValues::Tables(t) => ParamValues::Tables(t[lo..hi].to_vec()),
                },
            })
            .collect()
    };
    let per_run = whole.values.len() / n;
    for (lo, hi) in [(0, 7), (7, 20)] {
        let part = sweep(
            &m,
            hi - lo,
            &slice(lo, hi),
            &opts(seeds[lo..hi].to_vec()),
            &Progress::new(),
        )
        .expect("part");
        assert_eq!(
            bits(&part.values),
            bits(&whole.values[lo * per_run..hi * per_run]),
            "rows {lo}..{hi}"
        );
    }
    // And each row equals a single run with its own seed.
    let single = m
        .run(&RunOptions {
            seed: seeds[3],
            ..row_options(&p, 3, 0, &outputs)
        })
        .expect("single");
    let nt = whole.times.len();
    let o = outputs.iter().position(|x| x == "noise").expect("noise");
    let swept: Vec<f64> = (0..nt)
        .map(|t| whole.values[(3 * nt + t) * outputs.len() + o])
        .collect();
    assert_eq!(bits(&swept), bits(single.column("noise").expect("noise")));
    let bad = SweepOptions {
        run_seeds: Some(vec![1, 2]),
        ..SweepOptions::default()
    };
    assert_eq!(err(&m, 3, params(3), bad).code(), "BAD_SWEEP");
}

/// Tables every lane of a batch shares are interpolated for all lanes at
/// once; each lane must still get exactly its single run's bits: below,
/// inside and beyond the points, on a vertical step (two points at one x),
/// at NaN, clamped and extrapolated.
#[test]
fn shared_tables_interpolate_lane_by_lane_exactly() {
    let xml = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
      <sim_specs><start>0</start><stop>10</stop><dt>0.25</dt></sim_specs>
      <model><variables>
        <aux name="k"><eqn>1</eqn></aux>
        <aux name="input"><eqn>IF TIME = 5 THEN 0 / 0 ELSE k * TIME - 4 + SIN(TIME * k)</eqn></aux>
        <aux name="clamped"><eqn>input</eqn>
          <gf><xpts>-2,0,1,1,3,7</xpts><ypts>5,1,2,6,-3,4</ypts></gf></aux>
        <aux name="extended"><eqn>input</eqn>
          <gf type="extrapolate"><xpts>-2,0,1,1,3,7</xpts><ypts>5,1,2,6,-3,4</ypts></gf></aux>
      </variables></model></xmile>"#;
    let m = CompiledModel::new(&load_xmile(xml).expect("loads"), None).expect("compiles");
    let n = 37;
    let p = vec![Param {
        name: "k".into(),
        values: ParamValues::Numbers((0..n).map(|r| 0.2 + 0.07 * r as f64).collect()),
    }];
    let outputs: Vec<String> = ["input", "clamped", "extended"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for batch in [8, 16] {
        let opts = SweepOptions {
            outputs: Some(outputs.clone()),
            batch,
            ..SweepOptions::default()
        };
        let res = sweep(&m, n, &p, &opts, &Progress::new()).expect("sweep runs");
        let nt = res.times.len();
        for r in 0..n {
            let single = m.run(&row_options(&p, r, 0, &outputs)).expect("single run");
            for (o, name) in outputs.iter().enumerate() {
                let swept: Vec<f64> = (0..nt)
                    .map(|t| res.values[(r * nt + t) * outputs.len() + o])
                    .collect();
                assert_eq!(
                    bits(&swept),
                    bits(single.column(name).unwrap()),
                    "row {r} {name}"
                );
            }
        }
    }
}
