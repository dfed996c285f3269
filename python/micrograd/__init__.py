"""karpathy's micrograd on a Rust engine.

The same modules, classes and behaviour as micrograd 0.1.0: ``micrograd.engine.Value``
and ``micrograd.nn`` (``Module``, ``Neuron``, ``Layer``, ``MLP``), plus ``draw_dot``,
which draws a graph in Jupyter with no Graphviz installed. Differences, all on purpose:

* ``data`` and ``grad`` are always floats (``Value(0).data`` is ``0.0``).
* Math is IEEE 754: ``Value(1) / 0`` is ``inf`` rather than ``ZeroDivisionError``;
  NaN and infinity propagate through every op and gradient.
* ``backward()`` has no recursion limit. Leaves accumulate their gradient, as in
  micrograd; every other node holds the gradient of the last pass, so calling
  ``backward()`` twice doubles the leaves' gradients and never compounds the others.
* ``Value ** Value`` works (micrograd asserts).
* A ``Value`` belongs to the thread that made it (used on another, it raises
  ``RuntimeError``); it may be freed on any thread.
* ``copy``, ``deepcopy`` and ``pickle`` work; a copy of a value made by an op
  holds its children as ``Value(data, _children, _op)`` does, so ``backward()``
  from the copy stops there.
* A ``Value`` has no ``__dict__`` and takes no weak references: it is 48 bytes,
  and a training step makes tens of thousands.
"""

from micrograd.engine import Value
from micrograd.viz import draw_dot

__all__ = ["Value", "draw_dot"]
