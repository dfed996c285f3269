//! Axes every picture shares: ticks at round numbers, labelled to the
//! tick's step (`0`, never `-2.22e-16`); log axes ticked at 1, 2, 5 times a
//! power of ten (`0.3` never shows as `0.316228`); and curves thinned to a
//! point or two per pixel so long runs draw as one line.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

use plotters::coord::Shift;
use plotters::prelude::{Cartesian2d, ChartBuilder, ChartContext, DrawingArea, DrawingBackend};

use super::{VizError, err, font, text_size};

/// One axis: its range (in plotted units), where the ticks go, and what
/// they say.
#[derive(Clone, Debug)]
pub(super) struct Axis {
    pub range: Range<f64>,
    pub ticks: Vec<f64>,
    pub labels: Vec<String>,
}

/// The coordinate plotters draws an [`Axis`] with: a linear map, and the
/// axis's own ticks (labelled by [`Axis::label`]).
pub(super) struct Coord {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for Coord {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

/// Tick label size, in the font's units.
pub(super) const TICK_FONT: u32 = 15;
/// Axis description size.
pub(super) const DESC_FONT: u32 = 17;

impl Axis {
    /// A linear axis over `range`, with about `target` ticks at multiples
    /// of 1, 2 or 5 times a power of ten; `suffix` follows each label
    /// (`"%"`).
    pub fn linear(range: Range<f64>, target: usize, suffix: &str) -> Axis {
        let step = nice_step(range.end - range.start, target);
        let first = (range.start / step - 1e-9).ceil() as i64;
        let last = (range.end / step + 1e-9).floor() as i64;
        let ticks: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
        let labels = ticks
            .iter()
            .map(|&v| format!("{}{suffix}", linear_label(v, step)))
            .collect();
        Axis {
            range,
            ticks,
            labels,
        }
    }

    /// A log axis: `range` is in log10 units; ticks at powers of ten (every
    /// few when the range spans many), and at 2 and 5 times them when it
    /// spans under three decades.
    pub fn log(range: Range<f64>) -> Axis {
        let span = range.end - range.start;
        let every = (span / 8.0).ceil().max(1.0) as i64;
        let mantissas: &[f64] = if span < 3.0 { &[1.0, 2.0, 5.0] } else { &[1.0] };
        let mut ticks = Vec::new();
        let mut labels = Vec::new();
        for e in (range.start.floor() as i64)..=(range.end.ceil() as i64) {
            if e.rem_euclid(every) != 0 {
                continue;
            }
            for &m in mantissas {
                let v = m.log10() + e as f64;
                if range.contains(&v) {
                    ticks.push(v);
                    labels.push(log_label(m, e));
                }
            }
        }
        Axis {
            range,
            ticks,
            labels,
        }
    }

    /// The coordinate for plotters, ticked where this axis says.
    pub fn coord(&self) -> Coord {
        Coord {
            inner: self.range.clone().into(),
            ticks: self.ticks.clone(),
        }
    }

    /// The label of the tick at `v` (a value from [`Axis::coord`]'s ticks).
    pub fn label(&self, v: f64) -> String {
        self.ticks
            .iter()
            .position(|t| (t - v).abs() <= 1e-9 * (1.0 + v.abs()))
            .map_or_else(String::new, |i| self.labels[i].clone())
    }

    /// The widest label's width and the tallest's height.
    pub fn label_extent(&self) -> (u32, u32) {
        self.labels
            .iter()
            .map(|l| text_size(l, &font(TICK_FONT)))
            .fold((0, 0), |(w, h), (a, b)| (w.max(a), h.max(b)))
    }

    /// Room for the tick labels left of the axis and the description
    /// beside them, so neither overlaps the other.
    pub fn y_area(&self) -> u32 {
        self.label_extent().0 + 16 + text_size("Xy", &font(DESC_FONT)).1 + 10
    }

    /// Room below an x axis for its labels and description.
    pub fn x_area(&self) -> u32 {
        self.label_extent().1 + 14 + text_size("Xy", &font(DESC_FONT)).1 + 8
    }
}

/// A chart on `area` with `caption`, over the axes `x` and `y`, with room
/// for their labels: what every plot here starts from.
pub fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    margin_right: u32,
    x: &Axis,
    y: &Axis,
) -> Result<ChartContext<'a, DB, Cartesian2d<Coord, Coord>>, VizError> {
    ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 24))
        .margin(12)
        .margin_right(margin_right)
        .x_label_area_size(x.x_area())
        .y_label_area_size(y.y_area())
        .build_cartesian_2d(x.coord(), y.coord())
        .map_err(err)
}

/// The round step (1, 2 or 5 times a power of ten) that cuts `span` into
/// about `target` pieces.
fn nice_step(span: f64, target: usize) -> f64 {
    let span = if span.is_finite() && span > 0.0 {
        span
    } else {
        1.0
    };
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag)
}

/// `v`, a multiple of `step`, with as many decimals as the step has.
fn linear_label(v: f64, step: f64) -> String {
    let v = (v / step).round() * step;
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e5 || step < 1e-4 {
        return crate::text::fmt_short(v);
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// `m`·10^`e`: plain from 0.01 to 1000, else `2e-3`, `1e6`.
fn log_label(m: f64, e: i64) -> String {
    if (-2..=3).contains(&e) {
        let v = m * 10f64.powi(e as i32);
        format!("{v:.*}", (-e).max(0) as usize)
    } else {
        format!("{m}e{e}")
    }
}

/// At most about `max` points drawing the same line as `points` (sorted by
/// x): where there are more, each bucket of neighbours keeps its lowest
/// and highest point, in order, so spikes survive and the line stays one
/// continuous stroke.
pub(super) fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    let buckets = (max / 2).max(1);
    if points.len() <= max {
        return points.to_vec();
    }
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(2 * buckets);
    for chunk in points.chunks(size) {
        let by_y = |a: &&(f64, f64), b: &&(f64, f64)| a.1.total_cmp(&b.1);
        let lo = chunk.iter().min_by(by_y).copied();
        let hi = chunk.iter().max_by(by_y).copied();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
            out.push(a);
            if b != a {
                out.push(b);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_zero_and_labels_follow_the_step() {
        let a = Axis::linear(-1.12..1.12, 10, "");
        assert!(a.labels.contains(&"0".to_string()), "{:?}", a.labels);
        assert!(a.labels.iter().all(|l| !l.contains('e')), "{:?}", a.labels);
        assert_eq!(a.labels.first().unwrap(), "-1.0");
        let p = Axis::linear(0.0..102.0, 6, "%");
        assert_eq!(p.labels, ["0%", "20%", "40%", "60%", "80%", "100%"]);
        let big = Axis::linear(0.0..3000.0, 8, "");
        assert_eq!(big.labels[..3], ["0", "500", "1000"]);
    }

    #[test]
    fn log_ticks_are_round_numbers() {
        let a = Axis::log(-1.6..1.1);
        assert_eq!(a.labels, ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10"]);
        let wide = Axis::log(-9.2..1.5);
        assert_eq!(wide.labels, ["1e-8", "1e-6", "1e-4", "0.01", "1"]);
        assert_eq!(log_label(3.0, -1), "0.3");
        assert_eq!(log_label(1.0, -3), "1e-3");
    }

    #[test]
    fn thinning_keeps_the_ends_and_the_extremes() {
        let pts: Vec<(f64, f64)> = (0..3000)
            .map(|i| (i as f64, if i == 1234 { 9.0 } else { (i % 7) as f64 }))
            .collect();
        let t = thin(&pts, 1000);
        assert!(t.len() <= 1000 && t.len() > 900, "{}", t.len());
        assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(t.contains(&(1234.0, 9.0)));
        assert_eq!(thin(&pts[..10], 1000).len(), 10);
    }
}
