//! `Value`: a handle to one scalar node on this thread's tape, and its
//! one-node methods. Every op's forward formula and chain rule are in
//! `ops.rs`; Rust's operators are in `operators.rs`, the ops with many
//! operands in `many.rs`.

use std::fmt;
use std::marker::PhantomData;

use super::operators::Exponent;
use super::ops::Op;
use super::tape::{self, Tape};

/// A scalar in an expression graph: its `data`, its `grad`, the op that made
/// it and its children.
///
/// `Value` is a small `Copy` handle (16 bytes: where its node is, and a copy
/// of its number) into this thread's tape, so arithmetic reads as in the
/// lecture, with no `&` and no `.clone()`:
///
/// ```
/// use micrograd::Value;
///
/// let x1 = Value::new(2.0).with_label("x1");
/// let x2 = Value::new(0.0).with_label("x2");
/// let w1 = Value::new(-3.0).with_label("w1");
/// let w2 = Value::new(1.0).with_label("w2");
/// let b = Value::new(6.8813735870195432).with_label("b");
/// let n = x1*w1 + x2*w2 + b;
/// let o = n.tanh().with_label("o");
/// o.backward();
/// assert!((o.data() - 0.7071067811865476).abs() < 1e-12);
/// assert!((x1.grad() - -1.5).abs() < 1e-12);
/// assert!((w1.grad() - 1.0).abs() < 1e-12);
/// ```
///
/// Math is IEEE 754 `f64`: NaN and infinity propagate through every op and
/// every gradient, as in PyTorch. [`Value::find_non_finite`] finds the first
/// node where one appeared.
///
/// A `Value` is tied to the thread that made it (it is neither `Send` nor
/// `Sync`); each thread has its own tape. Values made inside a
/// [`scope`](crate::scope) are freed when the scope ends, and using one after
/// that panics with a message saying so: it never reads another node's number.
#[derive(Clone, Copy)]
pub struct Value {
    pub(crate) idx: u32,
    pub(crate) scope: u32,
    /// The node's number when this handle was made. An op uses it in place
    /// of the tape's copy when the two have the same bits (a handle made
    /// before a `set_data` does not), so that a chain of ops keeps its
    /// numbers in registers instead of waiting, node after node, for each
    /// to go through memory.
    x: f64,
    _thread: PhantomData<*const ()>,
}

/// Two handles are equal when they are the same node.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        (self.idx, self.scope) == (other.idx, other.scope)
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.idx, self.scope).hash(state);
    }
}

impl Value {
    /// The handle of node `idx`, made in scope `scope`.
    #[inline]
    pub(crate) fn at(t: &Tape, idx: u32, scope: u32) -> Value {
        Value::holding(idx, scope, t.data[idx as usize])
    }

    #[inline(always)]
    fn holding(idx: u32, scope: u32, x: f64) -> Value {
        Value {
            idx,
            scope,
            x,
            _thread: PhantomData,
        }
    }

    /// Whether an op may use this handle's copy of its number: its node is
    /// live in the innermost scope or the root (checked as [`live`](Self::live)
    /// checks it, without a call) and holds the same bits.
    #[inline(always)]
    fn fresh(self, t: &Tape) -> bool {
        t.is_current(self.scope)
            && t.data
                .get(self.idx as usize)
                .is_some_and(|d| d.to_bits() == self.x.to_bits())
    }

    /// Panics if this handle's node has been freed.
    #[inline]
    pub(crate) fn live(self, t: &Tape) -> usize {
        t.check(self.idx, self.scope);
        self.idx as usize
    }

    #[inline(always)]
    pub(super) fn make(
        t: &mut Tape,
        op: Op,
        args: [u32; 2],
        data: impl FnOnce(&[f64]) -> f64,
    ) -> Value {
        let i = t.push(op, args, data);
        Value::holding(i, t.current, t.data[i as usize])
    }

    /// An op's node, pushed on its fast path.
    ///
    /// # Safety
    ///
    /// [`Tape::fast`] must hold.
    #[inline(always)]
    unsafe fn push_fast(t: &mut Tape, op: Op, args: [u32; 2], konst: Option<f64>, x: f64) -> Value {
        let scope = t.current; // read before the stores, as in `push_unchecked`
        // SAFETY: the caller's promise.
        let i = unsafe { t.push_unchecked(op, args, konst, x) };
        Value::holding(i, scope, x)
    }

    /// A new leaf (an input or a parameter) holding `data`, with gradient 0.
    ///
    /// ```
    /// let a = micrograd::Value::new(2.0);
    /// assert_eq!(a.data(), 2.0);
    /// assert_eq!(a.grad(), 0.0);
    /// ```
    #[inline]
    pub fn new(data: f64) -> Value {
        tape::with(|t| Value::make(t, Op::Leaf, [0, 0], |_| data))
    }

    /// The number this node holds.
    ///
    /// ```
    /// let c = micrograd::Value::new(2.0) * 3.0;
    /// assert_eq!(c.data(), 6.0);
    /// ```
    #[inline]
    pub fn data(self) -> f64 {
        tape::with(|t| {
            let i = self.live(t);
            t.note_read(i);
            t.data[i]
        })
    }

    /// d(root)/d(self) from the last [`backward`](Value::backward), 0 before any.
    ///
    /// ```
    /// use micrograd::Value;
    /// let a = Value::new(3.0);
    /// let b = a * a;
    /// assert_eq!(a.grad(), 0.0);
    /// b.backward();
    /// assert_eq!(a.grad(), 6.0);
    /// ```
    #[inline]
    pub fn grad(self) -> f64 {
        tape::with(|t| t.grad_of(self.live(t) as u32))
    }

    /// Overwrites the data, as `p.data -= lr * p.grad` does in micrograd.
    ///
    /// It changes this node only: nodes computed from it keep their numbers
    /// until the expression is built again. Meant for leaves (parameters):
    /// on a node made by `tanh`, `exp` or `sigmoid`, whose derivative is
    /// computed from its own output, it changes the gradient that `backward`
    /// passes through it too, as in micrograd:
    ///
    /// ```
    /// use micrograd::Value;
    /// let x = Value::new(0.5);
    /// let y = x.tanh();
    /// y.set_data(0.0); // tanh' = 1 - y², read from y
    /// y.backward();
    /// assert_eq!(x.grad(), 1.0);
    /// ```
    ///
    /// ```
    /// let p = micrograd::Value::new(1.0);
    /// p.set_data(p.data() - 0.1 * 2.0);
    /// assert_eq!(p.data(), 0.8);
    /// ```
    #[inline]
    pub fn set_data(self, data: f64) {
        tape::with(|t| {
            let i = self.live(t);
            t.data[i] = data;
        })
    }

    /// The same node's handle, carrying the number the node holds now.
    ///
    /// A `Value` carries a copy of its node's number, which ops use in place
    /// of the tape's while the two agree. After a [`set_data`](Value::set_data),
    /// copies of the handle made before it read the tape instead, which is
    /// a little slower; a table that keeps handles and writes numbers
    /// through them (the Python package's) keeps its own current this way.
    ///
    /// ```
    /// use micrograd::Value;
    /// let p = Value::new(1.0);
    /// p.set_data(2.0);
    /// let q = p.refreshed();
    /// assert_eq!(q, p); // the same node
    /// assert_eq!((q * 3.0).data(), 6.0);
    /// ```
    pub fn refreshed(self) -> Value {
        tape::with(|t| Value::at(t, self.live(t) as u32, self.scope))
    }

    /// Overwrites the gradient (`p.grad = 0.0` in micrograd).
    ///
    /// ```
    /// let p = micrograd::Value::new(1.0);
    /// p.set_grad(0.5);
    /// assert_eq!(p.grad(), 0.5);
    /// ```
    pub fn set_grad(self, grad: f64) {
        tape::with(|t| {
            let i = self.live(t);
            t.write_grad(i, grad);
        })
    }

    /// Names this value (for [`draw_dot`](crate::viz::draw_dot) and `Debug`) and returns it.
    ///
    /// ```
    /// let x = micrograd::Value::new(2.0).with_label("x");
    /// assert_eq!(x.label(), "x");
    /// ```
    pub fn with_label(self, label: &str) -> Value {
        self.set_label(label);
        self
    }

    /// Names this value after the fact, like `L.label = 'L'` in the lecture.
    ///
    /// ```
    /// use micrograd::Value;
    /// let l = Value::new(0.8) - Value::new(0.5);
    /// l.set_label("L");
    /// assert_eq!(l.label(), "L");
    /// ```
    pub fn set_label(self, label: &str) {
        tape::with(|t| {
            let i = self.live(t) as u32;
            t.labels.insert(i, label.to_owned());
        })
    }

    /// The label, or `""` if none was given.
    ///
    /// ```
    /// assert_eq!(micrograd::Value::new(1.0).label(), "");
    /// ```
    pub fn label(self) -> String {
        tape::with(|t| {
            let i = self.live(t) as u32;
            t.labels.get(&i).cloned().unwrap_or_default()
        })
    }

    /// The op that made this value, as micrograd's graphs print it
    /// (`"+"`, `"*"`, `"tanh"`, `"**2"`, ...), or `""` for a leaf.
    ///
    /// ```
    /// use micrograd::Value;
    /// let x = Value::new(3.0);
    /// assert_eq!(x.op(), "");
    /// assert_eq!((x * x).op(), "*");
    /// assert_eq!(x.pow(2.0).op(), "**2");
    /// ```
    pub fn op(self) -> String {
        tape::with(|t| {
            let i = self.live(t);
            let op = t.op[i];
            match op {
                Op::PowC => format!("**{}", t.consts[t.args[i][1] as usize]),
                _ => op.symbol().to_owned(),
            }
        })
    }

    /// The values this one was computed from, in operand order.
    ///
    /// Constants (`x * 3.0`) are kept inside the node, not as children.
    ///
    /// ```
    /// use micrograd::Value;
    /// let a = Value::new(1.0);
    /// let b = Value::new(2.0);
    /// assert_eq!((a + b).children(), vec![a, b]);
    /// assert_eq!((a * 3.0).children(), vec![a]);
    /// ```
    pub fn children(self) -> Vec<Value> {
        tape::with(|t| {
            let i = self.live(t);
            t.children(i)
                .iter()
                .map(|&c| Value::at(t, c, t.scope_of(c)))
                .collect()
        })
    }

    /// Where this node sits on the tape (its creation index). Stable while it lives.
    ///
    /// ```
    /// use micrograd::Value;
    /// let a = Value::new(1.0);
    /// let b = a + 1.0;
    /// assert!(b.id() > a.id());
    /// ```
    pub fn id(self) -> usize {
        tape::with(|t| self.live(t))
    }

    /// [`id`](Value::id) without the check that the node still lives: one
    /// field read, for a table kept beside the tape and indexed by node (the
    /// Python package maps nodes to its objects this way). After the node's
    /// scope has ended, or after a [`compact`](crate::compact) that did not
    /// rewrite this handle, the number may be another node's.
    ///
    /// ```
    /// use micrograd::Value;
    /// let a = Value::new(1.0);
    /// let b = a * 2.0;
    /// assert_eq!((a.raw_id(), b.raw_id()), (a.id(), b.id()));
    /// ```
    #[inline]
    pub fn raw_id(self) -> usize {
        self.idx as usize
    }

    // ----- ops with one operand -------------------------------------------------

    // Each op has a fast path, taken when the tape is free, has room, and
    // the operands' handles are fresh: it makes no call at all, so the
    // operands' numbers stay in registers from one op to the next (through
    // memory a chain ran slower: BENCHMARKS.md, design choices). Anything else takes the
    // general path, out of line; it returns its handle as two numbers, which
    // come back in registers (a whole `Value` would come back through the
    // stack, and drag the fast path's result there with it).

    #[inline(always)]
    pub(super) fn unary(self, op: Op) -> Value {
        // SAFETY: no call until `t` is dropped, at the end of this block.
        if let Some(t) = unsafe { tape::unborrowed() }
            && t.fast()
            && self.fresh(t)
        {
            // SAFETY: `fast` holds.
            return unsafe {
                Value::push_fast(t, op, [self.idx, 0], None, op.forward(self.x, 0.0, 0.0))
            };
        }
        Value::unpack(Value::unary_slow(self.pack(), op))
    }

    #[cold]
    #[inline(never)]
    fn unary_slow(a: (u64, f64), op: Op) -> (u64, f64) {
        let this = Value::unpack(a);
        // SAFETY: the guard lives in this function only.
        let t = &mut *unsafe { tape::borrow() };
        let a = this.live(t);
        Value::make(t, op, [a as u32, 0], |d| op.forward(d[a], 0.0, 0.0)).pack()
    }

    #[inline(always)]
    pub(super) fn with_const(self, op: Op, c: f64) -> Value {
        // SAFETY: no call until `t` is dropped, at the end of this block.
        if let Some(t) = unsafe { tape::unborrowed() }
            && t.fast()
            && self.fresh(t)
        {
            // SAFETY: `fast` holds, so no replay records, and this node
            // stores one constant at most.
            let keep = op.needs_const().then_some(c);
            return unsafe {
                Value::push_fast(t, op, [self.idx, 0], keep, op.forward(self.x, 0.0, c))
            };
        }
        Value::unpack(Value::with_const_slow(self.pack(), op, c))
    }

    #[cold]
    #[inline(never)]
    fn with_const_slow(a: (u64, f64), op: Op, c: f64) -> (u64, f64) {
        let this = Value::unpack(a);
        // SAFETY: the guard lives in this function only.
        let t = &mut *unsafe { tape::borrow() };
        let a = this.live(t);
        let k = if Value::keeps(op, t) { t.konst(c) } else { 0 };
        Value::make(t, op, [a as u32, k], |d| op.forward(d[a], 0.0, c)).pack()
    }

    /// Whether an op with a constant stores it: backward needs it for
    /// `*`, `/` and `**`; a replay needs it for every op.
    #[inline(always)]
    fn keeps(op: Op, t: &Tape) -> bool {
        op.needs_const() || t.recording()
    }

    #[inline(always)]
    pub(super) fn binary(self, other: Value, op: Op) -> Value {
        // SAFETY: no call until `t` is dropped, at the end of this block.
        if let Some(t) = unsafe { tape::unborrowed() }
            && t.fast()
            && self.fresh(t)
            && other.fresh(t)
        {
            let x = op.forward(self.x, other.x, 0.0);
            // SAFETY: `fast` holds.
            return unsafe { Value::push_fast(t, op, [self.idx, other.idx], None, x) };
        }
        Value::unpack(Value::binary_slow(self.pack(), other.pack(), op))
    }

    #[cold]
    #[inline(never)]
    fn binary_slow(a: (u64, f64), b: (u64, f64), op: Op) -> (u64, f64) {
        let (this, other) = (Value::unpack(a), Value::unpack(b));
        // SAFETY: the guard lives in this function only.
        let t = &mut *unsafe { tape::borrow() };
        let a = this.live(t);
        let b = other.live(t);
        Value::make(t, op, [a as u32, b as u32], |d| op.forward(d[a], d[b], 0.0)).pack()
    }

    /// This handle as two numbers, for the general paths to take and
    /// return in registers.
    #[inline(always)]
    fn pack(self) -> (u64, f64) {
        (u64::from(self.idx) | u64::from(self.scope) << 32, self.x)
    }

    #[inline(always)]
    fn unpack((key, x): (u64, f64)) -> Value {
        Value::holding(key as u32, (key >> 32) as u32, x)
    }

    /// `self ** exponent`, for an `f64`, an `i32` or a `Value` exponent.
    ///
    /// d/dx x^p = p·x^(p-1); with a `Value` exponent, d/dp x^p = x^p·ln x as well.
    /// As in PyTorch, a zero exponent has gradient 0 everywhere, and the
    /// exponent's gradient is 0 where x = 0 and p ≥ 0.
    ///
    /// ```
    /// use micrograd::Value;
    /// let x = Value::new(3.0);
    /// let y = x.pow(2);
    /// y.backward();
    /// assert_eq!((y.data(), x.grad()), (9.0, 6.0));
    ///
    /// let p = Value::new(2.0);
    /// let z = x.pow(p);
    /// z.backward();
    /// assert!((p.grad() - 9.0 * 3f64.ln()).abs() < 1e-12);
    /// ```
    pub fn pow(self, exponent: impl Exponent) -> Value {
        exponent.raise(self)
    }

    /// e^x. d/dx = e^x, the output itself.
    ///
    /// ```
    /// let y = micrograd::Value::new(0.0).exp();
    /// assert_eq!(y.data(), 1.0);
    /// ```
    pub fn exp(self) -> Value {
        self.unary(Op::Exp)
    }

    /// Natural log. d/dx = 1/x. ln of a negative number is NaN, of 0 is -inf.
    ///
    /// ```
    /// let x = micrograd::Value::new(1.0);
    /// let y = x.ln();
    /// y.backward();
    /// assert_eq!((y.data(), x.grad()), (0.0, 1.0));
    /// ```
    pub fn ln(self) -> Value {
        self.unary(Op::Ln)
    }

    /// Hyperbolic tangent. d/dx = 1 - tanh²x.
    ///
    /// Uses `f64::tanh`, which is exact at ±1000 where the lecture's
    /// `(e^2x - 1)/(e^2x + 1)` overflows to NaN.
    ///
    /// ```
    /// use micrograd::Value;
    /// assert_eq!(Value::new(1000.0).tanh().data(), 1.0);
    /// assert_eq!(Value::new(-1000.0).tanh().data(), -1.0);
    /// ```
    pub fn tanh(self) -> Value {
        self.unary(Op::Tanh)
    }

    /// max(x, 0). d/dx = 1 if x > 0 else 0, so relu'(0) = 0 as in PyTorch.
    /// relu(NaN) is NaN.
    ///
    /// ```
    /// use micrograd::Value;
    /// let x = Value::new(0.0);
    /// let y = x.relu();
    /// y.backward();
    /// assert_eq!((y.data(), x.grad()), (0.0, 0.0));
    /// assert_eq!(Value::new(-2.0).relu().data(), 0.0);
    /// ```
    pub fn relu(self) -> Value {
        self.unary(Op::Relu)
    }

    /// 1 / (1 + e^-x), computed without overflow for any x. d/dx = σ(x)(1 - σ(x)).
    ///
    /// ```
    /// use micrograd::Value;
    /// assert_eq!(Value::new(0.0).sigmoid().data(), 0.5);
    /// assert_eq!(Value::new(-1000.0).sigmoid().data(), 0.0);
    /// ```
    pub fn sigmoid(self) -> Value {
        self.unary(Op::Sigmoid)
    }

    /// ln(1 + e^x), computed without overflow. d/dx = σ(x).
    ///
    /// ```
    /// use micrograd::Value;
    /// assert!((Value::new(0.0).softplus().data() - 2f64.ln()).abs() < 1e-15);
    /// assert_eq!(Value::new(1000.0).softplus().data(), 1000.0);
    /// ```
    pub fn softplus(self) -> Value {
        self.unary(Op::Softplus)
    }
}

impl fmt::Display for Value {
    /// `Value(data=0.7071067811865476, grad=0)`, as micrograd prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value(data={}, grad={})", self.data(), self.grad())
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (data, grad, op, label) = tape::with(|t| {
            let i = self.live(t);
            (
                t.data[i],
                t.grad_of(i as u32),
                t.op[i].symbol(),
                t.labels.get(&(i as u32)).cloned().unwrap_or_default(),
            )
        });
        write!(
            f,
            "Value(data={data}, grad={grad}, op={op:?}, label={label:?}, id={})",
            self.idx
        )
    }
}
