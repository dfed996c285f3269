//! The loss and accuracy per step: `loss.svg` and `loss.png`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::{DashedPathElement, Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

use super::axis::{Axis, DESC_FONT, TICK_FONT, chart, thin};
use super::{BEST, Picture, TEST, TRAIN, VALID, VizError, err, font, save};

/// What [`plot_history`] draws: the training loss and accuracy per step,
/// the validation and test figures at the steps where they were taken
/// (the end of each epoch), and the step whose weights an early-stopped
/// run kept. Steps count from 0, as [`crate::train::History`] does; the
/// pictures number them from 1, as the command prints them.
///
/// ```
/// let mut c = micrograd::viz::Curves::per_step(&[1.0, 0.5], &[]);
/// c.best_step = Some(1);
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
    /// The training batch's accuracy (0 to 1), per step (empty for
    /// regression).
    pub train_accuracy: Vec<f64>,
    /// (step, accuracy from 0 to 1) on the test set.
    pub test_accuracy: Vec<(usize, f64)>,
    /// The step whose weights the run kept, as the best on the validation
    /// set ([`crate::train::History::best_step`]): marked on every panel.
    pub best_step: Option<usize>,
    /// Whether the model was then trained again on every training row for
    /// the epochs up to that step ([`crate::train::Refit`]): the marker says
    /// so, rather than that its weights were kept.
    pub refit: bool,
}

impl Curves {
    /// Curves of the training loss and accuracy alone.
    ///
    /// ```
    /// let c = micrograd::viz::Curves::per_step(&[1.0, 0.5], &[0.5, 1.0]);
    /// assert_eq!(c.train_accuracy, [0.5, 1.0]);
    /// assert_eq!(c.best_step, None);
    /// ```
    pub fn per_step(loss: &[f64], accuracy: &[f64]) -> Curves {
        Curves {
            train_loss: loss.to_vec(),
            train_accuracy: accuracy.to_vec(),
            ..Curves::default()
        }
    }
}

/// The loss per step (training, and validation and test where taken), and
/// the accuracy in percent if there is one, as an SVG or PNG file (by the
/// path's extension). The loss axis is logarithmic when the loss spans more
/// than two decades. The training series is blue, validation orange and
/// test red in both panels; the best step of an early-stopped run is a
/// dashed grey line. Curves of more than 1000 points are thinned (each
/// stretch keeps its lowest and highest point), so they draw as one line.
///
/// ```
/// use micrograd::viz::{Curves, plot_history};
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = tmp.path();
/// let mut c = Curves::per_step(&[1.0, 0.5, 0.25, 0.2], &[0.5, 0.75, 1.0, 1.0]);
/// c.test_loss = vec![(1, 0.6), (3, 0.3)];
/// plot_history(&dir.join("loss.svg"), &c).unwrap();
/// let svg = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
/// assert!(svg.contains("<svg") && svg.contains("loss") && svg.contains("test"));
/// assert!(svg.contains("100%"));
/// plot_history(&dir.join("loss.png"), &Curves::per_step(&[1.0, 0.5], &[])).unwrap();
/// assert!(std::fs::read(dir.join("loss.png")).unwrap().starts_with(b"\x89PNG"));
/// ```
pub fn plot_history(path: &Path, curves: &Curves) -> Result<(), VizError> {
    save(path, curves)
}

/// Whether a loss curve wants a log axis: positive, spanning over 100×.
fn log_scale(values: impl Iterator<Item = f64>) -> bool {
    let (lo, hi) = min_max(values.filter(|v| v.is_finite()));
    lo > 0.0 && hi / lo > 100.0
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    })
}

/// A named, coloured line of (step, y) points.
struct Series {
    name: &'static str,
    points: Vec<(f64, f64)>,
    colour: RGBColor,
}

impl Series {
    /// A series per step, drawn at steps 1, 2, ….
    fn per_step(name: &'static str, v: &[f64], scale: f64, colour: RGBColor) -> Series {
        let points = v
            .iter()
            .enumerate()
            .map(|(i, &y)| ((i + 1) as f64, y * scale))
            .collect();
        Series {
            name,
            points,
            colour,
        }
    }

    /// A series taken at some steps.
    fn at(name: &'static str, v: &[(usize, f64)], scale: f64, colour: RGBColor) -> Series {
        let points = v
            .iter()
            .map(|&(s, y)| ((s + 1) as f64, y * scale))
            .collect();
        Series {
            name,
            points,
            colour,
        }
    }
}

/// A panel: its caption, y axis and series.
struct Panel<'a> {
    caption: &'a str,
    y_desc: &'a str,
    y: Axis,
    series: Vec<Series>,
    legend: SeriesLabelPosition,
}

impl Curves {
    fn loss_panel(&self) -> Panel<'static> {
        let mut series = vec![
            Series::per_step("train (batch)", &self.train_loss, 1.0, TRAIN),
            Series::at("validation", &self.valid_loss, 1.0, VALID),
            Series::at("test", &self.test_loss, 1.0, TEST),
        ];
        let log = log_scale(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
        for s in &mut series {
            s.points.retain_mut(|p| {
                p.1 = if log { p.1.log10() } else { p.1 };
                p.1.is_finite()
            });
        }
        let (lo, hi) = min_max(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
        let y = if !lo.is_finite() {
            Axis::linear(0.0..1.0, 8, "")
        } else if log {
            Axis::log(lo - 0.1..hi + 0.1)
        } else {
            Axis::linear(lo.min(0.0)..hi.max(lo + 1e-9) * 1.05, 8, "")
        };
        Panel {
            caption: "loss",
            y_desc: if log { "loss (log scale)" } else { "loss" },
            y,
            series,
            legend: SeriesLabelPosition::UpperRight,
        }
    }

    fn accuracy_panel(&self) -> Panel<'static> {
        Panel {
            caption: "accuracy",
            y_desc: "accuracy",
            y: Axis::linear(0.0..102.0, 6, "%"),
            series: vec![
                Series::per_step("train (batch)", &self.train_accuracy, 100.0, TRAIN),
                Series::at("test", &self.test_accuracy, 100.0, TEST),
            ],
            legend: SeriesLabelPosition::LowerRight,
        }
    }
}

impl Picture for Curves {
    fn size(&self) -> (u32, u32) {
        let width = if self.train_accuracy.is_empty() {
            680
        } else {
            1300
        };
        (width, 460)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        raster: bool,
    ) -> Result<(), VizError> {
        root.fill(&WHITE).map_err(err)?;
        let mut panels = vec![self.loss_panel()];
        if !self.train_accuracy.is_empty() {
            panels.push(self.accuracy_panel());
        }
        let areas = root.split_evenly((1, panels.len()));
        let n = self.train_loss.len().max(self.train_accuracy.len()).max(2) as f64;
        let x = Axis::linear(0.0..n, 8, "");
        for (panel, area) in panels.iter().zip(&areas) {
            let then = if self.refit {
                "then refit on every training row"
            } else {
                "weights kept"
            };
            let best = self.best_step.map(|b| (b, then));
            draw_panel(area, (&x, panel), best, raster)?;
        }
        Ok(())
    }
}

/// Draws one panel: axes, its series (thinned to 1000 points; on a bitmap
/// with a [`Brush`]), the best step's marker, a legend.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, panel): (&Axis, &Panel),
    best: Option<(usize, &str)>,
    raster: bool,
) -> Result<(), VizError> {
    let y = &panel.y;
    let mut chart = chart(area, panel.caption, 30, x, y)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(panel.y_desc)
        .x_label_formatter(&|v| x.label(*v))
        .y_label_formatter(&|v| y.label(*v))
        .label_style(font(TICK_FONT))
        .axis_desc_style(font(DESC_FONT))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(err)?;
    for s in panel.series.iter().filter(|s| !s.points.is_empty()) {
        let colour = s.colour;
        let points = thin(&s.points, 1000);
        let drawn = if raster {
            chart.draw_series([Brush { points, colour }])
        } else {
            chart.draw_series(LineSeries::new(points, colour.stroke_width(2)))
        };
        drawn
            .map_err(err)?
            .label(s.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(3)));
    }
    if let Some((b, then)) = best {
        let step = (b + 1) as f64;
        let line = [(step, y.range.start), (step, y.range.end)];
        chart
            .draw_series(DashedLineSeries::new(line, 6, 4, BEST.stroke_width(2)))
            .map_err(err)?
            .label(format!("best validation loss: step {} ({then})", b + 1))
            .legend(|(x, y)| {
                DashedPathElement::new([(x, y), (x + 20, y)], 5, 3, BEST.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(panel.legend.clone())
        .label_font(font(TICK_FONT))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(err)
}

/// A line two pixels wide drawn as four one-pixel lines side by side: on
/// a bitmap, plotters fills a thick line as one polygon with mitred
/// corners, which a dense, noisy curve turns into spikes and gaps.
struct Brush {
    points: Vec<(f64, f64)>,
    colour: RGBColor,
}

impl<'a> PointCollection<'a, (f64, f64)> for &'a Brush {
    type Point = &'a (f64, f64);
    type IntoIter = &'a [(f64, f64)];

    fn point_iter(self) -> &'a [(f64, f64)] {
        &self.points
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Brush {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        pos: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let points: Vec<BackendCoord> = pos.collect();
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let path = points.iter().map(|&(x, y)| (x + dx, y + dy));
            backend.draw_path(path, &self.colour.stroke_width(1))?;
        }
        Ok(())
    }
}
