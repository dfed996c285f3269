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

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use super::gemm::{self, gemm};
use super::leaves::{Handles, Leaves};
use super::ops::logsumexp;
use super::tape::{self, Op, Tape};
use super::value::Value;

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
    /// The activation node on each output, when there is one: run with the
    /// layer, not as a node of its own.
    act: Vec<Option<(usize, Op)>>,
    /// `(first, row stride)` when `w[i][j]` is `first + i·stride + j`: the
    /// weights are then read (and their gradients written) in place.
    regular: Option<(usize, usize)>,
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

/// A per-sample function recorded once, run over whole batches.
///
/// A training step builds the same graph for every sample. [`record`]
/// runs the function once on the tape and keeps the nodes it made as a
/// program; [`run`] evaluates it for a whole batch, one lane per sample, and
/// back-propagates it the same way: a layer of neurons on the same inputs is
/// one matrix product forward and two backward. Values and gradients are the
/// tape's up to the order of summation (held to 1e-12 by the tests).
///
/// It covers any function of its inputs built from [`Value`] ops on
/// parameters and constants. [`record`] refuses (and the caller uses the
/// tape) a function that reads a number it computed (`x.data()`, to branch on
/// it), since its graph could then differ between samples, or one that uses a
/// value computed outside it that is not a leaf.
///
/// [`record`]: Replay::record
/// [`run`]: Replay::run
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
    shared: Leaves,
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
    /// The last run's outputs, row by row.
    out: Vec<f64>,
    /// Scratch for the layers' matrices, kept between runs.
    scratch: [Vec<f64>; 5],
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
            let previous = std::mem::replace(&mut t.recording_from, start);
            t.refresh_fast(); // every op takes its general path while recording
            previous
        });
        let (root, outputs) = f(&inputs);
        let read = tape::with(|t| {
            t.recording_from = previous;
            t.refresh_fast();
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
        let (mut lo, mut links) = (start, 0);
        for &c in (start..end).flat_map(|i| t.children(i)) {
            if (c as usize) < start {
                (lo, links) = (lo.min(c as usize), links + 1);
            }
        }
        let mut shared_at = SharedAt::new(lo, start, links);
        let mut arg = |c: u32| -> Result<Arg, ReplayError> {
            let c = c as usize;
            if c >= start {
                return Ok(Arg::Lane(c - start));
            }
            if t.op[c] != Op::Leaf {
                return Err(ReplayError::SharedInterior);
            }
            Ok(Arg::Shared(shared_at.get_or_insert(c, || {
                shared.push(Value::at(t, c as u32, t.scope_of(c as u32)));
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
            shared: Leaves::new(shared),
            layers: Vec::new(),
            steps: Vec::new(),
            root: lane(root),
            outputs: outputs.iter().map(|&v| lane(v)).collect(),
            lanes: 0,
            val: Vec::new(),
            grad: Vec::new(),
            shared_val: Vec::new(),
            shared_grad: Vec::new(),
            out: Vec::new(),
            scratch: Default::default(),
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
        let mut by_inputs: FastMap<(bool, Vec<usize>), usize> = FastMap::default();
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
                    layer.act.push(None);
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
                        act: vec![None],
                        regular: None,
                    });
                }
            }
        }
        for layer in &mut self.layers {
            layer.regular = regular(&layer.w);
        }
        // an activation of a layer's output runs inside the layer
        let mut row_of = FastMap::default();
        for (l, layer) in self.layers.iter().enumerate() {
            for (k, &o) in layer.out.iter().enumerate() {
                row_of.insert(o, (l, k));
            }
        }
        let nodes = &self.nodes;
        let layers = &mut self.layers;
        self.steps.retain(|s| {
            let Step::Node(i) = *s else { return true };
            let n = &nodes[i];
            let fusable = matches!(n.op, Op::Relu | Op::Tanh | Op::Sigmoid);
            match (fusable, n.args.as_slice()) {
                (true, [Arg::Lane(o)]) => match row_of.get(o) {
                    Some(&(l, k)) if layers[l].act[k].is_none() => {
                        layers[l].act[k] = Some((i, n.op));
                        false
                    }
                    _ => true,
                },
                _ => true,
            }
        });
    }

    /// How many inputs a row has.
    ///
    /// ```
    /// let r = micrograd::Replay::record(2, |v| (v[0] * v[1], vec![])).unwrap();
    /// assert_eq!(r.nin(), 2);
    /// ```
    pub fn nin(&self) -> usize {
        self.nin
    }

    /// Runs the recording on every row of `rows` (each `nin` numbers), adds
    /// d(mean)/d(p) to the gradient of every parameter `p` it uses (leaves
    /// accumulate, as after [`Value::backward`]), and returns the mean over
    /// the rows of the recorded value. The per-row outputs are then in
    /// [`output`](Self::output).
    ///
    /// ```
    /// use micrograd::{Replay, Value};
    /// let w = Value::new(3.0);
    /// let mut r = Replay::record(1, |v| ((v[0] * w).pow(2), vec![v[0] * w])).unwrap();
    /// let mean = r.run(&[[1.0], [2.0]]); // ((3)² + (6)²) / 2
    /// assert_eq!(mean, 22.5);
    /// assert_eq!(w.grad(), (2.0 * 3.0 * 1.0 + 2.0 * 6.0 * 2.0) / 2.0); // d(mean)/dw
    /// assert_eq!(r.output(1), &[6.0]);
    /// ```
    pub fn run<R: AsRef<[f64]>>(&mut self, rows: &[R]) -> f64 {
        let mean = self.passes_over(rows, |_| 0.0);
        self.accumulate(|old, g| old + g);
        mean
    }

    /// As [`run`](Self::run), but the shared leaves' gradients stay here,
    /// in [`held_grads`](Self::held_grads), for an optimizer to write and
    /// use in one visit to the tape. Each starts at `start(data)`, not 0,
    /// before the rows' gradients are added: how training adds its L2
    /// term's gradient in the pass that reads the parameters.
    pub(crate) fn run_held<R: AsRef<[f64]>>(
        &mut self,
        rows: &[R],
        start: impl FnMut(f64) -> f64,
    ) -> f64 {
        self.passes_over(rows, start)
    }

    /// The gradients of the shared leaves from the last [`run_held`](Self::run_held),
    /// in the order of [`shared`](Self::shared).
    pub(crate) fn held_grads(&self) -> &[f64] {
        &self.shared_grad
    }

    /// The shared leaves' values as the last run read them, in the order
    /// of [`shared`](Self::shared).
    pub(crate) fn shared_values(&self) -> &[f64] {
        &self.shared_val
    }

    /// Writes the held gradients to the shared leaves, replacing theirs.
    pub(crate) fn write_held(&mut self) {
        self.accumulate(|_, g| g);
    }

    /// Loads the rows, runs the passes, keeps the outputs; the mean of the
    /// recorded value. The shared values' gradients start at `start(data)`.
    fn passes_over<R: AsRef<[f64]>>(&mut self, rows: &[R], start: impl FnMut(f64) -> f64) -> f64 {
        let b = rows.len();
        self.load(rows, start);
        self.passes();
        let root = &self.val[self.root * b..(self.root + 1) * b];
        let mean = root.iter().sum::<f64>() / b.max(1) as f64;
        self.out.clear();
        for r in 0..b {
            self.out
                .extend(self.outputs.iter().map(|&o| self.val[o * b + r]));
        }
        mean
    }

    /// The outputs of row `r` of the last [`run`](Self::run), in the order
    /// the recorded function returned them (see [`run`](Self::run)'s example).
    pub fn output(&self, r: usize) -> &[f64] {
        let k = self.outputs.len();
        &self.out[r * k..(r + 1) * k]
    }

    /// Sizes the buffers, puts the rows in the input lanes, reads the shared
    /// values and sets their gradients to `start(value)`.
    fn load<R: AsRef<[f64]>>(&mut self, rows: &[R], start: impl FnMut(f64) -> f64) {
        let b = rows.len();
        self.lanes = b;
        let n = self.nodes.len();
        self.val.resize(n * b, 0.0); // every node is written before it is read
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
        super::read_data_into(&self.shared, &mut self.shared_val);
        self.shared_grad.clear();
        self.shared_grad
            .extend(self.shared_val.iter().copied().map(start));
    }

    /// The leaves made outside the recording that it uses, in the order of
    /// their first use.
    pub(crate) fn shared(&self) -> &[Value] {
        self.shared.values()
    }

    #[inline(always)]
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

    /// Forward then backward over the lanes, with 256-bit vectors where the
    /// processor has them (AVX2: twice the numbers per instruction of the
    /// baseline's SSE2). Without FMA, so every number is bit for bit the
    /// same on every x86-64 processor; the matrix products dispatch on
    /// their own ([`gemm()`]).
    fn passes(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, just checked.
            unsafe { self.passes_avx2() };
            return;
        }
        self.forward();
        self.backward();
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn passes_avx2(&mut self) {
        self.forward();
        self.backward();
    }

    #[inline(always)]
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
    }

    /// Writes the shared values' gradients to their leaves on the tape, as
    /// `set(old, g)` (for [`run`](Self::run), `old + g`: leaves accumulate,
    /// as after `backward`).
    fn accumulate(&mut self, mut set: impl FnMut(f64, f64) -> f64) {
        tape::with(|t| {
            self.shared.checked_run(t);
            for (v, &g) in self.shared.values().iter().zip(&self.shared_grad) {
                let old = t.grad_of(v.idx);
                t.grad[v.idx as usize] = set(old, g);
            }
        });
    }

    /// Y = X·Wᵀ (+ b), with X the lanes of the layer's inputs; then the
    /// activations on its outputs.
    #[inline(always)]
    fn layer_forward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.layers[l];
        let (n, m) = (layer.x.len(), layer.out.len());
        if n.min(m) <= THIN && !gemm::kernels() {
            self.thin_forward(l);
            return;
        }
        let [xs, ws, ys, _, _] = &mut self.scratch;
        let w = weights(raw(&mut self.shared_val), &layer.w, layer.regular, ws); // m×n, rows w.1 apart
        let val = raw(&mut self.val);
        let x = columns(val, &layer.x, b, xs); // b×n
        // the outputs' lanes themselves when evenly spaced
        let (y, ycs, direct) = columns_out(val, &layer.out, b, ys);
        // SAFETY: x addresses b×n numbers at (1, x.1) strides inside `val` or
        // a scratch buffer, w is m×n, and y addresses b×m numbers at (1, ycs)
        // inside `val` or a scratch buffer of that size. The layer's outputs
        // come after all its inputs on the recording, so y never overlaps x.
        unsafe {
            gemm(
                b,
                n,
                m,
                1.0,
                x.0,
                1,
                x.1 as isize,
                w.0,
                1,
                w.1 as isize,
                0.0,
                y,
                1,
                ycs as isize,
            );
        }
        for (i, &o) in layer.out.iter().enumerate() {
            let bias = layer.b.as_ref().map_or(0.0, |bs| self.shared_val[bs[i]]);
            let lanes = &mut self.val[o * b..(o + 1) * b];
            if direct {
                lanes.iter_mut().for_each(|v| *v += bias);
            } else {
                let col = &ys[i * b..(i + 1) * b];
                lanes.iter_mut().zip(col).for_each(|(v, &y)| *v = y + bias);
            }
        }
        self.activations_forward(l);
    }

    /// The activations on a layer's outputs.
    #[inline(always)]
    fn activations_forward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.layers[l];
        for (i, &o) in layer.out.iter().enumerate() {
            if let Some((a, op)) = layer.act[i] {
                let (before, after) = self.val.split_at_mut(a * b);
                let z = Src::Lanes(&before[o * b..(o + 1) * b]);
                let out = &mut after[..b];
                // one loop per activation, so that each vectorizes
                match op {
                    Op::Relu => forward1::<{ Op::Relu as u8 }>(z, 0.0, out),
                    Op::Tanh => forward1::<{ Op::Tanh as u8 }>(z, 0.0, out),
                    _ => forward1::<{ Op::Sigmoid as u8 }>(z, 0.0, out),
                }
            }
        }
    }

    /// The activations' backward: each output's gradient gets its
    /// activation's, times the activation's derivative.
    #[inline(always)]
    fn activations_backward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.layers[l];
        for (i, &o) in layer.out.iter().enumerate() {
            if let Some((a, op)) = layer.act[i] {
                let (before, after) = self.grad.split_at_mut(a * b);
                let (ga, z, y) = (
                    &after[..b],
                    &self.val[o * b..][..b],
                    &self.val[a * b..][..b],
                );
                let g = &mut before[o * b..(o + 1) * b];
                match op {
                    Op::Relu => activation_backward::<{ Op::Relu as u8 }>(g, ga, z, y),
                    Op::Tanh => activation_backward::<{ Op::Tanh as u8 }>(g, ga, z, y),
                    _ => activation_backward::<{ Op::Sigmoid as u8 }>(g, ga, z, y),
                }
            }
        }
    }

    /// Through the activations first; then dX += dY·W, dW += dYᵀ·X, db +=
    /// Σ dY over lanes.
    #[inline(always)]
    fn layer_backward(&mut self, l: usize) {
        self.activations_backward(l);
        let b = self.lanes;
        let layer = &self.layers[l];
        let (n, m) = (layer.x.len(), layer.out.len());
        if n.min(m) <= THIN && !gemm::kernels() {
            self.thin_backward(l);
            return;
        }
        let [xs, ws, dys, dxs, dws] = &mut self.scratch;
        let w = weights(raw(&mut self.shared_val), &layer.w, layer.regular, ws); // m×n, rows w.1 apart
        let (val, grad) = (raw(&mut self.val), raw(&mut self.grad));
        let x = columns(val, &layer.x, b, xs); // b×n
        let dy = columns(grad, &layer.out, b, dys); // b×m
        // dX is added straight into the inputs' lanes when they are evenly spaced
        let (dx, dxcs, direct) = columns_out(grad, &layer.x, b, dxs);
        // dW is added straight into the shared gradients when the weights are regular
        let dw_direct = layer.regular;
        let (dw, dwrs) = match dw_direct {
            Some(_) => weights(raw(&mut self.shared_grad), &layer.w, dw_direct, dws),
            None => {
                dws.clear();
                dws.resize(m * n, 0.0);
                (dws.as_mut_ptr(), n)
            }
        };
        // the inputs' gradient is wanted unless they are all the data's own lanes
        let want_dx = layer.x.iter().any(|&j| j >= self.nin);
        // SAFETY: as in layer_forward: dy addresses b×m numbers (the outputs'
        // gradient lanes or a copy), w m×n, x b×n, dw m×n, and dx b×n at
        // (1, dxcs) inside `grad` (the inputs' lanes, before the outputs'
        // lanes that dy reads) or a scratch buffer of that size.
        unsafe {
            if want_dx {
                gemm(
                    b,
                    m,
                    n,
                    1.0,
                    dy.0,
                    1,
                    dy.1 as isize,
                    w.0,
                    w.1 as isize,
                    1,
                    if direct { 1.0 } else { 0.0 },
                    dx,
                    1,
                    dxcs as isize,
                );
            }
            gemm(
                m,
                b,
                n,
                1.0,
                dy.0,
                dy.1 as isize,
                1,
                x.0,
                1,
                x.1 as isize,
                if dw_direct.is_some() { 1.0 } else { 0.0 },
                dw,
                dwrs as isize,
                1,
            );
        }
        if want_dx && !direct {
            for (j, &xj) in layer.x.iter().enumerate() {
                for (g, &d) in self.grad[xj * b..(xj + 1) * b]
                    .iter_mut()
                    .zip(&dxs[j * b..])
                {
                    *g += d;
                }
            }
        }
        if dw_direct.is_none() {
            for (i, row) in layer.w.iter().enumerate() {
                for (j, &k) in row.iter().enumerate() {
                    self.shared_grad[k] += dws[i * n + j];
                }
            }
        }
        if let Some(bs) = &layer.b {
            for (i, &k) in bs.iter().enumerate() {
                let o = layer.out[i];
                self.shared_grad[k] += lane_sum(&self.grad[o * b..(o + 1) * b]);
            }
        }
    }

    /// A layer with at most [`THIN`] inputs or outputs (a network's first
    /// layer on a few features, its last with one output), in place, lane
    /// vectors at a time: each output starts at its bias and adds wᵢⱼ·xⱼ for
    /// j in order, as the tape's affine node does. A matrix product pads
    /// such shapes to its 8×4 tiles; this does not.
    #[inline(always)]
    fn thin_forward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.layers[l];
        let split = layer.out.iter().copied().min().unwrap_or(0) * b;
        let (xs, ys) = self.val.split_at_mut(split);
        for (i, &o) in layer.out.iter().enumerate() {
            let y = &mut ys[o * b - split..][..b];
            y.fill(layer.b.as_ref().map_or(0.0, |bs| self.shared_val[bs[i]]));
            for (&k, &xj) in layer.w[i].iter().zip(&layer.x) {
                let w = self.shared_val[k];
                y.iter_mut()
                    .zip(&xs[xj * b..][..b])
                    .for_each(|(y, &x)| *y += w * x);
            }
        }
        self.activations_forward(l);
    }

    /// [`thin_forward`](Self::thin_forward)'s backward, in place (the
    /// activations done): dwᵢⱼ += dyᵢ·xⱼ, dxⱼ += wᵢⱼ·dyᵢ, dbᵢ += Σ dyᵢ.
    #[inline(always)]
    fn thin_backward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.layers[l];
        let want_dx = layer.x.iter().any(|&j| j >= self.nin);
        let split = layer.out.iter().copied().min().unwrap_or(0) * b;
        let (gx, gy) = self.grad.split_at_mut(split);
        for (i, &o) in layer.out.iter().enumerate() {
            let dy = &gy[o * b - split..][..b];
            if let Some(bs) = &layer.b {
                self.shared_grad[bs[i]] += lane_sum(dy);
            }
            for (&k, &xj) in layer.w[i].iter().zip(&layer.x) {
                self.shared_grad[k] += lane_dot(dy, &self.val[xj * b..][..b]);
                if want_dx {
                    let w = self.shared_val[k];
                    gx[xj * b..][..b]
                        .iter_mut()
                        .zip(dy)
                        .for_each(|(g, &d)| *g += w * d);
                }
            }
        }
    }
}

/// Where the small matrix products of [`gemm()`] are not available, layers
/// with at most this many inputs or outputs run as vector loops
/// ([`Replay::thin_forward`]); wider ones as matrix products. Measured on
/// the demo: through `matrixmultiply`, the thin path is faster for its
/// 2-input and 1-output layers, the matrix product for its 16×16 one;
/// through [`gemm()`]'s own kernels, every layer is faster as a product
/// (1.35 ms for the demo's 100 steps against 1.42).
const THIN: usize = 4;

/// Σ v, in [`SUMS`] running sums so that it vectorizes: as many as keep a
/// core's adders busy (one sum a vector wide waits for each add to finish).
#[inline(always)]
fn lane_sum(v: &[f64]) -> f64 {
    let mut acc = [0.0; SUMS];
    let chunks = v.chunks_exact(SUMS);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..SUMS {
            acc[k] += c[k];
        }
    }
    fold(acc) + tail
}

/// Σ aᵣ·bᵣ, in [`SUMS`] running sums, as [`lane_sum`].
#[inline(always)]
fn lane_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; SUMS];
    let (ca, cb) = (a.chunks_exact(SUMS), b.chunks_exact(SUMS));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..SUMS {
            acc[k] += x[k] * y[k];
        }
    }
    fold(acc) + tail
}

/// Running sums per reduction: four vectors of four with AVX2 (on the demo,
/// 4% fewer cycles a step than with one vector's worth).
const SUMS: usize = 16;

/// The running sums added in pairs.
#[inline(always)]
fn fold(mut acc: [f64; SUMS]) -> f64 {
    let mut n = SUMS;
    while n > 1 {
        n /= 2;
        for k in 0..n {
            acc[k] += acc[k + n];
        }
    }
    acc[0]
}

/// The weights of a layer, row by row, from the shared values.
///
/// Returns a pointer and the distance between rows: in place when the
/// indices are regular (row i, column j at `first + i·rs + j`, as an MLP's
/// parameters are: each neuron's weights, then its bias), else copied into
/// `scratch`.
fn weights(
    (base, len): (*mut f64, usize),
    w: &[Vec<usize>],
    regular: Option<(usize, usize)>,
    scratch: &mut Vec<f64>,
) -> (*mut f64, usize) {
    if let Some((first, rs)) = regular {
        let n = w[0].len();
        assert!(
            first + rs * (w.len() - 1) + n <= len,
            "a layer's weights lie inside the buffer"
        );
        // SAFETY: the last row's last weight is inside the buffer (checked above).
        return (unsafe { base.add(first) }, rs);
    }
    // SAFETY: `base` and `len` describe one live buffer, read while no
    // reference to it is alive.
    let shared = unsafe { std::slice::from_raw_parts(base, len) };
    scratch.clear();
    scratch.extend(w.iter().flat_map(|row| row.iter().map(|&k| shared[k])));
    (scratch.as_mut_ptr(), w.first().map_or(0, Vec::len))
}

/// `(first, row stride)` if `w[i][j] = first + i·stride + j` for all i, j.
fn regular(w: &[Vec<usize>]) -> Option<(usize, usize)> {
    let first = *w.first()?.first()?;
    let rs = w.get(1).map_or(w[0].len(), |r| r[0].saturating_sub(first));
    let fits = rs >= w[0].len()
        && w.iter().enumerate().all(|(i, row)| {
            row.iter()
                .enumerate()
                .all(|(j, &k)| k == first + i * rs + j)
        });
    fits.then_some((first, rs))
}

/// `(first, step)` if `nodes` are evenly spaced (one node: step 1).
fn progression(nodes: &[usize]) -> Option<(usize, usize)> {
    let (&first, rest) = nodes.split_first()?;
    let step = rest.first().map_or(1, |&s| s.saturating_sub(first));
    let even = step > 0 && nodes.windows(2).all(|p| p[1] == p[0] + step);
    even.then_some((first, step))
}

/// The lanes of `nodes` in `from` (a buffer of `len` numbers at `base`)
/// as a b×len column-major matrix: a pointer and the distance between
/// columns. In place when the nodes are evenly spaced; else copied into
/// `scratch`. Every pointer into a buffer comes from its one base pointer,
/// so that a matrix read and one written in the same buffer may coexist.
fn columns(
    (base, len): (*mut f64, usize),
    nodes: &[usize],
    b: usize,
    scratch: &mut Vec<f64>,
) -> (*const f64, usize) {
    if let Some((first, step)) = progression(nodes) {
        let last = (first + step * (nodes.len() - 1) + 1) * b;
        assert!(last <= len, "a layer's lanes lie inside the buffer");
        // SAFETY: first·b + the matrix's extent is within the buffer (checked above).
        return (unsafe { base.add(first * b) }, step * b);
    }
    // SAFETY: `base` and `len` describe one live buffer, and no reference
    // to it is alive while this copy reads it.
    let from = unsafe { std::slice::from_raw_parts(base, len) };
    scratch.clear();
    for &k in nodes {
        scratch.extend_from_slice(&from[k * b..(k + 1) * b]);
    }
    (scratch.as_ptr(), b)
}

/// Where a layer writes the lanes of `nodes` in a buffer of `len` numbers at
/// `base`, as a b×len column-major matrix: a pointer, the distance between
/// columns, and whether it is the lanes themselves (evenly spaced nodes) or
/// `scratch`, zeroed, whose columns the caller then adds to the lanes.
fn columns_out(
    (base, len): (*mut f64, usize),
    nodes: &[usize],
    b: usize,
    scratch: &mut Vec<f64>,
) -> (*mut f64, usize, bool) {
    if let Some((first, step)) = progression(nodes) {
        let last = (first + step * (nodes.len() - 1) + 1) * b;
        assert!(last <= len, "a layer's lanes lie inside the buffer");
        // SAFETY: first·b + the matrix's extent is within the buffer (checked above).
        return (unsafe { base.add(first * b) }, step * b, true);
    }
    scratch.clear();
    scratch.resize(b * nodes.len(), 0.0);
    (scratch.as_mut_ptr(), b, false)
}

/// A buffer as a base pointer and a length, for [`columns`].
fn raw(v: &mut [f64]) -> (*mut f64, usize) {
    (v.as_mut_ptr(), v.len())
}

/// An operand over the lanes: each lane its own number, or one for all.
#[derive(Clone, Copy)]
enum Src<'a> {
    Lanes(&'a [f64]),
    All(f64),
}

impl Src<'_> {
    #[inline(always)]
    fn at(self, r: usize) -> f64 {
        match self {
            Src::Lanes(v) => v[r],
            Src::All(x) => x,
        }
    }
}

/// Operand `a` over `b` lanes, from the values before the node.
#[inline]
fn src<'a>(a: Arg, val: &'a [f64], shared: &[f64], b: usize) -> Src<'a> {
    match a {
        Arg::Lane(k) => Src::Lanes(&val[k * b..(k + 1) * b]),
        Arg::Shared(k) => Src::All(shared[k]),
    }
}

/// `out[r] = f(a[r])` for every lane, in a loop the compiler can vectorize.
#[inline(always)]
fn map1(a: Src, out: &mut [f64], f: impl Fn(f64) -> f64) {
    match a {
        Src::Lanes(a) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x);
            }
        }
        Src::All(x) => out.fill(f(x)),
    }
}

/// `out[r] = f(a[r], b[r])` for every lane.
#[inline(always)]
fn map2(a: Src, b: Src, out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Src::Lanes(a), Src::Lanes(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (Src::Lanes(a), Src::All(y)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        (Src::All(x), Src::Lanes(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y);
            }
        }
        (Src::All(x), Src::All(y)) => out.fill(f(x, y)),
    }
}

/// `out[r] = o(a[r])` with constant `c`, for every lane: [`Op::forward`].
#[inline(always)]
fn forward1<const O: u8>(a: Src, c: f64, out: &mut [f64]) {
    let o = const { Op::numbered(O) };
    map1(
        a,
        out,
        #[inline(always)]
        |p| o.forward(p, 0.0, c),
    );
}

/// `out[r] = o(a[r], b[r])` for every lane: [`Op::forward`].
#[inline(always)]
fn forward2<const O: u8>(a: Src, b: Src, out: &mut [f64]) {
    let o = const { Op::numbered(O) };
    map2(
        a,
        b,
        out,
        #[inline(always)]
        |p, q| o.forward(p, q, 0.0),
    );
}

/// An activation's backward over the lanes: `g[r] += o'·d[r]` from its input
/// `z` and output `y` ([`Op::chain`]), in one loop that vectorizes.
#[inline(always)]
fn activation_backward<const O: u8>(g: &mut [f64], d: &[f64], z: &[f64], y: &[f64]) {
    let o = const { Op::numbered(O) };
    for (((g, &d), &z), &y) in g.iter_mut().zip(d).zip(z).zip(y) {
        *g += o.chain(0, d, || z, || 0.0, || 0.0, || y);
    }
}

/// A node's value in every lane, from the nodes before it: [`Op::forward`].
#[inline(always)]
fn forward_node(n: &Node, val: &[f64], shared: &[f64], out: &mut [f64], b: usize) {
    let x = |k: usize| src(n.args[k], val, shared, b);
    let c = n.c;
    match n.op {
        Op::Leaf => out.fill(c),
        Op::Add => forward2::<{ Op::Add as u8 }>(x(0), x(1), out),
        Op::Sub => forward2::<{ Op::Sub as u8 }>(x(0), x(1), out),
        Op::Mul => forward2::<{ Op::Mul as u8 }>(x(0), x(1), out),
        Op::Div => forward2::<{ Op::Div as u8 }>(x(0), x(1), out),
        Op::Pow => forward2::<{ Op::Pow as u8 }>(x(0), x(1), out),
        Op::Neg => forward1::<{ Op::Neg as u8 }>(x(0), c, out),
        Op::AddC => forward1::<{ Op::AddC as u8 }>(x(0), c, out),
        Op::SubC => forward1::<{ Op::SubC as u8 }>(x(0), c, out),
        Op::RSubC => forward1::<{ Op::RSubC as u8 }>(x(0), c, out),
        Op::RDivC => forward1::<{ Op::RDivC as u8 }>(x(0), c, out),
        Op::MulC => forward1::<{ Op::MulC as u8 }>(x(0), c, out),
        Op::DivC => forward1::<{ Op::DivC as u8 }>(x(0), c, out),
        Op::PowC => forward1::<{ Op::PowC as u8 }>(x(0), c, out),
        Op::Exp => forward1::<{ Op::Exp as u8 }>(x(0), c, out),
        Op::Ln => forward1::<{ Op::Ln as u8 }>(x(0), c, out),
        Op::Tanh => forward1::<{ Op::Tanh as u8 }>(x(0), c, out),
        Op::Relu => forward1::<{ Op::Relu as u8 }>(x(0), c, out),
        Op::Sigmoid => forward1::<{ Op::Sigmoid as u8 }>(x(0), c, out),
        Op::Softplus => forward1::<{ Op::Softplus as u8 }>(x(0), c, out),
        Op::Sum => {
            out.fill(0.0);
            for k in 0..n.args.len() {
                match x(k) {
                    Src::Lanes(v) => out.iter_mut().zip(v).for_each(|(o, p)| *o += p),
                    Src::All(p) => out.iter_mut().for_each(|o| *o += p),
                }
            }
        }
        Op::Dot | Op::Affine => {
            let k = n.args.len() / 2;
            for (r, o) in out.iter_mut().enumerate() {
                let bias = if n.op == Op::Affine {
                    x(2 * k).at(r)
                } else {
                    0.0
                };
                *o = (0..k).fold(bias, |acc, j| acc + x(j).at(r) * x(k + j).at(r));
            }
        }
        Op::LogSumExp => {
            for (r, o) in out.iter_mut().enumerate() {
                *o = logsumexp((0..n.args.len()).map(|k| x(k).at(r)));
            }
        }
    }
}

/// Where a node's backward sends gradients: its operands' lanes, or the
/// shared values' sums.
struct Give<'a> {
    args: &'a [Arg],
    grad: &'a mut [f64],
    shared_grad: &'a mut [f64],
    b: usize,
}

impl Give<'_> {
    /// Adds `d(r)` to operand `k`'s gradient for every lane `r`: lane by
    /// lane for a lane operand, summed over the lanes for a shared one.
    #[inline(always)]
    fn add(&mut self, k: usize, d: impl Fn(usize) -> f64) {
        let b = self.b;
        match self.args[k] {
            Arg::Lane(c) => {
                for (r, g) in self.grad[c * b..(c + 1) * b].iter_mut().enumerate() {
                    *g += d(r);
                }
            }
            Arg::Shared(c) => {
                // four running sums: a shared operand's gradient adds up every lane
                let mut acc = [0.0; 4];
                for r in 0..b {
                    acc[r & 3] += d(r);
                }
                self.shared_grad[c] += (acc[0] + acc[1]) + (acc[2] + acc[3]);
            }
        }
    }
}

/// Adds node `i`'s lane gradients times its local derivatives to its
/// operands: a lane operand lane by lane, a shared one summed over lanes.
#[inline(always)]
fn backward_node(
    n: &Node,
    i: usize,
    val: &[f64],
    grad: &mut [f64],
    shared: &[f64],
    shared_grad: &mut [f64],
    b: usize,
) {
    let (before, after) = grad.split_at_mut(i * b);
    let gi = &after[..b];
    if gi.iter().all(|&g| g == 0.0) {
        return; // nothing flows through this node
    }
    let out = &val[i * b..(i + 1) * b];
    let x = |k: usize| src(n.args[k], val, shared, b);
    let mut g = Give {
        args: &n.args,
        grad: before,
        shared_grad,
        b,
    };
    let c = n.c;
    match n.op {
        Op::Leaf => {}
        Op::Add => backward2::<{ Op::Add as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Sub => backward2::<{ Op::Sub as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Mul => backward2::<{ Op::Mul as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Div => backward2::<{ Op::Div as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Pow => backward2::<{ Op::Pow as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Neg => backward1::<{ Op::Neg as u8 }>(&mut g, gi, x(0), c, out),
        Op::AddC => backward1::<{ Op::AddC as u8 }>(&mut g, gi, x(0), c, out),
        Op::SubC => backward1::<{ Op::SubC as u8 }>(&mut g, gi, x(0), c, out),
        Op::RSubC => backward1::<{ Op::RSubC as u8 }>(&mut g, gi, x(0), c, out),
        Op::RDivC => backward1::<{ Op::RDivC as u8 }>(&mut g, gi, x(0), c, out),
        Op::MulC => backward1::<{ Op::MulC as u8 }>(&mut g, gi, x(0), c, out),
        Op::DivC => backward1::<{ Op::DivC as u8 }>(&mut g, gi, x(0), c, out),
        Op::PowC => backward1::<{ Op::PowC as u8 }>(&mut g, gi, x(0), c, out),
        Op::Exp => backward1::<{ Op::Exp as u8 }>(&mut g, gi, x(0), c, out),
        Op::Ln => backward1::<{ Op::Ln as u8 }>(&mut g, gi, x(0), c, out),
        Op::Tanh => backward1::<{ Op::Tanh as u8 }>(&mut g, gi, x(0), c, out),
        Op::Relu => backward1::<{ Op::Relu as u8 }>(&mut g, gi, x(0), c, out),
        Op::Sigmoid => backward1::<{ Op::Sigmoid as u8 }>(&mut g, gi, x(0), c, out),
        Op::Softplus => backward1::<{ Op::Softplus as u8 }>(&mut g, gi, x(0), c, out),
        Op::Sum | Op::LogSumExp => {
            for k in 0..n.args.len() {
                let z = x(k);
                g.add(k, |r| n.op.chain_many(gi[r], || z.at(r), || 1.0, || out[r]));
            }
        }
        Op::Dot | Op::Affine => {
            let k = n.args.len() / 2;
            for j in 0..k {
                let (w, xv) = (x(j), x(k + j));
                let chain =
                    |r, partner: Src| Op::Dot.chain_many(gi[r], || 0.0, || partner.at(r), || 0.0);
                g.add(j, |r| chain(r, xv));
                g.add(k + j, |r| chain(r, w));
            }
            if n.op == Op::Affine {
                g.add(2 * k, |r| {
                    Op::Affine.chain_many(gi[r], || 1.0, || 1.0, || 0.0)
                });
            }
        }
    }
}

/// A one-child node's backward over the lanes: [`Op::chain`].
#[inline(always)]
fn backward1<const O: u8>(g: &mut Give, gi: &[f64], a: Src, c: f64, out: &[f64]) {
    let o = const { Op::numbered(O) };
    g.add(
        0,
        #[inline(always)]
        |r| o.chain(0, gi[r], || a.at(r), || 0.0, || c, || out[r]),
    );
}

/// A two-child node's backward over the lanes: [`Op::chain`].
#[inline(always)]
fn backward2<const O: u8>(g: &mut Give, gi: &[f64], a: Src, b: Src, out: &[f64]) {
    let o = const { Op::numbered(O) };
    g.add(
        0,
        #[inline(always)]
        |r| o.chain(0, gi[r], || a.at(r), || b.at(r), || 0.0, || out[r]),
    );
    g.add(
        1,
        #[inline(always)]
        |r| o.chain(1, gi[r], || a.at(r), || b.at(r), || 0.0, || out[r]),
    );
}

/// Which entry of a recording's shared values each leaf below it is.
///
/// Parameters are usually made together, so the leaves' span is dense and
/// a table over it does. A one-step `fit` of a 256-wide MLP (66 817
/// parameters, recorded at each `fit`) took 16.5–18.1 ms with a hash map,
/// whose writes to random buckets missed the cache, and takes 12.5–13.0.
/// Leaves spread far apart (a constant made long before) get the hash map.
enum SharedAt {
    Dense { lo: usize, at: Vec<u32> },
    Sparse(FastMap<usize, usize>),
}

impl SharedAt {
    /// For `links` references to leaves in `lo..end`.
    fn new(lo: usize, end: usize, links: usize) -> SharedAt {
        if end - lo <= 4 * links + 64 {
            SharedAt::Dense {
                lo,
                at: vec![u32::MAX; end - lo],
            }
        } else {
            SharedAt::Sparse(FastMap::with_capacity_and_hasher(links, Default::default()))
        }
    }

    fn get_or_insert(&mut self, c: usize, new: impl FnOnce() -> usize) -> usize {
        match self {
            SharedAt::Dense { lo, at } => {
                let s = &mut at[c - *lo];
                if *s == u32::MAX {
                    *s = new() as u32;
                }
                *s as usize
            }
            SharedAt::Sparse(m) => *m.entry(c).or_insert_with(new),
        }
    }
}

/// A hash map keyed by our own indices: they are not an attacker's, and
/// with the default SipHash, hashing was a fifth of recording a 256-wide
/// network.
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<IndexHasher>>;

/// One multiplication per word (Fibonacci hashing).
#[derive(Default)]
struct IndexHasher(u64);

impl IndexHasher {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(29) ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.mix(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        for &b in words.remainder() {
            self.mix(u64::from(b));
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, MLP, Module};

    /// A recording with a thin layer at each end (3 inputs, 2 outputs) and
    /// a square one between, and 37 rows for it (not a multiple of 4 or 8).
    fn recorded() -> (Replay, Vec<[f64; 4]>) {
        let m = MLP::builder(3, &[16, 8, 2])
            .hidden(Activation::Tanh)
            .seed(7)
            .build();
        let r = Replay::record(4, |v| {
            let out = m.forward(&v[..3]);
            ((out[0] - v[3]).pow(2.0) + out[1].relu(), out)
        })
        .unwrap();
        let rows = (0..37)
            .map(|i| {
                let x = f64::from(i);
                [x.sin(), (0.3 * x).cos(), 0.1 * x - 1.0, (x * 0.7).sin()]
            })
            .collect();
        (r, rows)
    }

    /// The AVX2 passes (taken on processors that have it) and the baseline
    /// ones compute the same bits: the claim that makes dispatching safe.
    #[test]
    fn wide_and_baseline_passes_agree_bit_for_bit() {
        let (mut r, rows) = recorded();
        r.load(&rows, |_| 0.0);
        r.passes();
        let wide = (r.val.clone(), r.grad.clone(), r.shared_grad.clone());
        r.load(&rows, |_| 0.0);
        r.forward();
        r.backward();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&wide.0), bits(&r.val));
        assert_eq!(bits(&wide.1), bits(&r.grad));
        assert_eq!(bits(&wide.2), bits(&r.shared_grad));
        assert!(r.shared_grad.iter().any(|&g| g != 0.0));
    }

    /// Where the small products' kernels do not run (no AVX), thin layers
    /// go through [`Replay::thin_forward`] and the rest through
    /// `matrixmultiply`: the same numbers, up to the order of summation.
    #[test]
    fn portable_layers_agree_with_the_kernels() {
        let (mut r, rows) = recorded();
        r.load(&rows, |_| 0.0);
        r.passes();
        let fast = (r.val.clone(), r.grad.clone(), r.shared_grad.clone());
        gemm::PORTABLE.set(true);
        r.load(&rows, |_| 0.0);
        r.passes();
        gemm::PORTABLE.set(false);
        use crate::engine::assert_close;
        assert_close(&fast.0, &r.val);
        assert_close(&fast.1, &r.grad);
        assert_close(&fast.2, &r.shared_grad);
        assert!(r.shared_grad.iter().any(|&g| g != 0.0));
    }

    /// `y = (x·a + b)·c + a` on one row, with `gap` leaves made between the
    /// parameters, which are made in the order b, a, c and used in the
    /// order a, b, c.
    fn far_apart(gap: usize) {
        let _s = crate::scope();
        let filler = |n: usize| (0..n).map(|i| Value::new(i as f64)).collect::<Vec<_>>();
        let b = Value::new(-1.3);
        let _g1 = filler(gap);
        let a = Value::new(0.7);
        let _g2 = filler(gap);
        let c = Value::new(2.1);
        let mut r = Replay::record(1, |v| ((v[0] * a + b) * c + a, vec![])).unwrap();
        assert_eq!(r.shared(), &[a, b, c], "in the order of first use");
        crate::zero_grad(&[a, b, c]);
        let y = r.run(&[[2.0]]);
        assert!((y - ((2.0 * 0.7 - 1.3) * 2.1 + 0.7)).abs() < 1e-15);
        // dy/da = x·c + 1, dy/db = c, dy/dc = x·a + b
        let want = [2.0 * 2.1 + 1.0, 2.1, 2.0 * 0.7 - 1.3];
        for (g, w) in [a, b, c].map(Value::grad).iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
    }

    #[test]
    fn parameters_made_together_or_far_apart_are_found_alike() {
        // three leaves in a span of 3 take the table, in a span of 10 003 the map
        assert!(matches!(SharedAt::new(0, 3, 4), SharedAt::Dense { .. }));
        assert!(matches!(SharedAt::new(0, 10_003, 4), SharedAt::Sparse(_)));
        far_apart(0);
        far_apart(5_000);
    }
}
