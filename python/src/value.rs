//! `micrograd.engine.Value`: karpathy's class, one Python object per node.
//!
//! Each op is built as karpathy's `engine.py` builds it, so a graph walked
//! from Python has the same nodes and edges, and the same numbers: `-a` is
//! `a * -1`, `a - b` is `a + (-b)`, `a / b` is `a * b**-1`, and a plain
//! number becomes a leaf `Value`. The node itself (data, gradient, op) is on
//! the engine's tape; the object keeps its children, so that `_prev` hands
//! back the very objects the node was made from.

use std::cell::{Cell, RefCell};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyList, PySet, PyString, PyTuple};

use crate::arena::{self, Slot};
use crate::nn::Lazy;
use micrograd::Value as Node;

/// The op's name as karpathy's `_op` shows it.
#[derive(Clone)]
enum OpName {
    Static(&'static str),
    Owned(String),
}

/// A neuron's weights, its layer's inputs and its bias.
pub(crate) type AffineKids = (Vec<Py<PyValue>>, Py<PyList>, Py<PyValue>);

/// The objects a node was made from, in operand order.
enum Kids {
    Zero,
    One(Py<PyValue>),
    Two(Py<PyValue>, Py<PyValue>),
    Many(Box<[Py<PyValue>]>),
    /// A neuron of `nn`: its weights, the layer's inputs (one list shared by
    /// the layer's neurons, never handed out) and its bias.
    Affine(Box<AffineKids>),
    /// A node of a whole `MLP`'s forward, made in one call: its children
    /// become Python objects only when asked for.
    Lazy(Box<Lazy>),
}

impl Kids {
    /// The children as objects; `slot` is the node's own (a lazy node finds
    /// its children on the tape below it).
    fn to_vec(&self, py: Python<'_>, slot: Slot) -> PyResult<Vec<Py<PyValue>>> {
        Ok(match self {
            Kids::Lazy(l) => return l.kids(py, slot),
            Kids::Zero => Vec::new(),
            Kids::One(a) => vec![a.clone_ref(py)],
            Kids::Two(a, b) => vec![a.clone_ref(py), b.clone_ref(py)],
            Kids::Many(v) => v.iter().map(|k| k.clone_ref(py)).collect(),
            Kids::Affine(k) => {
                let (w, x, b) = &**k;
                let x = x
                    .bind(py)
                    .iter()
                    .map(|xi| xi.cast_into::<PyValue>().map(Bound::unbind));
                let w = w.iter().map(|k| k.clone_ref(py));
                w.chain(x.flatten()).chain([b.clone_ref(py)]).collect()
            }
        })
    }
}

/// A scalar, its gradient, and the graph that made it.
///
/// `Value(data, _children=(), _op='', label='')` as in karpathy's micrograd
/// (plus the `label` of the lectures). Children given to the constructor are
/// shown by `_prev` and drawn, but gradients flow only through the ops.
// `weakref`: a fused forward remembers the objects it made for inner nodes
// weakly (`nn::Lazy`), so that asking twice gives the same object.
#[pyclass(name = "Value", module = "micrograd.engine", frozen, weakref)]
pub(crate) struct PyValue {
    slot: Slot,
    kids: Kids,
    op: OpName,
}

/// How deep frees of values may nest before the children of the next one
/// wait on [`DOOMED`]: freeing a chain of 10^5 values must not take 10^5
/// stack frames.
const MAX_DEPTH: u32 = 32;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Children whose release was deferred; the outermost free lets them go.
    static DOOMED: RefCell<Vec<Kids>> = const { RefCell::new(Vec::new()) };
}

impl Drop for PyValue {
    fn drop(&mut self) {
        arena::release(self.slot);
        let kids = std::mem::replace(&mut self.kids, Kids::Zero);
        if matches!(kids, Kids::Zero) {
            return;
        }
        let Ok(depth) = DEPTH.try_with(Cell::get) else {
            return; // the thread is tearing down: let Python free them
        };
        if depth >= MAX_DEPTH {
            DOOMED.with(|d| d.borrow_mut().push(kids));
            return;
        }
        DEPTH.set(depth + 1);
        drop(kids); // frees nest at most MAX_DEPTH deep
        if depth == 0 {
            while let Some(next) = DOOMED.with(|d| d.borrow_mut().pop()) {
                drop(next);
            }
        }
        DEPTH.set(depth);
    }
}

/// A number for `what`, or a `TypeError` that names it.
pub(crate) fn number(x: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    if x.is_instance_of::<PyString>() {
        return Err(not_a_number(x, what));
    }
    x.extract::<f64>().map_err(|_| not_a_number(x, what))
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

impl PyValue {
    fn make(py: Python<'_>, slot: Slot, kids: Kids, op: OpName) -> PyResult<Bound<'_, PyValue>> {
        let v = Bound::new(py, PyValue { slot, kids, op })?;
        // pyo3 makes every object of a class tracked by Python's cycle
        // collector, which then walks all the values of a graph, over and
        // over, while a training step makes them: karpathy's demo step with
        // his nn.py takes 33 ms tracked, 18 ms untracked. A value can be in no
        // cycle (its children were all made before it, and nothing it holds
        // can be changed to point at a newer one), so there is nothing for
        // the collector to find.
        // SAFETY: `v` is a live object of our class, made just now, and
        // untracking is idempotent (tp_dealloc untracks again).
        unsafe { pyo3::ffi::PyObject_GC_UnTrack(v.as_ptr().cast()) };
        Ok(v)
    }

    /// A new leaf holding `x`.
    pub(crate) fn leaf(py: Python<'_>, x: f64) -> PyResult<Bound<'_, PyValue>> {
        let [s] = arena::apply([], |[]| [Node::new(x)])?;
        PyValue::make(py, s, Kids::Zero, OpName::Static(""))
    }

    /// The object for a neuron's `w·x + b`, already in `slot` (the layers of `nn`).
    pub(crate) fn affine<'py>(
        py: Python<'py>,
        slot: Slot,
        kids: AffineKids,
    ) -> PyResult<Bound<'py, PyValue>> {
        let kids = Kids::Affine(Box::new(kids));
        PyValue::make(py, slot, kids, OpName::Static("affine"))
    }

    /// The object for a node of a fused forward, already in `slot`.
    pub(crate) fn lazy<'py>(
        py: Python<'py>,
        slot: Slot,
        lazy: Lazy,
        op: &'static str,
    ) -> PyResult<Bound<'py, PyValue>> {
        PyValue::make(py, slot, Kids::Lazy(Box::new(lazy)), OpName::Static(op))
    }

    /// The object for `relu(a)`, already in `slot`.
    pub(crate) fn relu_of<'py>(
        a: Bound<'py, PyValue>,
        slot: Slot,
    ) -> PyResult<Bound<'py, PyValue>> {
        PyValue::make(a.py(), slot, Kids::One(a.unbind()), OpName::Static("ReLU"))
    }

    pub(crate) fn node(&self) -> PyResult<Node> {
        arena::get(self.slot)
    }

    pub(crate) fn slot(&self) -> Slot {
        self.slot
    }

    fn unary<'py>(
        slf: &Bound<'py, PyValue>,
        op: &'static str,
        f: impl FnOnce(Node) -> Node,
    ) -> PyResult<Bound<'py, PyValue>> {
        let [s] = arena::apply([slf.get().slot], |[a]| [f(a)])?;
        PyValue::make(
            slf.py(),
            s,
            Kids::One(slf.clone().unbind()),
            OpName::Static(op),
        )
    }

    fn binary<'py>(
        a: &Bound<'py, PyValue>,
        b: &Bound<'py, PyValue>,
        op: &'static str,
        f: impl FnOnce(Node, Node) -> Node,
    ) -> PyResult<Bound<'py, PyValue>> {
        let [s] = arena::apply([a.get().slot, b.get().slot], |[x, y]| [f(x, y)])?;
        let kids = Kids::Two(a.clone().unbind(), b.clone().unbind());
        PyValue::make(a.py(), s, kids, OpName::Static(op))
    }

    fn add<'py>(a: &Bound<'py, PyValue>, b: &Bound<'py, PyValue>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::binary(a, b, "+", |x, y| x + y)
    }

    fn mul<'py>(a: &Bound<'py, PyValue>, b: &Bound<'py, PyValue>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::binary(a, b, "*", |x, y| x * y)
    }

    /// `a ** p` for a number `p`, shown as karpathy shows it (`**2`, `**-1`).
    fn pow_number<'py>(
        a: &Bound<'py, PyValue>,
        p: f64,
        shown: String,
    ) -> PyResult<Bound<'py, PyValue>> {
        let [s] = arena::apply([a.get().slot], |[x]| [x.pow(p)])?;
        PyValue::make(
            a.py(),
            s,
            Kids::One(a.clone().unbind()),
            OpName::Owned(format!("**{shown}")),
        )
    }

    fn neg<'py>(a: &Bound<'py, PyValue>) -> PyResult<Bound<'py, PyValue>> {
        let minus_one = PyValue::leaf(a.py(), -1.0)?;
        PyValue::mul(a, &minus_one)
    }
}

/// `other` as a `Value` (a number becomes a new leaf, as in karpathy's ops),
/// or `None` for anything else: the op then returns `NotImplemented` and
/// Python raises its usual `TypeError`.
fn operand<'py>(other: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyValue>>> {
    if let Ok(v) = other.cast::<PyValue>() {
        return Ok(Some(v.clone()));
    }
    as_number(other)
        .map(|x| PyValue::leaf(other.py(), x))
        .transpose()
}

/// `other` as a plain number (anything with `__float__` but a string).
fn as_number(other: &Bound<'_, PyAny>) -> Option<f64> {
    if other.is_instance_of::<PyString>() {
        return None;
    }
    other.extract::<f64>().ok()
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
    fn new(
        data: &Bound<'_, PyAny>,
        _children: Option<&Bound<'_, PyAny>>,
        _op: &str,
        label: &str,
    ) -> PyResult<PyValue> {
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
        let [s] = arena::apply([], |[]| [Node::new(x)])?;
        if !label.is_empty() {
            arena::get(s)?.set_label(label);
        }
        let op = if _op.is_empty() {
            OpName::Static("")
        } else {
            OpName::Owned(_op.to_owned())
        };
        let kids = if kids.is_empty() {
            Kids::Zero
        } else {
            Kids::Many(kids.into())
        };
        Ok(PyValue { slot: s, kids, op })
    }

    /// The number this node holds.
    #[getter]
    fn data(&self) -> PyResult<f64> {
        Ok(self.node()?.data())
    }

    #[setter]
    fn set_data(&self, x: &Bound<'_, PyAny>) -> PyResult<()> {
        self.node()?.set_data(number(x, "Value.data")?);
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
        PySet::new(py, self.kids.to_vec(py, self.slot)?)
    }

    /// The op that made this value (`'+'`, `'*'`, `'**2'`, `'ReLU'`), `''` for a leaf.
    #[getter]
    fn _op(&self) -> &str {
        match &self.op {
            OpName::Static(s) => s,
            OpName::Owned(s) => s,
        }
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
            let inv = PyValue::pow_number(v, -1.0, "-1".to_owned())?;
            return Ok(PyValue::mul(slf, &inv)?.into_any().unbind());
        }
        match as_number(other) {
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
            PyValue::mul(&PyValue::pow_number(a, -1.0, "-1".to_owned())?, b)
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
            return Ok(PyValue::binary(slf, p, "**", |x, y| x.pow(y))?
                .into_any()
                .unbind());
        }
        match as_number(other) {
            Some(p) => {
                let shown = other.str()?.to_string();
                Ok(PyValue::pow_number(slf, p, shown)?.into_any().unbind())
            }
            None => Ok(slf.py().NotImplemented()),
        }
    }

    /// max(0, x); its op is shown as `ReLU`.
    fn relu<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::unary(slf, "ReLU", Node::relu)
    }

    /// tanh(x), as in the lectures.
    fn tanh<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::unary(slf, "tanh", Node::tanh)
    }

    /// e^x, as in the lectures.
    fn exp<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyValue>> {
        PyValue::unary(slf, "exp", Node::exp)
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

    /// A tuple of the children in operand order (`_prev` is a set).
    #[getter]
    fn _children<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.kids.to_vec(py, self.slot)?)
    }
}
