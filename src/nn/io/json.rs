//! The JSON model file. It is read in passes over the text, none of which
//! builds a tree of it: whether it is a micrograd model (its `format` and
//! `version`), then its architecture with the weights skipped, checked, and
//! only then the weights, straight into buffers of the sizes the
//! architecture declares, refused as soon as a row runs past its size. So
//! reading takes a fraction of the file's size on top of the file itself.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use super::{
    Architecture, FORMAT, FileJson, ModelError, ModelFile, Shape, VERSION, Weights, assemble,
    check_architecture, fail,
};

impl ModelFile {
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

    /// Reads a model from JSON; `source` names the file in errors. Sizes
    /// are checked before weights are read, and the weights are read
    /// without an intermediate tree.
    ///
    /// ```
    /// let e = micrograd::nn::ModelFile::from_json("{", "m.json").unwrap_err();
    /// assert!(e.message.starts_with("not valid JSON"));
    /// ```
    pub fn from_json(text: &str, source: &str) -> Result<ModelFile, ModelError> {
        let (arch, weights) = read(text, source)?;
        assemble(arch, weights, source)
    }
}

/// Reads a JSON model's checked architecture, then its weights.
pub(super) fn read(text: &str, source: &str) -> Result<(Architecture, Vec<Weights>), ModelError> {
    let file = parse_file_json(text, source, "")?;
    let arch = check_architecture(file, source)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let weights = FileWeights(&arch.shapes)
        .deserialize(&mut de)
        .and_then(|w| de.end().map(|()| w))
        .map_err(|e| ModelError {
            source: source.to_owned(),
            message: e.to_string(),
        })?;
    Ok((arch, weights))
}

/// The two fields that say whether a file is a micrograd model at all.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    format: Option<Json>,
    #[serde(default)]
    version: Option<Json>,
}

/// Parses a file's JSON (or the safetensors metadata, `what` saying which)
/// into its schema, weights skipped: first whether it is a micrograd model
/// at all, then every field, with serde's line and column on error.
pub(super) fn parse_file_json(
    text: &str,
    source: &str,
    what: &str,
) -> Result<FileJson, ModelError> {
    use serde_json::error::Category;
    let probe = match serde_json::from_str::<Probe>(text) {
        Ok(p) => Some(p),
        Err(e) if matches!(e.classify(), Category::Syntax | Category::Eof) => {
            return fail(source, format!("{what}not valid JSON: {e}"));
        }
        Err(_) => None, // valid JSON, but not an object with those fields
    };
    let format = probe.as_ref().and_then(|p| p.format.as_ref());
    if format.and_then(Json::as_str) != Some(FORMAT) {
        return fail(
            source,
            format!("{what}not a micrograd model (\"format\" must be \"{FORMAT}\")"),
        );
    }
    let version = probe.and_then(|p| p.version).unwrap_or(Json::Null);
    if !(version == 1 || version == VERSION) {
        return fail(
            source,
            format!(
                "{what}unsupported version {version} (this build reads versions 1 and {VERSION})"
            ),
        );
    }
    serde_json::from_str(text).map_err(|e| ModelError {
        source: source.to_owned(),
        message: format!("{what}{e}"),
    })
}

/// The whole file, for its `layers`' weights; other fields are skipped.
struct FileWeights<'a>(&'a [Shape]);

impl<'de> DeserializeSeed<'de> for FileWeights<'_> {
    type Value = Vec<Weights>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileWeights<'_> {
    type Value = Vec<Weights>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a micrograd model")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut layers = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "layers" {
                layers = Some(map.next_value_seed(LayersWeights(self.0))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        layers.ok_or_else(|| de::Error::missing_field("layers"))
    }
}

/// The `layers` list, layer by layer.
struct LayersWeights<'a>(&'a [Shape]);

impl<'de> DeserializeSeed<'de> for LayersWeights<'_> {
    type Value = Vec<Weights>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LayersWeights<'_> {
    type Value = Vec<Weights>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of {} layers", self.0.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(self.0.len());
        for (k, shape) in self.0.iter().enumerate() {
            match seq.next_element_seed(LayerWeights { k, shape })? {
                Some(w) => out.push(w),
                None => return Err(de::Error::invalid_length(k, &self)),
            }
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(self.0.len() + 1, &self));
        }
        Ok(out)
    }
}

/// One layer's `weight` and `bias_values`.
struct LayerWeights<'a> {
    k: usize,
    shape: &'a Shape,
}

impl<'de> DeserializeSeed<'de> for LayerWeights<'_> {
    type Value = Weights;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LayerWeights<'_> {
    type Value = Weights;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "layers[{}] as an object", self.k)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (k, s) = (self.k, self.shape);
        let (mut weight, mut bias) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "weight" => {
                    let mut flat = Vec::with_capacity(s.nout * s.nin);
                    let name = format!("layers[{k}].weight");
                    map.next_value_seed(Numbers::matrix(&name, s.nout, s.nin, &mut flat))?;
                    weight = Some(flat);
                }
                "bias_values" if s.bias => {
                    let mut flat = Vec::with_capacity(s.nout);
                    let name = format!("layers[{k}].bias_values");
                    map.next_value_seed(Numbers::vector(&name, s.nout, &mut flat))?;
                    bias = Some(flat);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |f: &str| de::Error::custom(format!("layers[{k}].{f}: missing"));
        let weight = weight.ok_or_else(|| missing("weight"))?;
        if s.bias && bias.is_none() {
            return Err(missing("bias_values"));
        }
        Ok(Weights { weight, bias })
    }
}

/// A list of `len` numbers (`rows` is `None`), or of `len` rows of
/// `cols` numbers, appended to `out`, which has room for them all: one
/// more is an error before it is stored.
struct Numbers<'a> {
    name: &'a str,
    len: usize,
    /// For a matrix: the row length, and the row this list is (if a row).
    cols: Option<(usize, Option<usize>)>,
    out: &'a mut Vec<f64>,
}

impl<'a> Numbers<'a> {
    fn matrix(name: &'a str, rows: usize, cols: usize, out: &'a mut Vec<f64>) -> Self {
        Numbers {
            name,
            len: rows,
            cols: Some((cols, None)),
            out,
        }
    }

    fn vector(name: &'a str, len: usize, out: &'a mut Vec<f64>) -> Self {
        Numbers {
            name,
            len,
            cols: None,
            out,
        }
    }

    /// `"layers[0].weight: row 1: expected 2 numbers, found 3"`, counting
    /// the rest of the list if not at its end (without keeping it).
    fn wrong_length<'de, A: SeqAccess<'de>>(&self, found: usize, rest: Option<A>) -> A::Error {
        let mut found = found;
        if let Some(mut seq) = rest {
            while let Ok(Some(_)) = seq.next_element::<IgnoredAny>() {
                found += 1;
            }
        }
        let what = match self.cols {
            Some((_, None)) => "rows",
            _ => "numbers",
        };
        let row = match self.cols {
            Some((_, Some(r))) => format!("row {r}: "),
            _ => String::new(),
        };
        de::Error::custom(format!(
            "{}: {row}expected {} {what}, found {found}",
            self.name, self.len
        ))
    }
}

impl<'de> DeserializeSeed<'de> for Numbers<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Numbers<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.cols {
            Some((cols, None)) => write!(f, "{}: {} rows of {cols} numbers", self.name, self.len),
            Some((_, Some(r))) => write!(f, "{}: row {r}: {} numbers", self.name, self.len),
            None => write!(f, "{}: {} numbers", self.name, self.len),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for n in 0..self.len {
            let got = match self.cols {
                Some((cols, None)) => {
                    let row = Numbers {
                        name: self.name,
                        len: cols,
                        cols: Some((cols, Some(n))),
                        out: &mut *self.out,
                    };
                    seq.next_element_seed(row)?.is_some()
                }
                _ => seq
                    .next_element::<f64>()?
                    .map(|x| self.out.push(x))
                    .is_some(),
            };
            if !got {
                return Err(self.wrong_length::<A>(n, None));
            }
        }
        // one more is an error, found without keeping it
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(self.wrong_length(self.len + 1, Some(seq)));
        }
        Ok(())
    }
}
