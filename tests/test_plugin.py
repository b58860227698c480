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


def test_import_simlin_leaves_polars_and_numpy_until_used(teacup_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, simlin\n"
        "for lib in ('polars', 'numpy', 'pandas', 'pyarrow'):\n"
        "    assert lib not in sys.modules, f'import simlin imported {lib}'\n"
        "m = simlin.load(sys.argv[1])\n"
        "r = m.run({'Room Temperature': 60})\n"
        "assert 'numpy' not in sys.modules, 'load and run imported numpy'\n"
        "assert r['Teacup Temperature'][0] == 180.0\n"
        "import polars as pl\n"
        "assert hasattr(pl.col('a'), 'simlin'), 'namespace not registered'\n"
        "assert callable(simlin.simulate)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(teacup_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


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


def test_seed_per_row_from_the_run_key(tmp_path: Path) -> None:
    model = simlin.Project.from_xmile(NOISY).main_model
    df = pl.DataFrame({"drift": [0.0, 0.0, 0.5, 0.0], "init": [5, 5, 1, 5], "run": [7, 8, 9, 10]})
    out = df.select(
        v=simlin.simulate(
            model,
            pl.struct("drift", "init"),
            outputs=["level"],
            reduce="final",
            seed=11,
            run="run",
        )
    )["v"].struct.field("level")
    expected = [
        model.run(row, seed=11 + key)["level"][-1]
        for key, row in zip(df["run"], rows(df, ["drift", "init"]), strict=True)
    ]
    assert out.to_list() == expected
    # Rows with equal parameters still differ: each row has its own seed.
    assert expected[0] != expected[1]
    # A model with random functions needs the key.
    with pytest.raises(SimlinArgumentError, match="run"):
        simlin.simulate(model, pl.struct("drift", "init"), outputs=["level"])


def test_string_run_keys_sweep_and_run_seed_agree() -> None:
    model = simlin.Project.from_xmile(NOISY).main_model
    keys = ["north", "south", "east", "west"]
    df = pl.DataFrame({"run": keys, "drift": [0.0] * 4, "init": [5.0] * 4})
    plugged = df.select(
        v=simlin.simulate(
            model, pl.struct("drift", "init"), outputs=["level"], reduce="final", seed=3, run="run"
        )
    )["v"].struct.field("level")
    swept = model.sweep(df, outputs=["level"], reduce="final", seed=3)
    assert swept.get_column("run").cast(pl.String).to_list() == keys
    assert swept.get_column("level").to_list() == plugged.to_list()
    # The same rows in another order keep their numbers.
    back = model.sweep(df.reverse(), outputs=["level"], reduce="final", seed=3)
    assert back.get_column("level").to_list() == plugged.to_list()[::-1]
    for key, got in zip(keys, plugged, strict=True):
        seed = simlin.run_seed(3, key)
        assert model.run({"drift": 0.0, "init": 5.0}, seed=seed)["level"][-1] == got
    assert simlin.run_seed(3, 7) == 10
    assert simlin.run_seed(2**64 - 1, 1) == 0
    # FNV-1a 64 of "a" (a published test vector), plus the base seed.
    assert simlin.run_seed(0, "a") == 0xAF63DC4C8601EC8C
    with pytest.raises(SimlinTypeError):
        simlin.run_seed(0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(SimlinArgumentError):
        simlin.run_seed(0, 2**70)


def test_random_streams_follow_the_row_however_polars_splits_it() -> None:
    model = simlin.Project.from_xmile(NOISY).main_model
    n = 4000
    df = pl.DataFrame({"drift": np.zeros(n), "init": np.full(n, 5.0)}).with_row_index("run")
    expr = simlin.simulate(
        model, pl.struct("drift", "init"), outputs=["level"], reduce="final", run="run"
    )
    whole = df.select(v=expr)["v"].struct.field("level")
    assert whole.n_unique() == n
    chunks = pl.concat([df.slice(i, 1000) for i in range(0, n, 1000)], rechunk=False)
    assert chunks.n_chunks() == 4
    split = chunks.select(v=expr)["v"].struct.field("level")
    assert split.to_list() == whole.to_list()
    streamed = df.lazy().select(v=expr).collect(engine="streaming")["v"].struct.field("level")
    assert streamed.to_list() == whole.to_list()
    strings = df.with_columns(pl.col("run").cast(pl.String).alias("key"))
    keyed = strings.select(
        v=simlin.simulate(
            model, pl.struct("drift", "init"), outputs=["level"], reduce="final", run="key"
        )
    )["v"].struct.field("level")
    assert keyed.n_unique() == n


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


@pytest.mark.parametrize(
    "dtype", ["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32"]
)
def test_every_number_type_reads_as_its_value(teacup: simlin.Model, dtype: str) -> None:
    df = pl.DataFrame({ROOM: [60, 70, 20], TAU: [5, 10, 12]}).with_columns(
        pl.col(ROOM, TAU).cast(getattr(pl, dtype))
    )
    out = df.select(v=simlin.simulate(teacup, pl.struct(ROOM, TAU), outputs=[CUP], reduce="final"))
    expected = [teacup.run({ROOM: r, TAU: t})[CUP][-1] for r, t in [(60, 5), (70, 10), (20, 12)]]
    assert out["v"].struct.field(CUP).to_list() == expected


def test_booleans_read_as_zero_and_one(teacup: simlin.Model) -> None:
    df = pl.DataFrame({ROOM: [True, False]})
    out = df.select(v=simlin.simulate(teacup, pl.struct(ROOM), outputs=[CUP], reduce="final"))
    expected = [teacup.run({ROOM: r})[CUP][-1] for r in (1.0, 0.0)]
    assert out["v"].struct.field(CUP).to_list() == expected


def test_chunked_and_sliced_inputs_keep_their_rows(graphical: simlin.Model) -> None:
    tables = [[(0.0, float(i)), (2.0, 10.0 - i), (4.0, 0.5 * i)] for i in range(6)]
    # Integer x and Float32 y (exact here), read as f64.
    pts = pl.DataFrame(
        {"effect": [[{"x": int(x), "y": y} for x, y in t] for t in tables]},
        schema={"effect": pl.List(pl.Struct({"x": pl.Int32, "y": pl.Float32}))},
    )
    rounded = [[(x, float(np.float32(y))) for x, y in t] for t in tables]
    assert rounded == tables
    expected = [graphical.run({"effect": t})["accumulated"][-1] for t in tables]
    lists = pl.DataFrame(
        {"effect": [[[x, y] for x, y in t] for t in tables]},
        schema={"effect": pl.List(pl.List(pl.Float64))},
    )
    expr = simlin.simulate(graphical, pl.struct("effect"), outputs=["accumulated"], reduce="final")
    for df in (pts, lists):
        whole = df.select(v=expr)["v"].struct.field("accumulated").to_list()
        assert whole == expected
        chunks = pl.concat([df.slice(0, 2), df.slice(2, 3), df.slice(5, 1)], rechunk=False)
        assert chunks.n_chunks() == 3
        assert chunks.select(v=expr)["v"].struct.field("accumulated").to_list() == expected
        # A slice's offsets: its rows, not the first ones of the buffer.
        tail = df.slice(3, 3).select(v=expr)["v"].struct.field("accumulated").to_list()
        assert tail == expected[3:]


def test_categorical_enum_and_small_integer_run_keys() -> None:
    model = simlin.Project.from_xmile(NOISY).main_model
    keys = ["north", "south", "east", "west"]
    df = pl.DataFrame({"key": keys, "n": [7, 8, 9, 250], "drift": [0.0] * 4, "init": [5.0] * 4})

    def finals(run: Any) -> list[float]:
        expr = simlin.simulate(
            model, pl.struct("drift", "init"), outputs=["level"], reduce="final", seed=3, run=run
        )
        out: list[float] = df.select(v=expr)["v"].struct.field("level").to_list()
        return out

    by_string = finals("key")
    assert by_string == [
        model.run({"drift": 0.0, "init": 5.0}, seed=simlin.run_seed(3, k))["level"][-1]
        for k in keys
    ]
    assert finals(pl.col("key").cast(pl.Categorical)) == by_string
    assert finals(pl.col("key").cast(pl.Enum(["west", "east", "south", "north"]))) == by_string
    by_int = finals("n")
    assert finals(pl.col("n").cast(pl.UInt8)) == by_int
    assert finals(pl.col("n").cast(pl.Int16)) == by_int
    with pytest.raises(pl.exceptions.ComputeError, match="does not fit"):
        finals(pl.col("n").cast(pl.UInt64) + 2**63)
    with pytest.raises(pl.exceptions.ComputeError, match="dtype f64"):
        finals(pl.col("n").cast(pl.Float64))


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
        ([3], SimlinTypeError),
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


# --- models travel with the expression --------------------------------------------

_OTHER_PROCESS = """
import io, sys, polars as pl, simlin
XM = (
    '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">'
    '<sim_specs><start>0</start><stop>30</stop><dt>0.125</dt></sim_specs><model><variables>'
    '<stock name="Teacup Temperature"><eqn>-1000</eqn><inflow>f</inflow></stock>'
    '<flow name="f"><eqn>Room_Temperature</eqn></flow>'
    '<aux name="Room Temperature"><eqn>1</eqn></aux></variables></model></xmile>'
)
other = simlin.Project.from_xmile(XM).main_model
pl.DataFrame({"Room Temperature": [1.0]}).select(
    simlin.simulate(other, pl.struct("Room Temperature"), outputs=["Teacup Temperature"])
)
lf = pl.LazyFrame.deserialize(io.BytesIO(sys.stdin.buffer.read()))
print(lf.collect()["out"].struct.field("Teacup Temperature").to_list())
"""


def test_expression_carries_its_model(teacup_path: Path) -> None:
    from simlin import _simlin

    gc.collect()
    before = _simlin._registered_models()
    model = simlin.load(teacup_path)
    e1 = simlin.simulate(model, pl.struct(ROOM), outputs=[CUP], reduce="final")
    e2 = simlin.simulate(model, pl.struct(ROOM), outputs=[CUP], reduce="max")
    assert _simlin._registered_models() == before + 1
    df = pl.DataFrame({ROOM: [60.0]})
    first = df.select(e1)
    del model
    gc.collect()
    # The model is gone, but the expression carries its source: evaluating
    # compiles it again (once) and gives the same numbers.
    assert df.select(e1).equals(first)
    assert df.select(e2).height == 1


def test_serialized_query_runs_its_own_model_in_another_process(teacup_path: Path) -> None:
    import io
    import subprocess
    import sys

    model = simlin.load(teacup_path)
    lf = pl.LazyFrame({ROOM: [60.0, 70.0]}).with_columns(
        out=simlin.simulate(model, pl.struct(ROOM), outputs=[CUP], reduce="final")
    )
    expected = lf.collect()["out"].struct.field(CUP).to_list()
    blob = lf.serialize()
    assert isinstance(blob, bytes)
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS], input=blob, capture_output=True, check=True
    )
    assert done.stdout.decode().strip() == str(expected)
    # Polars' own round trip in this process gives the same too.
    again = pl.LazyFrame.deserialize(io.BytesIO(blob)).collect()
    assert again["out"].struct.field(CUP).to_list() == expected


# A Dask task that evaluates serialized queries on a worker, after building
# an expression of its own first (so the worker's model cache holds another
# model before the query's). Defined from text so that Dask ships the code
# itself, not a reference to this test module, which workers cannot import.
_DASK_TASK = """
def evaluate(blobs, other_xmile):
    import io, polars as pl, simlin
    other = simlin.Project.from_xmile(other_xmile).main_model
    pl.DataFrame({"Room Temperature": [1.0]}).select(
        simlin.simulate(other, pl.struct("Room Temperature"), outputs=["Teacup Temperature"])
    )
    return [
        pl.LazyFrame.deserialize(io.BytesIO(b)).collect()["out"]
        .struct.field("Teacup Temperature").to_list()
        for b in blobs
    ]
"""


def test_queries_on_a_dask_cluster_run_their_own_models(teacup_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    namespace: dict[str, Any] = {"__name__": "simlin_dask_task"}
    exec(_DASK_TASK, namespace)
    evaluate = namespace["evaluate"]
    other_xmile = (
        '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">'
        "<sim_specs><start>0</start><stop>30</stop><dt>0.125</dt></sim_specs><model><variables>"
        '<stock name="Teacup Temperature"><eqn>-1000</eqn><inflow>f</inflow></stock>'
        '<flow name="f"><eqn>Room_Temperature</eqn></flow>'
        '<aux name="Room Temperature"><eqn>1</eqn></aux></variables></model></xmile>'
    )
    teacup = simlin.load(teacup_path)
    other = simlin.Project.from_xmile(other_xmile).main_model
    frame = pl.LazyFrame({ROOM: [60.0, 70.0]})
    queries = [
        frame.with_columns(out=simlin.simulate(m, pl.struct(ROOM), outputs=[CUP], reduce="final"))
        for m in (teacup, other)
    ]
    expected = [q.collect()["out"].struct.field(CUP).to_list() for q in queries]
    assert expected[0] != expected[1]
    blobs = [q.serialize() for q in queries]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # Both orders, on every worker: a query never picks up the other model.
        futures = [
            client.submit(evaluate, order, other_xmile, pure=False, workers=[w])
            for w in client.scheduler_info()["workers"]
            for order in (blobs, blobs[::-1])
        ]
        results = client.gather(futures)
    for i, got in enumerate(results):
        assert got == (expected if i % 2 == 0 else expected[::-1])


def test_reduce_and_outputs_take_the_sweeps_forms(teacup: simlin.Model) -> None:
    df = params_frame()
    at = df.select(v=simlin.simulate(teacup, pl.struct(ROOM, TAU), reduce={"at": 7.25}))
    bare = df.select(v=simlin.simulate(teacup, pl.struct(ROOM, TAU), reduce=7.25))
    assert at.equals(bare)
    # outputs default to the stocks and flows, as in Model.sweep.
    swept = teacup.sweep(df.select(ROOM, TAU), reduce={"at": 7.25})
    assert swept.equals(teacup.sweep(df.select(ROOM, TAU), reduce=7.25))
    fields = bare.unnest("v")
    assert fields.columns == [c for c in swept.columns if c != "run"]
    for name in fields.columns:
        assert fields[name].to_list() == swept[name].to_list()
