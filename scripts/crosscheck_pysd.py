"""Cross-check simlin against PySD on every model file under a folder.

Run from the repository root, in the dev environment::

    .venv/bin/python scripts/crosscheck_pysd.py FOLDER [--pysd PYTHON] [--method euler]

Models we have no reference output for (public models, a modeler's own
folder) can still be checked against the other engine: each `.mdl`,
`.xmile`, `.stmx` and `.itmx` under FOLDER is loaded and run by simlin and by
PySD (``--pysd`` is the Python of a separate virtual environment with PySD
installed; default ``../peers/pysd/bin/python`` beside the repository), each
in its own subprocess with a time limit, and every column both engines name
alike is compared at every time both saved. PySD integrates with Euler
whatever the file's settings say, so simlin runs with ``--method`` (default
``euler``) too. Prints one line per model (loaded or the error, and the
columns that differ by more than 1e-6 relative) and a summary. Not a test:
random draws and a model's own method legitimately differ.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
SUFFIXES = (".mdl", ".xmile", ".stmx", ".itmx")

# Runs inside each engine's environment: writes the run as CSV, prints OK or ERR.
WORKER = r"""
import sys, warnings
engine, path, out, method = sys.argv[1:5]
warnings.filterwarnings("ignore")
try:
    if engine == "simlin":
        import simlin
        frame = simlin.load(path).run(method=method).to_pandas()
    else:
        import pysd
        read = pysd.read_vensim if path.lower().endswith(".mdl") else pysd.read_xmile
        frame = read(path).run()
    frame.to_csv(out)
    print("OK")
except BaseException as e:
    print("ERR", (type(e).__name__ + ": " + str(e)).replace("\n", " ")[:200])
"""


def canonical(name: str) -> str:
    """A column name as both engines would spell it."""
    name = name.lower().replace('"', "")
    name = re.sub(r"\s*,\s*", ",", name)
    return re.sub(r"[\s_]+", "_", name).strip("_")


def run(python: str, engine: str, path: Path, out: Path, method: str) -> str:
    """One engine on one model: ``OK`` or ``ERR ...``."""
    try:
        done = subprocess.run(
            [python, "-c", WORKER, engine, str(path), str(out), method],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        return "ERR timeout (300 s)"
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else "ERR " + done.stderr.strip()[-200:]


def compare(ours: Path, theirs: Path) -> tuple[int, list[tuple[float, str]]]:
    """Columns compared, and those differing by more than 1e-6 relative."""
    a = pd.read_csv(ours, index_col=0)
    b = pd.read_csv(theirs, index_col=0)
    a.columns = [canonical(str(c)) for c in a.columns]
    b.columns = [canonical(str(c)) for c in b.columns]
    a.index = np.round(a.index.astype(float), 9)
    b.index = np.round(b.index.astype(float), 9)
    times = a.index.intersection(b.index)
    common = [c for c in a.columns if c in b.columns and c != "time"]
    worst = []
    for c in common:
        x = pd.to_numeric(a.loc[times, c], errors="coerce").to_numpy(float)
        y = pd.to_numeric(b.loc[times, c], errors="coerce").to_numpy(float)
        scale = np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-9)
        rel = np.where(np.isnan(x) & np.isnan(y), 0.0, np.abs(x - y) / scale)
        rel = np.nan_to_num(rel, nan=np.inf)
        if len(rel) and rel.max() > 1e-6:
            worst.append((float(rel.max()), c))
    return len(common), sorted(worst, reverse=True)


def main() -> int:
    """Check every model under the folder; print a line each and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pysd", default=str(REPO.parent / "peers/pysd/bin/python"))
    parser.add_argument("--method", default="euler", choices=["euler", "rk2", "rk4"])
    args = parser.parse_args()
    models = sorted(
        Path(d) / f
        for d, _, files in os.walk(args.folder)
        for f in files
        if f.lower().endswith(SUFFIXES)
    )
    counts = {"models": 0, "simlin ok": 0, "pysd ok": 0, "both": 0, "agree": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for k, path in enumerate(models):
            ours, theirs = Path(tmp, f"{k}.simlin.csv"), Path(tmp, f"{k}.pysd.csv")
            a = run(sys.executable, "simlin", path, ours, args.method)
            b = run(args.pysd, "pysd", path, theirs, args.method)
            counts["models"] += 1
            counts["simlin ok"] += a == "OK"
            counts["pysd ok"] += b == "OK"
            line = f"{path}: simlin {a[:120]} | pysd {b[:80]}"
            if a == "OK" and b == "OK":
                n, worst = compare(ours, theirs)
                counts["both"] += 1
                counts["agree"] += not worst
                shown = ", ".join(f"{c} {r:.2g}" for r, c in worst[:3])
                line += f" | {n} columns, {len(worst)} differ" + (f": {shown}" if worst else "")
            print(line, flush=True)
    print(", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
