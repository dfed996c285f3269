//! `micrograd train` and `predict` on users' own tables: preprocessing,
//! the table recipe's defaults, the scores, warnings and checks, and the
//! model files taking raw rows.

mod common;

use common::{dir, micrograd, s, stderr, stdout};

use std::path::Path;
use std::process::Output;

use micrograd::data::{Impute, Input, PrepOptions, Preprocess, Table, Target, prepare};
use micrograd::nn::ModelFile;
use micrograd::{Activation, Loss, MLP, Rng};

/// A table as exports come: an id, a constant column, a number on a 1e5
/// scale, a small number, a text column, CRLF line ends. Whether a customer
/// bought depends on income, age and city.
fn messy(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let cities = ["Lyon", "Oslo", "Quito", "Pune"];
    let mut text = String::from("id,income,age,version,city,bought\r\n");
    for i in 0..n {
        let income = 6e4 + 2e4 * rng.normal();
        let age = 18.0 + (rng.uniform(0.0, 1.0) * 62.0).floor();
        let city = cities[(rng.uniform(0.0, 1.0) * 4.0) as usize % 4];
        let score =
            (income - 6e4) / 2e4 + (age - 50.0) / 15.0 + if city == "Oslo" { 1.5 } else { 0.0 };
        let bought = if score + 0.1 * rng.normal() > 0.4 {
            "yes"
        } else {
            "no"
        };
        text += &format!("{},{income:.2},{age},3,{city},{bought}\r\n", i + 1);
    }
    text
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn a_messy_export_trains_to_high_accuracy_with_default_flags() {
    let d = dir("messy");
    let csv = d.join("customers.csv");
    std::fs::write(&csv, messy(500, 1)).unwrap();
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "bought",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    // the id and the constant column are left out, and the user is told
    assert!(
        err.contains("note: column 'id' looks like a row id"),
        "{err}"
    );
    assert!(
        err.contains("note: column 'version' has one value ('3')"),
        "{err}"
    );
    assert!(
        err.contains("city: text, one-hot over 4 categories"),
        "{err}"
    );
    assert!(err.contains("income: number, standardised"), "{err}");
    assert!(
        err.contains("target 'bought': classification, 2 classes: no, yes"),
        "{err}"
    );
    let out = stdout(&o);
    let acc: f64 = out
        .lines()
        .find(|l| l.starts_with("test   accuracy"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|a| a.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(acc >= 93.0, "test accuracy {acc}%: {out}");
    // per-class figures and a confusion matrix, printed and drawn
    assert!(out.contains("precision  recall  samples"), "{out}");
    assert!(out.contains("confusion (rows: true class"), "{out}");
    // the columns the model leans on, printed and drawn: the three the
    // target is made from, never the id or the constant (set aside)
    let heading = out
        .lines()
        .position(|l| l.starts_with("importance: how much the accuracy drops"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        out.lines()
            .nth(heading)
            .unwrap()
            .contains("the 100 test rows")
    );
    let listed: Vec<&str> = (out.lines().skip(heading + 1).take(3))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["age", "city", "income"], "{out}");
    for f in [
        "report.html",
        "importance.svg",
        "confusion.svg",
        "confusion.png",
        "loss.svg",
        "model.json",
        "model.safetensors",
    ] {
        assert!(d.join(f).exists(), "{f}");
    }
    // no warning: it learned
    assert!(!err.contains("warning:"), "{err}");
}

#[test]
fn predict_applies_the_same_preprocessing_from_json_and_safetensors_and_keeps_every_column() {
    let d = dir("predict");
    let (train, new) = (d.join("train.csv"), d.join("new.csv"));
    std::fs::write(&train, messy(400, 2)).unwrap();
    // new rows, as read: numbers with trailing zeros, an unseen city, the id kept
    let mut rows = messy(30, 3).replace("Pune", "Tokyo");
    rows = rows.replacen(",3,", ",3.00,", 1);
    std::fs::write(&new, &rows).unwrap();
    let o = micrograd(&[
        "train",
        "--data",
        s(&train),
        "--target",
        "bought",
        "--out",
        s(&d),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut outputs = Vec::new();
    for model in ["model.json", "model.safetensors"] {
        let out = d.join(format!("{model}.csv"));
        let o = micrograd(&[
            "predict",
            "--model",
            s(&d.join(model)),
            "--data",
            s(&new),
            "--out",
            s(&out),
            "--proba",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        // an unseen category is a warning, not an error
        assert!(
            stderr(&o).contains("categories not seen in training"),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("'Tokyo'"), "{}", stderr(&o));
        // scored against the file's own target column
        assert!(
            stderr(&o).contains("against column 'bought': accuracy"),
            "{}",
            stderr(&o)
        );
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("id,income,age,version,city,bought,predicted_bought,p_no,p_yes")
        );
        let first = lines.next().unwrap();
        let input_first = rows.lines().nth(1).unwrap();
        assert!(
            first.starts_with(input_first),
            "numbers as read: {first} vs {input_first}"
        );
        for line in text.lines().skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            let (p_no, p_yes): (f64, f64) = (cells[7].parse().unwrap(), cells[8].parse().unwrap());
            assert!((p_no + p_yes - 1.0).abs() < 1e-12);
            assert_eq!(cells[6], if p_yes > p_no { "yes" } else { "no" });
        }
        outputs.push(text);
    }
    // the JSON model (scaler explicit) and the safetensors one (scaler in the weights) agree
    let pred = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split(',').nth(6).unwrap().to_owned())
            .collect()
    };
    assert_eq!(pred(&outputs[0]), pred(&outputs[1]));
    let proba = |t: &str| -> Vec<f64> {
        t.lines()
            .skip(1)
            .map(|l| l.split(',').nth(8).unwrap().parse().unwrap())
            .collect()
    };
    for (a, b) in proba(&outputs[0]).iter().zip(proba(&outputs[1])) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    // --proba with a loss that has no probabilities
    let o = micrograd(&[
        "train",
        "--data",
        s(&train),
        "--target",
        "bought",
        "--loss",
        "svm",
        "--save",
        s(&d.join("svm.json")),
        "--quiet",
        "--no-plots",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = micrograd(&[
        "predict",
        "--model",
        s(&d.join("svm.json")),
        "--data",
        s(&new),
        "--proba",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--proba: the model was trained with loss svm"),
        "{}",
        stderr(&o)
    );
}

/// A model on raw rows whose numbers PyTorch computed from its safetensors
/// file: `tools/check_safetensors.py folded.safetensors rows.csv`, with the
/// files this test writes to `$MICROGRAD_FIXTURES` when that is set.
fn folded_fixture() -> ModelFile {
    let prep = Preprocess {
        inputs: vec![
            Input::Numeric {
                column: "income".into(),
                mean: 60000.0,
                std: 20000.0,
            },
            Input::OneHot {
                column: "city".into(),
                categories: vec!["Lyon".into(), "Oslo".into()],
            },
            Input::Numeric {
                column: "age".into(),
                mean: 50.0,
                std: 15.0,
            },
        ],
        target: Target::Number {
            column: "spend".into(),
            mean: 300.0,
            std: 80.0,
        },
        impute: Impute::None,
    };
    let model = MLP::builder(4, &[3, 1])
        .hidden(Activation::Tanh)
        .output(Activation::Linear)
        .seed(11)
        .build();
    ModelFile {
        model,
        prep,
        loss: Loss::Mse,
    }
}

const RAW_ROWS: &str = "income,city,age\n52000,Oslo,31\n81000,Lyon,64\n60000,Quito,50\n";

#[test]
fn safetensors_takes_raw_rows_as_pytorch_computes_them() {
    // PyTorch 2.x, float64, nn.Sequential(Linear(4,3), Tanh(), Linear(3,1)) with the
    // state_dict loaded strictly, on the raw rows [income, city=Lyon, city=Oslo, age]:
    const PYTORCH: [f64; 3] = [128.69609747136568, 307.6772205871324, 268.7875742296066];
    let file = folded_fixture();
    let table = Table::parse(RAW_ROWS, "rows.csv").unwrap();
    let st = file.to_safetensors().unwrap();
    if let Ok(dir) = std::env::var("MICROGRAD_FIXTURES") {
        std::fs::write(Path::new(&dir).join("folded.safetensors"), &st).unwrap();
        std::fs::write(Path::new(&dir).join("rows.csv"), RAW_ROWS).unwrap();
    }
    let back = ModelFile::from_safetensors(&st, "folded.safetensors").unwrap();
    // what was folded is gone from the preprocessing read back: the network
    // takes raw numbers, less only the mean (kept to fill empty cells with)
    let Input::Numeric { mean, .. } = file.prep.inputs[0] else {
        panic!("income is a number")
    };
    assert_eq!(
        back.prep.inputs[0],
        Input::Numeric {
            column: "income".into(),
            mean,
            std: 1.0
        }
    );
    let rows: Vec<usize> = (0..3).collect();
    let (explicit, _) = file.prep.inputs_of(&table, &rows).unwrap();
    let (raw, warnings) = back.prep.inputs_of(&table, &rows).unwrap();
    let means: Vec<f64> = back
        .prep
        .inputs
        .iter()
        .filter_map(|i| match i {
            Input::Numeric { mean, .. } => Some(*mean),
            Input::OneHot { .. } => None,
        })
        .collect();
    let (m_income, m_age) = (means[0], means[1]);
    assert_eq!(raw[0], vec![52000.0 - m_income, 0.0, 1.0, 31.0 - m_age]);
    assert_eq!(raw[2], vec![60000.0 - m_income, 0.0, 0.0, 50.0 - m_age]); // Quito: not seen, all zeros
    assert_eq!(warnings.len(), 1);
    for k in 0..3 {
        let (a, b) = (
            file.predict_value(&explicit[k]),
            back.predict_value(&raw[k]),
        );
        assert!(
            (a - b).abs() < 1e-9 * a.abs().max(1.0),
            "row {k}: {a} vs {b}"
        );
        assert!(
            (b - PYTORCH[k]).abs() < 1e-9 * b.abs().max(1.0),
            "row {k}: {b} vs PyTorch {}",
            PYTORCH[k]
        );
    }
}

#[test]
fn regression_targets_are_scaled_for_training_and_reported_in_their_own_units() {
    let d = dir("regression");
    let csv = d.join("house.csv");
    let mut rng = Rng::new(4);
    let mut text = String::from("rooms,area,price\n");
    for _ in 0..300 {
        let rooms = 1.0 + (rng.uniform(0.0, 1.0) * 5.0).floor();
        let area = 30.0 + 150.0 * rng.uniform(0.0, 1.0);
        let price = 5e4 + 2e4 * rooms + 1500.0 * area + 5e3 * rng.normal();
        text += &format!("{rooms},{area:.1},{price:.0}\n");
    }
    std::fs::write(&csv, text).unwrap();
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "price",
        "--json",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["task"], "regression");
    // 300 rows: tested by cross-validation, each fold's scores in the target's units
    let r2 = j["cv"]["mean"]["r2"].as_f64().unwrap();
    assert!(r2 > 0.95, "{j:#}");
    // the errors are in the target's units (prices near 3e5, noise 5e3), not standardised ones
    let mae = j["cv"]["mean"]["mae"].as_f64().unwrap();
    assert!((1e3..2e4).contains(&mae), "{j:#}");
    assert!(j["cv"]["mean"]["mse"].as_f64().unwrap() > 1e6);
    // --task overrides what is inferred: the same column as classes would be absurd, but allowed
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "rooms",
        "--json",
        "--no-plots",
        "--save",
        s(&d.join("m.json")),
    ]);
    assert_eq!(json(&o)["task"], "classification");
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "rooms",
        "--task",
        "regression",
        "--json",
        "--no-plots",
        "--save",
        s(&d.join("m.json")),
    ]);
    assert_eq!(json(&o)["task"], "regression");
}

#[test]
fn a_run_that_learns_nothing_warns_and_says_what_to_try() {
    let d = dir("nothing");
    let csv = d.join("noise.csv");
    let mut rng = Rng::new(5);
    let mut text = String::from("a,b,label\n");
    for _ in 0..300 {
        let label = if rng.uniform(0.0, 1.0) < 0.85 {
            "common"
        } else {
            "rare"
        };
        text += &format!("{},{},{label}\n", rng.normal(), rng.normal());
    }
    std::fs::write(&csv, text).unwrap();
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "label",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning: test accuracy")
            && err.contains("no better than always answering 'common'"),
        "{err}"
    );
    assert!(err.contains("Try more --epochs"), "{err}");
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "label",
        "--json",
        "--out",
        s(&d),
    ]);
    let j = json(&o);
    assert!(
        j["warning"].as_str().unwrap().contains("learned nothing"),
        "{j:#}"
    );
    // every row's prediction by the fold model that did not train on it
    let pooled = &j["cv"]["out_of_fold"];
    assert!(pooled["accuracy"].as_f64().unwrap() <= pooled["majority_rate"].as_f64().unwrap());
}

#[test]
fn bad_output_paths_fail_before_training() {
    let d = dir("paths");
    let csv = d.join("t.csv");
    std::fs::write(&csv, messy(100, 6)).unwrap();
    for (args, want) in [
        (
            vec!["--save", "/no/such/dir/m.json"],
            "no such directory /no/such/dir",
        ),
        (
            vec!["--out", "/proc/version/x"],
            "--out /proc/version/x: /proc/version is a file, not a folder",
        ),
        (vec!["--save", s(&d)], "is a directory, not a file"),
    ] {
        let mut all = vec!["train", "--data", s(&csv), "--target", "bought"];
        all.extend(args);
        let o = micrograd(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{all:?}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("training MLP"),
            "checked before training: {}",
            stderr(&o)
        );
    }
}

#[test]
fn missing_cells_are_filled_by_default_or_named() {
    let d = dir("missing");
    let csv = d.join("gaps.csv");
    // two empty cities and an income of NA, wherever they fall in the split
    let mut lines: Vec<String> = messy(200, 7).lines().map(str::to_owned).collect();
    for (row, col, value) in [(5, 4, ""), (60, 4, ""), (12, 1, "NA"), (60, 1, "")] {
        let mut cells: Vec<&str> = lines[row].split(',').collect();
        cells[col] = value;
        lines[row] = cells.join(",");
    }
    std::fs::write(&csv, lines.join("\n")).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["train", s(&csv), "--target", "bought", "--out", s(&d)];
        args.extend(["--no-plots", "--epochs", "20"]);
        args.extend(extra);
        micrograd(&args)
    };
    // no flags: filled, one line per column, learned from the training rows
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let file = ModelFile::load(&d.join("model.json")).unwrap();
    let Input::Numeric { mean, .. } = file.prep.inputs[0] else {
        panic!("{:?}", file.prep.inputs[0]);
    };
    let income = format!(
        "note: filled 2 empty cells in 'income' with the training mean {}\n",
        (mean * 1e6).round() / 1e6
    );
    assert!(err.contains(&income), "{income} in {err}");
    assert!(
        err.contains(
            "note: filled 2 empty cells in 'city' with a category of its own, '(empty)'\n"
        ),
        "{err}"
    );
    assert_eq!(file.prep.impute, Impute::Mean);
    // --impute none refuses, counting rows (line 61 has two empty cells, named once)
    let o = run(&["--impute", "none"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(
            "3 rows with empty cells (empty or NA), on lines 6, 13, 61, in columns \
             'city' (2 rows), 'income' (2 rows); fill or remove those rows, or use --impute mean"
        ),
        "{err}"
    );
    assert!(err.lines().count() <= 2, "{err}");
    // rows without a target are left out with a note, and the rest trains
    let text = "x,y\n1,2\n2,\n3,4.5\n4,NaN\n".repeat(5);
    let text = format!("x,y\n{}", text.replace("x,y\n", ""));
    std::fs::write(&csv, text).unwrap();
    let o = micrograd(&[
        "train",
        s(&csv),
        "--target",
        "y",
        "--out",
        s(&d),
        "--epochs",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "left out 10 rows whose target 'y' is empty (or NA), on lines 3, 5, 7 and 7 more"
        ),
        "{}",
        stderr(&o)
    );
    assert!(
        // the 10 rows left: 5-fold cross-validation, then the final model on all of them
        stderr(&o).contains("(8 train, 2 validation, 0 test"),
        "{}",
        stderr(&o)
    );
    // predict scores the rows that have a target, and says how many it could not
    let o = micrograd(&["predict", s(&d.join("model.json")), s(&csv)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("against column 'y': R² ")
            && stderr(&o).contains("(10 rows with an empty 'y' not scored)"),
        "{}",
        stderr(&o)
    );
    // a target empty on every row is an error, not a run on nothing
    std::fs::write(&csv, "x,y\n1,\n2,NA\n").unwrap();
    let o = micrograd(&["train", s(&csv), "--target", "y", "--out", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("empty (or NA) on every row"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn features_and_drop_choose_the_columns() {
    let d = dir("choose");
    let csv = d.join("t.csv");
    std::fs::write(&csv, messy(120, 8)).unwrap();
    let m = d.join("m.json");
    let run = |extra: &[&str]| {
        let mut a = vec![
            "train",
            "--data",
            s(&csv),
            "--target",
            "bought",
            "--json",
            "--no-plots",
            "--save",
            s(&m),
        ];
        a.extend(extra);
        micrograd(&a)
    };
    let o = run(&["--features", "income,age"]);
    assert_eq!(json(&o)["inputs"], 2);
    let o = run(&["--drop", "city"]);
    assert_eq!(json(&o)["inputs"], 2); // income, age (id and version dropped by themselves)
    let o = run(&["--features", "id,income"]);
    assert_eq!(
        json(&o)["inputs"],
        2,
        "named columns are used, ids included"
    );
    let o = run(&["--features", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no column 'nope'; the columns are: id, income"),
        "{}",
        stderr(&o)
    );
    let o = run(&["--drop", "bought"]);
    assert!(
        stderr(&o).contains("'bought' is the target"),
        "{}",
        stderr(&o)
    );
    let o = run(&["--no-scale", "--features", "age"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn preprocessing_is_learned_from_the_training_rows_only() {
    let table = Table::parse("x,c,y\n0,a,0\n10,b,1\n1000,z,0\n", "t.csv").unwrap();
    let (p, _) = Preprocess::fit(&table, "y", &[0, 1], &PrepOptions::default()).unwrap();
    assert_eq!(
        p.inputs[0],
        Input::Numeric {
            column: "x".into(),
            mean: 5.0,
            std: 5.0
        }
    );
    // 'z' is only in the held-out row: not a category
    assert_eq!(
        p.inputs[1],
        Input::OneHot {
            column: "c".into(),
            categories: vec!["a".into(), "b".into()]
        }
    );
    // the classes come from every row, so a held-out class is not an error
    assert_eq!(p.target.classes(), ["0", "1"]);
    // a split: the test rows never move the scaler
    let big: String = (0..100).map(|i| format!("{},{}\n", i * 3, i % 2)).collect();
    let table = Table::parse(&format!("x,y\n{big}"), "t.csv").unwrap();
    let a = prepare(&table, None, "y", &PrepOptions::default(), 0.3, 0.0, 1).unwrap();
    let train_mean: f64 = a.train.x.iter().map(|r| r[0]).sum::<f64>() / a.train.len() as f64;
    assert!(train_mean.abs() < 1e-12, "standardised on its own rows");
    let test_mean: f64 = a.test.x.iter().map(|r| r[0]).sum::<f64>() / a.test.len() as f64;
    assert!(test_mean.abs() > 1e-6);
}

#[test]
fn the_help_example_trains_well() {
    // `micrograd train --data iris.csv --target species`, on a table shaped like iris
    let d = dir("iris");
    let csv = d.join("iris.csv");
    let mut rng = Rng::new(9);
    let mut text = String::from("Id,sepal_length,sepal_width,petal_length,petal_width,species\n");
    let centres = [
        ("setosa", [5.0, 3.4, 1.5, 0.2]),
        ("versicolor", [5.9, 2.8, 4.3, 1.3]),
        ("virginica", [6.6, 3.0, 5.6, 2.0]),
    ];
    for i in 0..150 {
        let (name, c) = centres[i % 3];
        let v: Vec<String> = c
            .iter()
            .map(|m| format!("{:.1}", m + 0.3 * rng.normal()))
            .collect();
        text += &format!("{},{},{name}\n", i + 1, v.join(","));
    }
    std::fs::write(&csv, text).unwrap();
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "species",
        "--json",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert!(
        j["cv"]["mean"]["accuracy"].as_f64().unwrap() >= 0.9,
        "{j:#}"
    );
    assert_eq!(j["inputs"], 4, "the Id column is not a feature");
    assert_eq!(
        j["cv"]["out_of_fold"]["per_class"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        j["cv"]["out_of_fold"]["confusion"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(j["train"]["accuracy"].is_number() && j["best_step"].is_number());
}
