"""Model.sweep: parameter tables in, Polars frames out, identical to single runs."""

from __future__ import annotations

import io
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import simlin
from simlin import ErrorCode, SimlinError, SimlinRuntimeError, SimlinTypeError

TEACUP_PARAMS = pl.DataFrame(
    {
        "Characteristic Time": [5.0, 10.0, 12.5, 20.0, 7.0],
        "Room Temperature": [60.0, 70.0, 65.0, 80.0, 75.0],
    }
)

NOISY = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>noisy</name><vendor>simlin tests</vendor></header>
  <sim_specs><start>0</start><stop>10</stop><dt>0.5</dt></sim_specs>
  <model>
    <variables>
      <stock name="level"><eqn>base</eqn><inflow>noise</inflow></stock>
      <flow name="noise"><eqn>NORMAL(0, 1)</eqn></flow>
      <aux name="base"><eqn>1</eqn></aux>
    </variables>
  </model>
</xmile>
"""


def single_run(model: simlin.Model, overrides: dict[str, Any], seed: int) -> simlin.Results:
    return model.run(overrides=overrides, seed=seed)


def long_series(df: pl.DataFrame, run: object, variable: str) -> np.ndarray:
    sel = df.filter((pl.col("run") == run) & (pl.col("variable").cast(pl.String) == variable))
    return sel.get_column("value").to_numpy()


def check_identical(
    model: simlin.Model, params: pl.DataFrame, df: pl.DataFrame, outputs: list[str], seed: int
) -> None:
    for r, row in enumerate(params.iter_rows(named=True)):
        res = single_run(model, row, seed + r)
        for var in outputs:
            np.testing.assert_array_equal(long_series(df, r, var), res[var], strict=True)
        got_times = df.filter(pl.col("run") == r).get_column("time").unique(maintain_order=True)
        np.testing.assert_array_equal(got_times.to_numpy(), res.times)


@pytest.fixture
def sir(test_models: Path) -> simlin.Model:
    path = test_models / "samples" / "SIR" / "SIR.xmile"
    if not path.is_file():
        pytest.skip("SDXorg SIR sample not found")
    return simlin.load(path)


# ---- identical to single runs ----


def test_long_format_schema_and_order(teacup: simlin.Model) -> None:
    df = teacup.sweep(TEACUP_PARAMS)
    assert df.columns == ["run", "time", "variable", "value"]
    assert df.schema["run"] == pl.Int64
    assert df.schema["time"] == pl.Float64
    assert df.schema["variable"] == pl.Categorical
    assert df.schema["value"] == pl.Float64
    # Default outputs: stocks and flows only, in model order.
    first = df.filter((pl.col("run") == 0) & (pl.col("time") == 0.0))
    assert first.get_column("variable").cast(pl.String).to_list() == [
        "Teacup Temperature",
        "Heat Loss to Room",
    ]
    # Rows: run, then time, then variable.
    runs = df.get_column("run").to_numpy()
    assert np.all(np.diff(runs) >= 0)
    times = df.filter(pl.col("run") == 2).get_column("time").to_numpy()
    assert np.all(np.diff(times) >= 0)
    n_times = len(teacup.run().times)
    assert df.height == TEACUP_PARAMS.height * n_times * 2


def test_teacup_identical_to_single_runs(teacup: simlin.Model) -> None:
    df = teacup.sweep(TEACUP_PARAMS, seed=3)
    check_identical(teacup, TEACUP_PARAMS, df, ["Teacup Temperature", "Heat Loss to Room"], seed=3)


def test_sir_identical_to_single_runs(sir: simlin.Model) -> None:
    params = pl.DataFrame(
        {
            "contact_infectivity": [0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 0.2, 0.45, 0.8],
            "duration": [2.0, 3.0, 5.0, 4.0, 6.0, 8.0, 1.5, 2.5, 3.5],
        }
    )
    outputs = ["susceptible", "infectious", "recovered", "succumbing"]
    df = sir.sweep(params, outputs=outputs, seed=11)
    check_identical(sir, params, df, outputs, seed=11)


def test_random_model_uses_seed_plus_row() -> None:
    model = simlin.Project.from_xmile(NOISY).main_model
    params = pl.DataFrame({"base": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]})
    df = model.sweep(params, seed=100)
    check_identical(model, params, df, ["level", "noise"], seed=100)
    # Different rows really draw different numbers.
    assert not np.array_equal(long_series(df, 0, "noise"), long_series(df, 1, "noise"))


def test_threads_and_engines_bit_identical(sir: simlin.Model) -> None:
    rng = np.random.default_rng(7)
    params = pl.DataFrame(
        {
            "contact_infectivity": rng.uniform(0.2, 1.5, 203),
            "duration": rng.uniform(1.0, 8.0, 203),
        }
    )
    from simlin import sweep as sweep_module

    one = sir.sweep(params, threads=1)
    four = sir.sweep(params, threads=4)
    # The engine choices are for tests and benchmarks: not in Model.sweep.
    scalar = sweep_module.run_sweep(sir, params, threads=2, _engine="scalar")
    narrow = sweep_module.run_sweep(sir, params, _batch=2)
    for other in (four, scalar, narrow):
        assert one.equals(other)
        np.testing.assert_array_equal(
            one.get_column("value").to_numpy(), other.get_column("value").to_numpy()
        )


# ---- inputs ----


def test_pandas_input(teacup: simlin.Model) -> None:
    pdf = TEACUP_PARAMS.to_pandas()
    assert isinstance(pdf, pd.DataFrame)
    assert teacup.sweep(pdf).equals(teacup.sweep(TEACUP_PARAMS))


def test_pandas_index_as_run_ids(teacup: simlin.Model) -> None:
    pdf = TEACUP_PARAMS.to_pandas()
    pdf.index = pd.Index([11, 12, 13, 14, 15], name="run")
    df = teacup.sweep(pdf, reduce="final")
    assert df.get_column("run").to_list() == [11, 12, 13, 14, 15]
    pdf.index.name = None
    assert teacup.sweep(pdf, reduce="final").get_column("run").to_list() == [0, 1, 2, 3, 4]


def test_pyarrow_input(teacup: simlin.Model) -> None:
    table = pa.table(
        {
            "Characteristic Time": pa.array([5.0, 10.0, 12.5, 20.0, 7.0]),
            "Room Temperature": pa.array([60, 70, 65, 80, 75], pa.int32()),
        }
    )
    assert teacup.sweep(table).equals(teacup.sweep(TEACUP_PARAMS))


def test_mapping_input(teacup: simlin.Model) -> None:
    assert teacup.sweep(TEACUP_PARAMS.to_dict(as_series=False)).equals(teacup.sweep(TEACUP_PARAMS))


def test_run_id_column_carried(teacup: simlin.Model) -> None:
    labels = ["a", "b", "c", "d", "e"]
    params = TEACUP_PARAMS.with_columns(run=pl.Series(labels))
    df = teacup.sweep(params)
    assert df.get_column("run").cast(pl.String).unique(maintain_order=True).to_list() == labels
    plain = teacup.sweep(TEACUP_PARAMS)
    np.testing.assert_array_equal(
        df.get_column("value").to_numpy(), plain.get_column("value").to_numpy()
    )
    # Integer ids under another name, with run_id=.
    ids = TEACUP_PARAMS.with_columns(case=pl.Series([10, 20, 30, 40, 50]))
    wide = teacup.sweep(ids, run_id="case", reduce="final")
    assert wide.get_column("run").to_list() == [10, 20, 30, 40, 50]
    assert wide.schema["run"] == pl.Int64


def test_no_parameters_runs_each_row(teacup: simlin.Model) -> None:
    df = teacup.sweep(pl.DataFrame({"run": [7, 8]}), reduce="final")
    base = teacup.run()["Teacup Temperature"][-1]
    assert df.get_column("Teacup Temperature").to_list() == [base, base]


def test_graphical_function_parameter(graphical: simlin.Model) -> None:
    tables = [
        [(0.0, 1.0), (4.0, 1.0)],
        [(0.0, 0.0), (2.0, 5.0), (4.0, 0.0)],
        [(0.0, 3.0), (1.0, 2.0), (2.0, 1.0), (3.0, 0.0)],
    ]
    params = pl.DataFrame({"effect": tables})
    df = graphical.sweep(params, outputs=["accumulated", "effect"])
    for r, pts in enumerate(tables):
        res = graphical.run(overrides={"effect": pts})
        np.testing.assert_array_equal(long_series(df, r, "accumulated"), res["accumulated"])
        np.testing.assert_array_equal(long_series(df, r, "effect"), res["effect"])
    # Points as structs give the same result.
    structs = pl.DataFrame({"effect": [[{"x": x, "y": y} for x, y in pts] for pts in tables]})
    assert graphical.sweep(structs, outputs=["accumulated", "effect"]).equals(df)


# ---- reductions ----


@pytest.mark.parametrize("how", ["final", "max", "min", "mean", 7.0, 7.3])
def test_reduce_matches_numpy(sir: simlin.Model, how: Any) -> None:
    params = pl.DataFrame(
        {"contact_infectivity": [0.3, 0.6, 0.9, 1.2], "duration": [2.0, 3.0, 5.0, 4.0]}
    )
    outputs = ["susceptible", "infectious", "succumbing"]
    wide = sir.sweep(params, outputs=outputs, reduce=how)
    assert wide.columns == ["run", *outputs]
    for r, row in enumerate(params.iter_rows(named=True)):
        res = sir.run(overrides=row, seed=r)
        for var in outputs:
            series = res[var]
            if how == "final":
                expected = series[-1]
            elif how == "max":
                expected = series.max()
            elif how == "min":
                expected = series.min()
            elif how == "mean":
                expected = series.mean()
            else:
                expected = np.interp(float(how), res.times, series)
            got = wide.get_column(var)[r]
            if how in ("final", "max", "min") or how == 7.0:
                assert got == expected
            else:
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_reduce_bad_time(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as e:
        teacup.sweep(TEACUP_PARAMS, reduce=1e6)
    assert e.value.code is ErrorCode.BAD_SWEEP
    with pytest.raises(simlin.SimlinArgumentError):
        teacup.sweep(TEACUP_PARAMS, reduce="median")  # type: ignore[call-overload]


# ---- errors ----


def test_unknown_column(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as e:
        teacup.sweep(TEACUP_PARAMS.with_columns(Nope=pl.lit(1.0)))
    assert e.value.code is ErrorCode.BAD_PARAMETER
    assert e.value.variable == "Nope"
    assert "'Nope'" in str(e.value)


def test_string_column(teacup: simlin.Model) -> None:
    params = TEACUP_PARAMS.with_columns(pl.col("Room Temperature").cast(pl.String))
    with pytest.raises(SimlinTypeError) as e:
        teacup.sweep(params)
    assert e.value.code is ErrorCode.BAD_PARAMETER
    assert "'Room Temperature'" in str(e.value)
    assert "str" in str(e.value).lower()


def test_null_in_parameter(teacup: simlin.Model) -> None:
    params = pl.DataFrame({"Characteristic Time": [5.0, 6.0, None, 8.0]})
    with pytest.raises(SimlinError) as e:
        teacup.sweep(params)
    assert e.value.code is ErrorCode.BAD_PARAMETER
    assert "'Characteristic Time', row 2" in str(e.value)
    nan = pl.DataFrame({"Characteristic Time": [5.0, float("nan")]})
    with pytest.raises(SimlinError, match="row 1") as e:
        teacup.sweep(nan)
    assert e.value.code is ErrorCode.BAD_PARAMETER


def test_unsorted_lookup(graphical: simlin.Model) -> None:
    params = pl.DataFrame(
        {"effect": [[(0.0, 1.0), (4.0, 1.0)], [(0.0, 1.0), (3.0, 2.0), (2.0, 0.0)]]}
    )
    with pytest.raises(SimlinRuntimeError) as e:
        graphical.sweep(params)
    assert e.value.code is ErrorCode.BAD_PARAMETER
    assert "'effect', row 1" in str(e.value)
    assert "ascending" in str(e.value)


def test_unknown_output_and_bad_options(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as e:
        teacup.sweep(TEACUP_PARAMS, outputs=["nope"])
    assert e.value.code is ErrorCode.UNKNOWN_OUTPUT
    with pytest.raises(simlin.SimlinArgumentError):
        teacup.sweep(TEACUP_PARAMS, threads=0)
    with pytest.raises(simlin.SimlinArgumentError):
        teacup.sweep(TEACUP_PARAMS, on_error="ignore")  # type: ignore[call-overload]
    with pytest.raises(SimlinTypeError):
        teacup.sweep([1, 2, 3])
    with pytest.raises(simlin.SimlinArgumentError, match="run_id"):
        teacup.sweep(TEACUP_PARAMS, run_id="case")


def test_failed_run_raise_and_null(fragile: simlin.Model) -> None:
    model = fragile
    params = pl.DataFrame({"divisor": [2.0, 0.0, 4.0, 0.0, 1.0]})
    with pytest.raises(SimlinRuntimeError) as e:
        model.sweep(params)
    assert e.value.code is ErrorCode.RUN_FAILED
    assert "run 1" in str(e.value)
    assert e.value.variable == "level"

    with pytest.warns(simlin.SweepFailureWarning) as caught:
        df = model.sweep(params, on_error="null")
    # Nothing lost: every good row is in the frame, every failed one named.
    warning = caught[0].message
    assert isinstance(warning, simlin.SweepFailureWarning)
    assert [(row, var) for row, var, _ in warning.failures] == [(1, "level"), (3, "level")]
    assert "2 of 5 runs failed" in str(warning)
    for r in (1, 3):
        values = df.filter(pl.col("run") == r).get_column("value")
        assert values.null_count() == values.len() > 0
    for r, d in ((0, 2.0), (2, 4.0), (4, 1.0)):
        res = model.run(overrides={"divisor": d}, seed=r)
        np.testing.assert_array_equal(long_series(df, r, "level"), res["level"])
        np.testing.assert_array_equal(long_series(df, r, "growth"), res["growth"])

    with pytest.warns(simlin.SweepFailureWarning):
        wide = model.sweep(params, on_error="null", reduce="final")
    assert wide.get_column("level").is_null().to_list() == [False, True, False, True, False]
    assert wide.get_column("level")[4] == model.run(overrides={"divisor": 1.0})["level"][-1]


# ---- jobs, cancelling, pickling ----


def test_job_cancel_raises(sir: simlin.Model) -> None:
    params = pl.DataFrame({"duration": np.linspace(1.0, 9.0, 20_000)})
    job = simlin.start_sweep(sir, params, threads=1)
    job.cancel()
    with pytest.raises(SimlinRuntimeError) as e:
        job.result()
    assert e.value.code is ErrorCode.CANCELLED


def test_job_progress_and_wait(teacup: simlin.Model) -> None:
    job = simlin.start_sweep(teacup, TEACUP_PARAMS, reduce="final")
    assert job.wait(None)
    assert job.finished
    assert job.done() == job.n_runs == TEACUP_PARAMS.height
    assert job.result().equals(teacup.sweep(TEACUP_PARAMS, reduce="final"))
    with pytest.raises(simlin.SimlinArgumentError, match="already taken"):
        job.result()


def test_keyboard_interrupt_cancels(sir: simlin.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    from simlin import sweep as sweep_module

    cancelled: list[bool] = []
    real_wait = sweep_module.SweepJob.wait
    real_cancel = sweep_module.SweepJob.cancel

    def interrupted_wait(self: sweep_module.SweepJob, timeout: float | None = None) -> bool:
        if not cancelled:
            raise KeyboardInterrupt
        return real_wait(self, timeout)

    def cancel(self: sweep_module.SweepJob) -> None:
        cancelled.append(True)
        real_cancel(self)

    monkeypatch.setattr(sweep_module.SweepJob, "wait", interrupted_wait)
    monkeypatch.setattr(sweep_module.SweepJob, "cancel", cancel)
    with pytest.raises(KeyboardInterrupt):
        sir.sweep(pl.DataFrame({"duration": np.linspace(1.0, 9.0, 5000)}), progress=False)
    assert cancelled == [True]


def test_progress_bar_draws(
    teacup: simlin.Model, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from simlin import sweep as sweep_module

    monkeypatch.setattr(sweep_module, "_PROGRESS_AFTER", -1.0)
    real_wait = sweep_module.SweepJob.wait
    calls: list[int] = []

    def slow_wait(self: sweep_module.SweepJob, timeout: float | None = None) -> bool:
        calls.append(1)
        return len(calls) > 2 and real_wait(self, None)

    monkeypatch.setattr(sweep_module.SweepJob, "wait", slow_wait)
    teacup.sweep(TEACUP_PARAMS, progress=True)
    err = capsys.readouterr().err
    assert "sweep" in err and f"/{TEACUP_PARAMS.height}" in err and err.endswith("\n")
    teacup.sweep(TEACUP_PARAMS, progress=False)
    assert capsys.readouterr().err == ""


def test_one_progress_bar_for_a_parquet_sink(
    teacup: simlin.Model,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from simlin import sweep as sweep_module

    monkeypatch.setattr(sweep_module, "_PROGRESS_AFTER", -1.0)
    params = pl.DataFrame({"Characteristic Time": np.linspace(5.0, 20.0, 40)})
    # 241 rows a run and 500 rows a group: about 20 jobs, one bar.
    teacup.sweep_to_parquet(params, tmp_path / "out.parquet", rows_per_group=500, progress=True)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n")
    assert "40/40" in err
    assert err.count("sweep") >= 1


def test_progress_default_follows_terminal_or_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    from simlin import sweep as sweep_module

    assert sweep_module._wants_progress(True) and not sweep_module._wants_progress(False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    fake = types.ModuleType("IPython")
    shell: Any = None
    fake.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert not sweep_module._wants_progress(None)  # IPython imported, no shell
    shell = types.SimpleNamespace(config={"TerminalIPythonApp": {}})
    assert not sweep_module._wants_progress(None)  # a terminal IPython
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    assert sweep_module._wants_progress(None)  # a Jupyter kernel


def test_pickle_round_trip(teacup: simlin.Model, sir: simlin.Model) -> None:
    for model, params in (
        (teacup, TEACUP_PARAMS),
        (sir, pl.DataFrame({"duration": [2.0, 3.0, 4.0]})),
    ):
        data = pickle.dumps(model)
        assert len(data) < 64 * 1024
        copy = pickle.loads(data)
        assert isinstance(copy, simlin.Model)
        assert copy.sweep(params).equals(model.sweep(params))


def test_pickle_text_and_mdl_models(data_dir: Path) -> None:
    from_text = simlin.Project.from_xmile(NOISY).main_model
    assert (
        pickle.loads(pickle.dumps(from_text))
        .sweep(pl.DataFrame({"base": [1.0, 2.0]}))
        .equals(from_text.sweep(pl.DataFrame({"base": [1.0, 2.0]})))
    )
    mdl = simlin.load(data_dir / "teacup.mdl")
    copy = pickle.loads(pickle.dumps(mdl))
    np.testing.assert_array_equal(copy.run()["Teacup Temperature"], mdl.run()["Teacup Temperature"])


# ---- streaming to Parquet ----


@pytest.mark.parametrize("reduce", [None, "final"])
def test_sweep_to_parquet_is_the_sweep_in_row_groups(tmp_path: Path, reduce: Any) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    model = simlin.Project.from_xmile(NOISY).main_model
    n = 23
    params = pl.DataFrame({"base": np.linspace(0.0, 1.0, n)})
    whole = model.sweep(params, reduce=reduce, seed=5)
    path = tmp_path / "runs.parquet"
    # A few rows per group: many batches, each run keeping its seed.
    lazy = model.sweep_to_parquet(params, path, reduce=reduce, seed=5, rows_per_group=5)
    assert isinstance(lazy, pl.LazyFrame)
    got = lazy.collect()
    assert got.columns == whole.columns
    assert got.with_columns(pl.col(pl.Categorical).cast(pl.String)).equals(
        whole.with_columns(pl.col(pl.Categorical).cast(pl.String))
    )
    groups = pq.ParquetFile(path).metadata.num_row_groups
    assert groups > 3


def test_sweep_to_parquet_keeps_run_ids_and_names_failures(
    tmp_path: Path, fragile: simlin.Model
) -> None:
    pytest.importorskip("pyarrow.parquet")
    model = fragile
    params = pl.DataFrame({"id": [10, 11, 12, 13], "divisor": [2.0, 0.0, 4.0, 0.0]})
    with pytest.warns(simlin.SweepFailureWarning) as caught:
        lazy = model.sweep_to_parquet(
            params, tmp_path / "f.parquet", run_id="id", on_error="null", rows_per_group=1
        )
    warning = caught[0].message
    assert isinstance(warning, simlin.SweepFailureWarning)
    assert [row for row, _, _ in warning.failures] == [1, 3]
    frame = lazy.collect()
    assert frame.get_column("run").unique(maintain_order=True).to_list() == [10, 11, 12, 13]
    bad = frame.filter(pl.col("run") == 11).get_column("value")
    assert bad.null_count() == bad.len()


def test_sweep_to_parquet_unwritable(tmp_path: Path, fragile: simlin.Model) -> None:
    pytest.importorskip("pyarrow.parquet")
    model = fragile
    with pytest.raises(simlin.SimlinArgumentError, match="cannot write"):
        model.sweep_to_parquet({"divisor": [1.0]}, tmp_path / "missing" / "x.parquet")
    with pytest.raises(simlin.SimlinArgumentError, match="rows_per_group"):
        model.sweep_to_parquet({"divisor": [1.0]}, tmp_path / "x.parquet", rows_per_group=0)
