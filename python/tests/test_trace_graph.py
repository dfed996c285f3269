"""karpathy's trace_graph.ipynb, cell 4: his 2-input neuron draws his picture.

The expected graph is frozen from his committed gout.svg (karpathy/micrograd,
MIT licence, commit 486a1ac): every shape's text and every edge, by Graphviz
node name. A neuron runs as one fused ``affine`` node here; it must still show
itself as his two ``*`` and two ``+`` nodes, with their numbers.
"""

import random
import re

from micrograd import draw_dot, nn
from micrograd.engine import Value

from graphs import trace

# gout.svg: Graphviz node name -> the text it shows
GOUT_SHAPES = {
    "4551405072": "data 0.1024 | grad 1.0000",
    "4551405072ReLU": "ReLU",
    "4551371912": "data 0.2355 | grad 1.0000",
    "4551371744+": "+",
    "4551371912+": "+",
    "4551370904": "data 1.0000 | grad 0.2355",
    "4551371576*": "*",
    "4551371968": "data -0.1331 | grad 1.0000",
    "4551371968*": "*",
    "4551370960": "data 0.0000 | grad 1.0000",
    "4551371016": "data 0.0665 | grad -2.0000",
    "4551371576": "data 0.2355 | grad 1.0000",
    "4551370624": "data -2.0000 | grad 0.0665",
    "4551371184": "data 0.2355 | grad 1.0000",
    "4551371744": "data 0.1024 | grad 1.0000",
}
GOUT_EDGES = [
    ("4551405072ReLU", "4551405072"),
    ("4551371912", "4551371744+"),
    ("4551371912+", "4551371912"),
    ("4551370904", "4551371576*"),
    ("4551371968", "4551371744+"),
    ("4551371968*", "4551371968"),
    ("4551370960", "4551371912+"),
    ("4551371016", "4551371968*"),
    ("4551371576", "4551371912+"),
    ("4551371576*", "4551371576"),
    ("4551370624", "4551371968*"),
    ("4551371184", "4551371576*"),
    ("4551371744", "4551405072ReLU"),
    ("4551371744+", "4551371744"),
]


def his_neuron():
    random.seed(1337)
    n = nn.Neuron(2)
    x = [Value(1.0), Value(-2.0)]
    y = n(x)
    y.backward()
    return y


def his_draw_dot(root):
    """The notebook's draw_dot (cell 2) with Graphviz's calls written down:
    the shapes (name -> text) and the edges it makes."""
    nodes, edges = trace(root)
    shapes, lines = {}, []
    for n in nodes:
        shapes[str(id(n))] = "data %.4f | grad %.4f" % (n.data, n.grad)
        if n._op:
            shapes[str(id(n)) + n._op] = n._op
            lines.append((str(id(n)) + n._op, str(id(n))))
    for n1, n2 in edges:
        lines.append((str(id(n1)), str(id(n2)) + n2._op))
    return shapes, lines


def shapes_as_seen(shapes, edges):
    """Each shape as what it shows and, recursively, what flows into it: two
    drawings are the same picture when these multisets are equal."""
    into = {name: [] for name in shapes}
    for a, b in edges:
        into[b].append(a)
    memo = {}

    def seen(name):
        if name not in memo:
            memo[name] = (shapes[name], tuple(sorted(seen(a) for a in into[name])))
        return memo[name]

    return sorted(seen(name) for name in shapes)


def test_the_notebook_draws_his_neuron_shape_for_shape():
    shapes, edges = his_draw_dot(his_neuron())
    assert (len(shapes), len(edges)) == (15, 14)
    assert sorted(shapes.values()) == sorted(GOUT_SHAPES.values())
    assert shapes_as_seen(shapes, edges) == shapes_as_seen(GOUT_SHAPES, GOUT_EDGES)


def test_the_neuron_shows_his_ops_and_numbers():
    y = his_neuron()
    assert y._op == "ReLU"
    (s,) = y._prev
    assert s._op == "+" and len(s._children) == 2
    first, prod = s._children  # (b + w0*x0) + w1*x1, as sum() builds it
    assert (first._op, prod._op) == ("+", "*")
    b, prod0 = first._children
    assert b._op == "" and prod0._op == "*"
    n_w = [c for p in (prod0, prod) for c in p._children]
    assert [round(v.data, 4) for v in n_w] == [0.2355, 1.0, 0.0665, -2.0]
    assert [round(v.grad, 4) for v in n_w] == [1.0, 0.2355, -2.0, 0.0665]
    assert prod.data == n_w[2].data * n_w[3].data  # his product, not a rounding of it
    assert s.data == first.data + prod.data == y.data  # his sums, in his order


def parse_dot(source):
    """draw_dot's DOT text as shapes (name -> text, without the label field) and edges."""
    shapes, edges = {}, []
    for line in source.splitlines():
        if m := re.match(r'\s*(\w+) \[shape=record, label="\{ .*? \| (data .*) \}"\];', line):
            shapes[m[1]] = m[2]
        elif m := re.match(r'\s*(\w+) \[label="(.*)"\];', line):
            shapes[m[1]] = m[2]
        elif m := re.match(r"\s*(\w+) -> (\w+);", line):
            edges.append((m[1], m[2]))
    return shapes, edges


def test_draw_dot_draws_his_picture():
    dot = draw_dot(his_neuron())
    shapes, edges = parse_dot(dot.source)
    assert (len(shapes), len(edges)) == (15, 14)
    assert shapes_as_seen(shapes, edges) == shapes_as_seen(GOUT_SHAPES, GOUT_EDGES)
    svg = dot.svg()
    for text in ("data 0.1024", "data -0.1331", "grad 0.0665", "ReLU"):
        assert text in svg


def test_a_linear_neuron_and_a_one_input_neuron():
    random.seed(1337)
    lin = nn.Neuron(3, nonlin=False)
    y = lin([1.0, 2.0, 3.0])
    y.backward()
    # ((b + w0*x0) + w1*x1) + w2*x2: three products, three sums
    nodes, edges = trace(y)
    ops = sorted(v._op for v in nodes)
    assert ops == [""] * 7 + ["*"] * 3 + ["+"] * 3
    assert len(edges) == 12
    assert abs(y.data - sum(w.data * x for w, x in zip(lin.w, [1, 2, 3]))) < 1e-15
    one = nn.Neuron(1, nonlin=False)
    z = one([2.0])
    b, prod = z._children  # b + w0*x0
    assert b is one.b and prod._op == "*" and one.w[0] in prod._prev


def karpathys_mlp(model, x):
    """micrograd 0.1.0's forward, written with scalar ops: his graph, node by node."""
    for layer in model.layers:
        acts = [sum((wi * xi for wi, xi in zip(n.w, x)), n.b) for n in layer.neurons]
        x = [a.relu() if n.nonlin else a for a, n in zip(acts, layer.neurons)]
    return x[0]


def test_a_whole_mlp_shows_the_graph_his_scalar_ops_build():
    random.seed(11)
    model = nn.MLP(3, [4, 4, 1])
    x = [Value(0.5), Value(-1.5), Value(2.0)]

    def shown(root):
        for v in model.parameters() + x:  # the inputs' gradients accumulate too
            v.grad = 0.0
        root.backward()
        nodes, edges = trace(root)
        seen = sorted((v._op, round(v.data, 12), round(v.grad, 12), len(v._prev)) for v in nodes)
        return len(nodes), len(edges), seen

    assert shown(model(x)) == shown(karpathys_mlp(model, x))
