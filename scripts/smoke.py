"""Smoke test of an installed simlin wheel: load, run, sweep, plugin, CLI.

Run from outside the source tree (so ``import simlin`` finds the installed
wheel, not ``python/``) with the path of a model::

    python scripts/smoke.py examples/teacup.xmile
    python scripts/smoke.py examples/teacup.xmile --core   # no Polars here

``--core`` skips the sweep and the Polars plugin, for platforms where Polars
publishes no wheel. Prints one line per check and exits non-zero on the first
failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def main() -> int:
    """Run the checks; 0 if all passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--core", action="store_true", help="skip the Polars checks")
    args = parser.parse_args()

    import simlin

    here = os.path.dirname(os.path.abspath(simlin.__file__))
    print(f"simlin {simlin.__version__} from {here}")
    model = simlin.load(args.model)
    with model.run() as results:
        assert len(results) > 1 and results.names, "empty results"
        first = results.names[0]
        print(f"run: {len(results)} times x {len(results.names)} variables; {first} ok")
    cli = subprocess.run(
        [sys.executable, "-m", "simlin", "run", args.model],
        capture_output=True,
        text=True,
        check=True,
    )
    assert cli.stdout.startswith("time,"), cli.stdout[:80]
    print(f"cli: {len(cli.stdout.splitlines())} CSV lines")
    if args.core:
        print("sweep, plugin: skipped (--core)")
        return 0

    import polars as pl

    constant = next(v.name for v in model.auxs if _is_number(v.equation))
    params = pl.DataFrame({constant: [float(i) for i in range(1, 9)]})
    frame = model.sweep(params, reduce="final")
    assert frame.height == 8, frame
    print(f"sweep: {frame.height} runs over {constant!r}")
    out = params.select(
        simlin.simulate(model, pl.struct(constant), outputs=[first], reduce="final")
    )
    assert out.height == 8, out
    print(f"plugin: {out.height} rows")
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
