"""simlin.dask: a sweep over a Dask DataFrame on a LocalCluster of 2 workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import simlin
import simlin.dask
from simlin import SimlinRuntimeError, SimlinTypeError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

NOISY = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>noisy</name><vendor>simlin tests</vendor></header>
  <sim_specs><start>0</start><stop>10</stop><dt>0.5</dt></sim_specs>
  <model>
    <variables>
      <stock name="level"><eqn>base</eqn><inflow>noise</inflow></stock>
      <flow name="noise"><eqn>NORMAL(drift, 1)</eqn></flow>
      <aux name="base"><eqn>1</eqn></aux>
      <aux name="drift"><eqn>0</eqn></aux>
    </variables>
  </model>
</xmile>
"""


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture
def noisy() -> simlin.Model:
    return simlin.Project.from_xmile(NOISY).main_model


def params(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame: pd.DataFrame = pd.DataFrame(
        {"base": rng.uniform(0, 10, n), "drift": rng.uniform(-1, 1, n)}
    )
    return frame


def assert_same(got: pd.DataFrame, want: pl.DataFrame) -> None:
    expected = want.to_pandas()
    got = got.reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        a, b = got[column], expected[column]
        if isinstance(b.dtype, pd.CategoricalDtype):
            a, b = a.astype(str), b.astype(str)
        assert a.tolist() == b.tolist(), column


@pytest.mark.parametrize("reduce", [None, "final"])
def test_a_dask_sweep_is_the_local_sweep(client: Any, noisy: simlin.Model, reduce: Any) -> None:
    # A random model: every run's stream must follow its global row number.
    table = params(37)
    got = simlin.dask.sweep(noisy, dd.from_pandas(table, npartitions=5), reduce=reduce, seed=3)
    assert got.npartitions == 5
    computed = got.compute()
    workers = client.run(lambda: 1)
    assert len(workers) == 2
    assert_same(computed, noisy.sweep(table, reduce=reduce, seed=3))


def test_partitions_restarting_their_index_keep_global_ids(
    client: Any, noisy: simlin.Model, tmp_path: Path
) -> None:
    # read_parquet gives each partition its own index from 0: ids must
    # still be the global row positions.
    table = params(20)
    for i in range(4):
        table.iloc[i * 5 : (i + 1) * 5].reset_index(drop=True).to_parquet(
            tmp_path / f"p{i}.parquet"
        )
    frame = dd.read_parquet(str(tmp_path / "*.parquet"))
    got = simlin.dask.sweep(noisy, frame, reduce="final").compute()
    assert_same(got, noisy.sweep(table, reduce="final"))


def test_run_ids_are_carried_and_written_as_parquet(
    client: Any, noisy: simlin.Model, tmp_path: Path
) -> None:
    table = params(12).assign(run=[f"r{i}" for i in range(12)])
    out = simlin.dask.sweep(noisy, dd.from_pandas(table, npartitions=3), outputs=["level"])
    out.to_parquet(tmp_path / "runs")
    written = pd.read_parquet(tmp_path / "runs").reset_index(drop=True)
    assert_same(written, noisy.sweep(table, outputs=["level"]))


def test_errors_are_typed(noisy: simlin.Model) -> None:
    with pytest.raises(SimlinTypeError, match=r"dask\.dataframe\.DataFrame"):
        simlin.dask.sweep(noisy, params(3))
    bad = dd.from_pandas(pd.DataFrame({"nope": [1.0, 2.0]}), npartitions=1)
    with pytest.raises(SimlinRuntimeError, match="nope"):
        simlin.dask.sweep(noisy, bad).compute(scheduler="sync")
