"""A student's engine laid out as a package, like micrograd itself: `package_engine/engine.py` holds Value and
imports its math helpers relatively (`from .functions import ...`), so it only loads as part of its package."""

from .engine import Value

__all__ = ["Value"]
