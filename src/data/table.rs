//! A CSV file's cells as read: the header, then each row's line number and
//! cells. All the text sits in one buffer: a table of 10^5 rows has
//! millions of cells, and one allocation each cost more than reading them.

use super::DataError;

/// A CSV file as text cells: the header, and each row with its 1-based line
/// number. Cells are trimmed; blank lines are skipped; every row has as many
/// cells as the header.
///
/// ```
/// use micrograd::data::Table;
/// let t = Table::parse("a,b\r\n1,x\r\n\r\n2,y\r\n", "t.csv").unwrap();
/// assert_eq!(t.header, vec!["a", "b"]);
/// let row = t.row(1);
/// assert_eq!((row.line(), row.cell(0), row.cell(1)), (4, "2", "y"));
/// assert_eq!(t.cell(0, 1), "x");
/// assert_eq!(t.column("b"), Some(1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The file's name, for error messages.
    pub source: String,
    /// Column names.
    pub header: Vec<String>,
    /// The field separator found: `,`, or `;` or a tab when the header line
    /// has no comma (see [`Table::parse`]).
    pub separator: char,
    /// `Some("Windows-1252")` if the file was not UTF-8 and was read in that
    /// encoding, as spreadsheet programs on Windows save "CSV"; `None` for
    /// UTF-8 (and for text given to [`Table::parse`]).
    pub encoding: Option<&'static str>,
    /// Every cell's text, row after row, cell after cell.
    text: String,
    /// Where each cell ends in `text`; it starts where the one before ends.
    ends: Vec<usize>,
    /// Each row's 1-based line number in the file.
    lines: Vec<u64>,
}

/// One row of a [`Table`]: its line number and its cells.
///
/// ```
/// let t = micrograd::data::Table::parse("a,b\n1,x\n", "t.csv").unwrap();
/// let row = t.row(0);
/// assert_eq!(row.cells().collect::<Vec<_>>(), ["1", "x"]);
/// assert_eq!((row.line(), row.cell(1)), (2, "x"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Row<'t> {
    table: &'t Table,
    i: usize,
}

impl<'t> Row<'t> {
    /// The row's 1-based line number in the file.
    pub fn line(&self) -> u64 {
        self.table.lines[self.i]
    }

    /// The cell in column `c`. Panics if there is no column `c`, as
    /// indexing does.
    pub fn cell(&self, c: usize) -> &'t str {
        self.table.cell(self.i, c)
    }

    /// The row's cells, in the header's order.
    pub fn cells(&self) -> impl ExactSizeIterator<Item = &'t str> + 't {
        let (t, i) = (self.table, self.i);
        (0..t.header.len()).map(move |c| t.cell(i, c))
    }
}

impl Table {
    /// A table of `header` and no rows yet, for [`push_row`](Self::push_row).
    pub(super) fn new(source: &str, header: Vec<String>, separator: char) -> Table {
        Table {
            source: source.to_owned(),
            header,
            separator,
            encoding: None,
            text: String::new(),
            ends: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Adds a row read at `line`: as many cells as the header has columns.
    pub(super) fn push_row<'a>(&mut self, line: u64, cells: impl Iterator<Item = &'a str>) {
        let before = self.ends.len();
        for cell in cells {
            self.text.push_str(cell);
            self.ends.push(self.text.len());
        }
        debug_assert_eq!(self.ends.len() - before, self.header.len());
        self.lines.push(line);
    }

    /// The cell at row `i`, column `c`. Panics if either is out of range,
    /// as indexing does.
    ///
    /// ```
    /// let t = micrograd::data::Table::parse("a,b\n1,x\n2,y\n", "t.csv").unwrap();
    /// assert_eq!((t.cell(0, 0), t.cell(1, 1)), ("1", "y"));
    /// ```
    pub fn cell(&self, i: usize, c: usize) -> &str {
        let w = self.header.len();
        assert!(
            i < self.lines.len() && c < w,
            "micrograd: no cell ({i}, {c}) in a table of {} rows and {w} columns",
            self.lines.len()
        );
        let k = i * w + c;
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.text[start..self.ends[k]]
    }

    /// Row `i`. Panics if there is no row `i`, as indexing does.
    pub fn row(&self, i: usize) -> Row<'_> {
        assert!(
            i < self.lines.len(),
            "micrograd: no row {i} in a table of {} rows",
            self.lines.len()
        );
        Row { table: self, i }
    }

    /// The rows, in the file's order.
    ///
    /// ```
    /// let t = micrograd::data::Table::parse("a\n1\n\n2\n", "t.csv").unwrap();
    /// let lines: Vec<u64> = t.rows().map(|r| r.line()).collect();
    /// assert_eq!(lines, [2, 4]);
    /// ```
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> {
        (0..self.lines.len()).map(move |i| Row { table: self, i })
    }

    /// Keeps the rows for which `keep` says yes, in order.
    ///
    /// ```
    /// let mut t = micrograd::data::Table::parse("a,b\n1,x\n,y\n3,z\n", "t.csv").unwrap();
    /// t.retain(|r| !r.cell(0).is_empty());
    /// assert_eq!((t.len(), t.cell(1, 1), t.row(1).line()), (2, "z", 4));
    /// ```
    pub fn retain(&mut self, mut keep: impl FnMut(Row<'_>) -> bool) {
        let mut kept = Table::new(&self.source, self.header.clone(), self.separator);
        kept.encoding = self.encoding;
        for r in self.rows().filter(|&r| keep(r)) {
            kept.push_row(r.line(), r.cells());
        }
        *self = kept;
    }

    /// `cell` as this table's file writes it: in a semicolon file (whose
    /// numbers [`parse`](Table::parse) read with a decimal comma), a number
    /// written with a decimal point gets its comma back.
    ///
    /// ```
    /// use micrograd::data::Table;
    /// let t = Table::parse("x;y\n1,5;a\n", "t.csv").unwrap();
    /// assert_eq!(t.cell_out("1.5"), "1,5");
    /// assert_eq!((t.cell_out("a.b"), t.cell_out("2")), ("a.b".into(), "2".into()));
    /// let t = Table::parse("x,y\n1.5,a\n", "t.csv").unwrap();
    /// assert_eq!(t.cell_out("1.5"), "1.5");
    /// ```
    pub fn cell_out<'a>(&self, cell: &'a str) -> std::borrow::Cow<'a, str> {
        let number = cell.matches('.').count() == 1 && cell.parse::<f64>().is_ok();
        if self.separator == ';' && number {
            cell.replacen('.', ",", 1).into()
        } else {
            cell.into()
        }
    }

    /// The index of the column called `name`.
    ///
    /// ```
    /// let t = micrograd::data::Table::parse("a,b\n1,2\n", "t.csv").unwrap();
    /// assert_eq!((t.column("a"), t.column("z")), (Some(0), None));
    /// ```
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The index of the column called `name`, or an error listing the columns.
    pub(crate) fn require(&self, name: &str) -> Result<usize, DataError> {
        self.require_as(name, "column")
    }

    /// [`require`](Self::require), the error calling the column `what`
    /// ("target column"), and naming a column that differs from `name` only
    /// in case or surrounding spaces.
    pub(crate) fn require_as(&self, name: &str, what: &str) -> Result<usize, DataError> {
        self.column(name).ok_or_else(|| {
            let near = self
                .header
                .iter()
                .find(|h| h.trim().eq_ignore_ascii_case(name.trim()))
                .map(|h| format!(" (did you mean '{h}'?)"))
                .unwrap_or_default();
            DataError {
                source: self.source.clone(),
                line: Some(1),
                column: None,
                message: format!(
                    "no {what} '{name}'{near}; the columns are: {}",
                    crate::text::some_names(&self.header, "", 300)
                ),
            }
        })
    }

    /// Number of data rows.
    ///
    /// ```
    /// assert_eq!(micrograd::data::Table::parse("a\n1\n2\n", "t").unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no data rows (never, for a parsed table).
    ///
    /// ```
    /// assert!(!micrograd::data::Table::parse("a\n1\n", "t").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}
