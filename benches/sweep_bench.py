"""Parameter-sweep throughput: lockstep batches vs one run at a time vs Python loop.

Run from the repository root, in the dev environment::

    .venv/bin/python benches/sweep_bench.py [--runs 10000] [--loop-runs 3000]

For two models (the SDXorg SIR sample, found at ``../shared/test-models``
beside the repository, and a generated model of 50 coupled chains x 6
variables = 300 variables) it times ``--runs`` runs

(a) through ``Model.sweep`` (batched lockstep engine, all cores),
(b) through a plain Python loop over ``Model.run(overrides=...)`` (only
    ``--loop-runs`` runs are timed and the per-run cost is extrapolated),
(c) one run at a time in Rust (``simlin.sweep.run_sweep(..., _engine="scalar")``,
    same threads, one lane per run, no lockstep batches),

and prints runs/second per core, ns per (variable x step) per core, and the
process's peak RSS after each measurement (``resource.getrusage``; the peak
only grows, so each figure is "peak so far"). Each sweep returns the final
values (``reduce="final"``) of the stocks and flows; the Python loop saves the
same outputs. Not a test: no assertions on timings.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

import simlin
from simlin.sweep import run_sweep

REPO = Path(__file__).resolve().parent.parent
SIR = REPO.parent / "shared" / "test-models" / "samples" / "SIR" / "SIR.xmile"

CHAINS = 50


def chain_model(chains: int = CHAINS) -> str:
    """XMILE for ``chains`` coupled chains of 6 variables each.

    Chain ``i``: stocks ``a_i`` and ``b_i``; flow ``f_i = (a_i - b_i) / tau_i``
    moves a into b; flow ``g_i = b_i * k_i`` drains b into the next chain's
    ``a``; constants ``tau_i`` and ``k_i``.
    """
    parts = []
    for i in range(chains):
        nxt = (i + 1) % chains
        prev = (i - 1) % chains
        parts.append(
            f"""
      <stock name="a_{i}"><eqn>{10 + i % 7}</eqn>
        <inflow>g_{prev}</inflow><outflow>f_{i}</outflow></stock>
      <stock name="b_{i}"><eqn>1</eqn><inflow>f_{i}</inflow><outflow>g_{i}</outflow></stock>
      <flow name="f_{i}"><eqn>(a_{i} - b_{i}) / tau_{i}</eqn></flow>
      <flow name="g_{i}"><eqn>b_{i} * k_{i} + 0.001 * a_{nxt}</eqn></flow>
      <aux name="tau_{i}"><eqn>{2 + i % 5}</eqn></aux>
      <aux name="k_{i}"><eqn>{0.05 + 0.01 * (i % 3)}</eqn></aux>"""
        )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>chains</name><vendor>simlin bench</vendor></header>
  <sim_specs><start>0</start><stop>100</stop><dt>0.25</dt></sim_specs>
  <model>
    <variables>{"".join(parts)}
    </variables>
  </model>
</xmile>
"""


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def bench_model(
    label: str, model: simlin.Model, params: pl.DataFrame, loop_runs: int, cores: int
) -> list[tuple[str, str, float, float, float, float]]:
    """Time the three ways of running ``params`` on ``model``; one table row each."""
    spec = model.time_spec
    steps = round((spec.stop - spec.start) / spec.dt)
    n_vars = len(model.variables)
    outputs = [v.name for v in model.stocks + model.flows]
    runs = params.height
    rows: list[tuple[str, str, float, float, float, float]] = []

    def record(how: str, n: int, seconds: float, threads: int) -> None:
        core_s = seconds * threads
        per_core = n / core_s
        ns = core_s / (n * n_vars * steps) * 1e9
        rows.append((label, how, n / seconds, per_core, ns, peak_rss_mb()))

    model.compile()
    model.sweep(params.head(16), reduce="final", progress=False)  # warm up

    t0 = time.perf_counter()
    model.sweep(params, reduce="final", threads=cores, progress=False)
    record(f"(a) sweep, batched, {cores} threads", runs, time.perf_counter() - t0, cores)

    t0 = time.perf_counter()
    model.sweep(params, reduce="final", threads=1, progress=False)
    record("(a) sweep, batched, 1 thread", runs, time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    run_sweep(model, params, reduce="final", threads=cores, progress=False, _engine="scalar")
    record(f"(c) sweep, one run at a time, {cores} threads", runs, time.perf_counter() - t0, cores)

    t0 = time.perf_counter()
    run_sweep(model, params, reduce="final", threads=1, progress=False, _engine="scalar")
    record("(c) sweep, one run at a time, 1 thread", runs, time.perf_counter() - t0, 1)

    subset = params.head(loop_runs)
    t0 = time.perf_counter()
    for r, row in enumerate(subset.iter_rows(named=True)):
        res = model.run(overrides=row, outputs=outputs, seed=r)
        _ = [res[o][-1] for o in outputs]
    elapsed = time.perf_counter() - t0
    record(
        f"(b) Python loop of run(), {subset.height} runs extrapolated", subset.height, elapsed, 1
    )
    print(
        f"  {label}: {n_vars} variables, {steps} steps, {runs} runs; "
        f"Python loop extrapolated to {runs} runs: {elapsed / subset.height * runs:.1f} s",
        flush=True,
    )
    return rows


def main() -> None:
    """Run both models and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--loop-runs", type=int, default=3000)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rng = np.random.default_rng(1)
    rows = []
    print(f"machine: {cores} logical cores, {sys.platform}, Python {sys.version.split()[0]}")

    if SIR.is_file():
        sir = simlin.load(SIR)
        params = pl.DataFrame(
            {
                "contact_infectivity": rng.uniform(0.1, 1.5, args.runs),
                "duration": rng.uniform(1.0, 10.0, args.runs),
            }
        )
        rows += bench_model("SIR", sir, params, args.loop_runs, cores)
    else:
        print(f"  (SIR sample not found at {SIR}; skipped)")

    chains = simlin.Project.from_xmile(chain_model()).main_model
    params = pl.DataFrame(
        {f"tau_{i}": rng.uniform(1.0, 6.0, args.runs) for i in range(0, CHAINS, 5)}
        | {f"k_{i}": rng.uniform(0.02, 0.1, args.runs) for i in range(0, CHAINS, 5)}
    )
    rows += bench_model(f"chains ({CHAINS}x6)", chains, params, args.loop_runs, cores)

    header = ("model", "how", "runs/s", "runs/s/core", "ns/(var*step)", "peak RSS MB")
    widths = [max(len(h), 16) for h in header]
    widths[1] = max(len(r[1]) for r in rows)
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for label, how, rate, per_core, ns, rss in rows:
        cells = (label, how, f"{rate:,.0f}", f"{per_core:,.0f}", f"{ns:.2f}", f"{rss:.0f}")
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))


if __name__ == "__main__":
    main()
