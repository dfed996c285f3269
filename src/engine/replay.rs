//! Record once, replay over a batch.
//!
//! A training step builds the same graph for every sample: the same ops in
//! the same order, on the same parameters. [`Replay::record`] runs a
//! per-sample function once on the tape and keeps the nodes it made as a
//! small program; [`Replay::run`] then evaluates that program for a whole
//! batch at once, one lane per sample, and back-propagates it the same way.
//! A layer of affine nodes on the same inputs becomes one matrix product
//! forward and two backward (dX = dY·W, dW = dYᵀ·X), with the parameters'
//! gradients summed over the lanes.
//!
//! The values and gradients are the scalar tape's, up to the order of
//! summation (a matrix product adds in blocks; the mean adds the lanes in
//! order): the tests hold them to 1e-12 relative.
//!
//! What replays: any function of its inputs built from [`Value`] ops, on
//! parameters (leaves made before recording) and constants. What does not,
//! and makes [`Replay::record`] refuse so that the caller falls back to the
//! tape: a function that reads a number it computed (`x.data()`, to branch
//! on it, say), since its graph could then differ from sample to sample, or
//! one that uses a value computed outside it (not a leaf).

use std::fmt;

use super::tape::{self, Op, Tape};
use super::value::{Value, sigmoid};

/// An operand of a recorded node: another node's lanes, or one number
/// shared by every lane (a parameter or a constant, a leaf outside the
/// recording).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    Lane(usize),
    Shared(usize),
}

/// One recorded node: its op, operands, and the constant its op keeps.
#[derive(Clone, Debug)]
struct Node {
    op: Op,
    args: Vec<Arg>,
    c: f64,
}

/// Affine nodes on the same inputs with shared weights: a layer, run as a
/// matrix product. `out[i]` is the node of row `i`; `w[i][j]`, `b[i]` are
/// indices into the shared values.
#[derive(Clone, Debug)]
struct Layer {
    x: Vec<usize>,
    out: Vec<usize>,
    w: Vec<Vec<usize>>,
    b: Option<Vec<usize>>,
}

/// The order of work: a single node, or a whole layer at once.
#[derive(Clone, Debug)]
enum Step {
    Node(usize),
    Layer(usize),
}

/// Why a function cannot be replayed; the caller uses the tape instead.
///
/// ```
/// use micrograd::{Replay, ReplayError, Value};
/// let e = Replay::record(1, |x| {
///     let y = if x[0].data() > 0.0 { x[0] } else { -x[0] }; // a branch on data
///     (y, vec![])
/// }).unwrap_err();
/// assert_eq!(e, ReplayError::ReadsData);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// The function read a number it computed, so its graph may depend on
    /// the sample.
    ReadsData,
    /// The function used a value computed outside it: only leaves
    /// (parameters, constants) can be shared by every sample.
    SharedInterior,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplayError::ReadsData => {
                "the function reads the data of a value it computed, so its graph may differ \
                 between samples; use the tape"
            }
            ReplayError::SharedInterior => {
                "the function uses a value computed outside it that is not a leaf; use the tape"
            }
        })
    }
}

impl std::error::Error for ReplayError {}

/// A per-sample function recorded once, run over whole batches. See the
/// [module docs](self) for what it covers.
///
/// micrograd's demo, a step at a time: the per-sample loss is
/// `relu(1 - y·score)`, the batch's mean is the data loss, and the L2 term
/// is added on the tape as usual.
///
/// ```
/// use micrograd::{Activation, MLP, Module, Replay, Value, data, nn::loss, scope};
/// let ds = data::moons(100, 0.1, 1337);
/// let model = MLP::builder(2, &[16, 16, 1]).hidden(Activation::Relu)
///     .output(Activation::Linear).init(micrograd::Init::Micrograd).seed(1337).build();
/// let params = model.parameters();
/// // inputs: the two features, then the label as ±1
/// let mut step = Replay::record(3, |v| {
///     let score = model.forward(&v[..2])[0];
///     ((1.0 - v[2] * score).relu(), vec![score])
/// }).unwrap();
/// let rows: Vec<Vec<f64>> = ds.x.iter().zip(&ds.y)
///     .map(|(x, &y)| vec![x[0], x[1], 2.0 * y - 1.0]).collect();
/// let mut first = None;
/// for k in 0..100 {
///     let _s = scope();
///     model.zero_grad();
///     let data_loss = step.run(&rows); // forward and backward for all 100 samples
///     let reg = loss::l2(&params, 1e-4);
///     reg.backward();                 // the L2 term's gradient adds to the same leaves
///     let lr = 1.0 - 0.9 * k as f64 / 100.0;
///     for p in &params {
///         p.set_data(p.data() - lr * p.grad());
///     }
///     first.get_or_insert(data_loss + reg.data());
///     if k == 99 {
///         assert!((data_loss + reg.data()) < 0.05 && first.unwrap() > 0.5);
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Replay {
    nin: usize,
    nodes: Vec<Node>,
    /// Tape handles of the shared leaves, read afresh each run (parameters change).
    shared: Vec<Value>,
    layers: Vec<Layer>,
    steps: Vec<Step>,
    root: usize,
    outputs: Vec<usize>,
    // buffers, kept between runs: lanes of each node's value and gradient
    lanes: usize,
    val: Vec<f64>,
    grad: Vec<f64>,
    shared_val: Vec<f64>,
    shared_grad: Vec<f64>,
    last_outputs: Vec<Vec<f64>>,
}

impl Replay {
    /// Records `f` on one sample of `nin` inputs. `f` returns the value to
    /// average and differentiate (a sample's loss) and the values to read
    /// back per sample (the model's outputs, say).
    pub fn record(
        nin: usize,
        f: impl FnOnce(&[Value]) -> (Value, Vec<Value>),
    ) -> Result<Replay, ReplayError> {
        let _s = super::scope();
        let start = tape::with(|t| t.data.len());
        let inputs: Vec<Value> = (0..nin).map(|_| Value::new(0.0)).collect();
        let previous = tape::with(|t| {
            t.read_in_recording = false;
            std::mem::replace(&mut t.recording_from, start)
        });
        let (root, outputs) = f(&inputs);
        let read = tape::with(|t| {
            t.recording_from = previous;
            std::mem::take(&mut t.read_in_recording)
        });
        if read {
            return Err(ReplayError::ReadsData);
        }
        tape::with(|t| Replay::compile(t, start, nin, root, &outputs))
    }

    /// The recorded segment of the tape as a program.
    fn compile(
        t: &Tape,
        start: usize,
        nin: usize,
        root: Value,
        outputs: &[Value],
    ) -> Result<Replay, ReplayError> {
        let end = t.data.len();
        let mut shared: Vec<Value> = Vec::new();
        let mut shared_at = std::collections::HashMap::new();
        let mut arg = |c: u32| -> Result<Arg, ReplayError> {
            let c = c as usize;
            if c >= start {
                return Ok(Arg::Lane(c - start));
            }
            if t.op[c] != Op::Leaf {
                return Err(ReplayError::SharedInterior);
            }
            Ok(Arg::Shared(*shared_at.entry(c).or_insert_with(|| {
                shared.push(Value::at(c as u32, t.scope_of(c as u32)));
                shared.len() - 1
            })))
        };
        let mut nodes = Vec::with_capacity(end - start);
        for i in start..end {
            let op = t.op[i];
            let args = t
                .children(i)
                .iter()
                .map(|&c| arg(c))
                .collect::<Result<Vec<_>, _>>()?;
            let [_, b] = t.args[i];
            let c = match op {
                Op::MulC | Op::DivC | Op::PowC | Op::AddC | Op::SubC | Op::RSubC | Op::RDivC => {
                    t.consts[b as usize]
                }
                // constants inside the recording (leaves past the inputs) keep their number
                Op::Leaf => t.data[i],
                _ => 0.0,
            };
            nodes.push(Node { op, args, c });
        }
        let lane = |v: Value| v.idx as usize - start;
        let mut r = Replay {
            nin,
            nodes,
            shared,
            layers: Vec::new(),
            steps: Vec::new(),
            root: lane(root),
            outputs: outputs.iter().map(|&v| lane(v)).collect(),
            lanes: 0,
            val: Vec::new(),
            grad: Vec::new(),
            shared_val: Vec::new(),
            shared_grad: Vec::new(),
            last_outputs: Vec::new(),
        };
        r.plan();
        Ok(r)
    }

    /// Groups affine nodes on the same inputs, with shared weights, into
    /// layers; everything else runs node by node.
    fn plan(&mut self) {
        let is_layer_node = |n: &Node| {
            matches!(n.op, Op::Affine | Op::Dot) && {
                let k = if n.op == Op::Affine {
                    n.args.len() - 1
                } else {
                    n.args.len()
                } / 2;
                n.args[..k].iter().all(|a| matches!(a, Arg::Shared(_)))
                    && n.args[k..2 * k].iter().all(|a| matches!(a, Arg::Lane(_)))
                    && (n.op == Op::Dot || matches!(n.args[2 * k], Arg::Shared(_)))
            }
        };
        let split = |n: &Node| {
            let k = if n.op == Op::Affine {
                n.args.len() - 1
            } else {
                n.args.len()
            } / 2;
            let shared = |a: &Arg| match a {
                Arg::Shared(s) => *s,
                Arg::Lane(_) => unreachable!("checked"),
            };
            let lane = |a: &Arg| match a {
                Arg::Lane(l) => *l,
                Arg::Shared(_) => unreachable!("checked"),
            };
            let w: Vec<usize> = n.args[..k].iter().map(shared).collect();
            let x: Vec<usize> = n.args[k..2 * k].iter().map(lane).collect();
            let b = (n.op == Op::Affine).then(|| shared(&n.args[2 * k]));
            (w, x, b)
        };
        // layers by their inputs (and kind): a node on the same inputs as an
        // earlier layer joins it. The layer runs where its first node stood,
        // which is before any node that uses one of its outputs, and after its
        // inputs, which every member shares.
        let mut by_inputs: std::collections::HashMap<(bool, Vec<usize>), usize> =
            std::collections::HashMap::new();
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if !is_layer_node(n) {
                self.steps.push(Step::Node(i));
                continue;
            }
            let (w, x, b) = split(n);
            let key = (n.op == Op::Affine, x);
            match by_inputs.get(&key) {
                Some(&l) => {
                    let layer = &mut self.layers[l];
                    layer.out.push(i);
                    layer.w.push(w);
                    if let (Some(bs), Some(b)) = (&mut layer.b, b) {
                        bs.push(b);
                    }
                }
                None => {
                    by_inputs.insert(key.clone(), self.layers.len());
                    self.steps.push(Step::Layer(self.layers.len()));
                    self.layers.push(Layer {
                        x: key.1,
                        out: vec![i],
                        w: vec![w],
                        b: b.map(|b| vec![b]),
                    });
                }
            }
        }
    }

    /// How many inputs a row has.
    pub fn nin(&self) -> usize {
        self.nin
    }

    /// Runs the recording on every row of `rows` (each `nin` numbers), adds
    /// d(mean)/d(p) to the gradient of every parameter `p` it uses (leaves
    /// accumulate, as after [`Value::backward`]), and returns the mean over
    /// the rows of the recorded value. The per-row outputs are then in
    /// [`outputs`](Self::outputs).
    pub fn run<R: AsRef<[f64]>>(&mut self, rows: &[R]) -> f64 {
        let b = rows.len();
        self.load(rows);
        self.forward();
        let root = &self.val[self.root * b..(self.root + 1) * b];
        let mean = root.iter().sum::<f64>() / b.max(1) as f64;
        self.backward();
        self.last_outputs = rows
            .iter()
            .enumerate()
            .map(|(r, _)| self.outputs.iter().map(|&o| self.val[o * b + r]).collect())
            .collect();
        mean
    }

    /// The outputs of each row of the last [`run`](Self::run), in the order
    /// the recorded function returned them.
    pub fn outputs(&self) -> &[Vec<f64>] {
        &self.last_outputs
    }

    /// Sizes the buffers, puts the rows in the input lanes, reads the shared values.
    fn load<R: AsRef<[f64]>>(&mut self, rows: &[R]) {
        let b = rows.len();
        self.lanes = b;
        let n = self.nodes.len();
        self.val.clear();
        self.val.resize(n * b, 0.0);
        self.grad.clear();
        self.grad.resize(n * b, 0.0);
        for (r, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            assert_eq!(
                row.len(),
                self.nin,
                "micrograd: Replay::run: row {r} has {} numbers, the recording takes {}",
                row.len(),
                self.nin
            );
            for (k, &x) in row.iter().enumerate() {
                self.val[k * b + r] = x;
            }
        }
        self.shared_val = super::read_data(&self.shared);
        self.shared_grad.clear();
        self.shared_grad.resize(self.shared.len(), 0.0);
    }

    fn forward(&mut self) {
        let b = self.lanes;
        for s in 0..self.steps.len() {
            match self.steps[s] {
                Step::Layer(l) => self.layer_forward(l),
                Step::Node(i) => {
                    if i < self.nin {
                        continue; // an input: loaded
                    }
                    let (before, rest) = self.val.split_at_mut(i * b);
                    let out = &mut rest[..b];
                    forward_node(&self.nodes[i], before, &self.shared_val, out, b);
                }
            }
        }
    }

    fn backward(&mut self) {
        let b = self.lanes;
        let g = 1.0 / b.max(1) as f64; // d(mean)/d(each lane)
        self.grad[self.root * b..(self.root + 1) * b].fill(g);
        for s in (0..self.steps.len()).rev() {
            match self.steps[s] {
                Step::Layer(l) => self.layer_backward(l),
                Step::Node(i) => backward_node(
                    &self.nodes[i],
                    i,
                    &self.val,
                    &mut self.grad,
                    &self.shared_val,
                    &mut self.shared_grad,
                    b,
                ),
            }
        }
        // leaves accumulate, as after `backward`
        tape::with(|t| {
            t.grow_grad();
            for (v, &g) in self.shared.iter().zip(&self.shared_grad) {
                let i = v.live(t);
                let old = t.grad_of(i as u32);
                t.grad[i] = old + g;
            }
        });
    }

    /// Y = X·Wᵀ (+ b), with X the lanes of the layer's inputs.
    fn layer_forward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.layers[l];
        let (n, m) = (layer.x.len(), layer.out.len());
        let x = gather(&self.val, &layer.x, b); // b×n, column-major
        let w: Vec<f64> = layer
            .w
            .iter()
            .flat_map(|row| row.iter().map(|&k| self.shared_val[k]))
            .collect(); // m×n, row-major
        let mut y = vec![0.0; b * m]; // b×m, column-major
        // SAFETY: each pointer is to a live buffer of exactly the size the
        // dimensions and strides address: x is b×n, w is m×n, y is b×m.
        unsafe {
            matrixmultiply::dgemm(
                b,
                n,
                m,
                1.0,
                x.as_ptr(),
                1,
                b as isize,
                w.as_ptr(),
                1,
                n as isize,
                0.0,
                y.as_mut_ptr(),
                1,
                b as isize,
            );
        }
        for (i, &o) in layer.out.iter().enumerate() {
            let col = &y[i * b..(i + 1) * b];
            let bias = layer.b.as_ref().map_or(0.0, |bs| self.shared_val[bs[i]]);
            for (v, &yv) in self.val[o * b..(o + 1) * b].iter_mut().zip(col) {
                *v = yv + bias;
            }
        }
    }

    /// dX += dY·W, dW += dYᵀ·X, db += Σ dY over lanes.
    fn layer_backward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.layers[l];
        let (n, m) = (layer.x.len(), layer.out.len());
        let dy = gather(&self.grad, &layer.out, b); // b×m, column-major
        let x = gather(&self.val, &layer.x, b); // b×n
        let w: Vec<f64> = layer
            .w
            .iter()
            .flat_map(|row| row.iter().map(|&k| self.shared_val[k]))
            .collect(); // m×n
        let mut dx = vec![0.0; b * n];
        let mut dw = vec![0.0; m * n];
        // SAFETY: as in layer_forward, every buffer holds exactly what its
        // dimensions and strides address: dy b×m, w m×n, dx b×n, x b×n, dw m×n.
        unsafe {
            matrixmultiply::dgemm(
                b,
                m,
                n,
                1.0,
                dy.as_ptr(),
                1,
                b as isize,
                w.as_ptr(),
                n as isize,
                1,
                0.0,
                dx.as_mut_ptr(),
                1,
                b as isize,
            );
            matrixmultiply::dgemm(
                m,
                b,
                n,
                1.0,
                dy.as_ptr(),
                b as isize,
                1,
                x.as_ptr(),
                1,
                b as isize,
                0.0,
                dw.as_mut_ptr(),
                n as isize,
                1,
            );
        }
        for (j, &xj) in layer.x.iter().enumerate() {
            for (g, &d) in self.grad[xj * b..(xj + 1) * b].iter_mut().zip(&dx[j * b..]) {
                *g += d;
            }
        }
        for (i, row) in layer.w.iter().enumerate() {
            for (j, &k) in row.iter().enumerate() {
                self.shared_grad[k] += dw[i * n + j];
            }
        }
        if let Some(bs) = &layer.b {
            for (i, &k) in bs.iter().enumerate() {
                self.shared_grad[k] += dy[i * b..(i + 1) * b].iter().sum::<f64>();
            }
        }
    }
}

/// The lanes of `nodes`, one column each: a b×len column-major matrix.
fn gather(from: &[f64], nodes: &[usize], b: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(nodes.len() * b);
    for &k in nodes {
        out.extend_from_slice(&from[k * b..(k + 1) * b]);
    }
    out
}

/// One operand's number in lane `r`.
#[inline(always)]
fn at(a: Arg, val: &[f64], shared: &[f64], b: usize, r: usize) -> f64 {
    match a {
        Arg::Lane(k) => val[k * b + r],
        Arg::Shared(k) => shared[k],
    }
}

/// A node's value in every lane, from the nodes before it. The same
/// formulas as the tape's ops.
fn forward_node(n: &Node, val: &[f64], shared: &[f64], out: &mut [f64], b: usize) {
    let x = |k: usize, r: usize| at(n.args[k], val, shared, b, r);
    for (r, o) in out.iter_mut().enumerate() {
        *o = match n.op {
            Op::Leaf => n.c,
            Op::Add => x(0, r) + x(1, r),
            Op::Sub => x(0, r) - x(1, r),
            Op::Mul => x(0, r) * x(1, r),
            Op::Div => x(0, r) / x(1, r),
            Op::Neg => -x(0, r),
            Op::AddC => x(0, r) + n.c,
            Op::SubC => x(0, r) - n.c,
            Op::RSubC => n.c - x(0, r),
            Op::RDivC => n.c / x(0, r),
            Op::MulC => x(0, r) * n.c,
            Op::DivC => x(0, r) / n.c,
            Op::PowC => x(0, r).powf(n.c),
            Op::Pow => x(0, r).powf(x(1, r)),
            Op::Exp => x(0, r).exp(),
            Op::Ln => x(0, r).ln(),
            Op::Tanh => x(0, r).tanh(),
            Op::Relu => super::value::relu(x(0, r)),
            Op::Sigmoid => sigmoid(x(0, r)),
            Op::Softplus => super::value::softplus(x(0, r)),
            Op::Sum => (0..n.args.len()).map(|k| x(k, r)).sum(),
            Op::Dot | Op::Affine => {
                let k = n.args.len() / 2;
                let dot: f64 = (0..k).map(|j| x(j, r) * x(k + j, r)).sum();
                if n.op == Op::Affine {
                    dot + x(2 * k, r)
                } else {
                    dot
                }
            }
            Op::LogSumExp => super::value::logsumexp((0..n.args.len()).map(|k| x(k, r))),
        };
    }
}

/// Adds node `i`'s lane gradients times its local derivatives to its
/// operands: a lane operand lane by lane, a shared one summed over lanes.
fn backward_node(
    n: &Node,
    i: usize,
    val: &[f64],
    grad: &mut [f64],
    shared: &[f64],
    shared_grad: &mut [f64],
    b: usize,
) {
    let x = |k: usize, r: usize| at(n.args[k], val, shared, b, r);
    for r in 0..b {
        let gi = grad[i * b + r];
        if gi == 0.0 {
            continue;
        }
        let out = val[i * b + r];
        let mut add = |k: usize, d: f64| match n.args[k] {
            Arg::Lane(c) => grad[c * b + r] += d,
            Arg::Shared(c) => shared_grad[c] += d,
        };
        match n.op {
            Op::Leaf => {}
            Op::Add => {
                add(0, gi);
                add(1, gi);
            }
            Op::Sub => {
                add(0, gi);
                add(1, -gi);
            }
            Op::Mul => {
                let (a, bb) = (x(0, r), x(1, r));
                add(0, gi * bb);
                add(1, gi * a);
            }
            Op::Div => {
                let y = x(1, r);
                add(0, gi / y);
                add(1, -gi * (out / y));
            }
            Op::Neg => add(0, -gi),
            Op::AddC | Op::SubC => add(0, gi),
            Op::RSubC => add(0, -gi),
            Op::RDivC => add(0, -gi * (out / x(0, r))),
            Op::MulC => add(0, gi * n.c),
            Op::DivC => add(0, gi / n.c),
            Op::PowC => {
                let d = if n.c == 0.0 {
                    0.0
                } else {
                    gi * n.c * x(0, r).powf(n.c - 1.0)
                };
                add(0, d);
            }
            Op::Pow => {
                let (a, p) = (x(0, r), x(1, r));
                let da = if p == 0.0 {
                    0.0
                } else {
                    gi * p * a.powf(p - 1.0)
                };
                let db = if a == 0.0 && p >= 0.0 {
                    0.0
                } else {
                    gi * out * a.ln()
                };
                add(0, da);
                add(1, db);
            }
            Op::Exp => add(0, gi * out),
            Op::Ln => add(0, gi / x(0, r)),
            Op::Tanh => add(0, gi * (1.0 - out * out)),
            Op::Relu => add(0, if x(0, r) > 0.0 { gi } else { 0.0 }),
            Op::Sigmoid => add(0, gi * out * (1.0 - out)),
            Op::Softplus => add(0, gi * sigmoid(x(0, r))),
            Op::Sum => (0..n.args.len()).for_each(|k| add(k, gi)),
            Op::Dot | Op::Affine => {
                let k = n.args.len() / 2;
                for j in 0..k {
                    let (w, xv) = (x(j, r), x(k + j, r));
                    add(j, gi * xv);
                    add(k + j, gi * w);
                }
                if n.op == Op::Affine {
                    add(2 * k, gi);
                }
            }
            Op::LogSumExp => {
                for k in 0..n.args.len() {
                    add(k, gi * (x(k, r) - out).exp());
                }
            }
        }
    }
}
