//! `micrograd predict`: a saved model on the rows of a CSV file.

use micrograd::data::{Impute, Table, is_missing};
use micrograd::metrics::{Confusion, Regression};
use micrograd::nn::ModelFile;
use micrograd::viz::fmt_num;

use super::{Failure, PredictArgs};

pub fn run(a: &PredictArgs) -> Result<(), Failure> {
    let mut file = ModelFile::load(&a.model).map_err(Failure::input)?;
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
    let table = Table::read(a.data()).map_err(Failure::input)?;
    for n in table.reading_notes() {
        eprintln!("note: {n}");
    }
    let rows: Vec<usize> = (0..table.len()).collect();
    let (x, warnings) = file.prep.inputs_of(&table, &rows).map_err(Failure::input)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if let Some(n) = filled(&file, &table) {
        eprintln!("note: {n}");
    }

    // every input column as read, then the prediction (and probabilities),
    // written as the input file is: its separator, and in a semicolon file
    // decimal commas
    let target = file.prep.target.column();
    let mut out = csv::WriterBuilder::new()
        .delimiter(u8::try_from(table.separator).unwrap_or(b','))
        .from_writer(Vec::new());
    let mut header = table.header.clone();
    header.push(format!("predicted_{target}"));
    if a.proba {
        header.extend(file.classes().iter().map(|c| format!("p_{c}")));
    }
    let bad = |e: csv::Error| Failure::input(format!("cannot write CSV: {e}"));
    out.write_record(&header).map_err(bad)?;
    let mut predictions = Vec::with_capacity(x.len());
    for ((_, cells), xi) in table.rows.iter().zip(&x) {
        let y = file.predict_value(xi);
        let mut record = cells.clone();
        record.push(file.predict(xi));
        if a.proba {
            let p = file.probabilities(xi).unwrap_or_default();
            record.extend(p.iter().map(f64::to_string));
        }
        let record = record.iter().map(|c| table.cell_out(c));
        out.write_record(record.map(|c| c.into_owned()))
            .map_err(bad)?;
        predictions.push(y);
    }
    let bytes = out
        .into_inner()
        .map_err(|e| Failure::input(format!("cannot write CSV: {e}")))?;
    match &a.out {
        Some(p) => {
            micrograd::write_atomic(p, &bytes).map_err(Failure::input)?;
            eprintln!("wrote {} predictions to {}", x.len(), p.display());
        }
        None => super::out::write_bytes(&bytes),
    }
    if let Some(t) = table.column(target) {
        let truth: Vec<&str> = table.rows.iter().map(|(_, r)| r[t].as_str()).collect();
        eprintln!("{}", score(&file, &predictions, &truth));
    }
    Ok(())
}

/// When imputing, which empty cells of the model's columns were filled,
/// in words: "filled 3 empty cells with the training mean (text: no
/// category): 2 in 'x1', 1 in 'colour'".
fn filled(file: &ModelFile, table: &Table) -> Option<String> {
    if file.prep.impute != Impute::Mean {
        return None;
    }
    let counts: Vec<(&str, usize)> = file
        .prep
        .columns()
        .into_iter()
        .filter_map(|c| {
            let k = table.column(c)?;
            let n = table.rows.iter().filter(|(_, r)| is_missing(&r[k])).count();
            (n > 0).then_some((c, n))
        })
        .collect();
    let total: usize = counts.iter().map(|c| c.1).sum();
    if total == 0 {
        return None;
    }
    let each: Vec<String> = counts
        .iter()
        .map(|(c, n)| format!("{n} in '{c}'"))
        .collect();
    Some(format!(
        "filled {total} empty cell{} with the training mean (text: no category): {}",
        if total == 1 { "" } else { "s" },
        each.join(", ")
    ))
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
