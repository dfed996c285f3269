//! The hand-off to an optimizer: a run whose shared leaves' gradients stay
//! here, for training to read and write in one visit to the tape.

use super::Replay;

impl Replay {
    /// As [`run`](Self::run), but the shared leaves' gradients stay here,
    /// in [`held_grads`](Self::held_grads), for an optimizer to write and
    /// use in one visit to the tape. Each starts at `start(data)`, not 0,
    /// before the rows' gradients are added: how training adds its L2
    /// term's gradient in the pass that reads the parameters.
    pub(crate) fn run_held<R: AsRef<[f64]> + Sync>(
        &mut self,
        rows: &[R],
        start: impl FnMut(f64) -> f64,
    ) -> f64 {
        self.passes_over(rows, start)
    }

    /// The gradients of the shared leaves from the last [`run_held`](Self::run_held),
    /// in the order of [`shared`](Self::shared).
    pub(crate) fn held_grads(&self) -> &[f64] {
        &self.run.shared_grad
    }

    /// The shared leaves' values as the last run read them, in the order
    /// of [`shared`](Self::shared).
    pub(crate) fn shared_values(&self) -> &[f64] {
        &self.run.shared_val[..]
    }

    /// Writes the held gradients to the shared leaves, replacing theirs.
    pub(crate) fn write_held(&mut self) {
        self.accumulate(|_, g| g);
    }
}
