"""Loop analysis results: causal links, feedback loops and loop dominance.

The engine finds the loops of a model's causal graph and, for a run with
``ltm=True``, scores every link and loop at each saved time ("Loops That
Matter"): a link's score is the share of its target's change caused by its
source alone, signed by the direction of that effect; a loop's score is the
product of its links' scores; its relative score divides by the sum of the
absolute scores of the loops in its cycle partition, so the magnitudes of a
partition's relative scores sum to 1 (0 at the initial time, where nothing
has changed yet). See ``docs/loops.md`` for the method and its limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simlin import _simlin
from simlin.errors import ErrorCode, SimlinKeyError
from simlin.results import Results

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

__all__ = ["LtmResults", "links_frame", "loops_frame", "periods_frame"]

LoopRow = tuple[str, str, list[str], int]
PeriodRow = tuple[int, float, float, list[str]]


def links_frame(links: list[tuple[str, str, str]]) -> pl.DataFrame:
    """Columns ``from``, ``to``, ``polarity`` (``"+"``, ``"-"`` or ``"?"``)."""
    import polars as pl

    return pl.DataFrame(
        {
            "from": [a for a, _, _ in links],
            "to": [b for _, b, _ in links],
            "polarity": [p for _, _, p in links],
        },
        schema={"from": pl.String, "to": pl.String, "polarity": pl.String},
    )


def loops_frame(loops: list[LoopRow]) -> pl.DataFrame:
    """Columns ``loop``, ``polarity`` (R/B/U), ``variables`` (list), ``partition``."""
    import polars as pl

    return pl.DataFrame(
        {
            "loop": [r[0] for r in loops],
            "polarity": [r[1] for r in loops],
            "variables": [r[2] for r in loops],
            "partition": [r[3] for r in loops],
        },
        schema={
            "loop": pl.String,
            "polarity": pl.String,
            "variables": pl.List(pl.String),
            "partition": pl.Int64,
        },
    )


def periods_frame(rows: list[PeriodRow]) -> pl.DataFrame:
    """Columns ``partition``, ``start``, ``end``, ``loops`` (list of ids)."""
    import polars as pl

    return pl.DataFrame(
        {
            "partition": [r[0] for r in rows],
            "start": [r[1] for r in rows],
            "end": [r[2] for r in rows],
            "loops": [r[3] for r in rows],
        },
        schema={
            "partition": pl.Int64,
            "start": pl.Float64,
            "end": pl.Float64,
            "loops": pl.List(pl.String),
        },
    )


class LtmResults(Results):
    """Results of a run with loop scores (``model.run(ltm=True)``).

    A :class:`~simlin.Results` of the model's own variables, plus
    :meth:`loops`, :meth:`loop_scores`, :meth:`link_scores` and
    :meth:`dominant_loops`.
    """

    __slots__ = ("_links", "_loops", "_mode", "_periods", "_scores")

    def __init__(
        self,
        native: _simlin.Results,
        scores: _simlin.Results,
        loops: list[LoopRow],
        links: list[tuple[str, str]],
        mode: str,
    ) -> None:
        """Wrap the native parts (use :meth:`simlin.Model.run` with ``ltm=True``)."""
        super().__init__(native)
        self._scores = Results(scores)
        self._loops = loops
        self._links = links
        self._mode = mode
        self._periods: list[PeriodRow] | None = None

    @property
    def mode(self) -> str:
        """``"exhaustive"`` (every loop enumerated) or ``"discovery"`` (found from this run)."""
        return self._mode

    def loops(self) -> pl.DataFrame:
        """The loops scored in this run (see :meth:`simlin.Model.loops`)."""
        return loops_frame(self._loops)

    def loop_score(self, loop: str, *, relative: bool = True) -> np.ndarray:
        """One loop's relative (or raw) score at each saved time.

        Raises:
            SimlinKeyError: ``UNKNOWN_OUTPUT`` if there is no such loop.

        """
        ids = [r[0] for r in self._loops]
        if loop not in ids:
            raise SimlinKeyError(
                f"no loop named {loop!r}; the loops are {', '.join(ids) or 'none'}",
                code=ErrorCode.UNKNOWN_OUTPUT,
                variable=loop,
            )
        out: np.ndarray = self._scores[f"{'rel' if relative else 'loop'}:{loop}"]
        return out

    def loop_scores(self) -> pl.DataFrame:
        """Long frame ``time``, ``loop``, ``score``, ``relative_score``."""
        import numpy as np
        import polars as pl

        times = self.times
        ids = [r[0] for r in self._loops]
        n = len(times)
        return pl.DataFrame(
            {
                "time": np.tile(times, len(ids)),
                "loop": pl.Series([i for i in ids for _ in range(n)], dtype=pl.String),
                "score": _concat([self._scores[f"loop:{i}"] for i in ids]),
                "relative_score": _concat([self._scores[f"rel:{i}"] for i in ids]),
            }
        )

    def link_scores(self) -> pl.DataFrame:
        """Long frame ``time``, ``from``, ``to``, ``score`` for every scored link.

        The links are those of the scored loops, between the variables
        modelers see (array elements by element, ``Pop[north]``): a path
        through helper variables (a Vensim stock's net flow, the stages of a
        SMOOTH or DELAY) scores as the product of its links' scores, which
        is how link scores compose along a path.
        """
        import numpy as np
        import polars as pl

        times = self.times
        n = len(times)
        k = len(self._links)
        return pl.DataFrame(
            {
                "time": np.tile(times, k),
                "from": pl.Series([a for a, _ in self._links for _ in range(n)], dtype=pl.String),
                "to": pl.Series([b for _, b in self._links for _ in range(n)], dtype=pl.String),
                "score": _concat([self._scores[f"link:{i}"] for i in range(k)]),
            }
        )

    def dominant_loops(self) -> pl.DataFrame:
        """Periods of dominance: ``partition``, ``start``, ``end``, ``loops``.

        At each saved time and in each cycle partition, the loops are sorted
        by the magnitude of their relative score and split by its sign; the
        fewest loops of one sign whose magnitudes reach 50% dominate (the
        sign that gets further wins, reinforcing on a tie). Consecutive
        times with the same set form one period; times where every score is
        0 (the initial time) belong to no period.
        """
        if self._periods is None:
            # On request only: on small models the periods cost a third of
            # the scoring itself.
            self._periods = _simlin.dominant_periods(
                self._scores._native, [(r[0], r[3]) for r in self._loops]
            )
        return periods_frame(self._periods)

    def close(self) -> None:
        """Release the native buffers of the results and the scores."""
        self._scores.close()
        super().close()

    def __repr__(self) -> str:
        if self.closed:
            return "<simlin.LtmResults (closed)>"
        return (
            f"<simlin.LtmResults {len(self)} time points x {len(self.names)} variables, "
            f"{len(self._loops)} loops ({self._mode})>"
        )


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    import numpy as np

    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)
