"""Every Python example of the README and docs/*.md runs.

Each file's ```python blocks run in order in one namespace (later blocks use
what earlier ones defined, as a reader would), from a folder holding the
files the examples name: ``examples/teacup.xmile``, ``model.mdl`` (the
Vensim teacup), ``history.tab``, ``SIR.xmile`` (the SDXorg sample) and a
``params/`` Parquet dataset.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.fixture
def workdir(tmp_path: Path, test_models: Path) -> Iterator[Path]:
    import polars as pl

    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "teacup.xmile", tmp_path / "examples")
    shutil.copy(REPO / "tests" / "data" / "teacup.mdl", tmp_path / "model.mdl")
    (tmp_path / "history.tab").write_text("Time\t0\t30\nRoom Temperature\t70\t70\n")
    shutil.copy(test_models / "samples" / "SIR" / "SIR.xmile", tmp_path)
    (tmp_path / "params").mkdir()
    pl.DataFrame({"Characteristic Time": [5.0, 10.0, 20.0, 40.0]}).write_parquet(
        tmp_path / "params" / "part0.parquet"
    )
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_examples_run(doc: Path, workdir: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("xarray")
    pytest.importorskip("distributed")
    import matplotlib

    matplotlib.use("Agg")
    code = blocks(doc)
    if not code:
        pytest.skip(f"{doc.name} has no Python examples")
    namespace: dict[str, object] = {"__name__": f"docs_{doc.stem}"}
    try:
        for i, block in enumerate(code):
            try:
                exec(compile(block, f"{doc.name} example {i + 1}", "exec"), namespace)
            except Exception as e:
                raise AssertionError(f"{doc.name}, example {i + 1} failed: {e!r}") from e
    finally:
        client = namespace.get("client")
        close = getattr(client, "close", None)
        if callable(close):
            close()
    if doc.name == "README.md":
        assert (workdir / "runs").is_dir()  # the Dask example wrote its dataset
