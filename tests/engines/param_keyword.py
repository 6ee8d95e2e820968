"""A correct engine whose inputs opt in with a keyword of the author's own: `Var(x, param=True)` (default
False); backward() only follows nodes that lead to a parameter. gradverify must find the switch itself."""

import math


class Var:
    def __init__(self, value, parents=(), param=False):
        self.value = float(value)
        self.grad = 0.0
        self.parents = parents  # (node, local derivative) pairs
        self.param = param or any(p.param for p, _ in parents)

    @staticmethod
    def lift(x):
        return x if isinstance(x, Var) else Var(x)

    def __add__(self, other):
        other = Var.lift(other)
        return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))

    def __mul__(self, other):
        other = Var.lift(other)
        return Var(self.value * other.value, ((self, other.value), (other, self.value)))

    def __sub__(self, other):
        other = Var.lift(other)
        return Var(self.value - other.value, ((self, 1.0), (other, -1.0)))

    def tanh(self):
        t = math.tanh(self.value)
        return Var(t, ((self, 1 - t * t),))

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen and node.param:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p, _ in node.parents)
        self.grad = 1.0
        for node in reversed(order):
            for p, d in node.parents:
                if p.param:
                    p.grad += d * node.grad
