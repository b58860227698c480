"""Loop analysis cost: loop enumeration, LTM single runs and LTM sweeps.

Run from the repository root, in the dev environment::

    .venv/bin/python benches/ltm_bench.py [--pysimlin PYTHON] [--repeat 20]

Reports, in one run on this machine, for the SDXorg SIR, Workforce and
Lotka-Volterra samples, WRLD3-03 and the 1,000-region arrayed SIR:

* ``loops``: ``Model.loops()`` (flatten + links + Johnson), ms, and the
  mode and number of loops;
* ``run`` and ``ltm``: the median of ``--repeat`` warm ``Model.run()`` and
  ``Model.run(ltm=True)`` (ms) and their ratio;
* pysimlin 0.8.5's warm LTM run (``simulate(enable_ltm=True)`` +
  ``run_to_end``) in its own virtual environment, where it scores loops;

then, for SIR, a 2,000-run sweep with ``reduce="final"`` against the same
sweep with ``ltm="relative", reduce="final"`` and ``ltm="dominance"``, the
latter also with ``save_step=1`` (saves 32 steps apart).
Not a test: no assertions on timings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MODELS = {
    "SIR": SHARED / "test-models" / "samples" / "SIR" / "SIR.xmile",
    "Workforce": SHARED / "test-models" / "samples" / "Workforce" / "workforce.mdl",
    "Lotka-Volterra": SHARED / "test-models" / "samples" / "Lotka_Volterra" / "Lotka_Volterra.mdl",
    "WRLD3-03": SHARED / "real-models" / "WRLD3-03" / "wrld3-03.mdl",
    "SIR x1000": SHARED / "bench-models" / "sir_array_1000.mdl",
}

PEER = """
import json, statistics, sys, time
import simlin
m = simlin.load(sys.argv[1])
out = {}
try:
    with m.simulate(enable_ltm=True) as s:
        s.run_to_end()
    times = []
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter()
        with m.simulate(enable_ltm=True) as s:
            s.run_to_end()
        times.append(time.perf_counter() - t)
    out["ltm"] = statistics.median(times) * 1000
    out["loops"] = len(m.get_loops())
except Exception as e:
    out["error"] = type(e).__name__
print(json.dumps(out))
"""


def median_ms(f: object, repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``f``, in ms."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    """Print the two tables."""
    import polars as pl

    import simlin

    ap = argparse.ArgumentParser()
    peer = REPO.parent / "peers" / "pysimlin" / "bin" / "python"
    ap.add_argument("--pysimlin", default=str(peer))
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    print("| model | mode | loops | loops() ms | run ms | ltm ms | ltm/run | pysimlin ltm ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, path in MODELS.items():
        m = simlin.load(path)
        t = time.perf_counter()
        loops = m.loops()
        t_loops = (time.perf_counter() - t) * 1000
        m.run()
        r = m.run(ltm=True)
        run = median_ms(m.run, args.repeat)
        ltm = median_ms(lambda: m.run(ltm=True), args.repeat)  # noqa: B023
        peer: dict[str, object] = {}
        if Path(args.pysimlin).exists():
            done = subprocess.run(
                [args.pysimlin, "-c", PEER, str(path), str(args.repeat)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            peer = json.loads(done.stdout) if done.returncode == 0 else {"error": "crashed"}
        peer_s = f"{peer['ltm']:.2f}" if "ltm" in peer else str(peer.get("error", "-"))
        n = loops.height if r.mode == "exhaustive" else r.loops().height
        print(
            f"| {name} | {r.mode} | {n} | {t_loops:.1f} | {run:.2f} | {ltm:.2f} "
            f"| {ltm / run:.1f}x | {peer_s} |"
        )
    m = simlin.load(MODELS["SIR"])
    params = pl.DataFrame({"contact infectivity": [0.1 + 0.4 * i / 1999 for i in range(2000)]})
    m.sweep(params.head(10), reduce="final")
    m.sweep(params.head(10), ltm="relative", reduce="final")
    plain = median_ms(lambda: m.sweep(params, reduce="final"), 5)
    rel = median_ms(lambda: m.sweep(params, ltm="relative", reduce="final"), 5)
    dom = median_ms(lambda: m.sweep(params, ltm="dominance"), 3)
    # Saved every 32 steps (save_step=1): every saved time scored from the
    # plain runs' values instead of by the instrumented model.
    plain1 = median_ms(lambda: m.sweep(params, reduce="final", save_step=1), 5)
    dom1 = median_ms(lambda: m.sweep(params, ltm="dominance", save_step=1), 3)
    print()
    print("| SIR, 2,000 runs | ms | vs reduce='final' |")
    print("| --- | --- | --- |")
    print(f"| reduce='final' | {plain:.1f} | 1.0x |")
    print(f"| ltm='relative', reduce='final' | {rel:.1f} | {rel / plain:.1f}x |")
    print(f"| ltm='dominance' (every step saved) | {dom:.1f} | {dom / plain:.1f}x |")
    print(f"| reduce='final', save_step=1 | {plain1:.1f} | 1.0x |")
    print(f"| ltm='dominance', save_step=1 | {dom1:.1f} | {dom1 / plain1:.1f}x |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
