//! Compaction: freeing the nodes of a scope that nothing reaches any more,
//! for callers that cannot end the scope (a Python program drops values
//! one by one, in no order a scope could follow).

use super::backward::{Marks, reset_marks};
use super::ops::Kids;
use super::tape::{self, Tape};
use super::value::Value;

/// Frees every node of the innermost open scope that no handle in `keep`
/// reaches, moves the others down to close the gaps, and rewrites `keep` to
/// their new places. Returns how many nodes were freed.
///
/// Creation order is kept, so the tape stays a topological order, and data,
/// gradients and labels move with their nodes: no number changes. Handles in
/// `keep` made outside the scope are left as they are (their nodes do not
/// move). Every *other* handle to a node of the scope goes stale, as if the
/// scope had ended: using one panics, it never reads a moved node.
///
/// This is how a program that has no place to end a scope runs in flat
/// memory: it keeps a table of the handles it still holds and compacts when
/// the tape has outgrown them (the Python package does this when Python
/// drops its values).
///
/// ```
/// use micrograd::{Value, compact, scope};
///
/// let w = Value::new(0.5); // outside the scope: never moves
/// let _s = scope();
/// let mut keep = Vec::new();
/// for k in 0..100 {
///     let y = (w * 3.0 - 1.0).pow(2); // garbage once the step is over
///     if k == 99 {
///         keep.push(y);
///     }
/// }
/// let before = keep[0].data();
/// let freed = compact(&mut keep);
/// assert_eq!(freed, 99 * 3); // 3 nodes a step; the last step's are kept
/// assert_eq!(keep[0].data(), before);
/// keep[0].backward();
/// assert!((w.grad() - 6.0 * (0.5 * 3.0 - 1.0)).abs() < 1e-12);
/// ```
///
/// # Panics
/// With no scope open (nodes made outside every scope live as long as the
/// thread and have no scope to go stale with), while a
/// [`Replay`](crate::Replay) records, or if a handle in `keep` is stale.
pub fn compact(keep: &mut [Value]) -> usize {
    tape::with(|t| t.compact(keep))
}

impl Tape {
    /// Marks the scope's nodes (from `start`) that `keep` reaches. Children
    /// sit below their parents, so one downward pass marks all of them.
    /// Returns the marks, taken from `self.marks` (the caller puts them back).
    fn mark_kept(&mut self, keep: &[Value], start: usize) -> Vec<u64> {
        let n = self.data.len();
        reset_marks(&mut self.marks, n);
        let mut bits = std::mem::take(&mut self.marks);
        let mut m = Marks { bits: &mut bits };
        for v in keep {
            let i = v.live(self);
            if i >= start {
                m.test_and_set(i);
            }
        }
        for i in (start..n).rev() {
            if m.is_set(i) {
                for &c in self.children(i) {
                    if c as usize >= start {
                        m.test_and_set(c as usize);
                    }
                }
            }
        }
        bits
    }

    fn compact(&mut self, keep: &mut [Value]) -> usize {
        assert!(
            !self.recording(),
            "micrograd: compact() cannot run while a Replay records"
        );
        let Some(&mark) = self.scopes.last() else {
            panic!(
                "micrograd: compact() needs an open scope: nodes made outside every scope \
                 live until the thread ends. Open one with `let _s = micrograd::scope();`"
            );
        };
        let start = mark.start as usize;
        let n = self.data.len();

        let mut bits = self.mark_kept(keep, start);
        let m = Marks { bits: &mut bits };

        // Move the marked nodes down, in order; `to[i - start]` is node i's new index.
        let mut to = vec![u32::MAX; n - start];
        let (mut j, mut kc, mut kk) = (start, mark.consts, mark.kids);
        // the dirty range's ends, moved as the nodes around them move
        let old_dirty = self.dirty.clone();
        let below = |e: usize| if e < start { e } else { usize::MAX };
        let (mut ds, mut de) = (below(old_dirty.start), below(old_dirty.end));
        for i in start..n {
            if i == old_dirty.start {
                ds = j;
            }
            if i == old_dirty.end {
                de = j;
            }
            if !m.is_set(i) {
                continue;
            }
            to[i - start] = j as u32;
            self.data[j] = self.data[i];
            self.op[j] = self.op[i];
            self.grad[j] = self.grad[i];
            self.args[j] = self.moved_args(i, start, &to, &mut kc, &mut kk);
            j += 1;
        }
        self.marks = bits;

        let freed = n - j;
        self.data.truncate(j);
        self.op.truncate(j);
        self.args.truncate(j);
        self.grad.truncate(j);
        self.consts.truncate(kc);
        self.kids.truncate(kk);
        self.refresh_fast();
        let (ds, de) = (ds.min(j), de.min(j));
        self.dirty = if ds < de { ds..de } else { 0..0 };
        let labels = self.labels.split_off(&mark.start);
        for (i, label) in labels {
            let new = to[i as usize - start];
            if new != u32::MAX {
                self.labels.insert(new, label);
            }
        }
        self.len_at_backward = j;
        self.growing_backwards = 0;

        // A new id for the scope: handles that were not rewritten go stale.
        let id = self.fresh_scope_id();
        let old = mark.id;
        self.scopes.last_mut().expect("checked above").id = id;
        self.current = id;
        for v in keep.iter_mut() {
            if v.scope == old {
                *v = Value::at(self, to[v.idx as usize - start], id);
            }
        }
        freed
    }

    /// Node `i`'s args once its children have moved by `to` and its
    /// constant and child links have been copied down to `kc` and `kk`.
    fn moved_args(
        &mut self,
        i: usize,
        start: usize,
        to: &[u32],
        kc: &mut usize,
        kk: &mut usize,
    ) -> [u32; 2] {
        let at = |c: u32| {
            if (c as usize) < start {
                c
            } else {
                to[c as usize - start]
            }
        };
        let [a, b] = self.args[i];
        match self.op[i].kids() {
            Kids::Leaf => [0, 0],
            Kids::Two => [at(a), at(b)],
            Kids::One if self.op[i].needs_const() => {
                let k = *kc;
                self.consts[k] = self.consts[b as usize];
                *kc += 1;
                [at(a), k as u32]
            }
            // any other constant is stored only while a Replay records
            Kids::One => [at(a), 0],
            Kids::Many => {
                let len = self.children(i).len();
                let s = *kk;
                for q in 0..len {
                    self.kids[s + q] = at(self.kids[a as usize + q]);
                }
                *kk += len;
                [s as u32, b]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compact;
    use crate::engine::{Value, scope};
    use proptest::prelude::*;

    /// Builds one node from `pool` by `kind`, using every op that stores
    /// something compaction must move: children, constants, child links.
    fn build(kind: u8, a: Value, b: Value, pool: &[Value]) -> Value {
        match kind % 12 {
            0 => a + b,
            1 => a * b,
            2 => a - b,
            3 => a / (b * b + 1.0),
            4 => a * 0.5,
            5 => a.pow(2),
            6 => a.tanh(),
            7 => a + 3.0,
            8 => Value::sum(pool.iter().rev().take(3).copied()),
            9 => Value::affine(&pool[..2], &pool[pool.len() - 2..], a),
            10 => 2.0 / (a * a + 1.0),
            _ => a.relu().with_label("r"),
        }
    }

    fn snapshot(vs: &[Value]) -> Vec<(u64, u64, String)> {
        vs.iter()
            .map(|v| (v.data().to_bits(), v.grad().to_bits(), v.label()))
            .collect()
    }

    type Program = Vec<(u8, u16, u16, bool)>;

    /// Runs a random program in its own scope, compacting halfway or not,
    /// and returns what every kept value holds after each step.
    fn run(
        ops: &Program,
        back: u16,
        outer: &[Value],
        compacting: bool,
    ) -> Vec<Vec<(u64, u64, String)>> {
        crate::zero_grad(outer);
        let _s = scope();
        let mut pool: Vec<Value> = outer.to_vec();
        pool.push(Value::new(0.7).with_label("in"));
        let mut keep = Vec::new();
        for &(kind, x, y, kept) in ops {
            let (a, b) = (pool[x as usize % pool.len()], pool[y as usize % pool.len()]);
            let v = build(kind, a, b, &pool);
            pool.push(v);
            if kept {
                keep.push(v);
            }
        }
        // a pass before compacting leaves gradients (interior ones too) to carry over
        let root = pool[back as usize % pool.len()];
        root.backward();
        keep.push(root);
        keep.extend(outer);
        let mut seen = vec![snapshot(&keep)];
        if compacting {
            let nodes = crate::stats().nodes;
            let freed = compact(&mut keep);
            assert_eq!(crate::stats().nodes, nodes - freed);
            seen.push(snapshot(&keep));
        } else {
            seen.push(seen[0].clone());
        }
        for k in 0..keep.len() {
            keep[k].backward();
            seen.push(snapshot(&keep));
        }
        seen
    }

    proptest! {
        #[test]
        fn compaction_changes_no_number(
            ops in prop::collection::vec((any::<u8>(), any::<u16>(), any::<u16>(), any::<bool>()), 1..60),
            back in any::<u16>(),
        ) {
            let outer: Vec<Value> = (0..3).map(|i| Value::new(0.3 * i as f64 - 0.4)).collect();
            prop_assert_eq!(run(&ops, back, &outer, true), run(&ops, back, &outer, false));
        }
    }

    #[test]
    fn handles_not_kept_go_stale_and_say_so() {
        let _s = scope();
        let a = Value::new(2.0);
        let b = a * 3.0;
        let mut keep = [b];
        assert_eq!(compact(&mut keep), 0, "b reaches a: nothing to free");
        assert_eq!(keep[0].data(), 6.0);
        let err = std::panic::catch_unwind(|| b.data()).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("stale Value"), "{msg}");
    }

    #[test]
    fn a_scope_ends_normally_after_compacting() {
        let before = crate::stats().nodes;
        {
            let _s = scope();
            let mut keep = [Value::new(1.0) + 1.0];
            let _garbage = Value::new(5.0).exp();
            assert_eq!(compact(&mut keep), 2);
            assert_eq!(keep[0].data(), 2.0);
        }
        assert_eq!(crate::stats().nodes, before);
    }

    #[test]
    fn without_a_scope_it_refuses() {
        let err = std::thread::spawn(|| compact(&mut [Value::new(1.0)]))
            .join()
            .unwrap_err();
        let msg = err.downcast_ref::<&str>().unwrap();
        assert!(msg.contains("needs an open scope"), "{msg}");
    }
}
