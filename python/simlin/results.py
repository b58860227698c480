"""Simulation results: NumPy views, pandas/polars frames, and Arrow export.

The series live in native buffers that are shared, not copied: ``results[name]``
is a read-only NumPy array over the native memory, and ``__arrow_c_stream__``
hands the same buffers to pyarrow, polars or pandas. Arrays obtained before
:meth:`Results.close` stay valid (they keep the buffers alive).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from simlin import _simlin
from simlin._handle import NativeHandle
from simlin.errors import ErrorCode, SimlinKeyError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import polars as pl

    FloatArray = npt.NDArray[np.float64]

__all__ = ["Results"]


class Results(NativeHandle):
    """The saved time series of one run.

    Behaves like a read-only mapping from variable name (any spelling: case,
    spaces or underscores do not matter) to a NumPy array aligned with
    :attr:`times`. Use it as a context manager, or call :meth:`close`, to
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
            stacked = np.stack([np.asarray(self._native.column_at(c)) for c in columns], axis=-1)
            out: FloatArray = stacked.reshape((len(self), *shape))
            out.flags.writeable = False
            return out
        return np.asarray(self._native.column_view(name))

    def _unknown(self, name: str) -> SimlinKeyError:
        """The error for a name that is no column, with the closest names."""
        import difflib

        folded = {n.lower().replace("_", " "): n for n in self.names}
        close = difflib.get_close_matches(name.lower().replace("_", " "), folded, n=3)
        hint = f"; did you mean {', '.join(repr(folded[c]) for c in close)}?" if close else ""
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

    def to_pandas(self) -> pd.DataFrame:
        """A pandas DataFrame indexed by ``time``, one column per variable."""
        import numpy as np
        import pandas as pd

        index = pd.Index(self.times, name="time")
        names = self.names
        # One float64 block, laid out as pandas stores it (one row per
        # column): a frame of thousands of columns built from a dict of
        # arrays gets one block per column, ten times slower to make and use.
        block = np.empty((len(names), len(index)), dtype=np.float64)
        for i in range(len(names)):
            block[i] = np.asarray(self._native.column_at(i))
        frame: pd.DataFrame = pd.DataFrame(block.T, index=index, columns=names, copy=False)
        return frame

    def to_polars(self) -> pl.DataFrame:
        """A polars DataFrame with a ``time`` column first, then one per variable."""
        import polars as pl

        return pl.DataFrame(self)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> Any:
        """Arrow PyCapsule stream: one struct batch (``time``, then float64 columns)."""
        return self._native.__arrow_c_stream__(requested_schema)

    def __repr__(self) -> str:
        if self.closed:
            return "<simlin.Results (closed)>"
        return f"<simlin.Results {len(self)} time points x {len(self.names)} variables>"
