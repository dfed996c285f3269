//! Model files: JSON (architecture, preprocessing and weights, readable) and
//! safetensors (weights laid out as PyTorch's `nn.Sequential` state_dict,
//! taking raw numeric columns).

mod json;
pub mod onnx;
mod pytorch;
mod safetensors;

pub use pytorch::{PYTORCH_FILES, TRAIN_PY};

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Activation, Layer, Loss, MLP, Module, Neuron};
use crate::data::{Dataset, Input, Preprocess, Target};
use crate::engine::Value;

/// A trained [`MLP`] with what it needs to be used again: the
/// [`Preprocess`] that turns a table's columns into its inputs and its
/// outputs back into targets, and the loss that reads its outputs.
///
/// ```
/// use micrograd::{Loss, MLP, data, nn::ModelFile};
/// let model = MLP::builder(2, &[3, 1]).seed(1).build();
/// let file = ModelFile::new(model, &data::xor(), Loss::Svm);
/// let json = file.to_json().unwrap();
/// let back = ModelFile::from_json(&json, "model.json").unwrap();
/// assert_eq!(back.to_json().unwrap(), json);
/// let st = file.to_safetensors().unwrap();
/// let back = ModelFile::from_safetensors(&st, "model.safetensors").unwrap();
/// assert_eq!(back.predict(&[1.0, 0.0]), file.predict(&[1.0, 0.0]));
/// ```
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// The network.
    pub model: MLP,
    /// How rows become inputs, and outputs become targets.
    pub prep: Preprocess,
    /// How outputs are read (see [`Loss::predict`]).
    pub loss: Loss,
}

/// A model file that could not be read or written, and why.
///
/// ```
/// let e = micrograd::nn::ModelFile::from_json("[]", "m.json").unwrap_err();
/// assert_eq!(e.to_string(), "m.json: not a micrograd model (\"format\" must be \"micrograd-mlp\")");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    /// The file.
    pub source: String,
    /// What was wrong, and where in the file.
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for ModelError {}

const FORMAT: &str = "micrograd-mlp";
/// The version written; version 1 (no preprocessing) is still read.
const VERSION: u64 = 2;
/// The largest model file read: 1 GiB.
const MAX_MODEL_BYTES: u64 = 1 << 30;

fn fail<T>(source: &str, message: impl Into<String>) -> Result<T, ModelError> {
    Err(ModelError {
        source: source.to_owned(),
        message: message.into(),
    })
}

/// The JSON file, and (without weights) the safetensors metadata.
#[derive(Serialize, Deserialize)]
struct FileJson {
    format: String,
    version: u64,
    loss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preprocessing: Option<Preprocess>,
    /// In safetensors: the scaling is folded into the weights, so the
    /// network takes raw numbers and outputs targets in their own units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    folded_into_weights: Option<bool>,
    // version 1 named the inputs, target and classes here
    #[serde(default, skip_serializing_if = "Option::is_none")]
    features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    classes: Option<Vec<String>>,
    layers: Vec<LayerJson>,
}

#[derive(Serialize, Deserialize)]
struct LayerJson {
    nin: u64,
    nout: u64,
    activation: String,
    bias: bool,
    // written, but skipped when read: the weights are read afterwards,
    // straight into buffers of the sizes checked (see `json::read`)
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "skip"
    )]
    weight: Option<Vec<Vec<f64>>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "skip"
    )]
    bias_values: Option<Vec<f64>>,
}

/// Reads past a value without keeping (or allocating) anything.
fn skip<'de, D: serde::Deserializer<'de>, T>(d: D) -> Result<Option<T>, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(None)
}

/// One layer's numbers: `weight[out][in]`, `bias[out]`.
struct LayerData {
    act: Activation,
    weight: Vec<Vec<f64>>,
    bias: Option<Vec<f64>>,
}

impl ModelFile {
    /// A model trained on `ds` as it is (no scaling): the built-in data sets.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(2, &[1]), &data::moons(10, 0.1, 0), Loss::Svm);
    /// assert_eq!(f.prep.columns(), vec!["x1", "x2"]);
    /// ```
    pub fn new(model: MLP, ds: &Dataset, loss: Loss) -> ModelFile {
        ModelFile {
            model,
            prep: Preprocess::identity(ds),
            loss,
        }
    }

    /// Class names (empty for regression).
    pub fn classes(&self) -> &[String] {
        self.prep.target.classes()
    }

    fn layers(&self) -> Vec<LayerData> {
        self.model
            .layers
            .iter()
            .map(|l| LayerData {
                act: l.neurons.first().map_or(Activation::Linear, |n| n.act),
                weight: l
                    .neurons
                    .iter()
                    .map(|n| crate::engine::read_data(&n.w))
                    .collect(),
                bias: l.neurons.first().and_then(|n| n.b).map(|_| {
                    crate::engine::read_data(
                        &l.neurons.iter().filter_map(|n| n.b).collect::<Vec<_>>(),
                    )
                }),
            })
            .collect()
    }

    /// The architecture, without weights.
    fn header(&self, layers: &[LayerData]) -> FileJson {
        FileJson {
            format: FORMAT.into(),
            version: VERSION,
            loss: self.loss.name().into(),
            preprocessing: Some(self.prep.clone()),
            folded_into_weights: None,
            features: None,
            target: None,
            classes: None,
            layers: layers
                .iter()
                .map(|l| LayerJson {
                    nin: l.weight.first().map_or(0, Vec::len) as u64,
                    nout: l.weight.len() as u64,
                    activation: l.act.name().into(),
                    bias: l.bias.is_some(),
                    weight: None,
                    bias_values: None,
                })
                .collect(),
        }
    }

    fn check_finite(layers: &[LayerData]) -> Result<(), String> {
        for (k, l) in layers.iter().enumerate() {
            let all = l.weight.iter().flatten().chain(l.bias.iter().flatten());
            if let Some(x) = all.copied().find(|x| !x.is_finite()) {
                return Err(format!(
                    "layer {k} has a weight that is {x}: training diverged; not saving it"
                ));
            }
        }
        Ok(())
    }

    /// Writes the model to `path`: safetensors if it ends in `.safetensors`,
    /// ONNX if it ends in `.onnx` (see [`to_onnx`](Self::to_onnx)), JSON
    /// otherwise; through a temporary file, so a failure leaves no partial file.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(3, &[1]), &data::toy(), Loss::Mse);
    /// let dir = tempfile::tempdir().unwrap();
    /// let p = dir.path().join("model.json");
    /// f.save(&p).unwrap();
    /// let back = ModelFile::load(&p).unwrap();
    /// assert_eq!(back.predict(&[0.3, 1.0, 2.0]), f.predict(&[0.3, 1.0, 2.0]));
    /// ```
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let src = path.display().to_string();
        let bytes = self.to_bytes(path).or_else(|m| fail(&src, m))?;
        crate::files::write_atomic(path, &bytes).or_else(|m| fail(&src, m))
    }

    /// The file's bytes for `path`: safetensors if it ends in
    /// `.safetensors`, ONNX (double) if it ends in `.onnx`, JSON otherwise.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(3, &[1]), &data::toy(), Loss::Mse);
    /// assert_eq!(f.to_bytes("m.json".as_ref()).unwrap()[0], b'{');
    /// ```
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>, String> {
        if is_safetensors(path) {
            self.to_safetensors()
        } else if is_onnx(path) {
            self.to_onnx(onnx::OnnxOptions::default())
        } else {
            self.to_json().map(String::into_bytes)
        }
    }

    /// Reads a model saved by [`save`](Self::save). The format comes from
    /// the file's structure, not its name: safetensors if it starts with a
    /// little-endian header length that fits in the file, followed by a
    /// header that starts with `{` (after any spaces); otherwise JSON if it
    /// starts with `{` (after any byte-order mark and white space).
    ///
    /// ```
    /// let e = micrograd::nn::ModelFile::load("no/such/model.json".as_ref()).unwrap_err();
    /// assert!(e.to_string().starts_with("no/such/model.json: cannot read"));
    /// ```
    pub fn load(path: &Path) -> Result<ModelFile, ModelError> {
        let src = path.display().to_string();
        if is_onnx(path) {
            return fail(
                &src,
                "an ONNX file is for other runtimes (ONNX Runtime, tract, burn): \
                 micrograd reads the model.json or model.safetensors written beside it",
            );
        }
        let bytes = crate::files::read_capped(path, MAX_MODEL_BYTES).or_else(|m| fail(&src, m))?;
        if safetensors::has_header(&bytes) {
            return ModelFile::from_safetensors(&bytes, &src);
        }
        let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
        if body.trim_ascii_start().first() == Some(&b'{') {
            let text = std::str::from_utf8(body).or_else(|_| fail(&src, "not UTF-8 text"))?;
            let (arch, weights) = json::read(text, &src)?;
            drop(bytes); // before the network is built: the file is the larger
            assemble(arch, weights, &src)
        } else {
            ModelFile::from_safetensors(&bytes, &src).map_err(|e| ModelError {
                source: src.clone(),
                message: format!(
                    "not a model file: not JSON (no '{{' first), and as safetensors: {}",
                    e.message
                ),
            })
        }
    }

    /// The model's raw outputs for one sample of encoded inputs.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(2, &[3]), &data::spiral(5, 3, 0), Loss::CrossEntropy);
    /// assert_eq!(f.outputs(&[0.1, 0.2]).len(), 3);
    /// ```
    pub fn outputs(&self, x: &[f64]) -> Vec<f64> {
        self.model.predict(x)
    }

    /// The prediction for one sample of encoded inputs: a class index, or
    /// a number in the target's units.
    pub fn predict_value(&self, x: &[f64]) -> f64 {
        self.value_of(&self.outputs(x))
    }

    /// The prediction the outputs `out` make: a class index, or a number in
    /// the target's units.
    fn value_of(&self, out: &[f64]) -> f64 {
        let y = self.loss.predict(out, self.classes().len());
        self.prep.target.to_target(y)
    }

    /// The predictions for many samples of encoded inputs at once, each
    /// with its [`probabilities`](Self::probabilities) when `proba` is set:
    /// the model runs on them through the replay, a chunk at a time
    /// ([`Scorer`](crate::nn::Scorer)), not one graph each.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(2, &[3]), &data::spiral(5, 3, 0), Loss::CrossEntropy);
    /// let x = vec![vec![0.1, 0.2], vec![-0.4, 0.3]];
    /// let p = f.predict_rows(&x, true);
    /// assert_eq!(p[1].text, f.predict(&x[1]));
    /// assert_eq!(p[1].value, f.predict_value(&x[1]));
    /// assert!((p[0].probabilities.as_ref().unwrap()[2] - f.probabilities(&x[0]).unwrap()[2]).abs() < 1e-12);
    /// ```
    pub fn predict_rows<R: AsRef<[f64]> + Sync>(&self, x: &[R], proba: bool) -> Vec<Prediction> {
        let outs = crate::nn::Scorer::new(&self.model).outputs(x);
        outs.iter()
            .map(|o| {
                let value = self.value_of(o);
                Prediction {
                    value,
                    text: crate::data::class_name(self.classes(), value),
                    probabilities: proba.then(|| self.probabilities_of(o)).flatten(),
                }
            })
            .collect()
    }

    /// The prediction for one sample of encoded inputs, as text: a class
    /// name, or a number in the target's units.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(3, &[1]), &data::toy(), Loss::Mse);
    /// assert!(f.predict(&[0.5, 0.0, 1.0]).parse::<f64>().is_ok());
    /// ```
    pub fn predict(&self, x: &[f64]) -> String {
        crate::data::class_name(self.classes(), self.predict_value(x))
    }

    /// Class probabilities for one sample of encoded inputs, with a loss
    /// that gives them: softmax for `xent`, the sigmoid of the logit for
    /// `bce`. `None` for `svm`, `mse` and regression.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(2, &[3]), &data::spiral(5, 3, 0), Loss::CrossEntropy);
    /// let p = f.probabilities(&[0.1, 0.2]).unwrap();
    /// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    /// ```
    pub fn probabilities(&self, x: &[f64]) -> Option<Vec<f64>> {
        self.probabilities_of(&self.outputs(x))
    }

    /// The class probabilities the outputs `out` give, as
    /// [`probabilities`](Self::probabilities).
    fn probabilities_of(&self, out: &[f64]) -> Option<Vec<f64>> {
        match self.loss {
            Loss::CrossEntropy => {
                let m = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = out.iter().map(|o| (o - m).exp()).collect();
                let z: f64 = e.iter().sum();
                Some(e.into_iter().map(|v| v / z).collect())
            }
            Loss::Bce => {
                let p = 1.0 / (1.0 + (-out[0]).exp());
                Some(vec![1.0 - p, p])
            }
            Loss::Svm | Loss::Mse => None,
        }
    }
}

/// What a model predicts for one sample: see [`ModelFile::predict_rows`].
///
/// ```
/// use micrograd::{Loss, MLP, data, nn::ModelFile};
/// let f = ModelFile::new(MLP::new(2, &[1]), &data::moons(10, 0.1, 0), Loss::Bce);
/// let p = &f.predict_rows(&[[0.5, -0.5]], true)[0];
/// assert!(p.value == 0.0 || p.value == 1.0);
/// assert_eq!(p.probabilities.as_ref().unwrap().len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// A class index, or a number in the target's units.
    pub value: f64,
    /// The class name, or the number as text.
    pub text: String,
    /// The class probabilities, when asked for and the loss gives them.
    pub probabilities: Option<Vec<f64>>,
}

fn is_safetensors(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
}

fn is_onnx(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// State-dict prefixes: each Linear's index in the equivalent nn.Sequential,
/// where every activation but `linear` is a module of its own.
fn sequential_keys(acts: impl Iterator<Item = Activation>) -> Vec<usize> {
    let mut idx = 0;
    acts.map(|act| {
        let k = idx;
        idx += if act == Activation::Linear { 1 } else { 2 };
        k
    })
    .collect()
}

/// One layer's checked sizes.
struct Shape {
    nin: usize,
    nout: usize,
    act: Activation,
    bias: bool,
}

/// A model's architecture and preprocessing, checked against each other:
/// what its weights must fit.
struct Architecture {
    prep: Preprocess,
    loss: Loss,
    shapes: Vec<Shape>,
}

/// One layer's numbers as read: `weight` row-major `[out][in]`, `bias[out]`.
struct Weights {
    weight: Vec<f64>,
    bias: Option<Vec<f64>>,
}

/// Checks a parsed file's architecture and preprocessing against each
/// other, before any weight is read.
fn check_architecture(file: FileJson, source: &str) -> Result<Architecture, ModelError> {
    let prep = match (file.preprocessing, file.version) {
        (Some(p), _) => p,
        (None, 1) => {
            let ds = Dataset {
                name: String::new(),
                features: file.features.unwrap_or_default(),
                target: file.target.unwrap_or_else(|| "y".into()),
                x: vec![],
                y: vec![],
                classes: file.classes.unwrap_or_default(),
            };
            Preprocess::identity(&ds)
        }
        (None, _) => return fail(source, "missing field `preprocessing`"),
    };
    check_prep(&prep).or_else(|m| fail(source, format!("preprocessing: {m}")))?;
    let loss: Loss = file
        .loss
        .parse()
        .or_else(|e: String| fail(source, format!("'loss': {e}")))?;
    if file.layers.is_empty() {
        return fail(source, "'layers' must be a non-empty list");
    }
    let classes = prep.target.classes().len();
    let mut shapes: Vec<Shape> = Vec::with_capacity(file.layers.len());
    for (k, l) in file.layers.iter().enumerate() {
        let size = |f: &str, n: u64| -> Result<usize, ModelError> {
            match n {
                1..=1_000_000 => Ok(n as usize),
                _ => fail(
                    source,
                    format!("layers[{k}].{f} must be a whole number from 1 to 1000000"),
                ),
            }
        };
        let (nin, nout) = (size("nin", l.nin)?, size("nout", l.nout)?);
        let act: Activation = l
            .activation
            .parse()
            .or_else(|e: String| fail(source, format!("layers[{k}].activation: {e}")))?;
        let want_in = match shapes.last() {
            None => prep.nfeatures(),
            Some(s) => s.nout,
        };
        if nin != want_in {
            let what = if k == 0 {
                "inputs after preprocessing".to_owned()
            } else {
                format!("outputs of layers[{}]", k - 1)
            };
            return fail(
                source,
                format!("layers[{k}].nin is {nin} but there are {want_in} {what}"),
            );
        }
        shapes.push(Shape {
            nin,
            nout,
            act,
            bias: l.bias,
        });
    }
    let nout = shapes.last().map_or(0, |s| s.nout);
    if nout != loss.outputs(classes) {
        return fail(
            source,
            format!(
                "the last layer has {nout} outputs; loss {} with {classes} classes needs {}",
                loss.name(),
                loss.outputs(classes)
            ),
        );
    }
    loss.check(classes)
        .or_else(|m| fail(source, format!("'loss': {m}")))?;
    Ok(Architecture { prep, loss, shapes })
}

/// Builds the model from its checked architecture and each layer's
/// numbers (of the sizes the shapes say: the readers make sure of it).
fn assemble(
    arch: Architecture,
    weights: Vec<Weights>,
    source: &str,
) -> Result<ModelFile, ModelError> {
    let finite = |w: &Weights| {
        w.weight
            .iter()
            .chain(w.bias.iter().flatten())
            .all(|x| x.is_finite())
    };
    if !weights.iter().all(finite) {
        return fail(source, "a weight is not a finite number");
    }
    let mut layers = Vec::with_capacity(arch.shapes.len());
    for (s, w) in arch.shapes.iter().zip(weights) {
        debug_assert_eq!(w.weight.len(), s.nin * s.nout);
        let neurons = w
            .weight
            .chunks_exact(s.nin)
            .enumerate()
            .map(|(j, row)| Neuron {
                w: row.iter().copied().map(Value::new).collect(),
                b: w.bias.as_ref().map(|b| Value::new(b[j])),
                act: s.act,
            })
            .collect();
        layers.push(Layer { neurons });
    }
    Ok(ModelFile {
        model: MLP { layers },
        prep: arch.prep,
        loss: arch.loss,
    })
}

/// Whether a preprocessing section read from a file can be applied.
fn check_prep(p: &Preprocess) -> Result<(), String> {
    for input in &p.inputs {
        match input {
            Input::Numeric { column, mean, std } => {
                if !mean.is_finite() || !std.is_finite() || *std <= 0.0 {
                    return Err(format!(
                        "column '{column}': mean {mean} and std {std} must be finite, std above 0"
                    ));
                }
            }
            Input::OneHot { column, categories } if categories.is_empty() => {
                return Err(format!("column '{column}': no categories"));
            }
            Input::OneHot { .. } => {}
        }
    }
    match &p.target {
        Target::Number { mean, std, .. }
            if !mean.is_finite() || !std.is_finite() || *std <= 0.0 =>
        {
            Err(format!(
                "target: mean {mean} and std {std} must be finite, std above 0"
            ))
        }
        Target::Classes { classes, .. } if classes.len() == 1 => {
            Err("target: one class only".into())
        }
        _ => Ok(()),
    }
}
