//! The report's sections, each a piece of HTML: every text from the
//! user's table goes through [`escape`].

use std::fmt::Write;

use super::{Page, escape, figure};
use crate::data::{Input, Target};
use crate::metrics::Confusion;
use crate::nn::{Init, Loss};
use crate::text::{fmt_num, fmt_short};
use crate::train::cv_report::metrics_of;
use crate::train::{Importance, Spread};

/// The run's warnings, in a box at the top, if any.
pub(super) fn warnings(warnings: &[String]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let items: String = warnings
        .iter()
        .map(|w| format!("<li>{}</li>", escape(w)))
        .collect();
    format!("<div class=\"warn\"><b>Warnings</b><ul class=\"notes\">{items}</ul></div>\n")
}

/// The data: its rows, each input column and how it became numbers, the
/// target, and the notes on what was done to the table.
pub(super) fn data(p: &Page) -> String {
    let d = &p.data;
    let mut s = String::from("<section>\n<h2>Data</h2>\n<table>\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(s, "<tr><th>{k}</th><td class=\"name\">{v}</td></tr>");
    };
    row("source", escape(d.source));
    row("target", target(&d.prep.target));
    row("rows", rows(d.rows, p.cv.map(|cv| cv.folds.len())));
    row(
        "input columns",
        format!(
            "{} (making {} numbers for the network)",
            d.prep.inputs.len(),
            d.prep.nfeatures()
        ),
    );
    s += "</table>\n<table>\n<tr><th>column</th><th>used as</th></tr>\n";
    for input in &d.prep.inputs {
        let _ = writeln!(
            s,
            "<tr><td class=\"name\">{}</td><td>{}</td></tr>",
            escape(input.column()),
            used_as(input)
        );
    }
    s += "</table>\n";
    if !d.notes.is_empty() {
        s += "<p>What was done to the table:</p>\n<ul class=\"notes\">\n";
        for n in d.notes {
            let _ = writeln!(s, "<li>{}</li>", escape(n));
        }
        s += "</ul>\n";
    }
    s + "</section>\n"
}

/// How the rows were used: split, or cross-validated in `folds` folds
/// before the saved model trained on them all.
fn rows([train, valid, test]: [usize; 3], folds: Option<usize>) -> String {
    let all = train + valid + test;
    let stop = if valid > 0 {
        format!(", {valid} of them held out to decide when to stop")
    } else {
        String::new()
    };
    match folds {
        Some(k) => format!(
            "{all}: each tested once by {k}-fold cross-validation (see Scores); the saved \
             model then trained on all of them{stop}"
        ),
        None => {
            let stop = if valid > 0 {
                format!(", {valid} held out to decide when to stop")
            } else {
                String::new()
            };
            format!("{all} in all: {train} to train{stop}, {test} to test")
        }
    }
}

/// The target column and its task, escaped.
fn target(t: &Target) -> String {
    match t {
        Target::Classes { column, classes } => format!(
            "{}: {} classes ({})",
            escape(column),
            classes.len(),
            escape(&crate::text::some_names(classes, "", 400))
        ),
        Target::Number { column, .. } => format!("{}: a number", escape(column)),
    }
}

/// How one input column becomes numbers, escaped.
fn used_as(input: &Input) -> String {
    match input {
        Input::Numeric { mean, std, .. } if *mean == 0.0 && *std == 1.0 => {
            "number, as is".to_owned()
        }
        Input::Numeric { mean, std, .. } => format!(
            "number, standardised (mean {}, sd {})",
            fmt_num(*mean),
            fmt_num(*std)
        ),
        Input::OneHot { categories, .. } => format!(
            "text, one input per category ({}): {}",
            categories.len(),
            escape(&crate::text::some_names(categories, "", 200))
        ),
    }
}

/// The recipe: network, loss, optimizer, schedule, batches, stopping; and
/// how the saved model's training went.
pub(super) fn recipe(p: &Page) -> String {
    let r = p.recipe;
    let c = &r.cfg;
    let (sizes, parameters) = p.network;
    let layers: Vec<String> = sizes.iter().map(usize::to_string).collect();
    let h = p.history;
    let ran = h.loss.len();
    let stopped = match (h.best_step, p.refit) {
        (Some(b), None) => format!(
            "; the weights of step {} kept (best validation loss)",
            b + 1
        ),
        (Some(b), Some(refit)) => format!(
            "; best validation loss at step {}; then {refit}: the model saved",
            b + 1
        ),
        (None, _) => String::new(),
    };
    let length = match (r.epochs, c.patience) {
        (Some(e), Some(pat)) => format!(
            "up to {e} epochs ({} steps), stopping after {pat} epochs without a better \
             validation loss",
            c.steps
        ),
        (Some(e), None) => format!("{e} epochs ({} steps)", c.steps),
        (None, _) => format!("{} steps", c.steps),
    };
    let batch = match c.batch_size {
        0 => "all rows".to_owned(),
        b => b.to_string(),
    };
    let rows = [
        (
            "network",
            format!(
                "layers {} ({parameters} parameters), {} hidden activation, weights \
                 started {}",
                layers.join(" → "),
                r.activation,
                init_name(r.init)
            ),
        ),
        (
            "loss",
            format!(
                "{} ({}), L2 strength {}",
                loss_name(c.loss),
                c.loss,
                fmt_short(c.alpha)
            ),
        ),
        (
            "optimizer",
            format!(
                "{}, learning rate {} → {}",
                c.optimizer,
                fmt_short(c.schedule.lr(0)),
                fmt_short(c.schedule.lr(c.steps))
            ),
        ),
        ("batch size", batch),
        ("length", length),
        ("seed", c.seed.to_string()),
        ("ran", format!("{ran} steps{stopped}")),
    ];
    let mut s = String::from("<section>\n<h2>Recipe</h2>\n<table>\n");
    for (k, v) in rows {
        let _ = writeln!(s, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
    }
    s + "</table>\n</section>\n"
}

/// How the weights start, in words.
fn init_name(i: Init) -> &'static str {
    match i {
        Init::Uniform => "uniform in [-1, 1)",
        Init::Micrograd => "by micrograd's rule",
        Init::Xavier => "by Xavier's rule",
        Init::He => "by He's rule",
    }
}

/// A loss in words.
fn loss_name(l: Loss) -> &'static str {
    match l {
        Loss::Mse => "mean squared error",
        Loss::Svm => "max-margin",
        Loss::Bce => "binary cross-entropy",
        Loss::CrossEntropy => "cross-entropy",
    }
}

/// The scores: training rows, and test rows or the folds' mean ± sd with
/// each fold's value.
pub(super) fn scores(p: &Page) -> String {
    let mut s = String::from("<section>\n<h2>Scores</h2>\n");
    let heads = match (p.cv, p.test) {
        (Some(cv), _) => {
            let k = cv.folds.len();
            let _ = writeln!(
                s,
                "<p>Tested by {k}-fold cross-validation: every row tested once, by a model \
                 trained without it; each score is the mean ± standard deviation over the \
                 {k} folds. The saved model was then trained on all the rows: its training \
                 scores are its own.</p>"
            );
            "<th class=\"n\">training rows</th><th class=\"n\">test (mean ± sd)</th>\
             <th class=\"n\">each fold</th>"
        }
        (None, Some(_)) => "<th class=\"n\">training rows</th><th class=\"n\">test rows</th>",
        (None, None) => {
            s += "<p>No rows were held out for a test: these are the training rows' scores, \
                  which say little about new rows.</p>\n";
            "<th class=\"n\">training rows</th>"
        }
    };
    let _ = writeln!(s, "<table>\n<tr><th>score</th>{heads}</tr>");
    let spreads = p.cv.map(|cv| cv.spreads()).unwrap_or_default();
    for m in metrics_of(p.train) {
        let cell = |v: Option<f64>| {
            v.filter(|v| v.is_finite())
                .map_or("–".to_owned(), |v| m.write(v))
        };
        let spread = spreads.iter().find(|(k, _)| *k == m.key).map(|(_, s)| s);
        let finite = |s: &crate::train::Scores| (m.get)(s).is_some_and(f64::is_finite);
        if !finite(p.train) && !p.test.is_some_and(finite) && spread.is_none() {
            continue; // ROC AUC for more than two classes
        }
        let mut cells = format!("<td class=\"n\">{}</td>", cell((m.get)(p.train)));
        if p.cv.is_some() {
            cells += &spread_cells(spread, |v| m.write(v));
        } else if let Some(t) = p.test {
            let _ = write!(cells, "<td class=\"n\">{}</td>", cell((m.get)(t)));
        }
        let _ = writeln!(s, "<tr><th>{}</th>{cells}</tr>", m.name);
    }
    s + "</table>\n</section>\n"
}

/// A metric's mean ± sd over the folds, and each fold's value.
fn spread_cells(spread: Option<&Spread>, write: impl Fn(f64) -> String) -> String {
    match spread {
        Some(s) => {
            let each: Vec<String> = s.values.iter().map(|&v| write(v)).collect();
            format!(
                "<td class=\"n\">{} ± {}</td><td class=\"n muted\">{}</td>",
                write(s.mean),
                write(s.sd),
                each.join(" ")
            )
        }
        None => "<td class=\"n\">–</td><td></td>".to_owned(),
    }
}

/// For classes: precision, recall and F1 per class, and the confusion
/// matrix (the picture if drawn, else a table), on the rows the run is
/// judged by.
pub(super) fn classes(p: &Page) -> String {
    let (whose, scores) = match (p.cv, p.test) {
        (Some(cv), _) => ("the folds' test rows together", &cv.pooled),
        (None, Some(t)) => ("the test rows", t),
        (None, None) => ("the training rows", p.train),
    };
    let Some(c) = &scores.confusion else {
        return String::new();
    };
    let mut s = format!(
        "<section>\n<h2>Per class</h2>\n<p class=\"muted\">On {whose}.</p>\n<table>\n\
         <tr><th>class</th><th class=\"n\">precision</th><th class=\"n\">recall</th>\
         <th class=\"n\">F1</th><th class=\"n\">rows</th></tr>\n"
    );
    let pct = |x: Option<f64>| x.map_or("–".to_owned(), |x| format!("{:.1}%", 100.0 * x));
    for (k, name) in c.classes.iter().enumerate() {
        let _ = writeln!(
            s,
            "<tr><td class=\"name\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{:.3}</td><td class=\"n\">{}</td></tr>",
            escape(name),
            pct(c.precision(k)),
            pct(c.recall(k)),
            c.f1(k),
            c.counts[k].iter().sum::<usize>()
        );
    }
    s += "</table>\n</section>\n";
    match p.figures.confusion.as_deref() {
        Some(svg) => s + &figure("Confusion matrix", &format!("On {whose}."), Some(svg)),
        None => s + &confusion_table(c, whose),
    }
}

/// The confusion matrix as a table: rows the true class, columns the
/// predicted one.
fn confusion_table(c: &Confusion, whose: &str) -> String {
    let mut s = format!(
        "<section>\n<h2>Confusion matrix</h2>\n<p class=\"muted\">On {whose}: rows are \
         the true class, columns the predicted one.</p>\n<table>\n<tr><th></th>"
    );
    for name in &c.classes {
        let _ = write!(s, "<th class=\"n\">{}</th>", escape(name));
    }
    s += "</tr>\n";
    for (name, row) in c.classes.iter().zip(&c.counts) {
        let cells: String = row
            .iter()
            .map(|n| format!("<td class=\"n\">{n}</td>"))
            .collect();
        let _ = writeln!(s, "<tr><th>{}</th>{cells}</tr>", escape(name));
    }
    s + "</table>\n</section>\n"
}

/// The columns' importance: what it measures and on which rows, the
/// picture, and every column's numbers.
pub(super) fn importance(p: &Page) -> String {
    let Some(i) = p.importance else {
        return String::new();
    };
    let caveat = i.caveat().map_or(String::new(), |c| format!(" Note: {c}."));
    let mut s = format!(
        "<section>\n<h2>Feature importance</h2>\n<p>How much the {} drops when one \
         column's values are shuffled among {} (breaking its link with the target), \
         mean ± sd over {} shuffles. Near 0: the model does not use the column. Before \
         any shuffle the {0} is {}.{caveat}</p>\n",
        i.metric,
        escape(&i.rows_in_words()),
        i.repeats,
        i.write(i.baseline),
    );
    if let Some(svg) = p.figures.importance.as_deref() {
        let _ = writeln!(s, "<figure>{}</figure>", super::inline_svg(svg));
    }
    s += &importance_table(i);
    s + "</section>\n"
}

/// Every column's mean and sd drop, most important first.
fn importance_table(i: &Importance) -> String {
    let mut s = String::from(
        "<table>\n<tr><th>column</th><th class=\"n\">mean drop</th>\
         <th class=\"n\">sd</th><th class=\"n\">network inputs</th></tr>\n",
    );
    for c in &i.columns {
        let _ = writeln!(
            s,
            "<tr><td class=\"name\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>",
            escape(&c.column),
            i.write(c.drop.mean),
            i.write(c.drop.sd),
            c.inputs.len()
        );
    }
    s + "</table>\n"
}
