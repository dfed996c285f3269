//! Training speed at every size, for BENCHMARKS.md: micrograd's recipe (SVM
//! loss + 1e-4·L2, SGD from lr 1.0 down to 0.1, full batches) on MLP(2, [w,
//! w, 1]) relu, on n moons points, per step; with replay (the default) and on
//! the tape. Each case's data and initial weights are written to
//! `target/speed/CASE.json` (`16x100.json`, `digits.json`), so that
//! `tools/pytorch_speed.py` times PyTorch on exactly the same work and checks
//! it reaches the same loss.
//!
//! One more row has the shape of scikit-learn's digits as the table of
//! tables trains on it: 1 437 rows of 64 features, MLP(64, [64, 10]) relu,
//! softmax cross-entropy (xent), full batches (the data are drawn here, 10
//! classes from a random linear map with noise; a step's work is the shape's).
//!
//! Also: the demo's 100 steps in-process, width 256's step over 100 steps
//! (the table's row runs 50, setup included), a tiny backward with 10^7
//! nodes on the tape, and a loop that forgot its scope.
//!
//! Run: `cargo bench --bench speed` (medians of 5 runs). When the Python in
//! `$TORCH_PYTHON` (else `python3`) has torch, each case is also run by
//! `tools/pytorch_speed.py --one` right after ours, once per configuration
//! in `$TORCH_CONFIGS` (default `1:float64,2:float64,2:float32`: threads and
//! number type), and the table gets a column and a ratio for each, measured
//! in the same run. `$SPEED_CASES` (`512x1000,16x100,digits`) runs only those cases.

use std::hint::black_box;
use std::time::Instant;

use micrograd::train::{TrainConfig, fit};
use micrograd::{Activation, Init, Loss, MLP, Module, Schedule, Value, data, scope};

const RUNS: usize = 5;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// One row of the table: the network, its data and its loss.
#[derive(Clone, Copy)]
struct Case {
    /// The hidden layers' width (every hidden layer has it).
    w: usize,
    /// Rows.
    n: usize,
    /// The digits-shaped case (else the moons one).
    digits: bool,
}

impl Case {
    fn name(self) -> String {
        if self.digits {
            "digits".into()
        } else {
            format!("{}x{}", self.w, self.n)
        }
    }

    fn model(self) -> MLP {
        let sizes: &[usize] = if self.digits {
            &[self.w, 10]
        } else {
            &[self.w, self.w, 1]
        };
        MLP::builder(if self.digits { 64 } else { 2 }, sizes)
            .hidden(Activation::Relu)
            .output(Activation::Linear)
            .init(Init::Micrograd)
            .seed(1337)
            .build()
    }

    fn data(self) -> data::Dataset {
        if !self.digits {
            return data::moons(self.n, 0.1, 1337);
        }
        let mut rng = micrograd::Rng::new(1437);
        let map: Vec<Vec<f64>> = (0..10)
            .map(|_| (0..64).map(|_| rng.normal()).collect())
            .collect();
        let x: Vec<Vec<f64>> = (0..self.n)
            .map(|_| (0..64).map(|_| rng.normal()).collect())
            .collect();
        let y = x
            .iter()
            .map(|x| {
                let score = |m: &Vec<f64>| m.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
                let s: Vec<f64> = map.iter().map(|m| score(m) + 3.0 * rng.normal()).collect();
                (0..10).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap() as f64
            })
            .collect();
        data::Dataset {
            name: "digits-shaped".into(),
            features: (0..64).map(|k| format!("x{k}")).collect(),
            target: "class".into(),
            x,
            y,
            classes: (0..10).map(|k| k.to_string()).collect(),
        }
    }

    fn loss(self) -> Loss {
        if self.digits {
            Loss::CrossEntropy
        } else {
            Loss::Svm
        }
    }

    /// Steps to time: about 2·10^6 lanes × width² in all, 50 to 200.
    fn steps(self) -> usize {
        (2_000_000 / (self.w * self.w * self.n / 16 + 1)).clamp(50, 200)
    }
}

/// Seconds per step and the last step's loss, training `steps` steps.
fn per_step(case: Case, steps: usize, replay: bool) -> (f64, f64) {
    let ds = case.data();
    let m = case.model();
    let cfg = TrainConfig {
        steps,
        loss: case.loss(),
        schedule: Schedule::Linear {
            start: lr(case.w),
            end: lr(case.w) / 10.0,
            steps,
        },
        replay,
        ..TrainConfig::default()
    };
    let t = Instant::now();
    let h = fit(&m, &ds, &cfg, |_| {});
    (
        t.elapsed().as_secs_f64() / steps as f64,
        *h.loss.last().unwrap(),
    )
}

/// The moons case of width `w` on `n` points.
fn moons(w: usize, n: usize) -> Case {
    Case {
        w,
        n,
        digits: false,
    }
}

/// The first step's learning rate: micrograd's 1.0 for width 16, smaller
/// for wider layers, whose larger initial outputs it would blow up.
fn lr(w: usize) -> f64 {
    (16.0 / w as f64).min(1.0)
}

/// The case's data and initial weights, for the PyTorch side.
/// A Python that can import torch: `$TORCH_PYTHON`, else `python3`.
fn torch_python() -> Option<String> {
    let py = std::env::var("TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&py)
        .args(["-c", "import torch"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

/// PyTorch's median ms per step on the case in `file` (NaN if the script fails).
fn pytorch_ms(py: &str, file: &std::path::Path, (threads, dtype): (&str, &str)) -> f64 {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/pytorch_speed.py");
    let out = std::process::Command::new(py)
        .env("TORCH_THREADS", threads)
        .env("TORCH_DTYPE", dtype)
        .arg(script)
        .arg("--one")
        .arg(file)
        .output();
    out.ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(f64::NAN)
}

/// PyTorch's configurations to time each case in: (threads, number type).
fn torch_configs() -> Vec<(&'static str, &'static str)> {
    let spec =
        std::env::var("TORCH_CONFIGS").unwrap_or_else(|_| "1:float64,2:float64,2:float32".into());
    spec.split(',')
        .filter_map(|c| {
            let (t, d) = c.trim().split_once(':')?;
            let t: &'static str = String::leak(t.to_string());
            let d: &'static str = if d == "float32" { "float32" } else { "float64" };
            Some((t, d))
        })
        .collect()
}

/// Writes the case's data and initial weights for the PyTorch side; returns the file.
fn write_case(case: Case, steps: usize, loss: f64) -> std::path::PathBuf {
    let ds = case.data();
    let m = case.model();
    let layers: Vec<serde_json::Value> = m
        .layers
        .iter()
        .map(|l| {
            let weight: Vec<Vec<f64>> = l
                .neurons
                .iter()
                .map(|n| n.w.iter().map(|v| v.data()).collect())
                .collect();
            let bias: Vec<f64> = l.neurons.iter().map(|n| n.b.unwrap().data()).collect();
            serde_json::json!({"weight": weight, "bias": bias})
        })
        .collect();
    let y: Vec<f64> = match case.loss() {
        Loss::Svm => ds.y.iter().map(|&c| 2.0 * c - 1.0).collect(),
        _ => ds.y.clone(),
    };
    let j = serde_json::json!({
        "name": case.name(), "width": case.w, "points": case.n, "steps": steps, "alpha": 1e-4,
        "lr": lr(case.w), "loss": case.loss().name(), "x": ds.x, "y": y,
        "layers": layers, "our_final_loss": loss,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/speed");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.json", case.name()));
    std::fs::write(&file, j.to_string()).unwrap();
    file
}

/// A backward over 3 nodes with 10^7 nodes below it on the tape (a chain
/// built and back-propagated once), reaching a parameter made before all of
/// them: microseconds, median over 2001.
fn tiny_backward() -> f64 {
    std::thread::spawn(|| {
        let w = Value::new(0.5);
        let mut x = w;
        for _ in 0..5_000_000 {
            x = x * 1.0 + 0.0;
        }
        x.backward();
        let times: Vec<f64> = (0..2001)
            .map(|_| {
                let _s = scope();
                let a = Value::new(2.0);
                let y = (a * w + 1.0).tanh();
                let t = Instant::now();
                y.backward();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        black_box(w.grad());
        median(times)
    })
    .join()
    .unwrap()
}

/// micrograd's demo loop on the tape with no scope, 1 000 steps: the median
/// step time of the last 100 over the first 100 (memory grows; time should not).
fn scopeless_loop() -> (f64, f64) {
    std::thread::spawn(|| {
        let ds = data::moons(100, 0.1, 1337);
        let m = moons(16, 100).model();
        let params = m.parameters();
        let mut times = Vec::with_capacity(1000);
        for k in 0..1000 {
            let t = Instant::now();
            let scores: Vec<Value> =
                ds.x.iter()
                    .map(|x| m.forward(&[Value::new(x[0]), Value::new(x[1])])[0])
                    .collect();
            let losses = scores
                .iter()
                .zip(&ds.y)
                .map(|(&s, &y)| (1.0 - (2.0 * y - 1.0) * s).relu());
            let loss = Value::sum(losses) / 100.0 + micrograd::nn::loss::l2(&params, 1e-4);
            m.zero_grad();
            loss.backward();
            let lr = 1.0 - 0.9 * (k % 100) as f64 / 100.0;
            for p in &params {
                p.set_data(p.data() - lr * p.grad());
            }
            times.push(t.elapsed().as_secs_f64());
        }
        (
            median(times[..100].to_vec()) * 1e3,
            median(times[900..].to_vec()) * 1e3,
        )
    })
    .join()
    .unwrap()
}

fn main() {
    println!(
        "micrograd's recipe on MLP(2, [w, w, 1]), n moons points (digits: MLP(64, [64, 10]), xent), full batches; ms per step, median of {RUNS}"
    );
    println!();
    let torch = torch_python();
    match &torch {
        Some(py) => println!("PyTorch: {py} tools/pytorch_speed.py --one, after each case"),
        None => println!(
            "PyTorch: no Python with torch ($TORCH_PYTHON or python3); its columns are NaN"
        ),
    }
    let configs = torch_configs();
    print!(
        "{:>6} {:>7} {:>10} {:>10} {:>8}",
        "width", "points", "replay", "tape", "tape/us"
    );
    for (t, d) in &configs {
        print!(" {:>12} {:>7}", format!("PT {t}t {d}"), "PT/us");
    }
    println!(" {:>12}", "final loss");
    let mut cases: Vec<Case> = [
        (16, 100),
        (32, 100),
        (64, 100),
        (256, 100),
        (16, 1000),
        (16, 10_000),
        (64, 1000),
        (512, 1000),
        (1024, 1000),
        (16, 100_000),
    ]
    .into_iter()
    .map(|(w, n)| moons(w, n))
    .collect();
    cases.push(Case {
        w: 64,
        n: 1437,
        digits: true,
    });
    let only = std::env::var("SPEED_CASES").unwrap_or_default();
    let wanted = |c: Case| only.is_empty() || only.split(',').any(|o| o.trim() == c.name());
    for case in cases.into_iter().filter(|&c| wanted(c)) {
        let steps = case.steps();
        let mut ours = Vec::new();
        let mut tape = Vec::new();
        let mut loss = 0.0;
        for _ in 0..RUNS {
            let (s, l) = per_step(case, steps, true);
            ours.push(s);
            loss = l;
            if case.w * case.n <= 64_000 {
                tape.push(per_step(case, steps.min(20), false).0);
            }
        }
        let file = write_case(case, steps, loss);
        let (o, t) = (
            median(ours) * 1e3,
            if tape.is_empty() {
                f64::NAN
            } else {
                median(tape) * 1e3
            },
        );
        let width = if case.digits {
            "digits".to_string()
        } else {
            case.w.to_string()
        };
        print!(
            "{width:>6} {:>7} {o:>10.4} {t:>10.4} {:>8.1}",
            case.n,
            t / o
        );
        for &c in &configs {
            let pt = torch
                .as_deref()
                .map_or(f64::NAN, |py| pytorch_ms(py, &file, c));
            print!(" {pt:>12.4} {:>7.2}", pt / o);
        }
        println!(" {loss:>12.6}");
    }
    println!();
    let demo: Vec<f64> = (0..RUNS)
        .map(|_| per_step(moons(16, 100), 100, true).0 * 100.0 * 1e3)
        .collect();
    println!(
        "demo, 100 steps in-process (fit, replay): {:.3} ms",
        median(demo)
    );
    let wide: Vec<f64> = (0..RUNS)
        .map(|_| per_step(moons(256, 100), 100, true).0 * 1e3)
        .collect();
    println!(
        "width 256 x 100 points, 100 steps in-process (fit, replay): {:.3} ms per step",
        median(wide)
    );
    let tiny: Vec<f64> = (0..3).map(|_| tiny_backward()).collect();
    println!(
        "tiny backward with 10^7 nodes on the tape: {:.2} µs",
        median(tiny)
    );
    let (first, last) = scopeless_loop();
    println!(
        "loop without a scope, 1000 steps: {first:.3} ms/step at the start, {last:.3} at the end ({:.2}×)",
        last / first
    );
    println!();
    println!(
        "data and initial weights: target/speed/*.json; PyTorch alone: python3 tools/pytorch_speed.py"
    );
}
