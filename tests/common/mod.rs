//! Fixtures shared by the integration tests (each test file uses what it needs).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use micrograd::Value;

/// The neuron of seeds 001 and 002, built as the notebooks build it, with
/// bias `b`: returns `[o, x1, x2, w1, w2, b]`.
pub fn seed_neuron(b: f64) -> [Value; 6] {
    let x1 = Value::new(2.0).with_label("x1");
    let x2 = Value::new(0.0).with_label("x2");
    let w1 = Value::new(-3.0).with_label("w1");
    let w2 = Value::new(1.0).with_label("w2");
    let b = Value::new(b).with_label("b");
    let x1w1 = (x1 * w1).with_label("x1*w1");
    let x2w2 = (x2 * w2).with_label("x2*w2");
    let x1w1x2w2 = (x1w1 + x2w2).with_label("x1*w1 + x2*w2");
    let n = (x1w1x2w2 + b).with_label("n");
    let o = n.tanh().with_label("o");
    [o, x1, x2, w1, w2, b]
}

/// The seeds' bias, 6.8813735870195432, chosen so that o = 1/√2.
pub const SEED_B: f64 = 6.881_373_587_019_543;

/// `n` proptest cases, or `PROPTEST_CASES` of them for a longer run.
pub fn cases(n: u32) -> proptest::prelude::ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(n);
    proptest::prelude::ProptestConfig::with_cases(n)
}

/// Runs the `micrograd` binary with `args`.
pub fn micrograd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// What a run printed on stdout.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a run printed on stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory for one test under cargo's `target/tmp`, named after the
/// test file and `name`, removed with everything in it when the value is
/// dropped (at the end of the test, passed or failed).
pub fn dir(name: &str) -> Scratch {
    let prefix = format!("micrograd-{}-{name}-", env!("CARGO_CRATE_NAME"));
    Scratch(
        tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a temp directory"),
    )
}

/// A test's own directory (see [`dir`]): derefs to its `Path`.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// A path as the `&str` a command line takes.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
