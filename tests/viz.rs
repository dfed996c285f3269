//! Pictures: the DOT of the seed neuron, its SVG, the training plots, the size limit.

#![allow(clippy::excessive_precision)] // the seed's constant, as the notebook writes it

mod common;

use micrograd::Value;
use micrograd::data::moons;
use micrograd::metrics::Confusion;
use micrograd::viz::{
    Curves, DotOptions, RankDir, VizError, dot_to_svg, draw_dot, plot_confusion,
    plot_decision_boundary, plot_history, save_graph,
};

fn seed_neuron() -> Value {
    common::seed_neuron(common::SEED_B)[0]
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("micrograd-viz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn dot_of_the_seed_neuron() {
    let o = seed_neuron();
    o.backward();
    let dot = draw_dot(o, DotOptions::default()).unwrap();
    let records = dot.lines().filter(|l| l.contains("shape=record")).count();
    let ops: Vec<&str> = dot
        .lines()
        .filter(|l| l.contains("op [label="))
        .map(|l| l.split('"').nth(1).unwrap())
        .collect();
    let edges = dot.lines().filter(|l| l.contains("->")).count();
    // values: x1 x2 w1 w2 b, x1*w1, x2*w2, x1*w1 + x2*w2, n, o
    assert_eq!(records, 10);
    assert_eq!(ops, vec!["*", "*", "+", "+", "tanh"]);
    // each op node: one edge out to its value, one in from each child
    assert_eq!(edges, 5 + (2 + 2 + 2 + 2 + 1));
    assert!(dot.contains("rankdir=LR"));
    assert!(dot.contains("{ x1 | data 2.0000 | grad -1.5000 }"));
    assert!(dot.contains("{ w1 | data -3.0000 | grad 1.0000 }"));
    assert!(dot.contains("{ o | data 0.7071 | grad 1.0000 }"));
    let tb = draw_dot(
        o,
        DotOptions {
            rankdir: RankDir::TopBottom,
            ..DotOptions::default()
        },
    )
    .unwrap();
    assert!(tb.contains("rankdir=TB"));
}

#[test]
fn before_backward_every_grad_is_zero() {
    let dot = draw_dot(seed_neuron(), DotOptions::default()).unwrap();
    assert_eq!(dot.matches("grad 0.0000").count(), 10);
}

#[test]
fn constants_show_in_op_nodes_and_labels_are_escaped() {
    let x = Value::new(1.0).with_label("a{b}|c");
    let y = (x * 2.0).pow(3);
    let dot = draw_dot(y, DotOptions::default()).unwrap();
    assert!(dot.contains("label=\"* 2\""));
    assert!(dot.contains("label=\"**3\""));
    assert!(dot.contains("a\\{b\\}\\|c"));
    dot_to_svg(&dot).unwrap();
}

#[test]
fn svg_is_xml_with_every_label() {
    let o = seed_neuron();
    o.backward();
    let svg = dot_to_svg(&draw_dot(o, DotOptions::default()).unwrap()).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    for want in ["x1", "w2", "tanh", "grad -1.5000", "data 0.7071"] {
        assert!(text.contains(want), "{want} not in the SVG's text");
    }
}

#[test]
fn graphviz_accepts_the_dot_when_it_is_installed() {
    let o = seed_neuron();
    let dot = draw_dot(o, DotOptions::default()).unwrap();
    match micrograd::viz::render_with_graphviz(&dot, "svg") {
        Ok(svg) => {
            let opts = roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            };
            roxmltree::Document::parse_with_options(std::str::from_utf8(&svg).unwrap(), opts)
                .unwrap();
        }
        Err(VizError::Graphviz(m)) if m.contains("cannot run `dot`") => {
            eprintln!("Graphviz is not installed: checked only the built-in renderer");
        }
        Err(e) => panic!("Graphviz rejected our DOT: {e}"),
    }
}

#[test]
fn too_large_graphs_are_refused() {
    let _s = micrograd::scope();
    let mut x = Value::new(0.5);
    for _ in 0..1000 {
        x = x * 1.01 + 0.01;
    }
    let err = draw_dot(x, DotOptions::default()).unwrap_err();
    assert_eq!(
        err,
        VizError::TooLarge {
            nodes: 2001,
            max: 500
        }
    );
    assert!(
        err.to_string()
            .contains("2001 values, too many to draw readably")
    );
    let err = save_graph(x, &tmp("big.svg"), DotOptions::default()).unwrap_err();
    assert!(matches!(err, VizError::TooLarge { .. }));
    assert!(!tmp("big.svg").exists(), "no file for a refused graph");
}

#[test]
fn save_graph_writes_svg_or_dot() {
    let o = seed_neuron();
    save_graph(o, &tmp("o.svg"), DotOptions::default()).unwrap();
    save_graph(o, &tmp("o.dot"), DotOptions::default()).unwrap();
    assert!(
        std::fs::read_to_string(tmp("o.svg"))
            .unwrap()
            .contains("<svg")
    );
    assert!(
        std::fs::read_to_string(tmp("o.dot"))
            .unwrap()
            .starts_with("digraph {")
    );
    let err = save_graph(o, "/no/such/dir/o.svg".as_ref(), DotOptions::default()).unwrap_err();
    assert!(err.to_string().contains("/no/such/dir/o.svg: cannot write"));
}

#[test]
fn plots_are_nontrivial_svg() {
    let loss: Vec<f64> = (0..50).map(|k| 1.0 / (k as f64 + 1.0)).collect();
    let acc: Vec<f64> = (0..50).map(|k| k as f64 / 50.0).collect();
    let every_fifth = |v: &[f64]| -> Vec<(usize, f64)> {
        v.iter()
            .copied()
            .enumerate()
            .filter(|(k, _)| k % 5 == 4)
            .collect()
    };
    let curves = Curves {
        train_loss: loss.clone(),
        valid_loss: every_fifth(&loss),
        test_loss: every_fifth(&loss),
        train_accuracy: acc.clone(),
        test_accuracy: every_fifth(&acc),
    };
    plot_history(&tmp("loss.svg"), &curves).unwrap();
    let svg = std::fs::read_to_string(tmp("loss.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let lines = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .count();
    assert!(
        lines >= 5,
        "train, validation and test loss, train and test accuracy: {lines}"
    );
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    for label in ["train (batch)", "validation", "test", "accuracy"] {
        assert!(text.contains(label), "{label} missing: {text}");
    }
    // a loss from 1 down to 1/50 spans under two decades: a linear axis
    assert!(!text.contains("log scale"));
    // one that falls from 1e6 to 0.01 gets a log axis, labelled in plain numbers
    let steep: Vec<f64> = (0..50)
        .map(|k| 1e6 * 10f64.powf(-(k as f64) / 6.0))
        .collect();
    plot_history(&tmp("steep.svg"), &Curves::per_step(&steep, &[])).unwrap();
    let svg = std::fs::read_to_string(tmp("steep.svg")).unwrap();
    assert!(
        svg.contains("loss (log scale)") && svg.contains("1e6"),
        "{svg}"
    );

    let ds = moons(60, 0.05, 1);
    // classify by the sign of y - 0.25: a straight border
    let test = moons(20, 0.05, 2);
    plot_decision_boundary(
        &tmp("db.svg"),
        &ds,
        Some(&test),
        |_, y| f64::from(y < 0.25),
        50,
    )
    .unwrap();
    let svg = std::fs::read_to_string(tmp("db.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let count = |tag: &str| doc.descendants().filter(|n| n.has_tag_name(tag)).count();
    let (circles, triangles, rects) = (count("circle"), count("polygon"), count("rect"));
    // every training sample a dot, every test sample a triangle, and one of each in the legend
    assert_eq!((circles, triangles), (60 + 2, 20 + 1));
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(text.contains("test samples") && text.contains('0') && text.contains('1'));
    assert!(
        (50..=200).contains(&rects),
        "one or two runs per column: {rects}"
    );

    // PNG, by the extension, with the shipped font: a real image
    plot_decision_boundary(&tmp("db.png"), &ds, None, |_, y| f64::from(y < 0.25), 50).unwrap();
    let png = std::fs::read(tmp("db.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 5000,
        "{} bytes",
        png.len()
    );
    plot_history(&tmp("loss.png"), &Curves::per_step(&loss, &acc)).unwrap();
    assert!(
        std::fs::read(tmp("loss.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );

    let three = micrograd::data::toy();
    let err = plot_decision_boundary(&tmp("x.svg"), &three, None, |_, _| 0.0, 10).unwrap_err();
    assert!(err.to_string().contains("needs 2 features"));
}

#[test]
fn confusion_picture_has_a_cell_per_pair_and_the_counts() {
    let classes: Vec<String> = ["setosa", "versicolor", "virginica"]
        .map(String::from)
        .to_vec();
    let c = Confusion::new(
        &classes,
        &[0.0, 1.0, 1.0, 2.0, 2.0],
        &[0.0, 1.0, 2.0, 2.0, 2.0],
    );
    plot_confusion(&tmp("cm.svg"), &c).unwrap();
    let svg = std::fs::read_to_string(tmp("cm.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(
        doc.descendants().filter(|n| n.has_tag_name("rect")).count(),
        1 + 9
    );
    let text: Vec<&str> = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(text.contains(&"virginica") && text.contains(&"predicted →"));
    assert_eq!(text.iter().filter(|t| **t == "2").count(), 1, "{text:?}");
    plot_confusion(&tmp("cm.png"), &c).unwrap();
    assert!(
        std::fs::read(tmp("cm.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );
}
