"""Print each wheel's size and its extension's, and fail past the size budget.

The release's native extension (the stripped `.so`, `.pyd` or `.dylib` in
the wheel) must stay under 10 MB: a larger one is what a dependency change
that drags in Polars' Rust Series machinery again looks like (12.5 MB with
pyo3-polars, 5.2 MB without). Used by `scripts/dev.sh build_wheel` and the
release workflow's check job.

    python scripts/wheel_size.py DIR
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

LIMIT = 10_000_000
EXTENSIONS = (".so", ".pyd", ".dylib")


def main(folder: str) -> int:
    """Check every wheel in `folder`; 1 when one is over budget or empty."""
    wheels = sorted(Path(folder).glob("*.whl"))
    if not wheels:
        print(f"no wheels in {folder}", file=sys.stderr)
        return 1
    bad = 0
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            natives = [i for i in z.infolist() if i.filename.endswith(EXTENSIONS)]
        if not natives:
            print(f"{wheel.name}: no native extension", file=sys.stderr)
            bad += 1
            continue
        for info in natives:
            over = info.file_size >= LIMIT
            bad += over
            print(
                f"{wheel.name}: wheel {wheel.stat().st_size / 1e6:.1f} MB, "
                f"{info.filename} {info.file_size / 1e6:.1f} MB"
                + (f" (over the {LIMIT / 1e6:.0f} MB budget)" if over else "")
            )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist"))
