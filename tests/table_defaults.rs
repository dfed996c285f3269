//! What `micrograd train` does by default with a table as users bring it:
//! a raw export with ids, running numbers, free text, dates, empty cells and
//! rows without a target; a rare class; many columns with empty cells.

mod common;

use common::{dir, micrograd, s, stderr, stdout};

use std::process::Output;

use micrograd::Rng;
use micrograd::nn::ModelFile;

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// A raw export as a field study writes it: a row id, a sample number
/// counted per species, an individual's code, a date, a comment typed by
/// hand on some rows, empty measurements, a few rows with no species.
fn raw_export(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let species = ["Adelie", "Chinstrap", "Gentoo"];
    let mut text = String::from(
        "row,Sample Number,Individual ID,Date Egg,Comments,bill_length_mm,body_mass_g,sex,species\n",
    );
    for i in 0..n {
        let k = i * 3 / n; // sorted by species, as the export is
        let bill = [39.0, 49.0, 47.0][k] + 2.5 * rng.normal();
        let mass = [3700.0, 3730.0, 5080.0][k] + 400.0 * rng.normal();
        let bill = if i % 17 == 3 {
            String::new()
        } else {
            format!("{bill:.1}")
        };
        let sex =
            ["MALE", "FEMALE", "NA"][(i % 23 == 5) as usize * 2 + i % 2 * (i % 23 != 5) as usize];
        let comment = if i % 5 == 0 {
            format!(
                "Nest {i} never observed with full clutch, adults seen on day {}",
                i % 9
            )
        } else {
            String::new()
        };
        let target = if i % 41 == 9 { "" } else { species[k] };
        text += &format!(
            "{i},{},N{}A{},2008-11-{:02},\"{comment}\",{bill},{mass:.0},{sex},{target}\n",
            i - k * n / 3 + 1,
            i / 2,
            i % 2 + 1,
            i % 28 + 1
        );
    }
    text
}

#[test]
fn a_raw_export_runs_with_no_flags_but_the_target() {
    let d = dir("raw");
    let csv = d.join("penguins_raw.csv");
    std::fs::write(&csv, raw_export(300, 3)).unwrap();
    let o = micrograd(&[
        "train",
        s(&csv),
        "--target",
        "species",
        "--out",
        s(&d),
        "--no-plots",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    for note in [
        "left out 8 rows whose target 'species' is empty (or NA), on lines 11, 52, 93 and 5 more",
        "filled 17 empty cells in 'bill_length_mm' with the training mean",
        "filled 13 empty cells in 'sex' with a category of its own, '(empty)'",
        "column 'row' looks like a row id",
        "column 'Sample Number' looks like a running number (it goes up by 1 or 2 from one \
         row to the next on 289 of 291 rows)",
        "column 'Individual ID' looks like an id (text with 292 different values in 292 rows)",
        "column 'Date Egg' holds dates ('2008-11-01'): not used, as dates are not turned into numbers",
        "column 'Comments' is free text (58 different values in 58 rows",
    ] {
        assert!(err.contains(note), "{note}\nnot in\n{err}");
    }
    let file = ModelFile::load(&d.join("model.json")).unwrap();
    assert_eq!(
        file.prep.columns(),
        vec!["bill_length_mm", "body_mass_g", "sex"]
    );
    let j = json(&micrograd(&[
        "train",
        s(&csv),
        "--target",
        "species",
        "--out",
        s(&d),
        "--no-plots",
        "--json",
    ]));
    // --json carries the same notes, every one of them
    let notes = j["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 9, "{notes:?}");
    assert!(
        notes[8]
            .as_str()
            .unwrap()
            .contains("5-fold cross-validation")
    );
    assert!(
        notes[0].as_str().unwrap().contains("left out 8 rows"),
        "{notes:?}"
    );
    // 292 rows: tested by cross-validation
    let acc = j["cv"]["mean"]["accuracy"].as_f64().unwrap();
    assert!(
        j["cv"]["mean"]["roc_auc"].is_null(),
        "three classes: no ROC AUC"
    );
    assert!(acc > 0.85, "{acc}");
    // the model takes the file back, empty cells and all, and scores the rows with a species
    let o = micrograd(&["predict", s(&d.join("model.json")), s(&csv)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("of 292)"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(8 rows with an empty 'species' not scored)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_rare_class_never_predicted_is_named_and_balancing_finds_it() {
    let d = dir("rare");
    let csv = d.join("imbalanced.csv");
    // 12% 'yes', shifted by less than its spread: accuracy is won by answering 'no'
    let mut rng = Rng::new(4);
    let mut text = String::from("a,b,c,label\n");
    for _ in 0..600 {
        let yes = rng.uniform(0.0, 1.0) < 0.12;
        let mu = if yes { 0.9 } else { 0.0 };
        let (a, b, c) = (mu + rng.normal(), 0.8 * mu + rng.normal(), rng.normal());
        text += &format!("{a:.3},{b:.3},{c:.3},{}\n", if yes { "yes" } else { "no" });
    }
    std::fs::write(&csv, text).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["train", s(&csv), "--target", "label", "--out", s(&d)];
        args.extend(["--no-plots", "--json"]);
        args.extend(extra);
        let o = micrograd(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        json(&o)
    };
    let recall = |j: &serde_json::Value| j["test"]["per_class"][1]["recall"].as_f64().unwrap();
    let plain = run(&[]);
    let t = &plain["test"];
    let (acc, balanced) = (
        t["accuracy"].as_f64().unwrap(),
        t["balanced_accuracy"].as_f64().unwrap(),
    );
    assert!(acc > 0.85 && balanced < 0.65, "{t:#}");
    assert!(t["macro_f1"].as_f64().unwrap() < 0.7, "{t:#}");
    // the ranking is good even where the threshold misses the rare class
    let auc = t["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.7 && auc <= 1.0, "{t:#}");
    let warnings = plain["warnings"].to_string();
    assert!(
        warnings.contains("on the test rows, class 'yes' is rarely predicted (recall ")
            && warnings.contains("Try --class-weight balanced"),
        "{warnings}"
    );
    // balanced classes: the rare class is found, and balanced accuracy rises
    let weighted = run(&["--class-weight", "balanced"]);
    let w = &weighted["test"];
    assert!(recall(&weighted) >= recall(&plain) + 0.15, "{w:#}");
    assert!(w["balanced_accuracy"].as_f64().unwrap() > balanced, "{w:#}");
    assert!(
        !weighted["warnings"].to_string().contains("learned nothing"),
        "{weighted:#}"
    );
    // the text summary shows the new figures beside accuracy
    let o = micrograd(&[
        "train",
        s(&csv),
        "--target",
        "label",
        "--out",
        s(&d),
        "--no-plots",
    ]);
    let summary = format!("balanced accuracy {:6.2}%   macro F1", 100.0 * balanced);
    assert!(stdout(&o).contains(&summary), "{summary} in {}", stdout(&o));
    // balancing is for classes
    let o = micrograd(&[
        "train",
        s(&csv),
        "--target",
        "a",
        "--class-weight",
        "balanced",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--class-weight balanced is for classes"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn many_empty_columns_are_listed_by_whole_names() {
    let d = dir("names");
    let csv = d.join("wide.csv");
    // 30 columns with long names, each with an empty cell on its own row
    let names: Vec<String> = (0..30)
        .map(|k| format!("a rather long measurement name number {k}"))
        .collect();
    let mut text = format!("{},y\n", names.join(","));
    for i in 0..40 {
        let cells: Vec<String> = (0..30)
            .map(|k| {
                if i == k {
                    String::new()
                } else {
                    format!("{}", (i + k) % 7)
                }
            })
            .collect();
        text += &format!("{},{}\n", cells.join(","), i % 2);
    }
    std::fs::write(&csv, text).unwrap();
    let o = micrograd(&[
        "train",
        s(&csv),
        "--target",
        "y",
        "--impute",
        "none",
        "--out",
        s(&d),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("30 rows with empty cells"), "{err}");
    // names whole, each quote closed, the rest counted
    assert!(
        err.contains("'a rather long measurement name number 0' (1 row), "),
        "{err}"
    );
    assert_eq!(err.matches('\'').count() % 2, 0, "{err}");
    assert!(!err.contains('…'), "{err}");
    let more = err.split(" and ").nth(1).unwrap_or_default();
    assert!(
        more.starts_with(|c: char| c.is_ascii_digit()) && more.contains(" more"),
        "{err}"
    );
}

#[test]
fn a_test_row_of_a_class_never_trained_on_is_left_out_with_a_warning() {
    let d = dir("unseen-class");
    let (train, test) = (d.join("train.csv"), d.join("test.csv"));
    let rows = |classes: &[&str]| {
        let mut t = String::from("x,y\n");
        for i in 0..60 {
            let c = classes[i % classes.len()];
            t += &format!("{},{c}\n", i % 2);
        }
        t
    };
    std::fs::write(&train, rows(&["a", "b"])).unwrap();
    std::fs::write(&test, rows(&["a", "b", "rare"])).unwrap();
    let save = d.join("m.json");
    let o = micrograd(&[
        "train",
        "--data",
        s(&train),
        "--test-data",
        s(&test),
        "--target",
        "y",
        "--json",
        "--no-plots",
        "--save",
        s(&save),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("20 row(s) of a class the model was not trained on (line 4: 'rare'"),
        "{err}"
    );
    assert_eq!(json(&o)["samples"]["test"], 40);
}
