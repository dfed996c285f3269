//! What a model scores on a data set, a chunk of samples at a time.

use crate::data::Dataset;
use crate::engine::{Value, scope};
use crate::nn::{Loss, MLP, Module};

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

/// Samples per scope when evaluating: memory is bounded by this, not by
/// the data set.
const CHUNK: usize = 512;

/// Loss, accuracy and predictions of `model` on `ds`, a chunk of samples
/// at a time, each chunk in its own [`scope`]: memory stays bounded however
/// large `ds` is.
///
/// ```
/// use micrograd::{Loss, MLP, data, train::evaluate};
/// let ds = data::xor();
/// let e = evaluate(&MLP::new(2, &[3, 1]), &ds, Loss::Mse);
/// assert!(e.accuracy.unwrap() <= 1.0);
/// ```
pub fn evaluate(model: &MLP, ds: &Dataset, loss: Loss) -> Evaluation {
    let classes = ds.nclasses();
    let mut total = 0.0;
    let mut predictions = Vec::with_capacity(ds.len());
    for (xs, ys) in ds.x.chunks(CHUNK).zip(ds.y.chunks(CHUNK)) {
        let _s = scope();
        let outs: Vec<Vec<Value>> = xs
            .iter()
            .map(|x| {
                let x: Vec<Value> = x.iter().map(|&v| Value::new(v)).collect();
                model.forward(&x)
            })
            .collect();
        // every loss is a mean over its samples: weigh each chunk by its size
        total += loss.compute(&outs, ys, classes).data() * ys.len() as f64;
        predictions.extend(outs.iter().map(|o| {
            let o: Vec<f64> = o.iter().map(|v| v.data()).collect();
            loss.predict(&o, classes)
        }));
    }
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
        loss: total / n,
        accuracy,
        predictions,
    }
}
