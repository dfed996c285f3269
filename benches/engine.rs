//! Engine benchmark: a chain `x = x*1.0001 + 0.0001` of 10^6 iterations
//! (2·10^6 op nodes), forward and backward, against a reference measured in
//! the same run: the usual Rust port of micrograd (`Rc<RefCell<Node>>` graph,
//! topological sort with a `HashSet`).
//!
//! Run: `cargo bench --bench engine` (prints medians of 7 runs).

use std::hint::black_box;
use std::time::Instant;

use micrograd::{Value, scope, stats};

const ITERS: usize = 1_000_000;
const NODES: usize = 2 * ITERS;
const RUNS: usize = 7;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn chain(x0: Value) -> Value {
    let mut x = x0;
    for _ in 0..ITERS {
        x = x * 1.0001 + 0.0001;
    }
    x
}

/// One run on this thread: (forward ns/node, backward ns/node).
fn run_ours() -> (f64, f64) {
    let x0 = Value::new(1.0);
    let _s = scope();
    let t = Instant::now();
    let y = chain(x0);
    let fwd = t.elapsed().as_secs_f64();
    let t = Instant::now();
    y.backward();
    let bwd = t.elapsed().as_secs_f64();
    black_box(x0.grad());
    (fwd * 1e9 / NODES as f64, bwd * 1e9 / NODES as f64)
}

mod reference {
    //! A typical port: one heap node per value, shared with `Rc<RefCell<_>>`,
    //! backward over a topological order built with a `HashSet` (iteratively,
    //! so that it survives the chain's depth).
    use std::cell::RefCell;
    use std::collections::HashSet;
    use std::rc::Rc;

    pub enum Op {
        Leaf,
        Add,
        Mul,
    }
    pub struct Node {
        pub data: f64,
        pub grad: f64,
        pub op: Op,
        pub prev: Vec<V>,
    }
    #[derive(Clone)]
    pub struct V(pub Rc<RefCell<Node>>);

    impl V {
        pub fn new(data: f64) -> V {
            V::make(data, Op::Leaf, vec![])
        }
        fn make(data: f64, op: Op, prev: Vec<V>) -> V {
            V(Rc::new(RefCell::new(Node {
                data,
                grad: 0.0,
                op,
                prev,
            })))
        }
        pub fn add(&self, o: &V) -> V {
            let d = self.0.borrow().data + o.0.borrow().data;
            V::make(d, Op::Add, vec![self.clone(), o.clone()])
        }
        pub fn mul(&self, o: &V) -> V {
            let d = self.0.borrow().data * o.0.borrow().data;
            V::make(d, Op::Mul, vec![self.clone(), o.clone()])
        }
        pub fn backward(&self) {
            let mut topo: Vec<V> = vec![];
            let mut seen = HashSet::new();
            let mut stack = vec![(self.clone(), false)];
            while let Some((v, done)) = stack.pop() {
                let key = Rc::as_ptr(&v.0) as usize;
                if done {
                    topo.push(v);
                    continue;
                }
                if !seen.insert(key) {
                    continue;
                }
                stack.push((v.clone(), true));
                for c in &v.0.borrow().prev {
                    stack.push((c.clone(), false));
                }
            }
            self.0.borrow_mut().grad = 1.0;
            for v in topo.iter().rev() {
                let n = v.0.borrow();
                match n.op {
                    Op::Leaf => {}
                    Op::Add => {
                        for c in &n.prev {
                            c.0.borrow_mut().grad += n.grad;
                        }
                    }
                    Op::Mul => {
                        let (a, b) = (&n.prev[0], &n.prev[1]);
                        let (ad, bd) = (a.0.borrow().data, b.0.borrow().data);
                        a.0.borrow_mut().grad += bd * n.grad;
                        b.0.borrow_mut().grad += ad * n.grad;
                    }
                }
            }
        }
    }

    /// Drops a deep graph without recursion (the default drop would overflow).
    pub fn free(root: V) {
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            if let Ok(cell) = Rc::try_unwrap(v.0) {
                stack.extend(cell.into_inner().prev);
            }
        }
    }
}

fn run_reference() -> (f64, f64) {
    use reference::V;
    let x0 = V::new(1.0);
    let t = Instant::now();
    let mut x = x0.clone();
    for _ in 0..ITERS {
        // micrograd wraps constants in leaf nodes
        x = x.mul(&V::new(1.0001)).add(&V::new(0.0001));
    }
    let fwd = t.elapsed().as_secs_f64();
    let t = Instant::now();
    x.backward();
    let bwd = t.elapsed().as_secs_f64();
    black_box(x0.0.borrow().grad);
    reference::free(x);
    (fwd * 1e9 / NODES as f64, bwd * 1e9 / NODES as f64)
}

/// The floor of a tape that passes every number through memory: each node
/// loads its input from the slot that the node before it has just written,
/// so the core waits for that store to reach the load, plus the arithmetic,
/// node after node. (Ours carries a chain's numbers in registers instead,
/// the forward's in its handles and the backward's from one node to the
/// next, so it can run below this.) Here with nothing else: the children's
/// indices are read from a column, as a tape does, and every slot exists
/// beforehand. Forward: `d[k] = d[kid[k]] * c` or `+ e`; backward:
/// `g[kid[k]] = g[k] * c` or `g[k]`.
fn dependent_floor() -> (f64, f64) {
    let kid: Vec<u32> = (0..=NODES as u32).map(|k| k.saturating_sub(1)).collect();
    let mut d = vec![1.0f64; NODES + 1];
    let t = Instant::now();
    for k in 1..=NODES {
        let x = d[kid[k] as usize];
        d[k] = if k % 2 == 1 { x * 1.0001 } else { x + 0.0001 };
    }
    let fwd = t.elapsed().as_secs_f64();
    let mut g = vec![0.0f64; NODES + 1];
    let t = Instant::now();
    g[NODES] = 1.0;
    for k in (1..=NODES).rev() {
        let gk = g[k];
        g[kid[k] as usize] = if k % 2 == 1 { gk * 1.0001 } else { gk };
    }
    let bwd = t.elapsed().as_secs_f64();
    black_box((d, g));
    (fwd * 1e9 / NODES as f64, bwd * 1e9 / NODES as f64)
}

fn main() {
    println!(
        "chain x = x*1.0001 + 0.0001, {ITERS} iterations = {NODES} op nodes, median of {RUNS} runs"
    );
    println!();

    // Cold: a fresh thread per run, so the tape starts with no capacity.
    let cold: Vec<(f64, f64)> = (0..RUNS)
        .map(|_| std::thread::spawn(run_ours).join().unwrap())
        .collect();
    // Warm: one thread; each run's scope frees its nodes and keeps the capacity.
    let warm: Vec<(f64, f64)> = (0..RUNS).map(|_| run_ours()).collect();
    let reference: Vec<(f64, f64)> = (0..RUNS).map(|_| run_reference()).collect();

    let bytes = std::thread::spawn(|| {
        let x0 = Value::new(1.0);
        let y = chain(x0);
        y.backward();
        let s = stats();
        (
            s.bytes_used as f64 / s.nodes as f64,
            s.bytes_allocated as f64 / s.nodes as f64,
        )
    })
    .join()
    .unwrap();

    // The floor for a cold run on this machine: the same bytes a forward
    // pass writes (8 data + 1 op + 8 children + 8 per 2 nodes for constants),
    // pushed into fresh Vecs on a fresh thread.
    let floor: Vec<f64> = (0..RUNS)
        .map(|_| {
            std::thread::spawn(|| {
                let t = Instant::now();
                let (mut d, mut o, mut a, mut c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for i in 0..NODES as u32 {
                    d.push(f64::from(i));
                    o.push(i as u8);
                    a.push([i, i]);
                    if i % 2 == 0 {
                        c.push(1.0f64);
                    }
                }
                let ns = t.elapsed().as_secs_f64() * 1e9 / NODES as f64;
                black_box((d, o, a, c));
                ns
            })
            .join()
            .unwrap()
        })
        .collect();

    let chained: Vec<(f64, f64)> = (0..RUNS).map(|_| dependent_floor()).collect();

    let row = |name: &str, runs: &[(f64, f64)]| {
        let f = median(runs.iter().map(|r| r.0).collect());
        let b = median(runs.iter().map(|r| r.1).collect());
        println!("{name:<44} {f:>10.2} {b:>10.2}");
    };
    println!("{:<44} {:>10} {:>10}", "", "fwd ns/node", "bwd ns/node");
    row("micrograd (tape, fresh thread each run)", &cold);
    row("micrograd (tape, capacity reused by scope)", &warm);
    row("reference: Rc<RefCell> graph + HashSet topo", &reference);
    println!(
        "{:<44} {:>10.2}",
        "floor: pushing those bytes to fresh Vecs",
        median(floor)
    );
    row("floor: each node's number via memory", &chained);
    println!();
    println!(
        "bytes/node, gradient included, labels aside: {:.1} in use, {:.1} allocated",
        bytes.0, bytes.1
    );

    // Depth: 10^7 op nodes on the main thread's default stack; no recursion
    // in building, backward, or freeing.
    let x0 = Value::new(1.0);
    let t = Instant::now();
    let s = scope();
    let y = {
        let mut x = x0;
        for _ in 0..5_000_000 {
            x = x * 1.0001 + 0.0001;
        }
        x
    };
    let build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    y.backward();
    let back = t.elapsed().as_secs_f64();
    let want = 1.0001f64.powi(5_000_000);
    assert!((x0.grad() / want - 1.0).abs() < 1e-6);
    let t = Instant::now();
    drop(s);
    let free = t.elapsed().as_secs_f64();
    println!(
        "10^7 op nodes on the main thread: built in {build:.3} s, backward {back:.3} s, freed in {free:.4} s; dx/dx0 = {:.6e} (exact: {want:.6e})",
        x0.grad()
    );
}
