//! The command's inputs and outputs as files: what is refused at once (a
//! pipe given as a file), how formats are told apart, how output files are
//! made, and how a closed stdout ends the program.

mod common;

use common::{dir, s, stderr};

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with `args`, killing it (and failing) if it has not
/// ended within `secs` seconds: for inputs that used to hang.
fn run_within(secs: u64, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(p: &Path) {
    let made = Command::new("mkfifo").arg(p).status().expect("mkfifo runs");
    assert!(made.success());
}

#[test]
fn a_pipe_as_an_input_file_is_refused_at_once() {
    let d = dir("fifo");
    let fifo = d.join("in.csv");
    mkfifo(&fifo);
    let csv = d.join("t.csv");
    std::fs::write(&csv, "x,y\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n").unwrap();
    let model = d.join("m.json");
    let trained = run_within(
        60,
        &[
            "train",
            s(&csv),
            "--target",
            "y",
            "--no-plots",
            "--quiet",
            "--save",
            s(&model),
        ],
    );
    assert!(trained.status.success(), "{}", stderr(&trained));
    let f = s(&fifo);
    let runs: [&[&str]; 4] = [
        &["train", "--data", f, "--target", "y"],
        &[
            "train",
            s(&csv),
            "--target",
            "y",
            "--test-data",
            f,
            "--no-plots",
        ],
        &["predict", "--model", f, s(&csv)],
        &["predict", "--model", s(&model), "--data", f],
    ];
    for args in runs {
        let o = run_within(20, args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "{f}: cannot read: this is a pipe, not a regular file"
            )),
            "{args:?}: {err}"
        );
    }
}
