"""Parameter tables, read into plain columns whatever library they come from.

A sweep's ``params`` may be a Polars or pandas DataFrame, a pyarrow Table
(or any object with ``__arrow_c_stream__``), or a mapping of column name to
values. Each is read with its own library: a pandas frame never needs
Polars, a pyarrow table needs Polars only if pyarrow is missing, and a
mapping needs only NumPy; so a sweep works with whichever of the three a
user has installed. The result, :class:`ParamColumns`, holds what the
native engine takes: float64 columns, graphical-function point lists and the
run ids, checked here (dtypes, nulls, NaN) with errors naming the column and
row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from simlin import _validate
from simlin.errors import ErrorCode, SimlinArgumentError, SimlinError, SimlinTypeError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Points = list[list[tuple[float, float]]]


@dataclass(frozen=True)
class ParamColumns:
    """A parameter table, checked and converted for the engine."""

    height: int
    #: Constant / initial-value columns, float64, one value per run.
    numbers: list[tuple[str, npt.NDArray[np.float64]]]
    #: Graphical-function columns: a list of (x, y) points per run.
    tables: list[tuple[str, Points]]
    #: The run-id column's name, if the table has one.
    id_name: str | None = None
    ids_int: npt.NDArray[np.int64] | None = None
    ids_str: list[str] | None = None

    def rows(self, start: int, stop: int) -> ParamColumns:
        """Rows ``start:stop`` (a view of the numeric columns)."""
        return replace(
            self,
            height=max(0, min(stop, self.height) - start),
            numbers=[(n, v[start:stop]) for n, v in self.numbers],
            tables=[(n, t[start:stop]) for n, t in self.tables],
            ids_int=None if self.ids_int is None else self.ids_int[start:stop],
            ids_str=None if self.ids_str is None else self.ids_str[start:stop],
        )

    def with_row_ids(self, name: str) -> ParamColumns:
        """The table with its 0-based row numbers as run ids, if it has no ids."""
        if self.id_name is not None:
            return self
        import numpy as np

        return replace(self, id_name=name, ids_int=np.arange(self.height, dtype=np.int64))


def read(params: object, run_id: str | None) -> ParamColumns:
    """Read and check any supported parameter table (see the module docs).

    A pandas index becomes the run-id column when it is named like it
    (``run_id``, else ``"run"``); any other index is ignored.
    """
    try:
        return _read(params, run_id)
    except SimlinError:
        raise
    except Exception as e:
        # A library refusing the table (ragged columns, mixed types, ...) is
        # a bad parameter table, not a crash.
        raise SimlinArgumentError(
            f"params could not be read as a table: {type(e).__name__}: {e}",
            code=ErrorCode.BAD_PARAMETER,
        ) from e


def _read(params: object, run_id: str | None) -> ParamColumns:
    kind = type(params).__module__.split(".")[0]
    name = type(params).__name__
    columns: list[tuple[str, Any]]
    if kind == "polars" and name in ("DataFrame", "LazyFrame"):
        frame: Any = params.collect() if name == "LazyFrame" else params  # type: ignore[attr-defined]
        return _build(_unique([(c, frame.get_column(c)) for c in frame.columns]), run_id, _Polars)
    if kind == "pandas" and name == "DataFrame":
        frame = params
        columns = [(str(c), frame.iloc[:, i]) for i, c in enumerate(frame.columns)]
        index = frame.index
        key = run_id or "run"
        if index.name is not None and str(index.name) == key:
            columns.insert(0, (key, index.to_series(index=range(len(index)))))
        return _build(_unique(columns), run_id, _Pandas)
    if hasattr(params, "__arrow_c_stream__"):
        return _read_arrow(params, run_id)
    if isinstance(params, Mapping):
        return _build(_unique([(str(c), v) for c, v in params.items()]), run_id, _Values)
    raise SimlinTypeError(
        "params must be a polars or pandas DataFrame, a mapping of column to values, "
        f"or an object with __arrow_c_stream__, got {type(params).__name__}"
    )


def _read_arrow(params: object, run_id: str | None) -> ParamColumns:
    """An Arrow stream, through pyarrow if installed, else through Polars."""
    try:
        import pyarrow as pa
    except ImportError:
        try:
            import polars as pl
        except ImportError:
            raise SimlinArgumentError(
                "reading an Arrow table needs pyarrow or polars: pip install pyarrow"
            ) from None
        frame = pl.DataFrame(cast(Any, params))
        return _build([(c, frame.get_column(c)) for c in frame.columns], run_id, _Polars)
    table = pa.table(params)
    pairs = [(str(c), table.column(i)) for i, c in enumerate(table.column_names)]
    return _build(_unique(pairs), run_id, _Arrow)


def _unique(columns: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    seen: set[str] = set()
    for n, _ in columns:
        if n in seen:
            raise bad(n, None, "appears more than once")
        seen.add(n)
    return columns


def bad(column: str, row: int | None, message: str) -> SimlinArgumentError:
    """A ``BAD_PARAMETER`` error naming the column (and row)."""
    where = f", row {row}" if row is not None else ""
    return SimlinArgumentError(
        f"parameter column '{column}'{where}: {message}",
        code=ErrorCode.BAD_PARAMETER,
        variable=column,
    )


def _wrong_type(column: str, what: str) -> SimlinTypeError:
    return SimlinTypeError(
        f"parameter column '{column}' has dtype {what}; expected numbers, or a list "
        "of (x, y) points per row for a graphical function",
        code=ErrorCode.BAD_PARAMETER,
        variable=column,
    )


def _wrong_id_type(column: str, what: str) -> SimlinTypeError:
    return SimlinTypeError(
        f"run id column '{column}' has dtype {what}; expected integers or strings",
        code=ErrorCode.BAD_PARAMETER,
        variable=column,
    )


class _Library:
    """How one library's column is classified and converted.

    ``number`` returns float64 values or None (not numeric); ``points``
    returns the per-row point lists or None (not a list column); ``ids``
    returns int64 ids or strings. Each raises for nulls with the row.
    """

    @staticmethod
    def number(name: str, column: Any) -> npt.NDArray[np.float64] | None:
        raise NotImplementedError

    @staticmethod
    def points(name: str, column: Any) -> Points | None:
        raise NotImplementedError

    @staticmethod
    def ids(name: str, column: Any) -> npt.NDArray[np.int64] | list[str]:
        raise NotImplementedError

    @staticmethod
    def dtype(column: Any) -> str:
        raise NotImplementedError


def _build(columns: list[tuple[str, Any]], run_id: str | None, lib: type[_Library]) -> ParamColumns:
    import numpy as np

    names = [n for n, _ in columns]
    if run_id is not None and run_id not in names:
        raise SimlinArgumentError(
            f"run_id: no column named '{run_id}' in params", code=ErrorCode.BAD_PARAMETER
        )
    id_name = run_id if run_id is not None else ("run" if "run" in names else None)
    heights = {n: len(c) for n, c in columns}
    if len(set(heights.values())) > 1:
        raise SimlinArgumentError(
            "params columns differ in length: "
            + ", ".join(f"'{n}' has {h}" for n, h in heights.items()),
            code=ErrorCode.BAD_PARAMETER,
        )
    numbers: list[tuple[str, npt.NDArray[np.float64]]] = []
    tables: list[tuple[str, Points]] = []
    ids_int: npt.NDArray[np.int64] | None = None
    ids_str: list[str] | None = None
    for name, column in columns:
        if name == id_name:
            ids = lib.ids(name, column)
            if isinstance(ids, list):
                ids_str = ids
            else:
                ids_int = ids
            continue
        values = lib.number(name, column)
        if values is not None:
            nan = np.flatnonzero(np.isnan(values))
            if nan.size:
                raise bad(name, int(nan[0]), "is NaN")
            numbers.append((name, values))
            continue
        pts = lib.points(name, column)
        if pts is None:
            raise _wrong_type(name, lib.dtype(column))
        tables.append((name, pts))
    height = next(iter(heights.values()), 0)
    return ParamColumns(height, numbers, tables, id_name, ids_int, ids_str)


def _point(column: str, row: int, item: object) -> tuple[float, float]:
    np = _validate.loaded_numpy()
    if isinstance(item, Mapping):
        item = tuple(item.values())
    elif np is not None and isinstance(item, np.ndarray):
        item = tuple(item.tolist())  # a row of an (n, 2) array
    if (
        isinstance(item, Sequence)
        and not isinstance(item, str | bytes)
        and len(item) == 2
        and _validate.is_real(item[0])
        and _validate.is_real(item[1])
    ):
        return (float(item[0]), float(item[1]))
    raise bad(column, row, f"graphical-function points must be (x, y) numbers, got {item!r}")


def _points(column: str, values: Iterable[Any]) -> Points:
    np = _validate.loaded_numpy()
    out: Points = []
    for row, pts in enumerate(values):
        if pts is None:
            raise bad(column, row, "is null")
        series = _validate.time_series(pts, column)
        if series is not None:  # a time series per row (pandas Series)
            out.append(series)
            continue
        array = np is not None and isinstance(pts, np.ndarray)
        if isinstance(pts, str | bytes) or not (isinstance(pts, Sequence) or array):
            raise bad(column, row, f"expected a list of (x, y) points, got {pts!r}")
        out.append([_point(column, row, p) for p in pts])
    return out


def _first_value(column: Iterable[Any]) -> Any:
    """The column's first non-null value (None if it has none)."""
    return next((v for v in column if v is not None), None)


def _holds_points(column: Iterable[Any]) -> bool:
    """Whether a column of Python objects holds point lists (not numbers or text)."""
    first = _first_value(column)
    return not (first is None or isinstance(first, str | bytes) or _validate.is_real(first))


def _first_true(mask: Any) -> int | None:
    import numpy as np

    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if hits.size else None


def _no_nulls(name: str, mask: Any, what: str = "is null") -> None:
    row = _first_true(mask)
    if row is not None:
        raise bad(name, row, what)


def _string_ids(name: str, values: Iterable[Any]) -> list[str]:
    out = []
    for row, v in enumerate(values):
        if v is None:
            raise bad(name, row, "run id is null")
        out.append(str(v))
    return out


class _Polars(_Library):
    @staticmethod
    def number(name: str, column: Any) -> npt.NDArray[np.float64] | None:
        import numpy as np
        import polars as pl

        if not column.dtype.is_numeric():
            return None
        _no_nulls(name, column.is_null().to_numpy())
        return np.ascontiguousarray(column.cast(pl.Float64).to_numpy(), dtype=np.float64)

    @staticmethod
    def points(name: str, column: Any) -> Points | None:
        import polars as pl

        if isinstance(column.dtype, pl.List | pl.Array) or column.dtype == pl.Object:
            return _points(name, column.to_list())
        return None

    @staticmethod
    def ids(name: str, column: Any) -> npt.NDArray[np.int64] | list[str]:
        import numpy as np
        import polars as pl

        _no_nulls(name, column.is_null().to_numpy(), "run id is null")
        dtype = column.dtype
        if dtype.is_integer():
            try:
                ints = column.cast(pl.Int64, strict=True)
            except Exception:
                raise bad(name, None, "run ids do not fit in int64") from None
            return np.ascontiguousarray(ints.to_numpy(), dtype=np.int64)
        if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            return [str(v) for v in column.cast(pl.String).to_list()]
        raise _wrong_id_type(name, str(dtype))

    @staticmethod
    def dtype(column: Any) -> str:
        return str(column.dtype)


class _Pandas(_Library):
    @staticmethod
    def number(name: str, column: Any) -> npt.NDArray[np.float64] | None:
        import numpy as np
        import pandas as pd

        dtype = column.dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            return None
        # pandas marks a missing float as NaN: both are "null" here.
        _no_nulls(name, column.isna().to_numpy())
        return np.ascontiguousarray(column.to_numpy(dtype=np.float64))

    @staticmethod
    def points(name: str, column: Any) -> Points | None:
        import pandas as pd

        if not pd.api.types.is_object_dtype(column.dtype) or not _holds_points(column):
            return None
        return _points(name, column)

    @staticmethod
    def ids(name: str, column: Any) -> npt.NDArray[np.int64] | list[str]:
        import numpy as np
        import pandas as pd

        _no_nulls(name, column.isna().to_numpy(), "run id is null")
        dtype = column.dtype
        if pd.api.types.is_integer_dtype(dtype):
            unsigned = pd.api.types.is_unsigned_integer_dtype(dtype)
            if unsigned and len(column) and int(column.max()) >= 2**63:
                raise bad(name, None, "run ids do not fit in int64")
            return np.ascontiguousarray(column.to_numpy(dtype=np.int64))
        if isinstance(dtype, pd.CategoricalDtype) or (
            pd.api.types.is_string_dtype(dtype) and all(isinstance(v, str) for v in column)
        ):
            return _string_ids(name, column)
        raise _wrong_id_type(name, _Pandas.dtype(column))

    @staticmethod
    def dtype(column: Any) -> str:
        import pandas as pd

        if pd.api.types.is_object_dtype(column.dtype):
            # "object" says nothing; name what the column holds.
            return f"object ({type(_first_value(column)).__name__} values)"
        return str(column.dtype)


class _Arrow(_Library):
    @staticmethod
    def _numeric(column: Any) -> bool:
        import pyarrow as pa

        t = column.type
        return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))

    @staticmethod
    def number(name: str, column: Any) -> npt.NDArray[np.float64] | None:
        import numpy as np
        import pyarrow as pa

        if not _Arrow._numeric(column):
            return None
        if column.null_count:
            _no_nulls(name, column.is_null().to_numpy())
        return np.ascontiguousarray(
            column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )

    @staticmethod
    def points(name: str, column: Any) -> Points | None:
        import pyarrow as pa

        t = column.type
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            return _points(name, column.to_pylist())
        return None

    @staticmethod
    def ids(name: str, column: Any) -> npt.NDArray[np.int64] | list[str]:
        import numpy as np
        import pyarrow as pa

        if column.null_count:
            _no_nulls(name, column.is_null().to_numpy(), "run id is null")
        t = column.type
        if pa.types.is_integer(t):
            try:
                ints = column.cast(pa.int64())
            except Exception:
                raise bad(name, None, "run ids do not fit in int64") from None
            return np.ascontiguousarray(ints.to_numpy(zero_copy_only=False), dtype=np.int64)
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
            return _string_ids(name, column.to_pylist())
        raise _wrong_id_type(name, str(t))

    @staticmethod
    def dtype(column: Any) -> str:
        return str(column.type)


class _Values(_Library):
    """A mapping's values: NumPy arrays, lists, or any sequence."""

    @staticmethod
    def number(name: str, column: Any) -> npt.NDArray[np.float64] | None:
        import numpy as np

        if isinstance(column, np.ndarray):
            if column.dtype.kind in "iuf":
                return np.ascontiguousarray(column, dtype=np.float64)
            if column.dtype.kind != "O":
                return None
        items = list(column)
        if not all(v is None or _validate.is_real(v) for v in items):
            return None
        _no_nulls(name, [v is None for v in items])
        return np.array(items, dtype=np.float64)

    @staticmethod
    def points(name: str, column: Any) -> Points | None:
        items = list(column)
        return _points(name, items) if _holds_points(items) else None

    @staticmethod
    def ids(name: str, column: Any) -> npt.NDArray[np.int64] | list[str]:
        import numpy as np

        items = list(column)
        _no_nulls(name, [v is None for v in items], "run id is null")
        if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items):
            if any(not -(2**63) <= int(v) < 2**63 for v in items):
                raise bad(name, None, "run ids do not fit in int64")
            return np.array([int(v) for v in items], dtype=np.int64)
        if all(isinstance(v, str) for v in items):
            return list(items)
        raise _wrong_id_type(name, _Values.dtype(column))

    @staticmethod
    def dtype(column: Any) -> str:
        return f"of {type(_first_value(column)).__name__} values"
