//! `Neuron`, `Layer`, `MLP`: the lecture's multi-layer perceptron.

use std::fmt;

use super::{Activation, Init, Module, write_list};
use crate::engine::{Value, affine_layer};
use crate::rng::{Rng, with_global};

/// One neuron: act(w·x + b), computed as a single [`Value::affine`] node.
///
/// ```
/// use micrograd::{Module, Neuron, Value};
/// micrograd::seed(0);
/// let n = Neuron::new(2);
/// let out = n.call(&[2.0, 3.0].map(Value::new));
/// assert!(out.data().abs() < 1.0); // tanh
/// assert_eq!(n.to_string(), "Neuron(nin=2)");
/// assert_eq!(n.parameters().len(), 3);
/// ```
#[derive(Clone, Debug)]
pub struct Neuron {
    /// One weight per input.
    pub w: Vec<Value>,
    /// The bias, if the neuron has one.
    pub b: Option<Value>,
    /// Applied to w·x + b.
    pub act: Activation,
}

impl Neuron {
    /// `nin` weights and a bias, uniform in [-1, 1), tanh: the lecture's neuron.
    /// Draws from this thread's generator (see [`seed`](crate::seed)).
    ///
    /// ```
    /// let n = micrograd::Neuron::new(3);
    /// assert_eq!(n.w.len(), 3);
    /// assert!(n.b.is_some());
    /// ```
    pub fn new(nin: usize) -> Neuron {
        with_global(|rng| Neuron::with(nin, Activation::Tanh, true, Init::Uniform, rng))
    }

    /// A neuron with a chosen activation, with or without a bias, and
    /// initialisation.
    ///
    /// ```
    /// use micrograd::{Activation, Init, Module, Neuron, Rng};
    /// let n = Neuron::with(3, Activation::Relu, false, Init::He, &mut Rng::new(1));
    /// assert_eq!(n.parameters().len(), 3);
    /// assert!(n.b.is_none());
    /// ```
    pub fn with(nin: usize, act: Activation, bias: bool, init: Init, rng: &mut Rng) -> Neuron {
        Neuron::init(nin, 1, act, bias, init, rng)
    }

    fn init(
        nin: usize,
        nout: usize,
        act: Activation,
        bias: bool,
        init: Init,
        rng: &mut Rng,
    ) -> Neuron {
        let w = (0..nin)
            .map(|_| Value::new(init.weight(rng, nin, nout)))
            .collect();
        let b = bias.then(|| Value::new(init.bias(rng)));
        Neuron { w, b, act }
    }

    /// act(w·x + b) for one input vector.
    ///
    /// ```
    /// use micrograd::{Activation, Neuron, Value};
    /// let n = Neuron { w: vec![Value::new(2.0)], b: Some(Value::new(-1.0)), act: Activation::Relu };
    /// assert_eq!(n.call(&[Value::new(3.0)]).data(), 5.0);
    /// ```
    pub fn call(&self, x: &[Value]) -> Value {
        // act(Value::affine(&self.w, x, b)), made in one visit to the tape
        let row = (self.w.as_slice(), self.b, self.act.op());
        affine_layer(std::iter::once(row), x)[0]
    }
}

impl Module for Neuron {
    fn forward(&self, x: &[Value]) -> Vec<Value> {
        vec![self.call(x)]
    }

    fn parameters(&self) -> Vec<Value> {
        self.w.iter().copied().chain(self.b).collect()
    }
}

impl fmt::Display for Neuron {
    /// `Neuron(nin=2)` for the lecture's tanh neuron; `ReLUNeuron(nin=2)`,
    /// `LinearNeuron(nin=2)`, `SigmoidNeuron(nin=2)` otherwise, as micrograd names them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.act {
            Activation::Tanh => "",
            Activation::Relu => "ReLU",
            Activation::Linear => "Linear",
            Activation::Sigmoid => "Sigmoid",
        };
        let bias = if self.b.is_some() { "" } else { ", bias=False" };
        write!(f, "{kind}Neuron(nin={}{bias})", self.w.len())
    }
}

/// `nout` neurons that all see the same inputs.
///
/// ```
/// use micrograd::{Layer, Module, Value};
/// let layer = Layer::new(3, 4);
/// let out = layer.forward(&[1.0, -2.0, 5.0].map(Value::new));
/// assert_eq!(out.len(), 4);
/// assert_eq!(layer.num_parameters(), 16);
/// ```
#[derive(Clone, Debug)]
pub struct Layer {
    /// The neurons, in output order.
    pub neurons: Vec<Neuron>,
}

impl Layer {
    /// `nout` tanh neurons with `nin` inputs each, as in the lecture.
    ///
    /// ```
    /// assert_eq!(micrograd::Layer::new(2, 3).neurons.len(), 3);
    /// ```
    pub fn new(nin: usize, nout: usize) -> Layer {
        with_global(|rng| Layer::with(nin, nout, Activation::Tanh, true, Init::Uniform, rng))
    }

    /// A layer with a chosen activation, bias flag and initialisation.
    ///
    /// ```
    /// use micrograd::{Activation, Init, Layer, Module, Rng};
    /// let l = Layer::with(2, 3, Activation::Linear, false, Init::Xavier, &mut Rng::new(0));
    /// assert_eq!(l.num_parameters(), 6);
    /// ```
    pub fn with(
        nin: usize,
        nout: usize,
        act: Activation,
        bias: bool,
        init: Init,
        rng: &mut Rng,
    ) -> Layer {
        let neurons = (0..nout)
            .map(|_| Neuron::init(nin, nout, act, bias, init, rng))
            .collect();
        Layer { neurons }
    }

    /// Inputs each neuron takes.
    ///
    /// ```
    /// assert_eq!(micrograd::Layer::new(3, 2).nin(), 3);
    /// ```
    pub fn nin(&self) -> usize {
        self.neurons.first().map_or(0, |n| n.w.len())
    }

    /// Number of neurons (outputs).
    ///
    /// ```
    /// assert_eq!(micrograd::Layer::new(3, 2).nout(), 2);
    /// ```
    pub fn nout(&self) -> usize {
        self.neurons.len()
    }
}

impl Module for Layer {
    fn forward(&self, x: &[Value]) -> Vec<Value> {
        // each neuron's call(x), made in one visit to the tape
        let rows = self
            .neurons
            .iter()
            .map(|n| (n.w.as_slice(), n.b, n.act.op()));
        affine_layer(rows, x)
    }

    fn parameters(&self) -> Vec<Value> {
        self.neurons.iter().flat_map(|n| n.parameters()).collect()
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, "Layer of [", &self.neurons, "]")
    }
}

/// A multi-layer perceptron: layers of sizes `nouts`, after `nin` inputs.
///
/// ```
/// use micrograd::{MLP, Module, Value};
/// micrograd::seed(0);
/// let model = MLP::new(2, &[3, 3, 1]);
/// assert_eq!(
///     model.to_string(),
///     "MLP of [Layer of [Neuron(nin=2), Neuron(nin=2), Neuron(nin=2)], \
///      Layer of [Neuron(nin=3), Neuron(nin=3), Neuron(nin=3)], Layer of [Neuron(nin=3)]]"
/// );
/// let y = model.forward(&[1.0, 2.0].map(Value::new));
/// assert_eq!(y.len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct MLP {
    /// The layers, input side first.
    pub layers: Vec<Layer>,
}

impl MLP {
    /// tanh everywhere, with biases, uniform(-1, 1) weights: the lecture's MLP.
    /// Draws from this thread's generator (see [`seed`](crate::seed)).
    ///
    /// ```
    /// use micrograd::{MLP, Module};
    /// assert_eq!(MLP::new(3, &[4, 4, 1]).num_parameters(), 41);
    /// ```
    pub fn new(nin: usize, nouts: &[usize]) -> MLP {
        MLP::builder(nin, nouts).build()
    }

    /// Choose activations, bias, initialisation and seed:
    ///
    /// ```
    /// use micrograd::{Activation, MLP, Module};
    /// // micrograd's demo model: relu hidden layers, a linear output
    /// let model = MLP::builder(2, &[16, 16, 1])
    ///     .hidden(Activation::Relu)
    ///     .output(Activation::Linear)
    ///     .seed(1337)
    ///     .build();
    /// assert_eq!(model.num_parameters(), 337);
    /// ```
    pub fn builder(nin: usize, nouts: &[usize]) -> MlpBuilder {
        MlpBuilder {
            nin,
            nouts: nouts.to_vec(),
            hidden: Activation::Tanh,
            output: Activation::Tanh,
            bias: true,
            init: Init::Uniform,
            seed: None,
        }
    }

    /// Number of inputs.
    ///
    /// ```
    /// assert_eq!(micrograd::MLP::new(3, &[4, 1]).nin(), 3);
    /// ```
    pub fn nin(&self) -> usize {
        self.layers.first().map_or(0, Layer::nin)
    }

    /// Number of outputs.
    ///
    /// ```
    /// assert_eq!(micrograd::MLP::new(3, &[4, 2]).nout(), 2);
    /// ```
    pub fn nout(&self) -> usize {
        self.layers.last().map_or(0, Layer::nout)
    }
}

impl Module for MLP {
    fn forward(&self, x: &[Value]) -> Vec<Value> {
        let mut x = x.to_vec();
        for layer in &self.layers {
            x = layer.forward(&x);
        }
        x
    }

    fn parameters(&self) -> Vec<Value> {
        self.layers.iter().flat_map(|l| l.parameters()).collect()
    }
}

impl fmt::Display for MLP {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, "MLP of [", &self.layers, "]")
    }
}

/// Options for an [`MLP`]; made by [`MLP::builder`].
///
/// ```
/// use micrograd::{Activation, Init, MLP, Module};
/// let m = MLP::builder(2, &[8, 1])
///     .hidden(Activation::Tanh)  // every layer but the last
///     .output(Activation::Linear)
///     .bias(false)
///     .init(Init::Xavier)
///     .seed(42)
///     .build();
/// assert_eq!(m.num_parameters(), 2 * 8 + 8);
/// assert_eq!(m.layers[1].neurons[0].act, Activation::Linear);
/// ```
#[derive(Clone, Debug)]
pub struct MlpBuilder {
    nin: usize,
    nouts: Vec<usize>,
    hidden: Activation,
    output: Activation,
    bias: bool,
    init: Init,
    seed: Option<u64>,
}

impl MlpBuilder {
    /// Activation of every layer but the last (default tanh).
    ///
    /// ```
    /// use micrograd::{Activation, MLP};
    /// let m = MLP::builder(1, &[2, 1]).hidden(Activation::Relu).build();
    /// assert_eq!(m.layers[0].neurons[0].act, Activation::Relu);
    /// ```
    pub fn hidden(mut self, act: Activation) -> Self {
        self.hidden = act;
        self
    }

    /// Activation of the last layer (default tanh).
    ///
    /// ```
    /// use micrograd::{Activation, MLP};
    /// let m = MLP::builder(1, &[2, 1]).output(Activation::Linear).build();
    /// assert_eq!(m.layers[1].neurons[0].act, Activation::Linear);
    /// ```
    pub fn output(mut self, act: Activation) -> Self {
        self.output = act;
        self
    }

    /// Whether neurons have biases (default true).
    ///
    /// ```
    /// use micrograd::{MLP, Module};
    /// assert_eq!(MLP::builder(2, &[1]).bias(false).build().num_parameters(), 2);
    /// ```
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Weight initialisation (default uniform(-1, 1)).
    ///
    /// ```
    /// use micrograd::{Init, MLP};
    /// let m = MLP::builder(2, &[3]).init(Init::He).build();
    /// assert_eq!(m.layers[0].neurons[0].b.unwrap().data(), 0.0);
    /// ```
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Draw weights from `Rng::new(seed)` instead of this thread's generator.
    ///
    /// ```
    /// use micrograd::{MLP, Module};
    /// let w = |s| MLP::builder(2, &[2]).seed(s).build().parameter_data();
    /// assert_eq!(w(1), w(1));
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Makes the model.
    ///
    /// ```
    /// use micrograd::{MLP, Module};
    /// let a = MLP::builder(2, &[4, 1]).seed(7).build();
    /// let b = MLP::builder(2, &[4, 1]).seed(7).build();
    /// assert_eq!(a.parameter_data(), b.parameter_data());
    /// ```
    pub fn build(self) -> MLP {
        let make = |rng: &mut Rng| {
            let mut sizes = vec![self.nin];
            sizes.extend(&self.nouts);
            let last = self.nouts.len().saturating_sub(1);
            let layers = sizes
                .windows(2)
                .enumerate()
                .map(|(i, w)| {
                    let act = if i == last { self.output } else { self.hidden };
                    Layer::with(w[0], w[1], act, self.bias, self.init, rng)
                })
                .collect();
            MLP { layers }
        };
        match self.seed {
            Some(s) => make(&mut Rng::new(s)),
            None => with_global(make),
        }
    }
}
