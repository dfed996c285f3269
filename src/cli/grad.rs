//! `micrograd grad`: an expression's value and its gradient, for checking backprop by hand.

use super::out::{errln, outln};
use std::collections::BTreeMap;

use micrograd::Value;
use micrograd::expr;
use micrograd::viz::{DotOptions, draw_dot, render_with_graphviz, save_graph};
use serde_json::{Map, json};

use super::{Failure, GradArgs};

pub fn run(a: &GradArgs) -> Result<(), Failure> {
    let e = expr::parse(&a.expr)
        .map_err(|err| Failure::input(format!("in the expression:\n{}", err.pointed(&a.expr))))?;
    let mut order: Vec<String> = Vec::new();
    let mut vars: BTreeMap<String, Value> = BTreeMap::new();
    for item in &a.values {
        let Some((name, text)) = item.split_once('=') else {
            return Err(Failure::input(format!(
                "'{item}' is not NAME=VALUE (e.g. x1=2)"
            )));
        };
        let name = name.trim();
        let x: f64 = text.trim().parse().map_err(|_| {
            Failure::input(format!("'{}' is not a number (in {item})", text.trim()))
        })?;
        if !e.variables().contains(&name) {
            let known = e.variables().join(", ");
            return Err(Failure::input(format!(
                "'{name}' is not in the expression (its variables: {})",
                if known.is_empty() { "none" } else { &known }
            )));
        }
        if vars
            .insert(name.to_owned(), Value::new(x).with_label(name))
            .is_some()
        {
            return Err(Failure::input(format!("'{name}' is given twice")));
        }
        order.push(name.to_owned());
    }
    let y = e
        .eval(&vars)
        .map_err(|err| Failure::input(format!("in the expression:\n{}", err.pointed(&a.expr))))?;
    y.set_label("f");
    y.backward();

    if a.json {
        let num = |x: f64| if x.is_finite() { json!(x) } else { json!(null) };
        let mut grads = Map::new();
        for n in &order {
            grads.insert(n.clone(), num(vars[n].grad()));
        }
        outln!("{:#}", json!({"value": num(y.data()), "grads": grads}));
    } else {
        outln!("{} = {}", a.expr.trim(), y.data());
        for n in &order {
            outln!("  d/d{n} = {}", vars[n].grad());
        }
    }
    if let Some(p) = &a.svg {
        save_graph(y, p, DotOptions::default())
            .map_err(|err| Failure::input(format!("{}: {err}", p.display())))?;
        errln!("wrote {}", p.display());
    }
    if let Some(p) = &a.png {
        let dot = draw_dot(y, DotOptions::default()).map_err(Failure::input)?;
        let png =
            render_with_graphviz(&dot, "png").map_err(|e| Failure::input(format!("--png: {e}")))?;
        micrograd::files::write_atomic(p, &png).map_err(Failure::input)?;
        errln!("wrote {}", p.display());
    }
    if let Some(p) = &a.dot {
        let dot = draw_dot(y, DotOptions::default()).map_err(Failure::input)?;
        micrograd::files::write_atomic(p, dot.as_bytes()).map_err(Failure::input)?;
        errln!("wrote {}", p.display());
    }
    Ok(())
}
