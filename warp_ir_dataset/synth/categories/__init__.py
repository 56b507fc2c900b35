"""Importing this package registers every built-in category (one module each)."""

from . import arithmetic, atomic, conditional, loop, trig, vector  # noqa: F401
