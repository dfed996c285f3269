//! Losses: what training minimises, and accuracy, what it is judged by.

use std::fmt;
use std::str::FromStr;

use crate::engine::Value;

/// Σ (predᵢ - yᵢ)², the lecture's loss.
///
/// ```
/// use micrograd::{Value, nn::loss};
/// let pred = [0.5, -1.0].map(Value::new);
/// assert_eq!(loss::sse(&pred, &[1.0, -1.0]).data(), 0.25);
/// ```
pub fn sse(pred: &[Value], y: &[f64]) -> Value {
    Value::sum(pred.iter().zip(y).map(|(&p, &t)| (p - t).pow(2)))
}

/// (1/n) Σ (predᵢ - yᵢ)².
///
/// ```
/// use micrograd::{Value, nn::loss};
/// let pred = [0.5, -1.0].map(Value::new);
/// assert_eq!(loss::mse(&pred, &[1.0, -1.0]).data(), 0.125);
/// ```
pub fn mse(pred: &[Value], y: &[f64]) -> Value {
    sse(pred, y) / pred.len().max(1) as f64
}

/// micrograd's max-margin loss, mean(relu(1 - yᵢ·sᵢ)), for labels ±1.
///
/// ```
/// use micrograd::{Value, nn::loss};
/// let s = [2.0, 0.5].map(Value::new);
/// assert_eq!(loss::svm(&s, &[1.0, 1.0]).data(), 0.25); // (0 + 0.5) / 2
/// ```
pub fn svm(scores: &[Value], y: &[f64]) -> Value {
    let n = scores.len().max(1) as f64;
    Value::sum(scores.iter().zip(y).map(|(&s, &t)| (1.0 - t * s).relu())) / n
}

/// L2 regularisation, alpha · Σ p², as one dot node.
///
/// ```
/// use micrograd::{Value, nn::loss};
/// let p = [1.0, -2.0].map(Value::new);
/// assert_eq!(loss::l2(&p, 1e-4).data(), 5e-4);
/// ```
pub fn l2(params: &[Value], alpha: f64) -> Value {
    Value::dot(params, params) * alpha
}

/// [`l2`]'s value and gradient without building it on the tape: returns
/// alpha · Σ p² (summed in the same order) and adds its gradient, 2·alpha·p
/// (as alpha·p + alpha·p, as the tape's backward adds it), to each
/// parameter's. For a training step whose data loss was replayed.
pub(crate) fn l2_with_grad(params: &[Value], alpha: f64) -> f64 {
    let mut sum = 0.0;
    crate::engine::add_to_grads(params, |p| {
        sum += p * p;
        l2_grad(p, alpha)
    });
    sum * alpha
}

/// Σ p², in eight interleaved partial sums: a sum in one accumulator waits
/// for each addition before the next (a visible share of a wide
/// training step). It may differ from [`l2`]'s in-order sum in the last bits.
pub(crate) fn sum_of_squares(ps: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let chunks = ps.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().map(|p| p * p).sum();
    for c in chunks {
        for (a, p) in acc.iter_mut().zip(c) {
            *a += p * p;
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// The gradient of alpha · p², written as alpha·p + alpha·p, as the tape's
/// backward of [`l2`] adds it.
#[inline]
pub(crate) fn l2_grad(p: f64, alpha: f64) -> f64 {
    alpha * p + alpha * p
}

/// Binary cross-entropy on logits, mean(softplus(z) - y·z) for y in {0, 1}:
/// the same as sigmoid then log loss, without overflow for any z.
///
/// ```
/// use micrograd::{Value, nn::loss};
/// let z = [0.0].map(Value::new);
/// assert!((loss::bce_with_logits(&z, &[1.0]).data() - 2f64.ln()).abs() < 1e-15);
/// let z = [1000.0].map(Value::new);
/// assert_eq!(loss::bce_with_logits(&z, &[1.0]).data(), 0.0);
/// ```
pub fn bce_with_logits(logits: &[Value], y: &[f64]) -> Value {
    let n = logits.len().max(1) as f64;
    Value::sum(logits.iter().zip(y).map(|(&z, &t)| z.softplus() - z * t)) / n
}

/// Softmax cross-entropy, `mean(logsumexp(z) - z[label])`, one row of logits
/// per sample: stable for any logits.
///
/// ```
/// use micrograd::{Value, nn::loss};
/// let z = vec![[0.0, 0.0].map(Value::new).to_vec()];
/// assert!((loss::cross_entropy(&z, &[1]).data() - 2f64.ln()).abs() < 1e-15);
/// ```
pub fn cross_entropy(logits: &[Vec<Value>], labels: &[usize]) -> Value {
    let n = logits.len().max(1) as f64;
    Value::sum(
        logits
            .iter()
            .zip(labels)
            .map(|(z, &k)| Value::logsumexp(z) - z[k]),
    ) / n
}

/// The fraction of predictions equal to their labels.
///
/// ```
/// assert_eq!(micrograd::nn::loss::accuracy(&[1, 0, 1, 1], &[1, 1, 1, 1]), 0.75);
/// ```
pub fn accuracy(pred: &[usize], labels: &[usize]) -> f64 {
    if pred.is_empty() {
        return 0.0;
    }
    let right = pred.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / pred.len() as f64
}

/// The losses by name, with how each reads a model's outputs.
///
/// Targets are numbers for regression and class indices (0, 1, ...) for
/// classification; each loss maps them as it needs (the SVM loss and the
/// squared error on two classes use labels -1 and +1, as micrograd
/// does).
///
/// ```
/// use micrograd::{Loss, Value};
/// let out = vec![vec![Value::new(2.0)], vec![Value::new(-0.5)]];
/// let l = Loss::Svm.compute(&out, &[1.0, 0.0], 2);
/// assert_eq!(l.data(), 0.25); // relu(1 - 2) = 0, relu(1 - 0.5) = 0.5
/// assert_eq!(Loss::Svm.predict(&[-0.5], 2), 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loss {
    /// Mean squared error.
    Mse,
    /// micrograd's max-margin loss (two classes, one output).
    Svm,
    /// Binary cross-entropy on a logit (two classes, one output).
    Bce,
    /// Softmax cross-entropy (any number of classes, one output each).
    CrossEntropy,
}

impl Loss {
    /// The name used on the command line.
    ///
    /// ```
    /// assert_eq!(micrograd::Loss::CrossEntropy.name(), "xent");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Svm => "svm",
            Loss::Bce => "bce",
            Loss::CrossEntropy => "xent",
        }
    }

    /// How many outputs the model needs for `classes` classes (0 = regression).
    ///
    /// ```
    /// use micrograd::Loss;
    /// assert_eq!(Loss::CrossEntropy.outputs(3), 3);
    /// assert_eq!(Loss::Svm.outputs(2), 1);
    /// ```
    pub fn outputs(self, classes: usize) -> usize {
        match self {
            Loss::CrossEntropy => classes.max(1),
            _ => 1,
        }
    }

    /// Whether this loss can train on a task with `classes` classes
    /// (0 = regression); the error says why not.
    ///
    /// ```
    /// use micrograd::Loss;
    /// assert!(Loss::Svm.check(3).is_err());
    /// assert!(Loss::Mse.check(0).is_ok());
    /// ```
    pub fn check(self, classes: usize) -> Result<(), String> {
        match (self, classes) {
            (Loss::Mse, 0..=2) => Ok(()),
            (Loss::Mse, k) => Err(format!(
                "loss mse handles regression or 2 classes, not {k}; use xent"
            )),
            (Loss::Svm | Loss::Bce, 2) => Ok(()),
            (Loss::Svm | Loss::Bce, 0) => Err(format!(
                "loss {} is for 2 classes, but the target is numeric; use mse",
                self.name()
            )),
            (Loss::Svm | Loss::Bce, k) => Err(format!(
                "loss {} is for 2 classes, not {k}; use xent",
                self.name()
            )),
            (Loss::CrossEntropy, 0) => {
                Err("loss xent is for classes, but the target is numeric; use mse".to_owned())
            }
            (Loss::CrossEntropy, _) => Ok(()),
        }
    }

    /// Whether a batch suits this loss: as many outputs as targets, each
    /// with [`outputs`](Self::outputs) numbers, and for classes every target
    /// a class index `0..classes`. The error names the first sample that
    /// does not.
    ///
    /// ```
    /// use micrograd::{Loss, Value};
    /// let out = vec![vec![Value::new(0.5); 3]; 2];
    /// assert!(Loss::CrossEntropy.check_batch(&out, &[0.0, 2.0], 3).is_ok());
    /// let e = Loss::CrossEntropy.check_batch(&out, &[0.0, -1.0], 3).unwrap_err();
    /// assert_eq!(e, "sample 1: target -1 is not a class index from 0 to 2");
    /// let e = Loss::Svm.check_batch(&out[..1], &[1.0, 0.0], 2).unwrap_err();
    /// assert_eq!(e, "1 outputs for 2 targets");
    /// ```
    pub fn check_batch(self, out: &[Vec<Value>], y: &[f64], classes: usize) -> Result<(), String> {
        if out.len() != y.len() {
            return Err(format!("{} outputs for {} targets", out.len(), y.len()));
        }
        let want = self.outputs(classes);
        for (i, (o, &t)) in out.iter().zip(y).enumerate() {
            if o.len() < want {
                return Err(format!(
                    "sample {i}: {} model outputs, loss {} with {classes} classes needs {want}",
                    o.len(),
                    self.name()
                ));
            }
            let is_class = t >= 0.0 && t.fract() == 0.0 && t < classes as f64;
            if classes > 0 && !is_class {
                return Err(format!(
                    "sample {i}: target {t} is not a class index from 0 to {}",
                    classes - 1
                ));
            }
        }
        Ok(())
    }

    /// The loss over a batch: `out[i]` is the model's output for sample i,
    /// `y[i]` its target, `classes` the number of classes (0 = regression).
    /// Panics with [`check_batch`](Self::check_batch)'s message if the batch
    /// does not suit the loss (a target that is no class, too few outputs):
    /// never a silently wrong number.
    ///
    /// ```
    /// use micrograd::{Loss, Value};
    /// let out = vec![vec![Value::new(0.5)]];
    /// assert_eq!(Loss::Mse.compute(&out, &[1.5], 0).data(), 1.0);
    /// ```
    pub fn compute(self, out: &[Vec<Value>], y: &[f64], classes: usize) -> Value {
        if let Err(e) = self.check_batch(out, y, classes) {
            panic!("micrograd: loss {}: {e}", self.name());
        }
        let first = || out.iter().map(|o| o[0]).collect::<Vec<_>>();
        let signed = || y.iter().map(|&t| 2.0 * t - 1.0).collect::<Vec<_>>();
        match self {
            Loss::Mse if classes == 2 => mse(&first(), &signed()),
            Loss::Mse => mse(&first(), y),
            Loss::Svm => svm(&first(), &signed()),
            Loss::Bce => bce_with_logits(&first(), y),
            Loss::CrossEntropy => {
                let labels: Vec<usize> = y.iter().map(|&t| t as usize).collect();
                cross_entropy(out, &labels)
            }
        }
    }

    /// How many numbers [`target_row`](Self::target_row) makes of a target.
    ///
    /// ```
    /// use micrograd::Loss;
    /// assert_eq!((Loss::CrossEntropy.target_width(3), Loss::Svm.target_width(2)), (3, 1));
    /// ```
    pub fn target_width(self, classes: usize) -> usize {
        match self {
            Loss::CrossEntropy => classes,
            _ => 1,
        }
    }

    /// A target as the numbers [`per_sample`](Self::per_sample) takes: ±1
    /// for `svm` (and `mse` on 2 classes), 0/1 for `bce`, one-hot for `xent`,
    /// the number itself for regression.
    ///
    /// ```
    /// use micrograd::Loss;
    /// assert_eq!(Loss::Svm.target_row(0.0, 2), vec![-1.0]);
    /// assert_eq!(Loss::CrossEntropy.target_row(2.0, 3), vec![0.0, 0.0, 1.0]);
    /// ```
    pub fn target_row(self, y: f64, classes: usize) -> Vec<f64> {
        match self {
            Loss::Svm => vec![2.0 * y - 1.0],
            Loss::Mse if classes == 2 => vec![2.0 * y - 1.0],
            Loss::Mse | Loss::Bce => vec![y],
            Loss::CrossEntropy => (0..classes).map(|k| f64::from(k as f64 == y)).collect(),
        }
    }

    /// One sample's term of the loss, with the target as values made by
    /// [`target_row`](Self::target_row): the batch loss of
    /// [`compute`](Self::compute) is the mean of these. The form a
    /// [`Replay`](crate::Replay) records, since it takes the target as an
    /// input rather than a constant.
    ///
    /// ```
    /// use micrograd::{Loss, Value};
    /// let out = [Value::new(0.5)];
    /// let t = Loss::Svm.target_row(1.0, 2).into_iter().map(Value::new).collect::<Vec<_>>();
    /// assert_eq!(Loss::Svm.per_sample(&out, &t).data(), 0.5); // relu(1 - 0.5)
    /// ```
    pub fn per_sample(self, out: &[Value], target: &[Value]) -> Value {
        let (s, t) = (out[0], target[0]);
        match self {
            Loss::Svm => (1.0 - t * s).relu(),
            Loss::Mse => (s - t).pow(2),
            Loss::Bce => s.softplus() - s * t,
            Loss::CrossEntropy => Value::logsumexp(out) - Value::dot(target, out),
        }
    }

    /// The class an output predicts, for `classes` classes; for regression
    /// (`classes` = 0), the output itself.
    ///
    /// ```
    /// use micrograd::Loss;
    /// assert_eq!(Loss::CrossEntropy.predict(&[0.1, 2.0, -1.0], 3), 1.0);
    /// assert_eq!(Loss::Bce.predict(&[0.3], 2), 1.0);
    /// assert_eq!(Loss::Mse.predict(&[0.3], 0), 0.3);
    /// ```
    pub fn predict(self, out: &[f64], classes: usize) -> f64 {
        match self {
            Loss::CrossEntropy => {
                out.iter()
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                        if v > bv { (i, v) } else { (bi, bv) }
                    })
                    .0 as f64
            }
            Loss::Mse if classes == 0 => out[0],
            Loss::Svm | Loss::Bce | Loss::Mse => f64::from(out[0] > 0.0),
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "mse" => Ok(Loss::Mse),
            "svm" | "hinge" => Ok(Loss::Svm),
            "bce" => Ok(Loss::Bce),
            "xent" | "ce" | "cross-entropy" | "crossentropy" => Ok(Loss::CrossEntropy),
            _ => Err(format!(
                "unknown loss '{s}' (expected mse, svm, bce or xent)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length (the chunks of eight, the tail, none) gives the sum.
    #[test]
    fn sum_of_squares_is_the_sum_in_any_length() {
        for n in 0..40 {
            let ps: Vec<f64> = (0..n).map(|k| (k as f64 * 0.37).sin() * 3.0).collect();
            let serial: f64 = ps.iter().map(|p| p * p).sum();
            let sum = sum_of_squares(&ps);
            assert!(
                (sum - serial).abs() <= 1e-14 * serial.max(1.0),
                "n = {n}: {sum} vs {serial}"
            );
        }
        assert_eq!(sum_of_squares(&[3.0; 9]), 81.0);
    }
}
