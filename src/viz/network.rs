//! A network drawn neuron by neuron: one record a neuron, with its output and
//! that output's gradient, for networks too big to read node by node.

use std::fmt::Write;

use crate::Value;
use crate::nn::MLP;

/// One box of [`draw_network`]: a name, a number and its gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// What the box is: `x1`, `L2.n3`, `loss`.
    pub label: String,
    /// Its value.
    pub data: f64,
    /// d(root)/d(value) after the root's `backward`.
    pub grad: f64,
}

impl Unit {
    /// The box of `v`, named `label`.
    ///
    /// ```
    /// use micrograd::{Value, viz::Unit};
    /// let u = Unit::of("x", Value::new(2.0));
    /// assert_eq!((u.label.as_str(), u.data, u.grad), ("x", 2.0, 0.0));
    /// ```
    pub fn of(label: impl Into<String>, v: Value) -> Unit {
        Unit {
            label: label.into(),
            data: v.data(),
            grad: v.grad(),
        }
    }
}

/// A network's units column by column, after one sample's forward and the
/// backward of `loss(outputs)`: the inputs, each layer's neurons (their
/// outputs, after the activation), then the loss. Each column feeds the next.
/// The backward adds into the parameters' gradients, as any backward does:
/// zero them before, or put them back after, as the caller needs.
///
/// ```
/// use micrograd::{MLP, Value, viz::network_units};
/// let model = MLP::new(2, &[3, 1]);
/// let cols = network_units(&model, &[1.0, -1.0], |out| (out[0] - 1.0).pow(2.0));
/// let sizes: Vec<usize> = cols.iter().map(Vec::len).collect();
/// assert_eq!(sizes, [2, 3, 1, 1]);
/// assert_eq!(cols[3][0].label, "loss");
/// assert_eq!(cols[3][0].grad, 1.0);
/// ```
pub fn network_units(model: &MLP, x: &[f64], loss: impl Fn(&[Value]) -> Value) -> Vec<Vec<Unit>> {
    use crate::nn::Module;
    let _s = crate::scope();
    let inputs: Vec<Value> = x.iter().map(|&v| Value::new(v)).collect();
    let mut columns = vec![inputs.clone()];
    for layer in &model.layers {
        let next = layer.forward(columns.last().unwrap());
        columns.push(next);
    }
    let l = loss(columns.last().unwrap());
    l.backward();
    let mut units: Vec<Vec<Unit>> = columns
        .iter()
        .enumerate()
        .map(|(c, col)| {
            col.iter()
                .enumerate()
                .map(|(j, &v)| match c {
                    0 => Unit::of(format!("x{}", j + 1), v),
                    _ => Unit::of(format!("L{c}.n{j}"), v),
                })
                .collect()
        })
        .collect();
    units.push(vec![Unit::of("loss", l)]);
    units
}

/// DOT for `columns` of units, left to right, each unit joined to every unit
/// of the next column (a dense network's wiring): one record a unit,
/// `{ label | data | grad }` as [`draw_dot`](super::draw_dot) draws values.
///
/// ```
/// use micrograd::viz::{Unit, draw_network};
/// let u = |l: &str| Unit { label: l.into(), data: 1.0, grad: 0.5 };
/// let dot = draw_network(&[vec![u("x1"), u("x2")], vec![u("loss")]]);
/// assert_eq!(dot.matches("shape=record").count(), 3);
/// assert_eq!(dot.matches(" -> ").count(), 2);
/// assert!(dot.contains("data 1.0000 | grad 0.5000"));
/// ```
pub fn draw_network(columns: &[Vec<Unit>]) -> String {
    let mut s =
        String::from("digraph {\n  graph [rankdir=LR];\n  node [fontname=\"Helvetica\"];\n");
    for (c, col) in columns.iter().enumerate() {
        for (j, u) in col.iter().enumerate() {
            let _ = writeln!(
                s,
                "  u{c}_{j} [shape=record, label=\"{{ {} | data {:.4} | grad {:.4} }}\"];",
                u.label.replace(['{', '}', '|', '<', '>', '"'], "_"),
                u.data,
                u.grad
            );
        }
        if let Some(next) = columns.get(c + 1) {
            for j in 0..col.len() {
                for k in 0..next.len() {
                    let _ = writeln!(s, "  u{c}_{j} -> u{}_{k};", c + 1);
                }
            }
        }
    }
    s.push_str("}\n");
    s
}
