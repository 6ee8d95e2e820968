"""A Scalar whose constructor asserts that an op's parents are distinct (so `x + x` is refused on purpose:
a limit, not a defect), and whose backward() recurses once per path, pushing whatever gradient has arrived:
a node shared by two paths is counted twice. Numbers are refused on either side (assert)."""

class Scalar:
    def __init__(self, value, parents=(), op=''):
        self.value = value
        self.grad = 0
        assert len(parents) == len(set(parents))
        self.parents = parents
        self.op = op

    def __add__(self, b):
        assert isinstance(b, Scalar)
        return Scalar(self.value + b.value, (self, b), '+')

    def __mul__(self, b):
        assert isinstance(b, Scalar)
        return Scalar(self.value * b.value, (self, b), '*')

    def relu(self):
        return Scalar(max(0, self.value), (self,), 'relu')

    def backward(self, internal=False):
        if not internal:
            self.grad = 1
        if self.op == '*':
            self.parents[0].grad += self.parents[1].value * self.grad
            self.parents[1].grad += self.parents[0].value * self.grad
        elif self.op == '+':
            self.parents[0].grad += self.grad
            self.parents[1].grad += self.grad
        elif self.op == 'relu':
            self.parents[0].grad += int(self.parents[0].value > 0) * self.grad
        for p in self.parents:
            p.backward(True)
