"""Single runs: simlin against pysimlin 0.8.5, on the single-run benchmark set.

Run from the repository root, in the dev environment::

    .venv/bin/python benches/single_run_bench.py [--pysimlin PYTHON] [--repeat 20]

``--pysimlin`` is the Python of a separate virtual environment with
pysimlin 0.8.5 installed (it also imports as ``simlin``, so it can never
share ours; default ``../peers/pysimlin/bin/python`` beside the repository).
Each engine runs in its own subprocess, one after the other in this one
benchmark run, on the SDXorg SIR sample, WRLD3-03, the 1,000-region arrayed
SIR and C-LEARN, and reports:

* ``first``: load + compile + the first run, from the file (ms);
* ``run``: the median of ``--repeat`` further runs that store every
  variable at every saved time (ours: ``Model.run()``; pysimlin:
  ``Sim.reset()`` + ``run_to_end()``, which stores every variable too);
* ns per (variable x integration step) of ``run``, and the subprocess's
  peak RSS;

then, for ours alone, the median cost of turning one run's results into a
Polars and a pandas frame (issue 12 asks for pandas within 2x of Polars on
wide results).

The table ends with the ratio ours / pysimlin. Not a test: no assertions on
timings; the machine's load shows up in the numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import simlin

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MODELS = {
    "SIR": SHARED / "test-models" / "samples" / "SIR" / "SIR.xmile",
    "WRLD3-03": SHARED / "real-models" / "WRLD3-03" / "wrld3-03.mdl",
    "SIR x1000": SHARED / "bench-models" / "sir_array_1000.mdl",
    "C-LEARN": SHARED / "real-models" / "C-LEARN" / "C-LEARN v77 for Vensim.mdl",
}

# Runs inside each engine's own environment; prints one JSON line.
WORKER = r"""
import json, resource, statistics, sys, time
import simlin
path, repeat, ours = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "ours"
t0 = time.perf_counter()
model = simlin.load(path)
if ours:
    res = model.run()
    n_vars, n_saved = len(res.names), len(res)
    def run():
        model.run()
else:
    sim = model.simulate()
    sim.run_to_end()
    n_vars, n_saved = len(sim.get_var_names()), sim.get_step_count()
    def run():
        sim.reset()
        sim.run_to_end()
first = time.perf_counter() - t0
times = []
for _ in range(repeat):
    t = time.perf_counter()
    run()
    times.append(time.perf_counter() - t)
print(json.dumps({
    "first": first, "run": statistics.median(times), "vars": n_vars, "saved": n_saved,
    "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def measure(python: str, path: Path, repeat: int, ours: bool) -> dict[str, float] | str:
    """One engine on one model, in a subprocess: its figures or its error."""
    done = subprocess.run(
        [python, "-c", WORKER, str(path), str(repeat), "ours" if ours else "peer"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return lines[-1][:70] if lines else f"exit {done.returncode}"
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Measure both engines on every model and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pysimlin", default=str(REPO.parent / "peers/pysimlin/bin/python"))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(
        f"{'model':<10} {'engine':<9} {'first ms':>9} {'run ms':>9} {'ns/var-step':>12} "
        f"{'RSS MiB':>8}"
    )
    for name, path in MODELS.items():
        if not path.exists():
            print(f"{name:<10} (missing: {path})")
            continue
        # Read the model's folder once, so neither engine pays for a cold
        # file cache (the first engine measured used to).
        for f in path.parent.iterdir():
            if f.is_file():
                f.read_bytes()
        spec = simlin.load(path).time_spec
        steps = round((spec.stop - spec.start) / spec.dt)
        row: dict[str, dict[str, float] | str] = {}
        for engine, python in (("simlin", sys.executable), ("pysimlin", args.pysimlin)):
            got = measure(python, path, args.repeat, engine == "simlin")
            row[engine] = got
            if isinstance(got, str):
                print(f"{name:<10} {engine:<9} failed: {got}")
                continue
            cells = got["vars"] * steps
            print(
                f"{name:<10} {engine:<9} {got['first'] * 1e3:9.2f} {got['run'] * 1e3:9.3f} "
                f"{got['run'] * 1e9 / cells:12.2f} {got['rss_mib']:8.0f}"
            )
        ours, peer = row.get("simlin"), row.get("pysimlin")
        if isinstance(ours, dict) and isinstance(peer, dict):
            print(
                f"{'':<10} {'ratio':<9} {ours['first'] / peer['first']:9.2f} "
                f"{ours['run'] / peer['run']:9.2f}   (simlin / pysimlin)"
            )
    print()
    print(f"{'model':<10} {'columns':>8} {'to_polars ms':>13} {'to_pandas ms':>13} {'ratio':>6}")
    for name, path in MODELS.items():
        if not path.exists():
            continue
        results = simlin.load(path).run()
        polars_ms = median_ms(results.to_polars, args.repeat)
        pandas_ms = median_ms(results.to_pandas, args.repeat)
        print(
            f"{name:<10} {len(results.names):8d} {polars_ms:13.2f} {pandas_ms:13.2f} "
            f"{pandas_ms / polars_ms:6.2f}"
        )


def median_ms(f: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``f`` after one warm-up, in ms."""
    f()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


if __name__ == "__main__":
    main()
