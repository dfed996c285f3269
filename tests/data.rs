//! Data sets, CSV files, splits and batches.

mod common;

use micrograd::Rng;
use micrograd::data::{self, Table, Task, from_csv_str};

#[test]
fn moons_is_sklearns_construction() {
    // no noise: every point lies on its half circle
    let ds = data::moons(100, 0.0, 3);
    assert_eq!(ds.len(), 100);
    for (p, &c) in ds.x.iter().zip(&ds.y) {
        let r = if c == 0.0 {
            p[0].hypot(p[1]) // upper moon: radius 1 around (0, 0)
        } else {
            (p[0] - 1.0).hypot(p[1] - 0.5) // lower moon: radius 1 around (1, 0.5)
        };
        assert!((r - 1.0).abs() < 1e-12);
        assert!(if c == 0.0 {
            p[1] >= -1e-12
        } else {
            p[1] <= 0.5 + 1e-12
        });
    }
    assert_eq!(ds.y.iter().filter(|&&c| c == 0.0).count(), 50);
    // noise moves points, deterministically
    assert_eq!(data::moons(100, 0.1, 3), data::moons(100, 0.1, 3));
    assert_ne!(data::moons(100, 0.1, 3), data::moons(100, 0.1, 4));
    // odd sizes: the inner moon gets the extra point, as in scikit-learn
    assert_eq!(
        data::moons(7, 0.0, 0)
            .y
            .iter()
            .filter(|&&c| c == 1.0)
            .count(),
        4
    );
}

#[test]
fn circles_spiral_xor_toy() {
    let c = data::circles(100, 0.0, 0.5, 1);
    for (p, &k) in c.x.iter().zip(&c.y) {
        let want = if k == 0.0 { 1.0 } else { 0.5 };
        assert!((p[0].hypot(p[1]) - want).abs() < 1e-12);
    }
    let s = data::spiral(50, 3, 2);
    assert_eq!((s.len(), s.nclasses(), s.nfeatures()), (150, 3, 2));
    for k in 0..3 {
        assert_eq!(s.y.iter().filter(|&&c| c == k as f64).count(), 50);
    }
    assert!(s.x.iter().all(|p| p[0].hypot(p[1]) <= 1.0 + 1e-12));
    let x = data::xor();
    assert_eq!(x.x.len(), 4);
    let t = data::toy();
    assert_eq!(t.y, vec![1.0, -1.0, -1.0, 1.0]);
    assert!(data::builtin("moons", 1).is_ok());
    assert!(
        data::builtin("nope", 1)
            .unwrap_err()
            .to_string()
            .contains("built-in: moons, circles, spiral, xor, toy")
    );
}

#[test]
fn split_and_batches() {
    let ds = data::moons(100, 0.1, 0);
    let (train, test) = ds.split(0.25, &mut Rng::new(9));
    assert_eq!((train.len(), test.len()), (75, 25));
    // a partition: every sample once
    let mut all: Vec<String> = train
        .x
        .iter()
        .chain(&test.x)
        .map(|p| format!("{p:?}"))
        .collect();
    all.sort();
    let mut orig: Vec<String> = ds.x.iter().map(|p| format!("{p:?}")).collect();
    orig.sort();
    assert_eq!(all, orig);
    // tiny sets keep at least one sample on each side
    let (a, b) = data::xor().split(0.01, &mut Rng::new(0));
    assert_eq!((a.len(), b.len()), (3, 1));
    let (a, b) = data::xor().split(0.0, &mut Rng::new(0));
    assert_eq!((a.len(), b.len()), (4, 0));

    let batches = ds.batches(32, &mut Rng::new(1));
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![32, 32, 32, 4]
    );
    let mut seen: Vec<usize> = batches.concat();
    seen.sort();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
}

#[test]
fn csv_classes_and_regression() {
    let ds = from_csv_str(
        "x,y,label\n1,2,b\n3,4,a\n5,6,b\n",
        "f.csv",
        "label",
        Task::Auto,
    )
    .unwrap();
    assert_eq!(ds.classes, vec!["a", "b"]);
    assert_eq!(ds.y, vec![1.0, 0.0, 1.0]);
    assert_eq!(ds.x, vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]);
    // the target column can be anywhere
    let ds = from_csv_str("t,x\n0.5,1\n1.5,2\n", "f.csv", "t", Task::Auto).unwrap();
    assert!(!ds.is_classification());
    assert_eq!(
        (ds.features.clone(), ds.y.clone()),
        (vec!["x".to_string()], vec![0.5, 1.5])
    );
    // few whole numbers: classes, in numeric order
    let ds = from_csv_str("x,c\n1,10\n2,-1\n3,2\n", "f.csv", "c", Task::Auto).unwrap();
    assert_eq!(ds.classes, vec!["-1", "2", "10"]);
    // unless told otherwise
    let ds = from_csv_str("x,c\n1,10\n2,-1\n", "f.csv", "c", Task::Regression).unwrap();
    assert_eq!(ds.y, vec![10.0, -1.0]);
    // quoted fields and blank lines
    let ds = from_csv_str("x,name\n1,\"a, b\"\n\n2,c\n", "f.csv", "name", Task::Auto).unwrap();
    assert_eq!(ds.classes, vec!["a, b", "c"]);
}

#[test]
fn csv_errors_name_file_line_and_column() {
    let cases = [
        (
            "x,y\n1,2\nabc,2\n",
            "y",
            "f.csv:3, column 'x': 'abc' is not a number",
        ),
        (
            "x,y\n1,2\n",
            "z",
            "f.csv:1: no target column 'z'; the columns are: x, y",
        ),
        (
            "x,y\n1,2\n3\n",
            "y",
            "f.csv:3: 1 fields, but the header has 2",
        ),
        ("x,y\n", "y", "f.csv: no data rows after the header"),
        ("", "y", "f.csv: empty file"),
        ("x,x,y\n1,2,3\n", "y", "f.csv:1: column 'x' appears twice"),
        (
            "x,y\nnan,1\n",
            "y",
            "f.csv:2, column 'x': 'nan' is not a finite number",
        ),
        ("x,y\n,1\n", "y", "f.csv:2, column 'x': empty value"),
        (
            "y\n1\n",
            "y",
            "f.csv:1: no feature columns besides the target",
        ),
        (
            "x,y\n1,inf\n",
            "y",
            "f.csv:2, column 'y': 'inf' is not a finite number",
        ),
    ];
    for (text, target, want) in cases {
        let err = from_csv_str(
            text,
            "f.csv",
            target,
            if want.contains("inf") {
                Task::Regression
            } else {
                Task::Auto
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(want),
            "{text:?}: got {err:?}, want {want:?}"
        );
    }
    let err = data::read_csv("does/not/exist.csv".as_ref(), "y", Task::Auto).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("does/not/exist.csv: cannot read")
    );
    let err = from_csv_str("a,c\n1,2\n", "in.csv", "b", Task::Auto).unwrap_err();
    assert_eq!(
        err.to_string(),
        "in.csv:1: no target column 'b'; the columns are: a, c"
    );
}

mod fuzz {
    use super::*;
    use crate::common::cases;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(cases(1024))]

        #[test]
        fn csv_reader_never_panics(text in "[a-c0-9,.\\-\"\n e]{0,80}") {
            let _ = from_csv_str(&text, "fuzz.csv", "a", Task::Auto);
            let _ = from_csv_str(&text, "fuzz.csv", "a", Task::Classification);
            let _ = Table::parse(&text, "fuzz.csv").map(|t| t.reading_notes());
        }

        #[test]
        fn csv_reader_never_panics_on_any_text(text in any::<String>()) {
            let _ = from_csv_str(&text, "fuzz.csv", "y", Task::Auto);
        }
    }
}
