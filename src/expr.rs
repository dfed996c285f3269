//! Expressions as text: `"tanh(x1*w1 + x2*w2 + b)"` parsed into a graph of
//! [`Value`]s, for checking hand-derived gradients.
//!
//! Grammar, loosest first: `+ -`, then `* /`, then unary `-`, then `^` or
//! `**` (right-associative, so `-x^2` is `-(x^2)` and `2^3^2` is `2^9`);
//! operands are numbers (`2`, `0.5`, `1e-3`), variables, parenthesised
//! expressions and calls of `exp ln log tanh relu sigmoid` (`log` is the
//! natural log). Errors give the 1-based column.

use std::collections::BTreeMap;
use std::fmt;

use crate::engine::Value;

/// A syntax or naming error, at a column of the expression.
///
/// ```
/// let e = micrograd::expr::parse("x +").unwrap_err();
/// assert_eq!(e.column, 4);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// 1-based column (in characters) where the problem is.
    pub column: usize,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ExprError {}

impl ExprError {
    /// The expression with a caret under the column, and the message.
    ///
    /// ```
    /// let e = micrograd::expr::parse("x * * y").unwrap_err();
    /// assert_eq!(e.pointed("x * * y"), "x * * y\n    ^ expected a number, a name or '(', found '*'");
    /// ```
    pub fn pointed(&self, source: &str) -> String {
        let pad = " ".repeat(self.column.saturating_sub(1));
        format!("{source}\n{pad}^ {}", self.message)
    }
}

const FUNCTIONS: [&str; 6] = ["exp", "ln", "log", "tanh", "relu", "sigmoid"];
/// Parentheses, calls and unary minus nested deeper than this are refused,
/// so that no input can exhaust the stack.
const MAX_DEPTH: usize = 200;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Op(char), // + - * / ^ ( ) ; `**` is read as '^'
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let v: f64 = text.parse().map_err(|_| ExprError {
                column: col,
                message: format!("'{text}' is not a number"),
            })?;
            out.push((Tok::Num(v), col));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Name(chars[start..i].iter().collect()), col));
        } else if c == '*' && chars.get(i + 1) == Some(&'*') {
            out.push((Tok::Op('^'), col));
            i += 2;
        } else if "+-*/^()".contains(c) {
            out.push((Tok::Op(c), col));
            i += 1;
        } else {
            return Err(ExprError {
                column: col,
                message: format!("unexpected character '{c}'"),
            });
        }
    }
    Ok(out)
}

/// A parsed expression: its tokens, checked, and the variables it uses.
///
/// ```
/// let e = micrograd::expr::parse("a*b + a").unwrap();
/// assert_eq!(e.variables(), vec!["a", "b"]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    toks: Vec<(Tok, usize)>,
    end: usize,
    vars: Vec<(String, usize)>,
}

/// Parses `src`, checking its syntax; [`Expr::eval`] then builds its graph.
///
/// ```
/// use micrograd::expr::parse;
/// let e = parse("tanh(x1*w1 + x2*w2 + b)").unwrap();
/// assert_eq!(e.variables(), vec!["x1", "w1", "x2", "w2", "b"]);
/// let err = parse("2 * (x + 1").unwrap_err();
/// assert_eq!(err.to_string(), "column 11: expected ')' to close the '(' at column 5");
/// ```
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let toks = lex(src)?;
    let end = src.chars().count() + 1;
    let mut vars: Vec<(String, usize)> = Vec::new();
    for (t, col) in &toks {
        if let Tok::Name(n) = t {
            let is_call = FUNCTIONS.contains(&n.as_str());
            if !is_call && !vars.iter().any(|(v, _)| v == n) {
                vars.push((n.clone(), *col));
            }
        }
    }
    let e = Expr { toks, end, vars };
    // a dry run with every variable at 1 checks the syntax
    let ones: BTreeMap<String, Value> = BTreeMap::new();
    let _s = crate::engine::scope();
    Parser::new(&e, &ones, true).run()?;
    Ok(e)
}

impl Expr {
    /// The variables, in order of first appearance (function names excluded).
    ///
    /// ```
    /// assert_eq!(micrograd::expr::parse("tanh(y) * x").unwrap().variables(), vec!["y", "x"]);
    /// ```
    pub fn variables(&self) -> Vec<&str> {
        self.vars.iter().map(|(v, _)| v.as_str()).collect()
    }

    /// Builds the expression's graph with the given leaves for its variables.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use micrograd::{Value, expr::parse};
    /// let e = parse("x^2 + 3*x").unwrap();
    /// let x = Value::new(2.0);
    /// let y = e.eval(&BTreeMap::from([("x".to_string(), x)])).unwrap();
    /// y.backward();
    /// assert_eq!((y.data(), x.grad()), (10.0, 7.0));
    /// let err = e.eval(&BTreeMap::new()).unwrap_err();
    /// assert_eq!(err.to_string(), "column 1: no value given for 'x'");
    /// ```
    pub fn eval(&self, vars: &BTreeMap<String, Value>) -> Result<Value, ExprError> {
        Parser::new(self, vars, false).run()
    }
}

/// An operand while parsing: a plain number (constant-folded, so that `x^2`
/// and `x^(1/2)` keep their exponent as a number) or a node of the graph.
#[derive(Clone, Copy)]
enum Term {
    Num(f64),
    Val(Value),
}

impl Term {
    fn value(self) -> Value {
        match self {
            Term::Num(c) => Value::new(c),
            Term::Val(v) => v,
        }
    }
}

fn apply(op: char, a: Term, b: Term) -> Term {
    use Term::{Num, Val};
    match (op, a, b) {
        ('+', Num(x), Num(y)) => Num(x + y),
        ('-', Num(x), Num(y)) => Num(x - y),
        ('*', Num(x), Num(y)) => Num(x * y),
        ('/', Num(x), Num(y)) => Num(x / y),
        ('^', Num(x), Num(y)) => Num(x.powf(y)),
        ('+', Val(x), Num(y)) => Val(x + y),
        ('-', Val(x), Num(y)) => Val(x - y),
        ('*', Val(x), Num(y)) => Val(x * y),
        ('/', Val(x), Num(y)) => Val(x / y),
        ('^', Val(x), Num(y)) => Val(x.pow(y)),
        ('+', Num(x), Val(y)) => Val(x + y),
        ('-', Num(x), Val(y)) => Val(x - y),
        ('*', Num(x), Val(y)) => Val(x * y),
        ('/', Num(x), Val(y)) => Val(x / y),
        ('+', a, b) => Val(a.value() + b.value()),
        ('-', a, b) => Val(a.value() - b.value()),
        ('*', a, b) => Val(a.value() * b.value()),
        ('/', a, b) => Val(a.value() / b.value()),
        (_, a, b) => Val(a.value().pow(b.value())),
    }
}

fn call(f: &str, a: Term) -> Term {
    let num = |g: fn(f64) -> f64| match a {
        Term::Num(x) => Some(Term::Num(g(x))),
        Term::Val(_) => None,
    };
    let folded = match f {
        "exp" => num(f64::exp),
        "ln" | "log" => num(f64::ln),
        "tanh" => num(f64::tanh),
        "relu" => num(|x| if x > 0.0 || x.is_nan() { x } else { 0.0 }),
        _ => num(crate::engine::value_sigmoid),
    };
    folded.unwrap_or_else(|| {
        let v = a.value();
        Term::Val(match f {
            "exp" => v.exp(),
            "ln" | "log" => v.ln(),
            "tanh" => v.tanh(),
            "relu" => v.relu(),
            _ => v.sigmoid(),
        })
    })
}

struct Parser<'a> {
    e: &'a Expr,
    vars: &'a BTreeMap<String, Value>,
    /// Syntax check only: every variable reads as 1.
    dry: bool,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(e: &'a Expr, vars: &'a BTreeMap<String, Value>, dry: bool) -> Self {
        Parser {
            e,
            vars,
            dry,
            pos: 0,
            depth: 0,
        }
    }

    fn run(mut self) -> Result<Value, ExprError> {
        if self.e.toks.is_empty() {
            return Err(self.error_at(1, "empty expression".into()));
        }
        let t = self.expr()?;
        if let Some((tok, col)) = self.e.toks.get(self.pos) {
            return Err(self.error_at(
                *col,
                format!("unexpected {} after the expression", show(tok)),
            ));
        }
        Ok(t.value())
    }

    fn error_at(&self, column: usize, message: String) -> ExprError {
        ExprError { column, message }
    }

    fn peek(&self) -> Option<&Tok> {
        self.e.toks.get(self.pos).map(|(t, _)| t)
    }

    fn col(&self) -> usize {
        self.e.toks.get(self.pos).map_or(self.e.end, |(_, c)| *c)
    }

    fn deeper(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.col(), format!("nested more than {MAX_DEPTH} deep")));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Term, ExprError> {
        let mut acc = self.term()?;
        while let Some(&Tok::Op(op @ ('+' | '-'))) = self.peek() {
            self.pos += 1;
            let rhs = self.term()?;
            acc = apply(op, acc, rhs);
        }
        Ok(acc)
    }

    fn term(&mut self) -> Result<Term, ExprError> {
        let mut acc = self.unary()?;
        while let Some(&Tok::Op(op @ ('*' | '/'))) = self.peek() {
            self.pos += 1;
            let rhs = self.unary()?;
            acc = apply(op, acc, rhs);
        }
        Ok(acc)
    }

    fn unary(&mut self) -> Result<Term, ExprError> {
        if let Some(Tok::Op('-')) = self.peek() {
            self.pos += 1;
            self.deeper()?;
            let t = self.unary()?;
            self.depth -= 1;
            return Ok(match t {
                Term::Num(x) => Term::Num(-x),
                Term::Val(v) => Term::Val(-v),
            });
        }
        self.power()
    }

    fn power(&mut self) -> Result<Term, ExprError> {
        let base = self.atom()?;
        if let Some(Tok::Op('^')) = self.peek() {
            self.pos += 1;
            self.deeper()?;
            let exp = self.unary()?; // right-associative; allows 2^-1
            self.depth -= 1;
            return Ok(apply('^', base, exp));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Term, ExprError> {
        let col = self.col();
        let Some((tok, _)) = self.e.toks.get(self.pos).cloned() else {
            return Err(self.error_at(
                col,
                "expected a number, a name or '(', found the end".into(),
            ));
        };
        self.pos += 1;
        match tok {
            Tok::Num(x) => Ok(Term::Num(x)),
            Tok::Op('(') => {
                self.deeper()?;
                let t = self.expr()?;
                self.depth -= 1;
                self.close(col)?;
                Ok(t)
            }
            Tok::Name(n) if FUNCTIONS.contains(&n.as_str()) => {
                if self.peek() != Some(&Tok::Op('(')) {
                    return Err(
                        self.error_at(self.col(), format!("expected '(' after the function '{n}'"))
                    );
                }
                let open = self.col();
                self.pos += 1;
                self.deeper()?;
                let arg = self.expr()?;
                self.depth -= 1;
                self.close(open)?;
                Ok(call(&n, arg))
            }
            Tok::Name(n) => {
                if self.peek() == Some(&Tok::Op('(')) {
                    return Err(self.error_at(
                        col,
                        format!("unknown function '{n}' (known: {})", FUNCTIONS.join(", ")),
                    ));
                }
                if self.dry {
                    return Ok(Term::Num(1.0));
                }
                match self.vars.get(&n) {
                    Some(&v) => Ok(Term::Val(v)),
                    None => Err(self.error_at(col, format!("no value given for '{n}'"))),
                }
            }
            other => Err(self.error_at(
                col,
                format!("expected a number, a name or '(', found {}", show(&other)),
            )),
        }
    }

    fn close(&mut self, open: usize) -> Result<(), ExprError> {
        if self.peek() == Some(&Tok::Op(')')) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error_at(
                self.col(),
                format!("expected ')' to close the '(' at column {open}"),
            ))
        }
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Num(x) => format!("the number {x}"),
        Tok::Name(n) => format!("'{n}'"),
        Tok::Op(c) => format!("'{c}'"),
    }
}
