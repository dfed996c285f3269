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

/// Runs the binary under `umask`, through the shell.
fn with_umask(umask: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .output()
        .expect("sh runs")
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn new_files_get_the_umask_and_old_ones_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir("umask");
    let train = |umask: &str, out: &Path| {
        let o = with_umask(
            umask,
            &["train", "--steps", "2", "--quiet", "--out", s(out)],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    };
    for (umask, want) in [
        ("022", 0o644),
        ("027", 0o640),
        ("077", 0o600),
        ("002", 0o664),
    ] {
        let out = d.join(umask);
        train(umask, &out);
        for f in [
            "model.json",
            "model.safetensors",
            "loss.svg",
            "decision_boundary.svg",
        ] {
            assert_eq!(mode(&out.join(f)), want, "umask {umask}: {f}");
        }
    }
    // an existing file keeps its mode, whatever the umask
    let out = d.join("022");
    std::fs::set_permissions(
        out.join("model.json"),
        std::fs::Permissions::from_mode(0o604),
    )
    .unwrap();
    train("077", &out);
    assert_eq!(mode(&out.join("model.json")), 0o604);
    assert_eq!(mode(&out.join("loss.svg")), 0o644);
    // predictions too
    let csv = d.join("p.csv");
    std::fs::write(&csv, "x1,x2\n0.5,0.5\n").unwrap();
    let pred = d.join("pred.csv");
    let o = with_umask(
        "027",
        &[
            "predict",
            "--model",
            s(&out.join("model.json")),
            s(&csv),
            "--out",
            s(&pred),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&pred), 0o640);
}

#[test]
fn a_dangling_link_is_written_through_and_a_loop_refused() {
    let d = dir("links");
    std::fs::create_dir(d.join("models")).unwrap();
    // a relative link to a file not made yet, in another directory
    let link = d.join("latest.json");
    std::os::unix::fs::symlink("models/m1.json", &link).unwrap();
    let o = common::micrograd(&[
        "train",
        "--steps",
        "2",
        "--quiet",
        "--no-plots",
        "--save",
        s(&link),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let made = d.join("models/m1.json");
    assert!(
        std::fs::read_to_string(&made)
            .unwrap()
            .contains("micrograd-mlp")
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // a chain of links, the last one dangling
    let (a, b) = (d.join("a.safetensors"), d.join("b.safetensors"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(d.join("models/m2.safetensors"), &b).unwrap();
    let o = common::micrograd(&[
        "train",
        "--steps",
        "2",
        "--quiet",
        "--no-plots",
        "--save",
        s(&a),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("models/m2.safetensors").is_file());
    // a loop: refused before training, nothing written
    let (x, y) = (d.join("x.json"), d.join("y.json"));
    std::os::unix::fs::symlink(&y, &x).unwrap();
    std::os::unix::fs::symlink(&x, &y).unwrap();
    let o = common::micrograd(&["train", "--steps", "2", "--no-plots", "--save", s(&x)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: cannot write: the link goes round in a loop",
            s(&x)
        )),
        "{err}"
    );
    assert!(!err.contains("step"), "refused before training: {err}");
}

#[test]
fn predict_takes_impute_and_says_what_it_filled() {
    let d = dir("impute");
    let train = d.join("train.csv");
    let mut rows = String::from("x,colour,y\n");
    for i in 0..40 {
        let colour = if i % 2 == 0 { "red" } else { "blue" };
        let x = f64::from((i * 7) % 13) + 0.5;
        rows += &format!("{x},{colour},{}\n", if i < 20 { "lo" } else { "hi" });
    }
    std::fs::write(&train, &rows).unwrap();
    let new = d.join("new.csv");
    std::fs::write(&new, "x,colour\n3,red\n,blue\nNA,\n30,red\n").unwrap();
    let (plain, imputing) = (d.join("plain.json"), d.join("imputing.json"));
    // three epochs on `train`, saved to `model`, with `extra` flags
    let fit = |model: &Path, extra: &[&str]| {
        let mut args = vec!["train", s(&train), "--target", "y", "--epochs", "3"];
        args.extend(["--quiet", "--no-plots", "--save", s(model)]);
        args.extend(extra);
        let o = common::micrograd(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    // filling is the default; a model trained with --impute none refuses empty cells
    fit(&plain, &["--impute", "none"]);
    fit(&imputing, &[]);
    // the training rows' mean of x: the fill, as the note says
    let mean = {
        let m = micrograd::nn::ModelFile::load(&plain).unwrap();
        match &m.prep.inputs[0] {
            micrograd::data::Input::Numeric { mean, .. } => (mean * 1e6).round() / 1e6,
            other => panic!("{other:?}"),
        }
    };
    // one line per column; colour had no empty cell in training, so no category of its own
    let note = format!(
        "note: filled 2 empty cells in 'x' with the training mean {mean}\n\
         note: filled 1 empty cell in 'colour' with no category (its inputs all 0): \
         the training rows had no empty cell there\n"
    );
    let note = note.as_str();
    let predict = |model: &Path, impute: Option<&str>| {
        let mut args = vec!["predict", "--model", s(model), s(&new)];
        if let Some(i) = impute {
            args.extend(["--impute", i]);
        }
        common::micrograd(&args)
    };
    // a model trained without imputing: an error that suggests the flag...
    let o = predict(&plain, None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("or use --impute mean"),
        "{}",
        stderr(&o)
    );
    // ...which predict takes
    let o = predict(&plain, Some("mean"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(note), "{}", stderr(&o));
    assert_eq!(common::stdout(&o).lines().count(), 5);
    // a model trained imputing: fills, and says so
    let o = predict(&imputing, None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(note), "{}", stderr(&o));
    // the same from safetensors, whose network takes raw numbers: an empty
    // cell is the training mean there too, not a raw 0
    let st = d.join("imputing.safetensors");
    fit(&st, &[]);
    let probabilities = |model: &Path| {
        let o = common::micrograd(&["predict", "--model", s(model), s(&new), "--proba"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains(note), "{}", stderr(&o));
        let p: Vec<f64> = common::stdout(&o)
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
            .collect();
        p
    };
    for (a, b) in probabilities(&imputing).iter().zip(probabilities(&st)) {
        assert!((a - b).abs() < 1e-9, "JSON {a}, safetensors {b}");
    }
    // trained unscaled, a number column is filled with 0, and the note says so
    let unscaled = d.join("unscaled.json");
    fit(&unscaled, &["--impute", "mean", "--no-scale"]);
    let o = predict(&unscaled, None);
    assert!(
        stderr(&o).contains(
            "filled 2 empty cells in 'x' with 0 (the column is not standardised: \
             --no-scale fills 0)"
        ),
        "{}",
        stderr(&o)
    );
    // unless told not to
    let o = predict(&imputing, Some("none"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // rows counted, each line once: the cells are on lines 3 and 4
    assert!(
        stderr(&o).contains("2 rows with empty cells (empty or NA), on lines 3, 4, in columns"),
        "{}",
        stderr(&o)
    );
    // nothing to fill: no note
    let o = common::micrograd(&["predict", "--model", s(&imputing), s(&train)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("filled"), "{}", stderr(&o));
    // a bad value is refused as in train
    let o = predict(&imputing, Some("median"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("expected none or mean"),
        "{}",
        stderr(&o)
    );
}

/// Runs the binary with its stdout a pipe whose reader reads `lines` lines
/// (none: closed at once) and goes: the program ends quietly, as `cat`
/// does, by SIGPIPE (or status 0 if it had written everything already).
fn closed_stdout(args: &[&str], lines: usize) {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let out = child.stdout.take().unwrap();
    let mut reader = std::io::BufReader::new(out);
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "{args:?}: fewer than {lines} lines");
    }
    drop(reader); // the reader goes
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    let code = o.status.code();
    assert!(
        o.status.signal() == Some(13) || matches!(code, Some(0 | 141)),
        "{args:?}: {:?}, {err}",
        o.status
    );
}

#[test]
fn a_closed_stdout_ends_the_program_quietly() {
    let d = dir("pipe");
    let out = s(&d);
    let train = [
        "train",
        "--data",
        "spiral",
        "--steps",
        "5",
        "--no-plots",
        "--out",
        out,
    ];
    closed_stdout(&train, 0);
    closed_stdout(&train, 2);
    closed_stdout(
        &[
            "train",
            "--steps",
            "2",
            "--json",
            "--no-plots",
            "--out",
            out,
        ],
        0,
    );
    closed_stdout(&["grad", "x*y", "x=1", "y=2"], 0);
    closed_stdout(&["grad", "x*y", "x=1", "y=2", "--json"], 1);
    let csv = d.join("p.csv");
    let rows: String = (0..2000).map(|i| format!("{i},{}\n", i % 7)).collect();
    std::fs::write(&csv, format!("x1,x2\n{rows}")).unwrap();
    let model = d.join("model.json");
    let predict = ["predict", "--model", s(&model), s(&csv)];
    closed_stdout(&predict, 0);
    closed_stdout(&predict, 2);
}

/// `st` with its header padded with spaces to `n` bytes.
fn with_header_length(st: &[u8], n: usize) -> Vec<u8> {
    let old = u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
    assert!(old <= n);
    let mut out = (n as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&st[8..8 + old]);
    out.resize(8 + n, b' ');
    out.extend_from_slice(&st[8 + old..]);
    out
}

#[test]
fn safetensors_is_told_from_json_by_its_structure() {
    use micrograd::nn::ModelFile;
    let d = dir("formats");
    let model = d.join("m.safetensors");
    let o = common::micrograd(&[
        "train",
        "--steps",
        "2",
        "--quiet",
        "--no-plots",
        "--save",
        s(&model),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let st = std::fs::read(&model).unwrap();
    let want = ModelFile::load(&model).unwrap().predict(&[0.5, 0.25]);
    let csv = d.join("p.csv");
    std::fs::write(&csv, "x1,x2\n0.5,0.25\n").unwrap();
    // 31 520 is 0x7B20: the file starts with the bytes " {", as JSON may
    for n in [31_520, 31_520 + 65_536, 31_520 + 3 * 65_536] {
        let bytes = with_header_length(&st, n);
        assert_eq!(&bytes[..2], b" {");
        let p = d.join(format!("h{n}.safetensors"));
        std::fs::write(&p, &bytes).unwrap();
        let f = ModelFile::load(&p).unwrap_or_else(|e| panic!("header length {n}: {e}"));
        assert_eq!(f.predict(&[0.5, 0.25]), want);
        // whatever the name
        let renamed = d.join(format!("h{n}.json"));
        std::fs::rename(&p, &renamed).unwrap();
        let o = common::micrograd(&["predict", "--model", s(&renamed), s(&csv)]);
        assert!(o.status.success(), "header length {n}: {}", stderr(&o));
        assert!(
            common::stdout(&o).ends_with(&format!(",{want}\n")),
            "{}",
            common::stdout(&o)
        );
    }
    // and JSON that starts with " {" is still JSON, and a header that
    // runs past the end is not safetensors
    let json = d.join("m.json");
    let o = common::micrograd(&[
        "train",
        "--steps",
        "2",
        "--quiet",
        "--no-plots",
        "--save",
        s(&json),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = format!(" {}", std::fs::read_to_string(&json).unwrap());
    std::fs::write(&json, text).unwrap();
    assert!(ModelFile::load(&json).is_ok());
    let mut cut = with_header_length(&st, 31_520);
    cut.truncate(8 + 31_519);
    let p = d.join("cut.safetensors");
    std::fs::write(&p, &cut).unwrap();
    let e = ModelFile::load(&p).unwrap_err().to_string();
    assert!(e.contains("not valid JSON"), "{e}");
}

/// Runs the command with its stderr a pipe whose reader has gone.
fn closed_stderr(args: &[&str]) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take()); // the reader goes before anything is written
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stderr_drops_the_messages_and_the_work_goes_on() {
    let d = dir("stderr");
    let out = d.join("run");
    let o = closed_stderr(&[
        "train",
        "--data",
        "spiral",
        "--steps",
        "5",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{:?}", o.status);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("trained 5 steps"), "{text}");
    assert!(out.join("model.json").exists() && out.join("loss.svg").exists());
    // a refusal still exits with its status
    let o = closed_stderr(&["train", "--data", "mnist"]);
    assert_eq!(o.status.code(), Some(2));
}
