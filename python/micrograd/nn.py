"""karpathy's ``micrograd.nn``: ``Module``, ``Neuron``, ``Layer``, ``MLP``.

The same classes, the same ``random.uniform(-1, 1)`` weights drawn in the same
order (so ``random.seed`` gives karpathy's initial weights), the same ``repr``.
One difference: the forward runs in Rust. A neuron is one ``affine`` node
(w·x + b) and one ``ReLU`` node on the tape, instead of a chain of ``*`` and
``+`` nodes built one by one in Python; a layer is one call, and an ``MLP`` of
these classes is one call too, which makes a Python object only for each
output. The nodes below it become objects when ``_prev`` asks for them (the
same object each time while it lives), so walking the graph sees every node,
as before; and the ``affine`` node shows itself as karpathy's chain (its
``_op`` is ``'+'``, its children the previous sum and the last ``wi*xi``,
made when asked for), so a drawing of a neuron is his.
"""

import random

from micrograd import _micrograd
from micrograd.engine import Value


class Module:

    def zero_grad(self):
        ps = self.parameters()
        if not (isinstance(ps, list) and _micrograd.zero_grad(ps)):  # all Values: one call
            for p in ps:
                p.grad = 0

    def parameters(self):
        return []


class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        return _micrograd.layer([self.w], [self.b], x, self.nonlin)[0]

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        ns = self.neurons
        fast = ns and all(type(n) is Neuron and n.nonlin == ns[0].nonlin for n in ns)
        if fast:
            out = _micrograd.layer([n.w for n in ns], [n.b for n in ns], x, ns[0].nonlin)
        else:  # a subclassed or mixed neuron: call each one
            out = [n(x) for n in ns]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        out = _micrograd.mlp(self, x, Layer, Neuron)  # every layer in one call
        if out is None:  # a subclassed layer or neuron: layer by layer
            for layer in self.layers:
                x = layer(x)
            out = x
        return out

    def parameters(self):
        ps = _micrograd.parameters(self, Layer, Neuron)  # the ones the forward checked
        if ps is None:  # a subclassed layer or neuron: ask each layer
            ps = [p for layer in self.layers for p in layer.parameters()]
        return ps

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
