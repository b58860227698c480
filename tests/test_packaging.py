"""The installed package: coexistence with pysimlin."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import simlin
from simlin import _conflict


def copy_package(tmp_path: Path) -> Path:
    """This package (native module included) copied to ``tmp_path/simlin``."""
    source = Path(simlin.__file__).parent
    target = tmp_path / "simlin"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def python_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Python with only ``root`` on its path (and nothing else inherited)."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(root), "PATH": ""},
        cwd=root,
    )


def import_from(root: Path) -> subprocess.CompletedProcess[str]:
    return python_in(root, "-c", "import simlin; print(simlin.__file__)")


def test_a_clean_copy_imports(tmp_path: Path) -> None:
    package = copy_package(tmp_path)
    proc = import_from(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(package / "__init__.py")


@pytest.mark.parametrize("marker", _conflict.PYSIMLIN_FILES)
def test_pysimlin_files_in_the_folder_refuse_the_import(tmp_path: Path, marker: str) -> None:
    package = copy_package(tmp_path)
    (package / marker).write_text("# written by pysimlin\n")
    proc = import_from(tmp_path)
    assert proc.returncode != 0
    message = proc.stderr[proc.stderr.index("ImportError:") :]
    assert "pysimlin" in message and marker in message
    assert "pip uninstall -y pysimlin simlin && pip install simlin" in message


def test_the_cli_checks_too(tmp_path: Path) -> None:
    package = copy_package(tmp_path)
    (package / "_ffi.py").write_text("")
    proc = python_in(tmp_path, "-m", "simlin.cli", "--version")
    assert proc.returncode != 0
    assert "pysimlin" in proc.stderr


def test_check_lists_what_it_found(tmp_path: Path) -> None:
    assert _conflict.mixed_with_pysimlin(str(tmp_path)) == []
    (tmp_path / "vdf.py").write_text("")
    (tmp_path / "_ffi.py").write_text("")
    assert _conflict.mixed_with_pysimlin(str(tmp_path)) == ["_ffi.py", "vdf.py"]
    with pytest.raises(ImportError, match=r"_ffi\.py, vdf\.py"):
        _conflict.check_not_mixed(str(tmp_path))


def _wheel(folder: Path, name: str, files: dict[str, int]) -> None:
    with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as z:
        for path, size in files.items():
            z.writestr(path, b"\0" * size)


def test_wheel_size_budget(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "wheel_size.py"
    if not script.exists():
        pytest.skip("run from a source checkout")

    def check(*wheels: tuple[str, dict[str, int]]) -> subprocess.CompletedProcess[str]:
        folder = tmp_path / f"d{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for name, files in wheels:
            _wheel(folder, name, files)
        return subprocess.run(
            [sys.executable, str(script), str(folder)], capture_output=True, text=True, check=False
        )

    small = ("a-1-cp310-abi3-linux_x86_64.whl", {"simlin/_simlin.abi3.so": 5_000_000})
    big = ("b-1-cp310-abi3-win_amd64.whl", {"simlin/_simlin.pyd": 10_000_000})
    bare = ("c-1-py3-none-any.whl", {"simlin/__init__.py": 10})
    ok = check(small)
    assert ok.returncode == 0, ok.stderr
    assert "_simlin.abi3.so 5.0 MB" in ok.stdout
    over = check(small, big)
    assert over.returncode == 1
    assert "over the 10 MB budget" in over.stdout
    assert check(bare).returncode == 1
    assert check().returncode == 1
