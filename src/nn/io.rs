//! Model files: JSON (architecture, preprocessing and weights, readable) and
//! safetensors (weights laid out as PyTorch's `nn.Sequential` state_dict,
//! taking raw numeric columns).

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weight: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bias_values: Option<Vec<f64>>,
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

    /// The model as pretty-printed JSON: architecture, preprocessing (each
    /// column's mean and std or categories, the target's classes or scale)
    /// and weights (`weight` is `[out][in]`, as in PyTorch). Errors if a
    /// weight is not finite.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(3, &[1]), &data::toy(), Loss::Mse);
    /// let j = f.to_json().unwrap();
    /// assert!(j.contains("\"format\": \"micrograd-mlp\"") && j.contains("\"preprocessing\""));
    /// ```
    pub fn to_json(&self) -> Result<String, String> {
        let layers = self.layers();
        Self::check_finite(&layers)?;
        let mut file = self.header(&layers);
        for (j, l) in file.layers.iter_mut().zip(&layers) {
            j.weight = Some(l.weight.clone());
            j.bias_values = l.bias.clone();
        }
        Ok(serde_json::to_string_pretty(&file).expect("JSON of finite numbers and strings") + "\n")
    }

    /// Reads a model from JSON; `source` names the file in errors.
    ///
    /// ```
    /// let e = micrograd::nn::ModelFile::from_json("{", "m.json").unwrap_err();
    /// assert!(e.message.starts_with("not valid JSON"));
    /// ```
    pub fn from_json(text: &str, source: &str) -> Result<ModelFile, ModelError> {
        let mut file = parse_file_json(text, source, "")?;
        let weights: Vec<_> = file
            .layers
            .iter_mut()
            .map(|l| (l.weight.take(), l.bias_values.take()))
            .collect();
        build(file, source, |k, s| {
            let (w, b) = &weights[k];
            let weight = matrix(w.as_deref(), s.nout, s.nin)
                .or_else(|e| fail(source, format!("layers[{k}].weight: {e}")))?;
            let bias = if s.bias {
                Some(
                    vector(b.as_deref(), s.nout)
                        .or_else(|e| fail(source, format!("layers[{k}].bias_values: {e}")))?,
                )
            } else {
                None
            };
            Ok((weight, bias))
        })
    }

    /// The model as safetensors: tensors named as the state_dict of
    /// `nn.Sequential(Linear, act, Linear, act, ..., Linear)` (`"0.weight"`
    /// `[out, in]`, `"0.bias"` `[out]`, `"2.weight"`, ...; an activation takes
    /// an index, a linear output does not), float64, little-endian.
    ///
    /// The network takes **raw** numbers: the standardisation is folded
    /// into the first layer (w' = w/σ, b' = b − Σ w·μ/σ), and a regression
    /// target's scale into the last (outputs are in the target's units).
    /// One-hot columns stay one input per category. The `__metadata__`'s
    /// `"model"` entry holds the architecture and the preprocessing (input
    /// order, categories, classes) as JSON. Errors if a weight is not finite,
    /// or if the scaling cannot be folded (a layer without a bias).
    ///
    /// ```
    /// use micrograd::{Activation, Loss, MLP, data, nn::ModelFile};
    /// let model = MLP::builder(2, &[3, 1]).hidden(Activation::Relu).output(Activation::Linear).build();
    /// let f = ModelFile::new(model, &data::moons(10, 0.1, 0), Loss::Svm);
    /// let bytes = f.to_safetensors().unwrap();
    /// let text = String::from_utf8_lossy(&bytes);
    /// assert!(text.contains("\"0.weight\"") && text.contains("\"2.bias\""));
    /// ```
    pub fn to_safetensors(&self) -> Result<Vec<u8>, String> {
        let mut layers = self.layers();
        Self::check_finite(&layers)?;
        self.fold(&mut layers)?;
        Self::check_finite(&layers)?;
        let mut header = Map::new();
        let mut data: Vec<u8> = Vec::new();
        for (l, key) in layers
            .iter()
            .zip(sequential_keys(layers.iter().map(|l| l.act)))
        {
            let mut put = |name: String, shape: Vec<usize>, values: Vec<f64>| {
                let begin = data.len();
                for v in values {
                    data.extend_from_slice(&v.to_le_bytes());
                }
                header.insert(
                    name,
                    json!({"dtype": "F64", "shape": shape, "data_offsets": [begin, data.len()]}),
                );
            };
            let (nout, nin) = (l.weight.len(), l.weight.first().map_or(0, Vec::len));
            put(format!("{key}.weight"), vec![nout, nin], l.weight.concat());
            if let Some(b) = &l.bias {
                put(format!("{key}.bias"), vec![nout], b.clone());
            }
        }
        let mut arch = self.header(&layers);
        arch.folded_into_weights = Some(true);
        let arch = serde_json::to_string(&arch).expect("JSON");
        header.insert(
            "__metadata__".into(),
            json!({"format": FORMAT, "model": arch}),
        );
        let mut head = serde_json::to_vec(&Json::Object(header)).expect("JSON");
        while !head.len().is_multiple_of(8) {
            head.push(b' ');
        }
        let mut out = Vec::with_capacity(8 + head.len() + data.len());
        out.extend_from_slice(&(head.len() as u64).to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Folds the input standardisation into the first layer and a
    /// regression target's scale into the last.
    fn fold(&self, layers: &mut [LayerData]) -> Result<(), String> {
        let cannot = |what: &str| {
            format!("cannot fold the {what} scaling into a layer without a bias; save as JSON")
        };
        if let Some(first) = layers.first_mut() {
            let mut i = 0;
            for input in &self.prep.inputs {
                match input {
                    Input::Numeric { mean, std, .. } => {
                        for (k, row) in first.weight.iter_mut().enumerate() {
                            row[i] /= std;
                            if *mean != 0.0 {
                                let b = first.bias.as_mut().ok_or_else(|| cannot("input"))?;
                                b[k] -= row[i] * mean;
                            }
                        }
                        i += 1;
                    }
                    Input::OneHot { categories, .. } => i += categories.len(),
                }
            }
        }
        if let (Target::Number { mean, std, .. }, Some(last)) =
            (&self.prep.target, layers.last_mut())
            && (*mean != 0.0 || *std != 1.0)
        {
            if last.act != Activation::Linear {
                return Err(format!(
                    "cannot fold the target's scaling into a {} output layer; save as JSON",
                    last.act.name()
                ));
            }
            for row in &mut last.weight {
                row.iter_mut().for_each(|w| *w *= std);
            }
            match &mut last.bias {
                Some(b) => b.iter_mut().for_each(|b| *b = *b * std + mean),
                None if *mean != 0.0 => return Err(cannot("target")),
                None => {}
            }
        }
        Ok(())
    }

    /// Reads a model from safetensors written by [`to_safetensors`](Self::to_safetensors)
    /// (F64 or F32 tensors); every size and offset is checked. Its network
    /// takes raw numbers, so the model read has no scaling left to apply.
    ///
    /// ```
    /// let e = micrograd::nn::ModelFile::from_safetensors(&[1, 2, 3], "m.safetensors").unwrap_err();
    /// assert_eq!(e.to_string(), "m.safetensors: too short to be a safetensors file");
    /// ```
    pub fn from_safetensors(bytes: &[u8], source: &str) -> Result<ModelFile, ModelError> {
        if bytes.len() < 8 {
            return fail(source, "too short to be a safetensors file");
        }
        let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let rest = &bytes[8..];
        if n > rest.len() as u64 {
            return fail(
                source,
                format!(
                    "header length {n} runs past the end of the file ({} bytes)",
                    bytes.len()
                ),
            );
        }
        let (head, data) = rest.split_at(n as usize);
        let header: Json = serde_json::from_slice(head).map_err(|e| ModelError {
            source: source.to_owned(),
            message: format!("the header is not valid JSON: {e}"),
        })?;
        let arch_text = header["__metadata__"]["model"]
            .as_str()
            .ok_or_else(|| ModelError {
                source: source.to_owned(),
                message:
                    "no micrograd architecture in __metadata__.model (was it written by micrograd?)"
                        .into(),
            })?;
        let file = parse_file_json(arch_text, source, "__metadata__.model: ")?;
        let folded = file.folded_into_weights == Some(true);
        let keys = sequential_keys(file.layers.iter().map(|l| {
            l.activation
                .parse::<Activation>()
                .unwrap_or(Activation::Linear)
        }));
        let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f64>, ModelError> {
            let t = &header[name];
            if t.is_null() {
                return fail(source, format!("no tensor '{name}'"));
            }
            let got: Option<Vec<usize>> = t["shape"]
                .as_array()
                .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect());
            if got.as_deref() != Some(shape) {
                return fail(
                    source,
                    format!(
                        "tensor '{name}' has shape {}, expected {shape:?}",
                        t["shape"]
                    ),
                );
            }
            let width = match t["dtype"].as_str() {
                Some("F64") => 8,
                Some("F32") => 4,
                other => {
                    return fail(
                        source,
                        format!("tensor '{name}' has dtype {other:?}; F64 or F32 expected"),
                    );
                }
            };
            let offs: Option<Vec<u64>> = t["data_offsets"]
                .as_array()
                .and_then(|a| a.iter().map(Json::as_u64).collect());
            let count: usize = shape.iter().product();
            let (b, e) = match offs.as_deref() {
                Some(&[b, e]) if b <= e && e <= data.len() as u64 => (b as usize, e as usize),
                _ => {
                    return fail(
                        source,
                        format!("tensor '{name}' has bad data_offsets {}", t["data_offsets"]),
                    );
                }
            };
            if e - b != count * width {
                return fail(
                    source,
                    format!(
                        "tensor '{name}' holds {} bytes, expected {}",
                        e - b,
                        count * width
                    ),
                );
            }
            let raw = &data[b..e];
            let values: Vec<f64> = if width == 8 {
                raw.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8")))
                    .collect()
            } else {
                raw.chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4"))))
                    .collect()
            };
            if values.iter().any(|v| !v.is_finite()) {
                return fail(
                    source,
                    format!("tensor '{name}' holds a value that is not finite"),
                );
            }
            Ok(values)
        };
        let mut model = build(file, source, |k, s| {
            let key = keys[k];
            let w = tensor(&format!("{key}.weight"), &[s.nout, s.nin])?;
            let weight = w.chunks(s.nin).map(<[f64]>::to_vec).collect();
            let bias = if s.bias {
                Some(tensor(&format!("{key}.bias"), &[s.nout])?)
            } else {
                None
            };
            Ok((weight, bias))
        })?;
        if folded {
            model.prep.clear_scaling();
        }
        Ok(model)
    }

    /// Writes the model to `path`: safetensors if it ends in `.safetensors`,
    /// JSON otherwise; through a temporary file, so a failure leaves no partial file.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(3, &[1]), &data::toy(), Loss::Mse);
    /// let p = std::env::temp_dir().join(format!("mg-doc-model-{}.json", std::process::id()));
    /// f.save(&p).unwrap();
    /// let back = ModelFile::load(&p).unwrap();
    /// assert_eq!(back.predict(&[0.3, 1.0, 2.0]), f.predict(&[0.3, 1.0, 2.0]));
    /// ```
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let src = path.display().to_string();
        let bytes = self.to_bytes(path).or_else(|m| fail(&src, m))?;
        crate::write_atomic(path, &bytes).or_else(|m| fail(&src, m))
    }

    /// The file's bytes for `path`: safetensors if it ends in
    /// `.safetensors`, JSON otherwise.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, data, nn::ModelFile};
    /// let f = ModelFile::new(MLP::new(3, &[1]), &data::toy(), Loss::Mse);
    /// assert_eq!(f.to_bytes("m.json".as_ref()).unwrap()[0], b'{');
    /// ```
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>, String> {
        if is_safetensors(path) {
            self.to_safetensors()
        } else {
            self.to_json().map(String::into_bytes)
        }
    }

    /// Reads a model saved by [`save`](Self::save) (the format from the
    /// file's contents: JSON if it starts with `{`, after any byte-order
    /// mark and white space).
    ///
    /// ```
    /// let e = micrograd::nn::ModelFile::load("no/such/model.json".as_ref()).unwrap_err();
    /// assert!(e.to_string().starts_with("no/such/model.json: cannot read"));
    /// ```
    pub fn load(path: &Path) -> Result<ModelFile, ModelError> {
        let src = path.display().to_string();
        let bytes = crate::files::read_capped(path, MAX_MODEL_BYTES).or_else(|m| fail(&src, m))?;
        let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
        if body.trim_ascii_start().first() == Some(&b'{') {
            let text = std::str::from_utf8(body).or_else(|_| fail(&src, "not UTF-8 text"))?;
            ModelFile::from_json(text, &src)
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
        let y = self.loss.predict(&self.outputs(x), self.classes().len());
        self.prep.target.to_target(y)
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
        let out = self.outputs(x);
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

fn is_safetensors(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
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

/// Parses a file's JSON (or the safetensors metadata, `what` saying which)
/// into its schema: first whether it is a micrograd model at all, then
/// every field, with serde's line and column on error.
fn parse_file_json(text: &str, source: &str, what: &str) -> Result<FileJson, ModelError> {
    let j: Json = serde_json::from_str(text).map_err(|e| ModelError {
        source: source.to_owned(),
        message: format!("{what}not valid JSON: {e}"),
    })?;
    if j["format"] != FORMAT {
        return fail(
            source,
            format!("{what}not a micrograd model (\"format\" must be \"{FORMAT}\")"),
        );
    }
    if !(j["version"] == 1 || j["version"] == VERSION) {
        return fail(
            source,
            format!(
                "{what}unsupported version {} (this build reads versions 1 and {VERSION})",
                j["version"]
            ),
        );
    }
    serde_json::from_str(text).map_err(|e| ModelError {
        source: source.to_owned(),
        message: format!("{what}{e}"),
    })
}

/// Checks a parsed file's architecture and preprocessing against each
/// other, reads each layer's numbers with `weights`, and builds the model.
fn build(
    file: FileJson,
    source: &str,
    weights: impl Fn(usize, &Shape) -> Result<(Vec<Vec<f64>>, Option<Vec<f64>>), ModelError>,
) -> Result<ModelFile, ModelError> {
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
    let mut layers = Vec::with_capacity(shapes.len());
    for (k, s) in shapes.iter().enumerate() {
        let (weight, bias) = weights(k, s)?;
        let neurons = weight
            .into_iter()
            .enumerate()
            .map(|(j, w)| Neuron {
                w: w.into_iter().map(Value::new).collect(),
                b: bias.as_ref().map(|b| Value::new(b[j])),
                act: s.act,
            })
            .collect();
        layers.push(Layer { neurons });
    }
    let model = ModelFile {
        model: MLP { layers },
        prep,
        loss,
    };
    if model.model.parameter_data().iter().any(|v| !v.is_finite()) {
        return fail(source, "a weight is not a finite number");
    }
    Ok(model)
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

fn vector(v: Option<&[f64]>, n: usize) -> Result<Vec<f64>, String> {
    let v = v.ok_or("missing")?;
    if v.len() != n {
        return Err(format!("expected {n} numbers, found {}", v.len()));
    }
    Ok(v.to_vec())
}

fn matrix(m: Option<&[Vec<f64>]>, rows: usize, cols: usize) -> Result<Vec<Vec<f64>>, String> {
    let m = m.ok_or("missing")?;
    if m.len() != rows {
        return Err(format!("expected {rows} rows, found {}", m.len()));
    }
    m.iter()
        .enumerate()
        .map(|(r, row)| vector(Some(row), cols).map_err(|e| format!("row {r}: {e}")))
        .collect()
}
