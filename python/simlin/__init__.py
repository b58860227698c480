"""simlin: system dynamics simulation from Python.

Load an XMILE/Stella model, compile it once, and run it many times::

    import simlin

    model = simlin.load("teacup.xmile")
    results = model.run({"room temperature": 60}, method="rk4")
    print(results["teacup temperature"][-1])
    df = results.to_pandas()

See :class:`Project`, :class:`Model`, :class:`Sim` and :class:`Results`;
:meth:`Model.sweep` runs a parameter table in parallel into a Polars frame;
errors are :class:`SimlinError` subclasses with an :class:`ErrorCode`.
With Polars installed, :func:`simulate` (see :mod:`simlin.plugin`) runs a
model once per row of a DataFrame, and ``expr.simlin.simulate`` is the same
as an expression namespace.
"""

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

# First: refuses a package folder shared with pysimlin's files, which would
# import and then fail somewhere unrelated (see simlin/_conflict.py).
from simlin import _conflict  # noqa: F401
from simlin._lazy import register_when_polars_loads
from simlin._simlin import __version__
from simlin.errors import (
    ErrorCode,
    SimlinArgumentError,
    SimlinCompilationError,
    SimlinError,
    SimlinImportError,
    SimlinKeyError,
    SimlinMemoryError,
    SimlinRuntimeError,
    SimlinTypeError,
    SweepFailureWarning,
)
from simlin.loops import LtmResults
from simlin.model import Model, OverrideValue, TimeSpec, Variable, VariableKind
from simlin.project import SUPPORTED_EXTENSIONS, Project, load
from simlin.results import Results
from simlin.sim import Sim
from simlin.sweep import SweepJob, run_seed, start_sweep

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ErrorCode",
    "LtmResults",
    "Model",
    "OverrideValue",
    "Project",
    "Results",
    "Sim",
    "SimlinArgumentError",
    "SimlinCompilationError",
    "SimlinError",
    "SimlinImportError",
    "SimlinKeyError",
    "SimlinMemoryError",
    "SimlinRuntimeError",
    "SimlinTypeError",
    "SweepFailureWarning",
    "SweepJob",
    "TimeSpec",
    "Variable",
    "VariableKind",
    "__version__",
    "load",
    "run_seed",
    "start_sweep",
]

# The Polars plugin (and the `expr.simlin` namespace) only when Polars is
# there, and loaded only when used (see simlin/_lazy.py): Polars' import costs
# more than the rest of simlin.
if TYPE_CHECKING:
    from simlin.plugin import simulate
if importlib.util.find_spec("polars") is not None:
    __all__ += ["simulate"]
    register_when_polars_loads()


# Submodules with optional dependencies, imported on first use
# (``simlin.plot.fan(...)``, ``simlin.dask.sweep(...)``).
_LAZY_SUBMODULES = ("dask", "plot")


def __getattr__(name: str) -> Any:
    if name == "simulate" and "simulate" in __all__:
        from simlin.plugin import simulate

        return simulate
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"simlin.{name}")
    raise AttributeError(f"module 'simlin' has no attribute '{name}'")
