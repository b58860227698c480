"""Plots of runs and sweeps (matplotlib, an optional dependency).

:meth:`simlin.Results.plot` draws variables of one run over time;
:func:`fan` draws a sweep's spread over time for one variable: the median as
a line and nested quantile bands around it, the usual way to show a Monte
Carlo sweep. Both return the matplotlib ``Axes`` they drew on, so the caller
can style or save it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simlin.results import Results

__all__ = ["fan", "results"]


def _axes(ax: Any) -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install matplotlib (or 'simlin[plot]')"
        ) from None
    if ax is None:
        _, ax = plt.subplots()
    return ax


def results(run: Results, names: Sequence[str] = (), ax: Any = None, **kwargs: Any) -> Any:
    """Draw ``names`` (default: every column, at most 10) of one run over time.

    An arrayed variable named without subscripts draws one line per element.
    ``kwargs`` go to each ``Axes.plot`` call.
    """
    import numpy as np

    ax = _axes(ax)
    names = list(names) or run.names[:10]
    times = run.times
    for name in names:
        series = run[name]
        if series.ndim == 1:
            ax.plot(times, series, label=name, **kwargs)
            continue
        # (time, *shape): one line per element, labelled name[element, ...].
        flat = series.reshape(len(times), -1)
        labels = [f"{name}[{i}]" for i in np.ndindex(*series.shape[1:])]
        for k in range(flat.shape[1]):
            ax.plot(times, flat[:, k], label=labels[k], **kwargs)
    ax.set_xlabel("time")
    if names:
        ax.legend()
    return ax


def fan(
    frame: Any,
    variable: str,
    *,
    quantiles: Sequence[float] = (0.05, 0.25),
    ax: Any = None,
    color: str | None = None,
) -> Any:
    """Draw a sweep's median and quantile bands of ``variable`` over time.

    Args:
        frame: The long frame of a sweep (``run``, ``time``, ``variable``,
            ``value``), Polars or pandas.
        variable: The variable to draw (its name as in the frame).
        quantiles: Lower quantiles of the bands (each band spans ``q`` to
            ``1 - q``); the default draws 5-95% and 25-75% around the median.
        ax: Axes to draw on (default: a new figure's).
        color: One color for the median and (lighter) the bands.

    Returns:
        The Axes.

    """
    import polars as pl

    ax = _axes(ax)
    df = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)
    chosen = df.filter(pl.col("variable").cast(pl.String) == variable)
    if chosen.height == 0:
        from simlin.errors import ErrorCode, SimlinKeyError

        raise SimlinKeyError(
            f"no variable named {variable!r} in the sweep frame",
            code=ErrorCode.UNKNOWN_OUTPUT,
            variable=variable,
        )
    lows = sorted(float(q) for q in quantiles)
    if any(not 0.0 <= q < 0.5 for q in lows):
        from simlin.errors import SimlinArgumentError

        raise SimlinArgumentError(f"quantiles must be in [0, 0.5), got {list(quantiles)!r}")
    stats = (
        chosen.group_by("time")
        .agg(
            pl.col("value").median().alias("median"),
            *(pl.col("value").quantile(q, "linear").alias(f"lo{i}") for i, q in enumerate(lows)),
            *(
                pl.col("value").quantile(1 - q, "linear").alias(f"hi{i}")
                for i, q in enumerate(lows)
            ),
        )
        .sort("time")
    )
    time = stats["time"].to_numpy()
    (line,) = ax.plot(time, stats["median"].to_numpy(), color=color, label=f"{variable} median")
    for i, q in enumerate(lows):
        ax.fill_between(
            time,
            stats[f"lo{i}"].to_numpy(),
            stats[f"hi{i}"].to_numpy(),
            color=line.get_color(),
            alpha=0.15 + 0.15 * i,
            linewidth=0,
            label=f"{q:.0%}-{1 - q:.0%}",
        )
    ax.set_xlabel("time")
    ax.set_ylabel(variable)
    ax.legend()
    return ax
