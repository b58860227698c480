"""Draw docs/img/sir_loops.png: SIR's relative loop scores over time.

Needs matplotlib (not a dependency of simlin)::

    .venv/bin/python scripts/plot_sir_loops.py   # with matplotlib installed
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

import simlin

REPO = Path(__file__).resolve().parent.parent
SIR = REPO.parent / "shared" / "test-models" / "samples" / "SIR" / "SIR.xmile"

model = simlin.load(SIR)
run = model.run(ltm=True)
names = {r[0]: " → ".join([*r[2], r[2][0]]) for r in model.loops().iter_rows()}
scores = run.loop_scores()
fig, ax = plt.subplots(figsize=(8, 4))
for loop, part in scores.partition_by("loop", as_dict=True).items():
    ax.plot(part["time"], part["relative_score"], label=f"{loop[0]}: {names[str(loop[0])]}")
for start, end, loops in run.dominant_loops().select("start", "end", "loops").iter_rows():
    ax.axvline(start, color="grey", lw=0.5, ls=":")
    ax.text((start + end) / 2, 1.02, "+".join(loops), ha="center", fontsize=7)
ax.set_xlabel("time")
ax.set_ylabel("relative loop score")
ax.set_ylim(-1.05, 1.1)
ax.legend(fontsize=8, loc="lower right")
ax.set_title("SIR: which loop drives the epidemic (dominant loops on top)", fontsize=10)
fig.tight_layout()
fig.savefig(REPO / "docs" / "img" / "sir_loops.png", dpi=110)
print(pl.DataFrame(run.dominant_loops()))
