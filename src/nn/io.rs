//! Model files: JSON (architecture and weights, readable) and safetensors
//! (weights laid out as PyTorch's `nn.Sequential` state_dict).

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value as Json, json};

use super::{Activation, Layer, Loss, MLP, Neuron};
use crate::engine::Value;

/// A trained [`MLP`] with what it needs to be used again: its input
/// features, its target and classes, and the loss that reads its outputs.
///
/// ```
/// use micrograd::{Loss, MLP, nn::ModelFile};
/// let model = MLP::builder(2, &[3, 1]).seed(1).build();
/// let file = ModelFile {
///     model,
///     features: vec!["x1".into(), "x2".into()],
///     target: "y".into(),
///     classes: vec!["a".into(), "b".into()],
///     loss: Loss::Svm,
/// };
/// let json = file.to_json().unwrap();
/// let back = ModelFile::from_json(&json, "model.json").unwrap();
/// assert_eq!(back.to_json().unwrap(), json);
/// let st = file.to_safetensors().unwrap();
/// let back = ModelFile::from_safetensors(&st, "model.safetensors").unwrap();
/// assert_eq!(back.to_json().unwrap(), json);
/// ```
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// The network.
    pub model: MLP,
    /// Names of the input columns, in order.
    pub features: Vec<String>,
    /// Name of the target.
    pub target: String,
    /// Class names (empty for regression).
    pub classes: Vec<String>,
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

fn fail<T>(source: &str, message: impl Into<String>) -> Result<T, ModelError> {
    Err(ModelError {
        source: source.to_owned(),
        message: message.into(),
    })
}

/// One layer's numbers: `weight[out][in]`, `bias[out]`.
struct LayerData {
    act: Activation,
    weight: Vec<Vec<f64>>,
    bias: Option<Vec<f64>>,
}

impl ModelFile {
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

    /// The architecture and labels, without weights.
    fn header(&self, layers: &[LayerData]) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("format".into(), json!(FORMAT));
        m.insert("version".into(), json!(1));
        m.insert("features".into(), json!(self.features));
        m.insert("target".into(), json!(self.target));
        m.insert("classes".into(), json!(self.classes));
        m.insert("loss".into(), json!(self.loss.name()));
        m.insert(
            "layers".into(),
            Json::Array(
                layers
                    .iter()
                    .map(|l| {
                        json!({
                            "nin": l.weight.first().map_or(0, Vec::len),
                            "nout": l.weight.len(),
                            "activation": l.act.name(),
                            "bias": l.bias.is_some(),
                        })
                    })
                    .collect(),
            ),
        );
        m
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

    /// The model as pretty-printed JSON, weights included (`weight` is
    /// `[out][in]`, as in PyTorch). Errors if a weight is not finite.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, nn::ModelFile};
    /// let f = ModelFile { model: MLP::new(1, &[1]), features: vec!["x".into()],
    ///     target: "y".into(), classes: vec![], loss: Loss::Mse };
    /// assert!(f.to_json().unwrap().contains("\"format\": \"micrograd-mlp\""));
    /// ```
    pub fn to_json(&self) -> Result<String, String> {
        let layers = self.layers();
        Self::check_finite(&layers)?;
        let mut m = self.header(&layers);
        if let Some(Json::Array(ls)) = m.get_mut("layers") {
            for (j, l) in ls.iter_mut().zip(&layers) {
                j["weight"] = json!(l.weight);
                if let Some(b) = &l.bias {
                    j["bias_values"] = json!(b);
                }
            }
        }
        Ok(
            serde_json::to_string_pretty(&Json::Object(m)).expect("JSON of numbers and strings")
                + "\n",
        )
    }

    /// Reads a model from JSON; `source` names the file in errors.
    ///
    /// ```
    /// let e = micrograd::nn::ModelFile::from_json("{", "m.json").unwrap_err();
    /// assert!(e.message.starts_with("not valid JSON"));
    /// ```
    pub fn from_json(text: &str, source: &str) -> Result<ModelFile, ModelError> {
        let j: Json = serde_json::from_str(text).map_err(|e| ModelError {
            source: source.to_owned(),
            message: format!("not valid JSON: {e}"),
        })?;
        let (meta, shapes) = parse_header(&j, source)?;
        let layers = shapes
            .iter()
            .zip(j["layers"].as_array().into_iter().flatten())
            .enumerate()
            .map(|(k, (s, lj))| {
                s.read(
                    || {
                        matrix(&lj["weight"], s.nout, s.nin)
                            .or_else(|e| fail(source, format!("layers[{k}].weight: {e}")))
                    },
                    || {
                        vector(&lj["bias_values"], s.nout)
                            .or_else(|e| fail(source, format!("layers[{k}].bias_values: {e}")))
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(meta.with_layers(layers))
    }

    /// The model as safetensors: tensors named as the state_dict of
    /// `nn.Sequential(Linear, act, Linear, act, ..., Linear)` (`"0.weight"`
    /// `[out, in]`, `"0.bias"` `[out]`, `"2.weight"`, ...; an activation takes
    /// an index, a linear output does not), float64, little-endian; the
    /// architecture in the `__metadata__`. Errors if a weight is not finite.
    ///
    /// ```
    /// use micrograd::{Activation, Loss, MLP, nn::ModelFile};
    /// let model = MLP::builder(2, &[3, 1]).hidden(Activation::Relu).output(Activation::Linear).build();
    /// let f = ModelFile { model, features: vec!["a".into(), "b".into()],
    ///     target: "y".into(), classes: vec![], loss: Loss::Mse };
    /// let bytes = f.to_safetensors().unwrap();
    /// let text = String::from_utf8_lossy(&bytes);
    /// assert!(text.contains("\"0.weight\"") && text.contains("\"2.bias\""));
    /// ```
    pub fn to_safetensors(&self) -> Result<Vec<u8>, String> {
        let layers = self.layers();
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
        let arch = serde_json::to_string(&Json::Object(self.header(&layers))).expect("JSON");
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

    /// Reads a model from safetensors written by [`to_safetensors`](Self::to_safetensors)
    /// (F64 or F32 tensors); every size and offset is checked.
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
        let arch: Json = serde_json::from_str(arch_text).map_err(|e| ModelError {
            source: source.to_owned(),
            message: format!("__metadata__.model is not valid JSON: {e}"),
        })?;
        let (meta, shapes) = parse_header(&arch, source)?;
        let keys = sequential_keys(shapes.iter().map(|s| s.act));
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
        let layers = shapes
            .iter()
            .zip(keys)
            .map(|(s, key)| {
                s.read(
                    || {
                        let w = tensor(&format!("{key}.weight"), &[s.nout, s.nin])?;
                        Ok(w.chunks(s.nin).map(<[f64]>::to_vec).collect())
                    },
                    || tensor(&format!("{key}.bias"), &[s.nout]),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(meta.with_layers(layers))
    }

    /// Writes the model to `path`: safetensors if it ends in `.safetensors`,
    /// JSON otherwise; through a temporary file, so a failure leaves no partial file.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, nn::ModelFile};
    /// let f = ModelFile { model: MLP::new(1, &[1]), features: vec!["x".into()],
    ///     target: "y".into(), classes: vec![], loss: Loss::Mse };
    /// let p = std::env::temp_dir().join(format!("mg-doc-model-{}.json", std::process::id()));
    /// f.save(&p).unwrap();
    /// let back = ModelFile::load(&p).unwrap();
    /// assert_eq!(back.predict(&[0.3]), f.predict(&[0.3]));
    /// ```
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let src = path.display().to_string();
        let bytes = if is_safetensors(path) {
            self.to_safetensors()
        } else {
            self.to_json().map(String::into_bytes)
        }
        .or_else(|m| fail(&src, m))?;
        crate::write_atomic(path, &bytes).or_else(|m| fail(&src, m))
    }

    /// Reads a model saved by [`save`](Self::save) (the format from the file's contents).
    ///
    /// ```
    /// let e = micrograd::nn::ModelFile::load("no/such/model.json".as_ref()).unwrap_err();
    /// assert!(e.to_string().starts_with("no/such/model.json: cannot read"));
    /// ```
    pub fn load(path: &Path) -> Result<ModelFile, ModelError> {
        let src = path.display().to_string();
        let bytes = std::fs::read(path).or_else(|e| fail(&src, format!("cannot read: {e}")))?;
        if bytes.first() == Some(&b'{') {
            let text = String::from_utf8(bytes).or_else(|_| fail(&src, "not UTF-8 text"))?;
            ModelFile::from_json(&text, &src)
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

    /// The model's outputs for one sample, read as its target: a class name,
    /// or a number for regression.
    ///
    /// ```
    /// use micrograd::{Loss, MLP, nn::ModelFile};
    /// let f = ModelFile { model: MLP::new(1, &[1]), features: vec!["x".into()],
    ///     target: "y".into(), classes: vec![], loss: Loss::Mse };
    /// assert!(f.predict(&[0.5]).parse::<f64>().is_ok());
    /// ```
    pub fn predict(&self, x: &[f64]) -> String {
        use super::Module;
        let out = self.model.predict(x);
        let y = self.loss.predict(&out, self.classes.len());
        crate::data::class_name(&self.classes, y)
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

struct Shape {
    nin: usize,
    nout: usize,
    act: Activation,
    bias: bool,
}

impl Shape {
    /// This layer's numbers, read by `weight` and, if it has a bias, `bias`.
    fn read(
        &self,
        weight: impl FnOnce() -> Result<Vec<Vec<f64>>, ModelError>,
        bias: impl FnOnce() -> Result<Vec<f64>, ModelError>,
    ) -> Result<LayerData, ModelError> {
        Ok(LayerData {
            act: self.act,
            weight: weight()?,
            bias: if self.bias { Some(bias()?) } else { None },
        })
    }
}

/// Everything but the weights, ready to take them.
struct Meta {
    features: Vec<String>,
    target: String,
    classes: Vec<String>,
    loss: Loss,
}

impl Meta {
    fn with_layers(self, layers: Vec<LayerData>) -> ModelFile {
        let layers = layers
            .into_iter()
            .map(|l| {
                let biases = l.bias.map(|b| b.into_iter().map(Some).collect::<Vec<_>>());
                let neurons = l
                    .weight
                    .into_iter()
                    .enumerate()
                    .map(|(k, w)| Neuron {
                        w: w.into_iter().map(Value::new).collect(),
                        b: biases.as_ref().and_then(|b| b[k]).map(Value::new),
                        act: l.act,
                    })
                    .collect();
                Layer { neurons }
            })
            .collect();
        ModelFile {
            model: MLP { layers },
            features: self.features,
            target: self.target,
            classes: self.classes,
            loss: self.loss,
        }
    }
}

fn strings(j: &Json, what: &str, source: &str) -> Result<Vec<String>, ModelError> {
    j.as_array()
        .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| ModelError {
            source: source.to_owned(),
            message: format!("'{what}' must be a list of strings"),
        })
}

fn parse_header(j: &Json, source: &str) -> Result<(Meta, Vec<Shape>), ModelError> {
    if j["format"] != FORMAT {
        return fail(
            source,
            format!("not a micrograd model (\"format\" must be \"{FORMAT}\")"),
        );
    }
    if j["version"] != 1 {
        return fail(
            source,
            format!(
                "unsupported version {} (this build reads version 1)",
                j["version"]
            ),
        );
    }
    let features = strings(&j["features"], "features", source)?;
    let classes = strings(&j["classes"], "classes", source)?;
    let target = j["target"].as_str().unwrap_or("y").to_owned();
    let loss: Loss = j["loss"]
        .as_str()
        .unwrap_or("")
        .parse()
        .or_else(|e: String| fail(source, format!("'loss': {e}")))?;
    let layers = j["layers"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ModelError {
            source: source.to_owned(),
            message: "'layers' must be a non-empty list".into(),
        })?;
    let mut shapes = Vec::with_capacity(layers.len());
    for (k, l) in layers.iter().enumerate() {
        let size = |f: &str| -> Result<usize, ModelError> {
            match l[f].as_u64() {
                Some(n) if (1..=1_000_000).contains(&n) => Ok(n as usize),
                _ => fail(
                    source,
                    format!("layers[{k}].{f} must be a whole number from 1 to 1000000"),
                ),
            }
        };
        let (nin, nout) = (size("nin")?, size("nout")?);
        let act: Activation = l["activation"]
            .as_str()
            .unwrap_or("")
            .parse()
            .or_else(|e: String| fail(source, format!("layers[{k}].activation: {e}")))?;
        let bias = l["bias"].as_bool().ok_or_else(|| ModelError {
            source: source.to_owned(),
            message: format!("layers[{k}].bias must be true or false"),
        })?;
        let want_in = if k == 0 {
            features.len()
        } else {
            shapes.last().map_or(0, |s: &Shape| s.nout)
        };
        if nin != want_in {
            let what = if k == 0 {
                "features".to_owned()
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
            bias,
        });
    }
    let nout = shapes.last().map_or(0, |s| s.nout);
    if nout != loss.outputs(classes.len()) {
        return fail(
            source,
            format!(
                "the last layer has {nout} outputs; loss {} with {} classes needs {}",
                loss.name(),
                classes.len(),
                loss.outputs(classes.len())
            ),
        );
    }
    Ok((
        Meta {
            features,
            target,
            classes,
            loss,
        },
        shapes,
    ))
}

fn vector(j: &Json, n: usize) -> Result<Vec<f64>, String> {
    let a = j.as_array().ok_or("missing, or not a list")?;
    if a.len() != n {
        return Err(format!("expected {n} numbers, found {}", a.len()));
    }
    a.iter()
        .enumerate()
        .map(|(i, v)| v.as_f64().ok_or(format!("item {i} is not a number")))
        .collect()
}

fn matrix(j: &Json, rows: usize, cols: usize) -> Result<Vec<Vec<f64>>, String> {
    let a = j.as_array().ok_or("missing, or not a list of rows")?;
    if a.len() != rows {
        return Err(format!("expected {rows} rows, found {}", a.len()));
    }
    a.iter()
        .enumerate()
        .map(|(r, row)| vector(row, cols).map_err(|e| format!("row {r}: {e}")))
        .collect()
}
