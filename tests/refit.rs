//! The table recipe's refit: once early stopping has chosen the epochs on
//! the validation rows, the model trains again on every training row for
//! that many; the summary says so, and the flags that turn early stopping
//! off (or the refit alone) leave it out.

mod common;

use common::{dir, micrograd, s, stderr, stdout};

use std::path::{Path, PathBuf};
use std::process::Output;

use micrograd::Rng;

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// Two number columns and a class that depends on their sum, with noise.
fn table(path: &Path, n: usize) {
    let mut rng = Rng::new(5);
    let mut text = String::from("a,b,label\n");
    for _ in 0..n {
        let (a, b) = (rng.normal(), rng.normal());
        let label = if a + b + 0.5 * rng.normal() > 0.0 {
            "up"
        } else {
            "down"
        };
        text += &format!("{a:.4},{b:.4},{label}\n");
    }
    std::fs::write(path, text).unwrap();
}

fn train(csv: &Path, out: &Path, extra: &[&str]) -> Output {
    let save: PathBuf = out.join("model.json");
    let mut args = vec![
        "train",
        "--data",
        s(csv),
        "--target",
        "label",
        "--no-plots",
        "--save",
        s(&save),
        "--cv",
        "0",
    ];
    args.extend_from_slice(extra);
    let o = micrograd(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

#[test]
fn a_table_is_refit_on_every_training_row_for_the_epochs_early_stopping_chose() {
    let d = dir("refit-default");
    let csv = d.join("t.csv");
    table(&csv, 400);
    let j = json(&train(&csv, &d, &["--json"]));
    let (tr, va) = (&j["samples"]["train"], &j["samples"]["valid"]);
    let refit = &j["recipe"]["refit"];
    assert_eq!(
        refit["rows"].as_u64(),
        Some(tr.as_u64().unwrap() + va.as_u64().unwrap())
    );
    let epochs = refit["epochs"].as_u64().unwrap();
    // the best step ends an epoch of ceil(train / 32) steps
    let per_epoch = tr.as_u64().unwrap().div_ceil(32);
    assert_eq!(epochs, (j["best_step"].as_u64().unwrap() + 1) / per_epoch);
    assert_eq!(
        refit["steps"].as_u64(),
        Some(epochs * refit["rows"].as_u64().unwrap().div_ceil(32))
    );
    let text = stdout(&train(&csv, &d, &[]));
    assert!(text.contains("then refit on all"), "{text}");
    assert!(!text.contains("those weights kept"), "{text}");
}

#[test]
fn no_early_stopping_or_no_refit_keeps_the_trained_model() {
    let d = dir("refit-off");
    let csv = d.join("t.csv");
    table(&csv, 300);
    for flags in [
        &["--patience", "0"][..],
        &["--no-refit"][..],
        &["--steps", "50", "--no-refit"][..],
    ] {
        let j = json(&train(&csv, &d, &[&["--json"], flags].concat()));
        assert!(j["recipe"]["refit"].is_null(), "{flags:?}: {j}");
    }
    let text = stdout(&train(&csv, &d, &["--no-refit"]));
    assert!(!text.contains("then refit on"), "{text}");
}

#[test]
fn the_demo_sets_are_not_refit() {
    let d = dir("refit-demo");
    let save = d.join("m.json");
    let o = micrograd(&[
        "train",
        "--data",
        "moons",
        "--json",
        "--no-plots",
        "--save",
        s(&save),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert!(j["recipe"]["refit"].is_null());
    assert_eq!(j["recipe"]["layers"], serde_json::json!([16, 16]));
    assert_eq!(j["steps"], 100);
}

#[test]
fn cross_validation_refits_each_fold_and_the_final_model() {
    let d = dir("refit-cv");
    let csv = d.join("t.csv");
    table(&csv, 200);
    let save = d.join("m.json");
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "label",
        "--cv",
        "3",
        "--json",
        "--no-plots",
        "--save",
        s(&save),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["cv"]["per_fold"].as_array().unwrap().len(), 3);
    assert!(j["recipe"]["refit"]["rows"].as_u64() == Some(200), "{j}");
    // the saved model trained on its validation rows: they cannot judge it
    assert_eq!(j["importance"]["measured_on"], "train", "{j}");
}
