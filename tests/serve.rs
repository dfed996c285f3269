//! `micrograd serve`: the server on a free port, driven over HTTP.

#![allow(clippy::excessive_precision)] // the seed's constant, as the notebook writes it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

/// A running server, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start() -> Server {
        Server::spawn(Command::new(env!("CARGO_BIN_EXE_micrograd")).args(["serve", "--port", "0"]))
    }

    /// The server with at most `n` file descriptors (a Unix shell's `ulimit -n`).
    #[cfg(unix)]
    fn start_with_descriptors(n: u32) -> Server {
        let bin = env!("CARGO_BIN_EXE_micrograd");
        Server::spawn(Command::new("sh").args([
            "-c",
            &format!("ulimit -n {n} && exec \"$0\" serve --port 0"),
            bin,
        ]))
    }

    fn spawn(command: &mut Command) -> Server {
        let mut child = command
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

    /// Sends `bytes` as they are; returns what comes back within `patience`
    /// (until the server closes, or the time is up) and how long it took.
    fn raw(&self, bytes: &[u8], patience: Duration) -> (String, Duration) {
        let t = Instant::now();
        let mut s = TcpStream::connect(&self.addr)
            .unwrap_or_else(|e| panic!("the server no longer listens: {e}"));
        s.set_read_timeout(Some(patience)).unwrap();
        let _ = s.write_all(bytes); // the server may answer and close first
        let (out, elapsed) = read_what_comes(&mut s);
        (out, elapsed.max(t.elapsed()))
    }

    /// An HTTP/1.1 request head for `method` `path` with `headers` (each
    /// ending in \r\n) and this server's Host.
    fn head(&self, method: &str, path: &str, headers: &str) -> String {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{headers}\r\n",
            self.addr
        )
    }

    fn post(&self, path: &str, body: Json) -> Json {
        let (status, text) = self.request("POST", path, body.to_string().as_bytes());
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }
}

/// Reads until the peer closes or the read timeout passes.
fn read_what_comes(s: &mut TcpStream) -> (String, Duration) {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    (String::from_utf8_lossy(&out).into_owned(), t.elapsed())
}

fn status(answer: &str) -> &str {
    answer.get(9..12).unwrap_or("none")
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
    assert_eq!(b["boundary"]["classes"].as_array().unwrap().len(), 80 * 80);
    // a point's graph: its loss, back-propagated; the run's own gradients are kept
    let g = s.post("/api/train/point", json!({"id": id, "index": 7}));
    assert!(g["nodes"].as_array().unwrap().len() > 20);
    // and one box a neuron: the inputs, 8 + 8 hidden, the output and the loss
    let boxes = g["neurons_svg"].as_str().unwrap();
    for name in [">x1<", ">L1.n7<", ">L2.n0<", ">L3.n0<", ">loss<"] {
        assert!(boxes.contains(name), "{name}");
    }
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

#[test]
fn a_slow_client_does_not_delay_another() {
    let s = Server::start();
    // promises 1025 bytes, sends one, and waits
    let mut slow = TcpStream::connect(&s.addr).unwrap();
    let head = s.head("POST", "/api/expr", "Content-Length: 1025\r\n");
    slow.write_all(format!("{head}{{").as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (page, took) = s.raw(s.head("GET", "/", "").as_bytes(), Duration::from_secs(5));
    assert_eq!(status(&page), "200", "{page}");
    assert!(
        took < Duration::from_secs(2),
        "the second client waited {took:?}"
    );
    // the slow one is given up on: 408, or closed, within the server's 10 s
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let (answer, took) = read_what_comes(&mut slow);
    assert!(took < Duration::from_secs(12), "{took:?}");
    assert!(answer.is_empty() || status(&answer) == "408", "{answer}");
}

#[test]
fn oversized_heads_and_bodies_are_refused_without_reading_them() {
    let s = Server::start();
    let long = format!("X-Long: {}\r\n", "a".repeat(20 * 1024));
    let (answer, _) = s.raw(s.head("GET", "/", &long).as_bytes(), Duration::from_secs(5));
    assert_eq!(status(&answer), "431", "{answer}");
    // 10 GB promised and none sent: refused at once on its length
    let huge = s.head("POST", "/api/expr", "Content-Length: 10000000000\r\n");
    let (answer, took) = s.raw(huge.as_bytes(), Duration::from_secs(5));
    assert_eq!(status(&answer), "413", "{answer}");
    assert!(answer.contains("over 65536 bytes"), "{answer}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // chunked, no length given: cut off at the limit
    let chunked = s.head("POST", "/api/expr", "Transfer-Encoding: chunked\r\n");
    let chunk = format!("{:x}\r\n{}\r\n", 70 * 1024, " ".repeat(70 * 1024));
    let (answer, _) = s.raw(
        format!("{chunked}{chunk}0\r\n\r\n").as_bytes(),
        Duration::from_secs(5),
    );
    assert_eq!(status(&answer), "413", "{answer}");
    let (status, _) = s.request("GET", "/", b"");
    assert_eq!(status, 200, "still serving");
}

#[test]
fn other_hosts_and_other_sites_pages_are_refused() {
    let s = Server::start();
    let port = s.addr.split(':').nth(1).unwrap().to_owned();
    let get = |host: &str| {
        let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let (answer, _) = s.raw(req.as_bytes(), Duration::from_secs(5));
        status(&answer).to_owned()
    };
    // DNS rebinding: a name that now points here, but is not this server's
    assert_eq!(get(&format!("evil.example:{port}")), "403");
    assert_eq!(get("127.0.0.1:1"), "403");
    let no_host = "GET / HTTP/1.0\r\n\r\n";
    let (answer, _) = s.raw(no_host.as_bytes(), Duration::from_secs(5));
    assert_eq!(status(&answer), "403", "{answer}");
    for ok in ["127.0.0.1", "localhost", "LocalHost", "[::1]"] {
        assert_eq!(get(&format!("{ok}:{port}")), "200", "{ok}");
    }
    // another site's page posting to the API (a simple request, no preflight)
    let post = |origin: &str| {
        let body = "{}";
        let headers = format!(
            "Origin: {origin}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
            body.len()
        );
        let req = s.head("POST", "/api/train/new", &headers) + body;
        let (answer, _) = s.raw(req.as_bytes(), Duration::from_secs(10));
        answer
    };
    let answer = post("https://evil.example");
    assert_eq!(status(&answer), "403", "{answer}");
    assert!(answer.contains("may not change"), "{answer}");
    assert_eq!(status(&post("null")), "403");
    assert_eq!(status(&post(&format!("http://evil.example:{port}"))), "403");
    for same in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        let answer = post(&same);
        assert_eq!(status(&answer), "200", "{same}: {answer}");
    }
}

#[test]
fn steps_must_be_a_whole_number_from_1_to_100() {
    let s = Server::start();
    let id = s.post("/api/train/new", json!({}))["id"].clone();
    for steps in [
        json!(-1),
        json!(1.5),
        json!("5"),
        Json::Null,
        json!(101),
        json!(0),
    ] {
        let body = json!({"id": id, "steps": steps}).to_string();
        let (status, text) = s.request("POST", "/api/train/step", body.as_bytes());
        assert_eq!(status, 400, "{steps}: {text}");
        assert!(text.contains("whole number from 1 to 100"), "{text}");
    }
    let j = s.post("/api/train/step", json!({"id": id}));
    assert_eq!(
        j["step"], 1,
        "one step when not given, and none by the refused ones"
    );
}

#[test]
fn head_is_answered_and_other_methods_get_405_with_allow() {
    let s = Server::start();
    let (answer, _) = s.raw(s.head("HEAD", "/", "").as_bytes(), Duration::from_secs(5));
    assert_eq!(status(&answer), "200", "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "no body: {answer}");
    for (method, path, allow) in [
        ("DELETE", "/", "GET, HEAD"),
        ("PUT", "/", "GET, HEAD"),
        ("POST", "/", "GET, HEAD"),
        ("GET", "/api/train/step", "POST"),
        ("HEAD", "/api/expr", "POST"),
    ] {
        let (answer, _) = s.raw(s.head(method, path, "").as_bytes(), Duration::from_secs(5));
        assert_eq!(status(&answer), "405", "{method} {path}: {answer}");
        assert!(
            answer
                .to_lowercase()
                .contains(&format!("allow: {}", allow.to_lowercase())),
            "{method} {path}: {answer}"
        );
    }
}

#[test]
fn a_long_run_sends_at_most_1000_points_of_its_curves() {
    let s = Server::start();
    let id = s.post("/api/train/new", json!({"layers": [2]}))["id"].clone();
    let mut j = Json::Null;
    for _ in 0..21 {
        j = s.post("/api/train/step", json!({"id": id, "steps": 100}));
    }
    assert_eq!(j["step"], 2100);
    let (losses, accuracies) = (
        j["losses"].as_array().unwrap(),
        j["accuracies"].as_array().unwrap(),
    );
    let every = j["every"].as_u64().unwrap() as usize;
    assert!(losses.len() <= 1000 && accuracies.len() == losses.len());
    assert!(every >= 2, "{every}");
    // each point the mean of `every` steps, the last few steps still to come
    assert!(losses.len() * every <= 2100 && 2100 - losses.len() * every < every);
    assert!(j["loss"].is_number() && losses.iter().all(Json::is_number));
}

#[test]
fn idle_connections_past_the_cap_do_not_stop_the_server() {
    // the usual limit of 1024 descriptors; 600 connections are more than the
    // server keeps (256), and than it could keep
    #[cfg(unix)]
    let mut s = Server::start_with_descriptors(1024);
    #[cfg(not(unix))]
    let mut s = Server::start();
    let idle: Vec<TcpStream> = (0..600)
        .map(|_| TcpStream::connect(&s.addr).unwrap())
        .collect();
    let (answer, took) = s.raw(s.head("GET", "/", "").as_bytes(), Duration::from_secs(5));
    assert_eq!(status(&answer), "200", "{answer}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(s.child.try_wait().unwrap().is_none(), "the server lives");
    drop(idle);
}

#[cfg(unix)]
#[test]
fn running_out_of_descriptors_is_survived() {
    let mut s = Server::start_with_descriptors(64);
    let idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(&s.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..2 {
        let (answer, _) = s.raw(s.head("GET", "/", "").as_bytes(), Duration::from_secs(5));
        assert_eq!(status(&answer), "200", "{answer}");
    }
    assert!(s.child.try_wait().unwrap().is_none(), "the server lives");
    drop(idle);
}

#[test]
fn silent_clients_are_let_go_after_10_seconds() {
    let s = Server::start();
    let idle = TcpStream::connect(&s.addr).unwrap();
    let mut half = TcpStream::connect(&s.addr).unwrap();
    // half a head, then nothing
    write!(half, "GET / HTTP/1.1\r\nHost: {}\r\n", s.addr).unwrap();
    for mut c in [idle, half] {
        c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let (answer, took) = read_what_comes(&mut c);
        assert!(took < Duration::from_secs(12), "{took:?}");
        assert!(!answer.contains("200 OK"), "{answer}");
    }
}

#[test]
fn a_client_that_stops_reading_is_let_go_after_10_seconds() {
    let s = Server::start();
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    let get = format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr);
    // far more answers (the page each time) than the socket buffers hold
    let sent = (0..2000)
        .take_while(|_| c.write_all(get.as_bytes()).is_ok())
        .count();
    std::thread::sleep(Duration::from_secs(12));
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (answers, _) = read_what_comes(&mut c);
    let got = answers.matches("HTTP/1.1 200").count();
    assert!(
        got < sent,
        "all {sent} answers came: the server waited on the client"
    );
    // and the server serves others
    assert_eq!(s.request("GET", "/", b"").0, 200);
}

#[test]
fn localhost_is_taken_for_127_0_0_1() {
    let s = Server::spawn(Command::new(env!("CARGO_BIN_EXE_micrograd")).args([
        "serve",
        "--host",
        "localhost",
        "--port",
        "0",
    ]));
    assert_eq!(s.request("GET", "/", b"").0, 200);
}

#[test]
fn a_dropped_csv_is_the_data_set_and_a_bad_one_gets_a_message() {
    let s = Server::start();
    let mut csv = String::from("height,weight,kind\n");
    for i in 0..40 {
        let (h, w, k) = if i % 2 == 0 {
            (150 + i, 50 + i, "cat")
        } else {
            (180 + i, 90 + i, "dog")
        };
        csv += &format!("{h},{w},{k}\n");
    }
    let j = s.post("/api/train/new", json!({"data": "dropped", "csv": csv}));
    assert_eq!(j["classes"], json!(["cat", "dog"]));
    assert_eq!(j["points"].as_array().unwrap().len(), 40);
    // standardised, as micrograd train does: the first column's mean is 0
    let mean: f64 = j["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_f64().unwrap())
        .sum::<f64>()
        / 40.0;
    assert!(mean.abs() < 1e-9, "{mean}");
    let stepped = s.post("/api/train/step", json!({"id": j["id"], "steps": 20}));
    assert!(stepped["loss"].as_f64().unwrap().is_finite());
    let cases = [
        (
            "a,b,c,kind\n1,2,3,x\n4,5,6,y\n7,8,9,x\n1,1,1,y\n",
            "needs two number columns",
        ),
        ("a,kind\n1,x\n", "takes 4 to 1000"),
        ("a,b,kind\n1,2,x\n3,oops,y\n4,5,x\n6,7,y\n", "b=oops"),
    ];
    for (csv, want) in cases {
        let (status, text) = s.request(
            "POST",
            "/api/train/new",
            json!({"csv": csv}).to_string().as_bytes(),
        );
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(want), "{want}: {text}");
    }
}

#[test]
fn each_hidden_neuron_comes_with_its_map_over_the_plane() {
    let s = Server::start();
    let j = s.post("/api/train/new", json!({"layers": [3, 2]}));
    let maps = j["neurons"].as_array().unwrap();
    let widths: Vec<usize> = maps.iter().map(|l| l.as_array().unwrap().len()).collect();
    assert_eq!(widths, [3, 2], "one map a hidden neuron, layer by layer");
    for cells in maps.iter().flat_map(|l| l.as_array().unwrap()) {
        let cells = cells.as_array().unwrap();
        assert_eq!(cells.len(), 400, "a 20 x 20 grid");
        // relu outputs: never below 0
        let v: Vec<f64> = cells.iter().map(|c| c.as_f64().unwrap()).collect();
        assert!(v.iter().all(|&x| x >= 0.0));
    }
    assert_eq!(j["boundary"]["n"], 80);
    assert_eq!(j["boundary"]["classes"].as_array().unwrap().len(), 6400);
}

#[test]
fn a_dropped_table_keeps_both_its_axes_even_a_running_number() {
    // x counts 0, 1, 2, ...: `micrograd train` would set it aside as an id,
    // but on the page it is one of the two axes drawn
    let s = Server::start();
    let csv: String = std::iter::once("x,y,c\n".to_string())
        .chain(
            (0..20).map(|i| format!("{i},{},{}\n", i * 2 % 7, if i % 2 == 0 { "a" } else { "b" })),
        )
        .collect();
    let j = s.post("/api/train/new", json!({"csv": csv}));
    assert_eq!(j["points"].as_array().unwrap().len(), 20);
    assert_eq!(j["classes"], json!(["a", "b"]));
}
