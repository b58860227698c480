"""The ``simlin`` command line: run a model or check it.

Usage::

    simlin run MODEL [--method euler|rk2|rk4] [--vars a,b] [--format csv|parquet]
                     [-o FILE] [--start T] [--stop T] [--dt DT]
    simlin check MODEL

``run`` writes CSV (header ``time,<names>``) to stdout unless ``-o`` is
given; ``parquet`` needs ``-o`` and polars or pyarrow. ``check`` prints
diagnostics and exits 1 on errors, else prints ``ok``. Failures print
``simlin: error: <message>`` to stderr and exit 1.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import IO, NoReturn

from simlin._simlin import __version__
from simlin.errors import SimlinError
from simlin.project import Project
from simlin.results import Results

__all__ = ["main"]


class _CliError(Exception):
    """A user-facing failure: printed as ``simlin: error: ...``, exit code 1."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors use the common error format."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"simlin: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="simlin",
        description="Simulate system dynamics models (XMILE, Stella .stmx/.itmx, Vensim .mdl).",
    )
    parser.add_argument("--version", action="version", version=f"simlin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate a model and write its results")
    run.add_argument("model", help="model file (.xmile, .stmx, .itmx, .xml)")
    run.add_argument("--method", choices=["euler", "rk2", "rk4"], help="integration method")
    run.add_argument("--vars", help="comma-separated variables to output (default: all)")
    run.add_argument("--format", choices=["csv", "parquet"], default="csv", help="output format")
    run.add_argument("-o", "--output", help="output file (default: stdout, CSV only)")
    run.add_argument("--start", type=float, help="start time")
    run.add_argument("--stop", type=float, help="stop time")
    run.add_argument("--dt", type=float, help="integration step")

    check = sub.add_parser("check", help="check a model for errors")
    check.add_argument("model", help="model file (.xmile, .stmx, .itmx, .xml)")
    return parser


def _write_csv(results: Results, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    names = results.names
    writer.writerow(["time", *names])
    columns = [results.times] + [results[n] for n in names]
    for row in zip(*columns, strict=True):
        writer.writerow([repr(float(v)) for v in row])


def _write_parquet(results: Results, path: str) -> None:
    """Write with Polars if it is installed, else pyarrow."""
    try:
        import polars as pl
    except ImportError:
        pass
    else:
        pl.DataFrame(results).write_parquet(path)
        return
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise _CliError(
            "parquet output needs polars or pyarrow: pip install 'simlin[polars]'"
        ) from None
    pq.write_table(pa.table(results), path)


def _run(args: argparse.Namespace) -> int:
    if args.format == "parquet" and not args.output:
        raise _CliError("--format parquet needs an output file (-o FILE)")
    outputs = None
    if args.vars is not None:
        outputs = [v.strip() for v in args.vars.split(",") if v.strip()]
        if not outputs:
            raise _CliError(f"--vars {args.vars!r} names no variable")
    model = Project.from_file(args.model).main_model
    with model.run(
        method=args.method,
        start=args.start,
        stop=args.stop,
        dt=args.dt,
        outputs=outputs,
    ) as results:
        try:
            if args.format == "parquet":
                _write_parquet(results, args.output)
            elif args.output:
                with open(args.output, "w", newline="", encoding="utf-8") as f:
                    _write_csv(results, f)
            else:
                _write_csv(results, sys.stdout)
                sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            target = args.output or "the results"
            raise _CliError(f"cannot write {target}: {e.strerror or e}") from None
    return 0


def _check(args: argparse.Namespace) -> int:
    model = Project.from_file(args.model).main_model
    diagnostics = model.check()
    for d in diagnostics:
        print(d)
    if any(d.startswith("error:") for d in diagnostics):
        return 1
    print("ok")
    return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's exit flush stays quiet."""
    try:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        return _check(args)
    except (SimlinError, _CliError) as e:
        print(f"simlin: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`simlin run m.xmile | head`): not an error
        # worth a message; stop writing to the closed pipe.
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        print("simlin: error: interrupted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
