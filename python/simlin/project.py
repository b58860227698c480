"""Loading model files into projects."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from simlin import _simlin, _validate
from simlin.errors import ErrorCode, SimlinImportError, SimlinTypeError
from simlin.model import Model, Source

__all__ = ["SUPPORTED_EXTENSIONS", "Project", "load"]

SUPPORTED_EXTENSIONS = (".xmile", ".stmx", ".itmx", ".xml", ".mdl")
"""File extensions :func:`load` and :meth:`Project.from_file` accept."""


class Project:
    """A loaded project: its models and any import warnings."""

    __slots__ = ("__weakref__", "_native", "_source")

    def __init__(self, native: _simlin.Project, source: Source | None = None) -> None:
        """Wrap a native project (use :meth:`from_file` or :meth:`from_xmile`).

        ``source`` (the text it was read from) makes its models picklable.
        """
        self._native = native
        self._source = source

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        data_files: Sequence[str | os.PathLike[str]] | None = None,
    ) -> Project:
        """Load a model file; the format comes from the extension.

        Args:
            path: The model file.
            data_files: For a Vensim model (``.mdl``, or XMILE exported from
                Vensim by xmutil), the data files (``.tab``, ``.csv``,
                ``.dat``, spreadsheets) its data variables without an
                equation are read from, in place of the data source its
                settings name. Relative paths are from the current directory.

        Raises:
            SimlinImportError: ``UNSUPPORTED_FORMAT`` for an unknown extension,
                ``IO`` if the file cannot be read, ``DATA_FILE`` if a data
                file is missing or lacks a variable, or a parse error code.

        """
        path = _validate.path(path)
        files = _validate.data_files(data_files)
        native = _simlin.Project.from_file(path, files)
        return cls(native, _file_source(path, files))

    @classmethod
    def from_xmile(cls, text: str | bytes) -> Project:
        """Parse XMILE text (``bytes`` are decoded as UTF-8).

        Raises:
            SimlinImportError: if the text is not a valid XMILE document.

        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise SimlinImportError(
                    f"XMILE text is not UTF-8: {e}", code=ErrorCode.MALFORMED_XML
                ) from None
        if not isinstance(text, str):
            raise SimlinTypeError(f"text must be a str, got {type(text).__name__}")
        _encodable(text, ErrorCode.MALFORMED_XML)
        return cls(_simlin.Project.from_xmile(text), Source("xmile", text))

    @classmethod
    def from_mdl(
        cls,
        text: str | bytes,
        *,
        data_files: Sequence[str | os.PathLike[str]] | None = None,
    ) -> Project:
        """Parse Vensim ``.mdl`` text (``bytes`` are decoded as UTF-8, else Latin-1).

        ``data_files`` feed data variables without an equation, as in
        :meth:`from_file`.

        Raises:
            SimlinImportError: ``MDL_SYNTAX`` (with the line) if the text is not
                a valid Vensim model.

        """
        if isinstance(text, bytes):
            raw = text
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                # Older Vensim files are Latin-1, which decodes any byte string.
                text = raw.decode("latin-1")
        if not isinstance(text, str):
            raise SimlinTypeError(f"text must be a str, got {type(text).__name__}")
        _encodable(text, ErrorCode.MDL_SYNTAX)
        files = _validate.data_files(data_files)
        source = Source("mdl", text, None, None if files is None else tuple(files))
        return cls(_simlin.Project.from_mdl(text, None, files), source)

    @property
    def name(self) -> str:
        """The project name (may be empty)."""
        return self._native.name

    @property
    def warnings(self) -> list[str]:
        """Non-fatal problems found while importing."""
        return self._native.warnings

    @property
    def models(self) -> list[Model]:
        """Every model, in source order."""
        return [Model(m, self._source, m.name) for m in self._native.models()]

    @property
    def main_model(self) -> Model:
        """The main model (the unnamed one, or the first)."""
        return Model(self._native.model(None), self._source, None)

    def get_model(self, name: str | None = None) -> Model:
        """A model by (any spelling of) its name; ``None`` gives the main model.

        Raises:
            SimlinImportError: ``UNKNOWN_MODEL`` if there is no such model.

        """
        if name is not None:
            name = _validate.name(name, "name")
        return Model(self._native.model(name), self._source, name)

    def __repr__(self) -> str:
        return f"<simlin.Project {self.name!r}>"


def _encodable(text: str, code: ErrorCode) -> None:
    """Model text must be valid Unicode (no lone surrogates) to reach the engine."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise SimlinImportError(
            f"model text is not valid Unicode at character {e.start}: {e.reason}", code=code
        ) from None


def _file_source(path: str | os.PathLike[str], data_files: list[str] | None) -> Source | None:
    """The text of a file that just loaded, for pickling its models.

    Decoded as the engine decodes it (XMILE: UTF-8; ``.mdl``: UTF-8, else
    Latin-1). It keeps its folder (absolute) and data files for external data.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError:
        return None
    files = None if data_files is None else tuple(data_files)
    base = str(p.resolve().parent)
    if p.suffix.lower() == ".mdl":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        return Source("mdl", text, base, files)
    try:
        return Source("xmile", raw.decode("utf-8"), base, files)
    except UnicodeDecodeError:
        return None


def load(
    path: str | os.PathLike[str],
    *,
    data_files: Sequence[str | os.PathLike[str]] | None = None,
) -> Model:
    """Load a model file and return its main model.

    The format is chosen from the extension (``.xmile``, ``.stmx``,
    ``.itmx``, ``.xml``; ``.mdl`` for Vensim). ``data_files`` feed a Vensim
    model's data variables (see :meth:`Project.from_file`).

    Raises:
        SimlinImportError: if the file cannot be read or parsed.

    """
    return Project.from_file(path, data_files=data_files).main_model
