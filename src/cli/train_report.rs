//! `micrograd train`'s `report.html`: the run's page, written in --out
//! beside the pictures it shows (the library builds it:
//! [`micrograd::train::report_html`]).

use std::path::PathBuf;

use micrograd::MLP;
use micrograd::data::Dataset;
use micrograd::train::report_html::{self, DataSummary, Figures, Page};

use super::train::Summary;
use super::{Failure, TrainArgs};

impl Summary<'_> {
    /// Writes `report.html` in --out, with `warnings` and the pictures
    /// written so far; nothing with --no-plots (it is made of them).
    pub(super) fn write_report(
        &self,
        a: &TrainArgs,
        warnings: &[String],
        model: &MLP,
    ) -> Result<Option<PathBuf>, Failure> {
        if a.no_plots {
            return Ok(None);
        }
        let d = self.d;
        let len = |o: &Option<Dataset>| o.as_ref().map_or(0, Dataset::len);
        let sizes: Vec<usize> = std::iter::once(model.nin())
            .chain(model.layers.iter().map(|l| l.neurons.len()))
            .collect();
        let command = command_line();
        let page = Page {
            command: Some(&command),
            data: DataSummary {
                source: &d.train.name,
                rows: [d.train.len(), len(&d.valid), len(&d.test)],
                prep: &d.prep,
                notes: &d.notes,
            },
            recipe: self.r,
            network: (&sizes, self.parameters),
            history: self.history,
            refit: self.refit,
            train: &self.on_train,
            test: self.on_test.as_ref(),
            cv: self.cv.as_ref(),
            importance: self.importance.as_ref(),
            figures: &Figures::read(&self.written),
            warnings,
        };
        let path = a.out.join("report.html");
        report_html::write(&path, &page)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        Ok(Some(path))
    }
}

/// The command as typed, near enough to paste again: `micrograd` and the
/// arguments, those with spaces or quotes in single quotes.
fn command_line() -> String {
    let args = std::env::args_os().skip(1).map(|a| {
        let a = a.to_string_lossy().into_owned();
        let plain = a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c));
        if plain && !a.is_empty() {
            a
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    });
    std::iter::once("micrograd".to_owned())
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
}
