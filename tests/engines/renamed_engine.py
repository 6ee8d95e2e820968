"""A correct engine with another API: class Scalar, .value, .gradient, .backprop(), and the root's gradient must
be seeded by hand; it has tanh, relu, sigmoid, exp, log and Scalar ** Scalar."""

import math


class Scalar:
    def __init__(self, value, parents=(), local=()):
        self.value = float(value)
        self.gradient = 0.0
        self.parents = parents
        self.local = local  # d self / d parent, per parent

    @staticmethod
    def _lift(x):
        return x if isinstance(x, Scalar) else Scalar(x)

    def __add__(self, other):
        other = self._lift(other)
        return Scalar(self.value + other.value, (self, other), (1.0, 1.0))

    def __radd__(self, other):
        return self._lift(other) + self

    def __sub__(self, other):
        other = self._lift(other)
        return Scalar(self.value - other.value, (self, other), (1.0, -1.0))

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        other = self._lift(other)
        return Scalar(self.value * other.value, (self, other), (other.value, self.value))

    def __rmul__(self, other):
        return self._lift(other) * self

    def __truediv__(self, other):
        other = self._lift(other)
        q = self.value / other.value
        return Scalar(q, (self, other), (1.0 / other.value, -q / other.value))

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __neg__(self):
        return Scalar(-self.value, (self,), (-1.0,))

    def __pow__(self, other):
        if isinstance(other, Scalar):
            v = self.value**other.value
            return Scalar(v, (self, other), (other.value * v / self.value, v * math.log(self.value)))
        v = self.value**other
        return Scalar(v, (self,), (other * self.value ** (other - 1) if other != 0 else 0.0,))

    def __rpow__(self, other):
        return self._lift(other) ** self

    def tanh(self):
        t = math.tanh(self.value)
        return Scalar(t, (self,), (1 - t * t,))

    def relu(self):
        return Scalar(max(self.value, 0.0), (self,), (1.0 if self.value > 0 else 0.0,))

    def sigmoid(self):
        x = self.value
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        return Scalar(s, (self,), (s * (1 - s),))

    def exp(self):
        e = math.exp(self.value)
        return Scalar(e, (self,), (e,))

    def log(self):
        return Scalar(math.log(self.value), (self,), (1.0 / self.value,))

    def backprop(self):
        # The caller sets self.gradient = 1.0 first. Nodes in reverse topological order, iteratively.
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents)
        for node in reversed(order):
            for parent, d in zip(node.parents, node.local):
                parent.gradient += d * node.gradient
