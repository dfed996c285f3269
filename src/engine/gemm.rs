//! Matrix products for the replay: small ones here, large ones by `matrixmultiply`.
//!
//! A replayed layer multiplies matrices whose columns are lanes (one number
//! per sample, contiguous). When the layer is small (the demo's 16×16),
//! `matrixmultiply`'s general path costs more than the arithmetic: it
//! allocates a packing buffer and copies both operands into it at every
//! call. The two shapes a replay asks for are done here without either:
//!
//! - `C = A·B` with `A`, `C` lane-major (forward `Y = X·Wᵀ`, backward
//!   `dX = dY·W`): each block of 8 lanes × 4 columns of `C` is kept in
//!   registers over the whole sum, the weights broadcast one by one;
//! - `C = A·B` with rows of `A` and columns of `B` lane-major (backward
//!   `dW = dYᵀ·X`): blocks of 2×2 dot products over the lanes.
//!
//! Every number is a sum of products added in order of `k` (for a dot
//! product over lanes, in four running sums): plain multiplies and adds, so
//! the same bits on every processor with AVX (and `matrixmultiply` on one
//! without).

/// Up to this many multiply-adds per lane (inner size × columns, or
/// rows × columns for a dot product block) a product runs here; above it,
/// `matrixmultiply`, whose packing pays off. 32×32: the 16×16 layers of the
/// demo run here, a 256-wide one there.
#[cfg(target_arch = "x86_64")]
const SMALL: usize = 32 * 32;

/// Lanes per block of the dot products, so that a block's rows of `A` and
/// columns of `B` stay in the core's second-level cache however many lanes.
#[cfg(target_arch = "x86_64")]
const CHUNK: usize = 512;

#[cfg(test)]
thread_local! {
    /// Set by tests on their thread: run as a processor without AVX would.
    pub(super) static PORTABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this processor runs the small products here (it has AVX);
/// without, every product goes to `matrixmultiply`.
#[inline]
pub(super) fn kernels() -> bool {
    #[cfg(test)]
    if PORTABLE.get() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// `C = α·A·B + β·C`, with `matrixmultiply::dgemm`'s arguments: `A` is m×k,
/// `B` k×n and `C` m×n, each given by a pointer and its row and column
/// strides; `β` is 0 or 1, and with β = 0 `C` is written without being read
/// (so it may hold anything).
///
/// # Safety
///
/// As for `matrixmultiply::dgemm`: each pointer with its strides addresses
/// a matrix of the stated size inside one live allocation, and `C` does
/// not overlap `A` or `B`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: *const f64,
    rsa: isize,
    csa: isize,
    b: *const f64,
    rsb: isize,
    csb: isize,
    beta: f64,
    c: *mut f64,
    rsc: isize,
    csc: isize,
) {
    debug_assert!(beta == 0.0 || beta == 1.0);
    #[cfg(target_arch = "x86_64")]
    if alpha == 1.0 && kernels() {
        let add = beta == 1.0;
        if rsa == 1 && rsc == 1 && k * n <= SMALL {
            // SAFETY: the processor has AVX (just checked); the caller's
            // promise for these strides.
            unsafe { avx::lanes_times(m, k, n, a, csa, b, rsb, csb, add, c, csc) };
            return;
        }
        if csa == 1 && rsb == 1 && m * n <= SMALL {
            // SAFETY: as above.
            unsafe { avx::dots(m, k, n, a, rsa, b, csb, add, c, rsc, csc) };
            return;
        }
    }
    // SAFETY: the caller's.
    unsafe { matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) };
}

/// The two kernels, in 256-bit vectors of four numbers.
#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    /// `C (+)= A·B` for lane-major `A` (m×k, column `p` at `a + p·csa`) and
    /// `C` (m×n, column `j` at `c + j·csc`); `B[p][j]` at `b + p·rsb + j·csb`.
    /// Blocks of 8 lanes × 4 columns of `C` stay in registers over the
    /// whole sum; the weights are broadcast one at a time.
    ///
    /// # Safety
    ///
    /// The processor has AVX; the matrices are as [`gemm`](super::gemm) requires.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn lanes_times(
        m: usize,
        k: usize,
        n: usize,
        a: *const f64,
        csa: isize,
        b: *const f64,
        rsb: isize,
        csb: isize,
        add: bool,
        c: *mut f64,
        csc: isize,
    ) {
        // SAFETY (every access): lane r < m of column p < k of A, entry
        // (p, j < n) of B, lane r of column j of C.
        let x = |p: usize, r: usize| unsafe { a.offset(p as isize * csa).add(r) };
        let w = |p: usize, j: usize| unsafe { b.offset(p as isize * rsb + j as isize * csb) };
        let y = |j: usize, r: usize| unsafe { c.offset(j as isize * csc).add(r) };
        let mut j = 0;
        while j < n {
            // SAFETY: columns j.. of the block exist.
            j += unsafe {
                if n - j >= 4 {
                    lanes_columns::<4>(m, k, j, x, w, y, add)
                } else {
                    lanes_columns::<1>(m, k, j, x, w, y, add)
                }
            };
        }
    }

    /// Columns `j..j+J` of [`lanes_times`]: 8 lanes at a time, then 4, then
    /// one by one; returns `J`.
    ///
    /// # Safety
    ///
    /// As for [`lanes_times`], whose accesses `x`, `w` and `y` make, and
    /// `j + J <= n`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn lanes_columns<const J: usize>(
        m: usize,
        k: usize,
        j: usize,
        x: impl Fn(usize, usize) -> *const f64 + Copy,
        w: impl Fn(usize, usize) -> *const f64 + Copy,
        y: impl Fn(usize, usize) -> *mut f64 + Copy,
        add: bool,
    ) -> usize {
        let mut r = 0;
        while r + 8 <= m {
            // SAFETY: lanes r..r+8 exist.
            unsafe { lanes_vectors::<J, 2>(k, r, j, x, w, y, add) };
            r += 8;
        }
        if r + 4 <= m {
            // SAFETY: lanes r..r+4 exist.
            unsafe { lanes_vectors::<J, 1>(k, r, j, x, w, y, add) };
            r += 4;
        }
        for r in r..m {
            for j in j..j + J {
                let s = (0..k).fold(0.0, |s, p| s + unsafe { *x(p, r) * *w(p, j) });
                let o = unsafe { &mut *y(j, r) };
                *o = if add { *o + s } else { s };
            }
        }
        J
    }

    /// Lanes `r..r + 4V` of columns `j..j+J` of [`lanes_times`], in `J·V`
    /// vectors of running sums.
    ///
    /// # Safety
    ///
    /// As for [`lanes_columns`], and lanes `r..r + 4V` exist.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn lanes_vectors<const J: usize, const V: usize>(
        k: usize,
        r: usize,
        j: usize,
        x: impl Fn(usize, usize) -> *const f64,
        w: impl Fn(usize, usize) -> *const f64,
        y: impl Fn(usize, usize) -> *mut f64,
        add: bool,
    ) {
        let mut acc = [[_mm256_setzero_pd(); V]; J];
        for p in 0..k {
            let xv: [__m256d; V] =
                std::array::from_fn(|h| unsafe { _mm256_loadu_pd(x(p, r + 4 * h)) });
            for (jj, acc) in acc.iter_mut().enumerate() {
                let wv = unsafe { _mm256_broadcast_sd(&*w(p, j + jj)) };
                for (acc, &xv) in acc.iter_mut().zip(&xv) {
                    *acc = _mm256_add_pd(*acc, _mm256_mul_pd(xv, wv));
                }
            }
        }
        for (jj, acc) in acc.iter().enumerate() {
            for (h, &s) in acc.iter().enumerate() {
                let at = y(j + jj, r + 4 * h);
                unsafe {
                    let v = if add {
                        _mm256_add_pd(_mm256_loadu_pd(at), s)
                    } else {
                        s
                    };
                    _mm256_storeu_pd(at, v);
                }
            }
        }
    }

    /// `C (+)= A·B` as dot products over lane-major rows of `A` (m×k, row
    /// `i` at `a + i·rsa`) and columns of `B` (k×n, column `j` at
    /// `b + j·csb`); `C[i][j]` at `c + i·rsc + j·csc`. Blocks of 2×2 dot
    /// products, over [`CHUNK`](super::CHUNK) lanes at a time.
    ///
    /// # Safety
    ///
    /// The processor has AVX; the matrices are as [`gemm`](super::gemm) requires.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn dots(
        m: usize,
        k: usize,
        n: usize,
        a: *const f64,
        rsa: isize,
        b: *const f64,
        csb: isize,
        add: bool,
        c: *mut f64,
        rsc: isize,
        csc: isize,
    ) {
        if n == 0 {
            return; // C has no entries (and the loop below needs a column)
        }
        let mut start = 0;
        loop {
            let len = super::CHUNK.min(k - start);
            // the first chunk writes (or adds to) C, the later ones add
            let add = add || start > 0;
            // SAFETY (every access): lane start + r (r < len) of row i < m
            // of A and of column j < n of B; entry (i, j) of C.
            let x = |i: usize, r: usize| unsafe { a.offset(i as isize * rsa).add(start + r) };
            let y = |j: usize, r: usize| unsafe { b.offset(j as isize * csb).add(start + r) };
            let put = |i: usize, j: usize, s: f64| {
                let o = unsafe { &mut *c.offset(i as isize * rsc + j as isize * csc) };
                *o = if add { *o + s } else { s };
            };
            let mut i = 0;
            while i < m {
                let mut j = 0;
                while j < n {
                    // SAFETY: rows i.. and columns j.. of the block exist.
                    let (rows, cols) = unsafe {
                        match (m - i >= 2, n - j >= 2) {
                            (true, true) => dot_block::<2, 2>(len, i, j, x, y, put),
                            (true, false) => dot_block::<2, 1>(len, i, j, x, y, put),
                            (false, true) => dot_block::<1, 2>(len, i, j, x, y, put),
                            (false, false) => dot_block::<1, 1>(len, i, j, x, y, put),
                        }
                    };
                    j += cols;
                    if j >= n {
                        i += rows;
                    }
                }
            }
            start += len;
            if start >= k {
                break;
            }
        }
    }

    /// Rows `i..i+I` × columns `j..j+J` of [`dots`] over `len` lanes, in
    /// `I·J` vectors of running sums; returns `(I, J)`.
    ///
    /// # Safety
    ///
    /// As for [`dots`]; `x(i + ii, r)` and `y(j + jj, r)` address lane `r <
    /// len` of those rows and columns.
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn dot_block<const I: usize, const J: usize>(
        len: usize,
        i: usize,
        j: usize,
        x: impl Fn(usize, usize) -> *const f64,
        y: impl Fn(usize, usize) -> *const f64,
        put: impl Fn(usize, usize, f64),
    ) -> (usize, usize) {
        let len4 = len - len % 4;
        let mut acc = [[_mm256_setzero_pd(); J]; I];
        for r in (0..len4).step_by(4) {
            let u: [__m256d; J] =
                std::array::from_fn(|jj| unsafe { _mm256_loadu_pd(y(j + jj, r)) });
            for (ii, acc) in acc.iter_mut().enumerate() {
                let p = unsafe { _mm256_loadu_pd(x(i + ii, r)) };
                for (acc, &u) in acc.iter_mut().zip(&u) {
                    *acc = _mm256_add_pd(*acc, _mm256_mul_pd(p, u));
                }
            }
        }
        for (ii, acc) in acc.iter().enumerate() {
            for (jj, &acc) in acc.iter().enumerate() {
                let mut v = [0.0; 4];
                unsafe { _mm256_storeu_pd(v.as_mut_ptr(), acc) };
                let tail =
                    (len4..len).fold(0.0, |s, r| s + unsafe { *x(i + ii, r) * *y(j + jj, r) });
                put(i + ii, j + jj, (v[0] + v[1]) + (v[2] + v[3]) + tail);
            }
        }
        (I, J)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::assert_close as close;

    /// The product by the definition, for comparison.
    fn naive(m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        // a: m×k row-major, b: k×n row-major, result m×n row-major
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn numbers(len: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::rng::Rng::new(seed);
        (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    /// Both shapes, every size class (blocks and leftovers), writing and
    /// adding, against the definition; and a size that goes to `matrixmultiply`.
    #[test]
    fn products_agree_with_the_definition() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 3, 5),
            (8, 16, 16),
            (100, 16, 16),
            (37, 2, 9),
            (1030, 5, 3),
            (9, 40, 40),
            (3, 1100, 4),
            (2, 513, 3),
            (3, 5, 0),
            (0, 4, 3),
            (4, 0, 3),
        ] {
            let a = numbers(m * k, 1);
            let b = numbers(k * n, 2);
            let want = naive(m, k, n, &a, &b);
            for add in [false, true] {
                let beta = if add { 1.0 } else { 0.0 };
                let start = numbers(m * n, 3);
                let expect: Vec<f64> = if add {
                    want.iter().zip(&start).map(|(w, s)| w + s).collect()
                } else {
                    want.clone()
                };
                // lane-major: A and C column-major (rsa = rsc = 1)
                let a_cm: Vec<f64> = (0..m * k).map(|q| a[(q % m) * k + q / m]).collect();
                let mut c_cm: Vec<f64> = if add {
                    (0..m * n).map(|q| start[(q % m) * n + q / m]).collect()
                } else {
                    vec![f64::NAN; m * n] // β = 0 must not read C
                };
                // SAFETY: three separate buffers of m·k, k·n and m·n numbers,
                // addressed with the strides of their layouts.
                unsafe {
                    gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a_cm.as_ptr(),
                        1,
                        m as isize,
                        b.as_ptr(),
                        n as isize,
                        1,
                        beta,
                        c_cm.as_mut_ptr(),
                        1,
                        m as isize,
                    );
                }
                let got: Vec<f64> = (0..m * n).map(|q| c_cm[(q % n) * m + q / n]).collect();
                close(&got, &expect);
                // dot products: A row-major (csa = 1), B column-major (rsb = 1), C row-major
                let b_cm: Vec<f64> = (0..k * n).map(|q| b[(q % k) * n + q / k]).collect();
                let mut c = if add {
                    start.clone()
                } else {
                    vec![f64::NAN; m * n]
                };
                // SAFETY: as above.
                unsafe {
                    gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        b_cm.as_ptr(),
                        1,
                        k as isize,
                        beta,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
                close(&c, &expect);
            }
        }
    }
}
