"""Results as xarray, and plots of runs and sweeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import simlin
from simlin import SimlinArgumentError, SimlinKeyError

DATA = Path(__file__).parent / "data"


def test_to_xarray_names_dimensions_and_elements() -> None:
    xr = pytest.importorskip("xarray")
    results = simlin.load(DATA / "arrays.xmile").run()
    ds = results.to_xarray()
    assert isinstance(ds, xr.Dataset)
    np.testing.assert_array_equal(ds["time"].values, results.times)
    stock = ds["stock"]
    assert stock.dims == ("time", "Region", "Size")
    assert list(ds["Region"].values) == ["North", "South"]
    assert list(ds["Size"].values) == ["Small", "Large", "Huge"]
    np.testing.assert_array_equal(stock.values, results["stock"])
    np.testing.assert_array_equal(
        stock.sel(Region="South", Size="Huge").values, results["stock[South,Huge]"]
    )
    assert ds["growth"].dims == ("time", "Region")
    # Each array is its own stretch of the one gathered buffer.
    np.testing.assert_array_equal(ds["growth"].values, results["growth"])
    assert ds["total"].dims == ("time",)
    np.testing.assert_array_equal(ds["total"].values, results["total"])
    # Elements live inside their arrays, not as variables of their own.
    assert not [v for v in ds.data_vars if "[" in str(v)]


def test_to_xarray_of_a_scalar_model(teacup: simlin.Model) -> None:
    pytest.importorskip("xarray")
    results = teacup.run()
    ds = results.to_xarray()
    assert list(ds.data_vars) == results.names
    np.testing.assert_array_equal(ds["Teacup Temperature"].values, results["teacup temperature"])


def test_plot_draws_each_series(teacup: simlin.Model) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    results = teacup.run()
    ax = results.plot("teacup temperature", "room temperature")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["teacup temperature", "room temperature"]
    np.testing.assert_array_equal(lines[0].get_ydata(), results["teacup temperature"])
    np.testing.assert_array_equal(lines[0].get_xdata(), results.times)
    arrays = simlin.load(DATA / "arrays.xmile").run()
    ax = arrays.plot("stock")
    assert len(ax.get_lines()) == 6  # one per element of Region x Size
    assert len(teacup.run().plot().get_lines()) == 4


def test_fan_draws_quantile_bands_of_a_sweep(teacup: simlin.Model) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    params = pl.DataFrame({"Characteristic Time": np.linspace(5.0, 25.0, 41)})
    frame = teacup.sweep(params, outputs=["teacup temperature"])
    ax = simlin.plot.fan(frame, "Teacup Temperature", quantiles=(0.05, 0.25))
    (median,) = ax.get_lines()
    want = frame.group_by("time").agg(pl.col("value").median()).sort("time")["value"].to_numpy()
    np.testing.assert_allclose(median.get_ydata(), want)
    assert len(ax.collections) == 2  # the 5-95% and 25-75% bands
    # pandas frames too; unknown names and bad quantiles are typed errors.
    simlin.plot.fan(frame.to_pandas(), "Teacup Temperature")
    with pytest.raises(SimlinKeyError):
        simlin.plot.fan(frame, "nope")
    with pytest.raises(SimlinArgumentError):
        simlin.plot.fan(frame, "Teacup Temperature", quantiles=(0.7,))


def test_missing_optional_dependencies_say_what_to_install(
    teacup: simlin.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    results = teacup.run()
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(ImportError, match="pip install xarray"):
        results.to_xarray()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        results.plot()
