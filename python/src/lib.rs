//! The native half of the Python package `micrograd`: karpathy's `Value` on
//! this project's engine, the fast layer and MLP of `micrograd.nn`, and the
//! layout behind `draw_dot`.
//! The Python half (`micrograd/`) holds karpathy's `nn` classes.

mod arena;
mod expand;
mod nn;
mod value;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use value::PyValue;

/// DOT source laid out and drawn as SVG, in Rust (no Graphviz needed).
#[pyfunction]
fn dot_to_svg(source: &str) -> PyResult<String> {
    micrograd::viz::dot_to_svg(source).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// What this thread holds: `values` alive in Python, `nodes` on the tape,
/// and the tape's `bytes`.
#[pyfunction]
fn stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let s = micrograd::stats();
    let d = PyDict::new(py);
    d.set_item("values", arena::live())?;
    d.set_item("nodes", s.nodes)?;
    d.set_item("bytes", s.bytes_allocated)?;
    Ok(d)
}

#[pymodule]
fn _micrograd(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyValue>()?;
    m.add_function(wrap_pyfunction!(nn::layer, m)?)?;
    m.add_function(wrap_pyfunction!(nn::mlp, m)?)?;
    m.add_function(wrap_pyfunction!(nn::parameters, m)?)?;
    m.add_function(wrap_pyfunction!(nn::zero_grad, m)?)?;
    m.add_function(wrap_pyfunction!(dot_to_svg, m)?)?;
    m.add_function(wrap_pyfunction!(stats, m)?)?;
    Ok(())
}
