"""Long-format sweeps against ``reduce="final"``, a copy of the same bytes and a Python loop.

Run from the repository root, in the dev environment::

    .venv/bin/python benches/long_bench.py [--runs 2000] [--repeat 9]

For the SDXorg SIR sample (``../shared/test-models`` beside the repository),
``--runs`` runs over two parameters, in one process and one benchmark run:

* ``reduce="final"`` of one output (the engine's cost alone);
* the long frame (``run``, ``time``, ``variable``, ``value``) of one output
  and of the default outputs, split into the sweep itself, building the
  native frame, and handing it to Polars, pandas and pyarrow;
* a copy of as many bytes as the frame holds, into memory already paged
  in (the machine's bandwidth: issue 12 asks the frame to cost at most
  twice that) and into fresh memory;
* a Python loop of ``Model.run()`` over the same rows (``--loop-runs`` of
  them, scaled up).

Each figure is the minimum and median of ``--repeat`` (ms). Not a test: no
assertions on timings; the machine's load shows up in the numbers.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import simlin
from simlin.sweep import start_sweep, to_frame

REPO = Path(__file__).resolve().parent.parent
SIR = REPO.parent / "shared" / "test-models" / "samples" / "SIR" / "SIR.xmile"


def timed(f: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Minimum and median of ``repeat`` calls of ``f``, ms (results dropped at once)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = f()
        times.append((time.perf_counter() - t) * 1e3)
        del r
    return min(times), statistics.median(times)


def split(model: simlin.Model, params: pl.DataFrame, outputs: Any, repeat: int) -> dict[str, Any]:
    """The long frame's stages, each the min and median of ``repeat`` (ms)."""
    stages: dict[str, list[float]] = {
        k: [] for k in ("sweep", "frame", "polars", "pandas", "arrow")
    }
    rows = nbytes = 0
    options = {} if outputs is None else {"outputs": outputs}
    for _ in range(repeat):
        t0 = time.perf_counter()
        job = start_sweep(model, params, **options)
        job._native.wait(None)
        t1 = time.perf_counter()
        frame = job._native.result()
        t2 = time.perf_counter()
        stages["sweep"].append((t1 - t0) * 1e3)
        stages["frame"].append((t2 - t1) * 1e3)
        # pandas last: it takes the number columns out of the frame.
        for kind in ("polars", "arrow", "pandas"):
            t = time.perf_counter()
            table = to_frame(frame, kind)
            stages[kind].append((time.perf_counter() - t) * 1e3)
            if kind == "polars":
                rows = table.height
                nbytes = int(table.estimated_size())
            del table
        del frame, job
        gc.collect()
    out: dict[str, Any] = {k: (min(v), statistics.median(v)) for k, v in stages.items()}
    out["rows"] = rows
    out["bytes"] = nbytes
    return out


def copies(nbytes: int, repeat: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """A copy of ``nbytes`` into memory already paged in, and into fresh memory (ms)."""
    src = np.ones(max(nbytes // 8, 1))
    dst = np.empty_like(src)
    dst[:] = src
    warm = timed(lambda: np.copyto(dst, src), repeat)
    fresh = timed(lambda: src.copy(), repeat)
    return warm, fresh


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--loop-runs", type=int, default=500)
    args = parser.parse_args()
    model = simlin.load(SIR)
    rng = np.random.default_rng(1)
    params = pl.DataFrame(
        {
            "contact_infectivity": rng.uniform(0.1, 1.5, args.runs),
            "duration": rng.uniform(1.0, 10.0, args.runs),
        }
    )
    model.sweep(params.head(16), reduce="final")
    one = ["Infectious"]
    final = timed(lambda: model.sweep(params, outputs=one, reduce="final"), args.repeat)
    print(f"SIR, {args.runs} runs; min / median of {args.repeat}, ms\n")
    print(f"reduce='final', 1 output: {final[0]:.1f} / {final[1]:.1f}\n")
    header = "| outputs | rows | MB | sweep | frame | + Polars | + pandas | + pyarrow |"
    header += " copy warm | copy fresh | sweep+frame+Polars / reduce | frame / copy warm |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for label, outputs in (("1", one), ("default", None)):
        s = split(model, params, outputs, args.repeat)
        warm, fresh = copies(s["bytes"], args.repeat)
        total = s["sweep"][0] + s["frame"][0] + s["polars"][0]
        cells = [
            label,
            f"{s['rows']:,}",
            f"{s['bytes'] / 1e6:.0f}",
            *(
                f"{s[k][0]:.1f} / {s[k][1]:.1f}"
                for k in ("sweep", "frame", "polars", "pandas", "arrow")
            ),
            f"{warm[0]:.1f} / {warm[1]:.1f}",
            f"{fresh[0]:.1f} / {fresh[1]:.1f}",
            f"{total / final[0]:.1f}x",
            f"{s['frame'][0] / warm[0]:.1f}x",
        ]
        print("| " + " | ".join(cells) + " |")
    rows = list(params.head(args.loop_runs).iter_rows(named=True))
    t = time.perf_counter()
    for row in rows:
        model.run(overrides=row)
    per_run = (time.perf_counter() - t) / len(rows)
    loop_ms = per_run * args.runs * 1e3
    print(f"\nPython loop of run(), default outputs: {loop_ms:.0f} ms for {args.runs} runs")
    default = timed(lambda: model.sweep(params), 3)
    print(
        f"model.sweep(params), default outputs, Polars: {default[0]:.1f} / {default[1]:.1f} ms "
        f"({loop_ms / default[0]:.1f}x faster than the loop)"
    )


if __name__ == "__main__":
    main()
