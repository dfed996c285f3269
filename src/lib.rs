//! # micrograd
//!
//! A scalar-valued reverse-mode autograd engine and a small neural-network
//! library, after Andrej Karpathy's [micrograd](https://github.com/karpathy/micrograd).
#![deny(missing_docs)]

pub mod data;
pub mod engine;
pub mod expr;
pub mod nn;
pub mod optim;
mod rng;
pub mod train;
pub mod viz;

pub use engine::{
    Exponent, GradCheck, GradMismatch, GradReport, NonFinite, Scope, TapeStats, Value, gradcheck,
    numerical_grad, scope, stats, zero_grad,
};
pub use nn::{
    Activation, Init, Layer, Linear, Loss, MLP, MlpBuilder, Module, Neuron, ReLU, Sequential,
    Sigmoid, Tanh,
};
pub use optim::{Adam, Optimizer, OptimizerKind, Schedule, Sgd};
pub use rng::{Rng, seed};

/// Writes `bytes` to `path` through a temporary file beside it and a rename:
/// readers never see a half-written file, and a failure leaves none behind.
/// Every file this crate writes goes through it.
///
/// ```
/// let p = std::env::temp_dir().join(format!("mg-doc-atomic-{}.txt", std::process::id()));
/// micrograd::write_atomic(&p, b"hello").unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"hello");
/// let err = micrograd::write_atomic("/no/such/dir/x.txt".as_ref(), b"").unwrap_err();
/// assert!(err.starts_with("/no/such/dir/x.txt: cannot write"));
/// ```
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: cannot write: {e}", path.display())
        })
}
