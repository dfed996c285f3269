"""Helpers shared by the tests."""


def trace(root):
    """trace_graph.ipynb's trace(), without recursion: the nodes and edges below root."""
    nodes, edges, stack = set(), set(), [root]
    while stack:
        v = stack.pop()
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                stack.append(child)
    return nodes, edges
