//! Optimizers: how parameters move once `backward` has filled their gradients.

use std::fmt;
use std::str::FromStr;

use crate::engine::{Handles, Leaves, Value, update_each, update_each_with, zero_grad};

/// Updates parameters from their gradients.
///
/// ```
/// use micrograd::{Optimizer, Sgd, Value};
/// let w = Value::new(1.0);
/// let mut opt = Sgd::new(vec![w], 0.1);
/// for _ in 0..100 {
///     let _step = micrograd::scope();
///     let loss = (w - 3.0).pow(2);
///     opt.zero_grad();
///     loss.backward();
///     opt.step();
/// }
/// assert!((w.data() - 3.0).abs() < 1e-6);
/// ```
pub trait Optimizer {
    /// One update of every parameter.
    fn step(&mut self);
    /// Sets every parameter's gradient to 0.
    fn zero_grad(&self);
    /// The learning rate.
    fn lr(&self) -> f64;
    /// Changes the learning rate (for a schedule).
    fn set_lr(&mut self, lr: f64);

    /// Sets the k-th parameter's gradient to `grads[k]` and updates every
    /// parameter as [`step`](Self::step) does, in one visit to the tape: for
    /// a training loop that has the gradients in hand (a [`Replay`]'s).
    /// Returns `false`, having done nothing, if this optimizer cannot (the
    /// default): then set the gradients and call `step`.
    ///
    /// ```
    /// use micrograd::{Optimizer, Sgd, Value};
    /// let (a, b) = (Value::new(1.0), Value::new(1.0));
    /// let mut opt = Sgd::new(vec![a, b], 0.5);
    /// assert!(opt.step_with_grads(&[2.0, -2.0]));
    /// assert_eq!((a.data(), b.data()), (0.0, 2.0));
    /// assert_eq!(a.grad(), 2.0);
    /// ```
    ///
    /// [`Replay`]: crate::Replay
    fn step_with_grads(&mut self, grads: &[f64]) -> bool {
        let _ = grads;
        false
    }
}

/// Stochastic gradient descent, `p -= lr · grad`, with optional momentum
/// (PyTorch's form: v = μ·v + grad; p -= lr · v).
///
/// ```
/// use micrograd::{Optimizer, Sgd, Value};
/// let w = Value::new(1.0);
/// let mut opt = Sgd::new(vec![w], 0.5).momentum(0.9);
/// (w * 2.0).backward();
/// opt.step();
/// assert_eq!(w.data(), 0.0); // 1 - 0.5·2
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    params: Leaves,
    lr: f64,
    momentum: f64,
    velocity: Vec<f64>,
}

impl Sgd {
    /// Plain SGD over `params` with learning rate `lr`.
    ///
    /// ```
    /// use micrograd::{Optimizer, Sgd, Value};
    /// let p = Value::new(1.0);
    /// let mut opt = Sgd::new(vec![p], 0.5);
    /// p.set_grad(1.0);
    /// opt.step();
    /// assert_eq!(p.data(), 0.5);
    /// ```
    pub fn new(params: Vec<Value>, lr: f64) -> Sgd {
        let n = params.len();
        Sgd {
            params: Leaves::new(params),
            lr,
            momentum: 0.0,
            velocity: vec![0.0; n],
        }
    }

    /// Adds momentum μ (0 = none).
    ///
    /// ```
    /// use micrograd::{Optimizer, Sgd, Value};
    /// let p = Value::new(0.0);
    /// let mut opt = Sgd::new(vec![p], 1.0).momentum(0.5);
    /// p.set_grad(1.0);
    /// opt.step(); // v = 1
    /// opt.step(); // v = 0.5·1 + 1
    /// assert_eq!(p.data(), -2.5);
    /// ```
    pub fn momentum(mut self, mu: f64) -> Sgd {
        self.momentum = mu;
        self
    }

    /// The update of parameter k from its gradient, for `update_each`.
    fn rule(&mut self) -> (&Leaves, impl FnMut(usize, &mut f64, f64)) {
        let (lr, mu, v) = (self.lr, self.momentum, &mut self.velocity);
        let rule = move |k: usize, p: &mut f64, g: f64| {
            let step = if mu == 0.0 {
                g
            } else {
                v[k] = mu * v[k] + g;
                v[k]
            };
            *p -= lr * step;
        };
        (&self.params, rule)
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) {
        let (params, rule) = self.rule();
        update_each(params, rule);
    }

    fn step_with_grads(&mut self, grads: &[f64]) -> bool {
        let (params, rule) = self.rule();
        update_each_with(params, grads, rule);
        true
    }

    fn zero_grad(&self) {
        zero_grad(self.params.values());
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}

/// Adam (Kingma & Ba), with PyTorch's defaults β = (0.9, 0.999), ε = 1e-8.
///
/// ```
/// use micrograd::{Adam, Optimizer, Value};
/// let w = Value::new(1.0);
/// let mut opt = Adam::new(vec![w], 0.1);
/// (w * 2.0).backward();
/// opt.step();
/// assert!((w.data() - 0.9).abs() < 1e-6); // the first step is lr·sign(grad)
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    params: Leaves,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    /// The moment estimates, one of each per parameter: the running mean of
    /// the gradient (m) and of its square (v), before bias correction.
    ///
    /// ```
    /// use micrograd::{Adam, Optimizer, Value};
    /// let p = Value::new(0.0);
    /// let mut opt = Adam::new(vec![p], 0.1);
    /// p.set_grad(2.0);
    /// opt.step();
    /// let (m, v) = opt.moments();
    /// assert!((m[0] - 0.2).abs() < 1e-12 && (v[0] - 0.004).abs() < 1e-12);
    /// ```
    pub fn moments(&self) -> (&[f64], &[f64]) {
        (&self.m, &self.v)
    }

    /// Adam over `params` with learning rate `lr`.
    ///
    /// ```
    /// use micrograd::{Adam, Optimizer, Value};
    /// let p = Value::new(0.0);
    /// let mut opt = Adam::new(vec![p], 0.1);
    /// p.set_grad(-3.0);
    /// opt.step();
    /// assert!((p.data() - 0.1).abs() < 1e-6);
    /// ```
    pub fn new(params: Vec<Value>, lr: f64) -> Adam {
        let n = params.len();
        Adam {
            params: Leaves::new(params),
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    /// Sets β₁ and β₂.
    ///
    /// ```
    /// let opt = micrograd::Adam::new(vec![], 0.01).betas(0.8, 0.99);
    /// # let _ = opt;
    /// ```
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Adam {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// One more step taken, and the update of parameter k from its
    /// gradient in it, for `update_each`.
    fn rule(&mut self) -> (&Leaves, impl FnMut(usize, &mut f64, f64)) {
        self.t = self.t.saturating_add(1);
        let (b1, b2, eps, lr) = (self.beta1, self.beta2, self.eps, self.lr);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        let (m, v) = (&mut self.m, &mut self.v);
        let rule = move |k: usize, p: &mut f64, g: f64| {
            m[k] = b1 * m[k] + (1.0 - b1) * g;
            v[k] = b2 * v[k] + (1.0 - b2) * g * g;
            *p -= lr * (m[k] / c1) / ((v[k] / c2).sqrt() + eps);
        };
        (&self.params, rule)
    }
}

impl Optimizer for Adam {
    fn step(&mut self) {
        let (params, rule) = self.rule();
        update_each(params, rule);
    }

    fn step_with_grads(&mut self, grads: &[f64]) -> bool {
        let (params, rule) = self.rule();
        update_each_with(params, grads, rule);
        true
    }

    fn zero_grad(&self) {
        zero_grad(self.params.values());
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}

/// A learning rate per step.
///
/// ```
/// use micrograd::Schedule;
/// // micrograd's demo: learning_rate = 1.0 - 0.9*k/100
/// let s = Schedule::Linear { start: 1.0, end: 0.1, steps: 100 };
/// assert_eq!(s.lr(0), 1.0);
/// assert!((s.lr(50) - 0.55).abs() < 1e-12);
/// assert!((s.lr(100) - 0.1).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The same rate every step.
    Constant(f64),
    /// From `start` at step 0 to `end` at step `steps`, in a straight line (held after).
    Linear {
        /// Rate at step 0.
        start: f64,
        /// Rate at step `steps` and after.
        end: f64,
        /// Length of the ramp.
        steps: usize,
    },
}

impl Schedule {
    /// The rate for step `k` (from 0).
    ///
    /// ```
    /// assert_eq!(micrograd::Schedule::Constant(0.1).lr(5), 0.1);
    /// ```
    pub fn lr(self, k: usize) -> f64 {
        match self {
            Schedule::Constant(lr) => lr,
            Schedule::Linear { start, end, steps } => {
                let f = (k.min(steps) as f64) / (steps.max(1) as f64);
                start + (end - start) * f
            }
        }
    }
}

/// Which optimizer, by name (for the command line).
///
/// ```
/// use micrograd::OptimizerKind;
/// assert_eq!("adam".parse::<OptimizerKind>().unwrap(), OptimizerKind::Adam);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptimizerKind {
    /// [`Sgd`].
    Sgd,
    /// [`Sgd`] with momentum 0.9.
    Momentum,
    /// [`Adam`].
    Adam,
}

impl OptimizerKind {
    /// Makes the optimizer over `params`.
    ///
    /// ```
    /// use micrograd::{Optimizer, OptimizerKind, Value};
    /// let opt = OptimizerKind::Momentum.build(vec![Value::new(1.0)], 0.1);
    /// assert_eq!(opt.lr(), 0.1);
    /// ```
    pub fn build(self, params: Vec<Value>, lr: f64) -> Box<dyn Optimizer> {
        match self {
            OptimizerKind::Sgd => Box::new(Sgd::new(params, lr)),
            OptimizerKind::Momentum => Box::new(Sgd::new(params, lr).momentum(0.9)),
            OptimizerKind::Adam => Box::new(Adam::new(params, lr)),
        }
    }

    /// The name used on the command line.
    ///
    /// ```
    /// assert_eq!(micrograd::OptimizerKind::Sgd.name(), "sgd");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Adam => "adam",
        }
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "sgd" => Ok(OptimizerKind::Sgd),
            "momentum" => Ok(OptimizerKind::Momentum),
            "adam" => Ok(OptimizerKind::Adam),
            _ => Err(format!(
                "unknown optimizer '{s}' (expected sgd, momentum or adam)"
            )),
        }
    }
}
