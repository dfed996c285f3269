//! # micrograd
//!
//! A scalar-valued reverse-mode autograd engine and a small neural-network
//! library, after Andrej Karpathy's [micrograd](https://github.com/karpathy/micrograd).
#![deny(missing_docs)]

pub mod engine;

pub use engine::{
    Exponent, GradCheck, GradMismatch, GradReport, NonFinite, Scope, TapeStats, Value, gradcheck,
    numerical_grad, scope, stats, zero_grad,
};
