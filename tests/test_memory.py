"""Churn tests: native objects are freed on close and on garbage collection.

RSS is read from /proc/self/statm (Linux). Each churn round builds thousands
of projects, models, sims and results; if any of them leaked even a few KB
(the results alone hold ~10 KB of series each) the growth bound would fail.
"""

from __future__ import annotations

import gc
import os
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest

import simlin
from simlin import ErrorCode, SimlinImportError, SimlinRuntimeError

TINY = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>tiny</name></header>
  <sim_specs><start>0</start><stop>{stop}</stop><dt>0.25</dt></sim_specs>
  <model><variables>
    <stock name="level"><eqn>100</eqn><outflow>drain</outflow></stock>
    <flow name="drain"><eqn>level * rate</eqn></flow>
    <aux name="rate"><eqn>0.1</eqn></aux>
  </variables></model>
</xmile>
"""
# 301 saved points x 3 columns: ~7 KB of series per run.
TINY_TEXT = TINY.format(stop=75)
BAD_XML = "<xmile><model><variables><aux name='a'><eqn>1</eqn></variables></xmile>"
MB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm"
)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def growth_after(rounds: int, body: Callable[[], None]) -> int:
    """RSS growth over ``rounds`` calls of ``body``, measured after a warm-up."""
    for _ in range(max(rounds // 10, 100)):
        body()
    gc.collect()
    before = rss_bytes()
    for _ in range(rounds):
        body()
    gc.collect()
    return rss_bytes() - before


def churn_full() -> None:
    project = simlin.Project.from_xmile(TINY_TEXT)
    model = project.main_model
    with model.run({"rate": 0.2}) as results:
        assert results["level"][0] == 100.0
    sim = model.simulate()
    sim.run_to(10)
    snapshot = sim.results()
    assert len(snapshot) == 41
    # sim and snapshot are left to the garbage collector


def test_churn_projects_models_sims() -> None:
    growth = growth_after(10_000, churn_full)
    assert growth < 20 * MB, f"RSS grew by {growth / MB:.1f} MB over 10,000 rounds"


def test_churn_failed_loads() -> None:
    def body() -> None:
        with pytest.raises(SimlinImportError) as info:
            simlin.Project.from_xmile(BAD_XML)
        assert info.value.code is ErrorCode.MALFORMED_XML

    growth = growth_after(10_000, body)
    assert growth < 10 * MB, f"RSS grew by {growth / MB:.1f} MB over 10,000 failed loads"


def test_churn_failed_file_loads(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xmile"
    bad.write_text(BAD_XML)

    def body() -> None:
        with pytest.raises(SimlinImportError):
            simlin.load(bad)

    growth = growth_after(5_000, body)
    assert growth < 10 * MB


def test_churn_compile_errors(data_dir: Path) -> None:
    text = (data_dir / "circular.xmile").read_text()

    def body() -> None:
        model = simlin.Project.from_xmile(text).main_model
        with pytest.raises(simlin.SimlinCompilationError):
            model.run()

    growth = growth_after(5_000, body)
    assert growth < 10 * MB


def test_weakrefs_prove_collection() -> None:
    project = simlin.Project.from_xmile(TINY_TEXT)
    model = project.main_model
    sim = model.simulate()
    results = model.run()
    refs = [weakref.ref(o) for o in (project, model, sim, results)]
    column = results["level"]
    del project, model, sim, results
    gc.collect()
    assert [r() for r in refs] == [None, None, None, None]
    assert column[0] == 100.0  # the array keeps its own reference to the buffer


def test_context_managers_release() -> None:
    model = simlin.Project.from_xmile(TINY_TEXT).main_model
    with model.simulate() as sim:
        sim.run_to_end()
    assert sim.closed
    with pytest.raises(SimlinRuntimeError) as info:
        sim.get_value("level")
    assert info.value.code is ErrorCode.CLOSED
    with model.run() as results:
        pass
    assert results.closed
    with pytest.raises(SimlinRuntimeError) as info:
        results["level"]
    assert info.value.code is ErrorCode.CLOSED


def test_close_frees_large_results() -> None:
    """Closing big results returns their memory even while the wrappers live."""
    model = simlin.Project.from_xmile(TINY.format(stop=250_000)).main_model
    gc.collect()
    before = rss_bytes()
    kept = []
    for _ in range(5):
        r = model.run()  # ~1M points x 4 series (time + 3) = ~32 MB each
        r.close()
        kept.append(r)
    gc.collect()
    assert rss_bytes() - before < 100 * MB
    assert all(r.closed for r in kept)
