"""Sweeps with whichever table library is installed: Polars, pandas or pyarrow.

``to=`` picks the returned table; parameter tables are read with their own
library. The tests that matter most run with Polars made unimportable
(``without``), as on a machine that has only pandas or only pyarrow; the
same file runs in CI inside a virtual environment that really lacks Polars
(``scripts/dev.sh test``), where that fixture has nothing to hide.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simlin
from simlin import ErrorCode, SimlinError, SimlinTypeError

pa: Any = None
try:
    import pyarrow

    pa = pyarrow
except ImportError:  # the pandas-only CI environment
    pass

needs_arrow = pytest.mark.skipif(pa is None, reason="pyarrow is not installed")


CT = "Characteristic Time"
RT = "Room Temperature"
CUP = "Teacup Temperature"


def teacup_params() -> pd.DataFrame:
    frame: pd.DataFrame = pd.DataFrame({CT: [5.0, 10.0, 12.5, 20.0, 7.0], RT: [60, 70, 65, 80, 75]})
    return frame


@pytest.fixture
def without() -> Iterator[Any]:
    """``without("polars", ...)`` makes those packages unimportable for one test."""
    saved: dict[str, Any] = {}

    def hide(*names: str) -> None:
        for name in names:
            for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
                saved.setdefault(key, sys.modules[key])
            saved.setdefault(name, sys.modules.get(name))
            sys.modules[name] = None  # type: ignore[assignment]

    yield hide
    for key, module in saved.items():
        if module is None:
            sys.modules.pop(key, None)
        else:
            sys.modules[key] = module


def expected_long(model: simlin.Model, params: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    """The long frame built by hand from single runs (run r has seed r)."""
    rows: list[pd.DataFrame] = []
    for r, row in enumerate(params.to_dict("records")):
        res = model.run(overrides={str(k): v for k, v in row.items()}, seed=r)
        times = np.repeat(res.times, len(outputs))
        values = np.column_stack([res[o] for o in outputs]).ravel()
        rows.append(
            pd.DataFrame(
                {
                    "run": np.full(len(times), r, dtype=np.int64),
                    "time": times,
                    "variable": np.tile(outputs, len(res.times)),
                    "value": values,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


# ---- to= ----


def test_pandas_long_frame_is_the_single_runs(teacup: simlin.Model, without: Any) -> None:
    without("polars")
    params = teacup_params()
    got = teacup.sweep(params, outputs=[CUP, "Heat Loss to Room"], to="pandas")
    assert isinstance(got, pd.DataFrame)
    assert list(got.columns) == ["run", "time", "variable", "value"]
    assert got["run"].dtype == np.int64 and got["value"].dtype == np.float64
    assert isinstance(got["variable"].dtype, pd.CategoricalDtype)
    assert list(got["variable"].cat.categories) == [CUP, "Heat Loss to Room"]
    want = expected_long(teacup, params, [CUP, "Heat Loss to Room"])
    got = got.assign(variable=got["variable"].astype(object))
    pd.testing.assert_frame_equal(got, want.assign(variable=want["variable"].astype(object)))


def test_pandas_long_frame_owns_its_columns(teacup: simlin.Model) -> None:
    """The number columns are handed over whole: writable, each its own buffer."""
    from simlin.sweep import start_sweep, to_frame

    params = teacup_params()
    want = expected_long(teacup, params, [CUP])
    frame = start_sweep(teacup, params, outputs=[CUP])._native.result()
    got = to_frame(frame, "pandas")
    pd.testing.assert_frame_equal(
        got.assign(variable=got["variable"].astype(object)),
        want.assign(variable=want["variable"].astype(object)),
    )
    assert not np.shares_memory(got["time"].to_numpy(), got["value"].to_numpy())
    got.loc[0, "value"] = -1.0
    got.loc[1, "run"] = 99
    got.loc[2, "time"] = 0.5
    assert got["value"].iloc[0] == -1.0 and got["run"].iloc[1] == 99
    assert got["time"].iloc[2] == 0.5
    assert got["value"].iloc[1:].equals(want["value"].iloc[1:])
    # The native frame gave its columns away: converting it again is an
    # error that says so, not a crash or a frame of empty columns.
    with pytest.raises(simlin.SimlinArgumentError, match="taken out"):
        frame.__arrow_c_stream__()
    with pytest.raises(simlin.SimlinArgumentError, match="taken out"):
        frame.renamed({}, {})


def test_pandas_wide_frame_shares_one_buffer_safely(teacup: simlin.Model) -> None:
    """A reduced frame's outputs slice one buffer: pandas copies them (writable)."""
    got = teacup.sweep(teacup_params(), reduce="final", to="pandas")
    before = got.copy()
    got.loc[0, CUP] = -1.0
    assert got[CUP].iloc[0] == -1.0
    assert got.drop(columns=CUP).equals(before.drop(columns=CUP))


def test_default_frame_follows_what_is_installed(teacup: simlin.Model, without: Any) -> None:
    params = teacup_params()
    pl = pytest.importorskip("polars")
    assert isinstance(teacup.sweep(params, reduce="final"), pl.DataFrame)
    without("polars")
    assert isinstance(teacup.sweep(params, reduce="final"), pd.DataFrame)
    if pa is not None:
        without("pandas")
        assert isinstance(teacup.sweep({CT: [5.0, 6.0]}, reduce="final"), pa.Table)
    without("pyarrow", "pandas")
    with pytest.raises(simlin.SimlinArgumentError, match="pip install polars"):
        teacup.sweep({CT: [5.0]}, reduce="final")


def test_bad_to(teacup: simlin.Model) -> None:
    with pytest.raises(simlin.SimlinArgumentError, match="'polars', 'pandas' or 'arrow'"):
        teacup.sweep({CT: [5.0]}, to="numpy")  # type: ignore[call-overload]


def test_frames_agree_across_libraries(teacup: simlin.Model) -> None:
    """Polars, pandas and pyarrow hold the same numbers in the same layout."""
    pl = pytest.importorskip("polars")
    if pa is None:
        pytest.skip("pyarrow is not installed")
    params = teacup_params().assign(run=["a", "b", "c", "d", "e"])
    for reduce in (None, "final", 12.5):
        polars_frame = teacup.sweep(params, reduce=reduce, to="polars")
        arrow = teacup.sweep(params, reduce=reduce, to="arrow")
        pandas_frame = teacup.sweep(params, reduce=reduce, to="pandas")
        assert isinstance(arrow, pa.Table)
        assert pl.from_arrow(arrow).equals(polars_frame)
        pd.testing.assert_frame_equal(
            pandas_frame, polars_frame.to_pandas(), check_categorical=False
        )
        assert isinstance(pandas_frame["run"].dtype, pd.CategoricalDtype)
        assert list(pandas_frame["run"].cat.categories) == ["a", "b", "c", "d", "e"]


def test_failed_runs_are_nan_in_pandas(without: Any, fragile: simlin.Model) -> None:
    without("polars")
    model = fragile
    params = pd.DataFrame({"divisor": [2.0, 0.0, 4.0]})
    with pytest.warns(simlin.SweepFailureWarning):
        long = model.sweep(params, on_error="null", to="pandas")
    failed = long[long["run"] == 1]["value"]
    assert len(failed) > 0 and failed.isna().all()
    good = long[(long["run"] == 2) & (long["variable"] == "level")]["value"].to_numpy()
    np.testing.assert_array_equal(good, model.run(overrides={"divisor": 4.0}, seed=2)["level"])
    with pytest.warns(simlin.SweepFailureWarning):
        wide = model.sweep(params, on_error="null", reduce="final", to="pandas")
    assert wide["level"].isna().tolist() == [False, True, False]


def test_job_result_to(teacup: simlin.Model, without: Any) -> None:
    without("polars")
    job = simlin.start_sweep(teacup, teacup_params(), reduce="final")
    wide = job.result(to="pandas")
    assert list(wide.columns) == ["run", *teacup.sweep(teacup_params(), reduce="final").columns[1:]]
    assert wide["run"].tolist() == [0, 1, 2, 3, 4]


# ---- parameter tables without Polars ----


def test_pandas_tables_read_without_polars(teacup: simlin.Model, without: Any) -> None:
    without("polars")
    params = teacup_params()
    want = teacup.sweep(params, reduce="final", to="pandas")
    # Extension dtypes, an index named "run", unsigned ints.
    ext = params.astype({CT: "Float64", RT: "Int64"})
    pd.testing.assert_frame_equal(teacup.sweep(ext, reduce="final", to="pandas"), want)
    indexed = params.set_axis(pd.Index([7, 8, 9, 10, 11], name="run"))
    assert teacup.sweep(indexed, reduce="final", to="pandas")["run"].tolist() == [7, 8, 9, 10, 11]
    assert teacup.sweep(params.astype({RT: "uint16"}), reduce="final", to="pandas").equals(want)


def test_mapping_and_numpy_tables(teacup: simlin.Model, without: Any) -> None:
    without("polars")
    want = teacup.sweep(teacup_params(), reduce="final", to="pandas")
    as_lists = {CT: [5.0, 10.0, 12.5, 20.0, 7.0], RT: [60, 70, 65, 80, 75]}
    as_arrays = {k: np.asarray(v) for k, v in as_lists.items()}
    for table in (as_lists, as_arrays):
        pd.testing.assert_frame_equal(teacup.sweep(table, reduce="final", to="pandas"), want)
    labelled = teacup.sweep({**as_lists, "run": list("vwxyz")}, reduce="final", to="pandas")
    assert labelled["run"].astype(str).tolist() == list("vwxyz")
    with pytest.raises(SimlinError, match="differ in length") as e:
        teacup.sweep({CT: [1.0, 2.0], RT: [1.0]}, to="pandas")
    assert e.value.code is ErrorCode.BAD_PARAMETER


@needs_arrow
def test_arrow_tables_read_without_polars(teacup: simlin.Model, without: Any) -> None:
    without("polars")
    want = teacup.sweep(teacup_params(), reduce="final", to="pandas")
    table = pa.table(
        {CT: [5.0, 10.0, 12.5, 20.0, 7.0], RT: pa.array([60, 70, 65, 80, 75], pa.int32())}
    )
    got = teacup.sweep(table, reduce="final", to="arrow")
    assert isinstance(got, pa.Table)
    pd.testing.assert_frame_equal(got.to_pandas(), want)
    dictionary = table.append_column("run", pa.array(list("abcde")).dictionary_encode())
    runs = teacup.sweep(dictionary, reduce="final", to="pandas")["run"]
    assert runs.astype(str).tolist() == list("abcde")


def test_graphical_function_columns(graphical: simlin.Model, without: Any) -> None:
    without("polars")
    tables = [[(0.0, 1.0), (4.0, 1.0)], [(0.0, 0.0), (2.0, 5.0), (4.0, 0.0)]]
    outputs = ["accumulated", "effect"]
    got = graphical.sweep(pd.DataFrame({"effect": tables}), outputs=outputs, to="pandas")
    for r, pts in enumerate(tables):
        res = graphical.run(overrides={"effect": pts})
        mine = got[(got["run"] == r) & (got["variable"] == "accumulated")]["value"].to_numpy()
        np.testing.assert_array_equal(mine, res["accumulated"])
    as_arrays = {"effect": [np.asarray(t) for t in tables]}
    pd.testing.assert_frame_equal(graphical.sweep(as_arrays, outputs=outputs, to="pandas"), got)
    if pa is not None:
        structs = pa.table({"effect": [[{"x": x, "y": y} for x, y in t] for t in tables]})
        pd.testing.assert_frame_equal(graphical.sweep(structs, outputs=outputs, to="pandas"), got)
    with pytest.raises(SimlinError, match="row 1") as e:
        graphical.sweep({"effect": [tables[0], [(0.0, "x")]]}, to="pandas")
    assert e.value.code is ErrorCode.BAD_PARAMETER


@pytest.mark.parametrize(
    ("column", "error", "row"),
    [
        (pd.Series([5.0, None, 7.0]), SimlinError, 1),
        (pd.Series([5.0, 6.0, float("nan")]), SimlinError, 2),
        (pd.Series([5, None, 7], dtype="Int64"), SimlinError, 1),
        (pd.Series(["a", "b", "c"]), SimlinTypeError, None),
        (pd.Series([True, False, True]), SimlinTypeError, None),
    ],
)
def test_bad_pandas_columns_name_column_and_row(
    teacup: simlin.Model,
    without: Any,
    column: pd.Series,
    error: type[SimlinError],
    row: int | None,
) -> None:
    without("polars")
    with pytest.raises(error) as e:
        teacup.sweep(pd.DataFrame({CT: column}), to="pandas")
    assert e.value.code is ErrorCode.BAD_PARAMETER
    assert f"'{CT}'" in str(e.value)
    if row is not None:
        assert f"row {row}" in str(e.value)


def test_duplicate_pandas_columns(teacup: simlin.Model, without: Any) -> None:
    without("polars")
    frame = pd.DataFrame([[1.0, 2.0]], columns=[CT, CT])
    with pytest.raises(SimlinError, match="more than once"):
        teacup.sweep(frame, to="pandas")


# ---- loops and Parquet without Polars ----


def test_loop_sweeps_in_pandas(teacup: simlin.Model, without: Any) -> None:
    pl = pytest.importorskip("polars")
    params = teacup_params()
    want_rel = teacup.sweep(params, ltm="relative")
    want_dom = teacup.sweep(params, ltm="dominance")
    assert isinstance(want_rel, pl.DataFrame)
    without("polars")
    rel = teacup.sweep(params, ltm="relative", to="pandas")
    assert list(rel.columns) == ["run", "time", "loop", "relative_score"]
    pd.testing.assert_frame_equal(rel, want_rel.to_pandas(), check_categorical=False)
    dom = teacup.sweep(params, ltm="dominance", to="pandas")
    assert dom["loops"].map(list).tolist() == want_dom.get_column("loops").to_list()
    np.testing.assert_array_equal(dom["start"].to_numpy(), want_dom.get_column("start").to_numpy())
    final = teacup.sweep(params, ltm="relative", reduce="final", to="pandas")
    assert list(final.columns[1:]) == list(want_rel.schema["loop"].categories)


def test_native_frame_columns_by_index(teacup: simlin.Model) -> None:
    from simlin.sweep import start_sweep

    _, names = teacup._native.ltm_loops("previous")
    job = start_sweep(teacup, teacup_params(), _ltm="dominance", outputs=names)
    frame = job._native.dominance()
    assert frame.columns == ["run", "partition", "start", "end", "loops"]
    # Numbers are NumPy views; the loop lists are Python objects.
    assert frame.object_column(0) is None
    runs = np.asarray(frame.numpy_column(0)[0])
    lists = frame.object_column(4)
    assert lists is not None and len(lists) == len(runs) == len(frame)
    assert all(isinstance(ids, list) and ids for ids in lists)
    for bad in (frame.numpy_column, frame.object_column):
        with pytest.raises(simlin.SimlinArgumentError, match="column index 5 out of range"):
            bad(5)


@needs_arrow
def test_parquet_sink_without_polars(teacup: simlin.Model, without: Any, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow.parquet")
    import pyarrow.dataset as ds

    want = teacup.sweep(teacup_params(), to="arrow")
    without("polars")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = teacup.sweep_to_parquet(teacup_params(), tmp_path / "out.parquet", rows_per_group=40)
    assert isinstance(got, ds.Dataset)
    table = got.to_table()
    assert table.num_rows == want.num_rows
    np.testing.assert_array_equal(table.column("value").to_numpy(), want.column("value").to_numpy())
    np.testing.assert_array_equal(table.column("run").to_numpy(), want.column("run").to_numpy())
