//! Preprocessing for tables: which columns are features, how each becomes
//! numbers, and how the target is encoded. It is learned from the training
//! rows only, saved with the model, and applied in the same way to test rows
//! and to new rows at prediction time.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::columns::{column_input, feature_columns};
use super::impute::{EMPTY_CATEGORY, Impute, missing_cells};
use super::parsed::{Column, Parsed};
use super::target::{Target, encode_target, fit_target};
use super::{DataError, Dataset, Table, Task, is_missing};
use crate::text::shorten;

/// Choices for [`Preprocess::fit`].
///
/// ```
/// let o = micrograd::data::PrepOptions::default();
/// assert!(o.scale && o.features.is_none() && o.drop.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PrepOptions {
    /// Classification or regression; `Auto` decides from the target column.
    pub task: Task,
    /// Use exactly these columns as features (no column is dropped as an
    /// id); `None`: every column but the target and `drop`.
    pub features: Option<Vec<String>>,
    /// Columns not to use.
    pub drop: Vec<String>,
    /// Standardise number columns and a regression target (mean 0, std 1).
    pub scale: bool,
    /// What to do with missing feature cells (filled unless told not to).
    pub impute: Impute,
}

impl Default for PrepOptions {
    fn default() -> Self {
        PrepOptions {
            task: Task::Auto,
            features: None,
            drop: Vec::new(),
            scale: true,
            impute: Impute::Mean,
        }
    }
}

/// How one column becomes model inputs.
///
/// ```
/// use micrograd::data::Input;
/// let age = Input::Numeric { column: "age".into(), mean: 40.0, std: 10.0 };
/// assert_eq!(age.names(), vec!["age"]);
/// let c = Input::OneHot { column: "colour".into(), categories: vec!["blue".into(), "red".into()] };
/// assert_eq!(c.names(), vec!["colour=blue", "colour=red"]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Input {
    /// One input, `(x - mean) / std`.
    Numeric {
        /// The column's name.
        column: String,
        /// Subtracted first (0 when not scaled).
        mean: f64,
        /// Divided by next (1 when not scaled).
        std: f64,
    },
    /// One input per category: 1 for the row's category, 0 for the others
    /// (all 0 for a category not seen in training).
    OneHot {
        /// The column's name.
        column: String,
        /// The categories seen in the training rows, sorted.
        categories: Vec<String>,
    },
}

impl Input {
    /// The column this input reads.
    ///
    /// ```
    /// use micrograd::data::Input;
    /// assert_eq!(Input::Numeric { column: "x".into(), mean: 0.0, std: 1.0 }.column(), "x");
    /// ```
    pub fn column(&self) -> &str {
        match self {
            Input::Numeric { column, .. } | Input::OneHot { column, .. } => column,
        }
    }

    /// The names of the model inputs it makes: the column's name, or
    /// `column=category` for each category.
    pub fn names(&self) -> Vec<String> {
        match self {
            Input::Numeric { column, .. } => vec![column.clone()],
            Input::OneHot { column, categories } => {
                categories.iter().map(|c| format!("{column}={c}")).collect()
            }
        }
    }
}

/// Why a cell could not be encoded.
#[derive(Debug)]
enum CellError {
    /// The cell is empty (or NA, NaN) and nothing fills it.
    Empty,
    /// The cell holds something else than its column's kind.
    Bad(String),
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellError::Empty => f.write_str("empty value"),
            CellError::Bad(m) => f.write_str(m),
        }
    }
}

/// The preprocessing of a table, learned by [`fit`](Preprocess::fit) from
/// the training rows: each feature column's [`Input`] (standardised number
/// or one-hot text), and the [`Target`].
///
/// ```
/// use micrograd::data::{PrepOptions, Preprocess, Table};
/// let t = Table::parse("id,size,colour,const,label\n\
///     1,10,red,7,a\n2,20,blue,7,b\n3,30,red,7,a\n4,40,blue,7,b\n", "t.csv").unwrap();
/// let (prep, notes) = Preprocess::fit(&t, "label", &[0, 1, 2, 3], &PrepOptions::default()).unwrap();
/// assert_eq!(prep.input_names(), vec!["id", "size", "colour=blue", "colour=red"]);
/// assert!(notes[0].contains("'const' has one value"));
/// let (ds, warnings) = prep.dataset(&t, &[0, 1]).unwrap();
/// assert_eq!(ds.x[1][3], 0.0); // row 2 is blue
/// assert!(warnings.is_empty());
/// assert_eq!(ds.classes, vec!["a", "b"]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// The model's inputs, column by column.
    pub inputs: Vec<Input>,
    /// The target.
    pub target: Target,
    /// What missing feature cells become (absent from a model file written
    /// before filling was the default: such a model refuses them, as it did).
    #[serde(default = "Impute::absent")]
    pub impute: Impute,
}

impl Preprocess {
    /// Preprocessing that passes numeric features through unchanged:
    /// for data that is already numbers, such as the built-in sets.
    ///
    /// ```
    /// use micrograd::data::{Preprocess, moons};
    /// let ds = moons(10, 0.1, 0);
    /// let p = Preprocess::identity(&ds);
    /// assert_eq!(p.encode_row(&["0.5", "-1"]).unwrap(), vec![0.5, -1.0]);
    /// ```
    pub fn identity(ds: &Dataset) -> Preprocess {
        Preprocess {
            inputs: ds
                .features
                .iter()
                .map(|f| Input::Numeric {
                    column: f.clone(),
                    mean: 0.0,
                    std: 1.0,
                })
                .collect(),
            target: if ds.classes.is_empty() {
                Target::Number {
                    column: ds.target.clone(),
                    mean: 0.0,
                    std: 1.0,
                }
            } else {
                Target::Classes {
                    column: ds.target.clone(),
                    classes: ds.classes.clone(),
                }
            },
            impute: Impute::None,
        }
    }

    /// Learns the preprocessing of `table` from its rows `rows` (the
    /// training split): which columns are features, each one's mean and
    /// standard deviation or categories, and the target's encoding. Returns
    /// it with notes, one line each, on the columns it left out and why: a
    /// column with one value, or (unless named in `opts.features`) an id, a
    /// running number, free text or dates (the rules of `data/roles.rs`).
    ///
    /// ```
    /// use micrograd::data::{Input, PrepOptions, Preprocess, Table};
    /// let t = Table::parse("x,y\n1,a\n3,b\n100,a\n", "t.csv").unwrap();
    /// let (p, _) = Preprocess::fit(&t, "y", &[0, 1], &PrepOptions::default()).unwrap();
    /// // learned from rows 0 and 1 only: the 100 of row 2 does not move it
    /// assert_eq!(p.inputs[0], Input::Numeric { column: "x".into(), mean: 2.0, std: 1.0 });
    /// ```
    pub fn fit(
        table: &Table,
        target: &str,
        rows: &[usize],
        opts: &PrepOptions,
    ) -> Result<(Preprocess, Vec<String>), DataError> {
        Self::fit_parsed(table, target, rows, opts).map(|(prep, notes, _)| (prep, notes))
    }

    /// [`fit`](Self::fit), also returning the feature columns as it read
    /// them (each cell once): [`dataset_parsed`](Self::dataset_parsed)
    /// encodes `table` from them without reading its numbers again.
    pub(super) fn fit_parsed(
        table: &Table,
        target: &str,
        rows: &[usize],
        opts: &PrepOptions,
    ) -> Result<(Preprocess, Vec<String>, Parsed), DataError> {
        let err = |message: String| DataError {
            source: table.source.clone(),
            line: Some(1),
            column: None,
            message,
        };
        let t = table.require_as(target, "target column")?;
        if rows.is_empty() {
            return Err(err("no training rows".into()));
        }
        let explicit = opts.features.is_some();
        let mut inputs = Vec::new();
        let mut notes = Vec::new();
        let mut parsed = Parsed::new(table, &feature_columns(table, t, opts)?);
        for (c, column) in parsed.iter() {
            match column_input(table, c, column, rows, explicit, opts) {
                Ok(input) => inputs.push(input),
                Err(note) => notes.push(note),
            }
        }
        if inputs.is_empty() {
            return Err(err(format!(
                "no feature columns left to learn from: {}",
                crate::text::some_names(&notes, "", 400)
            )));
        }

        let (target, encoded) = fit_target(table, t, rows, opts)?;
        parsed.keep_target(t, encoded);
        Ok((
            Preprocess {
                inputs,
                target,
                impute: opts.impute,
            },
            notes,
            parsed,
        ))
    }

    /// Sets every scaling to none (mean 0, std 1): for a network whose
    /// weights already hold it (see [`ModelFile::to_safetensors`](crate::nn::ModelFile::to_safetensors)).
    pub(crate) fn clear_scaling(&mut self) {
        for input in &mut self.inputs {
            if let Input::Numeric { mean, std, .. } = input {
                (*mean, *std) = (0.0, 1.0);
            }
        }
        if let Target::Number { mean, std, .. } = &mut self.target {
            (*mean, *std) = (0.0, 1.0);
        }
    }

    /// The columns a row must have, in the order of the inputs.
    ///
    /// ```
    /// use micrograd::data::{Preprocess, xor};
    /// assert_eq!(Preprocess::identity(&xor()).columns(), vec!["x1", "x2"]);
    /// ```
    pub fn columns(&self) -> Vec<&str> {
        self.inputs.iter().map(Input::column).collect()
    }

    /// The names of the model's inputs: a column's name, or
    /// `column=category` for each one-hot input.
    pub fn input_names(&self) -> Vec<String> {
        self.inputs.iter().flat_map(Input::names).collect()
    }

    /// How many inputs the model takes.
    ///
    /// ```
    /// use micrograd::data::{Preprocess, toy};
    /// assert_eq!(Preprocess::identity(&toy()).nfeatures(), 3);
    /// ```
    pub fn nfeatures(&self) -> usize {
        self.inputs
            .iter()
            .map(|i| match i {
                Input::Numeric { .. } => 1,
                Input::OneHot { categories, .. } => categories.len(),
            })
            .sum()
    }

    /// One row's cells (in [`columns`](Self::columns) order) as model
    /// inputs. A missing number is an error unless imputing; an unknown
    /// category gets all zeros. Errors name the column.
    ///
    /// ```
    /// use micrograd::data::{Input, Impute, Preprocess, Target};
    /// let p = Preprocess {
    ///     inputs: vec![Input::Numeric { column: "x".into(), mean: 1.0, std: 2.0 }],
    ///     target: Target::Number { column: "y".into(), mean: 0.0, std: 1.0 },
    ///     impute: Impute::None,
    /// };
    /// assert_eq!(p.encode_row(&["5"]).unwrap(), vec![2.0]);
    /// assert_eq!(p.encode_row(&["abc"]).unwrap_err(), "column 'x': 'abc' is not a number");
    /// ```
    pub fn encode_row(&self, cells: &[&str]) -> Result<Vec<f64>, String> {
        let mut out = Vec::with_capacity(self.nfeatures());
        for (input, cell) in self.inputs.iter().zip(cells) {
            self.encode(input, cell, &mut out)
                .map_err(|m| format!("column '{}': {m}", input.column()))?;
        }
        Ok(out)
    }

    /// Appends one cell's inputs to `out` (an unseen category gets zeros).
    fn encode(&self, input: &Input, cell: &str, out: &mut Vec<f64>) -> Result<(), CellError> {
        let impute = self.impute == Impute::Mean;
        match input {
            Input::Numeric { mean, std, .. } => {
                if is_missing(cell) {
                    if impute {
                        out.push(0.0);
                        return Ok(());
                    }
                    return Err(CellError::Empty);
                }
                match cell.parse::<f64>() {
                    Ok(v) if v.is_finite() => out.push((v - mean) / std),
                    Ok(_) => {
                        return Err(CellError::Bad(format!("'{cell}' is not a finite number")));
                    }
                    Err(_) => {
                        let m = format!("'{}' is not a number", shorten(cell, 40));
                        return Err(CellError::Bad(m));
                    }
                }
            }
            Input::OneHot { categories, .. } => {
                let missing = is_missing(cell);
                if missing && !impute {
                    return Err(CellError::Empty);
                }
                let cell = if missing { EMPTY_CATEGORY } else { cell };
                let k = categories.iter().position(|c| c == cell);
                out.extend((0..categories.len()).map(|i| f64::from(Some(i) == k)));
            }
        }
        Ok(())
    }

    /// The rows `rows` of `table` as a [`Dataset`] the model trains or is
    /// scored on: encoded inputs, and the target encoded (class indices, or
    /// standardised numbers). Returns warnings about categories not seen in
    /// training, and about rows of a class not seen in training, which are
    /// left out (no model could predict them). Missing cells are one error
    /// that names the first few.
    ///
    /// ```
    /// use micrograd::data::{PrepOptions, Preprocess, Table};
    /// let t = Table::parse("x,y\n1,a\n3,b\n", "t.csv").unwrap();
    /// let (p, _) = Preprocess::fit(&t, "y", &[0, 1], &PrepOptions::default()).unwrap();
    /// let (ds, _) = p.dataset(&t, &[1, 0]).unwrap();
    /// assert_eq!((ds.x, ds.y), (vec![vec![1.0], vec![-1.0]], vec![1.0, 0.0]));
    /// ```
    pub fn dataset(
        &self,
        table: &Table,
        rows: &[usize],
    ) -> Result<(Dataset, Vec<String>), DataError> {
        self.dataset_parsed(table, rows, &Parsed::default())
    }

    /// [`dataset`](Self::dataset), taking the numbers of the columns in
    /// `parsed` (read from this `table` by [`fit_parsed`](Self::fit_parsed))
    /// rather than reading their cells again.
    pub(super) fn dataset_parsed(
        &self,
        table: &Table,
        rows: &[usize],
        parsed: &Parsed,
    ) -> Result<(Dataset, Vec<String>), DataError> {
        let t = table.require(self.target.column())?;
        let task = match self.target {
            Target::Classes { .. } => Task::Classification,
            Target::Number { .. } => Task::Regression,
        };
        let encoded;
        let (y, classes) = match parsed.target(t) {
            Some((y, classes)) => (y, classes),
            None => {
                encoded = encode_target(table, t, task)?;
                (&encoded.0, &encoded.1)
            }
        };
        let (rows, y, unknown) = match &self.target {
            Target::Classes { classes: ours, .. } => {
                // class indices in the model's order; a row of a class the
                // model has never seen cannot be predicted: it is left out
                let mut kept = (Vec::with_capacity(rows.len()), Vec::new());
                let mut unknown = Vec::new();
                for &i in rows {
                    let name = &classes[y[i] as usize];
                    match ours.iter().position(|c| c == name) {
                        Some(k) => {
                            kept.0.push(i);
                            kept.1.push(k as f64);
                        }
                        None => unknown.push((table.row(i).line(), name.as_str())),
                    }
                }
                (kept.0, kept.1, unknown)
            }
            Target::Number { .. } => {
                let y = rows.iter().map(|&i| self.target.from_target(y[i]));
                (rows.to_vec(), y.collect(), Vec::new())
            }
        };
        let (x, mut warnings) = self.inputs_parsed(table, &rows, parsed)?;
        if let Some((line, name)) = unknown.first() {
            warnings.push(format!(
                "{}: {} row(s) of a class the model was not trained on (line {line}: '{}'; it \
                 knows {}) left out: it cannot predict them",
                table.source,
                unknown.len(),
                shorten(name, 40),
                crate::text::some_names(self.target.classes(), "", 200)
            ));
        }
        Ok((
            Dataset {
                name: table.source.clone(),
                features: self.input_names(),
                target: self.target.column().to_owned(),
                x,
                y,
                classes: self.target.classes().to_vec(),
            },
            warnings,
        ))
    }

    /// The rows `rows` of `table` as model inputs, with warnings about
    /// categories not seen in training; the target column is not needed.
    ///
    /// ```
    /// use micrograd::data::{PrepOptions, Preprocess, Table};
    /// let t = Table::parse("c,y\nred,a\nblue,b\n", "t.csv").unwrap();
    /// let (p, _) = Preprocess::fit(&t, "y", &[0, 1], &PrepOptions::default()).unwrap();
    /// let new = Table::parse("c\ngreen\n", "new.csv").unwrap();
    /// let (x, warnings) = p.inputs_of(&new, &[0]).unwrap();
    /// assert_eq!(x, vec![vec![0.0, 0.0]]); // an unseen category: all zeros
    /// assert!(warnings[0].contains("'green'"));
    /// ```
    pub fn inputs_of(
        &self,
        table: &Table,
        rows: &[usize],
    ) -> Result<(Vec<Vec<f64>>, Vec<String>), DataError> {
        self.inputs_parsed(table, rows, &Parsed::default())
    }

    /// [`inputs_of`](Self::inputs_of), a number input whose column is in
    /// `parsed` (read from this `table`) taking its numbers from there: a
    /// filled, finite one is encoded as [`encode`](Self::encode) would, and
    /// any other cell by `encode` itself, with its errors and filling.
    fn inputs_parsed(
        &self,
        table: &Table,
        rows: &[usize],
        parsed: &Parsed,
    ) -> Result<(Vec<Vec<f64>>, Vec<String>), DataError> {
        let cols: Vec<usize> = self
            .columns()
            .iter()
            .map(|c| table.require(c))
            .collect::<Result<_, _>>()?;
        let read: Vec<Option<&Column>> = cols.iter().map(|&c| parsed.get(c)).collect();
        let mut x = Vec::with_capacity(rows.len());
        let mut missing: Vec<(u64, &str)> = Vec::new();
        let mut unseen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut unseen_rows = 0;
        for &i in rows {
            let cells = table.row(i);
            let line = cells.line();
            let mut row = Vec::with_capacity(self.nfeatures());
            let mut fresh = false;
            for ((input, &c), read) in self.inputs.iter().zip(&cols).zip(&read) {
                if let Input::Numeric { mean, std, .. } = input
                    && let Some(v) = read.and_then(|column| column.number(i))
                    && v.is_finite()
                {
                    row.push((v - mean) / std);
                    continue;
                }
                let cell = cells.cell(c);
                match self.encode(input, cell, &mut row) {
                    Ok(()) => {}
                    Err(CellError::Empty) => {
                        missing.push((line, input.column()));
                        row.push(0.0);
                    }
                    Err(CellError::Bad(m)) => {
                        return Err(DataError {
                            source: table.source.clone(),
                            line: Some(line),
                            column: Some(input.column().to_owned()),
                            message: m,
                        });
                    }
                }
                if let Input::OneHot { categories, column } = input
                    && !is_missing(cell)
                    && !categories.iter().any(|k| k == cell)
                {
                    unseen.entry(column).or_default().insert(cell);
                    fresh = true;
                }
            }
            unseen_rows += usize::from(fresh);
            x.push(row);
        }
        if !missing.is_empty() {
            return Err(missing_cells(table, &missing));
        }
        let warnings = if unseen.is_empty() {
            Vec::new()
        } else {
            vec![unseen_categories(table, &unseen, unseen_rows)]
        };
        Ok((x, warnings))
    }
}

/// The warning for categories that training never saw, by column, in
/// `rows` rows of `table`.
fn unseen_categories(
    table: &Table,
    unseen: &BTreeMap<&str, BTreeSet<&str>>,
    rows: usize,
) -> String {
    let what: Vec<String> = unseen
        .iter()
        .map(|(c, vals)| {
            let shown: Vec<String> = vals
                .iter()
                .take(3)
                .map(|v| format!("'{}'", shorten(v, 20)))
                .collect();
            let more = if vals.len() > 3 {
                format!(" and {} more", vals.len() - 3)
            } else {
                String::new()
            };
            format!("'{c}' ({}{more})", shown.join(", "))
        })
        .collect();
    format!(
        "{}: {rows} row{} with categories not seen in training, in column{} {}: \
         their one-hot inputs are all 0",
        table.source,
        if rows == 1 { "" } else { "s" },
        if what.len() == 1 { "" } else { "s" },
        crate::text::some_names(&what, "", 300)
    )
}

impl fmt::Display for Preprocess {
    /// One line per input column (the first 12 of them): how it is turned
    /// into numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 12;
        if self.inputs.len() > SHOWN {
            let text = self
                .inputs
                .iter()
                .filter(|i| matches!(i, Input::OneHot { .. }))
                .count();
            writeln!(
                f,
                "  {} columns: {} numbers, {text} text (one-hot); the first {SHOWN}:",
                self.inputs.len(),
                self.inputs.len() - text
            )?;
        }
        for i in self.inputs.iter().take(SHOWN) {
            match i {
                Input::Numeric { column, mean, std } if *mean == 0.0 && *std == 1.0 => {
                    writeln!(f, "  {column}: number, as is")?
                }
                Input::Numeric { column, mean, std } => writeln!(
                    f,
                    "  {column}: number, standardised (mean {}, std {})",
                    crate::text::fmt_num(*mean),
                    crate::text::fmt_num(*std)
                )?,
                Input::OneHot { column, categories } => writeln!(
                    f,
                    "  {column}: text, one-hot over {} categories",
                    categories.len()
                )?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::data::columns::numbers_as_text;

    #[test]
    fn numbers_with_separators_read_as_text_get_a_warning() {
        let cats = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let w = numbers_as_text("price", &cats(&["1,200", "1,500", "950", "800"])).unwrap();
        assert!(w.contains("column 'price' is read as text"), "{w}");
        assert!(w.contains("('1,200')"), "{w}");
        assert!(numbers_as_text("x", &cats(&["0,5", "1,25"])).is_some());
        // words, and numbers beside a placeholder word, are text as meant
        assert!(numbers_as_text("color", &cats(&["red", "green", "blue"])).is_none());
        assert!(numbers_as_text("n", &cats(&["1", "2", "unknown"])).is_none());
        assert!(numbers_as_text("code", &cats(&["A,1", "B,2"])).is_none());
    }
}
