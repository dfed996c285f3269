//! A model on many rows at once: its outputs, and a loss, through the
//! replay's forward pass a chunk of rows at a time, not one graph per row on
//! the tape.

use super::{Loss, MLP, Module};
use crate::engine::{Replay, Value, scope};

/// Rows gathered at a time (features and target side by side) before
/// they go to the replay, which works in chunks of its own.
const ROWS: usize = 1024;

/// Rows per scope on the tape (for a model the replay refuses): its
/// graphs take far more memory per row than the replay's lanes.
const TAPE_ROWS: usize = 512;

/// What a model's outputs are recorded with: nothing more, or one sample's
/// loss for `classes` classes.
type Key = Option<(Loss, usize)>;

/// A model's outputs (and, where asked, its loss) for many rows, computed
/// by [`Replay::forward_rows`]: the model's graph is recorded once and run
/// over the rows a chunk of lanes at a time, so memory is bounded by a chunk,
/// not by the number of rows, and each row costs a few matrix products'
/// share instead of a graph on the tape. The numbers are the tape's up to
/// the order of summation (the tests hold them to 1e-12).
///
/// The recording is kept between calls (the parameters are read afresh
/// each time), so scoring the same model again, after a training epoch
/// say, records nothing new. Rows that do not have [`MLP::nin`] numbers,
/// and targets that do not suit the loss, go to the tape, which says what
/// is wrong as [`Loss::compute`] does.
///
/// ```
/// use micrograd::{Loss, MLP, Module, nn::Scorer};
/// let model = MLP::new(2, &[8, 3]);
/// let rows: Vec<Vec<f64>> = (0..1000).map(|i| vec![i as f64 / 1000.0, 0.5]).collect();
/// let mut s = Scorer::new(&model);
/// let out = s.outputs(&rows);
/// assert_eq!(out.len(), 1000);
/// let one = model.predict(&rows[999]);
/// assert!(out[999].iter().zip(&one).all(|(a, b)| (a - b).abs() < 1e-12));
///
/// let labels: Vec<f64> = (0..1000).map(|i| (i % 3) as f64).collect();
/// let (loss, outs) = s.loss_and_outputs(&rows, &labels, Loss::CrossEntropy, 3);
/// assert!(loss > 0.0 && outs == out);
/// ```
#[derive(Debug)]
pub struct Scorer<'m> {
    model: &'m MLP,
    /// The recording and what it was recorded with; `Err` when the
    /// replay refused the model (the tape is used).
    replay: Option<(Key, Result<Replay, crate::ReplayError>)>,
}

impl<'m> Scorer<'m> {
    /// A scorer for `model`; nothing is recorded until it is used.
    pub fn new(model: &'m MLP) -> Scorer<'m> {
        Scorer {
            model,
            replay: None,
        }
    }

    /// A scorer that starts with `r`: `model`'s sample of `loss` for
    /// `classes` classes as [`MLP::record_loss`] records it (training's own
    /// recording), so scoring with that loss records nothing more.
    pub(crate) fn with_loss_recording(
        model: &'m MLP,
        loss: Loss,
        classes: usize,
        r: Replay,
    ) -> Scorer<'m> {
        Scorer {
            model,
            replay: Some((Some((loss, classes)), Ok(r))),
        }
    }

    /// The model's outputs for each row of `x`. A scorer that has scored
    /// a loss runs that recording (the loss of a dummy target is left
    /// unread) rather than record the outputs alone: recording a wide
    /// model costs far more than running it.
    pub fn outputs<R: AsRef<[f64]> + Sync>(&mut self, x: &[R]) -> Vec<Vec<f64>> {
        let mut outs = Vec::with_capacity(x.len());
        if !self.fits(x) {
            outs.extend(x.iter().map(|r| self.model.predict(r.as_ref())));
            return outs;
        }
        if let Some((Some((loss, classes)), Ok(r))) = &mut self.replay {
            let dummy = vec![0.0; x.len()];
            return replayed(r, x, &dummy, *loss, *classes).1;
        }
        match self.recording(None) {
            Ok(r) => r.forward_rows(x, |_, _, o| outs.push(o.to_vec())),
            Err(_) => outs.extend(x.iter().map(|r| self.model.predict(r.as_ref()))),
        }
        outs
    }

    /// The mean `loss` over the rows of `x` with targets `y` (class indices
    /// for `classes` classes, numbers for 0), as [`Loss::compute`] gives it,
    /// and the model's outputs for each row. Panics with
    /// [`Loss::compute`]'s message if the targets or the model's outputs do
    /// not suit the loss (check first with [`Loss::check`]), or if `x` and
    /// `y` differ in length.
    pub fn loss_and_outputs<R: AsRef<[f64]> + Sync>(
        &mut self,
        x: &[R],
        y: &[f64],
        loss: Loss,
        classes: usize,
    ) -> (f64, Vec<Vec<f64>>) {
        assert_eq!(
            x.len(),
            y.len(),
            "micrograd: loss {loss}: {} rows for {} targets",
            x.len(),
            y.len()
        );
        let suits = self.fits(x)
            && self.model.nout() == loss.outputs(classes)
            && y.iter().all(|&t| is_target(t, classes));
        if suits && let Ok(r) = self.recording(Some((loss, classes))) {
            return replayed(r, x, y, loss, classes);
        }
        on_tape(self.model, x, y, loss, classes)
    }

    /// Whether every row has as many numbers as the model has inputs.
    fn fits<R: AsRef<[f64]>>(&self, x: &[R]) -> bool {
        let nin = self.model.nin();
        x.iter().all(|r| r.as_ref().len() == nin)
    }

    /// The recording for `key`, made on first use or when the key changes.
    fn recording(&mut self, key: Key) -> Result<&mut Replay, crate::ReplayError> {
        if self.replay.as_ref().is_none_or(|(k, _)| *k != key) {
            self.replay = Some((key, record(self.model, key)));
        }
        match &mut self.replay {
            Some((_, Ok(r))) => Ok(r),
            Some((_, Err(e))) => Err(e.clone()),
            None => unreachable!("recorded just above"),
        }
    }
}

/// Whether `t` is a target for `classes` classes: any number for
/// regression, a class index otherwise.
fn is_target(t: f64, classes: usize) -> bool {
    classes == 0 || (t >= 0.0 && t.fract() == 0.0 && t < classes as f64)
}

impl MLP {
    /// One sample's `loss` (for `classes` classes, 0 for a number)
    /// recorded for [`Replay`]: each row is the features, then the target
    /// as [`Loss::target_row`] makes it; the recorded value is the sample's
    /// term of the loss, the outputs the model's. What training replays, and
    /// [`Scorer`] runs forward.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, Module};
    /// let model = MLP::new(2, &[4, 1]);
    /// let mut r = model.record_loss(Loss::Svm, 2).unwrap();
    /// let row = [&[0.5, -1.0][..], &Loss::Svm.target_row(1.0, 2)].concat();
    /// let loss = r.run(&[row]); // and the gradients, added to the parameters'
    /// assert_eq!(loss, (1.0 - r.output(0)[0]).max(0.0));
    /// assert!(model.parameters().iter().any(|p| p.grad() != 0.0));
    /// ```
    pub fn record_loss(&self, loss: Loss, classes: usize) -> Result<Replay, crate::ReplayError> {
        let nin = self.nin();
        Replay::record(nin + loss.target_width(classes), |v| {
            let out = self.forward(&v[..nin]);
            (loss.per_sample(&out, &v[nin..]), out)
        })
    }
}

/// One sample of `model` recorded: its outputs, and with a loss the
/// sample's term of it, the target following the features in each row.
fn record(model: &MLP, key: Key) -> Result<Replay, crate::ReplayError> {
    match key {
        None => Replay::record(model.nin(), |v| {
            let out = model.forward(v);
            (out.first().copied().unwrap_or_else(|| Value::new(0.0)), out)
        }),
        Some((loss, classes)) => model.record_loss(loss, classes),
    }
}

/// The mean loss and the outputs, replayed: rows made of features and
/// target [`ROWS`] at a time.
fn replayed<R: AsRef<[f64]> + Sync>(
    r: &mut Replay,
    x: &[R],
    y: &[f64],
    loss: Loss,
    classes: usize,
) -> (f64, Vec<Vec<f64>>) {
    let mut outs = Vec::with_capacity(x.len());
    let mut total = 0.0;
    // the rows side by side in one buffer, read as slices: no allocation a row
    let width = r.nin();
    let mut flat = Vec::with_capacity(ROWS.min(x.len()) * width);
    for (xs, ys) in x.chunks(ROWS).zip(y.chunks(ROWS)) {
        flat.clear();
        for (x, &t) in xs.iter().zip(ys) {
            flat.extend_from_slice(x.as_ref());
            flat.extend(loss.target_row(t, classes));
        }
        let rows: Vec<&[f64]> = flat.chunks(width).collect();
        r.forward_rows(&rows, |_, l, o| {
            total += l;
            outs.push(o.to_vec());
        });
    }
    (total / x.len().max(1) as f64, outs)
}

/// The mean loss and the outputs on the tape, a chunk of rows per scope.
fn on_tape<R: AsRef<[f64]>>(
    model: &MLP,
    x: &[R],
    y: &[f64],
    loss: Loss,
    classes: usize,
) -> (f64, Vec<Vec<f64>>) {
    let mut total = 0.0;
    let mut outs = Vec::with_capacity(x.len());
    for (xs, ys) in x.chunks(TAPE_ROWS).zip(y.chunks(TAPE_ROWS)) {
        let _s = scope();
        let o: Vec<Vec<Value>> = xs
            .iter()
            .map(|x| {
                let x: Vec<Value> = x.as_ref().iter().map(|&v| Value::new(v)).collect();
                model.forward(&x)
            })
            .collect();
        // every loss is a mean over its samples: weigh each chunk by its size
        total += loss.compute(&o, ys, classes).data() * ys.len() as f64;
        outs.extend(o.iter().map(|o| crate::engine::read_data(o)));
    }
    (total / x.len().max(1) as f64, outs)
}
