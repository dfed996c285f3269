//! Planning: affine nodes on the same inputs with shared weights grouped
//! into layers (one matrix product each), their activations fused in;
//! every other node runs on its own.

use super::layout::regular;
use super::record::FastMap;
use super::{Arg, Layer, Node, Program, Step};
use crate::engine::ops::Op;

/// A neuron's row of a layer: its weights' and bias's shared slots and its
/// inputs' lanes, if node `n` is an affine node (or dot) with shared weights
/// and lane inputs.
fn layer_row(n: &Node) -> Option<(Vec<usize>, Vec<usize>, Option<usize>)> {
    if !matches!(n.op, Op::Affine | Op::Dot) {
        return None;
    }
    let affine = n.op == Op::Affine;
    let k = (n.args.len() - usize::from(affine)) / 2;
    let shared = |a: &Arg| match a {
        Arg::Shared(s) => Some(*s),
        Arg::Lane(_) => None,
    };
    let lane = |a: &Arg| match a {
        Arg::Lane(l) => Some(*l),
        Arg::Shared(_) => None,
    };
    let w: Vec<usize> = n.args[..k].iter().map(shared).collect::<Option<_>>()?;
    let x: Vec<usize> = n.args[k..2 * k].iter().map(lane).collect::<Option<_>>()?;
    let b = match affine {
        true => Some(shared(&n.args[2 * k])?),
        false => None,
    };
    Some((w, x, b))
}

impl Program {
    /// Groups affine nodes on the same inputs, with shared weights, into
    /// layers; everything else runs node by node.
    pub(super) fn plan(&mut self) {
        self.group_layers();
        for layer in &mut self.layers {
            layer.regular = regular(&layer.w);
        }
        self.fuse_activations();
    }

    /// Layers by their inputs (and kind): a node on the same inputs as an
    /// earlier layer joins it. The layer runs where its first node stood,
    /// which is before any node that uses one of its outputs, and after its
    /// inputs, which every member shares.
    fn group_layers(&mut self) {
        let mut by_inputs: FastMap<(bool, Vec<usize>), usize> = FastMap::default();
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let Some((w, x, b)) = layer_row(n) else {
                self.steps.push(Step::Node(i));
                continue;
            };
            let key = (n.op == Op::Affine, x);
            match by_inputs.get(&key) {
                Some(&l) => {
                    let layer = &mut self.layers[l];
                    layer.out.push(i);
                    layer.w.push(w);
                    layer.act.push(None);
                    if let (Some(bs), Some(b)) = (&mut layer.b, b) {
                        bs.push(b);
                    }
                }
                None => {
                    by_inputs.insert(key.clone(), self.layers.len());
                    self.steps.push(Step::Layer(self.layers.len()));
                    self.layers.push(Layer {
                        x: key.1,
                        out: vec![i],
                        w: vec![w],
                        b: b.map(|b| vec![b]),
                        act: vec![None],
                        regular: None,
                    });
                }
            }
        }
    }

    /// An activation of a layer's output runs inside the layer.
    fn fuse_activations(&mut self) {
        let mut row_of = FastMap::default();
        for (l, layer) in self.layers.iter().enumerate() {
            for (k, &o) in layer.out.iter().enumerate() {
                row_of.insert(o, (l, k));
            }
        }
        let nodes = &self.nodes;
        let layers = &mut self.layers;
        self.steps.retain(|s| {
            let Step::Node(i) = *s else { return true };
            let n = &nodes[i];
            let fusable = matches!(n.op, Op::Relu | Op::Tanh | Op::Sigmoid);
            match (fusable, n.args.as_slice()) {
                (true, [Arg::Lane(o)]) => match row_of.get(o) {
                    Some(&(l, k)) if layers[l].act[k].is_none() => {
                        layers[l].act[k] = Some((i, n.op));
                        false
                    }
                    _ => true,
                },
                _ => true,
            }
        });
    }
}
