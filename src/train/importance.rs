//! Permutation importance: how much a trained model's main score (accuracy
//! for classes, R² for a number) drops when one input column's values are
//! shuffled among the rows, breaking its link with the target while
//! keeping its values. A column the model does not use drops nothing; the
//! column it leans on most drops the most. A text column's one-hot inputs
//! are shuffled together, as the one column they came from.
//!
//! The rows are scored through [`Scorer`] (the batched forward pass, no
//! graph per row), each column shuffled [`REPEATS`] times with a seeded
//! [`Rng`], so the same run gives the same numbers.

use std::ops::Range;

use serde_json::{Value as Json, json};

use crate::data::{Dataset, Input, Preprocess};
use crate::metrics::Regression;
use crate::nn::{Loss, MLP, Scorer};
use crate::rng::Rng;
use crate::text::shorten;
use crate::train::Spread;

/// How many times each column is shuffled.
pub const REPEATS: usize = 5;
/// The most rows scored: a larger set is sampled (at random, seeded) down
/// to this many, so a large table's importance takes seconds, not minutes.
pub const MAX_ROWS: usize = 5000;
/// How many columns the command's summary lists (`--json` and the
/// picture have them all).
pub const SHOWN: usize = 10;

/// Which rows the importance was measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measured {
    /// The test rows, which the model never saw.
    Test,
    /// The rows held out of training to decide when to stop: the model
    /// never trained on them, though they chose its epoch.
    Validation,
    /// The training rows (nothing was held out): what the model leans
    /// on, not how well that carries over to new rows.
    Train,
}

impl Measured {
    /// Its name in `--json`.
    pub fn key(self) -> &'static str {
        match self {
            Measured::Test => "test",
            Measured::Validation => "validation",
            Measured::Train => "train",
        }
    }
}

/// One column's importance.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnImportance {
    /// The column's name in the table.
    pub column: String,
    /// The model inputs it makes (one, or one per category).
    pub inputs: Range<usize>,
    /// The score's drop after each shuffle, and their mean and sd.
    pub drop: Spread,
}

/// Every input column's permutation importance; see the module doc.
#[derive(Clone, Debug, PartialEq)]
pub struct Importance {
    /// The score that drops: `"accuracy"` or `"R²"`.
    pub metric: &'static str,
    /// The score before any shuffle, on the same rows.
    pub baseline: f64,
    /// The columns, largest mean drop first.
    pub columns: Vec<ColumnImportance>,
    /// The rows scored: at most [`MAX_ROWS`], drawn from the set.
    pub rows: usize,
    /// How many rows the set had before sampling.
    pub of_rows: usize,
    /// Shuffles per column.
    pub repeats: usize,
    /// Which rows.
    pub measured: Measured,
}

impl Importance {
    /// The importance for a finished run, on the rows it can be measured
    /// on most honestly: the test rows if any were held out, else (as in
    /// a cross-validated run, whose saved model trains on every row) the
    /// rows held out to decide when to stop, else the training rows.
    /// `None` when that set has fewer than 2 rows, or its score is not a
    /// number (R² of rows whose targets are all the same).
    ///
    /// ```
    /// use micrograd::data::{Preprocess, moons};
    /// use micrograd::train::{Importance, Measured};
    /// use micrograd::{Loss, MLP};
    /// let (train, test) = (moons(40, 0.1, 1), moons(20, 0.1, 2));
    /// let prep = Preprocess::identity(&train);
    /// let model = MLP::new(2, &[4, 1]);
    /// let i = Importance::of_run(&model, &prep, Loss::Svm, [Some(&test), None, Some(&train)], 1)
    ///     .unwrap();
    /// assert_eq!((i.measured, i.rows, i.columns.len()), (Measured::Test, 20, 2));
    /// ```
    pub fn of_run(
        model: &MLP,
        prep: &Preprocess,
        loss: Loss,
        sets: [Option<&Dataset>; 3],
        seed: u64,
    ) -> Option<Importance> {
        Importance::of_run_by(&mut Scorer::new(model), prep, loss, sets, seed)
    }

    /// [`of_run`](Self::of_run), the rows run by `scorer`, which may have
    /// recorded its model already (see [`Scores::by`](crate::train::Scores::by)).
    ///
    /// ```
    /// use micrograd::data::{Preprocess, moons};
    /// use micrograd::nn::Scorer;
    /// use micrograd::train::Importance;
    /// use micrograd::{Loss, MLP};
    /// let test = moons(20, 0.1, 2);
    /// let (prep, model) = (Preprocess::identity(&test), MLP::new(2, &[4, 1]));
    /// let sets = [Some(&test), None, None];
    /// let a = Importance::of_run_by(&mut Scorer::new(&model), &prep, Loss::Svm, sets, 1).unwrap();
    /// let b = Importance::of_run(&model, &prep, Loss::Svm, sets, 1).unwrap();
    /// assert_eq!(a.columns[0].drop.mean, b.columns[0].drop.mean);
    /// ```
    pub fn of_run_by(
        scorer: &mut Scorer,
        prep: &Preprocess,
        loss: Loss,
        [test, valid, train]: [Option<&Dataset>; 3],
        seed: u64,
    ) -> Option<Importance> {
        let sets = [
            (test, Measured::Test),
            (valid, Measured::Validation),
            (train, Measured::Train),
        ];
        let (ds, measured) = sets
            .into_iter()
            .find_map(|(d, m)| d.filter(|d| !d.is_empty()).map(|d| (d, m)))?;
        (ds.len() >= 2)
            .then(|| Importance::measure(scorer, prep, loss, ds, measured, seed))
            .filter(|i| i.baseline.is_finite())
    }

    /// The importance of each column of `ds` (encoded by `prep`) to
    /// `model`, measured on its rows, called `measured`; shuffled with
    /// `seed`.
    pub fn of(
        model: &MLP,
        prep: &Preprocess,
        loss: Loss,
        ds: &Dataset,
        measured: Measured,
        seed: u64,
    ) -> Importance {
        Importance::measure(&mut Scorer::new(model), prep, loss, ds, measured, seed)
    }

    /// [`of`](Self::of), the rows run by `scorer`.
    fn measure(
        scorer: &mut Scorer,
        prep: &Preprocess,
        loss: Loss,
        ds: &Dataset,
        measured: Measured,
        seed: u64,
    ) -> Importance {
        let mut rng = Rng::new(seed ^ 0x1_4d90_47a2);
        let rows = sample(ds, &mut rng);
        let x: Vec<Vec<f64>> = rows.iter().map(|&i| ds.x[i].clone()).collect();
        let y: Vec<f64> = rows.iter().map(|&i| ds.y[i]).collect();
        let judge = Judge {
            loss,
            prep,
            classes: ds.nclasses(),
            y,
        };
        let baseline = judge.score(scorer, &x);
        let mut work = x.clone();
        let mut columns: Vec<ColumnImportance> = groups(prep, ds)
            .into_iter()
            .map(|(column, inputs)| {
                let drops: Vec<f64> = (0..REPEATS)
                    .map(|_| {
                        shuffle_into(&mut work, &x, inputs.clone(), &mut rng);
                        let drop = baseline - judge.score(scorer, &work);
                        restore(&mut work, &x, inputs.clone());
                        drop
                    })
                    .collect();
                let drop = Spread::of(&drops);
                ColumnImportance {
                    column,
                    inputs,
                    drop,
                }
            })
            .collect();
        columns.sort_by(|a, b| b.drop.mean.total_cmp(&a.drop.mean));
        Importance {
            metric: if judge.classes > 0 { "accuracy" } else { "R²" },
            baseline,
            columns,
            rows: rows.len(),
            of_rows: ds.len(),
            repeats: REPEATS,
            measured,
        }
    }

    /// Which rows, in words: "the 30 test rows".
    pub fn rows_in_words(&self) -> String {
        let n = self.of_rows;
        let set = match self.measured {
            Measured::Test => format!("the {n} test rows"),
            Measured::Validation => {
                format!("the {n} rows the saved model held out to decide when to stop")
            }
            Measured::Train => format!("the {n} training rows"),
        };
        if self.rows < n {
            format!("{} of {set}, drawn at random", self.rows)
        } else {
            set
        }
    }

    /// What the rows mean for the numbers, when it needs saying: the
    /// rows that decided when to stop were never trained on; the training
    /// rows show what the model leans on, not what carries over.
    pub fn caveat(&self) -> Option<&'static str> {
        match self.measured {
            Measured::Test => None,
            Measured::Validation => Some(
                "the saved model never trained on these rows, though they chose when it stopped",
            ),
            Measured::Train => Some(
                "no rows were held out, so this shows what the model leans on, not how well \
                 that carries over to new rows",
            ),
        }
    }

    /// A drop written as the metric is: points of accuracy, or R².
    pub fn write(&self, v: f64) -> String {
        if self.metric == "accuracy" {
            format!("{:.2}%", 100.0 * v)
        } else {
            format!("{v:.4}")
        }
    }

    /// The lines the command prints: what was measured, then the
    /// [`SHOWN`] most important columns, mean ± sd.
    ///
    /// ```
    /// # use micrograd::data::{Preprocess, moons};
    /// # use micrograd::train::{Importance, Measured};
    /// # use micrograd::{Loss, MLP};
    /// # let ds = moons(40, 0.1, 1);
    /// let i = Importance::of(&MLP::new(2, &[4, 1]), &Preprocess::identity(&ds), Loss::Svm, &ds,
    ///     Measured::Test, 1);
    /// let lines = i.lines();
    /// assert!(lines[0].starts_with("importance: how much the accuracy drops"), "{}", lines[0]);
    /// assert!(lines[1].starts_with("  x") && lines[1].contains(" ± "), "{}", lines[1]);
    /// ```
    pub fn lines(&self) -> Vec<String> {
        let caveat = self.caveat().map_or(String::new(), |c| format!("; {c}"));
        let mut out = vec![format!(
            "importance: how much the {} drops when one column's values are shuffled among \
             {}, mean ± sd over {} shuffles (near 0: the model does not use the column){caveat}",
            self.metric,
            self.rows_in_words(),
            self.repeats
        )];
        let width = (self.columns.iter().take(SHOWN))
            .map(|c| shorten(&c.column, 40).chars().count())
            .max()
            .unwrap_or(0);
        for c in self.columns.iter().take(SHOWN) {
            let mean = self.write(c.drop.mean);
            out.push(format!(
                "  {:<width$}  {mean:>8} ± {}",
                shorten(&c.column, 40),
                self.write(c.drop.sd)
            ));
        }
        if self.columns.len() > SHOWN {
            out.push(format!(
                "  … and {} more columns (importance.svg and --json have them all)",
                self.columns.len() - SHOWN
            ));
        }
        out
    }

    /// As JSON: the metric, the rows, and each column's drops.
    pub fn json(&self) -> Json {
        json!({
            "metric": self.metric,
            "baseline": self.baseline.is_finite().then_some(self.baseline),
            "measured_on": self.measured.key(),
            "rows": self.rows,
            "of_rows": self.of_rows,
            "repeats": self.repeats,
            "rows_in_words": self.rows_in_words(),
            "caveat": self.caveat(),
            "columns": self.columns.iter().map(|c| json!({
                "column": c.column,
                "inputs": c.inputs.len(),
                "mean": finite(c.drop.mean),
                "sd": finite(c.drop.sd),
                "drops": c.drop.values.iter().map(|&v| finite(v)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// How the rows are scored: the loss's predictions against `y`.
struct Judge<'a> {
    loss: Loss,
    prep: &'a Preprocess,
    classes: usize,
    y: Vec<f64>,
}

impl Judge<'_> {
    /// Accuracy for classes, R² in the target's units for a number.
    fn score(&self, scorer: &mut Scorer, x: &[Vec<f64>]) -> f64 {
        let outs = scorer.outputs(x);
        let predicted = outs.iter().map(|o| self.loss.predict(o, self.classes));
        if self.classes > 0 {
            let right = predicted.zip(&self.y).filter(|(p, t)| p == *t).count();
            return right as f64 / self.y.len().max(1) as f64;
        }
        let t = &self.prep.target;
        let predicted: Vec<f64> = predicted.map(|p| t.to_target(p)).collect();
        let truth: Vec<f64> = self.y.iter().map(|&v| t.to_target(v)).collect();
        Regression::new(&truth, &predicted).r2
    }
}

/// The rows to score: all of them, or [`MAX_ROWS`] drawn at random, in
/// their order.
fn sample(ds: &Dataset, rng: &mut Rng) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..ds.len()).collect();
    if rows.len() > MAX_ROWS {
        rng.shuffle(&mut rows);
        rows.truncate(MAX_ROWS);
        rows.sort_unstable();
    }
    rows
}

/// Each input column and the model inputs it makes: from `prep` when it
/// describes `ds`'s inputs, else one column per input.
fn groups(prep: &Preprocess, ds: &Dataset) -> Vec<(String, Range<usize>)> {
    if prep.nfeatures() != ds.nfeatures() {
        return (ds.features.iter().enumerate())
            .map(|(i, f)| (f.clone(), i..i + 1))
            .collect();
    }
    let mut start = 0;
    prep.inputs
        .iter()
        .map(|input| {
            let width = match input {
                Input::Numeric { .. } => 1,
                Input::OneHot { categories, .. } => categories.len(),
            };
            start += width;
            (input.column().to_owned(), start - width..start)
        })
        .collect()
}

/// `work`'s inputs `cols` taken from the rows of `x` in a shuffled order.
fn shuffle_into(work: &mut [Vec<f64>], x: &[Vec<f64>], cols: Range<usize>, rng: &mut Rng) {
    let mut order: Vec<usize> = (0..x.len()).collect();
    rng.shuffle(&mut order);
    for (row, &from) in work.iter_mut().zip(&order) {
        row[cols.clone()].copy_from_slice(&x[from][cols.clone()]);
    }
}

/// `work`'s inputs `cols` put back as in `x`.
fn restore(work: &mut [Vec<f64>], x: &[Vec<f64>], cols: Range<usize>) {
    for (row, orig) in work.iter_mut().zip(x) {
        row[cols.clone()].copy_from_slice(&orig[cols.clone()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{PrepOptions, Table};
    use crate::nn::Module;
    use crate::train::{Choices, DataKind, Recipe, fit};

    /// A table whose class is the sign of `signal`; `noise` is random and
    /// `colour` is text unrelated to the class.
    fn table(rows: usize, seed: u64) -> Table {
        let mut rng = Rng::new(seed);
        let mut text = String::from("noise,signal,colour,label\n");
        for _ in 0..rows {
            let s = rng.uniform(-1.0, 1.0);
            let colour = ["red", "green", "blue"][rng.below(3)];
            let label = if s > 0.0 { "up" } else { "down" };
            text += &format!("{:.4},{s:.4},{colour},{label}\n", rng.uniform(-1.0, 1.0));
        }
        Table::parse(&text, "t.csv").unwrap()
    }

    fn trained() -> (MLP, Preprocess, Dataset, Loss) {
        let t = table(400, 1);
        let rows: Vec<usize> = (0..300).collect();
        let (prep, _) = Preprocess::fit(&t, "label", &rows, &PrepOptions::default()).unwrap();
        let (train, _) = prep.dataset(&t, &rows).unwrap();
        let (test, _) = prep.dataset(&t, &(300..400).collect::<Vec<_>>()).unwrap();
        let choices = Choices {
            epochs: Some(40),
            ..Choices::default()
        };
        let r = Recipe::choose(DataKind::Table, &train, false, &choices).unwrap();
        let model = r.model(train.nfeatures(), train.nclasses(), 1);
        fit(&model, &train, &r.cfg, |_| {});
        (model, prep, test, r.cfg.loss)
    }

    #[test]
    fn the_column_the_target_is_made_from_matters_most_and_noise_not_at_all() {
        let (model, prep, test, loss) = trained();
        let i = Importance::of(&model, &prep, loss, &test, Measured::Test, 7);
        assert!(i.baseline > 0.9, "{}", i.baseline);
        let names: Vec<&str> = i.columns.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(names[0], "signal", "{names:?}");
        assert!(i.columns[0].drop.mean > 0.3, "{:?}", i.columns[0]);
        for c in &i.columns[1..] {
            assert!(c.drop.mean.abs() < 0.05, "{c:?}");
        }
        // the text column's three one-hot inputs count as one column
        let colour = i.columns.iter().find(|c| c.column == "colour").unwrap();
        assert_eq!(colour.inputs.len(), 3);
        assert_eq!(i.columns.len(), 3);
        assert_eq!(i.columns[0].drop.values.len(), REPEATS);
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let (model, prep, test, loss) = trained();
        let a = Importance::of(&model, &prep, loss, &test, Measured::Test, 3);
        let b = Importance::of(&model, &prep, loss, &test, Measured::Test, 3);
        assert_eq!(a, b);
        let c = Importance::of(&model, &prep, loss, &test, Measured::Test, 4);
        assert_ne!(a.columns[0].drop.values, c.columns[0].drop.values);
    }

    #[test]
    fn a_number_target_is_judged_by_r2_and_large_sets_are_sampled() {
        let n = MAX_ROWS + 10;
        let ds = Dataset {
            name: "t".into(),
            features: vec!["a".into(), "b".into()],
            target: "y".into(),
            x: (0..n)
                .map(|i| vec![(i % 17) as f64, (i % 5) as f64])
                .collect(),
            y: (0..n).map(|i| (i % 17) as f64).collect(),
            classes: vec![],
        };
        let model = MLP::builder(2, &[1])
            .output(crate::Activation::Linear)
            .build();
        model.load_parameters(&[1.0, 0.0, 0.0]).unwrap(); // y = a
        let prep = Preprocess::identity(&ds);
        let i = Importance::of(&model, &prep, Loss::Mse, &ds, Measured::Train, 1);
        assert_eq!((i.metric, i.rows, i.of_rows), ("R²", MAX_ROWS, n));
        assert!((i.baseline - 1.0).abs() < 1e-12);
        assert_eq!(i.columns[0].column, "a");
        assert!(i.columns[0].drop.mean > 1.5, "{:?}", i.columns[0]);
        assert_eq!(i.columns[1].drop.mean, 0.0);
        assert_eq!(
            i.rows_in_words(),
            "5000 of the 5010 training rows, drawn at random"
        );
        assert!(i.caveat().unwrap().contains("not how well"));
        assert_eq!(i.json()["columns"][0]["column"], "a");
        // no R² when every target is the same: no importance, rather than NaN
        let flat = Dataset {
            y: vec![3.0; n],
            ..ds
        };
        let none = Importance::of_run(&model, &prep, Loss::Mse, [Some(&flat), None, None], 1);
        assert_eq!(none, None);
    }
}
