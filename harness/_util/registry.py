"""Extension points chosen by name: sandbox backends, executors, migration drivers, static linters,
providers. Each is a :class:`Registry`; an unknown name is a one-line error listing the choices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from harness.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind. ``setting`` is what a user writes to choose one (for the error)."""

    def __init__(self, kind: str, setting: str) -> None:
        self.kind, self.setting = kind, setting
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        return lambda entry: self.add(name, entry)

    def get(self, name: str) -> T:
        """The entry called ``name``; ConfigError naming the setting and the choices otherwise."""
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"{self.setting} {name} is unknown (no such {self.kind})", f"use one of: {', '.join(self)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))
