"""Kernel categories: each is a function that drives a :class:`KernelWriter`, registered by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..registry import Registry
from .writer import KernelWriter


@dataclass(frozen=True)
class Category:
    """A registered kernel category.

    Attributes:
        name: registry name (``"arithmetic"``).
        groups: expression groups its kernels draw from (see ``expressions.PRODUCTIONS``).
        write: fills a :class:`KernelWriter` with the arguments and body of one kernel.
        description: one line for docs and the dataset card.
    """

    name: str
    groups: frozenset[str]
    write: Callable[[KernelWriter], None]
    description: str


CATEGORIES: Registry[Category] = Registry("category")


def register_category(name: str, *, groups: set[str], description: str = "") -> Callable:
    """Register the decorated ``write(writer)`` function as category ``name``."""

    def decorator(write: Callable[[KernelWriter], None]) -> Callable[[KernelWriter], None]:
        doc = description or (write.__doc__ or "").strip().splitlines()[0]
        CATEGORIES.register(name)(Category(name, frozenset(groups), write, doc))
        return write

    return decorator
