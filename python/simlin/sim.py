"""Stepwise simulation: run to a time, inspect and change values, continue."""

from __future__ import annotations

from simlin import _simlin, _validate
from simlin._handle import NativeHandle
from simlin.results import Results

__all__ = ["Sim"]


class Sim(NativeHandle):
    """One stepwise run of a compiled model (from :meth:`simlin.Model.simulate`).

    The initial values are computed when the ``Sim`` is created. Close it
    (or use it as a context manager) to free the native state at once;
    using it afterwards raises ``SimlinRuntimeError`` with code ``CLOSED``.
    """

    __slots__ = ()

    _native: _simlin.Sim

    def __init__(self, native: _simlin.Sim) -> None:
        """Wrap a native simulation (use :meth:`simlin.Model.simulate` instead)."""
        self._native = native

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

    def get_value(self, name: str) -> float:
        """The current value of a variable (any spelling of its name)."""
        return self._native.get_value(_validate.name(name, "name"))

    def set_value(self, name: str, value: float) -> None:
        """Set a constant, or a stock's current value, before the next step."""
        self._native.set_value(_validate.name(name, "name"), _validate.real(value, "value"))

    def results(self) -> Results:
        """A snapshot of the results saved so far."""
        return Results(self._native.results())

    def __repr__(self) -> str:
        if self.closed:
            return "<simlin.Sim (closed)>"
        return f"<simlin.Sim time={self.time}>"
