//! Pictures: the expression graph (the lecture's `draw_dot`), rendered to SVG
//! in pure Rust, and the training plots. Nothing here needs a system library.

mod graph;
mod network;
mod plot;

use std::path::Path;

pub use graph::{
    DotOptions, RankDir, VizError, dot_to_svg, draw_dot, draw_svg, render_with_graphviz, save_graph,
};
pub use network::{Unit, draw_network, network_units};
pub use plot::{
    Curves, plot_confusion, plot_decision_boundary, plot_decision_boundary_many, plot_history,
    plot_importance,
};

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so that a failure never leaves a half-written file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), VizError> {
    crate::files::write_atomic(path, bytes).map_err(VizError::Io)
}

/// Kept here too: the text helpers the pictures' captions use.
pub use crate::text::{fmt_num, fmt_short, shorten};
