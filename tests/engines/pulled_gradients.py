"""A correct reverse-mode engine with no backward(): each node records its consumers with the local
derivative, and `x.grad()` pulls the gradient on demand (summing over consumers, cached). tanh is a module
function."""

import math
class Node:
    def __init__(self, val):
        self.val = val
        self.children = []      # (local derivative, consumer)
        self.der = None
    def grad(self):
        if not self.children:
            return 1.0
        if self.der is None:
            self.der = sum(w * c.grad() for w, c in self.children)
        return self.der
    def _wrap(self, o):
        return o if isinstance(o, Node) else Node(o)
    def __add__(self, o):
        o = self._wrap(o); z = Node(self.val + o.val)
        self.children.append((1.0, z)); o.children.append((1.0, z)); return z
    __radd__ = __add__
    def __mul__(self, o):
        o = self._wrap(o); z = Node(self.val * o.val)
        self.children.append((o.val, z)); o.children.append((self.val, z)); return z
    __rmul__ = __mul__
def tanh(x):
    z = Node(math.tanh(x.val)); x.children.append((1 - math.tanh(x.val) ** 2, z)); return z
