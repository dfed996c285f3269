use micrograd::train::{TrainConfig, fit};
use micrograd::{Activation, Init, MLP, Schedule, data};
fn main() {
    let w: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let steps: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let ds = data::moons(100, 0.1, 1337);
    let m = MLP::builder(2, &[w, w, 1])
        .hidden(Activation::Relu)
        .output(Activation::Linear)
        .init(Init::Micrograd)
        .seed(1337)
        .build();
    let lr = (16.0 / w as f64).min(1.0);
    let cfg = TrainConfig {
        steps,
        schedule: Schedule::Linear {
            start: lr,
            end: lr / 10.0,
            steps,
        },
        replay: true,
        ..TrainConfig::default()
    };
    let t = std::time::Instant::now();
    let h = fit(&m, &ds, &cfg, |_| {});
    println!(
        "{:.4} ms/step loss {}",
        t.elapsed().as_secs_f64() * 1e3 / steps as f64,
        h.loss.last().unwrap()
    );
}
