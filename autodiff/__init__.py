"""A small scalar reverse-mode autodiff engine in the spirit of micrograd: `Value`, neural-net modules,
optimizers and losses. Pure Python, standard library only.
"""

from autodiff.engine import Value
from autodiff.ops import OPS, DomainError, Op

__all__ = ["OPS", "DomainError", "Op", "Value"]
__version__ = "0.1.0"
