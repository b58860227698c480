"""Parameter sweeps: one compiled model, many runs, one Polars DataFrame.

:meth:`simlin.Model.sweep` is the entry point; :func:`start_sweep` starts the
same sweep in the background and returns a :class:`SweepJob` to poll, wait
on or cancel.

The parameter table has one row per run and one column per parameter, named
after a model variable: numbers for a constant or a stock's initial value, or
a list of ``(x, y)`` points per row for a graphical function. Columns are
checked and converted here (wrong dtypes, nulls), then handed to the native
engine, which runs batches of runs in lockstep on all cores without the GIL.
Results come back as Arrow buffers (the engine's value buffer is moved, not
copied) and become a Polars DataFrame:

* without ``reduce`` (long format): ``run``, ``time``, ``variable``
  (categorical), ``value``; rows are ordered by run, then time, then
  variable in output order;
* with ``reduce`` (wide format): ``run`` plus one float64 column per output.

Random streams follow the run: a run with an id (the run-id column) uses
``run_seed(seed, id)`` (``seed + id`` for an integer id, ``seed`` plus the
id's FNV-1a hash for a string), else row ``r`` (0-based) uses ``seed + r``;
``model.run(overrides=row, seed=that seed)`` gives exactly the same numbers,
and the Polars plugin's ``run=`` key gives the same seeds.
"""

from __future__ import annotations

import math
import operator
import os
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, SupportsIndex, TypeAlias, cast

from simlin import _simlin, _validate
from simlin.errors import (
    ErrorCode,
    SimlinArgumentError,
    SimlinError,
    SimlinTypeError,
    SweepFailureWarning,
)

if TYPE_CHECKING:
    import polars as pl

    from simlin.model import Model

__all__ = ["ParamsLike", "ReduceSpec", "SweepJob", "run_seed", "run_sweep", "start_sweep"]

ParamsLike = Any
"""A Polars or pandas DataFrame, a mapping of column name to values, or any
object with ``__arrow_c_stream__`` (a pyarrow Table, ...)."""

ReduceSpec = Literal["final", "max", "min", "mean"] | float | Mapping[str, float]
"""A per-run reduction: a name, or a time (the value at that time)."""

#: The names ``reduce`` takes (besides a time).
REDUCTIONS = ("final", "max", "min", "mean")

# Progress bar: shown only once a sweep has run this long (seconds).
_PROGRESS_AFTER = 2.0
_POLL = 0.1


def _require_polars() -> None:
    try:
        import polars  # noqa: F401
    except ImportError:  # pragma: no cover - polars is a dev dependency
        raise SimlinError(
            "Model.sweep returns a polars DataFrame: pip install 'simlin[polars]'",
            code=ErrorCode.INVALID_ARGUMENT,
        ) from None


def run_seed(seed: int, key: int | str) -> int:
    """The random seed of the sweep run whose id is ``key``.

    ``seed + key`` for an integer id, ``seed`` plus the id's 64-bit FNV-1a
    hash (the same on every machine) for a string, modulo 2**64. With it,
    ``model.run(overrides=row, seed=simlin.run_seed(seed, id))`` reproduces
    the run of a ``model.sweep`` with a run-id column, or of
    ``simlin.simulate(..., run=...)``.

    Raises:
        SimlinTypeError: ``seed`` is not an int or ``key`` not an int or str.
        SimlinArgumentError: ``seed`` is outside ``[0, 2**64)``.

    """
    s = _validate.seed(seed)
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise SimlinTypeError(f"a run key is an int or a str, got {type(key).__name__}")
    if isinstance(key, int) and not -(2**63) <= key < 2**63:
        raise SimlinArgumentError(f"an integer run key must fit in 64 bits, got {key}")
    return _simlin.run_seed(s, key)


def _to_polars(params: object, run_id: str | None) -> pl.DataFrame:
    """Any supported parameter table as a Polars DataFrame.

    A pandas index is dropped, unless it is named like the run-id column
    (``run_id``, else ``"run"``): then it becomes that column.
    """
    _require_polars()
    try:
        return _convert_table(params, run_id)
    except SimlinError:
        raise
    except Exception as e:
        # pandas/Polars/pyarrow refusing the table (duplicate column names,
        # mixed types, ...) is a bad parameter table, not a crash.
        raise SimlinArgumentError(
            f"params could not be read as a table: {type(e).__name__}: {e}",
            code=ErrorCode.BAD_PARAMETER,
        ) from e


def _convert_table(params: object, run_id: str | None) -> pl.DataFrame:
    import polars as pl

    columns = getattr(params, "columns", None)
    if columns is not None and not isinstance(params, pl.LazyFrame):
        seen: set[str] = set()
        for n in (str(c) for c in columns):
            if n in seen:
                raise _bad(n, None, "appears more than once")
            seen.add(n)
    if isinstance(params, pl.DataFrame):
        return params
    if isinstance(params, pl.LazyFrame):
        return params.collect()
    module = type(params).__module__ or ""
    if module.startswith("pandas") and type(params).__name__ == "DataFrame":
        index_name = getattr(getattr(params, "index", None), "name", None)
        keep_index = index_name is not None and index_name == (run_id or "run")
        frame: pl.DataFrame = pl.from_pandas(cast(Any, params), include_index=keep_index)
        return frame
    if hasattr(params, "__arrow_c_stream__"):
        try:
            return pl.DataFrame(params)
        except Exception:
            # Older polars: go through pyarrow.
            import pyarrow as pa

            table = pl.from_arrow(pa.table(params))
            if not isinstance(table, pl.DataFrame):  # pragma: no cover
                raise SimlinTypeError("params did not convert to a table") from None
            return table
    if isinstance(params, Mapping):
        return pl.DataFrame(dict(params))
    raise SimlinTypeError(
        "params must be a polars or pandas DataFrame, a mapping of column to values, "
        f"or an object with __arrow_c_stream__, got {type(params).__name__}"
    )


def _bad(column: str, row: int | None, message: str) -> SimlinArgumentError:
    where = f", row {row}" if row is not None else ""
    return SimlinArgumentError(
        f"parameter column '{column}'{where}: {message}",
        code=ErrorCode.BAD_PARAMETER,
        variable=column,
    )


def _first_null(series: Any) -> int | None:
    if series.null_count() == 0:
        return None
    return int(series.is_null().arg_true()[0])


def _point(column: str, row: int, item: object) -> tuple[float, float]:
    if isinstance(item, Mapping):
        item = tuple(item.values())
    if (
        isinstance(item, Sequence)
        and not isinstance(item, str | bytes)
        and len(item) == 2
        and _validate.is_real(item[0])
        and _validate.is_real(item[1])
    ):
        return (float(item[0]), float(item[1]))
    raise _bad(column, row, f"graphical-function points must be (x, y) numbers, got {item!r}")


def _points(column: str, values: list[Any]) -> list[list[tuple[float, float]]]:
    out: list[list[tuple[float, float]]] = []
    for row, pts in enumerate(values):
        if pts is None:
            raise _bad(column, row, "is null")
        np = _validate.loaded_numpy()
        array = np is not None and isinstance(pts, np.ndarray)
        if isinstance(pts, str | bytes) or not (isinstance(pts, Sequence) or array):
            raise _bad(column, row, f"expected a list of (x, y) points, got {pts!r}")
        out.append([_point(column, row, p) for p in pts])
    return out


def _run_ids(column: str, series: Any) -> tuple[bytes | None, list[str] | None]:
    """The run-id column as int64 bytes or a list of strings."""
    import numpy as np
    import polars as pl

    row = _first_null(series)
    if row is not None:
        raise _bad(column, row, "run id is null")
    dtype = series.dtype
    if dtype.is_integer():
        try:
            ints = series.cast(pl.Int64, strict=True)
        except Exception:
            raise _bad(column, None, "run ids do not fit in int64") from None
        return np.ascontiguousarray(ints.to_numpy(), dtype=np.int64).tobytes(), None
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return None, [str(v) for v in series.cast(pl.String).to_list()]
    raise SimlinTypeError(
        f"run id column '{column}' has dtype {dtype}; expected integers or strings",
        code=ErrorCode.BAD_PARAMETER,
        variable=column,
    )


def _columns(
    frame: pl.DataFrame, run_id: str | None
) -> tuple[
    list[tuple[str, bytes]],
    list[tuple[str, list[list[tuple[float, float]]]]],
    bytes | None,
    list[str] | None,
]:
    """Split and convert the parameter columns (see the module docs)."""
    import numpy as np
    import polars as pl

    if run_id is not None:
        if run_id not in frame.columns:
            raise SimlinArgumentError(
                f"run_id: no column named '{run_id}' in params", code=ErrorCode.BAD_PARAMETER
            )
        id_column: str | None = run_id
    else:
        id_column = "run" if "run" in frame.columns else None
    numbers: list[tuple[str, bytes]] = []
    tables: list[tuple[str, list[list[tuple[float, float]]]]] = []
    ids_int: bytes | None = None
    ids_str: list[str] | None = None
    for name in frame.columns:
        series = frame.get_column(name)
        if name == id_column:
            ids_int, ids_str = _run_ids(name, series)
            continue
        dtype = series.dtype
        if dtype.is_numeric():
            row = _first_null(series)
            if row is not None:
                raise _bad(name, row, "is null")
            values = np.ascontiguousarray(series.cast(pl.Float64).to_numpy(), dtype=np.float64)
            nan = np.flatnonzero(np.isnan(values))
            if nan.size:
                raise _bad(name, int(nan[0]), "is NaN")
            numbers.append((name, values.tobytes()))
        elif isinstance(dtype, pl.List | pl.Array) or dtype == pl.Object:
            tables.append((name, _points(name, series.to_list())))
        else:
            raise SimlinTypeError(
                f"parameter column '{name}' has dtype {dtype}; expected numbers, or a list "
                "of (x, y) points per row for a graphical function",
                code=ErrorCode.BAD_PARAMETER,
                variable=name,
            )
    return numbers, tables, ids_int, ids_str


def _reduce(value: object) -> tuple[str | None, float | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        if value.lower() in REDUCTIONS:
            return value.lower(), None
        raise SimlinArgumentError(
            f"reduce must be one of {', '.join(REDUCTIONS)} or a time, got {value!r}"
        )
    if isinstance(value, Mapping):
        # {"at": t}, the plugin's form, is the same as a bare time.
        if set(value) != {"at"}:
            raise SimlinArgumentError(
                f"a reduce mapping must be {{'at': time}}, got keys {sorted(map(str, value))}"
            )
        value = value["at"]
    if _validate.is_real(value):
        t = float(value)  # type: ignore[arg-type]
        if not math.isfinite(t):
            raise SimlinArgumentError(f"reduce time must be finite, got {t}")
        return None, t
    raise SimlinTypeError(
        f"reduce must be one of {', '.join(REDUCTIONS)} or a time, got {type(value).__name__}"
    )


def _positive_int(value: object, what: str, most: int = 2**16) -> int | None:
    if value is None:
        return None
    np = _validate.loaded_numpy()
    if isinstance(value, bool) or not (
        isinstance(value, int) or (np is not None and isinstance(value, np.integer))
    ):
        raise SimlinTypeError(f"{what} must be an int, got {type(value).__name__}")
    n = operator.index(cast(SupportsIndex, value))
    if not 1 <= n <= most:
        raise SimlinArgumentError(f"{what} must be between 1 and {most}, got {value}")
    return n


class SweepJob:
    """A sweep running in the background (see :func:`start_sweep`).

    The runs happen on native threads; this object only polls them. Call
    :meth:`result` to wait for and collect the DataFrame.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _simlin.SweepJob) -> None:
        """Wrap a native job (use :func:`start_sweep`)."""
        self._native = native

    @property
    def n_runs(self) -> int:
        """Total number of runs."""
        return self._native.n_runs

    def done(self) -> int:
        """Number of runs finished so far."""
        return self._native.done()

    @property
    def finished(self) -> bool:
        """True once the sweep has ended (successfully or not)."""
        return self._native.finished

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (``None``: until the end); True if finished."""
        return self._native.wait(_validate.optional_real(timeout, "timeout"))

    def cancel(self) -> None:
        """Stop the sweep soon; :meth:`result` then raises ``CANCELLED``."""
        self._native.cancel()

    def result(self) -> pl.DataFrame:
        """Wait for the end and return the outputs (see :mod:`simlin.sweep`).

        With ``on_error="null"``, failed runs are null in the frame and a
        :class:`simlin.SweepFailureWarning` names each (row, variable, time).

        Raises:
            SimlinRuntimeError: ``CANCELLED`` after :meth:`cancel`, or the
                sweep's error (``RUN_FAILED``, ``BAD_PARAMETER``, ...).

        """
        import polars as pl

        frame = self._native.result()
        failed = frame.failures()
        if failed:
            # Nothing is lost: the good runs are in the frame, each failed
            # one is named here with its reason.
            warnings.warn(SweepFailureWarning(failed, self.n_runs), stacklevel=3)
        return pl.DataFrame(frame)

    def __repr__(self) -> str:
        state = "finished" if self.finished else "running"
        return f"<simlin.SweepJob {self.done()}/{self.n_runs} runs, {state}>"


def start_sweep(
    model: Model,
    params: ParamsLike,
    *,
    outputs: Sequence[str] | None = None,
    reduce: ReduceSpec | None = None,
    method: str | None = None,
    seed: int | None = None,
    threads: int | None = None,
    on_error: Literal["raise", "null"] = "raise",
    run_id: str | None = None,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    save_step: float | None = None,
    _engine: Literal["batched", "scalar"] = "batched",
    _batch: int | None = None,
    _ltm: Literal["relative", "dominance"] | None = None,
) -> SweepJob:
    """Start :meth:`simlin.Model.sweep` in the background and return the job.

    Arguments as for :meth:`simlin.Model.sweep` (without ``progress``).
    ``_engine`` (``"batched"`` or ``"scalar"``) and ``_batch`` (runs per
    lockstep batch: 1, 2, 4, 8, 16, 32 or 64; default: chosen by model size)
    are for benchmarks. ``_ltm`` runs the model compiled with loop scores:
    ``"relative"`` keeps the ``outputs`` named (relative scores),
    ``"dominance"`` each run's dominance periods (see :func:`_ltm_sweep`).
    """
    if run_id is not None:
        run_id = _validate.name(run_id, "run_id")
    frame = _to_polars(params, run_id)
    numbers, tables, ids_int, ids_str = _columns(frame, run_id)
    reduce_name, reduce_at = _reduce(reduce)
    if on_error not in ("raise", "null"):
        raise SimlinArgumentError(f"on_error must be 'raise' or 'null', got {on_error!r}")
    if _engine not in ("batched", "scalar"):
        raise SimlinArgumentError(f"_engine must be 'batched' or 'scalar', got {_engine!r}")
    batch = _positive_int(_batch, "_batch") or 0
    native = _simlin.start_sweep(
        model._native,
        frame.height,
        numbers,
        tables,
        ids_int,
        ids_str,
        _validate.run_options(
            method=method,
            start=start,
            stop=stop,
            dt=dt,
            save_step=save_step,
            outputs=outputs,
            seed=seed,
        ),
        reduce_name,
        reduce_at,
        _positive_int(threads, "threads"),
        on_error,
        _engine,
        batch,
        _ltm,
    )
    return SweepJob(native)


class Progress:
    """A sweep's finished runs as one ``tqdm.auto`` bar, shown once it has run a while.

    ``tqdm.auto`` draws a widget that updates in place in Jupyter and one
    line redrawn in place in a terminal. One object can span several jobs
    (:meth:`simlin.Model.sweep_to_parquet` runs a job per batch of runs), so
    the user sees one bar for the call, not one per batch.
    """

    def __init__(self, total: int, wanted: bool | None) -> None:
        self.total = total
        self.wanted = _wants_progress(wanted)
        self.base = 0  # runs finished by this bar's earlier jobs
        self._t0 = time.monotonic()
        self._bar: Any = None

    def show(self, done: int) -> None:
        """Record ``done`` finished runs of the current job."""
        if not self.wanted:
            return
        n = self.base + done
        if self._bar is None:
            if time.monotonic() - self._t0 <= _PROGRESS_AFTER:
                return
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, initial=n, desc="sweep", unit="run")
        elif n > self._bar.n:
            self._bar.update(n - self._bar.n)

    def job_done(self, done: int) -> None:
        """The current job finished ``done`` runs; the next job counts on from them."""
        self.show(done)
        self.base += done

    def close(self) -> None:
        """Draw the final state and end the bar's line (if it was shown)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


ProgressLike: TypeAlias = bool | Progress | None
"""``True``/``False``, ``None`` (only in a terminal or a notebook), or a shared bar."""


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (not merely with IPython or ipykernel imported)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _wants_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    # A notebook's stderr is not a terminal, but tqdm.auto draws its widget there.
    if _in_notebook():
        return True
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def wait_with_progress(job: SweepJob, progress: ProgressLike) -> pl.DataFrame:
    """Wait for ``job`` (drawing a progress bar if asked) and return its result.

    Ctrl-C (``KeyboardInterrupt``) cancels the job and is re-raised.
    """
    _wait(job, progress)
    return job.result()


def _wait(job: SweepJob, progress: ProgressLike) -> None:
    """Wait for ``job`` to finish, drawing a progress bar if asked."""
    if isinstance(progress, Progress):
        bar, owned = progress, False  # the caller's: it spans several jobs
    else:
        bar, owned = Progress(job.n_runs, progress), True
    try:
        while not job.wait(_POLL):
            bar.show(job.done())
        bar.job_done(job.done())
    except KeyboardInterrupt:
        job.cancel()
        # The workers stop at their next batch; wait for them briefly.
        job.wait(5.0)
        raise
    finally:
        if owned:
            bar.close()


#: A Parquet sink's row groups hold about this many frame rows.
_SINK_ROWS = 1 << 22


def _sweep_to_parquet(
    model: Model,
    params: ParamsLike,
    path: str | os.PathLike[str],
    rows_per_group: int | None,
    run_id: str | None,
    progress: bool | None,
    kwargs: dict[str, Any],
) -> pl.LazyFrame:
    """:func:`run_sweep` into a Parquet file, a row group per batch of runs.

    Memory is bounded by one batch, whatever the number of runs. Each run
    keeps the seed it would have in one sweep of the whole table: without a
    run-id column, rows are given their 0-based index as their id.
    """
    import polars as pl

    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SimlinArgumentError(
            "sweep_to_parquet writes Parquet through pyarrow: pip install pyarrow"
        ) from None
    if rows_per_group is not None and (
        isinstance(rows_per_group, bool)
        or not isinstance(rows_per_group, int)
        or rows_per_group < 1
    ):
        raise SimlinArgumentError(f"rows_per_group must be a positive int, got {rows_per_group!r}")
    file = os.fspath(path)
    frame = _to_polars(params, run_id)
    bar = Progress(frame.height, progress)
    key = run_id or "run"
    if key not in frame.columns:
        frame = frame.with_row_index(key).with_columns(pl.col(key).cast(pl.Int64))
    n = frame.height
    target = rows_per_group or _SINK_ROWS
    failures: list[tuple[int, str, float]] = []
    writer: Any = None
    done = 0
    per_run = 0
    try:
        # At least one batch, so that an empty table still writes a file.
        while True:
            # The first batch is one run, to learn how many rows a run makes.
            size = 1 if per_run == 0 else max(1, target // per_run)
            chunk = frame.slice(done, size)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SweepFailureWarning)
                out = run_sweep(model, chunk, run_id=key, progress=bar, **kwargs)
            for w in caught:
                if isinstance(w.message, SweepFailureWarning):
                    failures.extend((done + r, v, t) for r, v, t in w.message.failures)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            table = out.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(file, table.schema)
            writer.write_table(table)
            per_run = max(per_run, out.height // max(chunk.height, 1), 1)
            done += chunk.height
            if done >= n:
                break
    except OSError as e:
        raise SimlinArgumentError(f"cannot write {file}: {e}") from None
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if failures:
        warnings.warn(SweepFailureWarning(failures, n), stacklevel=3)
    return pl.scan_parquet(file)


def run_sweep(
    model: Model,
    params: ParamsLike,
    *,
    outputs: Sequence[str] | None = None,
    reduce: ReduceSpec | None = None,
    method: str | None = None,
    seed: int | None = None,
    threads: int | None = None,
    progress: ProgressLike = None,
    on_error: Literal["raise", "null"] = "raise",
    run_id: str | None = None,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    save_step: float | None = None,
    _engine: Literal["batched", "scalar"] = "batched",
    _batch: int | None = None,
    ltm: Literal["relative", "dominance"] | None = None,
) -> pl.DataFrame:
    """:meth:`simlin.Model.sweep` (see there)."""
    if ltm is not None:
        return _ltm_sweep(
            model,
            params,
            ltm,
            outputs=outputs,
            reduce=reduce,
            method=method,
            seed=seed,
            threads=threads,
            progress=progress,
            on_error=on_error,
            run_id=run_id,
            start=start,
            stop=stop,
            dt=dt,
            save_step=save_step,
        )
    job = start_sweep(
        model,
        params,
        outputs=outputs,
        reduce=reduce,
        method=method,
        seed=seed,
        threads=threads,
        on_error=on_error,
        run_id=run_id,
        start=start,
        stop=stop,
        dt=dt,
        save_step=save_step,
        _engine=_engine,
        _batch=_batch,
    )
    return wait_with_progress(job, progress)


_REL_PREFIX = "$ltm.rel."


def _ltm_sweep(
    model: Model,
    params: ParamsLike,
    ltm: str,
    *,
    outputs: Sequence[str] | None,
    reduce: ReduceSpec | None,
    method: str | None,
    seed: int | None,
    threads: int | None,
    progress: ProgressLike,
    on_error: Literal["raise", "null"],
    run_id: str | None,
    start: float | None,
    stop: float | None,
    dt: float | None,
    save_step: float | None,
) -> pl.DataFrame:
    """A sweep that keeps only the relative loop scores (or dominance periods).

    The runs are of the model compiled with loop scores; only the relative
    score variables are saved, so no link score is stored.
    """
    import polars as pl

    if ltm not in ("relative", "dominance"):
        raise SimlinArgumentError(f"ltm must be 'relative' or 'dominance', got {ltm!r}")
    if outputs is not None:
        raise SimlinArgumentError("outputs cannot be combined with ltm (the loops are the outputs)")
    if ltm == "dominance" and (reduce is not None or on_error != "raise"):
        raise SimlinArgumentError("ltm='dominance' takes neither reduce nor on_error='null'")
    loops, names = model._native.ltm_loops()
    job = start_sweep(
        model,
        params,
        outputs=names,
        reduce=reduce,
        method=method,
        seed=seed,
        threads=threads,
        on_error=on_error,
        run_id=run_id,
        start=start,
        stop=stop,
        dt=dt,
        save_step=save_step,
        _ltm="dominance" if ltm == "dominance" else "relative",
    )
    ids = [row[0] for row in loops]
    if ltm == "dominance":
        # Periods computed per chunk of runs as they finish: neither a
        # long frame nor every run's scores are ever held.
        _wait(job, progress)
        str_runs, int_ids, str_ids, partition, start_t, end_t, loop_ids = job._native.dominance()
        return pl.DataFrame(
            {
                "run": pl.Series(str_ids, dtype=pl.String)
                if str_runs
                else pl.Series(int_ids, dtype=pl.Int64),
                "partition": pl.Series(partition, dtype=pl.Int64),
                "start": pl.Series(start_t, dtype=pl.Float64),
                "end": pl.Series(end_t, dtype=pl.Float64),
                "loops": pl.Series(loop_ids, dtype=pl.List(pl.String)),
            }
        )
    frame = wait_with_progress(job, progress)
    if reduce is not None:
        return frame.rename({name: loop_id for name, loop_id in zip(names, ids, strict=True)})
    loop_of = dict(zip(names, ids, strict=True))
    return frame.with_columns(
        pl.col("variable").cast(pl.String).replace_strict(loop_of).cast(pl.Enum(ids))
    ).rename({"variable": "loop", "value": "relative_score"})
