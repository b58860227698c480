"""Models: their variables, time settings, dependencies, and runs.

A :class:`Model` compiles lazily, once, on the first :meth:`Model.run`,
:meth:`Model.simulate` or :meth:`Model.compile`; every later run reuses the
compiled program (runs never recompile, whatever they override).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from simlin import _simlin, _validate
from simlin._validate import OverrideValue
from simlin.results import Results
from simlin.sim import Sim

__all__ = ["Model", "OverrideValue", "TimeSpec", "Variable", "VariableKind"]

VariableKind = Literal["stock", "flow", "aux", "module"]


@dataclass(frozen=True)
class Variable:
    """One variable of a model, as written in the source.

    Attributes:
        name: The name as written (quotes removed).
        kind: ``"stock"``, ``"flow"``, ``"aux"`` or ``"module"``.
        equation: The equation text (for a stock: its initial value); arrayed
            variables with one equation per element list ``[elements] text``
            lines.
        units: The units, if given.
        dimensions: The names of the dimensions it is arrayed over.
        doc: Its documentation, if given.

    """

    name: str
    kind: VariableKind
    equation: str
    units: str | None
    dimensions: tuple[str, ...]
    doc: str | None


@dataclass(frozen=True)
class TimeSpec:
    """Simulation time settings.

    Attributes:
        start: Initial time.
        stop: Final time.
        dt: Integration step.
        save_step: Interval between saved points.
        method: ``"euler"``, ``"rk2"`` or ``"rk4"``.

    """

    start: float
    stop: float
    dt: float
    save_step: float
    method: str


class Model:
    """A model of a loaded project (from :attr:`simlin.Project.models` or :func:`simlin.load`)."""

    __slots__ = ("__weakref__", "_native", "_variables")

    def __init__(self, native: _simlin.Model) -> None:
        """Wrap a native model (use :class:`simlin.Project` instead)."""
        self._native = native
        self._variables: tuple[Variable, ...] | None = None

    @property
    def name(self) -> str:
        """The model's name (empty for an unnamed main model)."""
        return self._native.name

    @property
    def variables(self) -> list[Variable]:
        """Every variable, in source order."""
        if self._variables is None:
            self._variables = tuple(
                Variable(
                    name=name,
                    kind=cast(VariableKind, kind),
                    equation=equation,
                    units=units,
                    dimensions=tuple(dims),
                    doc=doc,
                )
                for name, kind, equation, units, dims, doc in self._native.variables()
            )
        return list(self._variables)

    def _of_kind(self, kind: VariableKind) -> list[Variable]:
        return [v for v in self.variables if v.kind == kind]

    @property
    def stocks(self) -> list[Variable]:
        """The stocks, in source order."""
        return self._of_kind("stock")

    @property
    def flows(self) -> list[Variable]:
        """The flows, in source order."""
        return self._of_kind("flow")

    @property
    def auxs(self) -> list[Variable]:
        """The auxiliaries, in source order."""
        return self._of_kind("aux")

    @property
    def time_spec(self) -> TimeSpec:
        """The model's simulation time settings."""
        start, stop, dt, save_step, method = self._native.time_spec()
        return TimeSpec(start=start, stop=stop, dt=dt, save_step=save_step, method=method)

    def dependencies(self, name: str) -> list[str]:
        """Names of the variables ``name``'s equation references directly.

        For a stock these are its initial-value inputs and its flows.

        Raises:
            SimlinCompilationError: ``UNKNOWN_VARIABLE`` if there is no such variable.

        """
        return self._native.dependencies(_validate.name(name, "name"))

    def compile(self) -> None:
        """Compile now, if not done yet.

        Raises:
            SimlinCompilationError: if the model's structure is invalid.

        """
        self._native.compile()

    def check(self) -> list[str]:
        """Diagnostics of the model; an empty list means it is fine.

        Import warnings come as ``"warning: ..."``, a compile error as
        ``"error: ..."``.
        """
        warnings, error = self._native.check()
        out = [f"warning: {w}" for w in warnings]
        if error is not None:
            out.append(f"error: {error}")
        return out

    def run(
        self,
        overrides: Mapping[str, OverrideValue] | None = None,
        *,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        outputs: Sequence[str] | None = None,
        seed: int = 0,
    ) -> Results:
        """Simulate from start to stop and return the results.

        Args:
            overrides: New values for constants or stocks' initial values, or
                new ``(x, y)`` points for graphical functions, by name.
            method: ``"euler"``, ``"rk2"`` or ``"rk4"`` (default: the model's).
            start: Start time (default: the model's).
            stop: Stop time (default: the model's).
            dt: Integration step (default: the model's).
            save_step: Output interval (default: the model's, else ``dt``).
            outputs: Variables to save (default: every variable).
            seed: Seed for the random builtins; the same seed gives the same run.

        Raises:
            SimlinCompilationError: if the model does not compile.
            SimlinRuntimeError: for an unknown override/output name
                (``BAD_OVERRIDE``/``UNKNOWN_OUTPUT``), bad times, or a failed run.
            SimlinTypeError: for arguments of the wrong type.

        """
        return Results(
            self._native.run(
                *_run_args(overrides, method, start, stop, dt, save_step, outputs, seed)
            )
        )

    def simulate(
        self,
        overrides: Mapping[str, OverrideValue] | None = None,
        *,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        outputs: Sequence[str] | None = None,
        seed: int = 0,
    ) -> Sim:
        """Start a stepwise simulation (arguments as for :meth:`run`)."""
        return Sim(
            self._native.simulate(
                *_run_args(overrides, method, start, stop, dt, save_step, outputs, seed)
            )
        )

    def __repr__(self) -> str:
        return f"<simlin.Model {self.name!r}>"


def _run_args(
    overrides: object,
    method: object,
    start: object,
    stop: object,
    dt: object,
    save_step: object,
    outputs: object,
    seed: object,
) -> tuple[
    list[tuple[str, _validate.NativeOverride]],
    str | None,
    float | None,
    float | None,
    float | None,
    float | None,
    list[str] | None,
    int,
]:
    return (
        _validate.overrides(overrides),
        _validate.method(method),
        _validate.optional_real(start, "start"),
        _validate.optional_real(stop, "stop"),
        _validate.optional_real(dt, "dt"),
        _validate.optional_real(save_step, "save_step"),
        _validate.outputs(outputs),
        _validate.seed(seed),
    )
