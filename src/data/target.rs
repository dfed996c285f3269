//! The target column: read as class indices or numbers, fitted (its
//! classes, or its mean and spread for scaling), and mapped back.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::columns::stats;
use super::csv::some_lines;
use super::prep::PrepOptions;
use super::{DataError, Table, Task, is_missing};

/// What the model predicts, and how its outputs map back to the target.
///
/// ```
/// use micrograd::data::Target;
/// let t = Target::Number { column: "price".into(), mean: 100.0, std: 20.0 };
/// assert_eq!(t.to_target(0.5), 110.0);
/// assert_eq!(t.from_target(110.0), 0.5);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Classification: the model predicts an index into `classes`.
    Classes {
        /// The target column's name.
        column: String,
        /// Class names, in output order.
        classes: Vec<String>,
    },
    /// Regression: the model predicts `(y - mean) / std`.
    Number {
        /// The target column's name.
        column: String,
        /// The training targets' mean (0 when not scaled).
        mean: f64,
        /// The training targets' standard deviation (1 when not scaled).
        std: f64,
    },
}

impl Target {
    /// The target column's name.
    ///
    /// ```
    /// use micrograd::data::Target;
    /// assert_eq!(Target::Classes { column: "y".into(), classes: vec![] }.column(), "y");
    /// ```
    pub fn column(&self) -> &str {
        match self {
            Target::Classes { column, .. } | Target::Number { column, .. } => column,
        }
    }

    /// Class names; empty for regression.
    ///
    /// ```
    /// use micrograd::data::Target;
    /// assert!(Target::Number { column: "y".into(), mean: 0.0, std: 1.0 }.classes().is_empty());
    /// ```
    pub fn classes(&self) -> &[String] {
        match self {
            Target::Classes { classes, .. } => classes,
            Target::Number { .. } => &[],
        }
    }

    /// A model output in target units: `out·std + mean` for regression,
    /// unchanged for classes.
    pub fn to_target(&self, out: f64) -> f64 {
        match self {
            Target::Number { mean, std, .. } => out * std + mean,
            Target::Classes { .. } => out,
        }
    }

    /// A target in model units: the inverse of [`to_target`](Self::to_target).
    pub fn from_target(&self, y: f64) -> f64 {
        match self {
            Target::Number { mean, std, .. } => (y - mean) / std,
            Target::Classes { .. } => y,
        }
    }
}

/// Every row's target, as [`encode_target`] gives it: the numbers, and the
/// class names they index (empty for regression).
pub(crate) type Encoded = (Vec<f64>, Vec<String>);

/// The target column `t` of `table` as numbers: class indices into the
/// returned class names (classification), or the numbers themselves
/// (regression, class names empty). Missing or non-finite targets are an
/// error that names their lines.
pub(crate) fn encode_target(table: &Table, t: usize, task: Task) -> Result<Encoded, DataError> {
    let name = &table.header[t];
    let raw: Vec<&str> = table.rows().map(|r| r.cell(t).trim()).collect();
    let lines_where = |bad: &dyn Fn(&str) -> bool| -> Vec<u64> {
        raw.iter()
            .zip(table.rows())
            .filter(|(s, _)| bad(s))
            .map(|(_, r)| r.line())
            .collect()
    };
    let err = |lines: &[u64], message: String| DataError {
        source: table.source.clone(),
        line: lines.first().copied(),
        column: Some(name.clone()),
        message,
    };
    let missing = lines_where(&|s| is_missing(s));
    if !missing.is_empty() {
        return Err(err(
            &missing,
            format!(
                "the target is missing (empty or NA) on {}; remove those rows",
                some_lines(&missing)
            ),
        ));
    }
    let nums: Vec<Option<f64>> = raw.iter().map(|s| s.parse::<f64>().ok()).collect();
    let all_numeric = nums.iter().all(Option::is_some);
    let classify = match task {
        Task::Classification => true,
        Task::Regression => false,
        Task::Auto => {
            !all_numeric || {
                let whole = nums.iter().flatten().all(|n| n.fract() == 0.0);
                let distinct: BTreeSet<i64> = nums.iter().flatten().map(|&n| n as i64).collect();
                whole && distinct.len() <= 10
            }
        }
    };
    if classify {
        return Ok(classes(&raw, all_numeric));
    }
    let bad = lines_where(&|s| !s.parse::<f64>().is_ok_and(f64::is_finite));
    if let Some(&first) = bad.first() {
        let k = table.rows().position(|r| r.line() == first).unwrap_or(0);
        let also = if bad.len() > 1 {
            format!("; also on {}", some_lines(&bad[1..]))
        } else {
            String::new()
        };
        return Err(err(
            &bad,
            format!(
                "'{}' is not a finite number (the task is regression){also}",
                raw[k].chars().take(40).collect::<String>()
            ),
        ));
    }
    Ok((
        nums.into_iter().map(|n| n.unwrap_or(f64::NAN)).collect(),
        Vec::new(),
    ))
}

/// Cells as class indices, and the class names: in numeric order if every
/// name is a number, else alphabetically.
fn classes(raw: &[&str], all_numeric: bool) -> (Vec<f64>, Vec<String>) {
    // inserted one by one: collecting a set sorts every cell first, where a
    // target has a few classes and each insert compares with a few of them
    let mut set = BTreeSet::new();
    for &s in raw {
        set.insert(s);
    }
    let mut names: Vec<&str> = set.into_iter().collect();
    if all_numeric {
        names.sort_by(|a, b| {
            let (a, b) = (a.parse::<f64>(), b.parse::<f64>());
            a.unwrap_or(f64::NAN).total_cmp(&b.unwrap_or(f64::NAN))
        });
    }
    let y = raw
        .iter()
        .map(|s| names.iter().position(|n| n == s).unwrap_or(0) as f64)
        .collect();
    (y, names.into_iter().map(str::to_owned).collect())
}

/// The target of column `t`: its classes (from every row, so that a class
/// held out is no error), or its number's mean and std over `rows`; and
/// every row's target as [`encode_target`] gives it, for the encoding that
/// follows.
pub(crate) fn fit_target(
    table: &Table,
    t: usize,
    rows: &[usize],
    opts: &PrepOptions,
) -> Result<(Target, Encoded), DataError> {
    let column = table.header[t].clone();
    let (y, classes) = encode_target(table, t, opts.task)?;
    if !classes.is_empty() {
        let target = Target::Classes {
            column,
            classes: classes.clone(),
        };
        return Ok((target, (y, classes)));
    }
    let (mean, std) = if opts.scale {
        stats(&rows.iter().map(|&i| y[i]).collect::<Vec<_>>())
    } else {
        (0.0, 1.0)
    };
    if std == 0.0 {
        return Err(DataError {
            source: table.source.clone(),
            line: Some(1),
            column: Some(column),
            message: format!("the target is {mean} on every training row: nothing to learn"),
        });
    }
    Ok((Target::Number { column, mean, std }, (y, classes)))
}
