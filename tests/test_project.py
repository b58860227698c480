from __future__ import annotations

from pathlib import Path

import pytest

import simlin
from simlin import ErrorCode, SimlinImportError


def test_load_returns_main_model(teacup_path: Path) -> None:
    model = simlin.load(teacup_path)
    assert isinstance(model, simlin.Model)
    assert "Teacup Temperature" in [v.name for v in model.variables]


def test_load_accepts_str_path(teacup_path: Path) -> None:
    assert isinstance(simlin.load(str(teacup_path)), simlin.Model)


def test_project_from_file(teacup_path: Path) -> None:
    project = simlin.Project.from_file(teacup_path)
    assert project.name == "teacup test"
    assert len(project.models) == 1
    assert isinstance(project.warnings, list)
    assert all(isinstance(w, str) for w in project.warnings)
    assert [v.name for v in project.main_model.variables] == [
        v.name for v in project.get_model().variables
    ]


def test_project_from_xmile_text_and_bytes(teacup_path: Path) -> None:
    text = teacup_path.read_text(encoding="utf-8")
    for source in (text, text.encode("utf-8")):
        project = simlin.Project.from_xmile(source)
        assert project.main_model.time_spec.stop == 30.0


def test_get_model_unknown() -> None:
    project = simlin.Project.from_file(Path(__file__).parent / "data" / "teacup.xmile")
    with pytest.raises(SimlinImportError) as info:
        project.get_model("no such model")
    assert info.value.code is ErrorCode.UNKNOWN_MODEL


@pytest.mark.parametrize("name", ["model.txt", "model", "model.json"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("whatever")
    with pytest.raises(SimlinImportError) as info:
        simlin.load(path)
    assert info.value.code is ErrorCode.UNSUPPORTED_FORMAT


def test_malformed_mdl(tmp_path: Path) -> None:
    path = tmp_path / "model.mdl"
    path.write_text("whatever")
    with pytest.raises(SimlinImportError) as info:
        simlin.load(path)
    assert info.value.code is ErrorCode.MDL_SYNTAX


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SimlinImportError) as info:
        simlin.load(tmp_path / "missing.xmile")
    assert info.value.code is ErrorCode.IO


@pytest.mark.parametrize("ext", [".xmile", ".stmx", ".itmx", ".xml", ".XMILE"])
def test_supported_extensions(tmp_path: Path, teacup_path: Path, ext: str) -> None:
    path = tmp_path / f"teacup{ext}"
    path.write_bytes(teacup_path.read_bytes())
    assert simlin.load(path).time_spec.dt == 0.125


def test_path_type_error() -> None:
    with pytest.raises(TypeError):
        simlin.load(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        simlin.Project.from_xmile(3.5)  # type: ignore[arg-type]


def test_not_xmile() -> None:
    with pytest.raises(SimlinImportError) as info:
        simlin.Project.from_xmile("<html><body>hello</body></html>")
    assert info.value.code is ErrorCode.NOT_XMILE


def test_non_utf8_bytes() -> None:
    with pytest.raises(SimlinImportError) as info:
        simlin.Project.from_xmile(b"\xff\xfe<xmile/>")
    assert info.value.code is ErrorCode.MALFORMED_XML


def test_sdxorg_teacup(test_models: Path) -> None:
    path = test_models / "samples" / "teacup" / "teacup.xmile"
    if not path.exists():
        pytest.skip("teacup sample not in this checkout")
    model = simlin.load(path)
    results = model.run()
    assert results["teacup temperature"][0] == pytest.approx(180.0)
    assert results["heat loss to room"][0] == pytest.approx(11.0)


def test_sdxorg_samples_load(test_models: Path) -> None:
    paths = sorted((test_models / "samples").glob("*/*.xmile"))
    if not paths:
        pytest.skip("no XMILE samples in this checkout")
    loaded = 0
    for path in paths:
        project = simlin.Project.from_file(path)
        assert project.models
        loaded += 1
    assert loaded == len(paths)


def test_project_with_modules(data_dir: Path) -> None:
    project = simlin.Project.from_file(data_dir / "module.xmile")
    assert [m.name for m in project.models][1:] == ["accumulator"]
    sub = project.get_model("Accumulator")
    assert [v.kind for v in sub.stocks] == ["stock"]
    main = project.main_model
    assert [v.kind for v in main.variables if v.name == "accumulator"] == ["module"]
    results = main.run()
    # level starts at 10 and fills at rate 2 per time unit
    assert results["total"][0] == 10.0
    assert results["total"][-1] == pytest.approx(20.0)
