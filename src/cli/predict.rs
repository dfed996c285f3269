//! `micrograd predict`: a saved model on the rows of a CSV file.

use std::fmt::Write as _;

use micrograd::data::read_inputs;
use micrograd::nn::ModelFile;

use super::{Failure, PredictArgs};

pub fn run(a: &PredictArgs) -> Result<(), Failure> {
    let file = ModelFile::load(&a.model).map_err(Failure::input)?;
    let rows = read_inputs(&a.data, &file.features).map_err(Failure::input)?;
    let mut out = String::new();
    let mut header: Vec<&str> = file.features.iter().map(String::as_str).collect();
    let target = format!("predicted_{}", file.target);
    header.push(&target);
    let _ = writeln!(out, "{}", header.join(","));
    for x in &rows {
        let cells: Vec<String> = x.iter().map(f64::to_string).collect();
        let _ = writeln!(out, "{},{}", cells.join(","), quote(&file.predict(x)));
    }
    match &a.out {
        Some(p) => {
            micrograd::write_atomic(p, out.as_bytes()).map_err(Failure::input)?;
            eprintln!("wrote {} predictions to {}", rows.len(), p.display());
        }
        None => print!("{out}"),
    }
    Ok(())
}

/// A CSV field, quoted if it needs to be.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
