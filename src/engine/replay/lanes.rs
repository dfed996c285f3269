//! A node over the lanes: each op's forward and chain rule
//! ([`Op::forward`], [`Op::chain`]) applied to every sample's lane at once,
//! compiled per op so that each loop vectorizes.

use super::{Arg, Node};
use crate::engine::ops::{Op, logsumexp};

/// An operand over the lanes: each lane its own number, or one for all.
#[derive(Clone, Copy)]
pub(super) enum Src<'a> {
    Lanes(&'a [f64]),
    All(f64),
}

impl Src<'_> {
    #[inline(always)]
    pub(super) fn at(self, r: usize) -> f64 {
        match self {
            Src::Lanes(v) => v[r],
            Src::All(x) => x,
        }
    }
}

/// Operand `a` over `b` lanes, from the values before the node.
#[inline]
pub(super) fn src<'a>(a: Arg, val: &'a [f64], shared: &[f64], b: usize) -> Src<'a> {
    match a {
        Arg::Lane(k) => Src::Lanes(&val[k * b..(k + 1) * b]),
        Arg::Shared(k) => Src::All(shared[k]),
    }
}

/// `out[r] = f(a[r])` for every lane, in a loop the compiler can vectorize.
#[inline(always)]
pub(super) fn map1(a: Src, out: &mut [f64], f: impl Fn(f64) -> f64) {
    match a {
        Src::Lanes(a) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x);
            }
        }
        Src::All(x) => out.fill(f(x)),
    }
}

/// `out[r] = f(a[r], b[r])` for every lane.
#[inline(always)]
pub(super) fn map2(a: Src, b: Src, out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Src::Lanes(a), Src::Lanes(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (Src::Lanes(a), Src::All(y)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        (Src::All(x), Src::Lanes(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y);
            }
        }
        (Src::All(x), Src::All(y)) => out.fill(f(x, y)),
    }
}

/// `out[r] = o(a[r])` with constant `c`, for every lane: [`Op::forward`].
#[inline(always)]
pub(super) fn forward1<const O: u8>(a: Src, c: f64, out: &mut [f64]) {
    let o = const { Op::numbered(O) };
    map1(
        a,
        out,
        #[inline(always)]
        |p| o.forward(p, 0.0, c),
    );
}

/// `out[r] = o(a[r], b[r])` for every lane: [`Op::forward`].
#[inline(always)]
pub(super) fn forward2<const O: u8>(a: Src, b: Src, out: &mut [f64]) {
    let o = const { Op::numbered(O) };
    map2(
        a,
        b,
        out,
        #[inline(always)]
        |p, q| o.forward(p, q, 0.0),
    );
}

/// An activation's backward over the lanes: `g[r] += o'·d[r]` from its input
/// `z` and output `y` ([`Op::chain`]), in one loop that vectorizes.
#[inline(always)]
pub(super) fn activation_backward<const O: u8>(g: &mut [f64], d: &[f64], z: &[f64], y: &[f64]) {
    let o = const { Op::numbered(O) };
    for (((g, &d), &z), &y) in g.iter_mut().zip(d).zip(z).zip(y) {
        *g += o.chain(0, d, || z, || 0.0, || 0.0, || y);
    }
}

/// A node's value in every lane, from the nodes before it: [`Op::forward`].
#[inline(always)]
pub(super) fn forward_node(n: &Node, val: &[f64], shared: &[f64], out: &mut [f64], b: usize) {
    let x = |k: usize| src(n.args[k], val, shared, b);
    let c = n.c;
    match n.op {
        Op::Leaf => out.fill(c),
        Op::Add => forward2::<{ Op::Add as u8 }>(x(0), x(1), out),
        Op::Sub => forward2::<{ Op::Sub as u8 }>(x(0), x(1), out),
        Op::Mul => forward2::<{ Op::Mul as u8 }>(x(0), x(1), out),
        Op::Div => forward2::<{ Op::Div as u8 }>(x(0), x(1), out),
        Op::Pow => forward2::<{ Op::Pow as u8 }>(x(0), x(1), out),
        Op::Neg => forward1::<{ Op::Neg as u8 }>(x(0), c, out),
        Op::AddC => forward1::<{ Op::AddC as u8 }>(x(0), c, out),
        Op::SubC => forward1::<{ Op::SubC as u8 }>(x(0), c, out),
        Op::RSubC => forward1::<{ Op::RSubC as u8 }>(x(0), c, out),
        Op::RDivC => forward1::<{ Op::RDivC as u8 }>(x(0), c, out),
        Op::MulC => forward1::<{ Op::MulC as u8 }>(x(0), c, out),
        Op::DivC => forward1::<{ Op::DivC as u8 }>(x(0), c, out),
        Op::PowC => forward1::<{ Op::PowC as u8 }>(x(0), c, out),
        Op::Exp => forward1::<{ Op::Exp as u8 }>(x(0), c, out),
        Op::Ln => forward1::<{ Op::Ln as u8 }>(x(0), c, out),
        Op::Tanh => forward1::<{ Op::Tanh as u8 }>(x(0), c, out),
        Op::Relu => forward1::<{ Op::Relu as u8 }>(x(0), c, out),
        Op::Sigmoid => forward1::<{ Op::Sigmoid as u8 }>(x(0), c, out),
        Op::Softplus => forward1::<{ Op::Softplus as u8 }>(x(0), c, out),
        Op::Sum => {
            out.fill(0.0);
            for k in 0..n.args.len() {
                match x(k) {
                    Src::Lanes(v) => {
                        for (o, p) in out.iter_mut().zip(v) {
                            *o += p;
                        }
                    }
                    Src::All(p) => {
                        for o in out.iter_mut() {
                            *o += p;
                        }
                    }
                }
            }
        }
        Op::Dot | Op::Affine => {
            let k = n.args.len() / 2;
            for (r, o) in out.iter_mut().enumerate() {
                let bias = if n.op == Op::Affine {
                    x(2 * k).at(r)
                } else {
                    0.0
                };
                *o = (0..k).fold(bias, |acc, j| acc + x(j).at(r) * x(k + j).at(r));
            }
        }
        Op::LogSumExp => {
            for (r, o) in out.iter_mut().enumerate() {
                *o = logsumexp((0..n.args.len()).map(|k| x(k).at(r)));
            }
        }
    }
}

/// Where a node's backward sends gradients: its operands' lanes, or the
/// shared values' sums.
pub(super) struct Give<'a> {
    args: &'a [Arg],
    grad: &'a mut [f64],
    shared_grad: &'a mut [f64],
    b: usize,
}

impl Give<'_> {
    /// Adds `d(r)` to operand `k`'s gradient for every lane `r`: lane by
    /// lane for a lane operand, summed over the lanes for a shared one.
    #[inline(always)]
    pub(super) fn add(&mut self, k: usize, d: impl Fn(usize) -> f64) {
        let b = self.b;
        match self.args[k] {
            Arg::Lane(c) => {
                for (r, g) in self.grad[c * b..(c + 1) * b].iter_mut().enumerate() {
                    *g += d(r);
                }
            }
            Arg::Shared(c) => {
                // four running sums: a shared operand's gradient adds up every lane
                let mut acc = [0.0; 4];
                for r in 0..b {
                    acc[r & 3] += d(r);
                }
                self.shared_grad[c] += (acc[0] + acc[1]) + (acc[2] + acc[3]);
            }
        }
    }
}

/// Adds node `i`'s lane gradients times its local derivatives to its
/// operands: a lane operand lane by lane, a shared one summed over lanes.
#[inline(always)]
pub(super) fn backward_node(
    n: &Node,
    i: usize,
    val: &[f64],
    grad: &mut [f64],
    shared: &[f64],
    shared_grad: &mut [f64],
    b: usize,
) {
    let (before, after) = grad.split_at_mut(i * b);
    let gi = &after[..b];
    if gi.iter().all(|&g| g == 0.0) {
        return; // nothing flows through this node
    }
    let out = &val[i * b..(i + 1) * b];
    let x = |k: usize| src(n.args[k], val, shared, b);
    let mut g = Give {
        args: &n.args,
        grad: before,
        shared_grad,
        b,
    };
    let c = n.c;
    match n.op {
        Op::Leaf => {}
        Op::Add => backward2::<{ Op::Add as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Sub => backward2::<{ Op::Sub as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Mul => backward2::<{ Op::Mul as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Div => backward2::<{ Op::Div as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Pow => backward2::<{ Op::Pow as u8 }>(&mut g, gi, x(0), x(1), out),
        Op::Neg => backward1::<{ Op::Neg as u8 }>(&mut g, gi, x(0), c, out),
        Op::AddC => backward1::<{ Op::AddC as u8 }>(&mut g, gi, x(0), c, out),
        Op::SubC => backward1::<{ Op::SubC as u8 }>(&mut g, gi, x(0), c, out),
        Op::RSubC => backward1::<{ Op::RSubC as u8 }>(&mut g, gi, x(0), c, out),
        Op::RDivC => backward1::<{ Op::RDivC as u8 }>(&mut g, gi, x(0), c, out),
        Op::MulC => backward1::<{ Op::MulC as u8 }>(&mut g, gi, x(0), c, out),
        Op::DivC => backward1::<{ Op::DivC as u8 }>(&mut g, gi, x(0), c, out),
        Op::PowC => backward1::<{ Op::PowC as u8 }>(&mut g, gi, x(0), c, out),
        Op::Exp => backward1::<{ Op::Exp as u8 }>(&mut g, gi, x(0), c, out),
        Op::Ln => backward1::<{ Op::Ln as u8 }>(&mut g, gi, x(0), c, out),
        Op::Tanh => backward1::<{ Op::Tanh as u8 }>(&mut g, gi, x(0), c, out),
        Op::Relu => backward1::<{ Op::Relu as u8 }>(&mut g, gi, x(0), c, out),
        Op::Sigmoid => backward1::<{ Op::Sigmoid as u8 }>(&mut g, gi, x(0), c, out),
        Op::Softplus => backward1::<{ Op::Softplus as u8 }>(&mut g, gi, x(0), c, out),
        Op::Sum => (0..n.args.len())
            .for_each(|k| backward_many::<{ Op::Sum as u8 }>(&mut g, k, gi, x(k), out)),
        Op::LogSumExp => (0..n.args.len())
            .for_each(|k| backward_many::<{ Op::LogSumExp as u8 }>(&mut g, k, gi, x(k), out)),
        Op::Dot | Op::Affine => {
            let k = n.args.len() / 2;
            for j in 0..k {
                let (w, xv) = (x(j), x(k + j));
                let chain =
                    |r, partner: Src| Op::Dot.chain_many(gi[r], || 0.0, || partner.at(r), || 0.0);
                g.add(j, |r| chain(r, xv));
                g.add(k + j, |r| chain(r, w));
            }
            if n.op == Op::Affine {
                g.add(2 * k, |r| {
                    Op::Affine.chain_many(gi[r], || 1.0, || 1.0, || 0.0)
                });
            }
        }
    }
}

/// Child `k`'s share of a `Sum` or `LogSumExp` over the lanes:
/// [`Op::chain_many`].
#[inline(always)]
fn backward_many<const O: u8>(g: &mut Give, k: usize, gi: &[f64], z: Src, out: &[f64]) {
    let o = const { Op::numbered(O) };
    g.add(
        k,
        #[inline(always)]
        |r| o.chain_many(gi[r], || z.at(r), || 1.0, || out[r]),
    );
}

/// A one-child node's backward over the lanes: [`Op::chain`].
#[inline(always)]
pub(super) fn backward1<const O: u8>(g: &mut Give, gi: &[f64], a: Src, c: f64, out: &[f64]) {
    let o = const { Op::numbered(O) };
    g.add(
        0,
        #[inline(always)]
        |r| o.chain(0, gi[r], || a.at(r), || 0.0, || c, || out[r]),
    );
}

/// A two-child node's backward over the lanes: [`Op::chain`].
#[inline(always)]
pub(super) fn backward2<const O: u8>(g: &mut Give, gi: &[f64], a: Src, b: Src, out: &[f64]) {
    let o = const { Op::numbered(O) };
    g.add(
        0,
        #[inline(always)]
        |r| o.chain(0, gi[r], || a.at(r), || b.at(r), || 0.0, || out[r]),
    );
    g.add(
        1,
        #[inline(always)]
        |r| o.chain(1, gi[r], || a.at(r), || b.at(r), || 0.0, || out[r]),
    );
}
