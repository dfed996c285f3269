//! What an adversary (or an unlucky user) does: special files and links as
//! outputs, interrupts, graphs too tangled to lay out, files without end,
//! numbers that overflow, labels that are no class, and random command lines.

mod common;

use common::{dir, micrograd, s, stderr};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use micrograd::data::moons;
use micrograd::train::evaluate;
use micrograd::{Activation, Loss, MLP, Value};

fn no_temporaries(d: &Path) {
    let left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
}

#[test]
fn saving_never_replaces_a_device_a_directory_or_a_link() {
    use std::os::unix::fs::FileTypeExt;
    let d = dir("save");
    // a device: refused before training, and still a device
    let o = micrograd(&["--save", "/dev/null", "--out", s(&d), "--no-plots"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/dev/null: cannot write: this is a device, not a file"));
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // a link: written through; the link stays, the file keeps its mode
    let real = d.join("real.json");
    std::fs::write(&real, "{}").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = d.join("model.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = micrograd(&["--save", s(&link), "--out", s(&d), "--no-plots", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("micrograd-mlp")
    );
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    no_temporaries(&d);
}

#[test]
fn ctrl_c_leaves_no_temporary_file() {
    let d = dir("interrupt");
    let child = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args([
            "train",
            "--data",
            "spiral",
            "--steps",
            "100000000",
            "--quiet",
            "--out",
            s(&d),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"));
    no_temporaries(&d);
    assert!(!d.join("model.json").exists());
}

#[test]
fn a_graph_too_tangled_to_lay_out_is_refused_at_once() {
    let d = dir("tangle");
    let expr = vec!["x"; 100].join("+");
    let t = Instant::now();
    let o = micrograd(&["grad", &expr, "x=1", "--svg", s(&d.join("g.svg"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        stderr(&o).contains("too tangled to lay out"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--dot"), "{}", stderr(&o));
    // the DOT is still written: Graphviz lays it out
    let o = micrograd(&["grad", &expr, "x=1", "--dot", s(&d.join("g.dot"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    // a long chain without sharing is fine
    let chain = format!("{}x{}", "tanh(".repeat(150), ")".repeat(150));
    let o = micrograd(&["grad", &chain, "x=1", "--svg", s(&d.join("c.svg"))]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn evaluation_memory_is_bounded_by_a_chunk_not_the_data() {
    // a fresh thread: its tape's capacity is the most it ever held
    std::thread::spawn(|| {
        let ds = moons(40_000, 0.1, 1);
        let model = MLP::builder(2, &[16, 16, 1])
            .hidden(Activation::Relu)
            .output(Activation::Linear)
            .seed(1)
            .build();
        let e = evaluate(&model, &ds, Loss::Svm);
        assert_eq!(e.predictions.len(), 40_000);
        let held = micrograd::stats().bytes_allocated;
        // the whole set's graph would be about 40 000 × 40 nodes × 30 bytes = 48 MB
        assert!(held < 8 << 20, "the tape grew to {held} bytes");
    })
    .join()
    .unwrap();
}

#[test]
fn reads_without_end_are_refused() {
    for args in [
        vec!["train", "--data", "/dev/zero", "--target", "y"],
        vec!["predict", "--model", "/dev/zero", "--data", "x.csv"],
    ] {
        let t = Instant::now();
        let o = micrograd(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("/dev/zero: cannot read: this is a device, not a regular file"),
            "{}",
            stderr(&o)
        );
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn numbers_that_overflow_or_are_not_numbers_are_named() {
    let d = dir("numbers");
    let o = micrograd(&[
        "--epochs",
        "3689348814741910324",
        "--batch-size",
        "20",
        "--out",
        s(&d),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--epochs 3689348814741910324"),
        "{}",
        stderr(&o)
    );
    // a numeric target with one inf and one NaN: regression says which cells
    let csv = d.join("t.csv");
    let mut text = String::from("x,y\n");
    for i in 0..30 {
        let y = match i {
            7 => "inf".to_string(),
            11 => "NaN".to_string(),
            _ => format!("{}.5", i * 3),
        };
        text += &format!("{},{y}\n", i * 2);
    }
    std::fs::write(&csv, text).unwrap();
    // NaN is an empty target: its row is left out (line 13), and inf is named
    let o = micrograd(&["train", "--data", s(&csv), "--target", "y", "--out", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains(":9, column 'y': 'inf' is not a finite number (the task is regression)")
            && !stderr(&o).contains("line 13"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(&csv).unwrap().replace("NaN", "1.5");
    std::fs::write(&csv, text).unwrap();
    let o = micrograd(&["train", "--data", s(&csv), "--target", "y", "--out", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains(":9, column 'y': 'inf' is not a finite number (the task is regression)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn predict_quotes_what_csv_needs_quoted() {
    let d = dir("quote");
    let csv = d.join("t.csv");
    let mut text = String::from("\"x,1\",\"say \"\"hi\"\"\",label\n");
    for i in 0..40 {
        text += &format!(
            "{},{},\"{}\"\n",
            i % 7,
            i % 3,
            if i % 2 == 0 { "a, b" } else { "c" }
        );
    }
    std::fs::write(&csv, &text).unwrap();
    let model = d.join("m.json");
    let o = micrograd(&[
        "train",
        "--data",
        s(&csv),
        "--target",
        "label",
        "--save",
        s(&model),
        "--no-plots",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = micrograd(&["predict", "--model", s(&model), "--data", s(&csv)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, ["x,1", "say \"hi\"", "label", "predicted_label"]);
    for rec in r.records() {
        let rec = rec.unwrap();
        assert_eq!(rec.len(), 4);
        assert!(["a, b", "c"].contains(&&rec[3]), "{rec:?}");
    }
}

#[test]
fn a_model_file_with_a_byte_order_mark_or_white_space_loads() {
    let d = dir("bom");
    let model = d.join("m.json");
    let o = micrograd(&["--save", s(&model), "--out", s(&d), "--no-plots", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&model).unwrap();
    let csv = d.join("p.csv");
    std::fs::write(&csv, "x1,x2\n0.5,0.5\n").unwrap();
    for prefix in ["\u{feff}", "\n  \t", "\u{feff}\r\n"] {
        std::fs::write(&model, format!("{prefix}{text}")).unwrap();
        let o = micrograd(&["predict", "--model", s(&model), "--data", s(&csv)]);
        assert!(o.status.success(), "{prefix:?}: {}", stderr(&o));
    }
}

#[test]
fn a_loss_given_labels_that_are_no_class_says_so() {
    let out = vec![vec![Value::new(0.1), Value::new(0.2)]; 2];
    for (y, want) in [
        (
            vec![0.0, -1.0],
            "sample 1: target -1 is not a class index from 0 to 1",
        ),
        (
            vec![f64::NAN, 1.0],
            "sample 0: target NaN is not a class index",
        ),
        (vec![0.0, 2.0], "sample 1: target 2 is not a class index"),
        (vec![0.5, 1.0], "sample 0: target 0.5 is not a class index"),
    ] {
        let e = Loss::CrossEntropy.check_batch(&out, &y, 2).unwrap_err();
        assert!(e.contains(want), "{e}");
        let caught = std::panic::catch_unwind(|| Loss::CrossEntropy.compute(&out, &y, 2));
        let msg = caught.unwrap_err();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("micrograd: loss xent:") && msg.contains(want),
            "{msg}"
        );
    }
    // too few outputs is an error, not a loss of 0
    let e = Loss::CrossEntropy
        .check_batch(&[vec![Value::new(1.0)]], &[0.0], 3)
        .unwrap_err();
    assert_eq!(
        e,
        "sample 0: 1 model outputs, loss xent with 3 classes needs 3"
    );
    assert!(Loss::Mse.check_batch(&[], &[1.0], 0).is_err());
}

mod fuzz {
    use super::*;
    use crate::common::cases;
    use proptest::prelude::*;

    /// Flags and values an adversary tries: valid ones, out of range,
    /// not numbers, special files. Every run is short or refused.
    fn flag() -> impl Strategy<Value = Vec<String>> {
        let v = |xs: &[&str]| {
            prop::sample::select(xs.iter().map(|x| x.to_string()).collect::<Vec<_>>())
        };
        prop_oneof![
            (
                Just("--data"),
                v(&[
                    "moons",
                    "xor",
                    "toy",
                    "spiral",
                    "circles",
                    "nope",
                    "/dev/zero",
                    "/",
                    "",
                    "FIXTURE"
                ])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--target"), v(&["y", "label", "x1", ""])).prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--layers"),
                v(&["4", "0", "4097", "3,3", "x", "", ",", "2,,2", "none"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--steps"),
                v(&["0", "1", "7", "-1", "abc", "18446744073709551615", "1e3"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--epochs"),
                v(&["0", "1", "2", "3689348814741910324", "-5"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--batch-size"),
                v(&["0", "1", "3", "18446744073709551615", "x"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--lr"),
                v(&["NaN", "inf", "-1", "0", "0.1", "1e308", "1e-300"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--alpha"), v(&["NaN", "-1", "0", "1e9"])).prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--loss"), v(&["svm", "bce", "xent", "mse", "hinge2"]))
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--optimizer"),
                v(&["sgd", "adam", "momentum", "rmsprop"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--activation"),
                v(&["relu", "tanh", "sigmoid", "linear", "gelu"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--init"),
                v(&["he", "xavier", "micrograd", "uniform", "zeros"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--test-fraction"),
                v(&["0", "0.5", "1", "-0.1", "NaN"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--valid-fraction"), v(&["0", "0.3", "1", "NaN"]))
                .prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--patience"), v(&["0", "1", "-1"])).prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--seed"), v(&["0", "18446744073709551615", "-1"]))
                .prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--save"),
                v(&[
                    "/dev/null",
                    "/",
                    "/no/dir/m.json",
                    "OUT/m.safetensors",
                    "OUT/m.json"
                ])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--features"), v(&["a", "", "a,a", "label"]))
                .prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--drop"), v(&["a", "label", "zzz"])).prop_map(|(f, x)| vec![f.into(), x]),
            (Just("--impute"), v(&["mean", "median"])).prop_map(|(f, x)| vec![f.into(), x]),
            (
                Just("--task"),
                v(&["auto", "regression", "classification", "clustering"])
            )
                .prop_map(|(f, x)| vec![f.into(), x]),
            v(&[
                "--no-scale",
                "--json",
                "--no-plots",
                "--bogus",
                "-q",
                "predict",
                "grad"
            ])
            .prop_map(|x| vec![x]),
        ]
    }

    proptest! {
        #![proptest_config(cases(48))]

        /// Random command lines: an answer, never a panic, a hang or another exit status.
        #[test]
        fn random_command_lines_never_panic(flags in prop::collection::vec(flag(), 0..6)) {
            let d = dir("fuzz");
            let fixture = d.join("t.csv");
            let mut text = String::from("a,b,label\n");
            for i in 0..30 {
                text += &format!("{},{},{}\n", i % 5, (i * 7) % 11, if i % 3 == 0 { "p" } else { "q" });
            }
            std::fs::write(&fixture, text).unwrap();
            let mut args: Vec<String> = vec!["train".into()];
            for f in flags.into_iter().flatten() {
                args.push(f.replace("FIXTURE", s(&fixture)).replace("OUT", s(&d)));
            }
            args.extend(["--out".into(), s(&d).into(), "--quiet".into()]);
            let t = Instant::now();
            let o = Command::new(env!("CARGO_BIN_EXE_micrograd")).args(&args).output().unwrap();
            let err = stderr(&o);
            prop_assert!(!err.contains("panicked"), "{args:?}: {err}");
            prop_assert!(matches!(o.status.code(), Some(0..=2)), "{args:?}: {:?} {err}", o.status);
            prop_assert!(t.elapsed() < Duration::from_secs(30), "{args:?} took {:?}", t.elapsed());
            prop_assert!(err.len() < 4000, "{args:?}: {} bytes of message", err.len());
        }
    }
}
