//! Notebooks 001 and 002: a neuron built by hand, back-propagated, and drawn.
//!
//! o = tanh(x1*w1 + x2*w2 + b) with x1 = 2, x2 = 0, w1 = -3, w2 = 1,
//! b = 6.8813735870195432 (chosen so that o = 1/√2). Then the same neuron with
//! tanh written out as (e^2n - 1)/(e^2n + 1), which must give the same gradients.
//!
//! Run: `cargo run --release --example neuron` (writes `out/neuron/*.svg`;
//! no Graphviz needed).

#![allow(clippy::excessive_precision)] // the lecture's constant, as the notebooks write it

use micrograd::Value;
use micrograd::viz::{DotOptions, RankDir, save_graph};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new("out/neuron");
    std::fs::create_dir_all(dir)?;

    // inputs x1, x2
    let x1 = Value::new(2.0).with_label("x1");
    let x2 = Value::new(0.0).with_label("x2");
    // weights w1, w2
    let w1 = Value::new(-3.0).with_label("w1");
    let w2 = Value::new(1.0).with_label("w2");
    // bias of the neuron
    let b = Value::new(6.8813735870195432).with_label("b");
    // x1*w1 + x2*w2 + b
    let x1w1 = (x1 * w1).with_label("x1*w1");
    let x2w2 = (x2 * w2).with_label("x2*w2");
    let x1w1x2w2 = (x1w1 + x2w2).with_label("x1*w1 + x2*w2");
    let n = (x1w1x2w2 + b).with_label("n");
    let o = n.tanh().with_label("o");

    // before backward every grad is 0: draw it to see
    save_graph(o, &dir.join("before_backward.svg"), DotOptions::default())?;
    o.backward();
    save_graph(o, &dir.join("graph.svg"), DotOptions::default())?;
    let tb = DotOptions {
        rankdir: RankDir::TopBottom,
        ..DotOptions::default()
    };
    save_graph(o, &dir.join("graph_tb.svg"), tb)?;
    save_graph(o, &dir.join("graph.dot"), DotOptions::default())?;

    println!("o = {:.16}", o.data());
    for v in [x1, w1, x2, w2, b] {
        println!("  d o / d {:<2} = {}", v.label(), v.grad());
    }

    // the same neuron, tanh written with exp (notebook 001)
    let x1 = Value::new(2.0).with_label("x1");
    let x2 = Value::new(0.0).with_label("x2");
    let w1 = Value::new(-3.0).with_label("w1");
    let w2 = Value::new(1.0).with_label("w2");
    let b = Value::new(6.8813735870195432).with_label("b");
    let n = (x1 * w1 + x2 * w2 + b).with_label("n");
    let e = (2.0 * n).exp().with_label("e");
    let o = ((e - 1.0) / (e + 1.0)).with_label("o");
    o.backward();
    save_graph(o, &dir.join("graph_exp.svg"), DotOptions::default())?;
    println!(
        "with exp: o = {:.16}, d o / d x1 = {}, d o / d w1 = {}",
        o.data(),
        x1.grad(),
        w1.grad()
    );

    for f in [
        "before_backward.svg",
        "graph.svg",
        "graph_tb.svg",
        "graph.dot",
        "graph_exp.svg",
    ] {
        println!("wrote {}", dir.join(f).display());
    }
    // with Graphviz installed, its layout and a PNG as well
    let dot = micrograd::viz::draw_dot(o, DotOptions::default())?;
    match micrograd::viz::render_with_graphviz(&dot, "png") {
        Ok(png) => {
            micrograd::files::write_atomic(&dir.join("graph_exp.png"), &png)?;
            println!(
                "wrote {} (by Graphviz)",
                dir.join("graph_exp.png").display()
            );
        }
        Err(e) => println!("no PNG: {e}"),
    }
    Ok(())
}
