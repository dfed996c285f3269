//! The fast path of `micrograd.nn`: a whole layer's forward in one call.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arena::{self, Slot};
use crate::value::PyValue;
use micrograd::Value as Node;

/// `[relu(w·x + b) for each neuron]` (or without the relu), as one `affine`
/// node per neuron (children: its `w`, then `x`, then `b`) and a `ReLU` node
/// above it. Numbers in `x` become leaves, one per input, shared by the neurons.
#[pyfunction]
pub(crate) fn layer<'py>(
    py: Python<'py>,
    w: Vec<Vec<Bound<'py, PyValue>>>,
    b: Vec<Bound<'py, PyValue>>,
    x: Vec<Bound<'py, PyAny>>,
    nonlin: bool,
) -> PyResult<Vec<Bound<'py, PyValue>>> {
    let x = x
        .iter()
        .map(|xi| match xi.cast::<PyValue>() {
            Ok(v) => Ok(v.clone()),
            Err(_) => PyValue::leaf(py, crate::value::number(xi, "a layer's input")?),
        })
        .collect::<PyResult<Vec<_>>>()?;
    for row in &w {
        if row.len() != x.len() {
            return Err(PyValueError::new_err(format!(
                "the layer takes {} inputs, got {}",
                row.len(),
                x.len()
            )));
        }
    }
    // Every handle is read, and every node made, before any slot is taken:
    // taking slots may compact the tape, which moves nodes.
    let slots: Vec<Slot> = w
        .iter()
        .flatten()
        .chain(&x)
        .chain(&b)
        .map(|v| v.get().slot())
        .collect();
    let nodes = arena::read(&slots, |h| {
        let (hw, rest) = h.split_at(w.len() * x.len());
        let (hx, hb) = rest.split_at(x.len());
        let mut out = Vec::with_capacity(2 * b.len());
        for (row, &bias) in hw.chunks(x.len().max(1)).zip(hb) {
            let row = if x.is_empty() { &[][..] } else { row };
            let a = Node::affine(row, hx, bias);
            out.push(a);
            if nonlin {
                out.push(a.relu());
            }
        }
        out
    })?;
    let slots = arena::insert_all(&nodes);
    let per = if nonlin { 2 } else { 1 };
    let mut outs = Vec::with_capacity(b.len());
    for (k, s) in slots.chunks(per).enumerate() {
        let kids: Vec<Py<PyValue>> = w[k]
            .iter()
            .chain(&x)
            .chain(std::iter::once(&b[k]))
            .map(|v| v.clone().unbind())
            .collect();
        let a = PyValue::from_slot(py, s[0], kids, "affine")?;
        outs.push(if nonlin {
            PyValue::from_slot(py, s[1], vec![a.unbind()], "ReLU")?
        } else {
            a
        });
    }
    Ok(outs)
}
