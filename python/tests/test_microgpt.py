"""What karpathy's microgpt asks of Value: log, and _children with _local_grads.

His file runs on this package with its ``class Value`` replaced by
``from micrograd.engine import Value`` (its loss trace equal to his to 8.9e-16
over 100 steps: tools/microgpt_compare.py, BENCHMARKS.md). These tests check the pieces it leans on
against finite differences, without his file.
"""

import math
import random

from micrograd import nn
from micrograd.engine import Value


def softmax(logits):
    m = max(v.data for v in logits)
    exps = [(v - m).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    return [xi * (ms + 1e-5) ** -0.5 for xi in x]


def nll(xs, target):
    """microgpt's loss on one position: rmsnorm, relu, softmax, -log p."""
    h = [xi.relu() + 0.5 * xi for xi in rmsnorm(xs)]
    return -softmax(h)[target].log()


def his_backward(root):
    """microgpt's backward, run from outside: a topological order of
    ``_children``, then ``child.grad += local_grad * v.grad`` on every edge."""
    topo, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            topo.append(v)
        elif v not in seen:
            seen.add(v)
            stack.append((v, True))
            stack.extend((c, False) for c in v._children)
    for v in topo:
        v.grad = 0
    root.grad = 1
    for v in reversed(topo):
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad += local_grad * v.grad


def test_microgpts_pieces_match_finite_differences():
    x0 = [0.3, -1.2, 0.8, 2.0]
    xs = [Value(x) for x in x0]
    loss = nll(xs, 2)
    loss.backward()
    h = 1e-6
    for i in range(len(x0)):
        up = [x + h * (k == i) for k, x in enumerate(x0)]
        down = [x - h * (k == i) for k, x in enumerate(x0)]
        num = (nll([Value(x) for x in up], 2).data - nll([Value(x) for x in down], 2).data) / (2 * h)
        assert abs(xs[i].grad - num) < 1e-6, (i, xs[i].grad, num)


def test_his_backward_over_children_and_local_grads_gives_ours():
    xs = [Value(x) for x in [0.3, -1.2, 0.8, 2.0]]
    loss = nll(xs, 1) * (xs[0] ** xs[3])  # a Value exponent too
    loss.backward()
    ours = [x.grad for x in xs]
    his_backward(loss)
    assert all(math.isclose(a, b.grad, rel_tol=1e-12) for a, b in zip(ours, xs))


def test_local_grads_of_each_op():
    a, b = Value(2.0), Value(-3.0)
    assert (a * b)._local_grads == (-3.0, 2.0)
    assert (a + b)._local_grads == (1.0, 1.0)
    assert (a**3)._local_grads == (12.0,)
    assert a.log()._local_grads == (0.5,)
    assert a.exp()._local_grads == (math.exp(2.0),)
    assert b.relu()._local_grads == (0.0,) and a.relu()._local_grads == (1.0,)
    assert a._local_grads == () and Value(1.0, (a, b), "+")._local_grads == ()


def test_a_neurons_shown_chain_has_local_grads():
    random.seed(2)
    n = nn.Neuron(2, nonlin=False)
    y = n([1.5, -0.5])
    assert y._local_grads == (1.0, 1.0)
    first, prod = y._children
    w, x = prod._children
    assert prod._local_grads == (x.data, w.data) and first._local_grads == (1.0, 1.0)
