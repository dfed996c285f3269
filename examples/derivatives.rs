//! Notebook 004: derivatives by finite differences, then the same numbers from `backward()`.
//!
//! Run: `cargo run --release --example derivatives`

use micrograd::{Value, numerical_grad};

fn main() {
    // d/da (a + b) and d/da (a * b) by nudging a by h, as the notebook does
    let (a, b, h) = (3.0, 1.5, 0.0001);
    let c1 = a * b;
    let c2 = (a + h) * b;
    println!("c = a*b, a = {a}, b = {b}, h = {h}");
    println!("  (c(a+h) - c(a)) / h = {}", (c2 - c1) / h);
    let c2 = a * (b + h);
    println!("  (c(b+h) - c(b)) / h = {}", (c2 - c1) / h);

    // central differences for every input at once
    let f = |x: &[f64]| x[0] * x[1];
    let g = numerical_grad(f, &[a, b], 1e-6);
    println!(
        "  central differences: dc/da = {:.10}, dc/db = {:.10}",
        g[0], g[1]
    );

    // and reverse mode
    let av = Value::new(a).with_label("a");
    let bv = Value::new(b).with_label("b");
    let c = (av * bv).with_label("c");
    c.backward();
    println!(
        "  backward():          dc/da = {}, dc/db = {}",
        av.grad(),
        bv.grad()
    );

    // the lecture's first function: f(x) = 3x² - 4x + 5, f'(x) = 6x - 4
    let x = 3.0;
    let f = |x: f64| 3.0 * x * x - 4.0 * x + 5.0;
    println!();
    println!("f(x) = 3x² - 4x + 5 at x = {x}");
    for h in [0.1, 0.001, 0.00001] {
        println!(
            "  h = {h:<8} (f(x+h) - f(x)) / h = {}",
            (f(x + h) - f(x)) / h
        );
    }
    let xv = Value::new(x);
    let y = 3.0 * xv.pow(2) - 4.0 * xv + 5.0;
    y.backward();
    println!(
        "  backward(): f'(x) = {} (exactly 6x - 4 = {})",
        xv.grad(),
        6.0 * x - 4.0
    );

    // the gradient checker does both and compares
    let report = micrograd::gradcheck(|v| (v[0] * v[1] + v[1].exp()).tanh(), &[a, b]).unwrap();
    println!();
    println!(
        "gradcheck of tanh(a*b + e^b): largest |backward - finite differences| = {:.2e}",
        report.max_abs_err
    );
}
