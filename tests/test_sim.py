from __future__ import annotations

import numpy as np
import pytest

import simlin
from simlin import ErrorCode, SimlinRuntimeError


def test_initial_state(teacup: simlin.Model) -> None:
    with teacup.simulate() as sim:
        assert sim.time == 0.0
        assert sim.get_value("Teacup Temperature") == 180.0
        assert sim.get_value("heat_loss_to_room") == pytest.approx(11.0)
        assert not sim.is_done


def test_run_to_and_end(teacup: simlin.Model) -> None:
    full = teacup.run()
    with teacup.simulate() as sim:
        sim.run_to(10)
        assert sim.time == pytest.approx(10.0)
        expected_at_10 = full["teacup temperature"][80]
        assert sim.get_value("teacup temperature") == pytest.approx(expected_at_10, rel=1e-12)
        sim.run_to_end()
        assert sim.is_done
        assert sim.time == pytest.approx(30.0)
        results = sim.results()
        np.testing.assert_allclose(results["teacup temperature"], full["teacup temperature"])


def test_set_value_changes_trajectory(teacup: simlin.Model) -> None:
    with teacup.simulate() as sim:
        sim.run_to(5)
        sim.set_value("room temperature", 180.0)
        at_5 = sim.get_value("teacup temperature")
        sim.run_to(15)
        # with the room as hot as the tea started, it warms toward 180 again
        assert sim.get_value("teacup temperature") > at_5


def test_set_value_on_stock(teacup: simlin.Model) -> None:
    with teacup.simulate() as sim:
        sim.run_to(1)
        sim.set_value("teacup temperature", 70.0)
        assert sim.get_value("heat loss to room") == pytest.approx(0.0)


def test_set_value_on_flow_rejected(teacup: simlin.Model) -> None:
    with teacup.simulate() as sim, pytest.raises(SimlinRuntimeError) as info:
        sim.set_value("heat loss to room", 3.0)
    assert info.value.code is ErrorCode.BAD_OVERRIDE


def test_unknown_variable(teacup: simlin.Model) -> None:
    with teacup.simulate() as sim, pytest.raises(SimlinRuntimeError) as info:
        sim.get_value("nope")
    assert info.value.variable == "nope"


def test_reset(teacup: simlin.Model) -> None:
    with teacup.simulate() as sim:
        sim.run_to(20)
        sim.reset()
        assert sim.time == 0.0
        assert sim.get_value("teacup temperature") == 180.0


def test_overrides_apply(teacup: simlin.Model) -> None:
    with teacup.simulate({"teacup temperature": 70.0}, method="rk4") as sim:
        sim.run_to_end()
        assert sim.get_value("teacup temperature") == pytest.approx(70.0)


def test_close_and_use_after_close(teacup: simlin.Model) -> None:
    sim = teacup.simulate()
    assert not sim.closed
    sim.close()
    assert sim.closed
    sim.close()  # idempotent
    for call in (
        lambda: sim.time,
        lambda: sim.run_to(1),
        sim.run_to_end,
        sim.reset,
        sim.results,
        lambda: sim.get_value("teacup temperature"),
        lambda: sim.set_value("room temperature", 1),
    ):
        with pytest.raises(SimlinRuntimeError) as info:
            call()
        assert info.value.code is ErrorCode.CLOSED


def test_context_manager_closes_on_error(teacup: simlin.Model) -> None:
    sim = teacup.simulate()
    with pytest.raises(RuntimeError, match="boom"), sim:
        raise RuntimeError("boom")
    assert sim.closed


def test_results_outlive_sim(teacup: simlin.Model) -> None:
    with teacup.simulate() as sim:
        sim.run_to(2)
        results = sim.results()
    assert sim.closed
    assert len(results) == 17
    assert results["teacup temperature"][0] == 180.0


def test_type_errors(teacup: simlin.Model) -> None:
    with teacup.simulate() as sim:
        with pytest.raises(TypeError):
            sim.run_to("10")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            sim.set_value("room temperature", "warm")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            sim.get_value(3)  # type: ignore[arg-type]


def test_threads_share_a_compiled_model(teacup: simlin.Model) -> None:
    from concurrent.futures import ThreadPoolExecutor

    expected = teacup.run(method="rk4")["teacup temperature"]

    def work(i: int) -> float:
        with teacup.run({"room temperature": 70.0}, method="rk4") as r:
            return float(r["teacup temperature"][-1])

    with ThreadPoolExecutor(max_workers=4) as pool:
        finals = list(pool.map(work, range(32)))
    assert finals == [pytest.approx(expected[-1])] * 32


def test_threads_share_one_sim(teacup: simlin.Model) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with teacup.simulate() as sim:

        def step(i: int) -> None:
            sim.run_to(i * 0.5)
            sim.get_value("teacup temperature")

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(step, range(60)))
        sim.run_to_end()
        assert sim.is_done
