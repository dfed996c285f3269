//! The hand-off to PyTorch (`micrograd export --pytorch DIR`): a folder
//! from which PyTorch predicts with a model and trains it further, on a GPU
//! or across processes and machines with `torchrun`.
//!
//! It holds three files: `train.py`, the same for every model (kept in this
//! repository as `src/nn/io/pytorch/train.py`); `spec.json`, this model's
//! columns and their preprocessing, its layers and its loss; and
//! `model.safetensors`, its weights as [`ModelFile::to_safetensors`] writes
//! them (the state_dict of the equivalent `nn.Sequential`, with the
//! standardisation folded in, which `train.py` takes out again to train on
//! standardised numbers as micrograd does, and folds back when it saves).

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use super::{ModelError, ModelFile, check_prep, fail};
use crate::data::{EMPTY_CATEGORY, Impute, Input, Target};

/// The script `export --pytorch` writes as `train.py`: it reads
/// `spec.json` and `model.safetensors` from its own folder, and predicts
/// (`--predict CSV`) or trains further (`--train CSV`).
///
/// ```
/// assert!(micrograd::nn::io::TRAIN_PY.contains("DistributedDataParallel"));
/// ```
pub const TRAIN_PY: &str = include_str!("pytorch/train.py");

/// The names of the files `export --pytorch` writes, in the order written.
pub const PYTORCH_FILES: [&str; 3] = ["train.py", "spec.json", "model.safetensors"];

impl ModelFile {
    /// What `train.py` needs to know of this model, as `spec.json`: each
    /// column in input order (a number's training mean and std, a text
    /// column's categories in one-hot order), what empty cells become,
    /// the target (its classes in output order, or its mean and std), the
    /// loss, and the layers.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(2, &[3, 1]), &data::moons(10, 0.1, 0), Loss::Svm);
    /// let spec: serde_json::Value = serde_json::from_str(&f.pytorch_spec().unwrap()).unwrap();
    /// assert_eq!(spec["columns"][1]["column"], "x2");
    /// assert_eq!(spec["layers"][1]["activation"], "tanh"); // MLP::new: the lecture's tanh everywhere
    /// assert_eq!(spec["target"]["classes"].as_array().unwrap().len(), 2);
    /// ```
    pub fn pytorch_spec(&self) -> Result<String, String> {
        check_prep(&self.prep)?;
        let columns: Vec<Json> = self
            .prep
            .inputs
            .iter()
            .map(|input| match input {
                Input::Numeric { column, mean, std } => {
                    json!({"column": column, "kind": "number", "mean": mean, "std": std})
                }
                Input::OneHot { column, categories } => {
                    json!({"column": column, "kind": "text", "categories": categories})
                }
            })
            .collect();
        let target = match &self.prep.target {
            Target::Classes { column, classes } => {
                json!({"column": column, "kind": "classes", "classes": classes})
            }
            Target::Number { column, mean, std } => {
                json!({"column": column, "kind": "number", "mean": mean, "std": std})
            }
        };
        let layers: Vec<Json> = self
            .layers()
            .iter()
            .map(|l| {
                json!({
                    "inputs": l.weight.first().map_or(0, Vec::len),
                    "outputs": l.weight.len(),
                    "activation": l.act.name(),
                    "bias": l.bias.is_some(),
                })
            })
            .collect();
        let spec = json!({
            "written_by": format!("micrograd {} export --pytorch", env!("CARGO_PKG_VERSION")),
            "columns": columns,
            "empty_cells": match self.prep.impute {
                Impute::Mean => "fill",
                Impute::None => "refuse",
            },
            "empty_category": EMPTY_CATEGORY,
            "target": target,
            "loss": self.loss.name(),
            "layers": layers,
        });
        let mut text = serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?;
        text.push('\n');
        Ok(text)
    }

    /// The files of [`export_pytorch`](Self::export_pytorch), named as in
    /// [`PYTORCH_FILES`], with their bytes. Errors as
    /// [`to_safetensors`](Self::to_safetensors) does (a weight that is not
    /// finite, a scaling that cannot be folded).
    pub fn pytorch_files(&self) -> Result<Vec<(&'static str, Vec<u8>)>, String> {
        let [py, spec, weights] = PYTORCH_FILES;
        Ok(vec![
            (py, TRAIN_PY.as_bytes().to_vec()),
            (spec, self.pytorch_spec()?.into_bytes()),
            (weights, self.to_safetensors()?),
        ])
    }

    /// Writes `train.py`, `spec.json` and `model.safetensors` into `dir`,
    /// made if it is not there (and its parents); files of those names in
    /// it are replaced, all three together (see
    /// [`write_all`](crate::files::write_all)). Returns the paths written.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(3, &[4, 1]), &data::toy(), Loss::Mse);
    /// let dir = tempfile::tempdir().unwrap();
    /// let written = f.export_pytorch(&dir.path().join("torch")).unwrap();
    /// assert!(written[0].ends_with("torch/train.py"));
    /// let e = f.export_pytorch(&written[0]).unwrap_err();
    /// assert!(e.to_string().ends_with("train.py: exists and is not a folder"), "{e}");
    /// ```
    pub fn export_pytorch(&self, dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
        let src = dir.display().to_string();
        let files = self.pytorch_files().or_else(|m| fail(&src, m))?;
        match std::fs::metadata(dir) {
            Ok(m) if !m.is_dir() => return fail(&src, "exists and is not a folder"),
            Ok(_) => {}
            Err(_) => std::fs::create_dir_all(dir)
                .or_else(|e| fail(&src, format!("cannot make the folder: {e}")))?,
        }
        let paths: Vec<PathBuf> = files.iter().map(|(name, _)| dir.join(name)).collect();
        let pairs: Vec<(&Path, &[u8])> = paths
            .iter()
            .zip(&files)
            .map(|(p, (_, bytes))| (p.as_path(), bytes.as_slice()))
            .collect();
        crate::files::write_all(&pairs).or_else(|m| fail(&src, m))?;
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{PrepOptions, Preprocess, Table, Task};
    use crate::{Activation, Loss, MLP};

    /// A model on a table with a number column (with an empty cell) and a
    /// text column, as `train` makes one.
    fn table_model(target: &str, loss: Loss, nout: usize) -> ModelFile {
        let t = Table::parse(
            "x,colour,label,price\n1,red,a,10\n,blue,b,12\n5,,a,11\n3,red,b,15\n\
             2,blue,a,13\n4,red,b,14\n",
            "t.csv",
        )
        .unwrap();
        let opts = PrepOptions {
            drop: vec![if target == "label" { "price" } else { "label" }.into()],
            task: if target == "price" {
                Task::Regression
            } else {
                Task::Auto
            },
            ..PrepOptions::default()
        };
        let (prep, _) = Preprocess::fit(&t, target, &[0, 1, 2, 3, 4, 5], &opts).unwrap();
        let model = MLP::builder(prep.nfeatures(), &[3, nout])
            .hidden(Activation::Tanh)
            .output(Activation::Linear)
            .seed(7)
            .build();
        ModelFile { model, prep, loss }
    }

    #[test]
    fn the_spec_holds_the_columns_in_input_order_with_their_preprocessing() {
        let f = table_model("label", Loss::CrossEntropy, 2);
        let spec: Json = serde_json::from_str(&f.pytorch_spec().unwrap()).unwrap();
        assert_eq!(spec["columns"][0]["column"], "x");
        assert_eq!(spec["columns"][0]["kind"], "number");
        assert_eq!(spec["columns"][0]["mean"], 3.0);
        assert_eq!(spec["columns"][1]["kind"], "text");
        assert_eq!(
            spec["columns"][1]["categories"],
            json!(["(empty)", "blue", "red"])
        );
        assert_eq!(spec["empty_cells"], "fill");
        assert_eq!(spec["empty_category"], "(empty)");
        assert_eq!(
            spec["target"],
            json!({"column": "label", "kind": "classes", "classes": ["a", "b"]})
        );
        assert_eq!(spec["loss"], "xent");
        assert_eq!(
            spec["layers"],
            json!([
                {"inputs": 4, "outputs": 3, "activation": "tanh", "bias": true},
                {"inputs": 3, "outputs": 2, "activation": "linear", "bias": true},
            ])
        );
    }

    #[test]
    fn a_number_target_gives_its_mean_and_std() {
        let f = table_model("price", Loss::Mse, 1);
        let spec: Json = serde_json::from_str(&f.pytorch_spec().unwrap()).unwrap();
        assert_eq!(spec["target"]["kind"], "number");
        assert_eq!(spec["target"]["mean"], 12.5);
        assert!(spec["target"]["std"].as_f64().unwrap() > 0.0);
    }

    #[test]
    fn the_folder_gets_the_script_the_spec_and_the_weights_micrograd_reads_back() {
        let f = table_model("label", Loss::CrossEntropy, 2);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let written = f.export_pytorch(&out).unwrap();
        let names: Vec<_> = written.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, PYTORCH_FILES);
        assert_eq!(std::fs::read_to_string(&written[0]).unwrap(), TRAIN_PY);
        let back = ModelFile::load(&written[2]).unwrap();
        let x = f.prep.encode_row(&["2", "blue"]).unwrap();
        let y = back.prep.encode_row(&["2", "blue"]).unwrap();
        let (p, q) = (
            f.probabilities(&x).unwrap(),
            back.probabilities(&y).unwrap(),
        );
        assert!((p[0] - q[0]).abs() < 1e-12, "{p:?} vs {q:?}");
        // again into the same folder: the files are replaced
        f.export_pytorch(&out).unwrap();
    }

    #[test]
    fn a_model_whose_scaling_cannot_be_folded_is_refused_before_anything_is_written() {
        let mut f = table_model("price", Loss::Mse, 1);
        let last = f.model.layers.last_mut().unwrap();
        last.neurons.iter_mut().for_each(|n| n.b = None);
        let dir = tempfile::tempdir().unwrap();
        let e = f.export_pytorch(&dir.path().join("t")).unwrap_err();
        assert!(e.message.contains("cannot fold"), "{e}");
        assert!(!dir.path().join("t").exists());
    }
}
