//! Permutation importance as a picture: `importance.svg`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Axis, DESC_FONT, TICK_FONT, chart};
use super::{BEST, Picture, TRAIN, VizError, err, font, save};
use crate::text::shorten;
use crate::train::Importance;

/// The most columns drawn; the rest are in `--json`.
const MAX_BARS: usize = 40;
/// Height of one column's bar, with its gap.
const ROW: u32 = 30;

/// Each column's importance as a horizontal bar (its mean drop) with a
/// whisker of ± one standard deviation over the shuffles, the most
/// important column on top, the column names written in full up to 40
/// characters. SVG or PNG by the path's extension.
///
/// ```
/// use micrograd::data::{Preprocess, moons};
/// use micrograd::train::{Importance, Measured};
/// use micrograd::{Loss, MLP};
/// let ds = moons(40, 0.1, 1);
/// let i = Importance::of(&MLP::new(2, &[4, 1]), &Preprocess::identity(&ds), Loss::Svm, &ds,
///     Measured::Test, 1);
/// let tmp = tempfile::tempdir().unwrap();
/// let path = tmp.path().join("importance.svg");
/// micrograd::viz::plot_importance(&path, &i).unwrap();
/// let svg = std::fs::read_to_string(path).unwrap();
/// assert!(svg.contains("feature importance") && svg.contains("x1") && svg.contains("x2"));
/// ```
pub fn plot_importance(path: &Path, i: &Importance) -> Result<(), VizError> {
    save(path, &Bars::of(i))
}

/// What is drawn: the bars, top first, and the axes.
struct Bars {
    /// (name, mean, sd), in the metric's plotted units.
    bars: Vec<(String, f64, f64)>,
    x: Axis,
    y: Axis,
    x_desc: String,
    caption: String,
}

impl Bars {
    fn of(i: &Importance) -> Bars {
        let scale = if i.metric == "accuracy" { 100.0 } else { 1.0 };
        let bars: Vec<(String, f64, f64)> = (i.columns.iter().take(MAX_BARS))
            .map(|c| {
                let (m, s) = (c.drop.mean * scale, c.drop.sd * scale);
                let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
                (shorten(&c.column, 40), finite(m), finite(s))
            })
            .collect();
        let lo = bars.iter().map(|b| b.1 - b.2).fold(0.0, f64::min);
        let hi = bars.iter().map(|b| b.1 + b.2).fold(0.0, f64::max);
        let hi = if hi - lo < 1e-9 {
            lo + scale * 0.01
        } else {
            hi
        };
        let pad = 0.05 * (hi - lo);
        let suffix = if scale == 100.0 { "%" } else { "" };
        let x = Axis::linear(lo - if lo < 0.0 { pad } else { 0.0 }..hi + pad, 6, suffix);
        let n = bars.len();
        let y = Axis {
            range: -0.6..n.max(1) as f64 - 0.4,
            ticks: (0..n).map(|k| k as f64).collect(),
            // the first bar on top: the highest y
            labels: bars.iter().rev().map(|b| b.0.clone()).collect(),
        };
        let more = i.columns.len().saturating_sub(MAX_BARS);
        let caption = if more > 0 {
            format!("feature importance (the top {MAX_BARS}; {more} more in --json)")
        } else {
            "feature importance".to_owned()
        };
        let what = if i.metric == "accuracy" {
            "drop in accuracy (points)"
        } else {
            "drop in R²"
        };
        Bars {
            bars,
            x,
            y,
            x_desc: format!("{what} when the column is shuffled; whiskers: ± 1 sd"),
            caption,
        }
    }
}

impl Picture for Bars {
    fn size(&self) -> (u32, u32) {
        let rows = self.bars.len().max(1) as u32;
        (760 + self.y.label_extent().0, 130 + ROW * rows)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        _raster: bool,
    ) -> Result<(), VizError> {
        root.fill(&WHITE).map_err(err)?;
        let (x, y) = (&self.x, &self.y);
        let mut chart = chart(root, &self.caption, 30, x, y)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(self.x_desc.as_str())
            .x_label_formatter(&|v| x.label(*v))
            .y_label_formatter(&|v| y.label(*v))
            .label_style(font(TICK_FONT))
            .axis_desc_style(font(DESC_FONT))
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(err)?;
        let n = self.bars.len();
        let at = |k: usize| (n - 1 - k) as f64;
        chart
            .draw_series(self.bars.iter().enumerate().map(|(k, &(_, m, _))| {
                let (lo, hi) = (m.min(0.0), m.max(0.0));
                Rectangle::new([(lo, at(k) - 0.32), (hi, at(k) + 0.32)], TRAIN.filled())
            }))
            .map_err(err)?;
        let whisker = BLACK.stroke_width(2);
        for (k, &(_, m, s)) in self.bars.iter().enumerate().filter(|b| b.1.2 > 0.0) {
            let y = at(k);
            let lines = [
                vec![(m - s, y), (m + s, y)],
                vec![(m - s, y - 0.15), (m - s, y + 0.15)],
                vec![(m + s, y - 0.15), (m + s, y + 0.15)],
            ];
            chart
                .draw_series(lines.into_iter().map(|l| PathElement::new(l, whisker)))
                .map_err(err)?;
        }
        let zero = [(0.0, y.range.start), (0.0, y.range.end)];
        chart
            .draw_series([PathElement::new(zero, BEST.stroke_width(1))])
            .map_err(err)?;
        Ok(())
    }
}
