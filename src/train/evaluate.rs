//! What a model scores on a data set, through the replay a chunk of
//! samples at a time.

use crate::data::Dataset;
use crate::nn::{Loss, MLP, Scorer};

/// What a model scores on a data set; see [`evaluate`].
///
/// ```
/// use micrograd::{Loss, MLP, data, train::evaluate};
/// let e = evaluate(&MLP::new(3, &[2, 1]), &data::toy(), Loss::Mse);
/// assert!(e.accuracy.is_none() && e.loss >= 0.0);
/// assert_eq!(e.predictions.len(), 4);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss (without regularisation).
    pub loss: f64,
    /// Accuracy (classification), or `None`.
    pub accuracy: Option<f64>,
    /// Per sample: the predicted class index, or the output (regression).
    pub predictions: Vec<f64>,
}

/// Loss, accuracy and predictions of `model` on `ds`, through the replay's
/// forward pass a chunk of samples at a time ([`Scorer`]): memory stays
/// bounded however large `ds` is.
///
/// ```
/// use micrograd::{Loss, MLP, data, train::evaluate};
/// let ds = data::xor();
/// let e = evaluate(&MLP::new(2, &[3, 1]), &ds, Loss::Mse);
/// assert!(e.accuracy.unwrap() <= 1.0);
/// ```
pub fn evaluate(model: &MLP, ds: &Dataset, loss: Loss) -> Evaluation {
    evaluate_with(&mut Scorer::new(model), ds, loss)
}

/// [`evaluate`] with a scorer kept by the caller, whose recording is made
/// once for many evaluations (one per epoch, in training): recording a wide
/// model costs more than scoring a few hundred rows with it.
///
/// ```
/// use micrograd::{Loss, MLP, data, nn::Scorer, train::{evaluate, evaluate_with}};
/// let (ds, model) = (data::xor(), MLP::new(2, &[3, 1]));
/// let mut scorer = Scorer::new(&model);
/// for _ in 0..3 {
///     let e = evaluate_with(&mut scorer, &ds, Loss::Mse); // recorded once
///     assert_eq!(e.predictions, evaluate(&model, &ds, Loss::Mse).predictions);
/// }
/// ```
pub fn evaluate_with(scorer: &mut Scorer, ds: &Dataset, loss: Loss) -> Evaluation {
    let classes = ds.nclasses();
    let (mean, outs) = scorer.loss_and_outputs(&ds.x, &ds.y, loss, classes);
    let predictions: Vec<f64> = outs.iter().map(|o| loss.predict(o, classes)).collect();
    let n = ds.len().max(1) as f64;
    let accuracy = (classes > 0).then(|| {
        let right = predictions
            .iter()
            .zip(&ds.y)
            .filter(|(p, t)| p == t)
            .count();
        right as f64 / n
    });
    Evaluation {
        loss: mean,
        accuracy,
        predictions,
    }
}
