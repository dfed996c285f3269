//! A table's feature columns read once: each cell parsed as a number in one
//! pass, keeping which cells are missing. What a column is (numbers or
//! text), its mean and spread, whether it is an id, and its encoded inputs
//! are all worked out from this one reading: a column of numbers is never
//! compared as text, nor parsed again.

use super::target::Encoded;
use super::{Table, is_missing};

/// One column of a table, read once.
///
/// `numbers` holds each row's cell as a number (NaN where it is missing),
/// or is `None` when some cell that is not missing is no number: a text
/// column, whose cells are only ever read as text.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Column {
    /// Each row's number (NaN where missing), or `None` for a text column.
    numbers: Option<Vec<f64>>,
    /// Whether each row's cell is missing (see [`is_missing`]).
    missing: Vec<bool>,
}

impl Column {
    /// Column `c` of `table`, each cell parsed once (see [`Parsed::new`]
    /// for several columns).
    #[cfg(test)]
    pub(super) fn parse(table: &Table, c: usize) -> Column {
        let mut column = Column::with_capacity(table.len());
        for r in table.rows() {
            column.push(r.cell(c));
        }
        column
    }

    /// A column of no rows yet, room made for `n`.
    #[cfg(test)]
    fn with_capacity(n: usize) -> Column {
        Column {
            numbers: Some(Vec::with_capacity(n)),
            missing: Vec::with_capacity(n),
        }
    }

    /// Reads the next row's cell: whether it is missing, and its number
    /// while every filled cell so far is one (at the first that is not, the
    /// column is text and its numbers are let go). The definition that
    /// [`Parsed::new`] is tested against.
    #[cfg(test)]
    fn push(&mut self, cell: &str) {
        let empty = is_missing(cell);
        self.missing.push(empty);
        let Some(numbers) = &mut self.numbers else {
            return;
        };
        if empty {
            numbers.push(f64::NAN);
        } else if let Ok(v) = cell.parse::<f64>() {
            numbers.push(v);
        } else {
            self.numbers = None;
        }
    }

    /// Each row's number (NaN where missing); `None` for a text column.
    pub(super) fn numbers(&self) -> Option<&[f64]> {
        self.numbers.as_deref()
    }

    /// Whether row `i`'s cell is missing.
    pub(super) fn is_missing(&self, i: usize) -> bool {
        self.missing[i]
    }

    /// Whether every cell of the column is filled.
    pub(super) fn full(&self) -> bool {
        !self.missing.contains(&true)
    }

    /// The number in row `i`, if the column is numbers and the cell is not
    /// missing (nor past the last row).
    pub(super) fn number(&self, i: usize) -> Option<f64> {
        let v = *self.numbers.as_ref()?.get(i)?;
        (!self.missing[i]).then_some(v)
    }

    /// Whether two of the numbers in `rows` differ: then they are two
    /// different cells, as the same text always parses to the same number.
    /// `false` for a text column (its cells are compared as text).
    pub(super) fn numbers_differ(&self, rows: &[usize]) -> bool {
        let mut bits = rows
            .iter()
            .filter_map(|&i| self.number(i))
            .map(f64::to_bits);
        let first = bits.next();
        first.is_some_and(|b| bits.any(|o| o != b))
    }

    /// Mean and (population) standard deviation of the finite numbers in
    /// `rows`, missing cells left out, in the order of `rows`; a std of 0
    /// becomes 1. `None` for a text column.
    pub(super) fn mean_std(&self, rows: &[usize]) -> Option<(f64, f64)> {
        self.numbers.as_ref()?;
        let v: Vec<f64> = rows
            .iter()
            .filter_map(|&i| self.number(i))
            .filter(|v| v.is_finite())
            .collect();
        let (m, s) = super::columns::stats(&v);
        Some((m, if s > 0.0 { s } else { 1.0 }))
    }
}

/// Columns of one table, each read once, in the order they were asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Parsed {
    columns: Vec<(usize, Column)>,
    /// The target's column and every row's target, as encoded when the
    /// preprocessing was learned (see `encode_target`).
    target: Option<(usize, Encoded)>,
}

impl Parsed {
    /// Columns `cols` of `table` (indices into its header), each read once,
    /// row by row: the cells of a row lie together in memory, and reading a
    /// column at a time would fetch a row's worth of memory for each cell.
    /// Blocks of rows are read on rayon's threads, each into its own part of
    /// every column, so the result is the same whatever the number of
    /// threads. (A text column's numbers are let go once every block is
    /// read: for a moment they take as much memory as the table's own index
    /// of its cells.)
    pub(super) fn new(table: &Table, cols: &[usize]) -> Parsed {
        use rayon::prelude::*;
        const BLOCK: usize = 8192;
        let n = table.len();
        let mut numbers: Vec<Vec<f64>> = cols.iter().map(|_| vec![f64::NAN; n]).collect();
        let mut missing: Vec<Vec<bool>> = cols.iter().map(|_| vec![false; n]).collect();
        // each block of rows gets its part of every column
        let mut blocks: Vec<Vec<(&mut [f64], &mut [bool])>> =
            (0..n.div_ceil(BLOCK)).map(|_| Vec::new()).collect();
        for (x, m) in numbers.iter_mut().zip(&mut missing) {
            let parts = x.chunks_mut(BLOCK).zip(m.chunks_mut(BLOCK));
            for (block, part) in blocks.iter_mut().zip(parts) {
                block.push(part);
            }
        }
        // which columns each block found a cell in that is no number
        let text: Vec<Vec<bool>> = blocks
            .into_par_iter()
            .enumerate()
            .map(|(b, mut parts)| {
                let mut text = vec![false; cols.len()];
                for (k, i) in (b * BLOCK..n.min((b + 1) * BLOCK)).enumerate() {
                    let r = table.row(i);
                    for ((&c, (x, m)), text) in cols.iter().zip(&mut parts).zip(&mut text) {
                        let cell = r.cell(c);
                        m[k] = is_missing(cell);
                        if !m[k] && !*text {
                            match cell.parse::<f64>() {
                                Ok(v) => x[k] = v,
                                Err(_) => *text = true,
                            }
                        }
                    }
                }
                text
            })
            .collect();
        let columns = cols
            .iter()
            .zip(numbers.into_iter().zip(missing))
            .enumerate()
            .map(|(j, (&c, (x, missing)))| {
                let numbers = (!text.iter().any(|t| t[j])).then_some(x);
                (c, Column { numbers, missing })
            })
            .collect();
        Parsed {
            columns,
            target: None,
        }
    }

    /// Keeps every row's target of column `t`, as encoded.
    pub(super) fn keep_target(&mut self, t: usize, encoded: Encoded) {
        self.target = Some((t, encoded));
    }

    /// Every row's target of column `t`, if it was kept.
    pub(super) fn target(&self, t: usize) -> Option<&Encoded> {
        self.target
            .as_ref()
            .filter(|(c, _)| *c == t)
            .map(|(_, e)| e)
    }

    /// The columns read, with their indices, in the order asked for.
    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns.iter().map(|(c, column)| (*c, column))
    }

    /// Column `c`, if it was read.
    pub(super) fn get(&self, c: usize) -> Option<&Column> {
        self.iter().find(|(k, _)| *k == c).map(|(_, column)| column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::columns::{distinct, stats};
    use crate::data::{Impute, PrepOptions, Preprocess};
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Cells that are numbers, missing, the same number written twice
    /// over, not finite, and text.
    const CELLS: [&str; 15] = [
        "1", "1.0", "01", "2", "-0", "0", "NA", "", "NaN", "-nan", "inf", "3.5", "-7e2", "a", "x y",
    ];

    /// A table of columns `x` and `z`, the cells `CELLS[k]` for the `k`s
    /// given, and a class `y`.
    fn table(x: &[usize], z: &[usize]) -> Table {
        let mut text = String::from("x,z,y\n");
        for (i, (&a, &b)) in x.iter().zip(z).enumerate() {
            text += &format!("\"{}\",\"{}\",{}\n", CELLS[a], CELLS[b], ["p", "q"][i % 2]);
        }
        Table::parse(&text, "t.csv").unwrap()
    }

    #[test]
    fn a_column_is_read_once_as_numbers_or_text() {
        let t = Table::parse("x,y,w\n1.5,a,1\nNA,b,2\n-nan,c,\ninf,d,4\n,e,5\n", "t.csv").unwrap();
        let x = Column::parse(&t, 0);
        assert_eq!(x.missing, [false, true, false, false, true]);
        let n = x.numbers().unwrap();
        assert_eq!((n[0], n[3]), (1.5, f64::INFINITY));
        assert!(n[1].is_nan() && n[2].is_nan());
        assert_eq!(
            (x.number(0), x.number(1), x.number(5)),
            (Some(1.5), None, None)
        );
        assert!(
            x.number(2).is_some_and(f64::is_nan),
            "-nan is a cell, not a missing one"
        );
        let y = Column::parse(&t, 1);
        assert_eq!((y.numbers(), y.number(0)), (None, None));
        assert!(y.full() && !x.full());
        assert!(!y.numbers_differ(&[0, 1]), "text is compared as text");
        // a fraction and an empty cell left out of the mean, the order of the rows kept
        assert_eq!(x.mean_std(&[0, 1, 3]), Some((1.5, 1.0)));
        let w = Column::parse(&t, 2);
        assert_eq!(
            w.mean_std(&[0, 1, 2, 3, 4]),
            Some((3.0, 1.5811388300841898))
        );
        assert!(w.numbers_differ(&[2, 4, 0]) && !w.numbers_differ(&[2, 4]));
        let parsed = Parsed::new(&t, &[2, 0]);
        let order: Vec<usize> = parsed.iter().map(|(c, _)| c).collect();
        assert_eq!(order, [2, 0]);
        assert_eq!(parsed.get(0).map(|c| &c.missing), Some(&x.missing));
        assert_eq!(parsed.get(1), None);
    }

    #[test]
    fn blocks_read_on_threads_join_into_the_column_read_row_by_row() {
        // past two blocks of rows, a text cell only in the last block, and
        // empty cells on either side of each block's edge
        let mut text = String::from("x,z,y\n");
        for i in 0..20_000 {
            let x = if i == 19_000 {
                "word".into()
            } else {
                i.to_string()
            };
            let z = if i % 8192 < 2 || i % 8192 > 8190 {
                String::new()
            } else {
                format!("{}.5", i % 7)
            };
            text += &format!("{x},{z},{}\n", i % 2);
        }
        let t = Table::parse(&text, "t.csv").unwrap();
        let parsed = Parsed::new(&t, &[1, 0]);
        let bits = |c: &Column| {
            c.numbers()
                .map(|n| n.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        };
        for c in [0, 1] {
            let (ours, one) = (parsed.get(c).unwrap(), Column::parse(&t, c));
            assert_eq!(ours.missing, one.missing, "column {c}");
            assert_eq!(bits(ours), bits(&one), "column {c}"); // NaN for each empty cell
        }
        assert!(
            parsed.get(0).unwrap().numbers().is_none(),
            "one word makes a text column"
        );
        assert_eq!(parsed.get(1).unwrap().numbers().unwrap().len(), 20_000);
    }

    proptest! {
        /// What the one reading decides is what the column's text said: a
        /// number column when every filled cell parses, two values when two
        /// numbers differ, the mean and spread of the finite ones.
        #[test]
        fn reading_once_decides_as_the_text_did(
            x in vec(0..CELLS.len(), 1..40),
            cut in 1usize..40,
        ) {
            let t = table(&x, &x);
            let all: Vec<usize> = (0..t.len()).collect();
            let rows: Vec<usize> = all.iter().copied().take(cut).rev().collect();
            let column = Column::parse(&t, 0);
            let every = distinct(&t, 0, &all);
            prop_assert_eq!(
                column.numbers().is_some(),
                every.keys().all(|s| s.parse::<f64>().is_ok())
            );
            let values = distinct(&t, 0, &rows).len();
            if column.numbers_differ(&rows) {
                prop_assert!(values >= 2);
            } else if column.numbers().is_some() {
                let bits: std::collections::BTreeSet<u64> =
                    rows.iter().filter_map(|&i| column.number(i)).map(f64::to_bits).collect();
                prop_assert!(bits.len() <= 1);
            }
            let text: Vec<f64> = rows
                .iter()
                .filter_map(|&i| t.cell(i, 0).parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .collect();
            let (m, s) = stats(&text);
            let want = column.numbers().map(|_| (m, if s > 0.0 { s } else { 1.0 }));
            prop_assert_eq!(column.mean_std(&rows), want);
        }

        /// Rows encoded from the numbers read at fitting are the rows
        /// encoded from their text: the same inputs, the same errors.
        #[test]
        fn encoding_from_the_reading_is_encoding_from_the_text(
            cells in vec((0..CELLS.len(), 0..13usize), 2..40),
            cut in 1usize..40,
            impute in proptest::bool::ANY,
        ) {
            let (x, z): (Vec<usize>, Vec<usize>) = cells.into_iter().unzip();
            let t = table(&x, &z);
            let all: Vec<usize> = (0..t.len()).collect();
            let rows: Vec<usize> = all.iter().copied().take(cut).collect();
            let impute = if impute { Impute::Mean } else { Impute::None };
            let opts = PrepOptions { impute, ..PrepOptions::default() };
            if let Ok((p, notes, parsed)) = Preprocess::fit_parsed(&t, "y", &rows, &opts) {
                prop_assert_eq!(Preprocess::fit(&t, "y", &rows, &opts).unwrap(), (p.clone(), notes));
                prop_assert_eq!(p.dataset_parsed(&t, &all, &parsed), p.dataset(&t, &all));
            }
        }
    }
}
