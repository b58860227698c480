"""Shared lifetime handling for objects that own native state.

``Results`` and ``Sim`` both wrap a native object that can be released
early; this base class gives them the same ``close``/``closed`` and
context-manager behaviour.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, TypeVar

__all__ = ["NativeHandle"]

_H = TypeVar("_H", bound="NativeHandle")


class _Closable(Protocol):
    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...


class NativeHandle:
    """Base for wrappers of a closable native object held in ``_native``."""

    __slots__ = ("__weakref__", "_native")

    _native: _Closable

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._native.closed

    def close(self) -> None:
        """Release the native state now (also happens on garbage collection)."""
        self._native.close()

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
