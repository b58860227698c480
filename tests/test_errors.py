from __future__ import annotations

import re
from pathlib import Path

import pytest

import simlin
from simlin import (
    ErrorCode,
    SimlinCompilationError,
    SimlinError,
    SimlinImportError,
    SimlinRuntimeError,
    _simlin,
)

REPO = Path(__file__).resolve().parent.parent

XMILE = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
  <header><name>t</name></header>
  <sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
  <model><variables>{}</variables></model>
</xmile>
"""


def test_every_engine_code_has_a_member() -> None:
    source = (REPO / "src" / "error.rs").read_text(encoding="utf-8")
    codes = set(re.findall(r'=> "([A-Z_]+)"', source))
    assert codes, "no codes found in src/error.rs"
    members = {c.value for c in ErrorCode}
    assert codes <= members
    assert {"INVALID_ARGUMENT", "CLOSED", "INTERNAL"} <= members


def test_hierarchy() -> None:
    for cls in (SimlinImportError, SimlinCompilationError, SimlinRuntimeError):
        assert issubclass(cls, SimlinError)
    assert issubclass(simlin.SimlinTypeError, TypeError)
    assert issubclass(simlin.SimlinArgumentError, ValueError)


def test_attributes_and_repr() -> None:
    e = SimlinCompilationError("bad", code="UNKNOWN_VARIABLE", variable="x", line=3)
    assert e.code is ErrorCode.UNKNOWN_VARIABLE
    assert (e.variable, e.line, e.message, str(e)) == ("x", 3, "bad", "bad")
    assert "UNKNOWN_VARIABLE" in repr(e) and "'x'" in repr(e)


def test_malformed_xml(data_dir: Path) -> None:
    with pytest.raises(SimlinImportError) as info:
        simlin.load(data_dir / "malformed.xmile")
    assert info.value.code is ErrorCode.MALFORMED_XML
    assert isinstance(info.value.line, int) and info.value.line > 1


def test_circular(data_dir: Path) -> None:
    model = simlin.load(data_dir / "circular.xmile")
    with pytest.raises(SimlinCompilationError) as info:
        model.run()
    assert info.value.code is ErrorCode.CIRCULAR_DEPENDENCY
    assert info.value.variable in {"a", "b", "c"}
    for name in ("a", "b", "c"):
        assert name in str(info.value)


def test_unknown_function(data_dir: Path) -> None:
    model = simlin.load(data_dir / "unknown_function.xmile")
    with pytest.raises(SimlinCompilationError) as info:
        model.compile()
    assert info.value.code is ErrorCode.UNKNOWN_FUNCTION
    assert info.value.variable == "mystery"
    assert "frobnicate" in str(info.value).lower()


def test_unknown_variable_reference() -> None:
    model = simlin.Project.from_xmile(
        XMILE.format('<aux name="a"><eqn>missing * 2</eqn></aux>')
    ).main_model
    with pytest.raises(SimlinCompilationError) as info:
        model.run()
    assert info.value.code is ErrorCode.UNKNOWN_VARIABLE
    assert info.value.variable == "a"


def test_equation_syntax() -> None:
    with pytest.raises(SimlinImportError) as info:
        simlin.Project.from_xmile(XMILE.format('<aux name="a"><eqn>(1 + </eqn></aux>'))
    assert info.value.code is ErrorCode.EQUATION_SYNTAX
    assert info.value.variable == "a"


def test_duplicate_variable() -> None:
    body = '<aux name="a"><eqn>1</eqn></aux><aux name="A"><eqn>2</eqn></aux>'
    with pytest.raises(SimlinImportError) as info:
        simlin.Project.from_xmile(XMILE.format(body))
    assert info.value.code is ErrorCode.DUPLICATE_VARIABLE


def test_wrong_argument_count() -> None:
    model = simlin.Project.from_xmile(
        XMILE.format('<aux name="a"><eqn>ABS(1, 2)</eqn></aux>')
    ).main_model
    with pytest.raises(SimlinCompilationError) as info:
        model.run()
    assert info.value.code is ErrorCode.WRONG_ARGUMENT_COUNT


def test_panic_becomes_internal_error() -> None:
    with pytest.raises(SimlinError) as info:
        _simlin._debug_panic()
    assert info.value.code is ErrorCode.INTERNAL
    assert "deliberate panic" in str(info.value)
    # the interpreter and the engine keep working afterwards
    model = simlin.Project.from_xmile(XMILE.format('<aux name="a"><eqn>1</eqn></aux>')).main_model
    assert model.run()["a"][0] == 1.0


def test_unknown_names_come_with_the_closest_ones(teacup: simlin.Model) -> None:
    from collections.abc import Callable

    import polars as pl

    cases: list[tuple[Callable[[], object], ErrorCode]] = [
        (lambda: teacup.run({"room temprature": 1.0}), ErrorCode.BAD_OVERRIDE),
        (lambda: teacup.run(outputs=["teacup temprature"]), ErrorCode.UNKNOWN_OUTPUT),
        (lambda: teacup.simulate({"room temprature": 1.0}), ErrorCode.BAD_OVERRIDE),
        (lambda: teacup.sweep(pl.DataFrame({"room temprature": [1.0]})), ErrorCode.BAD_PARAMETER),
        (
            lambda: teacup.sweep(
                pl.DataFrame({"Room Temperature": [1.0]}), outputs=["teacup temp"]
            ),
            ErrorCode.UNKNOWN_OUTPUT,
        ),
        (lambda: teacup.dependencies("heat los"), ErrorCode.UNKNOWN_VARIABLE),
        (lambda: teacup.simulate().get_value("teacup temp"), ErrorCode.UNKNOWN_OUTPUT),
        (lambda: teacup.simulate().set_value("room temp", 3.0), ErrorCode.BAD_OVERRIDE),
    ]
    for call, code in cases:
        with pytest.raises(SimlinError) as info:
            call()
        assert info.value.code is code
        assert "; did you mean '" in str(info.value), str(info.value)
    # Nothing close: no hint. A name that exists: the error is about something
    # else, and the hint would only repeat the name.
    with pytest.raises(SimlinError) as info:
        teacup.run({"zzz": 1.0})
    assert "did you mean" not in str(info.value)
    with pytest.raises(SimlinError) as info:
        teacup.run({"Heat Loss to Room": 1.0})
    assert "did you mean" not in str(info.value)
