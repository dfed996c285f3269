//! Scores of predictions against the truth: a confusion matrix with
//! accuracy, precision and recall for classes; MSE, MAE and R² for numbers.

use std::fmt;

/// Counts of (true class, predicted class) pairs.
///
/// ```
/// use micrograd::metrics::Confusion;
/// let c = Confusion::new(&["cat".into(), "dog".into()], &[0.0, 0.0, 1.0, 1.0], &[0.0, 1.0, 1.0, 1.0]);
/// assert_eq!(c.counts, vec![vec![1, 1], vec![0, 2]]);
/// assert_eq!(c.accuracy(), 0.75);
/// assert_eq!(c.precision(1), Some(2.0 / 3.0));
/// assert_eq!(c.recall(0), Some(0.5));
/// assert_eq!(c.majority_rate(), 0.5);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    /// Class names.
    pub classes: Vec<String>,
    /// `counts[t][p]`: samples of class `t` predicted as `p`.
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// Counts `truth` against `predicted`, both class indices into `classes`
    /// (anything else, such as -1 for an unknown class, is not counted).
    pub fn new(classes: &[String], truth: &[f64], predicted: &[f64]) -> Confusion {
        let k = classes.len();
        let mut counts = vec![vec![0; k]; k];
        let index = |c: f64| (c >= 0.0 && c < k as f64 && c.fract() == 0.0).then_some(c as usize);
        for (&t, &p) in truth.iter().zip(predicted) {
            if let (Some(t), Some(p)) = (index(t), index(p)) {
                counts[t][p] += 1;
            }
        }
        Confusion {
            classes: classes.to_vec(),
            counts,
        }
    }

    /// Number of samples counted.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// The fraction predicted right.
    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..self.counts.len()).map(|k| self.counts[k][k]).sum();
        right as f64 / self.total().max(1) as f64
    }

    /// Of the samples predicted as class `k`, the fraction that are; `None`
    /// if none was predicted as `k`.
    pub fn precision(&self, k: usize) -> Option<f64> {
        let predicted: usize = self.counts.iter().map(|row| row[k]).sum();
        (predicted > 0).then(|| self.counts[k][k] as f64 / predicted as f64)
    }

    /// Of the samples of class `k`, the fraction predicted as `k`; `None` if
    /// there are none.
    pub fn recall(&self, k: usize) -> Option<f64> {
        let actual: usize = self.counts[k].iter().sum();
        (actual > 0).then(|| self.counts[k][k] as f64 / actual as f64)
    }

    /// The harmonic mean of class `k`'s precision and recall; 0 when either
    /// is 0 or undefined (no sample of `k`, or none predicted as `k`), as
    /// scikit-learn counts it.
    ///
    /// ```
    /// use micrograd::metrics::Confusion;
    /// let c = Confusion::new(&["a".into(), "b".into()], &[0.0, 0.0, 1.0, 1.0], &[0.0, 1.0, 1.0, 1.0]);
    /// assert_eq!(c.f1(0), 2.0 / 3.0); // precision 1, recall 1/2
    /// assert_eq!(c.f1(1), 0.8); // precision 2/3, recall 1
    /// ```
    pub fn f1(&self, k: usize) -> f64 {
        match (self.precision(k), self.recall(k)) {
            (Some(p), Some(r)) if p + r > 0.0 => 2.0 * p * r / (p + r),
            _ => 0.0,
        }
    }

    /// The classes that have samples or predictions: the ones the macro
    /// means below average over.
    fn present(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.classes.len()).filter(|&k| {
            self.counts[k].iter().sum::<usize>() > 0 || self.counts.iter().any(|row| row[k] > 0)
        })
    }

    /// The mean of the recalls of the classes that have samples: accuracy
    /// with every class weighing the same, so that always answering the
    /// most common class scores 1/classes however rare the others are.
    ///
    /// ```
    /// use micrograd::metrics::Confusion;
    /// let names = ["common".to_string(), "rare".to_string()];
    /// let truth = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0];
    /// let c = Confusion::new(&names, &truth, &[0.0; 10]); // always "common"
    /// assert_eq!((c.accuracy(), c.balanced_accuracy()), (0.8, 0.5));
    /// ```
    pub fn balanced_accuracy(&self) -> f64 {
        let recalls: Vec<f64> = (0..self.classes.len())
            .filter_map(|k| self.recall(k))
            .collect();
        recalls.iter().sum::<f64>() / recalls.len().max(1) as f64
    }

    /// The mean of the F1 scores of the classes that have samples or
    /// predictions (scikit-learn's `f1_score(average="macro")`).
    ///
    /// ```
    /// use micrograd::metrics::Confusion;
    /// let c = Confusion::new(&["a".into(), "b".into()], &[0.0, 0.0, 1.0, 1.0], &[0.0, 1.0, 1.0, 1.0]);
    /// assert!((c.macro_f1() - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-12);
    /// ```
    pub fn macro_f1(&self) -> f64 {
        let f1: Vec<f64> = self.present().map(|k| self.f1(k)).collect();
        f1.iter().sum::<f64>() / f1.len().max(1) as f64
    }

    /// The accuracy of always predicting the most common true class: what a
    /// model must beat to have learned anything.
    pub fn majority_rate(&self) -> f64 {
        let most = self
            .counts
            .iter()
            .map(|row| row.iter().sum::<usize>())
            .max()
            .unwrap_or(0);
        most as f64 / self.total().max(1) as f64
    }
}

impl fmt::Display for Confusion {
    /// Per-class precision and recall, then the matrix (rows: true class,
    /// columns: predicted), as the command prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |x: Option<f64>| x.map_or("    -".to_owned(), |x| format!("{:5.1}%", 100.0 * x));
        let w = self
            .classes
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(5)
            .clamp(5, 24);
        let name = |c: &str| crate::text::shorten(c, 24);
        writeln!(f, "  {:<w$}  precision  recall  samples", "class")?;
        for (k, c) in self.classes.iter().enumerate() {
            writeln!(
                f,
                "  {:<w$}  {:>9}  {:>6}  {:>7}",
                name(c),
                pct(self.precision(k)),
                pct(self.recall(k)),
                self.counts[k].iter().sum::<usize>()
            )?;
        }
        if self.classes.len() > 20 {
            return writeln!(f, "  (confusion matrix: see confusion.svg)");
        }
        let cw = self
            .counts
            .iter()
            .flatten()
            .map(|n| n.to_string().len())
            .max()
            .unwrap_or(1)
            .max(3);
        writeln!(
            f,
            "  confusion (rows: true class, columns: predicted, in the order above):"
        )?;
        for (k, row) in self.counts.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|n| format!("{n:>cw$}")).collect();
            writeln!(f, "  {:<w$}  {}", name(&self.classes[k]), cells.join(" "))?;
        }
        Ok(())
    }
}

/// The area under the ROC curve for two classes: the chance that a row of
/// the positive class gets a higher `score` than a row of the other (ties
/// count half), from the ranks of the scores (Mann–Whitney U). `None`
/// unless both classes have rows, or if a score is NaN.
///
/// ```
/// use micrograd::metrics::roc_auc;
/// assert_eq!(roc_auc(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]), Some(0.75));
/// assert_eq!(roc_auc(&[false, true], &[0.5, 0.5]), Some(0.5)); // a tie
/// assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None); // one class
/// ```
pub fn roc_auc(positive: &[bool], score: &[f64]) -> Option<f64> {
    let n = positive.len().min(score.len());
    let pos = positive[..n].iter().filter(|&&p| p).count();
    let neg = n - pos;
    if pos == 0 || neg == 0 || score[..n].iter().any(|s| s.is_nan()) {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    // the positives' ranks summed, tied scores given their mean rank (1-based)
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && score[order[j + 1]] == score[order[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        let tied_pos = order[i..=j].iter().filter(|&&k| positive[k]).count();
        rank_sum += mean_rank * tied_pos as f64;
        i = j + 1;
    }
    let u = rank_sum - (pos * (pos + 1)) as f64 / 2.0;
    Some(u / (pos * neg) as f64)
}

/// Regression scores: mean squared error, mean absolute error, and R² (1 is
/// perfect; 0 is no better than predicting the mean; below 0 is worse).
///
/// ```
/// use micrograd::metrics::Regression;
/// let r = Regression::new(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]);
/// assert_eq!((r.mse, r.mae), (1.0 / 3.0, 1.0 / 3.0));
/// assert_eq!(r.r2, 0.5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regression {
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination: 1 − SSE / (sum of squares about the mean).
    pub r2: f64,
}

impl Regression {
    /// Scores `predicted` against `truth`.
    pub fn new(truth: &[f64], predicted: &[f64]) -> Regression {
        let n = truth.len().max(1) as f64;
        let mean = truth.iter().sum::<f64>() / n;
        let (mut sse, mut sae, mut sst) = (0.0, 0.0, 0.0);
        for (&t, &p) in truth.iter().zip(predicted) {
            sse += (t - p) * (t - p);
            sae += (t - p).abs();
            sst += (t - mean) * (t - mean);
        }
        let r2 = if sst > 0.0 {
            1.0 - sse / sst
        } else if sse == 0.0 {
            1.0
        } else {
            f64::NEG_INFINITY
        };
        Regression {
            mse: sse / n,
            mae: sae / n,
            r2,
        }
    }
}
