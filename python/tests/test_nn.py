"""micrograd.nn: karpathy's classes, his demo's numbers, and memory that stays flat."""

import json
import os
import random

import sys

import pytest

from micrograd.engine import Value, stats
from micrograd.nn import MLP, Layer, Module, Neuron

from graphs import trace

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


# An MLP of plain layers runs its whole forward in one call; the nodes below
# its outputs become Python objects when _prev asks for them. A neuron is one
# fused node, shown as karpathy's chain: ((b + w0*x0) + w1*x1) + ...


class PlainLayer(Layer):
    """A subclass: MLP.__call__ then goes layer by layer, one object per node."""


def layer_by_layer(model):
    """A model with the same parameter objects whose forward goes layer by layer."""
    twin = MLP.__new__(MLP)
    twin.layers = []
    for layer in model.layers:
        t = PlainLayer.__new__(PlainLayer)
        t.neurons = layer.neurons
        twin.layers.append(t)
    return twin




def unfused(v):
    """(w, x, b) of a neuron's sum, read off the chain of + and * it shows."""
    ws, xs = [], []
    while v._op == "+":
        v, prod = v._children
        w, x = prod._children
        ws.insert(0, w)
        xs.insert(0, x)
    return ws, xs, v


def summary(root):
    nodes, edges = trace(root)
    shown = sorted((v._op, v.data, v.grad, len(v._prev)) for v in nodes)
    return len(nodes), len(edges), shown


def test_a_whole_mlp_gives_the_graph_and_numbers_of_layer_by_layer():
    random.seed(3)
    model = MLP(3, [4, 4, 1])
    x = [Value(0.5), Value(-1.5), 2.0]
    out = model(x)
    slow = layer_by_layer(model)(x)
    assert out._op == "+" and out.data == slow.data
    (out * out).backward()
    fused = summary(out)
    for p in model.parameters():
        p.grad = 0.0
    (slow * slow).backward()
    assert fused == summary(slow)
    # parameters, inputs (one leaf made for 2.0), and per neuron karpathy's
    # nodes: a product and a sum per input, and a ReLU if hidden
    ops = sum(2 * len(n.w) + n.nonlin for layer in model.layers for n in layer.neurons)
    assert fused[0] == len(model.parameters()) + 3 + ops


def test_a_whole_mlp_hands_back_the_very_objects():
    random.seed(4)
    model = MLP(2, [3, 3, 1])
    x = [Value(1.0), Value(-2.0)]
    out = model(x)
    last = model.layers[-1].neurons[0]
    ws, hidden, b = unfused(out)
    assert ws == last.w and all(a is b for a, b in zip(ws, last.w))
    assert b is last.b
    assert [h._op for h in hidden] == ["ReLU"] * 3
    assert unfused(out)[1][0] is hidden[0]  # asked again: the same objects
    # every neuron of the second layer reads the same first-layer objects
    firsts = [unfused(h._children[0])[1] for h in hidden]
    assert all(a is b for f in firsts[1:] for a, b in zip(f, firsts[0]))
    inner = firsts[0][0]._children[0]
    assert inner._op == "+" and unfused(inner)[1][0] is x[0] and unfused(inner)[1][1] is x[1]


def test_an_input_that_holds_is_kept_by_the_layers():
    # an op name given by hand is not on the tape: the layers' values hold
    # such an input, so walking the graph still finds it after Python drops it
    random.seed(4)
    model = MLP(2, [3, 1])
    x = [Value(1.0, _op="in"), -2.0]
    out = model(x)
    del x
    assert "in" in {v._op for v in trace(out)[0]}
    assert out.data == layer_by_layer(model)([1.0, -2.0]).data


def test_an_inner_object_outlives_its_output_and_all_are_freed():
    random.seed(5)
    model = MLP(2, [3, 3, 1])
    model([0.0, 0.0])  # the model's parameters are now remembered (a later call evicts none)
    before = stats()["values"]
    out = model([1.0, 2.0])
    out.backward()
    affine = unfused(out)[1][0]._children[0]
    numbers = [(v._op, v.data, v.grad) for v in affine._children]
    del out  # the output and the ReLU above `affine` go; `affine` stays
    assert [(v._op, v.data, v.grad) for v in affine._children] == numbers
    assert stats()["values"] > before
    del affine
    assert stats()["values"] == before  # every object made for the call is freed


def test_a_whole_mlp_sees_parameters_changed_between_calls():
    random.seed(6)
    model = MLP(2, [2, 1])
    x = [0.5, -0.25]

    def by_hand():
        h = [sum((w.data * xi for w, xi in zip(n.w, x)), n.b.data) for n in model.layers[0].neurons]
        h = [max(0.0, v) if n.nonlin else v for v, n in zip(h, model.layers[0].neurons)]
        last = model.layers[1].neurons[0]
        return sum((w.data * hi for w, hi in zip(last.w, h)), last.b.data)

    old = model(x)
    old_w = model.layers[1].neurons[0].w[0]
    model.layers[1].neurons[0].w[0] = Value(5.0)  # a weight replaced
    model.layers[0].neurons[1].b = Value(3.0)  # a bias replaced
    model.layers[0].neurons[0].nonlin = False  # an activation turned off
    new = model(x)
    assert abs(new.data - by_hand()) < 1e-15
    assert unfused(old)[0][0] is old_w and unfused(new)[0][0] is model.layers[1].neurons[0].w[0]
    model.layers[0].neurons[0].w.append(Value(1.0))  # three weights on two inputs: refused as before
    with pytest.raises(ValueError, match="the layer takes 3 inputs, got 2"):
        model(x)


def test_a_whole_mlp_with_many_outputs_and_bad_input():
    random.seed(7)
    model = MLP(2, [3, 2])
    out = model([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 2 and all(o._op == "+" for o in out)
    assert unfused(out[0])[1][0] is unfused(out[1])[1][0]  # the hidden layer, shared
    assert [o.data for o in model(v for v in [1.0, 2.0])] == [o.data for o in out]  # any iterable
    with pytest.raises(ValueError, match="the layer takes 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="a layer's input: expected a number"):
        model(["x", 1.0])


def test_parameters_are_the_neurons_own_objects_in_karpathys_order():
    random.seed(8)
    model = MLP(2, [3, 2])
    expected = [p for layer in model.layers for n in layer.neurons for p in n.w + [n.b]]
    got = model.parameters()
    assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected))
    got.append(Value(0.0))  # a new list at each call
    assert len(model.parameters()) == len(expected)
    model.layers[0].neurons[1].b = Value(9.0)  # seen at once
    assert model.parameters()[5] is model.layers[0].neurons[1].b
    slow = SlowMLP(2, [3, 2])  # subclassed neurons: each layer is asked
    assert len(slow.parameters()) == len(expected)


def test_zero_grad_sets_every_parameter_even_one_that_is_not_a_value():
    class Knob:  # a parameter of the user's own kind
        grad = 5.0

    class Mixed(Module):
        def __init__(self):
            self.v, self.k = Value(1.0), Knob()

        def parameters(self):
            return [self.v, self.k]

    m = Mixed()
    m.v.grad = 3.0
    m.zero_grad()
    assert m.v.grad == 0 and m.k.grad == 0
    model = MLP(2, [2, 1])
    for p in model.parameters():
        p.grad = 1.0
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())
