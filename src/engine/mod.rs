//! The autograd engine: [`Value`], its ops, [`Value::backward`], scopes and checks.

mod backward;
mod bulk;
mod compact;
mod gemm;
mod gradcheck;
mod leaves;
mod many;
mod operators;
pub(crate) mod ops;
mod replay;
mod scope;
mod stats;
pub(crate) mod tape;
mod threads;
mod trace;
mod value;

pub use backward::{NonFinite, zero_grad};
pub(crate) use bulk::{add_to_grads, read_data, update_each, update_each_with};
pub use compact::compact;
pub use gradcheck::{GradCheck, GradMismatch, GradReport, gradcheck, numerical_grad};
pub(crate) use leaves::{Handles, Leaves};
pub(crate) use many::affine_layer;
pub use operators::Exponent;
pub(crate) use ops::sigmoid as value_sigmoid;
pub use replay::{Replay, ReplayError};
pub use scope::{Scope, scope};
pub use stats::{TapeStats, stats};
pub use threads::{set_threads, threads};
pub use trace::GraphNode;
pub use value::Value;

/// Asserts that two lists of numbers agree entry by entry to 1e-12
/// relative (plus 1e-12 absolute near zero): the tests' "the same up to
/// the order of summation".
#[cfg(test)]
pub(crate) fn assert_close(x: &[f64], y: &[f64]) {
    assert_eq!(x.len(), y.len());
    for (i, (x, y)) in x.iter().zip(y).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
            "entry {i}: {x} against {y}"
        );
    }
}
