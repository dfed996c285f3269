//! The training recipe: every default the command line, the server and a
//! Rust user get, chosen in one place from the kind of data and the user's
//! choices, and checked.
//!
//! Two kinds of data, two sets of defaults:
//! - **micrograd's demo sets** (moons, circles, spiral, XOR, toy): his demo's
//!   recipe: MLP(2, [16, 16, 1]) with micrograd's init, SVM loss for two
//!   classes, full-batch SGD from lr 1.0 down to 0.1, L2 1e-4, 100 steps.
//! - **a table** (a CSV file): one hidden layer (He init for relu, Xavier
//!   otherwise), cross-entropy for classes and MSE for numbers, Adam at lr
//!   0.01, batches of 32, up to 200 epochs with early stopping after 20
//!   without a better validation loss, which takes 20% of the training
//!   rows. The layer's width, the L2 strength and whether to train again on
//!   every training row once early stopping has chosen the epochs scale
//!   with the table: see `table::sized` (below 800 training rows: 64 wide
//!   for classes, L2 3e-2 for numbers, refit; else 32 wide, L2 1e-3 for
//!   classes and 1e-2 for numbers, no refit). Measured on 20 tables: see
//!   BENCHMARKS.md.

use std::fmt;

use crate::data::Dataset;
use crate::nn::{Activation, Init, Loss, MLP};
use crate::optim::{OptimizerKind, Schedule};
use crate::train::TrainConfig;

/// Which defaults apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    /// One of micrograd's built-in sets: his demo's recipe.
    Builtin,
    /// A user's table: the table recipe.
    Table,
}

/// How much each class weighs in training.
///
/// ```
/// use micrograd::train::ClassWeight;
/// assert_eq!("balanced".parse::<ClassWeight>().unwrap(), ClassWeight::Balanced);
/// assert_eq!(ClassWeight::default(), ClassWeight::None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClassWeight {
    /// Each row weighs the same: a class weighs as much as it has rows.
    #[default]
    None,
    /// Each class weighs the same: the rarer classes' rows are drawn again
    /// until every class has as many as the largest ([`Dataset::balanced`]).
    Balanced,
}

impl std::str::FromStr for ClassWeight {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(ClassWeight::None),
            "balanced" => Ok(ClassWeight::Balanced),
            _ => Err(format!(
                "unknown class weight '{s}' (expected none or balanced)"
            )),
        }
    }
}

impl ClassWeight {
    /// The training rows to train on, and a note saying what was done:
    /// `train` itself (not copied) with `None`, or balanced with `seed`. Balancing a
    /// number target is an error.
    ///
    /// ```
    /// use micrograd::data::moons;
    /// use micrograd::train::ClassWeight;
    /// let ds = moons(10, 0.1, 1);
    /// let (same, note) = ClassWeight::None.apply(ds.clone(), 1).unwrap();
    /// assert_eq!((same.len(), note), (10, None));
    /// let (b, note) = ClassWeight::Balanced.apply(ds, 1).unwrap();
    /// assert_eq!(b.len(), 10); // moons are balanced already
    /// assert!(note.unwrap().starts_with("--class-weight balanced"));
    /// ```
    pub fn apply(self, train: Dataset, seed: u64) -> Result<(Dataset, Option<String>), String> {
        if self == ClassWeight::None {
            return Ok((train, None));
        }
        if !train.is_classification() {
            return Err("--class-weight balanced is for classes; the target is a number".into());
        }
        let b = train.balanced(&mut crate::Rng::new(seed));
        let note = format!(
            "--class-weight balanced: the training rows of each class drawn to {} (the \
             largest class's count): {} rows in all, from {}",
            b.len() / train.nclasses().max(1),
            b.len(),
            train.len()
        );
        Ok((b, Some(note)))
    }
}

/// What the user chose; `None` takes the default for the data.
///
/// ```
/// use micrograd::train::Choices;
/// let c = Choices { lr: Some(0.05), ..Choices::default() };
/// assert_eq!(c.steps, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Choices {
    /// What to minimise.
    pub loss: Option<Loss>,
    /// How parameters move.
    pub optimizer: Option<OptimizerKind>,
    /// The first step's learning rate.
    pub lr: Option<f64>,
    /// The last step's learning rate (linear in between).
    pub lr_end: Option<f64>,
    /// L2 regularisation strength.
    pub alpha: Option<f64>,
    /// Samples per step; 0 is the whole set.
    pub batch_size: Option<usize>,
    /// Optimizer steps (wins over `epochs`).
    pub steps: Option<u64>,
    /// Passes over the training set.
    pub epochs: Option<u64>,
    /// Epochs without a better validation loss before stopping; 0 never stops.
    pub patience: Option<usize>,
    /// Hidden layer sizes.
    pub layers: Option<Vec<usize>>,
    /// How the weights start.
    pub init: Option<Init>,
    /// The hidden layers' activation (relu unless given).
    pub activation: Option<Activation>,
    /// The share of the training rows held out to decide when to stop.
    pub valid_fraction: Option<f64>,
    /// The seed for mini-batches (1337 unless given).
    pub seed: Option<u64>,
    /// After early stopping, train again on the training and validation
    /// rows together for the epochs it chose (yes for a table unless given).
    pub refit: Option<bool>,
}

/// Everything about how to train, every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    /// The training loop's settings.
    pub cfg: TrainConfig,
    /// Hidden layer sizes.
    pub layers: Vec<usize>,
    /// How the weights start.
    pub init: Init,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The epochs asked for, if the run is counted in epochs.
    pub epochs: Option<u64>,
    /// Epochs without a better validation loss before stopping; 0 never stops.
    pub patience: usize,
    /// The share of the training rows held out for early stopping (0 with
    /// no early stopping).
    pub valid_fraction: f64,
    /// Whether, once early stopping has chosen the number of epochs, the
    /// model starts again from its first weights and trains that many on the
    /// training and validation rows together ([`Recipe::refit_config`]).
    pub refit: bool,
}

/// A choice that cannot be used: which one, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct RecipeError {
    /// The choice, named as its [`Choices`] field (`"lr"`, `"epochs"`), or
    /// `"data"` when the data cannot be learned at all.
    pub choice: &'static str,
    /// What is wrong, starting with the value.
    pub message: String,
}

impl fmt::Display for RecipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.choice, self.message)
    }
}

impl std::error::Error for RecipeError {}

fn refuse(choice: &'static str, message: String) -> RecipeError {
    RecipeError { choice, message }
}

/// The most steps a run may ask for.
pub const MAX_STEPS: u64 = 1 << 40;

/// The table recipe's settings (see the module doc).
mod table {
    pub const PATIENCE: usize = 20;
    pub const VALID: f64 = 0.2;
    pub const EPOCHS: u64 = 200;
    pub const BATCH: usize = 32;
    /// Fewer training rows than this (1 000 before the validation split)
    /// make a small table.
    pub const SMALL: usize = 800;

    /// The hidden layer's width, the L2 strength, and whether to refit, for
    /// a table of `rows` training rows and `classes` classes (0: a number):
    ///
    /// | training rows | target  | hidden layer | L2   | refit |
    /// |---------------|---------|--------------|------|-------|
    /// | under 800     | classes | 64           | 1e-2 | yes   |
    /// | under 800     | number  | 32           | 3e-2 | yes   |
    /// | 800 or more   | classes | 32           | 1e-3 | no    |
    /// | 800 or more   | number  | 32           | 1e-2 | no    |
    ///
    /// Measured on 20 tables, 5 seeds each (BENCHMARKS.md, "Tables with
    /// default flags"): on small tables, training again on the validation
    /// rows, a wider layer for classes and a stronger L2 for numbers each
    /// gained on average; on larger ones each lost (the fifth of the rows
    /// held out costs little there, and the best epoch's weights are kept),
    /// and a weaker L2 gained for classes.
    pub fn sized(rows: usize, classes: usize) -> (usize, f64, bool) {
        match (rows < SMALL, classes) {
            (true, 0) => (32, 3e-2, true),
            (true, _) => (64, 1e-2, true),
            (false, 0) => (32, 1e-2, false),
            (false, _) => (32, 1e-3, false),
        }
    }
}

impl Recipe {
    /// The share of training rows to hold out for early stopping, before the
    /// data is split: what [`Recipe::choose`] will use.
    ///
    /// ```
    /// use micrograd::train::{Choices, DataKind, Recipe};
    /// assert_eq!(Recipe::valid_fraction(DataKind::Table, &Choices::default()), 0.2);
    /// assert_eq!(Recipe::valid_fraction(DataKind::Builtin, &Choices::default()), 0.0);
    /// ```
    pub fn valid_fraction(kind: DataKind, c: &Choices) -> f64 {
        let table = kind == DataKind::Table;
        match c.patience {
            Some(0) => 0.0,
            None if !table => 0.0,
            _ => c.valid_fraction.unwrap_or(table::VALID),
        }
    }

    /// The recipe for `train` (the training rows), `valid` rows held out or
    /// not, and the user's choices.
    ///
    /// ```
    /// use micrograd::data::builtin;
    /// use micrograd::train::{Choices, DataKind, Recipe};
    /// use micrograd::{Loss, OptimizerKind};
    ///
    /// let moons = builtin("moons", 1).unwrap();
    /// let r = Recipe::choose(DataKind::Builtin, &moons, false, &Choices::default()).unwrap();
    /// assert_eq!((r.cfg.loss, r.cfg.optimizer, r.cfg.steps), (Loss::Svm, OptimizerKind::Sgd, 100));
    /// assert_eq!(r.layers, [16, 16]);
    ///
    /// let bad = Choices { lr: Some(f64::NAN), ..Choices::default() };
    /// let e = Recipe::choose(DataKind::Builtin, &moons, false, &bad).unwrap_err();
    /// assert_eq!(e.choice, "lr");
    /// ```
    pub fn choose(
        kind: DataKind,
        train: &Dataset,
        valid: bool,
        c: &Choices,
    ) -> Result<Recipe, RecipeError> {
        let table = kind == DataKind::Table;
        let classes = train.nclasses();
        let loss = c.loss.unwrap_or(match classes {
            0 => Loss::Mse,
            2 if !table => Loss::Svm,
            _ => Loss::CrossEntropy,
        });
        loss.check(classes).map_err(|m| refuse("loss", m))?;
        if classes == 1 {
            return Err(refuse(
                "data",
                format!(
                    "{}: the target '{}' has only one class; nothing to learn",
                    train.name, train.target
                ),
            ));
        }
        let optimizer = c.optimizer.unwrap_or(if table {
            OptimizerKind::Adam
        } else {
            OptimizerKind::Sgd
        });
        let (width, table_alpha, refit) = table::sized(train.len(), classes);
        let (lr, lr_end, alpha) = rates(table, optimizer, table_alpha, c)?;
        let batch_size = c.batch_size.unwrap_or(if table { table::BATCH } else { 0 });
        let (steps, epochs) = steps(table, train.len(), batch_size, c)?;
        let patience = c
            .patience
            .unwrap_or(if table { table::PATIENCE } else { 0 });
        // asked for early stopping, and for no rows to judge it by
        if c.patience.is_some_and(|p| p > 0) && c.valid_fraction == Some(0.0) {
            return Err(refuse(
                "patience",
                format!(
                    "{patience}: early stopping needs validation rows, and a validation \
                     fraction of 0 holds none out"
                ),
            ));
        }
        let activation = c.activation.unwrap_or(Activation::Relu);
        let init = c.init.unwrap_or(match (table, activation) {
            (false, _) => Init::Micrograd,
            (true, Activation::Relu) => Init::He,
            (true, _) => Init::Xavier,
        });
        let layers = match &c.layers {
            Some(l) => l.clone(),
            None if table => vec![width],
            None => vec![16, 16],
        };
        if let Some(k) = layers.iter().position(|&n| n == 0) {
            return Err(refuse("layers", format!("layer {} has size 0", k + 1)));
        }
        Ok(Recipe {
            cfg: TrainConfig {
                loss,
                optimizer,
                // lr(k) = lr + (lr_end - lr)·k/steps: micrograd's 1.0 - 0.9·k/100
                schedule: Schedule::Linear {
                    start: lr,
                    end: lr_end,
                    steps,
                },
                alpha,
                steps,
                batch_size,
                seed: c.seed.unwrap_or(1337),
                patience: (patience > 0 && valid).then_some(patience),
                replay: true,
            },
            layers,
            init,
            activation,
            epochs,
            patience,
            valid_fraction: Recipe::valid_fraction(kind, c),
            refit: c.refit.unwrap_or(table && refit) && patience > 0 && valid,
        })
    }

    /// The refit's settings: as many epochs as early stopping kept (its
    /// best step was `best_step`, training on `trained_rows`), over
    /// `all_rows` (the training and validation rows together), with no
    /// early stopping; and that number of epochs.
    ///
    /// ```
    /// use micrograd::data::moons;
    /// use micrograd::train::{Choices, DataKind, Recipe};
    /// let r = Recipe::choose(DataKind::Table, &moons(80, 0.1, 1), true, &Choices::default()).unwrap();
    /// assert!(r.refit);
    /// // 80 rows in batches of 32: 3 steps an epoch; the best was the 4th epoch's end
    /// let (epochs, cfg) = r.refit_config(11, 80, 100);
    /// assert_eq!((epochs, cfg.steps, cfg.patience), (4, 4 * 4, None));
    /// ```
    pub fn refit_config(
        &self,
        best_step: usize,
        trained_rows: usize,
        all_rows: usize,
    ) -> (u64, TrainConfig) {
        let per_epoch = |rows: usize| match self.cfg.batch_size {
            0 => 1,
            b => rows.div_ceil(b).max(1),
        };
        let epochs = (best_step + 1).div_ceil(per_epoch(trained_rows));
        let steps = epochs * per_epoch(all_rows);
        let schedule = match self.cfg.schedule {
            Schedule::Linear { start, end, .. } => Schedule::Linear { start, end, steps },
            other => other,
        };
        let cfg = TrainConfig {
            steps,
            schedule,
            patience: None,
            ..self.cfg.clone()
        };
        (epochs as u64, cfg)
    }

    /// The recipe's network for `nin` inputs and `classes` classes (0 for a
    /// number), its weights drawn from `seed`.
    ///
    /// ```
    /// use micrograd::Module;
    /// use micrograd::data::builtin;
    /// use micrograd::train::{Choices, DataKind, Recipe};
    ///
    /// let xor = builtin("xor", 1).unwrap();
    /// let r = Recipe::choose(DataKind::Builtin, &xor, false, &Choices::default()).unwrap();
    /// let model = r.model(2, 2, 1337);
    /// assert_eq!(model.num_parameters(), 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1);
    /// ```
    pub fn model(&self, nin: usize, classes: usize, seed: u64) -> MLP {
        let mut nouts = self.layers.clone();
        nouts.push(self.cfg.loss.outputs(classes));
        MLP::builder(nin, &nouts)
            .hidden(self.activation)
            .output(Activation::Linear)
            .init(self.init)
            .seed(seed)
            .build()
    }
}

/// The first and last learning rates and the L2 strength, checked.
fn rates(
    table: bool,
    optimizer: OptimizerKind,
    table_alpha: f64,
    c: &Choices,
) -> Result<(f64, f64, f64), RecipeError> {
    let lr = c.lr.unwrap_or(match optimizer {
        OptimizerKind::Sgd => 1.0,
        OptimizerKind::Momentum => 0.1,
        OptimizerKind::Adam => 0.01,
    });
    let lr_end = c.lr_end.unwrap_or(if table { lr } else { lr / 10.0 });
    let alpha = c.alpha.unwrap_or(if table { table_alpha } else { 1e-4 });
    for (name, v) in [("lr", lr), ("lr_end", lr_end), ("alpha", alpha)] {
        if !v.is_finite() || v < 0.0 {
            return Err(refuse(name, format!("{v}: must be a finite number >= 0")));
        }
    }
    Ok((lr, lr_end, alpha))
}

/// The steps to run, and the epochs they came from if counted in epochs.
fn steps(
    table: bool,
    rows: usize,
    batch_size: usize,
    c: &Choices,
) -> Result<(usize, Option<u64>), RecipeError> {
    let per_epoch = if batch_size == 0 {
        1
    } else {
        rows.div_ceil(batch_size) as u64
    };
    let epochs = match (c.steps, c.epochs) {
        (Some(_), _) => None,
        (None, Some(e)) => Some(e),
        (None, None) if table => Some(table::EPOCHS),
        (None, None) => None,
    };
    let steps = match epochs {
        Some(e) => e
            .checked_mul(per_epoch)
            .filter(|&s| s <= MAX_STEPS)
            .ok_or_else(|| {
                refuse(
                    "epochs",
                    format!(
                        "{e}: {e} epochs of {per_epoch} batches is more than {MAX_STEPS} steps"
                    ),
                )
            })?,
        None => c.steps.unwrap_or(100),
    };
    if steps == 0 {
        let which = if epochs.is_some() { "epochs" } else { "steps" };
        return Err(refuse(which, "0: nothing to do".to_owned()));
    }
    if steps > MAX_STEPS {
        return Err(refuse("steps", format!("{steps}: more than {MAX_STEPS}")));
    }
    Ok((steps as usize, epochs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::builtin;

    fn table(rows: usize, classes: &[&str]) -> Dataset {
        Dataset {
            name: "t.csv".into(),
            features: vec!["a".into()],
            target: "y".into(),
            x: (0..rows).map(|i| vec![i as f64]).collect(),
            y: (0..rows)
                .map(|i| (i % classes.len().max(1)) as f64)
                .collect(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_table_gets_the_table_recipe() {
        let t = table(100, &["a", "b"]);
        let r = Recipe::choose(DataKind::Table, &t, true, &Choices::default()).unwrap();
        assert_eq!(r.cfg.loss, Loss::CrossEntropy);
        assert_eq!(r.cfg.optimizer, OptimizerKind::Adam);
        assert_eq!((r.cfg.alpha, r.cfg.batch_size), (1e-2, 32));
        assert_eq!(r.epochs, Some(200));
        assert_eq!(r.cfg.steps, 200 * 4); // 100 rows in batches of 32
        assert_eq!(r.cfg.patience, Some(20));
        assert_eq!((r.layers.as_slice(), r.init), (&[64][..], Init::He));
        assert!(r.refit);
        let tanh = Choices {
            activation: Some(Activation::Tanh),
            ..Choices::default()
        };
        let r = Recipe::choose(DataKind::Table, &t, false, &tanh).unwrap();
        assert_eq!(
            (r.init, r.cfg.patience, r.refit),
            (Init::Xavier, None, false)
        );
        let numbers = table(10, &[]);
        let r = Recipe::choose(DataKind::Table, &numbers, true, &Choices::default()).unwrap();
        assert_eq!(r.cfg.loss, Loss::Mse);
    }

    #[test]
    fn the_network_l2_and_refit_scale_with_the_table() {
        let choose = |t: &Dataset, c: &Choices| {
            let r = Recipe::choose(DataKind::Table, t, true, c).unwrap();
            (r.layers, r.cfg.alpha, r.refit)
        };
        let none = Choices::default();
        // under 800 training rows: 64 wide for classes, L2 3e-2 for numbers, refit
        assert_eq!(
            choose(&table(799, &["a", "b"]), &none),
            (vec![64], 1e-2, true)
        );
        assert_eq!(choose(&table(799, &[]), &none), (vec![32], 3e-2, true));
        // 800 or more: 32 wide, L2 1e-3 for classes and 1e-2 for numbers,
        // the early-stopped weights kept
        assert_eq!(
            choose(&table(800, &["a", "b"]), &none),
            (vec![32], 1e-3, false)
        );
        assert_eq!(choose(&table(5000, &[]), &none), (vec![32], 1e-2, false));
        // the user's choices win
        let mine = Choices {
            layers: Some(vec![8]),
            alpha: Some(0.5),
            refit: Some(false),
            ..Choices::default()
        };
        assert_eq!(choose(&table(100, &[]), &mine), (vec![8], 0.5, false));
        let refit = Choices {
            refit: Some(true),
            ..Choices::default()
        };
        assert!(choose(&table(900, &["a", "b"]), &refit).2);
        // no early stopping, nothing to refit from
        let no_stop = Choices {
            patience: Some(0),
            ..Choices::default()
        };
        assert!(!choose(&table(100, &["a", "b"]), &no_stop).2);
    }

    #[test]
    fn the_refit_runs_the_epochs_early_stopping_kept_over_all_rows() {
        let r = Recipe::choose(
            DataKind::Table,
            &table(100, &["a", "b"]),
            true,
            &Choices::default(),
        )
        .unwrap();
        // 100 rows: 4 batches an epoch; best at the end of epoch 3 (step 11)
        let (epochs, cfg) = r.refit_config(11, 100, 125);
        assert_eq!((epochs, cfg.steps, cfg.patience), (3, 3 * 4, None));
        assert_eq!(cfg.schedule.lr(0), r.cfg.schedule.lr(0));
        // the last step of a run cut short mid-epoch counts its epoch
        assert_eq!(r.refit_config(12, 100, 125).0, 4);
    }

    #[test]
    fn the_demo_recipe_is_micrograds() {
        let spiral = builtin("spiral", 1).unwrap();
        let r = Recipe::choose(DataKind::Builtin, &spiral, false, &Choices::default()).unwrap();
        assert_eq!(r.cfg.loss, Loss::CrossEntropy); // three classes
        let moons = builtin("moons", 1).unwrap();
        let r = Recipe::choose(DataKind::Builtin, &moons, false, &Choices::default()).unwrap();
        assert_eq!(r.cfg.schedule.lr(0), 1.0);
        assert!((r.cfg.schedule.lr(100) - 0.1).abs() < 1e-12);
        assert_eq!((r.cfg.alpha, r.cfg.batch_size, r.epochs), (1e-4, 0, None));
        assert_eq!(r.init, Init::Micrograd);
        assert_eq!(r.valid_fraction, 0.0);
    }

    #[test]
    fn bad_choices_are_named() {
        let moons = builtin("moons", 1).unwrap();
        let err = |c: Choices| Recipe::choose(DataKind::Builtin, &moons, false, &c).unwrap_err();
        let e = err(Choices {
            alpha: Some(-1.0),
            ..Choices::default()
        });
        assert_eq!(
            (e.choice, e.message.as_str()),
            ("alpha", "-1: must be a finite number >= 0")
        );
        assert_eq!(
            err(Choices {
                steps: Some(0),
                ..Choices::default()
            })
            .choice,
            "steps"
        );
        let e = err(Choices {
            epochs: Some(u64::MAX),
            batch_size: Some(1),
            ..Choices::default()
        });
        assert_eq!(e.choice, "epochs");
        assert!(e.message.contains("more than"), "{e}");
        let e = err(Choices {
            layers: Some(vec![4, 0]),
            ..Choices::default()
        });
        assert_eq!(
            (e.choice, e.message.as_str()),
            ("layers", "layer 2 has size 0")
        );
        let e = err(Choices {
            patience: Some(3),
            valid_fraction: Some(0.0),
            ..Choices::default()
        });
        assert_eq!(e.choice, "patience");
        let spiral = builtin("spiral", 1).unwrap();
        let svm = Choices {
            loss: Some(Loss::Svm),
            ..Choices::default()
        };
        let e = Recipe::choose(DataKind::Builtin, &spiral, false, &svm).unwrap_err();
        assert_eq!(e.choice, "loss");
        let one = table(5, &["only"]);
        let e = Recipe::choose(DataKind::Table, &one, false, &Choices::default()).unwrap_err();
        assert_eq!(e.choice, "data");
        assert!(e.message.contains("only one class"), "{e}");
    }
}
