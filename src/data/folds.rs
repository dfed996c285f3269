//! Cross-validation's folds: a table's rows dealt into K groups, each the
//! test rows of one round while the others train. For classes the folds
//! are stratified: each holds every class in about the table's proportion.

use std::borrow::Cow;

use super::impute::rows_with_target;
use super::prep::PrepOptions;
use super::prepare::{Prepared, encode_split};
use super::target::encode_target;
use super::{DataError, Table};
use crate::rng::Rng;

/// The rows `0..n` shuffled by `seed` and dealt into `k` folds, as cards
/// are dealt: fold sizes differ by one at most. Each fold's rows are in
/// increasing order; every row is in exactly one fold. `k` 0 gives no folds;
/// `k` above `n` leaves some folds empty.
///
/// ```
/// use micrograd::data::folds;
/// let f = folds(10, 3, 1);
/// assert_eq!(f.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 3, 3]);
/// let mut all: Vec<usize> = f.concat();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
/// ```
pub fn folds(n: usize, k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut order);
    deal(&order, k)
}

/// Folds stratified by class: `classes[i]` is row `i`'s class. Each class's
/// rows are shuffled by `seed` and dealt on from where the previous class's
/// stopped, so each fold gets ⌊n_c/k⌋ or ⌈n_c/k⌉ rows of each class `c` and
/// fold sizes differ by one at most (scikit-learn's `StratifiedKFold`
/// keeps the same proportions). Each fold's rows are in increasing order.
///
/// ```
/// use micrograd::data::stratified_folds;
/// // 6 rows of class 0, 3 of class 1
/// let classes = [0, 0, 0, 0, 0, 0, 1, 1, 1];
/// for fold in stratified_folds(&classes, 3, 7) {
///     let ones = fold.iter().filter(|&&i| classes[i] == 1).count();
///     assert_eq!((fold.len(), ones), (3, 1)); // two of class 0, one of class 1
/// }
/// ```
pub fn stratified_folds(classes: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = Rng::new(seed);
    let count = classes.iter().max().map_or(0, |&m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, &c) in classes.iter().enumerate() {
        by_class[c].push(i);
    }
    let mut order = Vec::with_capacity(classes.len());
    for rows in &mut by_class {
        rng.shuffle(rows);
        order.extend_from_slice(rows);
    }
    deal(&order, k)
}

/// `order` dealt into `k` folds, the i-th row to fold i mod k, each fold sorted.
fn deal(order: &[usize], k: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); k];
    if k == 0 {
        return out;
    }
    for (i, &row) in order.iter().enumerate() {
        out[i % k].push(row);
    }
    for fold in &mut out {
        fold.sort_unstable();
    }
    out
}

/// A table cut into folds for cross-validation: the rows that have a
/// target, dealt into folds (stratified for classes), each fold made ready
/// to train on by [`Folded::prepare`].
///
/// ```
/// use micrograd::data::{Folded, PrepOptions, Table};
/// let mut text = String::from("x,y\n");
/// for i in 0..20 {
///     text += &format!("{}.5,{}\n", i * 7 % 20, ["a", "b"][i % 2]);
/// }
/// let t = Table::parse(&text, "t.csv").unwrap();
/// let f = Folded::new(&t, "y", &PrepOptions::default(), 4, 1).unwrap();
/// assert_eq!((f.folds.len(), f.rows()), (4, 20));
/// let p = f.prepare(0, 0.2, 1).unwrap();
/// assert_eq!((p.train.len(), p.valid.len(), p.test.len()), (12, 3, 5));
/// ```
#[derive(Clone, Debug)]
pub struct Folded<'a> {
    /// The table's rows that have a target (the others left out).
    pub table: Cow<'a, Table>,
    /// The column to predict.
    pub target: String,
    /// How columns become inputs; fitted on each fold's training rows.
    pub opts: PrepOptions,
    /// Each fold's rows of [`table`](Self::table), in increasing order.
    pub folds: Vec<Vec<usize>>,
    /// For classes, how many rows each class has (in the target's class
    /// order), with their names; empty for a number target.
    pub class_counts: Vec<(String, usize)>,
    /// One line if rows were left out because their target is empty.
    pub left_out: Vec<String>,
}

impl<'a> Folded<'a> {
    /// Cuts `table` into `k` folds by `seed`, stratified if the target is
    /// classes (as `opts.task` decides). Errors if the target column is
    /// missing, empty on every row, or (for numbers) not numbers. `k` is
    /// not checked here: see [`CvPlan`](crate::train::CvPlan).
    pub fn new(
        table: &'a Table,
        target: &str,
        opts: &PrepOptions,
        k: usize,
        seed: u64,
    ) -> Result<Folded<'a>, DataError> {
        let t = table.require_as(target, "target column")?;
        let (kept, note) = rows_with_target(table, t)?;
        let (y, classes) = encode_target(&kept, t, opts.task)?;
        let (folds, class_counts) = if classes.is_empty() {
            (folds(kept.len(), k, seed), Vec::new())
        } else {
            let labels: Vec<usize> = y.iter().map(|&c| c as usize).collect();
            let mut counts: Vec<(String, usize)> = classes.into_iter().map(|c| (c, 0)).collect();
            for &c in &labels {
                counts[c].1 += 1;
            }
            (stratified_folds(&labels, k, seed), counts)
        };
        Ok(Folded {
            table: kept,
            target: target.to_owned(),
            opts: opts.clone(),
            folds,
            class_counts,
            left_out: note.into_iter().collect(),
        })
    }

    /// How many rows the folds hold together.
    pub fn rows(&self) -> usize {
        self.table.len()
    }

    /// Fold `fold` made ready to train on: its rows are the test set, the
    /// other folds' rows are shuffled by `seed` and `valid_fraction` of them
    /// held out for early stopping, and the preprocessing (fills, scaling,
    /// categories) is learned from the remaining training rows alone.
    pub fn prepare(
        &self,
        fold: usize,
        valid_fraction: f64,
        seed: u64,
    ) -> Result<Prepared, DataError> {
        let test_rows = self.folds.get(fold).cloned().unwrap_or_default();
        let rest: Vec<usize> = (0..self.rows())
            .filter(|i| test_rows.binary_search(i).is_err())
            .collect();
        let (keep, valid) = super::split_indices(rest.len(), valid_fraction, &mut Rng::new(seed));
        let train_rows: Vec<usize> = keep.iter().map(|&k| rest[k]).collect();
        let valid_rows: Vec<usize> = valid.iter().map(|&k| rest[k]).collect();
        let rows = [train_rows, valid_rows, test_rows];
        encode_split(
            &self.table,
            None,
            &self.target,
            &self.opts,
            rows,
            Vec::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_deals_the_same_folds_and_another_seed_others() {
        let classes: Vec<usize> = (0..30).map(|i| i % 3).collect();
        assert_eq!(
            stratified_folds(&classes, 5, 4),
            stratified_folds(&classes, 5, 4)
        );
        assert_ne!(
            stratified_folds(&classes, 5, 4),
            stratified_folds(&classes, 5, 5)
        );
        assert_eq!(folds(30, 5, 4), folds(30, 5, 4));
        assert_ne!(folds(30, 5, 4), folds(30, 5, 5));
    }

    #[test]
    fn folds_partition_the_rows() {
        let classes: Vec<usize> = (0..23).map(|i| usize::from(i % 4 == 0)).collect();
        for k in [2, 3, 5, 23] {
            for f in [folds(23, k, 1), stratified_folds(&classes, k, 1)] {
                assert_eq!(f.len(), k);
                let mut all = f.concat();
                all.sort_unstable();
                assert_eq!(all, (0..23).collect::<Vec<_>>(), "k = {k}");
                let sizes: Vec<usize> = f.iter().map(Vec::len).collect();
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "{sizes:?}");
            }
        }
        assert!(folds(5, 0, 1).is_empty());
        assert_eq!(folds(2, 3, 1).iter().filter(|f| f.is_empty()).count(), 1);
    }

    #[test]
    fn every_fold_holds_every_class_in_proportion() {
        // 20 of a, 10 of b, 5 of c: in 5 folds, 4, 2 and 1 of each
        let classes: Vec<usize> = (0..35)
            .map(|i| match i {
                0..=19 => 0,
                20..=29 => 1,
                _ => 2,
            })
            .collect();
        for seed in 1..=5 {
            for fold in stratified_folds(&classes, 5, seed) {
                let count = |c| fold.iter().filter(|&&i| classes[i] == c).count();
                assert_eq!((count(0), count(1), count(2)), (4, 2, 1), "seed {seed}");
            }
        }
        // uneven counts: 7 of a and 3 of b in 2 folds, 3 or 4 of a and 1 or 2 of b
        let classes = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
        for fold in stratified_folds(&classes, 2, 9) {
            let b = fold.iter().filter(|&&i| classes[i] == 1).count();
            assert!((1..=2).contains(&b) && fold.len() == 5, "{fold:?}");
        }
    }

    #[test]
    fn a_fold_is_preprocessed_on_its_training_rows_only() {
        // x jumps about (not a running number); the target alternates
        let x = |i: usize| ((i * 7) % 20) as f64 + 0.5;
        let mut text = String::from("x,y\n");
        for i in 0..20 {
            text += &format!("{},{}\n", x(i), i % 2);
        }
        text += "3.5,\n"; // no target: left out of every fold
        let t = Table::parse(&text, "t.csv").unwrap();
        let f = Folded::new(&t, "y", &PrepOptions::default(), 2, 3).unwrap();
        assert_eq!(f.rows(), 20);
        assert_eq!(f.left_out.len(), 1);
        assert_eq!(f.class_counts, vec![("0".into(), 10), ("1".into(), 10)]);
        let everyone = (0..20).map(x).sum::<f64>() / 20.0;
        let mut means = Vec::new();
        for fold in 0..2 {
            let p = f.prepare(fold, 0.0, 1).unwrap();
            let train: Vec<usize> = (0..20).filter(|i| !f.folds[fold].contains(i)).collect();
            let mean = train.iter().map(|&i| x(i)).sum::<f64>() / train.len() as f64;
            match &p.prep.inputs[0] {
                crate::data::Input::Numeric { mean: m, .. } => {
                    assert!((m - mean).abs() < 1e-9, "{m} {mean}");
                    means.push(*m);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!((p.train.len(), p.test.len()), (10, 10));
        }
        // the folds' means are their own, not the whole table's
        assert!(
            means.iter().any(|m| (m - everyone).abs() > 1e-6),
            "{means:?}"
        );
    }
}
