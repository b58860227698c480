"""Time-series inputs: a pandas Series (or ``time, value`` frame, or points) as an override.

A scalar auxiliary or flow given a series is driven by it: linear between
the points, the end values held outside them, as PySD does with a Series
passed in ``params``. The reference figures below were produced by PySD
3.14 (``model.run(params={"room_temperature": series})`` on the same
teacup model) and match ours to the last bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import simlin
from simlin import ErrorCode, SimlinRuntimeError, SimlinTypeError

ROOM = "Room Temperature"
CUP = "Teacup Temperature"
SERIES = pd.Series([70.0, 80.0, 60.0], index=[0.0, 10.0, 20.0])

# PySD 3.14, teacup.xmile, params={"room_temperature": SERIES}: Teacup
# Temperature at t = 2.5 (row 20) and t = 30 (the last row).
PYSD_AT_2_5 = 155.80895637070887
PYSD_FINAL = 69.1647070356296


def test_series_matches_pysd(teacup: simlin.Model) -> None:
    r = teacup.run(overrides={ROOM: SERIES})
    assert r[CUP][20] == PYSD_AT_2_5
    assert r[CUP][-1] == PYSD_FINAL


def test_series_is_interpolated_and_held(teacup: simlin.Model) -> None:
    r = teacup.run(overrides={ROOM: SERIES})
    want = np.interp(r.times, SERIES.index.to_numpy(), SERIES.to_numpy())
    np.testing.assert_array_equal(r[ROOM], want)
    assert r[ROOM][-1] == 60.0  # held after the last point (t = 20)
    plain = teacup.run()
    assert not np.array_equal(r[CUP], plain[CUP])
    # Without the series, the model is itself again (the variant is separate).
    np.testing.assert_array_equal(teacup.run()[CUP], plain[CUP])


@pytest.mark.parametrize(
    "form",
    [
        pd.DataFrame({"time": [0.0, 10.0, 20.0], "value": [70.0, 80.0, 60.0]}),
        pl.DataFrame({"value": [70.0, 80.0, 60.0], "time": [0.0, 10.0, 20.0]}),
        [(0.0, 70.0), (10.0, 80.0), (20.0, 60.0)],
        SERIES.iloc[::-1],  # a Series is put in time order
    ],
)
def test_every_form_is_the_same_series(teacup: simlin.Model, form: Any) -> None:
    want = teacup.run(overrides={ROOM: SERIES})[CUP]
    np.testing.assert_array_equal(teacup.run(overrides={ROOM: form})[CUP], want)


def test_methods_and_flows(teacup: simlin.Model) -> None:
    """A flow can be fed too; RK4 reads the series at each stage's time."""
    loss = pd.Series([5.0, 0.0], index=[0.0, 30.0])
    for method in ("euler", "rk4"):
        r = teacup.run(overrides={"Heat Loss to Room": loss}, method=method)
        # Stock = 180 - integral of a line from 5 to 0 over [0, t].
        t = r.times
        exact = 180.0 - (5.0 * t - t**2 / 12.0)
        if method == "rk4":
            np.testing.assert_allclose(r[CUP], exact, rtol=0, atol=1e-9)
        else:
            # Euler: each step adds dt times the series at the step's start.
            dt = np.diff(t)
            euler = 180.0 - np.concatenate([[0.0], np.cumsum(dt * (5.0 - t[:-1] / 6.0))])
            np.testing.assert_allclose(r[CUP], euler, rtol=0, atol=1e-9)


def test_refused_with_reasons(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as e:
        teacup.run(overrides={CUP: SERIES})
    assert e.value.code is ErrorCode.BAD_OVERRIDE
    assert "stock" in str(e.value) and "Teacup Temperature" in str(e.value)
    with pytest.raises(SimlinTypeError, match="'time' and 'value'"):
        teacup.run(overrides={ROOM: pd.DataFrame({"t": [0.0], "v": [1.0]})})
    with pytest.raises(SimlinTypeError, match="numeric"):
        teacup.run(overrides={ROOM: pd.Series([1.0], index=["a"])})
    with pytest.raises(SimlinRuntimeError, match="ascending") as e:
        teacup.run(overrides={ROOM: pd.Series([1.0, 2.0], index=[3.0, 3.0])})
    assert e.value.code is ErrorCode.BAD_OVERRIDE


def test_arrayed_variables_whole_or_per_element(data_dir: Path) -> None:
    """growth[Region] (per-element constants) fed one series, or one each."""
    arrays = simlin.load(data_dir / "arrays.xmile")
    ramp = pd.Series([0.0, 0.2], index=[0.0, 2.0])
    both = arrays.run(overrides={"growth": ramp})
    for element in ("North", "South"):
        np.testing.assert_array_equal(both[f"growth[{element}]"], [0.0, 0.1, 0.2])
    each = arrays.run(overrides={"growth": {"North": ramp, "South": ramp * 2}})
    np.testing.assert_array_equal(each["growth[South]"], [0.0, 0.2, 0.4])
    # stock[South, Small] grows by its own series: 10, 10 * 1.0, 10 * 1.2
    # (spaces after the comma are any spelling of the name).
    np.testing.assert_allclose(each["stock[South, Small]"], [10.0, 10.0, 12.0])
    assert each["Stock [ south ,small ]"][-1] == each["stock[South,Small]"][-1]
    with pytest.raises(SimlinRuntimeError, match="every element") as e:
        arrays.run(overrides={"growth": {"North": ramp}})
    assert e.value.code is ErrorCode.BAD_OVERRIDE
    assert "south" in str(e.value).lower()
    # A sweep: one series per row for the whole variable.
    final = arrays.sweep({"growth": [ramp, ramp * 2]}, outputs=["total"], reduce="final")
    assert final.get_column("total").to_list() == [
        arrays.run(overrides={"growth": ramp})["total"][-1],
        arrays.run(overrides={"growth": ramp * 2})["total"][-1],
    ]


def test_graphical_functions_keep_their_meaning(graphical: simlin.Model) -> None:
    """Points for a graphical function still replace its table (x is its input)."""
    pts = [(0.0, 2.0), (10.0, 2.0)]
    r = graphical.run(overrides={"effect": pts})
    assert set(r["effect"]) == {2.0}


def test_sweeps_take_a_series_per_row(teacup: simlin.Model) -> None:
    rows = [SERIES, SERIES + 5.0, pd.Series([50.0], index=[0.0])]
    params = pd.DataFrame({ROOM: rows, "Characteristic Time": [8.0, 10.0, 12.0]})
    for table in (params, {ROOM: [list(zip(s.index, s, strict=True)) for s in rows]}):
        final = teacup.sweep(table, reduce="final", to="pandas")
        cts = [8.0, 10.0, 12.0] if table is params else [10.0, 10.0, 10.0]
        for r, (series, ct) in enumerate(zip(rows, cts, strict=True)):
            one = teacup.run(overrides={ROOM: series, "Characteristic Time": ct}, seed=r)
            assert final[CUP][r] == one[CUP][-1]


def test_stepwise_and_loop_runs(teacup: simlin.Model) -> None:
    sim = teacup.simulate(overrides={ROOM: SERIES})
    sim.run_to(5.0)
    assert sim.get_value(ROOM) == 75.0
    scored = teacup.run(overrides={ROOM: SERIES}, ltm=True)
    np.testing.assert_array_equal(scored[CUP], teacup.run(overrides={ROOM: SERIES})[CUP])
    assert scored.loops().get_column("loop").to_list() == ["B1"]


def test_plugin_refuses_series_by_name(teacup: simlin.Model) -> None:
    frame = pl.DataFrame({ROOM: [[(0.0, 70.0), (10.0, 80.0)]]})
    with pytest.raises(pl.exceptions.ComputeError, match="time-series inputs"):
        frame.select(simlin.simulate(teacup, pl.struct(ROOM), reduce="final"))
