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
from typing import TYPE_CHECKING, Any, Literal, SupportsIndex, TypeAlias, TypedDict, cast, overload

from simlin import _params, _simlin, _validate
from simlin.errors import (
    SimlinArgumentError,
    SimlinTypeError,
    SweepFailureWarning,
)

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa
    from typing_extensions import Unpack

    from simlin.model import Model

__all__ = [
    "FrameKind",
    "ParamsLike",
    "ReduceSpec",
    "SweepJob",
    "SweepOptions",
    "run_seed",
    "run_sweep",
    "start_sweep",
]

ParamsLike = Any
"""A Polars or pandas DataFrame, a mapping of column name to values, or any
object with ``__arrow_c_stream__`` (a pyarrow Table, ...)."""

ReduceSpec = Literal["final", "max", "min", "mean"] | float | Mapping[str, float]
"""A per-run reduction: a name, or a time (the value at that time)."""

#: The names ``reduce`` takes (besides a time).
REDUCTIONS = ("final", "max", "min", "mean")

FrameKind = Literal["polars", "pandas", "arrow"]
"""The library a sweep's table comes back in (``to=``)."""

#: The values ``to`` takes, in the order tried when it is not given.
FRAME_KINDS: tuple[FrameKind, ...] = ("polars", "pandas", "arrow")


class SweepOptions(TypedDict, total=False):
    """The run settings every sweep entry point takes (see :meth:`simlin.Model.sweep`)."""

    outputs: Sequence[str] | None
    reduce: ReduceSpec | None
    method: str | None
    seed: int | None
    threads: int | None
    on_error: Literal["raise", "null"]
    run_id: str | None
    start: float | None
    stop: float | None
    dt: float | None
    save_step: float | None


def frame_kind(to: object) -> FrameKind:
    """Check ``to``; ``None`` picks Polars, else pandas, else pyarrow (the first installed)."""
    if to is None:
        for kind, module in zip(FRAME_KINDS, ("polars", "pandas", "pyarrow"), strict=True):
            try:
                __import__(module)
            except ImportError:
                continue
            return kind
        raise SimlinArgumentError(
            "a sweep returns a Polars, pandas or pyarrow table and none is installed: "
            "pip install polars (or pandas, or pyarrow)"
        )
    if to not in FRAME_KINDS:
        raise SimlinArgumentError(f"to must be 'polars', 'pandas' or 'arrow', got {to!r}")
    return to


def to_frame(frame: _simlin.SweepFrame, kind: FrameKind) -> Any:
    """A native sweep frame as a table of ``kind`` (see :func:`frame_kind`).

    Polars and pyarrow read the Arrow buffers through the C stream interface
    without copying. pandas gets NumPy columns (so pyarrow is not needed),
    a number column without nulls as the frame's own buffer, taken out of
    it whole (the frame is not used again):
    ``run`` and ``time`` int64/float64, ``variable`` (and string run ids) a
    ``Categorical``, values float64 with NaN for failed runs; plain string
    and list columns (a dominance frame's string run ids and ``loops``) as
    Python objects.
    """
    if kind == "polars":
        import polars as pl

        return pl.DataFrame(frame)
    if kind == "arrow":
        import pyarrow as pa

        return pa.table(frame)
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {}
    for i, name in enumerate(frame.columns):
        objects = frame.object_column(i)
        if objects is not None:
            # Strings and lists of strings (a dominance frame's string run
            # ids and loops): NumPy has no type for them.
            data[name] = pd.Series(objects, dtype=object)
            continue
        block = frame.take_column(i)
        if block is not None:
            # The column's own buffer, handed over whole and writable: no
            # copy here, and none by pandas (copy=False below).
            data[name] = np.asarray(block)
            continue
        view, categories = frame.numpy_column(i)
        values = np.asarray(view)
        if categories is not None:
            # Codes in the narrowest type pandas would pick itself: one
            # small copy instead of an int64 one then a narrowing one.
            width = np.int8 if len(categories) < 2**7 else np.int16
            codes = values.astype(width if len(categories) < 2**15 else np.int32)
            data[name] = pd.Categorical.from_codes(codes, categories=pd.Index(categories))
        else:
            # A read-only view (a reduced frame's outputs slice one buffer;
            # a column with failed runs is a NaN-filled copy): pandas frames
            # are written to, so it gets a copy of its own.
            data[name] = values.copy()
    # copy=False: each column stays the array made above, instead of
    # pandas copying the number columns into one block per type (as much
    # memory again, and most of the conversion's time on a long frame).
    return pd.DataFrame(data, index=pd.RangeIndex(len(frame)), copy=False)


# Progress bar: shown only once a sweep has run this long (seconds).
_PROGRESS_AFTER = 2.0
_POLL = 0.1


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

    @overload
    def result(self, to: Literal["polars"] | None = None) -> pl.DataFrame: ...
    @overload
    def result(self, to: Literal["pandas"]) -> pd.DataFrame: ...
    @overload
    def result(self, to: Literal["arrow"]) -> pa.Table: ...
    def result(self, to: FrameKind | None = None) -> pl.DataFrame | pd.DataFrame | pa.Table:
        """Wait for the end and return the outputs (see :mod:`simlin.sweep`).

        With ``on_error="null"``, failed runs are null in the frame and a
        :class:`simlin.SweepFailureWarning` names each (row, variable, time).

        Args:
            to: ``"polars"``, ``"pandas"`` or ``"arrow"`` (a pyarrow Table);
                default: Polars if installed, else pandas, else pyarrow.

        Raises:
            SimlinRuntimeError: ``CANCELLED`` after :meth:`cancel`, or the
                sweep's error (``RUN_FAILED``, ``BAD_PARAMETER``, ...).

        """
        kind = frame_kind(to)
        return to_frame(self._frame(3), kind)

    def _frame(self, stacklevel: int) -> _simlin.SweepFrame:
        """The native frame, once the sweep has ended (warning of failed runs).

        ``stacklevel`` points the warning at the user's call.
        """
        frame = self._native.result()
        failed = frame.failures()
        if failed:
            # Nothing is lost: the good runs are in the frame, each failed
            # one is named here with its reason.
            warnings.warn(SweepFailureWarning(failed, self.n_runs), stacklevel=stacklevel)
        return frame

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
    _ltm_partial: Literal["previous", "current"] = "previous",
) -> SweepJob:
    """Start :meth:`simlin.Model.sweep` in the background and return the job.

    Arguments as for :meth:`simlin.Model.sweep` (without ``progress``).
    ``_engine`` (``"batched"``, or ``"scalar"``: one run at a time, as a
    single run executes) and ``_batch`` (runs per
    lockstep batch: 1, 2, 4, 8, 16, 32 or 64; default: chosen by model size)
    are for benchmarks. ``_ltm`` runs the model compiled with loop scores:
    ``"relative"`` keeps the ``outputs`` named (relative scores),
    ``"dominance"`` each run's dominance periods (see :func:`_ltm_sweep`),
    their partial changes in convention ``_ltm_partial`` (see
    :meth:`simlin.Model.run`).
    """
    if run_id is not None:
        run_id = _validate.name(run_id, "run_id")
    table = params if isinstance(params, _params.ParamColumns) else _params.read(params, run_id)
    reduce_name, reduce_at = _reduce(reduce)
    if on_error not in ("raise", "null"):
        raise SimlinArgumentError(f"on_error must be 'raise' or 'null', got {on_error!r}")
    if _engine not in ("batched", "scalar"):
        raise SimlinArgumentError(f"_engine must be 'batched' or 'scalar', got {_engine!r}")
    batch = _positive_int(_batch, "_batch") or 0
    native = _simlin.start_sweep(
        model._native,
        table.height,
        [(name, values.tobytes()) for name, values in table.numbers],
        table.tables,
        None if table.ids_int is None else table.ids_int.tobytes(),
        table.ids_str,
        _validate.run_options(
            method=method,
            start=start,
            stop=stop,
            dt=dt,
            save_step=save_step,
            outputs=outputs,
            seed=seed,
            ltm_partial=_ltm_partial,
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


def _wait(job: SweepJob, progress: ProgressLike) -> None:
    """Wait for ``job`` to finish, drawing a progress bar if asked.

    Ctrl-C (``KeyboardInterrupt``) cancels the job and is re-raised.
    """
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
    progress: bool | None,
    to: Literal["polars", "arrow"] | None,
    options: SweepOptions,
) -> pl.LazyFrame | Any:
    """:func:`run_sweep` into a Parquet file, a row group per batch of runs.

    Memory is bounded by one batch, whatever the number of runs. Each run
    keeps the seed it would have in one sweep of the whole table: without a
    run-id column, rows are given their 0-based index as their id. Returns
    a lazy Polars frame over the file (``to="polars"``, the default when
    Polars is installed) or a ``pyarrow.dataset.Dataset`` (``to="arrow"``).
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SimlinArgumentError(
            "sweep_to_parquet writes Parquet through pyarrow: pip install pyarrow"
        ) from None
    if to is None:
        to = "polars" if frame_kind(None) == "polars" else "arrow"
    elif to not in ("polars", "arrow"):
        raise SimlinArgumentError(f"to must be 'polars' or 'arrow', got {to!r}")
    if rows_per_group is not None and (
        isinstance(rows_per_group, bool)
        or not isinstance(rows_per_group, int)
        or rows_per_group < 1
    ):
        raise SimlinArgumentError(f"rows_per_group must be a positive int, got {rows_per_group!r}")
    file = os.fspath(path)
    run_id = options.get("run_id")
    if run_id is not None:
        run_id = _validate.name(run_id, "run_id")
    key = run_id or "run"
    table = _params.read(params, run_id).with_row_ids(key)
    chunk_options = options.copy()
    chunk_options["run_id"] = key
    n = table.height
    bar = Progress(n, progress)
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
            chunk = table.rows(done, done + size)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SweepFailureWarning)
                out = run_sweep(model, chunk, progress=bar, to="arrow", **chunk_options)
            for w in caught:
                if isinstance(w.message, SweepFailureWarning):
                    failures.extend((done + r, v, t) for r, v, t in w.message.failures)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            if writer is None:
                writer = pq.ParquetWriter(file, out.schema)
            writer.write_table(out)
            per_run = max(per_run, out.num_rows // max(chunk.height, 1), 1)
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
    if to == "arrow":
        import pyarrow.dataset as ds

        return ds.dataset(file, format="parquet")
    import polars as pl

    return pl.scan_parquet(file)


def run_sweep(
    model: Model,
    params: ParamsLike,
    *,
    progress: ProgressLike = None,
    ltm: Literal["relative", "dominance"] | None = None,
    ltm_partial: Literal["previous", "current"] = "previous",
    to: FrameKind | None = None,
    _engine: Literal["batched", "scalar"] = "batched",
    _batch: int | None = None,
    **options: Unpack[SweepOptions],
) -> Any:
    """:meth:`simlin.Model.sweep` (see there); ``_engine``/``_batch`` as :func:`start_sweep`."""
    kind = frame_kind(to)
    if ltm is not None:
        return _ltm_sweep(model, params, ltm, ltm_partial, progress, kind, options)
    job = start_sweep(model, params, _engine=_engine, _batch=_batch, **options)
    _wait(job, progress)
    return to_frame(job._frame(4), kind)


def _ltm_sweep(
    model: Model,
    params: ParamsLike,
    ltm: str,
    ltm_partial: Literal["previous", "current"],
    progress: ProgressLike,
    kind: FrameKind,
    options: SweepOptions,
) -> Any:
    """A sweep that keeps only the relative loop scores (or dominance periods).

    The runs are of the model compiled with loop scores; only the relative
    score variables are saved, so no link score is stored.
    """
    if ltm not in ("relative", "dominance"):
        raise SimlinArgumentError(f"ltm must be 'relative' or 'dominance', got {ltm!r}")
    if options.get("outputs") is not None:
        raise SimlinArgumentError("outputs cannot be combined with ltm (the loops are the outputs)")
    reduce = options.get("reduce")
    if ltm == "dominance" and (reduce is not None or options.get("on_error", "raise") != "raise"):
        raise SimlinArgumentError("ltm='dominance' takes neither reduce nor on_error='null'")
    loops, names = model._native.ltm_loops(ltm_partial)
    scored = options.copy()
    scored["outputs"] = names
    job = start_sweep(
        model,
        params,
        _ltm="dominance" if ltm == "dominance" else "relative",
        _ltm_partial=ltm_partial,
        **scored,
    )
    ids = [row[0] for row in loops]
    _wait(job, progress)
    if ltm == "dominance":
        # Periods computed per chunk of runs as they finish: neither a
        # long frame nor every run's scores are ever held.
        return to_frame(job._native.dominance(), kind)
    loop_of = dict(zip(names, ids, strict=True))
    if reduce is not None:
        return to_frame(job._frame(5).renamed(loop_of, {}), kind)
    frame = job._frame(5).renamed({"variable": "loop", "value": "relative_score"}, loop_of)
    out = to_frame(frame, kind)
    if kind == "polars":
        import polars as pl

        # Every loop is a category, in id order, even one no run reaches.
        out = out.with_columns(pl.col("loop").cast(pl.Enum(ids)))
    return out
