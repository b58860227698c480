"""Notebook display (``_repr_html_``) of models and results.

Jupyter shows an object through its ``_repr_html_``. A model shows its time
settings and a table of its variables; results show their head and tail, the
way pandas shows a long frame. Both are bounded (at most :data:`MAX_ROWS`
variables or :data:`EDGE_ROWS` x 2 time points and :data:`MAX_COLUMNS`
columns), so displaying a 3,000-variable model or a million-step run is
instant.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simlin.model import Model
    from simlin.results import Results

__all__ = ["model_html", "results_html"]

#: Variables listed in a model's table before "... and N more".
MAX_ROWS = 40
#: Time points shown at each end of a results table.
EDGE_ROWS = 5
#: Variable columns shown in a results table.
MAX_COLUMNS = 12

_STYLE = "<style>.simlin td,.simlin th{text-align:left;vertical-align:top}</style>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _more(n: int, what: str) -> str:
    return f"<p>... and {n:,} more {what}</p>" if n > 0 else ""


def model_html(model: Model) -> str:
    """A model's name, time settings, variable counts and (first) variables."""
    spec = model.time_spec
    variables = model.variables
    counts: dict[str, int] = {}
    for v in variables:
        counts[v.kind] = counts.get(v.kind, 0) + 1
    summary = ", ".join(f"{n:,} {kind}s" for kind, n in sorted(counts.items())) or "no variables"
    settings = (
        f"time {spec.start:g} to {spec.stop:g}, dt {spec.dt:g}, saved every {spec.save_step:g}, "
        f"{escape(spec.method)}"
    )
    if spec.dynamic:
        settings += f" (computed by the model: {escape(', '.join(spec.dynamic))})"
    rows = [
        [
            escape(v.name),
            escape(v.kind),
            f"<code>{escape(_shorten(v.equation))}</code>",
            escape(v.units or ""),
            escape(", ".join(v.dimensions)),
        ]
        for v in variables[:MAX_ROWS]
    ]
    return (
        f'<div class="simlin">{_STYLE}<p><b>simlin.Model</b> {escape(model.name)!s}: '
        f"{summary}<br>{settings}</p>"
        + _table(["name", "kind", "equation", "units", "dimensions"], rows)
        + _more(len(variables) - MAX_ROWS, "variables")
        + "</div>"
    )


def _shorten(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def results_html(results: Results) -> str:
    """The first and last saved times of up to :data:`MAX_COLUMNS` variables."""
    if results.closed:
        return "<p><b>simlin.Results</b> (closed)</p>"
    names = results.names
    n = len(results)
    shown = names[:MAX_COLUMNS]
    times = results.times
    columns = [results[name] for name in shown]
    index = (
        list(range(n)) if n <= 2 * EDGE_ROWS else [*range(EDGE_ROWS), -1, *range(n - EDGE_ROWS, n)]
    )
    rows = [
        ["..."] * (len(shown) + 1)
        if i < 0
        else [f"{times[i]:g}", *(f"{c[i]:.6g}" for c in columns)]
        for i in index
    ]
    return (
        f'<div class="simlin">{_STYLE}<p><b>simlin.Results</b>: {n:,} time points x '
        f"{len(names):,} variables</p>"
        + _table(["time", *shown], rows)
        + _more(len(names) - len(shown), "variables")
        + "</div>"
    )
