//! A table made ready to train on: rows without a target left out, split
//! into training, validation and test rows, the preprocessing learned from
//! the training rows alone, and all three encoded.

use super::columns::numbers_as_text;
use super::impute::{EMPTY_CATEGORY, rows_with_target};
use super::prep::{Input, PrepOptions, Preprocess};
use super::{DataError, Dataset, Table};

/// A table made ready to train on: the fitted [`Preprocess`] and the
/// encoded training, validation and test sets, with what the user should
/// read (rows and columns left out, empty cells filled, unseen categories).
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The preprocessing, learned from the training rows only.
    pub prep: Preprocess,
    /// What the model trains on.
    pub train: Dataset,
    /// Held out from the training rows for early stopping (may be empty).
    pub valid: Dataset,
    /// Held out for the final score (may be empty).
    pub test: Dataset,
    /// One line per column left out, and why.
    pub notes: Vec<String>,
    /// One line per table with rows left out because their target is
    /// empty: how many, and on which lines (the first few).
    pub left_out: Vec<String>,
    /// One line per column whose empty cells were filled, and with what.
    pub filled: Vec<String>,
    /// One line per problem found in the held-out rows.
    pub warnings: Vec<String>,
}

/// Splits `table` into training, validation and test rows, learns the
/// preprocessing from the training rows alone, and encodes all three.
///
/// `test` is a separate table to score on (the same columns); without one,
/// `test_fraction` of the rows are held out. `valid_fraction` of the
/// remaining rows are held out for early stopping. `seed` shuffles. Rows
/// whose target is empty are left out first (of both tables), with a note.
///
/// ```
/// use micrograd::data::{PrepOptions, Table, prepare};
/// let mut text = String::from("id,x,colour,y\n");
/// for i in 0..40 {
///     let c = ["red", "blue"][i % 2];
///     let y = if i % 2 == 0 { "even" } else { "odd" };
///     text += &format!("{i},{},{c},{y}\n", i * 1000);
/// }
/// text += "40,5,red,\n"; // no target: left out
/// let t = Table::parse(&text, "t.csv").unwrap();
/// let p = prepare(&t, None, "y", &PrepOptions::default(), 0.25, 0.1, 7).unwrap();
/// assert_eq!((p.train.len(), p.valid.len(), p.test.len()), (27, 3, 10));
/// assert_eq!(p.train.features, vec!["x", "colour=blue", "colour=red"]);
/// assert!(p.notes[0].contains("'id' looks like a row id"));
/// assert!(p.left_out[0].contains("left out 1 row whose target 'y' is empty (or NA), on line 42"));
/// ```
pub fn prepare(
    table: &Table,
    test: Option<&Table>,
    target: &str,
    opts: &PrepOptions,
    test_fraction: f64,
    valid_fraction: f64,
    seed: u64,
) -> Result<Prepared, DataError> {
    let t = table.require_as(target, "target column")?;
    let (table, note) = rows_with_target(table, t)?;
    let table = table.as_ref();
    let mut left_out: Vec<String> = note.into_iter().collect();
    let test = match test {
        Some(other) => {
            let t = other.require_as(target, "target column")?;
            let (kept, note) = rows_with_target(other, t)?;
            left_out.extend(note);
            Some(kept)
        }
        None => None,
    };
    let test = test.as_deref();
    let mut rng = crate::Rng::new(seed);
    let (rest, test_rows) = match test {
        Some(_) => ((0..table.len()).collect(), Vec::new()),
        None => super::split_indices(table.len(), test_fraction, &mut rng),
    };
    let (keep, valid_rows) = super::split_indices(rest.len(), valid_fraction, &mut rng);
    let train_rows: Vec<usize> = keep.iter().map(|&k| rest[k]).collect();
    let valid_rows: Vec<usize> = valid_rows.iter().map(|&k| rest[k]).collect();
    let rows = [train_rows, valid_rows, test_rows];
    encode_split(table, test, target, opts, rows, left_out)
}

/// Learns the preprocessing from the training rows of `table` alone and
/// encodes the three sets: `rows` holds the rows of `table` to train on,
/// to validate on and to test on (the test rows are `test`'s, all of them,
/// when there is a separate test table). `left_out` is carried into the
/// result.
pub(super) fn encode_split(
    table: &Table,
    test: Option<&Table>,
    target: &str,
    opts: &PrepOptions,
    rows: [Vec<usize>; 3],
    left_out: Vec<String>,
) -> Result<Prepared, DataError> {
    let [train_rows, valid_rows, test_rows] = rows;
    let (prep, notes, parsed) = Preprocess::fit_parsed(table, target, &train_rows, opts)?;
    // every row encoded at once, so that one error names all the missing cells
    let every: Vec<usize> = (0..table.len()).collect();
    let (all, mut warnings) = prep.dataset_parsed(table, &every, &parsed)?;
    // the classes come from every row of `table` (fit_target), so encoding
    // leaves none of its rows out, and `all`'s rows are the table's, index
    // for index, as the subsets below take them
    assert_eq!(
        all.len(),
        every.len(),
        "micrograd: a row left out of its own table's encoding"
    );
    drop(parsed); // its numbers are in `all` now: let them go before the split copies rows
    let mut filled = prep.filled(table, &every);
    warnings.extend(prep.inputs.iter().filter_map(|input| match input {
        Input::OneHot { column, categories } => {
            let seen: Vec<String> = categories
                .iter()
                .filter(|c| *c != EMPTY_CATEGORY)
                .cloned()
                .collect();
            numbers_as_text(column, &seen)
        }
        Input::Numeric { .. } => None,
    }));
    let (train, valid) = (all.subset(&train_rows), all.subset(&valid_rows));
    let test = match test {
        Some(t) => {
            let every: Vec<usize> = (0..t.len()).collect();
            let (test, more) = prep.dataset(t, &every)?;
            warnings.extend(more);
            let source = &t.source;
            filled.extend(
                prep.filled(t, &every)
                    .iter()
                    .map(|f| format!("{source}: {f}")),
            );
            test
        }
        None => all.subset(&test_rows),
    };
    Ok(Prepared {
        prep,
        train,
        valid,
        test,
        notes,
        left_out,
        filled,
        warnings,
    })
}
