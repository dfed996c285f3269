//! Rust's operators on values: `+ - * /` between values and with `f64` on
//! either side, unary `-`, `+= -= *= /=`, `Sum`, and what `pow` accepts.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::ops::Op;
use super::value::Value;

/// What [`Value::pow`] accepts as an exponent: `f64`, `i32` or `Value`.
///
/// ```
/// use micrograd::Value;
/// let x = Value::new(2.0);
/// assert_eq!(x.pow(3).data(), 8.0);
/// assert_eq!(x.pow(-1.0).data(), 0.5);
/// assert_eq!(x.pow(Value::new(0.5)).data(), 2f64.sqrt());
/// ```
pub trait Exponent: sealed::Sealed {
    /// Builds `base ** self`.
    fn raise(self, base: Value) -> Value;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f64 {}
    impl Sealed for i32 {}
    impl Sealed for super::Value {}
}

impl Exponent for f64 {
    fn raise(self, base: Value) -> Value {
        base.with_const(Op::PowC, self)
    }
}

impl Exponent for i32 {
    fn raise(self, base: Value) -> Value {
        base.pow(f64::from(self))
    }
}

impl Exponent for Value {
    fn raise(self, base: Value) -> Value {
        base.binary(self, Op::Pow) // d/dx = p·x^(p-1), d/dp = x^p·ln x
    }
}

// ----- operators ---------------------------------------------------------------

impl Add for Value {
    type Output = Value;
    /// d(a+b)/da = 1, d(a+b)/db = 1.
    #[inline]
    fn add(self, rhs: Value) -> Value {
        self.binary(rhs, Op::Add)
    }
}

impl Sub for Value {
    type Output = Value;
    /// d(a-b)/da = 1, d(a-b)/db = -1.
    #[inline]
    fn sub(self, rhs: Value) -> Value {
        self.binary(rhs, Op::Sub)
    }
}

impl Mul for Value {
    type Output = Value;
    /// d(ab)/da = b, d(ab)/db = a.
    #[inline]
    fn mul(self, rhs: Value) -> Value {
        self.binary(rhs, Op::Mul)
    }
}

impl Div for Value {
    type Output = Value;
    /// d(a/b)/da = 1/b, d(a/b)/db = -a/b².
    #[inline]
    fn div(self, rhs: Value) -> Value {
        self.binary(rhs, Op::Div)
    }
}

impl Neg for Value {
    type Output = Value;
    /// d(-a)/da = -1.
    #[inline]
    fn neg(self) -> Value {
        self.unary(Op::Neg)
    }
}

impl Add<f64> for Value {
    type Output = Value;
    /// d(a+c)/da = 1.
    #[inline]
    fn add(self, c: f64) -> Value {
        self.with_const(Op::AddC, c)
    }
}

impl Sub<f64> for Value {
    type Output = Value;
    /// d(a-c)/da = 1.
    #[inline]
    fn sub(self, c: f64) -> Value {
        self.with_const(Op::SubC, c)
    }
}

impl Mul<f64> for Value {
    type Output = Value;
    /// d(a·c)/da = c.
    #[inline]
    fn mul(self, c: f64) -> Value {
        self.with_const(Op::MulC, c)
    }
}

impl Div<f64> for Value {
    type Output = Value;
    /// d(a/c)/da = 1/c.
    #[inline]
    fn div(self, c: f64) -> Value {
        self.with_const(Op::DivC, c)
    }
}

impl Add<Value> for f64 {
    type Output = Value;
    /// d(c+a)/da = 1.
    #[inline]
    fn add(self, v: Value) -> Value {
        v + self
    }
}

impl Sub<Value> for f64 {
    type Output = Value;
    /// d(c-a)/da = -1.
    #[inline]
    fn sub(self, v: Value) -> Value {
        v.with_const(Op::RSubC, self)
    }
}

impl Mul<Value> for f64 {
    type Output = Value;
    /// d(c·a)/da = c.
    #[inline]
    fn mul(self, v: Value) -> Value {
        v * self
    }
}

impl Div<Value> for f64 {
    type Output = Value;
    /// d(c/a)/da = -c/a²: a node of the graph, not a plain number as
    /// some Python ports' `__rtruediv__` return (cutting `c / x` off the graph).
    #[inline]
    fn div(self, v: Value) -> Value {
        v.with_const(Op::RDivC, self)
    }
}

macro_rules! assign_ops {
    ($($tr:ident $method:ident $op:tt),*) => {$(
        impl $tr<Value> for Value {
            /// Rebinds `self` to a new node; the old node keeps its place in the graph.
            fn $method(&mut self, rhs: Value) {
                *self = *self $op rhs;
            }
        }
        impl $tr<f64> for Value {
            /// Rebinds `self` to a new node; the old node keeps its place in the graph.
            fn $method(&mut self, rhs: f64) {
                *self = *self $op rhs;
            }
        }
    )*};
}
assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /);

impl std::iter::Sum for Value {
    /// One [`Value::sum`] node.
    fn sum<I: Iterator<Item = Value>>(iter: I) -> Value {
        Value::sum(iter)
    }
}

impl<'a> std::iter::Sum<&'a Value> for Value {
    /// One [`Value::sum`] node.
    fn sum<I: Iterator<Item = &'a Value>>(iter: I) -> Value {
        Value::sum(iter.copied())
    }
}

impl From<f64> for Value {
    /// A new leaf, as [`Value::new`].
    fn from(x: f64) -> Value {
        Value::new(x)
    }
}
