//! The expression language of `micrograd grad`: precedence, functions, errors, fuzzing.

mod common;

use std::collections::BTreeMap;

use micrograd::Value;
use micrograd::expr::parse;

/// Value and gradients of `src` at the given point.
fn grad(src: &str, at: &[(&str, f64)]) -> (f64, Vec<f64>) {
    let _s = micrograd::scope();
    let vars: BTreeMap<String, Value> = at
        .iter()
        .map(|&(n, x)| (n.to_string(), Value::new(x)))
        .collect();
    let y = parse(src).unwrap().eval(&vars).unwrap();
    y.backward();
    (y.data(), at.iter().map(|(n, _)| vars[*n].grad()).collect())
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(grad("2 + 3 * 4", &[]).0, 14.0);
    assert_eq!(grad("(2 + 3) * 4", &[]).0, 20.0);
    assert_eq!(grad("2 ^ 3 ^ 2", &[]).0, 512.0); // right-associative
    assert_eq!(grad("2 ** 3", &[]).0, 8.0);
    assert_eq!(grad("-2 ^ 2", &[]).0, -4.0); // -(2^2)
    assert_eq!(grad("2 ^ -1", &[]).0, 0.5);
    assert_eq!(grad("8 / 4 / 2", &[]).0, 1.0); // left-associative
    assert_eq!(grad("10 - 4 - 3", &[]).0, 3.0);
    assert_eq!(grad("--3", &[]).0, 3.0);
    assert_eq!(grad("1.5e2 + .5", &[]).0, 150.5);
}

#[test]
fn hand_derived_gradients() {
    // x^2 + 3x at 2: 10, d/dx = 2x + 3 = 7
    assert_eq!(grad("x^2 + 3*x", &[("x", 2.0)]), (10.0, vec![7.0]));
    // x*y + y/x at (2, 3): 7.5; d/dx = y - y/x² = 2.25; d/dy = x + 1/x = 2.5
    assert_eq!(
        grad("x*y + y/x", &[("x", 2.0), ("y", 3.0)]),
        (7.5, vec![2.25, 2.5])
    );
    // x^y with both variables: d/dy = x^y ln x
    let (v, g) = grad("x ^ y", &[("x", 2.0), ("y", 3.0)]);
    assert_eq!(v, 8.0);
    assert_eq!(g[0], 12.0);
    assert!((g[1] - 8.0 * 2f64.ln()).abs() < 1e-12);
    // functions; log is the natural log
    let (v, g) = grad(
        "exp(x) + ln(x) + log(x) + relu(-x) + sigmoid(0*x)",
        &[("x", 1.0)],
    );
    assert!((v - (std::f64::consts::E + 0.5)).abs() < 1e-12);
    assert!((g[0] - (std::f64::consts::E + 2.0)).abs() < 1e-12);
    // a variable used twice accumulates
    assert_eq!(grad("x * x * x", &[("x", 3.0)]).1, vec![27.0]);
}

#[test]
fn the_seed_neuron() {
    let at = [
        ("x1", 2.0),
        ("x2", 0.0),
        ("w1", -3.0),
        ("w2", 1.0),
        ("b", 6.881_373_587_019_543),
    ];
    let (v, g) = grad("tanh(x1*w1 + x2*w2 + b)", &at);
    assert!((v - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12);
    let want = [-1.5, 0.5, 1.0, 0.0, 0.5];
    for (g, w) in g.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{g} vs {w}");
    }
}

#[test]
fn errors_point_at_the_column() {
    let cases = [
        ("", 1, "empty expression"),
        ("x +", 4, "expected a number, a name or '(', found the end"),
        ("(x + 1", 7, "expected ')' to close the '(' at column 1"),
        ("x + 1)", 6, "unexpected ')' after the expression"),
        ("x $ 2", 3, "unexpected character '$'"),
        ("foo(x)", 1, "unknown function 'foo'"),
        ("tanh x", 6, "expected '(' after the function 'tanh'"),
        ("2 x", 3, "unexpected 'x' after the expression"),
        ("1.2.3", 1, "'1.2.3' is not a number"),
    ];
    for (src, col, msg) in cases {
        let err = parse(src).unwrap_err();
        assert_eq!(err.column, col, "{src:?}: {err}");
        assert!(err.message.starts_with(msg), "{src:?}: {err}");
    }
    let e = parse("x + y").unwrap();
    let vars = BTreeMap::from([("x".to_string(), Value::new(1.0))]);
    let err = e.eval(&vars).unwrap_err();
    assert_eq!(
        (err.column, err.message.as_str()),
        (5, "no value given for 'y'")
    );
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
    let err = parse(&deep).unwrap_err();
    assert!(err.message.contains("nested more than 200 deep"));
    let minus = format!("{}x", "-".repeat(100_000));
    assert!(parse(&minus).is_err());
    let pow = format!("x{}", "^x".repeat(100_000));
    assert!(parse(&pow).is_err());
    // 150 levels are fine
    let ok = format!("{}x{}", "(".repeat(150), ")".repeat(150));
    assert_eq!(parse(&ok).unwrap().variables(), vec!["x"]);
}

mod fuzz {
    use super::*;
    use crate::common::cases;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(cases(2048))]

        #[test]
        fn parser_never_panics(src in "[xy0-9.e()+\\-*/^ a-z]{0,40}") {
            match parse(&src) {
                Ok(e) => {
                    let vars: BTreeMap<String, Value> = e
                        .variables()
                        .iter()
                        .map(|v| (v.to_string(), Value::new(0.7)))
                        .collect();
                    let _s = micrograd::scope();
                    let y = e.eval(&vars).unwrap();
                    y.backward();
                }
                Err(err) => prop_assert!(err.column >= 1 && err.column <= src.chars().count() + 1),
            }
        }

        #[test]
        fn parser_never_panics_on_any_text(src in any::<String>()) {
            let _ = parse(&src);
        }

        #[test]
        fn gradients_of_random_polynomials_match_finite_differences(
            a in -3.0..3.0f64, b in -3.0..3.0f64, x in 0.5..2.0f64, p in 1i32..4
        ) {
            let src = format!("({a})*x^{p} + ({b})*tanh(x) - exp(x)/x");
            let e = parse(&src).unwrap();
            let r = micrograd::gradcheck(
                |v| e.eval(&BTreeMap::from([("x".to_string(), v[0])])).unwrap(),
                &[x],
            );
            prop_assert!(r.is_ok(), "{src} at {x}: {:?}", r.err());
        }
    }
}
