//! Reading a graph back off the tape, for drawing it.

use super::tape::{self, Op, Tape};
use super::value::Value;

/// One value of a traced graph; see [`Value::trace`].
///
/// ```
/// use micrograd::Value;
/// let a = Value::new(1.0);
/// let g = (a + a).trace();
/// assert_eq!((g[1].op.as_str(), g[1].children.clone()), ("+", vec![0, 0]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GraphNode {
    /// The value.
    pub value: Value,
    /// Its label, or `""`.
    pub label: String,
    /// Its data.
    pub data: f64,
    /// Its gradient.
    pub grad: f64,
    /// The op that made it as the graph shows it, constants included
    /// (`"+"`, `"* 2"`, `"1 -"`, `"**2"`, `"tanh"`), or `""` for a leaf.
    pub op: String,
    /// Positions of its children in the traced list, in operand order.
    pub children: Vec<usize>,
}

impl Tape {
    /// The op of node `i` with its constant, as the graph shows it.
    fn op_label(&self, i: usize) -> String {
        let op = self.op[i];
        let c = || self.consts[self.args[i][1] as usize];
        match op {
            Op::MulC => format!("* {}", c()),
            Op::DivC => format!("/ {}", c()),
            Op::PowC => format!("**{}", c()),
            // AddC, SubC, RSubC, RDivC do not keep their constant
            _ => op.symbol().to_owned(),
        }
    }
}

impl Value {
    /// How many values the graph of `self` holds (itself included).
    ///
    /// ```
    /// use micrograd::Value;
    /// let a = Value::new(2.0);
    /// let b = a * a + 1.0;
    /// assert_eq!(b.graph_size(), 3); // a, a*a, a*a + 1
    /// ```
    pub fn graph_size(self) -> usize {
        tape::with(|t| {
            let root = self.live(t);
            t.mark_reachable(root);
            t.marks.iter().map(|w| w.count_ones() as usize).sum()
        })
    }

    /// Every value `self` depends on, and itself, in creation order (children
    /// before parents), with their numbers and links: what
    /// [`draw_dot`](crate::viz::draw_dot) draws. No recursion.
    ///
    /// ```
    /// use micrograd::Value;
    /// let x = Value::new(3.0).with_label("x");
    /// let y = (x * 2.0).with_label("y");
    /// let g = y.trace();
    /// assert_eq!(g.len(), 2);
    /// assert_eq!((g[0].label.as_str(), g[1].op.as_str()), ("x", "* 2"));
    /// assert_eq!(g[1].children, vec![0]);
    /// ```
    pub fn trace(self) -> Vec<GraphNode> {
        tape::with(|t| {
            let root = self.live(t);
            t.mark_reachable(root);
            let mut pos = std::collections::HashMap::new();
            let mut out = Vec::new();
            for i in (0..=root).filter(|&i| t.is_marked(i)) {
                pos.insert(i as u32, out.len());
                out.push(GraphNode {
                    value: Value::at(t, i as u32, t.scope_of(i as u32)),
                    label: t.labels.get(&(i as u32)).cloned().unwrap_or_default(),
                    data: t.data[i],
                    grad: t.grad_of(i as u32),
                    op: t.op_label(i),
                    children: t.children(i).iter().map(|c| pos[c]).collect(),
                });
            }
            out
        })
    }
}
