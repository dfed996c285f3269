//! Training benchmark: micrograd's moons demo (examples/moons.rs, 100 full-batch
//! steps of MLP(2, [16, 16, 1]) on 100 points), the training loop alone,
//! against a reference measured in the same run: a plain Vec-of-nodes tape
//! with one binary node per op (`w*x` and `+` for every input of every neuron),
//! the usual way a scalar tape is written.
//!
//! Run: `cargo bench --bench train` (prints medians of 9 runs).

use std::hint::black_box;
use std::time::Instant;

#[allow(dead_code)]
#[path = "../examples/moons.rs"]
mod moons;

const RUNS: usize = 9;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

mod reference {
    //! A plain tape: nodes in a Vec, binary ops only, backward over the
    //! whole tape in reverse.
    #[derive(Clone, Copy)]
    enum Op {
        Leaf,
        Add(usize, usize),
        Mul(usize, usize),
        Relu(usize),
    }

    #[derive(Default)]
    pub struct Tape {
        data: Vec<f64>,
        grad: Vec<f64>,
        op: Vec<Op>,
    }

    impl Tape {
        fn push(&mut self, d: f64, op: Op) -> usize {
            self.data.push(d);
            self.grad.push(0.0);
            self.op.push(op);
            self.data.len() - 1
        }
        pub fn leaf(&mut self, d: f64) -> usize {
            self.push(d, Op::Leaf)
        }
        pub fn add(&mut self, a: usize, b: usize) -> usize {
            self.push(self.data[a] + self.data[b], Op::Add(a, b))
        }
        pub fn mul(&mut self, a: usize, b: usize) -> usize {
            self.push(self.data[a] * self.data[b], Op::Mul(a, b))
        }
        pub fn relu(&mut self, a: usize) -> usize {
            self.push(self.data[a].max(0.0), Op::Relu(a))
        }
        pub fn data(&self, i: usize) -> f64 {
            self.data[i]
        }
        pub fn len(&self) -> usize {
            self.data.len()
        }
        pub fn backward(&mut self, root: usize) {
            self.grad[root] = 1.0;
            for i in (0..=root).rev() {
                let g = self.grad[i];
                match self.op[i] {
                    Op::Leaf => {}
                    Op::Add(a, b) => {
                        self.grad[a] += g;
                        self.grad[b] += g;
                    }
                    Op::Mul(a, b) => {
                        self.grad[a] += g * self.data[b];
                        self.grad[b] += g * self.data[a];
                    }
                    Op::Relu(a) => {
                        if self.data[a] > 0.0 {
                            self.grad[a] += g;
                        }
                    }
                }
            }
        }
        /// Keeps the first `n` nodes (the parameters), zeroing their gradients.
        pub fn reset(&mut self, n: usize) {
            self.data.truncate(n);
            self.op.truncate(n);
            self.grad.truncate(n);
            self.grad.iter_mut().for_each(|g| *g = 0.0);
        }
        pub fn step(&mut self, n: usize, lr: f64) {
            for i in 0..n {
                self.data[i] -= lr * self.grad[i];
            }
        }
    }
}

/// The demo on the plain tape, with micrograd's model: seconds for 100 steps.
fn run_reference(seed: u64) -> (f64, f64) {
    use reference::Tape;
    let ds = micrograd::data::moons(100, 0.1, seed);
    let ys: Vec<f64> = ds.y.iter().map(|&c| 2.0 * c - 1.0).collect();
    let mut rng = micrograd::Rng::new(seed);
    let mut t = Tape::default();
    // layers as (weights per neuron, bias) node indices
    let mut layers: Vec<Vec<(Vec<usize>, usize)>> = vec![];
    for (nin, nout) in [(2, 16), (16, 16), (16, 1)] {
        let layer = (0..nout)
            .map(|_| {
                let w = (0..nin).map(|_| t.leaf(rng.uniform(-1.0, 1.0))).collect();
                (w, t.leaf(0.0))
            })
            .collect();
        layers.push(layer);
    }
    let nparams = t.len();
    let start = Instant::now();
    let mut last = 0.0;
    for k in 0..100 {
        t.reset(nparams);
        let mut losses = vec![];
        for (x, &y) in ds.x.iter().zip(&ys) {
            let mut act: Vec<usize> = x.iter().map(|&v| t.leaf(v)).collect();
            for (li, layer) in layers.iter().enumerate() {
                act = layer
                    .iter()
                    .map(|(w, b)| {
                        let mut s = *b;
                        for (&wi, &xi) in w.iter().zip(&act) {
                            let p = t.mul(wi, xi);
                            s = t.add(s, p);
                        }
                        if li < 2 { t.relu(s) } else { s }
                    })
                    .collect();
            }
            let m = t.leaf(-y);
            let ys = t.mul(m, act[0]);
            let one = t.leaf(1.0);
            let margin = t.add(one, ys);
            losses.push(t.relu(margin));
        }
        let mut total = losses[0];
        for &l in &losses[1..] {
            total = t.add(total, l);
        }
        let inv = t.leaf(1.0 / losses.len() as f64);
        let data_loss = t.mul(total, inv);
        let mut reg = t.leaf(0.0);
        for p in 0..nparams {
            let sq = t.mul(p, p);
            reg = t.add(reg, sq);
        }
        let alpha = t.leaf(1e-4);
        let reg = t.mul(reg, alpha);
        let loss = t.add(data_loss, reg);
        t.backward(loss);
        t.step(nparams, 1.0 - 0.9 * k as f64 / 100.0);
        last = t.data(loss);
    }
    (start.elapsed().as_secs_f64(), last)
}

fn main() {
    println!(
        "micrograd's moons demo: 100 full-batch steps, MLP(2, [16, 16, 1]), median of {RUNS} runs"
    );
    println!();
    let mut ours = vec![];
    let mut refs = vec![];
    let mut last = (0.0, 0.0, 0.0);
    for r in 0..RUNS {
        // interleaved, so that both see the same machine load
        let (_, _, out) = moons::run(1337 + r as u64 % 2, false);
        ours.push(out.seconds);
        last.0 = out.loss;
        last.1 = out.accuracy;
        let (s, l) = run_reference(1337 + r as u64 % 2);
        refs.push(s);
        last.2 = black_box(l);
    }
    println!("{:<52} {:>10}", "", "seconds");
    println!(
        "{:<52} {:>10.4}",
        "micrograd (one affine node per neuron)",
        median(ours)
    );
    println!(
        "{:<52} {:>10.4}",
        "reference: plain tape, one binary node per op",
        median(refs)
    );
    println!();
    println!(
        "final loss {:.4}, accuracy {:.0}% (reference's final loss {:.4})",
        last.0,
        last.1 * 100.0,
        last.2
    );
}
