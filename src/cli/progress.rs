//! `micrograd train`'s progress while training: a bar on a terminal, a
//! line every tenth of the run otherwise.

use super::out::errln;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use micrograd::train::StepReport;
use micrograd::viz::fmt_num;

/// Prints progress while training: a bar on a terminal, a line every tenth
/// of the run otherwise, nothing with --quiet or --json.
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    every: usize,
    steps: usize,
    quiet: bool,
}

impl Progress {
    pub(super) fn new(steps: usize, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = ProgressBar::new(steps as u64);
            pb.set_style(
                ProgressStyle::with_template(
                    "{bar:32.cyan/blue} {pos:>5}/{len} {msg} [{elapsed_precise}]",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            pb
        });
        Progress {
            bar,
            every: (steps / 10).max(1),
            steps,
            quiet,
        }
    }

    pub(super) fn step(&self, r: &StepReport) {
        let mut msg = format!("loss {}", fmt_num(r.loss));
        if r.loss != r.data_loss {
            msg += &format!(" (data {} + L2)", fmt_num(r.data_loss));
        }
        if let Some(a) = r.accuracy {
            msg += &format!(", accuracy {:5.1}%", a * 100.0);
        }
        if let Some(v) = r.valid_loss {
            msg += &format!(", valid loss {}", fmt_num(v));
        }
        if let Some(pb) = &self.bar {
            pb.set_message(msg);
            pb.inc(1);
        } else if !self.quiet && ((r.step + 1).is_multiple_of(self.every) || r.step == 0) {
            errln!("step {:>5}/{} {msg}", r.step + 1, self.steps);
        }
    }

    pub(super) fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}
