//! Training pictures: loss and accuracy per step, a 2-D decision boundary,
//! a confusion matrix, the columns' importance. SVG or PNG through plotters, with no system fonts or
//! libraries needed: the text is set in DejaVu Sans, which the crate ships
//! (`assets/`).
//!
//! Every picture shares the conventions in [`axis`]: ticks at round numbers
//! labelled to their step, label areas as wide as their labels, and one
//! colour per series ([`TRAIN`], [`VALID`], [`TEST`]) in every plot.

mod axis;
mod boundary;
mod confusion;
mod history;
mod importance;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{VizError, write_atomic};

pub use boundary::{plot_decision_boundary, plot_decision_boundary_many};
pub use confusion::plot_confusion;
pub use history::{Curves, plot_history};
pub use importance::plot_importance;

/// Something drawn the same way on any plotters backend; `raster`: the
/// backend is a bitmap (where thick lines need [`history`]'s brush).
trait Picture {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        raster: bool,
    ) -> Result<(), VizError>;
}

/// Registers the shipped font under "sans-serif", once. (On WebAssembly
/// plotters draws text with the browser's fonts: there is nothing to register,
/// and the static site draws no plots.)
#[cfg(not(target_arch = "wasm32"))]
fn register_font() {
    static FONT: std::sync::Once = std::sync::Once::new();
    FONT.call_once(|| {
        // the font is valid: it is checked in, and a test draws with it
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../../assets/DejaVuSans.ttf"),
        );
    });
}

#[cfg(target_arch = "wasm32")]
fn register_font() {}

/// Draws `pic` to `path`: PNG if the path ends in `.png`, SVG otherwise;
/// through a temporary file and a rename, so a failure leaves no partial file.
fn save(path: &Path, pic: &impl Picture) -> Result<(), VizError> {
    register_font();
    let is_png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png {
        save_png(path, pic)
    } else {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, pic.size()).into_drawing_area();
            pic.draw(&root, false)?;
            root.present().map_err(err)?;
        }
        write_atomic(path, round_joins(&svg).as_bytes())
    }
}

/// Draws `pic` to the PNG file `path`, through a temporary file.
#[cfg(not(target_arch = "wasm32"))]
fn save_png(path: &Path, pic: &impl Picture) -> Result<(), VizError> {
    crate::files::write_together(&[path], |_, tmp| {
        let root = BitMapBackend::new(tmp, pic.size()).into_drawing_area();
        pic.draw(&root, true).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    })
    .map_err(VizError::Io)
}

/// On WebAssembly there are no files to write a PNG to (plotters' bitmap
/// backend writes only to memory there).
#[cfg(target_arch = "wasm32")]
fn save_png(path: &Path, _pic: &impl Picture) -> Result<(), VizError> {
    Err(VizError::Io(format!(
        "{}: cannot write a PNG file on WebAssembly",
        path.display()
    )))
}

/// Plotters writes polylines with mitred corners, which turn a dense curve's
/// sharp turns into spikes; round joins draw it as one smooth stroke.
fn round_joins(svg: &str) -> String {
    svg.replace(
        "<polyline fill=\"none\"",
        "<polyline fill=\"none\" stroke-linejoin=\"round\"",
    )
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

/// The training series, in every plot.
const TRAIN: RGBColor = RGBColor(31, 119, 180);
/// The validation series, in every plot.
const VALID: RGBColor = RGBColor(255, 127, 14);
/// The test series, in every plot.
const TEST: RGBColor = RGBColor(214, 39, 40);
/// The early-stopping marker.
const BEST: RGBColor = RGBColor(90, 90, 90);

/// The font of tick labels, legends and cell text.
fn font(size: u32) -> FontDesc<'static> {
    ("sans-serif", size).into_font()
}

/// How wide and tall `text` is set in `font` (a rough guess if the font
/// cannot say).
fn text_size(text: &str, font: &FontDesc) -> (u32, u32) {
    register_font();
    font.box_size(text).unwrap_or_else(|_| {
        let size = font.get_size();
        (
            (0.62 * size * text.chars().count() as f64) as u32,
            size as u32,
        )
    })
}

/// `s` broken at spaces into lines of at most `width` characters where it
/// can be (a longer word is a line of its own): long class names wrap
/// instead of being cut.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in s.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_keeps_every_word() {
        assert_eq!(wrap("setosa", 10), ["setosa"]);
        assert_eq!(
            wrap("Iris versicolor (harlequin blueflag)", 16),
            ["Iris versicolor", "(harlequin", "blueflag)"]
        );
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            ["averyveryverylongword", "x"]
        );
    }

    #[test]
    fn text_is_measured_with_the_shipped_font() {
        let (w, h) = text_size("versicolor", &font(14));
        assert!((50..110).contains(&w) && (8..20).contains(&h), "{w}x{h}");
    }
}
