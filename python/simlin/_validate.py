"""Checks and conversions of user arguments before they reach the engine.

Wrong types raise :class:`~simlin.errors.SimlinTypeError` (also a
``TypeError``) with a message naming the argument, instead of an opaque
conversion error from the native layer.
"""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from simlin.errors import ErrorCode, SimlinArgumentError, SimlinRuntimeError, SimlinTypeError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import polars as pl

    from simlin import _simlin

# NumPy is imported when a call needs it, not by `import simlin` (it is
# half of the import time); the array member is a forward reference.
OverrideValue = Union[
    float,
    Sequence[tuple[float, float]],
    Sequence[float],
    Mapping[str, float],
    Mapping[tuple[str, ...], float],
    "npt.NDArray[np.float64]",
    "pd.Series[Any]",
    "pd.DataFrame",
    "pl.DataFrame",
    "Mapping[str, pd.Series[Any]]",
]
"""A constant's or stock's new value (for an arrayed one: a number for every
element, a NumPy array or flat row-major list of one number per element, or a
mapping of element name to number), a graphical function's new points, or a
time series for an auxiliary or flow: a pandas Series indexed by time, a
frame with ``time`` and ``value`` columns, or ``(time, value)`` points (on an
arrayed variable: one series for every element, or a mapping of element name
to series)."""

NativeOverride = float | list[tuple[float, float]] | list[float]


def _type_name(value: object) -> str:
    return type(value).__name__


def loaded_numpy() -> Any:
    """NumPy if something already imported it, else None.

    A value cannot be a NumPy object before NumPy is imported, so type checks
    need not load it.
    """
    return sys.modules.get("numpy")


def is_real(value: object) -> bool:
    """True for ints, floats and NumPy reals, but not bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def real(value: object, what: str) -> float:
    """Convert a real number to float, or raise SimlinTypeError naming ``what``.

    An integer too large for a float (``10**400``) is a SimlinArgumentError.
    """
    if not is_real(value):
        raise SimlinTypeError(f"{what} must be a number, got {_type_name(value)}")
    return _float(value, what)


def _float(value: object, what: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        raise SimlinArgumentError(f"{what} is too large for a float: {value}") from None


def optional_real(value: object, what: str) -> float | None:
    """Like :func:`real`, but passes ``None`` through."""
    return None if value is None else real(value, what)


def name(value: object, what: str) -> str:
    """Check that a variable name is a string."""
    if not isinstance(value, str):
        raise SimlinTypeError(f"{what} must be a str, got {_type_name(value)}")
    return value


def path(value: object) -> str | os.PathLike[str]:
    """Check a file path argument."""
    if isinstance(value, str | os.PathLike):
        return value
    raise SimlinTypeError(f"path must be a str or os.PathLike, got {_type_name(value)}")


def data_files(value: object) -> list[str] | None:
    """Check a ``data_files`` argument: ``None``, or a sequence of paths.

    Relative paths are made absolute from the current directory, as
    ``open()`` reads them, before the engine sees them.
    """
    if value is None:
        return None
    if isinstance(value, str | bytes | os.PathLike) or not isinstance(value, Sequence):
        raise SimlinTypeError(f"data_files must be a list of paths, got {_type_name(value)}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str | os.PathLike):
            raise SimlinTypeError(
                f"data_files entries must be str or os.PathLike, got {_type_name(item)}"
            )
        out.append(os.path.abspath(os.fspath(item)))
    return out


def time_series(value: object, var: str) -> list[tuple[float, float]] | None:
    """``(time, value)`` points of a time series, in time order, or ``None``.

    A time series is a pandas Series (its index is the time) or a
    pandas/Polars frame with exactly the columns ``time`` and ``value``. The
    engine feeds the variable the values linearly interpolated at each time it
    computes, holding the first and last values outside the series (as PySD
    does with a Series passed as a parameter).
    """
    library = type(value).__module__.split(".")[0]
    kind = type(value).__name__
    frame: Any = value
    if library == "pandas" and kind == "Series":
        times, values = frame.index.to_numpy(), frame.to_numpy()
    elif library in ("pandas", "polars") and kind == "DataFrame":
        columns = [str(c) for c in frame.columns]
        if sorted(columns) != ["time", "value"]:
            raise SimlinTypeError(
                f"override for '{var}': a time-series frame has the columns 'time' and "
                f"'value', got {columns}",
                variable=var,
            )
        times, values = frame["time"].to_numpy(), frame["value"].to_numpy()
    else:
        return None
    import numpy as np

    try:
        t = np.asarray(times, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise SimlinTypeError(
            f"override for '{var}': a time series needs numeric times and values, "
            f"got {times.dtype} and {values.dtype}",
            variable=var,
        ) from None
    order = np.argsort(t, kind="stable")
    return list(zip(t[order].tolist(), v[order].tolist(), strict=True))


def _points(var: str, value: Iterable[object]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for item in value:
        if (
            isinstance(item, str | bytes)
            or not isinstance(item, Sequence)
            or len(item) != 2
            or not (is_real(item[0]) and is_real(item[1]))
        ):
            raise SimlinTypeError(
                f"override for '{var}': graphical function points must be (x, y) pairs "
                f"of numbers, got {item!r}",
                variable=var,
            )
        what = f"override for '{var}'"
        points.append((_float(item[0], what), _float(item[1], what)))
    return points


ShapeOf = Callable[[str], Sequence[int] | None]
"""The shape of an arrayed variable by name, ``None`` for anything else."""


def _element_key(element: object) -> object:
    """An element key as the engine names it: tuples and ``"a1, b2"`` become ``"a1,b2"``."""
    if isinstance(element, tuple):
        element = ",".join(name(e, "element name") for e in element)
    if isinstance(element, str):
        return ",".join(part.strip() for part in element.split(","))
    return element


def overrides(value: object, shape_of: ShapeOf | None = None) -> list[tuple[str, NativeOverride]]:
    """Normalise an overrides mapping to ``[(name, float | [(x, y), ...])]``.

    With ``shape_of``, a NumPy array of more than one dimension must have its
    variable's shape exactly (a flat one needs only the right length, which
    the engine checks); otherwise ``SimlinRuntimeError`` with code
    ``BAD_OVERRIDE``.
    """
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise SimlinTypeError(
            f"overrides must be a mapping of variable name to value, got {_type_name(value)}"
        )
    out: list[tuple[str, NativeOverride]] = []
    for key, v in value.items():
        var = name(key, "override name")
        what = f"override for '{var}'"
        if is_real(v):
            out.append((var, _float(v, what)))
        elif (series := time_series(v, var)) is not None:
            out.append((var, series))
        elif (np := loaded_numpy()) is not None and isinstance(v, np.ndarray):
            # One number per element of an arrayed variable, row-major.
            if (
                not np.issubdtype(v.dtype, np.number)
                or np.issubdtype(v.dtype, np.bool_)
                or np.iscomplexobj(v)
            ):
                raise SimlinTypeError(
                    f"override for '{var}' must be a numeric array, got dtype {v.dtype}",
                    variable=var,
                )
            shape = shape_of(var) if shape_of is not None and v.ndim > 1 else None
            if shape is not None and tuple(v.shape) != tuple(shape):
                raise SimlinRuntimeError(
                    f"override for '{var}': expected an array of shape {tuple(shape)}, "
                    f"got shape {tuple(v.shape)}",
                    code=ErrorCode.BAD_OVERRIDE,
                    variable=var,
                )
            out.append((var, [float(x) for x in v.astype(np.float64).ravel()]))
        elif isinstance(v, Mapping):
            # Element name (or tuple of names, one per dimension) -> number.
            for element, x in v.items():
                label = f"{var}[{name(_element_key(element), 'element name')}]"
                series = time_series(x, label)
                if series is not None:  # one element's time series
                    out.append((label, series))
                else:
                    out.append((label, real(x, f"override for '{label}'")))
        elif (
            isinstance(v, Sequence)
            and not isinstance(v, str | bytes)
            and len(v) > 0
            and all(is_real(x) for x in v)
        ):
            out.append((var, [_float(x, what) for x in v]))
        elif isinstance(v, str | bytes) or not isinstance(v, Iterable):
            raise SimlinTypeError(
                f"override for '{var}' must be a number, a sequence of (x, y) pairs, "
                "a sequence or array of numbers, or a mapping of element to number, "
                f"got {_type_name(v)}",
                variable=var,
            )
        else:
            out.append((var, _points(var, v)))
    return out


def outputs(value: object) -> list[str] | None:
    """Check the ``outputs`` argument: ``None`` or a sequence of names."""
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise SimlinTypeError(
            f"outputs must be a sequence of variable names, got {_type_name(value)}"
        )
    return [name(v, "output name") for v in value]


def method(value: object) -> str | None:
    """Check the ``method`` argument."""
    if value is None:
        return None
    return name(value, "method")


def seed(value: object) -> int:
    """Check the ``seed`` argument: a non-negative int below 2**64."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SimlinTypeError(f"seed must be an int, got {_type_name(value)}")
    s = int(value)
    if not 0 <= s < 2**64:
        raise SimlinArgumentError(f"seed must be in [0, 2**64), got {s}")
    return s


def flag(value: object, what: str) -> bool:
    """Check a boolean switch (``True``/``False``, NumPy bools too)."""
    np = loaded_numpy()
    if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
        return bool(value)
    raise SimlinTypeError(f"{what} must be True or False, got {_type_name(value)}")


# The checks above under names the keyword arguments of run_options do not hide.
overrides_ = overrides
method_ = method
outputs_ = outputs
seed_ = seed


def run_options(
    *,
    overrides: object = None,
    method: object = None,
    start: object = None,
    stop: object = None,
    dt: object = None,
    save_step: object = None,
    outputs: object = None,
    seed: object = 0,
    shape_of: ShapeOf | None = None,
    ltm_partial: object = "previous",
) -> _simlin.RunOptions:
    """The run settings every run, sim and sweep takes, checked, as one native object."""
    from simlin import _simlin

    if ltm_partial not in ("previous", "current"):
        raise SimlinArgumentError(
            f"ltm_partial must be 'previous' or 'current', got {ltm_partial!r}"
        )

    return _simlin.RunOptions(
        overrides=overrides_(overrides, shape_of=shape_of),
        method=method_(method),
        start=optional_real(start, "start"),
        stop=optional_real(stop, "stop"),
        dt=optional_real(dt, "dt"),
        save_step=optional_real(save_step, "save_step"),
        outputs=outputs_(outputs),
        seed=seed_(0 if seed is None else seed),
        ltm_partial=str(ltm_partial),
    )
