//! The lecture's `draw_dot`: an expression graph as DOT text, and as SVG.

use std::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::Command;

use crate::engine::{GraphNode, Value};

/// Which way the graph flows (Graphviz's `rankdir`).
///
/// ```
/// use micrograd::{Value, viz::{DotOptions, RankDir, draw_dot}};
/// let opts = DotOptions { rankdir: RankDir::TopBottom, ..DotOptions::default() };
/// assert!(draw_dot(Value::new(1.0), opts).unwrap().contains("rankdir=TB"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankDir {
    /// Left to right, `rankdir=LR` (the lecture's default).
    #[default]
    LeftRight,
    /// Top to bottom, `rankdir=TB`.
    TopBottom,
}

/// Options for [`draw_dot`] and [`draw_svg`].
///
/// ```
/// let o = micrograd::viz::DotOptions::default();
/// assert_eq!((o.max_nodes, o.max_layout), (500, 1200));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DotOptions {
    /// Direction of the layout.
    pub rankdir: RankDir,
    /// Graphs with more values than this are refused: a training step has
    /// 10^4–10^5 values, which no layout makes readable.
    pub max_nodes: usize,
    /// [`draw_svg`] refuses graphs whose layout costs more than this: the
    /// ranks its edges cross, in all (a chain of n ops costs about 2n; a
    /// value shared by n ops far apart, as in `x + x + ... + x`, about n²).
    /// 1200 takes about a second on a 2-core machine; the time grows with
    /// the square of the cost.
    pub max_layout: usize,
}

impl Default for DotOptions {
    fn default() -> Self {
        DotOptions {
            rankdir: RankDir::LeftRight,
            max_nodes: 500,
            max_layout: 1200,
        }
    }
}

/// Why a graph was not drawn.
///
/// ```
/// use micrograd::{Value, viz::{DotOptions, VizError, draw_dot}};
/// let y = Value::new(1.0) * 2.0 + 1.0;
/// let e = draw_dot(y, DotOptions { max_nodes: 2, ..DotOptions::default() }).unwrap_err();
/// assert_eq!(e, VizError::TooLarge { nodes: 3, max: 2 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VizError {
    /// The graph has more values than [`DotOptions::max_nodes`].
    TooLarge {
        /// Values in the graph.
        nodes: usize,
        /// The limit.
        max: usize,
    },
    /// Laying the graph out would take too long (see
    /// [`DotOptions::max_layout`]).
    TooSlow {
        /// The graph's layout cost.
        cost: usize,
        /// The limit.
        max: usize,
    },
    /// The layout engine failed on this graph.
    Layout(String),
    /// Graphviz's `dot` is not on the PATH, or failed.
    Graphviz(String),
    /// A file could not be written.
    Io(String),
}

impl fmt::Display for VizError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VizError::TooLarge { nodes, max } => write!(
                f,
                "the graph has {nodes} values, too many to draw readably (the limit is {max}); \
                 draw a smaller expression, e.g. one neuron or one sample's loss"
            ),
            VizError::TooSlow { cost, max } => write!(
                f,
                "the graph is too tangled to lay out here in reasonable time: values used by \
                 many ops far apart make its edges cross {cost} ranks in all (the limit, about \
                 a second, is {max}); write it as DOT (a .dot path, or `grad --dot`) and render \
                 it with Graphviz, or draw a smaller expression"
            ),
            VizError::Layout(m) => write!(f, "laying out the graph failed: {m}"),
            VizError::Graphviz(m) => write!(f, "graphviz: {m}"),
            VizError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for VizError {}

/// The graph of `root` in Graphviz's DOT language, as the lecture's `draw_dot`
/// makes it: one record node `{ label | data 2.0000 | grad -3.0000 }` per
/// value, one small node per op between a value and its children.
///
/// Before [`backward`](Value::backward) every gradient is 0, so the picture
/// shows `grad 0.0000` everywhere; call it first to see the gradients.
///
/// ```
/// use micrograd::{Value, viz::{DotOptions, draw_dot}};
/// let a = Value::new(2.0).with_label("a");
/// let b = Value::new(-3.0).with_label("b");
/// let c = (a * b).with_label("c");
/// let before = draw_dot(c, DotOptions::default()).unwrap();
/// assert!(before.contains("{ c | data -6.0000 | grad 0.0000 }"));
/// c.backward();
/// let dot = draw_dot(c, DotOptions::default()).unwrap();
/// assert!(dot.contains("rankdir=LR"));
/// assert!(dot.contains("{ a | data 2.0000 | grad -3.0000 }"));
/// assert!(dot.contains("label=\"*\""));
/// ```
pub fn draw_dot(root: Value, opts: DotOptions) -> Result<String, VizError> {
    let nodes = root.graph_size();
    if nodes > opts.max_nodes {
        return Err(VizError::TooLarge {
            nodes,
            max: opts.max_nodes,
        });
    }
    Ok(to_dot(&root.trace(), opts.rankdir))
}

fn to_dot(g: &[GraphNode], rankdir: RankDir) -> String {
    let rd = match rankdir {
        RankDir::LeftRight => "LR",
        RankDir::TopBottom => "TB",
    };
    let mut s = String::new();
    let _ = writeln!(s, "digraph {{");
    let _ = writeln!(s, "  graph [rankdir={rd}];");
    let _ = writeln!(s, "  node [fontname=\"Helvetica\"];");
    for (k, n) in g.iter().enumerate() {
        let _ = writeln!(
            s,
            "  v{k} [shape=record, label=\"{{ {} | data {:.4} | grad {:.4} }}\"];",
            escape_record(&n.label),
            n.data,
            n.grad
        );
        if !n.op.is_empty() {
            // an op node for this value, and an edge from it to the value
            let _ = writeln!(s, "  v{k}op [label=\"{}\"];", escape(&n.op));
            let _ = writeln!(s, "  v{k}op -> v{k};");
            for c in &n.children {
                let _ = writeln!(s, "  v{c} -> v{k}op;");
            }
        }
    }
    s.push_str("}\n");
    s
}

/// The work a layered layout of the graph takes: one unit per rank each
/// edge crosses (a long edge becomes a chain of virtual nodes, one per rank,
/// and crossing reduction works on all of them). A shared value used far up
/// the graph (`x + x + ... + x`) costs the square of its uses. Measured with
/// layout-rs on `grad --svg`: cost 400 (a chain of 200 tanh) 0.13 s, 900
/// 0.5 s, 1600 1.3–2 s, 2500 3.3 s, 3800 8 s.
fn layout_cost(g: &[GraphNode]) -> usize {
    // ranks from the root (last in the list) down, each value one rank
    // below its farthest user's op node, as a layered layout places it
    let mut rank = vec![0usize; g.len()];
    for (k, n) in g.iter().enumerate().rev() {
        for &c in &n.children {
            rank[c] = rank[c].max(rank[k] + 2); // value, op node, child
        }
    }
    g.iter()
        .enumerate()
        .filter(|(_, n)| !n.op.is_empty())
        .map(|(k, n)| {
            1 + n
                .children
                .iter()
                .map(|&c| rank[c] - rank[k] - 1)
                .sum::<usize>()
        })
        .sum()
}

/// Escapes a DOT string.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Escapes a field of a record label, where `{ } | < >` are structure.
fn escape_record(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if matches!(c, '{' | '}' | '|' | '<' | '>' | '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Renders DOT text to SVG in-process with layout-rs: no Graphviz needed.
///
/// ```
/// use micrograd::{Value, viz::{DotOptions, draw_dot, dot_to_svg}};
/// let y = (Value::new(1.0).with_label("x") * 2.0).tanh().with_label("y");
/// y.backward();
/// let svg = dot_to_svg(&draw_dot(y, DotOptions::default()).unwrap()).unwrap();
/// assert!(svg.contains("<svg") && svg.contains("tanh"));
/// ```
pub fn dot_to_svg(dot: &str) -> Result<String, VizError> {
    // layout-rs measures a character as wide as the font is tall, which makes
    // a record's cells three times wider than their text. Nodes are laid out
    // at a font of LAYOUT_PX (about a SHOWN_PX Times character's width) and
    // their text is then drawn at SHOWN_PX: boxes fit their text, as
    // Graphviz's do. A node that sets its own fontsize keeps layout-rs's sizing.
    const LAYOUT_PX: usize = 8;
    const SHOWN_PX: usize = 14;
    let compact = dot.find('{').map(|at| {
        format!(
            "{} node [fontsize={LAYOUT_PX}];{}",
            &dot[..=at],
            &dot[at + 1..]
        )
    });
    let svg = match compact.map(|d| layout_svg(&d)) {
        Some(Ok(svg)) => svg,
        _ => return layout_svg(dot),
    };
    let small = format!(".a{LAYOUT_PX} {{ font-size: {LAYOUT_PX}px;");
    let shown = format!(".a{LAYOUT_PX} {{ font-size: {SHOWN_PX}px;");
    Ok(sorted_styles(&svg.replacen(&small, &shown, 1)))
}

/// The SVG with its `<style>` rules in a fixed order: layout-rs writes one
/// rule a font size from a hash map, so two sizes came out in either order
/// and the same graph gave different bytes from call to call.
fn sorted_styles(svg: &str) -> String {
    const OPEN: &str = "<style>\n";
    let (Some(a), Some(b)) = (svg.find(OPEN), svg.find("</style>")) else {
        return svg.to_owned();
    };
    let Some(body) = svg.get(a + OPEN.len()..b) else {
        return svg.to_owned();
    };
    let mut rules: Vec<&str> = body.lines().collect();
    rules.sort_unstable();
    format!(
        "{}{}\n{}",
        &svg[..a + OPEN.len()],
        rules.join("\n"),
        &svg[b..]
    )
}

/// DOT to SVG with layout-rs, as it draws it.
fn layout_svg(dot: &str) -> Result<String, VizError> {
    use layout::backends::svg::SVGWriter;
    use layout::gv::{DotParser, GraphBuilder};

    let ast = DotParser::new(dot).process().map_err(VizError::Layout)?;
    // layout-rs asserts on graphs it cannot place; keep that from ending the program.
    catch_unwind(AssertUnwindSafe(|| {
        let mut gb = GraphBuilder::new();
        gb.visit_graph(&ast);
        let mut vg = gb.get();
        let mut svg = SVGWriter::new();
        vg.do_it(false, false, false, &mut svg);
        svg.finalize()
    }))
    .map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the layout engine panicked".into());
        VizError::Layout(msg)
    })
}

/// Renders DOT with Graphviz's `dot` program (better layout, and PNG), if it
/// is on the PATH: `format` is what `dot -T` takes (`svg`, `png`, `pdf`).
///
/// ```no_run
/// # fn main() -> Result<(), micrograd::viz::VizError> {
/// let png = micrograd::viz::render_with_graphviz("digraph { a -> b }", "png")?;
/// std::fs::write("graph.png", png).unwrap();
/// # Ok(()) }
/// ```
pub fn render_with_graphviz(dot: &str, format: &str) -> Result<Vec<u8>, VizError> {
    use std::io::Write as _;
    let mut child = Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            VizError::Graphviz(format!(
                "cannot run `dot` ({e}); install Graphviz, or use the built-in SVG renderer"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot.as_bytes())
            .map_err(|e| VizError::Graphviz(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| VizError::Graphviz(e.to_string()))?;
    if !out.status.success() {
        return Err(VizError::Graphviz(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(out.stdout)
}

/// Draws the graph of `root` to `path`: SVG rendered in-process, or, for a
/// `.dot` path, the DOT text itself.
///
/// ```
/// use micrograd::{Value, viz::{DotOptions, save_graph}};
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = tmp.path();
/// let y = Value::new(3.0).exp();
/// save_graph(y, &dir.join("y.svg"), DotOptions::default()).unwrap();
/// assert!(std::fs::read_to_string(dir.join("y.svg")).unwrap().contains("exp"));
/// ```
pub fn save_graph(root: Value, path: &Path, opts: DotOptions) -> Result<(), VizError> {
    let is_dot = path.extension().is_some_and(|e| e == "dot" || e == "gv");
    let text = if is_dot {
        draw_dot(root, opts)?
    } else {
        draw_svg(root, opts)?
    };
    super::write_atomic(path, text.as_bytes())
}

/// The graph of `root` as SVG, laid out in-process ([`draw_dot`], then
/// [`dot_to_svg`]); a graph whose layout would take more than about a
/// second is refused first ([`DotOptions::max_layout`]).
///
/// ```
/// use micrograd::{Value, viz::{DotOptions, VizError, draw_svg}};
/// let x = Value::new(1.0).with_label("x");
/// assert!(draw_svg(x * 2.0 + x, DotOptions::default()).unwrap().contains("<svg"));
/// let mut y = x;
/// for _ in 0..60 {
///     y = y + x; // x shared by 60 ops, each a rank further up
/// }
/// let e = draw_svg(y, DotOptions::default()).unwrap_err();
/// assert!(matches!(e, VizError::TooSlow { .. }));
/// ```
pub fn draw_svg(root: Value, opts: DotOptions) -> Result<String, VizError> {
    let dot = draw_dot(root, opts)?;
    let cost = layout_cost(&root.trace());
    if cost > opts.max_layout {
        return Err(VizError::TooSlow {
            cost,
            max: opts.max_layout,
        });
    }
    dot_to_svg(&dot)
}
