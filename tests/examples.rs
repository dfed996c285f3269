//! The examples do what their seed notebooks do: each is compiled in here and run.

#[allow(dead_code)]
#[path = "../examples/moons.rs"]
mod moons;

#[allow(dead_code)]
#[path = "../examples/toy.rs"]
mod toy;

#[allow(dead_code)]
#[path = "../examples/xor.rs"]
mod xor;

#[allow(dead_code)]
#[path = "../examples/exercises.rs"]
mod exercises;

#[test]
fn moons_demo_reaches_full_accuracy() {
    // micrograd's demo ends at 100% training accuracy with loss about 0.01
    let (_, _, out) = moons::run(1337, false);
    assert_eq!(out.accuracy, 1.0);
    assert!(out.loss < 0.03, "loss {}", out.loss);
    assert_eq!(out.losses.len(), 100);
    assert!(out.losses[0] > 1.0);
}

#[test]
fn moons_demo_is_deterministic() {
    let (_, _, a) = moons::run(7, false);
    let (_, _, b) = moons::run(7, false);
    assert_eq!(a.losses, b.losses);
}

#[test]
fn toy_loss_falls_below_1e_3() {
    for seed in [1, 42] {
        let (losses, ypred) = toy::run(seed, 300, false);
        assert!(
            *losses.last().unwrap() < 1e-3,
            "seed {seed}: {}",
            losses.last().unwrap()
        );
        for (p, y) in ypred.iter().zip([1.0, -1.0, -1.0, 1.0]) {
            assert!((p - y).abs() < 0.05, "{p} vs {y}");
        }
    }
}

#[test]
fn xor_is_learned() {
    let (loss, preds) = xor::run(40, false);
    assert!(loss < 1e-3, "loss {loss}");
    for (p, y) in preds.iter().zip([0.0, 1.0, 1.0, 0.0]) {
        assert!((p - y).abs() < 0.1, "{p} vs {y}");
    }
}

#[test]
fn exercise_model_trains() {
    let (first, last, acc) = exercises::run(1, 300, false);
    assert!(last < first / 10.0, "{first} -> {last}");
    assert_eq!(acc, 1.0);
}
