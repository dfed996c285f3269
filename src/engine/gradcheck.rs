//! Checking `backward` against finite differences, as the lecture does by hand
//! (nudge one input by a small h, see how far the output moves).

use std::fmt;

use super::scope::scope;
use super::value::Value;

/// Tolerances for [`GradCheck::run`]; [`gradcheck`] uses the defaults.
///
/// A gradient passes when |analytic - numeric| <= `atol` + `rtol`·|numeric|,
/// where `numeric` is the central difference (f(x+h) - f(x-h)) / 2h with
/// h = `eps` (PyTorch's `gradcheck` defaults).
///
/// ```
/// use micrograd::GradCheck;
/// let check = GradCheck { eps: 1e-5, ..GradCheck::default() };
/// let report = check.run(|x| x[0].exp() * x[1], &[0.3, -2.0]).unwrap();
/// assert!(report.max_abs_err < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheck {
    /// Step h of the central difference.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// What a passing check measured.
///
/// ```
/// let r = micrograd::gradcheck(|x| x[0] * x[0], &[3.0]).unwrap();
/// assert_eq!((r.value, r.analytic[0]), (9.0, 6.0));
/// assert!((r.numeric[0] - 6.0).abs() < 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradReport {
    /// f at the point.
    pub value: f64,
    /// Gradients from `backward`.
    pub analytic: Vec<f64>,
    /// Gradients from central differences.
    pub numeric: Vec<f64>,
    /// The largest |analytic - numeric|.
    pub max_abs_err: f64,
}

/// A gradient that `backward` and finite differences disagree on.
///
/// ```
/// // relu's kink at 0: backward says 0, the central difference 0.5
/// let m = micrograd::gradcheck(|x| x[0].relu(), &[0.0]).unwrap_err();
/// assert_eq!((m.index, m.analytic), (0, 0.0));
/// assert!(m.to_string().starts_with("gradient of input 0 at [0.0]: backward gives 0"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradMismatch {
    /// Which input.
    pub index: usize,
    /// The point checked.
    pub at: Vec<f64>,
    /// From `backward`.
    pub analytic: f64,
    /// From central differences.
    pub numeric: f64,
}

impl fmt::Display for GradMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradient of input {} at {:?}: backward gives {}, finite differences give {}",
            self.index, self.at, self.analytic, self.numeric
        )
    }
}

impl std::error::Error for GradMismatch {}

impl GradCheck {
    /// Checks every d f/d xᵢ at `at`: `f` gets one leaf per coordinate.
    ///
    /// `f` is called 1 + 2·len times, each inside its own [`scope`], so
    /// it must build its result from the leaves it is given (plus constants).
    ///
    /// ```
    /// use micrograd::GradCheck;
    /// let bad = GradCheck::default().run(|x| x[0] * x[0], &[f64::NAN]);
    /// assert!(bad.is_err());
    /// ```
    pub fn run(
        &self,
        f: impl Fn(&[Value]) -> Value,
        at: &[f64],
    ) -> Result<GradReport, GradMismatch> {
        let (value, analytic) = {
            let _s = scope();
            let xs: Vec<Value> = at.iter().map(|&x| Value::new(x)).collect();
            let y = f(&xs);
            y.backward();
            (y.data(), xs.iter().map(|x| x.grad()).collect::<Vec<_>>())
        };
        let numeric = numerical_grad(|x| eval(&f, x), at, self.eps);
        let mut max_abs_err: f64 = 0.0;
        for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
            let err = (a - n).abs();
            if err.is_nan() || err > self.atol + self.rtol * n.abs() {
                return Err(GradMismatch {
                    index: i,
                    at: at.to_vec(),
                    analytic: a,
                    numeric: n,
                });
            }
            max_abs_err = max_abs_err.max(err);
        }
        Ok(GradReport {
            value,
            analytic,
            numeric,
            max_abs_err,
        })
    }
}

fn eval(f: &impl Fn(&[Value]) -> Value, x: &[f64]) -> f64 {
    let _s = scope();
    let xs: Vec<Value> = x.iter().map(|&v| Value::new(v)).collect();
    f(&xs).data()
}

/// [`GradCheck::run`] with PyTorch's default tolerances.
///
/// ```
/// use micrograd::gradcheck;
/// // the lecture's neuron, o = tanh(x1*w1 + x2*w2 + b)
/// let report = gradcheck(
///     |v| (v[0] * v[2] + v[1] * v[3] + v[4]).tanh(),
///     &[2.0, 0.0, -3.0, 1.0, 6.8813735870195432],
/// )
/// .unwrap();
/// assert!((report.analytic[0] - -1.5).abs() < 1e-12);
/// ```
pub fn gradcheck(f: impl Fn(&[Value]) -> Value, at: &[f64]) -> Result<GradReport, GradMismatch> {
    GradCheck::default().run(f, at)
}

/// The central-difference gradient of a plain function:
/// (f(x + h·eᵢ) - f(x - h·eᵢ)) / 2h for every i.
///
/// ```
/// let g = micrograd::numerical_grad(|x| x[0] * x[1], &[3.0, 1.5], 1e-6);
/// assert!((g[0] - 1.5).abs() < 1e-8 && (g[1] - 3.0).abs() < 1e-8);
/// ```
pub fn numerical_grad(f: impl Fn(&[f64]) -> f64, at: &[f64], h: f64) -> Vec<f64> {
    let mut x = at.to_vec();
    (0..at.len())
        .map(|i| {
            x[i] = at[i] + h;
            let up = f(&x);
            x[i] = at[i] - h;
            let down = f(&x);
            x[i] = at[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}
