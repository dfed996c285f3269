//! Empty cells: what an empty feature cell becomes, the one line per column
//! that says so, the error when nothing may fill them, and the rows left out
//! because their target is empty.

use std::borrow::Cow;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::csv::some_lines;
use super::prep::{Input, Preprocess};
use super::{DataError, Table, is_missing};
use crate::text::some_names;

/// What to do with a missing cell (empty, `NA`, `NaN`, ...; see
/// [`is_missing`]) in a feature column.
///
/// ```
/// use micrograd::data::Impute;
/// assert_eq!("mean".parse::<Impute>().unwrap(), Impute::Mean);
/// assert_eq!(Impute::default(), Impute::Mean);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impute {
    /// A missing cell is an error that names it.
    None,
    /// Filled, the default: a number column's missing cell takes the
    /// training mean; a text column's is a category of its own,
    /// [`EMPTY_CATEGORY`], when the training rows had empty cells in that
    /// column (else no category: all its one-hot inputs 0).
    #[default]
    Mean,
}

impl Impute {
    /// What a model file written before imputing was the default holds:
    /// those models were trained refusing empty cells, and still refuse them.
    pub(super) fn absent() -> Impute {
        Impute::None
    }
}

impl FromStr for Impute {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Impute::None),
            "mean" => Ok(Impute::Mean),
            _ => Err(format!("unknown impute '{s}' (expected none or mean)")),
        }
    }
}

/// The category an empty text cell becomes.
///
/// Why a category of its own rather than the most common one: an empty
/// cell says "not recorded", and that can mean something (a comment left
/// blank, a measurement not taken); the model learns what it is worth like
/// any other category, where the most common category would make up a value
/// that was never seen, and for a column that is mostly empty would claim
/// most rows share one value. It exists only when the training rows have
/// empty cells in that column; an empty cell in a column that had none in
/// training gets no category (all zeros), as an unseen category does.
pub const EMPTY_CATEGORY: &str = "(empty)";

impl Preprocess {
    /// One line per feature column with empty cells in `rows` of `table`,
    /// saying what they were filled with; none when not imputing (empty
    /// cells are an error then).
    ///
    /// ```
    /// use micrograd::data::{PrepOptions, Preprocess, Table};
    /// let t = Table::parse("x,c,y\n1,red,a\n,blue,b\n3,,a\n5,red,b\n", "t.csv").unwrap();
    /// let (p, _) = Preprocess::fit(&t, "y", &[0, 1, 2, 3], &PrepOptions::default()).unwrap();
    /// assert_eq!(p.filled(&t, &[0, 1, 2, 3]), vec![
    ///     "filled 1 empty cell in 'x' with the training mean 3",
    ///     "filled 1 empty cell in 'c' with a category of its own, '(empty)'",
    /// ]);
    /// ```
    pub fn filled(&self, table: &Table, rows: &[usize]) -> Vec<String> {
        if self.impute == Impute::None {
            return Vec::new();
        }
        // counted row by row, as the cells of a row lie together in memory
        let cols: Vec<Option<usize>> = self.columns().iter().map(|c| table.column(c)).collect();
        let mut empty = vec![0usize; cols.len()];
        for &i in rows {
            let cells = table.row(i);
            for (n, c) in empty.iter_mut().zip(&cols) {
                *n += usize::from(c.is_some_and(|c| is_missing(cells.cell(c))));
            }
        }
        let mut lines = Vec::new();
        for (input, &n) in self.inputs.iter().zip(&empty) {
            if n == 0 {
                continue;
            }
            let with = match input {
                // six decimals at most, and no trailing zeros: "6.552632", "0"
                Input::Numeric { mean, std, .. } if *mean == 0.0 && *std == 1.0 => {
                    "0 (the column is not standardised: --no-scale fills 0)".to_owned()
                }
                Input::Numeric { mean, .. } => {
                    format!("the training mean {}", (mean * 1e6).round() / 1e6 + 0.0)
                }
                Input::OneHot { categories, .. }
                    if categories.iter().any(|c| c == EMPTY_CATEGORY) =>
                {
                    format!("a category of its own, '{EMPTY_CATEGORY}'")
                }
                Input::OneHot { .. } => {
                    "no category (its inputs all 0): the training rows had no empty cell there"
                        .to_owned()
                }
            };
            lines.push(format!(
                "filled {n} empty cell{} in '{}' with {with}",
                if n == 1 { "" } else { "s" },
                input.column()
            ));
        }
        lines
    }
}

/// The error for empty cells `(line, column)` found in `table` when nothing
/// may fill them: it counts rows, names each line once and each column
/// once, with how many rows are empty in it.
pub(super) fn missing_cells(table: &Table, missing: &[(u64, &str)]) -> DataError {
    let mut lines: Vec<u64> = Vec::new();
    let mut columns: Vec<(&str, usize)> = Vec::new();
    for &(line, column) in missing {
        if !lines.contains(&line) {
            lines.push(line);
        }
        match columns.iter_mut().find(|c| c.0 == column) {
            Some(c) => c.1 += 1,
            None => columns.push((column, 1)),
        }
    }
    let names: Vec<String> = columns
        .iter()
        .map(|(c, n)| format!("'{c}' ({n} row{})", if *n == 1 { "" } else { "s" }))
        .collect();
    let rows = lines.len();
    DataError {
        source: table.source.clone(),
        line: Some(lines[0]),
        column: Some(missing[0].1.to_owned()),
        message: format!(
            "{rows} row{} with empty cells (empty or NA), on {}, in column{} {}; fill or \
             remove those rows, or use --impute mean to fill them (numbers with the \
             training mean, text as a category of its own)",
            if rows == 1 { "" } else { "s" },
            some_lines(&lines),
            if columns.len() == 1 { "" } else { "s" },
            some_names(&names, "", 160)
        ),
    }
}

/// `table` without the rows whose cell in column `t` (the target) is empty,
/// and a note saying how many were left out and on which lines; the table
/// itself, and no note, when every row has a target. An error if none has.
pub(super) fn rows_with_target(
    table: &Table,
    t: usize,
) -> Result<(Cow<'_, Table>, Option<String>), DataError> {
    let empty: Vec<u64> = table
        .rows()
        .filter(|r| is_missing(r.cell(t)))
        .map(|r| r.line())
        .collect();
    if empty.is_empty() {
        return Ok((Cow::Borrowed(table), None));
    }
    let name = &table.header[t];
    if empty.len() == table.len() {
        return Err(DataError {
            source: table.source.clone(),
            line: Some(1),
            column: Some(name.clone()),
            message: "the target column is empty (or NA) on every row: nothing to learn".into(),
        });
    }
    let mut kept = table.clone();
    kept.retain(|r| !is_missing(r.cell(t)));
    let n = empty.len();
    let note = format!(
        "{}: left out {n} row{} whose target '{name}' is empty (or NA), on {}: \
         there is nothing to learn from or score them by",
        table.source,
        if n == 1 { "" } else { "s" },
        some_lines(&empty)
    );
    Ok((Cow::Owned(kept), Some(note)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{PrepOptions, Preprocess, Table};

    #[test]
    fn a_model_file_from_before_filling_was_the_default_still_refuses_empty_cells() {
        let t = Table::parse("x,y\n1,a\n2,b\n3,a\n", "t.csv").unwrap();
        let (p, _) = Preprocess::fit(&t, "y", &[0, 1, 2], &PrepOptions::default()).unwrap();
        assert_eq!(p.impute, Impute::Mean);
        let mut json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["impute"], "mean");
        json.as_object_mut().unwrap().remove("impute");
        let old: Preprocess = serde_json::from_value(json).unwrap();
        assert_eq!(old.impute, Impute::None);
        let gap = Table::parse("x,z\n,1\n", "new.csv").unwrap();
        let e = old.inputs_of(&gap, &[0]).unwrap_err();
        assert!(e.message.contains("1 row with empty cells"), "{e}");
        assert_eq!(p.inputs_of(&gap, &[0]).unwrap().0, vec![vec![0.0]]);
    }
}
