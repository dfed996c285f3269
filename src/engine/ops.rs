//! Every op in one place: its name, where its children are, what it
//! computes, and how a gradient flows back through it, side by side as the
//! lecture writes them.
//!
//! The rest of the engine takes its numbers from here: [`Value`]'s
//! operators run [`Op::forward`], the tape's backward and
//! [`Value::local_grads`] run [`Op::chain`] node by node, and the replay runs
//! both over a batch, a lane per sample, activations fused into a layer
//! included. To add an op: a variant below, its arms in this file, then the
//! `match`es the compiler points to: the tape's `propagate`, the replay's
//! `forward_node` and `backward_node`, and this file's test each list every
//! op with no wildcard. An op with many children also needs its arm in
//! [`Op::chain_many`] and in `Tape::children`.
//!
//! [`Value`]: super::Value
//! [`Value::local_grads`]: super::Value::local_grads

/// What made a node, and so how its gradient flows to its children.
///
/// `args` means the node's two `u32` slots: children's indices for unary and
/// binary ops, an index into `consts` for ops that keep a constant, and
/// `(start, n)` into `kids` for ops with many children ([`Kids`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Op {
    Leaf,
    Add,
    Sub,
    Mul,
    Div,
    Neg,
    /// `a + c`; the constant is not needed by backward and is not stored.
    AddC,
    /// `a - c`; the constant is not stored either.
    SubC,
    /// `a * c`, `c` in `consts[args[1]]`.
    MulC,
    /// `a / c`, `c` in `consts[args[1]]`.
    DivC,
    /// `c - a`; `c` is not needed by backward.
    RSubC,
    /// `c / a`.
    RDivC,
    /// `a ** p`, `p` in `consts[args[1]]`.
    PowC,
    /// `a ** b` with a `Value` exponent.
    Pow,
    Exp,
    Ln,
    Tanh,
    Relu,
    Sigmoid,
    Softplus,
    /// `Σ kids`, `args = (start, n)`.
    Sum,
    /// `Σ w_i x_i`, `kids[start..start+n]` are `w`, the next `n` are `x`.
    Dot,
    /// `Σ w_i x_i + b`, laid out as `Dot` with `b` after the `x`s.
    Affine,
    /// `ln Σ exp(z_i)`, `args = (start, n)`.
    LogSumExp,
}

/// Where a node's children are.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kids {
    /// None: a leaf.
    Leaf,
    /// One, `args[0]`; `args[1]` indexes `consts` when the op keeps its
    /// constant.
    One,
    /// Two, `args[0]` and `args[1]`.
    Two,
    /// `args[1]` of them from `kids[args[0]]` (`Sum`, `LogSumExp`), twice as
    /// many for `Dot`, and one more (the bias) for `Affine`.
    Many,
}

impl Op {
    /// Every op, in declaration order: `Op::ALL[op as usize] == op`.
    pub(crate) const ALL: [Op; 24] = [
        Op::Leaf,
        Op::Add,
        Op::Sub,
        Op::Mul,
        Op::Div,
        Op::Neg,
        Op::AddC,
        Op::SubC,
        Op::MulC,
        Op::DivC,
        Op::RSubC,
        Op::RDivC,
        Op::PowC,
        Op::Pow,
        Op::Exp,
        Op::Ln,
        Op::Tanh,
        Op::Relu,
        Op::Sigmoid,
        Op::Softplus,
        Op::Sum,
        Op::Dot,
        Op::Affine,
        Op::LogSumExp,
    ];

    /// The op numbered `k` (`op as u8`): how a function generic over an op
    /// (`const O: u8`) names it, so that each copy is compiled for its op.
    #[inline(always)]
    pub(crate) const fn numbered(k: u8) -> Op {
        Op::ALL[k as usize]
    }

    /// The short name micrograd's `draw_dot` shows in an op node.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Op::Leaf => "",
            Op::Add | Op::AddC => "+",
            Op::Sub | Op::SubC | Op::RSubC => "-",
            Op::Mul | Op::MulC => "*",
            Op::Div | Op::DivC | Op::RDivC => "/",
            Op::Neg => "neg",
            Op::PowC | Op::Pow => "**",
            Op::Exp => "exp",
            Op::Ln => "ln",
            Op::Tanh => "tanh",
            Op::Relu => "relu",
            Op::Sigmoid => "sigmoid",
            Op::Softplus => "softplus",
            Op::Sum => "sum",
            Op::Dot => "dot",
            Op::Affine => "affine",
            Op::LogSumExp => "logsumexp",
        }
    }

    /// Where the node's children are.
    #[inline(always)]
    pub(crate) fn kids(self) -> Kids {
        match self {
            Op::Leaf => Kids::Leaf,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Pow => Kids::Two,
            Op::Neg
            | Op::AddC
            | Op::SubC
            | Op::MulC
            | Op::DivC
            | Op::RSubC
            | Op::RDivC
            | Op::PowC
            | Op::Exp
            | Op::Ln
            | Op::Tanh
            | Op::Relu
            | Op::Sigmoid
            | Op::Softplus => Kids::One,
            Op::Sum | Op::Dot | Op::Affine | Op::LogSumExp => Kids::Many,
        }
    }

    /// Whether [`Op::chain`] reads the op's constant, so that the tape must
    /// keep it: `x * 3.0` keeps the 3.0, `x + 3.0` keeps nothing (a replay,
    /// which runs the forward again, keeps every constant while it records).
    #[inline(always)]
    pub(crate) fn needs_const(self) -> bool {
        matches!(self, Op::MulC | Op::DivC | Op::PowC)
    }

    /// The forward pass of an op with one or two children: `y = op(a, b)`,
    /// `c` its constant (`b` and `c` are ignored by the ops without them).
    #[inline(always)]
    pub(crate) fn forward(self, a: f64, b: f64, c: f64) -> f64 {
        match self {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
            Op::Pow => a.powf(b),
            Op::Neg => -a,
            Op::AddC => a + c,
            Op::SubC => a - c,
            Op::MulC => a * c,
            Op::DivC => a / c,
            Op::RSubC => c - a,
            Op::RDivC => c / a,
            Op::PowC => a.powf(c),
            Op::Exp => a.exp(),
            Op::Ln => a.ln(),
            Op::Tanh => a.tanh(),
            Op::Relu => relu(a),
            Op::Sigmoid => sigmoid(a),
            Op::Softplus => softplus(a),
            Op::Leaf | Op::Sum | Op::Dot | Op::Affine | Op::LogSumExp => {
                unreachable!("{self:?} has no two-operand forward")
            }
        }
    }

    /// The chain rule through an op with one or two children: given `g`,
    /// the gradient of its output `y`, the share `g·∂y/∂a` (`k = 0`) or
    /// `g·∂y/∂b` (`k = 1`) that child `k` receives.
    ///
    /// Operands, constant and output are passed as functions and read only
    /// by the formula asked for, so that a caller pays for no load its op
    /// does not need (on the tape, loading the output for every node made a
    /// chain's backward slower: BENCHMARKS.md, design choices).
    #[inline(always)]
    pub(crate) fn chain(
        self,
        k: usize,
        g: f64,
        a: impl Fn() -> f64,
        b: impl Fn() -> f64,
        c: impl Fn() -> f64,
        y: impl Fn() -> f64,
    ) -> f64 {
        match self {
            // d(a+b)/da = 1, d(a+b)/db = 1
            Op::Add => g,
            // d(a-b)/da = 1, d(a-b)/db = -1
            Op::Sub => pick(k, || g, || -g),
            // d(ab)/da = b, d(ab)/db = a
            Op::Mul => pick(k, || g * b(), || g * a()),
            // d(a/b)/da = 1/b, d(a/b)/db = -a/b² = -(a/b)/b
            Op::Div => pick(k, || g / b(), || -g * (y() / b())),
            // d(a^b)/da = b·a^(b-1), d(a^b)/db = a^b·ln a; 0 where a = 0 and b >= 0
            Op::Pow => pick(
                k,
                || pow_da(g, a(), b()),
                || {
                    let (x, p) = (a(), b());
                    if x == 0.0 && p >= 0.0 {
                        0.0
                    } else {
                        g * y() * x.ln()
                    }
                },
            ),
            // d(-a)/da = -1, d(c-a)/da = -1
            Op::Neg | Op::RSubC => -g,
            // d(a+c)/da = 1, d(a-c)/da = 1
            Op::AddC | Op::SubC => g,
            // d(a·c)/da = c
            Op::MulC => g * c(),
            // d(a/c)/da = 1/c
            Op::DivC => g / c(),
            // d(c/a)/da = -c/a² = -(c/a)/a
            Op::RDivC => -g * (y() / a()),
            // d(a^p)/da = p·a^(p-1); 0 when p = 0, as in PyTorch
            Op::PowC => pow_da(g, a(), c()),
            // d(e^a)/da = e^a
            Op::Exp => g * y(),
            // d(ln a)/da = 1/a
            Op::Ln => g / a(),
            // d(tanh a)/da = 1 - tanh²a
            Op::Tanh => g * (1.0 - y() * y()),
            // d(relu a)/da = 1 if a > 0 else 0
            Op::Relu => {
                if a() > 0.0 {
                    g
                } else {
                    0.0
                }
            }
            // dσ(a)/da = σ(a)(1 - σ(a))
            Op::Sigmoid => g * y() * (1.0 - y()),
            // d softplus(a)/da = σ(a)
            Op::Softplus => g * sigmoid(a()),
            Op::Leaf | Op::Sum | Op::Dot | Op::Affine | Op::LogSumExp => {
                unreachable!("{self:?} has no two-operand chain rule")
            }
        }
    }

    /// The chain rule through an op with many children, for one child: the
    /// share of `g` that child `z` receives, `partner` the value it is
    /// multiplied by (for `Dot` and `Affine`: a weight's input, an input's
    /// weight; 1 for the bias) and `y` the output.
    #[inline(always)]
    pub(crate) fn chain_many(
        self,
        g: f64,
        z: impl Fn() -> f64,
        partner: impl Fn() -> f64,
        y: impl Fn() -> f64,
    ) -> f64 {
        match self {
            // d(Σ zⱼ)/dzᵢ = 1
            Op::Sum => g,
            // d(Σ wⱼxⱼ [+ b])/dwᵢ = xᵢ, /dxᵢ = wᵢ, /db = 1
            Op::Dot | Op::Affine => g * partner(),
            // d(ln Σ e^zⱼ)/dzᵢ = e^(zᵢ - y) = softmax(z)ᵢ
            Op::LogSumExp => g * (z() - y()).exp(),
            _ => unreachable!("{self:?} has at most two children"),
        }
    }
}

/// The share of child `k` of two: `da()` for the first, `db()` for the second.
#[inline(always)]
fn pick(k: usize, da: impl FnOnce() -> f64, db: impl FnOnce() -> f64) -> f64 {
    if k == 0 { da() } else { db() }
}

/// `g·p·a^(p-1)`, and 0 when `p = 0` (as PyTorch: `a^0 = 1` is flat even at 0).
#[inline(always)]
fn pow_da(g: f64, a: f64, p: f64) -> f64 {
    if p == 0.0 {
        0.0
    } else {
        g * p * a.powf(p - 1.0)
    }
}

/// `max(0, x)`, keeping NaN (as PyTorch).
#[inline]
pub(crate) fn relu(x: f64) -> f64 {
    if x > 0.0 || x.is_nan() { x } else { 0.0 }
}

/// `1 / (1 + e^-x)`, without overflow for either sign.
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)`, without overflow for either sign.
#[inline]
pub(crate) fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `ln Σ e^zᵢ`, with the max taken out first so that it does not overflow;
/// NaN if any `zᵢ` is.
pub(crate) fn logsumexp(z: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = z.clone().fold(f64::NEG_INFINITY, |m, x| {
        if x.is_nan() || m.is_nan() {
            f64::NAN
        } else {
            m.max(x)
        }
    });
    if m.is_infinite() || m.is_nan() {
        return m;
    }
    m + z.map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::Op;
    use crate::engine::{Replay, Value, numerical_grad, scope, tape, zero_grad};

    /// A node made by `op` from the operands `x` (five of them). A `match`
    /// with no wildcard: a new op does not compile until it is covered here.
    fn made_by(op: Op, x: &[Value]) -> Value {
        match op {
            Op::Leaf => x[0],
            Op::Add => x[0] + x[1],
            Op::Sub => x[0] - x[1],
            Op::Mul => x[0] * x[1],
            Op::Div => x[0] / x[1],
            Op::Neg => -x[0],
            Op::AddC => x[0] + 1.5,
            Op::SubC => x[0] - 1.5,
            Op::MulC => x[0] * 1.5,
            Op::DivC => x[0] / 1.5,
            Op::RSubC => 1.5 - x[0],
            Op::RDivC => 1.5 / x[0],
            Op::PowC => x[0].pow(2.5),
            Op::Pow => x[0].pow(x[1]),
            Op::Exp => x[0].exp(),
            Op::Ln => x[0].ln(),
            Op::Tanh => x[0].tanh(),
            Op::Relu => x[0].relu(),
            Op::Sigmoid => x[0].sigmoid(),
            Op::Softplus => x[0].softplus(),
            Op::Sum => Value::sum(x.iter().copied()),
            Op::Dot => Value::dot(&x[..2], &x[2..4]),
            Op::Affine => Value::affine(&x[..2], &x[2..4], x[4]),
            Op::LogSumExp => Value::logsumexp(x),
        }
    }

    /// Points to check at: both signs where the op is defined for both.
    fn points(op: Op) -> Vec<[f64; 5]> {
        let positive = [0.7, 1.3, 0.4, 0.9, 0.2];
        let mixed = [-0.6, 0.8, -1.1, 0.5, -0.3];
        match op {
            Op::Ln | Op::Pow | Op::PowC => vec![positive],
            _ => vec![positive, mixed],
        }
    }

    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol * want.abs().max(1.0)
    }

    #[test]
    fn every_op_is_made_by_its_method() {
        let _s = scope();
        let x = [1.0, 2.0, 3.0, 4.0, 5.0].map(Value::new);
        for op in Op::ALL {
            let v = made_by(op, &x);
            assert_eq!(tape::with(|t| t.op[v.raw_id()]), op);
        }
    }

    #[test]
    fn every_ops_gradient_is_its_finite_difference_and_its_local_grads() {
        for op in Op::ALL {
            for p in points(op) {
                let _s = scope();
                let x = p.map(Value::new);
                let y = made_by(op, &x);
                y.backward();
                let f = |q: &[f64]| {
                    let _s = scope();
                    made_by(op, &q.iter().map(|&v| Value::new(v)).collect::<Vec<_>>()).data()
                };
                let want = numerical_grad(f, &p, 1e-6);
                for k in 0..5 {
                    let got = x[k].grad();
                    assert!(
                        close(got, want[k], 1e-6),
                        "{op:?} at {p:?}: ∂/∂x{k} {got} vs {}",
                        want[k]
                    );
                }
                // the children are distinct leaves: each edge's local derivative is its gradient
                if op != Op::Leaf {
                    let kids = y.children();
                    let local = y.local_grads();
                    assert_eq!(kids.len(), local.len(), "{op:?}");
                    for (c, d) in kids.iter().zip(&local) {
                        assert_eq!(c.grad(), *d, "{op:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_op_replays_as_the_tape_computes_it() {
        let rows: Vec<[f64; 2]> = (0..7)
            .map(|i| [0.3 * i as f64 - 0.8, 0.9 - 0.2 * i as f64])
            .collect();
        let p: Vec<Value> = [0.6, -0.4, 1.1, 0.8, 0.3].map(Value::new).to_vec();
        // lane operands, shared ones and both mixed, kept positive for ln and pow
        let f = |v: &[Value]| {
            [
                (v[0] * p[0]).exp(),
                v[1] + p[1] + 2.0,
                p[2] * v[0],
                p[3],
                p[4] - v[1],
            ]
        };
        for op in Op::ALL {
            zero_grad(&p);
            let mean = {
                let _s = scope();
                let terms = rows.iter().map(|r| {
                    let v = r.map(Value::new);
                    made_by(op, &f(&v))
                });
                let mean = Value::sum(terms) / rows.len() as f64;
                mean.backward();
                mean.data()
            };
            let want: Vec<f64> = p.iter().map(|w| w.grad()).collect();
            zero_grad(&p);
            let mut r = Replay::record(2, |v| (made_by(op, &f(v)), vec![])).unwrap();
            let got_mean = r.run(&rows);
            assert!(close(got_mean, mean, 1e-12), "{op:?}: {got_mean} vs {mean}");
            for (k, w) in p.iter().enumerate() {
                assert!(
                    close(w.grad(), want[k], 1e-12),
                    "{op:?}: ∂/∂p{k} {} vs {}",
                    w.grad(),
                    want[k]
                );
            }
        }
    }
}
