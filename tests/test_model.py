from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

import simlin
from simlin import ErrorCode, SimlinCompilationError, SimlinRuntimeError

ROOM = 70.0
INITIAL = 180.0
TAU = 10.0


def analytic(t: np.ndarray | float) -> np.ndarray | float:
    """Teacup temperature: T(t) = room + (T0 - room) * exp(-t / tau)."""
    return ROOM + (INITIAL - ROOM) * np.exp(-np.asarray(t) / TAU)


def test_variables(teacup: simlin.Model) -> None:
    variables = {v.name: v for v in teacup.variables}
    assert set(variables) == {
        "Teacup Temperature",
        "Heat Loss to Room",
        "Room Temperature",
        "Characteristic Time",
    }
    cup = variables["Teacup Temperature"]
    assert cup.kind == "stock"
    assert cup.equation == "180"
    assert cup.units == "degrees"
    assert cup.dimensions == ()
    assert cup.doc is not None and "tea" in cup.doc
    assert variables["Heat Loss to Room"].kind == "flow"
    assert variables["Room Temperature"].kind == "aux"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cup.name = "x"  # type: ignore[misc]


def test_kind_lists(teacup: simlin.Model) -> None:
    assert [v.name for v in teacup.stocks] == ["Teacup Temperature"]
    assert [v.name for v in teacup.flows] == ["Heat Loss to Room"]
    assert [v.name for v in teacup.auxs] == ["Room Temperature", "Characteristic Time"]


def test_time_spec(teacup: simlin.Model) -> None:
    spec = teacup.time_spec
    assert spec == simlin.TimeSpec(start=0.0, stop=30.0, dt=0.125, save_step=0.125, method="euler")


def test_dependencies(teacup: simlin.Model) -> None:
    assert sorted(teacup.dependencies("Heat Loss to Room")) == [
        "Characteristic Time",
        "Room Temperature",
        "Teacup Temperature",
    ]
    assert teacup.dependencies("teacup_temperature") == ["Heat Loss to Room"]
    assert teacup.dependencies("room temperature") == []


def test_dependencies_unknown(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinCompilationError) as info:
        teacup.dependencies("no such thing")
    assert info.value.code is ErrorCode.UNKNOWN_VARIABLE
    assert info.value.variable == "no such thing"


def test_check_ok(teacup: simlin.Model) -> None:
    assert [d for d in teacup.check() if d.startswith("error:")] == []


def test_check_reports_errors(data_dir: Path) -> None:
    model = simlin.load(data_dir / "circular.xmile")
    diagnostics = model.check()
    errors = [d for d in diagnostics if d.startswith("error:")]
    assert len(errors) == 1
    assert "circular" in errors[0]


def test_run_initial_values(teacup: simlin.Model) -> None:
    results = teacup.run()
    assert results["Teacup Temperature"][0] == 180.0
    assert results["Heat Loss to Room"][0] == pytest.approx(11.0)
    assert len(results) == 241
    assert results.times[0] == 0.0
    assert results.times[-1] == pytest.approx(30.0)


def test_run_euler_matches_recurrence(teacup: simlin.Model) -> None:
    results = teacup.run()
    n = np.arange(len(results))
    expected = ROOM + (INITIAL - ROOM) * (1 - 0.125 / TAU) ** n
    np.testing.assert_allclose(results["teacup temperature"], expected, rtol=1e-12)


def test_run_rk4_matches_analytic(teacup: simlin.Model) -> None:
    results = teacup.run(method="rk4")
    np.testing.assert_allclose(
        results["teacup temperature"], analytic(results.times), rtol=0, atol=1e-6
    )


def test_rk2_is_between(teacup: simlin.Model) -> None:
    t_end = 30.0
    exact = float(analytic(t_end))
    euler = teacup.run(method="euler")["teacup temperature"][-1]
    rk2 = teacup.run(method="rk2")["teacup temperature"][-1]
    assert abs(rk2 - exact) < abs(euler - exact)
    assert abs(rk2 - exact) < 1e-3


def test_overrides_constant_and_stock(teacup: simlin.Model) -> None:
    results = teacup.run({"Room Temperature": 20, "teacup temperature": 100.0}, method="rk4")
    assert results["teacup temperature"][0] == 100.0
    expected = 20 + 80 * math.exp(-3.0)
    assert results["teacup temperature"][-1] == pytest.approx(expected, abs=1e-6)


def test_overrides_do_not_stick(teacup: simlin.Model) -> None:
    teacup.run({"room temperature": 0.0})
    assert teacup.run()["room temperature"][0] == ROOM


def test_override_graphical_function(graphical: simlin.Model) -> None:
    base = graphical.run()
    np.testing.assert_allclose(base["effect"], [0, 10, 20, 20, 0])
    np.testing.assert_allclose(base["accumulated"], [0, 0, 10, 30, 50])
    changed = graphical.run({"effect": [(0.0, 1.0), (4.0, 5.0)]})
    np.testing.assert_allclose(changed["effect"], [1, 2, 3, 4, 5])


def test_time_overrides(teacup: simlin.Model) -> None:
    results = teacup.run(start=0, stop=10, dt=0.5, save_step=1)
    np.testing.assert_allclose(results.times, np.arange(0.0, 11.0))


def test_outputs_subset(teacup: simlin.Model) -> None:
    results = teacup.run(outputs=["teacup temperature"])
    assert results.names == ["Teacup Temperature"]
    assert "heat loss to room" not in results


def test_unknown_override_names_the_variable(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as info:
        teacup.run({"not a variable": 1.0})
    assert info.value.code is ErrorCode.BAD_OVERRIDE
    assert info.value.variable == "not a variable"
    assert "not a variable" in str(info.value)


def test_override_of_computed_variable(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as info:
        teacup.run({"heat loss to room": 1.0})
    assert info.value.code is ErrorCode.BAD_OVERRIDE


def test_unknown_output(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as info:
        teacup.run(outputs=["nope"])
    assert info.value.code is ErrorCode.UNKNOWN_OUTPUT
    assert info.value.variable == "nope"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"overrides": {"room temperature": "hot"}},
        {"overrides": {"room temperature": True}},
        {"overrides": {1: 2.0}},
        {"overrides": [("room temperature", 1.0)]},
        {"overrides": {"effect": [(1.0, "a")]}},
        {"start": "0"},
        {"dt": None, "stop": [1]},
        {"outputs": "teacup temperature"},
        {"outputs": [1, 2]},
        {"method": 4},
        {"seed": 1.5},
    ],
)
def test_type_errors(teacup: simlin.Model, kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError) as info:
        teacup.run(**kwargs)  # type: ignore[call-overload]
    assert isinstance(info.value, simlin.SimlinError)
    assert info.value.code is ErrorCode.INVALID_ARGUMENT


def test_bad_method(teacup: simlin.Model) -> None:
    with pytest.raises(ValueError, match="unknown integration method"):
        teacup.run(method="leapfrog")


def test_bad_seed(teacup: simlin.Model) -> None:
    with pytest.raises(ValueError):
        teacup.run(seed=-1)


def test_bad_time_spec(teacup: simlin.Model) -> None:
    with pytest.raises(SimlinRuntimeError) as info:
        teacup.run(dt=-1.0)
    assert info.value.code is ErrorCode.BAD_TIME_SPEC


def test_compile_error_on_run(data_dir: Path) -> None:
    model = simlin.load(data_dir / "unknown_function.xmile")
    for _ in range(2):  # the cached failure is raised again
        with pytest.raises(SimlinCompilationError) as info:
            model.run()
        assert info.value.code is ErrorCode.UNKNOWN_FUNCTION
        assert info.value.variable == "mystery"


def test_numpy_scalars_accepted(teacup: simlin.Model) -> None:
    results = teacup.run({"room temperature": np.float64(50.0)}, stop=np.int64(5), seed=np.uint8(3))
    assert results["room temperature"][0] == 50.0
    assert results.times[-1] == pytest.approx(5.0)


def test_one_options_object_reaches_every_entry_point(teacup: simlin.Model) -> None:
    from simlin import _simlin

    options = _simlin.RunOptions(
        overrides=[("Room Temperature", 20.0)],
        method="rk4",
        stop=5.0,
        outputs=["teacup temperature"],
    )
    assert options.seed == 0 and options.outputs == ["teacup temperature"]
    native = simlin.Results(teacup._native.run(options))
    public = teacup.run(
        {"Room Temperature": 20.0}, method="rk4", stop=5.0, outputs=["teacup temperature"]
    )
    assert native.names == public.names
    assert native["teacup temperature"].tolist() == public["teacup temperature"].tolist()
    # The same object starts a stepwise sim; each run gets its own cancel flag.
    with simlin.Sim(teacup._native.simulate(options)) as sim:
        sim.run_to_end()
        assert sim.get_value("teacup temperature") == public["teacup temperature"][-1]
    with pytest.raises(simlin.SimlinArgumentError, match="leapfrog"):
        _simlin.RunOptions(method="leapfrog")
    # A sweep's values come from its table: overrides are refused, not ignored.
    with pytest.raises(simlin.SimlinArgumentError, match="parameter table"):
        _simlin.start_sweep(
            teacup._native, 1, [], [], None, None, options, None, None, None, "raise", "batched", 0
        )
