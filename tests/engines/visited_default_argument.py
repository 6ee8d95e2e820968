"""backward() walks the graph with a generator whose `seen=set()` default argument is created once and shared
by every call: a second backward() on a new root that shares a node with an earlier graph stops at that node.
One backward() on a fresh graph is right."""

class Value:
    def __init__(self, data, children=()):
        self.data = data
        self.children = children
        self.grad = 0
        self.step = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))
        def step():
            self.grad += out.grad
            other.grad += out.grad
        out.step = step
        return out
    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))
        def step():
            self.grad += out.grad * other.data
            other.grad += out.grad * self.data
        out.step = step
        return out
    __rmul__ = __mul__

    @staticmethod
    def _walk(v, seen=set()):
        for c in v.children:
            if c not in seen:
                seen.add(c)
                yield from Value._walk(c)
        yield v

    def backward(self):
        self.grad = 1
        for v in reversed(list(Value._walk(self))):
            v.step()
