"""Every op in the table as a plain function (`tanh(x)` is `x.tanh()`, `powv(x, y)` is `x ** y`), so that an
expression in gradverify's syntax runs as Python on Values:

>>> from autodiff import Value
>>> from autodiff.functional import tanh, log
>>> x = Value(0.5)
>>> round((tanh(x * 2.0) + log(x)).data, 6)
0.068447
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from autodiff.engine import Value
from autodiff.ops import OPS, Op

__all__ = list(OPS)


def _function(op: Op) -> Callable[..., Any]:
    if op.params:  # pow(x, p) is x ** p
        return lambda x, *params: operator.pow(x, *params)
    if op.name == "powv":  # powv(x, y) is x ** y with y a Value, even when y is written as a number
        return lambda x, y: x ** (y if isinstance(y, Value) else Value(y))
    if op.method.startswith("__"):  # an operator: add(x, y) is x + y
        return getattr(operator, op.method)  # type: ignore[no-any-return]

    def apply(x: Any) -> Any:
        return getattr(x if isinstance(x, Value) else Value(x), op.method)()

    apply.__name__ = op.name
    apply.__doc__ = op.doc
    return apply


globals().update({name: _function(op) for name, op in OPS.items()})
