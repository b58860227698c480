"""Exceptions raised by simlin.

Every failure the engine reports becomes a :class:`SimlinError` subclass
chosen by the pipeline stage that found it:

* :class:`SimlinImportError`: reading or parsing a model file.
* :class:`SimlinCompilationError`: names, arity, cycles and other structure.
* :class:`SimlinRuntimeError`: run options, outputs, and the run itself.

Each carries a machine-readable :class:`ErrorCode`, and, where known, the
variable involved and the source line.
"""

from __future__ import annotations

import contextlib
import difflib
import enum
from collections.abc import Callable, Iterable, Iterator

__all__ = [
    "ErrorCode",
    "SimlinArgumentError",
    "SimlinCompilationError",
    "SimlinError",
    "SimlinImportError",
    "SimlinKeyError",
    "SimlinMemoryError",
    "SimlinRuntimeError",
    "SimlinTypeError",
    "SweepFailureWarning",
]


class ErrorCode(enum.Enum):
    """A stable code per cause of failure (mirrors the engine's error codes)."""

    # import
    IO = "IO"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    MALFORMED_XML = "MALFORMED_XML"
    NOT_XMILE = "NOT_XMILE"
    BAD_SIM_SPECS = "BAD_SIM_SPECS"
    EQUATION_SYNTAX = "EQUATION_SYNTAX"
    MDL_SYNTAX = "MDL_SYNTAX"
    BAD_GRAPHICAL_FUNCTION = "BAD_GRAPHICAL_FUNCTION"
    DUPLICATE_VARIABLE = "DUPLICATE_VARIABLE"
    UNKNOWN_MODEL = "UNKNOWN_MODEL"
    DATA_FILE = "DATA_FILE"
    # compile
    UNKNOWN_VARIABLE = "UNKNOWN_VARIABLE"
    UNKNOWN_FUNCTION = "UNKNOWN_FUNCTION"
    WRONG_ARGUMENT_COUNT = "WRONG_ARGUMENT_COUNT"
    CIRCULAR_DEPENDENCY = "CIRCULAR_DEPENDENCY"
    UNSUPPORTED = "UNSUPPORTED"
    MISSING_EQUATION = "MISSING_EQUATION"
    BAD_MODULE = "BAD_MODULE"
    BAD_SUBSCRIPT = "BAD_SUBSCRIPT"
    # runtime
    BAD_OVERRIDE = "BAD_OVERRIDE"
    UNKNOWN_OUTPUT = "UNKNOWN_OUTPUT"
    BAD_TIME_SPEC = "BAD_TIME_SPEC"
    SIMULATION = "SIMULATION"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    """A run's or sweep's results do not fit in memory (raised as
    :class:`SimlinMemoryError`, a :class:`MemoryError`)."""
    # sweeps
    BAD_PARAMETER = "BAD_PARAMETER"
    """A parameter column of a sweep is unusable (unknown name, wrong dtype,
    null, unsorted graphical-function points); the message names the column
    and, where it applies, the row."""
    RUN_FAILED = "RUN_FAILED"
    """A sweep run's stock became NaN or infinite (with ``on_error="raise"``)."""
    BAD_SWEEP = "BAD_SWEEP"
    """Invalid sweep options (thread count, reduction time, ...)."""
    CANCELLED = "CANCELLED"
    """The sweep was cancelled (Ctrl-C surfaces as ``KeyboardInterrupt`` instead)."""
    # Python side only
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    """An argument of the right type with an unusable value, or the wrong type."""
    CLOSED = "CLOSED"
    """A :class:`~simlin.Sim` or :class:`~simlin.Results` used after ``close()``."""
    INTERNAL = "INTERNAL"
    """The engine hit an internal error (a bug); the interpreter keeps running."""


class SimlinError(Exception):
    """Base class of every error simlin raises.

    Attributes:
        code: What went wrong, as an :class:`ErrorCode`.
        variable: The variable the error is about, if any.
        line: The 1-based source line, if known.

    """

    code: ErrorCode
    variable: str | None
    line: int | None

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | str = ErrorCode.INTERNAL,
        variable: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code if isinstance(code, ErrorCode) else ErrorCode(code)
        self.variable = variable
        self.line = line

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self.args[0]) if self.args else ""

    def __repr__(self) -> str:
        parts = [repr(self.message), f"code={self.code.name}"]
        if self.variable is not None:
            parts.append(f"variable={self.variable!r}")
        if self.line is not None:
            parts.append(f"line={self.line}")
        return f"{type(self).__name__}({', '.join(parts)})"


class SimlinImportError(SimlinError):
    """A model file could not be read or parsed."""


class SimlinCompilationError(SimlinError):
    """A model's structure is invalid (unknown names, cycles, bad arity...)."""


class SimlinRuntimeError(SimlinError):
    """A run could not be set up or failed, or a closed object was used."""


class SimlinMemoryError(SimlinRuntimeError, MemoryError):
    """The results asked for do not fit in memory (code ``OUT_OF_MEMORY``)."""


class SimlinKeyError(SimlinRuntimeError, KeyError):
    """A name that is not among the results (code ``UNKNOWN_OUTPUT``).

    Also a ``KeyError``, as a mapping lookup of a missing key is; the
    message suggests the closest names.
    """

    def __str__(self) -> str:
        # KeyError shows its argument's repr; show the message as it is.
        return self.message


class SimlinArgumentError(SimlinError, ValueError):
    """An argument had an unusable value (code ``INVALID_ARGUMENT``)."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | str = ErrorCode.INVALID_ARGUMENT,
        variable: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, code=code, variable=variable, line=line)


class SimlinTypeError(SimlinError, TypeError):
    """An argument had the wrong Python type (code ``INVALID_ARGUMENT``)."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | str = ErrorCode.INVALID_ARGUMENT,
        variable: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, code=code, variable=variable, line=line)


def _fold(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").split())


def close_names(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` closest to ``name`` (case, spaces and underscores ignored)."""
    folded = {_fold(x): x for x in names}
    return [folded[c] for c in difflib.get_close_matches(_fold(name), list(folded), n=n)]


#: Codes of errors about a name that is not in the model or the results.
_UNKNOWN_NAME = (
    ErrorCode.BAD_OVERRIDE,
    ErrorCode.UNKNOWN_OUTPUT,
    ErrorCode.UNKNOWN_VARIABLE,
    ErrorCode.BAD_PARAMETER,
)


def suggest_names(error: SimlinError, names: Iterable[str]) -> None:
    """Append "did you mean ..." with the closest ``names`` to an unknown-name error.

    Changes ``error`` in place (type, code and traceback stay); errors about
    anything but a missing name are left alone.
    """
    message = error.message
    if error.code not in _UNKNOWN_NAME or error.variable is None or "did you mean" in message:
        return
    if error.code is ErrorCode.BAD_PARAMETER and "no such variable" not in message:
        return
    names = list(names)
    if _fold(error.variable) in {_fold(n) for n in names}:
        return  # the name exists: the error is about something else
    close = close_names(error.variable, names)
    if close:
        hint = ", ".join(repr(c) for c in close)
        error.args = (f"{message}; did you mean {hint}?", *error.args[1:])


@contextlib.contextmanager
def names_suggested(names: Callable[[], Iterable[str]]) -> Iterator[None]:
    """Add the closest of ``names()`` to an unknown-name error raised inside.

    ``names`` is called only on such an error, so the happy path costs nothing.
    """
    try:
        yield
    except SimlinError as e:
        suggest_names(e, names())
        raise


class SweepFailureWarning(RuntimeWarning):
    """Runs of a sweep with ``on_error="null"`` failed; their values are null.

    Attributes:
        failures: ``(row, variable, time)`` per failed run: the 0-based row
            of the parameter table, the stock that became NaN or infinite
            and the time it did.

    """

    def __init__(self, failures: list[tuple[int, str, float]], n_runs: int) -> None:
        self.failures = failures
        shown = "; ".join(
            f"row {row}: '{var}' became NaN or infinite at time {t:g}"
            for row, var, t in failures[:10]
        )
        more = f"; and {len(failures) - 10} more" if len(failures) > 10 else ""
        super().__init__(
            f"{len(failures)} of {n_runs} runs failed and are null ({shown}{more}); "
            "the warning's .failures lists them all"
        )
