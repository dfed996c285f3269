//! Recording: a segment of the tape, made by one sample, kept as a program
//! of nodes over lanes and shared leaves.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{Arg, Node, Program, ReplayError};
use crate::engine::leaves::Leaves;
use crate::engine::ops::Op;
use crate::engine::tape::Tape;
use crate::engine::value::Value;

impl Program {
    /// The recorded segment of the tape as a program, and the leaves it
    /// shares (parameters, constants).
    pub(super) fn compile(
        t: &Tape,
        start: usize,
        nin: usize,
        root: Value,
        outputs: &[Value],
    ) -> Result<(Program, Leaves), ReplayError> {
        let end = t.data.len();
        let mut shared: Vec<Value> = Vec::new();
        let (mut lo, mut links) = (start, 0);
        for &c in (start..end).flat_map(|i| t.children(i)) {
            if (c as usize) < start {
                (lo, links) = (lo.min(c as usize), links + 1);
            }
        }
        let mut shared_at = SharedAt::new(lo, start, links);
        let mut arg = |c: u32| -> Result<Arg, ReplayError> {
            let c = c as usize;
            if c >= start {
                return Ok(Arg::Lane(c - start));
            }
            if t.op[c] != Op::Leaf {
                return Err(ReplayError::SharedInterior);
            }
            Ok(Arg::Shared(shared_at.get_or_insert(c, || {
                shared.push(Value::at(t, c as u32, t.scope_of(c as u32)));
                shared.len() - 1
            })))
        };
        let mut nodes = Vec::with_capacity(end - start);
        for i in start..end {
            let op = t.op[i];
            let args = t
                .children(i)
                .iter()
                .map(|&c| arg(c))
                .collect::<Result<Vec<_>, _>>()?;
            let [_, b] = t.args[i];
            let c = match op {
                Op::MulC | Op::DivC | Op::PowC | Op::AddC | Op::SubC | Op::RSubC | Op::RDivC => {
                    t.consts[b as usize]
                }
                // constants inside the recording (leaves past the inputs) keep their number
                Op::Leaf => t.data[i],
                _ => 0.0,
            };
            nodes.push(Node { op, args, c });
        }
        let lane = |v: Value| v.idx as usize - start;
        let mut p = Program {
            nin,
            nodes,
            layers: Vec::new(),
            steps: Vec::new(),
            root: lane(root),
            outputs: outputs.iter().map(|&v| lane(v)).collect(),
        };
        p.plan();
        Ok((p, Leaves::new(shared)))
    }
}

/// Which entry of a recording's shared values each leaf below it is.
///
/// Parameters are usually made together, so the leaves' span is dense and
/// a table over it does: a hash map's writes to random buckets miss the
/// cache (BENCHMARKS.md, design choices). Leaves spread far apart (a constant made long before) get the hash map.
pub(super) enum SharedAt {
    Dense { lo: usize, at: Vec<u32> },
    Sparse(FastMap<usize, usize>),
}

impl SharedAt {
    /// For `links` references to leaves in `lo..end`.
    pub(super) fn new(lo: usize, end: usize, links: usize) -> SharedAt {
        if end - lo <= 4 * links + 64 {
            SharedAt::Dense {
                lo,
                at: vec![u32::MAX; end - lo],
            }
        } else {
            SharedAt::Sparse(FastMap::with_capacity_and_hasher(links, Default::default()))
        }
    }

    pub(super) fn get_or_insert(&mut self, c: usize, new: impl FnOnce() -> usize) -> usize {
        match self {
            SharedAt::Dense { lo, at } => {
                let s = &mut at[c - *lo];
                if *s == u32::MAX {
                    *s = new() as u32;
                }
                *s as usize
            }
            SharedAt::Sparse(m) => *m.entry(c).or_insert_with(new),
        }
    }
}

/// A hash map keyed by our own indices: they are not an attacker's, and
/// with the default SipHash, hashing was a fifth of recording a 256-wide
/// network.
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<IndexHasher>>;

/// One multiplication per word (Fibonacci hashing).
#[derive(Default)]
pub(super) struct IndexHasher(u64);

impl IndexHasher {
    #[inline]
    pub(super) fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(29) ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.mix(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        for &b in words.remainder() {
            self.mix(u64::from(b));
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
}
