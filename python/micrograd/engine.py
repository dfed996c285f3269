"""``Value``: a scalar, its gradient and the graph that made it (karpathy's ``micrograd.engine``).

Nodes live on a Rust tape; each Python ``Value`` is one node, and the same node reached
twice is the same object. Memory is reclaimed when Python drops its values: no scope
or ``with`` block is needed (see ``stats()``).
"""

from micrograd._micrograd import Value, stats

__all__ = ["Value", "stats"]
