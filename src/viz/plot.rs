//! Training pictures: loss and accuracy per step, and a 2-D decision boundary.
//! SVG through plotters, with no system fonts or libraries needed.

use std::path::Path;

use plotters::prelude::*;

use super::{VizError, write_atomic};
use crate::data::Dataset;

fn err(e: impl std::fmt::Display) -> VizError {
    VizError::Io(format!("drawing failed: {e}"))
}

/// Colours of the classes: fill for regions, stroke for points.
const CLASS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Loss (and accuracy, if given) per step, as an SVG file.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("mg-doc-plot-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let loss = [1.0, 0.5, 0.25, 0.2];
/// let acc = [0.5, 0.75, 1.0, 1.0];
/// micrograd::viz::plot_history(&dir.join("loss.svg"), &loss, Some(&acc), None).unwrap();
/// let svg = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
/// assert!(svg.contains("<svg") && svg.contains("loss"));
/// ```
pub fn plot_history(
    path: &Path,
    loss: &[f64],
    accuracy: Option<&[f64]>,
    test_accuracy: Option<&[f64]>,
) -> Result<(), VizError> {
    let mut svg = String::new();
    {
        let width = if accuracy.is_some() { 1100 } else { 600 };
        let root = SVGBackend::with_string(&mut svg, (width, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let panels = if accuracy.is_some() {
            root.split_evenly((1, 2))
        } else {
            vec![root.clone()]
        };

        let finite: Vec<f64> = loss.iter().copied().filter(|v| v.is_finite()).collect();
        let (lo, hi) = finite
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (lo, hi) = if lo.is_finite() {
            (lo.min(0.0), hi.max(lo + 1e-9))
        } else {
            (0.0, 1.0)
        };
        let n = loss.len().max(2) as f64;
        let mut chart = ChartBuilder::on(&panels[0])
            .caption("loss", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..n - 1.0, lo..hi * 1.05)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                loss.iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, &v)| (i as f64, v)),
                CLASS[0].stroke_width(2),
            ))
            .map_err(err)?;

        if let Some(acc) = accuracy {
            let mut chart = ChartBuilder::on(&panels[1])
                .caption("accuracy", ("sans-serif", 22))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..n - 1.0, 0f64..1.02)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("step")
                .x_label_formatter(&|v| format!("{v:.0}"))
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    acc.iter().enumerate().map(|(i, &v)| (i as f64, v)),
                    CLASS[2].stroke_width(2),
                ))
                .map_err(err)?
                .label("train")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], CLASS[2].stroke_width(2)));
            if let Some(t) = test_accuracy {
                chart
                    .draw_series(LineSeries::new(
                        t.iter().enumerate().map(|(i, &v)| (i as f64, v)),
                        CLASS[3].stroke_width(2),
                    ))
                    .map_err(err)?
                    .label("test")
                    .legend(|(x, y)| {
                        PathElement::new([(x, y), (x + 16, y)], CLASS[3].stroke_width(2))
                    });
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK.mix(0.3))
                    .draw()
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    write_atomic(path, svg.as_bytes())
}

/// The decision boundary of a 2-feature classifier over its data, as in
/// micrograd's demo: the plane coloured by the class `predict(x, y)` gives,
/// the samples drawn on top in the colour of their true class.
///
/// ```
/// use micrograd::data::moons;
/// let dir = std::env::temp_dir().join(format!("mg-doc-db-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let ds = moons(40, 0.1, 0);
/// // a straight border: y > 0.25
/// micrograd::viz::plot_decision_boundary(&dir.join("db.svg"), &ds, |_, y| f64::from(y < 0.25), 40).unwrap();
/// assert!(std::fs::read_to_string(dir.join("db.svg")).unwrap().contains("<circle"));
/// ```
pub fn plot_decision_boundary(
    path: &Path,
    ds: &Dataset,
    predict: impl Fn(f64, f64) -> f64,
    resolution: usize,
) -> Result<(), VizError> {
    if ds.nfeatures() != 2 {
        return Err(VizError::Io(format!(
            "a decision boundary needs 2 features; {} has {}",
            ds.name,
            ds.nfeatures()
        )));
    }
    let bound = |k: usize| {
        let (lo, hi) =
            ds.x.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                    (a.min(p[k]), b.max(p[k]))
                });
        let pad = 0.1 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    };
    let ((x0, x1), (y0, y1)) = (bound(0), bound(1));
    let res = resolution.max(2);
    let (dx, dy) = ((x1 - x0) / res as f64, (y1 - y0) / res as f64);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (620, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("decision boundary: {}", ds.name),
                ("sans-serif", 22),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(ds.features[0].as_str())
            .y_desc(ds.features[1].as_str())
            .draw()
            .map_err(err)?;
        // One rectangle per run of equal predictions down a column: the
        // picture is the same as one per cell, and the file 50x smaller.
        let mut cells = Vec::new();
        for i in 0..res {
            let cx = x0 + (i as f64 + 0.5) * dx;
            let column: Vec<f64> = (0..res)
                .map(|j| predict(cx, y0 + (j as f64 + 0.5) * dy))
                .collect();
            let mut start = 0;
            for j in 1..=res {
                if j < res && column[j].to_bits() == column[start].to_bits() {
                    continue;
                }
                let c = column[start];
                let colour = if c.is_finite() && c >= 0.0 {
                    CLASS[c as usize % CLASS.len()].mix(0.25)
                } else {
                    BLACK.mix(0.1)
                };
                cells.push(Rectangle::new(
                    [
                        (x0 + i as f64 * dx, y0 + start as f64 * dy),
                        (x0 + (i + 1) as f64 * dx, y0 + j as f64 * dy),
                    ],
                    colour.filled(),
                ));
                start = j;
            }
        }
        chart.draw_series(cells).map_err(err)?;
        chart
            .draw_series(ds.x.iter().zip(&ds.y).map(|(p, &c)| {
                let colour = CLASS[c as usize % CLASS.len()];
                Circle::new((p[0], p[1]), 4, colour.filled().stroke_width(1))
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    write_atomic(path, svg.as_bytes())
}
