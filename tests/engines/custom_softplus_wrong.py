"""An engine with the usual ops plus two custom activations, softplus and silu. silu is right; softplus has
the right value but its derivative was written as `1 / (1 + exp(x))` (that is sigmoid(-x), a sign slip; the
derivative of log(1 + e^x) is sigmoid(x)). Declare them with softplus(x)=log(1 + exp(x)) and
silu(x)=x * sigmoid(x). Everything else is right."""

import math


class Value:
    def __init__(self, data, children=()):
        self.data = float(data)
        self.grad = 0.0
        self.children = children
        self.grad_fn = lambda: None

    def _node(self, data, children, grad_fn_maker):
        out = Value(data, children)
        out.grad_fn = grad_fn_maker(out)
        return out

    @staticmethod
    def lift(v):
        return v if isinstance(v, Value) else Value(v)

    def __add__(self, other):
        other = Value.lift(other)

        def mk(out):
            def fn():
                self.grad += out.grad
                other.grad += out.grad

            return fn

        return self._node(self.data + other.data, (self, other), mk)

    def __mul__(self, other):
        other = Value.lift(other)

        def mk(out):
            def fn():
                self.grad += other.data * out.grad
                other.grad += self.data * out.grad

            return fn

        return self._node(self.data * other.data, (self, other), mk)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Value.lift(other))

    def __rsub__(self, other):
        return Value.lift(other) + (-self)

    def _unary(self, value, local):
        def mk(out):
            def fn():
                self.grad += local * out.grad

            return fn

        return self._node(value, (self,), mk)

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1 - t**2)

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e)

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data)) if self.data >= 0 else math.exp(self.data) / (1 + math.exp(self.data))
        return self._unary(s, s * (1 - s))

    def softplus(self):
        x = self.data
        return self._unary(math.log1p(math.exp(x)) if x < 30 else x, 1 / (1 + math.exp(x)))  # bug: sigmoid(-x)

    def silu(self):
        x = self.data
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        return self._unary(x * s, s + x * s * (1 - s))

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                order.append(v)
            elif v not in seen:
                seen.add(v)
                stack.append((v, True))
                stack.extend((c, False) for c in v.children)
        self.grad = 1.0
        for v in reversed(order):
            v.grad_fn()
