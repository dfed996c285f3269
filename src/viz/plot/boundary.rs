//! The decision boundary of a 2-feature classifier: `decision_boundary.svg`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Axis, DESC_FONT, TICK_FONT, chart};
use super::{CLASS, Picture, VizError, err, font, save, text_size, wrap};
use crate::data::Dataset;

/// The decision boundary of a 2-feature classifier over its data, as in
/// micrograd's demo: the plane coloured by the class `predict(x, y)` gives,
/// the training samples drawn on top as dots in the colour of their true
/// class, the test samples (if any) as triangles, with a legend of the
/// classes (their full names) beside the plot. SVG or PNG by the path's
/// extension.
///
/// ```
/// use micrograd::data::moons;
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = tmp.path();
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
    let each = |points: &[[f64; 2]]| points.iter().map(|p| predict(p[0], p[1])).collect();
    plot_decision_boundary_many(path, train, test, each, resolution)
}

/// [`plot_decision_boundary`] with the classes of the whole grid asked for
/// at once: `predict` gets every point of the grid (column by column) and
/// returns their classes, in order, so that a model can run on them as one
/// batch ([`Scorer`](crate::nn::Scorer)) rather than point by point.
///
/// ```
/// use micrograd::data::moons;
/// let dir = std::env::temp_dir().join(format!("mg-doc-dbm-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let train = moons(40, 0.1, 0);
/// let above = |points: &[[f64; 2]]| points.iter().map(|p| f64::from(p[1] < 0.25)).collect();
/// micrograd::viz::plot_decision_boundary_many(&dir.join("db.svg"), &train, None, above, 40)
///     .unwrap();
/// // an answer of the wrong length is an error, not a picture
/// let short = |_: &[[f64; 2]]| vec![0.0];
/// let e = micrograd::viz::plot_decision_boundary_many(&dir.join("x.svg"), &train, None, short, 40);
/// assert!(e.is_err());
/// ```
pub fn plot_decision_boundary_many(
    path: &Path,
    train: &Dataset,
    test: Option<&Dataset>,
    predict: impl FnOnce(&[[f64; 2]]) -> Vec<f64>,
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
    let points: Vec<[f64; 2]> = (0..res)
        .flat_map(|i| {
            let cx = xs.0 + (i as f64 + 0.5) * dx;
            (0..res).map(move |j| [cx, ys.0 + (j as f64 + 0.5) * dy])
        })
        .collect();
    let classes = predict(&points);
    if classes.len() != points.len() {
        return Err(VizError::Io(format!(
            "a decision boundary's grid has {} points, but {} predictions came back",
            points.len(),
            classes.len()
        )));
    }
    let grid = classes.chunks(res).map(<[f64]>::to_vec).collect();
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

/// Characters per line of a class name in the legend.
const NAME_WIDTH: usize = 24;
/// Height of a line in the legend.
const LINE: i32 = 22;

impl Boundary<'_> {
    /// The legend's lines: each class's name, wrapped.
    fn names(&self) -> Vec<Vec<String>> {
        (0..self.train.nclasses().max(1))
            .map(|k| {
                let name = self
                    .train
                    .classes
                    .get(k)
                    .map_or(k.to_string(), Clone::clone);
                wrap(&name, NAME_WIDTH)
            })
            .collect()
    }

    fn legend_width(&self) -> u32 {
        let widest = self
            .names()
            .iter()
            .flatten()
            .map(|l| text_size(l, &font(TICK_FONT)).0)
            .chain(
                ["training samples", "test samples", "shade: predicted"]
                    .map(|l| text_size(l, &font(TICK_FONT)).0),
            )
            .max()
            .unwrap_or(0);
        widest + 56
    }

    /// The regions: one rectangle per run of equal predictions down a
    /// column (the same picture as one per cell, and the file 50x smaller).
    fn regions(&self) -> Vec<Rectangle<(f64, f64)>> {
        let ((x0, x1), (y0, y1)) = (self.xs, self.ys);
        let res = self.grid.len();
        let (dx, dy) = ((x1 - x0) / res as f64, (y1 - y0) / res as f64);
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
        cells
    }

    /// The legend, beside the plot: the classes' colours and full names,
    /// then what the dots and triangles are.
    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), VizError> {
        let text = |s: &str, x: i32, y: i32| {
            Text::new(s.to_owned(), (x, y), font(TICK_FONT).color(&BLACK))
        };
        let mut y = 60;
        area.draw(&text("class", 8, y)).map_err(err)?;
        y += LINE + 4;
        for (k, lines) in self.names().iter().enumerate() {
            let colour = class_colour(k as f64);
            area.draw(&Rectangle::new(
                [(6, y - 4), (26, y + 14)],
                colour.mix(0.25).filled(),
            ))
            .map_err(err)?;
            area.draw(&Circle::new((16, y + 5), 5, colour.filled()))
                .map_err(err)?;
            for line in lines {
                area.draw(&text(line, 34, y)).map_err(err)?;
                y += LINE;
            }
            y += 4;
        }
        y += LINE / 2;
        area.draw(&Circle::new((16, y + 5), 5, BLACK.filled()))
            .map_err(err)?;
        area.draw(&text("training samples", 34, y)).map_err(err)?;
        if self.test.is_some() {
            y += LINE + 4;
            area.draw(&TriangleMarker::new((16, y + 5), 7, BLACK.stroke_width(2)))
                .map_err(err)?;
            area.draw(&text("test samples", 34, y)).map_err(err)?;
        }
        y += LINE + 4;
        area.draw(&Rectangle::new(
            [(6, y - 4), (26, y + 14)],
            BLACK.mix(0.15).filled(),
        ))
        .map_err(err)?;
        area.draw(&text("shade: predicted", 34, y)).map_err(err)
    }
}

impl Picture for Boundary<'_> {
    fn size(&self) -> (u32, u32) {
        (640 + self.legend_width(), 620)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        _raster: bool,
    ) -> Result<(), VizError> {
        let ds = self.train;
        root.fill(&WHITE).map_err(err)?;
        let (plot, side) = root.split_horizontally(640);
        let x = Axis::linear(self.xs.0..self.xs.1, 8, "");
        let y = Axis::linear(self.ys.0..self.ys.1, 8, "");
        let caption = format!("decision boundary: {}", crate::viz::shorten(&ds.name, 40));
        let mut chart = chart(&plot, &caption, 20, &x, &y)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(ds.features[0].as_str())
            .y_desc(ds.features[1].as_str())
            .x_label_formatter(&|v| x.label(*v))
            .y_label_formatter(&|v| y.label(*v))
            .label_style(font(TICK_FONT))
            .axis_desc_style(font(DESC_FONT))
            .draw()
            .map_err(err)?;
        chart.draw_series(self.regions()).map_err(err)?;
        chart
            .draw_series(
                ds.x.iter()
                    .zip(&ds.y)
                    .map(|(p, &c)| Circle::new((p[0], p[1]), 4, class_colour(c).filled())),
            )
            .map_err(err)?;
        if let Some(test) = self.test {
            chart
                .draw_series(test.x.iter().zip(&test.y).map(|(p, &c)| {
                    TriangleMarker::new((p[0], p[1]), 6, class_colour(c).stroke_width(2))
                }))
                .map_err(err)?;
        }
        self.draw_legend(&side)
    }
}
