"""Simulation results: NumPy views, pandas/polars frames, and Arrow export.

The series live in native buffers that are shared, not copied: ``results[name]``
is a read-only NumPy array over the native memory, and ``__arrow_c_stream__``
hands the same buffers to pyarrow, polars or pandas. Arrays obtained before
:meth:`Results.close` stay valid (they keep the buffers alive).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar, overload

from simlin import _simlin
from simlin._handle import NativeHandle
from simlin.errors import ErrorCode, SimlinKeyError, close_names

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import polars as pl
    import xarray as xr

    FloatArray = npt.NDArray[np.float64]

__all__ = ["Results"]

_T = TypeVar("_T")


class Results(NativeHandle):
    """The saved time series of one run.

    Read like a dict from variable name (any spelling: case, spaces or
    underscores do not matter) to a NumPy array aligned with :attr:`times`:
    ``keys()``, ``values()``, ``items()``, ``get()``, ``in`` and
    ``dict(results)`` work as for a dict, and an unknown name raises a
    ``KeyError`` naming the closest ones. Two differences, both deliberate:
    ``len(results)`` is the number of saved times, and it is not registered
    as a :class:`collections.abc.Mapping`, because Polars and pandas build a
    frame from a ``Mapping`` by its values, dropping ``time`` and copying;
    ``pl.DataFrame(results)`` instead takes the Arrow stream (``time``
    first, no copy). Use it as a context manager, or call :meth:`close`, to
    release the native buffers early.
    """

    __slots__ = ()

    _native: _simlin.Results

    def __init__(self, native: _simlin.Results) -> None:
        """Wrap a native results object (use :meth:`simlin.Model.run` instead)."""
        self._native = native

    @property
    def names(self) -> list[str]:
        """Display names of the variables, in column order."""
        return self._native.names

    @property
    def times(self) -> FloatArray:
        """The saved time points (read-only, zero-copy)."""
        import numpy as np

        return np.asarray(self._native.times_view())

    def __getitem__(self, name: str) -> FloatArray:
        """The series of one variable (read-only, zero-copy).

        For an arrayed variable named without subscripts (``"pop"``), an
        N-dimensional array with time first (``(times, *shape)``, a copy);
        single elements are columns of their own (``"pop[North]"``).

        Raises:
            SimlinKeyError: ``UNKNOWN_OUTPUT`` if there is no such column (a
                ``KeyError`` and a ``SimlinRuntimeError``; the message
                suggests the closest names).

        """
        import numpy as np

        if not isinstance(name, str):
            from simlin.errors import SimlinTypeError

            raise SimlinTypeError(f"variable name must be a str, got {type(name).__name__}")
        if self._native.index_of(name) is None:
            array = self._native.array_columns(name)
            if array is None:
                raise self._unknown(name)
            # A whole arrayed variable: time first, then its dimensions.
            shape, columns = array
            stacked = np.asarray(self._native.stacked([columns]))
            out: FloatArray = stacked.reshape((len(self), *shape))
            out.flags.writeable = False
            return out
        return np.asarray(self._native.column_view(name))

    def _unknown(self, name: str) -> SimlinKeyError:
        """The error for a name that is no column, with the closest names."""
        close = close_names(name, self.names)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return SimlinKeyError(
            f"no variable named {name!r} in the results{hint}",
            code=ErrorCode.UNKNOWN_OUTPUT,
            variable=name,
        )

    def __len__(self) -> int:
        """Number of saved time points."""
        return len(self._native)

    def __contains__(self, name: object) -> bool:
        """True if ``name`` (any spelling) is one of the columns."""
        return isinstance(name, str) and self._native.index_of(name) is not None

    def __iter__(self) -> Iterator[str]:
        """Iterate over the variable names."""
        return iter(self.names)

    def keys(self) -> list[str]:
        """The variable names, in column order (as :attr:`names`)."""
        return self.names

    def values(self) -> Iterator[FloatArray]:
        """Each variable's series, in column order."""
        return (self[name] for name in self.names)

    def items(self) -> Iterator[tuple[str, FloatArray]]:
        """``(name, series)`` pairs, in column order."""
        return ((name, self[name]) for name in self.names)

    @overload
    def get(self, name: str) -> FloatArray | None: ...
    @overload
    def get(self, name: str, default: _T) -> FloatArray | _T: ...
    def get(self, name: str, default: object = None) -> object:
        """The series of ``name`` (as ``results[name]``), or ``default`` if there is none."""
        try:
            return self[name]
        except KeyError:
            return default

    def to_pandas(self) -> pd.DataFrame:
        """A pandas DataFrame indexed by ``time``, one column per variable."""
        import numpy as np
        import pandas as pd

        index = pd.Index(self.times, name="time")
        names = self.names
        # One float64 block, laid out as pandas stores it (one row per
        # column): a frame of thousands of columns built from a dict of
        # arrays gets one block per column, ten times slower to make and use.
        # The engine fills it in one pass, in memory it owns and lends
        # writable (pandas frames can be written to).
        block = np.asarray(self._native.column_block()).reshape(len(names), len(index))
        frame: pd.DataFrame = pd.DataFrame(block.T, index=index, columns=names, copy=False)
        return frame

    def to_xarray(self) -> xr.Dataset:
        """An xarray Dataset over ``time``, arrayed variables with named dimensions.

        Each arrayed variable whose elements are all in the results is one
        N-dimensional variable ``(time, *dimensions)`` whose dimensions are
        named after the model's and carry its element names as coordinates;
        every other column is a variable over ``time``. Needs xarray.
        """
        import numpy as np

        try:
            import xarray as xr
        except ImportError:
            raise ImportError(
                "to_xarray needs xarray: pip install xarray (or 'simlin[xarray]')"
            ) from None
        native = self._native
        n = len(self)
        coords: dict[str, Any] = {"time": np.asarray(native.times_view())}
        data: dict[str, Any] = {}
        in_arrays: set[int] = set()
        layouts = native.array_layouts()
        # Every arrayed variable's elements, gathered time-major into one
        # buffer; each variable is a view of its stretch.
        stacked = np.asarray(native.stacked([columns for _, _, columns in layouts]))
        at = 0
        for name, dims, columns in layouts:
            dim_names: list[str] = []
            for dim, elements in dims:
                # A dimension used twice by one variable, or a name another
                # variable uses with other elements, gets a suffix.
                label, k = dim, 2
                while label in dim_names or (label in coords and list(coords[label]) != elements):
                    label, k = f"{dim}_{k}", k + 1
                dim_names.append(label)
                coords[label] = elements
            shape = [len(e) for _, e in dims]
            block = stacked[at : at + n * len(columns)]
            at += n * len(columns)
            data[name] = (("time", *dim_names), block.reshape((n, *shape)))
            in_arrays.update(columns)
        for i, name in enumerate(self.names):
            if i not in in_arrays:
                data[name] = (("time",), np.asarray(native.column_at(i)))
        return xr.Dataset(data, coords=coords)

    def plot(self, *names: str, ax: Any = None, **kwargs: Any) -> Any:
        """Draw ``names`` (default: the first 10 columns) over time; the Axes.

        Needs matplotlib; see :mod:`simlin.plot` (and :func:`simlin.plot.fan`
        for sweeps).
        """
        from simlin import plot

        return plot.results(self, names, ax=ax, **kwargs)

    def to_polars(self) -> pl.DataFrame:
        """A polars DataFrame with a ``time`` column first, then one per variable."""
        import polars as pl

        return pl.DataFrame(self)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> Any:
        """Arrow PyCapsule stream: one struct batch (``time``, then float64 columns)."""
        return self._native.__arrow_c_stream__(requested_schema)

    def _repr_html_(self) -> str:
        """Jupyter display: the first and last saved times of the first columns."""
        from simlin._html import results_html

        return results_html(self)

    def __repr__(self) -> str:
        if self.closed:
            return "<simlin.Results (closed)>"
        return f"<simlin.Results {len(self)} time points x {len(self.names)} variables>"
