"""Polars only when it is used: ``import simlin`` must stay cheap.

Importing Polars costs more than the rest of simlin together, and most
single-run users never touch it. So ``simlin.simulate`` is looked up on
first use (module ``__getattr__`` in ``simlin/__init__.py``), and the
``expr.simlin`` namespace is registered the moment Polars itself is
imported (now, if it already is; otherwise by a one-shot import hook), so
``pl.col(...).simlin.simulate`` works exactly as if simlin had imported
Polars eagerly.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType


def _register() -> None:
    importlib.import_module("simlin.plugin")


class _PolarsHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps Polars' own loader to register afterwards."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "polars":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            # Polars is complete and in sys.modules: the plugin can import it.
            _register()

        loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def register_when_polars_loads() -> None:
    """Register the ``expr.simlin`` namespace now or when Polars is imported."""
    if "polars" in sys.modules:
        _register()
    elif not any(isinstance(f, _PolarsHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _PolarsHook())
