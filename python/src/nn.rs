//! The fast paths of `micrograd.nn`: a whole layer's forward in one call,
//! and a whole `MLP`'s, whose inner nodes become Python objects only when
//! asked for.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyType, PyWeakrefMethods, PyWeakrefReference};

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
    let mut slots = Vec::with_capacity(params.slots.len() + x.len());
    slots.extend_from_slice(&params.slots);
    slots.extend(x.iter().map(|v| v.get().slot()));
    let outs = arena::read(&slots, |h| params.forward(h))?;
    let slots = arena::insert_all(&outs);
    let last = params.layers.len() - 1;
    let call = Arc::new(Call {
        params,
        x: x.into_iter().map(Bound::unbind).collect(),
        made: Mutex::default(),
    });
    let mut outs = Vec::with_capacity(slots.len());
    for (j, s) in slots.into_iter().enumerate() {
        outs.push(Lazy::node(py, &call, s, last, j)?);
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

    /// Neuron `j` of layer `l`: its weights and its bias.
    fn neuron(&self, l: usize, j: usize) -> (&[Py<PyValue>], &Py<PyValue>) {
        let s = &self.layers[l];
        let (w, b) = self.objs[s.start + j * (s.nin + 1)..].split_at(s.nin);
        (w, &b[0])
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
            // A neuron's attributes, looked up in its `__dict__`: 60% of the
            // instructions of `getattr`, which looks in the class first.
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

/// One call of [`mlp`]: what its nodes' children are, for when Python asks.
struct Call {
    params: Arc<Params>,
    x: Vec<Py<PyValue>>,
    /// The objects made so far for the outputs of inner layers, by (layer,
    /// neuron). Every neuron of the next layer has them as children, so they
    /// must be made once; they are held weakly, as a child does not keep
    /// its parents (or its call) alive.
    made: Mutex<HashMap<(usize, usize), Py<PyWeakrefReference>>>,
}

/// The children of a node of a fused forward: found on the tape below it and
/// made as objects when first asked for (then kept, as any node keeps its
/// children).
pub(crate) struct Lazy {
    call: Arc<Call>,
    /// Neuron `neuron` of layer `layer`: its ReLU, or else its `w·x + b`.
    layer: usize,
    neuron: usize,
    relu: bool,
    kids: OnceLock<Vec<Py<PyValue>>>,
}

impl Lazy {
    /// The object for neuron `j`'s output in layer `l`, already in `slot`.
    fn node<'py>(
        py: Python<'py>,
        call: &Arc<Call>,
        slot: Slot,
        l: usize,
        j: usize,
    ) -> PyResult<Bound<'py, PyValue>> {
        let relu = call.params.layers[l].nonlin[j];
        Lazy::make(py, call, slot, l, j, relu)
    }

    fn make<'py>(
        py: Python<'py>,
        call: &Arc<Call>,
        slot: Slot,
        layer: usize,
        neuron: usize,
        relu: bool,
    ) -> PyResult<Bound<'py, PyValue>> {
        let lazy = Lazy {
            call: call.clone(),
            layer,
            neuron,
            relu,
            kids: OnceLock::new(),
        };
        PyValue::lazy(py, slot, lazy, if relu { "ReLU" } else { "affine" })
    }

    /// The children of the node in `slot` (this one's), in operand order.
    pub(crate) fn kids(&self, py: Python<'_>, slot: Slot) -> PyResult<Vec<Py<PyValue>>> {
        if self.kids.get().is_none() {
            let made = self.make_kids(py, slot)?;
            _ = self.kids.set(made);
        }
        let kids = self.kids.get().map(|k| k.iter().map(|v| v.clone_ref(py)));
        Ok(kids.into_iter().flatten().collect())
    }

    fn make_kids(&self, py: Python<'_>, slot: Slot) -> PyResult<Vec<Py<PyValue>>> {
        let below = arena::get(slot)?.children();
        let call = &self.call;
        if self.relu {
            // its one child, the neuron's w·x + b, has no other parent
            let [s] = arena::insert_all(&below[..1])[..] else {
                unreachable!("one node in, one slot out")
            };
            let a = Lazy::make(py, call, s, self.layer, self.neuron, false)?;
            return Ok(vec![a.unbind()]);
        }
        let (w, b) = call.params.neuron(self.layer, self.neuron);
        let x = match self.layer {
            0 => call.x.iter().map(|v| v.clone_ref(py)).collect(),
            l => self.outputs(py, l - 1, &below[w.len()..2 * w.len()])?,
        };
        let w = w.iter().map(|v| v.clone_ref(py));
        Ok(w.chain(x).chain([b.clone_ref(py)]).collect())
    }

    /// The objects for the outputs of layer `l` (on the tape at `nodes`): the
    /// ones made before if they still live, new ones for the rest.
    fn outputs(&self, py: Python<'_>, l: usize, nodes: &[Node]) -> PyResult<Vec<Py<PyValue>>> {
        let call = &self.call;
        // The lock is never held while Python objects are made: making one
        // may run the collector, and with it code that asks for these.
        let lock = || call.made.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Option<Py<PyValue>>> = {
            let made = lock();
            (0..nodes.len())
                .map(|k| {
                    let v = made.get(&(l, k))?.bind(py).upgrade_as::<PyValue>();
                    v.ok().flatten().map(Bound::unbind)
                })
                .collect()
        };
        let missing: Vec<usize> = (0..nodes.len()).filter(|&k| out[k].is_none()).collect();
        let handles: Vec<Node> = missing.iter().map(|&k| nodes[k]).collect();
        for (k, s) in missing.into_iter().zip(arena::insert_all(&handles)) {
            let v = Lazy::node(py, call, s, l, k)?;
            let weak = PyWeakrefReference::new(&v)?.unbind();
            lock().insert((l, k), weak);
            out[k] = Some(v.unbind());
        }
        Ok(out.into_iter().flatten().collect())
    }
}
