//! Columns that are not features: row ids (numbers or text), running
//! numbers, free text and dates. One home for the rules, each giving the
//! one-line note that says why a column is left out.
//!
//! The rules look at the whole table, not the training split: what a
//! column is does not depend on how the rows were shuffled.

use std::collections::BTreeMap;

use super::Table;
use super::parsed::Column;
use crate::text::shorten;

/// Whether a column name says it holds row numbers or keys.
pub(super) fn id_like_name(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    matches!(
        n.as_str(),
        "id" | "index" | "idx" | "row" | "rowid" | "row_id" | "key" | "unnamed: 0" | "no"
    ) || n.ends_with("_id")
        || n.ends_with(" id")
        || name.ends_with("Id")
        || name.ends_with("ID")
}

/// A column's cells as the rules look at them.
pub(super) enum Cells<'t, 'm> {
    /// Every cell, missing or a number: the column read once.
    Numbers(&'m Column),
    /// Some cell is text: the column's distinct non-missing values over the
    /// whole table, with counts.
    Text(&'m BTreeMap<&'t str, usize>),
}

/// Why column `c`, not named by the user, is not a feature: `None` if it
/// is one.
pub(super) fn not_a_feature(table: &Table, c: usize, cells: Cells<'_, '_>) -> Option<String> {
    let name = &table.header[c];
    let note = |what: String| {
        Some(format!(
            "column '{name}' {what}: not used; name it in --features to use it"
        ))
    };
    if table.len() < 10 {
        return None;
    }
    let every = match cells {
        Cells::Numbers(column) => return number_id(table, c, column).and_then(note),
        Cells::Text(every) => every,
    };
    if let Some(example) = dates(every) {
        // one-hot dates would be a category per day: --features is no way to use them
        return Some(format!(
            "column '{name}' holds dates ('{}'): not used, as dates are not turned into \
             numbers; to use it, add a column of its year, month or day of the year",
            shorten(example, 30)
        ));
    }
    let filled = every.values().sum::<usize>();
    if filled >= 10 && every.len() * 2 > filled {
        return note(if free_text(every) {
            format!(
                "is free text ({} different values in {filled} rows, {} characters long on \
                 average)",
                every.len(),
                mean_chars(every).round()
            )
        } else {
            format!(
                "looks like an id (text with {} different values in {filled} rows)",
                every.len()
            )
        });
    }
    None
}

/// What makes number column `c` an id, in words, if it is one: whole
/// numbers, different on every row, that are consecutive (a running index
/// 0..n or 1..n, in any order) or have an id's name; or a running number
/// that goes up by 1 or 2 from one row to the next on 90% of the rows or
/// more, by 1 on half of them at least (it may restart, as a sample number
/// counted per group does, and skip the rows a split or a filter took out: a
/// fifth of the rows taken at random leaves 96% of the steps at 1 or 2, 80%
/// at 1). Evenly spaced values (0, 2, 4, ...) are not counted. Whole numbers merely different on every row are kept: a
/// measurement in whole units often is, and the table may be sorted by it.
fn number_id(table: &Table, c: usize, column: &Column) -> Option<String> {
    let numbers = column.numbers()?;
    let read = || (0..numbers.len()).map(|i| column.number(i));
    // a column of fractions is done with at its first fraction
    if !read().flatten().all(|v| v.fract() == 0.0) {
        return None;
    }
    let cells: Vec<Option<f64>> = read().collect();
    let pairs = cells.len() - 1;
    let up_by = |k: f64| {
        cells
            .windows(2)
            .filter(|w| matches!((w[0], w[1]), (Some(a), Some(b)) if b - a >= 1.0 && b - a <= k))
            .count()
    };
    let (ones, steps) = (up_by(1.0), up_by(2.0));
    if column.full() && all_different(table, c, numbers) {
        let (lo, hi) = numbers
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let consecutive = hi - lo + 1.0 == table.len() as f64;
        if consecutive || id_like_name(&table.header[c]) {
            return Some("looks like a row id (a different whole number on every row)".to_owned());
        }
    }
    (steps * 10 >= pairs * 9 && ones * 2 >= pairs).then(|| {
        format!(
            "looks like a running number (it goes up by 1 or 2 from one row to the next \
             on {steps} of {pairs} rows)"
        )
    })
}

/// Whether the cells of column `c`, read as `numbers` (none missing), are
/// all different text. Different numbers are; cells whose numbers are equal
/// are compared as text (`1` and `1.0` are two different cells), run by
/// run, stopping at the first run with two equal cells.
fn all_different(table: &Table, c: usize, numbers: &[f64]) -> bool {
    let mut idx: Vec<usize> = (0..numbers.len()).collect();
    idx.sort_unstable_by_key(|&i| numbers[i].to_bits());
    idx.chunk_by(|&a, &b| numbers[a].to_bits() == numbers[b].to_bits())
        .filter(|run| run.len() > 1)
        .all(|run| {
            let mut cells: Vec<&str> = run.iter().map(|&i| table.cell(i, c)).collect();
            cells.sort_unstable();
            cells.windows(2).all(|w| w[0] != w[1])
        })
}

/// An example value if most of `every` (9 in 10 of the non-empty cells)
/// are dates written year first: `2007-11-11`, `2007/11/11`, with or
/// without a time after them.
fn dates<'a>(every: &BTreeMap<&'a str, usize>) -> Option<&'a str> {
    let date = |s: &str| {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        b.len() >= 10
            && digits(0..4)
            && digits(5..7)
            && digits(8..10)
            && (b[4] == b'-' || b[4] == b'/')
            && b[7] == b[4]
            && (b.len() == 10 || b[10] == b' ' || b[10] == b'T')
            && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
            && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0))
    };
    let total: usize = every.values().sum();
    let dated: usize = every.iter().filter(|(s, _)| date(s)).map(|(_, n)| n).sum();
    (total > 0 && dated * 10 >= total * 9)
        .then(|| every.keys().find(|s| date(s)).copied())
        .flatten()
}

/// Whether distinct text values read as free text rather than codes: 20
/// characters or more and three words or more, on average.
fn free_text(every: &BTreeMap<&str, usize>) -> bool {
    let words = every
        .keys()
        .map(|s| s.split_whitespace().count())
        .sum::<usize>() as f64
        / every.len().max(1) as f64;
    mean_chars(every) >= 20.0 && words >= 3.0
}

/// The mean length of the distinct values, in characters.
fn mean_chars(every: &BTreeMap<&str, usize>) -> f64 {
    every.keys().map(|s| s.chars().count()).sum::<usize>() as f64 / every.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(header: &str, cells: &[String]) -> Option<String> {
        let mut text = format!("{header},y\n");
        for (i, c) in cells.iter().enumerate() {
            text += &format!("{c},{}\n", i % 2);
        }
        let t = Table::parse(&text, "t.csv").unwrap();
        let every = super::super::columns::distinct(&t, 0, &(0..t.len()).collect::<Vec<_>>());
        let column = Column::parse(&t, 0);
        let cells = match column.numbers() {
            Some(_) => Cells::Numbers(&column),
            None => Cells::Text(&every),
        };
        not_a_feature(&t, 0, cells)
    }

    fn cells(f: impl Fn(usize) -> String) -> Vec<String> {
        (0..30).map(f).collect()
    }

    #[test]
    fn ids_running_numbers_free_text_and_dates_are_named() {
        fn n(f: impl Fn(usize) -> String) -> String {
            note("x", &cells(f)).unwrap_or_default()
        }
        // a running index, shuffled or not
        assert!(n(|i| i.to_string()).contains("looks like a row id"));
        assert!(n(|i| ((i * 7) % 30 + 1).to_string()).contains("looks like a row id"));
        // a different whole number on every row, the table sorted by it: kept
        assert_eq!(n(|i| (1000 + i * i).to_string()), "");
        // a sample number counted per group: it restarts
        let r = n(|i| (i % 15 + 1).to_string());
        assert!(
            r.contains("running number") && r.contains("28 of 29 rows"),
            "{r}"
        );
        // a running number with rows taken out: steps of 2 too
        let gaps = n(|i| (i + i / 4).to_string());
        assert!(gaps.contains("running number"), "{gaps}");
        // a sorted count with ties, evenly spaced values: measurements
        assert_eq!(n(|i| (i / 3).to_string()), "");
        assert_eq!(n(|i| (i * 2).to_string()), "");
        assert_eq!(n(|i| (i * 3).to_string()), "");
        assert!(n(|i| format!("2008-11-{:02}", i % 28 + 1)).contains("holds dates ('2008-11-01')"));
        assert!(n(|i| format!("2008/01/{:02} 10:00", i % 28 + 1)).contains("holds dates"));
        let t = n(|i| format!("the bird number {i} was seen near the nest"));
        assert!(
            t.contains("is free text (30 different values in 30 rows"),
            "{t}"
        );
        assert!(n(|i| format!("N{i}A1")).contains("looks like an id (text with 30"));
        // features stay: measurements, a few categories, long category names
        assert_eq!(note("x", &cells(|i| ((i * 37) % 11).to_string())), None);
        assert_eq!(
            note("x", &cells(|i| format!("{}", (i * 7919) % 1000 + 3))),
            None
        );
        assert_eq!(note("x", &cells(|i| format!("{}.5", i))), None);
        let long = |i: usize| ["Adelie Penguin (Pygoscelis adeliae)", "Gentoo penguin"][i % 2];
        assert_eq!(note("x", &cells(|i| long(i).to_owned())), None);
        // a column mostly empty is judged on the cells it has
        let sparse = |i: usize| {
            if i.is_multiple_of(10) {
                "2008-01-01".into()
            } else {
                String::new()
            }
        };
        assert!(note("x", &cells(sparse)).is_some_and(|m| m.contains("dates")));
    }

    /// Whether a column has a different cell on every row is a question
    /// about its text: `3` and `3.0` are one number but two cells.
    #[test]
    fn equal_numbers_written_differently_are_different_cells() {
        let mut c = cells(|i| i.to_string());
        c[29] = "3.0".into();
        let r = note("id", &c).unwrap_or_default();
        assert!(r.contains("looks like a row id"), "{r}");
        c[29] = "3".into();
        let r = note("id", &c).unwrap_or_default();
        assert!(
            r.contains("running number") && r.contains("28 of 29"),
            "{r}"
        );
    }

    proptest::proptest! {
        /// The one reading tells a column of a different cell on every row
        /// as the distinct cells did.
        #[test]
        fn all_different_is_every_cell_once(k in proptest::collection::vec(0..7usize, 1..30)) {
            let cells = ["1", "1.0", "01", "2", "3", "+3", "NA"];
            let text: String = std::iter::once("x\n".to_owned())
                .chain(k.iter().map(|&k| format!("{}\n", cells[k])))
                .collect();
            let t = Table::parse(&text, "t.csv").unwrap();
            let every = super::super::columns::distinct(&t, 0, &(0..t.len()).collect::<Vec<_>>());
            let once = every.values().all(|&n| n == 1) && every.len() == t.len();
            let column = Column::parse(&t, 0);
            let numbers = column.numbers().unwrap();
            proptest::prop_assert_eq!(column.full() && all_different(&t, 0, numbers), once);
        }
    }
}
