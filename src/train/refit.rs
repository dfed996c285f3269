//! Training as a [`Recipe`] says, refit included: early stopping on the
//! validation rows chooses how many epochs to train, then (with
//! [`Recipe::refit`]) the model starts again from its first weights and
//! trains that many epochs on the training and validation rows together, so
//! a small table does not lose a fifth of its rows to choosing when to stop.

use crate::data::Dataset;
use crate::nn::{MLP, Module};
use crate::train::{History, Recipe, StepReport, fit, fit_with_validation};

/// What the refit did: the epochs early stopping chose, and the rows and
/// steps they came to.
///
/// ```
/// use micrograd::train::Refit;
/// let r = Refit { epochs: 12, rows: 100, steps: 48 };
/// assert_eq!(r.to_string(), "refit on all 100 training rows for 12 epochs (48 steps)");
/// let one = Refit { epochs: 1, rows: 6, steps: 1 };
/// assert_eq!(one.to_string(), "refit on all 6 training rows for 1 epoch (1 step)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refit {
    /// The epochs early stopping kept.
    pub epochs: u64,
    /// The rows trained on: the training and validation rows together.
    pub rows: usize,
    /// The steps those epochs took.
    pub steps: usize,
}

impl std::fmt::Display for Refit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: u64| if n == 1 { "" } else { "s" };
        let (rows, epochs, steps) = (self.rows, self.epochs, self.steps as u64);
        write!(
            f,
            "refit on all {rows} training rows for {epochs} epoch{} ({steps} step{})",
            s(epochs),
            s(steps)
        )
    }
}

/// Trains `model` on `train` as `r` says, with early stopping on `valid`
/// when there is one, calling `on_step` after each step of that first
/// pass. If the recipe refits and early stopping kept a step, the model is
/// then trained again from its first weights on `train` and `valid`
/// together for the epochs it kept; the history is the first pass's (its
/// validation curve chose the epochs), and the refit is returned beside it.
/// A pass that diverges is returned as it is, with no refit.
///
/// ```
/// use micrograd::{Rng, data};
/// use micrograd::train::{Choices, DataKind, Recipe, fit_recipe};
/// let (train, valid) = data::moons(100, 0.1, 1).split(0.2, &mut Rng::new(1));
/// let c = Choices { epochs: Some(30), ..Choices::default() };
/// let r = Recipe::choose(DataKind::Table, &train, true, &c).unwrap();
/// let model = r.model(2, 2, 1);
/// let (history, refit) = fit_recipe(&model, &train, Some(&valid), &r, |_| {});
/// let refit = refit.unwrap();
/// assert_eq!(refit.rows, 100);
/// assert!(refit.epochs >= 1 && history.best_step.is_some());
/// ```
pub fn fit_recipe(
    model: &MLP,
    train: &Dataset,
    valid: Option<&Dataset>,
    r: &Recipe,
    on_step: impl FnMut(&StepReport),
) -> (History, Option<Refit>) {
    let start = model.parameter_data();
    let history = match valid {
        Some(v) => fit_with_validation(model, train, v, &r.cfg, on_step),
        None => fit(model, train, &r.cfg, on_step),
    };
    let (Some(valid), Some(best), None, true) =
        (valid, history.best_step, &history.diverged, r.refit)
    else {
        return (history, None);
    };
    let all = joined(train, valid);
    let (epochs, cfg) = r.refit_config(best, train.len(), all.len());
    let kept = model.parameter_data();
    model
        .load_parameters(&start)
        .expect("the same model's own parameters");
    let again = fit(model, &all, &cfg, |_| {});
    if again.diverged.is_some() {
        // the first pass's weights are still good: keep them
        model
            .load_parameters(&kept)
            .expect("the same model's own parameters");
        return (history, None);
    }
    let refit = Refit {
        epochs,
        rows: all.len(),
        steps: again.loss.len(),
    };
    (history, Some(refit))
}

/// The rows of `a`, then those of `b`.
fn joined(a: &Dataset, b: &Dataset) -> Dataset {
    Dataset {
        name: a.name.clone(),
        features: a.features.clone(),
        target: a.target.clone(),
        x: [a.x.as_slice(), &b.x].concat(),
        y: [a.y.as_slice(), &b.y].concat(),
        classes: a.classes.clone(),
    }
}
