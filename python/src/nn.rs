//! The fast paths of `micrograd.nn`: a whole layer's forward in one call,
//! and a whole `MLP`'s, whose inner nodes become Python objects only when
//! asked for.

use std::cell::RefCell;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyType};

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
        return Err(wrong_inputs(row.len(), x.len()));
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
    let per = if nonlin { 2 } else { 1 };
    if x.iter().any(|v| v.get().holds()) {
        return held_layer(py, &rows, &x, &b, &nodes, per);
    }
    // the outputs only: the nodes below them become objects when `_prev` asks
    let outs: Vec<Node> = nodes.chunks(per).map(|n| n[per - 1]).collect();
    let slots = arena::insert_all(&outs);
    slots
        .into_iter()
        .map(|s| PyValue::make(py, s, None))
        .collect()
}

/// [`layer`]'s objects when an input holds what the tape cannot show again
/// (`Value(x, _op='in')`): each `affine` holds its `w`, `x` and `b`, and each
/// `ReLU` its `affine`, as ops do with such operands.
fn held_layer<'py>(
    py: Python<'py>,
    rows: &[Vec<Bound<'py, PyValue>>],
    x: &[Bound<'py, PyValue>],
    b: &[Bound<'py, PyValue>],
    nodes: &[Node],
    per: usize,
) -> PyResult<Vec<Bound<'py, PyValue>>> {
    let slots = arena::insert_all(nodes);
    let mut outs = Vec::with_capacity(b.len());
    for ((row, bias), s) in rows.iter().zip(b).zip(slots.chunks(per)) {
        let kids: Vec<&Bound<'py, PyValue>> = row.iter().chain(x).chain([bias]).collect();
        let a = PyValue::make(py, s[0], PyValue::held_for(&kids, None))?;
        outs.push(match per {
            2 => PyValue::make(py, s[1], PyValue::held_for(&[&a], None))?,
            _ => a,
        });
    }
    Ok(outs)
}

fn wrong_inputs(nin: usize, got: usize) -> PyErr {
    PyValueError::new_err(format!("the layer takes {nin} inputs, got {got}"))
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

/// `model(x)` in one call, for an `MLP` of `Layer`s of `Neuron`s (these
/// classes exactly, not subclasses): the whole forward on the tape, and one
/// Python object per output. The nodes below an output become objects only
/// when `_prev` asks for them, and asking again gives the same objects while
/// they live, so a training step makes a few objects per sample instead of two
/// per neuron. `None` for any other model (`MLP.__call__` then goes layer by
/// layer).
#[pyfunction]
pub(crate) fn mlp<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    layer_cls: &Bound<'py, PyType>,
    neuron_cls: &Bound<'py, PyType>,
) -> PyResult<Option<Py<PyAny>>> {
    let classes = (layer_cls, neuron_cls);
    let Some(params) = Params::of(model, classes)? else {
        return Ok(None);
    };
    let x = inputs(x)?;
    if x.len() != params.layers[0].nin {
        return Err(wrong_inputs(params.layers[0].nin, x.len()));
    }
    if x.iter().any(|v| v.get().holds()) {
        return Ok(None); // layer by layer, which keeps such inputs (see `layer`)
    }
    let mut slots = Vec::with_capacity(params.slots.len() + x.len());
    slots.extend_from_slice(&params.slots);
    slots.extend(x.iter().map(|v| v.get().slot()));
    let outs = arena::read(&slots, |h| params.forward(h))?;
    let slots = arena::insert_all(&outs);
    let mut outs = Vec::with_capacity(slots.len());
    for s in slots {
        outs.push(PyValue::make(py, s, None)?);
    }
    Ok(Some(match outs.len() {
        1 => outs.swap_remove(0).into_any().unbind(),
        _ => PyList::new(py, outs)?.into_any().unbind(),
    }))
}

/// `model.parameters()` for the models [`mlp`] runs: each neuron's weights
/// then its bias, layer after layer, as karpathy's classes list them, from
/// the objects [`mlp`] remembers (checked as it checks them). `None` for any
/// other model (`MLP.parameters` then asks each layer).
#[pyfunction]
pub(crate) fn parameters<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    layer_cls: &Bound<'py, PyType>,
    neuron_cls: &Bound<'py, PyType>,
) -> PyResult<Option<Bound<'py, PyList>>> {
    match Params::of(model, (layer_cls, neuron_cls))? {
        Some(p) => Ok(Some(PyList::new(py, p.objs.iter().map(|o| o.bind(py)))?)),
        None => Ok(None),
    }
}

/// `p.grad = 0` for every `p` of `params`, in one call: `true`, or `false`
/// having changed nothing if one of them is not a `Value` (`Module.zero_grad`
/// then sets each as karpathy's does).
#[pyfunction]
pub(crate) fn zero_grad(params: &Bound<'_, PyList>) -> PyResult<bool> {
    let mut slots = Vec::with_capacity(params.len());
    for p in params.iter() {
        match p.cast::<PyValue>() {
            Ok(v) => slots.push(v.get().slot()),
            Err(_) => return Ok(false),
        }
    }
    arena::read(&slots, micrograd::zero_grad)?;
    Ok(true)
}

/// A model's parameters as a forward found them: the objects, their slots,
/// and the layers' shapes.
struct Params {
    /// What identifies them: every object's address and every count and flag,
    /// in the order `walk` visits them.
    key: Vec<usize>,
    /// Each neuron's weights then its bias, neuron after neuron.
    objs: Vec<Py<PyValue>>,
    slots: Vec<Slot>,
    layers: Vec<Shape>,
}

/// One layer: where its neurons start in `objs`, their inputs, and which of
/// them apply ReLU.
struct Shape {
    start: usize,
    nin: usize,
    nonlin: Vec<bool>,
}

/// What `walk` sees, in order: a layer with this many neurons, then each of
/// its neurons.
enum Seen<'a, 'py> {
    Layer(usize),
    Neuron {
        w: &'a Bound<'py, PyList>,
        b: &'a Bound<'py, PyAny>,
        nonlin: bool,
    },
}

/// How many models' parameters each thread remembers.
const MODELS: usize = 4;

thread_local! {
    /// The parameters of the models used last on this thread, newest first.
    /// Each holds its objects, so an address in a key is never reused while
    /// the key is kept: equal keys mean the very same objects.
    static SEEN: RefCell<Vec<Arc<Params>>> = const { RefCell::new(Vec::new()) };
}

impl Params {
    /// The parameters of `model` as it is now; the remembered ones if they
    /// are the same objects. `None` if it is not plain layers of plain neurons
    /// of the right sizes.
    fn of(
        model: &Bound<'_, PyAny>,
        classes: (&Bound<'_, PyType>, &Bound<'_, PyType>),
    ) -> PyResult<Option<Arc<Params>>> {
        let size = SEEN.with_borrow(|m| m.first().map_or(0, |p| p.key.len()));
        let mut key = Vec::with_capacity(size);
        let plain = walk(model, classes, |seen| {
            push_key(&mut key, &seen);
            true
        })?;
        if !plain {
            return Ok(None);
        }
        let found = SEEN.with_borrow(|m| m.iter().find(|p| p.key == key).cloned());
        if found.is_some() {
            return Ok(found);
        }
        let Some(p) = Params::read(model, classes)? else {
            return Ok(None);
        };
        let p = Arc::new(p);
        SEEN.with_borrow_mut(|m| {
            m.insert(0, p.clone());
            m.truncate(MODELS);
        });
        Ok(Some(p))
    }

    fn read(
        model: &Bound<'_, PyAny>,
        classes: (&Bound<'_, PyType>, &Bound<'_, PyType>),
    ) -> PyResult<Option<Params>> {
        let mut p = Params {
            key: Vec::new(),
            objs: Vec::new(),
            slots: Vec::new(),
            layers: Vec::new(),
        };
        let plain = walk(model, classes, |seen| {
            push_key(&mut p.key, &seen);
            match seen {
                Seen::Layer(n) => {
                    let nin = p.layers.last().map(|l| l.nonlin.len());
                    p.layers.push(Shape {
                        start: p.objs.len(),
                        nin: nin.unwrap_or(usize::MAX),
                        nonlin: Vec::with_capacity(n),
                    });
                    true
                }
                Seen::Neuron { w, b, nonlin } => {
                    let Some(l) = p.layers.last_mut() else {
                        return false;
                    };
                    if l.nin == usize::MAX {
                        l.nin = w.len(); // the first layer takes what its neurons take
                    }
                    l.nonlin.push(nonlin);
                    let vs = w
                        .iter()
                        .chain([b.clone()])
                        .map(|v| v.cast_into::<PyValue>());
                    let before = p.objs.len();
                    p.objs.extend(vs.map_while(Result::ok).map(Bound::unbind));
                    w.len() == l.nin && p.objs.len() == before + l.nin + 1
                }
            }
        })?;
        p.slots = p.objs.iter().map(|v| v.get().slot()).collect();
        Ok(plain.then_some(p))
    }

    /// The forward pass on the tape: `h` holds the handles of `objs`, then of
    /// the inputs; returns the last layer's outputs.
    fn forward(&self, h: &[Node]) -> Vec<Node> {
        let (p, x) = h.split_at(self.objs.len());
        let mut cur = x.to_vec();
        let mut next = Vec::new();
        for l in &self.layers {
            next.clear();
            for (j, &relu) in l.nonlin.iter().enumerate() {
                let (w, b) = p[l.start + j * (l.nin + 1)..].split_at(l.nin);
                let a = Node::affine(w, &cur, b[0]);
                next.push(if relu { a.relu() } else { a });
            }
            std::mem::swap(&mut cur, &mut next);
        }
        cur
    }
}

fn push_key(key: &mut Vec<usize>, seen: &Seen<'_, '_>) {
    match seen {
        Seen::Layer(n) => key.push(*n),
        Seen::Neuron { w, b, nonlin } => {
            key.push(w.len());
            key.push(usize::from(*nonlin));
            // The addresses alone, read from the list's array: `w.iter()`
            // would touch every weight's reference count, scattered in
            // memory. With the `__dict__` look-ups of `walk`, a fifth fewer
            // cycles per forward (measured on the demo's MLP).
            // SAFETY: `w` is a live list (we hold a reference) and every
            // index is below its length; the pointers are compared as
            // numbers, never followed.
            let items = (0..w.len())
                .map(|i| unsafe { ffi::PyList_GET_ITEM(w.as_ptr(), i as ffi::Py_ssize_t) });
            key.extend(items.map(|p| p as usize));
            key.push(b.as_ptr() as usize);
        }
    }
}

/// Shows `visit` each layer of `model` and each of its neurons, in order,
/// until it returns `false`. `Ok(false)` if `visit` did, or if `model` is not
/// a list `layers` of `Layer`s, each a list `neurons` of `Neuron`s with a
/// list `w`.
fn walk<'py>(
    model: &Bound<'py, PyAny>,
    (layer_cls, neuron_cls): (&Bound<'py, PyType>, &Bound<'py, PyType>),
    mut visit: impl FnMut(Seen<'_, 'py>) -> bool,
) -> PyResult<bool> {
    let py = model.py();
    let list = |o: &Bound<'py, PyAny>, name| {
        o.getattr(name)
            .ok()
            .and_then(|v| v.cast_into::<PyList>().ok())
    };
    let Some(layers) = list(model, intern!(py, "layers")).filter(|l| !l.is_empty()) else {
        return Ok(false);
    };
    for layer in layers.iter() {
        let neurons = Some(&layer)
            .filter(|l| l.get_type().is(layer_cls))
            .and_then(|l| list(l, intern!(py, "neurons")));
        let Some(neurons) = neurons.filter(|ns| !ns.is_empty()) else {
            return Ok(false);
        };
        if !visit(Seen::Layer(neurons.len())) {
            return Ok(false);
        }
        for n in neurons.iter() {
            if !n.get_type().is(neuron_cls) {
                return Ok(false);
            }
            // A neuron's attributes, looked up in its `__dict__`: cheaper than
            // `getattr`, which looks in the class first (BENCHMARKS.md).
            // SAFETY: `n` is a live object; the call returns a new reference,
            // or NULL with an exception set.
            let d = unsafe { ffi::PyObject_GenericGetDict(n.as_ptr(), std::ptr::null_mut()) };
            // SAFETY: as above.
            let d = unsafe { Bound::from_owned_ptr_or_err(py, d) };
            let Some(d) = d.ok().and_then(|d| d.cast_into::<PyDict>().ok()) else {
                return Ok(false);
            };
            let (Some(w), Some(b), Some(nonlin)) = (
                d.get_item(intern!(py, "w"))?
                    .and_then(|w| w.cast_into::<PyList>().ok()),
                d.get_item(intern!(py, "b"))?,
                d.get_item(intern!(py, "nonlin"))?,
            ) else {
                return Ok(false);
            };
            let nonlin = nonlin.is_truthy()?;
            if !visit(Seen::Neuron {
                w: &w,
                b: &b,
                nonlin,
            }) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
