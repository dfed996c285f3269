//! The safetensors model file: the weights as PyTorch's `nn.Sequential`
//! state_dict, taking raw numeric columns, with the architecture and the
//! preprocessing in the header's metadata.

use serde_json::{Map, Value as Json, json};

use super::json::parse_file_json;
use super::{
    Activation, FORMAT, Input, LayerData, ModelError, ModelFile, Preprocess, Target, Weights,
    assemble, check_architecture, fail, sequential_keys,
};

/// Whether `bytes` are laid out as a safetensors file: an 8-byte
/// little-endian header length n that fits in the file, and a header that
/// starts with `{` after any spaces. (A JSON file's first 8 bytes, read as
/// a length, are far beyond any file: the eighth byte, printable, counts
/// 2^56 times.)
pub(super) fn has_header(bytes: &[u8]) -> bool {
    let Some((len, rest)) = bytes.split_first_chunk::<8>() else {
        return false;
    };
    let n = u64::from_le_bytes(*len);
    n <= rest.len() as u64 && rest[..n as usize].trim_ascii_start().first() == Some(&b'{')
}

impl ModelFile {
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
    /// takes raw numbers, so the model read has no scaling left to apply:
    /// only the input means are kept (std 1), with the first layer's biases
    /// adjusted to match, so that an empty cell can still be filled with
    /// the training mean.
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
        let tensor = |name: &str, shape: &[usize]| {
            read_tensor(&header, data, name, shape).or_else(|m| fail(source, m))
        };
        let arch = check_architecture(file, source)?;
        let mut weights = Vec::with_capacity(arch.shapes.len());
        for (s, key) in arch.shapes.iter().zip(keys) {
            let weight = tensor(&format!("{key}.weight"), &[s.nout, s.nin])?;
            let bias = if s.bias {
                Some(tensor(&format!("{key}.bias"), &[s.nout])?)
            } else {
                None
            };
            weights.push(Weights { weight, bias });
        }
        let unfolded = folded
            && weights
                .first_mut()
                .is_some_and(|w| unfold_means(&arch.prep, w));
        let mut model = assemble(arch, weights, source)?;
        if folded {
            let inputs = model.prep.inputs.clone();
            model.prep.clear_scaling();
            if unfolded {
                model.prep.inputs = inputs.into_iter().map(keep_mean).collect();
            }
        }
        Ok(model)
    }
}

/// A folded network takes raw numbers, so an empty cell filled with the
/// input 0 (see [`Impute`](crate::data::Impute)) would be a raw 0, not the
/// training mean. So the input means are kept (inputs x − μ, std 1) and
/// the first layer's biases get back what folding took from them (b + Σ
/// w·μ): the same network, in which an input of 0 is the training mean
/// again. Returns whether it was done: it needs a first layer with a bias
/// (folding a mean other than 0 needs one too).
fn unfold_means(prep: &Preprocess, first: &mut Weights) -> bool {
    let Some(bias) = first.bias.as_mut() else {
        return false;
    };
    let nin = prep.nfeatures();
    let mut i = 0;
    for input in &prep.inputs {
        match input {
            Input::Numeric { mean, .. } => {
                if *mean != 0.0 {
                    for (k, b) in bias.iter_mut().enumerate() {
                        *b += first.weight[k * nin + i] * mean;
                    }
                }
                i += 1;
            }
            Input::OneHot { categories, .. } => i += categories.len(),
        }
    }
    true
}

/// A numeric input's mean, without its scale (folded into the weights).
fn keep_mean(input: Input) -> Input {
    match input {
        Input::Numeric { column, mean, .. } => Input::Numeric {
            column,
            mean,
            std: 1.0,
        },
        other => other,
    }
}

/// The tensor `name` of a safetensors file: checked to have `shape`, a
/// dtype read here, offsets inside `data`, and finite values.
fn read_tensor(
    header: &Json,
    data: &[u8],
    name: &str,
    shape: &[usize],
) -> Result<Vec<f64>, String> {
    let t = &header[name];
    if t.is_null() {
        return Err(format!("no tensor '{name}'"));
    }
    let got: Option<Vec<usize>> = t["shape"]
        .as_array()
        .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect());
    if got.as_deref() != Some(shape) {
        return Err(format!(
            "tensor '{name}' has shape {}, expected {shape:?}",
            t["shape"]
        ));
    }
    let width = match t["dtype"].as_str() {
        Some("F64") => 8,
        Some("F32") => 4,
        other => {
            return Err(format!(
                "tensor '{name}' has dtype {other:?}; F64 or F32 expected"
            ));
        }
    };
    let offs: Option<Vec<u64>> = t["data_offsets"]
        .as_array()
        .and_then(|a| a.iter().map(Json::as_u64).collect());
    let count: usize = shape.iter().product();
    let (b, e) = match offs.as_deref() {
        Some(&[b, e]) if b <= e && e <= data.len() as u64 => (b as usize, e as usize),
        _ => {
            return Err(format!(
                "tensor '{name}' has bad data_offsets {}",
                t["data_offsets"]
            ));
        }
    };
    if e - b != count * width {
        return Err(format!(
            "tensor '{name}' holds {} bytes, expected {}",
            e - b,
            count * width
        ));
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
        return Err(format!("tensor '{name}' holds a value that is not finite"));
    }
    Ok(values)
}
