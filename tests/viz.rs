//! Pictures: the DOT of the seed neuron, its SVG, the training plots, the size limit.

#![allow(clippy::excessive_precision)] // the seed's constant, as the notebook writes it

mod common;

use micrograd::Value;
use micrograd::data::{moons, spiral};
use micrograd::metrics::Confusion;
use micrograd::viz::{
    Curves, DotOptions, RankDir, VizError, dot_to_svg, draw_dot, plot_confusion,
    plot_decision_boundary, plot_history, save_graph,
};

fn seed_neuron() -> Value {
    common::seed_neuron(common::SEED_B)[0]
}

fn tmp(name: &str) -> std::path::PathBuf {
    // the same files each run, overwritten, in cargo's folder for test files
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("viz");
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
fn the_same_graph_gives_the_same_svg_bytes_every_time() {
    let o = seed_neuron();
    o.backward();
    let dot = draw_dot(o, DotOptions::default()).unwrap();
    let first = dot_to_svg(&dot).unwrap();
    for _ in 0..20 {
        assert_eq!(dot_to_svg(&dot).unwrap(), first);
    }
}

#[test]
fn record_cells_fit_their_text() {
    // layout-rs alone made `data 2.0000` a 160-px cell for 14-px text
    let o = seed_neuron();
    o.backward();
    let svg = dot_to_svg(&draw_dot(o, DotOptions::default()).unwrap()).unwrap();
    assert!(
        svg.contains(".a8 { font-size: 14px;"),
        "the text is drawn at 14 px"
    );
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let num = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    let rects: Vec<[f64; 4]> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .map(|n| [num(n, "x"), num(n, "y"), num(n, "width"), num(n, "height")])
        .collect();
    let mut cells = 0;
    for t in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let Some(text) = t
            .descendants()
            .filter_map(|n| n.text())
            .find(|s| !s.trim().is_empty())
        else {
            continue;
        };
        if !text.starts_with("data ") {
            continue;
        }
        let (x, y) = (num(t, "x"), num(t, "y"));
        let cell = rects
            .iter()
            .filter(|r| r[0] <= x && x <= r[0] + r[2] && r[1] <= y && y <= r[1] + r[3])
            .map(|r| r[2])
            .fold(f64::INFINITY, f64::min);
        let chars = text.chars().count() as f64;
        assert!(
            (6.0 * chars..=9.0 * chars + 20.0).contains(&cell),
            "'{text}' in a {cell}-px cell"
        );
        cells += 1;
    }
    assert_eq!(cells, 10, "one data cell a value");
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
        best_step: None,
        refit: false,
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
    // every training sample a dot, every test sample a triangle; in the
    // legend, a dot per class, one for the training samples, a triangle
    assert_eq!((circles, triangles), (60 + 3, 20 + 1));
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
    assert!(text.contains(&"virginica") && text.contains(&"predicted class"));
    assert_eq!(text.iter().filter(|t| **t == "2").count(), 1, "{text:?}");
    plot_confusion(&tmp("cm.png"), &c).unwrap();
    assert!(
        std::fs::read(tmp("cm.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );
}

/// The text of every `<text>` element, with its attributes.
struct Label {
    text: String,
    x: f64,
    size: f64,
    rotated: bool,
    anchor: String,
}

fn labels(svg: &str) -> Vec<Label> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let num = |a: &str| n.attribute(a).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            Label {
                text: n.text().unwrap_or("").trim().to_owned(),
                x: num("x"),
                size: num("font-size"),
                rotated: n.attribute("transform").is_some(),
                anchor: n.attribute("text-anchor").unwrap_or("start").to_owned(),
            }
        })
        .collect()
}

/// (stroke colour, number of points, mean x) of each data polyline (more
/// than `min` points), in document order.
fn lines(svg: &str, min: usize) -> Vec<(String, usize, f64)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter_map(|n| {
            let xs: Vec<f64> = n
                .attribute("points")?
                .split_whitespace()
                .filter_map(|p| p.split(',').next()?.parse().ok())
                .collect();
            let mean = xs.iter().sum::<f64>() / xs.len().max(1) as f64;
            let stroke = n.attribute("stroke")?.to_owned();
            (xs.len() > min).then_some((stroke, xs.len(), mean))
        })
        .collect()
}

#[test]
fn boundary_ticks_are_round_and_clear_of_the_axis_names() {
    let ds = spiral(100, 3, 1337);
    plot_decision_boundary(&tmp("spiral.svg"), &ds, None, |x, _| f64::from(x > 0.0), 30).unwrap();
    let svg = std::fs::read_to_string(tmp("spiral.svg")).unwrap();
    let all = labels(&svg);
    let ticks: Vec<&Label> = all.iter().filter(|l| l.anchor == "end").collect();
    assert!(ticks.len() >= 4, "y tick labels: {}", ticks.len());
    for l in &all {
        assert!(
            !l.text.contains("e-1"),
            "a rounding error as a tick: {}",
            l.text
        );
    }
    assert!(all.iter().any(|l| l.text == "0"), "zero reads 0");
    // the y axis's name (rotated, left of the ticks) ends before the
    // widest tick label starts
    let name = all.iter().find(|l| l.rotated && l.text == "x2").unwrap();
    let widest = ticks
        .iter()
        .map(|l| l.x - 0.65 * l.size * l.text.chars().count() as f64)
        .fold(f64::INFINITY, f64::min);
    assert!(
        name.x + name.size < widest,
        "the axis name at x={} overlaps tick labels from x={widest}",
        name.x
    );
}

#[test]
fn log_ticks_are_one_two_or_five_times_a_power_of_ten() {
    // from 10 down to 0.05: under three decades, ticked at 1, 2, 5
    let loss: Vec<f64> = (0..100).map(|k| 10.0 * 0.948f64.powi(k)).collect();
    plot_history(&tmp("log.svg"), &Curves::per_step(&loss, &[])).unwrap();
    let svg = std::fs::read_to_string(tmp("log.svg")).unwrap();
    let ticks: Vec<String> = labels(&svg)
        .into_iter()
        .filter(|l| l.anchor == "end")
        .map(|l| l.text)
        .collect();
    assert!(ticks.len() >= 5, "{ticks:?}");
    for t in &ticks {
        let v: f64 = t.parse().unwrap();
        let m = v / 10f64.powf(v.log10().floor());
        assert!(
            [1.0, 2.0, 5.0].iter().any(|x| (m - x).abs() < 1e-9) && t.len() <= 4,
            "{t} in {ticks:?}"
        );
    }
}

fn noisy_run(n: usize) -> Curves {
    let wobble = |k: usize| ((k * 7919) % 101) as f64 / 101.0;
    let loss: Vec<f64> = (0..n)
        .map(|k| 1.0 / (1.0 + k as f64 / 50.0) + 0.1 * wobble(k))
        .collect();
    let acc: Vec<f64> = (0..n)
        .map(|k| (0.5 + k as f64 / 200.0).min(1.0) - 0.05 * wobble(k))
        .collect();
    Curves {
        valid_loss: (0..n).step_by(10).map(|k| (k, loss[k] + 0.1)).collect(),
        test_loss: (0..n).step_by(10).map(|k| (k, loss[k] + 0.05)).collect(),
        test_accuracy: (0..n).step_by(10).map(|k| (k, acc[k])).collect(),
        ..Curves::per_step(&loss, &acc)
    }
}

#[test]
fn a_series_has_one_colour_in_every_panel_and_accuracy_is_in_percent() {
    plot_history(&tmp("colours.svg"), &noisy_run(200)).unwrap();
    let svg = std::fs::read_to_string(tmp("colours.svg")).unwrap();
    let width: f64 = roxmltree::Document::parse(&svg)
        .unwrap()
        .root_element()
        .attribute("width")
        .unwrap()
        .parse()
        .unwrap();
    let series = lines(&svg, 15);
    let colour_of = |left: bool, points: usize| {
        series
            .iter()
            .filter(|(_, n, x)| *n == points && (*x < width / 2.0) == left)
            .map(|(c, _, _)| c.clone())
            .collect::<Vec<_>>()
    };
    // train: 200 points, in the loss panel (left) and the accuracy one
    let (loss_train, acc_train) = (colour_of(true, 200), colour_of(false, 200));
    assert_eq!(loss_train.len(), 1, "{series:?}");
    assert_eq!(loss_train, acc_train, "train is one colour in both panels");
    // test: 20 points, in both panels, one colour, not train's
    let (loss_test, acc_test) = (colour_of(true, 20), colour_of(false, 20));
    assert_eq!(loss_test.len(), 2, "validation and test: {series:?}");
    assert!(acc_test.len() == 1 && loss_test.contains(&acc_test[0]));
    assert!(!loss_test.contains(&loss_train[0]));

    let right: Vec<String> = labels(&svg)
        .into_iter()
        .filter(|l| l.x > width / 2.0 && l.anchor == "end")
        .map(|l| l.text)
        .collect();
    assert!(
        right.contains(&"100%".to_string()) && right.contains(&"0%".to_string()),
        "{right:?}"
    );
    assert!(right.iter().all(|t| t.ends_with('%')), "{right:?}");
}

#[test]
fn long_runs_draw_as_one_thinned_line() {
    plot_history(&tmp("long.svg"), &noisy_run(3000)).unwrap();
    let svg = std::fs::read_to_string(tmp("long.svg")).unwrap();
    let series = lines(&svg, 100);
    // train, validation, test in the loss panel; train, test in accuracy
    assert_eq!(series.len(), 5, "{series:?}");
    for (_, n, _) in &series {
        assert!(*n <= 1000, "{n} points");
    }
    // the 3000 training steps: one line each, thinned to a point or two a pixel
    assert_eq!(
        series.iter().filter(|(_, n, _)| *n > 300).count(),
        2,
        "{series:?}"
    );
    // round joins: a dense line's turns draw no spikes
    assert!(svg.contains("stroke-linejoin=\"round\""));
    // the bitmap draws too
    plot_history(&tmp("long.png"), &noisy_run(3000)).unwrap();
}

#[test]
fn the_best_step_is_marked_when_the_weights_were_kept() {
    let mut c = noisy_run(200);
    plot_history(&tmp("nobest.svg"), &c).unwrap();
    let svg = std::fs::read_to_string(tmp("nobest.svg")).unwrap();
    assert!(!svg.contains("best validation"));
    c.best_step = Some(119);
    plot_history(&tmp("best.svg"), &c).unwrap();
    let svg = std::fs::read_to_string(tmp("best.svg")).unwrap();
    let marked = labels(&svg)
        .iter()
        .filter(|l| l.text == "best validation loss: step 120 (weights kept)")
        .count();
    assert_eq!(marked, 2, "a legend entry in each panel");
    // the marker: dashes, each a short vertical polyline at one x
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let grey = doc
        .descendants()
        .filter(|n| n.attribute("stroke") == Some("#5A5A5A"))
        .count();
    assert!(grey > 10, "dashes of the marker: {grey}");
    // refit afterwards: the marker says so instead
    c.refit = true;
    plot_history(&tmp("refit.svg"), &c).unwrap();
    let svg = std::fs::read_to_string(tmp("refit.svg")).unwrap();
    let said = |s: &str| labels(&svg).iter().filter(|l| l.text == s).count();
    let refit = "best validation loss: step 120 (then refit on every training row)";
    assert_eq!((said(refit), svg.contains("weights kept")), (2, false));
}

#[test]
fn confusion_names_are_whole_however_long() {
    let long = [
        "Iris setosa (bristle-pointed)",
        "Iris versicolor (harlequin blueflag)",
        "Iris virginica (Virginia blueflag)",
    ];
    let short = ["setosa", "versicolor", "virginica"];
    let mut sizes = Vec::new();
    for names in [short, long] {
        let classes: Vec<String> = names.map(String::from).to_vec();
        let c = Confusion::new(&classes, &[0.0, 1.0, 1.0, 2.0], &[0.0, 1.0, 2.0, 2.0]);
        plot_confusion(&tmp("names.svg"), &c).unwrap();
        let svg = std::fs::read_to_string(tmp("names.svg")).unwrap();
        let text: Vec<String> = labels(&svg).into_iter().map(|l| l.text).collect();
        assert!(text.iter().all(|t| !t.contains('…')), "{text:?}");
        for name in names {
            // every word of the name, in a row label and a column label
            for word in name.split(' ') {
                let n = text
                    .iter()
                    .filter(|t| t.split(' ').any(|w| w == word))
                    .count();
                assert!(n >= 2, "{word} of {name}: {text:?}");
            }
        }
        // counts and the row's share in percent
        assert!(text.contains(&"50%".to_string()) && text.contains(&"100%".to_string()));
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let attr = |a: &str| -> u32 { doc.root_element().attribute(a).unwrap().parse().unwrap() };
        sizes.push((attr("width"), attr("height")));
        if names == short {
            assert_eq!(
                text.iter().filter(|t| *t == "versicolor").count(),
                2,
                "{text:?}"
            );
        }
    }
    // longer names, a larger picture
    assert!(
        sizes[1].0 > sizes[0].0 && sizes[1].1 > sizes[0].1,
        "{sizes:?}"
    );
}
