//! Layers as PyTorch builds them: `Linear` and activations as modules of their own,
//! and a model built as a list of modules.

use std::fmt;

use super::{Activation, Init, Layer, Module, write_list};
use crate::engine::Value;
use crate::rng::with_global;

/// A fully connected layer with no activation: `nout` outputs w·x + b.
///
/// ```
/// use micrograd::{Linear, Module, Value};
/// let l = Linear::new(2, 4);
/// assert_eq!(l.forward(&[1.0, 2.0].map(Value::new)).len(), 4);
/// assert_eq!(l.num_parameters(), 12);
/// assert_eq!(Linear::without_bias(4, 4).num_parameters(), 16);
/// assert_eq!(l.to_string(), "Linear(nin=2, nout=4)");
/// ```
#[derive(Clone, Debug)]
pub struct Linear {
    /// The neurons (all with [`Activation::Linear`]).
    pub layer: Layer,
}

impl Linear {
    /// With biases; weights and biases uniform in [-1, 1) from this thread's generator.
    ///
    /// ```
    /// use micrograd::{Linear, Module};
    /// assert_eq!(Linear::new(3, 2).num_parameters(), 8);
    /// ```
    pub fn new(nin: usize, nout: usize) -> Linear {
        Linear::with_bias(nin, nout, true)
    }

    /// Without biases, as PyTorch's `Linear(4, 4, bias=False)`.
    ///
    /// ```
    /// use micrograd::{Linear, Module};
    /// assert_eq!(Linear::without_bias(4, 4).num_parameters(), 16);
    /// ```
    pub fn without_bias(nin: usize, nout: usize) -> Linear {
        Linear::with_bias(nin, nout, false)
    }

    /// With or without biases.
    ///
    /// ```
    /// use micrograd::{Linear, Module};
    /// assert_eq!(Linear::with_bias(3, 2, false).num_parameters(), 6);
    /// ```
    pub fn with_bias(nin: usize, nout: usize, bias: bool) -> Linear {
        let layer =
            with_global(|rng| Layer::with(nin, nout, Activation::Linear, bias, Init::Uniform, rng));
        Linear { layer }
    }

    /// Whether the outputs have biases.
    ///
    /// ```
    /// assert!(!micrograd::Linear::without_bias(2, 2).has_bias());
    /// ```
    pub fn has_bias(&self) -> bool {
        self.layer.neurons.first().is_some_and(|n| n.b.is_some())
    }
}

impl Module for Linear {
    fn forward(&self, x: &[Value]) -> Vec<Value> {
        self.layer.forward(x)
    }

    fn parameters(&self) -> Vec<Value> {
        self.layer.parameters()
    }
}

impl fmt::Display for Linear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bias = if self.has_bias() { "" } else { ", bias=False" };
        write!(
            f,
            "Linear(nin={}, nout={}{bias})",
            self.layer.nin(),
            self.layer.nout()
        )
    }
}

macro_rules! activation_module {
    ($(#[$doc:meta])* $name:ident, $act:expr, $shown:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl Module for $name {
            fn forward(&self, x: &[Value]) -> Vec<Value> {
                x.iter().map(|&v| $act.apply(v)).collect()
            }

            fn parameters(&self) -> Vec<Value> {
                Vec::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($shown)
            }
        }
    };
}

activation_module!(
    /// tanh of every input, as a module.
    ///
    /// ```
    /// use micrograd::{Module, Tanh};
    /// assert_eq!(Tanh.predict(&[0.0, 100.0]), vec![0.0, 1.0]);
    /// ```
    Tanh,
    Activation::Tanh,
    "Tanh"
);
activation_module!(
    /// relu of every input, as a module.
    ///
    /// ```
    /// use micrograd::{Module, ReLU};
    /// assert_eq!(ReLU.predict(&[-1.0, 2.0]), vec![0.0, 2.0]);
    /// ```
    ReLU,
    Activation::Relu,
    "ReLU"
);
activation_module!(
    /// The logistic sigmoid of every input, as a module.
    ///
    /// ```
    /// use micrograd::{Module, Sigmoid};
    /// assert_eq!(Sigmoid.predict(&[0.0]), vec![0.5]);
    /// ```
    Sigmoid,
    Activation::Sigmoid,
    "Sigmoid"
);

/// A model built as a list of modules, each fed the previous one's output
/// (PyTorch's `nn.Sequential`).
///
/// ```
/// use micrograd::{Linear, Module, Sequential, Tanh, Value};
/// // model = [Linear(2, 4), Linear(4, 4, bias=False), Linear(4, 3), Tanh(3)]
/// let model = Sequential::new(vec![
///     Box::new(Linear::new(2, 4)),
///     Box::new(Linear::without_bias(4, 4)),
///     Box::new(Linear::new(4, 3)),
///     Box::new(Tanh),
/// ]);
/// let y = model.forward(&[1.0, -1.0].map(Value::new));
/// assert_eq!(y.len(), 3);
/// assert_eq!(model.num_parameters(), 12 + 16 + 15);
/// ```
#[derive(Default)]
pub struct Sequential {
    /// The modules, in order.
    pub modules: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// A model made of `modules`, applied in order.
    ///
    /// ```
    /// use micrograd::{Linear, Module, ReLU, Sequential};
    /// let m = Sequential::new(vec![Box::new(Linear::new(2, 3)), Box::new(ReLU)]);
    /// assert_eq!(m.predict(&[1.0, 1.0]).len(), 3);
    /// ```
    pub fn new(modules: Vec<Box<dyn Module>>) -> Sequential {
        Sequential { modules }
    }

    /// Appends a module and returns the model, for chaining.
    ///
    /// ```
    /// use micrograd::{Linear, Module, ReLU, Sequential};
    /// let m = Sequential::default().push(Linear::new(2, 8)).push(ReLU).push(Linear::new(8, 1));
    /// assert_eq!(m.to_string(), "Sequential([Linear(nin=2, nout=8), ReLU, Linear(nin=8, nout=1)])");
    /// ```
    pub fn push(mut self, m: impl Module + 'static) -> Sequential {
        self.modules.push(Box::new(m));
        self
    }
}

impl Module for Sequential {
    fn forward(&self, x: &[Value]) -> Vec<Value> {
        let mut x = x.to_vec();
        for m in &self.modules {
            x = m.forward(&x);
        }
        x
    }

    fn parameters(&self) -> Vec<Value> {
        self.modules.iter().flat_map(|m| m.parameters()).collect()
    }
}

impl fmt::Display for Sequential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, "Sequential([", &self.modules, "])")
    }
}
