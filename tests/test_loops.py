"""Loop analysis: links, loops, loop scores and dominance (Loops That Matter).

The cross-check compares, on every model of both shared suites where
pysimlin 0.8.5 scores loops, our loop sets, polarities and relative loop
scores at every saved time with the figures ``scripts/ltm_reference.py``
recorded from pysimlin (``tests/data/ltm_reference.json.gz``).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import simlin
from simlin import ErrorCode, SimlinKeyError, SimlinTypeError

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent

SIR_MDL = """
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
"""


@pytest.fixture
def sir() -> simlin.Model:
    return simlin.Project.from_mdl(SIR_MDL).main_model


def test_links_have_polarities(sir: simlin.Model) -> None:
    links = sir.links()
    assert links.columns == ["from", "to", "polarity"]
    got = {(a, b): p for a, b, p in links.iter_rows()}
    assert got[("Susceptible", "Succumbing")] == "+"
    assert got[("Total Population", "Succumbing")] == "-"
    assert got[("Succumbing", "Infectious")] == "+"
    assert got[("Recovering", "Infectious")] == "-"
    assert got[("Succumbing", "Susceptible")] == "-"


def test_loops_frame(sir: simlin.Model) -> None:
    loops = sir.loops()
    assert loops.dtypes == [pl.String, pl.String, pl.List(pl.String), pl.Int64]
    assert loops.columns == ["loop", "polarity", "variables", "partition"]
    assert loops.rows() == [
        ("B1", "B", ["Susceptible", "Succumbing"], 0),
        ("R1", "R", ["Infectious", "Succumbing"], 0),
        ("B2", "B", ["Infectious", "Recovering"], 0),
    ]


def test_ltm_run_scores_and_dominance(sir: simlin.Model) -> None:
    plain = sir.run()
    r = sir.run(ltm=True)
    assert isinstance(r, simlin.LtmResults)
    assert r.mode == "exhaustive"
    # The model's own results are unchanged and carry no score columns.
    assert r.names == plain.names
    assert np.array_equal(r["Infectious"], plain["Infectious"])
    scores = r.loop_scores()
    assert scores.columns == ["time", "loop", "score", "relative_score"]
    assert scores.height == 3 * len(r)
    # pysimlin 0.8.5 on the same model at t = dt (its b1/r1/b2 are our B2/R1/B1).
    first = {row[1]: row[3] for row in scores.filter(pl.col("time") == 0.03125).iter_rows()}
    assert first["R1"] == pytest.approx(0.598260056618, abs=1e-11)
    assert first["B2"] == pytest.approx(-0.398840037745, abs=1e-11)
    assert first["B1"] == pytest.approx(-0.00289990563637, abs=1e-11)
    # Every score is 0 at the initial time; a partition's magnitudes sum to 1 after.
    totals = scores.group_by("time").agg(pl.col("relative_score").abs().sum()).sort("time")
    assert totals["relative_score"][0] == 0.0
    assert np.allclose(totals["relative_score"][1:].to_numpy(), 1.0)
    assert np.array_equal(
        r.loop_score("R1"), scores.filter(pl.col("loop") == "R1")["relative_score"]
    )
    periods = r.dominant_loops()
    assert periods.rows() == [
        (0, 0.03125, 30.1875, ["R1"]),
        (0, 30.21875, 33.875, ["B1", "B2"]),
        (0, 33.90625, 41.6875, ["B1"]),
        (0, 41.71875, 47.90625, ["B1", "B2"]),
        (0, 47.9375, 100.0, ["B2"]),
    ]
    links = r.link_scores()
    assert links.columns == ["time", "from", "to", "score"]
    outflow = links.filter((pl.col("from") == "Succumbing") & (pl.col("to") == "Susceptible"))
    assert outflow["score"][1:].to_list() == [-1.0] * (len(r) - 1)


def test_ltm_with_options_and_errors(sir: simlin.Model) -> None:
    r = sir.run(
        {"Duration": 2}, method="rk4", stop=20, save_step=1, outputs=["Infectious"], ltm=True
    )
    assert r.names == ["Infectious"]
    assert len(r.times) == 21
    assert set(r.loop_scores()["loop"]) == {"R1", "B1", "B2"}
    with pytest.raises(SimlinKeyError) as e:
        r.loop_score("R9")
    assert e.value.code is ErrorCode.UNKNOWN_OUTPUT
    with pytest.raises(SimlinTypeError):
        sir.run(ltm="yes")  # type: ignore[call-overload]


def test_arrayed_loops_fold_elements() -> None:
    model = simlin.Project.from_mdl(
        "Region : north, south ~~|\n"
        "Pop[Region] = INTEG(Births[Region] - Deaths[Region], 100) ~~|\n"
        "Births[Region] = Pop[Region] * 0.03 ~~|\n"
        "Deaths[Region] = Pop[Region] / 50 ~~|\n"
        "INITIAL TIME = 0 ~~|\nFINAL TIME = 10 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
    ).main_model
    assert model.loops().select("loop", "variables").rows() == [
        ("R1", ["Pop", "Births"]),
        ("B1", ["Pop", "Deaths"]),
    ]
    assert ("Pop", "Births", "+") in model.links().rows()
    r = model.run(ltm=True)
    at5 = r.loop_scores().filter(pl.col("time") == 5.0)
    rel = dict(zip(at5["loop"], at5["relative_score"], strict=True))
    # Births 3% against deaths 2%: the reinforcing loop carries 60%.
    assert rel["R1"] == pytest.approx(0.6)
    assert rel["B1"] == pytest.approx(-0.4)


# --- the pysimlin cross-check -------------------------------------------------

#: Models where our answer differs from pysimlin's on purpose.
KNOWN_DIFFERENCES = {
    # pysimlin reports loops between module instances as one loop
    # (hares <-> lynxes); we report the loops through the modules' variables
    # (hares.births -> hares.hares, ...), which is where the feedback is.
    "test-models/samples/bpowers-hares_and_lynxes_modules/model.stmx": "modules",
}


def _reference() -> dict[str, Any]:
    with gzip.open(DATA / "ltm_reference.json.gz", "rt") as f:
        models: dict[str, Any] = json.load(f)["models"]
    return models


def _shared() -> Path | None:
    for candidate in (REPO.parent / "shared", REPO / "shared"):
        if candidate.is_dir():
            return candidate
    return None


REFERENCE = _reference()
SCORED = sorted(k for k, v in REFERENCE.items() if v["status"] == "ok")


def _key(names: list[str]) -> frozenset[str]:
    """A loop's variables in one spelling: no subscripts, no synthetic net flows."""
    out = set()
    for n in names:
        if "$" in n:
            continue
        n = re.sub(r"\[.*?\]", "", " ".join(n.lower().replace("_", " ").split()))
        if not n.endswith(" net flow"):
            out.add(n)
    return frozenset(out)


@pytest.mark.parametrize("key", SCORED)
def test_agrees_with_pysimlin(key: str) -> None:
    shared = _shared()
    if shared is None:
        pytest.skip("../shared not found")
    ref = REFERENCE[key]
    model = simlin.load(shared / key)
    ours = {_key(v): (i, p) for i, p, v, _ in model.loops().iter_rows()}
    theirs = {
        _key(loop["variables"]): (loop["id"], loop["polarity"], ref["runtime_polarity"][loop["id"]])
        for loop in ref["loops"]
    }
    if key in KNOWN_DIFFERENCES:
        assert set(ours) != set(theirs), f"{key} now agrees: drop it from KNOWN_DIFFERENCES"
        return
    assert set(ours) == set(theirs)
    run = model.run(ltm=True)
    times = np.array([np.nan if t is None else t for t in ref["times"]])
    for k, (our_id, polarity) in ours.items():
        their_id, static, runtime = theirs[k]
        # Where pysimlin cannot sign a loop statically, ours must match its
        # behaviour in the run instead.
        assert polarity == static or (static == "U" and polarity == runtime), (our_id, their_id)
        want = np.array([np.nan if x is None else x for x in ref["relative_scores"][their_id]])
        got = run.loop_score(our_id)
        n = min(len(want), len(got))
        # Compare at every saved time both runs have (pysimlin leaves the
        # last slots of one model's score arrays unfilled: time 0).
        same = np.isfinite(times[:n]) & np.isclose(times[:n], run.times[:n], rtol=0, atol=1e-9)
        assert same.sum() >= n - 15
        assert np.allclose(got[:n][same], want[:n][same], rtol=0, atol=1e-9), (our_id, their_id)


def test_cross_check_covers_both_suites() -> None:
    assert len(SCORED) == 44
    assert any(k.startswith("real-models/") for k in SCORED)


@pytest.mark.parametrize(
    "key",
    [
        # pysimlin: no loops without an explicit discovery call.
        "real-models/WRLD3-03/wrld3-03.mdl",
        # pysimlin: "failed to compile" with LTM on.
        "test-models/tests/subscript_switching/subscript_switching.mdl",
        "test-models/samples/bpowers-hares_and_lynxes_modules/model.xmile",
    ],
)
def test_models_pysimlin_cannot_score_still_work(key: str) -> None:
    shared = _shared()
    if shared is None:
        pytest.skip("../shared not found")
    assert REFERENCE[key]["status"] != "ok" or REFERENCE[key]["mode"] == "discovery"
    run = simlin.load(shared / key).run(ltm=True)
    scores = run.loop_scores()
    assert run.loops().height > 0
    assert scores["relative_score"].is_finite().all()
    assert run.dominant_loops().height > 0


# Every step saved: sweeps score with the instrumented model; saves 32
# steps apart: from the plain runs' values. Both agree with single runs.
@pytest.mark.parametrize("save_step", [None, 1.0])
def test_sweep_relative_scores_match_single_runs(
    sir: simlin.Model, save_step: float | None
) -> None:
    params = pl.DataFrame({"run": [10, 11, 12], "Contact Infectivity": [0.2, 0.3, 0.5]})
    long = sir.sweep(params, ltm="relative", save_step=save_step)
    assert long.columns == ["run", "time", "loop", "relative_score"]
    assert long["loop"].dtype == pl.Enum(["B1", "R1", "B2"])
    final = sir.sweep(params, ltm="relative", reduce="final", save_step=save_step)
    assert final.columns == ["run", "B1", "R1", "B2"]
    for run, beta in zip(params["run"], params["Contact Infectivity"], strict=True):
        single = sir.run({"Contact Infectivity": beta}, ltm=True, save_step=save_step)
        for loop in ("B1", "R1", "B2"):
            got = long.filter((pl.col("run") == run) & (pl.col("loop") == loop))["relative_score"]
            assert np.array_equal(got.to_numpy(), single.loop_score(loop)), (run, loop)
            last = final.filter(pl.col("run") == run)[loop].item()
            assert last == single.loop_score(loop)[-1], (run, loop)


@pytest.mark.parametrize("save_step", [None, 1.0])
def test_sweep_dominance_matches_single_runs(sir: simlin.Model, save_step: float | None) -> None:
    params = pl.DataFrame({"Contact Infectivity": [0.3, 0.5, 0.1, 0.25]})
    periods = sir.sweep(params, ltm="dominance", save_step=save_step)
    for run, beta in enumerate(params["Contact Infectivity"]):
        single = sir.run({"Contact Infectivity": beta}, ltm=True, save_step=save_step)
        mine = periods.filter(pl.col("run") == run).drop("run")
        assert mine.rows() == single.dominant_loops().rows(), run


def test_sweep_dominance_answers_when_balancing_takes_over(sir: simlin.Model) -> None:
    params = pl.DataFrame({"Contact Infectivity": [0.3, 0.5, 0.1]})
    periods = sir.sweep(params, ltm="dominance")
    assert periods.columns == ["run", "partition", "start", "end", "loops"]
    single = sir.run({"Contact Infectivity": 0.5}, ltm=True).dominant_loops()
    mine = periods.filter(pl.col("run") == 1).drop("run")
    assert mine.rows() == single.rows()
    # With infectivity 0.1 < recovery 0.2 the epidemic never takes off:
    # recovery (B2) dominates from the first step to the end.
    assert periods.filter(pl.col("run") == 2).select("start", "end", "loops").rows() == [
        (0.03125, 100.0, ["B2"])
    ]
    # When does the reinforcing loop hand over, per run?
    handover = (
        periods.filter(pl.col("loops").list.contains("R1")).group_by("run").agg(pl.col("end").max())
    )
    assert handover.sort("run")["end"].to_list()[0] == 30.1875
    with pytest.raises(simlin.SimlinArgumentError):
        sir.sweep(params, ltm="dominance", reduce="final")
    with pytest.raises(simlin.SimlinArgumentError):
        sir.sweep(params, ltm="relative", outputs=["Infectious"])


def test_sweep_dominance_frames_have_the_same_columns_in_every_library(
    sir: simlin.Model,
) -> None:
    params = pl.DataFrame({"id": ["a", "b", "c"], "Contact Infectivity": [0.3, 0.5, 0.1]})
    named = sir.sweep(params, ltm="dominance", run_id="id")
    assert named.schema == pl.Schema(
        [
            ("run", pl.String()),
            ("partition", pl.Int64()),
            ("start", pl.Float64()),
            ("end", pl.Float64()),
            ("loops", pl.List(pl.String())),
        ]
    )
    # Run b's periods, as a single run gives them, under its id.
    single = sir.run({"Contact Infectivity": 0.5}, ltm=True).dominant_loops()
    assert named.filter(pl.col("run") == "b").drop("run").rows() == single.rows()
    by_row = sir.sweep(params.drop("id"), ltm="dominance")
    assert by_row.schema["run"] == pl.Int64
    assert by_row["run"].to_list() == [("a", "b", "c").index(r) for r in named["run"]]
    assert by_row.drop("run").equals(named.drop("run"))
    frame = sir.sweep(params, ltm="dominance", run_id="id", to="pandas")
    assert list(frame.columns) == named.columns
    assert frame["run"].tolist() == named["run"].to_list()
    assert frame["loops"].map(list).tolist() == named["loops"].to_list()
    assert str(frame["partition"].dtype) == "int64"
    np.testing.assert_array_equal(frame["end"].to_numpy(), named["end"].to_numpy())
    pa = pytest.importorskip("pyarrow")
    table = sir.sweep(params, ltm="dominance", run_id="id", to="arrow")
    assert isinstance(table, pa.Table)
    assert table.column("loops").to_pylist() == named["loops"].to_list()
    assert table.column("run").to_pylist() == named["run"].to_list()
    none = sir.sweep(params.head(0), ltm="dominance", run_id="id")
    assert none.height == 0
    assert none.schema == named.schema


def test_stepwise_sim_scores_loops(sir: simlin.Model) -> None:
    whole = sir.run(ltm=True)
    with sir.simulate(ltm=True) as sim:
        sim.run_to(10.0)
        k = int(np.searchsorted(whole.times, 10.0))
        assert sim.loop_score("R1") == whole.loop_score("R1")[k]
        assert sim.loop_score("B2", relative=False) == whole.loop_score("B2", relative=False)[k]
        # A change mid-run shows in the scores from the next step on.
        sim.set_value("Duration", 1.0)
        sim.run_to(20.0)
        assert (
            sim.loop_score("B2") != whole.loop_score("B2")[int(np.searchsorted(whole.times, 20.0))]
        )
    with sir.simulate() as plain, pytest.raises(simlin.SimlinError):
        plain.loop_score("R1")


# A Bass diffusion model as Stella Architect saves it (isee's public sd-ai
# evaluation data; tests/data/bass_stella.xmile, shared with the Rust test),
# with Stella's own "Percent of Model Behavior Explained by Loop" for its
# loops at a few times.
BASS_STELLA = [
    (1.0, "R1", 99.99958054266993),
    (8.0, "R1", 91.19142435252456),
    (10.0, "R1", 35.124047631967095),
    (14.0, "B1", 99.89621276014259),
]


def test_ltm_partial_current_reproduces_stellas_loop_scores() -> None:
    bass = simlin.load(DATA / "bass_stella.xmile")
    stella = bass.run(ltm=True, ltm_partial="current")
    ours = bass.run(ltm=True)
    for t, loop, percent in BASS_STELLA:
        i = int(np.argmin(np.abs(stella.times - t)))
        assert abs(abs(stella.loop_score(loop)[i]) * 100 - percent) < 1e-9, (t, loop)
    # Our default holds the other inputs at the previous step: a step late here.
    i = int(np.argmin(np.abs(ours.times - 10.0)))
    assert abs(abs(ours.loop_score("R1")[i]) * 100 - 35.124047631967095) > 0.1
    # Sweeps and stepwise sims take the convention too.
    params = pl.DataFrame({"run": [1], "contact rate": [100.0]})
    swept = bass.sweep(params, ltm="relative", ltm_partial="current", reduce="final")
    assert swept["R1"].item() == stella.loop_score("R1")[-1]
    sim = bass.simulate(ltm=True, ltm_partial="current")
    sim.run_to_end()
    assert sim.loop_score("R1") == stella.loop_score("R1")[-1]
    with pytest.raises(simlin.SimlinArgumentError, match="ltm_partial"):
        bass.run(ltm=True, ltm_partial="stella")  # type: ignore[call-overload]
