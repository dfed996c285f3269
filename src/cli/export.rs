//! `micrograd export`: a saved model written out for another tool.

use std::path::PathBuf;

use clap::Args;
use micrograd::nn::{ModelFile, OnnxOptions};

use super::Failure;
use crate::cli::out::errln;

/// Options of `micrograd export`: the model, and one flag per form to write
/// it in (at least one).
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  \
    micrograd export --onnx model.onnx --model out/model.json\n  \
    micrograd export --pytorch torch_model --model out/model.json\n  \
    python torch_model/train.py --predict data/new_flowers.csv\n  \
    python torch_model/train.py --train more_rows.csv --epochs 10\n  \
    torchrun --standalone --nproc_per_node 2 torch_model/train.py --train more_rows.csv")]
pub struct ExportArgs {
    /// A model written by `micrograd train` (JSON or safetensors).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Write a folder for PyTorch: train.py (predicts, or trains further
    /// with a DataLoader, on a GPU if there is one, and across processes
    /// under torchrun), spec.json (the columns' preprocessing, the layers,
    /// the loss) and model.safetensors (the weights). Made if missing.
    #[arg(long, value_name = "DIR")]
    pytorch: Option<PathBuf>,
    /// Write the model as ONNX, its preprocessing inside: one input per
    /// column of the CSV (numbers as double, NaN when empty; text as
    /// strings), outputs `label` and `probabilities` (classes) or `value`.
    #[arg(long, value_name = "FILE")]
    onnx: Option<PathBuf>,
    /// With --onnx: every number as float (32 bits) rather than double, for
    /// runtimes that want it; predictions then agree to about 1e-5.
    #[arg(long, requires = "onnx")]
    float32: bool,
}

/// The output flags, as the error for none names them.
const OUTPUTS: &str = "--onnx FILE (the model for ONNX Runtime and other runtimes) or \
     --pytorch DIR (a folder with a PyTorch script, its spec and the weights)";

pub fn run(a: &ExportArgs) -> Result<(), Failure> {
    if a.pytorch.is_none() && a.onnx.is_none() {
        return Err(Failure::input(format!(
            "export: nothing to write: name an output: {OUTPUTS}"
        )));
    }
    let file = ModelFile::load(&a.model).map_err(Failure::input)?;
    if let Some(path) = &a.onnx {
        let opts = OnnxOptions { float32: a.float32 };
        let fail = |m: String| Failure::input(format!("{}: {m}", path.display()));
        let bytes = file.to_onnx(opts).map_err(fail)?;
        micrograd::files::write_all(&[(path.as_path(), &bytes)]).map_err(Failure::input)?;
        errln!("wrote {}", path.display());
    }
    if let Some(dir) = &a.pytorch {
        for p in file.export_pytorch(dir).map_err(Failure::input)? {
            errln!("wrote {}", p.display());
        }
    }
    Ok(())
}
