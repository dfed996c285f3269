//! README's commands work as pasted, and print what README says they print.
//!
//! Every ```` ```sh ```` block of README.md and data/README.md is read line by
//! line and each `cargo run --release [-- ARGS]` or `micrograd ARGS` command is
//! run with this build's binary, in a fresh folder where `data/` is the
//! repository's (so `out/` lands there, as in a clone). Each must exit 0.
//! A ```` ```text ```` block that follows such a run is its output as README
//! shows it: each of its lines (but `...` lines, and with times in seconds
//! masked) must be a line the run printed. A text block that starts with
//! `$ micrograd ...` is a command and its output in one.
//!
//! Commands this test does not run are listed in [`SKIPPED`] with the test
//! that covers them; any other command fails the test, so a new README
//! command is either run here or named there.

mod common;

use std::path::Path;
use std::process::Command;

/// Commands README shows that run elsewhere, and where.
const SKIPPED: &[(&str, &str)] = &[
    ("./test", "it is what runs this test"),
    ("cargo run --release -- serve", "a server: tests/serve.rs"),
    ("pip install ./python", "./test installs the package so"),
    ("python -c", "python/tests"),
    (
        "python torch_model/train.py",
        "python/tests/test_pytorch_export.py",
    ),
    ("torchrun", "python/tests/test_pytorch_export.py"),
    ("tools/build_site.sh", "./test; tests/browser/test_site.py"),
];

#[test]
fn readme_commands_run_as_pasted_and_print_what_readme_shows() {
    for doc in ["README.md", "data/README.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let ran = run_blocks(doc, &text);
        assert!(ran >= 2, "{doc}: only {ran} commands found to run");
    }
}

#[test]
fn the_checker_notices_a_line_the_run_did_not_print() {
    let readme = "```sh\nmicrograd grad x*y x=2 y=3\n```\n\n```text\nx*y = 6\n  d/dx = 4\n```\n";
    let err = std::panic::catch_unwind(|| run_blocks("fake.md", readme)).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("d/dx = 4"), "{msg}");
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a document's blocks in order; returns how many commands ran.
fn run_blocks(doc: &str, text: &str) -> usize {
    let dir = common::dir("readme");
    std::os::unix::fs::symlink(root().join("data"), dir.join("data")).unwrap();
    let mut last: Option<(String, String)> = None; // (command, what it printed)
    let mut ran = 0;
    for (lang, lines) in blocks(text) {
        match lang.as_str() {
            "sh" => {
                for line in &lines {
                    if let Some(args) = command(doc, line) {
                        last = Some((line.clone(), run(doc, &dir, line, &args)));
                        ran += 1;
                    }
                }
            }
            "text" if lines.first().is_some_and(|l| l.starts_with("$ micrograd ")) => {
                let line = &lines[0][2..];
                let args = words(&line["micrograd ".len()..]);
                let out = run(doc, &dir, line, &args);
                shows(doc, line, &out, &lines[1..]);
                ran += 1;
            }
            "text" => {
                if let Some((line, out)) = last.take() {
                    shows(doc, &line, &out, &lines);
                }
            }
            _ => {}
        }
    }
    ran
}

/// The fenced blocks: (language, lines with the fence's indent removed).
fn blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, Vec<String>)> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(lang)) => open = Some((indent, lang.trim().to_string(), Vec::new())),
            (Some(_), Some(_)) => {
                let (_, lang, lines) = open.take().unwrap();
                out.push((lang, lines));
            }
            (Some((indent, _, lines)), None) => {
                lines.push(line.get(*indent..).unwrap_or("").trim_end().to_string());
            }
            (None, None) => {}
        }
    }
    out
}

/// A shell line's arguments for the binary, or None for a line run elsewhere.
fn command(doc: &str, line: &str) -> Option<Vec<String>> {
    let line = line.split("  #").next().unwrap().trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    if let Some((_, why)) = SKIPPED.iter().find(|(c, _)| line.starts_with(c)) {
        assert!(!why.is_empty());
        return None;
    }
    if line == "cargo run --release" {
        return Some(Vec::new());
    }
    let rest = line
        .strip_prefix("cargo run --release -- ")
        .or_else(|| line.strip_prefix("micrograd "));
    match rest {
        Some(rest) => Some(words(rest)),
        None => panic!(
            "{doc}: `{line}`: not a command this test knows: run it here or add it to SKIPPED"
        ),
    }
}

/// Splits a command line into words: spaces, with "double" or 'single' quotes.
fn words(s: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in s.chars() {
        match (quote, c) {
            (None, '"' | '\'') => (quote, any) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            _ => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// Runs the binary in `dir`; returns stdout and stderr together.
fn run(doc: &str, dir: &Path, line: &str, args: &[String]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let all = format!("{}{}", common::stdout(&o), common::stderr(&o));
    assert!(
        o.status.success(),
        "{doc}: `{line}` failed ({}):\n{all}",
        o.status
    );
    all
}

/// Every line README shows (but `...`) is a line of the output.
fn shows(doc: &str, line: &str, out: &str, expected: &[String]) {
    let printed: Vec<String> = out.lines().map(|l| mask(l.trim_end())).collect();
    for want in expected
        .iter()
        .filter(|l| !l.trim().is_empty() && !l.contains("..."))
    {
        assert!(
            printed.contains(&mask(want)),
            "{doc}: `{line}` did not print the line README shows:\n  {want}\nit printed:\n{out}"
        );
    }
}

/// A line with its times (`0.088 s`, and every number of the `time:` line)
/// written as `T`: they change run to run.
fn mask(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    if line.starts_with("time:") {
        let number = |w: &str| w.trim_end_matches(',').parse::<f64>().is_ok();
        return words
            .iter()
            .map(|w| if number(w) { "T" } else { w })
            .collect::<Vec<_>>()
            .join(" ");
    }
    let timed = |k: usize| {
        words
            .get(k + 1)
            .is_some_and(|w| *w == "s" || w.starts_with("s,") || w.starts_with("s)"))
            && words[k].parse::<f64>().is_ok()
    };
    (0..words.len())
        .map(|k| if timed(k) { "T" } else { words[k] })
        .collect::<Vec<_>>()
        .join(" ")
}
