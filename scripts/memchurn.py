"""Churn for the memory job (scripts/memcheck.sh): every native object made and dropped.

Loads, compiles, runs, steps, sweeps and drops models (and fails on bad
input) through the built extension, so that valgrind sees each path
allocate and free. Small counts: valgrind runs it about 50x slower.
"""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import polars as pl

import simlin

ROOT = Path(__file__).resolve().parent.parent
TEACUP = ROOT / "examples" / "teacup.xmile"
BAD = [
    "<xmile",  # truncated
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aa">]><xmile>&a;</xmile>',
    "<xmile><model><variables><aux name='x'><eqn>1 +</eqn></aux></variables></model></xmile>",
]


def once(i: int) -> None:
    """One round of every path, with run-dependent values."""
    model = simlin.load(TEACUP)
    with model.run({"Room Temperature": 60.0 + i}) as res:
        assert res.times[0] == 0.0
        # The frame's block and a gathered stack: memory the extension
        # lends NumPy, written to and dropped.
        frame = res.to_pandas()
        frame.iloc[0, 0] = float(i)
        stacked = res._native.stacked([[0, 1]])
        assert len(stacked) == 2 * len(res)
        del frame, stacked
    sim = model.simulate()
    sim.run_to(5.0)
    sim.set_value("Room Temperature", 50.0)
    sim.run_to_end()
    _ = sim.results()
    params = pl.DataFrame({"Room Temperature": [60.0, 70.0, 80.0]})
    assert model.sweep(params).height > 0
    assert model.sweep(params, reduce="final").height == 3
    out = params.select(
        v=simlin.simulate(model, pl.struct("Room Temperature"), outputs=None, reduce="final")
    )
    assert out.height == 3
    # The plugin ABI: chunked input, a categorical run key, the list output,
    # and a call that fails (its inputs are still released).
    keyed = pl.concat([params.slice(0, 1), params.slice(1, 2)], rechunk=False).with_columns(
        key=pl.Series(["a", "b", "c"], dtype=pl.Categorical)
    )
    series = keyed.select(
        v=simlin.simulate(model, pl.struct("Room Temperature"), outputs=None, run="key")
    )
    assert series.height == 3
    with contextlib.suppress(pl.exceptions.ComputeError):
        keyed.select(simlin.simulate(model, pl.struct("key"), outputs=None, reduce="final"))
    for text in BAD:
        with contextlib.suppress(simlin.SimlinError):
            simlin.Project.from_xmile(text)
    mdl = simlin.Project.from_mdl(
        "{UTF-8}\nx = y ~~|\ny = x ~~|\nINITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\n"
        "TIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
    )
    with contextlib.suppress(simlin.SimlinCompilationError):
        mdl.main_model.run()


def main() -> None:
    """Twenty rounds, then a collection."""
    for i in range(20):
        once(i)
    gc.collect()


if __name__ == "__main__":
    main()
