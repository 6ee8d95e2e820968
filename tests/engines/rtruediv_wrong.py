"""A Var engine whose __rtruediv__ was pasted from __truediv__ without swapping the operands: `2 / x` computes
x / 2. Also has __rsub__, __rpow__, tanh, sigmoid, exp and log, all right. Gradients live in `.grad`, values
in `.val`, and backward() is a method; the graph is walked with an explicit stack."""

import math


class Var:
    def __init__(self, val, parents=()):
        self.val = float(val)
        self.grad = 0.0
        self.parents = parents
        self.backward_fn = None

    @staticmethod
    def of(x):
        return x if isinstance(x, Var) else Var(x)

    def _node(self, val, parents, fn):
        out = Var(val, parents)
        out.backward_fn = fn
        return out

    def __add__(self, o):
        o = Var.of(o)
        return self._node(self.val + o.val, (self, o), lambda g: [(self, g), (o, g)])

    def __radd__(self, o):
        return Var.of(o) + self

    def __sub__(self, o):
        o = Var.of(o)
        return self._node(self.val - o.val, (self, o), lambda g: [(self, g), (o, -g)])

    def __rsub__(self, o):
        return Var.of(o) - self

    def __mul__(self, o):
        o = Var.of(o)
        return self._node(self.val * o.val, (self, o), lambda g: [(self, g * o.val), (o, g * self.val)])

    def __rmul__(self, o):
        return Var.of(o) * self

    def __truediv__(self, o):
        o = Var.of(o)
        q = self.val / o.val
        return self._node(q, (self, o), lambda g: [(self, g / o.val), (o, -g * q / o.val)])

    def __rtruediv__(self, o):
        o = Var.of(o)
        q = self.val / o.val  # bug: operands not swapped
        return self._node(q, (self, o), lambda g: [(self, g / o.val), (o, -g * q / o.val)])

    def __neg__(self):
        return self._node(-self.val, (self,), lambda g: [(self, -g)])

    def __pow__(self, p):
        assert isinstance(p, (int, float)), "number exponents only"
        return self._node(self.val**p, (self,), lambda g: [(self, g * p * self.val ** (p - 1))])

    def __rpow__(self, c):
        v = c**self.val
        return self._node(v, (self,), lambda g: [(self, g * v * math.log(c))])

    def tanh(self):
        t = math.tanh(self.val)
        return self._node(t, (self,), lambda g: [(self, g * (1 - t * t))])

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.val)) if self.val > -500 else 0.0
        return self._node(s, (self,), lambda g: [(self, g * s * (1 - s))])

    def exp(self):
        e = math.exp(self.val)
        return self._node(e, (self,), lambda g: [(self, g * e)])

    def log(self):
        return self._node(math.log(self.val), (self,), lambda g: [(self, g / self.val)])

    def backward(self):
        order, seen, stack = [], set(), [(self, 0)]
        while stack:
            v, i = stack.pop()
            if i < len(v.parents):
                stack.append((v, i + 1))
                p = v.parents[i]
                if p not in seen:
                    seen.add(p)
                    stack.append((p, 0))
            else:
                order.append(v)
        self.grad = 1.0
        for v in reversed(order):
            if v.backward_fn:
                for p, g in v.backward_fn(v.grad):
                    p.grad += g
