//! `micrograd.engine.Value`: karpathy's class, one Python object per node.
//!
//! Each op is built as karpathy's `engine.py` builds it, so a graph walked
//! from Python has the same nodes and edges, and the same numbers: `-a` is
//! `a * -1`, `a - b` is `a + (-b)`, `a / b` is `a * b**-1`, and a plain
//! number becomes a leaf `Value`. The node itself (data, gradient, op,
//! children) is on the engine's tape. The object holds only its slot: `_prev`
//! finds the children on the tape and hands back their live objects (making
//! new ones for those Python has freed), so a graph walked from Python shows
//! each node as one object.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PySet, PyString, PyTuple};

use crate::arena::{self, Looked, Slot};
use crate::expand;
use micrograd::Value as Node;

/// What the tape cannot show again, held by the object itself.
pub(crate) struct Held {
    /// The children, in operand order.
    kids: Box<[Py<PyValue>]>,
    /// The op's name if it is not the tape's: `Value(x, _op='+')`, or `**2.0`
    /// (the tape keeps the number 2, which it shows as `**2`).
    op: Option<String>,
    /// Whether this is a node of a fused neuron shown as karpathy's chain
    /// (see `expand`): its `_local_grads` are those of its `+` or `*`.
    shown: bool,
}

/// A scalar, its gradient, and the graph that made it.
///
/// `Value(data, _children=(), _op='', label='')` as in karpathy's micrograd
/// (plus the `label` of the lectures). Children given to the constructor are
/// shown by `_prev` and drawn, but gradients flow only through the ops.
///
/// A value made by an op holds no objects: its op and children are on the
/// tape, and `_prev` hands back the children's live objects, or makes new
/// ones for those Python has freed (see `arena`). Only what the tape cannot
/// show again is held ([`Held`]), and so is any op's operand that holds.
#[pyclass(name = "Value", module = "micrograd.engine", frozen)]
pub(crate) struct PyValue {
    slot: Slot,
    held: Option<Box<Held>>,
}

/// How deep frees of values may nest before the children of the next one
/// wait on [`DOOMED`]: freeing a chain of 10^5 values must not take 10^5
/// stack frames.
const MAX_DEPTH: u32 = 32;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Children whose release was deferred; the outermost free lets them go.
    static DOOMED: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

impl Drop for PyValue {
    fn drop(&mut self) {
        arena::release(self.slot);
        let Some(held) = self.held.take() else {
            return;
        };
        let Ok(depth) = DEPTH.try_with(Cell::get) else {
            return; // the thread is tearing down: let Python free them
        };
        if depth >= MAX_DEPTH {
            DOOMED.with(|d| d.borrow_mut().push(*held));
            return;
        }
        DEPTH.set(depth + 1);
        drop(held); // frees nest at most MAX_DEPTH deep
        if depth == 0 {
            while let Some(next) = DOOMED.with(|d| d.borrow_mut().pop()) {
                drop(next);
            }
        }
        DEPTH.set(depth);
    }
}

/// A number for `what`, or a `TypeError` that names it (an `OverflowError`
/// for an int too large for a float).
pub(crate) fn number(x: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    if x.is_instance_of::<PyString>() {
        return Err(not_a_number(x, what));
    }
    x.extract::<f64>().map_err(|_| {
        if x.is_instance_of::<PyInt>() {
            let digits = x.str().map_or(0, |s| s.len().unwrap_or(0));
            PyOverflowError::new_err(format!(
                "{what}: an int of {digits} digits does not fit a float \
                 (the largest is about 1.8e308)"
            ))
        } else {
            not_a_number(x, what)
        }
    })
}

fn not_a_number(x: &Bound<'_, PyAny>, what: &str) -> PyErr {
    let ty = x
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    PyTypeError::new_err(format!(
        "{what}: expected a number (int or float), got {ty}"
    ))
}

impl Held {
    /// What a node of a fused neuron shown as `kids[0] op kids[1]` holds.
    pub(crate) fn shown(kids: &[&Bound<'_, PyValue>], op: &str) -> Held {
        Held {
            kids: kids.iter().map(|k| (*k).clone().unbind()).collect(),
            op: Some(op.to_owned()),
            shown: true,
        }
    }
}

impl PyValue {
    /// The object for the node in `slot`.
    pub(crate) fn make(
        py: Python<'_>,
        slot: Slot,
        held: Option<Box<Held>>,
    ) -> PyResult<Bound<'_, PyValue>> {
        let v = Bound::new(py, PyValue { slot, held }).inspect_err(|_| arena::release(slot))?;
        // pyo3 makes every object of a class tracked by Python's cycle
        // collector, which then walks the values over and over while a
        // training step makes them. A value can be in no cycle (its children
        // were all made before it, and nothing it holds can be changed to
        // point at a newer one), so there is nothing for the collector to find.
        // SAFETY: `v` is a live object of our class, made just now, and
        // untracking is idempotent (tp_dealloc untracks again).
        unsafe { pyo3::ffi::PyObject_GC_UnTrack(v.as_ptr().cast()) };
        arena::bind(slot, v.as_ptr());
        Ok(v)
    }

    /// A new leaf holding `x`.
    pub(crate) fn leaf(py: Python<'_>, x: f64) -> PyResult<Bound<'_, PyValue>> {
        let [s] = arena::apply([], |[]| [Node::new(x)])?;
        PyValue::make(py, s, None)
    }

    pub(crate) fn node(&self) -> PyResult<Node> {
        arena::get(self.slot)
    }

    pub(crate) fn slot(&self) -> Slot {
        self.slot
    }

    /// Whether this object holds what the tape cannot show again.
    pub(crate) fn holds(&self) -> bool {
        self.held.is_some()
    }

    /// The objects of the node's children, in operand order; a fused neuron
    /// shows the children of karpathy's last `+` (see `expand`).
    fn kids<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyValue>>> {
        let node = self.node()?;
        let kids = match &self.held {
            Some(h) => h.kids.iter().map(|k| k.bind(py).clone()).collect(),
            None => objects(py, &node.children())?,
        };
        if self.is_neuron(node, kids.len()) {
            return expand::children(py, node, &kids);
        }
        Ok(kids)
    }

    /// Whether this is a fused neuron, shown as karpathy's chain of ops.
    fn is_neuron(&self, node: Node, kids: usize) -> bool {
        self.held.as_ref().is_none_or(|h| h.op.is_none()) && expand::is_neuron(node, kids)
    }

    /// What a value made from `operands` holds: nothing, unless one of them
    /// holds (its children are not on the tape, so its parents keep it) or
    /// the op's name is not the tape's.
    pub(crate) fn held_for(
        operands: &[&Bound<'_, PyValue>],
        op: Option<String>,
    ) -> Option<Box<Held>> {
        if op.is_none() && operands.iter().all(|o| o.get().held.is_none()) {
            return None;
        }
        let kids = operands.iter().map(|o| (*o).clone().unbind()).collect();
        Some(Box::new(Held {
            kids,
            op,
            shown: false,
        }))
    }

    fn unary<'py>(
        slf: &Bound<'py, PyValue>,
        f: impl FnOnce(Node) -> Node,
    ) -> PyResult<Bound<'py, PyValue>> {
        let [s] = arena::apply([slf.get().slot], |[a]| [f(a)])?;
        PyValue::make(slf.py(), s, PyValue::held_for(&[slf], None))
    }

    fn binary<'py>(
        a: &Bound<'py, PyValue>,
        b: &Bound<'py, PyValue>,
        f: impl FnOnce(Node, Node) -> Node,
    ) -> PyResult<Bound<'py, PyValue>> {
        let [s] = arena::apply([a.get().slot, b.get().slot], |[x, y]| [f(x, y)])?;
        PyValue::make(a.py(), s, PyValue::held_for(&[a, b], None))
    }

    fn add<'py>(a: &Bound<'py, PyValue>, b: &Bound<'py, PyValue>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::binary(a, b, |x, y| x + y)
    }

    fn mul<'py>(a: &Bound<'py, PyValue>, b: &Bound<'py, PyValue>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::binary(a, b, |x, y| x * y)
    }

    /// `a ** p` for a number `p`, shown as karpathy shows it (`**2`, `**-1`,
    /// `**2.0`: Python's `str` of the number).
    fn pow_number<'py>(
        a: &Bound<'py, PyValue>,
        p: f64,
        shown: &str,
    ) -> PyResult<Bound<'py, PyValue>> {
        let [s] = arena::apply([a.get().slot], |[x]| [x.pow(p)])?;
        // the tape shows `**` and the number as Rust prints it
        let op = (shown != p.to_string()).then(|| format!("**{shown}"));
        PyValue::make(a.py(), s, PyValue::held_for(&[a], op))
    }

    fn neg<'py>(a: &Bound<'py, PyValue>) -> PyResult<Bound<'py, PyValue>> {
        let minus_one = PyValue::leaf(a.py(), -1.0)?;
        PyValue::mul(a, &minus_one)
    }
}

/// One object per node of `nodes`: the live one if the node has one, else a
/// new one in a new slot. A node listed twice gets one object.
pub(crate) fn objects<'py>(py: Python<'py>, nodes: &[Node]) -> PyResult<Vec<Bound<'py, PyValue>>> {
    let looked = arena::lookup(py, nodes);
    let fresh: Vec<Slot> = looked
        .iter()
        .filter_map(|l| match l {
            Looked::New(s) => Some(*s),
            _ => None,
        })
        .collect();
    let mut made = HashMap::with_capacity(fresh.len());
    for (k, &s) in fresh.iter().enumerate() {
        match PyValue::make(py, s, None) {
            Ok(v) => _ = made.insert(s, v),
            Err(e) => {
                // `make` freed this one's slot; free the rest
                fresh[k + 1..].iter().for_each(|&s| arena::release(s));
                return Err(e);
            }
        }
    }
    let objs = looked.into_iter().map(|l| match l {
        // SAFETY: the table holds only objects of this class: `make` is
        // the one place that binds a slot's object.
        Looked::Object(o) => unsafe { o.cast_into_unchecked() },
        Looked::New(s) | Looked::Again(s) => made[&s].clone(),
    });
    Ok(objs.collect())
}

/// `other` as a `Value` (a number becomes a new leaf, as in karpathy's ops),
/// or `None` for anything else: the op then returns `NotImplemented` and
/// Python raises its usual `TypeError`.
fn operand<'py>(other: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyValue>>> {
    if let Ok(v) = other.cast::<PyValue>() {
        return Ok(Some(v.clone()));
    }
    as_number(other)?
        .map(|x| PyValue::leaf(other.py(), x))
        .transpose()
}

/// `other` as a plain number (anything with `__float__` but a string), or
/// `None`; an int too large for a float is an `OverflowError`.
fn as_number(other: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if other.is_instance_of::<PyString>() {
        return Ok(None);
    }
    match other.extract::<f64>() {
        Ok(x) => Ok(Some(x)),
        Err(_) if other.is_instance_of::<PyInt>() => number(other, "Value op").map(Some),
        Err(_) => Ok(None),
    }
}

/// Applies `f` to `(self, other)` if `other` is a `Value` or a number.
fn with_operand<'py>(
    slf: &Bound<'py, PyValue>,
    other: &Bound<'py, PyAny>,
    f: impl FnOnce(&Bound<'py, PyValue>, &Bound<'py, PyValue>) -> PyResult<Bound<'py, PyValue>>,
) -> PyResult<Py<PyAny>> {
    match operand(other)? {
        Some(o) => Ok(f(slf, &o)?.into_any().unbind()),
        None => Ok(slf.py().NotImplemented()),
    }
}

#[pymethods]
impl PyValue {
    #[new]
    #[pyo3(signature = (data, _children = None, _op = "", label = ""))]
    fn new<'py>(
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        _children: Option<&Bound<'py, PyAny>>,
        _op: &str,
        label: &str,
    ) -> PyResult<Bound<'py, PyValue>> {
        let x = number(data, "Value(data)")?;
        let mut kids = Vec::new();
        if let Some(cs) = _children {
            for c in cs.try_iter()? {
                let c = c?;
                let v = c.cast::<PyValue>().map_err(|_| {
                    PyTypeError::new_err("Value(_children): every child must be a Value")
                })?;
                kids.push(v.clone().unbind());
            }
        }
        let held = (!kids.is_empty() || !_op.is_empty()).then(|| {
            let op = Some(_op.to_owned());
            Box::new(Held {
                kids: kids.into(),
                op,
                shown: false,
            })
        });
        let [s] = arena::apply([], |[]| [Node::new(x)])?;
        if !label.is_empty() {
            arena::get(s)?.set_label(label);
        }
        PyValue::make(py, s, held)
    }

    /// The number this node holds.
    #[getter]
    fn data(&self) -> PyResult<f64> {
        Ok(self.node()?.data())
    }

    #[setter]
    fn set_data(&self, x: &Bound<'_, PyAny>) -> PyResult<()> {
        let node = self.node()?;
        node.set_data(number(x, "Value.data")?);
        // the slot's handle carries the new number, so that ops on this
        // value (a parameter, after each update) keep their fast path
        arena::refresh(self.slot, node.refreshed())?;
        Ok(())
    }

    /// d(root)/d(self) from the last `backward()`.
    #[getter]
    fn grad(&self) -> PyResult<f64> {
        Ok(self.node()?.grad())
    }

    #[setter]
    fn set_grad(&self, g: &Bound<'_, PyAny>) -> PyResult<()> {
        self.node()?.set_grad(number(g, "Value.grad")?);
        Ok(())
    }

    /// The values this one was made from, as a set (karpathy's `_prev`).
    #[getter]
    fn _prev<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PySet>> {
        PySet::new(py, self.kids(py)?)
    }

    /// The op that made this value (`'+'`, `'*'`, `'**2'`, `'ReLU'`), `''` for a leaf.
    #[getter]
    fn _op(&self) -> PyResult<String> {
        if let Some(op) = self.held.as_ref().and_then(|h| h.op.clone()) {
            return Ok(op);
        }
        let node = self.node()?;
        let op = node.op();
        Ok(match op.as_str() {
            "relu" => "ReLU".to_owned(),
            "affine" if self.is_neuron(node, node.children().len()) => "+".to_owned(),
            "ln" => "log".to_owned(),
            _ => op,
        })
    }

    /// A name shown by `draw_dot`.
    #[getter]
    fn label(&self) -> PyResult<String> {
        Ok(self.node()?.label())
    }

    #[setter]
    fn set_label(&self, label: &str) -> PyResult<()> {
        self.node()?.set_label(label);
        Ok(())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let n = self.node()?;
        let d = PyFloat::new(py, n.data()).repr()?;
        let g = PyFloat::new(py, n.grad()).repr()?;
        Ok(format!("Value(data={d}, grad={g})"))
    }

    fn __add__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        with_operand(slf, other, PyValue::add)
    }

    fn __radd__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        with_operand(slf, other, PyValue::add)
    }

    fn __mul__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        with_operand(slf, other, PyValue::mul)
    }

    fn __rmul__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        with_operand(slf, other, PyValue::mul)
    }

    /// `self + (-other)`
    fn __sub__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        with_operand(slf, other, |a, b| PyValue::add(a, &PyValue::neg(b)?))
    }

    /// `other + (-self)`, which Python runs as `(-self).__radd__(other)`
    fn __rsub__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        with_operand(slf, other, |a, b| PyValue::add(&PyValue::neg(a)?, b))
    }

    /// `self * other**-1`; for a number, `other**-1` is a number first
    fn __truediv__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        if let Ok(v) = other.cast::<PyValue>() {
            let inv = PyValue::pow_number(v, -1.0, "-1")?;
            return Ok(PyValue::mul(slf, &inv)?.into_any().unbind());
        }
        match as_number(other)? {
            Some(c) => {
                let inv = PyValue::leaf(slf.py(), c.powf(-1.0))?;
                Ok(PyValue::mul(slf, &inv)?.into_any().unbind())
            }
            None => Ok(slf.py().NotImplemented()),
        }
    }

    /// `other * self**-1`, which Python runs as `(self**-1).__rmul__(other)`
    fn __rtruediv__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        with_operand(slf, other, |a, b| {
            PyValue::mul(&PyValue::pow_number(a, -1.0, "-1")?, b)
        })
    }

    /// `self * -1`
    fn __neg__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::neg(slf)
    }

    /// `self ** other` for a number (karpathy's) or a `Value` (this package's).
    fn __pow__<'py>(
        slf: &Bound<'py, Self>,
        other: &Bound<'py, PyAny>,
        modulo: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        if modulo.is_some_and(|m| !m.is_none()) {
            return Err(PyTypeError::new_err(
                "pow(Value, p, modulo): a modulo is not supported",
            ));
        }
        if let Ok(p) = other.cast::<PyValue>() {
            return Ok(PyValue::binary(slf, p, |x, y| x.pow(y))?
                .into_any()
                .unbind());
        }
        match as_number(other)? {
            Some(p) => {
                let shown = other.str()?.to_string();
                Ok(PyValue::pow_number(slf, p, &shown)?.into_any().unbind())
            }
            None => Ok(slf.py().NotImplemented()),
        }
    }

    /// max(0, x); its op is shown as `ReLU`.
    fn relu<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::unary(slf, Node::relu)
    }

    /// tanh(x), as in the lectures.
    fn tanh<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::unary(slf, Node::tanh)
    }

    /// The natural logarithm, as in karpathy's microgpt: d/dx = 1/x. The
    /// log of 0 is `-inf` and of a negative number NaN (his raises
    /// `ValueError`); its op is shown as `log`.
    fn log<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::unary(slf, Node::ln)
    }

    /// e^x, as in the lectures.
    fn exp<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::unary(slf, Node::exp)
    }

    /// Sets d(self)/d(v) in `v.grad` for every value `v` below this one.
    /// Leaves accumulate (zero them between steps); other values hold the
    /// gradient of this pass. No recursion: any depth works.
    fn backward(&self) -> PyResult<()> {
        self.node()?.backward();
        Ok(())
    }

    /// One node's step of the chain rule, as in the lectures: adds
    /// `self.grad * d(self)/d(child)` to each child's `grad`.
    fn _backward(&self) -> PyResult<()> {
        let n = self.node()?;
        let g = n.grad();
        for (c, d) in n.children().into_iter().zip(n.local_grads()) {
            c.set_grad(c.grad() + g * d);
        }
        Ok(())
    }

    /// d(self)/d(child) for each of `_children`, as a tuple: what the
    /// backward pass multiplies by on each edge (karpathy's microgpt keeps
    /// them on each value). Empty for a leaf, and for a value given its
    /// children by hand (gradients do not flow to those).
    #[getter]
    fn _local_grads<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let node = self.node()?;
        let grads = match &self.held {
            Some(h) if h.shown => {
                let data = |k: usize| h.kids[k].get().node().map(|n| n.data());
                match h.op.as_deref() {
                    Some("*") => vec![data(1)?, data(0)?],
                    _ => vec![1.0, 1.0],
                }
            }
            Some(h) if h.op.is_some() => Vec::new(),
            _ if self.is_neuron(node, node.children().len()) => vec![1.0, 1.0],
            _ => node.local_grads(),
        };
        PyTuple::new(py, grads)
    }

    /// A tuple of the children in operand order (`_prev` is a set).
    #[getter]
    fn _children<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.kids(py)?)
    }

    /// For `copy`, `deepcopy` and `pickle`: rebuilt as
    /// `Value(data, _children, _op, label)` with its gradient, so a copy
    /// shows the same numbers, children and op. A leaf's copy is a leaf, as
    /// karpathy's; a copy of a value made by an op holds its children as
    /// given ones: `backward()` from it reaches none of them.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>, f64)> {
        let py = slf.py();
        let v = slf.get();
        let n = v.node()?;
        let kids = PyTuple::new(py, v.kids(py)?)?;
        let op = v._op()?;
        let args = (n.data(), kids, op, n.label()).into_pyobject(py)?;
        Ok((slf.get_type().into_any(), args, n.grad()))
    }

    /// The gradient, after `__reduce__`'s constructor call.
    fn __setstate__(&self, grad: &Bound<'_, PyAny>) -> PyResult<()> {
        self.node()?.set_grad(number(grad, "Value.__setstate__")?);
        Ok(())
    }
}
