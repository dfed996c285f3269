//! Reading a JSON model takes memory in proportion to the file: a small
//! multiple of it, not the tens of times a tree of the whole document took.
//! A counting allocator measures the peak while a model is read.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use micrograd::nn::ModelFile;
use micrograd::{Loss, MLP, data};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters only add up the sizes (a realloc counts as the new block
// allocated before the old one is freed, as it may be).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: the caller's promises are the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        grow(new);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// The most memory allocated at once, above what was allocated before,
/// while loading `path` on a fresh thread (a fresh tape, as in the command).
fn peak_while_loading(path: &std::path::Path) -> usize {
    let path = path.to_path_buf();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    std::thread::spawn(move || {
        let f = ModelFile::load(&path).unwrap();
        assert!(f.predict(&[0.5, -0.5]).parse::<f64>().is_ok());
    })
    .join()
    .unwrap();
    PEAK.load(Ordering::Relaxed) - base
}

#[test]
fn a_json_model_is_read_in_a_small_multiple_of_its_size() {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("model-memory");
    std::fs::create_dir_all(&d).unwrap();
    let model = MLP::builder(2, &[400, 400, 1]).seed(3).build();
    let file = ModelFile::new(model, &data::moons(4, 0.1, 0), Loss::Svm);
    let pretty = file.to_json().unwrap();
    let compact =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&pretty).unwrap())
            .unwrap();
    drop(file);
    for (name, text, most) in [("pretty.json", pretty, 3.0), ("compact.json", compact, 5.0)] {
        let p = d.join(name);
        std::fs::write(&p, &text).unwrap();
        let size = text.len();
        drop(text);
        let peak = peak_while_loading(&p);
        let ratio = peak as f64 / size as f64;
        eprintln!("{name}: {size} bytes, peak {peak} bytes while loading: {ratio:.2}×");
        assert!(
            ratio < most,
            "{name}: {size} bytes took {peak} ({ratio:.2}×, over {most}×)"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}
