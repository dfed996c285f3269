"""``draw_dot``: the expression graph as a picture, drawn in Rust (no Graphviz needed)."""

import os

from micrograd import _micrograd


class Graph:
    """A drawn graph: Jupyter shows it inline; ``save`` writes ``.svg`` or ``.dot``.

    ``source`` is the DOT text; ``pipe()`` returns the SVG as bytes, and
    ``render(filename)`` writes ``filename.svg``, as graphviz's ``Digraph`` does.
    """

    def __init__(self, source):
        self.source = source

    def svg(self):
        """The picture as SVG text."""
        return _micrograd.dot_to_svg(self.source)

    def _repr_svg_(self):
        return self.svg()

    def pipe(self, format="svg"):
        if format == "svg":
            return self.svg().encode()
        if format == "dot":
            return self.source.encode()
        raise ValueError(f"format must be 'svg' or 'dot', got {format!r}")

    def save(self, filename):
        """Writes ``filename``: SVG for ``.svg``, DOT text for ``.dot`` or ``.gv``."""
        ext = os.path.splitext(str(filename))[1].lower()
        if ext == ".svg":
            text = self.svg()
        elif ext in (".dot", ".gv"):
            text = self.source
        else:
            raise ValueError(f"cannot tell the format of {str(filename)!r}: name it .svg or .dot")
        with open(filename, "w", encoding="utf-8") as f:
            f.write(text)
        return str(filename)

    def render(self, filename="graph", format="svg"):
        """Writes ``filename.<format>`` and returns its path."""
        return self.save(f"{filename}.{format}")

    def __str__(self):
        return self.source


MAX_VALUES = 500


def draw_dot(root, format="svg", rankdir="LR"):
    """The graph below ``root``: ``{ label | data | grad }`` records and op nodes.

    The graph is the one ``_prev`` and ``_op`` show, as karpathy's
    ``trace_graph.ipynb`` walks it: an ``nn.Neuron`` is drawn as the ``*`` and
    ``+`` nodes of his ``sum((wi*xi ...), b)``, with their data and gradients.
    ``rankdir`` is ``'LR'`` (left to right) or ``'TB'`` (top to bottom).
    Graphs of more than 500 values are refused with a ``ValueError``.
    """
    if format not in ("svg", "dot"):
        raise ValueError(f"format must be 'svg' or 'dot', got {format!r}")
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', got {rankdir!r}")
    return Graph(_to_dot(_trace(root), rankdir))


def _trace(root):
    """The values below ``root``, children before parents, each with its op and
    the positions of its children: a walk of ``_children`` without recursion."""
    order, index, stack = [], {}, [(root, None)]
    while stack:
        v, kids = stack.pop()
        if kids is None:
            if id(v) in index:
                continue
            kids = v._children
            stack.append((v, kids))
            stack.extend((c, None) for c in reversed(kids) if id(c) not in index)
            continue
        if id(v) in index:
            continue
        index[id(v)] = len(order)
        order.append((v, v._op, [index[id(c)] for c in kids]))
        if len(order) > MAX_VALUES:
            raise ValueError(
                f"the graph has more than {MAX_VALUES} values, too many to draw readably; "
                "draw a smaller expression, e.g. one neuron or one sample's loss"
            )
    return order


def _to_dot(nodes, rankdir):
    lines = ["digraph {", f"  graph [rankdir={rankdir}];", '  node [fontname="Helvetica"];']
    for k, (v, op, kids) in enumerate(nodes):
        label = _escape_record(v.label)
        lines.append(
            f'  v{k} [shape=record, label="{{ {label} | data {v.data:.4f} | grad {v.grad:.4f} }}"];'
        )
        if op:
            op = op.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'  v{k}op [label="{op}"];')
            lines.append(f"  v{k}op -> v{k};")
            lines.extend(f"  v{c} -> v{k}op;" for c in kids)
        else:  # children given by hand with no op: edges to the value, as his
            lines.extend(f"  v{c} -> v{k};" for c in kids)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape_record(s):
    """A record field's text, with DOT's structure characters escaped."""
    return "".join("\\" + c if c in '{}|<>\\"' else c for c in s)
