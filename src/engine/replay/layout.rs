//! Where a layer's matrices are: in place in the lane buffers when their
//! nodes are evenly spaced, else copied to scratch; as raw pointers, since a
//! matrix read and one written may lie in the same buffer. The pointer
//! arithmetic and its safety argument live here, and only here.

/// The weights of a layer, row by row, from the shared values.
///
/// Returns a pointer and the distance between rows: in place when the
/// indices are regular (row i, column j at `first + i·rs + j`, as an MLP's
/// parameters are: each neuron's weights, then its bias), else copied into
/// `scratch`.
pub(super) fn weights(
    (base, len): (*mut f64, usize),
    w: &[Vec<usize>],
    regular: Option<(usize, usize)>,
    scratch: &mut Vec<f64>,
) -> (*mut f64, usize) {
    if let Some((first, rs)) = regular {
        let n = w[0].len();
        assert!(
            first + rs * (w.len() - 1) + n <= len,
            "a layer's weights lie inside the buffer"
        );
        // SAFETY: the last row's last weight is inside the buffer (checked above).
        return (unsafe { base.add(first) }, rs);
    }
    // SAFETY: `base` and `len` describe one live buffer, read while no
    // reference to it is alive.
    let shared = unsafe { std::slice::from_raw_parts(base, len) };
    scratch.clear();
    scratch.extend(w.iter().flat_map(|row| row.iter().map(|&k| shared[k])));
    (scratch.as_mut_ptr(), w.first().map_or(0, Vec::len))
}

/// `(first, row stride)` if `w[i][j] = first + i·stride + j` for all i, j.
pub(super) fn regular(w: &[Vec<usize>]) -> Option<(usize, usize)> {
    let first = *w.first()?.first()?;
    let rs = w.get(1).map_or(w[0].len(), |r| r[0].saturating_sub(first));
    let fits = rs >= w[0].len()
        && w.iter().enumerate().all(|(i, row)| {
            row.iter()
                .enumerate()
                .all(|(j, &k)| k == first + i * rs + j)
        });
    fits.then_some((first, rs))
}

/// `(first, step)` if `nodes` are evenly spaced (one node: step 1).
pub(super) fn progression(nodes: &[usize]) -> Option<(usize, usize)> {
    let (&first, rest) = nodes.split_first()?;
    let step = rest.first().map_or(1, |&s| s.saturating_sub(first));
    let even = step > 0 && nodes.windows(2).all(|p| p[1] == p[0] + step);
    even.then_some((first, step))
}

/// The lanes of `nodes` in `from` (a buffer of `len` numbers at `base`)
/// as a b×len column-major matrix: a pointer and the distance between
/// columns. In place when the nodes are evenly spaced; else copied into
/// `scratch`. Every pointer into a buffer comes from its one base pointer,
/// so that a matrix read and one written in the same buffer may coexist.
pub(super) fn columns(
    (base, len): (*mut f64, usize),
    nodes: &[usize],
    b: usize,
    scratch: &mut Vec<f64>,
) -> (*const f64, usize) {
    if let Some((first, step)) = progression(nodes) {
        let last = (first + step * (nodes.len() - 1) + 1) * b;
        assert!(last <= len, "a layer's lanes lie inside the buffer");
        // SAFETY: first·b + the matrix's extent is within the buffer (checked above).
        return (unsafe { base.add(first * b) }, step * b);
    }
    // SAFETY: `base` and `len` describe one live buffer, and no reference
    // to it is alive while this copy reads it.
    let from = unsafe { std::slice::from_raw_parts(base, len) };
    scratch.clear();
    for &k in nodes {
        scratch.extend_from_slice(&from[k * b..(k + 1) * b]);
    }
    (scratch.as_ptr(), b)
}

/// Where a layer writes the lanes of `nodes` in a buffer of `len` numbers at
/// `base`, as a b×len column-major matrix: a pointer, the distance between
/// columns, and whether it is the lanes themselves (evenly spaced nodes) or
/// `scratch`, zeroed, whose columns the caller then adds to the lanes.
pub(super) fn columns_out(
    (base, len): (*mut f64, usize),
    nodes: &[usize],
    b: usize,
    scratch: &mut Vec<f64>,
) -> (*mut f64, usize, bool) {
    if let Some((first, step)) = progression(nodes) {
        let last = (first + step * (nodes.len() - 1) + 1) * b;
        assert!(last <= len, "a layer's lanes lie inside the buffer");
        // SAFETY: first·b + the matrix's extent is within the buffer (checked above).
        return (unsafe { base.add(first * b) }, step * b, true);
    }
    scratch.clear();
    scratch.resize(b * nodes.len(), 0.0);
    (scratch.as_mut_ptr(), b, false)
}

/// A buffer as a base pointer and a length, for [`columns`].
pub(super) fn raw(v: &mut [f64]) -> (*mut f64, usize) {
    (v.as_mut_ptr(), v.len())
}

/// A buffer that is only read (the shared values, which every part of a
/// batch reads at once), as [`raw`] gives one: the pointer is `*mut` only
/// to share [`weights`]' signature with the gradients' buffer. Nothing
/// writes through it: [`weights`] reads it or copies from it, and the
/// matrix products take their weights as `*const`.
pub(super) fn raw_read(v: &[f64]) -> (*mut f64, usize) {
    (v.as_ptr().cast_mut(), v.len())
}
