//! The replay's own tests; the ones against the tape are in tests/replay.rs
//! and engine/ops.rs.

use super::record::SharedAt;
use super::*;
use crate::engine::gemm;
use crate::{Activation, MLP, Module};

/// A recording with a thin layer at each end (3 inputs, 2 outputs) and
/// a square one between, and 37 rows for it (not a multiple of 4 or 8).
fn recorded() -> (Replay, Vec<[f64; 4]>) {
    let m = MLP::builder(3, &[16, 8, 2])
        .hidden(Activation::Tanh)
        .seed(7)
        .build();
    let r = Replay::record(4, |v| {
        let out = m.forward(&v[..3]);
        ((out[0] - v[3]).pow(2.0) + out[1].relu(), out)
    })
    .unwrap();
    let rows = (0..37)
        .map(|i| {
            let x = f64::from(i);
            [x.sin(), (0.3 * x).cos(), 0.1 * x - 1.0, (x * 0.7).sin()]
        })
        .collect();
    (r, rows)
}

/// Reads the shared values and puts the rows in the lanes, gradients 0.
fn load(r: &mut Replay, rows: &[[f64; 4]]) {
    crate::engine::bulk::read_data_into(&r.shared, Arc::make_mut(&mut r.run.shared_val));
    let run = &mut r.run;
    run.shared_grad.clear();
    run.shared_grad.resize(run.shared_val.len(), 0.0);
    run.load_rows(rows);
    run.grad.clear();
    run.grad.resize(run.p.nodes.len() * rows.len(), 0.0);
}

/// The AVX2 passes (taken on processors that have it) and the baseline
/// ones compute the same bits: the claim that makes dispatching safe.
#[test]
fn wide_and_baseline_passes_agree_bit_for_bit() {
    let (mut r, rows) = recorded();
    let n = rows.len();
    load(&mut r, &rows);
    r.run.passes(n);
    let wide = (
        r.run.val.clone(),
        r.run.grad.clone(),
        r.run.shared_grad.clone(),
    );
    load(&mut r, &rows);
    r.run.forward();
    r.run.backward(n);
    let r = &r.run;
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&wide.0), bits(&r.val));
    assert_eq!(bits(&wide.1), bits(&r.grad));
    assert_eq!(bits(&wide.2), bits(&r.shared_grad));
    assert!(r.shared_grad.iter().any(|&g| g != 0.0));
}

/// Where the small products' kernels do not run (no AVX), thin layers
/// go through [`Replay::thin_forward`] and the rest through
/// `matrixmultiply`: the same numbers, up to the order of summation.
#[test]
fn portable_layers_agree_with_the_kernels() {
    let (mut r, rows) = recorded();
    let n = rows.len();
    load(&mut r, &rows);
    r.run.passes(n);
    let fast = (
        r.run.val.clone(),
        r.run.grad.clone(),
        r.run.shared_grad.clone(),
    );
    gemm::PORTABLE.set(true);
    load(&mut r, &rows);
    r.run.passes(n);
    gemm::PORTABLE.set(false);
    let r = &r.run;
    use crate::engine::assert_close;
    assert_close(&fast.0, &r.val);
    assert_close(&fast.1, &r.grad);
    assert_close(&fast.2, &r.shared_grad);
    assert!(r.shared_grad.iter().any(|&g| g != 0.0));
}

/// `y = (x·a + b)·c + a` on one row, with `gap` leaves made between the
/// parameters, which are made in the order b, a, c and used in the
/// order a, b, c.
fn far_apart(gap: usize) {
    let _s = crate::scope();
    let filler = |n: usize| (0..n).map(|i| Value::new(i as f64)).collect::<Vec<_>>();
    let b = Value::new(-1.3);
    let _g1 = filler(gap);
    let a = Value::new(0.7);
    let _g2 = filler(gap);
    let c = Value::new(2.1);
    let mut r = Replay::record(1, |v| ((v[0] * a + b) * c + a, vec![])).unwrap();
    assert_eq!(r.shared(), &[a, b, c], "in the order of first use");
    crate::zero_grad(&[a, b, c]);
    let y = r.run(&[[2.0]]);
    assert!((y - ((2.0 * 0.7 - 1.3) * 2.1 + 0.7)).abs() < 1e-15);
    // dy/da = x·c + 1, dy/db = c, dy/dc = x·a + b
    let want = [2.0 * 2.1 + 1.0, 2.1, 2.0 * 0.7 - 1.3];
    for (g, w) in [a, b, c].map(Value::grad).iter().zip(want) {
        assert!((g - w).abs() < 1e-15, "{g} vs {w}");
    }
}

#[test]
fn parameters_made_together_or_far_apart_are_found_alike() {
    // three leaves in a span of 3 take the table, in a span of 10 003 the map
    assert!(matches!(SharedAt::new(0, 3, 4), SharedAt::Dense { .. }));
    assert!(matches!(SharedAt::new(0, 10_003, 4), SharedAt::Sparse(_)));
    far_apart(0);
    far_apart(5_000);
}

/// The forward pass alone, over more rows than a chunk of lanes and not a
/// multiple of it, gives [`Replay::run`]'s values and outputs, and writes
/// no gradient.
#[test]
fn forward_rows_gives_the_runs_values_a_chunk_at_a_time() {
    let (mut r, rows) = recorded();
    let lanes = r.chunk_lanes();
    let many: Vec<[f64; 4]> = rows.iter().cycle().take(2 * lanes + 37).copied().collect();
    let mut got = Vec::new();
    let mut values = Vec::new();
    r.forward_rows(&many, |i, v, out| {
        assert_eq!(i, values.len(), "rows in order");
        values.push(v);
        got.extend_from_slice(out);
    });
    let grads: Vec<f64> = r.shared().iter().map(|p| p.grad()).collect();
    assert!(grads.iter().all(|&g| g == 0.0), "no gradient written");
    let mean = r.run(&many);
    let want: Vec<f64> = (0..many.len()).flat_map(|k| r.output(k).to_vec()).collect();
    use crate::engine::assert_close;
    assert_close(&got, &want);
    let got_mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!((got_mean - mean).abs() <= 1e-12 * mean.abs().max(1.0));
}

/// A batch of more than [`PART_LANES`] rows runs in parts on rayon's
/// threads: the same bits on one thread as on three, and the same numbers
/// as one piece up to the order of summation.
#[test]
fn parts_give_the_same_bits_on_any_number_of_threads() {
    let (mut r, rows) = recorded();
    let many: Vec<[f64; 4]> = rows
        .iter()
        .cycle()
        .take(3 * PART_LANES + 37)
        .copied()
        .collect();
    let run_on = |threads: usize, r: &mut Replay| {
        crate::set_threads(threads).unwrap();
        crate::zero_grad(r.shared());
        let mean = r.run(&many);
        let grads: Vec<f64> = r.shared().iter().map(|p| p.grad()).collect();
        let outs: Vec<f64> = (0..many.len()).flat_map(|k| r.output(k).to_vec()).collect();
        (mean.to_bits(), grads, outs)
    };
    let one = run_on(1, &mut r);
    let three = run_on(3, &mut r);
    crate::set_threads(0).unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(one.0, three.0);
    assert_eq!(bits(&one.1), bits(&three.1));
    assert_eq!(bits(&one.2), bits(&three.2));
    assert_eq!(r.parts.len(), 4);
    // the parts read the shared values in place (raw_read): never written
    let params: Vec<f64> = r.shared().iter().map(|p| p.data()).collect();
    assert_eq!(bits(&r.run.shared_val), bits(&params));
    // one piece: the parts' sums in another order
    let mut whole = r.clone();
    crate::zero_grad(whole.shared());
    load(&mut whole, &many);
    let n = many.len();
    whole.run.passes(n);
    crate::engine::assert_close(&one.1, &whole.run.shared_grad);
    assert!(one.1.iter().any(|&g| g != 0.0));
}

/// A layer of 256 × 256 or wider: its products are split between the
/// cores by matrixmultiply, so the batch runs in one piece, not in parts.
#[test]
fn a_wide_layer_runs_its_batch_in_one_piece() {
    let m = MLP::builder(2, &[256, 256, 1]).seed(3).build();
    let mut r = Replay::record(2, |v| {
        let out = m.forward(v);
        (out[0].pow(2.0), out)
    })
    .unwrap();
    assert!(!r.run.p.splits());
    let rows: Vec<[f64; 2]> = (0..300).map(|i| [f64::from(i).sin(), 0.5]).collect();
    let mean = r.run(&rows);
    assert!(r.parts.is_empty() && mean.is_finite());
    let (narrow, _) = recorded();
    assert!(narrow.run.p.splits());
}
