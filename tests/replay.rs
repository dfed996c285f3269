//! Record once, replay over the batch: the same numbers as the tape.

use micrograd::data::{self, Dataset};
use micrograd::train::{TrainConfig, fit};
use micrograd::{
    Activation, Init, Loss, MLP, Module, OptimizerKind, Replay, ReplayError, Schedule, Value, scope,
};

/// |a - b| within `tol` of the larger magnitude in `want` (gradients near 0
/// are compared at the scale of the others).
fn close_all(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "#{k}: {g} vs {w} (scale {scale})"
        );
    }
}

fn model(nin: usize, nouts: &[usize], act: Activation) -> MLP {
    MLP::builder(nin, nouts)
        .hidden(act)
        .output(Activation::Linear)
        .init(Init::Xavier)
        .seed(7)
        .build()
}

/// One training step's loss and gradients, on the tape or replayed.
fn one_step(m: &MLP, ds: &Dataset, loss: Loss, replay: bool) -> (Vec<f64>, Vec<f64>) {
    one_step_l2(m, ds, loss, 1e-3, replay)
}

/// As [`one_step`], with L2 weight `alpha`.
fn one_step_l2(
    m: &MLP,
    ds: &Dataset,
    loss: Loss,
    alpha: f64,
    replay: bool,
) -> (Vec<f64>, Vec<f64>) {
    let cfg = TrainConfig {
        loss,
        optimizer: OptimizerKind::Sgd,
        schedule: Schedule::Constant(0.0), // gradients, no update
        alpha,
        steps: 1,
        batch_size: 0,
        seed: 1,
        patience: None,
        replay,
    };
    let h = fit(m, ds, &cfg, |_| {});
    let grads = m.parameters().iter().map(|p| p.grad()).collect();
    (h.loss, grads)
}

#[test]
fn every_activation_and_loss_gives_the_tapes_loss_and_gradients() {
    let two = data::moons(60, 0.2, 3);
    let three = data::spiral(20, 3, 4);
    let numbers = data::toy();
    let cases: [(&Dataset, Loss, usize); 5] = [
        (&two, Loss::Svm, 1),
        (&two, Loss::Bce, 1),
        (&two, Loss::Mse, 1),
        (&three, Loss::CrossEntropy, 3),
        (&numbers, Loss::Mse, 1),
    ];
    for act in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Linear,
    ] {
        for (ds, loss, nout) in cases {
            let m = model(ds.nfeatures(), &[8, 8, nout], act);
            let (l_tape, g_tape) = one_step(&m, ds, loss, false);
            let (l_replay, g_replay) = one_step(&m, ds, loss, true);
            let what = format!("{act:?} {loss:?} on {}", ds.name);
            assert!(
                (l_tape[0] - l_replay[0]).abs() <= 1e-12 * l_tape[0].abs(),
                "{what}"
            );
            assert!(g_tape.iter().any(|&g| g != 0.0), "{what}: gradients flow");
            close_all(&g_replay, &g_tape, 1e-12);
        }
    }
}

/// A batch of more than 256 rows runs in parts of 256 lanes on every core:
/// still the tape's loss and gradients.
#[test]
fn a_batch_run_in_parts_gives_the_tapes_loss_and_gradients() {
    let two = data::moons(700, 0.2, 3);
    let three = data::spiral(150, 3, 4); // 450 rows
    for (ds, loss, nout) in [(&two, Loss::Svm, 1), (&three, Loss::CrossEntropy, 3)] {
        let m = model(ds.nfeatures(), &[16, 16, nout], Activation::Tanh);
        let (l_tape, g_tape) = one_step(&m, ds, loss, false);
        let (l_replay, g_replay) = one_step(&m, ds, loss, true);
        assert!((l_tape[0] - l_replay[0]).abs() <= 1e-12 * l_tape[0].abs());
        close_all(&g_replay, &g_tape, 1e-12);
    }
}

#[test]
fn gradients_left_from_before_do_not_leak_into_a_replayed_step() {
    // a replayed step writes its gradients in place of `zero_grad` then add:
    // what was there before must not count, as on the tape
    let ds = data::moons(40, 0.1, 5);
    for alpha in [1e-3, 0.0] {
        let stale = |replay: bool| {
            let m = model(2, &[8, 1], Activation::Relu);
            for p in m.parameters() {
                p.set_grad(5.0);
            }
            one_step_l2(&m, &ds, Loss::Svm, alpha, replay)
        };
        let (l_tape, g_tape) = stale(false);
        let (l_replay, g_replay) = stale(true);
        assert_eq!(l_tape, l_replay, "alpha {alpha}");
        assert!(g_tape.iter().all(|&g| g != 5.0 && g.abs() < 5.0));
        close_all(&g_replay, &g_tape, 1e-12);
    }
}

#[test]
fn training_with_replay_follows_the_tape_step_for_step() {
    let ds = data::moons(100, 0.1, 1337);
    let run = |replay: bool| {
        let m = MLP::builder(2, &[16, 16, 1])
            .hidden(Activation::Relu)
            .output(Activation::Linear)
            .init(Init::Micrograd)
            .seed(1337)
            .build();
        let cfg = TrainConfig {
            replay,
            ..TrainConfig::default()
        }; // micrograd's demo
        let h = fit(&m, &ds, &cfg, |_| {});
        (h.loss, m.parameter_data())
    };
    let (loss_tape, p_tape) = run(false);
    let (loss_replay, p_replay) = run(true);
    // 100 steps of SGD from lr 1.0: rounding differences stay at rounding's size
    close_all(&loss_replay, &loss_tape, 1e-10);
    close_all(&p_replay, &p_tape, 1e-10);
    assert!(
        (loss_replay[99] - 0.022016).abs() < 5e-7,
        "the demo's last loss"
    );
    // mini-batches and Adam too
    let batched = |replay: bool| {
        let m = model(2, &[16, 2], Activation::Tanh);
        let cfg = TrainConfig {
            loss: Loss::CrossEntropy,
            optimizer: OptimizerKind::Adam,
            schedule: Schedule::Constant(0.01),
            batch_size: 32,
            steps: 30,
            replay,
            ..TrainConfig::default()
        };
        fit(&m, &ds, &cfg, |_| {});
        m.parameter_data()
    };
    close_all(&batched(true), &batched(false), 1e-10);
}

/// A per-sample function of our own, with every op the tape has.
fn every_op(v: &[Value], p: &[Value]) -> (Value, Vec<Value>) {
    let (x0, x1, x2) = (v[0], v[1], v[2]);
    let (w0, w1, w2) = (p[0], p[1], p[2]);
    let t = (w0 * x0 + w1 * x1 * x1).tanh() * (-(x2 / w2)).exp();
    let s = (x0 - 3.0).sigmoid() + (x1.pow(2) + 1.0).ln() * w0 + (w1 * x2).softplus();
    let r = (x0 * w2 - 1.0).relu() + (x0 + 2.0) / (w1 - 5.0) + (3.0 - x1) + 2.0 / (x2 + 4.0);
    let q = x0.pow(3.0) * 0.5 + (x1 * 0.25) / 2.0 + w0.pow(x2 * 0.1 + 1.0) - w2;
    let sum = Value::sum([t, s, r, q]);
    let dot = Value::dot(&[x0, w1, x2], &[w0, x1, x2]); // lanes and shared mixed
    let aff = Value::affine(&[w0, w1, w2], &[x0, x1, x2], w2); // a neuron
    let lse = Value::logsumexp(&[sum, dot, aff]);
    (lse * 0.1 + sum.pow(2) * 0.01, vec![sum, lse])
}

#[test]
fn a_function_of_our_own_with_every_op_replays_as_the_tape_computes_it() {
    let p: Vec<Value> = [0.7, -1.3, 2.1].map(Value::new).to_vec();
    let rows: Vec<Vec<f64>> = (0..9)
        .map(|i| {
            let i = i as f64;
            vec![0.3 * i - 1.0, 0.5 - 0.2 * i, 0.1 * i * i]
        })
        .collect();
    // the tape, sample by sample
    micrograd::zero_grad(&p);
    let mean = {
        let _s = scope();
        let terms: Vec<Value> = rows
            .iter()
            .map(|r| every_op(&r.iter().map(|&x| Value::new(x)).collect::<Vec<_>>(), &p).0)
            .collect();
        let mean = Value::sum(terms) / rows.len() as f64;
        mean.backward();
        mean.data()
    };
    let want: Vec<f64> = p.iter().map(|w| w.grad()).collect();
    // replayed
    micrograd::zero_grad(&p);
    let mut r = Replay::record(3, |v| every_op(v, &p)).unwrap();
    let got_mean = r.run(&rows);
    let got: Vec<f64> = p.iter().map(|w| w.grad()).collect();
    assert!(
        (got_mean - mean).abs() <= 1e-12 * mean.abs(),
        "{got_mean} vs {mean}"
    );
    close_all(&got, &want, 1e-12);
    assert_eq!(r.output(8).len(), 2);
    // leaves accumulate: a second run adds the same again
    r.run(&rows);
    let twice: Vec<f64> = p.iter().map(|w| w.grad()).collect();
    close_all(
        &twice,
        &want.iter().map(|g| 2.0 * g).collect::<Vec<_>>(),
        1e-12,
    );
    // and a replay follows the parameters as they change
    p[0].set_data(0.2);
    let before = r.run(&rows);
    assert_ne!(before, got_mean);
}

#[test]
fn a_graph_that_depends_on_the_data_is_refused_not_replayed_wrong() {
    let w = Value::new(0.5);
    // a branch on the sample: the graph differs between samples
    let e = Replay::record(1, |x| {
        let y = if x[0].data() > 0.0 {
            x[0] * w
        } else {
            x[0].exp()
        };
        (y, vec![])
    })
    .unwrap_err();
    assert_eq!(e, ReplayError::ReadsData);
    // reading a parameter is fine: it is the same for every sample
    assert!(Replay::record(1, |x| ((x[0] * w.data()).tanh(), vec![])).is_ok());
    // a value computed outside, not a leaf: refused
    let w2 = w * 2.0;
    let e = Replay::record(1, |x| (x[0] * w2, vec![])).unwrap_err();
    assert_eq!(e, ReplayError::SharedInterior);
    assert!(e.to_string().contains("use the tape"));
}

/// The model's outputs and loss on `rows`, on the tape: a graph per row.
fn on_tape(m: &MLP, x: &[Vec<f64>], y: &[f64], loss: Loss, classes: usize) -> (f64, Vec<f64>) {
    let _s = scope();
    let outs: Vec<Vec<Value>> = x
        .iter()
        .map(|r| m.forward(&r.iter().map(|&v| Value::new(v)).collect::<Vec<_>>()))
        .collect();
    let l = loss.compute(&outs, y, classes).data();
    (l, outs.iter().flatten().map(|v| v.data()).collect())
}

/// `n` rows of `nin` numbers, and a target for each (a class index, or a
/// number for 0 classes).
fn rows(n: usize, nin: usize, classes: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let x = (0..n)
        .map(|i| {
            let i = i as f64;
            (0..nin)
                .map(|k| (0.37 * i + k as f64).sin() * 2.0)
                .collect()
        })
        .collect();
    let y = (0..n)
        .map(|i| match classes {
            0 => (0.11 * i as f64).cos(),
            c => (i % c) as f64,
        })
        .collect();
    (x, y)
}

#[test]
fn scoring_many_rows_through_the_replay_gives_the_tapes_outputs_and_loss() {
    // one row; more than one chunk of lanes (256) and not a multiple of
    // it; and past the rows gathered at a time (1024)
    let cases: [(Loss, usize, usize); 4] = [
        (Loss::Svm, 2, 1),
        (Loss::Bce, 2, 1),
        (Loss::CrossEntropy, 3, 3),
        (Loss::Mse, 0, 1),
    ];
    for n in [1, 300, 1100] {
        for (loss, classes, nout) in cases {
            let m = model(3, &[16, 8, nout], Activation::Tanh);
            let (x, y) = rows(n, 3, classes);
            let (l_tape, o_tape) = on_tape(&m, &x, &y, loss, classes);
            let mut scorer = micrograd::nn::Scorer::new(&m);
            let (l, outs) = scorer.loss_and_outputs(&x, &y, loss, classes);
            close_all(&[l], &[l_tape], 1e-12);
            assert_eq!(outs.len(), n);
            close_all(&outs.concat(), &o_tape, 1e-12);
            // the outputs alone, from the same scorer: its loss recording, the targets dummies
            close_all(&scorer.outputs(&x).concat(), &o_tape, 1e-12);
            // evaluation's predictions are the classes of the tape's outputs
            if n == 300 {
                let ds = Dataset {
                    name: "rows".into(),
                    features: vec!["a".into(), "b".into(), "c".into()],
                    target: "y".into(),
                    x: x.clone(),
                    y: y.clone(),
                    classes: (0..classes).map(|k| k.to_string()).collect(),
                };
                let e = micrograd::train::evaluate(&m, &ds, loss);
                close_all(&[e.loss], &[l_tape], 1e-12);
                let want: Vec<f64> = o_tape
                    .chunks(nout)
                    .map(|o| loss.predict(o, classes))
                    .collect();
                assert_eq!(e.predictions, want);
            }
        }
    }
}

#[test]
fn scoring_leaves_the_gradients_alone_and_reads_the_weights_afresh() {
    let m = model(2, &[8, 1], Activation::Relu);
    let (x, y) = rows(40, 2, 2);
    m.parameters().iter().for_each(|p| p.set_grad(0.25));
    let mut scorer = micrograd::nn::Scorer::new(&m);
    let (before, _) = scorer.loss_and_outputs(&x, &y, Loss::Svm, 2);
    assert!(m.parameters().iter().all(|p| p.grad() == 0.25));
    // new weights, the same scorer: the new weights' loss
    let moved: Vec<f64> = m.parameter_data().iter().map(|w| w * 0.5).collect();
    m.load_parameters(&moved).unwrap();
    let (after, _) = scorer.loss_and_outputs(&x, &y, Loss::Svm, 2);
    let (want, _) = on_tape(&m, &x, &y, Loss::Svm, 2);
    assert_ne!(before, after);
    close_all(&[after], &[want], 1e-12);
}

/// `matrixmultiply` splits a large product's rows or columns between its
/// threads, never a sum: a run gives the same bits with one thread or two
/// (MATMUL_NUM_THREADS). 100 rows by 256 × 256 is large enough to be split.
#[test]
fn one_thread_or_two_train_the_same_bits() {
    let d = tempfile::tempdir().unwrap();
    let run = |n: &str| {
        let args = ["--layers", "256,256", "--steps", "3"];
        trained(
            &[("MATMUL_NUM_THREADS", n)],
            &args,
            &d.path().join(format!("m{n}.json")),
        )
    };
    let (one, two) = (run("1"), run("2"));
    assert!(one.0["train"]["loss"].is_number(), "{}", one.0);
    assert_eq!(one, two);
}

/// A batch of 600 rows runs in three parts of lanes: `--threads 1`, `2`
/// and `3` train the same bits (a part's gradients are added in the parts'
/// order, whichever thread ran it).
#[test]
fn any_number_of_threads_trains_the_same_bits() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("t.csv");
    let mut csv = String::from("x1,x2,c\n");
    for i in 0..600 {
        let (a, b) = ((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos());
        csv += &format!("{a},{b},{}\n", if a * b > 0.1 { "p" } else { "q" });
    }
    std::fs::write(&data, csv).unwrap();
    let data = data.to_str().unwrap();
    let run = |n: &str| {
        let args = [
            "--data",
            data,
            "--target",
            "c",
            "--layers",
            "32,32",
            "--epochs",
            "3",
            "--batch-size",
            "600",
            "--cv",
            "0",
            "--test-fraction",
            "0",
            "--valid-fraction",
            "0",
            "--threads",
            n,
        ];
        trained(&[], &args, &d.path().join(format!("t{n}.json")))
    };
    let one = run("1");
    assert!(one.0["train"]["loss"].is_number(), "{}", one.0);
    assert_eq!(one, run("2"));
    assert_eq!(one, run("3"));
}

/// `micrograd train ARGS --json --no-plots --save MODEL` with `env` set:
/// its summary without the times and files, and the model file's bytes.
fn trained(
    env: &[(&str, &str)],
    args: &[&str],
    model: &std::path::Path,
) -> (serde_json::Value, Vec<u8>) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .envs(env.iter().copied())
        .arg("train")
        .args(args)
        .args(["--json", "--no-plots", "--save"])
        .arg(model)
        .output()
        .expect("the binary runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in ["timings", "seconds", "files"] {
        j.as_object_mut().unwrap().remove(k);
    }
    (j, std::fs::read(model).unwrap())
}
