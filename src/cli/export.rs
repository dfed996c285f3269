//! `micrograd export`: a saved model written out for another tool.

use std::path::PathBuf;

use clap::Args;
use micrograd::nn::ModelFile;

use super::Failure;
use crate::cli::out::errln;

/// Options of `micrograd export`: the model, and one flag per form to write
/// it in (at least one).
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  \
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
}

/// The output flags, as the error for none names them.
const OUTPUTS: &str = "--pytorch DIR (a folder with a PyTorch script, its spec and the weights)";

pub fn run(a: &ExportArgs) -> Result<(), Failure> {
    if a.pytorch.is_none() {
        return Err(Failure::input(format!(
            "export: nothing to write: name an output: {OUTPUTS}"
        )));
    }
    let file = ModelFile::load(&a.model).map_err(Failure::input)?;
    if let Some(dir) = &a.pytorch {
        for p in file.export_pytorch(dir).map_err(Failure::input)? {
            errln!("wrote {}", p.display());
        }
    }
    Ok(())
}
