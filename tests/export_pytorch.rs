//! `micrograd export --pytorch DIR`: what it writes for a table's model, and
//! its errors. (The script's predictions and training are checked against
//! PyTorch in python/tests/test_pytorch_export.py, which ./test runs.)

mod common;

use common::{dir, micrograd, s, stderr};
use micrograd::nn::ModelFile;

/// Runs and expects exit status 2 with `want` in the message.
fn bad_input(args: &[&str], want: &str) {
    let o = micrograd(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
}

const TABLE: &str = "size,colour,label\n1.5,red,a\n,blue,b\n3,,a\n2,red,b\n0.5,blue,a\n\
                     2.5,red,b\n1,,a\n3.5,blue,b\n0,red,a\n4,blue,b\n";

#[test]
fn a_tables_model_becomes_a_script_its_spec_and_the_weights_micrograd_reads() {
    let d = dir("export");
    let csv = d.join("t.csv");
    std::fs::write(&csv, TABLE).unwrap();
    let out = d.join("out");
    let o = micrograd(&[
        "train",
        s(&csv),
        "--target",
        "label",
        "--cv",
        "0",
        "--epochs",
        "3",
        "--quiet",
        "--no-plots",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = out.join("model.json");
    let torch = d.join("torch");
    let o = micrograd(&["export", "--pytorch", s(&torch), "--model", s(&model)]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["train.py", "spec.json", "model.safetensors"] {
        let p = torch.join(name);
        assert!(
            stderr(&o).contains(&format!("wrote {}", p.display())),
            "{}",
            stderr(&o)
        );
    }

    let script = std::fs::read_to_string(torch.join("train.py")).unwrap();
    assert_eq!(script, micrograd::nn::io::TRAIN_PY);
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(torch.join("spec.json")).unwrap()).unwrap();
    assert_eq!(spec["columns"][0]["column"], "size");
    assert_eq!(spec["columns"][0]["kind"], "number");
    assert!(spec["columns"][0]["std"].as_f64().unwrap() > 0.0);
    assert_eq!(spec["columns"][1]["column"], "colour");
    let cats = spec["columns"][1]["categories"].as_array().unwrap();
    assert_eq!(cats[0], "(empty)", "{cats:?}");
    assert_eq!(spec["empty_cells"], "fill");
    assert_eq!(spec["target"]["classes"], serde_json::json!(["a", "b"]));
    assert_eq!(spec["loss"], "xent");
    assert_eq!(spec["layers"][0]["inputs"], 1 + cats.len());
    assert_eq!(spec["layers"][0]["activation"], "relu");
    assert_eq!(spec["layers"][1]["outputs"], 2);

    // the weights are the model's safetensors, byte for byte
    let file = ModelFile::load(&model).unwrap();
    let st = std::fs::read(torch.join("model.safetensors")).unwrap();
    assert_eq!(st, file.to_safetensors().unwrap());
    let a = micrograd(&["predict", s(&model), s(&csv), "--proba"]);
    let b = micrograd(&[
        "predict",
        s(&torch.join("model.safetensors")),
        s(&csv),
        "--proba",
    ]);
    assert_eq!(common::stdout(&a).lines().count(), 11);
    let labels = |o: &std::process::Output| -> Vec<String> {
        common::stdout(o)
            .lines()
            .map(|l| l.split(',').nth(3).unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(labels(&a), labels(&b));

    // again into the same folder: replaced, not refused
    let o = micrograd(&["export", "--pytorch", s(&torch), "--model", s(&model)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn export_without_an_output_or_with_a_bad_model_or_folder_says_what_and_where() {
    let d = dir("bad");
    bad_input(
        &["export", "--model", "out/model.json"],
        "export: nothing to write: name an output: --onnx FILE",
    );
    bad_input(&["export", "--pytorch", s(&d)], "--model <FILE>");
    bad_input(
        &[
            "export",
            "--pytorch",
            s(&d.join("t")),
            "--model",
            "no/such/model.json",
        ],
        "no/such/model.json: cannot read",
    );
    let not_ours = d.join("other.json");
    std::fs::write(&not_ours, "{\"a\": 1}").unwrap();
    bad_input(
        &[
            "export",
            "--pytorch",
            s(&d.join("t")),
            "--model",
            s(&not_ours),
        ],
        "not a micrograd model",
    );
    bad_input(
        &["export", "--pytorch", s(&d.join("t")), "--model", s(&d)],
        "is a directory",
    );
    assert!(
        !d.join("t").exists(),
        "nothing is made for a model not read"
    );

    let model = d.join("model.json");
    let o = micrograd(&[
        "train",
        "--steps",
        "2",
        "--quiet",
        "--no-plots",
        "--save",
        s(&model),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = d.join("a_file");
    std::fs::write(&file, "x").unwrap();
    bad_input(
        &["export", "--pytorch", s(&file), "--model", s(&model)],
        "a_file: exists and is not a folder",
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}
