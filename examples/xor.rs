//! Notebook 000: XOR with MLP(2, [3, 3, 1]).
//!
//! xs = [[0,0],[0,1],[1,0],[1,1]], ys = [0,1,1,0]; the loss is the mean of
//! (y - ŷ)², and the loop is notebook 000's five steps: forward, loss, zero grad,
//! backward, update.
//!
//! Run: `cargo run --release --example xor`

use micrograd::{MLP, Module, Value, scope};

/// Trains from `seed`; returns the final loss and the four predictions.
pub fn run(seed: u64, verbose: bool) -> (f64, Vec<f64>) {
    micrograd::seed(seed);
    let xor = MLP::new(2, &[3, 3, 1]);
    let xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let ys = [0.0, 1.0, 1.0, 0.0];
    let (steps, lr) = (1000, 0.5);
    if verbose {
        println!("{xor}");
    }
    let mut last = f64::NAN;
    for k in 0..steps {
        let _step = scope();
        // 1. forward pass
        let yhats: Vec<Value> = xs
            .iter()
            .map(|x| xor.forward(&x.map(Value::new))[0])
            .collect();
        // 2. loss
        let loss = ys
            .iter()
            .zip(&yhats)
            .map(|(&y, &yhat)| (y - yhat).pow(2))
            .sum::<Value>()
            / 4.0;
        // 3. zero grad
        xor.zero_grad();
        // 4. backward pass
        loss.backward();
        // 5. update
        for p in xor.parameters() {
            p.set_data(p.data() - p.grad() * lr);
        }
        last = loss.data();
        if verbose && k % 100 == 0 {
            println!("step {k:4} loss {last:.6}");
        }
    }
    let preds = xs.iter().map(|x| xor.predict(x)[0]).collect();
    (last, preds)
}

#[allow(dead_code)] // tests/examples.rs includes this file for `run`
fn main() {
    let (loss, preds) = run(40, true);
    println!("final loss {loss:.6}");
    for (x, p) in [[0, 0], [0, 1], [1, 0], [1, 1]].iter().zip(preds) {
        println!("xor({}, {}) = {p:.4}", x[0], x[1]);
    }
}
