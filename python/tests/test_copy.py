"""copy, deepcopy and pickle of values and networks, as users of karpathy's plain objects expect."""

import copy
import pickle
import random

import pytest

from micrograd.engine import Value
from micrograd.nn import MLP


def test_a_leaf_copies_with_its_number_gradient_and_label():
    a = Value(2.5, label="a")
    a.grad = 0.75
    for b in (copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert b is not a
        assert (b.data, b.grad, b.label, b._op, b._prev) == (2.5, 0.75, "a", "", set())
        b.data = 9.0  # an independent leaf
        assert a.data == 2.5


def test_a_copied_graph_shows_the_same_nodes():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + 1.0).tanh()
    c.backward()
    shallow = copy.copy(c)
    assert shallow._prev == c._prev  # the same child objects, as karpathy's copy
    for d in (copy.deepcopy(c), pickle.loads(pickle.dumps(c))):
        assert (d.data, d.grad, d._op) == (c.data, c.grad, "tanh")
        (n,) = d._prev
        assert n is not next(iter(c._prev))
        assert (n._op, n.data, n.grad) == ("+", -5.0, pytest.approx(1 - c.data**2))
        leaves = {v.label: v for v in (x for m in n._prev for x in m._prev)}
        assert (leaves["a"].data, leaves["a"].grad) == (a.data, a.grad)


def test_shared_nodes_stay_shared_in_a_deep_copy_and_a_pickle():
    a = Value(3.0)
    pair = [a * a, a + 1.0, a]
    for d in (copy.deepcopy(pair), pickle.loads(pickle.dumps(pair))):
        (x,) = d[0]._prev  # a * a: one child, the shared a
        assert x is d[2]
        assert next(v for v in d[1]._prev if v.data == 3.0) is d[2]


def test_an_mlp_deep_copies_and_pickles_to_the_same_predictions():
    random.seed(1)
    model = MLP(3, [4, 4, 1])
    x = [0.5, -1.0, 2.0]
    y = model(x)
    y.backward()
    for m in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert type(m) is MLP and repr(m) == repr(model)
        ps, qs = model.parameters(), m.parameters()
        assert [p.data for p in ps] == [q.data for q in qs]
        assert [p.grad for p in ps] == [q.grad for q in qs]
        assert not any(p is q for p, q in zip(ps, qs))
        assert m(x).data == y.data
        # the copy trains on its own
        m.zero_grad()
        m(x).backward()
        for q in m.parameters():
            q.data -= 0.1 * q.grad
        assert m(x).data != y.data and model(x).data == y.data


def test_a_copy_of_an_mlp_snapshot_keeps_the_old_weights():
    random.seed(2)
    model = MLP(2, [3, 1])
    best = copy.deepcopy(model)
    for p in model.parameters():
        p.data += 1.0
    assert [p.data + 1.0 for p in best.parameters()] == [p.data for p in model.parameters()]


def test_an_int_too_large_for_a_float_says_so():
    with pytest.raises(OverflowError, match="does not fit a float"):
        Value(10**400)
    v = Value(1.0)
    with pytest.raises(OverflowError, match="does not fit a float"):
        v.data = 10**400
    for op in (lambda: v + 10**400, lambda: 10**400 * v, lambda: v / 10**400, lambda: v**10**400):
        with pytest.raises(OverflowError, match="does not fit a float"):
            op()
    assert v.data == 1.0
