"""micrograd.engine.Value: karpathy's tests, the lectures' numbers, shared nodes, depth, bad input.

PyTorch's numbers are frozen here as constants (PyTorch is not needed to run these).
"""

import math
import random
import threading

import pytest

from micrograd.engine import Value, stats

from graphs import trace


def close(a, b, tol=1e-12):
    return abs(a - b) <= tol * max(1.0, abs(b))


# karpathy's test/test_engine.py, with PyTorch's float64 results frozen


def test_sanity_check():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert y.data == -20.0  # PyTorch: -20.0
    assert x.grad == 46.0  # PyTorch: 46.0


def test_more_ops():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    # PyTorch float64
    assert close(g.data, 24.70408163265306, 1e-14)
    assert close(a.grad, 138.83381924198252, 1e-14)
    assert close(b.grad, 645.5772594752186, 1e-14)


# the lectures' neuron (seeds 001 and 002)


def neuron(b=6.8813735870195432):
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(b, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    return n, (x1, x2, w1, w2, b)


def test_seed_neuron_tanh():
    n, (x1, x2, w1, w2, b) = neuron()
    o = n.tanh()
    o.label = "o"
    o.backward()
    assert close(o.data, math.sqrt(0.5))
    assert close(x1.grad, -1.5) and close(w1.grad, 1.0)
    assert close(x2.grad, 0.5) and w2.grad == 0.0
    assert (o.label, n.label, x1.label, o._op) == ("o", "n", "x1", "tanh")


def test_seed_neuron_through_exp():
    n, (x1, x2, w1, w2, b) = neuron()
    e = (2 * n).exp()
    o = (e - 1) / (e + 1)
    o.backward()
    assert close(o.data, math.sqrt(0.5))
    assert close(x1.grad, -1.5) and close(w1.grad, 1.0) and close(x2.grad, 0.5)


def test_seed_neuron_matches_pytorch_printout():
    # torch.Tensor([6.8813735870195432]) is float32: PyTorch's b is rounded first
    import struct

    b32 = struct.unpack("f", struct.pack("f", 6.8813735870195432))[0]
    n, (x1, x2, w1, w2, b) = neuron(b32)
    o = n.tanh()
    o.backward()
    assert close(o.data, 0.7071066904050358, 1e-15)
    assert close(x2.grad, 0.5000001283844369, 1e-15)
    assert close(x1.grad, -1.5000003851533106, 1e-15)
    assert close(w1.grad, 1.0000002567688737, 1e-15)


def test_manual_backprop_node_by_node_as_in_the_lecture():
    n, (x1, x2, w1, w2, b) = neuron()
    o = n.tanh()
    o.grad = 1.0
    o._backward()
    assert close(n.grad, 0.5)
    n._backward()  # n = (x1w1 + x2w2) + b
    (s,) = [c for c in n._prev if c is not b]
    s._backward()
    for c in s._prev:
        c._backward()
    assert close(x1.grad, -1.5) and close(w1.grad, 1.0) and close(x2.grad, 0.5)
    assert Value(1.0)._backward() is None  # a leaf's step does nothing


# shared nodes, identity, the graph as karpathy's trace() sees it




def test_shared_operand_and_shared_node():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0
    a = Value(3.0)
    b = a * a
    c = b + b
    c.backward()
    assert a.grad == 12.0 and b.grad == 2.0
    nodes, edges = trace(c)
    assert len(nodes) == 3 and len(edges) == 2
    assert c._prev == {b} and next(iter(c._prev)) is b
    assert next(iter(b._prev)) is a


def test_a_dropped_intermediate_is_freed_and_made_again_when_asked_for():
    # A value does not hold its children's objects: it finds its children on
    # the tape. Python frees an intermediate it no longer holds at once; `_prev`
    # gives back a child's object while it lives, and a new one once it is gone.
    before = stats()["values"]
    a = Value(2.0, label="a")
    b = a * a
    c = b + b
    assert stats()["values"] == before + 3
    del b
    assert stats()["values"] == before + 2  # its node stays, under c
    (b,) = c._prev
    assert (b._op, b.data, b._children[0].label) == ("*", 4.0, "a")
    assert b._children[0] is a and c._children[1] is b  # the live objects
    assert len(trace(c)[0]) == 3 and len(trace(c)[1]) == 2
    c.backward()
    assert (a.grad, b.grad) == (8.0, 2.0)
    del a, b, c
    assert stats()["values"] == before


def test_what_the_tape_cannot_show_again_is_held():
    x = Value(3.0, _op="in")  # an op name given by hand
    y = x**2.0 + 1  # `**2.0`: the tape keeps the number 2
    del x
    p, one = y._children
    assert (p._op, p._children[0]._op, one._op) == ("**2.0", "in", "")
    assert (Value(3.0) ** 2 + 1)._children[0]._op == "**2"
    k = Value(1.0, (Value(2.0),), "k")
    z = k * 2
    del k
    assert z._children[0]._op == "k" and z._children[0]._children[0].data == 2.0


def test_objects_are_found_again_after_the_tape_is_compacted():
    a = Value(0.5)
    b = a * 3.0
    c = b + 1.0
    peak = 0
    for _ in range(200_000):  # garbage: the tape compacts every 2**18 nodes or so
        a * 2.0
        peak = max(peak, stats()["nodes"])
    assert stats()["nodes"] < peak  # it did compact, and moved c's nodes
    assert c._children[0] is b and b._children[0] is a
    c.backward()
    assert (c.data, a.grad) == (2.5, 3.0)


def test_random_graphs_dropped_at_random_show_what_was_made():
    # Values made, dropped and walked at random, with garbage that makes the
    # tape compact: every node's op, children and number are what was recorded
    # when it was made (its label names the record), and a child that Python
    # still holds comes back as that very object.
    rng = random.Random(4)
    pool, made = [], {}
    compactions, last = 0, 0

    def record(v, op, kids):
        v.label = f"v{len(made)}"
        made[v.label] = (op, [k.label for k in kids], v.data)
        return v

    def check(v, depth):
        kids = v._children
        assert (v._op, [k.label for k in kids], v.data) == made[v.label]
        assert all(a is b for a, b in zip(kids, v._children))
        held = {p.label: p for p in pool}
        assert all(held.get(k.label, k) is k for k in kids)
        if depth:
            for k in kids:
                check(k, depth - 1)

    for _ in range(6000):
        r = rng.random()
        if len(pool) < 2 or r < 0.1:
            v = record(Value(rng.uniform(-1, 1)), "", [])
        elif r < 0.4:
            a, b = rng.choice(pool), rng.choice(pool)
            v = record(a + b, "+", [a, b])
        elif r < 0.6:
            a, b = rng.choice(pool), rng.choice(pool)
            m = record(a * b, "*", [a, b])
            v = record(m.tanh(), "tanh", [m])
            del m
        elif r < 0.7:
            a = rng.choice(pool)
            v = record(a**2, "**2", [a])
        elif r < 0.75:
            for _ in range(2000):
                rng.choice(pool) * 1.0
            compactions += stats()["nodes"] < last
            last = stats()["nodes"]
            continue
        else:
            check(rng.choice(pool), 4)
            continue
        pool.append(v)
        if len(pool) > 40:
            pool.pop(rng.randrange(len(pool)))
    assert compactions >= 2


def test_the_graph_is_karpathys():
    x = Value(2.0)
    assert {v._op for v in trace(x / 4.0)[0]} == {"", "*"}  # x * 4.0**-1
    y = x - 1
    ops = sorted(v._op for v in trace(y)[0])
    assert ops == ["", "", "", "*", "+"]  # x + (1 * -1): two leaves made of numbers
    assert (x**2)._op == "**2" and (x**-1)._op == "**-1" and x.relu()._op == "ReLU"
    assert len((2 * x)._prev) == 2  # the number became a leaf Value
    assert Value(1.0, (x, y), "custom")._prev == {x, y}


def test_backward_twice_accumulates_leaves_only():
    a = Value(3.0)
    b = a * a
    c = b + b
    c.backward()
    c.backward()
    assert a.grad == 24.0  # leaves accumulate, as in micrograd and PyTorch
    assert b.grad == 2.0 and c.grad == 1.0  # interior: this pass's gradient


def test_a_chain_of_a_hundred_thousand_nodes():
    # micrograd raises RecursionError past about 1000
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0 and y.data == 0.5
    del y
    # a chain that holds its objects (it starts at an op name given by hand):
    # freeing it walks it without recursion either
    y = Value(0.5, _op="in")
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    del y


# every op against finite differences

OPS = {
    "add": lambda a, b: a + b,
    "radd": lambda a, b: 1.5 + a,
    "sub": lambda a, b: a - b,
    "rsub": lambda a, b: 1.5 - a,
    "mul": lambda a, b: a * b,
    "rmul": lambda a, b: 1.5 * a,
    "div": lambda a, b: a / b,
    "rdiv": lambda a, b: 1.5 / a,
    "div_number": lambda a, b: a / 3.0,
    "neg": lambda a, b: -a,
    "pow": lambda a, b: a**3,
    "pow_frac": lambda a, b: a**0.5,
    "pow_value": lambda a, b: a**b,
    "relu": lambda a, b: (a - 1.2).relu(),
    "tanh": lambda a, b: a.tanh(),
    "exp": lambda a, b: a.exp(),
    "log": lambda a, b: (a * b).log(),
    "mixed": lambda a, b: ((a * b).tanh() + (a / b).exp() - b**2).relu(),
}


@pytest.mark.parametrize("name", OPS)
def test_gradients_match_finite_differences(name):
    f = OPS[name]
    a0, b0, h = 1.3, 0.7, 1e-6
    a, b = Value(a0), Value(b0)
    out = f(a, b)
    out.backward()
    num = lambda x, y: f(Value(x), Value(y)).data  # noqa: E731
    da = (num(a0 + h, b0) - num(a0 - h, b0)) / (2 * h)
    db = (num(a0, b0 + h) - num(a0, b0 - h)) / (2 * h)
    assert abs(a.grad - da) < 1e-6 * max(1, abs(da)), (a.grad, da)
    assert abs(b.grad - db) < 1e-6 * max(1, abs(db)), (b.grad, db)


def test_log_is_microgpts():
    # karpathy's microgpt: Value(math.log(x), (self,), (1/x,)). PyTorch is not
    # installed here: its torch.log backward is grad / x, frozen analytically.
    x = Value(2.5)
    y = x.log()
    y.backward()
    assert y.data == math.log(2.5) and x.grad == 1 / 2.5 == 0.4
    assert y._op == "log" and y._prev == {x}
    # microgpt's loss term, -log(p) of a softmax probability
    a, b = Value(1.0), Value(2.0)
    ea, eb = a.exp(), b.exp()
    loss = -(ea / (ea + eb)).log()
    loss.backward()
    p = math.exp(1.0) / (math.exp(1.0) + math.exp(2.0))
    assert close(loss.data, -math.log(p)) and close(a.grad, p - 1) and close(b.grad, 1 - p)
    # IEEE where his raises ValueError: log 0 is -inf, a negative's log is NaN
    z = Value(0.0)
    lz = z.log()
    lz.backward()
    assert lz.data == -math.inf and z.grad == math.inf
    assert math.isnan(Value(-1.0).log().data)


def test_pow_with_a_value_exponent():
    x, p = Value(3.0), Value(2.0)
    y = x**p
    y.backward()
    assert y.data == 9.0 and x.grad == 6.0 and close(p.grad, 9.0 * math.log(3.0))


# numbers in, numbers out


def test_data_and_grad_are_read_and_written():
    v = Value(2)
    assert v.data == 2.0 and isinstance(v.data, float) and v.grad == 0.0
    v.data -= 0.5
    v.grad = 3
    assert (v.data, v.grad) == (1.5, 3.0)
    assert repr(v) == "Value(data=1.5, grad=3.0)"
    assert repr(Value(1e-7)) == "Value(data=1e-07, grad=0.0)"


def test_numbers_of_other_kinds_mix_in():
    class Number:
        def __float__(self):
            return 2.0

    assert (Value(1.0) + True).data == 2.0
    assert (Value(1.0) * Number()).data == 2.0


def test_ieee_math_propagates():
    assert (Value(1.0) / 0).data == math.inf
    nan, x = Value(float("nan")), Value(2.0)
    y = nan * x + 1
    y.backward()
    assert math.isnan(y.data) and math.isnan(x.grad) and nan.grad == 2.0


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda: Value("3"), "Value(data): expected a number (int or float), got str"),
        (lambda: Value(None), "got NoneType"),
        (lambda: Value([1.0]), "got list"),
        (lambda: Value(1.0, (1, 2)), "every child must be a Value"),
        (lambda: setattr(Value(1.0), "data", "x"), "Value.data: expected a number"),
        (lambda: setattr(Value(1.0), "grad", None), "Value.grad: expected a number"),
        (lambda: Value(1.0) + "s", "unsupported operand type"),
        (lambda: "s" * Value(1.0), "can't multiply sequence"),
        (lambda: Value(1.0) ** "2", "unsupported operand type"),
        (lambda: pow(Value(1.0), 2, 3), "a modulo is not supported"),
        (lambda: Value(1.0) / [1], "unsupported operand type"),
        (lambda: 2 ** Value(1.0), "unsupported operand type"),
    ],
)
def test_bad_input_is_a_clear_type_error(bad, message):
    with pytest.raises(TypeError) as e:
        bad()
    assert message in str(e.value)


def test_a_value_from_another_thread_is_refused_not_misread():
    v = Value(1.0)
    seen = []

    def use():
        Value(5.0)  # this thread's own first value
        try:
            seen.append((v + 1).data)
        except RuntimeError as e:
            seen.append(str(e))

    t = threading.Thread(target=use)
    t.start()
    t.join()
    assert len(seen) == 1 and "made on another thread" in seen[0]
    assert (v + 1).data == 2.0  # and on its own thread it works
