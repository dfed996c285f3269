//! How many threads a large batch runs on: rayon's global pool (the
//! machine's cores, or `RAYON_NUM_THREADS`) unless [`set_threads`] chose
//! another number. The numbers computed are the same bits on any number of
//! threads: only the time changes.

use std::sync::{Arc, Mutex};

use rayon::ThreadPool;

/// The pool chosen by [`set_threads`]; `None`: rayon's global pool.
static POOL: Mutex<Option<Arc<ThreadPool>>> = Mutex::new(None);

/// Runs large batches on `n` threads from now on, in every thread of the
/// process (0: as many as rayon's global pool has, the machine's cores by
/// default). Fails only if the threads cannot be started.
///
/// ```
/// micrograd::set_threads(1).unwrap();
/// assert_eq!(micrograd::threads(), 1);
/// micrograd::set_threads(0).unwrap();
/// assert_eq!(micrograd::threads(), rayon::current_num_threads());
/// ```
pub fn set_threads(n: usize) -> Result<(), String> {
    let pool = match n {
        0 => None,
        n => Some(Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|k| format!("micrograd-{k}"))
                .build()
                .map_err(|e| format!("cannot start {n} threads: {e}"))?,
        )),
    };
    *POOL.lock().unwrap_or_else(|e| e.into_inner()) = pool;
    Ok(())
}

/// How many threads a large batch runs on.
///
/// ```
/// assert!(micrograd::threads() >= 1);
/// ```
pub fn threads() -> usize {
    match current() {
        Some(p) => p.current_num_threads(),
        None => rayon::current_num_threads(),
    }
}

fn current() -> Option<Arc<ThreadPool>> {
    POOL.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs `f`, whose parallel iterators then use the chosen pool.
pub(crate) fn install<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match current() {
        Some(p) => p.install(f),
        None => f(),
    }
}
