//! Choosing the feature columns and learning how each becomes inputs: a
//! standardised number or one-hot text, with the notes and warnings that
//! explain each choice.

use std::collections::{BTreeMap, BTreeSet};

use super::impute::{EMPTY_CATEGORY, Impute};
use super::parsed::Column;
use super::prep::{Input, PrepOptions};
use super::roles::{Cells, not_a_feature};
use super::{DataError, Table, is_missing};
use crate::text::shorten;

/// The distinct non-missing values of a column over some rows, with counts:
/// asked of text columns only (and of a number column whose training rows
/// hold one number, to name it), as [`Column`] tells numbers apart.
///
/// The cells are sorted, counted in runs of equals and the map built from
/// the runs in one go: inserting cell by cell compared each with a dozen
/// others, a third of a 10⁵-row table's preparation. Each cell is sorted by
/// its first 8 bytes as a number first, which orders as the text does and
/// settles most comparisons without reading the text.
pub(super) fn distinct<'a>(
    table: &'a Table,
    col: usize,
    rows: &[usize],
) -> BTreeMap<&'a str, usize> {
    let prefix = |s: &str| {
        let mut b = [0u8; 8];
        let n = s.len().min(8);
        b[..n].copy_from_slice(&s.as_bytes()[..n]);
        u64::from_be_bytes(b)
    };
    let mut cells: Vec<(u64, &str)> = rows
        .iter()
        .map(|&i| table.cell(i, col))
        .filter(|s| !is_missing(s))
        .map(|s| (prefix(s), s))
        .collect();
    cells.sort_unstable();
    cells
        .chunk_by(|a, b| a.0 == b.0 && a.1 == b.1)
        .map(|run| (run[0].1, run.len()))
        .collect()
}

/// The columns to use as features: `opts.features`, or every column but
/// the target (`t`) and `opts.drop`. Naming the target is an error.
pub(super) fn feature_columns(
    table: &Table,
    t: usize,
    opts: &PrepOptions,
) -> Result<Vec<usize>, DataError> {
    let err = |message: String| DataError {
        source: table.source.clone(),
        line: Some(1),
        column: None,
        message,
    };
    let not_target = |n: &String, what: &str| -> Result<usize, DataError> {
        let c = table.require(n)?;
        if c == t {
            return Err(err(format!("'{n}' is the target; it cannot be {what}")));
        }
        Ok(c)
    };
    match &opts.features {
        Some(names) => names.iter().map(|n| not_target(n, "a feature")).collect(),
        None => {
            let dropped = opts
                .drop
                .iter()
                .map(|n| not_target(n, "dropped"))
                .collect::<Result<BTreeSet<_>, _>>()?;
            Ok((0..table.header.len())
                .filter(|c| *c != t && !dropped.contains(c))
                .collect())
        }
    }
}

/// A warning for a text column whose values are mostly numbers written
/// with separators or a decimal comma (`"1,200"`, `3 400`, `"0,5"`), which
/// one-hot encoding turns into a category per value: rarely what was meant.
pub(super) fn numbers_as_text(column: &str, categories: &[String]) -> Option<String> {
    let looks = |s: &str| {
        s.bytes().any(|b| b.is_ascii_digit())
            && s.replace([',', ' ', '\'', '_'], "").parse::<f64>().is_ok()
    };
    let example = categories
        .iter()
        .find(|s| looks(s) && s.parse::<f64>().is_err())?;
    let n = categories.iter().filter(|s| looks(s)).count();
    (n * 2 > categories.len()).then(|| {
        format!(
            "column '{column}' is read as text, one category per value, but its values look \
             like numbers written with separators or a decimal comma ('{}'): to use it as a \
             number, save it in a plain number format (1200.5)",
            shorten(example, 20)
        )
    })
}

/// How column `c` becomes inputs, learned from `rows`: a standardised
/// number (or as is, without `opts.scale`), or one-hot text. `column` is
/// its cells read once: a column of numbers is judged from them, never as
/// text (only a column whose training numbers are all equal is asked for
/// its distinct cells). `Err` is the note saying why it is left out: one
/// value, or (only when the user did not name it, `explicit`) not a feature
/// by the rules of [`super::roles`]: an id, a running number, free text,
/// dates.
pub(super) fn column_input(
    table: &Table,
    c: usize,
    column: &Column,
    rows: &[usize],
    explicit: bool,
    opts: &PrepOptions,
) -> Result<Input, String> {
    let name = &table.header[c];
    // two different numbers are two different cells: no need to list them
    let several = column.numbers_differ(rows);
    let values = if several {
        BTreeMap::new()
    } else {
        distinct(table, c, rows)
    };
    if !several && values.len() <= 1 {
        return Err(match values.keys().next() {
            Some(v) => format!(
                "column '{name}' has one value ('{}') in the training rows: not used",
                shorten(v, 20)
            ),
            None => format!("column '{name}' is empty in the training rows: not used"),
        });
    }
    if column.numbers().is_none() {
        return text_input(table, c, column, rows, &values, explicit, opts);
    }
    // what kind of column it is (an id, a running number) is the table's, not the split's
    if !explicit && let Some(note) = not_a_feature(table, c, Cells::Numbers(column)) {
        return Err(note);
    }
    let (mean, std) = opts
        .scale
        .then(|| column.mean_std(rows))
        .flatten()
        .unwrap_or((0.0, 1.0));
    Ok(Input::Numeric {
        column: name.clone(),
        mean,
        std,
    })
}

/// [`column_input`] for text column `c`: one-hot over `values`, its
/// distinct cells in the training `rows`, unless the rules of
/// [`super::roles`] (over the whole table) say it is not a feature.
fn text_input(
    table: &Table,
    c: usize,
    column: &Column,
    rows: &[usize],
    values: &BTreeMap<&str, usize>,
    explicit: bool,
    opts: &PrepOptions,
) -> Result<Input, String> {
    let every = distinct(table, c, &(0..table.len()).collect::<Vec<_>>());
    if !explicit && let Some(note) = not_a_feature(table, c, Cells::Text(&every)) {
        return Err(note);
    }
    let mut categories: Vec<String> = values.keys().map(|s| s.to_string()).collect();
    // empty training cells, when filled, are a category of their own (see EMPTY_CATEGORY)
    let empty = rows.iter().any(|&i| column.is_missing(i));
    if empty && opts.impute != Impute::None && !values.contains_key(EMPTY_CATEGORY) {
        categories.insert(0, EMPTY_CATEGORY.to_owned());
    }
    Ok(Input::OneHot {
        column: table.header[c].clone(),
        categories,
    })
}

/// Mean and population standard deviation.
pub(crate) fn stats(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sorted runs give what inserting cell by cell gave: the same
    /// values in text order with the same counts, cells sharing their first
    /// 8 bytes (or differing only in length) told apart, missing ones left out.
    #[test]
    fn distinct_counts_every_value_as_a_map_would() {
        let cells = [
            "abcdefgh2",
            "abcdefgh",
            "abcdefgh1",
            "NA",
            "b",
            "abcdefgh2",
            "",
            "-0.5",
            "a",
            "abcdefgh\u{e9}",
            "b",
            "10",
            "9",
            "abcdefgh",
            " ",
            "abcdefgh2",
        ];
        let text: String = std::iter::once("x\n".to_owned())
            .chain(cells.iter().map(|c| format!("\"{c}\"\n")))
            .collect();
        let table = Table::parse(&text, "t.csv").unwrap();
        let rows: Vec<usize> = (0..table.len()).collect();
        let mut want = BTreeMap::new();
        for &i in &rows {
            let s = table.cell(i, 0);
            if !is_missing(s) {
                *want.entry(s).or_insert(0) += 1;
            }
        }
        let got = distinct(&table, 0, &rows);
        assert_eq!(got, want);
        assert_eq!(got["abcdefgh2"], 3);
        assert_eq!(got.len(), 9);
        // a subset of the rows
        assert_eq!(
            distinct(&table, 0, &[0, 5]),
            BTreeMap::from([("abcdefgh2", 2)])
        );
    }
}
