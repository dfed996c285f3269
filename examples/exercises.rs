//! Notebook 000's closing exercises, solved.
//!
//! 1. a `bias` flag on `Neuron` and `Layer`;
//! 2. activations as layers of their own, `Linear` in place of `Layer`;
//! 3. a model built as a list of modules:
//!    `model = [Linear(2, 4), Linear(4, 4, bias=False), Linear(4, 3), Tanh(3)]`,
//!    trained here to tell three blobs of points apart. (Linear layers with no
//!    activation between them compose to one linear map: this model draws
//!    straight borders, so a spiral would defeat it; blobs do not.)
//!
//! Run: `cargo run --release --example exercises`

use micrograd::nn::loss;
use micrograd::{
    Activation, Init, Layer, Linear, Module, Neuron, Rng, Sequential, Tanh, Value, scope,
};

/// Three Gaussian blobs around the corners of a triangle, 30 points each.
fn blobs(seed: u64) -> (Vec<[f64; 2]>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let centres = [[0.0, 1.5], [-1.3, -0.75], [1.3, -0.75]];
    let mut x = vec![];
    let mut y = vec![];
    for _ in 0..30 {
        for (c, m) in centres.iter().enumerate() {
            x.push([m[0] + 0.4 * rng.normal(), m[1] + 0.4 * rng.normal()]);
            y.push(c);
        }
    }
    (x, y)
}

/// Trains the exercise's model on three blobs; returns (first loss, last loss, accuracy).
pub fn run(seed: u64, steps: usize, verbose: bool) -> (f64, f64, f64) {
    micrograd::seed(seed);
    let model = Sequential::new(vec![
        Box::new(Linear::new(2, 4)),
        Box::new(Linear::without_bias(4, 4)),
        Box::new(Linear::new(4, 3)),
        Box::new(Tanh),
    ]);
    if verbose {
        println!("model = {model}");
        println!("{} parameters", model.num_parameters());
    }
    let (xs, labels) = blobs(seed);
    // targets: +1 for the right class, -1 for the others, to match tanh's range
    let targets: Vec<[f64; 3]> = labels
        .iter()
        .map(|&c| std::array::from_fn(|k| if k == c { 1.0 } else { -1.0 }))
        .collect();
    let params = model.parameters();
    let (mut first, mut last, mut acc) = (f64::NAN, f64::NAN, 0.0);
    for k in 0..steps {
        let _step = scope();
        let outs: Vec<Vec<Value>> = xs
            .iter()
            .map(|x| model.forward(&[Value::new(x[0]), Value::new(x[1])]))
            .collect();
        let l =
            Value::sum(outs.iter().zip(&targets).map(|(o, t)| loss::sse(o, t))) / xs.len() as f64;
        model.zero_grad();
        l.backward();
        for p in &params {
            p.set_data(p.data() - 0.05 * p.grad());
        }
        let pred: Vec<usize> = outs.iter().map(|o| argmax(o)).collect();
        acc = loss::accuracy(&pred, &labels);
        if k == 0 {
            first = l.data();
        }
        last = l.data();
        if verbose && k % 100 == 0 {
            println!("step {k:4} loss {last:.4} accuracy {:.0}%", acc * 100.0);
        }
    }
    (first, last, acc)
}

fn argmax(o: &[Value]) -> usize {
    (0..o.len())
        .max_by(|&a, &b| o[a].data().total_cmp(&o[b].data()))
        .unwrap_or(0)
}

#[allow(dead_code)] // tests/examples.rs includes this file for `run`
fn main() {
    // 1. the bias flag
    let mut rng = Rng::new(0);
    let n = Neuron::with(3, Activation::Tanh, false, Init::Uniform, &mut rng);
    let l = Layer::with(3, 2, Activation::Tanh, false, Init::Uniform, &mut rng);
    println!("{n}: {} parameters", n.num_parameters());
    println!("{l}: {} parameters", l.num_parameters());
    println!();
    // 2 and 3: Linear, Tanh, and a list of modules
    let (first, last, acc) = run(1, 300, true);
    println!("loss {first:.4} -> {last:.4}, accuracy {:.0}%", acc * 100.0);
}
