//! Training pictures: loss and accuracy per step, and a 2-D decision boundary.
//! SVG or PNG through plotters, with no system fonts or libraries needed: the
//! text is set in DejaVu Sans, which the crate ships (`assets/`).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{VizError, write_atomic};
use crate::data::Dataset;

/// Something drawn the same way on any plotters backend.
trait Picture {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), VizError>;
}

/// Draws `pic` to `path`: PNG if the path ends in `.png`, SVG otherwise;
/// through a temporary file and a rename, so a failure leaves no partial file.
fn save(path: &Path, pic: &impl Picture) -> Result<(), VizError> {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // the font is valid: it is checked in, and a test draws with it
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../assets/DejaVuSans.ttf"),
        );
    });
    let is_png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.{}.tmp.png", std::process::id()));
        let drawn = (|| {
            let root = BitMapBackend::new(&tmp, pic.size()).into_drawing_area();
            pic.draw(&root)?;
            root.present().map_err(err)
        })();
        let done = drawn.and_then(|()| {
            std::fs::rename(&tmp, path)
                .map_err(|e| VizError::Io(format!("{}: cannot write: {e}", path.display())))
        });
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        done
    } else {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, pic.size()).into_drawing_area();
            pic.draw(&root)?;
            root.present().map_err(err)?;
        }
        write_atomic(path, svg.as_bytes())
    }
}

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

/// Loss (and accuracy, if given) per step, as an SVG or PNG file (by the
/// path's extension).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("mg-doc-plot-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let loss = [1.0, 0.5, 0.25, 0.2];
/// let acc = [0.5, 0.75, 1.0, 1.0];
/// micrograd::viz::plot_history(&dir.join("loss.svg"), &loss, Some(&acc), None).unwrap();
/// let svg = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
/// assert!(svg.contains("<svg") && svg.contains("loss"));
/// micrograd::viz::plot_history(&dir.join("loss.png"), &loss, None, None).unwrap();
/// assert!(std::fs::read(dir.join("loss.png")).unwrap().starts_with(b"\x89PNG"));
/// ```
pub fn plot_history(
    path: &Path,
    loss: &[f64],
    accuracy: Option<&[f64]>,
    test_accuracy: Option<&[f64]>,
) -> Result<(), VizError> {
    save(
        path,
        &History {
            loss,
            accuracy,
            test_accuracy,
        },
    )
}

struct History<'a> {
    loss: &'a [f64],
    accuracy: Option<&'a [f64]>,
    test_accuracy: Option<&'a [f64]>,
}

impl Picture for History<'_> {
    fn size(&self) -> (u32, u32) {
        (if self.accuracy.is_some() { 1100 } else { 600 }, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), VizError> {
        root.fill(&WHITE).map_err(err)?;
        let panels = if self.accuracy.is_some() {
            root.split_evenly((1, 2))
        } else {
            vec![root.clone()]
        };
        let loss = self.loss;
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
        let mut chart = per_step_panel(&panels[0], "loss", n, lo..hi * 1.05)?;
        chart
            .draw_series(LineSeries::new(
                loss.iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, &v)| (i as f64, v)),
                CLASS[0].stroke_width(2),
            ))
            .map_err(err)?;

        if let Some(acc) = self.accuracy {
            let mut chart = per_step_panel(&panels[1], "accuracy", n, 0.0..1.02)?;
            let curves = [
                ("train", Some(acc), CLASS[2]),
                ("test", self.test_accuracy, CLASS[3]),
            ];
            for (name, values, colour) in curves {
                let Some(values) = values else { continue };
                chart
                    .draw_series(LineSeries::new(
                        values.iter().enumerate().map(|(i, &v)| (i as f64, v)),
                        colour.stroke_width(2),
                    ))
                    .map_err(err)?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

type StepChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A chart of something per step, `n` steps wide, with its axes drawn.
fn per_step_panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    n: f64,
    y: std::ops::Range<f64>,
) -> Result<StepChart<'a, DB>, VizError> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..n - 1.0, y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// The decision boundary of a 2-feature classifier over its data, as in
/// micrograd's demo: the plane coloured by the class `predict(x, y)` gives,
/// the samples drawn on top in the colour of their true class. SVG or PNG by
/// the path's extension.
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
    let (xs, ys) = (bound(0), bound(1));
    let res = resolution.max(2);
    let (dx, dy) = ((xs.1 - xs.0) / res as f64, (ys.1 - ys.0) / res as f64);
    let grid = (0..res)
        .map(|i| {
            let cx = xs.0 + (i as f64 + 0.5) * dx;
            (0..res)
                .map(|j| predict(cx, ys.0 + (j as f64 + 0.5) * dy))
                .collect()
        })
        .collect();
    save(path, &Boundary { ds, xs, ys, grid })
}

struct Boundary<'a> {
    ds: &'a Dataset,
    xs: (f64, f64),
    ys: (f64, f64),
    /// `grid[i][j]`: the class predicted in column i, row j.
    grid: Vec<Vec<f64>>,
}

impl Picture for Boundary<'_> {
    fn size(&self) -> (u32, u32) {
        (620, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), VizError> {
        let (ds, (x0, x1), (y0, y1)) = (self.ds, self.xs, self.ys);
        let res = self.grid.len();
        let (dx, dy) = ((x1 - x0) / res as f64, (y1 - y0) / res as f64);
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(root)
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
        for (i, column) in self.grid.iter().enumerate() {
            let mut start = 0;
            for j in 1..=column.len() {
                if j < column.len() && column[j].to_bits() == column[start].to_bits() {
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
        Ok(())
    }
}
