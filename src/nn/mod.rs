//! Neural networks on [`Value`]s: the lecture's `Neuron`, `Layer` and `MLP`, the
//! exercises' `Linear`, activations and `Sequential`, and losses.

mod batch;
pub mod io;
mod layers;
pub mod loss;
mod mlp;

use std::fmt;
use std::str::FromStr;

pub use batch::Scorer;
pub use io::onnx::{self, OnnxOptions};
pub use io::{ModelError, ModelFile, Prediction};
pub use layers::{Linear, ReLU, Sequential, Sigmoid, Tanh};
pub use loss::Loss;
pub use mlp::{Layer, MLP, MlpBuilder, Neuron};

use crate::engine::ops::Op;
use crate::engine::{Value, scope};
use crate::rng::Rng;

/// Anything with parameters that maps a vector of values to another: a
/// neuron layer, a whole MLP, an activation, a [`Sequential`] of modules.
///
/// ```
/// use micrograd::{MLP, Module, Value};
/// micrograd::seed(1);
/// let model = MLP::new(3, &[4, 4, 1]);
/// let out = model.forward(&[2.0, 3.0, -1.0].map(Value::new));
/// assert_eq!(out.len(), 1);
/// assert_eq!(model.num_parameters(), 41);
/// ```
pub trait Module: fmt::Display {
    /// The forward pass.
    fn forward(&self, x: &[Value]) -> Vec<Value>;

    /// Every parameter, in micrograd's order: layer by layer, neuron by
    /// neuron, each neuron's weights then its bias.
    fn parameters(&self) -> Vec<Value>;

    /// Sets every parameter's gradient to 0.
    fn zero_grad(&self) {
        crate::engine::zero_grad(&self.parameters());
    }

    /// How many parameters [`parameters`](Module::parameters) returns.
    fn num_parameters(&self) -> usize {
        self.parameters().len()
    }

    /// The parameters' numbers, in [`parameters`](Module::parameters) order.
    fn parameter_data(&self) -> Vec<f64> {
        crate::engine::read_data(&self.parameters())
    }

    /// Sets the parameters from numbers in [`parameters`](Module::parameters)
    /// order, as saved by [`parameter_data`](Module::parameter_data) or
    /// exported from micrograd or PyTorch.
    ///
    /// ```
    /// use micrograd::{MLP, Module};
    /// let a = MLP::new(2, &[3, 1]);
    /// let b = MLP::new(2, &[3, 1]);
    /// b.load_parameters(&a.parameter_data()).unwrap();
    /// assert_eq!(a.parameter_data(), b.parameter_data());
    /// assert!(b.load_parameters(&[1.0]).is_err());
    /// ```
    fn load_parameters(&self, data: &[f64]) -> Result<(), ParameterCountError> {
        let params = self.parameters();
        if params.len() != data.len() {
            return Err(ParameterCountError {
                expected: params.len(),
                got: data.len(),
            });
        }
        crate::engine::update_each(params.as_slice(), |k, d, _| *d = data[k]);
        Ok(())
    }

    /// Runs the model on plain numbers and returns plain numbers; the graph
    /// is built in a [`scope`] and freed before it returns.
    ///
    /// ```
    /// use micrograd::{Module, Tanh};
    /// assert_eq!(Tanh.predict(&[0.0]), vec![0.0]);
    /// ```
    fn predict(&self, x: &[f64]) -> Vec<f64> {
        let _s = scope();
        let x: Vec<Value> = x.iter().map(|&v| Value::new(v)).collect();
        let out = self.forward(&x);
        crate::engine::read_data(&out)
    }
}

/// Writes `open`, the items separated by ", ", then `close`: how micrograd
/// prints a layer (`Layer of [Neuron(nin=2), ...]`) and a model.
pub(crate) fn write_list<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    open: &str,
    items: impl IntoIterator<Item = T>,
    close: &str,
) -> fmt::Result {
    f.write_str(open)?;
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    f.write_str(close)
}

/// [`Module::load_parameters`] got the wrong number of numbers.
///
/// ```
/// use micrograd::{MLP, Module};
/// let e = MLP::new(1, &[1]).load_parameters(&[]).unwrap_err();
/// assert_eq!((e.expected, e.got), (2, 0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterCountError {
    /// How many the model has.
    pub expected: usize,
    /// How many were given.
    pub got: usize,
}

impl fmt::Display for ParameterCountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the model has {} parameters but {} numbers were given",
            self.expected, self.got
        )
    }
}

impl std::error::Error for ParameterCountError {}

/// The nonlinearity after a neuron's weighted sum.
///
/// ```
/// use micrograd::{Activation, Value};
/// assert_eq!(Activation::Relu.apply(Value::new(-2.0)).data(), 0.0);
/// assert_eq!("tanh".parse::<Activation>().unwrap(), Activation::Tanh);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// None: the weighted sum itself (micrograd's output layer).
    Linear,
    /// tanh, as in the lecture.
    Tanh,
    /// relu, as in micrograd's hidden layers.
    Relu,
    /// The logistic sigmoid.
    Sigmoid,
}

impl Activation {
    /// Applies the activation to one value.
    ///
    /// ```
    /// use micrograd::{Activation, Value};
    /// assert_eq!(Activation::Linear.apply(Value::new(-2.0)).data(), -2.0);
    /// ```
    pub fn apply(self, v: Value) -> Value {
        match self {
            Activation::Linear => v,
            Activation::Tanh => v.tanh(),
            Activation::Relu => v.relu(),
            Activation::Sigmoid => v.sigmoid(),
        }
    }

    /// The tape op that applies it, or `None` for linear.
    pub(crate) fn op(self) -> Option<Op> {
        match self {
            Activation::Linear => None,
            Activation::Tanh => Some(Op::Tanh),
            Activation::Relu => Some(Op::Relu),
            Activation::Sigmoid => Some(Op::Sigmoid),
        }
    }

    /// The lower-case name: `linear`, `tanh`, `relu`, `sigmoid`.
    ///
    /// ```
    /// assert_eq!(micrograd::Activation::Relu.name(), "relu");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "linear" | "none" | "identity" => Ok(Activation::Linear),
            "tanh" => Ok(Activation::Tanh),
            "relu" => Ok(Activation::Relu),
            "sigmoid" => Ok(Activation::Sigmoid),
            _ => Err(format!(
                "unknown activation '{s}' (expected linear, tanh, relu or sigmoid)"
            )),
        }
    }
}

/// How a layer's first weights are drawn.
///
/// ```
/// use micrograd::{Init, Rng};
/// let w = Init::Xavier.weight(&mut Rng::new(0), 2, 16);
/// assert!(w.abs() <= (6.0f64 / 18.0).sqrt());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Init {
    /// Weights and biases uniform in [-1, 1), as in micrograd.
    #[default]
    Uniform,
    /// Weights uniform in [-1, 1), biases 0, as in micrograd's `nn.py`.
    Micrograd,
    /// Xavier/Glorot uniform: weights in ±√(6/(nin+nout)), biases 0. Suits tanh.
    Xavier,
    /// He/Kaiming uniform: weights in ±√(6/nin), biases 0. Suits relu.
    He,
}

impl Init {
    /// One weight of a layer with `nin` inputs and `nout` outputs.
    ///
    /// ```
    /// use micrograd::{Init, Rng};
    /// assert!(Init::He.weight(&mut Rng::new(1), 6, 1).abs() <= 1.0);
    /// ```
    pub fn weight(self, rng: &mut Rng, nin: usize, nout: usize) -> f64 {
        let a = match self {
            Init::Uniform | Init::Micrograd => 1.0,
            Init::Xavier => (6.0 / (nin + nout).max(1) as f64).sqrt(),
            Init::He => (6.0 / nin.max(1) as f64).sqrt(),
        };
        rng.uniform(-a, a)
    }

    /// One bias.
    ///
    /// ```
    /// use micrograd::{Init, Rng};
    /// assert_eq!(Init::He.bias(&mut Rng::new(0)), 0.0);
    /// ```
    pub fn bias(self, rng: &mut Rng) -> f64 {
        match self {
            Init::Uniform => rng.uniform(-1.0, 1.0),
            Init::Micrograd | Init::Xavier | Init::He => 0.0,
        }
    }
}

impl FromStr for Init {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "uniform" => Ok(Init::Uniform),
            "micrograd" => Ok(Init::Micrograd),
            "xavier" | "glorot" => Ok(Init::Xavier),
            "he" | "kaiming" => Ok(Init::He),
            _ => Err(format!(
                "unknown init '{s}' (expected uniform, micrograd, xavier or he)"
            )),
        }
    }
}
