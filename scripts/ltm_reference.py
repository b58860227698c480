"""Record pysimlin's "Loops That Matter" results as cross-check reference data.

Run with the pysimlin venv, not the project's own environment (both import as
``simlin``; this script needs the peer's)::

    /work/peers/pysimlin/bin/python scripts/ltm_reference.py

Every model file under ``/work/shared/test-models/`` and
``/work/shared/real-models/`` (``.xmile``, ``.stmx``, ``.mdl``, ``.itmx``, any
case, recursively) is analysed in its own child process with a 60 s timeout,
at most two at a time, because the peer hangs or crashes on some models. A
child loads the model, reads the structural loops and links, and, when there
is at least one loop, runs it with ``enable_ltm=True`` and reads every runtime
loop's relative and raw loop score series, the saved time axis and the LTM
mode. Nothing in the project is imported or built.

Writes ``tests/data/ltm_reference.json.gz``: gzip JSON
``{"generator": {...}, "models": {relpath: entry}}``, keyed by the path
relative to ``/work/shared`` (e.g. ``test-models/samples/SIR/SIR.xmile``).
Each entry has:

- ``status``: ``"ok"``, ``"no_loops"`` (loaded, no structural loop; not run)
  or ``"error"``;
- ``error``: ``None`` or ``"<ExceptionType>: <message>"``, ``"timeout after
  60s during <phase>"`` or ``"crash: ..."``. Whatever was read before the
  failure is kept;
- ``mode``: ``"exhaustive"`` / ``"discovery"`` / ``"disabled"`` (LTM was
  requested but the peer left it off) / ``None`` (not reached); for ``no_loops`` it
  is read from a simulation that is created but never run; if that fails the
  status stays ``no_loops`` and ``error`` says ``"reading mode: ..."``);
- ``links``: ``[[from, to, polarity], ...]`` from ``Model.get_links()``,
  polarity ``"+"``, ``"-"`` or ``"?"``;
- ``loops``: ``[{"id", "polarity", "variables"}, ...]`` from
  ``Model.get_loops()`` in the peer's order, polarity as ``str()`` gives it;
- ``runtime_polarity``: ``{loop_id: str}`` from ``Sim.get_loops_runtime()``
  (may differ from the structural polarity; the id does not change);
- ``element_counts``: ``{loop_id: n}`` for arrayed loops only (n > 1); their
  score series are the peer's default signed argmax-abs aggregate over slots;
- ``time_spec``: ``{"start", "stop", "dt"}`` as the peer reads it;
- ``times``: the saved times of the LTM run (every saved step);
- ``relative_scores`` / ``scores``: ``{loop_id: [float | None, ...]}``, same
  length as ``times`` unless ``score_indices`` is set;
- ``loop_errors``: ``{loop_id: message}`` for runtime loops whose series the
  peer could not return (the model's status is then ``"error"``; every other
  loop's series is still stored);
- ``score_indices``: ``None``, or the saved-step indices the score series were
  kept at (see below);
- ``elapsed_s``: wall time of the child.

Floats are rounded to 12 significant digits; NaN and infinities are ``null``.
If the compressed file would exceed 15 MB, every score series longer than 400
points is thinned to at most 400 evenly spaced saved-step indices, always
including the first and last, and those indices go in ``score_indices``
(``times`` stays complete).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

SHARED = Path("/work/shared")
MODEL_ROOTS = (SHARED / "test-models", SHARED / "real-models")
MODEL_SUFFIXES = frozenset({".xmile", ".stmx", ".mdl", ".itmx"})
OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "ltm_reference.json.gz"
TIMEOUT_S = 60.0
WORKERS = 2
MAX_COMPRESSED_BYTES = 15 * 1024 * 1024
MAX_SCORE_POINTS = 400

Entry = dict[str, Any]


def clean(values: Iterable[float]) -> list[float | None]:
    """Round to 12 significant digits; NaN and infinities become None."""
    return [float(f"{v:.12g}") if math.isfinite(v) else None for v in map(float, values)]


def empty_entry() -> Entry:
    """A failed entry with nothing read yet; the child fills it in phase by phase."""
    return {
        "status": "error",
        "error": None,
        "phase": "load",
        "mode": None,
        "links": [],
        "loops": [],
        "runtime_polarity": {},
        "element_counts": {},
        "time_spec": None,
        "times": [],
        "relative_scores": {},
        "scores": {},
        "score_indices": None,
        "loop_errors": {},
    }


def write_json(path: Path, data: Entry) -> None:
    """Replace `path` atomically, so a killed child never leaves half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, allow_nan=False))
    tmp.replace(path)


def read_loop_scores(sim: Any, loop_id: str, entry: Entry) -> None:
    """Store one runtime loop's relative and raw score series in `entry`."""
    relative = clean(sim.get_relative_loop_score(loop_id))
    raw = clean(sim.get_loop_score(loop_id))
    count = sim.get_loop_element_count(loop_id)
    entry["relative_scores"][loop_id] = relative
    entry["scores"][loop_id] = raw
    if count > 1:
        entry["element_counts"][loop_id] = count


def analyse(model_path: Path, out: Path) -> None:
    """Child process body: analyse one model, writing `out` after every phase.

    The file is rewritten as each phase finishes, so a parent that has to kill
    a hung child still finds what was read before the hang.
    """
    import simlin

    entry = empty_entry()
    try:
        model = simlin.load(model_path)
        spec = model.time_spec
        entry["time_spec"] = {"start": spec.start, "stop": spec.stop, "dt": spec.dt}
        entry["phase"] = "links"
        write_json(out, entry)
        entry["links"] = [
            [link.from_var, link.to_var, str(link.polarity)] for link in model.get_links()
        ]
        entry["phase"] = "loops"
        write_json(out, entry)
        loops = model.get_loops()
        entry["loops"] = [
            {"id": lp.id, "polarity": str(lp.polarity), "variables": list(lp.variables)}
            for lp in loops
        ]
        if not loops:
            entry["status"] = "no_loops"
            entry["phase"] = "mode"
            write_json(out, entry)
            try:
                with model.simulate(enable_ltm=True) as sim:
                    entry["mode"] = str(sim.get_ltm_mode())
            except Exception as exc:
                entry["error"] = f"reading mode: {type(exc).__name__}: {exc}"
            entry["phase"] = "done"
            write_json(out, entry)
            return
        entry["phase"] = "ltm"
        write_json(out, entry)
        with model.simulate(enable_ltm=True) as sim:
            entry["mode"] = str(sim.get_ltm_mode())
            sim.run_to_end()
            entry["phase"] = "scores"
            write_json(out, entry)
            entry["times"] = clean(sim.get_series("time"))
            for lp in sim.get_loops_runtime():
                entry["runtime_polarity"][lp.id] = str(lp.polarity)
                try:
                    read_loop_scores(sim, lp.id, entry)
                except Exception as exc:
                    entry["loop_errors"][lp.id] = f"{type(exc).__name__}: {exc}"
            if entry["loop_errors"]:
                first = next(iter(entry["loop_errors"].items()))
                entry["error"] = (
                    f"{len(entry['loop_errors'])} loop(s) without scores, first {first[0]}: "
                    f"{first[1]}"
                )
            else:
                entry["status"] = "ok"
    except Exception as exc:
        entry["status"] = "error"
        entry["error"] = f"{type(exc).__name__}: {exc}"
    entry["phase"] = "done"
    write_json(out, entry)


def run_child(model_path: Path, workdir: Path, index: int) -> Entry:
    """Analyse one model in a child process; turn timeouts and crashes into entries."""
    out = workdir / f"{index}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(model_path), str(out)]
    start = time.monotonic()
    failure: str | None = None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-3:]
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
            failure = f"crash: {how}" + (f": {' | '.join(tail)}" if tail else "")
    except subprocess.TimeoutExpired:
        failure = f"timeout after {TIMEOUT_S:g}s"
    elapsed = time.monotonic() - start

    entry = json.loads(out.read_text()) if out.exists() else empty_entry()
    if failure is not None and entry["status"] == "no_loops":
        entry["error"] = f"reading mode: {failure}"  # loops and links are complete
    elif failure is not None:
        entry["status"] = "error"
        entry["error"] = f"{failure} during {entry['phase']}"
    entry.pop("phase", None)
    entry["elapsed_s"] = round(elapsed, 3)
    return entry


def model_files() -> list[Path]:
    """Every model file under the model roots, sorted."""
    return sorted(
        path
        for root in MODEL_ROOTS
        for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in MODEL_SUFFIXES
    )


def kept_indices(n: int, limit: int = MAX_SCORE_POINTS) -> list[int]:
    """At most `limit` evenly spaced indices into range(n), first and last included."""
    if n <= limit:
        return list(range(n))
    return sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})


def thin_scores(entry: Entry) -> None:
    """Keep each long score series only at `kept_indices`, recording them."""
    n = len(entry["times"])
    if n <= MAX_SCORE_POINTS:
        return
    keep = kept_indices(n)
    entry["score_indices"] = keep
    for key in ("relative_scores", "scores"):
        entry[key] = {
            loop_id: [series[i] for i in keep] if len(series) == n else series
            for loop_id, series in entry[key].items()
        }


def encode(document: dict[str, Any]) -> bytes:
    """Compact, reproducible gzip JSON (no timestamp in the gzip header)."""
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def main() -> None:
    """Analyse every model (or, with --child, one model) and write the output."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.child:
        analyse(Path(args.child[0]), Path(args.child[1]))
        return

    import simlin

    if not hasattr(simlin, "load") or not hasattr(simlin.Model, "get_loops"):
        sys.exit("this is not pysimlin: run with /work/peers/pysimlin/bin/python")

    paths = model_files()
    started = time.monotonic()
    models: dict[str, Entry] = {}
    with (
        tempfile.TemporaryDirectory(prefix="ltm_reference_") as tmp,
        ThreadPoolExecutor(max_workers=WORKERS) as pool,
    ):
        futures = [pool.submit(run_child, p, Path(tmp), i) for i, p in enumerate(paths)]
        for path, future in zip(paths, futures, strict=True):
            entry = future.result()
            models[path.relative_to(SHARED).as_posix()] = entry
            print(f"{entry['status']:8} {entry['elapsed_s']:7.2f}s  {path}", flush=True)

    document: dict[str, Any] = {
        "generator": {
            "script": "scripts/ltm_reference.py",
            "peer": f"pysimlin {getattr(simlin, '__version__', '?')}",
            "timeout_s": TIMEOUT_S,
            "significant_digits": 12,
            "thinned_to": None,
        },
        "models": models,
    }
    data = encode(document)
    if len(data) > MAX_COMPRESSED_BYTES:
        for entry in models.values():
            thin_scores(entry)
        document["generator"]["thinned_to"] = MAX_SCORE_POINTS
        data = encode(document)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)

    counts: dict[str, int] = {}
    for entry in models.values():
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    print(
        f"{len(models)} models {counts} in {time.monotonic() - started:.1f}s; "
        f"wrote {args.output} ({len(data)} bytes)",
        flush=True,
    )


if __name__ == "__main__":
    main()
