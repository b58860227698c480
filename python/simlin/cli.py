"""The ``simlin`` command line: run a model, sweep it over a table, or check it.

Usage::

    simlin run MODEL [--set NAME=VALUE ...] [--outputs a,b] [--method euler|rk2|rk4]
                     [--start T] [--stop T] [--dt DT] [--save-step S] [-o FILE]
                     [--format csv|parquet]
    simlin sweep MODEL PARAMS.{csv,parquet} [--set NAME=VALUE ...] [--outputs a,b]
                     [--reduce final|max|min|mean|TIME] [--threads N] [--seed N]
                     [--method ...] [--start T] [--stop T] [--dt DT] [--save-step S]
                     [-o OUT.{csv,parquet}] [--format csv|parquet]
    simlin check MODEL
    simlin --version

MODEL is ``.mdl`` (Vensim), ``.xmile``/``.xml`` or ``.stmx``/``.itmx`` (Stella).
``run`` writes CSV (``time,<names>``) to stdout unless ``-o`` is given; a
``-o`` path ending in ``.parquet`` writes Parquet (needs polars or pyarrow).
``sweep`` runs the model once per row of PARAMS (a column per parameter, an
optional ``run`` column of ids; needs polars or pyarrow) and writes the long frame
``run,time,variable,value``, or with ``--reduce`` one row per run.
``--set`` overrides a constant (or a stock's initial value) in every run.
``check`` prints diagnostics and ``ok`` if there are no errors.

Exit codes: 0 success; 1 the model could not be loaded, compiled or run, or
the output could not be written (``check``: the model has errors); 2 a bad
command line; 130 interrupted (Ctrl-C). Every failure prints one line
``simlin: error: <message>`` to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn, cast

from simlin import _conflict  # noqa: F401  (first: pysimlin files in this package?)
from simlin._simlin import __version__
from simlin.errors import SimlinError
from simlin.project import Project
from simlin.results import Results
from simlin.sweep import REDUCTIONS

if TYPE_CHECKING:
    from simlin.model import Model
    from simlin.sweep import ReduceSpec

__all__ = ["main"]

#: Exit codes (see the module docstring).
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_MODEL_HELP = "model file (.mdl, .xmile, .xml, .stmx, .itmx)"


class _CliError(Exception):
    """A user-facing failure: printed as ``simlin: error: ...``."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors use the common error format."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"simlin: error: {message}\n")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """The options ``run`` and ``sweep`` share, spelled the same in both."""
    p.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="override a constant or a stock's initial value (repeatable)",
    )
    p.add_argument(
        "--outputs",
        "--vars",
        dest="outputs",
        metavar="A,B",
        help="comma-separated variables to output",
    )
    p.add_argument("--method", choices=["euler", "rk2", "rk4"], help="integration method")
    p.add_argument("--start", type=float, help="start time")
    p.add_argument("--stop", type=float, help="stop time")
    p.add_argument("--dt", type=float, help="integration step")
    p.add_argument("--save-step", type=float, help="interval between saved times")
    p.add_argument("-o", "--output", help="output file: .csv or .parquet (default: CSV on stdout)")
    p.add_argument(
        "--format", choices=["csv", "parquet"], help="output format (default: from -o's suffix)"
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="simlin",
        description="Simulate system dynamics models (Vensim .mdl, XMILE, Stella .stmx/.itmx).",
        epilog="Exit codes: 0 ok, 1 model or output failure, 2 bad command line, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"simlin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate a model and write its results")
    run.add_argument("model", help=_MODEL_HELP)
    _add_run_options(run)

    sweep = sub.add_parser(
        "sweep", help="run a model once per row of a parameter table, in parallel"
    )
    sweep.add_argument("model", help=_MODEL_HELP)
    sweep.add_argument(
        "params",
        help="parameter table (.csv or .parquet): a column per parameter, "
        "optionally a 'run' column of run ids",
    )
    _add_run_options(sweep)
    sweep.add_argument(
        "--reduce",
        metavar="final|max|min|mean|TIME",
        help="one value per run and output instead of the time series",
    )
    sweep.add_argument("--threads", type=int, help="worker threads (default: one per core)")
    sweep.add_argument("--seed", type=int, help="base random seed (default 0)")
    sweep.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )

    check = sub.add_parser("check", help="check a model for errors")
    check.add_argument("model", help=_MODEL_HELP)
    return parser


def _overrides(pairs: list[str]) -> dict[str, float]:
    """``--set NAME=VALUE`` arguments as a mapping (later ones win)."""
    out: dict[str, float] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise _CliError(f"--set {pair!r}: expected NAME=VALUE", EXIT_USAGE)
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise _CliError(
                f"--set {pair!r}: {value.strip()!r} is not a number", EXIT_USAGE
            ) from None
    return out


def _outputs(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise _CliError(f"--outputs {text!r} names no variable", EXIT_USAGE)
    return names


def _format(args: argparse.Namespace) -> str:
    """The output format: ``--format``, else the output file's suffix, else CSV."""
    fmt: str | None = args.format
    if fmt is None:
        suffix = os.path.splitext(args.output or "")[1].lower()
        fmt = "parquet" if suffix in (".parquet", ".pq") else "csv"
    if fmt == "parquet" and not args.output:
        raise _CliError("parquet output needs an output file (-o FILE)", EXIT_USAGE)
    return fmt


#: Saved times formatted per block of CSV output.
_CSV_BLOCK = 16384


def _write_results_csv(results: Results, out: IO[bytes]) -> None:
    """The engine formats the text (``simlin.results.csv``) a block at a time."""
    n = len(results)
    native = results._native
    out.write(native.csv(True, 0, _CSV_BLOCK))
    for start in range(_CSV_BLOCK, n, _CSV_BLOCK):
        out.write(native.csv(False, start, start + _CSV_BLOCK))


def _write_results_parquet(results: Results, path: str) -> None:
    """Write with Polars if it is installed, else pyarrow."""
    if importlib.util.find_spec("polars") is not None:
        results.to_polars().write_parquet(path)
        return
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise _CliError(
            "parquet output needs polars or pyarrow: pip install 'simlin[polars]'"
        ) from None
    pq.write_table(pa.table(results), path)


def _write(args: argparse.Namespace, fmt: str, write: Callable[[IO[bytes] | str], None]) -> None:
    """Call ``write`` on the output file (or stdout), naming it in any OS error.

    Parquet gets the path; CSV goes out as UTF-8 bytes, to the file or to
    stdout's binary buffer.
    """
    try:
        if fmt == "parquet":
            write(args.output)
        elif args.output:
            with open(args.output, "wb") as f:
                write(f)
        else:
            sys.stdout.flush()
            write(sys.stdout.buffer)
            sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        target = args.output or "the results"
        raise _CliError(f"cannot write {target}: {e.strerror or e}") from None


def _load(path: str) -> Model:
    return Project.from_file(path).main_model


def _run(args: argparse.Namespace) -> int:
    fmt = _format(args)  # a bad output choice fails before the model loads
    overrides = _overrides(args.set)
    outputs = _outputs(args.outputs)
    model = _load(args.model)
    with model.run(
        overrides,
        method=args.method,
        start=args.start,
        stop=args.stop,
        dt=args.dt,
        save_step=args.save_step,
        outputs=outputs,
    ) as results:

        def write(target: IO[bytes] | str) -> None:
            if isinstance(target, str):
                _write_results_parquet(results, target)
            else:
                _write_results_csv(results, target)

        _write(args, fmt, write)
    return 0


def _table_library() -> str:
    """``"polars"`` if installed, else ``"arrow"`` (pyarrow): what sweeps read and write with."""
    for name, module in (("polars", "polars"), ("arrow", "pyarrow")):
        if importlib.util.find_spec(module) is not None:
            return name
    raise _CliError(
        "simlin sweep reads and writes tables with polars or pyarrow: pip install 'simlin[polars]'"
    )


def _read_params(path: str, library: str, overrides: dict[str, float]) -> Any:
    """The parameter table (CSV or Parquet by suffix), ``--set`` columns added."""
    parquet = os.path.splitext(path)[1].lower() in (".parquet", ".pq")
    if library == "polars":
        import polars as pl

        try:
            params = pl.read_parquet(path) if parquet else pl.read_csv(path)
        except (OSError, pl.exceptions.PolarsError) as e:
            raise _CliError(f"cannot read {path}: {e}") from None
        if overrides:
            params = params.with_columns(
                [pl.lit(v, dtype=pl.Float64).alias(k) for k, v in overrides.items()]
            )
        return params
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path) if parquet else pacsv.read_csv(path)
    except (OSError, pa.ArrowException) as e:
        raise _CliError(f"cannot read {path}: {e}") from None
    for name, value in overrides.items():
        column = pa.array([value] * table.num_rows, pa.float64())
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, column) if i >= 0 else table.append_column(name, column)
    return table


def _write_table(frame: Any, library: str, target: IO[bytes] | str) -> None:
    """A sweep's frame as Parquet (a path) or CSV (a stream), with ``library``."""
    if library == "polars":
        if isinstance(target, str):
            frame.write_parquet(target)
        else:
            frame.write_csv(target)
        return
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if isinstance(target, str):
        pq.write_table(frame, target)
        return
    # Categorical names and run ids as plain text, as Polars writes them.
    columns = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in frame.columns]
    pacsv.write_csv(pa.table(columns, names=frame.column_names), target)


def _reduce(text: str | None) -> ReduceSpec | None:
    """``--reduce``: a reduction's name (checked again by the sweep) or a time."""
    if text is None:
        return None
    if text.lower() in REDUCTIONS:
        return cast("ReduceSpec", text)
    try:
        return float(text)
    except ValueError:
        raise _CliError(
            f"--reduce {text!r}: expected final, max, min, mean or a time", EXIT_USAGE
        ) from None


def _sweep(args: argparse.Namespace) -> int:
    library = _table_library()
    fmt = _format(args)
    overrides = _overrides(args.set)
    outputs = _outputs(args.outputs)
    reduce = _reduce(args.reduce)
    params = _read_params(args.params, library, overrides)
    model = _load(args.model)
    frame = model.sweep(
        params,
        to="polars" if library == "polars" else "arrow",
        outputs=outputs,
        reduce=reduce,
        method=args.method,
        seed=args.seed,
        threads=args.threads,
        progress=args.progress,
        start=args.start,
        stop=args.stop,
        dt=args.dt,
        save_step=args.save_step,
    )

    def write(target: IO[bytes] | str) -> None:
        _write_table(frame, library, target)

    _write(args, fmt, write)
    return 0


def _check(args: argparse.Namespace) -> int:
    model = _load(args.model)
    diagnostics = model.check()
    for d in diagnostics:
        print(d)
    if any(d.startswith("error:") for d in diagnostics):
        return EXIT_FAILED
    print("ok")
    return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's exit flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run,
    "sweep": _sweep,
    "check": _check,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except _CliError as e:
        print(f"simlin: error: {e}", file=sys.stderr)
        return e.code
    except SimlinError as e:
        print(f"simlin: error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader went away (`simlin run m.xmile | head`): not an error
        # worth a message; stop writing to the closed pipe.
        _silence_stdout()
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("simlin: error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
