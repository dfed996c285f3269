//! A fused neuron shown as the ops the learner wrote.
//!
//! `nn.Neuron` runs as one `affine` node (w·x + b) on the tape: that is why
//! the package is fast. But karpathy's `Neuron` is
//! `sum((wi*xi for wi, xi in zip(self.w, x)), self.b)`, a chain of `*` and
//! `+` nodes, and his `trace_graph.ipynb` walks `_prev` and `_op` to draw it.
//! So an `affine` node shows itself as the last `+` of that chain: its `_op`
//! is `'+'` and its children are the chain's previous sum and the last
//! product, made as Python objects when asked for, each with his data (the
//! same sums in the same order) and his gradient (every node of a sum chain
//! has the sum's gradient). Their children are the real weights, inputs and
//! bias, so a walk from the output reaches every parameter as before.
//!
//! The objects are made afresh at each ask, with the numbers of that moment;
//! gradients still flow through the tape's `affine` node, never through them.

use pyo3::prelude::*;

use crate::arena;
use crate::value::{Held, PyValue};
use micrograd::Value as Node;

/// Whether `node` is a neuron that [`children`] expands: an `affine` node
/// with at least one weight (with none, karpathy's sum is the bias itself).
pub(crate) fn is_neuron(node: Node, kids: usize) -> bool {
    kids >= 3 && node.op() == "affine"
}

/// The two children of an `affine` node shown as karpathy's last `+`:
/// `(b + w0*x0 + ... + w[n-2]*x[n-2], w[n-1]*x[n-1])`. `kids` are the node's
/// children on the tape: its `w`, then its `x`, then `b`.
pub(crate) fn children<'py>(
    py: Python<'py>,
    node: Node,
    kids: &[Bound<'py, PyValue>],
) -> PyResult<Vec<Bound<'py, PyValue>>> {
    let n = kids.len() / 2;
    let (w, x, b) = (&kids[..n], &kids[n..2 * n], &kids[2 * n]);
    let grad = node.grad();
    let mut sum = b.clone();
    let mut acc = b.get().node()?.data();
    let mut last = None;
    for (k, (wi, xi)) in w.iter().zip(x).enumerate() {
        let p = wi.get().node()?.data() * xi.get().node()?.data();
        let prod = made(py, p, grad, &[wi, xi], "*")?;
        if k + 1 == n {
            last = Some(prod);
            break;
        }
        acc += p;
        sum = made(py, acc, grad, &[&sum, &prod], "+")?;
    }
    Ok(vec![sum].into_iter().chain(last).collect())
}

/// `Value(data, kids, op)` with `grad` set: a node shown, never differentiated.
fn made<'py>(
    py: Python<'py>,
    data: f64,
    grad: f64,
    kids: &[&Bound<'py, PyValue>],
    op: &str,
) -> PyResult<Bound<'py, PyValue>> {
    let held = Held::shown(kids, op);
    let [s] = arena::apply([], |[]| {
        let v = Node::new(data);
        v.set_grad(grad);
        [v]
    })?;
    PyValue::make(py, s, Some(Box::new(held)))
}
