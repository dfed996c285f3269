//! # micrograd
//!
//! A scalar-valued reverse-mode autograd engine and a small neural-network
//! library, after Andrej Karpathy's [micrograd](https://github.com/karpathy/micrograd):
//! small enough to read in an afternoon, fast enough to train on. "The
//! lecture" in these docs is his video that builds micrograd line by line,
//! [*The spelled-out intro to neural networks and backpropagation*](https://www.youtube.com/watch?v=VMj-3S1tku0);
//! names and numbers here follow it.
//!
//! # A tour
//!
//! **[`Value`]** is a scalar in an expression graph. Build expressions with
//! ordinary operators, with no `&` and no `.clone()`, then call
//! [`backward`](Value::backward):
//!
//! ```
//! use micrograd::Value;
//!
//! let x1 = Value::new(2.0).with_label("x1");
//! let w1 = Value::new(-3.0).with_label("w1");
//! let x2 = Value::new(0.0).with_label("x2");
//! let w2 = Value::new(1.0).with_label("w2");
//! let b = Value::new(6.8813735870195432).with_label("b");
//! let n = x1*w1 + x2*w2 + b;
//! let o = n.tanh();
//! o.backward();
//! assert!((x1.grad() - -1.5).abs() < 1e-12); // do/dx1
//! ```
//!
//! Ops: `+ - * /` between values and with `f64` on either side, unary `-`,
//! `+= -= *= /=`, [`pow`](Value::pow) (by a number or a `Value`),
//! [`exp`](Value::exp), [`ln`](Value::ln), [`tanh`](Value::tanh),
//! [`relu`](Value::relu), [`sigmoid`](Value::sigmoid),
//! [`softplus`](Value::softplus), and, each as one node with many children,
//! [`Value::sum`], [`Value::dot`], [`Value::affine`], [`Value::logsumexp`].
//!
//! **How it works.** Every value lives on a per-thread *tape*, in creation
//! order, which is already a topological order: `backward` is one loop down
//! the tape, each node's local derivatives taken from the one place every
//! op's rules are written (`src/engine/ops.rs`). There is no recursion anywhere, so a graph of
//! 10^7 nodes back-propagates on a 2 MiB stack. A `Value` is a 16-byte `Copy`
//! handle (where its node is, and a copy of its number, so that a chain of
//! ops keeps its numbers in registers); it is tied to its thread (not `Send`).
//!
//! **Scopes** keep a training loop in flat memory: values made inside a
//! [`scope`] are freed when it ends, values made before it (the parameters)
//! live on. One line per step:
//!
//! ```
//! use micrograd::{MLP, Module, Value, scope};
//! let model = MLP::new(3, &[4, 4, 1]);
//! for _ in 0..10 {
//!     let _step = scope();
//!     let y = model.forward(&[2.0, 3.0, -1.0].map(Value::new))[0];
//!     let loss = (y - 1.0).pow(2);
//!     model.zero_grad();
//!     loss.backward();
//!     for p in model.parameters() {
//!         p.set_data(p.data() - 0.05 * p.grad());
//!     }
//! }
//! ```
//!
//! Using a value after its scope ended panics with a message saying so; it
//! never reads another node's number.
//!
//! **Numbers** are IEEE `f64`: NaN and infinity propagate through every op
//! and gradient, as in PyTorch; [`Value::find_non_finite`] finds where the
//! first one appeared. [`gradcheck`] compares `backward` with finite
//! differences.
//!
//! # Modules
//!
//! | module | what it holds |
//! |---|---|
//! | [`engine`] | [`Value`], its ops, `backward`, scopes, gradient checking |
//! | [`nn`] | [`Neuron`], [`Layer`], [`MLP`], [`Linear`], [`Tanh`]/[`ReLU`]/[`Sigmoid`], [`Sequential`], losses, model files |
//! | [`optim`] | [`Sgd`] (with momentum), [`Adam`], learning-rate [`Schedule`]s |
//! | [`data`] | the toy set, XOR, moons, circles, spiral; CSV tables and their preprocessing; splits and batches |
//! | [`train`] | a training loop with early stopping and divergence checks, and evaluation |
//! | [`metrics`] | confusion matrix, precision, recall; MSE, MAE, R² |
//! | [`viz`] | micrograd's `draw_dot` as DOT and SVG; loss, decision-boundary and confusion-matrix plots |
//! | [`expr`] | expressions as text, for `micrograd grad` |
//! | [`text`] | how numbers and names are written in messages |
//! | [`page`] | the teaching page and its JSON API, for `micrograd serve` and the static site |
//! | [`files`] | reading and writing files: regular files only, whole writes |
//!
//! The `micrograd` command (feature `cli`, on by default) is a thin layer
//! over these: `cargo run --release` trains micrograd's moons demo.
#![deny(missing_docs)]

pub mod data;
pub mod engine;
pub mod expr;
pub mod files;
pub mod metrics;
pub mod nn;
pub mod optim;
pub mod page;
mod rng;
pub mod text;
pub mod train;
pub mod viz;

pub use engine::{
    Exponent, GradCheck, GradMismatch, GradReport, NonFinite, Replay, ReplayError, Scope,
    TapeStats, Value, compact, gradcheck, numerical_grad, scope, set_threads, stats, threads,
    zero_grad,
};
pub use nn::{
    Activation, Init, Layer, Linear, Loss, MLP, MlpBuilder, Module, Neuron, ReLU, Sequential,
    Sigmoid, Tanh,
};
pub use optim::{Adam, Optimizer, OptimizerKind, Schedule, Sgd};
pub use rng::{Rng, seed};
