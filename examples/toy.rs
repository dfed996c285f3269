//! Notebooks 002 and 003: MLP(3, [4, 4, 1]) learns the 4-sample toy set.
//!
//! xs = [[2,3,-1],[3,-1,0.5],[0.5,1,1],[1,1,-1]], ys = [1,-1,-1,1]; the loss
//! is Σ (yout - ygt)², the update p.data += -0.2 * p.grad (notebook 003 uses 0.1 and 100 steps, which stop near 1e-2).
//!
//! Run: `cargo run --release --example toy`

use micrograd::{MLP, Module, Value, scope};

/// Trains from `seed` for `steps` steps; returns the losses and the final predictions.
pub fn run(seed: u64, steps: usize, verbose: bool) -> (Vec<f64>, Vec<f64>) {
    let xs = [
        [2.0, 3.0, -1.0],
        [3.0, -1.0, 0.5],
        [0.5, 1.0, 1.0],
        [1.0, 1.0, -1.0],
    ];
    let ys = [1.0, -1.0, -1.0, 1.0]; // desired targets

    micrograd::seed(seed);
    let n = MLP::new(3, &[4, 4, 1]);
    let mut losses = vec![];
    for k in 0..steps {
        let _step = scope();
        // forward pass
        let ypred: Vec<Value> = xs
            .iter()
            .map(|x| n.forward(&x.map(Value::new))[0])
            .collect();
        let loss: Value = ypred
            .iter()
            .zip(ys)
            .map(|(&yout, ygt)| (yout - ygt).pow(2))
            .sum();
        // backward pass
        n.zero_grad();
        loss.backward();
        // update
        for p in n.parameters() {
            p.set_data(p.data() + -0.2 * p.grad());
        }
        // the notebook prints every step; every 20th keeps the curve readable
        if verbose && (k % 20 == 0 || k + 1 == steps) {
            println!("step {k:>3}  loss {:.6}", loss.data());
        }
        losses.push(loss.data());
    }
    let ypred = xs.iter().map(|x| n.predict(x)[0]).collect();
    (losses, ypred)
}

#[allow(dead_code)] // tests/examples.rs includes this file for `run`
fn main() {
    let (losses, ypred) = run(42, 300, true);
    println!("ypred = {ypred:?}");
    println!("final loss {:.2e}", losses.last().unwrap());
}
