//! The tape: every node of every expression on this thread, in creation order.
//!
//! Creation order is already a topological order (a node's children always
//! exist before it), so `backward` is one loop from the root down to index 0:
//! no sort, no recursion, no hash set. Nodes are stored column by column
//! (struct of arrays) so that a node costs 25 bytes, plus 8 for a constant
//! that its derivative needs (`x * 3.0` keeps the 3.0, `x + 3.0` keeps nothing).

use std::cell::{RefCell, RefMut};
use std::collections::BTreeMap;
use std::mem::ManuallyDrop;

use super::ops::Kids;
pub(crate) use super::ops::Op;

/// One open scope: its id and the lengths of the tape's arrays when it was opened.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScopeMark {
    /// The id that handles made in it carry; [`compact`](crate::compact)
    /// gives the scope a new one so that handles it did not rewrite go stale.
    pub(crate) id: u32,
    /// The id its [`Scope`](crate::Scope) guard holds, to close it by.
    pub(crate) guard: u32,
    pub(crate) start: u32,
    pub(crate) consts: usize,
    pub(crate) kids: usize,
}

/// The arena. One per thread, reached through [`with`].
pub(crate) struct Tape {
    pub(crate) data: Vec<f64>,
    /// As long as `data`; a slot holding [`NO_GRAD`] was never written, and
    /// reads as gradient 0.
    pub(crate) grad: Vec<f64>,
    pub(crate) op: Vec<Op>,
    pub(crate) args: Vec<[u32; 2]>,
    pub(crate) consts: Vec<f64>,
    pub(crate) kids: Vec<u32>,
    pub(crate) labels: BTreeMap<u32, String>,
    /// Open scopes, innermost last.
    pub(crate) scopes: Vec<ScopeMark>,
    /// Id that handles made now receive: the innermost open scope's, or `ROOT`.
    pub(crate) current: u32,
    pub(crate) next_scope: u32,
    /// Scratch bitset for reachability, kept to reuse its allocation.
    pub(crate) marks: Vec<u64>,
    /// Interior nodes in this range may hold a gradient from an earlier
    /// `backward` (or `set_grad`); outside it they hold `NO_GRAD`. A pass
    /// resets only this range, so its cost is that of the passes before it,
    /// not the tape's length.
    pub(crate) dirty: std::ops::Range<usize>,
    /// For the forgotten-scope warning: the tape's length at the last
    /// `backward`, and how many `backward` calls in a row found it longer.
    pub(crate) len_at_backward: usize,
    pub(crate) growing_backwards: u32,
    pub(crate) warned: bool,
    /// While a [`Replay`](crate::Replay) records: the first node of the
    /// recording (`usize::MAX` otherwise), and whether its function read the
    /// data of a node it made.
    pub(crate) recording_from: usize,
    pub(crate) read_in_recording: bool,
    /// How many entries a column may hold: what a `u32` index addresses.
    /// Lowered only by tests, to reach the limit without 16 GiB.
    pub(crate) limit: usize,
    /// How many nodes fit before the node columns must grow: at most the
    /// capacity of each, and at most `limit`.
    pub(crate) room: usize,
    /// An op may push its node on its fast path (no check of its own,
    /// constant included) while the tape is shorter than this. Kept by
    /// [`refresh_fast`](Tape::refresh_fast): at most `room`, at most the
    /// length plus the spare capacity of `consts` (a node stores at most
    /// one constant), and 0 while a replay records.
    pub(crate) fast: usize,
}

/// The most entries a column of the tape can hold: nodes, constants and
/// child links are all addressed by `u32`.
pub(crate) const LIMIT: usize = u32::MAX as usize;

/// The bits of a gradient slot that has received nothing: a signalling NaN
/// with a payload of our own. Arithmetic never yields it (it quiets NaNs, and
/// negation flips the sign bit), so it can only mean "no gradient yet".
pub(crate) const NO_GRAD: u64 = 0x7FF4_0000_DEAD_BEEF;

/// A gradient slot as a number: 0 if it was never written.
#[inline]
pub(crate) fn grad_or_zero(g: f64) -> f64 {
    if g.to_bits() != NO_GRAD { g } else { 0.0 }
}

/// A gradient as a slot holds it: a NaN with [`NO_GRAD`]'s bits would read
/// as "nothing", so it is stored as a plain NaN.
#[inline]
fn storable(g: f64) -> f64 {
    if g.to_bits() == NO_GRAD { f64::NAN } else { g }
}

/// Scope id of values made while no scope is open; they live until the thread ends.
pub(crate) const ROOT: u32 = 0;

thread_local! {
    /// This thread's tape. `ManuallyDrop`: a thread-local whose type has a
    /// destructor is checked, at every access, for whether the destructor is
    /// registered yet, and a chain of ops accesses it at every node (what that
    /// cost: BENCHMARKS.md, design choices). [`FREE`] frees it
    /// instead, when the thread ends.
    static TAPE: RefCell<ManuallyDrop<Tape>> =
        const { RefCell::new(ManuallyDrop::new(Tape::new())) };
    /// Frees [`TAPE`]'s memory when the thread ends; registered when the
    /// tape first grows.
    static FREE: FreeAtExit = const { FreeAtExit };
}

/// See [`FREE`].
struct FreeAtExit;

impl Drop for FreeAtExit {
    fn drop(&mut self) {
        // The tape is left empty and usable: another thread-local's
        // destructor (a scope, say) may still reach it.
        let old = TAPE.with(|t| {
            let mut t = t.try_borrow_mut().ok()?;
            Some(std::mem::replace(&mut **t, Tape::new()))
        });
        drop(old);
    }
}

/// Runs `f` with this thread's tape.
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    // SAFETY: the guard is dropped at the end of this statement.
    f(&mut *unsafe { borrow() })
}

/// This thread's tape, borrowed until the guard is dropped: [`with`]
/// without its closure, for the ops every expression is made of. Through
/// `with`, an op's closure was not inlined (a closure cannot be marked so),
/// and every op became a call with its operands passed through the stack
/// (twice the time a node: BENCHMARKS.md, design choices).
///
/// # Safety
///
/// The caller must drop the guard before it returns: the guard borrows a
/// thread-local, which is destroyed when the thread ends.
#[inline(always)]
pub(crate) unsafe fn borrow<'a>() -> RefMut<'a, Tape> {
    let tape: *const RefCell<ManuallyDrop<Tape>> = TAPE.with(std::ptr::from_ref);
    // SAFETY: `TAPE.with` has just returned this thread's tape, which has
    // no destructor and so lives as long as the thread; the caller drops
    // the guard before it returns.
    let mut t = RefMut::map(unsafe { &*tape }.borrow_mut(), |t| &mut **t);
    t.sync_lens();
    t
}

/// This thread's tape, if nothing has borrowed it, for an op's fast path:
/// [`borrow`] without taking the borrow, which is sound only while no code
/// that could reach the tape runs.
///
/// # Safety
///
/// The caller must not call anything (the fast paths of `value.rs` make no
/// calls at all) and must not keep the reference past its return. Nothing
/// takes a shared borrow of the tape (every access goes through
/// [`borrow`]), so "not mutably borrowed" means "not borrowed at all".
#[inline(always)]
pub(crate) unsafe fn unborrowed<'a>() -> Option<&'a mut Tape> {
    let tape: *const RefCell<ManuallyDrop<Tape>> = TAPE.with(std::ptr::from_ref);
    // SAFETY: the cell lives as long as the thread (see `borrow`). If it is
    // not mutably borrowed, no reference to the tape exists (nothing takes
    // shared borrows), and the caller makes no call that could make one
    // before it is gone.
    unsafe {
        let cell = &*tape;
        cell.try_borrow_unguarded().ok()?;
        Some(&mut **cell.as_ptr())
    }
}

/// As [`with`], or `None` while the thread is tearing its tape down.
pub(crate) fn try_with<R>(f: impl FnOnce(&mut Tape) -> R) -> Option<R> {
    TAPE.try_with(|t| {
        let mut t = t.borrow_mut();
        t.sync_lens();
        f(&mut t)
    })
    .ok()
}

impl Tape {
    const fn new() -> Self {
        Tape {
            data: Vec::new(),
            grad: Vec::new(),
            op: Vec::new(),
            args: Vec::new(),
            consts: Vec::new(),
            kids: Vec::new(),
            labels: BTreeMap::new(),
            scopes: Vec::new(),
            current: ROOT,
            next_scope: 1,
            marks: Vec::new(),
            dirty: 0..0,
            len_at_backward: 0,
            growing_backwards: 0,
            warned: false,
            limit: LIMIT,
            room: 0,
            fast: 0,
            recording_from: usize::MAX,
            read_in_recording: false,
        }
    }

    /// Whether a [`Replay`](crate::Replay) is recording.
    #[inline]
    pub(crate) fn recording(&self) -> bool {
        self.recording_from != usize::MAX
    }

    /// Notes that node `i`'s data was read: during a recording, a read of
    /// a recorded node means the graph may depend on the data.
    #[inline]
    pub(crate) fn note_read(&mut self, i: usize) {
        if i >= self.recording_from {
            self.read_in_recording = true;
        }
    }

    /// Appends a node whose data is `data(&self.data)` and returns its index.
    ///
    /// The data is computed after the columns have room, so that nothing
    /// between computing it and storing it can call out (a possible call
    /// makes the compiler park the number on the stack and reload it: an
    /// extra store and load on every op of a chain).
    #[inline(always)]
    pub(crate) fn push(&mut self, op: Op, args: [u32; 2], data: impl FnOnce(&[f64]) -> f64) -> u32 {
        let i = self.data.len();
        if i >= self.room {
            self.make_room();
        }
        let x = data(&self.data);
        // SAFETY: just checked.
        let i = unsafe { self.push_unchecked(op, args, None, x) };
        self.sync_lens();
        if i as usize + 1 >= self.fast {
            // the fast paths stopped here: room may have grown since
            self.refresh_fast();
        }
        i
    }

    /// Gives the gradient, op and children columns the length of `data`.
    ///
    /// An op's fast path sets only `data`'s length (three stores fewer on
    /// every node; BENCHMARKS.md, design choices); the
    /// other three columns' slots up to it are written,
    /// and their lengths catch up here, wherever the tape is borrowed, so
    /// that every other piece of code sees four columns of one length.
    #[inline(always)]
    pub(crate) fn sync_lens(&mut self) {
        let n = self.data.len();
        debug_assert!(self.grad.len() <= n && self.op.len() <= n && self.args.len() <= n);
        debug_assert!(
            n <= self
                .grad
                .capacity()
                .min(self.op.capacity())
                .min(self.args.capacity())
        );
        // SAFETY: every slot below `n` of the three columns was written when
        // its node was pushed (by `push_unchecked`, with `data`'s), and the
        // lengths only ever fall with `data`'s, so this initializes nothing new.
        unsafe {
            self.grad.set_len(n);
            self.op.set_len(n);
            self.args.set_len(n);
        }
    }

    /// Whether an op may take its fast path: a node fits without growing
    /// the columns, and so does a constant.
    #[inline(always)]
    pub(crate) fn fast(&self) -> bool {
        self.data.len() < self.fast
    }

    /// Recomputes [`fast`](Tape::fast). Called wherever the columns shrink,
    /// where a recording starts or ends, and by a general push that reaches
    /// the bound (the columns or `consts` may have grown since).
    pub(crate) fn refresh_fast(&mut self) {
        let used = self.consts.len();
        if self.consts.capacity() - used < 64 {
            // ops that keep no constant take their fast path only while
            // `consts` has room too: keep some
            self.consts.reserve(used.clamp(1024, self.limit.max(1024)));
        }
        let spare = self.consts.capacity() - used;
        self.fast = if self.recording() {
            0
        } else {
            self.room.min(self.data.len() + spare)
        };
    }

    /// Appends a node holding `x` and returns its index.
    ///
    /// # Safety
    ///
    /// `self.data.len() < self.room` must hold ([`fast`](Self::fast) implies
    /// it), and [`fast`](Self::fast) too if `konst` is given: the node's
    /// constant, stored in `consts` and named by `args[1]`.
    #[inline(always)]
    pub(crate) unsafe fn push_unchecked(
        &mut self,
        op: Op,
        mut args: [u32; 2],
        konst: Option<f64>,
        x: f64,
    ) -> u32 {
        let i = self.data.len();
        // SAFETY: `make_room` keeps `room` at most the capacity of each of
        // the four node columns, so `i < room` (the caller's promise) means
        // slot `i` of each is allocated. `data` has length `i` and the other
        // three at most `i` (see `sync_lens`); writing slot `i` of each and
        // setting `data`'s length to `i + 1` initializes exactly that slot.
        // Four `Vec::push` here were much slower (BENCHMARKS.md, design
        // choices): this is one check, and no call between computing the
        // number and storing it.
        debug_assert!(i < self.room);
        debug_assert!(self.grad.len() <= i && self.op.len() <= i && self.args.len() <= i);
        // Every pointer is read before the first store: a store through one
        // might, as far as the compiler knows, change the tape's fields, and
        // it would read them again after it.
        let (d, g) = (self.data.as_mut_ptr(), self.grad.as_mut_ptr());
        let (o, a) = (self.op.as_mut_ptr(), self.args.as_mut_ptr());
        let (k, kp) = (self.consts.len(), self.consts.as_mut_ptr());
        if let Some(c) = konst {
            debug_assert!(k < self.consts.capacity());
            args[1] = k as u32;
            // SAFETY: `fast` is at most the tape's length plus the spare
            // slots of `consts` at the last refresh, and every node pushed
            // since took at most one of them, so slot `k` is spare.
            unsafe {
                kp.add(k).write(c);
                self.consts.set_len(k + 1);
            }
        }
        unsafe {
            d.add(i).write(x);
            g.add(i).write(f64::from_bits(NO_GRAD));
            o.add(i).write(op);
            a.add(i).write(args);
            // the other three lengths follow in `sync_lens`
            self.data.set_len(i + 1);
        }
        i as u32
    }

    /// Grows the four node columns together, so that `push` has one check.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self) {
        // the thread's first growth: free all this when it ends
        let _ = FREE.try_with(|_| ());
        self.sync_lens(); // `reserve` keeps only the slots below a column's length
        let i = self.data.len();
        if i >= self.limit {
            full("nodes", self.limit);
        }
        let want = (2 * i).clamp(1024, self.limit.max(1024)) - i;
        self.data.reserve(want);
        self.grad.reserve(want);
        self.op.reserve(want);
        self.args.reserve(want);
        let cap = [self.data.capacity(), self.grad.capacity()]
            .into_iter()
            .chain([self.op.capacity(), self.args.capacity()])
            .min()
            .unwrap_or(0);
        self.room = cap.min(self.limit);
    }

    /// Stores a constant for a node's backward and returns its index.
    #[inline]
    pub(crate) fn konst(&mut self, c: f64) -> u32 {
        let i = self.consts.len();
        if i >= self.limit {
            full("constants", self.limit);
        }
        self.consts.push(c);
        i as u32
    }

    /// The `(start, n)` a node with many children stores, its `n` children
    /// (or `2n + 1` for an affine node) being `kids[start..]`: checked to fit
    /// in `u32`, so that an offset never wraps round to another node's children.
    #[inline]
    pub(crate) fn span(&self, start: usize, n: usize) -> [u32; 2] {
        if self.kids.len() > self.limit {
            full("child links", self.limit);
        }
        [start as u32, n as u32]
    }

    /// Panics unless a handle made in scope `scope` still points at its node.
    #[inline]
    pub(crate) fn check(&self, idx: u32, scope: u32) {
        if !self.is_current(scope) {
            self.check_outer(idx, scope);
        }
    }

    /// Whether handles made in `scope` are surely live: it is the innermost
    /// open scope or the root.
    #[inline(always)]
    pub(crate) fn is_current(&self, scope: u32) -> bool {
        scope == self.current || scope == ROOT
    }

    /// The rest of [`check`](Tape::check): a handle from an enclosing scope.
    #[cold]
    #[inline(never)]
    fn check_outer(&self, idx: u32, scope: u32) {
        if !self.scopes.iter().any(|s| s.id == scope) {
            stale(idx);
        }
    }

    /// Panics unless every handle in `vs` is live: one vectorized pass when
    /// all were made in the current scope or the root (parameters are), a
    /// check of each otherwise. After it, `v.idx` may be used directly.
    #[inline]
    pub(crate) fn check_all(&self, vs: &[crate::engine::Value]) {
        if !self.all_current(vs) {
            vs.iter().for_each(|v| _ = v.live(self));
        }
    }

    /// Whether every handle was made in the current scope or the root, so is
    /// surely live: the fast path of checking many handles at once.
    #[inline]
    pub(crate) fn all_current(&self, vs: &[crate::engine::Value]) -> bool {
        let cur = self.current;
        // min(scope ^ cur, scope) is 0 iff scope is `cur` or ROOT (= 0); an
        // `|`-fold with no early exit lets the loop vectorize.
        vs.iter()
            .fold(0, |acc, v| acc | (v.scope ^ cur).min(v.scope))
            == 0
    }

    /// Checks the handles ([`check_all`](Self::check_all)), and returns the
    /// first index if `vs` are the nodes `first..first + vs.len()`, in order
    /// (a model's parameters usually are): a pass over them can then be a
    /// loop over slices of the columns instead of a gather. One read of the
    /// handles for both (at width 256, 66 817 of them every step).
    pub(crate) fn checked_run(&self, vs: &[crate::engine::Value]) -> Option<usize> {
        let cur = self.current;
        let first = vs.first().map_or(0, |v| v.idx);
        // as in `all_current`, and the offsets from a run or-ed alongside
        let (scopes, off) = vs.iter().zip(first..).fold((0, 0), |(s, o), (v, i)| {
            (s | (v.scope ^ cur).min(v.scope), o | (v.idx ^ i))
        });
        if scopes != 0 {
            vs.iter().for_each(|v| _ = v.live(self));
        }
        (off == 0 && !vs.is_empty()).then_some(first as usize)
    }

    /// The scope a live node at `idx` belongs to: the innermost open scope
    /// that was opened before it, else the root.
    pub(crate) fn scope_of(&self, idx: u32) -> u32 {
        self.scopes
            .iter()
            .rev()
            .find(|s| s.start <= idx)
            .map_or(ROOT, |s| s.id)
    }

    #[inline]
    pub(crate) fn grad_of(&self, idx: u32) -> f64 {
        grad_or_zero(self.grad[idx as usize])
    }

    /// [`write_grad`](Self::write_grad) for the nodes `r`, in order, calling
    /// `f(k, &mut data, gs[k])` for the k-th in the same pass: an
    /// optimizer's update beside the gradient it writes.
    pub(crate) fn write_grads_with(
        &mut self,
        r: std::ops::Range<usize>,
        gs: &[f64],
        mut f: impl FnMut(usize, &mut f64, f64),
    ) {
        let slots = self.grad[r.clone()]
            .iter_mut()
            .zip(&mut self.data[r.clone()]);
        for (k, ((g, p), &x)) in slots.zip(gs).enumerate() {
            *g = storable(x);
            f(k, p, x);
        }
        if self.op[r.clone()].iter().any(|&o| o != Op::Leaf) {
            self.mark_dirty(r);
        }
    }

    /// Writes a gradient by hand (`set_grad`, `zero_grad`).
    pub(crate) fn write_grad(&mut self, idx: usize, g: f64) {
        self.grad[idx] = storable(g);
        // leaves keep their gradient across passes and are never reset
        if self.op[idx] != Op::Leaf {
            self.mark_dirty(idx..idx + 1);
        }
    }

    /// Adds `r` to the range of interior nodes that may hold a gradient.
    pub(crate) fn mark_dirty(&mut self, r: std::ops::Range<usize>) {
        self.dirty = if self.dirty.is_empty() {
            r
        } else {
            self.dirty.start.min(r.start)..self.dirty.end.max(r.end)
        };
    }

    /// A scope id never given before on this thread.
    pub(crate) fn fresh_scope_id(&mut self) -> u32 {
        let id = self.next_scope;
        self.next_scope = self.next_scope.checked_add(1).unwrap_or_else(|| {
            panic!("micrograd: more than 4 billion scopes opened on one thread")
        });
        id
    }

    pub(crate) fn open_scope(&mut self) -> u32 {
        let id = self.fresh_scope_id();
        self.scopes.push(ScopeMark {
            id,
            guard: id,
            start: self.data.len() as u32,
            consts: self.consts.len(),
            kids: self.kids.len(),
        });
        self.current = id;
        id
    }

    /// Ends scope `id` and every scope opened inside it, freeing their nodes.
    /// Does nothing if `id` has already ended.
    pub(crate) fn close_scope(&mut self, guard: u32) {
        let Some(pos) = self.scopes.iter().position(|s| s.guard == guard) else {
            return;
        };
        let mark = self.scopes[pos];
        self.scopes.truncate(pos);
        self.current = self.scopes.last().map_or(ROOT, |s| s.id);
        let n = mark.start as usize;
        self.data.truncate(n);
        self.op.truncate(n);
        self.args.truncate(n);
        self.grad.truncate(n);
        self.dirty.end = self.dirty.end.min(n);
        self.dirty.start = self.dirty.start.min(self.dirty.end);
        self.consts.truncate(mark.consts);
        self.kids.truncate(mark.kids);
        if self.labels.range(mark.start..).next().is_some() {
            self.labels.split_off(&mark.start);
        }
        self.refresh_fast();
    }

    /// Indices of node `i`'s children, in operand order.
    pub(crate) fn children(&self, i: usize) -> &[u32] {
        let args = &self.args[i];
        let (a, b) = (args[0] as usize, args[1] as usize);
        match self.op[i].kids() {
            Kids::Leaf => &[],
            Kids::One => &args[..1],
            Kids::Two => args,
            Kids::Many => match self.op[i] {
                Op::Dot => &self.kids[a..a + 2 * b],
                Op::Affine => &self.kids[a..a + 2 * b + 1],
                _ => &self.kids[a..a + b],
            },
        }
    }

    /// Bytes held by the tape's node storage: (in use, allocated).
    pub(crate) fn bytes(&self) -> (usize, usize) {
        let used = self.data.len() * 8
            + self.grad.len().max(self.data.len()) * 8
            + self.op.len()
            + self.args.len() * 8
            + self.consts.len() * 8
            + self.kids.len() * 4;
        let cap = self.data.capacity() * 8
            + self.grad.capacity().max(self.data.capacity()) * 8
            + self.op.capacity()
            + self.args.capacity() * 8
            + self.consts.capacity() * 8
            + self.kids.capacity() * 4;
        (used, cap)
    }
}

#[cold]
#[inline(never)]
fn stale(idx: u32) -> ! {
    panic!(
        "micrograd: stale Value (node #{idx}): it was made inside a scope that has ended, \
         so its node was freed. Keep values you need across steps (parameters) outside \
         the scope, or read what you need (e.g. `loss.data()`) before the scope ends."
    )
}

#[cold]
#[inline(never)]
fn full(what: &str, limit: usize) -> ! {
    panic!(
        "micrograd: the tape of this thread holds {limit} {what}, the most it can address. \
         Open a `micrograd::scope()` per training step so that finished steps are freed, \
         or use smaller batches."
    )
}

#[cfg(test)]
mod tests {
    use crate::engine::{Value, tape};

    /// Runs `f` on a fresh thread whose tape addresses only `limit` entries
    /// per column, and returns its panic message.
    fn panics_with_limit(limit: usize, f: impl FnOnce() + Send + 'static) -> String {
        let r = std::thread::spawn(move || {
            tape::with(|t| t.limit = limit);
            f();
        })
        .join();
        match r {
            Ok(()) => String::new(),
            Err(e) => e
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a panic without a message".into()),
        }
    }

    #[test]
    fn every_column_stops_at_its_limit_with_a_message_and_never_wraps() {
        let msg = panics_with_limit(1000, || {
            let xs: Vec<Value> = (0..600).map(|i| Value::new(i as f64)).collect();
            let _ok = Value::sum(xs.iter().copied()); // 600 links
            let _wraps = Value::sum(xs.iter().copied()); // 1200 > 1000
        });
        assert!(
            msg.contains("holds 1000 child links, the most it can address"),
            "{msg}"
        );
        let msg = panics_with_limit(1000, || {
            let w: Vec<Value> = (0..300).map(|_| Value::new(1.0)).collect();
            let x: Vec<Value> = (0..300).map(|_| Value::new(2.0)).collect();
            for _ in 0..2 {
                let _ = Value::dot(&w, &x); // 600 links each
            }
        });
        assert!(msg.contains("child links"), "{msg}");
        let msg = panics_with_limit(1000, || {
            let x = Value::new(1.0);
            for _ in 0..1001 {
                let _ = x * 3.0; // a node and a constant each
            }
        });
        assert!(
            msg.contains("holds 1000 nodes") || msg.contains("1000 constants"),
            "{msg}"
        );
        let msg = panics_with_limit(1000, || {
            let xs: Vec<Value> = (0..10).map(|i| Value::new(i as f64)).collect();
            let s = Value::sum(xs.iter().copied());
            s.backward();
        });
        assert_eq!(msg, "", "under the limit nothing changes");
    }
}
