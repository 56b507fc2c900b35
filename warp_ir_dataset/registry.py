"""A small typed registry: ``register(name)`` decorators, and ``Unknown x 'y'. Available: ...`` errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError, UnknownCategoryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to registered objects.

    Args:
        kind: what is registered, for error messages (``"category"``).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ConfigError(
                    f"{self.kind} {name!r} is already registered; choose another name or unregister it first"
                )
            self._items[name] = obj
            return obj

        return decorator

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and plugins that register temporarily)."""
        self.get(name)
        del self._items[name]

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownCategoryError(f"Unknown {self.kind} {name!r}. Available: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
