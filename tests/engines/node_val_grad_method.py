"""A correct engine with an unusual API: class Node, the value in `.val`, the gradient read through a method
`grad()` (stored in `_g`), and reverse mode started with `backward_pass()`. Closures capture the output node.
Has + - * / with numbers either side, neg, ** number, tanh, sigmoid, exp, log."""

import math


class Node:
    def __init__(self, val, parents=()):
        self.val = float(val)
        self._g = 0.0
        self._parents = parents
        self._prop = lambda: None

    def grad(self):
        return self._g

    @staticmethod
    def _n(x):
        return x if isinstance(x, Node) else Node(x)

    def __add__(self, other):
        other = self._n(other)
        out = Node(self.val + other.val, (self, other))

        def prop():
            self._g += out._g
            other._g += out._g

        out._prop = prop
        return out

    def __radd__(self, other):
        return self._n(other) + self

    def __sub__(self, other):
        other = self._n(other)
        out = Node(self.val - other.val, (self, other))

        def prop():
            self._g += out._g
            other._g -= out._g

        out._prop = prop
        return out

    def __rsub__(self, other):
        return self._n(other) - self

    def __mul__(self, other):
        other = self._n(other)
        out = Node(self.val * other.val, (self, other))

        def prop():
            self._g += other.val * out._g
            other._g += self.val * out._g

        out._prop = prop
        return out

    def __rmul__(self, other):
        return self._n(other) * self

    def __truediv__(self, other):
        other = self._n(other)
        out = Node(self.val / other.val, (self, other))

        def prop():
            self._g += out._g / other.val
            other._g -= out._g * self.val / (other.val * other.val)

        out._prop = prop
        return out

    def __rtruediv__(self, other):
        return self._n(other) / self

    def __neg__(self):
        return self * -1.0

    def __pow__(self, k):
        assert isinstance(k, (int, float))
        out = Node(self.val**k, (self,))

        def prop():
            self._g += k * self.val ** (k - 1) * out._g

        out._prop = prop
        return out

    def _unary(self, val, local):
        out = Node(val, (self,))

        def prop():
            self._g += local * out._g

        out._prop = prop
        return out

    def tanh(self):
        t = math.tanh(self.val)
        return self._unary(t, 1 - t * t)

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(self.val / 2))
        return self._unary(s, s * (1 - s))

    def exp(self):
        e = math.exp(self.val)
        return self._unary(e, e)

    def log(self):
        return self._unary(math.log(self.val), 1 / self.val)

    def backward_pass(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            n, done = stack.pop()
            if done:
                order.append(n)
            elif n not in seen:
                seen.add(n)
                stack.append((n, True))
                stack.extend((p, False) for p in n._parents)
        self._g = 1.0
        for n in reversed(order):
            n._prop()
