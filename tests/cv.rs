//! `micrograd train --cv K`, and cross-validation as the default for a small
//! table: what it prints, what `--json` carries, when it switches on and
//! off, and the fold counts it refuses.

mod common;

use common::{dir, micrograd, s, stderr, stdout};

use std::path::Path;
use std::process::Output;

use micrograd::Rng;

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// `n` rows of three classes told apart by two measurements, with a
/// colour column that means nothing; the class is "a", "b" or "c".
fn three_classes(path: &Path, n: usize) {
    let mut rng = Rng::new(3);
    let mut text = String::from("width,height,colour,kind\n");
    for i in 0..n {
        let k = i % 3;
        let w = [1.0, 3.0, 5.0][k] + 0.5 * rng.normal();
        let h = [2.0, 0.0, 2.0][k] + 0.5 * rng.normal();
        let colour = ["red", "blue"][rng.below(2)];
        text += &format!("{w:.3},{h:.3},{colour},{}\n", ["a", "b", "c"][k]);
    }
    std::fs::write(path, text).unwrap();
}

/// `n` rows of a number target: y = 3x + noise.
fn numbers(path: &Path, n: usize) {
    let mut rng = Rng::new(5);
    let mut text = String::from("x,other,y\n");
    for _ in 0..n {
        let x = rng.uniform(-2.0, 2.0);
        let y = 3.0 * x + 0.3 * rng.normal() + 10.0;
        text += &format!("{x:.4},{:.4},{y:.4}\n", rng.normal());
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_small_table_is_cross_validated_by_default_and_says_so() {
    let d = dir("cv_default");
    let csv = d.join("t.csv");
    three_classes(&csv, 90);
    let out = d.join("out");
    let o = micrograd(&["train", s(&csv), "--target", "kind", "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (text, err) = (stdout(&o), stderr(&o));
    assert!(
        err.contains("note: testing by 5-fold cross-validation: a 20% test split of these 90 rows would test on 18 rows"),
        "{err}"
    );
    assert!(err.contains("--cv 0"), "{err}");
    // a line per fold, each trained on 4/5 of the rows with its validation part
    for k in 1..=5 {
        let line = format!("fold {k}/5: 58 rows to train, 14 to stop early, 18 to test: ");
        assert!(err.contains(&line), "{line}\n{err}");
    }
    assert!(
        err.contains("final model: the recipe above on all 90 rows"),
        "{err}"
    );
    assert!(
        text.contains("test   5-fold cross-validation, mean ± sd over the folds"),
        "{text}"
    );
    let acc = text
        .lines()
        .find(|l| l.starts_with("  accuracy "))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        acc.matches('%').count(),
        2 + 5,
        "mean, sd and five folds: {acc}"
    );
    for metric in ["  balanced accuracy ", "  macro F1 ", "  data loss "] {
        assert!(text.contains(metric), "{metric}: {text}");
    }
    assert!(!text.contains("ROC AUC"), "three classes: {text}");
    assert!(text.contains("test: per class (the folds' test rows together)"));
    assert!(
        text.contains(
            "the model saved was trained on all 90 rows (18 of them chose the epochs, then it \
             trained again on all)"
        ),
        "{text}"
    );
    assert!(text.contains("loss.svg shows its training, confusion.svg the folds' test rows"));
    let time = text.lines().find(|l| l.starts_with("time: ")).unwrap();
    assert!(time.contains("cross-validation "), "{time}");
    assert!(out.join("model.json").is_file() && out.join("confusion.svg").is_file());
}

#[test]
fn json_carries_each_fold_and_the_mean_and_sd() {
    let d = dir("cv_json");
    let csv = d.join("t.csv");
    three_classes(&csv, 60);
    let run = |seed: &str| {
        let out = d.join(format!("out{seed}"));
        let args = [
            "train",
            s(&csv),
            "--target",
            "kind",
            "--cv",
            "3",
            "--seed",
            seed,
            // the final model keeps its validation rows out (refit, it trains on them)
            "--no-refit",
        ];
        json(&micrograd(
            &[&args[..], &["--json", "--no-plots", "--out", s(&out)]].concat(),
        ))
    };
    let j = run("7");
    assert!(j["test"].is_null(), "{j:#}");
    // no test rows: the importance is measured on the final model's held-out rows, and says so
    let imp = &j["importance"];
    assert_eq!(imp["measured_on"], "validation", "{imp:#}");
    assert_eq!(
        (imp["repeats"].as_u64(), imp["rows"].as_u64()),
        (Some(5), Some(12))
    );
    assert!(imp["caveat"].as_str().unwrap().contains("never trained on"));
    assert_eq!(imp["columns"][0]["drops"].as_array().unwrap().len(), 5);
    let cv = &j["cv"];
    assert_eq!(
        (cv["folds"].as_u64(), cv["rows"].as_u64()),
        (Some(3), Some(60))
    );
    let folds = cv["per_fold"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let accs: Vec<f64> = folds
        .iter()
        .map(|f| f["accuracy"].as_f64().unwrap())
        .collect();
    let mean = accs.iter().sum::<f64>() / 3.0;
    assert!((cv["mean"]["accuracy"].as_f64().unwrap() - mean).abs() < 1e-12);
    let sd = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    assert!((cv["sd"]["accuracy"].as_f64().unwrap() - sd).abs() < 1e-12);
    for (k, f) in folds.iter().enumerate() {
        assert_eq!(f["fold"], k + 1);
        assert_eq!(f["samples"]["test"], 20, "stratified: 20 rows a fold");
        // every class in every fold: 20 rows of each class, dealt evenly
        let per_class = f["per_class"].as_array().unwrap();
        assert!(
            per_class
                .iter()
                .all(|c| c["samples"].as_u64().unwrap() >= 6)
        );
    }
    let pooled = cv["out_of_fold"]["confusion"].as_array().unwrap();
    let total: u64 = pooled
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 60, "each row tested once");
    assert!(j["samples"]["test"].is_null() && j["samples"]["train"] == 48);
    assert!(j["timings"]["cross_validation"].is_number());
    // the same seed, the same folds and scores; another seed, other folds
    assert_eq!(run("7")["cv"], j["cv"]);
    assert_ne!(run("8")["cv"]["per_fold"], j["cv"]["per_fold"]);
}

#[test]
fn a_number_target_gets_plain_folds_with_r2_mse_and_mae() {
    let d = dir("cv_numbers");
    let csv = d.join("t.csv");
    numbers(&csv, 50);
    let out = d.join("out");
    let o = micrograd(&["train", s(&csv), "--target", "y", "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for metric in ["  R² ", "  MSE ", "  MAE "] {
        assert!(text.contains(metric), "{metric}: {text}");
    }
    let err = stderr(&o);
    assert!(
        !err.contains("in proportion"),
        "no classes to stratify: {err}"
    );
    assert!(
        err.contains("fold 5/5: 32 rows to train, 8 to stop early, 10 to test"),
        "{err}"
    );
    let j = json(&micrograd(&[
        "train",
        s(&csv),
        "--target",
        "y",
        "--json",
        "--no-plots",
        "--out",
        s(&out),
    ]));
    assert!(j["cv"]["mean"]["r2"].as_f64().unwrap() > 0.8, "{j:#}");
    assert!(
        j["cv"]["mean"]["mae"].as_f64().unwrap() < 1.5,
        "in the target's units: {j:#}"
    );
}

#[test]
fn the_single_split_stays_for_large_tables_and_when_asked_for() {
    let d = dir("cv_off");
    let (small, large) = (d.join("small.csv"), d.join("large.csv"));
    three_classes(&small, 60);
    three_classes(&large, 600); // a 20% split tests on 120 rows: enough
    let out = d.join("out");
    let run = |csv: &Path, extra: &[&str]| {
        let args = ["train", s(csv), "--target", "kind", "--epochs", "5"];
        let more = ["--json", "--no-plots", "--out", s(&out)];
        json(&micrograd(&[&args[..], extra, &more[..]].concat()))
    };
    for (csv, extra) in [
        (&large, &[][..]),
        (&small, &["--cv", "0"][..]),
        (&small, &["--test-fraction", "0.3"][..]),
    ] {
        let j = run(csv, extra);
        assert!(j["cv"].is_null(), "{extra:?}: {j:#}");
        assert!(j["test"]["accuracy"].is_number(), "{extra:?}");
    }
    let j = run(&large, &["--cv", "4"]);
    assert_eq!(j["cv"]["folds"], 4);
    assert_eq!(j["samples"]["train"], 480, "the final model: every row");
}

#[test]
fn impossible_fold_counts_are_refused_and_small_classes_noted() {
    let d = dir("cv_bad");
    let csv = d.join("t.csv");
    three_classes(&csv, 12);
    let out = d.join("out");
    let run = |extra: &[&str]| {
        let args = [
            "train",
            s(&csv),
            "--target",
            "kind",
            "--epochs",
            "5",
            "--out",
            s(&out),
        ];
        micrograd(&[&args[..], extra].concat())
    };
    for (extra, says) in [
        (&["--cv", "1"][..], "at least 2 folds"),
        (&["--cv", "13"][..], "at most --cv 12"),
        (&["--cv", "3", "--test-fraction", "0.2"][..], "choose one"),
        (&["--cv", "-2"][..], "whole number"),
    ] {
        let o = run(extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
    }
    let o = micrograd(&["train", "--data", "moons", "--cv", "3", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--cv is for CSV files"),
        "{}",
        stderr(&o)
    );
    // 4 rows a class in 12 folds (one row each): said, and done; too many folds to list
    let o = run(&["--cv", "12"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "note: class 'a' has 4 rows, fewer than the 12 folds: 8 folds test none of its rows"
        ),
        "{err}"
    );
    let text = stdout(&o);
    assert!(text.contains("test   12-fold cross-validation"), "{text}");
    assert!(text.contains("each fold's value: --json"), "{text}");
}
