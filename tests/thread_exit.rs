//! A thread's tape is freed when the thread ends. The tape is a thread-local
//! without a destructor of its own (see `engine/tape.rs`); a second one frees
//! it. Here a counting allocator checks that nothing stays allocated.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use micrograd::Value;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counter only adds up the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's promises are the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn a_threads_tape_is_freed_when_the_thread_ends() {
    let before = LIVE.load(Ordering::Relaxed);
    for _ in 0..3 {
        std::thread::spawn(|| {
            let mut x = Value::new(1.0).with_label("x");
            for _ in 0..500_000 {
                x = x * 1.0001 + 0.0001;
            }
            x.backward();
            assert!(x.data() > 1.0);
        })
        .join()
        .unwrap();
    }
    let kept = LIVE.load(Ordering::Relaxed) - before;
    // 10^6 nodes a thread take about 30 MB; a thread's own bookkeeping, a few KB
    assert!(
        kept < 1 << 20,
        "{kept} bytes still allocated after the threads ended"
    );
}
