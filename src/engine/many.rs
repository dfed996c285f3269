//! Ops with many operands, each one node: Σ, the dot product, a neuron's
//! affine sum, logsumexp; and a whole layer's neurons in one visit to the
//! tape.

use super::ops::{Op, logsumexp};
use super::tape::{self, Tape};
use super::value::Value;

impl Value {
    // ----- ops with many operands, each one node -------------------------------

    /// Σ values, as one node with every value a child. d/dxᵢ = 1.
    ///
    /// ```
    /// use micrograd::Value;
    /// let xs = [1.0, 2.0, 3.0].map(Value::new);
    /// let s = Value::sum(xs);
    /// assert_eq!(s.data(), 6.0);
    /// assert_eq!(s.children().len(), 3);
    /// ```
    pub fn sum(values: impl IntoIterator<Item = Value>) -> Value {
        // Collected first: the iterator may itself build nodes (`xs.map(|x| x * w)`).
        let values: Vec<Value> = values.into_iter().collect();
        tape::with(|t| {
            let start = t.kids.len();
            let mut acc = 0.0;
            for v in values {
                let i = v.live(t);
                acc += t.data[i];
                t.kids.push(i as u32);
            }
            let span = t.span(start, t.kids.len() - start);
            Value::make(t, Op::Sum, span, |_| acc)
        })
    }

    /// Σ wᵢ·xᵢ as one node. d/dwᵢ = xᵢ, d/dxᵢ = wᵢ.
    ///
    /// Panics if the slices differ in length.
    ///
    /// ```
    /// use micrograd::Value;
    /// let w = [1.0, 2.0].map(Value::new);
    /// let x = [3.0, 4.0].map(Value::new);
    /// let d = Value::dot(&w, &x);
    /// d.backward();
    /// assert_eq!(d.data(), 11.0);
    /// assert_eq!((w[0].grad(), x[1].grad()), (3.0, 2.0));
    /// ```
    pub fn dot(w: &[Value], x: &[Value]) -> Value {
        Value::dot_node(w, x, None)
    }

    /// Σ wᵢ·xᵢ + b as one node: a neuron before its activation.
    /// d/dwᵢ = xᵢ, d/dxᵢ = wᵢ, d/db = 1.
    ///
    /// Panics if `w` and `x` differ in length.
    ///
    /// ```
    /// use micrograd::Value;
    /// let w = [-3.0, 1.0].map(Value::new);
    /// let x = [2.0, 0.0].map(Value::new);
    /// let b = Value::new(6.5);
    /// assert_eq!(Value::affine(&w, &x, b).data(), 0.5);
    /// ```
    pub fn affine(w: &[Value], x: &[Value], b: Value) -> Value {
        Value::dot_node(w, x, Some(b))
    }

    fn dot_node(w: &[Value], x: &[Value], b: Option<Value>) -> Value {
        tape::with(|t| {
            if !t.all_current(x) {
                x.iter().for_each(|v| _ = v.live(t));
            }
            push_affine(t, w, x, b, None)
        })
    }

    /// ln Σ e^zᵢ as one node, computed without overflow (the max is taken out
    /// first). d/dzᵢ = softmax(z)ᵢ. The base of softmax cross-entropy.
    ///
    /// ```
    /// use micrograd::Value;
    /// let z = [1000.0, 1000.0].map(Value::new);
    /// let l = Value::logsumexp(&z);
    /// l.backward();
    /// assert!((l.data() - (1000.0 + 2f64.ln())).abs() < 1e-9);
    /// assert!((z[0].grad() - 0.5).abs() < 1e-12);
    /// ```
    pub fn logsumexp(z: &[Value]) -> Value {
        tape::with(|t| {
            let start = t.kids.len();
            for &zi in z {
                let i = zi.live(t);
                t.kids.push(i as u32);
            }
            let kids = &t.kids[start..];
            let out = logsumexp(kids.iter().map(|&k| t.data[k as usize]));
            let span = t.span(start, z.len());
            Value::make(t, Op::LogSumExp, span, |_| out)
        })
    }
}

/// Neurons on the same inputs, in one visit to the tape (a layer's forward
/// pass): for each row `(w, b, act)`, the node `w·x + b` (or `w·x`) and, if
/// `act` is given, an activation node on it. Checking `x` once for the whole
/// layer, not once per neuron, is most of what this saves.
pub(crate) fn affine_layer<'a>(
    rows: impl Iterator<Item = (&'a [Value], Option<Value>, Option<Op>)>,
    x: &[Value],
) -> Vec<Value> {
    tape::with(|t| {
        if !t.all_current(x) {
            x.iter().for_each(|v| _ = v.live(t));
        }
        rows.map(|(w, b, act)| push_affine(t, w, x, b, act))
            .collect()
    })
}

/// Pushes `w·x [+ b]` and, if asked, `act(w·x [+ b])`; `x` is already checked.
fn push_affine(t: &mut Tape, w: &[Value], x: &[Value], b: Option<Value>, act: Option<Op>) -> Value {
    assert_eq!(
        w.len(),
        x.len(),
        "micrograd: dot product of {} weights with {} inputs",
        w.len(),
        x.len()
    );
    if !t.all_current(w) {
        w.iter().for_each(|v| _ = v.live(t));
    }
    let bias = b.map(|b| b.live(t));
    let acc = dot(&t.data, bias.map_or(0.0, |i| t.data[i]), w, x);
    let start = t.kids.len();
    t.kids.extend(w.iter().map(|v| v.idx));
    t.kids.extend(x.iter().map(|v| v.idx));
    let op = match bias {
        Some(i) => {
            t.kids.push(i as u32);
            Op::Affine
        }
        None => Op::Dot,
    };
    let span = t.span(start, w.len());
    let v = Value::make(t, op, span, |_| acc);
    match act {
        Some(a) => Value::make(t, a, [v.idx, 0], |_| a.forward(acc, 0.0, 0.0)),
        None => v,
    }
}

/// `acc + Σ wᵢ·xᵢ` over the tape's data, summed left to right.
///
/// Not inlined: inlined into `dot_node`, the sum was kept on the stack
/// (a store and a load per term; the loop ran 2x slower).
#[inline(never)]
fn dot(data: &[f64], mut acc: f64, w: &[Value], x: &[Value]) -> f64 {
    for (wi, xi) in w.iter().zip(x) {
        acc += data[wi.idx as usize] * data[xi.idx as usize];
    }
    acc
}
