//! Data sets made in code, deterministic from a seed.

use std::f64::consts::PI;

use super::{DataError, Dataset};
use crate::rng::Rng;

/// Names [`builtin`] knows.
///
/// ```
/// assert!(micrograd::data::BUILTIN.contains(&"moons"));
/// ```
pub const BUILTIN: [&str; 5] = ["moons", "circles", "spiral", "xor", "toy"];

fn named(name: &str, nfeat: usize, x: Vec<Vec<f64>>, y: Vec<f64>, classes: &[&str]) -> Dataset {
    Dataset {
        name: name.to_owned(),
        features: (1..=nfeat).map(|i| format!("x{i}")).collect(),
        target: "y".to_owned(),
        x,
        y,
        classes: classes.iter().map(|c| c.to_string()).collect(),
    }
}

/// The lecture's 4-sample regression: xs = [[2,3,-1],[3,-1,0.5],[0.5,1,1],[1,1,-1]],
/// ys = [1,-1,-1,1].
///
/// ```
/// let ds = micrograd::data::toy();
/// assert_eq!(ds.x[1], vec![3.0, -1.0, 0.5]);
/// assert_eq!(ds.y, vec![1.0, -1.0, -1.0, 1.0]);
/// ```
pub fn toy() -> Dataset {
    let x = vec![
        vec![2.0, 3.0, -1.0],
        vec![3.0, -1.0, 0.5],
        vec![0.5, 1.0, 1.0],
        vec![1.0, 1.0, -1.0],
    ];
    named("toy", 3, x, vec![1.0, -1.0, -1.0, 1.0], &[])
}

/// XOR on {0,1}²: `xs = [[0,0],[0,1],[1,0],[1,1]]`, `ys = [0,1,1,0]`, as two classes.
///
/// ```
/// let ds = micrograd::data::xor();
/// assert_eq!(ds.y, vec![0.0, 1.0, 1.0, 0.0]);
/// assert_eq!(ds.classes, vec!["0", "1"]);
/// ```
pub fn xor() -> Dataset {
    let x = vec![
        vec![0.0, 0.0],
        vec![0.0, 1.0],
        vec![1.0, 0.0],
        vec![1.0, 1.0],
    ];
    named("xor", 2, x, vec![0.0, 1.0, 1.0, 0.0], &["0", "1"])
}

fn linspace(a: f64, b: f64, n: usize, endpoint: bool) -> impl Iterator<Item = f64> {
    let d = if endpoint { n.saturating_sub(1) } else { n };
    let step = if d == 0 { 0.0 } else { (b - a) / d as f64 };
    (0..n).map(move |i| a + step * i as f64)
}

/// Two interleaving half circles, built as scikit-learn's `make_moons`: the
/// upper moon is class 0, the lower class 1, shuffled, plus Gaussian noise
/// of standard deviation `noise`. micrograd's demo uses 100 points, noise 0.1.
///
/// ```
/// let ds = micrograd::data::moons(100, 0.1, 42);
/// assert_eq!(ds.len(), 100);
/// assert_eq!(ds.y.iter().filter(|&&y| y == 1.0).count(), 50);
/// assert_eq!(ds, micrograd::data::moons(100, 0.1, 42));
/// ```
pub fn moons(n: usize, noise: f64, seed: u64) -> Dataset {
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut pts: Vec<(Vec<f64>, f64)> = linspace(0.0, PI, n_out, true)
        .map(|t| (vec![t.cos(), t.sin()], 0.0))
        .chain(linspace(0.0, PI, n_in, true).map(|t| (vec![1.0 - t.cos(), 0.5 - t.sin()], 1.0)))
        .collect();
    finish("moons", &mut pts, noise, seed, &["0", "1"])
}

/// Two concentric circles (scikit-learn's `make_circles`): outer class 0,
/// inner class 1 of radius `factor`, plus noise.
///
/// ```
/// let ds = micrograd::data::circles(50, 0.0, 0.5, 0);
/// let r: f64 = ds.x.iter().zip(&ds.y).filter(|(_, y)| **y == 1.0)
///     .map(|(p, _)| p[0].hypot(p[1])).fold(0.0, f64::max);
/// assert!((r - 0.5).abs() < 1e-12);
/// ```
pub fn circles(n: usize, noise: f64, factor: f64, seed: u64) -> Dataset {
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut pts: Vec<(Vec<f64>, f64)> = linspace(0.0, 2.0 * PI, n_out, false)
        .map(|t| (vec![t.cos(), t.sin()], 0.0))
        .chain(
            linspace(0.0, 2.0 * PI, n_in, false)
                .map(|t| (vec![factor * t.cos(), factor * t.sin()], 1.0)),
        )
        .collect();
    finish("circles", &mut pts, noise, seed, &["0", "1"])
}

fn finish(
    name: &str,
    pts: &mut Vec<(Vec<f64>, f64)>,
    noise: f64,
    seed: u64,
    classes: &[&str],
) -> Dataset {
    let mut rng = Rng::new(seed);
    rng.shuffle(pts);
    if noise > 0.0 {
        for (p, _) in pts.iter_mut() {
            for v in p.iter_mut() {
                *v += noise * rng.normal();
            }
        }
    }
    let (x, y) = pts.drain(..).unzip();
    named(name, 2, x, y, classes)
}

/// The cs231n spiral: `k` arms of `n_per_class` points, radius 0 to 1, angle
/// noise 0.2. A classic that a linear model cannot separate.
///
/// ```
/// let ds = micrograd::data::spiral(100, 3, 0);
/// assert_eq!((ds.len(), ds.nclasses()), (300, 3));
/// ```
pub fn spiral(n_per_class: usize, k: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut pts = Vec::with_capacity(n_per_class * k);
    for j in 0..k {
        let radii: Vec<f64> = linspace(0.0, 1.0, n_per_class, true).collect();
        let angles: Vec<f64> =
            linspace(j as f64 * 4.0, (j + 1) as f64 * 4.0, n_per_class, true).collect();
        for (r, t) in radii.into_iter().zip(angles) {
            let t = t + 0.2 * rng.normal();
            pts.push((vec![r * t.sin(), r * t.cos()], j as f64));
        }
    }
    rng.shuffle(&mut pts);
    let classes: Vec<String> = (0..k).map(|c| c.to_string()).collect();
    let (x, y) = pts.into_iter().unzip();
    let mut ds = named("spiral", 2, x, y, &[]);
    ds.classes = classes;
    ds
}

/// A test set for the built-in set `name` drawn with `seed`: the random
/// ones (moons, circles, spiral) drawn again with the next seed, new points
/// of the same task; `None` for the fixed ones (xor, toy), which have no
/// other points to test on.
///
/// ```
/// use micrograd::data::{builtin, builtin_test};
/// let train = builtin("moons", 7).unwrap();
/// let test = builtin_test("moons", 7).unwrap();
/// assert_eq!(test.len(), train.len());
/// assert_ne!(test.x, train.x);
/// assert!(builtin_test("xor", 7).is_none());
/// ```
pub fn builtin_test(name: &str, seed: u64) -> Option<Dataset> {
    matches!(name, "moons" | "circles" | "spiral")
        .then(|| builtin(name, seed.wrapping_add(1)).ok())
        .flatten()
}

/// A built-in data set by name, at a fixed size: `moons` (100 points, noise
/// 0.1, as micrograd's demo), `circles` (100, noise 0.08,
/// factor 0.5), `spiral` (3 × 50), `xor`, `toy`.
///
/// ```
/// let ds = micrograd::data::builtin("moons", 1337).unwrap();
/// assert_eq!(ds.len(), 100);
/// let err = micrograd::data::builtin("mnist", 0).unwrap_err();
/// assert!(err.to_string().contains("moons, circles, spiral, xor, toy"));
/// ```
pub fn builtin(name: &str, seed: u64) -> Result<Dataset, DataError> {
    match name {
        "moons" => Ok(moons(100, 0.1, seed)),
        "circles" => Ok(circles(100, 0.08, 0.5, seed)),
        "spiral" => Ok(spiral(50, 3, seed)),
        "xor" => Ok(xor()),
        "toy" => Ok(toy()),
        _ => Err(DataError {
            source: name.to_owned(),
            line: None,
            column: None,
            message: format!(
                "no such built-in data set (built-in: {}); a CSV file's path must exist",
                BUILTIN.join(", ")
            ),
        }),
    }
}
