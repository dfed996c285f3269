//! CSV files: a header row, numeric feature columns, a named target column.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use super::{DataError, Dataset};

/// What the target column holds.
///
/// ```
/// use micrograd::data::Task;
/// assert_eq!("regression".parse::<Task>().unwrap(), Task::Regression);
/// assert_eq!(Task::default(), Task::Auto);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Task {
    /// Classes if the target has any non-numeric value, or only whole
    /// numbers with at most 10 distinct values; numbers otherwise.
    #[default]
    Auto,
    /// The target is a number.
    Regression,
    /// The target is a class name (numbers are names too).
    Classification,
}

impl FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Task::Auto),
            "regression" => Ok(Task::Regression),
            "classification" => Ok(Task::Classification),
            _ => Err(format!(
                "unknown task '{s}' (expected auto, regression or classification)"
            )),
        }
    }
}

/// Reads a data set from a CSV file; `target` names the target column and
/// every other column is a numeric feature.
///
/// Errors name the file, the line and the column.
///
/// ```
/// let err = micrograd::data::read_csv("no/such.csv".as_ref(), "y", Default::default()).unwrap_err();
/// assert!(err.to_string().starts_with("no/such.csv: cannot read"));
/// ```
pub fn read_csv(path: &Path, target: &str, task: Task) -> Result<Dataset, DataError> {
    let (text, source) = read_text(path)?;
    from_csv_str(&text, &source, target, task)
}

/// A file's text and its name for error messages.
fn read_text(path: &Path) -> Result<(String, String), DataError> {
    let source = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((text, source)),
        Err(e) => Err(DataError {
            source,
            line: None,
            column: None,
            message: format!("cannot read: {e}"),
        }),
    }
}

/// Parses CSV text; `source` names it in errors.
///
/// ```
/// use micrograd::data::{Task, from_csv_str};
/// let ds = from_csv_str("a,b,label\n1,2,cat\n3,4,dog\n", "pets.csv", "label", Task::Auto).unwrap();
/// assert_eq!(ds.features, vec!["a", "b"]);
/// assert_eq!(ds.classes, vec!["cat", "dog"]);
/// assert_eq!(ds.y, vec![0.0, 1.0]);
///
/// let err = from_csv_str("a,label\n1,cat\nx,dog\n", "pets.csv", "label", Task::Auto).unwrap_err();
/// assert_eq!(err.to_string(), "pets.csv:3, column 'a': 'x' is not a number");
/// ```
pub fn from_csv_str(
    text: &str,
    source: &str,
    target: &str,
    task: Task,
) -> Result<Dataset, DataError> {
    let table = Table::parse(text, source)?;
    let err = |line, column: Option<&str>, message: String| DataError {
        source: source.to_owned(),
        line,
        column: column.map(str::to_owned),
        message,
    };
    let t = table.column(target).ok_or_else(|| {
        err(
            Some(1),
            None,
            format!(
                "no target column '{target}'; the columns are: {}",
                table.header.join(", ")
            ),
        )
    })?;
    let features: Vec<String> = table
        .header
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != t)
        .map(|(_, h)| h.clone())
        .collect();
    if features.is_empty() {
        return Err(err(
            Some(1),
            None,
            "no feature columns besides the target".into(),
        ));
    }
    let x = table.numbers(&features)?;

    let raw: Vec<&str> = table.rows.iter().map(|(_, r)| r[t].trim()).collect();
    let nums: Vec<Option<f64>> = raw.iter().map(|s| s.parse::<f64>().ok()).collect();
    let all_numeric = nums.iter().all(|n| n.is_some_and(f64::is_finite));
    let classify = match task {
        Task::Classification => true,
        Task::Regression => false,
        Task::Auto => {
            !all_numeric || {
                let distinct: BTreeSet<i64> = nums.iter().map(|n| n.unwrap() as i64).collect();
                nums.iter().all(|n| n.unwrap().fract() == 0.0) && distinct.len() <= 10
            }
        }
    };
    let (y, classes) = if classify {
        // Class order: numerically if every name is a number, else alphabetically.
        let mut names: Vec<&str> = raw
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if all_numeric {
            names.sort_by(|a, b| {
                a.parse::<f64>()
                    .unwrap()
                    .total_cmp(&b.parse::<f64>().unwrap())
            });
        }
        let y = raw
            .iter()
            .map(|s| names.iter().position(|n| n == s).unwrap() as f64)
            .collect();
        (y, names.into_iter().map(str::to_owned).collect())
    } else {
        let mut y = Vec::with_capacity(raw.len());
        for (k, (n, s)) in nums.iter().zip(&raw).enumerate() {
            match n {
                Some(v) if v.is_finite() => y.push(*v),
                _ => {
                    return Err(err(
                        Some(table.rows[k].0),
                        Some(target),
                        format!("'{s}' is not a finite number (the task is regression)"),
                    ));
                }
            }
        }
        (y, Vec::new())
    };
    Ok(Dataset {
        name: source.to_owned(),
        features,
        target: target.to_owned(),
        x,
        y,
        classes,
    })
}

/// Reads the columns `features` (by name, in that order) of a CSV file: the
/// inputs for a trained model. Other columns are ignored.
///
/// ```
/// use micrograd::data::inputs_from_csv_str;
/// let x = inputs_from_csv_str("b,a\n1,2\n", "in.csv", &["a".into(), "b".into()]).unwrap();
/// assert_eq!(x, vec![vec![2.0, 1.0]]);
/// let err = inputs_from_csv_str("b\n1\n", "in.csv", &["a".into()]).unwrap_err();
/// assert!(err.to_string().contains("no column 'a'"));
/// ```
pub fn inputs_from_csv_str(
    text: &str,
    source: &str,
    features: &[String],
) -> Result<Vec<Vec<f64>>, DataError> {
    Table::parse(text, source)?.numbers(features)
}

/// The text of column `name` row by row (trimmed), or `None` if there is no
/// such column: for comparing predictions with a file's own targets.
///
/// ```
/// use micrograd::data::column_from_csv_str;
/// let c = column_from_csv_str("x,label\n1,cat\n2,dog\n", "f.csv", "label").unwrap();
/// assert_eq!(c, Some(vec!["cat".to_string(), "dog".to_string()]));
/// assert_eq!(column_from_csv_str("x\n1\n", "f.csv", "label").unwrap(), None);
/// ```
pub fn column_from_csv_str(
    text: &str,
    source: &str,
    name: &str,
) -> Result<Option<Vec<String>>, DataError> {
    let table = Table::parse(text, source)?;
    Ok(table
        .column(name)
        .map(|c| table.rows.iter().map(|(_, r)| r[c].clone()).collect()))
}

/// [`inputs_from_csv_str`] on a file.
///
/// ```
/// let p = std::env::temp_dir().join(format!("mg-doc-in-{}.csv", std::process::id()));
/// std::fs::write(&p, "x,y\n1,2\n").unwrap();
/// let rows = micrograd::data::read_inputs(&p, &["y".into()]).unwrap();
/// assert_eq!(rows, vec![vec![2.0]]);
/// ```
pub fn read_inputs(path: &Path, features: &[String]) -> Result<Vec<Vec<f64>>, DataError> {
    let (text, source) = read_text(path)?;
    inputs_from_csv_str(&text, &source, features)
}

/// A parsed CSV: the header and each row with its 1-based line number.
struct Table {
    source: String,
    header: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    fn parse(text: &str, source: &str) -> Result<Table, DataError> {
        let err = |line: Option<u64>, message: String| DataError {
            source: source.to_owned(),
            line,
            column: None,
            message,
        };
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(::csv::Trim::All)
            .from_reader(text.as_bytes());
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| err(Some(1), format!("bad header: {e}")))?
            .iter()
            .map(str::to_owned)
            .collect();
        if header.is_empty() || header.iter().all(String::is_empty) {
            return Err(err(None, "empty file: expected a header row".into()));
        }
        let mut seen = BTreeSet::new();
        for h in &header {
            if h.is_empty() {
                return Err(err(Some(1), "a column has an empty name".into()));
            }
            if !seen.insert(h) {
                return Err(err(Some(1), format!("column '{h}' appears twice")));
            }
        }
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line());
                let msg = match e.kind() {
                    ::csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("{len} fields, but the header has {expected_len}"),
                    _ => e.to_string(),
                };
                err(line, msg)
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            if rec.iter().all(str::is_empty) {
                continue; // a blank line
            }
            rows.push((line, rec.iter().map(str::to_owned).collect()));
        }
        if rows.is_empty() {
            return Err(err(None, "no data rows after the header".into()));
        }
        Ok(Table {
            source: source.to_owned(),
            header,
            rows,
        })
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The named columns as finite numbers, row by row.
    fn numbers(&self, names: &[String]) -> Result<Vec<Vec<f64>>, DataError> {
        let err = |line, column: &str, message: String| DataError {
            source: self.source.clone(),
            line,
            column: Some(column.to_owned()),
            message,
        };
        let cols = names
            .iter()
            .map(|n| {
                self.column(n).ok_or_else(|| DataError {
                    source: self.source.clone(),
                    line: Some(1),
                    column: None,
                    message: format!(
                        "no column '{n}'; the columns are: {}",
                        self.header.join(", ")
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.rows
            .iter()
            .map(|(line, r)| {
                cols.iter()
                    .zip(names)
                    .map(|(&c, name)| {
                        let s = r[c].as_str();
                        match s.parse::<f64>() {
                            Ok(v) if v.is_finite() => Ok(v),
                            Ok(_) => Err(err(
                                Some(*line),
                                name,
                                format!("'{s}' is not a finite number"),
                            )),
                            Err(_) if s.is_empty() => {
                                Err(err(Some(*line), name, "empty value".into()))
                            }
                            Err(_) => Err(err(Some(*line), name, format!("'{s}' is not a number"))),
                        }
                    })
                    .collect()
            })
            .collect()
    }
}
