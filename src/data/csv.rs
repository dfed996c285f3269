//! CSV files: a header row, numeric feature columns, a named target column.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use super::Table;
use super::target::encode_target;
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
    let (text, source, _) = read_text(path)?;
    from_csv_str(&text, &source, target, task)
}

/// A file's text, its name for error messages, and the encoding it was
/// read in if not UTF-8: a file that is not UTF-8 (and not UTF-16, which is
/// refused with a message) is read as Windows-1252.
fn read_text(path: &Path) -> Result<(String, String, Option<&'static str>), DataError> {
    let source = path.display().to_string();
    let fail = |message: String| DataError {
        source: source.clone(),
        line: None,
        column: None,
        message,
    };
    let bytes = crate::files::read_capped(path, super::MAX_FILE_BYTES).map_err(fail)?;
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(fail(
            "UTF-16 text: save it as UTF-8 (in Excel: \"CSV UTF-8\")".into(),
        ));
    }
    let (text, encoding) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let bytes = e.into_bytes();
            if let Some(at) = bytes.iter().position(|&b| b == 0) {
                return Err(fail(format!(
                    "not text (a zero byte at offset {at}): a CSV file is expected"
                )));
            }
            (windows_1252(&bytes), Some("Windows-1252"))
        }
    };
    // a byte-order mark, as spreadsheet programs write it, is not part of the header
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    };
    Ok((text, source, encoding))
}

/// `bytes` read as Windows-1252, the encoding spreadsheet programs on
/// Windows save "CSV" in (Latin-1 with typographic signs in 0x80–0x9F).
/// Every byte is a character, so this cannot fail.
fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '•', '–', '—', '˜',
        '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
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
    let t = table.require_as(target, "target column")?;
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

    let (y, classes) = encode_target(&table, t, task)?;
    Ok(Dataset {
        name: source.to_owned(),
        features,
        target: target.to_owned(),
        x,
        y,
        classes,
    })
}

/// Line numbers of records from their byte offsets. The csv crate's own
/// line numbers are off after CRLF line ends and skipped blank lines, and
/// its offset is where it started reading: before any line ends it skipped.
struct LineCounter<'a> {
    text: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        LineCounter {
            text,
            pos: 0,
            line: 1,
        }
    }

    /// The 1-based line of the record whose reading started at `byte`
    /// (offsets only grow, so each byte is looked at once).
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = (byte as usize).min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.pos {
            self.line += self.text[self.pos..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.pos = start;
        }
        self.line
    }
}

/// Whether a cell means "no value": empty, or one of the markers that
/// spreadsheets and data frames write for it (`NA`, `N/A`, `NaN`, `null`,
/// `None`, `?`).
///
/// ```
/// use micrograd::data::is_missing;
/// assert!(is_missing("") && is_missing("NaN") && is_missing("n/a"));
/// assert!(!is_missing("0") && !is_missing("none of these") && !is_missing("nanny"));
/// assert!(is_missing(" NULL ") && is_missing("None") && is_missing("?"));
/// assert!(is_missing("\u{a0}  nan\t") && is_missing("  \u{3000}") && is_missing("\u{b}null"));
/// ```
pub fn is_missing(cell: &str) -> bool {
    // compared without a lowercase copy: every cell of a table is asked.
    // Longer than a marker, and plain ASCII at both ends: nothing to trim.
    let b = cell.as_bytes();
    let plain = |x: u8| x.is_ascii_graphic();
    if b.len() > 4 && plain(b[0]) && plain(b[b.len() - 1]) {
        return false;
    }
    let c = cell.trim();
    c.len() <= 4 && MISSING_MARKERS.iter().any(|m| c.eq_ignore_ascii_case(m))
}

/// What [`is_missing`] takes for "no value", in lowercase (any case counts).
pub(crate) const MISSING_MARKERS: [&str; 7] = ["", "na", "n/a", "nan", "null", "none", "?"];

/// `lines` as "line 3", or "lines 3, 7, 9 and 12 more": how errors name
/// many cells without printing all of them.
pub(crate) fn some_lines(lines: &[u64]) -> String {
    const SHOWN: usize = 3;
    let list: Vec<String> = lines.iter().take(SHOWN).map(u64::to_string).collect();
    let more = lines.len().saturating_sub(SHOWN);
    let word = if lines.len() == 1 { "line" } else { "lines" };
    if more > 0 {
        format!("{word} {} and {more} more", list.join(", "))
    } else {
        format!("{word} {}", list.join(", "))
    }
}

/// The field separator of `text`: see [`Table::parse`].
fn separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("").as_bytes();
    let count = |d: u8| header.iter().filter(|&&b| b == d).count();
    if count(b',') > 0 {
        return b',';
    }
    match (count(b';'), count(b'\t')) {
        (0, 0) => b',',
        (semi, tab) if semi >= tab => b';',
        _ => b'\t',
    }
}

/// `cell` with its decimal comma made a point, if it is a number written
/// so (`1,5`, `-0,25`, `3,1e-2`); `None` for anything else.
fn decimal_point(cell: &str) -> Option<String> {
    let (int, frac) = cell.split_once(',')?;
    fn digits(s: &str) -> bool {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
    }
    fn unsigned(s: &str) -> &str {
        s.strip_prefix(['+', '-']).unwrap_or(s)
    }
    let int_ok = digits(unsigned(int));
    let (frac_digits, exp) = frac.split_once(['e', 'E']).unwrap_or((frac, ""));
    let exp_ok = exp.is_empty() || digits(unsigned(exp));
    (int_ok && digits(frac_digits) && exp_ok && !frac.contains(','))
        .then(|| format!("{int}.{frac}"))
}

impl Table {
    /// Reads and parses a CSV file (at most [`MAX_FILE_BYTES`](crate::data::MAX_FILE_BYTES)).
    /// A file that is not UTF-8 is read as Windows-1252 ([`encoding`](Table::encoding)
    /// says so); UTF-16 is refused with a message.
    ///
    /// ```
    /// let e = micrograd::data::Table::read("no/such.csv".as_ref()).unwrap_err();
    /// assert!(e.to_string().starts_with("no/such.csv: cannot read"));
    /// ```
    pub fn read(path: &Path) -> Result<Table, DataError> {
        let (text, source, encoding) = read_text(path)?;
        let mut t = Table::parse(&text, &source)?;
        t.encoding = encoding;
        Ok(t)
    }

    /// Parses CSV text; `source` names it in errors.
    ///
    /// Fields are separated by commas, unless the header line has none and
    /// has semicolons or tabs: then by whichever it has more of. With
    /// semicolons (a spreadsheet's export where the comma is the decimal
    /// mark), a cell that is a number written with a decimal comma (`1,5`)
    /// is read as that number (`1.5`).
    ///
    /// ```
    /// use micrograd::data::Table;
    /// let e = Table::parse("a,b\n1\n", "t.csv").unwrap_err();
    /// assert_eq!(e.to_string(), "t.csv:2: 1 fields, but the header has 2");
    ///
    /// let t = Table::parse("x;label\n1,5;yes\n-2;no\n", "t.csv").unwrap();
    /// assert_eq!(t.separator, ';');
    /// assert_eq!((t.cell(0, 0), t.cell(0, 1)), ("1.5", "yes"));
    /// ```
    pub fn parse(text: &str, source: &str) -> Result<Table, DataError> {
        let err = |line: Option<u64>, message: String| DataError {
            source: source.to_owned(),
            line,
            column: None,
            message,
        };
        let separator = separator(text);
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .delimiter(separator)
            // the headers here, each cell below: trimming whole records
            // allocates a new one for each
            .trim(::csv::Trim::Headers)
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
        let mut table = Table::new(source, header, char::from(separator));
        let mut lines = LineCounter::new(text.as_bytes());
        let mut rec = ::csv::StringRecord::new();
        loop {
            let more = rdr.read_record(&mut rec).map_err(|e| {
                let line = e.position().map(|p| lines.line_at(p.byte()));
                let msg = match e.kind() {
                    ::csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("{len} fields, but the header has {expected_len}"),
                    _ => e.to_string(),
                };
                err(line, msg)
            })?;
            if !more {
                break;
            }
            let line = rec.position().map_or(0, |p| lines.line_at(p.byte()));
            if rec.iter().all(|c| c.trim().is_empty()) {
                continue; // a blank line
            }
            if separator == b';' {
                let cells: Vec<String> = rec
                    .iter()
                    .map(str::trim)
                    .map(|c| decimal_point(c).unwrap_or_else(|| c.to_owned()))
                    .collect();
                table.push_row(line, cells.iter().map(String::as_str));
            } else {
                table.push_row(line, rec.iter().map(str::trim));
            }
        }
        if table.is_empty() {
            return Err(err(None, "no data rows after the header".into()));
        }
        Ok(table)
    }

    /// What reading the file assumed that a user should know, one line
    /// each: an encoding other than UTF-8, a separator other than a comma.
    ///
    /// ```
    /// use micrograd::data::Table;
    /// let t = Table::parse("x;y\n1,5;a\n", "t.csv").unwrap();
    /// assert_eq!(t.reading_notes(), ["t.csv: fields separated by ';', decimal commas read as points"]);
    /// assert!(Table::parse("x,y\n1,a\n", "t.csv").unwrap().reading_notes().is_empty());
    /// ```
    pub fn reading_notes(&self) -> Vec<String> {
        let src = &self.source;
        let encoding = self
            .encoding
            .map(|e| format!("{src}: not UTF-8, read as {e}"));
        let separator = match self.separator {
            ';' => Some(format!(
                "{src}: fields separated by ';', decimal commas read as points"
            )),
            '\t' => Some(format!("{src}: fields separated by tabs")),
            _ => None,
        };
        encoding.into_iter().chain(separator).collect()
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
            .map(|n| self.require(n))
            .collect::<Result<Vec<_>, _>>()?;
        self.rows()
            .map(|r| {
                let line = r.line();
                cols.iter()
                    .zip(names)
                    .map(|(&c, name)| {
                        let s = r.cell(c);
                        match s.parse::<f64>() {
                            Ok(v) if v.is_finite() => Ok(v),
                            Ok(_) => Err(err(
                                Some(line),
                                name,
                                format!("'{s}' is not a finite number"),
                            )),
                            Err(_) if s.is_empty() => {
                                Err(err(Some(line), name, "empty value".into()))
                            }
                            Err(_) => Err(err(Some(line), name, format!("'{s}' is not a number"))),
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_separator_is_a_comma_unless_the_header_has_none() {
        assert_eq!(separator("a,b;c\n1,2;3\n"), b',');
        assert_eq!(separator("a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(separator("a\tb\n1,5\t2\n"), b'\t');
        assert_eq!(separator("a;b\tc\td\n"), b'\t');
        assert_eq!(separator("single\n1\n"), b',');
        assert_eq!(separator(""), b',');
    }

    #[test]
    fn names_and_cells_are_read_without_the_spaces_around_them() {
        let t = Table::parse(" x ,\u{a0}y\n 1 , a b \t\n  ,  \n\t2,\u{3000}c\n", "t.csv").unwrap();
        assert_eq!(t.header, ["x", "y"]);
        let cells: Vec<Vec<&str>> = t.rows().map(|r| r.cells().collect()).collect();
        assert_eq!(
            cells,
            [["1", "a b"], ["2", "c"]],
            "the line of spaces is blank"
        );
        let t = Table::parse("x ; y\n 1,5 ; z \n", "t.csv").unwrap();
        assert_eq!((t.cell(0, 0), t.cell(0, 1)), ("1.5", "z"));
    }

    #[test]
    fn only_numbers_with_a_decimal_comma_get_a_point() {
        for (cell, want) in [
            ("1,5", Some("1.5")),
            ("-0,25", Some("-0.25")),
            ("+3,1e-2", Some("+3.1e-2")),
            ("12,", None),
            (",5", None),
            ("1,2,3", None),
            ("1.5", None),
            ("a,b", None),
            ("--1,5", None),
            ("1,5x", None),
        ] {
            assert_eq!(decimal_point(cell).as_deref(), want, "{cell}");
        }
    }

    #[test]
    fn a_file_that_is_not_utf8_is_read_as_windows_1252() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let latin = dir.join("latin.csv");
        std::fs::write(&latin, b"a\xf1o,precio \x80\n1,2\n").unwrap();
        let t = Table::read(&latin).unwrap();
        assert_eq!(t.header, ["año", "precio €"]);
        assert_eq!(t.encoding, Some("Windows-1252"));
        let utf8 = dir.join("utf8.csv");
        std::fs::write(&utf8, "año\n1\n").unwrap();
        assert_eq!(Table::read(&utf8).unwrap().encoding, None);
        let utf16 = dir.join("utf16.csv");
        std::fs::write(&utf16, b"\xff\xfea\x00\n\x001\x00\n\x00").unwrap();
        let e = Table::read(&utf16).unwrap_err().to_string();
        assert!(e.contains("UTF-16 text: save it as UTF-8"), "{e}");
        let binary = dir.join("binary.csv");
        std::fs::write(&binary, b"a\n\x00\xff\n").unwrap();
        let e = Table::read(&binary).unwrap_err().to_string();
        assert!(e.contains("not text (a zero byte at offset 2)"), "{e}");
        // every byte is one character, the 0x80-0x9F range by its table
        let all: Vec<u8> = (0x80..=0xFF).collect();
        let s = windows_1252(&all);
        assert_eq!(s.chars().count(), 128);
        assert!(s.starts_with('€') && s.contains('Ÿ') && s.ends_with('ÿ'));
    }

    #[test]
    fn a_missing_column_lists_the_columns_and_names_a_near_one() {
        let t = Table::parse("Species, petal\n1,2\n", "t.csv").unwrap();
        let e = t.require_as("species", "target column").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:1: no target column 'species' (did you mean 'Species'?); \
             the columns are: Species, petal"
        );
        let e = t.require("sepal").unwrap_err().to_string();
        assert!(
            e.ends_with("no column 'sepal'; the columns are: Species, petal"),
            "{e}"
        );
    }

    #[test]
    fn a_semicolon_file_reads_as_its_spreadsheet_meant() {
        let t = Table::parse("x;y;note\n1,5;2;\"a,b\"\n-3,25;4;c\n", "t.csv").unwrap();
        assert_eq!(t.separator, ';');
        assert_eq!(t.header, ["x", "y", "note"]);
        assert_eq!(t.row(0).cells().collect::<Vec<_>>(), ["1.5", "2", "a,b"]);
        assert_eq!(t.row(1).cells().collect::<Vec<_>>(), ["-3.25", "4", "c"]);
        // in a comma file a quoted "1,5" stays text
        let t = Table::parse("x,y\n\"1,5\",2\n", "t.csv").unwrap();
        assert_eq!((t.separator, t.cell(0, 0)), (',', "1,5"));
    }
}
