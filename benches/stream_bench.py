"""Sweeps beyond memory: WRLD3-03 runs streamed to Parquet, peak RSS bounded.

Run from the repository root, in the dev environment::

    .venv/bin/python benches/stream_bench.py [--runs 100000] [--out /tmp/w3.parquet]

Sweeps ``--runs`` runs of WRLD3-03 (``../shared/real-models`` beside the
repository) over two parameters, saving five outputs at every saved time,
with ``Model.sweep_to_parquet``; then the same runs reduced to their final
values with ``reduce="final"`` (in memory). Prints wall time, runs/s, frame
rows, file size and the process's peak RSS after each (``ru_maxrss``; the
peak only grows, so the streaming figure comes first). Not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import polars as pl

import simlin

REPO = Path(__file__).resolve().parent.parent
WORLD3 = REPO.parent / "shared" / "real-models" / "WRLD3-03" / "wrld3-03.mdl"
OUTPUTS = ["Population", "Industrial Output", "Food", "Persistent Pollution", "Arable Land"]


def peak_mib() -> float:
    """Peak RSS of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Stream, then reduce, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--out", default="/tmp/simlin-stream-bench.parquet")
    args = parser.parse_args()
    model = simlin.load(WORLD3)
    rng = np.random.default_rng(7)
    params = pl.DataFrame(
        {
            "desired food ratio": rng.uniform(1.5, 2.5, args.runs),
            "land fraction harvested": rng.uniform(0.6, 0.8, args.runs),
        }
    )
    print(f"start: peak RSS {peak_mib():.0f} MiB")
    t0 = time.perf_counter()
    lazy = model.sweep_to_parquet(params, args.out, outputs=OUTPUTS)
    wall = time.perf_counter() - t0
    rows = lazy.select(pl.len()).collect().item()
    size = os.path.getsize(args.out) / 2**20
    print(
        f"stream: {args.runs} runs in {wall:.1f} s ({args.runs / wall:.0f} runs/s), "
        f"{rows:,} rows, {size:.0f} MiB file, peak RSS {peak_mib():.0f} MiB"
    )
    t0 = time.perf_counter()
    final = model.sweep(params, outputs=OUTPUTS, reduce="final")
    wall = time.perf_counter() - t0
    print(
        f"reduce=final: {final.height} runs in {wall:.1f} s ({args.runs / wall:.0f} runs/s), "
        f"peak RSS {peak_mib():.0f} MiB"
    )


if __name__ == "__main__":
    main()
