"""Stepwise simulation: run to a time, inspect and change values, continue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from simlin import _simlin, _validate
from simlin._handle import NativeHandle
from simlin._validate import OverrideValue
from simlin.errors import names_suggested
from simlin.results import Results

if TYPE_CHECKING:
    from simlin.results import FloatArray

__all__ = ["Sim"]


class Sim(NativeHandle):
    """One stepwise run of a compiled model (from :meth:`simlin.Model.simulate`).

    The initial values are computed when the ``Sim`` is created. Close it
    (or use it as a context manager) to free the native state at once;
    using it afterwards raises ``SimlinRuntimeError`` with code ``CLOSED``.
    """

    __slots__ = ("_names",)

    _native: _simlin.Sim

    def __init__(
        self, native: _simlin.Sim, names: Callable[[], Iterable[str]] | None = None
    ) -> None:
        """Wrap a native simulation (use :meth:`simlin.Model.simulate` instead).

        ``names`` lists the model's variables, for "did you mean" hints.
        """
        self._native = native
        self._names: Callable[[], Iterable[str]] = names or (lambda: ())

    @property
    def time(self) -> float:
        """The current simulation time."""
        return self._native.time

    @property
    def is_done(self) -> bool:
        """True once the stop time is reached."""
        return self._native.is_done

    def run_to(self, t: float) -> None:
        """Advance until the time reaches ``t`` (clamped to the stop time)."""
        self._native.run_to(_validate.real(t, "t"))

    def run_to_end(self) -> None:
        """Advance to the stop time."""
        self._native.run_to_end()

    def reset(self) -> None:
        """Go back to the start time, keeping overrides and values set on constants."""
        self._native.reset()

    def get_value(self, name: str) -> float | FloatArray:
        """The current value of a variable (any spelling of its name).

        For an arrayed variable, a NumPy array of its shape (a copy), e.g.
        ``(2, 3)`` for one over dimensions of 2 and 3 elements; one element
        (``"stock[North,Small]"``) is a float.
        """
        var = _validate.name(name, "name")
        with names_suggested(self._names):
            if self._native.shape(var) is None:
                return self._native.get_value(var)
            shape, values = self._native.get_array(var)
        import numpy as np

        return np.asarray(values, dtype=np.float64).reshape(shape)

    def set_value(self, name: str, value: OverrideValue) -> None:
        """Set a constant, or a stock's current value, before the next step.

        For an arrayed variable ``value`` may be a number (every element), a
        NumPy array of the variable's shape (or a flat row-major sequence of
        one number per element), or a mapping of element to number for some
        elements (keys ``"North"``, ``("North", "Small")`` or
        ``"North,Small"``), exactly as ``Model.run(overrides=...)`` takes it.
        Either every value is set or, on an error, none.

        Raises:
            SimlinTypeError: ``value`` is not one of those types.
            SimlinRuntimeError: code ``BAD_OVERRIDE`` for a wrong shape, an
                unknown variable or element, or a variable computed from
                others.

        """
        var = _validate.name(name, "name")
        with names_suggested(self._names):
            self._native.set_values(_validate.overrides({var: value}, shape_of=self._native.shape))

    def loop_score(self, loop: str, *, relative: bool = True) -> float:
        """A loop's current relative (or raw) score (``model.simulate(ltm=True)``).

        Raises:
            SimlinRuntimeError: code ``BAD_OVERRIDE``/``UNKNOWN_OUTPUT`` if the
                simulation was started without ``ltm=True`` or there is no
                such loop (see :meth:`simlin.Model.loops` for the ids).

        """
        loop_id = _validate.name(loop, "loop")
        value = self._native.get_value(f"$ltm.{'rel' if relative else 'loop'}.{loop_id}")
        return float(value)

    def results(self) -> Results:
        """A snapshot of the results saved so far."""
        return Results(self._native.results())

    def __repr__(self) -> str:
        if self.closed:
            return "<simlin.Sim (closed)>"
        return f"<simlin.Sim time={self.time}>"
