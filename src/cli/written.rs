//! What `micrograd train` writes: the pictures and the model files.

use super::out::errln;
use std::path::{Path, PathBuf};

use micrograd::nn::{ModelFile, Scorer};
use micrograd::train::{DataKind, Importance, Scores};
use micrograd::viz::Curves;

use super::train::Loaded;
use super::{Failure, TrainArgs};

/// Says which pictures in --out this run did not write: they are an
/// earlier run's, and would otherwise read as this one's.
pub(super) fn note_earlier_pictures(a: &TrainArgs, written: &[PathBuf]) {
    if a.no_plots {
        return;
    }
    for name in ["loss", "decision_boundary", "confusion", "importance"] {
        for ext in ["svg", "png"] {
            let p = a.out.join(format!("{name}.{ext}"));
            if p.is_file() && !written.contains(&p) {
                errln!(
                    "note: {} is from an earlier run (this one draws no {name} picture)",
                    p.display()
                );
            }
        }
    }
}

/// Writes both model files from this run, or neither: each is made first,
/// then all are renamed into place together.
pub(super) fn write_models(file: &ModelFile, paths: Vec<PathBuf>) -> Result<Vec<PathBuf>, Failure> {
    let bytes = paths
        .iter()
        .map(|p| {
            file.to_bytes(p)
                .map_err(|m| Failure::input(format!("{}: {m}", p.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let files: Vec<(&Path, &[u8])> = paths
        .iter()
        .zip(&bytes)
        .map(|(p, b)| (p.as_path(), b.as_slice()))
        .collect();
    micrograd::files::write_all(&files).map_err(Failure::input)?;
    Ok(paths)
}

/// The loss curves, the decision boundary (2 features), the confusion
/// matrix (classes), the columns' importance: each as SVG and PNG. The
/// boundary's grid is run by `scorer`, the run's own (of `file`'s model).
pub(super) fn write_pictures(
    a: &TrainArgs,
    d: &Loaded,
    file: &ModelFile,
    curves: &Curves,
    last: &Scores,
    importance: Option<&Importance>,
    scorer: &mut Scorer,
) -> Result<Vec<PathBuf>, Failure> {
    let mut written = Vec::new();
    if a.no_plots {
        return Ok(written);
    }
    let both = |name: &str, draw: &dyn Fn(&Path) -> Result<(), micrograd::viz::VizError>| {
        ["svg", "png"]
            .iter()
            .map(|ext| {
                let p = a.out.join(format!("{name}.{ext}"));
                draw(&p).map_err(Failure::input).map(|()| p)
            })
            .collect::<Result<Vec<_>, _>>()
    };
    written.extend(both("loss", &|p| micrograd::viz::plot_history(p, curves))?);
    let classes = d.train.nclasses();
    if d.train.nfeatures() == 2 && classes > 0 {
        // the grid's classes, as one batch, once: the SVG and the PNG share the grid
        let grid = std::cell::OnceCell::new();
        let scorer = std::cell::RefCell::new(scorer);
        let predict = |points: &[[f64; 2]]| {
            let classes = grid.get_or_init(|| {
                let outs = scorer.borrow_mut().outputs(points);
                let each = outs.iter().map(|o| file.loss.predict(o, classes));
                each.collect::<Vec<f64>>()
            });
            classes.clone()
        };
        written.extend(both("decision_boundary", &|p| {
            let (train, test) = (&d.train, d.test.as_ref());
            micrograd::viz::plot_decision_boundary_many(p, train, test, predict, 100)
        })?);
    }
    if let Some(c) = &last.confusion
        && d.kind == DataKind::Table
    {
        written.extend(both("confusion", &|p| {
            micrograd::viz::plot_confusion(p, c)
        })?);
    }
    if let Some(i) = importance {
        written.extend(both("importance", &|p| {
            micrograd::viz::plot_importance(p, i)
        })?);
    }
    Ok(written)
}
