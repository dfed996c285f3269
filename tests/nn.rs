//! Modules, losses and optimizers against hand-derived values and PyTorch.

mod common;

use micrograd::data::{Dataset, Preprocess};
use micrograd::nn::{ModelFile, loss};
use micrograd::{
    Activation, Adam, Init, Layer, Linear, Loss, MLP, Module, Neuron, Optimizer, ReLU, Rng,
    Schedule, Sequential, Sgd, Sigmoid, Tanh, Value,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

#[test]
fn rng_output_is_pinned() {
    // Same seed, same numbers, on every machine: these are xoshiro256**'s
    // outputs for seed 0, fixed by its definition.
    let mut r = Rng::new(0);
    let a = r.next_u64();
    let b = r.next_u64();
    let mut r2 = Rng::new(0);
    assert_eq!((a, b), (r2.next_u64(), r2.next_u64()));
    assert_eq!(a, 0x99EC_5F36_CB75_F2B4);
    assert_eq!(b, 0xBF6E_1F78_4956_452A);
}

#[test]
fn same_seed_same_model_different_seed_different_model() {
    let a = MLP::builder(3, &[4, 1]).seed(5).build().parameter_data();
    let b = MLP::builder(3, &[4, 1]).seed(5).build().parameter_data();
    let c = MLP::builder(3, &[4, 1]).seed(6).build().parameter_data();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.iter().all(|w| (-1.0..1.0).contains(w)));
}

#[test]
fn display_is_the_seeds() {
    micrograd::seed(0);
    let model = MLP::new(2, &[3, 3, 1]);
    assert_eq!(
        model.to_string(),
        "MLP of [Layer of [Neuron(nin=2), Neuron(nin=2), Neuron(nin=2)], \
         Layer of [Neuron(nin=3), Neuron(nin=3), Neuron(nin=3)], Layer of [Neuron(nin=3)]]"
    );
    let relu = MLP::builder(2, &[1, 1])
        .hidden(Activation::Relu)
        .output(Activation::Linear)
        .build();
    assert_eq!(
        relu.to_string(),
        "MLP of [Layer of [ReLUNeuron(nin=2)], Layer of [LinearNeuron(nin=1)]]"
    );
}

#[test]
fn parameters_are_in_micrographs_order() {
    let model = MLP::new(2, &[2, 1]);
    let p = model.parameters();
    let l0 = &model.layers[0];
    let expected: Vec<Value> = vec![
        l0.neurons[0].w[0],
        l0.neurons[0].w[1],
        l0.neurons[0].b.unwrap(),
        l0.neurons[1].w[0],
        l0.neurons[1].w[1],
        l0.neurons[1].b.unwrap(),
        model.layers[1].neurons[0].w[0],
        model.layers[1].neurons[0].w[1],
        model.layers[1].neurons[0].b.unwrap(),
    ];
    assert_eq!(p, expected);
    assert_eq!(model.num_parameters(), 9);
}

#[test]
fn a_neuron_computes_act_of_w_dot_x_plus_b() {
    let n = Neuron {
        w: vec![Value::new(-3.0), Value::new(1.0)],
        b: Some(Value::new(6.881_373_587_019_543)),
        act: Activation::Tanh,
    };
    let out = n.call(&[2.0, 0.0].map(Value::new));
    assert!(close(out.data(), std::f64::consts::FRAC_1_SQRT_2));
    // one affine node plus one tanh node, not 2n binary nodes
    assert_eq!(out.graph_size(), 2 + 2 + 1 + 1 + 1);
}

#[test]
fn bias_flag() {
    let mut rng = Rng::new(1);
    let n = Neuron::with(4, Activation::Tanh, false, Init::Uniform, &mut rng);
    assert_eq!(n.num_parameters(), 4);
    assert_eq!(n.to_string(), "Neuron(nin=4, bias=False)");
    let l = Layer::with(4, 3, Activation::Relu, false, Init::He, &mut rng);
    assert_eq!(l.num_parameters(), 12);
    let m = MLP::builder(2, &[3, 1]).bias(false).build();
    assert_eq!(m.num_parameters(), 6 + 3);
    // without a bias, a zero input gives exactly act(0)
    assert_eq!(n.call(&[0.0; 4].map(Value::new)).data(), 0.0);
}

#[test]
fn initialisations() {
    let mut rng = Rng::new(2);
    let x = Layer::with(100, 100, Activation::Tanh, true, Init::Xavier, &mut rng);
    let limit = (6.0f64 / 200.0).sqrt();
    for n in &x.neurons {
        assert!(n.w.iter().all(|w| w.data().abs() <= limit));
        assert_eq!(n.b.unwrap().data(), 0.0);
    }
    let m = MLP::builder(2, &[3]).init(Init::Micrograd).seed(1).build();
    assert!(
        m.layers[0]
            .neurons
            .iter()
            .all(|n| n.b.unwrap().data() == 0.0)
    );
}

#[test]
fn seed_000_exercise_model_is_writable_and_trains() {
    // model = [Linear(2, 4), Linear(4, 4, bias=False), Linear(4, 3), Tanh(3)]
    let model = Sequential::new(vec![
        Box::new(Linear::new(2, 4)),
        Box::new(Linear::without_bias(4, 4)),
        Box::new(Linear::new(4, 3)),
        Box::new(Tanh),
    ]);
    assert_eq!(model.num_parameters(), (2 * 4 + 4) + 4 * 4 + (4 * 3 + 3));
    let out = model.forward(&[0.5, -1.0].map(Value::new));
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|o| o.data().abs() < 1.0));
    assert_eq!(
        model.to_string(),
        "Sequential([Linear(nin=2, nout=4), Linear(nin=4, nout=4, bias=False), Linear(nin=4, nout=3), Tanh])"
    );
    // activations as modules do what their names say
    assert_eq!(ReLU.predict(&[-1.0, 3.0]), vec![0.0, 3.0]);
    assert_eq!(Sigmoid.predict(&[0.0]), vec![0.5]);
}

#[test]
fn load_parameters_round_trip_and_errors() {
    let a = MLP::builder(3, &[4, 2]).seed(1).build();
    let b = MLP::builder(3, &[4, 2]).seed(2).build();
    assert_ne!(a.parameter_data(), b.parameter_data());
    b.load_parameters(&a.parameter_data()).unwrap();
    assert_eq!(a.parameter_data(), b.parameter_data());
    assert_eq!(a.predict(&[1.0, 2.0, 3.0]), b.predict(&[1.0, 2.0, 3.0]));
    let err = b.load_parameters(&[0.0; 5]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the model has 26 parameters but 5 numbers were given"
    );
}

#[test]
fn zero_grad_on_a_module() {
    let m = MLP::new(2, &[2, 1]);
    let y = m.forward(&[1.0, 2.0].map(Value::new))[0];
    y.backward();
    assert!(m.parameters().iter().any(|p| p.grad() != 0.0));
    m.zero_grad();
    assert!(m.parameters().iter().all(|p| p.grad() == 0.0));
}

// ----- losses ------------------------------------------------------------------

#[test]
fn svm_loss_by_hand() {
    // scores 2, 0.5, -0.25 with labels +1, +1, -1:
    // relu(1-2) = 0, relu(1-0.5) = 0.5, relu(1-0.25) = 0.75; mean = 1.25/3
    let s = [2.0, 0.5, -0.25].map(Value::new);
    let l = loss::svm(&s, &[1.0, 1.0, -1.0]);
    l.backward();
    assert!(close(l.data(), 1.25 / 3.0));
    // d/ds = -y/n where the margin is violated, else 0
    assert_eq!(s.map(|v| v.grad()), [0.0, -1.0 / 3.0, 1.0 / 3.0]);
}

#[test]
fn l2_by_hand() {
    let p = [1.0, -2.0].map(Value::new);
    let l = loss::l2(&p, 0.5);
    l.backward();
    assert_eq!(l.data(), 2.5);
    assert_eq!(p.map(|v| v.grad()), [1.0, -2.0]); // 2·alpha·p
}

#[test]
fn cross_entropy_matches_pytorch() {
    // torch.nn.functional.cross_entropy([[0.3, -1.2, 2.0]], [2])
    let z = [0.3, -1.2, 2.0].map(Value::new);
    let l = loss::cross_entropy(&[z.to_vec()], &[2]);
    l.backward();
    assert!(close(l.data(), 0.20167124495279057));
    let want = [
        0.1493188621833912,
        0.03331754163216139,
        -0.18263640381555257,
    ];
    for (g, w) in z.iter().zip(want) {
        assert!(close(g.grad(), w), "{} vs {w}", g.grad());
    }
}

#[test]
fn bce_with_logits_matches_pytorch() {
    // torch.nn.functional.binary_cross_entropy_with_logits([0.7, -0.4], [1.0, 0.0])
    let z = [0.7, -0.4].map(Value::new);
    let l = loss::bce_with_logits(&z, &[1.0, 0.0]);
    l.backward();
    assert!(close(l.data(), 0.4581006506427052));
    assert!(close(z[0].grad(), -0.16590611391591692));
    assert!(close(z[1].grad(), 0.200656169943774));
}

#[test]
fn losses_are_stable_for_huge_logits() {
    let z = [1e4, -1e4].map(Value::new);
    let l = loss::bce_with_logits(&z, &[0.0, 1.0]);
    assert!(close(l.data(), 1e4));
    let l = loss::cross_entropy(&[vec![Value::new(1e4), Value::new(-1e4)]], &[1]);
    assert!(close(l.data(), 2e4));
    l.backward();
}

#[test]
fn loss_enum_maps_targets_and_predictions() {
    let out = vec![vec![Value::new(0.5)], vec![Value::new(-2.0)]];
    // two classes with mse: labels 0/1 become -1/+1
    let l = Loss::Mse.compute(&out, &[1.0, 0.0], 2);
    assert!(close(l.data(), (0.25 + 1.0) / 2.0));
    assert_eq!(Loss::Mse.predict(&[0.5], 2), 1.0);
    assert_eq!(Loss::Mse.predict(&[0.5], 0), 0.5);
    assert_eq!(Loss::CrossEntropy.predict(&[0.0, -1.0, 3.0], 3), 2.0);
    assert!(Loss::Bce.check(3).unwrap_err().contains("use xent"));
    assert!(Loss::CrossEntropy.check(0).unwrap_err().contains("use mse"));
    assert_eq!("hinge".parse::<Loss>().unwrap(), Loss::Svm);
    assert!(
        "nope"
            .parse::<Loss>()
            .unwrap_err()
            .contains("expected mse, svm, bce or xent")
    );
}

#[test]
fn accuracy_counts() {
    assert_eq!(loss::accuracy(&[0, 1, 2], &[0, 1, 1]), 2.0 / 3.0);
    assert_eq!(loss::accuracy(&[], &[]), 0.0);
}

// ----- optimizers --------------------------------------------------------------

fn three_steps(opt: &mut dyn Optimizer, w: &[Value; 2]) {
    for _ in 0..3 {
        let _s = micrograd::scope();
        opt.zero_grad();
        let l = w[0] * 3.0 + w[1].pow(2) + (w[0] * w[1]).tanh();
        l.backward();
        opt.step();
    }
}

#[test]
fn sgd_matches_the_seeds_update() {
    let w = Value::new(1.0);
    let mut opt = Sgd::new(vec![w], 0.1);
    (w * w).backward(); // grad 2
    opt.step();
    assert!(close(w.data(), 1.0 - 0.1 * 2.0));
}

#[test]
fn momentum_matches_pytorch() {
    // torch.optim.SGD([w], lr=0.1, momentum=0.9), 3 steps
    let w = [1.0, -2.0].map(Value::new);
    let mut opt = Sgd::new(w.to_vec(), 0.1).momentum(0.9);
    three_steps(&mut opt, &w);
    assert!(close(w[0].data(), -0.4513485369327634), "{}", w[0].data());
    assert!(close(w[1].data(), -0.1986338860304139), "{}", w[1].data());
}

#[test]
fn adam_matches_pytorch() {
    // torch.optim.Adam([w], lr=0.1), 3 steps
    let w = [1.0, -2.0].map(Value::new);
    let mut opt = Adam::new(w.to_vec(), 0.1);
    three_steps(&mut opt, &w);
    assert!(close(w[0].data(), 0.7004315384135945), "{}", w[0].data());
    assert!(close(w[1].data(), -1.7008213320744339), "{}", w[1].data());
}

/// The three steps of `three_steps`, each through `step_with_grads` with
/// the gradients in hand and garbage on the tape in their place.
fn three_steps_with_grads(opt: &mut dyn Optimizer, w: &[Value; 2]) {
    for _ in 0..3 {
        let _s = micrograd::scope();
        w.iter().for_each(|p| p.set_grad(0.0));
        let l = w[0] * 3.0 + w[1].pow(2) + (w[0] * w[1]).tanh();
        l.backward();
        let g = w.map(|p| p.grad());
        w.iter().for_each(|p| p.set_grad(1e9));
        assert!(opt.step_with_grads(&g));
        assert_eq!(w.map(|p| p.grad()), g, "the gradients are written");
    }
}

#[test]
fn step_with_grads_is_setting_the_gradients_then_step() {
    // PyTorch's numbers, as in the two tests above
    let w = [1.0, -2.0].map(Value::new);
    three_steps_with_grads(&mut Sgd::new(w.to_vec(), 0.1).momentum(0.9), &w);
    assert!(close(w[0].data(), -0.4513485369327634), "{}", w[0].data());
    assert!(close(w[1].data(), -0.1986338860304139), "{}", w[1].data());
    let w = [1.0, -2.0].map(Value::new);
    three_steps_with_grads(&mut Adam::new(w.to_vec(), 0.1), &w);
    assert!(close(w[0].data(), 0.7004315384135945), "{}", w[0].data());
    assert!(close(w[1].data(), -1.7008213320744339), "{}", w[1].data());
}

#[test]
fn optimizers_update_parameters_wherever_they_are_on_the_tape() {
    // consecutive (a loop over slices), apart or out of order (one by one)
    let make = |apart: bool| {
        let a = Value::new(1.0);
        if apart {
            let _ = a * 2.0;
        }
        [a, Value::new(-2.0)]
    };
    for (apart, reversed) in [(false, false), (true, false), (false, true)] {
        let order = |w: [Value; 2]| {
            if reversed {
                vec![w[1], w[0]]
            } else {
                w.to_vec()
            }
        };
        let w = make(apart);
        three_steps(&mut Sgd::new(order(w), 0.1).momentum(0.9), &w);
        assert!(close(w[0].data(), -0.4513485369327634), "{}", w[0].data());
        assert!(close(w[1].data(), -0.1986338860304139), "{}", w[1].data());
        let w = make(apart);
        let mut opt = Adam::new(order(w), 0.1);
        for _ in 0..3 {
            let _s = micrograd::scope();
            let l = w[0] * 3.0 + w[1].pow(2) + (w[0] * w[1]).tanh();
            opt.zero_grad();
            l.backward();
            let g: Vec<f64> = order(w).iter().map(|p| p.grad()).collect();
            assert!(opt.step_with_grads(&g));
        }
        assert!(close(w[0].data(), 0.7004315384135945), "{}", w[0].data());
        assert!(close(w[1].data(), -1.7008213320744339), "{}", w[1].data());
    }
}

#[test]
fn schedules() {
    let s = Schedule::Linear {
        start: 1.0,
        end: 0.1,
        steps: 100,
    };
    for k in [0, 1, 37, 99] {
        assert!(close(s.lr(k), 1.0 - 0.9 * k as f64 / 100.0)); // micrograd's demo
    }
    assert!(close(s.lr(1000), 0.1));
    assert_eq!(Schedule::Constant(0.3).lr(7), 0.3);
}

// ----- model files ---------------------------------------------------------------

fn model_file() -> ModelFile {
    ModelFile {
        model: MLP::builder(2, &[3, 2])
            .hidden(Activation::Tanh)
            .output(Activation::Linear)
            .seed(7)
            .build(),
        prep: Preprocess::identity(&Dataset {
            name: "m".into(),
            features: vec!["a".into(), "b".into()],
            target: "t".into(),
            x: vec![],
            y: vec![],
            classes: vec!["p".into(), "q".into()],
        }),
        loss: Loss::CrossEntropy,
    }
}

#[test]
fn safetensors_outputs_match_pytorch() {
    // tools/check_safetensors.py on this model's file printed PyTorch's
    // nn.Sequential(Linear(2,3), Tanh(), Linear(3,2)) outputs:
    let pytorch = [
        ([0.5, -0.25], [0.22321958350050586, -0.032554398880013935]),
        ([1.0, 0.5], [0.05725308076124447, -0.1608439022205777]),
    ];
    let bytes = model_file().to_safetensors().unwrap();
    let back = ModelFile::from_safetensors(&bytes, "m.safetensors").unwrap();
    for (x, want) in pytorch {
        let got = back.model.predict(&x);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
    }
    // the layout PyTorch expects: names, shapes, dtype
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header["0.weight"]["shape"], serde_json::json!([3, 2]));
    assert_eq!(header["0.bias"]["shape"], serde_json::json!([3]));
    assert_eq!(header["2.weight"]["shape"], serde_json::json!([2, 3]));
    assert_eq!(header["2.weight"]["dtype"], "F64");
    assert_eq!(n % 8, 0);
}

#[test]
fn json_round_trip_is_exact() {
    let f = model_file();
    let back = ModelFile::from_json(&f.to_json().unwrap(), "m.json").unwrap();
    assert_eq!(back.model.parameter_data(), f.model.parameter_data());
    assert_eq!(back.prep, f.prep);
    assert_eq!(back.loss, f.loss);
    assert_eq!(back.predict(&[0.5, -0.25]), f.predict(&[0.5, -0.25]));
}

#[test]
fn model_file_errors_say_what_and_where() {
    let json = model_file().to_json().unwrap();
    let cases = [
        (
            json.replace("\"micrograd-mlp\"", "\"other\""),
            "not a micrograd model",
        ),
        (
            json.replace("\"nin\": 3", "\"nin\": 4"),
            "layers[1].nin is 4 but there are 3 outputs of layers[0]",
        ),
        (
            json.replace("\"tanh\"", "\"swish\""),
            "layers[0].activation: unknown activation 'swish'",
        ),
        (
            json.replace("\"loss\": \"xent\"", "\"loss\": \"svm\""),
            "loss svm with 2 classes needs 1",
        ),
        ("{".to_string(), "not valid JSON"),
    ];
    for (text, want) in cases {
        let err = ModelFile::from_json(&text, "m.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("m.json: ") && err.contains(want), "{err}");
    }
    // a weight row too short
    let mut j: serde_json::Value = serde_json::from_str(&json).unwrap();
    j["layers"][0]["weight"][1] = serde_json::json!([1.0]);
    let err = ModelFile::from_json(&j.to_string(), "m.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layers[0].weight: row 1: expected 2 numbers, found 1"),
        "{err}"
    );

    let st = model_file().to_safetensors().unwrap();
    assert!(
        ModelFile::from_safetensors(&st[..st.len() - 1], "m.st")
            .unwrap_err()
            .message
            .contains("bad data_offsets")
    );
    assert!(
        ModelFile::from_safetensors(&st[..5], "m.st")
            .unwrap_err()
            .message
            .contains("too short")
    );
}

#[test]
fn a_diverged_model_is_not_saved() {
    let f = model_file();
    f.model.parameters()[0].set_data(f64::NAN);
    assert!(f.to_json().unwrap_err().contains("training diverged"));
    assert!(f.to_safetensors().is_err());
}

// ----- property tests: readers never panic ----------------------------------

mod fuzz {
    use super::*;
    use crate::common::cases;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(cases(512))]

        #[test]
        fn safetensors_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = ModelFile::from_safetensors(&bytes, "fuzz");
        }

        #[test]
        fn safetensors_reader_survives_corruption(pos in 0usize..4096, byte in any::<u8>()) {
            let mut st = model_file().to_safetensors().unwrap();
            let p = pos % st.len();
            st[p] = byte;
            let _ = ModelFile::from_safetensors(&st, "fuzz");
        }

        #[test]
        fn json_reader_survives_corruption(pos in 0usize..4096, c in any::<char>()) {
            let json = model_file().to_json().unwrap();
            let mut chars: Vec<char> = json.chars().collect();
            let p = pos % chars.len();
            chars[p] = c;
            let text: String = chars.into_iter().collect();
            let _ = ModelFile::from_json(&text, "fuzz");
        }
    }
}
