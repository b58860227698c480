"""Shared fixtures: paths to the hand-written test models and the SDXorg suite."""

from __future__ import annotations

from pathlib import Path

import pytest

import simlin

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def teacup_path() -> Path:
    return DATA / "teacup.xmile"


@pytest.fixture
def teacup(teacup_path: Path) -> simlin.Model:
    return simlin.load(teacup_path)


@pytest.fixture
def graphical() -> simlin.Model:
    return simlin.load(DATA / "graphical.xmile")


@pytest.fixture
def fragile() -> simlin.Model:
    """A stock that divides by the constant `divisor`: 0 makes it infinite at once."""
    return simlin.load(DATA / "fragile.xmile")


@pytest.fixture
def test_models() -> Path:
    """The SDXorg test-model suite, checked out beside the repository."""
    for candidate in (REPO.parent / "shared" / "test-models", REPO / "shared" / "test-models"):
        if candidate.is_dir():
            return candidate
    pytest.skip("SDXorg test-models not found beside the repository")
