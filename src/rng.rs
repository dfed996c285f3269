//! A small deterministic random number generator (xoshiro256**, seeded by
//! SplitMix64), so that the same seed gives the same weights and data sets on
//! every machine and with every version of every dependency.

use std::cell::RefCell;

/// xoshiro256** by Blackman and Vigna: fast, small, and its output is fixed
/// by its definition, not by a crate version.
///
/// ```
/// use micrograd::Rng;
/// let mut a = Rng::new(42);
/// let mut b = Rng::new(42);
/// assert_eq!(a.uniform(-1.0, 1.0), b.uniform(-1.0, 1.0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole output is fixed by `seed`.
    ///
    /// ```
    /// let x = micrograd::Rng::new(7).next_u64();
    /// assert_eq!(x, micrograd::Rng::new(7).next_u64());
    /// ```
    pub fn new(seed: u64) -> Rng {
        let mut z = seed;
        let mut s = [0u64; 4];
        for v in &mut s {
            // SplitMix64
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *v = x ^ (x >> 31);
        }
        Rng { s }
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// let mut r = micrograd::Rng::new(1);
    /// assert_ne!(r.next_u64(), r.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in [0, 1), with 53 random bits.
    ///
    /// ```
    /// let u = micrograd::Rng::new(3).next_f64();
    /// assert!((0.0..1.0).contains(&u));
    /// ```
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi), as `random.uniform(lo, hi)` in micrograd.
    ///
    /// ```
    /// let x = micrograd::Rng::new(3).uniform(-1.0, 1.0);
    /// assert!((-1.0..1.0).contains(&x));
    /// ```
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// Standard normal (Box–Muller).
    ///
    /// ```
    /// let mut r = micrograd::Rng::new(5);
    /// let n = 10_000;
    /// let mean = (0..n).map(|_| r.normal()).sum::<f64>() / n as f64;
    /// assert!(mean.abs() < 0.05);
    /// ```
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln is finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform integer in `0..n` (n > 0).
    ///
    /// ```
    /// let k = micrograd::Rng::new(9).below(6);
    /// assert!(k < 6);
    /// ```
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Shuffles in place (Fisher–Yates).
    ///
    /// ```
    /// let mut v: Vec<u32> = (0..10).collect();
    /// micrograd::Rng::new(1).shuffle(&mut v);
    /// let mut s = v.clone();
    /// s.sort();
    /// assert_eq!(s, (0..10).collect::<Vec<_>>());
    /// ```
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

thread_local! {
    static GLOBAL: RefCell<Rng> = RefCell::new(Rng::new(0));
}

/// Reseeds this thread's generator, which `Neuron::new`, `Layer::new` and
/// `MLP::new` draw from (micrograd's demo calls `random.seed(1337)`).
///
/// Every thread's generator starts from seed 0, so that a program makes the
/// same weights each run: two threads that never call `seed` draw the same
/// weights. Give each thread its own seed (or use
/// [`MlpBuilder::seed`](crate::MlpBuilder::seed)) to make them differ:
///
/// ```
/// use micrograd::{MLP, Module};
/// let draw = |k: Option<u64>| std::thread::spawn(move || {
///     if let Some(k) = k { micrograd::seed(k) }
///     MLP::new(2, &[2]).parameter_data()
/// }).join().unwrap();
/// assert_eq!(draw(None), draw(None));
/// assert_ne!(draw(Some(1)), draw(Some(2)));
/// ```
///
/// ```
/// use micrograd::{MLP, Module, seed};
/// seed(1337);
/// let a = MLP::new(2, &[3, 1]).parameter_data();
/// seed(1337);
/// let b = MLP::new(2, &[3, 1]).parameter_data();
/// assert_eq!(a, b);
/// ```
pub fn seed(seed: u64) {
    GLOBAL.with(|g| *g.borrow_mut() = Rng::new(seed));
}

/// Runs `f` with this thread's generator.
pub(crate) fn with_global<R>(f: impl FnOnce(&mut Rng) -> R) -> R {
    GLOBAL.with(|g| f(&mut g.borrow_mut()))
}
