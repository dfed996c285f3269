//! Reverse mode: one loop down the tape, each node's chain rule taken from [`Op::chain`](super::ops::Op::chain).

use std::fmt;
use std::io::Write;

use super::tape::{self, NO_GRAD, Op, Tape};
use super::value::Value;

/// Nodes the root depends on, found while walking down the tape.
///
/// A node is marked when a node above it that is itself marked names it as a
/// child; since children always sit below their parents, one downward pass
/// marks exactly the nodes reachable from the root.
pub(super) struct Marks<'a> {
    pub(super) bits: &'a mut [u64],
}

impl Marks<'_> {
    #[inline(always)]
    pub(super) fn test_and_set(&mut self, i: usize) -> bool {
        let (w, bit) = (i >> 6, 1u64 << (i & 63));
        let was = self.bits[w] & bit != 0;
        self.bits[w] |= bit;
        was
    }

    #[inline(always)]
    pub(super) fn is_set(&self, i: usize) -> bool {
        self.bits[i >> 6] & (1 << (i & 63)) != 0
    }

    /// The highest marked index `<= i`, skipping empty words whole.
    #[inline(always)]
    fn prev_marked(&self, mut i: usize) -> Option<usize> {
        if self.bits[i >> 6] & (1 << (i & 63)) != 0 {
            return Some(i); // the common case: the node just below is marked
        }
        loop {
            let w = i >> 6;
            let below = self.bits[w] << (63 - (i & 63)); // bits 0..=i, moved to the top
            if below != 0 {
                return Some(i - below.leading_zeros() as usize);
            }
            if w == 0 {
                return None;
            }
            i = (w << 6) - 1;
        }
    }
}

pub(super) fn reset_marks(marks: &mut Vec<u64>, n: usize) {
    marks.clear();
    marks.resize(n.div_ceil(64), 0);
}

/// The gradient store of one backward pass.
///
/// A slot holding [`NO_GRAD`] has received nothing yet in this pass: the first
/// contribution replaces it, later ones add. Interior nodes below the root
/// are reset to `NO_GRAD` before the pass, so each ends up holding
/// d(root)/d(node) of this pass; leaves (inputs, parameters) keep what they
/// had and add to it, which is micrograd's and PyTorch's accumulation.
///
/// It also keeps the frontier: the lowest interior node that has received a
/// gradient. The pass stops below it, so it costs the nodes the root reaches,
/// not the tape below them. Leaves are written here and never visited, so
/// parameters made long before (at the bottom of the tape) do not pull the
/// frontier down to them.
///
/// And it remembers the last slot it wrote, with the number written. A node's
/// gradient is often written by the node just above it (a chain is nothing
/// else), and the loop then takes it from this register copy instead of
/// loading what was stored a moment before, which waits for the store to
/// reach the load. This and the frontier in a register (see [`pass`]) are
/// most of the backward's speed on a chain (BENCHMARKS.md, design choices).
struct Grads<'a> {
    grad: &'a mut [f64],
    op: &'a [Op],
    low: usize,
    last: (usize, f64),
}

impl Grads<'_> {
    #[inline(always)]
    fn add(&mut self, child: u32, x: f64) {
        let c = child as usize;
        let g = &mut self.grad[c];
        let v = if g.to_bits() == NO_GRAD { x } else { *g + x };
        *g = v;
        self.last = (c, v);
        // `&`, not `&&`: a select rather than a branch to a shared tail, one
        // taken jump fewer per child (0.5 fewer cycles a node on a chain)
        let lower = (c < self.low) & (self.op[c] != Op::Leaf);
        self.low = if lower { c } else { self.low };
    }
}

/// Where [`propagate`] sends each child's share of a node's gradient.
trait Sink {
    fn add(&mut self, child: u32, x: f64);
}

impl Sink for Grads<'_> {
    #[inline(always)]
    fn add(&mut self, child: u32, x: f64) {
        Grads::add(self, child, x);
    }
}

/// One node's step of the chain rule: sends `gi · ∂node/∂child` to `g` for
/// each child of node `i`, with each op's rule from [`Op::chain`];
/// `backward` runs it with the gradient store, [`Value::local_grads`] with
/// `gi = 1` to show the derivatives themselves.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn propagate(
    i: usize,
    gi: f64,
    op: &[Op],
    data: &[f64],
    args: &[[u32; 2]],
    consts: &[f64],
    kids: &[u32],
    g: &mut impl Sink,
) {
    let (ai, bi) = (args[i][0] as usize, args[i][1] as usize);
    // Each arm names its op as a constant, so that the rule folds to that
    // op's formula and reads only what the formula needs.
    match op[i] {
        Op::Leaf => {}
        Op::Add => two(Op::Add, i, gi, data, args[i], g),
        Op::Sub => two(Op::Sub, i, gi, data, args[i], g),
        Op::Mul => two(Op::Mul, i, gi, data, args[i], g),
        Op::Div => two(Op::Div, i, gi, data, args[i], g),
        Op::Pow => two(Op::Pow, i, gi, data, args[i], g),
        Op::Neg => one(Op::Neg, i, gi, data, consts, args[i], g),
        Op::AddC => one(Op::AddC, i, gi, data, consts, args[i], g),
        Op::SubC => one(Op::SubC, i, gi, data, consts, args[i], g),
        Op::MulC => one(Op::MulC, i, gi, data, consts, args[i], g),
        Op::DivC => one(Op::DivC, i, gi, data, consts, args[i], g),
        Op::RSubC => one(Op::RSubC, i, gi, data, consts, args[i], g),
        Op::RDivC => one(Op::RDivC, i, gi, data, consts, args[i], g),
        Op::PowC => one(Op::PowC, i, gi, data, consts, args[i], g),
        Op::Exp => one(Op::Exp, i, gi, data, consts, args[i], g),
        Op::Ln => one(Op::Ln, i, gi, data, consts, args[i], g),
        Op::Tanh => one(Op::Tanh, i, gi, data, consts, args[i], g),
        Op::Relu => one(Op::Relu, i, gi, data, consts, args[i], g),
        Op::Sigmoid => one(Op::Sigmoid, i, gi, data, consts, args[i], g),
        Op::Softplus => one(Op::Softplus, i, gi, data, consts, args[i], g),
        Op::Sum => many(Op::Sum, i, gi, data, &kids[ai..ai + bi], g),
        Op::LogSumExp => many(Op::LogSumExp, i, gi, data, &kids[ai..ai + bi], g),
        Op::Dot | Op::Affine => {
            let (w, x) = kids[ai..ai + 2 * bi].split_at(bi);
            for (&wk, &xk) in w.iter().zip(x) {
                let (wv, xv) = (|| data[wk as usize], || data[xk as usize]);
                g.add(wk, Op::Dot.chain_many(gi, wv, xv, || data[i]));
                g.add(xk, Op::Dot.chain_many(gi, xv, wv, || data[i]));
            }
            if op[i] == Op::Affine {
                g.add(
                    kids[ai + 2 * bi],
                    Op::Affine.chain_many(gi, || 1.0, || 1.0, || data[i]),
                );
            }
        }
    }
}

/// The chain rule through node `i`, a `Sum` or `LogSumExp` of `zs`.
#[inline(always)]
fn many(o: Op, i: usize, gi: f64, data: &[f64], zs: &[u32], g: &mut impl Sink) {
    for &k in zs {
        g.add(k, o.chain_many(gi, || data[k as usize], || 1.0, || data[i]));
    }
}

/// The chain rule through node `i`, an op with one child.
#[inline(always)]
fn one(
    o: Op,
    i: usize,
    gi: f64,
    data: &[f64],
    consts: &[f64],
    [a, c]: [u32; 2],
    g: &mut impl Sink,
) {
    let x = || data[a as usize];
    g.add(
        a,
        o.chain(0, gi, x, || 0.0, || consts[c as usize], || data[i]),
    );
}

/// The chain rule through node `i`, an op with two children.
#[inline(always)]
fn two(o: Op, i: usize, gi: f64, data: &[f64], [a, b]: [u32; 2], g: &mut impl Sink) {
    let (x, y) = (|| data[a as usize], || data[b as usize]);
    let da = o.chain(0, gi, x, y, || 0.0, || data[i]);
    let db = o.chain(1, gi, x, y, || 0.0, || data[i]);
    g.add(a, da);
    g.add(b, db);
}

/// The chain rule down the tape from `root`; returns the frontier.
///
/// Its own function, over slices cut to one length, so that the loop keeps
/// the frontier and every pointer in registers: inside `Tape::backward` it
/// kept the frontier on the stack (BENCHMARKS.md, design choices).
#[inline(never)]
fn pass(
    root: usize,
    data: &[f64],
    grad: &mut [f64],
    op: &[Op],
    args: &[[u32; 2]],
    consts: &[f64],
    kids: &[u32],
) -> usize {
    let n = grad.len();
    let (data, op, args) = (&data[..n], &op[..n], &args[..n]);
    let mut g = Grads {
        grad,
        op,
        low: root,
        last: (usize::MAX, 0.0),
    };
    g.add(root as u32, 1.0);
    let mut i = root + 1;
    while i > g.low {
        i -= 1;
        let gi = if g.last.0 == i { g.last.1 } else { g.grad[i] }; // see `Grads`
        if gi.to_bits() == NO_GRAD {
            continue; // the root does not depend on this node
        }
        propagate(i, gi, op, data, args, consts, kids, &mut g);
    }
    g.low
}

impl Tape {
    // Out of line too: inlined into `Value::backward`, an MLP's backward
    // was a little slower.
    #[inline(never)]
    pub(crate) fn backward(&mut self, root: usize) {
        let n = root + 1;
        // Interior nodes that an earlier pass (or `set_grad`) wrote: start over.
        let stale = self.dirty.start.min(n)..self.dirty.end.min(n);
        for (g, &op) in self.grad[stale.clone()].iter_mut().zip(&self.op[stale]) {
            // a store on every slot, not a branch, so that the loop vectorizes
            *g = if op == Op::Leaf {
                *g
            } else {
                f64::from_bits(NO_GRAD)
            };
        }
        // what is left dirty is above the root (untouched by this pass)
        self.dirty = if self.dirty.end > n {
            n..self.dirty.end
        } else {
            0..0
        };
        let Tape {
            data,
            grad,
            op,
            args,
            consts,
            kids,
            ..
        } = self;
        let low = pass(root, data, &mut grad[..n], op, args, consts, kids);
        let reached = low..n;
        self.mark_dirty(reached);
        self.note_growth();
    }

    /// Warns once if a training loop seems to keep every step's nodes: the
    /// tape has grown between 100 `backward` calls in a row, to a million
    /// nodes or more. Whatever scopes are open: one scope around the whole
    /// loop, or a forgotten (`mem::forget`) one, frees nothing either.
    fn note_growth(&mut self) {
        let len = self.data.len();
        if len > self.len_at_backward {
            self.growing_backwards = self.growing_backwards.saturating_add(1);
        } else {
            self.growing_backwards = 0;
        }
        self.len_at_backward = len;
        if self.growing_backwards >= 100 && len >= 1_000_000 && !self.warned {
            self.warned = true;
            // a closed stderr drops the warning rather than panicking
            let _ = writeln!(
                std::io::stderr(),
                "micrograd: warning: this thread's tape has grown at each of the last {} \
                 backward() calls and holds {len} nodes. Nodes are freed only when a scope \
                 ends: start each training step with `let _step = micrograd::scope();` (a \
                 scope around the whole loop frees nothing until the loop ends).",
                self.growing_backwards
            );
        }
    }

    /// Marks every node `root` depends on (itself included).
    pub(crate) fn mark_reachable(&mut self, root: usize) {
        reset_marks(&mut self.marks, root + 1);
        let mut marks = std::mem::take(&mut self.marks);
        let mut m = Marks { bits: &mut marks };
        m.test_and_set(root);
        let mut next = Some(root);
        while let Some(i) = next {
            for &c in self.children(i) {
                m.test_and_set(c as usize);
            }
            next = if i == 0 { None } else { m.prev_marked(i - 1) };
        }
        self.marks = marks;
    }

    pub(crate) fn is_marked(&self, i: usize) -> bool {
        self.marks[i >> 6] & (1 << (i & 63)) != 0
    }
}

/// Where a NaN or an infinity first appeared in a graph; see [`Value::find_non_finite`].
///
/// ```
/// use micrograd::Value;
/// let x = Value::new(-4.0).with_label("x");
/// let bad = x.pow(0.5).find_non_finite().unwrap();
/// assert_eq!(bad.to_string(), format!("node #{} (op **): data is NaN; its inputs are [-4.00000]", bad.value.id()));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    /// The node.
    pub value: Value,
    /// `true` if its gradient is the non-finite number, `false` if its data is.
    pub in_grad: bool,
    /// Its op (`"+"`, `"ln"`, ... or `""` for a leaf).
    pub op: String,
    /// Its label, or `""`.
    pub label: String,
    /// Its data.
    pub data: f64,
    /// Its gradient.
    pub grad: f64,
    /// The data of its children, in operand order.
    pub inputs: Vec<f64>,
}

impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.in_grad { "gradient" } else { "data" };
        let x = if self.in_grad { self.grad } else { self.data };
        write!(f, "node #{}", self.value.idx)?;
        match (self.op.is_empty(), self.label.is_empty()) {
            (true, true) => write!(f, " (a leaf)")?,
            (true, false) => write!(f, " (leaf '{}')", self.label)?,
            (false, true) => write!(f, " (op {})", self.op)?,
            (false, false) => write!(f, " (op {}, '{}')", self.op, self.label)?,
        }
        write!(f, ": {what} is {x}")?;
        if !self.inputs.is_empty() {
            // a few inputs, briefly: an affine node can have thousands
            const SHOWN: usize = 6;
            let mut ins: Vec<String> = self
                .inputs
                .iter()
                .take(SHOWN)
                .map(|&x| crate::text::fmt_num(x))
                .collect();
            if self.inputs.len() > SHOWN {
                ins.push(format!("… {} more", self.inputs.len() - SHOWN));
            }
            write!(f, "; its inputs are [{}]", ins.join(", "))?;
        }
        Ok(())
    }
}

/// Collects what [`propagate`] sends, in order.
struct Collect(Vec<f64>);

impl Sink for Collect {
    fn add(&mut self, _child: u32, x: f64) {
        self.0.push(x);
    }
}

impl Value {
    /// The local derivative of this node with respect to each of its
    /// children, in [`children`](Value::children) order: the factor
    /// `backward` multiplies the incoming gradient by on each edge (the same
    /// code computes both). Empty for a leaf.
    ///
    /// ```
    /// use micrograd::Value;
    /// let (a, b) = (Value::new(2.0), Value::new(-3.0));
    /// assert_eq!((a * b).local_grads(), vec![-3.0, 2.0]); // ∂(ab)/∂a = b, ∂(ab)/∂b = a
    /// assert_eq!((a + a).local_grads(), vec![1.0, 1.0]);   // one per edge
    /// let t = Value::new(0.0).tanh();
    /// assert_eq!(t.local_grads(), vec![1.0]);              // 1 - tanh²(0)
    /// let n = Value::affine(&[a, b], &[b, a], Value::new(1.0)); // a·b + b·a + 1
    /// assert_eq!(n.local_grads(), vec![-3.0, 2.0, 2.0, -3.0, 1.0]); // w..., x..., b
    /// ```
    pub fn local_grads(self) -> Vec<f64> {
        tape::with(|t| {
            let i = self.live(t);
            let mut c = Collect(Vec::new());
            propagate(i, 1.0, &t.op, &t.data, &t.args, &t.consts, &t.kids, &mut c);
            let mut d = c.0;
            if matches!(t.op[i], Op::Dot | Op::Affine) {
                // sent as w₀, x₀, w₁, x₁, ... (then b); children are w..., x..., b
                let n = d.len() / 2;
                let (pairs, bias) = d.split_at(2 * n);
                let w = pairs.iter().step_by(2);
                let x = pairs.iter().skip(1).step_by(2);
                d = w.chain(x).chain(bias).copied().collect();
            }
            d
        })
    }

    /// Computes d(self)/d(v) for every value `v` that `self` depends on and
    /// stores it in `v.grad`.
    ///
    /// - Leaves (values made by [`Value::new`], e.g. parameters) *accumulate*:
    ///   their gradient is added to, as in micrograd and PyTorch, so zero it
    ///   between training steps ([`zero_grad`](crate::zero_grad)).
    /// - Every other node below `self` on the tape ends up holding
    ///   d(self)/d(node) of this call (0 if `self` does not depend on it).
    /// - Calling `backward` twice on the same root therefore doubles the
    ///   leaves' gradients (like PyTorch with `retain_graph=True`) and leaves
    ///   the interior ones as they were: it never compounds them, as
    ///   micrograd's does.
    /// - A gradient that is 0 still flows (0·∞ is NaN, as in PyTorch).
    ///
    /// It walks the tape from `self` down to the first node, without recursion,
    /// so a graph of any depth works on any stack.
    ///
    /// ```
    /// use micrograd::Value;
    /// let a = Value::new(3.0);
    /// let b = a * a;          // shared operand: db/da = 2a
    /// let c = b + b;          // shared node:    dc/da = 4a
    /// c.backward();
    /// assert_eq!(a.grad(), 12.0);
    /// c.backward();           // leaves accumulate
    /// assert_eq!(a.grad(), 24.0);
    /// assert_eq!(b.grad(), 2.0); // interior: d c / d b of the last call
    /// ```
    pub fn backward(self) {
        tape::with(|t| {
            let i = self.live(t);
            t.backward(i)
        })
    }

    /// Finds where a NaN or an infinity first appeared in the graph of `self`,
    /// like PyTorch's anomaly detection.
    ///
    /// Looks first for the earliest node (in creation order) whose *data* is
    /// not finite: the op that produced the first bad number. If every data is
    /// finite, it looks for the node whose *gradient* went non-finite first
    /// during backward (the highest one on the tape). `None` if all are finite.
    ///
    /// ```
    /// use micrograd::Value;
    /// let x = Value::new(0.0).with_label("x");
    /// let y = (x.ln() * 2.0).exp();
    /// let bad = y.find_non_finite().unwrap();
    /// assert_eq!(bad.op, "ln");
    /// assert_eq!(bad.data, f64::NEG_INFINITY);
    /// assert_eq!(bad.inputs, vec![0.0]);
    /// assert!(bad.to_string().contains("data is -inf"));
    /// ```
    pub fn find_non_finite(self) -> Option<NonFinite> {
        tape::with(|t| {
            let root = self.live(t);
            t.mark_reachable(root);
            let bad_data = (0..=root).find(|&i| t.is_marked(i) && !t.data[i].is_finite());
            let found = match bad_data {
                Some(i) => Some((i, false)),
                None => (0..=root)
                    .rev()
                    .find(|&i| t.is_marked(i) && !t.grad_of(i as u32).is_finite())
                    .map(|i| (i, true)),
            };
            found.map(|(i, in_grad)| NonFinite {
                value: Value::at(t, i as u32, t.scope_of(i as u32)),
                in_grad,
                op: t.op[i].symbol().to_owned(),
                label: t.labels.get(&(i as u32)).cloned().unwrap_or_default(),
                data: t.data[i],
                grad: t.grad_of(i as u32),
                inputs: t.children(i).iter().map(|&c| t.data[c as usize]).collect(),
            })
        })
    }
}

/// Sets the gradient of every value to 0, as `p.grad = 0.0` over
/// `parameters()` in micrograd.
///
/// ```
/// use micrograd::{Value, zero_grad};
/// let w = [1.0, 2.0].map(Value::new);
/// (w[0] * w[1]).backward();
/// zero_grad(&w);
/// assert_eq!((w[0].grad(), w[1].grad()), (0.0, 0.0));
/// ```
pub fn zero_grad(values: &[Value]) {
    tape::with(|t| {
        t.check_all(values);
        for v in values {
            let i = v.idx as usize;
            t.grad[i] = 0.0;
            // leaves keep their gradient across passes; an interior node's is reset
            if t.op[i] != Op::Leaf {
                t.mark_dirty(i..i + 1);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scope;

    fn step(w: Value) {
        let mut x = w;
        for _ in 0..10_000 {
            x = x * 1.0 + 0.0;
        }
        x.backward();
    }

    #[test]
    fn a_loop_without_scopes_is_warned_about() {
        let w = Value::new(1.0);
        for _ in 0..99 {
            step(w);
        }
        assert!(!tape::with(|t| t.warned), "not before 100 calls");
        step(w);
        assert!(
            tape::with(|t| t.warned),
            "100 calls, 2·10^6 nodes, no scope"
        );
    }

    #[test]
    fn one_scope_around_the_whole_loop_is_warned_about_too() {
        let w = Value::new(1.0);
        let _all = scope();
        for _ in 0..100 {
            step(w);
        }
        assert!(tape::with(|t| t.warned));
    }

    #[test]
    fn a_forgotten_scope_is_warned_about_too() {
        let w = Value::new(1.0);
        for _ in 0..100 {
            std::mem::forget(scope());
            step(w);
        }
        assert!(tape::with(|t| t.warned));
    }

    #[test]
    fn a_pass_walks_and_resets_only_what_its_root_reaches() {
        let w = Value::new(3.0); // a parameter, at the bottom of the tape
        let mut x = w;
        for _ in 0..100_000 {
            x = x * 1.0 + 0.0;
        }
        x.backward(); // a big pass: 200 000 interior nodes written
        assert_eq!(w.grad(), 1.0);
        let mid = tape::with(|t| t.data.len()) / 2;
        let (a, b) = (Value::new(2.0), x);
        let y = a * w + (b * 0.0).tanh(); // reaches the parameter, and the big graph through b
        y.backward();
        assert_eq!((a.grad(), w.grad()), (3.0, 1.0 + 2.0 + 0.0));
        let small = Value::new(5.0);
        let z = small * w;
        z.backward();
        assert_eq!((small.grad(), w.grad()), (3.0, 3.0 + 5.0));
        // z's pass started at its own node: what it walked and left dirty is just that
        let (dirty, len) = tape::with(|t| (t.dirty.clone(), t.data.len()));
        assert!(dirty.start >= len - 2, "{dirty:?} of {len}");
        // and the big graph's interior nodes hold d(z)/d(node) = 0, not the old gradients
        let inner = tape::with(|t| Value::at(t, mid as u32, crate::engine::tape::ROOT));
        assert_eq!(inner.grad(), 0.0);
        assert_eq!(b.grad(), 0.0);
    }

    #[test]
    fn a_loop_with_scopes_is_not() {
        let w = Value::new(1.0);
        for _ in 0..200 {
            let _s = scope();
            step(w);
        }
        assert!(!tape::with(|t| t.warned));
    }
}
