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


def draw_dot(root, format="svg", rankdir="LR"):
    """The graph below ``root``: ``{ label | data | grad }`` records and op nodes.

    ``rankdir`` is ``'LR'`` (left to right) or ``'TB'`` (top to bottom).
    Graphs of more than 500 values are refused with a ``ValueError``.
    """
    if format not in ("svg", "dot"):
        raise ValueError(f"format must be 'svg' or 'dot', got {format!r}")
    return Graph(_micrograd.dot(root, rankdir))
