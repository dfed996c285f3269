//! `micrograd train`: data, model, loop, summary, pictures, model files.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use micrograd::data::{self, BUILTIN, Dataset};
use micrograd::nn::ModelFile;
use micrograd::train::{Evaluation, TrainConfig, evaluate, fit};
use micrograd::{Activation, Loss, MLP, Module, OptimizerKind, Rng, Schedule};
use serde_json::json;

use super::{Failure, TrainArgs};

/// Training and test data, as the arguments ask.
fn load_data(a: &TrainArgs) -> Result<(Dataset, Option<Dataset>), Failure> {
    if let Some(f) = a.test_fraction
        && !(0.0..1.0).contains(&f)
    {
        return Err(Failure::input(format!(
            "--test-fraction {f}: must be at least 0 and below 1"
        )));
    }
    let full = if BUILTIN.contains(&a.data.as_str()) {
        if a.target.is_some() {
            return Err(Failure::input(format!(
                "--target is for CSV files; '{}' is a built-in data set",
                a.data
            )));
        }
        data::builtin(&a.data, a.seed).map_err(Failure::input)?
    } else if Path::new(&a.data).exists() {
        let Some(target) = &a.target else {
            return Err(Failure::input(format!(
                "{}: a CSV file needs --target COLUMN (the column to predict)",
                a.data
            )));
        };
        data::read_csv(Path::new(&a.data), target, a.task).map_err(Failure::input)?
    } else {
        return Err(Failure::input(format!(
            "--data '{}': no such file, and not a built-in data set ({})",
            a.data,
            BUILTIN.join(", ")
        )));
    };
    let fresh_draw = matches!(a.data.as_str(), "moons" | "circles" | "spiral");
    match a.test_fraction {
        None if fresh_draw => {
            // the same construction with another seed: new points, same task
            let test = data::builtin(&a.data, a.seed.wrapping_add(1)).map_err(Failure::input)?;
            Ok((full, Some(test)))
        }
        None if BUILTIN.contains(&a.data.as_str()) => Ok((full, None)),
        Some(0.0) => Ok((full, None)),
        f => {
            let (train, test) = full.split(f.unwrap_or(0.2), &mut Rng::new(a.seed));
            Ok((train, Some(test)))
        }
    }
}

fn config(a: &TrainArgs, loss: Loss, ntrain: usize) -> Result<TrainConfig, Failure> {
    let lr = a.lr.unwrap_or(match a.optimizer {
        OptimizerKind::Sgd => 1.0,
        OptimizerKind::Momentum => 0.1,
        OptimizerKind::Adam => 0.01,
    });
    let lr_end = a.lr_end.unwrap_or(lr / 10.0);
    for (name, v) in [("--lr", lr), ("--lr-end", lr_end), ("--alpha", a.alpha)] {
        if !v.is_finite() || v < 0.0 {
            return Err(Failure::input(format!(
                "{name} {v}: must be a finite number >= 0"
            )));
        }
    }
    let per_epoch = if a.batch_size == 0 {
        1
    } else {
        ntrain.div_ceil(a.batch_size)
    };
    let steps = match a.epochs {
        Some(e) => e * per_epoch,
        None => a.steps,
    };
    if steps == 0 {
        return Err(Failure::input("nothing to do: --steps (or --epochs) is 0"));
    }
    Ok(TrainConfig {
        loss,
        optimizer: a.optimizer,
        // lr(k) = lr + (lr_end - lr)·k/steps: micrograd's 1.0 - 0.9·k/100
        schedule: Schedule::Linear {
            start: lr,
            end: lr_end,
            steps,
        },
        alpha: a.alpha,
        steps,
        batch_size: a.batch_size,
        seed: a.seed,
    })
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

    fn step(&self, step: usize, loss: f64, acc: Option<f64>) {
        let acc = acc.map_or(String::new(), |a| format!(", accuracy {:5.1}%", a * 100.0));
        let msg = format!("loss {loss:.6}{acc}");
        if let Some(pb) = &self.bar {
            pb.set_message(msg);
            pb.inc(1);
        } else if !self.quiet && ((step + 1).is_multiple_of(self.every) || step == 0) {
            eprintln!("step {:>5}/{} {msg}", step + 1, self.steps);
        }
    }

    fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}

pub fn run(a: &TrainArgs) -> Result<(), Failure> {
    let (train, test) = load_data(a)?;
    let classes = train.nclasses();
    let loss = a.loss.unwrap_or(match classes {
        0 => Loss::Mse,
        2 => Loss::Svm,
        _ => Loss::CrossEntropy,
    });
    loss.check(classes)
        .map_err(|m| Failure::input(format!("--loss: {m}")))?;
    if classes == 1 {
        return Err(Failure::input(format!(
            "{}: the target '{}' has only one class; nothing to learn",
            train.name, train.target
        )));
    }
    let cfg = config(a, loss, train.len())?;
    let mut nouts = a.layers.0.clone();
    nouts.push(loss.outputs(classes));
    let model = MLP::builder(train.nfeatures(), &nouts)
        .hidden(a.activation)
        .output(Activation::Linear)
        .init(a.init)
        .seed(a.seed)
        .build();

    let quiet = a.quiet || a.json;
    if !quiet {
        eprintln!(
            "training MLP({}, {:?}) with {} parameters on {} ({} samples, {} features{}), loss {}, {} with lr {:.4} -> {:.4}, {} steps",
            train.nfeatures(),
            nouts,
            model.num_parameters(),
            train.name,
            train.len(),
            train.nfeatures(),
            if classes > 0 {
                format!(", {classes} classes")
            } else {
                String::new()
            },
            loss,
            cfg.optimizer,
            cfg.schedule.lr(0),
            cfg.schedule.lr(cfg.steps),
            cfg.steps,
        );
    }

    // per-step test accuracy for the plot, when it is cheap enough
    let track_test = test
        .as_ref()
        .filter(|t| classes > 0 && t.len() * cfg.steps <= 2_000_000 && !a.no_plots);
    let mut test_curve = Vec::new();
    let progress = Progress::new(cfg.steps, quiet);
    let mut aside = 0.0; // seconds spent on the test curve, not on training
    let start = Instant::now();
    let history = fit(&model, &train, &cfg, |r| {
        progress.step(r.step, r.loss, r.accuracy);
        if let Some(t) = track_test {
            let t0 = Instant::now();
            test_curve.push(evaluate(&model, t, loss).accuracy.unwrap_or(0.0));
            aside += t0.elapsed().as_secs_f64();
        }
    });
    progress.finish();
    let seconds = start.elapsed().as_secs_f64() - aside;
    if let Some((step, at)) = &history.diverged {
        return Err(Failure::run(format!(
            "training diverged at step {step}: the loss is not a finite number; the first \
             non-finite value is at {at}. Try a smaller --lr."
        )));
    }

    let on_train = evaluate(&model, &train, loss);
    let on_test = test.as_ref().map(|t| evaluate(&model, t, loss));

    // files: pictures, then the model
    std::fs::create_dir_all(&a.out).map_err(|e| {
        Failure::input(format!(
            "{}: cannot create the output directory: {e}",
            a.out.display()
        ))
    })?;
    let mut written: Vec<PathBuf> = Vec::new();
    if !a.no_plots {
        let acc = (!history.accuracy.is_empty()).then_some(history.accuracy.as_slice());
        let test_acc = (!test_curve.is_empty()).then_some(test_curve.as_slice());
        for ext in ["svg", "png"] {
            let p = a.out.join(format!("loss.{ext}"));
            micrograd::viz::plot_history(&p, &history.loss, acc, test_acc)
                .map_err(Failure::input)?;
            written.push(p);
        }
        if train.nfeatures() == 2 && classes > 0 {
            let shown = match &test {
                Some(t) => concat(&train, t),
                None => train.clone(),
            };
            let predict = |x: f64, y: f64| loss.predict(&model.predict(&[x, y]), classes);
            for ext in ["svg", "png"] {
                let p = a.out.join(format!("decision_boundary.{ext}"));
                micrograd::viz::plot_decision_boundary(&p, &shown, predict, 100)
                    .map_err(Failure::input)?;
                written.push(p);
            }
        }
    }
    let file = ModelFile {
        model,
        features: train.features.clone(),
        target: train.target.clone(),
        classes: train.classes.clone(),
        loss,
    };
    let model_paths = match &a.save {
        Some(p) => vec![p.clone()],
        None => vec![a.out.join("model.json"), a.out.join("model.safetensors")],
    };
    for p in &model_paths {
        file.save(p).map_err(Failure::input)?;
        written.push(p.clone());
    }

    if a.json {
        let acc = |e: &Evaluation| e.accuracy;
        let summary = json!({
            "data": train.name,
            "samples": {"train": train.len(), "test": test.as_ref().map(Dataset::len)},
            "parameters": file.model.num_parameters(),
            "steps": cfg.steps,
            "seconds": seconds,
            "final_step_loss": history.loss.last(),
            "train": {"loss": finite(on_train.loss), "accuracy": acc(&on_train)},
            "test": on_test.as_ref().map(|e| json!({"loss": finite(e.loss), "accuracy": acc(e)})),
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        });
        println!("{summary:#}");
    } else {
        let line = |name: &str, e: &Evaluation| match e.accuracy {
            Some(acc) => println!(
                "{name:<6} accuracy {:6.2}%   loss {:.6}",
                acc * 100.0,
                e.loss
            ),
            None => println!("{name:<6} loss {:.6}", e.loss),
        };
        println!(
            "trained {} steps in {seconds:.3} s (the training loop alone)",
            cfg.steps
        );
        line("train", &on_train);
        match &on_test {
            Some(e) => line("test", e),
            None => println!("test   (none held out; use --test-fraction)"),
        }
        for p in &written {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn concat(a: &Dataset, b: &Dataset) -> Dataset {
    let mut d = a.clone();
    d.x.extend(b.x.iter().cloned());
    d.y.extend(&b.y);
    d
}
