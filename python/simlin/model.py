"""Models: their variables, time settings, dependencies, and runs.

A :class:`Model` compiles lazily, once, on the first :meth:`Model.run`,
:meth:`Model.simulate` or :meth:`Model.compile`; every later run reuses the
compiled program (runs never recompile, whatever they override).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from simlin import _simlin, _validate
from simlin._validate import OverrideValue
from simlin.errors import names_suggested
from simlin.results import Results
from simlin.sim import Sim

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa
    import pyarrow.dataset as pa_ds
    from typing_extensions import Unpack

    from simlin.loops import LtmResults
    from simlin.sweep import FrameKind, ParamsLike, ReduceSpec, SweepOptions

__all__ = ["Model", "OverrideValue", "Source", "TimeSpec", "Variable", "VariableKind"]

VariableKind = Literal["stock", "flow", "aux", "module"]


@dataclass(frozen=True)
class Variable:
    """One variable of a model, as written in the source.

    Attributes:
        name: The name as written (quotes removed).
        kind: ``"stock"``, ``"flow"``, ``"aux"`` or ``"module"``.
        equation: The equation text (for a stock: its initial value); arrayed
            variables with one equation per element list ``[elements] text``
            lines.
        units: The units, if given.
        dimensions: The names of the dimensions it is arrayed over.
        doc: Its documentation, if given.

    """

    name: str
    kind: VariableKind
    equation: str
    units: str | None
    dimensions: tuple[str, ...]
    doc: str | None


@dataclass(frozen=True)
class TimeSpec:
    """Simulation time settings.

    Attributes:
        start: Initial time.
        stop: Final time.
        dt: Integration step.
        save_step: Interval between saved points.
        method: ``"euler"``, ``"rk2"`` or ``"rk4"``.
        dynamic: The settings among ``"stop"``, ``"dt"`` and ``"save_step"``
            that the model computes while it runs (a Vensim FINAL TIME, TIME
            STEP or SAVEPER whose equation is not a constant). Their values
            above are only fallbacks; a run reads them from the model each
            step unless ``run()`` is given them. ``sweep()`` needs them given.

    """

    start: float
    stop: float
    dt: float
    save_step: float
    method: str
    dynamic: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """Where a project came from, enough to load it again (for pickling).

    Attributes:
        format: ``"xmile"`` or ``"mdl"``.
        text: The model text.
        base: For files, the folder external data files are read from
            (Vensim models: ``.mdl``, or XMILE exported by xmutil); ``None``
            for models given as text.
        data_files: For files loaded with ``data_files``, those files
            (absolute paths); ``None`` otherwise.

    """

    format: Literal["xmile", "mdl"]
    text: str
    base: str | None = None
    data_files: tuple[str, ...] | None = None


class Model:
    """A model of a loaded project (from :attr:`simlin.Project.models` or :func:`simlin.load`).

    Models pickle cheaply: the pickle holds the source text (and, for
    ``.mdl`` files, the folder external data files are read from) and the
    model's name, never compiled state, so Dask or multiprocessing workers
    re-import and compile once on arrival.
    """

    __slots__ = ("__weakref__", "_native", "_selector", "_source", "_variables")

    def __init__(
        self,
        native: _simlin.Model,
        source: Source | None = None,
        selector: str | None = None,
    ) -> None:
        """Wrap a native model (use :class:`simlin.Project` instead).

        ``source`` and ``selector`` (the model's name in the project, ``None``
        for the main model) make the model picklable.
        """
        self._native = native
        self._variables: tuple[Variable, ...] | None = None
        self._source = source
        self._selector = selector

    def __reduce__(self) -> tuple[Any, tuple[Source, str | None]]:
        """Pickle as source text + model name (not compiled state)."""
        if self._source is None:
            from simlin.errors import SimlinTypeError

            raise SimlinTypeError("this model has no source text to pickle")
        return (_unpickle_model, (self._source, self._selector))

    @property
    def name(self) -> str:
        """The model's name (empty for an unnamed main model)."""
        return self._native.name

    @property
    def variables(self) -> list[Variable]:
        """Every variable, in source order."""
        if self._variables is None:
            self._variables = tuple(
                Variable(
                    name=name,
                    kind=cast(VariableKind, kind),
                    equation=equation,
                    units=units,
                    dimensions=tuple(dims),
                    doc=doc,
                )
                for name, kind, equation, units, dims, doc in self._native.variables()
            )
        return list(self._variables)

    def _variable_names(self) -> list[str]:
        """Every variable's name, for "did you mean" hints."""
        return [v.name for v in self.variables]

    def _run_options(
        self,
        overrides: object,
        method: object,
        start: object,
        stop: object,
        dt: object,
        save_step: object,
        outputs: object,
        seed: object,
        ltm_partial: object = "previous",
    ) -> _simlin.RunOptions:
        """The settings :meth:`run` and :meth:`simulate` take, checked against this model."""
        return _validate.run_options(
            ltm_partial=ltm_partial,
            overrides=overrides,
            method=method,
            start=start,
            stop=stop,
            dt=dt,
            save_step=save_step,
            outputs=outputs,
            seed=seed,
            shape_of=self._native.shape,
        )

    def _of_kind(self, kind: VariableKind) -> list[Variable]:
        return [v for v in self.variables if v.kind == kind]

    @property
    def stocks(self) -> list[Variable]:
        """The stocks, in source order."""
        return self._of_kind("stock")

    @property
    def flows(self) -> list[Variable]:
        """The flows, in source order."""
        return self._of_kind("flow")

    @property
    def auxs(self) -> list[Variable]:
        """The auxiliaries, in source order."""
        return self._of_kind("aux")

    @property
    def time_spec(self) -> TimeSpec:
        """The model's simulation time settings."""
        start, stop, dt, save_step, method, dynamic = self._native.time_spec()
        return TimeSpec(
            start=start,
            stop=stop,
            dt=dt,
            save_step=save_step,
            method=method,
            dynamic=tuple(dynamic),
        )

    def dependencies(self, name: str) -> list[str]:
        """Names of the variables ``name``'s equation references directly.

        For a stock these are its initial-value inputs and its flows.

        Raises:
            SimlinCompilationError: ``UNKNOWN_VARIABLE`` if there is no such variable.

        """
        with names_suggested(self._variable_names):
            return self._native.dependencies(_validate.name(name, "name"))

    def links(self) -> pl.DataFrame:
        """Causal links between the model's variables, with their polarity.

        A Polars frame with columns ``from``, ``to`` and ``polarity``:
        ``"+"`` when ``to`` rises with ``from``, ``"-"`` when it falls, ``"?"``
        when the equation's structure does not settle it. Flows link to their
        stocks (``+`` inflow, ``-`` outflow); arrayed variables link element by
        element (``pop[north]``); paths through SMOOTH, DELAY and macro helpers
        count as one link.

        Raises:
            SimlinCompilationError: if the model's structure is invalid.

        """
        from simlin.loops import links_frame

        links, _, _ = self._native.structure()
        return links_frame(links)

    def loops(self) -> pl.DataFrame:
        """The model's feedback loops.

        A Polars frame with columns ``loop`` (``R1``, ``B2``, ``U1``: numbered
        per polarity, shortest loops first), ``polarity`` (``"R"`` reinforcing,
        ``"B"`` balancing, ``"U"`` undetermined), ``variables`` (names in
        causal order, starting at a stock) and ``partition`` (loops of one
        partition share stocks' feedback and compete for dominance). Every
        elementary loop is listed up to 2,000 loops; past that the frame is
        empty and ``run(ltm=True)`` discovers the loops that matter instead.

        Raises:
            SimlinCompilationError: if the model's structure is invalid.

        """
        from simlin.loops import loops_frame

        _, loops, _ = self._native.structure()
        return loops_frame(loops)

    def compile(self) -> None:
        """Compile now, if not done yet.

        Raises:
            SimlinCompilationError: if the model's structure is invalid.

        """
        self._native.compile()

    def check(self) -> list[str]:
        """Diagnostics of the model; an empty list means it is fine.

        Import warnings come as ``"warning: ..."``, a compile error as
        ``"error: ..."``.
        """
        warnings, error = self._native.check()
        out = [f"warning: {w}" for w in warnings]
        if error is not None:
            out.append(f"error: {error}")
        return out

    @overload
    def run(
        self,
        overrides: Mapping[str, OverrideValue] | None = None,
        *,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        outputs: Sequence[str] | None = None,
        seed: int = 0,
        ltm: Literal[False] = False,
        ltm_partial: Literal["previous", "current"] = "previous",
    ) -> Results: ...

    @overload
    def run(
        self,
        overrides: Mapping[str, OverrideValue] | None = None,
        *,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        outputs: Sequence[str] | None = None,
        seed: int = 0,
        ltm: Literal[True],
        ltm_partial: Literal["previous", "current"] = "previous",
    ) -> LtmResults: ...

    @overload
    def run(
        self,
        overrides: Mapping[str, OverrideValue] | None = None,
        *,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        outputs: Sequence[str] | None = None,
        seed: int = 0,
        ltm: bool,
        ltm_partial: Literal["previous", "current"] = "previous",
    ) -> Results: ...

    def run(
        self,
        overrides: Mapping[str, OverrideValue] | None = None,
        *,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        outputs: Sequence[str] | None = None,
        seed: int = 0,
        ltm: bool = False,
        ltm_partial: Literal["previous", "current"] = "previous",
    ) -> Results:
        """Simulate from start to stop and return the results.

        Args:
            overrides: New values for constants or stocks' initial values,
                new ``(x, y)`` points for graphical functions, or a time series
                for an auxiliary or flow (a pandas Series indexed by time, a
                ``time, value`` frame or ``(time, value)`` points: linear
                between points, the end values held outside them; arrayed:
                one for every element or ``{element: series}``), by name.
            method: ``"euler"``, ``"rk2"`` or ``"rk4"`` (default: the model's).
            start: Start time (default: the model's).
            stop: Stop time (default: the model's).
            dt: Integration step (default: the model's).
            save_step: Output interval (default: the model's, else ``dt``).
            outputs: Variables to save (default: every variable).
            seed: Seed for the random builtins; the same seed gives the same run.
            ltm: Also score every feedback loop at each saved time ("Loops
                That Matter"): the result is a :class:`simlin.LtmResults` with
                ``loop_scores()``, ``link_scores()`` and ``dominant_loops()``.
            ltm_partial: How a link score's partial change holds the target's
                other inputs: at their ``"previous"`` values (the formula of
                the LTM papers, and pysimlin's; the default) or at their
                ``"current"`` values (as Stella Architect's loop analysis
                computes it). The two agree where the links are linear.

        Raises:
            SimlinCompilationError: if the model does not compile.
            SimlinRuntimeError: for an unknown override/output name
                (``BAD_OVERRIDE``/``UNKNOWN_OUTPUT``), bad times, or a failed run.
            SimlinTypeError: for arguments of the wrong type.

        """
        scored = _validate.flag(ltm, "ltm")
        with names_suggested(self._variable_names):
            options = self._run_options(
                overrides, method, start, stop, dt, save_step, outputs, seed, ltm_partial
            )
            if scored:
                from simlin.loops import LtmResults

                return LtmResults(*self._native.run_ltm(options))
            return Results(self._native.run(options))

    def simulate(
        self,
        overrides: Mapping[str, OverrideValue] | None = None,
        *,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        outputs: Sequence[str] | None = None,
        seed: int = 0,
        ltm: bool = False,
        ltm_partial: Literal["previous", "current"] = "previous",
    ) -> Sim:
        """Start a stepwise simulation (arguments as for :meth:`run`).

        With ``ltm=True`` the loops are scored as the simulation advances:
        :meth:`simlin.Sim.loop_score` reads a loop's current score, and
        changes made with ``set_value`` show in the scores from the next step.
        """
        with names_suggested(self._variable_names):
            options = self._run_options(
                overrides, method, start, stop, dt, save_step, outputs, seed, ltm_partial
            )
            native = self._native.simulate(options, _validate.flag(ltm, "ltm"))
        return Sim(native, names=self._variable_names)

    @overload
    def sweep(
        self,
        params: ParamsLike,
        *,
        progress: bool | None = None,
        ltm: Literal["relative", "dominance"] | None = None,
        ltm_partial: Literal["previous", "current"] = "previous",
        to: Literal["polars"] | None = None,
        **options: Unpack[SweepOptions],
    ) -> pl.DataFrame: ...
    @overload
    def sweep(
        self,
        params: ParamsLike,
        *,
        progress: bool | None = None,
        ltm: Literal["relative", "dominance"] | None = None,
        ltm_partial: Literal["previous", "current"] = "previous",
        to: Literal["pandas"],
        **options: Unpack[SweepOptions],
    ) -> pd.DataFrame: ...
    @overload
    def sweep(
        self,
        params: ParamsLike,
        *,
        progress: bool | None = None,
        ltm: Literal["relative", "dominance"] | None = None,
        ltm_partial: Literal["previous", "current"] = "previous",
        to: Literal["arrow"],
        **options: Unpack[SweepOptions],
    ) -> pa.Table: ...
    def sweep(
        self,
        params: ParamsLike,
        *,
        outputs: Sequence[str] | None = None,
        reduce: ReduceSpec | None = None,
        method: str | None = None,
        seed: int | None = None,
        threads: int | None = None,
        progress: bool | None = None,
        on_error: Literal["raise", "null"] = "raise",
        run_id: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        ltm: Literal["relative", "dominance"] | None = None,
        ltm_partial: Literal["previous", "current"] = "previous",
        to: FrameKind | None = None,
    ) -> pl.DataFrame | pd.DataFrame | pa.Table:
        """Run the model once per row of ``params``, in parallel; see :mod:`simlin.sweep`.

        The model is compiled once; runs are batched and spread over threads
        without holding the GIL. A run's random stream follows its id: with
        a run-id column, seed ``simlin.run_seed(seed, id)`` (``seed + id``
        for integers), else row ``r`` (0-based) uses ``seed + r``; so
        ``model.run(overrides=row, seed=...)`` with that seed reproduces it
        exactly, whatever the thread count or order of rows.

        Args:
            params: One row per run, one column per parameter: a Polars or
                pandas DataFrame, a mapping of column name to values, or any
                object with ``__arrow_c_stream__`` (pyarrow Table, ...). A
                column is named after a model variable and holds numbers (a
                constant or a stock's initial value; on an arrayed variable,
                every element) or, for a graphical function, a list of
                ``(x, y)`` points per row (lists of pairs or of structs with
                two fields); points (or a pandas Series per row) on an
                auxiliary or flow are that run's time series (see
                :meth:`run`). The run-id column (see ``run_id``) is carried
                through to the output instead.
            outputs: Variables to return (any spelling; an arrayed name
                selects all its elements). Default: the stocks and flows
                only, which keeps memory bounded on large models.
            reduce: ``None`` for the full series; ``"final"``, ``"max"``,
                ``"min"``, ``"mean"`` (over the saved times), or a time (the
                value at that time, linearly interpolated between saves)
                for one number per run and output.
            method: ``"euler"``, ``"rk2"`` or ``"rk4"`` (default: the model's).
            seed: Base random seed (default 0); see above for each run's.
            threads: Worker threads (default: one per core).
            progress: Show a progress bar (``tqdm.auto``: a widget in
                Jupyter, a line redrawn in place on stderr in a terminal)
                once the sweep has run for about 2 seconds; ``None`` = only
                in a terminal or a notebook.
            on_error: ``"raise"`` (a run whose stock becomes NaN or infinite
                fails the sweep, naming the row) or ``"null"`` (its values are
                null; other runs are unaffected).
            run_id: Name of the run-id column (integers or strings) to carry
                through; default: a column named ``"run"``, if there is one
                (a pandas index with that name counts). Without one, ``run``
                is the row index. String ids come back categorical.
            start: Start time (default: the model's).
            stop: Stop time (default: the model's).
            dt: Integration step (default: the model's).
            save_step: Output interval (default: the model's, else ``dt``).
            ltm: Score the feedback loops of every run (see
                :meth:`run` with ``ltm=True``), computed in the batched engine
                without storing link scores: ``"relative"`` gives the long
                frame ``run``, ``time``, ``loop`` (enum), ``relative_score``
                (or, with ``reduce``, ``run`` plus one column per loop);
                ``"dominance"`` gives the periods of each run ``run``,
                ``partition``, ``start``, ``end``, ``loops`` (the dominant set,
                see :meth:`simlin.LtmResults.dominant_loops`). ``outputs``
                must be left out. Models with more loops than can be
                enumerated are refused (``BAD_ARGUMENT``).
            ltm_partial: The loop scores' convention (see :meth:`run`).
            to: The table to return: ``"polars"`` (a ``polars.DataFrame``),
                ``"pandas"`` (a ``pandas.DataFrame`` with NumPy columns,
                categoricals for names; pyarrow is not needed) or ``"arrow"``
                (a ``pyarrow.Table``). Default: Polars if installed, else
                pandas, else pyarrow. Polars and pyarrow share the engine's
                buffers without copying.

        Returns:
            Without ``reduce``, a long frame ``run``, ``time``, ``variable``
            (categorical), ``value``, ordered by run, then time, then variable
            in output order. With ``reduce``, a wide frame: ``run`` plus one
            float64 column per output. Failed runs (``on_error="null"``)
            are null (NaN in pandas).

        Raises:
            SimlinRuntimeError: ``BAD_PARAMETER`` (unknown column, null, bad
                points; the message names column and row), ``RUN_FAILED``,
                ``BAD_SWEEP``, ``UNKNOWN_OUTPUT``, ``BAD_TIME_SPEC``.
            SimlinTypeError: wrongly typed arguments or parameter columns
                (code ``BAD_PARAMETER`` for a column of the wrong dtype).
            KeyboardInterrupt: Ctrl-C while waiting (the sweep is cancelled).

        """
        from simlin import sweep as _sweep

        with names_suggested(self._variable_names):
            return _sweep.run_sweep(
                self,
                params,
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
                ltm=ltm,
                ltm_partial=ltm_partial,
                to=to,
            )

    @overload
    def sweep_to_parquet(
        self,
        params: ParamsLike,
        path: str | os.PathLike[str],
        *,
        progress: bool | None = None,
        rows_per_group: int | None = None,
        to: Literal["polars"] | None = None,
        **options: Unpack[SweepOptions],
    ) -> pl.LazyFrame: ...
    @overload
    def sweep_to_parquet(
        self,
        params: ParamsLike,
        path: str | os.PathLike[str],
        *,
        progress: bool | None = None,
        rows_per_group: int | None = None,
        to: Literal["arrow"],
        **options: Unpack[SweepOptions],
    ) -> pa_ds.Dataset: ...
    def sweep_to_parquet(
        self,
        params: ParamsLike,
        path: str | os.PathLike[str],
        *,
        outputs: Sequence[str] | None = None,
        reduce: ReduceSpec | None = None,
        method: str | None = None,
        seed: int | None = None,
        threads: int | None = None,
        progress: bool | None = None,
        on_error: Literal["raise", "null"] = "raise",
        run_id: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        rows_per_group: int | None = None,
        to: Literal["polars", "arrow"] | None = None,
    ) -> pl.LazyFrame | pa_ds.Dataset:
        """:meth:`sweep` streamed to a Parquet file, for sweeps beyond memory.

        Runs go in batches, each written as a row group as soon as it is
        done, so memory holds one batch (about ``rows_per_group`` frame
        rows, default 4 Mi) whatever the number of runs. The file holds
        exactly the frame :meth:`sweep` would return, same seeds included
        (rows without a run-id column get their 0-based index as their id).
        Needs pyarrow (its Parquet writer).

        Polars is not needed: with ``to="arrow"`` (the default when Polars
        is not installed) the result is a ``pyarrow.dataset.Dataset``.

        Returns:
            ``polars.scan_parquet(path)``: a lazy frame over the file (or,
            with ``to="arrow"``, ``pyarrow.dataset.dataset(path)``).

        Raises:
            SimlinError: As :meth:`sweep`; also ``SimlinArgumentError`` when
                pyarrow is missing or the file cannot be written. With
                ``on_error="null"`` one :class:`simlin.SweepFailureWarning`
                names every failed row.

        """
        from simlin import sweep as _sweep

        with names_suggested(self._variable_names):
            return _sweep._sweep_to_parquet(
                self,
                params,
                path,
                rows_per_group,
                progress,
                to,
                {
                    "outputs": outputs,
                    "reduce": reduce,
                    "method": method,
                    "seed": seed,
                    "threads": threads,
                    "on_error": on_error,
                    "run_id": run_id,
                    "start": start,
                    "stop": stop,
                    "dt": dt,
                    "save_step": save_step,
                },
            )

    def __repr__(self) -> str:
        return f"<simlin.Model {self.name!r}>"

    def _repr_html_(self) -> str:
        """Jupyter display: time settings and a table of the variables."""
        from simlin._html import model_html

        return model_html(self)


def _unpickle_model(source: Source, selector: str | None) -> Model:
    """Load the model again from its source (the inverse of ``Model.__reduce__``)."""
    if source.format == "mdl":
        files = None if source.data_files is None else list(source.data_files)
        native = _simlin.Project.from_mdl(source.text, source.base, files)
    else:
        files = None if source.data_files is None else list(source.data_files)
        native = _simlin.Project.from_xmile(source.text, source.base, files)
    return Model(native.model(selector), source, selector)
