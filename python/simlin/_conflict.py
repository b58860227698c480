"""Detect pysimlin installed over this package.

pysimlin (the Python package of another simlin engine) also installs a
top-level ``simlin`` package. pip does not refuse the second install: it
writes both into one ``site-packages/simlin/`` folder, each overwriting the
other's files of the same name (``__init__.py``, ``model.py``, ...), and
uninstalling either deletes files the other needs. The mixture imports, then
fails somewhere unrelated. We keep the import name every user's code already
has and instead refuse to run from a mixed folder, saying how to repair it.

The check looks for files only pysimlin ships beside ours: a few ``stat``
calls, nothing imported. It runs when this module is imported, which the
package's ``__init__`` and the command line do first.
"""

from __future__ import annotations

import os

__all__ = ["PYSIMLIN_FILES", "check_not_mixed", "mixed_with_pysimlin"]

#: Files of pysimlin's ``simlin`` package that this package does not have.
PYSIMLIN_FILES = ("_ffi.py", "_ffi_build.py", "json_converter.py", "vdf.py")

_REPAIR = (
    "this 'simlin' package folder ({folder}) also holds files of pysimlin, another "
    "package that installs under the same import name ({files}); the two cannot share "
    "one environment. Repair it with:\n"
    "    pip uninstall -y pysimlin simlin && pip install simlin\n"
    "or keep pysimlin in a virtual environment of its own "
    "(see docs/coming-from-pysimlin.md)"
)


def mixed_with_pysimlin(folder: str) -> list[str]:
    """The pysimlin files present in the package ``folder`` (empty if none)."""
    return [f for f in PYSIMLIN_FILES if os.path.exists(os.path.join(folder, f))]


def check_not_mixed(folder: str) -> None:
    """Raise ``ImportError`` if pysimlin's files share the package ``folder``."""
    found = mixed_with_pysimlin(folder)
    if found:
        raise ImportError(_REPAIR.format(folder=folder, files=", ".join(found)))


check_not_mixed(os.path.dirname(os.path.abspath(__file__)))
