//! The ONNX writer, checked without Python: the file is decoded with prost
//! and its graph run by a small interpreter of the operators it uses
//! (written from ONNX's operator definitions), against `predict_rows` on
//! the same cells, and against ONNX Runtime's numbers for one model, frozen
//! here (python/tests/test_onnx_export.py runs ONNX Runtime itself).

mod common;

use common::{dir, micrograd, s, stderr};
use micrograd::data::{Impute, PrepOptions, Preprocess, Table};
use micrograd::nn::onnx::ModelProto;
use micrograd::nn::onnx::proto::{AttributeProto, NodeProto, TensorProto};
use micrograd::nn::{ModelFile, OnnxOptions};
use micrograd::{Activation, Loss, MLP};
use prost::Message;
use std::collections::HashMap;

/// A tensor of at most two dimensions.
#[derive(Clone, Debug)]
struct Tensor {
    dims: Vec<usize>,
    v: V,
}

#[derive(Clone, Debug)]
enum V {
    F(Vec<f64>),
    I(Vec<i64>),
    B(Vec<bool>),
    S(Vec<String>),
}

impl Tensor {
    fn f(&self) -> &[f64] {
        match &self.v {
            V::F(x) => x,
            v => panic!("expected numbers, got {v:?}"),
        }
    }
    fn i(&self) -> &[i64] {
        match &self.v {
            V::I(x) => x,
            v => panic!("expected int64, got {v:?}"),
        }
    }
    fn b(&self) -> &[bool] {
        match &self.v {
            V::B(x) => x,
            v => panic!("expected bool, got {v:?}"),
        }
    }
    fn s(&self) -> &[String] {
        match &self.v {
            V::S(x) => x,
            v => panic!("expected strings, got {v:?}"),
        }
    }
}

/// numpy's broadcasting of shapes.
fn broadcast(shapes: &[&[usize]]) -> Vec<usize> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap();
    (0..rank)
        .map(|k| {
            let dim = |s: &[usize]| {
                let off = rank - s.len();
                if k < off { 1 } else { s[k - off] }
            };
            shapes.iter().map(|s| dim(s)).max().unwrap()
        })
        .collect()
}

/// The flat index into a tensor of shape `dims` of the output element
/// `flat` of shape `out`.
fn source(dims: &[usize], out: &[usize], flat: usize) -> usize {
    let (mut rest, mut idx, mut stride) = (flat, 0, 1);
    for k in (0..out.len()).rev() {
        let i = rest % out[k];
        rest /= out[k];
        let off = out.len() - dims.len();
        if k >= off {
            let d = dims[k - off];
            idx += if d == 1 { 0 } else { i * stride };
            stride *= d;
        }
    }
    idx
}

fn zip<A: Copy, B: Copy, C>(
    a: (&[A], &[usize]),
    b: (&[B], &[usize]),
    f: impl Fn(A, B) -> C,
) -> (Vec<usize>, Vec<C>) {
    let out = broadcast(&[a.1, b.1]);
    let n = out.iter().product();
    let v = (0..n)
        .map(|k| f(a.0[source(a.1, &out, k)], b.0[source(b.1, &out, k)]))
        .collect();
    (out, v)
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn int(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}

fn constant(t: &TensorProto) -> Tensor {
    let dims = t.dims.iter().map(|&d| d as usize).collect();
    let v = match t.data_type {
        11 => V::F(t.double_data.clone()),
        1 => V::F(t.float_data.iter().map(|&x| f64::from(x)).collect()),
        7 => V::I(t.int64_data.clone()),
        8 => V::S(
            t.string_data
                .iter()
                .map(|s| String::from_utf8(s.clone()).unwrap())
                .collect(),
        ),
        d => panic!("constant of type {d}"),
    };
    Tensor { dims, v }
}

fn unary(x: &Tensor, f: impl Fn(f64) -> f64) -> Tensor {
    Tensor {
        dims: x.dims.clone(),
        v: V::F(x.f().iter().map(|&a| f(a)).collect()),
    }
}

fn binary(a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> Tensor {
    let (dims, v) = zip((a.f(), &a.dims), (b.f(), &b.dims), f);
    Tensor { dims, v: V::F(v) }
}

/// Runs one node on its inputs.
fn eval(n: &NodeProto, x: &[&Tensor]) -> Tensor {
    let rows = |t: &Tensor| t.dims[0];
    match n.op_type.as_str() {
        "Sub" => binary(x[0], x[1], |a, b| a - b),
        "Div" => binary(x[0], x[1], |a, b| a / b),
        "Mul" => binary(x[0], x[1], |a, b| a * b),
        "Add" => binary(x[0], x[1], |a, b| a + b),
        "Tanh" => unary(x[0], f64::tanh),
        "Relu" => unary(x[0], |a| a.max(0.0)),
        "Sigmoid" => unary(x[0], |a| 1.0 / (1.0 + (-a).exp())),
        "Identity" => x[0].clone(),
        "IsNaN" => Tensor {
            dims: x[0].dims.clone(),
            v: V::B(x[0].f().iter().map(|a| a.is_nan()).collect()),
        },
        "Greater" => {
            let (dims, v) = zip((x[0].f(), &x[0].dims), (x[1].f(), &x[1].dims), |a, b| a > b);
            Tensor { dims, v: V::B(v) }
        }
        "Equal" => {
            let (dims, v) = zip((x[0].i(), &x[0].dims), (x[1].i(), &x[1].dims), |a, b| {
                a == b
            });
            Tensor { dims, v: V::B(v) }
        }
        "Where" => {
            let (c, a, b) = (x[0], x[1], x[2]);
            let dims = broadcast(&[&c.dims, &a.dims, &b.dims]);
            let n = dims.iter().product();
            let v = (0..n)
                .map(|k| {
                    let pick = c.b()[source(&c.dims, &dims, k)];
                    let t = if pick { a } else { b };
                    t.f()[source(&t.dims, &dims, k)]
                })
                .collect();
            Tensor { dims, v: V::F(v) }
        }
        "Cast" => {
            let b = x[0].b();
            let v = match int(n, "to", 0) {
                1 | 11 => V::F(b.iter().map(|&t| f64::from(u8::from(t))).collect()),
                7 => V::I(b.iter().map(|&t| i64::from(t)).collect()),
                to => panic!("Cast to {to}"),
            };
            Tensor {
                dims: x[0].dims.clone(),
                v,
            }
        }
        "LabelEncoder" => {
            let keys = &attr(n, "keys_strings").unwrap().strings;
            let values = &attr(n, "values_int64s").unwrap().ints;
            let default = int(n, "default_int64", -1);
            let v = x[0]
                .s()
                .iter()
                .map(|s| {
                    let k = keys.iter().position(|k| k == s.as_bytes());
                    k.map_or(default, |k| values[k])
                })
                .collect();
            Tensor {
                dims: x[0].dims.clone(),
                v: V::I(v),
            }
        }
        "Concat" => {
            assert_eq!(int(n, "axis", 0), 1);
            let n_rows = rows(x[0]);
            let cols: usize = x.iter().map(|t| t.dims[1]).sum();
            let mut v = Vec::with_capacity(n_rows * cols);
            for r in 0..n_rows {
                for t in x {
                    let c = t.dims[1];
                    v.extend_from_slice(&t.f()[r * c..(r + 1) * c]);
                }
            }
            Tensor {
                dims: vec![n_rows, cols],
                v: V::F(v),
            }
        }
        "Gemm" => {
            assert_eq!(int(n, "transB", 0), 1);
            let (a, w) = (x[0], x[1]);
            let (rows_, k, m) = (a.dims[0], a.dims[1], w.dims[0]);
            assert_eq!(w.dims[1], k);
            let mut v = vec![0.0; rows_ * m];
            for r in 0..rows_ {
                for o in 0..m {
                    let dot: f64 = (0..k).map(|i| a.f()[r * k + i] * w.f()[o * k + i]).sum();
                    v[r * m + o] = dot + x.get(2).map_or(0.0, |b| b.f()[o]);
                }
            }
            Tensor {
                dims: vec![rows_, m],
                v: V::F(v),
            }
        }
        "Softmax" => {
            assert_eq!(int(n, "axis", -1), 1);
            let c = x[0].dims[1];
            let v = x[0]
                .f()
                .chunks(c)
                .flat_map(|row| {
                    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = row.iter().map(|a| (a - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    e.into_iter().map(move |a| a / z)
                })
                .collect();
            Tensor {
                dims: x[0].dims.clone(),
                v: V::F(v),
            }
        }
        "ArgMax" => {
            assert_eq!((int(n, "axis", 0), int(n, "keepdims", 1)), (1, 0));
            let c = x[0].dims[1];
            let v = x[0]
                .f()
                .chunks(c)
                .map(|row| {
                    // the first of the largest (NaN is never larger)
                    let mut best = 0;
                    for (k, &a) in row.iter().enumerate() {
                        if a > row[best] {
                            best = k;
                        }
                    }
                    best as i64
                })
                .collect();
            Tensor {
                dims: vec![rows(x[0])],
                v: V::I(v),
            }
        }
        "Reshape" => {
            assert_eq!(x[1].i(), [-1]);
            let n: usize = x[0].dims.iter().product();
            Tensor {
                dims: vec![n],
                v: x[0].v.clone(),
            }
        }
        "Gather" => {
            assert_eq!(int(n, "axis", 0), 0);
            let v = x[1]
                .i()
                .iter()
                .map(|&k| x[0].s()[k as usize].clone())
                .collect();
            Tensor {
                dims: x[1].dims.clone(),
                v: V::S(v),
            }
        }
        op => panic!("the interpreter does not know {op}"),
    }
}

/// Runs the model on named inputs; returns every graph output.
fn run(m: &ModelProto, inputs: HashMap<String, Tensor>) -> HashMap<String, Tensor> {
    let g = m.graph.as_ref().unwrap();
    let mut env: HashMap<String, Tensor> = inputs;
    for t in &g.initializer {
        env.insert(t.name.clone(), constant(t));
    }
    for n in &g.node {
        let x: Vec<&Tensor> = n.input.iter().map(|i| &env[i]).collect();
        let y = eval(n, &x);
        env.insert(n.output[0].clone(), y);
    }
    g.output
        .iter()
        .map(|o| (o.name.clone(), env[&o.name].clone()))
        .collect()
}

/// The table's columns as the graph's inputs: numbers (NaN for an empty
/// cell) or strings, each `[N, 1]`.
fn feeds(m: &ModelProto, table: &Table) -> HashMap<String, Tensor> {
    let g = m.graph.as_ref().unwrap();
    g.input
        .iter()
        .map(|i| {
            let c = table.column(&i.name).unwrap();
            let cells: Vec<&str> = table.rows().map(|r| r.cell(c)).collect();
            let ty = match &i.r#type.as_ref().unwrap().value {
                Some(micrograd::nn::onnx::proto::type_proto::Value::TensorType(t)) => t.elem_type,
                _ => panic!("not a tensor"),
            };
            let v = if ty == 8 {
                V::S(cells.iter().map(|s| s.to_string()).collect())
            } else {
                V::F(
                    cells
                        .iter()
                        .map(|s| s.parse().unwrap_or(f64::NAN))
                        .collect(),
                )
            };
            let t = Tensor {
                dims: vec![cells.len(), 1],
                v,
            };
            (i.name.clone(), t)
        })
        .collect()
}

const TRAIN: &str = "\
size,colour,weight,kind
1.5,red,10,a
2.5,blue,,b
3.0,,12,a
0.5,green,9,c
4.0,red,14,b
2.0,blue,11,c
";

/// New rows: empty cells spelled in several ways, a colour never seen.
const NEW: &str = "\
size,colour,weight,kind
1.0,red,10,a
,NA,n/a,b
3.5,purple,13,c
2.2,?,NaN,a
0.1,blue,null,b
";

fn model(loss: Loss, hidden: Activation, bias: bool, nouts: &[usize]) -> (ModelFile, Table) {
    let t = Table::parse(TRAIN, "train.csv").unwrap();
    let rows: Vec<usize> = (0..6).collect();
    let (prep, _) = Preprocess::fit(&t, "kind", &rows, &PrepOptions::default()).unwrap();
    let mlp = MLP::builder(prep.nfeatures(), nouts)
        .hidden(hidden)
        .output(Activation::Linear)
        .bias(bias)
        .seed(7)
        .build();
    let file = ModelFile {
        model: mlp,
        prep,
        loss,
    };
    (file, Table::parse(NEW, "new.csv").unwrap())
}

/// ONNX's outputs beside `predict_rows` on the same rows.
fn check(file: &ModelFile, new: &Table, opts: OnnxOptions, tol: f64) -> HashMap<String, Tensor> {
    let m = ModelProto::decode(&file.to_onnx(opts).unwrap()[..]).unwrap();
    let out = run(&m, feeds(&m, new));
    let rows: Vec<usize> = (0..new.len()).collect();
    let x: Vec<Vec<f64>> = rows
        .iter()
        .map(|&r| {
            let cells: Vec<&str> = file
                .prep
                .columns()
                .iter()
                .map(|c| new.cell(r, new.column(c).unwrap()))
                .collect();
            file.prep.encode_row(&cells).unwrap()
        })
        .collect();
    let ours = file.predict_rows(&x, true);
    if file.classes().is_empty() {
        for (p, v) in ours.iter().zip(out["value"].f()) {
            assert!(
                (p.value - v).abs() < tol * p.value.abs().max(1.0),
                "{p:?} {v}"
            );
        }
    } else {
        let labels: Vec<&str> = ours.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(out["label"].s(), labels);
        if let Some(probs) = out.get("probabilities") {
            let c = probs.dims[1];
            for (p, row) in ours.iter().zip(probs.f().chunks(c)) {
                for (a, b) in p.probabilities.as_ref().unwrap().iter().zip(row) {
                    assert!((a - b).abs() < tol, "{a} {b}");
                }
            }
        }
    }
    out
}

#[test]
fn every_loss_and_activation_agrees_with_predict() {
    for (loss, nouts) in [
        (Loss::CrossEntropy, &[4, 3][..]),
        (Loss::Svm, &[4, 1]),
        (Loss::Mse, &[1]),
    ] {
        for act in [Activation::Tanh, Activation::Relu, Activation::Sigmoid] {
            for bias in [true, false] {
                let (file, new) = model(loss, act, bias, nouts);
                check(&file, &new, OnnxOptions::default(), 1e-12);
                check(&file, &new, OnnxOptions { float32: true }, 1e-5);
            }
        }
    }
}

#[test]
fn regression_comes_out_in_the_targets_units() {
    let t = Table::parse("x,c,y\n1,a,100.5\n2,b,200.25\n3,a,330\n4,,410\n", "t.csv").unwrap();
    let (prep, _) = Preprocess::fit(&t, "y", &[0, 1, 2, 3], &PrepOptions::default()).unwrap();
    let mlp = MLP::builder(prep.nfeatures(), &[3, 1])
        .output(Activation::Linear)
        .seed(3)
        .build();
    let file = ModelFile {
        model: mlp,
        prep,
        loss: Loss::Mse,
    };
    let out = check(&file, &t, OnnxOptions::default(), 1e-12);
    assert!(
        out["value"].f().iter().all(|v| v.abs() > 10.0),
        "not scaled back: {out:?}"
    );
}

/// ONNX Runtime 1.32's outputs for `model(xent, tanh, bias, [4, 3])` on
/// `NEW`, computed once: the file this test leaves in
/// target/tmp/onnx_frozen.onnx, run by `onnxruntime.InferenceSession` with
/// NEW's columns (NaN for the empty numbers).
#[test]
fn onnx_runtimes_numbers_frozen() {
    let (file, new) = model(Loss::CrossEntropy, Activation::Tanh, true, &[4, 3]);
    let out = check(&file, &new, OnnxOptions::default(), 1e-12);
    std::fs::create_dir_all("target/tmp").unwrap();
    std::fs::write(
        "target/tmp/onnx_frozen.onnx",
        file.to_onnx(OnnxOptions::default()).unwrap(),
    )
    .unwrap();
    let frozen: [[f64; 3]; 5] = [
        [0.6645602146532604, 0.2128465959591275, 0.12259318938761192],
        [0.7171408842709911, 0.18672438944537456, 0.09613472628363436],
        [0.4034897229068408, 0.4294451182651363, 0.16706515882802284],
        [0.7137914443170044, 0.18829618652206068, 0.09791236916093497],
        [0.734500276495887, 0.167577993243687, 0.09792173026042601],
    ];
    let labels = ["a", "a", "b", "a", "a"];
    assert_eq!(out["label"].s(), labels);
    for (row, want) in out["probabilities"].f().chunks(3).zip(frozen) {
        for (a, b) in row.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{a} against ONNX Runtime's {b}");
        }
    }
}

#[test]
fn a_model_refusing_empty_cells_still_exports() {
    let (mut file, new) = model(Loss::CrossEntropy, Activation::Tanh, true, &[4, 3]);
    file.prep.impute = Impute::None;
    let m = ModelProto::decode(&file.to_onnx(OnnxOptions::default()).unwrap()[..]).unwrap();
    let out = run(&m, feeds(&m, &new));
    assert_eq!(out["label"].s().len(), 5);
}

/// `micrograd export --onnx` writes what `to_onnx` makes of the saved
/// model, double or float; bad paths and a flag without --onnx are errors.
#[test]
fn the_export_command_writes_the_models_graph() {
    let d = dir("export");
    let data = d.join("t.csv");
    std::fs::write(
        &data,
        TRAIN.to_string() + &TRAIN.lines().skip(1).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let model = d.join("m.json");
    let train = [
        "train",
        s(&data),
        "--target",
        "kind",
        "--epochs",
        "2",
        "--cv",
        "0",
    ];
    let o = micrograd(&[&train[..], &["--no-plots", "--quiet", "--save", s(&model)]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let file = ModelFile::load(&model).unwrap();
    let onnx = d.join("m.onnx");
    let export = ["export", "--model", s(&model), "--onnx", s(&onnx)];
    for (flags, float32) in [(&[][..], false), (&["--float32"][..], true)] {
        let o = micrograd(&[&export[..], flags].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("wrote "));
        assert_eq!(
            std::fs::read(&onnx).unwrap(),
            file.to_onnx(OnnxOptions { float32 }).unwrap()
        );
    }
    let o = micrograd(&["export", "--model", s(&model), "--float32"]);
    assert_eq!(o.status.code(), Some(2));
    let o = micrograd(&["export", "--model", s(&model), "--onnx", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("directory"), "{}", stderr(&o));
    let o = micrograd(&["predict", "--model", s(&onnx), s(&data)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("ONNX file is for other runtimes"),
        "{}",
        stderr(&o)
    );
}
