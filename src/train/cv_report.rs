//! What cross-validation reports: each test metric as its mean ± standard
//! deviation over the folds, each fold's value, the line printed after a
//! fold, and the JSON `--json` carries.

use serde_json::{Value as Json, json};

use crate::text::fmt_num;
use crate::train::{CrossValidation, Fold, Scores};

/// One metric over the folds: each fold's value, their mean and standard
/// deviation (with n − 1 in the denominator, the spread of a sample; 0 for
/// a single value).
///
/// ```
/// use micrograd::train::Spread;
/// let s = Spread::of(&[0.9, 1.0, 0.8]);
/// assert!((s.mean - 0.9).abs() < 1e-12);
/// assert!((s.sd - 0.1).abs() < 1e-12);
/// assert_eq!(Spread::of(&[0.5]).sd, 0.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    /// Each fold's value, in fold order.
    pub values: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their standard deviation.
    pub sd: f64,
}

impl Spread {
    /// The spread of `values`.
    pub fn of(values: &[f64]) -> Spread {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n.max(1) as f64;
        let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        let sd = if n > 1 {
            (ss / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Spread {
            values: values.to_vec(),
            mean,
            sd,
        }
    }
}

/// The most folds whose values are listed on a metric's line.
const MAX_LISTED: usize = 10;

/// How a metric is named and written.
#[derive(Clone, Copy)]
pub(crate) struct Metric {
    /// Its JSON key.
    pub(crate) key: &'static str,
    /// Its name in the text.
    pub(crate) name: &'static str,
    /// Written as a percentage.
    percent: bool,
    /// Its value in one fold's scores, if it has one.
    pub(crate) get: fn(&Scores) -> Option<f64>,
}

/// The metrics of scores like `s`: for classes, or for a number.
pub(crate) fn metrics_of(s: &Scores) -> &'static [Metric] {
    if s.confusion.is_some() {
        &CLASS_METRICS
    } else {
        &NUMBER_METRICS
    }
}

const CLASS_METRICS: [Metric; 5] = [
    Metric {
        key: "accuracy",
        name: "accuracy",
        percent: true,
        get: |s| s.confusion.as_ref().map(|c| c.accuracy()),
    },
    Metric {
        key: "balanced_accuracy",
        name: "balanced accuracy",
        percent: true,
        get: |s| s.confusion.as_ref().map(|c| c.balanced_accuracy()),
    },
    Metric {
        key: "macro_f1",
        name: "macro F1",
        percent: false,
        get: |s| s.confusion.as_ref().map(|c| c.macro_f1()),
    },
    Metric {
        key: "roc_auc",
        name: "ROC AUC",
        percent: false,
        get: |s| s.roc_auc,
    },
    Metric {
        key: "loss",
        name: "data loss",
        percent: false,
        get: |s| Some(s.eval.loss),
    },
];

const NUMBER_METRICS: [Metric; 3] = [
    Metric {
        key: "r2",
        name: "R²",
        percent: false,
        get: |s| s.regression.map(|r| r.r2),
    },
    Metric {
        key: "mse",
        name: "MSE",
        percent: false,
        get: |s| s.regression.map(|r| r.mse),
    },
    Metric {
        key: "mae",
        name: "MAE",
        percent: false,
        get: |s| s.regression.map(|r| r.mae),
    },
];

impl Metric {
    /// `v` written as this metric is: a percentage, 4 decimals or 6 digits.
    pub(crate) fn write(self, v: f64) -> String {
        if self.percent {
            format!("{:.2}%", 100.0 * v)
        } else if matches!(self.key, "macro_f1" | "roc_auc") {
            format!("{v:.4}")
        } else {
            fmt_num(v)
        }
    }
}

impl CrossValidation {
    /// The metrics reported, each with its spread over the folds that have
    /// it (ROC AUC: two classes, and a fold holding both), by JSON key.
    ///
    /// ```
    /// # use micrograd::data::{Folded, PrepOptions, Table};
    /// # use micrograd::train::{Choices, CvSetup, cross_validate};
    /// # let mut text = String::from("x,y\n");
    /// # for i in 0..20 {
    /// #     let x = i * 7 % 20;
    /// #     text += &format!("{x}.5,{}\n", if x < 10 { "low" } else { "high" });
    /// # }
    /// # let t = Table::parse(&text, "t.csv").unwrap();
    /// // 20 rows in 2 folds, each trained for 5 epochs
    /// let folded = Folded::new(&t, "y", &PrepOptions::default(), 2, 1).unwrap();
    /// let choices = Choices { epochs: Some(5), ..Choices::default() };
    /// let cv = cross_validate(&folded, &CvSetup { choices, ..CvSetup::default() }, |_| {}).unwrap();
    /// let keys: Vec<&str> = cv.spreads().iter().map(|(k, _)| *k).collect();
    /// assert_eq!(keys, ["accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "loss"]);
    /// assert_eq!(cv.spreads()[0].1.values.len(), 2);
    /// ```
    pub fn spreads(&self) -> Vec<(&'static str, Spread)> {
        self.metrics()
            .into_iter()
            .filter_map(|(m, s)| s.map(|s| (m.key, s)))
            .collect()
    }

    fn metrics(&self) -> Vec<(Metric, Option<Spread>)> {
        metrics_of(&self.pooled)
            .iter()
            .map(|&m| {
                // a fold's R² is -inf when its test targets are all one value: left out
                let values: Vec<f64> = (self.folds.iter())
                    .filter_map(|f| (m.get)(&f.scores).filter(|v| v.is_finite()))
                    .collect();
                (m, (!values.is_empty()).then(|| Spread::of(&values)))
            })
            .collect()
    }

    /// The lines the command prints: a heading, then a metric per line as
    /// mean ± sd with each fold's value.
    ///
    /// ```
    /// # use micrograd::data::{Folded, PrepOptions, Table};
    /// # use micrograd::train::{Choices, CvSetup, cross_validate};
    /// # let mut text = String::from("x,y\n");
    /// # for i in 0..20 {
    /// #     let x = i * 7 % 20;
    /// #     text += &format!("{x}.5,{}\n", if x < 10 { "low" } else { "high" });
    /// # }
    /// # let t = Table::parse(&text, "t.csv").unwrap();
    /// // 20 rows in 2 folds, each trained for 5 epochs
    /// let folded = Folded::new(&t, "y", &PrepOptions::default(), 2, 1).unwrap();
    /// let choices = Choices { epochs: Some(5), ..Choices::default() };
    /// let cv = cross_validate(&folded, &CvSetup { choices, ..CvSetup::default() }, |_| {}).unwrap();
    /// let lines = cv.lines();
    /// assert!(lines[0].starts_with("test   2-fold cross-validation"));
    /// assert!(lines[1].starts_with("  accuracy  ") && lines[1].contains(" ± "), "{}", lines[1]);
    /// ```
    pub fn lines(&self) -> Vec<String> {
        let k = self.folds.len();
        let mut out = vec![format!(
            "test   {k}-fold cross-validation, mean ± sd over the folds (each row tested \
             once, by the model trained without its fold):"
        )];
        for (m, s) in self.metrics() {
            let Some(s) = s else { continue };
            let each: Vec<String> = s.values.iter().map(|&v| m.write(v)).collect();
            let mean = format!("{} ± {}", m.write(s.mean), m.write(s.sd));
            let n = s.values.len();
            let some = match m.key {
                _ if n == k => String::new(),
                "roc_auc" => format!(" (the {n} of {k} folds whose test rows have both classes)"),
                _ => format!(
                    " (the {n} of {k} folds where it is a number: the others' test rows all \
                     have the same target)"
                ),
            };
            // many folds' values would not fit on a line: --json has them
            let each = if k <= MAX_LISTED {
                format!("folds: {}", each.join(" "))
            } else {
                "each fold's value: --json".to_owned()
            };
            out.push(format!("  {:<18} {mean:<20} {each}{some}", m.name));
        }
        out
    }

    /// The folds as JSON: their number, each metric's mean and sd, each
    /// fold's sizes and scores, and the out-of-fold scores (per class and
    /// the confusion counts for classes), with the notes.
    ///
    /// ```
    /// # use micrograd::data::{Folded, PrepOptions, Table};
    /// # use micrograd::train::{Choices, CvSetup, cross_validate};
    /// # let mut text = String::from("x,y\n");
    /// # for i in 0..20 {
    /// #     let x = i * 7 % 20;
    /// #     text += &format!("{x}.5,{}\n", if x < 10 { "low" } else { "high" });
    /// # }
    /// # let t = Table::parse(&text, "t.csv").unwrap();
    /// // 20 rows in 2 folds, each trained for 5 epochs
    /// let folded = Folded::new(&t, "y", &PrepOptions::default(), 2, 1).unwrap();
    /// let choices = Choices { epochs: Some(5), ..Choices::default() };
    /// let cv = cross_validate(&folded, &CvSetup { choices, ..CvSetup::default() }, |_| {}).unwrap();
    /// let j = cv.json();
    /// assert_eq!((j["folds"].as_u64(), j["rows"].as_u64()), (Some(2), Some(20)));
    /// assert!(j["mean"]["accuracy"].is_number() && j["sd"]["macro_f1"].is_number());
    /// assert_eq!(j["per_fold"][1]["fold"], 2);
    /// assert_eq!(j["out_of_fold"]["confusion"].as_array().unwrap().len(), 2);
    /// ```
    pub fn json(&self) -> Json {
        let spreads = self.spreads();
        let map = |f: fn(&Spread) -> f64| {
            let m: serde_json::Map<String, Json> = spreads
                .iter()
                .map(|(k, s)| ((*k).to_owned(), json!(finite(f(s)))))
                .collect();
            Json::Object(m)
        };
        json!({
            "folds": self.folds.len(),
            "rows": self.folds.iter().map(|f| f.rows[2]).sum::<usize>(),
            "mean": map(|s| s.mean),
            "sd": map(|s| s.sd),
            "per_fold": self.folds.iter().map(Fold::json).collect::<Vec<_>>(),
            "out_of_fold": self.pooled.json(),
            "notes": self.notes,
        })
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl Fold {
    /// One line on this fold's round, of `k`: its rows, its steps and
    /// what it scored on its test rows.
    ///
    /// ```
    /// # use micrograd::data::{Folded, PrepOptions, Table};
    /// # use micrograd::train::{Choices, CvSetup, cross_validate};
    /// # let mut text = String::from("x,y\n");
    /// # for i in 0..20 {
    /// #     let x = i * 7 % 20;
    /// #     text += &format!("{x}.5,{}\n", if x < 10 { "low" } else { "high" });
    /// # }
    /// # let t = Table::parse(&text, "t.csv").unwrap();
    /// // 20 rows in 2 folds, each trained for 5 epochs
    /// let folded = Folded::new(&t, "y", &PrepOptions::default(), 2, 1).unwrap();
    /// let choices = Choices { epochs: Some(5), ..Choices::default() };
    /// let cv = cross_validate(&folded, &CvSetup { choices, ..CvSetup::default() }, |_| {}).unwrap();
    /// let line = cv.folds[0].line(2);
    /// assert!(line.starts_with("fold 1/2: 8 rows to train, 2 to stop early, 10 to test: 5 steps; \
    ///     test accuracy "), "{line}");
    /// assert_eq!(cv.folds[1].json()["samples"]["test"], 10);
    /// ```
    pub fn line(&self, k: usize) -> String {
        let [train, valid, test] = self.rows;
        let score = match (&self.scores.confusion, &self.scores.regression) {
            (Some(c), _) => format!("test accuracy {:.2}%", 100.0 * c.accuracy()),
            (_, Some(r)) if r.r2.is_finite() => format!("test R² {}", fmt_num(r.r2)),
            (_, Some(r)) => format!(
                "test MAE {} (no R²: its test rows all have the same target)",
                fmt_num(r.mae)
            ),
            _ => String::new(),
        };
        format!(
            "fold {}/{k}: {train} rows to train, {valid} to stop early, {test} to test: {} \
             steps; {score}",
            self.index + 1,
            self.steps
        )
    }

    /// This fold as JSON: its number (from 1), sizes, the file's line
    /// numbers of its test rows, steps, and scores
    /// (see [`line`](Self::line) for an example).
    pub fn json(&self) -> Json {
        let mut j = self.scores.json();
        if let Json::Object(m) = &mut j {
            let [train, valid, test] = self.rows;
            m.insert("fold".into(), json!(self.index + 1));
            m.insert(
                "samples".into(),
                json!({"train": train, "valid": valid, "test": test}),
            );
            m.insert("test_lines".into(), json!(self.lines));
            m.insert("steps".into(), json!(self.steps));
            m.insert("best_step".into(), json!(self.best_step));
        }
        j
    }
}
