//! The `micrograd` binary: each subcommand and flag family, and the errors.

mod common;

use common::{dir, micrograd, s, stderr, stdout};

use std::path::Path;
use std::process::Command;

/// Runs and expects exit status 2 with `want` in the message.
fn bad_input(args: &[&str], want: &str) {
    let o = micrograd(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
}

#[test]
fn default_run_trains_the_moons_demo_and_writes_everything() {
    let d = dir("default");
    let o = micrograd(&["--out", s(&d)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // the demo reaches 100% training accuracy in its 100 steps
    assert!(out.contains("trained 100 steps"), "{out}");
    // the whole run's time, and each part's (never their values: timing is not asserted)
    let time = out.lines().find(|l| l.starts_with("time: ")).expect(&out);
    for part in [
        "in all",
        "read",
        "preprocess",
        "train",
        "evaluate",
        "plots",
        "save",
    ] {
        assert!(time.contains(part), "{time}");
    }
    assert!(out.contains("train  accuracy 100.00%"), "{out}");
    assert!(out.contains("test   accuracy"), "{out}");
    // progress on stderr (not a terminal here: a line every tenth)
    let err = stderr(&o);
    assert!(err.contains("step   100/100 loss 0.022016"), "{err}");
    assert!(
        !err.contains("valid loss"),
        "no validation set in the demo: {err}"
    );
    for f in [
        "loss.svg",
        "decision_boundary.svg",
        "model.json",
        "model.safetensors",
    ] {
        let p = d.join(f);
        assert!(
            p.metadata().is_ok_and(|m| m.len() > 1000),
            "{f} missing or tiny"
        );
        assert!(out.contains(&format!("wrote {}", p.display())), "{out}");
    }
    // no temporary files left behind
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}

#[test]
fn json_summary() {
    let d = dir("json");
    let o = micrograd(&[
        "train",
        "--steps",
        "20",
        "--json",
        "--no-plots",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON on stdout");
    assert_eq!(j["steps"], 20);
    assert_eq!(j["parameters"], 337);
    assert_eq!(j["samples"]["train"], 100);
    assert!(j["train"]["accuracy"].as_f64().unwrap() > 0.5);
    // where the run's time went: every part there, none negative
    let t = &j["timings"];
    let parts = [
        "read",
        "preprocess",
        "train",
        "evaluate",
        "plots",
        "save",
        "other",
    ];
    for part in parts.iter().chain(&["total"]) {
        let secs = t[part]
            .as_f64()
            .unwrap_or_else(|| panic!("timings.{part}: {t}"));
        assert!(secs >= 0.0, "timings.{part}: {t}");
    }
    assert_eq!(t["train"], j["seconds"]);
    assert_eq!(t.as_object().unwrap().len(), parts.len() + 1, "{t}");
    assert!(stderr(&o).is_empty(), "--json is quiet: {}", stderr(&o));
    assert!(!d.join("loss.svg").exists(), "--no-plots");
}

#[test]
fn flag_families() {
    let d = dir("flags");
    // multi-class, adam, mini-batches, epochs, tanh, xavier
    let o = micrograd(&[
        "train",
        "--data",
        "spiral",
        "--layers",
        "16",
        "--activation",
        "tanh",
        "--init",
        "xavier",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--batch-size",
        "50",
        "--epochs",
        "30",
        "--seed",
        "3",
        "--quiet",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("trained 90 steps"), "{}", stdout(&o)); // 30 epochs × 3 batches
    assert!(stderr(&o).is_empty(), "--quiet: {}", stderr(&o));
    // regression on the seeds' toy set, momentum, saved as safetensors only
    let model = d.join("toy.safetensors");
    let o = micrograd(&[
        "train",
        "--data",
        "toy",
        "--layers",
        "4,4",
        "--optimizer",
        "momentum",
        "--steps",
        "200",
        "--save",
        s(&model),
        "--quiet",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("train  R² "), "{}", stdout(&o));
    assert!(model.exists());
    // other losses on two classes
    for loss in ["bce", "xent", "mse"] {
        let o = micrograd(&[
            "train",
            "--data",
            "xor",
            "--layers",
            "8",
            "--loss",
            loss,
            "--lr",
            "0.1",
            "--steps",
            "50",
            "--no-plots",
            "--quiet",
            "--out",
            s(&d),
        ]);
        assert!(o.status.success(), "{loss}: {}", stderr(&o));
    }
}

#[test]
fn a_diverging_run_stops_exits_1_says_why_in_a_few_lines_and_saves_nothing() {
    let d = dir("diverge");
    let o = micrograd(&[
        "train",
        "--data",
        "xor",
        "--layers",
        "8",
        "--loss",
        "mse",
        "--steps",
        "50",
        "--out",
        s(&d),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let msg = &err[err.find("error:").unwrap()..];
    assert!(
        msg.starts_with("error: training diverged: the loss grew from"),
        "{msg}"
    );
    assert!(msg.contains("try: --lr 0.1"), "{msg}");
    assert!(msg.lines().count() <= 5 && msg.len() < 600, "{msg}");
    assert!(
        !stdout(&o).contains("accuracy"),
        "no calm summary: {}",
        stdout(&o)
    );
    assert!(!d.join("model.json").exists() && !d.join("model.safetensors").exists());

    // unscaled features far from 1, plain SGD: NaN or explosion, never a saved model
    let csv = d.join("big.csv");
    let mut text = String::from("a,b,y\n");
    for i in 0..60 {
        text += &format!("{},{},{}\n", i as f64 * 1e5, (i % 7) as f64 * 3e4, i % 2);
    }
    std::fs::write(&csv, text).unwrap();
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "y",
        "--no-scale",
        "--optimizer",
        "sgd",
        "--lr",
        "1",
        "--out",
        s(&d),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("drop --no-scale"), "{err}");
    assert!(
        err.len() < 2000,
        "short, whatever the graph: {} bytes",
        err.len()
    );
    assert!(!d.join("model.json").exists());
}

#[test]
fn csv_train_then_predict_gives_the_same_predictions() {
    let d = dir("csv");
    let csv = d.join("pts.csv");
    let mut text = String::from("x1,x2,label\n");
    let ds = micrograd::data::moons(80, 0.1, 5);
    for (p, &c) in ds.x.iter().zip(&ds.y) {
        text += &format!(
            "{},{},{}\n",
            p[0],
            p[1],
            if c == 0.0 { "upper" } else { "lower" }
        );
    }
    std::fs::write(&csv, text).unwrap();
    // the file as a plain argument (`--data` is the same)
    let o = micrograd(&[
        "train",
        s(&csv),
        "--target",
        "label",
        "--test-fraction",
        "0.25",
        "--steps",
        "60",
        "--quiet",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("test   accuracy"), "{}", stdout(&o));

    let mut predictions = Vec::new();
    for model in ["model.json", "model.safetensors"] {
        let out = d.join(format!("pred-{model}.csv"));
        let o = micrograd(&[
            "predict",
            "--model",
            s(&d.join(model)),
            "--data",
            s(&csv),
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let pred = std::fs::read_to_string(&out).unwrap();
        let mut lines = pred.lines();
        assert_eq!(lines.next(), Some("x1,x2,label,predicted_label"));
        // the same predictions as the model file computes in-process, from the raw cells
        let file = micrograd::nn::ModelFile::load(&d.join(model)).unwrap();
        let mut n = 0;
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            let x = file.prep.encode_row(&cells[..2]).unwrap();
            assert_eq!(cells[3], file.predict(&x));
            n += 1;
        }
        assert_eq!(n, 80);
        predictions.push(pred);
    }
    // JSON (scaler explicit) and safetensors (scaler folded into the weights) agree
    assert_eq!(predictions[0], predictions[1]);
    // and to stdout
    let o = micrograd(&[
        "predict",
        "--model",
        s(&d.join("model.json")),
        s(&csv), // the file as a plain argument (`--data` is the same)
    ]);
    assert!(stdout(&o).lines().count() == 81, "{}", stderr(&o));
    // the model as a plain argument too, as `cp FROM TO` reads
    let both = micrograd(&["predict", s(&d.join("model.json")), s(&csv)]);
    assert_eq!(stdout(&both), stdout(&o));
    bad_input(
        &["predict", s(&csv)],
        "which model? give it before the data",
    );
    // the file has the target column, so the predictions are scored too
    let file = micrograd::nn::ModelFile::load(&d.join("model.json")).unwrap();
    let right =
        ds.x.iter()
            .zip(&ds.y)
            .filter(|(x, c)| {
                let cells = [x[0].to_string(), x[1].to_string()];
                let x = file.prep.encode_row(&[&cells[0], &cells[1]]).unwrap();
                file.predict(&x) == if **c == 0.0 { "upper" } else { "lower" }
            })
            .count();
    let want = format!(
        "against column 'label': accuracy {:.2}% ({right} of 80)",
        right as f64 * 100.0 / 80.0
    );
    assert!(stderr(&o).contains(&want), "{} vs {want}", stderr(&o));
}

#[test]
fn grad_prints_the_seed_neuron() {
    let o = micrograd(&[
        "grad",
        "tanh(x1*w1 + x2*w2 + b)",
        "x1=2",
        "x2=0",
        "w1=-3",
        "w2=1",
        "b=6.8813735870195432",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let num = |name: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("d/d{name} =")))
            .unwrap();
        line.split('=').nth(1).unwrap().trim().parse().unwrap()
    };
    assert!(
        out.starts_with("tanh(x1*w1 + x2*w2 + b) = 0.70710678118654"),
        "{out}"
    );
    for (name, want) in [
        ("x1", -1.5),
        ("w1", 1.0),
        ("x2", 0.5),
        ("w2", 0.0),
        ("b", 0.5),
    ] {
        assert!((num(name) - want).abs() < 1e-12, "{name}: {out}");
    }
}

#[test]
fn grad_json_svg_dot() {
    let d = dir("grad");
    let svg = d.join("g.svg");
    let dot = d.join("g.dot");
    let o = micrograd(&[
        "grad",
        "x^2 + 3*x",
        "x=2",
        "--json",
        "--svg",
        s(&svg),
        "--dot",
        s(&dot),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j, serde_json::json!({"value": 10.0, "grads": {"x": 7.0}}));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let dot = std::fs::read_to_string(&dot).unwrap();
    assert!(dot.contains("{ x | data 2.0000 | grad 7.0000 }"), "{dot}");
    // non-finite numbers are null in JSON
    let o = micrograd(&["grad", "ln(x)", "x=0", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(j["value"].is_null() && j["grads"]["x"].is_null());
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let d = dir("bad");
    let out = s(&d);
    bad_input(
        &["train", "--data", "nope", "--out", out],
        "'nope': no such file, and not a built-in data set (moons, circles, spiral, xor, toy)",
    );
    // the data as a plain argument is the same as --data, and not both
    bad_input(
        &["train", "nope", "--out", out],
        "'nope': no such file, and not a built-in data set",
    );
    bad_input(
        &["train", "nope", "--data", "moons", "--out", out],
        "cannot be used with",
    );
    bad_input(
        &["train", "--layers", "16,x", "--out", out],
        "'x' is not a layer size",
    );
    bad_input(
        &["train", "--lr", "-1", "--out", out],
        "--lr -1: must be a finite number >= 0",
    );
    bad_input(
        &["train", "--activation", "swish"],
        "unknown activation 'swish'",
    );
    bad_input(&["train", "--steps", "0", "--out", out], "nothing to do");
    bad_input(&["train", "--data", "moon"], "did you mean 'moons'?");
    bad_input(
        &["train", "--steps", "-5"],
        "'-5' for '--steps <STEPS>': must be a whole number, 0 or more",
    );
    bad_input(&["serve", "--host", "nowhere"], "not an IP address");
    let file = d.join("a-file");
    std::fs::write(&file, "").unwrap();
    bad_input(
        &["train", "--steps", "1", "--out", s(&file)],
        "this is a file; --out names the directory",
    );
    std::fs::remove_file(&file).unwrap();
    bad_input(
        &[
            "train",
            "--patience",
            "3",
            "--valid-fraction",
            "0",
            "--out",
            out,
        ],
        "--patience 3: early stopping needs validation rows",
    );
    bad_input(
        &["train", "--test-fraction", "1.5", "--out", out],
        "--test-fraction 1.5",
    );
    bad_input(
        &["train", "--data", "spiral", "--loss", "svm", "--out", out],
        "loss svm is for 2 classes, not 3; use xent",
    );
    bad_input(
        &["train", "--data", "toy", "--loss", "xent", "--out", out],
        "use mse",
    );
    bad_input(
        &["train", "--steps", "5", "--epochs", "2"],
        "cannot be used with",
    );
    bad_input(
        &["train", "--data", "moons", "--target", "y"],
        "--target is for CSV files",
    );
    let csv = d.join("d.csv");
    std::fs::write(&csv, "a,b\n1,2\n3,x\n").unwrap();
    bad_input(
        &["train", "--data", s(&csv), "--out", out],
        "needs --target COLUMN (the column to predict); its columns are: a, b",
    );
    // a number column with text in the test file
    let numbers = d.join("n.csv");
    std::fs::write(&numbers, "a,b\n1,2\n3,4\n1,5\n3,6\n").unwrap();
    bad_input(
        &[
            "train",
            "--data",
            s(&numbers),
            "--test-data",
            s(&csv),
            "--target",
            "a",
            "--out",
            out,
        ],
        &format!("{}:3, column 'b': 'x' is not a number", csv.display()),
    );
    bad_input(
        &["train", "--data", s(&csv), "--target", "c", "--out", out],
        "no target column 'c'; the columns are: a, b",
    );
    // predict
    bad_input(
        &[
            "predict",
            "--model",
            s(&d.join("none.json")),
            "--data",
            s(&csv),
        ],
        "none.json: cannot read",
    );
    bad_input(
        &["predict", "--model", s(&csv), "--data", s(&csv)],
        "not a model file",
    );
    bad_input(
        &["predict", "--model", s(&csv)],
        "the following required arguments were not provided",
    );
    // grad
    bad_input(
        &["grad", "x * * y", "x=1", "y=2"],
        "    ^ expected a number, a name or '(', found '*'",
    );
    bad_input(&["grad", "x + y", "x=1"], "no value given for 'y'");
    bad_input(&["grad", "x", "x=1", "x=2"], "'x' is given twice");
    bad_input(&["grad", "x", "x"], "'x' is not NAME=VALUE");
    bad_input(&["grad", "x", "x=abc"], "'abc' is not a number (in x=abc)");
    bad_input(
        &["grad", "x", "y=1"],
        "'y' is not in the expression (its variables: x)",
    );
    // nothing was written by the failed runs
    let mut left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["d.csv", "n.csv"].map(std::ffi::OsString::from));
}

#[test]
fn predict_errors_when_columns_do_not_match() {
    let d = dir("cols");
    let o = micrograd(&[
        "train",
        "--steps",
        "5",
        "--no-plots",
        "--quiet",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success());
    let csv = d.join("other.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    bad_input(
        &[
            "predict",
            "--model",
            s(&d.join("model.json")),
            "--data",
            s(&csv),
        ],
        "no column 'x1'; the columns are: a, b",
    );
}

#[test]
fn help_lists_the_subcommands_and_examples() {
    let o = micrograd(&["--help"]);
    assert!(o.status.success());
    let h = stdout(&o);
    for want in [
        "train",
        "predict",
        "grad",
        "Examples:",
        "--layers",
        "--optimizer",
    ] {
        assert!(h.contains(want), "{want} not in --help");
    }
}

#[test]
fn grad_png_without_graphviz_says_so() {
    let o = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(["grad", "x*2", "x=1", "--png", "/tmp/never-written.png"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--png: graphviz: cannot run `dot`"),
        "{}",
        stderr(&o)
    );
    assert!(!Path::new("/tmp/never-written.png").exists());
}

/// A spreadsheet's semicolon file with decimal commas trains as its comma
/// twin does, and predictions come back in its own conventions.
#[test]
fn a_semicolon_file_trains_as_its_comma_twin_and_predicts_in_kind() {
    let d = dir("semicolon");
    let ds = micrograd::data::moons(60, 0.1, 3);
    let (mut comma, mut semi) = (String::from("x1,x2,y\n"), String::from("x1;x2;y\n"));
    for (p, &c) in ds.x.iter().zip(&ds.y) {
        comma += &format!("{},{},{c}\n", p[0], p[1]);
        let dec = |v: f64| v.to_string().replace('.', ",");
        semi += &format!("{};{};{c}\n", dec(p[0]), dec(p[1]));
    }
    let (c, sc) = (d.join("comma.csv"), d.join("semi.csv"));
    std::fs::write(&c, comma).unwrap();
    std::fs::write(&sc, semi).unwrap();
    let train = |file: &Path, out: &str| {
        let args = [
            "train",
            s(file),
            "--target",
            "y",
            "--steps",
            "30",
            "--no-plots",
        ];
        let o = micrograd(&[&args[..], &["--json", "--out", out]].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        j["cv"].clone() // 60 rows: cross-validated
    };
    let a = train(&c, s(&d.join("c")));
    let b = train(&sc, s(&d.join("s")));
    assert!(a.is_object());
    assert_eq!(a, b, "the same numbers, the same model");
    let model = d.join("s").join("model.json");
    let o = micrograd(&["predict", "--model", s(&model), s(&sc), "--proba"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("semi.csv: fields separated by ';', decimal commas read as points"),
        "{}",
        stderr(&o)
    );
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("x1;x2;y;predicted_y;p_0;p_1"));
    let row: Vec<&str> = lines.next().unwrap().split(';').collect();
    assert_eq!(row.len(), 6, "{out}");
    assert!(
        row[0].contains(',') && row[4].contains(','),
        "decimal commas: {row:?}"
    );
}

#[test]
fn pictures_left_by_an_earlier_run_are_pointed_out() {
    let d = dir("earlier");
    let o = micrograd(&["train", "--data", "moons", "--steps", "2", "--out", s(&d)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // toy has three features: no decision boundary this time
    let o = micrograd(&["train", "--data", "toy", "--steps", "2", "--out", s(&d)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("decision_boundary.svg is from an earlier run"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("loss.svg is from"), "{}", stderr(&o));
}

#[test]
fn out_makes_one_folder_not_a_tree() {
    let d = dir("outdir");
    let deep = d.join("no/such/dir");
    let o = micrograd(&["train", "--steps", "1", "--quiet", "--out", s(&deep)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("does not exist") && e.contains("mkdir -p"),
        "{e}"
    );
    assert!(!d.join("no").exists(), "nothing created");
    let new = d.join("new");
    let o = micrograd(&["train", "--steps", "1", "--quiet", "--out", s(&new)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(new.join("model.json").is_file());
}

#[test]
fn a_table_named_without_its_folder_is_pointed_to() {
    // tests run in the repository's root, where the table is data/iris.csv
    let o = micrograd(&["train", "iris.csv", "--target", "species"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("(did you mean data/iris.csv?)"),
        "{}",
        stderr(&o)
    );
    let o = micrograd(&["predict", "no-model.json", "new_flowers.csv"]);
    assert_eq!(o.status.code(), Some(2));
    let o = micrograd(&["train", "no-such-table.csv"]);
    assert!(!stderr(&o).contains("did you mean"), "{}", stderr(&o));
}
