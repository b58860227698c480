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


def test_sim_get_value_of_an_array_has_its_shape(arrays: simlin.Model) -> None:
    with arrays.simulate() as sim:
        base = sim.get_value("base")
        assert isinstance(base, np.ndarray)
        assert base.shape == (2, 3)
        np.testing.assert_allclose(base, np.full((2, 3), 10.0))
        growth = sim.get_value("Growth")
        np.testing.assert_allclose(growth, [0.1, 0.2])
        # One element stays a float.
        assert sim.get_value("stock[South,Large]") == 10.0
        assert isinstance(sim.get_value("total"), float)


def test_sim_set_value_on_arrays(arrays: simlin.Model) -> None:
    with arrays.simulate() as sim:
        sim.set_value("growth", 0.5)  # every element
        np.testing.assert_allclose(sim.get_value("growth"), [0.5, 0.5])
        sim.set_value("stock", np.arange(6.0).reshape(2, 3))
        np.testing.assert_allclose(sim.get_value("stock"), np.arange(6.0).reshape(2, 3))
        assert sim.get_value("total") == pytest.approx(15.0)
        sim.set_value("growth", {"South": 1.0})  # only that element
        np.testing.assert_allclose(sim.get_value("growth"), [0.5, 1.0])
        by_tuple: dict[tuple[str, ...], float] = {("North", "Huge"): 100.0}
        sim.set_value("stock", by_tuple)
        sim.set_value("stock", {"South, Small": 200.0, "South,Huge": 300.0})
        stock = sim.get_value("stock")
        assert isinstance(stock, np.ndarray)
        assert (stock[0, 2], stock[1, 0], stock[1, 2]) == (100.0, 200.0, 300.0)
        sim.set_value("stock", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])  # flat, row-major
        sim.run_to(1)
        np.testing.assert_allclose(sim.get_value("stock"), [[1.5, 3.0, 4.5], [8.0, 10.0, 12.0]])


def test_sim_set_value_wrong_shape_changes_nothing(arrays: simlin.Model) -> None:
    with arrays.simulate() as sim:
        for bad in (np.zeros((3, 2)), np.zeros(5), [1.0, 2.0], np.zeros((2, 3, 1))):
            with pytest.raises(SimlinRuntimeError) as info:
                sim.set_value("base", bad)
            assert info.value.code is ErrorCode.BAD_OVERRIDE
            assert info.value.variable is not None
        with pytest.raises(SimlinRuntimeError) as info:
            sim.set_value("stock", {"North,Small": 1.0, "Nowhere,Small": 2.0})
        assert info.value.code is ErrorCode.BAD_OVERRIDE
        # A flow is computed from other variables: not settable.
        with pytest.raises(SimlinRuntimeError) as info:
            sim.set_value("gain", 1.0)
        assert info.value.code is ErrorCode.BAD_OVERRIDE
        np.testing.assert_allclose(sim.get_value("base"), np.full((2, 3), 10.0))
        np.testing.assert_allclose(sim.get_value("stock"), np.full((2, 3), 10.0))
        with pytest.raises(simlin.SimlinTypeError):
            sim.set_value("base", "ten")  # type: ignore[arg-type]


def test_run_rejects_a_transposed_array(arrays: simlin.Model) -> None:
    # Six values, but shape (3, 2) for a (2, 3) variable: a transposition
    # mistake, not a flat list, so it is refused instead of reinterpreted.
    with pytest.raises(SimlinRuntimeError) as info:
        arrays.run({"base": np.arange(6.0).reshape(3, 2)})
    assert info.value.code is ErrorCode.BAD_OVERRIDE
    assert "shape (2, 3)" in str(info.value)
    # The same values flat, or in the right shape, are accepted.
    arrays.run({"base": np.arange(6.0)})
    arrays.run({"base": np.arange(6.0).reshape(2, 3)})
