"""A Polars expression that simulates a model once per row.

:func:`simulate` turns a struct column of parameters (one field per model
constant, stock initial value or graphical function) into one simulation per
row, run in parallel inside Polars by the native plugin compiled into
``simlin._simlin``::

    import polars as pl
    import simlin

    model = simlin.load("teacup.xmile")
    df = pl.DataFrame({"Room Temperature": [60.0, 70.0], "Characteristic Time": [5.0, 10.0]})
    df.with_columns(
        final=simlin.simulate(
            model, pl.struct(pl.all()), outputs=["Teacup Temperature"], reduce="final"
        )
    )
    # or, as an expression namespace:
    df.select(pl.struct(pl.all()).simlin.simulate(model, outputs=["Teacup Temperature"]))

Importing this module registers the ``simlin`` expression namespace; it needs
``polars >= 1.28.1`` (``pip install 'simlin[polars]'``). The expression carries
the model's source (text, folder, data files) under a key derived from it, so
a serialized query evaluates identically in another process (which compiles
the model once from that text); in this process the compiled model is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

import polars as pl
from polars.plugins import register_plugin_function

from simlin import _simlin, _validate
from simlin.errors import ErrorCode, SimlinArgumentError, SimlinError, SimlinTypeError
from simlin.model import Model

__all__ = ["Reduce", "SimlinExprNamespace", "simulate"]

Reduce: TypeAlias = Literal["final", "max", "min", "mean"] | float | Mapping[str, float]
"""A per-run reduction: ``"final"``, ``"max"``, ``"min"``, ``"mean"``, or
``{"at": t}`` (the value at time ``t``, interpolated between saved times)."""

_LIB = Path(_simlin.__file__)
"""The native library, which is also the Polars plugin."""

MIN_POLARS = (1, 28, 1)
"""Oldest Polars that can exchange data with this plugin."""

_lock = threading.Lock()
_keys: weakref.WeakKeyDictionary[Model, dict[str, object]] = weakref.WeakKeyDictionary()


def _model_kwargs(model: Model) -> dict[str, object]:
    """What the expression carries of ``model``: its source and a key naming it.

    The compiled model is cached under the key in this process (released when
    the model is garbage-collected); another process compiles it from the
    source once.
    """
    with _lock:
        found = _keys.get(model)
        if found is not None:
            return found
        source = model._source
        fields: dict[str, object] = {
            "format": source.format if source is not None else "xmile",
            "text": source.text if source is not None else None,
            "base": source.base if source is not None else None,
            "data_files": list(source.data_files)
            if source is not None and source.data_files is not None
            else None,
            "name": model._selector,
        }
        digest = hashlib.blake2b(
            json.dumps(fields, sort_keys=True).encode("utf-8"), digest_size=16
        ).hexdigest()
        # A model without source can only be evaluated where it was built:
        # give it a key no other process can produce.
        key = digest if source is not None else f"{digest}-{os.getpid()}-{id(model)}"
        fields["key"] = key
        _simlin._register_model(model._native, key)
        weakref.finalize(model, _simlin._unregister_model, key)
        _keys[model] = fields
        return fields


def _check_polars_version() -> None:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", pl.__version__)
    if match is None or tuple(int(g) for g in match.groups()) < MIN_POLARS:
        need = ".".join(map(str, MIN_POLARS))
        raise SimlinError(
            f"simlin.simulate needs polars >= {need}, found {pl.__version__}",
            code=ErrorCode.UNSUPPORTED,
        )


def _reduce(value: object) -> tuple[str | None, float | None]:
    """Split ``reduce`` into the name and, for ``{"at": t}``, the time."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if value in ("final", "max", "min", "mean"):
            return value, None
        raise SimlinArgumentError(
            f"reduce must be 'final', 'max', 'min', 'mean' or {{'at': time}}, got {value!r}"
        )
    if isinstance(value, Mapping):
        if set(value) != {"at"}:
            raise SimlinArgumentError(
                f"a reduce mapping must be {{'at': time}}, got keys {sorted(map(str, value))}"
            )
        return "at", _validate.real(value["at"], "reduce time")
    if _validate.is_real(value):
        # A bare time, as Model.sweep takes it, is the same as {"at": t}.
        return "at", _validate.real(value, "reduce time")
    raise SimlinTypeError(
        f"reduce must be a str, a time or {{'at': time}}, got {type(value).__name__}"
    )


def _on_error(value: object) -> str:
    if value not in ("raise", "null"):
        raise SimlinArgumentError(f"on_error must be 'raise' or 'null', got {value!r}")
    return str(value)


def simulate(
    model: Model,
    params: pl.Expr | str,
    *,
    outputs: Sequence[str] | None = None,
    reduce: Reduce | None = None,
    method: str | None = None,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    save_step: float | None = None,
    seed: int = 0,
    run: pl.Expr | str | None = None,
    on_error: Literal["raise", "null"] = "raise",
) -> pl.Expr:
    """An expression that runs ``model`` once per row of ``params``.

    Args:
        model: The model to run (compiled once, when the expression is built).
        params: A struct expression (e.g. ``pl.struct("a", "b")``) or the name
            of a struct column; each field names a constant, a stock's initial
            value or a graphical function (as in :meth:`simlin.Model.run`'s
            overrides). Fields are numbers, or lists of ``(x, y)`` points for
            graphical functions: ``List(Struct{x, y})`` or
            ``List(List(number))``.
        outputs: Variables to report (any spelling; an arrayed name gives one
            field per element). ``None`` = every stock and flow.
        reduce: Reduce each run to one number per output (``"final"``,
            ``"max"``, ``"min"``, ``"mean"``, or a time ``t`` or ``{"at": t}``
            as in :meth:`simlin.Model.sweep`); the result is a
            struct with one float field per output. Without it, each row gets
            a list of ``{time, <output>...}`` structs, so
            ``.explode().struct.unnest()`` gives a long frame.
        method: ``"euler"``, ``"rk2"`` or ``"rk4"`` (default: the model's).
        start: Start time (default: the model's).
        stop: Stop time (default: the model's).
        dt: Integration step (default: the model's).
        save_step: Output interval (default: the model's, else ``dt``).
        seed: Base seed for the random builtins.
        run: Each row's run key, a column name or expression of integers or
            strings (e.g. ``df.with_row_index("run")`` then ``run="run"``): the
            row runs with seed ``simlin.run_seed(seed, key)`` (``seed + key``;
            a string key by its FNV-1a hash), so its random stream stays with
            it however Polars splits the frame (chunks, streaming,
            partitions, other processes), ``model.run(row, seed=...)`` with
            that seed reproduces it, and ``model.sweep`` with the same run-id
            column gives the same numbers. Required for
            a model that draws random numbers; otherwise optional.
        on_error: ``"raise"`` fails the query on a null parameter or a run
            whose stocks become NaN/infinite; ``"null"`` makes those rows null.

    Output fields are named by the model's display names (as in
    :class:`simlin.Results`). Evaluation errors (an unknown parameter field, a
    null cell, a failed run) raise ``polars.exceptions.ComputeError`` carrying
    the engine's message.

    Raises:
        SimlinTypeError: for arguments of the wrong type.
        SimlinArgumentError: for a bad ``reduce``, ``on_error`` or ``seed``,
            or a model with random functions and no ``run`` key.
        SimlinCompilationError: if the model does not compile.
        SimlinError: ``UNSUPPORTED`` if the installed Polars is older than 1.28.1.

    """
    _check_polars_version()
    if not isinstance(model, Model):
        raise SimlinTypeError(f"model must be a simlin.Model, got {type(model).__name__}")
    if isinstance(params, str):
        params = pl.col(params)
    elif not isinstance(params, pl.Expr):
        raise SimlinTypeError(
            f"params must be a polars expression or a column name, got {type(params).__name__}"
        )
    out = _validate.outputs(outputs)
    if out is not None and not out:
        raise SimlinArgumentError("outputs must name at least one variable (or be None)")
    reduce_name, reduce_at = _reduce(reduce)
    args = [params]
    if run is not None:
        if isinstance(run, str):
            run = pl.col(run)
        elif not isinstance(run, pl.Expr):
            raise SimlinTypeError(
                f"run must be a polars expression or a column name, got {type(run).__name__}"
            )
        args.append(run)
    elif model._native.is_stochastic():
        raise SimlinArgumentError(
            "this model draws random numbers, so each row needs a run key that stays with "
            "it however Polars splits the frame: pass run=<column of ints or strings>, e.g. "
            "df.with_row_index('run') and run='run'"
        )
    kwargs = {
        "model": _model_kwargs(model),
        "outputs": out,
        "reduce": reduce_name,
        "reduce_at": reduce_at,
        "method": _validate.method(method),
        "start": _validate.optional_real(start, "start"),
        "stop": _validate.optional_real(stop, "stop"),
        "dt": _validate.optional_real(dt, "dt"),
        "save_step": _validate.optional_real(save_step, "save_step"),
        "seed": _validate.seed(seed),
        "on_error": _on_error(on_error),
    }
    expr: pl.Expr = register_plugin_function(
        plugin_path=_LIB,
        function_name="simulate",
        args=args,
        kwargs=kwargs,
        is_elementwise=True,
    )
    return expr


@pl.api.register_expr_namespace("simlin")
class SimlinExprNamespace:
    """``expr.simlin``: simulation methods on a struct expression of parameters."""

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr

    def simulate(
        self,
        model: Model,
        *,
        outputs: Sequence[str] | None = None,
        reduce: Reduce | None = None,
        method: str | None = None,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_step: float | None = None,
        seed: int = 0,
        run: pl.Expr | str | None = None,
        on_error: Literal["raise", "null"] = "raise",
    ) -> pl.Expr:
        """``simlin.simulate(model, expr, ...)``; see :func:`simulate`."""
        return simulate(
            model,
            self._expr,
            outputs=outputs,
            reduce=reduce,
            method=method,
            start=start,
            stop=stop,
            dt=dt,
            save_step=save_step,
            seed=seed,
            run=run,
            on_error=on_error,
        )
