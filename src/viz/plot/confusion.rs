//! The confusion matrix of a classifier's test scores: `confusion.svg`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{DESC_FONT, TICK_FONT};
use super::{CLASS, Picture, VizError, err, font, save, text_size, wrap};
use crate::metrics::Confusion;

/// A confusion matrix as a picture: rows are the true classes, columns the
/// predicted ones, each cell shaded by the share of its row and labelled
/// with its count and that share in percent. Class names are written in
/// full, wrapped at spaces if long, and the picture grows to fit them.
/// SVG or PNG by the path's extension.
///
/// ```
/// use micrograd::metrics::Confusion;
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = tmp.path();
/// let c = Confusion::new(&["cat".into(), "dog".into()], &[0.0, 1.0, 1.0], &[0.0, 1.0, 0.0]);
/// micrograd::viz::plot_confusion(&dir.join("cm.svg"), &c).unwrap();
/// let svg = std::fs::read_to_string(dir.join("cm.svg")).unwrap();
/// assert!(svg.contains("dog") && svg.contains("predicted") && svg.contains("50%"));
/// ```
pub fn plot_confusion(path: &Path, c: &Confusion) -> Result<(), VizError> {
    save(path, &Layout::of(c))
}

/// Characters per line of a class name.
const NAME_WIDTH: usize = 28;
/// Height of a line of names.
const LINE: i32 = 20;
/// Room for the title and "predicted class" above the column names.
const HEAD: i32 = 84;

/// Where everything goes: worked out from the names' sizes in the font.
struct Layout<'a> {
    c: &'a Confusion,
    /// Each class's name, wrapped.
    names: Vec<Vec<String>>,
    cell: i32,
    /// The cells' left and top edges.
    left: i32,
    top: i32,
    /// Column names written upwards: they are wider than a cell.
    upright: bool,
}

impl<'a> Layout<'a> {
    fn of(c: &'a Confusion) -> Layout<'a> {
        let k = c.classes.len().max(1) as i32;
        let cell = (720 / k).clamp(18, 110);
        let names: Vec<Vec<String>> = c.classes.iter().map(|n| wrap(n, NAME_WIDTH)).collect();
        let widest = names
            .iter()
            .flatten()
            .map(|l| text_size(l, &font(TICK_FONT)).0 as i32)
            .max()
            .unwrap_or(0);
        let lines = names.iter().map(Vec::len).max().unwrap_or(1) as i32;
        let upright = widest > cell - 8;
        let column_names = if upright {
            widest + 12
        } else {
            lines * LINE + 8
        };
        Layout {
            c,
            names,
            cell,
            left: 44 + widest + 14,
            top: HEAD + column_names,
            upright,
        }
    }

    fn k(&self) -> i32 {
        self.c.classes.len() as i32
    }

    /// The names: down the left for the rows, across the top (or upwards
    /// if they are wider than a cell) for the columns.
    fn draw_names<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), VizError> {
        let name_font = || font(TICK_FONT).color(&BLACK);
        let cell = self.cell;
        for (t, lines) in self.names.iter().enumerate() {
            let n = lines.len() as i32;
            let row_mid = self.top + t as i32 * cell + cell / 2;
            let col_mid = self.left + t as i32 * cell + cell / 2;
            for (i, line) in lines.iter().enumerate() {
                let i = i as i32;
                let y = row_mid - n * LINE / 2 + i * LINE + LINE / 2;
                let style = name_font().pos(Pos::new(HPos::Right, VPos::Center));
                root.draw(&Text::new(line.clone(), (self.left - 10, y), style))
                    .map_err(err)?;
                if self.upright {
                    let x = col_mid - n * LINE / 2 + i * LINE + LINE / 2;
                    let style = font(TICK_FONT)
                        .transform(FontTransform::Rotate270)
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Left, VPos::Center));
                    root.draw(&Text::new(line.clone(), (x, self.top - 8), style))
                        .map_err(err)?;
                } else {
                    let y = self.top - 6 - (n - i) * LINE + LINE / 2;
                    let style = name_font().pos(Pos::new(HPos::Center, VPos::Center));
                    root.draw(&Text::new(line.clone(), (col_mid, y), style))
                        .map_err(err)?;
                }
            }
        }
        Ok(())
    }

    /// A cell: shaded by its share of the row (green on the diagonal, red
    /// off it), with its count and the share in percent.
    fn draw_cell<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        (t, p): (usize, usize),
        n: usize,
        share: f64,
    ) -> Result<(), VizError> {
        let cell = self.cell;
        let (x, y) = (self.left + p as i32 * cell, self.top + t as i32 * cell);
        let colour = if t == p { CLASS[2] } else { CLASS[1] };
        root.draw(&Rectangle::new(
            [(x, y), (x + cell - 1, y + cell - 1)],
            colour.mix(0.08 + 0.8 * share).filled(),
        ))
        .map_err(err)?;
        if self.k() > 20 {
            return Ok(());
        }
        let ink = if share > 0.55 { WHITE } else { BLACK };
        let size = (cell / 4).clamp(11, 22) as u32;
        let centre = Pos::new(HPos::Center, VPos::Center);
        // the share where there is room, and something to share
        let with_share = cell >= 52 && n > 0;
        let count_y = y + cell / 2 - if with_share { cell / 8 } else { 0 };
        let style = font(size).color(&ink).pos(centre);
        root.draw(&Text::new(n.to_string(), (x + cell / 2, count_y), style))
            .map_err(err)?;
        if with_share {
            let style = font((size * 2 / 3).max(12)).color(&ink).pos(centre);
            let label = format!("{:.0}%", 100.0 * share);
            root.draw(&Text::new(
                label,
                (x + cell / 2, y + cell / 2 + cell / 5),
                style,
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}

impl Picture for Layout<'_> {
    fn size(&self) -> (u32, u32) {
        let width = (self.left + self.k().max(1) * self.cell + 24).max(360);
        (
            width as u32,
            (self.top + self.k().max(1) * self.cell + 20) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        _raster: bool,
    ) -> Result<(), VizError> {
        root.fill(&WHITE).map_err(err)?;
        let side = self.k().max(1) * self.cell;
        root.draw(&Text::new("confusion matrix", (12, 12), font(24)))
            .map_err(err)?;
        let note = "each cell: count, and share of its row";
        root.draw(&Text::new(note, (12, 42), font(13).color(&BLACK.mix(0.6))))
            .map_err(err)?;
        let centre = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            "predicted class",
            (self.left + side / 2, HEAD - 14),
            font(DESC_FONT).color(&BLACK).pos(centre),
        ))
        .map_err(err)?;
        let upward = font(DESC_FONT).transform(FontTransform::Rotate270);
        root.draw(&Text::new(
            "true class",
            (22, self.top + side / 2),
            upward.color(&BLACK).pos(centre),
        ))
        .map_err(err)?;
        self.draw_names(root)?;
        for (t, row) in self.c.counts.iter().enumerate() {
            let total = row.iter().sum::<usize>().max(1) as f64;
            for (p, &n) in row.iter().enumerate() {
                self.draw_cell(root, (t, p), n, n as f64 / total)?;
            }
        }
        Ok(())
    }
}
