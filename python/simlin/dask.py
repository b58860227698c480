"""Sweeps on Dask: a Dask DataFrame of parameter sets, swept partition by partition.

::

    import dask.dataframe as dd
    from distributed import Client
    import simlin
    import simlin.dask

    client = Client()  # or Client("scheduler:8786"), a LocalCluster, ...
    model = simlin.load("model.mdl")
    params = dd.read_parquet("params/")  # one row per run, as for Model.sweep
    out = simlin.dask.sweep(model, params, reduce="final")
    out.to_parquet("runs/")  # a Parquet dataset written by the workers
    frame = out.compute()  # or gather it into one pandas frame

Each partition becomes one task: :meth:`simlin.Model.sweep` on that worker,
which spreads the partition's rows over the worker's cores. The model travels
as its source text (models pickle that way) and compiles on the worker.

The result is the local sweep, row for row and bit for bit: a ``run`` column
(or the column named by ``run_id``) is carried through and seeds each run as
locally; without one, each row gets its position in the whole table as its
id (``0 .. n-1``, counted once before the sweep), so row ``r`` uses seed
``seed + r`` and comes back with ``run = r``, exactly as ``model.sweep`` of
the concatenated table would give. Partitions come back as pandas frames:
``run``, ``time``, ``variable``, ``value``; with ``reduce``, ``run`` plus one
float column per output. ``variable`` and string run ids are plain strings
rather than categoricals (whose categories would differ per partition);
``.categorize()`` the result if you want them back.

Needs ``dask[dataframe]`` (which brings pandas) on the client and on every
worker; Polars is not needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from typing_extensions import Unpack

    from simlin.model import Model
    from simlin.sweep import SweepOptions

__all__ = ["sweep"]


def sweep(model: Model, params: Any, **options: Unpack[SweepOptions]) -> Any:
    """Sweep ``model`` over a Dask DataFrame ``params``; a Dask DataFrame of results.

    Arguments are those of :meth:`simlin.Model.sweep` (``params`` is a
    ``dask.dataframe.DataFrame`` here). Nothing runs until the result is
    computed or written; errors of a run surface then, as the same typed
    :class:`simlin.SimlinError` a local sweep raises.
    """
    import dask.dataframe as dd
    import numpy as np

    if not isinstance(params, dd.DataFrame):
        from simlin.errors import SimlinTypeError

        raise SimlinTypeError(
            f"params must be a dask.dataframe.DataFrame, got {type(params).__name__} "
            "(use Model.sweep for in-memory tables)"
        )
    key = options.get("run_id") or "run"
    kwargs: dict[str, Any] = {**options, "run_id": key, "progress": False, "to": "pandas"}
    if key in params.columns:
        offsets = None
    else:
        # Global row positions as run ids: one pass to count each partition.
        lengths = params.map_partitions(len).compute()  # type: ignore[no-untyped-call]
        offsets = [int(x) for x in np.concatenate([[0], np.cumsum(lengths)[:-1]])]
    meta = _sweep_partition(params._meta, model, key, kwargs, None, None)
    frame: Any = params  # Dask's methods are untyped
    return frame.map_partitions(
        _sweep_partition,
        model,
        key,
        kwargs,
        offsets,
        meta=meta,
        enforce_metadata=False,
        align_dataframes=False,
    )


def _sweep_partition(
    part: pd.DataFrame,
    model: Model,
    key: str,
    kwargs: dict[str, Any],
    offsets: list[int] | None,
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One partition's sweep, as a pandas frame (Dask partitions are pandas)."""
    import numpy as np

    if key not in part.columns:
        first = 0
        if offsets is not None and partition_info is not None:
            first = offsets[partition_info["number"]]
        part = part.assign(**{key: np.arange(first, first + len(part), dtype=np.int64)})
    import pandas as pd

    frame: pd.DataFrame = model.sweep(part, **kwargs)
    # Categories differ per partition (string run ids) or are unknown to the
    # empty meta frame; Dask (and its Parquet writer) wants one schema for
    # every partition, so categorical columns come back as plain strings.
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype("string")
    return frame
