//! Command-line arguments and the subcommands: train, predict, export, grad, serve.

mod export;
mod grad;
mod out;
mod predict;
mod progress;
mod serve;
mod train;
mod train_cv;
mod train_report;
mod written;

use crate::cli::out::errln;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// A scalar autograd engine and a small neural-network library, after Karpathy's micrograd.
///
/// With no subcommand, trains micrograd's demo: a 2-layer relu network on
/// 100 points of two moons, 100 steps, and writes its pictures and model to out/.
#[derive(Parser, Debug)]
#[command(
    name = "micrograd",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  \
        micrograd                                   train micrograd's moons demo\n  \
        micrograd train --data spiral --layers 32,32 --optimizer adam --steps 300\n  \
        micrograd train iris.csv --target species\n  \
        micrograd predict --model out/model.json points.csv\n  \
        micrograd export --pytorch torch_model --model out/model.json\n  \
        micrograd grad \"tanh(x1*w1 + x2*w2 + b)\" x1=2 x2=0 w1=-3 w2=1 b=6.8813735870195432\n  \
        micrograd serve                             a page that steps through backprop"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train an MLP on a built-in data set or a CSV file (the default).
    Train(Box<TrainCmd>),
    /// Run a saved model on the rows of a CSV file.
    Predict(PredictArgs),
    /// Write a saved model out for another tool: a PyTorch script and its weights.
    Export(export::ExportArgs),
    /// Evaluate an expression and print d/d of every variable.
    Grad(GradArgs),
    /// Serve a page that steps through backprop on an expression or a training run.
    Serve(ServeArgs),
}

/// Options of `micrograd serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The port (0: any free one; the URL is printed).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The address to listen on. Anything but 127.0.0.1 lets other machines in.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDRESS")]
    #[arg(value_parser = parse_host)]
    host: std::net::IpAddr,
    /// Open the page in the default browser.
    #[arg(long)]
    open: bool,
}

/// `micrograd train`: its options, and the data also as a plain argument
/// (`micrograd train iris.csv --target species`).
#[derive(Args, Debug)]
pub struct TrainCmd {
    /// A CSV file or a built-in data set: the same as --data.
    #[arg(value_name = "DATA", conflicts_with = "data")]
    file: Option<String>,
    #[command(flatten)]
    args: TrainArgs,
}

impl TrainCmd {
    /// The options, with the plain argument as `--data`.
    fn args(&self) -> TrainArgs {
        let mut a = self.args.clone();
        if let Some(f) = &self.file {
            a.data.clone_from(f);
        }
        a
    }
}

/// Options of `micrograd train`.
#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Built-in data sets: moons, circles, spiral (3 classes), xor, toy (regression).\n\
    They train micrograd's demo recipe: --layers 16,16 --init micrograd --optimizer sgd --lr 1.0\n\
    --lr-end 0.1 --steps 100, full batches.\n\
    A CSV file trains the table recipe: numbers standardised and text one-hot encoded (learned\n\
    on the training rows), --layers 32 --init he --optimizer adam --lr 0.01 --alpha 0.01\n\
    --batch-size 32, up to --epochs 200, stopping when the loss on a validation split (20% of\n\
    the training rows) has not improved for --patience 20 epochs, and keeping the best weights.\n\
    Under 800 training rows (1000 before the validation split) the layer is 64 for classes and\n\
    --alpha 0.03 for numbers, and once early stopping has chosen the epochs the model trains\n\
    again for that many on the training and validation rows together (--no-refit: not); from\n\
    800 rows, classes take --alpha 0.001.\n\
    A table whose 20% test split would hold fewer than 100 rows (up to 5000 rows) is tested by\n\
    5-fold cross-validation instead (--cv 0 for the single split); the model saved is then\n\
    trained on every row."
)]
pub struct TrainArgs {
    /// Built-in data set name, or a CSV file (with --target).
    #[arg(long, default_value = "moons", value_name = "NAME|FILE")]
    data: String,
    /// CSV: the column to predict.
    #[arg(long, value_name = "COLUMN")]
    target: Option<String>,
    /// CSV: a separate file to test on (the same columns) instead of holding
    /// out --test-fraction of --data.
    #[arg(long, value_name = "FILE")]
    test_data: Option<PathBuf>,
    /// CSV: what the target is (auto: classes if it has text or at most 10
    /// different whole numbers).
    #[arg(
        long,
        default_value = "auto",
        value_name = "auto|regression|classification"
    )]
    task: micrograd::data::Task,
    /// CSV: use only these columns as features.
    #[arg(
        long,
        value_name = "COL,COL",
        value_delimiter = ',',
        conflicts_with = "drop"
    )]
    features: Option<Vec<String>>,
    /// CSV: do not use these columns.
    #[arg(long, value_name = "COL,COL", value_delimiter = ',')]
    drop: Vec<String>,
    /// CSV: do not standardise number columns and a numeric target.
    #[arg(long)]
    no_scale: bool,
    /// CSV: what empty feature cells (empty, NA, NaN) become: mean fills a
    /// number column's with the training mean and makes a text column's a
    /// category of its own, "(empty)"; none refuses them (an error naming them).
    #[arg(long, default_value = "mean", value_name = "mean|none")]
    impute: micrograd::data::Impute,
    /// CSV classes: balanced makes each class weigh the same in training
    /// (the rarer classes' rows drawn again), for a class the model seldom
    /// predicts; none weighs each row the same.
    #[arg(long, default_value = "none", value_name = "none|balanced")]
    class_weight: micrograd::train::ClassWeight,
    /// Hidden layer sizes; the output layer is added to fit the task
    /// [default: 16,16 built-in, 32 CSV; 64 for classes under 800 training rows].
    #[arg(long, value_name = "N,N,...", value_parser = parse_layers)]
    layers: Option<Layers>,
    /// Activation of the hidden layers.
    #[arg(long, default_value = "relu", value_name = "relu|tanh|sigmoid|linear")]
    activation: micrograd::Activation,
    /// Weight initialisation [default: micrograd built-in; he (relu) or
    /// xavier CSV].
    #[arg(long, value_name = "micrograd|uniform|xavier|he")]
    init: Option<micrograd::Init>,
    /// Loss [default: svm for 2 built-in classes, xent for CSV classes and
    /// 3+ classes, mse for regression].
    #[arg(long, value_name = "svm|bce|xent|mse")]
    loss: Option<micrograd::Loss>,
    /// Optimizer [default: sgd built-in, adam CSV].
    #[arg(long, value_name = "sgd|momentum|adam")]
    optimizer: Option<micrograd::OptimizerKind>,
    /// Learning rate at the first step [default: 1.0 for sgd, 0.1 momentum, 0.01 adam].
    #[arg(long, value_name = "RATE", allow_negative_numbers = true)]
    lr: Option<f64>,
    /// The learning rate falls in a straight line from --lr towards this,
    /// reached after the last step (micrograd: 1.0 - 0.9·k/100) [default:
    /// lr/10 built-in, lr CSV].
    #[arg(long, value_name = "RATE", allow_negative_numbers = true)]
    lr_end: Option<f64>,
    /// L2 regularisation strength: alpha·Σp² is added to the loss
    /// [default: 1e-4 built-in (micrograd's demo), 1e-2 CSV; 3e-2 for a
    /// number under 800 training rows, 1e-3 for classes from 800].
    #[arg(long, value_name = "ALPHA", allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// Optimizer steps [default: 100 built-in].
    #[arg(long, conflicts_with = "epochs", allow_negative_numbers = true, value_parser = whole::<u64>)]
    steps: Option<u64>,
    /// Passes over the training data [default: 200 CSV, at most: see --patience].
    #[arg(long, allow_negative_numbers = true, value_parser = whole::<u64>)]
    epochs: Option<u64>,
    /// Samples per step; 0 = the whole training set [default: 0 built-in, 32 CSV].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole::<usize>)]
    batch_size: Option<usize>,
    /// Stop after this many epochs without a better validation loss, and keep
    /// the best weights; 0 = never stop early [default: 20 CSV, 0 built-in].
    #[arg(long, value_name = "EPOCHS", allow_negative_numbers = true, value_parser = whole::<usize>)]
    patience: Option<usize>,
    /// CSV: keep the early-stopped model as it is, instead of training it
    /// again on the training and validation rows together for the epochs
    /// early stopping chose.
    #[arg(long)]
    no_refit: bool,
    /// Hold out this fraction of the training rows to decide when to stop
    /// [default: 0.2 when stopping early (CSV, or --patience); else none].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    valid_fraction: Option<f64>,
    /// Seed for the data, the weights and the batches.
    #[arg(long, default_value_t = 1337)]
    seed: u64,
    /// Threads for batches of more than 256 rows, which run in parts of 256
    /// (0: every core, or RAYON_NUM_THREADS). The numbers are the same on
    /// any number of threads.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = whole::<usize>)]
    threads: usize,
    /// Hold out this fraction of the data for testing [default: 0.2 for a CSV;
    /// built-in moons, circles and spiral get a fresh draw of their own size].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    test_fraction: Option<f64>,
    /// CSV: test by K-fold cross-validation (stratified by class): each
    /// fold is tested on by a model trained on the others, the metrics are
    /// reported as mean ± sd over the folds, and the model saved is trained
    /// on every row. 0 tests on a single split [default: 5 when a 20% test
    /// split would hold fewer than 100 rows, else 0].
    #[arg(long, value_name = "K", allow_negative_numbers = true, value_parser = whole::<usize>)]
    cv: Option<usize>,
    /// Where the pictures, report.html and the model go.
    #[arg(long, default_value = "out", value_name = "DIR")]
    out: PathBuf,
    /// Save the model here instead of DIR/model.json and DIR/model.safetensors
    /// (.safetensors for safetensors, else JSON).
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Also write the model as ONNX here, its preprocessing inside (see
    /// `micrograd export --help`).
    #[arg(long, value_name = "FILE")]
    onnx: Option<PathBuf>,
    /// Skip the pictures and report.html (which is made of them).
    #[arg(long)]
    no_plots: bool,
    /// No progress output; only the summary.
    #[arg(long)]
    quiet: bool,
    /// Print the summary as JSON on stdout (implies --quiet).
    #[arg(long)]
    json: bool,
}

/// Options of `micrograd predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model written by `micrograd train` (JSON or safetensors).
    #[arg(long, value_name = "FILE", required_unless_present = "files")]
    model: Option<PathBuf>,
    /// A CSV file with the model's feature columns (other columns are ignored).
    #[arg(long, value_name = "FILE", required_unless_present = "files")]
    data: Option<PathBuf>,
    /// As plain arguments: [MODEL] DATA, the same as --model and --data.
    #[arg(value_name = "FILES", num_args = 1..=2)]
    files: Vec<PathBuf>,
    /// Write the predictions here (CSV) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write each class's probability (losses xent and bce).
    #[arg(long)]
    proba: bool,
    /// What empty feature cells (empty, NA, NaN) become: mean fills them as
    /// training did (a number column's with the training mean, a text
    /// column's as the category "(empty)"), none refuses them [default: as
    /// the model was trained].
    #[arg(long, value_name = "none|mean")]
    impute: Option<micrograd::data::Impute>,
}

impl PredictArgs {
    /// The model file and the CSV file, given as flags or plain arguments
    /// (`predict out/model.json rows.csv`).
    fn paths(&self) -> Result<(&std::path::Path, &std::path::Path), Failure> {
        let f = &self.files;
        match (&self.model, &self.data, f.as_slice()) {
            (Some(m), Some(d), []) => Ok((m, d)),
            (Some(m), None, [d]) | (None, Some(d), [m]) | (None, None, [m, d]) => Ok((m, d)),
            (None, None, [d]) => Err(Failure::input(format!(
                "which model? give it before the data ({} is taken for the data): \
                 micrograd predict out/model.json {0}, or --model FILE",
                d.display()
            ))),
            _ => Err(Failure::input(
                "predict takes one model and one data file: [--model] MODEL [--data] DATA",
            )),
        }
    }
}

/// Options of `micrograd grad`.
#[derive(Args, Debug)]
#[command(
    after_help = "Grammar: numbers, names, + - * / ^ (or **), unary minus, parentheses,\n\
    exp ln log tanh relu sigmoid. Example:\n  \
    micrograd grad \"tanh(x1*w1 + x2*w2 + b)\" x1=2 x2=0 w1=-3 w2=1 b=6.8813735870195432"
)]
pub struct GradArgs {
    /// The expression, e.g. "x^2 + 3*x" (it may start with '-').
    #[arg(allow_hyphen_values = true)]
    expr: String,
    /// A value for every variable, as NAME=VALUE.
    #[arg(value_name = "NAME=VALUE")]
    values: Vec<String>,
    /// Print {"value": v, "grads": {...}} (non-finite numbers as null).
    #[arg(long)]
    json: bool,
    /// Draw the expression's graph to this SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Write the expression's graph as Graphviz DOT to this file.
    #[arg(long, value_name = "FILE")]
    dot: Option<PathBuf>,
    /// Draw the graph to this PNG file with Graphviz's `dot` (better layout;
    /// needs Graphviz installed).
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
}

/// Hidden layer sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Layers(Vec<usize>);

/// A count: a whole number, 0 or more (a negative one is refused as such,
/// not taken for a flag).
fn whole<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| "must be a whole number, 0 or more".to_owned())
}

/// An address to listen on: an IP address, or `localhost` (127.0.0.1).
fn parse_host(s: &str) -> Result<std::net::IpAddr, String> {
    if s.eq_ignore_ascii_case("localhost") {
        return Ok(std::net::Ipv4Addr::LOCALHOST.into());
    }
    s.parse().map_err(|_| {
        "not an IP address: use 127.0.0.1 (or localhost), ::1, or 0.0.0.0 for every \
         interface"
            .to_owned()
    })
}

fn parse_layers(s: &str) -> Result<Layers, String> {
    if s.trim().is_empty() || s.trim() == "none" {
        return Ok(Layers(vec![]));
    }
    s.split(',')
        .map(|p| match p.trim().parse::<usize>() {
            Ok(n) if (1..=4096).contains(&n) => Ok(n),
            _ => Err(format!(
                "'{}' is not a layer size (a whole number from 1 to 4096; e.g. --layers 16,16)",
                p.trim()
            )),
        })
        .collect::<Result<_, _>>()
        .map(Layers)
}

/// A failure to report: the message, and the exit status.
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// Bad input (arguments, files, expressions): status 2.
    fn input(message: impl fmt::Display) -> Failure {
        Failure {
            message: message.to_string(),
            code: 2,
        }
    }

    /// Training failed on good input (it diverged): status 1.
    fn run(message: impl fmt::Display) -> Failure {
        Failure {
            message: message.to_string(),
            code: 1,
        }
    }
}

/// On Ctrl-C (or SIGTERM), removes the temporary files of a save under way
/// before exiting as the signal would, so an interrupted run leaves none.
/// Reads a CSV table for the command; a file that is not there but is in a
/// folder of the current one is named ([`found_elsewhere`]).
fn read_table(path: &std::path::Path) -> Result<micrograd::data::Table, Failure> {
    micrograd::data::Table::read(path).map_err(|e| match found_elsewhere(path) {
        Some(p) => Failure::input(format!("{e} (did you mean {p}?)")),
        None => Failure::input(e),
    })
}

/// For a relative path that is not there: the same path under a folder of
/// the current one, if one has it (`data/iris.csv` for `iris.csv`).
fn found_elsewhere(path: &std::path::Path) -> Option<String> {
    if path.exists() || !path.is_relative() {
        return None;
    }
    let p = std::fs::read_dir(".")
        .ok()?
        .filter_map(|d| Some(d.ok()?.path().join(path)))
        .filter(|p| p.is_file())
        .min()?;
    Some(p.strip_prefix(".").unwrap_or(&p).display().to_string())
}

fn clean_up_on_interrupt() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return; // no handler: the default behaviour, nothing worse
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            micrograd::files::remove_temporaries();
            errln!("interrupted");
            std::process::exit(128 + sig);
        }
    });
}

pub fn main() -> ExitCode {
    clean_up_on_interrupt();
    let cli = Cli::parse();
    let result = match cli.command {
        None => train::run(&cli.train),
        Some(Command::Train(c)) => train::run(&c.args()),
        Some(Command::Predict(a)) => predict::run(&a),
        Some(Command::Export(a)) => export::run(&a),
        Some(Command::Grad(a)) => grad::run(&a),
        Some(Command::Serve(a)) => serve::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            errln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
