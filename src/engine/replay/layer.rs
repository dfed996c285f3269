//! A layer over the lanes: Y = X·Wᵀ + b forward, dX = dY·W and dW = dYᵀ·X
//! backward, as matrix products (or vector loops for thin layers), with its
//! activations fused in.

use super::Lanes;
use super::lanes::{Src, activation_backward, forward1};
use super::layout::{columns, columns_out, raw, raw_read, weights};
use crate::engine::gemm::{self, gemm};
use crate::engine::ops::Op;

impl Lanes {
    /// Y = X·Wᵀ (+ b), with X the lanes of the layer's inputs; then the
    /// activations on its outputs.
    #[inline(always)]
    pub(super) fn layer_forward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.p.layers[l];
        let (n, m) = (layer.x.len(), layer.out.len());
        if n.min(m) <= THIN && !gemm::kernels() {
            self.thin_forward(l);
            return;
        }
        let [xs, ws, ys, _, _] = &mut self.scratch;
        let w = weights(raw_read(&self.shared_val), &layer.w, layer.regular, ws); // m×n, rows w.1 apart
        let val = raw(&mut self.val);
        let x = columns(val, &layer.x, b, xs); // b×n
        // the outputs' lanes themselves when evenly spaced
        let (y, ycs, direct) = columns_out(val, &layer.out, b, ys);
        // SAFETY: x addresses b×n numbers at (1, x.1) strides inside `val` or
        // a scratch buffer, w is m×n, and y addresses b×m numbers at (1, ycs)
        // inside `val` or a scratch buffer of that size. The layer's outputs
        // come after all its inputs on the recording, so y never overlaps x.
        unsafe {
            gemm(
                b,
                n,
                m,
                1.0,
                x.0,
                1,
                x.1 as isize,
                w.0,
                1,
                w.1 as isize,
                0.0,
                y,
                1,
                ycs as isize,
            );
        }
        for (i, &o) in layer.out.iter().enumerate() {
            let bias = layer.b.as_ref().map_or(0.0, |bs| self.shared_val[bs[i]]);
            let lanes = &mut self.val[o * b..(o + 1) * b];
            if direct {
                lanes.iter_mut().for_each(|v| *v += bias);
            } else {
                let col = &ys[i * b..(i + 1) * b];
                lanes.iter_mut().zip(col).for_each(|(v, &y)| *v = y + bias);
            }
        }
        self.activations_forward(l);
    }

    /// The activations on a layer's outputs.
    #[inline(always)]
    pub(super) fn activations_forward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.p.layers[l];
        for (i, &o) in layer.out.iter().enumerate() {
            if let Some((a, op)) = layer.act[i] {
                let (before, after) = self.val.split_at_mut(a * b);
                let z = Src::Lanes(&before[o * b..(o + 1) * b]);
                let out = &mut after[..b];
                // one loop per activation, so that each vectorizes
                match op {
                    Op::Relu => forward1::<{ Op::Relu as u8 }>(z, 0.0, out),
                    Op::Tanh => forward1::<{ Op::Tanh as u8 }>(z, 0.0, out),
                    _ => forward1::<{ Op::Sigmoid as u8 }>(z, 0.0, out),
                }
            }
        }
    }

    /// The activations' backward: each output's gradient gets its
    /// activation's, times the activation's derivative.
    #[inline(always)]
    pub(super) fn activations_backward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.p.layers[l];
        for (i, &o) in layer.out.iter().enumerate() {
            if let Some((a, op)) = layer.act[i] {
                let (before, after) = self.grad.split_at_mut(a * b);
                let (ga, z, y) = (
                    &after[..b],
                    &self.val[o * b..][..b],
                    &self.val[a * b..][..b],
                );
                let g = &mut before[o * b..(o + 1) * b];
                match op {
                    Op::Relu => activation_backward::<{ Op::Relu as u8 }>(g, ga, z, y),
                    Op::Tanh => activation_backward::<{ Op::Tanh as u8 }>(g, ga, z, y),
                    _ => activation_backward::<{ Op::Sigmoid as u8 }>(g, ga, z, y),
                }
            }
        }
    }

    /// Through the activations first; then dX += dY·W, dW += dYᵀ·X, db +=
    /// Σ dY over lanes.
    #[inline(always)]
    pub(super) fn layer_backward(&mut self, l: usize) {
        self.activations_backward(l);
        let b = self.lanes;
        let layer = &self.p.layers[l];
        let (n, m) = (layer.x.len(), layer.out.len());
        if n.min(m) <= THIN && !gemm::kernels() {
            self.thin_backward(l);
            return;
        }
        let [xs, ws, dys, dxs, dws] = &mut self.scratch;
        let w = weights(raw_read(&self.shared_val), &layer.w, layer.regular, ws); // m×n, rows w.1 apart
        let (val, grad) = (raw(&mut self.val), raw(&mut self.grad));
        let x = columns(val, &layer.x, b, xs); // b×n
        let dy = columns(grad, &layer.out, b, dys); // b×m
        // dX is added straight into the inputs' lanes when they are evenly spaced
        let (dx, dxcs, direct) = columns_out(grad, &layer.x, b, dxs);
        // dW is added straight into the shared gradients when the weights are regular
        let dw_direct = layer.regular;
        let (dw, dwrs) = match dw_direct {
            Some(_) => weights(raw(&mut self.shared_grad), &layer.w, dw_direct, dws),
            None => {
                dws.clear();
                dws.resize(m * n, 0.0);
                (dws.as_mut_ptr(), n)
            }
        };
        // the inputs' gradient is wanted unless they are all the data's own lanes
        let want_dx = layer.x.iter().any(|&j| j >= self.p.nin);
        // SAFETY: as in layer_forward: dy addresses b×m numbers (the outputs'
        // gradient lanes or a copy), w m×n, x b×n, dw m×n, and dx b×n at
        // (1, dxcs) inside `grad` (the inputs' lanes, before the outputs'
        // lanes that dy reads) or a scratch buffer of that size.
        unsafe {
            if want_dx {
                gemm(
                    b,
                    m,
                    n,
                    1.0,
                    dy.0,
                    1,
                    dy.1 as isize,
                    w.0,
                    w.1 as isize,
                    1,
                    if direct { 1.0 } else { 0.0 },
                    dx,
                    1,
                    dxcs as isize,
                );
            }
            gemm(
                m,
                b,
                n,
                1.0,
                dy.0,
                dy.1 as isize,
                1,
                x.0,
                1,
                x.1 as isize,
                if dw_direct.is_some() { 1.0 } else { 0.0 },
                dw,
                dwrs as isize,
                1,
            );
        }
        self.add_back(l, want_dx && !direct, dw_direct.is_none());
    }

    /// Adds what the products wrote to scratch, not in place, to the inputs'
    /// lanes (`dx_copied`) and the weights' gradients (`dw_copied`); then the
    /// bias's gradient, Σ dY over the lanes.
    #[inline(always)]
    fn add_back(&mut self, l: usize, dx_copied: bool, dw_copied: bool) {
        let b = self.lanes;
        let layer = &self.p.layers[l];
        let n = layer.x.len();
        let [_, _, _, dxs, dws] = &self.scratch;
        if dx_copied {
            for (j, &xj) in layer.x.iter().enumerate() {
                for (g, &d) in self.grad[xj * b..(xj + 1) * b]
                    .iter_mut()
                    .zip(&dxs[j * b..])
                {
                    *g += d;
                }
            }
        }
        if dw_copied {
            for (i, row) in layer.w.iter().enumerate() {
                for (j, &k) in row.iter().enumerate() {
                    self.shared_grad[k] += dws[i * n + j];
                }
            }
        }
        if let Some(bs) = &layer.b {
            for (i, &k) in bs.iter().enumerate() {
                let o = layer.out[i];
                self.shared_grad[k] += lane_sum(&self.grad[o * b..(o + 1) * b]);
            }
        }
    }

    /// A layer with at most [`THIN`] inputs or outputs (a network's first
    /// layer on a few features, its last with one output), in place, lane
    /// vectors at a time: each output starts at its bias and adds wᵢⱼ·xⱼ for
    /// j in order, as the tape's affine node does. A matrix product pads
    /// such shapes to its 8×4 tiles; this does not.
    #[inline(always)]
    pub(super) fn thin_forward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.p.layers[l];
        let split = layer.out.iter().copied().min().unwrap_or(0) * b;
        let (xs, ys) = self.val.split_at_mut(split);
        for (i, &o) in layer.out.iter().enumerate() {
            let y = &mut ys[o * b - split..][..b];
            y.fill(layer.b.as_ref().map_or(0.0, |bs| self.shared_val[bs[i]]));
            for (&k, &xj) in layer.w[i].iter().zip(&layer.x) {
                let w = self.shared_val[k];
                y.iter_mut()
                    .zip(&xs[xj * b..][..b])
                    .for_each(|(y, &x)| *y += w * x);
            }
        }
        self.activations_forward(l);
    }

    /// [`thin_forward`](Self::thin_forward)'s backward, in place (the
    /// activations done): dwᵢⱼ += dyᵢ·xⱼ, dxⱼ += wᵢⱼ·dyᵢ, dbᵢ += Σ dyᵢ.
    #[inline(always)]
    pub(super) fn thin_backward(&mut self, l: usize) {
        let b = self.lanes;
        let layer = &self.p.layers[l];
        let want_dx = layer.x.iter().any(|&j| j >= self.p.nin);
        let split = layer.out.iter().copied().min().unwrap_or(0) * b;
        let (gx, gy) = self.grad.split_at_mut(split);
        for (i, &o) in layer.out.iter().enumerate() {
            let dy = &gy[o * b - split..][..b];
            if let Some(bs) = &layer.b {
                self.shared_grad[bs[i]] += lane_sum(dy);
            }
            for (&k, &xj) in layer.w[i].iter().zip(&layer.x) {
                self.shared_grad[k] += lane_dot(dy, &self.val[xj * b..][..b]);
                if want_dx {
                    let w = self.shared_val[k];
                    gx[xj * b..][..b]
                        .iter_mut()
                        .zip(dy)
                        .for_each(|(g, &d)| *g += w * d);
                }
            }
        }
    }
}

/// Where the small matrix products of [`gemm()`] are not available, layers
/// with at most this many inputs or outputs run as vector loops
/// ([`Replay::thin_forward`]); wider ones as matrix products. Measured on
/// the demo: through `matrixmultiply`, the thin path is faster for its
/// 2-input and 1-output layers, the matrix product for its 16×16 one;
/// through [`gemm()`]'s own kernels, every layer is faster as a product
/// (BENCHMARKS.md, design choices).
pub(super) const THIN: usize = 4;

/// Σ v, in [`SUMS`] running sums so that it vectorizes: as many as keep a
/// core's adders busy (one sum a vector wide waits for each add to finish).
#[inline(always)]
pub(super) fn lane_sum(v: &[f64]) -> f64 {
    let mut acc = [0.0; SUMS];
    let chunks = v.chunks_exact(SUMS);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..SUMS {
            acc[k] += c[k];
        }
    }
    fold(acc) + tail
}

/// Σ aᵣ·bᵣ, in [`SUMS`] running sums, as [`lane_sum`].
#[inline(always)]
pub(super) fn lane_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; SUMS];
    let (ca, cb) = (a.chunks_exact(SUMS), b.chunks_exact(SUMS));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..SUMS {
            acc[k] += x[k] * y[k];
        }
    }
    fold(acc) + tail
}

/// Running sums per reduction: four vectors of four with AVX2 (faster on the
/// demo than one vector's worth: BENCHMARKS.md, design choices).
pub(super) const SUMS: usize = 16;

/// The running sums added in pairs.
#[inline(always)]
pub(super) fn fold(mut acc: [f64; SUMS]) -> f64 {
    let mut n = SUMS;
    while n > 1 {
        n /= 2;
        for k in 0..n {
            acc[k] += acc[k + n];
        }
    }
    acc[0]
}
