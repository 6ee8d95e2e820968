"""`Value`: a scalar that remembers how it was computed, and reverse-mode differentiation over that record.

The arithmetic methods of `Value` are generated from the op table in `autodiff.ops`; this file holds only what
is common to every op: building a node, checking its input, and running the chain rule backwards.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from autodiff.ops import OPS, Domain, DomainError, Op

__all__ = ["Value"]

_new = object.__new__
_isfinite = math.isfinite


class Value:
    """A float that records the op and inputs that produced it, so that `backward()` can find gradients.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + a.exp()
    >>> c.backward()
    >>> a.grad == -3.0 + a.exp().data, b.grad
    (True, 2.0)

    Leaves (Values made by the user) keep accumulating gradient across `backward()` calls, as in PyTorch;
    inner nodes hold the gradient of the latest call. Children are held in two slots, `_a` and `_b` (every op
    takes one or two inputs), and nothing points back from a child to its parent: a dropped graph is freed
    by reference counting alone.
    """

    __slots__ = ("_a", "_b", "_n", "_op", "data", "grad", "label")

    data: float
    grad: float
    label: str
    _a: Value | None
    _b: Value | None
    _op: Op | None
    _n: int  # scratch for backward(): parents not yet processed; 0 outside backward()

    def __init__(self, data: float, label: str = "") -> None:
        self.data = _as_float(data, "Value")
        self.grad = 0.0
        self._a = self._b = None
        self._op = None
        self._n = 0
        self.label = label

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The inputs of the op that made this node, in order (empty for a leaf)."""
        if self._a is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    @property
    def op(self) -> Op | None:
        """The op that made this node, or None for a leaf."""
        return self._op

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # ----------------------------------------------------------------------------------------------------
    # Reverse mode
    # ----------------------------------------------------------------------------------------------------

    def backward(self) -> None:
        """Add d self / d leaf to the `grad` of every leaf this Value depends on.

        As in PyTorch, leaf gradients accumulate over calls (the gradient of one call is summed first and
        added once, so two calls give exactly twice the gradient), while inner nodes get the adjoint of
        this call only. Raises OverflowError, naming the op, if a gradient overflows.
        """
        if self._op is None:
            self.grad = _checked_leaf_grad(self, self.grad + 1.0)
            return
        leaves, saved = _count_parents(self)
        try:
            _propagate(self)
            totals = [before + leaf.grad for leaf, before in zip(leaves, saved, strict=True)]
            for leaf, total in zip(leaves, totals, strict=True):
                _checked_leaf_grad(leaf, total)
        except BaseException:
            # Leave the graph as it was: leaf gradients restored, every count back to 0.
            for leaf, before in zip(leaves, saved, strict=True):
                leaf.grad = before
            for node in _all_nodes(self):
                node._n = 0
            raise
        for leaf, total in zip(leaves, totals, strict=True):
            leaf.grad = total
            leaf._n = 0

    def zero_grad(self) -> None:
        """Set `grad` to 0 on this Value and every node it depends on."""
        for node in _all_nodes(self):
            node.grad = 0.0

    # Generated from the op table below; declared here for type checkers only.
    if TYPE_CHECKING:

        def __add__(self, other: Value | float) -> Value: ...
        def __radd__(self, other: float) -> Value: ...
        def __sub__(self, other: Value | float) -> Value: ...
        def __rsub__(self, other: float) -> Value: ...
        def __mul__(self, other: Value | float) -> Value: ...
        def __rmul__(self, other: float) -> Value: ...
        def __truediv__(self, other: Value | float) -> Value: ...
        def __rtruediv__(self, other: float) -> Value: ...
        def __pow__(self, other: Value | float) -> Value: ...
        def __rpow__(self, other: float) -> Value: ...
        def __neg__(self) -> Value: ...
        def relu(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def exp(self) -> Value: ...
        def log(self) -> Value: ...


# Reverse mode in two passes, as Kahn's algorithm: the first counts each inner node's parents inside the
# graph, the second processes a node once all of its parents have passed their adjoint to it. Both passes
# use an explicit stack, so a graph of any depth works, and both visit inputs in order, so the result is the
# same bit for bit on every run. The count lives in the node (`_n`) rather than in a dict, to keep the hot
# loop free of hashing; it is 0 again when backward() returns or raises.


def _count_parents(root: Value) -> tuple[list[Value], list[float]]:
    """Count parents and reset adjoints of the inner nodes under `root`; collect its leaves.

    Each leaf's gradient is saved and set to 0, so that this pass's contributions can be summed on their
    own and added to the saved value once (exact accumulation). A leaf's `_n` marks it as collected.
    """
    leaves: list[Value] = []
    saved: list[float] = []
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        a: Any = node._a
        b: Any = node._b
        if a._op is None:
            if not a._n:
                a._n = 1
                leaves.append(a)
                saved.append(a.grad)
                a.grad = 0.0
        elif a._n:
            a._n += 1
        else:
            a._n = 1
            a.grad = 0.0
            push(a)
        if b is None:
            continue
        if b._op is None:
            if not b._n:
                b._n = 1
                leaves.append(b)
                saved.append(b.grad)
                b.grad = 0.0
        elif b._n:
            b._n += 1
        else:
            b._n = 1
            b.grad = 0.0
            push(b)
    return leaves, saved


def _propagate(root: Value) -> None:
    """The chain rule, from `root` down: each inner node passes adjoint * local derivative to its inputs."""
    root.grad = 1.0
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        g = node.grad
        if g - g:  # inf - inf and nan - nan are nan: the only non-zero results
            raise OverflowError(f"backward: the gradient reaching {_describe(node)} is {g}")
        a: Any = node._a
        b: Any = node._b
        if b is None:
            a.grad += node._op.derivative(a.data, node.data) * g  # type: ignore[union-attr]
        else:
            da, db = node._op.derivative(a.data, b.data, node.data)  # type: ignore[union-attr]
            a.grad += da * g
            b.grad += db * g
            if b._op is not None:
                b._n -= 1
                if not b._n:
                    push(b)
        if a._op is not None:
            a._n -= 1
            if not a._n:
                push(a)


def _all_nodes(root: Value) -> list[Value]:
    """Every node `root` depends on, itself included (each once)."""
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in (node._a, node._b):
            if child is not None and child not in seen:
                seen.add(child)
                stack.append(child)
    return list(seen)


def _checked_leaf_grad(leaf: Value, grad: float) -> float:
    if not _isfinite(grad):
        raise OverflowError(f"backward: the gradient of {leaf!r} overflowed to {grad}")
    return grad


def _describe(node: Value) -> str:
    op = node._op
    return f"the output of {op.name if op else 'a leaf'} (data={node.data!r})"


# --------------------------------------------------------------------------------------------------------
# Checking inputs
# --------------------------------------------------------------------------------------------------------


def _as_float(x: object, who: str) -> float:
    """`x` as a finite float, or a TypeError/ValueError that names `who` and the offending value."""
    if isinstance(x, float):
        f = float(x)
    elif not isinstance(x, bool) and isinstance(x, numbers.Real):
        try:
            f = float(x)
        except OverflowError:
            raise ValueError(f"{who}: {x!r} is too large for a float") from None
    elif isinstance(x, Value):
        raise TypeError(f"{who}: expected a number, got a Value ({x!r}); use the Value itself")
    else:
        raise TypeError(f"{who}: expected a real number, got {x!r} of type {type(x).__name__}")
    if not _isfinite(f):
        raise ValueError(f"{who}: expected a finite number, got {f}")
    return f


def _lift(x: object, op: Op) -> Value:
    """A number operand as a constant leaf; anything else is refused so Python can try the other side."""
    if isinstance(x, Value):
        return x
    if not isinstance(x, bool) and isinstance(x, numbers.Real):
        return Value(_as_float(x, f"{op.name}: operand"))
    raise _Refused


class _Refused(Exception):
    """Internal: the other operand is not a number, so the operator returns NotImplemented."""


def _operand(x: float) -> str:
    return f"({x!r})" if x < 0 else repr(x)


def _domain_error(op: Op, args: tuple[float, ...], i: int) -> DomainError:
    domain = op.domains()[i]
    if op.values:
        shown = f"{_operand(args[0])} {op.symbol} {_operand(op.values[0])}"
    elif op.symbol and op.arity == 2:
        shown = f"{_operand(args[0])} {op.symbol} {_operand(args[1])}"
    else:
        shown = f"{op.name}({', '.join(map(repr, args))})"
    which = ("the base", "the exponent") if op.symbol == "**" else ("the left operand", "the right operand")
    subject = "the argument" if op.arity == 1 and op.symbol != "**" else which[i]
    return DomainError(f"{op.name}: {shown} is undefined here: {subject} must be {domain}")


def _overflow(op: Op, args: tuple[float, ...]) -> OverflowError:
    shown = ", ".join(map(repr, args))
    extra = f" with p={op.values[0]!r}" if op.values else ""
    return OverflowError(f"{op.name}({shown}){extra} overflows: the result is too large for a float")


# --------------------------------------------------------------------------------------------------------
# Methods generated from the op table
# --------------------------------------------------------------------------------------------------------


def _unary_method(op: Op) -> Callable[[Value], Value]:
    f = op.forward
    (domain,) = op.domains()
    check = not domain.is_real_line

    def method(self: Value) -> Value:
        x = self.data
        if check and x not in domain:
            raise _domain_error(op, (x,), 0)
        try:
            y = f(x)
        except OverflowError:
            raise _overflow(op, (x,)) from None
        if y - y:
            raise _overflow(op, (x,))
        out = _new(Value)
        out.data = y
        out.grad = 0.0
        out._a = self
        out._b = None
        out._op = op
        out._n = 0
        out.label = ""
        return out

    method.__name__ = op.method
    method.__doc__ = f"{op.doc} (op {op.name!r})"
    method.op = op  # type: ignore[attr-defined]
    return method


def _binary_method(op: Op) -> tuple[Callable[[Value, Any], Any], Callable[[Value, Any], Any]]:
    """`x OP y` and its reflected form `2 OP x`, for a binary op."""
    f = op.forward
    domain_a, domain_b = op.domains()
    checked = not (domain_a.is_real_line and domain_b.is_real_line)

    def method(self: Value, other: Any) -> Any:
        # The engine's hot path: written out in full rather than calling a helper, which costs a call.
        if other.__class__ is not Value:
            try:
                other = _lift(other, op)
            except _Refused:
                return NotImplemented
        x = self.data
        y = other.data
        if checked:
            _check_domains(op, x, y, domain_a, domain_b)
        try:
            z = f(x, y)
        except OverflowError:
            raise _overflow(op, (x, y)) from None
        if z - z:
            raise _overflow(op, (x, y))
        out = _new(Value)
        out.data = z
        out.grad = 0.0
        out._a = self
        out._b = other
        out._op = op
        out._n = 0
        out.label = ""
        return out

    def reflected(self: Value, other: Any) -> Any:
        # other OP self, with other a number: `2 - x` is sub(2, x).
        try:
            other = _lift(other, op)
        except _Refused:
            return NotImplemented
        return method(other, self)

    method.__name__ = op.method
    reflected.__name__ = op.method.replace("__", "__r", 1)
    method.__doc__ = f"{op.doc} (op {op.name!r})"
    reflected.__doc__ = f"{op.doc}, with the number on the left (op {op.name!r})"
    method.op = reflected.op = op  # type: ignore[attr-defined]
    return method, reflected


def _check_domains(op: Op, x: float, y: float, domain_a: Domain, domain_b: Domain) -> None:
    if x not in domain_a:
        raise _domain_error(op, (x, y), 0)
    if y not in domain_b:
        raise _domain_error(op, (x, y), 1)


def _power_methods(table: Mapping[str, Op]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """`x ** p` with a number p is the op family `pow`; `x ** y` and `p ** x` with a Value are `powv`."""
    powv, powv_reflected = _binary_method(table["powv"])
    family = table["pow"]

    @functools.lru_cache(maxsize=256)
    def power(p: float) -> Callable[[Value], Value]:
        return _unary_method(family.bind(p))

    def __pow__(self: Value, other: Any) -> Any:
        if isinstance(other, Value):
            return powv(self, other)
        if not isinstance(other, bool) and isinstance(other, numbers.Real):
            return power(_as_float(other, "pow: exponent"))(self)
        return NotImplemented

    __pow__.__doc__ = f"{family.doc}, or {table['powv'].doc}"
    __pow__.ops = (family, table["powv"])  # type: ignore[attr-defined]
    powv_reflected.__doc__ = "p ** x for a number p > 0 (op 'powv', reflected)"
    return __pow__, powv_reflected


def _install_ops(table: Mapping[str, Op]) -> None:
    """Give `Value` a method (and, for a binary operator, its reflected form) for every op in `table`."""
    for op in table.values():
        if op.method == "__pow__":
            continue
        if op.arity == 1:
            setattr(Value, op.method, _unary_method(op))
        else:
            method, reflected = _binary_method(op)
            setattr(Value, method.__name__, method)
            setattr(Value, reflected.__name__, reflected)
    Value.__pow__, Value.__rpow__ = _power_methods(table)  # type: ignore[method-assign]


_install_ops(OPS)
