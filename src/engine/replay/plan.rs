//! Planning: affine nodes on the same inputs with shared weights grouped
//! into layers (one matrix product each), their activations fused in;
//! every other node runs on its own.

use super::layout::regular;
use super::record::FastMap;
use super::{Arg, Layer, Node, Replay, Step};
use crate::engine::ops::Op;

impl Replay {
    /// Groups affine nodes on the same inputs, with shared weights, into
    /// layers; everything else runs node by node.
    pub(super) fn plan(&mut self) {
        let is_layer_node = |n: &Node| {
            matches!(n.op, Op::Affine | Op::Dot) && {
                let k = if n.op == Op::Affine {
                    n.args.len() - 1
                } else {
                    n.args.len()
                } / 2;
                n.args[..k].iter().all(|a| matches!(a, Arg::Shared(_)))
                    && n.args[k..2 * k].iter().all(|a| matches!(a, Arg::Lane(_)))
                    && (n.op == Op::Dot || matches!(n.args[2 * k], Arg::Shared(_)))
            }
        };
        let split = |n: &Node| {
            let k = if n.op == Op::Affine {
                n.args.len() - 1
            } else {
                n.args.len()
            } / 2;
            let shared = |a: &Arg| match a {
                Arg::Shared(s) => *s,
                Arg::Lane(_) => unreachable!("checked"),
            };
            let lane = |a: &Arg| match a {
                Arg::Lane(l) => *l,
                Arg::Shared(_) => unreachable!("checked"),
            };
            let w: Vec<usize> = n.args[..k].iter().map(shared).collect();
            let x: Vec<usize> = n.args[k..2 * k].iter().map(lane).collect();
            let b = (n.op == Op::Affine).then(|| shared(&n.args[2 * k]));
            (w, x, b)
        };
        // layers by their inputs (and kind): a node on the same inputs as an
        // earlier layer joins it. The layer runs where its first node stood,
        // which is before any node that uses one of its outputs, and after its
        // inputs, which every member shares.
        let mut by_inputs: FastMap<(bool, Vec<usize>), usize> = FastMap::default();
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if !is_layer_node(n) {
                self.steps.push(Step::Node(i));
                continue;
            }
            let (w, x, b) = split(n);
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
        for layer in &mut self.layers {
            layer.regular = regular(&layer.w);
        }
        // an activation of a layer's output runs inside the layer
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
