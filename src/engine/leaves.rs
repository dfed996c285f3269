//! A list of handles that every training step reads (a model's parameters,
//! a replay's shared leaves), with the checks a pass over them needs done
//! once, when the list is made.

use super::tape::Tape;
use super::value::Value;

/// Handles fixed when made. A pass over them checks each scope they come
/// from, not each handle (a handle is live exactly when its scope is), and
/// knows whether they are one run of the tape: at width 256, two passes of
/// 66 817 handles every step.
#[derive(Clone, Debug)]
pub(crate) struct Leaves {
    values: Vec<Value>,
    /// `Some(i)` if the handles are the nodes `i..i + len`, in order.
    run: Option<usize>,
    /// One handle of each scope among them.
    scopes: Vec<Value>,
}

impl Leaves {
    pub(crate) fn new(values: Vec<Value>) -> Leaves {
        let first = values.first().map_or(0, |v| v.idx);
        let run = (!values.is_empty() && values.iter().zip(first..).all(|(v, i)| v.idx == i))
            .then_some(first as usize);
        let mut scopes = values.clone();
        scopes.sort_unstable_by_key(|v| v.scope);
        scopes.dedup_by_key(|v| v.scope);
        Leaves {
            values,
            run,
            scopes,
        }
    }
}

/// Handles that a pass over the tape can check: any slice, each handle in
/// turn, or [`Leaves`], checked once.
pub(crate) trait Handles {
    fn values(&self) -> &[Value];

    /// Panics unless every handle is live, and returns the first index if
    /// they are the nodes `first..first + len`, in order.
    fn checked_run(&self, t: &Tape) -> Option<usize>;
}

impl Handles for [Value] {
    fn values(&self) -> &[Value] {
        self
    }

    fn checked_run(&self, t: &Tape) -> Option<usize> {
        t.checked_run(self)
    }
}

impl Handles for Leaves {
    fn values(&self) -> &[Value] {
        &self.values
    }

    fn checked_run(&self, t: &Tape) -> Option<usize> {
        self.scopes.iter().for_each(|v| _ = v.live(t));
        self.run
    }
}

#[cfg(test)]
mod tests {
    use super::{Handles, Leaves};
    use crate::engine::{Value, scope, tape};

    #[test]
    fn leaves_know_their_run_and_go_stale_with_their_scope() {
        let run: Vec<Value> = (0..5).map(|i| Value::new(f64::from(i))).collect();
        let leaves = Leaves::new(run.clone());
        let first = run[0].id();
        assert_eq!(tape::with(|t| leaves.checked_run(t)), Some(first));
        let mut shuffled = run.clone();
        shuffled.swap(1, 2);
        assert_eq!(tape::with(|t| Leaves::new(shuffled).checked_run(t)), None);
        assert_eq!(tape::with(|t| Leaves::new(vec![]).checked_run(t)), None);

        let s = scope();
        let mut mixed = run.clone();
        mixed.push(Value::new(9.0)); // from the scope, right after them: a run
        let mixed = Leaves::new(mixed);
        assert_eq!(tape::with(|t| mixed.checked_run(t)), Some(first));
        drop(s);
        let r = std::panic::catch_unwind(|| tape::with(|t| mixed.checked_run(t)));
        assert!(r.is_err(), "a handle of an ended scope must be caught");
    }
}
