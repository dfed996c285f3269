//! Data: the built-in data sets, CSV files, splits and mini-batches.

mod builtin;
mod columns;
mod csv;
mod folds;
mod impute;
mod parsed;
mod prep;
mod prepare;
mod roles;
mod table;
mod target;

use std::fmt;

pub use builtin::{BUILTIN, builtin, builtin_test, circles, moons, spiral, toy, xor};
pub(crate) use csv::MISSING_MARKERS;
pub use csv::{Task, from_csv_str, is_missing, read_csv};
pub use folds::{Folded, folds, stratified_folds};
pub use impute::{EMPTY_CATEGORY, Impute};
pub use prep::{Input, PrepOptions, Preprocess};
pub use prepare::{Prepared, prepare};
pub use table::{Row, Table};
pub use target::Target;

/// The largest data file read: 1 GiB. A larger file, a device or a pipe is
/// refused with a message rather than read until memory runs out.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

use crate::rng::Rng;

/// Samples with their targets.
///
/// For classification, `y` holds class indices (0.0, 1.0, ...) into
/// `classes`; for regression `classes` is empty and `y` holds the numbers.
///
/// ```
/// let ds = micrograd::data::toy();
/// assert_eq!(ds.len(), 4);
/// assert_eq!(ds.nfeatures(), 3);
/// assert!(!ds.is_classification());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Where it came from: a built-in name or a file path.
    pub name: String,
    /// Feature names, one per column of `x`.
    pub features: Vec<String>,
    /// Name of the target.
    pub target: String,
    /// One row per sample.
    pub x: Vec<Vec<f64>>,
    /// One target per sample.
    pub y: Vec<f64>,
    /// Class names for classification, empty for regression.
    pub classes: Vec<String>,
}

impl Dataset {
    /// Number of samples.
    ///
    /// ```
    /// assert_eq!(micrograd::data::moons(10, 0.0, 0).len(), 10);
    /// ```
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there are no samples.
    ///
    /// ```
    /// assert!(!micrograd::data::xor().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Number of features per sample.
    ///
    /// ```
    /// assert_eq!(micrograd::data::xor().nfeatures(), 2);
    /// ```
    pub fn nfeatures(&self) -> usize {
        self.features.len()
    }

    /// Number of classes (0 for regression).
    ///
    /// ```
    /// assert_eq!(micrograd::data::spiral(10, 3, 0).nclasses(), 3);
    /// ```
    pub fn nclasses(&self) -> usize {
        self.classes.len()
    }

    /// Whether targets are classes.
    ///
    /// ```
    /// assert!(micrograd::data::xor().is_classification());
    /// ```
    pub fn is_classification(&self) -> bool {
        !self.classes.is_empty()
    }

    /// The samples at `idx`, in that order.
    ///
    /// ```
    /// let ds = micrograd::data::xor();
    /// let two = ds.subset(&[3, 0]);
    /// assert_eq!(two.x, vec![vec![1.0, 1.0], vec![0.0, 0.0]]);
    /// ```
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        Dataset {
            x: idx.iter().map(|&i| self.x[i].clone()).collect(),
            y: idx.iter().map(|&i| self.y[i]).collect(),
            ..self.clone_meta()
        }
    }

    fn clone_meta(&self) -> Dataset {
        Dataset {
            name: self.name.clone(),
            features: self.features.clone(),
            target: self.target.clone(),
            x: Vec::new(),
            y: Vec::new(),
            classes: self.classes.clone(),
        }
    }

    /// Shuffles, then holds out `test_fraction` of the samples (rounded,
    /// at least one if the fraction is above 0 and there are 2 samples or more):
    /// returns (train, test).
    ///
    /// ```
    /// use micrograd::{Rng, data::moons};
    /// let (train, test) = moons(100, 0.1, 0).split(0.2, &mut Rng::new(0));
    /// assert_eq!((train.len(), test.len()), (80, 20));
    /// ```
    pub fn split(&self, test_fraction: f64, rng: &mut Rng) -> (Dataset, Dataset) {
        let (train, test) = split_indices(self.len(), test_fraction, rng);
        (self.subset(&train), self.subset(&test))
    }

    /// Sample indices in batches of `size`, shuffled by `rng`; `size` 0 or at
    /// least `len` gives one full batch in order (micrograd's demo).
    ///
    /// ```
    /// use micrograd::{Rng, data::moons};
    /// let ds = moons(10, 0.0, 0);
    /// let b = ds.batches(4, &mut Rng::new(1));
    /// assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![4, 4, 2]);
    /// assert_eq!(ds.batches(0, &mut Rng::new(1)), vec![(0..10).collect::<Vec<_>>()]);
    /// ```
    pub fn batches(&self, size: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        if size == 0 || size >= self.len() {
            return vec![idx];
        }
        rng.shuffle(&mut idx);
        idx.chunks(size).map(<[usize]>::to_vec).collect()
    }

    /// For classes: the set with every class drawn to the size of the
    /// largest, its rows first and then rows of its own drawn again at
    /// random, shuffled: training on it weighs each class the same, as
    /// scikit-learn's `class_weight="balanced"` does (as resampling rather
    /// than a weight on each row's loss). For numbers, the set unchanged.
    ///
    /// ```
    /// use micrograd::{Rng, data::Dataset};
    /// let ds = Dataset { name: "t".into(), features: vec!["x".into()], target: "y".into(),
    ///     x: (0..5).map(|i| vec![i as f64]).collect(), y: vec![0.0, 0.0, 0.0, 0.0, 1.0],
    ///     classes: vec!["common".into(), "rare".into()] };
    /// let b = ds.balanced(&mut Rng::new(1));
    /// assert_eq!(b.len(), 8);
    /// assert_eq!(b.y.iter().filter(|&&y| y == 1.0).count(), 4);
    /// assert!(b.x.contains(&vec![4.0]) && b.x.contains(&vec![0.0]));
    /// ```
    pub fn balanced(&self, rng: &mut Rng) -> Dataset {
        if !self.is_classification() {
            return self.clone();
        }
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); self.nclasses()];
        for (i, &y) in self.y.iter().enumerate() {
            if let Some(rows) = by_class.get_mut(y as usize) {
                rows.push(i);
            }
        }
        let most = by_class.iter().map(Vec::len).max().unwrap_or(0);
        let mut idx = Vec::with_capacity(most * by_class.len());
        for rows in by_class.iter().filter(|r| !r.is_empty()) {
            idx.extend(rows);
            idx.extend((rows.len()..most).map(|_| rows[rng.below(rows.len())]));
        }
        rng.shuffle(&mut idx);
        self.subset(&idx)
    }

    /// The target of sample `i` as text: its class name, or its number.
    ///
    /// ```
    /// assert_eq!(micrograd::data::xor().target_name(1), "1");
    /// ```
    pub fn target_name(&self, i: usize) -> String {
        class_name(&self.classes, self.y[i])
    }
}

/// The indices `0..n`, shuffled by `rng`, then cut in two: (kept, held
/// out), holding out `fraction` of them (rounded, at least one if the
/// fraction is above 0 and `n` ≥ 2, never all).
pub(crate) fn split_indices(n: usize, fraction: f64, rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    let mut nout = (n as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
    if fraction > 0.0 && nout == 0 && n >= 2 {
        nout = 1;
    }
    let nout = nout.min(n.saturating_sub(1));
    let out = idx.split_off(n - nout);
    (idx, out)
}

/// The name of class `y` in `classes`, or `y` as a number for regression.
pub(crate) fn class_name(classes: &[String], y: f64) -> String {
    if classes.is_empty() {
        y.to_string()
    } else {
        classes
            .get(y as usize)
            .cloned()
            .unwrap_or_else(|| y.to_string())
    }
}

/// What went wrong reading data, and where.
///
/// ```
/// use micrograd::data::{Task, from_csv_str};
/// let e = from_csv_str("x,y\n1,a\nb,c\n", "f.csv", "y", Task::Auto).unwrap_err();
/// assert_eq!((e.line, e.column.as_deref()), (Some(3), Some("x")));
/// assert_eq!(e.to_string(), "f.csv:3, column 'x': 'b' is not a number");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// The file (or `<input>`).
    pub source: String,
    /// 1-based line, if the error is on one.
    pub line: Option<u64>,
    /// The column's name, if the error is in one.
    pub column: Option<String>,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column '{c}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DataError {}
