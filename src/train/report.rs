//! What a trained model scored, in the target's own units: the lines the
//! command prints, the JSON it writes, and the warning when the model did
//! no better than knowing nothing.

use serde_json::{Value as Json, json};

use crate::data::{Dataset, Preprocess};
use crate::metrics::{Confusion, Regression, roc_auc};
use crate::nn::{Loss, MLP, Scorer};
use crate::text::{fmt_num, shorten};
use crate::train::{Evaluation, evaluate_with};

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
    /// For two classes, when asked for ([`with_roc_auc`](Self::with_roc_auc)):
    /// the area under the ROC curve.
    pub roc_auc: Option<f64>,
}

impl Scores {
    /// `model`'s scores on `ds` (encoded by `prep`) under `loss`.
    pub fn of(model: &MLP, ds: &Dataset, loss: Loss, prep: &Preprocess) -> Scores {
        Scores::by(&mut Scorer::new(model), ds, loss, prep)
    }

    /// [`of`](Self::of), run by `scorer`: a run that scores its model on
    /// several sets (and draws it, and measures the importance) records
    /// it once.
    ///
    /// ```
    /// use micrograd::data::{Preprocess, builtin};
    /// use micrograd::nn::Scorer;
    /// use micrograd::train::Scores;
    /// use micrograd::{Loss, MLP};
    ///
    /// let xor = builtin("xor", 1).unwrap();
    /// let (prep, loss) = (Preprocess::identity(&xor), Loss::Svm);
    /// let model = MLP::new(2, &[4, 1]);
    /// let scorer = &mut Scorer::new(&model);
    /// let s = Scores::by(scorer, &xor, loss, &prep).with_roc_auc_by(scorer, &xor, loss);
    /// let t = Scores::of(&model, &xor, loss, &prep).with_roc_auc(&model, &xor, loss);
    /// assert_eq!((s.eval.predictions, s.roc_auc), (t.eval.predictions, t.roc_auc));
    /// ```
    pub fn by(scorer: &mut Scorer, ds: &Dataset, loss: Loss, prep: &Preprocess) -> Scores {
        let eval = evaluate_with(scorer, ds, loss);
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
            roc_auc: None,
        }
    }

    /// These scores with the ROC AUC of `model` on `ds` (the set they were
    /// computed on) for two classes: how well the model's score for the
    /// second class ranks its rows above the first's, whatever the
    /// threshold. It runs the model over `ds` once more, so the command
    /// asks for it on the test rows only. Unchanged for other tasks.
    ///
    /// ```
    /// use micrograd::data::{Preprocess, builtin};
    /// use micrograd::train::Scores;
    /// use micrograd::{Loss, MLP};
    ///
    /// let xor = builtin("xor", 1).unwrap();
    /// let model = MLP::new(2, &[4, 1]);
    /// let s = Scores::of(&model, &xor, Loss::Svm, &Preprocess::identity(&xor));
    /// let s = s.with_roc_auc(&model, &xor, Loss::Svm);
    /// assert!((0.0..=1.0).contains(&s.roc_auc.unwrap()));
    /// assert!(s.line("test").contains("ROC AUC"));
    /// ```
    pub fn with_roc_auc(self, model: &MLP, ds: &Dataset, loss: Loss) -> Scores {
        self.with_roc_auc_by(&mut Scorer::new(model), ds, loss)
    }

    /// [`with_roc_auc`](Self::with_roc_auc), run by `scorer` (see [`by`](Self::by)).
    pub fn with_roc_auc_by(mut self, scorer: &mut Scorer, ds: &Dataset, loss: Loss) -> Scores {
        if ds.nclasses() != 2 {
            return self;
        }
        // through the replay (a batch), not a graph per row on the tape
        let outs = scorer.outputs(&ds.x);
        let score: Vec<f64> = outs
            .iter()
            .map(|out| {
                // the second class's logit over the first's, or the one output
                match (loss, out.as_slice()) {
                    (Loss::CrossEntropy, [a, b, ..]) => b - a,
                    (_, [o, ..]) => *o,
                    _ => f64::NAN,
                }
            })
            .collect();
        let positive: Vec<bool> = ds.y.iter().map(|&y| y == 1.0).collect();
        self.roc_auc = roc_auc(&positive, &score);
        self
    }

    /// One line: `name` (train, test) and the scores.
    pub fn line(&self, name: &str) -> String {
        match (&self.confusion, &self.regression) {
            (Some(c), _) => format!(
                "{name:<6} accuracy {:6.2}%   balanced accuracy {:6.2}%   macro F1 {:.4}   \
                 {}data loss {}",
                100.0 * c.accuracy(),
                100.0 * c.balanced_accuracy(),
                c.macro_f1(),
                self.roc_auc
                    .map_or(String::new(), |a| format!("ROC AUC {a:.4}   ")),
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

    /// The scores as JSON: loss, accuracy, balanced accuracy and macro F1,
    /// per-class precision, recall and F1 and the confusion counts; or loss, MSE, MAE and R². A number that is
    /// not finite is `null`.
    pub fn json(&self) -> Json {
        let finite = |x: f64| x.is_finite().then_some(x);
        match (&self.confusion, &self.regression) {
            (Some(c), _) => json!({
                "loss": finite(self.eval.loss),
                "accuracy": c.accuracy(),
                "balanced_accuracy": c.balanced_accuracy(),
                "macro_f1": c.macro_f1(),
                "roc_auc": self.roc_auc,
                "majority_rate": c.majority_rate(),
                "per_class": c.classes.iter().enumerate().map(|(k, name)| json!({
                    "class": name,
                    "precision": c.precision(k),
                    "recall": c.recall(k),
                    "f1": c.f1(k),
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

    /// A warning naming the classes the model (almost) never answers, when
    /// its overall accuracy hides them: a class with 3 rows or more here
    /// whose recall is 0, or below half the overall accuracy, with what to
    /// try. `None` for numbers, or when every class is found.
    ///
    /// ```
    /// use micrograd::data::Dataset;
    /// use micrograd::train::Scores;
    /// use micrograd::{Loss, MLP, Module};
    ///
    /// // one input, 0 for the 8 rows of "common" and 1 for the 3 of "rare"
    /// let ds = Dataset { name: "t".into(), features: vec!["x".into()], target: "y".into(),
    ///     x: (0..11).map(|i| vec![f64::from(u8::from(i >= 8))]).collect(),
    ///     y: (0..11).map(|i| f64::from(u8::from(i >= 8))).collect(),
    ///     classes: vec!["common".into(), "rare".into()] };
    /// let model = MLP::new(1, &[2]); // weights drawn at random: set them to always say "common"
    /// model.load_parameters(&[0.0, 1.0, 0.0, 0.0]).unwrap();
    /// let prep = micrograd::data::Preprocess::identity(&ds);
    /// let s = Scores::of(&model, &ds, Loss::CrossEntropy, &prep);
    /// let w = s.rare_classes("test").unwrap();
    /// assert!(w.contains("class 'rare' is never predicted (recall 0.0% of its 3 rows)"), "{w}");
    /// assert!(w.contains("--class-weight balanced"));
    /// ```
    pub fn rare_classes(&self, name: &str) -> Option<String> {
        let c = self.confusion.as_ref()?;
        let accuracy = c.accuracy();
        let missed: Vec<String> = (0..c.classes.len())
            .filter_map(|k| {
                let rows = c.counts[k].iter().sum::<usize>();
                let recall = c.recall(k)?;
                let how = if recall == 0.0 { "never" } else { "rarely" };
                (rows >= 3 && (recall == 0.0 || recall < accuracy / 2.0)).then(|| {
                    format!(
                        "class '{}' is {how} predicted (recall {:.1}% of its {rows} rows)",
                        shorten(&c.classes[k], 40),
                        100.0 * recall
                    )
                })
            })
            .collect();
        if missed.is_empty() {
            return None;
        }
        Some(format!(
            "on the {name} rows, {}; overall accuracy {:.2}% hides it (balanced accuracy \
             {:.2}%). Try --class-weight balanced, which makes each class weigh the same \
             in training, or more rows of those classes.",
            crate::text::some_names(&missed, "", 400),
            100.0 * accuracy,
            100.0 * c.balanced_accuracy()
        ))
    }

    /// A warning if the model did no better than knowing nothing: accuracy
    /// at most the majority class's share and balanced accuracy at most
    /// chance (a model trained with balanced classes gives up some accuracy
    /// to find the rare ones, and is not warned), or R² at most 0.
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
            (Some(c), _) if c.accuracy() <= c.majority_rate() && !above_chance(c) => {
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

/// Whether the mean recall clearly beats answering at random: 5 points
/// above 1/classes, over the classes that have samples (a model answering
/// at random lands within a few points of it either way).
fn above_chance(c: &Confusion) -> bool {
    let present = (0..c.classes.len())
        .filter(|&k| c.recall(k).is_some())
        .count();
    c.balanced_accuracy() > 1.0 / present.max(1) as f64 + 0.05
}

/// Where a whole run's time went, in seconds: what `micrograd train`
/// reports, the training loop being only one part of what a user waits for.
///
/// ```
/// use micrograd::train::Timings;
/// let t = Timings { read: 0.25, preprocess: 0.5, train: 2.0, evaluate: 0.5, plots: 1.0,
///     save: 0.25, total: 5.0, cross_validation: None };
/// assert_eq!(t.other(), 0.5);
/// assert_eq!(t.line(), "time: 5.000 s in all: read 0.250, preprocess 0.500, train 2.000, \
///     evaluate 0.500, plots 1.000, save 0.250, other 0.500");
/// assert_eq!(t.json()["train"], 2.0);
/// assert_eq!(t.json()["total"], 5.0);
/// let cv = Timings { cross_validation: Some(4.0), total: 9.0, ..t };
/// assert!(cv.line().contains("preprocess 0.500, cross-validation 4.000, train 2.000"));
/// assert_eq!((cv.other(), cv.json()["cross_validation"].as_f64()), (0.5, Some(4.0)));
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
    /// With cross-validation: preparing, training and scoring every fold
    /// (the final model's training is in `train`).
    pub cross_validation: Option<f64>,
}

impl Timings {
    /// The time in no part: checks, the recipe, building the model.
    pub fn other(&self) -> f64 {
        let parts = self.read + self.preprocess + self.train + self.evaluate + self.plots;
        let folds = self.cross_validation.unwrap_or(0.0);
        (self.total - parts - self.save - folds).max(0.0)
    }

    /// The parts by name, in the order of the run, `other` last.
    fn parts(&self) -> Vec<(&'static str, f64)> {
        let folds = self.cross_validation.map(|s| ("cross-validation", s));
        [("read", self.read), ("preprocess", self.preprocess)]
            .into_iter()
            .chain(folds)
            .chain([
                ("train", self.train),
                ("evaluate", self.evaluate),
                ("plots", self.plots),
                ("save", self.save),
                ("other", self.other()),
            ])
            .collect()
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
            .map(|&(name, s)| (name.replace('-', "_"), json!(s)))
            .collect();
        m.insert("total".to_owned(), json!(self.total));
        Json::Object(m)
    }
}
