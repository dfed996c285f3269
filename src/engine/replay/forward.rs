//! The forward pass alone, over any number of rows, a chunk of lanes at a
//! time: what evaluation, prediction and plots need, without gradients.

use rayon::prelude::*;

use std::sync::Arc;

use super::{Lanes, Replay};

/// How many numbers a chunk's values may take: lanes × nodes. 2²⁰ numbers
/// are 8 MiB, 256 lanes of a 1024 × 1024 network's 4 100 nodes.
const CHUNK_NUMBERS: usize = 1 << 20;
/// The most lanes in a chunk: enough for the matrix products to run at
/// their speed.
const MAX_LANES: usize = 256;
/// How many chunks run at once, one a thread: memory is bounded by this
/// many chunks' values, whatever the number of rows.
const GROUP: usize = 8;

impl Replay {
    /// Runs the recording forward on every row of `rows` (each
    /// [`nin`](Self::nin) numbers), a chunk of lanes at a time, and calls
    /// `each(r, value, outputs)` for row `r` in order, with the recorded
    /// value and outputs (as [`record`](Self::record)'s function returned
    /// them). No gradients are computed or written, and memory is bounded by
    /// a chunk (at most 256 lanes), not by the number of rows. The values are
    /// the tape's up to the order of summation, as [`run`](Self::run)'s are.
    ///
    /// ```
    /// use micrograd::{Replay, Value};
    /// let w = Value::new(3.0);
    /// let mut r = Replay::record(1, |v| ((v[0] * w).pow(2), vec![v[0] * w, -v[0]])).unwrap();
    /// let rows: Vec<[f64; 1]> = (0..1000).map(|i| [i as f64]).collect();
    /// let mut seen = Vec::new();
    /// r.forward_rows(&rows, |i, value, out| seen.push((i, value, out.to_vec())));
    /// assert_eq!(seen.len(), 1000);
    /// assert_eq!(seen[999], (999, (3.0 * 999.0f64).powi(2), vec![3.0 * 999.0, -999.0]));
    /// assert_eq!(w.grad(), 0.0); // no gradients
    /// ```
    ///
    /// Panics, as [`run`](Self::run) does, if a row does not have
    /// [`nin`](Self::nin) numbers.
    pub fn forward_rows<R: AsRef<[f64]> + Sync>(
        &mut self,
        rows: &[R],
        mut each: impl FnMut(usize, f64, &[f64]),
    ) {
        let lanes = self.chunk_lanes();
        let run = &mut self.run;
        super::super::bulk::read_data_into(&self.shared, Arc::make_mut(&mut run.shared_val));
        if rows.len() <= lanes || !run.p.splits() {
            for (c, part) in rows.chunks(lanes).enumerate() {
                run.load_rows(part);
                run.forward_any();
                run.emit(c * lanes, &mut each);
            }
            return;
        }
        let n = rows.len().div_ceil(lanes).min(GROUP);
        self.parts.truncate(n);
        while self.parts.len() < n {
            self.parts.push(Lanes::new(run.p.clone()));
        }
        for part in &mut self.parts {
            part.shared_val = Arc::clone(&run.shared_val);
        }
        for (g, group) in rows.chunks(lanes * GROUP).enumerate() {
            let parts = &mut self.parts;
            super::super::threads::install(|| {
                parts
                    .par_iter_mut()
                    .zip(group.par_chunks(lanes))
                    .for_each(|(part, rows)| {
                        part.load_rows(rows);
                        part.forward_any();
                    });
            });
            for (c, part) in self
                .parts
                .iter()
                .take(group.len().div_ceil(lanes))
                .enumerate()
            {
                part.emit((g * GROUP + c) * lanes, &mut each);
            }
        }
        for part in &mut self.parts {
            part.shared_val = Arc::default(); // the next run reads in place
        }
    }

    /// Lanes per chunk of [`forward_rows`](Self::forward_rows): as many as
    /// fit [`CHUNK_NUMBERS`], from 1 to [`MAX_LANES`].
    pub(super) fn chunk_lanes(&self) -> usize {
        (CHUNK_NUMBERS / self.run.p.nodes.len().max(1)).clamp(1, MAX_LANES)
    }
}

impl Lanes {
    /// Calls `each(first + r, value, outputs)` for every lane `r` of the
    /// last forward pass.
    fn emit(&self, first: usize, each: &mut impl FnMut(usize, f64, &[f64])) {
        let b = self.lanes;
        let mut outs = vec![0.0; self.p.outputs.len()];
        for r in 0..b {
            for (o, &node) in outs.iter_mut().zip(&self.p.outputs) {
                *o = self.val[node * b + r];
            }
            each(first + r, self.val[self.p.root * b + r], &outs);
        }
    }

    /// The forward pass, with 256-bit vectors where the processor has them
    /// (as [`passes`](Self::passes)).
    fn forward_any(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, just checked.
            unsafe { self.forward_avx2() };
            return;
        }
        self.forward();
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn forward_avx2(&mut self) {
        self.forward();
    }
}
