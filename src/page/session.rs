//! A training session of the page: data, model, optimizer and history, and
//! what the page asks of it (steps, one sample's graph).

use serde_json::{Value as Json, json};

use super::{Refusal, bad, graph_json, num};
use crate::data::{self, Dataset};
use crate::nn::{Scorer, loss};
use crate::train::{Choices, DataKind, Recipe};
use crate::viz::{dot_to_svg, draw_network, network_units};
use crate::{Adam, Loss, MLP, Module, Optimizer, OptimizerKind, Replay, Sgd, Value, scope};

/// Samples in a session's data set.
const SAMPLES: usize = 100;
/// Cells a side of the decision boundary's grid.
const BOUNDARY: usize = 80;
/// Cells a side of each hidden neuron's heat map.
const HEAT: usize = 20;
/// The most rows a table dropped onto the page may have.
const MAX_DROPPED: usize = 1000;
/// Points kept of a session's loss and accuracy curves: past this, each
/// point stands for twice as many steps.
const CURVE: usize = 1000;
/// Steps one request may ask for.
const MAX_STEPS: u64 = 100;

/// An optimizer whose state the page shows.
enum Opt {
    Adam(Adam),
    Sgd(Sgd),
}

/// A training run: data, model, optimizer and history.
pub(super) struct Session {
    ds: Dataset,
    model: MLP,
    params: Vec<Value>,
    names: Vec<String>,
    opt: Opt,
    loss: Loss,
    /// The L2 strength: the recipe's for micrograd's sets.
    alpha: f64,
    /// One sample's loss recorded, replayed over the data set each step
    /// (the tape if the replay refused it), and the data set as its rows.
    replay: Option<Replay>,
    rows: Vec<Vec<f64>>,
    steps: u64,
    losses: Curve,
    accuracies: Curve,
}

/// A curve of at most [`CURVE`] points, each the mean of `every` steps:
/// when it fills, neighbours are merged and `every` doubles.
#[derive(Default)]
struct Curve {
    points: Vec<f64>,
    every: usize,
    /// The sum and count of the steps not yet in a point.
    sum: f64,
    count: usize,
    last: Option<f64>,
}

impl Curve {
    fn new() -> Curve {
        Curve {
            every: 1,
            ..Curve::default()
        }
    }

    fn push(&mut self, y: f64) {
        self.last = Some(y);
        self.sum += y;
        self.count += 1;
        if self.count < self.every {
            return;
        }
        self.points.push(self.sum / self.count as f64);
        (self.sum, self.count) = (0.0, 0);
        if self.points.len() == CURVE {
            self.points = self
                .points
                .chunks(2)
                .map(|p| p.iter().sum::<f64>() / p.len() as f64)
                .collect();
            self.every *= 2;
        }
    }

    fn json(&self) -> Json {
        Json::Array(self.points.iter().map(|&y| num(y)).collect())
    }
}

impl Session {
    /// `/api/train/new`: the session a request asks for, seeded with `seed`,
    /// and its first state, with its `"points"` and `"classes"`.
    pub(super) fn new(body: &Json, seed: u64) -> Result<(Session, Json), Refusal> {
        let ds = session_dataset(body)?;
        let choices = session_choices(body)?;
        let (lr, optimizer) = (choices.lr.unwrap_or(0.05), choices.optimizer);
        let recipe = Recipe::choose(DataKind::Builtin, &ds, false, &choices)
            .map_err(|e| bad(e.to_string()))?;
        let model = recipe.model(2, ds.nclasses(), seed);
        let params = model.parameters();
        let names = name_parameters(&model);
        let opt = match optimizer {
            Some(OptimizerKind::Adam) => Opt::Adam(Adam::new(params.clone(), lr)),
            _ => Opt::Sgd(Sgd::new(params.clone(), lr)),
        };
        let (loss, alpha) = (recipe.cfg.loss, recipe.cfg.alpha);
        let classes = ds.nclasses();
        let replay = model.record_loss(loss, classes).ok();
        let rows = ds.x.iter().zip(&ds.y);
        let rows = rows
            .map(|(x, &y)| [x.as_slice(), &loss.target_row(y, classes)].concat())
            .collect();
        let s = Session {
            ds,
            model,
            params,
            names,
            opt,
            loss,
            alpha,
            replay,
            rows,
            steps: 0,
            losses: Curve::new(),
            accuracies: Curve::new(),
        };
        let mut state = s.state();
        state["points"] = json!(
            s.ds.x
                .iter()
                .zip(&s.ds.y)
                .map(|(p, &c)| json!([p[0], p[1], c]))
                .collect::<Vec<_>>()
        );
        state["classes"] = json!(s.ds.classes);
        Ok((s, state))
    }

    /// `/api/train/step`: `steps` steps (1 to 100; 1 if not given),
    /// then the state.
    pub(super) fn step(&mut self, body: &Json) -> Result<Json, Refusal> {
        let steps = match body.get("steps") {
            None => 1,
            Some(j) => j
                .as_u64()
                .filter(|n| (1..=MAX_STEPS).contains(n))
                .ok_or_else(|| {
                    bad(format!(
                        "\"steps\" must be a whole number from 1 to {MAX_STEPS}, not {}",
                        crate::viz::shorten(&j.to_string(), 40)
                    ))
                })?,
        };
        for _ in 0..steps {
            let _s = scope();
            match &mut self.opt {
                Opt::Adam(o) => o.zero_grad(),
                Opt::Sgd(o) => o.zero_grad(),
            }
            // the data loss's gradients, then the L2 term's added on the tape
            let (data_loss, right) = self.data_loss();
            loss::l2(&self.params, self.alpha).backward();
            match &mut self.opt {
                Opt::Adam(o) => o.step(),
                Opt::Sgd(o) => o.step(),
            }
            self.steps += 1;
            self.losses.push(data_loss);
            self.accuracies.push(right as f64 / self.ds.len() as f64);
        }
        Ok(self.state())
    }

    /// The data set's mean loss, its gradients added to the parameters',
    /// and how many samples the model classes right: replayed over the
    /// data set, or on the tape.
    fn data_loss(&mut self) -> (f64, usize) {
        let (classes, y) = (self.ds.nclasses(), &self.ds.y);
        let right = |outs: &mut dyn Iterator<Item = Vec<f64>>| {
            let each = outs.zip(y);
            each.filter(|(o, t)| self.loss.predict(o, classes) == **t)
                .count()
        };
        if let Some(r) = &mut self.replay {
            let l = r.run(&self.rows);
            return (l, right(&mut (0..y.len()).map(|k| r.output(k).to_vec())));
        }
        let outs: Vec<Vec<Value>> = self
            .ds
            .x
            .iter()
            .map(|x| self.model.forward(&[Value::new(x[0]), Value::new(x[1])]))
            .collect();
        let data_loss = self.loss.compute(&outs, y, classes);
        data_loss.backward();
        let n = right(&mut outs.iter().map(|o| o.iter().map(|v| v.data()).collect()));
        (data_loss.data(), n)
    }

    /// The run so far: curves, the decision boundary, the parameters.
    fn state(&self) -> Json {
        let b = self.bounds();
        let classes = self.ds.nclasses();
        // the whole grid as one batch, through the replay
        let outs = Scorer::new(&self.model).outputs(&grid(b, BOUNDARY));
        let grid: Vec<f64> = outs.iter().map(|o| self.loss.predict(o, classes)).collect();
        let (m, v) = match &self.opt {
            Opt::Adam(o) => {
                let (m, v) = o.moments();
                (Some(m), Some(v))
            }
            Opt::Sgd(_) => (None, None),
        };
        let params: Vec<Json> = self
            .params
            .iter()
            .enumerate()
            .map(|(k, p)| {
                json!({
                    "name": self.names[k], "data": num(p.data()), "grad": num(p.grad()),
                    "m": m.map(|m| num(m[k])), "v": v.map(|v| num(v[k])),
                })
            })
            .collect();
        json!({
            "step": self.steps,
            "loss": self.losses.last.map(num),
            "accuracy": self.accuracies.last,
            "every": self.losses.every,
            "losses": self.losses.json(),
            "accuracies": self.accuracies.json(),
            "boundary": {"n": BOUNDARY, "x0": b[0], "x1": b[1], "y0": b[2], "y1": b[3], "classes": grid},
            "neurons": self.hidden_maps(b),
            "params": params,
        })
    }

    /// The box the boundary and the heat maps cover: the data's, with a margin.
    fn bounds(&self) -> [f64; 4] {
        let span = |k: usize| {
            let (lo, hi) = self
                .ds
                .x
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                    (a.min(p[k]), b.max(p[k]))
                });
            let pad = 0.15 * (hi - lo);
            (lo - pad, hi + pad)
        };
        let ((x0, x1), (y0, y1)) = (span(0), span(1));
        [x0, x1, y0, y1]
    }

    /// Each hidden neuron's output over a [`HEAT`]-square grid, as TensorFlow
    /// Playground draws them: for each hidden layer, the network cut after
    /// it, run over the grid through the replay. `[layer][neuron][cell]`,
    /// to 3 decimals.
    fn hidden_maps(&self, b: [f64; 4]) -> Json {
        let points = grid(b, HEAT);
        let hidden = self.model.layers.len().saturating_sub(1);
        let maps: Vec<Json> = (0..hidden)
            .map(|l| {
                let cut = MLP {
                    layers: self.model.layers[..=l].to_vec(),
                };
                let outs = Scorer::new(&cut).outputs(&points);
                let width = self.model.layers[l].neurons.len();
                let neuron = |j: usize| -> Vec<f64> {
                    outs.iter()
                        .map(|o| (o[j] * 1000.0).round() / 1000.0)
                        .collect()
                };
                json!((0..width).map(neuron).collect::<Vec<_>>())
            })
            .collect();
        Json::Array(maps)
    }

    /// `/api/train/point`: one sample's loss as a graph, after its backward.
    pub(super) fn point(&mut self, body: &Json) -> Result<Json, Refusal> {
        let i = body["index"]
            .as_u64()
            .map(|i| i as usize)
            .filter(|&i| i < self.ds.len())
            .ok_or_else(|| {
                bad(format!(
                    "\"index\" must be a sample from 0 to {}",
                    self.ds.len() - 1
                ))
            })?;
        let _s = scope();
        let x = [
            Value::new(self.ds.x[i][0]).with_label("x1"),
            Value::new(self.ds.x[i][1]).with_label("x2"),
        ];
        let out = self.model.forward(&x);
        let target: Vec<Value> = self
            .loss
            .target_row(self.ds.y[i], self.ds.nclasses())
            .into_iter()
            .map(|t| Value::new(t).with_label("y"))
            .collect();
        let l = self.loss.per_sample(&out, &target).with_label("loss");
        // the gradients shown are this sample's alone; the run's are put back after
        let saved: Vec<f64> = self.params.iter().map(|p| p.grad()).collect();
        crate::zero_grad(&self.params);
        l.backward();
        let mut g = graph_json(l);
        // the same sample, one box a neuron, for networks too big to read node by node
        crate::zero_grad(&self.params);
        let (loss, classes) = (self.loss, self.ds.nclasses());
        let units = network_units(&self.model, &self.ds.x[i], |out| {
            let t: Vec<Value> = loss
                .target_row(self.ds.y[i], classes)
                .into_iter()
                .map(Value::new)
                .collect();
            loss.per_sample(out, &t)
        });
        g["neurons_svg"] = match dot_to_svg(&draw_network(&units)) {
            Ok(svg) => Json::String(svg),
            Err(_) => Json::Null,
        };
        for (p, &s) in self.params.iter().zip(&saved) {
            p.set_grad(s);
        }
        g["loss"] = num(l.data());
        g["index"] = json!(i);
        Ok(g)
    }
}

/// A session's data set: `name`'s construction with 100 samples (XOR as
/// a noisy cloud round its four corners).
fn session_data(name: &str) -> Dataset {
    match name {
        "moons" => data::moons(SAMPLES, 0.1, 1),
        "circles" => data::circles(SAMPLES, 0.08, 0.5, 1),
        "spiral" => data::spiral(SAMPLES / 3, 3, 1),
        _ => {
            let mut rng = crate::Rng::new(1);
            let mut d = data::xor();
            let (x, y): (Vec<Vec<f64>>, Vec<f64>) = (0..SAMPLES)
                .map(|i| {
                    let c = &d.x[i % 4];
                    let x = vec![c[0] + 0.15 * rng.normal(), c[1] + 0.15 * rng.normal()];
                    (x, d.y[i % 4])
                })
                .unzip();
            (d.x, d.y) = (x, y);
            d
        }
    }
}

/// The centres of an `n` × `n` grid over `b` = [x0, x1, y0, y1], row by row
/// from the bottom.
fn grid(b: [f64; 4], n: usize) -> Vec<[f64; 2]> {
    (0..n * n)
        .map(|k| {
            let (i, j) = ((k % n) as f64, (k / n) as f64);
            let x = b[0] + (i + 0.5) * (b[1] - b[0]) / n as f64;
            let y = b[2] + (j + 0.5) * (b[3] - b[2]) / n as f64;
            [x, y]
        })
        .collect()
}

/// The data set a `train/new` request asks for: a built-in set by name, or
/// the text of a dropped CSV.
fn session_dataset(body: &Json) -> Result<Dataset, Refusal> {
    let name = body["data"].as_str().unwrap_or("moons");
    match &body["csv"] {
        Json::Null if ["moons", "circles", "spiral", "xor"].contains(&name) => {
            Ok(session_data(name))
        }
        Json::Null => Err(bad(format!(
            "unknown data set '{name}' (moons, circles, spiral, xor)"
        ))),
        Json::String(text) => dropped_table(text),
        _ => Err(bad("\"csv\" must be the text of a CSV file")),
    }
}

/// The network and optimizer a `train/new` request asks for. The page steps
/// by hand, so the rate stays where it is set.
fn session_choices(body: &Json) -> Result<Choices, Refusal> {
    let layers: Vec<usize> = match &body["layers"] {
        Json::Null => vec![8, 8],
        j => j
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_u64().map(|n| n as usize)).collect())
            .filter(|l: &Vec<usize>| l.len() <= 4 && l.iter().all(|&n| (1..=32).contains(&n)))
            .ok_or_else(|| bad("\"layers\" must be up to 4 sizes from 1 to 32"))?,
    };
    let lr = match &body["lr"] {
        Json::Null => 0.05,
        j => j
            .as_f64()
            .filter(|x| x.is_finite() && *x > 0.0 && *x <= 10.0)
            .ok_or_else(|| bad("\"lr\" must be a number above 0, at most 10"))?,
    };
    let optimizer = match body["optimizer"].as_str().unwrap_or("adam") {
        "adam" => OptimizerKind::Adam,
        "sgd" => OptimizerKind::Sgd,
        other => return Err(bad(format!("unknown optimizer '{other}' (adam, sgd)"))),
    };
    Ok(Choices {
        layers: Some(layers),
        optimizer: Some(optimizer),
        lr: Some(lr),
        lr_end: Some(lr),
        ..Choices::default()
    })
}

/// A table dropped onto the page: two number columns and the class last,
/// standardised as `micrograd train` does, at most [`MAX_DROPPED`] rows.
fn dropped_table(text: &str) -> Result<Dataset, Refusal> {
    let table = data::Table::parse(text, "the dropped table").map_err(|e| bad(e.to_string()))?;
    let target = table.header.last().cloned().unwrap_or_default();
    let rows: Vec<usize> = (0..table.len()).collect();
    if !(4..=MAX_DROPPED).contains(&rows.len()) {
        return Err(bad(format!(
            "the dropped table has {} rows; the page takes 4 to {MAX_DROPPED}",
            rows.len()
        )));
    }
    // every column but the class is an input: the page draws the table's own
    // two axes, even where `micrograd train` would set one aside as an id
    let opts = data::PrepOptions {
        task: data::Task::Classification,
        features: Some(table.header[..table.header.len() - 1].to_vec()),
        ..data::PrepOptions::default()
    };
    let fitted = data::Preprocess::fit(&table, &target, &rows, &opts)
        .and_then(|(p, _)| p.dataset(&table, &rows));
    let (mut ds, _) = fitted.map_err(|e| bad(e.to_string()))?;
    if ds.nfeatures() != 2 {
        return Err(bad(format!(
            "the page draws two inputs: the dropped table needs two number columns and its \
             class last ('{target}'); it has {} inputs ({})",
            ds.nfeatures(),
            ds.features.join(", ")
        )));
    }
    if !(2..=6).contains(&ds.nclasses()) {
        return Err(bad(format!(
            "the last column, '{target}', is the class: 2 to 6 classes, not {}",
            ds.nclasses()
        )));
    }
    ds.name = "the dropped table".into();
    Ok(ds)
}

/// Labels every parameter as the table and the graphs show it
/// (`L1.n0.w1`, `L2.n3.b`) and returns the names in parameter order.
fn name_parameters(model: &MLP) -> Vec<String> {
    let mut names = Vec::new();
    for (l, layer) in model.layers.iter().enumerate() {
        for (n, neuron) in layer.neurons.iter().enumerate() {
            for (k, w) in neuron.w.iter().enumerate() {
                names.push(format!("L{}.n{n}.w{k}", l + 1));
                w.set_label(&names[names.len() - 1]);
            }
            if let Some(b) = neuron.b {
                names.push(format!("L{}.n{n}.b", l + 1));
                b.set_label(&names[names.len() - 1]);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::{CURVE, Curve};

    #[test]
    fn a_curve_keeps_at_most_its_points_each_the_mean_of_its_steps() {
        let mut c = Curve::new();
        for step in 1..=2500 {
            c.push(step as f64);
            assert!(c.points.len() < CURVE);
        }
        // 1000 points of 1 step became 500 of 2, which became 500 of 4 at step 2000
        assert_eq!((c.every, c.points.len(), c.last), (4, 625, Some(2500.0)));
        for (k, &y) in c.points.iter().enumerate() {
            let steps = (4 * k + 1)..=(4 * k + 4);
            assert_eq!(y, steps.map(|s| s as f64).sum::<f64>() / 4.0, "point {k}");
        }
    }
}
