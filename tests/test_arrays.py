"""Arrayed variables from Python: N-dimensional results and array overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simlin
from simlin import ErrorCode, SimlinRuntimeError


@pytest.fixture
def arrays(data_dir: Path) -> simlin.Model:
    return simlin.load(data_dir / "arrays.xmile")


def test_variables_report_their_dimensions(arrays: simlin.Model) -> None:
    dims = {v.name: v.dimensions for v in arrays.variables}
    assert dims["stock"] == ("Region", "Size")
    assert dims["total"] == ()


def test_arrayed_result_is_time_first_and_shaped(arrays: simlin.Model) -> None:
    r = arrays.run()
    stock = r["stock"]
    assert stock.shape == (3, 2, 3)
    assert not stock.flags.writeable
    np.testing.assert_allclose(stock[0], np.full((2, 3), 10.0))
    np.testing.assert_allclose(stock[2, 0], np.full(3, 10.0 * 1.1**2))
    np.testing.assert_allclose(stock[2, 1], np.full(3, 10.0 * 1.2**2))
    # Elements stay addressable as their own columns.
    np.testing.assert_allclose(r["stock[South,Huge]"], stock[:, 1, 2])
    assert "stock[North,Small]" in r.names


def test_scalar_array_and_mapping_overrides(arrays: simlin.Model) -> None:
    everywhere = arrays.run({"base": 1.0})
    assert everywhere["total"][0] == pytest.approx(6.0)
    per_element = arrays.run({"base": np.arange(6.0).reshape(2, 3)})
    np.testing.assert_allclose(per_element["stock"][0], np.arange(6.0).reshape(2, 3))
    as_list = arrays.run({"growth": [0.0, 0.5]})
    assert as_list["stock"][1, 1, 0] == pytest.approx(15.0)
    as_mapping = arrays.run({"growth": {"North": 0.0, "South": 0.5}})
    np.testing.assert_allclose(as_mapping["stock"], as_list["stock"])
    by_element: dict[tuple[str, ...], float] = {("South", "Large"): 7.0}
    two_dims = arrays.run({"base": by_element})
    assert two_dims["stock[South,Large]"][0] == 7.0


def test_wrong_shape_is_a_clear_error(arrays: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as info:
        arrays.run({"base": [1.0, 2.0]})
    assert info.value.code is ErrorCode.BAD_OVERRIDE
    assert "expected 6 values" in str(info.value)
