//! Cross-validation: when a table is scored on K folds rather than one
//! held-out split, and the K rounds themselves. Each round trains on the
//! other folds' rows with the same recipe as a normal run (its own
//! preprocessing, validation rows and early stopping) and is scored on its
//! fold, so every row is tested once, by a model that never saw it.
//!
//! It is the default for a table whose single test split would be small:
//! thirty test rows make each mistake worth 3.3 points, and which thirty
//! they are moves the score by more than most changes to the model.

use std::fmt;

use crate::data::{DataError, Folded, Table, is_missing};
use crate::metrics::{Confusion, Regression};
use crate::train::{
    Choices, ClassWeight, DataKind, Divergence, Evaluation, Recipe, RecipeError, Scores, fit_recipe,
};

/// The share of a table's rows a single split tests on, unless told.
pub const TEST_FRACTION: f64 = 0.2;
/// Cross-validation is the default when a single split would test on
/// fewer rows than this.
pub const MIN_TEST_ROWS: usize = 100;
/// ... and the table has at most this many rows: above it the single split
/// is kept, as cross-validation trains K + 1 networks instead of one.
pub const MAX_DEFAULT_ROWS: usize = 5000;
/// How many folds the default cross-validation uses.
pub const DEFAULT_FOLDS: usize = 5;

/// What the user said about how to test: `--cv`, `--test-fraction` and
/// whether a separate test file was given.
///
/// ```
/// use micrograd::train::Holdout;
/// let h = Holdout::default();
/// assert_eq!((h.cv, h.test_fraction, h.test_data), (None, None, false));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Holdout {
    /// The folds asked for: 0 for a single split, `None` to let the table decide.
    pub cv: Option<usize>,
    /// The share of rows asked to be held out for a single test split.
    pub test_fraction: Option<f64>,
    /// Whether a separate test table was given.
    pub test_data: bool,
}

/// A decision to cross-validate: how many folds, and a note saying why
/// when it was not asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct CvPlan {
    /// How many folds.
    pub folds: usize,
    /// Why, or what it costs: a line for the user.
    pub note: Option<String>,
}

impl CvPlan {
    /// Whether and how to cross-validate a table of `rows` rows (those with
    /// a target): `--cv K` does, `--cv 0`, `--test-fraction` or a test file
    /// do not, and otherwise [`DEFAULT_FOLDS`] folds are used when a
    /// single split would test on fewer than [`MIN_TEST_ROWS`] rows of a
    /// table of at most [`MAX_DEFAULT_ROWS`]. A request that cannot be
    /// met is an error saying why.
    ///
    /// ```
    /// use micrograd::train::{CvPlan, Holdout};
    /// let default = Holdout::default();
    /// let iris = CvPlan::choose(150, &default).unwrap().unwrap();
    /// assert_eq!(iris.folds, 5);
    /// assert!(iris.note.unwrap().contains("would test on 30 rows"));
    /// assert_eq!(CvPlan::choose(600, &default).unwrap(), None); // 120 test rows: enough
    /// let single = Holdout { cv: Some(0), ..Holdout::default() };
    /// assert_eq!(CvPlan::choose(150, &single).unwrap(), None);
    /// let one = Holdout { cv: Some(1), ..Holdout::default() };
    /// assert!(CvPlan::choose(150, &one).unwrap_err().contains("at least 2 folds"));
    /// ```
    pub fn choose(rows: usize, h: &Holdout) -> Result<Option<CvPlan>, String> {
        match h.cv {
            Some(0) => Ok(None),
            Some(k) => CvPlan::asked(rows, k, h).map(Some),
            None if h.test_fraction.is_some() || h.test_data => Ok(None),
            None => Ok(CvPlan::by_default(rows)),
        }
    }

    /// The plan for `--cv K`, checked.
    fn asked(rows: usize, k: usize, h: &Holdout) -> Result<CvPlan, String> {
        if k == 1 {
            return Err(
                "--cv 1: cross-validation needs at least 2 folds (--cv 0 tests on \
                        a single held-out split)"
                    .into(),
            );
        }
        if h.test_data || h.test_fraction.is_some() {
            let other = if h.test_data {
                "--test-data"
            } else {
                "--test-fraction"
            };
            return Err(format!(
                "--cv {k} and {other} both say how to test: choose one (--cv tests every row \
                 once, in {k} folds; {other} tests on one held-out set)"
            ));
        }
        if k > rows {
            return Err(format!(
                "--cv {k}: the table has {rows} row{} with a target, and each fold needs \
                 one to test on: use at most --cv {rows}",
                if rows == 1 { "" } else { "s" }
            ));
        }
        let note = (rows > MAX_DEFAULT_ROWS).then(|| {
            format!(
                "--cv {k} on {rows} rows trains {} networks, one per fold and the final one: \
                 about {} times as long as a single split",
                k + 1,
                k + 1
            )
        });
        Ok(CvPlan { folds: k, note })
    }

    /// The default: cross-validate a table too small for a good test split.
    fn by_default(rows: usize) -> Option<CvPlan> {
        let test = (rows as f64 * TEST_FRACTION).round() as usize;
        let folds = DEFAULT_FOLDS.min(rows);
        if test >= MIN_TEST_ROWS || rows > MAX_DEFAULT_ROWS || folds < 2 {
            return None;
        }
        let note = format!(
            "testing by {folds}-fold cross-validation: a {:.0}% test split of these {rows} \
             rows would test on {test} row{} (fewer than {MIN_TEST_ROWS}), each mistake \
             worth {:.1} points; instead every row is tested once, by a model trained without \
             it. --cv 0 (or --test-fraction F, or --test-data FILE) tests on a single split",
            100.0 * TEST_FRACTION,
            if test == 1 { "" } else { "s" },
            100.0 / test.max(1) as f64
        );
        Some(CvPlan {
            folds,
            note: Some(note),
        })
    }

    /// [`choose`](Self::choose) for `table`, counting the rows whose
    /// `target` cell is not empty; `None` if there is no such column (the
    /// preparation of the table reports that).
    ///
    /// ```
    /// use micrograd::data::Table;
    /// use micrograd::train::{CvPlan, Holdout};
    /// let t = Table::parse("x,y\n1,a\n2,\n3,b\n", "t.csv").unwrap();
    /// let p = CvPlan::for_table(&t, "y", &Holdout::default()).unwrap().unwrap();
    /// assert_eq!(p.folds, 2); // two rows with a target: two folds
    /// assert_eq!(CvPlan::for_table(&t, "nope", &Holdout::default()).unwrap(), None);
    /// ```
    pub fn for_table(table: &Table, target: &str, h: &Holdout) -> Result<Option<CvPlan>, String> {
        let Ok(t) = table.require(target) else {
            return Ok(None);
        };
        let rows = table.rows().filter(|r| !is_missing(r.cell(t))).count();
        CvPlan::choose(rows, h)
    }
}

/// How each fold is trained: the user's choices, the class weighting, and
/// the seed for the validation split, the weights and the batches.
#[derive(Clone, Debug, Default)]
pub struct CvSetup {
    /// The recipe's choices, as for a normal run.
    pub choices: Choices,
    /// How much each class weighs in training.
    pub class_weight: ClassWeight,
    /// The seed.
    pub seed: u64,
}

/// One fold's round: its sizes, how training went, and its test scores.
#[derive(Clone, Debug)]
pub struct Fold {
    /// Which fold, from 0.
    pub index: usize,
    /// Rows trained on, held out for early stopping, and tested on.
    pub rows: [usize; 3],
    /// The file's line numbers of the rows tested on, to score another
    /// model on the same folds.
    pub lines: Vec<u64>,
    /// Optimizer steps run.
    pub steps: usize,
    /// With early stopping: the step whose weights were kept.
    pub best_step: Option<usize>,
    /// The scores on the fold's rows (with ROC AUC for two classes).
    pub scores: Scores,
    /// The fold's targets and predictions: class indices, or numbers in
    /// the target's units.
    pub truth: Vec<f64>,
    /// See [`truth`](Self::truth).
    pub predicted: Vec<f64>,
}

/// What went wrong in a fold's round.
#[derive(Clone, Debug)]
pub enum CvError {
    /// Preparing the fold's rows failed (such as a number target that is
    /// constant on its training rows).
    Data {
        /// The fold, from 0.
        fold: usize,
        /// What failed.
        error: DataError,
    },
    /// The recipe refused a choice.
    Recipe(RecipeError),
    /// The class weighting could not be applied.
    ClassWeight(String),
    /// Training diverged.
    Diverged {
        /// The fold, from 0.
        fold: usize,
        /// How.
        divergence: Divergence,
        /// The recipe it was trained with.
        recipe: Box<Recipe>,
    },
}

impl fmt::Display for CvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CvError::Data { fold, error } => {
                write!(f, "cross-validation fold {}: {error}", fold + 1)
            }
            CvError::Recipe(e) => write!(f, "{e}"),
            CvError::ClassWeight(m) => write!(f, "{m}"),
            CvError::Diverged {
                fold, divergence, ..
            } => write!(
                f,
                "cross-validation fold {}: training diverged: {divergence}",
                fold + 1
            ),
        }
    }
}

impl std::error::Error for CvError {}

/// Every fold's round, and their test rows scored together.
#[derive(Clone, Debug)]
pub struct CrossValidation {
    /// The rounds, in fold order.
    pub folds: Vec<Fold>,
    /// Every row's prediction by the model that did not train on it, scored
    /// together: the per-class table and confusion matrix over the whole
    /// table. Its loss is the mean over the rows; it has no ROC AUC (the
    /// folds' models score on scales of their own).
    pub pooled: Scores,
    /// Lines for the user: classes too small for the folds, categories a
    /// fold's training rows never had.
    pub notes: Vec<String>,
}

/// Runs the folds of `folded`, one round each (see the module doc), calling
/// `on_fold` after each.
///
/// ```
/// use micrograd::data::{Folded, PrepOptions, Table};
/// use micrograd::train::{Choices, CvSetup, cross_validate};
/// let mut text = String::from("x,y\n");
/// for i in 0..40 {
///     let x = (i * 37 % 40) as f64 / 4.0;
///     text += &format!("{x},{}\n", if x < 5.0 { "low" } else { "high" });
/// }
/// let t = Table::parse(&text, "t.csv").unwrap();
/// let folded = Folded::new(&t, "y", &PrepOptions::default(), 4, 1).unwrap();
/// let setup = CvSetup { choices: Choices { epochs: Some(50), ..Choices::default() },
///     ..CvSetup::default() };
/// let mut seen = 0;
/// let cv = cross_validate(&folded, &setup, |_| seen += 1).unwrap();
/// assert_eq!((cv.folds.len(), seen), (4, 4));
/// assert_eq!(cv.pooled.confusion.unwrap().total(), 40); // each row tested once
/// ```
pub fn cross_validate(
    folded: &Folded,
    s: &CvSetup,
    mut on_fold: impl FnMut(&Fold),
) -> Result<CrossValidation, CvError> {
    let k = folded.folds.len();
    let mut folds = Vec::with_capacity(k);
    // each warning preparing a fold gave, with the folds it came from
    let mut warned: Vec<(String, Vec<usize>)> = Vec::new();
    for i in 0..k {
        let (fold, warnings) = run_fold(folded, i, s)?;
        for w in warnings {
            match warned.iter_mut().find(|(seen, _)| *seen == w) {
                Some((_, from)) => from.push(i + 1),
                None => warned.push((w, vec![i + 1])),
            }
        }
        on_fold(&fold);
        folds.push(fold);
    }
    let mut notes = small_classes(folded);
    // a warning from every fold is about the table, and said when it is prepared
    notes.extend(
        warned
            .into_iter()
            .filter(|(_, from)| from.len() < k)
            .map(|(w, from)| {
                let from: Vec<String> = from.iter().map(usize::to_string).collect();
                let s = if from.len() == 1 { "" } else { "s" };
                format!("fold{s} {}: {w}", from.join(", "))
            }),
    );
    let pooled = pooled(&folds);
    Ok(CrossValidation {
        folds,
        pooled,
        notes,
    })
}

/// One round: fold `i` prepared, trained on the others and scored.
fn run_fold(folded: &Folded, i: usize, s: &CvSetup) -> Result<(Fold, Vec<String>), CvError> {
    let valid_fraction = Recipe::valid_fraction(DataKind::Table, &s.choices);
    let data = |error| CvError::Data { fold: i, error };
    let p = folded.prepare(i, valid_fraction, s.seed).map_err(data)?;
    let (train, _) = s
        .class_weight
        .apply(p.train, s.seed)
        .map_err(CvError::ClassWeight)?;
    let r = Recipe::choose(DataKind::Table, &train, !p.valid.is_empty(), &s.choices)
        .map_err(CvError::Recipe)?;
    let model = r.model(train.nfeatures(), train.nclasses(), s.seed);
    let valid = (!p.valid.is_empty()).then_some(&p.valid);
    let (h, _) = fit_recipe(&model, &train, valid, &r, |_| {});
    if let Some(divergence) = h.diverged {
        let recipe = Box::new(r);
        return Err(CvError::Diverged {
            fold: i,
            divergence,
            recipe,
        });
    }
    let loss = r.cfg.loss;
    let scorer = &mut crate::nn::Scorer::new(&model);
    let scores = Scores::by(scorer, &p.test, loss, &p.prep).with_roc_auc_by(scorer, &p.test, loss);
    let target = &p.prep.target;
    let units = |v: &[f64]| -> Vec<f64> {
        let numbers = !p.test.is_classification();
        v.iter()
            .map(|&y| if numbers { target.to_target(y) } else { y })
            .collect()
    };
    let fold = Fold {
        index: i,
        rows: [train.len(), p.valid.len(), p.test.len()],
        lines: folded.folds[i]
            .iter()
            .map(|&r| folded.table.row(r).line())
            .collect(),
        steps: h.loss.len(),
        best_step: h.best_step,
        truth: units(&p.test.y),
        predicted: units(&scores.eval.predictions),
        scores,
    };
    Ok((fold, p.warnings))
}

/// A note for each class with fewer rows than there are folds: some folds
/// test none of its rows.
fn small_classes(folded: &Folded) -> Vec<String> {
    let k = folded.folds.len();
    folded
        .class_counts
        .iter()
        .filter(|(_, n)| *n < k)
        .map(|(name, n)| {
            format!(
                "class '{}' has {n} row{}, fewer than the {k} folds: {} fold{} test none of \
                 its rows{}",
                crate::text::shorten(name, 40),
                if *n == 1 { "" } else { "s" },
                k - n,
                if k - n == 1 { "" } else { "s" },
                if *n == 1 {
                    ", and the fold that tests it trains without it"
                } else {
                    ""
                }
            )
        })
        .collect()
}

/// The folds' predictions scored together.
fn pooled(folds: &[Fold]) -> Scores {
    let truth: Vec<f64> = folds.iter().flat_map(|f| f.truth.iter().copied()).collect();
    let predicted: Vec<f64> = folds
        .iter()
        .flat_map(|f| f.predicted.iter().copied())
        .collect();
    let n = truth.len().max(1) as f64;
    let loss = folds
        .iter()
        .map(|f| f.scores.eval.loss * f.truth.len() as f64)
        .sum::<f64>()
        / n;
    let classes = folds
        .iter()
        .find_map(|f| f.scores.confusion.as_ref())
        .map(|c| c.classes.clone());
    let (confusion, regression) = match classes {
        Some(names) => (Some(Confusion::new(&names, &truth, &predicted)), None),
        None => (None, Some(Regression::new(&truth, &predicted))),
    };
    Scores {
        eval: Evaluation {
            loss,
            accuracy: confusion.as_ref().map(Confusion::accuracy),
            predictions: predicted,
        },
        confusion,
        regression,
        roc_auc: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_switches_on_below_the_threshold_and_off_above_it_or_with_flags() {
        let default = Holdout::default();
        let on = |rows| CvPlan::choose(rows, &default).unwrap().map(|p| p.folds);
        assert_eq!(on(150), Some(5));
        assert_eq!(on(497), Some(5)); // 99 test rows
        assert_eq!(on(498), None); // 100 test rows (rounded)
        assert_eq!(on(20_000), None);
        assert_eq!(on(3), Some(3)); // a tiny table: as many folds as rows
        assert_eq!(on(1), None);
        for h in [
            Holdout {
                test_fraction: Some(0.3),
                ..default
            },
            Holdout {
                test_data: true,
                ..default
            },
            Holdout {
                cv: Some(0),
                ..default
            },
        ] {
            assert_eq!(CvPlan::choose(150, &h).unwrap(), None, "{h:?}");
        }
        let asked = Holdout {
            cv: Some(10),
            ..default
        };
        let p = CvPlan::choose(10_000, &asked).unwrap().unwrap();
        assert_eq!(p.folds, 10);
        assert!(p.note.unwrap().contains("trains 11 networks"));
        assert_eq!(CvPlan::choose(150, &asked).unwrap().unwrap().note, None);
    }

    #[test]
    fn impossible_fold_counts_are_refused_with_the_reason() {
        let err = |cv, test_fraction, test_data, rows| {
            let h = Holdout {
                cv: Some(cv),
                test_fraction,
                test_data,
            };
            CvPlan::choose(rows, &h).unwrap_err()
        };
        assert!(err(1, None, false, 100).contains("at least 2 folds"));
        let e = err(8, None, false, 5);
        assert!(
            e.contains("has 5 rows") && e.contains("at most --cv 5"),
            "{e}"
        );
        assert!(err(5, Some(0.2), false, 100).contains("--test-fraction"));
        assert!(err(5, None, true, 100).contains("--test-data"));
    }

    #[test]
    fn small_classes_are_named() {
        let mut text = String::from("x,y\n");
        for i in 0..12 {
            let y = match i {
                0 => "lone",
                1 | 2 => "pair",
                _ => "many",
            };
            text += &format!("{}.5,{y}\n", i * 7 % 12);
        }
        let t = Table::parse(&text, "t.csv").unwrap();
        let opts = crate::data::PrepOptions::default();
        let f = Folded::new(&t, "y", &opts, 3, 1).unwrap();
        assert!(f.folds.iter().all(|fold| fold.len() == 4));
        let notes = small_classes(&f);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("'lone' has 1 row, fewer than the 3 folds: 2 folds"));
        assert!(notes[0].contains("trains without it"));
        assert!(notes[1].contains("'pair' has 2 rows") && notes[1].contains("1 fold test"));
    }
}
