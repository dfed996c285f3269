//! microgpt: karpathy's single-file GPT, trained on this engine's tape.
//!
//! The model of his `microgpt.py` (one layer, 16-wide embeddings, 4 heads, a
//! context of 16, RMSNorm, ReLU, no biases), trained one name per step with
//! Adam written out by hand and a linearly decaying learning rate, then
//! sampled at temperature 0.5. Each step's graph is built anew, because its
//! size follows the name's length: it is the tape's work, not a replay's.
//! The dot products of `linear` and of attention are one `dot` node each (his
//! are chains of `*` and `+`; the numbers are the same sums).
//!
//! The names are `data/names.txt`, from karpathy/makemore (MIT licence).
//! His file draws its numbers from Python's `random`; this one from the
//! crate's `Rng`, so the losses are alike, not equal.
//!
//! Run: `cargo run --release --example microgpt` (his 1000 steps), or give
//! the number of steps: `cargo run --release --example microgpt -- 200`.

use std::time::{Duration, Instant};

use micrograd::{Rng, Value, scope, zero_grad};

const N_LAYER: usize = 1; // depth: transformer blocks
const N_EMBD: usize = 16; // width: embedding dimension
const BLOCK_SIZE: usize = 16; // context length (the longest name has 15 letters)
const N_HEAD: usize = 4; // attention heads
const HEAD_DIM: usize = N_EMBD / N_HEAD;

/// A matrix of parameters: `nout` rows of `nin`.
type Mat = Vec<Vec<Value>>;

/// One transformer block's weights.
pub struct Block {
    wq: Mat,
    wk: Mat,
    wv: Mat,
    wo: Mat,
    fc1: Mat,
    fc2: Mat,
}

/// The parameters: his `state_dict`.
pub struct Gpt {
    wte: Mat,
    wpe: Mat,
    lm_head: Mat,
    blocks: Vec<Block>,
}

fn matrix(rng: &mut Rng, nout: usize, nin: usize) -> Mat {
    let std = 0.08;
    let row = |rng: &mut Rng| (0..nin).map(|_| Value::new(std * rng.normal())).collect();
    (0..nout).map(|_| row(rng)).collect()
}

impl Gpt {
    fn new(vocab: usize, rng: &mut Rng) -> Gpt {
        let (wte, wpe) = (matrix(rng, vocab, N_EMBD), matrix(rng, BLOCK_SIZE, N_EMBD));
        let lm_head = matrix(rng, vocab, N_EMBD);
        let blocks = (0..N_LAYER)
            .map(|_| Block {
                wq: matrix(rng, N_EMBD, N_EMBD),
                wk: matrix(rng, N_EMBD, N_EMBD),
                wv: matrix(rng, N_EMBD, N_EMBD),
                wo: matrix(rng, N_EMBD, N_EMBD),
                fc1: matrix(rng, 4 * N_EMBD, N_EMBD),
                fc2: matrix(rng, N_EMBD, 4 * N_EMBD),
            })
            .collect();
        Gpt {
            wte,
            wpe,
            lm_head,
            blocks,
        }
    }

    /// Every parameter, flattened: what Adam updates.
    fn params(&self) -> Vec<Value> {
        let mut mats = vec![&self.wte, &self.wpe, &self.lm_head];
        for b in &self.blocks {
            mats.extend([&b.wq, &b.wk, &b.wv, &b.wo, &b.fc1, &b.fc2]);
        }
        mats.into_iter().flatten().flatten().copied().collect()
    }
}

/// `w @ x`: one dot product per row.
fn linear(x: &[Value], w: &Mat) -> Vec<Value> {
    w.iter().map(|row| Value::dot(row, x)).collect()
}

/// Probabilities from logits; the max is taken out first, as a number.
fn softmax(logits: &[Value]) -> Vec<Value> {
    let max = logits.iter().map(|l| l.data()).fold(f64::MIN, f64::max);
    let exps: Vec<Value> = logits.iter().map(|&l| (l - max).exp()).collect();
    let total = Value::sum(exps.iter().copied());
    exps.iter().map(|&e| e / total).collect()
}

/// x / sqrt(mean(x²) + 1e-5)
fn rmsnorm(x: &[Value]) -> Vec<Value> {
    let ms = Value::dot(x, x) / x.len() as f64;
    let scale = (ms + 1e-5).pow(-0.5);
    x.iter().map(|&xi| xi * scale).collect()
}

/// The keys and values of the positions seen so far, per block.
type Cache = Vec<Vec<Vec<Value>>>;

/// Causal self-attention of `q` over the cached keys and values, head by head.
fn attention(q: &[Value], keys: &[Vec<Value>], values: &[Vec<Value>]) -> Vec<Value> {
    let mut out = Vec::with_capacity(N_EMBD);
    for h in 0..N_HEAD {
        let hs = h * HEAD_DIM..(h + 1) * HEAD_DIM;
        let q_h = &q[hs.clone()];
        let logits: Vec<Value> = keys
            .iter()
            .map(|k| Value::dot(q_h, &k[hs.clone()]) / (HEAD_DIM as f64).sqrt())
            .collect();
        let weights = softmax(&logits);
        for j in hs {
            out.push(Value::sum(
                weights.iter().zip(values).map(|(&w, v)| w * v[j]),
            ));
        }
    }
    out
}

/// The logits of the token after `token` at `pos`, given the cache.
fn gpt(m: &Gpt, token: usize, pos: usize, keys: &mut Cache, values: &mut Cache) -> Vec<Value> {
    let x: Vec<Value> = (m.wte[token].iter().zip(&m.wpe[pos]))
        .map(|(&t, &p)| t + p)
        .collect();
    let mut x = rmsnorm(&x); // not redundant: the residual stream starts here
    for (li, b) in m.blocks.iter().enumerate() {
        // 1) multi-head attention
        let residual = x.clone();
        let xn = rmsnorm(&x);
        let q = linear(&xn, &b.wq);
        keys[li].push(linear(&xn, &b.wk));
        values[li].push(linear(&xn, &b.wv));
        let att = attention(&q, &keys[li], &values[li]);
        x = add(&linear(&att, &b.wo), &residual);
        // 2) MLP
        let residual = x.clone();
        let h: Vec<Value> = linear(&rmsnorm(&x), &b.fc1)
            .iter()
            .map(|h| h.relu())
            .collect();
        x = add(&linear(&h, &b.fc2), &residual);
    }
    linear(&x, &m.lm_head)
}

fn add(a: &[Value], b: &[Value]) -> Vec<Value> {
    a.iter().zip(b).map(|(&a, &b)| a + b).collect()
}

/// The names, and the tokenizer: one token per letter, and `BOS` (the last
/// id) before and after each name.
pub struct Data {
    /// The names, shuffled.
    pub docs: Vec<String>,
    /// The letters, sorted: token `i` is `chars[i]`.
    pub chars: Vec<char>,
}

impl Data {
    fn load(rng: &mut Rng) -> Data {
        let text = include_str!("../data/names.txt");
        let mut docs: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        rng.shuffle(&mut docs);
        let mut chars: Vec<char> = docs.iter().flat_map(|d| d.chars()).collect();
        chars.sort_unstable();
        chars.dedup();
        Data { docs, chars }
    }

    fn bos(&self) -> usize {
        self.chars.len()
    }

    fn tokens(&self, doc: &str) -> Vec<usize> {
        let ids = doc
            .chars()
            .map(|c| self.chars.binary_search(&c).unwrap_or(self.bos()));
        [self.bos()]
            .into_iter()
            .chain(ids)
            .chain([self.bos()])
            .collect()
    }
}

/// What a run gives back.
pub struct Out {
    /// The loss of each step.
    pub losses: Vec<f64>,
    /// Names sampled after training.
    pub samples: Vec<String>,
    /// The letters the names are made of.
    pub chars: Vec<char>,
    /// Time spent building the forward graph, in backward, and in Adam.
    pub times: [Duration; 3],
}

/// Adam's state and settings (his `learning_rate, beta1, beta2, eps_adam`).
struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    const LR: f64 = 0.01;
    const B1: f64 = 0.85;
    const B2: f64 = 0.99;
    const EPS: f64 = 1e-8;

    /// One update at `step` of `steps`, with a linearly decaying rate.
    fn step(&mut self, params: &[Value], step: usize, steps: usize) {
        let lr = Adam::LR * (1.0 - step as f64 / steps as f64);
        let t = step as i32 + 1;
        for (i, p) in params.iter().enumerate() {
            let g = p.grad();
            self.m[i] = Adam::B1 * self.m[i] + (1.0 - Adam::B1) * g;
            self.v[i] = Adam::B2 * self.v[i] + (1.0 - Adam::B2) * g * g;
            let m_hat = self.m[i] / (1.0 - Adam::B1.powi(t));
            let v_hat = self.v[i] / (1.0 - Adam::B2.powi(t));
            p.set_data(p.data() - lr * m_hat / (v_hat.sqrt() + Adam::EPS));
        }
    }
}

/// Trains for `steps` steps from `seed`, then samples `n_samples` names.
pub fn run(steps: usize, seed: u64, n_samples: usize, verbose: bool) -> Out {
    let mut rng = Rng::new(seed);
    let data = Data::load(&mut rng);
    let model = Gpt::new(data.bos() + 1, &mut rng);
    let params = model.params();
    if verbose {
        let (docs, vocab, n) = (data.docs.len(), data.bos() + 1, params.len());
        println!("num docs: {docs}, vocab size: {vocab}, num params: {n}");
    }
    let mut adam = Adam {
        m: vec![0.0; params.len()],
        v: vec![0.0; params.len()],
    };
    let (mut losses, mut times) = (Vec::with_capacity(steps), [Duration::ZERO; 3]);
    for step in 0..steps {
        let _step = scope(); // this step's graph is freed at the end of the loop
        let t0 = Instant::now();
        let tokens = data.tokens(&data.docs[step % data.docs.len()]);
        let n = BLOCK_SIZE.min(tokens.len() - 1);
        let (mut keys, mut values) = (vec![vec![]; N_LAYER], vec![vec![]; N_LAYER]);
        let mut nll = Vec::with_capacity(n);
        for pos in 0..n {
            let logits = gpt(&model, tokens[pos], pos, &mut keys, &mut values);
            nll.push(-softmax(&logits)[tokens[pos + 1]].ln());
        }
        let loss = Value::sum(nll) * (1.0 / n as f64); // the mean over the name
        let t1 = Instant::now();
        zero_grad(&params);
        loss.backward();
        let t2 = Instant::now();
        adam.step(&params, step, steps);
        let t3 = Instant::now();
        for (t, d) in times.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
            *t += d;
        }
        losses.push(loss.data());
        if verbose && ((step + 1) % 100 == 0 || step + 1 == steps) {
            let last = &losses[losses.len().saturating_sub(100)..];
            let mean = last.iter().sum::<f64>() / last.len() as f64;
            println!(
                "step {:4} / {steps:4} | loss {:.4} | mean of the last {} {mean:.4}",
                step + 1,
                loss.data(),
                last.len()
            );
        }
    }
    let samples = (0..n_samples)
        .map(|_| sample(&model, &data, &mut rng))
        .collect();
    Out {
        losses,
        samples,
        chars: data.chars,
        times,
    }
}

/// One name, drawn letter by letter at temperature 0.5 until `BOS`.
fn sample(model: &Gpt, data: &Data, rng: &mut Rng) -> String {
    let _s = scope();
    let (mut keys, mut values) = (vec![vec![]; N_LAYER], vec![vec![]; N_LAYER]);
    let (mut token, mut name) = (data.bos(), String::new());
    for pos in 0..BLOCK_SIZE {
        let logits: Vec<Value> = gpt(model, token, pos, &mut keys, &mut values);
        let probs = softmax(&logits.iter().map(|&l| l / 0.5).collect::<Vec<_>>());
        let mut r = rng.next_f64();
        token = probs.len() - 1;
        for (k, p) in probs.iter().enumerate() {
            r -= p.data();
            if r < 0.0 {
                token = k;
                break;
            }
        }
        if token == data.bos() {
            break;
        }
        name.push(data.chars[token]);
    }
    name
}

#[allow(dead_code)] // tests/examples.rs includes this file for `run`
fn main() {
    let steps = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 1000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!(
                "usage: microgpt [STEPS]   (a positive number of training steps; 1000 by default)"
            );
            std::process::exit(2);
        }
    };
    let out = run(steps, 42, 20, true);
    let per = |d: Duration| d.as_secs_f64() * 1e3 / steps as f64;
    let [f, b, a] = out.times;
    println!(
        "per step: forward {:.3} ms, backward {:.3} ms, adam {:.3} ms",
        per(f),
        per(b),
        per(a)
    );
    println!("--- inference (new, hallucinated names) ---");
    for (i, s) in out.samples.iter().enumerate() {
        println!("sample {:2}: {s}", i + 1);
    }
}
