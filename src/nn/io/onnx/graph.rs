//! A small builder for an ONNX graph: nodes appended in order, constants
//! kept as initializers, and names that never collide with the table's
//! column names (which are the graph's input names).

use std::collections::HashSet;

use super::proto::tensor_proto::DataType;
use super::proto::tensor_shape_proto::{Dimension, dimension};
use super::proto::type_proto::{self, Tensor};
use super::proto::{
    AttributeProto, GraphProto, NodeProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto, attribute_proto::AttributeType,
};

/// The domain of ONNX's classical machine-learning operators.
pub(super) const ML: &str = "ai.onnx.ml";

/// The graph being built.
pub(super) struct Graph {
    pub(super) g: GraphProto,
    taken: HashSet<String>,
    /// The element type of every number in the graph: double or float.
    pub(super) float: DataType,
}

/// An attribute of a node.
pub(super) enum Attr<'a> {
    Int(&'a str, i64),
    Strings(&'a str, &'a [String]),
    Ints(&'a str, &'a [i64]),
}

impl Graph {
    /// A graph whose numbers are `float` (double or float), with `reserved`
    /// names (the inputs') never given to anything else.
    pub(super) fn new(name: &str, float: DataType, reserved: &[&str]) -> Graph {
        Graph {
            g: GraphProto {
                name: name.into(),
                ..Default::default()
            },
            taken: reserved.iter().map(|s| s.to_string()).collect(),
            float,
        }
    }

    /// `base`, or `base_2`, `base_3`, ... : the first name not yet used.
    pub(super) fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.taken.contains(&name) {
            k += 1;
            name = format!("{base}_{k}");
        }
        self.taken.insert(name.clone());
        name
    }

    /// Appends the node `op` (of `domain`, "" for ONNX's own) on `inputs`,
    /// and returns the name of its one output.
    pub(super) fn op(&mut self, domain: &str, op: &str, inputs: &[&str], attrs: &[Attr]) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.g.node.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            domain: domain.into(),
            attribute: attrs.iter().map(attribute).collect(),
            ..Default::default()
        });
        out
    }

    /// An ONNX operator of the default domain.
    pub(super) fn node(&mut self, op: &str, inputs: &[&str], attrs: &[Attr]) -> String {
        self.op("", op, inputs, attrs)
    }

    /// Renames the output of the last node to `name` (a graph output).
    pub(super) fn name_last(&mut self, name: &str) -> String {
        let name = self.fresh(name);
        let node = self.g.node.last_mut().expect("a node to name");
        node.output[0].clone_from(&name);
        node.name.clone_from(&name);
        name
    }

    /// A constant tensor of the graph's number type, of shape `dims`.
    pub(super) fn numbers(&mut self, base: &str, dims: &[i64], v: &[f64]) -> String {
        let name = self.fresh(base);
        let mut t = TensorProto {
            name: name.clone(),
            dims: dims.to_vec(),
            data_type: self.float as i32,
            ..Default::default()
        };
        if self.float == DataType::Double {
            t.double_data = v.to_vec();
        } else {
            t.float_data = v.iter().map(|&x| x as f32).collect();
        }
        self.g.initializer.push(t);
        name
    }

    /// A constant int64 tensor of shape `dims`.
    pub(super) fn ints(&mut self, base: &str, dims: &[i64], v: &[i64]) -> String {
        let name = self.fresh(base);
        self.g.initializer.push(TensorProto {
            name: name.clone(),
            dims: dims.to_vec(),
            data_type: DataType::Int64 as i32,
            int64_data: v.to_vec(),
            ..Default::default()
        });
        name
    }

    /// A constant string tensor of shape `[v.len()]`.
    pub(super) fn strings(&mut self, base: &str, v: &[String]) -> String {
        let name = self.fresh(base);
        self.g.initializer.push(TensorProto {
            name: name.clone(),
            dims: vec![v.len() as i64],
            data_type: DataType::String as i32,
            string_data: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        });
        name
    }

    /// Declares a graph input: a tensor of `elem` of shape `[N, 1]`.
    pub(super) fn input(&mut self, name: &str, elem: DataType, doc: String) {
        let dims = [Dim::Rows, Dim::Size(1)];
        self.g.input.push(value_info(name, elem, &dims, doc));
    }

    /// Declares a graph output.
    pub(super) fn output(&mut self, name: &str, elem: DataType, dims: &[Dim], doc: String) {
        self.g.output.push(value_info(name, elem, dims, doc));
    }
}

/// A dimension of a graph input or output.
pub(super) enum Dim {
    /// The number of rows, `N`: any.
    Rows,
    /// A fixed size.
    Size(i64),
}

fn value_info(name: &str, elem: DataType, dims: &[Dim], doc: String) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Rows => dimension::Value::DimParam("N".into()),
                Dim::Size(s) => dimension::Value::DimValue(*s),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(Tensor {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        doc_string: doc,
        ..Default::default()
    }
}

fn attribute(a: &Attr) -> AttributeProto {
    match *a {
        Attr::Int(name, i) => AttributeProto {
            name: name.into(),
            r#type: AttributeType::Int as i32,
            i,
            ..Default::default()
        },
        Attr::Ints(name, v) => AttributeProto {
            name: name.into(),
            r#type: AttributeType::Ints as i32,
            ints: v.to_vec(),
            ..Default::default()
        },
        Attr::Strings(name, v) => AttributeProto {
            name: name.into(),
            r#type: AttributeType::Strings as i32,
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        },
    }
}
