//! The engine against hand-derived values, the seeds' numbers, finite
//! differences, deep graphs and the scope rules.

// The seeds' constants are written as the notebooks write them, and micrograd's
// own tests are kept line for line (`c += c + 1`).
#![allow(clippy::excessive_precision, clippy::misrefactored_assign_op)]

mod common;

use common::seed_neuron;
use micrograd::{GradCheck, Value, gradcheck, scope, stats, zero_grad};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

macro_rules! assert_close {
    ($a:expr, $b:expr) => {
        assert_close!($a, $b, 1e-12)
    };
    ($a:expr, $b:expr, $tol:expr) => {{
        let (a, b) = ($a, $b);
        assert!(close(a, b, $tol), "{} = {a}, expected {b}", stringify!($a));
    }};
}

#[test]
fn seed_neuron_tanh() {
    let [o, x1, x2, w1, w2, _] = seed_neuron(6.8813735870195432);
    o.backward();
    assert_close!(o.data(), std::f64::consts::FRAC_1_SQRT_2);
    assert_close!(x1.grad(), -1.5);
    assert_close!(w1.grad(), 1.0);
    assert_close!(x2.grad(), 0.5);
    assert_eq!(w2.grad(), 0.0);
}

#[test]
fn seed_neuron_through_exp() {
    // seed 001: e = (2n).exp(); o = (e - 1) / (e + 1)
    let x1 = Value::new(2.0);
    let x2 = Value::new(0.0);
    let w1 = Value::new(-3.0);
    let w2 = Value::new(1.0);
    let b = Value::new(6.8813735870195432);
    let n = x1 * w1 + x2 * w2 + b;
    let e = (2.0 * n).exp();
    let o = (e - 1.0) / (e + 1.0);
    o.backward();
    assert_close!(o.data(), std::f64::consts::FRAC_1_SQRT_2);
    assert_close!(x1.grad(), -1.5);
    assert_close!(w1.grad(), 1.0);
    assert_close!(x2.grad(), 0.5);
    assert_eq!(w2.grad(), 0.0);
}

/// What PyTorch printed in seeds 001 and 002. `torch.Tensor([6.8813735870195432])`
/// is float32, so PyTorch's b is that number rounded to f32 before `.double()`.
#[test]
fn seed_neuron_matches_pytorch_printout() {
    let b32 = 6.8813735870195432_f32 as f64;
    let [o, x1, x2, w1, w2, _] = seed_neuron(b32);
    o.backward();
    assert_close!(o.data(), 0.7071066904050358, 1e-15);
    assert_close!(x2.grad(), 0.5000001283844369, 1e-15);
    assert_eq!(w2.grad(), 0.0);
    assert_close!(x1.grad(), -1.5000003851533106, 1e-15);
    assert_close!(w1.grad(), 1.0000002567688737, 1e-15);
}

#[test]
fn seed_000_w0_grad() {
    let w0 = Value::new(-0.5).with_label("W0");
    let x0 = Value::new(0.5);
    let w1 = Value::new(-0.3);
    let x1 = Value::new(2.0);
    let yhat = (w0 * x0 + w1 * x1).tanh();
    let y = Value::new(0.8);
    let l = y - yhat;
    l.set_label("L");
    l.backward();
    assert_eq!(w0.grad(), -0.26121149393241616);
    assert_eq!(l.label(), "L");
}

#[test]
fn shared_operand_a_plus_a() {
    let a = Value::new(3.0);
    let b = a + a;
    b.backward();
    assert_eq!(b.data(), 6.0);
    assert_eq!(a.grad(), 2.0); // seed 000's `is not visited` bug and micrograd's early bug gave 1
}

#[test]
fn shared_node_b_plus_b() {
    let a = Value::new(-2.0);
    let b = a * a; // db/da = 2a = -4
    let c = b + b; // dc/db = 2
    c.backward();
    assert_eq!(c.data(), 8.0);
    assert_eq!(b.grad(), 2.0);
    assert_eq!(a.grad(), -8.0); // 4a
}

#[test]
fn diamond() {
    // a feeds b and c, which meet again in d = b*c:
    // b = 2a, c = a + 3, d = b*c = 2a² + 6a, dd/da = 4a + 6
    let a = Value::new(1.5);
    let b = a * 2.0;
    let c = a + 3.0;
    let d = b * c;
    d.backward();
    assert_eq!(d.data(), 13.5);
    assert_eq!(b.grad(), 4.5); // c
    assert_eq!(c.grad(), 3.0); // b
    assert_eq!(a.grad(), 12.0);
}

#[test]
fn micrograd_sanity_check() {
    // micrograd's test_sanity_check; PyTorch: xmg.grad == 46.0, ymg.data == -20.0
    let x = Value::new(-4.0);
    let z = 2.0 * x + 2.0 + x;
    let q = z.relu() + z * x;
    let h = (z * z).relu();
    let y = h + q + q * x;
    y.backward();
    assert_eq!(y.data(), -20.0);
    assert_eq!(x.grad(), 46.0);
}

#[test]
fn micrograd_more_ops() {
    // micrograd's test_more_ops, with its `+=` lines; PyTorch gives
    // g.data = 24.70408163265306, a.grad = 138.83381924198252, b.grad = 645.5772594752186
    let a = Value::new(-4.0);
    let b = Value::new(2.0);
    let mut c = a + b;
    let mut d = a * b + b.pow(3);
    c += c + 1.0;
    c += 1.0 + c + (-a);
    d += d * 2.0 + (b + a).relu();
    d += 3.0 * d + (b - a).relu();
    let e = c - d;
    let f = e.pow(2);
    let mut g = f / 2.0;
    g += 10.0 / f;
    g.backward();
    assert_close!(g.data(), 24.70408163265306, 1e-14);
    assert_close!(a.grad(), 138.83381924198252, 1e-14);
    assert_close!(b.grad(), 645.5772594752186, 1e-14);
}

#[test]
fn rtruediv_is_part_of_the_graph() {
    // seed 001's __rtruediv__ returned a plain float: no node, no gradient
    let x = Value::new(4.0);
    let y = 2.0 / x;
    y.backward();
    assert_eq!(y.data(), 0.5);
    assert_eq!(x.grad(), -2.0 / 16.0);
    assert_eq!(y.children(), vec![x]);
}

#[test]
fn reflected_ops_with_numbers() {
    let x = Value::new(3.0);
    let ys = [
        2.0 + x,
        2.0 - x,
        2.0 * x,
        2.0 / x,
        x + 2.0,
        x - 2.0,
        x * 2.0,
        x / 2.0,
    ];
    let want_data = [5.0, -1.0, 6.0, 2.0 / 3.0, 5.0, 1.0, 6.0, 1.5];
    let want_grad = [1.0, -1.0, 2.0, -2.0 / 9.0, 1.0, 1.0, 2.0, 0.5];
    for (k, y) in ys.iter().enumerate() {
        zero_grad(&[x]);
        y.backward();
        assert_close!(y.data(), want_data[k]);
        assert_close!(x.grad(), want_grad[k]);
    }
}

#[test]
fn assign_ops() {
    let a = Value::new(2.0);
    let mut x = a;
    x += a; // 2a
    x *= a; // 2a²
    x -= 1.0; // 2a² - 1
    x /= a; // 2a - 1/a
    x.backward();
    assert_close!(x.data(), 3.5);
    assert_close!(a.grad(), 2.0 + 1.0 / 4.0);
}

#[test]
fn double_backward_accumulates_leaves_only() {
    let a = Value::new(3.0);
    let b = a * a;
    let c = b + b;
    c.backward();
    assert_eq!((a.grad(), b.grad(), c.grad()), (12.0, 2.0, 1.0));
    c.backward();
    // leaves add up, as with PyTorch's retain_graph=True; interior nodes are
    // recomputed, not compounded (micrograd would give b.grad = 4, a.grad = 36)
    assert_eq!((a.grad(), b.grad(), c.grad()), (24.0, 2.0, 1.0));
    zero_grad(&[a]);
    c.backward();
    assert_eq!(a.grad(), 12.0);
}

#[test]
fn backward_from_an_inner_node_ignores_the_rest() {
    let a = Value::new(2.0);
    let b = Value::new(5.0);
    let inner = a * 3.0;
    let _unrelated = (b.ln() - 1e300 * b).exp() * a; // nothing of this reaches `inner`
    inner.backward();
    assert_eq!(a.grad(), 3.0);
    assert_eq!(b.grad(), 0.0);
}

#[test]
fn gradients_of_two_losses_add_on_shared_parameters() {
    let w = Value::new(0.5);
    let l1 = w * 2.0;
    let l2 = w.pow(2);
    l1.backward();
    l2.backward();
    assert_eq!(w.grad(), 2.0 + 1.0);
}

#[test]
fn backward_on_a_leaf() {
    let a = Value::new(1.0);
    a.backward();
    assert_eq!(a.grad(), 1.0);
}

#[test]
fn sum_dot_affine_are_single_nodes() {
    let w = [0.5, -1.0, 2.0].map(Value::new);
    let x = [1.0, 2.0, 3.0].map(Value::new);
    let b = Value::new(0.25);
    let before = stats().nodes;
    let s: Value = w.iter().sum();
    let d = Value::dot(&w, &x);
    let n = Value::affine(&w, &x, b);
    assert_eq!(stats().nodes, before + 3);
    assert_eq!(s.data(), 1.5);
    assert_eq!(d.data(), 4.5);
    assert_eq!(n.data(), 4.75);
    assert_eq!(n.children().len(), 7);
    n.backward();
    assert_eq!(w.map(|v| v.grad()), [1.0, 2.0, 3.0]);
    assert_eq!(x.map(|v| v.grad()), [0.5, -1.0, 2.0]);
    assert_eq!(b.grad(), 1.0);
    // the same weight as both operands of a dot: d(w·w)/dw = 2w
    zero_grad(&w);
    Value::dot(&w, &w).backward();
    assert_eq!(w.map(|v| v.grad()), [1.0, -2.0, 4.0]);
}

#[test]
fn empty_sum_is_zero() {
    let s = Value::sum([]);
    s.backward();
    assert_eq!(s.data(), 0.0);
}

#[test]
#[should_panic(expected = "dot product of 2 weights with 3 inputs")]
fn dot_length_mismatch_panics_with_a_message() {
    let w = [1.0, 2.0].map(Value::new);
    let x = [1.0, 2.0, 3.0].map(Value::new);
    Value::dot(&w, &x);
}

#[test]
fn pow_with_a_value_exponent() {
    let x = Value::new(2.0);
    let p = Value::new(3.0);
    let y = x.pow(p);
    y.backward();
    assert_eq!(y.data(), 8.0);
    assert_close!(x.grad(), 12.0);
    assert_close!(p.grad(), 8.0 * 2f64.ln());
}

#[test]
fn pow_edge_cases_follow_pytorch() {
    // x ** 0 has gradient 0 even at x = 0
    let x = Value::new(0.0);
    x.pow(0.0).backward();
    assert_eq!(x.grad(), 0.0);
    // 0 ** p: d/dp is 0 for p >= 0
    let (b, p) = (Value::new(0.0), Value::new(2.0));
    b.pow(p).backward();
    assert_eq!((b.grad(), p.grad()), (0.0, 0.0));
}

#[test]
fn numerics_are_stable_at_the_extremes() {
    for &x in &[-1000.0, -40.0, 40.0, 1000.0] {
        let v = Value::new(x);
        let t = v.tanh();
        let s = v.sigmoid();
        let sp = v.softplus();
        assert!(t.data().is_finite() && s.data().is_finite() && sp.data().is_finite());
        (t + s + sp).backward();
        assert!(v.grad().is_finite(), "gradient at {x}");
    }
    assert_eq!(Value::new(1000.0).tanh().data(), 1.0);
    assert_eq!(Value::new(-1000.0).sigmoid().data(), 0.0);
    assert_eq!(Value::new(-1000.0).softplus().data(), 0.0);
    let z = [-1000.0, 0.0, 1000.0].map(Value::new);
    assert_eq!(Value::logsumexp(&z).data(), 1000.0);
    // the seeds' own tanh formula overflows here
    let seed_tanh = |x: f64| ((2.0 * x).exp() - 1.0) / ((2.0 * x).exp() + 1.0);
    assert!(seed_tanh(1000.0).is_nan());
}

#[test]
fn relu_at_zero_and_nan() {
    let x = Value::new(0.0);
    x.relu().backward();
    assert_eq!(x.grad(), 0.0);
    assert!(Value::new(f64::NAN).relu().data().is_nan());
}

#[test]
fn nan_and_inf_propagate() {
    let x = Value::new(-1.0);
    let y = x.ln() * 2.0 + 1.0; // ln(-1) = NaN
    y.backward();
    assert!(y.data().is_nan());
    assert!(x.grad().is_finite()); // d ln x/dx = 1/x = -1, times 2
    let z = Value::new(0.0);
    let w = 1.0 / z;
    assert_eq!(w.data(), f64::INFINITY);
    w.backward();
    assert_eq!(z.grad(), f64::NEG_INFINITY);
}

#[test]
fn find_non_finite_names_the_first_bad_node() {
    let x = Value::new(-1.0).with_label("x");
    let a = x * 3.0;
    let l = a.ln().with_label("log");
    let y = (l + 1.0).tanh();
    let bad = y.find_non_finite().expect("NaN expected");
    assert_eq!(bad.value, l);
    assert_eq!(bad.op, "ln");
    assert_eq!(bad.label, "log");
    assert!(bad.data.is_nan());
    assert!(!bad.in_grad);
    assert_eq!(bad.inputs, vec![-3.0]);
    let msg = bad.to_string();
    assert!(
        msg.contains("op ln") && msg.contains("data is NaN") && msg.contains("-3"),
        "{msg}"
    );
}

#[test]
fn find_non_finite_in_gradients() {
    let x = Value::new(0.0);
    let y = x.pow(0.5) * 2.0; // d sqrt(x)/dx at 0 is inf
    assert!(y.find_non_finite().is_none());
    y.backward();
    let bad = y.find_non_finite().expect("inf gradient expected");
    assert!(bad.in_grad);
    assert_eq!(bad.value, x);
    assert_eq!(bad.grad, f64::INFINITY);
}

#[test]
fn labels_ops_and_children() {
    let a = Value::new(1.0).with_label("a");
    let b = Value::new(2.0);
    let c = (a * b).with_label("c");
    assert_eq!(c.label(), "c");
    assert_eq!(b.label(), "");
    assert_eq!(c.op(), "*");
    assert_eq!(c.children(), vec![a, b]);
    assert_eq!(a.pow(3).op(), "**3");
    assert_eq!(a.pow(-0.5).op(), "**-0.5");
    assert_eq!((-a).op(), "neg");
    assert_eq!(a.exp().op(), "exp");
    assert_eq!(format!("{c}"), "Value(data=2, grad=0)");
    let dbg = format!("{c:?}");
    assert!(
        dbg.contains("op=\"*\"") && dbg.contains("label=\"c\""),
        "{dbg}"
    );
}

// ----- finite differences on every op at random points ---------------------------

mod fd {
    use super::*;
    use proptest::prelude::*;

    fn check(f: impl Fn(&[Value]) -> Value, at: &[f64]) -> Result<(), TestCaseError> {
        let c = GradCheck {
            eps: 1e-6,
            atol: 1e-6,
            rtol: 1e-5,
        };
        match c.run(f, at) {
            Ok(_) => Ok(()),
            Err(e) => Err(TestCaseError::fail(e.to_string())),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn add(a in -10.0..10.0f64, b in -10.0..10.0f64) { check(|v| v[0] + v[1], &[a, b])?; }
        #[test]
        fn sub(a in -10.0..10.0f64, b in -10.0..10.0f64) { check(|v| v[0] - v[1], &[a, b])?; }
        #[test]
        fn mul(a in -10.0..10.0f64, b in -10.0..10.0f64) { check(|v| v[0] * v[1], &[a, b])?; }
        #[test]
        fn div(a in -10.0..10.0f64, b in 0.5..10.0f64, s in prop::bool::ANY) {
            let b = if s { b } else { -b };
            check(|v| v[0] / v[1], &[a, b])?;
        }
        #[test]
        fn neg(a in -10.0..10.0f64) { check(|v| -v[0], &[a])?; }
        #[test]
        fn with_numbers(a in -5.0..5.0f64, c in 0.5..5.0f64) {
            check(|v| v[0] + c, &[a])?;
            check(|v| v[0] - c, &[a])?;
            check(|v| v[0] * c, &[a])?;
            check(|v| v[0] / c, &[a])?;
            check(|v| c + v[0], &[a])?;
            check(|v| c - v[0], &[a])?;
            check(|v| c * v[0], &[a])?;
        }
        #[test]
        fn number_over_value(a in 0.5..5.0f64, c in -5.0..5.0f64) {
            check(|v| c / v[0], &[a])?;
            check(|v| c / v[0], &[-a])?;
        }
        #[test]
        fn pow_number(a in 0.1..4.0f64, p in -3.0..3.0f64) { check(|v| v[0].pow(p), &[a])?; }
        #[test]
        fn pow_integer_of_negative(a in -4.0..-0.1f64, p in -3i32..4) { check(|v| v[0].pow(p), &[a])?; }
        #[test]
        fn pow_value(a in 0.1..4.0f64, p in -3.0..3.0f64) { check(|v| v[0].pow(v[1]), &[a, p])?; }
        #[test]
        fn exp(a in -5.0..5.0f64) { check(|v| v[0].exp(), &[a])?; }
        #[test]
        fn ln(a in 0.05..20.0f64) { check(|v| v[0].ln(), &[a])?; }
        #[test]
        fn tanh(a in -5.0..5.0f64) { check(|v| v[0].tanh(), &[a])?; }
        #[test]
        fn relu(a in -5.0..5.0f64) {
            prop_assume!(a.abs() > 1e-3); // not differentiable at 0
            check(|v| v[0].relu(), &[a])?;
        }
        #[test]
        fn sigmoid(a in -10.0..10.0f64) { check(|v| v[0].sigmoid(), &[a])?; }
        #[test]
        fn softplus(a in -10.0..10.0f64) { check(|v| v[0].softplus(), &[a])?; }
        #[test]
        fn sum(xs in prop::collection::vec(-5.0..5.0f64, 0..8)) {
            check(|v| Value::sum(v.iter().copied()) * Value::sum(v.iter().copied()), &xs)?;
        }
        #[test]
        fn dot(xs in prop::collection::vec(-3.0..3.0f64, 2..10)) {
            let n = xs.len() / 2;
            check(|v| Value::dot(&v[..n], &v[n..2 * n]), &xs)?;
        }
        #[test]
        fn affine(xs in prop::collection::vec(-3.0..3.0f64, 3..11)) {
            let n = (xs.len() - 1) / 2;
            check(|v| Value::affine(&v[..n], &v[n..2 * n], v[2 * n]).tanh(), &xs)?;
        }
        #[test]
        fn logsumexp(xs in prop::collection::vec(-5.0..5.0f64, 1..6)) {
            check(Value::logsumexp, &xs)?;
        }
        #[test]
        fn composite(a in -2.0..2.0f64, b in -2.0..2.0f64, c in 0.5..2.0f64) {
            // a neuron, a loss, shared subexpressions
            check(|v| {
                let n = (v[0] * v[1] + v[2]).tanh();
                let m = n * n + v[0].exp() / v[2];
                (m - 1.0).pow(2) + m.sigmoid().ln()
            }, &[a, b, c])?;
        }
    }
}

#[test]
fn gradcheck_catches_a_wrong_gradient() {
    // relu(x) has a kink at 0; finite differences straddle it and give 0.5
    let err = gradcheck(|v| v[0].relu(), &[0.0]).unwrap_err();
    assert_eq!(err.index, 0);
    assert_eq!(err.analytic, 0.0);
    assert_close!(err.numeric, 0.5, 1e-9);
}

// ----- depth and memory --------------------------------------------------------------

/// 5·10^6 iterations of `x = x*1.0001 + 0.0001`: 10^7 op nodes, on a test
/// thread's 2 MiB stack. Builds, back-propagates and frees with no recursion.
#[test]
fn chain_of_ten_million_ops() {
    const ITERS: i32 = 5_000_000;
    let x0 = Value::new(1.0);
    let before = stats().nodes;
    {
        let _s = scope();
        let mut x = x0;
        for _ in 0..ITERS {
            x = x * 1.0001 + 0.0001;
        }
        assert_eq!(stats().nodes, before + 2 * ITERS as usize);
        x.backward();
        // dx_n/dx_0 = 1.0001^n; x_n = (x0 + 1)·1.0001^n - 1
        let want = 1.0001f64.powi(ITERS);
        assert!(close(x0.grad(), want, 1e-6), "{} vs {want}", x0.grad());
        assert!(close(x.data(), 2.0 * want - 1.0, 1e-6));
    }
    assert_eq!(stats().nodes, before, "the scope frees the chain");
}

/// The same depth with no scope: the nodes go when the thread's tape does.
#[test]
fn deep_graph_freed_with_its_thread() {
    let h = std::thread::Builder::new()
        .stack_size(64 * 1024) // far less than any recursive drop would need
        .spawn(|| {
            let mut x = Value::new(0.5);
            for _ in 0..2_000_000 {
                x = (x * 0.999).tanh() + 0.001;
            }
            x.backward();
            x.data()
        })
        .unwrap();
    assert!(h.join().unwrap().is_finite());
}

#[test]
fn training_loop_runs_in_flat_memory() {
    let w = [0.1, -0.2, 0.3].map(Value::new);
    let b = Value::new(0.0);
    let xs = [[1.0, 2.0, -1.0], [0.5, -1.0, 2.0]];
    let ys = [1.0, -1.0];
    let mut sizes = vec![];
    for step in 0..100_000 {
        let _step = scope();
        let loss = Value::sum(xs.iter().zip(ys).map(|(x, y)| {
            let x = x.map(Value::new);
            (Value::affine(&w, &x, b).tanh() - y).pow(2)
        }));
        zero_grad(&w);
        zero_grad(&[b]);
        loss.backward();
        for p in w.iter().chain([&b]) {
            p.set_data(p.data() - 0.01 * p.grad());
        }
        if step % 10_000 == 0 {
            let s = stats();
            sizes.push((s.nodes, s.bytes_allocated));
        }
    }
    let s = stats();
    assert_eq!(s.nodes, 4, "only the parameters are left");
    assert!(sizes.windows(2).all(|p| p[0] == p[1]), "{sizes:?}");
}

#[test]
#[should_panic(expected = "stale Value")]
fn using_a_value_after_its_scope_panics() {
    let kept = {
        let _s = scope();
        Value::new(1.0) * 2.0
    };
    let _ = Value::new(5.0); // reuses the freed slot
    kept.data();
}

#[test]
fn a_stale_handle_never_reads_another_nodes_number() {
    let stale = {
        let _s = scope();
        Value::new(1.0)
    };
    let _s = scope();
    let _fresh = Value::new(99.0); // same slot, new scope
    let r = std::panic::catch_unwind(|| stale.data());
    assert!(r.is_err());
}

#[test]
fn nested_scopes() {
    let p = Value::new(1.0);
    let outer = scope();
    let a = p * 2.0;
    let n_outer = stats().nodes;
    {
        let _inner = scope();
        let b = a * 3.0;
        assert_eq!(b.data(), 6.0);
    }
    assert_eq!(stats().nodes, n_outer);
    assert_eq!(a.data(), 2.0); // made in the outer scope: still alive
    drop(outer);
    assert_eq!(p.data(), 1.0);
}

#[test]
fn dropping_an_outer_scope_first_ends_the_inner_one() {
    let before = stats().nodes;
    let outer = scope();
    let _a = Value::new(1.0);
    let inner = scope();
    let b = Value::new(2.0);
    drop(outer);
    assert_eq!(stats().nodes, before);
    assert!(std::panic::catch_unwind(|| b.data()).is_err());
    drop(inner); // already ended: nothing happens
    assert_eq!(stats().nodes, before);
}

#[test]
fn labels_inside_a_scope_are_freed_with_it() {
    {
        let _s = scope();
        Value::new(1.0).with_label("temp");
    }
    let v = Value::new(2.0);
    assert_eq!(v.label(), "");
}

// ----- the number a handle carries ----------------------------------------------
// A `Value` carries a copy of its node's number, which ops use in place of
// the tape's while the two agree. These tests change the tape's number
// under a handle and check that every op sees the new one.

#[test]
fn a_copy_made_before_set_data_computes_with_the_new_number() {
    let p = Value::new(2.0);
    let q = p; // carries 2.0
    p.set_data(5.0);
    let y = q * 3.0;
    assert_eq!(y.data(), 15.0);
    assert_eq!((q + p).data(), 10.0);
    assert_eq!((q - 1.0).data(), 4.0);
    assert_eq!(q.exp().data(), 5f64.exp());
    assert_eq!(q.pow(2).data(), 25.0);
    y.backward();
    assert_eq!(p.grad(), 3.0);

    // an interior node overwritten by hand
    let h = Value::new(0.5) * 2.0;
    let old = h;
    h.set_data(4.0);
    assert_eq!((old + 1.0).data(), 5.0);
    assert_eq!((old * old).data(), 16.0);

    // NaN to a number and back: bits, not `==`, decide
    let n = Value::new(f64::NAN);
    let m = n;
    n.set_data(1.0);
    assert_eq!((m * 2.0).data(), 2.0);
    n.set_data(f64::NAN);
    assert!((m + 1.0).data().is_nan());
}

#[test]
fn handles_are_equal_when_their_node_is_whatever_number_they_carry() {
    use std::collections::HashSet;
    let p = Value::new(1.0);
    let y = p * 1.0;
    p.set_data(2.0);
    let again = y.children()[0]; // made now: carries 2.0
    assert_eq!(again, p);
    let set: HashSet<Value> = [p].into();
    assert!(set.contains(&again));
}

#[test]
fn constants_stay_with_their_nodes_across_scopes_of_every_mix() {
    // Ops that keep a constant (`* c`, `/ c`, `** c`) and ops that keep none
    // (`+ c`, `- c`, two values), in scopes that end and start again, with
    // the tape and its constants growing in between: every node must find
    // its own constant, forward and backward.
    let x0 = Value::new(1.0);
    for round in 0..40u32 {
        let _s = scope();
        let (adds, muls) = (round * 37 % 500, round * 53 % 700);
        let mut x = x0;
        let mut want = 1.0f64;
        let mut dwant = 1.0f64;
        for k in 0..adds.max(muls) {
            if k < adds {
                x = x + 0.5 - 0.25;
                want = want + 0.5 - 0.25;
            }
            if k < muls {
                let c = 1.0 + f64::from(k % 7) / 1000.0;
                x = (x * c / 1.0).pow(1.0);
                want *= c;
                dwant *= c;
            }
        }
        let last = if adds > muls {
            "-"
        } else if muls > 0 {
            "**1"
        } else {
            ""
        };
        assert_eq!(x.op(), last);
        assert!((x.data() - want).abs() <= 1e-9 * want, "round {round}");
        x0.set_grad(0.0);
        x.backward();
        assert!((x0.grad() - dwant).abs() <= 1e-9 * dwant, "round {round}");
    }
}
