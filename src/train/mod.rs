//! A training loop for an [`MLP`] on a [`Dataset`]: forward, loss, zero grad,
//! backward, update, as in the lecture, with the options the command line offers.

use std::fmt;

mod cv;
mod cv_report;
mod evaluate;
pub mod importance;
mod recipe;
mod refit;
mod report;
pub mod report_html;

pub use cv::{
    CrossValidation, CvError, CvPlan, CvSetup, DEFAULT_FOLDS, Fold, Holdout, MAX_DEFAULT_ROWS,
    MIN_TEST_ROWS, TEST_FRACTION, cross_validate,
};
pub use cv_report::Spread;
pub use evaluate::{Evaluation, evaluate, evaluate_with};
pub use importance::{ColumnImportance, Importance, Measured};
pub use recipe::{Choices, ClassWeight, DataKind, MAX_STEPS, Recipe, RecipeError};
pub use refit::{Refit, fit_recipe};
pub use report::{Scores, Timings};

use crate::data::Dataset;
use crate::engine::{Replay, Value, scope};
use crate::nn::{Loss, MLP, Module, loss};
use crate::optim::{Optimizer, OptimizerKind, Schedule};
use crate::rng::Rng;
use crate::text::fmt_num;

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
    /// With a validation set ([`fit_with_validation`]): stop once its loss
    /// has not improved for this many epochs in a row, and put back the
    /// weights of its best epoch. `None`: run every step, keep the last.
    pub patience: Option<usize>,
    /// Record one sample's graph and replay it over each batch
    /// ([`crate::Replay`]); `false` builds every sample on the tape.
    /// The results agree to rounding (the tests hold them to 1e-12).
    pub replay: bool,
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
            patience: None,
            replay: true,
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
/// let r = last.unwrap();
/// assert_eq!(r.step, 2);
/// assert!(r.loss >= r.data_loss); // the L2 term is on top
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Step number, from 0.
    pub step: usize,
    /// The objective minimised on this step's batch: data loss plus the L2
    /// term (what micrograd's demo prints as its loss).
    pub loss: f64,
    /// The data loss alone on this step's batch, without the L2 term.
    pub data_loss: f64,
    /// Accuracy on this step's batch (classification), or `None`.
    pub accuracy: Option<f64>,
    /// Learning rate used.
    pub lr: f64,
    /// Whether this step ends an epoch (a pass over the training data).
    pub epoch_end: bool,
    /// The validation data loss, on steps that end an epoch when there is
    /// a validation set.
    pub valid_loss: Option<f64>,
}

/// Why training stopped before its last step: see [`History::diverged`].
///
/// ```
/// use micrograd::train::Divergence;
/// let d = Divergence::Grew { step: 12, start: 0.69, now: 3.2e9 };
/// assert_eq!(d.to_string(), "the loss grew from 0.690000 at the first step to 3.20e9 at step 12");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Divergence {
    /// The loss became NaN or infinite; `at` says where the first such
    /// number appeared (see [`Value::find_non_finite`]).
    NonFinite {
        /// The step.
        step: usize,
        /// The first node holding a non-finite number, described.
        at: String,
    },
    /// The loss, averaged over the last steps, grew far above where it
    /// started (100 times).
    Grew {
        /// The step.
        step: usize,
        /// The loss of the first step.
        start: f64,
        /// The recent average.
        now: f64,
    },
}

impl Divergence {
    /// The step at which training stopped.
    ///
    /// ```
    /// use micrograd::train::Divergence;
    /// assert_eq!(Divergence::NonFinite { step: 4, at: String::new() }.step(), 4);
    /// ```
    pub fn step(&self) -> usize {
        match self {
            Divergence::NonFinite { step, .. } | Divergence::Grew { step, .. } => *step,
        }
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Divergence::NonFinite { step, at } => write!(
                f,
                "the loss is not a finite number at step {step} (first non-finite value: {})",
                crate::text::shorten(at, 200)
            ),
            Divergence::Grew { step, start, now } => write!(
                f,
                "the loss grew from {} at the first step to {} at step {step}",
                fmt_num(*start),
                fmt_num(*now)
            ),
        }
    }
}

/// Loss and accuracy per step, and how training ended.
///
/// ```
/// use micrograd::{MLP, data, train::{TrainConfig, fit}};
/// let cfg = TrainConfig { steps: 5, ..TrainConfig::default() };
/// let h = fit(&MLP::new(2, &[4, 1]), &data::xor(), &cfg, |_| {});
/// assert_eq!((h.loss.len(), h.accuracy.len(), h.diverged), (5, 5, None));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The objective (data loss + L2) per step.
    pub loss: Vec<f64>,
    /// The data loss per step, without the L2 term.
    pub data_loss: Vec<f64>,
    /// Batch accuracy per step (empty for regression).
    pub accuracy: Vec<f64>,
    /// The validation data loss at the end of each epoch: (step, loss).
    pub valid_loss: Vec<(usize, f64)>,
    /// With early stopping: the step whose weights the model was given back.
    pub best_step: Option<usize>,
    /// Set if training stopped because the loss stopped being a finite
    /// number or grew far above where it started.
    pub diverged: Option<Divergence>,
}

/// How many steps' losses are averaged to decide that training diverged.
const RECENT: usize = 10;

/// Trains `model` on `ds`, calling `on_step` after every step.
///
/// Each step runs in its own [`scope`], so memory stays flat however many
/// steps run. Training stops early if the loss is NaN or infinite, or grows
/// far above where it started; [`History::diverged`] says so. Panics if the
/// loss does not suit the data (check first with [`Loss::check`]) or the
/// model's sizes do not.
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
    on_step: impl FnMut(&StepReport),
) -> History {
    run(model, ds, None, cfg, on_step)
}

/// [`fit`], scoring the model on `valid` at the end of every epoch (a pass
/// over `ds`). With [`TrainConfig::patience`] it stops once the validation
/// loss has not improved for that many epochs and gives the model back the
/// weights of its best epoch.
///
/// ```
/// use micrograd::{MLP, Module, OptimizerKind, Rng, Schedule, data, train::*};
/// let (train, valid) = data::moons(200, 0.2, 1).split(0.25, &mut Rng::new(1));
/// let cfg = TrainConfig { optimizer: OptimizerKind::Adam, steps: 400, batch_size: 50,
///     schedule: Schedule::Constant(0.02), patience: Some(5), ..TrainConfig::default() };
/// let model = MLP::new(2, &[8, 1]);
/// let h = fit_with_validation(&model, &train, &valid, &cfg, |_| {});
/// let best = h.best_step.unwrap();
/// let (_, best_loss) = h.valid_loss.iter().find(|(s, _)| *s == best).unwrap();
/// assert_eq!(evaluate(&model, &valid, cfg.loss).loss, *best_loss);
/// ```
pub fn fit_with_validation(
    model: &MLP,
    ds: &Dataset,
    valid: &Dataset,
    cfg: &TrainConfig,
    on_step: impl FnMut(&StepReport),
) -> History {
    run(model, ds, Some(valid), cfg, on_step)
}

fn run(
    model: &MLP,
    ds: &Dataset,
    valid: Option<&Dataset>,
    cfg: &TrainConfig,
    mut on_step: impl FnMut(&StepReport),
) -> History {
    let params = model.parameters();
    let mut opt = cfg.optimizer.build(params.clone(), cfg.schedule.lr(0));
    let mut history = History::default();
    let mut batches = Batches::new(ds, cfg);
    let mut best = Best::default();
    let mut objective = Objective::new(model, ds, cfg);
    // the validation set's scorer: training's recording (a copy of its
    // program, not a second recording), kept for every epoch
    let mut scorer = match &objective.replay {
        Some(r) => {
            crate::nn::Scorer::with_loss_recording(model, cfg.loss, ds.nclasses(), r.clone())
        }
        None => crate::nn::Scorer::new(model),
    };
    for step in 0..cfg.steps {
        let (batch, epoch_ends) = batches.next();
        let _step = scope();
        if !objective.sets_grads {
            opt.zero_grad();
        }
        let StepLoss {
            data,
            total,
            accuracy,
            on_tape,
        } = objective.gradients(batch, &params);
        if !total.is_finite() {
            let at = objective.first_non_finite(batch, &params);
            history.diverged = Some(Divergence::NonFinite { step, at });
            break;
        }
        history.loss.push(total);
        if let Some(grew) = grew(&history.loss, step) {
            history.diverged = Some(grew);
            break;
        }
        let lr = cfg.schedule.lr(step);
        opt.set_lr(lr);
        if let Some(t) = on_tape {
            t.backward();
        }
        objective.step(&mut *opt);

        history.data_loss.push(data);
        if let Some(a) = accuracy {
            history.accuracy.push(a);
        }
        let epoch_ends = epoch_ends || step + 1 == cfg.steps;
        let valid_loss = valid
            .filter(|_| epoch_ends)
            .map(|v| evaluate_with(&mut scorer, v, cfg.loss).loss);
        let report = StepReport {
            step,
            loss: total,
            data_loss: data,
            accuracy,
            lr,
            epoch_end: epoch_ends,
            valid_loss,
        };
        on_step(&report);
        if let Some(v) = valid_loss {
            history.valid_loss.push((step, v));
            best.saw(v, step, model);
            if cfg.patience.is_some_and(|p| best.since >= p) {
                break;
            }
        }
    }
    if cfg.patience.is_some()
        && history.diverged.is_none()
        && let Some((_, step, weights)) = best.best
    {
        model
            .load_parameters(&weights)
            .expect("the same model's own parameters");
        history.best_step = Some(step);
    }
    history
}

/// The batches of a run, step by step: the whole set every step, or
/// shuffled mini-batches, an epoch's worth at a time.
struct Batches<'a> {
    ds: &'a Dataset,
    size: usize,
    rng: Rng,
    /// Full batches: the same one every step, made once.
    whole: Option<Vec<usize>>,
    epoch: std::vec::IntoIter<Vec<usize>>,
    current: Vec<usize>,
}

impl<'a> Batches<'a> {
    fn new(ds: &'a Dataset, cfg: &TrainConfig) -> Batches<'a> {
        let whole =
            (cfg.batch_size == 0 || cfg.batch_size >= ds.len()).then(|| (0..ds.len()).collect());
        Batches {
            ds,
            size: cfg.batch_size,
            rng: Rng::new(cfg.seed),
            whole,
            epoch: Vec::new().into_iter(),
            current: Vec::new(),
        }
    }

    /// The next step's batch, and whether it ends an epoch.
    fn next(&mut self) -> (&[usize], bool) {
        if let Some(all) = &self.whole {
            return (all, true);
        }
        self.current = self.epoch.next().unwrap_or_else(|| {
            self.epoch = self.ds.batches(self.size, &mut self.rng).into_iter();
            self.epoch.next().unwrap_or_default()
        });
        (&self.current, self.epoch.len() == 0)
    }
}

/// Early stopping's memory: the best validation loss, its step and
/// weights, and the epochs since.
#[derive(Default)]
struct Best {
    best: Option<(f64, usize, Vec<f64>)>,
    since: usize,
}

impl Best {
    fn saw(&mut self, loss: f64, step: usize, model: &MLP) {
        if self.best.as_ref().is_none_or(|(b, _, _)| loss < *b) {
            self.best = Some((loss, step, model.parameter_data()));
            self.since = 0;
        } else {
            self.since += 1;
        }
    }
}

/// `rows` replayed: the data loss and the L2 term. With `sets_grads` the
/// gradients are held in `r` (starting from the L2 term's, set in the pass
/// that reads the parameters), else added to the parameters' own.
fn replayed<R: AsRef<[f64]> + Sync>(
    r: &mut Replay,
    rows: &[R],
    sets_grads: bool,
    alpha: f64,
    params: &[Value],
) -> (f64, f64) {
    if sets_grads && alpha != 0.0 {
        // the parameters as the replay read them, in their order
        let data = r.run_held(rows, |p| loss::l2_grad(p, alpha));
        (data, loss::sum_of_squares(r.shared_values()) * alpha)
    } else if sets_grads {
        (r.run_held(rows, |_| 0.0), 0.0)
    } else if alpha != 0.0 {
        (r.run(rows), loss::l2_with_grad(params, alpha))
    } else {
        (r.run(rows), 0.0)
    }
}

/// What training minimises on a batch, and how: replayed over the batch
/// ([`Replay`]) when the model and loss record, on the tape otherwise.
struct Objective<'a> {
    model: &'a MLP,
    ds: &'a Dataset,
    cfg: &'a TrainConfig,
    replay: Option<Replay>,
    /// Whether the replay uses exactly the model's parameters, in their
    /// order: then it holds their gradients, the L2 term's included, and
    /// [`step`](Self::step) writes them in place of the old ones
    /// (`zero_grad`'s work) as the optimizer updates the parameters.
    sets_grads: bool,
    /// Each sample as the replay takes it: its features, then its target.
    rows: Vec<Vec<f64>>,
}

/// One batch's loss: the data loss, with the L2 term, the batch accuracy,
/// and (on the tape) the node to call `backward` on.
struct StepLoss {
    data: f64,
    total: f64,
    accuracy: Option<f64>,
    on_tape: Option<Value>,
}

impl<'a> Objective<'a> {
    fn new(model: &'a MLP, ds: &'a Dataset, cfg: &'a TrainConfig) -> Objective<'a> {
        let classes = ds.nclasses();
        let replay = cfg
            .replay
            .then(|| model.record_loss(cfg.loss, classes))
            .and_then(Result::ok);
        let rows = match replay {
            Some(_) => {
                ds.x.iter()
                    .zip(&ds.y)
                    .map(|(x, &y)| [x.as_slice(), &cfg.loss.target_row(y, classes)].concat())
                    .collect()
            }
            None => Vec::new(),
        };
        let sets_grads = replay
            .as_ref()
            .is_some_and(|r| r.shared().iter().eq(model.parameters().iter()));
        Objective {
            model,
            ds,
            cfg,
            replay,
            sets_grads,
            rows,
        }
    }

    /// The loss of the samples `batch`. Replayed, their gradients (and the
    /// L2 term's) are added to the parameters' or held for
    /// [`step`](Self::step); on the tape, they come from `backward` on
    /// [`StepLoss::on_tape`].
    fn gradients(&mut self, batch: &[usize], params: &[Value]) -> StepLoss {
        let (cfg, classes) = (self.cfg, self.ds.nclasses());
        match self.replay.as_mut() {
            Some(r) => {
                let whole = batch.iter().copied().eq(0..self.rows.len());
                let (data, reg) = if whole {
                    // the whole data set in order (full batches): its rows as they are
                    replayed(r, &self.rows, self.sets_grads, cfg.alpha, params)
                } else {
                    let rows: Vec<&[f64]> =
                        batch.iter().map(|&i| self.rows[i].as_slice()).collect();
                    replayed(r, &rows, self.sets_grads, cfg.alpha, params)
                };
                let accuracy = (classes > 0).then(|| {
                    let ys = batch.iter().map(|&i| self.ds.y[i]);
                    let right = ys
                        .enumerate()
                        .filter(|&(k, t)| cfg.loss.predict(r.output(k), classes) == t);
                    right.count() as f64 / batch.len().max(1) as f64
                });
                StepLoss {
                    data,
                    total: data + reg,
                    accuracy,
                    on_tape: None,
                }
            }
            None => {
                let y: Vec<f64> = batch.iter().map(|&i| self.ds.y[i]).collect();
                let outs = forward_batch(self.model, self.ds, batch);
                let data = cfg.loss.compute(&outs, &y, classes);
                let total = self.with_l2(data, params);
                StepLoss {
                    data: data.data(),
                    total: total.data(),
                    accuracy: (classes > 0).then(|| accuracy(&outs, &y, cfg.loss, classes)),
                    on_tape: Some(total),
                }
            }
        }
    }

    /// The optimizer's update. Replayed on the model's own parameters, the
    /// gradients are still in the replay: the optimizer writes them to the
    /// parameters and updates them in one visit to the tape, if it can.
    fn step(&mut self, opt: &mut dyn Optimizer) {
        match self.replay.as_mut() {
            Some(r) if self.sets_grads => {
                if !opt.step_with_grads(r.held_grads()) {
                    r.write_held();
                    opt.step();
                }
            }
            _ => opt.step(),
        }
    }

    /// `data_loss` plus the L2 term, on the tape.
    fn with_l2(&self, data_loss: Value, params: &[Value]) -> Value {
        if self.cfg.alpha != 0.0 {
            data_loss + loss::l2(params, self.cfg.alpha)
        } else {
            data_loss
        }
    }

    /// Where the first NaN or infinity appeared in the batch's loss: the
    /// batch again, on the tape, searched node by node.
    fn first_non_finite(&self, batch: &[usize], params: &[Value]) -> String {
        let y: Vec<f64> = batch.iter().map(|&i| self.ds.y[i]).collect();
        let outs = forward_batch(self.model, self.ds, batch);
        let l = self.cfg.loss.compute(&outs, &y, self.ds.nclasses());
        self.with_l2(l, params)
            .find_non_finite()
            .map_or_else(|| "no node found".to_owned(), |n| n.to_string())
    }
}

/// The model's outputs for the samples `batch` of `ds`, on the tape.
fn forward_batch(model: &MLP, ds: &Dataset, batch: &[usize]) -> Vec<Vec<Value>> {
    batch
        .iter()
        .map(|&i| {
            let x: Vec<Value> = ds.x[i].iter().map(|&v| Value::new(v)).collect();
            model.forward(&x)
        })
        .collect()
}

/// Whether the losses so far (the last at `step`) have grown far above the
/// first: their recent average over 100 times the first (and above 1).
fn grew(losses: &[f64], step: usize) -> Option<Divergence> {
    let start = *losses.first()?;
    let recent = &losses[losses.len().saturating_sub(RECENT)..];
    let now = recent.iter().sum::<f64>() / recent.len() as f64;
    (losses.len() >= RECENT && now > 100.0 * start.max(0.01)).then_some(Divergence::Grew {
        step,
        start,
        now,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, Init, MLP, Module, data};

    /// Plain SGD with the trait's default `step_with_grads`, which declines.
    struct Plain(Vec<Value>, f64);

    impl Optimizer for Plain {
        fn step(&mut self) {
            for p in &self.0 {
                p.set_data(p.data() - self.1 * p.grad());
            }
        }
        fn zero_grad(&self) {
            self.0.iter().for_each(|p| p.set_grad(0.0));
        }
        fn lr(&self) -> f64 {
            self.1
        }
        fn set_lr(&mut self, lr: f64) {
            self.1 = lr;
        }
    }

    #[test]
    fn an_optimizer_that_declines_the_gradients_in_hand_finds_them_on_the_tape() {
        let ds = data::moons(20, 0.1, 1);
        let cfg = TrainConfig::default();
        let step = |m: &MLP, opt: &mut dyn Optimizer| {
            let params = m.parameters();
            params.iter().for_each(|p| p.set_grad(7.0)); // stale: must be replaced
            let mut o = Objective::new(m, &ds, &cfg);
            assert!(o.sets_grads, "the replay holds the gradients");
            let batch: Vec<usize> = (0..ds.x.len()).collect();
            o.gradients(&batch, &params);
            o.step(opt);
            let grads: Vec<f64> = params.iter().map(|p| p.grad()).collect();
            (m.parameter_data(), grads)
        };
        let model = || {
            MLP::builder(2, &[4, 1])
                .hidden(Activation::Relu)
                .init(Init::Micrograd)
                .seed(3)
                .build()
        };
        let (a, b) = (model(), model());
        let declined = step(&a, &mut Plain(a.parameters(), 0.5));
        let in_hand = step(&b, &mut *OptimizerKind::Sgd.build(b.parameters(), 0.5));
        assert_eq!(declined, in_hand);
        assert!(declined.1.iter().all(|&g| g != 7.0));
    }
}
