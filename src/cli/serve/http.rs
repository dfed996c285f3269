//! One request: who may ask (Host and Origin), which path and method, the
//! body read within its limits, and the answer as an HTTP response.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value as Json;

use micrograd::page::{Call, PAGE};

use super::api::{Answer, Worker};
/// The largest request body read.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a request body may take to arrive, all of it.
const BODY_TIME: Duration = Duration::from_secs(10);

/// What every request shares: the worker, and the names this server goes by.
pub struct Ctx {
    pub worker: Worker,
    /// The host names a request's `Host` may give (with `port`).
    names: Vec<String>,
    port: u16,
}

impl Ctx {
    /// The server listening on `host`:`port`: it answers to 127.0.0.1,
    /// localhost, [::1] and `host`, with the port.
    pub fn new(worker: Worker, host: IpAddr, port: u16) -> Ctx {
        let mut names: Vec<String> = ["127.0.0.1", "localhost", "[::1]"].map(String::from).into();
        let own = authority_name(host);
        if !names.contains(&own) {
            names.push(own);
        }
        Ctx {
            worker,
            names,
            port,
        }
    }

    /// Whether `authority` (`name:port`, from a `Host` or an `Origin`)
    /// names this server; `local` is the address the connection came in on.
    fn is_us(&self, authority: &str, local: SocketAddr) -> bool {
        let own = authority_name(local.ip());
        let names = self.names.iter().chain(std::iter::once(&own));
        names.into_iter().any(|name| {
            let Some(rest) = strip_prefix_ignore_case(authority, name) else {
                return false;
            };
            match rest.strip_prefix(':') {
                Some(port) => port.parse() == Ok(self.port),
                None => rest.is_empty() && self.port == 80,
            }
        })
    }
}

/// How an address is written in a `Host`: `[::1]` for IPv6.
fn authority_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Where a path goes.
enum Route {
    Page,
    Api(Call),
    Missing,
}

fn route(path: &str) -> Route {
    match path {
        "/" | "/index.html" => Route::Page,
        _ => Call::from_path(path).map_or(Route::Missing, Route::Api),
    }
}

/// Answers one request that came in on the connection to `local`.
pub async fn handle(ctx: &Ctx, local: SocketAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Err(refused) = check_sender(ctx, local, &req) {
        return response(refused);
    }
    let path = req.uri().path().to_owned();
    let method = req.method();
    match route(&path) {
        Route::Page if method == Method::GET || method == Method::HEAD => response(Answer {
            status: 200,
            body: PAGE.to_owned(),
            html: true,
        }),
        Route::Page => not_allowed(&path, "GET, HEAD"),
        Route::Api(_) if method != Method::POST => not_allowed(&path, "POST"),
        Route::Api(call) => match read_json(req).await {
            Ok(body) => response(ctx.worker.call(call, body).await),
            Err(refused) => response(refused),
        },
        Route::Missing => response(Answer::error(
            404,
            format!("no such page: {}", micrograd::viz::shorten(&path, 80)),
        )),
    }
}

/// Refuses (403) a request whose `Host` is not this server (DNS
/// rebinding), or a POST from another site's page (its `Origin`).
fn check_sender(ctx: &Ctx, local: SocketAddr, req: &Request<Incoming>) -> Result<(), Answer> {
    let host = req.headers().get(header::HOST).map(HeaderValue::to_str);
    match host {
        Some(Ok(host)) if ctx.is_us(host, local) => {}
        Some(Ok(host)) => {
            let host = micrograd::viz::shorten(host, 80);
            return Err(Answer::error(403, format!("this server is not {host}")));
        }
        _ => {
            return Err(Answer::error(
                403,
                "a request must name this server in its Host",
            ));
        }
    }
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return Ok(());
    }
    match req.headers().get(header::ORIGIN).map(HeaderValue::to_str) {
        None => Ok(()), // not from a browser
        Some(Ok(origin))
            if origin
                .strip_prefix("http://")
                .is_some_and(|o| ctx.is_us(o, local)) =>
        {
            Ok(())
        }
        Some(origin) => {
            let origin = micrograd::viz::shorten(origin.unwrap_or("?"), 80);
            Err(Answer::error(
                403,
                format!("a page from {origin} may not change this server's state"),
            ))
        }
    }
}

/// The body as JSON: at most [`MAX_BODY`] bytes (413: a declared length
/// over it is refused before reading a byte), arrived within [`BODY_TIME`]
/// (408).
async fn read_json(req: Request<Incoming>) -> Result<Json, Answer> {
    let too_big = || Answer::error(413, format!("the body is over {MAX_BODY} bytes"));
    if req
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_big());
    }
    let body = Limited::new(req.into_body(), MAX_BODY).collect();
    let bytes = match tokio::time::timeout(BODY_TIME, body).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<LengthLimitError>() => return Err(too_big()),
        _ => {
            return Err(Answer::error(
                408,
                format!(
                    "the body did not arrive whole within {} s",
                    BODY_TIME.as_secs()
                ),
            ));
        }
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| Answer::error(400, format!("the body is not valid JSON: {e}")))
}

/// 405, with the methods `path` takes.
fn not_allowed(path: &str, allow: &'static str) -> Response<Full<Bytes>> {
    let path = micrograd::viz::shorten(path, 80);
    let mut r = response(Answer::error(405, format!("{path} takes {allow}")));
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// `a` as a response. After a 408 or 413 the connection is closed: the
/// rest of the body is not read.
fn response(a: Answer) -> Response<Full<Bytes>> {
    let kind = if a.html {
        "text/html; charset=utf-8"
    } else {
        "application/json"
    };
    let mut r = Response::new(Full::new(Bytes::from(a.body)));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if a.status == 408 || a.status == 413 {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}
