//! `report.html`: one page a person can read and send, about one training
//! run: the data and what was done to it, the recipe, the scores with
//! their spread, the per-class table and confusion matrix, the loss
//! curves, the columns' importance and the decision boundary.
//!
//! The page stands alone: the pictures are the run's SVGs, inline; the
//! style is inline CSS; there are no scripts, fonts or links to fetch.
//! Everything that comes from the user's table (its name, column names,
//! class names, notes) is HTML-escaped ([`escape`]).

mod sections;

use std::path::{Path, PathBuf};

use crate::data::Preprocess;
use crate::train::{CrossValidation, History, Importance, Recipe, Scores};

/// The run's pictures, as SVG text, each if it was drawn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    /// `loss.svg`: the loss (and accuracy) per step.
    pub loss: Option<String>,
    /// `confusion.svg`.
    pub confusion: Option<String>,
    /// `importance.svg`.
    pub importance: Option<String>,
    /// `decision_boundary.svg`.
    pub boundary: Option<String>,
}

impl Figures {
    /// The pictures among `written` (files a run wrote), read by their
    /// names; one that cannot be read is left out.
    ///
    /// ```
    /// use micrograd::train::report_html::Figures;
    /// let tmp = tempfile::tempdir().unwrap();
    /// let loss = tmp.path().join("loss.svg");
    /// std::fs::write(&loss, "<svg></svg>").unwrap();
    /// let f = Figures::read(&[loss, tmp.path().join("model.json")]);
    /// assert_eq!(f.loss.as_deref(), Some("<svg></svg>"));
    /// assert_eq!(f.confusion, None);
    /// ```
    pub fn read(written: &[PathBuf]) -> Figures {
        let find = |name: &str| {
            let p = written
                .iter()
                .find(|p| p.file_name() == Some(name.as_ref()))?;
            std::fs::read_to_string(p).ok()
        };
        Figures {
            loss: find("loss.svg"),
            confusion: find("confusion.svg"),
            importance: find("importance.svg"),
            boundary: find("decision_boundary.svg"),
        }
    }
}

/// The data a run trained on, as the report describes it.
#[derive(Clone, Copy, Debug)]
pub struct DataSummary<'a> {
    /// The file (or built-in set) trained on.
    pub source: &'a str,
    /// The rows trained on, held out to decide when to stop, and tested on.
    pub rows: [usize; 3],
    /// How each input column is turned into numbers, and the target.
    pub prep: &'a Preprocess,
    /// What preparing the table did: rows left out, cells filled, columns
    /// set aside, classes balanced, how it is tested. One line each.
    pub notes: &'a [String],
}

/// Everything the page shows; see the module doc.
#[derive(Clone, Copy, Debug)]
pub struct Page<'a> {
    /// The command that made the run, as typed, if known.
    pub command: Option<&'a str>,
    /// The data.
    pub data: DataSummary<'a>,
    /// The recipe trained with.
    pub recipe: &'a Recipe,
    /// The network's layer sizes (inputs first, outputs last) and parameter count.
    pub network: (&'a [usize], usize),
    /// How the saved model's training went.
    pub history: &'a History,
    /// Whether, after early stopping, the saved model was trained again on
    /// every training row ([`Refit`](crate::train::Refit)).
    pub refit: Option<crate::train::Refit>,
    /// The saved model's scores on its training rows.
    pub train: &'a Scores,
    /// Its scores on the test rows, if any were held out.
    pub test: Option<&'a Scores>,
    /// With cross-validation: the folds' scores.
    pub cv: Option<&'a CrossValidation>,
    /// How much each column matters to the saved model.
    pub importance: Option<&'a Importance>,
    /// The pictures.
    pub figures: &'a Figures,
    /// The run's warnings.
    pub warnings: &'a [String],
}

/// `s` safe to put in HTML text or a quoted attribute.
///
/// ```
/// use micrograd::train::report_html::escape;
/// assert_eq!(escape("<script>\"a\" & 'b'"), "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The page as HTML.
///
/// ```
/// use micrograd::data::{Preprocess, xor};
/// use micrograd::train::report_html::{DataSummary, Figures, Page, render};
/// use micrograd::train::{Choices, DataKind, History, Recipe, Scores};
/// use micrograd::MLP;
/// let ds = xor();
/// let prep = Preprocess::identity(&ds);
/// let recipe = Recipe::choose(DataKind::Builtin, &ds, false, &Choices::default()).unwrap();
/// let model = MLP::new(2, &[4, 1]);
/// let train = Scores::of(&model, &ds, recipe.cfg.loss, &prep);
/// let page = Page {
///     command: Some("micrograd train --data xor"),
///     data: DataSummary { source: "xor", rows: [4, 0, 0], prep: &prep, notes: &[] },
///     recipe: &recipe,
///     network: (&[2, 4, 1], 17),
///     history: &History::default(),
///     refit: None,
///     train: &train,
///     test: None,
///     cv: None,
///     importance: None,
///     figures: &Figures::default(),
///     warnings: &[],
/// };
/// let html = render(&page);
/// assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<h2>Scores</h2>"));
/// assert!(!html.contains("<script"));
/// ```
pub fn render(p: &Page) -> String {
    let target = p.data.prep.target.column();
    let file = Path::new(p.data.source).file_name();
    let name = file.map_or(p.data.source.into(), |f| f.to_string_lossy());
    let title = format!("{name} → {target}");
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"sub\">A model trained by micrograd to predict \
         <b>{}</b>.{}</p>\n",
        escape(&title),
        escape(target),
        p.command.map_or(String::new(), |c| format!(
            " Made by <code>{}</code>",
            escape(c)
        ))
    );
    body += &sections::warnings(p.warnings);
    body += &sections::data(p);
    body += &sections::recipe(p);
    body += &sections::scores(p);
    body += &sections::classes(p);
    body += &figure(
        "Training",
        "The saved model's training: the loss (and accuracy) of each step's batch, and, \
         where rows were held out for them, the validation and test figures at the end of \
         each epoch and the step whose weights were kept.",
        p.figures.loss.as_deref(),
    );
    body += &sections::importance(p);
    body += &figure(
        "Decision boundary",
        "The class the saved model gives each point of the plane, with the rows drawn \
         over it (triangles: test rows).",
        p.figures.boundary.as_deref(),
    );
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n\
         </body>\n</html>\n",
        escape(&title)
    )
}

/// Writes the page to `path` (through a temporary file and a rename).
pub fn write(path: &Path, p: &Page) -> Result<(), String> {
    crate::files::write_atomic(path, render(p).as_bytes())
}

/// A section holding one picture, or nothing if it was not drawn.
fn figure(title: &str, caption: &str, svg: Option<&str>) -> String {
    match svg {
        Some(svg) => format!(
            "<section>\n<h2>{title}</h2>\n<figure>{}\n<figcaption>{caption}</figcaption>\
             </figure>\n</section>\n",
            inline_svg(svg)
        ),
        None => String::new(),
    }
}

/// An SVG file's text, to sit inside the page: without an XML prolog,
/// scaled to the page's width.
fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..].trim().to_owned()
}

/// The page's style: plain, readable, printable.
const STYLE: &str = "
body { margin: 0; background: #f4f5f7; color: #1d2330;
  font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 0; overflow-wrap: anywhere; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #e3e6eb; }
p.sub { color: #5b6475; margin: 4px 0 16px; }
code { font: 13px/1.4 ui-monospace, 'DejaVu Sans Mono', monospace; background: #f1f3f6;
  padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 8px 0 12px; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e3e6eb; text-align: left;
  vertical-align: top; }
th { background: #f6f7f9; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { overflow-wrap: anywhere; max-width: 420px; }
ul.notes { padding-left: 20px; margin: 6px 0; }
ul.notes li { margin: 2px 0; overflow-wrap: anywhere; }
.warn { background: #fff6e0; border-left: 4px solid #e0a100; padding: 8px 14px; margin: 12px 0; }
.muted { color: #5b6475; }
section { overflow-x: auto; }
figure { margin: 8px 0 16px; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #5b6475; font-size: 13px; margin-top: 4px; }
@media print { body { background: #fff; } main { padding: 0; } }
";

#[cfg(test)]
mod tests;
