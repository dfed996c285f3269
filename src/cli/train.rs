//! `micrograd train`: data, recipe, loop, scores, pictures, model files.

use super::out::{err, errln, out, outln};
use std::path::{Path, PathBuf};
use std::time::Instant;

use micrograd::data::{self, BUILTIN, Dataset, PrepOptions, Preprocess, Table};
use micrograd::nn::{ModelFile, Scorer};
use micrograd::train::{
    Choices, CrossValidation, DataKind, Divergence, History, Importance, Recipe, RecipeError,
    Refit, Scores, StepReport, TEST_FRACTION, Timings, evaluate_with, fit_recipe,
};
use micrograd::viz::{Curves, fmt_short, shorten};
use micrograd::{MLP, Module, OptimizerKind, Rng};
use serde_json::json;

use super::progress::Progress;
use super::train_cv::{self, Pending};
use super::written::{note_earlier_pictures, write_models, write_pictures};
use super::{Failure, TrainArgs};

/// The data to train on, encoded, and how it was encoded.
pub(super) struct Loaded {
    pub(super) train: Dataset,
    pub(super) valid: Option<Dataset>,
    pub(super) test: Option<Dataset>,
    pub(super) prep: Preprocess,
    /// A CSV table (the table recipe), or a built-in set (micrograd's demo).
    pub(super) kind: DataKind,
    /// What preparing the table did to it, every line: rows left out, empty
    /// cells filled, columns left out, classes balanced (for --json).
    pub(super) notes: Vec<String>,
    /// Seconds reading the data (or making a built-in set), and encoding
    /// and splitting it.
    read: f64,
    preprocess: f64,
    /// With cross-validation: the table and how to cut it into folds.
    folds: Option<Pending>,
}

fn load_data(a: &TrainArgs, quiet: bool) -> Result<Loaded, Failure> {
    for (name, f) in [
        ("--test-fraction", a.test_fraction),
        ("--valid-fraction", a.valid_fraction),
    ] {
        if let Some(f) = f
            && !(0.0..1.0).contains(&f)
        {
            return Err(Failure::input(format!(
                "{name} {f}: must be at least 0 and below 1"
            )));
        }
    }
    if BUILTIN.contains(&a.data.as_str()) {
        let csv_only = [
            ("--target", a.target.is_some()),
            ("--test-data", a.test_data.is_some()),
            ("--features", a.features.is_some()),
            ("--drop", !a.drop.is_empty()),
            ("--cv", a.cv.is_some()),
            (
                "--class-weight",
                a.class_weight != micrograd::train::ClassWeight::None,
            ),
        ];
        if let Some((flag, _)) = csv_only.iter().find(|f| f.1) {
            return Err(Failure::input(format!(
                "{flag} is for CSV files; '{}' is a built-in data set",
                a.data
            )));
        }
        return load_builtin(a);
    }
    if !Path::new(&a.data).exists() {
        let near = micrograd::text::nearest(&a.data, &BUILTIN)
            .map(|n| format!("'{n}'"))
            .or_else(|| super::found_elsewhere(Path::new(&a.data)))
            .map(|n| format!(" (did you mean {n}?)"))
            .unwrap_or_default();
        return Err(Failure::input(format!(
            "'{}': no such file, and not a built-in data set ({}){near}",
            a.data,
            BUILTIN.join(", ")
        )));
    }
    load_table(a, quiet)
}

/// A CSV table, read, prepared and split (none held out for a test when
/// it is to be cross-validated: the final model trains on every row).
fn load_table(a: &TrainArgs, quiet: bool) -> Result<Loaded, Failure> {
    let started = Instant::now();
    let table = super::read_table(Path::new(&a.data))?;
    let Some(target) = &a.target else {
        return Err(Failure::input(format!(
            "{}: a CSV file needs --target COLUMN (the column to predict); its columns are: {}",
            a.data,
            micrograd::text::some_names(&table.header, "", 300)
        )));
    };
    let test = match &a.test_data {
        Some(p) => Some(super::read_table(p)?),
        None => None,
    };
    let read = started.elapsed().as_secs_f64();
    let opts = PrepOptions {
        task: a.task,
        features: a.features.clone(),
        drop: a.drop.clone(),
        scale: !a.no_scale,
        impute: a.impute,
    };
    let valid_fraction = Recipe::valid_fraction(DataKind::Table, &a.choices());
    let plan = train_cv::plan(a, &table, target)?;
    let test_fraction = match plan {
        Some(_) => 0.0,
        None => a.test_fraction.unwrap_or(TEST_FRACTION),
    };
    let p = data::prepare(
        &table,
        test.as_ref(),
        target,
        &opts,
        test_fraction,
        valid_fraction,
        a.seed,
    )
    .map_err(Failure::input)?;
    let plan_note = plan.as_ref().and_then(|p| p.note.clone());
    if !quiet {
        print_notes(&table, test.as_ref(), &p);
        if let Some(n) = &plan_note {
            errln!("note: {n}");
        }
    }
    for w in &p.warnings {
        errln!("warning: {w}");
    }
    let (train, note) = a
        .class_weight
        .apply(p.train, a.seed)
        .map_err(Failure::input)?;
    if let Some(n) = note.as_ref().filter(|_| !quiet) {
        errln!("note: {n}");
    }
    let mut notes = [p.left_out, p.filled, p.notes, note.into_iter().collect()].concat();
    notes.extend(plan_note);
    let some = |d: Dataset| (!d.is_empty()).then_some(d);
    let preprocess = started.elapsed().as_secs_f64() - read;
    Ok(Loaded {
        train,
        valid: some(p.valid),
        test: some(p.test),
        prep: p.prep,
        kind: DataKind::Table,
        notes,
        read,
        preprocess,
        folds: plan.map(|plan| Pending {
            plan,
            table,
            target: target.clone(),
            opts,
        }),
    })
}

/// What reading and preparing the tables noticed, a few lines of it.
fn print_notes(table: &Table, test: Option<&Table>, p: &data::Prepared) {
    let reading = std::iter::once(table)
        .chain(test)
        .flat_map(Table::reading_notes);
    for n in reading.chain(p.left_out.iter().cloned()) {
        errln!("note: {n}");
    }
    const SHOWN: usize = 6;
    for n in p.filled.iter().take(2 * SHOWN) {
        errln!("note: {n}");
    }
    if p.filled.len() > 2 * SHOWN {
        let more = p.filled.len() - 2 * SHOWN;
        errln!("note: … and {more} more lines on empty cells filled");
    }
    let notes = &p.notes;
    for n in notes.iter().take(SHOWN) {
        errln!("note: {n}");
    }
    if notes.len() > SHOWN {
        errln!("note: … and {} more columns left out", notes.len() - SHOWN);
    }
}

fn load_builtin(a: &TrainArgs) -> Result<Loaded, Failure> {
    let started = Instant::now();
    let full = data::builtin(&a.data, a.seed).map_err(Failure::input)?;
    let read = started.elapsed().as_secs_f64();
    let prep = Preprocess::identity(&full);
    let (train, test) = match a.test_fraction {
        None => (full, data::builtin_test(&a.data, a.seed)),
        Some(0.0) => (full, None),
        Some(f) => {
            let (train, test) = full.split(f, &mut Rng::new(a.seed));
            (train, Some(test))
        }
    };
    let (train, valid) = match Recipe::valid_fraction(DataKind::Builtin, &a.choices()) {
        0.0 => (train, None),
        f => {
            let (t, v) = train.split(f, &mut Rng::new(a.seed));
            (t, Some(v))
        }
    };
    Ok(Loaded {
        train,
        valid,
        test,
        prep,
        kind: DataKind::Builtin,
        notes: Vec::new(),
        read,
        preprocess: started.elapsed().as_secs_f64() - read,
        folds: None,
    })
}

impl TrainArgs {
    /// The options the recipe takes, as the library names them.
    pub(super) fn choices(&self) -> Choices {
        Choices {
            loss: self.loss,
            optimizer: self.optimizer,
            lr: self.lr,
            lr_end: self.lr_end,
            alpha: self.alpha,
            batch_size: self.batch_size,
            steps: self.steps,
            epochs: self.epochs,
            patience: self.patience,
            layers: self.layers.as_ref().map(|l| l.0.clone()),
            init: self.init,
            activation: Some(self.activation),
            valid_fraction: self.valid_fraction,
            seed: Some(self.seed),
            refit: self.no_refit.then_some(false),
        }
    }
}

/// The recipe for this run, a refused choice named as its flag.
fn recipe(a: &TrainArgs, d: &Loaded) -> Result<Recipe, Failure> {
    Recipe::choose(d.kind, &d.train, d.valid.is_some(), &a.choices()).map_err(refused)
}

/// A choice the recipe refused, named as its flag.
pub(super) fn refused(e: RecipeError) -> Failure {
    let RecipeError { choice, message } = e;
    Failure::input(match choice {
        "data" => message,
        "loss" => format!("--loss: {message}"),
        _ => format!("--{} {message}", choice.replace('_', "-")),
    })
}

/// Checks that the model files and pictures can be written, before any
/// training: a bad path fails in a second, not after the run.
fn check_outputs(a: &TrainArgs) -> Result<Vec<PathBuf>, Failure> {
    let mut models = match &a.save {
        Some(p) => vec![p.clone()],
        None => vec![a.out.join("model.json"), a.out.join("model.safetensors")],
    };
    models.extend(a.onnx.clone());
    let needs_out = a.save.is_none() || !a.no_plots;
    if needs_out {
        if a.out.exists() && !a.out.is_dir() {
            return Err(Failure::input(format!(
                "--out {}: this is a file; --out names the directory for the pictures and \
                 the model (--save FILE writes the model alone)",
                a.out.display()
            )));
        }
        create_out(&a.out)?;
        micrograd::files::check_writable(&a.out.join("loss.svg")).map_err(Failure::input)?;
    }
    for p in &models {
        micrograd::files::check_writable(p).map_err(Failure::input)?;
    }
    Ok(models)
}

/// `--threads N`: at most [`MAX_THREADS`], each started now.
fn set_threads(n: usize) -> Result<(), Failure> {
    if n > MAX_THREADS {
        let m = format!("--threads {n}: at most {MAX_THREADS} (0 uses every core)");
        return Err(Failure::input(m));
    }
    micrograd::set_threads(n).map_err(|m| Failure::input(format!("--threads {n}: {m}")))
}

/// The most threads `--threads` starts: more than any machine this runs on
/// has cores, fewer than would exhaust its memory for stacks.
const MAX_THREADS: usize = 256;

/// Makes the `--out` folder if it is missing, as `mkdir` would: its parent
/// must exist, so a mistyped path is an error, not a new tree of folders.
fn create_out(out: &Path) -> Result<(), Failure> {
    if out.is_dir() {
        return Ok(());
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if parent.exists() && !parent.is_dir() {
        return Err(Failure::input(format!(
            "--out {}: {} is a file, not a folder",
            out.display(),
            parent.display()
        )));
    }
    if !parent.is_dir() {
        return Err(Failure::input(format!(
            "--out {}: the folder {} does not exist (make it first, with mkdir -p {0}, \
             or choose another --out)",
            out.display(),
            parent.display()
        )));
    }
    std::fs::create_dir(out).map_err(|e| {
        Failure::input(format!(
            "--out {}: cannot create the output folder: {e}",
            out.display()
        ))
    })
}

/// Trains, showing progress and keeping the curves to plot; the seconds
/// are the training loop's own and the test scoring's for the curves.
fn train_loop(
    a: &TrainArgs,
    d: &Loaded,
    r: &Recipe,
    model: &MLP,
    quiet: bool,
) -> (History, Option<Refit>, Curves, (f64, f64)) {
    let cfg = &r.cfg;
    // test figures for the plots at the end of the first epoch and every
    // `every`-th after it, so that the curve scores at most a million test
    // rows in all
    let epochs = r.epochs.unwrap_or(cfg.steps as u64) as usize;
    let track = d.test.as_ref().filter(|_| !a.no_plots);
    let every = track.map_or(1, |t| t.len().saturating_mul(epochs).div_ceil(1_000_000));
    let mut ended = 0;
    let mut curves = Curves::default();
    let progress = Progress::new(cfg.steps, quiet);
    let mut aside = 0.0;
    // recorded at the first epoch's end, run at every one
    let mut scorer = Scorer::new(model);
    let start = Instant::now();
    let on_step = |rep: &StepReport| {
        progress.step(rep);
        ended += usize::from(rep.epoch_end);
        if let Some(t) = track.filter(|_| rep.epoch_end && (ended - 1) % every.max(1) == 0) {
            let t0 = Instant::now();
            let e = evaluate_with(&mut scorer, t, cfg.loss);
            curves.test_loss.push((rep.step, e.loss));
            if let Some(acc) = e.accuracy {
                curves.test_accuracy.push((rep.step, acc));
            }
            aside += t0.elapsed().as_secs_f64();
        }
    };
    let (history, refit) = fit_recipe(model, &d.train, d.valid.as_ref(), r, on_step);
    progress.finish();
    let seconds = start.elapsed().as_secs_f64() - aside;
    curves.train_loss = history.data_loss.clone();
    curves.train_accuracy = history.accuracy.clone();
    curves.valid_loss = history.valid_loss.clone();
    curves.best_step = history.best_step;
    curves.refit = refit.is_some();
    (history, refit, curves, (seconds, aside))
}

/// The few lines a diverged run prints: what happened, the likely cause,
/// the flag to change.
pub(super) fn diverged(d: &Divergence, r: &Recipe, a: &TrainArgs) -> Failure {
    let lr = r.cfg.schedule.lr(0);
    let mut msg = format!("training diverged: {d}.\n  likely cause: ");
    if a.no_scale {
        msg += &format!(
            "unscaled features with a learning rate of {}.\n  try: drop --no-scale, or --lr {}",
            fmt_short(lr),
            fmt_short(lr / 10.0)
        );
    } else {
        msg += &format!(
            "a learning rate of {} is too high for this data and model.\n  try: --lr {}",
            fmt_short(lr),
            fmt_short(lr / 10.0)
        );
        if r.cfg.optimizer == OptimizerKind::Sgd {
            msg += " or --optimizer adam";
        }
    }
    msg += "\n  nothing was saved.";
    Failure::run(msg)
}

pub fn run(a: &TrainArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let quiet = a.quiet || a.json;
    set_threads(a.threads)?;
    let model_paths = check_outputs(a)?;
    let d = load_data(a, quiet)?;
    let r = recipe(a, &d)?;
    let model = r.model(d.train.nfeatures(), d.train.nclasses(), a.seed);
    if !quiet {
        print_plan(&d, &r, &model);
    }
    let cv = d.folds.as_ref().map(|f| train_cv::run(a, f, quiet));
    let (cv, cv_seconds) = cv.transpose()?.unzip();
    let (history, refit, curves, (seconds, aside)) = train_loop(a, &d, &r, &model, quiet);
    if let Some(div) = &history.diverged {
        return Err(diverged(div, &r, a));
    }
    let loss = r.cfg.loss;
    let scoring = Instant::now();
    let file = ModelFile {
        model,
        prep: d.prep.clone(),
        loss,
    };
    // one recording of the model for every score, the importance and the pictures
    let scorer = &mut Scorer::new(&file.model);
    let (on_train, on_test, importance) = score(scorer, &d, loss, refit.is_some(), a.seed);
    let evaluate = aside + scoring.elapsed().as_secs_f64();
    let plotting = Instant::now();
    let last = cv.as_ref().map(|c| &c.pooled).or(on_test.as_ref());
    let last = last.unwrap_or(&on_train);
    let mut written = write_pictures(a, &d, &file, &curves, last, importance.as_ref(), scorer)?;
    let plots = plotting.elapsed().as_secs_f64();
    if !quiet {
        note_earlier_pictures(a, &written);
    }
    let saving = Instant::now();
    written.extend(write_models(&file, model_paths)?);
    let timings = Timings {
        read: d.read,
        preprocess: d.preprocess,
        train: seconds,
        evaluate,
        plots,
        save: saving.elapsed().as_secs_f64(),
        total: started.elapsed().as_secs_f64(),
        cross_validation: cv_seconds,
    };
    let mut s = Summary {
        d: &d,
        r: &r,
        history: &history,
        refit,
        timings,
        parameters: file.model.num_parameters(),
        on_train,
        on_test,
        cv,
        importance,
        written,
    };
    let (name, last) = s.last();
    let warnings: Vec<String> = [last.warning(name), last.rare_classes(name)]
        .into_iter()
        .flatten()
        .collect();
    let report = s.write_report(a, &warnings, &file.model)?;
    s.written.extend(report);
    if a.json {
        s.print_json(&warnings);
    } else {
        s.print_text();
    }
    for w in &warnings {
        errln!("warning: {w}");
    }
    Ok(())
}

/// The trained model's scores on the training and test rows (with the ROC
/// AUC on the test rows), and its columns' importance, all run by `scorer`.
/// After a refit the model has trained on the validation rows: they no
/// longer judge it.
fn score(
    scorer: &mut Scorer,
    d: &Loaded,
    loss: micrograd::Loss,
    refit: bool,
    seed: u64,
) -> (Scores, Option<Scores>, Option<Importance>) {
    let on_train = Scores::by(scorer, &d.train, loss, &d.prep);
    let on_test = d
        .test
        .as_ref()
        .map(|t| Scores::by(scorer, t, loss, &d.prep).with_roc_auc_by(scorer, t, loss));
    let valid = d.valid.as_ref().filter(|_| !refit);
    let sets = [d.test.as_ref(), valid, Some(&d.train)];
    let importance = Importance::of_run_by(scorer, &d.prep, loss, sets, seed);
    (on_train, on_test, importance)
}

/// What a finished run reports.
pub(super) struct Summary<'a> {
    pub(super) d: &'a Loaded,
    pub(super) r: &'a Recipe,
    pub(super) history: &'a History,
    /// Whether the model was trained again on the training and validation
    /// rows together once early stopping had chosen the epochs.
    pub(super) refit: Option<Refit>,
    /// Where the run's time went.
    pub(super) timings: Timings,
    pub(super) parameters: usize,
    pub(super) on_train: Scores,
    pub(super) on_test: Option<Scores>,
    /// With cross-validation: the folds' scores.
    pub(super) cv: Option<CrossValidation>,
    /// How much each input column matters to the model.
    pub(super) importance: Option<Importance>,
    pub(super) written: Vec<PathBuf>,
}

impl Summary<'_> {
    /// The scores the run is judged by: the test set's, else the training set's.
    /// With cross-validation, the folds' test rows together.
    fn last(&self) -> (&'static str, &Scores) {
        if let Some(cv) = &self.cv {
            return ("test", &cv.pooled);
        }
        self.on_test
            .as_ref()
            .map_or(("train", &self.on_train), |t| ("test", t))
    }

    fn print_json(&self, warnings: &[String]) {
        let (d, h) = (self.d, self.history);
        let summary = json!({
            "data": d.train.name,
            "task": if d.train.is_classification() { "classification" } else { "regression" },
            "target": d.train.target,
            "samples": {
                "train": d.train.len(),
                "valid": d.valid.as_ref().map(Dataset::len),
                "test": d.test.as_ref().map(Dataset::len),
            },
            "inputs": d.train.nfeatures(),
            "parameters": self.parameters,
            "steps": h.loss.len(),
            "best_step": h.best_step,
            "recipe": {
                "layers": self.r.layers,
                "batch_size": self.r.cfg.batch_size,
                "alpha": self.r.cfg.alpha,
                "epochs": self.r.epochs,
                "patience": self.r.cfg.patience,
                "refit": self.refit.map(|f| json!({
                    "epochs": f.epochs, "rows": f.rows, "steps": f.steps,
                })),
            },
            "seconds": self.timings.train,
            "timings": self.timings.json(),
            "final_step_loss": h.loss.last(),
            "train": self.on_train.json(),
            "test": self.on_test.as_ref().map(Scores::json),
            "cv": self.cv.as_ref().map(CrossValidation::json),
            "importance": self.importance.as_ref().map(Importance::json),
            "notes": d.notes,
            "warning": warnings.first(),
            "warnings": warnings,
            "files": self.written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        });
        outln!("{summary:#}");
    }

    fn print_text(&self) {
        let ran = self.history.loss.len();
        let kept = if self.refit.is_some() {
            ""
        } else {
            " (those weights kept)"
        };
        let stopped = match self.history.best_step {
            Some(b) if ran < self.r.cfg.steps => format!(
                ", stopped early: the validation loss was best at step {}{kept}",
                b + 1
            ),
            Some(b) if self.refit.is_some() => {
                format!(", the validation loss was best at step {}", b + 1)
            }
            Some(b) => format!(
                ", kept the weights of step {} (best validation loss)",
                b + 1
            ),
            None => String::new(),
        };
        let t = &self.timings;
        outln!(
            "trained {ran} steps in {:.3} s of a {:.3} s run{stopped}",
            t.train,
            t.total
        );
        if let Some(f) = &self.refit {
            outln!("then {f}");
        }
        outln!("{}", t.line());
        outln!("{}", self.on_train.line("train"));
        match (&self.cv, &self.on_test) {
            (Some(cv), _) => cv.lines().iter().for_each(|l| outln!("{l}")),
            (None, Some(t)) => outln!("{}", t.line("test")),
            (None, None) => outln!("test   (none held out; use --test-fraction)"),
        }
        let (name, last) = self.last();
        if let Some(c) = &last.confusion
            && self.d.kind == DataKind::Table
        {
            let whose = if self.cv.is_some() {
                " (the folds' test rows together)"
            } else {
                ""
            };
            out!("{name}: per class{whose}\n{c}");
        }
        if let Some(i) = self.importance.as_ref()
            && self.d.kind == DataKind::Table
        {
            i.lines().iter().for_each(|l| outln!("{l}"));
        }
        if let Some(cv) = &self.cv {
            // every row of the table, tested once by the folds (before any balancing)
            let rows = cv.folds.iter().map(|f| f.rows[2]).sum();
            let valid = self.d.valid.as_ref().map_or(0, Dataset::len);
            let refit = self.refit.is_some();
            outln!("{}", train_cv::saved(rows, valid, refit, &self.written));
        }
        for p in &self.written {
            outln!("wrote {}", p.display());
        }
    }
}

fn print_plan(d: &Loaded, r: &Recipe, model: &MLP) {
    let nouts: Vec<usize> = model.layers.iter().map(|l| l.neurons.len()).collect();
    let t = &d.train;
    let task = if t.is_classification() {
        format!(
            "classification, {} classes: {}",
            t.nclasses(),
            micrograd::text::some_names(&t.classes, "", 80)
        )
    } else {
        "regression".to_owned()
    };
    if d.kind == DataKind::Table {
        errln!("target '{}': {task}", t.target);
        err!("features:\n{}", d.prep);
    }
    let samples = |o: &Option<Dataset>| o.as_ref().map_or(0, Dataset::len);
    errln!(
        "training MLP({}, {:?}) with {} parameters on {} ({} train, {} validation, {} test \
         samples), loss {}, {} with lr {} -> {}, batch {}, {}",
        t.nfeatures(),
        nouts,
        model.num_parameters(),
        shorten(&t.name, 80),
        t.len(),
        samples(&d.valid),
        samples(&d.test),
        r.cfg.loss,
        r.cfg.optimizer,
        fmt_short(r.cfg.schedule.lr(0)),
        fmt_short(r.cfg.schedule.lr(r.cfg.steps)),
        if r.cfg.batch_size == 0 {
            "all".to_owned()
        } else {
            r.cfg.batch_size.to_string()
        },
        match (r.epochs, r.cfg.patience) {
            (Some(e), Some(p)) => format!(
                "up to {e} epochs ({} steps; stops after {p} epochs without a better validation \
                 loss{})",
                r.cfg.steps,
                if r.refit {
                    ", then trains again on the training and validation rows for the epochs kept"
                } else {
                    ""
                }
            ),
            (Some(e), None) => format!("{e} epochs ({} steps)", r.cfg.steps),
            (None, _) => format!("{} steps", r.cfg.steps),
        }
    );
}
