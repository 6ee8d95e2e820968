"""A correct engine with PyTorch-ish names: gradients in `.gradient`, reverse mode via `backprop()` (which seeds
the root itself), values in `.value`, and closures stored as `_grad_fn`. relu, tanh, sigmoid, exp, log, and
Value ** Value and 2 ** x next to number powers; numbers on both sides."""

import math


class Value:
    def __init__(self, value, parents=()):
        self.value = float(value)
        self.gradient = 0.0
        self.parents = parents
        self._grad_fn = None

    @classmethod
    def cast(cls, x):
        return x if isinstance(x, cls) else cls(x)

    def _out(self, value, parents, fn):
        out = Value(value, parents)
        out._grad_fn = lambda: fn(out.gradient)
        return out

    def __add__(self, o):
        o = Value.cast(o)

        def fn(g):
            self.gradient += g
            o.gradient += g

        return self._out(self.value + o.value, (self, o), fn)

    def __sub__(self, o):
        o = Value.cast(o)

        def fn(g):
            self.gradient += g
            o.gradient -= g

        return self._out(self.value - o.value, (self, o), fn)

    def __mul__(self, o):
        o = Value.cast(o)

        def fn(g):
            self.gradient += o.value * g
            o.gradient += self.value * g

        return self._out(self.value * o.value, (self, o), fn)

    def __truediv__(self, o):
        o = Value.cast(o)

        def fn(g):
            self.gradient += g / o.value
            o.gradient -= g * self.value / o.value**2

        return self._out(self.value / o.value, (self, o), fn)

    def __pow__(self, o):
        if isinstance(o, Value):
            v = self.value**o.value

            def fn(g):
                self.gradient += o.value * self.value ** (o.value - 1) * g
                o.gradient += v * math.log(self.value) * g

            return self._out(v, (self, o), fn)

        def fn1(g):
            self.gradient += o * self.value ** (o - 1) * g

        return self._out(self.value**o, (self,), fn1)

    def __radd__(self, o):
        return Value.cast(o) + self

    def __rsub__(self, o):
        return Value.cast(o) - self

    def __rmul__(self, o):
        return Value.cast(o) * self

    def __rtruediv__(self, o):
        return Value.cast(o) / self

    def __rpow__(self, o):
        return Value.cast(o) ** self

    def __neg__(self):
        return self * -1

    def _unary(self, value, local):
        def fn(g):
            self.gradient += local * g

        return self._out(value, (self,), fn)

    def relu(self):
        return self._unary(max(self.value, 0.0), float(self.value > 0))

    def tanh(self):
        t = math.tanh(self.value)
        return self._unary(t, 1 - t * t)

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(0.5 * self.value))
        return self._unary(s, s * (1 - s))

    def exp(self):
        e = math.exp(self.value)
        return self._unary(e, e)

    def log(self):
        return self._unary(math.log(self.value), 1 / self.value)

    def backprop(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                order.append(v)
            elif v not in seen:
                seen.add(v)
                stack.append((v, True))
                stack.extend((p, False) for p in v.parents)
        self.gradient = 1.0
        for v in reversed(order):
            if v._grad_fn:
                v._grad_fn()
