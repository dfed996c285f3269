//! The teaching page's JSON API, without HTTP: what `micrograd serve`
//! answers on its `/api/...` paths, and what the static site's WebAssembly
//! module (`web/`) answers in the browser. Both are thin layers over
//! [`Api::call`], so the page computes the same numbers served or static.
//!
//! The page itself is [`PAGE`]; its JavaScript sends every request through
//! one `api(path, body)` function, which goes to the server, or to the
//! module where the static site provides one.
//!
//! ```
//! use micrograd::page::{Api, Call};
//! let mut api = Api::default();
//! let body = serde_json::json!({"expr": "x*y", "values": {"x": 2, "y": 3}});
//! let graph = api.call(Call::Expr, &body).unwrap();
//! assert_eq!(graph["value"], 6.0);
//! ```

mod session;

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::viz::{DotOptions, draw_svg};
use crate::{Value, expr, scope};
use session::Session;

/// The page, HTML with its script and style inline.
///
/// ```
/// assert!(micrograd::page::PAGE.contains("async function api(path, body)"));
/// ```
pub const PAGE: &str = include_str!("page.html");

/// Training sessions kept at once; the oldest goes first.
const MAX_SESSIONS: usize = 32;

/// A request the API answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `/api/expr`: an expression's graph, values and gradients.
    Expr,
    /// `/api/train/new`: a new training session.
    New,
    /// `/api/train/step`: steps of a session's training.
    Step,
    /// `/api/train/point`: one sample's loss as a graph.
    Point,
}

impl Call {
    /// The call a path names (`/api/expr`, `/api/train/new`, ...), if any.
    ///
    /// ```
    /// use micrograd::page::Call;
    /// assert_eq!(Call::from_path("/api/train/step"), Some(Call::Step));
    /// assert_eq!(Call::from_path("/api/nothing"), None);
    /// ```
    pub fn from_path(path: &str) -> Option<Call> {
        match path {
            "/api/expr" => Some(Call::Expr),
            "/api/train/new" => Some(Call::New),
            "/api/train/step" => Some(Call::Step),
            "/api/train/point" => Some(Call::Point),
            _ => None,
        }
    }
}

/// A request refused: an HTTP status (400 for a bad request, 404 for a
/// session that is gone) and why, for the page to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status the server answers with.
    pub status: u16,
    /// What was wrong, in a sentence.
    pub message: String,
}

/// A 400 refusal.
fn bad(message: impl Into<String>) -> Refusal {
    Refusal {
        status: 400,
        message: message.into(),
    }
}

/// The API's state: every training session, by id. One thread owns it (the
/// tape is per-thread).
#[derive(Default)]
pub struct Api {
    sessions: BTreeMap<u64, Session>,
    next: u64,
}

impl Api {
    /// Does one request's work: its answer as JSON, or why not.
    pub fn call(&mut self, call: Call, body: &Json) -> Result<Json, Refusal> {
        match call {
            Call::Expr => expression(body),
            Call::New => self.new_session(body),
            Call::Step => self.with(body, Session::step),
            Call::Point => self.with(body, Session::point),
        }
    }

    /// A request as text, as the static site's module gets it: the path
    /// and the JSON body; an unknown path is a 404.
    ///
    /// ```
    /// let mut api = micrograd::page::Api::default();
    /// let g = api.call_text("/api/expr", r#"{"expr": "a*b", "values": {"a": 2, "b": 5}}"#).unwrap();
    /// assert_eq!(g["value"], 10.0);
    /// assert_eq!(api.call_text("/api/nothing", "{}").unwrap_err().status, 404);
    /// let bad = api.call_text("/api/expr", "{").unwrap_err();
    /// assert_eq!(bad.status, 400);
    /// ```
    pub fn call_text(&mut self, path: &str, body: &str) -> Result<Json, Refusal> {
        let call = Call::from_path(path).ok_or_else(|| Refusal {
            status: 404,
            message: format!("no such page: {}", crate::viz::shorten(path, 80)),
        })?;
        let body: Json = serde_json::from_str(body)
            .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
        self.call(call, &body)
    }

    fn new_session(&mut self, body: &Json) -> Result<Json, Refusal> {
        let (s, mut state) = Session::new(body, self.next + 1)?;
        self.next += 1;
        let id = self.next;
        state["id"] = json!(id);
        if self.sessions.len() >= MAX_SESSIONS
            && let Some(&oldest) = self.sessions.keys().next()
        {
            self.sessions.remove(&oldest);
        }
        self.sessions.insert(id, s);
        Ok(state)
    }

    /// Runs `f` on the session named by the body's `"id"`.
    fn with(
        &mut self,
        body: &Json,
        f: fn(&mut Session, &Json) -> Result<Json, Refusal>,
    ) -> Result<Json, Refusal> {
        let id = body["id"]
            .as_u64()
            .ok_or_else(|| bad("\"id\" must be a session number"))?;
        let s = self.sessions.get_mut(&id).ok_or_else(|| Refusal {
            status: 404,
            message: format!("no training session {id} (reset to start one)"),
        })?;
        f(s, body)
    }
}

/// `/api/expr`: the expression's graph, values, gradients and each
/// edge's local derivative.
fn expression(body: &Json) -> Result<Json, Refusal> {
    let src = body["expr"]
        .as_str()
        .ok_or_else(|| bad("\"expr\" must be a string"))?;
    let e = expr::parse(src).map_err(|e| bad(format!("in the expression:\n{}", e.pointed(src))))?;
    let _s = scope();
    let mut vars = BTreeMap::new();
    let mut variables = Vec::new();
    for name in e.variables() {
        let x = match &body["values"][name] {
            Json::Null => 1.0,
            v => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(format!("the value of '{name}' must be a finite number")))?,
        };
        vars.insert(name.to_owned(), Value::new(x).with_label(name));
        variables.push(json!({"name": name, "value": x}));
    }
    let y = e
        .eval(&vars)
        .map_err(|err| bad(format!("in the expression:\n{}", err.pointed(src))))?;
    y.set_label("f");
    y.backward();
    let mut graph = graph_json(y);
    graph["value"] = num(y.data());
    graph["variables"] = Json::Array(variables);
    Ok(graph)
}

/// A finite number, or null.
fn num(x: f64) -> Json {
    if x.is_finite() { json!(x) } else { Json::Null }
}

/// `root`'s graph: nodes (after `backward`), and the picture, or why not.
fn graph_json(root: Value) -> Json {
    let nodes: Vec<Json> = root
        .trace()
        .into_iter()
        .enumerate()
        .map(|(k, n)| {
            let local: Vec<Json> = n.value.local_grads().into_iter().map(num).collect();
            json!({
                "id": k, "label": n.label, "data": num(n.data), "grad": num(n.grad),
                "op": n.op, "children": n.children, "local": local,
            })
        })
        .collect();
    let (svg, svg_error) = match draw_svg(root, DotOptions::default()) {
        Ok(s) => (Json::String(s), Json::Null),
        Err(e) => (Json::Null, Json::String(e.to_string())),
    };
    json!({ "nodes": nodes, "svg": svg, "svg_error": svg_error })
}
