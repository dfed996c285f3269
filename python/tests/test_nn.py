"""micrograd.nn: karpathy's classes, his demo's numbers, and memory that stays flat."""

import json
import os
import random

import sys

import pytest

from micrograd.engine import Value, stats
from micrograd.nn import MLP, Layer, Neuron

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from python_speed import demo as run_demo  # noqa: E402  (the notebook's cell, written once)

REF = os.path.join(os.path.dirname(__file__), "data", "demo_reference.json")


def test_reprs_and_parameters_are_karpathys():
    random.seed(0)
    m = MLP(2, [3, 1])
    assert repr(m) == (
        "MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ReLUNeuron(2)], Layer of [LinearNeuron(3)]]"
    )
    assert len(m.parameters()) == 3 * 3 + 4
    assert repr(Neuron(4, nonlin=False)) == "LinearNeuron(4)"
    for p in m.parameters():
        p.grad = 1.0
    m.zero_grad()
    assert all(p.grad == 0 for p in m.parameters())


def test_a_layer_computes_what_the_scalar_ops_compute():
    random.seed(1)
    layer = Layer(3, 4)
    x = [Value(0.5), Value(-1.5), 2.0]
    out = layer(x)
    for n, o in zip(layer.neurons, out):
        act = sum((wi * xi for wi, xi in zip(n.w, x)), n.b)
        assert abs(o.data - act.relu().data) < 1e-15
    loss = sum(out)
    loss.backward()
    # d loss / d w_ij = x_j where the neuron is active
    for n, o in zip(layer.neurons, out):
        active = 1.0 if o.data > 0 else 0.0
        assert [w.grad for w in n.w] == [active * 0.5, active * -1.5, active * 2.0]
    assert x[0].grad == sum(n.w[0].data for n, o in zip(layer.neurons, out) if o.data > 0)


def test_a_layer_refuses_the_wrong_number_of_inputs():
    with pytest.raises(ValueError, match="the layer takes 2 inputs, got 3"):
        Layer(2, 2)([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="a layer's input: expected a number"):
        Layer(1, 1)(["x"])


class SlowNeuron(Neuron):
    """karpathy's Neuron.__call__, op by op in Python: subclassing works."""

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act


class SlowMLP(MLP):
    """karpathy's MLP with his neurons: the same weights, drawn in the same order."""

    def __init__(self, nin, nouts):
        super().__init__(nin, nouts)
        for layer in self.layers:
            for n in layer.neurons:
                n.__class__ = SlowNeuron


def demo(model, X, y, steps):
    """demo.ipynb's training cell; the per-step loss and accuracy."""
    trace = []
    run_demo(Value, model, X, y, steps, lambda k, loss, acc: trace.append((loss, acc)))
    return trace


@pytest.fixture(scope="module")
def ref():
    with open(REF) as f:
        return json.load(f)


def test_random_seed_gives_karpathys_initial_weights(ref):
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    assert [p.data for p in model.parameters()] == ref["initial_parameters"]


@pytest.mark.parametrize("model_class, steps", [(MLP, 100), (SlowMLP, 10)])
def test_the_demo_reproduces_micrograds_loss_trace(ref, model_class, steps):
    random.seed(1337)
    model = model_class(2, [16, 16, 1])
    trace = demo(model, ref["X"], ref["y"], steps)
    for k, (loss, acc) in enumerate(trace):
        assert abs(loss - ref["loss"][k]) <= 1e-12, (k, loss, ref["loss"][k])
        assert acc == ref["accuracy"][k]
    if steps == 100:
        final = [p.data for p in model.parameters()]
        assert max(abs(a - b) for a, b in zip(final, ref["final_parameters"])) <= 1e-12


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.parametrize("model_class", [MLP, SlowMLP])
def test_ten_thousand_steps_without_a_scope_run_in_flat_memory(model_class):
    random.seed(2)
    model = model_class(2, [8, 1])
    X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    y = [1, 1, -1, -1]
    demo(model, X, y, 500)  # let allocations settle
    nodes, rss = [], []
    for _ in range(20):
        demo(model, X, y, 500)
        nodes.append(stats()["nodes"])
        rss.append(rss_mib())
    # the tape never holds much more than a compaction's margin, however long the loop
    assert max(nodes) < 2 * 2**18 + 10_000, nodes
    assert rss[-1] - rss[0] < 8, rss
    assert stats()["values"] < 1000
