//! The fast path of `micrograd.nn`: a whole layer's forward in one call.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::arena::{self, Slot};
use crate::value::{PyValue, number};
use micrograd::Value as Node;

/// `[relu(w·x + b) for each neuron]` (or without the relu), as one `affine`
/// node per neuron (children: its `w`, then `x`, then `b`) and a `ReLU` node
/// above it. Numbers in `x` become leaves, one per input, shared by the neurons.
#[pyfunction]
pub(crate) fn layer<'py>(
    py: Python<'py>,
    w: &Bound<'py, PyList>,
    b: &Bound<'py, PyList>,
    x: &Bound<'py, PyAny>,
    nonlin: bool,
) -> PyResult<Vec<Bound<'py, PyValue>>> {
    let x = inputs(x)?;
    let mut rows = Vec::with_capacity(w.len());
    for row in w.iter() {
        rows.push(values(&row, "a neuron's weights")?);
    }
    let b = values(b, "the biases")?;
    if rows.len() != b.len() {
        return Err(PyValueError::new_err(
            "as many weight rows as biases are needed",
        ));
    }
    if let Some(row) = rows.iter().find(|r| r.len() != x.len()) {
        return Err(PyValueError::new_err(format!(
            "the layer takes {} inputs, got {}",
            row.len(),
            x.len()
        )));
    }
    // Every handle is read, and every node made, before any slot is taken:
    // taking slots may compact the tape, which moves nodes.
    let slots: Vec<Slot> = rows
        .iter()
        .flatten()
        .chain(&x)
        .chain(&b)
        .map(|v| v.get().slot())
        .collect();
    let nodes = arena::read(&slots, |h| {
        let (hw, rest) = h.split_at(rows.len() * x.len());
        let (hx, hb) = rest.split_at(x.len());
        let mut out = Vec::with_capacity(2 * b.len());
        for (k, &bias) in hb.iter().enumerate() {
            let a = Node::affine(&hw[k * x.len()..(k + 1) * x.len()], hx, bias);
            out.push(a);
            if nonlin {
                out.push(a.relu());
            }
        }
        out
    })?;
    let slots = arena::insert_all(&nodes);
    let xs = PyList::new(py, &x)?.unbind();
    let per = if nonlin { 2 } else { 1 };
    let mut outs = Vec::with_capacity(b.len());
    for ((row, bias), s) in rows.into_iter().zip(b).zip(slots.chunks(per)) {
        let w = row.into_iter().map(Bound::unbind).collect();
        let a = PyValue::affine(py, s[0], (w, xs.clone_ref(py), bias.unbind()))?;
        outs.push(if nonlin {
            PyValue::relu_of(a, s[1])?
        } else {
            a
        });
    }
    Ok(outs)
}

/// The `Value`s of a list.
fn values<'py>(list: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<Bound<'py, PyValue>>> {
    let list = list
        .cast::<PyList>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a list of Values")))?;
    let mut out = Vec::with_capacity(list.len());
    for v in list.iter() {
        let v = v
            .cast_into::<PyValue>()
            .map_err(|_| PyTypeError::new_err(format!("{what} must be a list of Values")))?;
        out.push(v);
    }
    Ok(out)
}

/// A layer's inputs: `Value`s as they are, numbers as new leaves.
fn inputs<'py>(x: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyValue>>> {
    x.try_iter()?
        .map(|xi| {
            let xi = xi?;
            if let Ok(v) = xi.cast::<PyValue>() {
                return Ok(v.clone());
            }
            PyValue::leaf(xi.py(), number(&xi, "a layer's input")?)
        })
        .collect()
}
