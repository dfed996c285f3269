//! Where a Python `Value`'s node lives, and how memory stays flat without scopes.
//!
//! A Python `Value` holds a *slot*: an index into this thread's table of
//! engine handles. Every node the package makes sits in one engine scope that
//! stays open while the thread lives. When Python frees a `Value` its slot is
//! released; once the tape holds more than twice the nodes still held (plus
//! a margin), [`micrograd::compact`] drops the unreachable ones and rewrites
//! the table. Nodes move, numbers never change, and a Python object never
//! sees the move: it keeps its slot.
//!
//! A value does not hold its children's objects (unless the tape cannot show
//! them again: see `value::Held`): it finds its children on the tape, and the
//! table says which of them still have a live object ([`lookup`]). So an
//! intermediate value that Python no longer holds is freed at once (its node
//! stays while a value above it lives), and the same node never has two live
//! objects.
//!
//! # Frees on any thread
//!
//! The table keeps a borrowed pointer to each slot's object, so a freed
//! object must never be found there. Python may free a `Value` on any thread
//! (a cycle collection run by a worker, a pool dropping its arguments), but
//! only the owner thread can touch its table. So a free on another thread
//! (or while the table is borrowed) posts the slot to the table's
//! [`Mailbox`], and the owner takes in every posted slot before it reads any
//! pointer ([`Arena::collect_posted`]). Posting happens inside the object's
//! deallocation, before Python frees its memory, and with the interpreter
//! lock held; the owner reads pointers only with that lock held too. So by
//! the time the owner can run, every object freed elsewhere is in the
//! mailbox, and the pointer is dropped before it could be read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use micrograd::{Scope, Value, compact, scope};
use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;

/// Where a Python `Value`'s node is: which thread's table, and which entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Slot {
    arena: u32,
    index: u32,
}

/// Ids of the tables, one per thread that made a `Value`.
static ARENAS: AtomicU32 = AtomicU32::new(1);

/// The tape may hold this many nodes that nothing reaches before a compaction.
const MARGIN: usize = 1 << 18;

/// Slots freed where their table could not be touched: on another thread,
/// or while the table was borrowed. The owner takes them in before it reads
/// any object pointer.
#[derive(Default)]
struct Mailbox {
    /// Whether `slots` may hold anything: one load on the owner's fast path.
    any: AtomicBool,
    slots: Mutex<Vec<u32>>,
}

impl Mailbox {
    fn post(&self, index: u32) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.push(index);
        self.any.store(true, Ordering::Release);
    }

    fn take(&self) -> Vec<u32> {
        if !self.any.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        self.any.store(false, Ordering::Relaxed);
        std::mem::take(&mut *slots)
    }
}

/// Every live table's mailbox, by table id; a table leaves with its thread.
static MAILBOXES: Mutex<Vec<(u32, Arc<Mailbox>)>> = Mutex::new(Vec::new());

fn mailbox_of(arena: u32) -> Option<Arc<Mailbox>> {
    let boxes = MAILBOXES.lock().unwrap_or_else(PoisonError::into_inner);
    boxes
        .iter()
        .find(|(id, _)| *id == arena)
        .map(|(_, m)| m.clone())
}

struct Arena {
    /// This table's id: a `Slot` from another thread's table is refused.
    id: u32,
    /// Slot → handle; a free slot holds `nil`.
    handles: Vec<Value>,
    /// Slot → its object, borrowed: null until [`bind`], and once freed.
    objs: Vec<*mut ffi::PyObject>,
    /// Node (its place on the tape) → 1 + the slot that holds it, 0 for none.
    owner: Vec<u32>,
    free: Vec<u32>,
    /// Slots in use.
    live: usize,
    /// Nodes made since the last compaction (counted by `apply` and `read`),
    /// and how many to allow before the next.
    made: usize,
    next: usize,
    /// A leaf made outside the scope: what free slots point at (it never moves).
    nil: Value,
    /// Slots freed where this table could not be touched.
    mailbox: Arc<Mailbox>,
    /// The scope every node of the package is made in; dropped with the thread.
    _scope: Scope,
}

thread_local! {
    static ARENA: RefCell<Arena> = RefCell::new(Arena::new());
}

/// Runs `f` with the handles of `slots`, then stores the values it returns in
/// new slots, which it returns. `f` may make any number of engine nodes.
/// No Python object is made or dropped inside: a drop would re-enter the table.
pub(crate) fn apply<const N: usize, const M: usize>(
    slots: [Slot; N],
    f: impl FnOnce([Value; N]) -> [Value; M],
) -> PyResult<[Slot; M]> {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        let mut handles = [a.nil; N];
        for (h, s) in handles.iter_mut().zip(slots) {
            *h = a.handle(s)?;
        }
        let out = f(handles).map(|v| a.insert(v));
        a.made += M;
        a.maybe_compact();
        Ok(out)
    })
}

/// Runs `f` with the handles of `slots` (no new slots; [`insert_all`] stores
/// what it made). `f` may make any number of engine nodes, which count
/// towards the next compaction.
pub(crate) fn read<R>(slots: &[Slot], f: impl FnOnce(&[Value]) -> R) -> PyResult<R> {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        if let Some(&s) = slots.iter().find(|s| s.arena != a.id) {
            a.handle(s)?; // the error
        }
        // a plain gather: a `?` per element spills each handle to the stack
        let vs: Vec<Value> = slots.iter().map(|s| a.handles[s.index as usize]).collect();
        let before = micrograd::stats().nodes;
        let out = f(&vs);
        a.made += micrograd::stats().nodes.saturating_sub(before);
        Ok(out)
    })
}

/// The handle in one slot.
#[inline]
pub(crate) fn get(slot: Slot) -> PyResult<Value> {
    ARENA.with(|a| a.borrow().handle(slot))
}

/// Puts `v`, a handle to the node `slot` already holds, in its place: the
/// same node, carrying the number it holds now (see `Value::refreshed`).
pub(crate) fn refresh(slot: Slot, v: Value) -> PyResult<()> {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        let old = a.handle(slot)?;
        debug_assert!(old == v, "a refreshed handle names the same node");
        a.handles[slot.index as usize] = v;
        Ok(())
    })
}

/// Stores values made in [`read`] (many at once) and returns their slots.
pub(crate) fn insert_all(vs: &[Value]) -> Vec<Slot> {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        let out = vs.iter().map(|&v| a.insert(v)).collect();
        a.maybe_compact();
        out
    })
}

/// Records `obj` as the object of `slot`, which [`lookup`] then finds. The
/// object calls [`release`] when it is freed.
pub(crate) fn bind(slot: Slot, obj: *mut ffi::PyObject) {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        if a.id == slot.arena {
            a.objs[slot.index as usize] = obj;
        }
    });
}

/// What [`lookup`] found for one node.
pub(crate) enum Looked<'py> {
    /// The node's live object.
    Object(Bound<'py, PyAny>),
    /// A new slot for the node, whose object the caller makes and binds.
    New(Slot),
    /// The slot given as `New` for the same node listed before.
    Again(Slot),
}

/// For each node of `nodes`, its live object or a new slot. Every look-up
/// happens here, while the handles are current: making an object may run
/// Python code, and with it a compaction that moves nodes.
pub(crate) fn lookup<'py>(py: Python<'py>, nodes: &[Value]) -> Vec<Looked<'py>> {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        a.collect_posted();
        let mut taken = HashMap::new();
        let found = nodes.iter().map(|&n| match a.find(n) {
            // SAFETY: `p` is a live object (`find` checks its count);
            // taking a reference runs no Python code.
            Found::Object(p) => Looked::Object(unsafe { Bound::from_borrowed_ptr(py, p) }),
            // a slot taken above for a node listed before
            Found::Making(index) if taken.contains_key(&index) => Looked::Again(taken[&index]),
            // (a slot whose object some other call is making is never shared:
            // one object per slot, always)
            Found::Making(_) | Found::None => {
                let s = a.insert(n);
                taken.insert(s.index, s);
                Looked::New(s)
            }
        });
        found.collect()
    })
}

/// Frees a slot; called when Python frees its `Value`, on any thread. On the
/// owner thread the slot is freed at once; elsewhere, or while the table is
/// borrowed, it is posted to the table's mailbox (see the module doc). A
/// table whose thread has ended is gone, and so is every pointer it held.
pub(crate) fn release(slot: Slot) {
    let done = ARENA.try_with(|a| match a.try_borrow_mut() {
        Ok(mut a) if a.id == slot.arena => {
            a.free_slot(slot.index);
            true
        }
        _ => false,
    });
    if done != Ok(true)
        && let Some(m) = mailbox_of(slot.arena)
    {
        m.post(slot.index);
    }
}

/// Values held from Python on this thread.
pub(crate) fn live() -> usize {
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        a.collect_posted();
        a.live
    })
}

impl Arena {
    fn new() -> Arena {
        let id = ARENAS.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::default());
        MAILBOXES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((id, mailbox.clone()));
        Arena {
            id,
            handles: Vec::new(),
            objs: Vec::new(),
            owner: Vec::new(),
            free: Vec::new(),
            live: 0,
            made: 0,
            next: MARGIN,
            nil: Value::new(0.0),
            mailbox,
            _scope: scope(),
        }
    }

    fn free_slot(&mut self, index: u32) {
        let (s, nil) = (index as usize, self.nil);
        let node = self.handles[s].raw_id();
        if self.owner.get(node) == Some(&(index + 1)) {
            self.owner[node] = 0;
        }
        self.handles[s] = nil;
        self.objs[s] = std::ptr::null_mut();
        self.free.push(index);
        self.live -= 1;
    }

    /// Frees the slots whose objects were freed where this table could not
    /// be touched. Runs before any object pointer is read.
    fn collect_posted(&mut self) {
        for index in self.mailbox.take() {
            self.free_slot(index);
        }
    }

    #[inline]
    fn handle(&self, s: Slot) -> PyResult<Value> {
        if s.arena != self.id {
            return Err(PyRuntimeError::new_err(
                "this Value was made on another thread: a Value belongs to the thread that \
                 made it (each thread has its own tape)",
            ));
        }
        Ok(self.handles[s.index as usize])
    }

    fn insert(&mut self, v: Value) -> Slot {
        self.live += 1;
        let index = match self.free.pop() {
            Some(s) => {
                self.handles[s as usize] = v;
                s
            }
            None => {
                self.handles.push(v);
                self.objs.push(std::ptr::null_mut());
                (self.handles.len() - 1) as u32
            }
        };
        self.own(v.raw_id(), index);
        Slot {
            arena: self.id,
            index,
        }
    }

    /// Compacts once the nodes made since the last compaction outnumber
    /// what it left, plus [`MARGIN`]: a compaction costs the nodes on the
    /// tape, so this costs O(1) per node made, amortised, and the tape never
    /// holds much more than twice what Python can still reach.
    fn maybe_compact(&mut self) {
        if self.made >= self.next {
            self.collect_posted();
            compact(&mut self.handles);
            self.made = 0;
            self.next = micrograd::stats().nodes + MARGIN;
            self.owner.clear();
            for s in 0..self.handles.len() {
                if self.handles[s] != self.nil {
                    self.own(self.handles[s].raw_id(), s as u32);
                }
            }
        }
    }

    /// Records that `slot` holds `node`.
    #[inline]
    fn own(&mut self, node: usize, slot: u32) {
        if node >= self.owner.len() {
            self.owner.resize((node + 1).next_power_of_two(), 0);
        }
        self.owner[node] = slot + 1;
    }

    /// What holds `node`: a live object, a slot whose object is being made,
    /// or nothing. The caller has taken in the mailbox ([`Arena::collect_posted`]).
    fn find(&self, node: Value) -> Found {
        let Some(&o) = self.owner.get(node.raw_id()).filter(|&&o| o != 0) else {
            return Found::None;
        };
        let index = o - 1;
        let s = index as usize;
        if self.handles[s] != node {
            return Found::None;
        }
        let p = self.objs[s];
        if p.is_null() {
            return Found::Making(index);
        }
        // SAFETY: `p` was bound to this slot and is unbound in its
        // deallocation (on this thread at once, on any other through the
        // mailbox, which the caller has emptied, with the interpreter lock
        // held all along), so it points at an object of our class; a count of 0
        // means that deallocation is under way (clearing its weak references
        // may run Python code), and it must not be handed out again.
        if unsafe { ffi::Py_REFCNT(p) } > 0 {
            Found::Object(p)
        } else {
            Found::None
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        let mut boxes = MAILBOXES.lock().unwrap_or_else(PoisonError::into_inner);
        boxes.retain(|(id, _)| *id != self.id);
    }
}

/// What [`Arena::find`] found.
enum Found {
    Object(*mut ffi::PyObject),
    Making(u32),
    None,
}
