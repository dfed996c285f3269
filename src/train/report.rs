//! What a trained model scored, in the target's own units: the lines the
//! command prints, the JSON it writes, and the warning when the model did
//! no better than knowing nothing.

use serde_json::{Value as Json, json};

use crate::data::{Dataset, Preprocess};
use crate::metrics::{Confusion, Regression};
use crate::nn::{Loss, MLP};
use crate::text::{fmt_num, shorten};
use crate::train::{Evaluation, evaluate};

/// A model's scores on one data set.
///
/// ```
/// use micrograd::data::{Preprocess, builtin};
/// use micrograd::train::Scores;
/// use micrograd::{Loss, MLP};
///
/// let xor = builtin("xor", 1).unwrap();
/// let model = MLP::new(2, &[4, 1]);
/// let s = Scores::of(&model, &xor, Loss::Svm, &Preprocess::identity(&xor));
/// assert!(s.line("train").starts_with("train  accuracy"));
/// assert!(s.json()["accuracy"].is_number());
/// ```
#[derive(Clone, Debug)]
pub struct Scores {
    /// The loss, the predictions, and the accuracy for classes.
    pub eval: Evaluation,
    /// For classes: the confusion matrix.
    pub confusion: Option<Confusion>,
    /// For a number: MSE, MAE and R² in the target's units.
    pub regression: Option<Regression>,
}

impl Scores {
    /// `model`'s scores on `ds` (encoded by `prep`) under `loss`.
    pub fn of(model: &MLP, ds: &Dataset, loss: Loss, prep: &Preprocess) -> Scores {
        let eval = evaluate(model, ds, loss);
        let (confusion, regression) = if ds.is_classification() {
            let c = Confusion::new(&ds.classes, &ds.y, &eval.predictions);
            (Some(c), None)
        } else {
            let t = &prep.target;
            let truth: Vec<f64> = ds.y.iter().map(|&y| t.to_target(y)).collect();
            let pred: Vec<f64> = eval.predictions.iter().map(|&y| t.to_target(y)).collect();
            (None, Some(Regression::new(&truth, &pred)))
        };
        Scores {
            eval,
            confusion,
            regression,
        }
    }

    /// One line: `name` (train, test) and the scores.
    pub fn line(&self, name: &str) -> String {
        match (&self.confusion, &self.regression) {
            (Some(c), _) => format!(
                "{name:<6} accuracy {:6.2}%   data loss {}",
                100.0 * c.accuracy(),
                fmt_num(self.eval.loss)
            ),
            (_, Some(r)) => format!(
                "{name:<6} R² {}   MSE {}   MAE {}",
                fmt_num(r.r2),
                fmt_num(r.mse),
                fmt_num(r.mae)
            ),
            _ => unreachable!("scores are classes or numbers"),
        }
    }

    /// The scores as JSON: loss and accuracy, per-class precision and recall
    /// and the confusion counts; or loss, MSE, MAE and R². A number that is
    /// not finite is `null`.
    pub fn json(&self) -> Json {
        let finite = |x: f64| x.is_finite().then_some(x);
        match (&self.confusion, &self.regression) {
            (Some(c), _) => json!({
                "loss": finite(self.eval.loss),
                "accuracy": c.accuracy(),
                "majority_rate": c.majority_rate(),
                "per_class": c.classes.iter().enumerate().map(|(k, name)| json!({
                    "class": name,
                    "precision": c.precision(k),
                    "recall": c.recall(k),
                    "samples": c.counts[k].iter().sum::<usize>(),
                })).collect::<Vec<_>>(),
                "confusion": c.counts,
            }),
            (_, Some(r)) => json!({
                "loss": finite(self.eval.loss),
                "mse": finite(r.mse),
                "mae": finite(r.mae),
                "r2": finite(r.r2),
            }),
            _ => unreachable!("scores are classes or numbers"),
        }
    }

    /// A warning if the model did no better than knowing nothing: accuracy
    /// at most the majority class's share, or R² at most 0.
    ///
    /// ```
    /// use micrograd::data::{Preprocess, builtin};
    /// use micrograd::train::Scores;
    /// use micrograd::{Loss, MLP};
    ///
    /// let xor = builtin("xor", 1).unwrap();
    /// let untrained = MLP::new(2, &[1]); // a line cannot separate XOR
    /// let s = Scores::of(&untrained, &xor, Loss::Svm, &Preprocess::identity(&xor));
    /// assert!(s.warning("train").unwrap().contains("learned nothing"));
    /// ```
    pub fn warning(&self, name: &str) -> Option<String> {
        match (&self.confusion, &self.regression) {
            (Some(c), _) if c.accuracy() <= c.majority_rate() => {
                let k = (0..c.classes.len())
                    .max_by_key(|&k| c.counts[k].iter().sum::<usize>())
                    .unwrap_or(0);
                Some(format!(
                    "{name} accuracy {:.2}% is no better than always answering '{}' ({:.2}%): \
                     the model has learned nothing useful. Try more --epochs, another --lr \
                     (lower if the loss jumps, higher if it stalls), or check that the \
                     features relate to the target.",
                    100.0 * c.accuracy(),
                    shorten(&c.classes[k], 40),
                    100.0 * c.majority_rate()
                ))
            }
            (_, Some(r)) if r.r2 <= 0.0 => Some(format!(
                "{name} R² is {}: no better than always answering the mean. Try more --epochs, \
                 another --lr, or check that the features relate to the target.",
                fmt_num(r.r2)
            )),
            _ => None,
        }
    }
}

/// Where a whole run's time went, in seconds: what `micrograd train`
/// reports, the training loop being only one part of what a user waits for.
///
/// ```
/// use micrograd::train::Timings;
/// let t = Timings { read: 0.25, preprocess: 0.5, train: 2.0, evaluate: 0.5, plots: 1.0,
///     save: 0.25, total: 5.0 };
/// assert_eq!(t.other(), 0.5);
/// assert_eq!(t.line(), "time: 5.000 s in all: read 0.250, preprocess 0.500, train 2.000, \
///     evaluate 0.500, plots 1.000, save 0.250, other 0.500");
/// assert_eq!(t.json()["train"], 2.0);
/// assert_eq!(t.json()["total"], 5.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Reading the data: the CSV files, or making a built-in set.
    pub read: f64,
    /// Encoding and splitting it.
    pub preprocess: f64,
    /// The training loop, without the test scoring done for the plots'
    /// curves (that is in `evaluate`).
    pub train: f64,
    /// Scoring the model: the test curves' points during training, and
    /// the final scores on each set.
    pub evaluate: f64,
    /// Drawing the pictures.
    pub plots: f64,
    /// Writing the model files.
    pub save: f64,
    /// The whole run, from start to summary.
    pub total: f64,
}

impl Timings {
    /// The time in no part: checks, the recipe, building the model.
    pub fn other(&self) -> f64 {
        let parts = self.read + self.preprocess + self.train + self.evaluate + self.plots;
        (self.total - parts - self.save).max(0.0)
    }

    /// The parts by name, in the order of the run, `other` last.
    fn parts(&self) -> [(&'static str, f64); 7] {
        [
            ("read", self.read),
            ("preprocess", self.preprocess),
            ("train", self.train),
            ("evaluate", self.evaluate),
            ("plots", self.plots),
            ("save", self.save),
            ("other", self.other()),
        ]
    }

    /// One line: the whole run, then each part, in seconds.
    pub fn line(&self) -> String {
        let parts: Vec<String> = self
            .parts()
            .iter()
            .map(|(name, s)| format!("{name} {s:.3}"))
            .collect();
        format!("time: {:.3} s in all: {}", self.total, parts.join(", "))
    }

    /// The parts and the total as a JSON object of seconds.
    pub fn json(&self) -> Json {
        let mut m: serde_json::Map<String, Json> = self
            .parts()
            .iter()
            .map(|&(name, s)| (name.to_owned(), json!(s)))
            .collect();
        m.insert("total".to_owned(), json!(self.total));
        Json::Object(m)
    }
}
