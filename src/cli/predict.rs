//! `micrograd predict`: a saved model on the rows of a CSV file.

use crate::cli::out::errln;
use micrograd::data::{Table, is_missing};
use micrograd::metrics::{Confusion, Regression};
use micrograd::nn::{ModelFile, Prediction};
use micrograd::viz::fmt_num;

use super::{Failure, PredictArgs};

pub fn run(a: &PredictArgs) -> Result<(), Failure> {
    let (model, data) = a.paths()?;
    let mut file = ModelFile::load(model).map_err(Failure::input)?;
    if let Some(impute) = a.impute {
        file.prep.impute = impute;
    }
    if a.proba
        && file
            .probabilities(&vec![0.0; file.prep.nfeatures()])
            .is_none()
    {
        return Err(Failure::input(format!(
            "--proba: the model was trained with loss {}, which gives no probabilities \
             (xent and bce do)",
            file.loss
        )));
    }
    let table = super::read_table(data)?;
    for n in table.reading_notes() {
        errln!("note: {n}");
    }
    let rows: Vec<usize> = (0..table.len()).collect();
    let (x, warnings) = file.prep.inputs_of(&table, &rows).map_err(Failure::input)?;
    for w in &warnings {
        errln!("warning: {w}");
    }
    for n in file.prep.filled(&table, &rows) {
        errln!("note: {n}");
    }

    let predicted = file.predict_rows(&x, a.proba);
    let bytes = predictions_csv(&file, &table, &predicted, a.proba)?;
    match &a.out {
        Some(p) => {
            micrograd::files::write_atomic(p, &bytes).map_err(Failure::input)?;
            errln!("wrote {} predictions to {}", x.len(), p.display());
        }
        None => super::out::write_bytes(&bytes),
    }
    let predictions: Vec<f64> = predicted.iter().map(|p| p.value).collect();
    if let Some(line) = score_line(&file, &table, &predictions) {
        errln!("{line}");
    }
    Ok(())
}

/// Every input column as read, then the prediction (and probabilities),
/// written as the input file is: its separator, and in a semicolon file
/// decimal commas.
fn predictions_csv(
    file: &ModelFile,
    table: &Table,
    predicted: &[Prediction],
    proba: bool,
) -> Result<Vec<u8>, Failure> {
    let bad = |e: &dyn std::fmt::Display| Failure::input(format!("cannot write CSV: {e}"));
    let mut out = csv::WriterBuilder::new()
        .delimiter(u8::try_from(table.separator).unwrap_or(b','))
        .from_writer(Vec::new());
    let mut header = table.header.clone();
    header.push(format!("predicted_{}", file.prep.target.column()));
    if proba {
        header.extend(file.classes().iter().map(|c| format!("p_{c}")));
    }
    out.write_record(&header).map_err(|e| bad(&e))?;
    for (row, p) in table.rows().zip(predicted) {
        let probabilities = p.probabilities.iter().flatten().map(f64::to_string);
        let added = std::iter::once(p.text.clone()).chain(probabilities);
        let record = row.cells().map(|c| table.cell_out(c).into_owned());
        out.write_record(record.chain(added.map(|c| table.cell_out(&c).into_owned())))
            .map_err(|e| bad(&e))?;
    }
    out.into_inner().map_err(|e| bad(&e))
}

/// The line scoring the predictions against the file's own target column,
/// if it has one; rows with an empty target are not scored (there is
/// nothing to compare with).
fn score_line(file: &ModelFile, table: &Table, predictions: &[f64]) -> Option<String> {
    let target = file.prep.target.column();
    let t = table.column(target)?;
    let (truth, predicted): (Vec<&str>, Vec<f64>) = table
        .rows()
        .zip(predictions)
        .filter(|(r, _)| !is_missing(r.cell(t)))
        .map(|(r, &p)| (r.cell(t), p))
        .unzip();
    if truth.is_empty() {
        return Some(format!(
            "column '{target}' is empty on every row: nothing to score against"
        ));
    }
    let mut line = score(file, &predicted, &truth);
    let empty = table.len() - truth.len();
    if empty > 0 {
        line += &format!(
            " ({empty} row{} with an empty '{target}' not scored)",
            if empty == 1 { "" } else { "s" }
        );
    }
    Some(line)
}

/// How the predictions compare with the file's own target column: accuracy
/// for classes, R², MSE and MAE for numbers.
fn score(file: &ModelFile, predictions: &[f64], truth: &[&str]) -> String {
    let target = file.prep.target.column();
    let classes = file.classes();
    if classes.is_empty() {
        let t: Option<Vec<f64>> = truth.iter().map(|s| s.parse::<f64>().ok()).collect();
        return match t {
            Some(t) => {
                let r = Regression::new(&t, predictions);
                format!(
                    "against column '{target}': R² {}, MSE {}, MAE {}",
                    fmt_num(r.r2),
                    fmt_num(r.mse),
                    fmt_num(r.mae)
                )
            }
            None => format!("column '{target}' is not all numbers: no error computed"),
        };
    }
    // rows whose class the model does not know count as wrong
    let t: Vec<f64> = truth
        .iter()
        .map(|s| {
            classes
                .iter()
                .position(|c| c == s)
                .map_or(-1.0, |k| k as f64)
        })
        .collect();
    let c = Confusion::new(classes, &t, predictions);
    let right = (0..classes.len()).map(|k| c.counts[k][k]).sum::<usize>();
    format!(
        "against column '{target}': accuracy {:.2}% ({right} of {})",
        100.0 * right as f64 / truth.len().max(1) as f64,
        truth.len()
    )
}
