//! Record once, replay over a batch. [`Replay`]'s doc says what it does and
//! what it refuses; this module is how, one step a file:
//!
//! - `record`: the nodes one sample's function made on the tape, kept as a
//!   program whose operands are lanes (one number per sample) or shared
//!   leaves (parameters, constants);
//! - `plan`: affine nodes on the same inputs with shared weights grouped
//!   into layers, their activations fused in; the rest runs node by node;
//! - `lanes`: a node over every lane at once, with its op's rules from
//!   [`ops`](super::ops);
//! - `layer`: a layer as matrix products, forward and backward;
//! - `layout`: where a layer's matrices lie, as raw pointers, with the
//!   safety argument for their aliasing;
//! - `forward`: the values alone over many rows, a chunk of lanes at a
//!   time, for evaluation and prediction;
//! - here: the program ([`Program`]), shared by the buffers it runs in
//!   ([`Lanes`]), which hold no tape handle, so that a large batch's parts
//!   run on rayon's threads;
//! - `held`: the hand-off to an optimizer, gradients kept here for one
//!   visit to the tape.
//!
//! Values and gradients are the tape's up to the order of summation (a
//! matrix product adds in blocks): the tests hold them to 1e-12 relative.

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;

use super::leaves::{Handles, Leaves};
use super::tape::{self, Op};
use super::value::Value;

mod forward;
mod held;
mod lanes;
mod layer;
mod layout;
mod plan;
mod record;

use lanes::{backward_node, forward_node};

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
    /// Tape handles of the shared leaves, read afresh each run (parameters change).
    shared: Leaves,
    /// The program and the buffers of a batch run in one piece.
    run: Lanes,
    /// A batch of more than [`PART_LANES`] rows runs in parts of that many
    /// lanes, each with buffers of its own, on as many threads as there are.
    parts: Vec<Lanes>,
}

/// The most lanes a batch runs in one piece. A larger batch is cut into
/// parts of this many rows (the last one shorter) whatever the number of
/// threads, and the parts' gradients are added in order, so the numbers are
/// the same bits on one thread or many. 256 lanes of a 1024 × 1024 network
/// are 8 MiB of values: a part stays in the processor's cache, where a whole
/// large batch would not.
const PART_LANES: usize = 256;

/// The largest layer (inputs × outputs) whose batch still runs in parts. A
/// wider layer's products are large enough for matrixmultiply to split them
/// between the cores itself, and parts on top of that ask each core for two
/// things at once: at 512 × 512 and 1 000 rows a step took 34 ms in parts
/// against 25 in one piece (BENCHMARKS.md).
const PART_WIDTH: usize = 1 << 16;

/// The recorded program: nodes, layers and the order to run them in.
/// Shared, read-only, by every [`Lanes`] that runs it.
#[derive(Debug)]
struct Program {
    nin: usize,
    nodes: Vec<Node>,
    layers: Vec<Layer>,
    steps: Vec<Step>,
    root: usize,
    outputs: Vec<usize>,
}

/// A program and the buffers it runs in over a batch of lanes. It holds no
/// tape handle (the shared values are copied in), so it can run on another
/// thread.
#[derive(Clone, Debug)]
struct Lanes {
    p: Arc<Program>,
    lanes: usize,
    /// Each node's lanes: its value, then its gradient.
    val: Vec<f64>,
    grad: Vec<f64>,
    /// The shared values, read once a run and shared by every part.
    shared_val: Arc<Vec<f64>>,
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
        let (p, shared) = tape::with(|t| Program::compile(t, start, nin, root, &outputs))?;
        Ok(Replay {
            shared,
            run: Lanes::new(Arc::new(p)),
            parts: Vec::new(),
        })
    }

    /// How many inputs a row has.
    ///
    /// ```
    /// let r = micrograd::Replay::record(2, |v| (v[0] * v[1], vec![])).unwrap();
    /// assert_eq!(r.nin(), 2);
    /// ```
    pub fn nin(&self) -> usize {
        self.run.p.nin
    }

    /// Runs the recording on every row of `rows` (each `nin` numbers), adds
    /// d(mean)/d(p) to the gradient of every parameter `p` it uses (leaves
    /// accumulate, as after [`Value::backward`]), and returns the mean over
    /// the rows of the recorded value. The per-row outputs are then in
    /// [`output`](Self::output).
    ///
    /// A batch of more than 256 rows runs in parts of 256 on as many
    /// threads as rayon has (the machine's cores, or `RAYON_NUM_THREADS`),
    /// with the same numbers on any number of threads; unless a layer is
    /// 256 × 256 or wider, whose products matrixmultiply splits between the
    /// cores itself.
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
    pub fn run<R: AsRef<[f64]> + Sync>(&mut self, rows: &[R]) -> f64 {
        let mean = self.passes_over(rows, |_| 0.0);
        self.accumulate(|old, g| old + g);
        mean
    }

    /// Reads the shared values, runs the passes over the rows (in parts,
    /// in parallel, for a large batch), keeps the outputs; the mean of the
    /// recorded value. The shared values' gradients start at `start(data)`.
    fn passes_over<R: AsRef<[f64]> + Sync>(
        &mut self,
        rows: &[R],
        start: impl FnMut(f64) -> f64,
    ) -> f64 {
        let total = rows.len();
        let run = &mut self.run;
        super::bulk::read_data_into(&self.shared, Arc::make_mut(&mut run.shared_val));
        run.shared_grad.clear();
        run.shared_grad
            .extend(run.shared_val.iter().copied().map(start));
        if total <= PART_LANES || !run.p.splits() {
            let sum = run.pass(rows, total);
            return sum / total.max(1) as f64;
        }
        let nparts = total.div_ceil(PART_LANES);
        self.parts.truncate(nparts);
        while self.parts.len() < nparts {
            self.parts.push(Lanes::new(run.p.clone()));
        }
        let (shared_val, parts) = (&run.shared_val, &mut self.parts);
        let sums: Vec<f64> = super::threads::install(|| {
            parts
                .par_iter_mut()
                .zip(rows.par_chunks(PART_LANES))
                .map(|(part, rows)| {
                    part.shared_val = Arc::clone(shared_val);
                    part.shared_grad.clear();
                    part.shared_grad.resize(shared_val.len(), 0.0);
                    let sum = part.pass(rows, total);
                    // let go, so that the next run reads the values in place
                    part.shared_val = Arc::default();
                    sum
                })
                .collect()
        });
        // in the parts' order, whichever thread ran each
        run.out.clear();
        for part in &self.parts {
            for (g, d) in run.shared_grad.iter_mut().zip(&part.shared_grad) {
                *g += d;
            }
            run.out.extend_from_slice(&part.out);
        }
        sums.iter().sum::<f64>() / total as f64
    }

    /// The outputs of row `r` of the last [`run`](Self::run), in the order
    /// the recorded function returned them (see [`run`](Self::run)'s example).
    pub fn output(&self, r: usize) -> &[f64] {
        let k = self.run.p.outputs.len();
        &self.run.out[r * k..(r + 1) * k]
    }

    /// The leaves made outside the recording that it uses, in the order of
    /// their first use.
    pub(crate) fn shared(&self) -> &[Value] {
        self.shared.values()
    }

    /// Writes the shared values' gradients to their leaves on the tape, as
    /// `set(old, g)` (for [`run`](Self::run), `old + g`: leaves accumulate,
    /// as after `backward`).
    fn accumulate(&mut self, mut set: impl FnMut(f64, f64) -> f64) {
        tape::with(|t| {
            self.shared.checked_run(t);
            for (v, &g) in self.shared.values().iter().zip(&self.run.shared_grad) {
                let old = t.grad_of(v.idx);
                t.grad[v.idx as usize] = set(old, g);
            }
        });
    }
}

impl Program {
    /// Whether a large batch runs in parts: every layer narrower than
    /// [`PART_WIDTH`]. A property of the program, not of the threads, so the
    /// numbers stay the same on any number of them.
    fn splits(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.x.len() * l.out.len() < PART_WIDTH)
    }
}

impl Lanes {
    fn new(p: Arc<Program>) -> Lanes {
        Lanes {
            p,
            lanes: 0,
            val: Vec::new(),
            grad: Vec::new(),
            shared_val: Arc::default(),
            shared_grad: Vec::new(),
            out: Vec::new(),
            scratch: Default::default(),
        }
    }

    /// Forward and backward over `rows`, a part of a batch of `total` rows
    /// (each lane's gradient starts at d(mean)/d(lane) = 1/total), adding
    /// to the shared gradients as they stand; keeps the outputs and returns
    /// the sum of the recorded value over the rows.
    fn pass<R: AsRef<[f64]>>(&mut self, rows: &[R], total: usize) -> f64 {
        let b = rows.len();
        self.load_rows(rows);
        self.grad.clear();
        self.grad.resize(self.p.nodes.len() * b, 0.0);
        self.passes(total);
        let root = self.p.root;
        let sum = self.val[root * b..(root + 1) * b].iter().sum::<f64>();
        self.out.clear();
        for r in 0..b {
            self.out
                .extend(self.p.outputs.iter().map(|&o| self.val[o * b + r]));
        }
        sum
    }

    /// Sizes the value buffer for the rows and puts them in the input lanes.
    fn load_rows<R: AsRef<[f64]>>(&mut self, rows: &[R]) {
        let b = rows.len();
        self.lanes = b;
        let (n, nin) = (self.p.nodes.len(), self.p.nin);
        self.val.resize(n * b, 0.0); // every node is written before it is read
        for (r, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            assert_eq!(
                row.len(),
                nin,
                "micrograd: Replay::run: row {r} has {} numbers, the recording takes {nin}",
                row.len(),
            );
            for (k, &x) in row.iter().enumerate() {
                self.val[k * b + r] = x;
            }
        }
    }

    #[inline(always)]
    fn forward(&mut self) {
        let b = self.lanes;
        let p = Arc::clone(&self.p);
        for step in &p.steps {
            match *step {
                Step::Layer(l) => self.layer_forward(l),
                Step::Node(i) => {
                    if i < p.nin {
                        continue; // an input: loaded
                    }
                    let (before, rest) = self.val.split_at_mut(i * b);
                    let out = &mut rest[..b];
                    forward_node(&p.nodes[i], before, &self.shared_val, out, b);
                }
            }
        }
    }

    /// Forward then backward over the lanes, with 256-bit vectors where the
    /// processor has them (AVX2: twice the numbers per instruction of the
    /// baseline's SSE2). Without FMA, so every number is bit for bit the
    /// same on every x86-64 processor; the matrix products dispatch on
    /// their own ([`gemm()`]).
    fn passes(&mut self, total: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, just checked.
            unsafe { self.passes_avx2(total) };
            return;
        }
        self.forward();
        self.backward(total);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn passes_avx2(&mut self, total: usize) {
        self.forward();
        self.backward(total);
    }

    /// The backward pass, each lane's value weighing 1/`total` in the mean.
    #[inline(always)]
    fn backward(&mut self, total: usize) {
        let b = self.lanes;
        let p = Arc::clone(&self.p);
        let g = 1.0 / total.max(1) as f64; // d(mean)/d(each lane)
        self.grad[p.root * b..(p.root + 1) * b].fill(g);
        for step in p.steps.iter().rev() {
            match *step {
                Step::Layer(l) => self.layer_backward(l),
                Step::Node(i) => backward_node(
                    &p.nodes[i],
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
}

#[cfg(test)]
mod tests;
