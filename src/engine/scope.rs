//! Scopes: how a training loop runs in flat memory.

use std::marker::PhantomData;

use super::tape;

/// Frees every node made while it is alive when it is dropped.
///
/// Nodes live on a per-thread tape; a training step makes thousands of them
/// (the forward pass, the loss) that are garbage once the parameters are
/// updated. Open a scope at the top of the step and they are freed at its end,
/// while values made before it (the model's parameters) live on:
///
/// ```
/// use micrograd::{Value, scope, zero_grad};
///
/// let w = Value::new(0.5); // made outside: lives on
/// for _ in 0..100 {
///     let _step = micrograd::scope(); // one line per step
///     let loss = (w * 3.0 - 1.0).pow(2);
///     zero_grad(&[w]);
///     loss.backward();
///     w.set_data(w.data() - 0.05 * w.grad());
/// } // the step's nodes are freed here
/// assert!((w.data() - 1.0 / 3.0).abs() < 1e-6);
/// assert_eq!(micrograd::stats().nodes, 1);
/// ```
///
/// Bind it to a named variable: `let _ = micrograd::scope();` drops it at
/// once. Using a value made inside a scope after it ended panics with a
/// message saying so. Scopes nest; dropping an outer one ends the inner ones
/// too. A loop that calls `backward` with no scope open, and grows the tape
/// past a million nodes over 100 calls, gets a warning on stderr.
#[must_use = "a scope frees its nodes when dropped: bind it with `let _step = micrograd::scope();`"]
#[derive(Debug)]
pub struct Scope {
    id: u32,
    _thread: PhantomData<*const ()>,
}

/// Opens a [`Scope`]: nodes made until it is dropped are freed then.
///
/// ```
/// let a = micrograd::Value::new(1.0);
/// {
///     let _s = micrograd::scope();
///     let b = a * 2.0;
///     assert_eq!(b.data(), 2.0);
/// }
/// assert_eq!(micrograd::stats().nodes, 1);
/// ```
pub fn scope() -> Scope {
    Scope {
        id: tape::with(|t| t.open_scope()),
        _thread: PhantomData,
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // The tape may already be gone if the thread is exiting.
        let _ = tape::try_with(|t| t.close_scope(self.id));
    }
}
