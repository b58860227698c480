"""Vensim .mdl models from Python: loading, equivalence with XMILE, errors."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simlin
from simlin import ErrorCode, SimlinCompilationError, SimlinImportError


def test_mdl_teacup_matches_the_xmile_teacup(data_dir: Path) -> None:
    mdl = simlin.load(data_dir / "teacup.mdl").run()
    xmile = simlin.load(data_dir / "teacup.xmile").run()
    assert mdl["Heat Loss to Room"][0] == pytest.approx(11.0)
    np.testing.assert_allclose(mdl["Teacup Temperature"], xmile["Teacup Temperature"], rtol=1e-12)
    np.testing.assert_allclose(mdl.times, xmile.times)


def test_from_mdl_text_and_bytes(data_dir: Path) -> None:
    text = (data_dir / "teacup.mdl").read_text()
    project = simlin.Project.from_mdl(text)
    model = project.main_model
    assert model.time_spec.dt == 0.125
    assert {v.name for v in model.stocks} == {"Teacup Temperature"}
    again = simlin.Project.from_mdl(text.encode("latin-1"))
    assert again.main_model.time_spec.stop == 30


def test_mdl_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.mdl"
    path.write_text("{UTF-8}\nx = 1 ~~|\ny = (x + ~~|\n")
    with pytest.raises(SimlinImportError) as info:
        simlin.load(path)
    assert info.value.code is ErrorCode.MDL_SYNTAX
    assert info.value.line == 3


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02binary\xff\xfe",
        b'<?xml version="1.0"?><xmile><model/></xmile>',
        b"{UTF-8}\nStock = INTEG(",
    ],
    ids=["binary", "xmile-as-mdl", "truncated"],
)
def test_bad_mdl_files_raise_import_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.mdl"
    path.write_bytes(content)
    with pytest.raises(SimlinImportError):
        simlin.load(path)


def test_unknown_function_in_mdl_is_a_compilation_error(tmp_path: Path) -> None:
    path = tmp_path / "unknown.mdl"
    path.write_text(
        "{UTF-8}\nx = FROBNICATE(1) ~~|\n"
        "INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\n"
    )
    model = simlin.load(path)
    with pytest.raises(SimlinCompilationError) as info:
        model.run()
    assert info.value.code is ErrorCode.UNKNOWN_FUNCTION
    assert info.value.variable == "x"


def test_variable_delays_and_lookup_slope_read_from_mdl(tmp_path: Path) -> None:
    """DELAY MATERIAL, DELAY INFORMATION and LOOKUP SLOPE under their Vensim
    names, in an arrayed model: each element's input leaves after the delay
    it entered with (2 steps for d1, 1 for d2)."""
    path = tmp_path / "delays.mdl"
    path.write_text(
        "{UTF-8}\nd: d1, d2 ~~|\nx[d] = TIME + 1 ~~|\n"
        "delay[d] = 2, 1 ~~|\n"
        "m[d] = DELAY MATERIAL(x[d], delay[d], 100, -1) ~~|\n"
        "i[d] = DELAY INFORMATION(x[d], delay[d], 100) ~~|\n"
        "look((0,0),(1,1),(2,1.5)) ~~|\n"
        "s = LOOKUP SLOPE(look, TIME / 2, 0) ~~|\n"
        "INITIAL TIME = 0 ~~|\nFINAL TIME = 4 ~~|\nTIME STEP = 1 ~~|\n"
    )
    r = simlin.load(path).run()
    np.testing.assert_array_equal(r["m[d1]"], [100, 100, 1, 2, 3])
    np.testing.assert_array_equal(r["m[d2]"], [100, 1, 2, 3, 4])
    np.testing.assert_array_equal(r["i[d1]"], r["m[d1]"])
    np.testing.assert_array_equal(r["s"], [0.5, 1, 0.75, 0.5, 0.25])


def test_variable_delays_in_a_sweep_match_single_runs(tmp_path: Path) -> None:
    """Each run of a sweep keeps its own DELAY MATERIAL pipeline: runs whose
    delay time grows at different rates give what they give alone."""
    pl = pytest.importorskip("polars")
    path = tmp_path / "sweep_delays.mdl"
    path.write_text(
        "{UTF-8}\ngrowth = 0.5 ~~|\nx = TIME + 1 ~~|\n"
        "m = DELAY MATERIAL(x, 1 + growth * TIME, 0, -1) ~~|\n"
        "i = DELAY INFORMATION(x, 1 + growth * TIME, 0) ~~|\n"
        "INITIAL TIME = 0 ~~|\nFINAL TIME = 12 ~~|\nTIME STEP = 0.5 ~~|\n"
    )
    model = simlin.load(path)
    growths = [0.0, 0.3, 0.5, 1.0, 2.0]
    swept = model.sweep(pl.DataFrame({"growth": growths}), outputs=["m", "i"])
    for run, g in enumerate(growths):
        alone = model.run(overrides={"growth": g})
        for name in ("m", "i"):
            got = swept.filter((pl.col("run") == run) & (pl.col("variable") == name))
            np.testing.assert_array_equal(got["value"].to_numpy(), alone[name])
    # A lengthening delay leaves gaps (the missing value) in DELAY MATERIAL.
    assert (model.run(overrides={"growth": 2.0})["m"] == -1).any()


def test_cli_runs_an_mdl_model(data_dir: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "simlin",
            "run",
            str(data_dir / "teacup.mdl"),
            "--vars",
            "Teacup Temperature",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "time,Teacup Temperature"
    assert lines[1] == "0,180" or lines[1].startswith("0.0,180")


DYNAMIC_STOP = """{UTF-8}
growth = 1 ~~|
level = INTEG(growth, 0) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = IF THEN ELSE(level >= 5, Time, 100) ~~|
TIME STEP = IF THEN ELSE(Time < 2, 1, 0.5) ~~|
SAVEPER = TIME STEP ~~|
"""


def test_mdl_control_variables_computed_during_the_run() -> None:
    model = simlin.Project.from_mdl(DYNAMIC_STOP).main_model
    assert model.time_spec.dynamic == ("stop", "dt", "save_step")
    results = model.run()
    # Steps of 1 until time 2, then of 0.5; the run stops once level >= 5.
    assert list(results.times) == [0, 1, 2, 2.5, 3, 3.5, 4, 4.5, 5]
    np.testing.assert_allclose(results["level"], results.times)
    # Faster growth reaches the stop sooner; a given stop wins over the model's.
    assert results.times[-1] == 5
    assert model.run(overrides={"growth": 2}).times[-1] == 2.5
    assert model.run(stop=3).times[-1] == 3


def test_sweep_of_a_dynamic_time_spec_needs_it_given() -> None:
    pl = pytest.importorskip("polars")
    model = simlin.Project.from_mdl(DYNAMIC_STOP).main_model
    params = pl.DataFrame({"growth": [1.0, 2.0]})
    with pytest.raises(simlin.SimlinError) as info:
        model.sweep(params, reduce="final")
    assert info.value.code is ErrorCode.BAD_SWEEP
    assert "FINAL TIME" in str(info.value)
    out = model.sweep(params, reduce="final", stop=4, dt=0.5, save_step=0.5)
    assert out["level"].to_list() == [4.0, 8.0]


def test_unusable_dynamic_time_step_raises_naming_it() -> None:
    text = DYNAMIC_STOP.replace("IF THEN ELSE(Time < 2, 1, 0.5)", "IF THEN ELSE(Time < 2, 1, 0)")
    with pytest.raises(simlin.SimlinError) as info:
        simlin.Project.from_mdl(text).main_model.run()
    assert info.value.code is ErrorCode.BAD_TIME_SPEC
    assert "TIME STEP" in str(info.value)


DATA_MODEL = """{UTF-8}
demand[region] :INTERPOLATE: ~~|
region: north, south ~~|
total = SUM(demand[region!]) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 2 ~~|
TIME STEP = 1 ~~|
SAVEPER = TIME STEP ~~|
"""


def test_data_variables_read_from_data_files(tmp_path: Path) -> None:
    model_path = tmp_path / "m.mdl"
    model_path.write_text(DATA_MODEL)
    (tmp_path / "obs.csv").write_text("Time,demand[north],demand[south]\n0,1,10\n2,3,30\n")
    model = simlin.load(model_path, data_files=[tmp_path / "obs.csv"])
    results = model.run()
    np.testing.assert_allclose(results["total"], [11, 22, 33])
    # Pickling keeps the data files, so worker processes see the same data.
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.run()["total"], [11, 22, 33])
    text_model = simlin.Project.from_mdl(DATA_MODEL, data_files=[tmp_path / "obs.csv"])
    np.testing.assert_allclose(text_model.main_model.run()["total"], [11, 22, 33])


def test_data_variable_without_data_raises_naming_it(tmp_path: Path) -> None:
    model_path = tmp_path / "m.mdl"
    model_path.write_text(DATA_MODEL)
    with pytest.raises(SimlinImportError) as info:
        simlin.load(model_path)
    assert info.value.code is ErrorCode.DATA_FILE
    assert "demand" in str(info.value)
    # An element missing from the data files is :NA: with a warning, as in
    # Vensim (real models leave some elements without data on purpose).
    (tmp_path / "obs.tab").write_text("Time\tdemand[north]\n0\t1\n")
    project = simlin.Project.from_file(model_path, data_files=[tmp_path / "obs.tab"])
    assert any("demand[south]" in w and ":NA:" in w for w in project.warnings)
    results = project.main_model.run()
    np.testing.assert_array_equal(results["demand[south]"], [-(2.0**110)] * 3)
    np.testing.assert_array_equal(results["demand[north]"], [1.0] * 3)


def test_data_files_argument_is_checked(data_dir: Path) -> None:
    with pytest.raises(simlin.SimlinTypeError):
        simlin.load(data_dir / "teacup.mdl", data_files="obs.csv")
    with pytest.raises(simlin.SimlinTypeError):
        simlin.load(data_dir / "teacup.mdl", data_files=[1])  # type: ignore[list-item]
    # XMILE takes data files too (Vensim models exported by xmutil have data
    # variables); a model without data variables never reads them.
    model = simlin.load(data_dir / "teacup.xmile", data_files=["never-read.csv"])
    assert "Teacup Temperature" in model.run().to_pandas()
