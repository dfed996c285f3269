//! `micrograd train`'s cross-validation: whether to run it (the library
//! decides), the folds with a line each, and what the summary says of the
//! model saved after them.

use super::out::errln;
use std::path::PathBuf;
use std::time::Instant;

use micrograd::data::{Folded, PrepOptions, Table};
use micrograd::train::{CrossValidation, CvError, CvPlan, CvSetup, Holdout, cross_validate};

use super::{Failure, TrainArgs};

/// A table to cross-validate, and how.
pub(super) struct Pending {
    pub(super) plan: CvPlan,
    pub(super) table: Table,
    pub(super) target: String,
    pub(super) opts: PrepOptions,
}

/// Whether to cross-validate `table`, from the flags (see [`CvPlan::choose`]).
pub(super) fn plan(a: &TrainArgs, table: &Table, target: &str) -> Result<Option<CvPlan>, Failure> {
    let holdout = Holdout {
        cv: a.cv,
        test_fraction: a.test_fraction,
        test_data: a.test_data.is_some(),
    };
    CvPlan::for_table(table, target, &holdout).map_err(Failure::input)
}

/// The folds, each trained and scored, with a line each on stderr unless
/// `quiet`; and the seconds they took.
pub(super) fn run(
    a: &TrainArgs,
    p: &Pending,
    quiet: bool,
) -> Result<(CrossValidation, f64), Failure> {
    let started = Instant::now();
    let k = p.plan.folds;
    let folded = Folded::new(&p.table, &p.target, &p.opts, k, a.seed).map_err(Failure::input)?;
    if !quiet {
        errln!(
            "cross-validation: the recipe above trained {k} times, each time on {} of {k} \
             folds{} and tested on the fold left out",
            k - 1,
            if folded.class_counts.is_empty() {
                ""
            } else {
                " (each fold holding every class in proportion)"
            }
        );
    }
    let setup = CvSetup {
        choices: a.choices(),
        class_weight: a.class_weight,
        seed: a.seed,
    };
    let cv = cross_validate(&folded, &setup, |f| {
        if !quiet {
            errln!("{}", f.line(k));
        }
    })
    .map_err(|e| failure(e, a))?;
    if !quiet {
        for n in &cv.notes {
            errln!("note: {n}");
        }
        errln!(
            "final model: the recipe above on all {} rows, to save",
            folded.rows()
        );
    }
    Ok((cv, started.elapsed().as_secs_f64()))
}

/// A fold's failure as the command reports it.
fn failure(e: CvError, a: &TrainArgs) -> Failure {
    match e {
        CvError::Diverged {
            fold,
            divergence,
            recipe,
        } => {
            let f = super::train::diverged(&divergence, &recipe, a);
            Failure::run(format!("cross-validation fold {}: {}", fold + 1, f.message))
        }
        CvError::Recipe(r) => super::train::refused(r),
        other => Failure::input(other),
    }
}

/// The summary's line on the model saved: trained on all `rows` rows
/// (`valid` of them to stop early, and with `refit` trained on again once
/// they had chosen the epochs), its scores the folds'; which model the
/// pictures in `written` show.
pub(super) fn saved(rows: usize, valid: usize, refit: bool, written: &[PathBuf]) -> String {
    let stop = match (valid, refit) {
        (0, _) => String::new(),
        (_, false) => format!(" ({valid} of them to stop early)"),
        (_, true) => format!(" ({valid} of them chose the epochs, then it trained again on all)"),
    };
    let drew = |name: &str| written.iter().any(|p| p.ends_with(name));
    let pictures = match (drew("loss.svg"), drew("confusion.svg")) {
        (true, true) => "; loss.svg shows its training, confusion.svg the folds' test rows",
        (true, false) => "; loss.svg shows its training",
        _ => "",
    };
    format!(
        "the model saved was trained on all {rows} rows{stop} after the folds: its test \
         scores are the folds' above{pictures}"
    )
}
