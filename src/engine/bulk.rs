//! Many values read or written in one visit to the tape: how optimizers,
//! the replay and the networks move parameters without a borrow per value.

use super::leaves::Handles;
use super::tape::{self, Op};
use super::value::Value;

/// The data of each value, read in one visit to the tape.
pub(crate) fn read_data(values: &[Value]) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len());
    read_data_into(values, &mut out);
    out
}

/// As [`read_data`], into `out` (cleared first), keeping its allocation.
pub(crate) fn read_data_into(handles: &(impl Handles + ?Sized), out: &mut Vec<f64>) {
    let values = handles.values();
    tape::with(|t| {
        let run = handles.checked_run(t);
        if t.recording() {
            values.iter().for_each(|v| t.note_read(v.idx as usize));
        }
        out.clear();
        match run {
            Some(i) => out.extend_from_slice(&t.data[i..i + values.len()]),
            None => out.extend(values.iter().map(|v| t.data[v.idx as usize])),
        }
    })
}

/// Calls `f(k, &mut data, grad)` for the k-th value, in one visit to the tape:
/// how optimizers update parameters.
pub(crate) fn update_each(
    handles: &(impl Handles + ?Sized),
    mut f: impl FnMut(usize, &mut f64, f64),
) {
    let values = handles.values();
    tape::with(|t| {
        if let Some(i) = handles.checked_run(t) {
            let r = i..i + values.len();
            let gs = t.grad[r.clone()].iter().map(|&g| tape::grad_or_zero(g));
            for (k, (p, g)) in t.data[r].iter_mut().zip(gs).enumerate() {
                f(k, p, g);
            }
            return;
        }
        for (k, v) in values.iter().enumerate() {
            let i = v.idx as usize;
            let g = t.grad_of(v.idx);
            f(k, &mut t.data[i], g);
        }
    })
}

/// Sets the k-th value's gradient to `grads[k]`, then calls `f(k, &mut data,
/// grads[k])`, in one visit to the tape: an optimizer's step when the
/// gradients are in hand (a replay's), not yet on the tape.
pub(crate) fn update_each_with(
    handles: &(impl Handles + ?Sized),
    grads: &[f64],
    mut f: impl FnMut(usize, &mut f64, f64),
) {
    let values = handles.values();
    assert_eq!(
        values.len(),
        grads.len(),
        "micrograd: {} gradients for {} parameters",
        grads.len(),
        values.len()
    );
    tape::with(|t| {
        if let Some(i) = handles.checked_run(t) {
            let r = i..i + values.len();
            t.write_grads_with(r, grads, f);
            return;
        }
        for (k, (v, &g)) in values.iter().zip(grads).enumerate() {
            let i = v.idx as usize;
            t.write_grad(i, g);
            f(k, &mut t.data[i], g);
        }
    })
}

/// Adds `f(data)` to each leaf's gradient, in one visit to the tape (leaves
/// accumulate, as after `backward`).
pub(crate) fn add_to_grads(leaves: &[Value], mut f: impl FnMut(f64) -> f64) {
    tape::with(|t| {
        t.check_all(leaves);
        for v in leaves {
            let i = v.idx as usize;
            debug_assert!(t.op[i] == Op::Leaf, "gradients are added to leaves only");
            let g = t.grad_of(i as u32);
            t.grad[i] = g + f(t.data[i]);
        }
    })
}
