//! How much this thread's tape holds.

use super::tape;

/// How much this thread's tape holds; see [`stats`].
///
/// ```
/// let s = micrograd::stats();
/// assert!(s.bytes_used <= s.bytes_allocated);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TapeStats {
    /// Live nodes.
    pub nodes: usize,
    /// Bytes the live nodes use (data, gradient, op, children, constants; labels aside).
    pub bytes_used: usize,
    /// Bytes allocated for them (capacity kept for reuse after a scope ends).
    pub bytes_allocated: usize,
}

/// Counts the nodes on this thread's tape and the bytes they take.
///
/// ```
/// use micrograd::{Value, stats};
/// let before = stats().nodes;
/// let x = Value::new(1.0);
/// let _y = x * 2.0 + 1.0;
/// assert_eq!(stats().nodes, before + 3);
/// ```
pub fn stats() -> TapeStats {
    tape::with(|t| {
        let (bytes_used, bytes_allocated) = t.bytes();
        TapeStats {
            nodes: t.data.len(),
            bytes_used,
            bytes_allocated,
        }
    })
}
