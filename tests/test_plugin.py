"""The Polars expression plugin: ``simlin.simulate`` and ``expr.simlin.simulate``."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simlin
from simlin import SimlinArgumentError, SimlinTypeError

pl = pytest.importorskip("polars")
plugin = pytest.importorskip("simlin.plugin")

CUP = "Teacup Temperature"
LOSS = "Heat Loss to Room"
ROOM = "Room Temperature"
TAU = "Characteristic Time"

NOISY = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>noisy</name></header>
  <sim_specs><start>0</start><stop>10</stop><dt>0.5</dt></sim_specs>
  <model><variables>
    <stock name="level"><eqn>init</eqn><inflow>change</inflow></stock>
    <flow name="change"><eqn>NORMAL(drift, 1)</eqn></flow>
    <aux name="drift"><eqn>0</eqn></aux>
    <aux name="init"><eqn>5</eqn></aux>
  </variables></model>
</xmile>
"""

DIVERGING = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>diverging</name></header>
  <sim_specs><start>0</start><stop>4</stop><dt>1</dt></sim_specs>
  <model><variables>
    <stock name="level"><eqn>1</eqn><inflow>change</inflow></stock>
    <flow name="change"><eqn>1 / k</eqn></flow>
    <aux name="k"><eqn>1</eqn></aux>
  </variables></model>
</xmile>
"""


def params_frame() -> Any:
    return pl.DataFrame(
        {
            ROOM: [60.0, 70.0, 75.5, 20.0, 65.0, 70.0],
            TAU: [5, 10, 3, 12, 8, 10],  # ints: cast to f64 by the plugin
            "g": ["a", "b", "a", "b", "a", "c"],
        }
    )


def rows(df: Any, fields: Sequence[str]) -> list[dict[str, float]]:
    return [{f: float(r[f]) for f in fields} for r in df.iter_rows(named=True)]


def reduce_series(values: np.ndarray, times: np.ndarray, reduce: object) -> float:
    """The engine's reductions, computed the same way (sequential sums)."""
    vals = [float(v) for v in values]
    if reduce == "final":
        return vals[-1]
    if reduce == "max":
        return max(vals)
    if reduce == "min":
        return min(vals)
    if reduce == "mean":
        acc = vals[0]
        for v in vals[1:]:
            acc += v
        return acc / len(vals)
    assert isinstance(reduce, dict)
    t = float(reduce["at"])
    ts = [float(x) for x in times]
    i0 = max(i for i, x in enumerate(ts) if x <= t)
    if ts[i0] == t or i0 + 1 == len(ts):
        return vals[i0]
    w = (t - ts[i0]) / (ts[i0 + 1] - ts[i0])
    return vals[i0] + (vals[i0 + 1] - vals[i0]) * w


def test_installed_polars_loads_the_plugin(teacup: simlin.Model) -> None:
    """The installed Polars can load and call the plugin (prints its version)."""
    print(f"polars {pl.__version__}")
    df = pl.DataFrame({ROOM: [60.0]})
    out = df.select(sim=simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP], reduce="final"))
    expected = teacup.run({ROOM: 60.0})[CUP][-1]
    assert out["sim"].struct.field(CUP).to_list() == [expected]


def test_exported_from_simlin() -> None:
    assert simlin.simulate is plugin.simulate
    assert "simulate" in simlin.__all__


@pytest.mark.parametrize("reduce", ["final", "max", "min", "mean", {"at": 7.25}])
def test_reduced_matches_model_run(teacup: simlin.Model, reduce: Any) -> None:
    df = params_frame()
    out = df.select(
        sim=simlin.simulate(
            teacup, pl.struct(ROOM, TAU), outputs=[CUP, LOSS], reduce=reduce, seed=3
        )
    )
    assert out.schema["sim"] == pl.Struct({CUP: pl.Float64, LOSS: pl.Float64})
    got = out.unnest("sim")
    for r, row in enumerate(rows(df, [ROOM, TAU])):
        res = teacup.run(row, seed=3 + r)
        for name in (CUP, LOSS):
            assert got[name][r] == reduce_series(res[name], res.times, reduce), (r, name)


def test_seed_per_row(tmp_path: Path) -> None:
    model = simlin.Project.from_xmile(NOISY).main_model
    df = pl.DataFrame({"drift": [0.0, 0.0, 0.5, 0.0], "init": [5, 5, 1, 5]})
    out = df.select(
        v=simlin.simulate(
            model, pl.struct("drift", "init"), outputs=["level"], reduce="final", seed=11
        )
    )["v"].struct.field("level")
    expected = [
        model.run(row, seed=11 + r)["level"][-1]
        for r, row in enumerate(rows(df, ["drift", "init"]))
    ]
    assert out.to_list() == expected
    # Rows with equal parameters still differ: each row has its own seed.
    assert expected[0] != expected[1]


def test_series_explode_unnest_matches_model_run(teacup: simlin.Model) -> None:
    df = params_frame()
    expr = simlin.simulate(teacup, pl.struct(ROOM, TAU), outputs=[CUP, LOSS], method="rk4")
    out = df.with_row_index("run").select("run", sim=expr)
    assert out.schema["sim"] == pl.List(
        pl.Struct({"time": pl.Float64, CUP: pl.Float64, LOSS: pl.Float64})
    )
    long = out.explode("sim").unnest("sim")
    assert long.columns == ["run", "time", CUP, LOSS]
    for r, row in enumerate(rows(df, [ROOM, TAU])):
        res = teacup.run(row, method="rk4", seed=r)
        part = long.filter(pl.col("run") == r)
        assert part["time"].to_list() == res.times.tolist()
        for name in (CUP, LOSS):
            assert part[name].to_list() == res[name].tolist()


def test_with_columns_lazy_and_namespace(teacup: simlin.Model) -> None:
    df = params_frame()
    eager = df.with_columns(
        sim=simlin.simulate(teacup, pl.struct(ROOM, TAU), outputs=[CUP], reduce="final")
    )
    assert eager.columns == [ROOM, TAU, "g", "sim"]
    lazy = (
        df.lazy()
        .with_columns(
            sim=pl.struct(ROOM, TAU).simlin.simulate(teacup, outputs=[CUP], reduce="final")
        )
        .collect()
    )
    assert lazy.equals(eager)
    by_name = df.select(pl.struct(ROOM, TAU).alias("p")).select(
        sim=simlin.simulate(teacup, "p", outputs=[CUP], reduce="final")
    )
    assert by_name["sim"].equals(eager["sim"])
    # A lazy frame also knows the output schema before running.
    schema = (
        df.lazy()
        .select(sim=simlin.simulate(teacup, pl.struct(ROOM, TAU), outputs=[CUP], reduce="max"))
        .collect_schema()
    )
    assert schema["sim"] == pl.Struct({CUP: pl.Float64})


def test_group_by_mean_of_reduced_output(teacup: simlin.Model) -> None:
    df = params_frame()
    finals = [teacup.run(row)[CUP][-1] for row in rows(df, [ROOM, TAU])]
    expected = {
        g: float(np.mean([f for f, gg in zip(finals, df["g"], strict=True) if gg == g]))
        for g in ("a", "b", "c")
    }
    sim = simlin.simulate(teacup, pl.struct(ROOM, TAU), outputs=[CUP], reduce="final")
    # Simulate then aggregate ...
    agg1 = (
        df.lazy()
        .with_columns(final=sim.struct.field(CUP))
        .group_by("g")
        .agg(pl.col("final").mean())
        .collect()
    )
    # ... or simulate inside the aggregation.
    agg2 = df.group_by("g").agg(final=sim.struct.field(CUP).mean())
    for agg in (agg1, agg2):
        got = dict(zip(agg["g"], agg["final"], strict=True))
        assert got.keys() == expected.keys()
        for g, v in expected.items():
            assert got[g] == pytest.approx(v, rel=1e-15)


def test_graphical_function_points(graphical: simlin.Model) -> None:
    tables = [
        [(0.0, 1.0), (4.0, 1.0)],
        [(0.0, 0.0), (2.0, 10.0), (4.0, 0.0)],
    ]
    expected = [graphical.run({"effect": t})["accumulated"][-1] for t in tables]
    as_structs = pl.DataFrame({"effect": [[{"x": x, "y": y} for x, y in t] for t in tables]})
    as_lists = pl.DataFrame({"effect": [[[x, y] for x, y in t] for t in tables]})
    for df in (as_structs, as_lists):
        out = df.select(
            v=simlin.simulate(
                graphical, pl.struct("effect"), outputs=["accumulated"], reduce="final"
            )
        )
        assert out["v"].struct.field("accumulated").to_list() == expected


def test_empty_frame(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: []}, schema={ROOM: pl.Float64})
    out = df.select(v=simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP]))
    assert out.height == 0
    assert out.schema["v"] == pl.List(pl.Struct({"time": pl.Float64, CUP: pl.Float64}))


def test_outputs_none_gives_stocks_and_flows(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: [60.0]})
    out = df.select(v=simlin.simulate(teacup, pl.struct(ROOM), outputs=None, reduce="final"))
    assert out.schema["v"] == pl.Struct({CUP: pl.Float64, LOSS: pl.Float64})


# --- errors -------------------------------------------------------------------------


def test_unknown_parameter_field(teacup: simlin.Model) -> None:
    df = pl.DataFrame({"No Such Thing": [1.0]})
    with pytest.raises(pl.exceptions.ComputeError, match=r"No Such Thing.*no such variable"):
        df.select(
            simlin.simulate(teacup, pl.struct("No Such Thing"), outputs=[CUP], reduce="final")
        )


def test_unknown_output(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: [1.0]})
    with pytest.raises(pl.exceptions.ComputeError, match="nonexistent"):
        df.select(simlin.simulate(teacup, pl.struct(ROOM), outputs=["nonexistent"]))


def test_null_parameter_names_field_and_row(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: [60.0, 61.0, 62.0], TAU: [5.0, None, 7.0]})
    sim = simlin.simulate(teacup, pl.struct(ROOM, TAU), outputs=[CUP], reduce="final")
    with pytest.raises(pl.exceptions.ComputeError, match=f"'{TAU}' is null at row 1"):
        df.select(sim)


def test_null_parameter_with_on_error_null(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: [60.0, 61.0, None, 63.0], TAU: [5.0, None, 6.0, 7.0]})
    for reduce in ("final", None):
        out = df.select(
            v=simlin.simulate(
                teacup, pl.struct(ROOM, TAU), outputs=[CUP], reduce=reduce, on_error="null", seed=2
            )
        )["v"]
        assert out.is_null().to_list() == [False, True, True, False]
        for r in (0, 3):
            res = teacup.run({ROOM: df[ROOM][r], TAU: df[TAU][r]}, seed=2 + r)
            if reduce is None:
                assert out[r].struct.field(CUP).to_list() == res[CUP].tolist()
            else:
                assert out[r][CUP] == res[CUP][-1]


def test_null_struct_row(teacup: simlin.Model) -> None:
    s = pl.Series("p", [{ROOM: 60.0}, None], dtype=pl.Struct({ROOM: pl.Float64}))
    df = pl.DataFrame([s])
    with pytest.raises(pl.exceptions.ComputeError, match="row 1"):
        df.select(simlin.simulate(teacup, "p", outputs=[CUP], reduce="final"))
    out = df.select(v=simlin.simulate(teacup, "p", outputs=[CUP], reduce="final", on_error="null"))
    assert out["v"].is_null().to_list() == [False, True]


def test_failed_run() -> None:
    model = simlin.Project.from_xmile(DIVERGING).main_model
    df = pl.DataFrame({"k": [1.0, 0.0, 2.0]})
    with pytest.raises(pl.exceptions.ComputeError, match=r"run 1 failed.*level"):
        df.select(simlin.simulate(model, pl.struct("k"), outputs=["level"], reduce="final"))
    out = df.select(
        v=simlin.simulate(model, pl.struct("k"), outputs=["level"], reduce="final", on_error="null")
    )["v"].struct.field("level")
    assert out.to_list() == [5.0, None, 3.0]


def test_bad_field_type(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: ["warm"]})
    with pytest.raises(pl.exceptions.ComputeError, match=f"'{ROOM}' has type str"):
        df.select(simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP], reduce="final"))


def test_not_a_struct(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: [60.0]})
    with pytest.raises(pl.exceptions.ComputeError, match="struct column"):
        df.select(simlin.simulate(teacup, pl.col(ROOM), outputs=[CUP], reduce="final"))


@pytest.mark.parametrize(
    ("reduce", "exc"),
    [
        ("last", SimlinArgumentError),
        ({"when": 3}, SimlinArgumentError),
        ({"at": "3"}, SimlinTypeError),
        (3, SimlinTypeError),
    ],
)
def test_bad_reduce(teacup: simlin.Model, reduce: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="reduce"):
        simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP], reduce=reduce)  # type: ignore[arg-type]


def test_reduce_at_outside_the_run(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: [60.0]})
    with pytest.raises(pl.exceptions.ComputeError, match="outside the saved times"):
        df.select(simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP], reduce={"at": 1e6}))


def test_bad_arguments(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinTypeError, match="model"):
        simlin.simulate("teacup", pl.struct(ROOM), outputs=[CUP])  # type: ignore[arg-type]
    with pytest.raises(SimlinTypeError, match="params"):
        simlin.simulate(teacup, 3, outputs=[CUP])  # type: ignore[arg-type]
    with pytest.raises(SimlinArgumentError, match="on_error"):
        simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP], on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(SimlinArgumentError, match="seed"):
        simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP], seed=-1)
    with pytest.raises(SimlinArgumentError, match="outputs"):
        simlin.simulate(teacup, pl.struct(ROOM), outputs=[])
    df = pl.DataFrame({ROOM: [60.0]})
    with pytest.raises(pl.exceptions.ComputeError, match="method"):
        df.select(simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP], method="leapfrog"))


# --- the handle registry ------------------------------------------------------------


def test_one_handle_per_model_released_with_the_model(teacup_path: Path) -> None:
    from simlin import _simlin

    gc.collect()
    before = _simlin._registered_models()
    model = simlin.load(teacup_path)
    e1 = simlin.simulate(model, pl.struct(ROOM), outputs=[CUP], reduce="final")
    e2 = simlin.simulate(model, pl.struct(ROOM), outputs=[CUP], reduce="max")
    assert _simlin._registered_models() == before + 1
    df = pl.DataFrame({ROOM: [60.0]})
    assert df.select(e1).height == 1
    del model
    gc.collect()
    assert _simlin._registered_models() == before
    with pytest.raises(pl.exceptions.ComputeError, match="unknown model handle"):
        df.select(e2)
