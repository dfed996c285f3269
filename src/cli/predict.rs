//! `micrograd predict`: a saved model on the rows of a CSV file.

use std::fmt::Write as _;

use micrograd::data::{column_from_csv_str, inputs_from_csv_str};
use micrograd::nn::ModelFile;

use super::{Failure, PredictArgs};

pub fn run(a: &PredictArgs) -> Result<(), Failure> {
    let file = ModelFile::load(&a.model).map_err(Failure::input)?;
    let source = a.data.display().to_string();
    let text = std::fs::read_to_string(&a.data)
        .map_err(|e| Failure::input(format!("{source}: cannot read: {e}")))?;
    let rows = inputs_from_csv_str(&text, &source, &file.features).map_err(Failure::input)?;
    let truth = column_from_csv_str(&text, &source, &file.target).map_err(Failure::input)?;
    let mut out = String::new();
    let mut header: Vec<&str> = file.features.iter().map(String::as_str).collect();
    let target = format!("predicted_{}", file.target);
    header.push(&target);
    let _ = writeln!(out, "{}", header.join(","));
    let mut predictions = Vec::with_capacity(rows.len());
    for x in &rows {
        let cells: Vec<String> = x.iter().map(f64::to_string).collect();
        let p = file.predict(x);
        let _ = writeln!(out, "{},{}", cells.join(","), quote(&p));
        predictions.push(p);
    }
    match &a.out {
        Some(p) => {
            micrograd::write_atomic(p, out.as_bytes()).map_err(Failure::input)?;
            eprintln!("wrote {} predictions to {}", rows.len(), p.display());
        }
        None => print!("{out}"),
    }
    if let Some(truth) = truth {
        eprintln!("{}", score(&file, &predictions, &truth));
    }
    Ok(())
}

/// How the predictions compare with the file's own target column: accuracy
/// for classes, mean squared error for numbers.
fn score(file: &ModelFile, predictions: &[String], truth: &[String]) -> String {
    let n = predictions.len().max(1) as f64;
    if file.classes.is_empty() {
        let errs: Option<Vec<f64>> = predictions
            .iter()
            .zip(truth)
            .map(|(p, t)| Some((p.parse::<f64>().ok()? - t.trim().parse::<f64>().ok()?).powi(2)))
            .collect();
        match errs {
            Some(e) => format!(
                "against column '{}': mean squared error {:.6}",
                file.target,
                e.iter().sum::<f64>() / n
            ),
            None => format!(
                "column '{}' is not all numbers: no error computed",
                file.target
            ),
        }
    } else {
        let right = predictions
            .iter()
            .zip(truth)
            .filter(|(p, t)| p == t)
            .count();
        format!(
            "against column '{}': accuracy {:.2}% ({right} of {})",
            file.target,
            100.0 * right as f64 / n,
            predictions.len()
        )
    }
}

/// A CSV field, quoted if it needs to be.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
