//! # micrograd
//!
//! A scalar-valued reverse-mode autograd engine and a small neural-network
//! library, after Andrej Karpathy's [micrograd](https://github.com/karpathy/micrograd).
#![deny(missing_docs)]

pub mod data;
pub mod engine;
pub mod nn;
pub mod optim;
mod rng;

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
