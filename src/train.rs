//! A training loop for an [`MLP`] on a [`Dataset`]: forward, loss, zero grad,
//! backward, update, as in the seeds, with the options the command line offers.

use crate::data::Dataset;
use crate::engine::{Value, scope};
use crate::nn::{Loss, MLP, Module, loss};
use crate::optim::{OptimizerKind, Schedule};
use crate::rng::Rng;

/// How to train.
///
/// ```
/// use micrograd::train::TrainConfig;
/// let c = TrainConfig::default(); // micrograd's demo
/// assert_eq!((c.steps, c.batch_size, c.alpha), (100, 0, 1e-4));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// What to minimise.
    pub loss: Loss,
    /// How parameters move.
    pub optimizer: OptimizerKind,
    /// The learning rate per step.
    pub schedule: Schedule,
    /// L2 regularisation strength (micrograd's demo: 1e-4).
    pub alpha: f64,
    /// Optimizer steps.
    pub steps: usize,
    /// Samples per step; 0 = all of them (full batch).
    pub batch_size: usize,
    /// Seed for shuffling mini-batches.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            loss: Loss::Svm,
            optimizer: OptimizerKind::Sgd,
            schedule: Schedule::Linear {
                start: 1.0,
                end: 0.1,
                steps: 100,
            },
            alpha: 1e-4,
            steps: 100,
            batch_size: 0,
            seed: 1337,
        }
    }
}

/// What one step measured, passed to the callback of [`fit`].
///
/// ```
/// use micrograd::{MLP, data, train::{TrainConfig, fit}};
/// let mut last = None;
/// let cfg = TrainConfig { steps: 3, ..TrainConfig::default() };
/// fit(&MLP::new(2, &[4, 1]), &data::xor(), &cfg, |r| last = Some(*r));
/// assert_eq!(last.unwrap().step, 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Step number, from 0.
    pub step: usize,
    /// Loss of this step's batch (regularisation included).
    pub loss: f64,
    /// Accuracy on this step's batch (classification), or `None`.
    pub accuracy: Option<f64>,
    /// Learning rate used.
    pub lr: f64,
}

/// Loss and accuracy per step.
///
/// ```
/// use micrograd::{MLP, data, train::{TrainConfig, fit}};
/// let cfg = TrainConfig { steps: 5, ..TrainConfig::default() };
/// let h = fit(&MLP::new(2, &[4, 1]), &data::xor(), &cfg, |_| {});
/// assert_eq!((h.loss.len(), h.accuracy.len(), h.diverged), (5, 5, None));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Loss per step.
    pub loss: Vec<f64>,
    /// Batch accuracy per step (empty for regression).
    pub accuracy: Vec<f64>,
    /// Set if training stopped because the loss stopped being a finite
    /// number: the step, and where the first NaN or infinity appeared.
    pub diverged: Option<(usize, String)>,
}

/// Trains `model` on `ds`, calling `on_step` after every step.
///
/// Each step runs in its own [`scope`], so memory stays flat however many
/// steps run. Training stops early if the loss is NaN or infinite; the
/// history says where the first non-finite number appeared. Panics if the loss does not suit the data (check first with
/// [`Loss::check`]) or the model's sizes do not.
///
/// ```
/// use micrograd::{Activation, MLP, data, train::{TrainConfig, fit}};
/// let ds = data::moons(100, 0.1, 1337);
/// let model = MLP::builder(2, &[16, 16, 1]).hidden(Activation::Relu)
///     .output(Activation::Linear).init(micrograd::Init::Micrograd).seed(1337).build();
/// let h = fit(&model, &ds, &TrainConfig::default(), |_| {});
/// assert_eq!(h.loss.len(), 100);
/// assert!(h.loss[99] < h.loss[0]);
/// ```
pub fn fit(
    model: &MLP,
    ds: &Dataset,
    cfg: &TrainConfig,
    mut on_step: impl FnMut(&StepReport),
) -> History {
    let params = model.parameters();
    let mut opt = cfg.optimizer.build(params.clone(), cfg.schedule.lr(0));
    let mut rng = Rng::new(cfg.seed);
    let classes = ds.nclasses();
    let mut history = History::default();
    let mut batches = Vec::new().into_iter();
    for step in 0..cfg.steps {
        let batch = match batches.next() {
            Some(b) => b,
            None => {
                batches = ds.batches(cfg.batch_size, &mut rng).into_iter();
                batches.next().unwrap_or_default()
            }
        };
        let _step = scope();
        let outs: Vec<Vec<Value>> = batch
            .iter()
            .map(|&i| {
                let x: Vec<Value> = ds.x[i].iter().map(|&v| Value::new(v)).collect();
                model.forward(&x)
            })
            .collect();
        let y: Vec<f64> = batch.iter().map(|&i| ds.y[i]).collect();
        let mut total = cfg.loss.compute(&outs, &y, classes);
        if cfg.alpha != 0.0 {
            total += loss::l2(&params, cfg.alpha);
        }
        let accuracy = (classes > 0).then(|| accuracy(&outs, &y, cfg.loss, classes));
        if !total.data().is_finite() {
            let at = total
                .find_non_finite()
                .map_or_else(|| "no node found".to_owned(), |n| n.to_string());
            history.diverged = Some((step, at));
            break;
        }
        let lr = cfg.schedule.lr(step);
        opt.set_lr(lr);
        opt.zero_grad();
        total.backward();
        opt.step();

        let report = StepReport {
            step,
            loss: total.data(),
            accuracy,
            lr,
        };
        history.loss.push(report.loss);
        if let Some(a) = accuracy {
            history.accuracy.push(a);
        }
        on_step(&report);
    }
    history
}

/// What a model scores on a data set; see [`evaluate`].
///
/// ```
/// use micrograd::{Loss, MLP, data, train::evaluate};
/// let e = evaluate(&MLP::new(3, &[2, 1]), &data::toy(), Loss::Mse);
/// assert!(e.accuracy.is_none() && e.loss >= 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss (without regularisation).
    pub loss: f64,
    /// Accuracy (classification), or `None`.
    pub accuracy: Option<f64>,
}

/// Loss and accuracy of `model` on `ds`, in one scope.
///
/// ```
/// use micrograd::{Loss, MLP, data, train::evaluate};
/// let ds = data::xor();
/// let e = evaluate(&MLP::new(2, &[3, 1]), &ds, Loss::Mse);
/// assert!(e.accuracy.unwrap() <= 1.0);
/// ```
pub fn evaluate(model: &MLP, ds: &Dataset, loss: Loss) -> Evaluation {
    let _s = scope();
    let classes = ds.nclasses();
    let outs: Vec<Vec<Value>> =
        ds.x.iter()
            .map(|x| {
                let x: Vec<Value> = x.iter().map(|&v| Value::new(v)).collect();
                model.forward(&x)
            })
            .collect();
    let l = loss.compute(&outs, &ds.y, classes).data();
    let accuracy = (classes > 0).then(|| accuracy(&outs, &ds.y, loss, classes));
    Evaluation { loss: l, accuracy }
}

/// The fraction of outputs whose predicted class is the target.
fn accuracy(outs: &[Vec<Value>], y: &[f64], loss: Loss, classes: usize) -> f64 {
    let right = outs
        .iter()
        .zip(y)
        .filter(|(o, t)| {
            let o: Vec<f64> = o.iter().map(|v| v.data()).collect();
            loss.predict(&o, classes) == **t
        })
        .count();
    right as f64 / y.len().max(1) as f64
}
