//! `micrograd serve`: a page where a learner watches backprop happen, one
//! node at a time on an expression, or step by step on a training run.
//!
//! The connections are tasks on one thread's runtime ([`conn`]), so a slow
//! or idle client holds only its own; the work (expressions, training) is
//! done on one worker thread that owns every session ([`api`]), in the order
//! asked, so several tabs share one server, each training run in its own
//! session. Nothing is read from disk: the page is compiled in. The page
//! and the API's work are the library's ([`micrograd::page`]), which the
//! static site (`web/`, `tools/build_site.sh`) runs in the browser instead:
//! this is the HTTP around them.
//!
//! # The JSON API the page uses
//!
//! | request | body | answer |
//! |---|---|---|
//! | `GET /` | | the page |
//! | `POST /api/expr` | `{"expr": "tanh(x*w + b)", "values": {"x": 2}}` (missing values are 1) | `{"value", "variables": [{"name", "value"}], "nodes": [...], "svg", "svg_error"}` |
//! | `POST /api/train/new` | `{"data": "moons", "layers": [8, 8], "optimizer": "adam", "lr": 0.05}` | the session's state, with `"id"` and `"points"` |
//! | `POST /api/train/step` | `{"id": 1, "steps": 5}` (a whole number from 1 to 100; 1 if left out) | `{"step", "loss", "accuracy", "every", "losses", "accuracies", "boundary", "params"}` |
//! | `POST /api/train/point` | `{"id": 1, "index": 17}` | that sample's loss as a graph: `{"loss", "nodes", "svg", "svg_error"}` |
//!
//! A node is `{"id", "label", "data", "grad", "op", "children": [ids],
//! "local": [∂node/∂child per child]}`, in topological order (the root
//! last). The curves `losses` and `accuracies` have at most 1000 points,
//! each the mean of `every` steps (1, then 2, 4, ... as the run grows).
//!
//! Bad requests get a 4xx answer, with `{"error": "..."}` where the server
//! got as far as reading the request: an unknown path (404); a method the
//! path does not take (405, with `Allow`); a `Host` that is not this server,
//! or a POST whose `Origin` is another site (403: against DNS rebinding and
//! other pages' scripts); a request head over 16 KiB (431); a body over
//! 64 KiB (413, judged on `Content-Length` before reading it); a body not
//! arrived within 10 s (408); JSON or an expression that does not parse, or
//! a value out of range (400).

mod api;
mod conn;
mod http;

use crate::cli::out::errln;
use std::io::Write;
use std::sync::Arc;

use super::{Failure, ServeArgs};

pub fn run(a: &ServeArgs) -> Result<(), Failure> {
    let cannot =
        |e: std::io::Error| Failure::input(format!("cannot listen on {}:{}: {e}", a.host, a.port));
    let listener = std::net::TcpListener::bind((a.host, a.port)).map_err(cannot)?;
    listener.set_nonblocking(true).map_err(cannot)?;
    let addr = listener.local_addr().map_err(cannot)?;
    let worker = api::Worker::start()
        .map_err(|e| Failure::run(format!("cannot start the server's worker: {e}")))?;
    let ctx = Arc::new(http::Ctx::new(worker, a.host, addr.port()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Failure::run(format!("cannot start the server: {e}")))?;
    let url = format!("http://{addr}/");
    if !a.host.is_loopback() {
        errln!(
            "warning: listening on {} lets other machines reach this server; the default, \
             127.0.0.1, keeps it to this one",
            a.host
        );
    }
    println!("serving on {url} (Ctrl-C stops it)");
    let _ = std::io::stdout().flush();
    if a.open {
        open_browser(url.clone());
    }
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(cannot)?;
        conn::serve(listener, ctx).await;
        Ok(())
    })
}

/// Asks the desktop to open `url` (`xdg-open`, quietly: on a machine with no
/// browser it would print a screenful); one line if it could not.
fn open_browser(url: String) {
    use std::process::{Command, Stdio};
    std::thread::spawn(move || {
        let status = Command::new("xdg-open")
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) {
            errln!("--open: no browser could be started here; open {url} in one");
        }
    });
}
