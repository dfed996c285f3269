//! Training pictures: loss and accuracy per step, and a 2-D decision boundary.
//! SVG or PNG through plotters, with no system fonts or libraries needed: the
//! text is set in DejaVu Sans, which the crate ships (`assets/`).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{VizError, write_atomic};
use crate::data::Dataset;
use crate::metrics::Confusion;

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
        crate::files::write_together(&[path], |_, tmp| {
            let root = BitMapBackend::new(tmp, pic.size()).into_drawing_area();
            pic.draw(&root).map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())
        })
        .map_err(VizError::Io)
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

/// What [`plot_history`] draws: the training loss and accuracy per step,
/// and the validation and test figures at the steps where they were taken
/// (the end of each epoch).
///
/// ```
/// let c = micrograd::viz::Curves::per_step(&[1.0, 0.5], &[]);
/// assert_eq!(c.train_loss.len(), 2);
/// assert!(c.test_loss.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curves {
    /// The training batch's data loss, per step.
    pub train_loss: Vec<f64>,
    /// (step, data loss) on the validation set.
    pub valid_loss: Vec<(usize, f64)>,
    /// (step, data loss) on the test set.
    pub test_loss: Vec<(usize, f64)>,
    /// The training batch's accuracy, per step (empty for regression).
    pub train_accuracy: Vec<f64>,
    /// (step, accuracy) on the test set.
    pub test_accuracy: Vec<(usize, f64)>,
}

impl Curves {
    /// Curves of the training loss and accuracy alone.
    pub fn per_step(loss: &[f64], accuracy: &[f64]) -> Curves {
        Curves {
            train_loss: loss.to_vec(),
            train_accuracy: accuracy.to_vec(),
            ..Curves::default()
        }
    }
}

/// The loss per step (training, and validation and test where taken), and
/// the accuracy if there is one, as an SVG or PNG file (by the path's
/// extension). The loss axis is logarithmic when the loss spans more than
/// two decades.
///
/// ```
/// use micrograd::viz::{Curves, plot_history};
/// let dir = std::env::temp_dir().join(format!("mg-doc-plot-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let mut c = Curves::per_step(&[1.0, 0.5, 0.25, 0.2], &[0.5, 0.75, 1.0, 1.0]);
/// c.test_loss = vec![(1, 0.6), (3, 0.3)];
/// plot_history(&dir.join("loss.svg"), &c).unwrap();
/// let svg = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
/// assert!(svg.contains("<svg") && svg.contains("loss") && svg.contains("test"));
/// plot_history(&dir.join("loss.png"), &Curves::per_step(&[1.0, 0.5], &[])).unwrap();
/// assert!(std::fs::read(dir.join("loss.png")).unwrap().starts_with(b"\x89PNG"));
/// ```
pub fn plot_history(path: &Path, curves: &Curves) -> Result<(), VizError> {
    save(path, curves)
}

/// Whether a loss curve wants a log axis: positive, spanning over 100×.
fn log_scale(values: impl Iterator<Item = f64>) -> bool {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    lo > 0.0 && hi / lo > 100.0
}

/// A named, coloured line of (x, y) points.
type Line<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

impl Picture for Curves {
    fn size(&self) -> (u32, u32) {
        (
            if self.train_accuracy.is_empty() {
                640
            } else {
                1180
            },
            420,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), VizError> {
        root.fill(&WHITE).map_err(err)?;
        let panels = if self.train_accuracy.is_empty() {
            vec![root.clone()]
        } else {
            root.split_evenly((1, 2))
        };
        let n = self.train_loss.len().max(2) as f64;
        let points = |v: &[(usize, f64)]| v.iter().map(|&(s, l)| (s as f64, l)).collect::<Vec<_>>();
        let lines: [Line; 3] = [
            (
                "train (batch)",
                self.train_loss
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i as f64, v))
                    .collect(),
                CLASS[0],
            ),
            ("validation", points(&self.valid_loss), CLASS[3]),
            ("test", points(&self.test_loss), CLASS[1]),
        ];
        let log = log_scale(lines.iter().flat_map(|l| l.1.iter().map(|p| p.1)));
        let tf = |v: f64| if log { v.log10() } else { v };
        let finite: Vec<f64> = lines
            .iter()
            .flat_map(|l| l.1.iter().map(|p| tf(p.1)))
            .filter(|v| v.is_finite())
            .collect();
        let (lo, hi) = finite
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let range = if !lo.is_finite() {
            0.0..1.0
        } else if log {
            lo - 0.1..hi + 0.1
        } else {
            lo.min(0.0)..hi.max(lo + 1e-9) * 1.05
        };
        let caption = if log { "loss (log scale)" } else { "loss" };
        let mut chart = per_step_panel(&panels[0], caption, n, range, log)?;
        for (name, pts, colour) in lines {
            if pts.is_empty() {
                continue;
            }
            let pts: Vec<(f64, f64)> = pts
                .into_iter()
                .map(|(x, y)| (x, tf(y)))
                .filter(|p| p.1.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;

        if !self.train_accuracy.is_empty() {
            let mut chart = per_step_panel(&panels[1], "accuracy", n, 0.0..1.02, false)?;
            let curves = [
                (
                    "train (batch)",
                    self.train_accuracy
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| (i as f64, v))
                        .collect(),
                    CLASS[2],
                ),
                ("test", points(&self.test_accuracy), CLASS[1]),
            ];
            for (name, values, colour) in curves {
                if values.is_empty() {
                    continue;
                }
                chart
                    .draw_series(LineSeries::new(values, colour.stroke_width(2)))
                    .map_err(err)?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                    });
            }
            legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        }
        Ok(())
    }
}

/// Draws a chart's legend in a white box.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut StepChart<'a, DB>,
    at: SeriesLabelPosition,
) -> Result<(), VizError> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(err)
}

type StepChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A chart of something per step, `n` steps wide, with its axes drawn;
/// `log`: the y values are log10 of the numbers, and labelled as numbers.
fn per_step_panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    n: f64,
    y: std::ops::Range<f64>,
    log: bool,
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
        .y_label_formatter(&|v| super::fmt_short(if log { 10f64.powf(*v) } else { *v }))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// The decision boundary of a 2-feature classifier over its data, as in
/// micrograd's demo: the plane coloured by the class `predict(x, y)` gives,
/// the training samples drawn on top as dots in the colour of their true
/// class, the test samples (if any) as triangles, with a legend of the
/// classes. SVG or PNG by the path's extension.
///
/// ```
/// use micrograd::data::moons;
/// let dir = std::env::temp_dir().join(format!("mg-doc-db-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let (train, test) = (moons(40, 0.1, 0), moons(20, 0.1, 1));
/// // a straight border: y > 0.25
/// micrograd::viz::plot_decision_boundary(&dir.join("db.svg"), &train, Some(&test),
///     |_, y| f64::from(y < 0.25), 40).unwrap();
/// let svg = std::fs::read_to_string(dir.join("db.svg")).unwrap();
/// assert!(svg.contains("<circle") && svg.contains("<polygon") && svg.contains("test"));
/// ```
pub fn plot_decision_boundary(
    path: &Path,
    train: &Dataset,
    test: Option<&Dataset>,
    predict: impl Fn(f64, f64) -> f64,
    resolution: usize,
) -> Result<(), VizError> {
    for ds in std::iter::once(train).chain(test) {
        if ds.nfeatures() != 2 {
            return Err(VizError::Io(format!(
                "a decision boundary needs 2 features; {} has {}",
                ds.name,
                ds.nfeatures()
            )));
        }
    }
    let all = || train.x.iter().chain(test.into_iter().flat_map(|t| &t.x));
    let bound = |k: usize| {
        let (lo, hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
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
    save(
        path,
        &Boundary {
            train,
            test,
            xs,
            ys,
            grid,
        },
    )
}

struct Boundary<'a> {
    train: &'a Dataset,
    test: Option<&'a Dataset>,
    xs: (f64, f64),
    ys: (f64, f64),
    /// `grid[i][j]`: the class predicted in column i, row j.
    grid: Vec<Vec<f64>>,
}

fn class_colour(c: f64) -> RGBColor {
    CLASS[c as usize % CLASS.len()]
}

impl Picture for Boundary<'_> {
    fn size(&self) -> (u32, u32) {
        (660, 580)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), VizError> {
        let (ds, (x0, x1), (y0, y1)) = (self.train, self.xs, self.ys);
        let res = self.grid.len();
        let (dx, dy) = ((x1 - x0) / res as f64, (y1 - y0) / res as f64);
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("decision boundary: {}", crate::viz::shorten(&ds.name, 40)),
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
            .x_label_formatter(&|v| super::fmt_short(*v))
            .y_label_formatter(&|v| super::fmt_short(*v))
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
                    class_colour(c).mix(0.25)
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
        // training samples: dots, one series per class for the legend
        let nclasses = ds.nclasses().max(1);
        for k in 0..nclasses {
            let colour = class_colour(k as f64);
            let name = ds
                .classes
                .get(k)
                .map_or(k.to_string(), |c| crate::viz::shorten(c, 20));
            chart
                .draw_series(
                    ds.x.iter()
                        .zip(&ds.y)
                        .filter(|(_, c)| **c as usize == k)
                        .map(|(p, _)| Circle::new((p[0], p[1]), 4, colour.filled())),
                )
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
        if let Some(test) = self.test {
            chart
                .draw_series(test.x.iter().zip(&test.y).map(|(p, &c)| {
                    TriangleMarker::new((p[0], p[1]), 6, class_colour(c).stroke_width(2))
                }))
                .map_err(err)?
                .label("test samples")
                .legend(|(x, y)| TriangleMarker::new((x + 8, y), 6, BLACK.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// A confusion matrix as a picture: rows are the true classes, columns the
/// predicted ones, each cell shaded by the share of its row and labelled
/// with its count. SVG or PNG by the path's extension.
///
/// ```
/// use micrograd::metrics::Confusion;
/// let dir = std::env::temp_dir().join(format!("mg-doc-cm-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let c = Confusion::new(&["cat".into(), "dog".into()], &[0.0, 1.0, 1.0], &[0.0, 1.0, 0.0]);
/// micrograd::viz::plot_confusion(&dir.join("cm.svg"), &c).unwrap();
/// let svg = std::fs::read_to_string(dir.join("cm.svg")).unwrap();
/// assert!(svg.contains("dog") && svg.contains("predicted"));
/// ```
pub fn plot_confusion(path: &Path, c: &Confusion) -> Result<(), VizError> {
    save(path, c)
}

impl Picture for Confusion {
    fn size(&self) -> (u32, u32) {
        let k = self.classes.len().max(1) as u32;
        let cell = (480 / k).clamp(12, 64);
        (170 + cell * k + 20, 120 + cell * k + 20)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), VizError> {
        root.fill(&WHITE).map_err(err)?;
        let k = self.classes.len().max(1);
        let cell = (480 / k as i32).clamp(12, 64);
        let (left, top) = (170, 120);
        let font = |size: i32| ("sans-serif", size).into_font();
        let small = (cell / 3).clamp(9, 16);
        root.draw(&Text::new("confusion matrix", (12, 12), font(22)))
            .map_err(err)?;
        root.draw(&Text::new(
            "predicted →",
            (left, top - 28 - small),
            font(15),
        ))
        .map_err(err)?;
        root.draw(&Text::new("true ↓", (12, top - 28 - small), font(15)))
            .map_err(err)?;
        for (t, row) in self.counts.iter().enumerate() {
            let total = row.iter().sum::<usize>().max(1) as f64;
            let y = top + t as i32 * cell;
            let name = crate::viz::shorten(&self.classes[t], 18);
            root.draw(&Text::new(
                name.clone(),
                (12, y + cell / 2 - small / 2),
                font(small),
            ))
            .map_err(err)?;
            // column labels: as many characters as fit the cell
            let fit = ((cell as f64) / (0.5 * small as f64)).floor().max(2.0) as usize;
            root.draw(&Text::new(
                crate::viz::shorten(&self.classes[t], fit - 1),
                (left + t as i32 * cell + 2, top - 8 - small),
                font(small),
            ))
            .map_err(err)?;
            for (p, &n) in row.iter().enumerate() {
                let x = left + p as i32 * cell;
                let share = n as f64 / total;
                let colour = if t == p { CLASS[2] } else { CLASS[1] };
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell - 1, y + cell - 1)],
                    colour.mix(0.08 + 0.8 * share).filled(),
                ))
                .map_err(err)?;
                if k <= 20 {
                    root.draw(&Text::new(
                        n.to_string(),
                        (x + cell / 2 - small / 2, y + cell / 2 - small / 2),
                        font(small),
                    ))
                    .map_err(err)?;
                }
            }
        }
        Ok(())
    }
}
