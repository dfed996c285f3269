//! `micrograd train`: data, recipe, loop, scores, pictures, model files.

use super::out::{out, outln};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use micrograd::data::{self, BUILTIN, Dataset, PrepOptions, Preprocess, Table};
use micrograd::metrics::{Confusion, Regression};
use micrograd::nn::ModelFile;
use micrograd::train::{
    Divergence, Evaluation, History, StepReport, TrainConfig, evaluate, fit, fit_with_validation,
};
use micrograd::viz::{Curves, fmt_num, fmt_short, shorten};
use micrograd::{Activation, Init, Loss, MLP, Module, OptimizerKind, Rng, Schedule};
use serde_json::{Value as Json, json};

use super::{Failure, TrainArgs};

/// The data to train on, encoded, and how it was encoded.
struct Loaded {
    train: Dataset,
    valid: Option<Dataset>,
    test: Option<Dataset>,
    prep: Preprocess,
    /// A CSV table (the table recipe), not a built-in set (micrograd's demo).
    table: bool,
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
        return Err(Failure::input(format!(
            "'{}': no such file, and not a built-in data set ({})",
            a.data,
            BUILTIN.join(", ")
        )));
    }
    let table = Table::read(Path::new(&a.data)).map_err(Failure::input)?;
    let Some(target) = &a.target else {
        return Err(Failure::input(format!(
            "{}: a CSV file needs --target COLUMN (the column to predict); its columns are: {}",
            a.data,
            shorten(&table.header.join(", "), 300)
        )));
    };
    let test = match &a.test_data {
        Some(p) => Some(Table::read(p).map_err(Failure::input)?),
        None => None,
    };
    let opts = PrepOptions {
        task: a.task,
        features: a.features.clone(),
        drop: a.drop.clone(),
        scale: !a.no_scale,
        impute: a.impute,
    };
    let patience = a.patience.unwrap_or(TABLE_PATIENCE);
    let valid_fraction = if patience == 0 {
        0.0
    } else {
        a.valid_fraction.unwrap_or(TABLE_VALID)
    };
    let p = data::prepare(
        &table,
        test.as_ref(),
        target,
        &opts,
        a.test_fraction.unwrap_or(0.2),
        valid_fraction,
        a.seed,
    )
    .map_err(Failure::input)?;
    if !quiet {
        for n in std::iter::once(&table)
            .chain(&test)
            .flat_map(Table::reading_notes)
        {
            eprintln!("note: {n}");
        }
        const SHOWN: usize = 6;
        for n in p.notes.iter().take(SHOWN) {
            eprintln!("note: {n}");
        }
        if p.notes.len() > SHOWN {
            eprintln!(
                "note: … and {} more columns left out",
                p.notes.len() - SHOWN
            );
        }
    }
    for w in &p.warnings {
        eprintln!("warning: {w}");
    }
    let some = |d: Dataset| (!d.is_empty()).then_some(d);
    Ok(Loaded {
        train: p.train,
        valid: some(p.valid),
        test: some(p.test),
        prep: p.prep,
        table: true,
    })
}

fn load_builtin(a: &TrainArgs) -> Result<Loaded, Failure> {
    let full = data::builtin(&a.data, a.seed).map_err(Failure::input)?;
    let prep = Preprocess::identity(&full);
    let fresh_draw = matches!(a.data.as_str(), "moons" | "circles" | "spiral");
    let (train, test) = match a.test_fraction {
        // the same construction with another seed: new points, same task
        None if fresh_draw => {
            let test = data::builtin(&a.data, a.seed.wrapping_add(1)).map_err(Failure::input)?;
            (full, Some(test))
        }
        None | Some(0.0) => (full, None),
        Some(f) => {
            let (train, test) = full.split(f, &mut Rng::new(a.seed));
            (train, Some(test))
        }
    };
    let (train, valid) = match a.patience {
        Some(p) if p > 0 => {
            let (t, v) = train.split(
                a.valid_fraction.unwrap_or(TABLE_VALID),
                &mut Rng::new(a.seed),
            );
            (t, Some(v))
        }
        _ => (train, None),
    };
    Ok(Loaded {
        train,
        valid,
        test,
        prep,
        table: false,
    })
}

// The table recipe, chosen by measuring it on six tables (BENCHMARKS.md).
const TABLE_PATIENCE: usize = 20;
const TABLE_VALID: f64 = 0.2;
const TABLE_ALPHA: f64 = 1e-2;
const TABLE_EPOCHS: u64 = 200;
const TABLE_BATCH: usize = 32;
const TABLE_LAYERS: [usize; 1] = [32];
/// The most steps a run may ask for.
const MAX_STEPS: u64 = 1 << 40;

/// Everything about how to train, defaults filled in.
struct Recipe {
    cfg: TrainConfig,
    layers: Vec<usize>,
    init: Init,
    epochs: Option<u64>,
}

fn recipe(a: &TrainArgs, d: &Loaded) -> Result<Recipe, Failure> {
    let classes = d.train.nclasses();
    let loss = a.loss.unwrap_or(match classes {
        0 => Loss::Mse,
        2 if !d.table => Loss::Svm,
        _ => Loss::CrossEntropy,
    });
    loss.check(classes)
        .map_err(|m| Failure::input(format!("--loss: {m}")))?;
    if classes == 1 {
        return Err(Failure::input(format!(
            "{}: the target '{}' has only one class; nothing to learn",
            d.train.name, d.train.target
        )));
    }
    let optimizer = a.optimizer.unwrap_or(if d.table {
        OptimizerKind::Adam
    } else {
        OptimizerKind::Sgd
    });
    let lr = a.lr.unwrap_or(match optimizer {
        OptimizerKind::Sgd => 1.0,
        OptimizerKind::Momentum => 0.1,
        OptimizerKind::Adam => 0.01,
    });
    let lr_end = a.lr_end.unwrap_or(if d.table { lr } else { lr / 10.0 });
    let alpha = a.alpha.unwrap_or(if d.table { TABLE_ALPHA } else { 1e-4 });
    for (name, v) in [("--lr", lr), ("--lr-end", lr_end), ("--alpha", alpha)] {
        if !v.is_finite() || v < 0.0 {
            return Err(Failure::input(format!(
                "{name} {v}: must be a finite number >= 0"
            )));
        }
    }
    let batch_size = a
        .batch_size
        .unwrap_or(if d.table { TABLE_BATCH } else { 0 });
    let per_epoch = if batch_size == 0 {
        1
    } else {
        d.train.len().div_ceil(batch_size) as u64
    };
    let epochs = match (a.steps, a.epochs) {
        (Some(_), _) => None,
        (None, Some(e)) => Some(e),
        (None, None) if d.table => Some(TABLE_EPOCHS),
        (None, None) => None,
    };
    let steps = match epochs {
        Some(e) => e
            .checked_mul(per_epoch)
            .filter(|&s| s <= MAX_STEPS)
            .ok_or_else(|| {
                Failure::input(format!(
                    "--epochs {e}: {e} epochs of {per_epoch} batches is more than {MAX_STEPS} steps"
                ))
            })?,
        None => a.steps.unwrap_or(100),
    };
    if steps == 0 {
        return Err(Failure::input("nothing to do: --steps (or --epochs) is 0"));
    }
    if steps > MAX_STEPS {
        return Err(Failure::input(format!(
            "--steps {steps}: more than {MAX_STEPS}"
        )));
    }
    let steps = steps as usize;
    let patience = a
        .patience
        .unwrap_or(if d.table { TABLE_PATIENCE } else { 0 });
    let layers = match &a.layers {
        Some(l) => l.0.clone(),
        None if d.table => TABLE_LAYERS.to_vec(),
        None => vec![16, 16],
    };
    let init = a.init.unwrap_or(match (d.table, a.activation) {
        (false, _) => Init::Micrograd,
        (true, Activation::Relu) => Init::He,
        (true, _) => Init::Xavier,
    });
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
            seed: a.seed,
            patience: (patience > 0 && d.valid.is_some()).then_some(patience),
            replay: true,
        },
        layers,
        init,
        epochs,
    })
}

/// Checks that the model files and pictures can be written, before any
/// training: a bad path fails in a second, not after the run.
fn check_outputs(a: &TrainArgs) -> Result<Vec<PathBuf>, Failure> {
    let models = match &a.save {
        Some(p) => vec![p.clone()],
        None => vec![a.out.join("model.json"), a.out.join("model.safetensors")],
    };
    let needs_out = a.save.is_none() || !a.no_plots;
    if needs_out {
        std::fs::create_dir_all(&a.out).map_err(|e| {
            Failure::input(format!(
                "{}: cannot create the output directory: {e}",
                a.out.display()
            ))
        })?;
        micrograd::check_writable(&a.out.join("loss.svg")).map_err(Failure::input)?;
    }
    for p in &models {
        micrograd::check_writable(p).map_err(Failure::input)?;
    }
    Ok(models)
}

/// Prints progress while training: a bar on a terminal, a line every tenth
/// of the run otherwise, nothing with --quiet or --json.
struct Progress {
    bar: Option<ProgressBar>,
    every: usize,
    steps: usize,
    quiet: bool,
}

impl Progress {
    fn new(steps: usize, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = ProgressBar::new(steps as u64);
            pb.set_style(
                ProgressStyle::with_template(
                    "{bar:32.cyan/blue} {pos:>5}/{len} {msg} [{elapsed_precise}]",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            pb
        });
        Progress {
            bar,
            every: (steps / 10).max(1),
            steps,
            quiet,
        }
    }

    fn step(&self, r: &StepReport) {
        let mut msg = format!("loss {}", fmt_num(r.loss));
        if r.loss != r.data_loss {
            msg += &format!(" (data {} + L2)", fmt_num(r.data_loss));
        }
        if let Some(a) = r.accuracy {
            msg += &format!(", accuracy {:5.1}%", a * 100.0);
        }
        if let Some(v) = r.valid_loss {
            msg += &format!(", valid loss {}", fmt_num(v));
        }
        if let Some(pb) = &self.bar {
            pb.set_message(msg);
            pb.inc(1);
        } else if !self.quiet && ((r.step + 1).is_multiple_of(self.every) || r.step == 0) {
            eprintln!("step {:>5}/{} {msg}", r.step + 1, self.steps);
        }
    }

    fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}

/// Trains, showing progress and keeping the curves to plot; the seconds
/// are the training loop's own (test scoring for the curves left out).
fn train_loop(
    a: &TrainArgs,
    d: &Loaded,
    r: &Recipe,
    model: &MLP,
    quiet: bool,
) -> (History, Curves, f64) {
    let cfg = &r.cfg;
    // test figures at each epoch's end for the plots, when cheap enough
    let epochs = r.epochs.unwrap_or(cfg.steps as u64) as usize;
    let track = d
        .test
        .as_ref()
        .filter(|t| !a.no_plots && t.len().saturating_mul(epochs) <= 5_000_000);
    let mut curves = Curves::default();
    let progress = Progress::new(cfg.steps, quiet);
    let mut aside = 0.0;
    let start = Instant::now();
    let on_step = |rep: &StepReport| {
        progress.step(rep);
        if let Some(t) = track.filter(|_| rep.epoch_end) {
            let t0 = Instant::now();
            let e = evaluate(model, t, cfg.loss);
            curves.test_loss.push((rep.step, e.loss));
            if let Some(acc) = e.accuracy {
                curves.test_accuracy.push((rep.step, acc));
            }
            aside += t0.elapsed().as_secs_f64();
        }
    };
    let history = match &d.valid {
        Some(v) => fit_with_validation(model, &d.train, v, cfg, on_step),
        None => fit(model, &d.train, cfg, on_step),
    };
    progress.finish();
    let seconds = start.elapsed().as_secs_f64() - aside;
    curves.train_loss = history.data_loss.clone();
    curves.train_accuracy = history.accuracy.clone();
    curves.valid_loss = history.valid_loss.clone();
    (history, curves, seconds)
}

/// The few lines a diverged run prints: what happened, the likely cause,
/// the flag to change.
fn diverged(d: &Divergence, r: &Recipe, a: &TrainArgs) -> Failure {
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

/// What a model scored on one data set, in the target's own units.
struct Scores {
    eval: Evaluation,
    confusion: Option<Confusion>,
    regression: Option<Regression>,
}

fn score(model: &MLP, ds: &Dataset, loss: Loss, prep: &Preprocess) -> Scores {
    let eval = evaluate(model, ds, loss);
    let (confusion, regression) = if ds.is_classification() {
        (
            Some(Confusion::new(&ds.classes, &ds.y, &eval.predictions)),
            None,
        )
    } else {
        let t = &prep.target;
        let truth: Vec<f64> = ds.y.iter().map(|&y| t.to_target(y)).collect();
        let pred: Vec<f64> = eval.predictions.iter().map(|&y| t.to_target(y)).collect();
        (None, Some(Regression::new(&truth, &pred)))
    };
    Scores {
        eval,
        confusion,
        regression,
    }
}

impl Scores {
    fn line(&self, name: &str) -> String {
        match (&self.confusion, &self.regression) {
            (Some(c), _) => format!(
                "{name:<6} accuracy {:6.2}%   data loss {}",
                100.0 * c.accuracy(),
                fmt_num(self.eval.loss)
            ),
            (_, Some(r)) => format!(
                "{name:<6} R² {}   MSE {}   MAE {}",
                fmt_num(r.r2),
                fmt_num(r.mse),
                fmt_num(r.mae)
            ),
            _ => unreachable!("scores are classes or numbers"),
        }
    }

    fn json(&self) -> Json {
        let finite = |x: f64| x.is_finite().then_some(x);
        match (&self.confusion, &self.regression) {
            (Some(c), _) => json!({
                "loss": finite(self.eval.loss),
                "accuracy": c.accuracy(),
                "majority_rate": c.majority_rate(),
                "per_class": c.classes.iter().enumerate().map(|(k, name)| json!({
                    "class": name,
                    "precision": c.precision(k),
                    "recall": c.recall(k),
                    "samples": c.counts[k].iter().sum::<usize>(),
                })).collect::<Vec<_>>(),
                "confusion": c.counts,
            }),
            (_, Some(r)) => json!({
                "loss": finite(self.eval.loss),
                "mse": finite(r.mse),
                "mae": finite(r.mae),
                "r2": finite(r.r2),
            }),
            _ => unreachable!("scores are classes or numbers"),
        }
    }

    /// A warning if the model did no better than knowing nothing.
    fn failed(&self, name: &str) -> Option<String> {
        match (&self.confusion, &self.regression) {
            (Some(c), _) if c.accuracy() <= c.majority_rate() => {
                let k = (0..c.classes.len())
                    .max_by_key(|&k| c.counts[k].iter().sum::<usize>())
                    .unwrap_or(0);
                Some(format!(
                    "{name} accuracy {:.2}% is no better than always answering '{}' ({:.2}%): \
                     the model has learned nothing useful. Try more --epochs, another --lr \
                     (lower if the loss jumps, higher if it stalls), or check that the \
                     features relate to the target.",
                    100.0 * c.accuracy(),
                    shorten(&c.classes[k], 40),
                    100.0 * c.majority_rate()
                ))
            }
            (_, Some(r)) if r.r2 <= 0.0 => Some(format!(
                "{name} R² is {}: no better than always answering the mean. Try more --epochs, \
                 another --lr, or check that the features relate to the target.",
                fmt_num(r.r2)
            )),
            _ => None,
        }
    }
}

pub fn run(a: &TrainArgs) -> Result<(), Failure> {
    let quiet = a.quiet || a.json;
    let model_paths = check_outputs(a)?;
    let d = load_data(a, quiet)?;
    let r = recipe(a, &d)?;
    let mut nouts = r.layers.clone();
    nouts.push(r.cfg.loss.outputs(d.train.nclasses()));
    let model = MLP::builder(d.train.nfeatures(), &nouts)
        .hidden(a.activation)
        .output(Activation::Linear)
        .init(r.init)
        .seed(a.seed)
        .build();
    if !quiet {
        print_plan(&d, &r, &model, &nouts);
    }

    let (history, curves, seconds) = train_loop(a, &d, &r, &model, quiet);
    if let Some(div) = &history.diverged {
        return Err(diverged(div, &r, a));
    }
    let loss = r.cfg.loss;
    let on_train = score(&model, &d.train, loss, &d.prep);
    let on_test = d.test.as_ref().map(|t| score(&model, t, loss, &d.prep));
    let file = ModelFile {
        model,
        prep: d.prep.clone(),
        loss,
    };
    let mut written = write_pictures(a, &d, &file, &curves, on_test.as_ref().unwrap_or(&on_train))?;
    // both model files from this run, or neither: written first, renamed together
    let bytes = model_paths
        .iter()
        .map(|p| {
            file.to_bytes(p)
                .map_err(|m| Failure::input(format!("{}: {m}", p.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let files: Vec<(&Path, &[u8])> = model_paths
        .iter()
        .zip(&bytes)
        .map(|(p, b)| (p.as_path(), b.as_slice()))
        .collect();
    micrograd::write_all(&files).map_err(Failure::input)?;
    written.extend(model_paths);

    let last = on_test
        .as_ref()
        .map_or(("train", &on_train), |t| ("test", t));
    let warning = last.1.failed(last.0);
    if a.json {
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
            "parameters": file.model.num_parameters(),
            "steps": history.loss.len(),
            "best_step": history.best_step,
            "seconds": seconds,
            "final_step_loss": history.loss.last(),
            "train": on_train.json(),
            "test": on_test.as_ref().map(Scores::json),
            "warning": warning,
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        });
        outln!("{summary:#}");
    } else {
        let ran = history.loss.len();
        let stopped = match history.best_step {
            Some(b) if ran < r.cfg.steps => format!(
                ", stopped early: the validation loss was best at step {} (those weights kept)",
                b + 1
            ),
            Some(b) => format!(
                ", kept the weights of step {} (best validation loss)",
                b + 1
            ),
            None => String::new(),
        };
        outln!("trained {ran} steps in {seconds:.3} s (the training loop alone){stopped}");
        outln!("{}", on_train.line("train"));
        match &on_test {
            Some(t) => outln!("{}", t.line("test")),
            None => outln!("test   (none held out; use --test-fraction)"),
        }
        if let Some(c) = &last.1.confusion
            && d.table
        {
            out!("{}: per class\n{c}", last.0);
        }
        for p in &written {
            outln!("wrote {}", p.display());
        }
    }
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    Ok(())
}

fn print_plan(d: &Loaded, r: &Recipe, model: &MLP, nouts: &[usize]) {
    let t = &d.train;
    let task = if t.is_classification() {
        format!(
            "classification, {} classes: {}",
            t.nclasses(),
            shorten(&t.classes.join(", "), 80)
        )
    } else {
        "regression".to_owned()
    };
    if d.table {
        eprintln!("target '{}': {task}", t.target);
        eprint!("features:\n{}", d.prep);
    }
    let samples = |o: &Option<Dataset>| o.as_ref().map_or(0, Dataset::len);
    eprintln!(
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
                "up to {e} epochs ({} steps; stops after {p} epochs without a better validation loss)",
                r.cfg.steps
            ),
            (Some(e), None) => format!("{e} epochs ({} steps)", r.cfg.steps),
            (None, _) => format!("{} steps", r.cfg.steps),
        }
    );
}

/// The loss curves, the decision boundary (2 features), the confusion
/// matrix (classes): each as SVG and PNG.
fn write_pictures(
    a: &TrainArgs,
    d: &Loaded,
    file: &ModelFile,
    curves: &Curves,
    last: &Scores,
) -> Result<Vec<PathBuf>, Failure> {
    let mut written = Vec::new();
    if a.no_plots {
        return Ok(written);
    }
    let both = |name: &str, draw: &dyn Fn(&Path) -> Result<(), micrograd::viz::VizError>| {
        ["svg", "png"]
            .iter()
            .map(|ext| {
                let p = a.out.join(format!("{name}.{ext}"));
                draw(&p).map_err(Failure::input).map(|()| p)
            })
            .collect::<Result<Vec<_>, _>>()
    };
    written.extend(both("loss", &|p| micrograd::viz::plot_history(p, curves))?);
    let classes = d.train.nclasses();
    if d.train.nfeatures() == 2 && classes > 0 {
        let predict = |x: f64, y: f64| file.loss.predict(&file.model.predict(&[x, y]), classes);
        written.extend(both("decision_boundary", &|p| {
            micrograd::viz::plot_decision_boundary(p, &d.train, d.test.as_ref(), predict, 100)
        })?);
    }
    if let Some(c) = &last.confusion
        && d.table
    {
        written.extend(both("confusion", &|p| {
            micrograd::viz::plot_confusion(p, c)
        })?);
    }
    Ok(written)
}
