//! micrograd's demo (demo.ipynb): a 2-layer relu network learns two moons.
//!
//! 100 points with noise 0.1, labels ±1; MLP(2, [16, 16, 1]), relu hidden and
//! a linear output; SVM max-margin loss + 1e-4·L2; SGD with
//! lr = 1.0 - 0.9·k/100; 100 full-batch steps.
//!
//! Run: `cargo run --release --example moons` (writes `out/moons/*.svg`).

use std::time::Instant;

use micrograd::nn::loss;
use micrograd::viz::Curves;
use micrograd::{Activation, Init, MLP, Module, Value, data, scope};

/// What a run ends with.
pub struct Outcome {
    /// Loss at the last step.
    pub loss: f64,
    /// Training accuracy at the last step.
    pub accuracy: f64,
    /// Loss per step.
    pub losses: Vec<f64>,
    /// Accuracy per step.
    pub accuracies: Vec<f64>,
    /// Seconds spent in the 100 steps.
    pub seconds: f64,
}

/// Trains micrograd's demo model; `seed` fixes the data and the weights.
pub fn run(seed: u64, verbose: bool) -> (MLP, data::Dataset, Outcome) {
    let ds = data::moons(100, 0.1, seed);
    let ys: Vec<f64> = ds.y.iter().map(|&c| 2.0 * c - 1.0).collect(); // labels ±1
    let model = MLP::builder(2, &[16, 16, 1])
        .hidden(Activation::Relu)
        .output(Activation::Linear)
        .init(Init::Micrograd)
        .seed(seed)
        .build();
    let params = model.parameters();
    if verbose {
        println!("{model}");
        println!("number of parameters {}", params.len());
    }

    let (mut losses, mut accuracies) = (vec![], vec![]);
    let start = Instant::now();
    for k in 0..100 {
        let _step = scope(); // frees this step's graph at the end of the iteration

        // forward
        let scores: Vec<Value> =
            ds.x.iter()
                .map(|x| model.forward(&[Value::new(x[0]), Value::new(x[1])])[0])
                .collect();
        let data_loss = loss::svm(&scores, &ys);
        let reg_loss = loss::l2(&params, 1e-4);
        let total_loss = data_loss + reg_loss;
        let accuracy = scores
            .iter()
            .zip(&ys)
            .filter(|(s, y)| (s.data() > 0.0) == (**y > 0.0))
            .count() as f64
            / ys.len() as f64;

        // backward
        model.zero_grad();
        total_loss.backward();

        // update (sgd)
        let learning_rate = 1.0 - 0.9 * k as f64 / 100.0;
        for p in &params {
            p.set_data(p.data() - learning_rate * p.grad());
        }

        losses.push(total_loss.data());
        accuracies.push(accuracy);
        if verbose && (k % 10 == 0 || k == 99) {
            println!(
                "step {k} loss {:.6}, accuracy {}%",
                total_loss.data(),
                accuracy * 100.0
            );
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let outcome = Outcome {
        loss: *losses.last().unwrap(),
        accuracy: *accuracies.last().unwrap(),
        losses,
        accuracies,
        seconds,
    };
    (model, ds, outcome)
}

#[allow(dead_code)] // tests/examples.rs includes this file for `run`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, ds, out) = run(1337, true);
    println!("trained in {:.4} s", out.seconds);

    // the pictures: loss and accuracy per step, and the decision boundary
    let dir = std::path::Path::new("out/moons");
    std::fs::create_dir_all(dir)?;
    let predict = |x: f64, y: f64| f64::from(model.predict(&[x, y])[0] > 0.0);
    for ext in ["svg", "png"] {
        let loss = dir.join(format!("loss.{ext}"));
        let db = dir.join(format!("decision_boundary.{ext}"));
        micrograd::viz::plot_history(&loss, &Curves::per_step(&out.losses, &out.accuracies))?;
        micrograd::viz::plot_decision_boundary(&db, &ds, None, predict, 100)?;
        println!("wrote {}\nwrote {}", loss.display(), db.display());
    }
    Ok(())
}
