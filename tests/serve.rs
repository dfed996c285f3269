//! `micrograd serve`: the server on a free port, driven over HTTP.

#![allow(clippy::excessive_precision)] // the seed's constant, as the notebook writes it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::{Value as Json, json};

/// A running server, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_micrograd"))
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "serving on http://127.0.0.1:PORT/ (Ctrl-C stops it)"
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        assert!(
            addr.starts_with("127.0.0.1:"),
            "loopback by default: {addr}"
        );
        Server { child, addr }
    }

    /// Sends a request; returns the status and the body.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        )
        .unwrap();
        let _ = s.write_all(body); // the server may answer (413) before reading it all
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out[9..12].parse().unwrap();
        let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
        (status, body)
    }

    fn post(&self, path: &str, body: Json) -> Json {
        let (status, text) = self.request("POST", path, body.to_string().as_bytes());
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_page_is_served_whole_with_nothing_from_outside() {
    let s = Server::start();
    let (status, page) = s.request("GET", "/", b"");
    assert_eq!(status, 200);
    assert!(page.contains("<title>micrograd") && page.contains("/api/expr"));
    // no CDN, no external fonts or scripts: a learner may be offline
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external address"
    );
}

#[test]
fn an_expression_gives_the_graph_and_the_gradients_grad_computes() {
    let s = Server::start();
    let j = s.post(
        "/api/expr",
        json!({"expr": "tanh(x1*w1 + x2*w2 + b)", "values": {"x1": 2, "x2": 0, "w1": -3, "w2": 1, "b": 6.8813735870195432}}),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_micrograd"))
        .args([
            "grad",
            "tanh(x1*w1 + x2*w2 + b)",
            "x1=2",
            "x2=0",
            "w1=-3",
            "w2=1",
            "b=6.8813735870195432",
            "--json",
        ])
        .output()
        .unwrap();
    let cli: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["value"], cli["value"]);
    let nodes = j["nodes"].as_array().unwrap();
    for (name, g) in cli["grads"].as_object().unwrap() {
        let n = nodes.iter().find(|n| n["label"] == name.as_str()).unwrap();
        assert_eq!(&n["grad"], g, "{name}");
    }
    assert!(j["svg"].as_str().unwrap().contains("<svg"));
    // each edge's local derivative, times the parent's gradient, adds up to the child's
    for (k, n) in nodes.iter().enumerate() {
        let sum: f64 = nodes
            .iter()
            .flat_map(|p| {
                let kids = p["children"].as_array().unwrap();
                let local = p["local"].as_array().unwrap();
                kids.iter()
                    .zip(local)
                    .filter(|(c, _)| c.as_u64() == Some(k as u64))
                    .map(|(_, l)| p["grad"].as_f64().unwrap() * l.as_f64().unwrap())
                    .collect::<Vec<_>>()
            })
            .sum();
        if k + 1 < nodes.len() {
            assert!(
                (sum - n["grad"].as_f64().unwrap()).abs() < 1e-12,
                "node {k}"
            );
        }
    }
    // shared nodes: a + a has one node for a, two edges, and grad 2
    let j = s.post("/api/expr", json!({"expr": "a + a", "values": {"a": 3}}));
    let nodes = j["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[1]["children"], json!([0, 0]));
    assert_eq!(nodes[0]["grad"], json!(2.0));
    // a missing value is 1, and listed
    let j = s.post("/api/expr", json!({"expr": "x * y", "values": {"x": 4}}));
    assert_eq!(
        j["variables"],
        json!([{"name": "x", "value": 4.0}, {"name": "y", "value": 1.0}])
    );
}

#[test]
fn a_training_session_advances_and_shows_its_state() {
    let s = Server::start();
    let first = s.post(
        "/api/train/new",
        json!({"data": "moons", "layers": [8, 8], "optimizer": "adam", "lr": 0.05}),
    );
    let id = first["id"].as_u64().unwrap();
    assert_eq!(first["points"].as_array().unwrap().len(), 100);
    let a = s.post("/api/train/step", json!({"id": id, "steps": 5}));
    let b = s.post("/api/train/step", json!({"id": id, "steps": 20}));
    assert_eq!(
        (a["step"].as_u64(), b["step"].as_u64()),
        (Some(5), Some(25))
    );
    assert_eq!(b["losses"].as_array().unwrap().len(), 25);
    assert!(b["loss"].as_f64().unwrap() < a["losses"][0].as_f64().unwrap());
    let p = &b["params"][0];
    assert!(p["m"].is_number() && p["v"].is_number() && p["grad"].is_number());
    assert_eq!(b["boundary"]["classes"].as_array().unwrap().len(), 40 * 40);
    // a point's graph: its loss, back-propagated; the run's own gradients are kept
    let g = s.post("/api/train/point", json!({"id": id, "index": 7}));
    assert!(g["nodes"].as_array().unwrap().len() > 20);
    assert!(
        g["svg"].as_str().is_some_and(|s| s.contains("loss")),
        "{}",
        g["svg_error"]
    );
    let c = s.post("/api/train/step", json!({"id": id, "steps": 1}));
    assert_eq!(c["step"], 26);
    // two tabs, two sessions: they do not touch each other
    let other = s.post("/api/train/new", json!({"data": "spiral"}));
    assert_ne!(other["id"], first["id"]);
    let c2 = s.post("/api/train/step", json!({"id": other["id"], "steps": 1}));
    assert_eq!(c2["step"], 1);
}

#[test]
fn bad_requests_get_a_4xx_with_a_message_and_the_server_lives_on() {
    let s = Server::start();
    let cases: [(&str, &str, Vec<u8>, u16, &str); 9] = [
        ("GET", "/nope", vec![], 404, "no such page"),
        ("GET", "/../etc/passwd", vec![], 404, "no such page"),
        ("GET", "/api/expr", vec![], 405, "takes POST"),
        ("POST", "/api/expr", b"{bad".to_vec(), 400, "not valid JSON"),
        (
            "POST",
            "/api/expr",
            br#"{"expr": "x * * y"}"#.to_vec(),
            400,
            "expected a number",
        ),
        (
            "POST",
            "/api/expr",
            br#"{"expr": "x", "values": {"x": "two"}}"#.to_vec(),
            400,
            "must be a finite number",
        ),
        (
            "POST",
            "/api/expr",
            vec![b' '; 70 * 1024],
            413,
            "over 65536 bytes",
        ),
        (
            "POST",
            "/api/train/step",
            br#"{"id": 999}"#.to_vec(),
            404,
            "no training session 999",
        ),
        (
            "POST",
            "/api/train/new",
            br#"{"layers": [0]}"#.to_vec(),
            400,
            "sizes from 1 to 32",
        ),
    ];
    for (method, path, body, status, want) in cases {
        let (got, text) = s.request(method, path, &body);
        assert_eq!(got, status, "{method} {path}: {text}");
        let j: Json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
        assert!(
            j["error"].as_str().unwrap().contains(want),
            "{method} {path}: {text}"
        );
    }
    // too tangled to draw: the nodes come, the picture is refused with a message
    let j = s.post("/api/expr", json!({"expr": vec!["x"; 80].join("+")}));
    assert!(j["svg"].is_null() && j["svg_error"].as_str().unwrap().contains("too tangled"));
    let (status, _) = s.request("GET", "/", b"");
    assert_eq!(status, 200, "still serving");
}
