"""Type stubs for the native module ``simlin._simlin`` (built from Rust).

Use the public wrappers in :mod:`simlin` instead of these classes directly.
"""

import os
from collections.abc import Sequence
from typing import Any, TypeAlias, final

# Checked against the built module by ``python -m mypy.stubtest simlin._simlin``
# (part of ``scripts/dev.sh test``).
__all__ = [
    "ArrayView",
    "Block",
    "Model",
    "Project",
    "Results",
    "RunOptions",
    "Sim",
    "SweepFrame",
    "SweepJob",
    "__version__",
    "_debug_panic",
    "_register_model",
    "_registered_models",
    "_unregister_model",
    "dominant_periods",
    "run_seed",
    "start_sweep",
]

__version__: str

_OverrideValue: TypeAlias = float | list[tuple[float, float]] | list[float]
_VariableTuple: TypeAlias = tuple[str, str, str, str | None, list[str], str | None]

def _debug_panic() -> None:
    """Panic inside the engine-call helper (tests only)."""

def run_seed(seed: int, key: int | str) -> int:
    """The seed of the run with key ``key`` (see ``simlin.run_seed``)."""

def dominant_periods(
    scores: Results, loops: Sequence[tuple[str, int]]
) -> list[tuple[int, float, float, list[str]]]:
    """Periods of dominance ``(partition, start, end, loop ids)`` from ``rel:<id>`` columns."""

def start_sweep(
    model: Model,
    n_runs: int,
    numbers: Sequence[tuple[str, bytes]],
    tables: Sequence[tuple[str, Sequence[Sequence[tuple[float, float]]]]],
    run_ids_int: bytes | None,
    run_ids_str: Sequence[str] | None,
    options: RunOptions,
    reduce: str | None,
    reduce_at: float | None,
    threads: int | None,
    on_error: str,
    engine: str,
    batch: int,
    ltm: str | None = None,
) -> SweepJob:
    """Start a sweep on a background thread (numbers as float64 bytes)."""

@final
class SweepJob:
    """A sweep running on a background thread."""

    @property
    def n_runs(self) -> int:
        """Total number of runs."""

    def done(self) -> int:
        """Runs finished so far."""

    @property
    def finished(self) -> bool:
        """True once the sweep ended."""

    def wait(self, timeout: float | None = None) -> bool:
        """Wait without the GIL; True if finished."""

    def cancel(self) -> None:
        """Ask the sweep to stop."""

    def result(self) -> SweepFrame:
        """Wait and take the outputs (once), or raise the sweep's error."""

    def dominance(self) -> SweepFrame:
        """Wait and take (once) each run's dominance periods (a sweep with ``ltm="dominance"``).

        Columns ``run`` (integer or string ids), ``partition``, ``start``,
        ``end`` and ``loops`` (a list of loop ids per period).
        """

@final
class SweepFrame:
    """A sweep's outputs as Arrow columns."""

    @property
    def columns(self) -> list[str]:
        """Column names."""

    def __len__(self) -> int: ...
    def failures(self) -> list[tuple[int, str, float]]:
        """``(row, variable, time)`` of every failed run."""

    def numpy_column(self, index: int) -> tuple[ArrayView, list[str] | None]:
        """A column for NumPy: values (keys if categorical), and its categories."""

    def take_column(self, index: int) -> Block | None:
        """A float64/int64 column without nulls taken out whole, writable; ``None`` otherwise."""

    def object_column(self, index: int) -> list[str] | list[list[str]] | None:
        """A string or list-of-strings column as Python objects; ``None`` for others."""

    def renamed(self, columns: dict[str, str], categories: dict[str, str]) -> SweepFrame:
        """The frame with columns and dictionary strings renamed."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Arrow C stream capsule (one record batch)."""

def _register_model(model: Model, key: str) -> None:
    """Compile ``model`` and cache it for plugin expressions under ``key``."""

def _unregister_model(key: str) -> bool:
    """Drop a cached model; returns whether ``key`` was registered."""

def _registered_models() -> int:
    """Number of models registered for plugin expressions."""

@final
class Project:
    """An imported project."""

    @staticmethod
    def from_file(path: str | os.PathLike[str], data_files: list[str] | None = None) -> Project:
        """Load a model file; the reader is chosen from the extension."""

    @staticmethod
    def from_xmile(
        text: str, base: str | None = None, data_files: list[str] | None = None
    ) -> Project:
        """Parse XMILE text (xmutil's Vensim exports: data relative to ``base``)."""

    @staticmethod
    def from_mdl(
        text: str, base: str | None = None, data_files: list[str] | None = None
    ) -> Project:
        """Parse Vensim .mdl text (external data files relative to ``base``)."""

    @property
    def name(self) -> str:
        """Project name (may be empty)."""

    @property
    def warnings(self) -> list[str]:
        """Non-fatal import problems."""

    def models(self) -> list[Model]:
        """Every model in source order."""

    def model(self, name: str | None = None) -> Model:
        """A model by name; ``None`` = the main model."""

@final
class Model:
    """One model of a project, compiled on first use."""

    @property
    def name(self) -> str:
        """Model name as written in the source."""

    def variables(self) -> list[_VariableTuple]:
        """``(name, kind, equation, units, dimensions, doc)`` per variable."""

    def time_spec(self) -> tuple[float, float, float, float, str, list[str]]:
        """``(start, stop, dt, save_step, method)``."""

    def dependencies(self, name: str) -> list[str]:
        """Names the variable's equation references directly."""

    def shape(self, name: str) -> list[int] | None:
        """Shape of an arrayed variable; None for a scalar or unknown name."""

    def is_stochastic(self) -> bool:
        """Whether the model draws random numbers."""

    def compile(self) -> None:
        """Compile now; raises the compile error if any."""

    def check(self) -> tuple[list[str], str | None]:
        """``(warnings, compile error message or None)``."""

    def run(self, options: RunOptions) -> Results:
        """Run to the end."""

    def structure(
        self,
    ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, list[str], int]], str]:
        """``(links (from, to, polarity), loops (id, polarity, variables, partition), mode)``."""

    def ltm_loops(
        self, ltm_partial: str = "previous"
    ) -> tuple[list[tuple[str, str, list[str], int]], list[str]]:
        """``(loops, names of their relative-score variables)``."""

    def run_ltm(
        self, options: RunOptions
    ) -> tuple[
        Results,
        Results,
        list[tuple[str, str, list[str], int]],
        list[tuple[str, str]],
        str,
    ]:
        """Run with loop scores: results, score columns, loops, scored links, mode."""

    def simulate(self, options: RunOptions, ltm: bool = False) -> Sim:
        """Start a stepwise simulation (of the model with loop scores if ``ltm``)."""

@final
class Sim:
    """A running simulation."""

    def run_to(self, t: float) -> None:
        """Advance to time ``t``."""

    def run_to_end(self) -> None:
        """Advance to the stop time."""

    def reset(self) -> None:
        """Back to the start time."""

    def get_value(self, name: str) -> float:
        """Current value of a variable."""

    def set_value(self, name: str, value: float) -> None:
        """Set a constant or a stock's current value."""

    def get_array(self, name: str) -> tuple[list[int], list[float]]:
        """Current values of an arrayed variable: (shape, row-major values)."""

    def shape(self, name: str) -> list[int] | None:
        """Shape of an arrayed variable, None for anything else."""

    def set_values(self, items: Sequence[tuple[str, _OverrideValue]]) -> None:
        """Set several values at once, as run overrides (all or nothing)."""

    @property
    def time(self) -> float:
        """Current simulation time."""

    @property
    def is_done(self) -> bool:
        """True once the stop time is reached."""

    def results(self) -> Results:
        """Results saved so far."""

    @property
    def closed(self) -> bool:
        """True once closed."""

    def close(self) -> None:
        """Free the native state."""

@final
class RunOptions:
    """Checked settings of a run, a stepwise sim or a sweep."""

    def __new__(
        cls,
        *,
        overrides: Sequence[tuple[str, _OverrideValue]] = ...,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        outputs: Sequence[str] | None = None,
        seed: int = 0,
        ltm_partial: str = "previous",
    ) -> RunOptions: ...
    @property
    def seed(self) -> int:
        """The random seed."""

    @property
    def ltm_partial(self) -> str:
        """The loop-score convention: ``"previous"`` or ``"current"``."""

    @property
    def outputs(self) -> list[str] | None:
        """The output variables, ``None`` for the default."""

@final
class Results:
    """Saved series of one run."""

    @property
    def names(self) -> list[str]:
        """Variable display names, in column order."""

    def __len__(self) -> int: ...
    @property
    def closed(self) -> bool:
        """True once closed."""

    def close(self) -> None:
        """Drop the buffers (views keep their own reference)."""

    def index_of(self, name: str) -> int | None:
        """Column index by any spelling of the name."""

    def times_view(self) -> ArrayView:
        """Zero-copy view of the time axis."""

    def column_view(self, name: str) -> ArrayView:
        """Zero-copy view of one column."""

    def column_block(self) -> Block:
        """Every column one after another, in one writable float64 block."""

    def stacked(self, groups: list[list[int]]) -> Block:
        """Each group of columns time-major, one after another, in one writable block."""

    def column_at(self, index: int) -> ArrayView:
        """Zero-copy view of the column at ``index``."""

    def array_columns(self, name: str) -> tuple[list[int], list[int]] | None:
        """Shape and element column indices of an arrayed variable, or None."""

    def array_layouts(self) -> list[tuple[str, list[tuple[str, list[str]]], list[int]]]:
        """Each arrayed variable: name, (dimension, elements) pairs, element columns."""

    def csv(self, header: bool, start: int, stop: int) -> bytes:
        """CSV text: the header line if ``header``, then rows ``start..stop``."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Arrow C stream capsule."""

@final
class ArrayView:
    """A read-only Arrow buffer (float64, int64 or uint32) with NumPy's array interface."""

    @property
    def __array_interface__(self) -> dict[str, Any]:
        """NumPy array interface, version 3."""

    def __len__(self) -> int: ...

@final
class Block:
    """A writable float64 buffer the extension owns, with NumPy's array interface."""

    @property
    def __array_interface__(self) -> dict[str, Any]:
        """NumPy array interface, version 3."""

    def __len__(self) -> int: ...
